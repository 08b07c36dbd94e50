/* test_ledger.c - every ledger aggregate against a brute-force computation over the CSV file the
 * generator wrote, parsed here by an independent reader. A line counts as valid when it parses
 * with the schema's fields and types; the only thing taken from the generator besides the bytes is
 * which (id, copy) each line is, for IDS and fault filters. */
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "fmt.h"
#include "gen_fixture.h"
#include "ledger.h"

typedef struct row {
    bool valid;      /* parsed cleanly */
    uint64_t id;     /* from the cursor */
    uint32_t copy;   /* from the cursor */
    uint32_t faults; /* from the cursor, for fault filters */
    int64_t key;     /* id column */
    bool amt_null;
    int64_t amount; /* cents */
    char status[32];
    bool status_null;
    char day[11];   /* ts date */
    int64_t ts_sec; /* ts, whole seconds */
} row;

static row *rows;
static size_t nrows;
static plan_scenario *scn;
static gen *g;

static int64_t parse_cents(const char *s, bool *ok)
{
    char *dot = strchr(s, '.');
    *ok = dot && strlen(dot) == 3;
    char *end;
    int64_t whole = strtoll(s, &end, 10);
    *ok = *ok && end == dot && isdigit((unsigned char)dot[1]) && isdigit((unsigned char)dot[2]);
    return whole * 100 + (dot ? (dot[1] - '0') * 10 + (dot[2] - '0') : 0);
}

static int setup(void **state)
{
    (void)state;
    scn = fx_scenario();
    plan_dataset *d = fx_orders(scn, 30000, 2024);
    plan_fault *f = fx_fault(d, PLAN_F_DUPLICATE, 0.05, -1);
    f->gap = 4;
    f->changed = 0.5;
    fx_fault(d, PLAN_F_NULLS, 0.05, 1);
    fx_fault(d, PLAN_F_NULLS, 0.02, 2);
    fx_fault(d, PLAN_F_OUTLIERS, 0.01, 1)->factor = 1000;
    fx_fault(d, PLAN_F_LATE, 0.05, -1)->delay_us = 86400000000LL;
    fx_fault(d, PLAN_F_OUT_OF_ORDER, 0.05, -1)->delay_us = 3600000000LL;
    fx_fault(d, PLAN_F_CORRUPT, 0.04, -1);
    d->cols[3].u.ts.rate = 0.2; /* 5 s per record: ~1.7 days, so the late fault crosses days */
    hx_err e = {0};
    if (gen_new(scn, &g, &e) != 0) fail_msg("gen_new: %s", e.msg);
    size_t n;
    char sha[65];
    char *csv = fx_write(g, 0, PLAN_FMT_CSV, -1, &n, sha, NULL);
    assert_non_null(csv);
    rows = calloc(gen_emissions(g, 0), sizeof *rows);
    gen_cursor c;
    const gen_record *r;
    assert_int_equal(gen_cursor_init(&c, g, 0, -1, &e), 0);
    char *line = strchr(csv, '\n') + 1, *nl;
    while (gen_cursor_next(&c, &r, &e) > 0) {
        nl = strchr(line, '\n');
        row *w = &rows[nrows++];
        w->id = r->id;
        w->copy = r->copy;
        w->faults = r->faults;
        char *fs[16];
        bool q[16];
        int nf = fx_csv_split(line, (size_t)(nl - line), fs, q, 16);
        line = nl + 1;
        w->key = (int64_t)r->id + 1; /* a broken line's key: the id sequence starts at 1 */
        if (nf != 7) {
            fx_fields_free(fs, nf < 0 ? 0 : nf);
            continue;
        }
        bool ok = true, k;
        char *end;
        int64_t key = strtoll(fs[0], &end, 10);
        ok &= *fs[0] && !*end;
        if (*fs[0] && !*end) w->key = key;
        w->amt_null = !*fs[1] && !q[1];
        if (!w->amt_null) {
            w->amount = parse_cents(fs[1], &k);
            ok &= k && !q[1];
        }
        w->status_null = !*fs[2] && !q[2];
        ok &= strlen(fs[2]) < sizeof w->status && hx_utf8_valid((const char *)fs[2], strlen(fs[2]));
        snprintf(w->status, sizeof w->status, "%s", fs[2]);
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        char *rest = strptime(fs[3], "%Y-%m-%dT%H:%M:%S", &tm);
        ok &= rest && strlen(rest) == 8 && rest[7] == 'Z';
        if (rest) {
            memcpy(w->day, fs[3], 10);
            w->ts_sec = (int64_t)timegm(&tm);
        }
        ok &= hx_utf8_valid((const char *)fs[4], strlen(fs[4]));
        ok &= !strcmp(fs[5], "true") || !strcmp(fs[5], "false");
        ok &= strlen(fs[6]) == 36 && hx_utf8_valid((const char *)fs[6], 36);
        w->valid = ok;
        fx_fields_free(fs, nf);
    }
    assert_int_equal(*line, 0);
    gen_cursor_release(&c);
    free(csv);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(rows);
    gen_free(g);
    fx_free(scn);
    return 0;
}

static plan_query query(plan_agg agg, int col, bool valid, int dedup, bool last)
{
    plan_query q;
    memset(&q, 0, sizeof q);
    q.dataset = 0;
    q.agg = agg;
    q.col = col;
    q.group_col = -1;
    q.sub.valid = valid;
    q.sub.dedup_col = dedup;
    q.sub.dedup_last = last;
    q.sub.group_day_col = -1;
    return q;
}

static ledger_result eval(const plan_query *q)
{
    ledger_result res;
    hx_err e = {0};
    if (ledger_eval(g, q, &res, &e) != 0) fail_msg("ledger_eval: %s", e.msg);
    return res;
}

/* The brute-force subset: valid rows, optionally deduplicated on the key (first or last). */
static bool *subset(bool valid, bool dedup, bool last)
{
    bool *in = calloc(nrows, 1);
    for (size_t i = 0; i < nrows; i++)
        in[i] = !valid || rows[i].valid;
    if (!dedup) return in;
    for (size_t i = 0; i < nrows; i++) {
        if (!in[i]) continue;
        for (size_t k = i + 1; k < nrows && k < i + 64; k++) /* copies come within gap + a few */
            if (in[k] && rows[k].key == rows[i].key) {
                if (last)
                    in[i] = false;
                else
                    in[k] = false;
            }
    }
    return in;
}

static void test_ledger__counts(void **state)
{
    (void)state;
    for (int mode = 0; mode < 4; mode++) {
        bool valid = mode & 1, dedup = mode & 2;
        bool *in = subset(valid, dedup, false);
        int64_t want = 0;
        for (size_t i = 0; i < nrows; i++)
            want += in[i];
        plan_query q = query(PLAN_AGG_COUNT, -1, valid, dedup ? 0 : -1, false);
        ledger_result r = eval(&q);
        assert_int_equal(r.exact, want);
        char buf[48];
        ledger_result_text(&r, buf, sizeof buf);
        assert_int_equal(strtoll(buf, NULL, 10), want);
        ledger_result_release(&r);
        free(in);
    }
    /* the raw count is every line written; invalid ones are exactly the corrupt emissions */
    plan_query q = query(PLAN_AGG_COUNT, -1, false, -1, false);
    ledger_result r = eval(&q);
    assert_int_equal(r.exact, nrows);
    ledger_result_release(&r);
    q.sub.corrupt_only = true;
    r = eval(&q);
    int64_t bad = 0;
    for (size_t i = 0; i < nrows; i++)
        bad += !rows[i].valid;
    assert_int_equal(r.exact, bad);
    assert_true(bad > 0);
    ledger_result_release(&r);
}

static void test_ledger__sum_min_max_avg(void **state)
{
    (void)state;
    for (int mode = 0; mode < 3; mode++) {
        bool *in = subset(true, mode > 0, mode == 2);
        __int128 sum = 0;
        int64_t mn = INT64_MAX, mx = INT64_MIN, n = 0;
        for (size_t i = 0; i < nrows; i++)
            if (in[i] && !rows[i].amt_null) {
                sum += rows[i].amount;
                mn = rows[i].amount < mn ? rows[i].amount : mn;
                mx = rows[i].amount > mx ? rows[i].amount : mx;
                n++;
            }
        int dd = mode > 0 ? 0 : -1;
        plan_query q = query(PLAN_AGG_SUM, 1, true, dd, mode == 2);
        ledger_result r = eval(&q);
        assert_int_equal(r.exact, (int64_t)sum);
        assert_int_equal(r.scale, 2);
        char buf[48], want[48];
        ledger_result_text(&r, buf, sizeof buf);
        snprintf(want, sizeof want, "%lld.%02lld", (long long)(sum / 100), (long long)(sum % 100));
        assert_string_equal(buf, want);
        ledger_result_release(&r);
        q.agg = PLAN_AGG_MIN;
        r = eval(&q);
        assert_int_equal(r.exact, mn);
        ledger_result_release(&r);
        q.agg = PLAN_AGG_MAX;
        r = eval(&q);
        assert_int_equal(r.exact, mx);
        assert_true(mx > 50000); /* the outliers are in */
        ledger_result_release(&r);
        q.agg = PLAN_AGG_AVG;
        r = eval(&q);
        assert_true(fabs(r.number - (double)sum / n / 100) < 1e-9);
        ledger_result_release(&r);
        free(in);
    }
}

static void test_ledger__distinct_and_strings(void **state)
{
    (void)state;
    bool *in = subset(true, false, false);
    /* distinct keys: the duplicates collapse */
    int64_t distinct = 0, nonnull_status = 0;
    char smin[32] = "", smax[32] = "";
    bool have = false;
    for (size_t i = 0; i < nrows; i++) {
        if (!in[i]) continue;
        bool first = true;
        for (size_t k = i >= 64 ? i - 64 : 0; k < i; k++)
            if (in[k] && rows[k].key == rows[i].key) first = false;
        distinct += first;
        if (!rows[i].status_null) {
            nonnull_status++;
            if (!have || strcmp(rows[i].status, smin) < 0) strcpy(smin, rows[i].status);
            if (!have || strcmp(rows[i].status, smax) > 0) strcpy(smax, rows[i].status);
            have = true;
        }
    }
    plan_query q = query(PLAN_AGG_COUNT_DISTINCT, 0, true, -1, false);
    ledger_result r = eval(&q);
    assert_int_equal(r.exact, distinct);
    ledger_result_release(&r);
    q.col = 2;
    r = eval(&q);
    assert_int_equal(r.exact, 3); /* new, paid, shipped; NULL is not a value */
    ledger_result_release(&r);
    q.col = 6; /* uuids: string keys, with exact compares on hash hits */
    r = eval(&q);
    assert_int_equal(r.exact, distinct);
    ledger_result_release(&r);
    q.agg = PLAN_AGG_MIN;
    q.col = 2;
    r = eval(&q);
    assert_string_equal(r.text, smin);
    ledger_result_release(&r);
    q.agg = PLAN_AGG_MAX;
    r = eval(&q);
    assert_string_equal(r.text, smax);
    char buf[48];
    ledger_result_text(&r, buf, sizeof buf);
    assert_string_equal(buf, smax);
    ledger_result_release(&r);
    q.agg = PLAN_AGG_MIN; /* a timestamp min, as text */
    q.col = 3;
    r = eval(&q);
    int64_t tmin = INT64_MAX;
    for (size_t i = 0; i < nrows; i++)
        if (in[i] && rows[i].ts_sec < tmin) tmin = rows[i].ts_sec;
    assert_int_equal(r.exact / 1000000 - (r.exact % 1000000 < 0), tmin);
    ledger_result_release(&r);
    free(in);
}

static void test_ledger__groups(void **state)
{
    (void)state;
    bool *in = subset(true, true, false);
    /* by day of ts */
    char days[8][11];
    int64_t sums[8] = {0}, counts[8] = {0};
    int nd = 0;
    for (size_t i = 0; i < nrows; i++) {
        if (!in[i]) continue;
        int k = 0;
        while (k < nd && strcmp(days[k], rows[i].day))
            k++;
        if (k == nd) strcpy(days[nd++], rows[i].day);
        counts[k]++;
        if (!rows[i].amt_null) sums[k] += rows[i].amount;
    }
    assert_true(nd >= 3); /* late records reach back a day */
    plan_query q = query(PLAN_AGG_GROUP_SUM, 1, true, 0, false);
    q.group_col = 3;
    ledger_result r = eval(&q);
    assert_int_equal(r.nrows, nd);
    for (size_t i = 0; i < r.nrows; i++) {
        int k = 0;
        while (k < nd && strcmp(days[k], r.rows[i].group))
            k++;
        assert_true(k < nd);
        assert_int_equal(r.rows[i].exact, sums[k]);
        if (i) assert_true(strcmp(r.rows[i - 1].group, r.rows[i].group) < 0);
    }
    ledger_result_release(&r);
    q.agg = PLAN_AGG_GROUP_COUNT;
    r = eval(&q);
    for (size_t i = 0; i < r.nrows; i++) {
        int k = 0;
        while (k < nd && strcmp(days[k], r.rows[i].group))
            k++;
        assert_int_equal(r.rows[i].exact, counts[k]);
    }
    ledger_result_release(&r);
    /* by status, NULL last */
    q.group_col = 2;
    r = eval(&q);
    assert_int_equal(r.nrows, 4);
    assert_string_equal(r.rows[0].group, "new");
    assert_string_equal(r.rows[1].group, "paid");
    assert_string_equal(r.rows[2].group, "shipped");
    assert_true(r.rows[3].group_null);
    const char *names[] = {"new", "paid", "shipped"};
    for (int k = 0; k < 4; k++) {
        int64_t want = 0;
        for (size_t i = 0; i < nrows; i++)
            if (in[i] && (k == 3 ? rows[i].status_null
                                 : !rows[i].status_null && !strcmp(rows[i].status, names[k])))
                want++;
        assert_int_equal(r.rows[k].exact, want);
    }
    ledger_result_release(&r);
    free(in);
}

/* ---- grouped by several columns and a time bucket: a hand-made table ---- */

/* merchant, amount (cents, INT64_MIN = NULL), ts (seconds after 2026-03-02T00:00:00Z), per id */
static const struct {
    int64_t merchant, cents, sec_us;
} hand[] = {
    {7, 1000, 5000000},       /* minute 00:00 */
    {3, 250, 30000000},       /* minute 00:00 */
    {7, 1, 59999999},         /* minute 00:00, its last microsecond */
    {7, 500, 60000000},       /* minute 00:01, its first */
    {3, INT64_MIN, 61000000}, /* minute 00:01, amount NULL: counted, not summed */
    {7, 110, 50000000},       /* minute 00:00, arriving after 00:01 began (late) */
    {3, 400, 3661000000},     /* minute 01:01 */
    {7, -50, -1000000},       /* 2026-03-01T23:59:59Z: the minute before, floored */
};
#define T0_US INT64_C(1772409600000000) /* 2026-03-02T00:00:00Z */

static int hand_hook(void *ud, const plan_dataset *ds, gen_record *rec, char *err, size_t n)
{
    (void)ud, (void)ds, (void)err, (void)n;
    size_t i = (size_t)rec->id;
    rec->vals[1] = (gen_value){.i = hand[i].merchant};
    rec->vals[2] = (gen_value){.null = hand[i].cents == INT64_MIN, .i = hand[i].cents};
    rec->vals[3] = (gen_value){.i = T0_US + hand[i].sec_us};
    return 0;
}

static void test_ledger__groups_by_key_and_minute(void **state)
{
    (void)state;
    plan_scenario *s = fx_scenario();
    plan_dataset *d = fx_dataset(s, "payments", sizeof hand / sizeof hand[0], 5);
    plan_column *pid = fx_col(d, "payment_id", PLAN_COL_SEQUENCE, PLAN_T_INT);
    pid->u.seq.start = 1;
    pid->u.seq.step = 1;
    fx_col(d, "merchant_id", PLAN_COL_LUA, PLAN_T_INT);
    fx_col(d, "amount", PLAN_COL_LUA, PLAN_T_DECIMAL)->scale = 2;
    fx_col(d, "ts", PLAN_COL_LUA, PLAN_T_TIMESTAMP);
    d->row_hook = hand_hook;
    d->where = hx_strdup("hand.lua:1");
    hx_err e = {0};
    gen *hg;
    if (gen_new(s, &hg, &e) != 0) fail_msg("gen_new: %s", e.msg);
    plan_query q = query(PLAN_AGG_GROUPS, -1, true, -1, false);
    q.grp.nkeys = 2;
    q.grp.keys[0] = (plan_group_key){.col = 1, .name = "merchant_id"};
    q.grp.keys[1] = (plan_group_key){.col = 3, .bucket_us = 60000000, .name = "minute"};
    q.grp.naggs = 3;
    q.grp.aggs[0] = (plan_group_agg){.agg = PLAN_AGG_SUM, .col = 2, .name = "amount"};
    q.grp.aggs[1] = (plan_group_agg){.agg = PLAN_AGG_COUNT, .col = -1, .name = "payments"};
    q.grp.aggs[2] = (plan_group_agg){.agg = PLAN_AGG_SUM, .col = 0, .name = "ids"};
    ledger_result r;
    if (ledger_eval(hg, &q, &r, &e) != 0) fail_msg("ledger_eval: %s", e.msg);
    /* by hand: sorted by merchant (a number), then minute (an instant) */
    static const char *const want[][5] = {
        {"3", "2026-03-02T00:00:00Z", "2.50", "1", "2"},
        {"3", "2026-03-02T00:01:00Z", NULL, "1", "5"},
        {"3", "2026-03-02T01:01:00Z", "4.00", "1", "7"},
        {"7", "2026-03-01T23:59:00Z", "-0.50", "1", "8"},
        {"7", "2026-03-02T00:00:00Z", "11.11", "3", "10"}, /* ids 1 + 3 + 6 */
        {"7", "2026-03-02T00:01:00Z", "5.00", "1", "4"},
    };
    assert_int_equal(r.nrows, 6);
    assert_int_equal(r.exact, 6);
    for (size_t i = 0; i < r.nrows; i++) {
        assert_int_equal(r.rows[i].ncells, 5);
        for (size_t c = 0; c < 5; c++)
            if (want[i][c])
                assert_string_equal(r.rows[i].cells[c], want[i][c]);
            else
                assert_null(r.rows[i].cells[c]);
        char key[64];
        snprintf(key, sizeof key, "%s, %s", want[i][0], want[i][1]);
        assert_string_equal(r.rows[i].group, key);
        assert_int_equal(r.rows[i].exact, strtoll(want[i][3], NULL, 10));
    }
    ledger_result_release(&r);
    /* an hour's bucket and the merchant alone */
    q.grp.keys[1].bucket_us = 3600000000LL;
    q.grp.naggs = 1;
    q.grp.aggs[0] = (plan_group_agg){.agg = PLAN_AGG_COUNT, .col = -1, .name = "n"};
    if (ledger_eval(hg, &q, &r, &e) != 0) fail_msg("ledger_eval: %s", e.msg);
    assert_int_equal(r.nrows, 4); /* 3 @00, 3 @01, 7 @23 (the day before), 7 @00 */
    assert_string_equal(r.rows[3].cells[1], "2026-03-02T00:00:00Z");
    assert_string_equal(r.rows[3].cells[2], "4");
    ledger_result_release(&r);
    /* the instant itself (no bucket): RFC 3339, a fraction only when it has one */
    q.grp.keys[1].bucket_us = 0;
    if (ledger_eval(hg, &q, &r, &e) != 0) fail_msg("ledger_eval: %s", e.msg);
    assert_int_equal(r.nrows, 8);
    assert_string_equal(r.rows[0].cells[1], "2026-03-02T00:00:30Z"); /* merchant 3 first */
    assert_string_equal(r.rows[6].cells[1], "2026-03-02T00:00:59.999999Z");
    ledger_result_release(&r);
    /* what a plan cannot ask: a bucket of a number, a sum of a timestamp, no aggregate */
    q.grp.keys[0].bucket_us = 60000000;
    assert_int_equal(ledger_eval(hg, &q, &r, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "a bucket needs a timestamp"));
    q.grp.keys[0].bucket_us = 0;
    q.grp.aggs[0] = (plan_group_agg){.agg = PLAN_AGG_SUM, .col = 3, .name = "t"};
    assert_int_equal(ledger_eval(hg, &q, &r, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "cannot sum column 'ts'"));
    q.grp.naggs = 0;
    assert_int_equal(ledger_eval(hg, &q, &r, &e), HX_EUSAGE);
    gen_free(hg);
    fx_free(s);
}

static void test_ledger__ids_and_fault_filters(void **state)
{
    (void)state;
    plan_query q = query(PLAN_AGG_IDS, -1, false, -1, false);
    q.sub.corrupt_only = true;
    ledger_result r = eval(&q);
    size_t k = 0;
    uint64_t *want = calloc(nrows, sizeof *want);
    for (size_t i = 0; i < nrows; i++)
        if (!rows[i].valid) want[k++] = rows[i].id;
    for (size_t i = 1; i < k; i++) /* insertion sort: nearly sorted already */
        for (size_t j = i; j > 0 && want[j - 1] > want[j]; j--) {
            uint64_t t = want[j];
            want[j] = want[j - 1];
            want[j - 1] = t;
        }
    assert_int_equal(r.nids, k);
    assert_memory_equal(r.ids, want, k * sizeof *want);
    ledger_result_release(&r);
    /* without duplicates = the originals; with = the copies */
    q = query(PLAN_AGG_COUNT, -1, true, -1, false);
    q.sub.without_faults = 1u << PLAN_F_DUPLICATE;
    r = eval(&q);
    int64_t orig = 0, copies = 0, late = 0;
    for (size_t i = 0; i < nrows; i++) {
        orig += rows[i].valid && !rows[i].copy;
        copies += rows[i].valid && rows[i].copy;
        late += rows[i].valid && (rows[i].faults & (1u << PLAN_F_LATE));
    }
    assert_int_equal(r.exact, orig);
    ledger_result_release(&r);
    q.sub.without_faults = 0;
    q.sub.with_faults = 1u << PLAN_F_DUPLICATE;
    r = eval(&q);
    assert_int_equal(r.exact, copies);
    ledger_result_release(&r);
    q.sub.with_faults = 1u << PLAN_F_LATE;
    r = eval(&q);
    assert_int_equal(r.exact, late);
    assert_true(late > 0);
    ledger_result_release(&r);
    free(want);
}

static void test_ledger__usage_errors(void **state)
{
    (void)state;
    ledger_result r;
    hx_err e = {0};
    plan_query q = query(PLAN_AGG_ROWS, -1, true, -1, false);
    assert_int_equal(ledger_eval(g, &q, &r, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "use a cursor"));
    q = query(PLAN_AGG_SUM, 2, true, -1, false);
    assert_int_equal(ledger_eval(g, &q, &r, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "status"));
    q = query(PLAN_AGG_SUM, 99, true, -1, false);
    assert_int_equal(ledger_eval(g, &q, &r, &e), HX_EUSAGE);
    q.dataset = 5;
    assert_int_equal(ledger_eval(g, &q, &r, &e), HX_EUSAGE);
    /* out of memory anywhere in a grouped, deduplicated query fails cleanly */
    q = query(PLAN_AGG_GROUP_SUM, 1, true, 6, true);
    q.group_col = 2;
    for (long n = 0; n < 200; n += 7) {
        hx_alloc_fail_after(n);
        int rc = ledger_eval(g, &q, &r, &e);
        hx_alloc_fail_after(-1);
        if (rc == 0) {
            ledger_result_release(&r);
            break;
        }
        assert_int_equal(rc, HX_ENOMEM);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ledger__counts),
        cmocka_unit_test(test_ledger__sum_min_max_avg),
        cmocka_unit_test(test_ledger__distinct_and_strings),
        cmocka_unit_test(test_ledger__groups),
        cmocka_unit_test(test_ledger__groups_by_key_and_minute),
        cmocka_unit_test(test_ledger__ids_and_fault_filters),
        cmocka_unit_test(test_ledger__usage_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
