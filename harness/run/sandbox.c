/* sandbox.c - see sandbox.h. */
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct sandbox {
    bool active;        /* bwrap */
    bool drop;          /* setuid to uid/gid in the child (the harness is root) */
    uid_t uid;          /* the box's user outside */
    gid_t gid;          /* its group */
    char *bwrap;        /* the binary */
    char *sol_dir;      /* the solution folder as given (absolute) */
    char *work;         /* the private work folder holding the copy, or NULL */
    char *src;          /* what is mounted at sol_dir: sol_dir, or work/sol */
    hx_usage sol_base;  /* what src held when the box was made */
    bool base_ok;       /* sol_base was measured whole */
    struct stat run_st; /* the run folder, not counted in src when it lies inside */
    bool has_run;       /* run_st is set */
    char **base;        /* the fixed part of the vector, NULL-terminated */
    size_t nbase;       /* its length */
};

/* Folders below the solution's own that sandbox_sol_growth walks (as the runner's). */
#define SANDBOX_DEPTH 64

static const char *const mode_names[] = {"bwrap", "auto", "none", NULL};

int sandbox_mode_parse(const char *s, sandbox_mode *out, hx_err *e)
{
    for (int i = 0; mode_names[i]; i++)
        if (strcmp(s, mode_names[i]) == 0) {
            *out = (sandbox_mode)i;
            return 0;
        }
    const char *dym = hx_suggest(s, mode_names);
    return hx_fail(e, HX_EUSAGE, "--sandbox: unknown mode '%s'%s%s%s (bwrap, auto or none)", s,
                   dym ? " (did you mean '" : "", dym ? dym : "", dym ? "'?)" : "");
}

static int oom(hx_err *e)
{
    return hx_fail(e, HX_ENOMEM, "out of memory setting up the sandbox");
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    hx_buf b;
    hx_buf_init(&b);
    va_list ap;
    va_start(ap, f);
    bool ok = hx_buf_vprintf(&b, f, ap);
    va_end(ap);
    if (!ok) {
        hx_buf_release(&b);
        return NULL;
    }
    return hx_buf_steal(&b);
}

/* ---- growing vectors ---- */

typedef struct vec {
    char **v;
    size_t n, cap;
    bool oom;
} vec;

static void push(vec *a, const char *s)
{
    if (a->oom) return;
    if (a->n + 2 > a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 64;
        char **nv = hx_realloc(a->v, nc * sizeof *nv);
        if (!nv) {
            a->oom = true;
            return;
        }
        a->v = nv;
        a->cap = nc;
    }
    if (!(a->v[a->n] = hx_strdup(s))) {
        a->oom = true;
        return;
    }
    a->v[++a->n] = NULL;
}

static void push3(vec *a, const char *x, const char *y, const char *z)
{
    push(a, x);
    push(a, y);
    if (z) push(a, z);
}

void sandbox_argv_free(char **argv)
{
    if (!argv) return;
    for (size_t i = 0; argv[i]; i++)
        hx_free(argv[i]);
    hx_free(argv);
}

/* ---- the policy ---- */

/* The system the box sees, read-only. /etc is a short list: name resolution, users, the dynamic
 * loader, certificates, time zones, Debian's alternatives links; not the host's secrets. */
static const char *const etc_files[] = {"passwd",
                                        "group",
                                        "hosts",
                                        "resolv.conf",
                                        "nsswitch.conf",
                                        "host.conf",
                                        "gai.conf",
                                        "ld.so.cache",
                                        "ld.so.conf",
                                        "ld.so.conf.d",
                                        "alternatives",
                                        "ssl",
                                        "ca-certificates",
                                        "localtime",
                                        "timezone",
                                        "os-release",
                                        "debian_version",
                                        "protocols",
                                        "services",
                                        "mime.types",
                                        "papersize",
                                        "python3",
                                        NULL};

static bool base_argv(sandbox *sb, hx_err *e)
{
    vec a = {0};
    push(&a, sb->bwrap);
    push3(&a, "--unshare-user", "--unshare-pid", NULL);
    push3(&a, "--unshare-ipc", "--unshare-uts", NULL);
    push3(&a, "--unshare-cgroup-try", "--die-with-parent", NULL);
    push3(&a, "--new-session", "--hostname", "hx-sandbox");
    push3(&a, "--ro-bind", "/usr", "/usr");
    const char *top[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32"};
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++) {
        char path[64], target[PATH_MAX];
        snprintf(path, sizeof path, "/%s", top[i]);
        struct stat st;
        if (lstat(path, &st) != 0) continue;
        if (S_ISLNK(st.st_mode)) {
            ssize_t n = readlink(path, target, sizeof target - 1);
            if (n <= 0) continue;
            target[n] = '\0';
            push(&a, "--symlink");
            push3(&a, target, path, NULL);
        } else if (S_ISDIR(st.st_mode)) {
            push3(&a, "--ro-bind", path, path);
        }
    }
    for (size_t i = 0; etc_files[i]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/etc/%s", etc_files[i]);
        if (access(path, F_OK) == 0) push3(&a, "--ro-bind", path, path);
    }
    push3(&a, "--dev", "/dev", NULL);
    push3(&a, "--proc", "/proc", NULL);
    push3(&a, "--setenv", "HOME", "/tmp");
    push3(&a, "--setenv", "TMPDIR", "/tmp");
    if (a.oom) {
        sandbox_argv_free(a.v);
        oom(e);
        return false;
    }
    sb->base = a.v;
    sb->nbase = a.n;
    return true;
}

/* Whether uid/gid can reach entries of dir: every component up to it lets it search. */
static const char *closed_on_the_way(const char *dir, uid_t uid, gid_t gid, char *buf, size_t n)
{
    if (geteuid() != 0 && uid == geteuid()) return NULL; /* our own user: as before */
    snprintf(buf, n, "%s", dir);
    size_t len = strlen(buf);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char c = buf[i];
        buf[i] = '\0';
        struct stat st;
        bool ok = stat(buf, &st) == 0 && S_ISDIR(st.st_mode) &&
                  ((st.st_mode & S_IXOTH) || (st.st_uid == uid && (st.st_mode & S_IXUSR)) ||
                   (st.st_gid == gid && (st.st_mode & S_IXGRP)));
        if (!ok) return buf;
        buf[i] = c;
    }
    return NULL;
}

static bool writable_by(const struct stat *st, uid_t uid, gid_t gid)
{
    if (st->st_uid == uid) return st->st_mode & S_IWUSR;
    if (st->st_gid == gid) return st->st_mode & S_IWGRP;
    return st->st_mode & S_IWOTH;
}

/* Run argv as the box's user, stdout to /dev/null and stderr into err (the first line); keep_fd
 * (or -1), opened close-on-exec, is handed to that program alone. Returns the exit status, or -1
 * when it could not start. */
static int run_as(const sandbox *sb, char *const argv[], int keep_fd, char *err, size_t errn)
{
    int pe[2];
    char **env = hx_env_public_list(NULL, 0); /* the box's user sees no secret of ours */
    if (!env || pipe2(pe, O_CLOEXEC) != 0) {
        hx_free(env);
        return -1;
    }
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    pid_t pid = fork();
    if (pid == 0) {
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        dup2(pe[1], 2);
        if (keep_fd >= 0) fcntl(keep_fd, F_SETFD, 0);
        if (sb->drop && (setgroups(0, NULL) != 0 || setgid(sb->gid) != 0 || setuid(sb->uid) != 0))
            _exit(126);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execve(argv[0], argv, env);
        _exit(127);
    }
    hx_free(env);
    close(pe[1]);
    if (devnull >= 0) close(devnull);
    size_t got = 0;
    if (err && errn) err[0] = '\0';
    for (;;) {
        char buf[512];
        ssize_t r = read(pe[0], buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        for (ssize_t i = 0; i < r && err && got + 1 < errn; i++)
            err[got++] = buf[i] == '\n' || (unsigned char)buf[i] < 0x20 ? ' ' : buf[i];
        if (err && errn) err[got] = '\0';
    }
    close(pe[0]);
    if (pid < 0) return -1;
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static char *find_bwrap(const char *given)
{
    if (given) return access(given, X_OK) == 0 ? hx_strdup(given) : NULL;
    const char *path = getenv("PATH");
    char *copy = path ? hx_strdup(path) : NULL, *save = NULL;
    for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save)) {
        char *cand = fmt("%s/bwrap", d);
        if (cand && d[0] == '/' && access(cand, X_OK) == 0) {
            hx_free(copy);
            return cand;
        }
        hx_free(cand);
    }
    hx_free(copy);
    return access("/usr/bin/bwrap", X_OK) == 0 ? hx_strdup("/usr/bin/bwrap") : NULL;
}

/* The user the box runs as when we are root: the folder's owner unless that is root, else
 * nobody. */
static void pick_user(sandbox *sb, const struct stat *sol)
{
    sb->drop = geteuid() == 0;
    sb->uid = geteuid();
    sb->gid = getegid();
    if (!sb->drop) return;
    struct passwd *pw = NULL;
    if (sol->st_uid != 0) {
        sb->uid = sol->st_uid;
        pw = getpwuid(sol->st_uid);
        sb->gid = pw ? pw->pw_gid : sol->st_gid;
        return;
    }
    pw = getpwnam("nobody");
    sb->uid = pw && pw->pw_uid != 0 ? pw->pw_uid : 65534;
    sb->gid = pw && pw->pw_uid != 0 ? pw->pw_gid : 65534;
}

/* Remove the hx-sol-<pid>-* work folders under parent whose harness (pid) is gone: a run killed
 * with -9 cannot remove its own. A folder whose pid is alive (another run, or a reused pid) is
 * left alone. */
static void reclaim_work_copies(const sandbox_opts *o, const char *parent)
{
    DIR *d = opendir(parent);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        if (strncmp(de->d_name, "hx-sol-", 7) != 0) continue;
        long pid = strtol(de->d_name + 7, &end, 10);
        if (end == de->d_name + 7 || *end != '-' || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char *dir = fmt("%s/%s", parent, de->d_name);
        struct stat st;
        if (dir && lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && hx_rm_rf(dir) == 0) {
            char msg[PATH_MAX + 100];
            snprintf(msg, sizeof msg,
                     "reclaimed '%s', a solution work copy left by a harness run that was "
                     "killed (pid %ld)",
                     dir, pid);
            if (o->warn)
                o->warn(o->warn_ud, msg);
            else
                fprintf(stderr, "harness: warning: %s\n", msg);
        }
        hx_free(dir);
    }
    closedir(d);
}

/* The work folder its user owns (each command's /tmp, the copy of the solution folder), named
 * after this harness's pid so the next run can tell a killed run's folder from a live one's. */
static int make_work_dir(sandbox *sb, const sandbox_opts *o, hx_err *e)
{
    const char *parent = o->work_dir ? o->work_dir : getenv("TMPDIR");
    if (!parent || parent[0] != '/') parent = "/tmp";
    char buf[PATH_MAX];
    if (closed_on_the_way(parent, sb->uid, sb->gid, buf, sizeof buf)) parent = "/tmp";
    reclaim_work_copies(o, parent);
    if (!(sb->work = fmt("%s/hx-sol-%ld-XXXXXX", parent, (long)getpid()))) return oom(e);
    if (!mkdtemp(sb->work)) {
        int rc = hx_fail(e, HX_EIO, "cannot create a work folder under '%s': %s", parent,
                         strerror(errno));
        hx_free(sb->work);
        sb->work = NULL;
        return rc;
    }
    if (chown(sb->work, sb->uid, sb->gid) != 0)
        return hx_fail(e, HX_EIO, "cannot hand '%s' to uid %u: %s", sb->work, (unsigned)sb->uid,
                       strerror(errno));
    return 0;
}

/* Copy the solution folder into the work folder, as the box's user. */
static int make_work_copy(sandbox *sb, hx_err *e)
{
    if (!(sb->src = fmt("%s/sol", sb->work))) return oom(e);
    const char *cp = access("/bin/cp", X_OK) == 0 ? "/bin/cp" : "/usr/bin/cp";
    /* cp runs as the box's user, so it reads only what that user may read; it reaches the folder
     * through a descriptor we opened, so a closed folder above it (a clone under /root) does not
     * stop it. */
    int dfd = open(sb->sol_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return hx_fail(e, HX_EUSAGE, "cannot open the solution folder '%s': %s", sb->sol_dir,
                       strerror(errno));
    char *from = fmt("/proc/self/fd/%d/.", dfd);
    if (!from) {
        close(dfd);
        return oom(e);
    }
    char *argv[] = {(char *)cp, "-R", "--preserve=mode,timestamps,links", from, sb->src, NULL};
    char err[300];
    int st = run_as(sb, argv, dfd, err, sizeof err);
    close(dfd);
    hx_free(from);
    if (st != 0)
        return hx_fail(e, HX_EUSAGE,
                       "cannot copy the solution folder '%s' for the sandbox's user (uid %u): %s "
                       "(let that user read it, or use --sandbox none for a trusted run)",
                       sb->sol_dir, (unsigned)sb->uid, err[0] ? err : "cp failed");
    return 0;
}

/* What the folder mounted at the solution's path holds, the run folder not counted. */
static bool sol_usage(const sandbox *sb, uint64_t max_files, hx_usage *u)
{
    memset(u, 0, sizeof *u);
    int fd = open(sb->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        u->closed = true;
        return false;
    }
    hx_usage_opts uo = {.max_depth = SANDBOX_DEPTH,
                        .max_files = max_files,
                        .skip = sb->has_run ? &sb->run_st : NULL};
    return hx_dir_usage(fd, &uo, u);
}

int sandbox_new(const sandbox_opts *o, sandbox **out, hx_err *e)
{
    *out = NULL;
    sandbox *sb = hx_calloc(1, sizeof *sb);
    if (!sb) return oom(e);
    if (o->mode == SANDBOX_NONE) {
        *out = sb;
        return 0;
    }
    int rc = 0;
    char real[PATH_MAX];
    struct stat st;
    if (!o->sol_dir || !realpath(o->sol_dir, real) || stat(real, &st) != 0 ||
        !S_ISDIR(st.st_mode)) {
        rc = hx_fail(e, HX_EUSAGE, "sandbox: cannot resolve the solution folder '%s': %s",
                     o->sol_dir ? o->sol_dir : "(none)", strerror(errno ? errno : ENOTDIR));
        goto fail;
    }
    if (!(sb->sol_dir = hx_strdup(real))) {
        rc = oom(e);
        goto fail;
    }
    pick_user(sb, &st);
    const char *fix = "install bubblewrap (apt-get install bubblewrap), or run with "
                      "--sandbox none for a trusted local run (--sandbox auto falls back by "
                      "itself)";
    if (!(sb->bwrap = find_bwrap(o->bwrap))) {
        rc = hx_fail(e, HX_EINFRA, "no bwrap to sandbox the solution with: %s", fix);
        goto fallback;
    }
    if (!base_argv(sb, e)) {
        rc = HX_ENOMEM;
        goto fail;
    }
    {
        /* The probe: the same namespaces and mounts, as the same user, running `true`. */
        vec a = {0};
        for (size_t i = 0; i < sb->nbase; i++)
            push(&a, sb->base[i]);
        push3(&a, "--", "/usr/bin/true", NULL);
        char err[400];
        int pst = a.oom ? -2 : run_as(sb, a.v, -1, err, sizeof err);
        sandbox_argv_free(a.v);
        if (pst == -2) {
            rc = oom(e);
            goto fail;
        }
        if (pst != 0) {
            rc = hx_fail(
                e, HX_EINFRA,
                "bwrap cannot make the solution's sandbox here (%s, status %d%s%s): on Ubuntu "
                "24.04 AppArmor restricts unprivileged user namespaces "
                "(kernel.apparmor_restrict_unprivileged_userns=1): run the harness as root "
                "(sudo) or install the bwrap AppArmor profile (docs/solutions.md); or %s",
                sb->bwrap, pst, err[0] ? ": " : "", err, fix);
            goto fallback;
        }
    }
    if ((rc = make_work_dir(sb, o, e))) goto fail;
    if (!writable_by(&st, sb->uid, sb->gid)) {
        if ((rc = make_work_copy(sb, e))) goto fail;
    } else if (!(sb->src = hx_strdup(sb->sol_dir))) {
        rc = oom(e);
        goto fail;
    }
    sb->has_run = o->run_dir && stat(o->run_dir, &sb->run_st) == 0;
    sb->base_ok = sol_usage(sb, 0, &sb->sol_base);
    sb->active = true;
    *out = sb;
    return 0;
fallback:
    if (o->mode == SANDBOX_AUTO && rc == HX_EINFRA) {
        char msg[1200];
        snprintf(msg, sizeof msg, "--sandbox auto: running the solution without a sandbox: %s",
                 e ? e->msg : "bwrap is not usable");
        if (o->warn)
            o->warn(o->warn_ud, msg);
        else
            fprintf(stderr, "harness: warning: %s\n", msg);
        sandbox_free(sb);
        sb = hx_calloc(1, sizeof *sb);
        if (!sb) return oom(e);
        if (e) e->code = 0;
        *out = sb;
        return 0;
    }
fail:
    sandbox_free(sb);
    return rc;
}

const char *sandbox_level(const sandbox *sb)
{
    return sb && sb->active ? "bwrap" : "none";
}

bool sandbox_active(const sandbox *sb)
{
    return sb && sb->active;
}

void sandbox_creds(const sandbox *sb, bool *drop, uid_t *uid, gid_t *gid)
{
    *drop = sb && sb->active && sb->drop;
    *uid = sb && sb->active ? sb->uid : geteuid();
    *gid = sb && sb->active ? sb->gid : getegid();
}

const char *sandbox_sol_dir(const sandbox *sb)
{
    return sb && sb->active ? sb->src : NULL;
}

int sandbox_wrap(const sandbox *sb, const char *const *argv, const char *in_dir,
                 const char *out_dir, char ***out, char **tmp_dir, hx_err *e)
{
    *out = NULL;
    *tmp_dir = NULL;
    vec a = {0};
    if (!sandbox_active(sb)) {
        for (size_t i = 0; argv[i]; i++)
            push(&a, argv[i]);
        if (a.oom) {
            sandbox_argv_free(a.v);
            return oom(e);
        }
        *out = a.v;
        return 0;
    }
    char in_abs[PATH_MAX] = "", out_abs[PATH_MAX] = "", buf[PATH_MAX];
    if (in_dir && !realpath(in_dir, in_abs))
        return hx_fail(e, HX_EIO, "cannot resolve '%s': %s", in_dir, strerror(errno));
    if (out_dir && !realpath(out_dir, out_abs))
        return hx_fail(e, HX_EIO, "cannot resolve '%s': %s", out_dir, strerror(errno));
    const char *dirs[] = {sb->src, in_abs, out_abs};
    for (size_t i = 0; i < 3; i++) {
        const char *closed =
            dirs[i][0] ? closed_on_the_way(dirs[i], sb->uid, sb->gid, buf, sizeof buf) : NULL;
        if (closed)
            return hx_fail(e, HX_EUSAGE,
                           "the sandbox's user (uid %u) cannot reach '%s': '%s' is closed to "
                           "it (chmod o+x it, choose another --out, or --sandbox none)",
                           (unsigned)sb->uid, dirs[i], closed);
    }
    if (out_abs[0] && sb->drop && chown(out_abs, sb->uid, sb->gid) != 0)
        return hx_fail(e, HX_EIO, "cannot hand the output folder '%s' to uid %u: %s", out_abs,
                       (unsigned)sb->uid, strerror(errno));
    /* Its /tmp: a fresh folder on the host's disk, which the runner measures with the output
     * folder (a tmpfs would hold memory the harness cannot see). */
    char *tmp = fmt("%s/tmp-XXXXXX", sb->work);
    if (!tmp) return oom(e);
    if (!mkdtemp(tmp) || (sb->drop && chown(tmp, sb->uid, sb->gid) != 0)) {
        int rc =
            hx_fail(e, HX_EIO, "cannot make the solution's /tmp '%s': %s", tmp, strerror(errno));
        rmdir(tmp);
        hx_free(tmp);
        return rc;
    }
    for (size_t i = 0; i < sb->nbase; i++)
        push(&a, sb->base[i]);
    /* /tmp (and /dev/shm and /var/tmp, which lead there) first: a folder of the run under /tmp
     * is mounted inside it. Then the solution folder: an input or output folder inside it is
     * mounted over it. */
    push3(&a, "--bind", tmp, "/tmp");
    push3(&a, "--bind", tmp, "/dev/shm");
    push3(&a, "--symlink", "/tmp", "/var/tmp");
    push3(&a, "--bind", sb->src, sb->sol_dir);
    if (in_abs[0]) push3(&a, "--ro-bind", in_abs, in_abs);
    if (out_abs[0]) push3(&a, "--bind", out_abs, out_abs);
    /* Nothing else is writable: the box's root and its /dev are tmpfs in memory, unmeasured. */
    push3(&a, "--remount-ro", "/dev", NULL);
    push3(&a, "--remount-ro", "/", NULL);
    push3(&a, "--chdir", sb->sol_dir, NULL);
    push(&a, "--");
    for (size_t i = 0; argv[i]; i++)
        push(&a, argv[i]);
    if (a.oom) {
        sandbox_argv_free(a.v);
        hx_rm_rf(tmp);
        hx_free(tmp);
        return oom(e);
    }
    *out = a.v;
    *tmp_dir = tmp;
    return 0;
}

bool sandbox_sol_growth(const sandbox *sb, uint64_t max_files, hx_usage *u)
{
    memset(u, 0, sizeof *u);
    if (!sandbox_active(sb)) return true;
    if (!sb->base_ok) {
        *u = sb->sol_base;
        return false;
    }
    uint64_t cap = max_files ? sb->sol_base.files + max_files : 0;
    bool ok = sol_usage(sb, cap, u);
    u->bytes = u->bytes > sb->sol_base.bytes ? u->bytes - sb->sol_base.bytes : 0;
    u->files = u->files > sb->sol_base.files ? u->files - sb->sol_base.files : 0;
    return ok;
}

void sandbox_free(sandbox *sb)
{
    if (!sb) return;
    if (sb->work) hx_rm_rf(sb->work);
    sandbox_argv_free(sb->base);
    hx_free(sb->bwrap);
    hx_free(sb->sol_dir);
    hx_free(sb->work);
    hx_free(sb->src);
    hx_free(sb);
}
