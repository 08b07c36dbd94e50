/* test_sandbox.c - the solution's box (harness/run/sandbox.c) through the runner, with real
 * bwrap: each line of the threat model's "what a solution can see" (docs/solutions.md) as a
 * shell solution that looks, and the runner's output as the witness. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runner.h"
#include "sandbox.h"

static char root[] = "/tmp/hx_sandbox_XXXXXX";
static char sol[300], in[300], out[300], logs[300], hidden[300];

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(root)) return -1;
    chmod(root, 0755);
    snprintf(sol, sizeof sol, "%s/sol", root);
    snprintf(in, sizeof in, "%s/run/s1/landing", root);
    snprintf(out, sizeof out, "%s/run/s1/output", root);
    snprintf(logs, sizeof logs, "%s/run/s1/logs", root);
    snprintf(hidden, sizeof hidden, "%s/pack", root);
    const char *dirs[] = {sol, in, out, logs, hidden};
    for (size_t i = 0; i < 5; i++)
        if (hx_mkdir_p(dirs[i], NULL) != 0) return -1;
    char p[400];
    snprintf(p, sizeof p, "%s/input.csv", in);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    fputs("id\n1\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/truth.txt", hidden);
    f = fopen(p, "w");
    if (!f) return -1;
    fputs("the seed is 42\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/run/run.json", root);
    f = fopen(p, "w");
    if (!f) return -1;
    fputs("{}\n", f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hx_rm_rf(root);
    return 0;
}

/* Run script (a /bin/sh command) in a box over sol, in and out; returns its stdout. */
static char *const *run_env; /* the solution's environment, NULL = ours */

static char *run_boxed(sandbox *sb, const char *script, runner_result *r)
{
    hx_err e = {0};
    runner_opts o = {.shell = script,
                     .env = run_env,
                     .cwd = sol,
                     .log_dir = logs,
                     .sandbox = sb,
                     .in_dir = in,
                     .out_dir = out,
                     .grace_us = 500000};
    runner_proc *p = NULL;
    if (runner_spawn(&o, &p, &e) != 0) fail_msg("runner_spawn: %s", e.msg);
    assert_int_equal(runner_wait(p, 60 * 1000000LL, r, &e), 0);
    runner_proc_free(p);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(runner_log_tail(r->stdout_path, 65536, &text, &len, NULL), 0);
    return text;
}

static sandbox *new_box(sandbox_mode mode)
{
    sandbox_opts so = {.mode = mode, .sol_dir = sol};
    sandbox *sb = NULL;
    hx_err e = {0};
    if (sandbox_new(&so, &sb, &e) != 0) fail_msg("sandbox_new: %s", e.msg);
    return sb;
}

static void test_sandbox__sees_only_its_folders(void **state)
{
    (void)state;
    sandbox *sb = new_box(SANDBOX_BWRAP);
    assert_string_equal(sandbox_level(sb), "bwrap");
    char secret_tmp[] = "/tmp/hx_sandbox_host_XXXXXX";
    int fd = mkstemp(secret_tmp);
    assert_true(fd >= 0);
    close(fd);
    char script[2048];
    snprintf(script, sizeof script,
             "echo uid=$(id -u)\n"
             "cat %s/input.csv >/dev/null && echo input-readable\n"
             "touch %s/x 2>/dev/null && echo input-writable\n"
             "echo ok > %s/result.csv && echo output-writable\n"
             "echo built > built.txt && echo sol-writable\n"
             "test -e %s/truth.txt && echo pack-visible\n"
             "test -e %s/run/run.json && echo run-visible\n"
             "test -e %s && echo logs-visible\n"
             "test -e %s && echo host-tmp-visible\n"
             "test -e /root && echo root-home-visible\n"
             "test -e /etc/shadow && echo shadow-visible\n"
             "test -e \"$HX_TEST_BIN\" && echo harness-binary-visible\n"
             "echo home=$HOME\n"
             "echo cwd=$(pwd)\n",
             in, in, out, hidden, root, logs, secret_tmp);
    runner_result r;
    char *text = run_boxed(sb, script, &r);
    assert_true(r.exited && r.exit_code == 0);
    assert_string_equal(r.sandbox, "bwrap");
    char want[400];
    if (geteuid() == 0) assert_null(strstr(text, "uid=0\n"));
    assert_non_null(strstr(text, "input-readable"));
    assert_null(strstr(text, "input-writable"));
    assert_non_null(strstr(text, "output-writable"));
    assert_non_null(strstr(text, "sol-writable"));
    assert_null(strstr(text, "pack-visible"));
    assert_null(strstr(text, "run-visible"));
    assert_null(strstr(text, "logs-visible"));
    assert_null(strstr(text, "host-tmp-visible"));
    assert_null(strstr(text, "root-home-visible"));
    assert_null(strstr(text, "shadow-visible"));
    assert_null(strstr(text, "harness-binary-visible"));
    assert_non_null(strstr(text, "home=/tmp\n"));
    snprintf(want, sizeof want, "cwd=%s\n", sol);
    assert_non_null(strstr(text, want));
    /* What it wrote is where the harness reads it. */
    char p[400];
    snprintf(p, sizeof p, "%s/result.csv", out);
    assert_int_equal(access(p, R_OK), 0);
    snprintf(p, sizeof p, "%s/built.txt", sandbox_sol_dir(sb));
    assert_int_equal(access(p, R_OK), 0);
    hx_free(text);
    runner_result_release(&r);
    unlink(secret_tmp);
    sandbox_free(sb);
}

/* Its own PID namespace: /proc holds only its processes; the harness's pid, command line and
 * environment are out of reach. */
static void test_sandbox__cannot_see_the_harness(void **state)
{
    (void)state;
    sandbox *sb = new_box(SANDBOX_BWRAP);
    static char *const env[] = {"PATH=/usr/bin:/bin", NULL};
    run_env = env;
    char script[1024];
    snprintf(script, sizeof script,
             "for d in /proc/[0-9]*; do cat $d/cmdline $d/environ 2>/dev/null | tr '\\0' ' ';"
             " echo; done\n"
             "test -e /proc/%d && echo harness-pid-\"\"visible\n"
             "echo procs=$(ls -d /proc/[0-9]* | wc -l)\n",
             (int)getpid());
    runner_result r;
    char *text = run_boxed(sb, script, &r);
    assert_true(r.exited && r.exit_code == 0);
    assert_null(strstr(text, "harness-pid-visible"));
    assert_null(strstr(text, "test_sandbox"));
    assert_non_null(strstr(text, "procs="));
    /* bwrap's init, the shell, and the commands of the pipeline: a handful, not the host's. */
    assert_true(atoi(strstr(text, "procs=") + 6) < 10);
    hx_free(text);
    runner_result_release(&r);
    run_env = NULL;
    sandbox_free(sb);
}

/* Whether a process whose command line contains marker is alive on the host. */
static bool alive(const char *marker)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    bool found = false;
    while (d && !found && (de = readdir(d))) {
        char p[300], buf[4096];
        snprintf(p, sizeof p, "/proc/%s/cmdline", de->d_name);
        FILE *f = fopen(p, "r");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++)
            if (!buf[i]) buf[i] = ' ';
        buf[n] = '\0';
        found = strstr(buf, marker) != NULL && !strstr(buf, "sh -c");
    }
    if (d) closedir(d);
    return found;
}

/* setsid, env -i, a double fork: nothing of the box outlives its command. */
static void test_sandbox__nothing_outlives_the_command(void **state)
{
    (void)state;
    sandbox *sb = new_box(SANDBOX_BWRAP);
    char marker[32];
    snprintf(marker, sizeof marker, "%d", 600000 + (int)(getpid() % 100000));
    char script[512];
    snprintf(script, sizeof script,
             "( setsid env -i /bin/sleep %s.1 & ) ; ( ( /bin/sleep %s.2 & ) & ) ;"
             " nohup /bin/sleep %s.3 >/dev/null 2>&1 & sleep 0.2; echo started",
             marker, marker, marker);
    runner_result r;
    char *text = run_boxed(sb, script, &r);
    assert_non_null(strstr(text, "started"));
    assert_false(alive(marker));
    hx_free(text);
    runner_result_release(&r);
    sandbox_free(sb);
}

/* A TERM-ignoring solution past its timeout still dies; a polite one gets SIGTERM first. */
static void test_sandbox__timeout_terms_then_kills(void **state)
{
    (void)state;
    sandbox *sb = new_box(SANDBOX_BWRAP);
    hx_err e = {0};
    runner_opts o = {.shell = "trap 'echo got-term; exit 0' TERM; echo up; sleep 30 & wait",
                     .cwd = sol,
                     .log_dir = logs,
                     .sandbox = sb,
                     .grace_us = 3000000};
    runner_proc *p = NULL;
    assert_int_equal(runner_spawn(&o, &p, &e), 0);
    runner_result r;
    assert_int_equal(runner_wait(p, 1000000, &r, &e), 0);
    runner_proc_free(p);
    assert_true(r.timed_out);
    char *text = NULL;
    size_t len = 0;
    runner_log_tail(r.stdout_path, 4096, &text, &len, NULL);
    assert_non_null(strstr(text, "got-term"));
    hx_free(text);
    runner_result_release(&r);

    o.shell = "trap '' TERM; echo up; while :; do sleep 0.1; done";
    o.grace_us = 300000;
    assert_int_equal(runner_spawn(&o, &p, &e), 0);
    assert_int_equal(runner_wait(p, 500000, &r, &e), 0);
    runner_proc_free(p);
    assert_true(r.timed_out);
    runner_result_release(&r);
    sandbox_free(sb);
}

/* Run script in a box with limits; returns the result (release it). */
static void run_limited(const char *script, const solution_limits *lim, runner_result *r)
{
    sandbox_opts so = {.mode = SANDBOX_BWRAP, .sol_dir = sol};
    sandbox *sb = NULL;
    hx_err e = {0};
    if (sandbox_new(&so, &sb, &e) != 0) fail_msg("sandbox_new: %s", e.msg);
    runner_opts o = {.shell = script,
                     .cwd = sol,
                     .log_dir = logs,
                     .sandbox = sb,
                     .out_dir = out,
                     .limits = lim,
                     .cgroup = RUNNER_CGROUP_OFF};
    runner_proc *p = NULL;
    if (runner_spawn(&o, &p, &e) != 0) fail_msg("runner_spawn: %s", e.msg);
    assert_int_equal(runner_wait(p, 60 * 1000000LL, r, &e), 0);
    runner_proc_free(p);
    sandbox_free(sb);
}

/* Memory, processes and disk are enforced while it runs (the rlimit path here; the cgroup path
 * where a writable cgroup2 exists), and the failure names the limit, in the result and at the
 * end of its stderr log. */
static void test_sandbox__limits_enforced_and_named(void **state)
{
    (void)state;
    solution_limits lim = {.memory_bytes = 256ULL << 20, .processes = 30, .disk_bytes = 1 << 20};
    runner_result r;
    run_limited("python3 -c 'x = bytearray(1 << 30); print(len(x))'", &lim, &r);
    assert_false(r.exited && r.exit_code == 0);
    assert_non_null(strstr(r.limit, "memory limit 256 MiB"));
    char *tail = NULL;
    size_t len = 0;
    runner_log_tail(r.stderr_path, 4096, &tail, &len, NULL);
    assert_non_null(strstr(tail, "[harness: memory limit 256 MiB"));
    hx_free(tail);
    runner_result_release(&r);

    run_limited("python3 -c '\nimport os, time\nfor i in range(200):\n    if os.fork() == 0:\n"
                "        time.sleep(20)\n        os._exit(0)\n'",
                &lim, &r);
    assert_false(r.exited && r.exit_code == 0);
    assert_non_null(strstr(r.limit, "process limit 30"));
    runner_result_release(&r);

    char script[400];
    snprintf(script, sizeof script, "head -c 2000000 /dev/zero > %s/big.bin", out);
    run_limited(script, &lim, &r);
    assert_false(r.exited && r.exit_code == 0);
    assert_non_null(strstr(r.limit, "disk limit 1 MiB"));
    runner_result_release(&r);
    /* The limit is also the output folder's total: what that file left there counts next time. */
    snprintf(script, sizeof script, "%s/big.bin", out);
    unlink(script);
    /* Its /tmp, /dev/shm (the same folder) and what it adds to its own folder count with the
     * output folder: 3 x 400 KB, each file under the limit, are over it together. */
    snprintf(script, sizeof script,
             "head -c 400000 /dev/zero > /tmp/a; head -c 400000 /dev/zero > /dev/shm/b; "
             "head -c 400000 /dev/zero > own.bin; sleep 3; exit 0");
    run_limited(script, &lim, &r);
    assert_true(r.disk_over);
    assert_non_null(strstr(r.limit, "disk limit 1 MiB reached: it wrote 1 MiB (output folder "));
    assert_non_null(strstr(r.limit, "its own folder 392 KiB more than at the start): stopped"));
    runner_result_release(&r);
    snprintf(script, sizeof script, "%s/own.bin", sol);
    unlink(script);
    /* Nothing else is writable: the box's root and /dev are tmpfs in the host's memory. */
    run_limited("for d in / /etc /var /dev /usr; do touch $d/x 2>/dev/null && echo $d; done;"
                " exit 0",
                &lim, &r);
    assert_true(r.exited && r.exit_code == 0 && !r.disk_over);
    char *ro = NULL;
    runner_log_tail(r.stdout_path, 4096, &ro, &len, NULL);
    assert_string_equal(ro, "");
    hx_free(ro);
    runner_result_release(&r);
    /* Files, not bytes: 300 empty files against a limit of 200. */
    solution_limits few = lim;
    few.files = 200;
    run_limited("mkdir /tmp/many && cd /tmp/many && for i in $(seq 1 300); do : > f$i; done; "
                "sleep 3",
                &few, &r);
    assert_true(r.disk_over);
    assert_non_null(strstr(r.limit, "file limit 200 reached: it made at least "));
    runner_result_release(&r);

    /* Within the limits nothing is named. */
    run_limited("echo fine", &lim, &r);
    assert_true(r.exited && r.exit_code == 0);
    assert_string_equal(r.limit, "");
    runner_result_release(&r);
}

static void *two_interrupts(void *arg)
{
    runner_proc *p = arg;
    usleep(300000);
    runner_kill(p); /* the first Ctrl-C: SIGTERM, which it ignores, and a long grace */
    usleep(300000);
    runner_kill_now(p); /* the second: no more grace */
    return NULL;
}

/* Two Ctrl-Cs in a row: the second ends a TERM-ignoring solution at once, boxed or not, and
 * nothing of its tree is left (a grace of 10 minutes would outlast the test's timeout). */
static void test_sandbox__second_interrupt_kills_now(void **state)
{
    (void)state;
    char marker[32];
    snprintf(marker, sizeof marker, "%d", 700000 + (int)(getpid() % 100000));
    char script[400];
    snprintf(script, sizeof script,
             "trap '' TERM; ( setsid /bin/sh -c 'trap \"\" TERM; sleep %s.1' & ) ;"
             " while :; do sleep 0.1; done",
             marker);
    for (int boxed = 0; boxed < 2; boxed++) {
        sandbox *sb = new_box(boxed ? SANDBOX_BWRAP : SANDBOX_NONE);
        hx_err e = {0};
        runner_opts o = {.shell = script,
                         .cwd = sol,
                         .log_dir = logs,
                         .sandbox = sb,
                         .grace_us = 600 * 1000000LL};
        runner_proc *p = NULL;
        assert_int_equal(runner_spawn(&o, &p, &e), 0);
        pthread_t th;
        pthread_create(&th, NULL, two_interrupts, p);
        runner_result r;
        assert_int_equal(runner_wait(p, 0, &r, &e), 0);
        pthread_join(th, NULL);
        runner_proc_free(p);
        assert_true(r.interrupted);
        assert_false(alive(marker));
        runner_result_release(&r);
        sandbox_free(sb);
    }
}

static void test_sandbox__none_and_modes(void **state)
{
    (void)state;
    sandbox_mode m;
    hx_err e = {0};
    assert_int_equal(sandbox_mode_parse("none", &m, &e), 0);
    assert_int_equal(m, SANDBOX_NONE);
    assert_int_equal(sandbox_mode_parse("auto", &m, &e), 0);
    assert_int_equal(m, SANDBOX_AUTO);
    assert_int_equal(sandbox_mode_parse("bwarp", &m, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "did you mean 'bwrap'"));

    sandbox *sb = new_box(SANDBOX_NONE);
    assert_string_equal(sandbox_level(sb), "none");
    runner_result r;
    char *text = run_boxed(sb, "test -e /proc/1/cmdline && echo host-visible", &r);
    assert_string_equal(r.sandbox, "none");
    hx_free(text);
    runner_result_release(&r);
    sandbox_free(sb);

    /* A missing bwrap: bwrap mode is an infrastructure error naming the fix; auto falls back. */
    sandbox_opts so = {.mode = SANDBOX_BWRAP, .sol_dir = sol, .bwrap = "/nonexistent/bwrap"};
    assert_int_equal(sandbox_new(&so, &sb, &e), HX_EINFRA);
    assert_non_null(strstr(e.msg, "install bubblewrap"));
    assert_non_null(strstr(e.msg, "--sandbox none"));
    so.mode = SANDBOX_AUTO;
    e = (hx_err){0};
    assert_int_equal(sandbox_new(&so, &sb, &e), 0);
    assert_string_equal(sandbox_level(sb), "none");
    sandbox_free(sb);
}

/* A killed run's work copy (hx-sol-<pid>-*, pid gone) is removed by the next box made under the
 * same parent, with a warning; a live run's is left alone. A work copy is made when the box's user
 * cannot write the solution folder: as root (the box runs as nobody), which is how CI runs. */
static int warned;
static void count_warn(void *ud, const char *msg)
{
    (void)ud;
    if (strstr(msg, "reclaimed") && strstr(msg, "hx-sol-")) warned++;
}

static void test_sandbox__reclaims_a_killed_run_s_work_copy(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        print_message("not root: the box's user owns the folder, no work copy is made\n");
        return;
    }
    char work[400], dead_dir[500], live_dir[500];
    snprintf(work, sizeof work, "%s/work", root);
    assert_int_equal(hx_mkdir_p(work, NULL), 0);
    chmod(work, 0755);
    pid_t dead = fork();
    if (dead == 0) _exit(0);
    assert_true(dead > 0);
    waitpid(dead, NULL, 0);
    snprintf(dead_dir, sizeof dead_dir, "%s/hx-sol-%ld-abcdef", work, (long)dead);
    snprintf(live_dir, sizeof live_dir, "%s/hx-sol-1-abcdef", work); /* pid 1 is alive */
    assert_int_equal(hx_mkdir_p(dead_dir, NULL), 0);
    assert_int_equal(hx_mkdir_p(live_dir, NULL), 0);
    warned = 0;
    sandbox_opts so = {.mode = SANDBOX_BWRAP, .sol_dir = sol, .work_dir = work, .warn = count_warn};
    sandbox *sb = NULL;
    hx_err e = {0};
    if (sandbox_new(&so, &sb, &e) != 0) fail_msg("sandbox_new: %s", e.msg);
    assert_int_equal(access(dead_dir, F_OK), -1);
    assert_int_equal(access(live_dir, F_OK), 0);
    assert_int_equal(warned, 1);
    sandbox_free(sb);
    hx_rm_rf(live_dir);
}

/* A solution folder inside a folder closed to the box's user (a clone under /root, 0700): the
 * work copy is still made, through a descriptor, and what the folder holds for anyone to read
 * reaches the box; a file only root may read stops the copy, naming the folder. */
static void test_sandbox__solution_under_a_closed_folder(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        print_message("not root: the box runs as us and reads the folder in place\n");
        return;
    }
    char closed[400], sol2[450], p[500];
    snprintf(closed, sizeof closed, "%s/closed", root);
    snprintf(sol2, sizeof sol2, "%s/sol", closed);
    assert_int_equal(hx_mkdir_p(sol2, NULL), 0);
    assert_int_equal(chmod(closed, 0700), 0);
    assert_int_equal(chmod(sol2, 0755), 0);
    snprintf(p, sizeof p, "%s/run.sh", sol2);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("echo from-a-closed-folder\n", f);
    fclose(f);
    assert_int_equal(chmod(p, 0644), 0);
    sandbox_opts so = {.mode = SANDBOX_BWRAP, .sol_dir = sol2};
    sandbox *sb = NULL;
    hx_err e = {0};
    if (sandbox_new(&so, &sb, &e) != 0) fail_msg("sandbox_new: %s", e.msg);
    snprintf(p, sizeof p, "%s/run.sh", sandbox_sol_dir(sb));
    f = fopen(p, "r");
    assert_non_null(f);
    char line[64] = "";
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_string_equal(line, "echo from-a-closed-folder\n");
    sandbox_free(sb);

    snprintf(p, sizeof p, "%s/secret.txt", sol2);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs("root only\n", f);
    fclose(f);
    assert_int_equal(chmod(p, 0600), 0);
    sb = NULL;
    e = (hx_err){0};
    assert_int_not_equal(sandbox_new(&so, &sb, &e), 0);
    assert_int_equal(e.code, HX_EUSAGE);
    assert_non_null(strstr(e.msg, sol2));
    assert_non_null(strstr(e.msg, "secret.txt"));
    sandbox_free(sb);
}

int main(void)
{
    if (access("/usr/bin/bwrap", X_OK) != 0 && system("command -v bwrap >/dev/null") != 0) {
        fprintf(stderr, "bwrap is not installed: tools/setup.sh installs bubblewrap\n");
        return 1;
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    setenv("HX_TEST_BIN", self, 1);
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sandbox__sees_only_its_folders),
        cmocka_unit_test(test_sandbox__cannot_see_the_harness),
        cmocka_unit_test(test_sandbox__nothing_outlives_the_command),
        cmocka_unit_test(test_sandbox__timeout_terms_then_kills),
        cmocka_unit_test(test_sandbox__limits_enforced_and_named),
        cmocka_unit_test(test_sandbox__second_interrupt_kills_now),
        cmocka_unit_test(test_sandbox__none_and_modes),
        cmocka_unit_test(test_sandbox__reclaims_a_killed_run_s_work_copy),
        cmocka_unit_test(test_sandbox__solution_under_a_closed_folder),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
