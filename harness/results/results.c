/* results.c - see results.h. The field tables at the top are the single description of the
 * model; free and equality walk them, and so does runjson.c. */
#include "results.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

_Static_assert(sizeof(results_status) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(results_severity) == sizeof(int), "enums are stored as int");

const char *const results_status_names[] = {"pass", "fail", "error", "skip", "threshold", NULL};
const char *const results_severity_names[] = {"error", "warn", NULL};

const char *results_status_name(results_status s)
{
    return (unsigned)s <= RESULTS_THRESHOLD ? results_status_names[s] : "?";
}

/* ---- field tables ---- */

#define F(S, f, T)                                                                                 \
    {                                                                                              \
#f, T, offsetof(S, f), 0, NULL, NULL                                                       \
    }
#define FN(S, key, f, T)                                                                           \
    {                                                                                              \
        key, T, offsetof(S, f), 0, NULL, NULL                                                      \
    }
#define FE(S, f, names)                                                                            \
    {                                                                                              \
#f, RESULTS_F_ENUM, offsetof(S, f), 0, NULL, names                                         \
    }
#define FV(S, f)                                                                                   \
    {                                                                                              \
#f, RESULTS_F_STRV, offsetof(S, f), offsetof(S, n##f), NULL, NULL                          \
    }
#define FA(S, f, sub)                                                                              \
    {                                                                                              \
#f, RESULTS_F_ARRAY, offsetof(S, f), offsetof(S, n##f), &sub, NULL                         \
    }
#define FS(S, f, sub)                                                                              \
    {                                                                                              \
#f, RESULTS_F_STRUCT, offsetof(S, f), 0, &sub, NULL                                        \
    }
#define TYPE(S, tbl)                                                                               \
    {                                                                                              \
#S, sizeof(S), tbl, sizeof tbl / sizeof tbl[0], false                                      \
    }

static const results_field row_fields[] = {
    {"cells", RESULTS_F_STRV, offsetof(results_row, cells), offsetof(results_row, ncells), NULL,
     NULL},
};
static const results_type row_type = {"results_row", sizeof(results_row), row_fields, 1, true};

static const results_field table_fields[] = {
    FV(results_table, columns),
    {"rows", RESULTS_F_ARRAY, offsetof(results_table, rows), offsetof(results_table, nrows),
     &row_type, NULL},
};
static const results_type table_type = TYPE(results_table, table_fields);

static const results_field count_fields[] = {
    F(results_count, name, RESULTS_F_STR),
    F(results_count, value, RESULTS_F_I64),
};
static const results_type count_type = TYPE(results_count, count_fields);

static const results_field check_fields[] = {
    F(results_check, name, RESULTS_F_STR),
    F(results_check, kind, RESULTS_F_STR),
    FE(results_check, severity, results_severity_names),
    FE(results_check, status, results_status_names),
    F(results_check, expected, RESULTS_F_STR),
    F(results_check, actual, RESULTS_F_STR),
    F(results_check, message, RESULTS_F_STR),
    F(results_check, where, RESULTS_F_STR),
    F(results_check, duration_s, RESULTS_F_F64),
    FS(results_check, samples, table_type),
    FA(results_check, counts, count_type),
};
static const results_type check_type = TYPE(results_check, check_fields);

static const results_field threshold_fields[] = {
    F(results_threshold, metric, RESULTS_F_STR),
    F(results_threshold, op, RESULTS_F_STR),
    F(results_threshold, limit, RESULTS_F_F64),
    F(results_threshold, actual, RESULTS_F_F64),
    F(results_threshold, unit, RESULTS_F_STR),
    FE(results_threshold, status, results_status_names),
    F(results_threshold, where, RESULTS_F_STR),
    F(results_threshold, explain, RESULTS_F_STR),
    F(results_threshold, note, RESULTS_F_STR),
};
static const results_type threshold_type = TYPE(results_threshold, threshold_fields);

static const results_field metric_fields[] = {
    F(results_metric, name, RESULTS_F_STR),
    F(results_metric, value, RESULTS_F_F64),
    F(results_metric, unit, RESULTS_F_STR),
};
static const results_type metric_type = TYPE(results_metric, metric_fields);

static const results_field hist_fields[] = {
    F(results_hist, name, RESULTS_F_STR),    F(results_hist, unit, RESULTS_F_STR),
    F(results_hist, encoded, RESULTS_F_STR), F(results_hist, count, RESULTS_F_I64),
    F(results_hist, min, RESULTS_F_F64),     F(results_hist, max, RESULTS_F_F64),
    F(results_hist, mean, RESULTS_F_F64),    F(results_hist, p50, RESULTS_F_F64),
    F(results_hist, p90, RESULTS_F_F64),     F(results_hist, p99, RESULTS_F_F64),
    F(results_hist, p999, RESULTS_F_F64),
};
static const results_type hist_type = TYPE(results_hist, hist_fields);

static const results_field invocation_fields[] = {
    F(results_invocation, batch, RESULTS_F_INT),
    F(results_invocation, exit_code, RESULTS_F_INT),
    F(results_invocation, signal, RESULTS_F_STR),
    F(results_invocation, timed_out, RESULTS_F_BOOL),
    F(results_invocation, wall_s, RESULTS_F_F64),
    F(results_invocation, cpu_user_s, RESULTS_F_F64),
    F(results_invocation, cpu_sys_s, RESULTS_F_F64),
    F(results_invocation, peak_rss_bytes, RESULTS_F_I64),
    F(results_invocation, stdout_tail, RESULTS_F_STR),
    F(results_invocation, stderr_tail, RESULTS_F_STR),
    F(results_invocation, leftovers, RESULTS_F_INT),
    F(results_invocation, isolation, RESULTS_F_STR),
};
static const results_type invocation_type = TYPE(results_invocation, invocation_fields);

static const results_field point_fields[] = {
    F(results_res_point, t_s, RESULTS_F_F64),
    F(results_res_point, cpu_pct, RESULTS_F_F64),
    F(results_res_point, rss_bytes, RESULTS_F_I64),
};
static const results_type point_type = TYPE(results_res_point, point_fields);

static const results_field tl_point_fields[] = {
    F(results_tl_point, t_s, RESULTS_F_F64),   F(results_tl_point, in, RESULTS_F_I64),
    F(results_tl_point, out, RESULTS_F_I64),   F(results_tl_point, matched, RESULTS_F_I64),
    F(results_tl_point, p99_s, RESULTS_F_F64), F(results_tl_point, p99_uncorr_s, RESULTS_F_F64),
};
static const results_type tl_point_type = TYPE(results_tl_point, tl_point_fields);

static const results_field resources_fields[] = {
    F(results_resources, source, RESULTS_F_STR),
    F(results_resources, cpu_user_s, RESULTS_F_F64),
    F(results_resources, cpu_sys_s, RESULTS_F_F64),
    F(results_resources, peak_rss_bytes, RESULTS_F_I64),
    F(results_resources, mean_rss_bytes, RESULTS_F_I64),
    F(results_resources, read_bytes, RESULTS_F_I64),
    F(results_resources, write_bytes, RESULTS_F_I64),
    FA(results_resources, series, point_type),
};
static const results_type resources_type = TYPE(results_resources, resources_fields);

static const results_field cost_line_fields[] = {
    F(results_cost_line, component, RESULTS_F_STR), F(results_cost_line, quantity, RESULTS_F_F64),
    F(results_cost_line, unit, RESULTS_F_STR),      F(results_cost_line, unit_price, RESULTS_F_F64),
    F(results_cost_line, cost, RESULTS_F_F64),      F(results_cost_line, note, RESULTS_F_STR),
    F(results_cost_line, kind, RESULTS_F_STR),      F(results_cost_line, monthly, RESULTS_F_F64),
};
static const results_type cost_line_type = TYPE(results_cost_line, cost_line_fields);

static const results_field phase_cost_fields[] = {
    F(results_phase_cost, name, RESULTS_F_STR),
    F(results_phase_cost, cost, RESULTS_F_F64),
    F(results_phase_cost, slope, RESULTS_F_F64),
};
static const results_type phase_cost_type = TYPE(results_phase_cost, phase_cost_fields);

static const results_field cost_fit_fields[] = {
    F(results_cost_fit, name, RESULTS_F_STR),       F(results_cost_fit, measured, RESULTS_F_F64),
    F(results_cost_fit, probe, RESULTS_F_F64),      F(results_cost_fit, fixed, RESULTS_F_F64),
    F(results_cost_fit, per_record, RESULTS_F_F64), F(results_cost_fit, projected, RESULTS_F_F64),
    F(results_cost_fit, slope, RESULTS_F_F64),
};
static const results_type cost_fit_type = TYPE(results_cost_fit, cost_fit_fields);

static const results_field cost_fields[] = {
    F(results_cost, model, RESULTS_F_STR),
    F(results_cost, currency, RESULTS_F_STR),
    FA(results_cost, lines, cost_line_type),
    F(results_cost, per_run_total, RESULTS_F_F64),
    F(results_cost, monthly_total, RESULTS_F_F64),
    F(results_cost, monthly_fixed, RESULTS_F_F64),
    F(results_cost, monthly_variable, RESULTS_F_F64),
    F(results_cost, per_million_input, RESULTS_F_F64),
    F(results_cost, per_correct_output, RESULTS_F_F64),
    F(results_cost, records_per_run, RESULTS_F_F64),
    F(results_cost, runs_per_month, RESULTS_F_F64),
    F(results_cost, scale_factor, RESULTS_F_F64),
    F(results_cost, fit, RESULTS_F_STR),
    F(results_cost, db_class, RESULTS_F_STR),
    F(results_cost, db_reason, RESULTS_F_STR),
    FA(results_cost, fits, cost_fit_type),
    FA(results_cost, phases, phase_cost_type),
};
static const results_type cost_type = TYPE(results_cost, cost_fields);

static const results_field component_fields[] = {
    F(results_component, name, RESULTS_F_STR),
    F(results_component, value, RESULTS_F_F64),
    F(results_component, weight, RESULTS_F_F64),
};
static const results_type component_type = TYPE(results_component, component_fields);

static const results_field score_fields[] = {
    F(results_score, scored, RESULTS_F_BOOL),
    F(results_score, value, RESULTS_F_F64),
    FA(results_score, components, component_type),
};
static const results_type score_type = TYPE(results_score, score_fields);

static const results_field scenario_fields[] = {
    F(results_scenario, name, RESULTS_F_STR),
    F(results_scenario, file, RESULTS_F_STR),
    F(results_scenario, phase, RESULTS_F_INT),
    FV(results_scenario, tags),
    FE(results_scenario, status, results_status_names),
    F(results_scenario, error, RESULTS_F_STR),
    F(results_scenario, error_exit, RESULTS_F_INT),
    F(results_scenario, started, RESULTS_F_STR),
    F(results_scenario, duration_s, RESULTS_F_F64),
    FA(results_scenario, invocations, invocation_type),
    FA(results_scenario, checks, check_type),
    FA(results_scenario, thresholds, threshold_type),
    FA(results_scenario, metrics, metric_type),
    FA(results_scenario, histograms, hist_type),
    FS(results_scenario, resources, resources_type),
    FA(results_scenario, cost, cost_type),
    FS(results_scenario, score, score_type),
    FA(results_scenario, stats, count_type),
    FA(results_scenario, timeline, tl_point_type),
};
const results_type results_type_scenario = TYPE(results_scenario, scenario_fields);

static const results_field machine_fields[] = {
    F(results_machine, hostname, RESULTS_F_STR),  F(results_machine, kernel, RESULTS_F_STR),
    F(results_machine, cpu_model, RESULTS_F_STR), F(results_machine, cores, RESULTS_F_INT),
    F(results_machine, ram_bytes, RESULTS_F_I64),
};
static const results_type machine_type = TYPE(results_machine, machine_fields);

static const results_field seed_fields[] = {
    F(results_seed, scenario, RESULTS_F_STR),
    F(results_seed, seed, RESULTS_F_U64STR),
};
static const results_type seed_type = TYPE(results_seed, seed_fields);

static const results_field dataset_fields[] = {
    F(results_dataset, scenario, RESULTS_F_STR),  F(results_dataset, dataset, RESULTS_F_STR),
    F(results_dataset, format, RESULTS_F_STR),    F(results_dataset, rows, RESULTS_F_I64),
    F(results_dataset, emissions, RESULTS_F_I64), F(results_dataset, sha256, RESULTS_F_STR),
};
static const results_type dataset_type = TYPE(results_dataset, dataset_fields);

static const results_field price_sheet_fields[] = {
    F(results_price_sheet, name, RESULTS_F_STR),   F(results_price_sheet, provider, RESULTS_F_STR),
    F(results_price_sheet, region, RESULTS_F_STR), F(results_price_sheet, as_of, RESULTS_F_STR),
    F(results_price_sheet, path, RESULTS_F_STR),   F(results_price_sheet, sha256, RESULTS_F_STR),
};
static const results_type price_sheet_type = TYPE(results_price_sheet, price_sheet_fields);

static const results_field totals_fields[] = {
    F(results_totals, scenarios, RESULTS_F_I64),
    F(results_totals, checks_passed, RESULTS_F_I64),
    F(results_totals, checks_warned, RESULTS_F_I64),
    F(results_totals, checks_failed, RESULTS_F_I64),
    F(results_totals, checks_errored, RESULTS_F_I64),
    F(results_totals, checks_skipped, RESULTS_F_I64),
    F(results_totals, thresholds_passed, RESULTS_F_I64),
    F(results_totals, thresholds_failed, RESULTS_F_I64),
    F(results_totals, thresholds_skipped, RESULTS_F_I64),
    F(results_totals, scenario_errors, RESULTS_F_I64),
    F(results_totals, invocations_passed, RESULTS_F_I64),
    F(results_totals, invocations_failed, RESULTS_F_I64),
    F(results_totals, run_errors, RESULTS_F_I64),
};
static const results_type totals_type = TYPE(results_totals, totals_fields);

static const results_field run_fields[] = {
    F(results_run, schema, RESULTS_F_STR),
    F(results_run, harness_version, RESULTS_F_STR),
    F(results_run, harness_commit, RESULTS_F_STR),
    F(results_run, plugin_abi, RESULTS_F_INT),
    F(results_run, started, RESULTS_F_STR),
    F(results_run, finished, RESULTS_F_STR),
    F(results_run, duration_s, RESULTS_F_F64),
    FV(results_run, argv),
    F(results_run, pack_name, RESULTS_F_STR),
    F(results_run, pack_dir, RESULTS_F_STR),
    F(results_run, level, RESULTS_F_STR),
    F(results_run, solution_name, RESULTS_F_STR),
    F(results_run, solution_dir, RESULTS_F_STR),
    F(results_run, isolation, RESULTS_F_STR),
    F(results_run, database, RESULTS_F_STR),
    F(results_run, jobs, RESULTS_F_INT),
    FS(results_run, machine, machine_type),
    FA(results_run, seeds, seed_type),
    FA(results_run, datasets, dataset_type),
    {"price_sheets", RESULTS_F_ARRAY, offsetof(results_run, price_sheets),
     offsetof(results_run, nprice_sheets), &price_sheet_type, NULL},
    FE(results_run, verdict, results_status_names),
    F(results_run, exit_code, RESULTS_F_INT),
    F(results_run, partial, RESULTS_F_BOOL),
    F(results_run, interrupted, RESULTS_F_BOOL),
    F(results_run, error, RESULTS_F_STR),
    F(results_run, error_exit, RESULTS_F_INT),
    FS(results_run, totals, totals_type),
    FS(results_run, score, score_type),
    FA(results_run, scenarios, results_type_scenario),
};
const results_type results_type_run = TYPE(results_run, run_fields);

/* ---- generic walks ---- */

size_t results_array_cap(size_t n)
{
    size_t c = 1;
    if (n == 0) return 0;
    while (c < n)
        c <<= 1;
    return c;
}

#define AT(p, off) ((char *)(p) + (off))

void results_release(const results_type *t, void *p)
{
    for (size_t i = 0; i < t->nfields; i++) {
        const results_field *f = &t->fields[i];
        switch (f->type) {
        case RESULTS_F_STR:
            hx_free(*(char **)AT(p, f->off));
            break;
        case RESULTS_F_STRV: {
            char **v = *(char ***)AT(p, f->off);
            size_t n = *(size_t *)AT(p, f->count_off);
            for (size_t k = 0; k < n; k++)
                hx_free(v[k]);
            hx_free(v);
            break;
        }
        case RESULTS_F_ARRAY: {
            char *a = *(char **)AT(p, f->off);
            size_t n = *(size_t *)AT(p, f->count_off);
            for (size_t k = 0; k < n; k++)
                results_release(f->sub, a + k * f->sub->size);
            hx_free(a);
            break;
        }
        case RESULTS_F_STRUCT:
            results_release(f->sub, AT(p, f->off));
            break;
        default:
            break;
        }
    }
}

void results_run_free(results_run *r)
{
    if (!r) return;
    results_release(&results_type_run, r);
    hx_free(r);
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool f64_eq(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

/* Appends "path" segments only on the way out of a difference, so equal runs cost no printing. */
static bool equal_walk(const results_type *t, const void *a, const void *b, char *why, size_t n)
{
    for (size_t i = 0; i < t->nfields; i++) {
        const results_field *f = &t->fields[i];
        const char *pa = AT(a, f->off), *pb = AT(b, f->off);
        bool eq = true;
        long idx = -1;
        char sub[512] = "";
        switch (f->type) {
        case RESULTS_F_STR:
            eq = str_eq(*(char *const *)pa, *(char *const *)pb);
            break;
        case RESULTS_F_F64:
            eq = f64_eq(*(const double *)pa, *(const double *)pb);
            break;
        case RESULTS_F_I64:
            eq = *(const int64_t *)pa == *(const int64_t *)pb;
            break;
        case RESULTS_F_U64STR:
            eq = *(const uint64_t *)pa == *(const uint64_t *)pb;
            break;
        case RESULTS_F_INT:
        case RESULTS_F_ENUM:
            eq = *(const int *)pa == *(const int *)pb;
            break;
        case RESULTS_F_BOOL:
            eq = *(const bool *)pa == *(const bool *)pb;
            break;
        case RESULTS_F_STRV: {
            size_t na = *(const size_t *)AT(a, f->count_off),
                   nb = *(const size_t *)AT(b, f->count_off);
            char *const *va = *(char **const *)pa, *const *vb = *(char **const *)pb;
            eq = na == nb;
            for (size_t k = 0; eq && k < na; k++)
                if (!str_eq(va[k], vb[k])) {
                    eq = false;
                    idx = (long)k;
                }
            break;
        }
        case RESULTS_F_ARRAY: {
            size_t na = *(const size_t *)AT(a, f->count_off),
                   nb = *(const size_t *)AT(b, f->count_off);
            const char *xa = *(char *const *)pa, *xb = *(char *const *)pb;
            eq = na == nb;
            for (size_t k = 0; eq && k < na; k++)
                if (!equal_walk(f->sub, xa + k * f->sub->size, xb + k * f->sub->size, sub,
                                sizeof sub)) {
                    eq = false;
                    idx = (long)k;
                }
            break;
        }
        case RESULTS_F_STRUCT:
            eq = equal_walk(f->sub, pa, pb, sub, sizeof sub);
            break;
        }
        if (!eq) {
            if (why && n) {
                if (idx >= 0)
                    snprintf(why, n, "%s[%ld]%s%s", f->name, idx, *sub ? "." : "", sub);
                else
                    snprintf(why, n, "%s%s%s", f->name, *sub ? "." : "", sub);
            }
            return false;
        }
    }
    return true;
}

bool results_run_equal(const results_run *a, const results_run *b, char *why, size_t whylen)
{
    if (why && whylen) *why = '\0';
    return equal_walk(&results_type_run, a, b, why, whylen);
}

/* ---- builders ---- */

/* Append one zeroed element of size sz to *arr (count *n); NULL when out of memory. */
static void *push(void *arr_slot, size_t *n, size_t sz)
{
    char **arr = arr_slot;
    if (*n == results_array_cap(*n)) {
        size_t cap = *n ? *n * 2 : 1;
        char *p = hx_realloc(*arr, cap * sz);
        if (!p) return NULL;
        *arr = p;
    }
    char *el = *arr + *n * sz;
    memset(el, 0, sz);
    (*n)++;
    return el;
}

/* Copy s into a fresh string; *ok goes false when out of memory (NULL in, NULL out). */
static char *dup_or(const char *s, bool *ok)
{
    if (!s) return NULL;
    char *d = hx_strdup(s);
    if (!d) *ok = false;
    return d;
}

bool results_set_str(char **slot, const char *s)
{
    bool ok = true;
    char *d = dup_or(s, &ok);
    if (!ok) return false;
    hx_free(*slot);
    *slot = d;
    return true;
}

bool results_strv_add(char ***v, size_t *n, const char *s)
{
    bool ok = true;
    char *d = dup_or(s, &ok);
    if (!ok) return false;
    char **slot = push(v, n, sizeof(char *));
    if (!slot) {
        hx_free(d);
        return false;
    }
    *slot = d;
    return true;
}

/* Undo the last push after a failed string copy: release the element and shrink the count. */
static void *pop_fail(const results_type *t, void *el, size_t *n)
{
    results_release(t, el);
    (*n)--;
    return NULL;
}

results_run *results_run_new(void)
{
    results_run *r = hx_calloc(1, sizeof *r);
    if (!r) return NULL;
    if (!results_set_str(&r->schema, RESULTS_SCHEMA)) {
        hx_free(r);
        return NULL;
    }
    r->score.value = NAN;
    return r;
}

results_scenario *results_scenario_add(results_run *r, const char *name)
{
    results_scenario *sc = push(&r->scenarios, &r->nscenarios, sizeof *sc);
    if (!sc) return NULL;
    bool ok = true;
    sc->name = dup_or(name, &ok);
    sc->score.value = NAN;
    return ok ? sc : pop_fail(&results_type_scenario, sc, &r->nscenarios);
}

bool results_scenario_set_error(results_scenario *sc, int exit_code, const char *msg)
{
    if (!results_set_str(&sc->error, msg ? msg : "unknown error")) return false;
    sc->error_exit = exit_code;
    sc->status = RESULTS_ERROR;
    /* A scenario that could not be judged counts 0 in the run's score: sabotaging the harness
     * (a database setting, a killed service) must never raise it. */
    sc->score.scored = true;
    sc->score.value = 0;
    return true;
}

results_check *results_check_add(results_scenario *sc, const char *name, const char *kind,
                                 results_severity sev, results_status status)
{
    results_check *c = push(&sc->checks, &sc->nchecks, sizeof *c);
    if (!c) return NULL;
    bool ok = true;
    c->name = dup_or(name, &ok);
    c->kind = dup_or(kind, &ok);
    c->severity = sev;
    c->status = status;
    return ok ? c : pop_fail(&check_type, c, &sc->nchecks);
}

bool results_check_sample_columns(results_check *c, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!results_strv_add(&c->samples.columns, &c->samples.ncolumns, names[i])) return false;
    return true;
}

bool results_check_sample_row(results_check *c, const char *const *cells)
{
    results_row *row = push(&c->samples.rows, &c->samples.nrows, sizeof *row);
    if (!row) return false;
    for (size_t i = 0; i < c->samples.ncolumns; i++) {
        bool ok = true;
        char *d = dup_or(cells[i], &ok);
        char **slot = ok ? push(&row->cells, &row->ncells, sizeof(char *)) : NULL;
        if (!slot) {
            hx_free(d);
            pop_fail(&row_type, row, &c->samples.nrows);
            return false;
        }
        *slot = d;
    }
    return true;
}

bool results_check_count(results_check *c, const char *name, int64_t value)
{
    results_count *k = push(&c->counts, &c->ncounts, sizeof *k);
    if (!k) return false;
    bool ok = true;
    k->name = dup_or(name, &ok);
    k->value = value;
    return ok || pop_fail(&count_type, k, &c->ncounts);
}

results_threshold *results_threshold_add(results_scenario *sc, const char *metric, const char *op,
                                         double limit, double actual, const char *unit,
                                         results_status status)
{
    results_threshold *t = push(&sc->thresholds, &sc->nthresholds, sizeof *t);
    if (!t) return NULL;
    bool ok = true;
    t->metric = dup_or(metric, &ok);
    t->op = dup_or(op, &ok);
    t->unit = dup_or(unit, &ok);
    t->limit = limit;
    t->actual = actual;
    t->status = status;
    return ok ? t : pop_fail(&threshold_type, t, &sc->nthresholds);
}

results_metric *results_metric_add(results_scenario *sc, const char *name, double value,
                                   const char *unit)
{
    results_metric *m = push(&sc->metrics, &sc->nmetrics, sizeof *m);
    if (!m) return NULL;
    bool ok = true;
    m->name = dup_or(name, &ok);
    m->unit = dup_or(unit, &ok);
    m->value = value;
    return ok ? m : pop_fail(&metric_type, m, &sc->nmetrics);
}

results_hist *results_hist_add(results_scenario *sc, const char *name, const char *unit,
                               const char *encoded)
{
    results_hist *h = push(&sc->histograms, &sc->nhistograms, sizeof *h);
    if (!h) return NULL;
    bool ok = true;
    h->name = dup_or(name, &ok);
    h->unit = dup_or(unit, &ok);
    h->encoded = dup_or(encoded, &ok);
    h->min = h->max = h->mean = h->p50 = h->p90 = h->p99 = h->p999 = NAN;
    return ok ? h : pop_fail(&hist_type, h, &sc->nhistograms);
}

results_invocation *results_invocation_add(results_scenario *sc, int batch)
{
    results_invocation *iv = push(&sc->invocations, &sc->ninvocations, sizeof *iv);
    if (iv) iv->batch = batch;
    return iv;
}

bool results_res_point_add(results_resources *res, double t_s, double cpu_pct, int64_t rss_bytes)
{
    results_res_point *p = push(&res->series, &res->nseries, sizeof *p);
    if (!p) return false;
    p->t_s = t_s;
    p->cpu_pct = cpu_pct;
    p->rss_bytes = rss_bytes;
    return true;
}

bool results_tl_point_add(results_scenario *sc, const results_tl_point *p)
{
    results_tl_point *q = push(&sc->timeline, &sc->ntimeline, sizeof *q);
    if (!q) return false;
    *q = *p;
    return true;
}

results_cost *results_cost_add(results_scenario *sc, const char *model, const char *currency)
{
    results_cost *c = push(&sc->cost, &sc->ncost, sizeof *c);
    if (!c) return NULL;
    bool ok = true;
    c->model = dup_or(model, &ok);
    c->currency = dup_or(currency, &ok);
    c->per_million_input = c->per_correct_output = NAN;
    c->monthly_fixed = c->monthly_variable = NAN;
    return ok ? c : pop_fail(&cost_type, c, &sc->ncost);
}

results_cost_line *results_cost_line_add(results_cost *c, const char *component, double quantity,
                                         const char *unit, double unit_price, double cost,
                                         const char *note)
{
    results_cost_line *l = push(&c->lines, &c->nlines, sizeof *l);
    if (!l) return NULL;
    bool ok = true;
    l->component = dup_or(component, &ok);
    l->unit = dup_or(unit, &ok);
    l->note = dup_or(note, &ok);
    l->quantity = quantity;
    l->unit_price = unit_price;
    l->cost = cost;
    return ok ? l : pop_fail(&cost_line_type, l, &c->nlines);
}

bool results_cost_phase_add(results_cost *c, const char *name, double cost)
{
    results_phase_cost *p = push(&c->phases, &c->nphases, sizeof *p);
    if (!p) return false;
    bool ok = true;
    p->name = dup_or(name, &ok);
    p->cost = cost;
    p->slope = NAN;
    return ok || pop_fail(&phase_cost_type, p, &c->nphases);
}

results_cost_fit *results_cost_fit_add(results_cost *c, const char *name)
{
    results_cost_fit *f = push(&c->fits, &c->nfits, sizeof *f);
    if (!f) return NULL;
    bool ok = true;
    f->name = dup_or(name, &ok);
    f->probe = f->slope = NAN;
    return ok ? f : pop_fail(&cost_fit_type, f, &c->nfits);
}

bool results_score_component_add(results_score *s, const char *name, double value, double weight)
{
    results_component *k = push(&s->components, &s->ncomponents, sizeof *k);
    if (!k) return false;
    bool ok = true;
    k->name = dup_or(name, &ok);
    k->value = value;
    k->weight = weight;
    return ok || pop_fail(&component_type, k, &s->ncomponents);
}

bool results_stat_add(results_scenario *sc, const char *name, int64_t value)
{
    results_count *k = push(&sc->stats, &sc->nstats, sizeof *k);
    if (!k) return false;
    bool ok = true;
    k->name = dup_or(name, &ok);
    k->value = value;
    return ok || pop_fail(&count_type, k, &sc->nstats);
}

bool results_seed_add(results_run *r, const char *scenario, uint64_t seed)
{
    results_seed *s = push(&r->seeds, &r->nseeds, sizeof *s);
    if (!s) return false;
    bool ok = true;
    s->scenario = dup_or(scenario, &ok);
    s->seed = seed;
    return ok || pop_fail(&seed_type, s, &r->nseeds);
}

results_dataset *results_dataset_add(results_run *r, const char *scenario, const char *dataset,
                                     const char *format)
{
    results_dataset *d = push(&r->datasets, &r->ndatasets, sizeof *d);
    if (!d) return NULL;
    bool ok = true;
    d->scenario = dup_or(scenario, &ok);
    d->dataset = dup_or(dataset, &ok);
    d->format = dup_or(format, &ok);
    return ok ? d : pop_fail(&dataset_type, d, &r->ndatasets);
}

results_price_sheet *results_price_sheet_add(results_run *r, const char *name, const char *provider,
                                             const char *region, const char *as_of)
{
    results_price_sheet *p = push(&r->price_sheets, &r->nprice_sheets, sizeof *p);
    if (!p) return NULL;
    bool ok = true;
    p->name = dup_or(name, &ok);
    p->provider = dup_or(provider, &ok);
    p->region = dup_or(region, &ok);
    p->as_of = dup_or(as_of, &ok);
    return ok ? p : pop_fail(&price_sheet_type, p, &r->nprice_sheets);
}

/* ---- derived facts ---- */

bool results_invocation_failed(const results_invocation *iv)
{
    return iv->exit_code != 0 || iv->signal || iv->timed_out;
}

void results_scenario_settle(results_scenario *sc)
{
    bool errored = sc->error != NULL, failed = false, thr = false;
    for (size_t i = 0; i < sc->nchecks; i++) {
        const results_check *c = &sc->checks[i];
        errored |= c->status == RESULTS_ERROR;
        failed |= c->status == RESULTS_FAIL && c->severity == RESULTS_SEV_ERROR;
    }
    for (size_t i = 0; i < sc->ninvocations; i++)
        failed |= results_invocation_failed(&sc->invocations[i]);
    for (size_t i = 0; i < sc->nthresholds; i++)
        thr |= sc->thresholds[i].status == RESULTS_FAIL;
    sc->status = errored  ? RESULTS_ERROR
                 : failed ? RESULTS_FAIL
                 : thr    ? RESULTS_THRESHOLD
                          : RESULTS_PASS;
}

static void tally(results_totals *t, const results_scenario *sc)
{
    t->scenarios++;
    t->scenario_errors += sc->error != NULL;
    for (size_t i = 0; i < sc->nchecks; i++) {
        const results_check *c = &sc->checks[i];
        switch (c->status) {
        case RESULTS_PASS:
            t->checks_passed++;
            break;
        case RESULTS_FAIL:
            if (c->severity == RESULTS_SEV_WARN)
                t->checks_warned++;
            else
                t->checks_failed++;
            break;
        case RESULTS_SKIP:
            t->checks_skipped++;
            break;
        default: /* error, and anything a foreign file calls "threshold" on a check */
            t->checks_errored++;
            break;
        }
    }
    for (size_t i = 0; i < sc->ninvocations; i++) {
        if (results_invocation_failed(&sc->invocations[i]))
            t->invocations_failed++;
        else
            t->invocations_passed++;
    }
    for (size_t i = 0; i < sc->nthresholds; i++) {
        switch (sc->thresholds[i].status) {
        case RESULTS_PASS:
            t->thresholds_passed++;
            break;
        case RESULTS_SKIP:
            t->thresholds_skipped++;
            break;
        default: /* fail; an "error" threshold is a failed one to a reader */
            t->thresholds_failed++;
            break;
        }
    }
}

void results_run_settle(results_run *r)
{
    memset(&r->totals, 0, sizeof r->totals);
    bool infra = false, any_error = false, any_fail = false, any_thr = false;
    for (size_t i = 0; i < r->nscenarios; i++) {
        results_scenario *sc = &r->scenarios[i];
        results_scenario_settle(sc);
        tally(&r->totals, sc);
        any_error |= sc->status == RESULTS_ERROR;
        any_fail |= sc->status == RESULTS_FAIL;
        any_thr |= sc->status == RESULTS_THRESHOLD;
        infra |= sc->error_exit == HX_EXIT_INFRA || (sc->status == RESULTS_ERROR && !sc->error);
    }
    r->totals.run_errors = r->error || r->interrupted || r->partial;
    r->verdict = any_error || r->error ? RESULTS_ERROR
                 : any_fail            ? RESULTS_FAIL
                 : any_thr             ? RESULTS_THRESHOLD
                                       : RESULTS_PASS;
    if (r->interrupted)
        r->exit_code = HX_EXIT_INTERRUPTED;
    else if (r->error)
        r->exit_code = r->error_exit == HX_EXIT_USAGE ? HX_EXIT_USAGE : HX_EXIT_INFRA;
    else if (any_error)
        r->exit_code = infra ? HX_EXIT_INFRA : HX_EXIT_USAGE;
    else if (any_fail)
        r->exit_code = HX_EXIT_CHECK;
    else if (any_thr)
        r->exit_code = HX_EXIT_THRESHOLD;
    else
        r->exit_code = HX_EXIT_OK;
}

bool results_run_set_error(results_run *r, int exit_code, const char *msg)
{
    if (!results_set_str(&r->error,
                         msg && *msg ? msg : "the run stopped before its scenarios ended"))
        return false;
    r->error_exit = exit_code == HX_EXIT_USAGE ? HX_EXIT_USAGE : HX_EXIT_INFRA;
    r->verdict = RESULTS_ERROR;
    if (!r->interrupted) r->exit_code = r->error_exit;
    return true;
}

/* An exit code of 2 or 3 the scenarios do not explain: the run failed outside them. */
static bool unexplained_error_exit(const results_run *r)
{
    return (r->exit_code == HX_EXIT_USAGE || r->exit_code == HX_EXIT_INFRA) &&
           r->verdict != RESULTS_ERROR;
}

const char *results_run_outcome(const results_run *r)
{
    if (r->interrupted || r->exit_code == HX_EXIT_INTERRUPTED) return "interrupted";
    if (r->error || unexplained_error_exit(r)) return "error";
    if (r->partial) return "partial";
    return results_status_name(r->verdict);
}

results_status results_run_outcome_status(const results_run *r)
{
    if (r->interrupted || r->exit_code == HX_EXIT_INTERRUPTED || r->error ||
        unexplained_error_exit(r))
        return RESULTS_ERROR;
    if (r->partial) return RESULTS_SKIP;
    return r->verdict;
}

void results_run_score(results_run *r)
{
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < r->nscenarios; i++)
        if (r->scenarios[i].score.scored) {
            sum += r->scenarios[i].score.value;
            n++;
        }
    r->score.scored = n > 0;
    r->score.value = n ? sum / (double)n : 0;
}

results_counts results_counts_of(const results_run *r, const results_scenario *sc)
{
    results_totals t = {0};
    if (sc) {
        tally(&t, sc);
    } else {
        for (size_t i = 0; i < r->nscenarios; i++)
            tally(&t, &r->scenarios[i]);
        t.run_errors = r->error || r->interrupted || r->partial;
    }
    results_counts c;
    c.tests = t.checks_passed + t.checks_warned + t.checks_failed + t.checks_errored +
              t.checks_skipped + t.thresholds_passed + t.thresholds_failed + t.thresholds_skipped +
              t.invocations_passed + t.invocations_failed + t.scenario_errors + t.run_errors;
    c.failures = t.checks_failed + t.thresholds_failed + t.invocations_failed;
    c.errors = t.checks_errored + t.scenario_errors + t.run_errors;
    c.skipped = t.checks_skipped + t.thresholds_skipped;
    return c;
}

void results_iso8601(char *buf, size_t n, int64_t wall_ns)
{
    time_t s = (time_t)(wall_ns / 1000000000);
    struct tm tm;
    if (!gmtime_r(&s, &tm) || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, n, "1970-01-01T00:00:00Z");
}
