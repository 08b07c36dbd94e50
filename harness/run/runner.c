/* runner.c - see runner.h. */
#include "runner.h"
#include "runner_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define LOG_CAP_DEFAULT (1024 * 1024)
#define GRACE_DEFAULT_US (5 * 1000000LL)
#define SAMPLE_PERIOD_NS (100 * 1000000LL)
#define TOKEN_VAR "HARNESS_RUN_TOKEN"
#define PRLIMIT "/usr/bin/prlimit"
/* Pages the child may touch between its getrusage and exec (stack, PATH search), and the
 * kernel's lazy RSS counters: a leader's ru_maxrss within this of its resident set at fork is
 * that copy, not the solution's. */
#define FORK_RSS_SLACK_KB 4096

struct runner_proc {
    pid_t pid;                 /* the leader, also the process group id */
    int pidfd;                 /* pidfd of the leader, or -1 */
    int wakefd;                /* eventfd: runner_kill wakes runner_wait */
    int stopfd;                /* eventfd: runner_wait stops the monitor thread */
    atomic_bool kill_req;      /* runner_kill was called */
    atomic_bool kill_now;      /* runner_kill_now was called: no grace */
    bool waited;               /* runner_wait ran */
    bool exited;               /* the leader has exited (maybe not reaped yet) */
    int64_t t0_ns, t_exit_ns;  /* spawn and leader-exit times */
    int64_t grace_us;          /* SIGTERM-to-SIGKILL grace */
    char token[80];            /* TOKEN_VAR=... in the solution's environment */
    char *cg;                  /* cgroup leaf dir, or NULL on the /proc path */
    char *out_path, *err_path; /* log paths */
    logcap out, err;           /* the two logs */
    sampler *smp;              /* resource sampler, or NULL */
    pthread_t th;              /* the monitor thread */
    bool th_running;           /* th is valid */
    pthread_mutex_t mu;        /* guards ready_seen and the line buffer */
    pthread_cond_t cv;         /* signalled when ready_seen turns true */
    solution_ready ready;      /* copy of the readiness rule (pattern borrowed from opts) */
    char *ready_pattern;       /* owned copy of the pattern */
    regex_t re;                /* compiled pattern */
    bool re_ok;                /* re compiled */
    bool ready_seen;           /* a stdout line matched */
    char line[4096];           /* the current stdout line, for matching */
    size_t line_len;           /* bytes in line */
    pid_t *seen;               /* every pid the kill walk found, to reap adopted orphans */
    size_t n_seen, cap_seen;
    bool boxed;            /* the leader is bwrap: its own processes are spared SIGTERM */
    solution_limits lim;   /* the limits given (zero: none) */
    bool cg_mem, cg_pids;  /* the cgroup enforces memory / processes */
    bool box_nproc;        /* prlimit inside the box enforces processes */
    long fork_rss_kb;      /* the child's resident set just after fork: the harness's pages it
                              shares, which the kernel keeps in the leader's ru_maxrss */
    struct rusage orphans; /* rusage of the tree's orphans the harness reaped (their CPU is in
                              no wait4 of the leader) */
    /* Where it may write, measured together against lim.disk_bytes and lim.files: its output
     * folder, its /tmp, what it added to its own folder (sandbox_sol_growth). */
    int out_dfd;            /* its output folder; or -1 */
    char *tmp_dir;          /* its /tmp outside the box (removed when it ends); or NULL */
    int tmp_dfd;            /* that folder; or -1 */
    const sandbox *sb;      /* its box, for its own folder; or NULL */
    hx_usage used[PLACE_N]; /* the last reading of each (PLACE_*) */
    int unmeasured;         /* the place that could not be walked whole, or -1 */
    int db_dfd;             /* its database's folder, against lim.database_bytes; or -1 */
    bool db_over;           /* the one over the limit is the database (db_used its size) */
    bool files_over;        /* over the file limit (else the disk limit) */
    uint64_t db_used;       /* the database's size when found over */
    atomic_bool disk_kill;  /* the monitor found a place over its limit: stop the tree */
    bool disk_over;         /* a limit was passed, during the run or at its end */
};

/* How often the monitor measures where it may write (its depth: RUNNER_DISK_DEPTH). */
#define DISK_PERIOD_NS (1000 * 1000000LL)

static atomic_uint token_seq;

/* Measure the folder open at dfd into *u (nothing when dfd is -1); false when it could not be
 * walked whole. */
static bool folder_usage(int dfd, uint64_t max_files, hx_usage *u)
{
    memset(u, 0, sizeof *u);
    int fd = dfd < 0 ? -1 : openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return true;
    hx_usage_opts uo = {.max_depth = RUNNER_DISK_DEPTH, .max_files = max_files};
    return hx_dir_usage(fd, &uo, u);
}

/* The files the tree deleted but holds open, on the disks of the places it may write. */
static void held_deleted(runner_proc *p, hx_usage *u)
{
    memset(u, 0, sizeof *u);
    dev_t devs[3];
    size_t ndev = 0;
    struct stat st;
    if (p->out_dfd >= 0 && fstat(p->out_dfd, &st) == 0) devs[ndev++] = st.st_dev;
    if (p->tmp_dfd >= 0 && fstat(p->tmp_dfd, &st) == 0) devs[ndev++] = st.st_dev;
    const char *sol = sandbox_active(p->sb) ? sandbox_sol_dir(p->sb) : NULL;
    if (sol && stat(sol, &st) == 0) devs[ndev++] = st.st_dev;
    if (ndev && p->smp) sampler_held_deleted(p->smp, devs, ndev, u);
}

/* Measure where it may write and the database's folder; true when one is over its limit
 * (p->used, p->unmeasured, p->files_over, p->db_over say which and by what). */
static bool disk_check(runner_proc *p)
{
    if (p->lim.disk_bytes || p->lim.files) {
        /* Walking stops past the file limit: a million files cost no more than the limit. */
        uint64_t cap = p->lim.files ? p->lim.files + 1 : 0;
        bool ok[PLACE_N] = {folder_usage(p->out_dfd, cap, &p->used[PLACE_OUT]),
                            folder_usage(p->tmp_dfd, cap, &p->used[PLACE_TMP]),
                            sandbox_sol_growth(p->sb, cap, &p->used[PLACE_SOL]), true};
        held_deleted(p, &p->used[PLACE_HELD]);
        uint64_t bytes = 0, files = 0;
        p->unmeasured = -1;
        for (int i = 0; i < PLACE_N; i++) {
            bytes += p->used[i].bytes;
            files += i == PLACE_HELD ? 0 : p->used[i].files; /* no entry left of those */
            if (!ok[i] && p->unmeasured < 0) p->unmeasured = i;
        }
        p->files_over = p->lim.files && files > p->lim.files;
        if (p->unmeasured >= 0 || p->files_over || (p->lim.disk_bytes && bytes > p->lim.disk_bytes))
            return true;
    }
    hx_usage db;
    if (!p->lim.database_bytes) return false;
    bool ok = folder_usage(p->db_dfd, 0, &db);
    if (ok && db.bytes <= p->lim.database_bytes) return false;
    p->db_over = true;
    p->db_used = db.bytes;
    return true;
}

/* ---- the monitor thread: drains both pipes, matches readiness, samples ---- */

static void match_lines(runner_proc *p, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\n' && p->line_len < sizeof p->line - 1) {
            p->line[p->line_len++] = s[i] ? s[i] : ' ';
            continue;
        }
        if (s[i] != '\n') continue; /* an overlong line is matched on its first 4 KiB */
        p->line[p->line_len] = 0;
        if (p->line_len && p->line[p->line_len - 1] == '\r') p->line[p->line_len - 1] = 0;
        bool hit = strstr(p->line, p->ready_pattern) ||
                   (p->re_ok && regexec(&p->re, p->line, 0, NULL, 0) == 0);
        p->line_len = 0;
        if (hit) {
            pthread_mutex_lock(&p->mu);
            p->ready_seen = true;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
            return;
        }
    }
}

static bool drain(runner_proc *p, logcap *l, bool is_out)
{
    char buf[65536];
    ssize_t r = read(l->rfd, buf, sizeof buf);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (r <= 0) {
        close(l->rfd);
        l->rfd = -1;
        return false;
    }
    runner_log_put(l, buf, (size_t)r);
    if (is_out && p->ready_pattern && !p->ready_seen) match_lines(p, buf, (size_t)r);
    return true;
}

static void *monitor_main(void *arg)
{
    runner_proc *p = arg;
    int64_t next = hx_now_ns();
    int64_t stop_deadline = 0;
    /* 10, 20, 40 ms, then every 100 ms: a process that lives a few tens of milliseconds is still
     * seen (its VmHWM is its peak; its ru_maxrss may be hidden under the harness's at fork). */
    int64_t period = SAMPLE_PERIOD_NS / 10;
    int64_t next_disk = next + DISK_PERIOD_NS;
    for (;;) {
        int64_t now = hx_now_ns();
        if (p->smp && now >= next) {
            sampler_sample(p->smp);
            next = now + period;
            period = period * 2 < SAMPLE_PERIOD_NS ? period * 2 : SAMPLE_PERIOD_NS;
        }
        if (!stop_deadline && now >= next_disk) {
            bool over = !atomic_load(&p->disk_kill) && disk_check(p);
            /* A reading walks every folder it may write (a solution's node_modules included):
             * one that took long is spaced out so the walks take at most 5 % of a core. */
            int64_t took = hx_now_ns() - now;
            next_disk = now + (took * 20 > DISK_PERIOD_NS ? took * 20 : DISK_PERIOD_NS);
            if (over) {
                p->disk_over = true;
                atomic_store(&p->disk_kill, true);
                uint64_t one = 1;
                (void)!write(p->wakefd, &one, sizeof one);
            }
        }

        if (stop_deadline && (now >= stop_deadline || (p->out.rfd < 0 && p->err.rfd < 0))) break;
        struct pollfd fds[3] = {{p->out.rfd, POLLIN, 0},
                                {p->err.rfd, POLLIN, 0},
                                {stop_deadline ? -1 : p->stopfd, POLLIN, 0}};
        int64_t wait_ns = p->smp ? next - now : 1000000000LL;
        if (stop_deadline && stop_deadline - now < wait_ns) wait_ns = stop_deadline - now;
        int rc = poll(fds, 3, (int)(wait_ns / 1000000) + 1);
        if (rc < 0 && errno != EINTR) break;
        if (rc <= 0) continue;
        if (fds[0].revents) drain(p, &p->out, true);
        if (fds[1].revents) drain(p, &p->err, false);
        if (fds[2].revents) {
            /* The tree is gone or being killed: read what is left, but do not wait forever on a
             * pipe that a process we could not find still holds. */
            stop_deadline = hx_now_ns() + 300 * 1000000LL;
        }
    }
    if (p->out.rfd >= 0) close(p->out.rfd);
    if (p->err.rfd >= 0) close(p->err.rfd);
    p->out.rfd = p->err.rfd = -1;
    runner_log_finish(&p->out);
    runner_log_finish(&p->err);
    return NULL;
}

/* ---- cgroup v2 ---- */

/* The cgroup2 mount (preferring /sys/fs/cgroup) joined with our own cgroup path. */
static bool cgroup_default_parent(char *out, size_t cap)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f) return false;
    char line[4096], mnt[4096] = "";
    while (fgets(line, sizeof line, f)) {
        char *dash = strstr(line, " - cgroup2 ");
        if (!dash) continue;
        char mp[4096];
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1) continue;
        if (!mnt[0] || strcmp(mp, "/sys/fs/cgroup") == 0) snprintf(mnt, sizeof mnt, "%s", mp);
    }
    fclose(f);
    if (!mnt[0]) return false;
    f = fopen("/proc/self/cgroup", "re");
    if (!f) return false;
    char own[4096] = "";
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "0::", 3) == 0) {
            line[strcspn(line, "\n")] = 0;
            snprintf(own, sizeof own, "%s", line + 3);
        }
    fclose(f);
    if (!own[0] || strstr(own, "(deleted)")) return false;
    int n = snprintf(out, cap, "%s%s", mnt, strcmp(own, "/") == 0 ? "" : own);
    return n > 0 && (size_t)n < cap;
}

bool runner_cgroup_parent(char *out, size_t cap)
{
    return cgroup_default_parent(out, cap);
}

/* Make a leaf and open its cgroup.procs for the child; NULL when the machine does not allow it. */
static char *cgroup_make(const runner_opts *o, int *procs_fd)
{
    char parent[4096], leaf[4200], path[4300];
    *procs_fd = -1;
    if (o->cgroup == RUNNER_CGROUP_OFF) return NULL;
    if (o->cgroup_parent)
        snprintf(parent, sizeof parent, "%s", o->cgroup_parent);
    else if (!cgroup_default_parent(parent, sizeof parent))
        return NULL;
    snprintf(path, sizeof path, "%s/cgroup.procs", parent);
    if (access(path, W_OK) != 0) return NULL;
    snprintf(leaf, sizeof leaf, "%s/harness-%d-%u", parent, (int)getpid(),
             atomic_fetch_add(&token_seq, 1));
    if (mkdir(leaf, 0755) != 0) return NULL;
    snprintf(path, sizeof path, "%s/cgroup.procs", leaf);
    *procs_fd = open(path, O_WRONLY | O_CLOEXEC);
    char *dup = *procs_fd >= 0 ? hx_strdup(leaf) : NULL;
    if (!dup) {
        if (*procs_fd >= 0) close(*procs_fd);
        *procs_fd = -1;
        rmdir(leaf);
    }
    return dup;
}

/* Write a number into a control file of the leaf; false when the controller is not there. */
static bool cgroup_write(const char *leaf, const char *file, uint64_t v)
{
    char path[4300], num[32];
    snprintf(path, sizeof path, "%s/%s", leaf, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    int n = snprintf(num, sizeof num, "%llu", (unsigned long long)v);
    bool ok = write(fd, num, (size_t)n) == n;
    close(fd);
    return ok;
}

/* The count after `key ` in a cgroup events file (memory.events, pids.events), or 0. */
static long long cgroup_event(const char *leaf, const char *file, const char *key)
{
    char path[4300], line[256];
    snprintf(path, sizeof path, "%s/%s", leaf, file);
    FILE *f = fopen(path, "re");
    long long v = 0;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ' ') v = atoll(line + kl + 1);
    if (f) fclose(f);
    return v;
}

static void cgroup_remove(const char *leaf)
{
    for (int i = 0; i < 100 && rmdir(leaf) != 0 && errno == EBUSY; i++)
        usleep(10000);
}

/* ---- process tree ---- */

static bool environ_has(pid_t pid, const char *token)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    /* Read in chunks, keeping an overlap so a token across a chunk edge is still found. */
    size_t tl = strlen(token);
    char buf[8192 + 128];
    size_t keep = 0;
    bool hit = false;
    for (;;) {
        ssize_t r = read(fd, buf + keep, sizeof buf - keep - 1);
        if (r <= 0) break;
        size_t len = keep + (size_t)r;
        for (size_t i = 0; i + tl <= len; i++)
            if (buf[i] == token[0] && memcmp(buf + i, token, tl) == 0 &&
                (i == 0 || buf[i - 1] == 0)) {
                hit = true;
                break;
            }
        if (hit) break;
        keep = len < tl ? len : tl;
        memmove(buf, buf + len - keep, keep);
    }
    close(fd);
    return hit;
}

typedef struct pent {
    pid_t pid, ppid, pgid;
    char state;
    bool in;
} pent;

static bool seen_add(runner_proc *p, pid_t pid)
{
    for (size_t i = 0; i < p->n_seen; i++)
        if (p->seen[i] == pid) return true;
    if (p->n_seen == p->cap_seen) {
        size_t nc = p->cap_seen ? p->cap_seen * 2 : 32;
        pid_t *np = hx_realloc(p->seen, nc * sizeof *np);
        if (!np) return false;
        p->seen = np;
        p->cap_seen = nc;
    }
    p->seen[p->n_seen++] = pid;
    return true;
}

/* Is this bwrap's own process, the box's PID-namespace init? It is a bwrap that the leader forked
 * (re-parented to us, its subreaper, once the leader exits after reporting the command's
 * status). The solution's processes cannot have that parent: orphans in the box go to the init. */
static bool box_own(const runner_proc *p, pid_t pid, pid_t ppid)
{
    if (!p->boxed || (ppid != p->pid && ppid != getpid())) return false;
    char path[64], comm[32] = "";
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n = read(fd, comm, sizeof comm - 1);
    close(fd);
    return n > 0 && strncmp(comm, "bwrap\n", 6) == 0;
}

/* Send sig to every process of the tree; returns how many live (non-zombie) members there were,
 * the leader included and the box's own init not. */
static int signal_tree(runner_proc *p, int sig)
{
    pent *v = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;
    pid_t self = getpid();
    while (d && (de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0])) continue;
        pent e = {.pid = (pid_t)atoi(de->d_name)};
        if (e.pid <= 1 || e.pid == self ||
            !sampler_proc_stat(e.pid, &e.state, &e.ppid, &e.pgid, NULL))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 512;
            pent *nv = hx_realloc(v, nc * sizeof *nv);
            if (!nv) break;
            v = nv;
            cap = nc;
        }
        e.in = e.pid == p->pid || e.pgid == p->pid || environ_has(e.pid, p->token);
        v[n++] = e;
    }
    if (d) closedir(d);
    pid_t tracked[1024];
    size_t nt = p->smp ? sampler_tracked(p->smp, tracked, 1024) : 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < nt && !v[i].in; j++)
            v[i].in = v[i].pid == tracked[j];
    if (p->cg) {
        char path[4300];
        snprintf(path, sizeof path, "%s/cgroup.procs", p->cg);
        FILE *f = fopen(path, "re");
        long pid;
        while (f && fscanf(f, "%ld", &pid) == 1)
            for (size_t i = 0; i < n; i++)
                v[i].in |= v[i].pid == pid;
        if (f) fclose(f);
    }
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < n; i++) {
            if (v[i].in) continue;
            for (size_t j = 0; j < n; j++)
                if (v[j].in && v[j].pid == v[i].ppid) {
                    v[i].in = changed = true;
                    break;
                }
        }
    }
    /* Signal only after the scan, so the count says what was alive, not what already died. */
    if (p->cg && sig == SIGKILL) {
        char path[4300];
        snprintf(path, sizeof path, "%s/cgroup.kill", p->cg);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            (void)!write(fd, "1", 1);
            close(fd);
        }
    }
    /* In a box, the leader is bwrap and its child the PID namespace's init: a SIGTERM to bwrap
     * would end the namespace at once (the kernel SIGKILLs it with its init), so the polite
     * signal goes to the solution's processes only, and SIGKILL to all. */
    bool spare = p->boxed && sig != SIGKILL && sig != 0;
    if (!spare) kill(-p->pid, sig);
    int live = 0;
    for (size_t i = 0; i < n; i++) {
        if (!v[i].in) continue;
        seen_add(p, v[i].pid);
        if (v[i].state == 'Z' || v[i].state == 'X') continue;
        bool own = box_own(p, v[i].pid, v[i].ppid);
        if (!own) live++;
        if (spare && (v[i].pid == p->pid || v[i].ppid == p->pid || own)) continue;
        kill(v[i].pid, sig);
    }
    hx_free(v);
    return live;
}

/* Reap tracked orphans that were re-parented to us (we are their subreaper); never the leader.
 * Their rusage adds to p->orphans. */
static void reap_seen(runner_proc *p)
{
    for (size_t i = 0; i < p->n_seen; i++) {
        if (p->seen[i] == p->pid) continue;
        struct rusage ru;
        while (wait4(p->seen[i], NULL, WNOHANG, &ru) > 0) {
            struct rusage *o = &p->orphans;
            timeradd(&o->ru_utime, &ru.ru_utime, &o->ru_utime);
            timeradd(&o->ru_stime, &ru.ru_stime, &o->ru_stime);
            o->ru_maxrss = ru.ru_maxrss > o->ru_maxrss ? ru.ru_maxrss : o->ru_maxrss;
            o->ru_inblock += ru.ru_inblock;
            o->ru_oublock += ru.ru_oublock;
        }
    }
}

static bool leader_exited(runner_proc *p)
{
    if (p->exited) return true;
    siginfo_t si = {0};
    if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid) {
        p->exited = true;
        p->t_exit_ns = hx_now_ns();
    }
    return p->exited;
}

bool runner_running(runner_proc *p)
{
    return !leader_exited(p);
}

/* SIGTERM the tree, give it the grace period, SIGKILL what is left; returns the live count seen
 * at the first signal (leader excluded once it has exited). */
static int terminate_tree(runner_proc *p, int64_t grace_us)
{
    int first = signal_tree(p, SIGTERM);
    int64_t deadline = hx_now_ns() + grace_us * 1000;
    int live = first;
    while (live > 0 && hx_now_ns() < deadline && !atomic_load(&p->kill_now)) {
        usleep(10000);
        leader_exited(p);
        reap_seen(p);
        live = signal_tree(p, 0);
    }
    for (int round = 0; live > 0 && round < 200; round++) {
        live = signal_tree(p, SIGKILL);
        usleep(5000);
        leader_exited(p);
        reap_seen(p);
        if (live) live = signal_tree(p, 0);
    }
    reap_seen(p);
    return first;
}

/* ---- spawn ---- */

static char **env_with_token(char *const *env, const char *token)
{
    size_t n = 0;
    while (env[n])
        n++;
    char **v = hx_calloc(n + 2, sizeof *v);
    if (!v) return NULL;
    size_t k = 0;
    size_t tl = strlen(TOKEN_VAR "=");
    for (size_t i = 0; i < n; i++)
        if (strncmp(env[i], TOKEN_VAR "=", tl) != 0) /* a nested harness gets its own token */
            v[k++] = env[i];
    v[k++] = (char *)token;
    return v;
}

static void child_fail(int fd, char tag)
{
    int err = errno;
    char msg[1 + sizeof err];
    msg[0] = tag;
    memcpy(msg + 1, &err, sizeof err);
    (void)!write(fd, msg, sizeof msg);
    _exit(127);
}

pid_t runner_pid(const runner_proc *p)
{
    return p->pid;
}

const char *runner_isolation(const runner_proc *p)
{
    return p->cg ? "cgroup" : "proc";
}

static void proc_destroy(runner_proc *p)
{
    if (p->pidfd >= 0) close(p->pidfd);
    if (p->wakefd >= 0) close(p->wakefd);
    if (p->out_dfd >= 0) close(p->out_dfd);
    if (p->tmp_dfd >= 0) close(p->tmp_dfd);
    if (p->tmp_dir) hx_rm_rf(p->tmp_dir);
    hx_free(p->tmp_dir);
    if (p->db_dfd >= 0) close(p->db_dfd);
    if (p->stopfd >= 0) close(p->stopfd);
    if (p->out.fd >= 0) close(p->out.fd);
    if (p->err.fd >= 0) close(p->err.fd);
    if (p->out.rfd >= 0) close(p->out.rfd);
    if (p->err.rfd >= 0) close(p->err.rfd);
    hx_free(p->out.ring);
    hx_free(p->err.ring);
    if (p->cg) {
        cgroup_remove(p->cg);
        hx_free(p->cg);
    }
    if (p->re_ok) regfree(&p->re);
    hx_free(p->ready_pattern);
    hx_free(p->out_path);
    hx_free(p->err_path);
    hx_free(p->seen);
    sampler_free(p->smp);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    hx_free(p);
}

int runner_spawn(const runner_opts *o, runner_proc **out, hx_err *e)
{
    *out = NULL;
    if (!o->argv && !o->shell)
        return hx_fail(e, HX_EUSAGE, "runner: nothing to run (give argv or a shell command)");
    if (o->argv && !o->argv[0]) return hx_fail(e, HX_EUSAGE, "runner: empty argv");
    if (!o->log_dir) return hx_fail(e, HX_EUSAGE, "runner: no log folder given");
    const char *what = o->argv ? o->argv[0] : o->shell;

    runner_proc *p = hx_calloc(1, sizeof *p);
    if (!p) return hx_fail(e, HX_ENOMEM, "out of memory starting '%s'", what);
    p->pid = -1;
    p->pidfd = p->wakefd = p->stopfd = p->out_dfd = p->tmp_dfd = p->db_dfd = -1;
    p->unmeasured = -1;
    p->out.fd = p->err.fd = p->out.rfd = p->err.rfd = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->grace_us = o->grace_us > 0 ? o->grace_us : GRACE_DEFAULT_US;
    size_t cap = o->log_cap ? o->log_cap : LOG_CAP_DEFAULT;
    if (cap < 4096) cap = 4096;
    p->out.head_cap = p->err.head_cap = cap / 2;
    p->out.tail_cap = p->err.tail_cap = cap - cap / 2 - RUNNER_LOG_MARK_MAX;
    snprintf(p->token, sizeof p->token, TOKEN_VAR "=%d-%u-%llx", (int)getpid(),
             atomic_fetch_add(&token_seq, 1),
             (unsigned long long)hx_hash64(&(int64_t){hx_now_ns()}, sizeof(int64_t)));
    if (o->ready) {
        p->ready = *o->ready;
        p->ready.pattern = NULL;
        if (o->ready->kind == SOLUTION_READY_STDOUT && o->ready->pattern) {
            if (!(p->ready_pattern = hx_strdup(o->ready->pattern))) {
                proc_destroy(p);
                return hx_fail(e, HX_ENOMEM, "out of memory starting '%s'", what);
            }
            p->re_ok = regcomp(&p->re, p->ready_pattern, REG_EXTENDED | REG_NOSUB) == 0;
        }
    }

    const char *name = o->log_name ? o->log_name : "solution";
    p->out_path = hx_asprintf("%s/%s.stdout.log", o->log_dir, name);
    p->err_path = hx_asprintf("%s/%s.stderr.log", o->log_dir, name);
    if (!p->out_path || !p->err_path) {
        proc_destroy(p);
        return hx_fail(e, HX_ENOMEM, "out of memory starting '%s'", what);
    }
    p->out.fd = open(p->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    p->err.fd = open(p->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (p->out.fd < 0 || p->err.fd < 0) {
        int rc = hx_fail(e, HX_EIO, "cannot create the solution log '%s': %s",
                         p->out.fd < 0 ? p->out_path : p->err_path, strerror(errno));
        proc_destroy(p);
        return rc;
    }

    char *const *base = o->env ? o->env : environ;
    char **env = env_with_token(base, p->token);
    const char *sh_argv[] = {"/bin/sh", "-c", o->shell, NULL};
    char **boxed_argv = NULL;
    p->boxed = sandbox_active(o->sandbox);
    {
        /* In a box the process limit is set inside it (prlimit), where it counts the box's
         * processes only; an rlimit set outside would count every process of the box's user. */
        const char *const *cmd = o->argv ? o->argv : sh_argv;
        const char *pre[64 + 4];
        char nproc[48];
        if (p->boxed && o->limits && o->limits->processes && access(PRLIMIT, X_OK) == 0) {
            size_t k = 0, n = 0;
            snprintf(nproc, sizeof nproc, "--nproc=%lld", (long long)o->limits->processes);
            pre[k++] = PRLIMIT;
            pre[k++] = nproc;
            pre[k++] = "--";
            while (cmd[n] && n < 64)
                pre[k++] = cmd[n++];
            pre[k] = NULL;
            if (!cmd[n]) {
                cmd = pre;
                p->box_nproc = true;
            }
        }
        int rc = sandbox_wrap(o->sandbox, cmd, o->in_dir, o->out_dir, &boxed_argv, &p->tmp_dir, e);
        if (rc) {
            hx_free(env);
            proc_destroy(p);
            return rc;
        }
    }
    const char *const *argv = (const char *const *)boxed_argv;
    bool drop;
    uid_t uid;
    gid_t gid;
    sandbox_creds(o->sandbox, &drop, &uid, &gid);
    const char *cwd = p->boxed ? "/" : o->cwd;
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, ps[2] = {-1, -1};
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    p->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    p->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!env || pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC) || pipe2(ps, O_CLOEXEC) ||
        devnull < 0 || p->wakefd < 0 || p->stopfd < 0) {
        int rc =
            env ? hx_fail(e, HX_EINFRA, "cannot set up pipes for '%s': %s", what, strerror(errno))
                : hx_fail(e, HX_ENOMEM, "out of memory starting '%s'", what);
        int fds[] = {po[0], po[1], pe[0], pe[1], ps[0], ps[1], devnull};
        for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
            if (fds[i] >= 0) close(fds[i]);
        hx_free(env);
        sandbox_argv_free(boxed_argv);
        proc_destroy(p);
        return rc;
    }

    int cg_fd = -1;
    p->cg = cgroup_make(o, &cg_fd);
    if (o->limits) p->lim = *o->limits;
    if (p->lim.disk_bytes || p->lim.files) {
        if (o->out_dir) p->out_dfd = open(o->out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (p->tmp_dir) p->tmp_dfd = open(p->tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        p->sb = o->sandbox;
    }
    if (o->db_dir && p->lim.database_bytes)
        p->db_dfd = open(o->db_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p->cg && p->lim.memory_bytes)
        p->cg_mem = cgroup_write(p->cg, "memory.max", p->lim.memory_bytes);
    if (p->cg && p->lim.processes)
        p->cg_pids = cgroup_write(p->cg, "pids.max", (uint64_t)p->lim.processes);
    /* What the cgroup does not enforce, rlimits do; the file size always. */
    struct rlimit rl_as = {RLIM_INFINITY, RLIM_INFINITY}, rl_np = rl_as, rl_fs = rl_as;
    if (p->lim.memory_bytes && !p->cg_mem) rl_as.rlim_cur = rl_as.rlim_max = p->lim.memory_bytes;
    if (p->lim.processes && !p->cg_pids && !p->box_nproc)
        rl_np.rlim_cur = rl_np.rlim_max = (rlim_t)p->lim.processes;
    if (p->lim.disk_bytes) rl_fs.rlim_cur = rl_fs.rlim_max = p->lim.disk_bytes;
    if (!o->no_subreaper) prctl(PR_SET_CHILD_SUBREAPER, 1);

    p->t0_ns = hx_now_ns();
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls from here to exec: the harness has threads. */
        setpgid(0, 0);
        /* Our resident set is the harness's, shared: exec keeps it as our ru_maxrss. */
        struct rusage self;
        char msg[1 + sizeof(long)] = {'M'};
        if (getrusage(RUSAGE_SELF, &self) == 0) memcpy(msg + 1, &self.ru_maxrss, sizeof(long));
        (void)!write(ps[1], msg, sizeof msg);
        if (cg_fd >= 0 && write(cg_fd, "0", 1) != 1) (void)!write(ps[1], "C", 1);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            sigaction(sigs[i], &dfl, NULL);
        if (dup2(devnull, 0) < 0 || dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0)
            child_fail(ps[1], 'P');
        /* The user first: a process limit set before setuid would be checked against every
         * process of that user at exec. */
        if (drop && (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0))
            child_fail(ps[1], 'U');
        if ((rl_as.rlim_cur != RLIM_INFINITY && setrlimit(RLIMIT_AS, &rl_as) != 0) ||
            (rl_np.rlim_cur != RLIM_INFINITY && setrlimit(RLIMIT_NPROC, &rl_np) != 0) ||
            (rl_fs.rlim_cur != RLIM_INFINITY && setrlimit(RLIMIT_FSIZE, &rl_fs) != 0))
            child_fail(ps[1], 'L');
        /* After the credential change (which clears it): the leader dies with the harness, even
         * on kill -9 (in a box bwrap's --die-with-parent takes the rest with it). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        if (cwd && chdir(cwd) != 0) child_fail(ps[1], 'D');
        /* Only 0-2 reach the solution: the mock's sockets (no close-on-exec) held there would
         * keep a broker_down's close from reaching the harness's clients (docs/scenarios.md). */
        if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0)
            for (int fd = 3; fd < 65536; fd++)
                fcntl(fd, F_SETFD, FD_CLOEXEC);
        execvpe(argv[0], (char *const *)argv, env);
        child_fail(ps[1], 'E');
    }
    int fork_errno = errno;
    close(po[1]);
    close(pe[1]);
    close(ps[1]);
    close(devnull);
    if (cg_fd >= 0) close(cg_fd);
    hx_free(env);
    sandbox_argv_free(boxed_argv);
    boxed_argv = NULL;
    argv = o->argv ? o->argv : sh_argv;
    p->out.rfd = po[0];
    p->err.rfd = pe[0];
    if (pid < 0) {
        close(ps[0]);
        proc_destroy(p);
        return hx_fail(e, HX_EINFRA, "cannot start '%s': fork: %s", what, strerror(fork_errno));
    }
    p->pid = pid;
    setpgid(pid, pid); /* also here, so the group exists before we might signal it */

    /* The status pipe closes on exec; before that the child reports its resident set at fork
     * ('M'), a cgroup it could not join ('C') and what failed. */
    char st[64];
    size_t sl = 0;
    for (;;) {
        ssize_t r = read(ps[0], st + sl, sizeof st - sl);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        sl += (size_t)r;
    }
    close(ps[0]);
    size_t off = 0;
    if (sl >= 1 + sizeof(long) && st[0] == 'M') {
        memcpy(&p->fork_rss_kb, st + 1, sizeof(long));
        off = 1 + sizeof(long);
    }
    if (sl > off && st[off] == 'C') {
        cgroup_remove(p->cg); /* the child stayed out of it: the /proc path */
        hx_free(p->cg);
        p->cg = NULL;
        off++;
    }
    if (sl > off) {
        int err = 0;
        memcpy(&err, st + off + 1, sizeof err);
        waitpid(pid, NULL, 0);
        p->pid = -1;
        char tag = st[off];
        int rc =
            tag == 'D' ? hx_fail(e, HX_EUSAGE, "cannot enter the solution folder '%s': %s", o->cwd,
                                 strerror(err))
            : tag == 'U' ? hx_fail(e, HX_EINFRA, "cannot switch to the sandbox's user (uid %u): %s",
                                   (unsigned)uid, strerror(err))
            : tag == 'L' ? hx_fail(e, HX_EINFRA, "cannot set the solution's resource limits: %s",
                                   strerror(err))
            : tag == 'E'
                ? hx_fail(e, HX_EUSAGE,
                          "cannot run '%s'%s%s: %s (check the command in solution.json)", argv[0],
                          o->cwd ? " in " : "", o->cwd ? o->cwd : "", strerror(err))
                : hx_fail(e, HX_EINFRA, "cannot set up the solution's stdio: %s", strerror(err));
        p->waited = true;
        proc_destroy(p);
        return rc;
    }

    p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (!o->no_sampler) {
        sampler_opts so = {.cgroup_dir = p->cg};
        if (sampler_new(pid, &so, &p->smp, e) != 0)
            p->smp = NULL; /* measurement is best effort; running is not */
    }
    if (pthread_create(&p->th, NULL, monitor_main, p) != 0) {
        int rc = hx_fail(e, HX_EINFRA, "cannot start the log thread for '%s'", what);
        terminate_tree(p, 0);
        waitpid(pid, NULL, 0);
        p->waited = true;
        proc_destroy(p);
        return rc;
    }
    p->th_running = true;
    *out = p;
    return 0;
}

/* ---- wait ---- */

void runner_kill(runner_proc *p)
{
    atomic_store(&p->kill_req, true);
    if (p->pid > 0 && !p->waited && !p->boxed) kill(-p->pid, SIGTERM);
    uint64_t one = 1;
    (void)!write(p->wakefd, &one, sizeof one);
}

void runner_kill_now(runner_proc *p)
{
    atomic_store(&p->kill_now, true);
    atomic_store(&p->kill_req, true);
    if (p->pid > 0 && !p->waited) kill(-p->pid, SIGKILL);
    uint64_t one = 1;
    (void)!write(p->wakefd, &one, sizeof one);
}

/* Block until the leader exits, the deadline passes (deadline_ns 0: never) or runner_kill. */
static void wait_leader(runner_proc *p, int64_t deadline_ns)
{
    while (!leader_exited(p) && !atomic_load(&p->kill_req) && !atomic_load(&p->disk_kill)) {
        int64_t left = deadline_ns ? deadline_ns - hx_now_ns() : 1000000000LL;
        if (left <= 0) return;
        int ms = (int)(left / 1000000) + 1;
        if (p->pidfd < 0 && ms > 10) ms = 10; /* no pidfd: poll the leader */
        struct pollfd fds[2] = {{p->pidfd, POLLIN, 0}, {p->wakefd, POLLIN, 0}};
        poll(fds, 2, ms);
    }
}

/* Name the limit an ended run ran into (r->limit), and say so at the end of its stderr log. The
 * cgroup knows; on the rlimit path a file-size signal is certain and the rest is read from what
 * the failing program printed. */
static void name_limit(runner_proc *p, runner_result *r)
{
    char sz[32];
    r->limit[0] = '\0';
    bool failed = r->signaled || (r->exited && r->exit_code != 0);
    r->disk_over = p->disk_over;
    if (p->disk_over) {
        runner_usage_limit(r->limit, sizeof r->limit, &p->lim, p->used, p->unmeasured,
                           p->files_over, p->db_over, p->db_used);
    } else if (p->cg_mem && cgroup_event(p->cg, "memory.events", "oom_kill") > 0) {
        runner_size(sz, sizeof sz, p->lim.memory_bytes);
        snprintf(r->limit, sizeof r->limit, "memory limit %s (memory.max) reached: killed", sz);
    } else if (p->cg_pids && cgroup_event(p->cg, "pids.events", "max") > 0) {
        snprintf(r->limit, sizeof r->limit,
                 "process limit %lld (pids.max) reached: a fork or thread was refused",
                 (long long)p->lim.processes);
    } else if ((r->signaled && r->sig == SIGXFSZ) || (r->exited && r->exit_code == 128 + SIGXFSZ)) {
        runner_size(sz, sizeof sz, p->lim.disk_bytes);
        snprintf(r->limit, sizeof r->limit,
                 "disk limit %s (RLIMIT_FSIZE) reached: a file grew past it", sz);
    } else if (failed && (p->lim.memory_bytes || p->lim.processes)) {
        char *tail = NULL;
        size_t len = 0;
        if (runner_log_tail(p->err_path, 8192, &tail, &len, NULL) != 0) return;
        static const char *const oom_marks[] = {"Cannot allocate memory", "MemoryError",
                                                "out of memory",          "bad_alloc",
                                                "memory allocation",      NULL};
        bool oom = false;
        for (size_t i = 0; oom_marks[i] && !oom; i++)
            oom = strstr(tail, oom_marks[i]) != NULL;
        /* EAGAIN is what fork and pthread_create say at RLIMIT_NPROC. */
        bool nproc = strstr(tail, "Resource temporarily unavailable") ||
                     strstr(tail, "Cannot fork") || strstr(tail, "can't fork");
        if (oom && p->lim.memory_bytes && !p->cg_mem) {
            runner_size(sz, sizeof sz, p->lim.memory_bytes);
            snprintf(r->limit, sizeof r->limit,
                     "memory limit %s (RLIMIT_AS, address space) reached: an allocation failed",
                     sz);
        } else if (nproc && p->lim.processes && !p->cg_pids) {
            snprintf(r->limit, sizeof r->limit,
                     "process limit %lld (RLIMIT_NPROC%s) reached: a fork was refused",
                     (long long)p->lim.processes, p->box_nproc ? " in its box" : "");
        }
        hx_free(tail);
    }
    if (!r->limit[0]) return;
    int fd = open(p->err_path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) return;
    char line[256];
    int n = snprintf(line, sizeof line, "\n[harness: %s]\n", r->limit);
    (void)!write(fd, line, (size_t)n);
    close(fd);
}

int runner_wait(runner_proc *p, int64_t timeout_us, runner_result *r, hx_err *e)
{
    memset(r, 0, sizeof *r);
    wait_leader(p, timeout_us > 0 ? p->t0_ns + timeout_us * 1000 : 0);
    if (!leader_exited(p)) {
        /* Over the disk limit: stopped at once, it would go on writing through a grace. */
        bool disk = atomic_load(&p->disk_kill);
        r->interrupted = atomic_load(&p->kill_req);
        r->timed_out = !r->interrupted && !disk;
        terminate_tree(p, atomic_load(&p->kill_now) || disk ? 0 : p->grace_us);
    } else {
        if (atomic_load(&p->kill_req)) r->interrupted = true;
        int left = terminate_tree(p, atomic_load(&p->kill_now) ? 0 : p->grace_us);
        r->leftovers = left;
    }
    struct rusage ru = {0};
    int status = 0;
    while (wait4(p->pid, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    if (!p->t_exit_ns) p->t_exit_ns = hx_now_ns();
    reap_seen(p);
    p->waited = true;
    uint64_t one = 1;
    (void)!write(p->stopfd, &one, sizeof one);
    pthread_join(p->th, NULL);
    p->th_running = false;
    /* The tree is gone: the cgroup's counters now hold everything, the last 100 ms included. */
    if (p->smp) sampler_finish(p->smp);
    /* What it left in its output folder, written faster than the monitor looks included. */
    if (!p->disk_over && disk_check(p)) p->disk_over = true;
    if (p->tmp_dir) {
        if (p->tmp_dfd >= 0) close(p->tmp_dfd);
        p->tmp_dfd = -1;
        hx_rm_rf(p->tmp_dir);
        hx_free(p->tmp_dir);
        p->tmp_dir = NULL;
    }

    r->wall_ns = p->t_exit_ns - p->t0_ns;
    if (WIFEXITED(status) && p->boxed && WEXITSTATUS(status) > 128 &&
        WEXITSTATUS(status) < 128 + 32) {
        /* bwrap reports a command killed by signal N as exit 128 + N. */
        r->signaled = true;
        r->sig = WEXITSTATUS(status) - 128;
        runner_signal_name(r->sig, r->sig_name, sizeof r->sig_name);
    } else if (WIFEXITED(status)) {
        r->exited = true;
        r->exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        r->signaled = true;
        r->sig = WTERMSIG(status);
        runner_signal_name(r->sig, r->sig_name, sizeof r->sig_name);
    }
    /* The leader's ru_maxrss is at least what it shared with the harness at fork (exec keeps
     * it): only a larger value is the solution's own. The orphans were forked after exec. */
    if (ru.ru_maxrss <= p->fork_rss_kb + FORK_RSS_SLACK_KB) ru.ru_maxrss = 0;
    if (p->orphans.ru_maxrss > ru.ru_maxrss) ru.ru_maxrss = p->orphans.ru_maxrss;
    timeradd(&ru.ru_utime, &p->orphans.ru_utime, &ru.ru_utime);
    timeradd(&ru.ru_stime, &p->orphans.ru_stime, &ru.ru_stime);
    ru.ru_inblock += p->orphans.ru_inblock;
    ru.ru_oublock += p->orphans.ru_oublock;
    r->ru_user_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
    r->ru_sys_s = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    r->ru_maxrss_kb = ru.ru_maxrss;
    r->isolation = runner_isolation(p);
    r->sandbox = p->boxed ? "bwrap" : "none";
    r->stdout_bytes = p->out.total;
    r->stderr_bytes = p->err.total;
    r->stdout_path = hx_strdup(p->out_path);
    r->stderr_path = hx_strdup(p->err_path);
    int rc = 0;
    if (!r->stdout_path || !r->stderr_path)
        rc = hx_fail(e, HX_ENOMEM, "out of memory finishing a solution run");
    if (p->smp && !rc) rc = sampler_summarize(p->smp, &ru, &r->res, e);
    name_limit(p, r);
    if (p->cg) {
        cgroup_remove(p->cg);
        hx_free(p->cg);
        p->cg = NULL;
    }
    return rc;
}

int runner_wait_ready(runner_proc *p, int64_t timeout_us, hx_err *e)
{
    const solution_ready *rd = &p->ready;
    if (timeout_us <= 0) timeout_us = rd->timeout_us > 0 ? rd->timeout_us : 60 * 1000000LL;
    int64_t deadline = hx_now_ns() + timeout_us * 1000;
    if (rd->kind == SOLUTION_READY_DELAY && rd->delay_us * 1000 < deadline - hx_now_ns())
        deadline = hx_now_ns() + rd->delay_us * 1000;
    for (;;) {
        if (leader_exited(p))
            return hx_fail(e, HX_EUSAGE,
                           "the solution's service exited before it was ready (see its log '%s')",
                           p->err_path);
        switch (rd->kind) {
        case SOLUTION_READY_NONE:
            return 0;
        case SOLUTION_READY_STDOUT: {
            pthread_mutex_lock(&p->mu);
            bool ok = p->ready_seen;
            if (!ok) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 50 * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&p->cv, &p->mu, &ts);
                ok = p->ready_seen;
            }
            pthread_mutex_unlock(&p->mu);
            if (ok) return 0;
            break;
        }
        case SOLUTION_READY_TCP: {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)rd->port)};
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
            if (fd >= 0) close(fd);
            if (ok) return 0;
            usleep(50000);
            break;
        }
        case SOLUTION_READY_DELAY:
            if (hx_now_ns() >= deadline) return 0;
            usleep(20000);
            continue;
        }
        if (hx_now_ns() >= deadline) {
            if (rd->kind == SOLUTION_READY_STDOUT)
                return hx_fail(e, HX_EUSAGE,
                               "the solution's service printed no stdout line matching '%s' "
                               "within %.1fs (see '%s')",
                               p->ready_pattern, timeout_us / 1e6, p->out_path);
            return hx_fail(e, HX_EUSAGE,
                           "the solution's service did not accept connections on "
                           "127.0.0.1:%d within %.1fs (see '%s')",
                           rd->port, timeout_us / 1e6, p->err_path);
        }
    }
}

void runner_proc_free(runner_proc *p)
{
    if (!p) return;
    if (!p->waited && p->pid > 0) {
        runner_result r;
        runner_wait(p, 1, &r, NULL);
        runner_result_release(&r);
    }
    proc_destroy(p);
}

void runner_result_release(runner_result *r)
{
    hx_free(r->stdout_path);
    hx_free(r->stderr_path);
    sampler_summary_release(&r->res);
    memset(r, 0, sizeof *r);
}
