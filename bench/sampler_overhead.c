/* sampler_overhead.c - what the resource sampler itself costs: samples a tree of sleeping
 * processes at 10 Hz for a while and prints the CPU the sampler spent (its own accounting, and
 * the whole process's rusage as a check), as a percentage of one core.
 * usage: sampler_overhead [SECONDS=10] [CHILDREN=8] */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sampler.h"

static double ru_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 10;
    int kids = argc > 2 ? atoi(argv[2]) : 8;
    pid_t root = fork();
    if (root == 0) {
        for (int i = 0; i < kids; i++)
            if (fork() == 0)
                for (;;)
                    pause();
        for (;;)
            pause();
    }
    usleep(100000);
    sampler *s;
    hx_err e;
    if (sampler_new(root, &(sampler_opts){.hz = 10}, &s, &e) || sampler_start(s, &e)) {
        fprintf(stderr, "sampler_overhead: %s\n", e.msg);
        return 1;
    }
    double c0 = ru_cpu();
    int64_t t0 = hx_now_ns();
    usleep((useconds_t)(secs * 1e6));
    sampler_stop(s);
    double wall = (hx_now_ns() - t0) / 1e9, cpu = ru_cpu() - c0;
    sampler_summary r;
    sampler_summarize(s, NULL, &r, &e);
    printf("sampler: %u samples in %.1fs of a tree of %d processes\n", r.samples, wall, kids + 1);
    printf("sampler: own accounting %.4fs CPU = %.3f%% of a core (%.0f us per sample)\n",
           r.self_cpu_s, 100 * r.self_cpu_s / wall, 1e6 * r.self_cpu_s / r.samples);
    printf("sampler: process rusage %.4fs CPU = %.3f%% of a core\n", cpu, 100 * cpu / wall);
    sampler_summary_release(&r);
    sampler_free(s);
    kill(-root, SIGKILL);
    kill(root, SIGKILL);
    waitpid(root, NULL, 0);
    return 0;
}
