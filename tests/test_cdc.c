/* test_cdc.c - the CDC replay target (replay/target_cdc.c) on a real PostgreSQL: before the first
 * change the scenario role has REPLICATION, the source table is the admin's with SELECT for the
 * role only, a publication and a pgoutput slot exist; the replayed table equals the truth of the
 * change stream (data/changes.h) row by row, versions included, also across a step that stops
 * part way, an added column and a server restart (the slot survives it); the harness's audit
 * slot reads back what is written to the target (out of order, twice, lost, truncated,
 * unlogged) and sees its slot dropped; the solution's
 * environment names slot, publication, tables and schema; after teardown no slot, no
 * publication and no session of the role are left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "changes.h"
#include "gen_fixture.h"
#include "pgsvc.h"
#include "replay_target.h"

#include "pgfixture.h"

static plan_scenario *scen(void)
{
    plan_scenario *s = fx_scenario();
    hx_free(s->name);
    s->name = hx_strdup("cdc_test");
    plan_dataset *d = fx_dataset(s, "customers", 400, 99);
    plan_column *c = fx_col(d, "customer_id", PLAN_COL_SEQUENCE, PLAN_T_INT);
    c->u.seq.start = 1;
    c->u.seq.step = 1;
    c = fx_col(d, "name", PLAN_COL_PATTERN, PLAN_T_STRING);
    c->u.pat.pattern = hx_strdup("{ana|b'o|c\\\\y}\t-####");
    c = fx_col(d, "credit", PLAN_COL_DECIMAL, PLAN_T_DECIMAL);
    c->u.drange.min = 0;
    c->u.drange.max = 100;
    c->scale = 2;
    c = fx_col(d, "vip", PLAN_COL_BOOL, PLAN_T_BOOL);
    c->u.boolean.p = 0.3;
    c = fx_col(d, "since", PLAN_COL_TIMESTAMP, PLAN_T_TIMESTAMP);
    c->u.ts.start_us = 1767225600000000LL;
    c->u.ts.rate = 0.01;
    c = fx_col(d, "notes", PLAN_COL_PATTERN, PLAN_T_STRING);
    c->u.pat.pattern = hx_strdup("n-###");
    c->null_frac = 0.2;
    d->key_col = 0;
    d->changes = (plan_changes){.on = true,
                                .updates = 2.0,
                                .deletes = 0.1,
                                .reinserts = 0.05,
                                .hot_keys = 2,
                                .hot_share = 0.2,
                                .txn_min = 1,
                                .txn_max = 5,
                                .large_col = 5,
                                .large_share = 0.05,
                                .large_bytes = 5000,
                                .long_every = 30,
                                .long_size = 4,
                                .long_span = 6};
    s->steps = hx_calloc(4, sizeof *s->steps);
    s->nsteps = 4;
    s->steps[0] = (plan_step){.kind = PLAN_STEP_INTO,
                              .target = PLAN_TGT_CDC,
                              .table = hx_strdup("customers"),
                              .upto = 0.5,
                              .where = hx_strdup("t:1")};
    s->steps[1] = (plan_step){.kind = PLAN_STEP_FAULT,
                              .fault = hx_strdup("add_column"),
                              .column = hx_strdup("loyalty"),
                              .col_type = PLAN_T_INT,
                              .where = hx_strdup("t:2")};
    s->steps[2] = (plan_step){
        .kind = PLAN_STEP_FAULT, .fault = hx_strdup("pg_restart"), .where = hx_strdup("t:3")};
    s->steps[3] = (plan_step){.kind = PLAN_STEP_INTO,
                              .target = PLAN_TGT_CDC,
                              .table = hx_strdup("customers"),
                              .upto = 1,
                              .rate = 20000,
                              .where = hx_strdup("t:4")};
    return s;
}

static bool env_add(void *ud, const char *k, const char *v)
{
    hx_buf *b = ud;
    return hx_buf_printf(b, "%s=%s\n", k, v);
}

/* public.customers as the admin sees it equals the truth: compare every key's text row. */
static void assert_source_is_truth(PGconn *c, gen *g, const chg_stream *cs, bool with_added)
{
    PGresult *r = PQexec(c, "SELECT customer_id::text, row_version, name, credit::text, "
                            "vip::text, (since AT TIME ZONE 'UTC')::text, notes, "
                            "loyalty::text FROM public.customers c ORDER BY c.customer_id");
    if (!with_added) {
        PQclear(r);
        r = PQexec(c, "SELECT customer_id::text, row_version, name, credit::text, vip::text, "
                      "(since AT TIME ZONE 'UTC')::text, notes, NULL FROM public.customers c "
                      "ORDER BY c.customer_id");
    }
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    uint64_t alive = 0;
    for (uint64_t k = 0; k < cs->rows; k++)
        alive += cs->alive[k];
    assert_int_equal(PQntuples(r), (int)alive);
    gen_record rec;
    assert_int_equal(chg_rec_init(cs, &rec), 0);
    hx_buf v;
    hx_buf_init(&v);
    hx_err e = {0};
    int row = 0;
    for (uint64_t k = 0; k < cs->rows; k++) {
        if (!cs->alive[k]) continue;
        char want[32];
        snprintf(want, sizeof want, "%llu", (unsigned long long)k + 1);
        assert_string_equal(PQgetvalue(r, row, 0), want);
        assert_int_equal(strtoll(PQgetvalue(r, row, 1), NULL, 10), cs->version[k]);
        bool null;
        assert_int_equal(chg_value(g, cs, cs->src[k * 6 + 1], 1, &rec, &v, &null, &e), 0);
        assert_string_equal(PQgetvalue(r, row, 2), v.data);
        assert_int_equal(chg_value(g, cs, cs->src[k * 6 + 2], 2, &rec, &v, &null, &e), 0);
        assert_string_equal(PQgetvalue(r, row, 3), v.data);
        assert_int_equal(chg_value(g, cs, cs->src[k * 6 + 3], 3, &rec, &v, &null, &e), 0);
        assert_string_equal(PQgetvalue(r, row, 4), v.data);
        assert_int_equal(chg_value(g, cs, cs->src[k * 6 + 5], 5, &rec, &v, &null, &e), 0);
        if (null)
            assert_true(PQgetisnull(r, row, 6));
        else
            assert_string_equal(PQgetvalue(r, row, 6), v.data);
        if (with_added) {
            uint64_t by = cs->added_by[k];
            if (!by) {
                assert_true(PQgetisnull(r, row, 7));
            } else {
                chg_added_value(cs, 0, by - 1, &v);
                assert_string_equal(PQgetvalue(r, row, 7), v.data);
            }
        }
        row++;
    }
    hx_buf_release(&v);
    gen_record_release(&rec);
    PQclear(r);
}

static void test_cdc__setup_replay_faults_teardown(void **state)
{
    (void)state;
    plan_scenario *s = scen();
    gen *g = NULL;
    hx_err e = {0};
    assert_int_equal(gen_new(s, &g, &e), 0);
    PGconn *role = pgfx_fresh_db("cdc_test");
    replay_site site = {.s = s, .g = g, .pg = pgfx_svc, .conn = role, .dbname = "hx_cdc_test"};
    const replay_target *t = &replay_target_cdc;
    assert_true(replay_target_used(t, s));
    void *st = NULL;
    if (t->setup(&site, &st, &e) != 0) fail_msg("setup: %s", e.msg);
    /* what a real connector gets, and no more */
    assert_string_equal(pgfx_scalar(role, "SELECT rolreplication::text FROM pg_roles WHERE "
                                          "rolname = current_user"),
                        "true");
    assert_string_equal(pgfx_scalar(role, "SELECT tableowner <> current_user FROM pg_tables "
                                          "WHERE tablename = 'customers'"),
                        "t");
    assert_string_equal(pgfx_scalar(role, "SELECT has_table_privilege('public.customers', "
                                          "'SELECT')::text || has_table_privilege("
                                          "'public.customers', 'INSERT')::text"),
                        "truefalse");
    assert_string_equal(pgfx_scalar(role, "SELECT plugin || ' ' || slot_type FROM "
                                          "pg_replication_slots WHERE slot_name = 'hx_cdc_test'"),
                        "pgoutput logical");
    assert_string_equal(pgfx_scalar(role, "SELECT count(*) FROM pg_publication_tables WHERE "
                                          "pubname = 'hx_cdc_test' AND tablename = 'customers'"),
                        "1");
    assert_string_equal(pgfx_scalar(role, "SELECT count(*) FROM public.customers"), "0");
    hx_buf env;
    hx_buf_init(&env);
    assert_int_equal(t->env(&site, env_add, &env, &e), 0);
    assert_string_equal(env.data, "HARNESS_CDC_SLOT=hx_cdc_test\nHARNESS_CDC_PUBLICATION="
                                  "hx_cdc_test\nHARNESS_CDC_TABLES=customers\n"
                                  "HARNESS_CDC_TARGET_SCHEMA=target\n");
    hx_buf_release(&env);

    chg_stream *cs = NULL;
    assert_int_equal(chg_build(g, 0, &cs, &e), 0);
    replay_stats rs;
    if (t->replay(&site, st, &s->steps[0], -1, &rs, &e) != 0) fail_msg("replay 1: %s", e.msg);
    uint32_t cut = chg_cut(cs, 0.5);
    assert_true(cut > 0 && cut < cs->ntx);
    assert_int_equal(rs.rows, cs->tx[cut].first);
    assert_string_equal(pgfx_scalar(role, "SELECT count(*) FROM information_schema.columns "
                                          "WHERE table_name = 'customers' AND column_name = "
                                          "'loyalty'"),
                        "0");
    if (t->fault(&site, st, &s->steps[1], &e) != 0) fail_msg("add_column: %s", e.msg);
    /* the restart needs the embedded server (HX_TEST_PG_URL may name another) */
    if (pgfx_svc->embedded && t->fault(&site, st, &s->steps[2], &e) != 0)
        fail_msg("pg_restart: %s", e.msg);
    PQreset(role);
    assert_string_equal(pgfx_scalar(role, "SELECT count(*) FROM pg_replication_slots WHERE "
                                          "slot_name = 'hx_cdc_test'"),
                        "1");
    if (t->replay(&site, st, &s->steps[3], -1, &rs, &e) != 0) fail_msg("replay 2: %s", e.msg);
    assert_int_equal(rs.rows, cs->n - cs->tx[cut].first);
    assert_true(rs.updates > 0);
    assert_source_is_truth(role, g, cs, true);
    /* the slot holds every change from the empty table on */
    assert_string_equal(pgfx_scalar(role, "SELECT (count(*) > 0)::text FROM "
                                          "pg_logical_slot_peek_binary_changes('hx_cdc_test', "
                                          "NULL, 10, 'proto_version', '1', 'publication_names', "
                                          "'hx_cdc_test')"),
                        "true");
    const chg_observed *ob = t->observed(&site, st);
    assert_non_null(ob);
    assert_true(ob->ran);
    /* nobody wrote target.customers: every change is unseen */
    assert_int_equal(ob->unseen, cs->n);
    assert_int_equal(ob->tables[0].src_changes, cs->n);

    /* What a "solution" writes to target.customers, read back from the WAL by the audit slot:
     * every key at its last version (the versions before it lost), one key written back one
     * version (out of order), one written again (applied twice), then a TRUNCATE. */
    char x[4100], y[4100], xv[4100], yv[4100];
    snprintf(x, sizeof x, "%s",
             pgfx_scalar(role, "SELECT customer_id FROM public.customers WHERE row_version >= 3 "
                               "ORDER BY customer_id LIMIT 1"));
    snprintf(xv, sizeof xv, "%s",
             pgfx_scalar(role, "SELECT row_version - 1 FROM public.customers WHERE row_version "
                               ">= 3 ORDER BY customer_id LIMIT 1"));
    snprintf(y, sizeof y, "%s",
             pgfx_scalar(role, "SELECT customer_id FROM public.customers WHERE row_version >= 3 "
                               "ORDER BY customer_id LIMIT 1 OFFSET 1"));
    snprintf(yv, sizeof yv, "%s",
             pgfx_scalar(role, "SELECT row_version FROM public.customers WHERE row_version >= 3 "
                               "ORDER BY customer_id LIMIT 1 OFFSET 1"));
    char *sql = hx_asprintf(
        "CREATE SCHEMA target; CREATE TABLE target.customers (customer_id bigint PRIMARY KEY, "
        "row_version bigint NOT NULL); INSERT INTO target.customers SELECT customer_id, "
        "row_version FROM public.customers; UPDATE target.customers SET row_version = "
        "row_version - 1 WHERE customer_id = %s; UPDATE target.customers SET row_version = "
        "row_version WHERE customer_id = %s; TRUNCATE target.customers",
        x, y);
    /* one transaction a statement */
    PGresult *r = NULL;
    for (char *q = sql, *next; q; q = next) {
        next = strstr(q, "; ");
        if (next) *next = '\0', next += 2;
        r = PQexec(role, q);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) fail_msg("%s: %s", q, PQerrorMessage(role));
        PQclear(r);
    }
    hx_free(sql);
    long alive = strtol(pgfx_scalar(role, "SELECT count(*) FROM public.customers"), NULL, 10);
    ob = t->observed(&site, st);
    const chg_seen_table *tt = &ob->tables[0];
    assert_string_equal(tt->table, "customers");
    assert_int_equal(tt->persistence, 'p');
    assert_int_equal(tt->applied, alive + 2);
    assert_int_equal(tt->truncates, 1);
    assert_int_equal(tt->count[CHG_OUT_OF_ORDER], 1);
    assert_string_equal(tt->sample[CHG_OUT_OF_ORDER][0].key, x);
    assert_int_equal(tt->sample[CHG_OUT_OF_ORDER][0].a, strtoll(xv, NULL, 10));
    assert_int_equal(tt->sample[CHG_OUT_OF_ORDER][0].b, strtoll(xv, NULL, 10) + 1);
    assert_int_equal(tt->count[CHG_DOUBLED], 1);
    assert_string_equal(tt->sample[CHG_DOUBLED][0].key, y);
    assert_int_equal(tt->sample[CHG_DOUBLED][0].a, strtoll(yv, NULL, 10));
    assert_int_equal(tt->sample[CHG_DOUBLED][0].b, 2);
    /* every version before a key's last is lost, and every delete (nothing was deleted) */
    uint64_t lost = 0, dels = 0;
    for (uint64_t i = 0; i < cs->n; i++)
        dels += cs->ch[i].op == CHG_DELETE;
    for (uint64_t k = 0; k < cs->rows; k++)
        lost += cs->alive[k] && cs->version[k] ? cs->version[k] - 1 : cs->version[k];
    assert_int_equal(tt->count[CHG_LOST], lost);
    assert_int_equal(tt->count[CHG_LOST_DELETE], dels);
    assert_int_equal(ob->seen + ob->unseen, cs->n);
    assert_int_equal(ob->seen, (uint64_t)alive);
    assert_false(ob->slot_lost);
    assert_false(ob->slot_moved); /* the harness's own reads and advances are not a move */
    /* the role has REPLICATION and may consume the harness's slot: changes the audit would
     * never see. The slot's confirmed position past where the harness left it shows it. */
    r = PQexec(role, "CREATE TABLE target.moved AS SELECT 1 AS i");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    /* the harness's reader holds the slot while it reads it (every 100 ms): try again then */
    for (int i = 0;; i++) {
        r = PQexec(role, "SELECT pg_replication_slot_advance('hxa_hx_cdc_test', "
                         "pg_current_wal_insert_lsn())");
        if (PQresultStatus(r) == PGRES_TUPLES_OK || i == 100) break;
        PQclear(r);
        usleep(20000);
    }
    if (PQresultStatus(r) != PGRES_TUPLES_OK) fail_msg("advance: %s", PQerrorMessage(role));
    PQclear(r);
    assert_true(t->observed(&site, st)->slot_moved);
    /* an unlogged target writes no WAL: seen as such */
    r = PQexec(role, "ALTER TABLE target.customers SET UNLOGGED");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    assert_int_equal(t->observed(&site, st)->tables[0].persistence, 'u');
    /* the role has REPLICATION and may drop the harness's slot: seen */
    assert_string_equal(pgfx_scalar(role, "SELECT count(*) FROM pg_replication_slots WHERE "
                                          "slot_name = 'hxa_hx_cdc_test' AND plugin = "
                                          "'test_decoding'"),
                        "1");
    r = PQexec(role, "SELECT pg_drop_replication_slot('hxa_hx_cdc_test')");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    assert_true(t->observed(&site, st)->slot_lost);
    t->teardown(&site, st);
    assert_string_equal(pgfx_scalar(role, "SELECT count(*) FROM pg_replication_slots"), "0");
    assert_string_equal(pgfx_scalar(role, "SELECT count(*) FROM pg_publication"), "0");
    assert_string_equal(pgfx_scalar(role, "SELECT count(*) FROM pg_stat_activity WHERE "
                                          "usename = current_user AND pid <> pg_backend_pid()"),
                        "0");
    chg_stream_free(cs);
    PQfinish(role);
    assert_int_equal(pgsvc_drop_db(pgfx_svc, "cdc_test", &e), 0);
    gen_free(g);
    plan_scenario_release(s);
    hx_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cdc__setup_replay_faults_teardown),
    };
    return cmocka_run_group_tests(tests, pgfx_setup, pgfx_teardown);
}
