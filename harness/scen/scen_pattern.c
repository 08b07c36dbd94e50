/* scen_pattern.c - ds:pattern{}: a planted multi-record pattern (velocity, outlier, geo,
 * card_testing, burst) as a fault of the dataset; the generator places it (gen_pattern.c) and
 * ds:with("<name>") selects its records. */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scen_int.h"

static const char *const pattern_kinds[] = {"velocity",     "outlier", "geo",
                                            "card_testing", "burst",   NULL};
/* Per kind: default size, default window (seconds), default factor. */
static const struct {
    uint32_t size;
    int64_t window_s;
    double factor;
} pattern_defaults[] = {{8, 120, 1}, {6, 3600, 10}, {2, 600, 1}, {6, 600, 10}, {10, 300, 1}};

/* The names ds:with() knows as fault kinds; a pattern may not take one of them. */
static const char *const reserved[] = {
    "duplicates",   "late",     "out_of_order", "nulls",   "corrupt",
    "schema_drift", "outliers", "orphans",      "pattern", NULL};

static int pattern_col(lua_State *L, plan_dataset *d, const char *col, const char *path)
{
    return dsl_col_or_error(L, d, col, path);
}

int dsl_f_pattern(lua_State *L)
{
    plan_dataset *d = dsl_check_ds(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    dsl_check_keys(L, 2,
                   (const char *const[]){"kind", "name", "count", "fraction", "size", "window",
                                         "key", "amount", "factor", "small", "columns", "set",
                                         NULL},
                   0, "pattern");
    const char *kind = dsl_req_string(L, 2, "kind", "pattern");
    int ki = dsl_lookup(kind, pattern_kinds);
    if (ki < 0) {
        char dm[80];
        luaL_error(L,
                   "pattern.kind: unknown kind '%s'%s (velocity, outlier, geo, card_testing, "
                   "burst)",
                   kind, dsl_did_you_mean(kind, pattern_kinds, dm, 80));
    }
    const char *name = dsl_opt_string(L, 2, "name", "pattern");
    if (!name) name = kind;
    dsl_check_path_name(L, "pattern.name", name);
    if (dsl_lookup(name, reserved) >= 0)
        luaL_error(L, "pattern.name: '%s' is a fault's name; ds:with(\"%s\") would mean that fault",
                   name, name);
    for (size_t i = 0; i < d->nfaults; i++)
        if (d->faults[i].kind == PLAN_F_PATTERN && strcmp(d->faults[i].name, name) == 0)
            luaL_error(L, "pattern.name: the dataset already has a pattern '%s'; name = \"...\"",
                       name);
    if (d->nfaults >= 64) luaL_error(L, "pattern: the dataset has 64 faults, the limit");
    lua_Integer size = pattern_defaults[ki].size;
    dsl_opt_integer(L, 2, "size", "pattern", &size);
    if (size < 2 || size > 65535)
        luaL_error(L, "pattern.size: %I records; a pattern spans 2..65535", size);
    int64_t window = pattern_defaults[ki].window_s * 1000000;
    dsl_opt_duration(L, 2, "window", "pattern", &window);
    if (window <= 0) luaL_error(L, "pattern.window: must be above 0");
    lua_Integer count = -1;
    double fraction = -1;
    bool has_count = dsl_opt_integer(L, 2, "count", "pattern", &count);
    bool has_frac = dsl_opt_fraction(L, 2, "fraction", "pattern", &fraction);
    if (has_count == has_frac)
        luaL_error(L, "pattern: give count = <instances> or fraction = <share of the records>");
    if (has_count && count < 0) luaL_error(L, "pattern.count: must be >= 0");
    if (has_frac) count = (lua_Integer)llround(fraction * (double)d->rows / (double)size);
    const char *key = dsl_req_string(L, 2, "key", "pattern");
    int kc = pattern_col(L, d, key, "pattern.key");
    if (d->cols[kc].kind != PLAN_COL_FK || d->cols[kc].u.fk.via)
        luaL_error(L,
                   "pattern.key: '%s' must be an fk column with a parent of its own (the card "
                   "or merchant the records share)",
                   key);
    const char *amount = dsl_opt_string(L, 2, "amount", "pattern");
    int ac = amount ? pattern_col(L, d, amount, "pattern.amount") : -1;
    if (ac >= 0 && (!dsl_numeric_col(&d->cols[ac]) || d->cols[ac].kind == PLAN_COL_FK ||
                    d->cols[ac].kind == PLAN_COL_SEQUENCE || ac == d->key_col))
        luaL_error(L,
                   "pattern.amount: '%s' is not a numeric measure (int, decimal, normal, "
                   "lognormal)",
                   amount);
    if (ac < 0 && (ki == PLAN_P_OUTLIER || ki == PLAN_P_CARD_TESTING))
        luaL_error(L, "pattern.amount: required for a %s pattern (the column it changes)", kind);
    double factor = pattern_defaults[ki].factor;
    bool has_factor = dsl_opt_number(L, 2, "factor", "pattern", &factor);
    if (has_factor && ac < 0) luaL_error(L, "pattern.factor: needs amount = \"<column>\"");
    if (!(factor > 0) || !isfinite(factor)) luaL_error(L, "pattern.factor: must be above 0");
    double small = 2;
    bool has_small = dsl_opt_number(L, 2, "small", "pattern", &small);
    if (has_small && ki != PLAN_P_CARD_TESTING)
        luaL_error(L, "pattern.small: only a card_testing pattern has tiny amounts");
    if (!(small > 0)) luaL_error(L, "pattern.small: must be above 0");

    plan_fault tmp = {0};
    int ty = lua_getfield(L, 2, "columns");
    if (ty == LUA_TTABLE) {
        if (ki != PLAN_P_GEO) luaL_error(L, "pattern.columns: only a geo pattern changes columns");
        lua_Integer n = luaL_len(L, -1);
        if (n < 1 || n > PLAN_PATTERN_MAX_COLS)
            luaL_error(L, "pattern.columns: 1 to %d column names", PLAN_PATTERN_MAX_COLS);
        for (lua_Integer i = 1; i <= n; i++) {
            if (lua_geti(L, -1, i) != LUA_TSTRING)
                luaL_error(L, "pattern.columns[%I]: expected a column name", i);
            int c = pattern_col(L, d, lua_tostring(L, -1), "pattern.columns");
            if (c == kc || c == d->key_col || c == d->time_col)
                luaL_error(L,
                           "pattern.columns[%I]: '%s' is the key, the pattern's key or the "
                           "time; name the columns that differ (country, device)",
                           i, d->cols[c].name);
            tmp.pcols[tmp.npcols++] = c;
            lua_pop(L, 1);
        }
    } else if (ty != LUA_TNIL) {
        luaL_error(L, "pattern.columns: expected a list of column names, got %s",
                   luaL_typename(L, -1));
    } else if (ki == PLAN_P_GEO) {
        luaL_error(L, "pattern.columns: required for a geo pattern (the columns whose values "
                      "change, e.g. { \"country\" })");
    }
    lua_pop(L, 1);
    ty = lua_getfield(L, 2, "set");
    int st = lua_gettop(L);
    if (ty == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, st)) {
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
                luaL_error(L, "pattern.set: expected { column = \"text\" }");
            int c = pattern_col(L, d, lua_tostring(L, -2), "pattern.set");
            if (d->cols[c].type != PLAN_T_STRING || c == d->key_col || c == kc)
                luaL_error(L, "pattern.set: '%s' is not a text column the pattern may set",
                           d->cols[c].name);
            if (tmp.nset == PLAN_PATTERN_MAX_COLS)
                luaL_error(L, "pattern.set: at most %d columns", PLAN_PATTERN_MAX_COLS);
            tmp.set_cols[tmp.nset++] = c;
            lua_pop(L, 1);
        }
    } else if (ty != LUA_TNIL) {
        luaL_error(L, "pattern.set: expected { column = \"text\" }, got %s", luaL_typename(L, -1));
    }
    /* Every check is done: from here on nothing raises before the fault is whole. */
    plan_fault *f = hx_realloc(d->faults, (d->nfaults + 1) * sizeof *f);
    if (!f) luaL_error(L, "out of memory");
    d->faults = f;
    f = &d->faults[d->nfaults];
    *f = tmp;
    f->kind = PLAN_F_PATTERN;
    f->column = kc;
    f->pattern = (plan_pattern_kind)ki;
    f->count = (uint64_t)count;
    f->size = (uint32_t)size;
    f->window_us = window;
    f->amount_col = ac;
    f->factor = factor;
    f->small = small;
    f->nset = 0;
    char where[200];
    dsl_where_here(L, where, sizeof where);
    f->where = hx_strdup(where);
    f->name = hx_strdup(name);
    d->nfaults++; /* owned by the dataset now: its release frees what was copied */
    if (!f->where || !f->name) luaL_error(L, "out of memory");
    if (ty == LUA_TTABLE)
        for (size_t k = 0; k < tmp.nset; k++) {
            lua_getfield(L, st, d->cols[tmp.set_cols[k]].name);
            f->set_vals[k] = hx_strdup(lua_tostring(L, -1));
            if (!f->set_vals[k]) luaL_error(L, "out of memory");
            f->nset = k + 1;
            lua_pop(L, 1);
        }
    lua_settop(L, 1);
    return 1;
}
