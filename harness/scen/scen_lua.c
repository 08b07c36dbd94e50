/* scen_lua.c - the DSL's Lua helpers: file:line of the caller, errors, allocation under a Lua
 * error, did-you-mean, reading typed options from constructor tables, and Lua values as JSON
 * parameters. */
#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scen_int.h"
#include "units.h"

/* "file:line" of the Lua code calling the current C function. */
void dsl_where_here(lua_State *L, char *buf, size_t n)
{
    luaL_where(L, 1);
    const char *w = lua_tostring(L, -1);
    size_t len = strlen(w);
    while (len && (w[len - 1] == ' ' || w[len - 1] == ':'))
        len--;
    snprintf(buf, n, "%.*s", (int)len, len ? w : "?");
    lua_pop(L, 1);
}

int dsl_raise_at(lua_State *L, const char *where, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lua_pushfstring(L, "%s: %s", where, msg);
    return lua_error(L);
}

void *dsl_lcalloc(lua_State *L, size_t n, size_t size)
{
    void *p = hx_calloc(n, size);
    if (!p) luaL_error(L, "out of memory");
    return p;
}

char *dsl_ldup(lua_State *L, const char *s)
{
    if (!s) return NULL;
    char *d = hx_strdup(s);
    if (!d) luaL_error(L, "out of memory");
    return d;
}

/* " (did you mean 'x'?)" or "" into buf. */
const char *dsl_did_you_mean(const char *word, const char *const *cands, char *buf, size_t n)
{
    const char *s = hx_suggest(word, cands);
    if (s)
        snprintf(buf, n, " (did you mean '%s'?)", s);
    else
        buf[0] = '\0';
    return buf;
}

int dsl_lookup(const char *word, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(word, names[i]) == 0) return i;
    return -1;
}

/* Every key of table t must be one of allowed (strings) or a position 1..npos. */
void dsl_check_keys(lua_State *L, int t, const char *const *allowed, int npos, const char *path)
{
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -1);
            if (dsl_lookup(k, allowed) < 0) {
                char dm[80];
                luaL_error(L, "%s: unknown key '%s'%s", path, k,
                           dsl_did_you_mean(k, allowed, dm, 80));
            }
        } else if (lua_isinteger(L, -1)) {
            lua_Integer i = lua_tointeger(L, -1);
            if (i < 1 || i > npos)
                luaL_error(L, "%s: unexpected value at position %I (use named keys)", path, i);
        } else {
            luaL_error(L, "%s: unexpected %s key", path, luaL_typename(L, -1));
        }
    }
}

int dsl_need_type(lua_State *L, int idx, int type, const char *path, const char *key,
                  const char *what)
{
    if (lua_type(L, idx) != type)
        luaL_error(L, "%s.%s: expected %s, got %s", path, key, what, luaL_typename(L, idx));
    return idx;
}

/* The string at t[k], or NULL when absent. */
const char *dsl_opt_string(lua_State *L, int t, const char *k, const char *path)
{
    if (lua_getfield(L, t, k) == LUA_TNIL) {
        lua_pop(L, 1);
        return NULL;
    }
    dsl_need_type(L, -1, LUA_TSTRING, path, k, "a string");
    const char *s = lua_tostring(L, -1);
    lua_pop(L, 1); /* still referenced by t */
    return s;
}

const char *dsl_req_string(lua_State *L, int t, const char *k, const char *path)
{
    const char *s = dsl_opt_string(L, t, k, path);
    if (!s) luaL_error(L, "%s.%s: required (a string)", path, k);
    return s;
}

bool dsl_opt_number(lua_State *L, int t, const char *k, const char *path, double *out)
{
    if (lua_getfield(L, t, k) == LUA_TNIL) {
        lua_pop(L, 1);
        return false;
    }
    dsl_need_type(L, -1, LUA_TNUMBER, path, k, "a number");
    *out = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (!isfinite(*out)) luaL_error(L, "%s.%s: expected a finite number", path, k);
    return true;
}

bool dsl_opt_integer(lua_State *L, int t, const char *k, const char *path, lua_Integer *out)
{
    if (lua_getfield(L, t, k) == LUA_TNIL) {
        lua_pop(L, 1);
        return false;
    }
    int isint;
    if (lua_type(L, -1) != LUA_TNUMBER)
        luaL_error(L, "%s.%s: expected an integer, got %s", path, k, luaL_typename(L, -1));
    *out = lua_tointegerx(L, -1, &isint);
    if (!isint) luaL_error(L, "%s.%s: expected an integer, got %s", path, k, lua_tostring(L, -1));
    lua_pop(L, 1);
    return true;
}

bool dsl_opt_fraction(lua_State *L, int t, const char *k, const char *path, double *out)
{
    if (lua_getfield(L, t, k) == LUA_TNIL) {
        lua_pop(L, 1);
        return false;
    }
    if (lua_type(L, -1) == LUA_TSTRING) {
        hx_err e = {0};
        if (units_percent(lua_tostring(L, -1), out, &e)) luaL_error(L, "%s.%s: %s", path, k, e.msg);
    } else {
        dsl_need_type(L, -1, LUA_TNUMBER, path, k, "a fraction (0..1 or \"5%\")");
        *out = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    if (!(*out >= 0 && *out <= 1))
        luaL_error(L, "%s.%s: a fraction must be between 0 and 1, got %f", path, k, *out);
    return true;
}

/* A duration: "30s" text, or a number of seconds. */
bool dsl_opt_duration(lua_State *L, int t, const char *k, const char *path, int64_t *us)
{
    if (lua_getfield(L, t, k) == LUA_TNIL) {
        lua_pop(L, 1);
        return false;
    }
    if (lua_type(L, -1) == LUA_TNUMBER) {
        double v = lua_tonumber(L, -1);
        if (!(v >= 0 && v < 1e12)) luaL_error(L, "%s.%s: a duration must be >= 0 seconds", path, k);
        *us = (int64_t)llround(v * 1e6);
    } else {
        dsl_need_type(L, -1, LUA_TSTRING, path, k, "a duration like \"30s\"");
        hx_err e = {0};
        if (units_duration_us(lua_tostring(L, -1), us, &e))
            luaL_error(L, "%s.%s: %s", path, k, e.msg);
    }
    lua_pop(L, 1);
    return true;
}

static const char *const type_names[] = {"int",  "decimal", "string", "timestamp",
                                         "bool", "uuid",    NULL};

plan_type dsl_parse_type(lua_State *L, const char *s, const char *path)
{
    int i = dsl_lookup(s, type_names);
    if (i < 0) {
        char dm[80];
        luaL_error(L,
                   "%s: unknown type '%s'%s (types: int, decimal, string, timestamp, bool, uuid)",
                   path, s, dsl_did_you_mean(s, type_names, dm, 80));
    }
    return (plan_type)i;
}

/* A list of strings at t[k] into a fresh char** (count set as it fills). */
void dsl_opt_strv(lua_State *L, int t, const char *k, const char *path, char ***v, size_t *n)
{
    int ty = lua_getfield(L, t, k);
    if (ty == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    if (ty == LUA_TSTRING) {
        *v = dsl_lcalloc(L, 1, sizeof **v);
        *n = 1;
        (*v)[0] = dsl_ldup(L, lua_tostring(L, -1));
        lua_pop(L, 1);
        return;
    }
    dsl_need_type(L, -1, LUA_TTABLE, path, k, "a string or a list of strings");
    size_t len = (size_t)luaL_len(L, -1);
    *v = dsl_lcalloc(L, len ? len : 1, sizeof **v);
    *n = len;
    for (size_t i = 0; i < len; i++) {
        int ety = lua_geti(L, -1, (lua_Integer)i + 1);
        if (ety != LUA_TSTRING && ety != LUA_TNUMBER)
            luaL_error(L, "%s.%s[%d]: expected a string, got %s", path, k, (int)i + 1,
                       luaL_typename(L, -1));
        (*v)[i] = dsl_ldup(L, lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* ---- JSON for plugin and extra parameters ---- */

static void json_string(hx_buf *b, const char *s, size_t n)
{
    hx_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            hx_buf_putc(b, '\\');
            hx_buf_putc(b, (char)c);
        } else if (c < 0x20) {
            hx_buf_printf(b, "\\u%04x", c);
        } else {
            hx_buf_putc(b, (char)c);
        }
    }
    hx_buf_putc(b, '"');
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void dsl_json_value(lua_State *L, int idx, hx_buf *b, const char *path, int depth)
{
    idx = lua_absindex(L, idx);
    if (depth > 20) luaL_error(L, "%s: nested too deeply", path);
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        hx_buf_puts(b, lua_toboolean(L, idx) ? "true" : "false");
        return;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            hx_buf_printf(b, "%lld", (long long)lua_tointeger(L, idx));
        else if (isfinite(lua_tonumber(L, idx)))
            hx_buf_printf(b, "%.17g", lua_tonumber(L, idx));
        else
            luaL_error(L, "%s: numbers must be finite", path);
        return;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        json_string(b, s, n);
        return;
    }
    case LUA_TTABLE:
        break;
    default:
        luaL_error(L, "%s: a %s cannot be a parameter (use strings, numbers, booleans, tables)",
                   path, luaL_typename(L, idx));
    }
    size_t len = (size_t)lua_rawlen(L, idx);
    size_t nkeys = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        nkeys++;
        lua_pop(L, 1);
    }
    if (nkeys == len) { /* a list (or empty) */
        hx_buf_putc(b, '[');
        for (size_t i = 1; i <= len; i++) {
            if (i > 1) hx_buf_putc(b, ',');
            lua_rawgeti(L, idx, (lua_Integer)i);
            dsl_json_value(L, -1, b, path, depth + 1);
            lua_pop(L, 1);
        }
        hx_buf_putc(b, ']');
        return;
    }
    /* An object with sorted keys, so the same scenario gives the same bytes. */
    const char **keys = lua_newuserdatauv(L, nkeys * sizeof *keys, 0);
    size_t k = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "%s: a table mixes list and named entries", path);
        keys[k++] = lua_tostring(L, -1);
    }
    qsort(keys, nkeys, sizeof *keys, cmp_cstr);
    hx_buf_putc(b, '{');
    for (size_t i = 0; i < nkeys; i++) {
        if (i) hx_buf_putc(b, ',');
        json_string(b, keys[i], strlen(keys[i]));
        hx_buf_putc(b, ':');
        lua_getfield(L, idx, keys[i]);
        dsl_json_value(L, -1, b, path, depth + 1);
        lua_pop(L, 1);
    }
    hx_buf_putc(b, '}');
    lua_pop(L, 1);
}

static int push_text(lua_State *L)
{
    lua_pushlstring(L, lua_touserdata(L, 1), (size_t)lua_tointeger(L, 2));
    return 1;
}

char *dsl_read_pack_file(lua_State *L, const char *packdir, const char *path, hx_input kind,
                         const char *what, size_t *len)
{
    char root[PATH_MAX], real[PATH_MAX];
    if (!realpath(packdir && *packdir ? packdir : ".", root) || !realpath(path, real))
        luaL_error(L, "%s: cannot resolve '%s': %s", what, path, strerror(errno));
    size_t rl = strlen(root);
    if (strcmp(root, "/") != 0 && (strncmp(real, root, rl) != 0 || real[rl] != '/'))
        luaL_error(L,
                   "%s: '%s' leads outside the pack (to '%s'); use a file inside the pack "
                   "folder",
                   what, path, real);
    /* The copy into Lua runs protected, so running out of Lua memory cannot leak text. */
    lua_pushcfunction(L, push_text);
    char *text = NULL;
    size_t n = 0;
    hx_err e = {0};
    if (hx_read_input(path, kind, &text, &n, &e) != 0) luaL_error(L, "%s: %s", what, e.msg);
    lua_pushlightuserdata(L, text);
    lua_pushinteger(L, (lua_Integer)n);
    int status = lua_pcall(L, 2, 1, 0);
    hx_free(text);
    if (status != LUA_OK) lua_error(L);
    if (len) *len = n;
    return (char *)lua_tostring(L, -1);
}
