/* signals.c - interrupts of a run. The first SIGINT/SIGTERM sets a flag and wakes a watcher
 * thread that stops the running solution (runner_kill: not async-signal-safe, hence the thread);
 * the engine then stops, writes the reports of what finished, stops PostgreSQL and exits 130. A
 * second signal (what `timeout` and CI cancellation send) has the watcher kill the solution's
 * tree at once (runner_kill_now), and the engine still writes what finished and exits 130. A
 * third one cleans up the servers from the handler and exits 130 there and then (a boxed
 * solution dies with the harness: bwrap --die-with-parent). The check queries running at the first
 * signal are cancelled (PQcancel) by the watcher, again every 200 ms while they are registered, so
 * a query sent just after the signal is cancelled too. With --jobs the workers (jobs.c) get each
 * signal passed on and handle it the same way, each for its own scenario.
 *
 * What a run killed harder (kill -9, the OOM killer) leaves behind, the next run reclaims: the
 * cgroup leaves here (run_reclaim_cgroups), the PostgreSQL temp folders and their servers in
 * pgsvc.c. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine_priv.h"

static volatile sig_atomic_t interrupted;
static int wake_pipe[2] = {-1, -1};
static pthread_mutex_t current_mu = PTHREAD_MUTEX_INITIALIZER;
static runner_proc *current_proc;
static pthread_t watcher_thread;
static bool watcher_started;
/* The sessions whose running query an interrupt cancels (under current_mu). */
#define MAX_CANCELS 64
static PGcancel *cancels[MAX_CANCELS];

/* --jobs: the worker processes (jobs.c), each in a process group of its own so a terminal's
 * Ctrl-C reaches only us; every signal we get is passed on to each of them once, and each handles
 * it as a serial run would. `sent` counts the signals a worker was sent, so the handler and
 * run_signals_forward() never pass one on twice. */
static struct {
    volatile pid_t pid; /* 0: a free slot */
    int sent;           /* signals passed on (atomic) */
} workers[RUN_MAX_JOBS];

static void forward(void)
{
    int n = interrupted;
    for (int i = 0; i < RUN_MAX_JOBS; i++) {
        pid_t pid = workers[i].pid;
        if (pid <= 0) continue;
        int s = __atomic_load_n(&workers[i].sent, __ATOMIC_SEQ_CST);
        while (s < n) {
            if (__atomic_compare_exchange_n(&workers[i].sent, &s, s + 1, false, __ATOMIC_SEQ_CST,
                                            __ATOMIC_SEQ_CST))
                kill(pid, SIGINT), s++;
        }
    }
}

static void on_signal(int sig)
{
    (void)sig;
    if (interrupted >= 2 || wake_pipe[1] < 0) {
        interrupted++;
        forward();
        pgsvc_emergency_cleanup();
        _exit(HX_EXIT_INTERRUPTED);
    }
    interrupted++;
    forward();
    char c = (char)interrupted; /* 1: stop politely, 2: kill now */
    ssize_t w = write(wake_pipe[1], &c, 1);
    (void)w;
}

/* Cancel every registered session's running query (current_mu held). */
static bool cancel_queries(void)
{
    bool any = false;
    for (size_t i = 0; i < MAX_CANCELS; i++) {
        if (!cancels[i]) continue;
        char err[256];
        PQcancel(cancels[i], err, sizeof err); /* a failure leaves the query to its timeout */
        any = true;
    }
    return any;
}

static void *watcher(void *arg)
{
    (void)arg;
    bool again = false; /* interrupted with sessions registered: cancel them again shortly */
    for (;;) {
        struct pollfd p = {.fd = wake_pipe[0], .events = POLLIN};
        int n = poll(&p, 1, again ? 200 : -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        if (n == 0) {
            pthread_mutex_lock(&current_mu);
            again = cancel_queries();
            pthread_mutex_unlock(&current_mu);
            continue;
        }
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
        again = cancel_queries();
        pthread_mutex_unlock(&current_mu);
    }
    return NULL;
}

int run_cancel_add(PGconn *conn)
{
    PGcancel *k = conn ? PQgetCancel(conn) : NULL;
    if (!k) return -1;
    pthread_mutex_lock(&current_mu);
    int slot = -1;
    for (int i = 0; i < MAX_CANCELS && slot < 0; i++)
        if (!cancels[i]) slot = i;
    if (slot >= 0) cancels[slot] = k;
    pthread_mutex_unlock(&current_mu);
    if (slot < 0) PQfreeCancel(k);
    /* Registered after the signal: the watcher has cancelled what there was; this one too. */
    if (slot >= 0 && interrupted) {
        char err[256];
        PQcancel(k, err, sizeof err);
    }
    return slot;
}

void run_cancel_remove(int slot)
{
    if (slot < 0 || slot >= MAX_CANCELS) return;
    pthread_mutex_lock(&current_mu);
    PGcancel *k = cancels[slot];
    cancels[slot] = NULL;
    pthread_mutex_unlock(&current_mu);
    if (k) PQfreeCancel(k);
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

void run_signals_add_worker(pid_t pid)
{
    for (int i = 0; i < RUN_MAX_JOBS; i++)
        if (workers[i].pid == 0) {
            __atomic_store_n(&workers[i].sent, 0, __ATOMIC_SEQ_CST);
            __atomic_store_n(&workers[i].pid, pid, __ATOMIC_SEQ_CST);
            break;
        }
    forward(); /* a signal that came while it was being forked */
}

void run_signals_remove_worker(pid_t pid)
{
    for (int i = 0; i < RUN_MAX_JOBS; i++)
        if (workers[i].pid == pid) __atomic_store_n(&workers[i].pid, 0, __ATOMIC_SEQ_CST);
}

void run_signals_forward(void)
{
    forward();
}

void run_signals_worker_init(void)
{
    /* Only the forking thread came along: the parent's watcher, its pipe and its workers are
     * not ours, and a lock its watcher held stays held here unless made anew. */
    pthread_mutex_init(&current_mu, NULL);
    current_proc = NULL;
    for (size_t i = 0; i < MAX_CANCELS; i++)
        cancels[i] = NULL; /* the engine's sessions, not ours */
    interrupted = 0;
    watcher_started = false;
    if (wake_pipe[0] >= 0) {
        close(wake_pipe[0]);
        close(wake_pipe[1]);
    }
    wake_pipe[0] = wake_pipe[1] = -1;
    for (int i = 0; i < RUN_MAX_JOBS; i++)
        workers[i].pid = 0;
    run_signals_install();
}

/* ---- leftovers of killed runs ---- */

/* The harness pid of a leaf called "harness-<pid>-<n>", or 0 when name is not one. */
static pid_t leaf_owner(const char *name)
{
    if (strncmp(name, "harness-", 8) != 0 || !isdigit((unsigned char)name[8])) return 0;
    char *end;
    long pid = strtol(name + 8, &end, 10);
    if (pid <= 0 || pid > INT32_MAX || *end != '-' || !isdigit((unsigned char)end[1])) return 0;
    for (end++; isdigit((unsigned char)*end); end++)
        ;
    return *end ? 0 : (pid_t)pid;
}

/* Kill everything in the cgroup at dir and below; the number of processes signalled. */
static size_t kill_cgroup(const char *dir)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/cgroup.kill", dir);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t w = write(fd, "1", 1);
        (void)w;
        close(fd);
    }
    /* Also each process by pid: kernels before 5.14 have no cgroup.kill, and this counts them. */
    size_t n = 0;
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    FILE *f = fopen(path, "re");
    long pid;
    while (f && fscanf(f, "%ld", &pid) == 1)
        if (pid > 1 && kill((pid_t)pid, SIGKILL) == 0) n++;
    if (f) fclose(f);
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_type != DT_DIR || de->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        n += kill_cgroup(path);
    }
    if (d) closedir(d);
    return n;
}

/* Remove the cgroup at dir and its children (a cgroup goes once its processes are reaped:
 * retry a while on EBUSY). 0 or the errno of the last attempt. */
static int remove_cgroup(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_type != DT_DIR || de->d_name[0] == '.') continue;
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        remove_cgroup(path);
    }
    if (d) closedir(d);
    for (int i = 0; i < 200; i++) {
        if (rmdir(dir) == 0 || errno == ENOENT) return 0;
        if (errno != EBUSY) return errno;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    return EBUSY;
}

size_t run_reclaim_cgroups(const char *parent, void (*warn)(void *ud, const char *msg), void *ud)
{
    char def[4096];
    if (!parent) {
        if (!runner_cgroup_parent(def, sizeof def)) return 0;
        parent = def;
    }
    DIR *d = opendir(parent);
    if (!d) return 0;
    size_t removed = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        pid_t owner = leaf_owner(de->d_name);
        /* alive, or alive and not ours to signal (EPERM): its run's leaf is not a leftover */
        if (owner <= 0 || owner == getpid() || kill(owner, 0) == 0 || errno != ESRCH) continue;
        char leaf[PATH_MAX + 300], msg[PATH_MAX + 600];
        snprintf(leaf, sizeof leaf, "%s/%s", parent, de->d_name);
        struct stat st;
        if (lstat(leaf, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        size_t killed = kill_cgroup(leaf);
        int err = remove_cgroup(leaf);
        if (err == 0) {
            removed++;
            snprintf(msg, sizeof msg,
                     "reclaimed cgroup '%s', left by a harness run that was killed (pid %d)%s",
                     leaf, (int)owner, killed ? "; killed the processes still in it" : "");
        } else {
            snprintf(msg, sizeof msg,
                     "cannot remove cgroup '%s', left by a harness run that was killed (pid %d): "
                     "%s; remove it by hand (rmdir)",
                     leaf, (int)owner, strerror(err));
        }
        if (warn) warn(ud, msg);
    }
    closedir(d);
    return removed;
}
