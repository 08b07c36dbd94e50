/* test_score.c - the score formula of docs/scoring.md, edge cases computed by hand. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "score.h"

#define NEAR(a, b) near_((double)(a), (double)(b), __LINE__)

static void near_(double a, double b, int ln)
{
    if (!(fabs(a - b) <= 1e-9 * (1 + fabs(b)))) fail_msg("line %d: %.12g != %.12g", ln, a, b);
}

static score_result run(const score_input *in)
{
    score_result r;
    hx_err e = {0};
    if (score_compute(in, &r, &e)) fail_msg("score_compute: %s", e.msg);
    return r;
}

static const score_threshold sla_ok = {"latency.e2e.p99", PLAN_OP_LT, 0.5, 0.2};
static const score_threshold budget_ok = {"cost.monthly.usd", PLAN_OP_LE, 40, 12};

static void test_score__all_pass_is_100(void **state)
{
    (void)state;
    score_threshold t[] = {sla_ok, budget_ok};
    score_input in = {.error_pass = 12, .warn_pass = 3, .thresholds = t, .nthresholds = 2};
    score_result r = run(&in);
    NEAR(r.total, 100);
    assert_false(r.capped);
    NEAR(r.correctness.weight, 60);
    NEAR(r.performance.weight, 25);
    NEAR(r.cost.weight, 15);
    assert_true(r.items[0].passed && r.items[1].passed);
    assert_false(r.items[0].is_cost);
    assert_true(r.items[1].is_cost);
    score_result_release(&r);
}

static void test_score__no_thresholds(void **state)
{
    (void)state;
    /* Nothing to miss on performance and cost: correctness carries all 100 points. */
    score_input in = {.error_pass = 10};
    score_result r = run(&in);
    NEAR(r.total, 100);
    assert_false(r.performance.measured);
    assert_false(r.cost.measured);
    NEAR(r.correctness.weight, 100);
    score_result_release(&r);
    /* A failed warn check costs half an error check's share: (10 + 0.5) / (10 + 1). */
    in = (score_input){.error_pass = 10, .warn_pass = 1, .warn_fail = 1};
    r = run(&in);
    NEAR(r.total, 100 * 10.5 / 11);
    assert_false(r.capped);
    score_result_release(&r);
    /* No checks at all: nothing failed. */
    in = (score_input){0};
    r = run(&in);
    NEAR(r.total, 100);
    score_result_release(&r);
}

static void test_score__only_budget_failed(void **state)
{
    (void)state;
    /* 25% over a 40 USD budget: cost credit 2 - 1.25 = 0.75 -> 15 x 0.75 = 11.25 points. */
    score_threshold t[] = {sla_ok, {"cost.monthly.usd", PLAN_OP_LE, 40, 50}};
    score_input in = {.error_pass = 5, .thresholds = t, .nthresholds = 2};
    score_result r = run(&in);
    NEAR(r.total, 60 + 25 + 11.25);
    assert_false(r.items[1].passed);
    NEAR(r.items[1].ratio, 1.25);
    NEAR(r.items[1].credit, 0.75);
    NEAR(r.items[1].gain, 3.75);
    NEAR(r.items[0].gain, 0);
    score_result_release(&r);
    /* Double the budget or more: no cost credit. */
    t[1].actual = 80;
    r = run(&in);
    NEAR(r.total, 85);
    t[1].actual = 1000;
    score_result_release(&r);
    r = run(&in);
    NEAR(r.total, 85);
    score_result_release(&r);
}

static void test_score__sla_partial_credit_on_log_scale(void **state)
{
    (void)state;
    /* p99 of 1 s against < 0.5 s: off by 2x, credit 0.5 x (1 - log10 2). */
    score_threshold t[] = {{"latency.e2e.p99", PLAN_OP_LT, 0.5, 1.0}, budget_ok};
    score_input in = {.error_pass = 1, .thresholds = t, .nthresholds = 2};
    score_result r = run(&in);
    double c = 0.5 * (1 - log10(2.0));
    NEAR(r.items[0].credit, c);
    NEAR(r.total, 60 + 25 * c + 15);
    score_result_release(&r);
    /* 10x off: nothing. */
    t[0].actual = 5.0;
    r = run(&in);
    NEAR(r.items[0].credit, 0);
    NEAR(r.total, 75);
    score_result_release(&r);
    /* A floor (throughput >= 100/s) missed by 2x scores like a ceiling missed by 2x. */
    NEAR(score_threshold_credit(PLAN_OP_GE, 100, 50, false, NULL), c);
    /* Just missing still loses half: failing an SLA is never close to passing it. */
    NEAR(score_threshold_credit(PLAN_OP_LT, 0.5, 0.5, false, NULL), 0.5);
    /* Unmeasured metrics and equality thresholds get no partial credit. */
    double ratio = 0;
    NEAR(score_threshold_credit(PLAN_OP_LT, 0.5, NAN, false, &ratio), 0);
    assert_true(isnan(ratio));
    NEAR(score_threshold_credit(PLAN_OP_EQ, 3, 4, false, NULL), 0);
    NEAR(score_threshold_credit(PLAN_OP_EQ, 3, 3, false, NULL), 1);
    NEAR(score_threshold_credit(PLAN_OP_LT, 0, 1, false, NULL), 0);
}

static void test_score__error_check_caps_at_40(void **state)
{
    (void)state;
    score_threshold t[] = {sla_ok, budget_ok};
    /* 9 of 10: speed and cost count for the correct share only: 54 + 0.9 x (25 + 15) = 90
     * uncapped, and a failed error check caps the score at 40 x 0.9. */
    score_input in = {.error_pass = 9, .error_fail = 1, .thresholds = t, .nthresholds = 2};
    score_result r = run(&in);
    NEAR(r.uncapped, 90);
    NEAR(r.total, 36);
    assert_true(r.capped);
    hx_buf b;
    hx_buf_init(&b);
    assert_true(score_explain(&r, &b));
    assert_non_null(strstr(b.data, "score 36.0/100"));
    assert_non_null(strstr(b.data, "capped at 40 x the correctness share, here 36.0"));
    hx_buf_release(&b);
    score_result_release(&r);
    /* Nothing correct (a solution that does nothing, or crashes in every batch): 0, however
     * fast and cheap it was. */
    in.error_pass = 0;
    in.error_fail = 4;
    r = run(&in);
    NEAR(r.total, 0);
    NEAR(r.performance.points, 0);
    NEAR(r.cost.points, 0);
    score_result_release(&r);
    /* One check of ten right scores far below nine of ten. */
    in.error_pass = 1;
    in.error_fail = 9;
    r = run(&in);
    NEAR(r.total, 4);
    assert_true(r.total <= 10);
    score_result_release(&r);
}

/* Reference figures: credit min(1, reference / actual) for lower-is-better metrics. */
static void test_score__references(void **state)
{
    (void)state;
    NEAR(score_reference_credit(PLAN_OP_LE, 0.5, 1.0), 0.5);
    NEAR(score_reference_credit(PLAN_OP_LE, 0.5, 0.25), 1);
    NEAR(score_reference_credit(PLAN_OP_GE, 100, 50), 0.5);
    NEAR(score_reference_credit(PLAN_OP_LE, 0.5, 0), 0); /* produced nothing: no credit */
    NEAR(score_reference_credit(PLAN_OP_LE, 0.5, NAN), 0);
    score_threshold ref[] = {{"cost.monthly.variable.usd", PLAN_OP_LE, 0.3, 0.6},
                             {"solution.wall.sum", PLAN_OP_LE, 2, 2}};
    score_input in = {.error_pass = 4, .references = ref, .nreferences = 2};
    score_result r = run(&in);
    assert_int_equal(r.nitems, 2);
    assert_true(r.items[0].is_reference && r.items[0].is_cost);
    assert_false(r.items[1].is_cost);
    NEAR(r.cost.credit, 0.5);
    NEAR(r.performance.credit, 1);
    NEAR(r.total, 60 + 25 + 15 * 0.5);
    score_result_release(&r);
}

/* A solution that exits 3 while every check passes: the failed invocation counts as a failed
 * error check, so the score drops below 100 and is capped. */
static void test_score__failed_invocation_counts(void **state)
{
    (void)state;
    score_threshold t[] = {sla_ok, budget_ok};
    score_input in = {.error_pass = 5, .runs_failed = 1, .thresholds = t, .nthresholds = 2};
    score_result r = run(&in);
    NEAR(r.correctness.credit, 5.0 / 6.0);
    NEAR(r.uncapped, 100 * 5.0 / 6.0);
    NEAR(r.total, 40 * 5.0 / 6.0);
    assert_true(r.capped);
    score_result_release(&r);
    in.runs_failed = 0;
    r = run(&in);
    NEAR(r.total, 100);
    score_result_release(&r);
}

static void test_score__weights_redistribute_and_override(void **state)
{
    (void)state;
    /* Only an SLA threshold: cost's 15 points go to the others pro rata (60/85, 25/85). */
    score_threshold t[] = {{"solution.wall.max", PLAN_OP_LT, 30, 60}};
    score_input in = {.error_pass = 3, .thresholds = t, .nthresholds = 1};
    score_result r = run(&in);
    NEAR(r.correctness.weight, 6000.0 / 85);
    NEAR(r.performance.weight, 2500.0 / 85);
    NEAR(r.cost.weight, 0);
    double c = 0.5 * (1 - log10(2.0));
    NEAR(r.total, 6000.0 / 85 + 2500.0 / 85 * c);
    score_result_release(&r);
    /* Custom weights 50/25/25 with a budget only. */
    score_threshold t2[] = {{"cost.run.usd", PLAN_OP_LE, 1, 1.5}};
    in =
        (score_input){.error_pass = 1, .thresholds = t2, .nthresholds = 1, .weights = {50, 25, 25}};
    r = run(&in);
    NEAR(r.correctness.weight, 50.0 / 75 * 100);
    NEAR(r.cost.weight, 25.0 / 75 * 100);
    NEAR(r.total, 50.0 / 75 * 100 + 25.0 / 75 * 100 * 0.5);
    score_result_release(&r);
}

static void test_score__explain_orders_by_gain(void **state)
{
    (void)state;
    score_threshold t[] = {
        {"latency.e2e.p50", PLAN_OP_LT, 0.1, 0.11}, /* small miss */
        {"latency.e2e.p99", PLAN_OP_LT, 0.5, 50},   /* 100x miss: largest gain */
        budget_ok,
    };
    score_input in = {.error_pass = 2, .thresholds = t, .nthresholds = 3};
    score_result r = run(&in);
    assert_true(r.items[1].gain > r.items[0].gain);
    NEAR(r.items[1].gain, 12.5);
    hx_buf b;
    hx_buf_init(&b);
    assert_true(score_explain(&r, &b));
    const char *p99 = strstr(b.data, "latency.e2e.p99");
    const char *p50 = strstr(b.data, "latency.e2e.p50");
    assert_non_null(p99);
    assert_non_null(p50);
    assert_true(p99 < p50);
    assert_null(strstr(b.data, "cost.monthly.usd")); /* passed: nothing to gain */
    assert_non_null(strstr(b.data, "off by a factor 100"));
    hx_buf_release(&b);
    score_result_release(&r);
}

static void test_score__rejects_bad_input(void **state)
{
    (void)state;
    score_result r;
    hx_err e = {0};
    score_input in = {.weights = {-1, 25, 15}};
    assert_int_equal(score_compute(&in, &r, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "weights"));
    score_threshold t[] = {{NULL, PLAN_OP_LT, 1, 1}};
    in = (score_input){.thresholds = t, .nthresholds = 1};
    assert_int_equal(score_compute(&in, &r, &e), HX_EUSAGE);
    assert_true(score_metric_is_cost("cost.monthly.usd"));
    assert_false(score_metric_is_cost("costly.metric"));
    assert_false(score_metric_is_cost(NULL));
    /* The allocation failure path. */
    score_threshold ok[] = {sla_ok};
    in = (score_input){.thresholds = ok, .nthresholds = 1};
    hx_alloc_fail_after(0);
    int rc = score_compute(&in, &r, &e);
    hx_alloc_fail_after(-1);
    assert_int_equal(rc, HX_ENOMEM);
}

/* The worked example of docs/scoring.md, so the page stays true. */
static void test_score__docs_worked_example(void **state)
{
    (void)state;
    score_threshold t[] = {{"latency.e2e.p99", PLAN_OP_LT, 0.5, 1.0}};
    score_threshold ref[] = {{"cost.monthly.variable.usd", PLAN_OP_LE, 0.30, 0.40}};
    score_input in = {.error_pass = 9,
                      .error_fail = 1,
                      .warn_pass = 2,
                      .thresholds = t,
                      .nthresholds = 1,
                      .references = ref,
                      .nreferences = 1};
    score_result r = run(&in);
    double c = 10.0 / 11;
    NEAR(r.correctness.points, 60.0 * c);
    NEAR(r.performance.points, 25 * 0.5 * (1 - log10(2.0)) * c);
    NEAR(r.cost.points, 15 * 0.75 * c);
    NEAR(r.total, 40 * c);
    hx_buf b;
    hx_buf_init(&b);
    assert_true(score_explain(&r, &b));
    assert_string_equal(
        b.data, "score 36.4/100: correctness 54.5/60.0, performance 7.9/25.0, cost 10.2/15.0\n"
                "- fix the failing error-severity checks: while any fails the score is capped at "
                "40 x the correctness share, here 36.4 (uncapped 72.7; up to +5.5 more with every "
                "check passing)\n"
                "- meet threshold 'latency.e2e.p99' (off by a factor 2): up to +14.8\n"
                "- meet the reference for 'cost.monthly.variable.usd' (off by a factor 1.33): up "
                "to +3.4\n");
    hx_buf_release(&b);
    score_result_release(&r);
    in.error_pass = 10;
    in.error_fail = 0;
    r = run(&in);
    assert_true(fabs(r.total - 80.0) < 0.05);
    score_result_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_score__all_pass_is_100),
        cmocka_unit_test(test_score__no_thresholds),
        cmocka_unit_test(test_score__only_budget_failed),
        cmocka_unit_test(test_score__sla_partial_credit_on_log_scale),
        cmocka_unit_test(test_score__error_check_caps_at_40),
        cmocka_unit_test(test_score__references),
        cmocka_unit_test(test_score__failed_invocation_counts),
        cmocka_unit_test(test_score__weights_redistribute_and_override),
        cmocka_unit_test(test_score__explain_orders_by_gain),
        cmocka_unit_test(test_score__rejects_bad_input),
        cmocka_unit_test(test_score__docs_worked_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
