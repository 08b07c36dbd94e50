/* plug_host.c - the host services a plugin check sees (harness/plugin.h's hx_plugin_host): one
 * context per check invocation that owns everything handed to the plugin and collects the
 * verdict, samples, logs, metrics and histogram values into a plug_result. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "plug.h"

#define MAX_MESSAGE 4096
#define MAX_SHORT 1024
#define MAX_SAMPLE 512
#define MAX_LOG 2048
#define MAX_HISTS 64
#define MAX_HIST_VALUES (1u << 22)
#define MAX_METRICS 1024

struct hx_plugin_rows {
    PGresult *res;               /* the query result */
    struct hx_plugin_rows *prev; /* the context's live rows, so leftovers are freed at the end */
    struct hx_plugin_rows *next;
};

struct hx_plugin_ctx {
    const plug_plugin *plugin;
    const hx_plugin_check *check;
    const plan_param *params; /* the scenario's, borrowed */
    json_t **pvals;           /* params[i] parsed, owned */
    size_t nparams;
    PGconn *conn; /* borrowed; NULL when no database */
    const plug_run_opts *opts;
    int fd;             /* worker pipe, or -1 in process */
    plug_result *res;   /* where the outcome goes, borrowed */
    int reported;       /* report() was called */
    char lasterr[1024]; /* for last_error() */
    int missing_object; /* the last query failed on an undefined table or column */
    char **owned;       /* strings handed out (quote_ident), freed at the end */
    size_t nowned;
    size_t capowned;
    struct hx_plugin_rows *rows; /* live rows */
};

const char *plug_level_name(int level)
{
    switch (level) {
    case HX_PLUGIN_LOG_DEBUG:
        return "debug";
    case HX_PLUGIN_LOG_WARN:
        return "warn";
    default:
        return "info";
    }
}

char *plug_clean_string(const char *s, size_t max)
{
    if (!s) return NULL;
    size_t n = strlen(s);
    if (n > max) n = max;
    char *out = hx_malloc(n + 1);
    if (!out) return NULL;
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < n) {
        int32_t cp;
        size_t len = hx_utf8_next(s + i, n - i, &cp);
        if (cp < 0) {
            /* A character cut by max (its lead byte promises more than is left): drop it whole.
             * Any other invalid byte (overlongs and surrogates included, which would make JSON
             * writers choke too) becomes '?'. */
            unsigned c = u[i];
            size_t want = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
            if (want > n - i) break;
            out[o++] = '?';
            i++;
            continue;
        }
        memcpy(out + o, u + i, len);
        o += len;
        i += len;
    }
    out[o] = '\0';
    return out;
}

void plug_result_init(plug_result *r)
{
    memset(r, 0, sizeof *r);
}

void plug_result_release(plug_result *r)
{
    if (!r) return;
    hx_free(r->expected);
    hx_free(r->actual);
    hx_free(r->message);
    for (size_t i = 0; i < r->nsamples; i++)
        hx_free(r->samples[i]);
    hx_free(r->samples);
    for (size_t i = 0; i < r->nlogs; i++)
        hx_free(r->logs[i]);
    hx_free(r->logs);
    for (size_t i = 0; i < r->nmetrics; i++) {
        hx_free(r->metrics[i].name);
        hx_free(r->metrics[i].unit);
    }
    hx_free(r->metrics);
    for (size_t i = 0; i < r->nhists; i++) {
        hx_free(r->hists[i].name);
        hx_free(r->hists[i].values);
    }
    hx_free(r->hists);
    plug_result_init(r);
}

const char *plug_status_name(plug_status s)
{
    switch (s) {
    case PLUG_PASS:
        return "pass";
    case PLUG_FAIL:
        return "fail";
    default:
        return "error";
    }
}

void plug_result_set(plug_result *r, plug_status st, const char *expected, const char *actual,
                     const char *message)
{
    hx_free(r->expected);
    hx_free(r->actual);
    hx_free(r->message);
    r->status = st;
    r->expected = plug_clean_string(expected, MAX_SHORT);
    r->actual = plug_clean_string(actual, MAX_SHORT);
    r->message = plug_clean_string(message ? message : "", MAX_MESSAGE);
}

void plug_result_add_log(plug_result *r, int level, const char *text)
{
    if (r->nlogs >= PLUG_MAX_LOGS) return;
    if (r->nlogs == 0) {
        r->logs = hx_calloc(PLUG_MAX_LOGS, sizeof *r->logs);
        if (!r->logs) return;
    }
    char *clean = plug_clean_string(text, MAX_LOG);
    if (!clean) return;
    hx_buf b;
    hx_buf_init(&b);
    hx_buf_printf(&b, "%s: %s", plug_level_name(level), clean);
    hx_free(clean);
    if (b.oom) {
        hx_buf_release(&b);
        return;
    }
    r->logs[r->nlogs++] = hx_buf_steal(&b);
}

/* ---- services ---- */

static void set_lasterr(hx_plugin_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_lasterr(hx_plugin_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->lasterr, sizeof ctx->lasterr, fmt, ap);
    va_end(ap);
}

/* A worker frame: "HX", type, 0, uint32 length, payload. Same layout as plug_worker.c reads. */
static void send_log_frame(int fd, int level, const char *text)
{
    size_t n = strlen(text);
    if (n > MAX_LOG) n = MAX_LOG;
    unsigned char hdr[9] = {'H', 'X', 'L', 0};
    uint32_t len = (uint32_t)n + 1;
    memcpy(hdr + 4, &len, 4);
    hdr[8] = (unsigned char)level;
    struct iovec_like {
        const void *p;
        size_t n;
    } parts[2] = {{hdr, sizeof hdr}, {text, n}};
    for (int k = 0; k < 2; k++) {
        const char *p = parts[k].p;
        size_t left = parts[k].n;
        while (left > 0) {
            ssize_t w = write(fd, p, left);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) return;
            p += w;
            left -= (size_t)w;
        }
    }
}

static void svc_log(hx_plugin_ctx *ctx, int level, const char *fmt, ...)
{
    char line[MAX_LOG + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (!ctx) {
        /* init time: no result to keep it in */
        char *clean = plug_clean_string(line, MAX_LOG);
        for (char *q = clean; q && *q; q++)
            if ((unsigned char)*q < 0x20) *q = ' ';
        fprintf(stderr, "harness: plugin %s: %s\n", plug_level_name(level), clean ? clean : "");
        hx_free(clean);
        return;
    }
    if (ctx->fd >= 0) {
        send_log_frame(ctx->fd, level, line);
        return;
    }
    plug_result_add_log(ctx->res, level, line);
    if (ctx->opts && ctx->opts->on_log)
        ctx->opts->on_log(ctx->opts->log_ud, ctx->plugin->name, ctx->check->name, level, line);
}

static json_t *param_get(hx_plugin_ctx *ctx, const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < ctx->nparams; i++)
        if (ctx->pvals[i] && strcmp(ctx->params[i].key, name) == 0) return ctx->pvals[i];
    return NULL;
}

static const char *svc_param_string(hx_plugin_ctx *ctx, const char *name, const char *def)
{
    json_t *v = param_get(ctx, name);
    return json_is_string(v) ? json_string_value(v) : def;
}

static double svc_param_number(hx_plugin_ctx *ctx, const char *name, double def)
{
    json_t *v = param_get(ctx, name);
    return json_is_number(v) ? json_number_value(v) : def;
}

static int svc_param_bool(hx_plugin_ctx *ctx, const char *name, int def)
{
    json_t *v = param_get(ctx, name);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

static size_t svc_param_list_len(hx_plugin_ctx *ctx, const char *name)
{
    json_t *v = param_get(ctx, name);
    if (json_is_string(v)) return 1;
    return json_is_array(v) ? json_array_size(v) : 0;
}

static const char *svc_param_list_item(hx_plugin_ctx *ctx, const char *name, size_t i)
{
    json_t *v = param_get(ctx, name);
    if (json_is_string(v)) return i == 0 ? json_string_value(v) : NULL;
    return json_is_array(v) ? json_string_value(json_array_get(v, i)) : NULL;
}

static const char *svc_param_json(hx_plugin_ctx *ctx, const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < ctx->nparams; i++)
        if (strcmp(ctx->params[i].key, name) == 0) return ctx->params[i].json;
    return NULL;
}

static const char *keep(hx_plugin_ctx *ctx, char *s)
{
    if (!s) return NULL;
    if (ctx->nowned == ctx->capowned) {
        size_t cap = ctx->capowned ? ctx->capowned * 2 : 16;
        char **n = hx_realloc(ctx->owned, cap * sizeof *n);
        if (!n) {
            hx_free(s);
            return NULL;
        }
        ctx->owned = n;
        ctx->capowned = cap;
    }
    ctx->owned[ctx->nowned++] = s;
    return s;
}

static const char *svc_quote_ident(hx_plugin_ctx *ctx, const char *name)
{
    if (!name) return NULL;
    hx_buf b;
    hx_buf_init(&b);
    hx_buf_putc(&b, '"');
    for (const char *q = name; *q; q++) {
        if (*q == '.')
            hx_buf_puts(&b, "\".\"");
        else if (*q == '"')
            hx_buf_puts(&b, "\"\"");
        else
            hx_buf_putc(&b, *q);
    }
    hx_buf_putc(&b, '"');
    if (b.oom) {
        hx_buf_release(&b);
        return NULL;
    }
    return keep(ctx, hx_buf_steal(&b));
}

static hx_plugin_rows *svc_sql_query(hx_plugin_ctx *ctx, const char *sql, int nparams,
                                     const char *const *params)
{
    if (!ctx->conn) {
        set_lasterr(ctx, "no database in this run");
        return NULL;
    }
    if (!sql || nparams < 0) {
        set_lasterr(ctx, "sql_query: no statement");
        return NULL;
    }
    PGresult *res = PQexecParams(ctx->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    ctx->missing_object = 0;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        /* 42P01 undefined_table, 42703 undefined_column, 3F000 invalid_schema_name */
        ctx->missing_object = state && (!strcmp(state, "42P01") || !strcmp(state, "42703") ||
                                        !strcmp(state, "3F000"));
        const char *m = res ? PQresultErrorMessage(res) : PQerrorMessage(ctx->conn);
        set_lasterr(ctx, "%s", m && *m ? m : "query failed");
        size_t n = strlen(ctx->lasterr);
        while (n > 0 && (ctx->lasterr[n - 1] == '\n' || ctx->lasterr[n - 1] == ' '))
            ctx->lasterr[--n] = '\0';
        PQclear(res);
        return NULL;
    }
    hx_plugin_rows *r = hx_calloc(1, sizeof *r);
    if (!r) {
        PQclear(res);
        set_lasterr(ctx, "out of memory");
        return NULL;
    }
    r->res = res;
    r->next = ctx->rows;
    if (ctx->rows) ctx->rows->prev = r;
    ctx->rows = r;
    return r;
}

static size_t svc_rows_count(const hx_plugin_rows *r)
{
    return r ? (size_t)PQntuples(r->res) : 0;
}

static size_t svc_rows_ncols(const hx_plugin_rows *r)
{
    return r ? (size_t)PQnfields(r->res) : 0;
}

static const char *svc_rows_colname(const hx_plugin_rows *r, size_t col)
{
    if (!r || col >= (size_t)PQnfields(r->res)) return NULL;
    return PQfname(r->res, (int)col);
}

static const char *svc_rows_value(const hx_plugin_rows *r, size_t row, size_t col)
{
    if (!r || row >= (size_t)PQntuples(r->res) || col >= (size_t)PQnfields(r->res)) return NULL;
    if (PQgetisnull(r->res, (int)row, (int)col)) return NULL;
    return PQgetvalue(r->res, (int)row, (int)col);
}

static void svc_rows_free(hx_plugin_ctx *ctx, hx_plugin_rows *r)
{
    if (!r) return;
    if (r->prev)
        r->prev->next = r->next;
    else if (ctx->rows == r)
        ctx->rows = r->next;
    if (r->next) r->next->prev = r->prev;
    PQclear(r->res);
    hx_free(r);
}

static const char *svc_last_error(hx_plugin_ctx *ctx)
{
    return ctx->lasterr;
}

static int svc_ledger_scalar(hx_plugin_ctx *ctx, const char *dataset, const char *agg,
                             const char *column, double *out)
{
    if (!ctx->opts || !ctx->opts->ledger || !dataset || !agg || !out) {
        set_lasterr(ctx, "ledger_scalar: no ledger or missing argument");
        return -1;
    }
    ctx->missing_object = 0;
    hx_err e = {0};
    int rc = ctx->opts->ledger(ctx->opts->ledger_ud, dataset, agg, column, out, &e);
    if (rc != 0) {
        set_lasterr(ctx, "%s", e.msg[0] ? e.msg : "ledger query failed");
        return -1;
    }
    return 0;
}

static void svc_report(hx_plugin_ctx *ctx, int status, const char *expected, const char *actual,
                       const char *fmt, ...)
{
    char msg[MAX_MESSAGE + 1] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    plug_status st = status == HX_PLUGIN_PASS   ? PLUG_PASS
                     : status == HX_PLUGIN_FAIL ? PLUG_FAIL
                                                : PLUG_ERROR;
    /* A check that could not run because the solution never created the table or column it
     * reads has found something about the solution, not about itself: the built-in checks call
     * that a failure, and a plugin's verdict must not depend on how its author spelled it. */
    if (st == PLUG_ERROR && ctx->missing_object) {
        st = PLUG_FAIL;
        if (!expected) expected = "the solution's output table and columns";
        if (!actual) actual = "missing";
    }
    plug_result_set(ctx->res, st, expected, actual, msg);
    ctx->reported = 1;
}

static void svc_sample(hx_plugin_ctx *ctx, const char *fmt, ...)
{
    plug_result *r = ctx->res;
    r->samples_total++;
    if (r->nsamples >= PLUG_MAX_SAMPLES || !fmt) return;
    if (!r->samples) {
        r->samples = hx_calloc(PLUG_MAX_SAMPLES, sizeof *r->samples);
        if (!r->samples) return;
    }
    char line[MAX_SAMPLE + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char *c = plug_clean_string(line, MAX_SAMPLE);
    if (c) r->samples[r->nsamples++] = c;
}

static void svc_metric(hx_plugin_ctx *ctx, const char *name, double value, const char *unit)
{
    plug_result *r = ctx->res;
    if (!name || r->nmetrics >= MAX_METRICS) return;
    plug_metric *m = hx_realloc(r->metrics, (r->nmetrics + 1) * sizeof *m);
    if (!m) return;
    r->metrics = m;
    m[r->nmetrics].name = plug_clean_string(name, 128);
    m[r->nmetrics].unit = plug_clean_string(unit ? unit : "", 32);
    m[r->nmetrics].value = value;
    if (!m[r->nmetrics].name || !m[r->nmetrics].unit) {
        hx_free(m[r->nmetrics].name);
        hx_free(m[r->nmetrics].unit);
        return;
    }
    r->nmetrics++;
}

static void svc_hist_record(hx_plugin_ctx *ctx, const char *name, double value)
{
    plug_result *r = ctx->res;
    if (!name) return;
    plug_series *s = NULL;
    for (size_t i = 0; i < r->nhists; i++)
        if (strcmp(r->hists[i].name, name) == 0) s = &r->hists[i];
    if (!s) {
        if (r->nhists >= MAX_HISTS) return;
        plug_series *h = hx_realloc(r->hists, (r->nhists + 1) * sizeof *h);
        if (!h) return;
        r->hists = h;
        s = &h[r->nhists];
        memset(s, 0, sizeof *s);
        s->name = plug_clean_string(name, 128);
        if (!s->name) return;
        r->nhists++;
    }
    if (s->n == s->cap) {
        if (s->cap >= MAX_HIST_VALUES) return;
        size_t cap = s->cap ? s->cap * 2 : 64;
        double *v = hx_realloc(s->values, cap * sizeof *v);
        if (!v) return;
        s->values = v;
        s->cap = cap;
    }
    s->values[s->n++] = value;
}

static const char *svc_check_name(hx_plugin_ctx *ctx)
{
    return ctx->check->name;
}

static const hx_plugin_host host_template = {
    .version = HX_PLUGIN_HOST_VERSION,
    .size = sizeof(hx_plugin_host),
    .log = svc_log,
    .param_string = svc_param_string,
    .param_number = svc_param_number,
    .param_bool = svc_param_bool,
    .param_list_len = svc_param_list_len,
    .param_list_item = svc_param_list_item,
    .param_json = svc_param_json,
    .quote_ident = svc_quote_ident,
    .sql_query = svc_sql_query,
    .rows_count = svc_rows_count,
    .rows_ncols = svc_rows_ncols,
    .rows_colname = svc_rows_colname,
    .rows_value = svc_rows_value,
    .rows_free = svc_rows_free,
    .topic_read = NULL,
    .last_error = svc_last_error,
    .ledger_scalar = svc_ledger_scalar,
    .report = svc_report,
    .sample = svc_sample,
    .metric = svc_metric,
    .hist_record = svc_hist_record,
    .check_name = svc_check_name,
};

static const hx_plugin_host init_table = {
    .version = HX_PLUGIN_HOST_VERSION,
    .size = sizeof(hx_plugin_host),
    .log = svc_log,
};

const hx_plugin_host *plug_host_init_table(void)
{
    return &init_table;
}

int plug_host_run(const plug_plugin *p, const hx_plugin_check *c, const plan_param *params,
                  size_t nparams, const plug_run_opts *o, struct pg_conn *conn, int fd,
                  plug_result *out, hx_err *e)
{
    hx_plugin_ctx ctx = {.plugin = p,
                         .check = c,
                         .params = params,
                         .nparams = nparams,
                         .conn = conn,
                         .opts = o,
                         .fd = fd,
                         .res = out};
    if (nparams > 0) {
        ctx.pvals = hx_calloc(nparams, sizeof *ctx.pvals);
        if (!ctx.pvals)
            return hx_fail(e, HX_ENOMEM, "out of memory running plugin check '%s.%s'", p->name,
                           c->name);
        for (size_t i = 0; i < nparams; i++)
            ctx.pvals[i] =
                params[i].json ? json_loads(params[i].json, JSON_DECODE_ANY, NULL) : NULL;
    }
    /* The table is per run so that services this run cannot offer read as NULL. */
    hx_plugin_host host = host_template;
    if (!conn) host.sql_query = NULL;
    if (!o || !o->ledger) host.ledger_scalar = NULL;

    int64_t t0 = hx_now_ns();
    int rc = c->run(&host, &ctx);
    out->wall_ns = hx_now_ns() - t0;
    if (rc != 0) {
        char m[MAX_MESSAGE + 64];
        snprintf(m, sizeof m, "check returned %d%s%s", rc,
                 out->message && *out->message ? ": " : "", out->message ? out->message : "");
        char *ex = out->expected, *ac = out->actual;
        out->expected = out->actual = NULL;
        plug_result_set(out, PLUG_ERROR, ex, ac, m);
        hx_free(ex);
        hx_free(ac);
    } else if (!ctx.reported) {
        plug_result_set(out, PLUG_ERROR, NULL, NULL,
                        "the check returned without reporting a result (call host->report)");
    }
    while (ctx.rows)
        svc_rows_free(&ctx, ctx.rows);
    for (size_t i = 0; i < ctx.nowned; i++)
        hx_free(ctx.owned[i]);
    hx_free(ctx.owned);
    for (size_t i = 0; i < nparams && ctx.pvals; i++)
        json_decref(ctx.pvals[i]);
    hx_free(ctx.pvals);
    if (!out->message)
        return hx_fail(e, HX_ENOMEM, "out of memory running plugin check '%s.%s'", p->name,
                       c->name);
    return 0;
}
