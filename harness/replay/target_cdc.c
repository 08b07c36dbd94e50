/* target_cdc.c - the change-data-capture target: { into = "postgres", mode = "changes" } steps
 * replay a dataset's change stream (data/changes.h) into a typed source table public.<table> the
 * admin owns (the scenario role may only SELECT it), through replay_changes. Before the first
 * change: REPLICATION for the scenario role, a publication of the source tables and a pgoutput
 * slot, both the admin's, named hx_<scenario>; after the run the slot's walsender is ended and
 * both are dropped. The audit slot: before the solution starts the admin also makes a
 * test_decoding slot hxa_<scenario> of its own; a thread reads it every CDC_DRAIN_MS (as the
 * admin: the decoding is not billed to the solution) and keeps every row change of public.<table>
 * and target.<table> (key, row_version, commit time). Before the checks audit() reads it to the
 * end and matches per key what the source wrote with what the target applied: versions out of
 * order, written twice, lost, deletes lost (the cdc_order check), and the time from each source
 * commit to the target commit that applied it (the cdc.lag histogram). Faults: add_column
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

#define CDC_DRAIN_MS 100  /* the audit slot is read this often */
#define CDC_DRAIN_N 20000 /* changes a read asks for, at most (whole transactions) */
#define CDC_MAX_DS CHG_MAX_TABLES

/* A row change of a source or target table as the audit slot decoded it. */
typedef struct cdc_ev {
    uint64_t seq;     /* commit order: position in the stream */
    int64_t ts;       /* its transaction's commit time, ns (server clock) */
    uint32_t key;     /* key index (cdc_ds.kmap) */
    uint32_t version; /* row_version written; 0 = a delete */
    uint8_t target;   /* 1: target.<table>, 0: public.<table> */
} cdc_ev;

typedef struct cdc_ds {
    size_t ds;        /* dataset index */
    char table[64];   /* source and target table name */
    chg_stream *cs;   /* its stream */
    uint32_t next_tx; /* where the next step goes on */
    /* what the audit slot saw (under cdc_state.mu) */
    cdc_ev *ev;
    size_t nev, capev;
    char **kname;   /* key texts by index */
    uint32_t *kmap; /* open addressing: 1 + key index, 0 = empty */
    size_t nkeys, capk;
    uint64_t truncates, keyless;
} cdc_ds;

typedef struct cdc_state {
    replay_site *site;
    PGconn *admin, *admin2;
    char name[64];  /* slot and publication */
    char audit[64]; /* the harness's own test_decoding slot */
    bool slot_made, pub_made;
    cdc_ds ds[CDC_MAX_DS];
    size_t nds;
    /* the audit slot's reader */
    pthread_t th;
    bool th_on;
    atomic_bool stop;
    pthread_mutex_t mu;
    PGconn *dconn; /* the admin's session that reads the slot (under mu) */
    cdc_ev *tx;    /* the open transaction's changes (ds in .target's high bits: see tx_ds) */
    uint8_t *tx_ds;
    size_t ntx, captx;
    uint64_t seq;
    uint64_t done_lsn; /* end of the last transaction kept (a COMMIT row's lsn) */
    uint64_t adv_lsn;  /* where the slot was last advanced to */
    bool slot_lost;
    bool slot_moved; /* its confirmed position passed adv_lsn: another session consumed it */
    char error[256];
    uint64_t drains;
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

/* ---- the audit slot: what the solution applied, from the WAL ---- */

static uint64_t hash_str(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* The index of key text s[0..n) in d, added when new; UINT32_MAX on no memory. */
static uint32_t key_index(cdc_ds *d, const char *s, size_t n)
{
    if ((d->nkeys + 1) * 2 > d->capk) {
        size_t nc = d->capk ? d->capk * 2 : 1024;
        uint32_t *nm = hx_calloc(nc, sizeof *nm);
        char **nn = hx_realloc(d->kname, nc * sizeof *nn);
        if (!nm || !nn) {
            hx_free(nm);
            if (nn) d->kname = nn;
            return UINT32_MAX;
        }
        d->kname = nn;
        for (size_t i = 0; i < d->nkeys; i++) {
            size_t j = hash_str(nn[i], strlen(nn[i])) & (nc - 1);
            while (nm[j])
                j = (j + 1) & (nc - 1);
            nm[j] = (uint32_t)i + 1;
        }
        hx_free(d->kmap);
        d->kmap = nm;
        d->capk = nc;
    }
    size_t j = hash_str(s, n) & (d->capk - 1);
    for (; d->kmap[j]; j = (j + 1) & (d->capk - 1)) {
        const char *k = d->kname[d->kmap[j] - 1];
        if (strlen(k) == n && memcmp(k, s, n) == 0) return d->kmap[j] - 1;
    }
    char *k = hx_malloc(n + 1);
    if (!k) return UINT32_MAX;
    memcpy(k, s, n);
    k[n] = '\0';
    d->kname[d->nkeys] = k;
    d->kmap[j] = (uint32_t)++d->nkeys;
    return (uint32_t)d->nkeys - 1;
}

/* One value of test_decoding's tuple text at *p ("name[type]:value ..."): the column's name and
 * its value (unquoted) into name and val; *p moves past it. Returns false at the end. */
static bool next_column(const char **p, hx_buf *name, hx_buf *val, bool *null)
{
    const char *s = *p;
    while (*s == ' ')
        s++;
    if (!*s) return false;
    hx_buf_clear(name);
    hx_buf_clear(val);
    if (*s == '"') {
        for (s++; *s; s++) {
            if (*s == '"' && s[1] == '"')
                s++;
            else if (*s == '"')
                break;
            hx_buf_putc(name, *s);
        }
        if (*s) s++;
    } else {
        for (; *s && *s != '['; s++)
            hx_buf_putc(name, *s);
    }
    const char *t = strstr(s, "]:");
    if (*s != '[' || !t) return false;
    s = t + 2;
    *null = false;
    if (*s == '\'') {
        for (s++; *s; s++) {
            if (*s == '\'' && s[1] == '\'')
                s++;
            else if (*s == '\'')
                break;
            hx_buf_putc(val, *s);
        }
        if (*s) s++;
    } else {
        const char *e = strchr(s, ' ');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        *null = n == 4 && memcmp(s, "null", 4) == 0;
        hx_buf_append(val, s, n);
        s += n;
    }
    *p = s;
    return true;
}

/* "2026-12-06 15:04:18.123456+00" (the session's TimeZone is UTC) -> ns since the epoch. */
static int64_t parse_ts(const char *s)
{
    struct tm tm = {0};
    int n = 0;
    if (sscanf(s, "%d-%d-%d %d:%d:%d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t ns = 0, scale = 100000000;
    s += n;
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
            ns += (*s - '0') * scale;
    int64_t off = 0;
    if (*s == '+' || *s == '-') {
        int hh = 0, mm = 0;
        sscanf(s + 1, "%2d:%2d", &hh, &mm);
        off = (*s == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
    }
    return ((int64_t)timegm(&tm) - off) * 1000000000 + ns;
}

static cdc_ds *ds_named(cdc_state *st, const char *name, size_t n)
{
    for (size_t i = 0; i < st->nds; i++)
        if (strlen(st->ds[i].table) == n && memcmp(st->ds[i].table, name, n) == 0)
            return &st->ds[i];
    return NULL;
}

static void tx_add(cdc_state *st, cdc_ds *d, cdc_ev ev)
{
    if (st->ntx == st->captx) {
        size_t nc = st->captx ? st->captx * 2 : 256;
        cdc_ev *nv = hx_realloc(st->tx, nc * sizeof *nv);
        uint8_t *nd = nv ? hx_realloc(st->tx_ds, nc) : NULL;
        if (nv) st->tx = nv;
        if (!nd) return;
        st->tx_ds = nd;
        st->captx = nc;
    }
    st->tx[st->ntx] = ev;
    st->tx_ds[st->ntx++] = (uint8_t)(d - st->ds);
}

/* One line of test_decoding: BEGIN, COMMIT (at ...), or "table s.t: OP: tuple". */
static uint64_t parse_lsn(const char *s)
{
    unsigned hi = 0, lo = 0;
    return sscanf(s, "%X/%X", &hi, &lo) == 2 ? (uint64_t)hi << 32 | lo : 0;
}

static void decode_line(cdc_state *st, uint64_t lsn, const char *line, hx_buf *name, hx_buf *val)
{
    if (!strncmp(line, "BEGIN", 5)) {
        st->ntx = 0;
        return;
    }
    if (!strncmp(line, "COMMIT", 6)) {
        /* a transaction seen before (read again after a server restart): dropped */
        if (lsn <= st->done_lsn) {
            st->ntx = 0;
            return;
        }
        st->done_lsn = lsn;
        const char *at = strstr(line, "(at ");
        int64_t ts = at ? parse_ts(at + 4) : 0;
        for (size_t i = 0; i < st->ntx; i++) {
            cdc_ds *d = &st->ds[st->tx_ds[i]];
            if (d->nev == d->capev) {
                size_t nc = d->capev ? d->capev * 2 : 4096;
                cdc_ev *nv = hx_realloc(d->ev, nc * sizeof *nv);
                if (!nv) continue;
                d->ev = nv;
                d->capev = nc;
            }
            cdc_ev ev = st->tx[i];
            ev.ts = ts;
            ev.seq = st->seq++;
            d->ev[d->nev++] = ev;
        }
        st->ntx = 0;
        return;
    }
    if (strncmp(line, "table ", 6)) return;
    const char *p = line + 6, *colon = strstr(p, ": ");
    if (!colon) return;
    const char *op = colon + 2;
    if (!strncmp(op, "TRUNCATE:", 9)) {
        /* "table a.x, b.y: TRUNCATE: ..." */
        for (const char *q = p; q < colon;) {
            const char *e = q;
            while (e < colon && *e != ',')
                e++;
            if (e - q > 7 && !memcmp(q, "target.", 7)) {
                cdc_ds *d = ds_named(st, q + 7, (size_t)(e - q - 7));
                if (d) d->truncates++;
            }
            q = e < colon ? e + 2 : colon;
        }
        return;
    }
    bool tgt = colon - p > 7 && !memcmp(p, "target.", 7);
    bool src = colon - p > 7 && !memcmp(p, "public.", 7);
    if (!tgt && !src) return;
    cdc_ds *d = ds_named(st, p + 7, (size_t)(colon - p - 7));
    if (!d) return;
    bool del = !strncmp(op, "DELETE:", 7);
    if (!del && strncmp(op, "INSERT:", 7) && strncmp(op, "UPDATE:", 7)) return;
    const char *t = op + 7, *nt = strstr(t, "new-tuple:");
    if (nt) t = nt + 10;
    const plan_dataset *pd = d->cs->d;
    const char *kn = pd->cols[pd->key_col].name;
    uint32_t key = UINT32_MAX;
    int64_t version = -1;
    bool null;
    while (next_column(&t, name, val, &null)) {
        if (!name->data) continue;
        if (!strcmp(name->data, kn) && !null)
            key = key_index(d, val->data ? val->data : "", val->len);
        else if (!strcmp(name->data, "row_version") && !null && val->data)
            version = strtoll(val->data, NULL, 10);
    }
    if (key == UINT32_MAX) {
        if (del && tgt) d->keyless++;
        return;
    }
    if (!del && (version < 1 || version > UINT32_MAX)) return;
    tx_add(st, d, (cdc_ev){.key = key, .version = del ? 0 : (uint32_t)version, .target = tgt});
}

/* Whether someone else moved the audit slot (under mu): the scenario role has REPLICATION, and a
 * REPLICATION role may advance, consume or drop any slot of its database; only the harness moves
 * this one (to adv_lsn), so a confirmed position past that means changes read by someone else,
 * which the audit never sees. */
static void check_moved(cdc_state *st)
{
    if (!st->dconn) return;
    const char *params[] = {st->audit};
    PGresult *pos = PQexecParams(st->dconn,
                                 "SELECT confirmed_flush_lsn::text FROM "
                                 "pg_catalog.pg_replication_slots WHERE slot_name = $1",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(pos) == PGRES_TUPLES_OK && PQntuples(pos) == 0) st->slot_lost = true;
    if (PQresultStatus(pos) == PGRES_TUPLES_OK && PQntuples(pos) == 1 &&
        parse_lsn(PQgetvalue(pos, 0, 0)) > st->adv_lsn)
        st->slot_moved = true;
    PQclear(pos);
}

/* Read what the audit slot holds (under mu). Returns the rows read, or -1. The slot is peeked
 * and then advanced past what was kept: pg_logical_slot_get_changes() moves the slot before its
 * rows reach the client, and a server restart (fault pg_restart) in between would lose them. */
static long drain_once(cdc_state *st)
{
    if (st->slot_lost) return -1;
    if (!st->dconn || PQstatus(st->dconn) != CONNECTION_OK) {
        if (st->dconn) PQfinish(st->dconn);
        st->dconn = NULL;
        hx_err e = {0};
        if (pgsvc_connect_admin(st->site->pg, st->site->dbname, &st->dconn, &e) != 0) {
            snprintf(st->error, sizeof st->error, "%.200s", e.msg);
            return -1;
        }
        PQclear(PQexec(st->dconn, "SET TimeZone = 'UTC'"));
        sync_commit(st->dconn);
    }
    char upto[16];
    snprintf(upto, sizeof upto, "%d", CDC_DRAIN_N);
    const char *params[] = {st->audit, upto};
    PGresult *r = PQexecParams(st->dconn,
                               "SELECT lsn::text, data FROM "
                               "pg_catalog.pg_logical_slot_peek_changes($1, NULL, "
                               "$2::int, 'include-xids', '0', 'include-timestamp', '1', "
                               "'skip-empty-xacts', '1')",
                               2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (state && !strcmp(state, "42704")) st->slot_lost = true; /* undefined_object */
        snprintf(st->error, sizeof st->error, "%s", PQerrorMessage(st->dconn));
        st->error[strcspn(st->error, "\n")] = '\0';
        PQclear(r);
        return -1;
    }
    st->error[0] = '\0';
    st->drains++;
    /* After the peek: the peek held the slot, so a move before it shows here. */
    check_moved(st);
    hx_buf name, val;
    hx_buf_init(&name);
    hx_buf_init(&val);
    long n = PQntuples(r);
    for (long i = 0; i < n; i++)
        decode_line(st, parse_lsn(PQgetvalue(r, (int)i, 0)), PQgetvalue(r, (int)i, 1), &name, &val);
    hx_buf_release(&name);
    hx_buf_release(&val);
    PQclear(r);
    if (st->done_lsn > st->adv_lsn) {
        char to[32];
        snprintf(to, sizeof to, "%X/%X", (unsigned)(st->done_lsn >> 32), (unsigned)st->done_lsn);
        const char *ap[] = {st->audit, to};
        r = PQexecParams(st->dconn, "SELECT pg_catalog.pg_replication_slot_advance($1, $2::pg_lsn)",
                         2, NULL, ap, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            st->adv_lsn = st->done_lsn;
        } else {
            const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            if (state && !strcmp(state, "42704")) st->slot_lost = true;
            /* Moved past done_lsn between the peek and here: that refuses our advance, and the
             * changes in between were never read; the last drain of a run has no next peek to
             * see it, so look now. */
            check_moved(st);
            n = -1; /* read again next time: the kept transactions are skipped */
        }
        PQclear(r);
    }
    return n;
}

/* Read the slot to its end (under mu). Decoding stops at the WAL flushed to disk, and the
 * embedded server commits asynchronously (the solution's last commits may wait for the WAL
 * writer): flush first, with a transaction of our own that writes WAL (a logical message: a
 * transaction that only took an xid commits asynchronously whatever synchronous_commit says) and
 * commits synchronously. */
static void drain_all(cdc_state *st, bool flush)
{
    if (flush && st->dconn && PQstatus(st->dconn) == CONNECTION_OK)
        PQclear(PQexec(st->dconn, "SELECT pg_catalog.pg_logical_emit_message(true, 'hx_audit', "
                                  "'')"));
    for (int i = 0; i < 1000 && drain_once(st) >= CDC_DRAIN_N; i++)
        ;
}

static void sleep_until(int64_t t)
{
    int64_t d = t - hx_now_ns();
    if (d <= 0) return;
    struct timespec ts = {.tv_sec = d / 1000000000, .tv_nsec = d % 1000000000};
    nanosleep(&ts, NULL);
}

static void *reader(void *arg)
{
    cdc_state *st = arg;
    while (!atomic_load(&st->stop)) {
        int64_t t0 = hx_now_ns();
        pthread_mutex_lock(&st->mu);
        drain_all(st, false);
        pthread_mutex_unlock(&st->mu);
        sleep_until(t0 + CDC_DRAIN_MS * 1000000LL);
    }
    return NULL;
}

static void reader_stop(cdc_state *st)
{
    if (!st->th_on) return;
    atomic_store(&st->stop, true);
    pthread_join(st->th, NULL);
    st->th_on = false;
}

static int ev_cmp(const void *a, const void *b)
{
    const cdc_ev *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void problem(chg_seen_table *t, cdc_ds *d, chg_problem k, uint32_t key, int64_t a, int64_t b,
                    uint64_t count)
{
    t->count[k] += count;
    if (t->nsample[k] < CHG_MAX_SAMPLES) {
        chg_sample *s = &t->sample[k][t->nsample[k]++];
        snprintf(s->key, sizeof s->key, "%s", d->kname[key]);
        s->a = a;
        s->b = b;
    }
}

/* One key's changes e[0..n) (source and target, in commit order): match each source change with
 * the target's first application of it (lag), and find the target's problems. */
static void audit_key(cdc_state *st, cdc_ds *d, chg_seen_table *t, const cdc_ev *e, size_t n,
                      hist *lag)
{
    /* the source's writes by version (consecutive from the first), its deletes after version v */
    uint32_t vmax = 0;
    for (size_t i = 0; i < n; i++)
        if (!e[i].target && e[i].version > vmax) vmax = e[i].version;
    int64_t *wts = hx_calloc((size_t)vmax + 2, sizeof *wts); /* source write time, 0 = none */
    int64_t *dts = hx_calloc((size_t)vmax + 2, sizeof *dts); /* source delete of v: its time */
    uint8_t *done = hx_calloc((size_t)vmax + 2, 2);          /* applied: bit 0 write, 1 delete */
    if (!wts || !dts || !done) goto out;
    uint32_t cur = 0;
    for (size_t i = 0; i < n; i++) {
        if (e[i].target) continue;
        t->src_changes++;
        if (e[i].version) {
            cur = e[i].version;
            wts[cur] = e[i].ts;
        } else if (cur) {
            dts[cur] = e[i].ts;
        }
    }
    uint32_t hi = 0, held = 0; /* highest version written; the version the target row holds */
    int64_t times = 0;         /* writes of hi */
    for (size_t i = 0; i < n; i++) {
        if (!e[i].target) continue;
        t->applied++;
        uint32_t v = e[i].version;
        if (!v) { /* a delete of the row holding `held` */
            if (held && held <= vmax && dts[held] && !(done[held] & 2)) {
                done[held] |= 2;
                hist_record(lag, e[i].ts - dts[held] > 0 ? e[i].ts - dts[held] : 1);
            }
            held = 0;
            continue;
        }
        held = v;
        if (v < hi) {
            problem(t, d, CHG_OUT_OF_ORDER, e[i].key, v, hi, 1);
            continue;
        }
        if (v == hi) {
            times++;
            continue;
        }
        if (times > 1) problem(t, d, CHG_DOUBLED, e[i].key, hi, times, 1);
        if (v > hi + 1) problem(t, d, CHG_LOST, e[i].key, hi + 1, v - 1, v - hi - 1);
        hi = v;
        times = 1;
        if (v <= vmax && wts[v] && !(done[v] & 1)) {
            done[v] |= 1;
            hist_record(lag, e[i].ts - wts[v] > 0 ? e[i].ts - wts[v] : 1);
        }
    }
    if (times > 1) problem(t, d, CHG_DOUBLED, e[0].key, hi, times, 1);
    if (vmax > hi) problem(t, d, CHG_LOST, e[0].key, hi + 1, vmax, vmax - hi);
    for (uint32_t v = 1; v <= vmax; v++) {
        if (dts[v] && !(done[v] & 2)) problem(t, d, CHG_LOST_DELETE, e[0].key, v, 0, 1);
        st->obs.seen += (wts[v] && (done[v] & 1)) + (dts[v] && (done[v] & 2));
        st->obs.unseen += (wts[v] && !(done[v] & 1)) + (dts[v] && !(done[v] & 2));
    }
out:
    hx_free(wts);
    hx_free(dts);
    hx_free(done);
}

/* Read the slot to its end and audit every key into st->obs and st->lag (the caller's thread). */
static void audit(cdc_state *st)
{
    pthread_mutex_lock(&st->mu);
    drain_once(st); /* connects */
    drain_all(st, true);
    check_moved(st); /* a move after the last peek took changes it never read */
    hist_clear(&st->lag);
    chg_observed *o = &st->obs;
    for (size_t i = 0; i < st->nds; i++) {
        chg_seen_table *t = &o->tables[i];
        char keep[64];
        memcpy(keep, t->table, sizeof keep);
        char persistence = t->persistence;
        memset(t, 0, sizeof *t);
        memcpy(t->table, keep, sizeof keep);
        t->persistence = persistence;
    }
    o->seen = o->unseen = o->regressions = 0;
    for (size_t i = 0; i < st->nds; i++) {
        cdc_ds *d = &st->ds[i];
        chg_seen_table *t = &o->tables[i];
        qsort(d->ev, d->nev, sizeof *d->ev, ev_cmp);
        for (size_t a = 0; a < d->nev;) {
            size_t b = a;
            while (b < d->nev && d->ev[b].key == d->ev[a].key)
                b++;
            audit_key(st, d, t, d->ev + a, b - a, &st->lag);
            a = b;
        }
        t->truncates = d->truncates;
        t->keyless = d->keyless;
        o->regressions += t->count[CHG_OUT_OF_ORDER];
        /* the target table's persistence: an unlogged or temporary one writes no WAL */
        char *lit = PQescapeLiteral(st->dconn, d->table, strlen(d->table));
        char *sql = lit ? hx_asprintf("SELECT c.relpersistence FROM pg_catalog.pg_class c JOIN "
                                      "pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE "
                                      "n.nspname = 'target' AND c.relname = %s",
                                      lit)
                        : NULL;
        PGresult *r = sql && st->dconn ? PQexec(st->dconn, sql) : NULL;
        if (PQresultStatus(r) == PGRES_TUPLES_OK)
            t->persistence = PQntuples(r) ? PQgetvalue(r, 0, 0)[0] : 0;
        PQclear(r);
        hx_free(sql);
        PQfreemem(lit);
    }
    o->polls = st->drains;
    o->slot_lost = st->slot_lost;
    o->slot_moved = st->slot_moved;
    snprintf(o->error, sizeof o->error, "%s", st->error);
    o->ran = true;
    pthread_mutex_unlock(&st->mu);
}

/* ---- setup ---- */

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
    snprintf(st->audit, sizeof st->audit, "hxa_%.59s", site->dbname);
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
    /* the harness's own slot (test_decoding), before the solution starts: what the solution
     * applies to target.<table> is read from it, with the source's changes and commit times */
    lit = PQescapeLiteral(st->admin, st->audit, strlen(st->audit));
    sql = lit ? hx_asprintf("SELECT lsn::text FROM pg_catalog.pg_create_logical_replication_slot("
                            "%s, 'test_decoding')",
                            lit)
              : NULL;
    if (!rc && !sql) rc = oom(e);
    if (!rc) {
        /* where it starts: the slot's confirmed position, which only the harness moves */
        PGresult *r = PQexec(st->admin, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
            st->adv_lsn = parse_lsn(PQgetvalue(r, 0, 0));
        } else {
            char msg[600];
            snprintf(msg, sizeof msg, "%s", PQerrorMessage(st->admin));
            msg[strcspn(msg, "\n")] = '\0';
            rc = hx_fail(e, HX_EINFRA, "change data capture setup: %s: %s", sql, msg);
        }
        PQclear(r);
    }
    hx_free(sql);
    PQfreemem(lit);
    if (!rc) {
        if (pthread_create(&st->th, NULL, reader, st) == 0)
            st->th_on = true;
        else
            rc = hx_fail(e, HX_EINFRA, "cannot start the reader of the audit slot");
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
    replay_chg o = {.conn = st->admin,
                    .conn2 = st->admin2,
                    .g = site->g,
                    .cs = d->cs,
                    .table = d->table,
                    .rate = ps->rate,
                    .on_commit = NULL,
                    .ud = NULL};
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
        if (!rc && site->conn) {
            PQreset(site->conn);
            pgsvc_note_session(site->conn);
        }
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
    audit(st);
    return &st->obs;
}

static void cdc_metrics(replay_site *site, void *state, replay_hist_fn add_hist,
                        replay_metric_fn add_metric, void *ud)
{
    (void)site;
    cdc_state *st = state;
    if (!st) return;
    reader_stop(st);
    audit(st);
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
    reader_stop(st);
    if (st->dconn) PQfinish(st->dconn);
    st->dconn = NULL;
    drop_slot(st);
    if (st->admin) PQfinish(st->admin);
    if (st->admin2) PQfinish(st->admin2);
    for (size_t i = 0; i < st->nds; i++) {
        chg_stream_free(st->ds[i].cs);
        hx_free(st->ds[i].ev);
        for (size_t k = 0; k < st->ds[i].nkeys; k++)
            hx_free(st->ds[i].kname[k]);
        hx_free(st->ds[i].kname);
        hx_free(st->ds[i].kmap);
    }
    hx_free(st->tx);
    hx_free(st->tx_ds);
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
