/* scen_check.c - harness.Check: the check constructors, read and validated as the check kinds table
 * (check.h) describes each kind; plugin "name".check { }. */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen_int.h"
#include "units.h"

static void check_free(plan_check *c)
{
    if (!c) return;
    plan_scenario tmp = {0};
    tmp.checks = c;
    tmp.nchecks = 1;
    plan_scenario_release(&tmp);
}

int dsl_chk_gc(lua_State *L)
{
    chkobj *o = luaL_checkudata(L, 1, T_CHECK);
    check_free(o->c);
    o->c = NULL;
    return 0;
}

int dsl_chk_tostring(lua_State *L)
{
    chkobj *o = luaL_checkudata(L, 1, T_CHECK);
    lua_pushfstring(L, "check(%s %s)", o->c ? chk_kind_name(o->c->kind) : "?",
                    o->c && o->c->table ? o->c->table : "");
    return 1;
}

/* Keys that go to plan_check fields; every other allowed key becomes a JSON param. */
static const char *const field_keys[] = {
    "name", "severity", "timeout", "lock_timeout", "table", "topic",   "column",  "values",
    "ref",  "equals",   "expect",  "tolerance",    "key",   "columns", "max_age", NULL};

static void add_param(lua_State *L, plan_check *c, const char *key, int vidx, const char *path)
{
    hx_buf b;
    hx_buf_init(&b);
    char p[160];
    snprintf(p, sizeof p, "%s.%s", path, key);
    dsl_json_value(L, vidx, &b, p, 0); /* may raise: b leaks nothing as long as it is released */
    plan_param *v = hx_realloc(c->params, (c->nparams + 1) * sizeof *v);
    if (!v || b.oom) {
        hx_buf_release(&b);
        luaL_error(L, "out of memory");
    }
    c->params = v;
    v[c->nparams].key = NULL;
    v[c->nparams].json = hx_buf_steal(&b);
    c->nparams++;
    v[c->nparams - 1].key = dsl_ldup(L, key);
}

/* The expected value at t[k]: number, string or query (kept in the check's uservalue). */
static void parse_expect(lua_State *L, int t, int ud, const char *k, plan_check *c,
                         const char *path)
{
    int ty = lua_getfield(L, t, k);
    if (ty == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    if (ty == LUA_TNUMBER) {
        c->expect.kind = PLAN_EXP_NUMBER;
        c->expect.number = lua_tonumber(L, -1);
    } else if (ty == LUA_TSTRING) {
        c->expect.kind = PLAN_EXP_STRING;
        c->expect.string = dsl_ldup(L, lua_tostring(L, -1));
    } else if (luaL_testudata(L, -1, T_QUERY)) {
        qobj *q = dsl_check_q(L, -1);
        unsigned fl = chk_kind_get(c->kind)->flags;
        if (q->q.grp.nkeys && !q->has_agg)
            luaL_error(L, "%s.%s: a grouped query ends in :agg{ name = \"count\", ... } (%s)", path,
                       k, q->desc);
        if (q->q.agg == PLAN_AGG_GROUPS && c->kind != PLAN_CHK_TOPIC)
            luaL_error(L,
                       "%s.%s: a query grouped by group{}:agg{} is the expectation of a topic "
                       "check (a summary message per group); here use :group_sum or :group_count "
                       "(%s)",
                       path, k, q->desc);
        if (!q->has_agg && !(fl & CHK_K_ROWS))
            luaL_error(L,
                       "%s.%s: the query has no aggregate; end it in :count(), :sum(\"col\"), "
                       "... (%s)",
                       path, k, q->desc);
        c->expect.kind = PLAN_EXP_QUERY;
        c->expect.query = q->q;
        if (!q->has_agg && (fl & CHK_K_IDS)) c->expect.query.agg = PLAN_AGG_IDS;
        lua_pushvalue(L, -1);
        lua_setiuservalue(L, ud, 1);
    } else if (luaL_testudata(L, -1, T_DATASET)) {
        luaL_error(L, "%s.%s: a dataset is not a query; write ds:valid() or ds:count()", path, k);
    } else {
        luaL_error(L, "%s.%s: expected a number, a string or a query, got %s", path, k,
                   luaL_typename(L, -1));
    }
    lua_pop(L, 1);
}

static char *join_strv(lua_State *L, char **v, size_t n)
{
    hx_buf b;
    hx_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        if (i) hx_buf_putc(&b, ',');
        hx_buf_puts(&b, v[i]);
    }
    if (b.oom || !b.data) {
        hx_buf_release(&b);
        return dsl_ldup(L, "");
    }
    return hx_buf_steal(&b);
}

/* Kind kd takes key: it lists it, or (a kind taking any key, like plugin) it is one of the keys
 * every check reads into its fields. */
static bool takes(const chk_kind *kd, const char *key)
{
    static const char *const any_kind[] = {"table",  "topic",     "column", "equals",
                                           "expect", "tolerance", NULL};
    return dsl_lookup(key, kd->keys ? kd->keys : any_kind) >= 0;
}

/* Build a check of kind k from the table at t, as its descriptor (check.h) says; for plugins,
 * plugin/pcheck name it. */
static int make_check(lua_State *L, plan_check_kind k, int t, const char *plugin,
                      const char *pcheck)
{
    const chk_kind *kd = chk_kind_get(k);
    const char *kname = kd->name;
    unsigned fl = kd->flags;
    char path[160];
    if (fl & CHK_K_PLUGIN)
        snprintf(path, sizeof path, "plugin \"%s\".%s", plugin, pcheck);
    else
        snprintf(path, sizeof path, "%s", kname);
    if (!lua_istable(L, t))
        luaL_error(L, "%s: expected a table { ... }, got %s", path, luaL_typename(L, t));
    if (kd->keys) {
        const char *allowed[64] = {"name", "severity", "timeout", "lock_timeout"};
        size_t n = 4;
        for (size_t i = 0; kd->keys[i] && n < 63; i++)
            allowed[n++] = kd->keys[i];
        allowed[n] = NULL;
        dsl_check_keys(L, t, allowed, (fl & CHK_K_SQL_TEXT) ? 1 : 0, path);
    }
    chkobj *o = lua_newuserdatauv(L, sizeof *o, 1);
    o->c = NULL;
    luaL_setmetatable(L, T_CHECK);
    int ud = lua_gettop(L);
    plan_check *c = o->c = dsl_lcalloc(L, 1, sizeof *c);
    c->kind = k;
    char where[200];
    dsl_where_here(L, where, sizeof where);
    c->where = dsl_ldup(L, where);
    if (fl & CHK_K_PLUGIN) {
        c->plugin = dsl_ldup(L, plugin);
        c->plugin_check = dsl_ldup(L, pcheck);
    }

    const char *name = dsl_opt_string(L, t, "name", path);
    c->name = name ? dsl_ldup(L, name) : NULL;
    const char *sev = dsl_opt_string(L, t, "severity", path);
    if (sev && strcmp(sev, "warn") == 0)
        c->severity = PLAN_SEV_WARN;
    else if (sev && strcmp(sev, "error") != 0) {
        static const char *const sevs[] = {"error", "warn", NULL};
        char dm[80];
        luaL_error(L, "%s.severity: expected \"error\" or \"warn\", got '%s'%s", path, sev,
                   dsl_did_you_mean(sev, sevs, dm, 80));
    }

    /* Every kind: the limits of the check's queries (the defaults are in check.h). */
    if (dsl_opt_duration(L, t, "timeout", path, &c->timeout_us) && c->timeout_us < 1000)
        luaL_error(L, "%s.timeout: must be at least 1ms", path);
    if (dsl_opt_duration(L, t, "lock_timeout", path, &c->lock_timeout_us) &&
        c->lock_timeout_us < 1000)
        luaL_error(L, "%s.lock_timeout: must be at least 1ms", path);

    if (fl & CHK_K_SQL_TEXT) {
        if (lua_geti(L, t, 1) != LUA_TSTRING)
            luaL_error(L, "%s: the first entry must be the SQL text, got %s", path,
                       luaL_typename(L, -1));
        c->query = dsl_ldup(L, lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    bool by_path = takes(kd, "path");
    const char *table = dsl_opt_string(L, t, by_path ? "path" : "table", path);
    const char *topic = dsl_opt_string(L, t, "topic", path);
    if (table && topic) luaL_error(L, "%s: give a table or a topic, not both", path);
    c->table = dsl_ldup(L, table ? table : topic);
    if (topic && !(fl & CHK_K_ON_TOPIC)) {
        lua_pushstring(L, "topic");
        add_param(L, c, "sink", lua_gettop(L), path);
        lua_pop(L, 1);
    }
    if ((fl & CHK_K_NEEDS_TABLE) && !c->table)
        luaL_error(L, "%s.%s: required", path,
                   (fl & CHK_K_ON_TOPIC) ? "topic"
                   : by_path             ? "path"
                                         : "table");

    if (takes(kd, "column")) {
        char **cols = NULL;
        size_t nc = 0;
        dsl_opt_strv(L, t, "column", path, &cols, &nc);
        if (cols) {
            c->column = join_strv(L, cols, nc);
            for (size_t i = 0; i < nc; i++)
                hx_free(cols[i]);
            hx_free(cols);
        }
    }
    if ((fl & CHK_K_NEEDS_COLUMN) && !c->column) luaL_error(L, "%s.column: required", path);
    if (takes(kd, "values")) {
        dsl_opt_strv(L, t, "values", path, &c->values, &c->nvalues);
        if (!c->nvalues) luaL_error(L, "%s.values: required (a non-empty list)", path);
    }
    if (takes(kd, "ref")) {
        const char *ref = dsl_req_string(L, t, "ref", path);
        const char *dot = strrchr(ref, '.');
        if (!dot || dot == ref || !dot[1])
            luaL_error(L, "%s.ref: expected \"table.column\", got '%s'", path, ref);
        c->ref_table = hx_strndup(ref, (size_t)(dot - ref));
        if (!c->ref_table) luaL_error(L, "out of memory");
        c->ref_column = dsl_ldup(L, dot + 1);
    }
    if (takes(kd, "max_age") && !dsl_opt_duration(L, t, "max_age", path, &c->max_age_us))
        luaL_error(L, "%s.max_age: required (a duration like \"1h\")", path);
    if (takes(kd, "columns") && (fl & CHK_K_COLUMN_TYPES)) {
        if (lua_getfield(L, t, "columns") != LUA_TTABLE)
            luaL_error(L, "%s.columns: expected { column = \"type\", ... }, got %s", path,
                       luaL_typename(L, -1));
        int ct = lua_gettop(L);
        size_t n = 0;
        lua_pushnil(L);
        while (lua_next(L, ct)) {
            n++;
            lua_pop(L, 1);
        }
        if (!n) luaL_error(L, "%s.columns: must not be empty", path);
        c->columns = dsl_lcalloc(L, n, sizeof(char *));
        c->types = dsl_lcalloc(L, n, sizeof(char *));
        c->ncolumns = n;
        size_t i = 0;
        lua_pushnil(L);
        while (lua_next(L, ct)) {
            if (lua_type(L, -2) == LUA_TSTRING) { /* name = "type" */
                if (lua_type(L, -1) != LUA_TSTRING)
                    luaL_error(L, "%s.columns.%s: expected a SQL type string, got %s", path,
                               lua_tostring(L, -2), luaL_typename(L, -1));
                c->columns[i] = dsl_ldup(L, lua_tostring(L, -2));
                c->types[i] = dsl_ldup(L, lua_tostring(L, -1));
            } else { /* a bare name: any type */
                if (lua_type(L, -1) != LUA_TSTRING)
                    luaL_error(L, "%s.columns: expected column names or name = \"type\"", path);
                c->columns[i] = dsl_ldup(L, lua_tostring(L, -1));
            }
            i++;
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        /* pairs() order varies between runs: sort by name so the plan is reproducible. */
        for (size_t a = 1; a < n; a++)
            for (size_t b = a; b > 0 && strcmp(c->columns[b - 1], c->columns[b]) > 0; b--) {
                char *x = c->columns[b], *y = c->types[b];
                c->columns[b] = c->columns[b - 1], c->types[b] = c->types[b - 1];
                c->columns[b - 1] = x, c->types[b - 1] = y;
            }
        c->column = join_strv(L, c->columns, c->ncolumns);
    } else if (takes(kd, "columns") && kd->keys) {
        dsl_opt_strv(L, t, "columns", path, &c->columns, &c->ncolumns);
    }
    const char *key = NULL;
    if (takes(kd, "key") && kd->keys) key = dsl_opt_string(L, t, "key", path);
    if ((fl & CHK_K_KEY_COLUMN) && !key && c->column) key = c->column;
    c->key = dsl_ldup(L, key);

    parse_expect(L, t, ud, "equals", c, path);
    if (c->expect.kind == PLAN_EXP_NONE) parse_expect(L, t, ud, "expect", c, path);
    if ((fl & CHK_K_NEEDS_QUERY) && c->expect.kind != PLAN_EXP_QUERY)
        luaL_error(L, "%s.expect: required, a query like orders:valid()%s", path,
                   (fl & CHK_K_IDS) ? " or orders:corrupt()" : "");
    if ((fl & CHK_K_NEEDS_EQUALS) && c->expect.kind == PLAN_EXP_NONE)
        luaL_error(L, "%s.equals: required (a number, a string or a query)", path);
    double tol = 0;
    if (dsl_opt_number(L, t, "tolerance", path, &tol) && tol < 0)
        luaL_error(L, "%s.tolerance: must be >= 0", path);
    c->tolerance = tol;

    /* Everything else is a parameter for the check's implementation; a kind taking any key (a
     * plugin) sees all its options. */
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            const char *kk = lua_tostring(L, -2);
            bool field = kd->keys
                             ? dsl_lookup(kk, field_keys) >= 0 || (by_path && !strcmp(kk, "path"))
                             : !strcmp(kk, "name") || !strcmp(kk, "severity") ||
                                   !strcmp(kk, "timeout") || !strcmp(kk, "lock_timeout");
            if (!field) add_param(L, c, kk, lua_gettop(L), path);
        }
        lua_pop(L, 1);
    }
    /* Parameters in key order, for reproducible plans. */
    for (size_t a = 1; a < c->nparams; a++)
        for (size_t b = a; b > 0 && strcmp(c->params[b - 1].key, c->params[b].key) > 0; b--) {
            plan_param x = c->params[b];
            c->params[b] = c->params[b - 1];
            c->params[b - 1] = x;
        }
    lua_settop(L, ud);
    return 1;
}

int dsl_check(lua_State *L)
{
    return make_check(L, (plan_check_kind)lua_tointeger(L, lua_upvalueindex(1)), 1, NULL, NULL);
}

/* plugin "name".check { ... } */
static int l_plugin_check(lua_State *L)
{
    return make_check(L, PLAN_CHK_PLUGIN, 1, lua_tostring(L, lua_upvalueindex(1)),
                      lua_tostring(L, lua_upvalueindex(2)));
}

int dsl_plugin_index(lua_State *L)
{
    const char *check = luaL_checkstring(L, 2);
    lua_getfield(L, 1, "__plugin");
    lua_pushstring(L, check);
    lua_pushcclosure(L, l_plugin_check, 2);
    return 1;
}

int dsl_plugin(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    if (!*name) return luaL_error(L, "plugin: the plugin name must not be empty");
    lua_createtable(L, 0, 1);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__plugin");
    luaL_setmetatable(L, "harness.Plugin");
    return 1;
}
