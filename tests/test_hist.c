/* test_hist.c - the histogram against a sorted-array oracle, plus merge, serialisation and the
 * hostile-input paths of the decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

/* ---- deterministic random values ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unif(void)
{
    return ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(void)
{
    return sqrt(-2.0 * log(unif())) * cos(2.0 * M_PI * unif());
}

typedef enum dist { D_UNIFORM, D_LOGNORMAL, D_BIMODAL, D_SMALL } dist;

static int64_t draw(dist d)
{
    switch (d) {
    case D_UNIFORM:
        return (int64_t)(rnd() % 1000000000ull); /* 0..1 s in ns */
    case D_LOGNORMAL:
        return (int64_t)exp(13.0 + 1.5 * gauss()); /* median ~0.44 ms, long tail */
    case D_BIMODAL: {
        /* a fast path around 200 us and a slow one around 80 ms */
        double v = unif() < 0.9 ? 200000.0 + 20000.0 * gauss() : 80e6 + 10e6 * gauss();
        return v < 0 ? 0 : (int64_t)v;
    }
    case D_SMALL:
        return (int64_t)(rnd() % 3000); /* exercises bucket 0 and the first buckets */
    }
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The oracle's p-th value: rank max(1, round(p/100 * n)) of the sorted data, as hist.h defines. */
static int64_t oracle(const int64_t *sorted, size_t n, double p)
{
    double r = p / 100.0 * (double)n + 0.5;
    size_t rank = r >= (double)n ? n : (size_t)r;
    if (rank < 1) rank = 1;
    return sorted[rank - 1];
}

static void fill_grid(double *ps, size_t *np)
{
    size_t n = 0;
    for (int i = 0; i <= 200; i++)
        ps[n++] = i * 0.5;
    const double tail[] = {0.001, 0.01, 0.1, 99.5, 99.9, 99.95, 99.99, 99.999, 33.333, 66.667};
    for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++)
        ps[n++] = tail[i];
    *np = n;
}

static void check_against_oracle(dist d, int sigfigs, int64_t lowest, size_t n)
{
    hist h;
    assert_int_equal(hist_init(&h, lowest, 3600LL * 1000000000LL, sigfigs), 0);
    int64_t *vals = malloc(n * sizeof *vals);
    assert_non_null(vals);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        vals[i] = draw(d);
        sum += (double)vals[i];
        assert_true(hist_record(&h, vals[i]));
    }
    qsort(vals, n, sizeof *vals, cmp_i64);
    assert_int_equal(hist_count(&h), (int64_t)n);
    assert_int_equal(hist_min(&h), vals[0]);
    assert_int_equal(hist_max(&h), vals[n - 1]);

    double rel = pow(10.0, -sigfigs);
    int64_t unit = (int64_t)1 << (63 - __builtin_clzll((uint64_t)lowest));
    double ps[256];
    size_t np;
    fill_grid(ps, &np);
    int64_t curve[256];
    assert_int_equal(hist_curve(&h, ps, np, curve), np);
    for (size_t i = 0; i < np; i++) {
        int64_t x = oracle(vals, n, ps[i]);
        int64_t r = hist_percentile(&h, ps[i]);
        double slack = fmax((double)x * rel, (double)(unit - 1));
        if (r < x || (double)(r - x) > slack)
            fail_msg("dist %d sigfigs %d p%g: hist %lld, exact %lld (slack %g)", (int)d, sigfigs,
                     ps[i], (long long)r, (long long)x, slack);
        assert_int_equal(curve[i], r); /* the one-pass curve equals point queries (unsorted ps) */
    }
    assert_int_equal(hist_percentile(&h, 0), vals[0]);
    assert_int_equal(hist_percentile(&h, 100), vals[n - 1]);

    double mean = sum / (double)n;
    assert_true(fabs(hist_mean(&h) - mean) <= mean * rel + (double)unit);
    double var = 0;
    for (size_t i = 0; i < n; i++)
        var += ((double)vals[i] - mean) * ((double)vals[i] - mean);
    double sd = sqrt(var / (double)n);
    /* |sd(a) - sd(b)| <= max |a_i - b_i|, and each midpoint is within max * rel of its value. */
    assert_true(fabs(hist_stddev(&h) - sd) <= (double)vals[n - 1] * rel + (double)unit);

    int64_t seen = 0;
    hist_iter it = HIST_ITER_INIT;
    int64_t prev_hi = -1;
    while (hist_iter_next(&h, &it)) {
        assert_true(it.lo > prev_hi);
        assert_true(it.lo <= it.hi);
        prev_hi = it.hi;
        seen += it.count;
    }
    assert_int_equal(seen, (int64_t)n);
    free(vals);
    hist_release(&h);
}

static void test_hist__oracle_uniform(void **state)
{
    (void)state;
    for (int s = 1; s <= 4; s++)
        check_against_oracle(D_UNIFORM, s, 1, 200000);
}

static void test_hist__oracle_lognormal(void **state)
{
    (void)state;
    for (int s = 1; s <= 4; s++)
        check_against_oracle(D_LOGNORMAL, s, 1, 200000);
    check_against_oracle(D_LOGNORMAL, 3, 1000, 100000); /* microsecond resolution */
}

static void test_hist__oracle_bimodal(void **state)
{
    (void)state;
    for (int s = 1; s <= 4; s++)
        check_against_oracle(D_BIMODAL, s, 1, 200000);
}

static void test_hist__oracle_small_values(void **state)
{
    (void)state;
    check_against_oracle(D_SMALL, 1, 1, 50000);
    check_against_oracle(D_SMALL, 2, 1, 50000);
    check_against_oracle(D_SMALL, 2, 100, 50000); /* values below lowest land in bucket 0 */
}

/* The query workload's own configuration (run/workload.c: 1 us .. 1 h at 3 significant digits,
 * one histogram a client merged into the query's): a query's p50/p90/p95/p99/p99.9 and max, as
 * run.json reports them, are within one bucket of the sorted-array answer over every client's
 * executions. Latencies as analyst queries give them: most around 8 ms, a second mode at 30 ms
 * (cache misses) and a slow tail to 2 s. bench/README.md points here. */
static void test_hist__workload_clients_merged_match_sorted(void **state)
{
    (void)state;
    enum { CLIENTS = 4, PER = 25000 };
    const int64_t lowest = 1000, highest = 3600LL * 1000000000LL;
    hist total, client[CLIENTS];
    assert_int_equal(hist_init(&total, lowest, highest, 3), 0);
    int64_t *all = malloc(CLIENTS * PER * sizeof *all);
    assert_non_null(all);
    size_t n = 0;
    for (int c = 0; c < CLIENTS; c++) {
        assert_int_equal(hist_init(&client[c], lowest, highest, 3), 0);
        for (int i = 0; i < PER; i++) {
            double u = unif(), v;
            if (u < 0.70)
                v = exp(log(8e6) + 0.5 * gauss());
            else if (u < 0.95)
                v = 30e6 + 4e6 * gauss();
            else
                v = 200e6 + 1.8e9 * unif();
            int64_t x = v < 50000 ? 50000 : (int64_t)v;
            all[n++] = x;
            assert_true(hist_record(&client[c], x));
        }
    }
    for (int c = 0; c < CLIENTS; c++) {
        assert_int_equal(hist_merge(&total, &client[c]), 0);
        hist_release(&client[c]);
    }
    qsort(all, n, sizeof *all, cmp_i64);
    const double ps[] = {50, 90, 95, 99, 99.9};
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++) {
        int64_t x = oracle(all, n, ps[i]), r = hist_percentile(&total, ps[i]);
        /* one bucket: its width at x is at most x / 1000 */
        if (r < x || (double)(r - x) > fmax((double)x * 1e-3, (double)(lowest - 1)))
            fail_msg("p%g: hist %lld ns, sorted %lld ns", ps[i], (long long)r, (long long)x);
    }
    assert_int_equal(hist_max(&total), all[n - 1]);
    assert_int_equal(hist_count(&total), (int64_t)n);
    free(all);
    hist_release(&total);
}

static void test_hist__five_sigfigs(void **state)
{
    (void)state;
    check_against_oracle(D_LOGNORMAL, 5, 1, 100000);
}

static void test_hist__equivalent_ranges(void **state)
{
    (void)state;
    for (int s = 1; s <= 5; s++) {
        hist h;
        assert_int_equal(hist_init(&h, 1, INT64_MAX, s), 0);
        for (int i = 0; i < 20000; i++) {
            int64_t v = (int64_t)(rnd() >> (rnd() % 63 + 1));
            int64_t lo = hist_lowest_equivalent(&h, v), hi = hist_highest_equivalent(&h, v);
            assert_true(lo <= v && v <= hi);
            assert_true((double)(hi - lo) <= (double)v * pow(10.0, -s) + 1e-9 || hi == lo);
            assert_int_equal(hist_lowest_equivalent(&h, lo), lo);
            assert_int_equal(hist_highest_equivalent(&h, hi), hi);
        }
        assert_true(hist_record(&h, INT64_MAX));
        assert_true(hist_record(&h, 0));
        assert_int_equal(hist_percentile(&h, 100), INT64_MAX);
        assert_int_equal(hist_percentile(&h, 50), 0);
        hist_release(&h);
    }
}

static void test_hist__bad_config(void **state)
{
    (void)state;
    hist h;
    assert_int_equal(hist_init(&h, 0, 1000, 3), HX_EUSAGE);
    assert_int_equal(hist_init(&h, 1, 1000, 0), HX_EUSAGE);
    assert_int_equal(hist_init(&h, 1, 1000, 6), HX_EUSAGE);
    assert_int_equal(hist_init(&h, 600, 1000, 3), HX_EUSAGE);
    assert_int_equal(hist_init(&h, 1, 1, 3), HX_EUSAGE);
    assert_int_equal(hist_init(&h, INT64_MAX / 4, INT64_MAX, 5), HX_EUSAGE);
    assert_int_equal(hist_init(&h, 1, 2, 1), 0);
    hist_release(&h);
}

static void test_hist__out_of_range_counted(void **state)
{
    (void)state;
    hist h;
    assert_int_equal(hist_init(&h, 1, 1000000, 3), 0);
    assert_false(hist_record(&h, 1000001));
    assert_false(hist_record(&h, INT64_MAX));
    assert_false(hist_record(&h, -1));
    assert_true(hist_record(&h, 1000000));
    assert_false(hist_record_n(&h, 2000000, 5));
    assert_false(hist_record_n(&h, 5, -1));
    assert_true(hist_record_n(&h, 5, 0));
    assert_int_equal(h.over, 7);
    assert_int_equal(h.under, 1);
    assert_int_equal(hist_count(&h), 1);
    assert_int_equal(hist_max(&h), 1000000);
    assert_int_equal(hist_min(&h), 1000000);
    assert_true(hist_record_n(&h, 7, INT64_MAX - 1));
    assert_false(hist_record_n(&h, 7, 1)); /* the total would overflow */
    assert_int_equal(hist_count(&h), INT64_MAX);
    hist_clear(&h);
    assert_int_equal(hist_count(&h), 0);
    assert_int_equal(h.over, 0);
    assert_int_equal(hist_percentile(&h, 99), 0);
    assert_int_equal(hist_min(&h), 0);
    assert_true(hist_mean(&h) == 0.0);
    hist_release(&h);
}

static void test_hist__corrected(void **state)
{
    (void)state;
    hist h;
    assert_int_equal(hist_init(&h, 1, 100000, 3), 0);
    /* 100 with an expected interval of 20: the stalled requests would have seen 80, 60, 40, 20. */
    assert_true(hist_record_corrected(&h, 100, 20));
    assert_int_equal(hist_count(&h), 5);
    const int64_t want[] = {20, 40, 60, 80, 100};
    hist_iter it = HIST_ITER_INIT;
    for (size_t i = 0; i < 5; i++) {
        assert_true(hist_iter_next(&h, &it));
        assert_int_equal(it.lo, want[i]);
        assert_int_equal(it.count, 1);
    }
    assert_false(hist_iter_next(&h, &it));
    /* 50 with interval 20: 50, 30 (10 < 20 stops the back-fill) */
    hist_clear(&h);
    assert_true(hist_record_corrected(&h, 50, 20));
    assert_int_equal(hist_count(&h), 2);
    assert_int_equal(hist_min(&h), 30);
    hist_clear(&h);
    assert_true(hist_record_corrected(&h, 20, 20)); /* not late: alone */
    assert_true(hist_record_corrected(&h, 500, 0)); /* no interval: alone */
    assert_int_equal(hist_count(&h), 2);
    assert_false(hist_record_corrected(&h, 200000, 20));
    assert_int_equal(hist_count(&h), 2);
    assert_int_equal(h.over, 1);
    hist_release(&h);
}

static void assert_same(const hist *a, const hist *b)
{
    assert_int_equal(a->lowest, b->lowest);
    assert_int_equal(a->highest, b->highest);
    assert_int_equal(a->sigfigs, b->sigfigs);
    assert_int_equal(a->counts_len, b->counts_len);
    assert_int_equal(a->total, b->total);
    assert_int_equal(hist_min(a), hist_min(b));
    assert_int_equal(hist_max(a), hist_max(b));
    assert_int_equal(a->over, b->over);
    assert_int_equal(a->under, b->under);
    assert_memory_equal(a->counts, b->counts, (size_t)a->counts_len * sizeof *a->counts);
}

static void test_hist__merge_exact(void **state)
{
    (void)state;
    hist all, a, b;
    assert_int_equal(hist_init(&all, 1, 3600LL * 1000000000LL, 3), 0);
    assert_int_equal(hist_init(&a, 1, 3600LL * 1000000000LL, 3), 0);
    assert_int_equal(hist_init(&b, 1, 3600LL * 1000000000LL, 3), 0);
    for (int i = 0; i < 300000; i++) {
        int64_t v = draw((dist)(i % 3));
        if (i % 1000 == 0) v = -v - 1; /* out-of-range values merge too */
        hist_record(&all, v);
        hist_record(rnd() & 1 ? &a : &b, v);
    }
    assert_int_equal(hist_merge(&a, &b), 0);
    assert_same(&a, &all);
    hist empty;
    assert_int_equal(hist_init(&empty, 1, 3600LL * 1000000000LL, 3), 0);
    assert_int_equal(hist_merge(&a, &empty), 0);
    assert_same(&a, &all);
    assert_int_equal(hist_merge(&empty, &all), 0);
    assert_same(&empty, &all);

    hist other;
    assert_int_equal(hist_init(&other, 1, 3600LL * 1000000000LL, 2), 0);
    hist_record(&other, 5);
    assert_int_equal(hist_merge(&a, &other), HX_EUSAGE);
    assert_same(&a, &all);
    hist_release(&other);
    assert_int_equal(hist_init(&other, 1, 1000000, 3), 0);
    assert_int_equal(hist_merge(&a, &other), HX_EUSAGE);
    hist_release(&other);
    hist_release(&empty);
    hist_release(&all);
    hist_release(&a);
    hist_release(&b);
}

static void roundtrip(const hist *h)
{
    char *s = hist_encode(h);
    assert_non_null(s);
    assert_memory_equal(s, "hx1:", 4);
    hist *d = NULL;
    hx_err e = {0};
    int rc = hist_decode(s, &d, &e);
    if (rc) fail_msg("decode of own encoding failed: %s", e.msg);
    assert_same(d, h);
    char *s2 = hist_encode(d);
    assert_string_equal(s, s2); /* canonical */
    hx_free(s2);
    hx_free(s);
    hist_free(d);
}

static void test_hist__encode_roundtrip(void **state)
{
    (void)state;
    hist *h;
    assert_int_equal(hist_new(1, 3600LL * 1000000000LL, 3, &h), 0);
    roundtrip(h); /* empty */
    hist_record(h, 0);
    roundtrip(h);
    for (int i = 0; i < 100000; i++)
        hist_record(h, draw(D_LOGNORMAL));
    hist_record(h, -5);
    hist_record(h, INT64_MAX);
    roundtrip(h);
    char *s = hist_encode(h);
    printf("# lognormal 100k values, 3 sigfigs: %zu bytes encoded\n", strlen(s));
    hx_free(s);
    hist_free(h);
    for (int sf = 1; sf <= 5; sf++) {
        assert_int_equal(hist_new(7, INT64_MAX, sf, &h), 0);
        for (int i = 0; i < 2000; i++)
            hist_record_n(h, (int64_t)(rnd() >> (rnd() % 64)), (int64_t)(rnd() % 1000000));
        hist_record(h, INT64_MAX);
        roundtrip(h);
        hist_free(h);
    }
}

/* ---- hostile input ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Wrap a raw body the way the encoder does (checksum + base64url), so tests reach the checks
 * behind the checksum. */
static char *craft(const uint8_t *body, size_t n)
{
    uint8_t raw[512];
    assert_true(n + 4 <= sizeof raw);
    memcpy(raw, body, n);
    uint32_t sum = (uint32_t)hx_hash64(body, n);
    for (int i = 0; i < 4; i++)
        raw[n + i] = (uint8_t)(sum >> (8 * i));
    n += 4;
    char *s = malloc(4 + n / 3 * 4 + 5);
    strcpy(s, "hx1:");
    size_t o = 4;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | raw[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            s[o++] = b64[(acc >> bits) & 63];
        }
    }
    if (bits) s[o++] = b64[(acc << (6 - bits)) & 63];
    s[o] = 0;
    return s;
}

static void expect_reject(const char *s, const char *needle)
{
    hist *h = (hist *)1;
    hx_err e = {0};
    int rc = hist_decode(s, &h, &e);
    if (rc != HX_EUSAGE)
        fail_msg("decode of '%.60s' returned %d, want HX_EUSAGE", s ? s : "(null)", rc);
    assert_null(h);
    assert_int_equal(e.code, HX_EUSAGE);
    assert_true(strlen(e.msg) > 0);
    if (needle && !strstr(e.msg, needle)) fail_msg("message '%s' lacks '%s'", e.msg, needle);
}

static void expect_crafted_reject(const uint8_t *body, size_t n, const char *needle)
{
    char *s = craft(body, n);
    expect_reject(s, needle);
    free(s);
}

static void test_hist__decode_rejects_garbage(void **state)
{
    (void)state;
    expect_reject(NULL, "missing");
    expect_reject("", "hx1:");
    expect_reject("hx2:AAAA", "hx1:");
    expect_reject("hx1:", "truncated");
    expect_reject("hx1:A", "length");
    expect_reject("hx1:AAAA AAA", "character");
    expect_reject("hx1:AAAAAAAAAAAAAAAAAAAA=", "character");
    expect_reject("hx1:AAAAAAAAAAAAAAAAAAAA", "checksum");
    expect_reject("{\"not\":\"a histogram\"}", NULL);
    for (int t = 0; t < 2000; t++) {
        char buf[80] = "hx1:";
        size_t n = 4 + rnd() % 70;
        for (size_t i = 4; i < n; i++)
            buf[i] = (char)(rnd() % 2 ? b64[rnd() % 64] : (char)(rnd() % 255 + 1));
        buf[n] = 0;
        expect_reject(buf, NULL);
    }
}

static void test_hist__decode_rejects_truncated_and_corrupted(void **state)
{
    (void)state;
    hist *h;
    assert_int_equal(hist_new(1, 60LL * 1000000000LL, 3, &h), 0);
    for (int i = 0; i < 5000; i++)
        hist_record(h, draw(D_BIMODAL));
    char *s = hist_encode(h);
    size_t n = strlen(s);
    char *cut = malloc(n + 1);
    for (size_t k = 0; k < n; k++) {
        memcpy(cut, s, k);
        cut[k] = 0;
        expect_reject(cut, NULL);
    }
    for (size_t k = 4; k < n; k++) {
        strcpy(cut, s);
        for (int j = 1; j < 64; j += 7) {
            const char *pos = strchr(b64, s[k]);
            cut[k] = b64[((pos - b64) + j) % 64];
            expect_reject(cut, NULL);
        }
    }
    strcpy(cut, s);
    cut[n - 1] = 0;
    expect_reject(cut, NULL);
    free(cut);
    hx_free(s);
    hist_free(h);
}

static void test_hist__decode_rejects_crafted(void **state)
{
    (void)state;
    /* lowest 1, highest 1000, sigfigs 1: counts_len is small */
    const uint8_t good[] = {1, 0xe8, 0x07, 1, 5, 5, 0, 0, 4 /* count 2 at index 0 */};
    hist *h;
    assert_int_equal(hist_new(1, 1000, 1, &h), 0);
    int32_t len = h->counts_len;
    hist_free(h);
    /* the baseline is accepted only if min/max sit in the first bucket: index 0 holds value 0 */
    const uint8_t base[] = {1, 0xe8, 0x07, 1, 0, 0, 0, 0, 4};
    char *ok = craft(base, sizeof base);
    hx_err e = {0};
    assert_int_equal(hist_decode(ok, &h, &e), 0);
    assert_int_equal(hist_count(h), 2);
    hist_free(h);
    free(ok);

    expect_crafted_reject(good, sizeof good, "min/max");
    const uint8_t sig0[] = {1, 0xe8, 0x07, 0, 0, 0, 0, 0};
    expect_crafted_reject(sig0, sizeof sig0, "sigfigs");
    const uint8_t sig9[] = {1, 0xe8, 0x07, 9, 0, 0, 0, 0};
    expect_crafted_reject(sig9, sizeof sig9, "sigfigs");
    const uint8_t range[] = {0, 0xe8, 0x07, 1, 0, 0, 0, 0};
    expect_crafted_reject(range, sizeof range, "range");
    const uint8_t short_hdr[] = {1, 0xe8, 0x07, 1, 0, 0, 0};
    expect_crafted_reject(short_hdr, sizeof short_hdr, NULL);
    const uint8_t overlong[] = {0x81, 0x00, 0xe8, 0x07, 1, 0, 0, 0, 0};
    expect_crafted_reject(overlong, sizeof overlong, "lowest");
    const uint8_t huge[] = {1,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                            0xff, 0xff, 0x01, 1,    0,    0,    0,    0};
    expect_crafted_reject(huge, sizeof huge, "highest");
    const uint8_t zero_run[] = {1, 0xe8, 0x07, 1, 0, 0, 0, 0, 0};
    expect_crafted_reject(zero_run, sizeof zero_run, "zero-length");
    const uint8_t trailing_skip[] = {1, 0xe8, 0x07, 1, 0, 0, 0, 0, 4, 1};
    expect_crafted_reject(trailing_skip, sizeof trailing_skip, "trailing");
    const uint8_t two_skips[] = {1, 0xe8, 0x07, 1, 0, 0, 0, 0, 1, 1, 4};
    expect_crafted_reject(two_skips, sizeof two_skips, "skips");
    uint8_t past[] = {1, 0xe8, 0x07, 1, 0, 0, 0, 0, 0, 0, 4};
    past[8] = (uint8_t)((2 * len - 1) & 0x7f) | 0x80; /* skip len counters, then a count */
    past[9] = (uint8_t)((2 * len - 1) >> 7);
    assert_true((2 * len - 1) >> 14 == 0);
    expect_crafted_reject(past, sizeof past, "past");
    const uint8_t bad_varint[] = {1, 0xe8, 0x07, 1, 0, 0, 0, 0, 0x84};
    expect_crafted_reject(bad_varint, sizeof bad_varint, "varint");
    /* two counts of INT64_MAX/2+1 overflow the total */
    const uint8_t ovf[] = {1,    0xe8, 0x07, 1,    0,    1,    0,    0,    0x80, 0x80,
                           0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x80, 0x80,
                           0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    expect_crafted_reject(ovf, sizeof ovf, "overflow");
    const uint8_t empty_minmax[] = {1, 0xe8, 0x07, 1, 3, 3, 0, 0};
    expect_crafted_reject(empty_minmax, sizeof empty_minmax, "empty");
    const uint8_t field_big[] = {1,    0xe8, 0x07, 1,    0,    0,    0x80, 0x80,
                                 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    expect_crafted_reject(field_big, sizeof field_big, "over");
}

static void test_hist__out_of_memory(void **state)
{
    (void)state;
    hist h;
    hx_alloc_fail_after(0);
    assert_int_equal(hist_init(&h, 1, 1000000, 3), HX_ENOMEM);
    hist *hp = (hist *)1;
    assert_int_equal(hist_new(1, 1000000, 3, &hp), HX_ENOMEM);
    assert_null(hp);
    hx_alloc_fail_after(1);
    assert_int_equal(hist_new(1, 1000000, 3, &hp), HX_ENOMEM);
    assert_null(hp);
    hx_alloc_fail_after(-1);

    assert_int_equal(hist_new(1, 1000000, 3, &hp), 0);
    for (int i = 0; i < 1000; i++)
        hist_record(hp, (int64_t)(rnd() % 1000000));
    char *s = hist_encode(hp);
    for (long k = 0; k < 6; k++) {
        hx_alloc_fail_after(k);
        char *t = hist_encode(hp);
        hx_alloc_fail_after(-1);
        if (t) /* an encoding that succeeded is whole */
            assert_string_equal(t, s);
        hx_free(t);
        hist *d = NULL;
        hx_err e = {0};
        hx_alloc_fail_after(k);
        int rc = hist_decode(s, &d, &e);
        hx_alloc_fail_after(-1);
        if (rc == 0) {
            assert_same(d, hp);
            hist_free(d);
        } else {
            assert_int_equal(rc, HX_ENOMEM);
            assert_int_equal(e.code, HX_ENOMEM);
            assert_null(d);
        }
    }
    hx_free(s);
    hist_free(hp);
}

/* A value taken back (an answer superseded by a later one) leaves the histogram as if it had
 * never been recorded, its extremes to the precision of the buckets. */
static void test_hist__unrecord_takes_a_value_back(void **state)
{
    (void)state;
    hist *h = NULL, *w = NULL;
    assert_int_equal(hist_new(1000, 3600000000000LL, 3, &h), 0);
    assert_int_equal(hist_new(1000, 3600000000000LL, 3, &w), 0);
    int64_t vs[] = {12000000, 300000000, 302000000, 305000000, 900000000};
    for (size_t i = 0; i < 5; i++)
        assert_true(hist_record(h, vs[i]));
    for (size_t i = 1; i < 4; i++)
        assert_true(hist_record(w, vs[i]));
    assert_true(hist_unrecord(h, 12000000));  /* the minimum */
    assert_true(hist_unrecord(h, 900000000)); /* the maximum */
    assert_false(hist_unrecord(h, 5000000));  /* never recorded: nothing changes */
    assert_int_equal(hist_count(h), 3);
    /* The median is exact; the extremes are known to their buckets. */
    assert_int_equal(hist_percentile(h, 50), hist_percentile(w, 50));
    assert_true(hist_min(h) <= 300000000 && hist_min(h) >= hist_lowest_equivalent(h, 300000000));
    assert_true(hist_max(h) >= 305000000 && hist_max(h) <= hist_highest_equivalent(h, 305000000));
    assert_true(hist_unrecord(h, 300000000));
    assert_true(hist_unrecord(h, 302000000));
    assert_true(hist_unrecord(h, 305000000));
    assert_int_equal(hist_count(h), 0);
    assert_int_equal(hist_min(h), 0);
    assert_int_equal(hist_max(h), 0);
    hist_free(h);
    hist_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist__unrecord_takes_a_value_back),
        cmocka_unit_test(test_hist__oracle_uniform),
        cmocka_unit_test(test_hist__oracle_lognormal),
        cmocka_unit_test(test_hist__oracle_bimodal),
        cmocka_unit_test(test_hist__workload_clients_merged_match_sorted),
        cmocka_unit_test(test_hist__oracle_small_values),
        cmocka_unit_test(test_hist__five_sigfigs),
        cmocka_unit_test(test_hist__equivalent_ranges),
        cmocka_unit_test(test_hist__bad_config),
        cmocka_unit_test(test_hist__out_of_range_counted),
        cmocka_unit_test(test_hist__corrected),
        cmocka_unit_test(test_hist__merge_exact),
        cmocka_unit_test(test_hist__encode_roundtrip),
        cmocka_unit_test(test_hist__decode_rejects_garbage),
        cmocka_unit_test(test_hist__decode_rejects_truncated_and_corrupted),
        cmocka_unit_test(test_hist__decode_rejects_crafted),
        cmocka_unit_test(test_hist__out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
