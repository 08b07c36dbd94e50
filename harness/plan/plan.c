/* plan.c - freeing and naming the plan structs of plan.h. */
#include "plan.h"

#include <string.h>

#include "util.h"

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hx_free(v[i]);
    hx_free(v);
}

static void column_release(plan_column *c)
{
    hx_free(c->name);
    if (c->kind == PLAN_COL_CATEGORICAL) {
        free_strv(c->u.cat.values, c->u.cat.n);
        hx_free(c->u.cat.cum);
    } else if (c->kind == PLAN_COL_PATTERN) {
        hx_free(c->u.pat.pattern);
    }
}

static void dataset_release(plan_dataset *d)
{
    hx_free(d->name);
    for (size_t i = 0; i < d->ncols; i++)
        column_release(&d->cols[i]);
    hx_free(d->cols);
    for (size_t i = 0; i < d->nfaults; i++) {
        hx_free(d->faults[i].name);
        hx_free(d->faults[i].where);
        for (size_t k = 0; k < d->faults[i].nset; k++)
            hx_free(d->faults[i].set_vals[k]);
    }
    hx_free(d->faults);
    hx_free(d->where);
}

static void check_release(plan_check *c)
{
    hx_free(c->name);
    hx_free(c->table);
    hx_free(c->column);
    hx_free(c->query);
    hx_free(c->ref_table);
    hx_free(c->ref_column);
    free_strv(c->values, c->nvalues);
    hx_free(c->expect.string);
    hx_free(c->key);
    free_strv(c->columns, c->ncolumns);
    free_strv(c->types, c->types ? c->ncolumns : 0);
    hx_free(c->plugin);
    hx_free(c->plugin_check);
    for (size_t i = 0; i < c->nparams; i++) {
        hx_free(c->params[i].key);
        hx_free(c->params[i].json);
    }
    hx_free(c->params);
    hx_free(c->where);
}

static void threshold_release(plan_threshold *t)
{
    hx_free(t->metric);
    hx_free(t->text);
    hx_free(t->where);
}

void plan_scenario_release(plan_scenario *s)
{
    if (!s) return;
    hx_free(s->name);
    hx_free(s->file);
    hx_free(s->description);
    free_strv(s->tags, s->ntags);
    for (size_t i = 0; i < s->ndatasets; i++)
        dataset_release(&s->datasets[i]);
    hx_free(s->datasets);
    for (size_t i = 0; i < s->nsteps; i++) {
        plan_step *st = &s->steps[i];
        hx_free(st->dir);
        hx_free(st->table);
        hx_free(st->topic);
        hx_free(st->fault);
        hx_free(st->column);
        hx_free(st->where);
    }
    hx_free(s->steps);
    for (size_t i = 0; i < s->nchecks; i++)
        check_release(&s->checks[i]);
    hx_free(s->checks);
    for (size_t i = 0; i < s->nthresholds; i++)
        threshold_release(&s->thresholds[i]);
    hx_free(s->thresholds);
    if (s->workload) {
        for (size_t i = 0; i < s->workload->nqueries; i++) {
            plan_wl_query *q = &s->workload->queries[i];
            hx_free(q->name);
            hx_free(q->sql);
            hx_free(q->file);
            hx_free(q->where);
        }
        hx_free(s->workload->queries);
        hx_free(s->workload->where);
        hx_free(s->workload);
    }
    memset(s, 0, sizeof *s);
}

void plan_pack_free(plan_pack *p)
{
    if (!p) return;
    hx_free(p->dir);
    hx_free(p->name);
    hx_free(p->level);
    hx_free(p->description);
    free_strv(p->sources, p->nsources);
    free_strv(p->sinks, p->nsinks);
    for (size_t i = 0; i < p->nbudgets; i++)
        threshold_release(&p->budgets[i]);
    hx_free(p->budgets);
    for (size_t i = 0; i < p->nreferences; i++)
        threshold_release(&p->references[i]);
    hx_free(p->references);
    for (size_t i = 0; i < p->nscenarios; i++)
        plan_scenario_release(&p->scenarios[i]);
    hx_free(p->scenarios);
    hx_free(p);
}

const char *plan_type_name(plan_type t)
{
    static const char *n[] = {"int", "decimal", "string", "timestamp", "bool", "uuid"};
    return (unsigned)t < sizeof n / sizeof n[0] ? n[t] : "?";
}

const char *plan_fault_name(plan_fault_kind k)
{
    static const char *n[] = {"duplicates",   "late",     "out_of_order", "nulls",  "corrupt",
                              "schema_drift", "outliers", "orphans",      "pattern"};
    return (unsigned)k < sizeof n / sizeof n[0] ? n[k] : "?";
}

/* Each step fault and its system (plan_step_fault_system), in the same order. */
const char *const plan_step_faults[] = {
    "broker_down", "broker_up",  "request_errors",   "rtt", "pg_drop", "pg_restart", "add_column",
    "file_late",   "file_twice", "solution_restart", NULL};
static const char *const step_fault_systems[] = {
    "kafka", "kafka", "kafka", "kafka", "postgres", "postgres", "postgres", "files", "files", NULL};

const char *plan_step_fault_system(const char *f)
{
    for (size_t i = 0; f && plan_step_faults[i]; i++)
        if (strcmp(plan_step_faults[i], f) == 0) return step_fault_systems[i];
    return NULL;
}

const char *plan_col_kind_name(plan_col_kind k)
{
    static const char *n[] = {"sequence", "uuid",      "int",         "decimal",
                              "normal",   "lognormal", "categorical", "timestamp",
                              "pattern",  "fk",        "bool",        "lua"};
    return (unsigned)k < sizeof n / sizeof n[0] ? n[k] : "?";
}

int plan_dataset_column(const plan_dataset *ds, const char *name)
{
    for (size_t i = 0; i < ds->ncols; i++)
        if (strcmp(ds->cols[i].name, name) == 0) return (int)i;
    return -1;
}

int plan_scenario_dataset(const plan_scenario *s, const char *name)
{
    for (size_t i = 0; i < s->ndatasets; i++)
        if (strcmp(s->datasets[i].name, name) == 0) return (int)i;
    return -1;
}
