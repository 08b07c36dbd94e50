/* naive.c - the streaming-fraud-firewall baseline: a per-message rule, the first thing one
 * writes. Follows ${KAFKA_TOPIC_PREFIX}payments and alerts on ${KAFKA_TOPIC_PREFIX}alerts for every
 * message whose amount is at least 300.00, whatever its type: no state per card, so it misses
 * velocity bursts and a second country, and it alerts on every large refund of a batch.
 * Fields are found by searching the text (`"amount":`), so a broken message is not noticed and
 * nothing goes to a dead-letter topic.
 *
 * Delivery, the naive way: offsets are committed every 5 s, and on a broker error the
 * consumer goes back to the last committed offset and reads on from there ("at least once"), with
 * a producer that is not idempotent and no memory of what it alerted: after an outage the alerts
 * of the re-read messages come out twice. Prints "scoring" once it has its partitions. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#define THRESHOLD 300.0
#define COMMIT_EVERY_MS 5000 /* librdkafka's auto-commit interval, what one starts with */

static volatile sig_atomic_t stop, broker_error;
static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk, (void)opaque;
    fprintf(stderr, "naive: %s: %s\n", rd_kafka_err2str((rd_kafka_resp_err_t)err), reason);
    if (err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        broker_error = 1;
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *bootstrap, const char *const *kv)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err)) goto fail;
    for (size_t i = 0; kv[i]; i += 2)
        if (rd_kafka_conf_set(conf, kv[i], kv[i + 1], err, sizeof err)) goto fail;
    if (type == RD_KAFKA_CONSUMER) rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (rk) return rk;
fail:
    fprintf(stderr, "naive: %s\n", err);
    exit(2);
}

/* The number after "name": in the text, or NAN-free 0 with *ok false. */
static double field(const char *v, size_t len, const char *name, bool *ok)
{
    char pat[40], buf[2048];
    size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    snprintf(pat, sizeof pat, "\"%s\":", name);
    const char *p = strstr(buf, pat);
    *ok = p != NULL;
    return p ? strtod(p + strlen(pat), NULL) : 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static rd_kafka_topic_partition_list_t *partitions(rd_kafka_t *c, const char *topic)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(c, topic, NULL);
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(c, 0, rkt, &md, 10000);
    if (err || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "naive: metadata of %s: %s\n", topic,
                rd_kafka_err2str(err ? err : md->topics[0].err));
        exit(1);
    }
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    for (int i = 0; i < md->topics[0].partition_cnt; i++) {
        int64_t lo = RD_KAFKA_OFFSET_BEGINNING, hi;
        if (rd_kafka_query_watermark_offsets(c, topic, i, &lo, &hi, 10000))
            lo = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_topic_partition_list_add(t, topic, i)->offset = lo;
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return t;
}

int main(void)
{
    const char *bootstrap = getenv("KAFKA_BOOTSTRAP_SERVERS");
    const char *prefix = getenv("KAFKA_TOPIC_PREFIX");
    const char *wait = getenv("KAFKA_FETCH_WAIT_MAX_MS");
    /* The harness's group: at volume it paces the replay to the offsets committed there. */
    const char *group = getenv("KAFKA_GROUP_ID");
    if (!group || !*group) group = "fraud-naive";
    if (!bootstrap || !*bootstrap || !prefix) {
        fprintf(stderr, "naive: KAFKA_BOOTSTRAP_SERVERS and KAFKA_TOPIC_PREFIX must be set\n");
        return 2;
    }
    char in[256], alerts[256];
    snprintf(in, sizeof in, "%spayments", prefix);
    snprintf(alerts, sizeof alerts, "%salerts", prefix);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    rd_kafka_t *c = client(
        RD_KAFKA_CONSUMER, bootstrap,
        (const char *const[]){"group.id", group, "enable.auto.commit", "false", "auto.offset.reset",
                              "earliest", "fetch.wait.max.ms", wait && *wait ? wait : "10", NULL});
    rd_kafka_t *p = client(RD_KAFKA_PRODUCER, bootstrap,
                           (const char *const[]){"linger.ms", "1", "acks", "all", NULL});
    /* Where it started: what "the last committed offset" is before the first commit. */
    rd_kafka_topic_partition_list_t *committed = partitions(c, in);
    rd_kafka_poll_set_consumer(c);
    rd_kafka_resp_err_t err = rd_kafka_assign(c, committed);
    if (err) {
        fprintf(stderr, "naive: assign %s: %s\n", in, rd_kafka_err2str(err));
        return 1;
    }
    printf("scoring %s\n", in);
    fflush(stdout);
    unsigned long n = 0, nalerts = 0, rewinds = 0;
    int64_t last_commit = now_ms();
    while (!stop) {
        if (broker_error) { /* "recover": read again from the last commit */
            broker_error = 0;
            rewinds++;
            rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_copy(committed);
            rd_kafka_error_t *e = rd_kafka_seek_partitions(c, t, 10000);
            if (e) {
                fprintf(stderr, "naive: seek: %s\n", rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
            }
            rd_kafka_topic_partition_list_destroy(t);
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        rd_kafka_poll(p, 0);
        /* On a timer, as librdkafka's auto commit: also while no message comes */
        if (now_ms() - last_commit >= COMMIT_EVERY_MS) {
            rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_copy(committed);
            rd_kafka_position(c, pos);
            for (int k = 0; k < pos->cnt; k++) /* a partition not read yet stays put */
                if (pos->elems[k].offset < 0) pos->elems[k].offset = committed->elems[k].offset;
            if (rd_kafka_commit(c, pos, 1) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                rd_kafka_topic_partition_list_destroy(committed);
                committed = pos;
            } else {
                rd_kafka_topic_partition_list_destroy(pos);
            }
            last_commit = now_ms();
        }
        if (!m) continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "naive: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        bool ok_amount, ok_card;
        double amount = field(m->payload, m->len, "amount", &ok_amount);
        double card = field(m->payload, m->len, "card_id", &ok_card);
        if (ok_amount && ok_card && amount >= THRESHOLD) {
            char key[32], out[256];
            snprintf(key, sizeof key, "%.0f", card);
            snprintf(out, sizeof out, "{\"card_id\":%.0f,\"rule\":\"amount\",\"amount\":%.2f}",
                     card, amount);
            rd_kafka_headers_t *h = NULL, *copy = NULL;
            if (rd_kafka_message_headers(m, &h) == 0 && h) copy = rd_kafka_headers_copy(h);
            err = rd_kafka_producev(
                p, RD_KAFKA_V_TOPIC(alerts), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(out, strlen(out)),
                RD_KAFKA_V_HEADERS(copy), RD_KAFKA_V_TIMESTAMP(wall_ms()), RD_KAFKA_V_END);
            if (err) {
                fprintf(stderr, "naive: produce: %s\n", rd_kafka_err2str(err));
                if (copy) rd_kafka_headers_destroy(copy);
            } else {
                nalerts++;
            }
        }
        n++;
        rd_kafka_message_destroy(m);
    }
    rd_kafka_flush(p, 5000);
    fprintf(stderr, "naive: %lu payments, %lu alerts, %lu rewinds\n", n, nalerts, rewinds);
    rd_kafka_topic_partition_list_destroy(committed);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    rd_kafka_destroy(p);
    return 0;
}
