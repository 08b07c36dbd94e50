/* test_changes.c - the change stream (data/changes.h): deterministic from the seed, counts as
 * asked, row_version sequences per key, the final state replayed independently from the changes,
 * long transactions, hot keys and bursts, large values, and columns added mid-stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "changes.h"
#include "gen_fixture.h"

/* customers-like: id (sequence key), name (pattern), tier (int), note (pattern: the large one) */
static plan_scenario *scen(uint64_t rows, uint64_t seed)
{
    plan_scenario *s = fx_scenario();
    plan_dataset *d = fx_dataset(s, "customers", rows, seed);
    plan_column *c = fx_col(d, "customer_id", PLAN_COL_SEQUENCE, PLAN_T_INT);
    c->u.seq.start = 1;
    c->u.seq.step = 1;
    c = fx_col(d, "name", PLAN_COL_PATTERN, PLAN_T_STRING);
    c->u.pat.pattern = hx_strdup("{ana|bo|cy}-####");
    c = fx_col(d, "tier", PLAN_COL_INT, PLAN_T_INT);
    c->u.irange.min = 1;
    c->u.irange.max = 5;
    c = fx_col(d, "note", PLAN_COL_PATTERN, PLAN_T_STRING);
    c->u.pat.pattern = hx_strdup("n-###");
    d->key_col = 0;
    d->changes = (plan_changes){.on = true,
                                .updates = 2.0,
                                .deletes = 0.1,
                                .reinserts = 0.05,
                                .hot_keys = 2,
                                .hot_share = 0.2,
                                .txn_min = 1,
                                .txn_max = 4,
                                .large_col = 3,
                                .large_share = 0.02,
                                .large_bytes = 3000,
                                .long_every = 50,
                                .long_size = 5,
                                .long_span = 10,
                                .burst_at = 0.5,
                                .burst_n = 40};
    return s;
}

/* Field by field: the structs have padding. */
static void assert_same_changes(const chg_stream *a, const chg_stream *b)
{
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->ntx, b->ntx);
    for (uint64_t j = 0; j < a->n; j++) {
        const chg_change *x = &a->ch[j], *y = &b->ch[j];
        assert_true(x->key == y->key && x->src == y->src && x->cols == y->cols &&
                    x->version == y->version && x->txn == y->txn && x->op == y->op &&
                    x->large == y->large);
    }
    for (uint32_t t = 0; t < a->ntx; t++)
        assert_true(a->tx[t].first == b->tx[t].first && a->tx[t].n == b->tx[t].n &&
                    a->tx[t].open_at == b->tx[t].open_at && a->tx[t].is_long == b->tx[t].is_long);
}

static chg_stream *must_build(plan_scenario *s, gen **g)
{
    hx_err e = {0};
    if (gen_new(s, g, &e) != 0) fail_msg("gen_new: %s", e.msg);
    chg_stream *cs = NULL;
    if (chg_build(*g, 0, &cs, &e) != 0) fail_msg("chg_build: %s", e.msg);
    return cs;
}

static void test_changes__same_seed_same_stream(void **state)
{
    (void)state;
    plan_scenario *s1 = scen(500, 7), *s2 = scen(500, 7), *s3 = scen(500, 8);
    gen *g1, *g2, *g3;
    chg_stream *a = must_build(s1, &g1), *b = must_build(s2, &g2), *c = must_build(s3, &g3);
    assert_same_changes(a, b);
    /* another seed, another stream */
    bool differ = a->n != c->n;
    for (uint64_t j = 0; !differ && j < a->n; j++)
        differ = a->ch[j].key != c->ch[j].key || a->ch[j].op != c->ch[j].op;
    assert_true(differ);
    chg_stream_free(a);
    chg_stream_free(b);
    chg_stream_free(c);
    gen_free(g1);
    gen_free(g2);
    gen_free(g3);
    plan_scenario_release(s1);
    plan_scenario_release(s2);
    plan_scenario_release(s3);
    hx_free(s1);
    hx_free(s2);
    hx_free(s3);
}

/* Counts as asked; versions start at 1 and go up by one per change of a key; a delete carries
 * the deleted version and a re-insert continues; the final state equals a replay of the changes
 * done here, independently of the builder's own bookkeeping. */
static void test_changes__versions_and_final_state(void **state)
{
    (void)state;
    plan_scenario *s = scen(1000, 42);
    gen *g;
    chg_stream *cs = must_build(s, &g);
    assert_int_equal(cs->inserts, 1000);
    assert_int_equal(cs->deletes, 100);
    assert_int_equal(cs->reinserts, 50);
    /* the burst's updates come on top of the 2000 asked */
    assert_int_equal(cs->updates, 2000 + 40);
    assert_int_equal(cs->n, 1000 + 2040 + 100 + 50);
    uint32_t *ver = hx_calloc(1000, sizeof *ver);
    uint8_t *alive = hx_calloc(1000, 1);
    uint64_t *src = hx_calloc(1000 * 4, sizeof *src);
    uint64_t deleted_then_back = 0;
    for (uint64_t j = 0; j < cs->n; j++) {
        const chg_change *c = &cs->ch[j];
        switch (c->op) {
        case CHG_INSERT:
            assert_false(alive[c->key]);
            if (ver[c->key]) deleted_then_back++;
            assert_int_equal(c->version, ver[c->key] + 1);
            alive[c->key] = 1;
            for (size_t k = 0; k < 4; k++)
                src[c->key * 4 + k] =
                    k == 0 ? c->key : c->src | (k == 3 && c->large ? CHG_LARGE : 0);
            break;
        case CHG_UPDATE:
            assert_true(alive[c->key]);
            assert_int_equal(c->version, ver[c->key] + 1);
            assert_false(c->cols & 1); /* never the key */
            for (size_t k = 0; k < 4; k++)
                if (c->cols & (1u << k))
                    src[c->key * 4 + k] = c->src | (k == 3 && c->large ? CHG_LARGE : 0);
            break;
        case CHG_DELETE:
            assert_true(alive[c->key]);
            assert_int_equal(c->version, ver[c->key]);
            assert_true(c->key >= 2); /* hot keys are never deleted */
            alive[c->key] = 0;
            break;
        }
        ver[c->key] = c->op == CHG_DELETE ? ver[c->key] : c->version;
    }
    assert_int_equal(deleted_then_back, 50);
    uint64_t present = 0;
    for (uint64_t k = 0; k < 1000; k++) {
        assert_int_equal(cs->version[k], ver[k]);
        assert_int_equal(cs->alive[k], alive[k]);
        present += alive[k];
        if (alive[k]) assert_memory_equal(&cs->src[k * 4], &src[k * 4], 4 * sizeof *src);
    }
    assert_int_equal(present, 1000 - 100 + 50);
    /* a hot key is updated far more than an average key */
    assert_true(cs->version[0] > 40);
    hx_free(ver);
    hx_free(alive);
    hx_free(src);
    chg_stream_free(cs);
    gen_free(g);
    plan_scenario_release(s);
    hx_free(s);
}

/* Transactions tile the changes; a long one holds only first inserts of keys nothing touched
 * before its commit, and is sent long_span transactions early. */
static void test_changes__transactions_and_long_ones(void **state)
{
    (void)state;
    plan_scenario *s = scen(1000, 3);
    gen *g;
    chg_stream *cs = must_build(s, &g);
    uint64_t next = 0, nlong = 0;
    for (uint32_t t = 0; t < cs->ntx; t++) {
        const chg_txn *x = &cs->tx[t];
        assert_int_equal(x->first, next);
        assert_true(x->n >= 1);
        next += x->n;
        for (uint32_t i = 0; i < x->n; i++)
            assert_int_equal(cs->ch[x->first + i].txn, t);
        if (!x->is_long) {
            assert_int_equal(x->open_at, t);
            assert_true(x->n <= 4);
            continue;
        }
        nlong++;
        assert_int_equal(x->open_at, t - 10);
        assert_int_equal(x->n, 5);
        for (uint32_t i = 0; i < x->n; i++) {
            const chg_change *c = &cs->ch[x->first + i];
            assert_int_equal(c->op, CHG_INSERT);
            assert_int_equal(c->version, 1);
            /* nothing before touched the key */
            for (uint64_t j = 0; j < x->first; j++)
                assert_true(cs->ch[j].key != c->key);
        }
    }
    assert_int_equal(next, cs->n);
    assert_true(nlong >= 5);
    /* a cut never falls inside a long transaction's window */
    for (int p = 1; p < 100; p++) {
        uint32_t t = chg_cut(cs, p / 100.0);
        for (uint32_t l = t; l < cs->ntx; l++)
            if (cs->tx[l].is_long) assert_true(cs->tx[l].open_at >= t);
    }
    assert_int_equal(chg_cut(cs, 1.0), cs->ntx);
    chg_stream_free(cs);
    gen_free(g);
    plan_scenario_release(s);
    hx_free(s);
}

/* Values: a first insert writes the key's own record; a large value is large_bytes letters. */
static void test_changes__values(void **state)
{
    (void)state;
    plan_scenario *s = scen(300, 11);
    gen *g;
    chg_stream *cs = must_build(s, &g);
    gen_record rec, own;
    assert_int_equal(chg_rec_init(cs, &rec), 0);
    assert_int_equal(gen_record_init(&own, 4), 0);
    hx_buf v;
    hx_buf_init(&v);
    hx_err e = {0};
    bool null, saw_large = false;
    for (uint64_t j = 0; j < cs->n; j++) {
        const chg_change *c = &cs->ch[j];
        if (c->op == CHG_INSERT && c->version == 1) {
            assert_int_equal(c->src, c->key);
            assert_int_equal(chg_key_text(g, cs, c->key, &rec, &v, &e), 0);
            char want[32];
            snprintf(want, sizeof want, "%llu", (unsigned long long)c->key + 1);
            assert_string_equal(v.data, want);
        }
        if (c->large && !saw_large) {
            saw_large = true;
            assert_int_equal(chg_value(g, cs, c->src | CHG_LARGE, 3, &rec, &v, &null, &e), 0);
            assert_int_equal(v.len, 3000);
            for (size_t i = 0; i < v.len; i++)
                assert_true(v.data[i] >= 'a' && v.data[i] <= 'z');
        }
    }
    assert_true(saw_large);
    /* a plain value is the source record's own */
    assert_int_equal(gen_record_at(g, 0, 17, 0, &own, &e), 0);
    assert_int_equal(chg_value(g, cs, 17, 1, &rec, &v, &null, &e), 0);
    assert_false(null);
    assert_string_equal(v.data, own.vals[1].s);
    hx_buf_release(&v);
    gen_record_release(&rec);
    gen_record_release(&own);
    chg_stream_free(cs);
    gen_free(g);
    plan_scenario_release(s);
    hx_free(s);
}

/* An add_column fault after a step that stops at 40%: changes from the cut on fill the column,
 * the earlier ones do not; the stream itself does not change. */
static void test_changes__added_column(void **state)
{
    (void)state;
    plan_scenario *s = scen(400, 5), *plain = scen(400, 5);
    s->steps = hx_calloc(3, sizeof *s->steps);
    s->nsteps = 3;
    s->steps[0] = (plan_step){.kind = PLAN_STEP_INTO, .target = PLAN_TGT_CDC, .upto = 0.4};
    s->steps[1] = (plan_step){.kind = PLAN_STEP_FAULT,
                              .fault = hx_strdup("add_column"),
                              .column = hx_strdup("loyalty"),
                              .col_type = PLAN_T_INT};
    s->steps[2] = (plan_step){.kind = PLAN_STEP_INTO, .target = PLAN_TGT_CDC, .upto = 1};
    gen *g, *g2;
    chg_stream *cs = must_build(s, &g), *ref = must_build(plain, &g2);
    assert_same_changes(cs, ref);
    assert_int_equal(cs->nadded, 1);
    assert_string_equal(cs->added[0].name, "loyalty");
    assert_int_equal(cs->added[0].at_tx, chg_cut(cs, 0.4));
    uint64_t at = cs->added[0].at;
    assert_true(at >= (uint64_t)(0.4 * (double)cs->n));
    uint64_t filled = 0;
    for (uint64_t k = 0; k < 400; k++) {
        uint64_t by = cs->added_by[k];
        if (!cs->alive[k]) {
            assert_int_equal(by, 0);
            continue;
        }
        /* the last change of the key decides */
        uint64_t last = UINT64_MAX;
        for (uint64_t j = 0; j < cs->n; j++)
            if (cs->ch[j].key == k) last = j;
        assert_int_equal(by, last >= at ? last + 1 : 0);
        filled += by != 0;
    }
    assert_true(filled > 100);
    hx_buf v;
    hx_buf_init(&v);
    chg_added_value(cs, 0, at, &v);
    assert_true(v.len > 0 && strspn(v.data, "0123456789") == v.len);
    hx_buf_release(&v);
    chg_stream_free(cs);
    chg_stream_free(ref);
    gen_free(g);
    gen_free(g2);
    plan_scenario_release(s);
    plan_scenario_release(plain);
    hx_free(s);
    hx_free(plain);
}

static void test_changes__needs_on_and_key(void **state)
{
    (void)state;
    plan_scenario *s = scen(10, 1);
    s->datasets[0].key_col = -1;
    gen *g;
    hx_err e = {0};
    assert_int_equal(gen_new(s, &g, &e), 0);
    chg_stream *cs = NULL;
    assert_int_equal(chg_build(g, 0, &cs, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "needs a key column"));
    s->datasets[0].changes.on = false;
    assert_int_equal(chg_build(g, 0, &cs, &e), HX_EUSAGE);
    assert_null(cs);
    gen_free(g);
    plan_scenario_release(s);
    hx_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_changes__same_seed_same_stream),
        cmocka_unit_test(test_changes__versions_and_final_state),
        cmocka_unit_test(test_changes__transactions_and_long_ones),
        cmocka_unit_test(test_changes__values),
        cmocka_unit_test(test_changes__added_column),
        cmocka_unit_test(test_changes__needs_on_and_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
