/* engine.h - the run engine: `harness run` without its command line. run_engine() loads the
 * pack, starts the services, and for each selected scenario replays its data, runs the solution,
 * checks the sinks, measures, prices and scores; then writes run.json, junit.xml, summary.md and
 * report.html (docs/architecture.md "run"). The CLI (cli/cmd_run.c) parses options into a
 * run_engine_opts and makes this one call.
 *
 * Ownership: the engine borrows every string and array of the options for the call. */
#ifndef HX_RUN_ENGINE_H
#define HX_RUN_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "replay_target.h"
#include "sandbox.h"

/* What to run and how; zero fields take the defaults named. */
typedef struct run_engine_opts {
    const char *pack;            /* the challenge pack folder (required) */
    const char *solution;        /* the solution folder, with solution.json (required) */
    const char *out;             /* report folder; NULL = runs/<time>-<pack> and runs/latest */
    const char *pg_url;          /* a PostgreSQL server to use; NULL = a throwaway one */
    const char *kafka_url;       /* a Kafka cluster to use; NULL = the in-process mock */
    const char *const *globs;    /* only scenarios whose name matches one of these */
    size_t nglobs;               /* entries in globs */
    const char *const *tags;     /* only scenarios with every one of these tags */
    size_t ntags;                /* entries in tags */
    int phase;                   /* scenarios up to this phase; 0 = 1 */
    int shard_i, shard_n;        /* the shard_i-th (1-based) of shard_n slices; 0 = all */
    int jobs;                    /* scenarios at once (forked workers); 0 or 1 = one at a time */
    bool has_seed;               /* XOR seed into every scenario's seed */
    uint64_t seed;               /* that seed */
    bool seed_secret;            /* it came from --seed-file or $HARNESS_SEED: run.json does not
                                    record the scenarios' seeds */
    sandbox_mode sandbox;        /* --sandbox; 0 = bwrap */
    const char *const *pass_env; /* --pass-env: names of our variables the solution also gets */
    size_t npass_env;            /* entries in pass_env */
    const char *cost_models;     /* price sheets, comma separated; NULL = the three defaults */
    const char *cost_dir;        /* folder of price sheets searched first, or NULL */
    int64_t timeout_us;          /* per solution invocation; 0 = the scenario's/solution's */
    const char *plugin_path;     /* extra folder of validator plugins, or NULL */
    int64_t plugin_timeout_us;   /* one isolated plugin check; 0 = the plugin host's default */
    bool no_isolate;             /* plugin checks in-process */
    bool unsafe_lua;             /* the full Lua standard library for scenarios */
    bool keep;                   /* keep the scenario databases and landing files */
    double probe;                /* the cost probe's factor (0 = none) when probe_set */
    bool probe_set;              /* probe overrides the pack's scale.probe */
    int argc;                    /* the command line, recorded in run.json */
    char *const *argv;           /* its words */
    const replay_target *const *targets; /* replay target table, NULL-ended;
                                            NULL = replay_targets_builtin */
} run_engine_opts;

/* Run the pack. Returns the exit code: 0 pass, 1 a check failed, 4 only thresholds failed, 2
 * usage or scenario error, 3 infrastructure error, 130 interrupted. Problems are reported on
 * stderr; progress too unless hx_g.quiet. */
int run_engine(const run_engine_opts *o);

/* A meter of the database CPU one scenario's role causes: the CPU of the embedded PostgreSQL's
 * backends that serve `role` (a scenario's role is also its database's name: pgsvc_db_name),
 * their parallel workers, and nothing else (not autovacuum, the checkpointer and the writers, nor
 * other roles' or the skipped backends). A thread samples the postmaster's children every
 * interval_ms (0: 10 ms); a backend that ends between two samples is still counted up to its exit
 * (dbcpu.c says how). postmaster is the embedded server's pid; skip lists nskip backend pids not
 * to count (the harness's own sessions: PQbackendPID). Returns NULL when postmaster <= 0 (a --pg
 * server: its CPU is not on this machine) or out of memory. */
typedef struct run_dbcpu run_dbcpu;
run_dbcpu *run_dbcpu_start(pid_t postmaster, const char *role, const pid_t *skip, size_t nskip,
                           int interval_ms);

/* Stop the meter, free it and return the role's CPU seconds since it started (user + system);
 * NAN for a NULL meter or a postmaster that could not be read. */
double run_dbcpu_stop(run_dbcpu *m);

#endif
