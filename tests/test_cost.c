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

static const cost_line *line(const cost_breakdown *b, cost_rate_id r, cost_view v)
{
    for (size_t i = 0; i < b->nlines; i++)
        if (b->lines[i].rate == r && b->lines[i].view == v) return &b->lines[i];
    fail_msg("no line for %s view %d", cost_rate_name(r), v);
    return NULL;
}

#define NEAR(a, b) near_((double)(a), (double)(b), __LINE__)

static void near_(double a, double b, int ln)
{
    if (!(fabs(a - b) <= 1e-12 + 1e-9 * fabs(b))) fail_msg("line %d: %.12g != %.12g", ln, a, b);
}

static void test_cost__minimum_bills_60s_for_a_12s_run(void **state)
{
    (void)state;
    cost_model *m = parse_ok(base_sheet);
    cost_usage u = {.cpu_seconds = 3, .wall_seconds = 12, .peak_rss_bytes = 1000000000};
    cost_breakdown b;
    hx_err e = {0};
    assert_int_equal(cost_price(m, &u, NULL, &b, &e), 0);
    const cost_line *v = line(&b, COST_R_COMPUTE_VCPU, COST_VIEW_BILLED);
    NEAR(v->quantity, 60.0 / 3600); /* 1 vCPU x 60 s, not 12 s */
    NEAR(v->cost, 0.036 / 60);
    const cost_line *mem = line(&b, COST_R_COMPUTE_MEMORY, COST_VIEW_BILLED);
    NEAR(mem->quantity, 60.0 / 3600); /* 1 GB x 60 s */
    NEAR(mem->cost, 0.0036 / 60);
    assert_non_null(strstr(v->note, "minimum 60s"));
    /* The used view (3 CPU seconds) is shown but not billed. */
    const cost_line *used = line(&b, COST_R_COMPUTE_VCPU, COST_VIEW_USED);
    assert_false(used->billed);
    NEAR(used->quantity, 3.0 / 3600);
    NEAR(b.used_vcpu_seconds, 3);
    NEAR(b.provisioned_vcpu_seconds, 60);
    NEAR(b.billed_vcpu_seconds, 60);
    NEAR(b.total, 0.036 / 60 + 0.0036 / 60);
    assert_false(b.projected);
    assert_true(isnan(b.per_million_input));
    cost_breakdown_release(&b);
    cost_model_free(m);
}

static void test_cost__billed_is_max_of_used_and_provisioned(void **state)
{
    (void)state;
    cost_model *m = parse_ok(base_sheet);
    /* 4 cores busy for 100 s with 2 vCPUs reserved: the bill follows usage (400 vCPU-s). */
    cost_usage u = {.cpu_seconds = 400, .wall_seconds = 100, .provisioned_vcpus = 2};
    cost_breakdown b;
    hx_err e = {0};
    assert_int_equal(cost_price(m, &u, NULL, &b, &e), 0);
    NEAR(b.billed_vcpu_seconds, 400);
    NEAR(b.provisioned_vcpu_seconds, 200);
    NEAR(line(&b, COST_R_COMPUTE_VCPU, COST_VIEW_BILLED)->cost, 400.0 / 3600 * 0.036);
    NEAR(b.compute_provisioned, 200.0 / 3600 * 0.036);
    NEAR(b.compute_used, 400.0 / 3600 * 0.036);
    /* Memory: RSS byte-seconds above the reservation bill as used. */
    u = (cost_usage){.wall_seconds = 100,
                     .peak_rss_bytes = 1000000000,
                     .provisioned_memory_bytes = 500000000,
                     .rss_byte_seconds = 8e10};
    cost_breakdown_release(&b);
    assert_int_equal(cost_price(m, &u, NULL, &b, &e), 0);
    NEAR(line(&b, COST_R_COMPUTE_MEMORY, COST_VIEW_BILLED)->quantity, 8e10 / 1e9 / 3600);
    NEAR(line(&b, COST_R_COMPUTE_MEMORY, COST_VIEW_PROVISIONED)->quantity, 0.5 * 100 / 3600);
    /* Several invocations each pay the minimum: 3 x 10 s runs bill 180 s. */
    u = (cost_usage){.wall_seconds = 30, .invocations = 3};
    cost_breakdown_release(&b);
    assert_int_equal(cost_price(m, &u, NULL, &b, &e), 0);
    NEAR(b.billed_vcpu_seconds, 180);
    cost_breakdown_release(&b);
    cost_model_free(m);
}

static void test_cost__increments_round_up(void **state)
{
    (void)state;
    cost_billing cloud_run = {.increment_seconds = 0.1};
    NEAR(cost_billed_seconds(&cloud_run, 1.234, 1), 1.3);
    NEAR(cost_billed_seconds(&cloud_run, 1.2, 1), 1.2); /* 1.2/0.1 is 12.000000000000002 */
    NEAR(cost_billed_seconds(&cloud_run, 0.01, 1), 0.1);
    NEAR(cost_billed_seconds(&cloud_run, 0, 1), 0); /* nothing ran, nothing billed */
    cost_billing fargate = {.minimum_seconds = 60, .increment_seconds = 1};
    NEAR(cost_billed_seconds(&fargate, 12, 1), 60);
    NEAR(cost_billed_seconds(&fargate, 60.2, 1), 61);
    NEAR(cost_billed_seconds(&fargate, 100, 3), 180);
    cost_billing exact = {0};
    NEAR(cost_billed_seconds(&exact, 1.234, 1), 1.234);

    char *s = edit("\"compute\": {\"minimum_seconds\": 60, \"increment_seconds\": 1}",
                   "\"compute\": {\"increment_seconds\": 0.1}");
    cost_model *m = parse_ok(s);
    cost_usage u = {.cpu_seconds = 1, .wall_seconds = 1.234};
    cost_breakdown b;
    hx_err e = {0};
    assert_int_equal(cost_price(m, &u, NULL, &b, &e), 0);
    NEAR(line(&b, COST_R_COMPUTE_VCPU, COST_VIEW_BILLED)->quantity, 1.3 / 3600);
    cost_breakdown_release(&b);
    cost_model_free(m);
    free(s);
}

static void test_cost__gb_and_gib(void **state)
{
    (void)state;
    cost_model *m = parse_ok(base_sheet);
    const uint64_t gib = 1073741824;
    cost_usage u = {.egress_bytes = gib,
                    .kafka_bytes_in = gib,
                    .kafka_bytes_out = 2 * gib,
                    .storage_bytes = 5000000000,
                    .requests = 2500000};
    cost_breakdown b;
    hx_err e = {0};
    assert_int_equal(cost_price(m, &u, NULL, &b, &e), 0);
    /* Egress is quoted per GB (1e9): one GiB is 1.073741824 GB. */
    NEAR(line(&b, COST_R_EGRESS, COST_VIEW_NONE)->quantity, 1.073741824);
    NEAR(line(&b, COST_R_EGRESS, COST_VIEW_NONE)->cost, 0.1073741824);
    /* Kafka is quoted per GiB. */
    NEAR(line(&b, COST_R_KAFKA_IN, COST_VIEW_NONE)->quantity, 1);
    NEAR(line(&b, COST_R_KAFKA_OUT, COST_VIEW_NONE)->cost, 0.1);
    NEAR(line(&b, COST_R_STORAGE, COST_VIEW_NONE)->cost, 5 * 0.02);
    NEAR(line(&b, COST_R_REQUESTS, COST_VIEW_NONE)->cost, 2.5 * 5);
    NEAR(b.total, 0.1073741824 + 0.1 + 0.1 + 0.1 + 12.5);
    cost_breakdown_release(&b);
    cost_model_free(m);

    char *s = edit("\"unit\": \"GB\", \"price\": 0.1", "\"unit\": \"TiB\", \"price\": 40");
    m = parse_ok(s);
    u = (cost_usage){.egress_bytes = 1099511627776 / 4};
    assert_int_equal(cost_price(m, &u, NULL, &b, &e), 0);
    NEAR(line(&b, COST_R_EGRESS, COST_VIEW_NONE)->cost, 10);
    cost_breakdown_release(&b);
    cost_model_free(m);
    free(s);
}

static void test_cost__monthly_projection(void **state)
{
    (void)state;
    /* 1M records a day in 3 runs: a production run is 333,333 records, 3.333x this 100k run. */
    plan_scale sc = {.records_per_day = 1e6, .runs_per_day = 3};
    NEAR(cost_runs_per_month(&sc, 100000), 3 * 365.0 / 12);
    NEAR(cost_scale_factor(&sc, 100000), 1e6 / 3 / 100000);
    /* Without runs per day: runs the size of this one; without a volume: as measured. */
    plan_scale vol = {.records_per_day = 1e6};
    NEAR(cost_runs_per_month(&vol, 100000), 10 * 365.0 / 12);
    NEAR(cost_scale_factor(&vol, 100000), 1);
    plan_scale runs = {.runs_per_day = 24};
    NEAR(cost_runs_per_month(&runs, 100000), 24 * 365.0 / 12);
    NEAR(cost_scale_factor(&runs, 100000), 1);
    NEAR(cost_runs_per_month(&sc, 0), 3 * 365.0 / 12);
    NEAR(cost_scale_factor(&sc, 0), 1);
    plan_scale none = {0};
    NEAR(cost_runs_per_month(&none, 100000), 0);
    NEAR(cost_runs_per_month(NULL, 100000), 0);

    cost_model *m = parse_ok(base_sheet);
    cost_usage u = {.wall_seconds = 120,
                    .cpu_seconds = 60,
                    .input_records = 100000,
                    .egress_bytes = 1000000000};
    cost_breakdown b;
    hx_err e = {0};
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    assert_true(b.projected);
    double per_run = 120.0 / 3600 * 0.036 + 0.1;
    NEAR(b.total, per_run);
    NEAR(b.runs_per_month, 3 * 365.0 / 12);
    NEAR(b.scale_factor, 1e6 / 3 / 100000);
    /* a production run: 400 s wall (200 s CPU) and 3.333 GB of egress */
    double prod_run = 400.0 / 3600 * 0.036 + (1e6 / 3 / 100000) * 0.1;
    NEAR(b.monthly, prod_run * 3 * 365.0 / 12);
    cost_breakdown_release(&b);

    /* A 10 s run scales to a 33 s production run, which still pays the 60 s minimum - once per
     * production run, not once per test-sized run (that would be 3.333x as many minimums). */
    cost_usage small = {.wall_seconds = 10, .cpu_seconds = 5, .input_records = 100000};
    assert_int_equal(cost_price(m, &small, &sc, &b, &e), 0);
    NEAR(b.total, 60.0 / 3600 * 0.036);
    NEAR(b.monthly, 60.0 / 3600 * 0.036 * 3 * 365.0 / 12);
    cost_breakdown_release(&b);

    assert_int_equal(cost_price(m, &u, &none, &b, &e), 0);
    assert_false(b.projected);
    NEAR(b.monthly, 0);
    cost_breakdown_release(&b);
    cost_model_free(m);
}

static void test_cost__db_minimum_and_always_on(void **state)
{
    (void)state;
    cost_model *m = parse_ok(base_sheet);
    cost_usage u = {.db_instance_seconds = 30, .input_records = 1000};
    plan_scale sc = {.runs_per_day = 1};
    cost_breakdown b;
    hx_err e = {0};
    assert_int_equal(cost_price(m, &u, &sc, &b, &e), 0);
    const cost_line *db = line(&b, COST_R_DB_INSTANCE, COST_VIEW_NONE);
    NEAR(db->quantity, 600.0 / 3600); /* RDS-like 10-minute minimum */
    NEAR(db->cost, 0.003);
    /* In production the instance runs all month, which beats 30 x 0.003. */
    NEAR(db->monthly, 730 * 0.018);
    NEAR(b.monthly, 730 * 0.018);
    cost_breakdown_release(&b);
    cost_model_free(m);
}

static void test_cost__unit_economics(void **state)
{
    (void)state;
    cost_model *m = parse_ok(base_sheet);
    cost_usage u = {.requests = 1000000, .input_records = 250000, .correct_output_records = 200000};
    cost_breakdown b;
    hx_err e = {0};
    assert_int_equal(cost_price(m, &u, NULL, &b, &e), 0);
    NEAR(b.total, 5);
    NEAR(b.per_million_input, 20);
    NEAR(b.per_correct_record, 5.0 / 200000);
    cost_breakdown_release(&b);
    u.correct_output_records = 0;
    assert_int_equal(cost_price(m, &u, NULL, &b, &e), 0);
    assert_true(isnan(b.per_correct_record));
    cost_breakdown_release(&b);
    cost_model_free(m);
}

static void test_cost__discounts(void **state)
{
    (void)state;
    char *s = edit("\"as_of\": \"2026-01-01\",", "\"as_of\": \"2026-01-01\", \"discount\": 0.2,");
    char *s2 = NULL;
    cost_model *m = parse_ok(s);
    cost_usage u = {.egress_bytes = 10000000000, .requests = 1000000};
    cost_breakdown b;
    hx_err e = {0};
    assert_int_equal(cost_price(m, &u, NULL, &b, &e), 0);
    const cost_line *eg = line(&b, COST_R_EGRESS, COST_VIEW_NONE);
    NEAR(eg->list_price, 0.1);
    NEAR(eg->unit_price, 0.08);
    NEAR(eg->cost, 0.8);
    assert_non_null(strstr(eg->note, "20% discount"));
    NEAR(b.total, 0.8 + 4);
    cost_breakdown_release(&b);
    cost_model_free(m);
    /* A rate's own discount wins over the sheet's. */
    const char *from = "\"unit\": \"1M requests\", \"price\": 5,";
    size_t off = strstr(s, from) - s;
    size_t n = strlen(s) + 32;
    s2 = malloc(n);
    snprintf(s2, n, "%.*s\"discount\": 0.5, %s", (int)off, s, s + off);
    m = parse_ok(s2);
    assert_int_equal(cost_price(m, &u, NULL, &b, &e), 0);
    NEAR(line(&b, COST_R_REQUESTS, COST_VIEW_NONE)->cost, 2.5);
    NEAR(line(&b, COST_R_EGRESS, COST_VIEW_NONE)->cost, 0.8);
    cost_breakdown_release(&b);
    cost_model_free(m);
    free(s);
    free(s2);
}

static void test_cost__phase_attribution(void **state)
{
    (void)state;
    cost_model *m = parse_ok(base_sheet);
    /* Raw weights, no minimum: ingest max(5 cpu, 1 vCPU x 30 s) = 30 vCPU-s, solution 180;
     * the run's billed compute (210 s wall, 185 cpu -> 210 vCPU-s at 0.036 per vCPU-hour) is
     * split 30:180, so the phases add up to the bill even though ingest alone is under the
     * 60 s minimum. */
    cost_phase_usage ph[] = {
        {"ingest", 5, 30, 0, false},
        {"solution", 180, 180, 0, false},
        {"checks", 12, 4, 0, true}, /* outside the bill: its raw 12 vCPU-s at the rate */
    };
    cost_usage u = {.cpu_seconds = 185, .wall_seconds = 210, .phases = ph, .nphases = 3};
    cost_breakdown b;
    hx_err e = {0};
    assert_int_equal(cost_price(m, &u, NULL, &b, &e), 0);
    assert_int_equal(b.nphases, 3);
    assert_string_equal(b.phases[0].name, "ingest");
    NEAR(b.phases[0].vcpu_seconds, 30);
    NEAR(b.phases[1].vcpu_seconds, 180);
    NEAR(b.phases[0].share, 30.0 / 210);
    NEAR(b.phases[1].share, 180.0 / 210);
    NEAR(b.phases[0].cost, 30.0 / 3600 * 0.036);
    NEAR(b.phases[0].cost + b.phases[1].cost, 210.0 / 3600 * 0.036);
    NEAR(b.phases[2].cost, 12.0 / 3600 * 0.036);
    NEAR(b.phases[2].share, 0);
    NEAR(b.total, 210.0 / 3600 * 0.036); /* the harness phase is not in the bill */
    hx_buf out;
    hx_buf_init(&out);
    assert_true(cost_breakdown_format(&b, &out));
    assert_non_null(strstr(out.data, "phase ingest"));
    assert_non_null(strstr(out.data, "(outside the bill)"));
    assert_non_null(strstr(out.data, "compute vCPU (used view)"));
    hx_buf_release(&out);
    cost_breakdown_release(&b);
    cost_model_free(m);
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
            assert_true(rt->present);
            assert_true(rt->source && *rt->source);
            assert_true(rt->as_of && *rt->as_of);
            assert_true(rt->price >= 0);
            if (rt->unverified) assert_true(rt->note && *rt->note);
        }
        /* Compute costs something everywhere: a zero compute price would hide every solution. */
        assert_true(m->rates[COST_R_COMPUTE_VCPU].price > 0);
        assert_true(m->rates[COST_R_COMPUTE_MEMORY].price > 0);
        cost_model_free(m);
    }
}

static void test_cost__shipped_sheet_numbers(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cost-models", src_root());
    const cost_model *ms[3] = {0};
    const char *names[3] = {"aws-us-east-1", "gcp-us-central1.json", "azure-eastus"};
    hx_err e = {0};
    for (int i = 0; i < 3; i++)
        if (cost_model_load_named(names[i], dir, (cost_model **)&ms[i], &e)) fail_msg("%s", e.msg);
    /* A 12 s batch on 1 vCPU with 512 MiB: Fargate bills 60 s, Cloud Run 12 s. */
    cost_usage u = {.cpu_seconds = 10, .wall_seconds = 12, .peak_rss_bytes = 536870912};
    cost_breakdown b[3];
    assert_int_equal(cost_price_all(ms, 3, &u, NULL, b, &e), 0);
    NEAR(b[0].total, 60.0 / 3600 * 0.04048 + 0.536870912 * 60 / 3600 * 0.004445);
    NEAR(b[1].total, 12 * 0.000018 + 0.5 * 12 * 0.000002);
    NEAR(b[2].total, 12 * 0.000024 + 0.5 * 12 * 0.000003);
    for (int i = 0; i < 3; i++) {
        cost_breakdown_release(&b[i]);
        cost_model_free((cost_model *)ms[i]);
    }
}

/* The naive-vs-setbased question, deterministic: under every shipped sheet and the ecommerce
 * pack's scale (2M records a day, a run = a week of drops), a solution that needs more CPU and
 * wall time for the same input costs more a month, and more sink data costs more too - each
 * line moves with the figure that drives it. The run transcript compares real runs, whose
 * timings are too noisy on a shared machine to assert a direction on. */
static void test_cost__deltas_follow_usage(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cost-models", src_root());
    const char *names[3] = {"aws-us-east-1", "gcp-us-central1", "azure-eastus"};
    plan_scale sc = {.records_per_day = 2e6, .runs_per_day = 1.0 / 7};
    /* measured shapes of the pack's baseline: 16,000 input records, 7 invocations */
    cost_usage lean = {.cpu_seconds = 0.8,
                       .wall_seconds = 1.5,
                       .invocations = 7,
                       .peak_rss_bytes = 15000000,
                       .mean_rss_bytes = 8000000,
                       .storage_bytes = 2000000,
                       .db_instance_seconds = 4,
                       .input_records = 16000,
                       .correct_output_records = 14000};
    cost_usage heavy = lean;
    heavy.cpu_seconds = 1.4;
    heavy.wall_seconds = 5.5;
    heavy.db_instance_seconds = 8;
    cost_usage bulky = lean;
    bulky.storage_bytes = 3000000;
    for (int i = 0; i < 3; i++) {
        cost_model *m = NULL;
        hx_err e = {0};
        if (cost_model_load_named(names[i], dir, &m, &e)) fail_msg("%s", e.msg);
        cost_breakdown a, b, c;
        assert_int_equal(cost_price(m, &lean, &sc, &a, &e), 0);
        assert_int_equal(cost_price(m, &heavy, &sc, &b, &e), 0);
        assert_int_equal(cost_price(m, &bulky, &sc, &c, &e), 0);
        assert_true(a.projected && b.projected && c.projected);
        if (!(b.monthly > a.monthly))
            fail_msg("%s: more CPU and wall cost no more a month (%g vs %g)", names[i], b.monthly,
                     a.monthly);
        const cost_line *la = line(&a, COST_R_COMPUTE_VCPU, COST_VIEW_BILLED);
        const cost_line *lb = line(&b, COST_R_COMPUTE_VCPU, COST_VIEW_BILLED);
        assert_true(lb->monthly > la->monthly);
        assert_true(c.monthly > a.monthly);
        assert_true(line(&c, COST_R_STORAGE, COST_VIEW_NONE)->monthly >
                    line(&a, COST_R_STORAGE, COST_VIEW_NONE)->monthly);
        cost_breakdown_release(&a);
        cost_breakdown_release(&b);
        cost_breakdown_release(&c);
        cost_model_free(m);
    }
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

static void test_cost__budget_metrics(void **state)
{
    (void)state;
    char *s = edit("\"provider\": \"test\"", "\"provider\": \"second\"");
    cost_model *m1 = parse_ok(base_sheet);
    cost_model *m2 = NULL;
    hx_err e = {0};
    assert_int_equal(cost_model_parse(s, strlen(s), "dir/other-r2.json", &m2, &e), 0);
    assert_string_equal(m2->name, "other-r2");
    const cost_model *ms[] = {m1, m2};
    cost_usage u = {.requests = 2000000, .input_records = 1000000};
    plan_scale sc = {.runs_per_day = 2};
    cost_breakdown b[2];
    assert_int_equal(cost_price_all(ms, 2, &u, &sc, b, &e), 0);
    double v = 0;
    assert_int_equal(cost_metric_value(b, 2, "cost.run.usd", &v, &e), 0);
    NEAR(v, 10);
    assert_int_equal(cost_metric_value(b, 2, "cost.monthly.USD", &v, &e), 0);
    NEAR(v, 10 * 2 * 365.0 / 12);
    assert_int_equal(cost_metric_value(b, 2, "cost.per_million_input.usd", &v, &e), 0);
    NEAR(v, 10);
    assert_int_equal(cost_metric_value(b, 2, "cost.per_correct_record.usd", &v, &e), 0);
    assert_true(isnan(v));
    assert_int_equal(cost_metric_value(b, 2, "cost.other-r2.run.usd", &v, &e), 0);
    NEAR(v, 10);
    assert_int_equal(cost_metric_value(b, 2, "cost.mars-1.run.usd", &v, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "model 'mars-1'"));
    assert_int_equal(cost_metric_value(b, 2, "cost.montly.usd", &v, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "did you mean 'monthly'"));
    assert_int_equal(cost_metric_value(b, 2, "cost.run.eur", &v, &e), HX_EUSAGE);
    assert_int_equal(cost_metric_value(b, 2, "latency.p99", &v, &e), HX_EUSAGE);
    assert_int_equal(cost_metric_value(b, 0, "cost.run.usd", &v, &e), HX_EUSAGE);
    for (int i = 0; i < 2; i++)
        cost_breakdown_release(&b[i]);
    /* Without a scale there is no month to budget. */
    assert_int_equal(cost_price(m1, &u, NULL, &b[0], &e), 0);
    assert_int_equal(cost_metric_value(b, 1, "cost.monthly.usd", &v, &e), 0);
    assert_true(isnan(v));
    cost_breakdown_release(&b[0]);
    cost_model_free(m1);
    cost_model_free(m2);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cost__minimum_bills_60s_for_a_12s_run),
        cmocka_unit_test(test_cost__billed_is_max_of_used_and_provisioned),
        cmocka_unit_test(test_cost__increments_round_up),
        cmocka_unit_test(test_cost__gb_and_gib),
        cmocka_unit_test(test_cost__monthly_projection),
        cmocka_unit_test(test_cost__db_minimum_and_always_on),
        cmocka_unit_test(test_cost__unit_economics),
        cmocka_unit_test(test_cost__discounts),
        cmocka_unit_test(test_cost__phase_attribution),
        cmocka_unit_test(test_cost__rejects_bad_usage),
        cmocka_unit_test(test_cost__malformed_models),
        cmocka_unit_test(test_cost__load_reports_missing_file),
        cmocka_unit_test(test_cost__shipped_sheets_are_complete),
        cmocka_unit_test(test_cost__shipped_sheet_numbers),
        cmocka_unit_test(test_cost__deltas_follow_usage),
        cmocka_unit_test(test_cost__find_search_order),
        cmocka_unit_test(test_cost__out_of_memory),
        cmocka_unit_test(test_cost__budget_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
