/* changes.h - a dataset as a change stream (plan_changes): the seeded sequence of transactions of
 * inserts, updates and deletes the CDC replay sends to a source table, and the truth it leaves:
 * every key's final row (or its absence), its row_version sequence, and which change set each
 * value. The stream depends only on the dataset (its seed, rows and options) and on the scenario's
 * add_column faults (which only add values): chg_build() of the same scenario gives the same
 * stream on every machine, so the checks rebuild it instead of storing it.
 *
 * Keys: record id k (0..rows-1) of the dataset is key k; its key value is that record's key
 * column. Values: an insert or update copies the changed columns from some record `src` of the
 * same dataset (an existing record's values, so every value is one the dataset can hold); a key's
 * first insert copies its own record. row_version is 1 at a key's first insert and +1 at every
 * later change of it; a delete carries the version it deleted, the re-insert after it the next.
 *
 * Commit order is the order of the transactions; a long transaction's statements are sent
 * long_span transactions before its place (on a second session) and it commits at its place:
 * its keys are fresh inserts that nothing touches before they commit.
 *
 * Ownership: chg_build() hands out a chg_stream freed with chg_stream_free(). */
#ifndef HX_CHANGES_H
#define HX_CHANGES_H

#include <stdbool.h>
#include <stdint.h>

#include "gen.h"
#include "plan.h"
#include "util.h"

typedef enum chg_op { CHG_INSERT, CHG_UPDATE, CHG_DELETE } chg_op;

typedef struct chg_change {
    uint64_t key;     /* the key (record id) */
    uint64_t src;     /* INSERT/UPDATE: the record whose values the set columns take */
    uint64_t cols;    /* UPDATE: bit c for each dataset column set (INSERT: every column) */
    uint32_t version; /* row_version after the change; DELETE: the version it deleted */
    uint32_t txn;     /* its transaction */
    uint8_t op;       /* chg_op */
    uint8_t large;    /* the large column gets a large value */
} chg_change;

typedef struct chg_txn {
    uint64_t first;   /* its first change */
    uint32_t n;       /* number of changes */
    uint32_t open_at; /* sent before transaction open_at is (== its own index unless long) */
    bool is_long;     /* a long transaction (inserts only) */
} chg_txn;

/* A column added to the source mid-stream (fault add_column): every insert and update from
 * change `at` on sets it. */
typedef struct chg_added {
    char name[64];  /* column name */
    plan_type type; /* its type */
    uint64_t at;    /* first change that fills it (a transaction's first) */
    uint32_t at_tx; /* that transaction */
} chg_added;

#define CHG_MAX_ADDED 8

typedef struct chg_stream {
    const plan_dataset *d; /* the dataset (borrowed from the plan) */
    size_t ds;             /* its index in the scenario */
    chg_change *ch;        /* the changes in commit order */
    uint64_t n;
    chg_txn *tx; /* the transactions in commit order */
    uint32_t ntx;
    uint64_t rows;     /* keys (the dataset's rows) */
    uint32_t *version; /* per key: its last row_version (0: never inserted) */
    uint8_t *alive;    /* per key: present at the end */
    uint64_t *src;     /* per key and column (rows x ncols): the record its value comes from;
                          bit 63: the large value */
    chg_added added[CHG_MAX_ADDED]; /* columns added mid-stream */
    size_t nadded;
    uint64_t *added_by; /* per key and added column: 1 + the change that set it, 0 = NULL */
    uint64_t inserts, updates, deletes, reinserts; /* counts, for reports */
} chg_stream;

#define CHG_LARGE (1ULL << 63)

/* Build the change stream of dataset ds of the generator's scenario (its plan_changes must be
 * on). The scenario's add_column fault steps on that dataset are placed where the CDC steps
 * before them stop (chg_cut). Returns 0, HX_EUSAGE or HX_ENOMEM. */
int chg_build(gen *g, size_t ds, chg_stream **out, hx_err *e);
void chg_stream_free(chg_stream *cs);

/* The transaction a CDC step with `upto` (0..1] stops before: the first whose first change is
 * at or after upto * n and that no long transaction is open across (ntx at the end). */
uint32_t chg_cut(const chg_stream *cs, double upto);

/* Storage for chg_value's record cache: gen_record_init for the dataset, marked empty. */
int chg_rec_init(const chg_stream *cs, gen_record *rec);

/* The text of column c (a dataset column) of a change or final row whose value comes from
 * src (CHG_LARGE bit included) into out (cleared first). *null set for SQL NULL. rec is the
 * caller's storage from chg_rec_init (reused: a src equal to rec->id is not rebuilt).
 * Returns 0 or an hx code. */
int chg_value(gen *g, const chg_stream *cs, uint64_t src, size_t c, gen_record *rec, hx_buf *out,
              bool *null, hx_err *e);

/* The text of added column a as set by change j (a 0-based change index) into out (cleared). */
void chg_added_value(const chg_stream *cs, size_t a, uint64_t j, hx_buf *out);

/* The key value of key k as text into out (cleared first). */
int chg_key_text(gen *g, const chg_stream *cs, uint64_t k, gen_record *rec, hx_buf *out, hx_err *e);

/* The SQL type of a plan type, as the source table has it: bigint, numeric, text, timestamptz,
 * boolean, uuid. */
const char *chg_sql_type(plan_type t);

/* What the harness's audit slot saw of a CDC target (replay/target_cdc.c), for the checks: the
 * changes the solution applied to target.<table>, read from the WAL through a logical slot with
 * test_decoding that the admin made before the solution started, matched per key with the
 * source's changes in the same stream. Per source table, the count and the first samples of each
 * kind of problem. */
typedef enum chg_problem {
    CHG_OUT_OF_ORDER, /* a row_version written after a higher one */
    CHG_DOUBLED,      /* a row_version written again (a re-apply, a TRUNCATE and reload) */
    CHG_LOST,         /* row_versions the source wrote and the target never did */
    CHG_LOST_DELETE,  /* a source delete the target never applied while it held that version */
    CHG_NPROBLEMS
} chg_problem;

typedef struct chg_sample {
    char key[64]; /* key text (cut) */
    int64_t a, b; /* out of order: version, the higher one before it; doubled: version, times;
                     lost: first..last missing version; lost delete: the version deleted */
} chg_sample;

#define CHG_MAX_SAMPLES 10
#define CHG_MAX_TABLES 16

typedef struct chg_seen_table {
    char table[64];                                    /* source table */
    uint64_t count[CHG_NPROBLEMS];                     /* problems of each kind (lost: versions) */
    chg_sample sample[CHG_NPROBLEMS][CHG_MAX_SAMPLES]; /* the first of each kind */
    size_t nsample[CHG_NPROBLEMS];
    uint64_t src_changes; /* the source's changes seen in the WAL */
    uint64_t applied;     /* the target's row changes seen in the WAL */
    uint64_t truncates;   /* TRUNCATEs of the target table */
    uint64_t keyless;     /* target deletes without a key (no primary key, no identity) */
    char persistence;     /* the target table's relpersistence when last looked ('p', 'u', 't'),
                             0 = not there */
} chg_seen_table;

typedef struct chg_observed {
    bool ran;                              /* an audit slot was read for this scenario */
    bool slot_lost;                        /* the audit slot vanished (someone dropped it) */
    bool slot_moved;                       /* someone else moved the audit slot past what the
                                              harness had read (its changes lost to the audit) */
    char error[256];                       /* why the slot could not be read, "" = it could */
    uint64_t polls;                        /* reads of the slot */
    uint64_t seen;                         /* source changes the target applied */
    uint64_t unseen;                       /* source changes the target never applied */
    uint64_t regressions;                  /* out-of-order writes, every table */
    chg_seen_table tables[CHG_MAX_TABLES]; /* per source table */
    size_t ntables;
} chg_observed;

#endif
