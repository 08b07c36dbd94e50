/* gen_pattern.c - planted patterns: faults that span several records (a card's burst of payments,
 * a history then an outlier, two countries within minutes, card testing, a merchant's batch
 * refunds), placed so that any record can still be regenerated alone.
 *
 * Placement. Pattern p of a dataset has a span B_p: the most consecutive record ids whose event
 * times (time column: start + id / rate + jitter) surely lie within its window, (window - jitter)
 * x rate. The dataset's ids are cut into slots of L = min B_p ids; an instance of pattern p takes
 * ceil(B_p / L) consecutive slots. Which pattern each of the N = sum of counts instances is comes
 * from a seeded shuffle, so the kinds mix over the day, and the instances are laid out in that
 * order with the free slots spread evenly between them (half a gap before the first). Instance j
 * of size k starting at slot s owns ids s x L + floor(m x B_p / k), m = 0..k-1: spread over its
 * span with ordinary records between them. An id's instance is a binary search over the N start
 * slots, so any record is still regenerated alone.
 *
 * The shared key. Every instance's records get the same parent in the pattern's key column (an
 * FK: a card, a merchant): parent (j x stride + offset) mod parent rows, stride coprime with the
 * parent rows, so two instances never share a parent (N <= parent rows is required). Columns
 * declared `via` the key column follow it (the card's country and device).
 *
 * What each kind changes (amount = the pattern's amount column, factor its multiplier):
 *   velocity, burst: nothing more (every record's amount x factor, default 1);
 *   outlier: the last record's amount is factor (default 10) x the mean of the earlier ones;
 *   geo: the last record's `columns` take another parent's (or record's) values, different ones;
 *   card_testing: the first k-1 amounts tiny (in [small / 10, small]), the last x factor.
 * `set` writes text into columns of every record (type = "refund"). A pattern's record is never
 * corrupted by a corrupt fault (gen.c), so an instance stays whole. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen_int.h"

struct gen_pat {
    uint64_t slot_len;               /* L: ids per slot */
    uint64_t ninst;                  /* N: instances of every pattern */
    uint8_t *inst_fault;             /* per instance: its fault index */
    uint64_t *start;                 /* per instance: its first slot (ascending) */
    uint64_t span[GEN_MAX_FAULTS];   /* per fault index: B_p */
    uint64_t stride[GEN_MAX_FAULTS]; /* per fault index: parent stride (by key parent) */
    uint64_t offset[GEN_MAX_FAULTS]; /* per fault index: parent offset */
};

void gen_pattern_free(gen_pat *p)
{
    if (!p) return;
    hx_free(p->inst_fault);
    hx_free(p->start);
    hx_free(p);
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int gen_pattern_setup(gen *g, size_t di, hx_err *e)
{
    const plan_dataset *d = &g->s->datasets[di];
    gen_ds *gd = &g->ds[di];
    uint64_t n = 0, len = UINT64_MAX;
    bool any = false;
    for (size_t fi = 0; fi < d->nfaults; fi++)
        if (d->faults[fi].kind == PLAN_F_PATTERN) {
            n += d->faults[fi].count;
            any = true;
        }
    if (!any) return 0;
    gen_pat *p = hx_calloc(1, sizeof *p);
    if (!p) return hx_fail(e, HX_ENOMEM, "out of memory placing patterns");
    gd->pat = p;
    const plan_column *tc = gd->arr_col >= 0 ? &d->cols[gd->arr_col] : NULL;
    for (size_t fi = 0; fi < d->nfaults; fi++) {
        const plan_fault *f = &d->faults[fi];
        const char *w = f->where ? f->where : d->where ? d->where : d->name;
        if (f->kind != PLAN_F_PATTERN) continue;
        if (!tc)
            return hx_fail(e, HX_EUSAGE,
                           "%s: pattern '%s' needs the dataset's time column to be a generated "
                           "timestamp (time = \"ts\")",
                           w, f->name);
        double ids = (double)(f->window_us - tc->u.ts.jitter_us) * tc->u.ts.rate / 1e6;
        uint64_t b = ids > 0 ? (uint64_t)ids : 0;
        if (b < f->size)
            return hx_fail(e, HX_EUSAGE,
                           "%s: pattern '%s' puts %u records within %.0f s, but at %.6g records/s "
                           "(jitter %.0f s) that window holds only %llu; use a longer window, a "
                           "smaller size or a higher rate",
                           w, f->name, f->size, (double)f->window_us / 1e6, tc->u.ts.rate,
                           (double)tc->u.ts.jitter_us / 1e6, (unsigned long long)b);
        p->span[fi] = b;
        if (b < len) len = b;
    }
    p->slot_len = len;
    p->ninst = n;
    p->inst_fault = hx_calloc(n ? n : 1, 1);
    p->start = hx_calloc(n ? n : 1, sizeof *p->start);
    if (!p->inst_fault || !p->start) return hx_fail(e, HX_ENOMEM, "out of memory placing patterns");
    uint64_t k = 0;
    for (size_t fi = 0; fi < d->nfaults; fi++)
        if (d->faults[fi].kind == PLAN_F_PATTERN)
            for (uint64_t c = 0; c < d->faults[fi].count; c++)
                p->inst_fault[k++] = (uint8_t)fi;
    uint64_t key = rng_key(d->seed, S_PATTERN);
    for (uint64_t i = n; i > 1; i--) { /* Fisher-Yates */
        uint64_t j = rng_below(rng_draw(key, i, 0), i);
        uint8_t t = p->inst_fault[i - 1];
        p->inst_fault[i - 1] = p->inst_fault[j];
        p->inst_fault[j] = t;
    }
    uint64_t nslots = d->rows / len, used = 0;
    for (uint64_t j = 0; j < n; j++)
        used += (p->span[p->inst_fault[j]] + len - 1) / len;
    if (used > nslots)
        return hx_fail(e, HX_EUSAGE,
                       "%s: the patterns of dataset '%s' need %llu slots of %llu records, it "
                       "has %llu; fewer instances, shorter windows or more rows",
                       d->where ? d->where : d->name, d->name, (unsigned long long)used,
                       (unsigned long long)len, (unsigned long long)nslots);
    uint64_t free = nslots - used, at = 0;
    for (uint64_t j = 0; j < n; j++) {
        uint64_t gap = (uint64_t)(((unsigned __int128)(2 * j + 1) * free) / (2 * n));
        p->start[j] = at + gap;
        at += (p->span[p->inst_fault[j]] + len - 1) / len;
    }
    /* One stride and offset per parent dataset, so instances never share a parent. */
    for (size_t fi = 0; fi < d->nfaults; fi++) {
        const plan_fault *f = &d->faults[fi];
        if (f->kind != PLAN_F_PATTERN) continue;
        const plan_column *kc = &d->cols[f->column];
        size_t pds = kc->u.fk.dataset;
        uint64_t prows = g->s->datasets[pds].rows;
        if (n > prows)
            return hx_fail(e, HX_EUSAGE,
                           "%s: %llu pattern instances need as many distinct '%s' records; "
                           "'%s' has %llu",
                           f->where ? f->where : d->name, (unsigned long long)n,
                           g->s->datasets[pds].name, g->s->datasets[pds].name,
                           (unsigned long long)prows);
        uint64_t st = 1;
        for (uint64_t t = 0; t < 64 && prows > 1; t++) {
            uint64_t c = 1 + rng_below(rng_draw(key, pds, 1 + t), prows - 1);
            if (gcd64(c, prows) == 1) {
                st = c;
                break;
            }
        }
        p->stride[fi] = st;
        p->offset[fi] = rng_below(rng_draw(key, pds, 100), prows);
    }
    return 0;
}

bool gen_pattern_member(const gen *g, size_t di, uint64_t id, size_t *fi, uint64_t *inst,
                        uint32_t *member)
{
    const gen_pat *p = g->ds[di].pat;
    if (!p || !p->ninst) return false;
    uint64_t s = id / p->slot_len, lo = 0, hi = p->ninst;
    while (lo < hi) { /* the first instance starting after slot s */
        uint64_t mid = lo + (hi - lo) / 2;
        if (p->start[mid] <= s)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return false;
    uint64_t j = lo - 1;
    size_t f = p->inst_fault[j];
    uint64_t b = p->span[f], size = g->s->datasets[di].faults[f].size;
    uint64_t r = id - p->start[j] * p->slot_len;
    if (r >= b) return false;
    uint64_t m = (uint64_t)(((unsigned __int128)r * size + b - 1) / b);
    if (m >= size || (uint64_t)((unsigned __int128)m * b / size) != r) return false;
    if (fi) *fi = f;
    if (inst) *inst = j;
    if (member) *member = (uint32_t)m;
    return true;
}

static void scale_amount(const plan_dataset *d, int c, double factor, gen_record *r)
{
    gen_value *v = &r->vals[c];
    if (c < 0 || v->null || factor == 1) return;
    double y = (double)v->i * factor;
    v->i = y >= 9.2e18 ? INT64_MAX : y <= -9.2e18 ? INT64_MIN : (int64_t)llround(y);
    (void)d;
}

static bool same_value(const gen_value *a, const gen_value *b, bool is_str, const char *as,
                       uint32_t alen)
{
    if (a->null || b->null) return a->null == b->null;
    if (!is_str) return a->i == b->i;
    return alen == b->len && memcmp(as, b->s, alen) == 0;
}

/* GEO: column c of r takes the value of another parent (FK) or record, a different one. */
static bool geo_change(const gen *g, size_t di, const gen_fault *gf, int c, uint64_t pid,
                       gen_record *r)
{
    const plan_dataset *d = &g->s->datasets[di];
    const plan_column *col = &d->cols[c];
    bool is_str = col->type == PLAN_T_STRING || col->type == PLAN_T_UUID;
    gen_value old = r->vals[c];
    char buf[256];
    uint32_t olen = 0;
    if (is_str && !old.null) {
        olen = old.len < sizeof buf ? old.len : (uint32_t)sizeof buf;
        memcpy(buf, old.s, olen);
    }
    uint64_t n = col->kind == PLAN_COL_FK ? g->s->datasets[col->u.fk.dataset].rows : d->rows;
    uint64_t from = col->kind == PLAN_COL_FK ? pid : r->id;
    for (uint64_t k = 0; k < 32 && n > 1; k++) {
        uint64_t at =
            (from + 1 + rng_below(rng_draw(gf->key, r->id, 10 + (uint64_t)c * 64 + k), n - 1)) % n;
        if (!gen_fill_from(g, di, (size_t)c, at, r)) return false;
        if (!same_value(&old, &r->vals[c], is_str, buf, olen)) return true;
    }
    return true;
}

bool gen_pattern_apply(const gen *g, size_t di, size_t fi, gen_record *r)
{
    const plan_dataset *d = &g->s->datasets[di];
    const plan_fault *f = &d->faults[fi];
    const gen_pat *p = g->ds[di].pat;
    const gen_fault *gf = &g->ds[di].faults[fi];
    size_t which;
    uint64_t j;
    uint32_t m;
    if (!gen_pattern_member(g, di, r->id, &which, &j, &m) || which != fi) return true;
    r->faults |= 1u << PLAN_F_PATTERN;
    r->hit_mask |= 1ULL << fi;
    r->aux[fi] = (int64_t)(j << 16 | m); /* the ledger's instance and member */
    const plan_column *kc = &d->cols[f->column];
    uint64_t prows = g->s->datasets[kc->u.fk.dataset].rows;
    uint64_t pid = (uint64_t)(((unsigned __int128)j * p->stride[fi] + p->offset[fi]) % prows);
    if (!gen_fill_parent(g, di, (size_t)f->column, pid, r, true)) return false;
    bool last = m + 1 == f->size;
    const gen_value *av = f->amount_col >= 0 ? &r->vals[f->amount_col] : NULL;
    switch (f->pattern) {
    case PLAN_P_OUTLIER:
        if (last && av) { /* factor x the mean of the instance's earlier amounts (clean) */
            __int128 sum = 0;
            for (uint32_t k = 0; k + 1 < f->size; k++) {
                uint64_t at = p->start[j] * p->slot_len + (uint64_t)k * p->span[fi] / f->size;
                if (!gen_fill_from(g, di, (size_t)f->amount_col, at, r)) return false;
                sum += r->vals[f->amount_col].null ? 0 : r->vals[f->amount_col].i;
            }
            r->vals[f->amount_col].null = false;
            r->vals[f->amount_col].i = (int64_t)(sum / (f->size - 1));
            scale_amount(d, f->amount_col, f->factor, r);
        }
        break;
    case PLAN_P_CARD_TESTING:
        if (last) {
            scale_amount(d, f->amount_col, f->factor, r);
        } else if (av) {
            double p10 = 1;
            for (int i = 0; i < d->cols[f->amount_col].scale; i++)
                p10 *= 10;
            int64_t hi = (int64_t)llround(f->small * p10), lo = hi / 10 > 0 ? hi / 10 : 1;
            if (hi < lo) hi = lo;
            r->vals[f->amount_col].null = false;
            r->vals[f->amount_col].i =
                lo + (int64_t)rng_below(rng_draw(gf->key, r->id, 3), (uint64_t)(hi - lo + 1));
        }
        break;
    case PLAN_P_GEO:
        if (last)
            for (size_t k = 0; k < f->npcols; k++)
                if (!geo_change(g, di, gf, f->pcols[k], pid, r)) return false;
        scale_amount(d, f->amount_col, f->factor, r);
        break;
    default: /* VELOCITY, BURST */
        scale_amount(d, f->amount_col, f->factor, r);
        break;
    }
    for (size_t k = 0; k < f->nset; k++)
        if (!gen_record_set_string(r, (size_t)f->set_cols[k], f->set_vals[k],
                                   strlen(f->set_vals[k])))
            return false;
    return true;
}
