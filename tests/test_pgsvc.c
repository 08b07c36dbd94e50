/* test_pgsvc.c - the PostgreSQL service against real servers: the embedded cluster's life cycle,
 * its cache, cleanup after stop and after SIGTERM, per-scenario databases and the solution's
 * environment, and an unreachable --pg URL. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pgfixture.h"

static bool dir_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool group_gone(pid_t pgid)
{
    return kill(-pgid, 0) < 0 && errno == ESRCH;
}

/* A private cache and temp dir, so the cache-hit test sees its own first run. */
static char scratch[256];

static int scratch_setup(void **state)
{
    (void)state;
    snprintf(scratch, sizeof scratch, "/tmp/hx-test-pgsvc-XXXXXX");
    if (!mkdtemp(scratch)) return -1;
    chmod(scratch, 0755);
    unsetenv("HX_TEST_PG_URL"); /* this binary tests the embedded cluster itself */
    return pgfx_setup(state);
}

static int scratch_teardown(void **state)
{
    hx_rm_rf(scratch);
    return pgfx_teardown(state);
}

static void test_pgsvc__start_stop_cleans_up(void **state)
{
    (void)state;
    char cache[300];
    snprintf(cache, sizeof cache, "%s/cache", scratch);
    pgsvc_opts o = {.cache_dir = cache};
    hx_err e = {0};
    pgsvc *s = NULL;
    if (pgsvc_start(&o, &s, &e) != 0) fail_msg("pgsvc_start: %s", e.msg);
    assert_true(s->embedded);
    assert_false(s->cache_hit);
    assert_true(s->start_ms > 0 && s->start_ms >= s->init_ms);
    assert_true(s->pid > 0);
    assert_int_equal(kill(s->pid, 0), 0);
    struct stat st;
    assert_int_equal(stat(s->run_dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_string_equal(s->host, "127.0.0.1");

    PGconn *c = NULL;
    assert_int_equal(pgsvc_connect(s, NULL, &c, &e), 0);
    assert_string_equal(pgfx_scalar(c, "show listen_addresses"), "127.0.0.1");
    assert_string_equal(pgfx_scalar(c, "show fsync"), "off");
    assert_string_equal(pgfx_scalar(c, "show wal_level"), "logical");
    assert_string_equal(
        pgfx_scalar(c, "select rolsuper::text from pg_roles where rolname = current_user"), "true");
    PQfinish(c);

    /* The password is required over TCP: a wrong one is refused. */
    char ci[256];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%s user=%s password=wrong dbname=postgres",
             s->port, s->user);
    c = PQconnectdb(ci);
    assert_int_not_equal(PQstatus(c), CONNECTION_OK);
    assert_non_null(strstr(PQerrorMessage(c), "password authentication failed"));
    PQfinish(c);

    pid_t pid = s->pid;
    char run_dir[512];
    snprintf(run_dir, sizeof run_dir, "%s", s->run_dir);
    pgsvc_stop(s);
    assert_true(group_gone(pid));
    assert_false(dir_exists(run_dir));
    assert_true(dir_exists(cache));

    /* Second start copies the cache instead of running initdb, and gets a new password. */
    assert_int_equal(pgsvc_start(&o, &s, &e), 0);
    assert_true(s->cache_hit);
    assert_int_equal(pgsvc_connect(s, NULL, &c, &e), 0);
    assert_string_equal(pgfx_scalar(c, "select 1 + 1"), "2");
    PQfinish(c);
    pid = s->pid;
    snprintf(run_dir, sizeof run_dir, "%s", s->run_dir);
    pgsvc_stop(s);
    assert_true(group_gone(pid));
    assert_false(dir_exists(run_dir));
}

static char warned[1024];

static void catch_warn(void *ud, const char *msg)
{
    (void)ud;
    snprintf(warned, sizeof warned, "%s", msg);
}

/* A poisoned cache (a solution that got at it appended a trust line) is noticed by its checksum,
 * rebuilt with a warning that names the file, and the next server still wants the password. */
static void test_pgsvc__tampered_cache_is_rebuilt(void **state)
{
    (void)state;
    char cache[300];
    snprintf(cache, sizeof cache, "%s/cache-tamper", scratch);
    pgsvc_opts o = {.cache_dir = cache, .warn = catch_warn};
    hx_err e = {0};
    pgsvc *s = NULL;
    if (pgsvc_start(&o, &s, &e) != 0) fail_msg("pgsvc_start: %s", e.msg);
    assert_false(s->cache_hit);
    assert_false(s->cache_rebuilt);
    pgsvc_stop(s);
    char hba[512];
    snprintf(hba, sizeof hba, "%s/pg-v2-%.*s-%u/data/pg_hba.conf", cache,
             (int)strcspn(pgfx_svc->version, "."), pgfx_svc->version, (unsigned)geteuid());
    FILE *f = fopen(hba, "a");
    assert_non_null(f);
    fputs("host all all 127.0.0.1/32 trust\n", f);
    fclose(f);

    warned[0] = '\0';
    if (pgsvc_start(&o, &s, &e) != 0) fail_msg("pgsvc_start: %s", e.msg);
    assert_false(s->cache_hit);
    assert_true(s->cache_rebuilt);
    assert_non_null(strstr(warned, "pg_hba.conf changed since it was built"));
    assert_non_null(strstr(warned, "rebuilding"));
    char ci[256];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%s user=%s password=wrong dbname=postgres",
             s->port, s->user);
    PGconn *c = PQconnectdb(ci);
    assert_int_not_equal(PQstatus(c), CONNECTION_OK);
    PQfinish(c);
    pgsvc_stop(s);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(hx_read_file(hba, &data, &len, NULL), 0);
    assert_null(strstr(data, "127.0.0.1/32 trust"));
    hx_free(data);

    /* The rebuilt cache is used as it is, silently. */
    warned[0] = '\0';
    if (pgsvc_start(&o, &s, &e) != 0) fail_msg("pgsvc_start: %s", e.msg);
    assert_true(s->cache_hit);
    assert_false(s->cache_rebuilt);
    assert_string_equal(warned, "");
    pgsvc_stop(s);
}

/* kill -9 of a run leaves its run dir (and maybe its server): the next start reclaims it and
 * says so; the run dir of a live run beside it is left alone. */
static void test_pgsvc__killed_runs_leftovers_reclaimed(void **state)
{
    (void)state;
    char tmp[300], cache[300];
    snprintf(tmp, sizeof tmp, "%s/tmp-reclaim", scratch);
    snprintf(cache, sizeof cache, "%s/cache", scratch);
    assert_int_equal(hx_mkdir_p(tmp, NULL), 0);
    chmod(tmp, 0755);
    pgsvc_opts o = {.cache_dir = cache, .tmp_dir = tmp, .warn = catch_warn};
    hx_err e = {0};
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    if (child == 0) {
        pgsvc *s = NULL;
        if (pgsvc_start(&o, &s, &e) != 0) _exit(1);
        dprintf(fds[1], "%s\n", s->run_dir);
        pause();
        _exit(0);
    }
    close(fds[1]);
    char dead_dir[512] = "";
    FILE *f = fdopen(fds[0], "r");
    assert_non_null(fgets(dead_dir, sizeof dead_dir, f));
    fclose(f);
    dead_dir[strcspn(dead_dir, "\n")] = '\0';
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    assert_true(dir_exists(dead_dir));

    /* A live run beside it. */
    pgsvc *live = NULL;
    warned[0] = '\0';
    if (pgsvc_start(&o, &live, &e) != 0) fail_msg("pgsvc_start: %s", e.msg);
    assert_false(dir_exists(dead_dir));
    assert_non_null(strstr(warned, dead_dir));
    assert_non_null(strstr(warned, "left by a harness run that was killed"));
    pgsvc *next = NULL;
    warned[0] = '\0';
    if (pgsvc_start(&o, &next, &e) != 0) fail_msg("pgsvc_start: %s", e.msg);
    assert_true(dir_exists(live->run_dir));
    assert_string_equal(warned, "");
    PGconn *c = NULL;
    assert_int_equal(pgsvc_connect(live, NULL, &c, &e), 0);
    PQfinish(c);
    pgsvc_stop(next);
    pgsvc_stop(live);
}

static void on_term(int sig)
{
    (void)sig;
    pgsvc_emergency_cleanup();
    _exit(130);
}

static void test_pgsvc__sigterm_child_cleans_up(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(p[0]);
        struct sigaction sa = {.sa_handler = on_term};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        hx_err e = {0};
        pgsvc *s = NULL;
        if (pgsvc_start(NULL, &s, &e) != 0) {
            fprintf(stderr, "child: %s\n", e.msg);
            _exit(3);
        }
        char line[600];
        int n = snprintf(line, sizeof line, "%d %s\n", (int)s->pid, s->run_dir);
        if (write(p[1], line, (size_t)n) != n) _exit(4);
        for (;;)
            pause();
    }
    close(p[1]);
    char line[600] = "";
    size_t got = 0;
    ssize_t r;
    while (got + 1 < sizeof line && (r = read(p[0], line + got, sizeof line - 1 - got)) > 0) {
        got += (size_t)r;
        if (memchr(line, '\n', got)) break;
    }
    close(p[0]);
    int pid = 0;
    char run_dir[512] = "";
    assert_int_equal(sscanf(line, "%d %511s", &pid, run_dir), 2);
    assert_int_equal(kill(pid, 0), 0);
    assert_true(dir_exists(run_dir));

    assert_int_equal(kill(child, SIGTERM), 0);
    int st = 0;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 130);
    assert_true(group_gone(pid));
    assert_false(dir_exists(run_dir));
}

static void test_pgsvc__forked_child_exit_spares_parent_server(void **state)
{
    (void)state;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pgsvc_emergency_cleanup();
        exit(0); /* atexit runs the cleanup again */
    }
    int st = 0;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_int_equal(kill(pgfx_svc->pid, 0), 0);
    assert_true(dir_exists(pgfx_svc->run_dir));
    PGconn *c = NULL;
    hx_err e = {0};
    assert_int_equal(pgsvc_connect(pgfx_svc, NULL, &c, &e), 0);
    PQfinish(c);
}

/* The harness's sessions keep the server's notices off the terminal: a RAISE NOTICE (what a
 * function a solution left behind a view would send) writes nothing to stderr. */
static void test_pgsvc__notices_do_not_reach_stderr(void **state)
{
    (void)state;
    PGconn *c = NULL;
    hx_err e = {0};
    assert_int_equal(pgsvc_connect(pgfx_svc, NULL, &c, &e), 0);
    char path[] = "/tmp/hx-notice-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    PGresult *r = PQexec(c, "DO $$ BEGIN RAISE NOTICE '\x1b]0;owned\x07 hx-notice-marker'; END $$");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(c);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 0);
    close(fd);
    unlink(path);
}

static void test_pgsvc__db_name_mapping(void **state)
{
    (void)state;
    char b[64];
    pgsvc_db_name("Late-Arrivals", b);
    assert_string_equal(b, "hx_late_arrivals");
    pgsvc_db_name("9lives", b);
    assert_string_equal(b, "hx_9lives");
    pgsvc_db_name("", b);
    assert_string_equal(b, "hx_");
    pgsvc_db_name("x\"; drop table y; --", b);
    assert_string_equal(b, "hx_x___drop_table_y____");
    pgsvc_db_name("\xc3\xa9t\xc3\xa9", b);
    assert_string_equal(b, "hx___t__");
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    pgsvc_db_name(longname, b);
    assert_int_equal(strlen(b), 63);
    /* a scenario named after a server's own database never maps onto it */
    pgsvc_db_name("postgres", b);
    assert_string_equal(b, "hx_postgres");
    char again[64];
    pgsvc_db_name(b, again);
    assert_string_equal(again, "hx_postgres");
}

static void test_pgsvc__create_db_env_drop(void **state)
{
    (void)state;
    hx_err e = {0};
    char *url = NULL;
    assert_int_equal(pgsvc_create_db(pgfx_svc, "Late Arrivals", NULL, &url, &e), 0);
    assert_non_null(strstr(url, "/hx_late_arrivals"));
    PGconn *c = PQconnectdb(url);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    assert_string_equal(pgfx_scalar(c, "select current_database()"), "hx_late_arrivals");
    PQclear(PQexec(c, "create table t (x int)"));
    assert_string_equal(pgfx_scalar(c, "select to_regclass('t') is not null"), "t");

    /* Re-creating drops it first, even with our session still open, and gives its role a new
     * password: the old URL no longer works. */
    char *url2 = NULL;
    assert_int_equal(pgsvc_create_db(pgfx_svc, "Late Arrivals", NULL, &url2, &e), 0);
    PQfinish(c);
    c = PQconnectdb(url);
    assert_int_not_equal(PQstatus(c), CONNECTION_OK);
    PQfinish(c);
    hx_free(url);
    url = url2;
    c = PQconnectdb(url);
    assert_string_equal(pgfx_scalar(c, "select to_regclass('t') is null"), "t");
    PQfinish(c);

    char **env = NULL;
    assert_int_equal(pgsvc_env(pgfx_svc, "Late Arrivals", &env, &e), 0);
    const char *want[] = {
        "DATABASE_URL=", "PGHOST=", "PGPORT=", "PGUSER=", "PGDATABASE=hx_late_arrivals",
        "PGPASSWORD="};
    size_t n = 0;
    for (; env[n]; n++)
        ;
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++)
        assert_memory_equal(env[i], want[i], strlen(want[i]));
    assert_string_equal(env[0] + strlen("DATABASE_URL="), url);
    /* libpq alone, from the variables a solution gets, reaches the same database. */
    const char *kw[7], *val[7];
    size_t k = 0;
    for (size_t i = 1; i < n; i++) {
        char *eq = strchr(env[i], '=');
        *eq = '\0';
        kw[k] = !strcmp(env[i], "PGHOST")       ? "host"
                : !strcmp(env[i], "PGPORT")     ? "port"
                : !strcmp(env[i], "PGUSER")     ? "user"
                : !strcmp(env[i], "PGDATABASE") ? "dbname"
                                                : "password";
        val[k++] = eq + 1;
    }
    kw[k] = val[k] = NULL;
    c = PQconnectdbParams(kw, val, 0);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    assert_string_equal(pgfx_scalar(c, "select current_database()"), "hx_late_arrivals");
    PQfinish(c);
    pgsvc_env_free(env);

    assert_int_equal(pgsvc_drop_db(pgfx_svc, "Late Arrivals", &e), 0);
    assert_int_equal(pgsvc_connect(pgfx_svc, NULL, &c, &e), 0);
    assert_string_equal(
        pgfx_scalar(c, "select count(*) from pg_database where datname = 'hx_late_arrivals'"), "0");
    PQfinish(c);
    assert_int_not_equal(pgsvc_connect(pgfx_svc, "Late Arrivals", &c, &e), 0);
    assert_int_equal(e.code, HX_EINFRA);
    /* Nor is there an environment (let alone the admin's) for a database without a role. */
    env = (char **)1;
    assert_int_equal(pgsvc_env(pgfx_svc, "Late Arrivals", &env, &e), HX_EINFRA);
    assert_null(env);
    assert_null(pgsvc_url(pgfx_svc, "Late Arrivals"));
    hx_free(url);
}

/* Whether sql fails on c with a message containing want. */
static bool fails_with(PGconn *c, const char *sql, const char *want)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    bool ok = st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
              strstr(PQresultErrorMessage(r), want) != NULL;
    if (!ok) fprintf(stderr, "%s: %s %s\n", sql, PQresStatus(st), PQresultErrorMessage(r));
    PQclear(r);
    return ok;
}

/* Connect to another database with the credentials of url, which must fail with want. */
static bool connect_fails(const char *url, const char *dbname, const char *want)
{
    const char *kw[] = {"dbname", "dbname", NULL};
    const char *val[] = {url, dbname, NULL};
    PGconn *c = PQconnectdbParams(kw, val, 1);
    bool ok = PQstatus(c) != CONNECTION_OK && strstr(PQerrorMessage(c), want) != NULL;
    if (!ok) fprintf(stderr, "connect %s: %s\n", dbname, PQerrorMessage(c));
    PQfinish(c);
    return ok;
}

/* Each line of the PostgreSQL part of the threat model (docs/solutions.md), as the solution's
 * own user, from the environment it is given. */
static void test_pgsvc__solution_role_is_least_privilege(void **state)
{
    (void)state;
    hx_err e = {0};
    char *mine = NULL, *other = NULL;
    assert_int_equal(pgsvc_create_db(pgfx_svc, "mine", NULL, &mine, &e), 0);
    assert_int_equal(pgsvc_create_db(pgfx_svc, "other", NULL, &other, &e), 0);
    PGconn *c = PQconnectdb(mine);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    assert_string_equal(pgfx_scalar(c, "select current_user"), "hx_mine");
    assert_string_equal(pgfx_scalar(c, "show is_superuser"), "off");
    assert_string_equal(pgfx_scalar(c, "select rolcreaterole::text || rolcreatedb::text || "
                                       "rolreplication::text || rolbypassrls::text from "
                                       "pg_roles where rolname = current_user"),
                        "falsefalsefalsefalse");
    /* It owns its database and may build in it. */
    assert_string_equal(pgfx_scalar(c, "select pg_get_userbyid(datdba) from pg_database where "
                                       "datname = current_database()"),
                        "hx_mine");
    PQclear(PQexec(c, "create table t (x int)"));
    assert_string_equal(pgfx_scalar(c, "select to_regclass('t') is not null"), "t");

    assert_true(fails_with(c, "copy (select 1) to program 'touch /tmp/hx-pwned'",
                           "pg_execute_server_program"));
    assert_true(fails_with(c, "select pg_read_file('/etc/passwd')", "permission denied"));
    assert_true(fails_with(c, "select pg_ls_dir('.')", "permission denied"));
    assert_true(fails_with(c, "create role evil superuser login", "must be superuser"));
    assert_true(fails_with(c, "create role evil login", "permission denied"));
    assert_true(fails_with(c, "create database evil", "permission denied"));
    char sql[256];
    snprintf(sql, sizeof sql, "alter role %s set statement_timeout = '1ms'", pgfx_svc->user);
    assert_true(fails_with(c, sql, "must be superuser"));
    assert_true(fails_with(c, "alter role hx_other password 'x'", "permission denied"));
    assert_true(
        fails_with(c, "grant pg_execute_server_program to hx_mine", "must have admin option"));
    /* template1, the admin database and another scenario's database are closed to it. */
    assert_true(connect_fails(mine, "template1", "permission denied"));
    assert_true(connect_fails(mine, "postgres", "permission denied"));
    assert_true(connect_fails(mine, "hx_other", "permission denied"));

    /* What it sets on its own role and database does not reach the harness's sessions. */
    PQclear(PQexec(c, "alter role hx_mine set statement_timeout = '1ms'"));
    PQclear(PQexec(c, "alter database hx_mine set default_transaction_read_only = on"));
    PQclear(PQexec(c, "alter role hx_mine set timezone = 'Asia/Tokyo'"));
    PQfinish(c);
    c = PQconnectdb(mine);
    assert_string_equal(pgfx_scalar(c, "show statement_timeout"), "1ms");
    PQfinish(c);
    assert_int_equal(pgsvc_connect(pgfx_svc, "mine", &c, &e), 0);
    assert_string_equal(pgfx_scalar(c, "show statement_timeout"), "0");
    assert_string_equal(pgfx_scalar(c, "show default_transaction_read_only"), "off");
    assert_string_equal(pgfx_scalar(c, "show timezone"), "UTC");
    assert_string_equal(pgfx_scalar(c, "select count(*) from pg_sleep(0.01), t"), "0");
    PQfinish(c);

    assert_int_equal(pgsvc_drop_db(pgfx_svc, "mine", &e), 0);
    assert_int_equal(pgsvc_drop_db(pgfx_svc, "other", &e), 0);
    assert_int_equal(pgsvc_connect(pgfx_svc, NULL, &c, &e), 0);
    assert_string_equal(
        pgfx_scalar(c, "select count(*) from pg_roles where rolname in ('hx_mine', 'hx_other')"),
        "0");
    PQfinish(c);
    hx_free(mine);
    hx_free(other);
}

/* --pg with a user that is not a superuser but has CREATEDB and CREATEROLE: the least a given
 * server needs (docs/solutions.md). */
static void test_pgsvc__url_mode_with_createdb_createrole_user(void **state)
{
    (void)state;
    hx_err e = {0};
    PGconn *a = NULL;
    assert_int_equal(pgsvc_connect(pgfx_svc, NULL, &a, &e), 0);
    PQclear(PQexec(a, "drop role if exists hx_test_admin"));
    PGresult *r = PQexec(a, "create role hx_test_admin login createdb createrole "
                            "password 'adminpw'");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQclear(PQexec(a, "grant connect on database postgres to hx_test_admin"));
    char url[256];
    snprintf(url, sizeof url, "postgresql://hx_test_admin:adminpw@127.0.0.1:%s/postgres",
             pgfx_svc->port);
    pgsvc_opts o = {.url = url};
    pgsvc *s = NULL;
    if (pgsvc_start(&o, &s, &e) != 0) fail_msg("pgsvc_start: %s", e.msg);
    assert_false(s->admin_super);
    char *sol = NULL;
    if (pgsvc_create_db(s, "given", NULL, &sol, &e) != 0) fail_msg("create_db: %s", e.msg);
    PGconn *c = PQconnectdb(sol);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    assert_string_equal(pgfx_scalar(c, "show is_superuser"), "off");
    assert_true(fails_with(c, "create role evil login", "permission denied"));
    assert_true(fails_with(c, "alter role hx_test_admin set statement_timeout = '1ms'",
                           "permission denied"));
    PQfinish(c);
    /* REPLICATION needs a superuser to grant it: the message says what the user lacks. */
    pgsvc_db_opts ro = {.replication = true};
    assert_int_equal(pgsvc_create_db(s, "cdc", &ro, NULL, &e), HX_EINFRA);
    assert_non_null(strstr(e.msg, "CREATEROLE"));
    assert_int_equal(pgsvc_drop_db(s, "given", &e), 0);
    pgsvc_stop(s);
    hx_free(sol);
    PQclear(PQexec(a, "revoke connect on database postgres from hx_test_admin"));
    PQclear(PQexec(a, "drop role hx_test_admin"));
    PQfinish(a);
}

/* A scenario that asks for REPLICATION gets it (CDC), on the embedded cluster. */
static void test_pgsvc__replication_on_request(void **state)
{
    (void)state;
    hx_err e = {0};
    pgsvc_db_opts ro = {.replication = true};
    char *url = NULL;
    assert_int_equal(pgsvc_create_db(pgfx_svc, "cdc", &ro, &url, &e), 0);
    PGconn *c = PQconnectdb(url);
    assert_string_equal(
        pgfx_scalar(c, "select rolreplication::text from pg_roles where rolname = current_user"),
        "true");
    assert_string_equal(pgfx_scalar(c, "show is_superuser"), "off");
    PQfinish(c);
    assert_int_equal(pgsvc_drop_db(pgfx_svc, "cdc", &e), 0);
    hx_free(url);
}

/* Append line to the fixture server's pg_hba.conf (NULL: put back what it held) and reload. */
static void hba_with(const char *line)
{
    static char *saved;
    char path[600];
    snprintf(path, sizeof path, "%s/pg_hba.conf", pgfx_svc->data_dir);
    if (line) {
        size_t n = 0;
        hx_err e = {0};
        assert_int_equal(hx_read_file(path, &saved, &n, &e), 0);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "%s\n%s", line, saved);
        fclose(f);
    } else {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(saved, f);
        fclose(f);
        hx_free(saved);
        saved = NULL;
    }
    PGconn *a = NULL;
    hx_err e = {0};
    assert_int_equal(pgsvc_connect(pgfx_svc, NULL, &a, &e), 0);
    assert_string_equal(pgfx_scalar(a, "select pg_reload_conf()::text"), "true");
    PQfinish(a);
    usleep(300000); /* the postmaster reloads on SIGHUP, after the call returns */
}

/* REPLICATION with --pg: a server whose pg_hba.conf lets the scenario's role stream physically
 * (every database of the cluster, the harness's truth included) is refused, naming the line to
 * add; the same server without that line gives the role REPLICATION for logical decoding. */
static void test_pgsvc__url_mode_refuses_physical_replication(void **state)
{
    (void)state;
    char *url = pgsvc_url(pgfx_svc, NULL);
    pgsvc_opts o = {.url = url};
    hx_err e = {0};
    pgsvc *s = NULL;
    assert_int_equal(pgsvc_start(&o, &s, &e), 0);
    pgsvc_db_opts ro = {.replication = true};
    hba_with("host replication all 127.0.0.1/32 scram-sha-256");
    int rc = pgsvc_create_db(s, "cdc_given", &ro, NULL, &e);
    hba_with(NULL);
    assert_int_equal(rc, HX_EUSAGE);
    assert_non_null(strstr(e.msg, "physical replication connection"));
    assert_non_null(strstr(e.msg, "'host replication hx_cdc_given all reject'"));
    /* Refused and undone: the role is gone. */
    PGconn *a = NULL;
    assert_int_equal(pgsvc_connect(pgfx_svc, NULL, &a, &e), 0);
    assert_string_equal(
        pgfx_scalar(a, "select count(*)::text from pg_roles where rolname = 'hx_cdc_given'"), "0");
    PQfinish(a);
    char *sol = NULL;
    if (pgsvc_create_db(s, "cdc_given", &ro, &sol, &e) != 0) fail_msg("create_db: %s", e.msg);
    assert_int_equal(pgsvc_drop_db(s, "cdc_given", &e), 0);
    pgsvc_stop(s);
    hx_free(sol);
    hx_free(url);
}

static void test_pgsvc__url_mode_reaches_a_real_server(void **state)
{
    (void)state;
    char *url = pgsvc_url(pgfx_svc, NULL);
    pgsvc_opts o = {.url = url};
    hx_err e = {0};
    pgsvc *s = NULL;
    assert_int_equal(pgsvc_start(&o, &s, &e), 0);
    assert_false(s->embedded);
    assert_int_equal(s->pid, 0);
    assert_string_equal(s->port, pgfx_svc->port);
    assert_string_equal(s->user, pgfx_svc->user);
    assert_int_equal(pgsvc_create_db(s, "via_url", NULL, NULL, &e), 0);
    PGconn *c = NULL;
    assert_int_equal(pgsvc_connect(s, "via_url", &c, &e), 0);
    PQfinish(c);
    assert_int_equal(pgsvc_drop_db(s, "via_url", &e), 0);
    pgsvc_stop(s);
    /* Stopping a --pg service leaves the server alone. */
    assert_int_equal(kill(pgfx_svc->pid, 0), 0);
    hx_free(url);
}

static void test_pgsvc__closed_port_is_infra_error(void **state)
{
    (void)state;
    pgsvc_opts o = {.url = "postgresql://harness@127.0.0.1:1/postgres"};
    hx_err e = {0};
    pgsvc *s = (pgsvc *)1;
    assert_int_equal(pgsvc_start(&o, &s, &e), HX_EINFRA);
    assert_null(s);
    assert_non_null(strstr(e.msg, "cannot reach postgres at 127.0.0.1:1: connection refused"));
    assert_non_null(strstr(e.msg, "drop --pg"));

    o.url = "postgresql://[broken";
    assert_int_equal(pgsvc_start(&o, &s, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "malformed --pg url"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pgsvc__db_name_mapping),
        cmocka_unit_test(test_pgsvc__closed_port_is_infra_error),
        cmocka_unit_test(test_pgsvc__start_stop_cleans_up),
        cmocka_unit_test(test_pgsvc__tampered_cache_is_rebuilt),
        cmocka_unit_test(test_pgsvc__killed_runs_leftovers_reclaimed),
        cmocka_unit_test(test_pgsvc__sigterm_child_cleans_up),
        cmocka_unit_test(test_pgsvc__forked_child_exit_spares_parent_server),
        cmocka_unit_test(test_pgsvc__notices_do_not_reach_stderr),
        cmocka_unit_test(test_pgsvc__create_db_env_drop),
        cmocka_unit_test(test_pgsvc__solution_role_is_least_privilege),
        cmocka_unit_test(test_pgsvc__replication_on_request),
        cmocka_unit_test(test_pgsvc__url_mode_refuses_physical_replication),
        cmocka_unit_test(test_pgsvc__url_mode_with_createdb_createrole_user),
        cmocka_unit_test(test_pgsvc__url_mode_reaches_a_real_server),
    };
    return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
