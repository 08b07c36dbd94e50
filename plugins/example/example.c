/* example.c - the smallest useful harness validator plugin, for authors to copy.
 *
 * It offers one check, min_rows: "table T has at least N rows". In a scenario:
 *
 *     checks = { plugin "example".min_rows { table = "fct_orders", min = 1000 } }
 *
 * Build it out of tree (see meson.build beside this file and docs/plugins.md):
 *     meson setup build && ninja -C build        # makes build/example.so
 *     harness run ... --plugin-path build
 *
 * The rules it shows: include only <harness/plugin.h>; keep everything static except the entry
 * function; test optional host services for NULL; report exactly one verdict with expected and
 * actual; quote every name you put into SQL with host->quote_ident. */
#include <stdio.h>
#include <stdlib.h>

#include <harness/plugin.h>

static int min_rows_run(const hx_plugin_host *host, hx_plugin_ctx *ctx)
{
    if (!host->sql_query) {
        host->report(ctx, HX_PLUGIN_ERROR, NULL, NULL, "this run has no database");
        return 0;
    }
    const char *table = host->param_string(ctx, "table", NULL); /* required: never NULL */
    double min = host->param_number(ctx, "min", 1);

    char sql[512];
    snprintf(sql, sizeof sql, "select count(*) from %s", host->quote_ident(ctx, table));
    hx_plugin_rows *rows = host->sql_query(ctx, sql, 0, NULL);
    if (!rows) {
        /* an error is "could not check", not "the solution is wrong" */
        host->report(ctx, HX_PLUGIN_ERROR, NULL, NULL, "cannot count %s: %s", table,
                     host->last_error(ctx));
        return 0;
    }
    double n = strtod(host->rows_value(rows, 0, 0), NULL);
    host->metric(ctx, "rows", n, "");

    char expected[64], actual[64];
    snprintf(expected, sizeof expected, ">= %.0f", min);
    snprintf(actual, sizeof actual, "%.0f", n);
    if (n >= min)
        host->report(ctx, HX_PLUGIN_PASS, expected, actual, "%s has %.0f rows", table, n);
    else
        host->report(ctx, HX_PLUGIN_FAIL, expected, actual, "%s has %.0f rows, %.0f short", table,
                     n, min - n);
    return 0;
}

/* Declared parameters: `harness check` validates scenarios against these before any run. */
static const hx_plugin_param_spec min_rows_params[] = {
    {"table", HX_PARAM_STRING, 1, "the table to count, optionally schema-qualified"},
    {"min", HX_PARAM_NUMBER, 0, "the least number of rows that passes (default 1)"},
};

static const hx_plugin_check checks[] = {
    {"min_rows", "a table has at least `min` rows", min_rows_params, 2, min_rows_run},
};

static const hx_plugin_descriptor descriptor = {
    HX_PLUGIN_DESCRIPTOR_HEAD, /* ABI version and struct sizes of the header we compile against */
    .name = "example",         /* must equal the file name: example.so */
    .version = "1.0.0",        .description = "a documented example: row count at least N",
    .checks = checks,          .n_checks = sizeof checks / sizeof checks[0],
};

HX_PLUGIN_EXPORT const hx_plugin_descriptor *harness_plugin_entry(void)
{
    return &descriptor;
}
