/* test_replay_kafka.c - replay_kafka into librdkafka's mock cluster (kafkasvc) and reading it
 * back with kafkasvc_consume: the messages are exactly the lines `harness gen --format jsonl`
 * writes (corrupt ones included), keyed by the key column, with harness-id and harness-topic
 * headers; per-batch replay; pacing, to a rate, to what was answered and to a group's committed
 * offsets; the consumer's limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>

#include "gen_fixture.h"
#include "kafkasvc.h"
#include "replay.h"

typedef struct fx {
    plan_scenario *s;
    gen *g;
    kafkasvc *svc;
    plan_step st;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->s = fx_scenario();
    plan_dataset *d = fx_orders(f->s, 500, 11);
    d->batching = PLAN_BATCH_COUNT;
    d->nbatches = 2;
    fx_fault(d, PLAN_F_DUPLICATE, 0.05, -1);
    fx_fault(d, PLAN_F_CORRUPT, 0.05, -1)->corrupt_mask = PLAN_C_ALL;
    hx_err e = {0};
    if (gen_new(f->s, &f->g, &e) != 0) fail_msg("gen_new: %s", e.msg);
    if (kafkasvc_start(NULL, &f->svc, &e) != 0) fail_msg("kafkasvc_start: %s", e.msg);
    f->st = (plan_step){
        .kind = PLAN_STEP_INTO, .target = PLAN_TGT_KAFKA, .topic = "orders", .key_col = -1};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    kafkasvc_stop(f->svc);
    gen_free(f->g);
    fx_free(f->s);
    free(f);
    return 0;
}

/* What was read: each message as "key\tvalue\n" text in `lines`, one string per message. */
typedef struct got {
    char **lines;
    size_t n, cap;
    size_t stop_after; /* 0 = read all */
} got;

static bool collect(void *ud, const kafkasvc_msg *m)
{
    got *g = ud;
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 256;
        g->lines = realloc(g->lines, g->cap * sizeof *g->lines);
    }
    char *s = malloc(m->key_len + m->value_len + 3);
    memcpy(s, m->key, m->key_len);
    s[m->key_len] = '\t';
    memcpy(s + m->key_len + 1, m->value, m->value_len);
    s[m->key_len + 1 + m->value_len] = '\0';
    g->lines[g->n++] = s;
    return !g->stop_after || g->n < g->stop_after;
}

static void got_free(got *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->lines[i]);
    free(g->lines);
    memset(g, 0, sizeof *g);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_replay_kafka__messages_are_the_jsonl_lines(void **state)
{
    fx *f = *state;
    hx_err e = {0};
    assert_int_equal(kafkasvc_create_topic(f->svc, "orders", 3, &e), 0);
    replay_stats rst;
    int rc =
        replay_kafka(f->g, 0, &f->st, kafkasvc_bootstrap(f->svc), "orders", -1, NULL, &rst, &e);
    if (rc) fail_msg("replay_kafka: %s", e.msg);
    uint64_t emissions = gen_emissions(f->g, 0);
    assert_int_equal(rst.rows, emissions);
    assert_true(rst.corrupt > 0);
    assert_int_equal(rst.batches, 2);

    size_t len = 0;
    char sha[65];
    uint64_t emitted;
    char *jsonl = fx_write(f->g, 0, PLAN_FMT_JSONL, -1, &len, sha, &emitted);
    assert_non_null(jsonl);
    assert_string_equal(rst.sha256, sha); /* the same bytes as harness gen --format jsonl */

    got g = {0};
    kafkasvc_consumed kc;
    rc = kafkasvc_consume(f->svc, "orders", 0, 30000, collect, &g, &kc, &e);
    if (rc) fail_msg("kafkasvc_consume: %s", e.msg);
    assert_int_equal(kc.messages, emissions);
    assert_int_equal(kc.partitions, 3);
    assert_int_equal(kc.trimmed, 0);
    assert_int_equal(g.n, emissions);

    /* The multiset of values equals the file's lines; each key is the record's id. */
    char **want = calloc(emissions, sizeof *want);
    size_t nw = 0;
    for (char *p = jsonl, *nl; nw < emissions && (nl = memchr(p, '\n', len - (size_t)(p - jsonl)));
         p = nl + 1)
        want[nw++] = strndup(p, (size_t)(nl - p));
    assert_int_equal(nw, emissions);
    char **have = calloc(emissions, sizeof *have);
    size_t keyed = 0;
    for (size_t i = 0; i < g.n; i++) {
        char *tab = strchr(g.lines[i], '\t');
        have[i] = tab + 1;
        char prefix[64];
        snprintf(prefix, sizeof prefix, "{\"id\":%.*s,", (int)(tab - g.lines[i]), g.lines[i]);
        if (strncmp(have[i], prefix, strlen(prefix)) == 0) keyed++;
    }
    assert_true(keyed > emissions * 9 / 10); /* a truncated record may lose its own id */
    qsort(want, nw, sizeof *want, cmp_str);
    qsort(have, g.n, sizeof *have, cmp_str);
    for (size_t i = 0; i < nw; i++)
        assert_string_equal(have[i], want[i]);
    for (size_t i = 0; i < nw; i++)
        free(want[i]);
    free(want);
    free(have);
    free(jsonl);
    got_free(&g);

    /* a callback that stops early */
    g.stop_after = 5;
    assert_int_equal(kafkasvc_consume(f->svc, "orders", 0, 30000, collect, &g, &kc, &e), 0);
    assert_int_equal(kc.messages, 5);
    got_free(&g);
    /* the cap on messages read */
    assert_int_equal(kafkasvc_consume(f->svc, "orders", 10, 30000, collect, &g, &kc, &e),
                     HX_EINFRA);
    assert_non_null(strstr(e.msg, "more than 10 messages"));
    got_free(&g);
    /* a topic that does not exist */
    assert_int_equal(kafkasvc_consume(f->svc, "nope", 0, 5000, collect, &g, &kc, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "'nope' does not exist"));
    /* an empty topic reads as nothing, at once */
    assert_int_equal(kafkasvc_create_topic(f->svc, "empty", 2, &e), 0);
    assert_int_equal(kafkasvc_consume(f->svc, "empty", 0, 5000, collect, &g, &kc, &e), 0);
    assert_int_equal(kc.messages, 0);
}

/* Header h of message m as a number, -1 when absent. */
static long long header_num(rd_kafka_message_t *m, const char *h)
{
    rd_kafka_headers_t *hs = NULL;
    const void *v;
    size_t n;
    if (rd_kafka_message_headers(m, &hs) || rd_kafka_header_get_last(hs, h, &v, &n)) return -1;
    char b[32];
    snprintf(b, sizeof b, "%.*s", (int)n, (const char *)v);
    return atoll(b);
}

/* The first message of partition 0 of topic t. */
static rd_kafka_message_t *first_message(kafkasvc *svc, const char *t, rd_kafka_t **rk_out)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", kafkasvc_bootstrap(svc), err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", "hx-test-headers", err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    assert_non_null(rk);
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tp, t, 0)->offset = 0;
    assert_int_equal(rd_kafka_assign(rk, tp), 0);
    rd_kafka_topic_partition_list_destroy(tp);
    rd_kafka_message_t *m = NULL;
    for (int i = 0; i < 100 && !m; i++) {
        m = rd_kafka_consumer_poll(rk, 100);
        if (m && m->err) {
            rd_kafka_message_destroy(m);
            m = NULL;
        }
    }
    assert_non_null(m);
    *rk_out = rk;
    return m;
}

/* One batch at a time, paced: batch 0 then batch 1 add up to the whole dataset. */
static void test_replay_kafka__per_batch_and_rate(void **state)
{
    fx *f = *state;
    hx_err e = {0};
    assert_int_equal(kafkasvc_create_topic(f->svc, "b", 1, &e), 0);
    replay_stats r0, r1;
    int64_t w0 = hx_wall_ns();
    assert_int_equal(
        replay_kafka(f->g, 0, &f->st, kafkasvc_bootstrap(f->svc), "b", 0, NULL, &r0, &e), 0);
    int64_t w1 = hx_wall_ns();
    assert_int_equal(r0.batches, 1);
    /* headers: the first record's id, and a send time within the replay */
    rd_kafka_t *rk;
    rd_kafka_message_t *m = first_message(f->svc, "b", &rk);
    assert_int_equal(header_num(m, "harness-id"), 0);
    rd_kafka_headers_t *hs = NULL;
    const void *tv = NULL;
    size_t tn = 0;
    assert_int_equal(rd_kafka_message_headers(m, &hs), 0);
    assert_int_equal(rd_kafka_header_get_last(hs, "harness-topic", &tv, &tn), 0);
    assert_int_equal(tn, 1);
    assert_memory_equal(tv, "b", 1); /* the topic it was produced to: ids restart per dataset */
    long long ts = header_num(m, "harness-ts");
    assert_true(ts >= w0 && ts <= w1);
    rd_kafka_message_destroy(m);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    f->st.rate = 1000; /* ~250 records: at least ~0.2 s */
    int64_t t0 = hx_now_ns();
    assert_int_equal(
        replay_kafka(f->g, 0, &f->st, kafkasvc_bootstrap(f->svc), "b", 1, NULL, &r1, &e), 0);
    assert_true(hx_now_ns() - t0 >= (int64_t)((double)(r1.rows - 1) / 1000 * 1e9));
    assert_int_equal(r0.rows + r1.rows, gen_emissions(f->g, 0));
    got g = {0};
    kafkasvc_consumed kc;
    assert_int_equal(kafkasvc_consume(f->svc, "b", 0, 30000, collect, &g, &kc, &e), 0);
    assert_int_equal(kc.messages, r0.rows + r1.rows);
    got_free(&g);
}

/* Retriable request errors (a leader election) are retried through: every record lands once. */
static void test_replay_kafka__retries_request_errors(void **state)
{
    fx *f = *state;
    hx_err e = {0};
    assert_int_equal(kafkasvc_create_topic(f->svc, "r", 2, &e), 0);
    int errs[3] = {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                   RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT};
    assert_int_equal(kafkasvc_request_errors(f->svc, KAFKASVC_API_PRODUCE, 3, errs, &e), 0);
    replay_stats r;
    int rc = replay_kafka(f->g, 0, &f->st, kafkasvc_bootstrap(f->svc), "r", -1, NULL, &r, &e);
    if (rc) fail_msg("replay_kafka: %s", e.msg);
    got g = {0};
    kafkasvc_consumed kc;
    assert_int_equal(kafkasvc_consume(f->svc, "r", 0, 30000, collect, &g, &kc, &e), 0);
    assert_int_equal(kc.messages, gen_emissions(f->g, 0));
    got_free(&g);
}

/* A consumer the test plays: it answers only while the replay waits for it (asked twice with no
 * record sent in between), 1,000 records at a time: the slowest consumer that still keeps up. */
typedef struct reader {
    uint64_t sent, answered, sent_at_ask, most_unanswered;
    bool never; /* answers nothing */
    /* A filter: answers nothing, but while the replay waits commits, in its group, offsets up to
     * what the topic holds (it read all of it), through this consumer handle (NULL: none). */
    rd_kafka_t *group;
    const char *topic;
    uint64_t committed, most_unread, commits;
} reader;

static void reader_sent(void *ud, const char *topic, uint64_t id, const void *key, size_t key_len,
                        int64_t intended_ns, int64_t actual_ns)
{
    (void)topic, (void)id, (void)key, (void)key_len, (void)intended_ns, (void)actual_ns;
    reader *r = ud;
    uint64_t u = r->sent - r->answered; /* what was unanswered when this one was sent */
    if (u > r->most_unanswered) r->most_unanswered = u;
    if (r->sent - r->committed > r->most_unread) r->most_unread = r->sent - r->committed;
    r->sent++;
}

/* The filter's commit: the topic's end as its offset for partition 0. */
static void reader_commit(reader *r)
{
    int64_t lo = 0, hi = 0;
    if (rd_kafka_query_watermark_offsets(r->group, r->topic, 0, &lo, &hi, 5000) || hi <= 0 ||
        (uint64_t)hi <= r->committed)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, r->topic, 0)->offset = hi;
    if (rd_kafka_commit(r->group, l, 0) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        r->committed = (uint64_t)hi;
        r->commits++;
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static uint64_t reader_unanswered(void *ud)
{
    reader *r = ud;
    if (r->group && r->sent == r->sent_at_ask) reader_commit(r);
    if (!r->never && r->sent == r->sent_at_ask)
        r->answered += r->sent - r->answered < 1000 ? r->sent - r->answered : 1000;
    r->sent_at_ask = r->sent;
    return r->sent - r->answered;
}

/* 40,000 records of ~200 bytes with framing (about 8 MB) into a topic of one partition, paced to
 * the answers: the fit check says one partition cannot keep them all, so the replay holds each
 * record back while a partition's 4 MiB budget of records is unanswered (every unread record may
 * sit in the partition the next one goes to). */
static void test_replay_kafka__paces_to_answers_when_the_topic_is_too_small(void **state)
{
    (void)state;
    plan_scenario *s = fx_scenario();
    fx_orders(s, 40000, 3);
    hx_err e = {0};
    gen *g = NULL;
    kafkasvc *svc = NULL;
    if (gen_new(s, &g, &e) || kafkasvc_start(NULL, &svc, &e)) fail_msg("%s", e.msg);
    assert_int_equal(kafkasvc_create_topic(svc, "small", 1, &e), 0);
    assert_false(kafkasvc_volume_fits(gen_emissions(g, 0), 256, 1));
    plan_step st = {
        .kind = PLAN_STEP_INTO, .target = PLAN_TGT_KAFKA, .topic = "small", .key_col = -1};
    reader rd = {0};
    replay_kafka_watch w = {.ud = &rd, .sent = reader_sent, .unanswered = reader_unanswered};
    replay_stats r;
    int rc = replay_kafka(g, 0, &st, kafkasvc_bootstrap(svc), "small", -1, &w, &r, &e);
    if (rc) fail_msg("replay_kafka: %s", e.msg);
    assert_int_equal(r.rows, gen_emissions(g, 0));
    /* The budget in records: 4 MiB over the bytes a record takes on the log with its framing. */
    double per = (double)r.bytes / (double)r.rows + 80 + 34 + 5 + 19 + 5;
    uint64_t most = (uint64_t)(KAFKASVC_PARTITION_BUDGET_BYTES / per);
    assert_true(rd.most_unanswered >= most * 9 / 10); /* it did send ahead of the answers */
    /* but never beyond the budget (the replay sizes records by their running average) */
    assert_true(rd.most_unanswered <= most + most / 100);
    /* A service that answers nothing: the replay waits hold_ms, then stops with an
     * infrastructure error saying what to do, instead of letting the mock drop records. */
    assert_int_equal(kafkasvc_create_topic(svc, "stuck", 1, &e), 0);
    reader none = {.never = true};
    w = (replay_kafka_watch){
        .ud = &none, .sent = reader_sent, .unanswered = reader_unanswered, .hold_ms = 200};
    st.topic = "stuck";
    rc = replay_kafka(g, 0, &st, kafkasvc_bootstrap(svc), "stuck", -1, &w, &r, &e);
    assert_int_equal(rc, HX_EINFRA);
    assert_non_null(strstr(e.msg, "give the step `partitions = "));
    assert_non_null(strstr(e.msg, "commit the consumer's offsets in group $KAFKA_GROUP_ID"));
    assert_true(r.rows < gen_emissions(g, 0));
    /* A filter that answers nothing but commits its group's offsets: paced to them, the whole
     * step goes through, and what the group had not read never exceeded the budget. */
    assert_int_equal(kafkasvc_create_topic(svc, "filtered", 1, &e), 0);
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", kafkasvc_bootstrap(svc), errstr,
                                       sizeof errstr),
                     RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "group.id", "filter-group", errstr, sizeof errstr),
                     RD_KAFKA_CONF_OK);
    reader filter = {.never = true, .topic = "filtered"};
    filter.group = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    assert_non_null(filter.group);
    w = (replay_kafka_watch){.ud = &filter,
                             .sent = reader_sent,
                             .unanswered = reader_unanswered,
                             .group = "filter-group",
                             .hold_ms = 10000};
    st.topic = "filtered";
    rc = replay_kafka(g, 0, &st, kafkasvc_bootstrap(svc), "filtered", -1, &w, &r, &e);
    if (rc) fail_msg("replay_kafka with a committing group: %s", e.msg);
    assert_int_equal(r.rows, gen_emissions(g, 0));
    assert_true(filter.commits > 0);
    assert_true(filter.most_unread >= most * 9 / 10);
    assert_true(filter.most_unread <= most + most / 100);
    rd_kafka_destroy(filter.group);
    kafkasvc_stop(svc);
    gen_free(g);
    fx_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replay_kafka__messages_are_the_jsonl_lines, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_kafka__per_batch_and_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_kafka__retries_request_errors, setup, teardown),
        cmocka_unit_test(test_replay_kafka__paces_to_answers_when_the_topic_is_too_small),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rd_kafka_wait_destroyed(5000);
    return rc;
}
