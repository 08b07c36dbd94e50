/* report_fixture.h - run fixtures built in C that more than one report writer's test renders
 * (test_html, test_markdown). Include after cmocka.h and results.h. */
#ifndef HX_TEST_REPORT_FIXTURE_H
#define HX_TEST_REPORT_FIXTURE_H

/* Two scenarios priced under one sheet (fixed 10 and 12, variable 1 and 3 a month) whose
 * solution moved its work into SQL: 0.04 s of its own CPU, 1.5 s of the database's. */
static inline results_run *fixture_split_run(void)
{
    results_run *r = results_run_new();
    assert_non_null(r);
    assert_true(results_set_str(&r->pack_name, "p"));
    for (int i = 0; i < 2; i++) {
        results_scenario *sc = results_scenario_add(r, i ? "b" : "a");
        assert_non_null(sc);
        assert_non_null(results_metric_add(sc, "solution.cpu.total", 0.04, "s"));
        assert_non_null(results_metric_add(sc, "db.cpu.solution", 1.5, "s"));
        sc->resources.peak_rss_bytes = 1000000;
        results_cost *c = results_cost_add(sc, "aws-us-east-1", "USD");
        assert_non_null(c);
        c->monthly_fixed = i ? 12 : 10;
        c->monthly_variable = i ? 3 : 1;
        c->monthly_total = c->monthly_fixed + c->monthly_variable;
        c->runs_per_month = 4;
        c->per_run_total = c->monthly_total / 4;
        results_cost_line *l = results_cost_line_add(c, "database instance tiny", 700,
                                                     "instance-hour", 0.01, 7.0 / 4, NULL);
        assert_non_null(l);
        assert_true(results_set_str(&l->kind, "fixed"));
        l->monthly = 7;
    }
    return r;
}

#endif
