/* test_markdown.c - summary.md: content, escaping that keeps every table intact, the size cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rep.h"
#include "runjson.h"

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

/* Every table keeps its shape: each row has as many cells as its header, and nothing raw that
 * GitHub would turn into HTML, a link or a mention. */
static void assert_tables_intact(const char *md)
{
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
    assert_non_null(strstr(md, "> solution batch 1 exited with 1 after 1.0 s"));
    assert_non_null(strstr(md, "| solution.wall.max | 41.5 s |"));
    /* Failing scenarios come before passing ones. */
    const char *dups = strstr(md, "### \xe2\x9a\xa0\xef\xb8\x8f dups");
    assert_non_null(dups);
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
    assert_non_null(strstr(md, "| baseline | \xe2\x9c\x85 pass | 2/2 | 1/1 | 10.0 s |"));
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
        cmocka_unit_test(test_markdown__size_cap_keeps_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
