/* plug_contain.c - the box around a plugin worker. A worker is two processes: a supervisor, in
 * its own process group, a child subreaper that dies with the harness (PR_SET_PDEATHSIG), and
 * under it the process that loads and runs the plugin. Whatever that process leaves behind (a
 * daemon() child, a setsid double fork) is re-parented to the supervisor, which kills it all
 * once the plugin's process ends or when it is told to stop (SIGTERM, from the harness on a
 * timeout, or the kernel when the harness dies), and then ends as the plugin's process ended
 * (the same exit status or signal), so the harness can name what happened.
 *
 * Confinement (for `harness check`, which must not let a pack's native code change anything):
 * the plugin's process restricts itself with Landlock before it loads the plugin: it can read
 * files, but not write, create, remove or execute any, and (kernel ABI 4+) not bind or connect
 * TCP sockets, nor (ABI 6+) signal or reach abstract Unix sockets outside its own domain. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/landlock.h>

#include "plug.h"

/* Landlock rights newer than the oldest kernel header we build against. */
#define LL_FS_ABI1 ((1ULL << 13) - 1) /* EXECUTE .. MAKE_SYM */
#define LL_FS_REFER (1ULL << 13)      /* ABI 2 */
#define LL_FS_TRUNCATE (1ULL << 14)   /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ULL << 15)  /* ABI 5 */
#define LL_NET_BIND_TCP (1ULL << 0)   /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)

/* struct landlock_ruleset_attr as of ABI 6; the kernel takes any prefix it knows. */
struct ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

int plug_confine_abi(void)
{
#ifdef SYS_landlock_create_ruleset
    long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return v > 0 ? (int)v : 0;
#else
    return 0;
#endif
}

/* Restrict this process as the header says; 0 or -1. */
static int confine_self(void)
{
#ifdef SYS_landlock_create_ruleset
    int abi = plug_confine_abi();
    if (abi < 1) return -1;
    struct ll_ruleset_attr a = {.handled_access_fs = LL_FS_ABI1};
    size_t size = sizeof a.handled_access_fs;
    if (abi >= 2) a.handled_access_fs |= LL_FS_REFER;
    if (abi >= 3) a.handled_access_fs |= LL_FS_TRUNCATE;
    if (abi >= 5) a.handled_access_fs |= LL_FS_IOCTL_DEV;
    if (abi >= 4) {
        a.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
        size = offsetof(struct ll_ruleset_attr, scoped);
    }
    if (abi >= 6) {
        a.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
        size = sizeof a;
    }
    int rs = (int)syscall(SYS_landlock_create_ruleset, &a, size, 0);
    if (rs < 0) return -1;
    /* Reading stays allowed everywhere: the loader reads the plugin and its libraries. */
    struct landlock_path_beneath_attr pb = {
        .allowed_access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR,
        .parent_fd = open("/", O_PATH | O_CLOEXEC),
    };
    int ok = pb.parent_fd >= 0 &&
             syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == 0 &&
             prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
             syscall(SYS_landlock_restrict_self, rs, 0) == 0;
    if (pb.parent_fd >= 0) close(pb.parent_fd);
    close(rs);
    return ok ? 0 : -1;
#else
    return -1;
#endif
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* SIGKILL every child of this process (orphans of the plugin's tree are re-parented here). */
static size_t kill_children(void)
{
    DIR *d = opendir("/proc");
    if (!d) return 0;
    pid_t self = getpid();
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9') continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t r = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (r <= 0) continue;
        buf[r] = '\0';
        /* "pid (comm) state ppid ...": comm may hold spaces and parentheses */
        const char *rp = strrchr(buf, ')');
        int ppid = 0;
        char state;
        if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2 || ppid != (int)self) continue;
        kill((pid_t)atoi(de->d_name), SIGKILL);
        n++;
    }
    closedir(d);
    return n;
}

/* Kill and reap every process below this one; *status gets `main`'s wait status if it is
 * reaped here. Bounded, so a pathological fork storm cannot keep the supervisor alive. */
static void sweep(pid_t main, int *status, bool *main_done)
{
    for (int round = 0; round < 5000; round++) {
        kill_children();
        int st;
        pid_t w;
        bool any = false;
        while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
            any = true;
            if (w == main) {
                *status = st;
                *main_done = true;
            }
        }
        if (w < 0 && errno == ECHILD) return;
        if (!any) nap_ms(2);
    }
}

/* The supervisor: never returns. */
static void supervise(plug_worker_fn fn, void *arg, int fd, bool confine, pid_t harness)
{
    sigset_t wait_for, old;
    sigemptyset(&wait_for);
    sigaddset(&wait_for, SIGTERM);
    sigaddset(&wait_for, SIGCHLD);
    sigprocmask(SIG_BLOCK, &wait_for, &old);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    bool stop = getppid() != harness; /* the harness died before the line above */
    pid_t self = getpid();
    pid_t main = stop ? -1 : fork();
    if (main == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != self) _exit(PLUG_WORKER_STOPPED);
        if (confine && confine_self() != 0) _exit(PLUG_WORKER_UNCONFINED);
        fn(arg, fd);
        _exit(70); /* fn does not return */
    }
    close(fd);
    int status = 0;
    bool main_done = main < 0;
    while (!stop && !main_done) {
        siginfo_t si;
        int sig = sigwaitinfo(&wait_for, &si);
        if (sig == SIGTERM) {
            stop = true;
        } else if (sig == SIGCHLD) {
            int st;
            pid_t w;
            while (!main_done && (w = waitpid(-1, &st, WNOHANG)) > 0)
                if (w == main) {
                    status = st;
                    main_done = true;
                }
        }
    }
    sweep(main, &status, &main_done);
    if (stop || !main_done) _exit(PLUG_WORKER_STOPPED);
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
    /* End by the same signal, without a second core file. */
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    sigprocmask(SIG_UNBLOCK, &one, NULL);
    kill(getpid(), sig);
    _exit(128 + sig);
}

int plug_spawn(plug_worker_fn fn, void *arg, bool confine, pid_t *pid, int *rfd, hx_err *e)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return hx_fail(e, HX_EINFRA, "cannot create a pipe for a plugin worker: %s",
                       strerror(errno));
    /* Unflushed stdio would otherwise be written twice if the plugin calls exit(). */
    fflush(NULL);
    pid_t harness = getpid();
    pid_t w = fork();
    if (w < 0) {
        int err = errno;
        close(pfd[0]);
        close(pfd[1]);
        return hx_fail(e, HX_EINFRA, "cannot fork a plugin worker: %s", strerror(err));
    }
    if (w == 0) {
        close(pfd[0]);
        setpgid(0, 0);
        /* Leave the parent's signal plumbing behind: Ctrl-C is the parent's to handle. Crash
         * handlers too (a test framework's or a crash reporter's): a crash must end the
         * plugin's process with its signal so the parent can name it. */
        for (int sig = 1; sig < NSIG; sig++)
            if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
        signal(SIGPIPE, SIG_IGN);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* A plugin's printf must not land in the harness's own stdout (reports may go there). */
        dup2(STDERR_FILENO, STDOUT_FILENO);
        supervise(fn, arg, pfd[1], confine, harness);
    }
    setpgid(w, w); /* both sides, so the group exists before either relies on it */
    close(pfd[1]);
    *pid = w;
    *rfd = pfd[0];
    return 0;
}

/* waitpid until deadline_ns; true when reaped. */
static bool reap_by(pid_t pid, int64_t deadline_ns, int *status)
{
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid) return true;
        if (r < 0 && errno != EINTR) return true; /* not ours to wait for any more */
        if (hx_now_ns() >= deadline_ns) return false;
        nap_ms(1);
    }
}

int plug_reap(pid_t pid, int64_t grace_ms, bool stop)
{
    int status = 0;
    if (!stop && reap_by(pid, hx_now_ns() + grace_ms * 1000000, &status)) return status;
    /* The supervisor kills the plugin's tree on SIGTERM; SIGKILL is for a supervisor that
     * cannot (then its group goes too, and the plugin's process dies with its parent). */
    kill(pid, SIGTERM);
    if (reap_by(pid, hx_now_ns() + 5000 * (int64_t)1000000, &status)) return status;
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}
