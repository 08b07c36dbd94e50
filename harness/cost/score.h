/* score.h - the 0-100 score a leaderboard ranks by: correctness, performance against the SLA
 * thresholds and cost against the budget, weighted by the formula in docs/scoring.md. It returns
 * every component and per-threshold credit so reports can say how to raise the score.
 *
 * Ownership: score_compute fills a caller's score_result that owns its items array (free with
 * score_result_release); item metric strings are borrowed from the input, which must outlive the
 * result. */
#ifndef HX_SCORE_H
#define HX_SCORE_H

#include <stdbool.h>
#include <stddef.h>

#include "plan.h"
#include "util.h"

/* Default weights, in points out of 100. */
#define SCORE_W_CORRECTNESS 60.0
#define SCORE_W_PERFORMANCE 25.0
#define SCORE_W_COST 15.0
/* While any error-severity check fails, a run scores at most this many points times its
 * correctness credit (so a run with nothing correct scores 0, whatever its speed and cost). */
#define SCORE_ERROR_CAP 40.0
/* A warn-severity check counts this much of an error-severity one in the correctness share. */
#define SCORE_WARN_WEIGHT 0.5

/* Relative weights of the three components; all zero means the defaults above. */
typedef struct score_weights {
    double correctness; /* >= 0 */
    double performance; /* >= 0 */
    double cost;        /* >= 0 */
} score_weights;

/* One threshold as evaluated by the run. */
typedef struct score_threshold {
    const char *metric; /* "latency.e2e.p99", "cost.monthly.usd"; metrics starting "cost." are
                           budgets, the rest performance (borrowed) */
    plan_op op;         /* how actual must compare to limit */
    double limit;       /* in the metric's base unit */
    double actual;      /* measured value; NAN when the metric was not measured */
} score_threshold;

/* What the score is computed from. Check counts exclude skipped checks; a check that ended in
 * error (a crash, an infrastructure failure) counts as failed. */
typedef struct score_input {
    unsigned error_pass;               /* severity error, passed */
    unsigned error_fail;               /* severity error, failed or errored */
    unsigned warn_pass;                /* severity warn, passed */
    unsigned warn_fail;                /* severity warn, failed or errored */
    unsigned runs_failed;              /* solution invocations that failed (non-zero exit, signal,
                                          timeout): each counts as a failed error-severity check */
    const score_threshold *thresholds; /* SLA and budget thresholds (borrowed) */
    size_t nthresholds;
    /* Reference figures the pack declares (e.g. the reference solution's variable monthly
     * cost): limit is the reference, op the better direction (< or <= : lower is better).
     * Credit min(1, reference / actual) (or actual / reference); metrics starting "cost." count
     * under cost, the rest under performance. (borrowed) */
    const score_threshold *references;
    size_t nreferences;
    score_weights weights; /* zero = defaults */
} score_input;

/* One threshold's contribution. */
typedef struct score_item {
    const char *metric; /* borrowed from the input */
    bool is_cost;       /* counted under cost, else under performance */
    bool is_reference;  /* a reference figure, not a threshold (items: thresholds first) */
    bool passed;        /* the threshold holds */
    double ratio;       /* how far off, >= 1 when failed (actual/limit for < and <=); NAN if n/a */
    double credit;      /* 0..1, before the correctness factor */
    double gain;        /* points the total would gain if this threshold passed (before the cap) */
} score_item;

/* One of the three components. */
typedef struct score_component {
    bool measured; /* has something to score; unmeasured components give their weight away */
    double weight; /* effective points out of 100 after redistribution */
    double credit; /* 0..1 */
    double points; /* weight x credit */
} score_component;

typedef struct score_result {
    double total;    /* 0..100, after the cap */
    double uncapped; /* the weighted sum before the cap */
    bool capped;     /* an error-severity check failed: total <= SCORE_ERROR_CAP x correctness */
    score_component correctness; /* share of checks passing */
    score_component performance; /* mean credit of the SLA thresholds and performance
                                    references, times the correctness credit */
    score_component cost;        /* mean credit of the budgets and cost references, times the
                                    correctness credit */
    score_item *items; /* one per input threshold, then one per reference, in input order (owned) */
    size_t nitems;
} score_result;

/* True when the metric is a budget ("cost." prefix). */
bool score_metric_is_cost(const char *metric);
/* True when actual op limit holds. NAN never holds. */
bool score_threshold_passes(plan_op op, double limit, double actual);
/* Credit 0..1 of one threshold: 1 when it passes; a failed SLA gets 0.5 x (1 - log10(ratio)), a
 * failed budget 2 - ratio (both clamped to 0..1); *ratio (may be NULL) receives how far off. */
double score_threshold_credit(plan_op op, double limit, double actual, bool is_cost, double *ratio);
/* Credit 0..1 against a reference figure: min(1, reference / actual) when lower is better (op <
 * or <=), min(1, actual / reference) otherwise; 0 when either is not a positive number (a run
 * that produced nothing to measure earns nothing). */
double score_reference_credit(plan_op op, double reference, double actual);

/* Compute the score. Fills out (release with score_result_release). Returns 0, HX_EUSAGE for
 * negative weights or a threshold without a metric, or HX_ENOMEM. */
int score_compute(const score_input *in, score_result *out, hx_err *e);
/* Free the items; out can be computed into again. */
void score_result_release(score_result *r);
/* Append "how to raise your score" advice, largest gain first, as plain text lines. */
bool score_explain(const score_result *r, hx_buf *out);

#endif
