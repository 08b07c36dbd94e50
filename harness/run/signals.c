/* signals.c - interrupts of a run. The first SIGINT/SIGTERM sets a flag and wakes a watcher
 * thread that stops the running solution (runner_kill: not async-signal-safe, hence the thread);
 * the engine then stops, writes the reports of what finished, stops PostgreSQL and exits 130. A
 * second signal (what `timeout` and CI cancellation send) has the watcher kill the solution's
 * tree at once (runner_kill_now), and the engine still writes what finished and exits 130. A
 * third one cleans up the servers from the handler and exits 130 there and then (a boxed
 * solution dies with the harness: bwrap --die-with-parent). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "engine_priv.h"

static volatile sig_atomic_t interrupted;
static int wake_pipe[2] = {-1, -1};
static pthread_mutex_t current_mu = PTHREAD_MUTEX_INITIALIZER;
static runner_proc *current_proc;
static pthread_t watcher_thread;
static bool watcher_started;

static void on_signal(int sig)
{
    (void)sig;
    if (interrupted >= 2 || wake_pipe[1] < 0) {
        pgsvc_emergency_cleanup();
        _exit(HX_EXIT_INTERRUPTED);
    }
    interrupted++;
    char c = (char)interrupted; /* 1: stop politely, 2: kill now */
    ssize_t w = write(wake_pipe[1], &c, 1);
    (void)w;
}

static void *watcher(void *arg)
{
    (void)arg;
    for (;;) {
        char c = 0;
        ssize_t r = read(wake_pipe[0], &c, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0 || c == 0) break;
        pthread_mutex_lock(&current_mu);
        if (current_proc) {
            if (c >= 2)
                runner_kill_now(current_proc);
            else
                runner_kill(current_proc);
        }
        pthread_mutex_unlock(&current_mu);
    }
    return NULL;
}

void run_set_current(runner_proc *p)
{
    pthread_mutex_lock(&current_mu);
    current_proc = p;
    pthread_mutex_unlock(&current_mu);
    if (p && interrupted >= 2)
        runner_kill_now(p);
    else if (p && interrupted)
        runner_kill(p);
}

bool run_interrupted(void)
{
    return interrupted != 0;
}

void run_signals_install(void)
{
    if (pipe(wake_pipe) == 0 && pthread_create(&watcher_thread, NULL, watcher, NULL) == 0)
        watcher_started = true;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void run_signals_remove(void)
{
    if (watcher_started) {
        char z = 0;
        ssize_t w = write(wake_pipe[1], &z, 1);
        (void)w;
        pthread_join(watcher_thread, NULL);
        watcher_started = false;
    }
    if (wake_pipe[0] >= 0) {
        close(wake_pipe[0]);
        close(wake_pipe[1]);
        wake_pipe[0] = wake_pipe[1] = -1;
    }
}
