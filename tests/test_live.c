/* test_live.c - the live latency consumer's matching (run/live.c) on messages produced into the
 * embedded mock cluster by a plain librdkafka producer: by harness-topic and harness-id headers, by
 * key, ambiguous ids and keys, unknown messages; the same outcome whether the consumer thread reads
 * them or a live without a consumer is handed them (live_match), with latencies exact there (the
 * receive time is given), and the spool of what was read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "kafkasvc.h"
#include "live.h"

#define MS 1000000LL
#define T0 ((int64_t)1700000000 * 1000000000LL)

/* One output message: key (NULL: none), harness-id and harness-topic headers (NULL: none). */
typedef struct out_msg {
    const char *key, *id, *topic, *value;
} out_msg;

/* The outputs: what each must match, with live_match at T0 + 1000 ms. */
static const out_msg OUTS[] = {
    {"k1", "1", "in.a", "a1"},   /* id 1 of in.a: intended T0 + 10 ms */
    {"k1", "1", "in.b", "b1"},   /* id 1 of in.b: intended T0 + 20 ms */
    {NULL, "2", NULL, "a2"},     /* id 2 sent on in.a only: matches it (T0 + 30 ms) */
    {NULL, "1", NULL, "x1"},     /* id 1 sent on both inputs, no topic: matches nothing */
    {"k3", NULL, NULL, "k3"},    /* key k3 sent on in.b only: matches it (T0 + 40 ms) */
    {"k1", NULL, NULL, "k1"},    /* key k1 sent on both inputs: matches nothing */
    {"k1", "99", "in.a", "f"},   /* unknown id, falls back to its key on in.a (T0 + 10 ms) */
    {"zz", "77", NULL, "none"},  /* neither id nor key was sent */
    {NULL, "2x", "in.a", "bad"}, /* not a number: no id; no key: nothing */
};
#define NOUTS (sizeof OUTS / sizeof OUTS[0])
#define MATCHED 5

/* The inputs, sent from t0 (ns since the epoch). */
static void fill(live *l, int64_t t0)
{
    assert_true(live_sent(l, "in.a", 1, "k1", 2, t0 + 10 * MS, t0 + 11 * MS));
    assert_true(live_sent(l, "in.b", 1, "k1", 2, t0 + 20 * MS, t0 + 21 * MS));
    assert_true(live_sent(l, "in.a", 2, "k2", 2, t0 + 30 * MS, t0 + 32 * MS));
    assert_true(live_sent(l, "in.b", 3, "k3", 2, t0 + 40 * MS, t0 + 44 * MS));
    /* An id sent twice keeps its first times. */
    assert_true(live_sent(l, "in.a", 2, "k2", 2, t0 + 500 * MS, t0 + 500 * MS));
}

static void produce(const char *bs)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", bs, err, sizeof err),
                     RD_KAFKA_CONF_OK);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    assert_non_null(p);
    for (size_t i = 0; i < NOUTS; i++) {
        const out_msg *o = &OUTS[i];
        rd_kafka_headers_t *h = rd_kafka_headers_new(2);
        if (o->id) rd_kafka_header_add(h, "harness-id", -1, o->id, -1);
        if (o->topic) rd_kafka_header_add(h, "harness-topic", -1, o->topic, -1);
        assert_int_equal(rd_kafka_producev(p, RD_KAFKA_V_TOPIC("out"), RD_KAFKA_V_PARTITION(0),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_KEY(o->key, o->key ? strlen(o->key) : 0),
                                           RD_KAFKA_V_VALUE((void *)o->value, strlen(o->value)),
                                           RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    assert_int_equal(rd_kafka_flush(p, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(p);
}

/* Every message of "out", read by a plain consumer, in offset order. */
static size_t read_all(const char *bs, rd_kafka_t **c, rd_kafka_message_t **ms)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", bs, err, sizeof err),
                     RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "group.id", "test-live", err, sizeof err),
                     RD_KAFKA_CONF_OK);
    *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    assert_non_null(*c);
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tp, "out", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_poll_set_consumer(*c);
    assert_int_equal(rd_kafka_assign(*c, tp), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(tp);
    size_t n = 0;
    for (int tries = 0; n < NOUTS && tries < 200; tries++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(*c, 100);
        if (!m) continue;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        ms[n++] = m;
    }
    return n;
}

typedef struct spooled {
    int n;
    char values[NOUTS][16];
} spooled;

static bool each(void *ud, int32_t partition, int64_t offset, const char *value, size_t len)
{
    spooled *s = ud;
    assert_int_equal(partition, 0);
    assert_int_equal(offset, s->n);
    snprintf(s->values[s->n++], sizeof s->values[0], "%.*s", (int)len, value);
    return true;
}

static void check_spool(live *l)
{
    spooled s = {0};
    hx_err e = {0};
    assert_int_equal(live_read_topic(l, "out", each, &s, &e), 1);
    assert_int_equal(s.n, (int)NOUTS);
    for (size_t i = 0; i < NOUTS; i++)
        assert_string_equal(s.values[i], OUTS[i].value);
}

static void check_counts(live *l)
{
    assert_int_equal(live_read(l), NOUTS);
    assert_int_equal(live_matched(l), MATCHED);
    assert_int_equal(live_unmatched(l), NOUTS - MATCHED);
    assert_int_equal(hist_count(live_corrected(l)), MATCHED);
    assert_int_equal(hist_count(live_uncorrected(l)), MATCHED);
}

static void test_live_match_offline(void **state)
{
    (void)state;
    kafkasvc *k = NULL;
    hx_err e = {0};
    assert_int_equal(kafkasvc_start(NULL, &k, &e), 0);
    assert_int_equal(kafkasvc_create_topic(k, "out", 1, &e), 0);
    produce(kafkasvc_bootstrap(k));
    rd_kafka_t *c = NULL;
    rd_kafka_message_t *ms[NOUTS];
    assert_int_equal(read_all(kafkasvc_bootstrap(k), &c, ms), NOUTS);

    static const char *topics[] = {"out"};
    int32_t parts = 1;
    live_opts o = {
        .topics = topics, .ntopics = 1, .t0_ns = T0, .spool = true, .partitions = &parts};
    live *l = NULL;
    assert_int_equal(live_start(&o, &l, &e), 0);
    fill(l, T0);
    /* In two calls, as two polls would hand them. */
    live_match(l, (struct rd_kafka_message_s **)ms, 4, T0 + 1000 * MS);
    live_match(l, (struct rd_kafka_message_s **)ms + 4, NOUTS - 4, T0 + 1000 * MS);
    assert_int_equal(live_finish(l, 1000, &e), 0);
    check_counts(l);
    /* Corrected latencies, receive time - intended: a1 990, b1 980, a2 970 (its first sending),
     * k3 960, the fallback to k1 on in.a 990 ms. Uncorrected from the actual send times: 989,
     * 979, 968, 956, 989. */
    const hist *hc = live_corrected(l), *hu = live_uncorrected(l);
    assert_int_equal(hist_min(hc) / MS, 960);
    assert_int_equal(hist_max(hc) / MS, 990);
    assert_int_equal(hist_percentile(hc, 50) / MS, 980);
    assert_int_equal(hist_min(hu) / MS, 956);
    assert_int_equal(hist_max(hu) / MS, 989);
    assert_int_equal(hist_percentile(hu, 50) / MS, 979);
    size_t ns = 0;
    const live_second *tl = live_timeline(l, &ns);
    assert_int_equal(ns, 2); /* sent in second 0, read in second 1 */
    assert_int_equal(tl[0].in, 5);
    assert_int_equal(tl[1].out, NOUTS);
    assert_int_equal(tl[1].matched, MATCHED);
    check_spool(l);
    live_free(l);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    kafkasvc_stop(k);
}

/* The consumer thread matches the same messages the same way. */
static void test_live_consumer_same(void **state)
{
    (void)state;
    kafkasvc *k = NULL;
    hx_err e = {0};
    assert_int_equal(kafkasvc_start(NULL, &k, &e), 0);
    assert_int_equal(kafkasvc_create_topic(k, "out", 1, &e), 0);
    produce(kafkasvc_bootstrap(k));
    static const char *topics[] = {"out"};
    live_opts o = {.bootstrap = kafkasvc_bootstrap(k),
                   .fetch_wait_ms = kafkasvc_fetch_wait_ms(k),
                   .topics = topics,
                   .ntopics = 1,
                   .t0_ns = hx_wall_ns(),
                   .paused = true,
                   .spool = true};
    live *l = NULL;
    assert_int_equal(live_start(&o, &l, &e), 0);
    fill(l, o.t0_ns);
    live_resume(l);
    assert_int_equal(live_finish(l, 30000, &e), 0);
    check_counts(l);
    check_spool(l);
    live_free(l);
    kafkasvc_stop(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_match_offline),
        cmocka_unit_test(test_live_consumer_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
