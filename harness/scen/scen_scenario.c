/* scen_scenario.c - harness.Scenario: scenario{} (solution, datasets, checks, replay steps,
 * thresholds) validated into a plan_scenario; the seeds. */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen_int.h"
#include "rng.h"
#include "metrics.h"
#include "units.h"

typedef struct scnobj {
    plan_scenario *sc; /* owned until the loader takes it */
} scnobj;

int dsl_scn_gc(lua_State *L)
{
    scnobj *o = luaL_checkudata(L, 1, T_SCENARIO);
    if (o->sc) {
        plan_scenario_release(o->sc);
        hx_free(o->sc);
        o->sc = NULL;
    }
    return 0;
}

/* Copy dataset src into dst (zeroed, owned by the scenario under construction). */
static void clone_dataset(lua_State *L, const plan_dataset *src, plan_dataset *dst)
{
    *dst = *src;
    dst->name = dst->where = NULL;
    dst->cols = NULL;
    dst->ncols = 0;
    dst->faults = NULL;
    dst->nfaults = 0;
    dst->where = dsl_ldup(L, src->where);
    dst->cols = dsl_lcalloc(L, src->ncols, sizeof *dst->cols);
    for (size_t i = 0; i < src->ncols; i++) {
        const plan_column *s = &src->cols[i];
        plan_column *d = &dst->cols[i];
        *d = *s;
        d->name = NULL;
        if (s->kind == PLAN_COL_CATEGORICAL) {
            d->u.cat.values = NULL;
            d->u.cat.cum = NULL;
            d->u.cat.n = 0;
        } else if (s->kind == PLAN_COL_PATTERN) {
            d->u.pat.pattern = NULL;
        }
        dst->ncols = i + 1;
        d->name = dsl_ldup(L, s->name);
        if (s->kind == PLAN_COL_CATEGORICAL) {
            d->u.cat.values = dsl_lcalloc(L, s->u.cat.n, sizeof(char *));
            d->u.cat.cum = dsl_lcalloc(L, s->u.cat.n, sizeof(double));
            d->u.cat.n = s->u.cat.n;
            memcpy(d->u.cat.cum, s->u.cat.cum, s->u.cat.n * sizeof(double));
            for (size_t j = 0; j < s->u.cat.n; j++)
                d->u.cat.values[j] = dsl_ldup(L, s->u.cat.values[j]);
        } else if (s->kind == PLAN_COL_PATTERN) {
            d->u.pat.pattern = dsl_ldup(L, s->u.pat.pattern);
        }
    }
    if (src->nfaults) {
        dst->faults = dsl_lcalloc(L, src->nfaults, sizeof *dst->faults);
        for (size_t i = 0; i < src->nfaults; i++) {
            dst->faults[i] = src->faults[i];
            dst->faults[i].name = dst->faults[i].where = NULL;
            memset(dst->faults[i].set_vals, 0, sizeof dst->faults[i].set_vals);
            dst->faults[i].nset = 0;
            dst->nfaults = i + 1;
            dst->faults[i].name = dsl_ldup(L, src->faults[i].name);
            dst->faults[i].where = dsl_ldup(L, src->faults[i].where);
            for (size_t k = 0; k < src->faults[i].nset; k++) {
                dst->faults[i].set_vals[k] = dsl_ldup(L, src->faults[i].set_vals[k]);
                dst->faults[i].nset = k + 1;
            }
        }
    }
}

static const char *const scenario_keys[] = {"name",   "description", "tags",     "phase",
                                            "seed",   "datasets",    "solution", "replay",
                                            "checks", "thresholds",  "workload", NULL};

/* Index of the dataset userdata at idx among the scenario's (stack slots first..first+n-1). */
static int ds_index(lua_State *L, int idx, int first, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lua_rawequal(L, idx, first + (int)i)) return (int)i;
    return -1;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Thresholds at t[k] ({ ["metric"] = "< 30s" }), each metric one scenario sc can produce (NULL,
 * for pack-wide budgets: one some scenario can). */
void dsl_parse_thresholds(lua_State *L, int t, const char *k, const char *path,
                          const plan_scenario *sc, plan_threshold **out, size_t *nout)
{
    int ty = lua_getfield(L, t, k);
    if (ty == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    dsl_need_type(L, -1, LUA_TTABLE, path, k, "a table { [\"metric\"] = \"< 30s\" }");
    int tt = lua_gettop(L);
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, tt)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "%s.%s: keys are metric names like [\"solution.wall.max\"]", path, k);
        n++;
        lua_pop(L, 1);
    }
    if (!n) {
        lua_pop(L, 1);
        return;
    }
    const char **names = lua_newuserdatauv(L, n * sizeof *names, 0);
    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, tt)) {
        lua_pop(L, 1);
        names[i++] = lua_tostring(L, -1);
    }
    qsort(names, n, sizeof *names, cmp_name);
    *out = dsl_lcalloc(L, n, sizeof **out);
    char where[200];
    dsl_where_here(L, where, sizeof where);
    for (i = 0; i < n; i++) {
        plan_threshold *th = &(*out)[i];
        *nout = i + 1;
        th->metric = dsl_ldup(L, names[i]);
        th->where = dsl_ldup(L, where);
        lua_getfield(L, tt, names[i]);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "%s.%s[\"%s\"]: expected a threshold text like \"< 30s\", got %s", path,
                       k, names[i], luaL_typename(L, -1));
        const char *text = lua_tostring(L, -1);
        th->text = dsl_ldup(L, text);
        units_dim dim;
        hx_err e = {0};
        if (units_threshold(text, &th->op, &th->value, &dim, &e))
            luaL_error(L, "%s.%s[\"%s\"]: %s", path, k, names[i], e.msg);
        if (plan_metric_check(names[i], sc, false, &e))
            luaL_error(L, "%s.%s[\"%s\"]: %s", path, k, names[i], e.msg);
        units_dim md = units_metric_dim(names[i]);
        if (dim != UNITS_PLAIN && dim != UNITS_PERCENT && md != UNITS_PLAIN && dim != md)
            luaL_error(L, "%s.%s[\"%s\"]: '%s' is %s but the metric is %s", path, k, names[i], text,
                       units_dim_name(dim), units_dim_name(md));
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
}

static const char *const step_keys[] = {
    "into",  "dataset",    "table",  "topic", "dir",     "format", "per",   "mode",
    "rate",  "partitions", "key",    "run",   "timeout", "wait",   "fault", "duration",
    "sleep", "upto",       "column", "type",  "window",  "batch",  NULL};

/* What step st is, for a message: "a sleep step", "the whole load of 'customers'". */
static void step_label(const plan_scenario *sc, const plan_step *st, char *buf, size_t n)
{
    switch (st->kind) {
    case PLAN_STEP_INTO:
        snprintf(buf, n, "the whole load of '%s'", sc->datasets[st->dataset].name);
        break;
    case PLAN_STEP_WAIT:
        snprintf(buf, n, "a wait step");
        break;
    case PLAN_STEP_FAULT:
        snprintf(buf, n, "the fault '%s'", st->fault ? st->fault : "?");
        break;
    case PLAN_STEP_SLEEP:
        snprintf(buf, n, "a sleep step");
        break;
    case PLAN_STEP_WORKLOAD:
        snprintf(buf, n, "the query workload step");
        break;
    default:
        snprintf(buf, n, "a step");
        break;
    }
}

/* Batch mode: per-batch steps run the solution after each drop only as a drop group, consecutive
 * per-batch INTO steps directly before { run = "solution" } (run/steps.c). A per-batch step that
 * a later run step follows only across other steps would land every batch up front and leave its
 * drops without a run of their own, so such a plan is refused here, naming the step in between.
 * A per-batch step with no run step after it lands its batches as separate drops, no run
 * between them; a service sees every drop arrive. */
static void check_drops(lua_State *L, const plan_scenario *sc)
{
    if (sc->mode == PLAN_MODE_SERVICE) return;
    for (size_t i = 0; i < sc->nsteps; i++) {
        const plan_step *st = &sc->steps[i];
        if (st->kind != PLAN_STEP_INTO || !st->per_batch) continue;
        size_t end = i;
        while (end < sc->nsteps && sc->steps[end].kind == PLAN_STEP_INTO &&
               sc->steps[end].per_batch)
            end++;
        if (end == sc->nsteps || sc->steps[end].kind == PLAN_STEP_RUN) {
            i = end;
            continue;
        }
        size_t run = end;
        while (run < sc->nsteps && sc->steps[run].kind != PLAN_STEP_RUN)
            run++;
        if (run == sc->nsteps) return; /* no run step follows: drops without runs between */
        char between[160];
        step_label(sc, &sc->steps[end], between, sizeof between);
        dsl_raise_at(L, st->where,
                     "scenario.replay[%zu]: the per = \"batch\" step of '%s' is separated from "
                     "{ run = \"solution\" } (scenario.replay[%zu]) by %s (scenario.replay[%zu]); "
                     "per-batch steps run the solution after each drop only when they come "
                     "directly before the run step: move the steps in between before them, or "
                     "land '%s' whole (drop per = \"batch\")",
                     i + 1, sc->datasets[st->dataset].name, run + 1, between, end + 1,
                     sc->datasets[st->dataset].name);
    }
}

static void parse_step(lua_State *L, int t, plan_scenario *sc, int dsfirst, size_t idx, int checks)
{
    plan_step *st = &sc->steps[idx];
    char path[64];
    snprintf(path, sizeof path, "scenario.replay[%d]", (int)idx + 1);
    if (!lua_istable(L, t))
        luaL_error(L, "%s: expected a step table like { run = \"solution\" }, got %s", path,
                   luaL_typename(L, t));
    /* "did you mean 'batch'?" would point to the wrong thing: batch = K lands only batch K */
    if (lua_getfield(L, t, "batches") != LUA_TNIL)
        luaL_error(L,
                   "%s: 'batches' is the dataset's (dataset { batches = \"day\" or N, ... }: how "
                   "its records are cut); a step takes batch = K (only batch K, 0-based) or per = "
                   "\"batch\" (one drop a batch)",
                   path);
    lua_pop(L, 1);
    dsl_check_keys(L, t, step_keys, 0, path);
    char where[200];
    dsl_where_here(L, where, sizeof where);
    st->where = dsl_ldup(L, where);
    st->key_col = -1;
    st->wait_check = -1;
    static const char *const kinds[] = {"into", "run", "wait", "fault", "sleep", NULL};
    int kind = -1;
    for (int i = 0; kinds[i]; i++) {
        if (lua_getfield(L, t, kinds[i]) != LUA_TNIL) {
            if (kind >= 0)
                luaL_error(L, "%s: a step does one thing; it has both %s and %s", path, kinds[kind],
                           kinds[i]);
            kind = i;
        }
        lua_pop(L, 1);
    }
    if (kind < 0) luaL_error(L, "%s: a step needs one of into, run, wait, fault or sleep", path);
    const char *const own[][9] = {
        {"into", "dataset", "table", "topic", "dir", "format", "per", "batch", NULL},
        {"run", "timeout", NULL},
        {"wait", "timeout", NULL},
        {"fault", "duration", "dataset", "column", "type", NULL},
        {"sleep", NULL}};
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        const char *k = lua_tostring(L, -1);
        bool ok =
            dsl_lookup(k, own[kind]) >= 0 ||
            (kind == 0 && (!strcmp(k, "mode") || !strcmp(k, "rate") || !strcmp(k, "partitions") ||
                           !strcmp(k, "key") || !strcmp(k, "upto") || !strcmp(k, "window")));
        if (!ok) luaL_error(L, "%s: '%s' does not belong in a %s step", path, k, kinds[kind]);
    }
    switch (kind) {
    case 0: {
        st->kind = PLAN_STEP_INTO;
        const char *into = dsl_req_string(L, t, "into", path);
        static const char *const tg[] = {"files", "postgres", "kafka", NULL};
        int ti = dsl_lookup(into, tg);
        if (ti < 0) {
            char dm[80];
            luaL_error(L, "%s.into: unknown source '%s'%s (files, postgres, kafka)", path, into,
                       dsl_did_you_mean(into, tg, dm, 80));
        }
        st->target = (plan_target)ti;
        int dsi = -1;
        int ty = lua_getfield(L, t, "dataset");
        if (ty == LUA_TSTRING) {
            dsi = plan_scenario_dataset(sc, lua_tostring(L, -1));
            if (dsi < 0) {
                const char *names[64];
                size_t n = 0;
                for (size_t i = 0; i < sc->ndatasets && n < 63; i++)
                    names[n++] = sc->datasets[i].name;
                names[n] = NULL;
                char dm[80];
                luaL_error(L, "%s.dataset: no dataset '%s' in scenario.datasets%s", path,
                           lua_tostring(L, -1),
                           dsl_did_you_mean(lua_tostring(L, -1), names, dm, 80));
            }
        } else if (luaL_testudata(L, -1, T_DATASET)) {
            dsi = ds_index(L, lua_gettop(L), dsfirst, sc->ndatasets);
            if (dsi < 0)
                luaL_error(L, "%s.dataset: that dataset is not in scenario.datasets", path);
        } else {
            luaL_error(L, "%s.dataset: required (a dataset name), got %s", path,
                       luaL_typename(L, -1));
        }
        lua_pop(L, 1);
        st->dataset = (size_t)dsi;
        const plan_dataset *d = &sc->datasets[dsi];
        const char *table = dsl_opt_string(L, t, "table", path);
        const char *topic = dsl_opt_string(L, t, "topic", path);
        const char *dir = dsl_opt_string(L, t, "dir", path);
        if ((table && ti != PLAN_TGT_POSTGRES) || (topic && ti != PLAN_TGT_KAFKA) ||
            (dir && ti != PLAN_TGT_FILES))
            luaL_error(L, "%s: into = \"%s\" takes %s", path, into,
                       ti == PLAN_TGT_FILES      ? "dir"
                       : ti == PLAN_TGT_POSTGRES ? "table"
                                                 : "topic");
        if (ti == PLAN_TGT_POSTGRES) st->table = dsl_ldup(L, table ? table : d->name);
        if (ti == PLAN_TGT_KAFKA) st->topic = dsl_ldup(L, topic ? topic : d->name);
        if (ti == PLAN_TGT_FILES) {
            if (dir) dsl_check_rel_dir(L, path, dir);
            st->dir = dsl_ldup(L, dir ? dir : d->name);
        }
        const char *fmt = dsl_opt_string(L, t, "format", path);
        if (fmt && strcmp(fmt, "jsonl") == 0)
            st->format = PLAN_FMT_JSONL;
        else if (fmt && strcmp(fmt, "csv") != 0)
            luaL_error(L, "%s.format: expected \"csv\" or \"jsonl\", got '%s'", path, fmt);
        const char *per = dsl_opt_string(L, t, "per", path);
        if (per && (strcmp(per, "batch") == 0 || strcmp(per, "day") == 0))
            st->per_batch = true;
        else if (per && strcmp(per, "all") != 0)
            luaL_error(L, "%s.per: expected \"batch\" (or \"day\") or \"all\", got '%s'", path,
                       per);
        if (per && strcmp(per, "day") == 0 && d->batching != PLAN_BATCH_DAY)
            luaL_error(L, "%s.per: dataset '%s' is not batched by day (batches = \"day\")", path,
                       d->name);
        lua_Integer only;
        if (dsl_opt_integer(L, t, "batch", path, &only)) {
            /* One batch of the dataset, so a fault step can fall between two of them. */
            if (st->per_batch) luaL_error(L, "%s.batch: a step lands one batch or per batch", path);
            if (only < 0 || (d->batching == PLAN_BATCH_COUNT && (uint64_t)only >= d->nbatches) ||
                d->batching == PLAN_BATCH_NONE)
                luaL_error(L, "%s.batch: dataset '%s' has no batch %I (its batches: 0..%d)", path,
                           d->name, only,
                           d->batching == PLAN_BATCH_NONE ? 0 : (int)d->nbatches - 1);
            st->batch1 = (uint32_t)only + 1;
        }
        const char *mode = dsl_opt_string(L, t, "mode", path);
        if (mode && ti != PLAN_TGT_POSTGRES)
            luaL_error(L, "%s.mode: only postgres replay has a mode", path);
        if (mode && strcmp(mode, "oltp") == 0)
            st->pg_mode = PLAN_PG_OLTP;
        else if (mode && strcmp(mode, "changes") == 0)
            ti = dsl_changes_step(L, t, path, d, st);
        else if (mode && strcmp(mode, "copy") != 0)
            luaL_error(L, "%s.mode: expected \"copy\", \"oltp\" or \"changes\", got '%s'", path,
                       mode);
        if (dsl_opt_number(L, t, "rate", path, &st->rate) &&
            ((ti != PLAN_TGT_KAFKA && ti != PLAN_TGT_CDC) || st->rate < 0))
            luaL_error(L,
                       "%s.rate: a records-per-second rate >= 0, for kafka replay (changes "
                       "per second for mode = \"changes\")",
                       path);
        lua_getfield(L, t, "upto");
        bool has_upto = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (has_upto && ti != PLAN_TGT_CDC)
            luaL_error(L, "%s.upto: only a mode = \"changes\" step stops part way", path);
        lua_Integer parts = 0;
        if (dsl_opt_integer(L, t, "partitions", path, &parts) &&
            (ti != PLAN_TGT_KAFKA || parts < 0 || parts > 100000))
            luaL_error(L, "%s.partitions: a partition count, for kafka replay", path);
        st->partitions = (int)parts;
        lua_Integer window = 0;
        if (dsl_opt_integer(L, t, "window", path, &window) &&
            (ti != PLAN_TGT_KAFKA || window < 0 || window > 1000000000))
            luaL_error(L,
                       "%s.window: records in flight (sent, not yet answered), >= 0, for kafka "
                       "replay",
                       path);
        st->window = window;
        const char *key = dsl_opt_string(L, t, "key", path);
        if (key) {
            if (ti != PLAN_TGT_KAFKA)
                luaL_error(L, "%s.key: the message key column, for kafka replay", path);
            char p[96];
            snprintf(p, sizeof p, "%s.key", path);
            st->key_col = dsl_col_or_error(L, d, key, p);
        }
        break;
    }
    case 1: {
        st->kind = PLAN_STEP_RUN;
        const char *run = dsl_req_string(L, t, "run", path);
        if (strcmp(run, "workload") == 0) {
            if (!sc->workload)
                luaL_error(L, "%s.run: \"workload\" needs scenario.workload = { queries = ... }",
                           path);
            st->kind = PLAN_STEP_WORKLOAD;
            break;
        }
        if (strcmp(run, "solution") != 0)
            luaL_error(L, "%s.run: \"solution\" or \"workload\" can be run, got '%s'", path, run);
        dsl_opt_duration(L, t, "timeout", path, &st->timeout_us);
        break;
    }
    case 2: {
        st->kind = PLAN_STEP_WAIT;
        int ty = lua_getfield(L, t, "wait");
        if (ty == LUA_TSTRING) {
            const char *w = lua_tostring(L, -1);
            hx_err e = {0};
            if (strncmp(w, "quiet", 5) != 0 || units_duration_us(w + 5, &st->quiet_us, &e))
                luaL_error(L,
                           "%s.wait: expected \"quiet 2s\" or { until = <check>, timeout = "
                           "\"30s\" }%s%s",
                           path, e.msg[0] ? ": " : "", e.msg);
        } else if (ty == LUA_TTABLE) {
            int wt = lua_gettop(L);
            dsl_check_keys(L, wt, (const char *const[]){"until", "timeout", NULL}, 0, path);
            int ut = lua_getfield(L, wt, "until");
            if (luaL_testudata(L, -1, T_CHECK)) {
                for (size_t i = 0; i < sc->nchecks; i++) {
                    lua_geti(L, checks, (lua_Integer)i + 1);
                    if (lua_rawequal(L, -1, -2)) st->wait_check = (int)i;
                    lua_pop(L, 1);
                }
                if (st->wait_check < 0)
                    luaL_error(L,
                               "%s.wait.until: the check must also be listed in "
                               "scenario.checks",
                               path);
            } else if (ut == LUA_TSTRING) {
                for (size_t i = 0; i < sc->nchecks; i++)
                    if (strcmp(sc->checks[i].name, lua_tostring(L, -1)) == 0)
                        st->wait_check = (int)i;
                if (st->wait_check < 0)
                    luaL_error(L, "%s.wait.until: no check named '%s' in scenario.checks", path,
                               lua_tostring(L, -1));
            } else {
                luaL_error(L, "%s.wait.until: expected a check or a check name, got %s", path,
                           luaL_typename(L, -1));
            }
            lua_pop(L, 1);
            st->timeout_us = 30000000;
            dsl_opt_duration(L, wt, "timeout", path, &st->timeout_us);
        } else {
            luaL_error(L,
                       "%s.wait: expected \"quiet 2s\" or { until = <check>, timeout = \"30s\" "
                       "}, got %s",
                       path, luaL_typename(L, -1));
        }
        lua_pop(L, 1);
        break;
    }
    case 3: {
        st->kind = PLAN_STEP_FAULT;
        const char *f = dsl_req_string(L, t, "fault", path);
        if (dsl_lookup(f, plan_step_faults) < 0) {
            char dm[80];
            luaL_error(L,
                       "%s.fault: unknown source fault '%s'%s (broker_down, broker_up, "
                       "request_errors, rtt, pg_drop, file_late, file_twice, solution_restart, "
                       "pg_restart, add_column)",
                       path, f, dsl_did_you_mean(f, plan_step_faults, dm, 80));
        }
        st->fault = dsl_ldup(L, f);
        dsl_opt_duration(L, t, "duration", path, &st->sleep_us);
        const char *ds = dsl_opt_string(L, t, "dataset", path);
        if (ds) {
            int dsi = plan_scenario_dataset(sc, ds);
            if (dsi < 0)
                luaL_error(L, "%s.dataset: no dataset '%s' in scenario.datasets", path, ds);
            st->dataset = (size_t)dsi;
        }
        dsl_changes_fault(L, t, path, sc, st, ds != NULL);
        break;
    }
    case 4:
        st->kind = PLAN_STEP_SLEEP;
        dsl_opt_duration(L, t, "sleep", path, &st->sleep_us);
        break;
    }
}

int dsl_scenario(lua_State *L)
{
    const scen_host *host = dsl_host(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    dsl_check_keys(L, 1, scenario_keys, 0, "scenario");
    scnobj *o = lua_newuserdatauv(L, sizeof *o, 0);
    o->sc = NULL;
    luaL_setmetatable(L, T_SCENARIO);
    int ud = lua_gettop(L);
    plan_scenario *sc = o->sc = dsl_lcalloc(L, 1, sizeof *sc);

    const char *name = dsl_req_string(L, 1, "name", "scenario");
    if (!*name) luaL_error(L, "scenario.name: must not be empty");
    dsl_check_path_name(L, "scenario.name", name);
    sc->name = dsl_ldup(L, name);
    sc->description = dsl_ldup(L, dsl_opt_string(L, 1, "description", "scenario"));
    dsl_opt_strv(L, 1, "tags", "scenario", &sc->tags, &sc->ntags);
    lua_Integer phase = 1;
    dsl_opt_integer(L, 1, "phase", "scenario", &phase);
    if (phase < 1 || phase > 9)
        luaL_error(L, "scenario.phase: expected 1 (base) or 2 (twist), got %I", phase);
    sc->phase = (int)phase;
    lua_Integer seed;
    sc->seed = dsl_opt_integer(L, 1, "seed", "scenario", &seed) ? (uint64_t)seed
                                                                : scen_seed_from_name(name);
    const scen_opts *opts = host->opts;
    if (opts->has_seed) sc->seed ^= opts->seed;

    /* solution */
    sc->mode = PLAN_MODE_BATCH;
    sc->solution_timeout_us = INT64_C(600000000);
    if (lua_getfield(L, 1, "solution") != LUA_TNIL) {
        dsl_need_type(L, -1, LUA_TTABLE, "scenario", "solution", "a table { mode = , timeout = }");
        int t = lua_gettop(L);
        dsl_check_keys(L, t, (const char *const[]){"mode", "timeout", NULL}, 0,
                       "scenario.solution");
        const char *mode = dsl_opt_string(L, t, "mode", "scenario.solution");
        if (mode && strcmp(mode, "service") == 0)
            sc->mode = PLAN_MODE_SERVICE;
        else if (mode && strcmp(mode, "batch") != 0)
            luaL_error(L, "scenario.solution.mode: expected \"batch\" or \"service\", got '%s'",
                       mode);
        dsl_opt_duration(L, t, "timeout", "scenario.solution", &sc->solution_timeout_us);
    }
    lua_pop(L, 1);

    /* datasets, sorted by name so indices do not depend on table order */
    if (lua_getfield(L, 1, "datasets") != LUA_TTABLE)
        luaL_error(L, "scenario.datasets: expected { name = dataset, ... }, got %s",
                   luaL_typename(L, -1));
    int dt = lua_gettop(L);
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, dt)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "scenario.datasets: keys are dataset names (orders = orders)");
        if (!luaL_testudata(L, -1, T_DATASET))
            luaL_error(L, "scenario.datasets.%s: expected a dataset, got %s", lua_tostring(L, -2),
                       luaL_typename(L, -1));
        n++;
        lua_pop(L, 1);
    }
    const char **names = lua_newuserdatauv(L, (n ? n : 1) * sizeof *names, 0);
    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, dt)) {
        lua_pop(L, 1);
        names[i++] = lua_tostring(L, -1);
    }
    qsort(names, n, sizeof *names, cmp_name);
    luaL_checkstack(L, (int)n + 20, "too many datasets");
    int dsfirst = lua_gettop(L) + 1;
    for (i = 0; i < n; i++)
        lua_getfield(L, dt, names[i]);
    for (i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (lua_rawequal(L, dsfirst + (int)i, dsfirst + (int)j))
                luaL_error(L, "scenario.datasets: '%s' and '%s' are the same dataset", names[j],
                           names[i]);
    for (i = 0; i < n; i++) {
        char what[160];
        snprintf(what, sizeof what, "scenario.datasets.%.120s", names[i]);
        dsl_check_path_name(L, what, names[i]);
    }
    sc->datasets = dsl_lcalloc(L, n ? n : 1, sizeof *sc->datasets);
    for (i = 0; i < n; i++) {
        sc->ndatasets = i + 1;
        clone_dataset(L, dsl_check_ds(L, dsfirst + (int)i), &sc->datasets[i]);
        sc->datasets[i].name = dsl_ldup(L, names[i]);
        sc->datasets[i].seed = scen_dataset_seed(sc->seed, names[i]);
    }
    for (i = 0; i < n; i++) {
        plan_dataset *d = &sc->datasets[i];
        lua_getiuservalue(L, dsfirst + (int)i, 1);
        int uv = lua_gettop(L);
        for (size_t c = 0; c < d->ncols; c++) {
            if (d->cols[c].kind != PLAN_COL_FK) continue;
            lua_geti(L, uv, (lua_Integer)c + 1);
            int pi = ds_index(L, -1, dsfirst, n);
            if (pi < 0)
                dsl_raise_at(
                    L, d->where,
                    "dataset '%s' column '%s' refers to a dataset that is not in this "
                    "scenario's datasets (add it: datasets = { %s = ..., <parent> = ... })",
                    d->name, d->cols[c].name, d->name);
            d->cols[c].u.fk.dataset = (size_t)pi;
            lua_pop(L, 1);
        }
        if (lua_getfield(L, uv, "row") == LUA_TFUNCTION) {
            row_ctx *rc = hx_calloc(1, sizeof *rc);
            if (!rc || host->track(host->ud, rc)) luaL_error(L, "out of memory");
            rc->host = host;
            rc->key = rng_key(d->seed, 0x726f77); /* "row" */
            snprintf(rc->name, sizeof rc->name, "%s", d->name);
            rc->fnref = luaL_ref(L, LUA_REGISTRYINDEX);
            lua_pushlightuserdata(L, rc);
            lua_pushcclosure(L, dsl_rand, 1);
            rc->randref = luaL_ref(L, LUA_REGISTRYINDEX);
            d->row_hook = dsl_row_hook;
            d->row_ud = rc;
        } else {
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }

    /* checks */
    int cty = lua_getfield(L, 1, "checks");
    int checks = lua_gettop(L);
    if (cty == LUA_TNIL) {
        lua_newtable(L);
        lua_replace(L, checks);
    } else if (cty != LUA_TTABLE) {
        luaL_error(L, "scenario.checks: expected a list of checks, got %s", luaL_typename(L, -1));
    }
    size_t nc = (size_t)luaL_len(L, checks);
    sc->checks = dsl_lcalloc(L, nc ? nc : 1, sizeof *sc->checks);
    for (i = 0; i < nc; i++) {
        lua_geti(L, checks, (lua_Integer)i + 1);
        chkobj *co = luaL_testudata(L, -1, T_CHECK);
        if (!co || !co->c)
            luaL_error(L, "scenario.checks[%d]: expected a check like unique { ... }, got %s",
                       (int)i + 1, luaL_typename(L, -1));
        plan_check *c = &sc->checks[i];
        const plan_check *src = co->c;
        /* Shallow-copy by moving: a check object can be listed in one scenario only once, so
         * deep copies are made field by field. */
        sc->nchecks = i + 1;
        c->kind = src->kind;
        c->severity = src->severity;
        c->tolerance = src->tolerance;
        c->max_age_us = src->max_age_us;
        c->timeout_us = src->timeout_us;
        c->lock_timeout_us = src->lock_timeout_us;
        c->expect.kind = src->expect.kind;
        c->expect.number = src->expect.number;
        c->expect.query = src->expect.query;
        c->where = dsl_ldup(L, src->where);
        c->table = dsl_ldup(L, src->table);
        c->column = dsl_ldup(L, src->column);
        c->query = dsl_ldup(L, src->query);
        c->ref_table = dsl_ldup(L, src->ref_table);
        c->ref_column = dsl_ldup(L, src->ref_column);
        c->expect.string = dsl_ldup(L, src->expect.string);
        c->plugin = dsl_ldup(L, src->plugin);
        c->plugin_check = dsl_ldup(L, src->plugin_check);
        c->key = dsl_ldup(L, src->key);
        if (src->nvalues) {
            c->values = dsl_lcalloc(L, src->nvalues, sizeof(char *));
            c->nvalues = src->nvalues;
            for (size_t j = 0; j < src->nvalues; j++)
                c->values[j] = dsl_ldup(L, src->values[j]);
        }
        if (src->ncolumns) {
            c->columns = dsl_lcalloc(L, src->ncolumns, sizeof(char *));
            if (src->types) c->types = dsl_lcalloc(L, src->ncolumns, sizeof(char *));
            c->ncolumns = src->ncolumns;
            for (size_t j = 0; j < src->ncolumns; j++) {
                c->columns[j] = dsl_ldup(L, src->columns[j]);
                if (src->types) c->types[j] = dsl_ldup(L, src->types[j]);
            }
        }
        if (src->nparams) {
            c->params = dsl_lcalloc(L, src->nparams, sizeof *c->params);
            c->nparams = src->nparams;
            for (size_t j = 0; j < src->nparams; j++) {
                c->params[j].key = dsl_ldup(L, src->params[j].key);
                c->params[j].json = dsl_ldup(L, src->params[j].json);
            }
        }
        if (c->expect.kind == PLAN_EXP_QUERY) {
            lua_getiuservalue(L, -1, 1); /* the query */
            lua_getiuservalue(L, -1, 1); /* its dataset */
            int di = ds_index(L, -1, dsfirst, n);
            if (di < 0)
                dsl_raise_at(L, c->where,
                             "%s: the expected query uses a dataset that is not in this scenario's "
                             "datasets (add it: datasets = { <name> = <the dataset>, ... })",
                             chk_kind_name(c->kind));
            c->expect.query.dataset = (size_t)di;
            lua_pop(L, 2);
            const plan_dataset *d = &sc->datasets[di];
            unsigned fl = chk_kind_get(c->kind)->flags;
            /* Against a dataset that plants no corrupt record the check could only pass. */
            bool corrupts = false;
            for (size_t j = 0; j < d->nfaults; j++)
                corrupts |= d->faults[j].kind == PLAN_F_CORRUPT;
            if (c->kind == PLAN_CHK_QUARANTINE && !corrupts)
                dsl_raise_at(L, c->where,
                             "quarantine: dataset '%s' plants no corrupt records, so there is "
                             "nothing to quarantine (add %s:corrupt { fraction = 0.01 } before "
                             "the scenario, or drop the check)",
                             d->name, d->name);
            if ((fl & CHK_K_DATASET_KEY) && !c->key) {
                if (d->key_col < 0)
                    dsl_raise_at(L, c->where, "%s: give key = \"column\" (dataset '%s' has no key)",
                                 chk_kind_name(c->kind), d->name);
                c->key = dsl_ldup(L, d->cols[d->key_col].name);
            }
            /* diff and file look the key and the compared columns up in the dataset. */
            const char *kn = chk_kind_name(c->kind);
            char dm[80];
            bool by_key = (fl & CHK_K_BY_KEY) && c->key;
            if (by_key && plan_dataset_column(d, c->key) < 0)
                dsl_raise_at(L, c->where, "%s.key: dataset '%s' has no column '%s'%s", kn, d->name,
                             c->key, dsl_column_hint(d, c->key, dm, sizeof dm));
            for (size_t j = 0; by_key && j < c->ncolumns; j++)
                if (plan_dataset_column(d, c->columns[j]) < 0)
                    dsl_raise_at(L, c->where, "%s.columns: dataset '%s' has no column '%s'%s", kn,
                                 d->name, c->columns[j],
                                 dsl_column_hint(d, c->columns[j], dm, sizeof dm));
        }
        lua_pop(L, 1);
    }
    /* names: explicit ones must be unique; defaults get " #2", " #3" */
    for (i = 0; i < nc; i++) {
        plan_check *c = &sc->checks[i];
        chkobj *co;
        lua_geti(L, checks, (lua_Integer)i + 1);
        co = lua_touserdata(L, -1);
        lua_pop(L, 1);
        if (co->c->name) {
            c->name = dsl_ldup(L, co->c->name);
            for (size_t j = 0; j < i; j++)
                if (sc->checks[j].name && strcmp(sc->checks[j].name, c->name) == 0)
                    dsl_raise_at(L, c->where, "check name '%s' is used twice in scenario '%s'",
                                 c->name, sc->name);
        }
    }
    for (i = 0; i < nc; i++) {
        plan_check *c = &sc->checks[i];
        if (c->name) continue;
        char base[200], nm[220];
        unsigned fl = chk_kind_get(c->kind)->flags;
        if (fl & CHK_K_SQL_TEXT)
            snprintf(base, sizeof base, "%s %.60s", chk_kind_name(c->kind), c->query);
        else if (fl & CHK_K_PLUGIN)
            snprintf(base, sizeof base, "%s.%s%s%s", c->plugin, c->plugin_check,
                     c->table ? " " : "", c->table ? c->table : "");
        else
            snprintf(base, sizeof base, "%s %s%s%s", chk_kind_name(c->kind),
                     c->table ? c->table : "", c->column ? "." : "", c->column ? c->column : "");
        snprintf(nm, sizeof nm, "%s", base);
        for (int k = 2;; k++) {
            bool clash = false;
            for (size_t j = 0; j < nc && !clash; j++)
                clash = j != i && sc->checks[j].name && strcmp(sc->checks[j].name, nm) == 0;
            if (!clash) break;
            snprintf(nm, sizeof nm, "%s #%d", base, k);
        }
        c->name = dsl_ldup(L, nm);
    }

    /* the workload, before the steps that run it and the thresholds on its metrics */
    dsl_parse_workload(L, 1, sc);

    /* replay */
    int rty = lua_getfield(L, 1, "replay");
    if (rty == LUA_TTABLE) {
        int rt = lua_gettop(L);
        size_t ns = (size_t)luaL_len(L, rt);
        sc->steps = dsl_lcalloc(L, ns ? ns : 1, sizeof *sc->steps);
        for (i = 0; i < ns; i++) {
            sc->nsteps = i + 1;
            lua_geti(L, rt, (lua_Integer)i + 1);
            parse_step(L, lua_gettop(L), sc, dsfirst, i, checks);
            lua_pop(L, 1);
        }
    } else if (rty != LUA_TNIL) {
        luaL_error(L, "scenario.replay: expected a list of steps, got %s", luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    check_drops(L, sc);
    if (sc->mode == PLAN_MODE_SERVICE) {
        bool runs = false;
        for (i = 0; i < sc->nsteps; i++)
            runs |= sc->steps[i].kind == PLAN_STEP_RUN;
        if (!runs)
            luaL_error(L, "scenario.solution: mode = \"service\", but no step starts it (add "
                          "{ run = \"solution\" } to scenario.replay, before the replay steps "
                          "the service should see)");
    }
    /* each kind's own rules, within the scenario (its steps parsed: a cdc check names a step's
     * table) */
    for (i = 0; i < nc; i++) {
        const plan_check *c = &sc->checks[i];
        const chk_kind *kd = chk_kind_get(c->kind);
        char err[300];
        if (kd->validate && kd->validate(c, sc, err, sizeof err) != 0)
            dsl_raise_at(L, c->where, "%s.%s", kd->name, err);
    }
    if (sc->workload) {
        bool runs = false;
        for (i = 0; i < sc->nsteps; i++)
            runs |= sc->steps[i].kind == PLAN_STEP_WORKLOAD;
        if (!runs)
            luaL_error(L, "scenario.workload: no step runs it (add { run = \"workload\" } to "
                          "scenario.replay, after the solution's run)");
    }

    dsl_parse_thresholds(L, 1, "thresholds", "scenario", sc, &sc->thresholds, &sc->nthresholds);
    lua_settop(L, ud);
    return 1;
}

int dsl_take_scenario(lua_State *L, int idx, plan_scenario *out)
{
    scnobj *o = luaL_checkudata(L, idx, T_SCENARIO);
    if (!o->sc) return -1;
    *out = *o->sc;
    hx_free(o->sc);
    o->sc = NULL;
    return 0;
}

int dsl_scn_tostring(lua_State *L)
{
    scnobj *o = luaL_checkudata(L, 1, T_SCENARIO);
    lua_pushfstring(L, "scenario(%s)", o->sc ? o->sc->name : "taken");
    return 1;
}

/* ---- seeds ---- */

uint64_t scen_seed_from_name(const char *name)
{
    return rng_mix(hx_hash64(name, strlen(name)));
}

uint64_t scen_dataset_seed(uint64_t scenario_seed, const char *dataset)
{
    return rng_mix(rng_mix(scenario_seed) ^ hx_hash64(dataset, strlen(dataset)));
}
