/* test_kafkasvc.c - the Kafka service against real librdkafka clients: the mock cluster reached by
 * independent clients (and by kcat in another process), topics, faults, real-cluster mode and the
 * mock's 5 MiB partition limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "kafkasvc.h"

/* ---- client helpers: plain librdkafka, as a solution would use it ---- */

typedef struct deliveries {
    int ok;                       /* messages acknowledged */
    int failed;                   /* messages that failed */
    rd_kafka_resp_err_t last_err; /* the error of the last failure */
} deliveries;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    deliveries *d = opaque;
    if (m->err) {
        d->failed++;
        d->last_err = m->err;
    } else {
        d->ok++;
    }
}

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    (void)buf;
}

static rd_kafka_conf_t *base_conf(const char *bootstrap, const char *const *kv)
{
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(c, "bootstrap.servers", bootstrap, err, sizeof err),
                     RD_KAFKA_CONF_OK);
    for (; kv && kv[0]; kv += 2)
        if (rd_kafka_conf_set(c, kv[0], kv[1], err, sizeof err) != RD_KAFKA_CONF_OK)
            fail_msg("conf %s: %s", kv[0], err);
    if (!getenv("HARNESS_KAFKA_LOG")) rd_kafka_conf_set_log_cb(c, quiet_log);
    return c;
}

static rd_kafka_t *producer(const char *bootstrap, deliveries *d, const char *const *kv)
{
    char err[512];
    rd_kafka_conf_t *c = base_conf(bootstrap, kv);
    rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
    rd_kafka_conf_set_opaque(c, d);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    if (!rk) fail_msg("producer: %s", err);
    return rk;
}

/* Produce n messages "v<i>" with key "k<i>"; partition -1 = the partitioner, -2 = i % parts. */
static void produce(rd_kafka_t *rk, const char *topic, int from, int n, int partition, int parts,
                    size_t pad)
{
    char *val = malloc(pad + 32);
    for (int i = from; i < from + n; i++) {
        char key[32];
        int kl = snprintf(key, sizeof key, "k%d", i);
        int vl = snprintf(val, 32, "v%d", i);
        if (pad > (size_t)vl) {
            memset(val + vl, 'x', pad - (size_t)vl);
            vl = (int)pad;
        }
        int32_t p = partition == -2   ? i % parts
                    : partition == -1 ? RD_KAFKA_PARTITION_UA
                                      : partition;
        rd_kafka_resp_err_t err;
        while ((err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(p),
                                        RD_KAFKA_V_KEY(key, (size_t)kl),
                                        RD_KAFKA_V_VALUE(val, (size_t)vl),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                        RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 10);
        assert_int_equal(err, 0);
        rd_kafka_poll(rk, 0);
    }
    free(val);
}

/* Consume every partition of topic from the beginning until `want` messages came or 30 s passed;
 * returns how many came, and marks seen[i] for value "v<i>". */
static int consume(const char *bootstrap, const char *topic, int parts, int want, int *seen)
{
    char err[512];
    const char *kv[] = {"group.id", "hx-test", "enable.auto.commit", "false", NULL};
    rd_kafka_conf_t *c = base_conf(bootstrap, kv);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
    if (!rk) fail_msg("consumer: %s", err);
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; p < parts; p++)
        rd_kafka_topic_partition_list_add(tp, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(rk, tp), 0);
    rd_kafka_topic_partition_list_destroy(tp);
    int got = 0;
    for (int spins = 0; got < want && spins < 300; spins++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) continue;
        if (!m->err && m->len >= 2 && ((char *)m->payload)[0] == 'v') {
            int id = atoi((char *)m->payload + 1);
            if (seen && id >= 0 && id < want) seen[id]++;
            got++;
            spins = 0;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return got;
}

static kafkasvc *start_mock(int brokers)
{
    kafkasvc_opts o = {.brokers = brokers};
    kafkasvc *svc = NULL;
    hx_err e = {0};
    int rc = kafkasvc_start(&o, &svc, &e);
    if (rc) fail_msg("kafkasvc_start: %s", e.msg);
    return svc;
}

static bool have_kcat(void)
{
    return system("command -v kcat >/dev/null 2>&1") == 0;
}

/* ---- tests ---- */

static void test_kafkasvc__start_stop_mock(void **state)
{
    (void)state;
    kafkasvc *svc = NULL;
    hx_err e = {0};
    assert_int_equal(kafkasvc_start(NULL, &svc, &e), 0);
    assert_true(kafkasvc_is_mock(svc));
    assert_int_equal(kafkasvc_brokers(svc), 1);
    assert_memory_equal(kafkasvc_bootstrap(svc), "127.0.0.1:", 10);
    kafkasvc_stop(svc);

    svc = start_mock(3);
    assert_int_equal(kafkasvc_brokers(svc), 3);
    /* three listeners, every one on loopback */
    char *bs = strdup(kafkasvc_bootstrap(svc)), *save = NULL;
    int n = 0;
    for (char *t = strtok_r(bs, ",", &save); t; t = strtok_r(NULL, ",", &save), n++)
        assert_memory_equal(t, "127.0.0.1:", 10);
    assert_int_equal(n, 3);
    free(bs);
    kafkasvc_stop(svc);
    kafkasvc_stop(NULL);

    kafkasvc_opts bad = {.brokers = -1};
    assert_int_equal(kafkasvc_start(&bad, &svc, &e), HX_EUSAGE);
    assert_null(svc);
}

static void test_kafkasvc__produce_consume_across_clients(void **state)
{
    (void)state;
    kafkasvc *svc = start_mock(1);
    hx_err e = {0};
    const char *bs = kafkasvc_bootstrap(svc);
    assert_int_equal(kafkasvc_create_topic(svc, "orders", 4, &e), 0);
    deliveries d = {0};
    rd_kafka_t *p = producer(bs, &d, NULL);
    produce(p, "orders", 0, 1000, -1, 4, 0);
    assert_int_equal(rd_kafka_flush(p, 20000), 0);
    assert_int_equal(d.ok, 1000);
    assert_int_equal(d.failed, 0);
    rd_kafka_destroy(p);

    int seen[1000] = {0};
    assert_int_equal(consume(bs, "orders", 4, 1000, seen), 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(seen[i], 1);

    /* Another process (what a solution is) reaches the same listener. */
    if (!have_kcat()) {
        printf("# kcat not installed: skipping the cross-process check (apt-get install kcat)\n");
    } else {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "kcat -b '%s' -L -t orders 2>&1", bs);
        FILE *f = popen(cmd, "r");
        char line[512], all[8192] = "";
        while (fgets(line, sizeof line, f))
            strncat(all, line, sizeof all - strlen(all) - 1);
        assert_int_equal(pclose(f), 0);
        if (!strstr(all, "topic \"orders\" with 4 partitions"))
            fail_msg("kcat -L output lacks the topic:\n%s", all);
        snprintf(cmd, sizeof cmd, "kcat -b '%s' -C -t orders -o beginning -e -q -f '%%s\\n' 2>&1",
                 bs);
        f = popen(cmd, "r");
        int lines = 0;
        while (fgets(line, sizeof line, f))
            lines += line[0] == 'v';
        assert_int_equal(pclose(f), 0);
        assert_int_equal(lines, 1000);
    }
    kafkasvc_stop(svc);
}

static void test_kafkasvc__create_topic(void **state)
{
    (void)state;
    kafkasvc *svc = start_mock(2);
    hx_err e = {0};
    assert_int_equal(kafkasvc_create_topic(svc, "t8", 8, &e), 0);
    assert_int_equal(kafkasvc_topic_partitions(svc, "t8", &e), 8);
    assert_int_equal(kafkasvc_create_topic(svc, "t8", 8, &e), 0); /* a re-run */
    assert_int_equal(kafkasvc_create_topic(svc, "t8", 16, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "already exists with 8 partitions"));
    assert_int_equal(kafkasvc_topic_partitions(svc, "nope", &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "'nope' does not exist"));
    assert_int_equal(kafkasvc_create_topic(svc, "bad name", 1, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "offset 3"));
    assert_int_equal(kafkasvc_create_topic(svc, "", 1, &e), HX_EUSAGE);
    assert_int_equal(kafkasvc_create_topic(svc, "t0", 0, &e), HX_EUSAGE);
    int64_t lo = -1, hi = -1;
    assert_int_equal(kafkasvc_watermarks(svc, "t8", 7, &lo, &hi, &e), 0);
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 0);
    kafkasvc_stop(svc);
}

static void test_kafkasvc__broker_down_then_up(void **state)
{
    (void)state;
    kafkasvc *svc = start_mock(1);
    hx_err e = {0};
    const char *bs = kafkasvc_bootstrap(svc);
    assert_int_equal(kafkasvc_create_topic(svc, "events", 1, &e), 0);
    const char *kv[] = {"message.timeout.ms", "1500", "reconnect.backoff.max.ms", "200", NULL};
    deliveries d = {0};
    rd_kafka_t *p = producer(bs, &d, kv);
    produce(p, "events", 0, 10, 0, 1, 0);
    assert_int_equal(rd_kafka_flush(p, 10000), 0);
    assert_int_equal(d.ok, 10);

    assert_int_equal(kafkasvc_broker_down(svc, 1, &e), 0);
    produce(p, "events", 10, 10, 0, 1, 0);
    rd_kafka_flush(p, 10000);
    assert_int_equal(d.ok, 10);
    assert_int_equal(d.failed, 10);
    assert_int_equal(d.last_err, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);

    assert_int_equal(kafkasvc_broker_up(svc, -1, &e), 0);
    const char *kv2[] = {"message.timeout.ms", "30000", NULL};
    deliveries d2 = {0};
    rd_kafka_t *p2 = producer(bs, &d2, kv2);
    produce(p2, "events", 20, 10, 0, 1, 0);
    assert_int_equal(rd_kafka_flush(p2, 30000), 0);
    assert_int_equal(d2.ok, 10);
    rd_kafka_destroy(p2);
    rd_kafka_destroy(p);
    /* the broker kept its log through the outage: 10 before, 10 after */
    assert_int_equal(consume(bs, "events", 1, 20, NULL), 20);

    assert_int_equal(kafkasvc_broker_down(svc, 2, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "no broker 2"));
    kafkasvc_stop(svc);
}

static void test_kafkasvc__request_errors_and_rtt(void **state)
{
    (void)state;
    kafkasvc *svc = start_mock(1);
    hx_err e = {0};
    const char *bs = kafkasvc_bootstrap(svc);
    assert_int_equal(kafkasvc_create_topic(svc, "req", 1, &e), 0);
    deliveries d = {0};
    const char *kv[] = {"linger.ms", "0", NULL};
    rd_kafka_t *p = producer(bs, &d, kv);
    produce(p, "req", 0, 1, 0, 1, 0); /* connect first, so the error hits a Produce */
    assert_int_equal(rd_kafka_flush(p, 10000), 0);
    assert_int_equal(d.ok, 1);

    int errs[] = {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE};
    assert_int_equal(kafkasvc_request_errors(svc, KAFKASVC_API_PRODUCE, 1, errs, &e), 0);
    produce(p, "req", 1, 1, 0, 1, 0);
    rd_kafka_flush(p, 10000);
    assert_int_equal(d.failed, 1);
    assert_int_equal(d.last_err, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    produce(p, "req", 2, 1, 0, 1, 0); /* the injected error fired once */
    assert_int_equal(rd_kafka_flush(p, 10000), 0);
    assert_int_equal(d.ok, 2);

    assert_int_equal(kafkasvc_request_errors(svc, KAFKASVC_API_PRODUCE, 3,
                                             (int[]){errs[0], errs[0], errs[0]}, &e),
                     0);
    assert_int_equal(kafkasvc_clear_request_errors(svc, KAFKASVC_API_PRODUCE, &e), 0);
    produce(p, "req", 3, 1, 0, 1, 0);
    assert_int_equal(rd_kafka_flush(p, 10000), 0);
    assert_int_equal(d.ok, 3);
    assert_int_equal(d.failed, 1);

    /* Added round-trip time: a lower bound only, which a slow machine cannot break. */
    assert_int_equal(kafkasvc_set_rtt(svc, -1, 400, &e), 0);
    int64_t t0 = hx_now_ns();
    produce(p, "req", 4, 1, 0, 1, 0);
    assert_int_equal(rd_kafka_flush(p, 10000), 0);
    assert_true(hx_now_ns() - t0 >= 350LL * 1000000);
    assert_int_equal(kafkasvc_set_rtt(svc, -1, 0, &e), 0);
    assert_int_equal(kafkasvc_set_rtt(svc, 1, -5, &e), HX_EUSAGE);
    rd_kafka_destroy(p);
    kafkasvc_stop(svc);
}

static void test_kafkasvc__real_cluster_mode(void **state)
{
    (void)state;
    kafkasvc *mock = start_mock(1); /* stands in for a real cluster */
    hx_err e = {0};
    kafkasvc_opts o = {.bootstrap = kafkasvc_bootstrap(mock), .timeout_ms = 2000};
    kafkasvc *real = NULL;
    int rc = kafkasvc_start(&o, &real, &e);
    if (rc) fail_msg("real mode: %s", e.msg);
    assert_false(kafkasvc_is_mock(real));
    assert_string_equal(kafkasvc_bootstrap(real), kafkasvc_bootstrap(mock));
    assert_int_equal(kafkasvc_brokers(real), 1);
    /* librdkafka 2.0's mock names no controller, so it cannot serve AdminAPI CreateTopics: the
     * real path must fail as an infrastructure error that names the address, not hang. */
    rc = kafkasvc_create_topic(real, "via-admin", 3, &e);
    assert_int_equal(rc, HX_EINFRA);
    assert_non_null(strstr(e.msg, kafkasvc_bootstrap(real)));
    assert_non_null(strstr(e.msg, "'via-admin'"));
    /* the cluster's own operator creates it; the real-mode service sees it in metadata */
    assert_int_equal(kafkasvc_create_topic(mock, "via-admin", 3, &e), 0);
    assert_int_equal(kafkasvc_topic_partitions(real, "via-admin", &e), 3);
    assert_int_equal(kafkasvc_create_topic(real, "via-admin", 5, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "already exists with 3 partitions"));
    deliveries d = {0};
    rd_kafka_t *p = producer(kafkasvc_bootstrap(real), &d, NULL);
    produce(p, "via-admin", 0, 100, -2, 3, 0);
    assert_int_equal(rd_kafka_flush(p, 20000), 0);
    rd_kafka_destroy(p);
    assert_int_equal(d.ok, 100);
    assert_int_equal(consume(kafkasvc_bootstrap(real), "via-admin", 3, 100, NULL), 100);

    /* faults are refused on a real cluster, with the reason */
    assert_int_equal(kafkasvc_broker_down(real, 1, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "mock"));
    assert_int_equal(kafkasvc_set_rtt(real, 1, 10, &e), HX_EUSAGE);
    assert_int_equal(kafkasvc_request_errors(real, 0, 1, (int[]){6}, &e), HX_EUSAGE);
    kafkasvc_stop(real);
    kafkasvc_stop(mock);
}

static void test_kafkasvc__closed_port_is_infra_error(void **state)
{
    (void)state;
    /* A port that was just free: bind, read it back, close. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    close(fd);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ntohs(sin.sin_port));
    kafkasvc_opts o = {.bootstrap = addr, .timeout_ms = 1500};
    kafkasvc *svc = (kafkasvc *)1;
    hx_err e = {0};
    assert_int_equal(kafkasvc_start(&o, &svc, &e), HX_EINFRA);
    assert_null(svc);
    assert_int_equal(e.code, HX_EINFRA);
    printf("# %s\n", e.msg);
    assert_non_null(strstr(e.msg, addr));
    assert_non_null(strstr(e.msg, "--kafka"));
}

static void test_kafkasvc__partition_sizing(void **state)
{
    (void)state;
    assert_int_equal(kafkasvc_partitions_for(0, 100), 1);
    assert_int_equal(kafkasvc_partitions_for(1000, 100), 1);
    assert_int_equal(kafkasvc_partitions_for(1000000, 190), 65);
    assert_true(kafkasvc_volume_fits(1000000, 190, 65));
    assert_false(kafkasvc_volume_fits(1000000, 190, 6));
    assert_false(kafkasvc_volume_fits(10, 10, 0));
    assert_int_equal(kafkasvc_partitions_for(UINT64_MAX, 1000), KAFKASVC_MAX_PARTITIONS);
    assert_false(kafkasvc_volume_fits(UINT64_MAX, SIZE_MAX, KAFKASVC_MAX_PARTITIONS));

    /* The limit is real, and the sizing beats it: 40000 records of ~210 bytes are ~9 MB. One
     * partition loses the oldest batches (low watermark > 0); the sized topic keeps all. */
    kafkasvc *svc = start_mock(1);
    hx_err e = {0};
    const int n = 40000;
    const size_t vsize = 200;
    int32_t parts = kafkasvc_partitions_for((uint64_t)n, vsize + 10);
    assert_true(parts >= 2);
    assert_int_equal(kafkasvc_create_topic(svc, "one", 1, &e), 0);
    assert_int_equal(kafkasvc_create_topic(svc, "sized", parts, &e), 0);
    deliveries d = {0};
    const char *kv[] = {"linger.ms", "5", "queue.buffering.max.messages", "100000", NULL};
    rd_kafka_t *p = producer(kafkasvc_bootstrap(svc), &d, kv);
    produce(p, "one", 0, n, 0, 1, vsize);
    produce(p, "sized", 0, n, -2, parts, vsize);
    assert_int_equal(rd_kafka_flush(p, 60000), 0);
    rd_kafka_destroy(p);
    assert_int_equal(d.ok, 2 * n);
    int64_t lo, hi;
    assert_int_equal(kafkasvc_watermarks(svc, "one", 0, &lo, &hi, &e), 0);
    assert_int_equal(hi, n);
    assert_true(lo > 0);
    printf("# one partition kept offsets %lld..%lld of %d\n", (long long)lo, (long long)hi, n);
    int64_t total = 0;
    for (int32_t i = 0; i < parts; i++) {
        assert_int_equal(kafkasvc_watermarks(svc, "sized", i, &lo, &hi, &e), 0);
        assert_int_equal(lo, 0);
        total += hi;
    }
    assert_int_equal(total, n);
    kafkasvc_stop(svc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kafkasvc__start_stop_mock),
        cmocka_unit_test(test_kafkasvc__produce_consume_across_clients),
        cmocka_unit_test(test_kafkasvc__create_topic),
        cmocka_unit_test(test_kafkasvc__broker_down_then_up),
        cmocka_unit_test(test_kafkasvc__request_errors_and_rtt),
        cmocka_unit_test(test_kafkasvc__real_cluster_mode),
        cmocka_unit_test(test_kafkasvc__closed_port_is_infra_error),
        cmocka_unit_test(test_kafkasvc__partition_sizing),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rd_kafka_wait_destroyed(5000);
    return rc;
}
