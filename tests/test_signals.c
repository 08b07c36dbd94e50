/* test_signals.c - leftovers of killed runs: the cgroup leaves of a harness that is gone are
 * killed and removed by the next run and named in a warning; a live run's leaves are not. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_priv.h"

/* A pid that was just alive and is not any more. */
static pid_t dead_pid(void)
{
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) _exit(0);
    assert_int_equal(waitpid(p, NULL, 0), p);
    return p;
}

struct warnings {
    char text[8192];
};

static void collect(void *ud, const char *msg)
{
    struct warnings *w = ud;
    size_t n = strlen(w->text);
    snprintf(w->text + n, sizeof w->text - n, "%s\n", msg);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void test_signals__dead_runs_leaves_are_reclaimed(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/hx-leaves-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    pid_t dead = dead_pid();
    char gone[4300], live[4300], odd[8][4300], file[4300];
    snprintf(gone, sizeof gone, "%s/harness-%d-3", dir, (int)dead);
    snprintf(live, sizeof live, "%s/harness-%d-1", dir, (int)getppid()); /* alive, not us */
    const char *names[] = {"harness-abc-1", "harness-12", "other-5-1", "harness-7-x", NULL};
    assert_int_equal(mkdir(gone, 0755), 0);
    assert_int_equal(mkdir(live, 0755), 0);
    for (int i = 0; names[i]; i++) {
        snprintf(odd[i], sizeof odd[i], "%s/%s", dir, names[i]);
        assert_int_equal(mkdir(odd[i], 0755), 0);
    }
    snprintf(file, sizeof file, "%s/harness-%d-4", dir, (int)dead); /* not a directory */
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);

    struct warnings w = {""};
    assert_int_equal(run_reclaim_cgroups(dir, collect, &w), 1);
    assert_false(exists(gone));
    char want[4500];
    snprintf(want, sizeof want,
             "reclaimed cgroup '%s', left by a harness run that was killed (pid %d)", gone,
             (int)dead);
    if (!strstr(w.text, want)) fail_msg("warnings: %s", w.text);
    assert_true(exists(live));
    assert_true(exists(file));
    for (int i = 0; names[i]; i++)
        assert_true(exists(odd[i]));
    /* nothing left to reclaim: a second run says nothing */
    w.text[0] = '\0';
    assert_int_equal(run_reclaim_cgroups(dir, collect, &w), 0);
    assert_string_equal(w.text, "");

    rmdir(live);
    unlink(file);
    for (int i = 0; names[i]; i++)
        rmdir(odd[i]);
    assert_int_equal(rmdir(dir), 0);
}

/* On a machine with a writable cgroup2 (GitHub's runners, a root shell), a real leaf of a dead
 * harness with a process still in it: the process is killed and the leaf removed. Elsewhere the
 * leaf cannot be made, and the test says so. */
static void test_signals__a_real_leaf_is_killed_and_removed(void **state)
{
    (void)state;
    char parent[4096], procs[4400];
    if (!runner_cgroup_parent(parent, sizeof parent)) {
        print_message("no cgroup2 mount: only the simulated leaves are tested\n");
        return;
    }
    snprintf(procs, sizeof procs, "%s/cgroup.procs", parent);
    if (access(procs, W_OK) != 0) {
        print_message("'%s' is not writable: only the simulated leaves are tested\n", parent);
        return;
    }
    pid_t dead = dead_pid();
    char leaf[4300];
    snprintf(leaf, sizeof leaf, "%s/harness-%d-9", parent, (int)dead);
    assert_int_equal(mkdir(leaf, 0755), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        signal(SIGTERM, SIG_IGN);
        for (;;)
            pause();
    }
    snprintf(procs, sizeof procs, "%s/cgroup.procs", leaf);
    FILE *f = fopen(procs, "w");
    assert_non_null(f);
    fprintf(f, "%d\n", (int)child);
    assert_int_equal(fclose(f), 0);

    struct warnings w = {""};
    assert_true(run_reclaim_cgroups(parent, collect, &w) >= 1);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    /* the leaf goes once its process is reaped; run again for the removal if it was busy */
    if (exists(leaf)) run_reclaim_cgroups(parent, collect, &w);
    assert_false(exists(leaf));
    if (!strstr(w.text, leaf)) fail_msg("warnings: %s", w.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signals__dead_runs_leaves_are_reclaimed),
        cmocka_unit_test(test_signals__a_real_leaf_is_killed_and_removed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
