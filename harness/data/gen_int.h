/* gen_int.h - the generator's internals shared by gen.c (values, faults, setup) and gen_cursor.c
 * (walking emissions): the per-dataset state and the arrival and batch arithmetic. Private to
 * harness/data; nothing outside includes it. */
#ifndef HX_GEN_INT_H
#define HX_GEN_INT_H

#include "gen.h"
#include "rng.h"

#define GEN_MAX_FAULTS 64
#define GEN_MAX_FK_DEPTH 16
#define DAY_US 86400000000LL
/* Arrival clock of datasets without a time column: 2026-01-01T00:00:00Z, one record per ms. */
#define SYNTH_EPOCH_US 1767225600000000LL
#define SYNTH_STEP_US 1000
#define NO_OFF ((size_t)-1)
/* ZIPF foreign keys: buckets of the guide table that saves most rows their pow(). */
#define ZIPF_BITS 16
#define ZIPF_BUCKETS (1u << ZIPF_BITS)
#define ZIPF_BLOCK_BITS 6 /* buckets that share one base parent */
#define ZIPF_SLOW 0xffu   /* the delta of a bucket that straddles two parents: compute */
/* CATEGORICAL columns: buckets of the guide table that starts each row's search. */
#define CAT_BITS 8

/* Stream numbers: the high half says what, the low half which column or fault. */
#define S_VALUE(c) ((uint64_t)(c))
#define S_NULL(c) ((1ULL << 32) | (uint64_t)(c))
#define S_FAULT(f) ((2ULL << 32) | (uint64_t)(f))
#define S_PATTERN (3ULL << 32) /* where the dataset's pattern instances go (gen_pattern.c) */

typedef struct gen_pat gen_pat; /* the dataset's planted patterns, gen_pattern.c */

typedef struct gen_col {
    uint64_t vkey;     /* value stream key */
    uint64_t nkey;     /* null stream key */
    int64_t *cat_int;  /* CATEGORICAL of INT type: the parsed values */
    uint32_t *cat_len; /* CATEGORICAL of text: the byte length of each value (no strlen per row) */
    /* CATEGORICAL: per bucket of draws (CAT_BITS top bits), the first value whose cumulative
     * weight exceeds the bucket's lowest draw; a row scans on from there (see cat_pick). */
    uint8_t cat_guide[1u << CAT_BITS];
    int64_t lo, hi; /* DECIMAL: bounds in 10^-scale units */
    double pow10;   /* 10^scale */
    /* FK ZIPF: the parts of the inverse CDF that depend only on the column (see fk_parent),
     * computed once instead of a pow() per row. */
    double zipf_a; /* skew 1: log(N+1); else (N+1)^(1-skew) - 1 */
    double zipf_e; /* 1 / (1 - skew) */
    /* The guide table (see zipf_table), NULL for small datasets: a bucket's parent is its block's
     * base plus its delta. A byte per bucket keeps the table (68 KiB) in cache: rows hit it at
     * random, and a 4-byte parent per bucket (256 KiB) made every lookup a cache miss. */
    uint32_t *zipf_base; /* per block of 2^ZIPF_BLOCK_BITS buckets; owns zipf_delta too */
    uint8_t *zipf_delta; /* per bucket of draws (ZIPF_BITS top bits), or ZIPF_SLOW */
} gen_col;

typedef struct gen_fault {
    uint64_t key; /* the fault's stream key */
    uint64_t thr; /* hits when the draw's top 53 bits are below this (see unit_threshold) */
    int col;      /* resolved target column, -1 when none */
} gen_fault;

typedef struct gen_ds {
    gen_col *cols;        /* per column */
    gen_fault *faults;    /* per fault, resolved */
    int arr_col;          /* TIMESTAMP-kind column that sets arrivals, -1 = synthetic clock */
    uint32_t nbatches;    /* >= 1 */
    int64_t day0;         /* DAY: first day number */
    uint64_t gap;         /* duplicate copies arrive after original id + gap */
    bool has_dup;         /* some DUPLICATE fault */
    bool emissions_known; /* emissions is cached */
    uint64_t emissions;   /* rows + copies */
    int *str_cols;        /* STRING columns, else UUID columns (BAD_UTF8 targets) */
    size_t nstr;
    int *num_cols; /* INT / DECIMAL / TIMESTAMP / BOOL columns (BAD_TYPE targets) */
    size_t nnum;
    int *chg_cols; /* payload columns a changed duplicate may alter */
    size_t nchg;
    size_t *dup_faults; /* indices of the DUPLICATE faults, in plan order */
    size_t ndup;
    gen_pat *pat; /* PATTERN faults' placement, NULL when the dataset has none */
} gen_ds;

struct gen {
    const plan_scenario *s; /* borrowed */
    gen_ds *ds;             /* per dataset */
};

static inline bool draw_hits(const gen_fault *gf, uint64_t id)
{
    return (rng_draw(gf->key, id, 0) >> 11) < gf->thr;
}

/* Whether a DUPLICATE fault hits record id (*which = the first that does, may be NULL). */
static inline bool dup_hit(const gen *g, size_t di, uint64_t id, size_t *which)
{
    const gen_ds *gd = &g->ds[di];
    for (size_t j = 0; j < gd->ndup; j++) {
        size_t k = gd->dup_faults[j];
        if (draw_hits(&gd->faults[k], id)) {
            if (which) *which = k;
            return true;
        }
    }
    return false;
}

#define GEN_HIDDEN __attribute__((visibility("hidden")))
/* The arrival batch of original id. */
GEN_HIDDEN uint32_t gen_batch_of(const gen *g, size_t di, uint64_t id);
/* Arrival before jitter, monotone in id; *jitter = the largest jitter (arrivals fall in
 * [base, base + jitter)). */
GEN_HIDDEN int64_t gen_arrival_base(const gen *g, size_t di, uint64_t id, int64_t *jitter);
/* First id in [0, rows] whose base arrival is >= t. */
GEN_HIDDEN uint64_t gen_first_base_at(const gen *g, size_t di, int64_t t);
/* Column c of r set to the clean value column c has in record `at` of the same dataset; for an
 * FK column, at is the parent id instead (the parent's value, with its via columns' when
 * with_via). False when out of memory. */
GEN_HIDDEN bool gen_fill_from(const gen *g, size_t di, size_t c, uint64_t at, gen_record *r);
GEN_HIDDEN bool gen_fill_parent(const gen *g, size_t di, size_t c, uint64_t pid, gen_record *r,
                                bool with_via);

/* gen_pattern.c: place the dataset's PATTERN faults (HX_EUSAGE when they do not fit), free
 * them, tell whether record id is a member of an instance (fault index, instance, member), and
 * apply PATTERN fault fi to record r. */
GEN_HIDDEN int gen_pattern_setup(gen *g, size_t di, hx_err *e);
GEN_HIDDEN void gen_pattern_free(gen_pat *p);
GEN_HIDDEN bool gen_pattern_member(const gen *g, size_t di, uint64_t id, size_t *fi, uint64_t *inst,
                                   uint32_t *member);
GEN_HIDDEN bool gen_pattern_apply(const gen *g, size_t di, size_t fi, gen_record *r);

#endif
