/* merge.h - shard results into one run. `harness run --shard I/N` splits a pack's scenarios over
 * CI jobs; merge checks that the shards are parts of one experiment (same pack, harness, solution,
 * seeds and price sheets), puts their scenarios back in the pack's order, and recomputes verdict,
 * totals, exit code and score as one run would have. This module never prints: what the user
 * should know but does not stop the merge (machines that differ, missing shards, partial inputs)
 * comes back as notes.
 *
 * Histograms stay per scenario: each scenario ran in exactly one shard, and run.json has no
 * run-level histogram. merge_hist() merges one named histogram over a run's scenarios, exactly
 * (the same counters as recording every value into one histogram), for summaries.
 *
 * Ownership: merge_runs moves the scenarios out of the input runs into the new run (the inputs
 * keep everything else and stay the caller's to free); the new run is the caller's
 * (results_run_free); notes are released with merge_notes_release; merge_hist's histogram is
 * freed with hist_free. */
#ifndef HX_MERGE_H
#define HX_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "hist.h"
#include "results.h"
#include "util.h"

typedef struct merge_input {
    const char *name; /* where the run came from, for messages: "shard-1/run.json" */
    results_run *run; /* a run as runjson_read or runjson_journal_read returns it; merge_runs
                         settles it and takes its scenarios */
} merge_input;

/* Facts about a merge that do not stop it, one line each, ready to print. */
typedef struct merge_notes {
    char **lines; /* e.g. "'b/run.json' ran on ci-2 (...), 'a/run.json' on ci-1 (...)" */
    size_t nlines;
} merge_notes;

/* Free the lines (notes may be zeroed storage or NULL); the struct can be used again. */
void merge_notes_release(merge_notes *notes);

/* The shard a run was, from its command line ("--shard I/N" or "--shard=I/N"). Returns false
 * (and sets *i = *n = 0) when the run was not a shard. */
bool merge_shard_of(const results_run *r, int *i, int *n);

/* Merge n >= 1 runs into *out (the caller's, results_run_free):
 *  - refuses runs that differ in pack (name, level), harness (version, commit, plugin ABI),
 *    solution name, seed override (--seed), a scenario's seed or the price sheets: HX_EUSAGE
 *    naming both inputs and the field;
 *  - refuses a scenario present in two inputs (HX_EUSAGE naming it and both inputs), and a
 *    histogram whose encoding does not decode (naming input, scenario and histogram);
 *  - orders scenarios as the pack does: by shard interleave when every input is a different
 *    shard of one --shard I/N split (exactly the order `run` split them from); else by scenario
 *    file in the pack loader's order; else by input, then position;
 *  - recomputes verdict, totals and exit code (results_run_settle) and score
 *    (results_run_score); an input whose own exit code is worse than its scenarios explain (a
 *    service failed before they ran) keeps the merged exit code that bad, and an exit 2 or 3
 *    makes the verdict error;
 *  - partial when an input is partial or a shard of the split is missing; interrupted when an
 *    input was; started the earliest, finished the latest (NULL when one did not finish),
 *    duration the longest shard's; machine fields that differ list each value.
 * argv is left empty for the caller. notes (may be NULL) gets what the user should know.
 * Returns 0, HX_EUSAGE or HX_ENOMEM; on failure no input lost its scenarios and *out is NULL. */
int merge_runs(merge_input *in, size_t n, results_run **out, merge_notes *notes, hx_err *e);

/* Merge the histograms called name over r's scenarios into *out (free with hist_free): exactly
 * the counters one histogram would hold had it recorded every value. *out is NULL when no
 * scenario has one; *nmerged (may be NULL) counts the scenarios merged. HX_EUSAGE when an
 * encoding does not decode or two histograms differ in range or precision; HX_ENOMEM. */
int merge_hist(const results_run *r, const char *name, hist **out, size_t *nmerged, hx_err *e);

#endif
