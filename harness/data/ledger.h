/* ledger.h - the ground truth, queried: which faults hit which records, the records of any subset
 * of a dataset (valid, deduplicated, corrupt, with or without a fault) and aggregates over them,
 * computed by streaming the generator. The one definition of a subset: ledger_eval aggregates the
 * records ledger_iter walks, and the checks that compare rows (diff, file, topic, quarantine,
 * precision_recall) read their truth through ledger_iter too. Nothing is materialised but the
 * answer (and, for COUNT_DISTINCT, dedup and group-bys, a hash set or map of the keys).
 *
 * Ownership: a ledger_result owns its rows and ids; release with ledger_result_release(). A
 * ledger_iter is a heap object (ledger_iter_free); the records it hands out are its own, valid
 * until the next call. */
#ifndef HX_LEDGER_H
#define HX_LEDGER_H

#include <stdio.h>

#include "gen.h"

typedef struct ledger_row {
    char *group; /* the group value as text (UTC date "2026-01-02" for a TIMESTAMP group), "" for
                    NULL */
    bool group_null; /* the group of NULL values (sorted last, as SQL's ORDER BY puts NULLs) */
    double value;    /* the aggregate for the group */
    int64_t exact;   /* exact scaled value for INT/DECIMAL sums and counts */
    bool is_null;    /* GROUP_SUM of a group whose values are all NULL */
    char **cells;    /* GROUPS: the key columns' then the aggregates' values as text (NULL = SQL
                        NULL), in plan_grouping order: an INT "380", a bucket's start (or any
                        TIMESTAMP key) as RFC 3339 "2026-03-02T00:05:00Z" (a fraction only when
                        not zero), a count "12", a DECIMAL sum at the column's scale
                        "543.20"; owned */
    size_t ncells;   /* nkeys + naggs */
} ledger_row;

typedef struct ledger_result {
    plan_agg agg;     /* which aggregate this is */
    bool is_null;     /* MIN/MAX/AVG of nothing */
    double number;    /* scalar result (COUNT, SUM, MIN, MAX, AVG, COUNT_DISTINCT) */
    int64_t exact;    /* scalar exact value: counts, and INT/DECIMAL sums/min/max in 10^-scale */
    int scale;        /* digits of `exact` after the point (DECIMAL sums), 0 otherwise */
    ledger_row *rows; /* GROUP_*: rows sorted by group */
    size_t nrows;
    uint64_t *ids; /* IDS: record ids in ascending order, one per emission (a duplicated
                      record hit twice appears twice) */
    size_t nids;
    plan_type type; /* type of the aggregated column (INT for counts) */
    char *text;     /* MIN/MAX of a STRING or UUID column (owned), else NULL */
} ledger_result;

/* The records of query q's subset, in arrival order: the fault filters (valid, corrupt_only,
 * with_faults, without_faults), then dedup (first or last emission per value of sub.dedup_col in
 * arrival order, whatever column that is; NULL is one value). q's aggregate is not looked at. */
typedef struct ledger_iter ledger_iter;
/* Start walking q's subset over generator g (which must outlive it). With dedup_last this makes
 * one pass of the dataset first. Returns 0 and *out, or a negative hx code (*out NULL). */
int ledger_iter_new(gen *g, const plan_query *q, ledger_iter **out, hx_err *e);
/* 1 and *out = the next record (logical values after faults); 0 at the end; negative hx code on
 * error. */
int ledger_iter_next(ledger_iter *it, const gen_record **out, hx_err *e);
void ledger_iter_free(ledger_iter *it);

/* Evaluate q against generator g by streaming every emission of the dataset in arrival order.
 * The subset's fault filters (valid, corrupt_only, with_faults, without_faults) apply first, then
 * dedup (first or last emission per value of dedup_col in arrival order; NULL is one value), then
 * the aggregate. Values are the logical values after faults (nulls, outliers, late shifts,
 * orphans, changed copies): what a correct pipeline loads. NULLs are skipped by every aggregate
 * but COUNT and GROUP_COUNT. A TIMESTAMP group column (or sub.group_day_col >= 0, which then wins)
 * groups by UTC date. GROUPS groups by q->grp's key columns (a TIMESTAMP key with bucket_us by
 * the start of its bucket, floored) and computes each of its aggregates per group exactly (sums in
 * 10^-scale integers, 128 bits while summing): rows sorted by the keys (numbers and instants by
 * value, text by bytes, NULL last), each with its cells; memory is one entry per group. ROWS is not
 * computed here (HX_EUSAGE): walk a ledger_iter instead. out is filled (release it) on success and
 * zeroed on failure. Returns 0 or a negative hx code. */
int ledger_eval(gen *g, const plan_query *q, ledger_result *out, hx_err *e);
void ledger_result_release(ledger_result *r);
/* The scalar as text, exact for INT/DECIMAL ("1234.50"), into buf (>= 48 bytes). */
void ledger_result_text(const ledger_result *r, char *buf, size_t n);

/* Write the ledger of dataset ds as JSONL, one line per fault hit, in arrival order:
 * {"dataset":"orders","id":17,"copy":0,"batch":2,"fault":"corrupt","column":"name","detail":"bad_utf8"}
 * "fault" is plan_fault_name(); "fault_index" the fault's position in the dataset; "column" the
 * affected column or null. "detail" by fault: duplicates "exact" | "changed" (column = the changed
 * one; the line is on the copy, copy = 1); late "delay" and out_of_order "shift" with "shift_us";
 * nulls "null"; corrupt the applied kind (gen_corrupt_name) plus "requested" when it fell back;
 * schema_drift "add" | "rename" | "retype" with "name" / "new_type"; outliers "outlier" with
 * "factor"; orphans "orphan" with "parent_id". A duplicate copy repeats its original's hits.
 * Returns 0, HX_EIO when out fails, or the generator's error. */
int ledger_write(gen *g, size_t ds, FILE *out, hx_err *e);

#endif
