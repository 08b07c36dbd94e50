/* scenario.c - one scenario, start to end: its context (run_scen), folders, generator and
 * database; the replay targets set up; the steps (steps.c); the checks (run_checks.c); metrics,
 * price and score; then cleanup. Everything it learns goes into its results_scenario. */
#include <math.h>
#include <string.h>

#include "engine_priv.h"
#include "live.h"

/* Set up every target the scenario uses (a table has at most 8 rows, engine.c checks). */
static int targets_setup(run_scen *sc, bool *done, hx_err *e)
{
    const replay_target *const *t = sc->c->targets;
    for (size_t i = 0; t[i]; i++) {
        if (!replay_target_used(t[i], sc->s)) continue;
        if (t[i]->setup) {
            int rc = t[i]->setup(&sc->site, &sc->site.state[i], e);
            if (rc) return rc;
        }
        done[i] = true;
    }
    return 0;
}

static void targets_teardown(run_scen *sc, const bool *done)
{
    const replay_target *const *t = sc->c->targets;
    for (size_t i = 0; t[i]; i++)
        if (done[i] && t[i]->teardown) t[i]->teardown(&sc->site, sc->site.state[i]);
}

static void scenario_begin(run_scen *sc)
{
    run_ctx *c = sc->c;
    const plan_scenario *s = sc->s;
    results_scenario *rs = sc->rs;
    char started[40];
    results_iso8601(started, sizeof started, hx_wall_ns());
    results_set_str(&rs->started, started);
    results_set_str(&rs->file, s->file);
    rs->phase = s->phase;
    for (size_t i = 0; i < s->ntags; i++)
        results_strv_add(&rs->tags, &rs->ntags, s->tags[i]);
    /* A secret seed (--seed-file, $HARNESS_SEED) stays out of the reports: they are public. */
    if (!c->o->seed_secret) results_seed_add(c->run, s->name, s->seed);
    pgsvc_db_name(s->name, sc->dbname);
    sc->dir = run_path_join(c->out_dir, s->name);
    sc->landing = run_path_join(sc->dir, "landing");
    sc->outdir = run_path_join(sc->dir, "output");
    sc->logdir = run_path_join(sc->dir, "logs");
    sc->site = (replay_site){
        .s = s, .pg = c->pg, .dbname = sc->dbname, .landing = sc->landing, .kafka = c->kafka};
}

static void scenario_end(run_scen *sc)
{
    run_ctx *c = sc->c;
    if (sc->conn) PQfinish(sc->conn);
    if (!c->o->keep) {
        hx_err de = {0};
        if (c->pg && pgsvc_drop_db(c->pg, sc->dbname, &de) != 0 && !run_interrupted())
            hx_warn("cannot drop database %s: %s", sc->dbname, de.msg);
        hx_rm_rf(sc->landing);
        hx_rm_rf(sc->outdir);
    }
    live_free(sc->live);
    sc->live = NULL;
    gen_free(sc->g);
    run_acc_release(&sc->acc);
    hx_free(sc->dir);
    hx_free(sc->landing);
    hx_free(sc->outdir);
    hx_free(sc->logdir);
}

int run_scenario(run_ctx *c, const plan_scenario *s, results_scenario *rs)
{
    int64_t t0 = hx_now_ns();
    run_scen sc;
    memset(&sc, 0, sizeof sc);
    sc.c = c;
    sc.s = s;
    sc.rs = rs;
    run_acc_init(&sc.acc, t0);
    scenario_begin(&sc);
    hx_err e = {0};
    bool set_up[8] = {false};
    int rc;

    if ((rc = hx_mkdir_p(sc.landing, &e)) || (rc = hx_mkdir_p(sc.outdir, &e)) ||
        (rc = hx_mkdir_p(sc.logdir, &e)))
        goto fail;
    if ((rc = gen_new(s, &sc.g, &e))) goto fail;
    if (c->pg) { /* none for a pack that uses no database (engine.c pg_needed) */
        if ((rc = pgsvc_create_db(c->pg, sc.dbname, NULL, NULL, &e))) goto fail;
        if ((rc = pgsvc_connect(c->pg, sc.dbname, &sc.conn, &e))) goto fail;
        PQclear(PQexec(sc.conn, "set timezone = 'UTC'"));
    }
    sc.site.g = sc.g;
    sc.site.conn = sc.conn;
    if ((rc = targets_setup(&sc, set_up, &e))) goto fail;
    int64_t r0 = hx_now_ns();
    double cpu0 = run_self_cpu_seconds();
    /* The replay phase comes first in the list; its numbers are known once the steps ran. */
    run_phase_add(&sc.acc, "replay (harness)", 0, 0, 0, true);
    rc = run_steps(&sc, &e);
    /* A service runs alongside the replay: its lifetime is not taken off the replay's. */
    sc.replay_s = s->mode == PLAN_MODE_SERVICE
                      ? sc.acc.steps_s
                      : (double)(hx_now_ns() - r0) / 1e9 - sc.acc.wall_sum - sc.workload_s;
    /* The harness's own CPU while replaying (generation, COPY, file writes): the work a
     * producer would do in production. The database's share of it is not separable here. */
    sc.acc.phases[0].cpu_seconds = fmax(run_self_cpu_seconds() - cpu0, 0);
    sc.acc.phases[0].wall_seconds = fmax(sc.replay_s, 0);
    sc.acc.phases[0].peak_rss_bytes = run_self_peak_rss();
    if (rc) goto fail;
    if (sc.conn && PQstatus(sc.conn) != CONNECTION_OK) {
        PQreset(sc.conn);
        pgsvc_note_session(sc.conn);
    }
    {
        int64_t k0 = hx_now_ns();
        double kc0 = run_self_cpu_seconds();
        run_dbcpu *kdb0 = run_db_meter(&sc, false);
        /* run_checks bounds each check query on the harness's own session (pgsvc pins the
         * session settings: what the solution set on its role or database does not apply). */
        run_checks(&sc, false);
        double kdb = run_db_meter_stop(kdb0);
        run_phase_add(&sc.acc, "checks (harness)", run_self_cpu_seconds() - kc0 + kdb,
                      (double)(hx_now_ns() - k0) / 1e9, run_self_peak_rss(), true);
    }
    if (run_interrupted()) {
        rc = HX_EINTR;
        goto fail;
    }
    run_add_metrics(&sc);
    {
        /* The cost probe (scale.probe or --probe): only for a scenario that ran cleanly. */
        double k = c->o->probe_set ? c->o->probe : c->pack->scale.probe;
        run_probe_usage pu;
        memset(&pu, 0, sizeof pu);
        if (k > 1 && sc.acc.failures == 0) run_probe(&sc, k, &pu);
        run_price(&sc, &pu);
        if (pu.ran) {
            results_metric_add(rs, "probe.records", (double)pu.input_records, "");
            results_metric_add(rs, "probe.solution.wall.sum", pu.acc.wall_sum, "s");
            results_metric_add(rs, "probe.solution.cpu.total", pu.acc.cpu_user + pu.acc.cpu_sys,
                               "s");
            results_metric_add(rs, "probe.db.cpu.solution", pu.acc.db_cpu, "s");
        }
        if (pu.repeat_ran) {
            results_metric_add(rs, "probe.repeat.records", (double)pu.repeat.records, "");
            results_metric_add(rs, "probe.repeat.solution.wall.sum", pu.repeat.wall, "s");
            results_metric_add(rs, "probe.repeat.solution.cpu.total", pu.repeat.cpu, "s");
            results_metric_add(rs, "probe.repeat.db.cpu.solution", pu.repeat.db_cpu, "s");
        }
        if (pu.again_ran) {
            results_metric_add(rs, "probe.again.records", (double)pu.again.records, "");
            results_metric_add(rs, "probe.again.solution.wall.sum", pu.again.wall, "s");
            results_metric_add(rs, "probe.again.solution.cpu.total", pu.again.cpu, "s");
            results_metric_add(rs, "probe.again.db.cpu.solution", pu.again.db_cpu, "s");
        }
        run_acc_release(&pu.acc);
    }
    /* Checks of what the solution claims about its cost, against what it measured. */
    if (!run_interrupted()) run_checks(&sc, true);
    run_score(&sc);
    run_workload_end(&sc);
    goto done;
fail:
    if (rc == HX_EINTR || run_interrupted()) {
        results_scenario_set_error(rs, HX_EXIT_INTERRUPTED, "interrupted");
        rc = HX_EINTR;
    } else {
        results_scenario_set_error(rs, hx_exit_code(rc), e.msg);
        hx_error("%s: %s", s->name, e.msg);
        rc = 0;
    }
done:
    run_workload_end(&sc);
    targets_teardown(&sc, set_up);
    rs->duration_s = (double)(hx_now_ns() - t0) / 1e9;
    results_scenario_settle(rs);
    scenario_end(&sc);
    return rc;
}
