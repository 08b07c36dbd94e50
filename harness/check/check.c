/* check.c - see check.h. Each check kind is one static function; chk_run dispatches. Values from
 * both sides are brought to one canonical text per type before comparing (decimals at the
 * column's scale, timestamps as epoch microseconds, booleans as true/false), so that "12.5" and
 * "12.50" or two spellings of one instant compare equal, and nothing else does. */
#include "check_int.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fmt.h"
#include "ledger.h"
#include "rd.h"
#include "units.h"

#define DEFAULT_SAMPLES 10

const char *chk_status_name(chk_status s)
{
    static const char *n[] = {"pass", "fail", "error", "skip"};
    return (unsigned)s < 4 ? n[s] : "?";
}

/* ---- outcome helpers ---- */

static void set_text(char **dst, const char *s)
{
    hx_free(*dst);
    *dst = s ? hx_strdup(s) : NULL;
}

static void setf(char **dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void setf(char **dst, const char *fmt, ...)
{
    hx_buf b;
    hx_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    hx_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    hx_free(*dst);
    *dst = hx_buf_steal(&b);
}

static void outcome(chk_outcome *o, chk_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void outcome(chk_outcome *o, chk_status st, const char *fmt, ...)
{
    o->status = st;
    if (!fmt) return;
    hx_buf b;
    hx_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    hx_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    hx_free(o->message);
    o->message = hx_buf_steal(&b);
}

static void sample_cols(chk_outcome *o, size_t n, const char *const *titles)
{
    chk_sample *s = &o->sample;
    s->ncols = n;
    s->cols = hx_calloc(n, sizeof *s->cols);
    for (size_t i = 0; s->cols && i < n; i++)
        s->cols[i] = hx_strdup(titles[i]);
}

/* Append one sample row (copies the cells; NULL cells stay NULL). */
static void sample_row(chk_outcome *o, const char *const *cells)
{
    chk_sample *s = &o->sample;
    if (!s->cols) return;
    char **nc = hx_realloc(s->cells, (s->nrows + 1) * s->ncols * sizeof *nc);
    if (!nc) return;
    s->cells = nc;
    for (size_t i = 0; i < s->ncols; i++)
        nc[s->nrows * s->ncols + i] = cells[i] ? hx_strdup(cells[i]) : NULL;
    s->nrows++;
}

void chk_outcome_release(chk_outcome *o)
{
    hx_free(o->expected);
    hx_free(o->actual);
    hx_free(o->message);
    for (size_t i = 0; i < o->sample.ncols; i++)
        hx_free(o->sample.cols[i]);
    hx_free(o->sample.cols);
    for (size_t i = 0; i < o->sample.nrows * o->sample.ncols; i++)
        hx_free(o->sample.cells[i]);
    hx_free(o->sample.cells);
    memset(o, 0, sizeof *o);
}

/* ---- SQL helpers ---- */

char *chk_quote_ident(PGconn *conn, const char *name)
{
    hx_buf b;
    hx_buf_init(&b);
    const char *p = name;
    while (p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char *q = conn ? PQescapeIdentifier(conn, p, n) : NULL;
        if (!q) {
            hx_buf_release(&b);
            return NULL;
        }
        if (b.len) hx_buf_putc(&b, '.');
        hx_buf_puts(&b, q);
        PQfreemem(q);
        p = dot ? dot + 1 : NULL;
    }
    return b.oom ? (hx_buf_release(&b), NULL) : hx_buf_steal(&b);
}

static char *first_line(const char *s)
{
    if (!s) return hx_strdup("");
    size_t n = strcspn(s, "\n");
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\r'))
        n--;
    return hx_strndup(s, n);
}

/* Run sql; on failure fill o as FAIL (the sink is wrong: missing table, bad type) and return NULL.
 */
static PGresult *query(const chk_ctx *ctx, chk_outcome *o, const char *sql)
{
    if (!ctx->conn) {
        outcome(o, CHK_ERROR, "no database connection for this check");
        return NULL;
    }
    PGresult *r = PQexec(ctx->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return r;
    char *msg = first_line(PQresultErrorMessage(r));
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    /* Connection trouble is ours (error); a missing table or column is the solution's (fail). */
    bool infra = PQstatus(ctx->conn) != CONNECTION_OK || (state && strncmp(state, "08", 2) == 0);
    outcome(o, infra ? CHK_ERROR : CHK_FAIL, "query failed: %s", msg);
    hx_free(msg);
    PQclear(r);
    return NULL;
}

/* ---- numbers and ledger expectations ---- */

/* Evaluate an expectation to a scalar text and number. Returns false (o filled) on error. */
static bool expect_scalar(const chk_ctx *ctx, const plan_expect *e, chk_outcome *o, double *num,
                          char *text, size_t n)
{
    switch (e->kind) {
    case PLAN_EXP_NUMBER:
        *num = e->number;
        snprintf(text, n, "%.17g", e->number);
        return true;
    case PLAN_EXP_STRING:
        *num = strtod(e->string, NULL);
        snprintf(text, n, "%s", e->string);
        return true;
    case PLAN_EXP_QUERY: {
        ledger_result r;
        hx_err err = {0};
        if (ledger_eval(ctx->g, &e->query, &r, &err) != 0) {
            outcome(o, CHK_ERROR, "ledger query failed: %s", err.msg);
            return false;
        }
        if (r.is_null) {
            snprintf(text, n, "NULL");
            *num = NAN;
        } else {
            ledger_result_text(&r, text, n);
            *num = r.number;
        }
        ledger_result_release(&r);
        return true;
    }
    default:
        outcome(o, CHK_ERROR, "this check needs an expected value (equals = ...)");
        return false;
    }
}

static bool numbers_match(double exp, double act, double tol)
{
    if (isnan(exp) || isnan(act)) return isnan(exp) && isnan(act);
    double d = fabs(exp - act);
    if (tol > 0) return d <= tol * fmax(1.0, fabs(exp));
    /* exact: allow only binary floating point noise of decimal sums */
    return d <= 1e-9 * fmax(1.0, fabs(exp));
}

static void compare_scalar(const chk_ctx *ctx, const plan_check *c, chk_outcome *o,
                           const char *actual)
{
    char exp_text[128];
    double exp;
    if (!expect_scalar(ctx, &c->expect, o, &exp, exp_text, sizeof exp_text)) return;
    set_text(&o->expected, exp_text);
    set_text(&o->actual, actual ? actual : "NULL");
    if (c->expect.kind == PLAN_EXP_STRING) {
        bool ok = actual && strcmp(actual, c->expect.string) == 0;
        outcome(o, ok ? CHK_PASS : CHK_FAIL, ok ? NULL : "values differ");
        return;
    }
    char *end = NULL;
    double act = actual ? strtod(actual, &end) : NAN;
    if (actual && (end == actual || *end)) {
        outcome(o, CHK_FAIL, "the query returned '%s', not a number", actual);
        return;
    }
    bool ok = numbers_match(exp, act, c->tolerance);
    if (ok)
        outcome(o, CHK_PASS, NULL);
    else if (!isnan(exp) && !isnan(act))
        outcome(o, CHK_FAIL, "off by %.6g (%+.4g%%)", act - exp,
                exp != 0 ? 100.0 * (act - exp) / fabs(exp) : INFINITY);
    else
        outcome(o, CHK_FAIL, "values differ");
}

/* ---- the checks ---- */

static void check_sql_rows(const chk_ctx *ctx, const plan_check *c, chk_outcome *o, PGresult *r)
{
    ledger_result lr;
    hx_err err = {0};
    if (ledger_eval(ctx->g, &c->expect.query, &lr, &err) != 0) {
        outcome(o, CHK_ERROR, "ledger query failed: %s", err.msg);
        return;
    }
    if (PQnfields(r) < 2) {
        outcome(o, CHK_ERROR, "a grouped expectation needs a query returning (group, value) rows");
        ledger_result_release(&lr);
        return;
    }
    const char *titles[] = {"group", "expected", "actual"};
    sample_cols(o, 3, titles);
    size_t max = ctx->max_samples ? ctx->max_samples : DEFAULT_SAMPLES;
    int nr = PQntuples(r);
    bool *seen = hx_calloc((size_t)nr + 1, 1);
    for (size_t i = 0; i < lr.nrows; i++) {
        char ev[64];
        snprintf(ev, sizeof ev, "%.17g", lr.rows[i].value);
        int hit = -1;
        for (int j = 0; j < nr; j++)
            if (!PQgetisnull(r, j, 0) && strcmp(PQgetvalue(r, j, 0), lr.rows[i].group) == 0) {
                hit = j;
                break;
            }
        if (hit < 0) {
            o->missing++;
            if (o->sample.nrows < max) {
                const char *row[] = {lr.rows[i].group, ev, NULL};
                sample_row(o, row);
            }
            continue;
        }
        seen[hit] = true;
        const char *av = PQgetisnull(r, hit, 1) ? NULL : PQgetvalue(r, hit, 1);
        if (!av || !numbers_match(lr.rows[i].value, strtod(av, NULL), c->tolerance)) {
            o->mismatched++;
            if (o->sample.nrows < max) {
                const char *row[] = {lr.rows[i].group, ev, av};
                sample_row(o, row);
            }
        }
    }
    for (int j = 0; j < nr; j++)
        if (!seen[j]) {
            o->extra++;
            if (o->sample.nrows < max) {
                const char *row[] = {PQgetvalue(r, j, 0), NULL, PQgetvalue(r, j, 1)};
                sample_row(o, row);
            }
        }
    hx_free(seen);
    setf(&o->expected, "%zu groups", lr.nrows);
    setf(&o->actual, "%d groups", nr);
    if (o->missing + o->extra + o->mismatched == 0)
        outcome(o, CHK_PASS, NULL);
    else
        outcome(o, CHK_FAIL, "%llu groups missing, %llu extra, %llu with a different value",
                (unsigned long long)o->missing, (unsigned long long)o->extra,
                (unsigned long long)o->mismatched);
    ledger_result_release(&lr);
}

static void check_sql(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    PGresult *r = query(ctx, o, c->query);
    if (!r) return;
    bool grouped =
        c->expect.kind == PLAN_EXP_QUERY &&
        (c->expect.query.agg == PLAN_AGG_GROUP_SUM || c->expect.query.agg == PLAN_AGG_GROUP_COUNT);
    if (grouped) {
        check_sql_rows(ctx, c, o, r);
    } else if (c->expect.kind == PLAN_EXP_NONE) {
        /* No expectation: the query selects offending rows, like a dbt test. */
        int n = PQntuples(r);
        setf(&o->expected, "0 rows");
        setf(&o->actual, "%d rows", n);
        if (n > 0) {
            int nf = PQnfields(r);
            const char **titles = hx_calloc((size_t)nf + 1, sizeof *titles);
            for (int f = 0; titles && f < nf; f++)
                titles[f] = PQfname(r, f);
            sample_cols(o, (size_t)nf, titles);
            size_t max = ctx->max_samples ? ctx->max_samples : DEFAULT_SAMPLES;
            const char **row = hx_calloc((size_t)nf + 1, sizeof *row);
            for (int i = 0; row && i < n && (size_t)i < max; i++) {
                for (int f = 0; f < nf; f++)
                    row[f] = PQgetisnull(r, i, f) ? NULL : PQgetvalue(r, i, f);
                sample_row(o, row);
            }
            hx_free(row);
            hx_free(titles);
            outcome(o, CHK_FAIL, "the query returned %d offending rows", n);
        } else {
            outcome(o, CHK_PASS, NULL);
        }
    } else if (PQntuples(r) != 1 || PQnfields(r) < 1) {
        setf(&o->actual, "%d rows", PQntuples(r));
        outcome(o, CHK_FAIL, "expected the query to return one value, it returned %d rows",
                PQntuples(r));
    } else {
        compare_scalar(ctx, c, o, PQgetisnull(r, 0, 0) ? NULL : PQgetvalue(r, 0, 0));
    }
    PQclear(r);
}

/* Runs a scalar query built from a format with the quoted table (and column) and compares it.
 */
static void scalar_check(const chk_ctx *ctx, const plan_check *c, chk_outcome *o, const char *sql)
{
    PGresult *r = query(ctx, o, sql);
    if (!r) return;
    compare_scalar(ctx, c, o,
                   PQntuples(r) ? (PQgetisnull(r, 0, 0) ? NULL : PQgetvalue(r, 0, 0)) : NULL);
    PQclear(r);
}

/* Quoted table and column of a check; false and an ERROR outcome when they are missing. */
static bool target(const chk_ctx *ctx, const plan_check *c, chk_outcome *o, char **qt, char **qc,
                   bool need_col)
{
    *qt = *qc = NULL;
    if (!c->table || (need_col && !c->column)) {
        outcome(o, CHK_ERROR, "this check needs table%s", need_col ? " and column" : "");
        return false;
    }
    *qt = chk_quote_ident(ctx->conn, c->table);
    if (c->column) *qc = chk_quote_ident(ctx->conn, c->column);
    if (!*qt || (c->column && !*qc)) {
        outcome(o, CHK_ERROR, "cannot quote the table or column name");
        hx_free(*qt);
        hx_free(*qc);
        return false;
    }
    return true;
}

static void check_row_count(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    char *qt, *qc;
    if (!target(ctx, c, o, &qt, &qc, false)) return;
    hx_buf sql;
    hx_buf_init(&sql);
    hx_buf_printf(&sql, "select count(*) from %s", qt);
    scalar_check(ctx, c, o, sql.data);
    hx_buf_release(&sql);
    hx_free(qt);
    hx_free(qc);
}

/* Checks whose failing rows are selected by a query: count them, keep samples. */
static void offending_rows(const chk_ctx *ctx, chk_outcome *o, const char *count_sql,
                           const char *sample_sql, const char *what)
{
    PGresult *r = query(ctx, o, count_sql);
    if (!r) return;
    long long bad = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    setf(&o->expected, "0 %s", what);
    setf(&o->actual, "%lld %s", bad, what);
    o->extra = (uint64_t)bad;
    if (bad == 0) {
        outcome(o, CHK_PASS, NULL);
        return;
    }
    outcome(o, CHK_FAIL, "%lld %s", bad, what);
    r = query(ctx, o, sample_sql);
    if (!r) {
        o->status = CHK_FAIL;
        return;
    }
    int nf = PQnfields(r);
    const char *titles[8] = {0};
    const char *row[8] = {0};
    for (int f = 0; f < nf && f < 8; f++)
        titles[f] = PQfname(r, f);
    sample_cols(o, (size_t)(nf < 8 ? nf : 8), titles);
    for (int i = 0; i < PQntuples(r); i++) {
        for (int f = 0; f < nf && f < 8; f++)
            row[f] = PQgetisnull(r, i, f) ? NULL : PQgetvalue(r, i, f);
        sample_row(o, row);
    }
    PQclear(r);
}

static void check_unique(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    char *qt, *qc;
    if (!target(ctx, c, o, &qt, &qc, true)) return;
    size_t max = ctx->max_samples ? ctx->max_samples : DEFAULT_SAMPLES;
    hx_buf a, b;
    hx_buf_init(&a);
    hx_buf_init(&b);
    hx_buf_printf(&a,
                  "select count(*) from (select %s from %s where %s is not null group by %s "
                  "having count(*) > 1) d",
                  qc, qt, qc, qc);
    hx_buf_printf(&b,
                  "select %s::text as value, count(*) as copies from %s where %s is not null "
                  "group by %s having count(*) > 1 order by 2 desc, 1 limit %zu",
                  qc, qt, qc, qc, max);
    offending_rows(ctx, o, a.data, b.data, "duplicated values");
    hx_buf_release(&a);
    hx_buf_release(&b);
    hx_free(qt);
    hx_free(qc);
}

static void check_not_null(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    char *qt, *qc;
    if (!target(ctx, c, o, &qt, &qc, true)) return;
    hx_buf a;
    hx_buf_init(&a);
    hx_buf_printf(&a, "select count(*) from %s where %s is null", qt, qc);
    PGresult *r = query(ctx, o, a.data);
    if (r) {
        long long n = atoll(PQgetvalue(r, 0, 0));
        setf(&o->expected, "0 nulls");
        setf(&o->actual, "%lld nulls", n);
        o->extra = (uint64_t)n;
        outcome(o, n ? CHK_FAIL : CHK_PASS, n ? "%lld rows have no %s" : NULL, n, c->column);
        PQclear(r);
    }
    hx_buf_release(&a);
    hx_free(qt);
    hx_free(qc);
}

static void check_accepted(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    char *qt, *qc;
    if (!target(ctx, c, o, &qt, &qc, true)) return;
    hx_buf list, a, b;
    hx_buf_init(&list);
    hx_buf_init(&a);
    hx_buf_init(&b);
    for (size_t i = 0; i < c->nvalues; i++) {
        char *lit = PQescapeLiteral(ctx->conn, c->values[i], strlen(c->values[i]));
        if (lit) {
            hx_buf_printf(&list, "%s%s", i ? ", " : "", lit);
            PQfreemem(lit);
        }
    }
    if (!list.len) hx_buf_puts(&list, "NULL");
    size_t max = ctx->max_samples ? ctx->max_samples : DEFAULT_SAMPLES;
    hx_buf_printf(&a, "select count(*) from %s where %s is not null and %s::text not in (%s)", qt,
                  qc, qc, list.data);
    hx_buf_printf(&b,
                  "select %s::text as value, count(*) as rows from %s where %s is not null and "
                  "%s::text not in (%s) group by 1 order by 2 desc limit %zu",
                  qc, qt, qc, qc, list.data, max);
    offending_rows(ctx, o, a.data, b.data, "rows with values outside the accepted set");
    hx_buf_release(&list);
    hx_buf_release(&a);
    hx_buf_release(&b);
    hx_free(qt);
    hx_free(qc);
}

static void check_referential(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    char *qt, *qc;
    if (!target(ctx, c, o, &qt, &qc, true)) return;
    if (!c->ref_table || !c->ref_column) {
        outcome(o, CHK_ERROR, "referential needs ref = \"table.column\"");
        hx_free(qt);
        hx_free(qc);
        return;
    }
    char *rt = chk_quote_ident(ctx->conn, c->ref_table);
    char *rc = chk_quote_ident(ctx->conn, c->ref_column);
    size_t max = ctx->max_samples ? ctx->max_samples : DEFAULT_SAMPLES;
    hx_buf a, b;
    hx_buf_init(&a);
    hx_buf_init(&b);
    hx_buf_printf(&a,
                  "select count(*) from %s c where c.%s is not null and not exists "
                  "(select 1 from %s p where p.%s = c.%s)",
                  qt, qc, rt, rc, qc);
    hx_buf_printf(&b,
                  "select c.%s::text as orphan, count(*) as rows from %s c where c.%s is not null "
                  "and not exists (select 1 from %s p where p.%s = c.%s) group by 1 order by 2 "
                  "desc limit %zu",
                  qc, qt, qc, rt, rc, qc, max);
    offending_rows(ctx, o, a.data, b.data, "rows without a parent");
    hx_buf_release(&a);
    hx_buf_release(&b);
    hx_free(rt);
    hx_free(rc);
    hx_free(qt);
    hx_free(qc);
}

static void check_schema(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    if (!c->table) {
        outcome(o, CHK_ERROR, "schema needs a table");
        return;
    }
    const char *dot = strchr(c->table, '.');
    char *schema = dot ? hx_strndup(c->table, (size_t)(dot - c->table)) : hx_strdup("public");
    const char *tname = dot ? dot + 1 : c->table;
    const char *params[2] = {schema, tname};
    PGresult *r =
        PQexecParams(ctx->conn,
                     "select column_name, data_type from information_schema.columns "
                     "where table_schema = $1 and table_name = $2 order by ordinal_position",
                     2, NULL, params, NULL, NULL, 0);
    hx_free(schema);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        char *m = first_line(PQresultErrorMessage(r));
        outcome(o, CHK_ERROR, "cannot read the schema: %s", m);
        hx_free(m);
        PQclear(r);
        return;
    }
    if (PQntuples(r) == 0) {
        outcome(o, CHK_FAIL, "table %s does not exist", c->table);
        set_text(&o->actual, "no table");
        PQclear(r);
        return;
    }
    const char *titles[] = {"column", "expected", "actual"};
    sample_cols(o, 3, titles);
    hx_buf exp, act;
    hx_buf_init(&exp);
    hx_buf_init(&act);
    for (size_t i = 0; i < c->ncolumns; i++) {
        const char *want = c->types ? c->types[i] : NULL;
        hx_buf_printf(&exp, "%s%s%s%s", i ? ", " : "", c->columns[i], want ? " " : "",
                      want ? want : "");
        const char *have = NULL;
        for (int j = 0; j < PQntuples(r); j++)
            if (strcmp(PQgetvalue(r, j, 0), c->columns[i]) == 0) have = PQgetvalue(r, j, 1);
        bool ok = have && (!want || strcasecmp(want, have) == 0 ||
                           strncasecmp(have, want, strlen(want)) == 0);
        if (!ok) {
            o->mismatched++;
            const char *row[] = {c->columns[i], want ? want : "(any)", have ? have : "(missing)"};
            sample_row(o, row);
        }
    }
    for (int j = 0; j < PQntuples(r); j++)
        hx_buf_printf(&act, "%s%s %s", j ? ", " : "", PQgetvalue(r, j, 0), PQgetvalue(r, j, 1));
    o->expected = hx_buf_steal(&exp);
    o->actual = hx_buf_steal(&act);
    outcome(o, o->mismatched ? CHK_FAIL : CHK_PASS,
            o->mismatched ? "%llu columns missing or of another type" : NULL,
            (unsigned long long)o->mismatched);
    PQclear(r);
}

static void check_freshness(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    char *qt, *qc;
    if (!target(ctx, c, o, &qt, &qc, true)) return;
    hx_buf a;
    hx_buf_init(&a);
    hx_buf_printf(&a, "select extract(epoch from (now() - max(%s)::timestamptz))::float8 from %s",
                  qc, qt);
    PGresult *r = query(ctx, o, a.data);
    if (r) {
        double limit = (double)c->max_age_us / 1e6;
        setf(&o->expected, "<= %.3fs old", limit);
        if (PQgetisnull(r, 0, 0)) {
            set_text(&o->actual, "no rows");
            outcome(o, CHK_FAIL, "the table has no rows");
        } else {
            double age = strtod(PQgetvalue(r, 0, 0), NULL);
            setf(&o->actual, "%.3fs old", age);
            outcome(o, age <= limit ? CHK_PASS : CHK_FAIL,
                    age <= limit ? NULL : "the newest row is too old");
        }
        PQclear(r);
    }
    hx_buf_release(&a);
    hx_free(qt);
    hx_free(qc);
}

/* Comparing sink rows with the truth, shared by diff (rows from SQL) and file (rows from a
 * file). The sink hands over one row at a time: its canonical key and, through val(), the
 * canonical value of each compared column. */
typedef struct diff_state {
    exp_map m;                        /* the truth, by key */
    const plan_dataset *ds;           /* the dataset compared with */
    int key_col;                      /* its key column */
    const int *cols;                  /* its compared columns */
    size_t ncols;                     /* number of compared columns */
    size_t max;                       /* samples per category */
    size_t s_missing, s_extra, s_mis; /* samples kept per category */
} diff_state;

/* Canonical value of compared column cc of the current sink row (NULL = SQL NULL), in buf. */
typedef const char *(*diff_val_fn)(void *ud, size_t cc, char *buf, size_t n);

static void diff_sample_titles(const diff_state *d, chk_outcome *o)
{
    const char *titles[] = {"kind", d->ds->cols[d->key_col].name, "column", "expected", "actual"};
    sample_cols(o, 5, titles);
}

static void diff_row(diff_state *d, chk_outcome *o, const char *key, diff_val_fn val, void *ud)
{
    exp_row *row = key ? exp_map_find(&d->m, key, false) : NULL;
    if (!row || row->got >= row->want) {
        o->extra++;
        if (d->s_extra++ < d->max) {
            const char *cells[] = {"extra", key ? key : "NULL", NULL, NULL, NULL};
            sample_row(o, cells);
        }
        if (row) row->got++;
        return;
    }
    row->got++;
    char vb[64];
    /* The version this row stands for: one it equals, else the first one still unmatched. */
    char **want = row->vals;
    if (row->want > 1) {
        size_t pick = SIZE_MAX;
        for (size_t v = 0; v < row->want; v++) {
            if (row->used[v]) continue;
            if (pick == SIZE_MAX) pick = v;
            size_t cc = 0;
            while (cc < d->ncols &&
                   chk_same(val(ud, cc, vb, sizeof vb), row->vals[v * d->ncols + cc]))
                cc++;
            if (cc == d->ncols) {
                pick = v;
                break;
            }
        }
        row->used[pick] = 1;
        want = row->vals + pick * d->ncols;
    }
    bool differs = false;
    for (size_t cc = 0; cc < d->ncols; cc++) {
        const char *v = val(ud, cc, vb, sizeof vb);
        if (chk_same(v, want[cc])) continue;
        if (!differs && d->s_mis++ < d->max) {
            const char *cells[] = {"mismatch", key, d->ds->cols[d->cols[cc]].name, want[cc], v};
            sample_row(o, cells);
        }
        differs = true;
    }
    o->mismatched += differs;
}

/* Count the truth's rows the sink lacked; returns the number of expected rows. */
static uint64_t diff_missing(diff_state *d, chk_outcome *o)
{
    uint64_t expected_rows = 0;
    for (size_t i = 0; i < d->m.cap; i++) {
        exp_row *row = &d->m.slots[i];
        if (!row->key) continue;
        expected_rows += row->want;
        if (row->got < row->want) {
            o->missing += row->want - row->got;
            if (d->s_missing++ < d->max) {
                const char *cells[] = {"missing", row->key, NULL, NULL, NULL};
                sample_row(o, cells);
            }
        }
    }
    return expected_rows;
}

/* Load the truth for a diff-like check: key column (c->key or the dataset's) and compared
 * columns (c->columns or all). False with an ERROR outcome when the check is broken. */
static bool diff_init(const chk_ctx *ctx, const plan_check *c, chk_outcome *o, diff_state *d,
                      int **cols_out)
{
    const plan_query *q = &c->expect.query;
    const plan_dataset *ds = &ctx->s->datasets[q->dataset];
    memset(d, 0, sizeof *d);
    *cols_out = NULL;
    int key_col = c->key ? plan_dataset_column(ds, c->key) : ds->key_col;
    if (key_col < 0) {
        outcome(o, CHK_ERROR, "%s needs a key column that exists in dataset '%s'",
                plan_check_kind_name(c->kind), ds->name);
        return false;
    }
    size_t ncols = c->ncolumns ? c->ncolumns : ds->ncols;
    int *cols = hx_calloc(ncols, sizeof *cols);
    if (!cols) {
        outcome(o, CHK_ERROR, "out of memory");
        return false;
    }
    for (size_t i = 0; i < ncols; i++) {
        cols[i] = c->ncolumns ? plan_dataset_column(ds, c->columns[i]) : (int)i;
        if (cols[i] < 0) {
            outcome(o, CHK_ERROR, "column '%s' is not in dataset '%s'", c->columns[i], ds->name);
            hx_free(cols);
            return false;
        }
    }
    hx_err e = {0};
    if (chk_load_truth(ctx, q, key_col, cols, ncols, &d->m, &e) != 0) {
        outcome(o, CHK_ERROR, "cannot compute the expected rows: %s", e.msg);
        exp_map_release(&d->m);
        hx_free(cols);
        return false;
    }
    d->ds = ds;
    d->key_col = key_col;
    d->cols = cols;
    d->ncols = ncols;
    d->max = ctx->max_samples ? ctx->max_samples : DEFAULT_SAMPLES;
    *cols_out = cols;
    return true;
}

/* A row of a diff's query result: PGresult and row index. */
typedef struct pg_row {
    const plan_dataset *ds;
    const int *cols;
    PGresult *r;
    int i;
} pg_row;

static const char *pg_val(void *ud, size_t cc, char *buf, size_t n)
{
    pg_row *pr = ud;
    const char *raw =
        PQgetisnull(pr->r, pr->i, (int)cc + 1) ? NULL : PQgetvalue(pr->r, pr->i, (int)cc + 1);
    return chk_canon_sink(&pr->ds->cols[pr->cols[cc]], raw, buf, n);
}

static void check_diff(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    if (c->expect.kind != PLAN_EXP_QUERY) {
        outcome(o, CHK_ERROR, "diff needs expect = <dataset query>, e.g. orders:valid()");
        return;
    }
    diff_state d;
    int *cols;
    if (!diff_init(ctx, c, o, &d, &cols)) return;
    const plan_dataset *ds = d.ds;
    int key_col = d.key_col;
    size_t ncols = d.ncols;
    /* Read the sink: key first, then the compared columns, each as canonical text. */
    char *qt = chk_quote_ident(ctx->conn, c->table);
    hx_buf sql;
    hx_buf_init(&sql);
    hx_buf_puts(&sql, "select ");
    char *qk = chk_quote_ident(ctx->conn, ds->cols[key_col].name);
    chk_canon_sql(&sql, qk ? qk : "?", ds->cols[key_col].type);
    hx_free(qk);
    for (size_t i = 0; i < ncols; i++) {
        char *qc = chk_quote_ident(ctx->conn, ds->cols[cols[i]].name);
        hx_buf_puts(&sql, ", ");
        chk_canon_sql(&sql, qc ? qc : "?", ds->cols[cols[i]].type);
        hx_free(qc);
    }
    hx_buf_printf(&sql, " from %s", qt ? qt : "?");
    hx_free(qt);
    PGresult *r = query(ctx, o, sql.data);
    hx_buf_release(&sql);
    if (!r) {
        exp_map_release(&d.m);
        hx_free(cols);
        return;
    }
    diff_sample_titles(&d, o);
    char kb[64];
    for (int i = 0; i < PQntuples(r); i++) {
        const char *key = chk_canon_sink(
            &ds->cols[key_col], PQgetisnull(r, i, 0) ? NULL : PQgetvalue(r, i, 0), kb, sizeof kb);
        pg_row pr = {ds, cols, r, i};
        diff_row(&d, o, key, pg_val, &pr);
    }
    uint64_t expected_rows = diff_missing(&d, o);
    setf(&o->expected, "%llu rows", (unsigned long long)expected_rows);
    setf(&o->actual, "%d rows: %llu missing, %llu extra, %llu mismatched", PQntuples(r),
         (unsigned long long)o->missing, (unsigned long long)o->extra,
         (unsigned long long)o->mismatched);
    if (o->missing + o->extra + o->mismatched == 0)
        outcome(o, CHK_PASS, NULL);
    else
        outcome(o, CHK_FAIL, "%llu missing, %llu extra, %llu mismatched rows",
                (unsigned long long)o->missing, (unsigned long long)o->extra,
                (unsigned long long)o->mismatched);
    PQclear(r);
    exp_map_release(&d.m);
    hx_free(cols);
}

/* Reading a topic (after check_file, which it shares its value handling with). */
typedef void (*topic_rec_fn)(void *ud, const rd_record *rec, const char *where);
static bool on_topic(const plan_check *c);
static int topic_scan(const chk_ctx *ctx, const plan_check *c, chk_outcome *o, topic_rec_fn fn,
                      void *ud, uint64_t *messages);
static const char *canon_file(const plan_column *col, const char *s, char *buf, size_t n);
static int field_index(const rd_record *rec, const char *name, int guess);

/* A key set being compared with the truth: keys fed one by one, each distinct key counted once.
 */
typedef struct keyset {
    exp_map m;               /* the truth's keys; sink keys outside it are added with want 0 */
    const plan_column *kcol; /* the dataset's key column */
    const char *col;         /* the sink's key column or field */
    const char *extra_label; /* sample label of a key outside the truth */
    size_t max, s_extra;     /* samples per category, extras sampled so far */
    int guess;               /* topic: where the key field was last */
} keyset;

static void keyset_feed(keyset *ks, chk_outcome *o, const char *key)
{
    if (!key) return; /* a row whose key could not be read is not held against the solution */
    exp_row *row = exp_map_find(&ks->m, key, false);
    if (row) {
        row->got = 1;
        return;
    }
    row = exp_map_find(&ks->m, key, true); /* remembered, so a repeated extra key counts once */
    if (row) row->got = 1;
    o->extra++;
    if (ks->s_extra++ < ks->max) {
        const char *cells[] = {ks->extra_label, key};
        sample_row(o, cells);
    }
}

static void keyset_topic_rec(void *ud, const rd_record *rec, const char *where)
{
    (void)where;
    keyset *ks = ((void **)ud)[0];
    chk_outcome *o = ((void **)ud)[1];
    if (rec->error) return; /* not a flag the solution could have meant */
    char kb[64];
    ks->guess = field_index(rec, ks->col, ks->guess);
    keyset_feed(ks, o,
                ks->guess < 0 ? NULL : canon_file(ks->kcol, rec->values[ks->guess], kb, sizeof kb));
}

/* The distinct keys in c->table.col (or, on a topic, field col of its JSON messages) against
 * the key set of query q (by its dataset's key column): o->extra counts sink keys outside the
 * set, o->missing set keys absent from the sink, with samples labelled extra_label /
 * missing_label. Returns the size of the set, or -1 after setting the outcome. `what` names the
 * set in error messages. */
static long long compare_key_sets(const chk_ctx *ctx, const plan_check *c, chk_outcome *o,
                                  const plan_query *q, const char *what, const char *extra_label,
                                  const char *missing_label)
{
    const plan_dataset *ds = &ctx->s->datasets[q->dataset];
    int key_col = ds->key_col;
    if (key_col < 0) {
        outcome(o, CHK_ERROR, "dataset '%s' has no key to match %s by", ds->name, what);
        return -1;
    }
    keyset ks = {.kcol = &ds->cols[key_col], .extra_label = extra_label, .guess = -1};
    ks.col = c->key ? c->key : c->column ? c->column : ds->cols[key_col].name;
    ks.max = ctx->max_samples ? ctx->max_samples : DEFAULT_SAMPLES;
    hx_err e = {0};
    if (chk_load_truth(ctx, q, key_col, NULL, 0, &ks.m, &e) != 0) {
        outcome(o, CHK_ERROR, "cannot compute the %s: %s", what, e.msg);
        exp_map_release(&ks.m);
        return -1;
    }
    long long n = (long long)ks.m.n;
    const char *titles[] = {"kind", ks.col};
    if (on_topic(c)) {
        sample_cols(o, 2, titles);
        void *ud[2] = {&ks, o};
        if (topic_scan(ctx, c, o, keyset_topic_rec, ud, NULL) != 0) {
            exp_map_release(&ks.m);
            return -1;
        }
    } else {
        char *qt = chk_quote_ident(ctx->conn, c->table);
        char *qc = chk_quote_ident(ctx->conn, ks.col);
        hx_buf sql;
        hx_buf_init(&sql);
        hx_buf_puts(&sql, "select distinct ");
        chk_canon_sql(&sql, qc ? qc : "?", ds->cols[key_col].type);
        hx_buf_printf(&sql, " from %s", qt ? qt : "?");
        hx_free(qt);
        hx_free(qc);
        PGresult *r = query(ctx, o, sql.data);
        hx_buf_release(&sql);
        if (!r) {
            exp_map_release(&ks.m);
            return -1;
        }
        sample_cols(o, 2, titles);
        char kb[64];
        for (int i = 0; i < PQntuples(r); i++)
            keyset_feed(&ks, o,
                        chk_canon_sink(ks.kcol, PQgetisnull(r, i, 0) ? NULL : PQgetvalue(r, i, 0),
                                       kb, sizeof kb));
        PQclear(r);
    }
    size_t s_missing = 0;
    for (size_t i = 0; i < ks.m.cap; i++) {
        if (ks.m.slots[i].key && !ks.m.slots[i].got) {
            o->missing++;
            if (s_missing++ < ks.max) {
                const char *cells[] = {missing_label, ks.m.slots[i].key};
                sample_row(o, cells);
            }
        }
    }
    exp_map_release(&ks.m);
    return n;
}

static void check_quarantine(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    if (c->expect.kind != PLAN_EXP_QUERY) {
        outcome(o, CHK_ERROR, "quarantine needs expect = <dataset>:corrupt()");
        return;
    }
    plan_query q = c->expect.query;
    q.sub.corrupt_only = true;
    q.sub.valid = false;
    q.sub.dedup_col = -1;
    long long n =
        compare_key_sets(ctx, c, o, &q, "the corrupt records", "not corrupt", "not quarantined");
    if (n < 0) return;
    setf(&o->expected, "%lld corrupt keys", n);
    setf(&o->actual, "%llu quarantined keys of them, %llu others",
         (unsigned long long)(n - (long long)o->missing), (unsigned long long)o->extra);
    if (o->missing + o->extra == 0)
        outcome(o, CHK_PASS, NULL);
    else
        outcome(o, CHK_FAIL,
                "%llu corrupt records not quarantined, %llu quarantined that were fine",
                (unsigned long long)o->missing, (unsigned long long)o->extra);
}

/* A bound in [0, 1] from option key (default 1: every flag right, every record found). */
static bool ratio_param(const plan_check *c, const char *key, double *out, chk_outcome *o);

/* Flags the solution raised (distinct keys in table.column) against the records the ledger says
 * should be flagged: precision = right flags / all flags, recall = right flags / records to
 * flag. No flag at all has precision 1 (nothing wrong was said); nothing to flag has recall 1.
 */
static void check_precision_recall(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    if (c->expect.kind != PLAN_EXP_QUERY) {
        outcome(o, CHK_ERROR,
                "precision_recall needs expect = <dataset>:with(\"<fault>\") or "
                "another record set");
        return;
    }
    double min_p, min_r;
    if (!ratio_param(c, "min_precision", &min_p, o) || !ratio_param(c, "min_recall", &min_r, o))
        return;
    long long n = compare_key_sets(ctx, c, o, &c->expect.query, "the records to flag",
                                   "false positive", "missed");
    if (n < 0) return;
    double tp = (double)(n - (long long)o->missing), fp = (double)o->extra;
    double precision = tp + fp > 0 ? tp / (tp + fp) : 1;
    double recall = n > 0 ? tp / (double)n : 1;
    setf(&o->expected, "precision >= %.4g, recall >= %.4g", min_p, min_r);
    setf(&o->actual, "precision %.4f (%.0f of %.0f flags), recall %.4f (%.0f of %lld records)",
         precision, tp, tp + fp, recall, tp, n);
    bool ok = precision + 1e-12 >= min_p && recall + 1e-12 >= min_r;
    if (ok)
        outcome(o, CHK_PASS, NULL);
    else
        outcome(o, CHK_FAIL, "%llu records missed, %llu flagged wrongly",
                (unsigned long long)o->missing, (unsigned long long)o->extra);
}

/* ---- checks on the solution's folder ---- */

static bool file_has_all(const char *path, const char *const *words, size_t n, char *missing,
                         size_t mlen)
{
    char *text = NULL;
    if (hx_read_file(path, &text, NULL, NULL) != 0) return false;
    for (char *p = text; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    bool ok = true;
    missing[0] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!strstr(text, words[i])) {
            ok = false;
            size_t l = strlen(missing);
            snprintf(missing + l, mlen - l, "%s%s", l ? ", " : "", words[i]);
        }
    hx_free(text);
    return ok;
}

/* adr: the solution documents its decisions (docs/adr/ or adr/: context, decision, trade-off)
 * and has a README explaining design and cost. */
static void check_adr(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    (void)c;
    if (!ctx->solution_dir) {
        outcome(o, CHK_ERROR, "no solution folder");
        return;
    }
    const char *const sections[] = {"context", "decision", "trade-off"};
    const char *dirs[] = {"docs/adr", "adr", "docs/decisions"};
    const char *titles[] = {"file", "problem"};
    sample_cols(o, 2, titles);
    int good = 0, bad = 0;
    char path[4096], miss[256];
    for (size_t d = 0; d < 3; d++) {
        snprintf(path, sizeof path, "%s/%s", ctx->solution_dir, dirs[d]);
        DIR *dir = opendir(path);
        if (!dir) continue;
        struct dirent *de;
        while ((de = readdir(dir))) {
            size_t l = strlen(de->d_name);
            if (l < 4 || strcmp(de->d_name + l - 3, ".md") != 0) continue;
            snprintf(path, sizeof path, "%s/%s/%s", ctx->solution_dir, dirs[d], de->d_name);
            if (file_has_all(path, sections, 3, miss, sizeof miss)) {
                good++;
            } else {
                bad++;
                char prob[300];
                snprintf(prob, sizeof prob, "missing sections: %s", miss);
                const char *cells[] = {de->d_name, prob};
                sample_row(o, cells);
            }
        }
        closedir(dir);
    }
    const char *const readme_words[] = {"design", "cost"};
    snprintf(path, sizeof path, "%s/README.md", ctx->solution_dir);
    bool readme = file_has_all(path, readme_words, 2, miss, sizeof miss);
    if (!readme) {
        const char *cells[] = {"README.md", "missing, or does not explain design and cost"};
        sample_row(o, cells);
    }
    set_text(&o->expected,
             ">= 1 ADR with context, decision and trade-off; README on design and cost");
    setf(&o->actual, "%d complete ADRs, %d incomplete; README %s", good, bad,
         readme ? "ok" : "missing or incomplete");
    outcome(o, good > 0 && bad == 0 && readme ? CHK_PASS : CHK_FAIL,
            good > 0 && bad == 0 && readme ? NULL : "the decision records are incomplete");
}

/* ---- file: a file the solution writes into its output folder ---- */

/* The JSON text of free-form option key, or NULL. Borrowed from c. */
static const char *param_json(const plan_check *c, const char *key)
{
    for (size_t i = 0; i < c->nparams; i++)
        if (strcmp(c->params[i].key, key) == 0) return c->params[i].json;
    return NULL;
}

static bool ratio_param(const plan_check *c, const char *key, double *out, chk_outcome *o)
{
    const char *j = param_json(c, key);
    *out = 1;
    if (!j) return true;
    char *end = NULL;
    double v = strtod(j, &end);
    if (end == j || *end || !(v >= 0 && v <= 1)) {
        outcome(o, CHK_ERROR, "%s must be a number from 0 to 1 (got %s)", key, j);
        return false;
    }
    *out = v;
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* A timestamp as a file may hold it: ISO 8601 with 'T' or ' ', zone Z, +00:00, +00 or none
 * (UTC).
 */
static bool file_timestamp(const char *s, int64_t *us)
{
    if (units_timestamp(s, us, NULL) == 0) return true;
    char b[64];
    size_t n = strlen(s);
    if (n < 10 || n + 4 >= sizeof b) return false;
    memcpy(b, s, n + 1);
    if (n > 3 && strcmp(b + n - 3, "+00") == 0)
        memcpy(b + n, ":00", 4);
    else
        memcpy(b + n, "Z", 2);
    return units_timestamp(b, us, NULL) == 0;
}

/* Canonicalise a value read from a file like canon_sql does for the database: numbers at the
 * column's scale, timestamps as epoch microseconds, booleans as true/false. Text that is not of
 * the column's type stays as it is (and then differs from the truth). */
static const char *canon_file(const plan_column *col, const char *s, char *buf, size_t n)
{
    if (!s) return NULL;
    switch (col->type) {
    case PLAN_T_INT:
    case PLAN_T_DECIMAL:
        return chk_canon_sink(col, s, buf, n);
    case PLAN_T_TIMESTAMP: {
        int64_t us;
        if (!file_timestamp(s, &us)) return s;
        snprintf(buf, n, "%lld", (long long)us);
        return buf;
    }
    case PLAN_T_BOOL: {
        static const char *const yes[] = {"true", "t", "1", "yes", "y", "on"};
        static const char *const no[] = {"false", "f", "0", "no", "n", "off"};
        for (size_t i = 0; i < 6; i++) {
            if (strcasecmp(s, yes[i]) == 0) return snprintf(buf, n, "true"), buf;
            if (strcasecmp(s, no[i]) == 0) return snprintf(buf, n, "false"), buf;
        }
        return s;
    }
    default:
        return s;
    }
}

/* Index of the field named name in rec (guess first), or -1. */
static int field_index(const rd_record *rec, const char *name, int guess)
{
    if (guess >= 0 && (size_t)guess < rec->ncols && rec->names[guess] &&
        strcmp(rec->names[guess], name) == 0)
        return guess;
    for (size_t i = 0; i < rec->ncols; i++)
        if (rec->names[i] && strcmp(rec->names[i], name) == 0) return (int)i;
    return -1;
}

/* A record of the file during a diff: where each compared column is. */
typedef struct file_row {
    const diff_state *d;
    const rd_record *rec;
    int *idx; /* per compared column: its field in the record (a guess, refreshed), -1 = none */
} file_row;

static const char *file_val(void *ud, size_t cc, char *buf, size_t n)
{
    file_row *fr = ud;
    const plan_column *col = &fr->d->ds->cols[fr->d->cols[cc]];
    fr->idx[cc] = field_index(fr->rec, col->name, fr->idx[cc]);
    if (fr->idx[cc] < 0)
        return NULL; /* a JSON key left out is a NULL; a CSV column left out fails before this
                      */
    return canon_file(col, fr->rec->values[fr->idx[cc]], buf, n);
}

/* Resolve rel under the output folder: no absolute paths, no "..", and (symlinks resolved) the
 * file must still be inside the folder. Fills path; false with the outcome set otherwise. */
static bool file_path(const chk_ctx *ctx, const char *rel, chk_outcome *o, char *path, size_t n)
{
    if (rel[0] == '/') {
        outcome(o, CHK_ERROR, "file path '%s' must be relative to the output folder", rel);
        return false;
    }
    for (const char *p = rel; *p;) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            outcome(o, CHK_ERROR, "file path '%s' may not leave the output folder", rel);
            return false;
        }
        p += len + (p[len] == '/');
    }
    snprintf(path, n, "%s/%s", ctx->output_dir, rel);
    char *root = realpath(ctx->output_dir, NULL);
    char *real = realpath(path, NULL);
    bool ok = true;
    if (!real) {
        set_text(&o->actual, "missing");
        outcome(o, CHK_FAIL, "the solution did not write %s", rel);
        ok = false;
    } else if (!root) {
        outcome(o, CHK_ERROR, "cannot resolve the output folder '%s'", ctx->output_dir);
        ok = false;
    } else {
        size_t rl = strlen(root);
        bool inside =
            strncmp(real, root, rl) == 0 && (real[rl] == '/' || real[rl] == '\0' || rl == 1);
        if (!inside) {
            setf(&o->actual, "a link to %s", real);
            outcome(o, CHK_FAIL, "%s leads outside the output folder (to %s)", rel, real);
            ok = false;
        }
    }
    free(root);
    free(real);
    return ok;
}

/* file: the solution wrote path into its output folder. It must exist and not be empty; in CSV
 * or JSONL (format = "csv" | "jsonl", else by the extension) every record must parse, and:
 * equals/expect a number: that many rows; a query without aggregate and a key: the rows of the
 * query, compared by key like diff (columns = the compared ones); any other row query or
 * :count(): that many rows. */
static void check_file(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    const char *rel = c->table ? c->table : c->column;
    if (!rel || !ctx->output_dir) {
        outcome(o, CHK_ERROR, "file needs path = \"...\" relative to the output folder");
        return;
    }
    char path[4096];
    setf(&o->expected, "%s in the output folder", rel);
    if (!file_path(ctx, rel, o, path, sizeof path)) return;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        set_text(&o->actual, "not a regular file");
        outcome(o, CHK_FAIL, "%s is not a regular file", rel);
        return;
    }
    const char *fmt = param_json(c, "format");
    int format = -1;
    if (fmt && strcmp(fmt, "\"csv\"") == 0)
        format = RD_CSV;
    else if (fmt && strcmp(fmt, "\"jsonl\"") == 0)
        format = RD_JSONL;
    else if (fmt) {
        outcome(o, CHK_ERROR, "file.format must be \"csv\" or \"jsonl\", got %s", fmt);
        return;
    } else if (ends_with(rel, ".csv"))
        format = RD_CSV;
    else if (ends_with(rel, ".jsonl") || ends_with(rel, ".ndjson"))
        format = RD_JSONL;

    const plan_expect *x = &c->expect;
    bool by_key = x->kind == PLAN_EXP_QUERY && c->key;
    /* With an expectation an empty file is a file of no rows (JSONL has no other way to say
     * it). */
    if (format < 0 || (x->kind == PLAN_EXP_NONE && st.st_size == 0)) {
        if (x->kind != PLAN_EXP_NONE) {
            outcome(o, CHK_ERROR, "cannot tell the format of %s: add format = \"csv\" or \"jsonl\"",
                    rel);
            return;
        }
        setf(&o->expected, "%s exists and is not empty", rel);
        setf(&o->actual, "%lld bytes", (long long)st.st_size);
        outcome(o, st.st_size > 0 ? CHK_PASS : CHK_FAIL, st.st_size > 0 ? NULL : "empty file");
        return;
    }
    if (x->kind == PLAN_EXP_STRING) {
        outcome(o, CHK_ERROR, "file compares rows: expect a number of rows or a query");
        return;
    }
    if (x->kind == PLAN_EXP_QUERY && x->query.agg != PLAN_AGG_ROWS &&
        (by_key || x->query.agg != PLAN_AGG_COUNT)) {
        outcome(o, CHK_ERROR, "file compares rows: expect %s",
                by_key ? "a query without aggregate (e.g. orders:valid()) to compare by key"
                       : "a query without aggregate or ending in :count()");
        return;
    }

    /* What the rows must be: a count, or the truth by key. */
    double want_rows = NAN;
    diff_state d;
    int *cols = NULL;
    memset(&d, 0, sizeof d);
    if (by_key) {
        if (!diff_init(ctx, c, o, &d, &cols)) return;
    } else if (x->kind == PLAN_EXP_QUERY) {
        plan_expect cx = *x;
        cx.query.agg = PLAN_AGG_COUNT;
        char text[64];
        if (!expect_scalar(ctx, &cx, o, &want_rows, text, sizeof text)) return;
    } else if (x->kind == PLAN_EXP_NUMBER) {
        want_rows = x->number;
    }

    rd_opts ro = {.format = (rd_format)format, .tolerant = true, .utf8 = true};
    hx_err e = {0};
    rd_reader *r = rd_open(path, &ro, &e);
    if (!r) {
        set_text(&o->actual, "unreadable");
        outcome(o, e.code == HX_EIO ? CHK_ERROR : CHK_FAIL, "%s", e.msg);
        goto done;
    }
    size_t max = ctx->max_samples ? ctx->max_samples : DEFAULT_SAMPLES;
    if (by_key) {
        /* A CSV file names its columns once: a missing one fails the check here (an empty file
         * has no header, and no rows to compare either). */
        const char *const *hdr;
        size_t nh = rd_columns(r, &hdr);
        for (size_t i = 0; format == RD_CSV && nh && i <= d.ncols; i++) {
            const char *want = d.ds->cols[i < d.ncols ? cols[i] : d.key_col].name;
            size_t k = 0;
            while (k < nh && strcmp(hdr[k], want) != 0)
                k++;
            if (k == nh) {
                setf(&o->actual, "no column %s", want);
                outcome(o, CHK_FAIL, "%s has no column '%s'", rel, want);
                goto done;
            }
        }
        diff_sample_titles(&d, o);
    } else {
        const char *titles[] = {"where", "problem"};
        sample_cols(o, 2, titles);
    }
    int *idx = by_key ? hx_malloc(d.ncols * sizeof *idx + 1) : NULL;
    if (by_key && !idx) {
        outcome(o, CHK_ERROR, "out of memory");
        goto done;
    }
    for (size_t i = 0; idx && i < d.ncols; i++)
        idx[i] = -1;
    uint64_t rows = 0, malformed = 0;
    size_t s_bad = 0;
    int key_guess = -1, rc;
    rd_record rec;
    char where[4200], kb[64];
    while ((rc = rd_next(r, &rec, &e)) == 1) {
        if (rec.error) {
            malformed++;
            if (s_bad++ < max) {
                snprintf(where, sizeof where, "%s:%llu", rel, (unsigned long long)rec.line);
                if (by_key) {
                    const char *cells[] = {"malformed", where, NULL, NULL, rec.error};
                    sample_row(o, cells);
                } else {
                    const char *cells[] = {where, rec.error};
                    sample_row(o, cells);
                }
            }
            continue;
        }
        rows++;
        if (!by_key) continue;
        const plan_column *kc = &d.ds->cols[d.key_col];
        key_guess = field_index(&rec, kc->name, key_guess);
        const char *key =
            key_guess < 0 ? NULL : canon_file(kc, rec.values[key_guess], kb, sizeof kb);
        file_row fr = {&d, &rec, idx};
        diff_row(&d, o, key, file_val, &fr);
    }
    hx_free(idx);
    if (rc < 0) {
        outcome(o, e.code == HX_EIO || e.code == HX_ENOMEM ? CHK_ERROR : CHK_FAIL, "%s", e.msg);
        goto done;
    }
    char bad[64] = "";
    if (malformed) snprintf(bad, sizeof bad, ", %llu malformed", (unsigned long long)malformed);
    if (by_key) {
        uint64_t expected_rows = diff_missing(&d, o);
        setf(&o->expected, "%llu rows", (unsigned long long)expected_rows);
        setf(&o->actual, "%llu rows: %llu missing, %llu extra, %llu mismatched%s",
             (unsigned long long)rows, (unsigned long long)o->missing, (unsigned long long)o->extra,
             (unsigned long long)o->mismatched, bad);
        if (o->missing + o->extra + o->mismatched + malformed == 0)
            outcome(o, CHK_PASS, NULL);
        else
            outcome(o, CHK_FAIL, "%llu missing, %llu extra, %llu mismatched rows%s%s",
                    (unsigned long long)o->missing, (unsigned long long)o->extra,
                    (unsigned long long)o->mismatched, malformed ? "; " : "",
                    malformed ? bad + 2 : "");
    } else if (!isnan(want_rows)) {
        setf(&o->expected, "%.17g rows", want_rows);
        setf(&o->actual, "%llu rows%s", (unsigned long long)rows, bad);
        bool count_ok = (double)rows == want_rows;
        if (count_ok && !malformed)
            outcome(o, CHK_PASS, NULL);
        else if (count_ok)
            outcome(o, CHK_FAIL, "%llu malformed records", (unsigned long long)malformed);
        else
            outcome(o, CHK_FAIL, "%llu rows, expected %.17g%s", (unsigned long long)rows, want_rows,
                    bad);
    } else {
        setf(&o->expected, "%s exists, is not empty and every record parses", rel);
        setf(&o->actual, "%llu rows%s", (unsigned long long)rows, bad);
        outcome(o, malformed ? CHK_FAIL : CHK_PASS, malformed ? "%llu malformed records" : NULL,
                (unsigned long long)malformed);
    }
done:
    rd_close(r);
    exp_map_release(&d.m);
    hx_free(cols);
}

/* ---- checks on Kafka topics ---- */

/* Most messages a topic check reads; the reader stops past this with an error. */
#define TOPIC_MAX_MESSAGES 10000000u
/* Messages are parsed as JSONL in chunks of about this many bytes. */
#define TOPIC_CHUNK (1u << 20)

static bool on_topic(const plan_check *c)
{
    if (c->kind == PLAN_CHK_TOPIC) return true;
    const char *sink = param_json(c, "sink");
    return sink && strcmp(sink, "\"topic\"") == 0;
}

/* Messages gathered into one JSONL text (a line per message) and parsed with rd, so a message
 * is read exactly as a line of a .jsonl file the solution wrote would be. */
typedef struct topic_scanner {
    const char *topic;
    hx_buf chunk;    /* the gathered values, '\n' after each */
    int32_t *part;   /* per line: partition */
    int64_t *off;    /*           offset */
    size_t n, cap;   /* lines gathered, room */
    topic_rec_fn fn; /* per record */
    void *ud;
    uint64_t messages; /* messages seen */
    hx_err err;        /* the first error of parsing */
    int rc;            /* and its code */
} topic_scanner;

static void scan_where(const topic_scanner *ts, size_t line, char *buf, size_t n)
{
    if (line < ts->n)
        snprintf(buf, n, "%s[%d]@%lld", ts->topic, (int)ts->part[line], (long long)ts->off[line]);
    else
        snprintf(buf, n, "%s", ts->topic);
}

static void scan_flush(topic_scanner *ts)
{
    if (!ts->n || ts->rc) {
        ts->n = 0;
        hx_buf_clear(&ts->chunk);
        return;
    }
    rd_opts ro = {.format = RD_JSONL, .tolerant = true, .utf8 = true};
    rd_reader *r = rd_open_mem(ts->chunk.data, ts->chunk.len, ts->topic, &ro, &ts->err);
    if (!r) {
        ts->rc = ts->err.code ? ts->err.code : HX_ENOMEM;
    } else {
        rd_record rec;
        int rc;
        char where[320];
        while ((rc = rd_next(r, &rec, &ts->err)) == 1) {
            scan_where(ts, rec.line ? (size_t)rec.line - 1 : ts->n, where, sizeof where);
            ts->fn(ts->ud, &rec, where);
        }
        if (rc < 0) ts->rc = rc;
        rd_close(r);
    }
    ts->n = 0;
    hx_buf_clear(&ts->chunk);
}

static bool scan_msg(void *ud, int32_t partition, int64_t offset, const char *value, size_t len)
{
    topic_scanner *ts = ud;
    ts->messages++;
    if (ts->messages > TOPIC_MAX_MESSAGES) {
        ts->rc = hx_fail(&ts->err, HX_EINFRA,
                         "topic '%s' holds more than %u messages, the most a "
                         "check reads",
                         ts->topic, TOPIC_MAX_MESSAGES);
        return false;
    }
    if (!len) { /* an empty value or a tombstone is no record; rd would skip the blank line */
        char where[320];
        scan_flush(ts);
        snprintf(where, sizeof where, "%s[%d]@%lld", ts->topic, (int)partition, (long long)offset);
        rd_record rec = {.line = 0, .error = "empty message value"};
        ts->fn(ts->ud, &rec, where);
        return ts->rc == 0;
    }
    if (ts->n == ts->cap) {
        size_t ncap = ts->cap ? ts->cap * 2 : 1024;
        int32_t *p = hx_realloc(ts->part, ncap * sizeof *p);
        if (p) ts->part = p;
        int64_t *o = p ? hx_realloc(ts->off, ncap * sizeof *o) : NULL;
        if (o) ts->off = o;
        if (!p || !o) {
            ts->rc = hx_fail(&ts->err, HX_ENOMEM, "out of memory reading topic '%s'", ts->topic);
            return false;
        }
        ts->cap = ncap;
    }
    ts->part[ts->n] = partition;
    ts->off[ts->n] = offset;
    ts->n++;
    size_t at = ts->chunk.len;
    if (!hx_buf_append(&ts->chunk, value, len) || !hx_buf_append(&ts->chunk, "\n", 1)) {
        ts->rc = hx_fail(&ts->err, HX_ENOMEM, "out of memory reading topic '%s'", ts->topic);
        return false;
    }
    /* A line break inside a message is JSON whitespace (a pretty-printed object): one line. */
    for (size_t i = at; i < ts->chunk.len - 1; i++)
        if (ts->chunk.data[i] == '\n' || ts->chunk.data[i] == '\r') ts->chunk.data[i] = ' ';
    if (ts->chunk.len >= TOPIC_CHUNK) scan_flush(ts);
    return ts->rc == 0;
}

static bool count_msg(void *ud, int32_t partition, int64_t offset, const char *value, size_t len)
{
    (void)partition, (void)offset, (void)value, (void)len;
    uint64_t *n = ud;
    return ++*n <= TOPIC_MAX_MESSAGES;
}

/* Read c->table (a topic) through ctx->topic: fn per message parsed as a JSON object (fn NULL:
 * only count messages into *messages). 0, or -1 after setting an ERROR (or SKIP) outcome. */
static int topic_scan(const chk_ctx *ctx, const plan_check *c, chk_outcome *o, topic_rec_fn fn,
                      void *ud, uint64_t *messages)
{
    if (!ctx->topic) {
        outcome(o, CHK_SKIP, "%s checks on a topic need a Kafka cluster, and this run has none",
                plan_check_kind_name(c->kind));
        return -1;
    }
    hx_err e = {0};
    int rc;
    if (!fn) {
        uint64_t n = 0;
        rc = ctx->topic(ctx->topic_ud, c->table, count_msg, &n, &e);
        if (!rc && n > TOPIC_MAX_MESSAGES)
            rc = hx_fail(&e, HX_EINFRA,
                         "topic '%s' holds more than %u messages, the most a "
                         "check reads",
                         c->table, TOPIC_MAX_MESSAGES);
        if (messages) *messages = n;
    } else {
        topic_scanner ts = {.topic = c->table, .fn = fn, .ud = ud};
        hx_buf_init(&ts.chunk);
        rc = ctx->topic(ctx->topic_ud, c->table, scan_msg, &ts, &e);
        scan_flush(&ts);
        if (ts.rc) {
            rc = ts.rc;
            e = ts.err;
        }
        if (messages) *messages = ts.messages;
        hx_buf_release(&ts.chunk);
        hx_free(ts.part);
        hx_free(ts.off);
    }
    if (rc) {
        outcome(o, CHK_ERROR, "%s", e.msg[0] ? e.msg : "cannot read the topic");
        return -1;
    }
    return 0;
}

/* One parsed message of a keyed topic check. */
typedef struct topic_keyed {
    chk_outcome *o;
    diff_state *d;           /* by expectation: the truth by key; NULL = only unique keys */
    exp_map seen;            /* without expectation: keys seen so far */
    const char *key;         /* the key field */
    const plan_column *kcol; /* how to read it (NULL: as text) */
    int *idx;                /* per compared column: where it was last */
    int key_guess;
    uint64_t rows, malformed, dup;
    size_t max, s_bad, s_dup;
} topic_keyed;

static void topic_keyed_rec(void *ud, const rd_record *rec, const char *where)
{
    topic_keyed *tk = ud;
    if (rec->error) {
        tk->malformed++;
        if (tk->s_bad++ < tk->max) {
            const char *cells[] = {"malformed", where, NULL, NULL, rec->error};
            sample_row(tk->o, cells);
        }
        return;
    }
    tk->rows++;
    char kb[64];
    tk->key_guess = field_index(rec, tk->key, tk->key_guess);
    const char *raw = tk->key_guess < 0 ? NULL : rec->values[tk->key_guess];
    const char *key = tk->kcol ? canon_file(tk->kcol, raw, kb, sizeof kb) : raw;
    if (tk->d) {
        file_row fr = {tk->d, rec, tk->idx};
        diff_row(tk->d, tk->o, key, file_val, &fr);
        return;
    }
    exp_row *row = key ? exp_map_find(&tk->seen, key, true) : NULL;
    if (row && row->got++ == 1) {
        tk->dup++;
        if (tk->s_dup++ < tk->max) {
            const char *cells[] = {"duplicate", key, NULL, NULL, where};
            sample_row(tk->o, cells);
        }
    }
}

/* topic: the solution's (or the replay's) messages in a topic. equals/expect a number or a
 * :count() query: that many messages (not parsed). With key: every message a JSON object; with
 * a row query as expect, compared by key like diff (columns = the compared ones), else every
 * key once. diff { topic = ... } is the keyed form. */
static void check_topic(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    const plan_expect *x = &c->expect;
    bool rows_query = x->kind == PLAN_EXP_QUERY && x->query.agg == PLAN_AGG_ROWS;
    const char *fmt = param_json(c, "format");
    if (fmt && strcmp(fmt, "\"json\"") != 0 && strcmp(fmt, "\"jsonl\"") != 0) {
        outcome(o, CHK_ERROR, "%s on a topic reads JSON messages: format must be \"json\", got %s",
                plan_check_kind_name(c->kind), fmt);
        return;
    }
    if (x->kind == PLAN_EXP_STRING ||
        (x->kind == PLAN_EXP_QUERY && !rows_query && x->query.agg != PLAN_AGG_COUNT)) {
        outcome(o, CHK_ERROR,
                "%s on a topic: expect a number of messages, a query ending in "
                ":count(), or a query without aggregate with a key",
                plan_check_kind_name(c->kind));
        return;
    }
    const char *keyname = c->key;
    if (rows_query && !keyname) {
        const plan_dataset *ds = &ctx->s->datasets[x->query.dataset];
        keyname = ds->key_col >= 0 ? ds->cols[ds->key_col].name : NULL;
        if (!keyname) {
            outcome(o, CHK_ERROR, "%s on a topic compares by key: add key = \"...\"",
                    plan_check_kind_name(c->kind));
            return;
        }
    }
    if (!keyname) {
        double want = NAN;
        char text[64];
        if (x->kind == PLAN_EXP_QUERY) {
            if (!expect_scalar(ctx, x, o, &want, text, sizeof text)) return;
        } else if (x->kind == PLAN_EXP_NUMBER) {
            want = x->number;
        }
        uint64_t n = 0;
        if (topic_scan(ctx, c, o, NULL, NULL, &n) != 0) return;
        setf(&o->actual, "%llu messages", (unsigned long long)n);
        if (isnan(want)) {
            set_text(&o->expected, "at least one message");
            outcome(o, n ? CHK_PASS : CHK_FAIL, n ? NULL : "topic '%s' is empty", c->table);
        } else {
            setf(&o->expected, "%.17g messages", want);
            if ((double)n == want)
                outcome(o, CHK_PASS, NULL);
            else
                outcome(o, CHK_FAIL, "%llu messages, expected %.17g", (unsigned long long)n, want);
        }
        return;
    }
    topic_keyed tk = {.o = o, .key = keyname, .key_guess = -1};
    tk.max = ctx->max_samples ? ctx->max_samples : DEFAULT_SAMPLES;
    diff_state d;
    int *cols = NULL;
    memset(&d, 0, sizeof d);
    if (rows_query) {
        plan_check kc = *c;
        kc.key = (char *)keyname;
        if (!diff_init(ctx, &kc, o, &d, &cols)) return;
        tk.d = &d;
        tk.kcol = &d.ds->cols[d.key_col];
        tk.idx = hx_malloc(d.ncols * sizeof *tk.idx + 1);
        if (!tk.idx) {
            outcome(o, CHK_ERROR, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < d.ncols; i++)
            tk.idx[i] = -1;
        diff_sample_titles(&d, o);
    } else {
        const char *titles[] = {"kind", keyname, "column", "expected", "actual"};
        sample_cols(o, 5, titles);
    }
    if (topic_scan(ctx, c, o, topic_keyed_rec, &tk, NULL) != 0) goto done;
    char bad[64] = "";
    if (tk.malformed)
        snprintf(bad, sizeof bad, ", %llu malformed", (unsigned long long)tk.malformed);
    if (rows_query) {
        uint64_t expected_rows = diff_missing(&d, o);
        setf(&o->expected, "%llu messages", (unsigned long long)expected_rows);
        setf(&o->actual, "%llu messages: %llu missing, %llu extra, %llu mismatched%s",
             (unsigned long long)tk.rows, (unsigned long long)o->missing,
             (unsigned long long)o->extra, (unsigned long long)o->mismatched, bad);
        if (o->missing + o->extra + o->mismatched + tk.malformed == 0)
            outcome(o, CHK_PASS, NULL);
        else
            outcome(o, CHK_FAIL, "%llu missing, %llu extra, %llu mismatched messages%s%s",
                    (unsigned long long)o->missing, (unsigned long long)o->extra,
                    (unsigned long long)o->mismatched, tk.malformed ? "; " : "",
                    tk.malformed ? bad + 2 : "");
    } else {
        double want = x->kind == PLAN_EXP_NUMBER ? x->number : NAN;
        char text[64];
        if (x->kind == PLAN_EXP_QUERY && !expect_scalar(ctx, x, o, &want, text, sizeof text))
            goto done;
        uint64_t n = tk.rows + tk.malformed;
        if (isnan(want))
            setf(&o->expected, "every message a JSON object with a unique %s", keyname);
        else
            setf(&o->expected, "%.17g messages, each a JSON object with a unique %s", want,
                 keyname);
        setf(&o->actual, "%llu messages, %llu repeated keys%s", (unsigned long long)n,
             (unsigned long long)tk.dup, bad);
        if (!isnan(want) && (double)n != want)
            outcome(o, CHK_FAIL, "%llu messages, expected %.17g", (unsigned long long)n, want);
        else if (tk.dup + tk.malformed)
            outcome(o, CHK_FAIL, "%llu repeated keys%s", (unsigned long long)tk.dup, bad);
        else
            outcome(o, CHK_PASS, NULL);
    }
done:
    hx_free(tk.idx);
    exp_map_release(&tk.seen);
    exp_map_release(&d.m);
    hx_free(cols);
}

void chk_run(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    memset(o, 0, sizeof *o);
    int64_t t0 = hx_now_ns();
    switch (c->kind) {
    case PLAN_CHK_SQL:
        check_sql(ctx, c, o);
        break;
    case PLAN_CHK_ROW_COUNT:
        check_row_count(ctx, c, o);
        break;
    case PLAN_CHK_UNIQUE:
        check_unique(ctx, c, o);
        break;
    case PLAN_CHK_NOT_NULL:
        check_not_null(ctx, c, o);
        break;
    case PLAN_CHK_ACCEPTED_VALUES:
        check_accepted(ctx, c, o);
        break;
    case PLAN_CHK_REFERENTIAL:
        check_referential(ctx, c, o);
        break;
    case PLAN_CHK_SCHEMA:
        check_schema(ctx, c, o);
        break;
    case PLAN_CHK_FRESHNESS:
        check_freshness(ctx, c, o);
        break;
    case PLAN_CHK_DIFF:
        if (on_topic(c))
            check_topic(ctx, c, o);
        else
            check_diff(ctx, c, o);
        break;
    case PLAN_CHK_QUARANTINE:
        check_quarantine(ctx, c, o);
        break;
    case PLAN_CHK_ADR:
        check_adr(ctx, c, o);
        break;
    case PLAN_CHK_FILE:
        check_file(ctx, c, o);
        break;
    case PLAN_CHK_PLUGIN:
        if (ctx->plugin)
            ctx->plugin(ctx->plugin_ud, c, o);
        else
            outcome(o, CHK_SKIP, "plugin checks are not enabled in this run");
        break;
    case PLAN_CHK_PRECISION_RECALL:
        check_precision_recall(ctx, c, o);
        break;
    case PLAN_CHK_TOPIC:
        check_topic(ctx, c, o);
        break;
    }
    o->seconds = (double)(hx_now_ns() - t0) / 1e9;
}
