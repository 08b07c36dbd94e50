/* compare.h - the difference between two runs (base and head) as plain data: scenarios matched by
 * name (added and removed ones listed), checks that flipped, and per scenario the numbers a
 * reviewer weighs (latency percentiles, wall time, CPU, memory, cost per model, score) with base,
 * head, delta and delta percent; plus the --fail-on gates evaluated against that difference.
 * `harness compare` renders it; this module never prints.
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
    cmp_value score; /* the run-level score ("score") */
} cmp_diff;

/* Fill d (caller storage) with the difference from base to head. Returns 0 or HX_ENOMEM (d is then
 * released). */
int cmp_diff_build(cmp_diff *d, const results_run *base, const results_run *head, hx_err *e);
/* Free what d owns; d can be built again. */
void cmp_diff_release(cmp_diff *d);

/* delta and pct of a value from base and head, NAN-safe as described at the top. */
void cmp_value_compute(cmp_value *v);

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

#endif
