/* test_check_kind.c - the check kinds table is open: a kind defined here, outside the check
 * module, registered with chk_kind_register(), becomes a DSL constructor whose keys, flags and
 * validate hook the scenario engine applies (unknown keys with a did-you-mean, a missing table,
 * the kind's own rule with file:line), whose name reports read, and which chk_run dispatches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "check.h"
#include "scen.h"

static int dummy_id = -1;
static int dummy_runs;

/* The dummy kind passes when its table is "good" and says its level. */
static void run_dummy(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    (void)ctx;
    dummy_runs++;
    const char *level = chk_param_json(c, "level");
    if (strcmp(c->table, "good") == 0)
        chk_set_outcome(o, CHK_PASS, "level %s", level ? level : "none");
    else
        chk_set_outcome(o, CHK_FAIL, "table %s is not good", c->table);
}

static int validate_dummy(const plan_check *c, const plan_scenario *s, char *err, size_t n)
{
    (void)s;
    const char *level = chk_param_json(c, "level");
    if (level && atoi(level) > 10) return snprintf(err, n, "level: at most 10, got %s", level), -1;
    return 0;
}

static const chk_kind dummy_kind = {
    .name = "dummy",
    .keys = (const char *const[]){"table", "level", NULL},
    .flags = CHK_K_NEEDS_TABLE,
    .run = run_dummy,
    .validate = validate_dummy,
    .summary = "a test's kind",
};

static char tmpdir[64];

static int setup_all(void **state)
{
    (void)state;
    hx_err e = {0};
    dummy_id = chk_kind_register(&dummy_kind, &e);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hx_kind_XXXXXX");
    return dummy_id >= 0 && mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_all(void **state)
{
    (void)state;
    hx_rm_rf(tmpdir);
    return 0;
}

static const char ds[] = "local d = dataset { rows = 5, key = 'id', columns = { { 'id', "
                         "'sequence' } } }\n";

/* Load scenario source src (after ds) from a file; returns the scen (caller frees) and rc. */
static scen *load(const char *checks, int *rc, hx_err *e, char *path, size_t n)
{
    static int k;
    char src[1024];
    snprintf(src, sizeof src,
             "%sreturn scenario { name = 'k', datasets = { d = d },\n  checks = { %s } }\n", ds,
             checks);
    snprintf(path, n, "%s/s%d.lua", tmpdir, k++);
    assert_int_equal(hx_write_atomic(path, src, strlen(src), e), 0);
    scen *s = NULL;
    assert_int_equal(scen_new(NULL, &s, e), 0);
    *rc = scen_load_file(s, path, e);
    return s;
}

static void test_check_kind__registered_kind_is_a_dsl_constructor(void **state)
{
    (void)state;
    assert_true(dummy_id >= PLAN_CHK__BUILTIN);
    assert_int_equal(chk_kind_find("dummy"), dummy_id);
    assert_string_equal(chk_kind_name((plan_check_kind)dummy_id), "dummy");
    hx_err e = {0};
    char path[128];
    int rc;
    scen *s = load("dummy { table = 'good', level = 3 }, dummy { table = 'bad' }", &rc, &e, path,
                   sizeof path);
    if (rc) fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, 0);
    const plan_scenario *sc = &scen_pack(s)->scenarios[0];
    assert_int_equal(sc->nchecks, 2);
    const plan_check *c = &sc->checks[0];
    assert_int_equal(c->kind, dummy_id);
    assert_string_equal(c->name, "dummy good"); /* the default name reads the table */
    assert_string_equal(sc->checks[1].name, "dummy bad");
    assert_int_equal(c->nparams, 1); /* level is the kind's own option: a parameter */
    assert_string_equal(c->params[0].key, "level");
    assert_string_equal(c->params[0].json, "3");

    chk_ctx ctx = {.s = sc};
    chk_outcome o;
    dummy_runs = 0;
    chk_run(&ctx, c, &o);
    assert_int_equal(o.status, CHK_PASS);
    assert_string_equal(o.message, "level 3");
    chk_outcome_release(&o);
    chk_run(&ctx, &sc->checks[1], &o);
    assert_int_equal(o.status, CHK_FAIL);
    chk_outcome_release(&o);
    assert_int_equal(dummy_runs, 2);
    scen_free(s);
}

/* rc is a scenario error naming path:line 3 (the checks line) and needle. */
static void expect_refused(const char *checks, const char *needle)
{
    hx_err e = {0};
    char path[128], at[160];
    int rc;
    scen *s = load(checks, &rc, &e, path, sizeof path);
    scen_free(s);
    if (rc != HX_EUSAGE || !strstr(e.msg, needle)) fprintf(stderr, "got %d: %s\n", rc, e.msg);
    assert_int_equal(rc, HX_EUSAGE);
    assert_non_null(strstr(e.msg, needle));
    snprintf(at, sizeof at, "%s:3:", path);
    assert_non_null(strstr(e.msg, at));
}

static void test_check_kind__registered_kind_is_validated(void **state)
{
    (void)state;
    expect_refused("dummy { table = 'good', levle = 3 }",
                   "dummy: unknown key 'levle' (did you mean 'level'?)");
    expect_refused("dummy { level = 3 }", "dummy.table: required");
    expect_refused("dummy { table = 'good', level = 11 }", "dummy.level: at most 10, got 11");
}

static void test_check_kind__names_are_taken_once(void **state)
{
    (void)state;
    hx_err e = {0};
    chk_kind again = dummy_kind;
    assert_int_equal(chk_kind_register(&again, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "'dummy' exists already"));
    chk_kind unique = dummy_kind;
    unique.name = "unique";
    assert_int_equal(chk_kind_register(&unique, &e), HX_EUSAGE);
    /* every built-in kind is in the table, by its plan id */
    for (int k = 0; k < PLAN_CHK__BUILTIN; k++) {
        assert_non_null(chk_kind_get((plan_check_kind)k));
        assert_int_equal(chk_kind_find(chk_kind_name((plan_check_kind)k)), k);
    }
    assert_string_equal(chk_kind_name(PLAN_CHK_PRECISION_RECALL), "precision_recall");
}

/* Every built-in kind has a summary and its constructor is shown in docs/scenarios.md. */
static void test_check_kind__builtin_kinds_are_documented(void **state)
{
    (void)state;
    const char *root = getenv("HX_SOURCE_ROOT");
    char path[512], line[160];
    snprintf(path, sizeof path, "%s/docs/scenarios.md", root ? root : ".");
    char *doc = NULL;
    assert_int_equal(hx_read_file(path, &doc, NULL, NULL), 0);
    for (int k = 0; k < PLAN_CHK__BUILTIN; k++) {
        const chk_kind *kd = chk_kind_get((plan_check_kind)k);
        assert_true(kd->summary && strlen(kd->summary) > 10);
        if (kd->flags & CHK_K_PLUGIN)
            snprintf(line, sizeof line, "\nplugin \"");
        else
            snprintf(line, sizeof line, "\n%s {", kd->name);
        if (!strstr(doc, line)) fprintf(stderr, "docs/scenarios.md shows no '%s'\n", line + 1);
        assert_non_null(strstr(doc, line));
    }
    hx_free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_kind__registered_kind_is_a_dsl_constructor),
        cmocka_unit_test(test_check_kind__registered_kind_is_validated),
        cmocka_unit_test(test_check_kind__names_are_taken_once),
        cmocka_unit_test(test_check_kind__builtin_kinds_are_documented),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
