/* chk_diff.c - diff: the sink's rows against the truth's, by key (data-diff like), and the row
 * matching that file and topic share. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check_int.h"

void chk_diff_sample_titles(const diff_state *d, chk_outcome *o)
{
    const char *titles[] = {"kind", d->ds->cols[d->key_col].name, "column", "expected", "actual"};
    chk_sample_cols(o, 5, titles);
}

void chk_diff_row(diff_state *d, chk_outcome *o, const char *key, diff_val_fn val, void *ud)
{
    exp_row *row = key ? exp_map_find(&d->m, key, false) : NULL;
    if (!row || row->got >= row->want) {
        o->extra++;
        if (d->s_extra++ < d->max) {
            const char *cells[] = {"extra", key ? key : "NULL", NULL, NULL, NULL};
            chk_sample_row(o, cells);
        }
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
        if (!differs && d->s_mis++ < d->max) {
            const char *cells[] = {"mismatch", key, d->ds->cols[d->cols[cc]].name, want[cc], v};
            chk_sample_row(o, cells);
        }
        differs = true;
    }
    o->mismatched += differs;
}

/* Count the truth's rows the sink lacked; returns the number of expected rows. */
uint64_t chk_diff_missing(diff_state *d, chk_outcome *o)
{
    uint64_t expected_rows = 0;
    for (size_t i = 0; i < d->m.cap; i++) {
        exp_row *row = &d->m.slots[i];
        if (!row->key) continue;
        expected_rows += row->want;
        if (row->got < row->want) {
            o->missing += row->want - row->got;
            if (d->s_missing++ < d->max) {
                const char *cells[] = {"missing", row->key, NULL, NULL, NULL};
                chk_sample_row(o, cells);
            }
        }
    }
    return expected_rows;
}

/* Load the truth for a diff-like check: key column (c->key or the dataset's) and compared
 * columns (c->columns or all). False with an ERROR outcome when the check is broken. */
bool chk_diff_init(const chk_ctx *ctx, const plan_check *c, chk_outcome *o, diff_state *d,
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
    hx_err e = {0};
    if (chk_load_truth(ctx, q, key_col, cols, ncols, &d->m, &e) != 0) {
        chk_set_outcome(o, CHK_ERROR, "cannot compute the expected rows: %s", e.msg);
        exp_map_release(&d->m);
        hx_free(cols);
        return false;
    }
    d->ds = ds;
    d->key_col = key_col;
    d->cols = cols;
    d->ncols = ncols;
    d->max = ctx->max_samples ? ctx->max_samples : CHK_DEFAULT_SAMPLES;
    *cols_out = cols;
    return true;
}

/* A row of a diff's query result: PGresult and row index. */
typedef struct pg_row {
    const plan_dataset *ds;
    const int *cols;
    PGresult *r;
    int i;
} pg_row;

static const char *pg_val(void *ud, size_t cc, char *buf, size_t n)
{
    pg_row *pr = ud;
    const char *raw =
        PQgetisnull(pr->r, pr->i, (int)cc + 1) ? NULL : PQgetvalue(pr->r, pr->i, (int)cc + 1);
    return chk_canon_sink(&pr->ds->cols[pr->cols[cc]], raw, buf, n);
}

static void check_diff(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    if (c->expect.kind != PLAN_EXP_QUERY) {
        chk_set_outcome(o, CHK_ERROR, "diff needs expect = <dataset query>, e.g. orders:valid()");
        return;
    }
    diff_state d;
    int *cols;
    if (!chk_diff_init(ctx, c, o, &d, &cols)) return;
    const plan_dataset *ds = d.ds;
    int key_col = d.key_col;
    size_t ncols = d.ncols;
    /* Read the sink: key first, then the compared columns, each as canonical text. */
    char *qt = chk_quote_ident(ctx->conn, c->table);
    hx_buf sql;
    hx_buf_init(&sql);
    hx_buf_puts(&sql, "select ");
    char *qk = chk_quote_ident(ctx->conn, ds->cols[key_col].name);
    chk_canon_sql(&sql, qk ? qk : "?", ds->cols[key_col].type);
    hx_free(qk);
    for (size_t i = 0; i < ncols; i++) {
        char *qc = chk_quote_ident(ctx->conn, ds->cols[cols[i]].name);
        hx_buf_puts(&sql, ", ");
        chk_canon_sql(&sql, qc ? qc : "?", ds->cols[cols[i]].type);
        hx_free(qc);
    }
    hx_buf_printf(&sql, " from %s", qt ? qt : "?");
    hx_free(qt);
    PGresult *r = chk_query(ctx, o, sql.data);
    hx_buf_release(&sql);
    if (!r) {
        exp_map_release(&d.m);
        hx_free(cols);
        return;
    }
    chk_diff_sample_titles(&d, o);
    char kb[64];
    for (int i = 0; i < PQntuples(r); i++) {
        const char *key = chk_canon_sink(
            &ds->cols[key_col], PQgetisnull(r, i, 0) ? NULL : PQgetvalue(r, i, 0), kb, sizeof kb);
        pg_row pr = {ds, cols, r, i};
        chk_diff_row(&d, o, key, pg_val, &pr);
    }
    uint64_t expected_rows = chk_diff_missing(&d, o);
    chk_setf(&o->expected, "%llu rows", (unsigned long long)expected_rows);
    chk_setf(&o->actual, "%d rows: %llu missing, %llu extra, %llu mismatched", PQntuples(r),
             (unsigned long long)o->missing, (unsigned long long)o->extra,
             (unsigned long long)o->mismatched);
    if (o->missing + o->extra + o->mismatched == 0)
        chk_set_outcome(o, CHK_PASS, NULL);
    else
        chk_set_outcome(o, CHK_FAIL, "%llu missing, %llu extra, %llu mismatched rows",
                        (unsigned long long)o->missing, (unsigned long long)o->extra,
                        (unsigned long long)o->mismatched);
    PQclear(r);
    exp_map_release(&d.m);
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
