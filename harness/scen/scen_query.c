/* scen_query.c - harness.Query: ledger queries built from a dataset
 * (ds:valid():dedup("id"):sum("x")). */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen_int.h"

qobj *dsl_check_q(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, T_QUERY);
}

/* The query to extend: a copy of arg 1 (a query) or a fresh one over arg 1 (a dataset). Pushes
 * the new query userdata; returns it and the dataset. */
static qobj *derive(lua_State *L, const char *method, plan_dataset **dsp)
{
    qobj *n = lua_newuserdatauv(L, sizeof *n, 1);
    memset(n, 0, sizeof *n);
    luaL_setmetatable(L, T_QUERY);
    if (luaL_testudata(L, 1, T_DATASET)) {
        *dsp = dsl_check_ds(L, 1);
        n->q.agg = PLAN_AGG_ROWS;
        n->q.col = n->q.group_col = -1;
        n->q.sub.dedup_col = -1;
        n->q.sub.group_day_col = -1;
        snprintf(n->desc, sizeof n->desc, "dataset");
        lua_pushvalue(L, 1);
    } else {
        qobj *o = dsl_check_q(L, 1);
        if (o->has_agg)
            luaL_error(L,
                       "%s: the query already ends in an aggregate; subsets come first, as in "
                       "ds:valid():dedup(\"id\"):sum(\"amount\")",
                       method);
        *n = *o;
        lua_getiuservalue(L, 1, 1);
        *dsp = dsl_check_ds(L, -1);
    }
    lua_setiuservalue(L, -2, 1);
    return n;
}

static void desc_add(qobj *q, const char *fmt, ...)
{
    size_t len = strlen(q->desc);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->desc + len, sizeof q->desc - len, fmt, ap);
    va_end(ap);
}

static int q_valid(lua_State *L)
{
    plan_dataset *d;
    qobj *q = derive(L, "valid", &d);
    if (q->q.sub.corrupt_only)
        luaL_error(L, "valid(): the query already keeps only corrupt records");
    q->q.sub.valid = true;
    desc_add(q, ":valid()");
    return 1;
}

static int q_corrupt(lua_State *L)
{
    plan_dataset *d;
    qobj *q = derive(L, "corrupt", &d);
    if (q->q.sub.valid)
        luaL_error(L, "corrupt(): the query already drops corrupt records (valid())");
    q->q.sub.corrupt_only = true;
    desc_add(q, ":corrupt()");
    return 1;
}

static int q_dedup(lua_State *L)
{
    plan_dataset *d;
    const char *col = luaL_checkstring(L, 2);
    const char *which = luaL_optstring(L, 3, "first");
    qobj *q = derive(L, "dedup", &d);
    q->q.sub.dedup_col = dsl_col_or_error(L, d, col, "dedup");
    if (strcmp(which, "last") == 0)
        q->q.sub.dedup_last = true;
    else if (strcmp(which, "first") != 0)
        luaL_error(L, "dedup: keep \"first\" or \"last\", got '%s'", which);
    desc_add(q, ":dedup(%s,%s)", col, which);
    return 1;
}

static const char *const fault_names[] = {
    "duplicates",   "late",     "out_of_order", "nulls",   "corrupt",
    "schema_drift", "outliers", "orphans",      "pattern", NULL};

/* ds:with("late"), ds:with("velocity", "geo"): records hit by any of the named faults (a kind,
 * or a pattern's name); without() drops them. */
static int q_with_impl(lua_State *L, bool with)
{
    plan_dataset *d;
    int top = lua_gettop(L);
    for (int i = 2; i <= top; i++)
        luaL_checkstring(L, i);
    if (top < 2) luaL_checkstring(L, 2);
    qobj *q = derive(L, with ? "with" : "without", &d);
    for (int i = 2; i <= top; i++) {
        const char *f = lua_tostring(L, i);
        int k = dsl_lookup(f, fault_names);
        uint64_t hits = 0;
        if (k < 0)
            for (size_t fi = 0; fi < d->nfaults && fi < 64; fi++)
                if (d->faults[fi].kind == PLAN_F_PATTERN && strcmp(d->faults[fi].name, f) == 0)
                    hits |= 1ULL << fi;
        if (k < 0 && !hits) {
            const char *names[80];
            size_t n = 0;
            for (size_t j = 0; fault_names[j]; j++)
                names[n++] = fault_names[j];
            for (size_t fi = 0; fi < d->nfaults && n < 79; fi++)
                if (d->faults[fi].kind == PLAN_F_PATTERN) names[n++] = d->faults[fi].name;
            names[n] = NULL;
            char dm[80];
            luaL_error(L, "%s: unknown fault or pattern '%s'%s", with ? "with" : "without", f,
                       dsl_did_you_mean(f, names, dm, 80));
        }
        if (with) {
            if (k >= 0) q->q.sub.with_faults |= 1u << k;
            q->q.sub.with_hits |= hits;
        } else {
            if (k >= 0) q->q.sub.without_faults |= 1u << k;
            q->q.sub.without_hits |= hits;
        }
        desc_add(q, ":%s(%s)", with ? "with" : "without", f);
    }
    return 1;
}

static int q_with(lua_State *L)
{
    return q_with_impl(L, true);
}

static int q_without(lua_State *L)
{
    return q_with_impl(L, false);
}

static int q_agg(lua_State *L, plan_agg agg, const char *name, int ncolargs, bool numeric)
{
    plan_dataset *d;
    const char *a = ncolargs >= 1 ? luaL_checkstring(L, 2) : NULL;
    const char *b = ncolargs >= 2 ? luaL_checkstring(L, 3) : NULL;
    qobj *q = derive(L, name, &d);
    q->has_agg = true;
    q->q.agg = agg;
    char path[64];
    snprintf(path, sizeof path, "%s", name);
    if (agg == PLAN_AGG_GROUP_SUM || agg == PLAN_AGG_GROUP_COUNT) {
        q->q.group_col = dsl_col_or_error(L, d, a, path);
        if (d->cols[q->q.group_col].type == PLAN_T_TIMESTAMP)
            q->q.sub.group_day_col = q->q.group_col;
        if (b) q->q.col = dsl_col_or_error(L, d, b, path);
    } else if (a) {
        q->q.col = dsl_col_or_error(L, d, a, path);
    }
    if (numeric && q->q.col >= 0 && !dsl_numeric_col(&d->cols[q->q.col]))
        luaL_error(L, "%s: column '%s' is not numeric (%s)", name, d->cols[q->q.col].name,
                   plan_type_name(d->cols[q->q.col].type));
    desc_add(q, ":%s(%s%s%s)", name, a ? a : "", b ? "," : "", b ? b : "");
    return 1;
}

static int q_count(lua_State *L)
{
    return q_agg(L, PLAN_AGG_COUNT, "count", 0, false);
}
static int q_count_distinct(lua_State *L)
{
    return q_agg(L, PLAN_AGG_COUNT_DISTINCT, "count_distinct", 1, false);
}
static int q_sum(lua_State *L)
{
    return q_agg(L, PLAN_AGG_SUM, "sum", 1, true);
}
static int q_min(lua_State *L)
{
    return q_agg(L, PLAN_AGG_MIN, "min", 1, false);
}
static int q_max(lua_State *L)
{
    return q_agg(L, PLAN_AGG_MAX, "max", 1, false);
}
static int q_avg(lua_State *L)
{
    return q_agg(L, PLAN_AGG_AVG, "avg", 1, true);
}
static int q_group_sum(lua_State *L)
{
    return q_agg(L, PLAN_AGG_GROUP_SUM, "group_sum", 2, true);
}
static int q_group_count(lua_State *L)
{
    return q_agg(L, PLAN_AGG_GROUP_COUNT, "group_count", 1, false);
}
static int q_ids(lua_State *L)
{
    return q_agg(L, PLAN_AGG_IDS, "ids", 0, false);
}

int dsl_q_tostring(lua_State *L)
{
    qobj *q = dsl_check_q(L, 1);
    lua_pushfstring(L, "query(%s)", q->desc);
    return 1;
}

const luaL_Reg dsl_query_methods[] = {{"valid", q_valid},
                                      {"corrupt", q_corrupt},
                                      {"dedup", q_dedup},
                                      {"with", q_with},
                                      {"without", q_without},
                                      {"count", q_count},
                                      {"count_distinct", q_count_distinct},
                                      {"sum", q_sum},
                                      {"min", q_min},
                                      {"max", q_max},
                                      {"avg", q_avg},
                                      {"group_sum", q_group_sum},
                                      {"group_count", q_group_count},
                                      {"ids", q_ids},
                                      {NULL, NULL}};

/* ds:corrupt{...} is the fault, ds:corrupt() the query of corrupt records. */
int dsl_ds_corrupt(lua_State *L)
{
    if (lua_istable(L, 2)) return dsl_f_corrupt(L);
    return q_corrupt(L);
}

/* __index of datasets and queries: methods, or an error naming the closest one. */
int dsl_method_index(lua_State *L)
{
    const char *k = luaL_checkstring(L, 2);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
    bool is_ds = lua_toboolean(L, lua_upvalueindex(2));
    if (is_ds && strcmp(k, "rows") == 0) {
        lua_pushinteger(L, (lua_Integer)dsl_check_ds(L, 1)->rows);
        return 1;
    }
    const char *names[40];
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, lua_upvalueindex(1)) && n < 39) {
        lua_pop(L, 1);
        names[n++] = lua_tostring(L, -1);
    }
    names[n] = NULL;
    char dm[80];
    if (is_ds)
        return luaL_error(L,
                          "unknown fault '%s'%s (faults: duplicates, late, out_of_order, nulls, "
                          "corrupt, schema_drift, outliers, orphans, pattern)",
                          k, dsl_did_you_mean(k, names, dm, 80));
    return luaL_error(L, "unknown query method '%s'%s", k, dsl_did_you_mean(k, names, dm, 80));
}
