/* test_html.c - report.html: the escaping function, every fixture rendered without raw markup
 * from hostile text, every scenario present, the page self-contained and small. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "render_oom.h"
#include "rep.h"
#include "runjson.h"
#include "report_fixture.h"

static results_run *load(const char *rel)
{
    char path[1024];
    const char *root = getenv("HX_SOURCE_ROOT");
    assert_non_null(root);
    snprintf(path, sizeof path, "%s/tests/fixtures/%s", root, rel);
    results_run *r = NULL;
    hx_err e = {0};
    if (runjson_read(path, &r, &e) != 0) fail_msg("%s", e.msg);
    return r;
}

static char *render(const results_run *r, size_t *len)
{
    hx_buf b;
    hx_buf_init(&b);
    assert_true(rep_html_render(&b, r));
    if (len) *len = b.len;
    hx_buf_putc(&b, '\0');
    return hx_buf_steal(&b);
}

static char *escape(const char *in, size_t max)
{
    hx_buf b;
    hx_buf_init(&b);
    assert_true(rep_html_text(&b, in, max));
    hx_buf_putc(&b, '\0');
    return hx_buf_steal(&b);
}

static void expect_text(const char *in, size_t max, const char *want)
{
    char *got = escape(in, max);
    assert_string_equal(got, want);
    hx_free(got);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_html__text_escaping(void **state)
{
    (void)state;
    expect_text("<script>alert('x')</script>", 0,
                "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
    expect_text("a & \"b\" > c", 0, "a &amp; &quot;b&quot; &gt; c");
    expect_text("&amp;", 0, "&amp;amp;");
    expect_text("l1\r\nl2\tx\n", 0, "l1\nl2\tx\n");
    /* A lone CR, C0, DEL, C1, noncharacters and invalid bytes all become U+FFFD. */
    expect_text("\r\x01\x1b\x7f\xc2\x85\xef\xbf\xbe\xff\xed\xa0\x80", 0,
                "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    expect_text("caf\xc3\xa9 \xe2\x82\xac", 0, "caf\xc3\xa9 \xe2\x82\xac");
    /* A cut never splits a UTF-8 sequence and is marked. */
    expect_text("abc\xe2\x82\xac", 4, "abc\xe2\x80\xa6");
    expect_text(NULL, 0, "");
}

/* Every scenario's name, escaped, is in the page exactly as rep_html_text writes it. */
static void expect_names(const results_run *r, const char *html)
{
    for (size_t i = 0; i < r->nscenarios; i++) {
        char *want = escape(r->scenarios[i].name, 300);
        if (!strstr(html, want)) fail_msg("scenario %zu's name is missing: %s", i, want);
        hx_free(want);
    }
    assert_int_equal(count(html, "<details class=\"scenario\""), r->nscenarios);
}

/* The page's only script is its own; no markup from the model survives. */
static void expect_inert(const char *html)
{
    assert_int_equal(count(html, "<script"), 1);
    assert_int_equal(count(html, "</script>"), 1);
    assert_null(strstr(html, "<x>"));
    assert_null(strstr(html, "<img"));
    assert_null(strstr(html, "onerror"));
    assert_null(strstr(html, "<a "));
    /* Nothing is fetched: no src or href attributes at all, no @import or url(). */
    assert_null(strstr(html, " src="));
    assert_null(strstr(html, " href="));
    assert_null(strstr(html, "@import"));
    assert_null(strstr(html, "url("));
}

static void test_html__hostile(void **state)
{
    (void)state;
    results_run *r = load("runs/hostile.json");
    size_t len;
    char *html = render(r, &len);
    expect_inert(html);
    expect_names(r, html);
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    /* Control characters from the fixture became U+FFFD, never raw bytes. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)html[i];
        if (c < 0x20 && c != '\n' && c != '\t') fail_msg("raw control byte 0x%02x at %zu", c, i);
    }
    assert_true(len < 1024 * 1024);
    hx_free(html);
    results_run_free(r);
}

static void test_html__fixtures(void **state)
{
    (void)state;
    const char *names[] = {"runs/pass.json", "runs/mixed.json", "html/charts.json",
                           "runs/infra.json", "runs/interrupted.json"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        results_run *r = load(names[k]);
        size_t len;
        char *html = render(r, &len);
        expect_inert(html);
        expect_names(r, html);
        char want[64];
        snprintf(want, sizeof want, "data-verdict=\"%s\"", results_status_name(r->verdict));
        assert_non_null(strstr(html, want));
        snprintf(want, sizeof want, "<span class=\"word\">%s</span>", results_run_outcome(r));
        assert_non_null(strstr(html, want));
        assert_true(len < 1024 * 1024);
        hx_free(html);
        results_run_free(r);
    }
}

/* The six-scenario fixture: a chart per histogram (two), per resource series, per cost model
 * with lines and per stream timeline, and the page well under the 1 MB budget. */
static void test_html__charts(void **state)
{
    (void)state;
    results_run *r = load("html/charts.json");
    assert_int_equal(r->nscenarios, 6);
    size_t len;
    char *html = render(r, &len);
    size_t hist = 0, res = 0, cost = 0, phases = 0, timelines = 0;
    for (size_t i = 0; i < r->nscenarios; i++) {
        const results_scenario *sc = &r->scenarios[i];
        hist += sc->nhistograms;
        timelines += sc->ntimeline > 0;
        res += sc->resources.nseries > 0;
        for (size_t c = 0; c < sc->ncost; c++) {
            cost += sc->cost[c].nlines > 0;
            phases += sc->cost[c].nphases > 0;
        }
    }
    /* a table of where the money went per model with phases */
    assert_int_equal(count(html, "class=\"cost-phases\""), phases);
    assert_true(hist > 0 && res > 0 && cost > 0 && timelines == 1);
    assert_int_equal(count(html, "data-chart=\"hist-bars\""), hist);
    assert_int_equal(count(html, "data-chart=\"hist-curve\""), hist);
    assert_int_equal(count(html, "data-chart=\"resources\""), res);
    assert_int_equal(count(html, "data-chart=\"cost\""), cost);
    assert_int_equal(count(html, "data-chart=\"timeline\""), timelines);
    assert_int_equal(count(html, "<svg"), 2 * hist + res + cost + timelines);
    assert_int_equal(count(html, "<svg"), count(html, "</svg>"));
    /* Units are shown: ms for sub-second latency, MiB for memory, the currency for cost. */
    assert_non_null(strstr(html, " ms"));
    assert_non_null(strstr(html, " MiB"));
    assert_non_null(strstr(html, " USD"));
    assert_true(len < 512 * 1024);
    hx_free(html);
    results_run_free(r);
}

/* The text between the first `from` after `after` and the next `to` (hx_free), or fail. */
static char *between(const char *hay, const char *after, const char *from, const char *to)
{
    const char *a = strstr(hay, after);
    assert_non_null(a);
    const char *f = strstr(a, from);
    assert_non_null(f);
    const char *t = strstr(f, to);
    assert_non_null(t);
    return hx_strndup(f, (size_t)(t - f));
}

/* What needs a look stands out: failing rows marked, failing scenarios and passing ones with an
 * unmeasured limit open, status cells that do not wrap, the CPU chart never above cores x 100 %. */
static void test_html__failures_stand_out(void **state)
{
    (void)state;
    results_run *r = results_run_new();
    r->machine.cores = 2;
    results_scenario *bad = results_scenario_add(r, "bad");
    results_check_add(bad, "ok check", "sql", RESULTS_SEV_ERROR, RESULTS_PASS);
    results_check_add(bad, "bad check", "diff", RESULTS_SEV_ERROR, RESULTS_FAIL);
    results_invocation *iv = results_invocation_add(bad, 0);
    iv->exit_code = 3;
    results_res_point_add(&bad->resources, 0, 50, 1 << 20);
    results_res_point_add(&bad->resources, 1, 3742, 2 << 20);
    results_scenario *quiet = results_scenario_add(r, "quiet");
    results_check_add(quiet, "fine", "sql", RESULTS_SEV_ERROR, RESULTS_PASS);
    results_threshold_add(quiet, "latency.e2e.p99", "<", 0.5, NAN, "s", RESULTS_SKIP);
    results_scenario *plain = results_scenario_add(r, "plain");
    results_check_add(plain, "fine", "sql", RESULTS_SEV_ERROR, RESULTS_PASS);
    results_run_settle(r);
    char *html = render(r, NULL);

    char *row = between(html, "class=\"checks\"", "<tr class=\"check bad\">", "</tr>");
    assert_non_null(strstr(row, "bad check"));
    assert_non_null(strstr(row, "<td class=\"status\"><span class=\"st-fail\">fail</span>"));
    hx_free(row);
    assert_int_equal(count(html, "<tr class=\"check ok\">"), 3);
    assert_int_equal(count(html, "<tr class=\"invocation bad\">"), 1);
    assert_non_null(strstr(html, "<tr class=\"threshold skip\">"));
    assert_non_null(strstr(html, ">not measured<"));
    /* Open: the failing scenario and the passing one that hides an unmeasured limit. */
    assert_non_null(
        strstr(html, "<details class=\"scenario\" id=\"scenario-0\" data-status=\"fail\" open>"));
    assert_non_null(
        strstr(html, "<details class=\"scenario\" id=\"scenario-1\" data-status=\"pass\" open>"));
    assert_non_null(strstr(html, "<span class=\"badge\">1 limit not measured</span>"));
    assert_non_null(strstr(
        html, "<details class=\"scenario\" id=\"scenario-2\" data-status=\"pass\"><summary>"));
    /* The stylesheet keeps a status on one line and colours failing rows. */
    assert_non_null(strstr(html, "td.status { white-space: nowrap;"));
    assert_non_null(strstr(html, "tr.bad > td {"));
    /* 3742 % on 2 cores is shown as the 200 % the machine can give, and labelled so. */
    char *chart = between(html, "data-chart=\"resources\"", "data-chart", "</svg>");
    assert_non_null(strstr(chart, ">200 %</text>"));
    assert_null(strstr(chart, "3742"));
    assert_non_null(strstr(chart, "at most 200 % on 2 cores"));
    hx_free(chart);
    assert_non_null(strstr(html, "peak cpu 200 % of 200 %"));
    hx_free(html);
    results_run_free(r);
}

/* The heading says what an unfinished run is, never pass. */
static void test_html__unfinished_run_heading(void **state)
{
    (void)state;
    results_run *r = results_run_new();
    results_run_settle(r);
    r->exit_code = HX_EXIT_INFRA;
    char *html = render(r, NULL);
    assert_non_null(strstr(html, "class=\"verdict st-error\" data-verdict=\"pass\" "
                                 "data-outcome=\"error\"><span class=\"word\">error</span>"));
    assert_non_null(strstr(html, "<title>harness: run \xe2\x80\x94 error</title>"));
    hx_free(html);
    assert_true(results_run_set_error(r, HX_EXIT_INFRA, "postgres <refused>"));
    results_run_settle(r);
    html = render(r, NULL);
    assert_non_null(strstr(html, "<p class=\"banner err\">error: postgres &lt;refused&gt;</p>"));
    hx_free(html);
    r->partial = true;
    results_run_settle(r);
    html = render(r, NULL);
    assert_non_null(strstr(html, "<span class=\"word\">error</span>"));
    hx_free(html);
    results_run_free(r);
}

static void test_html__write(void **state)
{
    (void)state;
    results_run *r = load("runs/pass.json");
    char path[] = "/tmp/hx-test-html-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    hx_err e = {0};
    assert_int_equal(rep_html_write(r, path, &e), 0);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(hx_read_file(path, &data, &len, &e), 0);
    char *html = render(r, NULL);
    assert_string_equal(data, html);
    hx_free(data);
    hx_free(html);
    unlink(path);
    results_run_free(r);
}

/* Each model's month split into fixed and variable, each line's kind and month, the pack's
 * figures as the mean of its scenarios', and the database's CPU beside the solution's. */
static void test_html__cost_split_and_database_cpu(void **state)
{
    (void)state;
    results_run *r = fixture_split_run();
    char *html = render(r, NULL);
    assert_non_null(strstr(html, "per month 11 USD (fixed 10 USD, variable 1 USD)"));
    assert_non_null(strstr(html, "<th>kind</th>"));
    assert_non_null(strstr(html, "<td>fixed</td>"));
    assert_non_null(strstr(html, "<th>fixed a month</th><th>variable a month</th>"));
    assert_non_null(strstr(html, "<td class=\"num\">13 USD</td><td class=\"num\">11 USD</td>"
                                 "<td class=\"num\">2 USD</td>"));
    assert_non_null(strstr(html, "database cpu 1.5 s (solution and database 1.54 s)"));
    hx_free(html);
    results_run_free(r);
}

static bool render_run(hx_buf *out, const void *ctx)
{
    return rep_html_render(out, ctx);
}

/* Every failing allocation is reported, until enough succeed to render the page whole. */
static void test_html__oom(void **state)
{
    (void)state;
    results_run *r = load("runs/mixed.json");
    expect_render_survives_oom(render_run, r, 64);
    results_run_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html__text_escaping),
        cmocka_unit_test(test_html__hostile),
        cmocka_unit_test(test_html__fixtures),
        cmocka_unit_test(test_html__charts),
        cmocka_unit_test(test_html__write),
        cmocka_unit_test(test_html__cost_split_and_database_cpu),
        cmocka_unit_test(test_html__oom),
        cmocka_unit_test(test_html__failures_stand_out),
        cmocka_unit_test(test_html__unfinished_run_heading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
