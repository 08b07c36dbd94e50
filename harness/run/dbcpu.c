/* dbcpu.c - the database CPU of one scenario: the CPU the embedded PostgreSQL's backends of the
 * scenario's role used while a meter ran (engine.h, run_dbcpu_*; docs/cost-models.md "What is
 * measured").
 *
 * Counting the whole server (as this once did) also counted autovacuum, the checkpointer, the
 * background and WAL writers, the harness's own sessions and, with --jobs, the other scenarios'
 * backends: noise that moved the fitted per-record cost by tens of percent between two runs of
 * the same solution. A meter counts only the postmaster's children whose process title names the
 * role and its database ("postgres: <role> <role> <host> <activity>", a walsender's too) and the
 * parallel workers of those, less the backends it was told to skip (the harness's own session).
 *
 * A sampling thread reads the postmaster's children every interval: each child's CPU (from
 * /proc/<pid>/schedstat in ns, else /proc/<pid>/stat in ticks) and, once the backend has set it,
 * its title. A backend that ends is reaped by the postmaster, whose cutime + cstime then grow by
 * all the CPU it used: each interval, that growth less what the vanished children had used at
 * their last sample is their unseen tail, given to the role in proportion to how many of the
 * children that vanished in that interval were the role's. So a backend's CPU up to its exit is
 * counted though it ended between two samples. What is left out: a child that came and went
 * within one interval while no seen child ended (its class is unknown), and a backend's CPU
 * before the meter started (a long-lived session counts from the start). */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "sampler.h"
#include "util.h"

enum { DBCPU_PENDING, DBCPU_ROLE, DBCPU_OTHER };

/* One child of the postmaster. */
typedef struct dbcpu_proc {
    pid_t pid;
    uint64_t start; /* start time in ticks since boot: a reused pid is another process */
    double base;    /* its CPU when the meter started (0 for one born after), s */
    double last;    /* its CPU since fork at the last sample, s */
    int kind;       /* DBCPU_*: PENDING until the backend set its title */
    bool seen;      /* listed by the current sample */
} dbcpu_proc;

struct run_dbcpu {
    pid_t pm;        /* the postmaster */
    char role[64];   /* the scenario's role, also its database's name */
    pid_t skip[8];   /* backends not counted (the harness's own sessions) */
    size_t nskip;    /* how many */
    int interval_ms; /* between samples */
    dbcpu_proc *p;   /* the children seen and alive at the last sample */
    size_t n, cap;   /* used and allocated */
    double reaped;   /* the postmaster's cutime + cstime at the last sample, s */
    double ended;    /* CPU of the role's backends that ended (their tails included), s */
    bool started;    /* the first sample was taken */
    bool broken;     /* the postmaster was not readable at the start: nothing is measured */
    pthread_t th;
    bool th_running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;       /* under mu */
    char buf[16384]; /* the children list */
};

static ssize_t read_text(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

/* CPU seconds since fork of pid (schedstat's exact run time, else stat's ticks); false when it is
 * gone. */
static bool proc_cpu(pid_t pid, double *cpu, uint64_t *start)
{
    uint64_t t[4];
    if (!sampler_proc_times(pid, t, start)) return false;
    char path[64], buf[128];
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    if (read_text(path, buf, sizeof buf) > 0) {
        char *end = NULL;
        unsigned long long ns = strtoull(buf, &end, 10);
        if (end != buf) {
            *cpu = (double)ns / 1e9;
            return true;
        }
    }
    *cpu = (double)(t[0] + t[1]) / (double)sysconf(_SC_CLK_TCK);
    return true;
}

static dbcpu_proc *find(run_dbcpu *m, pid_t pid)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->p[i].pid == pid) return &m->p[i];
    return NULL;
}

/* Classify child x by its process title, once the backend has set one. */
static void classify(run_dbcpu *m, dbcpu_proc *x)
{
    for (size_t i = 0; i < m->nskip; i++)
        if (m->skip[i] == x->pid) {
            x->kind = DBCPU_OTHER;
            return;
        }
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)x->pid);
    if (read_text(path, buf, sizeof buf) <= 0) return;
    /* Before the backend read its startup packet it still carries the postmaster's command. */
    if (strncmp(buf, "postgres: ", 10) != 0) return;
    char *tok[6] = {0}, *save = NULL;
    size_t nt = 0;
    for (char *w = strtok_r(buf + 10, " ", &save); w && nt < 6; w = strtok_r(NULL, " ", &save))
        tok[nt++] = w;
    size_t i = 0;
    if (i < nt && tok[i][strlen(tok[i]) - 1] == ':') i++; /* "<cluster_name>: " */
    x->kind = DBCPU_OTHER;
    if (nt >= i + 5 && strcmp(tok[i], "parallel") == 0 && strcmp(tok[i + 1], "worker") == 0) {
        /* "parallel worker for PID <leader>": the leader's */
        dbcpu_proc *l = find(m, (pid_t)strtol(tok[i + 4], NULL, 10));
        if (l && l->kind == DBCPU_ROLE) x->kind = DBCPU_ROLE;
        return;
    }
    if (i < nt && strcmp(tok[i], "walsender") == 0) i++;
    if (i + 1 < nt && strcmp(tok[i], m->role) == 0 && strcmp(tok[i + 1], m->role) == 0)
        x->kind = DBCPU_ROLE;
}

/* The postmaster's children: /proc/<pm>/task/<pm>/children, else a walk of /proc. Returns how
 * many pids were written (at most cap). */
static size_t children(run_dbcpu *m, pid_t *out, size_t cap)
{
    char path[64], *buf = m->buf;
    pid_t pm = m->pm;
    size_t n = 0;
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pm, (int)pm);
    if (read_text(path, buf, sizeof m->buf) >= 0) {
        char *save = NULL;
        for (char *w = strtok_r(buf, " \n", &save); w && n < cap; w = strtok_r(NULL, " \n", &save))
            out[n++] = (pid_t)strtol(w, NULL, 10);
        return n;
    }
    DIR *d = opendir("/proc");
    if (!d) return 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < cap) {
        pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
        pid_t ppid = 0;
        if (pid > 0 && sampler_proc_stat(pid, NULL, &ppid, NULL, NULL) && ppid == pm)
            out[n++] = pid;
    }
    closedir(d);
    return n;
}

/* One sample. The first sets the baselines. */
static void sample(run_dbcpu *m)
{
    uint64_t t[4];
    if (!sampler_proc_times(m->pm, t, NULL)) return; /* the server is gone: keep what we had */
    double reaped = (double)(t[2] + t[3]) / (double)sysconf(_SC_CLK_TCK);
    enum { MAXKIDS = 1024 };
    pid_t kids[MAXKIDS];
    size_t nk = children(m, kids, MAXKIDS);
    for (size_t i = 0; i < m->n; i++)
        m->p[i].seen = false;
    double vanished_cpu = 0, vanished_role = 0;
    size_t nvanished = 0, nrole = 0;
    for (size_t k = 0; k < nk; k++) {
        double cpu;
        uint64_t start;
        if (!proc_cpu(kids[k], &cpu, &start)) continue; /* it ended just now: next sample */
        dbcpu_proc *x = find(m, kids[k]);
        if (x && x->start != start) { /* the pid was reused: the old process ended */
            nvanished++;
            vanished_cpu += x->last;
            if (x->kind == DBCPU_ROLE) nrole++, vanished_role += x->last - x->base;
            x->start = start;
            x->base = 0;
            x->kind = DBCPU_PENDING;
        }
        if (!x) {
            if (m->n == m->cap) {
                size_t nc = m->cap ? m->cap * 2 : 32;
                dbcpu_proc *np = hx_realloc(m->p, nc * sizeof *np);
                if (!np) continue; /* out of memory: this child goes uncounted */
                m->p = np;
                m->cap = nc;
            }
            x = &m->p[m->n++];
            *x = (dbcpu_proc){.pid = kids[k],
                              .start = start,
                              .base = m->started ? 0 : cpu,
                              .kind = DBCPU_PENDING};
        }
        if (x->kind == DBCPU_PENDING) classify(m, x);
        x->last = cpu;
        x->seen = true;
    }
    size_t w = 0;
    for (size_t i = 0; i < m->n; i++) {
        dbcpu_proc *x = &m->p[i];
        if (x->seen) {
            m->p[w++] = *x;
            continue;
        }
        nvanished++;
        vanished_cpu += x->last;
        if (x->kind == DBCPU_ROLE) nrole++, vanished_role += x->last - x->base;
    }
    m->n = w;
    if (m->started) {
        /* What the postmaster reaped beyond what its vanished children had used when last seen:
         * their tails (and any child that came and went unseen), shared by count. The reaped
         * total is in ticks, so one interval's tail may be a tick off either way; the sum over
         * the intervals is not. */
        double tail = reaped - m->reaped - vanished_cpu;
        m->ended += vanished_role;
        if (nvanished) m->ended += tail * (double)nrole / (double)nvanished;
    }
    m->reaped = reaped;
    m->started = true;
}

static void *meter_main(void *arg)
{
    run_dbcpu *m = arg;
    pthread_mutex_lock(&m->mu);
    while (!m->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)m->interval_ms * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&m->cv, &m->mu, &ts);
        if (m->stop) break;
        pthread_mutex_unlock(&m->mu);
        sample(m);
        pthread_mutex_lock(&m->mu);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

run_dbcpu *run_dbcpu_start(pid_t postmaster, const char *role, const pid_t *skip, size_t nskip,
                           int interval_ms)
{
    if (postmaster <= 0 || !role) return NULL;
    run_dbcpu *m = hx_calloc(1, sizeof *m);
    if (!m) return NULL;
    m->pm = postmaster;
    snprintf(m->role, sizeof m->role, "%s", role);
    for (size_t i = 0; i < nskip && m->nskip < sizeof m->skip / sizeof m->skip[0]; i++)
        if (skip[i] > 0) m->skip[m->nskip++] = skip[i];
    m->interval_ms = interval_ms > 0 ? interval_ms : 10;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    uint64_t t[4];
    if (!sampler_proc_times(postmaster, t, NULL)) {
        m->broken = true;
        return m;
    }
    sample(m);
    m->th_running = pthread_create(&m->th, NULL, meter_main, m) == 0;
    return m;
}

double run_dbcpu_stop(run_dbcpu *m)
{
    if (!m) return NAN;
    if (m->th_running) {
        pthread_mutex_lock(&m->mu);
        m->stop = true;
        pthread_cond_signal(&m->cv);
        pthread_mutex_unlock(&m->mu);
        pthread_join(m->th, NULL);
    }
    double total = NAN;
    if (!m->broken) {
        sample(m);
        total = m->ended;
        for (size_t i = 0; i < m->n; i++)
            if (m->p[i].kind == DBCPU_ROLE) total += m->p[i].last - m->p[i].base;
        if (total < 0) total = 0;
    }
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    hx_free(m->p);
    hx_free(m);
    return total;
}
