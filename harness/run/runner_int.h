/* runner_int.h - what runner.c shares with runlog.c (private to run/): where a solution may write
 * and the words for a limit it passed there. */
#ifndef HX_RUNNER_INT_H
#define HX_RUNNER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "solution.h"
#include "util.h"

/* Folders below a measured place that the walk enters: one nested deeper is over the limit in
 * itself (nothing hides below the walk). */
#define RUNNER_DISK_DEPTH 64

/* The places measured together against the disk and file limits, as indexes of used[]:
 * PLACE_HELD is the files it deleted on those places' disks while holding them open. */
enum { PLACE_OUT, PLACE_TMP, PLACE_SOL, PLACE_HELD, PLACE_N };

/* bytes as "3 GiB", "12 MiB" or "512 KiB" (rounded down) into buf. */
void runner_size(char *buf, size_t n, uint64_t bytes);

/* The limit a command passed, named, into out: the database (db_over, its size db_used); a place
 * that could not be measured whole (unmeasured >= 0: nested too deep or closed); too many
 * entries (files_over); else too many bytes; each place's share of used[] named. */
void runner_usage_limit(char *out, size_t n, const solution_limits *lim,
                        const hx_usage used[PLACE_N], int unmeasured, bool files_over, bool db_over,
                        uint64_t db_used);

#endif
