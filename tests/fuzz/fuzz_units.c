/* fuzz_units.c - libFuzzer target for the quantity parsers of units.h (durations, sizes, money,
 * percentages, thresholds, timestamps): no crash, no UB, and a success always yields a finite
 * value. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    double v;
    int64_t us;
    plan_op op;
    units_dim dim;
    hx_err e;
    if (units_duration(s, &v, &e) == 0 && !(isfinite(v) && v >= 0)) abort();
    units_duration_us(s, &us, &e);
    if (units_bytes(s, &v, &e) == 0 && !isfinite(v)) abort();
    if (units_money(s, &v, &e) == 0 && !isfinite(v)) abort();
    units_percent(s, &v, &e);
    if (units_threshold(s, &op, &v, &dim, &e) == 0 && (!isfinite(v) || op > PLAN_OP_EQ)) abort();
    units_value(s, &v, &dim, &e);
    units_timestamp(s, &us, &e);
    units_metric_dim(s);
    free(s);
    return 0;
}
