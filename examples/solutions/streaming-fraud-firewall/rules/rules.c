/* rules.c - the streaming-fraud-firewall reference firewall. Follows ${KAFKA_TOPIC_PREFIX}payments,
 * keeps a small state per card (its payments of the last 15 minutes by event time, at most 32,
 * with their country and whether they were tiny; the sum and count of its amounts) and raises one
 * alert per card on
 * ${KAFKA_TOPIC_PREFIX}alerts the first time a rule fires (README.md of the pack states them):
 *   velocity      8 payments within 2 minutes
 *   card_testing  5 payments of at most 2.00 within 10 minutes
 *   geo           a payment from another country than the card's previous one, within 10 minutes
 *   outlier       an amount above 6 x the mean of the card's earlier payments (at least 5)
 * Refunds are no payments: no rule reads them. Times are event times (the `ts` field).
 * A message that is not a well-formed payment goes to ${KAFKA_TOPIC_PREFIX}payments_dlq as
 * {"payment_id": <its key>, "error": "..."}. Each output carries the input's headers (so the
 * harness can match latency) and the card (or payment) as its key.
 *
 * Phase 2 (when the topic ${KAFKA_TOPIC_PREFIX}compliance exists): a summary per merchant and
 * event-time minute, {"merchant_id":380,"minute":"2026-03-02T00:05:00Z","payments":3,
 * "amount":123.45}, once, when the minute is closed: by the event-time watermark (the lowest, over
 * the partitions, of the latest `ts` each delivered, less 5 s of allowed lateness), or, when no
 * payment came for IDLE_MS (the stream's end), every open minute.
 *
 * Delivery: the producer is idempotent (a retried batch is written once), the consumer keeps its
 * position through a broker outage and commits its offsets only after the alerts before them are
 * delivered; the per-card "alerted" flag makes a replayed payment raise nothing twice. Prints
 * "scoring" once it has its partitions. Ends on SIGTERM after flushing and committing. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#define US 1000000LL
#define VELOCITY_N 8
#define VELOCITY_WINDOW (120 * US)
#define TINY_N 5
#define TINY_MAX_CENTS 200
#define TINY_WINDOW (600 * US)
#define GEO_WINDOW (600 * US)
#define OUTLIER_MIN_HISTORY 5
#define OUTLIER_FACTOR 6.0

#define LATENESS (5 * US)
#define MINUTE (60 * US)
#define IDLE_MS 5000 /* longer than a broker outage: a minute closed early would be doubled */
#define MAX_PARTS 256

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

/* ---- a payment, parsed and checked ---- */

typedef struct payment {
    int64_t payment_id, card_id, merchant_id;
    int64_t cents; /* amount */
    int64_t ts_us;
    bool refund;
    char country[16];
} payment;

/* UTF-8 well-formedness (RFC 3629: no overlongs, no surrogates, at most U+10FFFF). */
static bool utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        unsigned lo = 0x80, hi = 0xBF; /* the second byte's range */
        if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return false;
        }
        if (n - i <= k || s[i + 1] < lo || s[i + 1] > hi) return false;
        for (size_t j = 2; j <= k; j++)
            if ((s[i + j] & 0xC0) != 0x80) return false;
        i += k + 1;
    }
    return true;
}

/* "2026-03-02T00:00:01.366734Z" -> microseconds since the epoch; false if not that shape. */
static bool parse_ts(const char *s, size_t n, int64_t *out)
{
    int y, mo, d, h, mi, se;
    if (n < 20 || s[n - 1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':')
        return false;
    for (size_t i = 0; i < 19; i++)
        if (i != 4 && i != 7 && i != 10 && i != 13 && i != 16 && !isdigit((unsigned char)s[i]))
            return false;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &se) != 6) return false;
    int64_t frac = 0, scale = 100000;
    size_t i = 19;
    if (i < n - 1) {
        if (s[i++] != '.') return false;
        for (; i < n - 1; i++) {
            if (!isdigit((unsigned char)s[i])) return false;
            frac += (s[i] - '0') * scale;
            scale /= 10;
        }
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return false;
    /* days from civil (H. Hinnant) */
    y -= mo <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    *out = ((days * 24 + h) * 60 + mi) * 60 * US + se * US + frac;
    return true;
}

enum { F_PAYMENT, F_CARD, F_MERCHANT, F_AMOUNT, F_TYPE, F_COUNTRY, F_DEVICE, F_TS, F_N };
static const char *const fields[F_N] = {"payment_id", "card_id", "merchant_id", "amount",
                                        "type",       "country", "device_id",   "ts"};

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* A JSON string at p (after the quote): its raw bytes (no escapes expected in these fields; an
 * escape is accepted and kept as is). Returns the end (after the closing quote) or NULL. */
static const char *json_string(const char *p, const char *end, const char **s, size_t *n)
{
    *s = p;
    while (p < end && *p != '"') {
        if ((unsigned char)*p < 0x20) return NULL;
        if (*p == '\\') {
            if (++p >= end) return NULL;
        }
        p++;
    }
    if (p >= end) return NULL;
    *n = (size_t)(p - *s);
    return p + 1;
}

/* An integer (no fraction) or a decimal with up to 2 digits after the point, as cents when
 * cents is set. Returns the end or NULL. */
static const char *json_number(const char *p, const char *end, bool cents, int64_t *out)
{
    bool neg = p < end && *p == '-';
    if (neg) p++;
    if (p >= end || !isdigit((unsigned char)*p)) return NULL;
    int64_t v = 0;
    while (p < end && isdigit((unsigned char)*p))
        v = v * 10 + (*p++ - '0');
    int frac = 0, digits = 0;
    if (p < end && *p == '.') {
        if (!cents) return NULL;
        p++;
        while (p < end && isdigit((unsigned char)*p)) {
            if (digits < 2) frac = frac * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (digits == 0 || digits > 2) return NULL;
        if (digits == 1) frac *= 10;
    }
    if (cents) v = v * 100 + frac;
    *out = neg ? -v : v;
    return p;
}

/* Parse one message value. Every field must be there once with its type, and nothing else. */
static bool parse_payment(const char *v, size_t len, payment *out, const char **why)
{
    const char *p = v, *end = v + len;
    bool seen[F_N] = {false};
    memset(out, 0, sizeof *out);
    p = skip_ws(p, end);
    if (p >= end || *p++ != '{') return *why = "not a JSON object", false;
    for (int k = 0;; k++) {
        p = skip_ws(p, end);
        if (k == 0 && p < end && *p == '}') break;
        const char *name, *s;
        size_t nn, sn;
        if (p >= end || *p++ != '"' || !(p = json_string(p, end, &name, &nn)))
            return *why = "cut off or malformed", false;
        p = skip_ws(p, end);
        if (p >= end || *p++ != ':') return *why = "cut off or malformed", false;
        p = skip_ws(p, end);
        int f = -1;
        for (int i = 0; i < F_N; i++)
            if (strlen(fields[i]) == nn && memcmp(fields[i], name, nn) == 0) f = i;
        if (f < 0) return *why = "unknown field", false;
        if (seen[f]) return *why = "field twice", false;
        seen[f] = true;
        if (p >= end) return *why = "cut off", false;
        if (f == F_TYPE || f == F_COUNTRY || f == F_DEVICE || f == F_TS) {
            if (*p++ != '"' || !(p = json_string(p, end, &s, &sn)))
                return *why = "a text field is not text", false;
            if (!utf8_ok((const unsigned char *)s, sn)) return *why = "invalid UTF-8", false;
            if (f == F_TS && !parse_ts(s, sn, &out->ts_us)) return *why = "bad ts", false;
            if (f == F_TYPE) out->refund = sn == 6 && memcmp(s, "refund", 6) == 0;
            if (f == F_COUNTRY) {
                if (sn >= sizeof out->country) return *why = "bad country", false;
                memcpy(out->country, s, sn);
                out->country[sn] = '\0';
            }
        } else {
            int64_t x;
            if (!(p = json_number(p, end, f == F_AMOUNT, &x)))
                return *why = "a number field is not a number", false;
            if (f == F_PAYMENT) out->payment_id = x;
            if (f == F_CARD) out->card_id = x;
            if (f == F_MERCHANT) out->merchant_id = x;
            if (f == F_AMOUNT) out->cents = x;
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '}') {
            p++;
            break;
        }
        return *why = "cut off or malformed", false;
    }
    if (skip_ws(p, end) != end) return *why = "text after the object", false;
    for (int i = 0; i < F_N; i++)
        if (!seen[i]) return *why = "a field is missing", false;
    return true;
}

/* ---- per-card state ---- */

/* A card's recent payments, by event time: up to RECENT of the last RECENT_SPAN, so the rules
 * hold whatever order the partitions deliver them in (after an outage one partition may run
 * seconds ahead of another). */
#define RECENT 32
#define RECENT_SPAN (900 * US)

typedef struct seen {
    int64_t ts;
    bool tiny;
    char country[16];
} seen;

typedef struct card {
    int64_t id;          /* 0 = empty slot */
    seen recent[RECENT]; /* sorted by ts */
    int nrecent;
    int64_t sum_cents, n; /* every payment so far, for the mean */
    bool alerted;
} card;

static card *cards;
static size_t cap, used;

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static card *card_get(int64_t id)
{
    if ((used + 1) * 2 > cap) {
        size_t ncap = cap ? cap * 2 : 4096;
        card *n = calloc(ncap, sizeof *n);
        if (!n) {
            fprintf(stderr, "rules: out of memory\n");
            exit(3);
        }
        for (size_t i = 0; i < cap; i++) {
            if (!cards[i].id) continue;
            size_t s = mix((uint64_t)cards[i].id) & (ncap - 1);
            while (n[s].id)
                s = (s + 1) & (ncap - 1);
            n[s] = cards[i];
        }
        free(cards);
        cards = n;
        cap = ncap;
    }
    size_t s = mix((uint64_t)id) & (cap - 1);
    while (cards[s].id && cards[s].id != id)
        s = (s + 1) & (cap - 1);
    if (!cards[s].id) {
        cards[s].id = id;
        used++;
    }
    return &cards[s];
}

/* Whether some n consecutive entries (by time) of v that pass `tiny_only` lie within window. */
static bool burst(const card *c, int n, int64_t window, bool tiny_only)
{
    int64_t t[RECENT];
    int k = 0;
    for (int i = 0; i < c->nrecent; i++)
        if (!tiny_only || c->recent[i].tiny) t[k++] = c->recent[i].ts;
    for (int i = 0; i + n - 1 < k; i++)
        if (t[i + n - 1] - t[i] <= window) return true;
    return false;
}

/* The rule the payment fires on its card, or NULL. Updates the card's state either way. */
static const char *score(card *c, const payment *p)
{
    const char *rule = NULL;
    bool tiny = p->cents <= TINY_MAX_CENTS;
    for (int i = 0; i < c->nrecent && !rule; i++) /* geo: another country within the window */
        if (strcmp(c->recent[i].country, p->country) != 0 &&
            llabs(p->ts_us - c->recent[i].ts) <= GEO_WINDOW)
            rule = "geo";
    /* insert by time; drop what is older than the span, or the oldest when full */
    int64_t newest = p->ts_us;
    for (int i = 0; i < c->nrecent; i++)
        if (c->recent[i].ts > newest) newest = c->recent[i].ts;
    int k = 0;
    for (int i = 0; i < c->nrecent; i++)
        if (newest - c->recent[i].ts <= RECENT_SPAN) c->recent[k++] = c->recent[i];
    c->nrecent = k;
    if (c->nrecent == RECENT) {
        memmove(c->recent, c->recent + 1, (RECENT - 1) * sizeof *c->recent);
        c->nrecent--;
    }
    int at = c->nrecent;
    while (at > 0 && c->recent[at - 1].ts > p->ts_us)
        at--;
    memmove(c->recent + at + 1, c->recent + at, (size_t)(c->nrecent - at) * sizeof *c->recent);
    c->recent[at].ts = p->ts_us;
    c->recent[at].tiny = tiny;
    snprintf(c->recent[at].country, sizeof c->recent[at].country, "%s", p->country);
    c->nrecent++;
    if (!rule && burst(c, VELOCITY_N, VELOCITY_WINDOW, false)) rule = "velocity";
    if (!rule && tiny && burst(c, TINY_N, TINY_WINDOW, true)) rule = "card_testing";
    if (!rule && c->n >= OUTLIER_MIN_HISTORY &&
        (double)p->cents > OUTLIER_FACTOR * (double)c->sum_cents / (double)c->n)
        rule = "outlier";
    c->sum_cents += p->cents;
    c->n++;
    return rule;
}

/* ---- phase 2: per-merchant minute windows ---- */

typedef struct window {
    int64_t merchant, minute; /* minute: its start, us since the epoch */
    int64_t n, cents;
    bool used;
} window;

static window *wins;
static size_t wcap, wused;
static int64_t part_max[MAX_PARTS]; /* latest ts per partition, INT64_MIN = none yet */
static int nparts;

static size_t win_slot(window *t, size_t tcap, int64_t merchant, int64_t minute)
{
    size_t s = mix((uint64_t)merchant * 0x9e3779b97f4a7c15ULL ^ (uint64_t)minute) & (tcap - 1);
    while (t[s].used && (t[s].merchant != merchant || t[s].minute != minute))
        s = (s + 1) & (tcap - 1);
    return s;
}

static void win_rehash(size_t ncap)
{
    window *n = calloc(ncap, sizeof *n);
    if (!n) {
        fprintf(stderr, "rules: out of memory\n");
        exit(3);
    }
    for (size_t i = 0; i < wcap; i++)
        if (wins[i].used) n[win_slot(n, ncap, wins[i].merchant, wins[i].minute)] = wins[i];
    free(wins);
    wins = n;
    wcap = ncap;
}

static int64_t floor_minute(int64_t ts)
{
    int64_t q = ts / MINUTE;
    if (ts % MINUTE && ts < 0) q--;
    return q * MINUTE;
}

/* "2026-03-02T00:05:00Z" */
static void minute_text(char *buf, size_t n, int64_t us)
{
    int64_t z = us / US / 86400, secs = us / US - z * 86400;
    z += 719468; /* civil from days (H. Hinnant) */
    int64_t era = (z >= 0 ? z : z - 146096) / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    snprintf(buf, n, "%04lld-%02lld-%02lldT%02lld:%02lld:00Z", (long long)(y + (m <= 2)),
             (long long)m, (long long)d, (long long)(secs / 3600), (long long)(secs / 60 % 60));
}

static unsigned long nlate;

static void win_add(const payment *p, int32_t partition)
{
    if (partition >= 0 && partition < MAX_PARTS && p->ts_us > part_max[partition])
        part_max[partition] = p->ts_us;
    int64_t minute = floor_minute(p->ts_us);
    if ((wused + 1) * 2 > wcap) win_rehash(wcap ? wcap * 2 : 1024);
    window *w = &wins[win_slot(wins, wcap, p->merchant_id, minute)];
    if (!w->used) {
        *w = (window){.merchant = p->merchant_id, .minute = minute, .used = true};
        wused++;
    }
    w->n++;
    w->cents += p->cents;
}

/* The watermark: the lowest of the partitions' latest ts less the lateness; INT64_MIN until
 * every partition delivered something. */
static int64_t watermark(void)
{
    int64_t lo = INT64_MAX;
    for (int i = 0; i < nparts && i < MAX_PARTS; i++) {
        if (part_max[i] == INT64_MIN) return INT64_MIN;
        if (part_max[i] < lo) lo = part_max[i];
    }
    return nparts ? lo - LATENESS : INT64_MIN;
}

static void produce(rd_kafka_t *p, const char *topic, const rd_kafka_message_t *in, const char *key,
                    const char *value);

/* RULES_TEST_FAULTS=1 (tests only: what the harness must catch): the first summary is not sent,
 * the second counts one payment too many, the third is sent twice. */
static bool test_faults;
static unsigned long nsent;

/* Emit and forget every window that ends at or before `upto` (INT64_MAX: all). */
static unsigned long win_close(rd_kafka_t *p, const char *topic, int64_t upto)
{
    unsigned long n = 0;
    bool any = false;
    for (size_t i = 0; i < wcap; i++) {
        window *w = &wins[i];
        if (!w->used || (upto != INT64_MAX && w->minute + MINUTE > upto)) continue;
        char mt[64], key[96], out[256];
        minute_text(mt, sizeof mt, w->minute);
        snprintf(key, sizeof key, "%lld|%s", (long long)w->merchant, mt);
        snprintf(
            out, sizeof out,
            "{\"merchant_id\":%lld,\"minute\":\"%s\",\"payments\":%lld,\"amount\":%s%lld.%02lld}",
            (long long)w->merchant, mt, (long long)w->n + (test_faults && nsent == 1),
            w->cents < 0 ? "-" : "", (long long)(llabs(w->cents) / 100),
            (long long)(llabs(w->cents) % 100));
        if (!test_faults || nsent != 0) produce(p, topic, NULL, key, out);
        if (test_faults && nsent == 2) produce(p, topic, NULL, key, out);
        nsent++;
        w->used = false;
        wused--;
        any = true;
        n++;
    }
    if (any) win_rehash(wcap); /* the probe chains hold no holes */
    return n;
}

/* ---- Kafka ---- */

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
    fprintf(stderr, "rules: %s\n", err);
    exit(2);
}

/* The output's timestamp, set explicitly: the time the alert was raised. */
static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void produce(rd_kafka_t *p, const char *topic, const rd_kafka_message_t *in, const char *key,
                    const char *value)
{
    rd_kafka_headers_t *h = NULL, *copy = NULL;
    if (in && rd_kafka_message_headers(in, &h) == 0 && h) copy = rd_kafka_headers_copy(h);
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE((void *)value, strlen(value)),
            RD_KAFKA_V_HEADERS(copy), RD_KAFKA_V_TIMESTAMP(wall_ms()), RD_KAFKA_V_END);
        if (!err) return;
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) { /* wait for deliveries, then again */
            rd_kafka_poll(p, 50);
            continue;
        }
        fprintf(stderr, "rules: produce to %s: %s\n", topic, rd_kafka_err2str(err));
        if (copy) rd_kafka_headers_destroy(copy);
        return;
    }
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk, (void)opaque;
    if (m->err) fprintf(stderr, "rules: delivery failed: %s\n", rd_kafka_err2str(m->err));
}

/* Whether topic exists on the cluster (phase 2 creates the compliance topic). */
static bool topic_exists(rd_kafka_t *c, const char *topic)
{
    const rd_kafka_metadata_t *md = NULL;
    if (rd_kafka_metadata(c, 1, NULL, &md, 10000)) return false;
    bool found = false;
    for (int i = 0; i < md->topic_cnt && !found; i++)
        found = strcmp(md->topics[i].topic, topic) == 0 && !md->topics[i].err;
    rd_kafka_metadata_destroy(md);
    return found;
}

/* Assign every partition of topic at its committed offset, else its low watermark (a logical
 * offset is resolved only once the leader is known; librdkafka retries that after 500 ms). */
static void assign_all(rd_kafka_t *c, const char *topic)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(c, topic, NULL);
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(c, 0, rkt, &md, 10000);
    if (err || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "rules: metadata of %s: %s\n", topic,
                rd_kafka_err2str(err ? err : md->topics[0].err));
        exit(1);
    }
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(t, topic, i);
    nparts = md->topics[0].partition_cnt;
    for (int i = 0; i < MAX_PARTS; i++)
        part_max[i] = INT64_MIN;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    if (rd_kafka_committed(c, t, 10000)) fprintf(stderr, "rules: no committed offsets\n");
    for (int i = 0; i < t->cnt; i++) {
        if (t->elems[i].offset >= 0) continue;
        int64_t lo = RD_KAFKA_OFFSET_BEGINNING, hi;
        if (rd_kafka_query_watermark_offsets(c, topic, t->elems[i].partition, &lo, &hi, 10000))
            lo = RD_KAFKA_OFFSET_BEGINNING;
        t->elems[i].offset = lo;
    }
    rd_kafka_poll_set_consumer(c);
    if ((err = rd_kafka_assign(c, t))) {
        fprintf(stderr, "rules: assign %s: %s\n", topic, rd_kafka_err2str(err));
        exit(1);
    }
    rd_kafka_topic_partition_list_destroy(t);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Commit the positions consumed once everything produced for them is delivered; true when it
 * did. While the stream runs (wait false) it never blocks: a flush or a synchronous commit holds
 * every payment that arrives meanwhile, and that wait is their latency. So it commits, without
 * waiting for the answer, only when nothing is in flight; wait true delivers first (up to 10 s). */
static bool checkpoint(rd_kafka_t *c, rd_kafka_t *p, bool wait)
{
    if (rd_kafka_flush(p, wait ? 10000 : 0) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
    rd_kafka_resp_err_t err = rd_kafka_commit(c, NULL, !wait);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        fprintf(stderr, "rules: commit: %s\n", rd_kafka_err2str(err));
    return !err;
}

int main(void)
{
    const char *bootstrap = getenv("KAFKA_BOOTSTRAP_SERVERS");
    const char *prefix = getenv("KAFKA_TOPIC_PREFIX");
    const char *wait = getenv("KAFKA_FETCH_WAIT_MAX_MS");
    /* The harness's group: at volume it paces the replay to the offsets committed there. */
    const char *group = getenv("KAFKA_GROUP_ID");
    if (!group || !*group) group = "fraud-rules";
    if (!bootstrap || !*bootstrap || !prefix) {
        fprintf(stderr, "rules: KAFKA_BOOTSTRAP_SERVERS and KAFKA_TOPIC_PREFIX must be set\n");
        return 2;
    }
    char in[256], alerts[256], dlq[256], compliance[256];
    snprintf(in, sizeof in, "%spayments", prefix);
    snprintf(compliance, sizeof compliance, "%scompliance", prefix);
    snprintf(alerts, sizeof alerts, "%salerts", prefix);
    snprintf(dlq, sizeof dlq, "%spayments_dlq", prefix);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    rd_kafka_t *c = client(RD_KAFKA_CONSUMER, bootstrap,
                           (const char *const[]){"group.id", group, "enable.auto.commit", "false",
                                                 "auto.offset.reset", "earliest",
                                                 "fetch.wait.max.ms", wait && *wait ? wait : "10",
                                                 "reconnect.backoff.max.ms", "500", NULL});
    char err[512];
    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    const char *const pkv[] = {"bootstrap.servers",
                               bootstrap,
                               "enable.idempotence",
                               "true",
                               "linger.ms",
                               "1",
                               "acks",
                               "all",
                               "reconnect.backoff.max.ms",
                               "500",
                               NULL};
    for (size_t i = 0; pkv[i]; i += 2)
        if (rd_kafka_conf_set(pc, pkv[i], pkv[i + 1], err, sizeof err)) {
            fprintf(stderr, "rules: %s\n", err);
            return 2;
        }
    rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
    if (!p) {
        fprintf(stderr, "rules: %s\n", err);
        return 2;
    }
    bool phase2 = topic_exists(c, compliance);
    const char *tf = getenv("RULES_TEST_FAULTS");
    test_faults = tf && strcmp(tf, "1") == 0;
    assign_all(c, in);
    /* The producer learns each output topic's leader before the ready line: else the first
     * alert waits for that lookup (0.72 s on the mock, measured as that alert's latency). */
    const char *outs[] = {alerts, dlq, phase2 ? compliance : NULL};
    for (size_t i = 0; i < sizeof outs / sizeof *outs && outs[i]; i++) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(p, outs[i], NULL);
        const rd_kafka_metadata_t *md = NULL;
        if (rkt && rd_kafka_metadata(p, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR)
            rd_kafka_metadata_destroy(md);
        if (rkt) rd_kafka_topic_destroy(rkt);
    }
    printf("scoring %s%s\n", in, phase2 ? ", summarising to compliance" : "");
    fflush(stdout);
    unsigned long n = 0, nalerts = 0, ndlq = 0, nsum = 0;
    int64_t last_cp = now_ms(), last_commit = now_ms(), last_msg = now_ms(), closed = INT64_MIN;
    while (!stop) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        rd_kafka_poll(p, 0);
        if (now_ms() - last_cp >= 1000) { /* every second; blocking only after 5 s of misses */
            if (checkpoint(c, p, now_ms() - last_commit >= 5000)) last_commit = now_ms();
            last_cp = now_ms();
        }
        if (phase2 && wused && now_ms() - last_msg >= IDLE_MS) /* the stream's end */
            nsum += win_close(p, compliance, INT64_MAX);
        if (!m) continue;
        last_msg = now_ms();
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "rules: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (++n % 20000 == 0)
            fprintf(stderr, "rules: %lu payments, %lu alerts, %lu dead letters\n", n, nalerts,
                    ndlq);
        char key[64] = "";
        if (m->key && m->key_len < sizeof key) {
            memcpy(key, m->key, m->key_len);
            key[m->key_len] = '\0';
        }
        payment pay;
        const char *why = NULL;
        char out[512];
        bool parse_ok = parse_payment(m->payload, m->len, &pay, &why);
        if (!parse_ok) {
            bool numeric = key[0] != '\0';
            for (const char *k = key; *k; k++)
                numeric &= isdigit((unsigned char)*k) != 0;
            snprintf(out, sizeof out, "{\"payment_id\":%s,\"error\":\"%s\"}",
                     numeric ? key : "null", why);
            produce(p, dlq, m, key, out);
            ndlq++;
        } else if (phase2) {
            if (floor_minute(pay.ts_us) + MINUTE <= closed) {
                if (nlate++ < 10)
                    fprintf(stderr, "rules: payment %lld of a closed minute (ts %lld)\n",
                            (long long)pay.payment_id, (long long)pay.ts_us);
            } else {
                win_add(&pay, m->partition);
            }
            int64_t wm = watermark();
            if (wm != INT64_MIN && floor_minute(wm) > closed) {
                closed = floor_minute(wm);
                nsum += win_close(p, compliance, closed);
            }
        }
        if (parse_ok && !pay.refund) {
            card *cd = card_get(pay.card_id);
            const char *rule = score(cd, &pay);
            if (rule && !cd->alerted) {
                cd->alerted = true;
                char ck[32];
                snprintf(ck, sizeof ck, "%lld", (long long)pay.card_id);
                snprintf(out, sizeof out,
                         "{\"card_id\":%lld,\"rule\":\"%s\",\"payment_id\":%lld,"
                         "\"merchant_id\":%lld}",
                         (long long)pay.card_id, rule, (long long)pay.payment_id,
                         (long long)pay.merchant_id);
                produce(p, alerts, m, ck, out);
                nalerts++;
            }
        }
        rd_kafka_message_destroy(m);
    }
    checkpoint(c, p, true);
    fprintf(stderr, "rules: %lu payments, %lu alerts, %lu dead letters, %zu cards, %lu summaries\n",
            n, nalerts, ndlq, used, nsum);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    rd_kafka_destroy(p);
    free(cards);
    free(wins);
    return 0;
}
