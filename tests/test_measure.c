/* test_measure.c - the database server's CPU as the run measures it (run_server_cpu_seconds),
 * against a real embedded PostgreSQL: a backend that burns CPU is counted while it runs and after
 * it ended, every time. The truth is the backend's own utime + stime read from /proc just before
 * it ends, so the assertion does not depend on how busy the machine is. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine.h"
#include "pgfixture.h"

/* The engine library stamps run.json with the commit the CLI was built from; no CLI here. */
const char *hx_build_commit(void)
{
    return "test";
}

/* utime + stime of one process in seconds, or -1 when it is gone. */
static double proc_cpu(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void test_measure__server_cpu_counts_a_busy_backend_ten_times_out_of_ten(void **state)
{
    (void)state;
    if (pgfx_svc->pid <= 0) { /* --pg: the server's CPU is not on this machine */
        assert_true(isnan(run_server_cpu_seconds(pgfx_svc->pid)));
        return;
    }
    PGconn *admin = pgfx_fresh_db("measure");
    PQfinish(admin);
    for (int i = 0; i < 10; i++) {
        double before = run_server_cpu_seconds(pgfx_svc->pid);
        assert_false(isnan(before));
        PGconn *c = NULL;
        hx_err e = {0};
        assert_int_equal(pgsvc_connect(pgfx_svc, "measure", &c, &e), 0);
        long backend = strtol(pgfx_scalar(c, "select pg_backend_pid()"), NULL, 10);
        /* at least a second of work: spin until 1.1 s of wall time passed */
        PGresult *r = PQexec(c, "do $$ declare t timestamptz := clock_timestamp(); x float8 := 0;"
                                " begin while clock_timestamp() < t + interval '1100 ms' loop"
                                " x := x + sqrt(random()); end loop; end $$");
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
        double burned = proc_cpu(backend);
        assert_true(burned > 0.2); /* the loop did burn CPU, so the bounds below prove something */
        double live = run_server_cpu_seconds(pgfx_svc->pid);
        assert_true(live - before >= 0.8 * burned);
        PQfinish(c);
        for (int w = 0; w < 500 && proc_cpu(backend) >= 0; w++) /* until it is reaped */
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        double after = run_server_cpu_seconds(pgfx_svc->pid);
        if (after - before < 0.8 * burned)
            fail_msg("run %d: backend burned %.2f s, the server measured %.2f s live, %.2f s after",
                     i, burned, live - before, after - before);
    }
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_measure__server_cpu_counts_a_busy_backend_ten_times_out_of_ten),
    };
    return cmocka_run_group_tests(tests, pgfx_setup, pgfx_teardown);
}
