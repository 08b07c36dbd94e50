/* gen.h - the generator: turns a plan_dataset into records, deterministically and in streaming
 * fashion. Record `id` of a dataset depends only on (dataset seed, id): any record can be
 * regenerated alone (foreign keys, ledger queries and shards rely on this), and memory stays flat
 * however many rows are generated.
 *
 * Emissions: a dataset of N logical records emits N records plus one copy per DUPLICATE fault hit,
 * in arrival order. gen_cursor walks them; gen_record_at() builds any one.
 *
 * Arrival order: originals in id order; the DUPLICATE copy of record id comes right after original
 * id + gap (gap of the dataset's first duplicates fault; copies whose id + gap >= rows come after
 * the last original, in id order). arrival_us is the time column's clean value (start + id/rate +
 * jitter) when the dataset's time column is a TIMESTAMP-kind column, else a synthetic clock of one
 * record per ms from 2026-01-01T00:00:00Z; a copy arrives with (and in the batch of) the original
 * it follows. Batches: NONE 0; COUNT id * nbatches / rows; DAY the UTC day of arrival_us minus
 * the day of the time column's start. A cursor on one batch jumps to that batch's id range.
 *
 * Faults are pure functions of (seed, fault index, id), applied in plan order. Only the first
 * DUPLICATE and the first CORRUPT fault that hits a record count. The copy (not the original)
 * carries the DUPLICATE bit and repeats its original's other hits; with probability `changed` it
 * alters one non-NULL payload column (not the key, sequence, uuid, fk or lua columns): another
 * category, +1..100 units, +1..3600 s, a flipped bool, or " v2" appended to text. LATE sets the
 * time column to its clean value - delay and only hits records whose clean value is non-NULL and
 * whose shifted time stays >= the column's start. OUT_OF_ORDER subtracts uniform [0, window).
 * ORPHANS regenerates the parent column for a parent id in [parent rows, 2 * parent rows): a key
 * that cannot exist when the parent key is a sequence or uuid column. ZIPF picks parent 0 most
 * often (inverse CDF of a bounded power law with exponent skew).
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

#include <stdio.h>

#include "plan.h"
#include "util.h"

/* One value of a record. Strings point into storage owned by the record. */
typedef struct gen_value {
    bool null;     /* SQL NULL */
    int64_t i;     /* INT, DECIMAL (scaled), TIMESTAMP (us), BOOL */
    const char *s; /* STRING and UUID: UTF-8 bytes, NUL-terminated */
    uint32_t len;  /* STRING and UUID: byte length */
} gen_value;

typedef struct gen_record {
    uint64_t id;        /* logical record id, 0..rows-1 */
    uint32_t copy;      /* 0 = original emission, 1 = duplicate copy */
    uint32_t batch;     /* arrival batch (0-based) */
    int64_t arrival_us; /* when the record arrives (the time column before late/out-of-order shifts;
                           else a synthetic clock) */
    uint32_t faults;    /* 1u << plan_fault_kind for each fault that hit this emission */
    unsigned corrupt;   /* the one plan_corrupt_kind applied when serialised, 0 if none */
    unsigned corrupt_asked; /* the kind the fault drew; differs from corrupt after a fallback */
    int corrupt_col;        /* column broken by BAD_TYPE / BAD_UTF8 / MISSING_COLUMN, else -1 */
    bool changed;           /* duplicate copy whose payload differs from the original */
    uint64_t hit_mask;      /* bit i set when the dataset's fault i hit this emission */
    int64_t *aux;           /* per fault index: shift (late, out_of_order), parent id (orphans),
                               changed column (duplicates), broken column (corrupt); internal */
    size_t aux_cap;         /* entries allocated in aux */
    size_t ncols;           /* == dataset ncols */
    gen_value *vals;        /* the logical (clean, post-fault) values, ncols of them */
    hx_buf strings;         /* backing store for string values (owned) */
    size_t *str_off;        /* per column offset into strings, internal */
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
/* DAY batches: true and *day = the UTC day of batch 0 (days since 1970-01-01), so batch b covers
 * day *day + b. False for other batchings (and an empty dataset). */
bool gen_batch_day0(const gen *g, size_t ds, int64_t *day);
/* Number of emissions of dataset ds (rows + duplicate copies); computed by a scan of fault flags,
 * cached. */
uint64_t gen_emissions(gen *g, size_t ds);
/* Whether the dataset's faults hit record id with kind k (cheap: no values are drawn). */
bool gen_fault_hits(const gen *g, size_t ds, uint64_t id, plan_fault_kind k);

/* The column fault fi of dataset ds acts on after defaults are resolved (LATE / OUT_OF_ORDER: the
 * dataset's time column; ORPHANS: its first foreign key), -1 when none. */
int gen_fault_column(const gen *g, size_t ds, size_t fi);
/* "truncate", "bad_type", "bad_utf8", "extra_column", "missing_column"; "?" otherwise. */
const char *gen_corrupt_name(unsigned kind);

/* Walks emissions of one dataset in arrival order, optionally one batch only. */
typedef struct gen_cursor {
    gen *g;             /* borrowed */
    size_t ds;          /* dataset index */
    int64_t batch;      /* -1 = all batches, else only this one */
    uint64_t next_main; /* internal: next original id */
    uint64_t next_dup;  /* internal: next id whose duplicate copy is pending */
    uint64_t main_end;  /* internal: originals stop before this id */
    uint64_t dup_end;   /* internal: copies stop before this id */
    bool filter;        /* internal: check each emission's batch (DAY batches with jitter) */
    gen_record rec;     /* the current record, owned */
    uint64_t emitted;   /* emissions returned so far */
} gen_cursor;

int gen_cursor_init(gen_cursor *c, gen *g, size_t ds, int64_t batch, hx_err *e);
/* A cursor over the emissions that arrive in the slots of originals lo..hi-1 (all batches): those
 * originals and the duplicate copies that follow them (the range ending at rows also takes the
 * copies past the end). Consecutive ranges concatenate to the whole arrival order, so ranges can
 * be generated in parallel. Returns 0 or a negative hx code. */
int gen_cursor_init_range(gen_cursor *c, gen *g, size_t ds, uint64_t lo, uint64_t hi, hx_err *e);
/* 1 and *out = the next emission; 0 at the end; negative hx code on error. */
int gen_cursor_next(gen_cursor *c, const gen_record **out, hx_err *e);
void gen_cursor_release(gen_cursor *c);

#endif
