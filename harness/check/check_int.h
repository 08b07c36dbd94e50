/* check_int.h - the check module's internals shared between its files (not for other modules).
 *
 * Ownership: an exp_map owns its keys and values; release with exp_map_release(). Canonical texts
 * are written into the caller's buffer or borrowed from the value. */
#ifndef HX_CHECK_INT_H
#define HX_CHECK_INT_H

#include <jansson.h>

#include "check.h"
#include "rd.h"

/* Sample rows a check keeps per category when the context says 0. */
#define CHK_DEFAULT_SAMPLES 10

/* ---- outcomes, SQL and expectations (check.c) ---- */

/* Replace *dst with a copy of s (NULL stays NULL). */
void chk_set_text(char **dst, const char *s);
/* Replace *dst with a formatted string. */
void chk_setf(char **dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Give o's sample table n columns titled titles. */
void chk_sample_cols(chk_outcome *o, size_t n, const char *const *titles);
/* Append one sample row (copies the cells; NULL cells stay NULL). */
void chk_sample_row(chk_outcome *o, const char *const *cells);
/* Samples that do not depend on arrival order (topics, files, hash maps): a row's category is
 * its first cell, its order key its second (the last cell when the second is NULL: a malformed
 * message's place). Keys compare as numbers when both are, else bytewise with digit runs read as
 * numbers ("t[0]@9" < "t[0]@10"), NULL last. chk_sample_wants says whether a row of category
 * kind with order key key would be kept among the max smallest of its category (to skip
 * building it); chk_sample_offer keeps cells when so, in place of the category's largest key
 * when it is full; chk_sample_sort orders the rows by the categories in kinds (NULL-ended;
 * others after, in first-seen order), then by key, as diff's SQL does. */
bool chk_sample_wants(const chk_outcome *o, const char *kind, const char *key, size_t max);
void chk_sample_offer(chk_outcome *o, const char *const *cells, size_t max);
void chk_sample_sort(chk_outcome *o, const char *const *kinds);
/* The first line of s, trailing blanks cut (hx_malloc'd; "" for NULL). */
char *chk_first_line(const char *s);
/* Read rel in the solution's folder, a document the adr and readme checks read (regular files of
 * at most 4 MiB: hx_read_input HX_IN_DOC). Returns 0 with *text (free with hx_free), 1 when there
 * is no such file, -1 when it is there but unreadable (a FIFO, a device, over the cap) with why
 * saying so, naming rel. (chk_readme.c) */
int chk_read_doc(const chk_ctx *ctx, const char *rel, char **text, char *why, size_t wn);
/* Run sql; on failure fill o (FAIL: the sink is wrong, ERROR: the connection) and return NULL. */
PGresult *chk_query(const chk_ctx *ctx, chk_outcome *o, const char *sql);
/* Before the truth enters the check's session (a TEMP table), once the sink's rows have been
 * copied as text into the TEMP table `kept` (unqualified name): the session is the scenario
 * role's, where the solution's objects (a view over a function, a cast from its own type, a row
 * security policy) run when read, and such code would see the truth in the session's TEMP
 * tables. So the sink is read first, and then: search_path = pg_catalog, pg_temp (no function or
 * operator of the solution's schemas resolves), and the session's temp schema holds `kept` alone,
 * a plain table of text columns without rules, triggers or row security (nothing the solution's
 * code planted while it ran). False (o filled: an error) when not. chk_unseal resets the path. */
bool chk_seal(const chk_ctx *ctx, chk_outcome *o, const char *kept);
void chk_unseal(const chk_ctx *ctx);
/* Evaluate an expectation to a scalar text and number. Returns false (o filled) on error. */
bool chk_expect_scalar(const chk_ctx *ctx, const plan_expect *e, chk_outcome *o, double *num,
                       char *text, size_t n);
/* A bound in [0, 1] from parameter key into out (default 1). False (o filled) when malformed. */
bool chk_ratio_param(const plan_check *c, const char *key, double *out, chk_outcome *o);

/* ---- options of the kinds that read the solution's documents (adr, readme) (check.c) ---- */

/* Parse c's JSON parameters keys[0..n) into js[0..n) (NULL where absent; json_decref each).
 * Returns 0, or -1 with "<key>: cannot read <text>" in err. */
int chk_params_read(const plan_check *c, const char *const *keys, size_t n, json_t **js, char *err,
                    size_t errn);
/* j as a path inside the solution (a non-empty string, not absolute, without ".."), borrowed
 * from j; NULL when it is not one. */
const char *chk_param_rel_path(const json_t *j);
/* j as a list of 1 to max non-empty strings into out (borrowed from j), *n set. False when it is
 * not one. */
bool chk_param_words(const json_t *j, const char **out, size_t max, size_t *n);
/* w[0..nw) as "a, b and c" into buf (n bytes). */
void chk_join_words(char *buf, size_t n, const char *const *w, size_t nw);

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
/* Append to b an SQL expression reading column `q` (quoted) of the sink as exactly the canonical
 * text chk_canon_truth gives (chk_canon_sql and chk_canon_sink in one, for comparing in SQL). */
void chk_canon_sql_exact(hx_buf *b, const char *q, const plan_column *col);
/* A canonical value as people read it, for samples: a timestamp's epoch microseconds as ISO 8601
 * UTC ("2026-01-05T10:00:00Z", with .ffffff when not whole seconds); anything else as it is. */
const char *chk_display(const plan_column *col, const char *canon, char *buf, size_t n);
/* Canonicalise what the sink returned (s, NULL = SQL NULL) for column col: buf, s or NULL. */
const char *chk_canon_sink(const plan_column *col, const char *s, char *buf, size_t n);
/* Two canonical texts are equal (both NULL counts as equal). */
bool chk_same(const char *a, const char *b);

/* Canonicalise a value read from a file or a message like chk_canon_sql does for the database. */
const char *chk_canon_file(const plan_column *col, const char *s, char *buf, size_t n);
/* Index of the field named name in rec (guess first), or -1. */
int chk_field_index(const rd_record *rec, const char *name, int guess);

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

/* ---- comparing sink rows with the truth, by key (chk_diff.c; used by diff, file, topic) ---- */

/* The sink hands over one row at a time: its canonical key and, through val(), the canonical
 * value of each compared column. */
typedef struct diff_state {
    exp_map m;              /* the truth, by key */
    const plan_dataset *ds; /* the dataset compared with */
    int key_col;            /* its key column */
    const int *cols;        /* its compared columns */
    size_t ncols;           /* number of compared columns */
    size_t max;             /* samples per category */
} diff_state;

/* Canonical value of compared column cc of the current sink row (NULL = SQL NULL), in buf. */
typedef const char *(*diff_val_fn)(void *ud, size_t cc, char *buf, size_t n);

/* A parsed record (a file's line, a message) during a diff: where each compared column is. */
typedef struct rec_row {
    const diff_state *d;
    const rd_record *rec;
    int *idx; /* per compared column: its field in the record (a guess, refreshed), -1 = none */
} rec_row;

/* The diff_val_fn of a rec_row (file.c). */
const char *chk_rec_val(void *ud, size_t cc, char *buf, size_t n);

/* The key column and compared columns of a diff-like check into d, without its truth (the table
 * diff compares in the database). False with an ERROR outcome. */
bool chk_diff_cols(const chk_ctx *ctx, const plan_check *c, chk_outcome *o, diff_state *d,
                   int **cols_out);
/* Load the truth for a diff-like check: key column (c->key or the dataset's) and compared columns
 * (c->columns or all; *cols_out, hx_free'd by the caller). False with an ERROR outcome. */
bool chk_diff_init(const chk_ctx *ctx, const plan_check *c, chk_outcome *o, diff_state *d,
                   int **cols_out);
/* Sample titles of a diff: kind, key, column, expected, actual. */
void chk_diff_sample_titles(const diff_state *d, chk_outcome *o);
/* Match one sink row (key NULL = a NULL key) against the truth. */
void chk_diff_row(diff_state *d, chk_outcome *o, const char *key, diff_val_fn val, void *ud);
/* Count the truth's rows the sink lacked and sort the samples (extra, missing, mismatch,
 * malformed; each by key); returns the number of expected rows. */
uint64_t chk_diff_missing(diff_state *d, chk_outcome *o);

/* ---- topics (chk_topic.c) ---- */

/* One parsed message of a topic, with where it was ("topic[partition]@offset", and as numbers). */
typedef void (*topic_rec_fn)(void *ud, const rd_record *rec, const char *where, int32_t partition,
                             int64_t offset);
/* The check reads a Kafka topic (topic, or a table-kind check given topic = ...). */
bool chk_on_topic(const plan_check *c);
/* Every message of c's topic, parsed as a JSONL line, to fn (messages counted into *messages
 * when not NULL). Returns 0, or -1 after setting the outcome. */
int chk_topic_scan(const chk_ctx *ctx, const plan_check *c, chk_outcome *o, topic_rec_fn fn,
                   void *ud, uint64_t *messages);
/* The topic check (also diff { topic = ... }). */
void chk_topic_run(const chk_ctx *ctx, const plan_check *c, chk_outcome *o);
/* The topic check with a grouped expectation (group{}:agg{}): a summary per group
 * (chk_groups.c). */
void chk_topic_groups(const chk_ctx *ctx, const plan_check *c, chk_outcome *o);

/* ---- the built-in kinds' descriptors, one per kind, in its file; listed by chk_kind.c ---- */

extern const chk_kind chk_kind_sql, chk_kind_row_count, chk_kind_unique, chk_kind_not_null,
    chk_kind_accepted_values, chk_kind_referential, chk_kind_schema,
    chk_kind_freshness;                                               /* chk_sql.c */
extern const chk_kind chk_kind_diff;                                  /* chk_diff.c */
extern const chk_kind chk_kind_quarantine, chk_kind_precision_recall; /* chk_keys.c */
extern const chk_kind chk_kind_file;                                  /* chk_file.c */
extern const chk_kind chk_kind_topic;                                 /* chk_topic.c */
extern const chk_kind chk_kind_adr;                                   /* chk_adr.c */
extern const chk_kind chk_kind_readme;                                /* chk_readme.c */
extern const chk_kind chk_kind_cdc_state, chk_kind_cdc_order, chk_kind_cdc_schema; /* chk_cdc.c */

#endif
