/* check.h - the built-in checks: run one plan_check of a scenario against the sink database and the
 * ground truth, and say pass, fail, error or skip with expected and actual values and, for
 * row-level checks (diff, quarantine, unique, referential, accepted_values), samples of the
 * offending rows, like data-diff.
 *
 * Everything a check reads from the sink is untrusted text (the solution wrote it); it is copied
 * verbatim into the outcome and escaped by each report writer.
 *
 * Ownership: a chk_outcome owns all its strings; release with chk_outcome_release(). The context
 * borrows its connection, generator and scenario. */
#ifndef HX_CHECK_H
#define HX_CHECK_H

#include <libpq-fe.h>

#include "gen.h"

typedef enum chk_status { CHK_PASS, CHK_FAIL, CHK_ERROR, CHK_SKIP } chk_status;

/* A small table of example rows, e.g. the first missing, extra and mismatched rows of a diff. */
typedef struct chk_sample {
    size_t ncols; /* number of columns */
    char **cols;  /* column titles */
    size_t nrows; /* rows kept (at most chk_ctx.max_samples per category) */
    char **cells; /* nrows * ncols cells, row-major; NULL cell = SQL NULL */
} chk_sample;

typedef struct chk_outcome {
    chk_status status;   /* the verdict */
    char *expected;      /* what the truth says, as text (may be NULL) */
    char *actual;        /* what the sink holds, as text (may be NULL; untrusted) */
    char *message;       /* one line explaining a failure, error or skip (may be NULL) */
    chk_sample sample;   /* example rows; empty when none */
    uint64_t missing;    /* row-level checks: expected rows absent from the sink */
    uint64_t extra;      /* row-level checks: sink rows the truth does not have */
    uint64_t mismatched; /* diff: rows present on both sides whose values differ */
    double seconds;      /* how long the check took */
} chk_outcome;

/* The callback through which plugin checks run (bound by the run loop to the plugin module).
 * Fills out like chk_run does. */
typedef void (*chk_plugin_fn)(void *ud, const plan_check *c, chk_outcome *out);

/* Topic checks read messages through this pair, bound by the run loop to its Kafka cluster (so
 * this module needs no Kafka client and tests can feed messages). A chk_topic_fn calls each() for
 * every message of the scenario's topic `topic` as it is now (from the beginning to the end of
 * every partition, any order), stopping when each() returns false; it returns 0, or a negative hx
 * code with e filled (the check then errors with that message). Values are untrusted bytes. */
typedef bool (*chk_msg_fn)(void *ud, int32_t partition, int64_t offset, const char *value,
                           size_t len);
typedef int (*chk_topic_fn)(void *ud, const char *topic, chk_msg_fn each, void *each_ud, hx_err *e);

typedef struct chk_ctx {
    PGconn *conn;             /* the scenario's sink database (may be NULL: SQL checks error) */
    gen *g;                   /* generator of the scenario, for ledger expectations */
    const plan_scenario *s;   /* the scenario */
    const char *solution_dir; /* for adr checks */
    const char *output_dir;   /* for file checks: the solution's HARNESS_OUTPUT_DIR */
    size_t max_samples;       /* sample rows per category, 0 = 10 */
    chk_plugin_fn plugin;     /* runs PLUGIN checks; NULL = they are skipped with a reason */
    void *plugin_ud;          /* passed to plugin */
    chk_topic_fn topic;       /* reads topics; NULL = topic checks are skipped with a reason */
    void *topic_ud;           /* passed to topic */
} chk_ctx;

/* Run check c. Never fails as a function: every problem becomes the outcome's status and message
 * (ERROR for a broken check or infrastructure, FAIL for a wrong sink). out is initialised here. */
void chk_run(const chk_ctx *ctx, const plan_check *c, chk_outcome *out);
void chk_outcome_release(chk_outcome *o);
const char *chk_status_name(chk_status s);

/* Quote a possibly schema-qualified identifier ("sales.fct_orders") for SQL. Returns a
 * hx_malloc'd string or NULL. Exposed for the plugin host. */
char *chk_quote_ident(PGconn *conn, const char *name);

#endif
