/* metrics.c - see metrics.h. The names come from where the run makes them: the run loop's
 * per-scenario metrics (solution.*, db.*, sink.bytes, replay.*), end-to-end latency of service
 * scenarios (latency.e2e.*), the pricer (cost_metrics() in cost.c: cost.*) and plugins
 * (plugin.*). */
#include "metrics.h"

#include <stdio.h>
#include <string.h>

/* plugin.<plugin>.<name...>: the scenario must use that plugin (one of its checks). */
static bool plugin_used(const plan_scenario *s, const char *const *caps, size_t ncaps, char *why,
                        size_t n)
{
    if (!s || ncaps < 1) return true;
    for (size_t i = 0; i < s->nchecks; i++)
        if (s->checks[i].plugin && strcmp(s->checks[i].plugin, caps[0]) == 0) return true;
    snprintf(why, n, "scenario '%s' uses no plugin '%s' (add a plugin \"%s\" check)", s->name,
             caps[0], caps[0]);
    return false;
}

/* query.<query>.*: the scenario's workload must declare that query. */
static bool query_declared(const plan_scenario *s, const char *const *caps, size_t ncaps, char *why,
                           size_t n)
{
    if (!s || ncaps < 1) return true;
    if (!s->workload) {
        snprintf(why, n, "scenario '%s' has no query workload (scenario.workload)", s->name);
        return false;
    }
    for (size_t i = 0; i < s->workload->nqueries; i++)
        if (strcmp(s->workload->queries[i].name, caps[0]) == 0) return true;
    snprintf(why, n, "scenario '%s' has no workload query '%s'", s->name, caps[0]);
    return false;
}

/* workload.*: the scenario has a workload. */
static bool has_workload(const plan_scenario *s, const char *const *caps, size_t ncaps, char *why,
                         size_t n)
{
    (void)caps, (void)ncaps;
    if (!s || s->workload) return true;
    snprintf(why, n, "scenario '%s' has no query workload (scenario.workload)", s->name);
    return false;
}

/* latency.e2e.*: a scenario's own threshold needs a service (a pack-wide budget is skipped in
 * batch scenarios, where it does not apply). */
static bool service_scenario(const plan_scenario *s, const char *const *caps, size_t ncaps,
                             char *why, size_t n)
{
    (void)caps;
    (void)ncaps;
    if (!s || s->mode == PLAN_MODE_SERVICE) return true;
    snprintf(why, n,
             "scenario '%s' runs the solution in batches, and end-to-end latency is measured for "
             "services (solution = { mode = \"service\" })",
             s->name);
    return false;
}

/* cdc.*: the scenario replays a change stream (a mode = "changes" step). */
static bool change_stream(const plan_scenario *s, const char *const *caps, size_t ncaps, char *why,
                          size_t n)
{
    (void)caps, (void)ncaps;
    for (size_t i = 0; s && i < s->nsteps; i++)
        if (s->steps[i].kind == PLAN_STEP_INTO && s->steps[i].target == PLAN_TGT_CDC) return true;
    if (!s) return true;
    snprintf(why, n,
             "scenario '%s' replays no change stream (a step { into = \"postgres\", mode = "
             "\"changes\" })",
             s->name);
    return false;
}

/* replay.stream.*, stream.partitions: a scenario's own threshold needs a Kafka step or a topic
 * check (a pack-wide budget is skipped where the challenge uses no Kafka). */
static bool streams(const plan_scenario *s, const char *const *caps, size_t ncaps, char *why,
                    size_t n)
{
    (void)caps, (void)ncaps;
    if (!s) return true;
    for (size_t i = 0; i < s->nsteps; i++)
        if (s->steps[i].kind == PLAN_STEP_INTO && s->steps[i].target == PLAN_TGT_KAFKA) return true;
    for (size_t i = 0; i < s->nchecks; i++)
        if (s->checks[i].kind == PLAN_CHK_TOPIC) return true;
    snprintf(why, n,
             "scenario '%s' uses no Kafka topic (no into = \"kafka\" step, no topic check), so "
             "nothing is streamed",
             s->name);
    return false;
}

/* <topic>.lag.*: the scenario checks that topic's summaries against a grouped query. */
static bool grouped_topic(const plan_scenario *s, const char *const *caps, size_t ncaps, char *why,
                          size_t n)
{
    if (!s || ncaps < 1) return true;
    if (plan_grouped_topic(s, caps[0])) return true;
    snprintf(why, n,
             "scenario '%s' checks no summaries on topic '%s' (a topic check whose expect is "
             "ds:group{...}:agg{...})",
             s->name, caps[0]);
    return false;
}

bool plan_grouped_topic(const plan_scenario *s, const char *topic)
{
    for (size_t i = 0; i < s->nchecks; i++) {
        const plan_check *c = &s->checks[i];
        if (c->kind == PLAN_CHK_TOPIC && c->table && strcmp(c->table, topic) == 0 &&
            c->expect.kind == PLAN_EXP_QUERY && c->expect.query.agg == PLAN_AGG_GROUPS)
            return true;
    }
    return false;
}

/* A run.json metric (thresholds and compare); a histogram percentile only compare shows. */
#define M(p, u, m)                                                                                 \
    {                                                                                              \
        .pattern = p, .unit = u, .meaning = m                                                      \
    }
#define Q(p, u, m)                                                                                 \
    {                                                                                              \
        .pattern = p, .unit = u, .meaning = m, .accept = query_declared                            \
    }
#define W(p, u, m)                                                                                 \
    {                                                                                              \
        .pattern = p, .unit = u, .meaning = m, .accept = has_workload                              \
    }
#define H(p, u, m)                                                                                 \
    {                                                                                              \
        .pattern = p, .unit = u, .meaning = m, .compare_only = true                                \
    }
/* A change stream's metric. */
#define C(p, u, m)                                                                                 \
    {                                                                                              \
        .pattern = p, .unit = u, .meaning = m, .accept = change_stream                             \
    }
/* A grouped topic's lag. */
#define G(p, u, m)                                                                                 \
    {                                                                                              \
        .pattern = p, .unit = u, .meaning = m, .accept = grouped_topic                             \
    }
/* A streaming scenario's metric. */
#define K(p, u, m)                                                                                 \
    {                                                                                              \
        .pattern = p, .unit = u, .meaning = m, .accept = streams                                   \
    }
/* A service scenario's latency metric. */
#define L(p, u, m)                                                                                 \
    {                                                                                              \
        .pattern = p, .unit = u, .meaning = m, .accept = service_scenario                          \
    }

static const plan_metric catalogue[] = {
    M("solution.invocations", "", "times the solution ran (batch runs; 1 for a service)"),
    M("solution.failures", "", "invocations that exited non-zero, crashed or timed out"),
    M("solution.wall.max", "s", "the longest invocation, wall clock"),
    M("solution.wall.sum", "s", "all invocations together, wall clock"),
    M("solution.wall.mean", "s", "the mean invocation, wall clock"),
    H("solution.wall.p50", "s", "median invocation (harness compare only)"),
    H("solution.wall.p90", "s", "90th percentile invocation (harness compare only)"),
    H("solution.wall.p99", "s", "99th percentile invocation (harness compare only)"),
    H("solution.wall.p999", "s", "99.9th percentile invocation (harness compare only)"),
    M("solution.cpu.user", "s", "user CPU of the solution's process tree"),
    M("solution.cpu.sys", "s", "system CPU of the solution's process tree"),
    M("solution.cpu.total", "s", "user + system CPU of the solution's process tree"),
    M("solution.rss.peak", "bytes", "peak resident memory of the solution's process tree"),
    M("solution.rss.mean", "bytes", "mean resident memory, averaged over invocations"),
    M("solution.io.read", "bytes", "bytes the solution read from storage"),
    M("solution.io.write", "bytes", "bytes the solution wrote to storage"),
    M("db.cpu.solution", "s", "database server CPU spent on the solution's work"),
    M("db.size", "bytes", "size of the scenario's database after the run"),
    M("db.solution.bytes", "bytes", "the solution's own relations (tables, indexes, views)"),
    M("db.solution.tables.bytes", "bytes", "the solution's own tables (with TOAST)"),
    M("db.solution.indexes.bytes", "bytes",
      "indexes the solution built, on its tables and views or on the source tables"),
    M("db.solution.views.bytes", "bytes", "the solution's materialised views"),
    M("sink.bytes", "bytes", "tables of the public schema after the run"),
    M("solution.output.bytes", "bytes",
      "the solution's output files, when the pack's sink is files (priced as file storage)"),
    M("replay.records", "", "input records the harness replayed"),
    M("replay.seconds", "s", "wall time of the replay"),
    M("replay.records_per_s", "rows/s", "replay throughput"),
    K("replay.stream.bytes", "bytes",
      "keys and values the replay produced into topics (the streaming cost lines' data in)"),
    K("replay.stream.records", "", "records the replay produced into topics"),
    K("stream.partitions", "",
      "partitions the streaming cost lines bill: the input topics' and the checked outputs'"),
    /* before cdc.lag.*, which they also match: a change stream's scenario finds its own below */
    G("<topic>.lag.p50", "s",
      "summaries per group on <topic>: median time from a bucket's close on the send schedule to "
      "the harness receiving the group's summary"),
    G("<topic>.lag.p90", "s", "summaries per group: 90th percentile lag"),
    G("<topic>.lag.p99", "s", "summaries per group: 99th percentile lag"),
    G("<topic>.lag.max", "s", "summaries per group: the largest lag"),
    G("<topic>.lag.count", "", "summaries per group: groups whose summary was timed"),
    C("cdc.lag.p50", "s",
      "change streams: median time from a source commit to the target commit that applied it"),
    C("cdc.lag.p90", "s", "change streams: 90th percentile replication lag"),
    C("cdc.lag.p99", "s", "change streams: 99th percentile replication lag"),
    C("cdc.lag.max", "s", "change streams: the largest replication lag seen"),
    C("cdc.lag.count", "", "change streams: source changes the target applied"),
    C("cdc.lag.unseen", "", "change streams: source changes the target never applied"),
    C("cdc.polls", "", "change streams: reads of the harness's audit slot"),
    C("cdc.order.regressions", "", "change streams: versions written after a higher one"),
    L("latency.e2e.p50", "s", "service scenarios: median input-to-output latency"),
    L("latency.e2e.p90", "s", "service scenarios: 90th percentile latency"),
    L("latency.e2e.p99", "s", "service scenarios: 99th percentile latency"),
    L("latency.e2e.max", "s", "service scenarios: the slowest matched output"),
    H("latency.e2e.p999", "s", "service scenarios: 99.9th percentile (harness compare only)"),
    L("latency.e2e.uncorrected.p50", "s",
      "service scenarios: median latency from the actual send time (coordinated omission kept)"),
    L("latency.e2e.uncorrected.p90", "s", "service scenarios: uncorrected 90th percentile"),
    L("latency.e2e.uncorrected.p99", "s", "service scenarios: uncorrected 99th percentile"),
    L("latency.e2e.uncorrected.max", "s", "service scenarios: uncorrected slowest output"),
    L("latency.e2e.matched", "", "service scenarios: outputs matched to their input"),
    L("latency.e2e.unmatched", "", "service scenarios: outputs matched to no input"),
    Q("query.<query>.p50", "s", "workload: median latency of the query"),
    Q("query.<query>.p95", "s", "workload: 95th percentile latency of the query"),
    Q("query.<query>.p99", "s", "workload: 99th percentile latency of the query"),
    Q("query.<query>.max", "s", "workload: the query's slowest measured execution"),
    Q("query.<query>.count", "", "workload: measured executions of the query"),
    Q("query.<query>.errors", "", "workload: executions of the query that failed"),
    Q("query.<query>.qps", "1/s", "workload: the query's executions per second"),
    W("workload.qps", "1/s", "workload: executions per second, every query together"),
    W("workload.errors", "", "workload: failed executions, every query together"),
    W("workload.seconds", "s", "workload: wall time of the measured part"),
    W("db.cpu.workload", "s",
      "workload: database server CPU while it ran (warm-up included; ended by max_duration, "
      "scaled to the declared count)"),
    M("probe.records", "", "cost probe: input records of the scenario's second, larger run"),
    M("probe.solution.wall.sum", "s", "cost probe: all invocations together, wall clock"),
    M("probe.solution.cpu.total", "s", "cost probe: user + system CPU of the solution"),
    M("probe.db.cpu.solution", "s", "cost probe: database server CPU on the solution's work"),
    M("probe.repeat.records", "", "cost probe: input records of its repeat at the test size"),
    M("probe.repeat.solution.wall.sum", "s", "cost probe's repeat at the test size: wall clock"),
    M("probe.repeat.solution.cpu.total", "s", "cost probe's repeat at the test size: solution CPU"),
    M("probe.repeat.db.cpu.solution", "s", "cost probe's repeat at the test size: database CPU"),
    M("probe.again.records", "", "cost probe: input records of its second run at the large size"),
    M("probe.again.solution.wall.sum", "s", "cost probe's second large run: wall clock"),
    M("probe.again.solution.cpu.total", "s", "cost probe's second large run: solution CPU"),
    M("probe.again.db.cpu.solution", "s", "cost probe's second large run: database CPU"),
    M("cost.[<model>.]run.<currency>", "money",
      "a production run (the month / runs a month; first model, or <model>)"),
    M("cost.[<model>.]monthly.<currency>", "money", "a production month at the challenge's scale"),
    M("cost.[<model>.]monthly.fixed.<currency>", "money",
      "the month's fixed part (database instance, cluster fees)"),
    M("cost.[<model>.]monthly.variable.<currency>", "money",
      "the month's part that grows with the records"),
    M("cost.[<model>.]per_million_input.<currency>", "money",
      "the month per million of the month's input records"),
    M("cost.[<model>.]per_correct_record.<currency>", "money",
      "the month per correct output of the month"),
    {.pattern = "plugin.<plugin>.<name...>",
     .unit = "",
     .meaning = "a measurement a validator plugin of the scenario records",
     .accept = plugin_used},
};

#undef M
#undef Q
#undef W
#undef H
#undef G
#undef L

#define NCAT (sizeof catalogue / sizeof catalogue[0])

const plan_metric *plan_metrics(size_t *n)
{
    *n = NCAT;
    return catalogue;
}

/* The pattern's variant (with == include the bracketed group) into out, brackets removed. */
static bool variant(const char *pattern, bool with, char *out, size_t n)
{
    const char *o = strchr(pattern, '['), *c = o ? strchr(o, ']') : NULL;
    if (!o || !c) {
        if (with) return false;
        snprintf(out, n, "%s", pattern);
        return true;
    }
    if (with)
        snprintf(out, n, "%.*s%.*s%s", (int)(o - pattern), pattern, (int)(c - o - 1), o + 1, c + 1);
    else
        snprintf(out, n, "%.*s%s", (int)(o - pattern), pattern, c + 1);
    return true;
}

/* Length of the pattern segment at p (a placeholder may hold dots: "<name...>"). */
static size_t seglen(const char *p)
{
    const char *gt = p[0] == '<' ? strchr(p, '>') : NULL;
    return gt ? (size_t)(gt - p) + 1 : strcspn(p, ".");
}

/* Match metric against a bracket-free pattern; placeholders' values go to caps (copied into
 * capbuf). Returns the number of captures, or -1. */
static int match(const char *pat, const char *metric, char caps[][64], size_t maxcaps)
{
    int ncaps = 0;
    const char *p = pat, *m = metric;
    while (*p) {
        size_t pl = seglen(p), ml = strcspn(m, ".");
        if (p[0] == '<') {
            /* a placeholder is any non-empty segment (model names are price sheets' file names);
             * "<x...>" at the end takes the rest, one or more segments */
            bool rest = pl >= 5 && strncmp(p + pl - 4, "...>", 4) == 0;
            if (rest) ml = strlen(m);
            if (ml == 0 || m[0] == '.' || m[ml - 1] == '.' || (rest && strstr(m, ".."))) return -1;
            if ((size_t)ncaps < maxcaps) snprintf(caps[ncaps], 64, "%.*s", (int)ml, m);
            ncaps++;
        } else if (pl != ml || strncmp(p, m, pl) != 0) {
            return -1;
        }
        p += pl;
        m += ml;
        if (*p != *m) return -1; /* both at '.' or both at the end */
        if (*p) p++, m++;
    }
    return *m ? -1 : ncaps;
}

/* The metric's placeholders filled in from the pattern variant, for a did-you-mean: each
 * placeholder takes the metric's segment at its place (if the counts agree), else its name. */
static void instantiate(const char *pat, const char *metric, char *out, size_t n)
{
    size_t segs_p = 1, segs_m = 1;
    for (const char *q = pat; *q; q += seglen(q))
        if (*q == '.') segs_p++, q++;
    for (const char *q = metric; *q; q++)
        segs_m += *q == '.';
    out[0] = '\0';
    const char *p = pat, *m = metric;
    while (*p) {
        size_t pl = seglen(p), ml = strcspn(m, ".");
        size_t len = strlen(out);
        if (p[0] == '<' && segs_p == segs_m)
            snprintf(out + len, n - len, "%.*s", (int)ml, m);
        else
            snprintf(out + len, n - len, "%.*s", (int)pl, p);
        p += pl;
        m += ml;
        if (*p) p++, strncat(out, ".", n - strlen(out) - 1);
        if (*m) m++;
    }
}

int plan_metric_check(const char *metric, const plan_scenario *s, bool compare, hx_err *e)
{
    char why[300] = "";
    for (size_t i = 0; i < NCAT; i++)
        for (int with = 0; with < 2 && (compare || !catalogue[i].compare_only); with++) {
            char pat[128], caps[4][64];
            if (!variant(catalogue[i].pattern, with, pat, sizeof pat)) continue;
            int nc = match(pat, metric, caps, 4);
            if (nc < 0) continue;
            const char *cv[4] = {caps[0], caps[1], caps[2], caps[3]};
            if (!catalogue[i].accept ||
                catalogue[i].accept(s, cv, (size_t)(nc < 4 ? nc : 4), why, sizeof why))
                return 0;
        }
    if (why[0]) return hx_fail(e, HX_EUSAGE, "metric '%s': %s", metric, why);
    /* the nearest name a row would give, its placeholders filled from the metric */
    char names[2 * NCAT][128];
    const char *cands[2 * NCAT + 1];
    size_t nc = 0;
    for (size_t i = 0; i < NCAT; i++)
        for (int with = 0; with < 2 && (compare || !catalogue[i].compare_only); with++) {
            char pat[128];
            if (!variant(catalogue[i].pattern, with, pat, sizeof pat)) continue;
            instantiate(pat, metric, names[nc], sizeof names[nc]);
            cands[nc] = names[nc];
            nc++;
        }
    cands[nc] = NULL;
    const char *best = hx_suggest(metric, cands);
    return hx_fail(e, HX_EUSAGE,
                   "no scenario produces metric '%s'%s%s%s (the metrics are listed in "
                   "docs/scenarios.md)",
                   metric, best ? " (did you mean '" : "", best ? best : "", best ? "'?)" : "");
}
