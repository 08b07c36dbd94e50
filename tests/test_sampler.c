/* test_sampler.c - the resource sampler against real processes (tests/helpers/fake_solution.c):
 * CPU of a busy child, peak RSS of a child and of a grandchild (tree walk), CPU of short-lived
 * children reaped between samples, the bounded series, and the cgroup path where one can be made.
 * Most checks pass no wait4 rusage to sampler_summarize, so they prove what sampling saw. */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runner.h"
#include "sampler.h"

#define MB (1024.0 * 1024.0)

static char helper[4096];

static int setup(void **state)
{
    (void)state;
    const char *b = getenv("HX_BUILD_ROOT");
    snprintf(helper, sizeof helper, "%s/tests/helpers/hx_fake_solution", b ? b : "build");
    return access(helper, X_OK) == 0 ? 0 : -1;
}

static pid_t start(const char *a1, const char *a2, const char *a3)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(helper, helper, a1, a2, a3, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Sample the helper's tree on the sampler's own thread until it exits. */
static void sample_run(const char *a1, const char *a2, const char *a3, bool use_ru,
                       sampler_summary *out)
{
    pid_t pid = start(a1, a2, a3);
    assert_true(pid > 0);
    sampler *s;
    hx_err e;
    assert_int_equal(sampler_new(pid, NULL, &s, &e), 0);
    assert_int_equal(sampler_start(s, &e), 0);
    int st;
    struct rusage ru;
    assert_int_equal(wait4(pid, &st, 0, &ru), pid);
    sampler_stop(s);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(sampler_summarize(s, use_ru ? &ru : NULL, out, &e), 0);
    sampler_free(s);
    print_message("%s %s: user %.2fs sys %.2fs peak %.1f MB mean %.1f MB samples %u self %.4fs\n",
                  a1, a2 ? a2 : "", out->cpu_user_s, out->cpu_sys_s, out->rss_peak / MB,
                  out->rss_mean / MB, out->samples, out->self_cpu_s);
}

static void test_sampler__cpu_burn(void **state)
{
    (void)state;
    sampler_summary r;
    sample_run("burn", "1.0", "1", false, &r);
    assert_true(r.cpu_user_s >= 0.5);
    assert_true(r.cpu_user_s < 5.0);
    assert_true(r.samples >= 5);
    assert_string_equal(r.source, "proc");
    assert_true(r.self_cpu_s > 0);
    assert_true(r.n_series >= 5 && r.n_series <= SAMPLER_SERIES_MAX);
    double max_pct = 0;
    for (size_t i = 0; i < r.n_series; i++) {
        max_pct = r.series[i].cpu_pct > max_pct ? r.series[i].cpu_pct : max_pct;
        if (i) assert_true(r.series[i].t_s >= r.series[i - 1].t_s);
    }
    assert_true(max_pct > 30); /* a busy core shows in the timeline */
    sampler_summary_release(&r);
}

/* Bug: the resources chart showed 579 % on a 2-core machine. CPU time moves in clock ticks, so
 * a short interval that catches a tick reads as far more than the tree could use; samples taken
 * back to back on a busy process show it. No point may exceed what the machine has. */
static void test_sampler__cpu_pct_bounded_by_cores(void **state)
{
    (void)state;
    pid_t pid = start("burn", "1.0", "1");
    assert_true(pid > 0);
    sampler *s;
    hx_err e;
    assert_int_equal(sampler_new(pid, NULL, &s, &e), 0);
    for (int i = 0; i < 200; i++)
        sampler_sample(s);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    sampler_summary r;
    assert_int_equal(sampler_summarize(s, NULL, &r, &e), 0);
    sampler_free(s);
    double cores = (double)sysconf(_SC_NPROCESSORS_ONLN), max_pct = 0;
    for (size_t i = 0; i < r.n_series; i++)
        max_pct = r.series[i].cpu_pct > max_pct ? r.series[i].cpu_pct : max_pct;
    print_message("max %.0f %% over %zu points, %.0f cores\n", max_pct, r.n_series, cores);
    assert_true(max_pct <= 100 * cores);
    sampler_summary_release(&r);
}

/* Bug: the timeline showed 3,742 % on a 2-core machine. The ceiling is the CPUs the harness may
 * use, not the host's: pinned to one CPU, it is 1. */
static void test_sampler__cpus_follow_affinity(void **state)
{
    (void)state;
    long all = sampler_cpus();
    assert_true(all >= 1 && all <= sysconf(_SC_NPROCESSORS_ONLN));
    pid_t pid = fork();
    if (pid == 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
        if (sched_setaffinity(0, sizeof one, &one) != 0) _exit(100);
        _exit((int)sampler_cpus());
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
}

static void test_sampler__rss_peak(void **state)
{
    (void)state;
    sampler_summary r;
    sample_run("burn", "0.6", "100", false, &r);
    assert_true(r.rss_peak >= 90 * MB);
    assert_true(r.rss_peak < 400 * MB);
    assert_true(r.rss_mean > 0 && r.rss_mean <= r.rss_peak);
    sampler_summary_release(&r);
}

static void test_sampler__grandchild_counted(void **state)
{
    (void)state;
    sampler_summary r;
    sample_run("child-alloc", "100", "0.8", false, &r);
    assert_true(r.rss_peak >= 90 * MB);
    sampler_summary_release(&r);
}

static void test_sampler__short_children_not_lost(void **state)
{
    (void)state;
    sampler_summary r;
    /* 20 children of 50 ms each, reaped by the leader between samples: their CPU reaches the
     * sampler through the leader's cutime. */
    sample_run("short-kids", "20", "50", false, &r);
    assert_true(r.cpu_user_s + r.cpu_sys_s >= 0.5);
    sampler_summary_release(&r);
    /* Alone, rusage of the leader already covers them; the summary never goes below it. */
    sample_run("short-kids", "4", "50", true, &r);
    assert_true(r.cpu_user_s + r.cpu_sys_s >= 0.15);
    sampler_summary_release(&r);
}

static void test_sampler__tracked_and_series_bounded(void **state)
{
    (void)state;
    char pidfile[] = "/tmp/hx_sampler_pids_XXXXXX";
    int fd = mkstemp(pidfile);
    close(fd);
    pid_t pid = start("forktree", pidfile, NULL);
    sampler *s;
    hx_err e;
    assert_int_equal(sampler_new(pid, NULL, &s, &e), 0);
    int pids[4] = {0}, n = 0;
    for (int tries = 0; tries < 200 && n < 4; tries++) {
        usleep(20000);
        sampler_sample(s);
        FILE *f = fopen(pidfile, "r");
        n = 0;
        while (f && n < 4 && fscanf(f, "%d", &pids[n]) == 1)
            n++;
        if (f) fclose(f);
    }
    assert_int_equal(n, 4);
    sampler_sample(s);
    pid_t got[64];
    size_t k = sampler_tracked(s, got, 64);
    /* The leader, the plain child and the SIGTERM-ignoring child are its descendants now. The
     * setsid'd orphan is only tracked if a sample caught it before its parent exited, so it is
     * not asserted here (the runner finds it by its environment token). */
    int want[] = {pid, pids[0], pids[3]};
    for (int i = 0; i < 3; i++) {
        bool found = false;
        for (size_t j = 0; j < k; j++)
            found |= got[j] == want[i];
        if (!found) fail_msg("pid %d not tracked", want[i]);
    }
    for (int i = 0; i < 1000; i++)
        sampler_sample(s);
    sampler_summary r;
    assert_int_equal(sampler_summarize(s, NULL, &r, &e), 0);
    assert_true(r.samples >= 1000);
    assert_true(r.n_series <= SAMPLER_SERIES_MAX);
    assert_true(r.n_series >= SAMPLER_SERIES_MAX / 2);
    print_message("%u samples -> %zu points, self %.4fs (%.1f us/sample)\n", r.samples, r.n_series,
                  r.self_cpu_s, r.self_cpu_s * 1e6 / r.samples);
    sampler_summary_release(&r);
    sampler_free(s);
    for (int i = 0; i < 4; i++)
        kill(pids[i], SIGKILL);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    for (int i = 0; i < 4; i++)
        waitpid(pids[i], NULL, WNOHANG); /* the orphan may have been adopted by us */
    unlink(pidfile);
}

/* Through the runner: the cgroup path where the machine allows one, else the /proc path. */
static void test_sampler__via_runner(void **state)
{
    (void)state;
    char dir[] = "/tmp/hx_sampler_XXXXXX";
    assert_non_null(mkdtemp(dir));
    for (int mode = 0; mode < 2; mode++) {
        const char *argv[] = {helper, "burn", "0.8", "100", NULL};
        runner_opts o = {
            .argv = argv, .log_dir = dir, .cgroup = mode ? RUNNER_CGROUP_OFF : RUNNER_CGROUP_AUTO};
        runner_proc *p;
        hx_err e;
        assert_int_equal(runner_spawn(&o, &p, &e), 0);
        runner_result r;
        assert_int_equal(runner_wait(p, 0, &r, &e), 0);
        runner_proc_free(p);
        print_message("runner %s path, cpu from %s: user %.2fs peak %.1f MB samples %u\n",
                      r.isolation, r.res.source, r.res.cpu_user_s, r.res.rss_peak / MB,
                      r.res.samples);
        assert_string_equal(r.res.source, r.isolation);
        assert_true(r.res.cpu_user_s >= 0.5);
        assert_true(r.res.rss_peak >= 90 * MB);
        assert_true(r.res.samples >= 3);
        runner_result_release(&r);
    }
    hx_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sampler__cpu_burn),
        cmocka_unit_test(test_sampler__cpu_pct_bounded_by_cores),
        cmocka_unit_test(test_sampler__cpus_follow_affinity),
        cmocka_unit_test(test_sampler__rss_peak),
        cmocka_unit_test(test_sampler__grandchild_counted),
        cmocka_unit_test(test_sampler__short_children_not_lost),
        cmocka_unit_test(test_sampler__tracked_and_series_bounded),
        cmocka_unit_test(test_sampler__via_runner),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
