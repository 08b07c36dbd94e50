/* engine_priv.h - the run engine's inside, shared by its files and nothing else: the run's
 * context (run_ctx), one scenario's context (run_scen) and the functions each file offers the
 * others. One job a file:
 *   engine.c     run_engine(): load, select, services, the scenario loop, reports
 *   scenario.c   one scenario: its context, folders, database, targets; results and cleanup
 *   steps.c      plan interpretation: the steps walk, replay steps, batch runs of the solution
 *   service.c    service mode: start, drain, stop; end-to-end latency, live (live.c) or after
 *                the fact
 *   solenv.c     the solution's environment
 *   measure.c    measurement: invocations, phases, metrics and histograms
 *   dbcpu.c      the database CPU of a scenario's role (its backends only)
 *   run_checks.c check glue: the checks, the topic reader, plugin checks and their services
 *   price.c      pricing, thresholds and the score
 *   probe.c      the cost probe: a scenario again at k times its records
 *   signals.c    SIGINT/SIGTERM and the watcher thread that stops the running solution
 *   jobs.c       --jobs: scenarios in forked workers, their console lines and results
 *
 * Ownership: a run_ctx owns what it loads (models, plugins, solution, results) and frees it in
 * run_engine(); a run_scen lives on scenario.c's stack for one scenario. */
#ifndef HX_RUN_ENGINE_PRIV_H
#define HX_RUN_ENGINE_PRIV_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "cost.h"
#include "engine.h"
#include "hist.h"
#include "kafkasvc.h"
#include "pgsvc.h"
#include "plug.h"
#include "replay_target.h"
#include "results.h"
#include "runjson.h"
#include "runner.h"
#include "say.h"
#include "scen.h"
#include "solution.h"

/* The context of one run. */
typedef struct run_ctx {
    const run_engine_opts *o;
    const replay_target *const *targets; /* the replay target table */
    scen *engine;
    const plan_pack *pack;
    solution_spec sol;
    char *sol_dir; /* absolute */
    pgsvc *pg;
    sandbox *sb;     /* the solution's box (sandbox.h); level "none" with --sandbox none */
    kafkasvc *kafka; /* started when a selected scenario uses Kafka, else NULL */
    results_run *run;
    cost_model **models;
    size_t nmodels;
    char *out_dir;
    runjson_journal *journal;
    bool build_failed;
    char *build_error;
    plug_path plugin_path; /* where plugins are searched */
    plug_plugin **plugins; /* loaded so far, by name */
    size_t nplugins;
    bool html_written; /* report.html was written */
    hx_err err;        /* why the run stopped before its scenarios, for the reports */
} run_ctx;

/* The most scenarios --jobs runs at once. */
#define RUN_MAX_JOBS 64

/* Phases a scenario's cost is attributed to: replay, up to 62 invocations, checks. */
#define RUN_MAX_PHASES 64

/* What the solution's invocations of one scenario used, and the phases of its cost. */
typedef struct run_acc {
    double wall_sum, wall_max, cpu_user, cpu_sys;
    double db_cpu;        /* the database server's CPU during the solution's invocations, s */
    double db_cpu_served; /* its CPU serving the product's workload (a query workload step, the
                           * consumers of a stream), s: billed as the database's work, never
                           * part of the solution's busy time (price.c) */
    uint64_t rss_peak, rss_mean_sum, read_bytes, write_bytes;
    unsigned n, failures;
    bool timed_out;         /* an invocation hit its timeout: later batches are not run */
    hist wall_hist;         /* invocation wall times, ns */
    hist lat_hist;          /* end-to-end latency of the output messages matched to an input, ns */
    uint64_t lat_unmatched; /* output messages with no input to match (no id, key or timestamp) */
    hist lat_unc_hist;      /* the same outputs from the inputs' actual send times, ns (live.h) */
    bool lat_live;          /* matched live while the stream ran (live.h), not after the run */
    double steps_s; /* service mode: seconds of the plan's steps (the service runs alongside) */
    double t0;      /* scenario start, s (monotonic) */
    /* Per-phase usage for cost attribution: replay, each invocation ("batch N"), checks. The
     * harness's own phases are priced at the same rates but are not the solution's bill. */
    cost_phase_usage phases[RUN_MAX_PHASES];
    char phase_names[RUN_MAX_PHASES][24];
    size_t nphases;
} run_acc;

/* One scenario being run: everything that lives as long as it does. */
typedef struct run_scen {
    run_ctx *c;
    const plan_scenario *s;
    results_scenario *rs;
    gen *g;
    PGconn *conn;
    char dbname[64];
    char *dir, *landing, *outdir, *logdir; /* <out>/<scenario>/{,landing,output,logs} */
    replay_site site;                      /* what the replay targets see */
    run_acc acc;
    uint64_t input_records; /* emissions replayed */
    uint64_t stream_sent;   /* of them, into stream targets (a service's drain waits for them) */
    uint64_t stream_bytes;  /* bytes of them (key and value), for the pricer's streaming lines */
    uint64_t correct;       /* correct output records, from the checks */
    uint64_t sink_bytes;    /* bytes of the tables in the public schema */
    uint64_t solution_db_bytes; /* bytes of the solution's own relations */
    double replay_s;            /* seconds of the replay (the solution's runs taken off) */
    runner_proc *svc;           /* the service, between its run step and the end of the plan */
    int ninv;                   /* batch invocations so far: the index of the next one */
    bool probe;                 /* the cost probe's run: no answers checked (probe.c) */
    struct run_workload *wl;    /* the query workload's state, NULL before its step (workload.c) */
    struct live *live;          /* the live latency consumer of a service scenario (live.h) */
    replay_kafka_watch kwatch;  /* what the Kafka replay tells it, site.kwatch points here */
    char kgroup[300];           /* the solution's consumer group, kwatch.group */
    uint64_t live_sent;         /* records the replay told it of */
    double workload_s;          /* seconds of the workload steps (not the replay's) */
} run_scen;

/* engine.c */
void run_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *run_path_join(const char *a, const char *b);

/* scenario.c: run one scenario into rs. Scenario and infrastructure errors land in rs (status
 * error); only an interrupt is returned (HX_EINTR). */
int run_scenario(run_ctx *c, const plan_scenario *s, results_scenario *rs);

/* steps.c: replay steps and solution runs; a service started by the plan is drained, stopped and
 * its latency measured after the last step. Returns 0, or an hx code. */
int run_steps(run_scen *sc, hx_err *e);

/* service.c */
int run_service_start(run_scen *sc, hx_err *e);
void run_service_drain(run_scen *sc);
void run_service_stop(run_scen *sc, bool not_ready);

/* End the PostgreSQL sessions of the scenario's role that the solution's command left behind
 * once that command has ended (pgsvc_end_sessions): the work a session does after its command
 * ended is outside the command's time, and it must not write while the checks read. Warns when
 * it ended some or could not. */
void run_end_sessions(run_scen *sc);
/* Fault solution_restart (step st): SIGKILL the service's process group, then start it again. */
int run_service_restart(run_scen *sc, const plan_step *st, hx_err *e);
void run_measure_latency(run_scen *sc);
/* A service scenario on Kafka: start the live latency consumer on the output topics before the
 * steps (a failure is a warning: latency is then matched after the run); after the service has
 * stopped, finish it into sc->acc and the scenario's timeline. */
void run_live_start(run_scen *sc);
void run_live_finish(run_scen *sc);

/* workload.c: a { run = "workload" } step (st): the scenario's queries against the contestant's
 * database, their metrics and histograms, each answer checked against the truth. Returns 0 or an
 * hx code (HX_EINTR when interrupted). */
int run_workload(run_scen *sc, const plan_step *st, hx_err *e);
/* After the thresholds: EXPLAIN (ANALYZE, BUFFERS) of each query whose threshold failed, kept on
 * that threshold; then the truth database dropped and the state freed. Safe without a workload. */
void run_workload_end(run_scen *sc);

/* The folder of the scenario's database on the embedded server's disk (limits.database is
 * measured there), or NULL (a --pg server, no database). Free with hx_free. */
char *run_db_dir(const run_scen *sc);

/* solenv.c: the environment of one invocation (batch -1: a run step or the service); free with
 * runner_env_free. */
int run_sol_env(run_scen *sc, int batch, char ***out, hx_err *e);
/* The build command's: the public part of ours, --pass-env's and solution.json's env. */
int run_build_env(run_ctx *c, char ***out, hx_err *e);

/* measure.c */
/* A meter of the scenario's database CPU (engine.h run_dbcpu_start): its role's backends, less
 * the harness's own session when skip_harness (a solution step; a served workload's sessions are
 * counted); NULL without the embedded server. run_db_meter_stop returns its CPU seconds (0 when
 * not measured) and frees it. */
run_dbcpu *run_db_meter(const run_scen *sc, bool skip_harness);
double run_db_meter_stop(run_dbcpu *m);
double run_self_cpu_seconds(void);
uint64_t run_self_peak_rss(void);
void run_phase_add(run_acc *acc, const char *name, double cpu, double wall, uint64_t rss,
                   bool outside_bill);
void run_acc_init(run_acc *acc, int64_t t0_ns);
void run_acc_release(run_acc *acc);
/* Account one ended invocation (its index >= 0) or the service (batch -1). stopped: the harness
 * stopped a service that was still running, as the contract says it will. */
void run_record_invocation(run_scen *sc, runner_result *r, int batch, bool stopped, double inv_db);
/* The scenario's metrics and histograms into sc->rs (sets sc->sink_bytes). */
void run_add_metrics(run_scen *sc);
/* A threshold or budget whose metric the scenario has no value for: true when the metric applies
 * to it and could not be measured (the threshold fails: an unmet requirement), false when it does
 * not apply (a budget on service latency in a batch scenario: skip). why says which, and what
 * was missing ("no output could be matched to an input (0 of 100 matched by key or harness-id
 * header)"). */
bool run_metric_absent(const run_scen *sc, const char *metric, char *why, size_t n);

/* run_checks.c: the scenario's checks. after_cost false runs every check but the
 * CHK_K_AFTER_COST kinds, true only those, with the scenario's measured cost.monthly.usd (once it
 * is priced). */
void run_checks(run_scen *sc, bool after_cost);
/* A { wait = { ["until"] = <check>, timeout } } step: run that check every RUN_WAIT_POLL_US
 * until it passes, the step's timeout is up or the run is interrupted; its outcome is not
 * recorded (the check runs again with the others, for its verdict). Returns whether it passed. */
bool run_wait_until(run_scen *sc, const plan_step *st);
#define RUN_WAIT_POLL_US 200000
int run_plugins_open(run_ctx *c, hx_err *e);
void run_plugins_close(run_ctx *c);

/* One more run of the probe at a size already measured: its usage, s. */
typedef struct run_probe_sample {
    double cpu, wall, db_cpu, db_cpu_served;
    uint64_t records;
} run_probe_sample;

/* What the cost probe measured: the scenario again at k times its records, then once more at
 * the test size (the repeat) and once more at k times (again): each size measured twice,
 * interleaved, so the fit can take each size's run that the machine's load slowed least. */
typedef struct run_probe_usage {
    bool ran;
    run_acc acc;
    uint64_t input_records, solution_db_bytes;
    uint64_t output_bytes; /* the solution's output files (a pack whose sink is files) */
    bool repeat_ran;       /* the repeat at the test size ran cleanly */
    run_probe_sample repeat;
    bool again_ran; /* the second run at k times ran cleanly */
    run_probe_sample again;
} run_probe_usage;

/* probe.c: run sc's scenario again at k times its records, then at its own size, then at k
 * times again, without checks, each in a database and folders of its own, into *pu (pu->ran
 * false when the first large one did not run; pu->repeat_ran, pu->again_ran when the other two
 * did); release pu->acc after. */
void run_probe(run_scen *sc, double k, run_probe_usage *pu);

/* price.c: price the scenario under every model (its cost entries and metrics), with the probe's
 * usage beside it when pu->ran */
void run_price(run_scen *sc, const run_probe_usage *pu);
/* Bytes of the regular files under dir (links not followed; 0 when it cannot be walked). */
uint64_t run_dir_bytes(const char *dir);
/* The solution's output files that a production run keeps: its output folder's bytes when the
 * pack's sink is files, else 0 (the folder is then the solution's scratch space). */
uint64_t run_output_bytes(const run_scen *sc);
/* then its thresholds, budgets, reference figures and score. */
void run_score(run_scen *sc);

/* signals.c */
void run_signals_install(void);
void run_signals_remove(void);
bool run_interrupted(void);
/* The process a first signal stops (NULL: none); a process set after the signal is stopped at
 * once. */
void run_set_current(runner_proc *p);
/* Register conn: an interrupt cancels its running query (PQcancel), now and every 200 ms until it
 * is removed. Returns a slot for run_cancel_remove, or -1 (not registered: out of memory or
 * slots). */
int run_cancel_add(PGconn *conn);
void run_cancel_remove(int slot);
/* --jobs: pass every signal on to worker pid (forked by jobs.c) from now on, and those that came
 * before it was added; stop when it has ended. */
void run_signals_add_worker(pid_t pid);
void run_signals_remove_worker(pid_t pid);
/* Pass on signals that came since the last call (the handler does too; none is sent twice). */
void run_signals_forward(void);
/* In a worker just forked: forget the parent's watcher and count, and install its own. */
void run_signals_worker_init(void);

/* jobs.c: --jobs N > 1: run the scenarios sel[0..nsel) N at once in forked workers (those that
 * use Kafka one at a time in this process), their results added to c->run and the journal in
 * pack order. Sets *exit_code on an infrastructure failure. */
void run_jobs(run_ctx *c, const size_t *sel, size_t nsel, int *exit_code);

/* Reclaim the cgroup leaves ("harness-<pid>-<n>") under parent (NULL: runner_cgroup_parent) whose
 * harness is gone (a killed run's): kill what runs in them (cgroup.kill, and SIGKILL to each of
 * their cgroup.procs), remove them, and name each in warn(ud, message). Leaves of a live pid are
 * left alone. Returns the number removed. */
size_t run_reclaim_cgroups(const char *parent, void (*warn)(void *ud, const char *msg), void *ud);

#endif
