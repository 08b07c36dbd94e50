/* test_gen.c - the generator: determinism, every column kind, every fault kind (observed rates
 * and the ledger lines), cursors, batches and the row hook. */
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "fmt.h"
#include "gen_fixture.h"
#include "ledger.h"
#include "rng.h"

/* |observed - expected| within 5 binomial standard deviations (false failure ~ 6e-7). */
static void assert_binomial(uint64_t hits, uint64_t n, double p)
{
    double sd = sqrt(n * p * (1 - p)), diff = fabs((double)hits - n * p);
    if (diff > 5 * sd + 1)
        fail_msg("observed %llu of %llu, expected p=%g (%.1f sd off)", (unsigned long long)hits,
                 (unsigned long long)n, p, diff / (sd > 0 ? sd : 1));
}

static gen *must_gen(plan_scenario *s)
{
    gen *g = NULL;
    hx_err e = {0};
    if (gen_new(s, &g, &e) != 0) fail_msg("gen_new: %s", e.msg);
    return g;
}

static void test_gen__same_seed_same_bytes(void **state)
{
    (void)state;
    plan_scenario *s = fx_scenario();
    fx_orders(s, 20000, 42);
    fx_fault(&s->datasets[0], PLAN_F_DUPLICATE, 0.05, -1)->gap = 7;
    fx_fault(&s->datasets[0], PLAN_F_CORRUPT, 0.02, -1);
    gen *g = must_gen(s);
    char sha1[65], sha2[65], sha3[65];
    size_t n1, n2, n3;
    uint64_t em;
    char *a = fx_write(g, 0, PLAN_FMT_CSV, -1, &n1, sha1, &em);
    gen_free(g);
    g = must_gen(s); /* a fresh generator: nothing carried over */
    char *b = fx_write(g, 0, PLAN_FMT_CSV, -1, &n2, sha2, NULL);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1);
    assert_string_equal(sha1, sha2);
    assert_int_equal(em, gen_emissions(g, 0));
    assert_true(em > 20000);
    gen_free(g);
    /* The sha is of exactly the bytes written. */
    hx_sha256 h;
    char hex[65];
    hx_sha256_init(&h);
    hx_sha256_update(&h, a, n1);
    hx_sha256_final(&h, hex);
    assert_string_equal(hex, sha1);
    s->datasets[0].seed = 43;
    g = must_gen(s);
    char *c = fx_write(g, 0, PLAN_FMT_CSV, -1, &n3, sha3, NULL);
    assert_string_not_equal(sha1, sha3);
    gen_free(g);
    free(a);
    free(b);
    free(c);
    fx_free(s);
}

/* Every emission the cursor hands out is what gen_record_at builds alone. */
static void test_gen__record_at_matches_cursor(void **state)
{
    (void)state;
    plan_scenario *s = fx_scenario();
    plan_dataset *d = fx_orders(s, 5000, 7);
    fx_fault(d, PLAN_F_DUPLICATE, 0.1, -1)->changed = 0.5;
    d->faults[0].gap = 3;
    fx_fault(d, PLAN_F_NULLS, 0.1, 1);
    fx_fault(d, PLAN_F_LATE, 0.1, -1)->delay_us = 3600000000LL;
    fx_fault(d, PLAN_F_CORRUPT, 0.05, -1);
    gen *g = must_gen(s);
    gen_cursor c;
    gen_record r;
    hx_err e = {0};
    hx_buf x, y;
    hx_buf_init(&x);
    hx_buf_init(&y);
    assert_int_equal(gen_cursor_init(&c, g, 0, -1, &e), 0);
    assert_int_equal(gen_record_init(&r, d->ncols), 0);
    const gen_record *cr;
    uint64_t n = 0, copies = 0, changed = 0;
    while (gen_cursor_next(&c, &cr, &e) > 0) {
        assert_int_equal(gen_record_at(g, 0, cr->id, cr->copy, &r, &e), 0);
        hx_buf_clear(&x);
        hx_buf_clear(&y);
        fmt_record(&x, d, PLAN_FMT_JSONL, cr);
        fmt_record(&y, d, PLAN_FMT_JSONL, &r);
        assert_string_equal(x.data, y.data);
        assert_int_equal(cr->faults, r.faults);
        assert_int_equal(cr->batch, r.batch);
        n++;
        copies += cr->copy;
        changed += cr->changed;
    }
    assert_int_equal(n, gen_emissions(g, 0));
    assert_int_equal(n, 5000 + copies);
    assert_binomial(copies, 5000, 0.1);
    assert_binomial(changed, copies, 0.5);
    /* copy 1 of a record that was not duplicated does not exist */
    uint64_t id = 0;
    while (gen_fault_hits(g, 0, id, PLAN_F_DUPLICATE))
        id++;
    assert_int_equal(gen_record_at(g, 0, id, 1, &r, &e), HX_EUSAGE);
    assert_int_equal(gen_record_at(g, 0, 5000, 0, &r, &e), HX_EUSAGE);
    hx_buf_release(&x);
    hx_buf_release(&y);
    gen_record_release(&r);
    gen_cursor_release(&c);
    gen_free(g);
    fx_free(s);
}

/* Exact copies serialise byte-identically; the copy follows the original after `gap` originals. */
static void test_gen__duplicates_order_and_bytes(void **state)
{
    (void)state;
    plan_scenario *s = fx_scenario();
    plan_dataset *d = fx_orders(s, 3000, 9);
    fx_fault(d, PLAN_F_DUPLICATE, 0.2, -1)->gap = 5;
    gen *g = must_gen(s);
    gen_cursor c;
    hx_err e = {0};
    const gen_record *r;
    assert_int_equal(gen_cursor_init(&c, g, 0, -1, &e), 0);
    hx_buf line;
    hx_buf_init(&line);
    char **orig = calloc(3000, sizeof(char *));
    uint64_t last_orig = 0, copies = 0;
    while (gen_cursor_next(&c, &r, &e) > 0) {
        hx_buf_clear(&line);
        fmt_record(&line, d, PLAN_FMT_CSV, r);
        if (!r->copy) {
            orig[r->id] = strdup(line.data);
            last_orig = r->id;
            continue;
        }
        copies++;
        assert_non_null(orig[r->id]);
        assert_string_equal(orig[r->id], line.data); /* changed = 0: exact */
        assert_int_equal(last_orig, r->id + 5 < 3000 ? r->id + 5 : 2999);
        assert_true(r->faults & (1u << PLAN_F_DUPLICATE));
    }
    assert_binomial(copies, 3000, 0.2);
    for (int i = 0; i < 3000; i++)
        free(orig[i]);
    free(orig);
    hx_buf_release(&line);
    gen_cursor_release(&c);
    gen_free(g);
    fx_free(s);
}

/* Cursors over consecutive id ranges hand out exactly the emissions of one cursor over all ids,
 * in the same order, for gaps shorter and longer than a range. */
static void test_gen__ranges_concatenate(void **state)
{
    (void)state;
    static const uint64_t gaps[] = {0, 3, 40};
    static const uint64_t cuts[] = {0, 1, 7, 30, 31, 500, 1999, 2000};
    for (size_t gi = 0; gi < sizeof gaps / sizeof gaps[0]; gi++) {
        plan_scenario *s = fx_scenario();
        plan_dataset *d = fx_orders(s, 2000, 11);
        fx_fault(d, PLAN_F_DUPLICATE, 0.2, -1)->gap = gaps[gi];
        gen *g = must_gen(s);
        gen_cursor c;
        hx_err e = {0};
        const gen_record *r;
        uint64_t *want = calloc(4000, sizeof *want), n = 0;
        assert_int_equal(gen_cursor_init(&c, g, 0, -1, &e), 0);
        while (gen_cursor_next(&c, &r, &e) > 0)
            want[n++] = r->id * 2 + r->copy;
        gen_cursor_release(&c);
        uint64_t k = 0;
        for (size_t ci = 0; ci + 1 < sizeof cuts / sizeof cuts[0]; ci++) {
            assert_int_equal(gen_cursor_init_range(&c, g, 0, cuts[ci], cuts[ci + 1], &e), 0);
            while (gen_cursor_next(&c, &r, &e) > 0) {
                assert_true(k < n);
                assert_int_equal(want[k], r->id * 2 + r->copy);
                k++;
            }
            gen_cursor_release(&c);
        }
        assert_int_equal(k, n);
        assert_true(n > 2000);
        free(want);
        gen_free(g);
        fx_free(s);
    }
}

/* A dataset big enough for fmt_write_dataset's worker threads writes exactly the bytes of one
 * cursor formatted in order, in both formats, with every record-shaping fault on. */
static void test_gen__parallel_write_matches_cursor(void **state)
{
    (void)state;
    plan_scenario *s = fx_scenario();
    plan_dataset *d = fx_orders(s, 150001, 5);
    fx_fault(d, PLAN_F_DUPLICATE, 0.05, -1)->gap = 100;
    d->faults[0].changed = 0.5;
    fx_fault(d, PLAN_F_NULLS, 0.05, 1);
    fx_fault(d, PLAN_F_LATE, 0.05, -1)->delay_us = 3600000000LL;
    fx_fault(d, PLAN_F_CORRUPT, 0.01, -1);
    gen *g = must_gen(s);
    static const plan_format fmts[] = {PLAN_FMT_CSV, PLAN_FMT_JSONL};
    for (size_t fi = 0; fi < 2; fi++) {
        hx_buf want;
        hx_buf_init(&want);
        gen_cursor c;
        hx_err e = {0};
        const gen_record *r;
        assert_true(fmt_header(&want, d, fmts[fi], 0));
        assert_int_equal(gen_cursor_init(&c, g, 0, -1, &e), 0);
        while (gen_cursor_next(&c, &r, &e) > 0)
            assert_true(fmt_record(&want, d, fmts[fi], r));
        uint64_t emitted = c.emitted, em = 0;
        gen_cursor_release(&c);
        char sha[65], hex[65];
        size_t n;
        char *got = fx_write(g, 0, fmts[fi], -1, &n, sha, &em);
        assert_non_null(got);
        assert_int_equal(n, want.len);
        assert_memory_equal(got, want.data, n);
        assert_int_equal(em, emitted);
        hx_sha256 h;
        hx_sha256_init(&h);
        hx_sha256_update(&h, want.data, want.len);
        hx_sha256_final(&h, hex);
        assert_string_equal(sha, hex);
        free(got);
        hx_buf_release(&want);
    }
    gen_free(g);
    fx_free(s);
}

/* ZIPF parents of a dataset big enough for the generator's lookup table are exactly the inverse
 * CDF computed with pow() / exp() on every draw, at skew 1 and off it. */
static void test_gen__zipf_table_is_exact(void **state)
{
    (void)state;
    static const double skews[] = {1.1, 1.0, 0.7};
    plan_scenario *s = fx_scenario();
    plan_dataset *cust = fx_dataset(s, "customers", 100000, 1);
    fx_col(cust, "cid", PLAN_COL_SEQUENCE, PLAN_T_INT)->u.seq.step = 1;
    plan_dataset *ord = fx_dataset(s, "orders", 600000, 2);
    for (int k = 0; k < 3; k++) {
        plan_column *c = fx_col(ord, k == 0 ? "z0" : k == 1 ? "z1" : "z2", PLAN_COL_FK, PLAN_T_INT);
        c->u.fk.dataset = 0;
        c->u.fk.column = 0;
        c->u.fk.mode = PLAN_FK_ZIPF;
        c->u.fk.skew = skews[k];
    }
    gen *g = must_gen(s);
    gen_record r;
    hx_err e = {0};
    assert_int_equal(gen_record_init(&r, 3), 0);
    double n1 = 100001.0;
    uint64_t keys[3];
    for (int k = 0; k < 3; k++)
        keys[k] = rng_key(ord->seed, (uint64_t)k); /* the value stream of column k */
    for (uint64_t id = 0; id < 600000; id++) {
        assert_int_equal(gen_record_at(g, 1, id, 0, &r, &e), 0);
        for (int k = 0; k < 3; k++) {
            double sk = skews[k], u = rng_unit(rng_draw(keys[k], id, 0));
            double x = sk == 1.0 ? exp(u * log(n1))
                                 : pow(1.0 + u * (pow(n1, 1.0 - sk) - 1.0), 1.0 / (1.0 - sk));
            uint64_t pid = x < 1.0 ? 0 : (uint64_t)x - 1;
            if (pid > 99999) pid = 99999;
            if ((uint64_t)r.vals[k].i != pid)
                fail_msg("record %llu column %d: %lld, pow() says %llu", (unsigned long long)id, k,
                         (long long)r.vals[k].i, (unsigned long long)pid);
        }
    }
    gen_record_release(&r);
    gen_free(g);
    fx_free(s);
}

/* Categorical picks (a guide table and a short scan) are exactly the first value whose cumulative
 * weight exceeds the draw, also past 256 values and with zero weights; rounding to the scale and
 * outliers' factors round halves away from zero, exactly as llround(). */
static void test_gen__exact_shortcuts(void **state)
{
    (void)state;
    enum { N = 200000, NV = 300 };
    static const char *few[] = {"x", "y", "z", NULL};
    static const double few_w[] = {0, 1, 0};
    const char *many[NV + 1];
    double many_w[NV];
    char names[NV][8];
    for (int i = 0; i < NV; i++) {
        snprintf(names[i], sizeof names[i], "v%d", i);
        many[i] = names[i];
        many_w[i] = i < 10 ? 1000 : i % 7 == 0 ? 0 : 1 + i % 3; /* a head, then a long thin tail */
    }
    many[NV] = NULL;
    plan_scenario *s = fx_scenario();
    for (int k = 0; k < 2; k++) { /* dataset 1 is dataset 0 hit by outliers on every record */
        plan_dataset *d = fx_dataset(s, k ? "hit" : "clean", N, 4242);
        fx_cat(d, "many", PLAN_T_STRING, many, many_w);
        fx_cat(d, "few", PLAN_T_STRING, few, few_w);
        plan_column *c = fx_col(d, "odd", PLAN_COL_INT, PLAN_T_INT);
        c->u.irange.min = -1001;
        c->u.irange.max = 1001;
        c = fx_col(d, "half", PLAN_COL_DECIMAL, PLAN_T_DECIMAL);
        c->scale = 2;
        c->u.drange.min = c->u.drange.max = k ? -0.125 : 0.125; /* 12.5 cents */
        if (k) fx_fault(d, PLAN_F_OUTLIERS, 1.0, 2)->factor = 0.5;
    }
    gen *g = must_gen(s);
    gen_record a, b;
    hx_err e = {0};
    assert_int_equal(gen_record_init(&a, 4), 0);
    assert_int_equal(gen_record_init(&b, 4), 0);
    const plan_column *cols = s->datasets[0].cols;
    for (uint64_t id = 0; id < N; id++) {
        assert_int_equal(gen_record_at(g, 0, id, 0, &a, &e), 0);
        assert_int_equal(gen_record_at(g, 1, id, 0, &b, &e), 0);
        for (int c = 0; c < 2; c++) {
            double u = rng_unit(rng_draw(rng_key(4242, (uint64_t)c), id, 0));
            size_t lo = 0, hi = cols[c].u.cat.n - 1;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (cols[c].u.cat.cum[mid] > u)
                    hi = mid;
                else
                    lo = mid + 1;
            }
            assert_string_equal(a.vals[c].s, cols[c].u.cat.values[lo]);
            assert_int_equal(a.vals[c].len, strlen(cols[c].u.cat.values[lo]));
        }
        assert_int_equal(b.vals[2].i, llround(a.vals[2].i * 0.5));
        assert_int_equal(a.vals[3].i, 13);
        assert_int_equal(b.vals[3].i, -13);
    }
    gen_record_release(&a);
    gen_record_release(&b);
    gen_free(g);
    fx_free(s);
}

static void test_gen__column_kinds(void **state)
{
    (void)state;
    enum { N = 100000 };
    static const char *cv[] = {"a", "b", "c", "d", NULL};
    static const double cw[] = {0.1, 0.2, 0.3, 0.4};
    static const char *iv[] = {"10", "20", NULL};
    static const double iw[] = {3, 1};
    plan_scenario *s = fx_scenario();
    plan_dataset *d = fx_dataset(s, "k", N, 1234);
    plan_column *c = fx_col(d, "seq", PLAN_COL_SEQUENCE, PLAN_T_INT);
    c->u.seq.start = 100;
    c->u.seq.step = 3;
    c = fx_col(d, "i", PLAN_COL_INT, PLAN_T_INT);
    c->u.irange.min = -5;
    c->u.irange.max = 5;
    c = fx_col(d, "dec", PLAN_COL_DECIMAL, PLAN_T_DECIMAL);
    c->scale = 3;
    c->u.drange.min = 0.5;
    c->u.drange.max = 2.5;
    c = fx_col(d, "norm", PLAN_COL_NORMAL, PLAN_T_DECIMAL);
    c->scale = 4;
    c->u.normal.mean = 50;
    c->u.normal.sd = 10;
    c = fx_col(d, "logn", PLAN_COL_LOGNORMAL, PLAN_T_DECIMAL);
    c->scale = 4;
    c->u.normal.mean = 1;
    c->u.normal.sd = 0.5;
    fx_cat(d, "cat", PLAN_T_STRING, cv, cw);
    fx_cat(d, "icat", PLAN_T_INT, iv, iw);
    c = fx_col(d, "ts", PLAN_COL_TIMESTAMP, PLAN_T_TIMESTAMP);
    c->u.ts.start_us = FX_T0;
    c->u.ts.rate = 4;
    c->u.ts.jitter_us = 100000;
    c = fx_col(d, "pat", PLAN_COL_PATTERN, PLAN_T_STRING);
    c->u.pat.pattern = hx_strdup("X-##-Aa?\\#{u|vv}");
    c = fx_col(d, "b", PLAN_COL_BOOL, PLAN_T_BOOL);
    c->u.boolean.p = 0.25;
    c = fx_col(d, "u", PLAN_COL_UUID, PLAN_T_UUID);
    c->null_frac = 0.1;
    gen *g = must_gen(s);
    gen_cursor cur;
    hx_err e = {0};
    const gen_record *r;
    assert_int_equal(gen_cursor_init(&cur, g, 0, -1, &e), 0);
    uint64_t ihit[11] = {0}, cat[4] = {0}, i10 = 0, btrue = 0, unull = 0, lbelow = 0;
    double sum = 0, sum2 = 0;
    bool dec_lo = false, dec_hi = false;
    while (gen_cursor_next(&cur, &r, &e) > 0) {
        const gen_value *v = r->vals;
        assert_int_equal(v[0].i, 100 + 3 * (int64_t)r->id);
        assert_in_range(v[1].i + 5, 0, 10);
        ihit[v[1].i + 5]++;
        assert_in_range(v[2].i, 500, 2500);
        dec_lo |= v[2].i == 500;
        dec_hi |= v[2].i == 2500;
        double x = v[3].i / 1e4;
        sum += x;
        sum2 += x * x;
        lbelow += v[4].i < (int64_t)llround(exp(1.0) * 1e4);
        cat[v[5].s[0] - 'a']++;
        assert_int_equal(v[5].len, 1);
        assert_true(v[6].i == 10 || v[6].i == 20);
        i10 += v[6].i == 10;
        int64_t base = FX_T0 + (int64_t)r->id * 250000;
        assert_in_range(v[7].i, base, base + 99999);
        /* "X-##-Aa?\#{u|vv}" */
        const char *p = v[8].s;
        assert_true(p[0] == 'X' && p[1] == '-' && isdigit((unsigned char)p[2]) &&
                    isdigit((unsigned char)p[3]) && p[4] == '-' && isupper((unsigned char)p[5]) &&
                    islower((unsigned char)p[6]) && isalnum((unsigned char)p[7]) && p[8] == '#');
        assert_true(strcmp(p + 9, "u") == 0 || strcmp(p + 9, "vv") == 0);
        assert_int_equal(v[8].len, strlen(p));
        btrue += v[9].i;
        if (v[10].null) {
            unull++;
        } else {
            assert_int_equal(v[10].len, 36);
            assert_int_equal(v[10].s[14], '4');
            assert_non_null(strchr("89ab", v[10].s[19]));
            assert_true(v[10].s[8] == '-' && v[10].s[13] == '-' && v[10].s[23] == '-');
        }
    }
    for (int i = 0; i < 11; i++)
        assert_binomial(ihit[i], N, 1.0 / 11);
    assert_true(dec_lo && dec_hi);
    double mean = sum / N, sd = sqrt(sum2 / N - mean * mean);
    assert_true(fabs(mean - 50) < 0.2);
    assert_true(fabs(sd - 10) < 0.2);
    assert_binomial(lbelow, N, 0.5); /* the median of exp(N(1, .5)) is e */
    for (int i = 0; i < 4; i++)
        assert_binomial(cat[i], N, cw[i]);
    assert_binomial(i10, N, 0.75);
    assert_binomial(btrue, N, 0.25);
    assert_binomial(unull, N, 0.1);
    gen_cursor_release(&cur);
    gen_free(g);
    fx_free(s);
}

/* Foreign keys: values exist in the parent, chains resolve, SPREAD is ordered, ZIPF is skewed,
 * cycles are refused. */
static void test_gen__foreign_keys(void **state)
{
    (void)state;
    plan_scenario *s = fx_scenario();
    plan_dataset *cust = fx_dataset(s, "customers", 1000, 1);
    plan_column *c = fx_col(cust, "cid", PLAN_COL_SEQUENCE, PLAN_T_INT);
    c->u.seq.start = 5000;
    c->u.seq.step = 2;
    c = fx_col(cust, "code", PLAN_COL_PATTERN, PLAN_T_STRING);
    c->u.pat.pattern = hx_strdup("C-?????");
    plan_dataset *ord = fx_dataset(s, "orders", 20000, 2);
    c = fx_col(ord, "oid", PLAN_COL_SEQUENCE, PLAN_T_INT);
    c->u.seq.step = 1;
    c = fx_col(ord, "cust", PLAN_COL_FK, PLAN_T_INT);
    c->u.fk.dataset = 0;
    c->u.fk.column = 0;
    c = fx_col(ord, "spread", PLAN_COL_FK, PLAN_T_INT);
    c->u.fk.dataset = 0;
    c->u.fk.column = 0;
    c->u.fk.mode = PLAN_FK_SPREAD;
    c = fx_col(ord, "zipf", PLAN_COL_FK, PLAN_T_INT);
    c->u.fk.dataset = 0;
    c->u.fk.column = 0;
    c->u.fk.mode = PLAN_FK_ZIPF;
    c->u.fk.skew = 1.2;
    c = fx_col(ord, "code", PLAN_COL_FK, PLAN_T_STRING);
    c->u.fk.dataset = 0;
    c->u.fk.column = 1;
    plan_dataset *items = fx_dataset(s, "items", 5000, 3);
    c = fx_col(items, "cust_code", PLAN_COL_FK, PLAN_T_STRING); /* through orders.code */
    c->u.fk.dataset = 1;
    c->u.fk.column = 4;
    gen *g = must_gen(s);
    hx_err e = {0};
    /* all parent codes */
    gen_record pr;
    assert_int_equal(gen_record_init(&pr, 2), 0);
    char(*codes)[8] = calloc(1000, 8);
    for (uint64_t i = 0; i < 1000; i++) {
        assert_int_equal(gen_record_at(g, 0, i, 0, &pr, &e), 0);
        memcpy(codes[i], pr.vals[1].s, 8);
    }
    gen_cursor cur;
    const gen_record *r;
    assert_int_equal(gen_cursor_init(&cur, g, 1, -1, &e), 0);
    int64_t prev_spread = 0;
    uint64_t zipf0 = 0, zipf_last = 0;
    while (gen_cursor_next(&cur, &r, &e) > 0) {
        for (int k = 1; k <= 3; k++) {
            int64_t v = r->vals[k].i;
            assert_in_range(v, 5000, 5000 + 2 * 999);
            assert_int_equal((v - 5000) % 2, 0);
        }
        assert_true(r->vals[2].i >= prev_spread);
        prev_spread = r->vals[2].i;
        assert_int_equal(r->vals[2].i, 5000 + 2 * (int64_t)(r->id * 1000 / 20000));
        zipf0 += r->vals[3].i == 5000;
        zipf_last += r->vals[3].i == 5000 + 2 * 999;
        bool found = false;
        for (int i = 0; i < 1000 && !found; i++)
            found = strcmp(codes[i], r->vals[4].s) == 0;
        assert_true(found);
    }
    assert_true(zipf0 > 20 * (zipf_last + 1));
    gen_cursor_release(&cur);
    assert_int_equal(gen_cursor_init(&cur, g, 2, -1, &e), 0);
    while (gen_cursor_next(&cur, &r, &e) > 0) {
        bool found = false;
        for (int i = 0; i < 1000 && !found; i++)
            found = strcmp(codes[i], r->vals[0].s) == 0;
        assert_true(found);
    }
    gen_cursor_release(&cur);
    gen_free(g);
    /* a cycle: customers.cid -> items.cust_code -> orders.code -> customers.cid */
    plan_column *cid = &s->datasets[0].cols[1];
    hx_free(cid->u.pat.pattern);
    cid->kind = PLAN_COL_FK;
    cid->u.fk.dataset = 2;
    cid->u.fk.column = 0;
    cid->u.fk.mode = PLAN_FK_UNIFORM;
    assert_int_equal(gen_new(s, &g, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "cycle"));
    cid->kind = PLAN_COL_SEQUENCE; /* so release does not free a pattern twice */
    free(codes);
    gen_record_release(&pr);
    fx_free(s);
}

/* Find the ledger line of (id, copy, fault index) in the parsed ledger. */
typedef struct lline {
    uint64_t id;
    unsigned copy;
    size_t fi;
    json_t *j;
} lline;

static json_t *read_ledger(gen *g, size_t ds)
{
    char *data = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&data, &n);
    hx_err e = {0};
    assert_int_equal(ledger_write(g, ds, m, &e), 0);
    fclose(m);
    json_t *arr = json_array();
    char *line = data, *nl;
    while ((nl = strchr(line, '\n'))) {
        json_error_t je;
        json_t *j = json_loadb(line, (size_t)(nl - line), 0, &je);
        if (!j) fail_msg("bad ledger line: %.*s", (int)(nl - line), line);
        json_array_append_new(arr, j);
        line = nl + 1;
    }
    free(data);
    return arr;
}

/* Each fault kind: the observed rate matches the fraction, and the ledger has exactly one line
 * per hit with the right id, copy and detail. */
static void test_gen__faults_and_ledger_lines(void **state)
{
    (void)state;
    enum { N = 100000 };
    plan_scenario *s = fx_scenario();
    plan_dataset *par = fx_dataset(s, "parents", 500, 77);
    plan_column *pc = fx_col(par, "pid", PLAN_COL_SEQUENCE, PLAN_T_INT);
    pc->u.seq.step = 1;
    plan_dataset *d = fx_orders(s, N, 99);
    plan_column *fk = fx_col(d, "parent", PLAN_COL_FK, PLAN_T_INT);
    fk->u.fk.dataset = 0;
    fk->u.fk.column = 0;
    plan_fault *f = fx_fault(d, PLAN_F_DUPLICATE, 0.03, -1);
    f->gap = 10;
    f->changed = 0.5;
    fx_fault(d, PLAN_F_LATE, 0.04, -1)->delay_us = 2 * 3600 * 1000000LL;
    fx_fault(d, PLAN_F_OUT_OF_ORDER, 0.05, -1)->delay_us = 60000000;
    fx_fault(d, PLAN_F_NULLS, 0.06, 2);
    fx_fault(d, PLAN_F_CORRUPT, 0.02, -1);
    fx_fault(d, PLAN_F_OUTLIERS, 0.01, 1)->factor = 100;
    fx_fault(d, PLAN_F_ORPHANS, 0.015, -1);
    f = fx_fault(d, PLAN_F_SCHEMA_DRIFT, 0, 1);
    f->drift = PLAN_DRIFT_RENAME;
    f->at_batch = 2;
    f->name = hx_strdup("amount_usd");
    d->batching = PLAN_BATCH_COUNT;
    d->nbatches = 4;
    const double frac[] = {0.03, 0.04, 0.05, 0.06, 0.02, 0.01, 0.015};
    gen *g = must_gen(s);
    json_t *led = read_ledger(g, 1);
    /* index ledger lines by (id, copy, fault) */
    size_t nl = json_array_size(led);
    uint64_t per_fault[8] = {0};
    unsigned char *seen = calloc((size_t)N * 2 * 8, 1);
    for (size_t i = 0; i < nl; i++) {
        json_t *j = json_array_get(led, i);
        uint64_t id = (uint64_t)json_integer_value(json_object_get(j, "id"));
        unsigned copy = (unsigned)json_integer_value(json_object_get(j, "copy"));
        size_t fi = (size_t)json_integer_value(json_object_get(j, "fault_index"));
        assert_string_equal(json_string_value(json_object_get(j, "dataset")), "orders");
        assert_true(id < N && copy <= 1 && fi < 8);
        assert_int_equal(seen[(id * 2 + copy) * 8 + fi], 0);
        seen[(id * 2 + copy) * 8 + fi] = 1;
        if (!copy || fi == 0) per_fault[fi]++;
    }
    /* walk every emission; each hit must have its line with the right detail, and each line a
     * hit */
    gen_cursor cur;
    hx_err e = {0};
    const gen_record *r;
    size_t li = 0, lines_checked = 0;
    uint64_t late_ineligible = 0;
    assert_int_equal(gen_cursor_init(&cur, g, 1, -1, &e), 0);
    gen_record clean;
    assert_int_equal(gen_record_init(&clean, d->ncols), 0);
    while (gen_cursor_next(&cur, &r, &e) > 0) {
        for (size_t fi = 0; fi < 8; fi++) {
            bool hit = (r->hit_mask >> fi) & 1;
            assert_int_equal(hit, seen[(r->id * 2 + r->copy) * 8 + fi]);
            if (fi == 0 && !r->copy)
                assert_int_equal(hit, 0); /* the copy carries the duplicate, not the original */
            if (!hit) continue;
            /* lines come in emission order: find this one */
            json_t *j = json_array_get(led, li++);
            assert_int_equal(json_integer_value(json_object_get(j, "id")), r->id);
            assert_int_equal(json_integer_value(json_object_get(j, "fault_index")), fi);
            assert_int_equal(json_integer_value(json_object_get(j, "batch")), r->batch);
            const char *detail = json_string_value(json_object_get(j, "detail"));
            const char *col = json_string_value(json_object_get(j, "column"));
            lines_checked++;
            switch (fi) {
            case 0:
                assert_string_equal(detail, r->changed ? "changed" : "exact");
                break;
            case 1:
                assert_string_equal(detail, "delay");
                assert_string_equal(col, "ts");
                assert_int_equal(json_integer_value(json_object_get(j, "shift_us")),
                                 2 * 3600 * 1000000LL);
                assert_true(r->vals[3].i >= FX_T0);
                break;
            case 2:
                assert_string_equal(detail, "shift");
                assert_in_range(json_integer_value(json_object_get(j, "shift_us")), 0, 59999999);
                break;
            case 3:
                assert_string_equal(detail, "null");
                assert_string_equal(col, "status");
                assert_true(r->vals[2].null);
                break;
            case 4:
                assert_int_equal(r->corrupt != 0, 1);
                assert_string_equal(detail, gen_corrupt_name(r->corrupt));
                break;
            case 5:
                assert_string_equal(detail, "outlier");
                assert_string_equal(col, "amount");
                break;
            case 6:
                assert_string_equal(detail, "orphan");
                assert_string_equal(col, "parent");
                assert_true(json_integer_value(json_object_get(j, "parent_id")) >= 500);
                assert_true(r->vals[7].i >= 500); /* no parent has that key */
                break;
            case 7:
                assert_string_equal(detail, "rename");
                assert_true(r->batch >= 2);
                break;
            }
        }
        if (!r->copy) {
            assert_int_equal(gen_record_at(g, 1, r->id, 0, &clean, &e), 0);
            /* non-hits keep their clean values */
            if (!((r->hit_mask >> 3) & 1) && r->vals[2].null)
                fail_msg("id %llu mask %llx faults %x", (unsigned long long)r->id,
                         (unsigned long long)r->hit_mask, r->faults);
            if (!((r->hit_mask >> 6) & 1)) assert_true(r->vals[7].i < 500);
            if (!((r->hit_mask >> 7) & 1)) assert_true(r->batch < 2);
            int64_t t = FX_T0 + (int64_t)r->id * 1000000;
            if (!((r->hit_mask >> 1) & 3)) assert_in_range(r->vals[3].i, t, t + 499999);
            if (t + 499999 - 2 * 3600 * 1000000LL < FX_T0)
                late_ineligible += (r->hit_mask >> 1) & 1;
        }
    }
    assert_int_equal(li, nl);
    assert_int_equal(lines_checked, nl);
    assert_int_equal(late_ineligible, 0); /* only records whose shifted time stays >= start */
    assert_binomial(per_fault[0], N, frac[0]);
    for (size_t fi = 1; fi < 7; fi++)
        assert_binomial(per_fault[fi], fi == 1 ? N - 7200 : N, frac[fi]);
    assert_int_equal(per_fault[7], N / 2); /* drift: every record of batches 2 and 3 */
    gen_record_release(&clean);
    gen_cursor_release(&cur);
    free(seen);
    json_decref(led);
    gen_free(g);
    fx_free(s);
}

/* The per-batch cursors partition the whole stream, for COUNT and for jittered DAY batches. */
static void test_gen__batches_partition(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        plan_scenario *s = fx_scenario();
        plan_dataset *d = fx_orders(s, 30000, 5);
        d->cols[3].u.ts.rate = 0.1;               /* 10 s per record: ~3.5 days */
        d->cols[3].u.ts.jitter_us = 3600000000LL; /* an hour of jitter crosses midnights */
        d->batching = mode ? PLAN_BATCH_DAY : PLAN_BATCH_COUNT;
        d->nbatches = 7;
        fx_fault(d, PLAN_F_DUPLICATE, 0.1, -1)->gap = 40;
        gen *g = must_gen(s);
        uint32_t nb = gen_batches(g, 0);
        assert_int_equal(nb, mode ? 4 : 7);
        hx_err e = {0};
        gen_cursor all, one;
        const gen_record *r;
        uint64_t total = 0;
        unsigned char *cnt = calloc(30000 * 2, 1);
        assert_int_equal(gen_cursor_init(&all, g, 0, -1, &e), 0);
        while (gen_cursor_next(&all, &r, &e) > 0) {
            cnt[r->id * 2 + r->copy]++;
            total++;
            if (mode)
                assert_int_equal(r->batch, (r->arrival_us - FX_T0) / 86400000000LL);
            else if (!r->copy)
                assert_int_equal(r->batch, r->id * 7 / 30000);
        }
        assert_int_equal(total, gen_emissions(g, 0));
        uint64_t sum = 0;
        for (uint32_t b = 0; b < nb; b++) {
            assert_int_equal(gen_cursor_init(&one, g, 0, b, &e), 0);
            while (gen_cursor_next(&one, &r, &e) > 0) {
                assert_int_equal(r->batch, b);
                assert_int_equal(cnt[r->id * 2 + r->copy], 1);
                cnt[r->id * 2 + r->copy] = 2;
                sum++;
            }
            gen_cursor_release(&one);
        }
        assert_int_equal(sum, total);
        assert_int_equal(gen_cursor_init(&one, g, 0, nb, &e), HX_EUSAGE);
        free(cnt);
        gen_cursor_release(&all);
        gen_free(g);
        fx_free(s);
    }
}

/* Property: for DAY batches, the per-batch cursors (what `harness gen --batch` and a per-batch
 * replay walk) together are the whole dataset, each emission in exactly one batch and in the batch
 * of its arrival day, for any start, rate, jitter and duplicate gap: records stamped exactly at
 * 00:00:00 UTC (rates whose period divides a day, starts at or just before midnight, no jitter)
 * and the first and last records of the range included. fmt_write_dataset's per-batch counts sum
 * to the dataset's emissions too. */
static void test_gen__day_batches_cover_every_record(void **state)
{
    (void)state;
    static const double rates[] = {1, 0.5, 0.125, 1.0 / 128, 1.0 / 64, 0.02, 0.01, 3, 1.0 / 675};
    static const int64_t jitters[] = {0, 0, 1, 1000000, 3600000000LL};
    const int64_t day = 86400000000LL;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    size_t cases = 0, midnights = 0;
    for (int k = 0; k < 240; k++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t r1 = x >> 11;
        double rate = rates[r1 % (sizeof rates / sizeof *rates)];
        int64_t jit = jitters[(r1 >> 8) % (sizeof jitters / sizeof *jitters)];
        /* starts at midnight, a period before it, a microsecond before it, or anywhere */
        int64_t period = (int64_t)(1e6 / rate), off;
        switch ((r1 >> 16) % 4) {
        case 0:
            off = 0;
            break;
        case 1:
            off = -period;
            break;
        case 2:
            off = -1;
            break;
        default:
            off = (int64_t)((r1 >> 20) % (uint64_t)day);
        }
        uint64_t rows = 1 + (r1 >> 24) % 2500;
        plan_scenario *s = fx_scenario();
        plan_dataset *d = fx_orders(s, rows, k + 1);
        d->cols[3].u.ts.start_us = FX_T0 + 3 * day + off;
        d->cols[3].u.ts.rate = rate;
        d->cols[3].u.ts.jitter_us = jit;
        d->batching = PLAN_BATCH_DAY;
        if ((r1 >> 40) & 1) fx_fault(d, PLAN_F_DUPLICATE, 0.1, -1)->gap = (r1 >> 41) % 60;
        gen *g = must_gen(s);
        hx_err e = {0};
        uint64_t total = gen_emissions(g, 0), sum = 0, written = 0;
        uint32_t nb = gen_batches(g, 0);
        unsigned char *cnt = calloc(rows * 2, 1);
        gen_cursor c;
        const gen_record *r;
        int64_t day0 = d->cols[3].u.ts.start_us / day; /* the day of the range's start */
        assert_int_equal(gen_cursor_init(&c, g, 0, -1, &e), 0);
        while (gen_cursor_next(&c, &r, &e) > 0) {
            assert_int_equal(r->batch, r->arrival_us / day - day0);
            midnights += r->arrival_us % day == 0;
        }
        gen_cursor_release(&c);
        for (uint32_t b = 0; b < nb; b++) {
            assert_int_equal(gen_cursor_init(&c, g, 0, b, &e), 0);
            int rc;
            while ((rc = gen_cursor_next(&c, &r, &e)) > 0) {
                assert_int_equal(r->batch, b);
                if (cnt[r->id * 2 + r->copy]++)
                    fail_msg("case %d: record %llu copy %u in two batches", k,
                             (unsigned long long)r->id, r->copy);
                sum++;
            }
            assert_int_equal(rc, 0);
            gen_cursor_release(&c);
            fmt_write_stats ws;
            FILE *devnull = fopen("/dev/null", "w");
            assert_int_equal(fmt_write_dataset(g, 0, PLAN_FMT_CSV, b, devnull, NULL, &ws, &e), 0);
            fclose(devnull);
            written += ws.rows;
        }
        if (sum != total)
            fail_msg("case %d (rows %llu, rate %g, start %+lld us from midnight, jitter %lld us): "
                     "batches hold %llu of %llu emissions",
                     k, (unsigned long long)rows, rate, (long long)off, (long long)jit,
                     (unsigned long long)sum, (unsigned long long)total);
        assert_int_equal(written, total);
        cases++;
        free(cnt);
        gen_free(g);
        fx_free(s);
    }
    assert_int_equal(cases, 240);
    assert_true(midnights > 50); /* the property was tried on records stamped at midnight */
}

static int hook(void *ud, const plan_dataset *ds, gen_record *rec, char *err, size_t n)
{
    (void)ds;
    int *calls = ud;
    (*calls)++;
    if (rec->id == 77) {
        snprintf(err, n, "boom at %llu", (unsigned long long)rec->id);
        return HX_EUSAGE;
    }
    char tmp[128];
    int len = snprintf(tmp, sizeof tmp, "row-%lld-%s", (long long)rec->vals[0].i, rec->vals[1].s);
    return gen_record_set_string(rec, 2, tmp, (size_t)len) ? 0 : HX_ENOMEM;
}

static void test_gen__row_hook(void **state)
{
    (void)state;
    int calls = 0;
    plan_scenario *s = fx_scenario();
    plan_dataset *d = fx_dataset(s, "h", 100, 3);
    plan_column *c = fx_col(d, "id", PLAN_COL_SEQUENCE, PLAN_T_INT);
    c->u.seq.step = 1;
    c = fx_col(d, "p", PLAN_COL_PATTERN, PLAN_T_STRING);
    c->u.pat.pattern =
        hx_strdup("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    fx_col(d, "lua", PLAN_COL_LUA, PLAN_T_STRING);
    d->row_hook = hook;
    d->row_ud = &calls;
    d->where = hx_strdup("s.lua:3");
    gen *g = must_gen(s);
    gen_record r;
    hx_err e = {0};
    assert_int_equal(gen_record_init(&r, 3), 0);
    for (uint64_t id = 0; id < 77; id++) {
        assert_int_equal(gen_record_at(g, 0, id, 0, &r, &e), 0);
        char want[128];
        snprintf(want, sizeof want, "row-%llu-%s", (unsigned long long)id, r.vals[1].s);
        assert_string_equal(r.vals[2].s, want);
        assert_int_equal(strlen(r.vals[1].s), 64); /* still valid after the buffer grew */
    }
    assert_int_equal(gen_record_at(g, 0, 77, 0, &r, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "s.lua:3"));
    assert_non_null(strstr(e.msg, "boom at 77"));
    assert_int_equal(calls, 78);
    gen_record_release(&r);
    gen_free(g);
    fx_free(s);
}

static void test_gen__bad_plans(void **state)
{
    (void)state;
    plan_scenario *s = fx_scenario();
    plan_dataset *d = fx_orders(s, 10, 1);
    gen *g;
    hx_err e = {0};
    fx_fault(d, PLAN_F_OUTLIERS, 0.1, 2); /* status is a string */
    assert_int_equal(gen_new(s, &g, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "outliers"));
    d->faults[0].kind = PLAN_F_ORPHANS;
    assert_int_equal(gen_new(s, &g, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "foreign key"));
    d->faults[0].kind = PLAN_F_LATE;
    d->faults[0].column = -1;
    d->time_col = -1;
    assert_int_equal(gen_new(s, &g, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "timestamp"));
    d->time_col = 3;
    d->cols[3].u.ts.rate = 0;
    assert_int_equal(gen_new(s, &g, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "rate"));
    d->cols[3].u.ts.rate = 1;
    /* out of memory at every allocation of gen_new fails cleanly */
    for (long n = 0; n < 40; n++) {
        hx_alloc_fail_after(n);
        int rc = gen_new(s, &g, &e);
        hx_alloc_fail_after(-1);
        if (rc == 0) {
            gen_free(g);
            break;
        }
        assert_int_equal(rc, HX_ENOMEM);
    }
    fx_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gen__same_seed_same_bytes),
        cmocka_unit_test(test_gen__record_at_matches_cursor),
        cmocka_unit_test(test_gen__duplicates_order_and_bytes),
        cmocka_unit_test(test_gen__ranges_concatenate),
        cmocka_unit_test(test_gen__parallel_write_matches_cursor),
        cmocka_unit_test(test_gen__zipf_table_is_exact),
        cmocka_unit_test(test_gen__exact_shortcuts),
        cmocka_unit_test(test_gen__column_kinds),
        cmocka_unit_test(test_gen__foreign_keys),
        cmocka_unit_test(test_gen__faults_and_ledger_lines),
        cmocka_unit_test(test_gen__batches_partition),
        cmocka_unit_test(test_gen__day_batches_cover_every_record),
        cmocka_unit_test(test_gen__row_hook),
        cmocka_unit_test(test_gen__bad_plans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
