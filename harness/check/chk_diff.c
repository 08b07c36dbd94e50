/* chk_diff.c - diff: the sink's rows against the truth's, by key (data-diff like), and the row
 * matching that file and topic share. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_int.h"
#include "ledger.h"

void chk_diff_sample_titles(const diff_state *d, chk_outcome *o)
{
    const char *titles[] = {"kind", d->ds->cols[d->key_col].name, "column", "expected", "actual"};
    chk_sample_cols(o, 5, titles);
}

/* A sample row of kind with key (canonical; NULL = a NULL key) and, for a mismatch, column cc
 * and its two values, as people read them. */
static void sample(const diff_state *d, chk_outcome *o, const char *kind, const char *key, long cc,
                   const char *want, const char *got)
{
    char kb[64], wb[64], gb[64];
    const plan_column *kc = &d->ds->cols[d->key_col];
    const plan_column *col = cc >= 0 ? &d->ds->cols[d->cols[cc]] : NULL;
    const char *cells[] = {kind, key ? chk_display(kc, key, kb, sizeof kb) : "NULL",
                           col ? col->name : NULL,
                           col && want ? chk_display(col, want, wb, sizeof wb) : NULL,
                           col && got ? chk_display(col, got, gb, sizeof gb) : NULL};
    chk_sample_offer(o, cells, d->max);
}

/* A sample of a whole row that has no partner on the other side: column "(row)", and the row's
 * other columns as "name=value, ..." under expected (a missing row, the truth's) or actual (an
 * extra row, the sink's), so the reader sees which copy is the surplus, not just its key. vals[i]
 * is compared column i's canonical value (NULL for NULL). */
static void row_sample(const diff_state *d, chk_outcome *o, bool extra, const char *key,
                       const char *const *vals)
{
    char kb[64], vb[64];
    hx_buf b;
    hx_buf_init(&b);
    for (size_t i = 0; i < d->ncols; i++) {
        if (d->cols[i] == d->key_col) continue;
        const plan_column *col = &d->ds->cols[d->cols[i]];
        hx_buf_printf(&b, "%s%s=%s", b.len ? ", " : "", col->name,
                      vals[i] ? chk_display(col, vals[i], vb, sizeof vb) : "NULL");
    }
    const plan_column *kc = &d->ds->cols[d->key_col];
    const char *text = b.oom ? NULL : b.data ? b.data : "";
    const char *cells[] = {extra ? "extra" : "missing",
                           key ? chk_display(kc, key, kb, sizeof kb) : "NULL", "(row)",
                           extra ? NULL : text, extra ? text : NULL};
    chk_sample_offer(o, cells, d->max);
    hx_buf_release(&b);
}

/* An extra row of the in-memory matcher, sampled whole: its values read through val. */
static void extra_sample(const diff_state *d, chk_outcome *o, const char *key, diff_val_fn val,
                         void *ud)
{
    char *bufs = hx_calloc(d->ncols + 1, 64);
    const char **vals = hx_calloc(d->ncols + 1, sizeof *vals);
    if (bufs && vals) {
        for (size_t cc = 0; cc < d->ncols; cc++)
            vals[cc] = val(ud, cc, bufs + cc * 64, 64);
        row_sample(d, o, true, key, vals);
    } else {
        sample(d, o, "extra", key, -1, NULL, NULL);
    }
    hx_free(vals);
    hx_free(bufs);
}

/* Would a sample of kind for key (canonical, NULL = a NULL key) be kept? Samples are the
 * smallest keys, whatever order the rows came in (chk_sample_wants). */
static bool wants(const diff_state *d, chk_outcome *o, const char *kind, const char *key)
{
    char kb[64];
    return chk_sample_wants(
        o, kind, key ? chk_display(&d->ds->cols[d->key_col], key, kb, sizeof kb) : "NULL", d->max);
}

void chk_diff_row(diff_state *d, chk_outcome *o, const char *key, diff_val_fn val, void *ud)
{
    exp_row *row = key ? exp_map_find(&d->m, key, false) : NULL;
    if (!row || row->got >= row->want) {
        o->extra++;
        if (wants(d, o, "extra", key)) extra_sample(d, o, key, val, ud);
        if (row) row->got++;
        return;
    }
    row->got++;
    char vb[64];
    /* The version this row stands for: one it equals, else the first one still unmatched. */
    char **want = row->vals;
    if (row->want > 1) {
        size_t pick = SIZE_MAX;
        for (size_t v = 0; v < row->want; v++) {
            if (row->used[v]) continue;
            if (pick == SIZE_MAX) pick = v;
            size_t cc = 0;
            while (cc < d->ncols &&
                   chk_same(val(ud, cc, vb, sizeof vb), row->vals[v * d->ncols + cc]))
                cc++;
            if (cc == d->ncols) {
                pick = v;
                break;
            }
        }
        row->used[pick] = 1;
        want = row->vals + pick * d->ncols;
    }
    bool differs = false;
    for (size_t cc = 0; cc < d->ncols; cc++) {
        const char *v = val(ud, cc, vb, sizeof vb);
        if (chk_same(v, want[cc])) continue;
        if (!differs && wants(d, o, "mismatch", key))
            sample(d, o, "mismatch", key, (long)cc, want[cc], v);
        differs = true;
    }
    o->mismatched += differs;
}

/* Count the truth's rows the sink lacked, then sort the samples like diff's; returns the number
 * of expected rows. */
uint64_t chk_diff_missing(diff_state *d, chk_outcome *o)
{
    uint64_t expected_rows = 0;
    for (size_t i = 0; i < d->m.cap; i++) {
        exp_row *row = &d->m.slots[i];
        if (!row->key) continue;
        expected_rows += row->want;
        if (row->got < row->want) {
            o->missing += row->want - row->got;
            if (wants(d, o, "missing", row->key)) {
                /* a version no sink row stood for (the first when none was picked) */
                size_t v = 0;
                while (row->want > 1 && v + 1 < row->want && row->used[v])
                    v++;
                row_sample(d, o, false, row->key, (const char *const *)row->vals + v * d->ncols);
            }
        }
    }
    static const char *const kinds[] = {"extra", "missing", "mismatch", "malformed", NULL};
    chk_sample_sort(o, kinds);
    return expected_rows;
}

/* The key column (c->key or the dataset's) and compared columns (c->columns or all) of a
 * diff-like check into d (no truth loaded). False with an ERROR outcome when the check is broken.
 */
bool chk_diff_cols(const chk_ctx *ctx, const plan_check *c, chk_outcome *o, diff_state *d,
                   int **cols_out)
{
    const plan_query *q = &c->expect.query;
    const plan_dataset *ds = &ctx->s->datasets[q->dataset];
    memset(d, 0, sizeof *d);
    *cols_out = NULL;
    int key_col = c->key ? plan_dataset_column(ds, c->key) : ds->key_col;
    if (key_col < 0) {
        chk_set_outcome(o, CHK_ERROR, "%s needs a key column that exists in dataset '%s'",
                        chk_kind_name(c->kind), ds->name);
        return false;
    }
    size_t ncols = c->ncolumns ? c->ncolumns : ds->ncols;
    int *cols = hx_calloc(ncols, sizeof *cols);
    if (!cols) {
        chk_set_outcome(o, CHK_ERROR, "out of memory");
        return false;
    }
    for (size_t i = 0; i < ncols; i++) {
        cols[i] = c->ncolumns ? plan_dataset_column(ds, c->columns[i]) : (int)i;
        if (cols[i] < 0) {
            chk_set_outcome(o, CHK_ERROR, "column '%s' is not in dataset '%s'", c->columns[i],
                            ds->name);
            hx_free(cols);
            return false;
        }
    }
    d->ds = ds;
    d->key_col = key_col;
    d->cols = cols;
    d->ncols = ncols;
    d->max = ctx->max_samples ? ctx->max_samples : CHK_DEFAULT_SAMPLES;
    *cols_out = cols;
    return true;
}

bool chk_diff_init(const chk_ctx *ctx, const plan_check *c, chk_outcome *o, diff_state *d,
                   int **cols_out)
{
    if (!chk_diff_cols(ctx, c, o, d, cols_out)) return false;
    hx_err e = {0};
    if (chk_load_truth(ctx, &c->expect.query, d->key_col, d->cols, d->ncols, &d->m, &e) != 0) {
        chk_set_outcome(o, CHK_ERROR, "cannot compute the expected rows: %s", e.msg);
        exp_map_release(&d->m);
        hx_free(*cols_out);
        *cols_out = NULL;
        return false;
    }
    return true;
}

/* ---- diff in the database: bounded memory whatever the row count ----
 *
 * The truth streams over COPY into a TEMP table of the harness's session (another session, the
 * solution's, cannot see it), the sink's rows are read into another as canonical text
 * (chk_canon_sql_exact), and SQL counts per key: T truth versions, S sink rows, M of them equal
 * as whole tuples (a multiset intersection). missing = T - S where T > S, extra = S - T where S > T
 * (and every sink row with a NULL key), mismatched = min(S, T) - M: the counts of the best
 * matching of sink rows to truth versions, which for a key held once on each side is "the values
 * differ". Only the samples (at most max per category) come back to the harness. */

#define T_RAW "pg_temp._hx_diff_raw"   /* the truth before a dedup: seq, dedup value, key, values */
#define T_TRUTH "pg_temp._hx_diff_t"   /* the truth: key, values (no NULL key) */
#define T_SINK "pg_temp._hx_diff_s"    /* the sink: key, values, canonical */
#define T_KEYS "pg_temp._hx_diff_g"    /* per key: tn, sn, m */
#define T_SAMPLE "pg_temp._hx_diff_mk" /* the mismatched keys sampled */

static bool exec_ok(const chk_ctx *ctx, chk_outcome *o, const char *sql)
{
    PGresult *r = chk_query(ctx, o, sql);
    if (!r) return false;
    PQclear(r);
    return true;
}

static void drop_temps(const chk_ctx *ctx)
{
    PQclear(PQexec(ctx->conn, "drop table if exists " T_RAW ", " T_TRUTH ", " T_SINK ", " T_KEYS
                              ", " T_SAMPLE));
}

/* One COPY text field: \N for NULL; backslash, tab, CR and LF escaped; invalid UTF-8 replaced
 * (the sink, a PostgreSQL text, cannot hold it either). */
static void copy_field(hx_buf *b, const char *v)
{
    if (!v) {
        hx_buf_puts(b, "\\N");
        return;
    }
    size_t n = strlen(v);
    if (!hx_utf8_valid(v, n)) {
        hx_buf fixed;
        hx_buf_init(&fixed);
        hx_buf_put_utf8(&fixed, v, n);
        copy_field(b, fixed.data ? fixed.data : "");
        hx_buf_release(&fixed);
        return;
    }
    for (const char *p = v; *p; p++) {
        switch (*p) {
        case '\\':
            hx_buf_puts(b, "\\\\");
            break;
        case '\t':
            hx_buf_puts(b, "\\t");
            break;
        case '\n':
            hx_buf_puts(b, "\\n");
            break;
        case '\r':
            hx_buf_puts(b, "\\r");
            break;
        default:
            hx_buf_putc(b, *p);
        }
    }
}

/* The column list "c1 text, ..., cN text" (decl) or "c1, ..., cN". */
static void col_list(hx_buf *b, size_t ncols, bool decl)
{
    for (size_t i = 0; i < ncols; i++)
        hx_buf_printf(b, "%sc%zu%s", i ? ", " : "", i + 1, decl ? " text" : "");
}

/* Stream the truth of c's query into T_TRUTH: the ledger's subset without its dedup, which SQL
 * then applies the ledger's way (first or last emission per value in arrival order, NULL one
 * value), so that no key table grows in the harness. False with o set. */
static bool load_truth(const chk_ctx *ctx, const plan_check *c, chk_outcome *o, const diff_state *d)
{
    plan_query q = c->expect.query;
    const plan_dataset *ds = d->ds;
    int dcol = q.sub.dedup_col;
    bool dedup = dcol >= 0;
    bool last = q.sub.dedup_last;
    q.sub.dedup_col = -1;
    hx_buf sql;
    hx_buf_init(&sql);
    hx_buf_printf(&sql, "create temp table %s (%sk text, ", dedup ? T_RAW : T_TRUTH,
                  dedup ? "seq bigint, d text, " : "");
    col_list(&sql, d->ncols, true);
    hx_buf_puts(&sql, ")");
    bool ok = !sql.oom && exec_ok(ctx, o, sql.data);
    hx_buf_clear(&sql);
    /* The load is the harness's own work, not the sink's answer: no statement_timeout on it. */
    if (ok) ok = exec_ok(ctx, o, "set statement_timeout = 0");
    if (ok) {
        hx_buf_printf(&sql, "copy %s from stdin", dedup ? T_RAW : T_TRUTH);
        PGresult *r = PQexec(ctx->conn, sql.data);
        if (PQresultStatus(r) != PGRES_COPY_IN) {
            char *m = chk_first_line(PQresultErrorMessage(r));
            chk_set_outcome(o, CHK_ERROR, "cannot load the expected rows: %s", m);
            hx_free(m);
            ok = false;
        }
        PQclear(r);
    }
    if (!ok) {
        hx_buf_release(&sql);
        return false;
    }
    ledger_iter *it = NULL;
    hx_err e = {0};
    int rc = ledger_iter_new(ctx->g, &q, &it, &e);
    const gen_record *rec;
    char kb[64], vb[64];
    hx_buf out;
    hx_buf_init(&out);
    const char *why = NULL; /* why the load stopped early */
    for (int64_t seq = 0; rc == 0 && (rc = ledger_iter_next(it, &rec, &e)) == 1; seq++) {
        const char *key =
            chk_canon_truth(&ds->cols[d->key_col], &rec->vals[d->key_col], kb, sizeof kb);
        if (!key && !dedup) continue; /* a NULL key cannot be matched; diff compares keyed rows */
        if (dedup) {
            hx_buf_printf(&out, "%lld\t", (long long)seq);
            copy_field(&out, chk_canon_truth(&ds->cols[dcol], &rec->vals[dcol], vb, sizeof vb));
            hx_buf_putc(&out, '\t');
        }
        copy_field(&out, key);
        for (size_t i = 0; i < d->ncols; i++) {
            hx_buf_putc(&out, '\t');
            copy_field(&out, chk_canon_truth(&ds->cols[d->cols[i]], &rec->vals[d->cols[i]], vb,
                                             sizeof vb));
        }
        hx_buf_putc(&out, '\n');
        if (out.len >= 256 * 1024 || out.oom) {
            if (out.oom || PQputCopyData(ctx->conn, out.data, (int)out.len) != 1) {
                why = out.oom ? "out of memory" : "the connection failed";
                break;
            }
            hx_buf_clear(&out);
            if (ctx->interrupted && ctx->interrupted()) {
                why = "interrupted";
                break;
            }
        }
        rc = 0;
    }
    if (rc < 0) why = e.msg[0] ? e.msg : "the ledger failed";
    if (!why && out.len && PQputCopyData(ctx->conn, out.data, (int)out.len) != 1)
        why = "the connection failed";
    hx_buf_release(&out);
    ledger_iter_free(it);
    char whybuf[sizeof e.msg + 64];
    snprintf(whybuf, sizeof whybuf, "%s", why ? why : "");
    PQputCopyEnd(ctx->conn, why ? whybuf : NULL);
    PGresult *r;
    while ((r = PQgetResult(ctx->conn))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && !why) {
            char *m = chk_first_line(PQresultErrorMessage(r));
            snprintf(whybuf, sizeof whybuf, "%s", m);
            hx_free(m);
            why = whybuf;
        }
        PQclear(r);
    }
    if (why) {
        chk_set_outcome(o, CHK_ERROR, "cannot compute the expected rows: %s", whybuf);
        hx_buf_release(&sql);
        return false;
    }
    hx_buf_clear(&sql);
    hx_buf_printf(&sql, "set statement_timeout = %lld",
                  (long long)((ctx->timeout_us + 999) / 1000));
    ok = exec_ok(ctx, o, sql.data);
    if (ok && dedup) {
        hx_buf_clear(&sql);
        hx_buf_printf(&sql, "create temp table %s as select k, ", T_TRUTH);
        col_list(&sql, d->ncols, false);
        hx_buf_printf(&sql,
                      " from (select distinct on (d) * from %s order by d, seq%s) x where k is "
                      "not null",
                      T_RAW, last ? " desc" : "");
        ok = !sql.oom && exec_ok(ctx, o, sql.data);
    }
    hx_buf_release(&sql);
    return ok;
}

/* How keys sort in samples: by number for numbers and instants, else bytewise. */
static const char *key_order(const plan_column *kc)
{
    switch (kc->type) {
    case PLAN_T_INT:
    case PLAN_T_DECIMAL:
    case PLAN_T_TIMESTAMP:
        return "k::numeric";
    default:
        return "k collate \"C\"";
    }
}

/* The mismatch samples: for each sampled key, its truth versions and sink rows with the equal
 * ones paired off, the rest paired in order; each pair's first differing column. */
static bool mismatch_samples(const chk_ctx *ctx, chk_outcome *o, const diff_state *d)
{
    hx_buf sql;
    hx_buf_init(&sql);
    hx_buf_printf(&sql,
                  "create temp table %s as select k from %s where least(tn, sn) > m order by %s "
                  "limit %zu",
                  T_SAMPLE, T_KEYS, key_order(&d->ds->cols[d->key_col]), d->max);
    bool ok = !sql.oom && exec_ok(ctx, o, sql.data);
    hx_buf_clear(&sql);
    hx_buf_puts(&sql, "select x.* from (select 0 as side, k, ");
    col_list(&sql, d->ncols, false);
    hx_buf_printf(&sql, " from %s where k in (select k from %s) union all select 1, k, ", T_TRUTH,
                  T_SAMPLE);
    col_list(&sql, d->ncols, false);
    hx_buf_printf(&sql, " from %s where k in (select k from %s)) x order by %s, side, row(", T_SINK,
                  T_SAMPLE, key_order(&d->ds->cols[d->key_col]));
    col_list(&sql, d->ncols, false);
    hx_buf_puts(&sql, ")::text collate \"C\"");
    PGresult *r = ok && !sql.oom ? chk_query(ctx, o, sql.data) : NULL;
    hx_buf_release(&sql);
    if (!r) return false;
    int n = PQntuples(r);
    size_t nc = d->ncols, kept = 0;
    bool *used = hx_calloc((size_t)n + 1, sizeof *used);
    if (!used) {
        PQclear(r);
        chk_set_outcome(o, CHK_ERROR, "out of memory");
        return false;
    }
#define VAL(i, c) (PQgetisnull(r, (i), (int)(c) + 2) ? NULL : PQgetvalue(r, (i), (int)(c) + 2))
    for (int a = 0; a < n && kept < d->max;) {
        /* rows a..b-1 hold one key: truth (side 0) first, then sink */
        int b = a, t_end;
        while (b < n && strcmp(PQgetvalue(r, b, 1), PQgetvalue(r, a, 1)) == 0)
            b++;
        t_end = a;
        while (t_end < b && strcmp(PQgetvalue(r, t_end, 0), "0") == 0)
            t_end++;
        for (int t = a; t < t_end; t++) /* pair off equal tuples */
            for (int s2 = t_end; s2 < b; s2++) {
                if (used[s2]) continue;
                size_t c = 0;
                while (c < nc && chk_same(VAL(t, c), VAL(s2, c)))
                    c++;
                if (c == nc) {
                    used[t] = used[s2] = true;
                    break;
                }
            }
        int t = a, s2 = t_end;
        for (;;) {
            while (t < t_end && used[t])
                t++;
            while (s2 < b && used[s2])
                s2++;
            if (t >= t_end || s2 >= b || kept >= d->max) break;
            size_t c = 0;
            while (c < nc && chk_same(VAL(t, c), VAL(s2, c)))
                c++;
            if (c < nc) {
                sample(d, o, "mismatch", PQgetvalue(r, a, 1), (long)c, VAL(t, c), VAL(s2, c));
                kept++;
            }
            t++, s2++;
        }
        a = b;
    }
#undef VAL
    hx_free(used);
    PQclear(r);
    return true;
}

/* "name as (...)": table's rows with a non-NULL key, one per distinct (k, c1..cn), counted. */
static void tuple_counts(hx_buf *sql, const char *name, const char *table, size_t ncols)
{
    hx_buf_printf(sql, "%s as (select k, ", name);
    col_list(sql, ncols, false);
    hx_buf_printf(sql, ", count(*) as n from %s where k is not null group by k, ", table);
    col_list(sql, ncols, false);
    hx_buf_puts(sql, ")");
}

/* The surplus rows of one side, sampled whole: extra reads the sink against the truth, else the
 * truth against the sink. Per key, the side's tuples without an equal tuple on the other side,
 * as many as the key's surplus of rows (sn - tn for extra); a NULL key of the sink is always
 * extra. Rows come back as k, c1..cn, in key order. */
static bool row_samples(const chk_ctx *ctx, chk_outcome *o, const diff_state *d, bool extra)
{
    const char *a = extra ? T_SINK : T_TRUTH, *b = extra ? T_TRUTH : T_SINK;
    hx_buf sql;
    hx_buf_init(&sql);
    hx_buf_puts(&sql, "with ");
    tuple_counts(&sql, "a", a, d->ncols);
    hx_buf_puts(&sql, ", ");
    tuple_counts(&sql, "b", b, d->ncols);
    hx_buf_puts(&sql, ", u as (select a.k");
    for (size_t i = 0; i < d->ncols; i++)
        hx_buf_printf(&sql, ", a.c%zu", i + 1);
    hx_buf_puts(&sql, " from a left join b on b.k = a.k");
    for (size_t i = 0; i < d->ncols; i++)
        hx_buf_printf(&sql, " and b.c%zu is not distinct from a.c%zu", i + 1, i + 1);
    hx_buf_puts(&sql, ", generate_series(1, (a.n - coalesce(b.n, 0))::bigint) where a.n > "
                      "coalesce(b.n, 0)), x as (select u.*, row_number() over (partition by u.k "
                      "order by row(");
    for (size_t i = 0; i < d->ncols; i++)
        hx_buf_printf(&sql, "%su.c%zu", i ? ", " : "", i + 1);
    hx_buf_printf(&sql,
                  ")::text collate \"C\") as rn, g.surplus from u join (select k, %s as "
                  "surplus from %s where %s) g on g.k = u.k) select * from ((select k, ",
                  extra ? "sn - tn" : "tn - sn", T_KEYS, extra ? "sn > tn" : "tn > sn");
    col_list(&sql, d->ncols, false);
    hx_buf_printf(&sql, " from x where rn <= surplus order by %s limit %zu)",
                  key_order(&d->ds->cols[d->key_col]), d->max);
    if (extra) {
        hx_buf_puts(&sql, " union all (select k, ");
        col_list(&sql, d->ncols, false);
        hx_buf_printf(&sql, " from %s where k is null limit %zu)", T_SINK, d->max);
    }
    hx_buf_printf(&sql, ") y limit %zu", d->max);
    PGresult *r = sql.oom ? NULL : chk_query(ctx, o, sql.data);
    hx_buf_release(&sql);
    if (!r) return false;
    const char **vals = hx_calloc(d->ncols + 1, sizeof *vals);
    for (int i = 0; vals && i < PQntuples(r); i++) {
        for (size_t c = 0; c < d->ncols; c++)
            vals[c] = PQgetisnull(r, i, (int)c + 1) ? NULL : PQgetvalue(r, i, (int)c + 1);
        row_sample(d, o, extra, PQgetisnull(r, i, 0) ? NULL : PQgetvalue(r, i, 0), vals);
    }
    hx_free(vals);
    PQclear(r);
    if (!vals) {
        chk_set_outcome(o, CHK_ERROR, "out of memory");
        return false;
    }
    return true;
}

/* A count from row 0 of r, column c. */
static uint64_t count_at(PGresult *r, int c)
{
    return PQgetisnull(r, 0, c) ? 0 : strtoull(PQgetvalue(r, 0, c), NULL, 10);
}

static bool diff_in_db(const chk_ctx *ctx, const plan_check *c, chk_outcome *o, diff_state *d)
{
    const plan_dataset *ds = d->ds;
    /* The sink's rows, read once, as canonical text, before the truth is in the session: reading
     * the sink may run the solution's code (a view over a function), which must find no truth
     * there (chk_seal). */
    hx_buf sql;
    hx_buf_init(&sql);
    hx_buf_printf(&sql, "create temp table %s as select ", T_SINK);
    char *qk = chk_quote_ident(ctx->conn, ds->cols[d->key_col].name);
    chk_canon_sql_exact(&sql, qk ? qk : "?", &ds->cols[d->key_col]);
    hx_free(qk);
    hx_buf_puts(&sql, " as k");
    for (size_t i = 0; i < d->ncols; i++) {
        char *qc = chk_quote_ident(ctx->conn, ds->cols[d->cols[i]].name);
        hx_buf_puts(&sql, ", ");
        chk_canon_sql_exact(&sql, qc ? qc : "?", &ds->cols[d->cols[i]]);
        hx_buf_printf(&sql, " as c%zu", i + 1);
        hx_free(qc);
    }
    char *qt = chk_quote_ident(ctx->conn, c->table);
    hx_buf_printf(&sql, " from %s", qt ? qt : "?");
    hx_free(qt);
    bool ok = !sql.oom && exec_ok(ctx, o, sql.data);
    ok = ok && chk_seal(ctx, o, "_hx_diff_s") && load_truth(ctx, c, o, d);
    /* Per key: truth versions, sink rows, and how many of them are equal tuples. */
    hx_buf_clear(&sql);
    hx_buf_printf(&sql, "create temp table %s as with t as (select k, row(", T_KEYS);
    col_list(&sql, d->ncols, false);
    hx_buf_printf(&sql, ")::text as u, count(*) as n from %s group by 1, 2), s as (select k, row(",
                  T_TRUTH);
    col_list(&sql, d->ncols, false);
    hx_buf_printf(&sql,
                  ")::text as u, count(*) as n from %s where k is not null group by 1, 2), p as "
                  "(select coalesce(t.k, s.k) as k, coalesce(t.n, 0) as tn, coalesce(s.n, 0) as "
                  "sn from t full join s on t.k = s.k and t.u = s.u) select k, sum(tn) as tn, "
                  "sum(sn) as sn, sum(least(tn, sn)) as m from p group by k",
                  T_SINK);
    ok = ok && !sql.oom && exec_ok(ctx, o, sql.data);
    hx_buf_clear(&sql);
    hx_buf_printf(&sql,
                  "select sum(greatest(tn - sn, 0)), sum(greatest(sn - tn, 0)), "
                  "sum(least(tn, sn) - m), sum(tn), (select count(*) from %s), "
                  "(select count(*) from %s where k is null) from %s",
                  T_SINK, T_SINK, T_KEYS);
    PGresult *r = ok && !sql.oom ? chk_query(ctx, o, sql.data) : NULL;
    uint64_t expected_rows = 0, sink_rows = 0;
    if (r) {
        o->missing = count_at(r, 0);
        o->extra = count_at(r, 1) + count_at(r, 5);
        o->mismatched = count_at(r, 2);
        expected_rows = count_at(r, 3);
        sink_rows = count_at(r, 4);
        PQclear(r);
    }
    ok = r != NULL;
    chk_diff_sample_titles(d, o);
    /* Samples: extra rows (one a row, NULL keys last), missing rows, mismatched pairs. */
    if (ok && o->extra) ok = row_samples(ctx, o, d, true);
    if (ok && o->missing) ok = row_samples(ctx, o, d, false);
    if (ok && o->mismatched) ok = mismatch_samples(ctx, o, d);
    hx_buf_release(&sql);
    if (!ok) return false;
    chk_setf(&o->expected, "%llu rows", (unsigned long long)expected_rows);
    chk_setf(&o->actual, "%llu rows: %llu missing, %llu extra, %llu mismatched",
             (unsigned long long)sink_rows, (unsigned long long)o->missing,
             (unsigned long long)o->extra, (unsigned long long)o->mismatched);
    if (o->missing + o->extra + o->mismatched == 0)
        chk_set_outcome(o, CHK_PASS, NULL);
    else
        chk_set_outcome(o, CHK_FAIL, "%llu missing, %llu extra, %llu mismatched rows",
                        (unsigned long long)o->missing, (unsigned long long)o->extra,
                        (unsigned long long)o->mismatched);
    return true;
}

static void check_diff(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    if (c->expect.kind != PLAN_EXP_QUERY) {
        chk_set_outcome(o, CHK_ERROR, "diff needs expect = <dataset query>, e.g. orders:valid()");
        return;
    }
    if (!ctx->conn) {
        chk_set_outcome(o, CHK_ERROR, "no database connection for this check");
        return;
    }
    diff_state d;
    int *cols;
    if (!chk_diff_cols(ctx, c, o, &d, &cols)) return;
    drop_temps(ctx);
    if (!diff_in_db(ctx, c, o, &d)) {
        /* a failure is the outcome's: no samples or counts half made */
        o->missing = o->extra = o->mismatched = 0;
    }
    drop_temps(ctx);
    chk_unseal(ctx);
    hx_free(cols);
}

static void run_diff(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    if (chk_on_topic(c))
        chk_topic_run(ctx, c, o);
    else
        check_diff(ctx, c, o);
}

const chk_kind chk_kind_diff = {
    .name = "diff",
    .keys = (const char *const[]){"table", "topic", "key", "expect", "columns", "tolerance", NULL},
    .flags = CHK_K_NEEDS_TABLE | CHK_K_NEEDS_QUERY | CHK_K_ROWS | CHK_K_DATASET_KEY | CHK_K_BY_KEY,
    .run = run_diff,
    .summary = "the sink holds exactly the expected rows, by key, with equal values",
};
