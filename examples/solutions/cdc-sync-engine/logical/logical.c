/* logical.c - the cdc-sync-engine reference solution: a logical-replication consumer.
 *
 * It streams the scenario's slot ($HARNESS_CDC_SLOT) with the pgoutput plugin over libpq's
 * replication protocol (a `replication=database` connection, START_REPLICATION ... LOGICAL) and
 * mirrors every published table public.<t> into <target schema>.<t> of the same database:
 *
 * - Tables are created from the Relation messages (column types by format_type() of the type OID
 *   and modifier the message carries, the replica identity key as primary key); a Relation
 *   message that shows a new column adds it (ALTER TABLE ... ADD COLUMN IF NOT EXISTS).
 * - Each source transaction is applied in commit order, in one target transaction together with
 *   its position (the commit's end LSN) in <target schema>._cdc_position; consecutive source
 *   transactions already received are grouped into one target transaction (the position is then
 *   the last one's), which keeps the lag low under a fast stream without giving up atomicity.
 * - Only after the target COMMIT returned is that LSN reported as flushed to the slot (standby
 *   status update), so the slot never forgets a change the target does not hold.
 * - On start it reads the saved position and starts the stream there; a transaction whose commit
 *   lies below it was applied before and is skipped. A SIGKILL at any moment therefore loses
 *   nothing and applies nothing twice.
 * - Updates carry only the changed values of TOASTed columns: an unchanged one ('u') keeps the
 *   target's value (the UPDATE leaves it out).
 * - A lost connection (the source restarted, the slot still held by the walsender of a killed
 *   predecessor) is retried from the saved position for up to 120 s.
 *
 * Environment: DATABASE_URL (or the PG* variables), HARNESS_CDC_SLOT, HARNESS_CDC_PUBLICATION,
 * HARNESS_CDC_TARGET_SCHEMA (default "target"). Prints "streaming from <lsn>" once the stream is
 * open. Ends on SIGTERM after committing the complete transactions it holds. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include <libpq-fe.h>

#define RETRY_SECONDS 120      /* give up after this long without a working session */
#define STATUS_EVERY_MS 1000   /* standby status update at least this often */
#define GROUP_BYTES (1u << 20) /* flush a group of transactions at this much SQL */
#define GROUP_TXNS 500         /* ... or this many source transactions */

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("logical: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        say("out of memory");
        exit(3);
    }
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* A growing string: the SQL of the transactions not yet committed to the target. */
typedef struct {
    char *s;    /* NUL-terminated text */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
} sbuf;

static void sb_addn(sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            say("out of memory");
            exit(3);
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void sb_add(sbuf *b, const char *s)
{
    sb_addn(b, s, strlen(s));
}

/* A big-endian reader over one message; `bad` is set on a read past the end. */
typedef struct {
    const unsigned char *p;   /* next byte */
    const unsigned char *end; /* one past the last */
    bool bad;                 /* a read ran past the end */
} rd;

static uint64_t rd_int(rd *r, int bytes)
{
    uint64_t v = 0;
    if (r->end - r->p < bytes) {
        r->bad = true;
        r->p = r->end;
        return 0;
    }
    for (int i = 0; i < bytes; i++)
        v = v << 8 | *r->p++;
    return v;
}

static const char *rd_str(rd *r)
{
    const unsigned char *z = memchr(r->p, 0, (size_t)(r->end - r->p));
    if (!z) {
        r->bad = true;
        r->p = r->end;
        return "";
    }
    const char *s = (const char *)r->p;
    r->p = z + 1;
    return s;
}

/* One column of a relation as the last Relation message described it. */
typedef struct {
    char *qname; /* quoted identifier */
    char *type;  /* format_type() of its type */
    bool key;    /* part of the replica identity */
} col;

/* A published relation: the cache is per session (a new walsender sends every Relation again). */
typedef struct {
    uint32_t relid; /* the source's OID */
    char *qtable;   /* "<target schema>"."<name>" */
    char *name;     /* its plain name, for messages */
    int ncols;      /* columns */
    col *cols;      /* [ncols] */
    bool ensured;   /* the target has been given these columns in this session */
} rel;

/* One tuple of a change message: values point into the message. */
typedef struct {
    int n;               /* columns */
    char kind[1600];     /* 'n' null, 'u' unchanged TOAST, 't' text */
    const char *v[1600]; /* the text value ('t') */
    uint32_t len[1600];  /* its length */
} tuple;

/* The session: two connections, the relation cache, the group of transactions being built. */
typedef struct {
    PGconn *apply;      /* ordinary connection: writes the target */
    PGconn *repl;       /* replication connection: the stream */
    const char *schema; /* target schema name */
    char *qschema;      /* quoted */
    const char *slot;   /* slot name */
    rel *rels;          /* relation cache */
    int nrels;          /* entries */
    sbuf sql;           /* SQL of the group not yet committed */
    int group_txns;     /* complete source transactions in sql */
    size_t group_len;   /* bytes of sql up to the end of the last complete one */
    uint64_t group_end; /* end LSN of the last complete one */
    bool in_txn;        /* between Begin and Commit */
    bool skip;          /* the current transaction was applied before */
    uint64_t saved;     /* position committed in the target */
    uint64_t idle;      /* a server position below which everything was applied (keepalive) */
    uint64_t received;  /* highest WAL position received */
    struct timespec last_status; /* when the last status update went out */
} sess;

static char *lsn_text(uint64_t lsn, char *buf, size_t n)
{
    snprintf(buf, n, "%" PRIX64 "/%" PRIX64, lsn >> 32, lsn & 0xffffffffu);
    return buf;
}

static bool lsn_parse(const char *s, uint64_t *out)
{
    unsigned int hi, lo;
    if (sscanf(s, "%X/%X", &hi, &lo) != 2) return false;
    *out = (uint64_t)hi << 32 | lo;
    return true;
}

static long ms_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static PGconn *connect_db(bool replication)
{
    const char *url = getenv("DATABASE_URL");
    const char *keys[4], *vals[4];
    int n = 0;
    if (url && *url) keys[n] = "dbname", vals[n++] = url;
    if (replication) keys[n] = "replication", vals[n++] = "database";
    keys[n] = "application_name", vals[n++] = "cdc-logical";
    keys[n] = NULL, vals[n] = NULL;
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(c) != CONNECTION_OK) {
        say("connect%s: %s", replication ? " (replication)" : "", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* Run one statement on the apply connection; false (and a message) unless it succeeded. */
static bool exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) say("%.200s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    return ok;
}

static char *quote_ident(PGconn *c, const char *s)
{
    char *q = PQescapeIdentifier(c, s, strlen(s));
    if (!q) {
        say("cannot quote '%s': %s", s, PQerrorMessage(c));
        exit(3);
    }
    char *out = xstrndup(q, strlen(q));
    PQfreemem(q);
    return out;
}

static void add_literal(sess *s, const char *v, size_t n)
{
    char *q = PQescapeLiteral(s->apply, v, n);
    if (!q) {
        say("cannot quote a value: %s", PQerrorMessage(s->apply));
        exit(3);
    }
    sb_add(&s->sql, q);
    PQfreemem(q);
}

static void rel_release(rel *r)
{
    for (int i = 0; i < r->ncols; i++) {
        free(r->cols[i].qname);
        free(r->cols[i].type);
    }
    free(r->cols);
    free(r->qtable);
    free(r->name);
    memset(r, 0, sizeof *r);
}

static rel *rel_find(sess *s, uint32_t relid)
{
    for (int i = 0; i < s->nrels; i++)
        if (s->rels[i].relid == relid) return &s->rels[i];
    return NULL;
}

/* The type's SQL name as the source's catalog spells it (numeric(12,2), timestamp with time
 * zone, ...). */
static char *type_name(sess *s, uint32_t oid, int32_t typmod)
{
    char a[16], b[16];
    snprintf(a, sizeof a, "%" PRIu32, oid);
    snprintf(b, sizeof b, "%" PRId32, typmod);
    const char *v[2] = {a, b};
    PGresult *r =
        PQexecParams(s->apply, "SELECT format_type($1::oid, $2::int)", 2, NULL, v, NULL, NULL, 0);
    char *out = NULL;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        out = xstrndup(PQgetvalue(r, 0, 0), strlen(PQgetvalue(r, 0, 0)));
    else
        say("type of oid %s: %s", a, PQerrorMessage(s->apply));
    PQclear(r);
    return out;
}

/* Relation: replace the cached description; the target learns it before the next change. */
static bool on_relation(sess *s, rd *m)
{
    uint32_t relid = (uint32_t)rd_int(m, 4);
    rd_str(m); /* namespace: every source table is mirrored into the one target schema */
    const char *name = rd_str(m);
    rd_int(m, 1); /* replica identity setting */
    int ncols = (int)rd_int(m, 2);
    if (m->bad || ncols < 0 || ncols > 1600) return say("malformed Relation message"), false;
    rel nr = {.relid = relid, .name = xstrndup(name, strlen(name)), .ncols = ncols};
    nr.cols = xmalloc(sizeof(col) * (size_t)(ncols ? ncols : 1));
    char *qt = quote_ident(s->apply, name);
    size_t qn = strlen(s->qschema) + strlen(qt) + 2;
    nr.qtable = xmalloc(qn);
    snprintf(nr.qtable, qn, "%s.%s", s->qschema, qt);
    free(qt);
    int made = 0;
    bool ok = true;
    for (int i = 0; i < ncols && ok; i++) {
        int flags = (int)rd_int(m, 1);
        const char *cname = rd_str(m);
        uint32_t oid = (uint32_t)rd_int(m, 4);
        int32_t typmod = (int32_t)(uint32_t)rd_int(m, 4);
        if (m->bad) {
            say("malformed Relation message");
            ok = false;
            break;
        }
        nr.cols[i].qname = quote_ident(s->apply, cname);
        nr.cols[i].key = flags & 1;
        nr.cols[i].type = type_name(s, oid, typmod);
        made++;
        if (!nr.cols[i].type) ok = false;
    }
    nr.ncols = made;
    if (!ok) {
        rel_release(&nr);
        return false;
    }
    rel *old = rel_find(s, relid);
    if (old) {
        rel_release(old);
        *old = nr;
    } else {
        rel *p = realloc(s->rels, sizeof(rel) * (size_t)(s->nrels + 1));
        if (!p) return say("out of memory"), false;
        s->rels = p;
        s->rels[s->nrels++] = nr;
    }
    return true;
}

/* Before the first change of a relation in this session (and after each Relation message), the
 * group's SQL makes sure the target table and every column exist. */
static void ensure_table(sess *s, rel *r)
{
    if (r->ensured) return;
    sb_add(&s->sql, "CREATE TABLE IF NOT EXISTS ");
    sb_add(&s->sql, r->qtable);
    sb_add(&s->sql, " (");
    for (int i = 0; i < r->ncols; i++) {
        if (i) sb_add(&s->sql, ", ");
        sb_add(&s->sql, r->cols[i].qname);
        sb_add(&s->sql, " ");
        sb_add(&s->sql, r->cols[i].type);
    }
    sb_add(&s->sql, ", PRIMARY KEY (");
    for (int i = 0, k = 0; i < r->ncols; i++)
        if (r->cols[i].key) {
            if (k++) sb_add(&s->sql, ", ");
            sb_add(&s->sql, r->cols[i].qname);
        }
    sb_add(&s->sql, "));\n");
    for (int i = 0; i < r->ncols; i++) {
        if (r->cols[i].key) continue;
        sb_add(&s->sql, "ALTER TABLE ");
        sb_add(&s->sql, r->qtable);
        sb_add(&s->sql, " ADD COLUMN IF NOT EXISTS ");
        sb_add(&s->sql, r->cols[i].qname);
        sb_add(&s->sql, " ");
        sb_add(&s->sql, r->cols[i].type);
        sb_add(&s->sql, ";\n");
    }
    r->ensured = true;
}

static bool read_tuple(rd *m, tuple *t)
{
    t->n = (int)rd_int(m, 2);
    if (m->bad || t->n > 1600) return false;
    for (int i = 0; i < t->n; i++) {
        t->kind[i] = (char)rd_int(m, 1);
        t->v[i] = NULL;
        t->len[i] = 0;
        if (t->kind[i] == 't') {
            t->len[i] = (uint32_t)rd_int(m, 4);
            if (m->bad || (size_t)(m->end - m->p) < t->len[i]) return false;
            t->v[i] = (const char *)m->p;
            m->p += t->len[i];
        } else if (t->kind[i] == 'b') {
            return false; /* binary format was not asked for */
        } else if (t->kind[i] != 'n' && t->kind[i] != 'u') {
            return false;
        }
    }
    return !m->bad;
}

static void add_value(sess *s, const tuple *t, int i)
{
    if (t->kind[i] == 't')
        add_literal(s, t->v[i], t->len[i]);
    else
        sb_add(&s->sql, "NULL");
}

/* WHERE key = ... from a tuple holding at least the key columns. */
static void add_where_key(sess *s, const rel *r, const tuple *t)
{
    sb_add(&s->sql, " WHERE ");
    for (int i = 0, k = 0; i < r->ncols && i < t->n; i++)
        if (r->cols[i].key) {
            if (k++) sb_add(&s->sql, " AND ");
            sb_add(&s->sql, r->cols[i].qname);
            sb_add(&s->sql, " = ");
            add_value(s, t, i);
        }
}

/* INSERT ... ON CONFLICT (key) DO UPDATE: an insert, or an update that carries every value. */
static void add_upsert(sess *s, const rel *r, const tuple *t)
{
    sb_add(&s->sql, "INSERT INTO ");
    sb_add(&s->sql, r->qtable);
    sb_add(&s->sql, " (");
    for (int i = 0; i < t->n; i++) {
        if (i) sb_add(&s->sql, ", ");
        sb_add(&s->sql, r->cols[i].qname);
    }
    sb_add(&s->sql, ") VALUES (");
    for (int i = 0; i < t->n; i++) {
        if (i) sb_add(&s->sql, ", ");
        add_value(s, t, i);
    }
    sb_add(&s->sql, ") ON CONFLICT (");
    for (int i = 0, k = 0; i < r->ncols; i++)
        if (r->cols[i].key) {
            if (k++) sb_add(&s->sql, ", ");
            sb_add(&s->sql, r->cols[i].qname);
        }
    int set = 0;
    for (int i = 0; i < t->n; i++) {
        if (r->cols[i].key) continue;
        sb_add(&s->sql, set++ ? ", " : ") DO UPDATE SET ");
        sb_add(&s->sql, r->cols[i].qname);
        sb_add(&s->sql, " = EXCLUDED.");
        sb_add(&s->sql, r->cols[i].qname);
    }
    sb_add(&s->sql, set ? ";\n" : ") DO NOTHING;\n");
}

/* Insert, Update, Delete: one statement appended to the group. */
static bool on_change(sess *s, char type, rd *m)
{
    static tuple old, nt; /* large: kept off the stack */
    uint32_t relid = (uint32_t)rd_int(m, 4);
    rel *r = rel_find(s, relid);
    if (!r) return say("change for relation %" PRIu32 " before its Relation message", relid), false;
    int tag = (int)rd_int(m, 1);
    bool has_old = false;
    if (type == 'U' && (tag == 'K' || tag == 'O')) {
        if (!read_tuple(m, &old)) return say("malformed Update message"), false;
        has_old = true;
        tag = (int)rd_int(m, 1);
    }
    if ((type == 'D' && tag != 'K' && tag != 'O') || (type != 'D' && tag != 'N'))
        return say("malformed %c message (tuple tag %d)", type, tag), false;
    if (!read_tuple(m, &nt)) return say("malformed %c message", type), false;
    if (nt.n > r->ncols) return say("tuple of %s wider than its Relation", r->name), false;
    if (s->skip) return true;
    bool keyed = false;
    for (int i = 0; i < r->ncols; i++)
        keyed |= r->cols[i].key;
    if (!keyed) return say("table %s has no replica identity key", r->name), false;
    ensure_table(s, r);
    if (type == 'D') {
        sb_add(&s->sql, "DELETE FROM ");
        sb_add(&s->sql, r->qtable);
        add_where_key(s, r, &nt);
        sb_add(&s->sql, ";\n");
        return true;
    }
    bool unchanged = false;
    for (int i = 0; i < nt.n; i++)
        unchanged |= nt.kind[i] == 'u';
    if (type == 'I' || (!unchanged && !has_old)) {
        add_upsert(s, r, &nt);
        return true;
    }
    /* An update with unchanged TOAST values, or one that changed the key: set what it carries,
     * find the row by the old key when there is one. */
    sb_add(&s->sql, "UPDATE ");
    sb_add(&s->sql, r->qtable);
    int set = 0;
    for (int i = 0; i < nt.n; i++) {
        if (nt.kind[i] == 'u') continue;
        sb_add(&s->sql, set++ ? ", " : " SET ");
        sb_add(&s->sql, r->cols[i].qname);
        sb_add(&s->sql, " = ");
        add_value(s, &nt, i);
    }
    if (!set) return say("update of %s carries no value", r->name), false;
    add_where_key(s, r, has_old ? &old : &nt);
    sb_add(&s->sql, ";\n");
    return true;
}

static bool on_truncate(sess *s, rd *m)
{
    int n = (int)rd_int(m, 4);
    rd_int(m, 1); /* CASCADE / RESTART IDENTITY: the target has neither dependents nor sequences */
    for (int i = 0; i < n && !m->bad; i++) {
        rel *r = rel_find(s, (uint32_t)rd_int(m, 4));
        if (!r) return say("Truncate of an unknown relation"), false;
        if (s->skip) continue;
        ensure_table(s, r);
        sb_add(&s->sql, "TRUNCATE ");
        sb_add(&s->sql, r->qtable);
        sb_add(&s->sql, ";\n");
    }
    return !m->bad;
}

static bool send_status(sess *s)
{
    char msg[34];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t us = (int64_t)(now.tv_sec - 946684800) * 1000000 + now.tv_nsec / 1000;
    uint64_t flushed = s->idle > s->saved ? s->idle : s->saved;
    uint64_t f[4] = {s->received > flushed ? s->received : flushed, flushed, flushed, (uint64_t)us};
    msg[0] = 'r';
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 8; i++)
            msg[1 + k * 8 + i] = (char)(f[k] >> (56 - 8 * i));
    msg[33] = 0;
    clock_gettime(CLOCK_MONOTONIC, &s->last_status);
    if (PQputCopyData(s->repl, msg, sizeof msg) != 1 || PQflush(s->repl) != 0) {
        say("status update: %s", PQerrorMessage(s->repl));
        return false;
    }
    return true;
}

/* Commit the group: its statements, the position, in one target transaction; then tell the slot. */
static bool flush_group(sess *s)
{
    if (!s->group_txns) return true;
    char lsn[40];
    s->sql.len = s->group_len; /* a transaction still open (on SIGTERM) is left out */
    s->sql.s[s->sql.len] = 0;
    lsn_text(s->group_end, lsn, sizeof lsn);
    sb_add(&s->sql, "INSERT INTO ");
    sb_add(&s->sql, s->qschema);
    sb_add(&s->sql, "._cdc_position (slot, lsn) VALUES (");
    add_literal(s, s->slot, strlen(s->slot));
    sb_add(&s->sql, ", '");
    sb_add(&s->sql, lsn);
    sb_add(&s->sql, "') ON CONFLICT (slot) DO UPDATE SET lsn = EXCLUDED.lsn, applied_at = now();\n"
                    "COMMIT;");
    PGresult *r = PQexec(s->apply, s->sql.s);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) say("applying up to %s: %s", lsn, PQerrorMessage(s->apply));
    PQclear(r);
    if (!ok) return false;
    s->saved = s->group_end;
    s->group_txns = 0;
    s->sql.len = 0;
    s->sql.s[0] = 0;
    return send_status(s);
}

/* One pgoutput message. */
static bool on_message(sess *s, rd *m)
{
    char type = (char)rd_int(m, 1);
    switch (type) {
    case 'B': {
        uint64_t final_lsn = rd_int(m, 8);
        rd_int(m, 8); /* commit time */
        rd_int(m, 4); /* xid */
        s->in_txn = true;
        /* saved is the end of the last applied commit record; a commit that starts before it
         * was applied. */
        s->skip = final_lsn < s->saved;
        if (!s->skip && !s->group_txns) {
            s->sql.len = 0;
            sb_add(&s->sql, "BEGIN;\n");
        }
        return !m->bad;
    }
    case 'C': {
        rd_int(m, 1); /* flags */
        rd_int(m, 8); /* commit LSN */
        uint64_t end = rd_int(m, 8);
        rd_int(m, 8); /* commit time */
        if (m->bad) return false;
        s->in_txn = false;
        if (s->skip) return true;
        s->group_txns++;
        s->group_end = end;
        s->group_len = s->sql.len;
        return true;
    }
    case 'R':
        if (!on_relation(s, m)) return false;
        /* the next change of that table brings its columns to the target */
        return true;
    case 'I':
    case 'U':
    case 'D':
        return on_change(s, type, m);
    case 'T':
        return on_truncate(s, m);
    case 'Y': /* Type: the column types come from format_type() of their OIDs */
    case 'O': /* Origin: nothing to do with it */
    case 'M': /* logical decoding message: not asked for */
        return true;
    default:
        say("unknown pgoutput message '%c'", type);
        return false;
    }
}

/* Group rule: keep adding complete transactions while more are already waiting. */
static bool group_full(const sess *s)
{
    return s->group_txns >= GROUP_TXNS || s->sql.len >= GROUP_BYTES;
}

static void sess_release(sess *s)
{
    for (int i = 0; i < s->nrels; i++)
        rel_release(&s->rels[i]);
    free(s->rels);
    free(s->sql.s);
    free(s->qschema);
    if (s->repl) PQfinish(s->repl);
    if (s->apply) PQfinish(s->apply);
    memset(s, 0, sizeof *s);
}

/* One session: connect, resume, stream until stopped (0) or until something breaks (-1). */
static int session(const char *slot, const char *pub, const char *schema, bool *streamed)
{
    sess s = {.slot = slot, .schema = schema};
    int ret = -1;
    char lsn[40], *q = NULL, *qpub = NULL, *lit = NULL;
    if (!(s.apply = connect_db(false))) goto out;
    /* CREATE ... IF NOT EXISTS says NOTICE on every resume: not news */
    if (!exec_ok(s.apply, "SET client_min_messages = warning")) goto out;
    /* Large values are compressed again on the target: lz4 costs a fraction of pglz (a server
     * built without it keeps its default). */
    PQclear(PQexec(s.apply, "SET default_toast_compression = 'lz4'"));
    s.qschema = quote_ident(s.apply, schema);
    sb_add(&s.sql, "CREATE SCHEMA IF NOT EXISTS ");
    sb_add(&s.sql, s.qschema);
    sb_add(&s.sql, "; CREATE TABLE IF NOT EXISTS ");
    sb_add(&s.sql, s.qschema);
    sb_add(&s.sql, "._cdc_position (slot text PRIMARY KEY, lsn pg_lsn NOT NULL, "
                   "applied_at timestamptz NOT NULL DEFAULT now())");
    if (!exec_ok(s.apply, s.sql.s)) goto out;
    s.sql.len = 0;
    sb_add(&s.sql, "SELECT lsn FROM ");
    sb_add(&s.sql, s.qschema);
    sb_add(&s.sql, "._cdc_position WHERE slot = $1");
    PGresult *r = PQexecParams(s.apply, s.sql.s, 1, NULL, &slot, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        say("reading the saved position: %s", PQerrorMessage(s.apply));
        PQclear(r);
        goto out;
    }
    if (PQntuples(r) == 1 && !lsn_parse(PQgetvalue(r, 0, 0), &s.saved)) {
        say("saved position '%s' is not an LSN", PQgetvalue(r, 0, 0));
        PQclear(r);
        goto out;
    }
    PQclear(r);
    s.sql.len = 0;

    if (!(s.repl = connect_db(true))) goto out;
    q = PQescapeIdentifier(s.repl, slot, strlen(slot));
    qpub = PQescapeIdentifier(s.repl, pub, strlen(pub));
    lit = qpub ? PQescapeLiteral(s.repl, qpub, strlen(qpub)) : NULL;
    if (!q || !lit) {
        say("cannot quote the slot or publication name");
        goto out;
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "START_REPLICATION SLOT %s LOGICAL %s (proto_version '1', publication_names %s)", q,
             lsn_text(s.saved, lsn, sizeof lsn), lit);
    r = PQexec(s.repl, cmd);
    if (PQresultStatus(r) != PGRES_COPY_BOTH) {
        say("%s: %s", cmd, PQerrorMessage(s.repl));
        PQclear(r);
        goto out;
    }
    PQclear(r);
    printf("streaming from %s\n", lsn);
    fflush(stdout);
    *streamed = true;
    clock_gettime(CLOCK_MONOTONIC, &s.last_status);

    while (!stop) {
        char *buf = NULL;
        int n = PQgetCopyData(s.repl, &buf, 1);
        if (n == 0) {
            /* Nothing buffered: commit what is complete, then wait for the socket. */
            if (!s.in_txn && s.group_txns && !flush_group(&s)) goto out;
            if (ms_since(&s.last_status) >= STATUS_EVERY_MS && !send_status(&s)) goto out;
            int fd = PQsocket(s.repl);
            fd_set rf;
            FD_ZERO(&rf);
            FD_SET(fd, &rf);
            struct timeval tv = {0, 200000};
            if (select(fd + 1, &rf, NULL, NULL, &tv) < 0 && errno != EINTR) {
                say("select: %s", strerror(errno));
                goto out;
            }
            if (!PQconsumeInput(s.repl)) {
                say("stream: %s", PQerrorMessage(s.repl));
                goto out;
            }
            continue;
        }
        if (n == -1) {
            r = PQgetResult(s.repl);
            say("stream ended: %s", r ? PQresultErrorMessage(r) : "");
            PQclear(r);
            goto out;
        }
        if (n < 0) {
            say("stream: %s", PQerrorMessage(s.repl));
            goto out;
        }
        rd m = {(const unsigned char *)buf, (const unsigned char *)buf + n, false};
        char kind = (char)rd_int(&m, 1);
        bool ok = true;
        if (kind == 'w') {
            uint64_t start = rd_int(&m, 8);
            rd_int(&m, 8); /* server's WAL end */
            rd_int(&m, 8); /* send time */
            if (start > s.received) s.received = start;
            ok = !m.bad && on_message(&s, &m);
            if (ok && !s.in_txn && group_full(&s)) ok = flush_group(&s);
        } else if (kind == 'k') {
            /* A keepalive carries what the server has sent. Outside a transaction, once the
             * group is committed, every change below it is in the target: acknowledging it lets
             * the slot advance past WAL that holds no published change, and lets a shut-down
             * server's walsender finish (it waits for the flush to reach what it sent). */
            uint64_t sent = rd_int(&m, 8);
            rd_int(&m, 8); /* send time */
            bool reply = rd_int(&m, 1) != 0;
            if (!m.bad && !s.in_txn && (ok = flush_group(&s)) && sent > s.idle) s.idle = sent;
            if (ok && reply && !m.bad) ok = send_status(&s);
        }
        PQfreemem(buf);
        if (!ok) goto out;
    }
    /* Stopped: keep the transactions that are complete. */
    ret = flush_group(&s) ? 0 : -1;
out:
    if (q) PQfreemem(q);
    if (qpub) PQfreemem(qpub);
    if (lit) PQfreemem(lit);
    sess_release(&s);
    return ret;
}

int main(void)
{
    const char *slot = getenv("HARNESS_CDC_SLOT");
    const char *pub = getenv("HARNESS_CDC_PUBLICATION");
    const char *schema = getenv("HARNESS_CDC_TARGET_SCHEMA");
    if (!schema || !*schema) schema = "target";
    if (!slot || !*slot || !pub || !*pub) {
        say("HARNESS_CDC_SLOT and HARNESS_CDC_PUBLICATION must be set (a cdc scenario sets them)");
        return 2;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct timespec since;
    clock_gettime(CLOCK_MONOTONIC, &since);
    for (;;) {
        bool streamed = false;
        int rc = session(slot, pub, schema, &streamed);
        if (stop) return rc == 0 ? 0 : 1;
        if (streamed) clock_gettime(CLOCK_MONOTONIC, &since);
        if (ms_since(&since) > RETRY_SECONDS * 1000L) {
            say("no working session for %d s: giving up", RETRY_SECONDS);
            return 1;
        }
        nanosleep(&(struct timespec){0, 250000000}, NULL);
    }
}
