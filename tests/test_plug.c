/* test_plug.c - the plugin loader, parameter validation, host services and worker isolation with
 * test plugins built to misbehave; then the built-in plugins against a real PostgreSQL with
 * planted defects that must be found exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "gen.h"
#include "gen_fixture.h"
#include "pgfixture.h"
#include "plug.h"

static char builtin_dir[4096], test_dir[4096];

static void dirs_init(void)
{
    const char *b = getenv("HX_BUILD_ROOT");
    assert_non_null(b);
    snprintf(builtin_dir, sizeof builtin_dir, "%s/plugins", b);
    snprintf(test_dir, sizeof test_dir, "%s/tests/plugins", b);
}

static plug_plugin *open_plugin(const char *name)
{
    plug_path pp;
    plug_path_init(&pp);
    assert_int_equal(plug_path_add(&pp, test_dir), 0);
    assert_int_equal(plug_path_add(&pp, builtin_dir), 0);
    plug_plugin *p = NULL;
    hx_err e = {0};
    int rc = plug_open(name, &pp, PLUG_LOAD_WORKER, &p, &e);
    if (rc != 0) fail_msg("plug_open %s: %s", name, e.msg);
    plug_path_release(&pp);
    return p;
}

#define P(k, j)                                                                                    \
    {                                                                                              \
        (char *)(k), (char *)(j)                                                                   \
    }

/* Run check `check` of p with params and options; returns the result (caller releases). */
static plug_result run_check(plug_plugin *p, const char *check, const plan_param *params, size_t n,
                             const plug_run_opts *o)
{
    hx_err e = {0};
    const hx_plugin_check *c = plug_find_check(p, check, &e);
    if (!c) fail_msg("%s", e.msg);
    plug_result r;
    plug_result_init(&r);
    if (plug_run(p, c, params, n, o, &r, &e) != 0) fail_msg("plug_run: %s", e.msg);
    assert_non_null(r.message);
    if (r.status == PLUG_ERROR) print_message("%s: error: %s\n", check, r.message);
    return r;
}

static bool has_log(const plug_result *r, const char *needle)
{
    for (size_t i = 0; i < r->nlogs; i++)
        if (strstr(r->logs[i], needle)) return true;
    return false;
}

/* ---- loading ---- */

static void test_plug__wrong_abi_refused(void **state)
{
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/bad_abi.so", test_dir);
    plug_plugin *p = (plug_plugin *)1;
    hx_err e = {0};
    assert_int_equal(plug_open_file(path, PLUG_LOAD_WORKER, &p, &e), HX_EUSAGE);
    assert_null(p);
    assert_non_null(strstr(e.msg, "bad_abi.so"));
    assert_non_null(strstr(e.msg, "ABI version 99"));
    char mine[64];
    snprintf(mine, sizeof mine, "ABI version %d", HX_PLUGIN_ABI_VERSION);
    assert_non_null(strstr(e.msg, mine));
}

static void test_plug__missing_file_names_dirs_and_hint(void **state)
{
    (void)state;
    plug_path pp;
    plug_path_init(&pp);
    plug_path_add(&pp, test_dir);
    plug_path_add(&pp, "/nonexistent/dir");
    plug_plugin *p = NULL;
    hx_err e = {0};
    assert_int_equal(plug_open("nosuch", &pp, PLUG_LOAD_WORKER, &p, &e), HX_EUSAGE);
    assert_null(p);
    assert_non_null(strstr(e.msg, "nosuch.so"));
    assert_non_null(strstr(e.msg, "/nonexistent/dir"));
    assert_non_null(strstr(e.msg, "--plugin-path"));
    /* names that could walk out of the search path are refused outright */
    assert_int_equal(plug_open("../plugins/quality", &pp, PLUG_LOAD_WORKER, &p, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "invalid plugin name"));
    plug_path_release(&pp);
}

static void test_plug__missing_symbol(void **state)
{
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/no_entry.so", test_dir);
    plug_plugin *p = NULL;
    hx_err e = {0};
    assert_int_equal(plug_open_file(path, PLUG_LOAD_WORKER, &p, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "no_entry.so"));
    assert_non_null(strstr(e.msg, "harness_plugin_entry"));
    assert_non_null(strstr(e.msg, "docs/plugins.md"));
    /* not a shared object at all */
    snprintf(path, sizeof path, "%s/../../meson-info/meson-info.json", test_dir);
    assert_int_equal(plug_open_file(path, PLUG_LOAD_WORKER, &p, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "cannot load plugin"));
}

static void test_plug__init_failure_unloads(void **state)
{
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/init_fail.so", test_dir);
    plug_plugin *p = NULL;
    hx_err e = {0};
    assert_int_equal(plug_open_file(path, PLUG_LOAD_WORKER, &p, &e), HX_EUSAGE);
    assert_null(p);
    assert_non_null(strstr(e.msg, "needs a licence file"));
}

static void test_plug__load_example_and_describe(void **state)
{
    (void)state;
    plug_plugin *p = open_plugin("example");
    assert_string_equal(p->name, "example");
    assert_non_null(strstr(p->path, "/plugins/example.so"));
    assert_int_equal(plug_check_count(p), 1);
    hx_err e = {0};
    const hx_plugin_check *c = plug_find_check(p, "min_rows", &e);
    assert_non_null(c);
    assert_string_equal(plug_param_at(p, c, 0)->name, "table");
    assert_null(plug_find_check(p, "min_row", &e));
    assert_non_null(strstr(e.msg, "did you mean 'min_rows'"));
    /* without a database the SQL service is NULL and the example says so as an error result */
    plan_param params[] = {P("table", "\"t\"")};
    plug_result r = run_check(p, "min_rows", params, 1, NULL);
    assert_int_equal(r.status, PLUG_ERROR);
    assert_string_equal(r.message, "this run has no database");
    plug_result_release(&r);
    plug_close(p);
}

static void test_plug__search_order_and_standard_path(void **state)
{
    (void)state;
    plug_path pp;
    plug_path_init(&pp);
    const char *extra[] = {"/x/one"};
    assert_int_equal(plug_path_standard(&pp, "/packs/shop", extra, 1), 0);
    assert_int_equal(pp.n, 3);
    assert_string_equal(pp.dirs[0], "/packs/shop/plugins");
    assert_string_equal(pp.dirs[1], "/x/one");
    /* this test binary lives in the build tree, so built-ins come from the build tree */
    assert_string_equal(pp.dirs[2], builtin_dir);
    assert_string_equal(plug_builtin_dir(), builtin_dir);
    plug_path_release(&pp);
}

static void test_plug__open_survives_allocation_failures(void **state)
{
    (void)state;
    plug_path pp;
    plug_path_init(&pp);
    plug_path_add(&pp, builtin_dir);
    bool ok = false;
    /* every allocation of the harness's side: the path, the pipe's buffer, the descriptor's
     * copy (the worker's own allocations are not the seam's) */
    long n = 0;
    for (; n < 200 && !ok; n++) {
        plug_plugin *p = NULL;
        hx_err e = {0};
        hx_alloc_fail_after(n);
        int rc = plug_open("example", &pp, PLUG_LOAD_WORKER, &p, &e);
        hx_alloc_fail_after(-1);
        if (rc == 0) {
            ok = true;
            assert_int_equal(plug_check_count(p), 1);
            plug_close(p);
        } else {
            assert_int_equal(rc, HX_ENOMEM);
            assert_null(p);
        }
    }
    assert_true(ok);
    assert_true(n > 5); /* the copy did allocate, and each failure was survived */
    plug_path_release(&pp);
}

/* ---- containment: no plugin code in this process, nothing of it outlives its worker ---- */

static void test_plug__init_crash_is_a_load_error(void **state)
{
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/init_crash.so", test_dir);
    plug_plugin *p = (plug_plugin *)1;
    hx_err e = {0};
    assert_int_equal(plug_open_file(path, PLUG_LOAD_WORKER, &p, &e), HX_EINFRA);
    assert_null(p);
    if (!strstr(e.msg, "crashed while loading") || !strstr(e.msg, "SIGSEGV"))
        fail_msg("unexpected: %s", e.msg);
}

/* The pid the marker file holds, 0 when there is none. */
static int marker_pid(const char *path)
{
    FILE *f = fopen(path, "r");
    int pid = 0;
    if (f && fscanf(f, "%d", &pid) != 1) pid = 0;
    if (f) fclose(f);
    return pid;
}

static void test_plug__constructors_run_in_workers_only(void **state)
{
    (void)state;
    char marker[4200], path[4200];
    const char *tmp = getenv("TMPDIR");
    snprintf(marker, sizeof marker, "%s/hx-ctor-marker-%d", tmp && *tmp ? tmp : "/tmp",
             (int)getpid());
    snprintf(path, sizeof path, "%s/ctor_marker.so", test_dir);
    unlink(marker);
    setenv("HX_TEST_MARKER", marker, 1);
    /* loading reads the descriptor in a worker: the constructor ran there */
    plug_plugin *p = open_plugin("ctor_marker");
    int pid = marker_pid(marker);
    assert_true(pid > 0);
    assert_int_not_equal(pid, getpid());
    /* and a check's worker loads it again, in another process */
    unlink(marker);
    plug_result r = run_check(p, "ok", NULL, 0, NULL);
    assert_int_equal(r.status, PLUG_PASS);
    plug_result_release(&r);
    assert_true(marker_pid(marker) > 0);
    assert_int_not_equal(marker_pid(marker), getpid());
    plug_close(p);
    /* confined, it writes nothing (or, on a kernel without Landlock, it is not loaded at all) */
    unlink(marker);
    hx_err e = {0};
    p = NULL;
    int rc = plug_open_file(path, PLUG_LOAD_CONFINED, &p, &e);
    if (plug_confine_abi() > 0) {
        if (rc != 0) fail_msg("confined load: %s", e.msg);
        assert_int_equal(plug_check_count(p), 1);
        plug_close(p);
    } else {
        assert_int_equal(rc, HX_EINFRA);
        assert_non_null(strstr(e.msg, "--trust-plugins"));
    }
    assert_int_not_equal(access(marker, F_OK), 0);
    unsetenv("HX_TEST_MARKER");
}

/* The pid of a "daemon pid N" log line, 0 when there is none. */
static pid_t logged_daemon(const plug_result *r)
{
    for (size_t i = 0; i < r->nlogs; i++) {
        const char *s = strstr(r->logs[i], "daemon pid ");
        if (s) return (pid_t)atoi(s + 11);
    }
    return 0;
}

static void test_plug__daemons_die_with_their_worker(void **state)
{
    (void)state;
    plug_plugin *p = open_plugin("daemonize");
    for (int hang = 0; hang < 2; hang++) {
        plan_param params[] = {P("hang", hang ? "true" : "false")};
        plug_run_opts o = {.timeout_ms = hang ? 5000 : 0};
        plug_result r = run_check(p, "spawn", params, 1, &o);
        assert_int_equal(r.status, hang ? PLUG_ERROR : PLUG_PASS);
        if (hang) assert_non_null(strstr(r.message, "timed out"));
        pid_t d = logged_daemon(&r);
        assert_true(d > 0);
        /* the worker killed and reaped it before it ended: no waiting needed */
        assert_int_equal(kill(d, 0), -1);
        assert_int_equal(errno, ESRCH);
        plug_result_release(&r);
    }
    plug_close(p);
}

/* ---- parameters ---- */

static void expect_invalid(plug_plugin *p, const char *check, const plan_param *params, size_t n,
                           const char *needle)
{
    hx_err e = {0};
    const hx_plugin_check *c = plug_find_check(p, check, &e);
    assert_non_null(c);
    assert_int_equal(plug_validate_params(p, c, params, n, &e), HX_EUSAGE);
    if (!strstr(e.msg, needle)) fail_msg("expected '%s' in: %s", needle, e.msg);
}

static void test_plug__validate_params(void **state)
{
    (void)state;
    plug_plugin *p = open_plugin("misbehave");
    hx_err e = {0};
    const hx_plugin_check *c = plug_find_check(p, "ok", &e);
    plan_param good[] = {P("who", "\"bob\""), P("n", "3"), P("loud", "true"),
                         P("keys", "[\"a\",\"b\"]"), P("extra", "{\"x\":[1]}")};
    assert_int_equal(plug_validate_params(p, c, good, 5, &e), 0);
    plan_param lone[] = {P("who", "\"bob\""), P("keys", "\"a\"")};
    assert_int_equal(plug_validate_params(p, c, lone, 2, &e), 0);

    plan_param unknown[] = {P("who", "\"bob\""), P("loudd", "true")};
    expect_invalid(p, "ok", unknown, 2, "no parameter 'loudd' (did you mean 'loud'?)");
    plan_param missing[] = {P("n", "3")};
    expect_invalid(p, "ok", missing, 1, "needs parameter 'who' (a string): who says hello");
    plan_param wrong[] = {P("who", "\"bob\""), P("n", "\"three\"")};
    expect_invalid(p, "ok", wrong, 2, "parameter 'n' must be a number");
    plan_param badlist[] = {P("who", "\"bob\""), P("keys", "[\"a\", 2]")};
    expect_invalid(p, "ok", badlist, 2, "parameter 'keys' must be a list of strings");
    plan_param badbool[] = {P("who", "\"bob\""), P("loud", "1")};
    expect_invalid(p, "ok", badbool, 2, "parameter 'loud' must be true or false");
    plan_param badjson[] = {P("who", "\"bob")};
    expect_invalid(p, "ok", badjson, 1, "parameter 'who' is not valid JSON");
    plan_param twice[] = {P("who", "\"a\""), P("who", "\"b\"")};
    expect_invalid(p, "ok", twice, 2, "parameter 'who' given twice");

    /* plug_run validates too, and turns a bad set into an error result, not a crash */
    plug_result r = run_check(p, "ok", wrong, 2, NULL);
    assert_int_equal(r.status, PLUG_ERROR);
    assert_non_null(strstr(r.message, "must be a number"));
    plug_result_release(&r);
    plug_close(p);
}

/* ---- running, isolated and not ---- */

static int fake_ledger(void *ud, const char *dataset, const char *agg, const char *column,
                       double *out, hx_err *e)
{
    (void)column;
    (*(int *)ud)++;
    if (strcmp(dataset, "orders") != 0 || strcmp(agg, "count") != 0)
        return hx_fail(e, HX_EUSAGE, "no such dataset");
    *out = 4242;
    return 0;
}

static int log_calls;
static void count_log(void *ud, const char *plugin, const char *check, int level, const char *text)
{
    (void)ud;
    (void)level;
    assert_string_equal(plugin, "misbehave");
    assert_string_equal(check, "ok");
    assert_string_equal(text, "hello bob");
    log_calls++;
}

static void check_ok_result(const plug_result *r, bool ledger)
{
    assert_int_equal(r->status, PLUG_PASS);
    assert_string_equal(r->expected, "even");
    assert_string_equal(r->actual, "6");
    assert_string_equal(r->message, ledger ? "bob said HELLO (sql no, ledger yes, topic no)"
                                           : "bob said HELLO (sql no, ledger no, topic no)");
    assert_int_equal(r->nsamples, 2);
    assert_int_equal(r->samples_total, 2);
    assert_string_equal(r->samples[0], "key a");
    assert_string_equal(r->samples[1], "key b");
    assert_int_equal(r->nlogs, 1);
    assert_string_equal(r->logs[0], "info: hello bob");
    assert_int_equal(r->nmetrics, ledger ? 2 : 1);
    assert_string_equal(r->metrics[0].name, "answer");
    assert_true(r->metrics[0].value == 6);
    if (ledger) {
        assert_string_equal(r->metrics[1].name, "ledger_count");
        assert_true(r->metrics[1].value == 4242);
    }
    assert_int_equal(r->nhists, 1);
    assert_string_equal(r->hists[0].name, "lat");
    assert_int_equal(r->hists[0].n, 5);
    assert_true(r->hists[0].values[4] == 2.0);
}

static void test_plug__ok_isolated_and_in_process(void **state)
{
    (void)state;
    plug_plugin *p = open_plugin("misbehave");
    plan_param params[] = {P("who", "\"bob\""), P("n", "3"), P("loud", "true"),
                           P("keys", "[\"a\",\"b\"]")};
    int ledger_calls = 0;
    for (int iso = 0; iso < 2; iso++) {
        log_calls = 0;
        plug_run_opts o = {.no_isolate = iso == 1,
                           .ledger = fake_ledger,
                           .ledger_ud = &ledger_calls,
                           .on_log = count_log};
        plug_result r = run_check(p, "ok", params, 4, &o);
        check_ok_result(&r, true);
        assert_int_equal(log_calls, 1);
        plug_result_release(&r);
        plug_run_opts bare = {.no_isolate = iso == 1};
        r = run_check(p, "ok", params, 4, &bare);
        check_ok_result(&r, false);
        plug_result_release(&r);
    }
    /* the in-process run called our ledger directly; the worker called its copy */
    assert_int_equal(ledger_calls, 1);
    plug_close(p);
}

static void test_plug__fail_result_is_cleaned(void **state)
{
    (void)state;
    plug_plugin *p = open_plugin("misbehave");
    for (int iso = 0; iso < 2; iso++) {
        plug_run_opts o = {.no_isolate = iso == 1};
        plug_result r = run_check(p, "fail", NULL, 0, &o);
        assert_int_equal(r.status, PLUG_FAIL);
        assert_string_equal(r.expected, "0");
        assert_string_equal(r.actual, "2");
        assert_string_equal(r.message, "two bad rows <script>");
        assert_int_equal(r.nsamples, 1);
        assert_string_equal(r.samples[0], "bad ?? utf8");
        plug_result_release(&r);
    }
    plug_close(p);
}

/* Each bad check gives an error naming what happened, and the next good check still passes. */
static void expect_contained(plug_plugin *p, const char *check, int64_t timeout_ms,
                             const char *needle)
{
    plug_run_opts o = {.timeout_ms = timeout_ms};
    plug_result r = run_check(p, check, NULL, 0, &o);
    assert_int_equal(r.status, PLUG_ERROR);
    if (!strstr(r.message, needle))
        fail_msg("check %s: expected '%s' in: %s", check, needle, r.message);
    assert_non_null(strstr(r.message, "misbehave."));
    plug_result_release(&r);

    plan_param params[] = {P("who", "\"bob\""), P("n", "3"), P("loud", "true"),
                           P("keys", "[\"a\",\"b\"]")};
    plug_run_opts ok = {0};
    r = run_check(p, "ok", params, 4, &ok);
    check_ok_result(&r, false);
    plug_result_release(&r);
}

static void test_plug__segfault_contained(void **state)
{
    (void)state;
    plug_plugin *p = open_plugin("misbehave");
    plug_run_opts o = {0};
    plug_result r = run_check(p, "segv", NULL, 0, &o);
    assert_non_null(strstr(r.message, "SIGSEGV"));
    /* lines logged before the crash survive it */
    assert_true(has_log(&r, "info: about to crash"));
    plug_result_release(&r);
    expect_contained(p, "segv", 0, "killed by signal SIGSEGV");
    expect_contained(p, "abort", 0, "killed by signal SIGABRT");
    plug_close(p);
}

static void test_plug__hang_times_out(void **state)
{
    (void)state;
    plug_plugin *p = open_plugin("misbehave");
    expect_contained(p, "hang", 300, "timed out after 300 ms");
    plug_close(p);
}

static void test_plug__exit_contained(void **state)
{
    (void)state;
    plug_plugin *p = open_plugin("misbehave");
    expect_contained(p, "exit3", 0, "exited with status 3 before reporting a result");
    plug_close(p);
}

static void test_plug__garbage_is_protocol_error(void **state)
{
    (void)state;
    plug_plugin *p = open_plugin("misbehave");
    expect_contained(p, "garbage", 0, "protocol error");
    plug_close(p);
}

static void test_plug__no_report_and_nonzero_return(void **state)
{
    (void)state;
    plug_plugin *p = open_plugin("misbehave");
    for (int iso = 0; iso < 2; iso++) {
        plug_run_opts o = {.no_isolate = iso == 1};
        plug_result r = run_check(p, "noreport", NULL, 0, &o);
        assert_int_equal(r.status, PLUG_ERROR);
        assert_non_null(strstr(r.message, "without reporting a result"));
        plug_result_release(&r);
        r = run_check(p, "error", NULL, 0, &o);
        assert_int_equal(r.status, PLUG_ERROR);
        assert_string_equal(r.message, "check returned 7: table is missing");
        plug_result_release(&r);
    }
    plug_close(p);
}

/* ---- built-in plugins against PostgreSQL ---- */

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

/* The set of sample prefixes (up to ':') joined with commas, in sample order. */
static void sample_keys(const plug_result *r, char *out, size_t len)
{
    out[0] = '\0';
    for (size_t i = 0; i < r->nsamples; i++) {
        size_t k = strcspn(r->samples[i], ":");
        size_t u = strlen(out);
        snprintf(out + u, len - u, "%s%.*s", i ? "," : "", (int)k, r->samples[i]);
    }
}

static void test_plug__example_against_postgres(void **state)
{
    (void)state;
    PGconn *c = pgfx_fresh_db("plug_example");
    exec_ok(c, "create table t as select g as id from generate_series(1, 250) g");
    exec_ok(c, "create view broken as select g from generate_series(1, 3) g where 1 / (g - g) = 0");
    plug_plugin *p = open_plugin("example");
    for (int iso = 0; iso < 2; iso++) {
        plug_run_opts o = {.conn = c, .no_isolate = iso == 1};
        plan_param pass[] = {P("table", "\"public.t\""), P("min", "250")};
        plug_result r = run_check(p, "min_rows", pass, 2, &o);
        assert_int_equal(r.status, PLUG_PASS);
        assert_string_equal(r.actual, "250");
        assert_string_equal(r.expected, ">= 250");
        plug_result_release(&r);
        plan_param fail[] = {P("table", "\"t\""), P("min", "300")};
        r = run_check(p, "min_rows", fail, 2, &o);
        assert_int_equal(r.status, PLUG_FAIL);
        assert_string_equal(r.message, "t has 250 rows, 50 short");
        plug_result_release(&r);
        /* a table the solution never created is a finding about the solution, whatever
         * status the plugin reported; any other SQL error stays an error of the check */
        plan_param missing[] = {P("table", "\"nope\"")};
        r = run_check(p, "min_rows", missing, 1, &o);
        assert_int_equal(r.status, PLUG_FAIL);
        assert_string_equal(r.actual, "missing");
        assert_non_null(strstr(r.message, "relation \"nope\" does not exist"));
        plug_result_release(&r);
        plan_param broken[] = {P("table", "\"broken\"")};
        r = run_check(p, "min_rows", broken, 1, &o);
        assert_int_equal(r.status, PLUG_ERROR);
        assert_non_null(strstr(r.message, "division by zero"));
        plug_result_release(&r);
    }
    /* the parent's connection is untouched by the workers */
    assert_string_equal(pgfx_scalar(c, "select count(*) from t"), "250");
    plug_close(p);
    PQfinish(c);
}

static void test_plug__quality_outliers_exact(void **state)
{
    (void)state;
    PGconn *c = pgfx_fresh_db("plug_quality");
    /* 1000 values spread evenly over [90, 110], then five planted outliers */
    exec_ok(c, "create table m as select g as id, (100 + (g * 37) % 21 - 10)::float8 as v "
               "from generate_series(1, 1000) g");
    exec_ok(c, "update m set v = 1000 where id in (17, 333, 512, 777)");
    exec_ok(c, "update m set v = -800 where id = 901");
    exec_ok(c, "insert into m values (1001, null)");
    plug_plugin *p = open_plugin("quality");
    plug_run_opts o = {.conn = c};
    char keys[512];

    plan_param z[] = {P("table", "\"m\""), P("column", "\"v\""), P("key", "\"id\"")};
    plug_result r = run_check(p, "zscore_outliers", z, 3, &o);
    assert_int_equal(r.status, PLUG_FAIL);
    assert_string_equal(r.actual, "5 outliers");
    sample_keys(&r, keys, sizeof keys);
    /* by |z| descending (-800 is a little farther from the mean than 1000), then key text */
    assert_string_equal(keys, "901,17,333,512,777");
    plug_result_release(&r);

    plan_param iqr[] = {P("table", "\"m\""), P("column", "\"v\""), P("key", "\"id\"")};
    r = run_check(p, "iqr_outliers", iqr, 3, &o);
    assert_int_equal(r.status, PLUG_FAIL);
    assert_string_equal(r.actual, "5 outliers");
    sample_keys(&r, keys, sizeof keys);
    assert_string_equal(keys, "17,333,512,777,901");
    plug_result_release(&r);

    plan_param tolerant[] = {P("table", "\"m\""), P("column", "\"v\""), P("max_outliers", "5")};
    r = run_check(p, "iqr_outliers", tolerant, 3, &o);
    assert_int_equal(r.status, PLUG_PASS);
    plug_result_release(&r);

    exec_ok(c, "delete from m where id in (17, 333, 512, 777, 901)");
    r = run_check(p, "zscore_outliers", z, 3, &o);
    assert_int_equal(r.status, PLUG_PASS);
    assert_string_equal(r.actual, "0 outliers");
    plug_result_release(&r);
    r = run_check(p, "iqr_outliers", iqr, 3, &o);
    assert_int_equal(r.status, PLUG_PASS);
    plug_result_release(&r);
    plug_close(p);
    PQfinish(c);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The outliers the generator planted (its ledger: the OUTLIERS bit of each emission) are exactly
 * what quality finds, with both methods: nothing more, nothing less. */
static void test_plug__quality_finds_the_planted_outliers(void **state)
{
    (void)state;
    plan_scenario *s = fx_scenario();
    plan_dataset *d = fx_dataset(s, "m", 3000, 20261123);
    fx_col(d, "id", PLAN_COL_SEQUENCE, PLAN_T_INT)->u.seq.step = 1;
    d->cols[0].u.seq.start = 1;
    d->key_col = 0;
    plan_column *v = fx_col(d, "v", PLAN_COL_INT, PLAN_T_INT);
    v->u.irange.min = 90;
    v->u.irange.max = 110;
    fx_fault(d, PLAN_F_OUTLIERS, 0.004, 1)->factor = 10;
    gen *g = NULL;
    hx_err e = {0};
    assert_int_equal(gen_new(s, &g, &e), 0);

    PGconn *c = pgfx_fresh_db("plug_planted");
    exec_ok(c, "create table m (id bigint, v bigint)");
    PGresult *res = PQexec(c, "copy m from stdin");
    assert_int_equal(PQresultStatus(res), PGRES_COPY_IN);
    PQclear(res);
    int64_t planted[64];
    size_t nplanted = 0;
    gen_cursor cur;
    assert_int_equal(gen_cursor_init(&cur, g, 0, -1, &e), 0);
    const gen_record *r;
    while (gen_cursor_next(&cur, &r, &e) == 1) {
        char line[64];
        int n = snprintf(line, sizeof line, "%lld\t%lld\n", (long long)r->vals[0].i,
                         (long long)r->vals[1].i);
        assert_int_equal(PQputCopyData(c, line, n), 1);
        if (r->faults & (1u << PLAN_F_OUTLIERS)) {
            assert_true(nplanted < 64);
            planted[nplanted++] = r->vals[0].i;
        }
    }
    gen_cursor_release(&cur);
    assert_int_equal(PQputCopyEnd(c, NULL), 1);
    res = PQgetResult(c);
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    /* enough to mean something, few enough that every one is a kept sample */
    assert_in_range(nplanted, 3, 20);
    qsort(planted, nplanted, sizeof *planted, cmp_i64);

    plug_plugin *p = open_plugin("quality");
    plug_run_opts o = {.conn = c};
    const char *methods[] = {"zscore_outliers", "iqr_outliers"};
    for (size_t m = 0; m < 2; m++) {
        plan_param params[] = {P("table", "\"m\""), P("column", "\"v\""), P("key", "\"id\"")};
        plug_result pr = run_check(p, methods[m], params, 3, &o);
        assert_int_equal(pr.status, PLUG_FAIL);
        char want[64];
        snprintf(want, sizeof want, "%zu outliers", nplanted);
        assert_string_equal(pr.actual, want);
        assert_int_equal(pr.nsamples, nplanted);
        int64_t found[64];
        for (size_t i = 0; i < pr.nsamples; i++)
            found[i] = strtoll(pr.samples[i], NULL, 10);
        qsort(found, pr.nsamples, sizeof *found, cmp_i64);
        assert_memory_equal(found, planted, nplanted * sizeof *planted);
        plug_result_release(&pr);
    }
    plug_close(p);
    PQfinish(c);
    gen_free(g);
    fx_free(s);
}

static void test_plug__quality_drift_and_nulls(void **state)
{
    (void)state;
    PGconn *c = pgfx_fresh_db("plug_drift");
    /* batch a and b: the same distribution; c: shifted by 8 of a 20-wide range */
    exec_ok(c, "create table d as select b, (100 + (g * 37) % 21 - 10 + "
               "case when b = 'c' then 8 else 0 end)::float8 as v, "
               "case when b = 'a' and g % 50 = 0 then null when b = 'c' and g % 5 = 0 then null "
               "when b = 'b' and g % 33 = 0 then null else 1 end as x "
               "from unnest(array['a','b','c']) b, generate_series(1, 1000) g");
    plug_plugin *p = open_plugin("quality");
    plug_run_opts o = {.conn = c};
    const char *methods[] = {"\"psi\"", "\"ks\""};
    for (int m = 0; m < 2; m++) {
        plan_param same[] = {P("table", "\"d\""),        P("column", "\"v\""),
                             P("batch_column", "\"b\""), P("baseline", "\"a\""),
                             P("current", "\"b\""),      P("method", methods[m])};
        plug_result r = run_check(p, "drift", same, 6, &o);
        assert_int_equal(r.status, PLUG_PASS);
        assert_string_equal(r.actual, m ? "ks = 0.0000" : "psi = 0.0000");
        plug_result_release(&r);
        plan_param shifted[] = {P("table", "\"d\""),        P("column", "\"v\""),
                                P("batch_column", "\"b\""), P("baseline", "\"a\""),
                                P("current", "\"c\""),      P("method", methods[m])};
        r = run_check(p, "drift", shifted, 6, &o);
        assert_int_equal(r.status, PLUG_FAIL);
        assert_non_null(strstr(r.message, "drifted from batch 'a' to batch 'c'"));
        plug_result_release(&r);
    }
    /* KS against a brute-force oracle: the largest ECDF gap over every observed value */
    double oracle = 0;
    for (int xs = 80; xs <= 130; xs++) {
        int na = 0, nc = 0;
        for (int g = 1; g <= 1000; g++) {
            int a = 100 + (g * 37) % 21 - 10;
            na += a <= xs;
            nc += a + 8 <= xs;
        }
        double d = (na - nc) / 1000.0;
        if (d > oracle) oracle = d;
    }
    plan_param ks[] = {P("table", "\"d\""),    P("column", "\"v\""),  P("batch_column", "\"b\""),
                       P("baseline", "\"a\""), P("current", "\"c\""), P("method", "\"ks\"")};
    plug_result r = run_check(p, "drift", ks, 6, &o);
    char want[64];
    snprintf(want, sizeof want, "ks = %.4f", oracle);
    assert_string_equal(r.actual, want);
    plug_result_release(&r);

    /* null rates: a 2%, b 3.0%, c 20% */
    plan_param stable[] = {P("table", "\"d\""), P("column", "\"x\""), P("batch_column", "\"b\""),
                           P("baseline", "\"a\""), P("current", "\"b\"")};
    r = run_check(p, "null_rate_change", stable, 5, &o);
    assert_int_equal(r.status, PLUG_PASS);
    assert_string_equal(r.actual, "0.0200 -> 0.0300 (+0.0100)");
    plug_result_release(&r);
    plan_param jump[] = {P("table", "\"d\""), P("column", "\"x\""), P("batch_column", "\"b\""),
                         P("baseline", "\"a\""), P("current", "\"c\"")};
    r = run_check(p, "null_rate_change", jump, 5, &o);
    assert_int_equal(r.status, PLUG_FAIL);
    assert_string_equal(r.actual, "0.0200 -> 0.2000 (+0.1800)");
    plug_result_release(&r);
    plan_param nobatch[] = {P("table", "\"d\""), P("column", "\"x\""), P("batch_column", "\"b\""),
                            P("baseline", "\"a\""), P("current", "\"zz\"")};
    r = run_check(p, "null_rate_change", nobatch, 5, &o);
    assert_int_equal(r.status, PLUG_ERROR);
    assert_string_equal(r.message, "batch 'zz' has no rows");
    plug_result_release(&r);
    plug_close(p);
    PQfinish(c);
}

static void test_plug__star_schema_grain_and_orphans(void **state)
{
    (void)state;
    PGconn *c = pgfx_fresh_db("plug_star");
    exec_ok(c, "create table dim_product as select g as product_id from generate_series(1, 50) g");
    exec_ok(c, "create table fct as select g as order_id, 1 as line, (g % 50) + 1 as product_id "
               "from generate_series(1, 500) g");
    /* planted: (10,1) three times, (42,1) twice; orphans 77 x3 and 99 x1; one NULL key */
    exec_ok(c, "insert into fct values (10, 1, 5), (10, 1, 6), (42, 1, 7), (601, 1, 77), "
               "(602, 1, 77), (603, 1, 77), (604, 1, 99), (605, 1, null)");
    plug_plugin *p = open_plugin("star_schema");
    plug_run_opts o = {.conn = c};
    char keys[512];

    plan_param grain[] = {P("table", "\"fct\""), P("keys", "[\"order_id\", \"line\"]")};
    plug_result r = run_check(p, "fact_grain", grain, 2, &o);
    assert_int_equal(r.status, PLUG_FAIL);
    assert_string_equal(r.actual, "2 duplicated keys over 5 rows");
    assert_int_equal(r.nsamples, 2);
    assert_string_equal(r.samples[0], "10, 1: 3 rows");
    assert_string_equal(r.samples[1], "42, 1: 2 rows");
    plug_result_release(&r);

    plan_param orphans[] = {P("table", "\"fct\""), P("column", "\"product_id\""),
                            P("dimension", "\"dim_product\"")};
    r = run_check(p, "orphan_keys", orphans, 3, &o);
    assert_int_equal(r.status, PLUG_FAIL);
    assert_string_equal(r.actual, "2 orphan keys in 4 rows");
    sample_keys(&r, keys, sizeof keys);
    assert_string_equal(keys, "product_id = 77,product_id = 99");
    plug_result_release(&r);
    plan_param nulls[] = {P("table", "\"fct\""), P("column", "\"product_id\""),
                          P("dimension", "\"dim_product\""), P("nulls_are_orphans", "true")};
    r = run_check(p, "orphan_keys", nulls, 4, &o);
    assert_string_equal(r.actual, "3 orphan keys in 5 rows");
    plug_result_release(&r);

    exec_ok(c, "delete from fct where order_id > 600 or (order_id in (10, 42) and product_id <> "
               "(order_id % 50) + 1)");
    r = run_check(p, "fact_grain", grain, 2, &o);
    assert_int_equal(r.status, PLUG_PASS);
    plug_result_release(&r);
    r = run_check(p, "orphan_keys", orphans, 3, &o);
    assert_int_equal(r.status, PLUG_PASS);
    assert_string_equal(r.actual, "0 orphan keys");
    plug_result_release(&r);
    plug_close(p);
    PQfinish(c);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Stream dataset ds of g into table `table` (columns in order, all bigint) with COPY. */
static void copy_dataset(PGconn *c, gen *g, size_t ds, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "copy %s from stdin", table);
    PGresult *res = PQexec(c, sql);
    assert_int_equal(PQresultStatus(res), PGRES_COPY_IN);
    PQclear(res);
    gen_cursor cur;
    hx_err e = {0};
    assert_int_equal(gen_cursor_init(&cur, g, ds, -1, &e), 0);
    const gen_record *r;
    while (gen_cursor_next(&cur, &r, &e) == 1) {
        char line[128];
        int n = 0;
        for (size_t i = 0; i < r->ncols; i++)
            n += snprintf(line + n, sizeof line - (size_t)n, "%s%lld", i ? "\t" : "",
                          (long long)r->vals[i].i);
        line[n++] = '\n';
        assert_int_equal(PQputCopyData(c, line, n), 1);
    }
    gen_cursor_release(&cur);
    assert_int_equal(PQputCopyEnd(c, NULL), 1);
    res = PQgetResult(c);
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
}

/* The duplicate grain keys and orphan foreign keys the generator planted (its ledger: the
 * DUPLICATE and ORPHANS bits) are exactly what star_schema reports. */
static void test_plug__star_schema_finds_the_planted_faults(void **state)
{
    (void)state;
    plan_scenario *s = fx_scenario();
    plan_dataset *dim = fx_dataset(s, "dim_customer", 200, 11);
    fx_col(dim, "customer_id", PLAN_COL_SEQUENCE, PLAN_T_INT)->u.seq.step = 1;
    plan_dataset *f = fx_dataset(s, "fct", 3000, 12);
    fx_col(f, "order_id", PLAN_COL_SEQUENCE, PLAN_T_INT)->u.seq.step = 1;
    f->key_col = 0;
    plan_column *fk = fx_col(f, "customer_id", PLAN_COL_FK, PLAN_T_INT);
    fk->u.fk.dataset = 0;
    fk->u.fk.column = 0;
    plan_fault *dup = fx_fault(f, PLAN_F_DUPLICATE, 0.004, -1);
    dup->gap = 7;
    dup->changed = 0;
    fx_fault(f, PLAN_F_ORPHANS, 0.004, -1);
    gen *g = NULL;
    hx_err e = {0};
    assert_int_equal(gen_new(s, &g, &e), 0);

    PGconn *c = pgfx_fresh_db("plug_star_planted");
    exec_ok(c, "create table dim_customer (customer_id bigint)");
    exec_ok(c, "create table fct (order_id bigint, customer_id bigint)");
    copy_dataset(c, g, 0, "dim_customer");
    copy_dataset(c, g, 1, "fct");

    /* what the ledger says: copies (one per duplicated order) and orphan rows and keys */
    char *grain[32], *orphan_keys[32];
    size_t ngrain = 0, norphan_keys = 0, norphan_rows = 0;
    gen_cursor cur;
    assert_int_equal(gen_cursor_init(&cur, g, 1, -1, &e), 0);
    const gen_record *r;
    while (gen_cursor_next(&cur, &r, &e) == 1) {
        char buf[64];
        if (r->copy) {
            assert_true(ngrain < 32);
            snprintf(buf, sizeof buf, "%lld: 2 rows", (long long)r->vals[0].i);
            grain[ngrain++] = strdup(buf);
        }
        if (r->faults & (1u << PLAN_F_ORPHANS)) {
            norphan_rows++;
            snprintf(buf, sizeof buf, "customer_id = %lld", (long long)r->vals[1].i);
            bool seen = false;
            for (size_t i = 0; i < norphan_keys; i++)
                seen |= strcmp(orphan_keys[i], buf) == 0;
            if (!seen) {
                assert_true(norphan_keys < 32);
                orphan_keys[norphan_keys++] = strdup(buf);
            }
        }
    }
    gen_cursor_release(&cur);
    assert_in_range(ngrain, 3, 20);
    assert_in_range(norphan_keys, 3, 20);
    qsort(grain, ngrain, sizeof *grain, cmp_str);
    qsort(orphan_keys, norphan_keys, sizeof *orphan_keys, cmp_str);

    plug_plugin *p = open_plugin("star_schema");
    plug_run_opts o = {.conn = c};
    char want[64];
    plan_param gp[] = {P("table", "\"fct\""), P("keys", "[\"order_id\"]")};
    plug_result pr = run_check(p, "fact_grain", gp, 2, &o);
    assert_int_equal(pr.status, PLUG_FAIL);
    snprintf(want, sizeof want, "%zu duplicated keys over %zu rows", ngrain, 2 * ngrain);
    assert_string_equal(pr.actual, want);
    assert_int_equal(pr.nsamples, ngrain);
    qsort(pr.samples, pr.nsamples, sizeof *pr.samples, cmp_str);
    for (size_t i = 0; i < ngrain; i++)
        assert_string_equal(pr.samples[i], grain[i]);
    plug_result_release(&pr);

    plan_param op[] = {P("table", "\"fct\""), P("column", "\"customer_id\""),
                       P("dimension", "\"dim_customer\"")};
    pr = run_check(p, "orphan_keys", op, 3, &o);
    assert_int_equal(pr.status, PLUG_FAIL);
    snprintf(want, sizeof want, "%zu orphan keys in %zu rows", norphan_keys, norphan_rows);
    assert_string_equal(pr.actual, want);
    assert_int_equal(pr.nsamples, norphan_keys);
    for (size_t i = 0; i < pr.nsamples; i++) /* a sample may add detail after the key */
        pr.samples[i][strcspn(pr.samples[i], ":")] = '\0';
    qsort(pr.samples, pr.nsamples, sizeof *pr.samples, cmp_str);
    for (size_t i = 0; i < norphan_keys; i++)
        assert_string_equal(pr.samples[i], orphan_keys[i]);
    plug_result_release(&pr);

    for (size_t i = 0; i < ngrain; i++)
        free(grain[i]);
    for (size_t i = 0; i < norphan_keys; i++)
        free(orphan_keys[i]);
    plug_close(p);
    PQfinish(c);
    gen_free(g);
    fx_free(s);
}

static void test_plug__star_schema_scd2_exact(void **state)
{
    (void)state;
    PGconn *c = pgfx_fresh_db("plug_scd2");
    /* 100 customers, two clean versions each */
    exec_ok(c, "create table dim_customer as select g as customer_id, v, "
               "case v when 1 then date '2024-01-01' else date '2024-02-01' end as valid_from, "
               "case v when 1 then date '2024-02-01' else null end as valid_to "
               "from generate_series(1, 100) g, generate_series(1, 2) v");
    plug_plugin *p = open_plugin("star_schema");
    plug_run_opts o = {.conn = c};
    plan_param scd[] = {P("table", "\"dim_customer\""), P("keys", "\"customer_id\"")};
    plug_result r = run_check(p, "scd2", scd, 2, &o);
    assert_int_equal(r.status, PLUG_PASS);
    assert_string_equal(r.actual, "0 violations");
    plug_result_release(&r);

    /* planted: 7 overlaps, 13 has a gap, 21 has two current versions, 34 none, 55 an empty one */
    exec_ok(c, "update dim_customer set valid_from = '2024-01-15' where customer_id = 7 and v = 2");
    exec_ok(c,
            "update dim_customer set valid_from = '2024-02-10' where customer_id = 13 and v = 2");
    exec_ok(c, "insert into dim_customer values (21, 3, '2024-03-01', null)");
    exec_ok(c, "update dim_customer set valid_to = '2024-03-01' where customer_id = 34 and v = 2");
    exec_ok(c, "insert into dim_customer values (55, 3, '2024-02-01', '2024-02-01')");
    r = run_check(p, "scd2", scd, 2, &o);
    assert_int_equal(r.status, PLUG_FAIL);
    assert_string_equal(r.actual, "6 violations (1 empty_range, 1 gap, 1 multiple_current, "
                                  "1 no_current, 2 overlap)");
    assert_int_equal(r.nsamples, 6);
    assert_string_equal(r.samples[0], "55: empty_range [2024-02-01, 2024-02-01)");
    assert_string_equal(r.samples[1], "13: gap from 2024-02-01 to 2024-02-10");
    assert_string_equal(r.samples[2], "21: multiple_current, 2 current versions");
    assert_string_equal(r.samples[3], "34: no_current version");
    assert_string_equal(r.samples[4], "21: overlap, version 2024-02-01 .. open overlaps the next "
                                      "from 2024-03-01");
    assert_string_equal(r.samples[5], "7: overlap, version 2024-01-01 .. 2024-02-01 overlaps the "
                                      "next from 2024-01-15");
    plug_result_release(&r);

    plan_param lenient[] = {P("table", "\"dim_customer\""), P("keys", "[\"customer_id\"]"),
                            P("allow_no_current", "true")};
    r = run_check(p, "scd2", lenient, 3, &o);
    assert_int_equal(r.status, PLUG_FAIL);
    assert_non_null(strstr(r.actual, "5 violations"));
    assert_null(strstr(r.actual, "no_current"));
    plug_result_release(&r);
    plug_close(p);
    PQfinish(c);
}

int main(void)
{
    dirs_init();
    const struct CMUnitTest loader[] = {
        cmocka_unit_test(test_plug__wrong_abi_refused),
        cmocka_unit_test(test_plug__missing_file_names_dirs_and_hint),
        cmocka_unit_test(test_plug__missing_symbol),
        cmocka_unit_test(test_plug__init_failure_unloads),
        cmocka_unit_test(test_plug__load_example_and_describe),
        cmocka_unit_test(test_plug__search_order_and_standard_path),
        cmocka_unit_test(test_plug__open_survives_allocation_failures),
        cmocka_unit_test(test_plug__init_crash_is_a_load_error),
        cmocka_unit_test(test_plug__constructors_run_in_workers_only),
        cmocka_unit_test(test_plug__daemons_die_with_their_worker),
        cmocka_unit_test(test_plug__validate_params),
        cmocka_unit_test(test_plug__ok_isolated_and_in_process),
        cmocka_unit_test(test_plug__fail_result_is_cleaned),
        cmocka_unit_test(test_plug__segfault_contained),
        cmocka_unit_test(test_plug__hang_times_out),
        cmocka_unit_test(test_plug__exit_contained),
        cmocka_unit_test(test_plug__garbage_is_protocol_error),
        cmocka_unit_test(test_plug__no_report_and_nonzero_return),
    };
    const struct CMUnitTest pg[] = {
        cmocka_unit_test(test_plug__example_against_postgres),
        cmocka_unit_test(test_plug__quality_outliers_exact),
        cmocka_unit_test(test_plug__quality_finds_the_planted_outliers),
        cmocka_unit_test(test_plug__star_schema_finds_the_planted_faults),
        cmocka_unit_test(test_plug__quality_drift_and_nulls),
        cmocka_unit_test(test_plug__star_schema_grain_and_orphans),
        cmocka_unit_test(test_plug__star_schema_scd2_exact),
    };
    int failed = cmocka_run_group_tests_name("plug_loader", loader, NULL, NULL);
    if (getenv("HX_PLUG_ONLY_LOADER")) return failed;
    return failed + cmocka_run_group_tests_name("plug_postgres", pg, pgfx_setup, pgfx_teardown);
}
