/* metrics.h - the catalogue of the metrics a run produces: every name harness writes into run.json
 * (and so every name a threshold, a budget or `compare --fail-on` can use), as patterns with a
 * unit and a one-line meaning. Validation reads it (an unknown metric is a load error with a
 * did-you-mean), docs/scenarios.md lists it. A new metric is a row in metrics.c.
 *
 * Patterns are dot-separated segments: a literal ("solution"), a placeholder for one segment
 * ("<model>": any text without a dot), a last placeholder for one or more segments
 * ("<name...>"), and one optional group in brackets ("cost.[<model>.]run.<currency>").
 *
 * Ownership: everything returned is static. */
#ifndef HX_METRICS_H
#define HX_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "plan.h"
#include "util.h"

typedef struct plan_metric {
    const char *pattern; /* "solution.wall.max", "cost.[<model>.]monthly.<currency>" */
    const char *unit;    /* "s", "bytes", "rows/s", "money" or "" (a count) */
    const char *meaning; /* one line for docs and messages */
    /* Optional: may scenario s produce the metric whose placeholders matched caps (ncaps of them,
     * in pattern order)? s is NULL for pack-wide budgets and compare gates (then every name the
     * pattern matches is accepted). Returns true, or false with the reason in why. */
    bool (*accept)(const plan_scenario *s, const char *const *caps, size_t ncaps, char *why,
                   size_t n);
    bool compare_only; /* a histogram percentile `harness compare` derives, not in run.json's
                          metrics (so no threshold can use it) */
} plan_metric;

/* The catalogue, in documentation order; *n set to its length. */
const plan_metric *plan_metrics(size_t *n);

/* Is metric a name scenario s (NULL: any scenario) can produce, as a run.json metric (compare
 * false: what thresholds read) or as a value `harness compare` shows (compare true)? Returns 0, or
 * HX_EUSAGE with a message in e naming the metric, why, and the nearest known name ("did you mean
 * ...?"). */
int plan_metric_check(const char *metric, const plan_scenario *s, bool compare, hx_err *e);

/* Does scenario s check summaries per group on topic (a topic check whose expect is a grouped
 * query, group{}:agg{}), which makes the <topic>.lag.* metrics? */
bool plan_grouped_topic(const plan_scenario *s, const char *topic);

#endif
