/* fuzz_cost_model.c - libFuzzer target for the price sheet loader (cost_model_parse), and the
 * pricer over whatever sheet it accepts. Seeds: tests/fuzz/corpus/cost_model/. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cost.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cost_model *m = NULL;
    hx_err e = {0};
    int rc = cost_model_parse((const char *)data, size, "fuzz.json", &m, &e);
    if (rc) {
        /* Every rejection must carry a message naming the file. */
        if (strncmp(e.msg, "fuzz.json", 9) != 0) __builtin_trap();
        return 0;
    }
    cost_phase_usage ph[] = {{"ingest", 1.5, 2, 1 << 20, true},
                             {"solution", 30, 12.34, 1 << 28, false}};
    cost_usage probe = {.cpu_seconds = 90, .wall_seconds = 40, .input_records = 400000};
    cost_usage u = {.cpu_seconds = 31.5,
                    .wall_seconds = 14.34,
                    .peak_rss_bytes = 1 << 28,
                    .uses_db = true,
                    .db_cpu_steps_seconds = 12,
                    .db_storage_bytes = 123456789,
                    .uses_streaming = true,
                    .landing_bytes = 4567,
                    .egress_bytes = 1 << 30,
                    .kafka_bytes_in = 5000,
                    .kafka_bytes_out = 7000,
                    .kafka_partitions = 6,
                    .requests = 1000,
                    .input_records = 100000,
                    .correct_output_records = 99000,
                    .phases = ph,
                    .nphases = 2,
                    .probe = &probe};
    plan_scale sc = {.records_per_day = 1e7, .runs_per_day = 24};
    cost_breakdown b;
    if (cost_price(m, &u, &sc, &b, &e) == 0) {
        hx_buf out;
        hx_buf_init(&out);
        cost_breakdown_format(&b, &out);
        hx_buf_release(&out);
        cost_breakdown_release(&b);
    }
    cost_model_free(m);
    return 0;
}
