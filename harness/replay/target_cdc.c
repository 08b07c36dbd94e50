/* target_cdc.c - the change-data-capture target: { into = "postgres", mode = "changes" } steps
 * replay a dataset's change stream (data/changes.h) into a typed source table public.<table> the
 * admin owns (the scenario role may only SELECT it), through replay_changes. Before the first
 * change: REPLICATION for the scenario role, a publication of the source tables and a pgoutput
 * slot, both the admin's, named hx_<scenario>; after the run the slot's walsender is ended and
 * both are dropped. While the scenario runs, a poller thread reads target.<table> for the keys
 * with changes not yet seen there, as the scenario role, every CDC_POLL_MS: the time from a
 * change's commit to the end of the first poll that shows it is the cdc.lag histogram, and a key
 * whose row_version goes down is an out-of-order key for the cdc_order check. Faults: add_column
 * (ALTER TABLE ADD COLUMN between two steps) and pg_restart (the embedded server, slot kept). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "changes.h"
#include "hist.h"
#include "replay_target.h"
#include "say.h"

#define CDC_POLL_MS 25
#define CDC_POLL_KEYS 2000 /* keys a poll asks about, at most */
#define CDC_MAX_DS CHG_MAX_TABLES

typedef struct pend {
    uint64_t key;
    int64_t commit_ns;
    uint32_t version;
    uint8_t ds;
    uint8_t del;
} pend;

typedef struct cdc_ds {
    size_t ds;        /* dataset index */
    char table[64];   /* source and target table name */
    chg_stream *cs;   /* its stream */
    uint32_t next_tx; /* where the next step goes on */
    char *keys;       /* key texts, NUL-separated, of every key (for the poller) */
    size_t *key_off;  /* per key: offset in keys */
    int64_t *seen;    /* per key: highest row_version the poller saw, 0 = none */
    bool *sampled;    /* per key: a regression of it was sampled */
    bool text_cmp;    /* the target's key column did not take the typed array: compare as text */
} cdc_ds;

typedef struct cdc_state {
    replay_site *site;
    PGconn *admin, *admin2;
    char name[64]; /* slot and publication */
    bool slot_made, pub_made;
    cdc_ds ds[CDC_MAX_DS];
    size_t nds;
    /* the poller */
    pthread_t th;
    bool th_on;
    atomic_bool stop;
    pthread_mutex_t mu;
    pend *in; /* committed, not yet taken by the poller (under mu) */
    size_t nin, capin;
    pend *pe; /* the poller's own: waiting to be seen */
    size_t npe, cappe;
    hist lag; /* ns */
    chg_observed obs;
} cdc_state;

static bool uses_cdc(const plan_scenario *s)
{
    for (size_t i = 0; i < s->nsteps; i++)
        if (s->steps[i].kind == PLAN_STEP_INTO && s->steps[i].target == PLAN_TGT_CDC) return true;
    return false;
}

static int oom(hx_err *e)
{
    return hx_fail(e, HX_ENOMEM, "out of memory");
}

/* The replay sessions commit with synchronous_commit = on: the embedded server runs with it off,
 * and a commit's WAL would then reach the walsender only at the WAL writer's next flush (up to
 * 200 ms later: lag the harness, not the solution, adds). Cheap there: fsync is off. */
static void sync_commit(PGconn *c)
{
    if (c) PQclear(PQexec(c, "SET synchronous_commit = on"));
}

static int admin_exec(cdc_state *st, const char *sql, hx_err *e)
{
    PGresult *r = PQexec(st->admin, sql);
    ExecStatusType t = PQresultStatus(r);
    int rc = 0;
    if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(st->admin));
        msg[strcspn(msg, "\n")] = '\0';
        rc = hx_fail(e, HX_EINFRA, "change data capture setup: %s: %s", sql, msg);
    }
    PQclear(r);
    return rc;
}

static cdc_ds *ds_of(cdc_state *st, size_t ds)
{
    for (size_t i = 0; i < st->nds; i++)
        if (st->ds[i].ds == ds) return &st->ds[i];
    return NULL;
}

/* ---- the poller ---- */

static int pend_cmp(const void *a, const void *b)
{
    const pend *x = a, *y = b;
    if (x->ds != y->ds) return x->ds < y->ds ? -1 : 1;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    if (x->version != y->version) return x->version < y->version ? -1 : 1;
    return (int)x->del - (int)y->del; /* the write of version v before its delete */
}

static void on_commit(void *ud, uint32_t txn, int64_t ns)
{
    cdc_ds *d = ((void **)ud)[1];
    cdc_state *st = ((void **)ud)[0];
    const chg_stream *cs = d->cs;
    const chg_txn *x = &cs->tx[txn];
    pthread_mutex_lock(&st->mu);
    if (st->nin + x->n > st->capin) {
        size_t nc = (st->capin ? st->capin * 2 : 4096) + x->n;
        pend *nv = hx_realloc(st->in, nc * sizeof *nv);
        if (nv) st->in = nv, st->capin = nc;
    }
    for (uint32_t i = 0; i < x->n && st->nin < st->capin; i++) {
        const chg_change *c = &cs->ch[x->first + i];
        st->in[st->nin++] = (pend){.key = c->key,
                                   .commit_ns = ns,
                                   .version = c->version,
                                   .ds = (uint8_t)(d - st->ds),
                                   .del = c->op == CHG_DELETE};
    }
    pthread_mutex_unlock(&st->mu);
}

/* One key's observation: present with version v (or absent). Pops its satisfied changes from
 * pe[lo..hi) (marking them with commit_ns = -1) and records their lag. */
static void observe(cdc_state *st, cdc_ds *d, pend *pe, size_t lo, size_t hi, bool present,
                    int64_t v, int64_t now)
{
    uint64_t k = pe[lo].key;
    if (present && d->seen[k] > v && !d->sampled[k]) {
        chg_seen_table *t = &st->obs.tables[d - st->ds];
        st->obs.regressions++;
        t->regressions++;
        if (t->nsample < CHG_MAX_REGRESSIONS) {
            chg_regression *r = &t->sample[t->nsample++];
            snprintf(r->key, sizeof r->key, "%s", d->keys + d->key_off[k]);
            r->from = d->seen[k];
            r->to = v;
        }
        d->sampled[k] = true;
    }
    if (present && v > d->seen[k]) d->seen[k] = v;
    size_t last = SIZE_MAX;
    for (size_t i = lo; i < hi; i++) {
        const pend *p = &pe[i];
        bool ok = p->del ? (present ? v > p->version : (d->seen[k] >= p->version || i == lo))
                         : present && v >= p->version;
        if (ok) last = i;
    }
    for (size_t i = lo; last != SIZE_MAX && i <= last; i++) {
        int64_t lag = now - pe[i].commit_ns;
        hist_record(&st->lag, lag > 0 ? lag : 1);
        st->obs.seen++;
        pe[i].commit_ns = -1;
    }
}

static void array_elem(hx_buf *b, const char *s)
{
    hx_buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') hx_buf_putc(b, '\\');
        hx_buf_putc(b, *s);
    }
    hx_buf_putc(b, '"');
}

/* Poll the keys of pe[lo..hi) (sorted, all of dataset d) in target.<table>. */
static void poll_ds(cdc_state *st, PGconn *c, cdc_ds *d, pend *pe, size_t lo, size_t hi)
{
    const plan_dataset *pd = d->cs->d;
    hx_buf arr, sql;
    hx_buf_init(&arr);
    hx_buf_init(&sql);
    hx_buf_putc(&arr, '{');
    size_t nkeys = 0;
    for (size_t i = lo; i < hi; i++) {
        if (i > lo && pe[i].key == pe[i - 1].key) continue;
        if (nkeys++) hx_buf_putc(&arr, ',');
        array_elem(&arr, d->keys + d->key_off[pe[i].key]);
    }
    hx_buf_putc(&arr, '}');
    char *qk =
        PQescapeIdentifier(c, pd->cols[pd->key_col].name, strlen(pd->cols[pd->key_col].name));
    char *qt = PQescapeIdentifier(c, d->table, strlen(d->table));
    if (!qk || !qt || arr.oom) goto out;
    if (d->text_cmp)
        hx_buf_printf(
            &sql, "SELECT %s::text, row_version FROM target.%s WHERE %s::text = ANY($1::text[])",
            qk, qt, qk);
    else
        hx_buf_printf(&sql, "SELECT %s::text, row_version FROM target.%s WHERE %s = ANY($1::%s[])",
                      qk, qt, qk, chg_sql_type(pd->cols[pd->key_col].type));
    const char *params[] = {arr.data};
    PGresult *r = PQexecParams(c, sql.data, 1, NULL, params, NULL, NULL, 0);
    int64_t now = hx_now_ns();
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        /* not there yet, or a key column of another type: compare as text from now on */
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (state &&
            (!strcmp(state, "42883") || !strcmp(state, "42804") || !strcmp(state, "22P02")))
            d->text_cmp = true;
        PQclear(r);
        goto out;
    }
    st->obs.polls++;
    /* rows by key text: walk the sorted keys and look each up (n x m is small: <= 2000 keys) */
    int nr = PQntuples(r);
    for (size_t i = lo; i < hi;) {
        size_t j = i;
        while (j < hi && pe[j].key == pe[i].key)
            j++;
        const char *kt = d->keys + d->key_off[pe[i].key];
        bool present = false;
        int64_t v = 0;
        for (int row = 0; row < nr; row++)
            if (!PQgetisnull(r, row, 0) && strcmp(PQgetvalue(r, row, 0), kt) == 0) {
                int64_t rv = PQgetisnull(r, row, 1) ? 0 : strtoll(PQgetvalue(r, row, 1), NULL, 10);
                if (!present || rv > v) v = rv;
                present = true;
            }
        observe(st, d, pe, i, j, present, v, now);
        i = j;
    }
    PQclear(r);
out:
    PQfreemem(qk);
    PQfreemem(qt);
    hx_buf_release(&arr);
    hx_buf_release(&sql);
}

static void poll_once(cdc_state *st, PGconn *c)
{
    pthread_mutex_lock(&st->mu);
    if (st->nin) {
        if (st->npe + st->nin > st->cappe) {
            size_t nc = st->npe + st->nin + 4096;
            pend *nv = hx_realloc(st->pe, nc * sizeof *nv);
            if (nv) st->pe = nv, st->cappe = nc;
        }
        size_t take = st->npe + st->nin <= st->cappe ? st->nin : 0;
        memcpy(st->pe + st->npe, st->in, take * sizeof *st->in);
        st->npe += take;
        memmove(st->in, st->in + take, (st->nin - take) * sizeof *st->in);
        st->nin -= take;
    }
    pthread_mutex_unlock(&st->mu);
    if (!st->npe) return;
    qsort(st->pe, st->npe, sizeof *st->pe, pend_cmp);
    /* a window of at most CDC_POLL_KEYS keys a dataset, from the oldest pending of each */
    for (size_t i = 0; i < st->npe;) {
        size_t j = i, keys = 0;
        while (j < st->npe && st->pe[j].ds == st->pe[i].ds) {
            if (j == i || st->pe[j].key != st->pe[j - 1].key) {
                if (keys == CDC_POLL_KEYS) break;
                keys++;
            }
            j++;
        }
        poll_ds(st, c, &st->ds[st->pe[i].ds], st->pe, i, j);
        while (j < st->npe && st->pe[j].ds == st->pe[i].ds)
            j++;
        i = j;
    }
    size_t w = 0;
    for (size_t i = 0; i < st->npe; i++)
        if (st->pe[i].commit_ns >= 0) st->pe[w++] = st->pe[i];
    st->npe = w;
}

static void sleep_until(int64_t t)
{
    int64_t d = t - hx_now_ns();
    if (d <= 0) return;
    struct timespec ts = {.tv_sec = d / 1000000000, .tv_nsec = d % 1000000000};
    nanosleep(&ts, NULL);
}

static void *poller(void *arg)
{
    cdc_state *st = arg;
    PGconn *c = NULL;
    for (bool last = false;;) {
        int64_t t0 = hx_now_ns();
        last = atomic_load(&st->stop);
        if (c && PQstatus(c) != CONNECTION_OK) {
            PQfinish(c);
            c = NULL;
        }
        hx_err e = {0};
        if (!c && pgsvc_connect(st->site->pg, st->site->dbname, &c, &e) == 0)
            PQclear(PQexec(c, "SET statement_timeout = '5s'"));
        if (c) poll_once(st, c);
        if (last) break;
        sleep_until(t0 + CDC_POLL_MS * 1000000LL);
    }
    if (c) PQfinish(c);
    return NULL;
}

static void poller_stop(cdc_state *st)
{
    if (!st->th_on) return;
    atomic_store(&st->stop, true);
    pthread_join(st->th, NULL);
    st->th_on = false;
    st->obs.unseen = st->npe + st->nin;
}

/* ---- setup ---- */

static int key_texts(cdc_state *st, cdc_ds *d, hx_err *e)
{
    const chg_stream *cs = d->cs;
    gen_record rec;
    if (chg_rec_init(cs, &rec)) return oom(e);
    hx_buf all, one;
    hx_buf_init(&all);
    hx_buf_init(&one);
    int rc = 0;
    d->key_off = hx_calloc(cs->rows + 1, sizeof *d->key_off);
    d->seen = hx_calloc(cs->rows + 1, sizeof *d->seen);
    d->sampled = hx_calloc(cs->rows + 1, sizeof *d->sampled);
    if (!d->key_off || !d->seen || !d->sampled) rc = oom(e);
    for (uint64_t k = 0; !rc && k < cs->rows; k++) {
        rc = chg_key_text(st->site->g, cs, k, &rec, &one, e);
        d->key_off[k] = all.len;
        hx_buf_append(&all, one.data, one.len);
        hx_buf_putc(&all, '\0');
    }
    if (!rc && all.oom) rc = oom(e);
    if (!rc) d->keys = hx_buf_steal(&all);
    hx_buf_release(&all);
    hx_buf_release(&one);
    gen_record_release(&rec);
    return rc;
}

static int check_server(cdc_state *st, hx_err *e)
{
    const pgsvc *pg = st->site->pg;
    PGresult *r = PQexec(st->admin, "SELECT pg_catalog.current_setting('wal_level')");
    bool logical = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                   strcmp(PQgetvalue(r, 0, 0), "logical") == 0;
    char level[32] = "?";
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        snprintf(level, sizeof level, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (!logical)
        return hx_fail(e, HX_EINFRA,
                       "scenario '%s' replays a change stream, which needs wal_level = logical; "
                       "postgres at %s:%s has wal_level = %s: run ALTER SYSTEM SET wal_level = "
                       "logical there and restart it, or drop --pg to use the embedded server",
                       st->site->s->name, pg->host, pg->port, level);
    if (!pg->admin_super)
        return hx_fail(e, HX_EINFRA,
                       "scenario '%s' replays a change stream: the --pg user '%s' must be a "
                       "superuser to give the scenario role REPLICATION and create its slot; "
                       "use such a user or drop --pg to use the embedded server",
                       st->site->s->name, pg->user);
    return 0;
}

static void cdc_teardown(replay_site *site, void *state);

static int setup(cdc_state *st, replay_site *site, hx_err *e);

/* Set up; on failure undo what was made (the engine tears down only targets set up whole). */
static int cdc_setup(replay_site *site, void **slot, hx_err *e)
{
    cdc_state *st = hx_calloc(1, sizeof *st);
    if (!st) return oom(e);
    int rc = setup(st, site, e);
    if (rc) {
        cdc_teardown(site, st);
        st = NULL;
    }
    *slot = st;
    return rc;
}

static int setup(cdc_state *st, replay_site *site, hx_err *e)
{
    st->site = site;
    pthread_mutex_init(&st->mu, NULL);
    hist_init(&st->lag, 1000, (int64_t)3600 * 1000000000, 3);
    snprintf(st->name, sizeof st->name, "%s", site->dbname);
    const plan_scenario *s = site->s;
    int rc = pgsvc_connect_admin(site->pg, site->dbname, &st->admin, e);
    if (!rc) rc = check_server(st, e);
    if (!rc) sync_commit(st->admin);
    if (rc) return rc;
    char *qrole = PQescapeIdentifier(st->admin, site->dbname, strlen(site->dbname));
    char *sql = qrole ? hx_asprintf("ALTER ROLE %s REPLICATION", qrole) : NULL;
    rc = sql ? admin_exec(st, sql, e) : oom(e);
    hx_free(sql);
    bool long_txns = false;
    for (size_t i = 0; !rc && i < s->nsteps; i++) {
        const plan_step *ps = &s->steps[i];
        if (ps->kind != PLAN_STEP_INTO || ps->target != PLAN_TGT_CDC || ds_of(st, ps->dataset))
            continue;
        if (st->nds == CDC_MAX_DS) {
            rc = hx_fail(e, HX_EUSAGE, "%s: at most %d change streams a scenario", ps->where,
                         CDC_MAX_DS);
            break;
        }
        cdc_ds *d = &st->ds[st->nds++];
        d->ds = ps->dataset;
        snprintf(d->table, sizeof d->table, "%s", ps->table);
        memcpy(st->obs.tables[st->nds - 1].table, d->table, sizeof d->table);
        st->obs.ntables = st->nds;
        for (size_t j = 0; j + 1 < st->nds; j++)
            if (!strcmp(st->ds[j].table, d->table))
                rc = hx_fail(e, HX_EUSAGE, "%s: two change streams into table '%s'", ps->where,
                             d->table);
        if (!rc) rc = chg_build(site->g, d->ds, &d->cs, e);
        if (!rc) rc = replay_changes_create(st->admin, d->cs, d->table, site->dbname, e);
        if (!rc) rc = key_texts(st, d, e);
        if (!rc && d->cs->d->changes.long_every) long_txns = true;
    }
    /* the publication and the slot, before the first change */
    hx_buf b;
    hx_buf_init(&b);
    char *qname = PQescapeIdentifier(st->admin, st->name, strlen(st->name));
    hx_buf_printf(&b, "CREATE PUBLICATION %s FOR TABLE ", qname ? qname : "");
    for (size_t i = 0; i < st->nds; i++) {
        char *q = PQescapeIdentifier(st->admin, st->ds[i].table, strlen(st->ds[i].table));
        hx_buf_printf(&b, "%spublic.%s", i ? ", " : "", q ? q : "");
        PQfreemem(q);
    }
    if (!rc) rc = b.oom || !qname ? oom(e) : admin_exec(st, b.data, e);
    if (!rc) st->pub_made = true;
    char *lit = PQescapeLiteral(st->admin, st->name, strlen(st->name));
    sql = lit ? hx_asprintf("SELECT pg_catalog.pg_create_logical_replication_slot(%s, 'pgoutput')",
                            lit)
              : NULL;
    if (!rc) rc = sql ? admin_exec(st, sql, e) : oom(e);
    if (!rc) st->slot_made = true;
    hx_free(sql);
    PQfreemem(lit);
    PQfreemem(qname);
    PQfreemem(qrole);
    hx_buf_release(&b);
    if (!rc && long_txns) rc = pgsvc_connect_admin(site->pg, site->dbname, &st->admin2, e);
    if (!rc) sync_commit(st->admin2);
    if (!rc) {
        if (pthread_create(&st->th, NULL, poller, st) == 0)
            st->th_on = true;
        else
            rc = hx_fail(e, HX_EINFRA, "cannot start the replication-lag poller");
    }
    return rc;
}

/* ---- steps, faults, env ---- */

static int cdc_replay(replay_site *site, void *state, const plan_step *ps, int64_t batch,
                      replay_stats *out, hx_err *e)
{
    (void)batch;
    cdc_state *st = state;
    cdc_ds *d = st ? ds_of(st, ps->dataset) : NULL;
    if (!d) return hx_fail(e, HX_EINFRA, "%s: the change stream was not set up", ps->where);
    uint32_t to = chg_cut(d->cs, ps->upto);
    if (to < d->next_tx) to = d->next_tx;
    void *ud[2] = {st, d};
    replay_chg o = {.conn = st->admin,
                    .conn2 = st->admin2,
                    .g = site->g,
                    .cs = d->cs,
                    .table = d->table,
                    .rate = ps->rate,
                    .on_commit = on_commit,
                    .ud = ud};
    int rc = replay_changes(&o, d->next_tx, to, out, e);
    if (!rc) d->next_tx = to;
    return rc;
}

static int reconnect(cdc_state *st, PGconn **c, hx_err *e)
{
    if (!*c) return 0;
    PQfinish(*c);
    *c = NULL;
    int rc = HX_EINFRA;
    /* the server may still be starting */
    for (int i = 0; i < 100 && rc; i++) {
        rc = pgsvc_connect_admin(st->site->pg, st->site->dbname, c, e);
        if (rc) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (!rc) sync_commit(*c);
    return rc;
}

static int cdc_fault(replay_site *site, void *state, const plan_step *ps, hx_err *e)
{
    cdc_state *st = state;
    if (!strcmp(ps->fault, "pg_restart")) {
        int rc = pgsvc_restart(site->pg, e);
        if (!rc && site->conn) PQreset(site->conn);
        if (!rc && st) rc = reconnect(st, &st->admin, e);
        if (!rc && st) rc = reconnect(st, &st->admin2, e);
        return rc;
    }
    /* add_column */
    cdc_ds *d = st ? ds_of(st, ps->dataset) : NULL;
    if (!d)
        return hx_fail(e, HX_EUSAGE, "%s: add_column on a dataset no change step replays",
                       ps->where);
    for (size_t a = 0; a < d->cs->nadded; a++)
        if (!strcmp(d->cs->added[a].name, ps->column))
            return d->cs->added[a].at_tx > 0
                       ? replay_changes_add_column(st->admin, d->cs, d->table, a, e)
                       : 0; /* at the start: the table was made with it */
    return hx_fail(e, HX_EUSAGE, "%s: column '%s' is not added to '%s'", ps->where, ps->column,
                   d->table);
}

static int cdc_env(const replay_site *site, replay_env_fn add, void *ud, hx_err *e)
{
    bool used = uses_cdc(site->s);
    hx_buf tables;
    hx_buf_init(&tables);
    for (size_t i = 0; used && i < site->s->nsteps; i++) {
        const plan_step *ps = &site->s->steps[i];
        if (ps->kind != PLAN_STEP_INTO || ps->target != PLAN_TGT_CDC) continue;
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup |= site->s->steps[j].kind == PLAN_STEP_INTO &&
                   site->s->steps[j].target == PLAN_TGT_CDC &&
                   !strcmp(site->s->steps[j].table, ps->table);
        if (!dup) hx_buf_printf(&tables, "%s%s", tables.len ? "," : "", ps->table);
    }
    const char *name = used ? site->dbname : "";
    bool ok = !tables.oom && add(ud, "HARNESS_CDC_SLOT", name) &&
              add(ud, "HARNESS_CDC_PUBLICATION", name) &&
              add(ud, "HARNESS_CDC_TABLES", tables.data ? tables.data : "") &&
              add(ud, "HARNESS_CDC_TARGET_SCHEMA", used ? "target" : "");
    hx_buf_release(&tables);
    return ok ? 0 : oom(e);
}

/* ---- after the run ---- */

static const chg_observed *cdc_observed(replay_site *site, void *state)
{
    (void)site;
    cdc_state *st = state;
    if (!st) return NULL;
    poller_stop(st);
    st->obs.ran = true;
    return &st->obs;
}

static void cdc_metrics(replay_site *site, void *state, replay_hist_fn add_hist,
                        replay_metric_fn add_metric, void *ud)
{
    (void)site;
    cdc_state *st = state;
    if (!st) return;
    poller_stop(st);
    add_hist(ud, "cdc.lag", &st->lag);
    if (hist_count(&st->lag)) {
        const char *sfx[] = {"p50", "p90", "p99", "max"};
        double pct[] = {50, 90, 99, 100};
        for (size_t i = 0; i < 4; i++) {
            char name[32];
            snprintf(name, sizeof name, "cdc.lag.%s", sfx[i]);
            int64_t v = pct[i] < 100 ? hist_percentile(&st->lag, pct[i]) : hist_max(&st->lag);
            add_metric(ud, name, (double)v / 1e9, "s");
        }
    }
    add_metric(ud, "cdc.lag.count", (double)hist_count(&st->lag), "");
    add_metric(ud, "cdc.lag.unseen", (double)st->obs.unseen, "");
    add_metric(ud, "cdc.polls", (double)st->obs.polls, "");
    add_metric(ud, "cdc.order.regressions", (double)st->obs.regressions, "");
}

/* End the slot's walsender (the solution's, if it still runs), then drop slot and publication. */
static void drop_slot(cdc_state *st)
{
    if (!st->admin || (!st->slot_made && !st->pub_made)) return;
    if (PQstatus(st->admin) != CONNECTION_OK) PQreset(st->admin);
    char *lit = PQescapeLiteral(st->admin, st->name, strlen(st->name));
    char *qn = PQescapeIdentifier(st->admin, st->name, strlen(st->name));
    /* every slot of the scenario database: a solution may have made its own (the database
     * cannot be dropped while one exists) */
    char *term = lit ? hx_asprintf("SELECT pg_catalog.pg_terminate_backend(active_pid) FROM "
                                   "pg_catalog.pg_replication_slots WHERE database = "
                                   "pg_catalog.current_database() AND active_pid IS NOT NULL")
                     : NULL;
    char *drop = lit ? hx_asprintf("SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM "
                                   "pg_catalog.pg_replication_slots WHERE database = "
                                   "pg_catalog.current_database()")
                     : NULL;
    char *pub = qn ? hx_asprintf("DROP PUBLICATION IF EXISTS %s", qn) : NULL;
    bool dropped = false;
    for (int i = 0; i < 50 && !dropped && term && drop; i++) {
        PQclear(PQexec(st->admin, term));
        PGresult *r = PQexec(st->admin, drop);
        dropped = PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
        if (!dropped) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (!dropped)
        hx_warn("cannot drop replication slot %s (database %s): drop it with SELECT "
                "pg_drop_replication_slot('%s') or it keeps WAL",
                st->name, st->site->dbname, st->name);
    if (st->pub_made && pub) {
        PGresult *r = PQexec(st->admin, pub);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            hx_warn("cannot drop publication %s in database %s", st->name, st->site->dbname);
        PQclear(r);
    }
    hx_free(term);
    hx_free(drop);
    hx_free(pub);
    PQfreemem(lit);
    PQfreemem(qn);
}

static void cdc_teardown(replay_site *site, void *state)
{
    (void)site;
    cdc_state *st = state;
    if (!st) return;
    poller_stop(st);
    drop_slot(st);
    if (st->admin) PQfinish(st->admin);
    if (st->admin2) PQfinish(st->admin2);
    for (size_t i = 0; i < st->nds; i++) {
        chg_stream_free(st->ds[i].cs);
        hx_free(st->ds[i].keys);
        hx_free(st->ds[i].key_off);
        hx_free(st->ds[i].seen);
        hx_free(st->ds[i].sampled);
    }
    hx_free(st->in);
    hx_free(st->pe);
    hist_release(&st->lag);
    pthread_mutex_destroy(&st->mu);
    hx_free(st);
}

static const char *const cdc_faults[] = {"add_column", "pg_restart", NULL};

const replay_target replay_target_cdc = {
    .name = "cdc",
    .code = PLAN_TGT_CDC,
    .format = "postgres",
    .used_by = uses_cdc,
    .setup = cdc_setup,
    .replay = cdc_replay,
    .env = cdc_env,
    .faults = cdc_faults,
    .fault = cdc_fault,
    .observed = cdc_observed,
    .metrics = cdc_metrics,
    .teardown = cdc_teardown,
};
