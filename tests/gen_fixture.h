/* gen_fixture.h - building plan structs in C for the generator, fmt and ledger tests (no Lua), and
 * a small RFC 4180 CSV line splitter used as an independent oracle. Everything is allocated with
 * hx_* so plan_scenario_release() frees it. Header-only: each test includes it once. */
#ifndef HX_GEN_FIXTURE_H
#define HX_GEN_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "gen.h"
#include "plan.h"
#include "util.h"

/* Not every test uses every helper. */
#define FX_FN static __attribute__((unused))

FX_FN plan_dataset *fx_dataset(plan_scenario *s, const char *name, uint64_t rows, uint64_t seed)
{
    s->datasets = hx_realloc(s->datasets, (s->ndatasets + 1) * sizeof *s->datasets);
    plan_dataset *d = &s->datasets[s->ndatasets++];
    memset(d, 0, sizeof *d);
    d->name = hx_strdup(name);
    d->rows = rows;
    d->seed = seed;
    d->key_col = -1;
    d->time_col = -1;
    d->batching = PLAN_BATCH_NONE;
    return d;
}

FX_FN plan_column *fx_col(plan_dataset *d, const char *name, plan_col_kind k, plan_type t)
{
    d->cols = hx_realloc(d->cols, (d->ncols + 1) * sizeof *d->cols);
    plan_column *c = &d->cols[d->ncols++];
    memset(c, 0, sizeof *c);
    c->name = hx_strdup(name);
    c->kind = k;
    c->type = t;
    return c;
}

/* A categorical column from a NULL-terminated list of values and their weights. */
FX_FN plan_column *fx_cat(plan_dataset *d, const char *name, plan_type t, const char **values,
                          const double *weights)
{
    plan_column *c = fx_col(d, name, PLAN_COL_CATEGORICAL, t);
    size_t n = 0;
    double total = 0, run = 0;
    while (values[n])
        total += weights[n++];
    c->u.cat.values = hx_calloc(n, sizeof(char *));
    c->u.cat.cum = hx_calloc(n, sizeof(double));
    c->u.cat.n = n;
    for (size_t i = 0; i < n; i++) {
        c->u.cat.values[i] = hx_strdup(values[i]);
        run += weights[i];
        c->u.cat.cum[i] = i + 1 == n ? 1.0 : run / total;
    }
    return c;
}

FX_FN plan_fault *fx_fault(plan_dataset *d, plan_fault_kind k, double fraction, int column)
{
    d->faults = hx_realloc(d->faults, (d->nfaults + 1) * sizeof *d->faults);
    plan_fault *f = &d->faults[d->nfaults++];
    memset(f, 0, sizeof *f);
    f->kind = k;
    f->fraction = fraction;
    f->column = column;
    return f;
}

FX_FN plan_scenario *fx_scenario(void)
{
    plan_scenario *s = hx_calloc(1, sizeof *s);
    s->name = hx_strdup("fixture");
    return s;
}

FX_FN void fx_free(plan_scenario *s)
{
    plan_scenario_release(s);
    hx_free(s);
}

/* 2026-01-01T00:00:00Z in microseconds. */
#define FX_T0 1767225600000000LL

/* A typical orders dataset: id sequence (key), amount decimal(2), status categorical, ts
 * timestamp (time column, 1 row/s, 500 ms jitter), name pattern, flag bool, uid uuid. */
FX_FN plan_dataset *fx_orders(plan_scenario *s, uint64_t rows, uint64_t seed)
{
    static const char *st[] = {"new", "paid", "shipped", NULL};
    static const double w[] = {0.2, 0.5, 0.3};
    plan_dataset *d = fx_dataset(s, "orders", rows, seed);
    plan_column *c = fx_col(d, "id", PLAN_COL_SEQUENCE, PLAN_T_INT);
    c->u.seq.start = 1;
    c->u.seq.step = 1;
    c = fx_col(d, "amount", PLAN_COL_DECIMAL, PLAN_T_DECIMAL);
    c->scale = 2;
    c->u.drange.min = 1;
    c->u.drange.max = 500;
    fx_cat(d, "status", PLAN_T_STRING, st, w);
    c = fx_col(d, "ts", PLAN_COL_TIMESTAMP, PLAN_T_TIMESTAMP);
    c->u.ts.start_us = FX_T0;
    c->u.ts.rate = 1;
    c->u.ts.jitter_us = 500000;
    c = fx_col(d, "name", PLAN_COL_PATTERN, PLAN_T_STRING);
    c->u.pat.pattern = hx_strdup("{Ana|Bo|\"Cy\"} ##, AA");
    c = fx_col(d, "flag", PLAN_COL_BOOL, PLAN_T_BOOL);
    c->u.boolean.p = 0.3;
    fx_col(d, "uid", PLAN_COL_UUID, PLAN_T_UUID);
    d->key_col = 0;
    d->time_col = 3;
    return d;
}

/* Split one CSV line (without its newline) into fields, RFC 4180. Fields are written into
 * out[i] (NUL-terminated copies, hx_free'd by fx_fields_free), quoted[i] says whether the field
 * was quoted. Returns the number of fields, or -1 for a malformed line (stray quote, unterminated
 * quoted field). */
FX_FN int fx_csv_split(const char *s, size_t n, char **out, bool *quoted, int max)
{
    int nf = 0;
    size_t i = 0;
    for (;;) {
        if (nf == max) return -1;
        hx_buf f;
        hx_buf_init(&f);
        hx_buf_append(&f, "", 0);
        bool q = i < n && s[i] == '"';
        if (q) {
            i++;
            for (;;) {
                if (i >= n) {
                    hx_buf_release(&f);
                    return -1;
                }
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        hx_buf_putc(&f, '"');
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                hx_buf_putc(&f, s[i++]);
            }
            if (i < n && s[i] != ',') {
                hx_buf_release(&f);
                return -1;
            }
        } else {
            while (i < n && s[i] != ',') {
                if (s[i] == '"') {
                    hx_buf_release(&f);
                    return -1;
                }
                hx_buf_putc(&f, s[i++]);
            }
        }
        out[nf] = hx_buf_steal(&f);
        quoted[nf++] = q;
        if (i >= n) return nf;
        i++; /* the comma */
    }
}

FX_FN void fx_fields_free(char **f, int n)
{
    for (int i = 0; i < n; i++)
        hx_free(f[i]);
}

/* The whole output of fmt_write_dataset in memory, its sha256 and record count. */
FX_FN char *fx_write(gen *g, size_t ds, plan_format f, int64_t batch, size_t *len, char sha[65],
                     uint64_t *emitted)
{
    char *data = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&data, &n);
    hx_err e = {0};
    hx_sha256 h;
    fmt_write_stats st;
    hx_sha256_init(&h);
    int rc = fmt_write_dataset(g, ds, f, batch, m, &h, &st, &e);
    fclose(m);
    if (rc != 0) {
        fprintf(stderr, "fmt_write_dataset: %s\n", e.msg);
        free(data);
        return NULL;
    }
    if (sha) hx_sha256_final(&h, sha);
    if (emitted) *emitted = st.rows;
    if (st.bytes != n) {
        fprintf(stderr, "fmt_write_dataset: counted %llu bytes, wrote %zu\n",
                (unsigned long long)st.bytes, n);
        free(data);
        return NULL;
    }
    *len = n;
    return data; /* free() it: open_memstream's buffer */
}

#endif
