/* test_fmt.c - serialisation: numbers and times against libc oracles, CSV quoting, JSON escaping,
 * schema drift, and each corruption kind breaking its line the way it claims. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "fmt.h"
#include "gen_fixture.h"
#include "rng.h"

static gen *must_gen(plan_scenario *s)
{
    gen *g = NULL;
    hx_err e = {0};
    if (gen_new(s, &g, &e) != 0) fail_msg("gen_new: %s", e.msg);
    return g;
}

static void test_fmt__timestamps_match_gmtime(void **state)
{
    (void)state;
    char buf[48], want[64];
    fmt_timestamp(buf, sizeof buf, 0);
    assert_string_equal(buf, "1970-01-01T00:00:00.000000Z");
    fmt_timestamp(buf, sizeof buf, -1);
    assert_string_equal(buf, "1969-12-31T23:59:59.999999Z");
    fmt_timestamp(buf, sizeof buf, 1709210096789012LL);
    assert_string_equal(buf, "2024-02-29T12:34:56.789012Z");
    for (uint64_t i = 0; i < 200000; i++) {
        /* years 1900..2200, any microsecond */
        int64_t us = -2208988800000000LL + (int64_t)rng_below(rng_mix(i), 9467280000000000ULL);
        time_t t = (time_t)(us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000));
        int64_t frac = us - (int64_t)t * 1000000;
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)frac);
        fmt_timestamp(buf, sizeof buf, us);
        assert_string_equal(buf, want);
        size_t n = fmt_date(buf, us);
        assert_int_equal(n, 10);
        assert_memory_equal(buf, want, 10);
    }
    /* Neighbouring times, as records come (the day's text is cached): to and fro across
     * midnights, the epoch, and the last day of year 9999. */
    static const int64_t starts[] = {1767571200000000LL, 0, 253402214400000000LL};
    for (int k = 0; k < 3; k++)
        for (uint64_t i = 0; i < 200000; i++) {
            int64_t us = starts[k] + (int64_t)(i * 433000) - 43200000000LL +
                         (int64_t)rng_below(rng_mix(i), 90000000000ULL) - 45000000000LL;
            if (us > 253402300799999999LL) continue;
            time_t t = (time_t)(us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000));
            int64_t frac = us - (int64_t)t * 1000000;
            struct tm tm;
            gmtime_r(&t, &tm);
            snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)frac);
            fmt_timestamp(buf, sizeof buf, us);
            assert_string_equal(buf, want);
        }
}

static void test_fmt__decimals(void **state)
{
    (void)state;
    char buf[48];
    fmt_decimal(buf, sizeof buf, 1250, 2);
    assert_string_equal(buf, "12.50");
    fmt_decimal(buf, sizeof buf, -5, 2);
    assert_string_equal(buf, "-0.05");
    fmt_decimal(buf, sizeof buf, 0, 3);
    assert_string_equal(buf, "0.000");
    fmt_decimal(buf, sizeof buf, INT64_MIN, 0);
    assert_string_equal(buf, "-9223372036854775808");
    fmt_decimal(buf, sizeof buf, INT64_MAX, 9);
    assert_string_equal(buf, "9223372036.854775807");
    fmt_decimal(buf, 4, 123456, 2); /* truncated to the buffer, NUL-terminated */
    assert_string_equal(buf, "123");
    /* Against printf: every scale, every digit count, both sides of each power of ten. */
    char want[64];
    for (uint64_t i = 0; i < 400000; i++) {
        int scale = (int)(i % 10), digits = (int)(i / 10 % 20);
        uint64_t p = 1, u;
        for (int k = 0; k < digits; k++)
            p *= 10;
        u = i % 3 == 0 ? p - 1 + i / 200 % 3 : rng_mix(i) >> (rng_mix(i + 1) % 64);
        int64_t v = (int64_t)(u & (uint64_t)INT64_MAX) * (i & 1 ? -1 : 1);
        uint64_t a = v < 0 ? 0 - (uint64_t)v : (uint64_t)v, q = 1;
        for (int k = 0; k < scale; k++)
            q *= 10;
        if (scale)
            snprintf(want, sizeof want, "%s%llu.%0*llu", v < 0 ? "-" : "",
                     (unsigned long long)(a / q), scale, (unsigned long long)(a % q));
        else
            snprintf(want, sizeof want, "%lld", (long long)v);
        fmt_decimal(buf, sizeof buf, v, scale);
        assert_string_equal(buf, want);
    }
}

/* A hand-made record of (int, decimal, string, timestamp, bool). */
static plan_dataset *five_cols(plan_scenario *s)
{
    plan_dataset *d = fx_dataset(s, "five", 1, 1);
    fx_col(d, "i", PLAN_COL_INT, PLAN_T_INT);
    fx_col(d, "d", PLAN_COL_DECIMAL, PLAN_T_DECIMAL)->scale = 2;
    fx_col(d, "s", PLAN_COL_LUA, PLAN_T_STRING);
    fx_col(d, "t", PLAN_COL_TIMESTAMP, PLAN_T_TIMESTAMP)->u.ts.rate = 1;
    fx_col(d, "b", PLAN_COL_BOOL, PLAN_T_BOOL);
    return d;
}

static void set_rec(gen_record *r, int64_t i, int64_t d, const char *s, int64_t t, int64_t b)
{
    r->vals[0] = (gen_value){.i = i};
    r->vals[1] = (gen_value){.i = d};
    r->vals[3] = (gen_value){.i = t};
    r->vals[4] = (gen_value){.i = b};
    if (s)
        gen_record_set_string(r, 2, s, strlen(s));
    else
        r->vals[2] = (gen_value){.null = true};
}

static void test_fmt__csv_quoting_and_nulls(void **state)
{
    (void)state;
    plan_scenario *s = fx_scenario();
    plan_dataset *d = five_cols(s);
    gen_record r;
    hx_buf b;
    hx_buf_init(&b);
    assert_int_equal(gen_record_init(&r, 5), 0);
    r.corrupt_col = -1;
    struct {
        const char *in, *csv;
    } cases[] = {
        {"plain", "plain"},
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"two\nlines", "\"two\nlines\""},
        {"cr\r", "\"cr\r\""},
        {"", "\"\""},
        {"ünï", "ünï"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        set_rec(&r, -42, 1250, cases[k].in, 0, 1);
        hx_buf_clear(&b);
        assert_true(fmt_record(&b, d, PLAN_FMT_CSV, &r));
        char want[128];
        snprintf(want, sizeof want, "-42,12.50,%s,1970-01-01T00:00:00.000000Z,true\n",
                 cases[k].csv);
        assert_string_equal(b.data, want);
    }
    /* Every length of a plain field, each copied in place whole (and nothing past it). */
    char text[200];
    for (size_t n = 1; n < 100; n++) {
        for (size_t i = 0; i < n; i++)
            text[i] = (char)('a' + (i * 7 + n) % 26);
        text[n] = '\0';
        set_rec(&r, 7, -5, text, 0, 0);
        hx_buf_clear(&b);
        assert_true(fmt_record(&b, d, PLAN_FMT_CSV, &r));
        char want[256];
        snprintf(want, sizeof want, "7,-0.05,%s,1970-01-01T00:00:00.000000Z,false\n", text);
        assert_string_equal(b.data, want);
    }
    set_rec(&r, 0, 0, NULL, 0, 0);
    r.vals[0].null = r.vals[1].null = r.vals[3].null = r.vals[4].null = true;
    hx_buf_clear(&b);
    fmt_record(&b, d, PLAN_FMT_CSV, &r);
    assert_string_equal(b.data, ",,,,\n"); /* NULL: empty unquoted; "" is quoted above */
    hx_buf_clear(&b);
    fmt_record(&b, d, PLAN_FMT_JSONL, &r);
    assert_string_equal(b.data, "{\"i\":null,\"d\":null,\"s\":null,\"t\":null,\"b\":null}\n");
    hx_buf_clear(&b);
    assert_true(fmt_header(&b, d, PLAN_FMT_CSV, 0));
    assert_string_equal(b.data, "i,d,s,t,b\n");
    hx_buf_clear(&b);
    assert_true(fmt_header(&b, d, PLAN_FMT_JSONL, 0));
    assert_int_equal(b.len, 0);
    hx_buf_release(&b);
    gen_record_release(&r);
    fx_free(s);
}

static void test_fmt__json_escaping_roundtrips(void **state)
{
    (void)state;
    plan_scenario *s = fx_scenario();
    plan_dataset *d = five_cols(s);
    gen_record r;
    hx_buf b;
    hx_buf_init(&b);
    assert_int_equal(gen_record_init(&r, 5), 0);
    r.corrupt_col = -1;
    char all[40];
    for (int c = 1; c < 32; c++)
        all[c - 1] = (char)c;
    memcpy(all + 31, "\"\\/\x7f\xc3\xa9", 7);
    all[38] = 0;
    set_rec(&r, 7, -5, all, 1709210096789012LL, 0);
    assert_true(fmt_record(&b, d, PLAN_FMT_JSONL, &r));
    assert_null(strchr(b.data, '\n') == b.data + b.len - 1 ? NULL : "raw newline inside");
    assert_non_null(strstr(b.data, "\\u0001"));
    assert_non_null(strstr(b.data, "\\u001f"));
    json_error_t je;
    json_t *j = json_loadb(b.data, b.len - 1, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "s")), all);
    assert_int_equal(json_integer_value(json_object_get(j, "i")), 7);
    assert_true(fabs(json_real_value(json_object_get(j, "d")) + 0.05) < 1e-12);
    assert_string_equal(json_string_value(json_object_get(j, "t")), "2024-02-29T12:34:56.789012Z");
    assert_true(json_is_false(json_object_get(j, "b")));
    json_decref(j);
    hx_buf_release(&b);
    gen_record_release(&r);
    fx_free(s);
}

static void test_fmt__schema_drift(void **state)
{
    (void)state;
    plan_scenario *s = fx_scenario();
    plan_dataset *d = five_cols(s);
    d->rows = 10;
    d->batching = PLAN_BATCH_COUNT;
    d->nbatches = 2;
    d->cols[0].u.irange.min = 3;
    d->cols[0].u.irange.max = 3;
    d->cols[1].u.drange.min = 12.5;
    d->cols[1].u.drange.max = 12.5;
    d->cols[3].u.ts.start_us = 1709210096000000LL;
    plan_fault *f = fx_fault(d, PLAN_F_SCHEMA_DRIFT, 0, 0);
    f->drift = PLAN_DRIFT_RENAME;
    f->at_batch = 1;
    f->name = hx_strdup("qty");
    f = fx_fault(d, PLAN_F_SCHEMA_DRIFT, 0, 1);
    f->drift = PLAN_DRIFT_RETYPE;
    f->new_type = PLAN_T_STRING;
    f->at_batch = 1;
    f = fx_fault(d, PLAN_F_SCHEMA_DRIFT, 0, 0);
    f->drift = PLAN_DRIFT_RETYPE;
    f->new_type = PLAN_T_DECIMAL;
    f->at_batch = 1;
    f = fx_fault(d, PLAN_F_SCHEMA_DRIFT, 0, 3);
    f->drift = PLAN_DRIFT_RETYPE;
    f->new_type = PLAN_T_STRING;
    f->at_batch = 1;
    f = fx_fault(d, PLAN_F_SCHEMA_DRIFT, 0, -1);
    f->drift = PLAN_DRIFT_ADD;
    f->new_type = PLAN_T_INT;
    f->at_batch = 1;
    f->name = hx_strdup("new col");
    gen *g = must_gen(s);
    size_t n;
    char sha[65];
    char *b0 = fx_write(g, 0, PLAN_FMT_CSV, 0, &n, sha, NULL);
    char *b1 = fx_write(g, 0, PLAN_FMT_CSV, 1, &n, sha, NULL);
    char *j1 = fx_write(g, 0, PLAN_FMT_JSONL, 1, &n, sha, NULL);
    assert_true(strncmp(b0, "i,d,s,t,b\n3,12.50,,2024-02-29T12:34:56", 38) == 0);
    assert_true(strncmp(b1, "qty,d,s,t,b,new col\n3.0,$12.50,,2024-02-29 12:35:01,false,", 58) ==
                0);
    /* every batch-1 line has 6 fields, the added one an int in [0, 1000) */
    char *line = strchr(b1, '\n') + 1, *nl;
    int lines = 0;
    while ((nl = strchr(line, '\n'))) {
        char *fields[8];
        bool q[8];
        int nf = fx_csv_split(line, (size_t)(nl - line), fields, q, 8);
        assert_int_equal(nf, 6);
        char *end;
        long v = strtol(fields[5], &end, 10);
        assert_true(*end == 0 && v >= 0 && v < 1000);
        fx_fields_free(fields, nf);
        line = nl + 1;
        lines++;
    }
    assert_int_equal(lines, 5);
    json_error_t je;
    json_t *j = json_loadb(j1, strchr(j1, '\n') - j1, 0, &je);
    assert_non_null(j);
    assert_true(json_is_real(json_object_get(j, "qty")));
    assert_null(json_object_get(j, "i"));
    assert_string_equal(json_string_value(json_object_get(j, "d")), "$12.50");
    assert_true(json_is_integer(json_object_get(j, "new col")));
    json_decref(j);
    free(b0);
    free(b1);
    free(j1);
    gen_free(g);
    fx_free(s);
}

/* Parse a clean fx_orders CSV line: 7 fields, typed. */
static bool orders_line_ok(const char *line, size_t n, int *nf_out, int *bad_field)
{
    char *f[16];
    bool q[16];
    int nf = fx_csv_split(line, n, f, q, 16);
    *nf_out = nf;
    *bad_field = -1;
    if (nf != 7) {
        fx_fields_free(f, nf < 0 ? 0 : nf);
        return false;
    }
    char *end;
    bool ok = true;
    strtoll(f[0], &end, 10);
    if (!*f[0] || *end || q[0]) ok = false, *bad_field = 0;
    if (*f[1]) {
        strtod(f[1], &end);
        if (*end || q[1] || !strchr(f[1], '.')) ok = false, *bad_field = 1;
    }
    if (!hx_utf8_valid((const char *)f[2], strlen(f[2]))) ok = false, *bad_field = 2;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    char *rest = strptime(f[3], "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest || strlen(rest) != 8 || rest[7] != 'Z' || q[3]) ok = false, *bad_field = 3;
    if (!hx_utf8_valid((const char *)f[4], strlen(f[4]))) ok = false, *bad_field = 4;
    if (strcmp(f[5], "true") && strcmp(f[5], "false")) ok = false, *bad_field = 5;
    if (strlen(f[6]) != 36 || !hx_utf8_valid((const char *)f[6], 36)) ok = false, *bad_field = 6;
    fx_fields_free(f, nf);
    return ok;
}

/* Every corruption kind, through the whole generator: each corrupt line fails to parse in the
 * way its kind says, in CSV and in JSONL; without corruption every line parses. */
static void test_fmt__corruptions_break_lines(void **state)
{
    (void)state;
    static const unsigned kinds[] = {0,
                                     PLAN_C_TRUNCATE,
                                     PLAN_C_BAD_TYPE,
                                     PLAN_C_BAD_UTF8,
                                     PLAN_C_EXTRA_COLUMN,
                                     PLAN_C_MISSING_COLUMN};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        plan_scenario *s = fx_scenario();
        plan_dataset *d = fx_orders(s, 2000, 11 + k);
        d->cols[1].null_frac = 0.1;
        if (kinds[k]) fx_fault(d, PLAN_F_CORRUPT, 1.0, -1)->corrupt_mask = kinds[k];
        gen *g = must_gen(s);
        size_t n;
        char sha[65];
        char *csv = fx_write(g, 0, PLAN_FMT_CSV, -1, &n, sha, NULL);
        char *jl = fx_write(g, 0, PLAN_FMT_JSONL, -1, &n, sha, NULL);
        gen_cursor c;
        hx_err e = {0};
        const gen_record *r;
        assert_int_equal(gen_cursor_init(&c, g, 0, -1, &e), 0);
        char *line = strchr(csv, '\n') + 1, *jline = jl, *nl, *jnl;
        int count = 0;
        while (gen_cursor_next(&c, &r, &e) > 0) {
            nl = strchr(line, '\n');
            jnl = strchr(jline, '\n');
            assert_non_null(nl);
            assert_non_null(jnl);
            int nf, bad;
            bool ok = orders_line_ok(line, (size_t)(nl - line), &nf, &bad);
            json_error_t je;
            json_t *j = json_loadb(jline, (size_t)(jnl - jline), 0, &je);
            assert_int_equal(r->corrupt, kinds[k]);
            switch (kinds[k]) {
            case 0:
                assert_true(ok);
                assert_non_null(j);
                assert_int_equal(json_object_size(j), 7);
                break;
            case PLAN_C_TRUNCATE:
                assert_false(ok);
                assert_in_range(nf, 1, 6); /* fewer fields, never a runaway quote */
                assert_null(j);
                break;
            case PLAN_C_BAD_TYPE: {
                assert_false(ok);
                assert_int_equal(nf, 7);
                assert_int_equal(bad, r->corrupt_col);
                assert_non_null(j);
                json_t *v = json_object_get(j, d->cols[r->corrupt_col].name);
                assert_true(json_is_string(v));
                const char *t = json_string_value(v);
                assert_true(strcmp(t, "n/a") == 0 || strcmp(t, "12,5O") == 0);
                break;
            }
            case PLAN_C_BAD_UTF8:
                assert_false(ok);
                assert_int_equal(nf, 7);
                assert_true(bad == 2 || bad == 4); /* a string field */
                assert_int_equal(bad, r->corrupt_col);
                assert_null(j); /* jansson refuses invalid UTF-8 */
                break;
            case PLAN_C_EXTRA_COLUMN:
                assert_int_equal(nf, 8);
                assert_non_null(j);
                assert_int_equal(json_object_size(j), 8);
                assert_non_null(json_object_get(j, "_extra"));
                break;
            case PLAN_C_MISSING_COLUMN:
                assert_int_equal(nf, 6);
                assert_non_null(j);
                assert_int_equal(json_object_size(j), 6);
                assert_null(json_object_get(j, d->cols[r->corrupt_col].name));
                break;
            }
            json_decref(j);
            line = nl + 1;
            jline = jnl + 1;
            count++;
        }
        assert_int_equal(*line, 0);
        assert_int_equal(*jline, 0);
        assert_int_equal(count, 2000);
        gen_cursor_release(&c);
        free(csv);
        free(jl);
        gen_free(g);
        fx_free(s);
    }
}

/* BAD_UTF8 without a string column falls back to BAD_TYPE, and says so. */
static void test_fmt__bad_utf8_fallback(void **state)
{
    (void)state;
    plan_scenario *s = fx_scenario();
    plan_dataset *d = fx_dataset(s, "nums", 50, 4);
    fx_col(d, "n", PLAN_COL_SEQUENCE, PLAN_T_INT)->u.seq.step = 1;
    fx_fault(d, PLAN_F_CORRUPT, 1.0, -1)->corrupt_mask = PLAN_C_BAD_UTF8;
    gen *g = must_gen(s);
    gen_record r;
    hx_err e = {0};
    hx_buf b;
    hx_buf_init(&b);
    assert_int_equal(gen_record_init(&r, 1), 0);
    assert_int_equal(gen_record_at(g, 0, 3, 0, &r, &e), 0);
    assert_int_equal(r.corrupt, PLAN_C_BAD_TYPE);
    assert_int_equal(r.corrupt_asked, PLAN_C_BAD_UTF8);
    fmt_record(&b, d, PLAN_FMT_CSV, &r);
    assert_true(strcmp(b.data, "n/a\n") == 0 || strcmp(b.data, "\"12,5O\"\n") == 0);
    hx_buf_release(&b);
    gen_record_release(&r);
    gen_free(g);
    fx_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt__timestamps_match_gmtime),
        cmocka_unit_test(test_fmt__decimals),
        cmocka_unit_test(test_fmt__csv_quoting_and_nulls),
        cmocka_unit_test(test_fmt__json_escaping_roundtrips),
        cmocka_unit_test(test_fmt__schema_drift),
        cmocka_unit_test(test_fmt__corruptions_break_lines),
        cmocka_unit_test(test_fmt__bad_utf8_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
