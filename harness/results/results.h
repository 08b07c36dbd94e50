/* results.h - the results model: the facts of one run (manifest, scenarios, checks, thresholds,
 * metrics, histograms, resources, cost, score) as plain structs. The run loop fills it with the
 * builders below; run.json, the journal, JUnit, Markdown, HTML, compare and merge read it.
 *
 * Ownership: a results_run owns every string and array reachable from it; free the tree with
 * results_run_free(). Builders copy their string arguments (NULL stays NULL) and return a pointer
 * into the run that stays valid until the next builder call on the same parent array (arrays
 * grow by realloc). Strings that came from the solution, a plugin, SQL or a file name are
 * untrusted: every renderer escapes them.
 *
 * Reflection: results_type_run describes every struct field (name, type, offset) once, so that
 * free, equality and the run.json writer and reader walk the same description and cannot drift. */
#ifndef HX_RESULTS_H
#define HX_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define RESULTS_SCHEMA "harness.run/1"

/* Status of a check, threshold, scenario or run verdict. Not every value applies everywhere:
 * checks pass/fail/error/skip, thresholds pass/fail/skip, scenarios and verdicts
 * pass/fail/error/threshold. */
typedef enum results_status {
    RESULTS_PASS = 0,
    RESULTS_FAIL,
    RESULTS_ERROR,    /* could not be evaluated: infrastructure, plugin crash, scenario error */
    RESULTS_SKIP,     /* not evaluated on purpose, or the metric of a threshold is absent */
    RESULTS_THRESHOLD /* scenario / verdict only: every check passed but a threshold failed */
} results_status;

typedef enum results_severity {
    RESULTS_SEV_ERROR = 0, /* a failure fails the scenario */
    RESULTS_SEV_WARN       /* a failure is reported but fails nothing */
} results_severity;

/* "pass", "fail", ...; NULL-terminated name tables indexed by the enums. */
extern const char *const results_status_names[];
extern const char *const results_severity_names[];
const char *results_status_name(results_status s);

/* A small table of untrusted text, e.g. diff's missing / extra / mismatched rows. */
typedef struct results_row {
    char **cells; /* ncells strings, one per column */
    size_t ncells;
} results_row;

typedef struct results_table {
    char **columns; /* column names */
    size_t ncolumns;
    results_row *rows; /* at most the sample cap the check chose */
    size_t nrows;
} results_table;

/* A named integer: a check's counts (missing=3) or a scenario's ledger/replay stats. */
typedef struct results_count {
    char *name;    /* e.g. "missing", "ledger.duplicates", "replay.kafka.messages" */
    int64_t value; /* the count */
} results_count;

typedef struct results_check {
    char *name;                /* check name as the scenario gives it */
    char *kind;                /* "sql", "diff", "plugin:star_schema.fact_grain", ... */
    results_severity severity; /* error or warn */
    results_status status;     /* pass / fail / error / skip */
    char *expected;            /* expected value as text (may be NULL) */
    char *actual;              /* actual value as text (untrusted when from SQL or a plugin) */
    char *message;             /* explanation (untrusted when from SQL or a plugin) */
    char *where;               /* "file:line" of the check in the scenario */
    double duration_s;         /* time spent evaluating */
    results_table samples;     /* sample rows backing the verdict (untrusted) */
    results_count *counts;     /* e.g. missing / extra / mismatched */
    size_t ncounts;
} results_check;

typedef struct results_threshold {
    char *metric;          /* e.g. "latency.e2e.p99" */
    char *op;              /* the comparison as written: "<", "<=", ... */
    double limit;          /* the limit, in unit */
    double actual;         /* the metric's value, NAN when the run produced none */
    char *unit;            /* "s", "bytes", "USD", "" */
    results_status status; /* pass / fail (over the limit, or not measured where it applies) /
                              skip (it does not apply to this scenario) */
    char *where;           /* "file:line" in the scenario */
    char *explain;         /* a failed query.<name>.* threshold: EXPLAIN (ANALYZE, BUFFERS) of the
                              query as served, NULL otherwise (untrusted: the solution's plan) */
    char *note;            /* with no value: why it could not be measured (fail) or why it does
                              not apply (skip); else NULL */
} results_threshold;

typedef struct results_metric {
    char *name;   /* e.g. "solution.wall.max" */
    double value; /* in unit */
    char *unit;   /* "s", "bytes", "rows/s", "USD", "" */
} results_metric;

/* A latency (or other) histogram: the encoded form for exact merges, and the summary numbers so
 * readers need no decoder. */
typedef struct results_hist {
    char *name;    /* e.g. "latency.e2e" */
    char *unit;    /* unit of the values, e.g. "s" */
    char *encoded; /* hist_encode() output, opaque here */
    int64_t count; /* recorded values */
    double min, max, mean;
    double p50, p90, p99, p999;
} results_hist;

/* One run of the solution (a batch invocation, or the service's lifetime). */
typedef struct results_invocation {
    int batch;              /* 0-based batch index; -1 for a service */
    int exit_code;          /* exit status, -1 when killed by a signal or never reaped */
    char *signal;           /* "SIGKILL" when killed by a signal, else NULL */
    bool timed_out;         /* the harness killed it at its timeout */
    double wall_s;          /* wall-clock seconds */
    double cpu_user_s;      /* CPU seconds, user */
    double cpu_sys_s;       /* CPU seconds, system */
    int64_t peak_rss_bytes; /* peak resident set of the process tree */
    char *stdout_tail;      /* last bytes of stdout (untrusted, may be invalid UTF-8) */
    char *stderr_tail;      /* last bytes of stderr (untrusted) */
    int leftovers;          /* processes still running after it ended, stopped by the harness */
    char *isolation;        /* how its tree was tracked ("cgroup", "proc", ...), NULL unknown */
} results_invocation;

typedef struct results_res_point {
    double t_s;        /* seconds since the scenario started */
    double cpu_pct;    /* CPU use of the tree, 100 = one core */
    int64_t rss_bytes; /* resident set of the tree */
} results_res_point;

/* One second of a service scenario's stream (run.json "timeline"; run/live.h): records the
 * replay sent, output messages read, and the p99 of each latency view of those matched. */
typedef struct results_tl_point {
    double t_s;          /* the second's start, seconds since the replay's timeline began */
    int64_t in;          /* records sent in it */
    int64_t out;         /* output messages whose timestamp falls in it */
    int64_t matched;     /* of them, matched to an input */
    double p99_s;        /* corrected latency p99 (from the intended send time), s; 0 none */
    double p99_uncorr_s; /* uncorrected p99 (from the actual send time), s; 0 none */
} results_tl_point;

typedef struct results_resources {
    char *source;      /* "cgroup" or "proc", NULL when nothing was sampled */
    double cpu_user_s; /* totals over the scenario */
    double cpu_sys_s;
    int64_t peak_rss_bytes;
    int64_t mean_rss_bytes;
    int64_t read_bytes; /* block I/O of the tree */
    int64_t write_bytes;
    results_res_point *series; /* down-sampled time series */
    size_t nseries;
} results_resources;

typedef struct results_cost_line {
    char *component;   /* "compute vCPU", "kafka ingress", ... */
    double quantity;   /* in unit */
    char *unit;        /* "vCPU-hour", "GB", ... */
    double unit_price; /* currency per unit */
    double cost;       /* per production run (monthly / runs_per_month) */
    char *note;        /* e.g. "60 s minimum", may be NULL */
    char *kind;        /* "fixed" or "variable", NULL in runs from before the split */
    double monthly;    /* quantity * unit_price: the line's month */
} results_cost_line;

/* How one usage quantity was projected to a production run (see docs/cost-models.md). */
typedef struct results_cost_fit {
    char *name;        /* "solution CPU s", "database CPU s", ... */
    double measured;   /* at the run's input records */
    double probe;      /* at the probe's input records, NAN without a probe */
    double fixed;      /* a run's fixed part */
    double per_record; /* growth per input record */
    double projected;  /* at a production run's records */
    double slope;      /* log-log growth between the two sizes, NAN without a probe */
} results_cost_fit;

typedef struct results_phase_cost {
    char *name;   /* "ingest", "solution#0", "checks" */
    double cost;  /* in the model's currency, per production run */
    double slope; /* log-log growth against the probe's phase of that name, NAN when none */
} results_phase_cost;

/* The run priced under one cost model. */
typedef struct results_cost {
    char *model;    /* price sheet name, e.g. "aws-eu-west-1" */
    char *currency; /* "USD" */
    results_cost_line *lines;
    size_t nlines;
    double per_run_total;      /* a production run: monthly_total / runs_per_month */
    double monthly_total;      /* a production month: monthly_fixed + monthly_variable */
    double monthly_fixed;      /* lines paid whatever the volume */
    double monthly_variable;   /* lines that grow with the records */
    double per_million_input;  /* monthly_total / monthly input records x 1e6, NAN when none */
    double per_correct_output; /* monthly_total / monthly correct outputs, NAN when none */
    double records_per_run;    /* assumption: input records of a production run */
    double runs_per_month;     /* assumption: production runs a month */
    double scale_factor;       /* records_per_run / the scenario's input records */
    char *fit;                 /* "linear" or "fixed+per-record" (two sizes measured) */
    char *db_class;            /* the database class priced, NULL when none */
    char *db_reason;           /* why that class */
    results_cost_fit *fits;
    size_t nfits;
    results_phase_cost *phases;
    size_t nphases;
} results_cost;

typedef struct results_component {
    char *name;    /* "correctness", "performance", "cost" */
    double value;  /* 0..100 */
    double weight; /* its weight in the score */
} results_component;

typedef struct results_score {
    bool scored;  /* false when no score was computed */
    double value; /* 0..100 */
    results_component *components;
    size_t ncomponents;
} results_score;

typedef struct results_scenario {
    char *name; /* scenario name */
    char *file; /* scenario file, relative to the pack */
    int phase;  /* challenge phase (1, 2 = twists) */
    char **tags;
    size_t ntags;
    results_status status; /* pass / fail / error / threshold, see results_scenario_settle() */
    char *error;           /* why the scenario could not run, NULL when it ran */
    int error_exit;        /* HX_EXIT_USAGE, HX_EXIT_INFRA or HX_EXIT_INTERRUPTED when error is
                              set, else 0 */
    char *started;         /* ISO 8601 UTC, e.g. "2026-01-02T03:04:05Z" */
    double duration_s;     /* wall time of the whole scenario */
    results_invocation *invocations;
    size_t ninvocations;
    results_check *checks;
    size_t nchecks;
    results_threshold *thresholds;
    size_t nthresholds;
    results_metric *metrics;
    size_t nmetrics;
    results_hist *histograms;
    size_t nhistograms;
    results_resources resources; /* the solution's resource use */
    results_cost *cost;          /* one per cost model */
    size_t ncost;
    results_score score;
    results_count *stats; /* ledger and replay statistics */
    size_t nstats;
    results_tl_point *timeline; /* a service scenario's per-second stream, empty otherwise */
    size_t ntimeline;
} results_scenario;

typedef struct results_machine {
    char *hostname;
    char *kernel; /* uname -sr */
    char *cpu_model;
    int cores;         /* online CPUs */
    int64_t ram_bytes; /* physical memory */
} results_machine;

typedef struct results_seed {
    char *scenario; /* scenario name */
    uint64_t seed;  /* the scenario seed (written as a decimal string: JS loses bits past 2^53) */
} results_seed;

/* A generated dataset, for reproducibility: same seed -> same sha256. */
typedef struct results_dataset {
    char *scenario;
    char *dataset;
    char *format;      /* "csv", "jsonl", "postgres", "kafka" */
    int64_t rows;      /* logical records */
    int64_t emissions; /* records emitted, duplicates included */
    char *sha256;      /* 64 hex digits of the serialised bytes */
} results_dataset;

typedef struct results_price_sheet {
    char *name;
    char *provider; /* "aws", "gcp", "azure" */
    char *region;
    char *as_of;  /* date of the prices, "2026-01-15" */
    char *path;   /* where the sheet was read from, NULL when unknown */
    char *sha256; /* of the sheet's bytes: a changed price changes it */
} results_price_sheet;

/* Counts over all scenarios; results_run_settle() computes them. Every check and threshold lands
 * in exactly one bucket, and JUnit's counts are derived from these. */
typedef struct results_totals {
    int64_t scenarios;
    int64_t checks_passed;  /* passed checks */
    int64_t checks_warned;  /* severity-warn checks that failed: reported, fail nothing */
    int64_t checks_failed;  /* severity-error checks that failed */
    int64_t checks_errored; /* checks that could not be evaluated */
    int64_t checks_skipped;
    int64_t thresholds_passed;
    int64_t thresholds_failed;
    int64_t thresholds_skipped; /* metric absent */
    int64_t scenario_errors;    /* scenarios that could not run (each one JUnit error) */
    int64_t invocations_passed; /* solution invocations that exited 0 (a testcase each) */
    int64_t invocations_failed; /* non-zero exit, signal or timeout (a failed testcase each) */
    int64_t run_errors;         /* 1 when the run itself did not finish cleanly (error,
                                   interrupted, partial: one JUnit error), else 0 */
} results_totals;

typedef struct results_run {
    char *schema;          /* RESULTS_SCHEMA */
    char *harness_version; /* HX_VERSION */
    char *harness_commit;  /* HX_COMMIT */
    int plugin_abi;        /* plugin ABI version of this harness */
    char *started;         /* ISO 8601 UTC */
    char *finished;        /* ISO 8601 UTC, NULL when the run did not finish */
    double duration_s;
    char **argv; /* the command line */
    size_t nargv;
    char *pack_name;
    char *pack_dir;
    char *level; /* challenge level, e.g. "foundation" */
    char *solution_name;
    char *solution_dir;
    char *isolation; /* the solution's box: "bwrap", "none" (--sandbox none) or "process-group"
                        (--sandbox auto without a usable bwrap); NULL in older files */
    char *database;  /* the scenarios' PostgreSQL: "embedded", "external" (--pg) or "none" (the
                        pack uses none, none was started); NULL in older files */
    int jobs;        /* scenarios run at once (harness run --jobs); 0 in files from before it */
    results_machine machine;
    results_seed *seeds;
    size_t nseeds;
    results_dataset *datasets;
    size_t ndatasets;
    results_price_sheet *price_sheets;
    size_t nprice_sheets;
    results_status verdict; /* pass / fail / error / threshold */
    int exit_code;          /* enum hx_exit */
    bool partial;           /* rebuilt from a journal: the run did not finish */
    bool interrupted;       /* stopped by SIGINT / SIGTERM */
    char *error;            /* why the run stopped before or between its scenarios (a service
                               that did not start, a failed build), NULL when it did not */
    int error_exit;         /* HX_EXIT_USAGE or HX_EXIT_INFRA when error is set, else 0 */
    results_totals totals;
    results_score score;
    results_scenario *scenarios;
    size_t nscenarios;
} results_run;

/* ---- lifecycle ---- */

/* A new empty run with schema set. Returns NULL when out of memory. Free with results_run_free. */
results_run *results_run_new(void);
/* Free r and everything it owns. NULL is fine. */
void results_run_free(results_run *r);
/* Deep equality of two runs (NaN equals NaN). On a difference, writes the path of the first
 * differing field ("scenarios[1].checks[0].actual") into why (may be NULL). */
bool results_run_equal(const results_run *a, const results_run *b, char *why, size_t whylen);

/* Replace *slot with a copy of s (NULL clears it). Returns false when out of memory (slot kept). */
bool results_set_str(char **slot, const char *s);
/* Append a copy of s to a string vector. */
bool results_strv_add(char ***v, size_t *n, const char *s);

/* ---- builders: each appends a zeroed element with the given fields copied, or returns NULL when
 * out of memory. Numeric fields not named default to 0 (NAN for the NaN-able ones noted). ---- */

results_scenario *results_scenario_add(results_run *r, const char *name);
/* Mark sc as not having run: status error, message copied, exit_code HX_EXIT_USAGE or
 * HX_EXIT_INFRA, score 0 (scored, so the run's mean counts it). Returns false when out of
 * memory. */
bool results_scenario_set_error(results_scenario *sc, int exit_code, const char *msg);
results_check *results_check_add(results_scenario *sc, const char *name, const char *kind,
                                 results_severity sev, results_status status);
/* Set the samples' column names (copied). Call once, before adding rows. */
bool results_check_sample_columns(results_check *c, const char *const *names, size_t n);
/* Add a row of exactly ncolumns cells (copied; a NULL cell stays NULL). */
bool results_check_sample_row(results_check *c, const char *const *cells);
bool results_check_count(results_check *c, const char *name, int64_t value);
results_threshold *results_threshold_add(results_scenario *sc, const char *metric, const char *op,
                                         double limit, double actual, const char *unit,
                                         results_status status);
results_metric *results_metric_add(results_scenario *sc, const char *name, double value,
                                   const char *unit);
/* Summary numbers start at NAN (count 0); the caller fills them from the histogram. */
results_hist *results_hist_add(results_scenario *sc, const char *name, const char *unit,
                               const char *encoded);
results_invocation *results_invocation_add(results_scenario *sc, int batch);
bool results_res_point_add(results_resources *res, double t_s, double cpu_pct, int64_t rss_bytes);
/* Append one second to the scenario's timeline (copied). */
bool results_tl_point_add(results_scenario *sc, const results_tl_point *p);
/* per_million_input and per_correct_output start at NAN. */
results_cost *results_cost_add(results_scenario *sc, const char *model, const char *currency);
results_cost_line *results_cost_line_add(results_cost *c, const char *component, double quantity,
                                         const char *unit, double unit_price, double cost,
                                         const char *note);
bool results_cost_phase_add(results_cost *c, const char *name, double cost);
/* A projection fit of a cost entry (probe and slope NAN until set). */
results_cost_fit *results_cost_fit_add(results_cost *c, const char *name);
bool results_score_component_add(results_score *s, const char *name, double value, double weight);
bool results_stat_add(results_scenario *sc, const char *name, int64_t value);
bool results_seed_add(results_run *r, const char *scenario, uint64_t seed);
results_dataset *results_dataset_add(results_run *r, const char *scenario, const char *dataset,
                                     const char *format);
results_price_sheet *results_price_sheet_add(results_run *r, const char *name, const char *provider,
                                             const char *region, const char *as_of);

/* ---- derived facts ---- */

/* Derive sc->status from its parts: error when sc->error is set or a check errored; else fail
 * when a severity-error check failed or a solution invocation failed (non-zero exit, signal,
 * timeout); else threshold when a threshold failed; else pass. */
void results_scenario_settle(results_scenario *sc);
/* Settle every scenario, recompute r->totals, r->verdict and r->exit_code (130 when
 * interrupted; for errors HX_EXIT_INFRA if any scenario error was infrastructure, else
 * HX_EXIT_USAGE; a run error makes the verdict error and its error_exit the exit code).
 * Idempotent. */
void results_run_settle(results_run *r);
/* Mark the run as stopped by an error outside any scenario (a service that did not start, a
 * failed build): message copied, exit_code HX_EXIT_USAGE or HX_EXIT_INFRA (anything else is
 * taken as HX_EXIT_INFRA), verdict error. Returns false when out of memory. */
bool results_run_set_error(results_run *r, int exit_code, const char *msg);
/* The word a report heads the run with: "interrupted" when it was stopped, "error" when it hit
 * an error (its own, a scenario's, or an exit code 2/3 its scenarios do not explain), "partial"
 * when it did not finish, else the verdict's name. Never "pass" for a run that did not finish
 * cleanly. */
const char *results_run_outcome(const results_run *r);
/* The status a report colours the heading with: error for error and interrupted, skip for
 * partial, else the verdict. */
results_status results_run_outcome_status(const results_run *r);
/* True when the invocation failed: a non-zero exit, a signal or a timeout. */
bool results_invocation_failed(const results_invocation *iv);
/* The JUnit-visible numbers of one scenario (or a whole run when sc is NULL): tests = checks +
 * thresholds + solution invocations + scenario errors (+ run_errors when sc is NULL);
 * failures = failed error-severity checks, failed thresholds and failed invocations; errors,
 * skipped as in results_totals. */
typedef struct results_counts {
    int64_t tests, failures, errors, skipped;
} results_counts;
results_counts results_counts_of(const results_run *r, const results_scenario *sc);
/* The run's score: the mean of its scored scenarios' scores (so a leaderboard ranks one number);
 * scored is false when no scenario was scored. `run` and `merge` both use this. */
void results_run_score(results_run *r);

/* Format a wall-clock time (ns since the epoch) as ISO 8601 UTC "YYYY-MM-DDTHH:MM:SSZ" into
 * buf (>= 24 bytes). */
void results_iso8601(char *buf, size_t n, int64_t wall_ns);

/* ---- reflection ---- */

typedef enum results_ftype {
    RESULTS_F_STR,    /* char * */
    RESULTS_F_F64,    /* double, NaN allowed */
    RESULTS_F_I64,    /* int64_t */
    RESULTS_F_U64STR, /* uint64_t, serialised as a decimal string */
    RESULTS_F_INT,    /* int */
    RESULTS_F_BOOL,   /* bool */
    RESULTS_F_ENUM,   /* int-sized enum, serialised by name from enum_names */
    RESULTS_F_STRV,   /* char ** with a size_t count at count_off */
    RESULTS_F_ARRAY,  /* sub * with a size_t count at count_off */
    RESULTS_F_STRUCT  /* an embedded sub */
} results_ftype;

struct results_type;

typedef struct results_field {
    const char *name;               /* JSON key */
    results_ftype type;             /* how it is stored */
    size_t off;                     /* offsetof the field */
    size_t count_off;               /* STRV / ARRAY: offsetof the size_t count */
    const struct results_type *sub; /* ARRAY / STRUCT: element type */
    const char *const *enum_names;  /* ENUM: NULL-terminated names */
} results_field;

typedef struct results_type {
    const char *name;            /* struct name, for messages */
    size_t size;                 /* sizeof the struct */
    const results_field *fields; /* its fields, in output order */
    size_t nfields;
    bool flat; /* one STRV field, serialised as a bare array */
} results_type;

extern const results_type results_type_run;
extern const results_type results_type_scenario;

/* Capacity an array of n elements has (builders and readers agree on it, so a read run can be
 * appended to). */
size_t results_array_cap(size_t n);
/* Release what an object of type t at p owns (not p itself). */
void results_release(const results_type *t, void *p);

#endif
