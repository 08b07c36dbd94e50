/* quality.c - the data-quality plugin: outliers on a numeric column (z-score, IQR), distribution
 * drift of a column between two batches (PSI or Kolmogorov-Smirnov), and a change of a column's
 * null rate between two batches. Heavy lifting stays in PostgreSQL where it can (aggregates,
 * percentiles); drift pulls the two batches' values and compares them here.
 *
 * Built and loaded exactly like an out-of-tree plugin: it includes only harness/plugin.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/plugin.h"

/* Every check needs the database; say so once, as an error (not a finding). */
static int need_sql(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    if (h->sql_query) return 1;
    h->report(ctx, HX_PLUGIN_ERROR, NULL, NULL, "this run has no database to check");
    return 0;
}

static int sql_error(const hx_plugin_host *h, hx_plugin_ctx *ctx, const char *what)
{
    h->report(ctx, HX_PLUGIN_ERROR, NULL, NULL, "%s: %s", what, h->last_error(ctx));
    return 0;
}

static double num(const hx_plugin_host *h, const hx_plugin_rows *r, size_t row, size_t col)
{
    const char *v = h->rows_value(r, row, col);
    return v ? strtod(v, NULL) : NAN;
}

/* Report the outliers found by sql (columns: key, value, score, total count). */
static int report_outliers(const hx_plugin_host *h, hx_plugin_ctx *ctx, const char *sql,
                           const char *param, const char *rule)
{
    const char *params[] = {param};
    hx_plugin_rows *r = h->sql_query(ctx, sql, 1, params);
    if (!r) return sql_error(h, ctx, "cannot look for outliers");
    size_t n = h->rows_count(r);
    double total = n ? num(h, r, 0, 3) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = h->rows_value(r, i, 0);
        h->sample(ctx, "%s: %s (%s %s)", k ? k : "NULL", h->rows_value(r, i, 1), rule,
                  h->rows_value(r, i, 2));
    }
    double max = h->param_number(ctx, "max_outliers", 0);
    char expected[64], actual[64];
    snprintf(expected, sizeof expected, "<= %g outliers", max);
    snprintf(actual, sizeof actual, "%g outliers", total);
    h->metric(ctx, "outliers", total, "");
    const char *table = h->param_string(ctx, "table", "");
    const char *column = h->param_string(ctx, "column", "");
    if (total <= max)
        h->report(ctx, HX_PLUGIN_PASS, expected, actual, "%s.%s: %g outliers", table, column,
                  total);
    else
        h->report(ctx, HX_PLUGIN_FAIL, expected, actual, "%s.%s has %g outliers", table, column,
                  total);
    return 0;
}

static int zscore_run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    if (!need_sql(h, ctx)) return 0;
    const char *t = h->quote_ident(ctx, h->param_string(ctx, "table", NULL));
    const char *c = h->quote_ident(ctx, h->param_string(ctx, "column", NULL));
    const char *k =
        h->quote_ident(ctx, h->param_string(ctx, "key", h->param_string(ctx, "column", NULL)));
    char threshold[64];
    snprintf(threshold, sizeof threshold, "%.17g", h->param_number(ctx, "threshold", 3));
    char sql[2048];
    snprintf(
        sql, sizeof sql,
        "with s as (select avg(%s::float8) m, stddev_pop(%s::float8) sd from %s) "
        "select %s::text, %s::float8, round((abs(%s::float8 - s.m) / s.sd)::numeric, 2), "
        "count(*) over () from %s, s where s.sd > 0 and abs(%s::float8 - s.m) > $1::float8 * s.sd "
        "order by abs(%s::float8 - s.m) desc, 1 limit 20",
        c, c, t, k, c, c, t, c, c);
    return report_outliers(h, ctx, sql, threshold, "z =");
}

static int iqr_run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    if (!need_sql(h, ctx)) return 0;
    const char *t = h->quote_ident(ctx, h->param_string(ctx, "table", NULL));
    const char *c = h->quote_ident(ctx, h->param_string(ctx, "column", NULL));
    const char *k =
        h->quote_ident(ctx, h->param_string(ctx, "key", h->param_string(ctx, "column", NULL)));
    char kf[64];
    snprintf(kf, sizeof kf, "%.17g", h->param_number(ctx, "k", 1.5));
    char sql[2048];
    snprintf(sql, sizeof sql,
             "with q as (select percentile_cont(0.25) within group (order by %s::float8) q1, "
             "percentile_cont(0.75) within group (order by %s::float8) q3 from %s), "
             "b as (select q1 - $1::float8 * (q3 - q1) lo, q3 + $1::float8 * (q3 - q1) hi from q) "
             "select %s::text, %s::float8, case when %s::float8 < b.lo then '< ' || b.lo "
             "else '> ' || b.hi end, count(*) over () from %s, b "
             "where %s::float8 < b.lo or %s::float8 > b.hi order by 1 limit 20",
             c, c, t, k, c, c, t, c, c);
    return report_outliers(h, ctx, sql, kf, "outside IQR fence");
}

/* The non-null values of column in one batch, sorted ascending; NULL on error (reported). */
static double *batch_values(const hx_plugin_host *h, hx_plugin_ctx *ctx, const char *batch,
                            size_t *n)
{
    const char *t = h->quote_ident(ctx, h->param_string(ctx, "table", NULL));
    const char *c = h->quote_ident(ctx, h->param_string(ctx, "column", NULL));
    const char *b = h->quote_ident(ctx, h->param_string(ctx, "batch_column", NULL));
    char sql[1024];
    snprintf(sql, sizeof sql,
             "select %s::float8 from %s where %s::text = $1 and %s is not null order by 1", c, t, b,
             c);
    const char *params[] = {batch};
    hx_plugin_rows *r = h->sql_query(ctx, sql, 1, params);
    if (!r) {
        sql_error(h, ctx, "cannot read a batch");
        return NULL;
    }
    *n = h->rows_count(r);
    if (*n == 0) {
        h->report(ctx, HX_PLUGIN_ERROR, NULL, NULL, "batch '%s' has no non-null values to compare",
                  batch);
        h->rows_free(ctx, r);
        return NULL;
    }
    double *v = malloc(*n * sizeof *v);
    if (!v) {
        h->report(ctx, HX_PLUGIN_ERROR, NULL, NULL, "out of memory");
        h->rows_free(ctx, r);
        return NULL;
    }
    for (size_t i = 0; i < *n; i++)
        v[i] = num(h, r, i, 0);
    h->rows_free(ctx, r);
    return v;
}

/* Number of values in sorted v[0..n) strictly below x. */
static size_t below(const double *v, size_t n, double x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Population stability index over bins cut at the baseline's quantiles. */
static double psi(const double *b, size_t nb, const double *c, size_t nc, int bins)
{
    double total = 0, prev_edge = -INFINITY;
    size_t pb = 0, pc = 0;
    for (int i = 1; i <= bins; i++) {
        double edge = i == bins ? INFINITY : b[(size_t)((double)i * nb / bins)];
        if (edge <= prev_edge && i < bins) continue; /* tied quantiles: merge the bins */
        size_t cb = i == bins ? nb : below(b, nb, edge);
        size_t cc = i == bins ? nc : below(c, nc, edge);
        double fb = fmax((double)(cb - pb) / nb, 1e-4), fc = fmax((double)(cc - pc) / nc, 1e-4);
        total += (fc - fb) * log(fc / fb);
        pb = cb;
        pc = cc;
        prev_edge = edge;
    }
    return total;
}

/* Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical CDFs. */
static double ks(const double *b, size_t nb, const double *c, size_t nc)
{
    size_t i = 0, j = 0;
    double d = 0;
    while (i < nb && j < nc) {
        double x = b[i] < c[j] ? b[i] : c[j];
        while (i < nb && b[i] <= x)
            i++;
        while (j < nc && c[j] <= x)
            j++;
        d = fmax(d, fabs((double)i / nb - (double)j / nc));
    }
    return d;
}

static int drift_run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    if (!need_sql(h, ctx)) return 0;
    const char *method = h->param_string(ctx, "method", "psi");
    int is_ks = strcmp(method, "ks") == 0;
    if (!is_ks && strcmp(method, "psi") != 0) {
        h->report(ctx, HX_PLUGIN_ERROR, NULL, NULL, "unknown method '%s': use \"psi\" or \"ks\"",
                  method);
        return 0;
    }
    double threshold = h->param_number(ctx, "threshold", is_ks ? 0.1 : 0.2);
    int bins = (int)h->param_number(ctx, "bins", 10);
    if (bins < 2 || bins > 1000) {
        h->report(ctx, HX_PLUGIN_ERROR, NULL, NULL, "bins must be between 2 and 1000");
        return 0;
    }
    const char *base = h->param_string(ctx, "baseline", NULL);
    const char *cur = h->param_string(ctx, "current", NULL);
    size_t nb = 0, nc = 0;
    double *b = batch_values(h, ctx, base, &nb);
    double *c = b ? batch_values(h, ctx, cur, &nc) : NULL;
    if (!c) {
        free(b);
        return 0;
    }
    double stat = is_ks ? ks(b, nb, c, nc) : psi(b, nb, c, nc, bins);
    free(b);
    free(c);
    h->metric(ctx, is_ks ? "ks" : "psi", stat, "");
    char expected[64], actual[64];
    snprintf(expected, sizeof expected, "%s < %g", is_ks ? "ks" : "psi", threshold);
    snprintf(actual, sizeof actual, "%s = %.4f", is_ks ? "ks" : "psi", stat);
    const char *column = h->param_string(ctx, "column", "");
    if (stat < threshold)
        h->report(ctx, HX_PLUGIN_PASS, expected, actual,
                  "%s: batch '%s' matches batch '%s' (%zu vs %zu values)", column, cur, base, nc,
                  nb);
    else
        h->report(ctx, HX_PLUGIN_FAIL, expected, actual,
                  "%s drifted from batch '%s' to batch '%s' (%zu vs %zu values)", column, base, cur,
                  nb, nc);
    return 0;
}

static int null_rate_run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    if (!need_sql(h, ctx)) return 0;
    const char *t = h->quote_ident(ctx, h->param_string(ctx, "table", NULL));
    const char *c = h->quote_ident(ctx, h->param_string(ctx, "column", NULL));
    const char *bc = h->quote_ident(ctx, h->param_string(ctx, "batch_column", NULL));
    const char *base = h->param_string(ctx, "baseline", NULL);
    const char *cur = h->param_string(ctx, "current", NULL);
    char sql[1024];
    snprintf(sql, sizeof sql,
             "select %s::text = $1, avg(case when %s is null then 1.0 else 0.0 end)::float8, "
             "count(*) from %s where %s::text in ($1, $2) group by 1",
             bc, c, t, bc);
    const char *params[] = {base, cur};
    hx_plugin_rows *r = h->sql_query(ctx, sql, 2, params);
    if (!r) return sql_error(h, ctx, "cannot compute null rates");
    double rb = NAN, rc = NAN;
    for (size_t i = 0; i < h->rows_count(r); i++) {
        const char *isb = h->rows_value(r, i, 0);
        if (isb && isb[0] == 't')
            rb = num(h, r, i, 1);
        else
            rc = num(h, r, i, 1);
    }
    if (strcmp(base, cur) == 0) rc = rb;
    if (isnan(rb) || isnan(rc)) {
        h->report(ctx, HX_PLUGIN_ERROR, NULL, NULL, "batch '%s' has no rows",
                  isnan(rb) ? base : cur);
        return 0;
    }
    double max = h->param_number(ctx, "max_change", 0.05);
    double d = rc - rb;
    char expected[64], actual[96];
    snprintf(expected, sizeof expected, "|change| <= %g", max);
    snprintf(actual, sizeof actual, "%.4f -> %.4f (%+.4f)", rb, rc, d);
    h->metric(ctx, "null_rate_change", d, "");
    const char *column = h->param_string(ctx, "column", "");
    if (fabs(d) <= max)
        h->report(ctx, HX_PLUGIN_PASS, expected, actual, "%s null rate is stable", column);
    else
        h->report(ctx, HX_PLUGIN_FAIL, expected, actual,
                  "%s null rate changed from %.2f%% in batch '%s' to %.2f%% in batch '%s'", column,
                  rb * 100, base, rc * 100, cur);
    return 0;
}

static const hx_plugin_param_spec zscore_params[] = {
    {"table", HX_PARAM_STRING, 1, "table to scan"},
    {"column", HX_PARAM_STRING, 1, "numeric column"},
    {"key", HX_PARAM_STRING, 0, "column that identifies a row in samples (default: column)"},
    {"threshold", HX_PARAM_NUMBER, 0, "|z| above this is an outlier (default 3)"},
    {"max_outliers", HX_PARAM_NUMBER, 0, "most outliers that still pass (default 0)"},
};

static const hx_plugin_param_spec iqr_params[] = {
    {"table", HX_PARAM_STRING, 1, "table to scan"},
    {"column", HX_PARAM_STRING, 1, "numeric column"},
    {"key", HX_PARAM_STRING, 0, "column that identifies a row in samples (default: column)"},
    {"k", HX_PARAM_NUMBER, 0, "fence multiplier: outside [Q1 - k*IQR, Q3 + k*IQR] (default 1.5)"},
    {"max_outliers", HX_PARAM_NUMBER, 0, "most outliers that still pass (default 0)"},
};

static const hx_plugin_param_spec drift_params[] = {
    {"table", HX_PARAM_STRING, 1, "table holding both batches"},
    {"column", HX_PARAM_STRING, 1, "numeric column to compare"},
    {"batch_column", HX_PARAM_STRING, 1, "column telling the batches apart"},
    {"baseline", HX_PARAM_STRING, 1, "batch_column value of the reference batch (as text)"},
    {"current", HX_PARAM_STRING, 1, "batch_column value of the batch under test (as text)"},
    {"method", HX_PARAM_STRING, 0, "\"psi\" (default) or \"ks\""},
    {"threshold", HX_PARAM_NUMBER, 0, "fail at or above this (default psi 0.2, ks 0.1)"},
    {"bins", HX_PARAM_NUMBER, 0, "PSI bins, cut at baseline quantiles (default 10)"},
};

static const hx_plugin_param_spec null_params[] = {
    {"table", HX_PARAM_STRING, 1, "table holding both batches"},
    {"column", HX_PARAM_STRING, 1, "column whose null rate is watched"},
    {"batch_column", HX_PARAM_STRING, 1, "column telling the batches apart"},
    {"baseline", HX_PARAM_STRING, 1, "batch_column value of the reference batch (as text)"},
    {"current", HX_PARAM_STRING, 1, "batch_column value of the batch under test (as text)"},
    {"max_change", HX_PARAM_NUMBER, 0,
     "largest absolute change of the null fraction (default 0.05)"},
};

static const hx_plugin_check checks[] = {
    {"zscore_outliers",
     "rows whose value is more than `threshold` standard deviations from the mean", zscore_params,
     5, zscore_run},
    {"iqr_outliers", "rows outside [Q1 - k*IQR, Q3 + k*IQR]", iqr_params, 5, iqr_run},
    {"drift", "distribution drift of a column between two batches (PSI or KS)", drift_params, 8,
     drift_run},
    {"null_rate_change", "change of a column's null fraction between two batches", null_params, 6,
     null_rate_run},
};

static const hx_plugin_descriptor descriptor = {
    HX_PLUGIN_DESCRIPTOR_HEAD, .name = "quality",
    .version = "1.0.0",        .description = "data quality: outliers, drift and null-rate change",
    .checks = checks,          .n_checks = sizeof checks / sizeof checks[0],
};

HX_PLUGIN_EXPORT const hx_plugin_descriptor *harness_plugin_entry(void)
{
    return &descriptor;
}
