/* pgsvc.c - see pgsvc.h: the server (an embedded cluster from the verified initdb cache, or
 * --pg), its child processes, the emergency cleanup and the leftovers of killed runs. The
 * scenario roles and databases are in pgsvc_db.c. */
#include "pgsvc_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STOP_GRACE_MS 10000
#define EMERGENCY_GRACE_MS 3000
#define PORT_ATTEMPTS 5

/* ---- the emergency registry: plain static memory a signal handler may read ---- */

#define REG_SLOTS 32
static struct reg_slot {
    volatile sig_atomic_t used; /* 1 while a run dir or server of ours exists */
    volatile pid_t owner;       /* getpid() of the process that started it */
    volatile pid_t pid;         /* current child (initdb, cp or postmaster), its own pgid; 0 none */
    volatile sig_atomic_t postmaster; /* pid is the postmaster: SIGQUIT first, not SIGKILL */
    char dir[PATH_MAX];               /* the run dir to remove */
} reg[REG_SLOTS];

static int reg_add(const char *dir)
{
    if (strlen(dir) >= PATH_MAX) return -1;
    for (int i = 0; i < REG_SLOTS; i++) {
        sig_atomic_t expect = 0;
        if (__atomic_compare_exchange_n(&reg[i].used, &expect, 2, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
            strcpy(reg[i].dir, dir);
            reg[i].pid = 0;
            reg[i].postmaster = 0;
            reg[i].owner = getpid();
            __atomic_store_n(&reg[i].used, 1, __ATOMIC_SEQ_CST);
            return i;
        }
    }
    return -1;
}

static void reg_set_pid(int slot, pid_t pid, bool postmaster)
{
    if (slot < 0) return;
    reg[slot].postmaster = postmaster;
    __atomic_store_n(&reg[slot].pid, pid, __ATOMIC_SEQ_CST);
}

static void reg_drop(int slot)
{
    if (slot >= 0) __atomic_store_n(&reg[slot].used, 0, __ATOMIC_SEQ_CST);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Wait for pid up to ms; true when it was reaped (or is not our child any more). */
static bool wait_exit(pid_t pid, long ms, int *status)
{
    for (long waited = 0;; waited += 10) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) return true;
        if (waited >= ms) return false;
        sleep_ms(10);
    }
}

/* Stop a child's whole process group: `first` (SIGINT fast shutdown, SIGQUIT immediate), then
 * SIGKILL after grace_ms. Async-signal-safe. */
static void kill_group(pid_t pid, int first, long grace_ms)
{
    int st;
    kill(-pid, first);
    if (!wait_exit(pid, grace_ms, &st)) {
        kill(-pid, SIGKILL);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    }
    /* Backends outlive a SIGKILLed postmaster; they share its process group. */
    kill(-pid, SIGKILL);
}

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* rm -rf of what dirfd contains, with raw syscalls only (no malloc, no stdio). */
static void sig_rm_contents(int dirfd, int depth)
{
    char buf[2048] __attribute__((aligned(8)));
    if (depth > 32) return;
    for (int pass = 0; pass < 64; pass++) {
        bool removed = false, any = false;
        lseek(dirfd, 0, SEEK_SET);
        for (;;) {
            long n = syscall(SYS_getdents64, dirfd, buf, sizeof buf);
            if (n <= 0) break;
            for (long off = 0; off < n;) {
                struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
                off += d->d_reclen;
                const char *nm = d->d_name;
                if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0'))) continue;
                any = true;
                if (unlinkat(dirfd, nm, 0) == 0) {
                    removed = true;
                    continue;
                }
                int sub = openat(dirfd, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub >= 0) {
                    sig_rm_contents(sub, depth + 1);
                    close(sub);
                    if (unlinkat(dirfd, nm, AT_REMOVEDIR) == 0) removed = true;
                }
            }
        }
        if (!any || !removed) return;
    }
}

static void sig_rm_rf(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return;
    sig_rm_contents(fd, 0);
    close(fd);
    rmdir(path);
}

void pgsvc_emergency_cleanup(void)
{
    int saved = errno;
    pid_t me = getpid();
    for (int i = 0; i < REG_SLOTS; i++) {
        if (__atomic_load_n(&reg[i].used, __ATOMIC_SEQ_CST) != 1 || reg[i].owner != me) continue;
        pid_t pid = reg[i].pid;
        if (pid > 0) kill_group(pid, reg[i].postmaster ? SIGQUIT : SIGKILL, EMERGENCY_GRACE_MS);
        reg[i].pid = 0;
        sig_rm_rf(reg[i].dir);
        __atomic_store_n(&reg[i].used, 0, __ATOMIC_SEQ_CST);
    }
    errno = saved;
}

/* ---- child processes ---- */

/* Who runs the server: ourselves, or an unprivileged user when we are root. */
typedef struct runas {
    bool drop; /* setuid in the child */
    uid_t uid;
    gid_t gid;
    char name[64]; /* for messages */
} runas;

/* Whether ra's user can reach entries of dir: every component up to it lets it search. A
 * TMPDIR private to root (mktemp -d is 0700) does not, and the server would fail to start. */
static bool traversable(const char *dir, const runas *ra)
{
    char path[PATH_MAX];
    if (dir[0] != '/' || strlen(dir) >= sizeof path) return false;
    strcpy(path, dir);
    size_t n = strlen(path);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0') continue;
        char c = path[i];
        path[i] = '\0';
        struct stat st;
        bool ok = stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
                  ((st.st_mode & S_IXOTH) || (st.st_uid == ra->uid && (st.st_mode & S_IXUSR)) ||
                   (st.st_gid == ra->gid && (st.st_mode & S_IXGRP)));
        path[i] = c;
        if (!ok) return false;
    }
    return true;
}

/* fork + exec argv[0] in its own process group, stdout/stderr to log_fd (or /dev/null when -1),
 * stdin from /dev/null, as ra. Only async-signal-safe calls between fork and exec. */
static pid_t spawn(char *const argv[], const runas *ra, const char *cwd, int log_fd, bool pdeath)
{
    /* Only the public part of our environment: a solution that can read the server's
     * /proc/PID/environ (--sandbox none) must not find the CI job's tokens there. */
    char **env = hx_env_public_list(NULL, 0);
    if (!env) return -1;
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) {
        hx_free(env);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        dup2(devnull, 0);
        dup2(log_fd >= 0 ? log_fd : devnull, 1);
        dup2(log_fd >= 0 ? log_fd : devnull, 2);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGQUIT, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        if (ra && ra->drop) {
            if (setgroups(0, NULL) < 0 || setgid(ra->gid) < 0 || setuid(ra->uid) < 0) _exit(126);
        }
        /* After setuid: a credential change clears the parent-death signal. */
        if (pdeath) prctl(PR_SET_PDEATHSIG, SIGQUIT);
        if (cwd && chdir(cwd) < 0) _exit(126);
        execve(argv[0], argv, env);
        _exit(127);
    }
    if (pid > 0) setpgid(pid, pid);
    close(devnull);
    hx_free(env);
    return pid;
}

/* Run argv to completion; returns its exit status (0 = ok), or -1 if it could not start. */
static int run_wait(char *const argv[], const runas *ra, const char *cwd, int log_fd, int slot)
{
    pid_t pid = spawn(argv, ra, cwd, log_fd, false);
    if (pid < 0) return -1;
    reg_set_pid(slot, pid, false);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    reg_set_pid(slot, 0, false);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Run argv and capture the first line of its stdout into out. 0 or -1. */
static int run_capture(char *const argv[], char *out, size_t n)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return -1;
    pid_t pid = spawn(argv, NULL, NULL, p[1], false);
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -1;
    }
    size_t got = 0;
    ssize_t r;
    while (got + 1 < n && (r = read(p[0], out + got, n - 1 - got)) != 0) {
        if (r < 0) {
            if (errno == EINTR) continue;
            break;
        }
        got += (size_t)r;
    }
    out[got] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    close(p[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 && got ? 0 : -1;
}

/* ---- finding the binaries ---- */

static bool is_exec(const char *dir, const char *name)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p) return false;
    return access(p, X_OK) == 0;
}

static bool bindir_ok(const char *dir)
{
    return is_exec(dir, "initdb") && is_exec(dir, "postgres");
}

/* The directory of the real file behind dir/initdb (PATH often holds symlinks to it). */
static bool resolve_initdb_dir(const char *dir, char out[PATH_MAX])
{
    char p[PATH_MAX], real[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/initdb", dir) >= (int)sizeof p || !realpath(p, real))
        return false;
    char *slash = strrchr(real, '/');
    if (!slash) return false;
    *slash = '\0';
    if (!bindir_ok(real)) return false;
    strcpy(out, real);
    return true;
}

static int major_of(const char *name)
{
    char *end;
    long v = strtol(name, &end, 10);
    return *end == '\0' && v > 0 && v < 1000 ? (int)v : -1;
}

static bool find_bindir(char out[PATH_MAX])
{
    const char *path = getenv("PATH");
    if (path) {
        char *copy = hx_strdup(path), *save = NULL;
        bool found = false;
        for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d && !found;
             d = strtok_r(NULL, ":", &save))
            if (*d && is_exec(d, "initdb")) found = resolve_initdb_dir(d, out);
        hx_free(copy);
        if (found) return true;
    }
    char pgc[PATH_MAX] = "";
    const char *cands[] = {"/usr/bin/pg_config", "/usr/local/bin/pg_config"};
    for (size_t i = 0; i < 2 && !pgc[0]; i++)
        if (access(cands[i], X_OK) == 0) strcpy(pgc, cands[i]);
    if (pgc[0]) {
        char dir[PATH_MAX];
        char *argv[] = {pgc, "--bindir", NULL};
        if (run_capture(argv, dir, sizeof dir) == 0 && bindir_ok(dir)) {
            strcpy(out, dir);
            return true;
        }
    }
    DIR *d = opendir("/usr/lib/postgresql");
    int best = -1;
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            int v = major_of(de->d_name);
            char dir[PATH_MAX];
            snprintf(dir, sizeof dir, "/usr/lib/postgresql/%s/bin", de->d_name);
            if (v > best && bindir_ok(dir)) {
                best = v;
                strcpy(out, dir);
            }
        }
        closedir(d);
    }
    return best >= 0;
}

/* ---- helpers ---- */

int pgsvc_oom(hx_err *e)
{
    return hx_fail(e, HX_ENOMEM, "out of memory");
}

/* The last lines of the server log, control characters replaced, joined by " | ". */
static void log_tail(const char *path, char *out, size_t n)
{
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[700];
    off_t end = lseek(fd, 0, SEEK_END);
    off_t start = end > (off_t)sizeof buf - 1 ? end - (off_t)sizeof buf + 1 : 0;
    ssize_t r = pread(fd, buf, sizeof buf - 1, start);
    close(fd);
    if (r <= 0) return;
    buf[r] = '\0';
    char *p = buf;
    if (start > 0 && strchr(p, '\n')) p = strchr(p, '\n') + 1;
    size_t o = 0;
    for (; *p && o + 4 < n; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\n') {
            if (p[1] && o + 4 < n) {
                memcpy(out + o, " | ", 3);
                o += 3;
            }
        } else {
            out[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
        }
    }
    out[o] = '\0';
}

static bool log_has(const char *path, const char *needle)
{
    char *data = NULL;
    size_t len = 0;
    if (hx_read_file(path, &data, &len, NULL) != 0) return false;
    bool has = strstr(data, needle) != NULL;
    hx_free(data);
    return has;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

bool pgsvc_random_hex(char *out, size_t nbytes)
{
    unsigned char raw[64];
    if (nbytes > sizeof raw) return false;
    size_t got = 0;
    while (got < nbytes) {
        ssize_t r = getrandom(raw + got, nbytes - got, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        got += (size_t)r;
    }
    for (size_t i = 0; i < nbytes; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return true;
}

static int cache_root(const pgsvc_opts *o, char out[PATH_MAX])
{
    if (o->cache_dir) {
        snprintf(out, PATH_MAX, "%s", o->cache_dir);
        return 0;
    }
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (xdg && xdg[0] == '/') {
        snprintf(out, PATH_MAX, "%s/harness", xdg);
        return 0;
    }
    const char *home = getenv("HOME");
    if (!home || !home[0]) {
        struct passwd *pw = getpwuid(geteuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home) return -1;
    snprintf(out, PATH_MAX, "%s/.cache/harness", home);
    return 0;
}

static void pick_runas(runas *ra)
{
    memset(ra, 0, sizeof *ra);
    if (geteuid() != 0) return;
    const char *names[] = {"postgres", "nobody"};
    for (size_t i = 0; i < 2; i++) {
        struct passwd *pw = getpwnam(names[i]);
        if (pw && pw->pw_uid != 0) {
            ra->drop = true;
            ra->uid = pw->pw_uid;
            ra->gid = pw->pw_gid;
            snprintf(ra->name, sizeof ra->name, "%s", names[i]);
            return;
        }
    }
}

static void svc_free(pgsvc *s)
{
    if (!s) return;
    hx_free(s->host);
    hx_free(s->port);
    hx_free(s->user);
    hx_free(s->password);
    hx_free(s->admin_db);
    hx_free(s->version);
    hx_free(s->run_dir);
    hx_free(s->data_dir);
    hx_free(s->log_path);
    hx_free(s->socket_dir);
    pgsvc_roles_free(s->roles);
    hx_free(s);
}

static double ms_since(int64_t t0)
{
    return (double)(hx_now_ns() - t0) / 1e6;
}

/* ---- embedded start ---- */

/* The cluster files the server reads its access rules and settings from: a solution that got at
 * the cache would change these to let itself in (a `trust` line) or to break later runs. */
static const char *const cache_conf[] = {"pg_hba.conf", "postgresql.conf", "postgresql.auto.conf",
                                         "pg_ident.conf"};
#define CACHE_SUMS "harness.sha256"

/* "<sha256>  <name>\n" of each config file of data dir dir, into b. false when one is missing. */
static bool conf_sums(const char *dir, hx_buf *b)
{
    for (size_t i = 0; i < sizeof cache_conf / sizeof cache_conf[0]; i++) {
        char path[PATH_MAX + 64], hex[65];
        snprintf(path, sizeof path, "%s/%s", dir, cache_conf[i]);
        char *data = NULL;
        size_t len = 0;
        if (hx_read_file(path, &data, &len, NULL) != 0) return false;
        hx_sha256 h;
        hx_sha256_init(&h);
        hx_sha256_update(&h, data, len);
        hx_sha256_final(&h, hex);
        hx_free(data);
        hx_buf_printf(b, "%s  %s\n", hex, cache_conf[i]);
    }
    return !b->oom;
}

/* Whether the cache at `cache` (holding data/ and CACHE_SUMS) is ours and as it was built:
 * owned by us, writable by nobody else, its config files matching the sums recorded at build.
 * Otherwise why[] says what differs. */
static bool cache_ok(const char *cache, char *why, size_t n)
{
    char path[PATH_MAX + 128];
    struct stat st;
    if (lstat(cache, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 022)) {
        snprintf(why, n, "it is not a folder of ours that only we can write");
        return false;
    }
    snprintf(path, sizeof path, "%s/" CACHE_SUMS, cache);
    char *want = NULL;
    size_t wlen = 0;
    if (hx_read_file(path, &want, &wlen, NULL) != 0) {
        snprintf(why, n, "it has no %s", CACHE_SUMS);
        return false;
    }
    snprintf(path, sizeof path, "%s/data", cache);
    hx_buf got;
    hx_buf_init(&got);
    bool have = conf_sums(path, &got);
    bool ok = have && got.len == wlen && memcmp(got.data, want, wlen) == 0;
    if (!ok && !have) snprintf(why, n, "a config file is missing");
    for (size_t i = 0; !ok && have && i < sizeof cache_conf / sizeof cache_conf[0]; i++) {
        /* Name the first file whose line differs. */
        const char *g = strstr(got.data, cache_conf[i]), *w = strstr(want, cache_conf[i]);
        if (!w || g - got.data < 66 || w - want < 66 || memcmp(g - 66, w - 66, 64) != 0) {
            snprintf(why, n, "%s changed since it was built", cache_conf[i]);
            break;
        }
        if (i + 1 == sizeof cache_conf / sizeof cache_conf[0])
            snprintf(why, n, "%s does not match", CACHE_SUMS);
    }
    hx_buf_release(&got);
    hx_free(want);
    return ok;
}

static void warn(const pgsvc_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(const pgsvc_opts *o, const char *fmt, ...)
{
    char msg[PATH_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (o->warn)
        o->warn(o->warn_ud, msg);
    else
        fprintf(stderr, "harness: warning: %s\n", msg);
}

/* initdb into s->data_dir, or copy the cache there; fills the cache on a miss (best effort). The
 * cache is <root>/pg-v2-<major>-<uid>/{data,harness.sha256}: verified before every use, rebuilt
 * (with a warning) when it does not match. The "v2" keeps older harness builds, which kept a bare
 * data dir at pg-<major>-<uid>, out of its way. */
static int prepare_data(pgsvc *s, const pgsvc_opts *o, const char *bindir, const char *major,
                        const runas *ra, int log_fd, hx_err *e)
{
    int64_t t0 = hx_now_ns();
    char root[PATH_MAX], cache[PATH_MAX + 64], cdata[PATH_MAX + 96];
    bool have_root = cache_root(o, root) == 0;
    if (have_root) {
        snprintf(cache, sizeof cache, "%s/pg-v2-%s-%u", root, major, (unsigned)geteuid());
        snprintf(cdata, sizeof cdata, "%s/data", cache);
    }
    const char *cp = access("/bin/cp", X_OK) == 0 ? "/bin/cp" : "/usr/bin/cp";
    char why[300];
    struct stat cst;
    if (have_root && lstat(cache, &cst) == 0) {
        if (cache_ok(cache, why, sizeof why)) {
            char *argv[] = {(char *)cp, "-a", cdata, s->data_dir, NULL};
            if (run_wait(argv, NULL, NULL, log_fd, s->slot) == 0) {
                s->cache_hit = true;
                s->init_ms = ms_since(t0);
                return 0;
            }
            hx_rm_rf(s->data_dir);
            snprintf(why, sizeof why, "it cannot be copied");
        }
        /* Not what we built: move it aside (rename is atomic, so a concurrent run never copies a
         * half-removed cache) and build a new one below. */
        warn(o,
             "the PostgreSQL initdb cache '%s' is not as the harness built it (%s): rebuilding it",
             cache, why);
        s->cache_rebuilt = true;
        char aside[PATH_MAX + 96];
        snprintf(aside, sizeof aside, "%s/.pg-bad-XXXXXX", root);
        if (mkdtemp(aside)) {
            char dst[PATH_MAX + 128];
            snprintf(dst, sizeof dst, "%s/old", aside);
            if (rename(cache, dst) != 0 && errno != ENOENT) hx_rm_rf(cache);
            hx_rm_rf(aside);
        } else {
            hx_rm_rf(cache);
        }
    }
    char initdb[PATH_MAX + 16];
    snprintf(initdb, sizeof initdb, "%s/initdb", bindir);
    /* trust on the socket only: it sits in a 0700 dir; TCP needs the per-run password. */
    char *argv[] = {initdb,
                    "-D",
                    s->data_dir,
                    "-U",
                    PG_SUPERUSER,
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                    "--no-instructions",
                    NULL};
    int rc = run_wait(argv, ra, s->run_dir, log_fd, s->slot);
    if (rc != 0) {
        char tail[600];
        log_tail(s->log_path, tail, sizeof tail);
        return hx_fail(e, HX_EINFRA, "initdb failed (status %d) in '%s': %s", rc, s->data_dir,
                       tail);
    }
    s->init_ms = ms_since(t0);
    if (!have_root || hx_mkdir_p(root, NULL) != 0) return 0;
    char tmp[PATH_MAX + 32], staged[PATH_MAX + 64];
    snprintf(tmp, sizeof tmp, "%s/.pg-tmp-XXXXXX", root);
    if (!mkdtemp(tmp)) return 0; /* 0700 */
    snprintf(staged, sizeof staged, "%s/data", tmp);
    char *cpv[] = {(char *)cp, "-a", s->data_dir, staged, NULL};
    hx_buf sums;
    hx_buf_init(&sums);
    char sums_path[PATH_MAX + 64];
    snprintf(sums_path, sizeof sums_path, "%s/" CACHE_SUMS, tmp);
    /* The sums are of the fresh initdb output, not of the copy: what initdb wrote is the truth.
     * rename() is the commit point: a concurrent run that lost the race just drops its copy. */
    if (conf_sums(s->data_dir, &sums) && run_wait(cpv, NULL, NULL, log_fd, s->slot) == 0 &&
        hx_write_atomic(sums_path, sums.data, sums.len, NULL) == 0)
        (void)rename(tmp, cache);
    hx_buf_release(&sums);
    hx_rm_rf(tmp);
    return 0;
}

static int set_password(pgsvc *s, hx_err *e)
{
    char ci[PATH_MAX + 128];
    snprintf(ci, sizeof ci, "host=%s port=%s user=%s dbname=postgres connect_timeout=5",
             s->socket_dir, s->port, PG_SUPERUSER);
    PGconn *c = PQconnectdb(ci);
    int rc = 0;
    if (PQstatus(c) != CONNECTION_OK) {
        rc = hx_fail(e, HX_EINFRA, "cannot connect to the embedded postgres over '%s': %s",
                     s->socket_dir, PQerrorMessage(c));
        goto out;
    }
    char *enc = PQencryptPasswordConn(c, s->password, PG_SUPERUSER, "scram-sha-256");
    char *lit = enc ? PQescapeLiteral(c, enc, strlen(enc)) : NULL;
    char *sql = lit ? hx_asprintf("ALTER ROLE " PG_SUPERUSER " PASSWORD %s", lit) : NULL;
    PGresult *r = sql ? PQexec(c, sql) : NULL;
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = hx_fail(e, HX_EINFRA, "cannot set the embedded postgres password: %s",
                     PQerrorMessage(c));
    PQclear(r);
    /* Scenario roles reach their own database only: not the admin database, not template1
     * (whatever lands there lands in every database made from it). */
    r = rc ? NULL
           : PQexec(c, "REVOKE CONNECT, TEMPORARY ON DATABASE postgres, template1 FROM PUBLIC");
    if (!rc && PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = hx_fail(e, HX_EINFRA, "cannot lock down the embedded postgres: %s", PQerrorMessage(c));
    PQclear(r);
    hx_free(sql);
    PQfreemem(lit);
    PQfreemem(enc);
    const char *v = PQparameterStatus(c, "server_version");
    if (!rc && !(s->version = hx_strdup(v ? v : "?"))) rc = pgsvc_oom(e);
out:
    PQfinish(c);
    return rc;
}

/* Boot the postmaster on a free port and wait until it accepts connections. */
static int boot(pgsvc *s, const pgsvc_opts *o, const char *bindir, const runas *ra, int log_fd,
                int fixed_port, hx_err *e)
{
    char postgres[PATH_MAX + 16];
    snprintf(postgres, sizeof postgres, "%s/postgres", bindir);
    int64_t timeout_ms = o->start_timeout_ms > 0 ? o->start_timeout_ms : 60000;
    char tail[600];
    for (int attempt = 1;; attempt++) {
        int port = fixed_port ? fixed_port : free_port();
        if (port < 0)
            return hx_fail(e, HX_EINFRA, "cannot find a free port on 127.0.0.1: %s",
                           strerror(errno));
        char portbuf[16], sockopt[PATH_MAX + 32];
        snprintf(portbuf, sizeof portbuf, "%d", port);
        snprintf(sockopt, sizeof sockopt, "unix_socket_directories=%s", s->socket_dir);
        hx_free(s->port);
        if (!(s->port = hx_strdup(portbuf))) return pgsvc_oom(e);
        /* Settings on the command line keep the cached data dir generic. Durability is
         * traded away on purpose: the cluster lives for one run. */
        static const char *const settings[] = {
            "listen_addresses=127.0.0.1",
            "unix_socket_permissions=0700",
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
            "wal_level=logical",
            "max_wal_senders=64",       /* CDC: a slot and a walsender a scenario, --jobs */
            "max_replication_slots=64", /* at once */
            "max_wal_size=4GB",
            "checkpoint_timeout=30min",
            "max_connections=200",
            "dynamic_shared_memory_type=mmap", /* files in data/, removed with it */
            "logging_collector=off"};
        enum { NSET = sizeof settings / sizeof settings[0] };
        char *argv[8 + 2 * NSET];
        size_t a = 0;
        argv[a++] = postgres;
        argv[a++] = "-D";
        argv[a++] = s->data_dir;
        argv[a++] = "-p";
        argv[a++] = portbuf;
        argv[a++] = "-c";
        argv[a++] = sockopt;
        for (size_t k = 0; k < NSET; k++) {
            argv[a++] = "-c";
            argv[a++] = (char *)settings[k];
        }
        argv[a] = NULL;
        pid_t pid = spawn(argv, ra, s->run_dir, log_fd, true);
        if (pid < 0)
            return hx_fail(e, HX_EINFRA, "cannot start '%s': %s", postgres, strerror(errno));
        s->pid = pid;
        reg_set_pid(s->slot, pid, true);
        char ci[PATH_MAX + 128];
        snprintf(ci, sizeof ci, "host=%s port=%d user=%s dbname=postgres connect_timeout=2",
                 s->socket_dir, port, PG_SUPERUSER);
        int64_t deadline = hx_now_ns() + timeout_ms * 1000000;
        bool died = false;
        for (;;) {
            if (PQping(ci) == PQPING_OK) return 0;
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid) {
                died = true;
                break;
            }
            if (hx_now_ns() > deadline) break;
            sleep_ms(10);
        }
        if (!died) kill_group(pid, SIGQUIT, 2000);
        s->pid = 0;
        reg_set_pid(s->slot, 0, false);
        bool collided = died && (log_has(s->log_path, "could not bind") ||
                                 log_has(s->log_path, "already in use"));
        if (collided && attempt < PORT_ATTEMPTS && !fixed_port) {
            /* Another process took the port between our probe and the bind: pick another. */
            if (ftruncate(log_fd, 0) < 0) {
                /* only the log tail in a later message suffers */
            }
            continue;
        }
        log_tail(s->log_path, tail, sizeof tail);
        if (died)
            return hx_fail(e, HX_EINFRA, "embedded postgres exited during startup (log '%s'): %s",
                           s->log_path, tail);
        return hx_fail(e, HX_EINFRA,
                       "embedded postgres did not accept connections within %lld ms (log '%s'): "
                       "%s",
                       (long long)timeout_ms, s->log_path, tail);
    }
}

/* ---- leftovers of killed runs ---- */

#define OWNER_FILE "harness.owner"

/* The start time of pid (field 22 of /proc/pid/stat, clock ticks since boot), or 0 when it is
 * gone. With the pid it names one process for good: a recycled pid has another start time. */
static unsigned long long proc_start(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p) return 0;
    unsigned long long v = 0;
    /* after ")": state is field 3; starttime is field 22 */
    int field = 2;
    for (char *t = p + 1; *t && field < 22; t++)
        if (*t == ' ') {
            field++;
            if (field == 22) v = strtoull(t + 1, NULL, 10);
        }
    return v;
}

/* Record who owns run dir dir: "<pid> <start time>". */
static void owner_write(const char *dir)
{
    char path[PATH_MAX + 32], line[64];
    snprintf(path, sizeof path, "%s/" OWNER_FILE, dir);
    int n = snprintf(line, sizeof line, "%d %llu\n", (int)getpid(), proc_start(getpid()));
    hx_write_atomic(path, line, (size_t)n, NULL);
}

/* Whether the run dir's owner is provably dead: its owner file names a pid that is gone, or
 * that now belongs to a process started at another time. No owner file: not provable. */
static bool owner_dead(const char *dir, pid_t *owner)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/" OWNER_FILE, dir);
    char *data = NULL;
    size_t len = 0;
    if (hx_read_file(path, &data, &len, NULL) != 0) return false;
    long pid = 0;
    unsigned long long start = 0;
    bool parsed = sscanf(data, "%ld %llu", &pid, &start) == 2 && pid > 0;
    hx_free(data);
    if (!parsed) return false;
    *owner = (pid_t)pid;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return true;
    unsigned long long now = proc_start((pid_t)pid);
    return now != 0 && start != 0 && now != start;
}

/* Stop a server left in dir's data folder by a dead run: postmaster.pid names it; it must be a
 * postgres whose command line names that data folder. Returns its pid, or 0. */
static pid_t stop_stale_server(const char *dir)
{
    char path[PATH_MAX + 64], data_dir[PATH_MAX + 16];
    snprintf(data_dir, sizeof data_dir, "%s/data", dir);
    snprintf(path, sizeof path, "%s/postmaster.pid", data_dir);
    char *txt = NULL;
    size_t len = 0;
    if (hx_read_file(path, &txt, &len, NULL) != 0) return 0;
    long pid = atol(txt);
    hx_free(txt);
    if (pid <= 1) return 0;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    char *cmd = NULL;
    if (hx_read_file(path, &cmd, &len, NULL) != 0) return 0;
    for (size_t i = 0; i < len; i++)
        if (!cmd[i]) cmd[i] = ' ';
    bool ours = strstr(cmd, "postgres") && strstr(cmd, data_dir);
    hx_free(cmd);
    if (!ours) return 0;
    kill((pid_t)pid, SIGQUIT);
    for (int i = 0; i < 300 && kill((pid_t)pid, 0) == 0; i++)
        sleep_ms(10);
    kill((pid_t)pid, SIGKILL);
    /* Backends share its process group when we started it. */
    if (getpgid((pid_t)pid) == (pid_t)pid || getpgid((pid_t)pid) < 0) kill(-(pid_t)pid, SIGKILL);
    return (pid_t)pid;
}

/* Remove the hx-pg-* run dirs under tmpdir whose owner run is provably dead, stopping their
 * server if one is left, and say so. Run dirs of live runs (other users of this machine) and
 * those without an owner file are left alone. */
static void reclaim_leftovers(const pgsvc_opts *o, const char *tmpdir)
{
    DIR *d = opendir(tmpdir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "hx-pg-", 6) != 0) continue;
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/%s", tmpdir, de->d_name);
        struct stat st;
        pid_t owner = 0;
        if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || !owner_dead(dir, &owner)) continue;
        pid_t server = stop_stale_server(dir);
        if (hx_rm_rf(dir) != 0) continue;
        char srv[64] = "";
        if (server) snprintf(srv, sizeof srv, ", stopped its server (pid %d)", (int)server);
        warn(o, "reclaimed '%s', left by a harness run that was killed (pid %d)%s", dir, (int)owner,
             srv);
    }
    closedir(d);
}

/* The run's copy of pg_hba.conf without its physical replication lines (database field
 * "replication"): a physical stream carries every database of the cluster, the harness's truth
 * copies included. Logical replication connections (replication=database) match the ordinary
 * lines of their database, so a scenario role with REPLICATION can decode its own database
 * only. The cache keeps initdb's file (its sums stay valid). */
static int hba_logical_only(pgsvc *s, hx_err *e)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/pg_hba.conf", s->data_dir);
    char *data = NULL;
    size_t len = 0;
    if (hx_read_file(path, &data, &len, NULL) != 0)
        return hx_fail(e, HX_EINFRA, "cannot read '%s'", path);
    hx_buf out;
    hx_buf_init(&out);
    for (char *line = data; line < data + len;) {
        char *nl = memchr(line, '\n', (size_t)(data + len - line));
        size_t n = nl ? (size_t)(nl - line) + 1 : (size_t)(data + len - line);
        char type[16] = "", db[32] = "";
        if (line[0] != '#' && sscanf(line, "%15s %31s", type, db) == 2 &&
            strcmp(db, "replication") == 0) {
            line += n;
            continue;
        }
        hx_buf_append(&out, line, n);
        line += n;
    }
    hx_free(data);
    int rc = out.oom ? pgsvc_oom(e) : 0;
    /* in place: the file keeps its owner (the server's user) and mode */
    int fd = rc ? -1 : open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (!rc && (fd < 0 || write(fd, out.data ? out.data : "", out.len) != (ssize_t)out.len))
        rc = hx_fail(e, HX_EIO, "cannot write '%s': %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    hx_buf_release(&out);
    return rc;
}

static int start_embedded(const pgsvc_opts *o, pgsvc *s, hx_err *e)
{
    char bindir[PATH_MAX];
    if (!find_bindir(bindir))
        return hx_fail(
            e, HX_EINFRA,
            "no postgresql server binaries (initdb, postgres) in PATH, pg_config "
            "--bindir or /usr/lib/postgresql/*/bin; install postgresql or pass --pg URL");
    char pgbin[PATH_MAX + 16], verline[256], major[16] = "";
    snprintf(pgbin, sizeof pgbin, "%s/postgres", bindir);
    char *vargv[] = {pgbin, "--version", NULL};
    if (run_capture(vargv, verline, sizeof verline) == 0) {
        const char *p = verline + strcspn(verline, "0123456789");
        snprintf(major, sizeof major, "%.*s", (int)strspn(p, "0123456789"), p);
    }
    if (!major[0])
        return hx_fail(e, HX_EINFRA, "cannot tell the version of '%s' (postgres --version)", pgbin);

    runas ra;
    pick_runas(&ra);
    const char *tmpdir = o->tmp_dir ? o->tmp_dir : getenv("TMPDIR");
    /* The server's Unix socket lives in the run dir: "<dir>/hx-pg-XXXXXX/.s.PGSQL.65535" must
     * fit a sockaddr_un path (108 bytes), so a deep TMPDIR falls back to /tmp as well. */
    if (!tmpdir || !tmpdir[0] || strlen(tmpdir) > 80 ||
        (ra.drop && !o->tmp_dir && !traversable(tmpdir, &ra)))
        tmpdir = "/tmp";
    char tmpl[PATH_MAX];
    reclaim_leftovers(o, tmpdir);
    snprintf(tmpl, sizeof tmpl, "%s/hx-pg-XXXXXX", tmpdir);
    if (!mkdtemp(tmpl))
        return hx_fail(e, HX_EIO, "cannot create a temp dir under '%s': %s", tmpdir,
                       strerror(errno));
    s->slot = reg_add(tmpl);
    owner_write(tmpl);
    if (!(s->run_dir = hx_strdup(tmpl)) || !(s->socket_dir = hx_strdup(tmpl)) ||
        !(s->data_dir = hx_asprintf("%s/data", tmpl)) ||
        !(s->log_path = hx_asprintf("%s/postgres.log", tmpl)) ||
        !(s->host = hx_strdup("127.0.0.1")) || !(s->user = hx_strdup(PG_SUPERUSER)) ||
        !(s->admin_db = hx_strdup("postgres")) || !(s->password = hx_malloc(33)))
        return pgsvc_oom(e);
    if (!pgsvc_random_hex(s->password, 16))
        return hx_fail(e, HX_EINFRA, "cannot read random bytes for a password: %s",
                       strerror(errno));
    if (ra.drop && chown(tmpl, ra.uid, ra.gid) < 0)
        return hx_fail(e, HX_EIO, "cannot hand '%s' to user '%s': %s", tmpl, ra.name,
                       strerror(errno));
    int log_fd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0)
        return hx_fail(e, HX_EIO, "cannot create '%s': %s", s->log_path, strerror(errno));
    if (ra.drop && fchown(log_fd, ra.uid, ra.gid) < 0) {
        /* not fatal: the server writes through our descriptor */
    }
    int rc = prepare_data(s, o, bindir, major, &ra, log_fd, e);
    if (!rc) rc = hba_logical_only(s, e);
    if (!rc) rc = boot(s, o, bindir, &ra, log_fd, 0, e);
    close(log_fd);
    if (!rc) rc = set_password(s, e);
    return rc;
}

/* ---- --pg URL ---- */

static int start_url(const pgsvc_opts *o, pgsvc *s, hx_err *e)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(o->url, &perr);
    if (!opts) {
        int rc = perr ? hx_fail(e, HX_EUSAGE, "malformed --pg url: %s", perr) : pgsvc_oom(e);
        PQfreemem(perr);
        return rc;
    }
    const char *host = NULL, *port = NULL, *ct = NULL;
    for (PQconninfoOption *p = opts; p->keyword; p++) {
        if (!p->val || !p->val[0]) continue;
        if (!strcmp(p->keyword, "host"))
            host = p->val;
        else if (!strcmp(p->keyword, "hostaddr") && !host)
            host = p->val;
        else if (!strcmp(p->keyword, "port"))
            port = p->val;
        else if (!strcmp(p->keyword, "connect_timeout"))
            ct = p->val;
    }
    char where[300];
    snprintf(where, sizeof where, "%s:%s", host ? host : "localhost", port ? port : "5432");
    char tbuf[16];
    snprintf(tbuf, sizeof tbuf, "%d", o->connect_timeout_s > 0 ? o->connect_timeout_s : 5);
    const char *kw[] = {"dbname", ct ? NULL : "connect_timeout", NULL};
    const char *vals[] = {o->url, ct ? NULL : tbuf, NULL};
    PQconninfoFree(opts);
    PGconn *c = PQconnectdbParams(kw, vals, 1);
    int rc = 0;
    if (PQstatus(c) != CONNECTION_OK) {
        char msg[512];
        const char *m = PQerrorMessage(c);
        const char *f = strstr(m, "failed: ");
        snprintf(msg, sizeof msg, "%s", f ? f + 8 : m);
        msg[strcspn(msg, "\r\n")] = '\0';
        msg[0] = (char)tolower((unsigned char)msg[0]);
        rc = hx_fail(e, HX_EINFRA,
                     "cannot reach postgres at %s: %s; start it or drop --pg to use the "
                     "embedded one",
                     where, msg);
        goto out;
    }
    const char *v = PQparameterStatus(c, "server_version");
    const char *pw = PQpass(c);
    PGresult *sr = PQexec(c, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user");
    s->admin_super = PQresultStatus(sr) == PGRES_TUPLES_OK && PQntuples(sr) == 1 &&
                     strcmp(PQgetvalue(sr, 0, 0), "t") == 0;
    PQclear(sr);
    if (!(s->host = hx_strdup(PQhost(c))) || !(s->port = hx_strdup(PQport(c))) ||
        !(s->user = hx_strdup(PQuser(c))) || !(s->admin_db = hx_strdup(PQdb(c))) ||
        !(s->version = hx_strdup(v ? v : "?")) || (pw && pw[0] && !(s->password = hx_strdup(pw))))
        rc = pgsvc_oom(e);
out:
    PQfinish(c);
    return rc;
}

int pgsvc_start(const pgsvc_opts *o, pgsvc **out, hx_err *e)
{
    static bool atexit_done;
    static const pgsvc_opts none;
    if (!o) o = &none;
    *out = NULL;
    int64_t t0 = hx_now_ns();
    pgsvc *s = hx_calloc(1, sizeof *s);
    if (!s) return pgsvc_oom(e);
    s->slot = -1;
    s->embedded = o->url == NULL;
    s->admin_super = s->embedded;
    if (s->embedded && !atexit_done) {
        atexit(pgsvc_emergency_cleanup);
        atexit_done = true;
    }
    int rc = s->embedded ? start_embedded(o, s, e) : start_url(o, s, e);
    if (rc) {
        pgsvc_stop(s);
        return rc;
    }
    s->start_ms = ms_since(t0);
    *out = s;
    return 0;
}

int pgsvc_restart(pgsvc *s, hx_err *e)
{
    if (!s->embedded)
        return hx_fail(e, HX_EUSAGE,
                       "fault pg_restart restarts the embedded server; with --pg restart it "
                       "yourself (the scenario cannot)");
    if (s->slot < 0 || reg[s->slot].owner != getpid() || s->pid <= 0)
        return hx_fail(e, HX_EUSAGE,
                       "fault pg_restart restarts the server every scenario shares: run that "
                       "scenario alone (without --jobs)");
    char bindir[PATH_MAX];
    if (!find_bindir(bindir))
        return hx_fail(e, HX_EINFRA, "pg_restart: the postgresql server binaries are gone");
    /* fast shutdown: a checkpoint, so replication slots and every commit survive */
    kill_group(s->pid, SIGINT, STOP_GRACE_MS);
    s->pid = 0;
    reg_set_pid(s->slot, 0, false);
    runas ra;
    pick_runas(&ra);
    int log_fd = open(s->log_path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (log_fd < 0) return hx_fail(e, HX_EIO, "cannot open '%s': %s", s->log_path, strerror(errno));
    static const pgsvc_opts none;
    int rc = boot(s, &none, bindir, &ra, log_fd, atoi(s->port), e);
    close(log_fd);
    return rc;
}

void pgsvc_stop(pgsvc *s)
{
    if (!s) return;
    if (s->pid > 0) {
        kill_group(s->pid, SIGINT, STOP_GRACE_MS);
        reg_set_pid(s->slot, 0, false);
    }
    if (s->run_dir) hx_rm_rf(s->run_dir);
    reg_drop(s->slot);
    svc_free(s);
}
