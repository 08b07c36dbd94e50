/* workload.c - the query workload step ({ run = "workload" }, docs/scenarios.md "Query
 * workloads"): the scenario's named queries run by `clients` connections to the contestant's
 * database (one thread and one libpq connection each, as the scenario's role), a warm-up first,
 * then `count` executions of each query or `duration` of wall time, in a fixed or shuffled
 * order. Each query's latencies go into a histogram (run.json `query.<name>`, metrics
 * query.<name>.p50/p95/p99/max, count, errors, qps); the server's CPU meanwhile is
 * db.cpu.workload, billed as the database's work.
 *
 * Answers: each query's result is compared with the truth, the pack's reference SQL run by the
 * harness on its own copy of the base tables: a database of its own (a role of its own, CONNECT
 * revoked from PUBLIC, so the contestant's role cannot reach it) into which every postgres
 * replay step before the workload is replayed again from the generator. A solution may serve a
 * query with its own text (queries/<name>.sql in its folder, e.g. reading a summary table); the
 * truth is always the pack's text on the untouched tables.
 *
 * After the scenario's thresholds are judged, run_workload_end() keeps EXPLAIN (ANALYZE,
 * BUFFERS) of every query whose threshold failed beside that threshold, then drops the truth
 * database. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_priv.h"
#include "rng.h"

/* The harness's limit for one workload execution, on its own sessions. */
#define WL_STATEMENT_TIMEOUT "SET statement_timeout = '5min'"
/* Differing rows sampled per query check, of each side. */
#define WL_SAMPLE_ROWS 5

struct run_workload {
    char **served;     /* per query: the text the contestant's database runs */
    bool *own;         /* per query: the solution's own text (queries/<name>.sql) */
    hist *h;           /* per query: measured latencies, ns, every workload step together */
    int64_t *errors;   /* per query: failed executions */
    double seconds;    /* measured wall time, every workload step together */
    double db_cpu;     /* server CPU while the workload ran */
    int runs;          /* workload steps done */
    PGconn *truth;     /* the truth database, NULL until the first verification */
    char truth_db[64]; /* its name */
    size_t mirrored;   /* steps replayed into it so far */
    bool truth_made;   /* the truth database exists (drop it at the end) */
};

/* Notices (ANALYZE's "skipping", a solution's RAISE NOTICE) are not the harness's output. */
static void quiet(void *arg, const char *msg)
{
    (void)arg, (void)msg;
}

/* ---- one client ---- */

/* Where the clients wait for each other between warm-up and measurement; abort lets them go
 * without measuring (a client that could not start). */
typedef struct wl_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int arrived, expected;
    bool abort;
} wl_gate;

/* Arrive and wait for every client; false when the gate was aborted. */
static bool gate_wait(wl_gate *g)
{
    pthread_mutex_lock(&g->mu);
    if (++g->arrived == g->expected) pthread_cond_broadcast(&g->cv);
    while (g->arrived < g->expected && !g->abort)
        pthread_cond_wait(&g->cv, &g->mu);
    bool ok = !g->abort;
    pthread_mutex_unlock(&g->mu);
    return ok;
}

static void gate_abort(wl_gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->abort = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

typedef struct wl_client {
    run_scen *sc;
    const plan_workload *w;
    struct run_workload *wl;
    wl_gate *gate;
    int id;
    PGconn *conn;
    int64_t *warm;    /* per query: warm-up executions left */
    int64_t *quota;   /* per query: measured executions left (count mode) */
    int64_t dur_ns;   /* duration mode: measured wall time, else 0 */
    hist *h;          /* per query, this client's */
    int64_t *errors;  /* per query */
    uint64_t rng;     /* the shuffled mix's state */
    int64_t t_start;  /* when it started measuring, ns */
    int64_t t_end;    /* when it finished measuring, ns */
    bool capped;      /* max_duration ended the measurement before the count was spent */
    bool warm_capped; /* ... or the warm-up before the warm-up count */
    int64_t executed; /* executions sent, warm-up included */
    char err[300];    /* the first failure, for the message */
} wl_client;

static uint64_t next_rand(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ULL;
    return rng_mix(*s);
}

/* One round's order of the queries into ord. */
static void round_order(wl_client *cl, size_t *ord, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ord[i] = i;
    if (!cl->w->shuffled) return;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(next_rand(&cl->rng) % i);
        size_t t = ord[i - 1];
        ord[i - 1] = ord[j];
        ord[j] = t;
    }
}

/* Run query q once; record its latency when measuring. false when the connection is gone. */
static bool exec_one(wl_client *cl, size_t q, bool measure)
{
    int64_t t0 = hx_now_ns();
    PGresult *r = PQexec(cl->conn, cl->wl->served[q]);
    int64_t dt = hx_now_ns() - t0;
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
    if (!ok) {
        if (measure) cl->errors[q]++;
        if (!cl->err[0])
            snprintf(cl->err, sizeof cl->err, "query %s: %s", cl->w->queries[q].name,
                     PQresultErrorMessage(r));
    } else if (measure) {
        hist_record(&cl->h[q], dt > 0 ? dt : 1);
    }
    PQclear(r);
    return PQstatus(cl->conn) == CONNECTION_OK;
}

/* Rounds over the queries until every quota is spent (or the deadline passes). With a count,
 * `cap` (max_duration) ends it between rounds: a round started is finished, so every query keeps
 * as many executions as the others. */
static bool run_rounds(wl_client *cl, int64_t *left, bool measure, int64_t deadline, int64_t cap)
{
    size_t n = cl->w->nqueries;
    size_t ord[256];
    for (;;) {
        bool any = false;
        if (cap && hx_now_ns() >= cap) {
            for (size_t q = 0; q < n; q++)
                if (left[q] > 0) cl->capped = true;
            return true;
        }
        round_order(cl, ord, n);
        for (size_t k = 0; k < n; k++) {
            size_t q = ord[k];
            if (run_interrupted()) return false;
            if (deadline) {
                if (hx_now_ns() >= deadline) return true;
            } else if (left[q] <= 0) {
                continue;
            } else {
                left[q]--;
            }
            any = true;
            cl->executed++;
            if (!exec_one(cl, q, measure)) return false;
        }
        if (!any) return true;
    }
}

static void *client_main(void *arg)
{
    wl_client *cl = arg;
    bool ok = cl->conn != NULL;
    int64_t max = cl->w->max_us * 1000;
    if (ok) ok = run_rounds(cl, cl->warm, false, 0, max ? hx_now_ns() + max : 0);
    cl->warm_capped = cl->capped;
    cl->capped = false;
    /* everyone measures from the same moment, after every warm-up */
    if (!gate_wait(cl->gate)) ok = false;
    cl->t_start = cl->t_end = hx_now_ns();
    if (ok)
        run_rounds(cl, cl->quota, true, cl->dur_ns ? cl->t_start + cl->dur_ns : 0,
                   max ? cl->t_start + max : 0);
    cl->t_end = hx_now_ns();
    return NULL;
}

/* ---- answers ---- */

static bool numeric_oid(Oid t)
{
    /* int8, int2, int4, float4, float8, numeric, oid */
    return t == 20 || t == 21 || t == 23 || t == 700 || t == 701 || t == 1700 || t == 26;
}

/* A decimal's canonical text into out: no sign on zero, no leading zeros, no trailing zeros
 * after the point ("012.50" -> "12.5", "-0.0" -> "0"). Text that is not a plain decimal (NaN,
 * Infinity, 1e+20) is copied. */
static void canon_decimal(const char *s, char *out, size_t n)
{
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+') neg = *p++ == '-';
    const char *ip = p;
    while (isdigit((unsigned char)*p))
        p++;
    const char *ie = p, *fp = NULL, *fe = NULL;
    if (*p == '.') {
        fp = ++p;
        while (isdigit((unsigned char)*p))
            p++;
        fe = p;
    }
    if (*p || (ie == ip && (!fp || fe == fp))) {
        snprintf(out, n, "%s", s);
        return;
    }
    while (ip < ie - 1 && *ip == '0')
        ip++;
    while (fp && fe > fp && fe[-1] == '0')
        fe--;
    bool zero = true;
    for (const char *q = ip; q < ie; q++)
        zero = zero && *q == '0';
    for (const char *q = fp; fp && q < fe; q++)
        zero = zero && *q == '0';
    snprintf(out, n, "%s%.*s%s%.*s", neg && !zero ? "-" : "", ie == ip ? 1 : (int)(ie - ip),
             ie == ip ? "0" : ip, fp && fe > fp ? "." : "", fp ? (int)(fe - fp) : 0, fp ? fp : "");
}

/* A result row in canonical text: cells separated by 0x1f, NULL as 0x01 (text never holds
 * either control character in a way that matters here: both sides are canonicalised alike). */
static char *row_text(const PGresult *r, int row)
{
    hx_buf b;
    hx_buf_init(&b);
    int nf = PQnfields(r);
    for (int c = 0; c < nf; c++) {
        if (c) hx_buf_putc(&b, 0x1f);
        if (PQgetisnull(r, row, c)) {
            hx_buf_putc(&b, 0x01);
        } else if (numeric_oid(PQftype(r, c))) {
            char tmp[512];
            canon_decimal(PQgetvalue(r, row, c), tmp, sizeof tmp);
            hx_buf_puts(&b, tmp);
        } else {
            hx_buf_puts(&b, PQgetvalue(r, row, c));
        }
    }
    hx_buf_putc(&b, '\0');
    if (b.oom) {
        hx_buf_release(&b);
        return NULL;
    }
    return hx_buf_steal(&b);
}

/* Two canonical rows equal within a relative tolerance on the cells that are numbers. */
static bool rows_close(const char *a, const char *b, double tol)
{
    if (strcmp(a, b) == 0) return true;
    if (!(tol > 0)) return false;
    for (;;) {
        size_t la = strcspn(a, "\x1f"), lb = strcspn(b, "\x1f");
        if (la != lb || strncmp(a, b, la) != 0) {
            char ca[128], cb[128], *ea, *eb;
            if (la >= sizeof ca || lb >= sizeof cb) return false;
            snprintf(ca, sizeof ca, "%.*s", (int)la, a);
            snprintf(cb, sizeof cb, "%.*s", (int)lb, b);
            long double x = strtold(ca, &ea), y = strtold(cb, &eb);
            if (ea == ca || eb == cb || *ea || *eb) return false;
            long double m = fabsl(y) > 1 ? fabsl(y) : 1;
            if (!(fabsl(x - y) <= (long double)tol * m)) return false;
        }
        if (!a[la] || !b[lb]) return !a[la] && !b[lb];
        a += la + 1;
        b += lb + 1;
    }
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The cells of canonical row t as sample cells (NULL for NULL), with side first. */
static void add_sample(results_check *ck, const char *side, const char *t, int ncols)
{
    const char *cells[65];
    char *copy = hx_strdup(t);
    if (!copy || ncols > 64) {
        hx_free(copy);
        return;
    }
    cells[0] = side;
    char *p = copy;
    for (int c = 0; c < ncols; c++) {
        char *end = strchr(p, 0x1f);
        if (end) *end = '\0';
        cells[c + 1] = strcmp(p, "\x01") == 0 ? NULL : p;
        p = end ? end + 1 : p + strlen(p);
    }
    results_check_sample_row(ck, cells);
    hx_free(copy);
}

/* Compare the served answer a with the truth t into check ck (fail with samples, or pass). */
static void compare_answers(results_check *ck, const plan_wl_query *q, PGresult *a, PGresult *t)
{
    int na = PQntuples(a), nt = PQntuples(t), nf = PQnfields(t);
    char buf[200];
    snprintf(buf, sizeof buf, "%d rows", nt);
    results_set_str(&ck->expected, buf);
    if (PQnfields(a) != nf) {
        ck->status = RESULTS_FAIL;
        snprintf(buf, sizeof buf, "%d columns, the answer has %d", PQnfields(a), nf);
        results_set_str(&ck->actual, buf);
        results_set_str(&ck->message, "the query returned another number of columns");
        return;
    }
    char **ra = hx_calloc((size_t)na + 1, sizeof *ra), **rt = hx_calloc((size_t)nt + 1, sizeof *rt);
    bool oom = !ra || !rt;
    for (int i = 0; !oom && i < na; i++)
        oom = !(ra[i] = row_text(a, i));
    for (int i = 0; !oom && i < nt; i++)
        oom = !(rt[i] = row_text(t, i));
    if (oom) {
        ck->status = RESULTS_ERROR;
        results_set_str(&ck->message, "out of memory comparing the answers");
        goto out;
    }
    if (!q->ordered) {
        qsort(ra, (size_t)na, sizeof *ra, cmp_str);
        qsort(rt, (size_t)nt, sizeof *rt, cmp_str);
    }
    const char *cols[65] = {"row"};
    for (int c = 0; c < nf && c < 64; c++)
        cols[c + 1] = PQfname(t, c);
    if (nf <= 64) results_check_sample_columns(ck, cols, (size_t)nf + 1);
    int64_t missing = 0, extra = 0, differ = 0;
    int i = 0, j = 0;
    while (i < na || j < nt) {
        if (i < na && j < nt && rows_close(ra[i], rt[j], q->tolerance)) {
            i++, j++;
        } else if (q->ordered && i < na && j < nt) {
            /* row i is not the answer's row i: both are sampled, at that position */
            if (differ < WL_SAMPLE_ROWS && nf <= 64) {
                snprintf(buf, sizeof buf, "expected at %d", j + 1);
                add_sample(ck, buf, rt[j], nf);
                snprintf(buf, sizeof buf, "got at %d", i + 1);
                add_sample(ck, buf, ra[i], nf);
            }
            differ++;
            i++, j++;
        } else if (j < nt && (i >= na || strcmp(rt[j], ra[i]) < 0)) {
            if (missing < WL_SAMPLE_ROWS && nf <= 64) add_sample(ck, "missing", rt[j], nf);
            missing++, j++;
        } else {
            if (extra < WL_SAMPLE_ROWS && nf <= 64) add_sample(ck, "unexpected", ra[i], nf);
            extra++, i++;
        }
    }
    results_check_count(ck, "missing", missing);
    results_check_count(ck, "unexpected", extra);
    if (q->ordered) results_check_count(ck, "differ", differ);
    if (missing || extra || differ) {
        ck->status = RESULTS_FAIL;
        snprintf(buf, sizeof buf, "%d rows: %lld missing, %lld unexpected%s", na,
                 (long long)missing, (long long)extra, q->ordered ? ", " : "");
        if (q->ordered)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%lld differ in place",
                     (long long)differ);
        results_set_str(&ck->actual, buf);
        snprintf(buf, sizeof buf, "query %s returned a wrong answer (sampled below)", q->name);
        results_set_str(&ck->message, buf);
    } else {
        snprintf(buf, sizeof buf, "%d rows", na);
        results_set_str(&ck->actual, buf);
    }
out:
    for (int k = 0; ra && k < na; k++)
        hx_free(ra[k]);
    for (int k = 0; rt && k < nt; k++)
        hx_free(rt[k]);
    hx_free(ra);
    hx_free(rt);
}

/* Make the truth database (first time) and replay into it every postgres step before step
 * index `upto` not replayed yet. */
static int truth_sync(run_scen *sc, size_t upto, hx_err *e)
{
    struct run_workload *wl = sc->wl;
    run_ctx *c = sc->c;
    if (!wl->truth) {
        char name[200];
        snprintf(name, sizeof name, "%s_truth", sc->dbname);
        pgsvc_db_name(name, wl->truth_db);
        int rc = pgsvc_create_db(c->pg, wl->truth_db, NULL, NULL, e);
        if (rc) return rc;
        wl->truth_made = true;
        if ((rc = pgsvc_connect(c->pg, wl->truth_db, &wl->truth, e))) return rc;
        PQsetNoticeProcessor(wl->truth, quiet, NULL);
        PQclear(PQexec(wl->truth, "set timezone = 'UTC'"));
        PQclear(PQexec(wl->truth, WL_STATEMENT_TIMEOUT));
        /* The truth is computed, not measured: no JIT compilation (seconds a query at a
         * million rows, for the same answer). */
        PQclear(PQexec(wl->truth, "set jit = off"));
    }
    for (; wl->mirrored < upto; wl->mirrored++) {
        const plan_step *st = &sc->s->steps[wl->mirrored];
        if (st->kind != PLAN_STEP_INTO || st->target != PLAN_TGT_POSTGRES) continue;
        plan_step copy = *st;
        copy.pg_mode = PLAN_PG_COPY; /* the same rows, faster */
        replay_stats rst;
        memset(&rst, 0, sizeof rst);
        int rc = replay_pg(sc->g, st->dataset, &copy, wl->truth, -1, &rst, e);
        if (rc) return rc;
    }
    PQclear(PQexec(wl->truth, "analyze"));
    return 0;
}

/* Each query's answer against the truth: one check a query. */
static void verify(run_scen *sc, size_t step_index)
{
    struct run_workload *wl = sc->wl;
    const plan_workload *w = sc->s->workload;
    hx_err e = {0};
    int rc = truth_sync(sc, step_index, &e);
    PQclear(PQexec(sc->conn, WL_STATEMENT_TIMEOUT));
    /* the answer, not its speed: the harness's session skips JIT, reset after (EXPLAIN later
     * shows the plan the clients ran) */
    PQclear(PQexec(sc->conn, "set jit = off"));
    for (size_t i = 0; i < w->nqueries && !run_interrupted(); i++) {
        const plan_wl_query *q = &w->queries[i];
        char name[160];
        if (wl->runs > 1)
            snprintf(name, sizeof name, "query %s (workload %d)", q->name, wl->runs);
        else
            snprintf(name, sizeof name, "query %s", q->name);
        int64_t t0 = hx_now_ns();
        results_check *ck =
            results_check_add(sc->rs, name, "query", RESULTS_SEV_ERROR, RESULTS_PASS);
        if (!ck) continue;
        results_set_str(&ck->where, q->where);
        if (rc) {
            ck->status = RESULTS_ERROR;
            results_set_str(&ck->message, e.msg);
            continue;
        }
        PGresult *t = PQexec(wl->truth, q->sql);
        PGresult *a = PQexec(sc->conn, wl->served[i]);
        if (PQresultStatus(t) != PGRES_TUPLES_OK) {
            ck->status = RESULTS_ERROR;
            char m[600];
            snprintf(m, sizeof m, "the reference query failed on the harness's copy: %s",
                     PQresultErrorMessage(t));
            results_set_str(&ck->message, m);
        } else if (PQresultStatus(a) != PGRES_TUPLES_OK) {
            ck->status = RESULTS_FAIL;
            results_set_str(&ck->actual, "an error");
            char m[600];
            snprintf(m, sizeof m, "query %s failed%s: %s", q->name,
                     wl->own[i] ? " (the solution's queries/ text)" : "", PQresultErrorMessage(a));
            results_set_str(&ck->message, m);
        } else {
            compare_answers(ck, q, a, t);
        }
        PQclear(t);
        PQclear(a);
        ck->duration_s = (double)(hx_now_ns() - t0) / 1e9;
    }
    PQclear(PQexec(sc->conn, "reset jit"));
}

/* ---- the state ---- */

static void wl_free(struct run_workload *wl, size_t n)
{
    if (!wl) return;
    for (size_t i = 0; i < n; i++) {
        if (wl->served) hx_free(wl->served[i]);
        if (wl->h) hist_release(&wl->h[i]);
    }
    hx_free(wl->served);
    hx_free(wl->own);
    hx_free(wl->h);
    hx_free(wl->errors);
    if (wl->truth) PQfinish(wl->truth);
    hx_free(wl);
}

/* The state, made at the first workload step: what each query serves (the solution's
 * queries/<name>.sql when it has one), the histograms. */
static int wl_make(run_scen *sc, hx_err *e)
{
    const plan_workload *w = sc->s->workload;
    struct run_workload *wl = hx_calloc(1, sizeof *wl);
    if (!wl) return hx_fail(e, HX_ENOMEM, "out of memory");
    wl->served = hx_calloc(w->nqueries, sizeof *wl->served);
    wl->own = hx_calloc(w->nqueries, sizeof *wl->own);
    wl->h = hx_calloc(w->nqueries, sizeof *wl->h);
    wl->errors = hx_calloc(w->nqueries, sizeof *wl->errors);
    int rc = 0;
    if (!wl->served || !wl->own || !wl->h || !wl->errors)
        rc = hx_fail(e, HX_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < w->nqueries; i++) {
        rc = hist_init(&wl->h[i], 1000, (int64_t)3600 * 1000000000, 3);
        if (rc) break;
        char *path = NULL;
        char rel[100];
        snprintf(rel, sizeof rel, "queries/%s.sql", w->queries[i].name);
        path = run_path_join(sc->c->sol_dir, rel);
        size_t len = 0;
        if (path && access(path, F_OK) == 0) {
            rc = hx_read_input_in(sc->c->sol_dir, path, HX_IN_QUERY, &wl->served[i], &len, e);
            wl->own[i] = !rc;
        } else {
            wl->served[i] = hx_strdup(w->queries[i].sql);
            if (!wl->served[i]) rc = hx_fail(e, HX_ENOMEM, "out of memory");
        }
        hx_free(path);
    }
    if (rc) {
        wl_free(wl, w->nqueries);
        return rc;
    }
    sc->wl = wl;
    return 0;
}

/* Set metric name to value (replacing an earlier workload step's). */
static void metric_set(results_scenario *rs, const char *name, double value, const char *unit)
{
    for (size_t i = 0; i < rs->nmetrics; i++)
        if (strcmp(rs->metrics[i].name, name) == 0) {
            rs->metrics[i].value = value;
            return;
        }
    results_metric_add(rs, name, value, unit);
}

/* Metrics and histograms of every workload step so far. */
static void publish(run_scen *sc)
{
    struct run_workload *wl = sc->wl;
    const plan_workload *w = sc->s->workload;
    results_scenario *rs = sc->rs;
    int64_t total = 0, errors = 0;
    char name[160];
    for (size_t i = 0; i < w->nqueries; i++) {
        const char *qn = w->queries[i].name;
        const hist *h = &wl->h[i];
        int64_t n = hist_count(h);
        total += n;
        errors += wl->errors[i];
        snprintf(name, sizeof name, "query.%s.count", qn);
        metric_set(rs, name, (double)n, "");
        snprintf(name, sizeof name, "query.%s.errors", qn);
        metric_set(rs, name, (double)wl->errors[i], "");
        if (wl->seconds > 0) {
            snprintf(name, sizeof name, "query.%s.qps", qn);
            metric_set(rs, name, (double)n / wl->seconds, "1/s");
        }
        if (n <= 0) continue;
        const char *sfx[] = {"p50", "p95", "p99"};
        const double pct[] = {50, 95, 99};
        for (int k = 0; k < 3; k++) {
            snprintf(name, sizeof name, "query.%s.%s", qn, sfx[k]);
            metric_set(rs, name, (double)hist_percentile(h, pct[k]) / 1e9, "s");
        }
        snprintf(name, sizeof name, "query.%s.max", qn);
        metric_set(rs, name, (double)hist_max(h) / 1e9, "s");
        /* the histogram, replaced by the latest (it holds every step) */
        snprintf(name, sizeof name, "query.%s", qn);
        char *enc = hist_encode(h);
        results_hist *rh = NULL;
        for (size_t k = 0; k < rs->nhistograms; k++)
            if (strcmp(rs->histograms[k].name, name) == 0) {
                rh = &rs->histograms[k];
                results_set_str(&rh->encoded, enc);
            }
        if (!rh) rh = results_hist_add(rs, name, "s", enc);
        hx_free(enc);
        if (rh) {
            rh->count = n;
            rh->min = (double)hist_min(h) / 1e9;
            rh->max = (double)hist_max(h) / 1e9;
            rh->mean = hist_mean(h) / 1e9;
            rh->p50 = (double)hist_percentile(h, 50) / 1e9;
            rh->p90 = (double)hist_percentile(h, 90) / 1e9;
            rh->p99 = (double)hist_percentile(h, 99) / 1e9;
            rh->p999 = (double)hist_percentile(h, 99.9) / 1e9;
        }
    }
    if (wl->seconds > 0) metric_set(rs, "workload.qps", (double)total / wl->seconds, "1/s");
    metric_set(rs, "workload.errors", (double)errors, "");
    metric_set(rs, "workload.seconds", wl->seconds, "s");
    metric_set(rs, "db.cpu.workload", wl->db_cpu, "s");
}

/* ---- the step ---- */

int run_workload(run_scen *sc, const plan_step *st, hx_err *e)
{
    const plan_workload *w = sc->s->workload;
    if (!w) return hx_fail(e, HX_EUSAGE, "%s: no scenario.workload to run", st->where);
    if (!sc->wl) {
        int rc = wl_make(sc, e);
        if (rc) return rc;
    }
    struct run_workload *wl = sc->wl;
    wl->runs++;
    int64_t t_step = hx_now_ns();
    size_t nq = w->nqueries;
    int nc = w->clients;
    wl_client *cl = hx_calloc((size_t)nc, sizeof *cl);
    pthread_t *th = hx_calloc((size_t)nc, sizeof *th);
    wl_gate gate = {
        .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .expected = nc};
    int rc = 0, started = 0;
    if (!cl || !th) {
        rc = hx_fail(e, HX_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < nc && !rc; i++) {
        wl_client *c = &cl[i];
        c->sc = sc;
        c->w = w;
        c->wl = wl;
        c->gate = &gate;
        c->id = i;
        c->rng = rng_key(sc->s->seed, 0x776c00u + (uint64_t)i + 1000u * (uint64_t)wl->runs);
        c->warm = hx_calloc(nq, sizeof *c->warm);
        c->quota = hx_calloc(nq, sizeof *c->quota);
        c->errors = hx_calloc(nq, sizeof *c->errors);
        c->h = hx_calloc(nq, sizeof *c->h);
        if (!c->warm || !c->quota || !c->errors || !c->h) {
            rc = hx_fail(e, HX_ENOMEM, "out of memory");
            break;
        }
        for (size_t q = 0; q < nq && !rc; q++) {
            /* the count is every client's together: client i takes its share */
            c->warm[q] = w->warmup / nc + (i < w->warmup % nc);
            c->quota[q] = w->count / nc + (i < w->count % nc);
            rc = hist_init(&c->h[q], 1000, (int64_t)3600 * 1000000000, 3);
        }
        c->dur_ns = w->duration_us * 1000;
        if (!rc) rc = pgsvc_connect(sc->c->pg, sc->dbname, &c->conn, e);
        if (!rc) {
            PQsetNoticeProcessor(c->conn, quiet, NULL);
            PQclear(PQexec(c->conn, "set timezone = 'UTC'"));
            PQclear(PQexec(c->conn, WL_STATEMENT_TIMEOUT));
        }
    }
    if (rc) goto out;
    run_progress("  workload: %zu queries, %d clients, %s", nq, nc,
                 w->duration_us ? "for a duration" : "by count");
    run_dbcpu *db0 = run_db_meter(sc, true);
    for (; started < nc; started++)
        if (pthread_create(&th[started], NULL, client_main, &cl[started]) != 0) break;
    if (started < nc) {
        gate_abort(&gate);
        rc = hx_fail(e, HX_EINFRA, "cannot start the workload's client threads");
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    double dbc = run_db_meter_stop(db0);
    if (rc) goto out;
    int64_t t0 = cl[0].t_start;
    for (int i = 1; i < nc; i++)
        if (cl[i].t_start < t0) t0 = cl[i].t_start;
    int64_t t1 = t0;
    for (int i = 0; i < nc; i++)
        if (cl[i].t_end > t1) t1 = cl[i].t_end;
    /* Cut short by max_duration, the workload served fewer executions than the product's
     * declared volume: its CPU is billed at that volume (the measured CPU an execution times the
     * declared executions), so a slow solution that was measured less is not billed less. */
    int64_t executed = 0, declared = (w->warmup + w->count) * (int64_t)nq;
    bool capped = false;
    for (int i = 0; i < nc; i++) {
        executed += cl[i].executed;
        capped = capped || cl[i].capped || cl[i].warm_capped;
    }
    if (capped && executed > 0 && executed < declared) dbc *= (double)declared / (double)executed;
    wl->seconds += (double)(t1 - t0) / 1e9;
    wl->db_cpu += dbc;
    for (int i = 0; i < nc; i++)
        for (size_t q = 0; q < nq; q++) {
            hist_merge(&wl->h[q], &cl[i].h[q]);
            wl->errors[q] += cl[i].errors[q];
        }
    for (int i = 0; i < nc; i++)
        if (cl[i].err[0]) {
            run_progress("  workload: %s", cl[i].err);
            break;
        }
    if (capped)
        run_progress("  workload: max_duration (%.3g s) ended it before the count (%" PRId64
                     " of each query); its database CPU is billed at the count",
                     (double)w->max_us / 1e6, w->count);
    /* The served product: its database CPU is billed on a line of its own (price.c), and is no
     * part of the solution's busy time that its production wall grows by. */
    sc->acc.db_cpu_served += dbc;
    run_phase_add(&sc->acc, "workload", dbc, (double)(t1 - t0) / 1e9, 0, false);
    publish(sc);
    if (w->verify && !sc->probe && !run_interrupted()) verify(sc, (size_t)(st - sc->s->steps));
out:
    for (int i = 0; cl && i < nc; i++) {
        if (cl[i].conn) PQfinish(cl[i].conn);
        for (size_t q = 0; cl[i].h && q < nq; q++)
            hist_release(&cl[i].h[q]);
        hx_free(cl[i].h);
        hx_free(cl[i].warm);
        hx_free(cl[i].quota);
        hx_free(cl[i].errors);
    }
    hx_free(cl);
    hx_free(th);
    sc->workload_s += (double)(hx_now_ns() - t_step) / 1e9;
    if (!rc && run_interrupted()) rc = HX_EINTR;
    return rc;
}

/* The text after EXPLAIN: the served query without trailing blanks and semicolons. */
static char *explain_sql(const char *sql)
{
    size_t n = strlen(sql);
    while (n && (isspace((unsigned char)sql[n - 1]) || sql[n - 1] == ';'))
        n--;
    size_t len = n + 40;
    char *s = hx_malloc(len);
    if (s) snprintf(s, len, "EXPLAIN (ANALYZE, BUFFERS) %.*s", (int)n, sql);
    return s;
}

void run_workload_end(run_scen *sc)
{
    struct run_workload *wl = sc->wl;
    if (!wl) return;
    const plan_workload *w = sc->s->workload;
    results_scenario *rs = sc->rs;
    for (size_t i = 0; sc->conn && i < rs->nthresholds && !run_interrupted(); i++) {
        results_threshold *t = &rs->thresholds[i];
        if (t->status != RESULTS_FAIL || !t->metric || strncmp(t->metric, "query.", 6) != 0)
            continue;
        const char *qn = t->metric + 6, *dot = strrchr(qn, '.');
        for (size_t q = 0; dot && q < w->nqueries; q++) {
            if (strlen(w->queries[q].name) != (size_t)(dot - qn) ||
                strncmp(w->queries[q].name, qn, (size_t)(dot - qn)) != 0)
                continue;
            char *sql = explain_sql(wl->served[q]);
            if (!sql) break;
            /* in a transaction rolled back: ANALYZE runs the statement */
            PQclear(PQexec(sc->conn, "BEGIN"));
            PGresult *r = PQexec(sc->conn, sql);
            hx_buf b;
            hx_buf_init(&b);
            if (PQresultStatus(r) == PGRES_TUPLES_OK) {
                for (int k = 0; k < PQntuples(r); k++)
                    hx_buf_printf(&b, "%s\n", PQgetvalue(r, k, 0));
            } else {
                hx_buf_printf(&b, "EXPLAIN failed: %s", PQresultErrorMessage(r));
            }
            PQclear(r);
            PQclear(PQexec(sc->conn, "ROLLBACK"));
            if (!b.oom && b.data) {
                hx_buf_putc(&b, '\0');
                results_set_str(&t->explain, b.data);
            }
            hx_buf_release(&b);
            hx_free(sql);
            break;
        }
    }
    if (wl->truth) PQfinish(wl->truth);
    wl->truth = NULL;
    if (wl->truth_made && !sc->c->o->keep) {
        hx_err de = {0};
        if (pgsvc_drop_db(sc->c->pg, wl->truth_db, &de) != 0 && !run_interrupted())
            hx_warn("cannot drop database %s: %s", wl->truth_db, de.msg);
    }
    wl_free(wl, w->nqueries);
    sc->wl = NULL;
}
