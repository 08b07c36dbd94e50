/* compare.h - the difference between two runs (base and head) as plain data: scenarios matched by
 * name (added and removed ones listed), checks that flipped, and per scenario the numbers a
 * reviewer weighs (latency percentiles, wall time, CPU, memory, cost per model, score) with base,
 * head, delta and delta percent; plus the --fail-on gates evaluated against that difference.
 * `harness compare` prints it; compare_html.c renders it as a page. This module never prints.
 *
 * Missing numbers are NAN. A percent is only given when base is finite and non-zero and head is
 * finite: a rise from 0 has no meaningful percentage, so it is NAN and never trips a percent gate.
 *
 * Ownership: a cmp_diff owns copies of every string (cmp_diff_release frees them); the two runs
 * are only borrowed while cmp_diff_build runs. Strings copied from the runs are untrusted. */
#ifndef HX_COMPARE_H
#define HX_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include "results.h"
#include "util.h"

/* How a check changed between base and head. Only changes a reviewer must see are recorded. */
typedef enum cmp_change {
    CMP_NEWLY_FAILING = 0, /* passed (or was skipped) in base, fails in head */
    CMP_FIXED,             /* failed in base, passes in head */
    CMP_NEW_FAILING,       /* absent from base, fails in head */
    CMP_GONE_FAILING       /* failed in base, absent from head */
} cmp_change;

/* "newly failing", "fixed", ... indexed by cmp_change. */
extern const char *const cmp_change_names[];

typedef struct cmp_check {
    char *name;            /* check name (untrusted) */
    cmp_change change;     /* what happened */
    results_status base;   /* status in base (RESULTS_SKIP when absent) */
    results_status head;   /* status in head (RESULTS_SKIP when absent) */
    bool in_base, in_head; /* presence on each side */
    char *base_expected;   /* the base check's expected, actual and message (untrusted; NULL */
    char *base_actual;     /*   when absent or unset) */
    char *base_message;
    char *head_expected; /* the same for the head check */
    char *head_actual;
    char *head_message;
} cmp_check;

/* Which way is better for a number, for colouring and for the summary. */
typedef enum cmp_better {
    CMP_LOWER_BETTER = 0, /* latency, time, CPU, memory, cost */
    CMP_HIGHER_BETTER     /* score */
} cmp_better;

typedef struct cmp_value {
    char *name; /* "latency.e2e.p99", "solution.wall.max", "cost.aws-us-east-1.monthly.usd" */
    char *unit; /* "s", "bytes", "USD", "" */
    double base, head; /* NAN when absent on that side */
    double delta;      /* head - base, NAN unless both are finite */
    double pct;        /* delta / |base| * 100, NAN when base is 0, absent or not finite */
    cmp_better better; /* direction of improvement */
} cmp_value;

/* One served query of a workload scenario: the percentiles its thresholds read, pointing into
 * the scenario's values (NULL when neither run has that number). */
typedef struct cmp_query {
    char *name;                       /* the query's name (untrusted) */
    const cmp_value *p50, *p95, *p99; /* query.<name>.p50 / .p95 / .p99 */
    const cmp_value *errors;          /* query.<name>.errors */
} cmp_query;

/* One line of a cost model's bill in either run, matched by model and component. */
typedef struct cmp_cost_line {
    char *model; /* the price sheet (untrusted) */
    char *kind;  /* "fixed" or "variable" (head's, else base's; untrusted, may be NULL) */
    char *note;  /* head's note, else base's (untrusted, may be NULL) */
    cmp_value v; /* name: the component (untrusted); unit: the currency; base and head are the
                    line's month (NAN where the run has no such line) */
} cmp_cost_line;

typedef struct cmp_scenario {
    char *name;                 /* scenario name (untrusted) */
    results_status base_status; /* status in base */
    results_status head_status; /* status in head */
    cmp_check *checks;          /* flipped checks only, in head order then gone ones */
    size_t nchecks;
    cmp_value *values; /* the compared numbers, in a stable order */
    size_t nvalues;
    cmp_query *queries; /* the served queries of either run's workload, head's order first */
    size_t nqueries;
    cmp_cost_line *lines; /* every cost line of either run, per model in head's order */
    size_t nlines;
} cmp_scenario;

/* How the head run compares with the base run as a whole (the compare's headline). */
typedef enum cmp_overall {
    CMP_SAME = 0, /* nothing moved beyond the noise band */
    CMP_BETTER,   /* improvements and no regression */
    CMP_WORSE,    /* a regression and no improvement, or any check newly failing */
    CMP_MIXED     /* improvements and regressions */
} cmp_overall;

/* "same", "better", "worse", "mixed", indexed by cmp_overall. */
extern const char *const cmp_overall_names[];

/* Figures of one kind that moved: better, worse, or within the noise band. */
typedef struct cmp_tally {
    size_t better, worse, same;
} cmp_tally;

/* Changes smaller than this ratio (10 %) are "within noise": they are reported with their ratio
 * but count neither way in the headline and are not coloured. */
#define CMP_NOISE_RATIO 1.10

/* The headline, from the figures a reader weighs, in this order:
 * 1. correctness: any check newly failing (or new and failing) makes the headline worse, whatever
 *    else improved; checks fixed count as better;
 * 2. the product's performance per scenario: a workload scenario's served queries at p95 (the
 *    workload is the product; the solution's own steps only prepare it and are priced in its
 *    cost, so their wall time is not a latency); a service scenario's latency.e2e.p99; a batch
 *    scenario's solution.wall.sum;
 * 3. the variable month of each price sheet (the pack's mean over its scenarios).
 * Within CMP_NOISE_RATIO a figure counts as the same. */
typedef struct cmp_headline {
    cmp_overall overall; /* the verdict */
    size_t checks_worse; /* checks newly failing, or new and failing */
    size_t checks_fixed; /* checks that failed in base and pass in head */
    cmp_tally queries;   /* served queries at p95 (every workload scenario) */
    cmp_tally latency;   /* latency.e2e.p99 of service scenarios */
    cmp_tally wall;      /* solution.wall.sum of scenarios without a workload */
    cmp_tally cost;      /* each price sheet's variable month */
    double prep_base;    /* the solution's own wall in workload scenarios, summed (NAN: none) */
    double prep_head;    /*   the same in head */
    bool cost_one_size;  /* a run projected its cost from one size (no --probe, fit "linear") */
} cmp_headline;

typedef struct cmp_diff {
    cmp_scenario *scenarios; /* matched by name, in head order (duplicates pair up in order) */
    size_t nscenarios;
    cmp_scenario *added; /* only in head: values have base NAN, failing checks are new failing */
    size_t nadded;
    char **removed; /* names only in base */
    size_t nremoved;
    results_status *removed_status; /* base status of each removed scenario */
    cmp_value score;                /* the run-level score ("score") */
    /* Whole runs, every scenario of each side (added and removed ones too): name "run", statuses
     * the verdicts, no checks; values solution.wall.sum and solution.cpu.total summed,
     * solution.rss.peak the largest, cost.<model>.run.<cur> and cost.<model>.monthly.<cur>
     * summed per model, run.duration the run's own wall time. */
    cmp_scenario totals;
    cmp_headline headline; /* the verdict of the comparison */
} cmp_diff;

/* Fill d (caller storage) with the difference from base to head. Returns 0 or HX_ENOMEM (d is then
 * released). */
int cmp_diff_build(cmp_diff *d, const results_run *base, const results_run *head, hx_err *e);
/* Free what d owns; d can be built again. */
void cmp_diff_release(cmp_diff *d);

/* delta and pct of a value from base and head, NAN-safe as described at the top. */
void cmp_value_compute(cmp_value *v);
/* +1 when head is better than base (by v->better), -1 when worse, 0 when equal or unknown. */
int cmp_value_verdict(const cmp_value *v);
/* Whether v has a number on either side (values absent from both runs are not shown). */
bool cmp_value_shown(const cmp_value *v);
/* The change of v as a ratio >= 1 (the larger side over the smaller) in *ratio (NAN when a side
 * is missing or not above 0); returns +1 better, -1 worse, 0 within CMP_NOISE_RATIO or unknown. */
int cmp_value_change(const cmp_value *v, double *ratio);
/* The change of a latency as a reader says it, into buf (plain text, n >= 32): "35.2x faster",
 * "2.1x slower", "1.04x faster" (within noise), "same", or "-" when a side is missing. */
void cmp_speed_text(char *buf, size_t n, const cmp_value *v);

/* A --fail-on gate. */
typedef enum cmp_gate_kind {
    CMP_GATE_CHECKS = 0, /* "checks": any check newly failing (or new and failing) in head */
    CMP_GATE_METRIC,     /* "<metric>:+N%": head above base by more than N percent */
    CMP_GATE_SCORE       /* "score:-N": score dropped by more than N points */
} cmp_gate_kind;

typedef struct cmp_gate {
    cmp_gate_kind kind; /* which gate */
    char metric[128];   /* CMP_GATE_METRIC: the metric name */
    double limit;       /* percent (METRIC) or points (SCORE) */
    char text[200];     /* the gate as written, for messages */
} cmp_gate;

/* Parse a gate as written on the command line. Returns 0 or HX_EUSAGE with a message. */
int cmp_gate_parse(const char *s, cmp_gate *g, hx_err *e);
/* Evaluate g against d. Returns true when it trips and appends one line per reason to why (may be
 * NULL): "cost.monthly.usd +12.5% in 'baseline' (0.036 -> 0.0405) exceeds +10%". A metric gate
 * on "cost.X" also covers every model's "cost.<model>.X". Scenario names in why are raw
 * (untrusted): the caller escapes them for its output. */
bool cmp_gate_eval(const cmp_gate *g, const cmp_diff *d, hx_buf *why);

/* ---- the compare page (compare_html.c) ---- */

/* What the page shows: both runs (borrowed), their file names as given (untrusted), the diff
 * built from them, and the gates (ngates 0: no gates section). */
typedef struct cmp_html_input {
    const results_run *base, *head; /* the two runs */
    const char *base_path;          /* BASE.json as given on the command line */
    const char *head_path;          /* HEAD.json */
    const cmp_diff *diff;           /* cmp_diff_build(base, head) */
    const cmp_gate *gates;          /* --fail-on gates, evaluated while rendering */
    size_t ngates;
} cmp_html_input;

/* The headline's reasons as plain text, one per line ending in '\n': "served queries at p95: 3
 * faster, 0 slower, 0 within 10 %", then each price sheet's variable month base -> head. Price
 * sheet names come from the runs: the text is untrusted, escape each line for the output. */
void cmp_headline_text(hx_buf *out, const cmp_diff *d);
/* Whether a scenario value belongs to its own section (served queries, storage) rather than the
 * table of other numbers. */
bool cmp_value_sectioned(const cmp_value *v);
/* The solution's storage values of a scenario, in the order shown ("db.solution.bytes" first),
 * with a label each ("all its relations", "tables", ...). */
#define CMP_STORAGE_N 4
extern const char *const cmp_storage_metrics[CMP_STORAGE_N];
extern const char *const cmp_storage_labels[CMP_STORAGE_N];
/* Whether a cost line is a storage line ("database storage", "file storage", ...). */
bool cmp_line_is_storage(const cmp_cost_line *l);

/* Render the comparison as one self-contained page in report.html's shell and theme (inline CSS,
 * JS and SVG; nothing fetched; reads fully without JavaScript): both runs side by side, overall
 * deltas, the gates, then per scenario the flipped checks with both sides' expected and actual,
 * latency, resources, cost and score with deltas coloured by direction and a bar pair per key
 * number. Every string from the runs is escaped with rep_html_text. Returns false when out of
 * memory. */
bool cmp_html_render(hx_buf *out, const cmp_html_input *in);
/* Render and write atomically to path. Returns 0 or a negative hx code. */
int cmp_html_write(const cmp_html_input *in, const char *path, hx_err *e);

#endif
