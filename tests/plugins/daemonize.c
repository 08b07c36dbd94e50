/* daemonize.c - a test plugin whose check leaves a daemon behind (fork, setsid, fork again,
 * SIGTERM and SIGHUP ignored, named hx-plug-daemon), logs its pid ("daemon pid N") and reports
 * it as `actual`; with
 * `hang` it then never returns. Nothing of it may outlive its worker. */
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/plugin.h"

static int spawn_run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    int fd[2];
    if (pipe(fd) != 0) return 1;
    pid_t first = fork();
    if (first < 0) return 1;
    if (first == 0) {
        setsid();
        if (fork() != 0) _exit(0);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        prctl(PR_SET_NAME, "hx-plug-daemon");
        pid_t me = getpid();
        if (write(fd[1], &me, sizeof me) != sizeof me) _exit(1);
        close(fd[0]);
        close(fd[1]);
        for (;;)
            pause();
    }
    close(fd[1]);
    waitpid(first, NULL, 0);
    pid_t daemon_pid = 0;
    ssize_t n = read(fd[0], &daemon_pid, sizeof daemon_pid);
    close(fd[0]);
    if (n != sizeof daemon_pid) return 1;
    char actual[32];
    snprintf(actual, sizeof actual, "%d", (int)daemon_pid);
    h->log(ctx, HX_PLUGIN_LOG_INFO, "daemon pid %d", (int)daemon_pid);
    h->report(ctx, HX_PLUGIN_PASS, NULL, actual, "left a daemon behind");
    if (h->param_bool(ctx, "hang", 0))
        for (;;)
            pause();
    return 0;
}

static const hx_plugin_param_spec params[] = {{"hang", HX_PARAM_BOOL, 0, "never return"}};

static const hx_plugin_check checks[] = {
    {"spawn", "leaves a daemon", params, 1, spawn_run},
};

static const hx_plugin_descriptor desc = {
    HX_PLUGIN_DESCRIPTOR_HEAD,
    .name = "daemonize",
    .version = "1",
    .description = "test plugin: leaves a daemon behind",
    .checks = checks,
    .n_checks = 1,
};

HX_PLUGIN_EXPORT const hx_plugin_descriptor *harness_plugin_entry(void)
{
    return &desc;
}
