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

typedef struct cmp_scenario {
    char *name;                 /* scenario name (untrusted) */
    results_status base_status; /* status in base */
    results_status head_status; /* status in head */
    cmp_check *checks;          /* flipped checks only, in head order then gone ones */
    size_t nchecks;
    cmp_value *values; /* the compared numbers, in a stable order */
    size_t nvalues;
} cmp_scenario;

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
