/* ledger.h - the ground truth, queried: which faults hit which records, and aggregates over any
 * subset of a dataset (valid, deduplicated, corrupt, with or without a fault), computed by
 * streaming the generator. Nothing is materialised but the answer (and, for COUNT_DISTINCT, dedup
 * and group-bys, a hash set or map of the keys).
 *
 * Ownership: a ledger_result owns its rows and ids; release with ledger_result_release(). */
#ifndef HX_LEDGER_H
#define HX_LEDGER_H

#include <stdio.h>

#include "gen.h"

typedef struct ledger_row {
    char *group; /* the group value as text (UTC date "2026-01-02" for a TIMESTAMP group) */
    double value;/* the aggregate for the group */
    int64_t exact;/* exact scaled value for INT/DECIMAL sums and counts */
} ledger_row;

typedef struct ledger_result {
    plan_agg agg;      /* which aggregate this is */
    bool is_null;      /* MIN/MAX/AVG of nothing */
    double number;     /* scalar result (COUNT, SUM, MIN, MAX, AVG, COUNT_DISTINCT) */
    int64_t exact;     /* scalar exact value: counts, and INT/DECIMAL sums/min/max in 10^-scale */
    int scale;         /* digits of `exact` after the point (DECIMAL sums), 0 otherwise */
    ledger_row *rows;  /* GROUP_*: rows sorted by group */
    size_t nrows;
    uint64_t *ids;     /* IDS: record ids in ascending order */
    size_t nids;
} ledger_result;

/* Evaluate q against generator g. Returns 0 or a negative hx code. */
int ledger_eval(gen *g, const plan_query *q, ledger_result *out, hx_err *e);
void ledger_result_release(ledger_result *r);
/* The scalar as text, exact for INT/DECIMAL ("1234.50"), into buf (>= 48 bytes). */
void ledger_result_text(const ledger_result *r, char *buf, size_t n);

/* Write the ledger of dataset ds as JSONL, one line per fault hit:
 * {"dataset":"orders","id":17,"copy":0,"batch":2,"fault":"corrupt","detail":"bad_utf8"} */
int ledger_write(gen *g, size_t ds, FILE *out, hx_err *e);

#endif
