/* star_schema.c - the star-schema plugin: a fact table's grain (no two rows share the grain key),
 * orphan foreign keys (fact keys with no row in the dimension) and SCD type 2 validity (one current
 * version per key, versions that neither overlap nor leave gaps, no empty ranges). Every check is
 * one or two SQL statements; the plugin only builds them with quoted names and reports.
 *
 * Built and loaded exactly like an out-of-tree plugin: it includes only harness/plugin.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/plugin.h"

#define SQL_MAX 8192

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

/* Append a comma-separated list of quoted key columns to buf, each wrapped as fmt ("%s" or
 * "%s::text"); returns 0 when the list is empty or does not fit. */
static int key_list(const hx_plugin_host *h, hx_plugin_ctx *ctx, const char *param, const char *fmt,
                    const char *sep, char *buf, size_t len)
{
    size_t n = h->param_list_len(ctx, param);
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        char one[512];
        snprintf(one, sizeof one, fmt, h->quote_ident(ctx, h->param_list_item(ctx, param, i)));
        int w = snprintf(buf + used, len - used, "%s%s", i ? sep : "", one);
        if (w < 0 || (size_t)w >= len - used) return 0;
        used += (size_t)w;
    }
    return n > 0;
}

static double num(const hx_plugin_host *h, const hx_plugin_rows *r, size_t row, size_t col)
{
    const char *v = h->rows_value(r, row, col);
    return v ? strtod(v, NULL) : 0;
}

static int fact_grain_run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    if (!need_sql(h, ctx)) return 0;
    const char *table = h->param_string(ctx, "table", NULL);
    char keys[2048], label[2048];
    if (!key_list(h, ctx, "keys", "%s", ", ", keys, sizeof keys) ||
        !key_list(h, ctx, "keys", "coalesce(%s::text, 'NULL')", " || ', ' || ", label,
                  sizeof label)) {
        h->report(ctx, HX_PLUGIN_ERROR, NULL, NULL, "keys must name at least one column");
        return 0;
    }
    char sql[SQL_MAX];
    snprintf(sql, sizeof sql,
             "select %s, count(*), count(*) over (), sum(count(*)) over () from %s group by %s "
             "having count(*) > 1 order by count(*) desc, 1 limit 20",
             label, h->quote_ident(ctx, table), keys);
    hx_plugin_rows *r = h->sql_query(ctx, sql, 0, NULL);
    if (!r) return sql_error(h, ctx, "cannot check the grain");
    size_t n = h->rows_count(r);
    double groups = n ? num(h, r, 0, 2) : 0, rows = n ? num(h, r, 0, 3) : 0;
    for (size_t i = 0; i < n; i++)
        h->sample(ctx, "%s: %s rows", h->rows_value(r, i, 0), h->rows_value(r, i, 1));
    h->metric(ctx, "duplicate_keys", groups, "");
    char actual[96];
    /* rows counts the rows of duplicated keys only: "(0 rows)" on a passing table read as an
     * empty table, so the count is said only when there are duplicates. */
    if (groups == 0)
        snprintf(actual, sizeof actual, "0 duplicated keys");
    else
        snprintf(actual, sizeof actual, "%g duplicated keys over %g rows", groups, rows);
    if (groups == 0)
        h->report(ctx, HX_PLUGIN_PASS, "0 duplicated keys", actual, "%s has one row per grain key",
                  table);
    else
        h->report(ctx, HX_PLUGIN_FAIL, "0 duplicated keys", actual,
                  "%s breaks its grain: %g keys appear more than once", table, groups);
    return 0;
}

static int orphan_keys_run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    if (!need_sql(h, ctx)) return 0;
    const char *table = h->param_string(ctx, "table", NULL);
    const char *column = h->param_string(ctx, "column", NULL);
    const char *dim = h->param_string(ctx, "dimension", NULL);
    const char *dkey = h->param_string(ctx, "dimension_key", column);
    int nulls = h->param_bool(ctx, "nulls_are_orphans", 0);
    const char *c = h->quote_ident(ctx, column);
    char notnull[600] = "";
    if (!nulls) snprintf(notnull, sizeof notnull, "f.%s is not null and", c);
    char sql[SQL_MAX];
    snprintf(sql, sizeof sql,
             "select coalesce(f.%s::text, 'NULL'), count(*), count(*) over (), "
             "sum(count(*)) over () from %s f where %s not exists (select 1 from %s d "
             "where d.%s = f.%s) group by f.%s order by count(*) desc, 1 limit 20",
             c, h->quote_ident(ctx, table), notnull, h->quote_ident(ctx, dim),
             h->quote_ident(ctx, dkey), c, c);
    hx_plugin_rows *r = h->sql_query(ctx, sql, 0, NULL);
    if (!r) return sql_error(h, ctx, "cannot look for orphan keys");
    size_t n = h->rows_count(r);
    double keys = n ? num(h, r, 0, 2) : 0, rows = n ? num(h, r, 0, 3) : 0;
    for (size_t i = 0; i < n; i++)
        h->sample(ctx, "%s = %s: %s rows", column, h->rows_value(r, i, 0), h->rows_value(r, i, 1));
    h->metric(ctx, "orphan_rows", rows, "");
    char actual[96];
    if (keys == 0)
        snprintf(actual, sizeof actual, "0 orphan keys");
    else
        snprintf(actual, sizeof actual, "%g orphan keys in %g rows", keys, rows);
    if (keys == 0)
        h->report(ctx, HX_PLUGIN_PASS, "0 orphan keys", actual, "every %s.%s is in %s", table,
                  column, dim);
    else
        h->report(ctx, HX_PLUGIN_FAIL, "0 orphan keys", actual,
                  "%g rows of %s point at %g %s values missing from %s", rows, table, keys, column,
                  dim);
    return 0;
}

static int scd2_run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    if (!need_sql(h, ctx)) return 0;
    const char *table = h->param_string(ctx, "table", NULL);
    char keys[2048], label[2048];
    if (!key_list(h, ctx, "keys", "%s", ", ", keys, sizeof keys) ||
        !key_list(h, ctx, "keys", "coalesce(%s::text, 'NULL')", " || ', ' || ", label,
                  sizeof label)) {
        h->report(ctx, HX_PLUGIN_ERROR, NULL, NULL, "keys must name at least one column");
        return 0;
    }
    const char *vf = h->quote_ident(ctx, h->param_string(ctx, "valid_from", "valid_from"));
    const char *vt = h->quote_ident(ctx, h->param_string(ctx, "valid_to", "valid_to"));
    const char *flag = h->param_string(ctx, "current_flag", NULL);
    char cur[600];
    if (flag)
        snprintf(cur, sizeof cur, "coalesce(%s, false)", h->quote_ident(ctx, flag));
    else
        snprintf(cur, sizeof cur, "(%s is null)", vt);
    int allow_none = h->param_bool(ctx, "allow_no_current", 0);
    /* One row per violation: kind, key, and two details. A current version is the open-ended one
     * (valid_to NULL) unless the table keeps a flag. */
    char sql[SQL_MAX];
    snprintf(sql, sizeof sql,
             "with r as (select %s as k, %s as vf, %s as vt, %s as cur, "
             "lead(%s) over (partition by %s order by %s, %s nulls last) as nf from %s), "
             "v as ("
             "select 'empty_range' kind, k, vf::text a, vt::text b from r "
             "where vt is not null and vt <= vf "
             "union all select 'overlap', k, vf::text || ' .. ' || coalesce(vt::text, 'open'), "
             "nf::text from r where nf is not null and (vt is null or nf < vt) "
             "union all select 'gap', k, vt::text, nf::text from r where nf is not null and "
             "vt is not null and nf > vt "
             "union all select 'multiple_current', k, count(*)::text, null from r where cur "
             "group by k having count(*) > 1 "
             "%s) "
             "select kind, k, a, b, count(*) over (partition by kind), count(*) over () from v "
             "order by kind, k, a limit 20",
             label, vf, vt, cur, vf, keys, vf, vt, h->quote_ident(ctx, table),
             allow_none ? ""
                        : "union all select 'no_current', k, null, null from r group by k "
                          "having count(*) filter (where cur) = 0");
    hx_plugin_rows *r = h->sql_query(ctx, sql, 0, NULL);
    if (!r) return sql_error(h, ctx, "cannot check SCD2 validity");
    size_t n = h->rows_count(r);
    double total = n ? num(h, r, 0, 5) : 0;
    char summary[512] = "";
    const char *last = "";
    for (size_t i = 0; i < n; i++) {
        const char *kind = h->rows_value(r, i, 0), *a = h->rows_value(r, i, 2),
                   *b = h->rows_value(r, i, 3);
        if (strcmp(kind, last) != 0) {
            size_t u = strlen(summary);
            snprintf(summary + u, sizeof summary - u, "%s%s %s", u ? ", " : "",
                     h->rows_value(r, i, 4), kind);
            last = kind;
        }
        if (strcmp(kind, "overlap") == 0)
            h->sample(ctx, "%s: overlap, version %s overlaps the next from %s",
                      h->rows_value(r, i, 1), a, b);
        else if (strcmp(kind, "gap") == 0)
            h->sample(ctx, "%s: gap from %s to %s", h->rows_value(r, i, 1), a, b);
        else if (strcmp(kind, "empty_range") == 0)
            h->sample(ctx, "%s: empty_range [%s, %s)", h->rows_value(r, i, 1), a, b);
        else if (strcmp(kind, "multiple_current") == 0)
            h->sample(ctx, "%s: multiple_current, %s current versions", h->rows_value(r, i, 1), a);
        else
            h->sample(ctx, "%s: no_current version", h->rows_value(r, i, 1));
    }
    h->metric(ctx, "scd2_violations", total, "");
    char actual[600];
    snprintf(actual, sizeof actual, "%g violations%s%s%s", total, n ? " (" : "", summary,
             n ? ")" : "");
    if (total == 0)
        h->report(ctx, HX_PLUGIN_PASS, "0 violations", actual, "%s is a valid SCD type 2 table",
                  table);
    else
        h->report(ctx, HX_PLUGIN_FAIL, "0 violations", actual,
                  "%s breaks SCD type 2 validity in %g places", table, total);
    return 0;
}

static const hx_plugin_param_spec grain_params[] = {
    {"table", HX_PARAM_STRING, 1, "the fact table"},
    {"keys", HX_PARAM_STRING_LIST, 1, "the columns that make up the grain"},
};

static const hx_plugin_param_spec orphan_params[] = {
    {"table", HX_PARAM_STRING, 1, "the fact table"},
    {"column", HX_PARAM_STRING, 1, "the foreign key column in the fact table"},
    {"dimension", HX_PARAM_STRING, 1, "the dimension table"},
    {"dimension_key", HX_PARAM_STRING, 0, "the key column in the dimension (default: column)"},
    {"nulls_are_orphans", HX_PARAM_BOOL, 0, "count NULL foreign keys as orphans (default false)"},
};

static const hx_plugin_param_spec scd2_params[] = {
    {"table", HX_PARAM_STRING, 1, "the SCD type 2 dimension table"},
    {"keys", HX_PARAM_STRING_LIST, 1, "the natural (business) key columns"},
    {"valid_from", HX_PARAM_STRING, 0,
     "start of a version's validity, inclusive (default valid_from)"},
    {"valid_to", HX_PARAM_STRING, 0,
     "end of validity, exclusive, NULL while current (default valid_to)"},
    {"current_flag", HX_PARAM_STRING, 0,
     "boolean column marking the current version (default: valid_to is NULL)"},
    {"allow_no_current", HX_PARAM_BOOL, 0,
     "a key may have no current version, e.g. deleted (default false)"},
};

static const hx_plugin_check checks[] = {
    {"fact_grain", "no two fact rows share the grain key", grain_params, 2, fact_grain_run},
    {"orphan_keys", "every foreign key of the fact exists in the dimension", orphan_params, 5,
     orphan_keys_run},
    {"scd2", "SCD type 2 validity: one current version per key, no overlaps, gaps or empty ranges",
     scd2_params, 6, scd2_run},
};

static const hx_plugin_descriptor descriptor = {
    HX_PLUGIN_DESCRIPTOR_HEAD,
    .name = "star_schema",
    .version = "1.0.0",
    .description = "star schema: fact grain, orphan keys, SCD type 2 validity",
    .checks = checks,
    .n_checks = sizeof checks / sizeof checks[0],
};

HX_PLUGIN_EXPORT const hx_plugin_descriptor *harness_plugin_entry(void)
{
    return &descriptor;
}
