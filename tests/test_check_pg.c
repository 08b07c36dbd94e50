/* test_check_pg.c - the built-in checks that compare a sink table with a record set of the ledger,
 * against a real PostgreSQL: precision_recall (flags against the records a fault hit), quarantine
 * (held-back keys against the corrupt records) and diff (rows by key, compared in the database:
 * counts, samples, values by meaning, the ledger's dedup); a lock held on the sink ends a check
 * at its lock_timeout. */
#include <time.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "check.h"
#include "gen_fixture.h"
#include "ledger.h"
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

    /* bounds no flags can miss: an error, not a pass */
    snprintf(pj, sizeof pj, "0");
    snprintf(rj, sizeof rj, "0");
    c = pr_check(loose, 2);
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_ERROR);
    assert_non_null(strstr(o.message, "both 0"));
    chk_outcome_release(&o);
    /* nothing to flag (no duplicate planted) and min_precision 0: an error; with the default
     * min_precision 1 the check still says whether anything was flagged wrongly */
    plan_param p0[] = {{.key = "min_precision", .json = "0"}};
    c = pr_check(p0, 1);
    c.expect.query.sub.with_faults = 1u << PLAN_F_DUPLICATE;
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_ERROR);
    assert_non_null(strstr(o.message, "no records to flag"));
    chk_outcome_release(&o);
    c = pr_check(NULL, 0);
    c.expect.query.sub.with_faults = 1u << PLAN_F_DUPLICATE;
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_FAIL);
    chk_outcome_release(&o);

    /* no flags table: the solution did not produce it */
    exec_ok(f->conn, "drop table flags");
    c = pr_check(NULL, 0);
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_FAIL);
    chk_outcome_release(&o);
}

/* A lock another session holds on the sink (a transaction the solution left open, a service
 * still running): the check's query gives up at its lock_timeout and the check is an ERROR naming
 * the limit and the query, not a FAIL; once the lock is gone the same check passes. */
static void test_check_pg__lock_timeout(void **state)
{
    fx *f = *state;
    fill(f->conn, "flags", f->hit, 0, f->nhit, NULL, 0);
    PGconn *holder = NULL;
    hx_err e = {0};
    if (pgsvc_connect(pgfx_svc, "check_pg", &holder, &e) != 0) fail_msg("connect: %s", e.msg);
    exec_ok(holder, "begin; lock table flags in access exclusive mode");
    chk_ctx ctx = f->ctx;
    ctx.timeout_us = 10000000;
    ctx.lock_timeout_us = 300000;
    if (chk_set_limits(f->conn, ctx.timeout_us, ctx.lock_timeout_us, &e) != 0)
        fail_msg("limits: %s", e.msg);
    plan_check c = pr_check(NULL, 0);
    chk_outcome o;
    chk_run(&ctx, &c, &o);
    assert_int_equal(o.status, CHK_ERROR);
    assert_non_null(o.message);
    assert_non_null(strstr(o.message, "lock timeout (300ms)"));
    assert_non_null(strstr(o.message, "flags"));
    chk_outcome_release(&o);
    exec_ok(holder, "rollback");
    PQfinish(holder);
    chk_run(&ctx, &c, &o);
    assert_int_equal(o.status, CHK_PASS);
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

    /* no corrupt record in the truth (corrupt and duplicated: none is duplicated): an error
     * naming why, not a pass, even with nothing quarantined */
    exec_ok(f->conn, "truncate quarantine");
    c.expect.query.sub.with_faults = 1u << PLAN_F_DUPLICATE;
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_ERROR);
    assert_non_null(strstr(o.message, "no corrupt record"));
    chk_outcome_release(&o);
}

/* A diff check of table t against orders:valid() (dedup on column dcol when >= 0). */
static plan_check diff_check(const char *t, int dcol, bool last)
{
    plan_check c = {.kind = PLAN_CHK_DIFF, .name = "diff", .table = (char *)t};
    c.expect.kind = PLAN_EXP_QUERY;
    c.expect.query.dataset = 0;
    c.expect.query.agg = PLAN_AGG_ROWS;
    c.expect.query.col = c.expect.query.group_col = -1;
    c.expect.query.sub.valid = true;
    c.expect.query.sub.dedup_col = dcol;
    c.expect.query.sub.dedup_last = last;
    c.expect.query.sub.group_day_col = -1;
    return c;
}

/* Table t, typed as a solution would type it (amount at scale 3: 12.5 is written 12.500), holding
 * the records of check c's query as the ledger walks them. Returns how many. */
static size_t sink_of(fx *f, const char *t, const plan_check *c)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "drop table if exists %s; create table %s (id bigint, amount numeric(12,3), status "
             "text, ts timestamptz, name text, flag boolean, uid uuid)",
             t, t);
    exec_ok(f->conn, sql);
    hx_err e = {0};
    ledger_iter *it;
    assert_int_equal(ledger_iter_new(f->g, &c->expect.query, &it, &e), 0);
    hx_buf b;
    hx_buf_init(&b);
    hx_buf_printf(&b, "insert into %s values ", t);
    const gen_record *r;
    size_t n = 0;
    while (ledger_iter_next(it, &r, &e) == 1) {
        hx_buf_puts(&b, n++ ? ", (" : "(");
        for (int col = 0; col < 7; col++) {
            const gen_value *v = &r->vals[col];
            if (col) hx_buf_puts(&b, ", ");
            if (v->null) {
                hx_buf_puts(&b, "null");
            } else if (col == 0) {
                hx_buf_printf(&b, "%lld", (long long)v->i);
            } else if (col == 1) {
                hx_buf_printf(&b, "%lld.%02lld", (long long)(v->i / 100),
                              (long long)llabs(v->i % 100));
            } else if (col == 3) {
                hx_buf_printf(&b, "timestamptz 'epoch' + %lld * interval '1 microsecond'",
                              (long long)v->i);
            } else if (col == 5) {
                hx_buf_puts(&b, v->i ? "true" : "false");
            } else {
                char *lit = PQescapeLiteral(f->conn, v->s, strlen(v->s));
                hx_buf_puts(&b, lit);
                PQfreemem(lit);
            }
        }
        hx_buf_putc(&b, ')');
    }
    ledger_iter_free(it);
    if (n) exec_ok(f->conn, b.data);
    hx_buf_release(&b);
    return n;
}

/* The sample row of kind whose key cell is key, or -1. */
static int sample_of(const chk_outcome *o, const char *kind, const char *key)
{
    for (size_t i = 0; i < o->sample.nrows; i++) {
        char **row = o->sample.cells + i * o->sample.ncols;
        if (strcmp(row[0], kind) == 0 && strcmp(row[1] ? row[1] : "NULL", key) == 0) return (int)i;
    }
    return -1;
}

static const char *cell(const chk_outcome *o, int row, size_t col)
{
    return o->sample.cells[(size_t)row * o->sample.ncols + col];
}

static void test_check_pg__diff(void **state)
{
    fx *f = *state;
    chk_outcome o;
    plan_check c = diff_check("out", -1, false);
    size_t n = sink_of(f, "out", &c);
    assert_in_range(n, 3800, 4000);
    char want[128];

    /* the same rows, typed by the solution (12.5 as 12.500, instants as timestamptz): pass */
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_PASS);
    snprintf(want, sizeof want, "%zu rows", n);
    assert_string_equal(o.expected, want);
    snprintf(want, sizeof want, "%zu rows: 0 missing, 0 extra, 0 mismatched", n);
    assert_string_equal(o.actual, want);
    chk_outcome_release(&o);

    /* one row gone, one unknown key, one NULL key, one copy too many, two values changed */
    exec_ok(f->conn, "delete from out where id = 10");
    exec_ok(f->conn, "insert into out (id, amount) values (999999, 1), (null, 2)");
    exec_ok(f->conn, "insert into out select * from out where id = 20");
    exec_ok(f->conn, "update out set amount = amount + 1 where id = 30");
    exec_ok(f->conn, "update out set ts = ts + interval '1.5 seconds' where id = 40");
    PGresult *r = PQexec(f->conn, "select amount::text, (extract(epoch from ts) * 1000000)::bigint "
                                  "from out where id in (30, 40) order by id");
    assert_int_equal(PQntuples(r), 2);
    char amount[32];
    snprintf(amount, sizeof amount, "%s", PQgetvalue(r, 0, 0)); /* 3 decimals, as written */
    long long ts_us = strtoll(PQgetvalue(r, 1, 1), NULL, 10);
    PQclear(r);
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_FAIL);
    assert_int_equal(o.missing, 1);
    assert_int_equal(o.extra, 3);
    assert_int_equal(o.mismatched, 2);
    snprintf(want, sizeof want, "%zu rows: 1 missing, 3 extra, 2 mismatched", n + 2);
    assert_string_equal(o.actual, want);
    assert_string_equal(o.message, "1 missing, 3 extra, 2 mismatched rows");
    assert_int_equal(o.sample.ncols, 5);
    assert_string_equal(o.sample.cols[1], "id");
    /* missing and extra rows are sampled whole: the surplus copy's values, not just its key */
    int w = sample_of(&o, "missing", "10");
    assert_true(w >= 0);
    assert_string_equal(cell(&o, w, 2), "(row)");
    assert_non_null(strstr(cell(&o, w, 3), "amount="));
    assert_null(cell(&o, w, 4));
    w = sample_of(&o, "extra", "999999");
    assert_true(w >= 0);
    assert_null(cell(&o, w, 3));
    assert_non_null(strstr(cell(&o, w, 4), "amount=1.00"));
    w = sample_of(&o, "extra", "NULL");
    assert_true(w >= 0);
    assert_non_null(strstr(cell(&o, w, 4), "amount=2.00"));
    assert_true(sample_of(&o, "extra", "20") >= 0);
    int m = sample_of(&o, "mismatch", "30");
    assert_true(m >= 0);
    assert_string_equal(cell(&o, m, 2), "amount");
    amount[strlen(amount) - 1] = '\0'; /* the canonical form has the column's 2 decimals */
    assert_string_equal(cell(&o, m, 4), amount);
    /* timestamps in samples read as ISO 8601 UTC, not epoch microseconds */
    m = sample_of(&o, "mismatch", "40");
    assert_true(m >= 0);
    assert_string_equal(cell(&o, m, 2), "ts");
    time_t secs = (time_t)(ts_us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char iso[64];
    strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(iso + strlen(iso), sizeof iso - strlen(iso), ".%06lldZ", ts_us % 1000000);
    if (ts_us % 1000000 == 0) snprintf(iso + 19, sizeof iso - 19, "Z");
    assert_string_equal(cell(&o, m, 4), iso);
    assert_non_null(strchr(cell(&o, m, 3), 'T'));
    chk_outcome_release(&o);

    /* the ledger's dedup, on a column that is not the key: first or last emission per status */
    for (int last = 0; last < 2; last++) {
        plan_check dc = diff_check("dd", 2, last);
        size_t nd = sink_of(f, "dd", &dc);
        assert_int_equal(nd, 3);
        chk_run(&f->ctx, &dc, &o);
        assert_int_equal(o.status, CHK_PASS);
        chk_outcome_release(&o);
        plan_check other = diff_check("dd", 2, !last);
        chk_run(&f->ctx, &other, &o);
        assert_int_equal(o.status, CHK_FAIL);
        assert_int_equal(o.missing, 3);
        assert_int_equal(o.extra, 3);
        chk_outcome_release(&o);
    }

    /* a missing table is the solution's failure; the temp tables are gone after every run */
    c.table = "nosuch";
    chk_run(&f->ctx, &c, &o);
    assert_int_equal(o.status, CHK_FAIL);
    assert_int_equal(o.missing + o.extra + o.mismatched, 0);
    chk_outcome_release(&o);
    r = PQexec(f->conn, "select count(*) from pg_class where relname like '\\_hx\\_diff%'");
    assert_string_equal(PQgetvalue(r, 0, 0), "0");
    PQclear(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_pg__precision_recall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_pg__lock_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_pg__quarantine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_pg__diff, setup, teardown),
    };
    return cmocka_run_group_tests(tests, pgfx_setup, pgfx_teardown);
}
