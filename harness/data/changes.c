/* changes.c - see changes.h: a dataset's change stream and its final state. */
#include "changes.h"

#include <stdio.h>
#include <string.h>

#include "fmt.h"
#include "rng.h"

/* Streams of draws, apart from the generator's own (column indices). */
enum { S_OP = 0x7100, S_KEY, S_SRC, S_COLS, S_LARGE, S_TXN, S_ADDED, S_LARGE_TEXT };

static int oom(hx_err *e)
{
    return hx_fail(e, HX_ENOMEM, "out of memory building a change stream");
}

void chg_stream_free(chg_stream *cs)
{
    if (!cs) return;
    hx_free(cs->ch);
    hx_free(cs->tx);
    hx_free(cs->version);
    hx_free(cs->alive);
    hx_free(cs->src);
    hx_free(cs->added_by);
    hx_free(cs);
}

const char *chg_sql_type(plan_type t)
{
    switch (t) {
    case PLAN_T_INT:
        return "bigint";
    case PLAN_T_DECIMAL:
        return "numeric";
    case PLAN_T_TIMESTAMP:
        return "timestamptz";
    case PLAN_T_BOOL:
        return "boolean";
    case PLAN_T_UUID:
        return "uuid";
    default:
        return "text";
    }
}

/* A set of keys with O(1) add, remove and uniform pick. */
typedef struct keyset {
    uint64_t *v;   /* members */
    uint64_t n;    /* count */
    uint64_t *pos; /* per key: index in v + 1, 0 = absent */
} keyset;

static void ks_add(keyset *s, uint64_t k)
{
    s->v[s->n] = k;
    s->pos[k] = ++s->n;
}

static void ks_del(keyset *s, uint64_t k)
{
    uint64_t i = s->pos[k] - 1, last = s->v[--s->n];
    s->v[i] = last;
    s->pos[last] = i + 1;
    s->pos[k] = 0;
}

typedef struct builder {
    chg_stream *cs;
    const plan_changes *o;
    uint64_t key;         /* rng key */
    uint64_t cap;         /* changes allocated */
    uint32_t txcap;       /* transactions allocated */
    keyset alive, dead;   /* dead: deleted keys a re-insert may pick */
    uint64_t nonhot;      /* alive keys that are not hot */
    uint64_t next_insert; /* the next key to insert for the first time */
    uint64_t rem_upd, rem_del, rem_re;
    uint64_t burst_at; /* change index where the burst starts (UINT64_MAX: none) */
    uint64_t *upd_cols;
    size_t nupd;
} builder;

static bool is_hot(const builder *b, uint64_t k)
{
    return k < b->o->hot_keys;
}

static uint64_t draw(const builder *b, uint64_t stream, uint64_t j)
{
    return rng_draw(b->key, j, stream);
}

/* Append a change of key k; false when out of memory. */
static bool push(builder *b, chg_op op, uint64_t k, uint64_t src, uint64_t cols, bool large)
{
    chg_stream *cs = b->cs;
    if (cs->n == b->cap) {
        uint64_t nc = b->cap ? b->cap * 2 : 1024;
        chg_change *nv = hx_realloc(cs->ch, nc * sizeof *nv);
        if (!nv) return false;
        cs->ch = nv;
        b->cap = nc;
    }
    size_t nc = cs->d->ncols;
    uint32_t v = cs->version[k];
    if (op != CHG_DELETE) v++;
    cs->ch[cs->n] = (chg_change){.key = k,
                                 .src = src,
                                 .cols = cols,
                                 .version = v,
                                 .txn = cs->ntx,
                                 .op = (uint8_t)op,
                                 .large = large};
    cs->version[k] = v;
    if (op == CHG_DELETE) {
        cs->alive[k] = 0;
        cs->deletes++;
    } else {
        uint64_t lg = large ? CHG_LARGE : 0;
        for (size_t c = 0; c < nc && c < 63; c++)
            if (cols & (1ULL << c))
                cs->src[k * nc + c] = (int)c == cs->d->key_col             ? k
                                      : (int)c == cs->d->changes.large_col ? (src | lg)
                                                                           : src;
        cs->alive[k] = 1;
        if (op == CHG_UPDATE) cs->updates++;
    }
    cs->n++;
    return true;
}

static uint64_t all_cols(const plan_dataset *d)
{
    return d->ncols >= 64 ? ~0ULL : (1ULL << d->ncols) - 1;
}

static bool do_insert(builder *b, uint64_t j)
{
    chg_stream *cs = b->cs;
    uint64_t k, src;
    bool re = b->next_insert >= cs->rows;
    if (!re) {
        k = src = b->next_insert++;
        cs->inserts++;
    } else {
        k = b->dead.v[rng_below(draw(b, S_KEY, j), b->dead.n)];
        src = rng_below(draw(b, S_SRC, j), cs->rows);
        ks_del(&b->dead, k);
        b->rem_re--;
        cs->reinserts++;
    }
    bool large = b->o->large_col >= 0 && rng_unit(draw(b, S_LARGE, j)) < b->o->large_share;
    if (!push(b, CHG_INSERT, k, src, all_cols(cs->d), large)) return false;
    ks_add(&b->alive, k);
    if (!is_hot(b, k)) b->nonhot++;
    return true;
}

static bool do_update(builder *b, uint64_t j, bool burst)
{
    chg_stream *cs = b->cs;
    uint64_t k;
    uint64_t nhot = 0;
    for (uint64_t h = 0; h < b->o->hot_keys && h < cs->rows; h++)
        nhot += cs->alive[h];
    if (burst || (nhot && rng_unit(draw(b, S_KEY, j)) < b->o->hot_share)) {
        uint64_t pick = burst ? 0 : rng_below(draw(b, S_KEY + 100, j), nhot);
        k = 0;
        for (uint64_t h = 0; h < b->o->hot_keys && h < cs->rows; h++)
            if (cs->alive[h] && pick-- == 0) {
                k = h;
                break;
            }
        if (!cs->alive[k]) k = b->alive.v[0];
    } else {
        k = b->alive.v[rng_below(draw(b, S_KEY, j), b->alive.n)];
    }
    uint64_t cols = 0;
    if (b->nupd) {
        uint64_t x = draw(b, S_COLS, j);
        cols |= b->upd_cols[rng_below(x, b->nupd)];
        if (b->nupd > 1 && (x & 1)) cols |= b->upd_cols[rng_below(rng_mix(x), b->nupd)];
    }
    bool large = b->o->large_col >= 0 && rng_unit(draw(b, S_LARGE, j)) < b->o->large_share;
    if (large) cols |= 1ULL << b->o->large_col;
    uint64_t src = rng_below(draw(b, S_SRC, j), cs->rows);
    if (!burst) b->rem_upd -= b->rem_upd > 0;
    return push(b, CHG_UPDATE, k, src, cols, large);
}

static bool do_delete(builder *b, uint64_t j)
{
    chg_stream *cs = b->cs;
    uint64_t k;
    /* a non-hot alive key: rejection on the alive set, bounded */
    uint64_t x = draw(b, S_KEY, j);
    do {
        k = b->alive.v[rng_below(x, b->alive.n)];
        x = rng_mix(x);
    } while (is_hot(b, k));
    ks_del(&b->alive, k);
    b->nonhot--;
    b->rem_del--;
    /* only as many deleted keys wait for a re-insert as re-inserts remain */
    if (b->dead.n < b->rem_re) ks_add(&b->dead, k);
    (void)cs;
    return push(b, CHG_DELETE, k, 0, 0, false);
}

/* One change chosen by the remaining counts; 0 done, 1 made, -1 out of memory. */
static int one_change(builder *b)
{
    chg_stream *cs = b->cs;
    uint64_t j = cs->n;
    if (b->burst_at != UINT64_MAX && j >= b->burst_at && j < b->burst_at + b->o->burst_n &&
        b->alive.n)
        return do_update(b, j, true) ? 1 : -1;
    uint64_t wi = cs->rows - b->next_insert;
    uint64_t wu = b->alive.n ? b->rem_upd : 0;
    uint64_t wd = b->nonhot ? b->rem_del : 0;
    uint64_t wr = b->dead.n ? b->rem_re : 0;
    uint64_t sum = wi + wu + wd + wr;
    if (!sum) return 0;
    uint64_t x = rng_below(draw(b, S_OP, j), sum);
    bool ok;
    if (x < wi)
        ok = do_insert(b, j);
    else if ((x -= wi) < wu)
        ok = do_update(b, j, false);
    else if ((x -= wu) < wd)
        ok = do_delete(b, j);
    else {
        /* a re-insert: do_insert takes a dead key when first inserts are over; make it so */
        uint64_t save = b->next_insert;
        b->next_insert = cs->rows;
        ok = do_insert(b, j);
        b->next_insert = save;
    }
    return ok ? 1 : -1;
}

static bool push_txn(builder *b, uint64_t first, bool is_long)
{
    chg_stream *cs = b->cs;
    if (cs->ntx == b->txcap) {
        uint32_t nc = b->txcap ? b->txcap * 2 : 256;
        chg_txn *nv = hx_realloc(cs->tx, nc * sizeof *nv);
        if (!nv) return false;
        cs->tx = nv;
        b->txcap = nc;
    }
    uint32_t t = cs->ntx;
    uint32_t open_at = t;
    if (is_long) open_at = t > b->o->long_span ? t - b->o->long_span : 0;
    cs->tx[t] = (chg_txn){
        .first = first, .n = (uint32_t)(cs->n - first), .open_at = open_at, .is_long = is_long};
    cs->ntx++;
    return true;
}

static int build_ops(builder *b, hx_err *e)
{
    chg_stream *cs = b->cs;
    const plan_changes *o = b->o;
    uint32_t lo = o->txn_min ? o->txn_min : 1, hi = o->txn_max > lo ? o->txn_max : lo;
    for (;;) {
        uint32_t t = cs->ntx;
        uint64_t first = cs->n;
        /* A long transaction: fresh inserts only, which nothing touches before they commit; its
         * keys count as inserted here, at its commit. */
        bool is_long = o->long_every && (t + 1) % o->long_every == 0 && o->long_size &&
                       b->next_insert < cs->rows && t >= o->long_span;
        if (is_long) {
            for (uint32_t i = 0; i < o->long_size && b->next_insert < cs->rows; i++)
                if (!do_insert(b, cs->n)) return oom(e);
        } else {
            uint32_t size = lo + (uint32_t)rng_below(draw(b, S_TXN, t), hi - lo + 1);
            for (uint32_t i = 0; i < size; i++) {
                int r = one_change(b);
                if (r < 0) return oom(e);
                if (r == 0) break;
            }
        }
        if (cs->n == first) break;
        if (!push_txn(b, first, is_long)) return oom(e);
    }
    return 0;
}

uint32_t chg_cut(const chg_stream *cs, double upto)
{
    if (upto >= 1) return cs->ntx;
    uint64_t want = (uint64_t)(upto * (double)cs->n);
    uint32_t t = 0;
    while (t < cs->ntx && cs->tx[t].first < want)
        t++;
    /* not inside a long transaction's window: its statements would be sent, not committed */
    for (bool moved = true; moved && t < cs->ntx;) {
        moved = false;
        for (uint32_t l = t; l < cs->ntx && l < t + 100000; l++)
            if (cs->tx[l].is_long && cs->tx[l].open_at < t) {
                t = l + 1;
                moved = true;
                break;
            }
    }
    return t;
}

/* The add_column faults on dataset ds, placed where the CDC steps before them stop. */
static int place_added(chg_stream *cs, const plan_scenario *s, hx_err *e)
{
    double pos = 0;
    for (size_t i = 0; i < s->nsteps; i++) {
        const plan_step *st = &s->steps[i];
        if (st->kind == PLAN_STEP_INTO && st->target == PLAN_TGT_CDC && st->dataset == cs->ds)
            pos = st->upto > 0 && st->upto < 1 ? st->upto : 1;
        if (st->kind != PLAN_STEP_FAULT || !st->fault || strcmp(st->fault, "add_column") != 0 ||
            st->dataset != cs->ds || !st->column)
            continue;
        if (cs->nadded == CHG_MAX_ADDED)
            return hx_fail(e, HX_EUSAGE, "%s: at most %d add_column faults a dataset",
                           st->where ? st->where : "add_column", CHG_MAX_ADDED);
        chg_added *a = &cs->added[cs->nadded++];
        snprintf(a->name, sizeof a->name, "%s", st->column);
        a->type = st->col_type;
        a->at_tx = chg_cut(cs, pos);
        a->at = a->at_tx < cs->ntx ? cs->tx[a->at_tx].first : cs->n;
    }
    return 0;
}

static int fill_added(chg_stream *cs)
{
    if (!cs->nadded) return 0;
    if (!(cs->added_by = hx_calloc(cs->rows * cs->nadded, sizeof *cs->added_by))) return -1;
    for (uint64_t j = 0; j < cs->n; j++) {
        const chg_change *c = &cs->ch[j];
        for (size_t a = 0; a < cs->nadded; a++) {
            if (j < cs->added[a].at) continue;
            /* a delete leaves nothing; a re-insert writes it afresh */
            cs->added_by[c->key * cs->nadded + a] = c->op == CHG_DELETE ? 0 : j + 1;
        }
    }
    return 0;
}

int chg_build(gen *g, size_t ds, chg_stream **out, hx_err *e)
{
    const plan_scenario *s = gen_scenario(g);
    const plan_dataset *d = &s->datasets[ds];
    *out = NULL;
    if (!d->changes.on)
        return hx_fail(e, HX_EUSAGE, "dataset '%s' is not a change stream (ds:changes{})", d->name);
    if (d->key_col < 0)
        return hx_fail(e, HX_EUSAGE, "%s: change stream '%s' needs a key column",
                       d->where ? d->where : "changes", d->name);
    chg_stream *cs = hx_calloc(1, sizeof *cs);
    if (!cs) return oom(e);
    cs->d = d;
    cs->ds = ds;
    cs->rows = d->rows;
    builder b = {.cs = cs, .o = &d->changes, .burst_at = UINT64_MAX};
    b.key = rng_key(d->seed, S_OP);
    uint64_t rows = d->rows;
    b.rem_upd = (uint64_t)(d->changes.updates * (double)rows + 0.5);
    b.rem_del = (uint64_t)(d->changes.deletes * (double)rows + 0.5);
    b.rem_re = (uint64_t)(d->changes.reinserts * (double)rows + 0.5);
    if (b.rem_re > b.rem_del) b.rem_re = b.rem_del;
    if (d->changes.burst_n) {
        uint64_t total = rows + b.rem_upd + b.rem_del + b.rem_re;
        b.burst_at = (uint64_t)(d->changes.burst_at * (double)total);
    }
    int rc = 0;
    b.upd_cols = hx_calloc(d->ncols ? d->ncols : 1, sizeof *b.upd_cols);
    cs->version = hx_calloc(rows ? rows : 1, sizeof *cs->version);
    cs->alive = hx_calloc(rows ? rows : 1, 1);
    cs->src = hx_calloc(rows * d->ncols + 1, sizeof *cs->src);
    b.alive.v = hx_calloc(rows ? rows : 1, sizeof(uint64_t));
    b.alive.pos = hx_calloc(rows ? rows : 1, sizeof(uint64_t));
    b.dead.v = hx_calloc(rows ? rows : 1, sizeof(uint64_t));
    b.dead.pos = hx_calloc(rows ? rows : 1, sizeof(uint64_t));
    if (!b.upd_cols || !cs->version || !cs->alive || !cs->src || !b.alive.v || !b.alive.pos ||
        !b.dead.v || !b.dead.pos) {
        rc = oom(e);
        goto out;
    }
    for (size_t c = 0; c < d->ncols && c < 63; c++) {
        if ((int)c == d->key_col || (int)c == d->changes.large_col) continue;
        if (d->changes.cols_mask && !(d->changes.cols_mask & (1ULL << c))) continue;
        b.upd_cols[b.nupd++] = 1ULL << c;
    }
    if ((rc = build_ops(&b, e))) goto out;
    if ((rc = place_added(cs, s, e))) goto out;
    if (fill_added(cs)) rc = oom(e);
out:
    hx_free(b.upd_cols);
    hx_free(b.alive.v);
    hx_free(b.alive.pos);
    hx_free(b.dead.v);
    hx_free(b.dead.pos);
    if (rc) {
        chg_stream_free(cs);
        return rc;
    }
    *out = cs;
    return 0;
}

/* A large value: bytes letters drawn from (seed, src), which compress poorly so the value is
 * stored out of line (TOAST). */
static bool large_text(const chg_stream *cs, uint64_t src, hx_buf *out)
{
    uint64_t key = rng_key(cs->d->seed, S_LARGE_TEXT);
    uint32_t n = cs->d->changes.large_bytes ? cs->d->changes.large_bytes : 8192;
    if (!hx_buf_reserve(out, n + 1)) return false;
    for (uint32_t i = 0; i < n; i++)
        out->data[out->len++] = (char)('a' + rng_below(rng_draw(key, src, i), 26));
    out->data[out->len] = '\0';
    return true;
}

int chg_rec_init(const chg_stream *cs, gen_record *rec)
{
    int rc = gen_record_init(rec, cs->d->ncols);
    rec->id = UINT64_MAX;
    return rc;
}

int chg_value(gen *g, const chg_stream *cs, uint64_t src, size_t c, gen_record *rec, hx_buf *out,
              bool *null, hx_err *e)
{
    hx_buf_clear(out);
    *null = false;
    uint64_t id = src & ~CHG_LARGE;
    if (src & CHG_LARGE) return large_text(cs, id, out) ? 0 : oom(e);
    if (rec->id != id) {
        int rc = gen_record_at(g, cs->ds, id, 0, rec, e);
        if (rc) {
            rec->id = UINT64_MAX;
            return rc;
        }
    }
    const gen_value *v = &rec->vals[c];
    if (v->null) {
        *null = true;
        return 0;
    }
    return fmt_value(out, &cs->d->cols[c], v) ? 0 : oom(e);
}

void chg_added_value(const chg_stream *cs, size_t a, uint64_t j, hx_buf *out)
{
    hx_buf_clear(out);
    uint64_t x = rng_draw(rng_key(cs->d->seed, S_ADDED + a), j, 0);
    switch (cs->added[a].type) {
    case PLAN_T_INT:
        hx_buf_printf(out, "%llu", (unsigned long long)rng_below(x, 1000000));
        break;
    case PLAN_T_DECIMAL:
        hx_buf_printf(out, "%llu.%02llu", (unsigned long long)rng_below(x, 10000),
                      (unsigned long long)(x % 100));
        break;
    case PLAN_T_BOOL:
        hx_buf_puts(out, (x & 1) ? "true" : "false");
        break;
    case PLAN_T_TIMESTAMP: {
        char ts[48];
        fmt_timestamp(ts, sizeof ts,
                      1767225600000000LL + (int64_t)rng_below(x, 31536000) * 1000000);
        hx_buf_puts(out, ts);
        break;
    }
    case PLAN_T_UUID: {
        uint64_t y = rng_mix(x);
        hx_buf_printf(out, "%08llx-%04llx-4%03llx-8%03llx-%012llx", (unsigned long long)(x >> 32),
                      (unsigned long long)((x >> 16) & 0xffff), (unsigned long long)(x & 0xfff),
                      (unsigned long long)(y >> 52), (unsigned long long)(y & 0xffffffffffffULL));
        break;
    }
    default:
        hx_buf_printf(out, "v%llx", (unsigned long long)(x >> 16));
    }
}

int chg_key_text(gen *g, const chg_stream *cs, uint64_t k, gen_record *rec, hx_buf *out, hx_err *e)
{
    bool null;
    int rc = chg_value(g, cs, k, (size_t)cs->d->key_col, rec, out, &null, e);
    if (!rc && null)
        rc = hx_fail(e, HX_EUSAGE, "change stream '%s': key %llu has a NULL key value", cs->d->name,
                     (unsigned long long)k);
    return rc;
}
