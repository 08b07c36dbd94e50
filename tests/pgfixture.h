/* pgfixture.h - one PostgreSQL per test binary: a cmocka group setup starts the embedded cluster
 * (or reaches $HX_TEST_PG_URL when set, to test against a real server), the group teardown stops
 * it. Tests get a fresh database each with pgfx_fresh_db().
 *
 *     static const struct CMUnitTest tests[] = { cmocka_unit_test(test_x__y), ... };
 *     return cmocka_run_group_tests(tests, pgfx_setup, pgfx_teardown);
 *
 * Ownership: the fixture owns pgfx_svc; a PGconn from pgfx_fresh_db() is the test's (PQfinish). */
#ifndef HX_PGFIXTURE_H
#define HX_PGFIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "pgsvc.h"

static pgsvc *pgfx_svc; /* the group's server, NULL outside the group */

/* Group setup: start the server once; a failure fails the whole group with the reason. */
static inline int pgfx_setup(void **state)
{
    (void)state;
    hx_err e = {0};
    pgsvc_opts o = {0};
    o.url = getenv("HX_TEST_PG_URL");
    if (o.url && !o.url[0]) o.url = NULL;
    if (pgsvc_start(&o, &pgfx_svc, &e) != 0) {
        fprintf(stderr, "pgfixture: %s\n", e.msg);
        return -1;
    }
    return 0;
}

/* Group teardown: stop the server, remove its files. */
static inline int pgfx_teardown(void **state)
{
    (void)state;
    pgsvc_stop(pgfx_svc);
    pgfx_svc = NULL;
    return 0;
}

/* Create (or recreate) database `name` and connect to it; fails the test on error. */
static inline PGconn *pgfx_fresh_db(const char *name)
{
    hx_err e = {0};
    PGconn *c = NULL;
    if (pgsvc_create_db(pgfx_svc, name, NULL, NULL, &e) != 0 ||
        pgsvc_connect(pgfx_svc, name, &c, &e) != 0)
        fail_msg("pgfixture: %s", e.msg);
    return c;
}

/* Run sql and return the first field of the first row (a static buffer), failing on error. */
static inline const char *pgfx_scalar(PGconn *c, const char *sql)
{
    static char buf[4096];
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
        fprintf(stderr, "pgfixture: %s: %s\n", sql, PQerrorMessage(c));
        PQclear(r);
        fail_msg("query failed: %s", sql);
    }
    snprintf(buf, sizeof buf, "%s", PQgetisnull(r, 0, 0) ? "<null>" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return buf;
}

#endif
