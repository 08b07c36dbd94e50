/* check_int.h - the check module's internals shared between its files (not for other modules).
 *
 * Ownership: an exp_map owns its keys and values; release with exp_map_release(). Canonical texts
 * are written into the caller's buffer or borrowed from the value. */
#ifndef HX_CHECK_INT_H
#define HX_CHECK_INT_H

#include "check.h"

/* ---- canonical values (chk_canon.c) ---- */

/* Bring a decimal text to exactly `scale` fraction digits into out (n bytes). Digits beyond the
 * scale are kept when they are not zeros, so that 12.501 never equals 12.50. Returns false for
 * non-numbers. */
bool chk_canon_decimal(const char *s, int scale, char *out, size_t n);
/* The truth's value v of column col in canonical text (in buf or borrowed from v), or NULL for
 * SQL NULL. */
const char *chk_canon_truth(const plan_column *col, const gen_value *v, char *buf, size_t n);
/* Append to b an SQL expression reading column `q` (quoted) of the sink as the canonical text of
 * type t. */
void chk_canon_sql(hx_buf *b, const char *q, plan_type t);
/* Canonicalise what the sink returned (s, NULL = SQL NULL) for column col: buf, s or NULL. */
const char *chk_canon_sink(const plan_column *col, const char *s, char *buf, size_t n);
/* Two canonical texts are equal (both NULL counts as equal). */
bool chk_same(const char *a, const char *b);

/* ---- the ground truth as rows by key (chk_truth.c) ---- */

/* An open-addressing map from a key's canonical text to an expected row. Without dedup the truth
 * may hold a key several times (a duplicate copy, a non-unique key), each time with its own
 * values: every version is kept, and a sink row is matched to a version it equals. */
typedef struct exp_row {
    char *key;     /* canonical key text, NULL = empty slot */
    char **vals;   /* canonical values of the compared columns (NULL = SQL NULL), one run of
                      ncols per version: version v's column c is vals[v * ncols + c] */
    uint8_t *used; /* per version, when want > 1: a sink row has been matched to it */
    uint32_t want; /* how many times the truth has this key (its versions) */
    uint32_t got;  /* how many times the sink had it */
} exp_row;

typedef struct exp_map {
    exp_row *slots;
    size_t cap, n, ncols;
} exp_map;

/* The row of key, or NULL; with insert, a new empty row (want 0) when absent, NULL only when out
 * of memory. */
exp_row *exp_map_find(exp_map *m, const char *key, bool insert);
/* Room for one more version of row (its values NULL, not used). False when out of memory. */
bool exp_map_add_version(exp_map *m, exp_row *row);
/* Free everything m owns and empty it. */
void exp_map_release(exp_map *m);
/* Stream the truth of query q into m: per key (column key_col), the canonical values of the
 * ncols columns cols. Returns 0, or a negative hx code with e filled. */
int chk_load_truth(const chk_ctx *ctx, const plan_query *q, int key_col, const int *cols,
                   size_t ncols, exp_map *m, hx_err *e);

#endif
