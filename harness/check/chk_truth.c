/* chk_truth.c - the ground truth of a query, as rows by key, for the checks that compare rows
 * (diff, file, topic, quarantine, precision_recall). */
#include <string.h>

#include "check_int.h"

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

static bool subset_keeps(const plan_subset *sub, const gen_record *r)
{
    bool corrupt = r->faults & (1u << PLAN_F_CORRUPT);
    if (sub->valid && corrupt) return false;
    if (sub->corrupt_only && !corrupt) return false;
    if (sub->with_faults && !(r->faults & sub->with_faults)) return false;
    if (r->faults & sub->without_faults) return false;
    return true;
}

/* Stream the truth of query q into m: per key, the compared columns' canonical values. */
int chk_load_truth(const chk_ctx *ctx, const plan_query *q, int key_col, const int *cols,
                   size_t ncols, exp_map *m, hx_err *e)
{
    const plan_dataset *ds = &ctx->s->datasets[q->dataset];
    gen_cursor cur;
    int rc = gen_cursor_init(&cur, ctx->g, q->dataset, -1, e);
    if (rc) return rc;
    const gen_record *r;
    char kb[64], vb[64];
    m->ncols = ncols;
    while ((rc = gen_cursor_next(&cur, &r, e)) == 1) {
        if (!subset_keeps(&q->sub, r)) continue;
        const char *key = chk_canon_truth(&ds->cols[key_col], &r->vals[key_col], kb, sizeof kb);
        if (!key) continue; /* a NULL key cannot be matched; diff compares keyed rows */
        bool dedup = q->sub.dedup_col >= 0;
        exp_row *row = exp_map_find(m, key, true);
        if (!row) {
            rc = hx_fail(e, HX_ENOMEM, "out of memory building the expected rows");
            break;
        }
        if (dedup && row->want && !q->sub.dedup_last) continue;
        size_t ver = 0; /* dedup keeps one version: the last one overwrites it */
        if (!dedup || !row->want) {
            if (row->want && !exp_map_add_version(m, row)) {
                rc = hx_fail(e, HX_ENOMEM, "out of memory building the expected rows");
                break;
            }
            ver = row->want++;
        }
        char **dst = row->vals + ver * ncols;
        for (size_t c = 0; c < ncols; c++) {
            const char *v = chk_canon_truth(&ds->cols[cols[c]], &r->vals[cols[c]], vb, sizeof vb);
            hx_free(dst[c]);
            dst[c] = v ? hx_strdup(v) : NULL;
            if (v && !dst[c]) {
                rc = hx_fail(e, HX_ENOMEM, "out of memory building the expected rows");
                break;
            }
        }
        if (rc < 0) break;
    }
    gen_cursor_release(&cur);
    return rc < 0 ? rc : 0;
}
