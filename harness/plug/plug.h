/* plug.h - validator plugins inside the harness: find and load a plugin (its descriptor read
 * in a contained worker, or dlopen here for --no-isolate), validate a check's parameters against
 * its declared spec, and run a check - in a contained worker with a timeout by default, in
 * process with no_isolate - turning whatever happens (a verdict, a crash, a hang, garbage, a
 * daemon left behind) into a plain plug_result. A pack's native code (constructors, init, the
 * checks) runs in the harness process only with no_isolate / PLUG_LOAD_HERE.
 *
 * Ownership: plug_open() returns a plug_plugin the caller frees with plug_close(); check pointers
 * from plug_find_check() live as long as the plugin. plug_result owns all its strings and arrays;
 * plug_result_release() frees them. A plug_path owns its directory strings. */
#ifndef HX_PLUG_H
#define HX_PLUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness/plugin.h"
#include "plan.h"
#include "util.h"

struct pg_conn; /* libpq's PGconn, so this header does not need libpq-fe.h */

/* ---- search path ---- */

/* Directories searched for <name>.so, in order. */
typedef struct plug_path {
    char **dirs; /* owned */
    size_t n;
} plug_path;

void plug_path_init(plug_path *pp);
void plug_path_release(plug_path *pp);
/* Append a directory (copied). Returns 0 or HX_ENOMEM. */
int plug_path_add(plug_path *pp, const char *dir);
/* The standard path: <pack_dir>/plugins (pack_dir may be NULL), then each of extra (the
 * --plugin-path dirs, may be NULL), then the built-in plugin dir: the build tree's when this
 * binary runs from the build tree, else the installed one. Returns 0 or HX_ENOMEM. */
int plug_path_standard(plug_path *pp, const char *pack_dir, const char *const *extra,
                       size_t nextra);
/* The directory built-in plugins are loaded from by this binary. Static string. */
const char *plug_builtin_dir(void);

/* ---- loading ---- */

/* How a plugin is loaded. */
typedef enum plug_load {
    PLUG_LOAD_WORKER = 0, /* its descriptor is read in a contained worker (plug_spawn): its
                           * constructors and init run there, never in this process */
    PLUG_LOAD_CONFINED,   /* the same, and that worker can write, create or execute no file (and
                           * where the kernel allows, open no TCP connection): Landlock. HX_EINFRA
                           * when the kernel has no Landlock (plug_confine_abi() == 0) */
    PLUG_LOAD_HERE        /* dlopen into this process: constructors and init run here (--no-isolate,
                           * and inside workers) */
} plug_load;

/* A loaded plugin. */
typedef struct plug_plugin {
    char *name;                       /* from the descriptor (== file name) */
    char *path;                       /* the file it was loaded from */
    void *handle;                     /* dlopen handle (PLUG_LOAD_HERE), else NULL */
    const hx_plugin_descriptor *desc; /* into the shared object, or the worker's copy: `own` */
    hx_plugin_descriptor
        *own; /* the copy (owned; its checks' run is NULL), NULL when loaded here */
} plug_plugin;

/* Find <name>.so on the path and load it as `how` says. name must be [A-Za-z0-9_-]+. Errors:
 * HX_EUSAGE with the searched directories when not found, with the file and a hint when the entry
 * symbol is missing, with both version numbers on an ABI mismatch, on a malformed descriptor and
 * when init refuses; HX_EINFRA when the loading worker crashed, hung or broke the protocol (its
 * constructor or init did), or cannot be confined. */
int plug_open(const char *name, const plug_path *pp, plug_load how, plug_plugin **out, hx_err *e);
/* Load the shared object at path (no search). Same errors as plug_open. */
int plug_open_file(const char *path, plug_load how, plug_plugin **out, hx_err *e);
/* Loaded here: call fini and dlclose; then free. NULL is fine. */
void plug_close(plug_plugin *p);
/* The Landlock ABI version of this kernel, 0 when it has none (PLUG_LOAD_CONFINED is refused). */
int plug_confine_abi(void);

/* The check called name, or NULL with HX_EUSAGE in e (listing the checks, with did-you-mean). */
const hx_plugin_check *plug_find_check(const plug_plugin *p, const char *name, hx_err *e);
/* Number of checks and check i (the descriptor's stride is honoured). */
size_t plug_check_count(const plug_plugin *p);
const hx_plugin_check *plug_check_at(const plug_plugin *p, size_t i);
/* Declared parameter i of check c of p (stride honoured). */
const hx_plugin_param_spec *plug_param_at(const plug_plugin *p, const hx_plugin_check *c, size_t i);

/* Check params (JSON values) against the check's spec: unknown parameter (with did-you-mean),
 * missing required, wrong type, unparsable JSON. Returns 0 or HX_EUSAGE naming the plugin, the
 * check and the parameter. */
int plug_validate_params(const plug_plugin *p, const hx_plugin_check *c, const plan_param *params,
                         size_t nparams, hx_err *e);

/* ---- results ---- */

typedef enum plug_status { PLUG_PASS = 0, PLUG_FAIL = 1, PLUG_ERROR = 2 } plug_status;

typedef struct plug_metric {
    char *name;   /* metric name as the plugin gave it */
    double value; /* its value */
    char *unit;   /* "", "s", "bytes" ... */
} plug_metric;

/* The raw values of one named histogram, for the run loop to record into its histograms. */
typedef struct plug_series {
    char *name;     /* histogram name */
    double *values; /* recorded values, in order */
    size_t n;       /* number of values */
    size_t cap;     /* allocated values */
} plug_series;

/* What one plugin check produced. Every string is untrusted plugin output: escape it wherever it
 * lands. */
typedef struct plug_result {
    plug_status status;   /* verdict; ERROR also for crashes, hangs and protocol errors */
    char *expected;       /* may be NULL */
    char *actual;         /* may be NULL */
    char *message;        /* never NULL after a run */
    char **samples;       /* the first PLUG_MAX_SAMPLES samples */
    size_t nsamples;      /* entries in samples */
    size_t samples_total; /* samples reported, including those not kept */
    char **logs;          /* "level: text" log lines, the first PLUG_MAX_LOGS */
    size_t nlogs;         /* entries in logs */
    plug_metric *metrics; /* metrics, in report order */
    size_t nmetrics;
    plug_series *hists; /* histograms, one per name */
    size_t nhists;
    int64_t wall_ns; /* how long the check took, worker start to result */
} plug_result;

#define PLUG_MAX_SAMPLES 20
#define PLUG_MAX_LOGS 200

void plug_result_init(plug_result *r);
void plug_result_release(plug_result *r);
const char *plug_status_name(plug_status s);

/* ---- running ---- */

/* Binds the ledger: fill *out and return 0, or return a negative hx code with e filled. */
typedef int (*plug_ledger_fn)(void *ud, const char *dataset, const char *agg, const char *column,
                              double *out, hx_err *e);
/* Receives each log line as it happens (text is raw plugin output). */
typedef void (*plug_log_fn)(void *ud, const char *plugin, const char *check, int level,
                            const char *text);

typedef struct plug_run_opts {
    bool no_isolate;       /* run in the harness process (for gdb); a crash takes the run down */
    int64_t timeout_ms;    /* isolated runs only; 0 = PLUG_DEFAULT_TIMEOUT_MS */
    struct pg_conn *conn;  /* the scenario's database, or NULL (sql_query is then NULL). An
                            * isolated worker opens its own connection with the same parameters */
    plug_ledger_fn ledger; /* NULL: ledger_scalar is NULL */
    void *ledger_ud;
    plug_log_fn on_log; /* NULL: lines are only kept in the result */
    void *log_ud;
} plug_run_opts;

#define PLUG_DEFAULT_TIMEOUT_MS 30000
/* How long a worker may take to load a plugin and send its descriptor. */
#define PLUG_LOAD_TIMEOUT_MS 20000

/* Run check c of p with params (validated first: invalid params give an ERROR result). Fills out
 * (init'ed by the caller) whatever the check does; returns 0, or a negative hx code only when
 * the harness itself failed (HX_ENOMEM, HX_EINFRA when it cannot fork). o may be NULL. */
int plug_run(const plug_plugin *p, const hx_plugin_check *c, const plan_param *params,
             size_t nparams, const plug_run_opts *o, plug_result *out, hx_err *e);

/* ---- internal to plug.c, plug_host.c and plug_worker.c ---- */

/* Run check c in this process through a fresh context: the host services act on conn (may be
 * NULL), results land in out. fd >= 0 streams log lines to a worker pipe instead of keeping them
 * (the parent keeps them). Returns 0 or HX_ENOMEM. */
int plug_host_run(const plug_plugin *p, const hx_plugin_check *c, const plan_param *params,
                  size_t nparams, const plug_run_opts *o, struct pg_conn *conn, int fd,
                  plug_result *out, hx_err *e);
/* The host table handed to a plugin's init: only log is set. */
const hx_plugin_host *plug_host_init_table(void);
/* Copy s into a new string of at most max bytes, valid UTF-8 (bad bytes become '?'), cut on a
 * character boundary. NULL in, NULL out; NULL also on allocation failure. */
char *plug_clean_string(const char *s, size_t max);
/* Append a log line to r (kept if under PLUG_MAX_LOGS). */
void plug_result_add_log(plug_result *r, int level, const char *text);
const char *plug_level_name(int level);
/* Run in a contained worker. */
int plug_run_isolated(const plug_plugin *p, const hx_plugin_check *c, const plan_param *params,
                      size_t nparams, const plug_run_opts *o, plug_result *out, hx_err *e);
/* Set r's verdict (copies the strings, cleaned). */
void plug_result_set(plug_result *r, plug_status st, const char *expected, const char *actual,
                     const char *message);
/* Read p's descriptor in a contained worker (confined when asked) and fill p->own, p->desc
 * and p->name from it (plug_open_file's PLUG_LOAD_WORKER and _CONFINED). */
int plug_read_descriptor(plug_plugin *p, bool confine, hx_err *e);
/* The descriptor as JSON (names, texts, checks, parameter specs), for the worker to send; NULL
 * on allocation failure. Free with free(). */
char *plug_descriptor_to_json(const hx_plugin_descriptor *d);
/* Build p->own from that JSON and check it as a loaded descriptor is checked. */
int plug_descriptor_from_json(plug_plugin *p, const char *text, size_t n, hx_err *e);

/* ---- plug_contain.c: the worker box ---- */

/* The body of a worker: runs in the plugin's process, writes frames to fd, never returns. */
typedef void (*plug_worker_fn)(void *arg, int fd);
/* Exit statuses of a worker that mean the box, not the plugin. */
#define PLUG_WORKER_STOPPED 121    /* told to stop (SIGTERM) before the plugin's process ended */
#define PLUG_WORKER_UNCONFINED 122 /* Landlock refused to confine the plugin's process */
/* Fork a worker (see plug_contain.c): a supervisor in its own process group that forks the
 * plugin's process running fn(arg, fd), confined first when asked, and kills everything left
 * below it when that ends. *pid is the supervisor, *rfd the read end of fn's pipe (the caller
 * closes it). Returns 0 or HX_EINFRA. */
int plug_spawn(plug_worker_fn fn, void *arg, bool confine, pid_t *pid, int *rfd, hx_err *e);
/* Reap worker pid and return its wait status: wait up to grace_ms for it to end by itself
 * unless stop, then stop it (SIGTERM: it kills its tree), then SIGKILL its group. */
int plug_reap(pid_t pid, int64_t grace_ms, bool stop);

#endif
