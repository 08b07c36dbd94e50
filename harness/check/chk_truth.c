/* chk_truth.c - the ground truth of a query, as rows by key, for the checks that compare rows
 * (diff, file, topic, quarantine, precision_recall). */
#include <string.h>

#include "check_int.h"
#include "ledger.h"

exp_row *exp_map_find(exp_map *m, const char *key, bool insert)
{
    if (insert && (m->n + 1) * 10 > m->cap * 7) {
        size_t ncap = m->cap ? m->cap * 2 : 1024;
        exp_row *ns = hx_calloc(ncap, sizeof *ns);
        if (!ns) return NULL;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->slots[i].key) continue;
            size_t h = hx_hash64(m->slots[i].key, strlen(m->slots[i].key)) & (ncap - 1);
            while (ns[h].key)
                h = (h + 1) & (ncap - 1);
            ns[h] = m->slots[i];
        }
        hx_free(m->slots);
        m->slots = ns;
        m->cap = ncap;
    }
    if (!m->cap) return NULL;
    size_t h = hx_hash64(key, strlen(key)) & (m->cap - 1);
    while (m->slots[h].key) {
        if (strcmp(m->slots[h].key, key) == 0) return &m->slots[h];
        h = (h + 1) & (m->cap - 1);
    }
    if (!insert) return NULL;
    char *k = hx_strdup(key);
    char **vals = hx_calloc(m->ncols ? m->ncols : 1, sizeof(char *));
    if (!k || !vals) {
        hx_free(k);
        hx_free(vals);
        return NULL;
    }
    m->slots[h].key = k;
    m->slots[h].vals = vals;
    m->n++;
    return &m->slots[h];
}

/* Room for one more version of row (its values NULL, not used). False when out of memory. */
bool exp_map_add_version(exp_map *m, exp_row *row)
{
    size_t nv = (size_t)row->want + 1, nc = m->ncols ? m->ncols : 1;
    char **vals = hx_realloc(row->vals, nv * nc * sizeof *vals);
    if (!vals) return false;
    row->vals = vals;
    memset(vals + (nv - 1) * nc, 0, nc * sizeof *vals);
    uint8_t *used = hx_realloc(row->used, nv);
    if (!used) return false;
    if (!row->used) memset(used, 0, nv);
    used[nv - 1] = 0;
    row->used = used;
    return true;
}

void exp_map_release(exp_map *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key) continue;
        hx_free(m->slots[i].key);
        size_t nv = m->slots[i].want ? m->slots[i].want : 1;
        for (size_t c = 0; c < nv * m->ncols; c++)
            hx_free(m->slots[i].vals[c]);
        hx_free(m->slots[i].vals);
        hx_free(m->slots[i].used);
    }
    hx_free(m->slots);
    memset(m, 0, sizeof *m);
}

/* Stream the truth of query q into m: the records of q's subset as the ledger defines it (its
 * fault filters and its dedup, on whatever column that is), each a version of the row of its key
 * column's value, with the compared columns' canonical values. */
int chk_load_truth(const chk_ctx *ctx, const plan_query *q, int key_col, const int *cols,
                   size_t ncols, exp_map *m, hx_err *e)
{
    const plan_dataset *ds = &ctx->s->datasets[q->dataset];
    ledger_iter *it;
    int rc = ledger_iter_new(ctx->g, q, &it, e);
    if (rc) return rc;
    const gen_record *r;
    char kb[64], vb[64];
    m->ncols = ncols;
    while ((rc = ledger_iter_next(it, &r, e)) == 1) {
        const char *key = chk_canon_truth(&ds->cols[key_col], &r->vals[key_col], kb, sizeof kb);
        if (!key) continue; /* a NULL key cannot be matched; diff compares keyed rows */
        exp_row *row = exp_map_find(m, key, true);
        if (!row || (row->want && !exp_map_add_version(m, row))) {
            rc = hx_fail(e, HX_ENOMEM, "out of memory building the expected rows");
            break;
        }
        char **dst = row->vals + (size_t)row->want++ * ncols;
        for (size_t c = 0; c < ncols; c++) {
            const char *v = chk_canon_truth(&ds->cols[cols[c]], &r->vals[cols[c]], vb, sizeof vb);
            dst[c] = v ? hx_strdup(v) : NULL;
            if (v && !dst[c]) {
                rc = hx_fail(e, HX_ENOMEM, "out of memory building the expected rows");
                break;
            }
        }
        if (rc < 0) break;
    }
    ledger_iter_free(it);
    return rc < 0 ? rc : 0;
}
