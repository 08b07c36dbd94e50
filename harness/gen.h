/* gen.h - the generator: turns a plan_dataset into records, deterministically and in streaming
 * fashion. Record `id` of a dataset depends only on (dataset seed, id): any record can be
 * regenerated alone (foreign keys, ledger queries and shards rely on this), and memory stays flat
 * however many rows are generated.
 *
 * Emissions: a dataset of N logical records emits N records plus one copy per DUPLICATE fault hit,
 * in arrival order. gen_cursor walks them; gen_record_at() builds any one.
 *
 * Pattern language (PLAN_COL_PATTERN): '#' a digit, 'A' an upper-case letter, 'a' a lower-case
 * letter, '?' a letter or digit, '\\x' the literal x, '{w1|w2|w3}' one of the words, any other
 * character itself. Example: "{Ana|Bo|Cy} ###-AA".
 *
 * Ownership: a gen borrows its plan_scenario (which must outlive it) and owns its records; a
 * gen_record handed out by a cursor or gen_record_at() stays valid until the next call on the same
 * cursor / record storage. */
#ifndef HX_GEN_H
#define HX_GEN_H

#include "plan.h"
#include "util.h"

/* One value of a record. Strings point into storage owned by the record. */
typedef struct gen_value {
    bool null;    /* SQL NULL */
    int64_t i;    /* INT, DECIMAL (scaled), TIMESTAMP (us), BOOL */
    const char *s;/* STRING and UUID: UTF-8 bytes, NUL-terminated */
    uint32_t len; /* STRING and UUID: byte length */
} gen_value;

typedef struct gen_record {
    uint64_t id;        /* logical record id, 0..rows-1 */
    uint32_t copy;      /* 0 = original emission, 1 = duplicate copy */
    uint32_t batch;     /* arrival batch (0-based) */
    int64_t arrival_us; /* when the record arrives (the time column before late/out-of-order shifts; else a synthetic clock) */
    uint32_t faults;    /* 1u << plan_fault_kind for each fault that hit this emission */
    unsigned corrupt;   /* the one plan_corrupt_kind applied when serialised, 0 if none */
    bool changed;       /* duplicate copy whose payload differs from the original */
    size_t ncols;       /* == dataset ncols */
    gen_value *vals;    /* the logical (clean, post-fault) values, ncols of them */
    hx_buf strings;     /* backing store for string values (owned) */
    size_t *str_off;    /* per column offset into strings, internal */
} gen_record;

/* Storage for a record, reusable across calls. */
int gen_record_init(gen_record *r, size_t ncols);
void gen_record_release(gen_record *r);
/* Set column c of r to a string value (copied). For the Lua row hook. */
bool gen_record_set_string(gen_record *r, size_t c, const char *s, size_t len);

typedef struct gen gen; /* a scenario's generator context, opaque */

/* Create a generator for scenario s. s must outlive g. Returns 0 or HX_ENOMEM/HX_EUSAGE. */
int gen_new(const plan_scenario *s, gen **out, hx_err *e);
void gen_free(gen *g);
const plan_scenario *gen_scenario(const gen *g);

/* Build emission (id, copy) of dataset ds into r (initialised for that dataset's ncols). copy 1
 * exists only if the record was hit by a DUPLICATE fault. Returns 0 or a negative hx code. */
int gen_record_at(gen *g, size_t ds, uint64_t id, uint32_t copy, gen_record *r, hx_err *e);

/* Number of batches of dataset ds (>= 1). */
uint32_t gen_batches(const gen *g, size_t ds);
/* Number of emissions of dataset ds (rows + duplicate copies); computed by a scan of fault flags,
 * cached. */
uint64_t gen_emissions(gen *g, size_t ds);
/* Whether the dataset's faults hit record id with kind k (cheap: no values are drawn). */
bool gen_fault_hits(const gen *g, size_t ds, uint64_t id, plan_fault_kind k);

/* Walks emissions of one dataset in arrival order, optionally one batch only. */
typedef struct gen_cursor {
    gen *g;             /* borrowed */
    size_t ds;          /* dataset index */
    int64_t batch;      /* -1 = all batches, else only this one */
    uint64_t next_main; /* internal: next original id */
    uint64_t next_dup;  /* internal: next id whose duplicate copy is pending */
    gen_record rec;     /* the current record, owned */
    uint64_t emitted;   /* emissions returned so far */
} gen_cursor;

int gen_cursor_init(gen_cursor *c, gen *g, size_t ds, int64_t batch, hx_err *e);
/* 1 and *out = the next emission; 0 at the end; negative hx code on error. */
int gen_cursor_next(gen_cursor *c, const gen_record **out, hx_err *e);
void gen_cursor_release(gen_cursor *c);

#endif
