/* test_markdown.c - summary.md: content, escaping that keeps every table intact, the size cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rep.h"
#include "runjson.h"
#include "report_fixture.h"

static results_run *load_fixture(const char *name)
{
    char path[1024];
    const char *root = getenv("HX_SOURCE_ROOT");
    assert_non_null(root);
    snprintf(path, sizeof path, "%s/tests/fixtures/runs/%s", root, name);
    results_run *r = NULL;
    hx_err e = {0};
    if (runjson_read(path, &r, &e) != 0) fail_msg("%s", e.msg);
    return r;
}

static char *render(const results_run *r, size_t max)
{
    hx_buf b;
    hx_buf_init(&b);
    assert_true(rep_markdown_render(&b, r, max));
    hx_buf_putc(&b, '\0');
    return hx_buf_steal(&b);
}

static void expect_cell(const char *in, size_t max, const char *want)
{
    hx_buf b;
    hx_buf_init(&b);
    assert_true(rep_md_cell(&b, in, max));
    hx_buf_putc(&b, '\0');
    assert_string_equal(b.data, want);
    hx_buf_release(&b);
}

static void test_markdown__cell_escaping(void **state)
{
    (void)state;
    expect_cell("a|b", 0, "a\\|b");
    expect_cell("`x` *y* _z_ ~w~ \\", 0, "\\`x\\` \\*y\\* \\_z\\_ \\~w\\~ \\\\");
    expect_cell("<script>&amp;", 0, "&lt;script&gt;&amp;amp;");
    expect_cell("[a](http://e)", 0, "\\[a\\](http://e)");
    expect_cell("l1\nl2\r\tx", 0, "l1 l2  x");
    expect_cell("@octocat", 0, "@\xe2\x80\x8boctocat");
    expect_cell("\x01\xff\xc2\x85", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    expect_cell("abc\xe2\x82\xac", 4, "abc\xe2\x80\xa6");
    expect_cell(NULL, 0, "");
}

/* Count the cells of a GFM table row: unescaped pipes minus the outer two, plus one. */
static int cells(const char *line, size_t len)
{
    int pipes = 0;
    for (size_t i = 0; i < len; i++) {
        if (line[i] == '\\') {
            i++;
            continue;
        }
        pipes += line[i] == '|';
    }
    return pipes - 1;
}

/* Cut the fenced code blocks (log tails) out of md: each opens with a run of 3+ backticks and
 * closes with the same run, and nothing inside holds a run as long (it could close the block
 * early). Returns the rest (hx_free). Inside a block GitHub renders text as it is. */
static char *outside_code(const char *md)
{
    hx_buf b;
    hx_buf_init(&b);
    size_t fence = 0;
    for (const char *p = md; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        size_t ticks = strspn(p, "`");
        if (ticks > len) ticks = len;
        if (!fence && ticks >= 3) {
            fence = ticks;
        } else if (fence && ticks == fence && ticks == len) {
            fence = 0;
        } else if (fence) {
            size_t run = 0;
            for (size_t i = 0; i < len; i++) {
                run = p[i] == '`' ? run + 1 : 0;
                if (run >= fence)
                    fail_msg("a log line could close its code block: %.*s", (int)len, p);
            }
        } else {
            hx_buf_append(&b, p, len);
            hx_buf_putc(&b, '\n');
        }
        p += len + (nl ? 1 : 0);
    }
    if (fence) fail_msg("a code block is never closed");
    hx_buf_putc(&b, '\0');
    return hx_buf_steal(&b);
}

/* Every table keeps its shape: each row has as many cells as its header, and nothing raw that
 * GitHub would turn into HTML, a link or a mention. */
static void assert_tables_intact(const char *all)
{
    char *md = outside_code(all);
    int want = -1;
    for (const char *p = md; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len && p[0] == '|') {
            int n = cells(p, len);
            if (want < 0)
                want = n;
            else if (n != want)
                fail_msg("a row has %d cells, its table %d: %.*s", n, want,
                         (int)(len > 200 ? 200 : len), p);
            if (p[len - 1] != '|')
                fail_msg("a row does not end its last cell: %.*s", (int)(len > 200 ? 200 : len), p);
        } else {
            want = -1;
        }
        p += len + (nl ? 1 : 0);
    }
    assert_null(strchr(md, '<'));
    assert_null(strstr(md, "@octocat"));
    assert_null(strstr(md, "[click]"));
    assert_null(strstr(md, "\r"));
    hx_free(md);
}

static void test_markdown__hostile_run_cannot_break_tables(void **state)
{
    (void)state;
    results_run *r = load_fixture("hostile.json");
    results_scenario *sc = results_scenario_add(r, "raw\xff|\n| x |");
    results_check *c = results_check_add(sc, "c\n|\n", "sql", RESULTS_SEV_ERROR, RESULTS_FAIL);
    assert_true(results_set_str(&c->actual, "\xed\xa0\x80|||\n\n| a | b |"));
    results_run_settle(r);
    char *md = render(r, 0);
    assert_tables_intact(md);
    /* The long value is capped in its cell. */
    const char *x = strstr(md, "xxxxxxxx");
    assert_non_null(x);
    size_t run = strspn(x, "x");
    assert_true(run <= REP_MD_CELL_MAX);
    hx_free(md);
    results_run_free(r);
}

static void test_markdown__mixed_content(void **state)
{
    (void)state;
    results_run *r = load_fixture("mixed.json");
    char *md = render(r, 0);
    assert_tables_intact(md);
    /* Verdict line with its emoji, totals, failing details, threshold, cost per model. */
    const char *head = "## \xf0\x9f\x92\xa5 harness: ecommerce-etl-foundation \xe2\x80\x94 error\n";
    assert_true(strncmp(md, head, strlen(head)) == 0);
    assert_non_null(strstr(md, "**Checks:** 2 passed, 1 failed, 1 errored, 1 skipped, 1 warnings"));
    assert_non_null(strstr(md, "| fct\\_orders matches the ledger | \xe2\x9d\x8c fail | 200000 "
                               "rows | 199997 rows \xe2\x80\x94 3 rows missing, 1 mismatched |"));
    assert_non_null(strstr(md, "| no negative amounts | \xe2\x9a\xa0\xef\xb8\x8f warn |"));
    assert_non_null(strstr(md, "| solution.wall.max | &lt; 30 s | 41.5 s | \xe2\x9d\x8c fail |"));
    assert_non_null(strstr(md, "| gcp-us-central1 | 0.0119 USD | 0.357 USD |"));
    assert_non_null(strstr(md, "By phase (aws-us-east-1): solution\\#0 0.0123 USD.\n"));
    assert_non_null(strstr(md, "> **error:** kafka: mock cluster broker 1 unreachable"));
    assert_non_null(strstr(md, "> solution batch 1 exited with 1 after 1 s"));
    assert_non_null(strstr(md, "| solution.wall.max | 41.5 s |"));
    /* Failing scenarios come before passing ones. */
    const char *dups = strstr(md, "### \xe2\x9a\xa0\xef\xb8\x8f dups");
    assert_non_null(dups);
    hx_free(md);
    results_run_free(r);
}

/* The cost table splits each month into fixed and variable, the pack's figure is the mean of
 * its scenarios' (never their sum), and the database's CPU stands beside the solution's. */
static void test_markdown__cost_split_and_database_cpu(void **state)
{
    (void)state;
    results_run *r = fixture_split_run();
    char *md = render(r, 0);
    assert_tables_intact(md);
    assert_non_null(strstr(md, "| cost model | per run | per month | fixed | variable |"));
    assert_non_null(strstr(md, "| aws-us-east-1 | 2.75 USD | 11 USD | 10 USD | 1 USD |"));
    assert_non_null(strstr(md, "| cost model (mean of scenarios) | per run | per month | fixed | "
                               "variable |"));
    assert_non_null(strstr(md, "| aws-us-east-1 | 3.25 USD | 13 USD | 11 USD | 2 USD |"));
    assert_null(strstr(md, "26 USD")); /* no sum of the scenarios' months */
    assert_non_null(strstr(md, "**CPU:** solution 40 ms, database 1.5 s on its steps: 1.54 s "
                               "together."));
    hx_free(md);
    results_run_free(r);
}

static void test_markdown__pass_and_score(void **state)
{
    (void)state;
    results_run *r = load_fixture("pass.json");
    char *md = render(r, 0);
    assert_true(strncmp(md, "## \xe2\x9c\x85 harness:", 14) == 0);
    assert_non_null(
        strstr(md, "**Score:** 96.5 / 100 (correctness 100, performance 95, cost 87.5)"));
    assert_non_null(strstr(md, "| baseline | \xe2\x9c\x85 pass | 2/2 | 1/1 | 10 s |"));
    hx_free(md);
    results_run_free(r);
}

/* Seven batches crash with a traceback; a diff check fails with sample rows and a message that
 * restates its actual value. */
static results_run *crashed_run(void)
{
    results_run *r = results_run_new();
    assert_true(results_set_str(&r->pack_name, "p"));
    results_scenario *sc = results_scenario_add(r, "s");
    results_check *c =
        results_check_add(sc, "fct matches", "diff", RESULTS_SEV_ERROR, RESULTS_FAIL);
    assert_true(results_set_str(&c->expected, "14000 rows"));
    assert_true(results_set_str(&c->actual, "13998 rows"));
    assert_true(results_set_str(&c->message, "13998 rows"));
    const char *cols[] = {"order_id", "order_ts", "amount"};
    assert_true(results_check_sample_columns(c, cols, 3));
    const char *row1[] = {"17", "2026-01-02T03:04:05Z", "94379.58"};
    const char *row2[] = {"18", NULL, "1|2"};
    assert_true(results_check_sample_row(c, row1));
    assert_true(results_check_sample_row(c, row2));
    /* A keyed topic check's message repeats its actual value's counts, with a noun after them. */
    c = results_check_add(sc, "topic out", "topic", RESULTS_SEV_ERROR, RESULTS_FAIL);
    assert_true(results_set_str(&c->expected, "1000 messages"));
    assert_true(results_set_str(&c->actual, "986 messages: 979 missing, 1 extra, 0 mismatched"));
    assert_true(results_set_str(&c->message, "979 missing, 1 extra, 0 mismatched messages"));
    /* One that adds to it keeps its message. */
    c = results_check_add(sc, "sql sum", "sql", RESULTS_SEV_ERROR, RESULTS_FAIL);
    assert_true(results_set_str(&c->expected, "74219.143"));
    assert_true(results_set_str(&c->actual, "72787.237"));
    assert_true(results_set_str(&c->message, "off by -1431.91 (-1.929%)"));
    results_threshold_add(sc, "solution.rss.peak", "<", 512.0 * 1024 * 1024, 3.977e6, "bytes",
                          RESULTS_PASS);
    results_threshold_add(sc, "solution.wall.max", "<", 1000, 0.0408, "s", RESULTS_PASS);
    for (int b = 0; b < 7; b++) {
        results_invocation *iv = results_invocation_add(sc, b);
        iv->exit_code = 1;
        iv->wall_s = 0.04;
        assert_true(results_set_str(&iv->stderr_tail, "Traceback (most recent call last):\n"
                                                      "  File \"etl.py\", line 3\n"
                                                      "KeyError: 'amount' ```\n"));
    }
    results_run_settle(r);
    return r;
}

static void test_markdown__a_contestant_can_act_on_it(void **state)
{
    (void)state;
    results_run *r = crashed_run();
    char *md = render(r, 0);
    assert_tables_intact(md);
    /* The first failure with its stderr tail, in a block the log cannot close; the others once. */
    assert_non_null(strstr(md, "> solution batch 0 exited with 1 after 40 ms\n"));
    assert_non_null(strstr(md, "\nstderr (last lines):\n\n````text\nTraceback (most recent "
                               "call last):\n  File \"etl.py\", line 3\nKeyError: 'amount' "
                               "```\n````\n"));
    assert_non_null(strstr(md, "> 6 more invocations failed: batch 1 exit 1; batch 2 exit 1;"));
    assert_null(strstr(md, "solution batch 3"));
    assert_non_null(strstr(md, "**Solution runs:** 0 passed, 7 failed"));
    /* The message that only restates the actual value is not repeated. */
    assert_non_null(strstr(md, "| fct matches | \xe2\x9d\x8c fail | 14000 rows | 13998 rows |\n"));
    assert_non_null(strstr(md,
                           "| topic out | \xe2\x9d\x8c fail | 1000 messages | 986 messages: 979 "
                           "missing, 1 extra, 0 mismatched |\n"));
    assert_non_null(strstr(md, "| sql sum | \xe2\x9d\x8c fail | 74219.143 | 72787.237 "
                               "\xe2\x80\x94 off by -1431.91 (-1.929%) |\n"));
    /* Sample rows, NULL shown as such, a pipe escaped. */
    assert_non_null(strstr(md, "**fct matches**: 2 sample rows\n\n| order\\_id | order\\_ts | "
                               "amount |\n| --- | --- | --- |\n| 17 | 2026-01-02T03:04:05Z | "
                               "94379.58 |\n| 18 | NULL | 1\\|2 |\n"));
    /* One unit style: binary sizes, durations without exponents. */
    assert_non_null(strstr(md, "| solution.rss.peak | &lt; 512 MiB | 3.79 MiB |"));
    assert_non_null(strstr(md, "| solution.wall.max | &lt; 1000 s | 40.8 ms |"));
    assert_null(strstr(md, "e+0"));
    hx_free(md);
    results_run_free(r);
}

/* Never "pass" with "Exit code: 0" for a run that did not finish. */
static void test_markdown__unfinished_runs_say_what_they_are(void **state)
{
    (void)state;
    results_run *r = results_run_new();
    assert_true(results_set_str(&r->pack_name, "p"));
    results_run_settle(r);
    /* What `harness run --pg` to a closed port records, with or without the run's error. */
    r->exit_code = HX_EXIT_INFRA;
    char *md = render(r, 0);
    assert_non_null(strstr(md, "## \xf0\x9f\x92\xa5 harness: p \xe2\x80\x94 error\n"));
    assert_non_null(strstr(md, "**Exit code:** 3"));
    hx_free(md);
    assert_true(results_run_set_error(r, HX_EXIT_INFRA, "cannot connect to postgres: refused"));
    results_run_settle(r);
    md = render(r, 0);
    assert_non_null(
        strstr(md, "\xe2\x80\x94 error\n\n> **error:** cannot connect to postgres: refused\n"));
    assert_null(strstr(md, "\xe2\x80\x94 pass"));
    hx_free(md);
    results_run_free(r);

    r = crashed_run();
    r->interrupted = true;
    results_run_settle(r);
    md = render(r, 0);
    assert_non_null(strstr(md, "\xe2\x80\x94 interrupted\n"));
    assert_non_null(strstr(md, "**Exit code:** 130"));
    hx_free(md);
    /* A journal re-render: the run never ended, so there is no exit code to show. */
    r->interrupted = false;
    r->partial = true;
    results_run_settle(r);
    md = render(r, 0);
    assert_non_null(strstr(md, "\xe2\x80\x94 partial\n"));
    assert_non_null(strstr(md, "**Scenarios that ran:** \xe2\x9d\x8c fail"));
    assert_non_null(strstr(md, "**Exit code:** none (the run did not finish)"));
    assert_null(strstr(md, "Exit code:** 0"));
    hx_free(md);
    results_run_free(r);
}

static void test_markdown__size_cap_keeps_failures(void **state)
{
    (void)state;
    results_run *r = results_run_new();
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "s%03d", i);
        results_scenario *sc = results_scenario_add(r, name);
        for (int k = 0; k < 5; k++)
            results_check_add(sc, "a check with a fairly long name", "sql", RESULTS_SEV_ERROR,
                              i == 150 ? RESULTS_FAIL : RESULTS_PASS);
    }
    results_run_settle(r);
    char *full = render(r, 0);
    size_t cap = 20000;
    assert_true(strlen(full) > 2 * cap);
    char *md = render(r, cap);
    assert_true(strlen(md) <= cap);
    assert_tables_intact(md);
    /* The one failing scenario made it in, and the rest are accounted for. */
    assert_non_null(strstr(md, "### \xe2\x9d\x8c s150"));
    assert_non_null(strstr(md, "scenarios not shown to fit the size limit"));
    hx_free(full);
    hx_free(md);
    results_run_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_markdown__cell_escaping),
        cmocka_unit_test(test_markdown__hostile_run_cannot_break_tables),
        cmocka_unit_test(test_markdown__mixed_content),
        cmocka_unit_test(test_markdown__pass_and_score),
        cmocka_unit_test(test_markdown__cost_split_and_database_cpu),
        cmocka_unit_test(test_markdown__size_cap_keeps_failures),
        cmocka_unit_test(test_markdown__a_contestant_can_act_on_it),
        cmocka_unit_test(test_markdown__unfinished_runs_say_what_they_are),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
