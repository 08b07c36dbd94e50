/* live.c - see live.h. The send-time table is one open-addressing array of (tagged 63-bit hash,
 * intended, actual) under a mutex the replay and the consumer share; the consumer takes it once
 * per batch of messages. The per-second histograms and counters of the output side, and the
 * spool (every output message read, for the checks), are the consumer thread's alone until
 * live_finish joins it. */
#include "live.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

typedef struct sent_slot {
    uint64_t h;       /* (hash << 1) | tag: 1 an id, 0 a key; 0 = empty */
    int64_t intended; /* ns since the epoch */
    int64_t actual;
    int64_t ans_recv; /* when its counted answer was received (SLOT_ANSWERED) */
    uint32_t ans_val; /* a hash of that answer's value */
    uint32_t flags;   /* SLOT_* */
} sent_slot;

/* A slot sent more than once (the same id or key again: its outputs may answer different
 * records, so each counts); one whose latency sample is in the histograms (ans_*). */
#define SLOT_REPEATED 1u
#define SLOT_ANSWERED 2u

typedef struct out_sec {
    hist *c, *u; /* the second's matched latencies, corrected and uncorrected; NULL until one */
    uint64_t out, matched;
} out_sec;

typedef struct part {
    int topic;            /* index into topics */
    int32_t partition;    /* its number */
    _Atomic int64_t next; /* the next offset to read (the consumer advances it) */
    bool timed;           /* a timed topic's: receive times kept, not matched */
    int64_t lo;           /* timed: the offset recv[0] is for */
    int64_t *recv;        /* timed: receive time per offset from lo, 0 = not read */
    size_t nrecv;
} part;

/* A spooled message's header; the value's bytes follow (none when len is SPOOL_NULL). */
typedef struct spool_rec {
    int32_t topic;     /* index into topics */
    int32_t partition; /* its partition */
    int64_t offset;    /* its offset there */
    uint32_t len;      /* value length */
} spool_rec;
#define SPOOL_NULL UINT32_MAX

#define BATCH 1024

struct live {
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    pthread_t th;
    bool running;
    _Atomic int stop;
    _Atomic int paused;
    int64_t t0;
    /* the replay's side, under mu */
    pthread_mutex_t mu;
    sent_slot *tab;
    size_t cap, used;
    char *inputs[LIVE_MAX_INPUTS]; /* the input topics, numbered as live_sent met them */
    uint64_t input_fnv[LIVE_MAX_INPUTS];
    size_t ninputs;
    uint64_t *in; /* records sent per second */
    size_t nin;
    /* the consumer's side */
    char **topics;
    rd_kafka_topic_t **rkts; /* the handles messages come with, learnt as they come */
    size_t ntopics;
    part *parts;
    size_t nparts;
    size_t *first_part; /* parts index of each topic's partition 0 */
    out_sec *sec;
    size_t nsec;
    hist corr, unc;
    _Atomic uint64_t matched;
    uint64_t read, unmatched;
    bool oom;
    FILE *spool;    /* every output message read (live_opts.spool), NULL when not kept */
    bool spool_bad; /* a write to it failed: the checks read the cluster instead */
    bool complete;  /* live_finish read every partition to its high watermark */
    int64_t *lost;  /* per topic: messages trimmed from the log before they were read */
    char err[256];
    live_second *timeline; /* built by live_timeline */
};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t fnv(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* The table's hashes of an id and of a key's bytes (fnv) sent on input topic number t. */
static uint64_t id_hash(size_t t, uint64_t id)
{
    return (mix64(id ^ (uint64_t)t * 0x9e3779b97f4a7c15ull) << 1) | 1;
}

static uint64_t key_hash(size_t t, uint64_t fnv_of_key)
{
    uint64_t h = mix64(fnv_of_key ^ (uint64_t)t * 0x9e3779b97f4a7c15ull) << 1;
    return h ? h : 2;
}

static sent_slot *slot_of(sent_slot *tab, size_t cap, uint64_t h)
{
    for (size_t i = mix64(h) & (cap - 1);; i = (i + 1) & (cap - 1))
        if (tab[i].h == h || !tab[i].h) return &tab[i];
}

static bool grow(live *l)
{
    size_t cap = l->cap * 2;
    sent_slot *n = hx_calloc(cap, sizeof *n);
    if (!n) return false;
    for (size_t i = 0; i < l->cap; i++)
        if (l->tab[i].h) *slot_of(n, cap, l->tab[i].h) = l->tab[i];
    hx_free(l->tab);
    l->tab = n;
    l->cap = cap;
    return true;
}

static bool put(live *l, uint64_t h, int64_t intended, int64_t actual)
{
    if ((l->used + 1) * 10 > l->cap * 7 && !grow(l)) return false;
    sent_slot *s = slot_of(l->tab, l->cap, h);
    if (s->h) { /* sent before: the first times stay */
        s->flags |= SLOT_REPEATED;
        return true;
    }
    *s = (sent_slot){.h = h, .intended = intended, .actual = actual};
    l->used++;
    return true;
}

static size_t second_of(const live *l, int64_t t_ns)
{
    if (t_ns <= l->t0) return 0;
    uint64_t s = (uint64_t)(t_ns - l->t0) / 1000000000u;
    return s >= LIVE_MAX_SECONDS ? LIVE_MAX_SECONDS - 1 : (size_t)s;
}

/* Make arr (of *n elements of size sz) hold index i. */
static bool reach(void **arr, size_t *n, size_t sz, size_t i)
{
    if (i < *n) return true;
    size_t m = *n ? *n : 16;
    while (m <= i)
        m *= 2;
    if (m > LIVE_MAX_SECONDS) m = LIVE_MAX_SECONDS;
    char *p = hx_realloc(*arr, m * sz);
    if (!p) return false;
    memset(p + *n * sz, 0, (m - *n) * sz);
    *arr = p;
    *n = m;
    return true;
}

/* The number of input topic `topic`, numbered on first sight; -1 when out of memory or beyond
 * LIVE_MAX_INPUTS. Under mu. */
static int input_of(live *l, const char *topic)
{
    size_t n = strlen(topic);
    uint64_t h = fnv(topic, n);
    for (size_t i = 0; i < l->ninputs; i++)
        if (l->input_fnv[i] == h && strcmp(l->inputs[i], topic) == 0) return (int)i;
    if (l->ninputs == LIVE_MAX_INPUTS || !(l->inputs[l->ninputs] = hx_strdup(topic))) return -1;
    l->input_fnv[l->ninputs] = h;
    return (int)l->ninputs++;
}

bool live_sent(live *l, const char *topic, uint64_t id, const void *key, size_t key_len,
               int64_t intended_ns, int64_t actual_ns)
{
    pthread_mutex_lock(&l->mu);
    int t = input_of(l, topic);
    bool ok = t >= 0 && put(l, id_hash((size_t)t, id), intended_ns, actual_ns) &&
              (!key || put(l, key_hash((size_t)t, fnv(key, key_len)), intended_ns, actual_ns));
    size_t s = second_of(l, actual_ns);
    if (reach((void **)&l->in, &l->nin, sizeof *l->in, s))
        l->in[s]++;
    else
        ok = false;
    pthread_mutex_unlock(&l->mu);
    return ok;
}

void live_resume(live *l)
{
    atomic_store(&l->paused, 0);
}

uint64_t live_matched(const live *l)
{
    return atomic_load(&((live *)l)->matched);
}

/* What one output message needs from the table, found before the lock is taken. */
typedef struct probe {
    uint64_t id, key; /* the harness-id header's value, fnv of the key */
    uint32_t val;     /* a hash of the value (fnv, folded) */
    bool has_id, has_key;
    uint64_t topic;  /* fnv of the harness-topic header's value, 0 = none */
    int64_t recv_ns; /* when the harness's consumer received it (the output time) */
    int pi;          /* parts index, -1 unknown */
    int64_t offset;
} probe;

static int part_index(live *l, const rd_kafka_message_t *m)
{
    int t = -1;
    for (size_t i = 0; i < l->ntopics && t < 0; i++)
        if (l->rkts[i] == m->rkt) t = (int)i;
    if (t < 0 && m->rkt) {
        const char *name = rd_kafka_topic_name(m->rkt);
        for (size_t i = 0; i < l->ntopics && t < 0; i++)
            if (strcmp(l->topics[i], name) == 0) {
                l->rkts[i] = m->rkt;
                t = (int)i;
            }
    }
    if (t < 0) return -1;
    size_t pi = l->first_part[t] + (size_t)m->partition;
    size_t end = (size_t)t + 1 < l->ntopics ? l->first_part[t + 1] : l->nparts;
    return m->partition >= 0 && pi < end ? (int)pi : -1;
}

static void read_probe(live *l, rd_kafka_message_t *m, int64_t recv_ns, probe *p)
{
    *p = (probe){.recv_ns = recv_ns, .pi = part_index(l, m), .offset = m->offset};
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t n;
    if (rd_kafka_message_headers(m, &h) == 0 && h &&
        rd_kafka_header_get_last(h, "harness-id", &v, &n) == 0 && v && n && n < 21) {
        uint64_t id = 0;
        const char *c = v;
        size_t i = 0;
        while (i < n && c[i] >= '0' && c[i] <= '9')
            id = id * 10 + (uint64_t)(c[i++] - '0');
        p->id = id;
        p->has_id = i == n;
    }
    if (h && rd_kafka_header_get_last(h, "harness-topic", &v, &n) == 0 && v)
        p->topic = fnv(v, n) | 1; /* 0 stays "none"; compared the same way below */
    if (m->key) {
        p->key = fnv(m->key, m->key_len);
        p->has_key = true;
    }
    uint64_t vh = m->payload ? fnv(m->payload, m->len) : 0;
    p->val = (uint32_t)(vh ^ (vh >> 32));
}

/* The latencies of an output received at recv for input s, corrected and uncorrected. */
static void latencies(const sent_slot *s, int64_t recv, int64_t *c, int64_t *u)
{
    /* The output time is the receive time, not the message's timestamp, which the solution's
     * producer sets and could back-date. Both clocks are the wall clock; a step of it backwards
     * could put a receive time before the send time: that counts as the lowest value. */
    *c = recv - s->intended;
    *u = recv - s->actual;
    *c = *c < 1000 ? 1000 : *c;
    *u = *u < 1000 ? 1000 : *u;
}

/* How an output that matched counts (decided under mu, by answer_of). */
typedef struct answer {
    bool again;       /* the same value as the answer counted already: no new sample */
    int64_t replaces; /* the receive time of the sample it takes the place of, 0 = none */
} answer;

/* A slot's latency is the time to its last answer (docs/scenarios.md "Streaming"): a value
 * different from the one counted replaces that sample (a quick guess, then the real answer,
 * counts the real one), the same value again adds none. A repeated slot counts every output.
 * Under mu. */
static answer answer_of(sent_slot *s, const probe *p)
{
    answer a = {0};
    if (s->flags & SLOT_REPEATED) return a;
    if (s->flags & SLOT_ANSWERED) {
        if (s->ans_val == p->val) {
            a.again = true;
            return a;
        }
        a.replaces = s->ans_recv;
    }
    s->flags |= SLOT_ANSWERED;
    s->ans_recv = p->recv_ns;
    s->ans_val = p->val;
    return a;
}

/* Count output p in its second, matched to s (NULL: to no input) as a says. Returns whether it
 * counts as matched. */
static bool record(live *l, const probe *p, const sent_slot *s, answer a)
{
    size_t sec = second_of(l, p->recv_ns);
    if (!reach((void **)&l->sec, &l->nsec, sizeof *l->sec, sec)) {
        l->oom = true;
        return false;
    }
    out_sec *o = &l->sec[sec];
    o->out++;
    if (!s) {
        l->unmatched++;
        return false;
    }
    o->matched++;
    if (a.again) return true;
    int64_t c, u;
    if (a.replaces) {
        latencies(s, a.replaces, &c, &u);
        hist_unrecord(&l->corr, c);
        hist_unrecord(&l->unc, u);
        size_t ws = second_of(l, a.replaces);
        out_sec *was = ws < l->nsec ? &l->sec[ws] : NULL;
        if (was && was->c) {
            hist_unrecord(was->c, c);
            hist_unrecord(was->u, u);
        }
    }
    latencies(s, p->recv_ns, &c, &u);
    hist_record(&l->corr, c);
    hist_record(&l->unc, u);
    if (!o->c && (hist_new(10000, (int64_t)3600 * 1000000000, 2, &o->c) ||
                  hist_new(10000, (int64_t)3600 * 1000000000, 2, &o->u))) {
        hist_free(o->c);
        o->c = NULL;
        l->oom = true;
    }
    if (o->c) {
        hist_record(o->c, c);
        hist_record(o->u, u);
    }
    return true;
}

/* The input an output answers (under mu): by (input topic, id), else (input topic, key). The
 * topic is the output's harness-topic header when it names an input; without one, an id (or else
 * a key) sent on exactly one input topic matches, and one sent on several matches nothing: the
 * harness cannot tell card 57 from payment 57. NULL: no match. */
static sent_slot *lookup(live *l, const probe *p)
{
    size_t lo = 0, hi = l->ninputs;
    for (size_t t = 0; t < l->ninputs && p->topic; t++)
        if ((l->input_fnv[t] | 1) == p->topic) lo = t, hi = t + 1;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0 ? !p->has_id : !p->has_key) continue;
        sent_slot *one = NULL;
        size_t hits = 0;
        for (size_t t = lo; t < hi; t++) {
            sent_slot *s =
                slot_of(l->tab, l->cap, pass == 0 ? id_hash(t, p->id) : key_hash(t, p->key));
            if (s->h) one = s, hits++;
        }
        if (hits == 1) return one;
    }
    return NULL;
}

/* A timed topic's message: its receive time, by offset. */
static void keep_recv(live *l, part *pp, const probe *p)
{
    if (p->offset < pp->lo) return;
    size_t at = (size_t)(p->offset - pp->lo);
    if (at >= pp->nrecv) {
        size_t n = pp->nrecv ? pp->nrecv : 1024;
        while (n <= at)
            n *= 2;
        int64_t *r = hx_realloc(pp->recv, n * sizeof *r);
        if (!r) {
            l->oom = true;
            return;
        }
        memset(r + pp->nrecv, 0, (n - pp->nrecv) * sizeof *r);
        pp->recv = r;
        pp->nrecv = n;
    }
    pp->recv[at] = p->recv_ns;
}

static void spool_write(live *l, const probe *p, const rd_kafka_message_t *m)
{
    spool_rec r = {l->parts[p->pi].topic, m->partition, m->offset,
                   m->payload ? (uint32_t)m->len : SPOOL_NULL};
    if (m->payload && m->len >= SPOOL_NULL) r.len = SPOOL_NULL - 1; /* never: messages < 4 GiB */
    if (fwrite(&r, sizeof r, 1, l->spool) != 1 ||
        (m->payload && r.len && fwrite(m->payload, r.len, 1, l->spool) != 1))
        l->spool_bad = true;
}

/* The log of a partition was trimmed past the offset the consumer was to read next
 * (auto.offset.reset=error): the messages in between are gone unread. */
static void note_lost(live *l, const rd_kafka_message_t *m)
{
    int pi = part_index(l, m);
    if (pi < 0) return;
    part *pp = &l->parts[pi];
    int64_t lo = 0, hi = 0, next = atomic_load(&pp->next);
    if (rd_kafka_query_watermark_offsets(l->rk, l->topics[pp->topic], pp->partition, &lo, &hi,
                                         10000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        lo <= next)
        lo = next + 1; /* at least one is gone */
    l->lost[pp->topic] += lo - next;
    atomic_store(&pp->next, lo);
    /* Go on from the oldest message left, so the rest is still measured. */
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tp, l->topics[pp->topic], pp->partition)->offset = lo;
    rd_kafka_error_t *err = rd_kafka_seek_partitions(l->rk, tp, 0);
    if (err) rd_kafka_error_destroy(err);
    rd_kafka_topic_partition_list_destroy(tp);
}

/* Match n messages read together at recv (ns since the epoch) and destroy them: the consumer
 * thread's work after a poll, and live_match's. */
static void match_batch(live *l, rd_kafka_message_t **ms, size_t n, int64_t recv)
{
    probe ps[BATCH];
    while (n > BATCH) {
        match_batch(l, ms, BATCH, recv);
        ms += BATCH;
        n -= BATCH;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = ms[i];
        if (m->err) {
            if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET)
                note_lost(l, m);
            else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && !l->err[0])
                snprintf(l->err, sizeof l->err, "%s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        read_probe(l, m, recv, &ps[k]);
        if (l->spool && !l->spool_bad && ps[k].pi >= 0) spool_write(l, &ps[k], m);
        k++;
        rd_kafka_message_destroy(m);
    }
    pthread_mutex_lock(&l->mu);
    sent_slot found[BATCH];
    bool hit[BATCH];
    answer ans[BATCH];
    for (size_t i = 0; i < k; i++) {
        if (ps[i].pi >= 0 && l->parts[ps[i].pi].timed) continue;
        sent_slot *s = lookup(l, &ps[i]);
        hit[i] = s != NULL;
        if (hit[i]) {
            found[i] = *s;
            ans[i] = answer_of(s, &ps[i]);
        }
    }
    pthread_mutex_unlock(&l->mu);
    for (size_t i = 0; i < k; i++) {
        if (ps[i].pi >= 0 && l->parts[ps[i].pi].timed) {
            keep_recv(l, &l->parts[ps[i].pi], &ps[i]);
            atomic_store(&l->parts[ps[i].pi].next, ps[i].offset + 1);
            continue;
        }
        l->read++;
        if (record(l, &ps[i], hit[i] ? &found[i] : NULL, hit[i] ? ans[i] : (answer){0}))
            atomic_fetch_add(&l->matched, 1);
        if (ps[i].pi >= 0) atomic_store(&l->parts[ps[i].pi].next, ps[i].offset + 1);
    }
}

void live_match(live *l, rd_kafka_message_t **ms, size_t n, int64_t recv_ns)
{
    match_batch(l, ms, n, recv_ns);
}

static void *consume(void *arg)
{
    live *l = arg;
    rd_kafka_message_t *ms[BATCH];
    while (atomic_load(&l->paused) && !atomic_load(&l->stop)) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    while (!atomic_load(&l->stop)) {
        /* Wait for the first message, then take what else is there without waiting: the batch
         * call waits its whole timeout for a batch that does not fill, which delays the count the
         * replay's window reads. */
        ms[0] = rd_kafka_consumer_poll(l->rk, 50);
        if (!ms[0]) continue;
        ssize_t n = rd_kafka_consume_batch_queue(l->q, 0, ms + 1, BATCH - 1);
        n = n < 0 ? 1 : n + 1;
        /* One receive time for the batch: what is queued with the first message arrived with
         * it or before it. */
        match_batch(l, ms, (size_t)n, hx_wall_ns());
    }
    return NULL;
}

void live_free(live *l)
{
    if (!l) return;
    if (l->running) {
        atomic_store(&l->stop, 1);
        pthread_join(l->th, NULL);
        l->running = false;
    }
    if (l->q) rd_kafka_queue_destroy(l->q);
    if (l->rk) {
        rd_kafka_consumer_close(l->rk);
        rd_kafka_destroy(l->rk);
    }
    for (size_t i = 0; i < l->ntopics; i++)
        hx_free(l->topics[i]);
    hx_free(l->topics);
    hx_free(l->rkts);
    for (size_t i = 0; i < l->nparts; i++)
        hx_free(l->parts[i].recv);
    hx_free(l->parts);
    hx_free(l->first_part);
    for (size_t i = 0; i < l->nsec; i++) {
        hist_free(l->sec[i].c);
        hist_free(l->sec[i].u);
    }
    hx_free(l->sec);
    hx_free(l->in);
    hx_free(l->tab);
    for (size_t i = 0; i < l->ninputs; i++)
        hx_free(l->inputs[i]);
    hx_free(l->timeline);
    hx_free(l->lost);
    if (l->spool) fclose(l->spool);
    hist_release(&l->corr);
    hist_release(&l->unc);
    pthread_mutex_destroy(&l->mu);
    hx_free(l);
}

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    const char *env = getenv("HARNESS_KAFKA_LOG"); /* as kafkasvc.h describes */
    if (env && *env && strcmp(env, "0") != 0)
        fprintf(stderr, "harness: kafka: live: %d %s: %s\n", level, fac, buf);
}

static rd_kafka_t *consumer(const live_opts *o, char *errstr, size_t n)
{
    char group[96], wait[16];
    /* A group of its own: nothing the solution's consumers commit is touched or reused. */
    snprintf(group, sizeof group, "hx-live-%ld-%lld", (long)getpid(), (long long)hx_now_ns());
    snprintf(wait, sizeof wait, "%d", o->fetch_wait_ms > 0 ? o->fetch_wait_ms : 500);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[][2] = {
        {"bootstrap.servers", o->bootstrap},
        {"group.id", group},
        {"client.id", "harness-live"},
        {"enable.auto.commit", "false"},
        {"enable.partition.eof", "false"},
        {"log.connection.close", "false"},
        {"fetch.wait.max.ms", wait},
        {"auto.offset.reset", "error"},
        /* Back within 100 ms of a broker fault: librdkafka's default backs off up to 10 s, and
         * every output the service sent meanwhile was timed by when this consumer got back
         * (0.26 to 4.93 s over a 3 s outage for one service), not by when it reached Kafka. */
        {"reconnect.backoff.ms", "10"},
        {"reconnect.backoff.max.ms", "100"},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, n) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, n);
    if (!rk) rd_kafka_conf_destroy(conf);
    return rk;
}

int live_start(const live_opts *o, live **out, hx_err *e)
{
    *out = NULL;
    live *l = hx_calloc(1, sizeof *l);
    if (!l) return hx_fail(e, HX_ENOMEM, "live latency: out of memory");
    pthread_mutex_init(&l->mu, NULL);
    l->t0 = o->t0_ns;
    atomic_store(&l->paused, o->paused ? 1 : 0);
    int rc = 0;
    size_t cap = 1024;
    while (cap < o->expect * 3 && cap < ((size_t)1 << 40)) /* two entries a record, load < 0.7 */
        cap *= 2;
    l->tab = hx_calloc(l->cap = cap, sizeof *l->tab);
    l->topics = hx_calloc(o->ntopics ? o->ntopics : 1, sizeof *l->topics);
    l->rkts = hx_calloc(o->ntopics ? o->ntopics : 1, sizeof *l->rkts);
    l->first_part = hx_calloc(o->ntopics ? o->ntopics : 1, sizeof *l->first_part);
    l->lost = hx_calloc(o->ntopics ? o->ntopics : 1, sizeof *l->lost);
    if (o->spool && !(l->spool = tmpfile())) {
        rc = hx_fail(e, HX_EINFRA, "live latency: cannot make a spool file in $TMPDIR");
        goto fail;
    }
    if (!l->tab || !l->topics || !l->rkts || !l->first_part || !l->lost ||
        hist_init(&l->corr, 1000, (int64_t)3600 * 1000000000, 3) ||
        hist_init(&l->unc, 1000, (int64_t)3600 * 1000000000, 3)) {
        rc = hx_fail(e, HX_ENOMEM, "live latency: out of memory");
        goto fail;
    }
    if (!o->bootstrap) { /* messages come through live_match */
        for (size_t t = 0; t < o->ntopics; t++) {
            int np = o->partitions ? o->partitions[t] : 1;
            part *ps = hx_realloc(l->parts, (l->nparts + (size_t)np) * sizeof *ps);
            if (!ps || !(l->topics[t] = hx_strdup(o->topics[t]))) {
                if (ps) l->parts = ps;
                rc = hx_fail(e, HX_ENOMEM, "live latency: out of memory");
                goto fail;
            }
            l->parts = ps;
            l->ntopics = t + 1;
            l->first_part[t] = l->nparts;
            for (int p = 0; p < np; p++) {
                part *pp = &l->parts[l->nparts++];
                memset(pp, 0, sizeof *pp);
                pp->topic = (int)t;
                pp->partition = p;
                pp->timed = o->timed && o->timed[t];
            }
        }
        *out = l;
        return 0;
    }
    char errstr[512];
    l->rk = consumer(o, errstr, sizeof errstr);
    if (!l->rk) {
        rc = hx_fail(e, HX_EINFRA, "live latency: cannot create a consumer: %s", errstr);
        goto fail;
    }
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(16);
    for (size_t t = 0; t < o->ntopics && !rc; t++) {
        l->topics[t] = hx_strdup(o->topics[t]);
        l->ntopics = t + 1;
        l->first_part[t] = l->nparts;
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(l->rk, o->topics[t], NULL);
        rd_kafka_resp_err_t err = !l->topics[t] || !rkt
                                      ? RD_KAFKA_RESP_ERR__FAIL
                                      : rd_kafka_metadata(l->rk, 0, rkt, &md, 10000);
        if (rkt) rd_kafka_topic_destroy(rkt);
        if (!err && (md->topic_cnt != 1 || md->topics[0].err))
            err = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
        int np = err ? 0 : md->topics[0].partition_cnt;
        if (md) rd_kafka_metadata_destroy(md);
        part *ps = err ? NULL : hx_realloc(l->parts, (l->nparts + (size_t)np) * sizeof *ps);
        if (!ps) {
            rc = hx_fail(e, err ? HX_EINFRA : HX_ENOMEM, "live latency: topic '%s': %s",
                         o->topics[t], err ? rd_kafka_err2str(err) : "out of memory");
            break;
        }
        l->parts = ps;
        for (int p = 0; p < np && !rc; p++) {
            /* At the low watermark, not OFFSET_BEGINNING, whose lookup waits a 500 ms retry when
             * the leader is not known yet. */
            int64_t lo = 0, hi = 0;
            err = rd_kafka_query_watermark_offsets(l->rk, o->topics[t], p, &lo, &hi, 10000);
            if (err) {
                rc = hx_fail(e, HX_EINFRA, "live latency: watermarks of '%s' [%d]: %s",
                             o->topics[t], p, rd_kafka_err2str(err));
                break;
            }
            part *pp = &l->parts[l->nparts++];
            memset(pp, 0, sizeof *pp);
            pp->topic = (int)t;
            pp->partition = p;
            pp->timed = o->timed && o->timed[t];
            pp->lo = lo;
            atomic_store(&pp->next, lo);
            rd_kafka_topic_partition_list_add(tp, o->topics[t], p)->offset = lo;
        }
    }
    if (!rc) {
        rd_kafka_poll_set_consumer(l->rk);
        rd_kafka_resp_err_t err = rd_kafka_assign(l->rk, tp);
        if (err) rc = hx_fail(e, HX_EINFRA, "live latency: assign: %s", rd_kafka_err2str(err));
    }
    rd_kafka_topic_partition_list_destroy(tp);
    if (rc) goto fail;
    l->q = rd_kafka_queue_get_consumer(l->rk);
    if (!l->q || pthread_create(&l->th, NULL, consume, l) != 0) {
        rc = hx_fail(e, HX_EINFRA, "live latency: cannot start the consumer thread");
        goto fail;
    }
    l->running = true;
    *out = l;
    return 0;
fail:
    live_free(l);
    return rc;
}

int live_finish(live *l, int timeout_ms, hx_err *e)
{
    if (!l->running) {
        l->complete |= !l->rk; /* without a consumer: what live_match was given is all */
        return 0;
    }
    int rc = 0;
    int64_t *high = hx_calloc(l->nparts ? l->nparts : 1, sizeof *high);
    if (!high) rc = hx_fail(e, HX_ENOMEM, "live latency: out of memory");
    for (size_t i = 0; i < l->nparts && !rc; i++) {
        int64_t lo;
        rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
            l->rk, l->topics[l->parts[i].topic], l->parts[i].partition, &lo, &high[i], 10000);
        if (err)
            rc = hx_fail(e, HX_EINFRA, "live latency: watermarks of '%s' [%d]: %s",
                         l->topics[l->parts[i].topic], (int)l->parts[i].partition,
                         rd_kafka_err2str(err));
    }
    int64_t deadline = hx_now_ns() + (int64_t)timeout_ms * 1000000;
    for (size_t i = 0; i < l->nparts && !rc;) {
        if (atomic_load(&l->parts[i].next) >= high[i]) {
            i++;
            continue;
        }
        if (hx_now_ns() > deadline) {
            rc = hx_fail(e, HX_EINFRA,
                         "live latency: '%s' [%d] read to offset %lld of %lld in %d ms; the "
                         "rest is not measured",
                         l->topics[l->parts[i].topic], (int)l->parts[i].partition,
                         (long long)atomic_load(&l->parts[i].next), (long long)high[i], timeout_ms);
            break;
        }
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    hx_free(high);
    atomic_store(&l->stop, 1);
    pthread_join(l->th, NULL);
    l->running = false;
    l->complete = rc == 0;
    return rc;
}

int live_read_topic(live *l, const char *name, live_msg_fn each, void *ud, hx_err *e)
{
    int t = -1;
    for (size_t i = 0; i < l->ntopics && t < 0; i++)
        if (strcmp(l->topics[i], name) == 0) t = (int)i;
    if (t < 0 || l->running) return 0;
    if (l->lost[t] > 0)
        return hx_fail(e, HX_EINFRA,
                       "topic '%s': %lld messages were trimmed from the log before the harness "
                       "read them (the mock cluster keeps 5 MiB a partition): an infrastructure "
                       "limit, not the solution's data loss; give the replay step more partitions "
                       "(`partitions = N`, the output topics get as many) or a lower `rate`",
                       name, (long long)l->lost[t]);
    if (!l->spool || l->spool_bad || !l->complete || fflush(l->spool) != 0) return 0;
    rewind(l->spool);
    spool_rec r;
    char *buf = NULL;
    size_t cap = 0;
    int rc = 1;
    bool go = true;
    while (go && fread(&r, sizeof r, 1, l->spool) == 1) {
        size_t n = r.len == SPOOL_NULL ? 0 : r.len;
        if (n >= cap) {
            char *nb = hx_realloc(buf, n + 1);
            if (!nb) {
                rc = hx_fail(e, HX_ENOMEM, "live latency: out of memory reading the spool");
                break;
            }
            buf = nb;
            cap = n + 1;
        }
        if (n && fread(buf, n, 1, l->spool) != 1) {
            rc = hx_fail(e, HX_EINFRA, "live latency: the spool of '%s' is cut short", name);
            break;
        }
        if (r.topic == t) go = each(ud, r.partition, r.offset, r.len == SPOOL_NULL ? NULL : buf, n);
    }
    if (rc == 1 && go && ferror(l->spool))
        rc = hx_fail(e, HX_EINFRA, "live latency: reading the spool of '%s' failed", name);
    hx_free(buf);
    return rc;
}

int64_t live_recv_ns(const live *l, const char *topic, int32_t partition, int64_t offset)
{
    for (size_t t = 0; t < l->ntopics; t++) {
        if (strcmp(l->topics[t], topic) != 0) continue;
        size_t end = t + 1 < l->ntopics ? l->first_part[t + 1] : l->nparts;
        size_t pi = l->first_part[t] + (size_t)partition;
        if (partition < 0 || pi >= end || !l->parts[pi].timed) return -1;
        const part *pp = &l->parts[pi];
        if (offset < pp->lo || (size_t)(offset - pp->lo) >= pp->nrecv) return -1;
        int64_t v = pp->recv[offset - pp->lo];
        return v ? v : -1;
    }
    return -1;
}

int64_t live_intended(live *l, const char *topic, uint64_t id)
{
    int64_t v = -1;
    size_t n = strlen(topic);
    uint64_t h = fnv(topic, n);
    pthread_mutex_lock(&l->mu);
    for (size_t t = 0; t < l->ninputs; t++)
        if (l->input_fnv[t] == h && strcmp(l->inputs[t], topic) == 0) {
            const sent_slot *s = slot_of(l->tab, l->cap, id_hash(t, id));
            if (s->h) v = s->intended;
        }
    pthread_mutex_unlock(&l->mu);
    return v;
}

const hist *live_corrected(const live *l)
{
    return &l->corr;
}

const hist *live_uncorrected(const live *l)
{
    return &l->unc;
}

uint64_t live_read(const live *l)
{
    return l->read;
}

uint64_t live_unmatched(const live *l)
{
    return l->unmatched;
}

const char *live_error(const live *l)
{
    return l->oom ? "out of memory" : l->err;
}

const live_second *live_timeline(const live *l, size_t *n)
{
    live *w = (live *)l;
    size_t last = 0;
    for (size_t i = 0; i < w->nin; i++)
        if (w->in[i]) last = i + 1;
    for (size_t i = 0; i < w->nsec; i++)
        if (w->sec[i].out) last = i + 1 > last ? i + 1 : last;
    hx_free(w->timeline);
    w->timeline = last ? hx_calloc(last, sizeof *w->timeline) : NULL;
    *n = w->timeline ? last : 0;
    for (size_t i = 0; i < *n; i++) {
        live_second *t = &w->timeline[i];
        t->in = i < w->nin ? w->in[i] : 0;
        if (i >= w->nsec) continue;
        t->out = w->sec[i].out;
        t->matched = w->sec[i].matched;
        if (w->sec[i].c) {
            t->p99_s = (double)hist_percentile(w->sec[i].c, 99) / 1e9;
            t->p99_uncorr_s = (double)hist_percentile(w->sec[i].u, 99) / 1e9;
        }
    }
    return w->timeline;
}
