/* kafka_stream.c - the streaming core of tests/solutions/kafka_stream: follows topic argv[1] from
 * the beginning and produces every message, same key, value and harness headers, to topic
 * argv[2] as it comes (kcat -P batches its stdin, so a kcat pipeline does not forward a message
 * until the next ones arrive). Prints "consuming" once it has its partitions. Environment:
 * KAFKA_BOOTSTRAP_SERVERS, KAFKA_FETCH_WAIT_MAX_MS (librdkafka's default 500 when unset); HOLD_MS
 * forwards each message that long after its input's timestamp (a fixed delay, a delay line);
 * STALL_AT and STALL_MS stall once, that long, before forwarding message number STALL_AT (from 0);
 * DELAY_MS
 * sleeps that long per message (a slow service); DROP_HEADERS forwards no headers (the harness then
 * matches latency by key); DROP_KEY produces without a key (with DROP_HEADERS too, no output can be
 * matched to its input); START_MS says it is ready and starts reading that much later (a service
 * that falls behind from the start); LINGER_MS is its producer's linger.ms (default 0;
 * bench/kafka_volume.sh batches); FILTER forwards only the messages whose value contains that text
 * (a filter answers few of its inputs); GUESS_MS answers each message twice: a wrong value
 * ({"guess":1}, same key and headers) at once, then the message itself that long after its
 * input's timestamp (a service that guesses first to look fast). Its consumer group is
 * KAFKA_GROUP_ID (else kafka_stream), whose offsets it commits as it reads, every COMMIT_MS
 * (librdkafka's auto commit, default its 5000; NO_COMMIT: never). A full producer queue waits for
 * deliveries. Ends on SIGTERM after flushing what it produced. */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

/* Sleep until t_ms, milliseconds since the epoch (a past time returns at once). */
static void sleep_until_ms(int64_t t_ms)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t d = t_ms * 1000000 - ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
    if (d <= 0) return;
    struct timespec ts = {d / 1000000000, d % 1000000000};
    nanosleep(&ts, NULL);
}

/* Milliseconds since the epoch. */
static int64_t now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* GUESS_MS: the messages whose real answer is still to come, oldest first. */
#define HELD 8192
static rd_kafka_message_t *held[HELD];
static size_t held_head, held_tail;

/* Produce value (n bytes) to topic out with m's key and headers (unless dropped), at ts (0: now);
 * a full queue waits for deliveries. */
static void produce(rd_kafka_t *p, const char *out, const rd_kafka_message_t *m, const void *value,
                    size_t n, bool drop_headers, bool drop_key, int64_t ts)
{
    rd_kafka_headers_t *h = NULL, *copy = NULL;
    if (!drop_headers && rd_kafka_message_headers(m, &h) == 0 && h) copy = rd_kafka_headers_copy(h);
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_producev(
                p, RD_KAFKA_V_TOPIC(out), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_KEY(drop_key ? NULL : m->key, drop_key ? 0 : m->key_len),
                RD_KAFKA_V_VALUE((void *)value, n), RD_KAFKA_V_HEADERS(copy),
                RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(p, 10);
    if (err) {
        fprintf(stderr, "kafka_stream: produce: %s\n", rd_kafka_err2str(err));
        if (copy) rd_kafka_headers_destroy(copy);
    }
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *bootstrap, const char *const *kv)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err)) goto fail;
    for (size_t i = 0; kv[i]; i += 2)
        if (rd_kafka_conf_set(conf, kv[i], kv[i + 1], err, sizeof err)) goto fail;
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (rk) return rk;
fail:
    fprintf(stderr, "kafka_stream: %s\n", err);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *bootstrap = getenv("KAFKA_BOOTSTRAP_SERVERS");
    if (argc != 3 || !bootstrap) {
        fprintf(stderr, "usage: KAFKA_BOOTSTRAP_SERVERS=... kafka_stream IN OUT\n");
        return 2;
    }
    long delay_ms = getenv("DELAY_MS") ? atol(getenv("DELAY_MS")) : 0;
    long hold_ms = getenv("HOLD_MS") ? atol(getenv("HOLD_MS")) : 0;
    long stall_at = getenv("STALL_AT") ? atol(getenv("STALL_AT")) : -1;
    long stall_ms = getenv("STALL_MS") ? atol(getenv("STALL_MS")) : 0;
    bool drop_headers = getenv("DROP_HEADERS") != NULL;
    bool drop_key = getenv("DROP_KEY") != NULL;
    long backdate_ms = getenv("BACKDATE_MS") ? atol(getenv("BACKDATE_MS")) : 0;
    long guess_ms = getenv("GUESS_MS") ? atol(getenv("GUESS_MS")) : 0;
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    /* fetch.wait.max.ms as the harness says (docs/solutions.md): the mock cluster answers a
     * Fetch that found nothing only when that wait runs out. */
    const char *wait = getenv("KAFKA_FETCH_WAIT_MAX_MS");
    const char *group = getenv("KAFKA_GROUP_ID");
    const char *commit_ms = getenv("COMMIT_MS");
    const char *filter = getenv("FILTER");
    rd_kafka_t *c =
        client(RD_KAFKA_CONSUMER, bootstrap,
               (const char *const[]){
                   "group.id", group && *group ? group : "kafka_stream", "auto.offset.reset",
                   "earliest", "fetch.wait.max.ms", wait && *wait ? wait : "500",
                   "enable.auto.commit", getenv("NO_COMMIT") ? "false" : "true",
                   "auto.commit.interval.ms", commit_ms && *commit_ms ? commit_ms : "5000", NULL});
    const char *linger = getenv("LINGER_MS");
    rd_kafka_t *p = client(
        RD_KAFKA_PRODUCER, bootstrap,
        (const char *const[]){"linger.ms", linger && *linger ? linger : "0", "acks", "all", NULL});
    /* Assign every partition from the beginning (no group join to wait for): once this prints
     * "consuming", it reads whatever the replay sends. */
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(c, argv[1], NULL);
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(c, 0, rkt, &md, 10000);
    if (err || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "kafka_stream: metadata of %s: %s\n", argv[1],
                rd_kafka_err2str(err ? err : md->topics[0].err));
        return 1;
    }
    /* At each partition's low watermark rather than OFFSET_BEGINNING: a logical offset is looked
     * up once the partition's leader is known, and when it is not yet, librdkafka retries after
     * 500 ms, a stall the first records of the replay would wait out. */
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    for (int i = 0; i < md->topics[0].partition_cnt; i++) {
        int64_t lo = RD_KAFKA_OFFSET_BEGINNING, hi;
        if (rd_kafka_query_watermark_offsets(c, argv[1], i, &lo, &hi, 10000))
            lo = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_topic_partition_list_add(t, argv[1], i)->offset = lo;
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    /* START_MS: says it is ready, then reads nothing for that long (librdkafka fetches ahead
     * once assigned, so a stall after the assignment would still read the topic). */
    long start_ms = getenv("START_MS") ? atol(getenv("START_MS")) : 0;
    if (start_ms > 0) {
        printf("consuming %s in %ld ms\n", argv[1], start_ms);
        fflush(stdout);
        struct timespec ts = {start_ms / 1000, (start_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    rd_kafka_poll_set_consumer(c);
    err = rd_kafka_assign(c, t);
    rd_kafka_topic_partition_list_destroy(t);
    if (err) {
        fprintf(stderr, "kafka_stream: assign %s: %s\n", argv[1], rd_kafka_err2str(err));
        return 1;
    }
    /* The producer learns the output topic's leader before the first message: else that
     * message waits for the metadata lookup (about a second on the mock), which the harness
     * measures, since it times an output by when it received it. */
    rd_kafka_topic_t *out = rd_kafka_topic_new(p, argv[2], NULL);
    md = NULL;
    if (rd_kafka_metadata(p, 0, out, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(out);
    if (start_ms <= 0) {
        printf("consuming %s (fetch.wait.max.ms=%s)\n", argv[1], wait && *wait ? wait : "500");
        fflush(stdout);
    }
    unsigned long n = 0;
    while (!stop) {
        int wait_ms = 100;
        while (held_head != held_tail) { /* GUESS_MS: the real answers whose time has come */
            rd_kafka_message_t *q = held[held_head % HELD];
            int64_t due = rd_kafka_message_timestamp(q, NULL) + 1 + guess_ms, now = now_ms();
            if (due > now) {
                wait_ms = due - now < wait_ms ? (int)(due - now) : wait_ms;
                break;
            }
            produce(p, argv[2], q, q->payload, q->len, drop_headers, drop_key, 0);
            rd_kafka_message_destroy(q);
            held_head++;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, wait_ms);
        rd_kafka_poll(p, 0);
        if (!m) continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "kafka_stream: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (filter && *filter &&
            (!m->payload || !memmem(m->payload, m->len, filter, strlen(filter)))) {
            n++;
            rd_kafka_message_destroy(m);
            continue;
        }
        if (guess_ms > 0 && held_tail - held_head < HELD) {
            static const char wrong[] = "{\"guess\":1}";
            produce(p, argv[2], m, wrong, sizeof wrong - 1, drop_headers, drop_key, 0);
            held[held_tail++ % HELD] = m;
            n++;
            continue;
        }
        if (delay_ms > 0) {
            struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (hold_ms > 0) /* a delay line: out at the input's timestamp + HOLD_MS */
            sleep_until_ms(rd_kafka_message_timestamp(m, NULL) + 1 + hold_ms); /* ms truncated */
        if ((long)n == stall_at) {
            struct timespec ts = {stall_ms / 1000, (stall_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t ts = backdate_ms > 0
                         ? (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 - backdate_ms
                         : 0; /* 0: librdkafka sets the time of the call */
        rd_kafka_headers_t *h = NULL, *copy = NULL;
        if (!drop_headers && rd_kafka_message_headers(m, &h) == 0 && h)
            copy = rd_kafka_headers_copy(h);
        /* A full queue waits for deliveries: a pass-through drops nothing. */
        while ((err = rd_kafka_producev(
                    p, RD_KAFKA_V_TOPIC(argv[2]), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_KEY(drop_key ? NULL : m->key, drop_key ? 0 : m->key_len),
                    RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_HEADERS(copy),
                    RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(p, 10);
        if (err) {
            fprintf(stderr, "kafka_stream: produce: %s\n", rd_kafka_err2str(err));
            if (copy) rd_kafka_headers_destroy(copy);
        }
        n++;
        rd_kafka_message_destroy(m);
    }
    rd_kafka_flush(p, 5000);
    fprintf(stderr, "kafka_stream: forwarded %lu messages\n", n);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    rd_kafka_destroy(p);
    return 0;
}
