/* test_check_pg.c - the built-in checks that compare a sink table's keys with a record set of the
 * ledger, against a real PostgreSQL: precision_recall (flags against the records a fault hit) and
 * quarantine (held-back keys against the corrupt records). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "check.h"
#include "gen_fixture.h"
#include "pgfixture.h"

typedef struct fx {
    plan_scenario *s;
    gen *g;
    PGconn *conn;
    chk_ctx ctx;
    int64_t hit[512]; /* ids of records the OUTLIERS fault hit */
    size_t nhit;
    int64_t corrupt[512]; /* ids of corrupt emissions */
    size_t ncorrupt;
} fx;

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->s = fx_scenario();
    plan_dataset *d = fx_orders(f->s, 4000, 31);
    fx_fault(d, PLAN_F_OUTLIERS, 0.01, 1)->factor = 50;
    fx_fault(d, PLAN_F_CORRUPT, 0.01, -1);
    hx_err e = {0};
    if (gen_new(f->s, &f->g, &e) != 0) fail_msg("gen_new: %s", e.msg);
    gen_cursor cur;
    if (gen_cursor_init(&cur, f->g, 0, -1, &e) != 0) fail_msg("cursor: %s", e.msg);
    const gen_record *r;
    while (gen_cursor_next(&cur, &r, &e) == 1) {
        if ((r->faults & (1u << PLAN_F_OUTLIERS)) && !r->copy && f->nhit < 512)
            f->hit[f->nhit++] = r->vals[0].i;
        if (r->corrupt && f->ncorrupt < 512) f->corrupt[f->ncorrupt++] = r->vals[0].i;
    }
    gen_cursor_release(&cur);
    f->conn = pgfx_fresh_db("check_pg");
    f->ctx = (chk_ctx){.conn = f->conn, .g = f->g, .s = f->s};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    PQfinish(f->conn);
    gen_free(f->g);
    fx_free(f->s);
    free(f);
    return 0;
}

/* Fill table t(id bigint) with ids[from..to) plus the extra ids. */
static void fill(PGconn *c, const char *t, const int64_t *ids, size_t from, size_t to,
                 const int64_t *extra, size_t nextra)
{
    char sql[256];
    snprintf(sql, sizeof sql, "drop table if exists %s; create table %s (id bigint, note text)", t,
             t);
    exec_ok(c, sql);
    for (size_t i = from; i < to; i++) {
        snprintf(sql, sizeof sql, "insert into %s values (%lld, 'x')", t, (long long)ids[i]);
        exec_ok(c, sql);
    }
    for (size_t i = 0; i < nextra; i++) {
        snprintf(sql, sizeof sql, "insert into %s values (%lld, 'x')", t, (long long)extra[i]);
        exec_ok(c, sql);
    }
}

static plan_check pr_check(plan_param *params, size_t n)
{
    plan_check c = {.kind = PLAN_CHK_PRECISION_RECALL,
                    .name = "pr",
                    .table = "flags",
                    .column = "id",
                    .params = params,
                    .nparams = n};
    c.expect.kind = PLAN_EXP_QUERY;
    c.expect.query.dataset = 0;
    c.expect.query.agg = PLAN_AGG_IDS;
    c.expect.query.col = c.expect.query.group_col = -1;
    c.expect.query.sub.dedup_col = -1;
    c.expect.query.sub.group_day_col = -1;
    c.expect.query.sub.with_faults = 1u << PLAN_F_OUTLIERS;
    return c;
}

static void test_check_pg__precision_recall(void **state)
{
    fx *f = *state;
    assert_in_range(f->nhit, 20, 80);
    chk_outcome o;

    /* every planted outlier flagged, nothing else: precision and recall 1 */
    fill(f->conn, "flags", f->hit, 0, f->nhit, NULL, 0);
    plan_check c = pr_check(NULL, 0);
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_PASS);
    assert_int_equal(o.missing, 0);
    assert_int_equal(o.extra, 0);
    chk_outcome_release(&o);

    /* 4 missed, 2 wrong: precision (n-4)/(n-2), recall (n-4)/n; exact by default, so it fails */
    int64_t wrong[] = {999999, 999998};
    fill(f->conn, "flags", f->hit, 4, f->nhit, wrong, 2);
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_FAIL);
    assert_int_equal(o.missing, 4);
    assert_int_equal(o.extra, 2);
    double n = (double)f->nhit, p = (n - 4) / (n - 2), r = (n - 4) / n;
    char want[200];
    snprintf(want, sizeof want, "precision %.4f (%.0f of %.0f flags), recall %.4f (%.0f of %zu", p,
             n - 4, n - 2, r, n - 4, f->nhit);
    assert_non_null(strstr(o.actual, want));
    chk_outcome_release(&o);

    /* the same flags pass bounds just under the achieved ratios, and fail bounds just over */
    char pj[32], rj[32];
    plan_param loose[] = {{.key = "min_precision", .json = pj}, {.key = "min_recall", .json = rj}};
    snprintf(pj, sizeof pj, "%.6f", p - 1e-4);
    snprintf(rj, sizeof rj, "%.6f", r - 1e-4);
    c = pr_check(loose, 2);
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_PASS);
    chk_outcome_release(&o);
    snprintf(rj, sizeof rj, "%.6f", r + 1e-4);
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_FAIL);
    chk_outcome_release(&o);

    /* a bound outside [0, 1] is the author's error */
    snprintf(pj, sizeof pj, "1.5");
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_ERROR);
    assert_non_null(strstr(o.message, "min_precision"));
    chk_outcome_release(&o);

    /* no flags table: the solution did not produce it */
    exec_ok(f->conn, "drop table flags");
    c = pr_check(NULL, 0);
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_FAIL);
    chk_outcome_release(&o);
}

static void test_check_pg__quarantine(void **state)
{
    fx *f = *state;
    assert_in_range(f->ncorrupt, 20, 80);
    chk_outcome o;
    plan_check c = {
        .kind = PLAN_CHK_QUARANTINE, .name = "q", .table = "quarantine", .column = "id"};
    c.expect.kind = PLAN_EXP_QUERY;
    c.expect.query.dataset = 0;
    c.expect.query.agg = PLAN_AGG_IDS;
    c.expect.query.col = c.expect.query.group_col = -1;
    c.expect.query.sub.dedup_col = -1;
    c.expect.query.sub.group_day_col = -1;

    fill(f->conn, "quarantine", f->corrupt, 0, f->ncorrupt, NULL, 0);
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_PASS);
    chk_outcome_release(&o);

    int64_t fine[] = {f->hit[0]};
    fill(f->conn, "quarantine", f->corrupt, 1, f->ncorrupt, fine, 1);
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_FAIL);
    assert_int_equal(o.missing, 1);
    assert_int_equal(o.extra, f->corrupt[0] == fine[0] ? 0 : 1);
    chk_outcome_release(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_pg__precision_recall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_pg__quarantine, setup, teardown),
    };
    return cmocka_run_group_tests(tests, pgfx_setup, pgfx_teardown);
}
