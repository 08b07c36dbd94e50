/* test_pattern.c - planted multi-record patterns (ds:pattern{}, gen_pattern.c) on real Lua and
 * the real generator: every instance is whole and where it should be (shared card, window,
 * amounts, countries, refunds), any record regenerates alone, instances never share a card,
 * a corrupt fault never breaks one, fk `via` follows the card, ledger queries by pattern name
 * are the exact truth, and misuse is named with file:line. Also a replay step's `batch = K`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gen.h"
#include "ledger.h"
#include "scen.h"

static char tmpdir[64];

static int setup_all(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hx_pattern_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_all(void **state)
{
    (void)state;
    hx_rm_rf(tmpdir);
    return 0;
}

#define DATASETS                                                                                   \
    "local cards = dataset { rows = 300, key = 'card_id', columns = {\n"                           \
    "  { 'card_id', 'sequence', start = 1000 },\n"                                                 \
    "  { 'country', 'categorical', values = { 'US', 'GB', 'DE', 'FR' } },\n"                       \
    "  { 'device', 'pattern', 'dev-AAAAAA' } } }\n"                                                \
    "local merchants = dataset { rows = 50, key = 'merchant_id', columns = {\n"                    \
    "  { 'merchant_id', 'sequence', start = 1 } } }\n"                                             \
    "local payments = dataset { rows = 20000, key = 'payment_id', time = 'ts', columns = {\n"      \
    "  { 'payment_id', 'sequence', start = 1 },\n"                                                 \
    "  { 'card_id', 'fk', ref = cards },\n"                                                        \
    "  { 'merchant_id', 'fk', ref = merchants },\n"                                                \
    "  { 'amount', 'lognormal', mu = 3.4, sigma = 0.5, min = 1, max = 5000, scale = 2 },\n"        \
    "  { 'type', 'categorical', values = { 'payment', 'refund' }, weights = { 1, 0 } },\n"         \
    "  { 'country', 'fk', ref = cards, column = 'country', via = 'card_id' },\n"                   \
    "  { 'device', 'fk', ref = cards, column = 'device', via = 'card_id' },\n"                     \
    "  { 'ts', 'timestamp', start = '2026-03-02T00:00:00Z', per_day = 100000, jitter = '1s' } } "  \
    "}\n"

enum { C_ID, C_CARD, C_MERCHANT, C_AMOUNT, C_TYPE, C_COUNTRY, C_DEVICE, C_TS };

static const char *const good_src = DATASETS
    "payments:pattern { kind = 'velocity', count = 4, size = 8, window = '2m', key = 'card_id' }\n"
    "payments:pattern { kind = 'outlier', count = 3, size = 6, window = '30m', key = 'card_id',\n"
    "                   amount = 'amount', factor = 12 }\n"
    "payments:pattern { kind = 'geo', count = 5, window = '10m', key = 'card_id',\n"
    "                   columns = { 'country', 'device' } }\n"
    "payments:pattern { kind = 'card_testing', count = 3, window = '10m', key = 'card_id',\n"
    "                   amount = 'amount', small = 2, factor = 15 }\n"
    "payments:pattern { kind = 'burst', name = 'refunds', count = 2, size = 12, window = '5m',\n"
    "                   key = 'merchant_id', amount = 'amount', factor = 20,\n"
    "                   set = { type = 'refund' } }\n"
    "payments:corrupt { fraction = 0.2 }\n"
    "return scenario { name = 'fraud', seed = 7,\n"
    "  datasets = { cards = cards, merchants = merchants, payments = payments },\n"
    "  checks = {\n"
    "    precision_recall { table = 'alerts', column = 'card_id', name = 'velocity',\n"
    "      expect = payments:with('velocity'):dedup('card_id') },\n"
    "    precision_recall { table = 'alerts', column = 'card_id', name = 'fraud',\n"
    "      expect = payments:with('velocity', 'outlier', 'geo', 'card_testing'):dedup('card_id') "
    "},\n"
    "    precision_recall { table = 'alerts', column = 'payment_id', name = 'refunds',\n"
    "      expect = payments:with('refunds') },\n"
    "    precision_recall { table = 'alerts', column = 'payment_id', name = 'clean',\n"
    "      expect = payments:without('pattern') },\n"
    "  } }\n";

static scen *load(const char *name, const char *src, hx_err *e, int *rc)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    assert_int_equal(hx_write_atomic(path, src, strlen(src), e), 0);
    scen *s = NULL;
    assert_int_equal(scen_new(NULL, &s, e), 0);
    *rc = scen_load_file(s, path, e);
    return s;
}

static const plan_query *query_of(const plan_scenario *sc, const char *check)
{
    for (size_t i = 0; i < sc->nchecks; i++)
        if (strcmp(sc->checks[i].name, check) == 0) return &sc->checks[i].expect.query;
    fail_msg("no check '%s'", check);
    return NULL;
}

static int64_t count_of(scen *s, const plan_query *q0)
{
    plan_query q = *q0;
    q.agg = PLAN_AGG_COUNT;
    ledger_result res;
    hx_err e = {0};
    assert_int_equal(scen_query_eval(s, 0, &q, &res, &e), 0);
    int64_t n = res.exact;
    ledger_result_release(&res);
    return n;
}

/* One instance as the ledger file names it. */
typedef struct inst {
    char name[32];
    uint64_t ids[16];
    uint32_t n;
} inst;

static void test_pattern__instances_are_whole(void **state)
{
    (void)state;
    hx_err e = {0};
    int rc;
    scen *s = load("good.lua", good_src, &e, &rc);
    if (rc) fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, 0);
    const plan_scenario *sc = &scen_pack(s)->scenarios[0];
    size_t pi = 2;
    assert_string_equal(sc->datasets[pi].name, "payments");
    const plan_dataset *d = &sc->datasets[pi];
    gen *g;
    rc = gen_new(sc, &g, &e);
    if (rc) fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, 0);

    /* The ledger file: one line per hit, the pattern's name, instance and member. */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(ledger_write(g, pi, f, &e), 0);
    fclose(f);
    inst insts[64];
    memset(insts, 0, sizeof insts);
    size_t ninst = 0, corrupt = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (strstr(line, "\"fault\":\"corrupt\"")) {
            corrupt++;
            continue;
        }
        unsigned long long id, in, mem;
        char name[32];
        assert_non_null(strstr(line, "\"fault\":\"pattern\""));
        const char *p = strstr(line, "\"id\":");
        assert_int_equal(sscanf(p, "\"id\":%llu", &id), 1);
        p = strstr(line, "\"detail\":\"");
        assert_int_equal(
            sscanf(p, "\"detail\":\"%31[^\"]\",\"instance\":%llu,\"member\":%llu", name, &in, &mem),
            3);
        assert_true(in < 64);
        if (in + 1 > ninst) ninst = in + 1;
        snprintf(insts[in].name, sizeof insts[in].name, "%s", name);
        assert_int_equal(mem, insts[in].n); /* members in arrival order */
        insts[in].ids[insts[in].n++] = id;
    }
    free(buf);
    assert_int_equal(ninst, 4 + 3 + 5 + 3 + 2);
    assert_true(corrupt > 3500); /* 20% of 20000, none of them a pattern's record */

    gen_record r, r0;
    assert_int_equal(gen_record_init(&r, d->ncols), 0);
    assert_int_equal(gen_record_init(&r0, d->ncols), 0);
    int64_t cards[64];
    size_t by_kind[5] = {0};
    for (size_t j = 0; j < ninst; j++) {
        inst *in = &insts[j];
        bool burst = strcmp(in->name, "refunds") == 0;
        uint32_t want = strcmp(in->name, "velocity") == 0       ? 8
                        : strcmp(in->name, "outlier") == 0      ? 6
                        : strcmp(in->name, "geo") == 0          ? 2
                        : strcmp(in->name, "card_testing") == 0 ? 6
                                                                : 12;
        assert_int_equal(in->n, want);
        int64_t window = strcmp(in->name, "velocity") == 0  ? 120000000LL
                         : strcmp(in->name, "outlier") == 0 ? 1800000000LL
                         : burst                            ? 300000000LL
                                                            : 600000000LL;
        assert_int_equal(gen_record_at(g, pi, in->ids[0], 0, &r0, &e), 0);
        assert_int_equal(r0.corrupt, 0);
        int64_t sum = 0;
        for (uint32_t m = 0; m < in->n; m++) {
            assert_int_equal(gen_record_at(g, pi, in->ids[m], 0, &r, &e), 0);
            assert_true(r.hit_mask != 0);
            assert_int_equal(r.corrupt, 0);
            assert_true(r.vals[C_TS].i - r0.vals[C_TS].i < window);
            int kc = burst ? C_MERCHANT : C_CARD;
            assert_int_equal(r.vals[kc].i, r0.vals[kc].i);
            bool last = m + 1 == in->n;
            if (burst) {
                assert_string_equal(r.vals[C_TYPE].s, "refund");
            } else {
                assert_string_equal(r.vals[C_TYPE].s, "payment");
            }
            if (strcmp(in->name, "outlier") == 0 && last)
                assert_int_equal(r.vals[C_AMOUNT].i, (sum / (in->n - 1)) * 12);
            if (strcmp(in->name, "card_testing") == 0 && !last)
                assert_true(r.vals[C_AMOUNT].i >= 20 && r.vals[C_AMOUNT].i <= 200);
            if (strcmp(in->name, "card_testing") == 0 && last)
                assert_true(r.vals[C_AMOUNT].i > 1500);
            if (strcmp(in->name, "geo") == 0 && last) {
                assert_string_not_equal(r.vals[C_COUNTRY].s, r0.vals[C_COUNTRY].s);
                assert_string_not_equal(r.vals[C_DEVICE].s, r0.vals[C_DEVICE].s);
            } else if (!burst) {
                assert_string_equal(r.vals[C_COUNTRY].s, r0.vals[C_COUNTRY].s);
            }
            sum += r.vals[C_AMOUNT].i;
        }
        if (!burst) {
            for (size_t k = 0; k < j; k++)
                if (strcmp(insts[k].name, "refunds") != 0)
                    assert_true(cards[k] != r0.vals[C_CARD].i); /* never the same card */
            cards[j] = r0.vals[C_CARD].i;
        }
        by_kind[strcmp(in->name, "velocity") == 0       ? 0
                : strcmp(in->name, "outlier") == 0      ? 1
                : strcmp(in->name, "geo") == 0          ? 2
                : strcmp(in->name, "card_testing") == 0 ? 3
                                                        : 4]++;
    }
    assert_int_equal(by_kind[0], 4);
    assert_int_equal(by_kind[1], 3);
    assert_int_equal(by_kind[2], 5);
    assert_int_equal(by_kind[3], 3);
    assert_int_equal(by_kind[4], 2);

    /* The cursor and record-at agree (any record regenerates alone); via follows the card:
     * the country of every record not a geo switch is its card's. */
    gen_cursor cur;
    const gen_record *cr;
    gen_record card;
    assert_int_equal(gen_record_init(&card, sc->datasets[0].ncols), 0);
    assert_int_equal(gen_cursor_init(&cur, g, pi, -1, &e), 0);
    size_t n = 0;
    while ((rc = gen_cursor_next(&cur, &cr, &e)) == 1) {
        assert_int_equal(gen_record_at(g, pi, cr->id, 0, &r, &e), 0);
        assert_int_equal(r.vals[C_CARD].i, cr->vals[C_CARD].i);
        assert_int_equal(r.vals[C_AMOUNT].i, cr->vals[C_AMOUNT].i);
        assert_string_equal(r.vals[C_COUNTRY].s, cr->vals[C_COUNTRY].s);
        assert_int_equal(gen_record_at(g, 0, (uint64_t)(cr->vals[C_CARD].i - 1000), 0, &card, &e),
                         0);
        bool geo_switch = false;
        for (size_t j = 0; j < ninst; j++)
            if (strcmp(insts[j].name, "geo") == 0 && insts[j].ids[1] == cr->id) geo_switch = true;
        if (!geo_switch) {
            assert_string_equal(cr->vals[C_COUNTRY].s, card.vals[1].s);
            assert_string_equal(cr->vals[C_DEVICE].s, card.vals[2].s);
        }
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, 20000);
    gen_cursor_release(&cur);
    gen_record_release(&card);
    gen_record_release(&r);
    gen_record_release(&r0);
    gen_free(g);

    /* Ledger queries by name: one row per card of an instance; a union; the look-alikes. */
    assert_int_equal(count_of(s, query_of(sc, "velocity")), 4);
    assert_int_equal(count_of(s, query_of(sc, "fraud")), 4 + 3 + 5 + 3);
    assert_int_equal(count_of(s, query_of(sc, "refunds")), 24);
    assert_int_equal(count_of(s, query_of(sc, "clean")), 20000 - (32 + 18 + 10 + 18 + 24));
    scen_free(s);
}

static void test_pattern__same_seed_same_bytes(void **state)
{
    (void)state;
    hx_err e = {0};
    int rc;
    scen *s = load("same.lua", good_src, &e, &rc);
    assert_int_equal(rc, 0);
    const plan_scenario *sc = &scen_pack(s)->scenarios[0];
    char *b[2] = {NULL, NULL};
    size_t len[2];
    for (int k = 0; k < 2; k++) {
        gen *g;
        assert_int_equal(gen_new(sc, &g, &e), 0);
        FILE *f = open_memstream(&b[k], &len[k]);
        assert_int_equal(ledger_write(g, 2, f, &e), 0);
        fclose(f);
        gen_free(g);
    }
    assert_int_equal(len[0], len[1]);
    assert_memory_equal(b[0], b[1], len[0]);
    free(b[0]);
    free(b[1]);
    scen_free(s);
}

static void expect_error(const char *body, int line, const char *needle)
{
    static int k;
    char name[32], src[4096];
    snprintf(name, sizeof name, "bad%d.lua", k++);
    snprintf(src, sizeof src,
             "%s%s\nreturn scenario { name = 'x', datasets = { cards = cards, merchants = "
             "merchants, payments = payments } }\n",
             DATASETS, body);
    hx_err e = {0};
    int rc;
    scen *s = load(name, src, &e, &rc);
    if (rc == 0) { /* placement errors come when the generator is made */
        gen *g = NULL;
        rc = gen_new(&scen_pack(s)->scenarios[0], &g, &e);
        gen_free(g);
    }
    if (rc != HX_EUSAGE || !strstr(e.msg, needle)) fprintf(stderr, "got %d: %s\n", rc, e.msg);
    assert_int_equal(rc, HX_EUSAGE);
    assert_non_null(strstr(e.msg, needle));
    if (line) {
        char at[160];
        snprintf(at, sizeof at, "%s/%s:%d:", tmpdir, name, line);
        if (!strstr(e.msg, at)) fprintf(stderr, "no '%s' in: %s\n", at, e.msg);
        assert_non_null(strstr(e.msg, at));
    }
    scen_free(s);
}

static void test_pattern__misuse(void **state)
{
    (void)state;
    int l = 16; /* the line after DATASETS */
    expect_error("payments:pattern { kind = 'velocty', count = 1, key = 'card_id' }", l,
                 "unknown kind 'velocty' (did you mean 'velocity'?)");
    expect_error("payments:pattern { kind = 'velocity', count = 1, key = 'amount' }", l,
                 "pattern.key: 'amount' must be an fk column");
    expect_error("payments:pattern { kind = 'velocity', count = 1, key = 'country' }", l,
                 "pattern.key: 'country' must be an fk column");
    expect_error("payments:pattern { kind = 'velocity', key = 'card_id' }", l,
                 "give count = <instances> or fraction");
    expect_error("payments:pattern { kind = 'outlier', count = 1, key = 'card_id' }", l,
                 "pattern.amount: required for a outlier pattern");
    expect_error("payments:pattern { kind = 'geo', count = 1, key = 'card_id' }", l,
                 "pattern.columns: required for a geo pattern");
    expect_error("payments:pattern { kind = 'velocity', name = 'late', count = 1, key = 'card_id' "
                 "}",
                 l, "'late' is a fault's name");
    expect_error("payments:pattern { kind = 'velocity', count = 1, size = 8, window = '5s', key "
                 "= 'card_id' }",
                 l, "that window holds only 4");
    expect_error("payments:pattern { kind = 'velocity', count = 200, size = 8, window = '2m', key "
                 "= 'card_id' }",
                 7, "need 200 slots of 137 records, it has 145");
    expect_error("payments:pattern { kind = 'velocity', count = 3, key = 'card_id' }\n"
                 "local q = payments:with('velocty')",
                 l + 1, "unknown fault or pattern 'velocty' (did you mean 'velocity'?)");
    expect_error("payments:pattern { kind = 'burst', count = 51, size = 2, window = '2m', key = "
                 "'merchant_id' }",
                 l, "51 pattern instances need as many distinct 'merchants' records");
}

static void test_pattern__via_misuse(void **state)
{
    (void)state;
    const char *src =
        "local cards = dataset { rows = 3, key = 'id', columns = { { 'id', 'sequence' },\n"
        "  { 'c', 'int', min = 1, max = 2 } } }\n"
        "local p = dataset { rows = 3, columns = { { 'card', 'fk', ref = cards },\n"
        "  { 'c', 'fk', ref = cards, column = 'c', via = 'nope' } } }\n";
    hx_err e = {0};
    int rc;
    scen *s = load("via.lua", src, &e, &rc);
    assert_int_equal(rc, HX_EUSAGE);
    assert_non_null(strstr(e.msg, "via: 'nope' must be an earlier fk column"));
    scen_free(s);
}

/* A replay step can land one batch of a dataset (a fault between the halves of one stream). */
static void test_pattern__one_batch_steps(void **state)
{
    (void)state;
    const char *src =
        "local d = dataset { rows = 10, batches = 2, key = 'id', columns = { { 'id', 'sequence' } "
        "} }\n"
        "return scenario { name = 'b', datasets = { d = d }, replay = {\n"
        "  { into = 'kafka', dataset = 'd', batch = 0 },\n"
        "  { fault = 'broker_down', duration = '1s' },\n"
        "  { into = 'kafka', dataset = 'd', batch = 1 } } }\n";
    hx_err e = {0};
    int rc;
    scen *s = load("batch.lua", src, &e, &rc);
    if (rc) fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, 0);
    const plan_scenario *sc = &scen_pack(s)->scenarios[0];
    assert_int_equal(sc->nsteps, 3);
    assert_int_equal(sc->steps[0].batch1, 1);
    assert_int_equal(sc->steps[2].batch1, 2);
    scen_free(s);
    const char *bad[][2] = {
        {"{ into = 'kafka', dataset = 'd', batch = 2 }",
         "dataset 'd' has no batch 2 (its batches: 0..1)"},
        {"{ into = 'kafka', dataset = 'd', batch = 0, per = 'batch' }",
         "a step lands one batch or per batch"},
    };
    for (size_t i = 0; i < 2; i++) {
        char b[1024], name[32];
        snprintf(b, sizeof b,
                 "local d = dataset { rows = 10, batches = 2, key = 'id', columns = { { 'id', "
                 "'sequence' } } }\nreturn scenario { name = 'b', datasets = { d = d }, replay = "
                 "{ %s } }\n",
                 bad[i][0]);
        snprintf(name, sizeof name, "batchbad%zu.lua", i);
        s = load(name, b, &e, &rc);
        if (rc != HX_EUSAGE || !strstr(e.msg, bad[i][1]))
            fprintf(stderr, "got %d: %s\n", rc, e.msg);
        assert_int_equal(rc, HX_EUSAGE);
        assert_non_null(strstr(e.msg, bad[i][1]));
        scen_free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pattern__instances_are_whole),
        cmocka_unit_test(test_pattern__same_seed_same_bytes),
        cmocka_unit_test(test_pattern__misuse),
        cmocka_unit_test(test_pattern__via_misuse),
        cmocka_unit_test(test_pattern__one_batch_steps),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
