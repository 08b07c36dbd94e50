/* scen_workload.c - scenario.workload: the query workload (named queries, clients, a count or a
 * duration, a warm-up, the mix) validated into a plan_workload; query files are read from the
 * pack at load time, so `harness check` finds a missing one. */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>

#include "scen_int.h"

/* The most text one query may have (a file or inline). */
#define WL_MAX_SQL (1u << 20)

static const char *const workload_keys[] = {
    "queries", "clients", "count", "duration", "max_duration", "warmup", "mix", "verify", NULL};
static const char *const query_keys[] = {"name", "sql", "file", "ordered", "tolerance", NULL};

/* A query name is one metric segment: letters, digits and '_'. */
static void check_query_name(lua_State *L, const char *path, const char *name)
{
    size_t n = strlen(name);
    bool ok = n > 0 && n <= 64;
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '_';
    }
    if (!ok)
        luaL_error(L,
                   "%s.name: '%s' is not a usable query name: it names metrics "
                   "(query.<name>.p95), so use 1-64 letters, digits or '_'",
                   path, name);
}

/* Read the pack file rel into a Lua-owned copy; raise with the path on failure. */
static char *read_query_file(lua_State *L, const char *path, const char *rel)
{
    if (!*rel || rel[0] == '/' || strstr(rel, ".."))
        luaL_error(L, "%s.file: '%s' must be a path inside the pack, like \"queries/top.sql\"",
                   path, rel);
    const scen_host *host = dsl_host(L);
    const char *dir = host->packdir && *host->packdir ? *host->packdir : ".";
    char full[1200];
    snprintf(full, sizeof full, "%s/%s", dir, rel);
    char what[300];
    snprintf(what, sizeof what, "%s.file", path);
    size_t len = 0;
    const char *text = dsl_read_pack_file(L, dir, full, HX_IN_QUERY, what, &len);
    if (len > WL_MAX_SQL || memchr(text, '\0', len))
        luaL_error(L, "%s.file: '%s' is not a query text (binary, or over 1 MiB)", path, full);
    char *copy = dsl_ldup(L, text);
    lua_pop(L, 1);
    return copy;
}

static void parse_query(lua_State *L, int t, plan_workload *w, size_t i)
{
    plan_wl_query *q = &w->queries[i];
    char path[80];
    snprintf(path, sizeof path, "scenario.workload.queries[%d]", (int)i + 1);
    if (!lua_istable(L, t))
        luaL_error(L, "%s: expected { name = \"top_products\", sql = \"...\" | file = \"...\" }",
                   path);
    dsl_check_keys(L, t, query_keys, 0, path);
    char where[200];
    dsl_where_here(L, where, sizeof where);
    q->where = dsl_ldup(L, where);
    const char *name = dsl_req_string(L, t, "name", path);
    check_query_name(L, path, name);
    for (size_t j = 0; j < i; j++)
        if (strcmp(w->queries[j].name, name) == 0)
            luaL_error(L, "%s.name: query '%s' is declared twice", path, name);
    q->name = dsl_ldup(L, name);
    const char *sql = dsl_opt_string(L, t, "sql", path);
    const char *file = dsl_opt_string(L, t, "file", path);
    if (!sql == !file) luaL_error(L, "%s: give one of sql = \"...\" or file = \"...\"", path);
    if (sql) {
        if (strlen(sql) > WL_MAX_SQL) luaL_error(L, "%s.sql: over 1 MiB", path);
        q->sql = dsl_ldup(L, sql);
    } else {
        q->file = dsl_ldup(L, file);
        q->sql = read_query_file(L, path, file);
    }
    size_t k = strspn(q->sql, " \t\r\n");
    if (!q->sql[k]) luaL_error(L, "%s: the query text is empty", path);
    if (lua_getfield(L, t, "ordered") != LUA_TNIL) {
        dsl_need_type(L, -1, LUA_TBOOLEAN, path, "ordered", "true or false");
        q->ordered = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    if (dsl_opt_number(L, t, "tolerance", path, &q->tolerance) &&
        (q->tolerance < 0 || q->tolerance >= 1))
        luaL_error(L, "%s.tolerance: a relative tolerance in [0, 1), like 1e-9", path);
}

void dsl_parse_workload(lua_State *L, int scn, plan_scenario *sc)
{
    if (lua_getfield(L, scn, "workload") == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    const char *path = "scenario.workload";
    dsl_need_type(L, -1, LUA_TTABLE, "scenario", "workload",
                  "a table { queries = { ... }, clients = 4, count = 100 }");
    int t = lua_gettop(L);
    dsl_check_keys(L, t, workload_keys, 0, path);
    plan_workload *w = sc->workload = dsl_lcalloc(L, 1, sizeof *w);
    char where[200];
    dsl_where_here(L, where, sizeof where);
    w->where = dsl_ldup(L, where);
    lua_Integer v = 1;
    if (dsl_opt_integer(L, t, "clients", path, &v) && (v < 1 || v > 256))
        luaL_error(L, "%s.clients: expected 1 to 256 connections, got %I", path, v);
    w->clients = (int)v;
    bool has_count = dsl_opt_integer(L, t, "count", path, &v);
    if (has_count && (v < 1 || v > 100000000))
        luaL_error(L, "%s.count: expected 1 to 100000000 executions of each query, got %I", path,
                   v);
    w->count = has_count ? v : 0;
    if (dsl_opt_duration(L, t, "duration", path, &w->duration_us)) {
        if (has_count) luaL_error(L, "%s: give count or duration, not both", path);
        if (w->duration_us <= 0 || w->duration_us > INT64_C(3600000000))
            luaL_error(L, "%s.duration: expected more than 0 and at most 1h", path);
    } else if (!has_count) {
        w->count = 100;
    }
    if (dsl_opt_duration(L, t, "max_duration", path, &w->max_us)) {
        if (w->duration_us)
            luaL_error(L, "%s.max_duration: limits a count; with duration, measuring ends then",
                       path);
        if (w->max_us <= 0 || w->max_us > INT64_C(3600000000))
            luaL_error(L, "%s.max_duration: expected more than 0 and at most 1h", path);
    }
    v = 0;
    if (dsl_opt_integer(L, t, "warmup", path, &v) && (v < 0 || v > 1000000))
        luaL_error(L, "%s.warmup: expected 0 to 1000000 executions of each query, got %I", path, v);
    w->warmup = v;
    const char *mix = dsl_opt_string(L, t, "mix", path);
    if (mix && strcmp(mix, "shuffled") == 0)
        w->shuffled = true;
    else if (mix && strcmp(mix, "fixed") != 0)
        luaL_error(L, "%s.mix: expected \"fixed\" or \"shuffled\", got '%s'", path, mix);
    w->verify = true;
    if (lua_getfield(L, t, "verify") != LUA_TNIL) {
        dsl_need_type(L, -1, LUA_TBOOLEAN, path, "verify", "true or false");
        w->verify = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, t, "queries") != LUA_TTABLE)
        luaL_error(L,
                   "%s.queries: expected a list of { name = ..., sql = ... | file = ... }, got %s",
                   path, luaL_typename(L, -1));
    int qt = lua_gettop(L);
    size_t n = (size_t)luaL_len(L, qt);
    if (n == 0 || n > 256) luaL_error(L, "%s.queries: expected 1 to 256 queries", path);
    w->queries = dsl_lcalloc(L, n, sizeof *w->queries);
    for (size_t i = 0; i < n; i++) {
        w->nqueries = i + 1;
        lua_geti(L, qt, (lua_Integer)i + 1);
        parse_query(L, lua_gettop(L), w, i);
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
}
