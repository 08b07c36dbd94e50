/* test_solution.c - solution.json parsing: every key, the error messages, durations, OOM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "solution.h"

static int parse(const char *json, solution_spec *s, hx_err *e)
{
    memset(e, 0, sizeof *e);
    return solution_parse(json, strlen(json), "ws/solution.json", s, e);
}

static void test_solution__full(void **state)
{
    (void)state;
    solution_spec s;
    hx_err e;
    assert_int_equal(parse("{\"name\":\"setbased\",\"build\":\"make\",\"batch\":\"./run.sh\","
                           "\"service\":{\"command\":\"./serve\",\"ready\":{\"stdout\":\"listening "
                           "on [0-9]+\",\"timeout\":\"5s\"}},"
                           "\"env\":{\"A\":\"1\",\"B\":\"two\"},\"timeout\":\"120s\"}",
                           &s, &e),
                     0);
    assert_string_equal(s.name, "setbased");
    assert_string_equal(s.build, "make");
    assert_string_equal(s.batch, "./run.sh");
    assert_string_equal(s.service, "./serve");
    assert_int_equal(s.ready.kind, SOLUTION_READY_STDOUT);
    assert_string_equal(s.ready.pattern, "listening on [0-9]+");
    assert_int_equal(s.ready.timeout_us, 5000000);
    assert_int_equal(s.n_env, 2);
    assert_string_equal(s.env[0].key, "A");
    assert_string_equal(s.env[0].val, "1");
    assert_string_equal(s.env[1].key, "B");
    assert_string_equal(s.env[1].val, "two");
    assert_int_equal(s.timeout_us, 120000000);
    solution_release(&s);
    assert_null(s.name);
}

static void test_solution__ready_kinds(void **state)
{
    (void)state;
    solution_spec s;
    hx_err e;
    assert_int_equal(
        parse("{\"name\":\"n\",\"service\":{\"command\":\"x\",\"ready\":{\"tcp\":8080}}}", &s, &e),
        0);
    assert_int_equal(s.ready.kind, SOLUTION_READY_TCP);
    assert_int_equal(s.ready.port, 8080);
    assert_int_equal(s.ready.timeout_us, 60000000);
    assert_null(s.batch);
    solution_release(&s);
    assert_int_equal(
        parse("{\"name\":\"n\",\"service\":{\"command\":\"x\",\"ready\":{\"delay\":\"2s\"}}}", &s,
              &e),
        0);
    assert_int_equal(s.ready.kind, SOLUTION_READY_DELAY);
    assert_int_equal(s.ready.delay_us, 2000000);
    solution_release(&s);
    assert_int_equal(parse("{\"name\":\"n\",\"service\":{\"command\":\"x\"}}", &s, &e), 0);
    assert_int_equal(s.ready.kind, SOLUTION_READY_NONE);
    assert_int_equal(s.drain_us, 10000000); /* the default drain */
    solution_release(&s);
    assert_int_equal(
        parse("{\"name\":\"n\",\"service\":{\"command\":\"x\",\"drain\":\"3s\"}}", &s, &e), 0);
    assert_int_equal(s.drain_us, 3000000);
    solution_release(&s);
    /* Limits: the defaults where absent, sizes in the units the plan reads. */
    assert_int_equal(parse("{\"name\":\"n\",\"batch\":\"x\"}", &s, &e), 0);
    assert_true(s.limits.memory_bytes == SOLUTION_MEMORY_DEFAULT);
    assert_int_equal(s.limits.processes, SOLUTION_PROCESSES_DEFAULT);
    assert_true(s.limits.disk_bytes == SOLUTION_DISK_DEFAULT);
    solution_release(&s);
    assert_int_equal(parse("{\"name\":\"n\",\"batch\":\"x\",\"limits\":{\"memory\":\"512MiB\","
                           "\"processes\":64}}",
                           &s, &e),
                     0);
    assert_true(s.limits.memory_bytes == 512ULL << 20);
    assert_int_equal(s.limits.processes, 64);
    assert_true(s.limits.disk_bytes == SOLUTION_DISK_DEFAULT);
    solution_release(&s);
}

static void expect_error(const char *json, const char *needle)
{
    solution_spec s;
    hx_err e;
    int rc = parse(json, &s, &e);
    if (rc != HX_EUSAGE || !strstr(e.msg, needle))
        fail_msg("for %s\n  got rc %d '%s'\n  want '%s'", json, rc, e.msg, needle);
    assert_null(s.name);
    assert_null(s.env);
}

static void test_solution__errors(void **state)
{
    (void)state;
    expect_error("{\"name\":\"n\",\"bacth\":\"x\"}",
                 "ws/solution.json: top level: unknown key 'bacth' (did you mean 'batch'?)");
    expect_error("{\"name\":\"n\",\"batch\":5}", "ws/solution.json: .batch: expected a string");
    expect_error("{\"name\":\"n\",\"batch\":\"x\",\"timeout\":\"soon\"}",
                 ".timeout: 'soon' is not a duration");
    expect_error("{\"batch\":\"x\"}", ".name: missing");
    expect_error("{\"name\":\"n\"}", "give a \"batch\" command, a \"service\" object, or both");
    expect_error("{\"name\":\"n\",\"service\":{\"command\":\"x\",\"ready\":{\"stdot\":1}}}",
                 ".service.ready: unknown key 'stdot' (did you mean 'stdout'?)");
    expect_error("{\"name\":\"n\",\"service\":{\"command\":\"x\",\"ready\":{\"tcp\":70000}}}",
                 "port 70000 is out of range");
    expect_error("{\"name\":\"n\",\"service\":{\"command\":\"x\",\"ready\":{\"tcp\":1,\"delay\":"
                 "\"1s\"}}}",
                 "exactly one of");
    expect_error("{\"name\":\"n\",\"batch\":\"x\",\"env\":{\"A\":1}}", ".env.A: expected a string");
    expect_error("{\"name\":\"n\",\"batch\":\"x\",\"env\":[]}", ".env: expected an object");
    expect_error("{\"name\":\"n\",\"batch\":\"x\",", "ws/solution.json:1:");
    expect_error("[1]", "expected a JSON object");
    expect_error("{\"name\":\"n\",\"batch\":\"x\",\"batch\":\"y\"}", "duplicate");
    expect_error("{\"name\":\"n\",\"service\":\"x\"}", ".service: expected an object");
    expect_error(
        "{\"name\":\"n\",\"zzzzzzzzzz\":1,\"batch\":\"x\"}",
        "unknown key 'zzzzzzzzzz' (known keys: name, build, batch, service, env, timeout, limits)");
    expect_error("{\"name\":\"n\",\"batch\":\"x\",\"limits\":{\"memory\":\"lots\"}}",
                 ".limits.memory: expected a size like \"2GiB\"");
    expect_error("{\"name\":\"n\",\"batch\":\"x\",\"limits\":{\"memory\":\"64GiB\"}}",
                 ".limits.memory: 68719476736 bytes is over the cap of 32 GiB");
    expect_error("{\"name\":\"n\",\"batch\":\"x\",\"limits\":{\"processes\":100000}}",
                 ".limits.processes: 100000 is over the cap of 8192");
    expect_error("{\"name\":\"n\",\"batch\":\"x\",\"limits\":{\"dsk\":1}}",
                 ".limits: unknown key 'dsk' (did you mean 'disk'?)");
}

static void test_solution__durations(void **state)
{
    (void)state;
    int64_t us;
    assert_true(solution_parse_duration("120s", &us));
    assert_int_equal(us, 120000000);
    assert_true(solution_parse_duration("500ms", &us));
    assert_int_equal(us, 500000);
    assert_true(solution_parse_duration("1.5s", &us));
    assert_int_equal(us, 1500000);
    assert_true(solution_parse_duration("2m", &us));
    assert_int_equal(us, 120000000);
    assert_true(solution_parse_duration("1h", &us));
    assert_int_equal(us, 3600000000LL);
    assert_true(solution_parse_duration("250us", &us));
    assert_int_equal(us, 250);
    assert_true(solution_parse_duration("3", &us));
    assert_int_equal(us, 3000000);
    assert_false(solution_parse_duration("", &us));
    assert_false(solution_parse_duration("-1s", &us));
    assert_false(solution_parse_duration("5 s", &us));
    assert_false(solution_parse_duration("5d", &us));
    assert_false(solution_parse_duration("nan", &us));
    assert_false(solution_parse_duration("1e300s", &us));
}

static void test_solution__load(void **state)
{
    (void)state;
    char dir[] = "/tmp/hx_solution_XXXXXX";
    assert_non_null(mkdtemp(dir));
    solution_spec s;
    hx_err e = {0};
    assert_int_equal(solution_load(dir, &s, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "solution.json' not found"));
    char path[256];
    snprintf(path, sizeof path, "%s/solution.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"name\":\"rowbyrow\",\"batch\":\"python3 etl.py\"}", f);
    fclose(f);
    assert_int_equal(solution_load(dir, &s, &e), 0);
    assert_string_equal(s.batch, "python3 etl.py");
    solution_release(&s);
    f = fopen(path, "w");
    fputs("{\"name\":\"rowbyrow\",\"batch\":[]}", f);
    fclose(f);
    assert_int_equal(solution_load(dir, &s, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "/solution.json: .batch: expected a string"));
    unlink(path);
    rmdir(dir);
}

/* Every allocation failure is reported as HX_ENOMEM and leaks nothing (ASan checks the leaks). */
static void test_solution__oom(void **state)
{
    (void)state;
    const char *json = "{\"name\":\"n\",\"build\":\"b\",\"batch\":\"x\",\"service\":{\"command\":"
                       "\"s\",\"ready\":{\"stdout\":\"p\"}},\"env\":{\"A\":\"1\",\"B\":\"2\"}}";
    int failures = 0;
    for (long n = 0; n < 200; n++) {
        solution_spec s;
        hx_err e;
        hx_alloc_fail_after(n);
        int rc = parse(json, &s, &e);
        hx_alloc_fail_after(-1);
        if (rc == 0) {
            solution_release(&s);
            break;
        }
        assert_int_equal(rc, HX_ENOMEM);
        failures++;
    }
    assert_true(failures >= 9); /* name, build, batch, service, pattern, env array, 2 x 2 strings */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_solution__full),   cmocka_unit_test(test_solution__ready_kinds),
        cmocka_unit_test(test_solution__errors), cmocka_unit_test(test_solution__durations),
        cmocka_unit_test(test_solution__load),   cmocka_unit_test(test_solution__oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
