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
#include "units.h"

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
    if (q->q.grp.nkeys)
        luaL_error(L,
                   "%s: the query is grouped (group{...}); end it in :agg{ name = \"count\", ... }",
                   name);
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
/* The named entries of the table at t (string keys), sorted, into names (at most max);
 * returns how many. Lua's order of a table's keys is not stable; the output columns' is. */
static size_t sorted_names(lua_State *L, int t, const char *names[], size_t max, const char *path)
{
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) continue;
        if (n == max) luaL_error(L, "%s: at most %d entries", path, PLAN_GROUP_MAX);
        names[n++] = lua_tostring(L, -1);
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *x = names[j];
            names[j] = names[j - 1];
            names[j - 1] = x;
        }
    return n;
}

static void group_name(lua_State *L, char *dst, const char *name, const char *path)
{
    if (!*name || strlen(name) >= PLAN_GROUP_NAME)
        luaL_error(L, "%s: a column name of 1 to %d bytes, got '%s'", path, PLAN_GROUP_NAME - 1,
                   name);
    snprintf(dst, PLAN_GROUP_NAME, "%s", name);
}

/* ds:group{ "merchant_id", minute = "ts" }: group by columns (positional, in order) and by a
 * timestamp column's bucket (named: second, minute, hour or day = "col", or name = { "col",
 * "5m" }), the named ones after the positional ones, by name. agg{} comes next. */
static int q_group(lua_State *L)
{
    static const char *const units[] = {"second", "minute", "hour", "day", NULL};
    static const int64_t unit_us[] = {1000000LL, 60000000LL, 3600000000LL, 86400000000LL};
    plan_dataset *d;
    luaL_checktype(L, 2, LUA_TTABLE);
    qobj *q = derive(L, "group", &d);
    if (q->q.grp.nkeys) luaL_error(L, "group: the query is grouped already");
    plan_grouping *g = &q->q.grp;
    lua_Integer npos = (lua_Integer)lua_rawlen(L, 2);
    for (lua_Integer i = 1; i <= npos; i++) {
        if (g->nkeys == PLAN_GROUP_MAX) luaL_error(L, "group: at most %d keys", PLAN_GROUP_MAX);
        lua_rawgeti(L, 2, i);
        const char *col = luaL_checkstring(L, -1);
        plan_group_key *k = &g->keys[g->nkeys++];
        k->col = dsl_col_or_error(L, d, col, "group");
        group_name(L, k->name, col, "group");
        lua_pop(L, 1);
    }
    const char *names[PLAN_GROUP_MAX + 1];
    size_t nn = sorted_names(L, 2, names, PLAN_GROUP_MAX, "group");
    for (size_t i = 0; i < nn; i++) {
        if (g->nkeys == PLAN_GROUP_MAX) luaL_error(L, "group: at most %d keys", PLAN_GROUP_MAX);
        plan_group_key *k = &g->keys[g->nkeys++];
        group_name(L, k->name, names[i], "group");
        int ty = lua_getfield(L, 2, names[i]);
        const char *col = NULL;
        if (ty == LUA_TSTRING) {
            int u = dsl_lookup(names[i], units);
            if (u < 0)
                luaL_error(L,
                           "group: %s = \"%s\": a named key is a bucket; name it second, minute, "
                           "hour or day, or write %s = { \"%s\", \"5m\" }",
                           names[i], lua_tostring(L, -1), names[i], lua_tostring(L, -1));
            col = lua_tostring(L, -1);
            k->bucket_us = unit_us[u];
        } else if (ty == LUA_TTABLE) {
            lua_rawgeti(L, -1, 1);
            lua_rawgeti(L, -2, 2);
            col = luaL_checkstring(L, -2);
            const char *every = luaL_checkstring(L, -1);
            hx_err e = {0};
            if (units_duration_us(every, &k->bucket_us, &e) || k->bucket_us <= 0)
                luaL_error(L, "group: %s: bucket '%s' is not a positive duration", names[i], every);
            lua_pop(L, 2);
        } else {
            luaL_error(L, "group: %s: expected \"column\" or { \"column\", \"5m\" }, got %s",
                       names[i], luaL_typename(L, -1));
        }
        k->col = dsl_col_or_error(L, d, col, "group");
        if (d->cols[k->col].type != PLAN_T_TIMESTAMP)
            luaL_error(L, "group: %s: column '%s' is %s; a bucket needs a timestamp", names[i], col,
                       plan_type_name(d->cols[k->col].type));
        lua_pop(L, 1);
    }
    if (!g->nkeys) luaL_error(L, "group: name at least one column, as in group{ \"merchant_id\" }");
    desc_add(q, ":group(");
    for (size_t i = 0; i < g->nkeys; i++)
        desc_add(q, "%s%s", i ? "," : "", g->keys[i].name);
    desc_add(q, ")");
    return 1;
}

/* :agg{ payments = "count", amount = "sum(amount)" } after group{}: the output columns, by
 * name. */
static int q_agg_groups(lua_State *L)
{
    plan_dataset *d;
    luaL_checktype(L, 2, LUA_TTABLE);
    qobj *q = derive(L, "agg", &d);
    plan_grouping *g = &q->q.grp;
    if (!g->nkeys)
        luaL_error(L, "agg: group first, as in ds:group{ \"merchant_id\" }:agg{ n = \"count\" }");
    const char *names[PLAN_GROUP_MAX + 1];
    size_t nn = sorted_names(L, 2, names, PLAN_GROUP_MAX, "agg");
    if (!nn || lua_rawlen(L, 2))
        luaL_error(L, "agg: name each aggregate, as in agg{ payments = \"count\", amount = "
                      "\"sum(amount)\" }");
    for (size_t i = 0; i < nn; i++) {
        plan_group_agg *a = &g->aggs[g->naggs++];
        group_name(L, a->name, names[i], "agg");
        for (size_t k = 0; k < g->nkeys; k++)
            if (strcmp(g->keys[k].name, names[i]) == 0)
                luaL_error(L, "agg: '%s' is a group key's name already", names[i]);
        lua_getfield(L, 2, names[i]);
        const char *f = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
        size_t fl = strlen(f);
        a->col = -1;
        if (strcmp(f, "count") == 0 || strcmp(f, "count()") == 0) {
            a->agg = PLAN_AGG_COUNT;
        } else if (fl > 5 && strncmp(f, "sum(", 4) == 0 && f[fl - 1] == ')') {
            char col[PLAN_GROUP_NAME + 8];
            snprintf(col, sizeof col, "%.*s", (int)(fl - 5), f + 4);
            a->agg = PLAN_AGG_SUM;
            a->col = dsl_col_or_error(L, d, col, "agg");
            if (!dsl_numeric_col(&d->cols[a->col]))
                luaL_error(L, "agg: %s: column '%s' is not numeric (%s)", names[i], col,
                           plan_type_name(d->cols[a->col].type));
        } else {
            luaL_error(L, "agg: %s = \"%s\": write \"count\" or \"sum(column)\"", names[i], f);
        }
        lua_pop(L, 1);
    }
    q->has_agg = true;
    q->q.agg = PLAN_AGG_GROUPS;
    desc_add(q, ":agg(");
    for (size_t i = 0; i < g->naggs; i++)
        desc_add(q, "%s%s", i ? "," : "", g->aggs[i].name);
    desc_add(q, ")");
    return 1;
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
                                      {"group", q_group},
                                      {"agg", q_agg_groups},
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
