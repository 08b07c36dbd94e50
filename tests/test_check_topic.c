/* test_check_topic.c - checks on Kafka topics without Kafka: topic (count; keyed comparison with
 * the truth; unique keys), diff and precision_recall on a topic, fed through a fake topic reader
 * (chk_ctx.topic) holding JSON messages. The real reader is exercised by the kafka transcript. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check.h"
#include "fmt.h"
#include "gen_fixture.h"
#include "ledger.h"

/* A topic in memory: NUL-terminated message values. */
typedef struct fake_topic {
    const char *name; /* the scenario's topic name */
    char **msgs;
    size_t n, cap;
    int fail;  /* nonzero: the reader fails with this hx code */
    int reads; /* reads so far */
} fake_topic;

static void push(fake_topic *t, const char *v, size_t len)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->msgs = realloc(t->msgs, t->cap * sizeof *t->msgs);
    }
    t->msgs[t->n] = malloc(len + 1);
    memcpy(t->msgs[t->n], v, len);
    t->msgs[t->n][len] = '\0';
    t->n++;
}

static void clear(fake_topic *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->msgs[i]);
    t->n = 0;
}

static int fake_read(void *ud, const char *topic, chk_msg_fn each, void *each_ud, hx_err *e)
{
    fake_topic *t = ud;
    t->reads++;
    if (t->fail) return hx_fail(e, t->fail, "kafka at 'x': reading '%s' failed", topic);
    if (strcmp(topic, t->name) != 0) return hx_fail(e, HX_EUSAGE, "no topic '%s'", topic);
    for (size_t i = 0; i < t->n; i++)
        if (!each(each_ud, (int32_t)(i % 3), (int64_t)(i / 3), t->msgs[i], strlen(t->msgs[i])))
            break;
    return 0;
}

typedef struct fx {
    plan_scenario *s;
    gen *g;
    fake_topic t;
    chk_ctx ctx;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->s = fx_scenario();
    fx_orders(f->s, 200, 5);
    hx_err e = {0};
    if (gen_new(f->s, &f->g, &e) != 0) fail_msg("gen_new: %s", e.msg);
    f->t.name = "out";
    f->ctx = (chk_ctx){.g = f->g, .s = f->s, .topic = fake_read, .topic_ud = &f->t};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    clear(&f->t);
    free(f->t.msgs);
    gen_free(f->g);
    fx_free(f->s);
    free(f);
    return 0;
}

/* Every emission as a JSONL message (no line break), except id skip; id bump has amount + 1. */
static void fill(fx *f, int64_t skip, int64_t bump)
{
    const plan_dataset *d = &f->s->datasets[0];
    clear(&f->t);
    hx_buf b;
    hx_buf_init(&b);
    gen_cursor cur;
    hx_err e = {0};
    assert_int_equal(gen_cursor_init(&cur, f->g, 0, -1, &e), 0);
    const gen_record *r;
    gen_record mine;
    assert_int_equal(gen_record_init(&mine, d->ncols), 0);
    while (gen_cursor_next(&cur, &r, &e) == 1) {
        if ((int64_t)r->id == skip) continue;
        hx_buf_clear(&b);
        if ((int64_t)r->id == bump) {
            assert_int_equal(gen_record_at(f->g, 0, r->id, r->copy, &mine, &e), 0);
            mine.vals[1].i += mine.vals[1].null ? 0 : 1;
            mine.vals[1].null = false;
            fmt_record(&b, d, PLAN_FMT_JSONL, &mine);
        } else {
            fmt_record(&b, d, PLAN_FMT_JSONL, r);
        }
        push(&f->t, b.data, b.len - 1);
    }
    gen_cursor_release(&cur);
    gen_record_release(&mine);
    hx_buf_release(&b);
}

static plan_expect rows_query(void)
{
    plan_expect x = {.kind = PLAN_EXP_QUERY};
    x.query.dataset = 0;
    x.query.agg = PLAN_AGG_ROWS;
    x.query.col = x.query.group_col = -1;
    x.query.sub.dedup_col = -1;
    x.query.sub.group_day_col = -1;
    return x;
}

static plan_check topic_check(void)
{
    return (plan_check){.kind = PLAN_CHK_TOPIC, .name = "topic out", .table = "out"};
}

static bool sample_has(const chk_outcome *o, size_t col, const char *text)
{
    for (size_t r = 0; r < o->sample.nrows; r++) {
        const char *v = o->sample.cells[r * o->sample.ncols + col];
        if (v && strcmp(v, text) == 0) return true;
    }
    return false;
}

static void test_check_topic__count(void **state)
{
    fx *f = *state;
    fill(f, -1, -1);
    push(&f->t, "not json at all", 15); /* counting does not parse */
    plan_check c = topic_check();
    c.expect = (plan_expect){.kind = PLAN_EXP_NUMBER, .number = 201};
    chk_outcome o;
    chk_run(&f->ctx, &c, &o);
    if (o.status != CHK_PASS) fail_msg("%s", o.message);
    assert_string_equal(o.actual, "201 messages");
    chk_outcome_release(&o);

    c.expect.number = 7;
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_FAIL);
    assert_string_equal(o.message, "201 messages, expected 7");
    chk_outcome_release(&o);

    /* a :count() query counts the truth's emissions */
    c.expect = rows_query();
    c.expect.query.agg = PLAN_AGG_COUNT;
    clear(&f->t);
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_FAIL);
    assert_string_equal(o.message, "0 messages, expected 200");
    chk_outcome_release(&o);

    /* no expectation: the topic must not be empty */
    c.expect = (plan_expect){0};
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_FAIL);
    assert_string_equal(o.message, "topic 'out' is empty");
    chk_outcome_release(&o);
}

static void test_check_topic__by_key(void **state)
{
    fx *f = *state;
    plan_check c = topic_check();
    c.expect = rows_query();
    c.key = "id";
    fill(f, -1, -1);
    chk_outcome o;
    chk_run(&f->ctx, &c, &o);
    if (o.status != CHK_PASS) fail_msg("%s (%s)", o.message, o.actual);
    assert_string_equal(o.expected, "200 messages");
    chk_outcome_release(&o);

    /* id 5 (record 4) missing, id 11 (record 10) changed, one extra, one malformed, one empty */
    fill(f, 4, 10);
    push(&f->t, "{\"id\":100000,\"amount\":1.00}", 28);
    push(&f->t, "{\"id\":3,\"amo", 12);
    push(&f->t, "", 0);
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_FAIL);
    assert_int_equal(o.missing, 1);
    assert_int_equal(o.extra, 1);
    assert_int_equal(o.mismatched, 1);
    assert_string_equal(o.message, "1 missing, 1 extra, 1 mismatched messages; 2 malformed");
    assert_true(sample_has(&o, 0, "missing") && sample_has(&o, 1, "5"));
    assert_true(sample_has(&o, 0, "extra") && sample_has(&o, 1, "100000"));
    assert_true(sample_has(&o, 0, "mismatch") && sample_has(&o, 2, "amount"));
    /* where a malformed message is: topic[partition]@offset (the fake spreads over 3) */
    assert_true(sample_has(&o, 0, "malformed"));
    assert_true(sample_has(&o, 4, "empty message value"));
    bool where = false;
    for (size_t r = 0; r < o.sample.nrows; r++) {
        const char *v = o.sample.cells[r * o.sample.ncols + 1];
        where |= v && strncmp(v, "out[", 4) == 0 && strchr(v, '@');
    }
    assert_true(where);
    chk_outcome_release(&o);

    /* diff { topic = ... } is the same comparison */
    plan_param sink = {.key = "sink", .json = "\"topic\""};
    plan_check d = {.kind = PLAN_CHK_DIFF,
                    .name = "diff out",
                    .table = "out",
                    .key = "id",
                    .params = &sink,
                    .nparams = 1,
                    .expect = rows_query()};
    fill(f, 4, -1);
    chk_run(&f->ctx, &d, &o);
    assert_int_equal(o.status, CHK_FAIL);
    assert_int_equal(o.missing, 1);
    assert_int_equal(o.extra + o.mismatched, 0);
    chk_outcome_release(&o);
}

/* The sample cells of o, one string (NULL as "-"), to compare two outcomes' samples. */
static char *sample_text(const chk_outcome *o)
{
    hx_buf b;
    hx_buf_init(&b);
    for (size_t i = 0; i < o->sample.nrows * o->sample.ncols; i++)
        hx_buf_printf(&b, "%s%s", o->sample.cells[i] ? o->sample.cells[i] : "-",
                      (i + 1) % o->sample.ncols ? "|" : "\n");
    return b.data;
}

static void reverse(fake_topic *t)
{
    for (size_t i = 0; i < t->n / 2; i++) {
        char *x = t->msgs[i];
        t->msgs[i] = t->msgs[t->n - 1 - i];
        t->msgs[t->n - 1 - i] = x;
    }
}

/* Samples are the smallest keys of each kind, sorted by key (extra, missing, mismatch, then
 * malformed by place), as diff's SQL gives them: the same whatever order the messages came in. */
static void test_check_topic__samples_sorted(void **state)
{
    fx *f = *state;
    plan_check c = topic_check();
    c.expect = rows_query();
    c.key = "id";
    chk_ctx ctx = f->ctx;
    ctx.max_samples = 3;
    fill(f, -1, -1);
    /* ids 150, 40, 7, 99 and 3 missing; extras 100009 down to 100001 */
    size_t k = 0;
    for (size_t i = 0; i < f->t.n; i++) {
        bool drop = false;
        for (int id = 0; id < 5; id++) {
            char pre[32];
            int n = snprintf(pre, sizeof pre, "{\"id\":%d,", (int[]){150, 40, 7, 99, 3}[id]);
            drop |= strncmp(f->t.msgs[i], pre, (size_t)n) == 0;
        }
        if (drop)
            free(f->t.msgs[i]);
        else
            f->t.msgs[k++] = f->t.msgs[i];
    }
    f->t.n = k;
    for (int id = 100009; id > 100000; id--) {
        char m[64];
        int n = snprintf(m, sizeof m, "{\"id\":%d,\"amount\":1.00}", id);
        push(&f->t, m, (size_t)n);
    }
    push(&f->t, "{\"id\":3,\"amo", 12);
    chk_outcome o;
    chk_run(&ctx, &c, &o);
    assert_int_equal(o.status, CHK_FAIL);
    assert_int_equal(o.missing, 5);
    assert_int_equal(o.extra, 9);
    char *fwd = sample_text(&o);
    assert_non_null(strstr(fwd, "extra|100001|(row)|-|"));
    const char *e1 = strstr(fwd, "extra|100001|"), *e2 = strstr(fwd, "extra|100002|"),
               *e3 = strstr(fwd, "extra|100003|"), *m1 = strstr(fwd, "missing|3|"),
               *m2 = strstr(fwd, "missing|7|"), *m3 = strstr(fwd, "missing|40|"),
               *bad = strstr(fwd, "malformed|out[");
    assert_true(e1 && e2 && e3 && m1 && m2 && m3 && bad);
    assert_true(fwd == e1 && e1 < e2 && e2 < e3 && e3 < m1 && m1 < m2 && m2 < m3 && m3 < bad);
    assert_null(strstr(fwd, "100004"));
    assert_null(strstr(fwd, "missing|99|"));
    assert_int_equal(o.sample.nrows, 7);
    size_t before_bad = (size_t)(bad - fwd);
    chk_outcome_release(&o);

    reverse(&f->t);
    chk_run(&ctx, &c, &o);
    char *rev = sample_text(&o);
    /* the same rows; only the malformed message's place moved */
    assert_int_equal(strncmp(rev, fwd, before_bad), 0);
    assert_non_null(strstr(rev, "malformed|out["));
    chk_outcome_release(&o);
    free(rev);
    free(fwd);

    /* repeated keys of a topic without expectation, and precision_recall's flags: by key too */
    clear(&f->t);
    for (int id = 9; id > 0; id--)
        for (int rep = 0; rep < 2; rep++) {
            char m[32];
            int n = snprintf(m, sizeof m, "{\"id\":%d}", id);
            push(&f->t, m, (size_t)n);
        }
    plan_check u = topic_check();
    u.key = "id";
    chk_run(&ctx, &u, &o);
    assert_int_equal(o.status, CHK_FAIL);
    fwd = sample_text(&o);
    assert_string_equal(fwd, "duplicate|1|-|-|out[2]@5\nduplicate|2|-|-|out[0]@5\n"
                             "duplicate|3|-|-|out[1]@4\n");
    chk_outcome_release(&o);
    free(fwd);
}

/* A pretty-printed JSON message (line breaks inside) is one record. */
static void test_check_topic__multiline_message(void **state)
{
    fx *f = *state;
    clear(&f->t);
    const char *m = "{\n  \"id\": 1,\n  \"x\": \"a\"\n}";
    push(&f->t, m, strlen(m));
    plan_check c = topic_check();
    c.key = "id";
    c.expect = (plan_expect){.kind = PLAN_EXP_NUMBER, .number = 1};
    chk_outcome o;
    chk_run(&f->ctx, &c, &o);
    if (o.status != CHK_PASS) fail_msg("%s (%s)", o.message, o.actual);
    chk_outcome_release(&o);
}

static void test_check_topic__unique_keys(void **state)
{
    fx *f = *state;
    clear(&f->t);
    const char *msgs[] = {"{\"id\":1}", "{\"id\":2}", "{\"id\":1}", "{\"id\":1}", "{\"other\":3}"};
    for (size_t i = 0; i < 5; i++)
        push(&f->t, msgs[i], strlen(msgs[i]));
    plan_check c = topic_check();
    c.key = "id";
    chk_outcome o;
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_FAIL);
    assert_string_equal(o.message, "1 repeated keys");
    assert_true(sample_has(&o, 0, "duplicate") && sample_has(&o, 1, "1"));
    chk_outcome_release(&o);
    clear(&f->t);
    push(&f->t, msgs[0], strlen(msgs[0]));
    push(&f->t, msgs[1], strlen(msgs[1]));
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_PASS);
    chk_outcome_release(&o);
}

static void test_check_topic__precision_recall(void **state)
{
    fx *f = *state;
    plan_param sink = {.key = "sink", .json = "\"topic\""};
    plan_param params[3] = {
        sink, {.key = "min_precision", .json = "0.5"}, {.key = "min_recall", .json = "0.9"}};
    plan_check c = {.kind = PLAN_CHK_PRECISION_RECALL,
                    .name = "pr",
                    .table = "out",
                    .column = "id",
                    .params = params,
                    .nparams = 3,
                    .expect = rows_query()};
    /* flags for ids 1..180 (180 of 200 records), 10 of them twice, and 20 unknown ids */
    clear(&f->t);
    char m[64];
    for (int id = 1; id <= 180; id++) {
        int n = snprintf(m, sizeof m, "{\"id\":%d,\"why\":\"x\"}", id);
        push(&f->t, m, (size_t)n);
        if (id <= 10) push(&f->t, m, (size_t)n);
    }
    for (int id = 1000; id < 1020; id++) {
        int n = snprintf(m, sizeof m, "{\"id\":%d}", id);
        push(&f->t, m, (size_t)n);
    }
    push(&f->t, "{broken", 7);
    chk_outcome o;
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.missing, 20);
    assert_int_equal(o.extra, 20);
    assert_int_equal(o.status, CHK_PASS); /* precision 0.9, recall 0.9 */
    assert_true(sample_has(&o, 0, "false positive") && sample_has(&o, 0, "missed"));
    chk_outcome_release(&o);
    params[2].json = "0.95";
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_FAIL);
    assert_string_equal(o.message, "20 records missed, 20 flagged wrongly");
    chk_outcome_release(&o);
}

/* ---- a topic of summaries per group (chk_groups.c) ---- */

static int64_t fake_sent(void *ud, size_t dataset, uint64_t id)
{
    (void)ud, (void)dataset;
    return INT64_C(1000000000000) + (int64_t)id * 1000000; /* record id sent at 1e12 ns + id ms */
}

static int64_t fake_recv(void *ud, const char *topic, int32_t partition, int64_t offset)
{
    (void)ud, (void)topic, (void)partition, (void)offset;
    return INT64_C(1001000000000); /* every summary received 1 s after record 0 was sent */
}

static double metric(const chk_outcome *o, const char *name)
{
    for (size_t i = 0; i < o->nmetrics; i++)
        if (strcmp(o->metrics[i].name, name) == 0) return o->metrics[i].value;
    fail_msg("no metric %s", name);
    return -1;
}

/* orders by status and minute of ts: 200 records at 1 a second from a minute's start (jitter
 * < 0.5 s), so 4 minutes; the messages are made from the truth's rows, spelled variously. */
static void test_check_topic__groups(void **state)
{
    fx *f = *state;
    plan_check c = topic_check();
    c.expect = rows_query();
    plan_query *q = &c.expect.query;
    q->agg = PLAN_AGG_GROUPS;
    q->sub.valid = true;
    q->grp.nkeys = 2;
    q->grp.keys[0] = (plan_group_key){.col = 2, .name = "status"};
    q->grp.keys[1] = (plan_group_key){.col = 3, .bucket_us = 60000000, .name = "minute"};
    q->grp.naggs = 2;
    q->grp.aggs[0] = (plan_group_agg){.agg = PLAN_AGG_SUM, .col = 1, .name = "amount"};
    q->grp.aggs[1] = (plan_group_agg){.agg = PLAN_AGG_COUNT, .col = -1, .name = "n"};
    ledger_result r;
    hx_err e = {0};
    assert_int_equal(ledger_eval(f->g, q, &r, &e), 0);
    assert_true(r.nrows >= 10 && r.nrows <= 12); /* 3 statuses x 4 minutes, a few maybe absent */
    char buf[256];
    clear(&f->t);
    for (size_t i = 0; i < r.nrows; i++) {
        char **cl = r.rows[i].cells;
        if (i % 3 == 0) /* the minute spelled another way, the amount as a string at scale 3 */
            snprintf(buf, sizeof buf,
                     "{\"n\":%s,\"minute\":\"%.10s %.8s+00\",\"status\":\"%s\",\"amount\":\"%s0\","
                     "\"extra_field\":1}",
                     cl[3], cl[1], cl[1] + 11, cl[0], cl[2]);
        else
            snprintf(buf, sizeof buf,
                     "{\"status\":\"%s\",\"minute\":\"%s\",\"amount\":%s,\"n\":%s}", cl[0], cl[1],
                     cl[2], cl[3]);
        push(&f->t, buf, strlen(buf));
    }
    f->ctx.recv_ns = fake_recv;
    f->ctx.sent_ns = fake_sent;
    chk_outcome o;
    chk_run(&f->ctx, &c, &o);
    if (o.status != CHK_PASS) fail_msg("%s: %s", o.message, o.actual);
    /* the lag: minute 0 closes when record 60 (ts 60 s) is sent, 60 ms after record 0: 940 ms;
     * the last minute at the stream's last record (199 ms): 801 ms */
    assert_int_equal(o.nmetrics, 5);
    assert_float_equal(metric(&o, "out.lag.max"), 0.940, 1e-9);
    assert_float_equal(metric(&o, "out.lag.count"), (double)r.nrows, 0);
    assert_true(metric(&o, "out.lag.p50") >= 0.8 && metric(&o, "out.lag.p50") <= 0.94);
    chk_outcome_release(&o);

    /* wrong, doubled, missing, extra, malformed: each counted and named by its key */
    clear(&f->t);
    char key1[128] = "", key2[128] = "", key3[128] = "";
    for (size_t i = 0; i < r.nrows; i++) {
        char **cl = r.rows[i].cells;
        if (i == 0) { /* missing */
            snprintf(key1, sizeof key1, "%s, %s", cl[0], cl[1]);
            continue;
        }
        snprintf(buf, sizeof buf, "{\"status\":\"%s\",\"minute\":\"%s\",\"amount\":%s,\"n\":%s}",
                 cl[0], cl[1], cl[2], i == 1 ? "999" : cl[3]);
        push(&f->t, buf, strlen(buf));
        if (i == 1) snprintf(key2, sizeof key2, "%s, %s", cl[0], cl[1]);
        if (i == 2) { /* sent twice */
            push(&f->t, buf, strlen(buf));
            snprintf(key3, sizeof key3, "%s, %s", cl[0], cl[1]);
        }
    }
    /* not a group: a minute that is no minute's start, a status with a quote and a pipe */
    const char *extra = "{\"status\":\"paid\",\"minute\":\"2026-01-01T00:00:30Z\",\"n\":1}";
    push(&f->t, extra, strlen(extra));
    extra = "{\"status\":\"x\\\"|y\",\"minute\":\"2026-01-01T00:00:00Z\",\"n\":1}";
    push(&f->t, extra, strlen(extra));
    push(&f->t, "{\"status\":", 10);
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_FAIL);
    assert_int_equal(o.missing, 1);
    assert_int_equal(o.mismatched, 1);
    assert_int_equal(o.doubled, 1);
    assert_int_equal(o.extra, 2);
    assert_non_null(
        strstr(o.message, "1 missing, 2 extra, 1 doubled, 1 wrong summaries, 1 malformed"));
    assert_string_equal(o.sample.cols[1], "status, minute");
    assert_true(sample_has(&o, 1, key1));
    assert_true(sample_has(&o, 1, key2));
    assert_true(sample_has(&o, 1, key3));
    assert_true(sample_has(&o, 1, "paid, 2026-01-01T00:00:30Z"));
    assert_true(sample_has(&o, 1, "x\"|y, 2026-01-01T00:00:00Z"));
    assert_true(sample_has(&o, 0, "malformed"));
    assert_true(sample_has(&o, 4, "999")); /* the wrong count, beside the truth's */
    chk_outcome_release(&o);
    ledger_result_release(&r);
    f->ctx.recv_ns = NULL;
    f->ctx.sent_ns = NULL;
}

static void test_check_topic__reader_errors_and_no_kafka(void **state)
{
    fx *f = *state;
    plan_check c = topic_check();
    c.expect = (plan_expect){.kind = PLAN_EXP_NUMBER, .number = 1};
    f->t.fail = HX_EINFRA;
    chk_outcome o;
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_ERROR);
    assert_string_equal(o.message, "kafka at 'x': reading 'out' failed");
    chk_outcome_release(&o);
    f->t.fail = 0;
    f->ctx.topic = NULL;
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_SKIP);
    assert_non_null(strstr(o.message, "need a Kafka cluster"));
    chk_outcome_release(&o);
    /* a string is no expectation for a topic */
    f->ctx.topic = fake_read;
    c.expect = (plan_expect){.kind = PLAN_EXP_STRING, .string = "x"};
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_ERROR);
    chk_outcome_release(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_topic__count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_topic__by_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_topic__samples_sorted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_topic__multiline_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_topic__unique_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_topic__precision_recall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_topic__groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_topic__reader_errors_and_no_kafka, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
