/* scen_dsl.c - the Lua bridge: the authors' DSL (docs/scenarios.md). dataset{}, the fault methods,
 * ledger queries, the check constructors, scenario{} and challenge{}, validated into plan structs
 * as they are called, so every misuse names the file:line of the constructor call.
 *
 * Memory: every C structure under construction hangs off a userdata with a __gc, and every count
 * is raised right after its array is allocated (zeroed), so a Lua error at any point frees what
 * was built. Userdata types: harness.Dataset, harness.Query, harness.Check, harness.Scenario,
 * harness.Challenge. */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gen.h"
#include "metrics.h"
#include "rng.h"
#include "scen.h"
#include "units.h"

#define T_DATASET "harness.Dataset"
#define T_QUERY "harness.Query"
#define T_CHECK "harness.Check"
#define T_SCENARIO "harness.Scenario"
#define T_CHALLENGE "harness.Challenge"

/* ---- small helpers ---- */

/* "file:line" of the Lua code calling the current C function. */
static void where_here(lua_State *L, char *buf, size_t n)
{
    luaL_where(L, 1);
    const char *w = lua_tostring(L, -1);
    size_t len = strlen(w);
    while (len && (w[len - 1] == ' ' || w[len - 1] == ':'))
        len--;
    snprintf(buf, n, "%.*s", (int)len, len ? w : "?");
    lua_pop(L, 1);
}

static int raise_at(lua_State *L, const char *where, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lua_pushfstring(L, "%s: %s", where, msg);
    return lua_error(L);
}

static void *lcalloc(lua_State *L, size_t n, size_t size)
{
    void *p = hx_calloc(n, size);
    if (!p) luaL_error(L, "out of memory");
    return p;
}

static char *ldup(lua_State *L, const char *s)
{
    if (!s) return NULL;
    char *d = hx_strdup(s);
    if (!d) luaL_error(L, "out of memory");
    return d;
}

/* " (did you mean 'x'?)" or "" into buf. */
static const char *did_you_mean(const char *word, const char *const *cands, char *buf, size_t n)
{
    const char *s = hx_suggest(word, cands);
    if (s)
        snprintf(buf, n, " (did you mean '%s'?)", s);
    else
        buf[0] = '\0';
    return buf;
}

static int lookup(const char *word, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(word, names[i]) == 0) return i;
    return -1;
}

/* Every key of table t must be one of allowed (strings) or a position 1..npos. */
static void check_keys(lua_State *L, int t, const char *const *allowed, int npos, const char *path)
{
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -1);
            if (lookup(k, allowed) < 0) {
                char dm[80];
                luaL_error(L, "%s: unknown key '%s'%s", path, k, did_you_mean(k, allowed, dm, 80));
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

static int need_type(lua_State *L, int idx, int type, const char *path, const char *key,
                     const char *what)
{
    if (lua_type(L, idx) != type)
        luaL_error(L, "%s.%s: expected %s, got %s", path, key, what, luaL_typename(L, idx));
    return idx;
}

/* The string at t[k], or NULL when absent. */
static const char *opt_string(lua_State *L, int t, const char *k, const char *path)
{
    if (lua_getfield(L, t, k) == LUA_TNIL) {
        lua_pop(L, 1);
        return NULL;
    }
    need_type(L, -1, LUA_TSTRING, path, k, "a string");
    const char *s = lua_tostring(L, -1);
    lua_pop(L, 1); /* still referenced by t */
    return s;
}

static const char *req_string(lua_State *L, int t, const char *k, const char *path)
{
    const char *s = opt_string(L, t, k, path);
    if (!s) luaL_error(L, "%s.%s: required (a string)", path, k);
    return s;
}

static bool opt_number(lua_State *L, int t, const char *k, const char *path, double *out)
{
    if (lua_getfield(L, t, k) == LUA_TNIL) {
        lua_pop(L, 1);
        return false;
    }
    need_type(L, -1, LUA_TNUMBER, path, k, "a number");
    *out = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (!isfinite(*out)) luaL_error(L, "%s.%s: expected a finite number", path, k);
    return true;
}

static bool opt_integer(lua_State *L, int t, const char *k, const char *path, lua_Integer *out)
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

static bool opt_fraction(lua_State *L, int t, const char *k, const char *path, double *out)
{
    if (lua_getfield(L, t, k) == LUA_TNIL) {
        lua_pop(L, 1);
        return false;
    }
    if (lua_type(L, -1) == LUA_TSTRING) {
        hx_err e = {0};
        if (units_percent(lua_tostring(L, -1), out, &e)) luaL_error(L, "%s.%s: %s", path, k, e.msg);
    } else {
        need_type(L, -1, LUA_TNUMBER, path, k, "a fraction (0..1 or \"5%\")");
        *out = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    if (!(*out >= 0 && *out <= 1))
        luaL_error(L, "%s.%s: a fraction must be between 0 and 1, got %f", path, k, *out);
    return true;
}

/* A duration: "30s" text, or a number of seconds. */
static bool opt_duration(lua_State *L, int t, const char *k, const char *path, int64_t *us)
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
        need_type(L, -1, LUA_TSTRING, path, k, "a duration like \"30s\"");
        hx_err e = {0};
        if (units_duration_us(lua_tostring(L, -1), us, &e))
            luaL_error(L, "%s.%s: %s", path, k, e.msg);
    }
    lua_pop(L, 1);
    return true;
}

static const char *const type_names[] = {"int",  "decimal", "string", "timestamp",
                                         "bool", "uuid",    NULL};

static plan_type parse_type(lua_State *L, const char *s, const char *path)
{
    int i = lookup(s, type_names);
    if (i < 0) {
        char dm[80];
        luaL_error(L,
                   "%s: unknown type '%s'%s (types: int, decimal, string, timestamp, bool, uuid)",
                   path, s, did_you_mean(s, type_names, dm, 80));
    }
    return (plan_type)i;
}

/* A list of strings at t[k] into a fresh char** (count set as it fills). */
static void opt_strv(lua_State *L, int t, const char *k, const char *path, char ***v, size_t *n)
{
    int ty = lua_getfield(L, t, k);
    if (ty == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    if (ty == LUA_TSTRING) {
        *v = lcalloc(L, 1, sizeof **v);
        *n = 1;
        (*v)[0] = ldup(L, lua_tostring(L, -1));
        lua_pop(L, 1);
        return;
    }
    need_type(L, -1, LUA_TTABLE, path, k, "a list of strings");
    size_t len = (size_t)luaL_len(L, -1);
    *v = lcalloc(L, len ? len : 1, sizeof **v);
    *n = len;
    for (size_t i = 0; i < len; i++) {
        int ety = lua_geti(L, -1, (lua_Integer)i + 1);
        if (ety != LUA_TSTRING && ety != LUA_TNUMBER)
            luaL_error(L, "%s.%s[%d]: expected a string, got %s", path, k, (int)i + 1,
                       luaL_typename(L, -1));
        (*v)[i] = ldup(L, lua_tostring(L, -1));
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

static void json_value(lua_State *L, int idx, hx_buf *b, const char *path, int depth)
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
            json_value(L, -1, b, path, depth + 1);
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
        json_value(L, -1, b, path, depth + 1);
        lua_pop(L, 1);
    }
    hx_buf_putc(b, '}');
    lua_pop(L, 1);
}

/* ---- datasets ---- */

typedef struct dsobj {
    plan_dataset *ds; /* owned; name unset until placed in a scenario */
} dsobj;

static void dataset_free(plan_dataset *d)
{
    if (!d) return;
    plan_scenario tmp = {0};
    tmp.datasets = d;
    tmp.ndatasets = 1;
    plan_scenario_release(&tmp); /* frees d's contents and d itself */
}

static int ds_gc(lua_State *L)
{
    dsobj *o = luaL_checkudata(L, 1, T_DATASET);
    dataset_free(o->ds);
    o->ds = NULL;
    return 0;
}

static plan_dataset *check_ds(lua_State *L, int idx)
{
    dsobj *o = luaL_checkudata(L, idx, T_DATASET);
    if (!o->ds) luaL_error(L, "dataset is gone");
    return o->ds;
}

static int ds_tostring(lua_State *L)
{
    plan_dataset *d = check_ds(L, 1);
    lua_pushfstring(L, "dataset(%d rows, %d columns, %d faults, %s)", (int)d->rows, (int)d->ncols,
                    (int)d->nfaults, d->where ? d->where : "?");
    return 1;
}

struct colkind {
    const char *name;
    plan_col_kind kind;
    const char *const *keys; /* allowed option keys besides 1, 2 (name, kind) and nulls */
};

#define K(...) ((const char *const[]){"nulls", __VA_ARGS__, NULL})
static const struct colkind colkinds[] = {
    {"sequence", PLAN_COL_SEQUENCE, K("start", "step")},
    {"uuid", PLAN_COL_UUID, K("nulls")},
    {"int", PLAN_COL_INT, K("min", "max")},
    {"decimal", PLAN_COL_DECIMAL, K("min", "max", "scale")},
    {"normal", PLAN_COL_NORMAL, K("mean", "sd", "min", "max", "scale")},
    {"lognormal", PLAN_COL_LOGNORMAL, K("mu", "sigma", "min", "max", "scale")},
    {"categorical", PLAN_COL_CATEGORICAL, K("values", "weights")},
    {"timestamp", PLAN_COL_TIMESTAMP, K("start", "rate", "per_day", "jitter")},
    {"pattern", PLAN_COL_PATTERN, K("pattern")},
    {"fk", PLAN_COL_FK, K("ref", "column", "dist", "skew")},
    {"bool", PLAN_COL_BOOL, K("p")},
    {"lua", PLAN_COL_LUA, K("type", "scale")},
    {NULL, 0, NULL}};
#undef K
static const char *const colkind_names[] = {
    "sequence",  "uuid",    "int", "decimal", "normal", "lognormal", "categorical",
    "timestamp", "pattern", "fk",  "bool",    "lua",    NULL};

static int opt_scale(lua_State *L, int t, const char *path, int dflt)
{
    lua_Integer sc = dflt;
    opt_integer(L, t, "scale", path, &sc);
    if (sc < 0 || sc > 9) luaL_error(L, "%s.scale: must be 0..9 digits, got %I", path, sc);
    return (int)sc;
}

/* Parse columns[i] (table at t) into c. uv: the dataset's uservalue table (fk references). */
static void parse_column(lua_State *L, int t, plan_dataset *d, size_t ci, int uv)
{
    plan_column *c = &d->cols[ci];
    char path[200];
    snprintf(path, sizeof path, "dataset.columns[%d]", (int)ci + 1);
    if (lua_geti(L, t, 1) != LUA_TSTRING)
        luaL_error(L, "%s: the first entry must be the column name, got %s", path,
                   luaL_typename(L, -1));
    const char *name = lua_tostring(L, -1);
    lua_pop(L, 1);
    for (size_t j = 0; j < ci; j++)
        if (strcmp(d->cols[j].name, name) == 0)
            luaL_error(L, "%s: column '%s' is defined twice", path, name);
    snprintf(path, sizeof path, "dataset.columns[%d] ('%s')", (int)ci + 1, name);
    if (lua_geti(L, t, 2) != LUA_TSTRING)
        luaL_error(L,
                   "%s: the second entry must be the column kind (sequence, uuid, int, ...), "
                   "got %s",
                   path, luaL_typename(L, -1));
    const char *kname = lua_tostring(L, -1);
    lua_pop(L, 1);
    int ki = lookup(kname, colkind_names);
    if (ki < 0) {
        char dm[80];
        luaL_error(L, "%s: unknown column kind '%s'%s", path, kname,
                   did_you_mean(kname, colkind_names, dm, 80));
    }
    const struct colkind *k = &colkinds[ki];
    check_keys(L, t, k->keys, k->kind == PLAN_COL_PATTERN ? 3 : 2, path);
    c->kind = k->kind;
    c->name = ldup(L, name);
    double nf = 0;
    opt_fraction(L, t, "nulls", path, &nf);
    c->null_frac = nf;
    double lo = -HUGE_VAL, hi = HUGE_VAL;
    bool has_lo, has_hi;

    switch (c->kind) {
    case PLAN_COL_SEQUENCE: {
        lua_Integer start = 1, step = 1;
        opt_integer(L, t, "start", path, &start);
        opt_integer(L, t, "step", path, &step);
        if (step == 0) luaL_error(L, "%s.step: must not be 0", path);
        c->type = PLAN_T_INT;
        c->u.seq.start = start;
        c->u.seq.step = step;
        break;
    }
    case PLAN_COL_UUID:
        c->type = PLAN_T_UUID;
        break;
    case PLAN_COL_INT: {
        lua_Integer mn, mx;
        if (!opt_integer(L, t, "min", path, &mn) || !opt_integer(L, t, "max", path, &mx))
            luaL_error(L, "%s: an int column needs min and max", path);
        if (mn > mx) luaL_error(L, "%s: min %I is above max %I", path, mn, mx);
        c->type = PLAN_T_INT;
        c->u.irange.min = mn;
        c->u.irange.max = mx;
        break;
    }
    case PLAN_COL_DECIMAL:
        if (!opt_number(L, t, "min", path, &lo) || !opt_number(L, t, "max", path, &hi))
            luaL_error(L, "%s: a decimal column needs min and max", path);
        if (lo > hi) luaL_error(L, "%s: min is above max", path);
        c->type = PLAN_T_DECIMAL;
        c->scale = opt_scale(L, t, path, 2);
        c->u.drange.min = lo;
        c->u.drange.max = hi;
        break;
    case PLAN_COL_NORMAL:
    case PLAN_COL_LOGNORMAL: {
        bool ln = c->kind == PLAN_COL_LOGNORMAL;
        double mean = 0, sd = 1;
        opt_number(L, t, ln ? "mu" : "mean", path, &mean);
        opt_number(L, t, ln ? "sigma" : "sd", path, &sd);
        if (sd < 0) luaL_error(L, "%s.%s: must be >= 0", path, ln ? "sigma" : "sd");
        has_lo = opt_number(L, t, "min", path, &lo);
        has_hi = opt_number(L, t, "max", path, &hi);
        if (has_lo && has_hi && lo > hi) luaL_error(L, "%s: min is above max", path);
        c->type = PLAN_T_DECIMAL;
        c->scale = opt_scale(L, t, path, 2);
        c->u.normal.mean = mean;
        c->u.normal.sd = sd;
        c->u.normal.min = has_lo ? lo : -1e300;
        c->u.normal.max = has_hi ? hi : 1e300;
        break;
    }
    case PLAN_COL_CATEGORICAL: {
        if (lua_getfield(L, t, "values") != LUA_TTABLE)
            luaL_error(L, "%s.values: expected a list of values, got %s", path,
                       luaL_typename(L, -1));
        int vi = lua_gettop(L);
        size_t n = (size_t)luaL_len(L, vi);
        if (n == 0) luaL_error(L, "%s.values: must not be empty", path);
        c->u.cat.values = lcalloc(L, n, sizeof(char *));
        c->u.cat.cum = lcalloc(L, n, sizeof(double));
        c->u.cat.n = n;
        bool all_int = true;
        for (size_t i = 0; i < n; i++) {
            int ty = lua_geti(L, vi, (lua_Integer)i + 1);
            if (ty == LUA_TNUMBER && lua_isinteger(L, -1)) {
                /* keep as integer text */
            } else if (ty == LUA_TSTRING) {
                all_int = false;
            } else {
                luaL_error(L, "%s.values[%d]: expected a string or an integer, got %s", path,
                           (int)i + 1, luaL_typename(L, -1));
            }
            c->u.cat.values[i] = ldup(L, lua_tostring(L, -1));
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        c->type = all_int ? PLAN_T_INT : PLAN_T_STRING;
        double total = 0;
        int wt = lua_getfield(L, t, "weights");
        if (wt != LUA_TNIL && wt != LUA_TTABLE)
            luaL_error(L, "%s.weights: expected a list of numbers, got %s", path,
                       luaL_typename(L, -1));
        if (wt == LUA_TTABLE && (size_t)luaL_len(L, -1) != n)
            luaL_error(L, "%s.weights: %d weights for %d values", path, (int)luaL_len(L, -1),
                       (int)n);
        for (size_t i = 0; i < n; i++) {
            double w = 1;
            if (wt == LUA_TTABLE) {
                if (lua_geti(L, -1, (lua_Integer)i + 1) != LUA_TNUMBER)
                    luaL_error(L, "%s.weights[%d]: expected a number", path, (int)i + 1);
                w = lua_tonumber(L, -1);
                lua_pop(L, 1);
                if (!(w >= 0 && isfinite(w)))
                    luaL_error(L, "%s.weights[%d]: must be >= 0", path, (int)i + 1);
            }
            total += w;
            c->u.cat.cum[i] = total;
        }
        lua_pop(L, 1);
        if (!(total > 0)) luaL_error(L, "%s.weights: must not all be 0", path);
        for (size_t i = 0; i < n; i++)
            c->u.cat.cum[i] /= total;
        c->u.cat.cum[n - 1] = 1.0;
        break;
    }
    case PLAN_COL_TIMESTAMP: {
        c->type = PLAN_T_TIMESTAMP;
        int64_t start = INT64_C(1767225600000000); /* 2026-01-01T00:00:00Z */
        int ty = lua_getfield(L, t, "start");
        if (ty == LUA_TSTRING) {
            hx_err e = {0};
            if (units_timestamp(lua_tostring(L, -1), &start, &e))
                luaL_error(L, "%s.start: %s", path, e.msg);
        } else if (ty == LUA_TNUMBER) {
            start = (int64_t)llround(lua_tonumber(L, -1) * 1e6); /* seconds since the epoch */
        } else if (ty != LUA_TNIL) {
            luaL_error(L, "%s.start: expected a timestamp like \"2026-01-01T00:00:00Z\", got %s",
                       path, luaL_typename(L, -1));
        }
        lua_pop(L, 1);
        double rate = 1, per_day;
        bool has_rate = opt_number(L, t, "rate", path, &rate);
        if (opt_number(L, t, "per_day", path, &per_day)) {
            if (has_rate)
                luaL_error(L, "%s: give rate (rows per second) or per_day, not both", path);
            rate = per_day / 86400.0;
        }
        if (!(rate > 0)) luaL_error(L, "%s: the rate must be above 0 rows per second", path);
        int64_t jitter = 0;
        opt_duration(L, t, "jitter", path, &jitter);
        c->u.ts.start_us = start;
        c->u.ts.rate = rate;
        c->u.ts.jitter_us = jitter;
        break;
    }
    case PLAN_COL_PATTERN: {
        const char *p = opt_string(L, t, "pattern", path);
        if (lua_geti(L, t, 3) == LUA_TSTRING) {
            if (p) luaL_error(L, "%s: the pattern is given twice", path);
            p = lua_tostring(L, -1);
        } else if (!lua_isnil(L, -1)) {
            luaL_error(L, "%s: the third entry must be the pattern string", path);
        }
        if (!p)
            luaL_error(L,
                       "%s: a pattern column needs its pattern, e.g. "
                       "{\"email\", \"pattern\", \"{ana|bo}.####@example.com\"}",
                       path);
        c->type = PLAN_T_STRING;
        c->u.pat.pattern = ldup(L, p);
        lua_pop(L, 1);
        break;
    }
    case PLAN_COL_FK: {
        if (lua_getfield(L, t, "ref") != LUA_TUSERDATA || !luaL_testudata(L, -1, T_DATASET))
            luaL_error(L, "%s.ref: expected the parent dataset (ref = customers), got %s", path,
                       luaL_typename(L, -1));
        plan_dataset *parent = check_ds(L, -1);
        if (parent == d) luaL_error(L, "%s.ref: a dataset cannot refer to itself", path);
        lua_seti(L, uv, (lua_Integer)ci + 1);
        const char *col = opt_string(L, t, "column", path);
        int pc = col ? plan_dataset_column(parent, col) : parent->key_col;
        if (!col && pc < 0) luaL_error(L, "%s.column: required (the parent has no key)", path);
        if (pc < 0) {
            const char *names[64];
            size_t nn = 0;
            for (size_t i = 0; i < parent->ncols && nn < 63; i++)
                names[nn++] = parent->cols[i].name;
            names[nn] = NULL;
            char dm[80];
            luaL_error(L, "%s.column: the parent dataset has no column '%s'%s", path, col,
                       did_you_mean(col, names, dm, 80));
        }
        const char *dist = opt_string(L, t, "dist", path);
        static const char *const dists[] = {"uniform", "zipf", "spread", NULL};
        int di = dist ? lookup(dist, dists) : 0;
        if (di < 0) {
            char dm[80];
            luaL_error(L, "%s.dist: unknown distribution '%s'%s (uniform, zipf, spread)", path,
                       dist, did_you_mean(dist, dists, dm, 80));
        }
        double skew = 1.0;
        bool has_skew = opt_number(L, t, "skew", path, &skew);
        if (has_skew && di != 1)
            luaL_error(L, "%s.skew: only a zipf distribution has a skew", path);
        if (!(skew > 0)) luaL_error(L, "%s.skew: must be above 0", path);
        c->type = parent->cols[pc].type;
        c->scale = parent->cols[pc].scale;
        c->u.fk.dataset = 0; /* resolved by scenario{} */
        c->u.fk.column = (size_t)pc;
        c->u.fk.mode = (plan_fk_mode)di;
        c->u.fk.skew = skew;
        break;
    }
    case PLAN_COL_BOOL: {
        double p = 0.5;
        opt_fraction(L, t, "p", path, &p);
        c->type = PLAN_T_BOOL;
        c->u.boolean.p = p;
        break;
    }
    case PLAN_COL_LUA: {
        const char *ty = opt_string(L, t, "type", path);
        c->type = ty ? parse_type(L, ty, path) : PLAN_T_STRING;
        c->scale = opt_scale(L, t, path, c->type == PLAN_T_DECIMAL ? 2 : 0);
        break;
    }
    }
}

/* " (did you mean 'x'?)" for a column name d lacks, or "". */
static const char *column_hint(const plan_dataset *d, const char *col, char *dm, size_t n)
{
    const char *names[64];
    size_t nn = 0;
    for (size_t j = 0; j < d->ncols && nn < 63; j++)
        names[nn++] = d->cols[j].name;
    names[nn] = NULL;
    return did_you_mean(col, names, dm, n);
}

static const char *const dataset_keys[] = {"rows",    "key", "time", "batches",
                                           "columns", "row", NULL};

static int col_or_error(lua_State *L, const plan_dataset *d, const char *col, const char *path)
{
    int i = plan_dataset_column(d, col);
    if (i < 0) {
        const char *names[64];
        size_t nn = 0;
        for (size_t j = 0; j < d->ncols && nn < 63; j++)
            names[nn++] = d->cols[j].name;
        names[nn] = NULL;
        char dm[80];
        luaL_error(L, "%s: no column '%s' in the dataset%s", path, col,
                   did_you_mean(col, names, dm, 80));
    }
    return i;
}

/* Names that become file and folder names (scenario -> run folder, dataset -> landing files,
 * challenge -> runs/<stamp>-<name>) must stay one plain path segment: a hostile or careless
 * "../x" would otherwise write outside the run folder. */
static void check_path_name(lua_State *L, const char *what, const char *name)
{
    size_t n = strlen(name);
    bool ok = n > 0 && n <= 100 && name[0] != '.' && name[0] != '-';
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '_' || ch == '-' || ch == '.';
    }
    if (!ok)
        luaL_error(L,
                   "%s: '%s' is not a usable name: it names files and folders, so use 1-100 "
                   "letters, digits, '_', '-' or '.', not starting with '.' or '-'",
                   what, name);
}

/* A landing folder below the run's landing root: plain segments joined by '/'. */
static void check_rel_dir(lua_State *L, const char *what, const char *dir)
{
    char seg[128];
    const char *p = dir;
    if (!*dir || *dir == '/')
        luaL_error(L, "%s: '%s' must be a relative folder like \"orders\" or \"in/orders\"", what,
                   dir);
    while (*p) {
        size_t k = strcspn(p, "/");
        if (k == 0 || k >= sizeof seg)
            luaL_error(L, "%s: '%s' has an empty or overlong folder name", what, dir);
        memcpy(seg, p, k);
        seg[k] = '\0';
        check_path_name(L, what, seg);
        p += k;
        if (*p == '/') p++;
    }
}

static int l_dataset(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    check_keys(L, 1, dataset_keys, 0, "dataset");
    dsobj *o = lua_newuserdatauv(L, sizeof *o, 1);
    o->ds = NULL;
    luaL_setmetatable(L, T_DATASET);
    int ud = lua_gettop(L);
    lua_newtable(L); /* uservalue: [col+1] = fk parent, row = function */
    int uv = lua_gettop(L);
    lua_pushvalue(L, uv);
    lua_setiuservalue(L, ud, 1);
    plan_dataset *d = o->ds = lcalloc(L, 1, sizeof *d);
    d->key_col = d->time_col = -1;
    char where[200];
    where_here(L, where, sizeof where);
    d->where = ldup(L, where);

    lua_Integer rows;
    if (!opt_integer(L, 1, "rows", "dataset", &rows))
        luaL_error(L, "dataset.rows: required (the number of records)");
    if (rows < 0) luaL_error(L, "dataset.rows: must be >= 0");
    d->rows = (uint64_t)rows;

    if (lua_getfield(L, 1, "columns") != LUA_TTABLE)
        luaL_error(L, "dataset.columns: expected a list of columns, got %s", luaL_typename(L, -1));
    int cols = lua_gettop(L);
    size_t n = (size_t)luaL_len(L, cols);
    if (n == 0) luaL_error(L, "dataset.columns: a dataset needs at least one column");
    d->cols = lcalloc(L, n, sizeof *d->cols);
    for (size_t i = 0; i < n; i++) {
        if (lua_geti(L, cols, (lua_Integer)i + 1) != LUA_TTABLE)
            luaL_error(L,
                       "dataset.columns[%d]: expected a table like {\"id\", \"sequence\"}, got %s",
                       (int)i + 1, luaL_typename(L, -1));
        d->ncols = i + 1; /* so the release sees the partial column */
        parse_column(L, lua_gettop(L), d, i, uv);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);

    const char *key = opt_string(L, 1, "key", "dataset");
    if (key) d->key_col = col_or_error(L, d, key, "dataset.key");
    const char *time = opt_string(L, 1, "time", "dataset");
    if (time) {
        d->time_col = col_or_error(L, d, time, "dataset.time");
        if (d->cols[d->time_col].kind != PLAN_COL_TIMESTAMP)
            luaL_error(L, "dataset.time: column '%s' is not a timestamp column", time);
    }
    d->batching = PLAN_BATCH_NONE;
    d->nbatches = 1;
    int bt = lua_getfield(L, 1, "batches");
    if (bt == LUA_TSTRING) {
        if (strcmp(lua_tostring(L, -1), "day") != 0)
            luaL_error(L, "dataset.batches: expected a number of batches or \"day\", got '%s'",
                       lua_tostring(L, -1));
        if (d->time_col < 0)
            luaL_error(L, "dataset.batches: \"day\" needs a time column (time = \"created_at\")");
        const plan_column *tc = &d->cols[d->time_col];
        d->batching = PLAN_BATCH_DAY;
        int64_t day = INT64_C(86400000000);
        int64_t first = tc->u.ts.start_us;
        int64_t last = first + tc->u.ts.jitter_us;
        if (d->rows > 1) last += (int64_t)((double)(d->rows - 1) / tc->u.ts.rate * 1e6);
        int64_t fd = first >= 0 ? first / day : -((-first + day - 1) / day);
        int64_t ld = last >= 0 ? last / day : -((-last + day - 1) / day);
        d->nbatches = (uint32_t)(ld - fd + 1);
    } else if (bt == LUA_TNUMBER) {
        lua_Integer nb;
        opt_integer(L, 1, "batches", "dataset", &nb);
        if (nb < 1 || nb > 1000000)
            luaL_error(L, "dataset.batches: must be 1..1000000, got %I", nb);
        d->batching = PLAN_BATCH_COUNT;
        d->nbatches = (uint32_t)nb;
    } else if (bt != LUA_TNIL) {
        luaL_error(L, "dataset.batches: expected a number or \"day\", got %s",
                   luaL_typename(L, -1));
    }
    lua_pop(L, 1);

    int rt = lua_getfield(L, 1, "row");
    if (rt == LUA_TFUNCTION)
        lua_setfield(L, uv, "row");
    else if (rt != LUA_TNIL)
        luaL_error(L, "dataset.row: expected a function(r, id, rand), got %s",
                   luaL_typename(L, -1));
    else
        lua_pop(L, 1);
    for (size_t i = 0; i < d->ncols; i++)
        if (d->cols[i].kind == PLAN_COL_LUA && rt != LUA_TFUNCTION)
            luaL_error(L,
                       "dataset.columns[%d] ('%s'): a lua column needs the dataset's row "
                       "function (row = function(r, id, rand) r.%s = ... end)",
                       (int)i + 1, d->cols[i].name, d->cols[i].name);
    lua_settop(L, ud);
    return 1;
}

/* ---- faults ---- */

static plan_fault *add_fault(lua_State *L, plan_dataset *d, plan_fault_kind k)
{
    plan_fault *f = hx_realloc(d->faults, (d->nfaults + 1) * sizeof *f);
    if (!f) luaL_error(L, "out of memory");
    d->faults = f;
    f = &d->faults[d->nfaults++];
    memset(f, 0, sizeof *f);
    f->kind = k;
    f->column = -1;
    char where[200];
    where_here(L, where, sizeof where);
    f->where = ldup(L, where);
    return f;
}

static double req_fraction(lua_State *L, int t, const char *path)
{
    double v;
    if (!opt_fraction(L, t, "fraction", path, &v))
        luaL_error(L, "%s.fraction: required (share of records hit, 0..1)", path);
    return v;
}

static int fault_column(lua_State *L, plan_dataset *d, int t, const char *path)
{
    const char *col = req_string(L, t, "column", path);
    char p[120];
    snprintf(p, sizeof p, "%s.column", path);
    return col_or_error(L, d, col, p);
}

static int f_duplicates(lua_State *L)
{
    plan_dataset *d = check_ds(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    check_keys(L, 2, (const char *const[]){"fraction", "changed", "gap", NULL}, 0, "duplicates");
    plan_fault *f = add_fault(L, d, PLAN_F_DUPLICATE);
    f->fraction = req_fraction(L, 2, "duplicates");
    opt_fraction(L, 2, "changed", "duplicates", &f->changed);
    lua_Integer gap = 0;
    opt_integer(L, 2, "gap", "duplicates", &gap);
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
    plan_dataset *d = check_ds(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    check_keys(L, 2, (const char *const[]){"fraction", "delay", NULL}, 0, "late");
    need_time(L, d, "late");
    plan_fault *f = add_fault(L, d, PLAN_F_LATE);
    f->fraction = req_fraction(L, 2, "late");
    if (!opt_duration(L, 2, "delay", "late", &f->delay_us))
        luaL_error(L, "late.delay: required (a duration like \"48h\")");
    f->column = d->time_col;
    lua_settop(L, 1);
    return 1;
}

static int f_out_of_order(lua_State *L)
{
    plan_dataset *d = check_ds(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    check_keys(L, 2, (const char *const[]){"fraction", "window", NULL}, 0, "out_of_order");
    need_time(L, d, "out_of_order");
    plan_fault *f = add_fault(L, d, PLAN_F_OUT_OF_ORDER);
    f->fraction = req_fraction(L, 2, "out_of_order");
    if (!opt_duration(L, 2, "window", "out_of_order", &f->delay_us))
        luaL_error(L, "out_of_order.window: required (a duration like \"5m\")");
    f->column = d->time_col;
    lua_settop(L, 1);
    return 1;
}

static int f_nulls(lua_State *L)
{
    plan_dataset *d = check_ds(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    check_keys(L, 2, (const char *const[]){"column", "fraction", NULL}, 0, "nulls");
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

static int f_corrupt(lua_State *L)
{
    plan_dataset *d = check_ds(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    check_keys(L, 2, (const char *const[]){"fraction", "kinds", NULL}, 0, "corrupt");
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
            int ki = lookup(k, corrupt_names);
            if (ki < 0) {
                char dm[80];
                luaL_error(L,
                           "corrupt.kinds[%I]: unknown kind '%s'%s (truncate, bad_type, "
                           "bad_utf8, extra_column, missing_column)",
                           i, k, did_you_mean(k, corrupt_names, dm, 80));
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
    plan_dataset *d = check_ds(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    check_keys(L, 2, (const char *const[]){"at_batch", "add", "type", "rename", "retype", NULL}, 0,
               "schema_drift");
    lua_Integer at;
    if (!opt_integer(L, 2, "at_batch", "schema_drift", &at))
        luaL_error(L, "schema_drift.at_batch: required (the first batch, 0-based, with the new "
                      "schema)");
    if (at < 0 || (d->nbatches && (uint64_t)at >= d->nbatches))
        luaL_error(L, "schema_drift.at_batch: %I is outside the dataset's batches 0..%d", at,
                   (int)d->nbatches - 1);
    const char *add = opt_string(L, 2, "add", "schema_drift");
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
        const char *ty = opt_string(L, 2, "type", "schema_drift");
        f->drift = PLAN_DRIFT_ADD;
        f->new_type = ty ? parse_type(L, ty, "schema_drift.type") : PLAN_T_STRING;
        f->name = ldup(L, add);
    } else if (has_rename) {
        lua_getfield(L, 2, "rename");
        need_type(L, -1, LUA_TTABLE, "schema_drift", "rename", "a table { from = , to = }");
        int t = lua_gettop(L);
        check_keys(L, t, (const char *const[]){"from", "to", NULL}, 0, "schema_drift.rename");
        const char *from = req_string(L, t, "from", "schema_drift.rename");
        const char *to = req_string(L, t, "to", "schema_drift.rename");
        f->drift = PLAN_DRIFT_RENAME;
        f->column = col_or_error(L, d, from, "schema_drift.rename.from");
        if (plan_dataset_column(d, to) >= 0)
            luaL_error(L, "schema_drift.rename.to: the dataset already has a column '%s'", to);
        f->name = ldup(L, to);
    } else {
        lua_getfield(L, 2, "retype");
        need_type(L, -1, LUA_TTABLE, "schema_drift", "retype", "a table { column = , type = }");
        int t = lua_gettop(L);
        check_keys(L, t, (const char *const[]){"column", "type", NULL}, 0, "schema_drift.retype");
        f->drift = PLAN_DRIFT_RETYPE;
        f->column = fault_column(L, d, t, "schema_drift.retype");
        f->new_type = parse_type(L, req_string(L, t, "type", "schema_drift.retype"),
                                 "schema_drift.retype.type");
    }
    lua_settop(L, 1);
    return 1;
}

static bool numeric_col(const plan_column *c)
{
    return c->type == PLAN_T_INT || c->type == PLAN_T_DECIMAL;
}

static int f_outliers(lua_State *L)
{
    plan_dataset *d = check_ds(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    check_keys(L, 2, (const char *const[]){"column", "fraction", "factor", NULL}, 0, "outliers");
    int c = fault_column(L, d, 2, "outliers");
    if (!numeric_col(&d->cols[c]) || d->cols[c].kind == PLAN_COL_FK ||
        d->cols[c].kind == PLAN_COL_SEQUENCE)
        luaL_error(L,
                   "outliers.column: '%s' is not a numeric measure (int, decimal, normal, "
                   "lognormal)",
                   d->cols[c].name);
    plan_fault *f = add_fault(L, d, PLAN_F_OUTLIERS);
    f->column = c;
    f->fraction = req_fraction(L, 2, "outliers");
    f->factor = 10;
    opt_number(L, 2, "factor", "outliers", &f->factor);
    lua_settop(L, 1);
    return 1;
}

static int f_orphans(lua_State *L)
{
    plan_dataset *d = check_ds(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    check_keys(L, 2, (const char *const[]){"column", "fraction", NULL}, 0, "orphans");
    int c = fault_column(L, d, 2, "orphans");
    if (d->cols[c].kind != PLAN_COL_FK)
        luaL_error(L, "orphans.column: '%s' is not a foreign key (kind fk)", d->cols[c].name);
    plan_fault *f = add_fault(L, d, PLAN_F_ORPHANS);
    f->column = c;
    f->fraction = req_fraction(L, 2, "orphans");
    lua_settop(L, 1);
    return 1;
}

/* ---- queries ---- */

typedef struct qobj {
    plan_query q;   /* dataset index is resolved by scenario{} */
    bool has_agg;   /* an aggregate was chosen (else: the rows, or the ids) */
    char desc[240]; /* "orders:valid():dedup(order_id)" for messages */
} qobj;

static qobj *check_q(lua_State *L, int idx)
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
        *dsp = check_ds(L, 1);
        n->q.agg = PLAN_AGG_ROWS;
        n->q.col = n->q.group_col = -1;
        n->q.sub.dedup_col = -1;
        n->q.sub.group_day_col = -1;
        snprintf(n->desc, sizeof n->desc, "dataset");
        lua_pushvalue(L, 1);
    } else {
        qobj *o = check_q(L, 1);
        if (o->has_agg)
            luaL_error(L,
                       "%s: the query already ends in an aggregate; subsets come first, as in "
                       "ds:valid():dedup(\"id\"):sum(\"amount\")",
                       method);
        *n = *o;
        lua_getiuservalue(L, 1, 1);
        *dsp = check_ds(L, -1);
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
    q->q.sub.dedup_col = col_or_error(L, d, col, "dedup");
    if (strcmp(which, "last") == 0)
        q->q.sub.dedup_last = true;
    else if (strcmp(which, "first") != 0)
        luaL_error(L, "dedup: keep \"first\" or \"last\", got '%s'", which);
    desc_add(q, ":dedup(%s,%s)", col, which);
    return 1;
}

static const char *const fault_names[] = {"duplicates", "late",    "out_of_order",
                                          "nulls",      "corrupt", "schema_drift",
                                          "outliers",   "orphans", NULL};

static int q_with_impl(lua_State *L, bool with)
{
    plan_dataset *d;
    const char *f = luaL_checkstring(L, 2);
    qobj *q = derive(L, with ? "with" : "without", &d);
    int k = lookup(f, fault_names);
    if (k < 0) {
        char dm[80];
        luaL_error(L, "%s: unknown fault '%s'%s", with ? "with" : "without", f,
                   did_you_mean(f, fault_names, dm, 80));
    }
    if (with)
        q->q.sub.with_faults |= 1u << k;
    else
        q->q.sub.without_faults |= 1u << k;
    desc_add(q, ":%s(%s)", with ? "with" : "without", f);
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
        q->q.group_col = col_or_error(L, d, a, path);
        if (d->cols[q->q.group_col].type == PLAN_T_TIMESTAMP)
            q->q.sub.group_day_col = q->q.group_col;
        if (b) q->q.col = col_or_error(L, d, b, path);
    } else if (a) {
        q->q.col = col_or_error(L, d, a, path);
    }
    if (numeric && q->q.col >= 0 && !numeric_col(&d->cols[q->q.col]))
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

static int q_tostring(lua_State *L)
{
    qobj *q = check_q(L, 1);
    lua_pushfstring(L, "query(%s)", q->desc);
    return 1;
}

static const luaL_Reg query_methods[] = {{"valid", q_valid},
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

static const luaL_Reg fault_methods[] = {{"duplicates", f_duplicates},
                                         {"late", f_late},
                                         {"out_of_order", f_out_of_order},
                                         {"nulls", f_nulls},
                                         {"corrupt_records", f_corrupt},
                                         {"schema_drift", f_schema_drift},
                                         {"outliers", f_outliers},
                                         {"orphans", f_orphans},
                                         {NULL, NULL}};

/* ds:corrupt{...} is the fault, ds:corrupt() the query of corrupt records. */
static int ds_corrupt(lua_State *L)
{
    if (lua_istable(L, 2)) return f_corrupt(L);
    return q_corrupt(L);
}

/* __index of datasets and queries: methods, or an error naming the closest one. */
static int method_index(lua_State *L)
{
    const char *k = luaL_checkstring(L, 2);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
    bool is_ds = lua_toboolean(L, lua_upvalueindex(2));
    if (is_ds && strcmp(k, "rows") == 0) {
        lua_pushinteger(L, (lua_Integer)check_ds(L, 1)->rows);
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
                          "corrupt, schema_drift, outliers, orphans)",
                          k, did_you_mean(k, names, dm, 80));
    return luaL_error(L, "unknown query method '%s'%s", k, did_you_mean(k, names, dm, 80));
}

/* ---- checks ---- */

typedef struct chkobj {
    plan_check *c; /* owned until scenario{} copies it */
} chkobj;

static void check_free(plan_check *c)
{
    if (!c) return;
    plan_scenario tmp = {0};
    tmp.checks = c;
    tmp.nchecks = 1;
    plan_scenario_release(&tmp);
}

static int chk_gc(lua_State *L)
{
    chkobj *o = luaL_checkudata(L, 1, T_CHECK);
    check_free(o->c);
    o->c = NULL;
    return 0;
}

static int chk_tostring(lua_State *L)
{
    chkobj *o = luaL_checkudata(L, 1, T_CHECK);
    lua_pushfstring(L, "check(%s %s)", o->c ? chk_kind_name(o->c->kind) : "?",
                    o->c && o->c->table ? o->c->table : "");
    return 1;
}

/* Keys that go to plan_check fields; every other allowed key becomes a JSON param. */
static const char *const field_keys[] = {"name",   "severity", "table",   "topic",  "column",
                                         "values", "ref",      "equals",  "expect", "tolerance",
                                         "key",    "columns",  "max_age", NULL};

static void add_param(lua_State *L, plan_check *c, const char *key, int vidx, const char *path)
{
    hx_buf b;
    hx_buf_init(&b);
    char p[160];
    snprintf(p, sizeof p, "%s.%s", path, key);
    json_value(L, vidx, &b, p, 0); /* may raise: b leaks nothing as long as it is released */
    plan_param *v = hx_realloc(c->params, (c->nparams + 1) * sizeof *v);
    if (!v || b.oom) {
        hx_buf_release(&b);
        luaL_error(L, "out of memory");
    }
    c->params = v;
    v[c->nparams].key = NULL;
    v[c->nparams].json = hx_buf_steal(&b);
    c->nparams++;
    v[c->nparams - 1].key = ldup(L, key);
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
        c->expect.string = ldup(L, lua_tostring(L, -1));
    } else if (luaL_testudata(L, -1, T_QUERY)) {
        qobj *q = check_q(L, -1);
        unsigned fl = chk_kind_get(c->kind)->flags;
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
        return ldup(L, "");
    }
    return hx_buf_steal(&b);
}

/* Kind kd takes key: it lists it, or (a kind taking any key, like plugin) it is one of the keys
 * every check reads into its fields. */
static bool takes(const chk_kind *kd, const char *key)
{
    static const char *const any_kind[] = {"table",  "topic",     "column", "equals",
                                           "expect", "tolerance", NULL};
    return lookup(key, kd->keys ? kd->keys : any_kind) >= 0;
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
        const char *allowed[64] = {"name", "severity"};
        size_t n = 2;
        for (size_t i = 0; kd->keys[i] && n < 63; i++)
            allowed[n++] = kd->keys[i];
        allowed[n] = NULL;
        check_keys(L, t, allowed, (fl & CHK_K_SQL_TEXT) ? 1 : 0, path);
    }
    chkobj *o = lua_newuserdatauv(L, sizeof *o, 1);
    o->c = NULL;
    luaL_setmetatable(L, T_CHECK);
    int ud = lua_gettop(L);
    plan_check *c = o->c = lcalloc(L, 1, sizeof *c);
    c->kind = k;
    char where[200];
    where_here(L, where, sizeof where);
    c->where = ldup(L, where);
    if (fl & CHK_K_PLUGIN) {
        c->plugin = ldup(L, plugin);
        c->plugin_check = ldup(L, pcheck);
    }

    const char *name = opt_string(L, t, "name", path);
    c->name = name ? ldup(L, name) : NULL;
    const char *sev = opt_string(L, t, "severity", path);
    if (sev && strcmp(sev, "warn") == 0)
        c->severity = PLAN_SEV_WARN;
    else if (sev && strcmp(sev, "error") != 0) {
        static const char *const sevs[] = {"error", "warn", NULL};
        char dm[80];
        luaL_error(L, "%s.severity: expected \"error\" or \"warn\", got '%s'%s", path, sev,
                   did_you_mean(sev, sevs, dm, 80));
    }

    if (fl & CHK_K_SQL_TEXT) {
        if (lua_geti(L, t, 1) != LUA_TSTRING)
            luaL_error(L, "%s: the first entry must be the SQL text, got %s", path,
                       luaL_typename(L, -1));
        c->query = ldup(L, lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    bool by_path = takes(kd, "path");
    const char *table = opt_string(L, t, by_path ? "path" : "table", path);
    const char *topic = opt_string(L, t, "topic", path);
    if (table && topic) luaL_error(L, "%s: give a table or a topic, not both", path);
    c->table = ldup(L, table ? table : topic);
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
        opt_strv(L, t, "column", path, &cols, &nc);
        if (cols) {
            c->column = join_strv(L, cols, nc);
            for (size_t i = 0; i < nc; i++)
                hx_free(cols[i]);
            hx_free(cols);
        }
    }
    if ((fl & CHK_K_NEEDS_COLUMN) && !c->column) luaL_error(L, "%s.column: required", path);
    if (takes(kd, "values")) {
        opt_strv(L, t, "values", path, &c->values, &c->nvalues);
        if (!c->nvalues) luaL_error(L, "%s.values: required (a non-empty list)", path);
    }
    if (takes(kd, "ref")) {
        const char *ref = req_string(L, t, "ref", path);
        const char *dot = strrchr(ref, '.');
        if (!dot || dot == ref || !dot[1])
            luaL_error(L, "%s.ref: expected \"table.column\", got '%s'", path, ref);
        c->ref_table = hx_strndup(ref, (size_t)(dot - ref));
        if (!c->ref_table) luaL_error(L, "out of memory");
        c->ref_column = ldup(L, dot + 1);
    }
    if (takes(kd, "max_age") && !opt_duration(L, t, "max_age", path, &c->max_age_us))
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
        c->columns = lcalloc(L, n, sizeof(char *));
        c->types = lcalloc(L, n, sizeof(char *));
        c->ncolumns = n;
        size_t i = 0;
        lua_pushnil(L);
        while (lua_next(L, ct)) {
            if (lua_type(L, -2) == LUA_TSTRING) { /* name = "type" */
                if (lua_type(L, -1) != LUA_TSTRING)
                    luaL_error(L, "%s.columns.%s: expected a SQL type string, got %s", path,
                               lua_tostring(L, -2), luaL_typename(L, -1));
                c->columns[i] = ldup(L, lua_tostring(L, -2));
                c->types[i] = ldup(L, lua_tostring(L, -1));
            } else { /* a bare name: any type */
                if (lua_type(L, -1) != LUA_TSTRING)
                    luaL_error(L, "%s.columns: expected column names or name = \"type\"", path);
                c->columns[i] = ldup(L, lua_tostring(L, -1));
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
        opt_strv(L, t, "columns", path, &c->columns, &c->ncolumns);
    }
    const char *key = NULL;
    if (takes(kd, "key") && kd->keys) key = opt_string(L, t, "key", path);
    if ((fl & CHK_K_KEY_COLUMN) && !key && c->column) key = c->column;
    c->key = ldup(L, key);

    parse_expect(L, t, ud, "equals", c, path);
    if (c->expect.kind == PLAN_EXP_NONE) parse_expect(L, t, ud, "expect", c, path);
    if ((fl & CHK_K_NEEDS_QUERY) && c->expect.kind != PLAN_EXP_QUERY)
        luaL_error(L, "%s.expect: required, a query like orders:valid()%s", path,
                   (fl & CHK_K_IDS) ? " or orders:corrupt()" : "");
    if ((fl & CHK_K_NEEDS_EQUALS) && c->expect.kind == PLAN_EXP_NONE)
        luaL_error(L, "%s.equals: required (a number, a string or a query)", path);
    double tol = 0;
    if (opt_number(L, t, "tolerance", path, &tol) && tol < 0)
        luaL_error(L, "%s.tolerance: must be >= 0", path);
    c->tolerance = tol;

    /* Everything else is a parameter for the check's implementation; a kind taking any key (a
     * plugin) sees all its options. */
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            const char *kk = lua_tostring(L, -2);
            bool field = kd->keys ? lookup(kk, field_keys) >= 0 || (by_path && !strcmp(kk, "path"))
                                  : !strcmp(kk, "name") || !strcmp(kk, "severity");
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

static int l_check(lua_State *L)
{
    return make_check(L, (plan_check_kind)lua_tointeger(L, lua_upvalueindex(1)), 1, NULL, NULL);
}

/* plugin "name".check { ... } */
static int l_plugin_check(lua_State *L)
{
    return make_check(L, PLAN_CHK_PLUGIN, 1, lua_tostring(L, lua_upvalueindex(1)),
                      lua_tostring(L, lua_upvalueindex(2)));
}

static int plugin_index(lua_State *L)
{
    const char *check = luaL_checkstring(L, 2);
    lua_getfield(L, 1, "__plugin");
    lua_pushstring(L, check);
    lua_pushcclosure(L, l_plugin_check, 2);
    return 1;
}

static int l_plugin(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    if (!*name) return luaL_error(L, "plugin: the plugin name must not be empty");
    lua_createtable(L, 0, 1);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__plugin");
    luaL_setmetatable(L, "harness.Plugin");
    return 1;
}

/* ---- row functions ---- */

typedef struct row_ctx {
    scen *s;         /* the engine whose state runs the function */
    int fnref;       /* registry reference to the row function */
    int randref;     /* registry reference to this context's rand() */
    uint64_t key;    /* rng key for rand() */
    uint64_t cur_id; /* the record being built */
    char name[128];  /* dataset name, for messages */
} row_ctx;

static int l_rand(lua_State *L)
{
    row_ctx *rc = lua_touserdata(L, lua_upvalueindex(1));
    lua_Integer k = luaL_optinteger(L, 1, 0);
    lua_pushnumber(L, rng_unit(rng_draw(rc->key, rc->cur_id, (uint64_t)k)));
    return 1;
}

static void push_value(lua_State *L, const plan_column *c, const gen_value *v)
{
    switch (c->type) {
    case PLAN_T_INT:
    case PLAN_T_TIMESTAMP:
        lua_pushinteger(L, v->i);
        break;
    case PLAN_T_DECIMAL:
        lua_pushnumber(L, (double)v->i / pow(10, c->scale));
        break;
    case PLAN_T_BOOL:
        lua_pushboolean(L, v->i != 0);
        break;
    default:
        lua_pushlstring(L, v->s ? v->s : "", v->s ? v->len : 0);
    }
}

/* r[name] back into column c. Returns NULL or a message. */
static const char *pull_value(lua_State *L, int r, const plan_column *c, gen_record *rec, size_t ci)
{
    int ty = lua_getfield(L, r, c->name);
    gen_value *v = &rec->vals[ci];
    const char *err = NULL;
    v->null = false;
    if (ty == LUA_TNIL) {
        v->null = true;
    } else if (c->type == PLAN_T_INT) {
        int ok;
        v->i = lua_tointegerx(L, -1, &ok);
        if (ty != LUA_TNUMBER || !ok) err = "expected an integer";
    } else if (c->type == PLAN_T_DECIMAL) {
        double x = lua_tonumber(L, -1);
        if (ty != LUA_TNUMBER || !isfinite(x) || fabs(x) > 9e15 / pow(10, c->scale))
            err = "expected a number";
        else
            v->i = llround(x * pow(10, c->scale));
    } else if (c->type == PLAN_T_TIMESTAMP) {
        if (ty == LUA_TSTRING) {
            if (units_timestamp(lua_tostring(L, -1), &v->i, NULL))
                err = "expected a UTC ISO 8601 timestamp or microseconds since the epoch";
        } else if (ty == LUA_TNUMBER && lua_isinteger(L, -1)) {
            v->i = lua_tointeger(L, -1);
        } else {
            err = "expected a timestamp (microseconds since the epoch, or ISO 8601 text)";
        }
    } else if (c->type == PLAN_T_BOOL) {
        if (ty != LUA_TBOOLEAN) err = "expected a boolean";
        v->i = lua_toboolean(L, -1);
    } else {
        size_t len;
        const char *s = ty == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
        if (!s)
            err = "expected a string";
        else if (!gen_record_set_string(rec, ci, s, len))
            err = "out of memory";
    }
    if (err) lua_pushfstring(L, "column '%s': %s, got %s", c->name, err, luaL_typename(L, -1));
    return err ? lua_tostring(L, -1) : NULL;
}

/* What the protected row call works on. */
struct row_call {
    row_ctx *rc;
    const plan_dataset *ds;
    gen_record *rec;
};

/* Runs under scen_pcall: builds r, calls the row function, reads the lua columns back. */
static int row_trampoline(lua_State *L)
{
    struct row_call *c = lua_touserdata(L, 1);
    const plan_dataset *ds = c->ds;
    gen_record *rec = c->rec;
    lua_createtable(L, 0, (int)ds->ncols);
    int r = lua_gettop(L);
    for (size_t i = 0; i < ds->ncols && i < rec->ncols; i++) {
        if (ds->cols[i].kind == PLAN_COL_LUA || rec->vals[i].null) continue;
        push_value(L, &ds->cols[i], &rec->vals[i]);
        lua_setfield(L, r, ds->cols[i].name);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->rc->fnref);
    lua_pushvalue(L, r);
    lua_pushinteger(L, (lua_Integer)rec->id);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->rc->randref);
    lua_call(L, 3, 0);
    for (size_t i = 0; i < ds->ncols && i < rec->ncols; i++) {
        if (ds->cols[i].kind != PLAN_COL_LUA) continue;
        const char *err = pull_value(L, r, &ds->cols[i], rec, i);
        if (err) return luaL_error(L, "row function: %s", err);
        lua_settop(L, r);
    }
    return 0;
}

static int row_hook(void *ud, const plan_dataset *ds, gen_record *rec, char *errbuf, size_t errlen)
{
    row_ctx *rc = ud;
    lua_State *L = scen_state(rc->s);
    int top = lua_gettop(L);
    struct row_call call = {rc, ds, rec};
    rc->cur_id = rec->id;
    lua_pushcfunction(L, row_trampoline); /* light C function and light userdata: no allocation */
    lua_pushlightuserdata(L, &call);
    char hook[200];
    snprintf(hook, sizeof hook, "row function of dataset '%s', row %llu", rc->name,
             (unsigned long long)rec->id);
    hx_err e = {0};
    int rcode = scen_pcall(rc->s, hook, 1, 0, &e);
    lua_settop(L, top);
    if (rcode)
        snprintf(errbuf, errlen, "dataset '%s' row %llu: %s", rc->name, (unsigned long long)rec->id,
                 e.msg);
    return rcode;
}

/* ---- scenario{} ---- */

typedef struct scnobj {
    plan_scenario *sc; /* owned until the loader takes it */
} scnobj;

static int scn_gc(lua_State *L)
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
    dst->where = ldup(L, src->where);
    dst->cols = lcalloc(L, src->ncols, sizeof *dst->cols);
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
        d->name = ldup(L, s->name);
        if (s->kind == PLAN_COL_CATEGORICAL) {
            d->u.cat.values = lcalloc(L, s->u.cat.n, sizeof(char *));
            d->u.cat.cum = lcalloc(L, s->u.cat.n, sizeof(double));
            d->u.cat.n = s->u.cat.n;
            memcpy(d->u.cat.cum, s->u.cat.cum, s->u.cat.n * sizeof(double));
            for (size_t j = 0; j < s->u.cat.n; j++)
                d->u.cat.values[j] = ldup(L, s->u.cat.values[j]);
        } else if (s->kind == PLAN_COL_PATTERN) {
            d->u.pat.pattern = ldup(L, s->u.pat.pattern);
        }
    }
    if (src->nfaults) {
        dst->faults = lcalloc(L, src->nfaults, sizeof *dst->faults);
        for (size_t i = 0; i < src->nfaults; i++) {
            dst->faults[i] = src->faults[i];
            dst->faults[i].name = dst->faults[i].where = NULL;
            dst->nfaults = i + 1;
            dst->faults[i].name = ldup(L, src->faults[i].name);
            dst->faults[i].where = ldup(L, src->faults[i].where);
        }
    }
}

static const char *const scenario_keys[] = {"name",   "description", "tags",     "phase",
                                            "seed",   "datasets",    "solution", "replay",
                                            "checks", "thresholds",  NULL};

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
static void parse_thresholds(lua_State *L, int t, const char *k, const char *path,
                             const plan_scenario *sc, plan_threshold **out, size_t *nout)
{
    int ty = lua_getfield(L, t, k);
    if (ty == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    need_type(L, -1, LUA_TTABLE, path, k, "a table { [\"metric\"] = \"< 30s\" }");
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
    *out = lcalloc(L, n, sizeof **out);
    char where[200];
    where_here(L, where, sizeof where);
    for (i = 0; i < n; i++) {
        plan_threshold *th = &(*out)[i];
        *nout = i + 1;
        th->metric = ldup(L, names[i]);
        th->where = ldup(L, where);
        lua_getfield(L, tt, names[i]);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "%s.%s[\"%s\"]: expected a threshold text like \"< 30s\", got %s", path,
                       k, names[i], luaL_typename(L, -1));
        const char *text = lua_tostring(L, -1);
        th->text = ldup(L, text);
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
    "into",       "dataset", "table", "topic",   "dir",  "format", "per",      "mode",  "rate",
    "partitions", "key",     "run",   "timeout", "wait", "fault",  "duration", "sleep", NULL};
static const char *const source_faults[] = {"broker_down", "broker_up", "request_errors", "rtt",
                                            "pg_drop",     "file_late", "file_twice",     NULL};

static void parse_step(lua_State *L, int t, plan_scenario *sc, int dsfirst, size_t idx, int checks)
{
    plan_step *st = &sc->steps[idx];
    char path[64];
    snprintf(path, sizeof path, "scenario.replay[%d]", (int)idx + 1);
    if (!lua_istable(L, t))
        luaL_error(L, "%s: expected a step table like { run = \"solution\" }, got %s", path,
                   luaL_typename(L, t));
    check_keys(L, t, step_keys, 0, path);
    char where[200];
    where_here(L, where, sizeof where);
    st->where = ldup(L, where);
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
    const char *const own[][8] = {
        {"into", "dataset", "table", "topic", "dir", "format", "per", NULL},
        {"run", "timeout", NULL},
        {"wait", "timeout", NULL},
        {"fault", "duration", "dataset", NULL},
        {"sleep", NULL}};
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        const char *k = lua_tostring(L, -1);
        bool ok = lookup(k, own[kind]) >= 0 ||
                  (kind == 0 && (!strcmp(k, "mode") || !strcmp(k, "rate") ||
                                 !strcmp(k, "partitions") || !strcmp(k, "key")));
        if (!ok) luaL_error(L, "%s: '%s' does not belong in a %s step", path, k, kinds[kind]);
    }
    switch (kind) {
    case 0: {
        st->kind = PLAN_STEP_INTO;
        const char *into = req_string(L, t, "into", path);
        static const char *const tg[] = {"files", "postgres", "kafka", NULL};
        int ti = lookup(into, tg);
        if (ti < 0) {
            char dm[80];
            luaL_error(L, "%s.into: unknown source '%s'%s (files, postgres, kafka)", path, into,
                       did_you_mean(into, tg, dm, 80));
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
                           lua_tostring(L, -1), did_you_mean(lua_tostring(L, -1), names, dm, 80));
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
        const char *table = opt_string(L, t, "table", path);
        const char *topic = opt_string(L, t, "topic", path);
        const char *dir = opt_string(L, t, "dir", path);
        if ((table && ti != PLAN_TGT_POSTGRES) || (topic && ti != PLAN_TGT_KAFKA) ||
            (dir && ti != PLAN_TGT_FILES))
            luaL_error(L, "%s: into = \"%s\" takes %s", path, into,
                       ti == PLAN_TGT_FILES      ? "dir"
                       : ti == PLAN_TGT_POSTGRES ? "table"
                                                 : "topic");
        if (ti == PLAN_TGT_POSTGRES) st->table = ldup(L, table ? table : d->name);
        if (ti == PLAN_TGT_KAFKA) st->topic = ldup(L, topic ? topic : d->name);
        if (ti == PLAN_TGT_FILES) {
            if (dir) check_rel_dir(L, path, dir);
            st->dir = ldup(L, dir ? dir : d->name);
        }
        const char *fmt = opt_string(L, t, "format", path);
        if (fmt && strcmp(fmt, "jsonl") == 0)
            st->format = PLAN_FMT_JSONL;
        else if (fmt && strcmp(fmt, "csv") != 0)
            luaL_error(L, "%s.format: expected \"csv\" or \"jsonl\", got '%s'", path, fmt);
        const char *per = opt_string(L, t, "per", path);
        if (per && (strcmp(per, "batch") == 0 || strcmp(per, "day") == 0))
            st->per_batch = true;
        else if (per && strcmp(per, "all") != 0)
            luaL_error(L, "%s.per: expected \"batch\" (or \"day\") or \"all\", got '%s'", path,
                       per);
        if (per && strcmp(per, "day") == 0 && d->batching != PLAN_BATCH_DAY)
            luaL_error(L, "%s.per: dataset '%s' is not batched by day (batches = \"day\")", path,
                       d->name);
        const char *mode = opt_string(L, t, "mode", path);
        if (mode && ti != PLAN_TGT_POSTGRES)
            luaL_error(L, "%s.mode: only postgres replay has a mode", path);
        if (mode && strcmp(mode, "oltp") == 0)
            st->pg_mode = PLAN_PG_OLTP;
        else if (mode && strcmp(mode, "copy") != 0)
            luaL_error(L, "%s.mode: expected \"copy\" or \"oltp\", got '%s'", path, mode);
        if (opt_number(L, t, "rate", path, &st->rate) && (ti != PLAN_TGT_KAFKA || st->rate < 0))
            luaL_error(L, "%s.rate: a records-per-second rate >= 0, for kafka replay", path);
        lua_Integer parts = 0;
        if (opt_integer(L, t, "partitions", path, &parts) &&
            (ti != PLAN_TGT_KAFKA || parts < 0 || parts > 100000))
            luaL_error(L, "%s.partitions: a partition count, for kafka replay", path);
        st->partitions = (int)parts;
        const char *key = opt_string(L, t, "key", path);
        if (key) {
            if (ti != PLAN_TGT_KAFKA)
                luaL_error(L, "%s.key: the message key column, for kafka replay", path);
            char p[96];
            snprintf(p, sizeof p, "%s.key", path);
            st->key_col = col_or_error(L, d, key, p);
        }
        break;
    }
    case 1: {
        st->kind = PLAN_STEP_RUN;
        const char *run = req_string(L, t, "run", path);
        if (strcmp(run, "solution") != 0)
            luaL_error(L, "%s.run: only \"solution\" can be run, got '%s'", path, run);
        opt_duration(L, t, "timeout", path, &st->timeout_us);
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
            check_keys(L, wt, (const char *const[]){"until", "timeout", NULL}, 0, path);
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
            opt_duration(L, wt, "timeout", path, &st->timeout_us);
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
        const char *f = req_string(L, t, "fault", path);
        if (lookup(f, source_faults) < 0) {
            char dm[80];
            luaL_error(L,
                       "%s.fault: unknown source fault '%s'%s (broker_down, broker_up, "
                       "request_errors, rtt, pg_drop, file_late, file_twice)",
                       path, f, did_you_mean(f, source_faults, dm, 80));
        }
        st->fault = ldup(L, f);
        opt_duration(L, t, "duration", path, &st->sleep_us);
        const char *ds = opt_string(L, t, "dataset", path);
        if (ds) {
            int dsi = plan_scenario_dataset(sc, ds);
            if (dsi < 0)
                luaL_error(L, "%s.dataset: no dataset '%s' in scenario.datasets", path, ds);
            st->dataset = (size_t)dsi;
        }
        break;
    }
    case 4:
        st->kind = PLAN_STEP_SLEEP;
        opt_duration(L, t, "sleep", path, &st->sleep_us);
        break;
    }
}

static int l_scenario(lua_State *L)
{
    scen *s = scen_of(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    check_keys(L, 1, scenario_keys, 0, "scenario");
    scnobj *o = lua_newuserdatauv(L, sizeof *o, 0);
    o->sc = NULL;
    luaL_setmetatable(L, T_SCENARIO);
    int ud = lua_gettop(L);
    plan_scenario *sc = o->sc = lcalloc(L, 1, sizeof *sc);

    const char *name = req_string(L, 1, "name", "scenario");
    if (!*name) luaL_error(L, "scenario.name: must not be empty");
    check_path_name(L, "scenario.name", name);
    sc->name = ldup(L, name);
    sc->description = ldup(L, opt_string(L, 1, "description", "scenario"));
    opt_strv(L, 1, "tags", "scenario", &sc->tags, &sc->ntags);
    lua_Integer phase = 1;
    opt_integer(L, 1, "phase", "scenario", &phase);
    if (phase < 1 || phase > 9)
        luaL_error(L, "scenario.phase: expected 1 (base) or 2 (twist), got %I", phase);
    sc->phase = (int)phase;
    lua_Integer seed;
    sc->seed =
        opt_integer(L, 1, "seed", "scenario", &seed) ? (uint64_t)seed : scen_seed_from_name(name);
    const scen_opts *opts = scen_options(s);
    if (opts->has_seed) sc->seed ^= opts->seed;

    /* solution */
    sc->mode = PLAN_MODE_BATCH;
    sc->solution_timeout_us = INT64_C(600000000);
    if (lua_getfield(L, 1, "solution") != LUA_TNIL) {
        need_type(L, -1, LUA_TTABLE, "scenario", "solution", "a table { mode = , timeout = }");
        int t = lua_gettop(L);
        check_keys(L, t, (const char *const[]){"mode", "timeout", NULL}, 0, "scenario.solution");
        const char *mode = opt_string(L, t, "mode", "scenario.solution");
        if (mode && strcmp(mode, "service") == 0)
            sc->mode = PLAN_MODE_SERVICE;
        else if (mode && strcmp(mode, "batch") != 0)
            luaL_error(L, "scenario.solution.mode: expected \"batch\" or \"service\", got '%s'",
                       mode);
        opt_duration(L, t, "timeout", "scenario.solution", &sc->solution_timeout_us);
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
        check_path_name(L, what, names[i]);
    }
    sc->datasets = lcalloc(L, n ? n : 1, sizeof *sc->datasets);
    for (i = 0; i < n; i++) {
        sc->ndatasets = i + 1;
        clone_dataset(L, check_ds(L, dsfirst + (int)i), &sc->datasets[i]);
        sc->datasets[i].name = ldup(L, names[i]);
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
                raise_at(L, d->where,
                         "dataset '%s' column '%s' refers to a dataset that is not in this "
                         "scenario's datasets (add it: datasets = { %s = ..., <parent> = ... })",
                         d->name, d->cols[c].name, d->name);
            d->cols[c].u.fk.dataset = (size_t)pi;
            lua_pop(L, 1);
        }
        if (lua_getfield(L, uv, "row") == LUA_TFUNCTION) {
            row_ctx *rc = hx_calloc(1, sizeof *rc);
            if (!rc || scen_track(s, rc)) luaL_error(L, "out of memory");
            rc->s = s;
            rc->key = rng_key(d->seed, 0x726f77); /* "row" */
            snprintf(rc->name, sizeof rc->name, "%s", d->name);
            rc->fnref = luaL_ref(L, LUA_REGISTRYINDEX);
            lua_pushlightuserdata(L, rc);
            lua_pushcclosure(L, l_rand, 1);
            rc->randref = luaL_ref(L, LUA_REGISTRYINDEX);
            d->row_hook = row_hook;
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
    sc->checks = lcalloc(L, nc ? nc : 1, sizeof *sc->checks);
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
        c->expect.kind = src->expect.kind;
        c->expect.number = src->expect.number;
        c->expect.query = src->expect.query;
        c->where = ldup(L, src->where);
        c->table = ldup(L, src->table);
        c->column = ldup(L, src->column);
        c->query = ldup(L, src->query);
        c->ref_table = ldup(L, src->ref_table);
        c->ref_column = ldup(L, src->ref_column);
        c->expect.string = ldup(L, src->expect.string);
        c->plugin = ldup(L, src->plugin);
        c->plugin_check = ldup(L, src->plugin_check);
        c->key = ldup(L, src->key);
        if (src->nvalues) {
            c->values = lcalloc(L, src->nvalues, sizeof(char *));
            c->nvalues = src->nvalues;
            for (size_t j = 0; j < src->nvalues; j++)
                c->values[j] = ldup(L, src->values[j]);
        }
        if (src->ncolumns) {
            c->columns = lcalloc(L, src->ncolumns, sizeof(char *));
            if (src->types) c->types = lcalloc(L, src->ncolumns, sizeof(char *));
            c->ncolumns = src->ncolumns;
            for (size_t j = 0; j < src->ncolumns; j++) {
                c->columns[j] = ldup(L, src->columns[j]);
                if (src->types) c->types[j] = ldup(L, src->types[j]);
            }
        }
        if (src->nparams) {
            c->params = lcalloc(L, src->nparams, sizeof *c->params);
            c->nparams = src->nparams;
            for (size_t j = 0; j < src->nparams; j++) {
                c->params[j].key = ldup(L, src->params[j].key);
                c->params[j].json = ldup(L, src->params[j].json);
            }
        }
        if (c->expect.kind == PLAN_EXP_QUERY) {
            lua_getiuservalue(L, -1, 1); /* the query */
            lua_getiuservalue(L, -1, 1); /* its dataset */
            int di = ds_index(L, -1, dsfirst, n);
            if (di < 0)
                raise_at(L, c->where,
                         "%s: the expected query uses a dataset that is not in this scenario's "
                         "datasets",
                         chk_kind_name(c->kind));
            c->expect.query.dataset = (size_t)di;
            lua_pop(L, 2);
            const plan_dataset *d = &sc->datasets[di];
            unsigned fl = chk_kind_get(c->kind)->flags;
            if ((fl & CHK_K_DATASET_KEY) && !c->key) {
                if (d->key_col < 0)
                    raise_at(L, c->where, "%s: give key = \"column\" (dataset '%s' has no key)",
                             chk_kind_name(c->kind), d->name);
                c->key = ldup(L, d->cols[d->key_col].name);
            }
            /* diff and file look the key and the compared columns up in the dataset. */
            const char *kn = chk_kind_name(c->kind);
            char dm[80];
            bool by_key = (fl & CHK_K_BY_KEY) && c->key;
            if (by_key && plan_dataset_column(d, c->key) < 0)
                raise_at(L, c->where, "%s.key: dataset '%s' has no column '%s'%s", kn, d->name,
                         c->key, column_hint(d, c->key, dm, sizeof dm));
            for (size_t j = 0; by_key && j < c->ncolumns; j++)
                if (plan_dataset_column(d, c->columns[j]) < 0)
                    raise_at(L, c->where, "%s.columns: dataset '%s' has no column '%s'%s", kn,
                             d->name, c->columns[j], column_hint(d, c->columns[j], dm, sizeof dm));
        }
        lua_pop(L, 1);
    }
    /* each kind's own rules, within the scenario */
    for (i = 0; i < nc; i++) {
        const plan_check *c = &sc->checks[i];
        const chk_kind *kd = chk_kind_get(c->kind);
        char err[300];
        if (kd->validate && kd->validate(c, sc, err, sizeof err) != 0)
            raise_at(L, c->where, "%s.%s", kd->name, err);
    }
    /* names: explicit ones must be unique; defaults get " #2", " #3" */
    for (i = 0; i < nc; i++) {
        plan_check *c = &sc->checks[i];
        chkobj *co;
        lua_geti(L, checks, (lua_Integer)i + 1);
        co = lua_touserdata(L, -1);
        lua_pop(L, 1);
        if (co->c->name) {
            c->name = ldup(L, co->c->name);
            for (size_t j = 0; j < i; j++)
                if (sc->checks[j].name && strcmp(sc->checks[j].name, c->name) == 0)
                    raise_at(L, c->where, "check name '%s' is used twice in scenario '%s'", c->name,
                             sc->name);
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
        c->name = ldup(L, nm);
    }

    /* replay */
    int rty = lua_getfield(L, 1, "replay");
    if (rty == LUA_TTABLE) {
        int rt = lua_gettop(L);
        size_t ns = (size_t)luaL_len(L, rt);
        sc->steps = lcalloc(L, ns ? ns : 1, sizeof *sc->steps);
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

    parse_thresholds(L, 1, "thresholds", "scenario", sc, &sc->thresholds, &sc->nthresholds);
    lua_settop(L, ud);
    return 1;
}

int scen_dsl_take_scenario(lua_State *L, int idx, plan_scenario *out)
{
    scnobj *o = luaL_checkudata(L, idx, T_SCENARIO);
    if (!o->sc) return -1;
    *out = *o->sc;
    hx_free(o->sc);
    o->sc = NULL;
    return 0;
}

static int scn_tostring(lua_State *L)
{
    scnobj *o = luaL_checkudata(L, 1, T_SCENARIO);
    lua_pushfstring(L, "scenario(%s)", o->sc ? o->sc->name : "taken");
    return 1;
}

/* ---- challenge{} ---- */

typedef struct chlobj {
    plan_pack *p; /* holds the challenge fields only */
} chlobj;

static int chl_gc(lua_State *L)
{
    chlobj *o = luaL_checkudata(L, 1, T_CHALLENGE);
    plan_pack_free(o->p);
    o->p = NULL;
    return 0;
}

static int chl_tostring(lua_State *L)
{
    chlobj *o = luaL_checkudata(L, 1, T_CHALLENGE);
    lua_pushfstring(L, "challenge(%s)", o->p && o->p->name ? o->p->name : "taken");
    return 1;
}

static const char *const challenge_keys[] = {"name",  "level",   "description", "sources", "sinks",
                                             "scale", "budgets", "reference",   NULL};
static const char *const source_names[] = {"files", "postgres", "kafka", NULL};

static void check_sources(lua_State *L, char **v, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++)
        if (lookup(v[i], source_names) < 0) {
            char dm[80];
            luaL_error(L, "%s[%d]: unknown '%s'%s (files, postgres, kafka)", path, (int)i + 1, v[i],
                       did_you_mean(v[i], source_names, dm, 80));
        }
}

static int l_challenge(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    check_keys(L, 1, challenge_keys, 0, "challenge");
    chlobj *o = lua_newuserdatauv(L, sizeof *o, 0);
    o->p = NULL;
    luaL_setmetatable(L, T_CHALLENGE);
    int ud = lua_gettop(L);
    plan_pack *p = o->p = lcalloc(L, 1, sizeof *p);
    p->name = ldup(L, req_string(L, 1, "name", "challenge"));
    check_path_name(L, "challenge.name", p->name);
    p->level = ldup(L, opt_string(L, 1, "level", "challenge"));
    p->description = ldup(L, opt_string(L, 1, "description", "challenge"));
    opt_strv(L, 1, "sources", "challenge", &p->sources, &p->nsources);
    check_sources(L, p->sources, p->nsources, "challenge.sources");
    opt_strv(L, 1, "sinks", "challenge", &p->sinks, &p->nsinks);
    check_sources(L, p->sinks, p->nsinks, "challenge.sinks");
    if (lua_getfield(L, 1, "scale") != LUA_TNIL) {
        need_type(L, -1, LUA_TTABLE, "challenge", "scale",
                  "{ records_per_day = , runs_per_day = }");
        int t = lua_gettop(L);
        check_keys(L, t, (const char *const[]){"records_per_day", "runs_per_day", "probe", NULL}, 0,
                   "challenge.scale");
        opt_number(L, t, "records_per_day", "challenge.scale", &p->scale.records_per_day);
        opt_number(L, t, "runs_per_day", "challenge.scale", &p->scale.runs_per_day);
        opt_number(L, t, "probe", "challenge.scale", &p->scale.probe);
        if (p->scale.records_per_day < 0 || p->scale.runs_per_day < 0)
            luaL_error(L, "challenge.scale: values must be >= 0");
        if (p->scale.probe != 0 && !(p->scale.probe >= 1.5 && p->scale.probe <= 100))
            luaL_error(L, "challenge.scale.probe: must be between 1.5 and 100 (times the "
                          "scenario's records), or 0 for no probe");
    }
    lua_pop(L, 1);
    parse_thresholds(L, 1, "budgets", "challenge", NULL, &p->budgets, &p->nbudgets);
    /* Reference figures for the score: the better direction and the figure, "<= 0.35". */
    parse_thresholds(L, 1, "reference", "challenge", NULL, &p->references, &p->nreferences);
    for (size_t i = 0; i < p->nreferences; i++)
        if (p->references[i].op == PLAN_OP_EQ || !(p->references[i].value > 0))
            luaL_error(L,
                       "challenge.reference[\"%s\"]: write the better direction and a positive "
                       "figure, e.g. \"<= 0.35\"",
                       p->references[i].metric);
    lua_settop(L, ud);
    return 1;
}

void scen_dsl_take_challenge(lua_State *L, int idx, plan_pack *pack)
{
    chlobj *o = luaL_checkudata(L, idx, T_CHALLENGE);
    plan_pack *p = o->p;
    if (!p) return;
    pack->name = p->name, p->name = NULL;
    pack->level = p->level, p->level = NULL;
    pack->description = p->description, p->description = NULL;
    pack->sources = p->sources, pack->nsources = p->nsources, p->sources = NULL, p->nsources = 0;
    pack->sinks = p->sinks, pack->nsinks = p->nsinks, p->sinks = NULL, p->nsinks = 0;
    pack->scale = p->scale;
    pack->budgets = p->budgets, pack->nbudgets = p->nbudgets, p->budgets = NULL, p->nbudgets = 0;
    pack->references = p->references, pack->nreferences = p->nreferences;
    p->references = NULL, p->nreferences = 0;
    plan_pack_free(p);
    o->p = NULL;
}

/* ---- registration ---- */

static void new_type(lua_State *L, const char *name, lua_CFunction gc, lua_CFunction tostr)
{
    luaL_newmetatable(L, name);
    if (gc) {
        lua_pushcfunction(L, gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pushcfunction(L, tostr);
    lua_setfield(L, -2, "__tostring");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable"); /* getmetatable() cannot reach the C internals */
}

static const luaL_Reg harness_globals[] = {{"dataset", l_dataset},
                                           {"scenario", l_scenario},
                                           {"challenge", l_challenge},
                                           {"plugin", l_plugin},
                                           {NULL, NULL}};

int luaopen_harness(lua_State *L)
{
    new_type(L, T_DATASET, ds_gc, ds_tostring);
    lua_newtable(L); /* methods: faults and queries */
    luaL_setfuncs(L, query_methods, 0);
    luaL_setfuncs(L, fault_methods, 0);
    lua_pushnil(L);
    lua_setfield(L, -2, "corrupt_records");
    lua_pushcfunction(L, ds_corrupt);
    lua_setfield(L, -2, "corrupt");
    lua_pushboolean(L, 1);
    lua_pushcclosure(L, method_index, 2);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    new_type(L, T_QUERY, NULL, q_tostring);
    lua_newtable(L);
    luaL_setfuncs(L, query_methods, 0);
    lua_pushboolean(L, 0);
    lua_pushcclosure(L, method_index, 2);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    new_type(L, T_CHECK, chk_gc, chk_tostring);
    lua_pop(L, 1);
    new_type(L, T_SCENARIO, scn_gc, scn_tostring);
    lua_pop(L, 1);
    new_type(L, T_CHALLENGE, chl_gc, chl_tostring);
    lua_pop(L, 1);
    luaL_newmetatable(L, "harness.Plugin");
    lua_pushcfunction(L, plugin_index);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    lua_pushglobaltable(L);
    luaL_setfuncs(L, harness_globals, 0);
    /* a global constructor per check kind of the table (plugin checks come from plugin()) */
    for (size_t i = 0; i < chk_kind_count(); i++) {
        const chk_kind *kd = chk_kind_get((plan_check_kind)i);
        if (kd->flags & CHK_K_PLUGIN) continue;
        lua_pushinteger(L, (lua_Integer)i);
        lua_pushcclosure(L, l_check, 1);
        lua_setfield(L, -2, kd->name);
    }
    lua_pop(L, 1);
    return 0;
}
