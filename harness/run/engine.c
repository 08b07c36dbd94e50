/* engine.c - run_engine(): load and validate the pack first (a broken scenario costs no server
 * start), select the scenarios, start PostgreSQL and (when a selected scenario needs it) Kafka,
 * build the solution, run each scenario (scenario.c) into the results model, one after another or
 * --jobs at once (jobs.c), then write the reports of what finished. Interrupts: signals.c. */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "engine_priv.h"
#include "hx_config.h"
#include "rep.h"

void run_progress(const char *fmt, ...)
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

char *run_path_join(const char *a, const char *b)
{
    hx_buf p;
    hx_buf_init(&p);
    hx_buf_printf(&p, "%s/%s", a, b);
    return hx_buf_steal(&p);
}

static bool selected(const run_engine_opts *o, const plan_scenario *s)
{
    if (s->phase > (o->phase ? o->phase : 1)) return false;
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
    r->machine.cores = (int)sampler_cpus(); /* what it may use: affinity and CPU quota */
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

static int load_models(run_ctx *c, hx_err *e)
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

static int build_solution(run_ctx *c, hx_err *e)
{
    if (!c->sol.build) return 0;
    run_progress("building solution: %s", c->sol.build);
    char *logdir = run_path_join(c->out_dir, "build");
    char **env = NULL;
    int rc = hx_mkdir_p(logdir, e);
    if (!rc) rc = run_build_env(c, &env, e);
    runner_opts ro = {.shell = c->sol.build,
                      .cwd = c->sol_dir,
                      .env = env,
                      .log_dir = logdir,
                      .log_name = "build",
                      .no_sampler = true,
                      .sandbox = c->sb,
                      .limits = &c->sol.limits};
    runner_proc *p = NULL;
    if (!rc) rc = runner_spawn(&ro, &p, e);
    runner_env_free(env);
    if (!rc) {
        run_set_current(p);
        runner_result r;
        memset(&r, 0, sizeof r);
        rc = runner_wait(p, (int64_t)600 * 1000000, &r, e);
        run_set_current(NULL);
        if (!rc && (r.disk_over || !r.exited || r.exit_code != 0)) {
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

/* runs/<UTC time>-<pack>, made here with an exclusive mkdir: a run started in the same second
 * as another in this folder takes the next free name, <time>-<pack>-2, -3, ..., so no two runs
 * ever share a folder. NULL with e filled when none can be made. */
static char *make_default_out_dir(const char *pack_name, hx_err *e)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    if (hx_mkdir_p("runs", e) != 0) return NULL;
    for (int i = 1; i <= 1000; i++) {
        char *dir = i == 1 ? hx_asprintf("runs/%s-%s", stamp, pack_name)
                           : hx_asprintf("runs/%s-%s-%d", stamp, pack_name, i);
        if (!dir) {
            hx_fail(e, HX_ENOMEM, "out of memory");
            return NULL;
        }
        if (mkdir(dir, 0755) == 0) return dir;
        int err = errno;
        if (err != EEXIST) {
            hx_fail(e, HX_EIO, "cannot create directory '%s': %s", dir, strerror(err));
            hx_free(dir);
            return NULL;
        }
        hx_free(dir);
    }
    hx_fail(e, HX_EIO, "runs/%s-%s: a thousand runs of this second already; use --out", stamp,
            pack_name);
    return NULL;
}

/* Point runs/latest at out_dir, atomically: a link under a name of this process, renamed over
 * runs/latest, so a concurrent run never sees it missing or half made. */
static void link_latest(const char *out_dir)
{
    const char *slash = strrchr(out_dir, '/');
    if (!slash || strncmp(out_dir, "runs/", 5) != 0) return;
    char tmp[64];
    snprintf(tmp, sizeof tmp, "runs/.latest.tmp-%ld", (long)getpid());
    unlink(tmp);
    if (symlink(slash + 1, tmp) != 0) return;
    if (rename(tmp, "runs/latest") != 0) {
        hx_warn("cannot point runs/latest at %s: %s", out_dir, strerror(errno));
        unlink(tmp);
    }
}

static int write_reports(run_ctx *c, hx_err *e)
{
    results_run_score(c->run);
    char *p = run_path_join(c->out_dir, "run.json");
    int rc = runjson_write(c->run, p, e);
    hx_free(p);
    if (rc) return rc;
    p = run_path_join(c->out_dir, "junit.xml");
    rc = rep_junit_write(c->run, p, e);
    hx_free(p);
    if (rc) return rc;
    p = run_path_join(c->out_dir, "summary.md");
    rc = rep_markdown_write(c->run, p, 0, e);
    hx_free(p);
    if (!rc) {
        p = run_path_join(c->out_dir, "report.html");
        rc = rep_html_write(c->run, p, e);
        c->html_written = rc == 0;
        hx_free(p);
    }
    return rc;
}

/* Kafka starts when the pack names it as a source or sink, or a selected scenario uses it. */
static bool kafka_needed(const run_ctx *c)
{
    const replay_target *k = replay_target_named(c->targets, "kafka");
    if (!k) return false;
    for (size_t i = 0; i < c->pack->nsources; i++)
        if (strcmp(c->pack->sources[i], k->name) == 0) return true;
    for (size_t i = 0; i < c->pack->nsinks; i++)
        if (strcmp(c->pack->sinks[i], k->name) == 0) return true;
    for (size_t i = 0; i < c->pack->nscenarios; i++)
        if (selected(c->o, &c->pack->scenarios[i]) && replay_target_used(k, &c->pack->scenarios[i]))
            return true;
    return false;
}

/* PostgreSQL is started when challenge.lua declares it (a source or sink) or a selected scenario
 * needs a database anyway: a step into it or its change stream, a query workload, a check that
 * reads a table. A Kafka- or files-only pack runs without one (no PG* for the solution). */
static bool pg_needed(const run_ctx *c)
{
    for (size_t i = 0; i < c->pack->nsources; i++)
        if (strcmp(c->pack->sources[i], "postgres") == 0) return true;
    for (size_t i = 0; i < c->pack->nsinks; i++)
        if (strcmp(c->pack->sinks[i], "postgres") == 0) return true;
    const replay_target *pg = replay_target_named(c->targets, "postgres");
    const replay_target *cdc = replay_target_for(c->targets, PLAN_TGT_CDC);
    for (size_t i = 0; i < c->pack->nscenarios; i++) {
        const plan_scenario *s = &c->pack->scenarios[i];
        if (!selected(c->o, s)) continue;
        if (s->workload || (pg && replay_target_used(pg, s)) || (cdc && replay_target_used(cdc, s)))
            return true;
        for (size_t j = 0; j < s->nchecks; j++)
            if (chk_needs_db(&s->checks[j])) return true;
    }
    return false;
}

/* Load the pack and the solution; exit code, or 0. */
static int load(run_ctx *c)
{
    const run_engine_opts *o = c->o;
    hx_err e = {0};
    scen_opts so = {.has_seed = o->has_seed, .seed = o->seed, .unsafe_lua = o->unsafe_lua};
    if (scen_new(&so, &c->engine, &e) != 0) {
        hx_error("%s", e.msg);
        return HX_EXIT_INFRA;
    }
    if (scen_load_pack(c->engine, o->pack, &e) != 0 || scen_problem_count(c->engine)) {
        for (size_t i = 0; i < scen_problem_count(c->engine); i++)
            hx_error("%s", scen_problem_detail(c->engine, i));
        if (!scen_problem_count(c->engine)) hx_error("%s", e.msg);
        return HX_EXIT_USAGE;
    }
    c->pack = scen_pack(c->engine);
    if (solution_load(o->solution, &c->sol, &e) != 0) {
        hx_error("%s", e.msg);
        return hx_exit_code(e.code);
    }
    c->sol_dir = realpath(o->solution, NULL);
    return 0;
}

static void run_begin(run_ctx *c)
{
    const run_engine_opts *o = c->o;
    char started[40];
    results_iso8601(started, sizeof started, hx_wall_ns());
    results_set_str(&c->run->started, started);
    for (int i = 0; i < o->argc; i++)
        results_strv_add(&c->run->argv, &c->run->nargv, o->argv[i]);
    results_set_str(&c->run->harness_version, HX_VERSION);
    results_set_str(&c->run->harness_commit, HX_COMMIT);
    c->run->plugin_abi = HX_PLUGIN_ABI_VERSION;
    results_set_str(&c->run->pack_name, c->pack->name);
    results_set_str(&c->run->pack_dir, o->pack);
    results_set_str(&c->run->level, c->pack->level);
    results_set_str(&c->run->solution_name, c->sol.name);
    results_set_str(&c->run->solution_dir, o->solution);
    c->run->jobs = o->jobs > 1 ? o->jobs : 1;
    machine_info(c->run);
}

static void sandbox_warn(void *ud, const char *msg)
{
    (void)ud;
    hx_warn("%s", msg);
}

/* The box every solution command runs in (docs/solutions.md "Threat model"); run.json records
 * which. */
static int open_sandbox(run_ctx *c, hx_err *e)
{
    sandbox_opts so = {
        .mode = c->o->sandbox, .sol_dir = c->sol_dir, .run_dir = c->out_dir, .warn = sandbox_warn};
    int rc = sandbox_new(&so, &c->sb, e);
    if (rc) return rc;
    const char *iso = sandbox_active(c->sb)           ? "bwrap"
                      : c->o->sandbox == SANDBOX_NONE ? "none"
                                                      : "process-group";
    results_set_str(&c->run->isolation, iso);
    if (!sandbox_active(c->sb) && c->o->sandbox == SANDBOX_NONE)
        run_progress("solution not sandboxed (--sandbox none): trusted run");
    return 0;
}

/* Start PostgreSQL and Kafka when needed, the plugin path and the solution's build; exit code or
 * 0. */
static int services_start(run_ctx *c)
{
    hx_err *e = &c->err;
    pgsvc_opts po = {.url = c->o->pg_url};
    int64_t t0 = hx_now_ns();
    if (!pg_needed(c)) {
        results_set_str(&c->run->database, "none");
        if (c->o->pg_url)
            hx_warn("--pg is not used: the pack declares no PostgreSQL source or sink and no "
                    "scenario reads a database");
        else
            run_progress("postgres not started: the pack declares no PostgreSQL source or sink "
                         "and no scenario reads a database");
    } else if (pgsvc_start(&po, &c->pg, e) != 0) {
        hx_error("%s", e->msg);
        return run_interrupted() ? HX_EXIT_INTERRUPTED : hx_exit_code(e->code);
    } else
        results_set_str(&c->run->database, c->pg->embedded ? "embedded" : "external");
    if (c->pg && (hx_g.verbose || !hx_g.quiet))
        run_progress("postgres %s %s on %s:%s ready in %.0f ms%s", c->pg->version,
                     c->pg->embedded ? "(embedded)" : "(--pg)", c->pg->host, c->pg->port,
                     (double)(hx_now_ns() - t0) / 1e6,
                     c->pg->embedded ? (c->pg->cache_hit ? ", initdb cache hit" : ", initdb") : "");
    if (kafka_needed(c)) {
        kafkasvc_opts ko = {.bootstrap = c->o->kafka_url};
        t0 = hx_now_ns();
        if (kafkasvc_start(&ko, &c->kafka, e) != 0) {
            hx_error("%s", e->msg);
            return run_interrupted() ? HX_EXIT_INTERRUPTED : hx_exit_code(e->code);
        }
        run_progress("kafka %s %s ready in %.0f ms", kafkasvc_bootstrap(c->kafka),
                     kafkasvc_is_mock(c->kafka) ? "(mock)" : "(--kafka)",
                     (double)(hx_now_ns() - t0) / 1e6);
    }
    if (open_sandbox(c, e) != 0 || run_plugins_open(c, e) != 0 || build_solution(c, e) != 0) {
        hx_error("%s", e->msg);
        return hx_exit_code(e->code);
    }
    return 0;
}

static void scenarios(run_ctx *c, const size_t *sel, size_t nsel, int *exit_code)
{
    hx_err e = {0};
    for (size_t k = 0; k < nsel && !run_interrupted(); k++) {
        const plan_scenario *s = &c->pack->scenarios[sel[k]];
        run_progress("[%zu/%zu] %s (phase %d)", k + 1, nsel, s->name, s->phase);
        results_scenario *rs = results_scenario_add(c->run, s->name);
        if (!rs) {
            *exit_code = HX_EXIT_INFRA;
            break;
        }
        int rc = run_scenario(c, s, rs);
        if (rc == HX_EINTR) {
            /* An interrupted scenario is not a finished one: the report covers the others. */
            c->run->nscenarios--;
            results_release(&results_type_scenario, rs);
            break;
        }
        if (c->journal && runjson_journal_append(c->journal, rs, &e) != 0)
            hx_warn("journal: %s", e.msg);
        run_progress("  -> %s", results_status_name(rs->status));
    }
}

static int finish(run_ctx *c, int64_t run_t0, int exit_code)
{
    char fin[40];
    results_iso8601(fin, sizeof fin, hx_wall_ns());
    results_set_str(&c->run->finished, fin);
    c->run->duration_s = (double)(hx_now_ns() - run_t0) / 1e9;
    c->run->interrupted = run_interrupted();
    /* An error before the scenarios (a service, the build) is the run's, and its reports say
     * so. */
    if (exit_code && !run_interrupted()) results_run_set_error(c->run, exit_code, c->err.msg);
    results_run_settle(c->run);
    if (run_interrupted())
        exit_code = HX_EXIT_INTERRUPTED;
    else if (!exit_code)
        exit_code = c->run->exit_code;
    c->run->exit_code = exit_code;
    hx_err we = {0};
    if (write_reports(c, &we) != 0) {
        hx_error("cannot write the reports: %s", we.msg);
        if (!exit_code) exit_code = HX_EXIT_INFRA;
    } else {
        if (!c->o->out) link_latest(c->out_dir);
        fprintf(stderr, "%s: %s, score %.0f; reports in %s/ (run.json, junit.xml, summary.md%s)\n",
                results_run_outcome(c->run), c->run->pack_name ? c->run->pack_name : c->o->pack,
                c->run->score.scored ? c->run->score.value : 0.0, c->out_dir,
                c->html_written ? ", report.html" : "");
    }
    return exit_code;
}

static void release(run_ctx *c)
{
    if (c->journal) runjson_journal_close(c->journal);
    run_plugins_close(c);
    kafkasvc_stop(c->kafka);
    pgsvc_stop(c->pg);
    sandbox_free(c->sb);
    run_signals_remove();
    for (size_t i = 0; i < c->nmodels; i++)
        cost_model_free(c->models[i]);
    hx_free(c->models);
    results_run_free(c->run);
    solution_release(&c->sol);
    free(c->sol_dir);
    hx_free(c->out_dir);
    hx_free(c->build_error);
    scen_free(c->engine);
}

int run_engine(const run_engine_opts *o)
{
    int64_t run_t0 = hx_now_ns();
    run_ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.targets = o->targets ? o->targets : replay_targets_builtin;
    hx_err e = {0};
    size_t nsel = 0, *sel = NULL, ntargets = 0;
    while (c.targets[ntargets])
        ntargets++;
    if (ntargets > 8) {
        hx_error("run: at most 8 replay targets, the table has %zu", ntargets);
        return HX_EXIT_USAGE;
    }
    int exit_code = load(&c);
    if (exit_code) goto cleanup;

    sel = hx_calloc(c.pack->nscenarios + 1, sizeof *sel);
    for (size_t i = 0, k = 0; sel && i < c.pack->nscenarios; i++) {
        if (!selected(o, &c.pack->scenarios[i])) continue;
        if (o->shard_n > 1 && (int)(k++ % (size_t)o->shard_n) != o->shard_i - 1) continue;
        sel[nsel++] = i;
    }
    if (nsel == 0) {
        hx_error("no scenario of '%s' matches the selection (see 'harness list %s')", o->pack,
                 o->pack);
        exit_code = HX_EXIT_USAGE;
        goto cleanup;
    }
    if (!(c.run = results_run_new())) {
        exit_code = HX_EXIT_INFRA;
        goto cleanup;
    }
    run_begin(&c);
    if (load_models(&c, &e) != 0) {
        hx_error("%s", e.msg);
        exit_code = hx_exit_code(e.code);
        goto cleanup;
    }
    c.out_dir =
        o->out ? hx_strdup(o->out) : make_default_out_dir(c.pack->name ? c.pack->name : "pack", &e);
    if (!c.out_dir && o->out) hx_fail(&e, HX_ENOMEM, "out of memory");
    if (!c.out_dir || hx_mkdir_p(c.out_dir, &e) != 0) {
        hx_error("%s", e.msg);
        exit_code = HX_EXIT_INFRA;
        goto cleanup;
    }
    char *jp = run_path_join(c.out_dir, "run.journal.jsonl");
    if (runjson_journal_open(jp, c.run, &c.journal, &e) != 0) hx_warn("no journal: %s", e.msg);
    hx_free(jp);

    run_signals_install();
    run_reclaim_cgroups(NULL, sandbox_warn, NULL);
    exit_code = services_start(&c);
    if (!exit_code && o->jobs > 1)
        run_jobs(&c, sel, nsel, &exit_code);
    else if (!exit_code)
        scenarios(&c, sel, nsel, &exit_code);
    exit_code = finish(&c, run_t0, exit_code);

cleanup:
    release(&c);
    hx_free(sel);
    return exit_code;
}
