/* runner.h - runs a solution (the contract: docs/solutions.md): spawns a command in its own process
 * group (and its own cgroup v2 leaf where the machine allows), cwd = the solution folder, stdin
 * /dev/null, stdout and stderr into size-capped logs; samples its resources; waits with a timeout;
 * and on timeout, Ctrl-C or exit kills the whole tree, descendants that escaped the group included,
 * so that no process and no zombie of the solution outlives runner_wait.
 *
 * Logs: each stream goes to <log_dir>/<log_name>.stdout.log and .stderr.log. Up to the cap
 * (default 1 MiB per stream) the file is the whole output. Beyond it the file keeps the first half
 * of the cap, one line "[harness: N bytes omitted]", and the last bytes (a ring held in memory
 * and written when the process is waited), so the file never exceeds the cap.
 *
 * Sandbox: with opts.sandbox the command runs in that box (sandbox.h): the child drops to the
 * box's user, then executes bwrap, which is the leader. A polite stop (SIGTERM) goes to the
 * processes inside, never to bwrap or its init (that would end the namespace at once); SIGKILL
 * goes to all, and the namespace dies with its init. Every leader gets PR_SET_PDEATHSIG(SIGKILL):
 * it dies with the harness, and in a box bwrap's --die-with-parent takes the namespace along.
 *
 * Process tracking: the tree is the leader's process group, its cgroup (when made), every process
 * the sampler saw descend from the leader, and every process whose environment still carries the
 * run's HARNESS_RUN_TOKEN (the way Jenkins finds a build's escaped processes). runner_spawn makes
 * the calling process a child subreaper (prctl PR_SET_CHILD_SUBREAPER) unless opts.no_subreaper,
 * so orphaned descendants are re-parented to the harness, which reaps them by pid; it never reaps
 * pids it did not track.
 *
 * Ownership: runner_spawn returns a heap runner_proc freed by runner_proc_free; a runner_result
 * owns its strings and series (runner_result_release); runner_env_build returns an array freed by
 * runner_env_free. */
#ifndef HX_RUNNER_H
#define HX_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sampler.h"
#include "sandbox.h"
#include "solution.h"
#include "util.h"

/* Whether to put the solution into an own cgroup v2 leaf. */
typedef enum runner_cgroup_mode {
    RUNNER_CGROUP_AUTO = 0, /* when a writable cgroup2 hierarchy exists, else the /proc path */
    RUNNER_CGROUP_OFF       /* always the /proc path */
} runner_cgroup_mode;

/* What and how to run. Zero fields take the defaults named. */
typedef struct runner_opts {
    const char *const *argv;     /* program and arguments (PATH searched), or NULL to use shell */
    const char *shell;           /* a command for /bin/sh -c, used when argv is NULL */
    const char *cwd;             /* working directory (the solution folder), NULL = ours */
    char *const *env;            /* full environment (see runner_env_build), NULL = ours */
    const char *log_dir;         /* where the two log files go (required, must exist) */
    const char *log_name;        /* file name prefix, default "solution" */
    size_t log_cap;              /* bytes per log file, default 1 MiB, at least 4 KiB */
    int64_t grace_us;            /* SIGTERM-to-SIGKILL grace, default 5 s */
    runner_cgroup_mode cgroup;   /* cgroup use, default AUTO */
    const char *cgroup_parent;   /* a delegated cgroup2 dir to make the leaf in; default: our own
                                    cgroup in the cgroup2 mount */
    const solution_ready *ready; /* readiness rule for runner_wait_ready, or NULL */
    bool no_sampler;             /* do not sample resources */
    bool no_subreaper;           /* do not make the caller a child subreaper */
    const sandbox *sandbox;      /* run inside this box (sandbox.h); NULL = no box. cwd is then
                                    the box's solution folder, whatever .cwd says */
    const char *in_dir;          /* the box: the input folder it sees read-only, or NULL */
    const char *out_dir;         /* the box: the output folder it may write, or NULL */
    const char *db_dir; /* the folder of its database on the embedded server's disk, measured
                           against limits->database_bytes like out_dir against disk_bytes; or
                           NULL */
    const solution_limits *limits; /* enforced limits (memory.max and pids.max in its cgroup,
                                      else RLIMIT_AS and RLIMIT_NPROC; RLIMIT_FSIZE always);
                                      NULL = none */
} runner_opts;

typedef struct runner_proc runner_proc;

/* How a run ended and what it used. */
typedef struct runner_result {
    bool exited;           /* the leader exited normally: see exit_code */
    int exit_code;         /* its exit status */
    bool signaled;         /* the leader was killed by a signal: see sig */
    int sig;               /* the signal number */
    char sig_name[16];     /* "SIGSEGV", or "" */
    bool timed_out;        /* the runner killed it because the timeout passed */
    bool interrupted;      /* the runner killed it because of runner_kill */
    int leftovers;         /* processes of the tree still alive after the leader ended (killed) */
    int64_t wall_ns;       /* spawn to leader exit, monotonic */
    double ru_user_s;      /* wait4 rusage of the leader and what it waited for, plus the
                              orphans the harness reaped: user CPU */
    double ru_sys_s;       /* ... system CPU */
    long ru_maxrss_kb;     /* ... largest resident set of one process after its exec; 0 when
                              the leader's could not be told apart from the harness's pages it
                              shared at fork (the kernel keeps those in its ru_maxrss) */
    const char *isolation; /* "cgroup" or "proc": how the tree was tracked (static string) */
    const char *sandbox;   /* "bwrap" or "none": the box it ran in (static string) */
    char limit[320];       /* the limit it ran into, named ("memory limit 4 GiB (memory.max)
                              reached"), or "": also the last line of its stderr log */
    bool disk_over;        /* its output folder held more than limits->disk_bytes, or its
                              database more than database_bytes (during the run: stopped at
                              once; or at its end): a failure whatever its exit */
    char *stdout_path;     /* the stdout log, owned */
    char *stderr_path;     /* the stderr log, owned */
    uint64_t stdout_bytes; /* bytes the solution wrote to stdout (before capping) */
    uint64_t stderr_bytes; /* bytes it wrote to stderr */
    sampler_summary res;   /* resources of the whole tree (empty with no_sampler) */
} runner_result;

/* Start a solution. Returns 0 and *out, or HX_EUSAGE (no command, bad cwd, exec failed: the
 * message names the command), HX_EIO (log files), HX_EINFRA (fork, pipes), HX_ENOMEM. */
int runner_spawn(const runner_opts *o, runner_proc **out, hx_err *e);

/* The leader's pid. */
pid_t runner_pid(const runner_proc *p);

/* "cgroup" or "proc": how this process tree is tracked. */
const char *runner_isolation(const runner_proc *p);

/* The cgroup2 directory runner_spawn makes its leaves in by default (the cgroup2 mount joined
 * with this process's own cgroup), whether or not it is writable. False when there is none. Its
 * leaves are named "harness-<pid of the harness>-<n>". */
bool runner_cgroup_parent(char *out, size_t cap);

/* Wait for the leader to end, at most timeout_us counted from spawn (<= 0: no limit). On timeout or
 * runner_kill, SIGTERM the tree, wait the grace period, SIGKILL what is left. After the leader
 * ends, the rest of the tree is terminated the same way. Reaps the leader (wait4) and tracked
 * orphans, finishes the logs and fills r (release with runner_result_release). Returns 0, or
 * HX_ENOMEM. Call once. */
int runner_wait(runner_proc *p, int64_t timeout_us, runner_result *r, hx_err *e);

/* Ask for the tree to be stopped, from any thread (e.g. the run loop's Ctrl-C path; not from a
 * signal handler). Sends SIGTERM to the group now; runner_wait then does the rest and sets
 * r->interrupted. */
void runner_kill(runner_proc *p);

/* Stop the tree now, from any thread (a second Ctrl-C; not from a signal handler): SIGKILL to the
 * group (in a box: to bwrap, which takes its namespace along) and no grace period in
 * runner_wait, which still reaps and reports (r->interrupted). */
void runner_kill_now(runner_proc *p);

/* Wait until the solution is ready by opts.ready (no rule: at once), at most timeout_us
 * (<= 0: the rule's own timeout). Returns 0 when ready; HX_EUSAGE when it exited first or did not
 * get ready in time (the message says which and quotes the rule). */
int runner_wait_ready(runner_proc *p, int64_t timeout_us, hx_err *e);

/* Whether the leader is still running (a service between start and stop). Does not reap. */
bool runner_running(runner_proc *p);

/* Free p. If it was never waited, kills and reaps the tree first. NULL is a no-op. */
void runner_proc_free(runner_proc *p);

/* Free what r owns; r is zeroed. */
void runner_result_release(runner_result *r);

/* The last max bytes of a log file, for reports: *out is NUL-terminated (free with hx_free), the
 * bytes are raw (escape them where they land). A missing file gives "". Returns 0 or HX_EIO. */
int runner_log_tail(const char *path, size_t max, char **out, size_t *len, hx_err *e);

/* Build a solution environment: base (NULL = our environ) with overlay applied. overlay is
 * "KEY", "VALUE" pairs ended by a NULL key; a NULL value removes KEY. Nothing else is dropped, so
 * PATH, HOME, LANG pass through. *out is NULL-terminated, free with runner_env_free. Returns 0,
 * HX_EUSAGE (a key with '=' or empty) or HX_ENOMEM. */
int runner_env_build(char *const *base, const char *const *overlay, char ***out, hx_err *e);

/* Free an environment from runner_env_build. */
void runner_env_free(char **env);

/* The signal's name, "SIGSEGV", into buf; "SIG<n>" when unknown. */
const char *runner_signal_name(int sig, char *buf, size_t cap);

#endif
