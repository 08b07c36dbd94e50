/* cdc_replay_bench.c - the change replay (replay/replay_changes.c, unpaced) against a plain libpq
 * pipeline loop sending exactly the same statements, in the same transaction grouping, on the
 * same session settings and server, in one run. Not a test; run bench/cdc_replay.sh.
 *
 * For each mix, a first replay (a warm-up, not timed) records what the replay sends through
 * replay_chg.on_send: every statement's SQL and text parameters, and each Sync. The peer prepares
 * the same SQL texts and sends the recorded parameters with PQsendQueryPrepared, a
 * PQpipelineSync after each transaction, at most 512 transactions in flight, reading results as
 * they come. Then peer, replay, peer, ... (ABA: drift favours neither), the table truncated
 * before each run, and every run must leave the table the stream's truth says (row count and
 * sum of row_version). The replay's time includes building every value from the seed (the
 * generator) and hashing it; the peer's only sending bytes it holds in memory.
 *
 * usage: cdc_replay_bench [--rows N] [--rounds N] [--mix NAME]... [--pg URL] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "changes.h"
#include "gen_fixture.h"
#include "pgsvc.h"
#include "replay.h"

#define WINDOW 512 /* transactions in flight, as replay_changes */

static void die(const char *what, const hx_err *e)
{
    fprintf(stderr, "cdc_replay_bench: %s: %s\n", what, e ? e->msg : "");
    exit(1);
}

static void pgdie(PGconn *c, const char *what)
{
    fprintf(stderr, "cdc_replay_bench: %s: %s", what, PQerrorMessage(c));
    exit(1);
}

static double now_s(void)
{
    return (double)hx_now_ns() / 1e9;
}

/* This process's CPU seconds (user + system): the client's side of a run, not the server's. */
static double cpu_s(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/* ---- the mixes ---- */

static plan_dataset *new_dataset(plan_scenario *s, const char *name, uint64_t rows)
{
    plan_dataset *d = fx_dataset(s, name, rows, 1515);
    d->key_col = 0;
    d->changes.on = true;
    d->changes.large_col = -1;
    d->changes.txn_min = d->changes.txn_max = 1;
    return d;
}

/* narrow: (id bigint, n bigint) inserts only, 10 a transaction. */
static void mix_narrow(plan_scenario *s, uint64_t rows)
{
    plan_dataset *d = new_dataset(s, "narrow", rows);
    plan_column *c = fx_col(d, "id", PLAN_COL_SEQUENCE, PLAN_T_INT);
    c->u.seq.start = 1;
    c->u.seq.step = 1;
    c = fx_col(d, "n", PLAN_COL_INT, PLAN_T_INT);
    c->u.irange.min = 1;
    c->u.irange.max = 1000000;
    d->changes.txn_min = d->changes.txn_max = 10;
}

/* mixed: the cdc-sync-engine pack's orders stream (uuid key, updates 1.5 and deletes 0.05 a key,
 * of status and amount, 1-4 changes a transaction) with 3 hot keys taking 30 % of the updates. */
static void mix_mixed(plan_scenario *s, uint64_t rows)
{
    plan_dataset *d = new_dataset(s, "orders", rows);
    fx_col(d, "order_id", PLAN_COL_UUID, PLAN_T_UUID);
    plan_column *c = fx_col(d, "customer_id", PLAN_COL_INT, PLAN_T_INT);
    c->u.irange.min = 1;
    c->u.irange.max = (int64_t)rows;
    const char *st[] = {"placed", "paid", "packed", "shipped", "delivered", NULL};
    const double w[] = {1, 1, 1, 1, 1};
    fx_cat(d, "status", PLAN_T_STRING, st, w);
    c = fx_col(d, "amount", PLAN_COL_DECIMAL, PLAN_T_DECIMAL);
    c->scale = 2;
    c->u.drange.min = 1;
    c->u.drange.max = 900;
    c = fx_col(d, "placed_at", PLAN_COL_TIMESTAMP, PLAN_T_TIMESTAMP);
    c->u.ts.start_us = 1772323200000000LL; /* 2026-03-01 */
    c->u.ts.rate = 0.05;
    d->changes.updates = 1.5;
    d->changes.deletes = 0.05;
    d->changes.txn_min = 1;
    d->changes.txn_max = 4;
    d->changes.cols_mask = (1u << 2) | (1u << 3);
    d->changes.hot_keys = 3;
    d->changes.hot_share = 0.3;
}

/* large: the pack's customers stream (8 columns, updates 2.0, deletes 0.05, re-inserts 0.02, 1-3
 * changes a transaction) with a quarter of the inserts and updates writing 8 KiB into notes. */
static void mix_large(plan_scenario *s, uint64_t rows)
{
    plan_dataset *d = new_dataset(s, "customers", rows);
    plan_column *c = fx_col(d, "customer_id", PLAN_COL_SEQUENCE, PLAN_T_INT);
    c->u.seq.start = 1;
    c->u.seq.step = 1;
    c = fx_col(d, "email", PLAN_COL_PATTERN, PLAN_T_STRING);
    c->u.pat.pattern = hx_strdup(
        "{ana|bo|chen|dara|emil|fatou|goran|hana}.{kim|lee|ng|ruiz|sato}####@example.com");
    const char *co[] = {"DE", "FR", "ES", "IT", "NL", "PL", "SE", "US", NULL};
    const double cw[] = {1, 1, 1, 1, 1, 1, 1, 1};
    fx_cat(d, "country", PLAN_T_STRING, co, cw);
    const char *sg[] = {"consumer", "business", "vip", NULL};
    const double sw[] = {80, 17, 3};
    fx_cat(d, "segment", PLAN_T_STRING, sg, sw);
    c = fx_col(d, "credit", PLAN_COL_DECIMAL, PLAN_T_DECIMAL);
    c->scale = 2;
    c->u.drange.max = 5000;
    c = fx_col(d, "notes", PLAN_COL_PATTERN, PLAN_T_STRING);
    c->u.pat.pattern = hx_strdup("note-#####");
    c = fx_col(d, "active", PLAN_COL_BOOL, PLAN_T_BOOL);
    c->u.boolean.p = 0.9;
    c = fx_col(d, "signup_at", PLAN_COL_TIMESTAMP, PLAN_T_TIMESTAMP);
    c->u.ts.start_us = 1735689600000000LL; /* 2025-01-01 */
    c->u.ts.rate = 0.001;
    d->changes.updates = 2.0;
    d->changes.deletes = 0.05;
    d->changes.reinserts = 0.02;
    d->changes.txn_min = 1;
    d->changes.txn_max = 3;
    d->changes.cols_mask = (1u << 1) | (1u << 3) | (1u << 4) | (1u << 6) | (1u << 5);
    d->changes.large_col = 5;
    d->changes.large_share = 0.25;
    d->changes.large_bytes = 8192;
}

typedef struct mix {
    const char *name;
    void (*make)(plan_scenario *s, uint64_t rows);
    double keys_per_row; /* keys for --rows N: N * this (about N changes) */
} mix;

static const mix MIXES[] = {
    {"narrow", mix_narrow, 1.0},
    {"mixed", mix_mixed, 0.5},
    {"large", mix_large, 0.1},
};

/* ---- what the replay sent ---- */

typedef struct event {
    int sql; /* index in sqls, -1 = Sync */
    int n;   /* parameters */
    size_t first;
} event;

typedef struct capture {
    event *ev;
    size_t nev, cap;
    char *sqls[64];
    size_t nsqls;
    hx_buf arena;    /* per parameter: '\1' and the text and '\0', or '\0' for NULL */
    const char **pp; /* the parameters of every event, after fix_capture */
    size_t npp;
    bool second; /* a statement came on the long transactions' session */
} capture;

static void on_send(void *ud, int session, const char *sql, int n, const char *const *params)
{
    capture *k = ud;
    if (session != 1) {
        k->second = true;
        return;
    }
    if (k->nev == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 4096;
        k->ev = hx_realloc(k->ev, k->cap * sizeof *k->ev);
    }
    event *v = &k->ev[k->nev++];
    v->sql = -1;
    v->n = n;
    v->first = k->npp;
    if (!sql) return;
    size_t i = 0;
    while (i < k->nsqls && strcmp(k->sqls[i], sql) != 0)
        i++;
    if (i == k->nsqls) {
        if (i == 64) die("more than 64 distinct statements", NULL);
        k->sqls[k->nsqls++] = hx_strdup(sql);
    }
    v->sql = (int)i;
    for (int j = 0; j < n; j++) {
        if (params[j]) {
            hx_buf_putc(&k->arena, '\1');
            hx_buf_append(&k->arena, params[j], strlen(params[j]) + 1);
        } else {
            hx_buf_putc(&k->arena, '\0');
        }
    }
    k->npp += (size_t)n;
}

/* The parameter pointers into the arena, once it no longer moves. */
static void fix_capture(capture *k)
{
    if (k->arena.oom) die("out of memory", NULL);
    k->pp = hx_calloc(k->npp ? k->npp : 1, sizeof *k->pp);
    const char *s = k->arena.data;
    for (size_t i = 0; i < k->npp; i++) {
        if (*s++ == '\0') {
            k->pp[i] = NULL;
        } else {
            k->pp[i] = s;
            s += strlen(s) + 1;
        }
    }
}

static void free_capture(capture *k)
{
    hx_free(k->ev);
    for (size_t i = 0; i < k->nsqls; i++)
        hx_free(k->sqls[i]);
    hx_buf_release(&k->arena);
    hx_free(k->pp);
    memset(k, 0, sizeof *k);
}

/* ---- the peer: a plain pipeline loop ---- */

typedef struct peer {
    PGconn *c;
    size_t inflight; /* Syncs sent, not read */
    size_t open;     /* statements sent, their results not read to the end */
    bool in_result;
} peer;

/* Read results: block until at most `keep` Syncs are in flight, or (keep = SIZE_MAX) only what
 * has arrived. */
static void peer_read(peer *p, size_t keep)
{
    bool block = keep != SIZE_MAX;
    if (!block && PQconsumeInput(p->c) != 1) pgdie(p->c, "reading results");
    while (p->inflight && (!block || p->inflight > keep)) {
        if (!block && PQisBusy(p->c)) return;
        PGresult *r = PQgetResult(p->c);
        if (!r) {
            if (PQstatus(p->c) == CONNECTION_BAD) pgdie(p->c, "pipeline");
            if (p->in_result) {
                p->in_result = false;
                p->open--;
            }
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            p->inflight--;
        } else if (st == PGRES_COMMAND_OK) {
            p->in_result = true;
        } else {
            fprintf(stderr, "cdc_replay_bench: peer: %s", PQresultErrorMessage(r));
            exit(1);
        }
        PQclear(r);
    }
}

static double peer_run(PGconn *c, const capture *k)
{
    double t0 = now_s();
    char name[32];
    for (size_t i = 0; i < k->nsqls; i++) {
        snprintf(name, sizeof name, "bp_%zu", i);
        PGresult *r = PQprepare(c, name, k->sqls[i], 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) pgdie(c, k->sqls[i]);
        PQclear(r);
    }
    char(*names)[32] = hx_calloc(k->nsqls ? k->nsqls : 1, sizeof *names);
    for (size_t i = 0; i < k->nsqls; i++)
        snprintf(names[i], sizeof names[i], "bp_%zu", i);
    peer p = {.c = c};
    if (PQenterPipelineMode(c) != 1) pgdie(c, "pipeline mode");
    for (size_t i = 0; i < k->nev; i++) {
        const event *v = &k->ev[i];
        if (v->sql < 0) {
            if (PQpipelineSync(c) != 1) pgdie(c, "sync");
            p.inflight++;
            peer_read(&p, p.inflight == WINDOW ? WINDOW - 1 : SIZE_MAX);
        } else {
            if (PQsendQueryPrepared(c, names[v->sql], v->n, k->pp + v->first, NULL, NULL, 0) != 1)
                pgdie(c, "send");
            p.open++;
        }
    }
    peer_read(&p, 0);
    /* the last statement's NULL */
    while (p.open) {
        PGresult *r = PQgetResult(c);
        if (r) pgdie(c, "a result after the last Sync");
        p.open--;
    }
    if (PQexitPipelineMode(c) != 1) pgdie(c, "leaving pipeline mode");
    double s = now_s() - t0;
    PQclear(PQexec(c, "DEALLOCATE ALL"));
    hx_free(names);
    return s;
}

/* ---- the runs ---- */

static void exec_ok(PGconn *c, const char *q)
{
    PGresult *r = PQexec(c, q);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) pgdie(c, q);
    PQclear(r);
}

/* Empty the table before a run, and a checkpoint so no run pays for the one before. */
static void reset(PGconn *c, const char *table)
{
    char q[160];
    snprintf(q, sizeof q, "TRUNCATE public.%s", table);
    exec_ok(c, q);
    PGresult *r = PQexec(c, "CHECKPOINT"); /* not allowed to every --pg user: then skipped */
    PQclear(r);
}

/* The table must hold what the stream leaves: its live keys and the sum of their versions. */
static void verify(PGconn *c, const chg_stream *cs, const char *table, const char *who)
{
    uint64_t rows = 0, sum = 0;
    for (uint64_t k = 0; k < cs->rows; k++)
        if (cs->alive[k]) {
            rows++;
            sum += cs->version[k];
        }
    char q[200];
    snprintf(q, sizeof q, "SELECT count(*), coalesce(sum(row_version), 0) FROM public.%s", table);
    PGresult *r = PQexec(c, q);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) pgdie(c, q);
    uint64_t got_rows = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    uint64_t got_sum = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    if (got_rows != rows || got_sum != sum) {
        fprintf(stderr,
                "cdc_replay_bench: after the %s run %s has %llu rows (versions %llu), the truth "
                "%llu (%llu)\n",
                who, table, (unsigned long long)got_rows, (unsigned long long)got_sum,
                (unsigned long long)rows, (unsigned long long)sum);
        exit(1);
    }
}

static double replay_run(PGconn *c, gen *g, const chg_stream *cs, const char *table, capture *k)
{
    replay_chg o = {.conn = c,
                    .g = g,
                    .cs = cs,
                    .table = table,
                    .rate = 0,
                    .on_send = k ? on_send : NULL,
                    .send_ud = k};
    replay_stats rs;
    hx_err e = {0};
    double t0 = now_s();
    if (replay_changes(&o, 0, cs->ntx, &rs, &e)) die("replay_changes", &e);
    double s = now_s() - t0;
    if (rs.rows != cs->n) die("the replay sent another number of changes", NULL);
    return s;
}

static void line(const char *who, double s, double cpu, const chg_stream *cs)
{
    printf("  %-8s %7.3f s  %9.0f changes/s  %8.0f txn/s  client CPU %6.3f s\n", who, s,
           (double)cs->n / s, (double)cs->ntx / s, cpu);
}

static double bench_mix(pgsvc *svc, PGconn *c, const mix *m, uint64_t rows, int rounds)
{
    hx_err e = {0};
    plan_scenario *s = hx_calloc(1, sizeof *s);
    s->name = hx_strdup("cdcbench");
    uint64_t keys = (uint64_t)((double)rows * m->keys_per_row);
    m->make(s, keys ? keys : 1);
    gen *g;
    chg_stream *cs;
    if (gen_new(s, &g, &e) || chg_build(g, 0, &cs, &e)) die(m->name, &e);
    char table[64];
    snprintf(table, sizeof table, "bench_%s", m->name);
    char q[128];
    snprintf(q, sizeof q, "DROP TABLE IF EXISTS public.%s", table);
    exec_ok(c, q);
    char db[64];
    pgsvc_db_name("cdcbench", db);
    if (replay_changes_create(c, cs, table, db, &e)) die("create", &e);
    (void)svc;
    printf("mix %s: %llu keys, %llu changes (%llu inserts, %llu updates, %llu deletes) in %u "
           "transactions, %zu columns\n",
           m->name, (unsigned long long)cs->rows, (unsigned long long)cs->n,
           (unsigned long long)(cs->inserts + cs->reinserts), (unsigned long long)cs->updates,
           (unsigned long long)cs->deletes, cs->ntx, cs->d->ncols);

    capture k = {0};
    hx_buf_init(&k.arena);
    reset(c, table);
    double warm = replay_run(c, g, cs, table, &k);
    verify(c, cs, table, "warm-up");
    if (k.second) die("a long transaction: the peer does not replay those", NULL);
    fix_capture(&k);
    printf("  warm-up replay (recording) %.3f s; %zu statements, %zu distinct, %.1f MB of "
           "parameters\n",
           warm, k.nev - cs->ntx, k.nsqls, (double)k.arena.len / 1e6);

    double peer_sum = 0, rep_sum = 0, peer_cpu = 0, rep_cpu = 0;
    int npeer = 0, nrep = 0;
    for (int i = 0; i < 2 * rounds + 1; i++) {
        reset(c, table);
        double t, u = cpu_s();
        if (i % 2 == 0) {
            t = peer_run(c, &k);
            u = cpu_s() - u;
            verify(c, cs, table, "peer");
            line("peer", t, u, cs);
            peer_sum += t;
            peer_cpu += u;
            npeer++;
        } else {
            t = replay_run(c, g, cs, table, NULL);
            u = cpu_s() - u;
            verify(c, cs, table, "replay");
            line("replay", t, u, cs);
            rep_sum += t;
            rep_cpu += u;
            nrep++;
        }
    }
    double ratio = (peer_sum / npeer) / (rep_sum / nrep);
    printf("  ratio replay / peer (changes/s, means): %.2f (target >= 0.9); client CPU a change: "
           "replay %.2f us, peer %.2f us\n",
           ratio, rep_cpu / nrep / (double)cs->n * 1e6, peer_cpu / npeer / (double)cs->n * 1e6);
    snprintf(q, sizeof q, "DROP TABLE public.%s", table);
    exec_ok(c, q);
    free_capture(&k);
    chg_stream_free(cs);
    gen_free(g);
    plan_scenario_release(s);
    hx_free(s);
    return ratio;
}

int main(int argc, char **argv)
{
    uint64_t rows = 200000;
    int rounds = 1;
    const char *url = NULL;
    const char *only[8];
    size_t nonly = 0;
    static const struct option lo[] = {{"rows", required_argument, NULL, 'r'},
                                       {"rounds", required_argument, NULL, 'n'},
                                       {"mix", required_argument, NULL, 'm'},
                                       {"pg", required_argument, NULL, 'p'},
                                       {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (ch == 'r')
            rows = strtoull(optarg, NULL, 10);
        else if (ch == 'n')
            rounds = atoi(optarg) > 0 ? atoi(optarg) : 1;
        else if (ch == 'm' && nonly < 8)
            only[nonly++] = optarg;
        else if (ch == 'p')
            url = optarg;
        else
            return 2;
    }
    for (size_t i = 0; i < nonly; i++) {
        size_t j = 0;
        while (j < sizeof MIXES / sizeof *MIXES && strcmp(MIXES[j].name, only[i]) != 0)
            j++;
        if (j == sizeof MIXES / sizeof *MIXES) {
            fprintf(stderr, "cdc_replay_bench: unknown mix '%s' (narrow, mixed, large)\n", only[i]);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* each run's line as it ends, also into a pipe or file */
    hx_err e = {0};
    pgsvc_opts o = {.url = url};
    pgsvc *svc;
    if (pgsvc_start(&o, &svc, &e)) die("start", &e);
    if (svc->embedded)
        printf("embedded postgres %s: started in %.0f ms\n", svc->version, svc->start_ms);
    else
        printf("postgres %s at %s:%s\n", svc->version, svc->host, svc->port);
    PGconn *c;
    if (pgsvc_create_db(svc, "cdcbench", NULL, NULL, &e) ||
        pgsvc_connect_admin(svc, "cdcbench", &c, &e))
        die("database", &e);
    PGresult *r = PQexec(c, "SELECT current_setting('synchronous_commit'), "
                            "current_setting('fsync'), current_setting('wal_level')");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) pgdie(c, "settings");
    printf("synchronous_commit=%s fsync=%s wal_level=%s; one session for both sides; %d round(s) "
           "peer-replay-...-peer\n",
           PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), rounds);
    PQclear(r);
    double worst = 1e9;
    for (size_t j = 0; j < sizeof MIXES / sizeof *MIXES; j++) {
        bool want = nonly == 0;
        for (size_t i = 0; i < nonly; i++)
            want = want || strcmp(only[i], MIXES[j].name) == 0;
        if (!want) continue;
        double ratio = bench_mix(svc, c, &MIXES[j], rows, rounds);
        if (ratio < worst) worst = ratio;
    }
    printf("lowest ratio: %.2f (target >= 0.9)\n", worst);
    PQfinish(c);
    pgsvc_stop(svc);
    return 0;
}
