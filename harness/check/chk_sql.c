/* chk_sql.c - the kinds that ask the sink database one query: sql, row_count, unique, not_null,
 * accepted_values, referential, schema, freshness. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check_int.h"
#include "ledger.h"

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
    if (!chk_expect_scalar(ctx, &c->expect, o, &exp, exp_text, sizeof exp_text)) return;
    chk_set_text(&o->expected, exp_text);
    chk_set_text(&o->actual, actual ? actual : "NULL");
    if (c->expect.kind == PLAN_EXP_STRING) {
        bool ok = actual && strcmp(actual, c->expect.string) == 0;
        chk_set_outcome(o, ok ? CHK_PASS : CHK_FAIL, ok ? NULL : "values differ");
        return;
    }
    char *end = NULL;
    double act = actual ? strtod(actual, &end) : NAN;
    if (actual && (end == actual || *end)) {
        chk_set_outcome(o, CHK_FAIL, "the query returned '%s', not a number", actual);
        return;
    }
    bool ok = numbers_match(exp, act, c->tolerance);
    if (ok)
        chk_set_outcome(o, CHK_PASS, NULL);
    else if (!isnan(exp) && !isnan(act))
        chk_set_outcome(o, CHK_FAIL, "off by %.6g (%+.4g%%)", act - exp,
                        exp != 0 ? 100.0 * (act - exp) / fabs(exp) : INFINITY);
    else
        chk_set_outcome(o, CHK_FAIL, "values differ");
}

static void check_sql_rows(const chk_ctx *ctx, const plan_check *c, chk_outcome *o, PGresult *r)
{
    ledger_result lr;
    hx_err err = {0};
    if (ledger_eval(ctx->g, &c->expect.query, &lr, &err) != 0) {
        chk_set_outcome(o, CHK_ERROR, "ledger query failed: %s", err.msg);
        return;
    }
    if (PQnfields(r) < 2) {
        chk_set_outcome(o, CHK_ERROR,
                        "a grouped expectation needs a query returning (group, value) rows");
        ledger_result_release(&lr);
        return;
    }
    const char *titles[] = {"group", "expected", "actual"};
    chk_sample_cols(o, 3, titles);
    size_t max = ctx->max_samples ? ctx->max_samples : CHK_DEFAULT_SAMPLES;
    int nr = PQntuples(r);
    bool *seen = hx_calloc((size_t)nr + 1, 1);
    for (size_t i = 0; i < lr.nrows; i++) {
        char ev[64];
        hx_fmt_num(ev, sizeof ev, lr.rows[i].value);
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
                chk_sample_row(o, row);
            }
            continue;
        }
        seen[hit] = true;
        const char *av = PQgetisnull(r, hit, 1) ? NULL : PQgetvalue(r, hit, 1);
        if (!av || !numbers_match(lr.rows[i].value, strtod(av, NULL), c->tolerance)) {
            o->mismatched++;
            if (o->sample.nrows < max) {
                const char *row[] = {lr.rows[i].group, ev, av};
                chk_sample_row(o, row);
            }
        }
    }
    for (int j = 0; j < nr; j++)
        if (!seen[j]) {
            o->extra++;
            if (o->sample.nrows < max) {
                const char *row[] = {PQgetvalue(r, j, 0), NULL, PQgetvalue(r, j, 1)};
                chk_sample_row(o, row);
            }
        }
    hx_free(seen);
    chk_setf(&o->expected, "%zu groups", lr.nrows);
    chk_setf(&o->actual, "%d groups", nr);
    if (o->missing + o->extra + o->mismatched == 0)
        chk_set_outcome(o, CHK_PASS, NULL);
    else
        chk_set_outcome(o, CHK_FAIL, "%llu groups missing, %llu extra, %llu with a different value",
                        (unsigned long long)o->missing, (unsigned long long)o->extra,
                        (unsigned long long)o->mismatched);
    ledger_result_release(&lr);
}

static void check_sql(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    PGresult *r = chk_query(ctx, o, c->query);
    if (!r) return;
    bool grouped =
        c->expect.kind == PLAN_EXP_QUERY &&
        (c->expect.query.agg == PLAN_AGG_GROUP_SUM || c->expect.query.agg == PLAN_AGG_GROUP_COUNT);
    if (grouped) {
        check_sql_rows(ctx, c, o, r);
    } else if (c->expect.kind == PLAN_EXP_NONE) {
        /* No expectation: the query selects offending rows, like a dbt test. */
        int n = PQntuples(r);
        chk_setf(&o->expected, "0 rows");
        chk_setf(&o->actual, "%d rows", n);
        if (n > 0) {
            int nf = PQnfields(r);
            const char **titles = hx_calloc((size_t)nf + 1, sizeof *titles);
            for (int f = 0; titles && f < nf; f++)
                titles[f] = PQfname(r, f);
            chk_sample_cols(o, (size_t)nf, titles);
            size_t max = ctx->max_samples ? ctx->max_samples : CHK_DEFAULT_SAMPLES;
            const char **row = hx_calloc((size_t)nf + 1, sizeof *row);
            for (int i = 0; row && i < n && (size_t)i < max; i++) {
                for (int f = 0; f < nf; f++)
                    row[f] = PQgetisnull(r, i, f) ? NULL : PQgetvalue(r, i, f);
                chk_sample_row(o, row);
            }
            hx_free(row);
            hx_free(titles);
            chk_set_outcome(o, CHK_FAIL, "the query returned %d offending rows", n);
        } else {
            chk_set_outcome(o, CHK_PASS, NULL);
        }
    } else if (PQntuples(r) != 1 || PQnfields(r) < 1) {
        chk_setf(&o->actual, "%d rows", PQntuples(r));
        chk_set_outcome(o, CHK_FAIL, "expected the query to return one value, it returned %d rows",
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
    PGresult *r = chk_query(ctx, o, sql);
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
        chk_set_outcome(o, CHK_ERROR, "this check needs table%s", need_col ? " and column" : "");
        return false;
    }
    *qt = chk_quote_ident(ctx->conn, c->table);
    if (c->column) *qc = chk_quote_ident(ctx->conn, c->column);
    if (!*qt || (c->column && !*qc)) {
        chk_set_outcome(o, CHK_ERROR, "cannot quote the table or column name");
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
    PGresult *r = chk_query(ctx, o, count_sql);
    if (!r) return;
    long long bad = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    chk_setf(&o->expected, "0 %s", what);
    chk_setf(&o->actual, "%lld %s", bad, what);
    o->extra = (uint64_t)bad;
    if (bad == 0) {
        chk_set_outcome(o, CHK_PASS, NULL);
        return;
    }
    chk_set_outcome(o, CHK_FAIL, "%lld %s", bad, what);
    r = chk_query(ctx, o, sample_sql);
    if (!r) {
        o->status = CHK_FAIL;
        return;
    }
    int nf = PQnfields(r);
    const char *titles[8] = {0};
    const char *row[8] = {0};
    for (int f = 0; f < nf && f < 8; f++)
        titles[f] = PQfname(r, f);
    chk_sample_cols(o, (size_t)(nf < 8 ? nf : 8), titles);
    for (int i = 0; i < PQntuples(r); i++) {
        for (int f = 0; f < nf && f < 8; f++)
            row[f] = PQgetisnull(r, i, f) ? NULL : PQgetvalue(r, i, f);
        chk_sample_row(o, row);
    }
    PQclear(r);
}

static void check_unique(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    char *qt, *qc;
    if (!target(ctx, c, o, &qt, &qc, true)) return;
    size_t max = ctx->max_samples ? ctx->max_samples : CHK_DEFAULT_SAMPLES;
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
    PGresult *r = chk_query(ctx, o, a.data);
    if (r) {
        long long n = atoll(PQgetvalue(r, 0, 0));
        chk_setf(&o->expected, "0 nulls");
        chk_setf(&o->actual, "%lld nulls", n);
        o->extra = (uint64_t)n;
        chk_set_outcome(o, n ? CHK_FAIL : CHK_PASS, n ? "%lld rows have no %s" : NULL, n,
                        c->column);
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
    size_t max = ctx->max_samples ? ctx->max_samples : CHK_DEFAULT_SAMPLES;
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
        chk_set_outcome(o, CHK_ERROR, "referential needs ref = \"table.column\"");
        hx_free(qt);
        hx_free(qc);
        return;
    }
    char *rt = chk_quote_ident(ctx->conn, c->ref_table);
    char *rc = chk_quote_ident(ctx->conn, c->ref_column);
    size_t max = ctx->max_samples ? ctx->max_samples : CHK_DEFAULT_SAMPLES;
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
        chk_set_outcome(o, CHK_ERROR, "schema needs a table");
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
        char *m = chk_first_line(PQresultErrorMessage(r));
        chk_set_outcome(o, CHK_ERROR, "cannot read the schema: %s", m);
        hx_free(m);
        PQclear(r);
        return;
    }
    if (PQntuples(r) == 0) {
        chk_set_outcome(o, CHK_FAIL, "table %s does not exist", c->table);
        chk_set_text(&o->actual, "no table");
        PQclear(r);
        return;
    }
    const char *titles[] = {"column", "expected", "actual"};
    chk_sample_cols(o, 3, titles);
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
            chk_sample_row(o, row);
        }
    }
    for (int j = 0; j < PQntuples(r); j++)
        hx_buf_printf(&act, "%s%s %s", j ? ", " : "", PQgetvalue(r, j, 0), PQgetvalue(r, j, 1));
    o->expected = hx_buf_steal(&exp);
    o->actual = hx_buf_steal(&act);
    chk_set_outcome(o, o->mismatched ? CHK_FAIL : CHK_PASS,
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
    PGresult *r = chk_query(ctx, o, a.data);
    if (r) {
        double limit = (double)c->max_age_us / 1e6;
        chk_setf(&o->expected, "<= %.3fs old", limit);
        if (PQgetisnull(r, 0, 0)) {
            chk_set_text(&o->actual, "no rows");
            chk_set_outcome(o, CHK_FAIL, "the table has no rows");
        } else {
            double age = strtod(PQgetvalue(r, 0, 0), NULL);
            chk_setf(&o->actual, "%.3fs old", age);
            chk_set_outcome(o, age <= limit ? CHK_PASS : CHK_FAIL,
                            age <= limit ? NULL : "the newest row is too old");
        }
        PQclear(r);
    }
    hx_buf_release(&a);
    hx_free(qt);
    hx_free(qc);
}

const chk_kind chk_kind_sql = {
    .name = "sql",
    .keys = (const char *const[]){"equals", "tolerance", NULL},
    .flags = CHK_K_SQL_TEXT | CHK_K_NEEDS_EQUALS,
    .run = check_sql,
    .summary = "a query returns the expected value (or grouped rows)",
};

const chk_kind chk_kind_row_count = {
    .name = "row_count",
    .keys = (const char *const[]){"table", "equals", "tolerance", NULL},
    .flags = CHK_K_NEEDS_TABLE | CHK_K_NEEDS_EQUALS,
    .run = check_row_count,
    .summary = "a table has the expected number of rows",
};

const chk_kind chk_kind_unique = {
    .name = "unique",
    .keys = (const char *const[]){"table", "column", NULL},
    .flags = CHK_K_NEEDS_TABLE | CHK_K_NEEDS_COLUMN,
    .run = check_unique,
    .summary = "no two rows share a value of the column(s)",
};

const chk_kind chk_kind_not_null = {
    .name = "not_null",
    .keys = (const char *const[]){"table", "column", NULL},
    .flags = CHK_K_NEEDS_TABLE | CHK_K_NEEDS_COLUMN,
    .run = check_not_null,
    .summary = "no row has NULL in the column(s)",
};

const chk_kind chk_kind_accepted_values = {
    .name = "accepted_values",
    .keys = (const char *const[]){"table", "column", "values", NULL},
    .flags = CHK_K_NEEDS_TABLE | CHK_K_NEEDS_COLUMN,
    .run = check_accepted,
    .summary = "every value of the column is one of values",
};

const chk_kind chk_kind_referential = {
    .name = "referential",
    .keys = (const char *const[]){"table", "column", "ref", NULL},
    .flags = CHK_K_NEEDS_TABLE | CHK_K_NEEDS_COLUMN,
    .run = check_referential,
    .summary = "every non-NULL value exists in ref (\"table.column\")",
};

const chk_kind chk_kind_schema = {
    .name = "schema",
    .keys = (const char *const[]){"table", "columns", NULL},
    .flags = CHK_K_NEEDS_TABLE | CHK_K_COLUMN_TYPES,
    .run = check_schema,
    .summary = "the table has the columns, of the given SQL types",
};

const chk_kind chk_kind_freshness = {
    .name = "freshness",
    .keys = (const char *const[]){"table", "column", "max_age", NULL},
    .flags = CHK_K_NEEDS_TABLE | CHK_K_NEEDS_COLUMN,
    .run = check_freshness,
    .summary = "the newest row is at most max_age old",
};
