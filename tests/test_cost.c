/* test_cost.c - the price sheet loader and the pricer, against hand-computed numbers. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cost.h"
#include "hx_config.h"

/* A small sheet with round prices, so every expected number below is simple arithmetic. */
static const char base_sheet[] =
    "{\n"
    "  \"schema\": \"harness.cost-model/1\",\n"
    "  \"provider\": \"test\", \"region\": \"r1\", \"currency\": \"USD\", \"as_of\": "
    "\"2026-01-01\",\n"
    "  \"sources\": [{\"name\": \"hand\", \"citation\": \"test_cost.c\"}],\n"
    "  \"rates\": {\n"
    "    \"compute_vcpu\": {\"unit\": \"vCPU-hour\", \"price\": 0.036, \"source\": \"s\", "
    "\"as_of\": \"x\"},\n"
    "    \"compute_memory\": {\"unit\": \"GB-hour\", \"price\": 0.0036, \"source\": \"s\", "
    "\"as_of\": \"x\"},\n"
    "    \"storage\": {\"unit\": \"GB-month\", \"price\": 0.02, \"source\": \"s\", \"as_of\": "
    "\"x\"},\n"
    "    \"egress\": {\"unit\": \"GB\", \"price\": 0.1, \"source\": \"s\", \"as_of\": \"x\"},\n"
    "    \"kafka_in\": {\"unit\": \"GiB\", \"price\": 0.1, \"source\": \"s\", \"as_of\": \"x\"},\n"
    "    \"kafka_out\": {\"unit\": \"GiB\", \"price\": 0.05, \"source\": \"s\", \"as_of\": "
    "\"x\"},\n"
    "    \"kafka_partition\": {\"unit\": \"partition-hour\", \"price\": 0.0036, \"source\": \"s\", "
    "\"as_of\": \"x\"},\n"
    "    \"db_instance\": {\"unit\": \"instance-hour\", \"price\": 0.018, \"source\": \"s\", "
    "\"as_of\": \"x\"},\n"
    "    \"requests\": {\"unit\": \"1M requests\", \"price\": 5, \"source\": \"s\", \"as_of\": "
    "\"x\"}\n"
    "  },\n"
    "  \"billing\": {\n"
    "    \"compute\": {\"minimum_seconds\": 60, \"increment_seconds\": 1},\n"
    "    \"db\": {\"minimum_seconds\": 600, \"increment_seconds\": 1, \"always_on\": true}\n"
    "  }\n"
    "}\n";

/* base_sheet with the first occurrence of `from` replaced by `to`. Caller frees. */
static char *edit(const char *from, const char *to)
{
    const char *p = strstr(base_sheet, from);
    assert_non_null(p);
    size_t n = strlen(base_sheet) - strlen(from) + strlen(to) + 1;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%.*s%s%s", (int)(p - base_sheet), base_sheet, to, p + strlen(from));
    return s;
}

static cost_model *parse_ok(const char *text)
{
    cost_model *m = NULL;
    hx_err e = {0};
    int rc = cost_model_parse(text, strlen(text), "cost-models/t.json", &m, &e);
    if (rc) fail_msg("parse failed: %s", e.msg);
    return m;
}

/* Parse `text`, expect HX_EUSAGE and a message containing `want`. */
static void parse_bad(const char *text, const char *want)
{
    cost_model *m = NULL;
    hx_err e = {0};
    int rc = cost_model_parse(text, strlen(text), "cost-models/x.json", &m, &e);
    assert_int_equal(rc, HX_EUSAGE);
    assert_null(m);
    if (!strstr(e.msg, want)) fail_msg("message '%s' lacks '%s'", e.msg, want);
}

static void bad_edit(const char *from, const char *to, const char *want)
{
    char *s = edit(from, to);
    parse_bad(s, want);
    free(s);
}

/* The line whose component starts with `prefix`, or NULL. */
static const cost_line *find_line(const cost_breakdown *b, const char *prefix)
{
    for (size_t i = 0; i < b->nlines; i++)
        if (strncmp(b->lines[i].component, prefix, strlen(prefix)) == 0) return &b->lines[i];
    return NULL;
}

static const cost_line *line(const cost_breakdown *b, const char *prefix)
{
    const cost_line *l = find_line(b, prefix);
    if (!l) fail_msg("no line '%s'", prefix);
    return l;
}

#define NEAR(a, b) near_((double)(a), (double)(b), __LINE__)

static void near_(double a, double b, int ln)
{
    if (!(fabs(a - b) <= 1e-12 + 1e-9 * fabs(b))) fail_msg("line %d: %.12g != %.12g", ln, a, b);
}

/* base_sheet (the old format, which still loads) plus instance classes, database storage with a
 * minimum and a streaming cluster fee. */
static const char classes_json[] =
    "\"db_classes\": ["
    "{\"name\": \"big\", \"vcpu\": 4, \"memory_gib\": 16, \"price\": 0.4, \"source\": \"s\", "
    "\"as_of\": \"x\"},"
    "{\"name\": \"tiny\", \"vcpu\": 2, \"memory_gib\": 1, \"capacity_vcpu\": 0.2, \"price\": 0.02, "
    "\"source\": \"s\", \"as_of\": \"x\"},"
    "{\"name\": \"mid\", \"vcpu\": 2, \"memory_gib\": 4, \"capacity_vcpu\": 1, \"price\": 0.1, "
    "\"source\": \"s\", \"as_of\": \"x\"}],\n  \"rates\": {\n"
    "    \"db_storage\": {\"unit\": \"GB-month\", \"price\": 0.1, \"minimum\": 20, \"source\": "
    "\"s\", \"as_of\": \"x\"},\n"
    "    \"kafka_cluster\": {\"unit\": \"cluster-hour\", \"price\": 0.5, \"source\": \"s\", "
    "\"as_of\": \"x\"},\n";

static cost_model *new_model(void)
{
    char *s = edit("\"rates\": {\n", classes_json);
    cost_model *m = parse_ok(s);
    free(s);
    return m;
}

static void check_sums(const cost_breakdown *b)
{
    double f = 0, v = 0;
    for (size_t i = 0; i < b->nlines; i++) {
        const cost_line *l = &b->lines[i];
        NEAR(l->monthly, l->quantity * l->unit_price);
        NEAR(l->run, l->monthly / b->runs_per_month);
        assert_true(l->monthly > 0); /* zero lines are omitted */
        if (l->kind == COST_FIXED)
            f += l->monthly;
        else
            v += l->monthly;
    }
    NEAR(b->monthly_fixed, f);
    NEAR(b->monthly_variable, v);
    NEAR(b->monthly, f + v);
    NEAR(b->total, b->monthly / b->runs_per_month);
}

static const double H = 730.0, D = 365.0 / 12;

/* One basis: a production run is records_per_day / runs_per_day records; the test run's usage
 * is scaled to it, and billing minimums apply to the production run's launches. */
static void test_cost__production_basis_and_minimums(void **state)
{
    (void)state;
    cost_model *m = parse_ok(base_sheet);
    /* 7 launches of 0.1 s each at 1,000 records; production: 7,000 records a run, 2 runs a day */
    cost_usage u = {.cpu_seconds = 0.5,
                    .wall_seconds = 0.7,
                    .invocations = 7,
                    .peak_rss_bytes = 1000000000,
                    .mean_rss_bytes = 500000000,
                    .input_records = 1000};
    plan_scale sc = {.records_per_day = 14000, .runs_per_day = 2};
    cost_breakdown b;
    hx_err e = {0};
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    NEAR(b.records_per_run, 7000);
    NEAR(b.scale_factor, 7);
    NEAR(b.runs_per_month, 2 * D);
    assert_false(b.scale_assumed);
    assert_false(b.two_sizes);
    /* production wall 4.9 s < 7 launches x 60 s: the minimum bills 420 s a run */
    const cost_line *v = line(&b, "compute vCPU");
    assert_int_equal(v->kind, COST_VARIABLE);
    NEAR(v->quantity, 420.0 / 3600 * 2 * D);
    NEAR(v->monthly, 420.0 / 3600 * 0.036 * 2 * D);
    const cost_line *mem = line(&b, "compute memory");
    NEAR(mem->quantity, 1.0 * 420 / 3600 * 2 * D);
    /* no database, storage, streaming, egress or requests were used: no such lines */
    assert_int_equal(b.nlines, 2);
    assert_null(find_line(&b, "database"));
    assert_null(find_line(&b, "streaming"));
    check_sums(&b);
    NEAR(b.monthly_fixed, 0);
    cost_breakdown_release(&b);

    /* At 1,000x the records the production run outgrows the minimum: its busy CPU grows with
     * the records (7,000x the test run's), the 0.2 s of wall the test run spent on neither does
     * not: 3,500.2 s a run, billed in whole seconds. */
    sc.records_per_day = 14e6;
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    NEAR(b.fits[1].per_record, 0.5 / 1000);
    NEAR(b.fits[1].fixed, 0.2);
    NEAR(line(&b, "compute vCPU")->quantity, 3501.0 / 3600 * 2 * D);
    cost_breakdown_release(&b);
    /* A service's wall is its paced stream's duration: linear, 4,900 s. */
    u.wall_paced = true;
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    NEAR(line(&b, "compute vCPU")->quantity, 4900.0 / 3600 * 2 * D);
    cost_breakdown_release(&b);
    u.wall_paced = false;

    /* No scale declared: one run a day, as measured (and said so). */
    assert_int_equal(cost_price(m, &u, NULL, &b, &e), 0);
    assert_true(b.scale_assumed);
    NEAR(b.runs_per_month, D);
    NEAR(b.scale_factor, 1);
    cost_breakdown_release(&b);
    /* A service (records a day, no runs): a production run is a day. */
    sc = (plan_scale){.records_per_day = 5000};
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    NEAR(b.records_per_run, 5000);
    NEAR(b.runs_per_month, D);
    cost_breakdown_release(&b);
    cost_model_free(m);
}

/* Two sizes: each quantity is fitted as fixed + per-record; the slope says how it grows. */
static void test_cost__fit_two_sizes(void **state)
{
    (void)state;
    cost_fit f = cost_fit_project("x", 2.0, 1000, 5.0, 4000, 100000, true);
    assert_true(f.two_sizes);
    NEAR(f.per_record, 0.001);
    NEAR(f.fixed, 1.0);
    NEAR(f.projected, 101.0);
    NEAR(f.slope, log(2.0 / 5.0) / log(1000.0 / 4000.0));
    /* one size: linear through zero */
    f = cost_fit_project("x", 2.0, 1000, NAN, 0, 100000, false);
    assert_false(f.two_sizes);
    NEAR(f.projected, 200.0);
    assert_true(isnan(f.slope));
    /* less at the larger size (noise): a constant, their mean */
    f = cost_fit_project("x", 2.0, 1000, 1.8, 4000, 100000, true);
    NEAR(f.per_record, 0);
    NEAR(f.projected, 1.9);
    /* super-linear growth (negative intercept): the larger size's per-record figure */
    f = cost_fit_project("x", 1.0, 1000, 16.0, 4000, 100000, true);
    NEAR(f.fixed, 0);
    NEAR(f.projected, 16.0 / 4000 * 100000);
    NEAR(f.slope, 2.0);

    /* Priced: a start-up cost of 1 s a run no longer grows with the records. */
    cost_model *m = parse_ok(base_sheet);
    cost_usage probe = {.cpu_seconds = 5, .wall_seconds = 5, .input_records = 4000};
    cost_usage u = {.cpu_seconds = 2, .wall_seconds = 2, .input_records = 1000, .probe = &probe};
    plan_scale sc = {.records_per_day = 100000, .runs_per_day = 1};
    cost_breakdown b;
    hx_err e = {0};
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    assert_true(b.two_sizes);
    NEAR(line(&b, "compute vCPU")->quantity, 101.0 / 3600 * D);
    NEAR(b.fits[0].projected, 101.0);
    cost_breakdown_release(&b);
    u.probe = NULL;
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    NEAR(line(&b, "compute vCPU")->quantity, 200.0 / 3600 * D);
    cost_breakdown_release(&b);
    cost_model_free(m);
}

/* The wall a production run is billed for grows by the work it kept busy (the solution's CPU
 * and its database steps' CPU a record), not by the test machine's wall clock: a probe that
 * waited twice as long for a CPU (another job on the machine) projects the same wall, and the
 * fixed part is the smaller remainder (contention only adds time). */
static void test_cost__wall_grows_by_the_busy_cpu(void **state)
{
    (void)state;
    double busy = 0.002 + 0.001; /* solution CPU and database CPU, s a record */
    cost_fit calm = cost_fit_wall("w", 5.0, 1000, 14.0, 4000, 100000, true, busy);
    cost_fit busy_box = cost_fit_wall("w", 5.0, 1000, 28.0, 4000, 100000, true, busy);
    NEAR(calm.per_record, busy);
    NEAR(calm.fixed, 2.0);
    NEAR(calm.projected, 2.0 + busy * 100000);
    NEAR(busy_box.projected, calm.projected);
    NEAR(busy_box.slope, log(5.0 / 28.0) / log(1000.0 / 4000.0)); /* as measured */
    /* the remainder is never negative; one size: the busy part grows linearly and the one
     * remainder measured stays (a machine 3x busier does not triple the production wall);
     * without a busy figure (a paced service) the wall is linear */
    NEAR(cost_fit_wall("w", 1.0, 1000, 3.0, 4000, 100000, true, busy).fixed, 0);
    NEAR(cost_fit_wall("w", 5.0, 1000, NAN, 0, 100000, false, busy).projected, 2.0 + 300.0);
    NEAR(cost_fit_wall("w", 15.0, 1000, NAN, 0, 100000, false, busy).projected, 12.0 + 300.0);
    NEAR(cost_fit_wall("w", 2.0, 1000, NAN, 0, 100000, false, busy).projected, 300.0);
    NEAR(cost_fit_wall("w", 2.0, 1000, NAN, 0, 100000, false, NAN).projected, 200.0);

    /* Priced: the run whose probe waited on a busy machine costs what the calm one does. */
    cost_model *m = parse_ok(base_sheet);
    plan_scale sc = {.records_per_day = 100000, .runs_per_day = 1};
    cost_usage p1 = {.cpu_seconds = 8,
                     .wall_seconds = 14,
                     .input_records = 4000,
                     .uses_db = true,
                     .db_cpu_steps_seconds = 4};
    cost_usage p2 = p1;
    p2.wall_seconds = 28;
    cost_usage u1 = {.cpu_seconds = 2,
                     .wall_seconds = 5,
                     .input_records = 1000,
                     .uses_db = true,
                     .db_cpu_steps_seconds = 1,
                     .probe = &p1};
    cost_usage u2 = u1;
    u2.probe = &p2;
    cost_breakdown b1, b2;
    hx_err e = {0};
    assert_int_equal(cost_price(m, &u1, &sc, &b1, &e), 0);
    assert_int_equal(cost_price(m, &u2, &sc, &b2, &e), 0);
    NEAR(b1.fits[1].per_record, 0.003);
    NEAR(b1.monthly_variable, b2.monthly_variable);
    NEAR(line(&b1, "compute vCPU")->quantity, (2.0 + 0.003 * 100000) / 3600 * D);
    cost_breakdown_release(&b1);
    cost_breakdown_release(&b2);
    cost_model_free(m);
}

/* The database: sized by its projected load at the sheet's target (60 % by default), its CPU a
 * variable line at the class's price per sustained vCPU, the rest of the instance fixed; storage
 * is the solution's relations with the service's minimum. */
static void test_cost__database_sized_by_load(void **state)
{
    (void)state;
    cost_model *m = new_model();
    assert_int_equal(m->ndb_classes, 3);
    assert_string_equal(m->db_classes[0].name, "tiny"); /* cheapest first */
    NEAR(m->db_target, 0.6);
    /* 1 run a day; 8,640 CPU-s a run = 0.1 vCPU sustained: tiny (0.2 x 0.6 = 0.12) covers it */
    cost_usage u = {.uses_db = true,
                    .db_cpu_steps_seconds = 86.4,
                    .db_storage_bytes = 1000000,
                    .input_records = 100};
    plan_scale sc = {.records_per_day = 10000, .runs_per_day = 1};
    cost_breakdown b;
    hx_err e = {0};
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    assert_non_null(b.db_class);
    assert_string_equal(b.db_class->name, "tiny");
    NEAR(b.db_load_vcpu, 0.1);
    assert_non_null(strstr(b.db_reason, "tiny: the smallest class"));
    assert_non_null(strstr(b.db_reason, "60%"));
    const cost_line *cpu = line(&b, "database CPU (tiny)");
    assert_int_equal(cpu->kind, COST_VARIABLE);
    double used_h = 8640.0 * D / 3600; /* vCPU-hours a month */
    NEAR(cpu->quantity, used_h);
    NEAR(cpu->unit_price, 0.02 / 0.2);
    const cost_line *inst = line(&b, "database instance tiny");
    assert_int_equal(inst->kind, COST_FIXED);
    NEAR(inst->quantity, H - used_h / 0.2);
    /* the two add up to the instance's month */
    NEAR(cpu->monthly + inst->monthly, H * 0.02);
    /* 100 MB of relations a production run < 20 GB: the minimum, a fixed line */
    const cost_line *st = line(&b, "database storage");
    assert_int_equal(st->kind, COST_FIXED);
    NEAR(st->quantity, 20);
    check_sums(&b);
    cost_breakdown_release(&b);

    /* Five times the load (0.5 vCPU): tiny cannot, mid (1 x 0.6) can. */
    u.db_cpu_steps_seconds = 432;
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    assert_string_equal(b.db_class->name, "mid");
    assert_true(b.monthly > H * 0.02);
    cost_breakdown_release(&b);
    /* Beyond every class: the largest, and the reason says it is over target. */
    u.db_cpu_steps_seconds = 86.4 * 40;
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    assert_string_equal(b.db_class->name, "big");
    assert_non_null(strstr(b.db_reason, "still above"));
    cost_breakdown_release(&b);
    /* 30 GB of relations a production run: a variable line above the minimum */
    u.db_cpu_steps_seconds = 0;
    u.db_storage_bytes = 300000000;
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    st = line(&b, "database storage");
    assert_int_equal(st->kind, COST_VARIABLE);
    NEAR(st->quantity, 30);
    /* no database CPU measured: the smallest class, all of it fixed */
    assert_string_equal(b.db_class->name, "tiny");
    assert_null(find_line(&b, "database CPU"));
    NEAR(line(&b, "database instance")->monthly, H * 0.02);
    cost_breakdown_release(&b);
    /* A pack without PostgreSQL has no database line at all. */
    u.uses_db = false;
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    assert_null(find_line(&b, "database"));
    assert_null(b.db_class);
    cost_breakdown_release(&b);
    cost_model_free(m);

    /* An old sheet (no classes): db_instance is the one class. */
    m = parse_ok(base_sheet);
    u = (cost_usage){.uses_db = true, .input_records = 100};
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    NEAR(line(&b, "database instance")->monthly, H * 0.018);
    assert_null(find_line(&b, "database storage")); /* the old sheet has no storage rate */
    cost_breakdown_release(&b);
    cost_model_free(m);
}

/* The workload the product serves (analyst queries): its database CPU is billed on a line of its
 * own at the class's price, counts in the sizing, and is no part of the solution's busy time. */
static void test_cost__served_workload_billed_on_its_own_line(void **state)
{
    (void)state;
    cost_model *m = new_model();
    plan_scale sc = {.records_per_day = 10000, .runs_per_day = 1};
    cost_usage p = {.cpu_seconds = 4,
                    .wall_seconds = 6,
                    .uses_db = true,
                    .db_cpu_steps_seconds = 40,
                    .input_records = 400};
    cost_usage u = {.cpu_seconds = 1,
                    .wall_seconds = 3,
                    .uses_db = true,
                    .db_cpu_steps_seconds = 10,
                    .input_records = 100,
                    .probe = &p};
    cost_breakdown quiet, served;
    hx_err e = {0};
    assert_int_equal(cost_price(m, &u, &sc, &quiet, &e), 0);
    assert_null(find_line(&quiet, "database CPU, served")); /* zero lines are omitted */
    /* 86.4 s served at 100 records, 345.6 s at 400: 0.864 s a record, 8,640 s a production run */
    p.db_cpu_served_seconds = 345.6;
    u.db_cpu_served_seconds = 86.4;
    assert_int_equal(cost_price(m, &u, &sc, &served, &e), 0);
    check_sums(&served);
    const cost_line *l = line(&served, "database CPU, served workload (tiny)");
    assert_int_equal(l->kind, COST_VARIABLE);
    NEAR(l->quantity, 8640.0 * D / 3600);
    NEAR(l->unit_price, 0.02 / 0.2);
    NEAR(line(&served, "database CPU (tiny)")->monthly,
         line(&quiet, "database CPU (tiny)")->monthly);
    /* sized by both: 0.1 vCPU served + the steps' */
    NEAR(served.db_load_vcpu, quiet.db_load_vcpu + 0.1);
    /* the solution's wall does not grow by it */
    NEAR(served.fits[1].projected, quiet.fits[1].projected);
    NEAR(served.monthly_variable - quiet.monthly_variable, l->monthly);
    cost_breakdown_release(&quiet);
    cost_breakdown_release(&served);
    cost_model_free(m);
}

static void test_cost__streaming_when_used(void **state)
{
    (void)state;
    cost_model *m = new_model();
    cost_usage u = {.uses_streaming = true,
                    .kafka_bytes_in = 1073741824,
                    .kafka_bytes_out = 2147483648u,
                    .kafka_partitions = 6,
                    .input_records = 1000};
    plan_scale sc = {.records_per_day = 2000, .runs_per_day = 1};
    cost_breakdown b;
    hx_err e = {0};
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    const cost_line *in = line(&b, "streaming data in");
    assert_int_equal(in->kind, COST_VARIABLE);
    NEAR(in->quantity, 2 * D); /* 2 GiB a run */
    NEAR(line(&b, "streaming data out")->monthly, 4 * D * 0.05);
    const cost_line *p = line(&b, "streaming partitions");
    assert_int_equal(p->kind, COST_FIXED);
    NEAR(p->quantity, 6 * H);
    const cost_line *fee = line(&b, "streaming service fee");
    assert_int_equal(fee->kind, COST_FIXED);
    NEAR(fee->monthly, H * 0.5);
    check_sums(&b);
    cost_breakdown_release(&b);
    /* not used: no streaming line, not even the fee */
    u = (cost_usage){.input_records = 1000};
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    assert_null(find_line(&b, "streaming"));
    cost_breakdown_release(&b);
    cost_model_free(m);

    /* Event Hubs: throughput units (enough for the average ingress) plus events per million. */
    char *s = edit("\"rates\": {\n",
                   "\"streaming_service\": \"Hubs\",\n  \"rates\": {\n"
                   "    \"kafka_cluster\": {\"unit\": \"throughput-unit-hour\", \"price\": 0.03, "
                   "\"source\": \"s\", \"as_of\": \"x\"},\n"
                   "    \"kafka_events\": {\"unit\": \"1M events\", \"price\": 0.028, \"source\": "
                   "\"s\", \"as_of\": \"x\"},\n");
    m = parse_ok(s);
    free(s);
    /* 100 GB in a day = 1.157 MB/s: 2 throughput units */
    u = (cost_usage){.uses_streaming = true,
                     .kafka_bytes_in = 100000000000ull,
                     .kafka_messages_in = 1000000,
                     .input_records = 1000000};
    sc = (plan_scale){.records_per_day = 1000000, .runs_per_day = 1};
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    fee = line(&b, "Hubs fee");
    NEAR(fee->quantity, 2 * H);
    /* 100 GB / 64 KiB = 1,525,879 events, more than the 1M messages */
    NEAR(line(&b, "streaming events")->quantity, ceil(1e11 / 65536) * D / 1e6);
    cost_breakdown_release(&b);
    cost_model_free(m);
}

/* Unit economics on the production basis: the month over the month's input records. */
static void test_cost__unit_economics(void **state)
{
    (void)state;
    cost_model *m = new_model();
    cost_usage u = {.cpu_seconds = 3,
                    .wall_seconds = 4,
                    .uses_db = true,
                    .db_cpu_steps_seconds = 1,
                    .input_records = 16000,
                    .correct_output_records = 8000};
    plan_scale sc = {.records_per_day = 2e6, .runs_per_day = 1.0 / 7};
    cost_breakdown b;
    hx_err e = {0};
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    NEAR(b.monthly_input_records, 2e6 * D);
    NEAR(b.per_million_input, b.monthly / (2e6 * D) * 1e6);
    NEAR(b.per_correct_record, b.monthly / (8000.0 * 875 * (D / 7)));
    check_sums(&b);
    cost_breakdown_release(&b);
    cost_model_free(m);
}

static void test_cost__discounts(void **state)
{
    (void)state;
    char *s = edit("\"as_of\": \"2026-01-01\",", "\"as_of\": \"2026-01-01\", \"discount\": 0.25,");
    cost_model *m = parse_ok(s);
    free(s);
    cost_usage u = {.cpu_seconds = 7200, .wall_seconds = 7200, .input_records = 1};
    cost_breakdown b;
    hx_err e = {0};
    assert_int_equal(cost_price(m, &u, NULL, &b, &e), 0);
    const cost_line *v = line(&b, "compute vCPU");
    NEAR(v->list_price, 0.036);
    NEAR(v->unit_price, 0.027);
    assert_non_null(strstr(v->note, "25% discount"));
    cost_breakdown_release(&b);
    cost_model_free(m);
}

/* Phases: the billed ones share the production run's compute; the harness's own are outside. */
static void test_cost__phase_attribution(void **state)
{
    (void)state;
    cost_model *m = parse_ok(base_sheet);
    cost_phase_usage ph[] = {{"replay (harness)", 1, 1, 0, true},
                             {"batch 1", 30, 30, 0, false},
                             {"batch 2", 10, 10, 0, false}};
    cost_phase_usage ph2[] = {{"batch 1", 60, 60, 0, false}};
    cost_usage probe = {
        .cpu_seconds = 60, .wall_seconds = 60, .input_records = 200, .phases = ph2, .nphases = 1};
    cost_usage u = {.cpu_seconds = 40,
                    .wall_seconds = 40,
                    .invocations = 2,
                    .input_records = 100,
                    .phases = ph,
                    .nphases = 3,
                    .probe = &probe};
    plan_scale sc = {.records_per_day = 1000, .runs_per_day = 1};
    cost_breakdown b;
    hx_err e = {0};
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    assert_int_equal(b.nphases, 3);
    NEAR(b.phases[1].share, 0.75);
    NEAR(b.phases[1].cost + b.phases[2].cost, line(&b, "compute vCPU")->run);
    assert_true(b.phases[0].outside_bill);
    NEAR(b.phases[0].cost, 1.0 / 3600 * 0.036 * 10);
    NEAR(b.phases[1].slope, 1.0); /* 60 s at 100 records, 120 s at 200 */
    assert_true(isnan(b.phases[2].slope));
    cost_breakdown_release(&b);
    cost_model_free(m);
}

static void test_cost__new_fields_validated(void **state)
{
    (void)state;
    cost_model *m = new_model();
    NEAR(m->rates[COST_R_DB_STORAGE].minimum, 20);
    assert_true(m->rates[COST_R_KAFKA_CLUSTER].present);
    assert_false(m->rates[COST_R_KAFKA_EVENTS].present);
    cost_model_free(m);
    char *s = edit("\"rates\": {\n", "\"db_classes\": [{\"name\": \"a\", \"vcpu\": 1, "
                                     "\"memory_gib\": 1, \"capacity_vcpu\": 2, \"price\": 1, "
                                     "\"source\": \"s\", \"as_of\": \"x\"}],\n  \"rates\": {\n");
    parse_bad(s, "$.db_classes[0].capacity_vcpu: must be <= vcpu");
    free(s);
    s = edit("\"rates\": {\n", "\"db_classes\": [{\"name\": \"a\", \"vcpu\": 1, \"memory_gib\": 1, "
                               "\"price\": 1, \"source\": \"s\"}],\n  \"rates\": {\n");
    parse_bad(s, "$.db_classes[0].as_of: missing required field");
    free(s);
    s = edit("\"rates\": {\n", "\"db_utilisation_target\": 1.5,\n  \"rates\": {\n");
    parse_bad(s, "$.db_utilisation_target: must be <= 1");
    free(s);
    s = edit("\"rates\": {\n",
             "\"rates\": {\n    \"kafka_cluster\": {\"unit\": \"GiB\", \"price\": "
             "1, \"source\": \"s\", \"as_of\": \"x\"},\n");
    parse_bad(s, "$.rates.kafka_cluster.unit: unit 'GiB' does not fit rate 'kafka_cluster'");
    free(s);
}

/* A changed price is a changed sheet: the manifest's sha256 moves. */
static void test_cost__sha256_follows_the_bytes(void **state)
{
    (void)state;
    cost_model *a = parse_ok(base_sheet);
    char *s = edit("\"price\": 0.036", "\"price\": 0.037");
    cost_model *b = parse_ok(s);
    free(s);
    assert_int_equal(strlen(a->sha256), 64);
    assert_string_not_equal(a->sha256, b->sha256);
    cost_model_free(a);
    cost_model_free(b);
}

static void test_cost__money(void **state)
{
    (void)state;
    char buf[48];
    assert_string_equal(cost_money(buf, sizeof buf, 11.684, "USD", false), "11.68 USD");
    assert_string_equal(cost_money(buf, sizeof buf, 0.00004123, "USD", true), "+4.12e-05 USD");
    assert_string_equal(cost_money(buf, sizeof buf, 0.000412, "EUR", false), "0.000412 EUR");
    assert_string_equal(cost_money(buf, sizeof buf, -0.5, "USD", true), "-0.5 USD");
    assert_string_equal(cost_money(buf, sizeof buf, 1234.4, "USD", false), "1234 USD");
    assert_string_equal(cost_money(buf, sizeof buf, 0, "USD", true), "0 USD");
    assert_string_equal(cost_money(buf, sizeof buf, NAN, "USD", false), "n/a");
    double v[] = {10, 20, 30};
    NEAR(cost_pack_monthly(v, 3), 20);
    assert_true(isnan(cost_pack_monthly(v, 0)));
}

static void test_cost__metrics_and_currency(void **state)
{
    (void)state;
    char *s = edit("\"currency\": \"USD\"", "\"currency\": \"EUR\"");
    cost_model *eur = NULL;
    hx_err e = {0};
    assert_int_equal(cost_model_parse(s, strlen(s), "dir/eu-west-9.json", &eur, &e), 0);
    free(s);
    cost_model *usd = parse_ok(base_sheet);
    const cost_model *ms[] = {eur, usd};
    cost_usage u = {.cpu_seconds = 100, .wall_seconds = 100, .input_records = 1000};
    plan_scale sc = {.records_per_day = 1000, .runs_per_day = 1};
    cost_breakdown b[2];
    assert_int_equal(cost_price_all(ms, 2, &u, &sc, b, &e), 0);
    cost_metric mt[COST_MAX_METRICS];
    size_t n = cost_metrics(&b[0], true, mt, COST_MAX_METRICS);
    assert_int_equal(n, 12);
    assert_string_equal(mt[0].name, "cost.eu-west-9.run.eur");
    assert_string_equal(mt[2].name, "cost.eu-west-9.monthly.fixed.eur");
    assert_string_equal(mt[3].name, "cost.eu-west-9.monthly.variable.eur");
    assert_string_equal(mt[9].name, "cost.monthly.variable.eur");
    NEAR(mt[9].value, b[0].monthly_variable);
    for (size_t i = 0; i < n; i++)
        assert_null(strstr(mt[i].name, "usd")); /* never usd holding euros */
    double v = 0;
    assert_int_equal(cost_metric_value(b, 2, "cost.monthly.variable.eur", &v, &e), 0);
    NEAR(v, b[0].monthly_variable);
    assert_int_equal(cost_metric_value(b, 2, "cost.t.monthly.fixed.usd", &v, &e), 0);
    NEAR(v, 0);
    /* a budget in dollars is never checked against euros */
    assert_int_equal(cost_metric_value(b, 2, "cost.monthly.usd", &v, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "is in usd but model eu-west-9 prices in EUR"));
    assert_int_equal(cost_metric_check(ms, 2, "cost.montly.eur", &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "did you mean 'monthly'"));
    assert_int_equal(cost_metric_check(ms, 2, "cost.monthly.varable.eur", &e), HX_EUSAGE);
    assert_int_equal(cost_metric_check(ms, 2, "cost.mars-1.run.eur", &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "model 'mars-1'"));
    assert_int_equal(cost_metric_check(ms, 2, "latency.p99", &e), HX_EUSAGE);
    assert_int_equal(cost_metric_check(ms, 0, "cost.run.usd", &e), HX_EUSAGE);
    assert_int_equal(cost_metric_check(ms, 2, "cost.per_million_input.eur", &e), 0);
    for (int i = 0; i < 2; i++)
        cost_breakdown_release(&b[i]);
    cost_model_free(eur);
    cost_model_free(usd);
}

static void test_cost__rejects_bad_usage(void **state)
{
    (void)state;
    cost_model *m = parse_ok(base_sheet);
    cost_usage u = {.wall_seconds = -1};
    cost_breakdown b;
    hx_err e = {0};
    assert_int_equal(cost_price(m, &u, NULL, &b, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "wall_seconds"));
    u = (cost_usage){.cpu_seconds = NAN};
    assert_int_equal(cost_price(m, &u, NULL, &b, &e), HX_EUSAGE);
    cost_model_free(m);
}

static void test_cost__malformed_models(void **state)
{
    (void)state;
    parse_bad("{\n  \"schema\": \"harness.cost-model/1\",\n  \"provider\": aws\n}",
              "cost-models/x.json:3:");
    parse_bad("[1, 2]", "cost-models/x.json: $: must be an object");
    bad_edit("\"schema\": \"harness.cost-model/1\",", "", "$.schema: missing required field");
    bad_edit("harness.cost-model/1", "harness.cost-model/2",
             "$.schema: unsupported schema \"harness.cost-model/2\"");
    bad_edit("\"region\": \"r1\",", "", "cost-models/x.json: $.region: missing required field");
    bad_edit("\"price\": 0.036", "\"price\": -0.036",
             "cost-models/x.json: $.rates.compute_vcpu.price: must be >= 0");
    bad_edit("\"price\": 0.1", "\"price\": \"0.1\"", "$.rates.egress.price: must be a number");
    bad_edit("\"unit\": \"GB-hour\"", "\"unit\": \"GB-hours\"",
             "$.rates.compute_memory.unit: unknown unit 'GB-hours' (did you mean 'GB-hour'?)");
    bad_edit("\"unit\": \"GB-hour\"", "\"unit\": \"GB\"",
             "$.rates.compute_memory.unit: unit 'GB' does not fit rate 'compute_memory'");
    bad_edit("\"db_instance\": {\"unit\": \"instance-hour\", \"price\": 0.018, \"source\": \"s\", "
             "\"as_of\": \"x\"},",
             "", "$.rates.db_instance: missing required field");
    bad_edit("\"price\": 5, \"source\": \"s\",", "\"price\": 5,",
             "$.rates.requests.source: missing required field");
    bad_edit("\"price\": 5, \"source\": \"s\", \"as_of\": \"x\"",
             "\"price\": 5, \"source\": \"s\", \"as_of\": \"x\", \"unverified\": true",
             "$.rates.requests.note: required when unverified is true");
    bad_edit("\"price\": 5, \"source\": \"s\", \"as_of\": \"x\"",
             "\"price\": 5, \"source\": \"s\", \"as_of\": \"x\", \"discont\": 0.1",
             "$.rates.requests: unknown field 'discont' (did you mean 'discount'?)");
    bad_edit("\"requests\":", "\"request\":", "$.rates: unknown field 'request'");
    bad_edit("\"as_of\": \"2026-01-01\",", "\"as_of\": \"2026-01-01\", \"discount\": 1.5,",
             "$.discount: must be <= 1");
    bad_edit("[{\"name\": \"hand\", \"citation\": \"test_cost.c\"}]", "[]",
             "$.sources: must be a non-empty array");
    bad_edit("{\"name\": \"hand\", \"citation\": \"test_cost.c\"}", "{\"name\": \"hand\"}",
             "$.sources[0]: needs a url or a citation");
    bad_edit("\"minimum_seconds\": 60", "\"minimum_seconds\": -1",
             "$.billing.compute.minimum_seconds: must be >= 0");
    bad_edit("\"compute\": {", "\"computer\": {", "$.billing: unknown field 'computer'");
    bad_edit("\"provider\": \"test\"", "\"provider\": \"test\", \"provider\": \"dup\"",
             "cost-models/x.json:3:");
    parse_bad("", "cost-models/x.json:");
}

static void test_cost__load_reports_missing_file(void **state)
{
    (void)state;
    cost_model *m = NULL;
    hx_err e = {0};
    /* A missing file is the user's mistake (exit 2), and the message names it. */
    assert_int_equal(cost_model_load("/nonexistent/nowhere.json", &m, &e), HX_EUSAGE);
    assert_null(m);
    assert_non_null(strstr(e.msg, "'/nonexistent/nowhere.json'"));
}

static const char *src_root(void)
{
    const char *r = getenv("HX_SOURCE_ROOT");
    return r && *r ? r : HX_SOURCE_ROOT;
}

static void test_cost__shipped_sheets_are_complete(void **state)
{
    (void)state;
    static const char *const names[] = {"aws-us-east-1", "gcp-us-central1", "azure-eastus"};
    static const char *const providers[] = {"aws", "gcp", "azure"};
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cost-models", src_root());
    for (int i = 0; i < 3; i++) {
        cost_model *m = NULL;
        hx_err e = {0};
        if (cost_model_load_named(names[i], dir, &m, &e)) fail_msg("%s: %s", names[i], e.msg);
        assert_string_equal(m->name, names[i]);
        assert_string_equal(m->provider, providers[i]);
        assert_string_equal(m->currency, "USD");
        assert_true(m->nsources > 0);
        assert_int_equal(strlen(m->sha256), 64);
        for (int r = 0; r < COST_R__COUNT; r++) {
            const cost_rate *rt = &m->rates[r];
            if (r >= COST_R__REQUIRED && !rt->present) continue;
            assert_true(rt->present);
            assert_true(rt->source && *rt->source);
            assert_true(rt->as_of && *rt->as_of);
            assert_true(rt->price >= 0);
            if (rt->unverified) assert_true(rt->note && *rt->note);
        }
        /* Database classes and storage everywhere; every class cites its source. */
        assert_true(m->ndb_classes >= 4);
        assert_true(m->rates[COST_R_DB_STORAGE].present);
        assert_true(m->rates[COST_R_DB_STORAGE].minimum > 0);
        for (size_t k = 0; k < m->ndb_classes; k++) {
            const cost_db_class *c = &m->db_classes[k];
            assert_true(c->price > 0 && c->capacity_vcpu > 0 && c->capacity_vcpu <= c->vcpu);
            assert_true(c->source && *c->source && c->as_of && *c->as_of);
            if (c->unverified) assert_true(c->note && *c->note);
        }
        /* Compute costs something everywhere: a zero compute price would hide every solution. */
        assert_true(m->rates[COST_R_COMPUTE_VCPU].price > 0);
        assert_true(m->rates[COST_R_COMPUTE_MEMORY].price > 0);
        cost_model_free(m);
    }
}

/* The naive-vs-setbased question, deterministic, with the usage the ecommerce pack's baseline
 * measured for each at two sizes (16,000 and 64,000 input records, `harness run --probe 4`;
 * solution CPU and wall summed over 7 invocations, database CPU during them, as counted since
 * the database's live backends are: earlier figures missed them): under every shipped sheet and
 * the pack's scale, the row-at-a-time solution's variable month is at least 1.5x the set-based
 * one's, and the fixed part (the database instance) is the same for both. */
static void test_cost__shipped_sheets_tell_approaches_apart(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cost-models", src_root());
    const char *names[3] = {"aws-us-east-1", "gcp-us-central1", "azure-eastus"};
    plan_scale sc = {.records_per_day = 2e6, .runs_per_day = 1.0 / 7};
    cost_usage set_probe = {.cpu_seconds = 2.961,
                            .wall_seconds = 8.792,
                            .invocations = 7,
                            .peak_rss_bytes = 15560000,
                            .mean_rss_bytes = 8770000,
                            .uses_db = true,
                            .db_cpu_steps_seconds = 1.82,
                            .db_storage_bytes = 6472000,
                            .input_records = 64000};
    cost_usage set = set_probe;
    set.cpu_seconds = 2.326;
    set.wall_seconds = 6.542;
    set.db_cpu_steps_seconds = 1.09;
    set.db_storage_bytes = 1786000;
    set.input_records = 16000;
    set.probe = &set_probe;
    cost_usage naive_probe = set_probe;
    naive_probe.cpu_seconds = 2.128;
    naive_probe.wall_seconds = 6.651;
    naive_probe.db_cpu_steps_seconds = 4.16;
    naive_probe.peak_rss_bytes = 17560000;
    naive_probe.mean_rss_bytes = 11610000;
    naive_probe.db_storage_bytes = 4915000;
    cost_usage naive = naive_probe;
    naive.cpu_seconds = 1.029;
    naive.wall_seconds = 3.129;
    naive.db_cpu_steps_seconds = 1.12;
    naive.db_storage_bytes = 1294000;
    naive.input_records = 16000;
    naive.probe = &naive_probe;
    for (int i = 0; i < 3; i++) {
        cost_model *m = NULL;
        hx_err e = {0};
        if (cost_model_load_named(names[i], dir, &m, &e)) fail_msg("%s", e.msg);
        assert_true(m->ndb_classes > 0);
        assert_true(m->rates[COST_R_DB_STORAGE].present);
        cost_breakdown a, b;
        assert_int_equal(cost_price(m, &set, &sc, &a, &e), 0);
        assert_int_equal(cost_price(m, &naive, &sc, &b, &e), 0);
        check_sums(&a);
        check_sums(&b);
        if (!(b.monthly_variable >= 1.5 * a.monthly_variable))
            fail_msg("%s: naive's variable month %g is not 1.5x setbased's %g", names[i],
                     b.monthly_variable, a.monthly_variable);
        assert_true(a.monthly_variable > 0);
        assert_ptr_equal(a.db_class, b.db_class);
        /* the database is most of the fixed month, and both pay the same fixed month */
        NEAR(a.monthly_fixed + line(&a, "database CPU")->monthly,
             b.monthly_fixed + line(&b, "database CPU")->monthly);
        cost_breakdown_release(&a);
        cost_breakdown_release(&b);
        cost_model_free(m);
    }
}

/* The worked example of docs/cost-models.md, so the page stays true. */
static void test_cost__docs_worked_example(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cost-models", src_root());
    cost_model *m = NULL;
    hx_err e = {0};
    if (cost_model_load_named("aws-us-east-1", dir, &m, &e)) fail_msg("%s", e.msg);
    plan_scale sc = {.records_per_day = 2e6, .runs_per_day = 1.0 / 7};
    cost_usage probe = {.cpu_seconds = 2.961,
                        .wall_seconds = 8.792,
                        .invocations = 7,
                        .peak_rss_bytes = 15560000,
                        .mean_rss_bytes = 8770000,
                        .uses_db = true,
                        .db_cpu_steps_seconds = 1.82,
                        .db_storage_bytes = 6472000,
                        .input_records = 64000};
    cost_usage u = probe;
    u.cpu_seconds = 2.326;
    u.wall_seconds = 6.542;
    u.db_cpu_steps_seconds = 1.09;
    u.db_storage_bytes = 1786000;
    u.input_records = 16000;
    u.correct_output_records = 16000;
    u.probe = &probe;
    cost_breakdown b;
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    check_sums(&b);
    double rpm = 365.0 / 12 / 7;
    NEAR(b.runs_per_month, rpm);
    NEAR(b.scale_factor, 875);
    double cpu_b = (2.961 - 2.326) / 48000, db_b = (1.82 - 1.09) / 48000;
    double cpu_p = 2.326 - cpu_b * 16000 + cpu_b * 14e6;
    NEAR(b.fits[0].projected, cpu_p);
    /* the wall grows by the busy CPU a record; its fixed part is the smaller remainder */
    double busy = cpu_b + db_b, wall_a = fmin(6.542 - busy * 16000, 8.792 - busy * 64000);
    double wall_p = wall_a + busy * 14e6;
    NEAR(b.fits[1].per_record, busy);
    NEAR(b.fits[1].projected, wall_p);
    if (!(wall_p > 404.1 && wall_p < 404.3 && wall_p < 420)) fail_msg("wall_p %.6g", wall_p);
    NEAR(line(&b, "compute vCPU")->quantity, 420.0 * rpm / 3600);
    NEAR(line(&b, "compute memory")->quantity, 0.01556 * 420 * rpm / 3600);
    double db_p = 1.09 - db_b * 16000 + db_b * 14e6;
    assert_string_equal(b.db_class->name, "db.t4g.micro");
    const cost_line *dc = line(&b, "database CPU (db.t4g.micro)");
    NEAR(dc->quantity, db_p * rpm / 3600);
    NEAR(dc->unit_price, 0.08);
    NEAR(line(&b, "database instance db.t4g.micro")->quantity, 730 - db_p * rpm / 3600 / 0.2);
    NEAR(line(&b, "database storage")->quantity, 20);
    assert_int_equal(b.nlines, 5);
    /* the page's rounded figures */
    assert_true(fabs(b.monthly - 14.0006) < 0.00005);
    assert_true(fabs(b.monthly_fixed - 13.9594) < 0.00005);
    assert_true(fabs(b.monthly_variable - 0.041197) < 0.0000005);
    assert_true(fabs(b.total - 3.22205) < 0.000005);
    assert_true(fabs(b.per_million_input - 0.230146) < 0.0000005);
    NEAR(b.per_million_input, b.monthly / (14e6 * rpm) * 1e6);
    cost_breakdown_release(&b);
    cost_model_free(m);
}

static void test_cost__find_search_order(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/hx_cost_findXXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    char p[4200];
    snprintf(p, sizeof p, "%s/aws-us-east-1.json", d);
    hx_err e = {0};
    assert_int_equal(hx_write_atomic(p, base_sheet, strlen(base_sheet), &e), 0);

    char *found = NULL;
    /* --cost-models first. */
    assert_int_equal(cost_model_find("aws-us-east-1", d, &found, &e), 0);
    assert_string_equal(found, p);
    hx_free(found);
    /* Then $HARNESS_COST_MODELS. */
    setenv("HARNESS_COST_MODELS", d, 1);
    assert_int_equal(cost_model_find("aws-us-east-1.json", NULL, &found, &e), 0);
    assert_string_equal(found, p);
    hx_free(found);
    unsetenv("HARNESS_COST_MODELS");
    /* Then the installed data dir or the source tree: a fresh clone still finds the sheets. */
    assert_int_equal(cost_model_find("gcp-us-central1", NULL, &found, &e), 0);
    assert_non_null(strstr(found, "cost-models/gcp-us-central1.json"));
    hx_free(found);
    /* A path is used as is. */
    assert_int_equal(cost_model_find(p, "/nonexistent", &found, &e), 0);
    assert_string_equal(found, p);
    hx_free(found);
    /* Not found names the places searched and the fix. */
    assert_int_equal(cost_model_find("oracle-mars-1", d, &found, &e), HX_EUSAGE);
    assert_null(found);
    assert_non_null(strstr(e.msg, "cost model 'oracle-mars-1' not found in"));
    assert_non_null(strstr(e.msg, d));
    assert_non_null(strstr(e.msg, "--cost-models"));
    assert_int_equal(hx_rm_rf(d), 0);
}

static void test_cost__out_of_memory(void **state)
{
    (void)state;
    /* Fail each allocation in turn: every failure is reported as HX_ENOMEM, nothing leaks. */
    int rc = -1;
    for (long n = 0; rc != 0 && n < 1000; n++) {
        cost_model *m = NULL;
        hx_err e = {0};
        hx_alloc_fail_after(n);
        rc = cost_model_parse(base_sheet, strlen(base_sheet), "t.json", &m, &e);
        hx_alloc_fail_after(-1);
        if (rc) {
            assert_int_equal(rc, HX_ENOMEM);
            assert_null(m);
        } else {
            cost_phase_usage ph[] = {{"a", 1, 1, 1, false}, {"b", 1, 1, 1, true}};
            cost_usage u = {.wall_seconds = 1, .phases = ph, .nphases = 2};
            cost_breakdown b;
            for (long k = 0; k < 3; k++) {
                hx_alloc_fail_after(k);
                int prc = cost_price(m, &u, NULL, &b, &e);
                hx_alloc_fail_after(-1);
                assert_int_equal(prc, HX_ENOMEM);
            }
            assert_int_equal(cost_price(m, &u, NULL, &b, &e), 0);
            cost_breakdown_release(&b);
            cost_model_free(m);
        }
    }
    assert_int_equal(rc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cost__production_basis_and_minimums),
        cmocka_unit_test(test_cost__fit_two_sizes),
        cmocka_unit_test(test_cost__wall_grows_by_the_busy_cpu),
        cmocka_unit_test(test_cost__database_sized_by_load),
        cmocka_unit_test(test_cost__served_workload_billed_on_its_own_line),
        cmocka_unit_test(test_cost__streaming_when_used),
        cmocka_unit_test(test_cost__unit_economics),
        cmocka_unit_test(test_cost__discounts),
        cmocka_unit_test(test_cost__phase_attribution),
        cmocka_unit_test(test_cost__new_fields_validated),
        cmocka_unit_test(test_cost__sha256_follows_the_bytes),
        cmocka_unit_test(test_cost__money),
        cmocka_unit_test(test_cost__metrics_and_currency),
        cmocka_unit_test(test_cost__rejects_bad_usage),
        cmocka_unit_test(test_cost__malformed_models),
        cmocka_unit_test(test_cost__load_reports_missing_file),
        cmocka_unit_test(test_cost__shipped_sheets_are_complete),
        cmocka_unit_test(test_cost__shipped_sheets_tell_approaches_apart),
        cmocka_unit_test(test_cost__docs_worked_example),
        cmocka_unit_test(test_cost__find_search_order),
        cmocka_unit_test(test_cost__out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
