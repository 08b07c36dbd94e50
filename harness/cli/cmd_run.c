/* cmd_run.c - `harness run`: the main job. Loads the pack, starts the services, and for each
 * selected scenario replays its data, runs the solution, checks the sinks, measures, prices and
 * scores; then writes run.json, junit.xml, summary.md and report.html. The scenario loop lives in
 * run_scenario(); everything it learns goes into the results model (results.h), which is the only
 * thing the report writers see.
 *
 * Interrupts: the first SIGINT/SIGTERM sets a flag and wakes a watcher thread that stops the
 * running solution (runner_kill); the loop then stops, writes the reports of what finished, stops
 * PostgreSQL and exits 130. A second signal cleans up the servers at once and exits 130. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "cmd.h"
#include "cost.h"
#include "e2e.h"
#include "hist.h"
#include "hx_config.h"
#include "kafkasvc.h"
#include "pgsvc.h"
#include "rep.h"
#include "replay.h"
#include "results.h"
#include "runjson.h"
#include "runner.h"
#include "scen.h"
#include "score.h"
#include "solution.h"
#include "units.h"

#include "plug.h"

const char run_usage[] =
    "usage: harness run PACK --solution DIR [options]\n"
    "\n"
    "Run a challenge pack's scenarios against a solution and write run.json, junit.xml,\n"
    "summary.md and report.html.\n"
    "\n"
    "  -s, --solution DIR      the solution folder (with solution.json)              (required)\n"
    "  -o, --out DIR           where the reports go (default runs/<time>-<pack>, runs/latest)\n"
    "      --pg URL            use this PostgreSQL server instead of a throwaway one\n"
    "      --kafka HOST:PORT   use this Kafka cluster instead of the in-process mock\n"
    "                          (topics hx_<scenario>_<topic>; never deleted)\n"
    "      --scenario GLOB     only scenarios whose name matches (repeatable)\n"
    "      --tag TAG           only scenarios with this tag (repeatable)\n"
    "      --phase N           include scenarios up to phase N (default 1; 2 adds the twists)\n"
    "      --shard I/N         run the I-th of N deterministic slices of the scenarios\n"
    "      --seed N            override every scenario's seed (XORed in)\n"
    "      --cost-model LIST   price sheets, comma separated\n"
    "                          (default aws-us-east-1,gcp-us-central1,azure-eastus)\n"
    "      --cost-models DIR   folder of price sheets to search first\n"
    "      --timeout DUR       per solution invocation (default: solution.json, then 120s)\n"
    "      --plugin-path DIR   extra folder of validator plugins\n"
    "      --no-isolate        run plugin checks in-process (for gdb)\n"
    "      --plugin-timeout DUR  limit of one isolated plugin check (default 30s)\n"
    "      --unsafe-lua        give scenarios the full Lua standard library\n"
    "      --keep              keep the scenario databases and landing files\n"
    "      --probe K           cost probe: rerun each batch scenario at K times its records\n"
    "                          to fit fixed + per-record cost (default: the pack's scale.probe;\n"
    "                          0 = none)\n"
    "  -q, --quiet             no progress on stderr\n"
    "\n"
    "exit: 0 pass, 1 a check failed, 4 only thresholds failed, 2 usage or scenario error,\n"
    "      3 infrastructure error, 130 interrupted\n";

struct run_opts {
    const char *pack;
    const char *solution;
    const char *out;
    const char *pg_url;
    const char *kafka_url;
    const char **globs;
    size_t nglobs;
    const char **tags;
    size_t ntags;
    int phase;
    int shard_i, shard_n;
    bool has_seed;
    uint64_t seed;
    const char *cost_models;
    const char *cost_dir;
    int64_t timeout_us;
    const char *plugin_path;
    int64_t plugin_timeout_us;
    bool no_isolate;
    bool unsafe_lua;
    bool keep;
    double probe;   /* --probe K: the cost probe's factor (0 = none) */
    bool probe_set; /* --probe given: it overrides the pack's scale.probe */
};

/* The statement_timeout of the harness's check queries (docs/solutions.md). */
#define CHECK_STATEMENT_TIMEOUT "10min"

/* ---- interrupts ---- */

static volatile sig_atomic_t interrupted;
static int wake_pipe[2] = {-1, -1};
static pthread_mutex_t current_mu = PTHREAD_MUTEX_INITIALIZER;
static runner_proc *current_proc;

static void on_signal(int sig)
{
    (void)sig;
    if (interrupted) {
        pgsvc_emergency_cleanup();
        _exit(HX_EXIT_INTERRUPTED);
    }
    interrupted = 1;
    if (wake_pipe[1] >= 0) {
        char c = 1;
        ssize_t w = write(wake_pipe[1], &c, 1);
        (void)w;
    }
}

static void *watcher(void *arg)
{
    (void)arg;
    char c;
    while (read(wake_pipe[0], &c, 1) < 0 && errno == EINTR)
        ;
    if (c == 1) {
        pthread_mutex_lock(&current_mu);
        if (current_proc) runner_kill(current_proc);
        pthread_mutex_unlock(&current_mu);
    }
    return NULL;
}

static void set_current(runner_proc *p)
{
    pthread_mutex_lock(&current_mu);
    current_proc = p;
    pthread_mutex_unlock(&current_mu);
    if (p && interrupted) runner_kill(p);
}

/* ---- small helpers ---- */

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
    if (hx_g.quiet) return;
    va_list ap;
    va_start(ap, fmt);
    hx_buf m, safe; /* check messages carry plugin and query text: escaped for the terminal */
    hx_buf_init(&m);
    hx_buf_init(&safe);
    hx_buf_vprintf(&m, fmt, ap);
    hx_buf_put_term(&safe, m.data ? m.data : "", m.len);
    fprintf(stderr, "%s%s%s", hx_g.color ? "\033[2m" : "", safe.data ? safe.data : "",
            hx_g.color ? "\033[0m\n" : "\n");
    hx_buf_release(&m);
    hx_buf_release(&safe);
    va_end(ap);
}

static char *path_join(const char *a, const char *b)
{
    hx_buf p;
    hx_buf_init(&p);
    hx_buf_printf(&p, "%s/%s", a, b);
    return hx_buf_steal(&p);
}

static results_status status_of_chk(chk_status s)
{
    switch (s) {
    case CHK_PASS:
        return RESULTS_PASS;
    case CHK_FAIL:
        return RESULTS_FAIL;
    case CHK_ERROR:
        return RESULTS_ERROR;
    default:
        return RESULTS_SKIP;
    }
}

/* CPU seconds of the embedded PostgreSQL: every live process of its process group plus what the
 * postmaster reaped (cutime/cstime), so backends that came and went are counted. The solution's
 * SQL runs there, not in the solution's own processes, so this is part of what it costs. */
static double pg_cpu_seconds(pid_t pgid)
{
    if (pgid <= 0) return NAN;
    long tick = sysconf(_SC_CLK_TCK);
    double total = 0;
    char path[64], buf[1024];
    DIR *d = opendir("/proc");
    if (!d) return NAN;
    struct dirent *de;
    while ((de = readdir(d))) {
        long pid = strtol(de->d_name, NULL, 10);
        if (pid <= 0) continue;
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        if (!p) continue;
        /* fields after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt
         * cmajflt utime stime cutime cstime */
        char state;
        long ppid, pgrp, sess, tty, tpgid;
        unsigned long flags, minf, cminf, majf, cmajf, ut, st;
        long cut, cst;
        if (sscanf(p + 2, "%c %ld %ld %ld %ld %ld %lu %lu %lu %lu %lu %lu %lu %ld %ld", &state,
                   &ppid, &pgrp, &sess, &tty, &tpgid, &flags, &minf, &cminf, &majf, &cmajf, &ut,
                   &st, &cut, &cst) != 15)
            continue;
        if (pgrp != pgid) continue;
        total += (double)(ut + st) / (double)tick;
        if (pid == pgid) total += (double)(cut + cst) / (double)tick;
    }
    closedir(d);
    return total;
}

/* ---- scenario selection ---- */

static bool selected(const struct run_opts *o, const plan_scenario *s)
{
    if (s->phase > o->phase) return false;
    if (o->nglobs) {
        bool any = false;
        for (size_t i = 0; i < o->nglobs && !any; i++)
            any = fnmatch(o->globs[i], s->name, 0) == 0;
        if (!any) return false;
    }
    for (size_t t = 0; t < o->ntags; t++) {
        bool has = false;
        for (size_t i = 0; i < s->ntags && !has; i++)
            has = strcmp(s->tags[i], o->tags[t]) == 0;
        if (!has) return false;
    }
    return true;
}

/* ---- the context of one run ---- */

struct run_ctx {
    const struct run_opts *o;
    scen *engine;
    const plan_pack *pack;
    solution_spec sol;
    char *sol_dir; /* absolute */
    pgsvc *pg;
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
    PGconn *cur_conn; /* the running scenario's database, for plugin checks */
    gen *cur_gen;     /* and its generator, for the plugins' ledger queries */
    const plan_scenario *cur_s;
};

/* The embedded server's CPU seconds so far, NAN when it is not ours to measure (--pg). */
static double db_cpu_now(const struct run_ctx *c)
{
    return c->pg->embedded ? pg_cpu_seconds(c->pg->pid) : NAN;
}

/* CPU the database spent between two db_cpu_now() readings; 0 when either is unknown. */
static double db_cpu_delta(double before, double after)
{
    return !isnan(before) && !isnan(after) && after > before ? after - before : 0;
}

/* Phases a scenario's cost is attributed to: replay, up to 62 invocations, checks. */
#define MAX_PHASES 64

/* One solution invocation; fills an invocation record and accumulates into the scenario. */
struct inv_acc {
    double wall_sum, wall_max, cpu_user, cpu_sys, db_cpu;
    uint64_t rss_peak, rss_mean_sum, read_bytes, write_bytes;
    unsigned n, failures;
    bool timed_out;         /* an invocation hit its timeout: later batches are not run */
    hist wall_hist;         /* invocation wall times, ns */
    hist lat_hist;          /* end-to-end latency of the output messages matched to an input, ns */
    uint64_t lat_unmatched; /* output messages with no input to match (no id, key or timestamp) */
    double steps_s; /* service mode: seconds of the plan's steps (the service runs alongside) */
    double t0;      /* scenario start, s (monotonic) */
    /* Per-phase usage for cost attribution: replay, each invocation ("batch N"), checks. The
     * harness's own phases are priced at the same rates but are not the solution's bill. */
    cost_phase_usage phases[MAX_PHASES];
    char phase_names[MAX_PHASES][24];
    size_t nphases;
};

/* Append a phase (dropped past MAX_PHASES: attribution is a view, not the bill). */
static void phase_add(struct inv_acc *acc, const char *name, double cpu, double wall, uint64_t rss,
                      bool outside_bill)
{
    if (acc->nphases >= MAX_PHASES) return;
    size_t i = acc->nphases++;
    snprintf(acc->phase_names[i], sizeof acc->phase_names[i], "%s", name);
    acc->phases[i] = (cost_phase_usage){.name = acc->phase_names[i],
                                        .cpu_seconds = cpu > 0 ? cpu : 0,
                                        .wall_seconds = wall > 0 ? wall : 0,
                                        .peak_rss_bytes = rss,
                                        .outside_bill = outside_bill};
}

/* CPU seconds (user + sys) this process has used so far. */
static double self_cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static uint64_t self_peak_rss(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (uint64_t)ru.ru_maxrss * 1024 : 0;
}

/* The Kafka topic of scenario topic t: hx_<scenario>_<t>. The prefix keeps scenarios sharing one
 * cluster apart and marks the harness's topics on a --kafka cluster; solutions get it as
 * KAFKA_TOPIC_PREFIX. */
static void kafka_topic(const plan_scenario *s, const char *t, char *buf, size_t n)
{
    snprintf(buf, n, "hx_%s_%s", s->name, t);
}

static bool check_on_topic(const plan_check *pc)
{
    if (pc->kind == PLAN_CHK_TOPIC) return true;
    for (size_t i = 0; i < pc->nparams; i++)
        if (strcmp(pc->params[i].key, "sink") == 0 && strcmp(pc->params[i].json, "\"topic\"") == 0)
            return true;
    return false;
}

static bool kafka_fault_name(const char *f)
{
    return f && (strcmp(f, "broker_down") == 0 || strcmp(f, "broker_up") == 0 ||
                 strcmp(f, "rtt") == 0 || strcmp(f, "request_errors") == 0);
}

static bool scenario_uses_kafka(const plan_scenario *s)
{
    for (size_t i = 0; i < s->nsteps; i++)
        if ((s->steps[i].kind == PLAN_STEP_INTO && s->steps[i].target == PLAN_TGT_KAFKA) ||
            (s->steps[i].kind == PLAN_STEP_FAULT && kafka_fault_name(s->steps[i].fault)))
            return true;
    for (size_t i = 0; i < s->nchecks; i++)
        if (check_on_topic(&s->checks[i])) return true;
    return false;
}

/* Create one topic for the scenario. On a --kafka cluster a topic left from an earlier run with
 * messages in it is refused: the harness does not delete topics, and stale messages would make
 * the checks wrong. */
static int ensure_topic(struct run_ctx *c, const char *name, int partitions, hx_err *e)
{
    int rc = kafkasvc_create_topic(c->kafka, name, partitions, e);
    if (rc || kafkasvc_is_mock(c->kafka)) return rc;
    int parts = kafkasvc_topic_partitions(c->kafka, name, e);
    if (parts < 0) return parts;
    for (int p = 0; p < parts; p++) {
        int64_t lo, hi;
        if ((rc = kafkasvc_watermarks(c->kafka, name, p, &lo, &hi, e))) return rc;
        if (hi > lo)
            return hx_fail(e, HX_EUSAGE,
                           "kafka at '%s': topic '%s' already holds messages (from an earlier "
                           "run?); harness never deletes topics: delete it yourself "
                           "(kafka-topics.sh --delete --topic %s) or use a fresh cluster",
                           kafkasvc_bootstrap(c->kafka), name, name);
    }
    return 0;
}

/* Create the scenario's topics: those it replays into (sized so the mock keeps every record,
 * unless the step says how many partitions) and those its checks read (as many partitions as
 * the largest input topic). */
static int create_topics(struct run_ctx *c, const plan_scenario *s, gen *g, hx_err *e)
{
    int most = 1, rc;
    char name[300];
    for (size_t i = 0; i < s->nsteps; i++) {
        const plan_step *st = &s->steps[i];
        if (st->kind != PLAN_STEP_INTO || st->target != PLAN_TGT_KAFKA) continue;
        /* 256 bytes a record: a JSONL line with its key and harness-id header */
        int parts = st->partitions > 0
                        ? st->partitions
                        : (int)kafkasvc_partitions_for(gen_emissions(g, st->dataset), 256);
        most = parts > most ? parts : most;
        kafka_topic(s, st->topic, name, sizeof name);
        if ((rc = ensure_topic(c, name, parts, e))) return rc;
    }
    for (size_t i = 0; i < s->nchecks; i++) {
        if (!check_on_topic(&s->checks[i]) || !s->checks[i].table) continue;
        bool replayed = false;
        for (size_t j = 0; j < s->nsteps && !replayed; j++)
            replayed = s->steps[j].kind == PLAN_STEP_INTO && s->steps[j].target == PLAN_TGT_KAFKA &&
                       strcmp(s->steps[j].topic, s->checks[i].table) == 0;
        if (replayed) continue; /* made above */
        kafka_topic(s, s->checks[i].table, name, sizeof name);
        if ((rc = ensure_topic(c, name, most, e))) return rc;
    }
    return 0;
}

/* A source fault of the replay plan on the mock cluster (kafkasvc refuses them on --kafka):
 * broker_down (every broker; with duration, back up after it), broker_up, rtt (duration = the
 * added round-trip time, 0 removes it), request_errors (the next 5 Produce and 5 Fetch requests
 * fail with NOT_LEADER_FOR_PARTITION, retriable, as during a leader election). */
static int kafka_fault(struct run_ctx *c, const plan_step *st, hx_err *e)
{
    if (!c->kafka)
        return hx_fail(e, HX_EINFRA, "fault '%s': no Kafka cluster was started", st->fault);
    int rc;
    if (strcmp(st->fault, "broker_down") == 0) {
        if ((rc = kafkasvc_broker_down(c->kafka, -1, e)) || !st->sleep_us) return rc;
        struct timespec ts = {.tv_sec = st->sleep_us / 1000000,
                              .tv_nsec = (st->sleep_us % 1000000) * 1000};
        nanosleep(&ts, NULL);
        return kafkasvc_broker_up(c->kafka, -1, e);
    }
    if (strcmp(st->fault, "broker_up") == 0) return kafkasvc_broker_up(c->kafka, -1, e);
    if (strcmp(st->fault, "rtt") == 0)
        return kafkasvc_set_rtt(c->kafka, -1, (int)(st->sleep_us / 1000), e);
    int errs[5] = {6, 6, 6, 6, 6};
    if ((rc = kafkasvc_request_errors(c->kafka, KAFKASVC_API_PRODUCE, 5, errs, e))) return rc;
    return kafkasvc_request_errors(c->kafka, KAFKASVC_API_FETCH, 5, errs, e);
}

/* The checks' topic reader: the scenario's topic, read whole from the cluster. */
struct topic_reader {
    struct run_ctx *c;
    const plan_scenario *s;
};

struct topic_fwd {
    chk_msg_fn each;
    void *ud;
};

static bool topic_fwd_msg(void *ud, const kafkasvc_msg *m)
{
    struct topic_fwd *f = ud;
    return f->each(f->ud, m->partition, m->offset, m->value, m->value ? m->value_len : 0);
}

static int read_topic(void *ud, const char *topic, chk_msg_fn each, void *each_ud, hx_err *e)
{
    struct topic_reader *tr = ud;
    char name[300];
    kafka_topic(tr->s, topic, name, sizeof name);
    struct topic_fwd f = {each, each_ud};
    kafkasvc_consumed got;
    int rc = kafkasvc_consume(tr->c->kafka, name, 0, 120000, topic_fwd_msg, &f, &got, e);
    if (!rc && got.trimmed > 0)
        rc = hx_fail(e, HX_EINFRA,
                     "topic '%s': %lld messages were gone from the log before the check read it "
                     "(%s): an infrastructure limit, not the solution's data loss; give the topic "
                     "more partitions",
                     name, (long long)got.trimmed,
                     kafkasvc_is_mock(tr->c->kafka) ? "the mock cluster keeps 5 MiB a partition"
                                                    : "the cluster's retention");
    return rc;
}

/* The solution's environment (docs/solutions.md "What the solution gets"); *out is freed with
 * runner_env_free. */
static int sol_env(struct run_ctx *c, const plan_scenario *s, const char *dbname,
                   const char *landing, const char *outdir, int batch, char ***out, hx_err *e)
{
    /* The solution runs in its own folder: its paths must be absolute, whatever --out was. */
    char in_abs[PATH_MAX], out_abs[PATH_MAX];
    if (!realpath(landing, in_abs))
        return hx_fail(e, HX_EIO, "cannot resolve '%s': %s", landing, strerror(errno));
    if (!realpath(outdir, out_abs))
        return hx_fail(e, HX_EIO, "cannot resolve '%s': %s", outdir, strerror(errno));
    char **pgenv = NULL;
    int rc = pgsvc_env(c->pg, dbname, &pgenv, e);
    if (rc) return rc;
    char batch_s[16], seed_s[32], prefix[300];
    snprintf(batch_s, sizeof batch_s, "%d", batch < 0 ? 0 : batch);
    kafka_topic(s, "", prefix, sizeof prefix);
    snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)s->seed);
    const char *overlay[128];
    size_t n = 0;
    for (size_t i = 0; pgenv[i] && n < 80; i++) {
        char *eq = strchr(pgenv[i], '=');
        if (!eq) continue;
        *eq = '\0';
        overlay[n++] = pgenv[i];
        overlay[n++] = eq + 1;
    }
    const char *fixed[] = {"HARNESS_INPUT_DIR",
                           in_abs,
                           "HARNESS_OUTPUT_DIR",
                           out_abs,
                           "HARNESS_SCENARIO",
                           s->name,
                           "HARNESS_BATCH",
                           batch_s,
                           "HARNESS_SEED",
                           seed_s,
                           "KAFKA_BOOTSTRAP_SERVERS",
                           c->kafka ? kafkasvc_bootstrap(c->kafka) : "",
                           "KAFKA_TOPIC_PREFIX",
                           c->kafka ? prefix : ""};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        overlay[n++] = fixed[i];
    for (size_t i = 0; i < c->sol.n_env && n < 124; i++) {
        overlay[n++] = c->sol.env[i].key;
        overlay[n++] = c->sol.env[i].val;
    }
    overlay[n] = NULL;
    rc = runner_env_build(NULL, overlay, out, e);
    pgsvc_env_free(pgenv);
    return rc;
}

static void record_invocation(struct run_ctx *c, results_scenario *rs, struct inv_acc *acc,
                              runner_result *r, int batch, bool stopped, double inv_db);

static int run_solution(struct run_ctx *c, const plan_scenario *s, results_scenario *rs,
                        const char *dbname, const char *landing, const char *outdir,
                        const char *logdir, int batch, struct inv_acc *acc, hx_err *e)
{
    const char *cmd = c->sol.batch;
    if (!cmd)
        return hx_fail(e, HX_EUSAGE,
                       "solution '%s' has no \"batch\" command, and scenario '%s' runs the "
                       "solution in batches (solution = { mode = \"service\" } runs a service)",
                       c->sol.name, s->name);
    char **env = NULL;
    int rc = sol_env(c, s, dbname, landing, outdir, batch, &env, e);
    if (rc) return rc;

    char log_name[32];
    snprintf(log_name, sizeof log_name, "batch-%04d", batch < 0 ? 0 : batch);
    runner_opts ro = {
        .shell = cmd, .cwd = c->sol_dir, .env = env, .log_dir = logdir, .log_name = log_name};
    /* --timeout wins; else the stricter of the scenario's limit and the solution's own. */
    int64_t timeout = s->solution_timeout_us ? s->solution_timeout_us : 120 * (int64_t)1000000;
    if (c->sol.timeout_us && c->sol.timeout_us < timeout) timeout = c->sol.timeout_us;
    if (c->o->timeout_us) timeout = c->o->timeout_us;
    double db0 = db_cpu_now(c);
    runner_proc *p = NULL;
    rc = runner_spawn(&ro, &p, e);
    runner_env_free(env);
    if (rc) return rc;
    set_current(p);
    runner_result r;
    memset(&r, 0, sizeof r);
    rc = runner_wait(p, timeout, &r, e);
    set_current(NULL);
    runner_proc_free(p);
    if (rc) {
        runner_result_release(&r);
        return rc;
    }
    record_invocation(c, rs, acc, &r, batch, false, db_cpu_delta(db0, db_cpu_now(c)));
    runner_result_release(&r);
    return 0;
}

/* Account one ended invocation (batch >= 0) or the service (batch -1) into rs and acc. stopped:
 * the harness stopped a service that was still running, as the contract says it will. */
static void record_invocation(struct run_ctx *c, results_scenario *rs, struct inv_acc *acc,
                              runner_result *r, int batch, bool stopped, double inv_db)
{
    (void)c;
    results_invocation *inv = results_invocation_add(rs, batch);
    double wall = (double)r->wall_ns / 1e9;
    double cpu_u = r->res.samples ? r->res.cpu_user_s : r->ru_user_s;
    double cpu_s = r->res.samples ? r->res.cpu_sys_s : r->ru_sys_s;
    uint64_t peak = r->res.rss_peak > (uint64_t)r->ru_maxrss_kb * 1024
                        ? r->res.rss_peak
                        : (uint64_t)r->ru_maxrss_kb * 1024;
    if (inv) {
        /* A service the harness stopped ended as asked: not a failure. */
        inv->exit_code = stopped ? 0 : r->exited ? r->exit_code : -1;
        if (r->signaled && !stopped) results_set_str(&inv->signal, r->sig_name);
        inv->timed_out = r->timed_out;
        inv->wall_s = wall;
        inv->cpu_user_s = cpu_u;
        inv->cpu_sys_s = cpu_s;
        inv->peak_rss_bytes = (int64_t)peak;
        inv->leftovers = r->leftovers;
        results_set_str(&inv->isolation, r->isolation);
        char *tail = NULL;
        size_t tail_len = 0;
        if (runner_log_tail(r->stdout_path, 4096, &tail, &tail_len, NULL) == 0) {
            results_set_str(&inv->stdout_tail, tail);
            hx_free(tail);
        }
        tail = NULL;
        if (runner_log_tail(r->stderr_path, 4096, &tail, &tail_len, NULL) == 0) {
            results_set_str(&inv->stderr_tail, tail);
            hx_free(tail);
        }
    }
    acc->n++;
    acc->wall_sum += wall;
    acc->wall_max = wall > acc->wall_max ? wall : acc->wall_max;
    acc->cpu_user += cpu_u;
    acc->cpu_sys += cpu_s;
    acc->db_cpu += inv_db;
    char phase[24];
    if (batch < 0)
        snprintf(phase, sizeof phase, "service");
    else
        snprintf(phase, sizeof phase, "batch %d", batch);
    phase_add(acc, phase, cpu_u + cpu_s + inv_db, wall, peak, false);
    acc->rss_peak = peak > acc->rss_peak ? peak : acc->rss_peak;
    acc->rss_mean_sum += r->res.rss_mean;
    acc->read_bytes += r->res.read_bytes;
    acc->write_bytes += r->res.write_bytes;
    hist_record(&acc->wall_hist, r->wall_ns > 0 ? r->wall_ns : 1);
    /* The resource series of the scenario: each invocation's points, shifted to scenario time. */
    if (!rs->resources.source && r->res.source)
        results_set_str(&rs->resources.source, r->res.source);
    double shift = (double)hx_now_ns() / 1e9 - acc->t0 - wall;
    for (size_t i = 0; i < r->res.n_series; i++)
        results_res_point_add(&rs->resources, shift + r->res.series[i].t_s,
                              r->res.series[i].cpu_pct, (int64_t)r->res.series[i].rss);
    acc->timed_out |= r->timed_out;
    bool failed = !stopped && (!r->exited || r->exit_code != 0);
    if (failed) {
        acc->failures++;
        progress("  %s: solution %s", phase,
                 r->timed_out  ? "timed out"
                 : r->signaled ? r->sig_name
                               : "exited non-zero");
    }
}

/* ---- service solutions (docs/solutions.md "Services") ---- */

static void service_stop(struct run_ctx *c, results_scenario *rs, struct inv_acc *acc,
                         runner_proc *p, bool not_ready);

/* Whether the scenario's topic t is one the replay writes into (an input, not an output). */
static bool replayed_topic(const plan_scenario *s, const char *t)
{
    for (size_t i = 0; i < s->nsteps; i++)
        if (s->steps[i].kind == PLAN_STEP_INTO && s->steps[i].target == PLAN_TGT_KAFKA &&
            s->steps[i].topic && strcmp(s->steps[i].topic, t) == 0)
            return true;
    return false;
}

/* The i-th check's topic when it is an output topic read by no earlier check, else NULL. */
static const char *output_topic(const plan_scenario *s, size_t i)
{
    const plan_check *pc = &s->checks[i];
    if (!check_on_topic(pc) || !pc->table || replayed_topic(s, pc->table)) return NULL;
    for (size_t j = 0; j < i; j++)
        if (check_on_topic(&s->checks[j]) && s->checks[j].table &&
            strcmp(s->checks[j].table, pc->table) == 0)
            return NULL;
    return pc->table;
}

/* Messages in the scenario's output topics now (sum of the partitions' high watermarks), or -1
 * when there is no output topic or it cannot be read. */
static int64_t output_messages(struct run_ctx *c, const plan_scenario *s)
{
    int64_t total = 0;
    bool any = false;
    for (size_t i = 0; i < s->nchecks; i++) {
        const char *t = output_topic(s, i);
        if (!t) continue;
        char name[300];
        kafka_topic(s, t, name, sizeof name);
        hx_err e = {0};
        int parts = kafkasvc_topic_partitions(c->kafka, name, &e);
        if (parts < 0) return -1;
        for (int p = 0; p < parts; p++) {
            int64_t lo, hi;
            if (kafkasvc_watermarks(c->kafka, name, p, &lo, &hi, &e)) return -1;
            total += hi;
        }
        any = true;
    }
    return any ? total : -1;
}

/* Start the service and wait until it is ready by its rule. A service that exits or does not get
 * ready in time is stopped and recorded as a failed invocation (*out stays NULL); the plan goes
 * on, and the checks see what it did. */
static int service_start(struct run_ctx *c, const plan_scenario *s, results_scenario *rs,
                         const char *dbname, const char *landing, const char *outdir,
                         const char *logdir, struct inv_acc *acc, runner_proc **out, hx_err *e)
{
    if (!c->sol.service)
        return hx_fail(e, HX_EUSAGE,
                       "scenario '%s' runs the solution as a service (solution = { mode = "
                       "\"service\" }), but solution '%s' has no \"service\" command",
                       s->name, c->sol.name);
    char **env = NULL;
    int rc = sol_env(c, s, dbname, landing, outdir, -1, &env, e);
    if (rc) return rc;
    runner_opts ro = {.shell = c->sol.service,
                      .cwd = c->sol_dir,
                      .env = env,
                      .log_dir = logdir,
                      .log_name = "service",
                      .ready = &c->sol.ready};
    runner_proc *p = NULL;
    int64_t t0 = hx_now_ns();
    rc = runner_spawn(&ro, &p, e);
    runner_env_free(env);
    if (rc) return rc;
    set_current(p);
    hx_err re = {0};
    if (runner_wait_ready(p, 0, &re) != 0) {
        progress("  service: %s", re.msg);
        service_stop(c, rs, acc, p, true);
        return 0;
    }
    progress("  service ready in %.2f s", (double)(hx_now_ns() - t0) / 1e9);
    *out = p;
    return 0;
}

/* After the replay: wait while the output topics grow. Ends when they hold as many messages as
 * were replayed into Kafka, when they have held some and gained none for 1 s, when the service
 * exits, or when solution.json's service.drain has passed. No output topic: no wait. */
static void service_drain(struct run_ctx *c, const plan_scenario *s, runner_proc *p, uint64_t sent)
{
    if (!c->kafka) return;
    int64_t t0 = hx_now_ns(), changed = t0, last = -2;
    int64_t deadline = t0 + c->sol.drain_us * 1000;
    while (!interrupted && runner_running(p) && hx_now_ns() < deadline) {
        int64_t n = output_messages(c, s);
        if (n < 0) return;
        int64_t now = hx_now_ns();
        if (n != last) last = n, changed = now;
        if ((sent && n >= (int64_t)sent) || (n > 0 && now - changed >= 1000000000LL)) break;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (last >= 0)
        progress("  service: drained for %.2f s, %lld output messages",
                 (double)(hx_now_ns() - t0) / 1e9, (long long)last);
}

/* Stop the service (SIGTERM to its tree, SIGKILL after the grace) and record it as invocation -1.
 * One that was still running ended as the contract says: not a failure, unless it never got
 * ready. One that had ended by itself is recorded with its exit status or signal. */
static void service_stop(struct run_ctx *c, results_scenario *rs, struct inv_acc *acc,
                         runner_proc *p, bool not_ready)
{
    bool running = runner_running(p);
    if (running) runner_kill(p);
    runner_result r;
    memset(&r, 0, sizeof r);
    hx_err e = {0};
    int rc = runner_wait(p, 0, &r, &e);
    set_current(NULL);
    runner_proc_free(p);
    if (!rc)
        record_invocation(c, rs, acc, &r, -1, running && !not_ready, 0);
    else
        hx_warn("stopping the service: %s", e.msg);
    runner_result_release(&r);
}

struct lat_ctx {
    e2e *in; /* the inputs' send times */
    hist *h; /* latency, ns */
    uint64_t unmatched;
    bool oom;
};

static bool lat_input(void *ud, const kafkasvc_msg *m)
{
    struct lat_ctx *l = ud;
    if (m->sent_ns > 0 && !e2e_add(l->in, m->has_id, m->id, m->key, m->key_len, m->sent_ns))
        l->oom = true;
    return !l->oom;
}

static bool lat_output(void *ud, const kafkasvc_msg *m)
{
    struct lat_ctx *l = ud;
    int64_t sent;
    if (m->ts_ms < 0 || !e2e_find(l->in, m->has_id, m->id, m->key, m->key_len, &sent)) {
        l->unmatched++;
        return true;
    }
    /* Kafka timestamps are whole milliseconds: a reply within the same millisecond can come out
     * below its send time; it counts as the histogram's lowest value. */
    int64_t lat = m->ts_ms * 1000000 - sent;
    hist_record(l->h, lat < 1000 ? 1000 : lat);
    return true;
}

/* End-to-end latency, after the fact: each output message's Kafka timestamp (the create time
 * the solution's producer set, or the broker's append time) minus the intended send time of
 * the input it answers, matched by forwarded harness-id header or else by key (e2e.h). Read
 * errors are warnings: the checks read the same topics and report them. */
static void measure_latency(struct run_ctx *c, const plan_scenario *s, struct inv_acc *acc)
{
    if (!c->kafka) return;
    struct lat_ctx l = {.h = &acc->lat_hist};
    if (e2e_new(&l.in)) return;
    hx_err e = {0};
    for (size_t i = 0; i < s->nsteps; i++) {
        const plan_step *st = &s->steps[i];
        if (st->kind != PLAN_STEP_INTO || st->target != PLAN_TGT_KAFKA || !st->topic) continue;
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen |= s->steps[j].kind == PLAN_STEP_INTO && s->steps[j].target == PLAN_TGT_KAFKA &&
                    s->steps[j].topic && strcmp(s->steps[j].topic, st->topic) == 0;
        char name[300];
        kafka_topic(s, st->topic, name, sizeof name);
        if (!seen && kafkasvc_consume(c->kafka, name, 0, 120000, lat_input, &l, NULL, &e))
            hx_warn("latency: %s", e.msg);
    }
    for (size_t i = 0; i < s->nchecks && e2e_size(l.in) && !l.oom; i++) {
        const char *t = output_topic(s, i);
        if (!t) continue;
        char name[300];
        kafka_topic(s, t, name, sizeof name);
        if (kafkasvc_consume(c->kafka, name, 0, 120000, lat_output, &l, NULL, &e))
            hx_warn("latency: %s", e.msg);
    }
    if (l.oom) hx_warn("latency: out of memory matching messages");
    acc->lat_unmatched += l.unmatched;
    e2e_free(l.in);
}

/* One batch of a per-batch INTO step of a drop group, with the stats a step records. */
static int group_batch(struct run_ctx *c, const plan_scenario *s, results_scenario *rs, gen *g,
                       PGconn *conn, const char *landing, const plan_step *st, uint32_t b,
                       uint64_t *input_records, uint64_t *kafka_sent, hx_err *e)
{
    const plan_dataset *ds = &s->datasets[st->dataset];
    char topic[300];
    if (st->target == PLAN_TGT_KAFKA) {
        if (!c->kafka)
            return hx_fail(e, HX_EINFRA, "%s: no Kafka cluster was started",
                           st->where ? st->where : s->name);
        kafka_topic(s, st->topic, topic, sizeof topic);
    }
    replay_stats rst;
    memset(&rst, 0, sizeof rst);
    int rc = st->target == PLAN_TGT_FILES ? replay_files(g, st->dataset, st, landing, b, &rst, e)
             : st->target == PLAN_TGT_KAFKA
                 ? replay_kafka(g, st->dataset, st, kafkasvc_bootstrap(c->kafka), topic, b, &rst, e)
                 : replay_pg(g, st->dataset, st, conn, b, &rst, e);
    if (rc) return rc;
    *input_records += rst.rows;
    if (st->target == PLAN_TGT_KAFKA) *kafka_sent += rst.rows;
    char name[160];
    snprintf(name, sizeof name, "replay.%s.rows", ds->name);
    results_stat_add(rs, name, (int64_t)rst.rows);
    if (b == 0) {
        results_dataset *rd = results_dataset_add(
            c->run, s->name, ds->name,
            st->target == PLAN_TGT_FILES   ? (st->format == PLAN_FMT_JSONL ? "jsonl" : "csv")
            : st->target == PLAN_TGT_KAFKA ? "kafka"
                                           : "postgres");
        if (rd) {
            rd->rows = (int64_t)ds->rows;
            rd->emissions = (int64_t)gen_emissions(g, st->dataset);
        }
    }
    return 0;
}

/* A drop group: per-batch INTO steps first..end-1 followed by a RUN step. Their batches drop
 * together, the solution running after each drop: when every dataset of the group is cut by day,
 * drops line up by calendar day (drop t is the group's earliest day + t; a dataset without
 * records that day drops nothing), else by batch number. */
static int drop_group(struct run_ctx *c, const plan_scenario *s, results_scenario *rs, gen *g,
                      PGconn *conn, const char *dbname, const char *landing, const char *outdir,
                      const char *logdir, struct inv_acc *acc, uint64_t *input_records,
                      uint64_t *kafka_sent, size_t first, size_t end, hx_err *e)
{
    int64_t off[64], day[64], min_day = INT64_MAX;
    bool by_day = true;
    size_t n = end - first;
    if (n > 64)
        return hx_fail(e, HX_EUSAGE, "%s: more than 64 per-batch steps before one run step",
                       s->name);
    for (size_t j = 0; j < n; j++) {
        by_day = by_day && gen_batch_day0(g, s->steps[first + j].dataset, &day[j]);
        if (by_day && day[j] < min_day) min_day = day[j];
    }
    uint64_t drops = 0;
    for (size_t j = 0; j < n; j++) {
        off[j] = by_day ? day[j] - min_day : 0;
        uint64_t last = (uint64_t)off[j] + gen_batches(g, s->steps[first + j].dataset);
        if (last > drops) drops = last;
    }
    for (uint64_t t = 0; t < drops && !interrupted; t++) {
        for (size_t j = 0; j < n; j++) {
            int64_t b = (int64_t)t - off[j];
            if (b < 0 || b >= (int64_t)gen_batches(g, s->steps[first + j].dataset)) continue;
            int rc = group_batch(c, s, rs, g, conn, landing, &s->steps[first + j], (uint32_t)b,
                                 input_records, kafka_sent, e);
            if (rc) return rc;
        }
        if (!acc->timed_out) {
            int rc = run_solution(c, s, rs, dbname, landing, outdir, logdir, (int)t, acc, e);
            if (rc) return rc;
        }
    }
    return 0;
}

/* Replay steps and solution runs. Returns 0, or an hx code for a scenario/infra error. */
static int steps(struct run_ctx *c, const plan_scenario *s, results_scenario *rs, gen *g,
                 PGconn *conn, const char *dbname, const char *landing, const char *outdir,
                 const char *logdir, struct inv_acc *acc, uint64_t *input_records,
                 runner_proc **svc, uint64_t *kafka_sent, hx_err *e)
{
    for (size_t i = 0; i < s->nsteps && !interrupted; i++) {
        const plan_step *st = &s->steps[i];
        size_t end = i;
        while (end < s->nsteps && s->steps[end].kind == PLAN_STEP_INTO && s->steps[end].per_batch)
            end++;
        if (end - i > 1 && end < s->nsteps && s->steps[end].kind == PLAN_STEP_RUN &&
            s->mode != PLAN_MODE_SERVICE) {
            int rc = drop_group(c, s, rs, g, conn, dbname, landing, outdir, logdir, acc,
                                input_records, kafka_sent, i, end, e);
            if (rc) return rc;
            i = end; /* the RUN step was done after each drop */
            continue;
        }
        if (st->kind == PLAN_STEP_INTO) {
            const plan_dataset *ds = &s->datasets[st->dataset];
            /* A service is started once, by its run step, and sees every batch arrive. */
            bool interleave = st->per_batch && i + 1 < s->nsteps &&
                              s->steps[i + 1].kind == PLAN_STEP_RUN && s->mode != PLAN_MODE_SERVICE;
            char topic[300];
            if (st->target == PLAN_TGT_KAFKA) {
                if (!c->kafka)
                    return hx_fail(e, HX_EINFRA, "%s: no Kafka cluster was started",
                                   st->where ? st->where : s->name);
                kafka_topic(s, st->topic, topic, sizeof topic);
            }
            uint32_t nb = st->per_batch ? gen_batches(g, st->dataset) : 1;
            for (uint32_t b = 0; b < nb && !interrupted; b++) {
                replay_stats rst;
                memset(&rst, 0, sizeof rst);
                int64_t batch = st->per_batch ? (int64_t)b : -1;
                int rc = st->target == PLAN_TGT_FILES
                             ? replay_files(g, st->dataset, st, landing, batch, &rst, e)
                         : st->target == PLAN_TGT_KAFKA
                             ? replay_kafka(g, st->dataset, st, kafkasvc_bootstrap(c->kafka), topic,
                                            batch, &rst, e)
                             : replay_pg(g, st->dataset, st, conn, batch, &rst, e);
                if (rc) return rc;
                *input_records += rst.rows;
                if (st->target == PLAN_TGT_KAFKA) *kafka_sent += rst.rows;
                char name[160];
                snprintf(name, sizeof name, "replay.%s.rows", ds->name);
                results_stat_add(rs, name, (int64_t)rst.rows);
                if (b == 0 || !st->per_batch) {
                    results_dataset *rd =
                        results_dataset_add(c->run, s->name, ds->name,
                                            st->target == PLAN_TGT_FILES
                                                ? (st->format == PLAN_FMT_JSONL ? "jsonl" : "csv")
                                            : st->target == PLAN_TGT_KAFKA ? "kafka"
                                                                           : "postgres");
                    if (rd) {
                        rd->rows = (int64_t)ds->rows;
                        rd->emissions = (int64_t)gen_emissions(g, st->dataset);
                        if (!st->per_batch) results_set_str(&rd->sha256, rst.sha256);
                    }
                }
                if (interleave && !acc->timed_out) {
                    rc = run_solution(c, s, rs, dbname, landing, outdir, logdir, (int)b, acc, e);
                    if (rc) return rc;
                }
            }
            if (interleave) i++; /* the RUN step was done after each drop */
        } else if (st->kind == PLAN_STEP_RUN && s->mode == PLAN_MODE_SERVICE) {
            if (*svc) continue; /* started already: it runs until the plan ends */
            int rc = service_start(c, s, rs, dbname, landing, outdir, logdir, acc, svc, e);
            if (rc) return rc;
        } else if (st->kind == PLAN_STEP_RUN) {
            int rc = run_solution(c, s, rs, dbname, landing, outdir, logdir, -1, acc, e);
            if (rc) return rc;
        } else if (st->kind == PLAN_STEP_SLEEP) {
            struct timespec ts = {.tv_sec = st->sleep_us / 1000000,
                                  .tv_nsec = (st->sleep_us % 1000000) * 1000};
            nanosleep(&ts, NULL);
        } else if (st->kind == PLAN_STEP_WAIT) {
            int64_t us = st->quiet_us ? st->quiet_us : st->timeout_us;
            struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
            nanosleep(&ts, NULL);
        } else if (st->kind == PLAN_STEP_FAULT) {
            if (st->fault && strcmp(st->fault, "pg_drop") == 0 && conn) {
                /* End every session of the scenario's database but ours, as a failover would. */
                PGresult *r = PQexec(conn, "select pg_terminate_backend(pid) from pg_stat_activity "
                                           "where datname = current_database() and pid <> "
                                           "pg_backend_pid()");
                PQclear(r);
            } else if (kafka_fault_name(st->fault)) {
                int rc = kafka_fault(c, st, e);
                if (rc) return rc;
            } else {
                return hx_fail(e, HX_EUSAGE, "%s: fault '%s' is not built in this version",
                               st->where ? st->where : s->name, st->fault ? st->fault : "?");
            }
        }
    }
    return interrupted ? HX_EINTR : 0;
}

/* Replay steps and solution runs; a service started by the plan is drained, stopped and its
 * latency measured after the last step. Returns 0, or an hx code for a scenario/infra error. */
static int run_steps(struct run_ctx *c, const plan_scenario *s, results_scenario *rs, gen *g,
                     PGconn *conn, const char *dbname, const char *landing, const char *outdir,
                     const char *logdir, struct inv_acc *acc, uint64_t *input_records, hx_err *e)
{
    runner_proc *svc = NULL;
    uint64_t kafka_sent = 0;
    int64_t t0 = hx_now_ns();
    int rc = steps(c, s, rs, g, conn, dbname, landing, outdir, logdir, acc, input_records, &svc,
                   &kafka_sent, e);
    acc->steps_s = (double)(hx_now_ns() - t0) / 1e9;
    if (svc) {
        if (!rc) service_drain(c, s, svc, kafka_sent);
        service_stop(c, rs, acc, svc, false);
    }
    if (!rc && s->mode == PLAN_MODE_SERVICE) measure_latency(c, s, acc);
    return rc;
}

static void plugin_check(void *ud, const plan_check *pc, chk_outcome *out);

static void add_metrics(results_scenario *rs, const struct inv_acc *acc, PGconn *conn,
                        const plan_scenario *s, uint64_t input_records, double replay_s,
                        uint64_t *sink_bytes, uint64_t *solution_db_bytes)
{
    results_metric_add(rs, "solution.invocations", acc->n, "");
    results_metric_add(rs, "solution.failures", acc->failures, "");
    if (acc->n) {
        results_metric_add(rs, "solution.wall.max", acc->wall_max, "s");
        results_metric_add(rs, "solution.wall.sum", acc->wall_sum, "s");
        results_metric_add(rs, "solution.wall.mean", acc->wall_sum / acc->n, "s");
        results_metric_add(rs, "solution.cpu.user", acc->cpu_user, "s");
        results_metric_add(rs, "solution.cpu.sys", acc->cpu_sys, "s");
        results_metric_add(rs, "solution.cpu.total", acc->cpu_user + acc->cpu_sys, "s");
        results_metric_add(rs, "solution.rss.peak", (double)acc->rss_peak, "bytes");
        results_metric_add(rs, "solution.rss.mean", (double)(acc->rss_mean_sum / acc->n), "bytes");
        results_metric_add(rs, "solution.io.read", (double)acc->read_bytes, "bytes");
        results_metric_add(rs, "solution.io.write", (double)acc->write_bytes, "bytes");
        results_metric_add(rs, "db.cpu.solution", acc->db_cpu, "s");
    }
    results_metric_add(rs, "replay.records", (double)input_records, "");
    results_metric_add(rs, "replay.seconds", replay_s, "s");
    if (replay_s > 0)
        results_metric_add(rs, "replay.records_per_s", (double)input_records / replay_s, "rows/s");
    *sink_bytes = 0;
    if (!conn) return;
    PGresult *r = PQexec(conn, "select coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint, "
                               "pg_database_size(current_database()) from pg_class c join "
                               "pg_namespace n on n.oid = c.relnamespace where c.relkind = 'r' "
                               "and n.nspname = 'public'");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        *sink_bytes = (uint64_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
        results_metric_add(rs, "sink.bytes", (double)*sink_bytes, "bytes");
        results_metric_add(rs, "db.size", strtod(PQgetvalue(r, 0, 1), NULL), "bytes");
    }
    PQclear(r);
    /* The solution's own relations (tables, their indexes and TOAST, materialised views): not
     * the harness's raw source tables (they carry a _harness_id column) nor its schemas. */
    *solution_db_bytes = 0;
    r = PQexec(conn, "select coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint from "
                     "pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in "
                     "('r', 'm') and n.nspname not in ('pg_catalog', 'information_schema') and "
                     "n.nspname not like 'pg\\_%' and n.nspname not like '\\_harness%' and not "
                     "exists (select 1 from pg_attribute a where a.attrelid = c.oid and "
                     "a.attname = '_harness_id' and not a.attisdropped)");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        *solution_db_bytes = (uint64_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
        results_metric_add(rs, "db.solution.bytes", (double)*solution_db_bytes, "bytes");
    }
    PQclear(r);
    (void)s;
}

static void add_thresholds(results_scenario *rs, const plan_threshold *t, size_t n,
                           score_threshold *out, size_t *nout)
{
    for (size_t i = 0; i < n; i++) {
        double actual = NAN;
        const char *unit = "";
        for (size_t m = 0; m < rs->nmetrics; m++)
            if (strcmp(rs->metrics[m].name, t[i].metric) == 0) {
                actual = rs->metrics[m].value;
                unit = rs->metrics[m].unit ? rs->metrics[m].unit : "";
            }
        results_status st = isnan(actual)                                         ? RESULTS_SKIP
                            : score_threshold_passes(t[i].op, t[i].value, actual) ? RESULTS_PASS
                                                                                  : RESULTS_FAIL;
        results_threshold *rt = results_threshold_add(rs, t[i].metric, units_op_text(t[i].op),
                                                      t[i].value, actual, unit, st);
        if (rt) results_set_str(&rt->where, t[i].where);
        out[*nout].metric = t[i].metric;
        out[*nout].op = t[i].op;
        out[*nout].limit = t[i].value;
        out[*nout].actual = actual;
        (*nout)++;
    }
}

/* What the cost probe measured: the scenario again at k times its records. */
struct probe_usage {
    bool ran;
    struct inv_acc acc;
    uint64_t input_records, solution_db_bytes;
};

/* Does the pack read or write this kind of source/sink ("postgres", "kafka", "files")? */
static bool pack_uses(const plan_pack *p, const char *kind)
{
    for (size_t i = 0; i < p->nsources; i++)
        if (strcmp(p->sources[i], kind) == 0) return true;
    for (size_t i = 0; i < p->nsinks; i++)
        if (strcmp(p->sinks[i], kind) == 0) return true;
    return false;
}

/* Copy a breakdown into the scenario's run.json cost entry and add its metrics. */
static void price_record(results_scenario *rs, const cost_breakdown *b, bool primary)
{
    results_cost *rc = results_cost_add(rs, b->model->name, b->model->currency);
    if (rc) {
        for (size_t i = 0; i < b->nlines; i++) {
            const cost_line *l = &b->lines[i];
            results_cost_line *rl =
                results_cost_line_add(rc, l->component, l->quantity, l->unit, l->unit_price, l->run,
                                      l->note[0] ? l->note : NULL);
            if (!rl) continue;
            results_set_str(&rl->kind, l->kind == COST_FIXED ? "fixed" : "variable");
            rl->monthly = l->monthly;
        }
        rc->per_run_total = b->total;
        rc->monthly_total = b->monthly;
        rc->monthly_fixed = b->monthly_fixed;
        rc->monthly_variable = b->monthly_variable;
        rc->per_million_input = b->per_million_input;
        rc->per_correct_output = b->per_correct_record;
        rc->records_per_run = b->records_per_run;
        rc->runs_per_month = b->runs_per_month;
        rc->scale_factor = b->scale_factor;
        results_set_str(&rc->fit, b->two_sizes ? "fixed+per-record" : "linear");
        if (b->db_class) results_set_str(&rc->db_class, b->db_class->name);
        if (b->db_reason[0]) results_set_str(&rc->db_reason, b->db_reason);
        for (size_t i = 0; i < b->nfits; i++) {
            const cost_fit *f = &b->fits[i];
            if (!(f->measured > 0) && !(f->probe > 0)) continue;
            results_cost_fit *rf = results_cost_fit_add(rc, f->name);
            if (!rf) continue;
            rf->measured = f->measured;
            rf->probe = f->probe;
            rf->fixed = f->fixed;
            rf->per_record = f->per_record;
            rf->projected = f->projected;
            rf->slope = f->slope;
        }
        for (size_t i = 0; i < b->nphases; i++)
            if (results_cost_phase_add(rc, b->phases[i].name, b->phases[i].cost))
                rc->phases[rc->nphases - 1].slope = b->phases[i].slope;
    }
    cost_metric ms[COST_MAX_METRICS];
    size_t n = cost_metrics(b, primary, ms, COST_MAX_METRICS);
    for (size_t i = 0; i < n && i < COST_MAX_METRICS; i++)
        results_metric_add(rs, ms[i].name, ms[i].value, b->model->currency);
}

static void price(struct run_ctx *c, results_scenario *rs, const struct inv_acc *acc,
                  uint64_t input_records, uint64_t correct, uint64_t solution_db_bytes,
                  const struct probe_usage *pu)
{
    if (!c->nmodels) return;
    cost_usage pr = {0};
    if (pu && pu->ran) {
        pr.cpu_seconds = pu->acc.cpu_user + pu->acc.cpu_sys;
        pr.wall_seconds = pu->acc.wall_sum;
        pr.invocations = pu->acc.n;
        pr.peak_rss_bytes = pu->acc.rss_peak;
        pr.mean_rss_bytes = pu->acc.n ? pu->acc.rss_mean_sum / pu->acc.n : 0;
        pr.uses_db = pack_uses(c->pack, "postgres");
        pr.db_cpu_steps_seconds = pu->acc.db_cpu;
        pr.db_storage_bytes = pu->solution_db_bytes;
        pr.input_records = pu->input_records;
        pr.phases = pu->acc.phases;
        pr.nphases = pu->acc.nphases;
    }
    cost_usage u = {0};
    if (pu && pu->ran) u.probe = &pr;
    u.cpu_seconds = acc->cpu_user + acc->cpu_sys;
    u.wall_seconds = acc->wall_sum;
    u.invocations = acc->n;
    u.peak_rss_bytes = acc->rss_peak;
    u.mean_rss_bytes = acc->n ? acc->rss_mean_sum / acc->n : 0;
    /* The database's CPU during the solution's runs is the solution's work too. */
    u.uses_db = pack_uses(c->pack, "postgres");
    u.db_cpu_steps_seconds = acc->db_cpu;
    u.db_storage_bytes = solution_db_bytes;
    u.uses_streaming = pack_uses(c->pack, "kafka");
    u.input_records = input_records;
    u.correct_output_records = correct;
    u.phases = acc->phases;
    u.nphases = acc->nphases;
    for (size_t m = 0; m < c->nmodels; m++) {
        cost_breakdown b;
        memset(&b, 0, sizeof b);
        hx_err e = {0};
        if (cost_price(c->models[m], &u, &c->pack->scale, &b, &e) != 0) {
            hx_warn("pricing under '%s' failed: %s", c->models[m]->name, e.msg);
            continue;
        }
        /* The first model is the primary one that unqualified budgets refer to. */
        price_record(rs, &b, m == 0);
        cost_breakdown_release(&b);
    }
}

/* The pack's reference figures with this scenario's values. */
static void add_references(const results_scenario *rs, const plan_pack *p, score_threshold *out)
{
    for (size_t i = 0; i < p->nreferences; i++) {
        const plan_threshold *t = &p->references[i];
        double actual = NAN;
        for (size_t m = 0; m < rs->nmetrics; m++)
            if (strcmp(rs->metrics[m].name, t->metric) == 0) actual = rs->metrics[m].value;
        out[i] = (score_threshold){t->metric, t->op, t->value, actual};
    }
}

static void score(results_scenario *rs, const score_threshold *th, size_t nth,
                  const score_threshold *refs, size_t nrefs)
{
    score_input in = {0};
    for (size_t i = 0; i < rs->nchecks; i++) {
        const results_check *k = &rs->checks[i];
        if (k->status == RESULTS_SKIP) continue;
        bool ok = k->status == RESULTS_PASS;
        if (k->severity == RESULTS_SEV_ERROR)
            ok ? in.error_pass++ : in.error_fail++;
        else
            ok ? in.warn_pass++ : in.warn_fail++;
    }
    for (size_t i = 0; i < rs->ninvocations; i++)
        in.runs_failed += results_invocation_failed(&rs->invocations[i]);
    in.thresholds = th;
    in.nthresholds = nth;
    in.references = refs;
    in.nreferences = nrefs;
    score_result sr;
    memset(&sr, 0, sizeof sr);
    if (score_compute(&in, &sr, NULL) != 0) return;
    rs->score.scored = true;
    rs->score.value = sr.total;
    results_score_component_add(&rs->score, "correctness", sr.correctness.points,
                                sr.correctness.weight);
    results_score_component_add(&rs->score, "performance", sr.performance.points,
                                sr.performance.weight);
    results_score_component_add(&rs->score, "cost", sr.cost.points, sr.cost.weight);
    score_result_release(&sr);
}

/* The scenario's checks: after_cost false runs every check but the CHK_K_AFTER_COST kinds, true
 * only those, with the scenario's measured cost.monthly.usd (once it is priced). */
static void run_checks(struct run_ctx *c, const plan_scenario *s, results_scenario *rs, gen *g,
                       PGconn *conn, const char *outdir, uint64_t *correct, bool after_cost)
{
    struct topic_reader tr = {c, s};
    chk_ctx cc = {.conn = conn,
                  .g = g,
                  .s = s,
                  .solution_dir = c->sol_dir,
                  .output_dir = outdir,
                  .plugin = plugin_check,
                  .plugin_ud = c,
                  .topic = c->kafka ? read_topic : NULL,
                  .topic_ud = &tr};
    c->cur_conn = conn;
    c->cur_gen = g;
    c->cur_s = s;
    if (after_cost) {
        for (size_t i = 0; i < rs->nmetrics; i++)
            if (strcmp(rs->metrics[i].name, "cost.monthly.usd") == 0) {
                cc.has_cost = true;
                cc.cost_monthly_usd = rs->metrics[i].value;
            }
    } else if (c->build_failed) {
        results_check *k =
            results_check_add(rs, "solution builds", "build", RESULTS_SEV_ERROR, RESULTS_FAIL);
        if (k) results_set_str(&k->message, c->build_error);
    }
    for (size_t i = 0; i < s->nchecks && !interrupted; i++) {
        const plan_check *pc = &s->checks[i];
        const chk_kind *kd = chk_kind_get(pc->kind);
        if (after_cost != (kd && (kd->flags & CHK_K_AFTER_COST))) continue;
        chk_outcome o;
        chk_run(&cc, pc, &o);
        char kind[128];
        if (pc->kind == PLAN_CHK_PLUGIN)
            snprintf(kind, sizeof kind, "plugin:%s.%s", pc->plugin ? pc->plugin : "?",
                     pc->plugin_check ? pc->plugin_check : "?");
        else
            snprintf(kind, sizeof kind, "%s", chk_kind_name(pc->kind));
        results_check *k =
            results_check_add(rs, pc->name, kind,
                              pc->severity == PLAN_SEV_WARN ? RESULTS_SEV_WARN : RESULTS_SEV_ERROR,
                              status_of_chk(o.status));
        if (k) {
            results_set_str(&k->expected, o.expected);
            results_set_str(&k->actual, o.actual);
            results_set_str(&k->message, o.message);
            results_set_str(&k->where, pc->where);
            k->duration_s = o.seconds;
            if (o.sample.ncols && o.sample.nrows) {
                results_check_sample_columns(k, (const char *const *)o.sample.cols, o.sample.ncols);
                for (size_t r = 0; r < o.sample.nrows; r++) {
                    const char *cells[16];
                    for (size_t col = 0; col < o.sample.ncols && col < 16; col++) {
                        const char *v = o.sample.cells[r * o.sample.ncols + col];
                        cells[col] = v ? v : "NULL";
                    }
                    results_check_sample_row(k, cells);
                }
            }
            if (pc->kind == PLAN_CHK_DIFF || pc->kind == PLAN_CHK_QUARANTINE || o.missing ||
                o.extra || o.mismatched) {
                results_check_count(k, "missing", (int64_t)o.missing);
                results_check_count(k, "extra", (int64_t)o.extra);
                results_check_count(k, "mismatched", (int64_t)o.mismatched);
            }
        }
        bool keyed_topic = pc->kind == PLAN_CHK_TOPIC && pc->expect.kind == PLAN_EXP_QUERY &&
                           pc->expect.query.agg == PLAN_AGG_ROWS;
        if ((pc->kind == PLAN_CHK_DIFF || keyed_topic) && o.expected) {
            uint64_t exp = strtoull(o.expected, NULL, 10);
            uint64_t bad = o.missing + o.mismatched;
            *correct += exp > bad ? exp - bad : 0;
        }
        progress("  %-5s %s%s%s", chk_status_name(o.status), pc->name, o.message ? ": " : "",
                 o.message && o.status != CHK_PASS ? o.message : "");
        chk_outcome_release(&o);
    }
}

/* Store h (values in ns) as run.json histogram `name` in seconds; false when it is empty. */
static bool add_hist(results_scenario *rs, const char *name, const hist *h)
{
    if (hist_count(h) <= 0) return false;
    char *enc = hist_encode(h);
    results_hist *rh = results_hist_add(rs, name, "s", enc);
    hx_free(enc);
    if (rh) {
        rh->count = hist_count(h);
        rh->min = (double)hist_min(h) / 1e9;
        rh->max = (double)hist_max(h) / 1e9;
        rh->mean = hist_mean(h) / 1e9;
        rh->p50 = (double)hist_percentile(h, 50) / 1e9;
        rh->p90 = (double)hist_percentile(h, 90) / 1e9;
        rh->p99 = (double)hist_percentile(h, 99) / 1e9;
        rh->p999 = (double)hist_percentile(h, 99.9) / 1e9;
    }
    return true;
}

/* The cost probe: run scenario s's steps again with every dataset k times as large (the same
 * days and batches: timestamp rates grow with the rows), without checks, in a database and
 * folders of its own, and keep the usage beside the main run's (docs/cost-models.md, "The
 * probe"). Batch scenarios without Kafka only; a failure is a warning, and the cost falls back
 * to a linear projection. */
static void run_probe(struct run_ctx *c, const plan_scenario *s, double k, struct probe_usage *pu)
{
    memset(pu, 0, sizeof *pu);
    if (!(k > 1) || s->mode != PLAN_MODE_BATCH || scenario_uses_kafka(s) || interrupted) return;
    plan_scenario ps = *s;
    plan_dataset *ds = hx_calloc(s->ndatasets + 1, sizeof *ds);
    plan_column **cols = hx_calloc(s->ndatasets + 1, sizeof *cols);
    char name[200];
    snprintf(name, sizeof name, "%s_probe", s->name);
    char dbname[64];
    pgsvc_db_name(name, dbname);
    char *sdir = path_join(c->out_dir, s->name);
    char *pdir = sdir ? path_join(sdir, "probe") : NULL;
    char *landing = pdir ? path_join(pdir, "landing") : NULL;
    char *outdir = pdir ? path_join(pdir, "output") : NULL;
    char *logdir = pdir ? path_join(pdir, "logs") : NULL;
    results_run *tmp = results_run_new();
    results_scenario *rs = tmp ? results_scenario_add(tmp, name) : NULL;
    gen *g = NULL;
    PGconn *conn = NULL;
    hx_err e = {0};
    int rc = 0;
    bool made_db = false;
    if (!ds || !cols || !logdir || !rs) {
        hx_warn("%s: cost probe skipped: out of memory", s->name);
        goto done;
    }
    for (size_t i = 0; i < s->ndatasets; i++) {
        ds[i] = s->datasets[i];
        ds[i].rows = (uint64_t)llround((double)s->datasets[i].rows * k);
        cols[i] = hx_calloc(ds[i].ncols + 1, sizeof *cols[i]);
        if (!cols[i]) {
            hx_warn("%s: cost probe skipped: out of memory", s->name);
            goto done;
        }
        memcpy(cols[i], s->datasets[i].cols, ds[i].ncols * sizeof *cols[i]);
        for (size_t j = 0; j < ds[i].ncols; j++)
            if (cols[i][j].kind == PLAN_COL_TIMESTAMP) cols[i][j].u.ts.rate *= k;
        ds[i].cols = cols[i];
    }
    ps.datasets = ds;
    ps.name = name;
    ps.nchecks = 0;
    memset(&pu->acc, 0, sizeof pu->acc);
    pu->acc.t0 = (double)hx_now_ns() / 1e9;
    hist_init(&pu->acc.wall_hist, 1000, (int64_t)3600 * 1000000000, 3);
    hist_init(&pu->acc.lat_hist, 1000, (int64_t)3600 * 1000000000, 3);
    if ((rc = hx_mkdir_p(landing, &e)) || (rc = hx_mkdir_p(outdir, &e)) ||
        (rc = hx_mkdir_p(logdir, &e)) || (rc = gen_new(&ps, &g, &e)) ||
        (rc = pgsvc_create_db(c->pg, dbname, NULL, NULL, &e)))
        goto fail;
    made_db = true;
    if ((rc = pgsvc_connect(c->pg, dbname, &conn, &e))) goto fail;
    PQclear(PQexec(conn, "set timezone = 'UTC'"));
    hx_info("%s: cost probe at %gx the records", s->name, k);
    phase_add(&pu->acc, "replay (harness)", 0, 0, 0, true);
    if ((rc = run_steps(c, &ps, rs, g, conn, dbname, landing, outdir, logdir, &pu->acc,
                        &pu->input_records, &e)))
        goto fail;
    if (PQstatus(conn) != CONNECTION_OK) PQreset(conn);
    uint64_t sink = 0;
    results_scenario *scratch = results_scenario_add(tmp, "metrics");
    if (scratch)
        add_metrics(scratch, &pu->acc, conn, &ps, pu->input_records, 0, &sink,
                    &pu->solution_db_bytes);
    pu->ran = !interrupted && pu->input_records > 0;
    goto done;
fail:
    if (!interrupted)
        hx_warn("%s: cost probe failed (costs projected linearly): %s", s->name, e.msg);
done:
    if (conn) PQfinish(conn);
    if (made_db && !c->o->keep) {
        hx_err de = {0};
        if (pgsvc_drop_db(c->pg, dbname, &de) != 0 && !interrupted)
            hx_warn("cannot drop database %s: %s", dbname, de.msg);
    }
    if (pdir && !c->o->keep) hx_rm_rf(pdir);
    gen_free(g);
    if (cols)
        for (size_t i = 0; i < s->ndatasets; i++)
            hx_free(cols[i]);
    hx_free(cols);
    hx_free(ds);
    results_run_free(tmp);
    hx_free(sdir);
    hx_free(pdir);
    hx_free(landing);
    hx_free(outdir);
    hx_free(logdir);
}

/* Run one scenario into rs. Scenario and infrastructure errors land in rs (status error); only
 * an interrupt is returned. */
static int run_scenario(struct run_ctx *c, const plan_scenario *s, results_scenario *rs)
{
    int64_t t0 = hx_now_ns();
    char started[40];
    results_iso8601(started, sizeof started, hx_wall_ns());
    results_set_str(&rs->started, started);
    results_set_str(&rs->file, s->file);
    rs->phase = s->phase;
    for (size_t i = 0; i < s->ntags; i++)
        results_strv_add(&rs->tags, &rs->ntags, s->tags[i]);
    results_seed_add(c->run, s->name, s->seed);

    hx_err e = {0};
    int rc = 0;
    gen *g = NULL;
    PGconn *conn = NULL;
    char dbname[64];
    pgsvc_db_name(s->name, dbname);
    char *sdir = path_join(c->out_dir, s->name);
    char *landing = path_join(sdir, "landing");
    char *outdir = path_join(sdir, "output");
    char *logdir = path_join(sdir, "logs");
    struct inv_acc acc;
    memset(&acc, 0, sizeof acc);
    acc.t0 = (double)t0 / 1e9;
    hist_init(&acc.wall_hist, 1000, (int64_t)3600 * 1000000000, 3);
    hist_init(&acc.lat_hist, 1000, (int64_t)3600 * 1000000000, 3);
    uint64_t input_records = 0, correct = 0, sink_bytes = 0, solution_db_bytes = 0;
    double replay_s = 0;

    if ((rc = hx_mkdir_p(landing, &e)) || (rc = hx_mkdir_p(outdir, &e)) ||
        (rc = hx_mkdir_p(logdir, &e)))
        goto fail;
    if ((rc = gen_new(s, &g, &e))) goto fail;
    if ((rc = pgsvc_create_db(c->pg, dbname, NULL, NULL, &e))) goto fail;
    if ((rc = pgsvc_connect(c->pg, dbname, &conn, &e))) goto fail;
    PQclear(PQexec(conn, "set timezone = 'UTC'"));
    if (c->kafka && scenario_uses_kafka(s) && (rc = create_topics(c, s, g, &e))) goto fail;
    int64_t r0 = hx_now_ns();
    double cpu0 = self_cpu_seconds();
    /* The replay phase comes first in the list; its numbers are known once the steps ran. */
    phase_add(&acc, "replay (harness)", 0, 0, 0, true);
    rc = run_steps(c, s, rs, g, conn, dbname, landing, outdir, logdir, &acc, &input_records, &e);
    /* A service runs alongside the replay: its lifetime is not taken off the replay's. */
    replay_s = s->mode == PLAN_MODE_SERVICE ? acc.steps_s
                                            : (double)(hx_now_ns() - r0) / 1e9 - acc.wall_sum;
    /* The harness's own CPU while replaying (generation, COPY, file writes): the work a
     * producer would do in production. The database's share of it is not separable here. */
    acc.phases[0].cpu_seconds = fmax(self_cpu_seconds() - cpu0, 0);
    acc.phases[0].wall_seconds = fmax(replay_s, 0);
    acc.phases[0].peak_rss_bytes = self_peak_rss();
    if (rc) goto fail;
    if (PQstatus(conn) != CONNECTION_OK) PQreset(conn);
    {
        int64_t k0 = hx_now_ns();
        double kc0 = self_cpu_seconds();
        double kdb0 = db_cpu_now(c);
        /* The harness's own limit for its check queries, on its own session: what the solution
         * set on its role or database does not apply (pgsvc pins the session settings). */
        PQclear(PQexec(conn, "SET statement_timeout = '" CHECK_STATEMENT_TIMEOUT "'"));
        run_checks(c, s, rs, g, conn, outdir, &correct, false);
        double kdb = db_cpu_delta(kdb0, db_cpu_now(c));
        phase_add(&acc, "checks (harness)", self_cpu_seconds() - kc0 + kdb,
                  (double)(hx_now_ns() - k0) / 1e9, self_peak_rss(), true);
    }
    if (interrupted) {
        rc = HX_EINTR;
        goto fail;
    }
    double scen_s = (double)(hx_now_ns() - t0) / 1e9;
    add_metrics(rs, &acc, conn, s, input_records, replay_s, &sink_bytes, &solution_db_bytes);
    add_hist(rs, "solution.wall", &acc.wall_hist);
    if (add_hist(rs, "latency.e2e", &acc.lat_hist) || acc.lat_unmatched) {
        /* The metrics thresholds and `harness compare` read: latency.e2e.p99 < 500ms. */
        const char *sfx[] = {"p50", "p90", "p99", "max"};
        double pct[] = {50, 90, 99, 100};
        for (size_t i = 0; i < 4 && hist_count(&acc.lat_hist); i++) {
            char name[32];
            snprintf(name, sizeof name, "latency.e2e.%s", sfx[i]);
            int64_t v =
                pct[i] < 100 ? hist_percentile(&acc.lat_hist, pct[i]) : hist_max(&acc.lat_hist);
            results_metric_add(rs, name, (double)v / 1e9, "s");
        }
        results_metric_add(rs, "latency.e2e.matched", (double)hist_count(&acc.lat_hist), "");
        results_metric_add(rs, "latency.e2e.unmatched", (double)acc.lat_unmatched, "");
    }
    rs->resources.cpu_user_s = acc.cpu_user;
    rs->resources.cpu_sys_s = acc.cpu_sys;
    rs->resources.peak_rss_bytes = (int64_t)acc.rss_peak;
    rs->resources.mean_rss_bytes = acc.n ? (int64_t)(acc.rss_mean_sum / acc.n) : 0;
    rs->resources.read_bytes = (int64_t)acc.read_bytes;
    rs->resources.write_bytes = (int64_t)acc.write_bytes;
    (void)scen_s;
    {
        /* The cost probe (scale.probe or --probe): only for a scenario that ran cleanly. */
        double k = c->o->probe_set ? c->o->probe : c->pack->scale.probe;
        struct probe_usage pu;
        memset(&pu, 0, sizeof pu);
        if (k > 1 && acc.failures == 0) run_probe(c, s, k, &pu);
        price(c, rs, &acc, input_records, correct, solution_db_bytes, &pu);
        if (pu.ran) {
            results_metric_add(rs, "probe.records", (double)pu.input_records, "");
            results_metric_add(rs, "probe.solution.wall.sum", pu.acc.wall_sum, "s");
            results_metric_add(rs, "probe.solution.cpu.total", pu.acc.cpu_user + pu.acc.cpu_sys,
                               "s");
            results_metric_add(rs, "probe.db.cpu.solution", pu.acc.db_cpu, "s");
        }
        hist_release(&pu.acc.wall_hist);
        hist_release(&pu.acc.lat_hist);
    }
    /* Checks of what the solution claims about its cost, against what it measured. */
    if (!interrupted) run_checks(c, s, rs, g, conn, outdir, &correct, true);
    {
        size_t nth = s->nthresholds + c->pack->nbudgets, nref = c->pack->nreferences;
        score_threshold *th = hx_calloc(nth + nref + 1, sizeof *th);
        size_t n = 0;
        if (th) {
            add_thresholds(rs, s->thresholds, s->nthresholds, th, &n);
            add_thresholds(rs, c->pack->budgets, c->pack->nbudgets, th, &n);
            add_references(rs, c->pack, th + n);
            score(rs, th, n, th + n, nref);
            hx_free(th);
        }
    }
    goto done;
fail:
    if (rc == HX_EINTR || interrupted) {
        results_scenario_set_error(rs, HX_EXIT_INTERRUPTED, "interrupted");
        rc = HX_EINTR;
    } else {
        results_scenario_set_error(rs, hx_exit_code(rc), e.msg);
        hx_error("%s: %s", s->name, e.msg);
        rc = 0;
    }
done:
    rs->duration_s = (double)(hx_now_ns() - t0) / 1e9;
    results_scenario_settle(rs);
    if (conn) PQfinish(conn);
    if (!c->o->keep) {
        hx_err de = {0};
        if (c->pg && pgsvc_drop_db(c->pg, dbname, &de) != 0 && !interrupted)
            hx_warn("cannot drop database %s: %s", dbname, de.msg);
        hx_rm_rf(landing);
        hx_rm_rf(outdir);
    }
    gen_free(g);
    hist_release(&acc.wall_hist);
    hist_release(&acc.lat_hist);
    hx_free(sdir);
    hx_free(landing);
    hx_free(outdir);
    hx_free(logdir);
    return rc;
}

/* ---- plugin checks ---- */

static plug_plugin *plugin_get(struct run_ctx *c, const char *name, hx_err *e)
{
    for (size_t i = 0; i < c->nplugins; i++)
        if (strcmp(c->plugins[i]->name, name) == 0) return c->plugins[i];
    plug_plugin *p = NULL;
    if (plug_open(name, &c->plugin_path, &p, e) != 0) return NULL;
    plug_plugin **np = hx_realloc(c->plugins, (c->nplugins + 1) * sizeof *np);
    if (!np) {
        plug_close(p);
        hx_fail(e, HX_ENOMEM, "out of memory");
        return NULL;
    }
    c->plugins = np;
    c->plugins[c->nplugins++] = p;
    return p;
}

/* The plugins' ledger service: an aggregate over the valid records of a dataset. */
static int plugin_ledger(void *ud, const char *dataset, const char *agg, const char *column,
                         double *out, hx_err *e)
{
    struct run_ctx *c = ud;
    int ds = plan_scenario_dataset(c->cur_s, dataset);
    if (ds < 0)
        return hx_fail(e, HX_EUSAGE, "no dataset '%s' in scenario '%s'", dataset, c->cur_s->name);
    static const char *const aggs[] = {"count", "count_distinct", "sum", "min", "max", "avg", NULL};
    static const plan_agg codes[] = {PLAN_AGG_COUNT, PLAN_AGG_COUNT_DISTINCT,
                                     PLAN_AGG_SUM,   PLAN_AGG_MIN,
                                     PLAN_AGG_MAX,   PLAN_AGG_AVG};
    int a = -1;
    for (int i = 0; aggs[i]; i++)
        if (strcmp(aggs[i], agg) == 0) a = i;
    if (a < 0)
        return hx_fail(e, HX_EUSAGE,
                       "unknown ledger aggregate '%s' (count, count_distinct, sum, "
                       "min, max, avg)",
                       agg);
    plan_query q = {.dataset = (size_t)ds, .agg = codes[a], .col = -1, .group_col = -1};
    q.sub.valid = true;
    q.sub.dedup_col = -1;
    q.sub.group_day_col = -1;
    if (column && *column) {
        q.col = plan_dataset_column(&c->cur_s->datasets[ds], column);
        if (q.col < 0)
            return hx_fail(e, HX_EUSAGE, "no column '%s' in dataset '%s'", column, dataset);
    }
    ledger_result r;
    int rc = ledger_eval(c->cur_gen, &q, &r, e);
    if (rc) return rc;
    *out = r.is_null ? NAN : r.number;
    ledger_result_release(&r);
    return 0;
}

static void plugin_check(void *ud, const plan_check *pc, chk_outcome *out)
{
    struct run_ctx *c = ud;
    hx_err e = {0};
    plug_plugin *p = plugin_get(c, pc->plugin, &e);
    const hx_plugin_check *hc = p ? plug_find_check(p, pc->plugin_check, &e) : NULL;
    if (!hc) {
        out->status = CHK_ERROR;
        out->message = hx_strdup(e.msg);
        return;
    }
    plug_run_opts ro = {.no_isolate = c->o->no_isolate,
                        .timeout_ms = c->o->plugin_timeout_us / 1000,
                        .conn = (struct pg_conn *)c->cur_conn,
                        .ledger = plugin_ledger,
                        .ledger_ud = c};
    plug_result r;
    plug_result_init(&r);
    if (plug_run(p, hc, pc->params, pc->nparams, &ro, &r, &e) != 0) {
        out->status = CHK_ERROR;
        out->message = hx_strdup(e.msg);
        plug_result_release(&r);
        return;
    }
    out->status = r.status == PLUG_PASS ? CHK_PASS : r.status == PLUG_FAIL ? CHK_FAIL : CHK_ERROR;
    out->expected = r.expected ? hx_strdup(r.expected) : NULL;
    out->actual = r.actual ? hx_strdup(r.actual) : NULL;
    out->message = r.message ? hx_strdup(r.message) : NULL;
    if (r.nsamples) {
        out->sample.ncols = 1;
        out->sample.cols = hx_calloc(1, sizeof(char *));
        out->sample.cells = hx_calloc(r.nsamples, sizeof(char *));
        if (out->sample.cols && out->sample.cells) {
            out->sample.cols[0] = hx_strdup("sample");
            for (size_t i = 0; i < r.nsamples; i++)
                out->sample.cells[i] = hx_strdup(r.samples[i]);
            out->sample.nrows = r.nsamples;
        }
    }
    out->extra = r.samples_total;
    plug_result_release(&r);
}

static int plugins_open(struct run_ctx *c, hx_err *e)
{
    plug_path_init(&c->plugin_path);
    const char *extra[1] = {c->o->plugin_path};
    if (plug_path_standard(&c->plugin_path, c->o->pack, extra, c->o->plugin_path ? 1 : 0) != 0)
        return hx_fail(e, HX_ENOMEM, "out of memory building the plugin search path");
    return 0;
}

static void plugins_close(struct run_ctx *c)
{
    for (size_t i = 0; i < c->nplugins; i++)
        plug_close(c->plugins[i]);
    hx_free(c->plugins);
    plug_path_release(&c->plugin_path);
}

/* ---- setup ---- */

static void machine_info(results_run *r)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    results_set_str(&r->machine.hostname, host);
    struct utsname u;
    if (uname(&u) == 0) {
        char k[600];
        snprintf(k, sizeof k, "%s %s", u.sysname, u.release);
        results_set_str(&r->machine.kernel, k);
    }
    r->machine.cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    r->machine.ram_bytes = (int64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *v = strchr(line, ':');
            if (v) {
                v += 2;
                v[strcspn(v, "\n")] = '\0';
                results_set_str(&r->machine.cpu_model, v);
            }
            break;
        }
    }
    if (f) fclose(f);
}

static int load_models(struct run_ctx *c, hx_err *e)
{
    const char *list =
        c->o->cost_models ? c->o->cost_models : "aws-us-east-1,gcp-us-central1,azure-eastus";
    char *copy = hx_strdup(list);
    if (!copy) return hx_fail(e, HX_ENOMEM, "out of memory");
    int rc = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        cost_model *m = NULL;
        if ((rc = cost_model_load_named(tok, c->o->cost_dir, &m, e))) break;
        cost_model **nm = hx_realloc(c->models, (c->nmodels + 1) * sizeof *nm);
        if (!nm) {
            cost_model_free(m);
            rc = hx_fail(e, HX_ENOMEM, "out of memory");
            break;
        }
        c->models = nm;
        c->models[c->nmodels++] = m;
        results_price_sheet *ps =
            results_price_sheet_add(c->run, m->name, m->provider, m->region, m->as_of);
        if (ps) {
            results_set_str(&ps->path, m->path);
            results_set_str(&ps->sha256, m->sha256);
        }
    }
    hx_free(copy);
    return rc;
}

static int build_solution(struct run_ctx *c, hx_err *e)
{
    if (!c->sol.build) return 0;
    progress("building solution: %s", c->sol.build);
    char *logdir = path_join(c->out_dir, "build");
    int rc = hx_mkdir_p(logdir, e);
    runner_opts ro = {.shell = c->sol.build,
                      .cwd = c->sol_dir,
                      .log_dir = logdir,
                      .log_name = "build",
                      .no_sampler = true};
    runner_proc *p = NULL;
    if (!rc) rc = runner_spawn(&ro, &p, e);
    if (!rc) {
        set_current(p);
        runner_result r;
        memset(&r, 0, sizeof r);
        rc = runner_wait(p, (int64_t)600 * 1000000, &r, e);
        set_current(NULL);
        if (!rc && (!r.exited || r.exit_code != 0)) {
            char *tail = NULL;
            size_t tail_len = 0;
            runner_log_tail(r.stderr_path, 2000, &tail, &tail_len, NULL);
            hx_buf m;
            hx_buf_init(&m);
            hx_buf_printf(&m, "the build command '%s' %s; stderr ends with:\n%s", c->sol.build,
                          r.timed_out ? "timed out" : "failed", tail ? tail : "");
            c->build_failed = true;
            c->build_error = hx_buf_steal(&m);
            hx_free(tail);
        }
        runner_result_release(&r);
        runner_proc_free(p);
    }
    hx_free(logdir);
    return rc;
}

static char *default_out_dir(const char *pack_name)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    hx_buf b;
    hx_buf_init(&b);
    hx_buf_printf(&b, "runs/%s-%s", stamp, pack_name);
    return hx_buf_steal(&b);
}

static void link_latest(const char *out_dir)
{
    const char *slash = strrchr(out_dir, '/');
    if (!slash || strncmp(out_dir, "runs/", 5) != 0) return;
    unlink("runs/latest.tmp");
    if (symlink(slash + 1, "runs/latest.tmp") == 0) rename("runs/latest.tmp", "runs/latest");
}

static bool html_written;

static int write_reports(struct run_ctx *c, hx_err *e)
{
    results_run_score(c->run);
    char *p = path_join(c->out_dir, "run.json");
    int rc = runjson_write(c->run, p, e);
    hx_free(p);
    if (rc) return rc;
    p = path_join(c->out_dir, "junit.xml");
    rc = rep_junit_write(c->run, p, e);
    hx_free(p);
    if (rc) return rc;
    p = path_join(c->out_dir, "summary.md");
    rc = rep_markdown_write(c->run, p, 0, e);
    hx_free(p);
    if (!rc) {
        p = path_join(c->out_dir, "report.html");
        rc = rep_html_write(c->run, p, e);
        html_written = rc == 0;
        hx_free(p);
    }
    return rc;
}

static bool parse_opts(int argc, char **argv, struct run_opts *o)
{
    enum {
        O_PG = 256,
        O_SCEN,
        O_TAG,
        O_PHASE,
        O_SHARD,
        O_SEED,
        O_COST,
        O_COSTDIR,
        O_TIMEOUT,
        O_PLUGPATH,
        O_NOISO,
        O_UNSAFE,
        O_KEEP,
        O_PROBE,
        O_JOBS,
        O_KAFKA,
        O_PLUGTIMEOUT
    };
    static const struct option lo[] = {{"solution", required_argument, 0, 's'},
                                       {"out", required_argument, 0, 'o'},
                                       {"pg", required_argument, 0, O_PG},
                                       {"scenario", required_argument, 0, O_SCEN},
                                       {"tag", required_argument, 0, O_TAG},
                                       {"phase", required_argument, 0, O_PHASE},
                                       {"shard", required_argument, 0, O_SHARD},
                                       {"seed", required_argument, 0, O_SEED},
                                       {"cost-model", required_argument, 0, O_COST},
                                       {"cost-models", required_argument, 0, O_COSTDIR},
                                       {"timeout", required_argument, 0, O_TIMEOUT},
                                       {"plugin-path", required_argument, 0, O_PLUGPATH},
                                       {"no-isolate", no_argument, 0, O_NOISO},
                                       {"unsafe-lua", no_argument, 0, O_UNSAFE},
                                       {"plugin-timeout", required_argument, 0, O_PLUGTIMEOUT},
                                       {"keep", no_argument, 0, O_KEEP},
                                       {"probe", required_argument, 0, O_PROBE},
                                       {"jobs", required_argument, 0, O_JOBS},
                                       {"kafka", required_argument, 0, O_KAFKA},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    static const char *globs[64], *tags[64];
    o->globs = globs;
    o->tags = tags;
    o->phase = 1;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "s:o:qh", lo, NULL)) != -1) {
        hx_err e = {0};
        switch (ch) {
        case 's':
            o->solution = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'q':
            hx_g.quiet = 1;
            break;
        case 'h':
            fputs(run_usage, stdout);
            exit(0);
        case O_PG:
            o->pg_url = optarg;
            break;
        case O_SCEN:
            if (o->nglobs < 64) globs[o->nglobs++] = optarg;
            break;
        case O_TAG:
            if (o->ntags < 64) tags[o->ntags++] = optarg;
            break;
        case O_PHASE: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 9) {
                hx_error("--phase: expected a phase number like 1 or 2, got '%s'", optarg);
                return false;
            }
            o->phase = (int)v;
            break;
        }
        case O_SHARD:
            if (sscanf(optarg, "%d/%d", &o->shard_i, &o->shard_n) != 2 || o->shard_n < 1 ||
                o->shard_i < 1 || o->shard_i > o->shard_n) {
                hx_error("--shard: expected I/N with 1 <= I <= N, like 2/4, got '%s'", optarg);
                return false;
            }
            break;
        case O_SEED: {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 0);
            if (*end || errno || optarg[0] == '-') {
                hx_error("--seed: expected a non-negative integer, got '%s'", optarg);
                return false;
            }
            o->has_seed = true;
            o->seed = v;
            break;
        }
        case O_COST:
            o->cost_models = optarg;
            break;
        case O_COSTDIR:
            o->cost_dir = optarg;
            break;
        case O_TIMEOUT:
            if (units_duration_us(optarg, &o->timeout_us, &e) != 0 || o->timeout_us <= 0) {
                hx_error("--timeout: %s", e.msg[0] ? e.msg : "must be positive");
                return false;
            }
            break;
        case O_PLUGPATH:
            o->plugin_path = optarg;
            break;
        case O_NOISO:
            o->no_isolate = true;
            break;
        case O_PLUGTIMEOUT:
            if (units_duration_us(optarg, &o->plugin_timeout_us, &e) != 0 ||
                o->plugin_timeout_us <= 0) {
                hx_error("--plugin-timeout: %s", e.msg[0] ? e.msg : "must be positive");
                return false;
            }
            break;
        case O_UNSAFE:
            o->unsafe_lua = true;
            break;
        case O_KEEP:
            o->keep = true;
            break;
        case O_PROBE: {
            char *end = NULL;
            o->probe = strtod(optarg, &end);
            o->probe_set = true;
            if (!end || *end || !(o->probe == 0 || (o->probe >= 1.5 && o->probe <= 100))) {
                hx_error("--probe: '%s' is not a factor between 1.5 and 100 (or 0 for none)",
                         optarg);
                return false;
            }
            break;
        }
        case O_JOBS:
            if (strcmp(optarg, "1") != 0) {
                hx_error("--jobs: running scenarios in parallel is not built yet; use --shard "
                         "I/N across machines or processes");
                return false;
            }
            break;
        case O_KAFKA:
            o->kafka_url = optarg;
            break;
        default:
            fputs(run_usage, stderr);
            return false;
        }
    }
    if (optind >= argc) {
        hx_error("run: which challenge pack? usage: harness run PACK --solution DIR");
        return false;
    }
    o->pack = argv[optind++];
    if (optind < argc) {
        hx_error("run: unexpected argument '%s'", argv[optind]);
        return false;
    }
    if (!o->solution) {
        hx_error("run: --solution DIR is required (a folder with solution.json)");
        return false;
    }
    return true;
}

/* Kafka starts when the pack names it as a source or sink, or a selected scenario uses it. */
static bool kafka_needed(const struct run_ctx *c)
{
    for (size_t i = 0; i < c->pack->nsources; i++)
        if (strcmp(c->pack->sources[i], "kafka") == 0) return true;
    for (size_t i = 0; i < c->pack->nsinks; i++)
        if (strcmp(c->pack->sinks[i], "kafka") == 0) return true;
    for (size_t i = 0; i < c->pack->nscenarios; i++)
        if (selected(c->o, &c->pack->scenarios[i]) && scenario_uses_kafka(&c->pack->scenarios[i]))
            return true;
    return false;
}

int cmd_run(int argc, char **argv)
{
    int64_t run_t0 = hx_now_ns();
    struct run_opts o;
    memset(&o, 0, sizeof o);
    if (!parse_opts(argc, argv, &o)) return HX_EXIT_USAGE;

    struct run_ctx c;
    memset(&c, 0, sizeof c);
    c.o = &o;
    hx_err e = {0};
    int exit_code = HX_EXIT_OK;
    pthread_t wt;
    bool watcher_started = false;

    /* Load and validate first: a broken scenario costs no server start. */
    scen_opts so = {.has_seed = o.has_seed, .seed = o.seed, .unsafe_lua = o.unsafe_lua};
    if (scen_new(&so, &c.engine, &e) != 0) {
        hx_error("%s", e.msg);
        return HX_EXIT_INFRA;
    }
    if (scen_load_pack(c.engine, o.pack, &e) != 0 || scen_problem_count(c.engine)) {
        for (size_t i = 0; i < scen_problem_count(c.engine); i++)
            hx_error("%s", scen_problem_detail(c.engine, i));
        if (!scen_problem_count(c.engine)) hx_error("%s", e.msg);
        scen_free(c.engine);
        return HX_EXIT_USAGE;
    }
    c.pack = scen_pack(c.engine);
    if (solution_load(o.solution, &c.sol, &e) != 0) {
        hx_error("%s", e.msg);
        scen_free(c.engine);
        return hx_exit_code(e.code);
    }
    c.sol_dir = realpath(o.solution, NULL);

    size_t nsel = 0, *sel = hx_calloc(c.pack->nscenarios + 1, sizeof *sel);
    for (size_t i = 0, k = 0; i < c.pack->nscenarios; i++) {
        if (!selected(&o, &c.pack->scenarios[i])) continue;
        if (o.shard_n > 1 && (int)(k++ % (size_t)o.shard_n) != o.shard_i - 1) continue;
        sel[nsel++] = i;
    }
    if (nsel == 0) {
        hx_error("no scenario of '%s' matches the selection (see 'harness list %s')", o.pack,
                 o.pack);
        exit_code = HX_EXIT_USAGE;
        goto cleanup;
    }

    c.run = results_run_new();
    if (!c.run) {
        exit_code = HX_EXIT_INFRA;
        goto cleanup;
    }
    {
        char started[40];
        results_iso8601(started, sizeof started, hx_wall_ns());
        results_set_str(&c.run->started, started);
        for (int i = 0; i < argc; i++)
            results_strv_add(&c.run->argv, &c.run->nargv, argv[i]);
        results_set_str(&c.run->harness_version, HX_VERSION);
        results_set_str(&c.run->harness_commit, HX_COMMIT);
        c.run->plugin_abi = HX_PLUGIN_ABI_VERSION;
        results_set_str(&c.run->pack_name, c.pack->name);
        results_set_str(&c.run->pack_dir, o.pack);
        results_set_str(&c.run->level, c.pack->level);
        results_set_str(&c.run->solution_name, c.sol.name);
        results_set_str(&c.run->solution_dir, o.solution);
        machine_info(c.run);
    }
    if (load_models(&c, &e) != 0) {
        hx_error("%s", e.msg);
        exit_code = hx_exit_code(e.code);
        goto cleanup;
    }

    c.out_dir = o.out ? hx_strdup(o.out) : default_out_dir(c.pack->name ? c.pack->name : "pack");
    if (hx_mkdir_p(c.out_dir, &e) != 0) {
        hx_error("%s", e.msg);
        exit_code = HX_EXIT_INFRA;
        goto cleanup;
    }
    {
        char *jp = path_join(c.out_dir, "run.journal.jsonl");
        if (runjson_journal_open(jp, c.run, &c.journal, &e) != 0) hx_warn("no journal: %s", e.msg);
        hx_free(jp);
    }

    if (pipe(wake_pipe) == 0 && pthread_create(&wt, NULL, watcher, NULL) == 0)
        watcher_started = true;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    {
        pgsvc_opts po = {.url = o.pg_url};
        int64_t t0 = hx_now_ns();
        if (pgsvc_start(&po, &c.pg, &e) != 0) {
            hx_error("%s", e.msg);
            exit_code = interrupted ? HX_EXIT_INTERRUPTED : hx_exit_code(e.code);
            goto reports;
        }
        if (hx_g.verbose || !hx_g.quiet)
            progress("postgres %s %s on %s:%s ready in %.0f ms%s", c.pg->version,
                     c.pg->embedded ? "(embedded)" : "(--pg)", c.pg->host, c.pg->port,
                     (double)(hx_now_ns() - t0) / 1e6,
                     c.pg->embedded ? (c.pg->cache_hit ? ", initdb cache hit" : ", initdb") : "");
    }
    if (kafka_needed(&c)) {
        kafkasvc_opts ko = {.bootstrap = o.kafka_url};
        int64_t t0 = hx_now_ns();
        if (kafkasvc_start(&ko, &c.kafka, &e) != 0) {
            hx_error("%s", e.msg);
            exit_code = interrupted ? HX_EXIT_INTERRUPTED : hx_exit_code(e.code);
            goto reports;
        }
        progress("kafka %s %s ready in %.0f ms", kafkasvc_bootstrap(c.kafka),
                 kafkasvc_is_mock(c.kafka) ? "(mock)" : "(--kafka)",
                 (double)(hx_now_ns() - t0) / 1e6);
    }
    if (plugins_open(&c, &e) != 0) {
        hx_error("%s", e.msg);
        exit_code = hx_exit_code(e.code);
        goto reports;
    }
    if (build_solution(&c, &e) != 0) {
        hx_error("%s", e.msg);
        exit_code = hx_exit_code(e.code);
        goto reports;
    }

    for (size_t k = 0; k < nsel && !interrupted; k++) {
        const plan_scenario *s = &c.pack->scenarios[sel[k]];
        progress("[%zu/%zu] %s (phase %d)", k + 1, nsel, s->name, s->phase);
        results_scenario *rs = results_scenario_add(c.run, s->name);
        if (!rs) {
            exit_code = HX_EXIT_INFRA;
            break;
        }
        int rc = run_scenario(&c, s, rs);
        if (rc == HX_EINTR) {
            /* An interrupted scenario is not a finished one: the report covers the others. */
            c.run->nscenarios--;
            results_release(&results_type_scenario, rs);
            break;
        }
        if (c.journal && runjson_journal_append(c.journal, rs, &e) != 0)
            hx_warn("journal: %s", e.msg);
        progress("  -> %s", results_status_name(rs->status));
    }

reports:
    if (c.run) {
        char fin[40];
        results_iso8601(fin, sizeof fin, hx_wall_ns());
        results_set_str(&c.run->finished, fin);
        c.run->duration_s = (double)(hx_now_ns() - run_t0) / 1e9;
        c.run->interrupted = interrupted;
        /* An error before the scenarios (a service, the build) is the run's, and its reports say
         * so. */
        if (exit_code && !interrupted) results_run_set_error(c.run, exit_code, e.msg);
        results_run_settle(c.run);
        if (interrupted)
            exit_code = HX_EXIT_INTERRUPTED;
        else if (!exit_code)
            exit_code = c.run->exit_code;
        c.run->exit_code = exit_code;
        hx_err we = {0};
        if (write_reports(&c, &we) != 0) {
            hx_error("cannot write the reports: %s", we.msg);
            if (!exit_code) exit_code = HX_EXIT_INFRA;
        } else {
            if (!o.out) link_latest(c.out_dir);
            fprintf(stderr,
                    "%s: %s, score %.0f; reports in %s/ (run.json, junit.xml, summary.md%s)\n",
                    results_run_outcome(c.run), c.run->pack_name ? c.run->pack_name : o.pack,
                    c.run->score.scored ? c.run->score.value : 0.0, c.out_dir,
                    html_written ? ", report.html" : "");
        }
    }

cleanup:
    if (c.journal) runjson_journal_close(c.journal);
    plugins_close(&c);
    kafkasvc_stop(c.kafka);
    pgsvc_stop(c.pg);
    if (watcher_started) {
        char z = 0;
        ssize_t w = write(wake_pipe[1], &z, 1);
        (void)w;
        pthread_join(wt, NULL);
    }
    if (wake_pipe[0] >= 0) {
        close(wake_pipe[0]);
        close(wake_pipe[1]);
        wake_pipe[0] = wake_pipe[1] = -1;
    }
    for (size_t i = 0; i < c.nmodels; i++)
        cost_model_free(c.models[i]);
    hx_free(c.models);
    results_run_free(c.run);
    solution_release(&c.sol);
    free(c.sol_dir);
    hx_free(c.out_dir);
    hx_free(c.build_error);
    hx_free(sel);
    scen_free(c.engine);
    return exit_code;
}
