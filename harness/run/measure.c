/* measure.c - measurement of a scenario: each invocation of the solution (sampler numbers from
 * the runner), the phases its cost is attributed to, the database's CPU, and the metrics and
 * histograms that go to run.json. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "engine_priv.h"
#include "metrics.h"

run_dbcpu *run_db_meter(const run_scen *sc, bool skip_harness)
{
    const run_ctx *c = sc->c;
    if (!c->pg || !c->pg->embedded) return NULL;
    pid_t self = sc->conn && skip_harness ? (pid_t)PQbackendPID(sc->conn) : 0;
    return run_dbcpu_start(c->pg->pid, sc->dbname, &self, self > 0, 0);
}

char *run_db_dir(const run_scen *sc)
{
    const run_ctx *c = sc->c;
    if (!c->pg || !c->pg->embedded || !c->pg->data_dir || !sc->conn) return NULL;
    PGresult *r =
        PQexec(sc->conn, "SELECT oid::text FROM pg_database WHERE datname = current_database()");
    char *dir = NULL;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        dir = hx_asprintf("%s/base/%s", c->pg->data_dir, PQgetvalue(r, 0, 0));
    PQclear(r);
    return dir;
}

double run_db_meter_stop(run_dbcpu *m)
{
    double s = run_dbcpu_stop(m);
    return isnan(s) ? 0 : s;
}

double run_self_cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

uint64_t run_self_peak_rss(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (uint64_t)ru.ru_maxrss * 1024 : 0;
}

/* Append a phase (dropped past RUN_MAX_PHASES: attribution is a view, not the bill). */
void run_phase_add(run_acc *acc, const char *name, double cpu, double wall, uint64_t rss,
                   bool outside_bill)
{
    if (acc->nphases >= RUN_MAX_PHASES) return;
    size_t i = acc->nphases++;
    snprintf(acc->phase_names[i], sizeof acc->phase_names[i], "%s", name);
    acc->phases[i] = (cost_phase_usage){.name = acc->phase_names[i],
                                        .cpu_seconds = cpu > 0 ? cpu : 0,
                                        .wall_seconds = wall > 0 ? wall : 0,
                                        .peak_rss_bytes = rss,
                                        .outside_bill = outside_bill};
}

void run_acc_init(run_acc *acc, int64_t t0_ns)
{
    memset(acc, 0, sizeof *acc);
    acc->t0 = (double)t0_ns / 1e9;
    hist_init(&acc->wall_hist, 1000, (int64_t)3600 * 1000000000, 3);
    hist_init(&acc->lat_hist, 1000, (int64_t)3600 * 1000000000, 3);
    hist_init(&acc->lat_unc_hist, 1000, (int64_t)3600 * 1000000000, 3);
}

void run_acc_release(run_acc *acc)
{
    hist_release(&acc->wall_hist);
    hist_release(&acc->lat_hist);
    hist_release(&acc->lat_unc_hist);
}

/* The last non-blank line of text (at most 200 bytes of it), *len its length; "" when none. */
static const char *last_line(const char *text, size_t *len)
{
    *len = 0;
    if (!text) return "";
    size_t end = strlen(text);
    while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r' || text[end - 1] == ' '))
        end--;
    size_t start = end;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    if (end - start > 200) end = start + 200;
    *len = end - start;
    return text + start;
}

void run_record_invocation(run_scen *sc, runner_result *r, int batch, bool stopped, double inv_db)
{
    results_scenario *rs = sc->rs;
    run_acc *acc = &sc->acc;
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
        if (r->disk_over && !r->signaled && inv->exit_code == 0) inv->exit_code = -1;
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
    run_phase_add(acc, phase, cpu_u + cpu_s + inv_db, wall, peak, false);
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
    bool failed = r->disk_over || (!stopped && (!r->exited || r->exit_code != 0));
    if (failed) {
        acc->failures++;
        /* Say how it ended and the last line it wrote to stderr, so an author sees why without
         * opening the logs ("sh: ./laod.sh: not found"); run_progress escapes it. */
        char how[64];
        if (r->timed_out)
            snprintf(how, sizeof how, "timed out");
        else if (r->signaled)
            snprintf(how, sizeof how, "killed by %s", r->sig_name);
        else
            snprintf(how, sizeof how, "exited with status %d", r->exit_code);
        size_t len = 0;
        const char *line = last_line(inv ? inv->stderr_tail : NULL, &len);
        run_progress("  %s: solution %s%s%.*s", phase, how, len ? ": " : "", (int)len, line);
    }
}

static bool pack_uses(const plan_pack *p, const char *kind)
{
    for (size_t i = 0; i < p->nsources; i++)
        if (strcmp(p->sources[i], kind) == 0) return true;
    for (size_t i = 0; i < p->nsinks; i++)
        if (strcmp(p->sinks[i], kind) == 0) return true;
    return false;
}

bool run_metric_absent(const run_scen *sc, const char *metric, char *why, size_t n)
{
    const run_ctx *c = sc->c;
    const plan_scenario *s = sc->s;
    const run_acc *acc = &sc->acc;
    if (strncmp(metric, "latency.e2e.", 12) == 0) {
        uint64_t matched = (uint64_t)hist_count(&acc->lat_hist), all = matched + acc->lat_unmatched;
        if (s->mode != PLAN_MODE_SERVICE) {
            snprintf(why, n,
                     "does not apply: scenario '%s' runs the solution in batches, and end-to-end "
                     "latency is measured for services",
                     s->name);
            return false;
        }
        if (!c->kafka)
            snprintf(why, n,
                     "end-to-end latency is measured on Kafka output topics, and the scenario "
                     "uses no Kafka");
        else if (!all)
            snprintf(why, n,
                     "no output to match to an input: the output topics (those its topic checks "
                     "read) held no message with a timestamp");
        else if (!matched)
            snprintf(why, n,
                     "no output could be matched to an input (0 of %llu matched by key or "
                     "harness-id header): forward the input's harness-id header or keep its key",
                     (unsigned long long)all);
        else
            snprintf(why, n, "%llu of %llu outputs matched, but the run recorded no '%s'",
                     (unsigned long long)matched, (unsigned long long)all, metric);
        return true;
    }
    const char *lag = strstr(metric, ".lag.");
    if (lag && (size_t)(lag - metric) < 300) {
        char topic[300];
        snprintf(topic, sizeof topic, "%.*s", (int)(lag - metric), metric);
        if (plan_grouped_topic(s, topic)) {
            snprintf(why, n,
                     "no summary on topic '%s' was timed: the harness's live consumer did not "
                     "run or read none that matched a group (see the topic check)",
                     topic);
            return true;
        }
    }
    if (strcmp(metric, "solution.output.bytes") == 0) {
        bool files = false;
        for (size_t i = 0; i < c->pack->nsinks; i++)
            files |= strcmp(c->pack->sinks[i], "files") == 0;
        if (!files) {
            snprintf(why, n, "does not apply: the challenge's sinks do not include \"files\"");
            return false;
        }
        if (acc->n) {
            snprintf(why, n, "the solution wrote no file to its output folder");
            return true;
        }
    }
    if (strncmp(metric, "replay.stream.", 14) == 0 || strcmp(metric, "stream.partitions") == 0) {
        if (!pack_uses(c->pack, "kafka")) {
            snprintf(why, n, "does not apply: the challenge uses no Kafka");
            return false;
        }
    }
    if (strncmp(metric, "solution.", 9) == 0) {
        bool runs = false;
        for (size_t i = 0; i < s->nsteps; i++)
            runs |= s->steps[i].kind == PLAN_STEP_RUN;
        if (!runs) {
            snprintf(why, n, "does not apply: scenario '%s' never runs the solution", s->name);
            return false;
        }
        snprintf(why, n, "the solution did not run (the scenario stopped before its run step)");
        return true;
    }
    if (strncmp(metric, "query.", 6) == 0 || strncmp(metric, "workload.", 9) == 0 ||
        strcmp(metric, "db.cpu.workload") == 0) {
        const char *name = metric + 6, *dot = strchr(name, '.');
        size_t ql = dot ? (size_t)(dot - name) : strlen(name);
        bool declared = s->workload != NULL;
        if (declared && metric[0] == 'q') { /* query.<name>.*: that query */
            declared = false;
            for (size_t i = 0; i < s->workload->nqueries; i++)
                declared |= strlen(s->workload->queries[i].name) == ql &&
                            strncmp(s->workload->queries[i].name, name, ql) == 0;
        }
        if (!declared) {
            snprintf(why, n, "does not apply: scenario '%s' has no %s", s->name,
                     s->workload ? "such workload query" : "query workload");
            return false;
        }
        snprintf(why, n, "the query workload did not run or recorded no value for it");
        return true;
    }
    if (strncmp(metric, "db.", 3) == 0 || strcmp(metric, "sink.bytes") == 0) {
        if (!pack_uses(c->pack, "postgres")) {
            snprintf(why, n, "does not apply: the challenge uses no PostgreSQL");
            return false;
        }
        snprintf(why, n, "the scenario's database could not be measured");
        return true;
    }
    if (strncmp(metric, "probe.", 6) == 0) {
        snprintf(why, n,
                 "no cost probe ran (the challenge's scale.probe or --probe asks for one; an "
                 "interrupted or failed probe is named in a warning)");
        return true;
    }
    if (strncmp(metric, "cost.", 5) == 0) {
        bool listed = false;
        for (size_t i = 0; i < sc->rs->nmetrics && !listed; i++)
            listed = strcmp(sc->rs->metrics[i].name, metric) == 0;
        if (strstr(metric, ".per_correct_record.") && !sc->correct) {
            snprintf(why, n, "no output record was correct, so there is no cost per correct one");
            return true;
        }
        if (listed) {
            snprintf(why, n, "the price sheet gave no finite value (see the cost section)");
            return true;
        }
        hx_buf b;
        hx_buf_init(&b);
        for (size_t i = 0; i < c->nmodels; i++)
            hx_buf_printf(&b, "%s%s in %s", i ? ", " : "", c->models[i]->name,
                          c->models[i]->currency ? c->models[i]->currency : "?");
        snprintf(why, n,
                 "no price sheet of the run gave it (sheets: %s; the metric's last part is the "
                 "sheet's currency in lower case, its middle part a sheet's name or none for the "
                 "first; a sheet that failed to price is named in a warning)",
                 b.data && b.len ? b.data : "none");
        hx_buf_release(&b);
        return true;
    }
    if (strncmp(metric, "plugin.", 7) == 0) {
        const char *name = metric + 7, *dot = strchr(name, '.');
        size_t pl = dot ? (size_t)(dot - name) : strlen(name);
        bool used = false;
        for (size_t i = 0; i < s->nchecks && !used; i++)
            used = s->checks[i].plugin && strlen(s->checks[i].plugin) == pl &&
                   strncmp(s->checks[i].plugin, name, pl) == 0;
        if (!used) {
            snprintf(why, n, "does not apply: scenario '%s' has no check of plugin '%.*s'", s->name,
                     (int)pl, name);
            return false;
        }
        snprintf(why, n, "plugin '%.*s' recorded no '%s'", (int)pl, name, dot ? dot + 1 : "");
        return true;
    }
    snprintf(why, n, "the run produced no value for it");
    return true;
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

static void target_hist(void *ud, const char *name, const hist *h)
{
    add_hist(((run_scen *)ud)->rs, name, h);
}

static void target_metric(void *ud, const char *name, double v, const char *unit)
{
    results_metric_add(((run_scen *)ud)->rs, name, v, unit);
}

void run_add_metrics(run_scen *sc)
{
    results_scenario *rs = sc->rs;
    const run_acc *acc = &sc->acc;
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
    results_metric_add(rs, "replay.records", (double)sc->input_records, "");
    results_metric_add(rs, "replay.seconds", sc->replay_s, "s");
    if (sc->replay_s > 0)
        results_metric_add(rs, "replay.records_per_s", (double)sc->input_records / sc->replay_s,
                           "rows/s");
    sc->sink_bytes = 0;
    if (sc->conn) {
        PGresult *r =
            PQexec(sc->conn, "select coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint, "
                             "pg_database_size(current_database()) from pg_class c join "
                             "pg_namespace n on n.oid = c.relnamespace where c.relkind = 'r' "
                             "and n.nspname = 'public'");
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
            sc->sink_bytes = (uint64_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
            results_metric_add(rs, "sink.bytes", (double)sc->sink_bytes, "bytes");
            results_metric_add(rs, "db.size", strtod(PQgetvalue(r, 0, 1), NULL), "bytes");
        }
        PQclear(r);
        /* The solution's own relations: its tables (with TOAST), materialised views, and every
         * index on them or on the harness's raw source tables (those carry a _harness_id
         * column), except the harness's own index on _harness_id alone; not the harness's
         * schemas. */
        sc->solution_db_bytes = 0;
        r = PQexec(
            sc->conn,
            "with rel as (select c.oid, c.relkind, exists (select 1 from pg_attribute a where "
            "a.attrelid = c.oid and a.attname = '_harness_id' and not a.attisdropped) as harness "
            "from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in "
            "('r', 'm') and n.nspname not in ('pg_catalog', 'information_schema') and "
            "n.nspname not like 'pg\\_%' and n.nspname not like '\\_harness%') select "
            "coalesce(sum(pg_table_size(oid)) filter (where relkind = 'r' and not harness), "
            "0)::bigint, coalesce(sum(pg_table_size(oid)) filter (where relkind = 'm' and not "
            "harness), 0)::bigint, (select coalesce(sum(pg_total_relation_size(i.indexrelid)), "
            "0)::bigint from pg_index i join rel t on t.oid = i.indrelid where not t.harness or "
            "not exists (select 1 from pg_attribute a where a.attrelid = t.oid and a.attname = "
            "'_harness_id' and i.indnatts = 1 and i.indkey[0] = a.attnum)) from rel");
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
            uint64_t tables = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
            uint64_t views = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
            uint64_t indexes = strtoull(PQgetvalue(r, 0, 2), NULL, 10);
            sc->solution_db_bytes = tables + views + indexes;
            results_metric_add(rs, "db.solution.bytes", (double)sc->solution_db_bytes, "bytes");
            results_metric_add(rs, "db.solution.tables.bytes", (double)tables, "bytes");
            results_metric_add(rs, "db.solution.indexes.bytes", (double)indexes, "bytes");
            results_metric_add(rs, "db.solution.views.bytes", (double)views, "bytes");
        }
        PQclear(r);
    }
    add_hist(rs, "solution.wall", &acc->wall_hist);
    /* the targets' own: cdc.lag */
    for (size_t i = 0; sc->c->targets[i] && i < 8; i++)
        if (sc->c->targets[i]->metrics && replay_target_used(sc->c->targets[i], sc->s))
            sc->c->targets[i]->metrics(&sc->site, sc->site.state[i], target_hist, target_metric,
                                       sc);
    if (add_hist(rs, "latency.e2e", &acc->lat_hist) || acc->lat_unmatched) {
        /* The metrics thresholds and `harness compare` read: latency.e2e.p99 < 500ms; matched
         * live, the uncorrected view beside it (from the actual send times, live.h). */
        const char *sfx[] = {"p50", "p90", "p99", "max"};
        double pct[] = {50, 90, 99, 100};
        if (acc->lat_live) add_hist(rs, "latency.e2e.uncorrected", &acc->lat_unc_hist);
        for (int view = 0; view < (acc->lat_live ? 2 : 1); view++) {
            const hist *h = view ? &acc->lat_unc_hist : &acc->lat_hist;
            for (size_t i = 0; i < 4 && hist_count(h); i++) {
                char name[48];
                snprintf(name, sizeof name, "latency.e2e.%s%s", view ? "uncorrected." : "", sfx[i]);
                int64_t v = pct[i] < 100 ? hist_percentile(h, pct[i]) : hist_max(h);
                results_metric_add(rs, name, (double)v / 1e9, "s");
            }
        }
        results_metric_add(rs, "latency.e2e.matched", (double)hist_count(&acc->lat_hist), "");
        results_metric_add(rs, "latency.e2e.unmatched", (double)acc->lat_unmatched, "");
    }
    rs->resources.cpu_user_s = acc->cpu_user;
    rs->resources.cpu_sys_s = acc->cpu_sys;
    rs->resources.peak_rss_bytes = (int64_t)acc->rss_peak;
    rs->resources.mean_rss_bytes = acc->n ? (int64_t)(acc->rss_mean_sum / acc->n) : 0;
    rs->resources.read_bytes = (int64_t)acc->read_bytes;
    rs->resources.write_bytes = (int64_t)acc->write_bytes;
}
