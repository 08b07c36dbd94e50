/* sampler.h - measures the resources of a solution's whole process tree (docs/solutions.md
 * "What is measured"):
 * CPU user/sys, peak and mean RSS, read/write bytes, and a down-sampled time series. It reads the
 * solution's cgroup v2 files when the runner made one and falls back to a /proc walk for what the
 * cgroup does not offer; it also remembers every process it saw in the tree so that the runner can
 * kill descendants that escaped the process group.
 *
 * A sampler is driven either by the runner's own loop (sampler_sample at ~10 Hz) or by its own
 * thread (sampler_start/sampler_stop). Every function is thread-safe.
 *
 * Ownership: sampler_new returns a heap sampler freed with sampler_free; sampler_summary owns its
 * series (sampler_summary_release). */
#ifndef HX_SAMPLER_H
#define HX_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "util.h"

/* The most points a summary's series keeps; longer runs are averaged down to fit. */
#define SAMPLER_SERIES_MAX 240

/* One point of the resource timeline. */
typedef struct sampler_point {
    double t_s;     /* seconds since the sampler started */
    double cpu_pct; /* CPU of the whole tree over the interval, 100 = one core; at most 100 x
                       sampler_cpus() */
    uint64_t rss;   /* resident bytes of the tree (or the cgroup's memory.current) */
} sampler_point;

/* What a run used. CPU and I/O are totals over the run; RSS is over the samples. */
typedef struct sampler_summary {
    double cpu_user_s;     /* user CPU seconds of the tree */
    double cpu_sys_s;      /* system CPU seconds of the tree */
    uint64_t rss_peak;     /* peak resident bytes */
    uint64_t rss_mean;     /* mean resident bytes over the samples */
    uint64_t read_bytes;   /* bytes read from storage */
    uint64_t write_bytes;  /* bytes written to storage */
    uint32_t samples;      /* samples taken */
    double self_cpu_s;     /* CPU the sampler itself spent sampling */
    const char *source;    /* "cgroup" or "proc": where CPU numbers came from (static string) */
    sampler_point *series; /* at most SAMPLER_SERIES_MAX points, owned */
    size_t n_series;       /* points in series */
} sampler_summary;

typedef struct sampler sampler;

/* Options; zero means the default. */
typedef struct sampler_opts {
    const char *cgroup_dir; /* the solution's cgroup v2 leaf, or NULL for the /proc walk */
    int hz;                 /* rate for sampler_start (default 10) */
} sampler_opts;

/* Make a sampler for the tree rooted at root (the solution's leader). Returns 0 or HX_ENOMEM. */
int sampler_new(pid_t root, const sampler_opts *o, sampler **out, hx_err *e);

/* Take one sample now. Cheap: reads only the tree's /proc files and the new pids' stat. */
void sampler_sample(sampler *s);

/* Take the last reading once the tree is gone (before its cgroup is removed): what the cgroup
 * counted after the last sample (cpu.stat, io.stat, memory.peak) reaches the totals, so CPU up to
 * the exit of the tree's last process is counted. Not part of the RSS mean. */
void sampler_finish(sampler *s);

/* Sample from an own thread at o->hz until sampler_stop. Returns 0 or HX_EINFRA. */
int sampler_start(sampler *s, hx_err *e);
/* Stop the thread started by sampler_start (no-op otherwise). */
void sampler_stop(sampler *s);

/* Copy up to cap pids of processes seen in the tree that were alive at the last sample, checking
 * each is still the same process (start time); returns how many were written. */
size_t sampler_tracked(sampler *s, pid_t *pids, size_t cap);

/* What the tree's live processes hold open of the regular files they deleted (no name left:
 * st_nlink 0) on the devices devs[0..ndev), into *u: bytes allocated and files, each inode once.
 * A file deleted while open keeps its space until its last descriptor closes, and no walk of a
 * folder finds it (the runner's disk limit counts it). Reads /proc/<pid>/fd, which the harness's
 * own user or root may. */
void sampler_held_deleted(sampler *s, const dev_t *devs, size_t ndev, hx_usage *u);

/* Fill out from the samples. leader_ru (may be NULL) is the wait4 rusage of the leader: it
 * counts every descendant the tree waited for, so short-lived children missed between samples are
 * not lost (totals take the larger of the two views). Call after the tree is gone; out owns its
 * series, release it with sampler_summary_release. Returns 0 or HX_ENOMEM. */
int sampler_summarize(sampler *s, const struct rusage *leader_ru, sampler_summary *out, hx_err *e);

/* Free the series; out is zeroed. */
void sampler_summary_release(sampler_summary *out);

/* Stop the thread if any and free s. NULL is a no-op. */
void sampler_free(sampler *s);

/* The CPUs this process can use at once: the online ones, fewer when its affinity mask or its
 * cgroup's CPU quota (cgroup2 cpu.max, v1 cpu.cfs_quota_us) allows fewer (a container given 2
 * CPUs of a 64-core host: 2). At least 1. */
long sampler_cpus(void);

/* Read /proc/<pid>/stat: state letter ('Z' for a zombie), parent, process group and start time
 * (clock ticks since boot); any out-pointer may be NULL. Returns false when the process is gone.
 * Shared with the runner's kill walk. */
bool sampler_proc_stat(pid_t pid, char *state, pid_t *ppid, pid_t *pgid, uint64_t *start);

/* Read /proc/<pid>/stat's CPU times in clock ticks: times[0] utime, [1] stime, [2] cutime, [3]
 * cstime (what it reaped), and its start time (may be NULL). false when the process is gone. */
bool sampler_proc_times(pid_t pid, uint64_t times[4], uint64_t *start);

#endif
