/* live_bench.c - consume-and-match rate of the live latency consumer (run/live.c) against kcat
 * consuming the same topic on the same mock cluster in the same run. Produces N messages (key,
 * ~100-byte JSON value, harness-id and harness-ts headers, as the replay sends them) into one
 * topic, tells the live table every record's send times, then times live_start .. every message
 * read and matched, then `kcat -C -e` reading the whole topic to /dev/null.
 * usage: live_bench [MESSAGES=2000000] [PARTITIONS=4, raised so the mock trims nothing] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "kafkasvc.h"
#include "live.h"

static double now_s(void)
{
    return (double)hx_now_ns() / 1e9;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
    int parts = argc > 2 ? atoi(argv[2]) : 4;
    /* Enough partitions that the mock keeps every message (its newest 5 MiB a partition). */
    if (parts < kafkasvc_partitions_for(n, 180)) parts = kafkasvc_partitions_for(n, 180);
    hx_err e = {0};
    kafkasvc *k = NULL;
    if (kafkasvc_start(NULL, &k, &e) || kafkasvc_create_topic(k, "bench", parts, &e)) {
        fprintf(stderr, "live_bench: %s\n", e.msg);
        return 1;
    }
    const char *bs = kafkasvc_bootstrap(k);
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[][2] = {{"bootstrap.servers", bs},
                           {"linger.ms", "50"},
                           {"batch.num.messages", "10000"},
                           {"queue.buffering.max.messages", "1000000"},
                           {"acks", "1"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        rd_kafka_conf_set(conf, kv[i][0], kv[i][1], err, sizeof err);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!p) {
        fprintf(stderr, "live_bench: %s\n", err);
        return 1;
    }
    /* The live consumer, paused: the table is filled as the replay fills it, as it sends. */
    const char *topics[] = {"bench"};
    live_opts o = {.bootstrap = bs,
                   .fetch_wait_ms = kafkasvc_fetch_wait_ms(k),
                   .topics = topics,
                   .ntopics = 1,
                   .expect = n,
                   .t0_ns = hx_wall_ns(),
                   .paused = true};
    live *l = NULL;
    if (live_start(&o, &l, &e)) {
        fprintf(stderr, "live_bench: %s\n", e.msg);
        return 1;
    }
    double t = now_s();
    char val[160], key[24], id[24], ts[24];
    for (uint64_t i = 0; i < n; i++) {
        int64_t w = hx_wall_ns();
        int kl = snprintf(key, sizeof key, "%llu", (unsigned long long)i + 1);
        int il = snprintf(id, sizeof id, "%llu", (unsigned long long)i);
        int tl = snprintf(ts, sizeof ts, "%lld", (long long)w);
        live_sent(l, "bench", i, key, (size_t)kl, w, w);
        int vl = snprintf(val, sizeof val,
                          "{\"id\":%llu,\"card\":\"c%05llu\",\"amount\":%llu.%02llu,"
                          "\"merchant\":\"m%04llu\",\"country\":\"DE\"}",
                          (unsigned long long)i + 1, (unsigned long long)(i * 7919 % 100000),
                          (unsigned long long)(i % 500), (unsigned long long)(i % 100),
                          (unsigned long long)(i % 1000));
        while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC("bench"),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_KEY(key, (size_t)kl), RD_KAFKA_V_VALUE(val, (size_t)vl),
                                 RD_KAFKA_V_HEADER("harness-id", id, il),
                                 RD_KAFKA_V_HEADER("harness-topic", "bench", 5),
                                 RD_KAFKA_V_HEADER("harness-ts", ts, tl),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(p, 10);
        rd_kafka_poll(p, 0);
    }
    rd_kafka_flush(p, 120000);
    rd_kafka_destroy(p);
    printf("produced %llu messages in %.2f s\n", (unsigned long long)n, now_s() - t);
    t = now_s();
    live_resume(l);
    while (live_matched(l) < n && now_s() - t < 120) {
        struct timespec ts2 = {0, 1000000};
        nanosleep(&ts2, NULL);
    }
    double dt = now_s() - t;
    uint64_t matched = live_matched(l);
    live_finish(l, 10000, &e);
    printf("live consume-and-match: %llu of %llu matched in %.3f s: %.0f msg/s\n",
           (unsigned long long)matched, (unsigned long long)n, dt, (double)matched / dt);
    live_free(l);
    /* kcat on the same topic: read to the end, exit, output to /dev/null. */
    char cmd[600];
    snprintf(cmd, sizeof cmd,
             "kcat -C -b '%s' -t bench -o beginning -e -q -X fetch.wait.max.ms=%d >/dev/null", bs,
             kafkasvc_fetch_wait_ms(k));
    t = now_s();
    int rc = system(cmd);
    double kt = now_s() - t;
    if (rc != 0) {
        fprintf(stderr, "live_bench: kcat failed (%d)\n", rc);
        kafkasvc_stop(k);
        return 1;
    }
    printf("kcat -C -e: %llu messages in %.3f s: %.0f msg/s\n", (unsigned long long)n, kt,
           (double)n / kt);
    printf("ratio live / kcat: %.2fx\n", ((double)matched / dt) / ((double)n / kt));
    kafkasvc_stop(k);
    return 0;
}
