/* probe.c - the cost probe: run a scenario's steps again with every dataset k times as large
 * (the same days and batches: timestamp rates grow with the rows), then once more at the test
 * size (the repeat) and once more at k times (again), without checks, each in a database and
 * folders of its own, and keep the usage beside the main run's (docs/cost-models.md, "The
 * probe"). The order is test size (the main run), k times, test size, k times: the fit takes
 * each size's smaller CPU and wall figures, because a busy machine only ever adds CPU time to
 * the same work. Batch scenarios without Kafka only; a failure is a warning, and the cost falls
 * back to a linear projection (or, when a repeat failed, to the sizes' other run). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine_priv.h"

/* One run of the scenario's steps at k times its records (k = 1: the test size) under the
 * database name <scenario>_<suffix> and the folder <scenario dir>/<suffix>. */
static void probe_once(run_scen *main_sc, double k, const char *suffix, run_probe_usage *pu)
{
    run_ctx *c = main_sc->c;
    const plan_scenario *s = main_sc->s;
    memset(pu, 0, sizeof *pu);
    plan_scenario ps = *s;
    plan_dataset *ds = hx_calloc(s->ndatasets + 1, sizeof *ds);
    plan_column **cols = hx_calloc(s->ndatasets + 1, sizeof *cols);
    char name[200];
    snprintf(name, sizeof name, "%s_%s", s->name, suffix);
    run_scen sc;
    memset(&sc, 0, sizeof sc);
    sc.c = c;
    sc.s = &ps;
    sc.probe = true;
    pgsvc_db_name(name, sc.dbname);
    char *pdir = run_path_join(main_sc->dir, suffix);
    sc.landing = pdir ? run_path_join(pdir, "landing") : NULL;
    sc.outdir = pdir ? run_path_join(pdir, "output") : NULL;
    sc.logdir = pdir ? run_path_join(pdir, "logs") : NULL;
    results_run *tmp = results_run_new();
    sc.rs = tmp ? results_scenario_add(tmp, name) : NULL;
    hx_err e = {0};
    int rc = 0;
    bool made_db = false;
    run_acc_init(&sc.acc, hx_now_ns());
    if (!ds || !cols || !sc.logdir || !sc.outdir || !sc.landing || !sc.rs) {
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
    if ((rc = hx_mkdir_p(sc.landing, &e)) || (rc = hx_mkdir_p(sc.outdir, &e)) ||
        (rc = hx_mkdir_p(sc.logdir, &e)) || (rc = gen_new(&ps, &sc.g, &e)))
        goto fail;
    if (c->pg) {
        if ((rc = pgsvc_create_db(c->pg, sc.dbname, NULL, NULL, &e))) goto fail;
        made_db = true;
        if ((rc = pgsvc_connect(c->pg, sc.dbname, &sc.conn, &e))) goto fail;
        PQclear(PQexec(sc.conn, "set timezone = 'UTC'"));
    }
    sc.site = (replay_site){.s = &ps,
                            .g = sc.g,
                            .pg = c->pg,
                            .conn = sc.conn,
                            .dbname = sc.dbname,
                            .landing = sc.landing,
                            .kafka = c->kafka};
    if (k > 1)
        hx_info("%s: cost probe at %gx the records", s->name, k);
    else
        hx_info("%s: cost probe: the test size again", s->name);
    run_phase_add(&sc.acc, "replay (harness)", 0, 0, 0, true);
    if ((rc = run_steps(&sc, &e))) goto fail;
    if (sc.conn && PQstatus(sc.conn) != CONNECTION_OK) {
        PQreset(sc.conn);
        pgsvc_note_session(sc.conn);
    }
    run_add_metrics(&sc);
    pu->input_records = sc.input_records;
    pu->solution_db_bytes = sc.solution_db_bytes;
    pu->output_bytes = run_output_bytes(&sc);
    pu->ran = !run_interrupted() && sc.input_records > 0;
    goto done;
fail:
    if (!run_interrupted())
        hx_warn("%s: cost probe failed (costs projected linearly): %s", s->name, e.msg);
done:
    pu->acc = sc.acc; /* the caller releases it; the phases name their own copies */
    for (size_t i = 0; i < pu->acc.nphases; i++)
        pu->acc.phases[i].name = pu->acc.phase_names[i];
    run_workload_end(&sc);
    if (sc.conn) PQfinish(sc.conn);
    if (made_db && !c->o->keep) {
        hx_err de = {0};
        if (pgsvc_drop_db(c->pg, sc.dbname, &de) != 0 && !run_interrupted())
            hx_warn("cannot drop database %s: %s", sc.dbname, de.msg);
    }
    if (pdir && !c->o->keep) hx_rm_rf(pdir);
    gen_free(sc.g);
    if (cols)
        for (size_t i = 0; i < s->ndatasets; i++)
            hx_free(cols[i]);
    hx_free(cols);
    hx_free(ds);
    results_run_free(tmp);
    hx_free(pdir);
    hx_free(sc.landing);
    hx_free(sc.outdir);
    hx_free(sc.logdir);
}

/* Whether a run at the same size as want_records (and without a failed invocation) can stand
 * beside it; warns naming which run could not. */
static bool probe_same(const run_scen *main_sc, const run_probe_usage *x, uint64_t want_records,
                       const char *what)
{
    if (x->ran && x->input_records == want_records && x->acc.failures == 0) return true;
    if (x->ran && !run_interrupted())
        hx_warn("%s: cost probe's %s measured %llu records (%u failed runs), not %llu: the fit "
                "leaves it out",
                main_sc->s->name, what, (unsigned long long)x->input_records, x->acc.failures,
                (unsigned long long)want_records);
    return false;
}

void run_probe(run_scen *main_sc, double k, run_probe_usage *pu)
{
    run_ctx *c = main_sc->c;
    const plan_scenario *s = main_sc->s;
    memset(pu, 0, sizeof *pu);
    if (!(k > 1) || s->mode != PLAN_MODE_BATCH || run_interrupted()) return;
    for (size_t i = 0; c->targets[i]; i++)
        if (c->targets[i]->stream && replay_target_used(c->targets[i], s)) return;
    probe_once(main_sc, k, "probe", pu);
    if (!pu->ran) return;
    /* The main run was the first test-size sample: the order is small, large, small, large. */
    run_probe_usage rp;
    probe_once(main_sc, 1, "probe_repeat", &rp);
    if (probe_same(main_sc, &rp, main_sc->input_records, "repeat at the test size")) {
        pu->repeat_ran = true;
        pu->repeat.records = rp.input_records;
        pu->repeat.cpu = rp.acc.cpu_user + rp.acc.cpu_sys;
        pu->repeat.wall = rp.acc.wall_sum;
        pu->repeat.db_cpu = rp.acc.db_cpu;
        pu->repeat.db_cpu_served = rp.acc.db_cpu_served;
    }
    run_acc_release(&rp.acc);
    if (run_interrupted()) return;
    probe_once(main_sc, k, "probe_again", &rp);
    if (probe_same(main_sc, &rp, pu->input_records, "second run at the large size")) {
        pu->again_ran = true;
        pu->again.records = rp.input_records;
        pu->again.cpu = rp.acc.cpu_user + rp.acc.cpu_sys;
        pu->again.wall = rp.acc.wall_sum;
        pu->again.db_cpu = rp.acc.db_cpu;
        pu->again.db_cpu_served = rp.acc.db_cpu_served;
    }
    run_acc_release(&rp.acc);
}
