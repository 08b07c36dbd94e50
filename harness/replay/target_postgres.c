/* target_postgres.c - the PostgreSQL target: into = "postgres" loads raw tables of the
 * scenario's database (replay_pg, replay.h); the solution gets the PG* variables of that
 * database; fault pg_drop ends every other session of it, as a failover would. */
#include <string.h>

#include "replay_target.h"

static int pg_replay(replay_site *site, void *state, const plan_step *st, int64_t batch,
                     replay_stats *out, hx_err *e)
{
    (void)state;
    return replay_pg(site->g, st->dataset, st, site->conn, batch, out, e);
}

static int pg_env(const replay_site *site, replay_env_fn add, void *ud, hx_err *e)
{
    if (!site->pg) return 0; /* a pack without a database: no PG* at all */
    char **pgenv = NULL;
    int rc = pgsvc_env(site->pg, site->dbname, &pgenv, e);
    if (rc) return rc;
    for (size_t i = 0; pgenv[i] && !rc; i++) {
        char *eq = strchr(pgenv[i], '=');
        if (!eq) continue;
        *eq = '\0';
        if (!add(ud, pgenv[i], eq + 1)) rc = hx_fail(e, HX_ENOMEM, "out of memory");
    }
    pgsvc_env_free(pgenv);
    return rc;
}

static int pg_fault(replay_site *site, void *state, const plan_step *st, hx_err *e)
{
    (void)state, (void)st, (void)e;
    if (!site->conn) return 0;
    PGresult *r = PQexec(site->conn, "select pg_terminate_backend(pid) from pg_stat_activity "
                                     "where datname = current_database() and pid <> "
                                     "pg_backend_pid()");
    PQclear(r);
    return 0;
}

static const char *const pg_faults[] = {"pg_drop", NULL};

const replay_target replay_target_postgres = {
    .name = "postgres",
    .code = PLAN_TGT_POSTGRES,
    .format = "postgres",
    .replay = pg_replay,
    .env = pg_env,
    .faults = pg_faults,
    .fault = pg_fault,
};
