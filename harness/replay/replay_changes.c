/* replay_changes.c - a change stream (data/changes.h) into its typed source table through libpq
 * pipeline mode: each transaction is its statements and a Sync (one implicit transaction), sent
 * at the step's rate; the Sync's result is the commit, timed when it is read. A long transaction
 * runs on a second session: BEGIN and its inserts when its window opens, COMMIT at its place. */
#include "replay.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "changes.h"

#define MAX_INFLIGHT 512 /* transactions sent and not yet committed, at most */
#define MAX_UPD_STMTS 256

typedef struct upd_stmt {
    uint64_t mask;
    char name[48];
    char *sql; /* kept for o->on_send */
} upd_stmt;

typedef struct crep {
    const replay_chg *o;
    const chg_stream *cs;
    const plan_dataset *d;
    char *qtable;   /* public."name" */
    char **qcols;   /* quoted dataset columns, then the active added columns */
    size_t ncols;   /* of them */
    size_t nactive; /* active added columns */
    char ins[48], del[48];
    char *ins_sql, *del_sql; /* kept for o->on_send */
    upd_stmt upd[MAX_UPD_STMTS];
    size_t nupd;
    unsigned long id; /* this call's statement suffix */
    gen_record keyrec, srcrec;
    hx_buf val, store; /* one value; the values of one statement */
    size_t *off;       /* offsets of the statement's values in store, SIZE_MAX = NULL */
    const char **params;
    hx_sha256 sha;
    replay_stats *stats;
    /* in flight: a ring of transactions whose Sync is not read yet */
    uint32_t ring[MAX_INFLIGHT];
    size_t head, count;
    uint64_t stmts_open; /* statement results not yet read */
    bool in_result;      /* a statement's result was read, its NULL not yet */
    bool failed;         /* a statement failed: the error is in e */
} crep;

static int oom(hx_err *e)
{
    return hx_fail(e, HX_ENOMEM, "out of memory");
}

static int sql_fail(crep *p, PGconn *c, const char *what, hx_err *e)
{
    char msg[600];
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
    msg[strcspn(msg, "\n")] = '\0';
    return hx_fail(e, HX_EINFRA, "replaying the changes of '%s' into %s: %s failed: %s", p->d->name,
                   p->qtable ? p->qtable : "postgres", what, msg);
}

static char *ident(PGconn *c, const char *s)
{
    char *q = PQescapeIdentifier(c, s, strlen(s));
    char *d = q ? hx_strdup(q) : NULL;
    PQfreemem(q);
    return d;
}

static int prepare(crep *p, PGconn *c, const char *name, const char *sql, hx_err *e)
{
    PGresult *r = PQprepare(c, name, sql, 0, NULL);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : sql_fail(p, c, sql, e);
    PQclear(r);
    return rc;
}

/* INSERT INTO t (every column, row_version, updated_at) on session c. */
static int prepare_insert(crep *p, PGconn *c, hx_err *e)
{
    hx_buf sql;
    hx_buf_init(&sql);
    hx_buf_printf(&sql, "INSERT INTO %s (", p->qtable);
    for (size_t i = 0; i < p->ncols; i++)
        hx_buf_printf(&sql, "%s, ", p->qcols[i]);
    hx_buf_puts(&sql, "row_version, updated_at) VALUES (");
    for (size_t i = 0; i <= p->ncols; i++)
        hx_buf_printf(&sql, "$%zu, ", i + 1);
    hx_buf_puts(&sql, "pg_catalog.clock_timestamp())");
    int rc = sql.oom ? oom(e) : prepare(p, c, p->ins, sql.data, e);
    if (!rc && !p->ins_sql) {
        p->ins_sql = hx_buf_steal(&sql); /* the same text on both sessions */
        return 0;
    }
    hx_buf_release(&sql);
    return rc;
}

/* The UPDATE setting the columns of mask (bit i = qcols[i]), prepared on first use. */
static const upd_stmt *update_stmt(crep *p, uint64_t mask, hx_err *e, int *rc)
{
    for (size_t i = 0; i < p->nupd; i++)
        if (p->upd[i].mask == mask) return &p->upd[i];
    if (p->nupd == MAX_UPD_STMTS) {
        *rc = hx_fail(e, HX_EINFRA, "change stream '%s': more than %d update shapes", p->d->name,
                      MAX_UPD_STMTS);
        return NULL;
    }
    upd_stmt *u = &p->upd[p->nupd];
    u->mask = mask;
    snprintf(u->name, sizeof u->name, "hx_chg_upd_%lu_%zu", p->id, p->nupd);
    hx_buf sql;
    hx_buf_init(&sql);
    hx_buf_printf(&sql, "UPDATE %s SET ", p->qtable);
    size_t n = 0;
    for (size_t i = 0; i < p->ncols; i++)
        if (mask & (1ULL << i)) hx_buf_printf(&sql, "%s = $%zu, ", p->qcols[i], ++n);
    hx_buf_printf(&sql,
                  "row_version = $%zu, updated_at = pg_catalog.clock_timestamp() WHERE %s = $%zu",
                  n + 1, p->qcols[p->d->key_col], n + 2);
    /* Prepared outside the pipeline: wait for it only when the pipeline is empty. */
    *rc = sql.oom ? oom(e) : 0;
    if (!*rc) {
        PGconn *c = p->o->conn;
        if (PQsendPrepare(c, u->name, sql.data, 0, NULL) != 1) *rc = sql_fail(p, c, sql.data, e);
        p->stmts_open++;
    }
    if (*rc) {
        hx_buf_release(&sql);
        return NULL;
    }
    u->sql = hx_buf_steal(&sql);
    p->nupd++;
    return u;
}

/* Put value text (NULL: SQL NULL) as the next parameter. */
static void put_param(crep *p, size_t i, const char *s, size_t n, bool null)
{
    if (null) {
        p->off[i] = SIZE_MAX;
        return;
    }
    p->off[i] = p->store.len;
    hx_buf_append(&p->store, s, n);
    hx_buf_putc(&p->store, '\0');
    hx_sha256_update(&p->sha, s, n);
    hx_sha256_update(&p->sha, "\t", 1);
    p->stats->bytes += n;
}

/* Parameter pos: the value of column i (a dataset column, its source from the change, or an
 * added one) as change j writes it. */
static int put_column(crep *p, const chg_change *ch, uint64_t j, size_t i, size_t pos, hx_err *e)
{
    const chg_stream *cs = p->cs;
    if (i >= p->d->ncols) {
        chg_added_value(cs, i - p->d->ncols, j, &p->val);
        put_param(p, pos, p->val.data ? p->val.data : "", p->val.len, false);
        return p->val.oom ? oom(e) : 0;
    }
    bool null = false;
    int rc;
    if ((int)i == p->d->key_col)
        rc = chg_value(p->o->g, cs, ch->key, i, &p->keyrec, &p->val, &null, e);
    else
        rc = chg_value(p->o->g, cs,
                       ch->src | ((int)i == p->d->changes.large_col && ch->large ? CHG_LARGE : 0),
                       i, &p->srcrec, &p->val, &null, e);
    if (!rc) put_param(p, pos, p->val.data ? p->val.data : "", p->val.len, null);
    return rc;
}

static void fix_params(crep *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p->params[i] = p->off[i] == SIZE_MAX ? NULL : p->store.data + p->off[i];
}

static void put_version(crep *p, size_t i, uint32_t v)
{
    char b[16];
    int n = snprintf(b, sizeof b, "%u", v);
    put_param(p, i, b, (size_t)n, false);
}

/* Send change j on session c (pipelined or not: the caller reads the result). */
static int send_change(crep *p, PGconn *c, uint64_t j, hx_err *e)
{
    const chg_change *ch = &p->cs->ch[j];
    hx_buf_clear(&p->store);
    int rc = 0;
    size_t n = 0;
    const char *stmt = NULL, *sql = NULL;
    char opc = 'c';
    if (ch->op == CHG_INSERT) {
        for (size_t i = 0; i < p->ncols && !rc; i++)
            rc = put_column(p, ch, j, i, i, e);
        n = p->ncols;
        stmt = p->ins;
        sql = p->ins_sql;
    } else if (ch->op == CHG_UPDATE) {
        uint64_t mask = ch->cols & ((1ULL << p->d->ncols) - 1);
        for (size_t a = 0; a < p->nactive; a++)
            mask |= 1ULL << (p->d->ncols + a);
        for (size_t i = 0; i < p->ncols && !rc; i++)
            if (mask & (1ULL << i)) rc = put_column(p, ch, j, i, n++, e);
        const upd_stmt *u = rc ? NULL : update_stmt(p, mask, e, &rc);
        if (u) {
            stmt = u->name;
            sql = u->sql;
        }
        opc = 'u';
    } else {
        stmt = p->del;
        sql = p->del_sql;
        opc = 'd';
    }
    if (rc) return rc;
    if (ch->op != CHG_DELETE) put_version(p, n++, ch->version);
    if (ch->op != CHG_INSERT) {
        bool null;
        rc = chg_value(p->o->g, p->cs, ch->key, (size_t)p->d->key_col, &p->keyrec, &p->val, &null,
                       e);
        if (rc) return rc;
        put_param(p, n++, p->val.data ? p->val.data : "", p->val.len, false);
    }
    hx_sha256_update(&p->sha, &opc, 1);
    hx_sha256_update(&p->sha, "\n", 1);
    if (p->store.oom) return oom(e);
    fix_params(p, n);
    if (p->o->on_send)
        p->o->on_send(p->o->send_ud, c == p->o->conn ? 1 : 2, sql, (int)n, p->params);
    if (PQsendQueryPrepared(c, stmt, (int)n, p->params, NULL, NULL, 0) != 1)
        return sql_fail(p, c, "queueing a statement", e);
    p->stats->rows++;
    p->stats->updates += ch->op == CHG_UPDATE;
    return 0;
}

/* Read what results are ready (block: wait for one more Sync). */
static int read_results(crep *p, bool block, hx_err *e)
{
    PGconn *c = p->o->conn;
    if (!block && PQconsumeInput(c) != 1) return sql_fail(p, c, "reading results", e);
    size_t want = p->count ? p->count - 1 : 0;
    while (p->stmts_open || p->count) {
        if (!block && PQisBusy(c)) return 0;
        /* one Sync read is enough: the pipeline stays full (the statements after it are read
         * in a later call); with none in flight, the statements' results to their end */
        if (block && p->count <= want && (p->count || !p->stmts_open)) return 0;
        PGresult *r = PQgetResult(c);
        if (!r) {
            if (PQstatus(c) == CONNECTION_BAD) return sql_fail(p, c, "the pipeline", e);
            if (p->in_result) {
                p->in_result = false;
                p->stmts_open--;
            }
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            uint32_t t = p->ring[p->head];
            p->head = (p->head + 1) % MAX_INFLIGHT;
            p->count--;
            if (!p->failed && p->o->on_commit) p->o->on_commit(p->o->ud, t, hx_now_ns());
        } else {
            p->in_result = true;
            if ((st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED) && !p->failed) {
                char msg[600];
                snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
                msg[strcspn(msg, "\n")] = '\0';
                hx_fail(e, HX_EINFRA,
                        "replaying the changes of '%s' into %s: transaction %u failed: %s",
                        p->d->name, p->qtable, p->count ? p->ring[p->head] : 0, msg);
                p->failed = true;
            }
        }
        PQclear(r);
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The long transactions of from..to-1 whose window opens inside the range before their place, as
 * (open_at << 32 | index) in the order they open: *v (NULL when none, else hx_free it), *n of
 * them. Found once, so the replay's loop does not look ahead for them at every transaction. */
static int long_opens(const chg_stream *cs, uint32_t from, uint32_t to, uint64_t **v, size_t *n,
                      hx_err *e)
{
    size_t cap = 0;
    *v = NULL;
    *n = 0;
    for (uint32_t l = from; l < to; l++) {
        const chg_txn *x = &cs->tx[l];
        if (!x->is_long || x->open_at < from || x->open_at >= l) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            uint64_t *w = hx_realloc(*v, cap * sizeof *w);
            if (!w) {
                hx_free(*v);
                *v = NULL;
                return oom(e);
            }
            *v = w;
        }
        (*v)[(*n)++] = (uint64_t)x->open_at << 32 | l;
    }
    if (*n > 1) qsort(*v, *n, sizeof **v, cmp_u64);
    return 0;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    nanosleep(&ts, NULL);
}

static int exec2(crep *p, PGconn *c, const char *sql, hx_err *e)
{
    if (p->o->on_send) p->o->on_send(p->o->send_ud, 2, sql, 0, NULL);
    PGresult *r = PQexec(c, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : sql_fail(p, c, sql, e);
    PQclear(r);
    return rc;
}

/* Long transaction t on the second session: open it (BEGIN and its inserts). */
static int long_open(crep *p, uint32_t t, hx_err *e)
{
    PGconn *c = p->o->conn2;
    const chg_txn *x = &p->cs->tx[t];
    int rc = exec2(p, c, "BEGIN", e);
    for (uint32_t i = 0; i < x->n && !rc; i++) {
        if ((rc = send_change(p, c, x->first + i, e))) break;
        PGresult *r;
        while ((r = PQgetResult(c))) {
            if (PQresultStatus(r) != PGRES_COMMAND_OK && !rc)
                rc = sql_fail(p, c, "a long transaction's insert", e);
            PQclear(r);
        }
    }
    return rc;
}

static int long_commit(crep *p, uint32_t t, hx_err *e)
{
    int rc = exec2(p, p->o->conn2, "COMMIT", e);
    if (!rc && p->o->on_commit) p->o->on_commit(p->o->ud, t, hx_now_ns());
    return rc;
}

static int setup_stmts(crep *p, uint32_t from, uint32_t to, hx_err *e)
{
    static unsigned long counter;
    const chg_stream *cs = p->cs;
    const plan_dataset *d = p->d;
    PGconn *c = p->o->conn;
    p->id = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    snprintf(p->ins, sizeof p->ins, "hx_chg_ins_%lu", p->id);
    snprintf(p->del, sizeof p->del, "hx_chg_del_%lu", p->id);
    for (size_t a = 0; a < cs->nadded; a++) {
        if (cs->added[a].at_tx <= from) {
            p->nactive++;
            continue;
        }
        if (cs->added[a].at_tx < to)
            return hx_fail(e, HX_EUSAGE,
                           "change stream '%s': column '%s' is added inside a step's range",
                           d->name, cs->added[a].name);
    }
    p->ncols = d->ncols + p->nactive;
    if (p->ncols > 63) return hx_fail(e, HX_EUSAGE, "change stream '%s': over 63 columns", d->name);
    char *t = ident(c, p->o->table);
    p->qtable = t ? hx_asprintf("public.%s", t) : NULL;
    hx_free(t);
    p->qcols = hx_calloc(p->ncols, sizeof *p->qcols);
    p->off = hx_calloc(p->ncols + 2, sizeof *p->off);
    p->params = hx_calloc(p->ncols + 2, sizeof *p->params);
    if (!p->qtable || !p->qcols || !p->off || !p->params) return oom(e);
    for (size_t i = 0; i < p->ncols; i++) {
        const char *name = i < d->ncols ? d->cols[i].name : cs->added[i - d->ncols].name;
        if (!(p->qcols[i] = ident(c, name))) return oom(e);
    }
    int rc = prepare_insert(p, c, e);
    if (!rc && p->o->conn2) rc = prepare_insert(p, p->o->conn2, e);
    p->del_sql = hx_asprintf("DELETE FROM %s WHERE %s = $1", p->qtable, p->qcols[d->key_col]);
    if (!rc) rc = p->del_sql ? prepare(p, c, p->del, p->del_sql, e) : oom(e);
    return rc;
}

static void release(crep *p)
{
    PGconn *c = p->o->conn;
    char sql[96];
    if (p->ins[0] && PQstatus(c) == CONNECTION_OK) {
        snprintf(sql, sizeof sql, "DEALLOCATE ALL");
        PQclear(PQexec(c, sql));
        if (p->o->conn2) PQclear(PQexec(p->o->conn2, sql));
    }
    for (size_t i = 0; p->qcols && i < p->ncols; i++)
        hx_free(p->qcols[i]);
    hx_free(p->qcols);
    hx_free(p->qtable);
    hx_free(p->ins_sql);
    hx_free(p->del_sql);
    for (size_t i = 0; i < p->nupd; i++)
        hx_free(p->upd[i].sql);
    hx_free(p->off);
    hx_free(p->params);
    gen_record_release(&p->keyrec);
    gen_record_release(&p->srcrec);
    hx_buf_release(&p->val);
    hx_buf_release(&p->store);
}

int replay_changes(const replay_chg *o, uint32_t from, uint32_t to, replay_stats *out, hx_err *e)
{
    int64_t t0 = hx_now_ns();
    memset(out, 0, sizeof *out);
    crep p = {.o = o, .cs = o->cs, .d = o->cs->d, .stats = out};
    hx_sha256_init(&p.sha);
    int rc = 0;
    if (chg_rec_init(o->cs, &p.keyrec) || chg_rec_init(o->cs, &p.srcrec)) rc = oom(e);
    if (!rc) rc = setup_stmts(&p, from, to, e);
    if (rc) {
        release(&p);
        return rc;
    }
    const chg_stream *cs = o->cs;
    PGconn *c = o->conn;
    if (PQenterPipelineMode(c) != 1) {
        rc = sql_fail(&p, c, "entering pipeline mode", e);
        release(&p);
        return rc;
    }
    uint64_t base = from < cs->ntx ? cs->tx[from].first : cs->n;
    size_t nopens = 0, next_open = 0;
    uint64_t *opens = NULL;
    rc = long_opens(cs, from, to, &opens, &nopens, e);
    for (uint32_t t = from; t < to && !rc && !p.failed; t++) {
        /* long transactions whose window opens here (their place is after t) */
        for (; next_open < nopens && opens[next_open] >> 32 == t && !rc; next_open++)
            rc = long_open(&p, (uint32_t)opens[next_open], e);
        if (rc) break;
        const chg_txn *x = &cs->tx[t];
        if (o->rate > 0) {
            int64_t due = t0 + (int64_t)((double)(x->first - base) / o->rate * 1e9);
            for (int64_t now; !rc && (now = hx_now_ns()) < due;) {
                rc = read_results(&p, false, e);
                sleep_ns(due - now < 1000000 ? due - now : 1000000);
            }
        }
        if (x->is_long) {
            /* its window opened before this range began, or just now */
            if (x->open_at < from || x->open_at == t) rc = long_open(&p, t, e);
            if (!rc) rc = long_commit(&p, t, e);
            continue;
        }
        for (uint32_t i = 0; i < x->n && !rc; i++) {
            rc = send_change(&p, c, x->first + i, e);
            p.stmts_open++;
        }
        if (rc) break;
        if (o->on_send) o->on_send(o->send_ud, 1, NULL, 0, NULL);
        if (PQpipelineSync(c) != 1) {
            rc = sql_fail(&p, c, "pipeline sync", e);
            break;
        }
        p.ring[(p.head + p.count) % MAX_INFLIGHT] = t;
        p.count++;
        rc = read_results(&p, p.count == MAX_INFLIGHT, e);
    }
    /* finish the pipeline so the session is usable again */
    while (!rc && !p.failed && (p.count || p.stmts_open))
        rc = read_results(&p, true, e);
    if (rc || p.failed) {
        while (p.count || p.stmts_open) {
            hx_err ignore = {0};
            if (read_results(&p, true, &ignore)) break;
        }
        if (!rc) rc = HX_EINFRA;
    }
    PQexitPipelineMode(c);
    hx_free(opens);
    release(&p);
    if (rc) return rc;
    out->batches = 1;
    hx_sha256_final(&p.sha, out->sha256);
    out->seconds = (double)(hx_now_ns() - t0) / 1e9;
    return 0;
}

int replay_changes_create(PGconn *conn, const chg_stream *cs, const char *table, const char *role,
                          hx_err *e)
{
    const plan_dataset *d = cs->d;
    hx_buf sql;
    hx_buf_init(&sql);
    char *qt = ident(conn, table), *qr = ident(conn, role);
    char *qk = ident(conn, d->cols[d->key_col].name);
    hx_buf_printf(&sql, "CREATE TABLE public.%s (", qt ? qt : "");
    for (size_t i = 0; i < d->ncols; i++) {
        char *q = ident(conn, d->cols[i].name);
        hx_buf_printf(&sql, "%s %s, ", q ? q : "", chg_sql_type(d->cols[i].type));
        hx_free(q);
    }
    for (size_t a = 0; a < cs->nadded; a++) {
        if (cs->added[a].at_tx > 0) continue;
        char *q = ident(conn, cs->added[a].name);
        hx_buf_printf(&sql, "%s %s, ", q ? q : "", chg_sql_type(cs->added[a].type));
        hx_free(q);
    }
    hx_buf_printf(&sql,
                  "row_version bigint NOT NULL, updated_at timestamptz NOT NULL, PRIMARY KEY "
                  "(%s)); GRANT SELECT ON public.%s TO %s",
                  qk ? qk : "", qt ? qt : "", qr ? qr : "");
    int rc = 0;
    if (sql.oom || !qt || !qr || !qk) {
        rc = oom(e);
    } else {
        PGresult *r = PQexec(conn, sql.data);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s", PQerrorMessage(conn));
            msg[strcspn(msg, "\n")] = '\0';
            rc = hx_fail(e, HX_EINFRA, "creating source table public.%s: %s", table, msg);
        }
        PQclear(r);
    }
    hx_buf_release(&sql);
    hx_free(qt);
    hx_free(qr);
    hx_free(qk);
    return rc;
}

int replay_changes_add_column(PGconn *conn, const chg_stream *cs, const char *table, size_t a,
                              hx_err *e)
{
    char *qt = ident(conn, table), *qc = ident(conn, cs->added[a].name);
    char *sql = qt && qc ? hx_asprintf("ALTER TABLE public.%s ADD COLUMN %s %s", qt, qc,
                                       chg_sql_type(cs->added[a].type))
                         : NULL;
    int rc = 0;
    if (!sql) {
        rc = oom(e);
    } else {
        PGresult *r = PQexec(conn, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s", PQerrorMessage(conn));
            msg[strcspn(msg, "\n")] = '\0';
            rc = hx_fail(e, HX_EINFRA, "%s: %s", sql, msg);
        }
        PQclear(r);
    }
    hx_free(sql);
    hx_free(qt);
    hx_free(qc);
    return rc;
}
