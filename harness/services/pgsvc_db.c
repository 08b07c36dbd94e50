/* pgsvc_db.c - see pgsvc.h: the scenario databases and their least-privilege roles (name ->
 * password, shared by threads), connection URLs and the solution's environment. */
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

/* ---- the scenario roles: name -> password, shared by threads ---- */

struct pgsvc_roles {
    pthread_mutex_t mu;
    struct {
        char name[64];
        char password[33];
    } * v;
    size_t n, cap;
};

static struct pgsvc_roles *roles_of(pgsvc *s)
{
    static pthread_mutex_t init_mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&init_mu);
    if (!s->roles && (s->roles = hx_calloc(1, sizeof *s->roles)))
        pthread_mutex_init(&s->roles->mu, NULL);
    pthread_mutex_unlock(&init_mu);
    return s->roles;
}

/* Copy the password of role db into pw (33 bytes); false when there is no such role. */
static bool role_password(const pgsvc *s, const char *db, char pw[33])
{
    struct pgsvc_roles *r = s->roles;
    if (!r) return false;
    bool found = false;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n && !found; i++)
        if (strcmp(r->v[i].name, db) == 0) {
            memcpy(pw, r->v[i].password, 33);
            found = true;
        }
    pthread_mutex_unlock(&r->mu);
    return found;
}

/* Set (pw non-NULL) or forget (NULL) role db's password. false on out of memory. */
static bool role_set(pgsvc *s, const char *db, const char *pw)
{
    struct pgsvc_roles *r = roles_of(s);
    if (!r) return false;
    bool ok = true;
    pthread_mutex_lock(&r->mu);
    size_t i = 0;
    while (i < r->n && strcmp(r->v[i].name, db) != 0)
        i++;
    if (!pw) {
        if (i < r->n) r->v[i] = r->v[--r->n];
    } else {
        if (i == r->n) {
            if (r->n == r->cap) {
                size_t nc = r->cap ? r->cap * 2 : 16;
                void *nv = hx_realloc(r->v, nc * sizeof *r->v);
                if (!nv) ok = false;
                if (ok) r->v = nv, r->cap = nc;
            }
            if (ok) snprintf(r->v[r->n++].name, 64, "%s", db);
        }
        if (ok) snprintf(r->v[i].password, 33, "%s", pw);
    }
    pthread_mutex_unlock(&r->mu);
    return ok;
}

void pgsvc_roles_free(struct pgsvc_roles *r)
{
    if (!r) return;
    pthread_mutex_destroy(&r->mu);
    explicit_bzero(r->v, r->cap * sizeof *r->v);
    hx_free(r->v);
    hx_free(r);
}

/* ---- databases ---- */

void pgsvc_db_name(const char *name, char buf[64])
{
    /* The prefix keeps us in our own namespace on a real server (--pg): a scenario named
     * "postgres" or after someone's database must never have it dropped and recreated. */
    size_t o = 0;
    if (!name) name = "";
    /* Idempotent: a name that is already a mapped one stays as it is (the functions below map
     * whatever they are given, and pass mapped names to each other). */
    bool mapped = strncmp(name, "hx_", 3) == 0 && strlen(name) <= 63;
    for (const char *p = name; mapped && *p; p++)
        mapped = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
    if (!mapped) {
        memcpy(buf, "hx_", 3);
        o = 3;
    }
    for (const char *p = name; *p && o < 63; p++) {
        unsigned char c = (unsigned char)*p;
        buf[o++] = isalnum(c) && c < 0x80 ? (char)tolower(c) : '_';
    }
    buf[o] = '\0';
}

static void pct_encode(hx_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-._~", *p))
            hx_buf_putc(b, (char)*p);
        else
            hx_buf_printf(b, "%%%02X", *p);
    }
}

/* The URL of database db (NULL: the admin db) as user with password pw (may be NULL). */
static char *url_as(const pgsvc *s, const char *user, const char *pw, const char *db)
{
    hx_buf b;
    hx_buf_init(&b);
    hx_buf_puts(&b, "postgresql://");
    pct_encode(&b, user);
    if (pw) {
        hx_buf_putc(&b, ':');
        pct_encode(&b, pw);
    }
    hx_buf_putc(&b, '@');
    if (strchr(s->host, ':'))
        hx_buf_printf(&b, "[%s]", s->host);
    else
        pct_encode(&b, s->host);
    hx_buf_printf(&b, ":%s/", s->port);
    pct_encode(&b, db ? db : s->admin_db);
    if (b.oom) {
        hx_buf_release(&b);
        return NULL;
    }
    return hx_buf_steal(&b);
}

char *pgsvc_url(const pgsvc *s, const char *name)
{
    if (!name) return url_as(s, s->user, s->password, NULL);
    char db[64], pw[33];
    pgsvc_db_name(name, db);
    if (!role_password(s, db, pw)) return NULL;
    char *u = url_as(s, db, pw, db);
    explicit_bzero(pw, sizeof pw);
    return u;
}

/* The harness's own sessions drop the server's notices: "does not exist, skipping" from its
 * cleanup is not news, and a notice raised by something the solution left in its database (a
 * function behind a view) is untrusted text that must not reach the terminal. */
static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int pgsvc_connect(const pgsvc *s, const char *name, PGconn **conn, hx_err *e)
{
    *conn = NULL;
    char db[64] = "";
    if (name) pgsvc_db_name(name, db);
    char *url = pgsvc_url(s, name);
    if (!url) {
        if (name && !s->roles) return pgsvc_oom(e);
        return name ? hx_fail(e, HX_EINFRA,
                              "cannot connect to postgres database %s: it has no scenario role "
                              "(not made by this run, or dropped)",
                              db)
                    : pgsvc_oom(e);
    }
    /* A solution may have run ALTER ROLE/DATABASE ... SET on its own role and database: the
     * startup options win over those. */
    const char *kw[] = {"dbname", "connect_timeout", "options", "client_encoding", NULL};
    const char *vals[] = {url, "10", PGSVC_PINNED, "UTF8", NULL};
    PGconn *c = PQconnectdbParams(kw, vals, 1);
    hx_free(url);
    if (PQstatus(c) != CONNECTION_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
        msg[strcspn(msg, "\r\n")] = '\0';
        PQfinish(c);
        return hx_fail(e, HX_EINFRA, "cannot connect to postgres at %s:%s: %s", s->host, s->port,
                       msg);
    }
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    if (name) pgsvc_note_session(c);
    *conn = c;
    return 0;
}

int pgsvc_connect_admin(const pgsvc *s, const char *name, PGconn **conn, hx_err *e)
{
    *conn = NULL;
    char db[64];
    pgsvc_db_name(name, db);
    char *url = url_as(s, s->user, s->password, db);
    if (!url) return pgsvc_oom(e);
    /* search_path: only pg_catalog, so nothing the scenario role made in its database (it owns
     * the public schema there) can stand in for a function or operator the harness calls. */
    const char *kw[] = {"dbname", "connect_timeout", "options", "client_encoding", NULL};
    const char *vals[] = {url, "10", PGSVC_PINNED " -c search_path=pg_catalog", "UTF8", NULL};
    PGconn *c = PQconnectdbParams(kw, vals, 1);
    hx_free(url);
    if (PQstatus(c) != CONNECTION_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
        msg[strcspn(msg, "\r\n")] = '\0';
        PQfinish(c);
        return hx_fail(e, HX_EINFRA, "cannot connect to postgres database %s at %s:%s as %s: %s",
                       db, s->host, s->port, s->user, msg);
    }
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    *conn = c;
    return 0;
}

/* Run sql (a format with %s placeholders for already-quoted words) on the admin connection c. */
static int exec_on(pgsvc *s, PGconn *c, const char *sql, hx_err *e)
{
    PGresult *r = PQexec(c, sql);
    int rc = 0;
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
        msg[strcspn(msg, "\r\n")] = '\0';
        const char *hint = "";
        if (!s->embedded && strstr(msg, "permission denied"))
            hint = "; the --pg user needs CREATEDB and CREATEROLE (or superuser), see "
                   "docs/solutions.md";
        rc = hx_fail(e, HX_EINFRA, "%s on postgres at %s:%s failed: %s%s", sql, s->host, s->port,
                     msg, hint);
    }
    PQclear(r);
    return rc;
}

static int admin_conn(pgsvc *s, PGconn **c, hx_err *e)
{
    return pgsvc_connect(s, NULL, c, e);
}

/* Drop db and its role on the admin connection c. */
static int drop_on(pgsvc *s, PGconn *c, const char *db, hx_err *e)
{
    char *id = PQescapeIdentifier(c, db, strlen(db));
    char *lit = PQescapeLiteral(c, db, strlen(db));
    char *sql = NULL;
    int rc = 0;
    if (!id || !lit) {
        rc = pgsvc_oom(e);
        goto out;
    }
    if (!(sql = hx_asprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", id))) rc = pgsvc_oom(e);
    if (!rc) rc = exec_on(s, c, sql, e);
    hx_free(sql);
    /* The role's sessions elsewhere (the admin database of a --pg server allows them). */
    if (!rc && !(sql = hx_asprintf("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                                   "usename = %s AND pid <> pg_backend_pid()",
                                   lit)))
        rc = pgsvc_oom(e);
    if (!rc) rc = exec_on(s, c, sql, e);
    hx_free(sql);
    sql = NULL;
    if (!rc && !(sql = hx_asprintf("DROP ROLE IF EXISTS %s", id))) rc = pgsvc_oom(e);
    if (!rc) rc = exec_on(s, c, sql, e);
out:
    hx_free(sql);
    PQfreemem(id);
    PQfreemem(lit);
    return rc;
}

int pgsvc_drop_db(pgsvc *s, const char *name, hx_err *e)
{
    char db[64];
    pgsvc_db_name(name, db);
    PGconn *c;
    int rc = admin_conn(s, &c, e);
    if (!rc) rc = drop_on(s, c, db, e);
    if (!rc) role_set(s, db, NULL);
    PQfinish(c);
    return rc;
}

/* Whether role db (password pw) may open a physical replication connection to a --pg server:
 * such a stream carries every database of the cluster (the embedded one's pg_hba.conf has no
 * such line, hba_logical_only). */
static bool physical_replication_open(const pgsvc *s, const char *db, const char *pw)
{
    char *url = url_as(s, db, pw, db);
    char *full = url ? hx_asprintf("%s?replication=true&connect_timeout=10", url) : NULL;
    hx_free(url);
    if (!full) return false;
    PGconn *c = PQconnectdb(full);
    bool open = PQstatus(c) == CONNECTION_OK;
    PQfinish(c);
    explicit_bzero(full, strlen(full));
    hx_free(full);
    return open;
}

int pgsvc_create_db(pgsvc *s, const char *name, const pgsvc_db_opts *o, char **conninfo_out,
                    hx_err *e)
{
    static const pgsvc_db_opts none;
    if (!o) o = &none;
    char db[64], pw[33];
    pgsvc_db_name(name, db);
    if (conninfo_out) *conninfo_out = NULL;
    if (!pgsvc_random_hex(pw, 16))
        return hx_fail(e, HX_EINFRA, "cannot read random bytes for a password: %s",
                       strerror(errno));
    PGconn *c;
    int rc = admin_conn(s, &c, e);
    if (rc) return rc;
    char *id = PQescapeIdentifier(c, db, strlen(db));
    char *enc = PQencryptPasswordConn(c, pw, db, "scram-sha-256");
    char *lit = enc ? PQescapeLiteral(c, enc, strlen(enc)) : NULL;
    char *sql = NULL;
    if (!id || !lit) {
        rc = pgsvc_oom(e);
        goto out;
    }
    rc = drop_on(s, c, db, e);
    /* The role may own its database and what it makes inside, nothing more: no superuser, no
     * new roles or databases, no pg_read_server_files & co (never granted), no RLS bypass. */
    if (!rc && !(sql = hx_asprintf("CREATE ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                                   "%s NOBYPASSRLS PASSWORD %s",
                                   id, o->replication ? "REPLICATION" : "NOREPLICATION", lit)))
        rc = pgsvc_oom(e);
    if (!rc) rc = exec_on(s, c, sql, e);
    hx_free(sql);
    sql = NULL;
    /* A non-superuser admin must be a member of a role to make it a database's owner. */
    if (!rc && !s->admin_super && !(sql = hx_asprintf("GRANT %s TO CURRENT_USER", id)))
        rc = pgsvc_oom(e);
    if (!rc && sql) rc = exec_on(s, c, sql, e);
    hx_free(sql);
    sql = NULL;
    if (!rc && !(sql = hx_asprintf("CREATE DATABASE %s OWNER %s TEMPLATE template0 ENCODING 'UTF8'",
                                   id, id)))
        rc = pgsvc_oom(e);
    if (!rc) rc = exec_on(s, c, sql, e);
    hx_free(sql);
    sql = NULL;
    /* No other scenario's role (nor anyone else) may connect to it; its owner still may. */
    if (!rc && !(sql = hx_asprintf("REVOKE ALL ON DATABASE %s FROM PUBLIC", id))) rc = pgsvc_oom(e);
    if (!rc) rc = exec_on(s, c, sql, e);
    /* REPLICATION on a server that is not ours: what its pg_hba.conf lets the role do is out of
     * the harness's hands, and a physical stream (pg_basebackup) copies every database there,
     * the harness's truth included. Refused, not made safe. */
    if (!rc && o->replication && !s->embedded && physical_replication_open(s, db, pw)) {
        rc = hx_fail(e, HX_EUSAGE,
                     "--pg server %s:%s lets the scenario's role %s open a physical replication "
                     "connection (a 'replication' line of its pg_hba.conf): with REPLICATION, "
                     "which this scenario gives its solution for change data capture, it could "
                     "copy every database of the server (pg_basebackup), the harness's truth "
                     "included; reject it in pg_hba.conf before any line that allows it ('host "
                     "replication %s all reject', or /^hx_ for every scenario's role on "
                     "PostgreSQL 16+), or run without --pg",
                     s->host, s->port, db, db);
        drop_on(s, c, db, NULL);
    }
    if (!rc && !role_set(s, db, pw)) rc = pgsvc_oom(e);
    if (!rc && conninfo_out && !(*conninfo_out = pgsvc_url(s, db))) rc = pgsvc_oom(e);
out:
    explicit_bzero(pw, sizeof pw);
    hx_free(sql);
    PQfreemem(id);
    PQfreemem(lit);
    PQfreemem(enc);
    PQfinish(c);
    return rc;
}

int pgsvc_env(const pgsvc *s, const char *name, char ***env_out, hx_err *e)
{
    char db[64], pw[33];
    pgsvc_db_name(name, db);
    *env_out = NULL;
    if (!role_password(s, db, pw))
        return hx_fail(e, HX_EINFRA,
                       "postgres database %s has no scenario role: create it with "
                       "pgsvc_create_db first",
                       db);
    char **env = hx_calloc(7, sizeof *env);
    char *url = env ? url_as(s, db, pw, db) : NULL;
    size_t n = 0;
    bool ok = url && (env[n++] = hx_asprintf("DATABASE_URL=%s", url)) &&
              (env[n++] = hx_asprintf("PGHOST=%s", s->host)) &&
              (env[n++] = hx_asprintf("PGPORT=%s", s->port)) &&
              (env[n++] = hx_asprintf("PGUSER=%s", db)) &&
              (env[n++] = hx_asprintf("PGDATABASE=%s", db)) &&
              (env[n++] = hx_asprintf("PGPASSWORD=%s", pw));
    explicit_bzero(pw, sizeof pw);
    hx_free(url);
    if (!ok) {
        pgsvc_env_free(env);
        return pgsvc_oom(e);
    }
    *env_out = env;
    return 0;
}

void pgsvc_env_free(char **env)
{
    if (!env) return;
    for (char **p = env; *p; p++)
        hx_free(*p);
    hx_free(env);
}

/* ---- the sessions a solution left behind ---- */

/* The harness's own sessions as scenario roles (pgsvc_connect with a name), by backend pid and
 * start time: a pid alone could be a later backend's once the session is closed. A ring: the
 * oldest are forgotten, and a closed session's entry matches nothing. */
#define OWN_SLOTS 1024
static struct own_session {
    int pid;
    char start[48]; /* backend_start as text */
} own[OWN_SLOTS];
static size_t own_next;
static pthread_mutex_t own_mu = PTHREAD_MUTEX_INITIALIZER;

void pgsvc_note_session(PGconn *c)
{
    /* qualified: the role's own search_path may put its schema first */
    PGresult *r = PQexec(c, "SELECT backend_start::text FROM pg_catalog.pg_stat_activity WHERE "
                            "pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        pthread_mutex_lock(&own_mu);
        struct own_session *o = &own[own_next++ % OWN_SLOTS];
        o->pid = PQbackendPID(c);
        snprintf(o->start, sizeof o->start, "%s", PQgetvalue(r, 0, 0));
        pthread_mutex_unlock(&own_mu);
    }
    PQclear(r);
}

static bool own_has(int pid, const char *start)
{
    bool found = false;
    pthread_mutex_lock(&own_mu);
    for (size_t i = 0; i < OWN_SLOTS && !found; i++)
        found = own[i].pid == pid && strcmp(own[i].start, start) == 0;
    pthread_mutex_unlock(&own_mu);
    return found;
}

int pgsvc_end_sessions(pgsvc *s, const char *name, int *ended, hx_err *e)
{
    if (ended) *ended = 0;
    char db[64];
    pgsvc_db_name(name, db);
    PGconn *c;
    int rc = admin_conn(s, &c, e);
    if (rc) return rc;
    hx_buf pids;
    hx_buf_init(&pids);
    const char *params[] = {db};
    PGresult *r = PQexecParams(c,
                               "SELECT pid, backend_start::text FROM pg_catalog.pg_stat_activity "
                               "WHERE usename = $1 AND pid <> pg_catalog.pg_backend_pid() AND "
                               "backend_type IN ('client backend', 'walsender')",
                               1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
        msg[strcspn(msg, "\r\n")] = '\0';
        rc = hx_fail(e, HX_EINFRA, "cannot list the sessions of role %s on postgres at %s:%s: %s",
                     db, s->host, s->port, msg);
        goto out;
    }
    int n = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        if (own_has(atoi(PQgetvalue(r, i, 0)), PQgetvalue(r, i, 1))) continue;
        hx_buf_printf(&pids, "%s%s", n ? "," : "{", PQgetvalue(r, i, 0));
        n++;
    }
    PQclear(r);
    r = NULL;
    if (pids.oom) {
        rc = pgsvc_oom(e);
        goto out;
    }
    if (!n) goto out;
    hx_buf_putc(&pids, '}');
    if (pids.oom) {
        rc = pgsvc_oom(e);
        goto out;
    }
    const char *set[] = {pids.data};
    r = PQexecParams(c,
                     "SELECT pg_catalog.pg_terminate_backend(p) FROM "
                     "pg_catalog.unnest($1::int[]) p",
                     1, NULL, set, NULL, NULL, 0);
    PQclear(r);
    r = NULL;
    for (int waited = 0;; waited += 20) {
        r = PQexecParams(c,
                         "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE pid = "
                         "ANY($1::int[])",
                         1, NULL, set, NULL, NULL, 0);
        bool gone = PQresultStatus(r) == PGRES_TUPLES_OK && atoi(PQgetvalue(r, 0, 0)) == 0;
        PQclear(r);
        r = NULL;
        if (gone) break;
        if (waited >= 10000) {
            rc = hx_fail(e, HX_EINFRA,
                         "sessions of role %s the solution left behind (pids %s) did not end "
                         "within 10 s of pg_terminate_backend",
                         db, pids.data);
            goto out;
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (ended) *ended = n;
out:
    PQclear(r);
    hx_buf_release(&pids);
    PQfinish(c);
    return rc;
}
