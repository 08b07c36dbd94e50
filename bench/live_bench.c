/* live_bench.c - consume-and-match rate of the live latency consumer (run/live.c), in one run:
 *   (a) live    the live consumer reading the topic and matching every message (end to end: the
 *               mock cluster's Fetch answers, librdkafka's parsing, the match), with the spool
 *               on as runs keep it;
 *   (b) match   the match stage alone: the same messages, already read into memory by a plain
 *               consumer, handed to a live without a consumer (live_match) in batches of 1024;
 *   (read)      that plain consumer's read alone, in this process, no matching (what (a) would
 *               be with a match stage that cost nothing);
 *   (c) kcat    `kcat -C -e` reading the same topic to /dev/null (its start-up included).
 * The topic is written by the replay itself (replay/replay_kafka.c: its producer settings,
 * partitioner, key and three headers) from an orders dataset keyed by id, and the send times the
 * replay tells (its watch) fill each live's table, as in a run. Every message must match: the
 * bench fails otherwise. Not a test; see bench/README.md "live_bench".
 *
 * Each line gives the wall-clock rate and the CPU time a message: on a loaded machine the wall
 * clock follows the cores the threads got, the CPU time what the work costs.
 *
 * usage: live_bench [MESSAGES=1000000] [PARTITIONS, raised so the mock trims nothing]
 *                   [STAGES=arbc: which of (a), read, (b), (c) to run; d: where (b)'s CPU goes] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "gen_fixture.h"
#include "kafkasvc.h"
#include "live.h"
#include "replay.h"

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "live_bench: %s: %s\n", what, msg);
    exit(1);
}

static double now_s(void)
{
    return (double)hx_now_ns() / 1e9;
}

/* CPU seconds of this process (every thread: the consumers', the mock brokers') and of its
 * waited-for children (kcat), and of the calling thread alone. */
static double cpu_s(void)
{
    struct rusage a, b;
    getrusage(RUSAGE_SELF, &a);
    getrusage(RUSAGE_CHILDREN, &b);
    return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec + b.ru_stime.tv_sec) +
           (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec +
                    b.ru_stime.tv_usec) /
               1e6;
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What the replay told its watch, record by record. */
typedef struct sends {
    uint64_t n, cap;
    uint64_t *id;
    int64_t *intended, *actual;
    size_t *koff; /* key i is keys[koff[i] .. koff[i + 1]) */
    hx_buf keys;
} sends;

static void on_sent(void *ud, const char *topic, uint64_t id, const void *key, size_t key_len,
                    int64_t intended_ns, int64_t actual_ns)
{
    (void)topic;
    sends *s = ud;
    if (s->n + 1 >= s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->id = hx_realloc(s->id, s->cap * sizeof *s->id);
        s->intended = hx_realloc(s->intended, s->cap * sizeof *s->intended);
        s->actual = hx_realloc(s->actual, s->cap * sizeof *s->actual);
        s->koff = hx_realloc(s->koff, (s->cap + 1) * sizeof *s->koff);
        if (!s->id || !s->intended || !s->actual || !s->koff) die("sends", "out of memory");
    }
    s->id[s->n] = id;
    s->intended[s->n] = intended_ns;
    s->actual[s->n] = actual_ns;
    s->koff[s->n] = s->keys.len;
    if (key && !hx_buf_append(&s->keys, key, key_len)) die("sends", "out of memory");
    s->n++;
    s->koff[s->n] = s->keys.len;
}

/* A live for topic "bench", its table filled as the replay filled it. */
static live *new_live(const char *bs, int fetch_wait_ms, int32_t parts, const sends *s, bool spool)
{
    static const char *topics[] = {"bench"};
    live_opts o = {.bootstrap = bs,
                   .fetch_wait_ms = fetch_wait_ms,
                   .topics = topics,
                   .ntopics = 1,
                   .expect = s->n,
                   .t0_ns = hx_wall_ns(),
                   .paused = true,
                   .spool = spool,
                   .partitions = &parts};
    live *l = NULL;
    hx_err e = {0};
    if (live_start(&o, &l, &e)) die("live_start", e.msg);
    for (uint64_t i = 0; i < s->n; i++)
        if (!live_sent(l, "bench", s->id[i], s->keys.data + s->koff[i], s->koff[i + 1] - s->koff[i],
                       s->intended[i], s->actual[i]))
            die("live_sent", "out of memory");
    return l;
}

/* After live_finish: it read n messages and matched every one. */
static void check_all(live *l, uint64_t n, const char *who)
{
    hx_err e = {0};
    if (live_finish(l, 10000, &e)) die(who, e.msg);
    if (live_read(l) != n || live_unmatched(l) != 0 || live_matched(l) != n ||
        (uint64_t)hist_count(live_corrected(l)) != n) {
        char m[200];
        snprintf(m, sizeof m, "read %llu, matched %llu, unmatched %llu of %llu",
                 (unsigned long long)live_read(l), (unsigned long long)live_matched(l),
                 (unsigned long long)live_unmatched(l), (unsigned long long)n);
        die(who, m);
    }
}

/* A plain consumer of the topic with the live consumer's settings and its poll loop (wait for one
 * message, then take what else is queued). With keep, every message is kept in *kept (they point
 * into the consumer's fetch buffers: destroy them before the consumer); else each is destroyed as
 * read. Returns the consumer and the seconds the read took. */
static rd_kafka_t *read_all(const char *bs, int fetch_wait_ms, int32_t parts, uint64_t n,
                            rd_kafka_message_t ***kept, double *secs)
{
    char err[512], wait[16];
    snprintf(wait, sizeof wait, "%d", fetch_wait_ms);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[][2] = {{"bootstrap.servers", bs},
                           {"group.id", "live-bench-read"},
                           {"enable.auto.commit", "false"},
                           {"enable.partition.eof", "false"},
                           {"fetch.wait.max.ms", wait}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], err, sizeof err) != RD_KAFKA_CONF_OK)
            die(kv[i][0], err);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!c) die("consumer", err);
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(parts);
    for (int32_t p = 0; p < parts; p++)
        rd_kafka_topic_partition_list_add(tp, "bench", p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_poll_set_consumer(c);
    double t = now_s();
    if (rd_kafka_assign(c, tp)) die("assign", "failed");
    rd_kafka_topic_partition_list_destroy(tp);
    rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(c);
    rd_kafka_message_t *batch[1024], **ms = kept ? hx_calloc(n, sizeof *ms) : NULL;
    if (kept && !ms) die("read", "out of memory");
    uint64_t got = 0;
    while (got < n && now_s() - t < 120) {
        batch[0] = rd_kafka_consumer_poll(c, 50);
        if (!batch[0]) continue;
        ssize_t k = rd_kafka_consume_batch_queue(q, 0, batch + 1, 1023);
        k = k < 0 ? 1 : k + 1;
        for (ssize_t i = 0; i < k; i++) {
            if (batch[i]->err) die("read", rd_kafka_message_errstr(batch[i]));
            if (ms && got < n)
                ms[got] = batch[i];
            else
                rd_kafka_message_destroy(batch[i]);
            got++;
        }
    }
    *secs = now_s() - t;
    if (got != n) die("read", "not every message in 120 s");
    rd_kafka_queue_destroy(q);
    if (kept) *kept = ms;
    return c;
}

/* One line of the table: rate by the wall clock and CPU a message (whose CPU: who). */
static void report(const char *what, uint64_t n, double wall, double cpu, const char *who)
{
    printf("%-32s %8.3f s  %9.0f msg/s   CPU (%s) %.3f s: %.2f us a message\n", what, wall,
           (double)n / wall, who, cpu, cpu * 1e6 / (double)n);
    fflush(stdout);
}

static void close_consumer(rd_kafka_t *c)
{
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    int32_t parts = argc > 2 ? atoi(argv[2]) : 1;
    const char *stages = argc > 3 ? argv[3] : "arbc";
    if (n == 0) die("usage", "live_bench [MESSAGES >= 1] [PARTITIONS]");
    /* Enough partitions that the mock keeps every message (its newest 5 MiB a partition), as the
     * replay's own sizing assumes 256 bytes a record. */
    if (parts < kafkasvc_partitions_for(n, 256)) parts = kafkasvc_partitions_for(n, 256);
    double load[3] = {0};
    FILE *la = fopen("/proc/loadavg", "r");
    if (la) {
        if (fscanf(la, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
        fclose(la);
    }
    printf("load average %.2f %.2f %.2f; %llu orders on %d partitions of the embedded mock\n",
           load[0], load[1], load[2], (unsigned long long)n, (int)parts);

    hx_err e = {0};
    plan_scenario *s = fx_scenario();
    fx_orders(s, n, 42);
    gen *g = NULL;
    if (gen_new(s, &g, &e)) die("gen_new", e.msg);
    kafkasvc *k = NULL;
    if (kafkasvc_start(NULL, &k, &e) || kafkasvc_create_topic(k, "bench", parts, &e))
        die("kafka", e.msg);
    const char *bs = kafkasvc_bootstrap(k);
    int wait = kafkasvc_fetch_wait_ms(k);

    sends sd = {0};
    replay_kafka_watch w = {.ud = &sd, .sent = on_sent};
    plan_step st = {.kind = PLAN_STEP_INTO, .target = PLAN_TGT_KAFKA, .key_col = 0};
    replay_stats rs = {0};
    double t = now_s(), c0 = cpu_s();
    if (replay_kafka(g, 0, &st, bs, "bench", -1, &w, &rs, &e)) die("replay_kafka", e.msg);
    printf("replayed %llu records (%.0f bytes a value) in %.2f s (CPU %.2f s)\n",
           (unsigned long long)rs.rows, (double)rs.bytes / (double)rs.rows, now_s() - t,
           cpu_s() - c0);
    if (sd.n != n || rs.rows != n) die("replay_kafka", "not every record sent");

    double ta = 0, tc = 0;
    if (strchr(stages, 'a')) { /* (a) end to end */
        live *l = new_live(bs, wait, parts, &sd, true);
        double t = now_s(), c0 = cpu_s();
        live_resume(l);
        while (live_matched(l) < n && now_s() - t < 120) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        ta = now_s() - t;
        report("(a) live consume-and-match", n, ta, cpu_s() - c0, "process");
        check_all(l, n, "live");
        live_free(l);
    }
    if (strchr(stages, 'r')) { /* the read alone: (a) with a match stage that cost nothing */
        double tr = 0, c0 = cpu_s();
        close_consumer(read_all(bs, wait, parts, n, NULL, &tr));
        report("    plain consumer, read alone", n, tr, cpu_s() - c0, "process");
    }
    if (strchr(stages, 'b')) { /* (b) the match stage alone, on messages already read */
        double tr = 0;
        rd_kafka_message_t **ms = NULL;
        rd_kafka_t *c = read_all(bs, wait, parts, n, &ms, &tr);
        live *l = new_live(NULL, wait, parts, &sd, true);
        printf("    %llu messages read, matching them\n", (unsigned long long)n);
        fflush(stdout);
        /* The thread's CPU time is also taken every 64 batches: the least a message took over
         * those spans is what the work costs when other load leaves the caches alone. */
        double t = now_s(), c0 = thread_cpu_s(), span0 = c0, best = 1e9;
        for (uint64_t i = 0; i < n; i += 1024) {
            live_match(l, (struct rd_kafka_message_s **)ms + i, n - i < 1024 ? n - i : 1024,
                       hx_wall_ns());
            if ((i / 1024) % 64 == 63) {
                double c = thread_cpu_s();
                if ((c - span0) / 65536 < best) best = (c - span0) / 65536;
                span0 = c;
            }
        }
        report("(b) match stage alone", n, now_s() - t, thread_cpu_s() - c0, "its thread");
        if (best < 1e9)
            printf("%-32s %.2f us a message: %.0f msg per CPU second\n",
                   "    (b) its fastest 65536", best * 1e6, 1 / best);
        check_all(l, n, "match");
        live_free(l);
        hx_free(ms);
        close_consumer(c);
    }
    if (strchr(stages, 'd')) {
        /* Where (b)'s time goes: the messages, read into memory, dealt out 1024 at a time in turn
         * to four sinks, so machine load falls on each alike: destroy only (librdkafka's part);
         * the headers parsed and looked up as the match does, then destroy; a live without its
         * spool; a live with it, as (b). */
        double tr = 0;
        rd_kafka_message_t **ms = NULL;
        rd_kafka_t *c = read_all(bs, wait, parts, n, &ms, &tr);
        live *nospool = new_live(NULL, wait, parts, &sd, false);
        live *spool = new_live(NULL, wait, parts, &sd, true);
        double cpu[4] = {0};
        uint64_t got[4] = {0};
        for (uint64_t i = 0, turn = 0; i < n; i += 1024, turn = (turn + 1) % 4) {
            size_t k = n - i < 1024 ? (size_t)(n - i) : 1024;
            rd_kafka_message_t **b = ms + i;
            double c0 = thread_cpu_s();
            if (turn == 0) {
                for (size_t j = 0; j < k; j++)
                    rd_kafka_message_destroy(b[j]);
            } else if (turn == 1) {
                for (size_t j = 0; j < k; j++) {
                    rd_kafka_headers_t *h = NULL;
                    const void *v = NULL;
                    size_t vl = 0;
                    if (rd_kafka_message_headers(b[j], &h) == 0) {
                        rd_kafka_header_get_last(h, "harness-id", &v, &vl);
                        rd_kafka_header_get_last(h, "harness-topic", &v, &vl);
                    }
                    rd_kafka_message_destroy(b[j]);
                }
            } else {
                live_match(turn == 2 ? nospool : spool, (struct rd_kafka_message_s **)b, k,
                           hx_wall_ns());
            }
            cpu[turn] += thread_cpu_s() - c0;
            got[turn] += k;
        }
        check_all(nospool, got[2], "match without the spool");
        check_all(spool, got[3], "match");
        live_free(nospool);
        live_free(spool);
        hx_free(ms);
        close_consumer(c);
        static const char *what[] = {"destroy only", "+ headers parsed", "live_match, no spool",
                                     "live_match (b)"};
        printf("    where (b)'s CPU goes, a quarter of the messages each, interleaved:\n");
        for (int i = 0; i < 4; i++)
            printf("      %-22s %.3f us a message\n", what[i], cpu[i] * 1e6 / (double)got[i]);
    }
    if (strchr(stages, 'c')) { /* (c) kcat: read to the end, exit, output to /dev/null */
        char cmd[600];
        snprintf(cmd, sizeof cmd,
                 "kcat -C -b '%s' -t bench -o beginning -e -q -X fetch.wait.max.ms=%d >/dev/null",
                 bs, wait);
        double t = now_s(), c0 = cpu_s();
        int rc = system(cmd);
        tc = now_s() - t;
        if (rc != 0) die("kcat", "failed (is it installed? apt-get install kcat)");
        report("(c) kcat -C -e", n, tc, cpu_s() - c0, "process and kcat");
    }
    if (ta > 0 && tc > 0) printf("ratio (a) live / (c) kcat: %.2fx\n", tc / ta);
    kafkasvc_stop(k);
    gen_free(g);
    fx_free(s);
    hx_free(sd.id);
    hx_free(sd.intended);
    hx_free(sd.actual);
    hx_free(sd.koff);
    hx_buf_release(&sd.keys);
    return 0;
}
