/* pg_replay_bench.c - PostgreSQL replay against `psql \copy` of the same rows into the same server,
 * in one run: the embedded server's start time, replay_pg rows/s (COPY mode, and OLTP pipeline
 * mode on a slice), psql \copy rows/s, and the ratio. Not a test; run bench/pg_replay.sh.
 *
 * usage: pg_replay_bench [--rows N] [--oltp-rows N] [--pg URL] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fmt.h"
#include "gen_fixture.h"
#include "pgsvc.h"
#include "replay.h"

static void die(const char *what, const hx_err *e)
{
    fprintf(stderr, "pg_replay_bench: %s: %s\n", what, e ? e->msg : "");
    exit(1);
}

/* A clean orders dataset: id, customer, amount, status, ts, note, uid. */
static plan_scenario *orders(uint64_t rows)
{
    plan_scenario *s = hx_calloc(1, sizeof *s);
    s->name = hx_xstrdup("bench");
    plan_dataset *d = fx_dataset(s, "orders", rows, 42);
    d->key_col = 0;
    d->time_col = 4;
    plan_column *c = fx_col(d, "id", PLAN_COL_SEQUENCE, PLAN_T_INT);
    c->u.seq.start = 1;
    c->u.seq.step = 1;
    c = fx_col(d, "customer_id", PLAN_COL_INT, PLAN_T_INT);
    c->u.irange.min = 1;
    c->u.irange.max = 100000;
    c = fx_col(d, "amount", PLAN_COL_DECIMAL, PLAN_T_DECIMAL);
    c->scale = 2;
    c->u.drange.min = 1;
    c->u.drange.max = 900;
    const char *v[] = {"new", "paid", "shipped", NULL};
    const double w[] = {1, 1, 1};
    fx_cat(d, "status", PLAN_T_STRING, v, w);
    c = fx_col(d, "ts", PLAN_COL_TIMESTAMP, PLAN_T_TIMESTAMP);
    c->u.ts.start_us = 1767225600000000LL;
    c->u.ts.rate = 50;
    c->u.ts.jitter_us = 1000000;
    c = fx_col(d, "note", PLAN_COL_PATTERN, PLAN_T_STRING);
    c->u.pat.pattern = hx_xstrdup("{gift|rush|standard} order AA-####");
    fx_col(d, "uid", PLAN_COL_UUID, PLAN_T_UUID);
    return s;
}

static double now_s(void)
{
    return (double)hx_now_ns() / 1e9;
}

static void sql(PGconn *c, const char *q)
{
    PGresult *r = PQexec(c, q);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "pg_replay_bench: %s: %s", q, PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
}

int main(int argc, char **argv)
{
    uint64_t rows = 1000000, oltp_rows = 200000;
    const char *url = NULL;
    static const struct option lo[] = {{"rows", required_argument, NULL, 'r'},
                                       {"oltp-rows", required_argument, NULL, 'o'},
                                       {"pg", required_argument, NULL, 'p'},
                                       {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (ch == 'r')
            rows = strtoull(optarg, NULL, 10);
        else if (ch == 'o')
            oltp_rows = strtoull(optarg, NULL, 10);
        else if (ch == 'p')
            url = optarg;
        else
            return 2;
    }
    hx_err e = {0};
    pgsvc_opts o = {.url = url};
    pgsvc *svc;
    if (pgsvc_start(&o, &svc, &e)) die("start", &e);
    if (svc->embedded)
        printf("embedded postgres %s: started in %.0f ms (%s %.0f ms)\n", svc->version,
               svc->start_ms, svc->cache_hit ? "cache copy" : "initdb", svc->init_ms);
    else
        printf("postgres %s at %s:%s: connected in %.0f ms\n", svc->version, svc->host, svc->port,
               svc->start_ms);
    PGconn *c;
    if (pgsvc_create_db(svc, "bench_pg_replay", NULL, NULL, &e) ||
        pgsvc_connect(svc, "bench_pg_replay", &c, &e))
        die("database", &e);

    plan_scenario *s = orders(rows);
    gen *g;
    if (gen_new(s, &g, &e)) die("gen", &e);

    /* 1. replay_pg, COPY mode: generation, serialisation and COPY in one stream. */
    plan_step st = {.kind = PLAN_STEP_INTO,
                    .target = PLAN_TGT_POSTGRES,
                    .table = "orders_replay",
                    .pg_mode = PLAN_PG_COPY};
    replay_stats rs;
    if (replay_pg(g, 0, &st, c, -1, &rs, &e)) die("replay_pg", &e);
    double replay_rps = (double)rs.rows / rs.seconds;
    printf("replay_pg COPY: %llu rows in %.3f s = %.0f rows/s\n", (unsigned long long)rs.rows,
           rs.seconds, replay_rps);

    /* 2. The same rows as a CSV file, then psql \copy of it into a table of the same columns. */
    char path[] = "/tmp/hx-bench-pg-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) die("temp file", NULL);
    const plan_dataset *d = &s->datasets[0];
    hx_buf b;
    hx_buf_init(&b);
    fmt_header(&b, d, PLAN_FMT_CSV, 0);
    gen_cursor cur;
    const gen_record *r;
    gen_cursor_init(&cur, g, 0, -1, &e);
    while (gen_cursor_next(&cur, &r, &e) > 0) {
        fmt_record(&b, d, PLAN_FMT_CSV, r);
        if (b.len > (1u << 20)) {
            fwrite(b.data, 1, b.len, f);
            hx_buf_clear(&b);
        }
    }
    fwrite(b.data, 1, b.len, f);
    fclose(f);
    gen_cursor_release(&cur);
    hx_buf_release(&b);
    sql(c, "CREATE TABLE orders_copy (_harness_id bigint, _harness_batch integer, id text, "
           "customer_id text, amount text, status text, ts text, note text, uid text, "
           "_harness_extra text)");
    char *dburl = pgsvc_url(svc, "bench_pg_replay");
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "\\copy orders_copy (id, customer_id, amount, status, ts, note, uid) FROM '%s' "
             "WITH (FORMAT csv, HEADER true)",
             path);
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        execlp("psql", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dburl, "-c", cmd,
               (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    double psql_s = now_s() - t0;
    unlink(path);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "pg_replay_bench: psql \\copy failed (status %d)\n", status);
        return 1;
    }
    double psql_rps = (double)rows / psql_s;
    printf("psql \\copy:     %llu rows in %.3f s = %.0f rows/s\n", (unsigned long long)rows, psql_s,
           psql_rps);
    printf("ratio replay_pg / psql \\copy: %.2f (target >= 0.9)\n", replay_rps / psql_rps);

    /* 3. OLTP mode on a slice: pipelined INSERTs. */
    if (oltp_rows > 0) {
        plan_scenario *s2 = orders(oltp_rows);
        gen *g2;
        if (gen_new(s2, &g2, &e)) die("gen", &e);
        st.table = "orders_oltp";
        st.pg_mode = PLAN_PG_OLTP;
        if (replay_pg(g2, 0, &st, c, -1, &rs, &e)) die("replay_pg oltp", &e);
        printf("replay_pg OLTP (pipeline): %llu rows in %.3f s = %.0f rows/s\n",
               (unsigned long long)rs.rows, rs.seconds, (double)rs.rows / rs.seconds);
        gen_free(g2);
        plan_scenario_release(s2);
        hx_free(s2);
    }
    hx_free(dburl);
    PQfinish(c);
    gen_free(g);
    plan_scenario_release(s);
    hx_free(s);
    pgsvc_stop(svc);
    return 0;
}
