/* gen.c - see gen.h (the cursor is in gen_cursor.c). Values come from rng.h draws keyed by (dataset
 * seed, stream); streams are laid out below so that adding a fault never changes the values of
 * columns or of other faults. */
#include "gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_int.h"
#include "rng.h"

static const char *ds_where(const plan_dataset *d)
{
    return d->where ? d->where : d->name;
}

/* ---- records ---- */

int gen_record_init(gen_record *r, size_t ncols)
{
    memset(r, 0, sizeof *r);
    hx_buf_init(&r->strings);
    r->ncols = ncols;
    r->corrupt_col = -1;
    r->vals = hx_calloc(ncols ? ncols : 1, sizeof *r->vals);
    r->str_off = hx_calloc(ncols ? ncols : 1, sizeof *r->str_off);
    if (!r->vals || !r->str_off || !hx_buf_reserve(&r->strings, 256)) {
        gen_record_release(r);
        return HX_ENOMEM;
    }
    return 0;
}

void gen_record_release(gen_record *r)
{
    hx_free(r->vals);
    hx_free(r->str_off);
    hx_free(r->aux);
    hx_buf_release(&r->strings);
    memset(r, 0, sizeof *r);
}

/* Re-point string values after the backing buffer may have moved. */
static void rec_fix_strings(gen_record *r)
{
    for (size_t c = 0; c < r->ncols; c++)
        if (r->str_off[c] != NO_OFF && !r->vals[c].null)
            r->vals[c].s = r->strings.data + r->str_off[c];
}

bool gen_record_set_string(gen_record *r, size_t c, const char *s, size_t len)
{
    if (c >= r->ncols || len > UINT32_MAX) return false;
    size_t off = r->strings.len;
    if (!hx_buf_append(&r->strings, s, len) || !hx_buf_putc(&r->strings, '\0')) return false;
    r->str_off[c] = off;
    r->vals[c].null = false;
    r->vals[c].len = (uint32_t)len;
    rec_fix_strings(r);
    return true;
}

/* ---- column values ---- */

static int64_t ts_base(const plan_column *col, uint64_t id)
{
    return col->u.ts.start_us + (int64_t)((double)id * 1e6 / col->u.ts.rate);
}

static int64_t ts_value(const plan_column *col, const gen_col *gc, uint64_t id)
{
    int64_t v = ts_base(col, id);
    if (col->u.ts.jitter_us > 0)
        v += (int64_t)rng_below(rng_draw(gc->vkey, id, 0), (uint64_t)col->u.ts.jitter_us);
    return v;
}

/* A standard normal from two draws (Box-Muller). log, sqrt and cos come from libm: glibc and musl
 * round these correctly or within 1 ulp, so on a different libm a value that lands exactly on a
 * rounding boundary of the column's scale could differ in its last digit. That risk is accepted
 * for NORMAL / LOGNORMAL only; every other kind uses integer arithmetic or exact IEEE operations.
 */
static double std_normal(uint64_t key, uint64_t id)
{
    double u1 = rng_unit_open(rng_draw(key, id, 0));
    double u2 = rng_unit(rng_draw(key, id, 1));
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* llround(y) for |y| < 9.2e18 without the libm call: truncation is exact in that range, and so
 * is the fraction y - trunc(y) (zero once |y| >= 2^52), so halves round away from zero exactly as
 * llround does. NaN goes to llround. */
static inline int64_t round_half_away(double y)
{
    if (y != y) return llround(y);
    int64_t t = (int64_t)y;
    double f = y - (double)t;
    return t + (f >= 0.5) - (f <= -0.5);
}

static int64_t scaled(double x, double pow10)
{
    double y = x * pow10;
    if (y >= 9.2e18) return INT64_MAX;
    if (y <= -9.2e18) return INT64_MIN;
    return round_half_away(y);
}

static const char hexd[] = "0123456789abcdef";

static bool put_uuid(hx_buf *sb, uint64_t a, uint64_t b)
{
    char u[37];
    uint64_t w[2] = {a, b};
    int k = 0;
    for (int n = 0; n < 32; n++) {
        if (n == 8 || n == 12 || n == 16 || n == 20) u[k++] = '-';
        unsigned nib = (unsigned)(w[n / 16] >> (60 - 4 * (n % 16))) & 15u;
        if (n == 12)
            nib = 4; /* version 4 */
        else if (n == 16)
            nib = 8 | (nib & 3); /* RFC 4122 variant */
        u[k++] = hexd[nib];
    }
    u[36] = '\0';
    return hx_buf_append(sb, u, 37);
}

static bool put_pattern(hx_buf *sb, const char *p, uint64_t key, uint64_t id)
{
    static const char up[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    static const char lo[] = "abcdefghijklmnopqrstuvwxyz";
    static const char an[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    uint64_t k = 0;
    if (!hx_buf_reserve(sb, strlen(p) + 1)) return false;
    for (; *p; p++) {
        char ch = *p;
        switch (ch) {
        case '#':
            ch = (char)('0' + rng_below(rng_draw(key, id, k++), 10));
            break;
        case 'A':
            ch = up[rng_below(rng_draw(key, id, k++), 26)];
            break;
        case 'a':
            ch = lo[rng_below(rng_draw(key, id, k++), 26)];
            break;
        case '?':
            ch = an[rng_below(rng_draw(key, id, k++), 62)];
            break;
        case '\\':
            if (p[1]) ch = *++p;
            break;
        case '{': {
            const char *end = strchr(p, '}');
            if (!end) break; /* a lone '{' is literal */
            size_t nw = 1;
            for (const char *q = p + 1; q < end; q++)
                nw += *q == '|';
            uint64_t pick = rng_below(rng_draw(key, id, k++), nw);
            const char *w = p + 1;
            for (; pick; w++)
                pick -= *w == '|';
            const char *we = w;
            while (we < end && *we != '|')
                we++;
            if (!hx_buf_append(sb, w, (size_t)(we - w))) return false;
            p = end;
            continue;
        }
        default:
            break;
        }
        if (!hx_buf_putc(sb, ch)) return false;
    }
    return hx_buf_putc(sb, '\0');
}

/* The per-column constants of the ZIPF inverse CDF; fk_parent must see exactly these doubles. */
static void zipf_setup(gen_col *gc, double s, uint64_t prows)
{
    double n1 = (double)prows + 1.0;
    if (fabs(s - 1.0) < 1e-9) {
        gc->zipf_a = log(n1);
    } else {
        gc->zipf_a = pow(n1, 1.0 - s) - 1.0;
        gc->zipf_e = 1.0 / (1.0 - s);
    }
}

/* Inverse CDF of the continuous power law on [1, N+1): parent 0 is the most popular.
 * r = exp(u * log(N+1)) at skew 1, else (1 + u * ((N+1)^(1-s) - 1))^(1/(1-s)). */
static double zipf_r(const gen_col *gc, double skew, double u)
{
    if (fabs(skew - 1.0) < 1e-9) return exp(u * gc->zipf_a);
    return pow(1.0 + u * gc->zipf_a, gc->zipf_e);
}

static uint64_t zipf_pid(double r, uint64_t prows)
{
    uint64_t pid = r < 1.0 ? 0 : (uint64_t)r - 1;
    return pid < prows ? pid : prows - 1;
}

/* The guide table: r(u) is monotone in u (the base 1 + u * a is rounded monotonically and the
 * true pow / exp is monotone; libm's result is within an ulp of it), so when both ends of a
 * bucket of u, widened by a relative 1e-12 (far more than an ulp), map to one parent, every u
 * inside maps to it too and the table answers exactly what pow() would. Buckets where the
 * parent changes, mostly the steep tail near u = 1, stay ZIPF_SLOW. Built only where rows pay
 * for its 2^16 pow() calls. Returns false on OOM. */
static bool zipf_table(gen_col *gc, double skew, uint64_t rows, uint64_t prows)
{
    enum { BLOCK = 1u << ZIPF_BLOCK_BITS, NBLOCKS = ZIPF_BUCKETS / BLOCK };
    if (rows < 8 * (uint64_t)ZIPF_BUCKETS || prows >= UINT32_MAX) return true;
    gc->zipf_base = hx_malloc(NBLOCKS * sizeof *gc->zipf_base + ZIPF_BUCKETS);
    if (!gc->zipf_base) return false;
    gc->zipf_delta = (uint8_t *)(gc->zipf_base + NBLOCKS);
    double r_hi = zipf_r(gc, skew, 0.0);
    for (uint32_t k = 0; k < NBLOCKS; k++) {
        uint64_t p[BLOCK], base = UINT64_MAX; /* UINT64_MAX: this bucket is slow */
        for (uint32_t i = 0; i < BLOCK; i++) {
            double r_lo = r_hi;
            r_hi = zipf_r(gc, skew, (double)(k * BLOCK + i + 1) * (1.0 / ZIPF_BUCKETS));
            double lo = fmin(r_lo, r_hi) * (1.0 - 1e-12), hi = fmax(r_lo, r_hi) * (1.0 + 1e-12);
            p[i] = zipf_pid(lo, prows);
            if (!isfinite(lo) || !isfinite(hi) || p[i] != zipf_pid(hi, prows)) p[i] = UINT64_MAX;
            if (p[i] < base) base = p[i];
        }
        gc->zipf_base[k] = base == UINT64_MAX ? 0 : (uint32_t)base;
        for (uint32_t i = 0; i < BLOCK; i++) /* a parent too far from the base computes too */
            gc->zipf_delta[k * BLOCK + i] =
                p[i] != UINT64_MAX && p[i] - base < ZIPF_SLOW ? (uint8_t)(p[i] - base) : ZIPF_SLOW;
    }
    return true;
}

static uint64_t fk_parent(const plan_column *col, const gen_col *gc, uint64_t x, uint64_t id,
                          uint64_t rows, uint64_t prows)
{
    switch (col->u.fk.mode) {
    case PLAN_FK_SPREAD:
        return rows ? (uint64_t)(((unsigned __int128)id * prows) / rows) : 0;
    case PLAN_FK_ZIPF: {
        if (gc->zipf_delta) {
            uint64_t b = x >> (64 - ZIPF_BITS); /* the bucket of rng_unit(x) */
            unsigned delta = gc->zipf_delta[b];
            if (delta != ZIPF_SLOW) return gc->zipf_base[b >> ZIPF_BLOCK_BITS] + delta;
        }
        return zipf_pid(zipf_r(gc, col->u.fk.skew, rng_unit(x)), prows);
    }
    default:
        return rng_below(x, prows);
    }
}

/* First index whose cumulative weight exceeds u = rng_unit(x) (the last when none does): the
 * bucket's guide entry is that index for the bucket's lowest u, so u's index is at or after it. */
static inline size_t cat_pick(const plan_column *col, const gen_col *gc, uint64_t x)
{
    double u = rng_unit(x);
    size_t k = gc->cat_guide[x >> (64 - CAT_BITS)], last = col->u.cat.n - 1;
    while (k < last && !(col->u.cat.cum[k] > u))
        k++;
    return k;
}

/* The guide of cat_pick; values past 255 are found by scanning from the last entry. */
static void cat_guide(gen_col *gc, const plan_column *col)
{
    size_t k = 0, last = col->u.cat.n - 1;
    for (uint32_t b = 0; b < (1u << CAT_BITS); b++) {
        double u = (double)b * (1.0 / (1u << CAT_BITS)); /* the bucket's lowest rng_unit */
        while (k < last && k < 255 && !(col->u.cat.cum[k] > u))
            k++;
        gc->cat_guide[b] = (uint8_t)k;
    }
}

/* Column c of record id of dataset di, clean (before faults). Strings are appended to sb with
 * their offset in *off, or point into the plan (*off = NO_OFF). Returns false on OOM. */
static bool col_value(const gen *g, size_t di, size_t c, uint64_t id, bool allow_null, gen_value *v,
                      hx_buf *sb, size_t *off, int depth);

/* col_value with the dataset, column and its constants looked up: inlined into the per-record
 * column loop, where the call and the lookups would cost as much as most values. */
static inline __attribute__((always_inline)) bool
col_fill(const gen *g, const plan_dataset *d, const plan_column *col, const gen_col *gc,
         uint64_t id, bool allow_null, gen_value *v, hx_buf *sb, size_t *off, int depth)
{
    *off = NO_OFF;
    v->null = false;
    v->i = 0;
    v->s = NULL;
    v->len = 0;
    if (allow_null && col->null_frac > 0 && rng_unit(rng_draw(gc->nkey, id, 0)) < col->null_frac) {
        v->null = true;
        return true;
    }
    switch (col->kind) {
    case PLAN_COL_SEQUENCE:
        v->i = (int64_t)((uint64_t)col->u.seq.start + id * (uint64_t)col->u.seq.step);
        return true;
    case PLAN_COL_UUID:
        *off = sb->len;
        v->len = 36;
        return put_uuid(sb, rng_draw(gc->vkey, id, 0), rng_draw(gc->vkey, id, 1));
    case PLAN_COL_INT: {
        uint64_t span = (uint64_t)col->u.irange.max - (uint64_t)col->u.irange.min + 1;
        uint64_t x = rng_draw(gc->vkey, id, 0);
        v->i = (int64_t)((uint64_t)col->u.irange.min + (span ? rng_below(x, span) : x));
        return true;
    }
    case PLAN_COL_DECIMAL: {
        uint64_t span = (uint64_t)gc->hi - (uint64_t)gc->lo + 1;
        uint64_t x = rng_draw(gc->vkey, id, 0);
        v->i = (int64_t)((uint64_t)gc->lo + (span ? rng_below(x, span) : x));
        return true;
    }
    case PLAN_COL_NORMAL:
    case PLAN_COL_LOGNORMAL: {
        double x = col->u.normal.mean + col->u.normal.sd * std_normal(gc->vkey, id);
        if (col->kind == PLAN_COL_LOGNORMAL) x = exp(x);
        if (col->u.normal.min < col->u.normal.max) {
            if (x < col->u.normal.min) x = col->u.normal.min;
            if (x > col->u.normal.max) x = col->u.normal.max;
        }
        v->i = scaled(x, gc->pow10);
        return true;
    }
    case PLAN_COL_CATEGORICAL: {
        size_t k = cat_pick(col, gc, rng_draw(gc->vkey, id, 0));
        if (gc->cat_int) {
            v->i = gc->cat_int[k];
        } else {
            v->s = col->u.cat.values[k];
            v->len = gc->cat_len[k];
        }
        return true;
    }
    case PLAN_COL_TIMESTAMP:
        v->i = ts_value(col, gc, id);
        return true;
    case PLAN_COL_PATTERN: {
        size_t o = sb->len;
        if (!put_pattern(sb, col->u.pat.pattern, gc->vkey, id)) return false;
        *off = o;
        v->len = (uint32_t)(sb->len - o - 1);
        return true;
    }
    case PLAN_COL_FK: {
        const plan_dataset *pd = &g->s->datasets[col->u.fk.dataset];
        const plan_column *pcol = col; /* the column whose draw picks the parent */
        const gen_col *pgc = gc;
        if (col->u.fk.via) { /* gc and col index parallel arrays */
            ptrdiff_t off = (ptrdiff_t)(col->u.fk.via - 1) - (col - d->cols);
            pcol += off;
            pgc += off;
        }
        uint64_t pid = fk_parent(pcol, pgc, rng_draw(pgc->vkey, id, 0), id, d->rows, pd->rows);
        if (depth >= GEN_MAX_FK_DEPTH) /* gen_new rejects cycles; this is a backstop */
            return true;
        const plan_column *pc = &pd->cols[col->u.fk.column];
        if (pc->kind == PLAN_COL_SEQUENCE && !(pc->null_frac > 0)) { /* the common key: inline */
            v->i = (int64_t)((uint64_t)pc->u.seq.start + pid * (uint64_t)pc->u.seq.step);
            return true;
        }
        return col_value(g, col->u.fk.dataset, col->u.fk.column, pid, true, v, sb, off, depth + 1);
    }
    case PLAN_COL_BOOL:
        v->i = rng_unit(rng_draw(gc->vkey, id, 0)) < col->u.boolean.p;
        return true;
    case PLAN_COL_LUA:
        v->null = true; /* until the row function sets it */
        return true;
    }
    return true;
}

static bool col_value(const gen *g, size_t di, size_t c, uint64_t id, bool allow_null, gen_value *v,
                      hx_buf *sb, size_t *off, int depth)
{
    const plan_dataset *d = &g->s->datasets[di];
    return col_fill(g, d, &d->cols[c], &g->ds[di].cols[c], id, allow_null, v, sb, off, depth);
}

bool gen_fill_from(const gen *g, size_t di, size_t c, uint64_t at, gen_record *r)
{
    const plan_column *col = &g->s->datasets[di].cols[c];
    if (col->kind == PLAN_COL_FK) return gen_fill_parent(g, di, c, at, r, false);
    bool ok = col_value(g, di, c, at, true, &r->vals[c], &r->strings, &r->str_off[c], 0);
    if (ok && !r->strings.oom) rec_fix_strings(r);
    return ok && !r->strings.oom;
}

bool gen_fill_parent(const gen *g, size_t di, size_t c, uint64_t pid, gen_record *r, bool with_via)
{
    const plan_dataset *d = &g->s->datasets[di];
    for (size_t k = 0; k < d->ncols; k++) {
        const plan_column *col = &d->cols[k];
        if (k != c && !(with_via && col->kind == PLAN_COL_FK && col->u.fk.via == c + 1)) continue;
        r->str_off[k] = NO_OFF;
        if (!col_value(g, col->u.fk.dataset, col->u.fk.column, pid, true, &r->vals[k], &r->strings,
                       &r->str_off[k], 1))
            return false;
    }
    if (!r->strings.oom) rec_fix_strings(r);
    return !r->strings.oom;
}

/* ---- arrivals and batches ---- */

static int64_t arrival_of(const gen *g, size_t di, uint64_t id)
{
    const gen_ds *gd = &g->ds[di];
    if (gd->arr_col < 0) return SYNTH_EPOCH_US + (int64_t)id * SYNTH_STEP_US;
    const plan_dataset *d = &g->s->datasets[di];
    return ts_value(&d->cols[gd->arr_col], &gd->cols[gd->arr_col], id);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

uint32_t gen_batch_of(const gen *g, size_t di, uint64_t id)
{
    const plan_dataset *d = &g->s->datasets[di];
    const gen_ds *gd = &g->ds[di];
    switch (d->batching) {
    case PLAN_BATCH_COUNT:
        return (uint32_t)(((unsigned __int128)id * gd->nbatches) / d->rows);
    case PLAN_BATCH_DAY: {
        int64_t b = floor_div(arrival_of(g, di, id), DAY_US) - gd->day0;
        if (b < 0) return 0;
        return b >= gd->nbatches ? gd->nbatches - 1 : (uint32_t)b;
    }
    default:
        return 0;
    }
}

/* gen_batch_of(g, di, pos) when arrival_of(g, di, pos) is known already. */
static uint32_t batch_at(const gen *g, size_t di, uint64_t pos, int64_t arrival)
{
    const gen_ds *gd = &g->ds[di];
    if (g->s->datasets[di].batching != PLAN_BATCH_DAY) return gen_batch_of(g, di, pos);
    int64_t b = floor_div(arrival, DAY_US) - gd->day0;
    if (b < 0) return 0;
    return b >= gd->nbatches ? gd->nbatches - 1 : (uint32_t)b;
}

/* Arrival before jitter, monotone in id; and the largest jitter. */
int64_t gen_arrival_base(const gen *g, size_t di, uint64_t id, int64_t *jitter)
{
    const gen_ds *gd = &g->ds[di];
    if (gd->arr_col < 0) {
        *jitter = 0;
        return SYNTH_EPOCH_US + (int64_t)id * SYNTH_STEP_US;
    }
    const plan_column *col = &g->s->datasets[di].cols[gd->arr_col];
    *jitter = col->u.ts.jitter_us > 0 ? col->u.ts.jitter_us : 0;
    return ts_base(col, id);
}

/* First id in [0, rows] whose base arrival is >= t. */
uint64_t gen_first_base_at(const gen *g, size_t di, int64_t t)
{
    uint64_t lo = 0, hi = g->s->datasets[di].rows;
    int64_t j;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (gen_arrival_base(g, di, mid, &j) >= t)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* ---- faults ---- */

/* rng_unit(x) < p, for any x, exactly when (x >> 11) < unit_threshold(p): rng_unit is
 * (x >> 11) * 2^-53 exactly, and scaling p by 2^53 is exact, so the compare is k < p * 2^53 for
 * an integer k, that is k < ceil(p * 2^53). NaN and p <= 0 never hit; p >= 1 always does. */
static uint64_t unit_threshold(double p)
{
    if (!(p > 0)) return 0;
    if (p >= 1) return 1ULL << 53;
    return (uint64_t)ceil(p * 9007199254740992.0);
}

/* Whether a LATE fault fi that drew a hit on record id applies: only to a non-NULL time that
 * stays at or after the column's start. */
static bool late_fits(const gen *g, size_t di, size_t fi, uint64_t id)
{
    const plan_dataset *d = &g->s->datasets[di];
    const gen_fault *gf = &g->ds[di].faults[fi];
    const plan_column *col = &d->cols[gf->col];
    const gen_col *gc = &g->ds[di].cols[gf->col];
    if (col->null_frac > 0 && rng_unit(rng_draw(gc->nkey, id, 0)) < col->null_frac) return false;
    return ts_value(col, gc, id) - d->faults[fi].delay_us >= col->u.ts.start_us;
}

/* Whether fault fi hits record id (the original emission's view). Pure in (seed, fi, id). */
static bool fault_hit(const gen *g, size_t di, size_t fi, uint64_t id)
{
    const plan_dataset *d = &g->s->datasets[di];
    const plan_fault *f = &d->faults[fi];
    const gen_fault *gf = &g->ds[di].faults[fi];
    switch (f->kind) {
    case PLAN_F_SCHEMA_DRIFT:
        return gen_batch_of(g, di, id) >= f->at_batch;
    case PLAN_F_DUPLICATE:
    case PLAN_F_CORRUPT:
        /* Only the first fault of these kinds that hits counts: one copy, one corruption. */
        if (!draw_hits(gf, id)) return false;
        if (f->kind == PLAN_F_CORRUPT && g->ds[di].pat &&
            gen_pattern_member(g, di, id, NULL, NULL, NULL))
            return false;
        for (size_t k = 0; k < fi; k++)
            if (d->faults[k].kind == f->kind && draw_hits(&g->ds[di].faults[k], id)) return false;
        return true;
    case PLAN_F_LATE:
        return draw_hits(gf, id) && late_fits(g, di, fi, id);
    case PLAN_F_PATTERN: {
        size_t which;
        return gen_pattern_member(g, di, id, &which, NULL, NULL) && which == fi;
    }
    default:
        return draw_hits(gf, id);
    }
}

bool gen_fault_hits(const gen *g, size_t ds, uint64_t id, plan_fault_kind k)
{
    const plan_dataset *d = &g->s->datasets[ds];
    for (size_t i = 0; i < d->nfaults; i++)
        if (d->faults[i].kind == k && fault_hit(g, ds, i, id)) return true;
    return false;
}

static int64_t sat_mul(int64_t v, double factor)
{
    double y = (double)v * factor;
    if (y >= 9.2e18) return INT64_MAX;
    if (y <= -9.2e18) return INT64_MIN;
    return round_half_away(y);
}

/* A changed duplicate: alter one payload column so that the copy differs from the original. */
static bool change_copy(const gen *g, size_t di, const gen_fault *gf, gen_record *r, int *col_out)
{
    const gen_ds *gd = &g->ds[di];
    const plan_dataset *d = &g->s->datasets[di];
    *col_out = -1;
    if (!gd->nchg) return true;
    /* A non-null payload column: a NULL stays NULL, so a nulls fault the copy repeats still holds.
     */
    size_t start = rng_below(rng_draw(gf->key, r->id, 2), gd->nchg), k = 0;
    while (k < gd->nchg && r->vals[gd->chg_cols[(start + k) % gd->nchg]].null)
        k++;
    if (k == gd->nchg) return true;
    int c = gd->chg_cols[(start + k) % gd->nchg];
    const plan_column *col = &d->cols[c];
    gen_value *v = &r->vals[c];
    uint64_t x = rng_draw(gf->key, r->id, 3);
    *col_out = c;
    if (col->kind == PLAN_COL_CATEGORICAL && col->u.cat.n > 1) {
        /* Another category, so the copy stays within the column's domain. */
        const gen_col *gc = &gd->cols[c];
        size_t n = col->u.cat.n, cur = 0;
        while (cur < n && (gc->cat_int ? gc->cat_int[cur] != v->i : col->u.cat.values[cur] != v->s))
            cur++;
        size_t nx = (cur + 1 + rng_below(x, n - 1)) % n;
        if (gc->cat_int) {
            v->i = gc->cat_int[nx];
        } else {
            v->s = col->u.cat.values[nx];
            v->len = (uint32_t)strlen(v->s);
            r->str_off[c] = NO_OFF;
        }
        return true;
    }
    switch (col->type) {
    case PLAN_T_BOOL:
        v->i = !v->i;
        break;
    case PLAN_T_TIMESTAMP:
        v->i += (int64_t)(1 + rng_below(x, 3600)) * 1000000;
        break;
    case PLAN_T_STRING:
    case PLAN_T_UUID: {
        /* Other strings: the same text with a revision mark, so the copy is plainly an edit. */
        size_t off = r->strings.len, src = r->str_off[c];
        /* Reserve first: the source may live in the very buffer that would move. */
        if (!hx_buf_reserve(&r->strings, (size_t)v->len + 4)) return false;
        const char *from = src != NO_OFF ? r->strings.data + src : v->s;
        hx_buf_append(&r->strings, from, v->len);
        hx_buf_append(&r->strings, " v2", 4);
        r->str_off[c] = off;
        v->len += 3;
        break;
    }
    default:
        v->i += (int64_t)(1 + rng_below(x, 100));
        break;
    }
    return true;
}

static unsigned pick_corrupt(unsigned mask, uint64_t x)
{
    mask &= PLAN_C_ALL;
    if (!mask) mask = PLAN_C_ALL;
    uint64_t n = (uint64_t)__builtin_popcount(mask), k = rng_below(x, n);
    for (unsigned b = 1; b <= PLAN_C_MISSING_COLUMN; b <<= 1)
        if ((mask & b) && k-- == 0) return b;
    return PLAN_C_TRUNCATE;
}

static void apply_corrupt(const gen *g, size_t di, size_t fi, gen_record *r)
{
    const plan_dataset *d = &g->s->datasets[di];
    const gen_ds *gd = &g->ds[di];
    const plan_fault *f = &d->faults[fi];
    const gen_fault *gf = &gd->faults[fi];
    unsigned kind = pick_corrupt(f->corrupt_mask, rng_draw(gf->key, r->id, 1));
    uint64_t x = rng_draw(gf->key, r->id, 2);
    r->corrupt_asked = kind;
    r->corrupt_col = -1;
    if (kind == PLAN_C_BAD_UTF8) {
        if (f->column >= 0 &&
            (d->cols[f->column].type == PLAN_T_STRING || d->cols[f->column].type == PLAN_T_UUID))
            r->corrupt_col = f->column;
        else if (gd->nstr)
            r->corrupt_col = gd->str_cols[rng_below(x, gd->nstr)];
        else
            kind = PLAN_C_BAD_TYPE; /* no string field to break */
    }
    if (kind == PLAN_C_BAD_TYPE) {
        if (f->column >= 0 && d->cols[f->column].type != PLAN_T_STRING &&
            d->cols[f->column].type != PLAN_T_UUID)
            r->corrupt_col = f->column;
        else if (gd->nnum)
            r->corrupt_col = gd->num_cols[rng_below(x, gd->nnum)];
        else
            kind = PLAN_C_TRUNCATE; /* nothing typed to break either */
    }
    if (kind == PLAN_C_MISSING_COLUMN) {
        /* any field but the key */
        size_t n = d->ncols - (d->key_col >= 0 && d->ncols > 1);
        int c = (int)rng_below(x, n ? n : 1);
        if (d->key_col >= 0 && c >= d->key_col && d->ncols > 1) c++;
        r->corrupt_col = c;
    }
    r->corrupt = kind;
    r->aux[fi] = r->corrupt_col;
}

static void mark(gen_record *r, size_t fi, plan_fault_kind k)
{
    r->faults |= 1u << k;
    r->hit_mask |= 1ULL << fi;
}

int gen_record_at(gen *g, size_t di, uint64_t id, uint32_t copy, gen_record *r, hx_err *e)
{
    const plan_dataset *d = &g->s->datasets[di];
    const gen_ds *gd = &g->ds[di];
    size_t dupf = 0;
    if (id >= d->rows)
        return hx_fail(e, HX_EUSAGE, "%s: record %llu of dataset '%s' does not exist (%llu rows)",
                       ds_where(d), (unsigned long long)id, d->name, (unsigned long long)d->rows);
    if (copy > 1 || (copy == 1 && !dup_hit(g, di, id, &dupf)))
        return hx_fail(e, HX_EUSAGE, "%s: record %llu of dataset '%s' has no duplicate copy %u",
                       ds_where(d), (unsigned long long)id, d->name, copy);
    if (r->ncols != d->ncols)
        return hx_fail(e, HX_EUSAGE, "record storage has %zu columns, dataset '%s' has %zu",
                       r->ncols, d->name, d->ncols);
    if (r->aux_cap < d->nfaults) {
        int64_t *a = hx_realloc(r->aux, d->nfaults * sizeof *a);
        if (!a) return hx_fail(e, HX_ENOMEM, "out of memory generating dataset '%s'", d->name);
        r->aux = a;
        r->aux_cap = d->nfaults;
    }
    r->id = id;
    r->copy = copy;
    r->faults = 0;
    r->hit_mask = 0;
    r->corrupt = r->corrupt_asked = 0;
    r->corrupt_col = -1;
    r->changed = false;
    r->strings.len = 0; /* hx_buf_clear, inline */
    if (r->strings.data) r->strings.data[0] = '\0';
    const plan_column *cc = d->cols;
    const gen_col *cg = gd->cols;
    gen_value *cv = r->vals;
    size_t *co = r->str_off;
    for (size_t c = 0; c < d->ncols; c++, cc++, cg++, cv++, co++)
        if (!col_fill(g, d, cc, cg, id, true, cv, &r->strings, co, 0)) goto oom;
    if (r->strings.oom) goto oom;
    if (d->row_hook) {
        char msg[512] = "";
        rec_fix_strings(r);
        int rc = d->row_hook(d->row_ud, d, r, msg, sizeof msg);
        if (rc < 0)
            return hx_fail(e, rc, "%s: row function of dataset '%s' failed on record %llu: %s",
                           ds_where(d), d->name, (unsigned long long)id, msg);
        rec_fix_strings(r);
    }
    uint64_t pos = id;
    if (copy) pos = id + gd->gap < d->rows ? id + gd->gap : d->rows - 1;
    /* An original's arrival is its clean time value, already drawn unless NULL or hooked. */
    if (!copy && gd->arr_col >= 0 && !d->row_hook && !r->vals[gd->arr_col].null)
        r->arrival_us = r->vals[gd->arr_col].i;
    else
        r->arrival_us = arrival_of(g, di, pos);
    r->batch = batch_at(g, di, pos, r->arrival_us);

    for (size_t fi = 0; fi < d->nfaults; fi++) {
        const plan_fault *f = &d->faults[fi];
        const gen_fault *gf = &gd->faults[fi];
        gen_value *v = gf->col >= 0 ? &r->vals[gf->col] : NULL;
        r->aux[fi] = gf->col;
        switch (f->kind) {
        case PLAN_F_DUPLICATE:
            break; /* handled below, on the copy */
        case PLAN_F_SCHEMA_DRIFT:
            if (r->batch >= f->at_batch) mark(r, fi, f->kind);
            break;
        case PLAN_F_LATE:
            if (!draw_hits(gf, id) || !late_fits(g, di, fi, id)) break;
            mark(r, fi, f->kind);
            if (!v->null) v->i -= f->delay_us;
            r->aux[fi] = f->delay_us;
            break;
        case PLAN_F_OUT_OF_ORDER: {
            if (!draw_hits(gf, id)) break;
            int64_t shift = f->delay_us > 0 ? (int64_t)rng_below(rng_draw(gf->key, id, 1),
                                                                 (uint64_t)f->delay_us)
                                            : 0;
            mark(r, fi, f->kind);
            if (!v->null) v->i -= shift;
            r->aux[fi] = shift;
            break;
        }
        case PLAN_F_NULLS:
            if (!draw_hits(gf, id)) break;
            mark(r, fi, f->kind);
            v->null = true;
            break;
        case PLAN_F_OUTLIERS:
            if (!draw_hits(gf, id)) break;
            mark(r, fi, f->kind);
            if (!v->null) v->i = sat_mul(v->i, f->factor);
            break;
        case PLAN_F_ORPHANS: {
            if (!draw_hits(gf, id)) break;
            const plan_column *col = &d->cols[gf->col];
            uint64_t prows = g->s->datasets[col->u.fk.dataset].rows;
            uint64_t pid = prows + rng_below(rng_draw(gf->key, id, 1), prows ? prows : 1);
            mark(r, fi, f->kind);
            if (!col_value(g, col->u.fk.dataset, col->u.fk.column, pid, false, v, &r->strings,
                           &r->str_off[gf->col], 1))
                goto oom;
            r->aux[fi] = (int64_t)pid;
            break;
        }
        case PLAN_F_CORRUPT: /* never a pattern's record: its instance must stay whole */
            if (r->corrupt || !draw_hits(gf, id)) break;
            if (gd->pat && gen_pattern_member(g, di, id, NULL, NULL, NULL)) break;
            mark(r, fi, f->kind);
            apply_corrupt(g, di, fi, r);
            break;
        case PLAN_F_PATTERN:
            if (!gen_pattern_apply(g, di, fi, r)) goto oom;
            break;
        default:
            break;
        }
    }
    if (copy) {
        const gen_fault *gf = &gd->faults[dupf];
        int ccol = -1;
        mark(r, dupf, PLAN_F_DUPLICATE);
        if (d->faults[dupf].changed > 0 &&
            rng_unit(rng_draw(gf->key, id, 1)) < d->faults[dupf].changed) {
            if (!change_copy(g, di, gf, r, &ccol)) goto oom;
            r->changed = ccol >= 0;
        }
        r->aux[dupf] = ccol;
    }
    if (r->strings.oom) goto oom;
    if (r->strings.len) rec_fix_strings(r); /* else no value points into strings */
    return 0;
oom:
    return hx_fail(e, HX_ENOMEM, "out of memory generating record %llu of dataset '%s'",
                   (unsigned long long)id, d->name);
}

/* ---- setup ---- */

/* Follow FK links from (di, c); a cycle or an overlong chain is a scenario error. */
static int check_fk_chain(const plan_scenario *s, size_t di, size_t c, hx_err *e)
{
    size_t d0 = di, c0 = c;
    for (int depth = 0;; depth++) {
        const plan_column *col = &s->datasets[di].cols[c];
        if (col->kind != PLAN_COL_FK)
            return col->kind == PLAN_COL_LUA
                       ? hx_fail(
                             e, HX_EUSAGE,
                             "%s: column '%s' of dataset '%s' refers to '%s.%s', which a Lua row "
                             "function fills; point the foreign key at a generated column",
                             ds_where(&s->datasets[d0]), s->datasets[d0].cols[c0].name,
                             s->datasets[d0].name, s->datasets[di].name, col->name)
                       : 0;
        if (depth >= GEN_MAX_FK_DEPTH)
            return hx_fail(e, HX_EUSAGE,
                           "%s: foreign key '%s' of dataset '%s' is part of a cycle or a chain "
                           "longer than %d; point it at a non-foreign-key column",
                           ds_where(&s->datasets[d0]), s->datasets[d0].cols[c0].name,
                           s->datasets[d0].name, GEN_MAX_FK_DEPTH);
        if (col->u.fk.dataset >= s->ndatasets ||
            col->u.fk.column >= s->datasets[col->u.fk.dataset].ncols)
            return hx_fail(e, HX_EUSAGE, "%s: foreign key '%s' of dataset '%s' points nowhere",
                           ds_where(&s->datasets[di]), col->name, s->datasets[di].name);
        if (s->datasets[col->u.fk.dataset].rows == 0)
            return hx_fail(e, HX_EUSAGE,
                           "%s: foreign key '%s' of dataset '%s' points into the empty dataset "
                           "'%s'; give it rows",
                           ds_where(&s->datasets[di]), col->name, s->datasets[di].name,
                           s->datasets[col->u.fk.dataset].name);
        c = col->u.fk.column;
        di = col->u.fk.dataset;
    }
}

static int setup_column(gen *g, size_t di, size_t c, hx_err *e)
{
    const plan_dataset *d = &g->s->datasets[di];
    const plan_column *col = &d->cols[c];
    gen_col *gc = &g->ds[di].cols[c];
    gc->vkey = rng_key(d->seed, S_VALUE(c));
    gc->nkey = rng_key(d->seed, S_NULL(c));
    if (col->scale < 0 || col->scale > 9)
        return hx_fail(e, HX_EUSAGE, "%s: column '%s' has scale %d; use 0..9", ds_where(d),
                       col->name, col->scale);
    gc->pow10 = 1;
    for (int i = 0; i < col->scale; i++)
        gc->pow10 *= 10;
    switch (col->kind) {
    case PLAN_COL_INT:
        if (col->u.irange.min > col->u.irange.max)
            return hx_fail(e, HX_EUSAGE, "%s: column '%s' has min > max", ds_where(d), col->name);
        break;
    case PLAN_COL_DECIMAL:
        if (!(col->u.drange.min <= col->u.drange.max))
            return hx_fail(e, HX_EUSAGE, "%s: column '%s' has min > max", ds_where(d), col->name);
        gc->lo = scaled(col->u.drange.min, gc->pow10);
        gc->hi = scaled(col->u.drange.max, gc->pow10);
        break;
    case PLAN_COL_CATEGORICAL:
        if (col->u.cat.n == 0 || !col->u.cat.cum || !col->u.cat.values)
            return hx_fail(e, HX_EUSAGE, "%s: categorical column '%s' has no values", ds_where(d),
                           col->name);
        cat_guide(gc, col);
        if (col->type != PLAN_T_INT) {
            gc->cat_len = hx_calloc(col->u.cat.n, sizeof *gc->cat_len);
            if (!gc->cat_len) return hx_fail(e, HX_ENOMEM, "out of memory");
            for (size_t i = 0; i < col->u.cat.n; i++)
                gc->cat_len[i] = (uint32_t)strlen(col->u.cat.values[i]);
        }
        if (col->type == PLAN_T_INT) {
            gc->cat_int = hx_calloc(col->u.cat.n, sizeof *gc->cat_int);
            if (!gc->cat_int) return hx_fail(e, HX_ENOMEM, "out of memory");
            for (size_t i = 0; i < col->u.cat.n; i++) {
                char *end;
                gc->cat_int[i] = strtoll(col->u.cat.values[i], &end, 10);
                if (*end || end == col->u.cat.values[i])
                    return hx_fail(e, HX_EUSAGE,
                                   "%s: column '%s' is INT but value '%s' is not an integer",
                                   ds_where(d), col->name, col->u.cat.values[i]);
            }
        }
        break;
    case PLAN_COL_TIMESTAMP:
        if (!(col->u.ts.rate > 0))
            return hx_fail(e, HX_EUSAGE, "%s: timestamp column '%s' needs a rate > 0 rows/s",
                           ds_where(d), col->name);
        break;
    case PLAN_COL_PATTERN:
        if (!col->u.pat.pattern)
            return hx_fail(e, HX_EUSAGE, "%s: column '%s' has no pattern", ds_where(d), col->name);
        break;
    case PLAN_COL_FK: {
        int rc = check_fk_chain(g->s, di, c, e);
        if (rc < 0) return rc;
        uint64_t prows = g->s->datasets[col->u.fk.dataset].rows;
        zipf_setup(gc, col->u.fk.skew, prows);
        if (col->u.fk.mode == PLAN_FK_ZIPF && !zipf_table(gc, col->u.fk.skew, d->rows, prows))
            return hx_fail(e, HX_ENOMEM, "out of memory");
        return 0;
    }
    default:
        break;
    }
    return 0;
}

static int setup_fault(gen *g, size_t di, size_t fi, hx_err *e)
{
    const plan_dataset *d = &g->s->datasets[di];
    const plan_fault *f = &d->faults[fi];
    gen_ds *gd = &g->ds[di];
    gen_fault *gf = &gd->faults[fi];
    const char *w = f->where ? f->where : ds_where(d);
    gf->key = rng_key(d->seed, S_FAULT(fi));
    gf->thr = unit_threshold(f->fraction);
    gf->col = f->column;
    if (f->column >= (int)d->ncols)
        return hx_fail(e, HX_EUSAGE, "%s: %s fault names column %d of '%s', which has %zu", w,
                       plan_fault_name(f->kind), f->column, d->name, d->ncols);
    switch (f->kind) {
    case PLAN_F_DUPLICATE:
        if (!gd->has_dup) gd->gap = f->gap; /* every copy uses the first duplicates fault's gap */
        gd->has_dup = true;
        gd->dup_faults[gd->ndup++] = fi;
        break;
    case PLAN_F_LATE:
    case PLAN_F_OUT_OF_ORDER:
        if (gf->col < 0) gf->col = d->time_col;
        if (gf->col < 0 || d->cols[gf->col].kind != PLAN_COL_TIMESTAMP)
            return hx_fail(e, HX_EUSAGE,
                           "%s: %s fault on dataset '%s' needs a generated timestamp column; "
                           "set the dataset's time column",
                           w, plan_fault_name(f->kind), d->name);
        if (f->delay_us < 0)
            return hx_fail(e, HX_EUSAGE, "%s: %s fault has a negative delay", w,
                           plan_fault_name(f->kind));
        break;
    case PLAN_F_NULLS:
        if (gf->col < 0)
            return hx_fail(e, HX_EUSAGE, "%s: nulls fault on '%s' needs a column", w, d->name);
        break;
    case PLAN_F_OUTLIERS:
        if (gf->col < 0 ||
            (d->cols[gf->col].type != PLAN_T_INT && d->cols[gf->col].type != PLAN_T_DECIMAL))
            return hx_fail(e, HX_EUSAGE,
                           "%s: outliers fault on '%s' needs an int or decimal column", w, d->name);
        break;
    case PLAN_F_ORPHANS:
        if (gf->col < 0)
            for (size_t c = 0; c < d->ncols && gf->col < 0; c++)
                if (d->cols[c].kind == PLAN_COL_FK) gf->col = (int)c;
        if (gf->col < 0 || d->cols[gf->col].kind != PLAN_COL_FK)
            return hx_fail(e, HX_EUSAGE, "%s: orphans fault on '%s' needs a foreign key column", w,
                           d->name);
        break;
    case PLAN_F_SCHEMA_DRIFT:
        if (f->drift != PLAN_DRIFT_ADD && gf->col < 0)
            return hx_fail(e, HX_EUSAGE, "%s: schema_drift on '%s' needs a column", w, d->name);
        if (f->drift != PLAN_DRIFT_RETYPE && (!f->name || !*f->name))
            return hx_fail(e, HX_EUSAGE, "%s: schema_drift on '%s' needs a column name", w,
                           d->name);
        break;
    default:
        break;
    }
    return 0;
}

static int setup_batches(gen *g, size_t di, hx_err *e)
{
    const plan_dataset *d = &g->s->datasets[di];
    gen_ds *gd = &g->ds[di];
    gd->nbatches = 1;
    if (d->batching == PLAN_BATCH_COUNT) {
        if (d->nbatches == 0)
            return hx_fail(e, HX_EUSAGE, "%s: dataset '%s' is cut into 0 batches; use >= 1",
                           ds_where(d), d->name);
        gd->nbatches = d->rows && d->nbatches > d->rows ? (uint32_t)d->rows : d->nbatches;
    } else if (d->batching == PLAN_BATCH_DAY && d->rows) {
        int64_t j;
        int64_t first = gen_arrival_base(g, di, 0, &j);
        gd->day0 = floor_div(first, DAY_US);
        /* The latest arrival is among the last records whose base time is within a jitter of
         * the last one. */
        int64_t last = gen_arrival_base(g, di, d->rows - 1, &j), mx = last;
        for (uint64_t id = d->rows; id-- > 0;) {
            if (gen_arrival_base(g, di, id, &j) + j <= mx) break;
            int64_t a = arrival_of(g, di, id);
            if (a > mx) mx = a;
        }
        int64_t n = floor_div(mx, DAY_US) - gd->day0 + 1;
        if (n > 100000)
            return hx_fail(e, HX_EUSAGE, "%s: dataset '%s' spans %lld days; use fewer batches",
                           ds_where(d), d->name, (long long)n);
        gd->nbatches = (uint32_t)n;
    }
    return 0;
}

static int setup_dataset(gen *g, size_t di, hx_err *e)
{
    const plan_dataset *d = &g->s->datasets[di];
    gen_ds *gd = &g->ds[di];
    int rc;
    if (d->nfaults > GEN_MAX_FAULTS)
        return hx_fail(e, HX_EUSAGE, "%s: dataset '%s' has %zu faults; the limit is %d",
                       ds_where(d), d->name, d->nfaults, GEN_MAX_FAULTS);
    gd->cols = hx_calloc(d->ncols ? d->ncols : 1, sizeof *gd->cols);
    gd->faults = hx_calloc(d->nfaults ? d->nfaults : 1, sizeof *gd->faults);
    gd->str_cols = hx_calloc(d->ncols ? d->ncols : 1, sizeof(int));
    gd->num_cols = hx_calloc(d->ncols ? d->ncols : 1, sizeof(int));
    gd->chg_cols = hx_calloc(d->ncols ? d->ncols : 1, sizeof(int));
    gd->dup_faults = hx_calloc(d->nfaults ? d->nfaults : 1, sizeof *gd->dup_faults);
    if (!gd->cols || !gd->faults || !gd->str_cols || !gd->num_cols || !gd->chg_cols ||
        !gd->dup_faults)
        return hx_fail(e, HX_ENOMEM, "out of memory");
    for (size_t c = 0; c < d->ncols; c++)
        if ((rc = setup_column(g, di, c, e)) < 0) return rc;
    gd->arr_col = -1;
    if (d->time_col >= (int)d->ncols || d->key_col >= (int)d->ncols)
        return hx_fail(e, HX_EUSAGE, "%s: dataset '%s' names a key or time column it lacks",
                       ds_where(d), d->name);
    if (d->time_col >= 0 && d->cols[d->time_col].kind == PLAN_COL_TIMESTAMP)
        gd->arr_col = d->time_col;
    for (size_t c = 0; c < d->ncols; c++) {
        const plan_column *col = &d->cols[c];
        /* Corruption never touches the key: a quarantine must be able to name the record. */
        if ((int)c == d->key_col) {
        } else if (col->type == PLAN_T_STRING)
            gd->str_cols[gd->nstr++] = (int)c;
        else if (col->type != PLAN_T_UUID)
            gd->num_cols[gd->nnum++] = (int)c;
        if ((int)c != d->key_col && col->kind != PLAN_COL_SEQUENCE && col->kind != PLAN_COL_UUID &&
            col->kind != PLAN_COL_LUA && col->kind != PLAN_COL_FK)
            gd->chg_cols[gd->nchg++] = (int)c;
    }
    if (!gd->nstr)
        for (size_t c = 0; c < d->ncols; c++)
            if (d->cols[c].type == PLAN_T_UUID && (int)c != d->key_col)
                gd->str_cols[gd->nstr++] = (int)c;
    for (size_t fi = 0; fi < d->nfaults; fi++)
        if ((rc = setup_fault(g, di, fi, e)) < 0) return rc;
    if ((rc = setup_batches(g, di, e)) < 0) return rc;
    return gen_pattern_setup(g, di, e);
}

int gen_new(const plan_scenario *s, gen **out, hx_err *e)
{
    *out = NULL;
    gen *g = hx_calloc(1, sizeof *g);
    if (!g) return hx_fail(e, HX_ENOMEM, "out of memory creating the generator");
    g->s = s;
    g->ds = hx_calloc(s->ndatasets ? s->ndatasets : 1, sizeof *g->ds);
    if (!g->ds) {
        gen_free(g);
        return hx_fail(e, HX_ENOMEM, "out of memory creating the generator");
    }
    for (size_t di = 0; di < s->ndatasets; di++) {
        int rc = setup_dataset(g, di, e);
        if (rc < 0) {
            gen_free(g);
            return rc;
        }
    }
    *out = g;
    return 0;
}

void gen_free(gen *g)
{
    if (!g) return;
    for (size_t di = 0; g->ds && di < g->s->ndatasets; di++) {
        gen_ds *gd = &g->ds[di];
        for (size_t c = 0; gd->cols && c < g->s->datasets[di].ncols; c++) {
            hx_free(gd->cols[c].cat_int);
            hx_free(gd->cols[c].cat_len);
            hx_free(gd->cols[c].zipf_base);
        }
        hx_free(gd->cols);
        hx_free(gd->faults);
        hx_free(gd->str_cols);
        hx_free(gd->num_cols);
        hx_free(gd->chg_cols);
        hx_free(gd->dup_faults);
        gen_pattern_free(gd->pat);
    }
    hx_free(g->ds);
    hx_free(g);
}

const plan_scenario *gen_scenario(const gen *g)
{
    return g->s;
}

uint32_t gen_batches(const gen *g, size_t ds)
{
    return g->ds[ds].nbatches;
}

bool gen_batch_day0(const gen *g, size_t ds, int64_t *day)
{
    const plan_dataset *d = &g->s->datasets[ds];
    if (d->batching != PLAN_BATCH_DAY || !d->rows) return false;
    *day = g->ds[ds].day0;
    return true;
}

uint64_t gen_emissions(gen *g, size_t ds)
{
    gen_ds *gd = &g->ds[ds];
    if (!gd->emissions_known) {
        uint64_t rows = g->s->datasets[ds].rows, n = rows;
        if (gd->has_dup)
            for (uint64_t id = 0; id < rows; id++)
                n += dup_hit(g, ds, id, NULL);
        gd->emissions = n;
        gd->emissions_known = true;
    }
    return gd->emissions;
}

int gen_fault_column(const gen *g, size_t ds, size_t fi)
{
    return g->ds[ds].faults[fi].col;
}

const char *gen_corrupt_name(unsigned kind)
{
    switch (kind) {
    case PLAN_C_TRUNCATE:
        return "truncate";
    case PLAN_C_BAD_TYPE:
        return "bad_type";
    case PLAN_C_BAD_UTF8:
        return "bad_utf8";
    case PLAN_C_EXTRA_COLUMN:
        return "extra_column";
    case PLAN_C_MISSING_COLUMN:
        return "missing_column";
    default:
        return "?";
    }
}
