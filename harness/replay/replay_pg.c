/* replay_pg.c - PostgreSQL raw tables, by COPY or by pipelined OLTP statements. See replay.h for
 * the table shape and how drift and corruption land. */
#include "replay.h"

#include <stdio.h>
#include <string.h>

#include "fmt.h"

#define COPY_CHUNK (256u * 1024u)
#define PIPELINE_SYNC_EVERY 1000

/* ---- per-call state ---- */

typedef struct pgrep {
    PGconn *conn;
    gen *g;
    size_t ds;
    const plan_dataset *d;
    const plan_step *st;
    char *qtable;     /* quoted, possibly schema-qualified table name */
    char *qschema;    /* quoted schema name, NULL when the table name has none */
    char *index_name; /* quoted name of the _harness_id index (OLTP) */
    char **hdr;       /* column names of the current batch's header, quoted */
    size_t nhdr;
    fmt_fields rf; /* the current record's fields (and the header's) */
    hx_buf line;   /* the current record's CSV line, for the hash */
    hx_buf out;    /* COPY data pending */
    hx_buf vstore; /* OLTP: the text behind a statement's parameters */
    hx_sha256 sha;
    replay_stats *stats;
} pgrep;

static int oom(hx_err *e)
{
    return hx_fail(e, HX_ENOMEM, "out of memory");
}

static int sql_fail(pgrep *p, hx_err *e, const char *what)
{
    char msg[600];
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(p->conn));
    msg[strcspn(msg, "\n")] = '\0';
    return hx_fail(e, HX_EINFRA, "replaying dataset '%s' into %s: %s failed: %s", p->d->name,
                   p->qtable ? p->qtable : "postgres", what, msg);
}

static int exec(pgrep *p, const char *sql, hx_err *e)
{
    PGresult *r = PQexec(p->conn, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : sql_fail(p, e, sql);
    PQclear(r);
    return rc;
}

static char *ident(PGconn *c, const char *s)
{
    char *q = PQescapeIdentifier(c, s, strlen(s));
    char *d = q ? hx_strdup(q) : NULL;
    PQfreemem(q);
    return d;
}

/* "schema.table" -> "schema"."table"; the schema is created when missing. */
static int resolve_table(pgrep *p, hx_err *e)
{
    const char *name = p->st->table && p->st->table[0] ? p->st->table : p->d->name;
    const char *dot = strchr(name, '.');
    hx_buf b;
    hx_buf_init(&b);
    char *base = NULL;
    if (dot) {
        char *schema = hx_strndup(name, (size_t)(dot - name));
        p->qschema = schema ? ident(p->conn, schema) : NULL;
        hx_free(schema);
        if (!p->qschema) return oom(e);
        hx_buf_printf(&b, "%s.", p->qschema);
        name = dot + 1;
    }
    base = ident(p->conn, name);
    char idx[64];
    snprintf(idx, sizeof idx, "%.46s_harness_id_idx", name);
    char *qi = ident(p->conn, idx);
    if (!base || !qi) {
        hx_free(base);
        hx_free(qi);
        hx_buf_release(&b);
        return oom(e);
    }
    hx_buf_puts(&b, base);
    hx_free(base);
    p->index_name = qi;
    p->qtable = b.oom ? NULL : hx_buf_steal(&b);
    hx_buf_release(&b);
    return p->qtable ? 0 : oom(e);
}

static void free_hdr(pgrep *p)
{
    for (size_t i = 0; i < p->nhdr; i++)
        hx_free(p->hdr[i]);
    hx_free(p->hdr);
    p->hdr = NULL;
    p->nhdr = 0;
}

/* The column names of batch b's header, quoted for SQL, into p->hdr. */
static int load_hdr(pgrep *p, uint32_t b, hx_err *e)
{
    free_hdr(p);
    size_t n = 0;
    const char **names = NULL;
    bool ok = fmt_fields_header(&p->rf, p->d, b) &&
              (names = hx_calloc((n = p->rf.nhdr) + 1, sizeof *names)) &&
              fmt_fields_values(&p->rf, &p->vstore, names) &&
              (p->hdr = hx_calloc(n ? n : 1, sizeof *p->hdr));
    for (size_t i = 0; ok && i < n; i++, p->nhdr++)
        ok = (p->hdr[i] = ident(p->conn, names[i])) != NULL;
    hx_free(names);
    return ok ? 0 : oom(e);
}

/* Quoted names of the table's columns, NULL-terminated; free with free_strv. */
static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        hx_free(v[i]);
    hx_free(v);
}

static bool strv_has(char **v, const char *s)
{
    for (size_t i = 0; v && v[i]; i++)
        if (!strcmp(v[i], s)) return true;
    return false;
}

static int table_columns(pgrep *p, char ***out, hx_err *e)
{
    const char *sql = "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass "
                      "AND attnum > 0 AND NOT attisdropped ORDER BY attnum";
    const char *params[] = {p->qtable};
    PGresult *r = PQexecParams(p->conn, sql, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return sql_fail(p, e, "reading the table's columns");
    }
    int n = PQntuples(r);
    char **v = hx_calloc((size_t)n + 1, sizeof *v);
    for (int i = 0; v && i < n; i++)
        if (!(v[i] = ident(p->conn, PQgetvalue(r, i, 0)))) {
            free_strv(v);
            v = NULL;
        }
    PQclear(r);
    if (!v) return oom(e);
    *out = v;
    return 0;
}

/* Create the table if absent and bring its columns to batch b's header: a header name the table
 * lacks is a rename when the same position carried a name the table has in an earlier batch,
 * else an added column. Leaves p->hdr = batch b's header. */
static int ensure_table_tx(pgrep *p, uint32_t b, hx_err *e);

/* One transaction, so a failed drift step leaves the table as it was; SET LOCAL keeps the
 * "already exists, skipping" notices of the IF NOT EXISTS forms off the caller's stderr without
 * touching the session. */
static int ensure_table(pgrep *p, uint32_t b, hx_err *e)
{
    int rc = exec(p, "BEGIN", e);
    if (!rc) rc = exec(p, "SET LOCAL client_min_messages = warning", e);
    if (!rc) rc = ensure_table_tx(p, b, e);
    if (!rc) return exec(p, "COMMIT", e);
    PQclear(PQexec(p->conn, "ROLLBACK"));
    return rc;
}

static int ensure_table_tx(pgrep *p, uint32_t b, hx_err *e)
{
    int rc = load_hdr(p, 0, e);
    if (rc) return rc;
    hx_buf sql;
    hx_buf_init(&sql);
    if (p->qschema) {
        hx_buf_printf(&sql, "CREATE SCHEMA IF NOT EXISTS %s", p->qschema);
        if ((rc = sql.oom ? oom(e) : exec(p, sql.data, e))) {
            hx_buf_release(&sql);
            return rc;
        }
        hx_buf_clear(&sql);
    }
    hx_buf_printf(&sql,
                  "CREATE TABLE IF NOT EXISTS %s (\"_harness_id\" bigint NOT NULL, "
                  "\"_harness_batch\" integer NOT NULL",
                  p->qtable);
    for (size_t i = 0; i < p->nhdr; i++)
        hx_buf_printf(&sql, ", %s text", p->hdr[i]);
    hx_buf_puts(&sql, ", \"_harness_extra\" text)");
    rc = sql.oom ? oom(e) : exec(p, sql.data, e);
    if (!rc && p->st->pg_mode == PLAN_PG_OLTP) {
        hx_buf_clear(&sql);
        hx_buf_printf(&sql, "CREATE INDEX IF NOT EXISTS %s ON %s (\"_harness_id\")", p->index_name,
                      p->qtable);
        rc = sql.oom ? oom(e) : exec(p, sql.data, e);
    }
    char **have = NULL;
    if (!rc) rc = table_columns(p, &have, e);
    if (!rc) rc = load_hdr(p, b, e);
    size_t ncols = p->d->ncols;
    for (size_t i = 0; !rc && i < p->nhdr; i++) {
        if (strv_has(have, p->hdr[i])) continue;
        char *want = hx_strdup(p->hdr[i]), *old = NULL;
        if (!want) {
            rc = oom(e);
            break;
        }
        char **wanted = p->hdr;
        size_t nwanted = p->nhdr;
        p->hdr = NULL;
        p->nhdr = 0;
        for (int64_t bb = (int64_t)b - 1; !rc && !old && i < ncols && bb >= 0; bb--) {
            rc = load_hdr(p, (uint32_t)bb, e);
            if (!rc && i < p->nhdr && strcmp(p->hdr[i], want) && strv_has(have, p->hdr[i]))
                old = hx_strdup(p->hdr[i]);
        }
        free_hdr(p);
        p->hdr = wanted;
        p->nhdr = nwanted;
        hx_buf_clear(&sql);
        if (old)
            hx_buf_printf(&sql, "ALTER TABLE %s RENAME COLUMN %s TO %s", p->qtable, old, want);
        else
            hx_buf_printf(&sql, "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s text", p->qtable, want);
        if (!rc) rc = sql.oom ? oom(e) : exec(p, sql.data, e);
        if (!rc) {
            /* keep `have` current for the next column */
            free_strv(have);
            have = NULL;
            rc = table_columns(p, &have, e);
        }
        hx_free(want);
        hx_free(old);
    }
    free_strv(have);
    hx_buf_release(&sql);
    return rc;
}

/* Hash and count record r as its CSV line (what the landing file of the same step holds). */
static int count_record(pgrep *p, const gen_record *r, hx_err *e)
{
    hx_buf_clear(&p->line);
    if (!fmt_record(&p->line, p->d, PLAN_FMT_CSV, r)) return oom(e);
    hx_sha256_update(&p->sha, p->line.data, p->line.len);
    p->stats->bytes += p->line.len;
    p->stats->rows++;
    p->stats->corrupt += r->corrupt != 0;
    return 0;
}

/* Decimal digits of v, without printf's parsing: two of these run per replayed row. */
static void put_u64(hx_buf *b, uint64_t v)
{
    char d[20];
    size_t n = 0;
    do {
        d[sizeof d - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    hx_buf_append(b, d + sizeof d - n, n);
}

static int column_list(pgrep *p, hx_buf *sql)
{
    hx_buf_puts(sql, "(\"_harness_id\", \"_harness_batch\"");
    for (size_t i = 0; i < p->nhdr; i++)
        hx_buf_printf(sql, ", %s", p->hdr[i]);
    hx_buf_puts(sql, ", \"_harness_extra\")");
    return sql->oom ? -1 : 0;
}

static int copy_batch(pgrep *p, uint32_t b, hx_err *e)
{
    hx_buf sql;
    hx_buf_init(&sql);
    hx_buf_printf(&sql, "COPY %s ", p->qtable);
    column_list(p, &sql);
    hx_buf_puts(&sql, " FROM STDIN");
    if (sql.oom) {
        hx_buf_release(&sql);
        return oom(e);
    }
    PGresult *res = PQexec(p->conn, sql.data);
    hx_buf_release(&sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        PQclear(res);
        return sql_fail(p, e, "COPY");
    }
    PQclear(res);
    gen_cursor c;
    int rc = gen_cursor_init(&c, p->g, p->ds, b, e);
    bool sent_ok = true;
    const gen_record *r;
    int more = 0;
    hx_buf_clear(&p->out);
    while (!rc && (more = gen_cursor_next(&c, &r, e)) > 0) {
        if ((rc = count_record(p, r, e))) break;
        put_u64(&p->out, r->id);
        hx_buf_putc(&p->out, '\t');
        put_u64(&p->out, r->batch);
        if (!fmt_record_copy(&p->out, &p->rf, p->d, r) || !hx_buf_putc(&p->out, '\n') ||
            p->out.oom) {
            rc = oom(e);
            break;
        }
        if (p->out.len >= COPY_CHUNK) {
            if (PQputCopyData(p->conn, p->out.data, (int)p->out.len) != 1) {
                sent_ok = false;
                break;
            }
            hx_buf_clear(&p->out);
        }
    }
    if (more < 0) rc = more;
    if (more == 0 && sent_ok && !rc && p->out.len &&
        PQputCopyData(p->conn, p->out.data, (int)p->out.len) != 1)
        sent_ok = false;
    gen_cursor_release(&c);
    /* On our own error, abort the COPY so nothing half-made is committed. */
    char errmsg[300];
    snprintf(errmsg, sizeof errmsg, "harness replay aborted: %.200s", rc ? e->msg : "");
    if (PQputCopyEnd(p->conn, rc || !sent_ok ? errmsg : NULL) != 1) sent_ok = false;
    while ((res = PQgetResult(p->conn))) {
        if (!rc && PQresultStatus(res) != PGRES_COMMAND_OK) {
            char what[64];
            snprintf(what, sizeof what, "COPY of batch %u", b);
            rc = sql_fail(p, e, what);
        }
        PQclear(res);
    }
    if (!rc && !sent_ok) {
        char what[64];
        snprintf(what, sizeof what, "COPY of batch %u", b);
        rc = sql_fail(p, e, what);
    }
    return rc;
}

/* Read results up to the next sync; the first failure names the record it belongs to. */
static int drain(pgrep *p, const uint64_t *ids, size_t n, hx_err *e)
{
    int rc = 0;
    size_t q = 0;
    for (;;) {
        PGresult *r = PQgetResult(p->conn);
        if (!r) {
            if (PQstatus(p->conn) == CONNECTION_BAD) return rc ? rc : sql_fail(p, e, "pipeline");
            q++;
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            return rc;
        }
        if (st == PGRES_FATAL_ERROR && !rc) {
            char what[96];
            snprintf(what, sizeof what, "statement for record %llu",
                     q < n ? (unsigned long long)ids[q] : 0ULL);
            char msg[600];
            snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
            msg[strcspn(msg, "\n")] = '\0';
            rc = hx_fail(e, HX_EINFRA, "replaying dataset '%s' into %s: %s failed: %s", p->d->name,
                         p->qtable, what, msg);
        }
        PQclear(r);
    }
}

static int oltp_batch(pgrep *p, uint32_t b, const char **vals, hx_err *e)
{
    static unsigned long counter;
    unsigned long n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    char ins[64], upd[64];
    snprintf(ins, sizeof ins, "hx_replay_ins_%lu", n);
    snprintf(upd, sizeof upd, "hx_replay_upd_%lu", n);
    size_t np = p->nhdr + 3; /* id, batch, fields, extra */
    hx_buf sql;
    hx_buf_init(&sql);
    hx_buf_printf(&sql, "INSERT INTO %s ", p->qtable);
    column_list(p, &sql);
    hx_buf_puts(&sql, " VALUES ($1");
    for (size_t i = 2; i <= np; i++)
        hx_buf_printf(&sql, ", $%zu", i);
    hx_buf_putc(&sql, ')');
    if (sql.oom) {
        hx_buf_release(&sql);
        return oom(e);
    }
    PGresult *res = PQprepare(p->conn, ins, sql.data, (int)np, NULL);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : sql_fail(p, e, "preparing INSERT");
    PQclear(res);
    hx_buf_clear(&sql);
    hx_buf_printf(&sql, "UPDATE %s SET \"_harness_batch\" = $2", p->qtable);
    for (size_t i = 0; i < p->nhdr; i++)
        hx_buf_printf(&sql, ", %s = $%zu", p->hdr[i], i + 3);
    hx_buf_printf(&sql, ", \"_harness_extra\" = $%zu WHERE \"_harness_id\" = $1", np);
    if (!rc) {
        res = sql.oom ? NULL : PQprepare(p->conn, upd, sql.data, (int)np, NULL);
        rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : sql_fail(p, e, "preparing UPDATE");
        PQclear(res);
    }
    hx_buf_release(&sql);
    if (rc) return rc;

    uint64_t *ids = hx_malloc(PIPELINE_SYNC_EVERY * sizeof *ids);
    const char **params = hx_calloc(np, sizeof *params);
    gen_cursor c;
    bool cursor = false;
    if (!ids || !params) {
        rc = oom(e);
        goto out;
    }
    if ((rc = gen_cursor_init(&c, p->g, p->ds, b, e))) goto out;
    cursor = true;
    if (PQenterPipelineMode(p->conn) != 1) {
        rc = sql_fail(p, e, "entering pipeline mode");
        goto out;
    }
    size_t pending = 0;
    const gen_record *r;
    int more;
    char idbuf[24], bbuf[16];
    while ((more = gen_cursor_next(&c, &r, e)) > 0) {
        if ((rc = count_record(p, r, e))) break;
        if (!fmt_fields_of(&p->rf, p->d, r)) {
            rc = oom(e);
            break;
        }
        fmt_fields_csv_read(&p->rf);
        /* vals has room for the header of batch b, the one every record of batch b has */
        if (p->rf.nhdr != p->nhdr || !fmt_fields_values(&p->rf, &p->vstore, vals)) {
            rc = oom(e);
            break;
        }
        snprintf(idbuf, sizeof idbuf, "%llu", (unsigned long long)r->id);
        snprintf(bbuf, sizeof bbuf, "%u", r->batch);
        params[0] = idbuf;
        params[1] = bbuf;
        for (size_t i = 0; i <= p->nhdr; i++)
            params[i + 2] = vals[i];
        bool update = r->copy > 0 && r->changed;
        /* libpq copies the parameters into its output buffer before returning. */
        if (PQsendQueryPrepared(p->conn, update ? upd : ins, (int)np, params, NULL, NULL, 0) != 1) {
            rc = sql_fail(p, e, "queueing a statement");
            break;
        }
        p->stats->updates += update;
        ids[pending++] = r->id;
        if (pending == PIPELINE_SYNC_EVERY) {
            if (PQpipelineSync(p->conn) != 1) {
                rc = sql_fail(p, e, "pipeline sync");
                break;
            }
            rc = drain(p, ids, pending, e);
            pending = 0;
            if (rc) break;
        }
    }
    if (more < 0 && !rc) rc = more;
    /* Always finish the pipeline so the connection is usable again; on our own error the
     * statements still queued are committed, as a crashed producer's would be. */
    if (PQpipelineSync(p->conn) == 1) {
        int drc = drain(p, ids, pending, e);
        if (!rc) rc = drc;
    }
    PQexitPipelineMode(p->conn);
out:
    if (cursor) gen_cursor_release(&c);
    hx_free(ids);
    hx_free(params);
    char dealloc[96];
    snprintf(dealloc, sizeof dealloc, "DEALLOCATE %s", ins);
    PQclear(PQexec(p->conn, dealloc));
    snprintf(dealloc, sizeof dealloc, "DEALLOCATE %s", upd);
    PQclear(PQexec(p->conn, dealloc));
    return rc;
}

int replay_pg(gen *g, size_t ds, const plan_step *st, PGconn *conn, int64_t batch,
              replay_stats *out, hx_err *e)
{
    int64_t t0 = hx_now_ns();
    memset(out, 0, sizeof *out);
    pgrep p = {.conn = conn, .g = g, .ds = ds, .st = st, .stats = out};
    fmt_fields_init(&p.rf);
    p.d = &gen_scenario(g)->datasets[ds];
    hx_sha256_init(&p.sha);
    uint32_t nb = gen_batches(g, ds);
    if (batch >= (int64_t)nb)
        return hx_fail(e, HX_EUSAGE, "%s: batch %lld out of range (dataset '%s' has %u)",
                       st->where ? st->where : "replay", (long long)batch, p.d->name, nb);
    const char **vals = NULL;
    int rc = resolve_table(&p, e);
    uint32_t first = batch >= 0 ? (uint32_t)batch : 0, end = batch >= 0 ? first + 1 : nb;
    for (uint32_t b = first; !rc && b < end; b++) {
        if ((rc = ensure_table(&p, b, e))) break;
        hx_free(vals);
        if (!(vals = hx_calloc(p.nhdr + 1, sizeof *vals))) {
            rc = oom(e);
            break;
        }
        rc = st->pg_mode == PLAN_PG_OLTP ? oltp_batch(&p, b, vals, e) : copy_batch(&p, b, e);
        out->batches++;
    }
    hx_free(vals);
    free_hdr(&p);
    fmt_fields_release(&p.rf);
    hx_buf_release(&p.line);
    hx_buf_release(&p.out);
    hx_buf_release(&p.vstore);
    hx_free(p.qtable);
    hx_free(p.qschema);
    hx_free(p.index_name);
    if (rc) return rc;
    hx_sha256_final(&p.sha, out->sha256);
    out->seconds = (double)(hx_now_ns() - t0) / 1e9;
    return 0;
}
