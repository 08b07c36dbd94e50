/* test_truth.c - one ground truth: the rows a check compares are the ledger's records of the same
 * query (ledger_iter), so a ledger count and a keyed comparison agree, also when the query
 * deduplicates on a column other than the comparison's key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "check.h"
#include "fmt.h"
#include "gen_fixture.h"
#include "ledger.h"

typedef struct fx {
    plan_scenario *s;
    gen *g;
    char dir[64];
    chk_ctx ctx;
} fx;

/* orders keyed by id, with changed duplicate copies and corrupt lines, so dedup, valid and the
 * versions of a key all matter. */
static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->s = fx_scenario();
    plan_dataset *d = fx_orders(f->s, 3000, 17);
    d->cols[1].null_frac = 0.05;
    d->cols[2].null_frac = 0.001; /* status: one NULL value among the three */
    plan_fault *dup = fx_fault(d, PLAN_F_DUPLICATE, 0.1, -1);
    dup->changed = 0.5;
    dup->gap = 9;
    fx_fault(d, PLAN_F_CORRUPT, 0.03, -1);
    hx_err e = {0};
    if (gen_new(f->s, &f->g, &e) != 0) fail_msg("gen_new: %s", e.msg);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_truth_XXXXXX");
    if (!mkdtemp(f->dir)) fail_msg("mkdtemp failed");
    f->ctx = (chk_ctx){.g = f->g, .s = f->s, .output_dir = f->dir};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    hx_rm_rf(f->dir);
    gen_free(f->g);
    fx_free(f->s);
    free(f);
    return 0;
}

static plan_query query(int dedup_col, bool last)
{
    plan_query q = {.dataset = 0, .agg = PLAN_AGG_COUNT, .col = -1, .group_col = -1};
    q.sub.valid = true;
    q.sub.dedup_col = dedup_col;
    q.sub.dedup_last = last;
    q.sub.group_day_col = -1;
    return q;
}

/* The subset computed here, from the generator alone: valid emissions, one per value of
 * dedup_col (first or last in arrival order, NULL one value). Writes them as CSV to path and
 * returns how many. */
static size_t write_subset(const fx *f, int dedup_col, bool last, const char *path)
{
    const plan_dataset *d = &f->s->datasets[0];
    hx_err e = {0};
    gen_cursor c;
    const gen_record *r;
    /* ids of the kept emission per value: status has few values, so a linear table does */
    char *vals[64];
    uint64_t ids[64];
    uint32_t copies[64];
    size_t nv = 0;
    assert_int_equal(gen_cursor_init(&c, f->g, 0, -1, &e), 0);
    while (gen_cursor_next(&c, &r, &e) > 0) {
        if (r->corrupt) continue;
        const gen_value *v = &r->vals[dedup_col];
        const char *text = v->null ? "\x01null" : v->s;
        size_t i = 0;
        while (i < nv && strcmp(vals[i], text))
            i++;
        if (i < nv && !last) continue;
        if (i == nv) {
            assert_true(nv < 64);
            vals[nv++] = hx_strdup(text);
        }
        ids[i] = r->id;
        copies[i] = r->copy;
    }
    gen_cursor_release(&c);
    hx_buf b;
    hx_buf_init(&b);
    assert_true(fmt_header(&b, d, PLAN_FMT_CSV, 0));
    gen_record rec;
    assert_int_equal(gen_record_init(&rec, d->ncols), 0);
    for (size_t i = 0; i < nv; i++) {
        assert_int_equal(gen_record_at(f->g, 0, ids[i], copies[i], &rec, &e), 0);
        assert_true(fmt_record(&b, d, PLAN_FMT_CSV, &rec));
        hx_free(vals[i]);
    }
    gen_record_release(&rec);
    FILE *o = fopen(path, "w");
    assert_non_null(o);
    fwrite(b.data, 1, b.len, o);
    fclose(o);
    hx_buf_release(&b);
    return nv;
}

/* dedup("status") under a comparison keyed on id: the truth is one row per status, and the
 * file check expects exactly the rows the ledger counts. */
static void test_truth__dedup_on_other_column_agrees(void **state)
{
    fx *f = *state;
    for (int last = 0; last < 2; last++) {
        plan_query q = query(2, last);
        hx_err e = {0};
        ledger_result lr;
        assert_int_equal(ledger_eval(f->g, &q, &lr, &e), 0);
        char path[128];
        snprintf(path, sizeof path, "%s/orders.csv", f->dir);
        size_t n = write_subset(f, 2, last, path);
        assert_int_equal(lr.exact, n);
        assert_int_equal(n, 4); /* new, paid, shipped, NULL */

        plan_check c = {.kind = PLAN_CHK_FILE, .name = "file", .table = "orders.csv", .key = "id"};
        c.expect.kind = PLAN_EXP_QUERY;
        c.expect.query = q;
        c.expect.query.agg = PLAN_AGG_ROWS;
        chk_outcome o;
        chk_run(&f->ctx, &c, &o);
        if (o.status != CHK_PASS) fail_msg("last=%d: %s (%s)", last, o.message, o.actual);
        char want[32];
        snprintf(want, sizeof want, "%lld rows", (long long)lr.exact);
        assert_string_equal(o.expected, want);
        chk_outcome_release(&o);

        /* every valid row is not what the query asks for */
        q.sub.dedup_col = -1;
        assert_int_equal(ledger_eval(f->g, &q, &lr, &e), 0);
        assert_true(lr.exact > 2000);
        ledger_result_release(&lr);
    }
}

/* ledger_iter walks exactly the records ledger_eval aggregates, for each kind of subset. */
static void test_truth__iter_is_what_eval_counts(void **state)
{
    fx *f = *state;
    const int dedups[] = {-1, 0, 1, 2};
    for (size_t k = 0; k < 4 * 2 * 3; k++) {
        plan_query q = query(dedups[k % 4], (k / 4) % 2);
        q.sub.valid = k / 8 == 0;
        q.sub.corrupt_only = k / 8 == 1;
        q.agg = PLAN_AGG_IDS;
        hx_err e = {0};
        ledger_result lr;
        assert_int_equal(ledger_eval(f->g, &q, &lr, &e), 0);
        ledger_iter *it;
        assert_int_equal(ledger_iter_new(f->g, &q, &it, &e), 0);
        const gen_record *r;
        uint64_t *ids = calloc(lr.nids + 1, sizeof *ids);
        size_t n = 0;
        int rc;
        while ((rc = ledger_iter_next(it, &r, &e)) > 0) {
            assert_true(n < lr.nids);
            ids[n++] = r->id;
            if (q.sub.valid) assert_int_equal(r->corrupt, 0);
            if (q.sub.corrupt_only) assert_true(r->corrupt != 0);
        }
        assert_int_equal(rc, 0);
        ledger_iter_free(it);
        assert_int_equal(n, lr.nids);
        for (size_t i = 1; i < n; i++) /* sort: eval lists ids ascending */
            for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
                uint64_t t = ids[j];
                ids[j] = ids[j - 1];
                ids[j - 1] = t;
            }
        assert_memory_equal(ids, lr.ids, n * sizeof *ids);
        free(ids);
        ledger_result_release(&lr);
    }
    plan_query bad = query(99, false);
    ledger_iter *it;
    hx_err e = {0};
    assert_int_equal(ledger_iter_new(f->g, &bad, &it, &e), HX_EUSAGE);
    assert_null(it);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truth__dedup_on_other_column_agrees),
        cmocka_unit_test(test_truth__iter_is_what_eval_counts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
