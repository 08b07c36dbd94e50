/* test_junit.c - XML-safe text and junit.xml: every output validates against the dialect's own
 * schema, docs/junit-harness.xsd (checked by xmllint, a schema-validating parser), carries the
 * counts of the run, and the schema refuses what the writer must never write. Needs xmllint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rep.h"
#include "runjson.h"

static char tmpdir[256];
static char xsd[1024];

static int setup(void **state)
{
    (void)state;
    const char *root = getenv("HX_SOURCE_ROOT");
    if (!root) {
        fprintf(stderr, "HX_SOURCE_ROOT is not set; run through meson test\n");
        return -1;
    }
    snprintf(xsd, sizeof xsd, "%s/docs/junit-harness.xsd", root);
    if (access(xsd, R_OK) != 0) {
        fprintf(stderr, "the JUnit schema is missing: looked for '%s'\n", xsd);
        return -1;
    }
    if (system("xmllint --version >/dev/null 2>&1") != 0) {
        fprintf(stderr, "xmllint is not installed (apt-get install libxml2-utils)\n");
        return -1;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hx-test-junit-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return hx_rm_rf(tmpdir);
}

/* Run a shell command, return its stdout (hx_free) and exit status. */
static char *run(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    hx_buf b;
    hx_buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        hx_buf_append(&b, chunk, n);
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    hx_buf_putc(&b, '\0');
    return hx_buf_steal(&b);
}

static void render_to(const results_run *r, const char *name, char *path, size_t n)
{
    snprintf(path, n, "%s/%s", tmpdir, name);
    hx_err e = {0};
    if (rep_junit_write(r, path, &e) != 0) fail_msg("%s", e.msg);
}

static void assert_valid(const char *path)
{
    char cmd[2048];
    int st;
    snprintf(cmd, sizeof cmd, "xmllint --noout --schema '%s' '%s' 2>&1", xsd, path);
    char *out = run(cmd, &st);
    if (st != 0) fail_msg("%s does not validate against junit-harness.xsd:\n%s", path, out);
    hx_free(out);
}

/* Evaluate an XPath number/string with xmllint (a real parser, so CDATA and escapes count). */
static char *xpath(const char *path, const char *expr)
{
    char cmd[2048];
    int st;
    snprintf(cmd, sizeof cmd, "xmllint --xpath \"%s\" '%s' 2>/dev/null", expr, path);
    char *s = run(cmd, &st);
    /* xmllint ends its answer with a newline of its own. */
    size_t n = strlen(s);
    if (n && s[n - 1] == '\n') s[n - 1] = '\0';
    return s;
}

static long xpath_num(const char *path, const char *expr)
{
    char *s = xpath(path, expr);
    long v = strtol(s, NULL, 10);
    hx_free(s);
    return v;
}

static results_run *load_fixture(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/runs/%s", getenv("HX_SOURCE_ROOT"), name);
    results_run *r = NULL;
    hx_err e = {0};
    if (runjson_read(path, &r, &e) != 0) fail_msg("%s", e.msg);
    return r;
}

static char *xml_of(const char *s, bool (*fn)(hx_buf *, const char *, size_t), size_t max)
{
    hx_buf b;
    hx_buf_init(&b);
    assert_true(fn(&b, s, max));
    hx_buf_putc(&b, '\0');
    return hx_buf_steal(&b);
}

static void expect_xml(bool (*fn)(hx_buf *, const char *, size_t), const char *in, size_t max,
                       const char *want)
{
    char *got = xml_of(in, fn, max);
    assert_string_equal(got, want);
    hx_free(got);
}

static void test_junit__xml_escaping(void **state)
{
    (void)state;
    expect_xml(rep_xml_text, "a<b>&\"'", 0, "a&lt;b&gt;&amp;&quot;&apos;");
    expect_xml(rep_xml_text, "t\tn\nr\r", 0, "t\tn\nr&#13;");
    expect_xml(rep_xml_attr, "t\tn\nr\r", 0, "t&#9;n&#10;r&#13;");
    /* C0 controls, U+FFFE/U+FFFF, a lone surrogate (CESU bytes), an overlong '/', a stray
     * continuation byte and a truncated sequence all become U+FFFD; U+FFFD itself stays. */
    expect_xml(rep_xml_text, "\x01\x1b\x7f", 0, "\xef\xbf\xbd\xef\xbf\xbd\x7f");
    expect_xml(rep_xml_text, "\xef\xbf\xbe\xef\xbf\xbf\xef\xbf\xbd", 0,
               "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    expect_xml(rep_xml_text, "\xed\xa0\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    expect_xml(rep_xml_text, "\xc0\xaf|\x80|\xe2\x82", 0,
               "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd");
    expect_xml(rep_xml_text, "\xf0\x9f\x98\x80 \xe2\x82\xac", 0, "\xf0\x9f\x98\x80 \xe2\x82\xac");
    /* CDATA: nothing escaped, every "]]>" split, even overlapping runs of brackets. */
    expect_xml(rep_xml_cdata, "a]]>b<&", 0, "<![CDATA[a]]]]><![CDATA[>b<&]]>");
    expect_xml(rep_xml_cdata, "]]]>]]>", 0, "<![CDATA[]]]]]><![CDATA[>]]]]><![CDATA[>]]>");
    expect_xml(rep_xml_cdata, "]>] ]>\x02", 0, "<![CDATA[]>] ]>\xef\xbf\xbd]]>");
    /* Caps cut on a code point boundary and say so. */
    expect_xml(rep_xml_text, "ab\xe2\x82\xac", 3, "ab\xe2\x80\xa6");
    expect_xml(rep_xml_text, "abc", 3, "abc");
    const char *s = "ab\xe2\x82\xac";
    assert_ptr_equal(rep_tail(s, 2), s + 5);
    assert_ptr_equal(rep_tail(s, 3), s + 2);
    assert_ptr_equal(rep_tail(s, 0), s);
}

/* The file validates, and a real parser sees exactly the counts of the run. */
static void check_file_against_run(const char *path, const results_run *r)
{
    assert_valid(path);
    results_counts c = results_counts_of(r, NULL);
    const results_totals *t = &r->totals;
    assert_int_equal(c.tests, t->checks_passed + t->checks_warned + t->checks_failed +
                                  t->checks_errored + t->checks_skipped + t->thresholds_passed +
                                  t->thresholds_failed + t->thresholds_skipped +
                                  t->invocations_passed + t->invocations_failed +
                                  t->scenario_errors + t->run_errors);
    assert_int_equal(c.failures, t->checks_failed + t->thresholds_failed + t->invocations_failed);
    assert_int_equal(c.errors, t->checks_errored + t->scenario_errors + t->run_errors);
    assert_int_equal(c.skipped, t->checks_skipped + t->thresholds_skipped);
    /* Elements, as parsed. */
    assert_int_equal(xpath_num(path, "count(//testcase)"), c.tests);
    assert_int_equal(xpath_num(path, "count(//testcase/failure)"), c.failures);
    assert_int_equal(xpath_num(path, "count(//testcase/error)"), c.errors);
    assert_int_equal(xpath_num(path, "count(//testcase/skipped)"), c.skipped);
    /* Attributes agree with the elements. */
    assert_int_equal(xpath_num(path, "sum(//testsuite/@tests)"), c.tests);
    assert_int_equal(xpath_num(path, "sum(//testsuite/@failures)"), c.failures);
    assert_int_equal(xpath_num(path, "sum(//testsuite/@errors)"), c.errors);
    assert_int_equal(xpath_num(path, "sum(//testsuite/@skipped)"), c.skipped);
    assert_int_equal(xpath_num(path, "count(/testsuites/testsuite)"),
                     (long)(r->nscenarios + (size_t)t->run_errors));
    /* The root carries a name and no counts: test-results-parser would trust them over the
     * suites, and Jenkins' junit-10.xsd forbids `skipped` there. */
    assert_int_equal(xpath_num(path, "count(/testsuites/@name)"), 1);
    assert_int_equal(xpath_num(path, "count(/testsuites/@tests|/testsuites/@failures|"
                                     "/testsuites/@errors|/testsuites/@skipped)"),
                     0);
    /* Timestamps have the shape the strict schemas want: no zone, no fraction. */
    assert_int_equal(xpath_num(path, "count(//testsuite[string-length(@timestamp) != 19])"), 0);
}

static void test_junit__fixtures_validate_with_run_counts(void **state)
{
    (void)state;
    const char *names[] = {"pass.json", "mixed.json", "hostile.json", "infra.json",
                           "interrupted.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        results_run *r = load_fixture(names[i]);
        char path[512];
        render_to(r, "fixture.xml", path, sizeof path);
        check_file_against_run(path, r);
        results_run_free(r);
    }
}

static void test_junit__mixed_details(void **state)
{
    (void)state;
    results_run *r = load_fixture("mixed.json");
    char path[512];
    render_to(r, "mixed.xml", path, sizeof path);
    char *s = xpath(path, "string(//testsuite[@name='late_arrivals']/testcase[@name='fct_orders "
                          "matches the ledger']/failure/@type)");
    assert_string_equal(s, "diff");
    hx_free(s);
    /* expected vs actual and the sample rows are in the failure text. */
    s = xpath(path, "string(//testcase[@name='fct_orders matches the ledger']/failure)");
    assert_non_null(strstr(s, "expected: 200000 rows\nactual:   199997 rows\n"));
    assert_non_null(strstr(s, "counts: missing=3 extra=0 mismatched=1\n"));
    assert_non_null(
        strstr(s, "order_id | amount | status\n17 | 12.50 | missing\n18 | NULL | missing"));
    hx_free(s);
    s = xpath(path,
              "string(//testcase[@name='threshold solution.wall.max < 30 s']/failure/@message)");
    assert_string_equal(s, "solution.wall.max = 41.5 s, limit < 30 s (late_arrivals.lua:30)");
    hx_free(s);
    /* A warning is a passing testcase that says so. */
    assert_int_equal(xpath_num(path, "count(//testcase[@name='no negative amounts']/*)"), 1);
    s = xpath(path, "string(//testcase[@name='no negative amounts']/system-out)");
    assert_non_null(strstr(s, "warning: "));
    hx_free(s);
    s = xpath(path, "string(//testsuite[@name='broker_down']/testcase/error/@type)");
    assert_string_equal(s, "infrastructure");
    hx_free(s);
    s = xpath(path, "string(//testsuite[@name='bad_scenario']/testcase/error/@type)");
    assert_string_equal(s, "scenario");
    hx_free(s);
    s = xpath(path, "string(//testsuite[@name='late_arrivals']/@time)");
    assert_string_equal(s, "55.250");
    hx_free(s);
    s = xpath(path, "string(//testsuite[@name='late_arrivals']/@timestamp)");
    assert_string_equal(s, "2026-03-01T10:00:01");
    hx_free(s);
    s = xpath(path, "string(//testsuite[@name='late_arrivals']/testcase[1]/@classname)");
    assert_string_equal(s, "ecommerce-etl-foundation.late_arrivals");
    hx_free(s);
    /* Properties: metrics and cost per model, the seed as an exact decimal. */
    s = xpath(path, "string(//testsuite[@name='late_arrivals']/properties/property[@name='cost."
                    "gcp-us-central1.monthly']/@value)");
    assert_string_equal(s, "0.357 USD");
    hx_free(s);
    s = xpath(
        path,
        "string(//testsuite[@name='late_arrivals']/properties/property[@name='seed']/@value)");
    assert_string_equal(s, "18446744073709551615");
    hx_free(s);
    /* Both solution invocations' logs, labelled by batch. */
    s = xpath(path, "string(//testsuite[@name='late_arrivals']/system-err)");
    assert_string_equal(s, "--- batch 1 ---\nTraceback: KeyError 'amount'\n");
    hx_free(s);
    results_run_free(r);
}

static void test_junit__hostile_text_stays_text(void **state)
{
    (void)state;
    results_run *r = load_fixture("hostile.json");
    /* Bytes JSON cannot carry, straight into the model. */
    results_scenario *sc = results_scenario_add(r, "raw\xff\xfe");
    results_invocation *iv = results_invocation_add(sc, 0);
    assert_true(results_set_str(&iv->stdout_tail, "a]]>b\xed\xa0\x80\x01\xef\xbf\xbe\xc3"));
    results_check *c =
        results_check_add(sc, "bad \xc3\x28", "sql", RESULTS_SEV_ERROR, RESULTS_FAIL);
    assert_true(results_set_str(&c->actual, "\x80\x81<x>"));
    results_run_settle(r);

    char path[512];
    render_to(r, "hostile.xml", path, sizeof path);
    check_file_against_run(path, r);

    char *s = xpath(path, "string(//testsuite[4]/system-out)");
    assert_string_equal(s, "a]]>b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef"
                           "\xbf\xbd\n");
    hx_free(s);
    /* The first suite's log holds "]]>" runs, untouched after parsing. */
    s = xpath(path, "string(//testsuite[1]/system-out)");
    assert_non_null(strstr(s, "\n]]>\n"));
    assert_non_null(strstr(s, "<script>alert(1)</script> ]]> ]]]]>"));
    /* A log cannot attach files or set metadata in test-results-parser. */
    assert_null(strstr(s, "[[ATTACHMENT|"));
    assert_null(strstr(s, "[[PROPERTY|"));
    hx_free(s);
    /* The very long actual value is capped. */
    s = xpath(path, "string(//testsuite[1]/testcase[1]/failure)");
    /* (U+FFFD takes three bytes where a control character took one.) */
    size_t n = strlen(s);
    if (n > REP_JUNIT_BODY_MAX + 64 || n < 3 || strcmp(s + n - 3, "\xe2\x80\xa6") != 0)
        fail_msg("failure text of %zu bytes, not capped at %d", n, REP_JUNIT_BODY_MAX);
    hx_free(s);
    /* Merged shards: a repeated suite name carries no properties, a unique one does. */
    assert_int_equal(xpath_num(path, "count(//testsuite[@name='dup']/properties)"), 0);
    assert_int_equal(xpath_num(path, "count(//testsuite[1]/properties)"), 1);
    /* A timestamp that is not a date falls back to the run's start. */
    s = xpath(path, "string(//testsuite[1]/@timestamp)");
    assert_string_equal(s, "2026-03-01T10:00:00");
    hx_free(s);
    results_run_free(r);
}

static void test_junit__odd_numbers_keep_the_time_format(void **state)
{
    (void)state;
    results_run *r = results_run_new();
    results_scenario *sc = results_scenario_add(r, "t");
    sc->duration_s = NAN;
    results_check *c = results_check_add(sc, "c", NULL, RESULTS_SEV_ERROR, RESULTS_PASS);
    c->duration_s = -1;
    results_check_add(sc, NULL, NULL, RESULTS_SEV_ERROR, RESULTS_PASS)->duration_s = 1e-5;
    sc = results_scenario_add(r, NULL);
    sc->duration_s = 1e30;
    r->duration_s = 12345678.9;
    results_run_settle(r);
    char path[512];
    render_to(r, "odd.xml", path, sizeof path);
    assert_valid(path);
    char *s = xpath(path, "string(//testsuite[1]/@time)");
    assert_string_equal(s, "0.000");
    hx_free(s);
    s = xpath(path, "string(//testcase[2]/@time)");
    assert_string_equal(s, "0.000");
    hx_free(s);
    s = xpath(path, "string(/testsuites/@time)");
    assert_string_equal(s, "12345678.900");
    hx_free(s);
    results_run_free(r);
}

/* The schema is the dialect, not a formality: a file that breaks one of its rules fails it. */
static void test_junit__schema_refuses_what_the_writer_never_writes(void **state)
{
    (void)state;
    static const char head[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    static const char *const good =
        "<testsuites name=\"harness\" time=\"1.000\">"
        "<testsuite name=\"s\" tests=\"1\" failures=\"1\" errors=\"0\""
        " skipped=\"0\" time=\"0.500\" timestamp=\"2026-03-01T10:00:01\">"
        "<properties><property name=\"status\" value=\"fail\"/>"
        "</properties><testcase classname=\"p.s\" name=\"c\""
        " time=\"0.000\"><failure message=\"m\" type=\"diff\">body"
        "</failure></testcase><system-out>log</system-out>"
        "</testsuite></testsuites>\n";
    static const char *const bad[] = {
        /* counts on the root */
        "<testsuites name=\"h\" time=\"1.000\" tests=\"0\"/>",
        /* times that are not three decimals, or negative, or with an exponent */
        "<testsuites name=\"h\" time=\"1.5\"/>",
        "<testsuites name=\"h\" time=\"-1.000\"/>",
        "<testsuites name=\"h\" time=\"1e-05\"/>",
        /* a root without a name */
        "<testsuites time=\"1.000\"/>",
        /* a bare testsuite as the root */
        "<testsuite name=\"s\" tests=\"0\" failures=\"0\" errors=\"0\" skipped=\"0\""
        " time=\"0.000\"/>",
        /* a suite without its skipped count, a negative count, a zoned timestamp */
        "<testsuites name=\"h\" time=\"1.000\"><testsuite name=\"s\" tests=\"0\" failures=\"0\""
        " errors=\"0\" time=\"0.000\"/></testsuites>",
        "<testsuites name=\"h\" time=\"1.000\"><testsuite name=\"s\" tests=\"-1\" failures=\"0\""
        " errors=\"0\" skipped=\"0\" time=\"0.000\"/></testsuites>",
        "<testsuites name=\"h\" time=\"1.000\"><testsuite name=\"s\" tests=\"0\" failures=\"0\""
        " errors=\"0\" skipped=\"0\" time=\"0.000\" timestamp=\"2026-03-01T10:00:01Z\"/>"
        "</testsuites>",
        /* two outcomes in one case; a failure without a type; elements in the wrong order */
        "<testsuites name=\"h\" time=\"1.000\"><testsuite name=\"s\" tests=\"1\" failures=\"1\""
        " errors=\"1\" skipped=\"0\" time=\"0.000\"><testcase classname=\"c\" name=\"n\""
        " time=\"0.000\"><failure message=\"m\" type=\"t\"/><error message=\"m\" type=\"t\"/>"
        "</testcase></testsuite></testsuites>",
        "<testsuites name=\"h\" time=\"1.000\"><testsuite name=\"s\" tests=\"1\" failures=\"1\""
        " errors=\"0\" skipped=\"0\" time=\"0.000\"><testcase classname=\"c\" name=\"n\""
        " time=\"0.000\"><failure message=\"m\"/></testcase></testsuite></testsuites>",
        "<testsuites name=\"h\" time=\"1.000\"><testsuite name=\"s\" tests=\"0\" failures=\"0\""
        " errors=\"0\" skipped=\"0\" time=\"0.000\"><system-out/><properties><property"
        " name=\"a\" value=\"b\"/></properties></testsuite></testsuites>",
    };
    char path[512], cmd[2048];
    int st;
    snprintf(path, sizeof path, "%s/schema.xml", tmpdir);
    snprintf(cmd, sizeof cmd, "xmllint --noout --schema '%s' '%s' 2>&1", xsd, path);
    for (size_t i = 0; i <= sizeof bad / sizeof bad[0]; i++) {
        const char *body = i == 0 ? good : bad[i - 1];
        hx_buf doc;
        hx_buf_init(&doc);
        hx_buf_printf(&doc, "%s%s\n", head, body);
        assert_false(doc.oom);
        assert_int_equal(hx_write_atomic(path, doc.data, doc.len, NULL), 0);
        hx_buf_release(&doc);
        char *out = run(cmd, &st);
        if (i == 0 && st != 0)
            fail_msg("the schema refused a file the writer could write:\n%s", out);
        if (i > 0 && st == 0) fail_msg("the schema accepted bad case %zu:\n%s", i - 1, body);
        hx_free(out);
    }
}

/* A run whose every check passes but whose solution exited 3 on its second batch. */
static results_run *crashed_run(void)
{
    results_run *r = results_run_new();
    assert_true(results_set_str(&r->pack_name, "p"));
    assert_true(results_set_str(&r->started, "2026-03-01T10:00:00Z"));
    results_scenario *sc = results_scenario_add(r, "s");
    results_check_add(sc, "rows", "sql", RESULTS_SEV_ERROR, RESULTS_PASS);
    results_threshold_add(sc, "latency.e2e.p99", "<", 0.5, 0.2, "s", RESULTS_PASS);
    results_threshold_add(sc, "solution.rss.peak", "<", 512.0 * 1024 * 1024, NAN, "bytes",
                          RESULTS_SKIP);
    results_invocation_add(sc, 0)->wall_s = 0.25;
    results_invocation *iv = results_invocation_add(sc, 1);
    iv->exit_code = 3;
    iv->wall_s = 1.2;
    iv->leftovers = 1;
    assert_true(results_set_str(&iv->stderr_tail, "Traceback (most recent call last):\n"
                                                  "ValueError: boom [[ATTACHMENT|/etc/passwd]]\n"));
    results_run_settle(r);
    return r;
}

static void test_junit__failed_invocation_is_a_failing_testcase(void **state)
{
    (void)state;
    results_run *r = crashed_run();
    char path[512];
    render_to(r, "crashed.xml", path, sizeof path);
    check_file_against_run(path, r);
    assert_int_equal(xpath_num(path, "count(//testcase[@name='solution batch 0']/*)"), 0);
    assert_int_equal(xpath_num(path, "count(//testcase[@name='solution batch 1']/failure)"), 1);
    assert_int_equal(xpath_num(path, "sum(//testsuite/@failures)"), 1);
    char *s = xpath(path, "string(//testcase[@name='solution batch 1']/failure/@message)");
    assert_string_equal(s, "solution batch 1 exited with 3 after 1.2 s; left 1 process running "
                           "(stopped by the harness)");
    hx_free(s);
    /* The log tail is in the failure text, its attachment marker defused. */
    s = xpath(path, "string(//testcase[@name='solution batch 1']/failure)");
    assert_non_null(strstr(s, "stderr (tail):\nTraceback (most recent call last):\nValueError"));
    assert_null(strstr(s, "[[ATTACHMENT"));
    hx_free(s);
    /* Threshold names carry their limit in the reports' units; an unmeasured one says so. */
    assert_int_equal(
        xpath_num(path, "count(//testcase[@name='threshold latency.e2e.p99 < 500 ms'])"), 1);
    s = xpath(path,
              "string(//testcase[@name='threshold solution.rss.peak < 512 MiB']/skipped/@message)");
    assert_string_equal(s, "metric solution.rss.peak was not recorded");
    hx_free(s);
    results_run_free(r);
}

/* A run that stopped before its scenarios (postgres refused the connection) is one error, not an
 * empty green file; an interrupted one likewise. */
static void test_junit__unfinished_run_is_an_error(void **state)
{
    (void)state;
    results_run *r = results_run_new();
    assert_true(results_set_str(&r->pack_name, "p"));
    assert_true(results_set_str(&r->started, "2026-03-01T10:00:00Z"));
    assert_true(results_run_set_error(r, HX_EXIT_INFRA, "cannot connect to postgres at :1"));
    results_run_settle(r);
    char path[512];
    render_to(r, "infra.xml", path, sizeof path);
    check_file_against_run(path, r);
    char *s = xpath(path, "string(//testsuite[@name='harness run']/testcase/error/@type)");
    assert_string_equal(s, "infrastructure");
    hx_free(s);
    s = xpath(path, "string(//testcase/error/@message)");
    assert_string_equal(s, "cannot connect to postgres at :1");
    hx_free(s);
    results_run_free(r);

    r = crashed_run();
    r->interrupted = true;
    results_run_settle(r);
    render_to(r, "interrupted.xml", path, sizeof path);
    check_file_against_run(path, r);
    s = xpath(path, "string(//testsuite[@name='harness run']/testcase/error/@type)");
    assert_string_equal(s, "interrupted");
    hx_free(s);
    results_run_free(r);
}

static void test_junit__out_of_memory(void **state)
{
    (void)state;
    results_run *r = load_fixture("mixed.json");
    for (long n = 0;; n++) {
        hx_buf b;
        hx_buf_init(&b);
        hx_alloc_fail_after(n);
        bool ok = rep_junit_render(&b, r);
        hx_alloc_fail_after(-1);
        hx_buf_release(&b);
        if (ok) break;
        assert_true(n < 100000);
    }
    results_run_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_junit__xml_escaping),
        cmocka_unit_test(test_junit__fixtures_validate_with_run_counts),
        cmocka_unit_test(test_junit__mixed_details),
        cmocka_unit_test(test_junit__hostile_text_stays_text),
        cmocka_unit_test(test_junit__odd_numbers_keep_the_time_format),
        cmocka_unit_test(test_junit__schema_refuses_what_the_writer_never_writes),
        cmocka_unit_test(test_junit__failed_invocation_is_a_failing_testcase),
        cmocka_unit_test(test_junit__unfinished_run_is_an_error),
        cmocka_unit_test(test_junit__out_of_memory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
