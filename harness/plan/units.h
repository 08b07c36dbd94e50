/* units.h - parsing the quantities scenario authors write as text: durations ("250ms", "1h30m"),
 * byte sizes ("64MB", "1GiB"), money ("$40", "40 usd"), percentages ("5%"), UTC timestamps
 * ("2026-01-01T00:00:00Z") and thresholds ("< 30s", ">= 0.99"), into base units: seconds, bytes,
 * USD, fractions, microseconds.
 *
 * Ownership: nothing is allocated; results go to caller-provided out-parameters. Every function
 * takes NUL-terminated text that may come from anywhere (it is fuzzed). */
#ifndef HX_UNITS_H
#define HX_UNITS_H

#include <stdint.h>

#include "plan.h"
#include "util.h"

/* The dimension a value was written in. PLAIN is a bare number. */
typedef enum units_dim {
    UNITS_PLAIN,    /* no unit */
    UNITS_DURATION, /* seconds */
    UNITS_BYTES,    /* bytes */
    UNITS_MONEY,    /* US dollars */
    UNITS_PERCENT   /* a fraction: "5%" is 0.05 */
} units_dim;

/* Parse a duration ("250ms", "2s", "1.5h", "48h", "1d", "1h30m"; units ns us ms s m min h d w)
 * into seconds. A unit is required; negative durations are refused. Returns 0 or HX_EUSAGE. */
int units_duration(const char *s, double *seconds, hx_err *e);
/* Like units_duration, in whole microseconds (rounded to nearest). */
int units_duration_us(const char *s, int64_t *us, hx_err *e);
/* Parse a byte size ("64MB" = 64e6, "1GiB" = 2^30, "512B", "2kB"); a bare number is bytes. */
int units_bytes(const char *s, double *bytes, hx_err *e);
/* Parse money in USD: "$40", "$ 1.5", "40 usd", "40USD"; a bare number is USD. */
int units_money(const char *s, double *usd, hx_err *e);
/* Parse a percentage "5%" (0.05) or a bare fraction "0.05". */
int units_percent(const char *s, double *frac, hx_err *e);
/* Parse any quantity, telling which dimension it was written in. */
int units_value(const char *s, double *v, units_dim *dim, hx_err *e);
/* Parse a threshold "< 30s", "<= 40", ">=0.99", "== 0" (ops < <= > >= ==): op, base-unit value
 * and the dimension of the value. */
int units_threshold(const char *s, plan_op *op, double *v, units_dim *dim, hx_err *e);
/* Parse an ISO 8601 UTC timestamp "YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+00:00)" or a date "YYYY-MM-DD"
 * into microseconds since the epoch. */
int units_timestamp(const char *s, int64_t *us, hx_err *e);

/* The dimension a metric name implies ("cost.*" money, "*latency*", "*.wall.*", "*lag*" duration,
 * "*rss*", "*bytes*" bytes), or UNITS_PLAIN when the name says nothing. */
units_dim units_metric_dim(const char *metric);
/* "duration", "bytes", ... for messages. */
const char *units_dim_name(units_dim d);
/* "<", "<=", ... */
const char *units_op_text(plan_op op);

#endif
