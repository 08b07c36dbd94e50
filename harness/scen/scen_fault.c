/* scen_fault.c - the fault methods of a harness.Dataset (ds:duplicates{}, ds:late{}, ...). */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen_int.h"
#include "units.h"

static plan_fault *add_fault(lua_State *L, plan_dataset *d, plan_fault_kind k)
{
    if (d->changes.on)
        luaL_error(L, "%s: dataset '%s' is a change stream; it takes no record faults",
                   plan_fault_name(k), d->name);
    plan_fault *f = hx_realloc(d->faults, (d->nfaults + 1) * sizeof *f);
    if (!f) luaL_error(L, "out of memory");
    d->faults = f;
    f = &d->faults[d->nfaults++];
    memset(f, 0, sizeof *f);
    f->kind = k;
    f->column = -1;
    char where[200];
    dsl_where_here(L, where, sizeof where);
    f->where = dsl_ldup(L, where);
    return f;
}

static double req_fraction(lua_State *L, int t, const char *path)
{
    double v;
    if (!dsl_opt_fraction(L, t, "fraction", path, &v))
        luaL_error(L, "%s.fraction: required (share of records hit, 0..1)", path);
    return v;
}

static int fault_column(lua_State *L, plan_dataset *d, int t, const char *path)
{
    const char *col = dsl_req_string(L, t, "column", path);
    char p[120];
    snprintf(p, sizeof p, "%s.column", path);
    return dsl_col_or_error(L, d, col, p);
}

static int f_duplicates(lua_State *L)
{
    plan_dataset *d = dsl_check_ds(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    dsl_check_keys(L, 2, (const char *const[]){"fraction", "changed", "gap", NULL}, 0,
                   "duplicates");
    plan_fault *f = add_fault(L, d, PLAN_F_DUPLICATE);
    f->fraction = req_fraction(L, 2, "duplicates");
    dsl_opt_fraction(L, 2, "changed", "duplicates", &f->changed);
    lua_Integer gap = 0;
    dsl_opt_integer(L, 2, "gap", "duplicates", &gap);
    if (gap < 0) luaL_error(L, "duplicates.gap: must be >= 0 records");
    f->gap = (uint64_t)gap;
    if (f->changed > 0 && d->key_col < 0)
        luaL_error(L, "duplicates.changed: changed copies keep their key, so the dataset needs "
                      "one (key = \"id\")");
    lua_settop(L, 1);
    return 1;
}

static int need_time(lua_State *L, plan_dataset *d, const char *what)
{
    if (d->time_col < 0)
        luaL_error(L, "%s: needs a dataset with a time column (time = \"created_at\")", what);
    return d->time_col;
}

static int f_late(lua_State *L)
{
    plan_dataset *d = dsl_check_ds(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    dsl_check_keys(L, 2, (const char *const[]){"fraction", "delay", NULL}, 0, "late");
    need_time(L, d, "late");
    plan_fault *f = add_fault(L, d, PLAN_F_LATE);
    f->fraction = req_fraction(L, 2, "late");
    if (!dsl_opt_duration(L, 2, "delay", "late", &f->delay_us))
        luaL_error(L, "late.delay: required (a duration like \"48h\")");
    f->column = d->time_col;
    lua_settop(L, 1);
    return 1;
}

static int f_out_of_order(lua_State *L)
{
    plan_dataset *d = dsl_check_ds(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    dsl_check_keys(L, 2, (const char *const[]){"fraction", "window", NULL}, 0, "out_of_order");
    need_time(L, d, "out_of_order");
    plan_fault *f = add_fault(L, d, PLAN_F_OUT_OF_ORDER);
    f->fraction = req_fraction(L, 2, "out_of_order");
    if (!dsl_opt_duration(L, 2, "window", "out_of_order", &f->delay_us))
        luaL_error(L, "out_of_order.window: required (a duration like \"5m\")");
    f->column = d->time_col;
    lua_settop(L, 1);
    return 1;
}

static int f_nulls(lua_State *L)
{
    plan_dataset *d = dsl_check_ds(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    dsl_check_keys(L, 2, (const char *const[]){"column", "fraction", NULL}, 0, "nulls");
    int c = fault_column(L, d, 2, "nulls");
    if (c == d->key_col)
        luaL_error(L, "nulls.column: '%s' is the dataset's key; null keys cannot be checked",
                   d->cols[c].name);
    plan_fault *f = add_fault(L, d, PLAN_F_NULLS);
    f->column = c;
    f->fraction = req_fraction(L, 2, "nulls");
    lua_settop(L, 1);
    return 1;
}

static const char *const corrupt_names[] = {"truncate",     "bad_type",       "bad_utf8",
                                            "extra_column", "missing_column", NULL};

int dsl_f_corrupt(lua_State *L)
{
    plan_dataset *d = dsl_check_ds(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    dsl_check_keys(L, 2, (const char *const[]){"fraction", "kinds", NULL}, 0, "corrupt");
    plan_fault *f = add_fault(L, d, PLAN_F_CORRUPT);
    f->fraction = req_fraction(L, 2, "corrupt");
    f->corrupt_mask = PLAN_C_ALL;
    int ty = lua_getfield(L, 2, "kinds");
    if (ty == LUA_TTABLE) {
        f->corrupt_mask = 0;
        lua_Integer n = luaL_len(L, -1);
        for (lua_Integer i = 1; i <= n; i++) {
            if (lua_geti(L, -1, i) != LUA_TSTRING)
                luaL_error(L, "corrupt.kinds[%I]: expected a string", i);
            const char *k = lua_tostring(L, -1);
            int ki = dsl_lookup(k, corrupt_names);
            if (ki < 0) {
                char dm[80];
                luaL_error(L,
                           "corrupt.kinds[%I]: unknown kind '%s'%s (truncate, bad_type, "
                           "bad_utf8, extra_column, missing_column)",
                           i, k, dsl_did_you_mean(k, corrupt_names, dm, 80));
            }
            f->corrupt_mask |= 1u << ki;
            lua_pop(L, 1);
        }
        if (!f->corrupt_mask) luaL_error(L, "corrupt.kinds: must not be empty");
    } else if (ty != LUA_TNIL) {
        luaL_error(L, "corrupt.kinds: expected a list of strings, got %s", luaL_typename(L, -1));
    }
    lua_settop(L, 1);
    return 1;
}

static int f_schema_drift(lua_State *L)
{
    plan_dataset *d = dsl_check_ds(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    dsl_check_keys(L, 2, (const char *const[]){"at_batch", "add", "type", "rename", "retype", NULL},
                   0, "schema_drift");
    lua_Integer at;
    if (!dsl_opt_integer(L, 2, "at_batch", "schema_drift", &at))
        luaL_error(L, "schema_drift.at_batch: required (the first batch, 0-based, with the new "
                      "schema)");
    if (at < 0 || (d->nbatches && (uint64_t)at >= d->nbatches))
        luaL_error(L, "schema_drift.at_batch: %I is outside the dataset's batches 0..%d", at,
                   (int)d->nbatches - 1);
    const char *add = dsl_opt_string(L, 2, "add", "schema_drift");
    bool has_rename = lua_getfield(L, 2, "rename") != LUA_TNIL;
    bool has_retype = lua_getfield(L, 2, "retype") != LUA_TNIL;
    lua_pop(L, 2);
    if ((add != NULL) + has_rename + has_retype != 1)
        luaL_error(L, "schema_drift: give exactly one of add = \"col\", rename = { from = , to = } "
                      "or retype = { column = , type = }");
    plan_fault *f = add_fault(L, d, PLAN_F_SCHEMA_DRIFT);
    f->at_batch = (uint32_t)at;
    if (add) {
        if (plan_dataset_column(d, add) >= 0)
            luaL_error(L, "schema_drift.add: the dataset already has a column '%s'", add);
        const char *ty = dsl_opt_string(L, 2, "type", "schema_drift");
        f->drift = PLAN_DRIFT_ADD;
        f->new_type = ty ? dsl_parse_type(L, ty, "schema_drift.type") : PLAN_T_STRING;
        f->name = dsl_ldup(L, add);
    } else if (has_rename) {
        lua_getfield(L, 2, "rename");
        dsl_need_type(L, -1, LUA_TTABLE, "schema_drift", "rename", "a table { from = , to = }");
        int t = lua_gettop(L);
        dsl_check_keys(L, t, (const char *const[]){"from", "to", NULL}, 0, "schema_drift.rename");
        const char *from = dsl_req_string(L, t, "from", "schema_drift.rename");
        const char *to = dsl_req_string(L, t, "to", "schema_drift.rename");
        f->drift = PLAN_DRIFT_RENAME;
        f->column = dsl_col_or_error(L, d, from, "schema_drift.rename.from");
        if (plan_dataset_column(d, to) >= 0)
            luaL_error(L, "schema_drift.rename.to: the dataset already has a column '%s'", to);
        f->name = dsl_ldup(L, to);
    } else {
        lua_getfield(L, 2, "retype");
        dsl_need_type(L, -1, LUA_TTABLE, "schema_drift", "retype", "a table { column = , type = }");
        int t = lua_gettop(L);
        dsl_check_keys(L, t, (const char *const[]){"column", "type", NULL}, 0,
                       "schema_drift.retype");
        f->drift = PLAN_DRIFT_RETYPE;
        f->column = fault_column(L, d, t, "schema_drift.retype");
        f->new_type = dsl_parse_type(L, dsl_req_string(L, t, "type", "schema_drift.retype"),
                                     "schema_drift.retype.type");
    }
    lua_settop(L, 1);
    return 1;
}

bool dsl_numeric_col(const plan_column *c)
{
    return c->type == PLAN_T_INT || c->type == PLAN_T_DECIMAL;
}

static int f_outliers(lua_State *L)
{
    plan_dataset *d = dsl_check_ds(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    dsl_check_keys(L, 2, (const char *const[]){"column", "fraction", "factor", NULL}, 0,
                   "outliers");
    int c = fault_column(L, d, 2, "outliers");
    if (!dsl_numeric_col(&d->cols[c]) || d->cols[c].kind == PLAN_COL_FK ||
        d->cols[c].kind == PLAN_COL_SEQUENCE)
        luaL_error(L,
                   "outliers.column: '%s' is not a numeric measure (int, decimal, normal, "
                   "lognormal)",
                   d->cols[c].name);
    plan_fault *f = add_fault(L, d, PLAN_F_OUTLIERS);
    f->column = c;
    f->fraction = req_fraction(L, 2, "outliers");
    f->factor = 10;
    dsl_opt_number(L, 2, "factor", "outliers", &f->factor);
    lua_settop(L, 1);
    return 1;
}

static int f_orphans(lua_State *L)
{
    plan_dataset *d = dsl_check_ds(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    dsl_check_keys(L, 2, (const char *const[]){"column", "fraction", NULL}, 0, "orphans");
    int c = fault_column(L, d, 2, "orphans");
    if (d->cols[c].kind != PLAN_COL_FK)
        luaL_error(L, "orphans.column: '%s' is not a foreign key (kind fk)", d->cols[c].name);
    plan_fault *f = add_fault(L, d, PLAN_F_ORPHANS);
    f->column = c;
    f->fraction = req_fraction(L, 2, "orphans");
    lua_settop(L, 1);
    return 1;
}

const luaL_Reg dsl_fault_methods[] = {
    {"duplicates", f_duplicates},       {"late", f_late},
    {"out_of_order", f_out_of_order},   {"nulls", f_nulls},
    {"corrupt_records", dsl_f_corrupt}, {"schema_drift", f_schema_drift},
    {"outliers", f_outliers},           {"orphans", f_orphans},
    {"pattern", dsl_f_pattern},         {NULL, NULL}};
