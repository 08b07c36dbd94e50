/* sampler.c - see sampler.h.
 *
 * The /proc path: each sample lists /proc, reads the stat of pids it has not seen before (to find
 * new members of the tree by their parent) and the stat and io of the tree's members. A process
 * that leaves the tree is handled so that nothing is counted twice or lost: when its parent is a
 * live member, the parent reaps it and its CPU and I/O move into the parent's cutime/cstime and io
 * counters; otherwise (orphaned, reaped by init or a subreaper) its last seen totals are kept as
 * "lost" and added back. Totals are kept monotonic and combined with the leader's wait4 rusage at
 * the end. The cgroup path reads cpu.stat (exact, dead processes included), memory.current,
 * memory.peak and io.stat when present, and the /proc files of cgroup.procs for the rest; a last
 * reading after the tree is gone (sampler_finish) takes in what the cgroup counted since the last
 * sample. Peak RSS is the largest of the tree's summed RSS at a sample, the cgroup's memory.peak
 * and each process's own VmHWM (its peak since exec, so one that peaked and shrank between
 * samples is not missed). */
#include "sampler.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A process seen in the tree. */
typedef struct tproc {
    pid_t pid;         /* its id */
    pid_t ppid;        /* parent at the last sample */
    uint64_t start;    /* start time in ticks: tells a reused pid apart */
    uint64_t ut, st;   /* own user/system ticks */
    uint64_t cut, cst; /* ticks of children it reaped */
    uint64_t rss;      /* resident pages */
    uint64_t hwm;      /* its own peak resident bytes since its last exec (VmHWM) */
    uint64_t rb, wb;   /* storage read/write bytes, reaped children included */
    bool alive;        /* present at the last sample */
    bool zombie;       /* exited, not yet reaped */
} tproc;

struct sampler {
    pthread_mutex_t mu; /* guards everything below */
    pid_t root;         /* the leader */
    char *cg;           /* cgroup dir or NULL, owned */
    int hz;             /* rate of the own thread */
    pthread_t th;       /* the own thread, when running */
    bool running;       /* th is valid */
    bool stop;          /* asks th to end */
    pthread_cond_t cv;  /* wakes th on stop */
    tproc *procs;       /* every process ever seen in the tree */
    size_t n, cap;      /* used and allocated entries of procs */
    pid_t *others;      /* sorted pids of the last scan that are not in the tree */
    size_t n_others, cap_others;
    bool oom;                  /* an allocation failed; the sample was partial */
    int64_t t0_ns, last_ns;    /* start and last sample time */
    double last_cpu_s;         /* tree CPU at the last sample, for the series' cpu% */
    uint64_t lost_ut, lost_st; /* ticks of members that left without a member reaping them */
    uint64_t lost_rb, lost_wb; /* the same for I/O bytes */
    double user_s, sys_s;      /* monotonic tree CPU totals */
    uint64_t rb, wb;           /* monotonic tree I/O totals */
    bool cg_cpu, cg_io;        /* cgroup files that gave the numbers */
    uint64_t rss_peak;         /* peak resident bytes */
    uint64_t hwm_peak;         /* the largest one process's VmHWM: peaks between samples */
    long double rss_sum;       /* sum over samples, for the mean */
    uint32_t samples;          /* samples taken */
    int64_t self_ns;           /* CPU spent in sampler_sample */
    sampler_point series[SAMPLER_SERIES_MAX]; /* down-sampled timeline */
    size_t n_series;                          /* points in series */
    uint32_t stride;                          /* raw samples per point */
    uint32_t acc_n;                           /* raw samples in the pending point */
    double acc_cpu;                           /* their summed cpu% */
    uint64_t acc_rss;                         /* their max rss */
};

static long tck;
static long pagesz;
static long ncores; /* sampler_cpus(): the most a tree can use at once, x 100 % */

/* Read a small file into buf (NUL-terminated); returns bytes or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = 0;
    return (ssize_t)len;
}

/* Parsed /proc/<pid>/stat fields we use. */
typedef struct pstat {
    char state;
    pid_t ppid, pgid, sid;
    uint64_t ut, st, cut, cst, start, rss;
} pstat;

static bool read_pstat(pid_t pid, pstat *p)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_small(path, buf, sizeof buf) <= 0) return false;
    /* comm may hold spaces and parentheses: fields start after the last ')'. */
    char *q = strrchr(buf, ')');
    if (!q) return false;
    unsigned long long f[24] = {0};
    char st = 0;
    int n = sscanf(q + 2,
                   "%c %llu %llu %llu %*s %*s %*s %*s %*s %*s %*s %llu %llu %llu %llu %*s %*s "
                   "%*s %*s %llu %*s %llu",
                   &st, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8]);
    if (n != 10) return false;
    p->state = st;
    p->ppid = (pid_t)f[0];
    p->pgid = (pid_t)f[1];
    p->sid = (pid_t)f[2];
    p->ut = f[3];
    p->st = f[4];
    p->cut = f[5];
    p->cst = f[6];
    p->start = f[7];
    p->rss = f[8];
    return true;
}

bool sampler_proc_stat(pid_t pid, char *state, pid_t *ppid, pid_t *pgid, uint64_t *start)
{
    pstat p;
    if (!read_pstat(pid, &p)) return false;
    if (state) *state = p.state;
    if (ppid) *ppid = p.ppid;
    if (pgid) *pgid = p.pgid;
    if (start) *start = p.start;
    return true;
}

bool sampler_proc_times(pid_t pid, uint64_t times[4], uint64_t *start)
{
    pstat p;
    if (!read_pstat(pid, &p)) return false;
    times[0] = p.ut;
    times[1] = p.st;
    times[2] = p.cut;
    times[3] = p.cst;
    if (start) *start = p.start;
    return true;
}

static void read_pio(pid_t pid, uint64_t *rb, uint64_t *wb)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
    if (read_small(path, buf, sizeof buf) <= 0) return;
    char *p = strstr(buf, "\nread_bytes:");
    if (p) *rb = strtoull(p + 12, NULL, 10);
    p = strstr(buf, "\nwrite_bytes:");
    if (p) *wb = strtoull(p + 13, NULL, 10);
}

static tproc *find(sampler *s, pid_t pid)
{
    for (size_t i = s->n; i-- > 0;)
        if (s->procs[i].pid == pid) return &s->procs[i];
    return NULL;
}

static tproc *find_alive(sampler *s, pid_t pid)
{
    tproc *t = find(s, pid);
    return t && t->alive ? t : NULL;
}

static tproc *add(sampler *s, pid_t pid, const pstat *p)
{
    tproc *old = find(s, pid);
    if (old && old->start == p->start) return old;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        tproc *np = hx_realloc(s->procs, nc * sizeof *np);
        if (!np) {
            s->oom = true;
            return NULL;
        }
        s->procs = np;
        s->cap = nc;
    }
    if (old) /* the pid was reused: the old one is gone */
        old->pid = -old->pid;
    tproc *t = &s->procs[s->n++];
    memset(t, 0, sizeof *t);
    t->pid = pid;
    t->start = p->start;
    t->alive = true;
    return t;
}

/* VmHWM of /proc/<pid>/status in bytes, or 0. It belongs to the address space the process has
 * since its last exec (fork's copy of the parent's pages included until then), so it holds the
 * peak a process reached between two samples. */
static uint64_t read_hwm(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (read_small(path, buf, sizeof buf) <= 0) return 0;
    char *p = strstr(buf, "\nVmHWM:");
    return p ? strtoull(p + 7, NULL, 10) * 1024 : 0;
}

static void update(tproc *t, const pstat *p, bool want_io)
{
    t->ppid = p->ppid;
    /* A zombie's counters are final; a reaped one vanishes. Keep the maxima so a racing read of a
     * dying process cannot move totals backwards. */
    t->ut = p->ut > t->ut ? p->ut : t->ut;
    t->st = p->st > t->st ? p->st : t->st;
    t->cut = p->cut > t->cut ? p->cut : t->cut;
    t->cst = p->cst > t->cst ? p->cst : t->cst;
    t->zombie = p->state == 'Z' || p->state == 'X';
    t->rss = t->zombie ? 0 : p->rss;
    if (!t->zombie) {
        uint64_t hwm = read_hwm(t->pid);
        t->hwm = hwm > t->hwm ? hwm : t->hwm;
    }
    if (want_io && !t->zombie) read_pio(t->pid, &t->rb, &t->wb);
    t->alive = true;
}

static int cmp_pid(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

static bool push_other(sampler *s, pid_t **v, size_t *n, size_t *cap, pid_t pid)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        pid_t *np = hx_realloc(*v, nc * sizeof *np);
        if (!np) {
            s->oom = true;
            return false;
        }
        *v = np;
        *cap = nc;
    }
    (*v)[(*n)++] = pid;
    return true;
}

/* A member disappeared: decide whether a live member reaped it (its counters moved into the
 * parent's) or it is lost unless we keep its totals. */
static void retire(sampler *s, tproc *t)
{
    t->alive = false;
    if (find_alive(s, t->ppid)) return;
    s->lost_ut += t->ut + t->cut;
    s->lost_st += t->st + t->cst;
    s->lost_rb += t->rb;
    s->lost_wb += t->wb;
}

/* Mark-and-update for the /proc path. */
static void scan_proc(sampler *s, bool want_io)
{
    DIR *d = opendir("/proc");
    if (!d) return;
    pid_t *now = NULL, *fresh = NULL;
    size_t n_now = 0, cap_now = 0, n_fresh = 0, cap_fresh = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0])) continue;
        push_other(s, &now, &n_now, &cap_now, (pid_t)atoi(de->d_name));
    }
    closedir(d);
    qsort(now, n_now, sizeof *now, cmp_pid);

    for (size_t i = 0; i < s->n; i++)
        if (s->procs[i].alive && s->procs[i].pid > 0 &&
            !bsearch(&s->procs[i].pid, now, n_now, sizeof *now, cmp_pid))
            retire(s, &s->procs[i]);

    pid_t *others = NULL;
    size_t n_others = 0, cap_others = 0;
    for (size_t i = 0; i < n_now; i++) {
        pid_t pid = now[i];
        tproc *t = find_alive(s, pid);
        if (t) {
            pstat p;
            if (read_pstat(pid, &p) && p.start == t->start)
                update(t, &p, want_io);
            else
                retire(s, t);
        } else if (s->others && bsearch(&pid, s->others, s->n_others, sizeof pid, cmp_pid)) {
            push_other(s, &others, &n_others, &cap_others, pid);
        } else {
            push_other(s, &fresh, &n_fresh, &cap_fresh, pid);
        }
    }
    /* New pids join when their parent is a member; repeat for chains born between samples. */
    pstat *fp = n_fresh ? hx_calloc(n_fresh, sizeof *fp) : NULL;
    bool *ok = n_fresh ? hx_calloc(n_fresh, sizeof *ok) : NULL;
    if (n_fresh && (!fp || !ok)) s->oom = true;
    for (size_t i = 0; fp && ok && i < n_fresh; i++)
        ok[i] = read_pstat(fresh[i], &fp[i]);
    for (bool changed = true; changed && fp && ok;) {
        changed = false;
        for (size_t i = 0; i < n_fresh; i++) {
            if (!ok[i]) continue;
            if (fresh[i] == s->root || find_alive(s, fp[i].ppid)) {
                tproc *t = add(s, fresh[i], &fp[i]);
                if (t) update(t, &fp[i], want_io);
                ok[i] = false;
                changed = true;
            }
        }
    }
    for (size_t i = 0; fp && ok && i < n_fresh; i++)
        if (ok[i]) push_other(s, &others, &n_others, &cap_others, fresh[i]);
    qsort(others, n_others, sizeof *others, cmp_pid);
    hx_free(s->others);
    s->others = others;
    s->n_others = n_others;
    s->cap_others = cap_others;
    hx_free(fp);
    hx_free(ok);
    hx_free(fresh);
    hx_free(now);
}

/* The cgroup path's membership: cgroup.procs. */
static void scan_cgroup_procs(sampler *s, bool want_io)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/cgroup.procs", s->cg);
    FILE *f = fopen(path, "re");
    if (!f) return;
    for (size_t i = 0; i < s->n; i++)
        s->procs[i].alive = false;
    long pid;
    while (fscanf(f, "%ld", &pid) == 1) {
        pstat p;
        if (!read_pstat((pid_t)pid, &p)) continue;
        tproc *t = add(s, (pid_t)pid, &p);
        if (t) update(t, &p, want_io);
    }
    fclose(f);
}

static bool cg_read_u64(sampler *s, const char *file, const char *key, uint64_t *out)
{
    char path[4200], buf[4096];
    snprintf(path, sizeof path, "%s/%s", s->cg, file);
    if (read_small(path, buf, sizeof buf) <= 0) return false;
    if (!key) {
        *out = strtoull(buf, NULL, 10);
        return true;
    }
    size_t kl = strlen(key);
    for (char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
            *out = strtoull(p + kl + 1, NULL, 10);
            return true;
        }
    return false;
}

/* io.stat: one line per device, "maj:min rbytes=N wbytes=N ...". */
static bool cg_read_io(sampler *s, uint64_t *rb, uint64_t *wb)
{
    char path[4200], buf[8192];
    snprintf(path, sizeof path, "%s/io.stat", s->cg);
    if (read_small(path, buf, sizeof buf) < 0) return false;
    uint64_t r = 0, w = 0;
    for (char *p = buf; (p = strstr(p, "bytes="));) {
        uint64_t v = strtoull(p + 6, NULL, 10);
        if (p > buf && p[-1] == 'r')
            r += v;
        else if (p > buf && p[-1] == 'w')
            w += v;
        p += 6;
    }
    *rb = r;
    *wb = w;
    return true;
}

static void add_point(sampler *s, double t, double cpu, uint64_t rss)
{
    s->acc_cpu += cpu;
    s->acc_rss = rss > s->acc_rss ? rss : s->acc_rss;
    if (++s->acc_n < s->stride) return;
    if (s->n_series == SAMPLER_SERIES_MAX) {
        for (size_t i = 0; i < SAMPLER_SERIES_MAX / 2; i++) {
            sampler_point *a = &s->series[2 * i], *b = &s->series[2 * i + 1];
            s->series[i] = (sampler_point){b->t_s, (a->cpu_pct + b->cpu_pct) / 2,
                                           a->rss > b->rss ? a->rss : b->rss};
        }
        s->n_series = SAMPLER_SERIES_MAX / 2;
        s->stride *= 2;
    }
    s->series[s->n_series++] = (sampler_point){t, s->acc_cpu / s->acc_n, s->acc_rss};
    s->acc_n = 0;
    s->acc_cpu = 0;
    s->acc_rss = 0;
}

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One reading; a final one (the tree is gone) adds its CPU to the series but is left out of the
 * RSS mean, which is over the tree's life. */
static void sample(sampler *s, bool final)
{
    int64_t c0 = thread_cpu_ns();
    pthread_mutex_lock(&s->mu);
    uint64_t cg_user = 0, cg_sys = 0, cg_mem = 0, cg_rb = 0, cg_wb = 0;
    bool have_cpu = false, have_mem = false, have_io = false;
    if (s->cg) {
        have_cpu = cg_read_u64(s, "cpu.stat", "user_usec", &cg_user) &&
                   cg_read_u64(s, "cpu.stat", "system_usec", &cg_sys);
        have_mem = cg_read_u64(s, "memory.current", NULL, &cg_mem);
        have_io = cg_read_io(s, &cg_rb, &cg_wb);
        uint64_t peak;
        if (cg_read_u64(s, "memory.peak", NULL, &peak) && peak > s->rss_peak) s->rss_peak = peak;
        scan_cgroup_procs(s, !have_io);
    } else {
        scan_proc(s, true);
    }

    uint64_t ut = s->lost_ut, st = s->lost_st, rb = s->lost_rb, wb = s->lost_wb, rss = 0;
    for (size_t i = 0; i < s->n; i++) {
        tproc *t = &s->procs[i];
        if (!t->alive) continue;
        ut += t->ut + t->cut;
        st += t->st + t->cst;
        rb += t->rb;
        wb += t->wb;
        rss += t->rss * (uint64_t)pagesz;
        s->hwm_peak = t->hwm > s->hwm_peak ? t->hwm : s->hwm_peak;
    }
    double user = (double)ut / tck, sys = (double)st / tck;
    if (have_cpu) {
        user = cg_user / 1e6;
        sys = cg_sys / 1e6;
        s->cg_cpu = true;
    }
    if (have_io) {
        rb = cg_rb;
        wb = cg_wb;
        s->cg_io = true;
    }
    if (have_mem) rss = cg_mem;
    s->user_s = user > s->user_s ? user : s->user_s;
    s->sys_s = sys > s->sys_s ? sys : s->sys_s;
    s->rb = rb > s->rb ? rb : s->rb;
    s->wb = wb > s->wb ? wb : s->wb;
    s->rss_peak = rss > s->rss_peak ? rss : s->rss_peak;
    if (!final) {
        s->rss_sum += rss;
        s->samples++;
    }

    int64_t now = hx_now_ns();
    double cpu_s = s->user_s + s->sys_s;
    double dt = (now - s->last_ns) / 1e9;
    double pct = dt > 0 ? 100.0 * (cpu_s - s->last_cpu_s) / dt : 0;
    /* CPU time moves in clock ticks: an interval shorter than a tick that catches one reads as
     * many cores. The tree cannot use more than the machine has. */
    if (pct > 100.0 * ncores) pct = 100.0 * ncores;
    s->last_ns = now;
    s->last_cpu_s = cpu_s;
    add_point(s, (now - s->t0_ns) / 1e9, pct < 0 ? 0 : pct, rss);
    s->self_ns += thread_cpu_ns() - c0;
    pthread_mutex_unlock(&s->mu);
}

void sampler_sample(sampler *s)
{
    sample(s, false);
}

void sampler_finish(sampler *s)
{
    sample(s, true);
}

/* CPUs of a CFS quota ("200000 100000" in cgroup2's cpu.max, or v1's quota and period files),
 * rounded up; 0 when there is none. */
static long quota_cpus(const char *max_file, const char *quota_file, const char *period_file)
{
    char buf[128];
    long long quota = -1, period = 0;
    if (max_file && read_small(max_file, buf, sizeof buf) > 0) {
        if (sscanf(buf, "%lld %lld", &quota, &period) != 2) quota = -1;
    } else if (quota_file && read_small(quota_file, buf, sizeof buf) > 0) {
        quota = strtoll(buf, NULL, 10);
        if (read_small(period_file, buf, sizeof buf) > 0) period = strtoll(buf, NULL, 10);
    }
    return quota > 0 && period > 0 ? (long)((quota + period - 1) / period) : 0;
}

long sampler_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0 && CPU_COUNT(&set) < n)
        n = CPU_COUNT(&set);
    FILE *f = fopen("/proc/self/cgroup", "re");
    char line[4096];
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2 || strstr(c2 + 1, "..")) continue;
        char a[4300], b[4300], c[4300];
        long q = 0;
        if (c2 == c1 + 1) { /* cgroup2: "0::/path" */
            snprintf(a, sizeof a, "/sys/fs/cgroup%s/cpu.max", c2 + 1);
            q = quota_cpus(a, NULL, NULL);
        } else if (strstr(c1, "cpu,") || strstr(c1, ":cpu:") || strstr(c1, ",cpu:")) {
            *c2 = 0; /* v1: "4:cpu,cpuacct:/path" */
            snprintf(a, sizeof a, "/sys/fs/cgroup/%s%s/cpu.cfs_quota_us", c1 + 1, c2 + 1);
            snprintf(b, sizeof b, "/sys/fs/cgroup/%s%s/cpu.cfs_period_us", c1 + 1, c2 + 1);
            snprintf(c, sizeof c, "/sys/fs/cgroup/cpu%s/cpu.cfs_quota_us", c2 + 1);
            q = quota_cpus(NULL, a, b);
            if (!q) {
                snprintf(b, sizeof b, "/sys/fs/cgroup/cpu%s/cpu.cfs_period_us", c2 + 1);
                q = quota_cpus(NULL, c, b);
            }
        }
        if (q > 0 && q < n) n = q;
    }
    if (f) fclose(f);
    return n < 1 ? 1 : n;
}

int sampler_new(pid_t root, const sampler_opts *o, sampler **out, hx_err *e)
{
    if (!tck) {
        tck = sysconf(_SC_CLK_TCK);
        pagesz = sysconf(_SC_PAGESIZE);
        ncores = sampler_cpus();
    }
    sampler *s = hx_calloc(1, sizeof *s);
    if (!s) return hx_fail(e, HX_ENOMEM, "out of memory starting the resource sampler");
    if (o && o->cgroup_dir && !(s->cg = hx_strdup(o->cgroup_dir))) {
        hx_free(s);
        return hx_fail(e, HX_ENOMEM, "out of memory starting the resource sampler");
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->root = root;
    s->hz = o && o->hz > 0 ? o->hz : 10;
    s->stride = 1;
    s->t0_ns = s->last_ns = hx_now_ns();
    /* Seed the tree with the root now, so a root that forks and exits at once still has its
     * children found by their parent link. */
    pstat p;
    if (read_pstat(root, &p)) {
        tproc *t = add(s, root, &p);
        if (t) update(t, &p, false);
    }
    *out = s;
    return 0;
}

static void *thread_main(void *arg)
{
    sampler *s = arg;
    int64_t period = 1000000000LL / s->hz;
    int64_t next = hx_now_ns();
    for (;;) {
        sampler_sample(s);
        next += period;
        int64_t now = hx_now_ns();
        if (next < now) next = now;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t abs = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + (next - now);
        ts.tv_sec = abs / 1000000000;
        ts.tv_nsec = abs % 1000000000;
        pthread_mutex_lock(&s->mu);
        while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &ts) != ETIMEDOUT) {
        }
        bool stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop) return NULL;
    }
}

int sampler_start(sampler *s, hx_err *e)
{
    if (s->running) return 0;
    s->stop = false;
    int rc = pthread_create(&s->th, NULL, thread_main, s);
    if (rc) return hx_fail(e, HX_EINFRA, "cannot start the sampler thread: %s", strerror(rc));
    s->running = true;
    return 0;
}

void sampler_stop(sampler *s)
{
    if (!s->running) return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    s->running = false;
}

size_t sampler_tracked(sampler *s, pid_t *pids, size_t cap)
{
    size_t k = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n && k < cap; i++) {
        tproc *t = &s->procs[i];
        uint64_t start;
        if (t->pid > 0 && sampler_proc_stat(t->pid, NULL, NULL, NULL, &start) && start == t->start)
            pids[k++] = t->pid;
    }
    pthread_mutex_unlock(&s->mu);
    return k;
}

void sampler_held_deleted(sampler *s, const dev_t *devs, size_t ndev, hx_usage *u)
{
    memset(u, 0, sizeof *u);
    enum { MAX_PIDS = 8192, MAX_SEEN = 4096 };
    pid_t *pids = hx_malloc(MAX_PIDS * sizeof *pids);
    struct {
        dev_t dev;
        ino_t ino;
    } *seen = hx_malloc(MAX_SEEN * sizeof *seen);
    size_t nseen = 0;
    size_t np = pids && seen ? sampler_tracked(s, pids, MAX_PIDS) : 0;
    for (size_t i = 0; i < np; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/fd", (long)pids[i]);
        int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (!d) {
            if (dfd >= 0) close(dfd);
            continue;
        }
        struct dirent *de;
        struct stat st;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.') continue;
            /* stat through the descriptor's link: the inode itself, named or not */
            if (fstatat(dfd, de->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode) || st.st_nlink)
                continue;
            bool ours = false, dup = false;
            for (size_t k = 0; k < ndev; k++)
                ours |= devs[k] == st.st_dev;
            for (size_t k = 0; k < nseen && !dup; k++)
                dup = seen[k].dev == st.st_dev && seen[k].ino == st.st_ino;
            if (!ours || dup) continue;
            if (nseen < MAX_SEEN) {
                seen[nseen].dev = st.st_dev;
                seen[nseen++].ino = st.st_ino;
            }
            u->bytes += (uint64_t)st.st_blocks * 512;
            u->files++;
        }
        closedir(d);
    }
    hx_free(pids);
    hx_free(seen);
}

int sampler_summarize(sampler *s, const struct rusage *ru, sampler_summary *out, hx_err *e)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    out->cpu_user_s = s->user_s;
    out->cpu_sys_s = s->sys_s;
    out->read_bytes = s->rb;
    out->write_bytes = s->wb;
    out->rss_peak = s->rss_peak > s->hwm_peak ? s->rss_peak : s->hwm_peak;
    out->rss_mean = s->samples ? (uint64_t)(s->rss_sum / s->samples) : 0;
    out->samples = s->samples;
    out->self_cpu_s = s->self_ns / 1e9;
    out->source = s->cg_cpu ? "cgroup" : "proc";
    if (ru) {
        double u = ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6;
        double y = ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
        if (!s->cg_cpu) {
            out->cpu_user_s = u > out->cpu_user_s ? u : out->cpu_user_s;
            out->cpu_sys_s = y > out->cpu_sys_s ? y : out->cpu_sys_s;
        }
        /* ru_maxrss is the largest single process, a lower bound for the tree's peak (the runner
         * passes 0 when it could not be told apart from the harness's pages copied at fork). */
        uint64_t mr = (uint64_t)ru->ru_maxrss * 1024;
        out->rss_peak = mr > out->rss_peak ? mr : out->rss_peak;
        if (!s->cg_io) {
            uint64_t r = (uint64_t)ru->ru_inblock * 512, w = (uint64_t)ru->ru_oublock * 512;
            out->read_bytes = r > out->read_bytes ? r : out->read_bytes;
            out->write_bytes = w > out->write_bytes ? w : out->write_bytes;
        }
    }
    size_t n = s->n_series + (s->acc_n ? 1 : 0);
    if (n > SAMPLER_SERIES_MAX) n = SAMPLER_SERIES_MAX;
    if (n) {
        out->series = hx_calloc(n, sizeof *out->series);
        if (!out->series) {
            pthread_mutex_unlock(&s->mu);
            return hx_fail(e, HX_ENOMEM, "out of memory summarising resources");
        }
        memcpy(out->series, s->series, s->n_series * sizeof *out->series);
        if (s->acc_n && s->n_series < SAMPLER_SERIES_MAX)
            out->series[s->n_series] =
                (sampler_point){(s->last_ns - s->t0_ns) / 1e9, s->acc_cpu / s->acc_n, s->acc_rss};
        out->n_series = n;
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void sampler_summary_release(sampler_summary *out)
{
    hx_free(out->series);
    memset(out, 0, sizeof *out);
}

void sampler_free(sampler *s)
{
    if (!s) return;
    sampler_stop(s);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    hx_free(s->procs);
    hx_free(s->others);
    hx_free(s->cg);
    hx_free(s);
}
