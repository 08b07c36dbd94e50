/* fake_solution.c - a stand-in contestant solution for the runner and sampler tests. The first
 * argument picks the behaviour; see usage(). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void usage(void)
{
    fputs(
        "usage: hx_fake_solution MODE [ARGS]\n"
        "  forktree PIDFILE   fork children (one setsid and double-forked, one ignoring SIGTERM),\n"
        "                     write their pids to PIDFILE, sleep forever\n"
        "  segv               crash with SIGSEGV\n"
        "  exit N             exit with status N\n"
        "  burn SECS MB       touch MB MiB, burn SECS seconds of CPU, exit 0\n"
        "  burn-report SECS FILE  burn SECS seconds of CPU, append the CPU seconds it used\n"
        "                     (getrusage) to FILE, exit 0\n"
        "  child-alloc MB SECS  a child touches MB MiB and holds it SECS seconds\n"
        "  short-kids N MS    N children each burning MS ms of CPU, one after another\n"
        "  noisy BYTES        invalid UTF-8, ']]>', control chars, then BYTES of filler\n"
        "  ready-line         print a few lines, then 'listening on 8080', sleep forever\n"
        "  tcp PORT           after 300 ms listen on 127.0.0.1:PORT, sleep forever\n"
        "  printenv NAME      print $NAME and the working directory\n",
        stderr);
    exit(2);
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void burn(double secs)
{
    double end = cpu_now() + secs;
    volatile unsigned long x = 1;
    while (cpu_now() < end)
        for (int i = 0; i < 100000; i++)
            x = x * 2862933555777941757UL + 3037000493UL;
}

static char *touch(long mb)
{
    size_t n = (size_t)mb << 20;
    char *p = malloc(n);
    if (!p) exit(3);
    for (size_t i = 0; i < n; i += 4096)
        p[i] = (char)i;
    return p;
}

static void sleep_forever(void)
{
    for (;;)
        pause();
}

int main(int argc, char **argv)
{
    if (argc < 2) usage();
    const char *m = argv[1];
    if (strcmp(m, "forktree") == 0 && argc == 3) {
        FILE *f = fopen(argv[2], "w");
        if (!f) return 4;
        int pfd[2];
        if (pipe(pfd)) return 4;
        pid_t a = fork();
        if (a == 0) sleep_forever();
        pid_t b = fork();
        if (b == 0) {
            /* Leave the process group and the session, then double-fork so the sleeper is an
             * orphan whose parent link no longer leads to the solution. */
            setsid();
            pid_t c = fork();
            if (c == 0) {
                pid_t me = getpid();
                (void)!write(pfd[1], &me, sizeof me);
                sleep_forever();
            }
            _exit(0);
        }
        pid_t d = fork();
        if (d == 0) {
            signal(SIGTERM, SIG_IGN);
            sleep_forever();
        }
        pid_t c = 0;
        (void)!read(pfd[0], &c, sizeof c);
        waitpid(b, NULL, 0);
        fprintf(f, "%d\n%d\n%d\n%d\n", (int)a, (int)b, (int)c, (int)d);
        fclose(f);
        puts("tree ready");
        fflush(stdout);
        sleep_forever();
    }
    if (strcmp(m, "segv") == 0) {
        puts("about to crash");
        fflush(stdout);
        /* raise, not a NULL store: under -fsanitize the store is caught and becomes exit 1. */
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
        return 0;
    }
    if (strcmp(m, "exit") == 0 && argc == 3) {
        fprintf(stderr, "exiting with %s\n", argv[2]);
        return atoi(argv[2]);
    }
    if (strcmp(m, "burn") == 0 && argc == 4) {
        char *p = touch(atol(argv[3]));
        burn(atof(argv[2]));
        free(p);
        return 0;
    }
    if (strcmp(m, "burn-report") == 0 && argc == 4) {
        burn(atof(argv[2]));
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        FILE *f = fopen(argv[3], "a");
        if (!f) return 4;
        fprintf(f, "%.6f\n",
                ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
                    ru.ru_stime.tv_usec / 1e6);
        return fclose(f) ? 4 : 0;
    }
    if (strcmp(m, "child-alloc") == 0 && argc == 4) {
        pid_t c = fork();
        if (c == 0) {
            char *p = touch(atol(argv[2]));
            usleep((useconds_t)(atof(argv[3]) * 1e6));
            free(p);
            _exit(0);
        }
        int st;
        waitpid(c, &st, 0);
        return 0;
    }
    if (strcmp(m, "short-kids") == 0 && argc == 4) {
        int n = atoi(argv[2]);
        for (int i = 0; i < n; i++) {
            pid_t c = fork();
            if (c == 0) {
                burn(atof(argv[3]) / 1000);
                _exit(0);
            }
            waitpid(c, NULL, 0);
        }
        return 0;
    }
    if (strcmp(m, "noisy") == 0 && argc == 3) {
        long n = atol(argv[2]);
        fputs("HEAD-START\n\xff\xfe\xc3( bad utf-8 ]]> cdata end \x01\x02\x1b[31m red \x7f\n",
              stdout);
        fputs("stderr: ]]> \x1b[0m \xff\n", stderr);
        static char line[101];
        memset(line, 'x', 99);
        line[99] = '\n';
        for (long k = 0; k + 100 <= n; k += 100)
            fwrite(line, 1, 100, stdout);
        fputs("TAIL-END\n", stdout);
        return 0;
    }
    if (strcmp(m, "ready-line") == 0) {
        puts("starting up");
        puts("loading config");
        fflush(stdout);
        usleep(200000);
        puts("server listening on 8080");
        fflush(stdout);
        sleep_forever();
    }
    if (strcmp(m, "tcp") == 0 && argc == 3) {
        usleep(300000);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 16)) return 5;
        for (;;) {
            int c = accept(fd, NULL, NULL);
            if (c >= 0) close(c);
        }
    }
    if (strcmp(m, "printenv") == 0 && argc == 3) {
        const char *v = getenv(argv[2]);
        char cwd[4096];
        printf("%s=%s\ncwd=%s\n", argv[2], v ? v : "(unset)", getcwd(cwd, sizeof cwd));
        return 0;
    }
    usage();
}
