/* plan.h - the plan: plain structs the scenario engine (scen_) builds from Lua and every later
 * stage reads: the generator, ledger, replayers, runner, checks and reports. Nothing here touches
 * Lua.
 *
 * Ownership: a plan_pack owns every string, array and sub-struct reachable from it, including its
 * scenarios; free the whole tree with plan_pack_free(). Readers never free parts of it. Indices
 * (dataset, column) refer into the arrays of the same scenario. */
#ifndef HX_PLAN_H
#define HX_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Value types, as the generator produces them and sinks store them. */
typedef enum plan_type {
    PLAN_T_INT,       /* int64 */
    PLAN_T_DECIMAL,   /* fixed point: int64 count of 10^-scale units, e.g. cents */
    PLAN_T_STRING,    /* UTF-8 text */
    PLAN_T_TIMESTAMP, /* int64 microseconds since 1970-01-01T00:00:00Z, rendered ISO 8601 UTC */
    PLAN_T_BOOL,      /* 0 or 1 */
    PLAN_T_UUID       /* text in 8-4-4-4-12 hex form */
} plan_type;

/* How a column's values are drawn. Every draw is a pure function of (seed, dataset, column,
 * record id), see rng.h. */
typedef enum plan_col_kind {
    PLAN_COL_SEQUENCE,    /* start + id * step (INT) */
    PLAN_COL_UUID,        /* random v4-shaped uuid (UUID) */
    PLAN_COL_INT,         /* uniform integer in [min, max] (INT) */
    PLAN_COL_DECIMAL,     /* uniform in [min, max], rounded to scale digits (DECIMAL) */
    PLAN_COL_NORMAL,      /* normal(mean, sd), clamped to [min, max], scale digits (DECIMAL) */
    PLAN_COL_LOGNORMAL,   /* exp(normal(mu, sigma)), clamped, scale digits (DECIMAL) */
    PLAN_COL_CATEGORICAL, /* one of values[] by weight (STRING, or INT when all values are ints) */
    PLAN_COL_TIMESTAMP, /* start + id / rate seconds + uniform jitter in [0, jitter) (TIMESTAMP) */
    PLAN_COL_PATTERN,   /* string from a pattern, see gen.h for the pattern language (STRING) */
    PLAN_COL_FK,        /* the value of column `column` of a record of dataset `dataset` */
    PLAN_COL_BOOL,      /* true with probability p (BOOL) */
    PLAN_COL_LUA        /* filled by the dataset's Lua row function (type declared) */
} plan_col_kind;

/* How a foreign key picks its parent record. */
typedef enum plan_fk_mode {
    PLAN_FK_UNIFORM, /* any parent, uniformly */
    PLAN_FK_ZIPF,    /* skewed: a few parents get most children (skew > 0) */
    PLAN_FK_SPREAD   /* child id -> parent id * parent_rows / rows: every parent gets
                        ~rows/parent_rows children, in order */
} plan_fk_mode;

typedef struct plan_column {
    char *name;         /* column name as written to sinks */
    plan_col_kind kind; /* how values are drawn */
    plan_type type;     /* what values are */
    int scale;          /* digits after the point for DECIMAL (0..9) */
    double null_frac;   /* base null fraction: part of the clean data, not a fault */
    union {
        struct {
            int64_t start, step;
        } seq; /* SEQUENCE */
        struct {
            int64_t min, max;
        } irange; /* INT */
        struct {
            double min, max;
        } drange; /* DECIMAL */
        struct {
            double mean, sd, min, max;
        } normal; /* NORMAL; LOGNORMAL: mean=mu, sd=sigma */
        struct {
            char **values;
            double *cum;
            size_t n;
        } cat; /* CATEGORICAL: cum = cumulative weights, last = 1 */
        struct {
            int64_t start_us;
            double rate;
            int64_t jitter_us;
        } ts; /* TIMESTAMP: rate in rows/s */
        struct {
            char *pattern;
        } pat; /* PATTERN */
        struct {
            size_t dataset, column;
            plan_fk_mode mode;
            double skew;
            size_t via; /* 1 + the FK column (same parent dataset) whose parent record this one
                           shares, so card_country follows card_id; 0 = a draw of its own */
        } fk;           /* FK */
        struct {
            double p;
        } boolean; /* BOOL */
    } u;
} plan_column;

typedef enum plan_fault_kind {
    PLAN_F_DUPLICATE =
        0,               /* the record is emitted twice (exact, or same key with changed payload) */
    PLAN_F_LATE,         /* event time set `delay` behind its arrival position */
    PLAN_F_OUT_OF_ORDER, /* event time moved back by up to `delay` (the window) */
    PLAN_F_NULLS,        /* `column` set to NULL */
    PLAN_F_CORRUPT,      /* the serialised record is broken, see plan_corrupt_kind */
    PLAN_F_SCHEMA_DRIFT, /* from batch `at_batch` on, the schema changes (not per record) */
    PLAN_F_OUTLIERS,     /* `column` multiplied by `factor` */
    PLAN_F_ORPHANS,      /* FK `column` points at a parent that does not exist */
    PLAN_F_PATTERN,      /* a planted multi-record pattern (see plan_pattern_kind, gen_pattern.c) */
    PLAN_F__COUNT
} plan_fault_kind;

/* Kinds of corruption, as a bit mask on plan_fault.corrupt_mask. */
typedef enum plan_corrupt_kind {
    PLAN_C_TRUNCATE = 1u << 0,      /* the line is cut in the middle */
    PLAN_C_BAD_TYPE = 1u << 1,      /* a numeric or time field holds text */
    PLAN_C_BAD_UTF8 = 1u << 2,      /* a string field holds invalid UTF-8 */
    PLAN_C_EXTRA_COLUMN = 1u << 3,  /* one field too many */
    PLAN_C_MISSING_COLUMN = 1u << 4 /* one field too few */
} plan_corrupt_kind;
#define PLAN_C_ALL 0x1fu

typedef enum plan_drift_kind {
    PLAN_DRIFT_ADD,    /* a new column `name` appears (type new_type) */
    PLAN_DRIFT_RENAME, /* `column` is renamed to `name` */
    PLAN_DRIFT_RETYPE  /* `column` is written as new_type (e.g. DECIMAL as quoted text) */
} plan_drift_kind;

/* Planted patterns: `count` instances of `size` records each, every instance's records within
 * `window` of event time (see gen_pattern.c for where they go and what they change). */
typedef enum plan_pattern_kind {
    PLAN_P_VELOCITY,     /* the records share one `key` value (a card): a burst of payments */
    PLAN_P_OUTLIER,      /* shared key; the last `amount` = factor x the mean of the earlier ones */
    PLAN_P_GEO,          /* shared key; the last record takes other values of `columns` */
    PLAN_P_CARD_TESTING, /* shared key; tiny amounts (<= small), then the last one x factor */
    PLAN_P_BURST         /* shared key (a merchant): a look-alike burst, e.g. batch refunds */
} plan_pattern_kind;
#define PLAN_PATTERN_MAX_COLS 4

typedef struct plan_fault {
    plan_fault_kind kind;  /* what is injected */
    double fraction;       /* share of records hit, 0..1 (not used by SCHEMA_DRIFT) */
    int column;            /* target column index, -1 when not applicable */
    int64_t delay_us;      /* LATE: delay; OUT_OF_ORDER: window */
    double factor;         /* OUTLIERS: multiplier */
    unsigned corrupt_mask; /* CORRUPT: plan_corrupt_kind bits to choose from */
    double changed;        /* DUPLICATE: share of copies whose payload changed (same key) */
    uint64_t gap;          /* DUPLICATE: the copy arrives this many records after the original */
    plan_drift_kind drift; /* SCHEMA_DRIFT: what changes */
    uint32_t at_batch;     /* SCHEMA_DRIFT: first batch with the new schema */
    char *name;            /* SCHEMA_DRIFT: added column name or new name */
    plan_type new_type;    /* SCHEMA_DRIFT: ADD and RETYPE */
    /* PATTERN (name = the pattern's name, default its kind; column = the shared key column,
     * factor = the amount multiplier) */
    plan_pattern_kind pattern;             /* what the instances look like */
    uint64_t count;                        /* instances */
    uint32_t size;                         /* records per instance (>= 2) */
    int64_t window_us;                     /* event time one instance spans at most */
    int amount_col;                        /* OUTLIER, CARD_TESTING, factor: the amount, -1 */
    double small;                          /* CARD_TESTING: tiny amounts are in [min, small] */
    int pcols[PLAN_PATTERN_MAX_COLS];      /* GEO: the columns that change; SET: set columns */
    size_t npcols;                         /* GEO columns */
    int set_cols[PLAN_PATTERN_MAX_COLS];   /* columns every record of an instance gets ... */
    char *set_vals[PLAN_PATTERN_MAX_COLS]; /* ... this text in (owned) */
    size_t nset;
    char *where; /* "file:line" of the fault in the scenario */
} plan_fault;

/* How records are cut into batches (a day's drop, a file, a solution invocation). */
typedef enum plan_batching {
    PLAN_BATCH_NONE, /* one batch */
    PLAN_BATCH_DAY,  /* by the UTC day of the record's arrival time (needs a time column) */
    PLAN_BATCH_COUNT /* `nbatches` equal runs of consecutive records */
} plan_batching;

struct plan_dataset;
struct gen_record;
/* The Lua row function, bound by the scenario engine; the generator calls it for each record after
 * drawing the other columns. Returns 0, or a negative hx code with a message in errbuf. */
typedef int (*plan_row_hook)(void *ud, const struct plan_dataset *ds, struct gen_record *rec,
                             char *errbuf, size_t errlen);

/* A dataset as a change stream (ds:changes{}, docs/scenarios.md "Change streams"): its records
 * are the keys and the values changes draw from; data/changes.h turns it into transactions of
 * inserts, updates and deletes. Plain values only, so a dataset copies with `=`. */
typedef struct plan_changes {
    bool on;              /* the dataset is a change stream */
    double updates;       /* updates, per key inserted (2.0: twice as many updates as keys) */
    double deletes;       /* deletes, per key inserted */
    double reinserts;     /* deleted keys inserted again, per key inserted (<= deletes) */
    uint32_t hot_keys;    /* the first hot_keys keys are hot: never deleted, ... */
    double hot_share;     /* ... and this share of the updates goes to them */
    uint32_t txn_min;     /* changes per transaction, at least (1) */
    uint32_t txn_max;     /* and at most (txn_min) */
    uint64_t cols_mask;   /* columns an update may set (bit = column index); 0 = every non-key */
    int large_col;        /* a string column that sometimes gets a large (TOASTed) value, -1 */
    double large_share;   /* share of inserts and updates that write a large value there */
    uint32_t large_bytes; /* its length in bytes */
    uint32_t long_every;  /* every long_every-th transaction is long (0 = none): ... */
    uint32_t long_size;   /* ... long_size inserts, begun long_span transactions before ... */
    uint32_t long_span;   /* ... it commits, so later transactions commit before it */
    double burst_at;      /* a burst of burst_n updates of one hot key at this share of the */
    uint32_t burst_n;     /* stream (0 = none) */
} plan_changes;

typedef struct plan_dataset {
    char *name;        /* dataset name, unique in the scenario */
    uint64_t rows;     /* number of logical records (ids 0..rows-1), duplicates come on top */
    uint64_t seed;     /* dataset seed, derived from the scenario seed and the name */
    plan_column *cols; /* the columns, in output order */
    size_t ncols;
    int key_col;        /* key column index (dedup, diff), -1 if none */
    int time_col;       /* timestamp column that orders arrivals, -1 if none */
    plan_fault *faults; /* faults, in the order the scenario applied them */
    size_t nfaults;
    plan_batching batching; /* how records group into batches */
    uint32_t nbatches;      /* COUNT: number of batches; DAY: number of days (computed) */
    plan_row_hook row_hook; /* Lua row function, NULL if none */
    void *row_ud;           /* opaque to everyone but the scenario engine */
    plan_changes changes;   /* as a change stream (changes.on) */
    char *where;            /* "file:line" where the dataset was defined */
} plan_dataset;

/* ---- ledger queries: expectations computed from the ground truth ---- */

typedef enum plan_agg {
    PLAN_AGG_COUNT,          /* number of records */
    PLAN_AGG_COUNT_DISTINCT, /* distinct non-null values of col */
    PLAN_AGG_SUM,            /* sum of col (exact for INT and DECIMAL) */
    PLAN_AGG_MIN,
    PLAN_AGG_MAX,
    PLAN_AGG_AVG,
    PLAN_AGG_GROUP_SUM,   /* rows (group value, sum of col), by group_col */
    PLAN_AGG_GROUP_COUNT, /* rows (group value, count), by group_col */
    PLAN_AGG_IDS,         /* the list of record ids (for quarantine checks) */
    PLAN_AGG_ROWS,        /* the records themselves, as the expected side of a diff */
    PLAN_AGG_GROUPS       /* rows (key columns..., aggregates...) grouped by plan_query.grp */
} plan_agg;

/* Which emitted records a query sees. Emissions are original records plus duplicate copies. */
typedef struct plan_subset {
    bool valid;              /* drop corrupt emissions */
    bool corrupt_only;       /* keep only corrupt emissions */
    int dedup_col;           /* keep one emission per value of this column, -1 = no dedup */
    bool dedup_last;         /* keep the last emission per key instead of the first */
    uint32_t with_faults;    /* keep only records carrying any of these (1u << plan_fault_kind) */
    uint32_t without_faults; /* drop records carrying any of these */
    uint64_t with_hits;      /* keep also (OR with_faults) records hit by these fault indices (named
                                patterns: ds:with("velocity")) */
    uint64_t without_hits;   /* drop records hit by these fault indices */
    int64_t group_day_col;   /* GROUP_*: -1, or a TIMESTAMP column whose UTC day is the group */
} plan_subset;

/* GROUPS: ds:group{ "merchant_id", minute = "ts" }:agg{ payments = "count", amount =
 * "sum(amount)" }. Fixed arrays, so that a plan_query stays a plain value to copy. */
#define PLAN_GROUP_MAX 4
#define PLAN_GROUP_NAME 64
typedef struct plan_group_key {
    int col;           /* the dataset's column */
    int64_t bucket_us; /* > 0: a TIMESTAMP column's bucket start (floor to this), 0 = value */
    char name[PLAN_GROUP_NAME]; /* the output column's name (the column's, or the bucket's) */
} plan_group_key;
typedef struct plan_group_agg {
    plan_agg agg;               /* PLAN_AGG_COUNT or PLAN_AGG_SUM */
    int col;                    /* SUM: the summed column; -1 for COUNT */
    char name[PLAN_GROUP_NAME]; /* the output column's name */
} plan_group_agg;
typedef struct plan_grouping {
    size_t nkeys, naggs;
    plan_group_key keys[PLAN_GROUP_MAX]; /* positional entries first, then named ones by name */
    plan_group_agg aggs[PLAN_GROUP_MAX]; /* by name */
} plan_grouping;

typedef struct plan_query {
    size_t dataset;    /* dataset index in the scenario */
    plan_subset sub;   /* which records */
    plan_agg agg;      /* what to compute */
    int col;           /* aggregated column, -1 for COUNT and IDS */
    int group_col;     /* GROUP_*: grouping column (a TIMESTAMP groups by UTC day) */
    plan_grouping grp; /* GROUPS (and a group{} waiting for its agg{}) */
} plan_query;

/* ---- replay, checks, thresholds ---- */

typedef enum plan_step_kind {
    PLAN_STEP_INTO,    /* replay a dataset into a source */
    PLAN_STEP_RUN,     /* run the solution (batch) or start it (service) */
    PLAN_STEP_WAIT,    /* wait until a check passes, or for quiet */
    PLAN_STEP_FAULT,   /* a source-level fault (broker down/up, pg drop, late or twice-written file)
                        */
    PLAN_STEP_SLEEP,   /* sleep */
    PLAN_STEP_WORKLOAD /* run the scenario's query workload (plan_workload) */
} plan_step_kind;

/* CDC: into = "postgres" with mode = "changes": the dataset's change stream into a typed source
 * table (replay/target_cdc.c). */
typedef enum plan_target {
    PLAN_TGT_FILES,
    PLAN_TGT_POSTGRES,
    PLAN_TGT_KAFKA,
    PLAN_TGT_CDC
} plan_target;
typedef enum plan_format { PLAN_FMT_CSV, PLAN_FMT_JSONL } plan_format;
typedef enum plan_pg_mode { PLAN_PG_COPY, PLAN_PG_OLTP } plan_pg_mode;

typedef struct plan_step {
    plan_step_kind kind;  /* what this step does */
    plan_target target;   /* INTO: where to */
    size_t dataset;       /* INTO: which dataset */
    char *dir;            /* FILES: folder under the landing dir */
    char *table;          /* POSTGRES: table name */
    char *topic;          /* KAFKA: topic name */
    plan_format format;   /* FILES: csv or jsonl */
    bool per_batch;       /* INTO: one drop per batch; a following RUN runs after each drop */
    uint32_t batch1;      /* INTO: 1 + the one batch this step lands, 0 = every batch */
    plan_pg_mode pg_mode; /* POSTGRES: COPY or OLTP transactions */
    double rate;          /* KAFKA: records per second; CDC: changes per second; 0 = at once */
    double upto;          /* CDC: replay the stream up to this share of it (1 = to the end); a
                             later step of the same dataset goes on from there */
    int partitions;       /* KAFKA: partitions, 0 = sized by the harness */
    int key_col;          /* KAFKA: message key column, -1 = none */
    int64_t window;       /* KAFKA: records sent and not yet answered the replay allows, 0 = any */
    int64_t timeout_us;   /* WAIT/RUN: timeout */
    int64_t quiet_us;     /* WAIT: "quiet 2s" */
    int wait_check;       /* WAIT: index into the scenario's checks, -1 = quiet wait */
    char *fault;          /* FAULT: "broker_down", "broker_up", "pg_drop", "file_late", ... */
    char *column;         /* FAULT add_column: the new column's name */
    plan_type col_type;   /* FAULT add_column: its type */
    int64_t sleep_us;     /* SLEEP and fault durations */
    char *where;          /* "file:line" */
} plan_step;

/* The built-in check kinds; the check module's kinds table (check.h, chk_kind_get) describes each,
 * and kinds registered there take the ids from PLAN_CHK__BUILTIN on. */
typedef enum plan_check_kind {
    PLAN_CHK_SQL,
    PLAN_CHK_ROW_COUNT,
    PLAN_CHK_UNIQUE,
    PLAN_CHK_NOT_NULL,
    PLAN_CHK_ACCEPTED_VALUES,
    PLAN_CHK_REFERENTIAL,
    PLAN_CHK_SCHEMA,
    PLAN_CHK_FRESHNESS,
    PLAN_CHK_DIFF,
    PLAN_CHK_QUARANTINE,
    PLAN_CHK_FILE,
    PLAN_CHK_TOPIC,
    PLAN_CHK_PRECISION_RECALL,
    PLAN_CHK_ADR,
    PLAN_CHK_PLUGIN,
    PLAN_CHK_README,
    PLAN_CHK_CDC_STATE,
    PLAN_CHK_CDC_ORDER,
    PLAN_CHK_CDC_SCHEMA,
    PLAN_CHK__BUILTIN /* number of built-in kinds */
} plan_check_kind;

typedef enum plan_severity { PLAN_SEV_ERROR, PLAN_SEV_WARN } plan_severity;

/* An expected value: a literal, or a ledger query evaluated when the check runs. */
typedef enum plan_expect_kind {
    PLAN_EXP_NONE,
    PLAN_EXP_NUMBER,
    PLAN_EXP_STRING,
    PLAN_EXP_QUERY
} plan_expect_kind;
typedef struct plan_expect {
    plan_expect_kind kind;
    double number;    /* NUMBER */
    char *string;     /* STRING */
    plan_query query; /* QUERY */
} plan_expect;

/* A key = value parameter, for plugin checks and free-form options. Values are JSON text. */
typedef struct plan_param {
    char *key;
    char *json;
} plan_param;

typedef struct plan_check {
    plan_check_kind kind;
    char *name; /* display name, unique in the scenario ("diff fct_orders") */
    plan_severity severity;
    char *table;      /* target table or topic */
    char *column;     /* target column(s), comma separated */
    char *query;      /* SQL text */
    char *ref_table;  /* REFERENTIAL: parent table; */
    char *ref_column; /*             parent column */
    char **values;    /* ACCEPTED_VALUES */
    size_t nvalues;
    plan_expect expect; /* equals / expected */
    double tolerance;   /* approx: relative tolerance, 0 = exact */
    char *key;      /* DIFF, QUARANTINE: key column of the sink (defaults to the dataset's key) */
    char **columns; /* DIFF: compared columns (default: all of the dataset); SCHEMA: names */
    char **types;   /* SCHEMA: expected SQL type per entry of columns (NULL = any) */
    size_t ncolumns;
    int64_t max_age_us;      /* FRESHNESS: newest row must be at most this old */
    int64_t timeout_us;      /* its queries' statement_timeout; 0 = the default (check.h) */
    int64_t lock_timeout_us; /* their lock_timeout; 0 = the default, at most timeout_us */
    char *plugin;            /* PLUGIN: plugin name */
    char *plugin_check;      /* PLUGIN: check name within the plugin */
    plan_param *params;      /* PLUGIN and extra options */
    size_t nparams;
    char *where; /* "file:line" */
} plan_check;

typedef enum plan_op { PLAN_OP_LT, PLAN_OP_LE, PLAN_OP_GT, PLAN_OP_GE, PLAN_OP_EQ } plan_op;

typedef struct plan_threshold {
    char *metric; /* "latency.e2e.p99", "solution.wall.max", "cost.monthly.usd" */
    plan_op op;
    double value; /* in the metric's base unit: seconds, bytes, USD, or plain */
    char *text;   /* as written, "< 30s" */
    char *where;  /* "file:line" */
} plan_threshold;

typedef enum plan_mode { PLAN_MODE_BATCH, PLAN_MODE_SERVICE } plan_mode;

/* One named query of a workload: the analyst's question. */
typedef struct plan_wl_query {
    char *name;       /* unique in the workload, a metric segment: query.<name>.p95 */
    char *sql;        /* the reference SQL (inline, or the file's text) */
    char *file;       /* the pack-relative file it was read from, NULL when inline */
    bool ordered;     /* the rows' order is part of the answer (else compared as a multiset) */
    double tolerance; /* numbers: relative tolerance, 0 = equal as decimals */
    char *where;      /* "file:line" */
} plan_wl_query;

/* A query workload (docs/scenarios.md "Query workloads"): the queries run by `clients`
 * connections after a warm-up, for `count` executions of each query or for `duration`. */
typedef struct plan_workload {
    plan_wl_query *queries;
    size_t nqueries;
    int clients;         /* concurrent connections, 1..256 */
    int64_t count;       /* measured executions of each query (all clients together); 0 with
                            duration_us */
    int64_t duration_us; /* measured wall time instead of a count, 0 = by count */
    int64_t max_us;      /* with a count: no round starts after this long (warm-up and
                            measurement each), 0 = no limit */
    int64_t warmup;      /* unmeasured executions of each query first (all clients together) */
    bool shuffled;       /* each round runs the queries in a fresh random order (else in order) */
    bool verify;         /* compare each query's answer with the truth (default true) */
    char *where;         /* "file:line" */
} plan_workload;

typedef struct plan_scenario {
    char *name; /* unique in the pack */
    char *file; /* path of the scenario file */
    char *description;
    char **tags;
    size_t ntags;
    int phase;     /* 1 = base, 2 = twist */
    uint64_t seed; /* effective seed (after --seed) */
    plan_dataset *datasets;
    size_t ndatasets;
    plan_step *steps;
    size_t nsteps;
    plan_check *checks;
    size_t nchecks;
    plan_threshold *thresholds;
    size_t nthresholds;
    plan_workload *workload;     /* the query workload, NULL when none */
    plan_mode mode;              /* how the solution runs */
    int64_t solution_timeout_us; /* per invocation */
} plan_scenario;

/* The production volume a run stands for, for monthly cost projection. */
typedef struct plan_scale {
    double records_per_day; /* production input records per day */
    double runs_per_day;    /* batch runs per day (service: 0) */
    double probe;           /* a cost probe runs each scenario again at probe x its records
                               (0 = none; --probe overrides) */
} plan_scale;

typedef struct plan_pack {
    char *dir;   /* pack folder */
    char *name;  /* challenge name */
    char *level; /* challenge level, free text */
    char *description;
    char **sources; /* declared sources: "postgres", "kafka", "files" */
    size_t nsources;
    char **sinks;
    size_t nsinks;
    plan_scale scale;
    plan_threshold *budgets; /* pack-wide thresholds, applied to every scenario */
    size_t nbudgets;
    plan_threshold *references; /* reference figures the score compares with ("<= 0.35") */
    size_t nreferences;
    plan_scenario *scenarios;
    size_t nscenarios;
} plan_pack;

/* Free a pack and everything it owns. NULL is fine. */
void plan_pack_free(plan_pack *p);
/* Release one scenario's contents (used by plan_pack_free and by the engine on a failed load). */
void plan_scenario_release(plan_scenario *s);
/* Names, for messages and reports. */
const char *plan_type_name(plan_type t);
const char *plan_fault_name(plan_fault_kind k);
/* The faults a replay step may inject (`{ fault = "..." }`), NULL-terminated: the one list the
 * loader checks names against. */
extern const char *const plan_step_faults[];
/* The system step fault f acts on, as challenge.lua's sources and sinks name it ("kafka",
 * "postgres", "files"), or NULL for one that acts on the solution itself or is unknown. */
const char *plan_step_fault_system(const char *f);
const char *plan_col_kind_name(plan_col_kind k);
/* Index of the column called name, or -1. */
int plan_dataset_column(const plan_dataset *ds, const char *name);
/* Index of the dataset called name, or -1. */
int plan_scenario_dataset(const plan_scenario *s, const char *name);

#endif
