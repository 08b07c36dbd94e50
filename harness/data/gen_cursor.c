/* gen_cursor.c - walking a dataset's emissions in arrival order, whole, by batch or by range of
 * originals. See gen.h. */
#include <string.h>

#include "gen_int.h"

int gen_cursor_init(gen_cursor *c, gen *g, size_t ds, int64_t batch, hx_err *e)
{
    memset(c, 0, sizeof *c);
    if (ds >= g->s->ndatasets)
        return hx_fail(e, HX_EUSAGE, "no dataset %zu in scenario '%s'", ds, g->s->name);
    const plan_dataset *d = &g->s->datasets[ds];
    const gen_ds *gd = &g->ds[ds];
    if (batch >= (int64_t)gd->nbatches || batch < -1)
        return hx_fail(e, HX_EUSAGE, "dataset '%s' has no batch %lld (it has %u)", d->name,
                       (long long)batch, gd->nbatches);
    int rc = gen_record_init(&c->rec, d->ncols);
    if (rc < 0) return hx_fail(e, rc, "out of memory starting a cursor on '%s'", d->name);
    c->g = g;
    c->ds = ds;
    c->batch = batch;
    uint64_t rows = d->rows, lo = 0, hi = rows;
    if (batch >= 0 && d->batching == PLAN_BATCH_COUNT) {
        uint64_t b = (uint64_t)batch, nb = gd->nbatches;
        lo = (uint64_t)(((unsigned __int128)b * rows + nb - 1) / nb);
        hi = (uint64_t)(((unsigned __int128)(b + 1) * rows + nb - 1) / nb);
    } else if (batch >= 0 && d->batching == PLAN_BATCH_DAY) {
        /* Jitter (uniform in [0, jit)) can move a record across midnight: take every id that
         * could land on the day, base + jit - 1 >= dstart (base >= dstart without jitter: a
         * record stamped exactly at midnight belongs to the day it starts), and check each one. */
        int64_t jit, dstart = (gd->day0 + batch) * DAY_US;
        gen_arrival_base(g, ds, 0, &jit);
        lo = batch == 0 ? 0 : gen_first_base_at(g, ds, dstart - (jit > 0 ? jit - 1 : 0));
        hi = batch == (int64_t)gd->nbatches - 1 ? rows : gen_first_base_at(g, ds, dstart + DAY_US);
        c->filter = jit > 0 || batch == 0 || batch == (int64_t)gd->nbatches - 1;
    }
    c->next_main = lo;
    c->main_end = hi;
    c->next_dup = lo > gd->gap ? lo - gd->gap : 0;
    c->dup_end = hi == rows ? rows : (hi > gd->gap ? hi - gd->gap : 0);
    if (!gd->has_dup) c->next_dup = c->dup_end = 0;
    return 0;
}

int gen_cursor_init_range(gen_cursor *c, gen *g, size_t ds, uint64_t lo, uint64_t hi, hx_err *e)
{
    int rc = gen_cursor_init(c, g, ds, -1, e);
    if (rc < 0) return rc;
    const gen_ds *gd = &g->ds[ds];
    uint64_t rows = g->s->datasets[ds].rows;
    if (hi > rows) hi = rows;
    if (lo > hi) lo = hi;
    /* The same cut gen_cursor_init makes for a COUNT batch: a copy belongs to the range holding
     * the original it follows (id + gap), and the last range takes the copies past the end. */
    c->next_main = lo;
    c->main_end = hi;
    c->next_dup = lo > gd->gap ? lo - gd->gap : 0;
    c->dup_end = hi == rows ? rows : (hi > gd->gap ? hi - gd->gap : 0);
    if (!gd->has_dup) c->next_dup = c->dup_end = 0;
    return 0;
}

int gen_cursor_next(gen_cursor *c, const gen_record **out, hx_err *e)
{
    gen *g = c->g;
    const plan_dataset *d = &g->s->datasets[c->ds];
    uint64_t gap = g->ds[c->ds].gap, rows = d->rows;
    for (;;) {
        if (c->next_dup < c->dup_end &&
            (c->next_dup + gap < c->next_main || c->next_main >= c->main_end)) {
            uint64_t id = c->next_dup++;
            if (!dup_hit(g, c->ds, id, NULL)) continue;
            if (c->filter) {
                uint64_t pos = id + gap < rows ? id + gap : rows - 1;
                if (gen_batch_of(g, c->ds, pos) != (uint32_t)c->batch) continue;
            }
            int rc = gen_record_at(g, c->ds, id, 1, &c->rec, e);
            if (rc < 0) return rc;
            c->emitted++;
            *out = &c->rec;
            return 1;
        }
        if (c->next_main < c->main_end) {
            uint64_t id = c->next_main++;
            if (c->filter && gen_batch_of(g, c->ds, id) != (uint32_t)c->batch) continue;
            int rc = gen_record_at(g, c->ds, id, 0, &c->rec, e);
            if (rc < 0) return rc;
            c->emitted++;
            *out = &c->rec;
            return 1;
        }
        if (c->next_dup >= c->dup_end) return 0;
    }
}

void gen_cursor_release(gen_cursor *c)
{
    gen_record_release(&c->rec);
    memset(c, 0, sizeof *c);
}
