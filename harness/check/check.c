/* check.c - see check.h. What every kind shares (outcomes, SQL, expectations, parameters) and
 * chk_run, which dispatches through the kinds table (chk_kind.c); each kind lives in its own file
 * (chk_sql.c, chk_diff.c, chk_keys.c, chk_file.c, chk_topic.c, chk_adr.c). Values from both sides
 * are compared as canonical text (chk_canon.c). */
#include "check_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"

const char *chk_status_name(chk_status s)
{
    static const char *n[] = {"pass", "fail", "error", "skip"};
    return (unsigned)s < 4 ? n[s] : "?";
}

/* ---- outcome helpers ---- */

void chk_set_text(char **dst, const char *s)
{
    hx_free(*dst);
    *dst = s ? hx_strdup(s) : NULL;
}

void chk_setf(char **dst, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = hx_vasprintf(fmt, ap);
    va_end(ap);
    hx_free(*dst);
    *dst = s;
}

void chk_set_outcome(chk_outcome *o, chk_status st, const char *fmt, ...)
{
    o->status = st;
    if (!fmt) return;
    va_list ap;
    va_start(ap, fmt);
    char *s = hx_vasprintf(fmt, ap);
    va_end(ap);
    hx_free(o->message);
    o->message = s;
}

void chk_sample_cols(chk_outcome *o, size_t n, const char *const *titles)
{
    chk_sample *s = &o->sample;
    s->ncols = n;
    s->cols = hx_calloc(n, sizeof *s->cols);
    for (size_t i = 0; s->cols && i < n; i++)
        s->cols[i] = hx_strdup(titles[i]);
}

/* Append one sample row (copies the cells; NULL cells stay NULL). */
void chk_sample_row(chk_outcome *o, const char *const *cells)
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

char *chk_first_line(const char *s)
{
    if (!s) return hx_strdup("");
    size_t n = strcspn(s, "\n");
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\r'))
        n--;
    return hx_strndup(s, n);
}

/* Run sql; on failure fill o as FAIL (the sink is wrong: missing table, bad type) and return NULL.
 */
PGresult *chk_query(const chk_ctx *ctx, chk_outcome *o, const char *sql)
{
    if (!ctx->conn) {
        chk_set_outcome(o, CHK_ERROR, "no database connection for this check");
        return NULL;
    }
    PGresult *r = PQexec(ctx->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return r;
    char *msg = chk_first_line(PQresultErrorMessage(r));
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    /* Connection trouble is ours (error); a missing table or column is the solution's (fail). */
    bool infra = PQstatus(ctx->conn) != CONNECTION_OK || (state && strncmp(state, "08", 2) == 0);
    chk_set_outcome(o, infra ? CHK_ERROR : CHK_FAIL, "query failed: %s", msg);
    hx_free(msg);
    PQclear(r);
    return NULL;
}

/* ---- numbers and ledger expectations ---- */

/* Evaluate an expectation to a scalar text and number. Returns false (o filled) on error. */
bool chk_expect_scalar(const chk_ctx *ctx, const plan_expect *e, chk_outcome *o, double *num,
                       char *text, size_t n)
{
    switch (e->kind) {
    case PLAN_EXP_NUMBER:
        *num = e->number;
        hx_fmt_num(text, n, e->number);
        return true;
    case PLAN_EXP_STRING:
        *num = strtod(e->string, NULL);
        snprintf(text, n, "%s", e->string);
        return true;
    case PLAN_EXP_QUERY: {
        ledger_result r;
        hx_err err = {0};
        if (ledger_eval(ctx->g, &e->query, &r, &err) != 0) {
            chk_set_outcome(o, CHK_ERROR, "ledger query failed: %s", err.msg);
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
        chk_set_outcome(o, CHK_ERROR, "this check needs an expected value (equals = ...)");
        return false;
    }
}

/* The JSON text of free-form option key, or NULL. Borrowed from c. */
const char *chk_param_json(const plan_check *c, const char *key)
{
    for (size_t i = 0; i < c->nparams; i++)
        if (strcmp(c->params[i].key, key) == 0) return c->params[i].json;
    return NULL;
}

bool chk_ratio_param(const plan_check *c, const char *key, double *out, chk_outcome *o)
{
    const char *j = chk_param_json(c, key);
    *out = 1;
    if (!j) return true;
    char *end = NULL;
    double v = strtod(j, &end);
    if (end == j || *end || !(v >= 0 && v <= 1)) {
        chk_set_outcome(o, CHK_ERROR, "%s must be a number from 0 to 1 (got %s)", key, j);
        return false;
    }
    *out = v;
    return true;
}

void chk_run(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    memset(o, 0, sizeof *o);
    int64_t t0 = hx_now_ns();
    const chk_kind *k = chk_kind_get(c->kind);
    if (k)
        k->run(ctx, c, o);
    else
        chk_set_outcome(o, CHK_ERROR, "unknown check kind %d", (int)c->kind);
    o->seconds = (double)(hx_now_ns() - t0) / 1e9;
}
