/* kafka_replay_bench.c - the Kafka replay (replay/replay_kafka.c) against a plain librdkafka
 * producer and `kcat -P` sending the same messages to the same cluster, in one run, as ratios.
 * Not a test; run bench/kafka_replay.sh.
 *
 * The messages are the lines `harness gen --format jsonl` writes for an orders dataset (written
 * once by replay_files, the same code path), keyed by the order id. Each round sends them five
 * times, into five fresh topics of the same partition count:
 *   replay  replay_kafka: generates every record from the seed, renders its JSONL line, produces
 *           it with its key and the three harness headers, waits for every acknowledgement;
 *   plain   a librdkafka producer with the replay's settings (acks=all, linger.ms=5, no
 *           idempotence) sending the lines already in memory, keyed, without headers, then
 *           rd_kafka_flush: the floor for one client thread;
 *   plain+hdr the same with the replay's three headers on each message: what the header contract
 *           costs, apart from what the replay adds (generation, rendering, hashing);
 *   plain+1hdr the same with one short header (`harness` = "1 <id> <ts>"): what a contract of one
 *           header would cost, so what any header costs against what three cost;
 *   kcat    `kcat -P -K '\t'` reading a "key<TAB>line" file with the same settings (its start-up
 *           included).
 * The order rotates every round (ABCDE, BCDEA, ...) so machine load falls on each alike; the ratios
 * are of the medians. Each topic's message count is checked after its send.
 *
 * usage: kafka_replay_bench [--rows N=1000000] [--rounds R=3] [--partitions P]
 *                           [--bootstrap HOST:PORT (a real cluster; default the embedded mock)]
 *                           [--only replay|plain|plain+hdr|plain+1hdr|kcat (one sender, for a
 *                            profiler)] */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "gen_fixture.h"
#include "kafkasvc.h"
#include "replay.h"

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "kafka_replay_bench: %s: %s\n", what, msg);
    exit(1);
}

static double now_s(void)
{
    return (double)hx_now_ns() / 1e9;
}

/* CPU seconds of this process (the sender and the in-process mock brokers) and of its waited-for
 * children (kcat). */
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

/* The JSONL file in memory, cut into lines (without their '\n'), and each line's key. */
typedef struct lines {
    char *buf;
    size_t len, n;
    size_t *off, *llen;
    char **key;
} lines;

static void lines_load(lines *L, const char *path, uint64_t rows)
{
    FILE *f = fopen(path, "rb");
    if (!f) die(path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) die(path, strerror(errno));
    L->len = (size_t)sb.st_size;
    L->buf = hx_malloc(L->len + 1);
    if (fread(L->buf, 1, L->len, f) != L->len) die(path, "short read");
    fclose(f);
    L->off = hx_calloc(rows, sizeof *L->off);
    L->llen = hx_calloc(rows, sizeof *L->llen);
    L->key = hx_calloc(rows, sizeof *L->key);
    size_t p = 0;
    while (p < L->len && L->n < rows) {
        char *nl = memchr(L->buf + p, '\n', L->len - p);
        size_t end = nl ? (size_t)(nl - L->buf) : L->len;
        L->off[L->n] = p;
        L->llen[L->n] = end - p;
        /* The replay keys each record by the dataset's key column, the order id: 1, 2, ... */
        char k[24];
        snprintf(k, sizeof k, "%llu", (unsigned long long)L->n + 1);
        L->key[L->n] = hx_strdup(k);
        L->n++;
        p = end + 1;
    }
    if (L->n != rows) die(path, "fewer lines than rows");
}

static void lines_free(lines *L)
{
    for (size_t i = 0; i < L->n; i++)
        hx_free(L->key[i]);
    hx_free(L->key);
    hx_free(L->off);
    hx_free(L->llen);
    hx_free(L->buf);
}

static uint64_t count_messages(const char *bootstrap, const char *topic, int parts)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!c) die("consumer", err);
    uint64_t n = 0;
    for (int p = 0; p < parts; p++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t r = rd_kafka_query_watermark_offsets(c, topic, p, &lo, &hi, 10000);
        if (r) die(topic, rd_kafka_err2str(r));
        n += (uint64_t)(hi - lo);
    }
    rd_kafka_destroy(c);
    return n;
}

static void dr_count(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    uint64_t *failed = opaque;
    if (m->err) (*failed)++;
}

/* The peer: one producer thread sending the lines in memory, keyed, then a flush. With HDR_THREE
 * each message also carries the replay's three headers (harness-id, harness-topic, harness-ts),
 * which separates what the header contract costs from what the replay itself adds; with HDR_ONE
 * one header `harness` = "1 <id> <ts>" (what a contract of one short header would send), which
 * separates what any header costs from what three cost. */
enum { HDR_THREE = 1, HDR_ONE = 2 };

static double send_plain(const char *bootstrap, const char *topic, const lines *L, int hdr)
{
    char err[512];
    uint64_t failed = 0;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[][2] = {
        {"bootstrap.servers", bootstrap},       {"acks", "all"},
        {"enable.idempotence", "false"},        {"linger.ms", "5"},
        {"sticky.partitioning.linger.ms", "0"}, {"queue.buffering.max.messages", "100000"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], err, sizeof err) != RD_KAFKA_CONF_OK)
            die(kv[i][0], err);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_count);
    rd_kafka_conf_set_opaque(conf, &failed);
    double t = now_s();
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!p) die("producer", err);
    for (size_t i = 0; i < L->n; i++) {
        char ts[24], one[64];
        int tsl = hdr ? snprintf(ts, sizeof ts, "%lld", (long long)hx_wall_ns()) : 0;
        size_t kl = strlen(L->key[i]);
        int onel = hdr == HDR_ONE ? snprintf(one, sizeof one, "1 %s %s", L->key[i], ts) : 0;
        for (;;) {
            rd_kafka_resp_err_t r;
            if (hdr == HDR_THREE)
                r = rd_kafka_producev(
                    p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_KEY(L->key[i], kl), RD_KAFKA_V_VALUE(L->buf + L->off[i], L->llen[i]),
                    RD_KAFKA_V_HEADER("harness-id", L->key[i], (ssize_t)kl),
                    RD_KAFKA_V_HEADER("harness-topic", topic, -1),
                    RD_KAFKA_V_HEADER("harness-ts", ts, tsl), RD_KAFKA_V_END);
            else if (hdr == HDR_ONE)
                r = rd_kafka_producev(
                    p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_KEY(L->key[i], kl), RD_KAFKA_V_VALUE(L->buf + L->off[i], L->llen[i]),
                    RD_KAFKA_V_HEADER("harness", one, onel), RD_KAFKA_V_END);
            else
                r = rd_kafka_producev(
                    p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_KEY(L->key[i], kl), RD_KAFKA_V_VALUE(L->buf + L->off[i], L->llen[i]),
                    RD_KAFKA_V_END);
            if (r == RD_KAFKA_RESP_ERR_NO_ERROR) break;
            if (r != RD_KAFKA_RESP_ERR__QUEUE_FULL) die("produce", rd_kafka_err2str(r));
            rd_kafka_poll(p, 10);
        }
        rd_kafka_poll(p, 0);
    }
    if (rd_kafka_flush(p, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR) die("flush", "timed out");
    rd_kafka_destroy(p);
    t = now_s() - t;
    if (failed) die("plain producer", "messages not delivered");
    return t;
}

static double send_kcat(const char *bootstrap, const char *topic, const char *keyed_path)
{
    double t = now_s();
    pid_t pid = fork();
    if (pid < 0) die("fork", strerror(errno));
    if (pid == 0) {
        execlp("kcat", "kcat", "-P", "-b", bootstrap, "-t", topic, "-K", "\t", "-X", "acks=all",
               "-X", "linger.ms=5", "-X", "enable.idempotence=false", "-l", keyed_path,
               (char *)NULL);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    t = now_s() - t;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("kcat -P", WIFEXITED(st) && WEXITSTATUS(st) == 127
                           ? "not installed (apt-get install kcat)"
                           : "failed");
    return t;
}

/* perf record --control fifo:CTL,ACK -D -1 ... with HX_PERF_CTL=CTL HX_PERF_ACK=ACK samples
 * only the sends, not the set-up (writing the JSONL file). */
static void perf_ctl(const char *cmd)
{
    const char *ctl = getenv("HX_PERF_CTL"), *ack = getenv("HX_PERF_ACK");
    if (!ctl || !ack) return;
    FILE *f = fopen(ctl, "w");
    if (!f) die(ctl, strerror(errno));
    fprintf(f, "%s\n", cmd);
    fclose(f);
    char buf[16];
    FILE *a = fopen(ack, "r");
    if (!a) die(ack, strerror(errno));
    if (!fgets(buf, sizeof buf, a)) die(ack, "no answer");
    fclose(a);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    uint64_t rows = 1000000;
    int rounds = 3, parts = 0;
    const char *bootstrap = NULL, *only = NULL;
    static const struct option lo[] = {
        {"rows", required_argument, NULL, 'n'},       {"rounds", required_argument, NULL, 'r'},
        {"partitions", required_argument, NULL, 'p'}, {"bootstrap", required_argument, NULL, 'b'},
        {"only", required_argument, NULL, 'o'},       {NULL, 0, NULL, 0}};
    for (int c; (c = getopt_long(argc, argv, "", lo, NULL)) != -1;) {
        if (c == 'n')
            rows = strtoull(optarg, NULL, 10);
        else if (c == 'r')
            rounds = atoi(optarg);
        else if (c == 'p')
            parts = atoi(optarg);
        else if (c == 'b')
            bootstrap = optarg;
        else if (c == 'o')
            only = optarg;
        else {
            fprintf(stderr, "usage: kafka_replay_bench [--rows N] [--rounds R] [--partitions P] "
                            "[--bootstrap HOST:PORT] [--only SENDER]\n");
            return 2;
        }
    }
    if (rows == 0 || rounds < 1 || rounds > 50) die("usage", "--rows >= 1, --rounds 1..50");
    if (only && strcmp(only, "replay") && strcmp(only, "plain") && strcmp(only, "plain+hdr") &&
        strcmp(only, "plain+1hdr") && strcmp(only, "kcat"))
        die("usage", "--only replay, plain, plain+hdr, plain+1hdr or kcat");

    hx_err e = {0};
    plan_scenario *s = fx_scenario();
    fx_orders(s, rows, 42);
    gen *g = NULL;
    if (gen_new(s, &g, &e) != 0) die("gen_new", e.msg);

    /* The messages as `harness gen --format jsonl` writes them, from the same generator. */
    char dir[] = "/tmp/hx-kbench.XXXXXX";
    if (!mkdtemp(dir)) die("mkdtemp", strerror(errno));
    plan_step fst = {
        .kind = PLAN_STEP_INTO, .target = PLAN_TGT_FILES, .format = PLAN_FMT_JSONL, .key_col = -1};
    replay_stats fs = {0};
    if (replay_files(g, 0, &fst, dir, -1, &fs, &e) != 0) die("replay_files", e.msg);
    char name[128], jsonl[512], keyed[512];
    replay_file_name(&s->datasets[0], &fst, -1, name, sizeof name);
    snprintf(jsonl, sizeof jsonl, "%s/%s/%s", dir, s->datasets[0].name, name);
    snprintf(keyed, sizeof keyed, "%s/keyed.tsv", dir);
    lines L = {0};
    lines_load(&L, jsonl, rows);
    FILE *kf = fopen(keyed, "wb");
    if (!kf) die(keyed, strerror(errno));
    for (size_t i = 0; i < L.n; i++)
        fprintf(kf, "%s\t%.*s\n", L.key[i], (int)L.llen[i], L.buf + L.off[i]);
    if (fclose(kf) != 0) die(keyed, strerror(errno));
    double avg = (double)L.len / (double)L.n;

    kafkasvc_opts ko = {.bootstrap = bootstrap};
    kafkasvc *k = NULL;
    if (kafkasvc_start(bootstrap ? &ko : NULL, &k, &e) != 0) die("kafkasvc_start", e.msg);
    const char *bs = kafkasvc_bootstrap(k);
    /* Enough partitions that the mock keeps every message (its newest 5 MiB a partition): the
     * replay's headers add about 60 bytes a record. */
    int need = kafkasvc_partitions_for(rows, (size_t)avg + 64);
    if (parts < need) parts = need;
    printf("%llu records, %.0f bytes a line on average (%.1f MB), %d partitions, %s\n",
           (unsigned long long)rows, avg, (double)L.len / 1e6, parts,
           bootstrap ? bootstrap : "embedded mock cluster");

    plan_step kst = {.kind = PLAN_STEP_INTO, .target = PLAN_TGT_KAFKA, .key_col = 0};
    enum { REPLAY, PLAIN, PLAIN_HDR, PLAIN_1HDR, KCAT, NWHO };
    static const char *who_name[NWHO] = {"replay", "plain", "plain+hdr", "plain+1hdr", "kcat"};
    static const char *who_topic[NWHO] = {"replay", "plain", "plainhdr", "plain1hdr", "kcat"};
    double *wall[NWHO], *cpu[NWHO];
    for (int w = 0; w < NWHO; w++) {
        wall[w] = hx_calloc((size_t)rounds, sizeof *wall[w]);
        cpu[w] = hx_calloc((size_t)rounds, sizeof *cpu[w]);
    }
    for (int r = 0; r < rounds; r++) {
        for (int j = 0; j < NWHO; j++) {
            int who = (r + j) % NWHO;
            if (only && strcmp(only, who_name[who]) != 0) continue;
            char topic[64];
            snprintf(topic, sizeof topic, "%s-%d", who_topic[who], r);
            if (kafkasvc_create_topic(k, topic, parts, &e) != 0) die("create topic", e.msg);
            perf_ctl("enable");
            double t, c0 = cpu_s();
            if (who == REPLAY) {
                kst.topic = topic;
                replay_stats rs = {0};
                t = now_s();
                if (replay_kafka(g, 0, &kst, bs, topic, -1, NULL, &rs, &e) != 0)
                    die("replay_kafka", e.msg);
                t = now_s() - t;
                if (strcmp(rs.sha256, fs.sha256) != 0)
                    die("replay_kafka", "sent other bytes than the JSONL file holds");
            } else if (who == KCAT) {
                t = send_kcat(bs, topic, keyed);
            } else {
                t = send_plain(bs, topic, &L,
                               who == PLAIN       ? 0
                               : who == PLAIN_HDR ? HDR_THREE
                                                  : HDR_ONE);
            }
            perf_ctl("disable");
            uint64_t got = count_messages(bs, topic, parts);
            if (got != rows) {
                char m[128];
                snprintf(m, sizeof m, "%llu messages in the topic, want %llu",
                         (unsigned long long)got, (unsigned long long)rows);
                die(topic, m);
            }
            wall[who][r] = t;
            cpu[who][r] = cpu_s() - c0;
            printf("round %d  %-10s %8.3f s  %9.0f msg/s  CPU %6.3f s (%.2f us a message)\n", r + 1,
                   who_name[who], t, (double)rows / t, cpu[who][r],
                   cpu[who][r] * 1e6 / (double)rows);
            fflush(stdout);
        }
    }
    if (!only) {
        double m[NWHO], c[NWHO];
        for (int w = 0; w < NWHO; w++) {
            m[w] = median(wall[w], rounds);
            c[w] = median(cpu[w], rounds) * 1e6 / (double)rows;
        }
        printf("median   replay %.0f msg/s   plain producer %.0f msg/s   plain with the headers "
               "%.0f msg/s   plain with one header %.0f msg/s   kcat -P %.0f msg/s\n",
               rows / m[REPLAY], rows / m[PLAIN], rows / m[PLAIN_HDR], rows / m[PLAIN_1HDR],
               rows / m[KCAT]);
        printf("ratio replay / plain producer:                 %.2f (target >= 0.8)\n",
               m[PLAIN] / m[REPLAY]);
        printf("ratio replay / plain producer with the headers: %.2f\n", m[PLAIN_HDR] / m[REPLAY]);
        printf("ratio replay / kcat -P:                        %.2f\n", m[KCAT] / m[REPLAY]);
        printf("ratio plain with the headers / plain:          %.2f\n", m[PLAIN] / m[PLAIN_HDR]);
        printf("ratio plain with one header / plain:           %.2f\n", m[PLAIN] / m[PLAIN_1HDR]);
        /* On a busy machine every thread waits for a core, so the wall ratio follows the CPU
         * each side needs; the CPU (sender, mock brokers, kcat) says where that goes. */
        printf("CPU a message (median, including the mock brokers'): replay %.2f us, plain %.2f "
               "us, plain with the headers %.2f us, plain with one header %.2f us, kcat %.2f us\n",
               c[REPLAY], c[PLAIN], c[PLAIN_HDR], c[PLAIN_1HDR], c[KCAT]);
    }
    for (int w = 0; w < NWHO; w++) {
        hx_free(wall[w]);
        hx_free(cpu[w]);
    }
    kafkasvc_stop(k);
    lines_free(&L);
    gen_free(g);
    unlink(jsonl);
    unlink(keyed);
    char sub[512];
    snprintf(sub, sizeof sub, "%s/%s", dir, s->datasets[0].name);
    rmdir(sub);
    rmdir(dir);
    fx_free(s);
    return 0;
}
