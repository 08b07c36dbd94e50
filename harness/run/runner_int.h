/* runner_int.h - what runner.c shares with runlog.c (private to run/): a command's size-capped
 * logs, where a solution may write and the words for a limit it passed there. */
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

/* One size-capped log of a command's stdout or stderr (runner_log_put): the head goes straight to
 * the file, the tail into a ring. */
typedef struct logcap {
    int fd;          /* the log file */
    int rfd;         /* the pipe's read end, -1 at EOF */
    size_t head_cap; /* bytes kept from the start */
    size_t tail_cap; /* bytes kept from the end */
    size_t head_len; /* head bytes written */
    char *ring;      /* tail ring, allocated on first overflow */
    size_t ring_pos; /* next write position */
    size_t ring_len; /* bytes in the ring */
    uint64_t total;  /* bytes the solution wrote */
    bool werr;       /* a write to the file failed */
} logcap;

/* The most bytes runner_log_finish adds (its "[harness: N bytes omitted]" line). */
#define RUNNER_LOG_MARK_MAX 64

/* Count n bytes the command wrote to l: into the file while its head has room, else into the
 * tail ring. A failed write sets l->werr (the rest is still counted). */
void runner_log_put(logcap *l, const char *p, size_t n);

/* Write what l omitted (a marker line) and its tail ring to the file, close it and free the
 * ring. A second call does nothing. */
void runner_log_finish(logcap *l);

/* bytes as "3 GiB", "12 MiB" or "512 KiB" (rounded down) into buf. */
void runner_size(char *buf, size_t n, uint64_t bytes);

/* The limit a command passed, named, into out: the database (db_over, its size db_used); a place
 * that could not be measured whole (unmeasured >= 0: nested too deep or closed); too many
 * entries (files_over); else too many bytes; each place's share of used[] named. */
void runner_usage_limit(char *out, size_t n, const solution_limits *lim,
                        const hx_usage used[PLACE_N], int unmeasured, bool files_over, bool db_over,
                        uint64_t db_used);

#endif
