/* measure.c - measurement of a scenario: each invocation of the solution (sampler numbers from
 * the runner), the phases its cost is attributed to, the database's CPU, and the metrics and
 * histograms that go to run.json. */
#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "engine_priv.h"

/* CPU seconds of the embedded PostgreSQL: the postmaster's own time, what it reaped
 * (cutime/cstime: backends that came and went), and every live process whose parent it is. Each
 * backend calls setsid(), so selecting by process group (as this once did) missed every live
 * backend and counted one only once the postmaster had reaped it. The solution's SQL runs there,
 * not in the solution's own processes, so this is part of what it costs. */
double run_server_cpu_seconds(pid_t postmaster)
{
    if (postmaster <= 0) return NAN;
    long tick = sysconf(_SC_CLK_TCK);
    double total = 0;
    bool seen = false;
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
        if (pid != postmaster && ppid != postmaster) continue;
        total += (double)(ut + st) / (double)tick;
        if (pid == postmaster) {
            total += (double)(cut + cst) / (double)tick;
            seen = true;
        }
    }
    closedir(d);
    return seen ? total : NAN;
}

double run_db_cpu_now(const run_ctx *c)
{
    return c->pg->embedded ? run_server_cpu_seconds(c->pg->pid) : NAN;
}

double run_db_cpu_delta(double before, double after)
{
    return !isnan(before) && !isnan(after) && after > before ? after - before : 0;
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
}

void run_acc_release(run_acc *acc)
{
    hist_release(&acc->wall_hist);
    hist_release(&acc->lat_hist);
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
    bool failed = !stopped && (!r->exited || r->exit_code != 0);
    if (failed) {
        acc->failures++;
        run_progress("  %s: solution %s", phase,
                     r->timed_out  ? "timed out"
                     : r->signaled ? r->sig_name
                                   : "exited non-zero");
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
        /* The solution's own relations (tables, their indexes and TOAST, materialised views):
         * not the harness's raw source tables (they carry a _harness_id column) nor its schemas. */
        sc->solution_db_bytes = 0;
        r = PQexec(sc->conn,
                   "select coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint from "
                   "pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in "
                   "('r', 'm') and n.nspname not in ('pg_catalog', 'information_schema') and "
                   "n.nspname not like 'pg\\_%' and n.nspname not like '\\_harness%' and not "
                   "exists (select 1 from pg_attribute a where a.attrelid = c.oid and "
                   "a.attname = '_harness_id' and not a.attisdropped)");
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
            sc->solution_db_bytes = (uint64_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
            results_metric_add(rs, "db.solution.bytes", (double)sc->solution_db_bytes, "bytes");
        }
        PQclear(r);
    }
    add_hist(rs, "solution.wall", &acc->wall_hist);
    if (add_hist(rs, "latency.e2e", &acc->lat_hist) || acc->lat_unmatched) {
        /* The metrics thresholds and `harness compare` read: latency.e2e.p99 < 500ms. */
        const char *sfx[] = {"p50", "p90", "p99", "max"};
        double pct[] = {50, 90, 99, 100};
        for (size_t i = 0; i < 4 && hist_count(&acc->lat_hist); i++) {
            char name[32];
            snprintf(name, sizeof name, "latency.e2e.%s", sfx[i]);
            int64_t v =
                pct[i] < 100 ? hist_percentile(&acc->lat_hist, pct[i]) : hist_max(&acc->lat_hist);
            results_metric_add(rs, name, (double)v / 1e9, "s");
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
