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

/* Natural order of two order keys (see chk_sample_wants). */
static int key_cmp(const char *a, const char *b)
{
    if (!a || !b) return (a == NULL) - (b == NULL);
    char *ea, *eb;
    double x = strtod(a, &ea), y = strtod(b, &eb);
    if (ea != a && !*ea && eb != b && !*eb && !isnan(x) && !isnan(y) && x != y)
        return x < y ? -1 : 1;
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    while (*p && *q) {
        if (*p >= '0' && *p <= '9' && *q >= '0' && *q <= '9') {
            while (*p == '0' && p[1] >= '0' && p[1] <= '9')
                p++;
            while (*q == '0' && q[1] >= '0' && q[1] <= '9')
                q++;
            size_t lp = 0, lq = 0;
            while (p[lp] >= '0' && p[lp] <= '9')
                lp++;
            while (q[lq] >= '0' && q[lq] <= '9')
                lq++;
            if (lp != lq) return lp < lq ? -1 : 1;
            int c = memcmp(p, q, lp);
            if (c) return c;
            p += lp, q += lq;
            continue;
        }
        if (*p != *q) return *p < *q ? -1 : 1;
        p++, q++;
    }
    return *p ? 1 : *q ? -1 : strcmp(a, b);
}

static char **sample_at(const chk_sample *s, size_t row)
{
    return s->cells + row * s->ncols;
}

static const char *order_key(const chk_sample *s, size_t row)
{
    char **r = sample_at(s, row);
    return s->ncols < 2 ? r[0] : r[1] ? r[1] : r[s->ncols - 1];
}

/* Rows of category kind in o's samples, and the one with the largest key (-1 when none). */
static size_t category(const chk_sample *s, const char *kind, long *largest)
{
    size_t n = 0;
    *largest = -1;
    for (size_t i = 0; s->ncols && i < s->nrows; i++) {
        const char *k = sample_at(s, i)[0];
        if (!k || strcmp(k, kind) != 0) continue;
        n++;
        if (*largest < 0 || key_cmp(order_key(s, i), order_key(s, (size_t)*largest)) > 0)
            *largest = (long)i;
    }
    return n;
}

bool chk_sample_wants(const chk_outcome *o, const char *kind, const char *key, size_t max)
{
    long big;
    if (!o->sample.cols || !max) return false;
    if (category(&o->sample, kind, &big) < max) return true;
    return key_cmp(key, order_key(&o->sample, (size_t)big)) < 0;
}

void chk_sample_offer(chk_outcome *o, const char *const *cells, size_t max)
{
    chk_sample *s = &o->sample;
    if (!s->cols || !cells[0]) return;
    const char *key = s->ncols < 2 ? cells[0] : cells[1] ? cells[1] : cells[s->ncols - 1];
    if (!chk_sample_wants(o, cells[0], key, max)) return;
    long big;
    if (category(s, cells[0], &big) < max) {
        chk_sample_row(o, cells);
        return;
    }
    char **r = sample_at(s, (size_t)big);
    for (size_t i = 0; i < s->ncols; i++) {
        char *v = cells[i] ? hx_strdup(cells[i]) : NULL;
        if (cells[i] && !v) return; /* out of memory: the old row stays whole */
        hx_free(r[i]);
        r[i] = v;
    }
}

static size_t kind_rank(const char *const *kinds, const char *k)
{
    size_t i = 0;
    while (kinds && kinds[i] && (!k || strcmp(kinds[i], k) != 0))
        i++;
    return i;
}

void chk_sample_sort(chk_outcome *o, const char *const *kinds)
{
    chk_sample *s = &o->sample;
    size_t nc = s->ncols;
    if (!nc || s->nrows < 2) return;
    char **tmp = hx_malloc(nc * sizeof *tmp);
    if (!tmp) return;
    /* Insertion sort: a few rows; stable, so unknown kinds keep their first-seen order. */
    for (size_t a = 1; a < s->nrows; a++)
        for (size_t b = a; b > 0; b--) {
            char **x = sample_at(s, b - 1), **y = sample_at(s, b);
            size_t rx = kind_rank(kinds, x[0]), ry = kind_rank(kinds, y[0]);
            bool same = x[0] && y[0] && strcmp(x[0], y[0]) == 0;
            if (rx < ry ||
                (rx == ry && (!same || key_cmp(order_key(s, b - 1), order_key(s, b)) <= 0)))
                break;
            memcpy(tmp, x, nc * sizeof *tmp);
            memcpy(x, y, nc * sizeof *tmp);
            memcpy(y, tmp, nc * sizeof *tmp);
        }
    hx_free(tmp);
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

void chk_limits(const plan_check *c, int64_t *timeout_us, int64_t *lock_timeout_us)
{
    int64_t t = c->timeout_us > 0 ? c->timeout_us : CHK_DEFAULT_TIMEOUT_US;
    int64_t l = c->lock_timeout_us > 0 ? c->lock_timeout_us : CHK_DEFAULT_LOCK_TIMEOUT_US;
    *timeout_us = t;
    *lock_timeout_us = l < t ? l : t;
}

int chk_set_limits(PGconn *conn, int64_t timeout_us, int64_t lock_timeout_us, hx_err *e)
{
    char sql[160];
    /* Milliseconds, rounded up: a limit under 1 ms would read as 0, which is "no limit". */
    snprintf(sql, sizeof sql, "SET statement_timeout = %lld; SET lock_timeout = %lld",
             (long long)((timeout_us + 999) / 1000), (long long)((lock_timeout_us + 999) / 1000));
    PGresult *r = PQexec(conn, sql);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        char *m = chk_first_line(PQerrorMessage(conn));
        rc = hx_fail(e, HX_EINFRA, "cannot bound the check queries (%s): %s", sql, m);
        hx_free(m);
    }
    PQclear(r);
    return rc;
}

void chk_fmt_duration(char *buf, size_t n, int64_t us)
{
    if (us >= 60000000 && us % 60000000 == 0)
        snprintf(buf, n, "%lldmin", (long long)(us / 60000000));
    else if (us >= 1000000 && us % 1000000 == 0)
        snprintf(buf, n, "%llds", (long long)(us / 1000000));
    else if (us % 1000 == 0)
        snprintf(buf, n, "%lldms", (long long)(us / 1000));
    else
        snprintf(buf, n, "%lldus", (long long)us);
}

/* A query for a message: its first line, and when that is over 120 characters its first 60 and
 * last 56 (the table a generated query reads is named at its end). */
static char *query_head(const char *sql)
{
    char *l = chk_first_line(sql);
    size_t n = l ? strlen(l) : 0;
    if (n > 120) {
        memcpy(l + 60, " ...", 4);
        memmove(l + 64, l + n - 56, 57);
    }
    return l;
}

/* A query the server cancelled at one of the harness's limits: an ERROR naming the limit and the
 * query (the sink did not answer; that is not a wrong answer). SQLSTATE 57014 (query_canceled)
 * and 55P03 (lock_not_available) count only when the query ran as long as the limit: a solution's
 * view raising either at once is just a failing query. */
static bool hit_limit(const chk_ctx *ctx, chk_outcome *o, const char *state, int64_t took_us,
                      const char *sql)
{
    if (!state) return false;
    bool lock = strcmp(state, "55P03") == 0;
    int64_t limit = lock ? ctx->lock_timeout_us : ctx->timeout_us;
    if ((!lock && strcmp(state, "57014") != 0) || limit <= 0 || took_us < limit - limit / 20)
        return false;
    char d[32];
    chk_fmt_duration(d, sizeof d, limit);
    char *head = query_head(sql);
    if (lock)
        chk_set_outcome(o, CHK_ERROR,
                        "query waited longer than the lock timeout (%s) for a lock another "
                        "session holds (a transaction the solution left open?): %s",
                        d, head);
    else
        chk_set_outcome(o, CHK_ERROR,
                        "query did not finish within the check's timeout (%s; set timeout = ... "
                        "on the check to change it): %s",
                        d, head);
    hx_free(head);
    return true;
}

/* Run sql; on failure fill o as FAIL (the sink is wrong: missing table, bad type) or ERROR (the
 * connection, a limit hit) and return NULL. */
PGresult *chk_query(const chk_ctx *ctx, chk_outcome *o, const char *sql)
{
    if (!ctx->conn) {
        chk_set_outcome(o, CHK_ERROR, "no database connection for this check");
        return NULL;
    }
    int64_t t0 = hx_now_ns();
    PGresult *r = PQexec(ctx->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return r;
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (hit_limit(ctx, o, state, (hx_now_ns() - t0) / 1000, sql)) {
        PQclear(r);
        return NULL;
    }
    char *msg = chk_first_line(PQresultErrorMessage(r));
    /* Connection trouble is ours (error); a missing table or column is the solution's (fail). */
    bool infra = PQstatus(ctx->conn) != CONNECTION_OK || (state && strncmp(state, "08", 2) == 0);
    chk_set_outcome(o, infra ? CHK_ERROR : CHK_FAIL, "query failed: %s", msg);
    hx_free(msg);
    PQclear(r);
    return NULL;
}

bool chk_seal(const chk_ctx *ctx, chk_outcome *o, const char *kept)
{
    PGresult *r = chk_query(ctx, o, "SET search_path = pg_catalog, pg_temp");
    if (!r) return false;
    PQclear(r);
    const char *params[] = {kept};
    r = PQexecParams(ctx->conn,
                     "SELECT (SELECT count(*) FROM pg_catalog.pg_class c WHERE c.relnamespace = "
                     "pg_catalog.pg_my_temp_schema() AND c.relname <> $1), (SELECT count(*) FROM "
                     "pg_catalog.pg_class c WHERE c.relnamespace = pg_catalog.pg_my_temp_schema() "
                     "AND c.relname = $1 AND c.relkind = 'r' AND NOT c.relhasrules AND NOT "
                     "c.relhastriggers AND NOT c.relrowsecurity AND NOT EXISTS (SELECT 1 FROM "
                     "pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT "
                     "a.attisdropped AND a.atttypid <> 'pg_catalog.text'::pg_catalog.regtype))",
                     1, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
              strcmp(PQgetvalue(r, 0, 0), "0") == 0 && strcmp(PQgetvalue(r, 0, 1), "1") == 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        char *msg = chk_first_line(PQresultErrorMessage(r));
        chk_set_outcome(o, CHK_ERROR, "cannot look at the check's session: %s", msg);
        hx_free(msg);
    } else if (!ok) {
        chk_set_outcome(o, CHK_ERROR,
                        "the check's session holds temporary objects the harness did not make "
                        "(%s other relations; the sink's copy %s): something the solution left "
                        "in the database ran in the harness's session and made them; the truth is "
                        "not loaded there",
                        PQntuples(r) ? PQgetvalue(r, 0, 0) : "?",
                        PQntuples(r) && strcmp(PQgetvalue(r, 0, 1), "1") == 0 ? "is as made"
                                                                              : "was changed");
    }
    PQclear(r);
    return ok;
}

void chk_unseal(const chk_ctx *ctx)
{
    if (ctx->conn) PQclear(PQexec(ctx->conn, "RESET search_path"));
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

int chk_params_read(const plan_check *c, const char *const *keys, size_t n, json_t **js, char *err,
                    size_t errn)
{
    for (size_t i = 0; i < n; i++) {
        const char *txt = chk_param_json(c, keys[i]);
        js[i] = txt ? json_loads(txt, JSON_DECODE_ANY, NULL) : NULL;
        if (txt && !js[i]) return snprintf(err, errn, "%s: cannot read %s", keys[i], txt), -1;
    }
    return 0;
}

const char *chk_param_rel_path(const json_t *j)
{
    const char *p = json_string_value(j);
    return p && *p && p[0] != '/' && !strstr(p, "..") ? p : NULL;
}

bool chk_param_words(const json_t *j, const char **out, size_t max, size_t *n)
{
    if (!json_is_array(j) || json_array_size(j) == 0 || json_array_size(j) > max) return false;
    for (size_t i = 0; i < json_array_size(j); i++) {
        const char *w = json_string_value(json_array_get(j, i));
        if (!w || !*w) return false;
        out[i] = w;
    }
    *n = json_array_size(j);
    return true;
}

void chk_join_words(char *buf, size_t n, const char *const *w, size_t nw)
{
    buf[0] = '\0';
    for (size_t i = 0; i < nw; i++) {
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%s%s", i == 0 ? "" : i + 1 == nw ? " and " : ", ", w[i]);
    }
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
