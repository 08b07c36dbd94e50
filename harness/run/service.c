/* service.c - service solutions (docs/solutions.md "Services"): started at the plan's run step,
 * ready by their rule, drained while the output topics grow, stopped SIGTERM -> SIGKILL; and
 * end-to-end latency after the fact (output message time minus the input's intended send time). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "e2e.h"
#include "engine_priv.h"
#include "live.h"

/* Whether the scenario's topic t is one the replay writes into (an input, not an output). */
static bool replayed_topic(const plan_scenario *s, const char *t)
{
    for (size_t i = 0; i < s->nsteps; i++)
        if (s->steps[i].kind == PLAN_STEP_INTO && s->steps[i].topic &&
            strcmp(s->steps[i].topic, t) == 0)
            return true;
    return false;
}

/* The i-th check's topic when it is an output topic read by no earlier check, else NULL. */
static const char *output_topic(const plan_scenario *s, size_t i)
{
    const plan_check *pc = &s->checks[i];
    if (!replay_check_on_topic(pc) || !pc->table || replayed_topic(s, pc->table)) return NULL;
    for (size_t j = 0; j < i; j++)
        if (replay_check_on_topic(&s->checks[j]) && s->checks[j].table &&
            strcmp(s->checks[j].table, pc->table) == 0)
            return NULL;
    return pc->table;
}

/* Messages in the scenario's output topics now (sum of the partitions' high watermarks), or -1
 * when there is no output topic or it cannot be read. */
static int64_t output_messages(run_scen *sc)
{
    const plan_scenario *s = sc->s;
    kafkasvc *k = sc->c->kafka;
    int64_t total = 0;
    bool any = false;
    for (size_t i = 0; i < s->nchecks; i++) {
        const char *t = output_topic(s, i);
        if (!t) continue;
        char name[300];
        replay_kafka_topic(s, t, name, sizeof name);
        hx_err e = {0};
        int parts = kafkasvc_topic_partitions(k, name, &e);
        if (parts < 0) return -1;
        for (int p = 0; p < parts; p++) {
            int64_t lo, hi;
            if (kafkasvc_watermarks(k, name, p, &lo, &hi, &e)) return -1;
            total += hi;
        }
        any = true;
    }
    return any ? total : -1;
}

/* Stop the service (SIGTERM to its tree, SIGKILL after the grace) and record it as invocation -1.
 * One that was still running ended as the contract says: not a failure, unless it never got
 * ready. One that had ended by itself is recorded with its exit status or signal. */
void run_service_stop(run_scen *sc, bool not_ready)
{
    runner_proc *p = sc->svc;
    sc->svc = NULL;
    bool running = runner_running(p);
    if (running) runner_kill(p);
    runner_result r;
    memset(&r, 0, sizeof r);
    hx_err e = {0};
    int rc = runner_wait(p, 0, &r, &e);
    run_set_current(NULL);
    runner_proc_free(p);
    run_end_sessions(sc);
    if (!rc)
        run_record_invocation(sc, &r, -1, running && !not_ready, 0);
    else
        hx_warn("stopping the service: %s", e.msg);
    runner_result_release(&r);
}

/* Start the service and wait until it is ready by its rule. A service that exits or does not get
 * ready in time is stopped and recorded as a failed invocation (sc->svc stays NULL); the plan
 * goes on, and the checks see what it did. */
int run_service_start(run_scen *sc, hx_err *e)
{
    run_ctx *c = sc->c;
    if (!c->sol.service)
        return hx_fail(e, HX_EUSAGE,
                       "scenario '%s' runs the solution as a service (solution = { mode = "
                       "\"service\" }), but solution '%s' has no \"service\" command",
                       sc->s->name, c->sol.name);
    char **env = NULL;
    int rc = run_sol_env(sc, -1, &env, e);
    if (rc) return rc;
    char *db_dir = run_db_dir(sc);
    runner_opts ro = {.shell = c->sol.service,
                      .cwd = c->sol_dir,
                      .env = env,
                      .log_dir = sc->logdir,
                      .log_name = "service",
                      .ready = &c->sol.ready,
                      .sandbox = c->sb,
                      .in_dir = sc->landing,
                      .out_dir = sc->outdir,
                      .db_dir = db_dir,
                      .limits = &c->sol.limits};
    runner_proc *p = NULL;
    int64_t t0 = hx_now_ns();
    rc = runner_spawn(&ro, &p, e);
    runner_env_free(env);
    hx_free(db_dir);
    if (rc) return rc;
    run_set_current(p);
    hx_err re = {0};
    sc->svc = p;
    if (runner_wait_ready(p, 0, &re) != 0) {
        run_progress("  service: %s", re.msg);
        run_service_stop(sc, true);
        return 0;
    }
    run_progress("  service ready in %.2f s", (double)(hx_now_ns() - t0) / 1e9);
    return 0;
}

int run_service_restart(run_scen *sc, const plan_step *st, hx_err *e)
{
    runner_proc *p = sc->svc;
    if (!p)
        return hx_fail(e, HX_EUSAGE,
                       "%s: fault solution_restart needs a running service: solution = { mode = "
                       "\"service\" } and a { run = \"solution\" } step before it",
                       st->where ? st->where : sc->s->name);
    /* as a crash would: no SIGTERM, no time to save anything */
    sc->svc = NULL;
    runner_kill_now(p);
    runner_result r;
    memset(&r, 0, sizeof r);
    hx_err we = {0};
    if (runner_wait(p, 0, &r, &we) == 0) run_record_invocation(sc, &r, -1, true, 0);
    run_set_current(NULL);
    runner_proc_free(p);
    runner_result_release(&r);
    run_progress("  service killed (solution_restart): starting it again");
    return run_service_start(sc, e);
}

/* After the replay: wait while the output topics grow. Ends when they have held some and gained
 * none for 1 s, or for 0.5 s once they hold as many messages as were replayed into streams; when
 * the service exits; or when solution.json's service.drain has passed. No output topic: no wait.
 * Reaching the count sent is not the end by itself: a service may answer a record twice (a quick
 * guess, then the right value), and stopping it there loses the answers it still owed. */
void run_service_drain(run_scen *sc)
{
    if (!sc->c->kafka) return;
    uint64_t sent = sc->stream_sent;
    int64_t t0 = hx_now_ns(), changed = t0, last = -2;
    int64_t deadline = t0 + sc->c->sol.drain_us * 1000;
    while (!run_interrupted() && runner_running(sc->svc) && hx_now_ns() < deadline) {
        int64_t n = output_messages(sc);
        if (n < 0) return;
        int64_t now = hx_now_ns();
        if (n != last) last = n, changed = now;
        int64_t quiet = sent && n >= (int64_t)sent ? 500000000LL : 1000000000LL;
        if (n > 0 && now - changed >= quiet) break;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (last >= 0)
        run_progress("  service: drained for %.2f s, %lld output messages",
                     (double)(hx_now_ns() - t0) / 1e9, (long long)last);
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
void run_measure_latency(run_scen *sc)
{
    kafkasvc *k = sc->c->kafka;
    const plan_scenario *s = sc->s;
    if (!k) return;
    struct lat_ctx l = {.h = &sc->acc.lat_hist};
    if (e2e_new(&l.in)) return;
    hx_err e = {0};
    for (size_t i = 0; i < s->nsteps; i++) {
        const plan_step *st = &s->steps[i];
        if (st->kind != PLAN_STEP_INTO || !st->topic) continue;
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen |= s->steps[j].kind == PLAN_STEP_INTO && s->steps[j].topic &&
                    strcmp(s->steps[j].topic, st->topic) == 0;
        char name[300];
        replay_kafka_topic(s, st->topic, name, sizeof name);
        if (!seen && kafkasvc_consume(k, name, 0, 120000, lat_input, &l, NULL, &e))
            hx_warn("latency: %s", e.msg);
    }
    for (size_t i = 0; i < s->nchecks && e2e_size(l.in) && !l.oom; i++) {
        const char *t = output_topic(s, i);
        if (!t) continue;
        char name[300];
        replay_kafka_topic(s, t, name, sizeof name);
        if (kafkasvc_consume(k, name, 0, 120000, lat_output, &l, NULL, &e))
            hx_warn("latency: %s", e.msg);
    }
    if (l.oom) hx_warn("latency: out of memory matching messages");
    sc->acc.lat_unmatched += l.unmatched;
    e2e_free(l.in);
}

static void live_on_sent(void *ud, const char *topic, uint64_t id, const void *key, size_t key_len,
                         int64_t intended, int64_t actual)
{
    run_scen *sc = ud;
    if (!live_sent(sc->live, topic, id, key, key_len, intended, actual)) return;
    sc->live_sent++;
}

/* Records sent that no output answered yet (the replay's window, replay.h); 0 once the service is
 * gone: nothing will answer them. */
static uint64_t live_unanswered(void *ud)
{
    run_scen *sc = ud;
    uint64_t m = live_matched(sc->live);
    if (run_interrupted() || !sc->svc || !runner_running(sc->svc)) return 0;
    return m >= sc->live_sent ? 0 : sc->live_sent - m;
}

void run_live_start(run_scen *sc)
{
    kafkasvc *k = sc->c->kafka;
    const plan_scenario *s = sc->s;
    if (!k) return;
    char names[16][300];
    const char *topics[16];
    bool timed[16];
    size_t n = 0;
    for (size_t i = 0; i < s->nchecks && n < 16; i++) {
        const char *t = output_topic(s, i);
        if (!t) continue;
        replay_kafka_topic(s, t, names[n], sizeof names[n]);
        topics[n] = names[n];
        /* A topic of summaries per group: timed by message (<topic>.lag), not matched. */
        timed[n] = false;
        for (size_t j = 0; j < s->nchecks; j++)
            timed[n] |= s->checks[j].kind == PLAN_CHK_TOPIC && s->checks[j].table &&
                        strcmp(s->checks[j].table, t) == 0 &&
                        s->checks[j].expect.kind == PLAN_EXP_QUERY &&
                        s->checks[j].expect.query.agg == PLAN_AGG_GROUPS;
        n++;
    }
    if (!n) return;
    uint64_t expect = 0;
    for (size_t i = 0; i < s->nsteps; i++)
        if (s->steps[i].kind == PLAN_STEP_INTO && s->steps[i].target == PLAN_TGT_KAFKA)
            expect += gen_emissions(sc->g, s->steps[i].dataset);
    live_opts o = {.bootstrap = kafkasvc_bootstrap(k),
                   .fetch_wait_ms = kafkasvc_fetch_wait_ms(k),
                   .topics = topics,
                   .ntopics = n,
                   .expect = expect,
                   .t0_ns = hx_wall_ns(),
                   .timed = timed,
                   .spool = true};
    hx_err e = {0};
    if (live_start(&o, &sc->live, &e)) {
        hx_warn("latency: %s; it is matched after the run instead", e.msg);
        return;
    }
    replay_kafka_group(s, sc->kgroup, sizeof sc->kgroup);
    sc->kwatch = (replay_kafka_watch){
        .ud = sc, .sent = live_on_sent, .unanswered = live_unanswered, .group = sc->kgroup};
    sc->site.kwatch = &sc->kwatch;
}

void run_live_finish(run_scen *sc)
{
    live *l = sc->live;
    sc->site.kwatch = NULL;
    hx_err e = {0};
    if (live_finish(l, 120000, &e)) hx_warn("latency: %s", e.msg);
    if (*live_error(l)) hx_warn("latency: reading the output topics: %s", live_error(l));
    run_acc *acc = &sc->acc;
    hist_merge(&acc->lat_hist, live_corrected(l));
    hist_merge(&acc->lat_unc_hist, live_uncorrected(l));
    acc->lat_unmatched += live_unmatched(l);
    acc->lat_live = true;
    size_t n = 0;
    const live_second *tl = live_timeline(l, &n);
    for (size_t i = 0; i < n; i++) {
        results_tl_point p = {(double)i,          (int64_t)tl[i].in,
                              (int64_t)tl[i].out, (int64_t)tl[i].matched,
                              tl[i].p99_s,        tl[i].p99_uncorr_s};
        results_tl_point_add(sc->rs, &p);
    }
}
