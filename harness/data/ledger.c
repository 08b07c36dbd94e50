/* ledger.c - see ledger.h. Every query is one or two streaming passes of a gen_cursor; the only
 * memory that grows is the answer and the key tables (dedup, distinct, groups). */
#include "ledger.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "rng.h"

/* Open-addressing set of values. Numbers are stored exactly as their int64 bits; strings by a
 * 64-bit hash, and a hash match is confirmed by regenerating the stored emission and comparing
 * the bytes (cheap because repeats are rare where tables get big: keys of a dedup). */
typedef struct ktab {
    uint64_t *key; /* the number, or the string's hash */
    uint64_t *ref; /* (id << 1 | copy) + 1 of an emission holding the value; 0 = empty slot */
    size_t cap;    /* slots, a power of two */
    size_t n;      /* used slots */
} ktab;

typedef struct lctx {
    gen *g;
    size_t ds;
    int col;            /* column the table keys on */
    bool is_str;        /* that column is STRING or UUID */
    gen_record scratch; /* for exact string compares */
    hx_err *e;
} lctx;

static uint64_t ref_of(const gen_record *r)
{
    return ((r->id << 1) | r->copy) + 1;
}

static uint64_t value_key(bool is_str, const gen_value *v)
{
    return is_str ? hx_hash64(v->s, v->len) : (uint64_t)v->i;
}

static void ktab_release(ktab *t)
{
    hx_free(t->key);
    hx_free(t->ref);
    memset(t, 0, sizeof *t);
}

static bool ktab_grow(ktab *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    uint64_t *k = hx_calloc(cap, sizeof *k), *r = hx_calloc(cap, sizeof *r);
    if (!k || !r) {
        hx_free(k);
        hx_free(r);
        return false;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->ref[i]) continue;
        size_t s = rng_mix(t->key[i]) & (cap - 1);
        while (r[s])
            s = (s + 1) & (cap - 1);
        k[s] = t->key[i];
        r[s] = t->ref[i];
    }
    hx_free(t->key);
    hx_free(t->ref);
    t->key = k;
    t->ref = r;
    t->cap = cap;
    return true;
}

/* Find v's slot: *slot is where it is (ref != 0) or where it would go (ref == 0). */
static int ktab_find(lctx *x, ktab *t, const gen_value *v, size_t *slot)
{
    if ((t->n + 1) * 2 > t->cap && !ktab_grow(t))
        return hx_fail(x->e, HX_ENOMEM, "out of memory in a ledger query");
    uint64_t k = value_key(x->is_str, v);
    size_t s = rng_mix(k) & (t->cap - 1);
    for (;; s = (s + 1) & (t->cap - 1)) {
        if (!t->ref[s]) break;
        if (t->key[s] != k) continue;
        if (!x->is_str) break;
        uint64_t ref = t->ref[s] - 1;
        int rc = gen_record_at(x->g, x->ds, ref >> 1, (uint32_t)(ref & 1), &x->scratch, x->e);
        if (rc < 0) return rc;
        const gen_value *o = &x->scratch.vals[x->col];
        if (o->len == v->len && memcmp(o->s, v->s, v->len) == 0) break;
    }
    *slot = s;
    return 0;
}

static void ktab_put(ktab *t, size_t slot, const gen_value *v, bool is_str, uint64_t ref)
{
    if (!t->ref[slot]) t->n++;
    t->key[slot] = value_key(is_str, v);
    t->ref[slot] = ref;
}

/* ---- groups ---- */

static bool is_str_type(plan_type t);

typedef struct group {
    char *text;    /* group value as text, owned */
    bool null;     /* the NULL group */
    int64_t num;   /* numeric sort key (numbers, day numbers) */
    __int128 sum;  /* sum of non-null values */
    int64_t count; /* rows */
    int64_t nvals; /* non-null values */
    /* GROUPS: each key part's text (NULL = SQL NULL) and sort number, each aggregate's sum */
    char *parts[PLAN_GROUP_MAX];
    int64_t nums[PLAN_GROUP_MAX];
    __int128 sums[PLAN_GROUP_MAX];
    int64_t nv[PLAN_GROUP_MAX];
} group;

typedef struct gtab {
    group *g; /* groups, in first-seen order */
    size_t n, cap;
    uint64_t *hash; /* slot: hash of the group text */
    size_t *idx;    /* slot: group index + 1, 0 = empty */
    size_t scap;
} gtab;

static void gtab_release(gtab *t)
{
    for (size_t i = 0; i < t->n; i++) {
        hx_free(t->g[i].text);
        for (size_t k = 0; k < PLAN_GROUP_MAX; k++)
            hx_free(t->g[i].parts[k]);
    }
    hx_free(t->g);
    hx_free(t->hash);
    hx_free(t->idx);
    memset(t, 0, sizeof *t);
}

static bool gtab_grow(gtab *t)
{
    size_t cap = t->scap ? t->scap * 2 : 256;
    uint64_t *h = hx_calloc(cap, sizeof *h);
    size_t *ix = hx_calloc(cap, sizeof *ix);
    if (!h || !ix) {
        hx_free(h);
        hx_free(ix);
        return false;
    }
    for (size_t i = 0; i < t->scap; i++) {
        if (!t->idx[i]) continue;
        size_t s = rng_mix(t->hash[i]) & (cap - 1);
        while (ix[s])
            s = (s + 1) & (cap - 1);
        h[s] = t->hash[i];
        ix[s] = t->idx[i];
    }
    hx_free(t->hash);
    hx_free(t->idx);
    t->hash = h;
    t->idx = ix;
    t->scap = cap;
    return true;
}

/* The group for text (len n, null flag), created if new; NULL when out of memory. */
static group *gtab_get(gtab *t, const char *text, size_t n, bool null, int64_t num)
{
    if ((t->n + 1) * 2 > t->scap && !gtab_grow(t)) return NULL;
    uint64_t h = null ? 0x6e756c6cULL : hx_hash64(text, n);
    size_t s = rng_mix(h) & (t->scap - 1);
    for (; t->idx[s]; s = (s + 1) & (t->scap - 1)) {
        group *gr = &t->g[t->idx[s] - 1];
        if (t->hash[s] == h && gr->null == null && strlen(gr->text) == n &&
            memcmp(gr->text, text, n) == 0)
            return gr;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        group *ng = hx_realloc(t->g, cap * sizeof *ng);
        if (!ng) return NULL;
        t->g = ng;
        t->cap = cap;
    }
    group *gr = &t->g[t->n];
    memset(gr, 0, sizeof *gr);
    gr->text = hx_strndup(text, n);
    if (!gr->text) return NULL;
    gr->null = null;
    gr->num = num;
    t->n++;
    t->hash[s] = h;
    t->idx[s] = t->n;
    return gr;
}

static bool group_numeric; /* qsort has no context argument; set just before sorting */

static int group_cmp(const void *a, const void *b)
{
    const group *x = a, *y = b;
    if (x->null != y->null) return x->null ? 1 : -1;
    if (group_numeric) return x->num < y->num ? -1 : x->num > y->num;
    return strcmp(x->text, y->text);
}

/* GROUPS: the key parts' kinds for sorting (set just before sorting, like group_numeric). */
static const plan_dataset *groups_ds;
static const plan_grouping *groups_grp;

static int groups_cmp(const void *a, const void *b)
{
    const group *x = a, *y = b;
    for (size_t k = 0; k < groups_grp->nkeys; k++) {
        bool xn = !x->parts[k], yn = !y->parts[k];
        if (xn != yn) return xn ? 1 : -1;
        if (xn) continue;
        int c;
        if (is_str_type(groups_ds->cols[groups_grp->keys[k].col].type))
            c = strcmp(x->parts[k], y->parts[k]);
        else
            c = x->nums[k] < y->nums[k] ? -1 : x->nums[k] > y->nums[k];
        if (c) return c;
    }
    return 0;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- evaluation ---- */

static bool subset_pass(const plan_subset *s, const gen_record *r)
{
    if (s->valid && r->corrupt) return false;
    if (s->corrupt_only && !r->corrupt) return false;
    if ((s->with_faults || s->with_hits) &&
        !((r->faults & s->with_faults) || (r->hit_mask & s->with_hits)))
        return false;
    if ((r->faults & s->without_faults) || (r->hit_mask & s->without_hits)) return false;
    return true;
}

static bool is_str_type(plan_type t)
{
    return t == PLAN_T_STRING || t == PLAN_T_UUID;
}

static double pow10i(int scale)
{
    double p = 1;
    for (int i = 0; i < scale; i++)
        p *= 10;
    return p;
}

static int64_t floor_div64(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* An instant (a bucket's start) as RFC 3339 without a zero fraction: "2026-03-02T00:05:00Z". */
static void bucket_text(char *buf, size_t n, int64_t us)
{
    fmt_timestamp(buf, n, us);
    char *dot = strstr(buf, ".000000Z");
    if (dot) memcpy(dot, "Z", 2);
}

static int check_groups(const plan_dataset *d, const plan_grouping *g, hx_err *e)
{
    if (g->nkeys < 1 || g->nkeys > PLAN_GROUP_MAX || g->naggs < 1 || g->naggs > PLAN_GROUP_MAX)
        return hx_fail(e, HX_EUSAGE,
                       "grouped ledger query on '%s' needs 1 to %d keys and 1 to %d aggregates",
                       d->name, PLAN_GROUP_MAX, PLAN_GROUP_MAX);
    for (size_t k = 0; k < g->nkeys; k++) {
        const plan_group_key *gk = &g->keys[k];
        if (gk->col < 0 || gk->col >= (int)d->ncols)
            return hx_fail(e, HX_EUSAGE, "grouped ledger query on '%s' names a column it lacks",
                           d->name);
        if (gk->bucket_us < 0 || (gk->bucket_us && d->cols[gk->col].type != PLAN_T_TIMESTAMP))
            return hx_fail(e, HX_EUSAGE, "group key '%s' of '%s': a bucket needs a timestamp",
                           gk->name, d->name);
    }
    for (size_t i = 0; i < g->naggs; i++) {
        const plan_group_agg *ga = &g->aggs[i];
        if (ga->agg == PLAN_AGG_COUNT) continue;
        if (ga->agg != PLAN_AGG_SUM || ga->col < 0 || ga->col >= (int)d->ncols)
            return hx_fail(e, HX_EUSAGE, "aggregate '%s' of '%s': count, or sum of a column",
                           ga->name, d->name);
        plan_type t = d->cols[ga->col].type;
        if (is_str_type(t) || t == PLAN_T_TIMESTAMP)
            return hx_fail(e, HX_EUSAGE, "cannot sum column '%s' of '%s' (type %s); pick a number",
                           d->cols[ga->col].name, d->name, plan_type_name(t));
    }
    return 0;
}

static int check_query(const plan_scenario *s, const plan_query *q, hx_err *e)
{
    if (q->dataset >= s->ndatasets)
        return hx_fail(e, HX_EUSAGE, "ledger query names dataset %zu; the scenario has %zu",
                       q->dataset, s->ndatasets);
    const plan_dataset *d = &s->datasets[q->dataset];
    int ncols = (int)d->ncols;
    if (q->sub.dedup_col >= ncols || q->sub.group_day_col >= ncols)
        return hx_fail(e, HX_EUSAGE, "ledger query on '%s' names a column it lacks", d->name);
    switch (q->agg) {
    case PLAN_AGG_COUNT:
    case PLAN_AGG_IDS:
        return 0;
    case PLAN_AGG_ROWS:
        return hx_fail(e, HX_EUSAGE, "rows of '%s' are not supported by ledger_eval; use a cursor",
                       d->name);
    case PLAN_AGG_GROUPS:
        return check_groups(d, &q->grp, e);
    default:
        break;
    }
    if (q->col < 0 || q->col >= ncols)
        if (q->agg != PLAN_AGG_GROUP_COUNT)
            return hx_fail(e, HX_EUSAGE, "ledger query %d on '%s' needs a column", (int)q->agg,
                           d->name);
    if (q->agg == PLAN_AGG_GROUP_SUM || q->agg == PLAN_AGG_GROUP_COUNT)
        if ((q->group_col < 0 || q->group_col >= ncols) && q->sub.group_day_col < 0)
            return hx_fail(e, HX_EUSAGE, "grouped ledger query on '%s' needs a group column",
                           d->name);
    if ((q->agg == PLAN_AGG_SUM || q->agg == PLAN_AGG_AVG || q->agg == PLAN_AGG_GROUP_SUM) &&
        (is_str_type(d->cols[q->col].type) || d->cols[q->col].type == PLAN_T_TIMESTAMP))
        return hx_fail(e, HX_EUSAGE, "cannot sum column '%s' of '%s' (type %s); pick a number",
                       d->cols[q->col].name, d->name, plan_type_name(d->cols[q->col].type));
    return 0;
}

typedef struct acc {
    int64_t count;     /* rows seen */
    int64_t nvals;     /* non-null values */
    __int128 sum;      /* sum of values */
    bool have;         /* min/max set */
    int64_t min, max;  /* numeric min/max */
    hx_buf smin, smax; /* string min/max */
    ktab distinct;     /* COUNT_DISTINCT */
    gtab groups;       /* GROUP_* */
    uint64_t *ids;     /* IDS */
    size_t nids, capids;
} acc;

static int str_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

/* GROUPS: the record's group (its key parts' text joined by 0x1f, a NULL part 0x1e), created
 * with its parts when new, then its aggregates. */
static int accumulate_groups(const plan_query *q, const plan_dataset *d, acc *a,
                             const gen_record *r, hx_err *e)
{
    const plan_grouping *g = &q->grp;
    char parts[PLAN_GROUP_MAX][64];
    bool nulls[PLAN_GROUP_MAX];
    int64_t nums[PLAN_GROUP_MAX];
    const char *ptext[PLAN_GROUP_MAX];
    size_t plen[PLAN_GROUP_MAX];
    hx_buf key;
    hx_buf_init(&key);
    for (size_t k = 0; k < g->nkeys; k++) {
        const plan_group_key *gk = &g->keys[k];
        const plan_column *col = &d->cols[gk->col];
        const gen_value *v = &r->vals[gk->col];
        nulls[k] = v->null;
        nums[k] = 0;
        ptext[k] = parts[k];
        plen[k] = 0;
        parts[k][0] = '\0';
        if (v->null) {
            ptext[k] = "\x1e";
            plen[k] = 1;
        } else if (gk->bucket_us > 0 || col->type == PLAN_T_TIMESTAMP) {
            nums[k] = gk->bucket_us > 0 ? floor_div64(v->i, gk->bucket_us) * gk->bucket_us : v->i;
            bucket_text(parts[k], sizeof parts[k], nums[k]);
            plen[k] = strlen(parts[k]);
        } else if (is_str_type(col->type)) {
            ptext[k] = v->s;
            plen[k] = v->len;
        } else {
            hx_buf b = {parts[k], 0, sizeof parts[k], false};
            fmt_value(&b, col, v);
            plen[k] = b.len;
            nums[k] = v->i;
        }
        if (k) hx_buf_putc(&key, '\x1f');
        hx_buf_append(&key, ptext[k], plen[k]);
    }
    if (key.oom || !key.data) {
        hx_buf_release(&key);
        return hx_fail(e, HX_ENOMEM, "out of memory grouping '%s'", d->name);
    }
    size_t before = a->groups.n;
    group *gr = gtab_get(&a->groups, key.data, key.len, false, 0);
    hx_buf_release(&key);
    if (!gr) return hx_fail(e, HX_ENOMEM, "out of memory grouping '%s'", d->name);
    if (a->groups.n != before) {
        for (size_t k = 0; k < g->nkeys; k++) {
            gr->nums[k] = nums[k];
            if (nulls[k]) continue;
            gr->parts[k] = hx_strndup(ptext[k], plen[k]);
            if (!gr->parts[k]) return hx_fail(e, HX_ENOMEM, "out of memory grouping '%s'", d->name);
        }
    }
    gr->count++;
    for (size_t i = 0; i < g->naggs; i++) {
        const plan_group_agg *ga = &g->aggs[i];
        if (ga->agg != PLAN_AGG_SUM || r->vals[ga->col].null) continue;
        gr->sums[i] += r->vals[ga->col].i;
        gr->nv[i]++;
    }
    return 0;
}

static int accumulate(lctx *dx, const plan_query *q, const plan_dataset *d, acc *a,
                      const gen_record *r, hx_err *e)
{
    a->count++;
    if (q->agg == PLAN_AGG_GROUPS) return accumulate_groups(q, d, a, r, e);
    const gen_value *v = q->col >= 0 ? &r->vals[q->col] : NULL;
    switch (q->agg) {
    case PLAN_AGG_COUNT:
        return 0;
    case PLAN_AGG_IDS:
        if (a->nids == a->capids) {
            size_t cap = a->capids ? a->capids * 2 : 1024;
            uint64_t *n = hx_realloc(a->ids, cap * sizeof *n);
            if (!n) return hx_fail(e, HX_ENOMEM, "out of memory listing ids of '%s'", d->name);
            a->ids = n;
            a->capids = cap;
        }
        a->ids[a->nids++] = r->id;
        return 0;
    case PLAN_AGG_COUNT_DISTINCT: {
        if (v->null) return 0;
        size_t slot;
        int rc = ktab_find(dx, &a->distinct, v, &slot);
        if (rc < 0) return rc;
        if (!a->distinct.ref[slot]) ktab_put(&a->distinct, slot, v, dx->is_str, ref_of(r));
        return 0;
    }
    case PLAN_AGG_GROUP_SUM:
    case PLAN_AGG_GROUP_COUNT: {
        int gc = q->sub.group_day_col >= 0 ? (int)q->sub.group_day_col : q->group_col;
        const plan_column *gcol = &d->cols[gc];
        const gen_value *gv = &r->vals[gc];
        char tmp[48];
        group *gr;
        if (gv->null) {
            gr = gtab_get(&a->groups, "", 0, true, 0);
        } else if (gcol->type == PLAN_T_TIMESTAMP) {
            size_t n = fmt_date(tmp, gv->i);
            gr = gtab_get(&a->groups, tmp, n, false, gv->i / 86400000000LL);
        } else if (is_str_type(gcol->type)) {
            gr = gtab_get(&a->groups, gv->s, gv->len, false, 0);
        } else {
            hx_buf b = {tmp, 0, sizeof tmp, false};
            fmt_value(&b, gcol, gv);
            gr = gtab_get(&a->groups, tmp, b.len, false, gv->i);
        }
        if (!gr) return hx_fail(e, HX_ENOMEM, "out of memory grouping '%s'", d->name);
        gr->count++;
        if (q->agg == PLAN_AGG_GROUP_SUM && !v->null) {
            gr->sum += v->i;
            gr->nvals++;
        }
        return 0;
    }
    default:
        break;
    }
    if (v->null) return 0;
    a->nvals++;
    if (is_str_type(d->cols[q->col].type)) {
        if (!a->have || str_cmp(v->s, v->len, a->smin.data, a->smin.len) < 0) {
            hx_buf_clear(&a->smin);
            hx_buf_append(&a->smin, v->s, v->len);
        }
        if (!a->have || str_cmp(v->s, v->len, a->smax.data, a->smax.len) > 0) {
            hx_buf_clear(&a->smax);
            hx_buf_append(&a->smax, v->s, v->len);
        }
        a->have = true;
        if (a->smin.oom || a->smax.oom)
            return hx_fail(e, HX_ENOMEM, "out of memory in a ledger query");
        return 0;
    }
    a->sum += v->i;
    if (!a->have || v->i < a->min) a->min = v->i;
    if (!a->have || v->i > a->max) a->max = v->i;
    a->have = true;
    return 0;
}

static bool fits64(__int128 v)
{
    return v >= INT64_MIN && v <= INT64_MAX;
}

static int finish_groups(const plan_query *q, const plan_dataset *d, acc *a, ledger_result *out,
                         hx_err *e)
{
    const plan_grouping *g = &q->grp;
    groups_ds = d;
    groups_grp = g;
    qsort(a->groups.g, a->groups.n, sizeof *a->groups.g, groups_cmp);
    out->type = PLAN_T_INT;
    out->rows = hx_calloc(a->groups.n ? a->groups.n : 1, sizeof *out->rows);
    if (!out->rows) return hx_fail(e, HX_ENOMEM, "out of memory");
    size_t nc = g->nkeys + g->naggs;
    for (size_t i = 0; i < a->groups.n; i++) {
        group *gr = &a->groups.g[i];
        ledger_row *row = &out->rows[out->nrows++];
        row->cells = hx_calloc(nc, sizeof *row->cells);
        if (!row->cells) return hx_fail(e, HX_ENOMEM, "out of memory");
        row->ncells = nc;
        hx_buf name;
        hx_buf_init(&name);
        for (size_t k = 0; k < g->nkeys; k++) {
            row->cells[k] = gr->parts[k];
            gr->parts[k] = NULL;
            if (k) hx_buf_puts(&name, ", ");
            hx_buf_puts(&name, row->cells[k] ? row->cells[k] : "NULL");
        }
        row->group = name.oom ? NULL : hx_buf_steal(&name);
        hx_buf_release(&name);
        if (!row->group) return hx_fail(e, HX_ENOMEM, "out of memory");
        row->exact = gr->count;
        row->value = (double)gr->count;
        for (size_t j = 0; j < g->naggs; j++) {
            const plan_group_agg *ga = &g->aggs[j];
            char buf[64];
            if (ga->agg == PLAN_AGG_COUNT) {
                snprintf(buf, sizeof buf, "%lld", (long long)gr->count);
            } else if (!gr->nv[j]) {
                continue; /* SQL: the sum of nothing is NULL */
            } else {
                if (!fits64(gr->sums[j]))
                    return hx_fail(e, HX_EUSAGE, "a group sum of '%s' in '%s' overflows 64 bits",
                                   d->cols[ga->col].name, d->name);
                const plan_column *col = &d->cols[ga->col];
                fmt_decimal(buf, sizeof buf, (int64_t)gr->sums[j],
                            col->type == PLAN_T_DECIMAL ? col->scale : 0);
            }
            row->cells[g->nkeys + j] = hx_strdup(buf);
            if (!row->cells[g->nkeys + j]) return hx_fail(e, HX_ENOMEM, "out of memory");
        }
    }
    out->exact = (int64_t)out->nrows;
    out->number = (double)out->nrows;
    return 0;
}

static int finish(const plan_query *q, const plan_dataset *d, acc *a, ledger_result *out, hx_err *e)
{
    if (q->agg == PLAN_AGG_GROUPS) return finish_groups(q, d, a, out, e);
    const plan_column *col = q->col >= 0 && q->col < (int)d->ncols ? &d->cols[q->col] : NULL;
    int scale = col && col->type == PLAN_T_DECIMAL ? col->scale : 0;
    double p = pow10i(scale);
    out->type = col ? col->type : PLAN_T_INT;
    switch (q->agg) {
    case PLAN_AGG_COUNT:
        out->type = PLAN_T_INT;
        out->exact = a->count;
        out->number = (double)a->count;
        return 0;
    case PLAN_AGG_COUNT_DISTINCT:
        out->type = PLAN_T_INT;
        out->exact = (int64_t)a->distinct.n;
        out->number = (double)a->distinct.n;
        return 0;
    case PLAN_AGG_IDS:
        qsort(a->ids, a->nids, sizeof *a->ids, u64_cmp);
        out->ids = a->ids;
        out->nids = a->nids;
        a->ids = NULL;
        out->exact = (int64_t)out->nids;
        out->number = (double)out->nids;
        return 0;
    case PLAN_AGG_SUM:
        if (!fits64(a->sum))
            return hx_fail(e, HX_EUSAGE, "the sum of '%s' in '%s' overflows 64 bits", col->name,
                           d->name);
        out->scale = scale;
        out->exact = (int64_t)a->sum;
        out->number = (double)a->sum / p;
        out->is_null = a->nvals == 0; /* SQL: sum of nothing is NULL */
        return 0;
    case PLAN_AGG_AVG:
        out->is_null = a->nvals == 0;
        out->scale = scale;
        out->number = a->nvals ? (double)a->sum / (double)a->nvals / p : 0;
        out->exact = a->nvals ? (int64_t)(a->sum / a->nvals) : 0; /* truncated, in 10^-scale */
        return 0;
    case PLAN_AGG_MIN:
    case PLAN_AGG_MAX: {
        out->is_null = !a->have;
        if (!a->have) return 0;
        if (is_str_type(col->type)) {
            hx_buf *b = q->agg == PLAN_AGG_MIN ? &a->smin : &a->smax;
            out->text = hx_strndup(b->data ? b->data : "", b->len);
            if (!out->text) return hx_fail(e, HX_ENOMEM, "out of memory");
            out->number = NAN;
            return 0;
        }
        out->scale = scale;
        out->exact = q->agg == PLAN_AGG_MIN ? a->min : a->max;
        out->number = (double)out->exact / p;
        return 0;
    }
    case PLAN_AGG_GROUP_SUM:
    case PLAN_AGG_GROUP_COUNT: {
        int gc = q->sub.group_day_col >= 0 ? (int)q->sub.group_day_col : q->group_col;
        plan_type gt = d->cols[gc].type;
        group_numeric = !is_str_type(gt);
        qsort(a->groups.g, a->groups.n, sizeof *a->groups.g, group_cmp);
        out->rows = hx_calloc(a->groups.n ? a->groups.n : 1, sizeof *out->rows);
        if (!out->rows) return hx_fail(e, HX_ENOMEM, "out of memory");
        out->scale = q->agg == PLAN_AGG_GROUP_SUM ? scale : 0;
        if (q->agg == PLAN_AGG_GROUP_COUNT) out->type = PLAN_T_INT;
        for (size_t i = 0; i < a->groups.n; i++) {
            group *gr = &a->groups.g[i];
            ledger_row *row = &out->rows[out->nrows++];
            row->group = gr->text;
            row->group_null = gr->null;
            gr->text = NULL;
            if (q->agg == PLAN_AGG_GROUP_COUNT) {
                row->exact = gr->count;
                row->value = (double)gr->count;
            } else {
                if (!fits64(gr->sum))
                    return hx_fail(e, HX_EUSAGE, "a group sum of '%s' overflows 64 bits", d->name);
                row->exact = (int64_t)gr->sum;
                row->value = (double)gr->sum / p;
                row->is_null = gr->nvals == 0;
            }
        }
        out->exact = (int64_t)out->nrows;
        out->number = (double)out->nrows;
        return 0;
    }
    default:
        return hx_fail(e, HX_EUSAGE, "unknown ledger aggregate %d", (int)q->agg);
    }
}

/* ---- the subset's records ---- */

struct ledger_iter {
    gen *g;            /* borrowed */
    plan_subset sub;   /* the filters and the dedup */
    lctx dedup;        /* the dedup column's table context */
    ktab seen;         /* dedup: value -> the emission kept (last) or seen (first) */
    uint64_t null_ref; /* dedup: the emission kept or seen for NULL, 0 = none yet */
    gen_cursor cur;    /* the pass that hands out records */
    bool cursor;       /* cur is initialised */
};

void ledger_iter_free(ledger_iter *it)
{
    if (!it) return;
    if (it->cursor) gen_cursor_release(&it->cur);
    gen_record_release(&it->dedup.scratch);
    ktab_release(&it->seen);
    hx_free(it);
}

int ledger_iter_new(gen *g, const plan_query *q, ledger_iter **out, hx_err *e)
{
    const plan_scenario *s = gen_scenario(g);
    *out = NULL;
    if (q->dataset >= s->ndatasets)
        return hx_fail(e, HX_EUSAGE, "ledger query names dataset %zu; the scenario has %zu",
                       q->dataset, s->ndatasets);
    const plan_dataset *d = &s->datasets[q->dataset];
    if (q->sub.dedup_col >= (int)d->ncols)
        return hx_fail(e, HX_EUSAGE, "ledger query on '%s' names a column it lacks", d->name);
    ledger_iter *it = hx_calloc(1, sizeof *it);
    if (!it || gen_record_init(&it->dedup.scratch, d->ncols) < 0) {
        hx_free(it);
        return hx_fail(e, HX_ENOMEM, "out of memory");
    }
    it->g = g;
    it->sub = q->sub;
    it->dedup = (lctx){g, q->dataset, q->sub.dedup_col, false, it->dedup.scratch, e};
    if (q->sub.dedup_col >= 0) it->dedup.is_str = is_str_type(d->cols[q->sub.dedup_col].type);
    int rc = 0;
    const gen_record *r;
    if (q->sub.dedup_col >= 0 && q->sub.dedup_last) {
        /* Pass 1: the last emission of each value. */
        if ((rc = gen_cursor_init(&it->cur, g, q->dataset, -1, e)) < 0) goto fail;
        it->cursor = true;
        while ((rc = gen_cursor_next(&it->cur, &r, e)) > 0) {
            if (!subset_pass(&it->sub, r)) continue;
            const gen_value *k = &r->vals[q->sub.dedup_col];
            if (k->null) {
                it->null_ref = ref_of(r);
                continue;
            }
            size_t slot;
            if ((rc = ktab_find(&it->dedup, &it->seen, k, &slot)) < 0) goto fail;
            ktab_put(&it->seen, slot, k, it->dedup.is_str, ref_of(r));
        }
        if (rc < 0) goto fail;
        gen_cursor_release(&it->cur);
        it->cursor = false;
    }
    if ((rc = gen_cursor_init(&it->cur, g, q->dataset, -1, e)) < 0) goto fail;
    it->cursor = true;
    *out = it;
    return 0;
fail:
    ledger_iter_free(it);
    return rc;
}

int ledger_iter_next(ledger_iter *it, const gen_record **out, hx_err *e)
{
    const plan_subset *sub = &it->sub;
    const gen_record *r;
    int rc;
    it->dedup.e = e;
    while ((rc = gen_cursor_next(&it->cur, &r, e)) > 0) {
        if (!subset_pass(sub, r)) continue;
        if (sub->dedup_col >= 0) {
            const gen_value *k = &r->vals[sub->dedup_col];
            if (sub->dedup_last) {
                if (k->null) {
                    if (it->null_ref != ref_of(r)) continue;
                } else {
                    size_t slot;
                    if ((rc = ktab_find(&it->dedup, &it->seen, k, &slot)) < 0) return rc;
                    if (it->seen.ref[slot] != ref_of(r)) continue;
                }
            } else if (k->null) {
                if (it->null_ref) continue;
                it->null_ref = ref_of(r);
            } else {
                size_t slot;
                if ((rc = ktab_find(&it->dedup, &it->seen, k, &slot)) < 0) return rc;
                if (it->seen.ref[slot]) continue;
                ktab_put(&it->seen, slot, k, it->dedup.is_str, ref_of(r));
            }
        }
        *out = r;
        return 1;
    }
    return rc;
}

int ledger_eval(gen *g, const plan_query *q, ledger_result *out, hx_err *e)
{
    const plan_scenario *s = gen_scenario(g);
    memset(out, 0, sizeof *out);
    out->agg = q->agg;
    int rc = check_query(s, q, e);
    if (rc < 0) return rc;
    const plan_dataset *d = &s->datasets[q->dataset];
    lctx dist = {g, q->dataset, q->col, false, {0}, e};
    ledger_iter *it = NULL;
    acc a;
    memset(&a, 0, sizeof a);
    hx_buf_init(&a.smin);
    hx_buf_init(&a.smax);
    const gen_record *r;
    if ((rc = gen_record_init(&dist.scratch, d->ncols)) < 0) {
        rc = hx_fail(e, HX_ENOMEM, "out of memory");
        goto done;
    }
    if (q->col >= 0 && q->col < (int)d->ncols) dist.is_str = is_str_type(d->cols[q->col].type);
    if ((rc = ledger_iter_new(g, q, &it, e)) < 0) goto done;
    while ((rc = ledger_iter_next(it, &r, e)) > 0)
        if ((rc = accumulate(&dist, q, d, &a, r, e)) < 0) goto done;
    if (rc < 0) goto done;
    rc = finish(q, d, &a, out, e);
done:
    if (rc < 0) {
        ledger_result_release(out);
        out->agg = q->agg;
    }
    ledger_iter_free(it);
    gen_record_release(&dist.scratch);
    ktab_release(&a.distinct);
    gtab_release(&a.groups);
    hx_free(a.ids);
    hx_buf_release(&a.smin);
    hx_buf_release(&a.smax);
    return rc;
}

void ledger_result_release(ledger_result *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->nrows; i++) {
        hx_free(r->rows[i].group);
        for (size_t c = 0; c < r->rows[i].ncells; c++)
            hx_free(r->rows[i].cells[c]);
        hx_free(r->rows[i].cells);
    }
    hx_free(r->rows);
    hx_free(r->ids);
    hx_free(r->text);
    memset(r, 0, sizeof *r);
}

void ledger_result_text(const ledger_result *r, char *buf, size_t n)
{
    if (n == 0) return;
    if (r->is_null) {
        snprintf(buf, n, "null");
        return;
    }
    switch (r->agg) {
    case PLAN_AGG_GROUP_SUM:
    case PLAN_AGG_GROUP_COUNT:
    case PLAN_AGG_GROUPS:
        snprintf(buf, n, "%zu groups", r->nrows);
        return;
    case PLAN_AGG_IDS:
        snprintf(buf, n, "%zu ids", r->nids);
        return;
    case PLAN_AGG_AVG:
        snprintf(buf, n, "%.*f", r->scale + 4, r->number);
        return;
    default:
        break;
    }
    if (r->text) {
        snprintf(buf, n, "%s", r->text);
        return;
    }
    if ((r->agg == PLAN_AGG_MIN || r->agg == PLAN_AGG_MAX) && r->type == PLAN_T_TIMESTAMP)
        fmt_timestamp(buf, n, r->exact);
    else if ((r->agg == PLAN_AGG_MIN || r->agg == PLAN_AGG_MAX) && r->type == PLAN_T_BOOL)
        snprintf(buf, n, "%s", r->exact ? "true" : "false");
    else
        fmt_decimal(buf, n, r->exact, r->scale);
}

/* ---- the ledger file ---- */

static bool put_col(hx_buf *b, const plan_dataset *d, int c)
{
    if (c < 0 || c >= (int)d->ncols) return hx_buf_puts(b, ",\"column\":null");
    return hx_buf_puts(b, ",\"column\":") &&
           fmt_json_string(b, d->cols[c].name, strlen(d->cols[c].name));
}

static bool ledger_line(hx_buf *b, gen *g, size_t ds, const gen_record *r, size_t fi)
{
    const plan_dataset *d = &gen_scenario(g)->datasets[ds];
    const plan_fault *f = &d->faults[fi];
    int fcol = gen_fault_column(g, ds, fi);
    bool ok = hx_buf_puts(b, "{\"dataset\":") && fmt_json_string(b, d->name, strlen(d->name));
    ok &= hx_buf_printf(
        b, ",\"id\":%llu,\"copy\":%u,\"batch\":%u,\"fault\":\"%s\",\"fault_index\":%zu",
        (unsigned long long)r->id, r->copy, r->batch, plan_fault_name(f->kind), fi);
    switch (f->kind) {
    case PLAN_F_DUPLICATE:
        ok &= put_col(b, d, r->changed ? (int)r->aux[fi] : -1);
        ok &= hx_buf_puts(b, r->changed ? ",\"detail\":\"changed\"" : ",\"detail\":\"exact\"");
        break;
    case PLAN_F_LATE:
    case PLAN_F_OUT_OF_ORDER:
        ok &= put_col(b, d, fcol);
        ok &= hx_buf_printf(b, ",\"detail\":\"%s\",\"shift_us\":%lld",
                            f->kind == PLAN_F_LATE ? "delay" : "shift", (long long)r->aux[fi]);
        break;
    case PLAN_F_NULLS:
        ok &= put_col(b, d, fcol) && hx_buf_puts(b, ",\"detail\":\"null\"");
        break;
    case PLAN_F_CORRUPT:
        ok &= put_col(b, d, r->corrupt_col);
        ok &= hx_buf_printf(b, ",\"detail\":\"%s\"", gen_corrupt_name(r->corrupt));
        if (r->corrupt_asked != r->corrupt)
            ok &= hx_buf_printf(b, ",\"requested\":\"%s\"", gen_corrupt_name(r->corrupt_asked));
        break;
    case PLAN_F_SCHEMA_DRIFT:
        ok &= put_col(b, d, f->drift == PLAN_DRIFT_ADD ? -1 : fcol);
        ok &= hx_buf_puts(b, f->drift == PLAN_DRIFT_ADD      ? ",\"detail\":\"add\""
                             : f->drift == PLAN_DRIFT_RENAME ? ",\"detail\":\"rename\""
                                                             : ",\"detail\":\"retype\"");
        if (f->drift != PLAN_DRIFT_RETYPE && f->name)
            ok &= hx_buf_puts(b, ",\"name\":") && fmt_json_string(b, f->name, strlen(f->name));
        if (f->drift != PLAN_DRIFT_RENAME)
            ok &= hx_buf_printf(b, ",\"new_type\":\"%s\"", plan_type_name(f->new_type));
        break;
    case PLAN_F_OUTLIERS:
        ok &= put_col(b, d, fcol);
        ok &= hx_buf_printf(b, ",\"detail\":\"outlier\",\"factor\":%.17g", f->factor);
        break;
    case PLAN_F_ORPHANS:
        ok &= put_col(b, d, fcol);
        ok &= hx_buf_printf(b, ",\"detail\":\"orphan\",\"parent_id\":%lld", (long long)r->aux[fi]);
        break;
    case PLAN_F_PATTERN: /* detail: the pattern's name; which instance, which record of it */
        ok &= put_col(b, d, fcol) && hx_buf_puts(b, ",\"detail\":") &&
              fmt_json_string(b, f->name, strlen(f->name));
        ok &= hx_buf_printf(b, ",\"instance\":%lld,\"member\":%lld",
                            (long long)((uint64_t)r->aux[fi] >> 16),
                            (long long)(r->aux[fi] & 0xffff));
        break;
    default:
        ok &= put_col(b, d, -1);
        break;
    }
    return ok && hx_buf_puts(b, "}\n");
}

int ledger_write(gen *g, size_t ds, FILE *out, hx_err *e)
{
    gen_cursor cur;
    hx_buf b;
    const gen_record *r;
    int rc = gen_cursor_init(&cur, g, ds, -1, e);
    if (rc < 0) return rc;
    const plan_dataset *d = &gen_scenario(g)->datasets[ds];
    hx_buf_init(&b);
    for (;;) {
        rc = gen_cursor_next(&cur, &r, e);
        if (rc < 0) goto done;
        for (size_t fi = 0; rc > 0 && r->hit_mask && fi < d->nfaults; fi++)
            if ((r->hit_mask >> fi) & 1)
                if (!ledger_line(&b, g, ds, r, fi)) {
                    rc = hx_fail(e, HX_ENOMEM, "out of memory writing the ledger of '%s'", d->name);
                    goto done;
                }
        if (b.len >= (1 << 16) || (rc == 0 && b.len)) {
            if (fwrite(b.data, 1, b.len, out) != b.len) {
                rc = hx_fail(e, HX_EIO, "cannot write the ledger of '%s': %s", d->name,
                             strerror(errno));
                goto done;
            }
            hx_buf_clear(&b);
        }
        if (rc == 0) break;
    }
    if (fflush(out) != 0)
        rc = hx_fail(e, HX_EIO, "cannot write the ledger of '%s': %s", d->name, strerror(errno));
done:
    hx_buf_release(&b);
    gen_cursor_release(&cur);
    return rc < 0 ? rc : 0;
}
