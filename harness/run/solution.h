/* solution.h - reads a contestant's solution.json (docs/solutions.md) into a plain struct: what to
 * build, what to run per batch, how to start a service and tell that it is ready, extra environment
 * and the default timeout.
 *
 * Ownership: a solution_spec owns every string in it; solution_release frees them. */
#ifndef HX_SOLUTION_H
#define HX_SOLUTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* How the harness tells that a service solution is ready to receive data. */
typedef enum solution_ready_kind {
    SOLUTION_READY_NONE = 0, /* no rule: ready as soon as it is started */
    SOLUTION_READY_STDOUT,   /* a stdout line matches pattern (POSIX ERE, or plain substring) */
    SOLUTION_READY_TCP,      /* a TCP connect to 127.0.0.1:port succeeds */
    SOLUTION_READY_DELAY     /* a fixed delay has passed */
} solution_ready_kind;

/* The readiness rule of a service. */
typedef struct solution_ready {
    solution_ready_kind kind; /* which rule */
    char *pattern;            /* STDOUT: the regex or substring, owned */
    int port;                 /* TCP: port on 127.0.0.1 */
    int64_t delay_us;         /* DELAY: how long to wait */
    int64_t timeout_us;       /* give up after this long (default 60 s; "timeout" in the rule) */
} solution_ready;

/* One extra environment variable for the solution. */
typedef struct solution_env {
    char *key; /* owned */
    char *val; /* owned */
} solution_env;

/* Resource limits of each solution command (docs/solutions.md "Limits"): enforced while it runs,
 * by its cgroup where one is made, else by rlimits set in the child before exec. */
typedef struct solution_limits {
    uint64_t memory_bytes;   /* "limits.memory": memory.max, else RLIMIT_AS (address space) */
    int64_t processes;       /* "limits.processes": pids.max, else RLIMIT_NPROC */
    uint64_t disk_bytes;     /* "limits.disk": the largest file it may write (RLIMIT_FSIZE), and
                                the total of its output folder, its /tmp and what it adds to
                                its own folder */
    uint64_t database_bytes; /* "limits.database": what the scenario's database may hold on
                                the embedded server's disk */
    uint64_t files;          /* "limits.files": the entries (files, folders, links) it may make
                                in those places together */
} solution_limits;

/* The defaults, and the most a solution.json may ask for. */
#define SOLUTION_MEMORY_DEFAULT (4ULL << 30)
#define SOLUTION_MEMORY_CAP (32ULL << 30)
#define SOLUTION_PROCESSES_DEFAULT 1024
#define SOLUTION_PROCESSES_CAP 8192
#define SOLUTION_DISK_DEFAULT (8ULL << 30)
#define SOLUTION_DISK_CAP (64ULL << 30)
#define SOLUTION_DATABASE_DEFAULT (16ULL << 30)
#define SOLUTION_DATABASE_CAP (256ULL << 30)
#define SOLUTION_FILES_DEFAULT 100000ULL
#define SOLUTION_FILES_CAP 10000000LL

/* A parsed solution.json. Absent optional strings are NULL. */
typedef struct solution_spec {
    char *name;             /* "name", required */
    char *build;            /* "build": shell command run once before the first scenario, or NULL */
    char *batch;            /* "batch": shell command per batch invocation, or NULL */
    char *service;          /* "service.command", or NULL */
    solution_ready ready;   /* "service.ready" */
    int64_t drain_us;       /* "service.drain": after the replay, how long the output topics may
                               keep growing before the service is stopped (default 10 s) */
    solution_env *env;      /* "env", in file order, owned */
    size_t n_env;           /* entries in env */
    int64_t timeout_us;     /* "timeout": default per invocation, 0 when absent */
    solution_limits limits; /* "limits", the defaults where absent */
} solution_spec;

/* Parse solution.json text. origin names the file in messages ("workspace/solution.json").
 * Returns 0, HX_EUSAGE (unknown key with a did-you-mean, wrong type, bad duration, neither batch
 * nor service) or HX_ENOMEM, with e filled. On failure *out is left released (all NULL). */
int solution_parse(const char *text, size_t len, const char *origin, solution_spec *out, hx_err *e);

/* Read and parse <dir>/solution.json. Same returns as solution_parse, plus HX_EUSAGE when the file
 * is missing and HX_EIO when it cannot be read. */
int solution_load(const char *dir, solution_spec *out, hx_err *e);

/* Free what spec owns; spec is left zeroed and can be reused. */
void solution_release(solution_spec *spec);

/* Parse a duration: "120s", "500ms", "2m", "1h", "1.5s", "250us" or a bare number of seconds.
 * Returns false when text is not a duration or is negative. */
bool solution_parse_duration(const char *text, int64_t *out_us);

#endif
