/* pgsvc.h - the PostgreSQL service: a real server given by URL (--pg), or a throwaway embedded
 * cluster started for the run, plus one database per scenario and the environment a solution
 * needs to reach it (docs/solutions.md "What the solution gets").
 *
 * Embedded cluster: initdb runs once per PostgreSQL major version and uid into a cache
 * ($XDG_CACHE_HOME/harness/pg-v2-<version>-<uid>, else ~/.cache/harness/...; built in a temp dir
 * and renamed into place, so concurrent runs never see half a cache). The cache records the
 * sha256 of its config files (pg_hba.conf, postgresql.conf, postgresql.auto.conf, pg_ident.conf)
 * when built and is verified before each use: one that differs, or that is not ours alone, is
 * moved aside and rebuilt, with a warning (opts.warn). Each run copies the cache into a
 * fresh 0700 temp dir ($TMPDIR or /tmp, "hx-pg-XXXXXX") and starts `postgres` as a child in its
 * own process group: 127.0.0.1 on a free port, unix socket in that temp dir, fsync off, a random
 * scram password for the superuser "harness", wal_level=logical (CDC challenges need it). When
 * the harness runs as root the server runs as the "postgres" user (else "nobody"), since
 * postgres refuses root. The server is not daemonised: it dies with the harness. CONNECT on the
 * cluster's own databases (postgres, template1) is revoked from PUBLIC.
 *
 * Least privilege (a solution is untrusted code): each scenario database is owned by a role of the
 * same name (NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS, random scram password,
 * only REPLICATION when a scenario asks for it), and CONNECT on it is revoked from PUBLIC. The
 * solution's environment (pgsvc_env) and the harness's own scenario connections (pgsvc_connect
 * with a name) use that role, so nothing a solution leaves in its database (a trigger, a view, a
 * function) ever runs with more rights than the solution has. The admin role (s->user) is used
 * only on the admin database, for CREATE/DROP DATABASE and ROLE; a solution cannot ALTER it.
 * Every harness connection pins the session settings a solution could have changed with ALTER
 * ROLE/DATABASE ... SET (statement_timeout, lock_timeout, read-only, TimeZone, ...): see
 * PGSVC_PINNED. With --pg the given user needs CREATEDB and CREATEROLE (or superuser).
 *
 * Leftovers: each run dir holds harness.owner ("<pid> <start time>" of the harness that made it).
 * pgsvc_start() removes the hx-pg-* dirs under its temp dir whose owner is provably dead (pid
 * gone, or recycled by a process started at another time), stopping a server left in one, and
 * warns naming each; live runs' dirs and dirs without an owner file are never touched.
 *
 * Cleanup: pgsvc_stop() on the normal path. For signals the CALLER (the run loop) installs
 * SIGINT/SIGTERM handlers that call pgsvc_emergency_cleanup() and then _exit(130); pgsvc_start()
 * itself registers pgsvc_emergency_cleanup() with atexit() once. Cleanup only touches servers
 * started by the calling process (not by a parent before a fork), so a forked child that calls
 * exit() does not kill its parent's server. The server also gets SIGQUIT when the thread that
 * started it exits (PR_SET_PDEATHSIG): start it from the main thread. Never reap children with
 * waitpid(-1) or SIGCHLD=SIG_IGN while a pgsvc is live: pgsvc_stop() waits for its own child.
 *
 * Ownership: pgsvc_start() hands out a pgsvc freed by pgsvc_stop(). Strings returned through
 * out-parameters (conninfo, env) are the caller's: hx_free / pgsvc_env_free. A pgsvc may be used
 * from several threads for pgsvc_create_db/drop_db/connect/env (each opens its own connection);
 * start and stop belong to one thread. */
#ifndef HX_PGSVC_H
#define HX_PGSVC_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

/* How to get a server. Zero-initialise, then set what you need. */
typedef struct pgsvc_opts {
    const char *url;          /* --pg URL or conninfo; NULL = start the embedded cluster */
    int64_t start_timeout_ms; /* embedded: give up waiting for readiness after this; 0 = 60000 */
    int connect_timeout_s;    /* URL: libpq connect_timeout when the URL has none; 0 = 5 */
    const char *cache_dir; /* embedded: override the initdb cache folder (tests); NULL = default */
    const char *tmp_dir;   /* embedded: parent of the per-run temp dir; NULL = $TMPDIR or /tmp */
    void (*warn)(void *ud, const char *msg); /* warnings (a rebuilt cache, reclaimed leftovers);
                                                NULL = "harness: warning: ..." on stderr */
    void *warn_ud;                           /* passed to warn */
} pgsvc_opts;

/* A running (or reached) server. Read the fields; change none of them. */
typedef struct pgsvc {
    bool embedded;   /* true: our own cluster, false: the --pg server */
    char *host;      /* TCP host solutions connect to ("127.0.0.1" when embedded) */
    char *port;      /* port, as text */
    char *user;      /* role the harness and solutions use */
    char *password;  /* its password, NULL when the URL had none (libpq may use ~/.pgpass) */
    char *admin_db;  /* database to connect to for CREATE/DROP DATABASE */
    char *version;   /* server_version, e.g. "15.20" */
    double start_ms; /* wall time of pgsvc_start: initdb/copy + boot + readiness (or connect) */
    double init_ms;  /* embedded: part of start_ms spent on initdb (first run) or the cache copy */
    bool cache_hit;  /* embedded: the initdb cache existed and matched its sums */
    bool cache_rebuilt; /* embedded: a cache was there but did not match: it was rebuilt */
    pid_t pid;          /* embedded: postmaster pid, also its process group id; 0 for --pg */
    char *run_dir;      /* embedded: the per-run 0700 temp dir (data/, the socket, postgres.log) */
    char *data_dir;     /* embedded: run_dir/data */
    char *log_path;     /* embedded: run_dir/postgres.log */
    char *socket_dir;   /* embedded: where the unix socket lives (== run_dir) */
    int slot;           /* index in the emergency-cleanup registry, -1 if none */
    bool admin_super;   /* the admin role is a superuser (embedded: always) */
    struct pgsvc_roles *roles; /* the scenario roles and their passwords (private) */
} pgsvc;

/* What a scenario's role may do beyond owning its database. Zero = nothing more. */
typedef struct pgsvc_db_opts {
    bool replication; /* REPLICATION (logical decoding for change-data-capture scenarios); needs
                         a superuser admin role (embedded, or a superuser --pg user) */
} pgsvc_db_opts;

/* The session settings every harness connection pins through libpq's startup options, overriding
 * whatever a solution set with ALTER ROLE/DATABASE ... SET. Callers SET their own
 * statement_timeout (checks do, per session). */
#define PGSVC_PINNED                                                                               \
    "-c statement_timeout=0 -c lock_timeout=0 -c idle_in_transaction_session_timeout=0 "           \
    "-c default_transaction_read_only=off -c default_transaction_isolation=read\\ committed "      \
    "-c TimeZone=UTC -c DateStyle=ISO,MDY -c IntervalStyle=postgres -c extra_float_digits=1 "      \
    "-c bytea_output=hex -c row_security=on"

/* Start the embedded cluster, or reach the server at o->url. On success *out is live and must be
 * given to pgsvc_stop(). Returns 0, HX_EINFRA (no PostgreSQL binaries, initdb/boot failure,
 * unreachable URL: the message names host:port and the libpq error, or the server log tail),
 * HX_EUSAGE (a malformed URL), HX_EIO or HX_ENOMEM. */
int pgsvc_start(const pgsvc_opts *o, pgsvc **out, hx_err *e);

/* Restart the embedded server on the same port and data (fault pg_restart): fast shutdown (a
 * checkpoint: replication slots and commits survive), then boot and wait for readiness. Every
 * session ends; callers reconnect. Only from the process that started it (not a --jobs worker).
 * Returns 0, HX_EUSAGE (--pg, or a worker process) or HX_EINFRA. */
int pgsvc_restart(pgsvc *s, hx_err *e);

/* Stop and free. Embedded: fast shutdown (SIGINT), SIGKILL to the process group after a grace
 * period, wait for the postmaster, remove the temp dir. --pg: only frees. NULL is fine. */
void pgsvc_stop(pgsvc *s);

/* Kill every embedded server this process started and remove its temp dir. Uses only
 * async-signal-safe calls (kill, waitpid, nanosleep, openat/getdents64/unlinkat): call it from a
 * SIGINT/SIGTERM handler or atexit. Idempotent. pgsvc structs stay allocated (do not use them
 * afterwards except to exit). */
void pgsvc_emergency_cleanup(void);

/* The database name a scenario name maps to: "hx_" then lowercase letters, digits and '_'
 * (others become '_'), at most 63 bytes; "" becomes "hx_"; a mapped name maps to itself. The
 * prefix keeps harness inside its own namespace on a shared server. Writes into buf (>= 64 bytes).
 * Every pgsvc function taking a dbname applies this mapping, so callers may pass the raw name. */
void pgsvc_db_name(const char *name, char buf[64]);

/* Create database `name` (mapped by pgsvc_db_name) and its owner role of the same name with a new
 * random password, dropping both first if they exist (WITH FORCE: leftover sessions are ended).
 * o may be NULL. *conninfo_out (may be NULL) gets its postgresql:// URL as that role, free with
 * hx_free. Returns 0, HX_EINFRA (SQL or connection error, message has the server's text; with
 * --pg it names the privilege the user lacks), HX_ENOMEM. */
int pgsvc_create_db(pgsvc *s, const char *name, const pgsvc_db_opts *o, char **conninfo_out,
                    hx_err *e);

/* Drop database `name` and its role if they exist, ending their sessions. Returns 0 or
 * HX_EINFRA. */
int pgsvc_drop_db(pgsvc *s, const char *name, hx_err *e);

/* End every session of scenario role `name` that is not the harness's own: what a solution's
 * command left behind when it ended (a backend still running a query string, holding its locks,
 * that would commit after the command ends and outside its measured time). The harness's own
 * sessions as that role are those pgsvc_connect opened in this process, known by backend pid and
 * start time (not by client address or port, which a proxy or NAT in front of a --pg server
 * changes). Waits up to 10 s for them to go; *ended (may be NULL) gets how many were ended.
 * Returns 0, HX_EINFRA (SQL or connection error, or a session that would not end) or
 * HX_ENOMEM. */
int pgsvc_end_sessions(pgsvc *s, const char *name, int *ended, hx_err *e);

/* Record c as one of the harness's own sessions (pgsvc_connect does it): call it again after a
 * PQreset of a scenario role's connection, which starts a new backend. */
void pgsvc_note_session(PGconn *c);

/* The postgresql:// URL of database `name` as its scenario role (NULL = the admin db as the admin
 * role), user and password percent-encoded. Free with hx_free. NULL on out of memory, or when
 * `name` has no role made by pgsvc_create_db (the admin's credentials are never handed out for a
 * scenario database). */
char *pgsvc_url(const pgsvc *s, const char *name);

/* Connect to database `name` as its scenario role (NULL = the admin db as the admin role), with
 * the PGSVC_PINNED settings. *conn is the caller's (PQfinish). Returns 0 or HX_EINFRA with
 * libpq's message (also when `name` has no scenario role). */
int pgsvc_connect(const pgsvc *s, const char *name, PGconn **conn, hx_err *e);

/* Connect to scenario database `name` as the ADMIN role, with the PGSVC_PINNED settings and
 * search_path = pg_catalog (qualify every name). For what the scenario role must not be able to
 * do: the change-data-capture source tables the admin owns and writes, its publication and slot.
 * Never run SQL there that reads objects the scenario role may own. Returns 0 or HX_EINFRA. */
int pgsvc_connect_admin(const pgsvc *s, const char *name, PGconn **conn, hx_err *e);

/* The solution's view of database `name`: a NULL-terminated array of "KEY=value" strings,
 * DATABASE_URL, PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE, as the scenario role, ready
 * to append to an exec environment. Free with pgsvc_env_free. Returns 0, HX_EINFRA (no scenario
 * role for `name`: call pgsvc_create_db first) or HX_ENOMEM. */
int pgsvc_env(const pgsvc *s, const char *name, char ***env_out, hx_err *e);
void pgsvc_env_free(char **env);

#endif
