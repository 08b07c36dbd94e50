/* test_merge.c - merging shard runs: order, recomputed totals, verdict, exit code and score, the
 * manifest checks, duplicates, partial and missing shards, and exact histogram merges; on shard
 * runs built in memory. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hist.h"
#include "merge.h"
#include "rep.h"
#include "runjson.h"

#define PACK "scenarios/shop"

/* A shard of a run of the pack PACK: manifest, the command line `run` would have recorded (shard
 * i/n; i == 0 for an unsharded run), and one scenario per name with a passing check and a
 * passing threshold, a score, a seed and a dataset. */
static results_run *shard(int i, int n, const char *const *names, size_t k)
{
    results_run *r = results_run_new();
    assert_non_null(r);
    assert_true(results_set_str(&r->harness_version, "0.1.0"));
    assert_true(results_set_str(&r->harness_commit, "abc123"));
    r->plugin_abi = 1;
    assert_true(results_set_str(&r->pack_name, "shop"));
    assert_true(results_set_str(&r->pack_dir, PACK));
    assert_true(results_set_str(&r->level, "foundation"));
    assert_true(results_set_str(&r->solution_name, "setbased"));
    assert_true(results_set_str(&r->solution_dir, "sol/setbased"));
    assert_true(results_set_str(&r->started, "2026-01-02T03:04:05Z"));
    assert_true(results_set_str(&r->finished, "2026-01-02T03:05:05Z"));
    r->duration_s = 60;
    assert_true(results_set_str(&r->machine.hostname, "ci-1"));
    assert_true(results_set_str(&r->machine.cpu_model, "EPYC"));
    r->machine.cores = 4;
    r->machine.ram_bytes = 16LL << 30;
    assert_non_null(results_price_sheet_add(r, "aws-us-east-1", "aws", "us-east-1", "2026-01-15"));
    const char *argv[] = {"run", PACK, "--solution", "sol/setbased", "--shard", NULL};
    char spec[16];
    snprintf(spec, sizeof spec, "%d/%d", i, n);
    argv[5] = spec;
    for (size_t a = 0; a < (i ? 6u : 4u); a++)
        assert_true(results_strv_add(&r->argv, &r->nargv, argv[a]));
    for (size_t s = 0; s < k; s++) {
        results_scenario *sc = results_scenario_add(r, names[s]);
        assert_non_null(sc);
        char file[128];
        snprintf(file, sizeof file, PACK "/%s.lua", names[s]);
        assert_true(results_set_str(&sc->file, file));
        assert_non_null(
            results_check_add(sc, "rows", "row_count", RESULTS_SEV_ERROR, RESULTS_PASS));
        assert_non_null(
            results_threshold_add(sc, "solution.wall.max", "<", 10, 1, "s", RESULTS_PASS));
        sc->score.scored = true;
        sc->score.value = 10.0 * (double)(s + 1) + i;
        assert_true(results_seed_add(r, names[s], 1000 + (uint64_t)strlen(names[s])));
        results_dataset *d = results_dataset_add(r, names[s], "orders", "csv");
        assert_non_null(d);
        d->rows = 100;
    }
    results_run_settle(r);
    return r;
}

static const char *scen_name(const results_run *r, size_t i)
{
    assert_true(i < r->nscenarios);
    return r->scenarios[i].name;
}

static bool has_note(const merge_notes *n, const char *needle)
{
    for (size_t i = 0; i < n->nlines; i++)
        if (strstr(n->lines[i], needle)) return true;
    return false;
}

typedef struct set {
    merge_input in[4];
    size_t n;
} set;

static void set_free(set *s)
{
    for (size_t i = 0; i < s->n; i++)
        results_run_free(s->in[i].run);
}

/* The pack a-g split in three the way `run --shard` deals them: a d g | b e | c f. */
static set three_shards(void)
{
    static const char *const s1[] = {"a", "d", "g"}, *const s2[] = {"b", "e"},
                             *const s3[] = {"c", "f"};
    set s = {.n = 3};
    s.in[0] = (merge_input){"s1/run.json", shard(1, 3, s1, 3)};
    s.in[1] = (merge_input){"s2/run.json", shard(2, 3, s2, 2)};
    s.in[2] = (merge_input){"s3/run.json", shard(3, 3, s3, 2)};
    return s;
}

static void test_merge__shard_order_totals_and_score(void **state)
{
    (void)state;
    set s = three_shards();
    /* Inputs in any order: the split says where each scenario was. */
    merge_input t = s.in[0];
    s.in[0] = s.in[2];
    s.in[2] = t;
    /* b fails a check: the merged verdict is fail, exit 1. */
    s.in[1].run->scenarios[0].checks[0].status = RESULTS_FAIL;
    results_totals sum = {0};
    double score_sum = 0;
    for (size_t i = 0; i < s.n; i++) {
        results_run_settle(s.in[i].run);
        const results_totals *x = &s.in[i].run->totals;
        sum.scenarios += x->scenarios;
        sum.checks_passed += x->checks_passed;
        sum.checks_failed += x->checks_failed;
        sum.thresholds_passed += x->thresholds_passed;
        for (size_t k = 0; k < s.in[i].run->nscenarios; k++)
            score_sum += s.in[i].run->scenarios[k].score.value;
    }

    results_run *m = NULL;
    merge_notes notes = {0};
    hx_err e = {0};
    assert_int_equal(merge_runs(s.in, s.n, &m, &notes, &e), 0);
    assert_int_equal(notes.nlines, 0);
    assert_int_equal(m->nscenarios, 7);
    for (size_t i = 0; i < 7; i++) {
        char want[2] = {(char)('a' + i), 0};
        assert_string_equal(scen_name(m, i), want);
        assert_string_equal(m->seeds[i].scenario, want);
        assert_string_equal(m->datasets[i].scenario, want);
    }
    assert_int_equal(m->nseeds, 7);
    assert_int_equal(m->totals.scenarios, sum.scenarios);
    assert_int_equal(m->totals.checks_passed, sum.checks_passed);
    assert_int_equal(m->totals.checks_failed, 1);
    assert_int_equal(m->totals.checks_failed, sum.checks_failed);
    assert_int_equal(m->totals.thresholds_passed, sum.thresholds_passed);
    assert_int_equal(m->verdict, RESULTS_FAIL);
    assert_int_equal(m->exit_code, HX_EXIT_CHECK);
    assert_true(m->score.scored);
    assert_true(fabs(m->score.value - score_sum / 7) < 1e-9);
    assert_false(m->partial);
    assert_string_equal(m->pack_name, "shop");
    assert_string_equal(m->machine.hostname, "ci-1");
    assert_int_equal(m->nprice_sheets, 1);
    /* The scenarios changed hands. */
    for (size_t i = 0; i < s.n; i++)
        assert_int_equal(s.in[i].run->nscenarios, 0);

    /* The merged run is a run like any other: run.json round-trips and JUnit counts match. */
    char *text = runjson_dump(m, true, &e);
    assert_non_null(text);
    results_run *back = NULL;
    assert_int_equal(runjson_parse(text, strlen(text), "merged", &back, &e), 0);
    char why[200] = "";
    assert_true(results_run_equal(m, back, why, sizeof why));
    hx_buf j;
    hx_buf_init(&j);
    assert_true(rep_junit_render(&j, m));
    size_t cases = 0;
    for (const char *p = j.data; (p = strstr(p, "<testcase ")); p++)
        cases++;
    assert_int_equal(cases, 14);
    assert_int_equal(results_counts_of(m, NULL).tests, 14);
    hx_buf_release(&j);
    results_run_free(back);
    hx_free(text);
    results_run_free(m);
    merge_notes_release(&notes);
    set_free(&s);
}

static void test_merge__threshold_only_exits_4(void **state)
{
    (void)state;
    set s = three_shards();
    s.in[2].run->scenarios[1].thresholds[0].status = RESULTS_FAIL;
    results_run *m = NULL;
    hx_err e = {0};
    assert_int_equal(merge_runs(s.in, s.n, &m, NULL, &e), 0);
    assert_int_equal(m->verdict, RESULTS_THRESHOLD);
    assert_int_equal(m->exit_code, HX_EXIT_THRESHOLD);
    assert_int_equal(m->totals.thresholds_failed, 1);
    results_run_free(m);
    set_free(&s);
}

/* Without shard information, the pack loader's order: files beside challenge.lua by name, then
 * those in scenarios/. */
static void test_merge__file_order_without_shards(void **state)
{
    (void)state;
    static const char *const x[] = {"20_late", "05_dup"}, *const y[] = {"10_base", "01_sub"};
    set s = {.n = 2};
    s.in[0] = (merge_input){"x.json", shard(0, 0, x, 2)};
    s.in[1] = (merge_input){"y.json", shard(0, 0, y, 2)};
    results_set_str(&s.in[1].run->scenarios[1].file, PACK "/scenarios/01_sub.lua");
    results_run *m = NULL;
    hx_err e = {0};
    assert_int_equal(merge_runs(s.in, s.n, &m, NULL, &e), 0);
    assert_string_equal(scen_name(m, 0), "05_dup");
    assert_string_equal(scen_name(m, 1), "10_base");
    assert_string_equal(scen_name(m, 2), "20_late");
    assert_string_equal(scen_name(m, 3), "01_sub");
    results_run_free(m);
    set_free(&s);

    /* No file either: input order, then position. */
    s.in[0] = (merge_input){"x.json", shard(0, 0, x, 2)};
    s.in[1] = (merge_input){"y.json", shard(0, 0, y, 2)};
    results_set_str(&s.in[0].run->scenarios[0].file, NULL);
    assert_int_equal(merge_runs(s.in, s.n, &m, NULL, &e), 0);
    assert_string_equal(scen_name(m, 0), "20_late");
    assert_string_equal(scen_name(m, 1), "05_dup");
    assert_string_equal(scen_name(m, 2), "10_base");
    assert_string_equal(scen_name(m, 3), "01_sub");
    results_run_free(m);
    set_free(&s);
}

/* Every manifest field that makes two runs different experiments is refused, naming both files
 * and the field, and no input loses its scenarios. */
static void test_merge__mismatched_manifests(void **state)
{
    (void)state;
    const char *fields[] = {"pack",
                            "pack level",
                            "harness version",
                            "harness commit",
                            "plugin ABI",
                            "solution",
                            "seed override (--seed)",
                            "price sheets",
                            "seed of scenario 'b'"};
    for (size_t c = 0; c < sizeof fields / sizeof fields[0]; c++) {
        set s = three_shards();
        results_run *r = s.in[1].run;
        switch (c) {
        case 0:
            results_set_str(&r->pack_name, "cdc");
            break;
        case 1:
            results_set_str(&r->level, "expert");
            break;
        case 2:
            results_set_str(&r->harness_version, "0.2.0");
            break;
        case 3:
            results_set_str(&r->harness_commit, "def456");
            break;
        case 4:
            r->plugin_abi = 2;
            break;
        case 5:
            results_set_str(&r->solution_name, "naive");
            break;
        case 6:
            results_strv_add(&r->argv, &r->nargv, "--seed=7");
            break;
        case 7:
            results_set_str(&r->price_sheets[0].as_of, "2026-02-01");
            break;
        case 8:
            /* Shard 1 also knows b's seed (it was interrupted in b), and a different one. */
            results_seed_add(s.in[0].run, "b", 99);
            break;
        }
        results_run *m = (results_run *)1;
        hx_err e = {0};
        assert_int_equal(merge_runs(s.in, s.n, &m, NULL, &e), HX_EUSAGE);
        assert_null(m);
        if (!strstr(e.msg, fields[c]) || !strstr(e.msg, "s1/run.json") ||
            !strstr(e.msg, "s2/run.json"))
            fail_msg("case %zu: '%s' does not name the field '%s' and both files", c, e.msg,
                     fields[c]);
        assert_int_equal(s.in[0].run->nscenarios, 3);
        assert_int_equal(s.in[1].run->nscenarios, 2);
        set_free(&s);
    }
}

static void test_merge__duplicate_scenario(void **state)
{
    (void)state;
    static const char *const x[] = {"a", "b"}, *const y[] = {"c", "b"};
    set s = {.n = 2};
    s.in[0] = (merge_input){"one/run.json", shard(1, 2, x, 2)};
    s.in[1] = (merge_input){"two/run.json", shard(2, 2, y, 2)};
    results_run *m = NULL;
    hx_err e = {0};
    assert_int_equal(merge_runs(s.in, s.n, &m, NULL, &e), HX_EUSAGE);
    assert_null(m);
    assert_non_null(strstr(e.msg, "scenario 'b'"));
    assert_non_null(strstr(e.msg, "one/run.json"));
    assert_non_null(strstr(e.msg, "two/run.json"));
    assert_int_equal(s.in[0].run->nscenarios, 2);
    set_free(&s);

    /* The same shard given twice. */
    s.in[0] = (merge_input){"one/run.json", shard(1, 2, x, 2)};
    s.in[1] = (merge_input){"copy/run.json", shard(1, 2, x, 2)};
    assert_int_equal(merge_runs(s.in, s.n, &m, NULL, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "scenario 'a'"));
    set_free(&s);
}

static void test_merge__machines_differ_are_listed(void **state)
{
    (void)state;
    set s = three_shards();
    results_set_str(&s.in[1].run->machine.hostname, "ci-2");
    s.in[2].run->machine.cores = 8;
    results_run *m = NULL;
    merge_notes notes = {0};
    hx_err e = {0};
    assert_int_equal(merge_runs(s.in, s.n, &m, &notes, &e), 0);
    assert_string_equal(m->machine.hostname, "ci-1, ci-2");
    assert_int_equal(m->machine.cores, 4);
    assert_true(has_note(&notes, "different machines"));
    assert_true(has_note(&notes, "'s2/run.json': ci-2"));
    assert_true(has_note(&notes, "8 cores"));
    assert_int_equal(m->exit_code, HX_EXIT_OK);
    merge_notes_release(&notes);
    results_run_free(m);
    set_free(&s);
}

/* A missing shard, a partial input and an interrupted one each keep the merged run partial (or
 * interrupted) and say so. */
static void test_merge__partial_missing_and_interrupted(void **state)
{
    (void)state;
    set s = three_shards();
    results_run_free(s.in[1].run);
    s.in[1] = s.in[2];
    s.n = 2;
    results_run *m = NULL;
    merge_notes notes = {0};
    hx_err e = {0};
    assert_int_equal(merge_runs(s.in, s.n, &m, &notes, &e), 0);
    assert_true(m->partial);
    assert_true(has_note(&notes, "shard 2/3 is not among the inputs"));
    assert_int_equal(m->nscenarios, 5);
    /* The order still follows the split: a c d f g. */
    assert_string_equal(scen_name(m, 1), "c");
    assert_string_equal(scen_name(m, 3), "f");
    merge_notes_release(&notes);
    results_run_free(m);
    set_free(&s);

    s = three_shards();
    s.in[1].run->partial = true;
    results_set_str(&s.in[1].run->finished, NULL);
    s.in[2].run->interrupted = true;
    s.in[2].run->exit_code = HX_EXIT_INTERRUPTED;
    assert_int_equal(merge_runs(s.in, s.n, &m, &notes, &e), 0);
    assert_true(m->partial);
    assert_true(m->interrupted);
    assert_null(m->finished);
    assert_int_equal(m->exit_code, HX_EXIT_INTERRUPTED);
    assert_true(has_note(&notes, "'s2/run.json' is partial"));
    assert_true(has_note(&notes, "'s3/run.json' was interrupted"));
    merge_notes_release(&notes);
    results_run_free(m);
    set_free(&s);
}

/* A shard whose PostgreSQL never started has no scenarios but exit 3: the merge must not pass. */
static void test_merge__shard_exit_beyond_its_scenarios(void **state)
{
    (void)state;
    set s = three_shards();
    results_run_free(s.in[1].run);
    s.in[1].run = shard(2, 3, NULL, 0);
    s.in[1].run->exit_code = HX_EXIT_INFRA;
    results_run *m = NULL;
    merge_notes notes = {0};
    hx_err e = {0};
    assert_int_equal(merge_runs(s.in, s.n, &m, &notes, &e), 0);
    assert_int_equal(m->exit_code, HX_EXIT_INFRA);
    assert_int_equal(m->verdict, RESULTS_ERROR);
    assert_true(has_note(&notes, "'s2/run.json' ended with exit 3"));
    merge_notes_release(&notes);
    results_run_free(m);
    set_free(&s);
}

/* Deterministic log-normal-ish latencies in ns. */
static int64_t latency(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    double u = (double)(*x >> 11) / 9007199254740992.0;
    return (int64_t)(2e6 * exp(4.0 * u)) + (int64_t)(*x % 1000);
}

static void add_hist(results_scenario *sc, const hist *h)
{
    char *enc = hist_encode(h);
    assert_non_null(enc);
    results_hist *rh = results_hist_add(sc, "solution.wall", "s", enc);
    assert_non_null(rh);
    rh->count = hist_count(h);
    hx_free(enc);
}

/* Merging the scenarios' histograms gives exactly the histogram of all values recorded into
 * one: same encoding (the encoding is canonical), same percentiles. */
static void test_merge__histograms_merge_exactly(void **state)
{
    (void)state;
    set s = three_shards();
    hist all, part;
    assert_int_equal(hist_init(&all, 1000, 3600LL * 1000000000LL, 3), 0);
    assert_int_equal(hist_init(&part, 1000, 3600LL * 1000000000LL, 3), 0);
    uint64_t x = 88172645463325252ULL;
    size_t nscen = 0;
    for (size_t i = 0; i < s.n; i++)
        for (size_t k = 0; k < s.in[i].run->nscenarios; k++) {
            if (i == 1 && k == 1) continue; /* a scenario without the histogram */
            hist_clear(&part);
            for (int v = 0; v < 5000 + (int)(i * 1000 + k * 77); v++) {
                int64_t val = latency(&x);
                assert_true(hist_record(&part, val));
                assert_true(hist_record(&all, val));
            }
            add_hist(&s.in[i].run->scenarios[k], &part);
            nscen++;
        }
    results_run *m = NULL;
    hx_err e = {0};
    assert_int_equal(merge_runs(s.in, s.n, &m, NULL, &e), 0);
    hist *h = NULL;
    size_t n = 0;
    assert_int_equal(merge_hist(m, "solution.wall", &h, &n, &e), 0);
    assert_non_null(h);
    assert_int_equal(n, nscen);
    assert_int_equal(hist_count(h), hist_count(&all));
    assert_int_equal(hist_min(h), hist_min(&all));
    assert_int_equal(hist_max(h), hist_max(&all));
    static const double ps[] = {0, 50, 90, 99, 99.9, 100};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        assert_int_equal(hist_percentile(h, ps[i]), hist_percentile(&all, ps[i]));
    char *a = hist_encode(h), *b = hist_encode(&all);
    assert_string_equal(a, b);
    hx_free(a);
    hx_free(b);
    hist_free(h);

    /* A name no scenario has: nothing, and no error. */
    assert_int_equal(merge_hist(m, "latency.e2e", &h, &n, &e), 0);
    assert_null(h);
    assert_int_equal(n, 0);

    /* Histograms of different precision cannot be merged exactly: refused, not approximated. */
    hist other;
    assert_int_equal(hist_init(&other, 1000, 3600LL * 1000000000LL, 2), 0);
    assert_true(hist_record(&other, 5000000));
    add_hist(&m->scenarios[6], &other);
    assert_int_equal(merge_hist(m, "solution.wall", &h, &n, &e), HX_EUSAGE);
    assert_null(h);
    assert_non_null(strstr(e.msg, "scenario 'g'"));
    hist_release(&other);
    hist_release(&all);
    hist_release(&part);
    results_run_free(m);
    set_free(&s);
}

/* A histogram whose encoding was damaged on the way is refused at merge, naming where it is. */
static void test_merge__damaged_histogram(void **state)
{
    (void)state;
    set s = three_shards();
    hist h;
    assert_int_equal(hist_init(&h, 1000, 3600LL * 1000000000LL, 3), 0);
    assert_true(hist_record(&h, 123456789));
    add_hist(&s.in[2].run->scenarios[1], &h);
    char *enc = s.in[2].run->scenarios[1].histograms[0].encoded;
    enc[strlen(enc) - 3] = enc[strlen(enc) - 3] == 'A' ? 'B' : 'A';
    results_run *m = NULL;
    hx_err e = {0};
    assert_int_equal(merge_runs(s.in, s.n, &m, NULL, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "'s3/run.json'"));
    assert_non_null(strstr(e.msg, "scenario 'f'"));
    assert_non_null(strstr(e.msg, "histogram 'solution.wall'"));
    assert_int_equal(s.in[2].run->nscenarios, 2);
    hist_release(&h);
    set_free(&s);
}

static void test_merge__shard_of_argv(void **state)
{
    (void)state;
    results_run *r = results_run_new();
    int i, n;
    assert_false(merge_shard_of(r, &i, &n));
    const char *argv[] = {"run", "p", "--shard=2/4", "--shard", "3/4", "--", "--shard", "1/4"};
    for (size_t k = 0; k < 3; k++)
        results_strv_add(&r->argv, &r->nargv, argv[k]);
    assert_true(merge_shard_of(r, &i, &n));
    assert_int_equal(i, 2);
    assert_int_equal(n, 4);
    for (size_t k = 3; k < 8; k++)
        results_strv_add(&r->argv, &r->nargv, argv[k]);
    assert_true(merge_shard_of(r, &i, &n)); /* the last before "--", as getopt keeps it */
    assert_int_equal(i, 3);
    results_set_str(&r->argv[4], "5/4");
    assert_false(merge_shard_of(r, &i, &n));
    results_run_free(r);
}

/* Out of memory anywhere: ENOMEM, nothing leaks, and no input loses its scenarios. */
static void test_merge__out_of_memory(void **state)
{
    (void)state;
    bool done = false;
    for (long k = 0; k < 2000 && !done; k++) {
        set s = three_shards();
        results_set_str(&s.in[1].run->machine.hostname, "ci-2");
        results_run *m = NULL;
        merge_notes notes = {0};
        hx_err e = {0};
        hx_alloc_fail_after(k);
        int rc = merge_runs(s.in, s.n, &m, &notes, &e);
        hx_alloc_fail_after(-1);
        if (rc == 0) {
            done = true;
            assert_int_equal(m->nscenarios, 7);
        } else {
            assert_int_equal(rc, HX_ENOMEM);
            assert_null(m);
            assert_int_equal(
                s.in[0].run->nscenarios + s.in[1].run->nscenarios + s.in[2].run->nscenarios, 7);
        }
        merge_notes_release(&notes);
        results_run_free(m);
        set_free(&s);
    }
    assert_true(done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge__shard_order_totals_and_score),
        cmocka_unit_test(test_merge__threshold_only_exits_4),
        cmocka_unit_test(test_merge__file_order_without_shards),
        cmocka_unit_test(test_merge__mismatched_manifests),
        cmocka_unit_test(test_merge__duplicate_scenario),
        cmocka_unit_test(test_merge__machines_differ_are_listed),
        cmocka_unit_test(test_merge__partial_missing_and_interrupted),
        cmocka_unit_test(test_merge__shard_exit_beyond_its_scenarios),
        cmocka_unit_test(test_merge__histograms_merge_exactly),
        cmocka_unit_test(test_merge__damaged_histogram),
        cmocka_unit_test(test_merge__shard_of_argv),
        cmocka_unit_test(test_merge__out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
