/* run_checks.c - check glue: run a scenario's checks (check.h) into the results, with the
 * services the checks use: the topic reader (the scenario's Kafka topics), plugin checks
 * (plug.h) and the plugins' ledger service. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_priv.h"
#include "live.h"

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

/* ---- the checks' topic reader: the scenario's topic, read whole (live spool or cluster) ---- */

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
    run_scen *sc = ud;
    kafkasvc *k = sc->c->kafka;
    char name[300];
    replay_kafka_topic(sc->s, topic, name, sizeof name);
    /* An output topic the live consumer followed is read from its spool: what the mock trimmed
     * after the consumer read it is still there (live.h). */
    if (sc->live) {
        int lr = live_read_topic(sc->live, name, each, each_ud, e);
        if (lr) return lr < 0 ? lr : 0;
    }
    struct topic_fwd f = {each, each_ud};
    kafkasvc_consumed got;
    int rc = kafkasvc_consume(k, name, 0, 120000, topic_fwd_msg, &f, &got, e);
    if (!rc && got.trimmed > 0)
        rc = hx_fail(e, HX_EINFRA,
                     "topic '%s': %lld messages were gone from the log before the check read it "
                     "(%s): an infrastructure limit, not the solution's data loss; give the topic "
                     "more partitions",
                     name, (long long)got.trimmed,
                     kafkasvc_is_mock(k) ? "the mock cluster keeps 5 MiB a partition"
                                         : "the cluster's retention");
    return rc;
}

/* ---- plugin checks ---- */

static plug_plugin *plugin_get(run_ctx *c, const char *name, hx_err *e)
{
    for (size_t i = 0; i < c->nplugins; i++)
        if (strcmp(c->plugins[i]->name, name) == 0) return c->plugins[i];
    plug_plugin *p = NULL;
    if (plug_open(name, &c->plugin_path, c->o->no_isolate ? PLUG_LOAD_HERE : PLUG_LOAD_WORKER, &p,
                  e) != 0)
        return NULL;
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
    run_scen *sc = ud;
    const plan_scenario *s = sc->s;
    int ds = plan_scenario_dataset(s, dataset);
    if (ds < 0) return hx_fail(e, HX_EUSAGE, "no dataset '%s' in scenario '%s'", dataset, s->name);
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
        q.col = plan_dataset_column(&s->datasets[ds], column);
        if (q.col < 0)
            return hx_fail(e, HX_EUSAGE, "no column '%s' in dataset '%s'", column, dataset);
    }
    ledger_result r;
    int rc = ledger_eval(sc->g, &q, &r, e);
    if (rc) return rc;
    *out = r.is_null ? NAN : r.number;
    ledger_result_release(&r);
    return 0;
}

/* A plugin's measurements into the scenario's results: metric `name` of plugin p as
 * "plugin.<p>.<name>" (thresholds, compare and the reports read it; when two checks of one plugin
 * record the same name, the later check's value stands), each histogram likewise, its values in
 * seconds (the plugin ABI's unit for them) recorded at 1 us resolution up to an hour, with its
 * p50, p90, p99 and max as metrics "plugin.<p>.<name>.p99". */
static void plugin_measurements(run_scen *sc, const char *plugin, const plug_result *r)
{
    char name[256];
    for (size_t i = 0; i < r->nmetrics; i++) {
        const plug_metric *m = &r->metrics[i];
        snprintf(name, sizeof name, "plugin.%s.%s", plugin, m->name ? m->name : "");
        results_metric *have = NULL;
        for (size_t k = 0; k < sc->rs->nmetrics && !have; k++)
            if (sc->rs->metrics[k].name && strcmp(sc->rs->metrics[k].name, name) == 0)
                have = &sc->rs->metrics[k];
        if (have)
            have->value = m->value;
        else
            results_metric_add(sc->rs, name, m->value, m->unit ? m->unit : "");
    }
    for (size_t i = 0; i < r->nhists; i++) {
        const plug_series *ps = &r->hists[i];
        hist h;
        if (!ps->n || hist_init(&h, 1000, (int64_t)3600 * 1000000000, 3) != 0) continue;
        for (size_t k = 0; k < ps->n; k++)
            if (ps->values[k] >= 0 && ps->values[k] < 3600)
                hist_record(&h, llround(ps->values[k] * 1e9));
        snprintf(name, sizeof name, "plugin.%s.%s", plugin, ps->name ? ps->name : "");
        char *enc = hist_count(&h) > 0 ? hist_encode(&h) : NULL;
        results_hist *rh = enc ? results_hist_add(sc->rs, name, "s", enc) : NULL;
        hx_free(enc);
        if (rh) {
            rh->count = hist_count(&h);
            rh->min = (double)hist_min(&h) / 1e9;
            rh->max = (double)hist_max(&h) / 1e9;
            rh->mean = hist_mean(&h) / 1e9;
            rh->p50 = (double)hist_percentile(&h, 50) / 1e9;
            rh->p90 = (double)hist_percentile(&h, 90) / 1e9;
            rh->p99 = (double)hist_percentile(&h, 99) / 1e9;
            rh->p999 = (double)hist_percentile(&h, 99.9) / 1e9;
            /* Its percentiles as metrics, for thresholds: plugin.<p>.<name>.p99 < 500ms. */
            const char *sfx[] = {"p50", "p90", "p99", "max"};
            const double v[] = {rh->p50, rh->p90, rh->p99, rh->max};
            for (size_t k = 0; k < 4; k++) {
                char mn[300];
                snprintf(mn, sizeof mn, "%s.%s", name, sfx[k]);
                results_metric_add(sc->rs, mn, v[k], "s");
            }
        }
        hist_release(&h);
    }
}

static void plugin_check(void *ud, const plan_check *pc, chk_outcome *out)
{
    run_scen *sc = ud;
    run_ctx *c = sc->c;
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
                        .conn = (struct pg_conn *)sc->conn,
                        .ledger = plugin_ledger,
                        .ledger_ud = sc};
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
    plugin_measurements(sc, pc->plugin, &r);
    plug_result_release(&r);
}

int run_plugins_open(run_ctx *c, hx_err *e)
{
    plug_path_init(&c->plugin_path);
    const char *extra[1] = {c->o->plugin_path};
    if (plug_path_standard(&c->plugin_path, c->o->pack, extra, c->o->plugin_path ? 1 : 0) != 0)
        return hx_fail(e, HX_ENOMEM, "out of memory building the plugin search path");
    return 0;
}

void run_plugins_close(run_ctx *c)
{
    for (size_t i = 0; i < c->nplugins; i++)
        plug_close(c->plugins[i]);
    hx_free(c->plugins);
    plug_path_release(&c->plugin_path);
}

/* ---- the checks ---- */

/* The lock_timeout of the harness's own queries on the session after the checks (sizes for the
 * metrics): a lock the solution left held costs them this long, not the check default. */
#define RUN_OWN_LOCK_TIMEOUT_US (5 * 1000000LL)

static void add_check(run_scen *sc, const plan_check *pc, const chk_outcome *o)
{
    char kind[128];
    if (pc->kind == PLAN_CHK_PLUGIN)
        snprintf(kind, sizeof kind, "plugin:%s.%s", pc->plugin ? pc->plugin : "?",
                 pc->plugin_check ? pc->plugin_check : "?");
    else
        snprintf(kind, sizeof kind, "%s", chk_kind_name(pc->kind));
    results_check *k =
        results_check_add(sc->rs, pc->name, kind,
                          pc->severity == PLAN_SEV_WARN ? RESULTS_SEV_WARN : RESULTS_SEV_ERROR,
                          status_of_chk(o->status));
    if (!k) return;
    results_set_str(&k->expected, o->expected);
    results_set_str(&k->actual, o->actual);
    results_set_str(&k->message, o->message);
    results_set_str(&k->where, pc->where);
    k->duration_s = o->seconds;
    if (o->sample.ncols && o->sample.nrows) {
        results_check_sample_columns(k, (const char *const *)o->sample.cols, o->sample.ncols);
        for (size_t r = 0; r < o->sample.nrows; r++) {
            const char *cells[16];
            for (size_t col = 0; col < o->sample.ncols && col < 16; col++) {
                const char *v = o->sample.cells[r * o->sample.ncols + col];
                cells[col] = v ? v : "NULL";
            }
            results_check_sample_row(k, cells);
        }
    }
    if (pc->kind == PLAN_CHK_DIFF || pc->kind == PLAN_CHK_QUARANTINE || o->missing || o->extra ||
        o->mismatched) {
        results_check_count(k, "missing", (int64_t)o->missing);
        results_check_count(k, "extra", (int64_t)o->extra);
        results_check_count(k, "mismatched", (int64_t)o->mismatched);
    }
    if (o->doubled) results_check_count(k, "doubled", (int64_t)o->doubled);
}

/* The live consumer's times for grouped topic checks (chk_ctx.recv_ns, sent_ns). */
static int64_t times_recv(void *ud, const char *topic, int32_t partition, int64_t offset)
{
    run_scen *sc = ud;
    char name[300];
    replay_kafka_topic(sc->s, topic, name, sizeof name);
    return live_recv_ns(sc->live, name, partition, offset);
}

static int64_t times_sent(void *ud, size_t dataset, uint64_t id)
{
    run_scen *sc = ud;
    for (size_t i = 0; i < sc->s->nsteps; i++) {
        const plan_step *st = &sc->s->steps[i];
        if (st->kind != PLAN_STEP_INTO || st->target != PLAN_TGT_KAFKA || st->dataset != dataset)
            continue;
        char name[300];
        replay_kafka_topic(sc->s, st->topic, name, sizeof name);
        return live_intended(sc->live, name, id);
    }
    return -1;
}

/* What a check of scenario sc is given. */
static chk_ctx check_ctx(run_scen *sc)
{
    run_ctx *c = sc->c;
    /* What the targets saw in the background, up to now (the CDC audit slot, read here). */
    const chg_observed *cdc = NULL;
    for (size_t i = 0; c->targets[i] && i < 8; i++)
        if (c->targets[i]->observed && replay_target_used(c->targets[i], sc->s) && !cdc)
            cdc = c->targets[i]->observed(&sc->site, sc->site.state[i]);
    return (chk_ctx){.conn = sc->conn,
                     .cdc = cdc,
                     .g = sc->g,
                     .s = sc->s,
                     .solution_dir = c->sol_dir,
                     .output_dir = sc->outdir,
                     .plugin = plugin_check,
                     .plugin_ud = sc,
                     .topic = c->kafka ? read_topic : NULL,
                     .topic_ud = sc,
                     .recv_ns = sc->live ? times_recv : NULL,
                     .sent_ns = sc->live ? times_sent : NULL,
                     .times_ud = sc,
                     .interrupted = run_interrupted};
}

bool run_wait_until(run_scen *sc, const plan_step *st)
{
    const plan_check *pc = &sc->s->checks[st->wait_check];
    chk_ctx cc;
    int64_t end = hx_now_ns() + st->timeout_us * 1000;
    int cancel_slot = run_cancel_add(sc->conn);
    hx_err e = {0};
    bool passed = false;
    while (!passed && !run_interrupted()) {
        cc = check_ctx(sc); /* what the CDC audit slot holds by now */
        cc.recv_ns = NULL;  /* the live consumer is still reading: no lag measured here */
        if (sc->conn) {
            chk_limits(pc, &cc.timeout_us, &cc.lock_timeout_us);
            if (chk_set_limits(sc->conn, cc.timeout_us, cc.lock_timeout_us, &e) != 0)
                hx_warn("%s: %s", sc->s->name, e.msg);
        }
        chk_outcome o;
        chk_run(&cc, pc, &o);
        passed = o.status == CHK_PASS;
        chk_outcome_release(&o);
        if (passed || hx_now_ns() >= end) break;
        int64_t left_us = (end - hx_now_ns()) / 1000;
        int64_t us = left_us < RUN_WAIT_POLL_US ? left_us : RUN_WAIT_POLL_US;
        nanosleep(&(struct timespec){.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000},
                  NULL);
    }
    run_cancel_remove(cancel_slot);
    if (sc->conn && PQstatus(sc->conn) == CONNECTION_OK &&
        chk_set_limits(sc->conn, CHK_DEFAULT_TIMEOUT_US, RUN_OWN_LOCK_TIMEOUT_US, &e) != 0)
        hx_warn("%s: %s", sc->s->name, e.msg);
    run_progress("  wait until '%s': %s", pc->name, passed ? "passed" : "timed out");
    return passed;
}

void run_checks(run_scen *sc, bool after_cost)
{
    const plan_scenario *s = sc->s;
    run_ctx *c = sc->c;
    chk_ctx cc = check_ctx(sc);
    if (after_cost) {
        for (size_t i = 0; i < sc->rs->nmetrics; i++)
            if (strcmp(sc->rs->metrics[i].name, "cost.monthly.usd") == 0) {
                cc.has_cost = true;
                cc.cost_monthly_usd = sc->rs->metrics[i].value;
            }
    } else if (c->build_failed) {
        results_check *k =
            results_check_add(sc->rs, "solution builds", "build", RESULTS_SEV_ERROR, RESULTS_FAIL);
        if (k) results_set_str(&k->message, c->build_error);
    }
    /* Every check query is bounded (statement_timeout, lock_timeout) and an interrupt cancels
     * the running one. */
    int cancel_slot = run_cancel_add(sc->conn);
    hx_err e = {0};
    for (size_t i = 0; i < s->nchecks && !run_interrupted(); i++) {
        const plan_check *pc = &s->checks[i];
        const chk_kind *kd = chk_kind_get(pc->kind);
        if (after_cost != (kd && (kd->flags & CHK_K_AFTER_COST))) continue;
        if (sc->conn) {
            chk_limits(pc, &cc.timeout_us, &cc.lock_timeout_us);
            if (chk_set_limits(sc->conn, cc.timeout_us, cc.lock_timeout_us, &e) != 0)
                hx_warn("%s: %s", s->name, e.msg);
        }
        chk_outcome o;
        chk_run(&cc, pc, &o);
        if (run_interrupted()) { /* cancelled, not a verdict: the scenario is interrupted */
            chk_outcome_release(&o);
            break;
        }
        add_check(sc, pc, &o);
        for (size_t m = 0; m < o.nmetrics; m++)
            results_metric_add(sc->rs, o.metrics[m].name, o.metrics[m].value, o.metrics[m].unit);
        bool keyed_topic =
            pc->kind == PLAN_CHK_TOPIC && pc->expect.kind == PLAN_EXP_QUERY &&
            (pc->expect.query.agg == PLAN_AGG_ROWS || pc->expect.query.agg == PLAN_AGG_GROUPS);
        if ((pc->kind == PLAN_CHK_DIFF || keyed_topic) && o.expected) {
            uint64_t exp = strtoull(o.expected, NULL, 10);
            uint64_t bad = o.missing + o.mismatched;
            sc->correct += exp > bad ? exp - bad : 0;
        }
        bool said = o.message && o.message[0] && o.status != CHK_PASS;
        run_progress("  %-5s %s%s%s", chk_status_name(o.status), pc->name, said ? ": " : "",
                     said ? o.message : "");
        chk_outcome_release(&o);
    }
    run_cancel_remove(cancel_slot);
    if (sc->conn && PQstatus(sc->conn) == CONNECTION_OK &&
        chk_set_limits(sc->conn, CHK_DEFAULT_TIMEOUT_US, RUN_OWN_LOCK_TIMEOUT_US, &e) != 0)
        hx_warn("%s: %s", s->name, e.msg);
}
