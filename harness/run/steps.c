/* steps.c - plan interpretation: the walk over a scenario's steps. INTO steps go to their replay
 * target (replay_target.h), one drop per batch with per = "batch"; RUN steps run the solution's
 * batch command (or start the service, service.c); SLEEP, WAIT and FAULT steps (each fault to the
 * target that names it). A per-batch INTO followed by a RUN runs the solution after each drop;
 * several per-batch INTOs before one RUN drop together (drop_group). The DSL refuses a per-batch
 * INTO that a later RUN follows only across other steps (scen_scenario.c check_drops). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine_priv.h"

/* One batch invocation of the solution: after drop `batch` of a per-batch step, or -1 for a plain
 * run step. Every invocation of the scenario gets the next index (its logs batch-<index>.*, its
 * run.json entry and cost phase "batch <index>"); HARNESS_BATCH is the drop's number, or that
 * index for a plain run step, so two run steps never share logs or a batch number. */
static int run_solution(run_scen *sc, int batch, hx_err *e)
{
    run_ctx *c = sc->c;
    const plan_scenario *s = sc->s;
    const char *cmd = c->sol.batch;
    if (!cmd)
        return hx_fail(e, HX_EUSAGE,
                       "solution '%s' has no \"batch\" command, and scenario '%s' runs the "
                       "solution in batches (solution = { mode = \"service\" } runs a service)",
                       c->sol.name, s->name);
    int inv = sc->ninv;
    char **env = NULL;
    int rc = run_sol_env(sc, batch >= 0 ? batch : inv, &env, e);
    if (rc) return rc;

    char log_name[32];
    snprintf(log_name, sizeof log_name, "batch-%04d", inv);
    char *db_dir = run_db_dir(sc);
    runner_opts ro = {.shell = cmd,
                      .cwd = c->sol_dir,
                      .env = env,
                      .log_dir = sc->logdir,
                      .log_name = log_name,
                      .sandbox = c->sb,
                      .in_dir = sc->landing,
                      .out_dir = sc->outdir,
                      .db_dir = db_dir,
                      .limits = &c->sol.limits};
    /* --timeout wins; else the stricter of the scenario's limit and the solution's own. */
    int64_t timeout = s->solution_timeout_us ? s->solution_timeout_us : 120 * (int64_t)1000000;
    if (c->sol.timeout_us && c->sol.timeout_us < timeout) timeout = c->sol.timeout_us;
    if (c->o->timeout_us) timeout = c->o->timeout_us;
    run_dbcpu *db = run_db_meter(sc, true);
    runner_proc *p = NULL;
    rc = runner_spawn(&ro, &p, e);
    runner_env_free(env);
    hx_free(db_dir);
    if (rc) {
        run_db_meter_stop(db);
        return rc;
    }
    sc->ninv++;
    run_set_current(p);
    runner_result r;
    memset(&r, 0, sizeof r);
    rc = runner_wait(p, timeout, &r, e);
    run_set_current(NULL);
    runner_proc_free(p);
    run_end_sessions(sc);
    double db_cpu = run_db_meter_stop(db);
    if (rc) {
        runner_result_release(&r);
        return rc;
    }
    run_record_invocation(sc, &r, inv, false, db_cpu);
    runner_result_release(&r);
    return 0;
}

void run_end_sessions(run_scen *sc)
{
    if (!sc->c->pg) return;
    hx_err e = {0};
    int n = 0;
    if (pgsvc_end_sessions(sc->c->pg, sc->dbname, &n, &e) != 0)
        hx_warn("scenario %s: %s", sc->s->name, e.msg);
    else if (n)
        hx_warn(
            "scenario %s: ended %d PostgreSQL session%s of its role that the solution's command "
            "left running after it ended (what they would do later is not the solution's "
            "work)",
            sc->s->name, n, n == 1 ? "" : "s");
}

/* The slot of target t in the table (its site->state entry). */
static size_t target_slot(const run_ctx *c, const replay_target *t)
{
    size_t i = 0;
    while (c->targets[i] && c->targets[i] != t)
        i++;
    return i;
}

/* One batch b (-1: all) of INTO step st into its target, with the stats a step records; the
 * dataset is recorded in run.json at its first batch. */
static int into_batch(run_scen *sc, const plan_step *st, int64_t b, hx_err *e)
{
    run_ctx *c = sc->c;
    const plan_scenario *s = sc->s;
    const plan_dataset *ds = &s->datasets[st->dataset];
    const replay_target *t = replay_target_for(c->targets, st->target);
    if (!t)
        return hx_fail(e, HX_EUSAGE, "%s: no replay target for this step in this version",
                       st->where ? st->where : s->name);
    replay_stats rst;
    memset(&rst, 0, sizeof rst);
    int rc = t->replay(&sc->site, sc->site.state[target_slot(c, t) % 8], st, b, &rst, e);
    if (rc) return rc;
    sc->input_records += rst.rows;
    if (t->stream) {
        sc->stream_sent += rst.rows;
        sc->stream_bytes += rst.bytes;
    }
    char name[160];
    snprintf(name, sizeof name, "replay.%s.rows", ds->name);
    results_stat_add(sc->rs, name, (int64_t)rst.rows);
    if (b <= 0) {
        const char *format = t->format ? t->format : st->format == PLAN_FMT_JSONL ? "jsonl" : "csv";
        results_dataset *rd = results_dataset_add(c->run, s->name, ds->name, format);
        if (rd) {
            rd->rows = (int64_t)ds->rows;
            rd->emissions = (int64_t)gen_emissions(sc->g, st->dataset);
            if (b < 0) results_set_str(&rd->sha256, rst.sha256);
        }
    }
    return 0;
}

/* One INTO step: every batch (or all at once) into its target; with interleave, the solution
 * runs after each drop. */
static int into_step(run_scen *sc, const plan_step *st, bool interleave, hx_err *e)
{
    if (st->batch1) {
        if (st->batch1 > gen_batches(sc->g, st->dataset))
            return hx_fail(e, HX_EUSAGE, "%s: dataset '%s' has no batch %u (it has %u)",
                           st->where ? st->where : sc->s->name, sc->s->datasets[st->dataset].name,
                           st->batch1 - 1, gen_batches(sc->g, st->dataset));
        return into_batch(sc, st, (int64_t)st->batch1 - 1, e);
    }
    uint32_t nb = st->per_batch ? gen_batches(sc->g, st->dataset) : 1;
    for (uint32_t b = 0; b < nb && !run_interrupted(); b++) {
        int rc = into_batch(sc, st, st->per_batch ? (int64_t)b : -1, e);
        if (rc) return rc;
        if (interleave && !sc->acc.timed_out && (rc = run_solution(sc, (int)b, e))) return rc;
    }
    return 0;
}

/* A drop group: per-batch INTO steps first..end-1 followed by a RUN step. Their batches drop
 * together, the solution running after each drop: when every dataset of the group is cut by day,
 * drops line up by calendar day (drop t is the group's earliest day + t; a dataset without
 * records that day drops nothing), else by batch number. */
static int drop_group(run_scen *sc, size_t first, size_t end, hx_err *e)
{
    const plan_scenario *s = sc->s;
    gen *g = sc->g;
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
    for (uint64_t t = 0; t < drops && !run_interrupted(); t++) {
        for (size_t j = 0; j < n; j++) {
            int64_t b = (int64_t)t - off[j];
            if (b < 0 || b >= (int64_t)gen_batches(g, s->steps[first + j].dataset)) continue;
            int rc = into_batch(sc, &s->steps[first + j], b, e);
            if (rc) return rc;
        }
        if (!sc->acc.timed_out) {
            int rc = run_solution(sc, (int)t, e);
            if (rc) return rc;
        }
    }
    return 0;
}

static void sleep_us(int64_t us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static int steps(run_scen *sc, hx_err *e)
{
    run_ctx *c = sc->c;
    const plan_scenario *s = sc->s;
    for (size_t i = 0; i < s->nsteps && !run_interrupted(); i++) {
        const plan_step *st = &s->steps[i];
        int rc = 0;
        size_t end = i;
        while (end < s->nsteps && s->steps[end].kind == PLAN_STEP_INTO && s->steps[end].per_batch)
            end++;
        if (end - i > 1 && end < s->nsteps && s->steps[end].kind == PLAN_STEP_RUN &&
            s->mode != PLAN_MODE_SERVICE) {
            if ((rc = drop_group(sc, i, end, e))) return rc;
            i = end; /* the RUN step was done after each drop */
            continue;
        }
        if (st->kind == PLAN_STEP_INTO) {
            /* A service is started once, by its run step, and sees every batch arrive. */
            bool interleave = st->per_batch && i + 1 < s->nsteps &&
                              s->steps[i + 1].kind == PLAN_STEP_RUN && s->mode != PLAN_MODE_SERVICE;
            rc = into_step(sc, st, interleave, e);
            if (interleave) i++; /* the RUN step was done after each drop */
        } else if (st->kind == PLAN_STEP_RUN && s->mode == PLAN_MODE_SERVICE) {
            if (sc->svc) continue; /* started already: it runs until the plan ends */
            rc = run_service_start(sc, e);
        } else if (st->kind == PLAN_STEP_RUN) {
            rc = run_solution(sc, -1, e);
        } else if (st->kind == PLAN_STEP_WORKLOAD) {
            rc = run_workload(sc, st, e);
        } else if (st->kind == PLAN_STEP_SLEEP) {
            sleep_us(st->sleep_us);
        } else if (st->kind == PLAN_STEP_WAIT && st->wait_check >= 0) {
            run_wait_until(sc, st);
        } else if (st->kind == PLAN_STEP_WAIT) {
            sleep_us(st->quiet_us);
        } else if (st->kind == PLAN_STEP_FAULT && st->fault &&
                   strcmp(st->fault, "solution_restart") == 0) {
            rc = run_service_restart(sc, st, e);
        } else if (st->kind == PLAN_STEP_FAULT) {
            const replay_target *t = replay_target_for_fault(c->targets, st->fault);
            if (!t)
                return hx_fail(e, HX_EUSAGE, "%s: fault '%s' is not built in this version",
                               st->where ? st->where : s->name, st->fault ? st->fault : "?");
            rc = t->fault(&sc->site, sc->site.state[target_slot(c, t) % 8], st, e);
        }
        if (rc) return rc;
    }
    return run_interrupted() ? HX_EINTR : 0;
}

int run_steps(run_scen *sc, hx_err *e)
{
    int64_t t0 = hx_now_ns();
    if (sc->s->mode == PLAN_MODE_SERVICE) run_live_start(sc);
    int rc = steps(sc, e);
    sc->acc.steps_s = (double)(hx_now_ns() - t0) / 1e9;
    if (sc->svc) {
        if (!rc) run_service_drain(sc);
        run_service_stop(sc, false);
    }
    if (sc->live)
        run_live_finish(sc);
    else if (!rc && sc->s->mode == PLAN_MODE_SERVICE)
        run_measure_latency(sc);
    return rc;
}
