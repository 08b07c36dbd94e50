/* test_compare.c - the run diff and the --fail-on gates, on runs built in memory and on the
 * checked-in run fixtures. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "compare.h"
#include "render_oom.h"
#include "rep.h"
#include "runjson.h"

/* Debian 12's cmocka has no assert_double_equal. */
#define assert_double_equal(a, b, eps) near((a), (b), (eps), #a, __FILE__, __LINE__)
static void near(double a, double b, double eps, const char *what, const char *file, int line)
{
    if (!(fabs(a - b) <= eps)) {
        print_error("%s = %.17g, expected %.17g (+- %g)\n", what, a, b, eps);
        _fail(file, line);
    }
}

/* One scenario with the numbers compare looks at; the caller picks them. */
static results_scenario *scenario(results_run *r, const char *name, double wall, double p99,
                                  double monthly, double sc_score)
{
    results_scenario *sc = results_scenario_add(r, name);
    assert_non_null(sc);
    assert_non_null(results_metric_add(sc, "solution.wall.max", wall, "s"));
    assert_non_null(results_metric_add(sc, "solution.cpu.total", 2.0, "s"));
    assert_non_null(results_metric_add(sc, "solution.rss.peak", 100e6, "bytes"));
    assert_non_null(results_metric_add(sc, "rows.in", 1000, ""));
    assert_non_null(results_metric_add(sc, "cost.monthly.usd", monthly, "USD"));
    results_hist *h = results_hist_add(sc, "latency.e2e", "s", "");
    assert_non_null(h);
    h->count = 10;
    h->p50 = p99 / 4;
    h->p90 = p99 / 2;
    h->p99 = p99;
    h->p999 = NAN;
    results_cost *c = results_cost_add(sc, "aws", "USD");
    assert_non_null(c);
    c->per_run_total = monthly / 30;
    c->monthly_total = monthly;
    if (!isnan(sc_score)) {
        sc->score.scored = true;
        sc->score.value = sc_score;
    }
    return sc;
}

static const cmp_value *val(const cmp_scenario *s, const char *name)
{
    for (size_t i = 0; i < s->nvalues; i++)
        if (strcmp(s->values[i].name, name) == 0) return &s->values[i];
    return NULL;
}

static const cmp_scenario *scen(const cmp_diff *d, const char *name)
{
    for (size_t i = 0; i < d->nscenarios; i++)
        if (strcmp(d->scenarios[i].name, name) == 0) return &d->scenarios[i];
    return NULL;
}

typedef struct pair {
    results_run *base, *head;
} pair;

/* base: a (checks ok, broken, flaky), b (removed later); head: a (ok fails, broken passes, new
 * one fails), c (added). */
static pair make_pair(double base_wall, double head_wall, double base_score, double head_score)
{
    pair p = {results_run_new(), results_run_new()};
    assert_non_null(p.base);
    assert_non_null(p.head);
    results_scenario *a = scenario(p.base, "a", base_wall, 0.2, 100, 80);
    results_check_add(a, "ok", "sql", RESULTS_SEV_ERROR, RESULTS_PASS);
    results_check_add(a, "broken", "sql", RESULTS_SEV_ERROR, RESULTS_FAIL);
    results_check_add(a, "warned", "sql", RESULTS_SEV_WARN, RESULTS_PASS);
    results_check_add(a, "dropped", "sql", RESULTS_SEV_ERROR, RESULTS_FAIL);
    scenario(p.base, "b", 1, 0.1, 10, NAN);
    p.base->score.scored = true;
    p.base->score.value = base_score;

    a = scenario(p.head, "a", head_wall, 0.3, 110, 70);
    results_check_add(a, "ok", "sql", RESULTS_SEV_ERROR, RESULTS_FAIL);
    results_check_add(a, "broken", "sql", RESULTS_SEV_ERROR, RESULTS_PASS);
    /* A warning fails nothing, so it is not a flip. */
    results_check_add(a, "warned", "sql", RESULTS_SEV_WARN, RESULTS_FAIL);
    results_check_add(a, "brand new", "plugin:x", RESULTS_SEV_ERROR, RESULTS_ERROR);
    results_scenario *c = scenario(p.head, "c", 1, 0.1, 10, NAN);
    results_check_add(c, "in added", "sql", RESULTS_SEV_ERROR, RESULTS_FAIL);
    p.head->score.scored = true;
    p.head->score.value = head_score;
    return p;
}

static void pair_free(pair *p)
{
    results_run_free(p->base);
    results_run_free(p->head);
}

static void test_compare__scenarios_and_flips(void **state)
{
    (void)state;
    pair p = make_pair(10, 12, 90, 85);
    cmp_diff d;
    hx_err e = {0};
    assert_int_equal(cmp_diff_build(&d, p.base, p.head, &e), 0);
    assert_int_equal(d.nscenarios, 1);
    assert_string_equal(d.scenarios[0].name, "a");
    assert_int_equal(d.nadded, 1);
    assert_string_equal(d.added[0].name, "c");
    assert_int_equal(d.nremoved, 1);
    assert_string_equal(d.removed[0], "b");

    const cmp_scenario *a = scen(&d, "a");
    assert_int_equal(a->nchecks, 4);
    assert_string_equal(a->checks[0].name, "ok");
    assert_int_equal(a->checks[0].change, CMP_NEWLY_FAILING);
    assert_int_equal(a->checks[0].base, RESULTS_PASS);
    assert_int_equal(a->checks[0].head, RESULTS_FAIL);
    assert_string_equal(a->checks[1].name, "broken");
    assert_int_equal(a->checks[1].change, CMP_FIXED);
    assert_string_equal(a->checks[2].name, "brand new");
    assert_int_equal(a->checks[2].change, CMP_NEW_FAILING);
    assert_false(a->checks[2].in_base);
    assert_string_equal(a->checks[3].name, "dropped");
    assert_int_equal(a->checks[3].change, CMP_GONE_FAILING);
    assert_false(a->checks[3].in_head);

    assert_int_equal(d.added[0].nchecks, 1);
    assert_int_equal(d.added[0].checks[0].change, CMP_NEW_FAILING);
    cmp_diff_release(&d);
    pair_free(&p);
}

static void test_compare__deltas_and_percent(void **state)
{
    (void)state;
    pair p = make_pair(10, 12, 90, 85);
    cmp_diff d;
    hx_err e = {0};
    assert_int_equal(cmp_diff_build(&d, p.base, p.head, &e), 0);
    const cmp_scenario *a = scen(&d, "a");

    const cmp_value *v = val(a, "solution.wall.max");
    assert_non_null(v);
    assert_double_equal(v->base, 10, 1e-12);
    assert_double_equal(v->head, 12, 1e-12);
    assert_double_equal(v->delta, 2, 1e-12);
    assert_double_equal(v->pct, 20, 1e-9);
    assert_int_equal(v->better, CMP_LOWER_BETTER);

    v = val(a, "latency.e2e.p99");
    assert_non_null(v);
    assert_double_equal(v->pct, 50, 1e-9);
    assert_non_null(val(a, "latency.e2e.p50"));
    assert_non_null(val(a, "latency.e2e.p90"));
    v = val(a, "latency.e2e.p999");
    assert_non_null(v);
    assert_true(isnan(v->delta));
    assert_true(isnan(v->pct));

    assert_non_null(val(a, "solution.cpu.total"));
    assert_double_equal(val(a, "solution.cpu.total")->delta, 0, 0);
    assert_double_equal(val(a, "solution.rss.peak")->pct, 0, 0);
    /* Only the metrics compare is about: rows.in is not a cost, latency or resource. */
    assert_null(val(a, "rows.in"));

    v = val(a, "cost.aws.monthly.usd");
    assert_non_null(v);
    assert_string_equal(v->unit, "USD");
    assert_double_equal(v->pct, 10, 1e-9);
    v = val(a, "cost.aws.run.usd");
    assert_non_null(v);
    assert_double_equal(v->base, 100.0 / 30, 1e-12);
    assert_double_equal(val(a, "cost.monthly.usd")->delta, 10, 1e-12);

    v = val(a, "score");
    assert_int_equal(v->better, CMP_HIGHER_BETTER);
    assert_double_equal(v->delta, -10, 1e-12);
    assert_double_equal(v->pct, -12.5, 1e-9);
    assert_double_equal(d.score.delta, -5, 1e-12);

    /* The added scenario has nothing to compare against. */
    v = val(&d.added[0], "solution.wall.max");
    assert_true(isnan(v->base));
    assert_double_equal(v->head, 1, 0);
    assert_true(isnan(v->delta) && isnan(v->pct));
    cmp_diff_release(&d);
    pair_free(&p);
}

static void test_compare__nan_safe_percent(void **state)
{
    (void)state;
    cmp_value v = {.base = 0, .head = 5};
    cmp_value_compute(&v);
    assert_double_equal(v.delta, 5, 0);
    assert_true(isnan(v.pct));
    v = (cmp_value){.base = NAN, .head = 5};
    cmp_value_compute(&v);
    assert_true(isnan(v.delta) && isnan(v.pct));
    v = (cmp_value){.base = 4, .head = NAN};
    cmp_value_compute(&v);
    assert_true(isnan(v.delta) && isnan(v.pct));
    v = (cmp_value){.base = INFINITY, .head = 5};
    cmp_value_compute(&v);
    assert_true(isnan(v.delta) && isnan(v.pct));
    /* A negative base still gives the rise as positive. */
    v = (cmp_value){.base = -4, .head = -2};
    cmp_value_compute(&v);
    assert_double_equal(v.pct, 50, 1e-12);

    /* A rise from 0 has no percentage, so a percent gate cannot trip on it. */
    pair p = make_pair(0, 12, 90, 85);
    cmp_diff d;
    hx_err e = {0};
    assert_int_equal(cmp_diff_build(&d, p.base, p.head, &e), 0);
    cmp_gate g;
    assert_int_equal(cmp_gate_parse("solution.wall.max:+0%", &g, &e), 0);
    assert_false(cmp_gate_eval(&g, &d, NULL));
    cmp_diff_release(&d);
    pair_free(&p);
}

static bool trips(const cmp_diff *d, const char *gate)
{
    cmp_gate g;
    hx_err e = {0};
    assert_int_equal(cmp_gate_parse(gate, &g, &e), 0);
    return cmp_gate_eval(&g, d, NULL);
}

static void test_compare__gates_at_the_boundary(void **state)
{
    (void)state;
    pair p = make_pair(100, 110, 90, 85);
    cmp_diff d;
    hx_err e = {0};
    assert_int_equal(cmp_diff_build(&d, p.base, p.head, &e), 0);
    /* wall 100 -> 110 is exactly +10%: "more than 10" does not trip, 9.99 does. */
    assert_false(trips(&d, "solution.wall.max:+10%"));
    assert_true(trips(&d, "solution.wall.max:+9.99%"));
    /* cost.monthly.usd (metric) and every model's cost.<m>.monthly.usd: 100 -> 110. */
    assert_false(trips(&d, "cost.monthly.usd:+10%"));
    assert_true(trips(&d, "cost.monthly.usd:+9.9%"));
    assert_false(trips(&d, "cost.aws.monthly.usd:+10%"));
    assert_true(trips(&d, "cost.aws.monthly.usd:+9.9%"));
    /* latency 0.2 -> 0.3 is +50%. */
    assert_false(trips(&d, "latency.e2e.p99:+50%"));
    assert_true(trips(&d, "latency.e2e.p99:+49%"));
    assert_false(trips(&d, "latency.e2e.p999:+0%")); /* NAN on both sides */
    /* run score 90 -> 85 and scenario a 80 -> 70: dropped 5 and 10 points. */
    assert_false(trips(&d, "score:-10"));
    assert_true(trips(&d, "score:-9.5"));
    assert_true(trips(&d, "checks"));

    hx_buf why;
    hx_buf_init(&why);
    cmp_gate g;
    assert_int_equal(cmp_gate_parse("score:-4", &g, &e), 0);
    assert_true(cmp_gate_eval(&g, &d, &why));
    assert_non_null(strstr(why.data, "run score dropped 5 points (90 -> 85)"));
    assert_non_null(strstr(why.data, "score of 'a' dropped 10 points"));
    hx_buf_clear(&why);
    assert_int_equal(cmp_gate_parse("checks", &g, &e), 0);
    assert_true(cmp_gate_eval(&g, &d, &why));
    assert_non_null(strstr(why.data, "check 'ok' in 'a' is newly failing (pass -> fail)"));
    assert_non_null(strstr(why.data, "check 'brand new' in 'a' is new and failing"));
    assert_non_null(strstr(why.data, "check 'in added' in 'c'"));
    assert_null(strstr(why.data, "broken"));
    assert_null(strstr(why.data, "warned"));
    hx_buf_release(&why);
    cmp_diff_release(&d);
    pair_free(&p);
}

static void test_compare__checks_gate_quiet_when_nothing_new_fails(void **state)
{
    (void)state;
    results_run *b = results_run_new(), *h = results_run_new();
    results_scenario *s = results_scenario_add(b, "s");
    results_check_add(s, "x", "sql", RESULTS_SEV_ERROR, RESULTS_FAIL);
    results_check_add(s, "y", "sql", RESULTS_SEV_ERROR, RESULTS_PASS);
    s = results_scenario_add(h, "s");
    results_check_add(s, "x", "sql", RESULTS_SEV_ERROR, RESULTS_ERROR); /* still failing */
    results_check_add(s, "y", "sql", RESULTS_SEV_ERROR, RESULTS_PASS);
    cmp_diff d;
    hx_err e = {0};
    assert_int_equal(cmp_diff_build(&d, b, h, &e), 0);
    assert_int_equal(d.scenarios[0].nchecks, 0);
    assert_false(trips(&d, "checks"));
    assert_false(trips(&d, "score:-0")); /* neither run is scored */
    assert_true(isnan(d.score.delta));
    cmp_diff_release(&d);
    results_run_free(b);
    results_run_free(h);
}

static void test_compare__gate_parse_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "cost", "cost:10%", "cost:+10", ":+10%",      "score:5", "score:-",       "score:-x",
        "x:+%", "x:+-5%",   "x:+5%%",   "score:-inf", "check",   "cost.x:+1e999%"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cmp_gate g;
        hx_err e = {0};
        assert_int_equal(cmp_gate_parse(bad[i], &g, &e), HX_EUSAGE);
        assert_non_null(strstr(e.msg, "--fail-on"));
    }
    /* a metric no run has, or one compare does not compare, is a usage error, not a silent pass */
    static const char *const unknown[][2] = {
        {"nosuch.metric:+20%", "no scenario produces metric 'nosuch.metric'"},
        {"cost.montly.usd:+10%", "(did you mean 'cost.monthly.usd'?)"},
        {"solution.wal.max:+10%", "(did you mean 'solution.wall.max'?)"},
        {"replay.records:+10%", "harness compare does not compare 'replay.records'"}};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        cmp_gate g;
        hx_err e = {0};
        assert_int_equal(cmp_gate_parse(unknown[i][0], &g, &e), HX_EUSAGE);
        if (!strstr(e.msg, unknown[i][1])) fprintf(stderr, "%s\n", e.msg);
        assert_non_null(strstr(e.msg, unknown[i][1]));
        assert_non_null(strstr(e.msg, "bad --fail-on"));
    }
    cmp_gate g;
    hx_err e = {0};
    assert_int_equal(cmp_gate_parse("latency.e2e.p99:+20%", &g, &e), 0);
    assert_int_equal(g.kind, CMP_GATE_METRIC);
    assert_string_equal(g.metric, "latency.e2e.p99");
    assert_double_equal(g.limit, 20, 0);
    assert_int_equal(cmp_gate_parse("score:-2.5", &g, &e), 0);
    assert_int_equal(g.kind, CMP_GATE_SCORE);
    assert_double_equal(g.limit, 2.5, 0);
}

/* The fixtures: mixed.json against pass.json has a removed scenario, added ones and no crash on
 * hostile names (duplicates pair up in order). */
static void test_compare__fixtures(void **state)
{
    (void)state;
    const char *root = getenv("HX_SOURCE_ROOT");
    if (!root) root = "..";
    char pb[1024], pm[1024], ph[1024];
    snprintf(pb, sizeof pb, "%s/tests/fixtures/runs/pass.json", root);
    snprintf(pm, sizeof pm, "%s/tests/fixtures/runs/mixed.json", root);
    snprintf(ph, sizeof ph, "%s/tests/fixtures/runs/hostile.json", root);
    results_run *pass = NULL, *mixed = NULL, *hostile = NULL;
    hx_err e = {0};
    assert_int_equal(runjson_read(pb, &pass, &e), 0);
    assert_int_equal(runjson_read(pm, &mixed, &e), 0);
    assert_int_equal(runjson_read(ph, &hostile, &e), 0);

    cmp_diff d;
    assert_int_equal(cmp_diff_build(&d, pass, mixed, &e), 0);
    assert_int_equal(d.nscenarios, 0);
    assert_int_equal(d.nadded, 4);
    assert_int_equal(d.nremoved, 1);
    assert_string_equal(d.removed[0], "baseline");
    assert_true(trips(&d, "checks")); /* late_arrivals has failing checks */
    cmp_diff_release(&d);

    assert_int_equal(cmp_diff_build(&d, hostile, hostile, &e), 0);
    assert_int_equal(d.nscenarios, 3);
    assert_int_equal(d.nadded, 0);
    assert_int_equal(d.nremoved, 0);
    for (size_t i = 0; i < d.nscenarios; i++) {
        assert_int_equal(d.scenarios[i].nchecks, 0);
        for (size_t k = 0; k < d.scenarios[i].nvalues; k++) {
            const cmp_value *v = &d.scenarios[i].values[k];
            assert_true(isnan(v->delta) || v->delta == 0);
        }
    }
    assert_false(trips(&d, "checks"));
    cmp_diff_release(&d);
    results_run_free(pass);
    results_run_free(mixed);
    results_run_free(hostile);
}

/* Flipped checks carry both sides' expected, actual and message; the run totals fold every
 * scenario of each side; removed scenarios keep their base status. */
/* A solution that moves its work into SQL: its own CPU drops by 98 %, the database's rises, and
 * the system's CPU (both) drops by what it really saved, per scenario and over the run. */
static void test_compare__database_cpu_beside_the_solutions(void **state)
{
    (void)state;
    pair p = make_pair(10, 12, 90, 85);
    /* base a: 2 s of its own and 0.5 s of the database; head a: 0.04 s and 1.5 s */
    assert_non_null(results_metric_add(&p.base->scenarios[0], "db.cpu.solution", 0.5, "s"));
    p.head->scenarios[0].metrics[1].value = 0.04;
    assert_non_null(results_metric_add(&p.head->scenarios[0], "db.cpu.solution", 1.5, "s"));
    cmp_diff d;
    hx_err e = {0};
    assert_int_equal(cmp_diff_build(&d, p.base, p.head, &e), 0);
    const cmp_scenario *a = scen(&d, "a");
    assert_double_equal(val(a, "solution.cpu.total")->pct, -98, 1e-9);
    const cmp_value *v = val(a, "db.cpu.solution");
    assert_non_null(v);
    assert_double_equal(v->pct, 200, 1e-9);
    v = val(a, "system.cpu.total");
    assert_non_null(v);
    assert_double_equal(v->base, 2.5, 1e-12);
    assert_double_equal(v->head, 1.54, 1e-12);
    assert_double_equal(v->pct, -38.4, 1e-9);
    /* over the run: base a (2.5) + b (2, no database figure); head a (1.54) + c (2) */
    v = val(&d.totals, "system.cpu.total");
    assert_double_equal(v->base, 4.5, 1e-12);
    assert_double_equal(v->head, 3.54, 1e-12);
    assert_double_equal(val(&d.totals, "db.cpu.solution")->head, 1.5, 1e-12);
    cmp_diff_release(&d);
    pair_free(&p);
}

static void test_compare__check_sides_and_totals(void **state)
{
    (void)state;
    pair p = make_pair(10, 12, 90, 85);
    results_check *c = &p.base->scenarios[0].checks[0]; /* "ok", passes in base */
    assert_true(results_set_str(&c->expected, "3") && results_set_str(&c->actual, "3"));
    c = &p.head->scenarios[0].checks[0]; /* fails in head */
    assert_true(results_set_str(&c->expected, "3") && results_set_str(&c->actual, "4"));
    assert_true(results_set_str(&c->message, "one row too many"));
    assert_non_null(results_metric_add(&p.base->scenarios[1], "solution.rss.peak", 300e6, "bytes"));
    p.base->scenarios[1].status = RESULTS_FAIL;
    p.base->duration_s = 60;
    p.head->duration_s = 90;
    cmp_diff d;
    hx_err e = {0};
    assert_int_equal(cmp_diff_build(&d, p.base, p.head, &e), 0);
    const cmp_check *k = &scen(&d, "a")->checks[0];
    assert_string_equal(k->name, "ok");
    assert_string_equal(k->base_expected, "3");
    assert_string_equal(k->base_actual, "3");
    assert_null(k->base_message);
    assert_string_equal(k->head_actual, "4");
    assert_string_equal(k->head_message, "one row too many");
    k = &scen(&d, "a")->checks[2]; /* brand new: nothing on the base side */
    assert_false(k->in_base);
    assert_null(k->base_expected);

    assert_int_equal(d.removed_status[0], RESULTS_FAIL);
    assert_string_equal(d.totals.name, "run");
    /* base: a (cpu 2, monthly 100) + b (cpu 2, monthly 10); head: a (110) + c (10). */
    const cmp_value *v = val(&d.totals, "solution.cpu.total");
    assert_non_null(v);
    assert_double_equal(v->base, 4, 1e-12);
    assert_double_equal(v->head, 4, 1e-12);
    v = val(&d.totals, "solution.rss.peak"); /* the largest of the scenarios */
    assert_double_equal(v->base, 300e6, 1e-3);
    assert_double_equal(v->head, 100e6, 1e-3);
    /* the pack's monthly figure is the mean of its scenarios', not their sum */
    v = val(&d.totals, "cost.aws.monthly.usd");
    assert_double_equal(v->base, 55, 1e-9);
    assert_double_equal(v->head, 60, 1e-9);
    assert_int_equal(cmp_value_verdict(v), -1);
    v = val(&d.totals, "run.duration");
    assert_double_equal(v->pct, 50, 1e-9);
    assert_null(val(&d.totals, "latency.e2e.p99"));    /* percentiles do not add up */
    assert_int_equal(cmp_value_verdict(&d.score), -1); /* 90 -> 85: the score fell */
    cmp_diff_release(&d);
    pair_free(&p);
}

/* ---- the compare page ---- */

/* Everything an attacker might try, in one string: markup, a script, a textarea breakout, CDATA's
 * end, quotes and ampersands, a C0 control and invalid UTF-8 (a stray continuation byte, an
 * overlong '<', a surrogate and a truncated sequence). */
#define HOSTILE                                                                                    \
    "<script>alert(1)</script><img src=x onerror=alert(1)></textarea>]]>\"'&\x01"                  \
    "\x80\xc0\xbc\xed\xa0\x80\xe2\x82"

static char *render_page(const cmp_html_input *in, size_t *len)
{
    hx_buf b;
    hx_buf_init(&b);
    assert_true(cmp_html_render(&b, in));
    if (len) *len = b.len;
    hx_buf_putc(&b, '\0');
    return hx_buf_steal(&b);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Every tag in the page is one the writer emits, and no attribute is an event handler or fetches
 * anything: injected markup would show up as an unknown tag or attribute. */
static void expect_only_own_markup(const char *html)
{
    static const char *const tags[] = {
        "html", "head",    "meta",    "title",  "style", "body", "script",  "header", "h1",
        "h2",   "h4",      "table",   "tr",     "th",    "td",   "section", "span",   "p",
        "main", "details", "summary", "div",    "dl",    "dt",   "dd",      "code",   "svg",
        "rect", "label",   "input",   "button", "ul",    "li",   NULL};
    bool in_script = false;
    for (const char *p = html; (p = strchr(p, '<')); p++) {
        bool close = p[1] == '/';
        const char *n = p + 1 + close;
        size_t len = 0;
        while ((n[len] >= 'a' && n[len] <= 'z') || (n[len] >= '0' && n[len] <= '9'))
            len++;
        if (in_script && !(close && len == 6 && strncmp(n, "script", 6) == 0)) continue;
        if (p[1] == '!' || len == 0) continue; /* the doctype; '<' in the script or CSS */
        bool known = false;
        for (size_t i = 0; tags[i] && !known; i++)
            known = strlen(tags[i]) == len && strncmp(tags[i], n, len) == 0;
        if (!known) fail_msg("unexpected tag <%.*s> at byte %zu", (int)len, n, (size_t)(p - html));
        if (len == 6 && strncmp(n, "script", 6) == 0) in_script = !close;
        const char *end = strchr(n, '>');
        assert_non_null(end);
        /* Attribute names: a space, then a name, then '=' or another space or the end. */
        for (const char *a = n + len; a < end; a++) {
            if (*a == '"') {
                a = strchr(a + 1, '"');
                assert_true(a && a < end);
                continue;
            }
            if (*a != ' ') continue;
            if ((a[1] == 'o' || a[1] == 'O') && (a[2] == 'n' || a[2] == 'N'))
                fail_msg("event handler attribute at byte %zu", (size_t)(a - html));
            if (!strncmp(a + 1, "src", 3) || !strncmp(a + 1, "href", 4))
                fail_msg("fetching attribute at byte %zu", (size_t)(a - html));
        }
    }
}

static void expect_valid_utf8(const char *html, size_t len)
{
    for (size_t i = 0; i < len;) {
        int32_t cp;
        size_t k = hx_utf8_next(html + i, len - i, &cp);
        if (cp < 0) fail_msg("invalid UTF-8 at byte %zu", i);
        if (cp < 0x20 && cp != '\n' && cp != '\t') fail_msg("raw control 0x%02x at %zu", cp, i);
        i += k;
    }
}

static char *escaped(const char *s, size_t max)
{
    hx_buf b;
    hx_buf_init(&b);
    assert_true(rep_html_text(&b, s, max));
    hx_buf_putc(&b, '\0');
    return hx_buf_steal(&b);
}

static void test_compare__html_hostile(void **state)
{
    (void)state;
    results_run *r[2] = {results_run_new(), results_run_new()};
    for (int k = 0; k < 2; k++) {
        assert_non_null(r[k]);
        assert_true(results_set_str(&r[k]->pack_name, HOSTILE));
        assert_true(results_set_str(&r[k]->solution_name, HOSTILE));
        assert_true(results_set_str(&r[k]->level, HOSTILE));
        assert_true(results_set_str(&r[k]->harness_version, HOSTILE));
        assert_true(results_set_str(&r[k]->harness_commit, HOSTILE));
        assert_true(results_set_str(&r[k]->started, HOSTILE));
        /* A scenario in both runs, one only in each; every name hostile. */
        results_scenario *sc = scenario(r[k], "both " HOSTILE, k ? 12 : 10, 0.2, 100, 80);
        assert_non_null(results_hist_add(sc, HOSTILE, HOSTILE, ""));
        assert_non_null(results_metric_add(sc, "cost." HOSTILE ".monthly.usd", k ? 2 : 1, "USD"));
        assert_non_null(results_metric_add(sc, "query.q" HOSTILE ".p95", k ? 0.1 : 0.2, "s"));
        results_cost *c = results_cost_add(sc, HOSTILE, HOSTILE);
        c->per_run_total = k ? 3 : 2;
        c->monthly_total = k ? 30 : 20;
        results_check *ch = results_check_add(sc, "check " HOSTILE, "plugin:" HOSTILE,
                                              RESULTS_SEV_ERROR, k ? RESULTS_FAIL : RESULTS_PASS);
        assert_true(results_set_str(&ch->expected, "expected " HOSTILE));
        assert_true(results_set_str(&ch->actual, "actual " HOSTILE));
        assert_true(results_set_str(&ch->message, "message " HOSTILE));
        sc->status = k ? RESULTS_FAIL : RESULTS_PASS;
        sc = scenario(r[k], k ? "head " HOSTILE : "base " HOSTILE, 1, 0.1, 10, NAN);
        ch = results_check_add(sc, "new " HOSTILE, "sql", RESULTS_SEV_ERROR, RESULTS_FAIL);
        assert_true(results_set_str(&ch->message, HOSTILE));
    }
    cmp_diff d;
    hx_err e = {0};
    assert_int_equal(cmp_diff_build(&d, r[0], r[1], &e), 0);
    cmp_gate g[2];
    assert_int_equal(cmp_gate_parse("checks", &g[0], &e), 0);
    assert_int_equal(cmp_gate_parse("cost." HOSTILE ".monthly.usd:+1%", &g[1], &e), 0);
    cmp_html_input in = {.base = r[0],
                         .head = r[1],
                         .base_path = "base/" HOSTILE,
                         .head_path = "head/" HOSTILE,
                         .diff = &d,
                         .gates = g,
                         .ngates = 2};
    size_t len;
    char *html = render_page(&in, &len);

    expect_only_own_markup(html);
    expect_valid_utf8(html, len);
    assert_int_equal(count(html, "<script"), 1);
    assert_int_equal(count(html, "</script>"), 1);
    assert_null(strstr(html, "<img"));
    assert_null(strstr(html, "</textarea>"));
    assert_null(strstr(html, "]]>"));
    assert_null(strstr(html, "\"'&"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x "
                                 "onerror=alert(1)&gt;&lt;/textarea&gt;]]&gt;&quot;&#39;&amp;"));
    /* Every scenario is there, escaped, each in its own section; both gates tripped. */
    const char *names[] = {"both " HOSTILE,    "head " HOSTILE,     "base " HOSTILE,
                           "check " HOSTILE,   "expected " HOSTILE, "actual " HOSTILE,
                           "message " HOSTILE, "q" HOSTILE};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char *want = escaped(names[i], 300);
        if (!strstr(html, want)) fail_msg("missing: %s", want);
        hx_free(want);
    }
    assert_int_equal(count(html, "<details class=\"scenario"), 3);
    assert_int_equal(count(html, "only in head</span>"), 1);
    assert_int_equal(count(html, "only in base</span>"), 1);
    assert_int_equal(count(html, "<tr class=\"gate\">"), 2);
    assert_non_null(strstr(html, "2 of 2 gates tripped"));
    assert_int_equal(count(html, "<svg"), count(html, "</svg>"));
    hx_free(html);
    cmp_diff_release(&d);
    results_run_free(r[0]);
    results_run_free(r[1]);
}

/* What the page says about a plain pair: both verdicts, the deltas coloured by direction, bar
 * pairs for the key numbers, the gates, and the page small and self-contained. */
static void test_compare__html_content(void **state)
{
    (void)state;
    pair p = make_pair(10, 12, 90, 85);
    p.base->verdict = RESULTS_FAIL;
    p.head->verdict = RESULTS_PASS;
    cmp_diff d;
    hx_err e = {0};
    assert_int_equal(cmp_diff_build(&d, p.base, p.head, &e), 0);
    cmp_html_input in = {.base = p.base, .head = p.head, .diff = &d};
    char *html = render_page(&in, NULL);
    assert_non_null(strstr(html, "data-base=\"fail\" data-head=\"pass\""));
    assert_null(strstr(html, "id=\"gates\"")); /* no --fail-on, no gates section */
    /* score 90 -> 85 is worse, wall 10 -> 12 worse, cpu unchanged (a row the filter hides). */
    assert_non_null(strstr(html, "<td class=\"num d-worse\">-5</td><td class=\"num d-worse\">"
                                 "-5.6%</td>"));
    assert_non_null(strstr(html, "<td class=\"num d-worse\">+2 s</td><td class=\"num d-worse\">"
                                 "+20.0%</td>"));
    assert_non_null(strstr(html, "<tr class=\"value ok\"><td>solution.cpu.total</td>"));
    /* The fixed check is better, the newly failing one worse. */
    assert_non_null(strstr(html, "<td class=\"d-better\">fixed</td>"));
    assert_non_null(strstr(html, "<td class=\"d-worse\">newly failing</td>"));
    assert_true(count(html, "data-chart=\"bar-pair\"") >= 5);
    assert_non_null(strstr(html, "<span class=\"scenario-name\">b</span> <span class=\"badge\">"
                                 "only in base</span>"));
    hx_free(html);

    cmp_gate g[2];
    assert_int_equal(cmp_gate_parse("score:-10", &g[0], &e), 0);
    assert_int_equal(cmp_gate_parse("solution.wall.max:+10%", &g[1], &e), 0);
    in.gates = g;
    in.ngates = 2;
    html = render_page(&in, NULL);
    assert_non_null(strstr(html, "<tr class=\"gate ok\"><td><code>score:-10</code></td>"
                                 "<td class=\"d-better\">passed</td>"));
    assert_non_null(strstr(html, "<tr class=\"gate\"><td><code>solution.wall.max:+10%</code>"
                                 "</td><td class=\"d-worse\">tripped</td><td><div>"
                                 "solution.wall.max +20% in &#39;a&#39;"));
    assert_non_null(strstr(html, "1 of 2 gates tripped"));
    hx_free(html);

    /* Written atomically, the same bytes. */
    char path[] = "/tmp/hx-test-compare-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(cmp_html_write(&in, path, &e), 0);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(hx_read_file(path, &data, &len, &e), 0);
    html = render_page(&in, NULL);
    assert_string_equal(data, html);
    unlink(path);
    hx_free(data);
    hx_free(html);
    cmp_diff_release(&d);
    pair_free(&p);
}

static bool render_cmp(hx_buf *out, const void *ctx)
{
    return cmp_html_render(out, ctx);
}

/* Every failing allocation while rendering is reported, until the page renders whole. */
static void test_compare__html_out_of_memory(void **state)
{
    (void)state;
    pair p = make_pair(10, 12, 90, 85);
    cmp_diff d;
    hx_err e = {0};
    assert_int_equal(cmp_diff_build(&d, p.base, p.head, &e), 0);
    cmp_gate g;
    assert_int_equal(cmp_gate_parse("checks", &g, &e), 0);
    cmp_html_input in = {.base = p.base, .head = p.head, .diff = &d, .gates = &g, .ngates = 1};
    expect_render_survives_oom(render_cmp, &in, 200);
    cmp_diff_release(&d);
    pair_free(&p);
}

/* Every allocation failure is reported as HX_ENOMEM and leaks nothing (ASan checks the latter). */
static void test_compare__out_of_memory(void **state)
{
    (void)state;
    pair p = make_pair(10, 12, 90, 85);
    int ok = 0;
    for (long n = 0; n < 400; n++) {
        cmp_diff d;
        hx_err e = {0};
        hx_alloc_fail_after(n);
        int rc = cmp_diff_build(&d, p.base, p.head, &e);
        hx_alloc_fail_after(-1);
        if (rc == 0) {
            ok = 1;
            cmp_diff_release(&d);
            break;
        }
        assert_int_equal(rc, HX_ENOMEM);
    }
    assert_true(ok);
    pair_free(&p);
}

/* Two runs priced in two currencies under one model are not one comparison. */
static void test_compare__mixed_currencies_refused(void **state)
{
    (void)state;
    results_run *a = results_run_new(), *b = results_run_new();
    assert_non_null(a);
    assert_non_null(b);
    results_scenario *sa = results_scenario_add(a, "s"), *sb = results_scenario_add(b, "s");
    assert_non_null(sa);
    assert_non_null(sb);
    assert_non_null(results_cost_add(sa, "eu-1", "USD"));
    assert_non_null(results_cost_add(sb, "eu-1", "EUR"));
    cmp_diff d;
    hx_err e = {0};
    assert_int_equal(cmp_diff_build(&d, a, b, &e), HX_EUSAGE);
    assert_non_null(
        strstr(e.msg, "cost model 'eu-1': it prices in USD in the base run and in EUR"));
    results_run_free(a);
    results_run_free(b);
}

/* A workload scenario: three served queries' percentiles, the solution's own wall time, storage
 * and a storage cost line. */
static results_scenario *workload(results_run *r, const double p95[3], double wall, double variable,
                                  double index_bytes)
{
    results_scenario *sc = results_scenario_add(r, "w");
    assert_non_null(sc);
    static const char *const q[3] = {"top_products", "cohorts", "flat"};
    char name[64];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "query.%s.p50", q[i]);
        assert_non_null(results_metric_add(sc, name, p95[i] / 2, "s"));
        snprintf(name, sizeof name, "query.%s.p95", q[i]);
        assert_non_null(results_metric_add(sc, name, p95[i], "s"));
        snprintf(name, sizeof name, "query.%s.p99", q[i]);
        assert_non_null(results_metric_add(sc, name, p95[i] * 2, "s"));
        snprintf(name, sizeof name, "query.%s.count", q[i]);
        assert_non_null(results_metric_add(sc, name, 20, ""));
        snprintf(name, sizeof name, "query.%s.errors", q[i]);
        assert_non_null(results_metric_add(sc, name, 0, ""));
        snprintf(name, sizeof name, "query.%s", q[i]);
        results_hist *h = results_hist_add(sc, name, "s", "");
        assert_non_null(h);
        h->count = 20;
        h->p50 = h->p90 = h->p99 = h->p999 = 99; /* the metrics, not the histogram, are compared */
    }
    assert_non_null(results_metric_add(sc, "workload.qps", 100, "1/s"));
    assert_non_null(results_metric_add(sc, "solution.wall.sum", wall, "s"));
    assert_non_null(results_metric_add(sc, "db.solution.bytes", index_bytes + 8192, "bytes"));
    assert_non_null(results_metric_add(sc, "db.solution.indexes.bytes", index_bytes, "bytes"));
    results_cost *c = results_cost_add(sc, "aws", "USD");
    assert_non_null(c);
    c->monthly_variable = variable;
    c->monthly_fixed = 10;
    c->monthly_total = 10 + variable;
    results_cost_line *l =
        results_cost_line_add(c, "database storage", 20, "GB-month", 0.115, 0.0032, "minimum");
    assert_non_null(l);
    assert_true(results_set_str(&l->kind, "fixed"));
    l->monthly = 2.3;
    return sc;
}

/* A cost projected from one size (no --probe) is said to be so beside the headline's months: its
 * start-up costs count as per-record and can rank two solutions the wrong way round. */
static void test_compare__one_size_cost_is_said(void **state)
{
    (void)state;
    const double p95[3] = {0.1, 0.1, 0.1};
    results_run *b = results_run_new(), *h = results_run_new();
    assert_non_null(b);
    assert_non_null(h);
    workload(b, p95, 1.0, 0.5, 0);
    workload(h, p95, 1.0, 0.2, 0);
    results_cost *cb = &b->scenarios[0].cost[0], *ch = &h->scenarios[0].cost[0];
    const char *fits[][2] = {{NULL, NULL},
                             {"fixed+per-record", "fixed+per-record"},
                             {"fixed+per-record", "linear"},
                             {"linear", "linear"}};
    for (size_t i = 0; i < 4; i++) {
        assert_true(fits[i][0] ? results_set_str(&cb->fit, fits[i][0]) : true);
        assert_true(fits[i][1] ? results_set_str(&ch->fit, fits[i][1]) : true);
        cmp_diff d;
        hx_err e = {0};
        assert_int_equal(cmp_diff_build(&d, b, h, &e), 0);
        assert_int_equal(d.headline.cost_one_size, i >= 2);
        hx_buf t;
        hx_buf_init(&t);
        cmp_headline_text(&t, &d);
        assert_int_equal(strstr(t.data, "projected from one size") != NULL, i >= 2);
        hx_buf_release(&t);
        cmp_diff_release(&d);
    }
    results_run_free(b);
    results_run_free(h);
}

/* The served queries are compared the way a reader says it, and they, not the solution's own
 * wall time, are the performance in the headline (the workload is the product). */
static void test_compare__served_queries_and_the_headline(void **state)
{
    (void)state;
    const double base_p95[3] = {0.352, 0.01, 0.1}, head_p95[3] = {0.01, 0.021, 0.104};
    results_run *b = results_run_new(), *h = results_run_new();
    assert_non_null(b);
    assert_non_null(h);
    workload(b, base_p95, 1.0, 0.5, 0);
    workload(h, head_p95, 4.29, 0.2, 40960);
    cmp_diff d;
    hx_err e = {0};
    assert_int_equal(cmp_diff_build(&d, b, h, &e), 0);
    const cmp_scenario *w = scen(&d, "w");
    assert_int_equal(w->nqueries, 3);
    assert_string_equal(w->queries[0].name, "top_products");
    char txt[64];
    double ratio;
    cmp_speed_text(txt, sizeof txt, w->queries[0].p95);
    assert_string_equal(txt, "35.2x faster");
    assert_int_equal(cmp_value_change(w->queries[0].p95, &ratio), 1);
    assert_double_equal(ratio, 35.2, 1e-9);
    cmp_speed_text(txt, sizeof txt, w->queries[1].p95);
    assert_string_equal(txt, "2.1x slower");
    assert_int_equal(cmp_value_change(w->queries[1].p95, NULL), -1);
    cmp_speed_text(txt, sizeof txt, w->queries[2].p95); /* 4 %: said, but within the noise */
    assert_string_equal(txt, "1.04x slower");
    assert_int_equal(cmp_value_change(w->queries[2].p95, NULL), 0);
    assert_double_equal(w->queries[0].p99->base, 0.704, 1e-12); /* the metric, not the hist */
    assert_null(val(w, "query.top_products.count"));
    assert_null(val(w, "query.top_products.p90"));
    assert_int_equal(val(w, "workload.qps")->better, CMP_HIGHER_BETTER);
    /* one query faster, one slower: mixed, whatever the cost did */
    assert_int_equal(d.headline.queries.better, 1);
    assert_int_equal(d.headline.queries.worse, 1);
    assert_int_equal(d.headline.queries.same, 1);
    assert_int_equal(d.headline.cost.better, 1);
    assert_int_equal(d.headline.overall, CMP_MIXED);
    assert_double_equal(d.headline.prep_head, 4.29, 1e-12);
    /* storage and its line, matched by model and component */
    assert_double_equal(val(w, "db.solution.indexes.bytes")->head, 40960, 0);
    assert_int_equal(w->nlines, 1);
    assert_true(cmp_line_is_storage(&w->lines[0]));
    assert_double_equal(w->lines[0].v.base, 2.3, 1e-12);
    assert_string_equal(w->lines[0].kind, "fixed");
    /* gates on a query percentile keep working; a rate is refused as a rise gate */
    cmp_gate g;
    assert_int_equal(cmp_gate_parse("query.cohorts.p95:+20%", &g, &e), 0);
    hx_buf why;
    hx_buf_init(&why);
    assert_true(cmp_gate_eval(&g, &d, &why));
    assert_non_null(strstr(why.data, "query.cohorts.p95 +110% in 'w' (0.01 -> 0.021)"));
    hx_buf_release(&why);
    assert_int_equal(cmp_gate_parse("query.top_products.p95:+20%", &g, &e), 0);
    assert_false(cmp_gate_eval(&g, &d, NULL));
    assert_int_equal(cmp_gate_parse("workload.qps:+5%", &g, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "is better higher"));
    cmp_diff_release(&d);

    /* every query faster while the solution's own wall time rose 329 %: better */
    h->scenarios[0].metrics[6].value = 0.009; /* cohorts p95 */
    assert_string_equal(h->scenarios[0].metrics[6].name, "query.cohorts.p95");
    assert_int_equal(cmp_diff_build(&d, b, h, &e), 0);
    assert_int_equal(d.headline.queries.better, 2);
    assert_int_equal(d.headline.queries.worse, 0);
    assert_int_equal(d.headline.wall.better + d.headline.wall.worse, 0);
    assert_double_equal(val(scen(&d, "w"), "solution.wall.sum")->pct, 329, 1e-9);
    assert_int_equal(d.headline.overall, CMP_BETTER);
    cmp_html_input in = {.base = b, .head = h, .base_path = "b", .head_path = "h", .diff = &d};
    char *html = render_page(&in, NULL);
    assert_non_null(strstr(html, "data-overall=\"better\""));
    assert_non_null(strstr(html, "<td>p95</td><td class=\"num\">352 ms</td><td class=\"num\">"
                                 "10 ms</td><td class=\"d-better\">35.2x faster</td>"));
    assert_non_null(strstr(html, "<td class=\"d-same\">1.04x slower</td>"));
    assert_non_null(strstr(html, "served queries at p95: 2 faster, 0 slower, 1 within 10 %"));
    assert_non_null(strstr(html, "<td>indexes</td><td class=\"num\">0 B</td>"));
    hx_free(html);
    cmp_diff_release(&d);

    /* a check newly failing makes it worse, whatever got faster */
    results_check_add(&h->scenarios[0], "query top_products", "workload", RESULTS_SEV_ERROR,
                      RESULTS_FAIL);
    results_check_add(&b->scenarios[0], "query top_products", "workload", RESULTS_SEV_ERROR,
                      RESULTS_PASS);
    assert_int_equal(cmp_diff_build(&d, b, h, &e), 0);
    assert_int_equal(d.headline.checks_worse, 1);
    assert_int_equal(d.headline.overall, CMP_WORSE);
    cmp_diff_release(&d);
    results_run_free(b);
    results_run_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compare__mixed_currencies_refused),
        cmocka_unit_test(test_compare__scenarios_and_flips),
        cmocka_unit_test(test_compare__deltas_and_percent),
        cmocka_unit_test(test_compare__nan_safe_percent),
        cmocka_unit_test(test_compare__gates_at_the_boundary),
        cmocka_unit_test(test_compare__checks_gate_quiet_when_nothing_new_fails),
        cmocka_unit_test(test_compare__gate_parse_errors),
        cmocka_unit_test(test_compare__fixtures),
        cmocka_unit_test(test_compare__out_of_memory),
        cmocka_unit_test(test_compare__database_cpu_beside_the_solutions),
        cmocka_unit_test(test_compare__check_sides_and_totals),
        cmocka_unit_test(test_compare__html_hostile),
        cmocka_unit_test(test_compare__html_content),
        cmocka_unit_test(test_compare__html_out_of_memory),
        cmocka_unit_test(test_compare__served_queries_and_the_headline),
        cmocka_unit_test(test_compare__one_size_cost_is_said),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
