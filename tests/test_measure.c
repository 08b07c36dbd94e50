/* test_measure.c - the database CPU as the run measures it (run_dbcpu_*), against a real embedded
 * PostgreSQL: a busy backend of the scenario's role is counted, also when it ended between two
 * samples; a busy backend of another role, or one the meter was told to skip, is not. The truth
 * is each backend's own utime + stime read from /proc just before it ends, so the assertions do
 * not depend on how busy the machine is. */
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

/* Burn at least 0.6 s of wall time in c's backend; returns the backend's CPU just after. */
static double burn(PGconn *c, long *backend)
{
    *backend = strtol(pgfx_scalar(c, "select pg_backend_pid()"), NULL, 10);
    PGresult *r = PQexec(c, "do $$ declare t timestamptz := clock_timestamp(); x float8 := 0;"
                            " begin while clock_timestamp() < t + interval '600 ms' loop"
                            " x := x + sqrt(random()); end loop; end $$");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    double burned = proc_cpu(*backend);
    assert_true(burned > 0.05); /* the loop did burn CPU, so the bounds below prove something */
    return burned;
}

static PGconn *connect_as(const char *name)
{
    PGconn *c = NULL;
    hx_err e = {0};
    assert_int_equal(pgsvc_connect(pgfx_svc, name, &c, &e), 0);
    return c;
}

/* Close c and wait until its backend is reaped. */
static void finish(PGconn *c, long backend)
{
    PQfinish(c);
    for (int w = 0; w < 500 && proc_cpu(backend) >= 0; w++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
}

static void
test_measure__role_cpu_counts_a_busy_backend_that_ended_five_times_out_of_five(void **state)
{
    (void)state;
    if (pgfx_svc->pid <= 0) { /* --pg: the server's CPU is not on this machine */
        assert_null(run_dbcpu_start(pgfx_svc->pid, "hx_measure", NULL, 0, 0));
        assert_true(isnan(run_dbcpu_stop(NULL)));
        return;
    }
    PQfinish(pgfx_fresh_db("measure"));
    for (int i = 0; i < 5; i++) {
        /* Sampled every 10 ms, and (odd runs) not sampled at all between the start and the stop:
         * the backend, there at the start, ended before the stop, so all the meter has of its
         * burn is what the postmaster reaped. */
        bool sampled = i % 2 == 0;
        PGconn *c = sampled ? NULL : connect_as("measure");
        run_dbcpu *m = run_dbcpu_start(pgfx_svc->pid, "hx_measure", NULL, 0, sampled ? 10 : 600000);
        assert_non_null(m);
        if (!c) c = connect_as("measure");
        long backend;
        double burned = burn(c, &backend);
        finish(c, backend);
        double got = run_dbcpu_stop(m);
        if (got < 0.8 * burned || got > 1.2 * burned + 0.05)
            fail_msg("run %d (%s): the backend burned %.3f s, the meter counted %.3f s", i,
                     sampled ? "sampled" : "not sampled", burned, got);
    }
}

static void test_measure__role_cpu_leaves_out_other_roles_and_skipped_backends(void **state)
{
    (void)state;
    if (pgfx_svc->pid <= 0) return;
    PQfinish(pgfx_fresh_db("mine"));
    PQfinish(pgfx_fresh_db("theirs"));
    PGconn *harness = connect_as("mine");
    pid_t skip = (pid_t)PQbackendPID(harness);
    run_dbcpu *m = run_dbcpu_start(pgfx_svc->pid, "hx_mine", &skip, 1, 10);
    assert_non_null(m);
    long theirs_pid, skipped_pid;
    PGconn *theirs = connect_as("theirs");
    double theirs_burned = burn(theirs, &theirs_pid);
    double skipped_burned = burn(harness, &skipped_pid);
    finish(theirs, theirs_pid);
    double got = run_dbcpu_stop(m);
    PQfinish(harness);
    /* A whole-server count would hold both burns; the role's has neither. */
    if (got > 0.1 * (theirs_burned + skipped_burned))
        fail_msg(
            "another role burned %.3f s and a skipped backend %.3f s; the meter counted %.3f s",
            theirs_burned, skipped_burned, got);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_measure__role_cpu_counts_a_busy_backend_that_ended_five_times_out_of_five),
        cmocka_unit_test(test_measure__role_cpu_leaves_out_other_roles_and_skipped_backends),
    };
    return cmocka_run_group_tests(tests, pgfx_setup, pgfx_teardown);
}
