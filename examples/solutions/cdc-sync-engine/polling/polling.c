/* polling.c - the cdc-sync-engine baseline: periodic `updated_at` polling.
 *
 * Every POLL_MS (default 500) it copies, for each table of $HARNESS_CDC_TABLES, the source rows
 * whose updated_at is newer than its watermark (minus an overlap, OVERLAP_MS, default 2000, for
 * transactions that commit a little after they stamped their rows) into <target schema>.<t> with
 * INSERT ... ON CONFLICT (key) DO UPDATE, and moves the watermark to the newest updated_at it
 * read. The watermark is kept in <target schema>._poll_position, written in the same transaction
 * as the rows, so a restart resumes where it was. New source columns are added to the target
 * before the copy.
 *
 * What it cannot do, by design of the approach: see a deleted row (it is simply no longer
 * there), see the versions a row went through between two polls, or see a row whose transaction
 * committed later than OVERLAP_MS after stamping it. It also lags by up to a poll interval.
 *
 * Environment: DATABASE_URL (or the PG* variables), HARNESS_CDC_TABLES (comma-separated),
 * HARNESS_CDC_TARGET_SCHEMA (default "target"), POLL_MS, OVERLAP_MS. Prints "polling" once the
 * target tables exist. Ends on SIGTERM. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#define RETRY_SECONDS 120 /* give up after this long without a successful poll */

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("polling: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* A growing string. */
typedef struct {
    char *s;    /* NUL-terminated text */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
} sbuf;

static void sb_add(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            say("out of memory");
            exit(3);
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

static void sb_clear(sbuf *b)
{
    b->len = 0;
    if (b->s) b->s[0] = 0;
}

/* One mirrored table. */
typedef struct {
    char *name; /* source table name (schema public) */
    int ncols;  /* source columns the target has been given (0: not yet) */
    sbuf copy;  /* the poll statement, rebuilt when the columns change */
} table;

static PGresult *run(PGconn *c, const char *sql, int n, const char *const *params)
{
    /* without parameters: the simple protocol, which takes several statements */
    PGresult *r = n ? PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0) : PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        say("%.120s: %s", sql, PQerrorMessage(c));
        PQclear(r);
        return NULL;
    }
    return r;
}

static bool run_ok(PGconn *c, const char *sql)
{
    PGresult *r = run(c, sql, 0, NULL);
    PQclear(r);
    return r != NULL;
}

static char *quoted(PGconn *c, const char *s)
{
    char *q = PQescapeIdentifier(c, s, strlen(s));
    if (!q) {
        say("cannot quote '%s'", s);
        exit(3);
    }
    char *out = strdup(q);
    PQfreemem(q);
    if (!out) exit(3);
    return out;
}

/* Bring the target table up to the source's columns and rebuild the poll statement:
 *   WITH c AS (SELECT cols FROM public.t WHERE updated_at > $1 - overlap),
 *        up AS (INSERT INTO target.t (cols) SELECT cols FROM c ON CONFLICT (key) DO UPDATE ...)
 *   SELECT max(updated_at), count(*) FROM c */
static bool prepare(PGconn *c, const char *qschema, table *t)
{
    const char *p[1] = {t->name};
    PGresult *cols = run(c,
                         "SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
                         "coalesce(a.attnum = ANY (i.indkey), false) "
                         "FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = a.attrelid "
                         "AND i.indisprimary WHERE a.attrelid = ('public.' || quote_ident($1))"
                         "::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                         1, p);
    if (!cols) return false;
    int n = PQntuples(cols);
    if (n == t->ncols) {
        PQclear(cols);
        return true;
    }
    char *qt = quoted(c, t->name);
    sbuf ddl = {0}, list = {0}, key = {0}, set = {0};
    sb_add(&ddl, "CREATE TABLE IF NOT EXISTS ");
    sb_add(&ddl, qschema);
    sb_add(&ddl, ".");
    sb_add(&ddl, qt);
    sb_add(&ddl, " (");
    for (int i = 0; i < n; i++) {
        char *qc = quoted(c, PQgetvalue(cols, i, 0));
        bool is_key = PQgetvalue(cols, i, 2)[0] == 't';
        if (i) sb_add(&ddl, ", ");
        sb_add(&ddl, qc);
        sb_add(&ddl, " ");
        sb_add(&ddl, PQgetvalue(cols, i, 1));
        if (list.len) sb_add(&list, ", ");
        sb_add(&list, qc);
        if (is_key) {
            if (key.len) sb_add(&key, ", ");
            sb_add(&key, qc);
        } else {
            sb_add(&set, set.len ? ", " : "");
            sb_add(&set, qc);
            sb_add(&set, " = EXCLUDED.");
            sb_add(&set, qc);
        }
        free(qc);
    }
    sb_add(&ddl, ", PRIMARY KEY (");
    sb_add(&ddl, key.len ? key.s : "");
    sb_add(&ddl, "));");
    for (int i = 0; i < n; i++) {
        char *qc = quoted(c, PQgetvalue(cols, i, 0));
        sb_add(&ddl, " ALTER TABLE ");
        sb_add(&ddl, qschema);
        sb_add(&ddl, ".");
        sb_add(&ddl, qt);
        sb_add(&ddl, " ADD COLUMN IF NOT EXISTS ");
        sb_add(&ddl, qc);
        sb_add(&ddl, " ");
        sb_add(&ddl, PQgetvalue(cols, i, 1));
        sb_add(&ddl, ";");
        free(qc);
    }
    PQclear(cols);
    bool ok = key.len > 0;
    if (!ok) say("table %s has no primary key", t->name);
    if (ok) ok = run_ok(c, ddl.s);
    if (ok) {
        sb_clear(&t->copy);
        sb_add(&t->copy, "WITH c AS (SELECT ");
        sb_add(&t->copy, list.s);
        sb_add(&t->copy, " FROM public.");
        sb_add(&t->copy, qt);
        sb_add(&t->copy, " WHERE updated_at > $1::timestamptz - $2::int * interval '1 ms'), "
                         "up AS (INSERT INTO ");
        sb_add(&t->copy, qschema);
        sb_add(&t->copy, ".");
        sb_add(&t->copy, qt);
        sb_add(&t->copy, " (");
        sb_add(&t->copy, list.s);
        sb_add(&t->copy, ") SELECT ");
        sb_add(&t->copy, list.s);
        sb_add(&t->copy, " FROM c ON CONFLICT (");
        sb_add(&t->copy, key.s);
        sb_add(&t->copy, set.len ? ") DO UPDATE SET " : ") DO NOTHING");
        sb_add(&t->copy, set.len ? set.s : "");
        sb_add(&t->copy, ") SELECT max(updated_at), count(*) FROM c");
        t->ncols = n;
    }
    free(qt);
    free(ddl.s);
    free(list.s);
    free(key.s);
    free(set.s);
    return ok;
}

/* One poll of one table, its rows and its new watermark in one transaction. */
static bool poll_table(PGconn *c, const char *qschema, table *t, const char *overlap)
{
    if (!run_ok(c, "BEGIN")) return false;
    bool ok = prepare(c, qschema, t);
    sbuf q = {0};
    PGresult *r = NULL;
    if (ok) {
        sb_add(&q, "SELECT coalesce((SELECT watermark FROM ");
        sb_add(&q, qschema);
        sb_add(&q, "._poll_position WHERE tbl = $1), '-infinity')");
        const char *p[1] = {t->name};
        ok = (r = run(c, q.s, 1, p)) != NULL;
    }
    if (ok) {
        const char *p[2] = {PQgetvalue(r, 0, 0), overlap};
        PGresult *got = run(c, t->copy.s, 2, p);
        ok = got != NULL;
        if (ok && !PQgetisnull(got, 0, 0)) {
            sb_clear(&q);
            sb_add(&q, "INSERT INTO ");
            sb_add(&q, qschema);
            sb_add(&q, "._poll_position VALUES ($1, $2) ON CONFLICT (tbl) DO UPDATE SET "
                       "watermark = greatest(EXCLUDED.watermark, _poll_position.watermark)");
            const char *w[2] = {t->name, PQgetvalue(got, 0, 0)};
            PGresult *u = run(c, q.s, 2, w);
            ok = u != NULL;
            PQclear(u);
        }
        PQclear(got);
    }
    PQclear(r);
    free(q.s);
    return run_ok(c, ok ? "COMMIT" : "ROLLBACK") && ok;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec;
}

int main(void)
{
    const char *tables = getenv("HARNESS_CDC_TABLES");
    const char *schema = getenv("HARNESS_CDC_TARGET_SCHEMA");
    const char *url = getenv("DATABASE_URL");
    long poll_ms = getenv("POLL_MS") ? atol(getenv("POLL_MS")) : 500;
    const char *overlap = getenv("OVERLAP_MS") ? getenv("OVERLAP_MS") : "2000";
    if (!schema || !*schema) schema = "target";
    if (!tables || !*tables) {
        say("HARNESS_CDC_TABLES must be set (a cdc scenario sets it)");
        return 2;
    }
    if (poll_ms < 1) poll_ms = 500;
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int nt = 0;
    table t[64];
    char *names = strdup(tables);
    for (char *save = NULL, *n = strtok_r(names, ",", &save); n && nt < 64;
         n = strtok_r(NULL, ",", &save))
        t[nt++] = (table){.name = n};

    PGconn *c = NULL;
    char *qschema = NULL;
    bool announced = false;
    long last_ok = now_s();
    while (!stop) {
        if (!c) {
            const char *k[] = {"dbname", "application_name", NULL};
            const char *v[] = {url && *url ? url : "", "cdc-polling", NULL};
            c = PQconnectdbParams(k, v, 1);
            if (PQstatus(c) != CONNECTION_OK || !run_ok(c, "SET client_min_messages = warning")) {
                say("connect: %s", PQerrorMessage(c));
                PQfinish(c);
                c = NULL;
            } else {
                free(qschema);
                qschema = quoted(c, schema);
                sbuf s = {0};
                sb_add(&s, "CREATE SCHEMA IF NOT EXISTS ");
                sb_add(&s, qschema);
                sb_add(&s, "; CREATE TABLE IF NOT EXISTS ");
                sb_add(&s, qschema);
                sb_add(&s, "._poll_position (tbl text PRIMARY KEY, watermark timestamptz)");
                if (!run_ok(c, s.s)) {
                    PQfinish(c);
                    c = NULL;
                }
                free(s.s);
                for (int i = 0; i < nt; i++)
                    t[i].ncols = 0;
            }
        }
        bool ok = c != NULL;
        for (int i = 0; ok && i < nt && !stop; i++)
            ok = poll_table(c, qschema, &t[i], overlap);
        if (ok) {
            last_ok = now_s();
            if (!announced) {
                printf("polling every %ld ms\n", poll_ms);
                fflush(stdout);
                announced = true;
            }
        } else {
            if (c && PQstatus(c) != CONNECTION_OK) {
                PQfinish(c);
                c = NULL;
            }
            if (now_s() - last_ok > RETRY_SECONDS) {
                say("no successful poll for %d s: giving up", RETRY_SECONDS);
                break;
            }
        }
        if (!stop) sleep_ms(ok ? poll_ms : 250);
    }
    for (int i = 0; i < nt; i++)
        free(t[i].copy.s);
    free(qschema);
    free(names);
    PQfinish(c);
    return stop ? 0 : 1;
}
