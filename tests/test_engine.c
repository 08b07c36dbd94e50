/* test_engine.c - the run engine (run/engine.h) on the small pack tests/packs/engine with a real
 * PostgreSQL and a real solution process (tests/solutions/env_log, which records what each
 * invocation was given). The replay target table is the engine's to take: a dummy target plugged
 * in from this file replaces "files" and is set up, fed every batch, asked for the solution's
 * environment and torn down. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine.h"
#include "say.h"

/* The engine records the commit it was built from; the CLI links the generated one. */
const char *hx_build_commit(void)
{
    return "test";
}

static char tmp[256];
static const char *src_root;

static int setup(void **state)
{
    (void)state;
    src_root = getenv("HX_SOURCE_ROOT");
    if (!src_root) return -1;
    snprintf(tmp, sizeof tmp, "/tmp/hx-test-engine-XXXXXX");
    if (!mkdtemp(tmp)) return -1;
    /* as root the solution's box runs as an unprivileged user, who must reach the run folders */
    if (chmod(tmp, 0711) != 0) return -1;
    hx_g.quiet = 1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hx_rm_rf(tmp);
    return 0;
}

/* Run the engine on scenario `scen` of tests/packs/engine into <tmp>/<out>; returns the exit
 * code. */
static int run_pack(const char *scen, const char *out, const replay_target *const *targets)
{
    char pack[512], sol[512], outdir[512];
    snprintf(pack, sizeof pack, "%s/tests/packs/engine", src_root);
    snprintf(sol, sizeof sol, "%s/tests/solutions/env_log", src_root);
    snprintf(outdir, sizeof outdir, "%s/%s", tmp, out);
    const char *globs[1] = {scen};
    const char *pg = getenv("HX_TEST_PG_URL");
    run_engine_opts o = {.pack = pack,
                         .solution = sol,
                         .out = outdir,
                         .pg_url = pg && *pg ? pg : NULL,
                         .globs = globs,
                         .nglobs = 1,
                         .keep = true,
                         .targets = targets};
    return run_engine(&o);
}

/* The whole of <tmp>/<rel> (a static buffer), or fails the test. */
static const char *slurp(const char *rel)
{
    static char buf[1 << 20];
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, rel);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot open %s", path);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* ---- a replay target of this file's own ---- */

static struct {
    int setups, teardowns, replays;
    int64_t batches[8];
    bool state_ok; /* every hook got the state setup made */
} dummy;

static int dummy_setup(replay_site *site, void **slot, hx_err *e)
{
    (void)e;
    dummy.setups++;
    dummy.state_ok = site->g && site->conn && strcmp(site->s->name, "drops") == 0;
    *slot = &dummy;
    return 0;
}

static int dummy_replay(replay_site *site, void *state, const plan_step *st, int64_t batch,
                        replay_stats *out, hx_err *e)
{
    (void)site, (void)st, (void)e;
    dummy.state_ok &= state == &dummy;
    if (dummy.replays < 8) dummy.batches[dummy.replays] = batch;
    dummy.replays++;
    out->rows = 10;
    return 0;
}

static int dummy_env(const replay_site *site, replay_env_fn add, void *ud, hx_err *e)
{
    char v[128];
    snprintf(v, sizeof v, "dummy-%s", site->s->name);
    return add(ud, "DUMMY_TARGET", v) ? 0 : hx_fail(e, HX_ENOMEM, "out of memory");
}

static void dummy_teardown(replay_site *site, void *state)
{
    (void)site;
    dummy.state_ok &= state == &dummy;
    dummy.teardowns++;
}

static const replay_target dummy_target = {
    .name = "dummy",
    .code = PLAN_TGT_FILES, /* takes the steps into = "files" */
    .format = "dummy",
    .setup = dummy_setup,
    .replay = dummy_replay,
    .env = dummy_env,
    .teardown = dummy_teardown,
};

static void test_engine__a_target_plugged_in_from_outside_gets_every_hook(void **state)
{
    (void)state;
    const replay_target *const table[] = {&dummy_target, &replay_target_postgres,
                                          &replay_target_kafka, NULL};
    memset(&dummy, 0, sizeof dummy);
    assert_int_equal(run_pack("drops", "dummy", table), 0);
    assert_int_equal(dummy.setups, 1);
    assert_int_equal(dummy.teardowns, 1);
    assert_int_equal(dummy.replays, 3);
    for (int b = 0; b < 3; b++)
        assert_int_equal(dummy.batches[b], b);
    assert_true(dummy.state_ok);
    /* each drop was followed by a run that had the dummy's variable and no files target's */
    assert_string_equal(slurp("dummy/drops/output/seen.csv"),
                        "batch,dummy,input\n0,dummy-drops,\n1,dummy-drops,\n2,dummy-drops,\n");
    assert_non_null(strstr(slurp("dummy/run.json"), "\"format\": \"dummy\""));
}

static void test_engine__the_builtin_table_replays_files(void **state)
{
    (void)state;
    assert_int_equal(run_pack("drops", "builtin", NULL), 0);
    assert_string_equal(slurp("builtin/drops/output/seen.csv"),
                        "batch,dummy,input\n0,,set\n1,,set\n2,,set\n");
    assert_non_null(strstr(slurp("builtin/run.json"), "\"format\": \"csv\""));
    char landed[512];
    snprintf(landed, sizeof landed, "%s/builtin/drops/landing/orders/orders-0002.csv", tmp);
    assert_int_equal(access(landed, F_OK), 0);
}

/* Bug: a second run step shared the first's logs (batch-0000.*), HARNESS_BATCH=0, and was
 * labelled "service" in the cost breakdown. */
static void test_engine__each_run_step_has_its_own_index_logs_and_label(void **state)
{
    (void)state;
    assert_int_equal(run_pack("two_runs", "two", NULL), 0);
    assert_string_equal(slurp("two/two_runs/output/seen.csv"),
                        "batch,dummy,input\n0,,set\n1,,set\n");
    assert_string_equal(slurp("two/two_runs/logs/batch-0000.stdout.log"), "stdout of batch 0\n");
    assert_string_equal(slurp("two/two_runs/logs/batch-0001.stdout.log"), "stdout of batch 1\n");
    assert_string_equal(slurp("two/two_runs/logs/batch-0001.stderr.log"), "stderr of batch 1\n");
    const char *rj = slurp("two/run.json");
    assert_non_null(strstr(rj, "\"batch 0\""));
    assert_non_null(strstr(rj, "\"batch 1\""));
    assert_null(strstr(rj, "\"service\""));
    /* Bug: summary.md said "batch -1" and labelled a batch solution "service". */
    const char *md = slurp("two/summary.md");
    assert_null(strstr(md, "batch -1"));
    assert_null(strstr(md, "the service"));
    assert_null(strstr(md, " service "));
    assert_non_null(strstr(md, "batch 0 "));
    assert_non_null(strstr(md, "batch 1 "));
}

/* The value of run.json field `field` (a string) of the threshold on `metric`, into out. */
static const char *threshold_field(const char *rj, const char *metric, const char *field, char *out,
                                   size_t n)
{
    char key[128];
    snprintf(key, sizeof key, "\"metric\": \"%s\"", metric);
    const char *t = strstr(rj, key);
    if (!t) fail_msg("no threshold on %s in run.json", metric);
    const char *end = strchr(t, '}');
    snprintf(key, sizeof key, "\"%s\": \"", field);
    const char *f = strstr(t, key);
    if (!f || f > end) fail_msg("threshold %s has no %s", metric, field);
    f += strlen(key);
    size_t len = strcspn(f, "\"");
    snprintf(out, n, "%.*s", (int)len, f);
    return out;
}

/* Bug: a threshold whose metric was not produced was marked `skip` and the run passed. Now it
 * fails, saying why it could not be measured, where it applies; `skip` (and no score) only where
 * it does not: the solution's metrics in a scenario that never runs it, service latency in a
 * batch scenario. Thresholds only fail: exit 4. */
static void test_engine__a_threshold_with_no_value_fails_where_it_applies(void **state)
{
    (void)state;
    assert_int_equal(run_pack("unmeasured", "unm", NULL), HX_EXIT_THRESHOLD);
    const char *rj = slurp("unm/run.json");
    char v[512];
    assert_string_equal(threshold_field(rj, "probe.solution.cpu.total", "status", v, sizeof v),
                        "fail");
    assert_non_null(strstr(threshold_field(rj, "probe.solution.cpu.total", "note", v, sizeof v),
                           "no cost probe ran"));
    assert_string_equal(threshold_field(rj, "solution.wall.max", "status", v, sizeof v), "skip");
    assert_string_equal(threshold_field(rj, "solution.wall.max", "note", v, sizeof v),
                        "does not apply: scenario 'unmeasured' never runs the solution");
    assert_string_equal(threshold_field(rj, "latency.e2e.p99", "status", v, sizeof v), "skip");
    assert_non_null(strstr(threshold_field(rj, "latency.e2e.p99", "note", v, sizeof v),
                           "does not apply: scenario 'unmeasured' runs the solution in batches"));
    const char *md = slurp("unm/summary.md");
    assert_non_null(strstr(md, "not measured: no cost probe ran"));
    assert_non_null(strstr(md, "does not apply: scenario 'unmeasured' never runs the solution"));
}

/* Bug: a wait on a check slept its whole timeout whether the check passed or not. Now it ends
 * when the check passes (the first wait's ten minutes would outlast this test's meson timeout), or
 * at its timeout when it never does (the second, 1 s); neither records a verdict of its own. */
static void test_engine__a_wait_until_ends_when_its_check_passes(void **state)
{
    (void)state;
    assert_int_equal(run_pack("wait_until", "wu", NULL), HX_EXIT_CHECK);
    const char *rj = slurp("wu/run.json");
    const char *a = strstr(rj, "\"name\": \"the orders landed\"");
    assert_non_null(a);
    assert_null(strstr(a + 1, "\"name\": \"the orders landed\""));
    const char *b = strstr(rj, "\"name\": \"a sixth order\"");
    assert_non_null(b);
    assert_null(strstr(b + 1, "\"name\": \"a sixth order\""));
    const char *md = slurp("wu/summary.md");
    assert_non_null(strstr(md, "1 passed, 1 failed"));
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine__a_target_plugged_in_from_outside_gets_every_hook),
        cmocka_unit_test(test_engine__the_builtin_table_replays_files),
        cmocka_unit_test(test_engine__each_run_step_has_its_own_index_logs_and_label),
        cmocka_unit_test(test_engine__a_threshold_with_no_value_fails_where_it_applies),
        cmocka_unit_test(test_engine__a_wait_until_ends_when_its_check_passes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
