/* test_units.c - the quantity parsers of units.h against hand-computed values, and their refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"
#include "units.h"

static double dur(const char *s)
{
    double v = -1;
    hx_err e = {0};
    assert_int_equal(units_duration(s, &v, &e), 0);
    return v;
}

static void test_units__durations(void **state)
{
    (void)state;
    assert_float_equal(dur("250ms"), 0.25, 1e-12);
    assert_float_equal(dur("2s"), 2, 0);
    assert_float_equal(dur("1.5h"), 5400, 0);
    assert_float_equal(dur("48h"), 172800, 0);
    assert_float_equal(dur("1d"), 86400, 0);
    assert_float_equal(dur("1h30m"), 5400, 0);
    assert_float_equal(dur(" 2 s "), 2, 0);
    assert_float_equal(dur("10us"), 1e-5, 1e-15);
    assert_float_equal(dur("3min"), 180, 0);
    int64_t us = 0;
    assert_int_equal(units_duration_us("20s", &us, NULL), 0);
    assert_int_equal(us, 20000000);
    assert_int_equal(units_duration_us("1.5ms", &us, NULL), 0);
    assert_int_equal(us, 1500);
}

static void test_units__duration_garbage(void **state)
{
    (void)state;
    double v = 123;
    hx_err e = {0};
    assert_int_equal(units_duration("30", &v, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "missing unit"));
    assert_int_equal(units_duration("3x", &v, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "unknown unit 'x'"));
    assert_int_equal(units_duration("5sec5", &v, &e), HX_EUSAGE);
    assert_int_equal(units_duration("2hr", &v, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "did you mean 'h"));
    assert_int_equal(units_duration("-1s", &v, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "negative"));
    assert_int_equal(units_duration("", &v, &e), HX_EUSAGE);
    assert_int_equal(units_duration("inf s", &v, &e), HX_EUSAGE);
    assert_int_equal(units_duration("nan s", &v, &e), HX_EUSAGE);
    assert_int_equal(units_duration("1e400s", &v, &e), HX_EUSAGE);
    assert_int_equal(units_duration("0x10s", &v, &e), HX_EUSAGE);
    assert_float_equal(v, 123, 0); /* untouched on failure */
}

static void test_units__bytes(void **state)
{
    (void)state;
    double v;
    assert_int_equal(units_bytes("64MB", &v, NULL), 0);
    assert_float_equal(v, 64e6, 0);
    assert_int_equal(units_bytes("1GiB", &v, NULL), 0);
    assert_float_equal(v, 1073741824.0, 0);
    assert_int_equal(units_bytes("512 KiB", &v, NULL), 0);
    assert_float_equal(v, 524288.0, 0);
    assert_int_equal(units_bytes("100", &v, NULL), 0);
    assert_float_equal(v, 100, 0);
    hx_err e = {0};
    assert_int_equal(units_bytes("64mb", &v, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "did you mean 'MB'"));
    assert_int_equal(units_bytes("-5MB", &v, &e), HX_EUSAGE);
    /* finite in terabytes, not in bytes (found by fuzz_units) */
    assert_int_equal(units_bytes("2e300 TB", &v, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "too large"));
    assert_int_equal(units_threshold("< 2e300 TB", &(plan_op){0}, &v, &(units_dim){0}, &e),
                     HX_EUSAGE);
}

static void test_units__money_and_percent(void **state)
{
    (void)state;
    double v;
    assert_int_equal(units_money("$40", &v, NULL), 0);
    assert_float_equal(v, 40, 0);
    assert_int_equal(units_money("40 usd", &v, NULL), 0);
    assert_float_equal(v, 40, 0);
    assert_int_equal(units_money("12.5USD", &v, NULL), 0);
    assert_float_equal(v, 12.5, 0);
    hx_err e = {0};
    assert_int_equal(units_money("40 eur", &v, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "US dollars"));
    assert_int_equal(units_money("$", &v, &e), HX_EUSAGE);
    assert_int_equal(units_percent("5%", &v, NULL), 0);
    assert_float_equal(v, 0.05, 1e-15);
    assert_int_equal(units_percent("0.25", &v, NULL), 0);
    assert_float_equal(v, 0.25, 0);
    assert_int_equal(units_percent("5%%", &v, &e), HX_EUSAGE);
}

static void test_units__thresholds(void **state)
{
    (void)state;
    plan_op op;
    double v;
    units_dim d;
    assert_int_equal(units_threshold("< 30s", &op, &v, &d, NULL), 0);
    assert_int_equal(op, PLAN_OP_LT);
    assert_float_equal(v, 30, 0);
    assert_int_equal(d, UNITS_DURATION);
    assert_int_equal(units_threshold("<= 40", &op, &v, &d, NULL), 0);
    assert_int_equal(op, PLAN_OP_LE);
    assert_float_equal(v, 40, 0);
    assert_int_equal(d, UNITS_PLAIN);
    assert_int_equal(units_threshold(">=0.99", &op, &v, &d, NULL), 0);
    assert_int_equal(op, PLAN_OP_GE);
    assert_float_equal(v, 0.99, 0);
    assert_int_equal(units_threshold("== 0", &op, &v, &d, NULL), 0);
    assert_int_equal(op, PLAN_OP_EQ);
    assert_float_equal(v, 0, 0);
    assert_int_equal(units_threshold("> 500ms", &op, &v, &d, NULL), 0);
    assert_int_equal(op, PLAN_OP_GT);
    assert_float_equal(v, 0.5, 0);
    assert_int_equal(units_threshold("< 512MB", &op, &v, &d, NULL), 0);
    assert_int_equal(d, UNITS_BYTES);
    assert_float_equal(v, 512e6, 0);
    assert_int_equal(units_threshold("<= $250", &op, &v, &d, NULL), 0);
    assert_int_equal(d, UNITS_MONEY);
    assert_float_equal(v, 250, 0);
    assert_int_equal(units_threshold(">= 99%", &op, &v, &d, NULL), 0);
    assert_int_equal(d, UNITS_PERCENT);
    assert_float_equal(v, 0.99, 1e-15);

    hx_err e = {0};
    assert_int_equal(units_threshold("30s", &op, &v, &d, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "start with <"));
    assert_int_equal(units_threshold("< ", &op, &v, &d, &e), HX_EUSAGE);
    assert_int_equal(units_threshold("<< 3", &op, &v, &d, &e), HX_EUSAGE);
    assert_int_equal(units_threshold("< 3 apples", &op, &v, &d, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "bad threshold '< 3 apples'"));
    assert_int_equal(units_threshold("!= 3", &op, &v, &d, &e), HX_EUSAGE);
}

static void test_units__timestamps(void **state)
{
    (void)state;
    int64_t us;
    assert_int_equal(units_timestamp("1970-01-01T00:00:00Z", &us, NULL), 0);
    assert_int_equal(us, 0);
    /* date -u -d 2026-01-05T00:00:00Z +%s = 1767571200 */
    assert_int_equal(units_timestamp("2026-01-05T00:00:00Z", &us, NULL), 0);
    assert_int_equal(us, INT64_C(1767571200000000));
    assert_int_equal(units_timestamp("2024-02-29T12:30:15.25Z", &us, NULL), 0);
    assert_int_equal(us, INT64_C(1709209815250000));
    assert_int_equal(units_timestamp("2026-01-05", &us, NULL), 0);
    assert_int_equal(us, INT64_C(1767571200000000));
    hx_err e = {0};
    assert_int_equal(units_timestamp("2026-13-01T00:00:00Z", &us, &e), HX_EUSAGE);
    assert_int_equal(units_timestamp("2026-01-01T00:00:00", &us, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "UTC ISO 8601"));
    assert_int_equal(units_timestamp("2026-01-01T00:00:00+02:00", &us, &e), HX_EUSAGE);
    assert_int_equal(units_timestamp("yesterday", &us, &e), HX_EUSAGE);
}

static void test_units__metric_dims(void **state)
{
    (void)state;
    assert_int_equal(units_metric_dim("cost.monthly.usd"), UNITS_MONEY);
    assert_int_equal(units_metric_dim("solution.wall.max"), UNITS_DURATION);
    assert_int_equal(units_metric_dim("latency.e2e.p99"), UNITS_DURATION);
    assert_int_equal(units_metric_dim("solution.rss.peak"), UNITS_BYTES);
    assert_int_equal(units_metric_dim("checks.pass_rate"), UNITS_PLAIN);
}

/* The metric catalogue: every name the engine writes is known, a misspelling is refused with the
 * nearest name, cost metrics take any model and currency, plugin metrics need the plugin. */
static void test_units__metric_catalogue(void **state)
{
    (void)state;
    hx_err e = {0};
    const char *known[] = {"solution.wall.max",
                           "solution.cpu.total",
                           "db.cpu.solution",
                           "replay.records_per_s",
                           "latency.e2e.p99",
                           "cost.monthly.usd",
                           "cost.gcp-us-central1.run.usd",
                           "cost.monthly.variable.eur",
                           "cost.aws.per_correct_record.usd",
                           "plugin.star.rows.late"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (plan_metric_check(known[i], NULL, false, &e)) fprintf(stderr, "%s\n", e.msg);
        assert_int_equal(plan_metric_check(known[i], NULL, false, &e), 0);
    }
    assert_int_equal(plan_metric_check("solution.wal.max", NULL, false, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "no scenario produces metric 'solution.wal.max'"));
    assert_non_null(strstr(e.msg, "(did you mean 'solution.wall.max'?)"));
    assert_int_equal(plan_metric_check("cost.montly.usd", NULL, false, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "(did you mean 'cost.monthly.usd'?)"));
    assert_int_equal(plan_metric_check("cost.gcp.montly.usd", NULL, false, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "(did you mean 'cost.gcp.monthly.usd'?)"));
    const char *unknown[] = {"",
                             "solution",
                             "solution.wall",
                             "solution.wall.max.x",
                             "cost.monthly",
                             "cost.compute_used.usd",
                             "cost.a.b.monthly.usd",
                             "plugin.star",
                             "plugin..x",
                             "plugin.star.x.",
                             "nosuch.metric"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        if (plan_metric_check(unknown[i], NULL, false, &e) == 0)
            fprintf(stderr, "%s\n", unknown[i]);
        assert_int_equal(plan_metric_check(unknown[i], NULL, false, &e), HX_EUSAGE);
    }
    /* histogram percentiles exist in harness compare, not in run.json: no threshold reads them */
    assert_int_equal(plan_metric_check("solution.wall.p99", NULL, false, &e), HX_EUSAGE);
    assert_int_equal(plan_metric_check("solution.wall.p99", NULL, true, &e), 0);
    assert_int_equal(plan_metric_check("latency.e2e.p999", NULL, true, &e), 0);
    /* plugin metrics: only of a plugin the scenario uses */
    plan_check c = {.kind = PLAN_CHK_PLUGIN, .plugin = "star"};
    plan_scenario s = {.name = "sc", .checks = &c, .nchecks = 1};
    assert_int_equal(plan_metric_check("plugin.star.rows", &s, false, &e), 0);
    assert_int_equal(plan_metric_check("plugin.other.rows", &s, false, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "scenario 'sc' uses no plugin 'other'"));
    /* end-to-end latency: a scenario's own threshold needs a service (it could never be measured
     * in a batch scenario); a pack budget (no scenario) is accepted and skipped where it does
     * not apply */
    assert_int_equal(plan_metric_check("latency.e2e.p99", &s, false, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "metric 'latency.e2e.p99': scenario 'sc' runs the solution in "
                                  "batches, and end-to-end latency is measured for services"));
    s.mode = PLAN_MODE_SERVICE;
    assert_int_equal(plan_metric_check("latency.e2e.p99", &s, false, &e), 0);
    assert_int_equal(plan_metric_check("latency.e2e.unmatched", &s, false, &e), 0);
    /* every row has a meaning and is in docs/scenarios.md's table */
    size_t n;
    const plan_metric *m = plan_metrics(&n);
    assert_true(n >= 30);
    char *doc = NULL;
    const char *root = getenv("HX_SOURCE_ROOT");
    char path[512];
    snprintf(path, sizeof path, "%s/docs/scenarios.md", root ? root : ".");
    assert_int_equal(hx_read_file(path, &doc, NULL, NULL), 0);
    for (size_t i = 0; i < n; i++) {
        char row[160];
        snprintf(row, sizeof row, "| `%s` |", m[i].pattern);
        if (!strstr(doc, row)) fprintf(stderr, "docs/scenarios.md lacks %s\n", row);
        assert_non_null(strstr(doc, row));
        assert_true(strlen(m[i].meaning) > 5);
    }
    hx_free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_units__durations),   cmocka_unit_test(test_units__duration_garbage),
        cmocka_unit_test(test_units__bytes),       cmocka_unit_test(test_units__money_and_percent),
        cmocka_unit_test(test_units__thresholds),  cmocka_unit_test(test_units__timestamps),
        cmocka_unit_test(test_units__metric_dims), cmocka_unit_test(test_units__metric_catalogue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
