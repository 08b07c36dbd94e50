/* chk_cdc.c - the change-data-capture kinds, on a change stream's target table target.<table>
 * (docs/solutions.md "Change data capture"):
 *   cdc_state  - the final state: every key the source holds at the end present with its
 *                row_version and values, every deleted key absent, no key twice (exactly once by
 *                key), nothing the source never had;
 *   cdc_order  - per-key order and exactly once: what the solution applied to the target, read
 *                from the WAL through the harness's audit slot (replay/target_cdc.c), per key:
 *                no row_version written after a higher one, none written twice, none the
 *                source wrote missing, every source delete applied;
 *   cdc_schema - the columns added mid-stream (fault add_column) are in the target with the
 *                values the changes after the ALTER wrote.
 * The truth is the stream rebuilt from the seed (data/changes.h), streamed into a temporary table
 * and compared with SQL, by key, values compared as the source's types. */
#include <stdio.h>
#include <string.h>

#include "check_int.h"

/* The dataset whose change stream goes into source table `table`, or -1. */
static int stream_of(const plan_scenario *s, const char *table)
{
    for (size_t i = 0; table && i < s->nsteps; i++)
        if (s->steps[i].kind == PLAN_STEP_INTO && s->steps[i].target == PLAN_TGT_CDC &&
            s->steps[i].table && strcmp(s->steps[i].table, table) == 0)
            return (int)s->steps[i].dataset;
    return -1;
}

static int validate_cdc(const plan_check *c, const plan_scenario *s, char *err, size_t n)
{
    if (stream_of(s, c->table) < 0) {
        snprintf(err, n,
                 "table '%s' is not the table of a change stream in this scenario (a step { "
                 "into = \"postgres\", mode = \"changes\", table = ... })",
                 c->table ? c->table : "");
        return -1;
    }
    return 0;
}

static void copy_text(hx_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '\\')
            hx_buf_puts(b, "\\\\");
        else if (ch == '\t')
            hx_buf_puts(b, "\\t");
        else if (ch == '\n')
            hx_buf_puts(b, "\\n");
        else if (ch == '\r')
            hx_buf_puts(b, "\\r");
        else
            hx_buf_putc(b, ch);
    }
}

typedef struct cdc_cmp {
    const chk_ctx *ctx;
    chk_outcome *o;
    chg_stream *cs;
    const plan_dataset *d;
    char *qt;                /* target."table" */
    char *qk;                /* the key column, quoted */
    const char *ktype;       /* its SQL type */
    char **names;            /* compared columns (dataset's, then added) */
    const plan_type *types;  /* their types */
    plan_type types_buf[80]; /* storage of types */
    size_t ncols;
    size_t first;      /* the columns compared start here (cdc_schema: the added ones) */
    const char *table; /* the source table's name */
} cdc_cmp;

/* Load the truth (every key ever inserted: alive, version, values) into pg_temp.hx_cdc_truth. */
static bool load_truth(cdc_cmp *m)
{
    const chk_ctx *ctx = m->ctx;
    const chg_stream *cs = m->cs;
    hx_buf sql;
    hx_buf_init(&sql);
    hx_buf_puts(&sql, "CREATE TEMP TABLE hx_cdc_truth (k text, alive boolean, row_version bigint");
    for (size_t i = 0; i < m->ncols; i++)
        hx_buf_printf(&sql, ", c%zu text", i);
    hx_buf_puts(&sql, ") ON COMMIT DROP");
    PGresult *r = sql.oom ? NULL : chk_query(ctx, m->o, sql.data);
    hx_buf_release(&sql);
    if (!r) return false;
    PQclear(r);
    r = PQexec(ctx->conn, "COPY hx_cdc_truth FROM STDIN");
    bool ok = PQresultStatus(r) == PGRES_COPY_IN;
    PQclear(r);
    if (!ok) {
        chk_set_outcome(m->o, CHK_ERROR, "cannot load the truth: %s", PQerrorMessage(ctx->conn));
        return false;
    }
    gen_record rec;
    hx_buf line, v;
    hx_buf_init(&line);
    hx_buf_init(&v);
    hx_err e = {0};
    int rc = chg_rec_init(cs, &rec);
    size_t nc = cs->d->ncols;
    for (uint64_t k = 0; ok && !rc && k < cs->rows; k++) {
        if (!cs->version[k]) continue;
        hx_buf_clear(&line);
        if ((rc = chg_key_text(ctx->g, cs, k, &rec, &v, &e))) break;
        copy_text(&line, v.data, v.len);
        hx_buf_printf(&line, "\t%s\t%u", cs->alive[k] ? "t" : "f", cs->version[k]);
        for (size_t i = 0; i < m->ncols && !rc; i++) {
            bool null = !cs->alive[k];
            if (!null && i < nc) {
                rc = chg_value(ctx->g, cs, cs->src[k * nc + i], i, &rec, &v, &null, &e);
            } else if (!null) {
                uint64_t by = cs->added_by[k * cs->nadded + (i - nc)];
                null = by == 0;
                if (!null) chg_added_value(cs, i - nc, by - 1, &v);
            }
            hx_buf_putc(&line, '\t');
            if (null)
                hx_buf_puts(&line, "\\N");
            else
                copy_text(&line, v.data ? v.data : "", v.len);
        }
        hx_buf_putc(&line, '\n');
        if (line.oom || PQputCopyData(ctx->conn, line.data, (int)line.len) != 1) ok = false;
    }
    if (PQputCopyEnd(ctx->conn, ok && !rc ? NULL : "truth not loaded") != 1) ok = false;
    while ((r = PQgetResult(ctx->conn))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK) ok = false;
        PQclear(r);
    }
    gen_record_release(&rec);
    hx_buf_release(&line);
    hx_buf_release(&v);
    if (rc)
        chk_set_outcome(m->o, CHK_ERROR, "cannot rebuild the change stream's truth: %s", e.msg);
    else if (!ok)
        chk_set_outcome(m->o, CHK_ERROR, "cannot load the truth: %s", PQerrorMessage(ctx->conn));
    return ok && !rc;
}

/* target.<table> exists, is a table, and has the key, row_version and the compared columns. */
static bool target_shape(cdc_cmp *m, const char *table)
{
    PGconn *c = m->ctx->conn;
    char *lit = PQescapeLiteral(c, table, strlen(table));
    char *sql = lit ? hx_asprintf("SELECT c.relkind FROM pg_catalog.pg_class c JOIN "
                                  "pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE "
                                  "n.nspname = 'target' AND c.relname = %s",
                                  lit)
                    : NULL;
    PGresult *r = sql ? chk_query(m->ctx, m->o, sql) : NULL;
    hx_free(sql);
    bool ok = r != NULL;
    if (r && PQntuples(r) == 0) {
        chk_set_outcome(m->o, CHK_FAIL, "target.%s does not exist", table);
        ok = false;
    } else if (r && strcmp(PQgetvalue(r, 0, 0), "r") != 0 &&
               strcmp(PQgetvalue(r, 0, 0), "p") != 0) {
        char kind = PQgetvalue(r, 0, 0)[0];
        chk_set_outcome(m->o, CHK_FAIL, "target.%s is not a table (it is a %s)", table,
                        kind == 'v'   ? "view"
                        : kind == 'm' ? "materialized view"
                        : kind == 'f' ? "foreign table"
                                      : "relation of another kind");
        ok = false;
    }
    PQclear(r);
    r = NULL;
    if (ok) {
        sql = hx_asprintf("SELECT a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = "
                          "(SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace "
                          "n ON n.oid = c.relnamespace WHERE n.nspname = 'target' AND c.relname "
                          "= %s) AND a.attnum > 0 AND NOT a.attisdropped",
                          lit);
        r = sql ? chk_query(m->ctx, m->o, sql) : NULL;
        hx_free(sql);
        ok = r != NULL;
    }
    hx_buf lack;
    hx_buf_init(&lack);
    const char *need_fixed[] = {m->d->cols[m->d->key_col].name, "row_version"};
    for (size_t i = 0; ok && i < 2 + m->ncols - m->first; i++) {
        const char *want = i < 2 ? need_fixed[i] : m->names[m->first + i - 2];
        bool have = false;
        for (int row = 0; row < PQntuples(r) && !have; row++)
            have = strcmp(PQgetvalue(r, row, 0), want) == 0;
        if (!have) hx_buf_printf(&lack, "%s%s", lack.len ? ", " : "", want);
    }
    if (ok && lack.len) {
        chk_set_outcome(m->o, CHK_FAIL, "target.%s has no column %s", table, lack.data);
        ok = false;
    }
    hx_buf_release(&lack);
    PQclear(r);
    PQfreemem(lit);
    return ok;
}

/* Copy target.<table>'s key, row_version and compared columns as text into pg_temp.hx_cdc_target
 * (dropped with the check's transaction), same column names; m->qt then names the copy. */
static bool copy_target(cdc_cmp *m)
{
    PGconn *c = m->ctx->conn;
    hx_buf sql;
    hx_buf_init(&sql);
    hx_buf_printf(&sql,
                  "CREATE TEMP TABLE hx_cdc_target ON COMMIT DROP AS SELECT %s::text AS %s, "
                  "row_version::text AS row_version",
                  m->qk, m->qk);
    const char *kn = m->d->cols[m->d->key_col].name;
    for (size_t i = m->first; i < m->ncols; i++) {
        if (!strcmp(m->names[i], kn) || !strcmp(m->names[i], "row_version")) continue;
        char *qc = PQescapeIdentifier(c, m->names[i], strlen(m->names[i]));
        hx_buf_printf(&sql, ", %s::text AS %s", qc ? qc : "\"\"", qc ? qc : "\"\"");
        PQfreemem(qc);
    }
    hx_buf_printf(&sql, " FROM %s", m->qt);
    PGresult *r = sql.oom ? NULL : chk_query(m->ctx, m->o, sql.data);
    hx_buf_release(&sql);
    if (!r) return false;
    PQclear(r);
    char *copy = hx_strdup("pg_temp.hx_cdc_target");
    if (!copy) {
        chk_set_outcome(m->o, CHK_ERROR, "out of memory");
        return false;
    }
    hx_free(m->qt);
    m->qt = copy;
    return true;
}

/* Run a sampling query (columns: kind, key, expected, actual, column; last: the total) and add
 * its rows; returns the total, or -1 (o filled). */
static long long sample_query(cdc_cmp *m, const char *sql)
{
    PGresult *r = chk_query(m->ctx, m->o, sql);
    if (!r) return -1;
    long long total = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 5), NULL, 10) : 0;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *cells[5];
        for (int j = 0; j < 5; j++)
            cells[j] = PQgetisnull(r, i, j) ? NULL : PQgetvalue(r, i, j);
        chk_sample_row(m->o, cells);
    }
    PQclear(r);
    return total;
}

/* The SQL that is true when target column i (x) differs from the truth's (h). */
static void differs(hx_buf *b, cdc_cmp *m, size_t i, const char *qc)
{
    const char *t = chg_sql_type(m->types[i]);
    hx_buf_printf(b, "x.%s::text::%s IS DISTINCT FROM h.c%zu::%s", qc, t, i, t);
}

static void compare(cdc_cmp *m, bool schema_only)
{
    PGconn *c = m->ctx->conn;
    size_t max = m->ctx->max_samples ? m->ctx->max_samples : CHK_DEFAULT_SAMPLES;
    const char *titles[] = {"problem", "key", "expected row_version", "actual row_version",
                            "column"};
    chk_sample_cols(m->o, 5, titles);
    const char *kt = m->ktype;
    char join[600];
    snprintf(join, sizeof join, "x.%s::text::%s = h.k::%s", m->qk, kt, kt);
    hx_buf sql;
    hx_buf_init(&sql);
    long long missing = 0, deleted = 0, unknown = 0, doubled = 0, wrong;
    if (!schema_only) {
        hx_buf_printf(&sql,
                      "SELECT 'missing', h.k, h.row_version::text, NULL, NULL, count(*) OVER () "
                      "FROM hx_cdc_truth h WHERE h.alive AND NOT EXISTS (SELECT 1 FROM %s x "
                      "WHERE %s) ORDER BY h.k LIMIT %zu",
                      m->qt, join, max);
        missing = sql.oom ? -1 : sample_query(m, sql.data);
        hx_buf_clear(&sql);
        hx_buf_printf(&sql,
                      "SELECT 'deleted at the source, still in the target', h.k, NULL, "
                      "x.row_version::text, NULL, count(*) OVER () FROM %s x JOIN hx_cdc_truth h "
                      "ON %s WHERE NOT h.alive ORDER BY h.k LIMIT %zu",
                      m->qt, join, max);
        deleted = missing < 0 || sql.oom ? -1 : sample_query(m, sql.data);
        hx_buf_clear(&sql);
        hx_buf_printf(&sql,
                      "SELECT 'never in the source', x.%s::text, NULL, x.row_version::text, NULL, "
                      "count(*) OVER () FROM %s x WHERE NOT EXISTS (SELECT 1 FROM hx_cdc_truth h "
                      "WHERE %s) ORDER BY 2 LIMIT %zu",
                      m->qk, m->qt, join, max);
        unknown = deleted < 0 || sql.oom ? -1 : sample_query(m, sql.data);
        hx_buf_clear(&sql);
        hx_buf_printf(&sql,
                      "SELECT 'key ' || count(*) || ' times', x.%s::text, NULL, "
                      "max(x.row_version)::text, NULL, count(*) OVER () FROM %s x GROUP BY 2 "
                      "HAVING count(*) > 1 ORDER BY 2 LIMIT %zu",
                      m->qk, m->qt, max);
        doubled = unknown < 0 || sql.oom ? -1 : sample_query(m, sql.data);
        hx_buf_clear(&sql);
        if (doubled < 0) {
            hx_buf_release(&sql);
            return;
        }
    }
    /* present on both sides: the first column that differs, row_version first */
    hx_buf_puts(&sql, "SELECT 'wrong', h.k, h.row_version::text, x.row_version::text, CASE ");
    if (!schema_only)
        hx_buf_puts(&sql, "WHEN x.row_version::text::bigint IS DISTINCT FROM h.row_version THEN "
                          "'row_version' ");
    hx_buf cond;
    hx_buf_init(&cond);
    hx_buf_puts(&cond, schema_only ? "false"
                                   : "x.row_version::text::bigint IS DISTINCT FROM "
                                     "h.row_version");
    for (size_t i = m->first; i < m->ncols; i++) {
        char *qc = PQescapeIdentifier(c, m->names[i], strlen(m->names[i]));
        char *lit = PQescapeLiteral(c, m->names[i], strlen(m->names[i]));
        hx_buf_puts(&sql, "WHEN ");
        differs(&sql, m, i, qc ? qc : "\"\"");
        hx_buf_printf(&sql, " THEN %s ", lit ? lit : "''");
        hx_buf_puts(&cond, " OR ");
        differs(&cond, m, i, qc ? qc : "\"\"");
        PQfreemem(qc);
        PQfreemem(lit);
    }
    hx_buf_printf(&sql,
                  "END, count(*) OVER () FROM %s x JOIN hx_cdc_truth h ON %s WHERE h.alive AND "
                  "(%s) ORDER BY h.k LIMIT %zu",
                  m->qt, join, cond.data ? cond.data : "false", max);
    wrong = sql.oom || cond.oom ? -1 : sample_query(m, sql.data);
    hx_buf_release(&cond);
    hx_buf_release(&sql);
    if (wrong < 0) return;
    m->o->missing = (uint64_t)missing;
    m->o->extra = (uint64_t)(deleted + unknown + doubled);
    m->o->mismatched = (uint64_t)wrong;
    uint64_t alive = 0, dead = 0;
    for (uint64_t k = 0; k < m->cs->rows; k++) {
        alive += m->cs->alive[k];
        dead += m->cs->version[k] && !m->cs->alive[k];
    }
    if (schema_only)
        chk_setf(&m->o->expected, "%zu added column(s) with the values written after the ALTER",
                 m->ncols - m->first);
    else
        chk_setf(&m->o->expected,
                 "%llu rows (every key the source holds, at its last row_version); %llu deleted "
                 "keys absent",
                 (unsigned long long)alive, (unsigned long long)dead);
    if (!missing && !deleted && !unknown && !doubled && !wrong) {
        chk_set_outcome(m->o, CHK_PASS, NULL);
        chk_setf(&m->o->actual, "as expected");
        return;
    }
    chk_setf(&m->o->actual,
             "%lld missing, %lld deleted at the source but present, %lld never in the source, "
             "%lld keys more than once, %lld with a wrong version or value",
             missing, deleted, unknown, doubled, wrong);
    chk_set_outcome(m->o, CHK_FAIL, "target.%s differs from the source's final state: %s", m->table,
                    m->o->actual);
}

static void run_cmp(const chk_ctx *ctx, const plan_check *c, chk_outcome *o, bool schema_only)
{
    int ds = stream_of(ctx->s, c->table);
    if (ds < 0 || !ctx->g) {
        chk_set_outcome(o, CHK_ERROR, "table '%s' is not a change stream's",
                        c->table ? c->table : "");
        return;
    }
    cdc_cmp m = {.ctx = ctx, .o = o, .d = &ctx->s->datasets[ds], .table = c->table};
    hx_err e = {0};
    if (chg_build(ctx->g, (size_t)ds, &m.cs, &e) != 0) {
        chk_set_outcome(o, CHK_ERROR, "cannot rebuild the change stream: %s", e.msg);
        return;
    }
    size_t nc = m.d->ncols;
    m.ncols = nc + m.cs->nadded;
    m.first = schema_only ? nc : 0;
    m.names = hx_calloc(m.ncols + 1, sizeof *m.names);
    m.types = m.types_buf;
    for (size_t i = 0; m.names && i < m.ncols && i < 80; i++) {
        m.names[i] = i < nc ? m.d->cols[i].name : m.cs->added[i - nc].name;
        m.types_buf[i] = i < nc ? m.d->cols[i].type : m.cs->added[i - nc].type;
    }
    if (schema_only && c->column) {
        /* one named added column */
        size_t keep = SIZE_MAX;
        for (size_t i = nc; i < m.ncols; i++)
            if (!strcmp(m.names[i], c->column)) keep = i;
        if (keep == SIZE_MAX) {
            chk_set_outcome(o, CHK_ERROR, "no add_column fault adds '%s' to '%s'", c->column,
                            c->table);
            goto out;
        }
        m.first = keep;
        m.ncols = keep + 1;
    }
    if (schema_only && m.first == m.ncols) {
        chk_set_outcome(o, CHK_ERROR, "no add_column fault adds a column to '%s'", c->table);
        goto out;
    }
    m.ktype = chg_sql_type(m.d->cols[m.d->key_col].type);
    char *qt = PQescapeIdentifier(ctx->conn, c->table, strlen(c->table));
    const char *kn = m.d->cols[m.d->key_col].name;
    char *qk = PQescapeIdentifier(ctx->conn, kn, strlen(kn));
    m.qt = qt ? hx_asprintf("target.%s", qt) : NULL;
    m.qk = qk ? hx_strdup(qk) : NULL;
    PQfreemem(qt);
    PQfreemem(qk);
    if (!m.names || !m.qt || !m.qk) {
        chk_set_outcome(o, CHK_ERROR, "out of memory");
        goto out;
    }
    if (!target_shape(&m, c->table)) goto out;
    PGresult *r = chk_query(ctx, o, "BEGIN");
    if (!r) goto out;
    PQclear(r);
    /* The target's rows, as text, before the truth is in the session: reading them may run the
     * solution's code (a cast from its own type, a row security policy), which must find no
     * truth there (chk_seal). The comparison reads this copy. */
    if (copy_target(&m) && chk_seal(ctx, o, "hx_cdc_target") && load_truth(&m))
        compare(&m, schema_only);
    PQclear(PQexec(ctx->conn, "ROLLBACK"));
    chk_unseal(ctx);
out:
    hx_free(m.names);
    hx_free(m.qt);
    hx_free(m.qk);
    chg_stream_free(m.cs);
}

static void check_cdc_state(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    run_cmp(ctx, c, o, false);
}

static void check_cdc_schema(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    run_cmp(ctx, c, o, true);
}

static void check_cdc_order(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    const chg_observed *ob = ctx->cdc;
    if (!ob || !ob->ran) {
        chk_set_outcome(o, CHK_ERROR, "no audit slot was read in this scenario");
        return;
    }
    const chg_seen_table *t = NULL;
    for (size_t i = 0; i < ob->ntables; i++)
        if (!strcmp(ob->tables[i].table, c->table)) t = &ob->tables[i];
    chk_setf(&o->expected,
             "every row_version of target.%s written once, in commit order, and every delete "
             "applied (as the WAL shows them)",
             c->table);
    if (ob->slot_lost) {
        chk_setf(&o->actual, "the harness's audit slot is gone");
        chk_set_outcome(o, CHK_FAIL,
                        "the harness's replication slot that records what the solution applied was "
                        "dropped during the run (by the solution's role?): the order of target.%s "
                        "cannot be checked; leave slots you did not make alone",
                        c->table);
        return;
    }
    if (ob->slot_moved) {
        chk_setf(&o->actual, "the harness's audit slot was read by another session");
        chk_set_outcome(o, CHK_FAIL,
                        "the harness's replication slot that records what the solution applied was "
                        "advanced or consumed by another session during the run (by the "
                        "solution's role?): changes it held never reached the audit, so the order "
                        "of target.%s cannot be checked; leave slots you did not make alone",
                        c->table);
        return;
    }
    if (!t) {
        chk_set_outcome(o, CHK_ERROR, "table '%s' is not a change stream's", c->table);
        return;
    }
    if (ob->error[0]) {
        chk_set_outcome(o, CHK_ERROR, "cannot read the harness's audit slot: %s", ob->error);
        return;
    }
    if (t->persistence == 'u' || t->persistence == 't' || !t->persistence) {
        chk_setf(&o->actual, "%s", !t->persistence ? "no table" : "a table without WAL");
        chk_set_outcome(o, CHK_FAIL,
                        !t->persistence ? "target.%s does not exist"
                                        : "target.%s is an UNLOGGED table: its changes are not in "
                                          "the WAL and cannot be observed; make it a logged table",
                        c->table);
        return;
    }
    const char *titles[] = {"problem", "key", "row_version", "detail"};
    chk_sample_cols(o, 4, titles);
    static const char *const names[] = {"out of order", "applied more than once", "lost",
                                        "delete lost"};
    /* round robin over the kinds: the first rows a report shows name each kind there is */
    for (size_t i = 0; i < CHG_MAX_SAMPLES; i++)
        for (int k = 0; k < CHG_NPROBLEMS; k++) {
            if (i >= t->nsample[k]) continue;
            const chg_sample *s = &t->sample[k][i];
            char v[48], detail[96];
            snprintf(v, sizeof v, "%lld", (long long)s->a);
            if (k == CHG_OUT_OF_ORDER)
                snprintf(detail, sizeof detail, "written after row_version %lld", (long long)s->b);
            else if (k == CHG_DOUBLED)
                snprintf(detail, sizeof detail, "written %lld times", (long long)s->b);
            else if (k == CHG_LOST) {
                if (s->b > s->a)
                    snprintf(v, sizeof v, "%lld..%lld", (long long)s->a, (long long)s->b);
                snprintf(detail, sizeof detail, "never written to the target");
            } else
                snprintf(detail, sizeof detail,
                         "deleted at the source at this version, never in the target");
            const char *cells[] = {names[k], s->key, v, detail};
            chk_sample_row(o, cells);
        }
    const uint64_t *n = t->count;
    o->mismatched = n[CHG_OUT_OF_ORDER];
    o->extra = n[CHG_DOUBLED];
    o->missing = n[CHG_LOST] + n[CHG_LOST_DELETE];
    hx_buf note;
    hx_buf_init(&note);
    if (t->truncates)
        hx_buf_printf(&note, "; target.%s was truncated %llu time(s)", c->table,
                      (unsigned long long)t->truncates);
    if (t->keyless)
        hx_buf_printf(&note,
                      "; %llu delete(s) of target.%s carry no key in the WAL (give it a primary "
                      "key on the source's key)",
                      (unsigned long long)t->keyless, c->table);
    chk_setf(&o->actual,
             "%llu source changes, %llu target row changes: %llu out of order, %llu applied "
             "more than once, %llu versions lost, %llu deletes lost%s",
             (unsigned long long)t->src_changes, (unsigned long long)t->applied,
             (unsigned long long)n[CHG_OUT_OF_ORDER], (unsigned long long)n[CHG_DOUBLED],
             (unsigned long long)n[CHG_LOST], (unsigned long long)n[CHG_LOST_DELETE],
             note.data ? note.data : "");
    hx_buf_release(&note);
    if (!n[CHG_OUT_OF_ORDER] && !n[CHG_DOUBLED] && !n[CHG_LOST] && !n[CHG_LOST_DELETE] &&
        !t->keyless) {
        chk_set_outcome(o, CHK_PASS, NULL);
        return;
    }
    chk_set_outcome(o, CHK_FAIL, "target.%s did not apply each change once in commit order: %s",
                    c->table, o->actual);
}

const chk_kind chk_kind_cdc_state = {
    .name = "cdc_state",
    .keys = (const char *const[]){"table", NULL},
    .flags = CHK_K_NEEDS_TABLE,
    .run = check_cdc_state,
    .validate = validate_cdc,
    .summary = "a change stream's target table equals the source's final state by key (deleted "
               "keys absent, each key once)",
};

const chk_kind chk_kind_cdc_order = {
    .name = "cdc_order",
    .keys = (const char *const[]){"table", NULL},
    .flags = CHK_K_NEEDS_TABLE,
    .run = check_cdc_order,
    .validate = validate_cdc,
    .summary = "each row_version of a change stream written to its target once, in commit order, "
               "deletes included (read from the WAL)",
};

const chk_kind chk_kind_cdc_schema = {
    .name = "cdc_schema",
    .keys = (const char *const[]){"table", "column", NULL},
    .flags = CHK_K_NEEDS_TABLE,
    .run = check_cdc_schema,
    .validate = validate_cdc,
    .summary = "the columns added to a change stream's source mid-stream reached its target, "
               "with their values",
};
