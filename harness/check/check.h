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

#include "changes.h"
#include "gen.h"

typedef enum chk_status { CHK_PASS, CHK_FAIL, CHK_ERROR, CHK_SKIP } chk_status;

/* The default limits of a check's queries (docs/scenarios.md): statement_timeout and
 * lock_timeout on the harness's own session; a check's `timeout` / `lock_timeout` override them,
 * and a lock wait is never allowed longer than the check's timeout. */
#define CHK_DEFAULT_TIMEOUT_US (600 * 1000000LL)     /* 10 min */
#define CHK_DEFAULT_LOCK_TIMEOUT_US (30 * 1000000LL) /* 30 s */

/* A small table of example rows, e.g. the first missing, extra and mismatched rows of a diff. */
typedef struct chk_sample {
    size_t ncols; /* number of columns */
    char **cols;  /* column titles */
    size_t nrows; /* rows kept (at most chk_ctx.max_samples per category) */
    char **cells; /* nrows * ncols cells, row-major; NULL cell = SQL NULL */
} chk_sample;

#define CHK_MAX_METRICS 8

typedef struct chk_outcome {
    chk_status status;   /* the verdict */
    char *expected;      /* what the truth says, as text (may be NULL) */
    char *actual;        /* what the sink holds, as text (may be NULL; untrusted) */
    char *message;       /* one line explaining a failure, error or skip (may be NULL) */
    chk_sample sample;   /* example rows; empty when none */
    uint64_t missing;    /* row-level checks: expected rows absent from the sink */
    uint64_t extra;      /* row-level checks: sink rows the truth does not have */
    uint64_t mismatched; /* diff: rows present on both sides whose values differ */
    uint64_t doubled;    /* grouped topic: groups summarised more than once */
    double seconds;      /* how long the check took */
    /* Measurements the check made (a grouped topic's <topic>.lag.*), for run.json's metrics. */
    struct {
        char name[96];
        double value;
        const char *unit; /* static */
    } metrics[CHK_MAX_METRICS];
    size_t nmetrics;
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
    PGconn *conn;              /* the scenario's sink database (may be NULL: SQL checks error) */
    gen *g;                    /* generator of the scenario, for ledger expectations */
    const plan_scenario *s;    /* the scenario */
    const char *solution_dir;  /* for adr checks */
    const char *output_dir;    /* for file checks: the solution's HARNESS_OUTPUT_DIR */
    size_t max_samples;        /* sample rows per category, 0 = 10 */
    chk_plugin_fn plugin;      /* runs PLUGIN checks; NULL = they are skipped with a reason */
    void *plugin_ud;           /* passed to plugin */
    chk_topic_fn topic;        /* reads topics; NULL = topic checks are skipped with a reason */
    void *topic_ud;            /* passed to topic */
    bool (*interrupted)(void); /* the run was interrupted: stop long work (NULL = never) */
    int64_t timeout_us;        /* the statement_timeout in force (0: none set), for messages */
    int64_t lock_timeout_us;   /* the lock_timeout in force (0: none set), for messages */
    bool has_cost;             /* the scenario was priced: cost_monthly_usd holds its cost */
    double cost_monthly_usd;   /* metric cost.monthly.usd, for CHK_K_AFTER_COST kinds */
    const chg_observed *cdc;   /* what the CDC audit slot saw (NULL: no change stream) */
    /* Times from the harness's live consumer (NULL: none, and no <topic>.lag.* is measured):
     * when it received message (partition, offset) of the scenario's topic `topic`, and the
     * intended send time of record `id` of dataset `dataset` on the replay's schedule; ns since
     * the epoch, -1 when unknown. */
    int64_t (*recv_ns)(void *ud, const char *topic, int32_t partition, int64_t offset);
    int64_t (*sent_ns)(void *ud, size_t dataset, uint64_t id);
    void *times_ud; /* passed to both */
} chk_ctx;

/* ---- check kinds: one descriptor a kind, read by the DSL, the run loop and `harness check` ----
 *
 * A kind is a chk_kind row: its name is the DSL constructor (`unique { ... }`) and the kind in
 * reports, its keys and flags tell the DSL how to read and validate the constructor's table into a
 * plan_check, validate (optional) checks the built check against its scenario, and run runs it.
 * The built-in kinds are the ids of plan_check_kind; chk_kind_register() adds one more (a test's,
 * an extension's) before any scenario is loaded. To add a built-in kind, see docs/architecture.md
 * ("add a check kind"): a file with its descriptor and run function, a row in chk_kind.c. */

/* How the DSL reads a kind's constructor table. Keys a kind lists are read into plan_check fields:
 * table/topic/path -> table, column, values, ref (required), max_age (required), columns, key,
 * equals/expect, tolerance; every other listed key reaches run() as a JSON parameter. */
enum {
    CHK_K_SQL_TEXT = 1u << 0,     /* the first positional entry is the SQL text (query) */
    CHK_K_NEEDS_TABLE = 1u << 1,  /* a target (table, or topic / path) is required */
    CHK_K_ON_TOPIC = 1u << 2,     /* the target is a Kafka topic, named by `topic` */
    CHK_K_NEEDS_COLUMN = 1u << 3, /* `column` is required */
    CHK_K_COLUMN_TYPES = 1u << 4, /* `columns` is { name = "sql type" | name } (else a list) */
    CHK_K_KEY_COLUMN = 1u << 5,   /* `key` defaults to `column` */
    CHK_K_NEEDS_QUERY = 1u << 6,  /* `expect` is required and must be a ledger query */
    CHK_K_NEEDS_EQUALS = 1u << 7, /* `equals` (or `expect`) is required */
    CHK_K_ROWS = 1u << 8,         /* the expectation may be a row query (no aggregate) */
    CHK_K_IDS = 1u << 9,          /* a row query expectation means its record ids */
    CHK_K_DATASET_KEY = 1u << 10, /* `key` defaults to the expected dataset's key column */
    CHK_K_BY_KEY = 1u << 11,      /* with a key: key and columns must be the dataset's columns */
    CHK_K_PLUGIN = 1u << 12,      /* made by plugin "p".check { }, any key; not a global */
    CHK_K_AFTER_COST = 1u << 13,  /* reads chk_ctx.cost_monthly_usd: the run loop runs it after
                                     pricing the scenario */
    CHK_K_NO_DB = 1u << 14        /* never reads the scenario's database (files, topics, the
                                     solution folder): a pack of such checks runs without one */
};

typedef struct chk_kind {
    const char *name;        /* the DSL constructor and the kind in reports: "unique" */
    const char *const *keys; /* keys beyond name and severity, NULL-terminated; NULL = any */
    unsigned flags;          /* CHK_K_* */
    /* Run c (never NULL); fills out like chk_run says. */
    void (*run)(const chk_ctx *ctx, const plan_check *c, chk_outcome *out);
    /* Optional: validate the check the DSL built, within its scenario s. Returns 0, or -1 with a
     * message (without file:line, the caller adds it) in err. */
    int (*validate)(const plan_check *c, const plan_scenario *s, char *err, size_t n);
    const char *summary; /* one line for docs and `harness check`: what the kind verifies */
} chk_kind;

/* The descriptor of kind id, or NULL when there is none. */
const chk_kind *chk_kind_get(plan_check_kind id);
/* The name of kind id, "?" when there is none. */
const char *chk_kind_name(plan_check_kind id);
/* Does check c read the scenario's PostgreSQL database? False for the CHK_K_NO_DB kinds and for a
 * check on a Kafka topic; true for everything else (a plugin's or a registered kind's too). */
bool chk_needs_db(const plan_check *c);
/* The id of the kind called name, or -1. */
int chk_kind_find(const char *name);
/* Number of kinds (ids 0 .. n-1). */
size_t chk_kind_count(void);
/* Add kind k (borrowed: it must outlive every use, e.g. a static). Call before loading scenarios;
 * not thread-safe. Returns the new id, or HX_EUSAGE (name taken, no run function) or HX_ENOMEM with
 * e filled. */
int chk_kind_register(const chk_kind *k, hx_err *e);

/* The limits check c's queries run under: its timeout and lock_timeout, or the defaults. */
void chk_limits(const plan_check *c, int64_t *timeout_us, int64_t *lock_timeout_us);
/* SET statement_timeout and lock_timeout on conn (the harness's own session). Returns 0, or
 * HX_EINFRA with e filled. */
int chk_set_limits(PGconn *conn, int64_t timeout_us, int64_t lock_timeout_us, hx_err *e);
/* A duration for a message: "10min", "30s", "250ms". */
void chk_fmt_duration(char *buf, size_t n, int64_t us);

/* Run check c. Never fails as a function: every problem becomes the outcome's status and message
 * (ERROR for a broken check or infrastructure, FAIL for a wrong sink). out is initialised here. */
void chk_run(const chk_ctx *ctx, const plan_check *c, chk_outcome *out);
void chk_outcome_release(chk_outcome *o);
const char *chk_status_name(chk_status s);
/* Set o's status and, when fmt is not NULL, its message. For kinds' run functions. */
void chk_set_outcome(chk_outcome *o, chk_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The JSON text of c's free-form parameter key, or NULL. Borrowed from c. */
const char *chk_param_json(const plan_check *c, const char *key);

/* Quote a possibly schema-qualified identifier ("sales.fct_orders") for SQL. Returns a
 * hx_malloc'd string or NULL. Exposed for the plugin host. */
char *chk_quote_ident(PGconn *conn, const char *name);

#endif
