/* price.c - pricing and score glue: the scenario's usage priced under every price sheet
 * (cost.h), its thresholds and the pack's budgets judged against its metrics, and the score
 * (score.h) from the checks and those thresholds. */
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "engine_priv.h"
#include "rep.h"
#include "score.h"
#include "units.h"

/* Judge thresholds (or budgets) t into run.json and out (the score's). One whose metric has no
 * value fails when the metric applies to the scenario, saying why it could not be measured, and
 * is skipped (and left out of the score) only when it does not apply. */
static void add_thresholds(run_scen *sc, const plan_threshold *t, size_t n, score_threshold *out,
                           size_t *nout)
{
    results_scenario *rs = sc->rs;
    for (size_t i = 0; i < n; i++) {
        double actual = NAN;
        const char *unit = "";
        for (size_t m = 0; m < rs->nmetrics; m++)
            if (strcmp(rs->metrics[m].name, t[i].metric) == 0) {
                actual = rs->metrics[m].value;
                unit = rs->metrics[m].unit ? rs->metrics[m].unit : "";
            }
        char why[400] = "";
        bool applies = !isnan(actual) || run_metric_absent(sc, t[i].metric, why, sizeof why);
        char cur[16] = "";
        if (isnan(actual)) { /* no metric to take the unit from: the limit's is its dimension's */
            units_dim d = units_metric_dim(t[i].metric);
            unit = d == UNITS_DURATION ? "s" : d == UNITS_BYTES ? "bytes" : "";
            /* money: the currency the name asks for (cost.monthly.eur: EUR), as a sheet says it */
            const char *dot = strrchr(t[i].metric, '.');
            if (d == UNITS_MONEY && dot && strncmp(t[i].metric, "cost.", 5) == 0 &&
                strlen(dot + 1) < sizeof cur) {
                for (size_t k = 0; dot[1 + k]; k++)
                    cur[k] = (char)toupper((unsigned char)dot[1 + k]);
                unit = cur;
            }
        }
        results_status st = !applies                                              ? RESULTS_SKIP
                            : score_threshold_passes(t[i].op, t[i].value, actual) ? RESULTS_PASS
                                                                                  : RESULTS_FAIL;
        results_threshold *rt = results_threshold_add(rs, t[i].metric, units_op_text(t[i].op),
                                                      t[i].value, actual, unit, st);
        if (rt) results_set_str(&rt->where, t[i].where);
        if (rt && why[0]) results_set_str(&rt->note, why);
        if (st == RESULTS_FAIL) { /* on the terminal beside the failed checks, with its value */
            char lim[64], act[64];
            rep_value(lim, sizeof lim, t[i].value, unit);
            rep_value(act, sizeof act, actual, unit);
            run_progress("  fail  %s %s %s: %s%s%s (%s)", t[i].metric, units_op_text(t[i].op), lim,
                         isnan(actual) ? "not measured" : act, why[0] ? ": " : "", why,
                         t[i].where ? t[i].where : "");
        }
        if (!applies) continue;
        out[*nout].metric = t[i].metric;
        out[*nout].op = t[i].op;
        out[*nout].limit = t[i].value;
        out[*nout].actual = actual;
        (*nout)++;
    }
}

/* Does the pack read or write this kind of source/sink ("postgres", "kafka", "files")? */
static bool pack_uses(const plan_pack *p, const char *kind)
{
    for (size_t i = 0; i < p->nsources; i++)
        if (strcmp(p->sources[i], kind) == 0) return true;
    for (size_t i = 0; i < p->nsinks; i++)
        if (strcmp(p->sinks[i], kind) == 0) return true;
    return false;
}

/* Does the pack write this kind of sink ("files", "kafka")? */
static bool pack_sinks(const plan_pack *p, const char *kind)
{
    for (size_t i = 0; i < p->nsinks; i++)
        if (strcmp(p->sinks[i], kind) == 0) return true;
    return false;
}

/* Add the bytes of the regular files under path (depth-first, links not followed) to *sum. */
static void add_tree(const char *path, int depth, uint64_t *sum)
{
    struct stat st;
    if (depth > 64 || lstat(path, &st) != 0) return;
    if (S_ISREG(st.st_mode)) {
        *sum += (uint64_t)st.st_size;
        return;
    }
    if (!S_ISDIR(st.st_mode)) return;
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char *child = run_path_join(path, de->d_name);
        if (child) add_tree(child, depth + 1, sum);
        hx_free(child);
    }
    closedir(d);
}

uint64_t run_dir_bytes(const char *dir)
{
    uint64_t sum = 0;
    if (dir) add_tree(dir, 0, &sum);
    return sum;
}

uint64_t run_output_bytes(const run_scen *sc)
{
    return pack_sinks(sc->c->pack, "files") ? run_dir_bytes(sc->outdir) : 0;
}

/* Partitions a production deployment keeps: each topic the scenario replays into with the
 * partitions its step declares (1 when it leaves them to the harness, which sizes the mock's
 * for capacity, not for production), and each output topic its checks read with as many as the
 * largest input topic. */
static unsigned stream_partitions(const plan_scenario *s)
{
    unsigned total = 0, most = 1;
    for (size_t i = 0; i < s->nsteps; i++) {
        const plan_step *st = &s->steps[i];
        if (st->kind != PLAN_STEP_INTO || st->target != PLAN_TGT_KAFKA) continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = s->steps[j].kind == PLAN_STEP_INTO && s->steps[j].target == PLAN_TGT_KAFKA &&
                   strcmp(s->steps[j].topic, st->topic) == 0;
        if (seen) continue;
        unsigned n = st->partitions > 0 ? (unsigned)st->partitions : 1;
        total += n;
        most = n > most ? n : most;
    }
    for (size_t i = 0; i < s->nchecks; i++) {
        const plan_check *pc = &s->checks[i];
        if (!replay_check_on_topic(pc) || !pc->table) continue;
        bool seen = false;
        for (size_t j = 0; j < s->nsteps && !seen; j++)
            seen = s->steps[j].kind == PLAN_STEP_INTO && s->steps[j].target == PLAN_TGT_KAFKA &&
                   strcmp(s->steps[j].topic, pc->table) == 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = replay_check_on_topic(&s->checks[j]) && s->checks[j].table &&
                   strcmp(s->checks[j].table, pc->table) == 0;
        if (!seen) total += most;
    }
    return total;
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

/* u's CPU and wall figures, each the smaller of u's and another run's at the same size. */
static void probe_min(cost_usage *u, const run_probe_sample *x)
{
    u->cpu_seconds = fmin(u->cpu_seconds, x->cpu);
    u->wall_seconds = fmin(u->wall_seconds, x->wall);
    u->db_cpu_steps_seconds = fmin(u->db_cpu_steps_seconds, x->db_cpu);
    u->db_cpu_served_seconds = fmin(u->db_cpu_served_seconds, x->db_cpu_served);
}

void run_price(run_scen *sc, const run_probe_usage *pu)
{
    run_ctx *c = sc->c;
    const run_acc *acc = &sc->acc;
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
        pr.db_cpu_served_seconds = pu->acc.db_cpu_served;
        pr.db_storage_bytes = pu->solution_db_bytes;
        pr.landing_bytes = pu->output_bytes;
        pr.input_records = pu->input_records;
        pr.phases = pu->acc.phases;
        pr.nphases = pu->acc.nphases;
    }
    cost_usage u = {0};
    if (pu && pu->ran) u.probe = &pr;
    u.cpu_seconds = acc->cpu_user + acc->cpu_sys;
    u.wall_seconds = acc->wall_sum;
    u.wall_paced = sc->s->mode == PLAN_MODE_SERVICE;
    u.invocations = acc->n;
    u.peak_rss_bytes = acc->rss_peak;
    u.mean_rss_bytes = acc->n ? acc->rss_mean_sum / acc->n : 0;
    /* The database's CPU during the solution's runs is the solution's work too. */
    u.uses_db = pack_uses(c->pack, "postgres");
    u.db_cpu_steps_seconds = acc->db_cpu;
    u.db_cpu_served_seconds = acc->db_cpu_served;
    u.db_storage_bytes = sc->solution_db_bytes;
    u.uses_streaming = pack_uses(c->pack, "kafka");
    if (u.uses_streaming) {
        /* In: what the replay produced; out: the solution reads its input once. */
        u.kafka_bytes_in = sc->stream_bytes;
        u.kafka_bytes_out = sc->stream_bytes;
        u.kafka_messages_in = sc->stream_sent;
        u.kafka_partitions = stream_partitions(sc->s);
        results_metric_add(sc->rs, "replay.stream.bytes", (double)sc->stream_bytes, "bytes");
        results_metric_add(sc->rs, "replay.stream.records", (double)sc->stream_sent, "");
        results_metric_add(sc->rs, "stream.partitions", (double)u.kafka_partitions, "");
    }
    /* A pack whose sink is files keeps the solution's output a month. */
    u.landing_bytes = run_output_bytes(sc);
    if (u.landing_bytes)
        results_metric_add(sc->rs, "solution.output.bytes", (double)u.landing_bytes, "bytes");
    u.input_records = sc->input_records;
    u.correct_output_records = sc->correct;
    u.phases = acc->phases;
    u.nphases = acc->nphases;
    if (pu && pu->ran) {
        /* Each size was measured twice, interleaved (probe.c): the fit takes each size's smaller
         * figure, because contention for the CPU only ever adds CPU time to the same work. */
        if (pu->repeat_ran) probe_min(&u, &pu->repeat);
        if (pu->again_ran) probe_min(&pr, &pu->again);
    }
    for (size_t m = 0; m < c->nmodels; m++) {
        cost_breakdown b;
        memset(&b, 0, sizeof b);
        hx_err e = {0};
        if (cost_price(c->models[m], &u, &c->pack->scale, &b, &e) != 0) {
            hx_warn("pricing under '%s' failed: %s", c->models[m]->name, e.msg);
            continue;
        }
        /* The first model is the primary one that unqualified budgets refer to. */
        price_record(sc->rs, &b, m == 0);
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

void run_score(run_scen *sc)
{
    const plan_scenario *s = sc->s;
    const plan_pack *pack = sc->c->pack;
    size_t nth = s->nthresholds + pack->nbudgets, nref = pack->nreferences;
    score_threshold *th = hx_calloc(nth + nref + 1, sizeof *th);
    size_t n = 0;
    if (!th) return;
    add_thresholds(sc, s->thresholds, s->nthresholds, th, &n);
    add_thresholds(sc, pack->budgets, pack->nbudgets, th, &n);
    add_references(sc->rs, pack, th + n);
    score(sc->rs, th, n, th + n, nref);
    hx_free(th);
}
