/* test_results.c - the results model, run.json and the journal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results.h"
#include "runjson.h"

static char tmpdir[256];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hx-test-results-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    return hx_rm_rf(tmpdir);
}

static void path_in(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", tmpdir, name);
}

/* A run with every field set to something other than its default, so a field the writer or the
 * reader forgot shows up as a difference. */
static void fill_scenario(results_scenario *sc, int k)
{
    char buf[64];
    assert_true(results_set_str(&sc->file, "scenarios/late.lua"));
    sc->phase = 1 + k;
    assert_true(results_strv_add(&sc->tags, &sc->ntags, "batch"));
    assert_true(results_strv_add(&sc->tags, &sc->ntags, "phase1"));
    snprintf(buf, sizeof buf, "2026-01-02T03:04:0%dZ", k);
    assert_true(results_set_str(&sc->started, buf));
    sc->duration_s = 12.5 + k;

    results_invocation *iv = results_invocation_add(sc, 0);
    assert_non_null(iv);
    iv->exit_code = 0;
    iv->wall_s = 3.25;
    iv->cpu_user_s = 1.5;
    iv->cpu_sys_s = 0.25;
    iv->peak_rss_bytes = 123456789;
    assert_true(results_set_str(&iv->stdout_tail, "loaded 200000 rows\n"));
    assert_true(results_set_str(&iv->stderr_tail, "warning: <late> & \"early\"\n"));
    iv = results_invocation_add(sc, 1);
    assert_non_null(iv);
    iv->exit_code = -1;
    assert_true(results_set_str(&iv->signal, "SIGKILL"));
    iv->timed_out = true;

    results_check *c =
        results_check_add(sc, "fct_orders matches", "diff", RESULTS_SEV_ERROR, RESULTS_FAIL);
    assert_non_null(c);
    assert_true(results_set_str(&c->expected, "200000 rows"));
    assert_true(results_set_str(&c->actual, "199997 rows"));
    assert_true(results_set_str(&c->message, "3 rows missing"));
    assert_true(results_set_str(&c->where, "late.lua:14"));
    c->duration_s = 0.125;
    const char *cols[] = {"order_id", "amount"};
    assert_true(results_check_sample_columns(c, cols, 2));
    const char *row1[] = {"17", "12.50"};
    const char *row2[] = {"18", NULL};
    assert_true(results_check_sample_row(c, row1));
    assert_true(results_check_sample_row(c, row2));
    assert_true(results_check_count(c, "missing", 3));
    assert_true(results_check_count(c, "extra", 0));
    c = results_check_add(sc, "amounts positive", "sql", RESULTS_SEV_WARN, RESULTS_PASS);
    assert_non_null(c);

    results_threshold *t =
        results_threshold_add(sc, "solution.wall.max", "<", 30, 3.25, "s", RESULTS_PASS);
    assert_non_null(t);
    assert_true(results_set_str(&t->where, "late.lua:20"));
    t = results_threshold_add(sc, "latency.e2e.p99", "<", 0.5, NAN, "s", RESULTS_SKIP);
    assert_non_null(t);

    assert_non_null(results_metric_add(sc, "solution.wall.max", 3.25, "s"));
    assert_non_null(results_metric_add(sc, "rows.in", 200000, ""));
    results_hist *h = results_hist_add(sc, "latency.e2e", "s", "HISTv1:abc==");
    assert_non_null(h);
    h->count = 1000;
    h->min = 0.001;
    h->max = 0.9;
    h->mean = 0.1;
    h->p50 = 0.05;
    h->p90 = 0.2;
    h->p99 = 0.6;
    h->p999 = 0.85;

    results_resources *res = &sc->resources;
    assert_true(results_set_str(&res->source, "proc"));
    res->cpu_user_s = 1.5;
    res->cpu_sys_s = 0.25;
    res->peak_rss_bytes = 123456789;
    res->mean_rss_bytes = 100000000;
    res->read_bytes = 4096;
    res->write_bytes = 8192;
    for (int i = 0; i < 5; i++)
        assert_true(results_res_point_add(res, i * 0.1, 50.0 + i, 1000000 + i));

    results_cost *cost = results_cost_add(sc, "aws-us-east-1", "USD");
    assert_non_null(cost);
    assert_non_null(results_cost_line_add(cost, "compute vCPU", 0.001, "vCPU-hour", 0.04, 0.00004,
                                          "60 s minimum"));
    assert_non_null(results_cost_line_add(cost, "storage", 2, "GB-month", 0.1, 0.2, NULL));
    cost->per_run_total = 0.20004;
    cost->monthly_total = 6.0012;
    cost->per_million_input = 1.0002;
    assert_true(results_cost_phase_add(cost, "ingest", 0.1));
    assert_true(results_cost_phase_add(cost, "solution#0", 0.10004));

    sc->score.scored = true;
    sc->score.value = 87.5;
    assert_true(results_score_component_add(&sc->score, "correctness", 90, 0.6));
    assert_true(results_stat_add(sc, "ledger.duplicates", 4000));
}

static results_run *rich_run(void)
{
    results_run *r = results_run_new();
    assert_non_null(r);
    assert_true(results_set_str(&r->harness_version, "0.1.0"));
    assert_true(results_set_str(&r->harness_commit, "abcdef012345"));
    r->plugin_abi = 3;
    assert_true(results_set_str(&r->started, "2026-01-02T03:04:00Z"));
    assert_true(results_set_str(&r->finished, "2026-01-02T03:05:00Z"));
    r->duration_s = 60.001;
    assert_true(results_strv_add(&r->argv, &r->nargv, "harness"));
    assert_true(results_strv_add(&r->argv, &r->nargv, "run"));
    assert_true(results_set_str(&r->pack_name, "ecommerce-etl"));
    assert_true(results_set_str(&r->pack_dir, "scenarios/ecommerce-etl"));
    assert_true(results_set_str(&r->level, "foundation"));
    assert_true(results_set_str(&r->solution_name, "setbased"));
    assert_true(results_set_str(&r->solution_dir, "workspace"));
    assert_true(results_set_str(&r->machine.hostname, "ci-1"));
    assert_true(results_set_str(&r->machine.kernel, "Linux 6.1"));
    assert_true(results_set_str(&r->machine.cpu_model, "Xeon"));
    r->machine.cores = 4;
    r->machine.ram_bytes = 16LL << 30;
    assert_true(results_seed_add(r, "late_arrivals", UINT64_MAX));
    assert_true(results_seed_add(r, "dups", 42));
    results_dataset *d = results_dataset_add(r, "late_arrivals", "orders", "csv");
    assert_non_null(d);
    d->rows = 200000;
    d->emissions = 204000;
    assert_true(results_set_str(
        &d->sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    assert_non_null(results_price_sheet_add(r, "aws-us-east-1", "aws", "us-east-1", "2026-01-15"));
    r->score.scored = true;
    r->score.value = 87.5;
    assert_true(results_score_component_add(&r->score, "cost", 70, 0.2));
    for (int k = 0; k < 3; k++) {
        char name[32];
        snprintf(name, sizeof name, "scenario_%d", k);
        results_scenario *sc = results_scenario_add(r, name);
        assert_non_null(sc);
        fill_scenario(sc, k);
    }
    results_run_settle(r);
    return r;
}

static void test_results__roundtrip_equal(void **state)
{
    (void)state;
    results_run *a = rich_run();
    hx_err e = {0};
    char *text = runjson_dump(a, true, &e);
    assert_non_null(text);
    results_run *b = NULL;
    assert_int_equal(runjson_parse(text, strlen(text), "mem", &b, &e), 0);
    char why[256];
    assert_true(results_run_equal(a, b, why, sizeof why));
    /* The seed past 2^53 survived, as a string. */
    assert_non_null(strstr(text, "\"18446744073709551615\""));
    assert_true(b->scenarios[0].thresholds[1].actual != b->scenarios[0].thresholds[1].actual);

    /* Through a file, atomically written. */
    char path[512];
    path_in(path, sizeof path, "run.json");
    assert_int_equal(runjson_write(a, path, &e), 0);
    results_run *c = NULL;
    assert_int_equal(runjson_read(path, &c, &e), 0);
    assert_true(results_run_equal(a, c, why, sizeof why));

    /* Equality is not vacuous: a change deep inside is found and named. */
    hx_free(c->scenarios[2].checks[0].samples.rows[1].cells[0]);
    c->scenarios[2].checks[0].samples.rows[1].cells[0] = hx_strdup("19");
    assert_false(results_run_equal(a, c, why, sizeof why));
    assert_string_equal(why, "scenarios[2].checks[0].samples.rows[1].cells[0]");
    c->scenarios[1].resources.series[4].rss_bytes++;
    assert_false(results_run_equal(a, c, why, sizeof why));
    assert_string_equal(why, "scenarios[1].resources.series[4].rss_bytes");

    /* A read run can be appended to (capacities agree with the builders). */
    for (int i = 0; i < 40; i++)
        assert_non_null(results_metric_add(&c->scenarios[0], "m", i, "s"));
    results_run_free(a);
    results_run_free(b);
    results_run_free(c);
    hx_free(text);
}

static void test_results__invalid_utf8_written_as_replacement(void **state)
{
    (void)state;
    results_run *r = results_run_new();
    results_scenario *sc = results_scenario_add(r, "bad\xff name");
    results_invocation *iv = results_invocation_add(sc, 0);
    assert_true(results_set_str(&iv->stdout_tail, "a\xc3(b\xed\xa0\x80z\xf0\x9f\x98"));
    hx_err e = {0};
    char *text = runjson_dump(r, false, &e);
    assert_non_null(text);
    results_run *b = NULL;
    assert_int_equal(runjson_parse(text, strlen(text), "mem", &b, &e), 0);
    assert_string_equal(b->scenarios[0].name, "bad\xef\xbf\xbd name");
    /* Each invalid byte is one U+FFFD; valid neighbours are kept. */
    assert_string_equal(b->scenarios[0].invocations[0].stdout_tail,
                        "a\xef\xbf\xbd(b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf"
                        "\xbd\xef\xbf\xbd");
    results_run_free(r);
    results_run_free(b);
    hx_free(text);
}

static void expect_parse_error(const char *json, const char *needle)
{
    results_run *r = NULL;
    hx_err e = {0};
    int rc = runjson_parse(json, strlen(json), "x.json", &r, &e);
    assert_int_equal(rc, HX_EUSAGE);
    assert_null(r);
    if (!strstr(e.msg, needle)) fail_msg("message '%s' lacks '%s'", e.msg, needle);
}

static void test_results__reader_is_defensive(void **state)
{
    (void)state;
    expect_parse_error("[1,2]", "top level");
    expect_parse_error("{\"x\":1}", "no \"schema\"");
    expect_parse_error("{\"schema\":\"harness.run/2\"}", "harness.run/1");
    expect_parse_error("{\"schema\":\"harness.run/1\",\"scenarios\":{}}",
                       "scenarios: expected an array");
    expect_parse_error(
        "{\"schema\":\"harness.run/1\",\"scenarios\":[{\"checks\":[{\"status\":\"passed\"}]}]}",
        "scenarios[0].checks[0].status: unknown value 'passed' (did you mean 'pass'?)");
    expect_parse_error("{\"schema\":\"harness.run/1\",\"machine\":{\"cores\":1e30}}",
                       "machine.cores");
    expect_parse_error("{\"schema\":\"harness.run/1\",\"seeds\":[{\"seed\":\"-1\"}]}",
                       "seeds[0].seed");
    expect_parse_error("{\"schema\":\"harness.run/1\",\"argv\":[1]}", "argv[0]: expected a string");
    expect_parse_error("{\"schema\":\"harness.run/1\",\"a\":1,\"a\":2}", "invalid JSON");
    expect_parse_error("{\"schema\":\"harness.run/1\",\"pack_name\":\"a\\u0000b\"}",
                       "invalid JSON");
    expect_parse_error("{\"schema\":\"harness.run/1\"", "x.json:1:");

    /* Unknown keys are ignored, missing ones default; null numbers are NaN. */
    const char *ok =
        "{\"schema\":\"harness.run/1\",\"future\":{\"x\":1},\"scenarios\":[{\"name\":\"s\","
        "\"thresholds\":[{\"metric\":\"m\",\"actual\":null,\"limit\":5}],\"phase\":2.0}]}";
    results_run *r = NULL;
    hx_err e = {0};
    assert_int_equal(runjson_parse(ok, strlen(ok), "ok.json", &r, &e), 0);
    assert_int_equal(r->nscenarios, 1);
    assert_int_equal(r->scenarios[0].phase, 2);
    assert_true(isnan(r->scenarios[0].thresholds[0].actual));
    assert_true(r->scenarios[0].thresholds[0].limit == 5);
    assert_null(r->pack_name);
    results_run_free(r);
}

/* A solution that exits 3 while every check passes: its scenario fails, the invocation is a
 * failed testcase, and the run exits 1. */
static void test_results__failed_invocation_fails_a_passing_scenario(void **state)
{
    (void)state;
    results_run *r = results_run_new();
    results_scenario *sc = results_scenario_add(r, "a");
    results_check_add(sc, "p", "sql", RESULTS_SEV_ERROR, RESULTS_PASS);
    results_invocation_add(sc, 0)->exit_code = 0;
    results_invocation *iv = results_invocation_add(sc, 1);
    iv->exit_code = 3;
    iv->leftovers = 2;
    assert_true(results_set_str(&iv->isolation, "cgroup"));
    results_run_settle(r);
    assert_int_equal(r->scenarios[0].status, RESULTS_FAIL);
    assert_int_equal(r->verdict, RESULTS_FAIL);
    assert_int_equal(r->exit_code, HX_EXIT_CHECK);
    assert_int_equal(r->totals.invocations_passed, 1);
    assert_int_equal(r->totals.invocations_failed, 1);
    results_counts c = results_counts_of(r, &r->scenarios[0]);
    assert_int_equal(c.tests, 3);
    assert_int_equal(c.failures, 1);
    assert_string_equal(results_run_outcome(r), "fail");

    /* leftovers and isolation survive run.json. */
    hx_err e = {0};
    char *text = runjson_dump(r, true, &e);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"leftovers\": 2"));
    assert_non_null(strstr(text, "\"isolation\": \"cgroup\""));
    results_run *b = NULL;
    assert_int_equal(runjson_parse(text, strlen(text), "t.json", &b, &e), 0);
    char why[256];
    assert_true(results_run_equal(r, b, why, sizeof why));
    assert_int_equal(b->scenarios[0].invocations[1].leftovers, 2);
    hx_free(text);
    results_run_free(b);
    results_run_free(r);
}

/* A run that never reached its scenarios (postgres refused) is an error, never a pass; one that
 * was interrupted or rebuilt from a journal says so. */
/* A scenario the harness could not judge (a solution that broke the database's settings, a
 * service that took the checks down) counts 0 in the run's score: never 100. */
static void test_results__scenario_error_scores_zero(void **state)
{
    (void)state;
    results_run *r = results_run_new();
    results_scenario *a = results_scenario_add(r, "a");
    a->score.scored = true;
    a->score.value = 100;
    results_scenario *b = results_scenario_add(r, "b");
    assert_true(results_scenario_set_error(b, HX_EXIT_INFRA, "canceling statement due to timeout"));
    results_run_score(r);
    assert_true(r->score.scored);
    assert_true(r->score.value == 50);
    results_run_free(r);
}

static void test_results__unfinished_runs_are_not_pass(void **state)
{
    (void)state;
    results_run *r = results_run_new();
    results_run_settle(r);
    assert_string_equal(results_run_outcome(r), "pass");
    /* The exit code alone (a writer that did not set the error) is enough. */
    r->exit_code = HX_EXIT_INFRA;
    assert_string_equal(results_run_outcome(r), "error");
    assert_int_equal(results_run_outcome_status(r), RESULTS_ERROR);
    assert_true(results_run_set_error(r, HX_EXIT_INFRA, "cannot connect to postgres"));
    results_run_settle(r);
    assert_int_equal(r->verdict, RESULTS_ERROR);
    assert_int_equal(r->exit_code, HX_EXIT_INFRA);
    assert_int_equal(r->totals.run_errors, 1);
    assert_int_equal(results_counts_of(r, NULL).errors, 1);
    assert_int_equal(results_counts_of(r, NULL).tests, 1);
    assert_string_equal(results_run_outcome(r), "error");

    /* The error survives run.json; a file without the new keys reads as no error. */
    hx_err e = {0};
    char *text = runjson_dump(r, false, &e);
    results_run *b = NULL;
    assert_int_equal(runjson_parse(text, strlen(text), "t.json", &b, &e), 0);
    assert_string_equal(b->error, "cannot connect to postgres");
    assert_int_equal(b->error_exit, HX_EXIT_INFRA);
    hx_free(text);
    results_run_free(b);
    const char *old = "{\"schema\":\"harness.run/1\",\"verdict\":\"pass\",\"scenarios\":[]}";
    assert_int_equal(runjson_parse(old, strlen(old), "old.json", &b, &e), 0);
    assert_null(b->error);
    assert_string_equal(results_run_outcome(b), "pass");
    results_run_free(b);
    results_run_free(r);

    r = results_run_new();
    results_scenario *sc = results_scenario_add(r, "a");
    results_check_add(sc, "p", "sql", RESULTS_SEV_ERROR, RESULTS_PASS);
    r->interrupted = true;
    results_run_settle(r);
    assert_int_equal(r->exit_code, HX_EXIT_INTERRUPTED);
    assert_string_equal(results_run_outcome(r), "interrupted");
    r->interrupted = false;
    r->partial = true;
    results_run_settle(r);
    assert_string_equal(results_run_outcome(r), "partial");
    assert_int_equal(results_run_outcome_status(r), RESULTS_SKIP);
    results_run_free(r);
}

static void test_results__settle_verdicts_and_exit_codes(void **state)
{
    (void)state;
    results_run *r = results_run_new();
    results_scenario *sc = results_scenario_add(r, "a");
    results_check_add(sc, "w", "sql", RESULTS_SEV_WARN, RESULTS_FAIL);
    results_check_add(sc, "p", "sql", RESULTS_SEV_ERROR, RESULTS_PASS);
    results_run_settle(r);
    assert_int_equal(r->verdict, RESULTS_PASS);
    assert_int_equal(r->exit_code, HX_EXIT_OK);
    assert_int_equal(r->totals.checks_warned, 1);
    assert_int_equal(r->totals.checks_failed, 0);

    results_threshold_add(&r->scenarios[0], "cost.monthly.usd", "<=", 40, 50, "USD", RESULTS_FAIL);
    results_run_settle(r);
    assert_int_equal(r->verdict, RESULTS_THRESHOLD);
    assert_int_equal(r->exit_code, HX_EXIT_THRESHOLD);

    sc = results_scenario_add(r, "b");
    results_check_add(sc, "f", "diff", RESULTS_SEV_ERROR, RESULTS_FAIL);
    results_run_settle(r);
    assert_int_equal(r->verdict, RESULTS_FAIL);
    assert_int_equal(r->exit_code, HX_EXIT_CHECK);
    assert_int_equal(r->scenarios[0].status, RESULTS_THRESHOLD);
    assert_int_equal(r->scenarios[1].status, RESULTS_FAIL);

    /* A solution that crashed fails its scenario even if no check ran. */
    sc = results_scenario_add(r, "c");
    results_invocation_add(sc, 0)->exit_code = 2;
    results_run_settle(r);
    assert_int_equal(r->scenarios[2].status, RESULTS_FAIL);

    sc = results_scenario_add(r, "d");
    assert_true(results_scenario_set_error(sc, HX_EXIT_USAGE, "late.lua:3: unknown fault"));
    results_run_settle(r);
    assert_int_equal(r->verdict, RESULTS_ERROR);
    assert_int_equal(r->exit_code, HX_EXIT_USAGE);
    sc = results_scenario_add(r, "e");
    assert_true(results_scenario_set_error(sc, HX_EXIT_INFRA, "postgres unreachable"));
    results_run_settle(r);
    assert_int_equal(r->exit_code, HX_EXIT_INFRA);
    assert_int_equal(r->totals.scenario_errors, 2);

    /* The crashed invocation is a failed testcase of its own. */
    assert_int_equal(r->totals.invocations_failed, 1);
    assert_int_equal(r->totals.invocations_passed, 0);
    results_counts c = results_counts_of(r, NULL);
    assert_int_equal(c.tests, 2 + 1 + 1 + 1 + 2);
    assert_int_equal(c.failures, 3);
    assert_int_equal(c.errors, 2);
    assert_int_equal(c.skipped, 0);

    r->interrupted = true;
    results_run_settle(r);
    assert_int_equal(r->exit_code, HX_EXIT_INTERRUPTED);
    results_run_free(r);
}

static char *slurp(const char *path, size_t *len)
{
    char *t;
    hx_err e = {0};
    assert_int_equal(hx_read_file(path, &t, len, &e), 0);
    return t;
}

static void test_results__journal_torn_last_line(void **state)
{
    (void)state;
    results_run *a = rich_run();
    char path[512];
    path_in(path, sizeof path, "run.journal.jsonl");
    hx_err e = {0};
    runjson_journal *j = NULL;
    assert_int_equal(runjson_journal_open(path, a, &j, &e), 0);
    for (size_t i = 0; i < a->nscenarios; i++)
        assert_int_equal(runjson_journal_append(j, &a->scenarios[i], &e), 0);
    runjson_journal_close(j);

    size_t len;
    char *text = slurp(path, &len);
    assert_true(len > 0 && text[len - 1] == '\n');
    size_t last = len - 1;
    while (last > 0 && text[last - 1] != '\n')
        last--;

    /* Whole journal: every scenario, the header facts, marked partial. */
    results_run *b = NULL;
    size_t torn = 9;
    assert_int_equal(runjson_journal_parse(text, len, "j", &b, &torn, &e), 0);
    assert_int_equal(torn, 0);
    assert_true(b->partial);
    assert_null(b->finished);
    assert_int_equal(b->nscenarios, 3);
    char why[256];
    assert_int_equal(b->totals.run_errors, 1);
    assert_string_equal(results_run_outcome(b), "partial");
    b->partial = false;
    results_run_settle(b);
    hx_free(b->finished);
    b->finished = hx_strdup(a->finished);
    assert_true(results_run_equal(a, b, why, sizeof why));
    results_run_free(b);

    /* Cut anywhere inside the last line: the two complete scenarios come back intact. */
    for (size_t cut = last + 1; cut < len - 1; cut++) {
        b = NULL;
        assert_int_equal(runjson_journal_parse(text, cut, "j", &b, &torn, &e), 0);
        assert_int_equal(torn, 1);
        assert_int_equal(b->nscenarios, 2);
        for (size_t i = 0; i < 2; i++) {
            results_run x = {0}, y = {0};
            x.scenarios = &a->scenarios[i];
            y.scenarios = &b->scenarios[i];
            x.nscenarios = y.nscenarios = 1;
            /* Compare just the scenario: everything else in x and y is zero. */
            if (!results_run_equal(&x, &y, why, sizeof why))
                fail_msg("cut at %zu: scenario %zu differs at %s", cut, i, why);
        }
        results_run_free(b);
    }
    /* Only the newline lost: the last scenario is whole and kept. */
    assert_int_equal(runjson_journal_parse(text, len - 1, "j", &b, &torn, &e), 0);
    assert_int_equal(b->nscenarios, 3);
    assert_int_equal(torn, 0);
    results_run_free(b);

    /* A broken line that is not the last one is corruption, not a crash: an error with its line. */
    text[last - 2] = '#';
    assert_int_equal(runjson_journal_parse(text, len, "j", &b, &torn, &e), HX_EUSAGE);
    assert_null(b);
    assert_non_null(strstr(e.msg, "j:3:"));

    /* Nothing but a torn header: no run. */
    assert_int_equal(runjson_journal_parse(text, 10, "j", &b, &torn, &e), HX_EUSAGE);
    assert_int_equal(runjson_journal_parse("", 0, "j", &b, &torn, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "empty"));
    hx_free(text);
    results_run_free(a);
}

static void test_results__journal_read_from_disk(void **state)
{
    (void)state;
    results_run *a = rich_run();
    char path[512];
    path_in(path, sizeof path, "j2.jsonl");
    hx_err e = {0};
    runjson_journal *j = NULL;
    assert_int_equal(runjson_journal_open(path, a, &j, &e), 0);
    assert_int_equal(runjson_journal_append(j, &a->scenarios[0], &e), 0);
    runjson_journal_close(j);
    /* A crash mid-write leaves half a line. */
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"scenario\":{\"name\":\"x", 22), 22);
    close(fd);
    results_run *b = NULL;
    size_t torn = 0;
    assert_int_equal(runjson_journal_read(path, &b, &torn, &e), 0);
    assert_int_equal(torn, 1);
    assert_int_equal(b->nscenarios, 1);
    assert_string_equal(b->scenarios[0].name, "scenario_0");
    /* Settled from what it holds: scenario_0 has a failed check. */
    assert_int_equal(b->verdict, RESULTS_FAIL);
    assert_int_equal(b->totals.checks_failed, 1);
    results_run_free(b);
    results_run_free(a);

    path_in(path, sizeof path, "missing.jsonl");
    assert_int_equal(runjson_journal_read(path, &b, &torn, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "missing.jsonl"));
}

static void test_results__out_of_memory_paths(void **state)
{
    (void)state;
    results_run *a = rich_run();
    hx_err e = {0};
    char *text = runjson_dump(a, false, &e);
    assert_non_null(text);
    size_t len = strlen(text);
    /* Every allocation of the reader in turn fails: an error, never a crash or a leak. */
    for (long n = 0;; n++) {
        results_run *b = NULL;
        hx_alloc_fail_after(n);
        int rc = runjson_parse(text, len, "mem", &b, &e);
        hx_alloc_fail_after(-1);
        if (rc == 0) {
            assert_true(results_run_equal(a, b, NULL, 0));
            results_run_free(b);
            assert_true(n > 50);
            break;
        }
        assert_int_equal(rc, HX_ENOMEM);
        assert_null(b);
    }
    /* Builders: a failed add leaves the run consistent and freeable. */
    for (long n = 0; n < 40; n++) {
        results_run *r = results_run_new();
        assert_non_null(r);
        results_scenario *sc = results_scenario_add(r, "s");
        assert_non_null(sc);
        hx_alloc_fail_after(n);
        results_check *c = results_check_add(sc, "c", "sql", RESULTS_SEV_ERROR, RESULTS_FAIL);
        const char *cols[] = {"a", "b"};
        bool ok = c && results_check_sample_columns(c, cols, 2);
        const char *row[] = {"1", "2"};
        ok = ok && results_check_sample_row(c, row);
        ok = ok && results_cost_add(sc, "m", "USD") != NULL;
        hx_alloc_fail_after(-1);
        if (c)
            assert_int_equal(sc->nchecks, 1);
        else
            assert_int_equal(sc->nchecks, 0);
        char *t = runjson_dump(r, false, &e);
        assert_non_null(t);
        hx_free(t);
        results_run_free(r);
    }
    hx_free(text);
    results_run_free(a);
}

static void test_results__fixtures_parse(void **state)
{
    (void)state;
    const char *root = getenv("HX_SOURCE_ROOT");
    assert_non_null(root);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tests/fixtures/runs", root);
    DIR *d = opendir(dir);
    if (!d) fail_msg("cannot open the fixture folder '%s'", dir);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        results_run *r = NULL;
        hx_err e = {0};
        if (runjson_read(path, &r, &e) != 0) fail_msg("%s", e.msg);
        /* A file on disk already says its totals; settling must agree with it. */
        results_totals before = r->totals;
        results_status verdict = r->verdict;
        int exit_code = r->exit_code;
        results_run_settle(r);
        if (memcmp(&before, &r->totals, sizeof before) != 0 || verdict != r->verdict ||
            exit_code != r->exit_code)
            fail_msg("%s: stored totals/verdict/exit code disagree with the scenarios", path);
        results_run_free(r);
        n++;
    }
    closedir(d);
    assert_true(n >= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_results__roundtrip_equal),
        cmocka_unit_test(test_results__invalid_utf8_written_as_replacement),
        cmocka_unit_test(test_results__reader_is_defensive),
        cmocka_unit_test(test_results__settle_verdicts_and_exit_codes),
        cmocka_unit_test(test_results__failed_invocation_fails_a_passing_scenario),
        cmocka_unit_test(test_results__unfinished_runs_are_not_pass),
        cmocka_unit_test(test_results__scenario_error_scores_zero),
        cmocka_unit_test(test_results__journal_torn_last_line),
        cmocka_unit_test(test_results__journal_read_from_disk),
        cmocka_unit_test(test_results__out_of_memory_paths),
        cmocka_unit_test(test_results__fixtures_parse),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
