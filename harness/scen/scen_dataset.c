/* scen_dataset.c - harness.Dataset: dataset{} and its columns, and the Lua row function hook the
 * generator calls. */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen_int.h"
#include "rng.h"
#include "units.h"

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

int dsl_ds_gc(lua_State *L)
{
    dsobj *o = luaL_checkudata(L, 1, T_DATASET);
    dataset_free(o->ds);
    o->ds = NULL;
    return 0;
}

plan_dataset *dsl_check_ds(lua_State *L, int idx)
{
    dsobj *o = luaL_checkudata(L, idx, T_DATASET);
    if (!o->ds) luaL_error(L, "dataset is gone");
    return o->ds;
}

int dsl_ds_tostring(lua_State *L)
{
    plan_dataset *d = dsl_check_ds(L, 1);
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
    {"fk", PLAN_COL_FK, K("ref", "column", "dist", "skew", "via")},
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
    dsl_opt_integer(L, t, "scale", path, &sc);
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
    int ki = dsl_lookup(kname, colkind_names);
    if (ki < 0) {
        char dm[80];
        luaL_error(L, "%s: unknown column kind '%s'%s", path, kname,
                   dsl_did_you_mean(kname, colkind_names, dm, 80));
    }
    const struct colkind *k = &colkinds[ki];
    dsl_check_keys(L, t, k->keys, k->kind == PLAN_COL_PATTERN ? 3 : 2, path);
    c->kind = k->kind;
    c->name = dsl_ldup(L, name);
    double nf = 0;
    dsl_opt_fraction(L, t, "nulls", path, &nf);
    c->null_frac = nf;
    double lo = -HUGE_VAL, hi = HUGE_VAL;
    bool has_lo, has_hi;

    switch (c->kind) {
    case PLAN_COL_SEQUENCE: {
        lua_Integer start = 1, step = 1;
        dsl_opt_integer(L, t, "start", path, &start);
        dsl_opt_integer(L, t, "step", path, &step);
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
        if (!dsl_opt_integer(L, t, "min", path, &mn) || !dsl_opt_integer(L, t, "max", path, &mx))
            luaL_error(L, "%s: an int column needs min and max", path);
        if (mn > mx) luaL_error(L, "%s: min %I is above max %I", path, mn, mx);
        c->type = PLAN_T_INT;
        c->u.irange.min = mn;
        c->u.irange.max = mx;
        break;
    }
    case PLAN_COL_DECIMAL:
        if (!dsl_opt_number(L, t, "min", path, &lo) || !dsl_opt_number(L, t, "max", path, &hi))
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
        dsl_opt_number(L, t, ln ? "mu" : "mean", path, &mean);
        dsl_opt_number(L, t, ln ? "sigma" : "sd", path, &sd);
        if (sd < 0) luaL_error(L, "%s.%s: must be >= 0", path, ln ? "sigma" : "sd");
        has_lo = dsl_opt_number(L, t, "min", path, &lo);
        has_hi = dsl_opt_number(L, t, "max", path, &hi);
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
        c->u.cat.values = dsl_lcalloc(L, n, sizeof(char *));
        c->u.cat.cum = dsl_lcalloc(L, n, sizeof(double));
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
            c->u.cat.values[i] = dsl_ldup(L, lua_tostring(L, -1));
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
        bool has_rate = dsl_opt_number(L, t, "rate", path, &rate);
        if (dsl_opt_number(L, t, "per_day", path, &per_day)) {
            if (has_rate)
                luaL_error(L, "%s: give rate (rows per second) or per_day, not both", path);
            rate = per_day / 86400.0;
        }
        if (!(rate > 0)) luaL_error(L, "%s: the rate must be above 0 rows per second", path);
        int64_t jitter = 0;
        dsl_opt_duration(L, t, "jitter", path, &jitter);
        c->u.ts.start_us = start;
        c->u.ts.rate = rate;
        c->u.ts.jitter_us = jitter;
        break;
    }
    case PLAN_COL_PATTERN: {
        const char *p = dsl_opt_string(L, t, "pattern", path);
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
        c->u.pat.pattern = dsl_ldup(L, p);
        lua_pop(L, 1);
        break;
    }
    case PLAN_COL_FK: {
        if (lua_getfield(L, t, "ref") != LUA_TUSERDATA || !luaL_testudata(L, -1, T_DATASET))
            luaL_error(L, "%s.ref: expected the parent dataset (ref = customers), got %s", path,
                       luaL_typename(L, -1));
        plan_dataset *parent = dsl_check_ds(L, -1);
        if (parent == d) luaL_error(L, "%s.ref: a dataset cannot refer to itself", path);
        lua_seti(L, uv, (lua_Integer)ci + 1);
        const char *col = dsl_opt_string(L, t, "column", path);
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
                       dsl_did_you_mean(col, names, dm, 80));
        }
        const char *dist = dsl_opt_string(L, t, "dist", path);
        static const char *const dists[] = {"uniform", "zipf", "spread", NULL};
        int di = dist ? dsl_lookup(dist, dists) : 0;
        if (di < 0) {
            char dm[80];
            luaL_error(L, "%s.dist: unknown distribution '%s'%s (uniform, zipf, spread)", path,
                       dist, dsl_did_you_mean(dist, dists, dm, 80));
        }
        double skew = 1.0;
        bool has_skew = dsl_opt_number(L, t, "skew", path, &skew);
        if (has_skew && di != 1)
            luaL_error(L, "%s.skew: only a zipf distribution has a skew", path);
        if (!(skew > 0)) luaL_error(L, "%s.skew: must be above 0", path);
        c->type = parent->cols[pc].type;
        c->scale = parent->cols[pc].scale;
        c->u.fk.dataset = 0; /* resolved by scenario{} */
        c->u.fk.column = (size_t)pc;
        c->u.fk.mode = (plan_fk_mode)di;
        c->u.fk.skew = skew;
        const char *via = dsl_opt_string(L, t, "via", path);
        if (via) {
            /* The parent record another FK column of this dataset picked: an earlier column
             * into the same dataset (card_country follows card_id). */
            int vc = -1;
            for (size_t j = 0; j < ci; j++)
                if (strcmp(d->cols[j].name, via) == 0) vc = (int)j;
            if (vc < 0 || d->cols[vc].kind != PLAN_COL_FK || d->cols[vc].u.fk.via)
                luaL_error(L,
                           "%s.via: '%s' must be an earlier fk column of this dataset with a "
                           "parent of its own (via = \"card_id\")",
                           path, via);
            lua_geti(L, uv, (lua_Integer)vc + 1);
            lua_geti(L, uv, (lua_Integer)ci + 1);
            if (!lua_rawequal(L, -1, -2))
                luaL_error(L, "%s.via: '%s' refers to another dataset; via needs the same ref",
                           path, via);
            lua_pop(L, 2);
            if (dist || has_skew)
                luaL_error(L, "%s.via: the parent comes from '%s'; leave dist and skew out", path,
                           via);
            c->u.fk.via = (size_t)vc + 1;
        }
        break;
    }
    case PLAN_COL_BOOL: {
        double p = 0.5;
        dsl_opt_fraction(L, t, "p", path, &p);
        c->type = PLAN_T_BOOL;
        c->u.boolean.p = p;
        break;
    }
    case PLAN_COL_LUA: {
        const char *ty = dsl_opt_string(L, t, "type", path);
        c->type = ty ? dsl_parse_type(L, ty, path) : PLAN_T_STRING;
        c->scale = opt_scale(L, t, path, c->type == PLAN_T_DECIMAL ? 2 : 0);
        break;
    }
    }
}

/* " (did you mean 'x'?)" for a column name d lacks, or "". */
const char *dsl_column_hint(const plan_dataset *d, const char *col, char *dm, size_t n)
{
    const char *names[64];
    size_t nn = 0;
    for (size_t j = 0; j < d->ncols && nn < 63; j++)
        names[nn++] = d->cols[j].name;
    names[nn] = NULL;
    return dsl_did_you_mean(col, names, dm, n);
}

static const char *const dataset_keys[] = {"rows",    "key", "time", "batches",
                                           "columns", "row", NULL};

int dsl_col_or_error(lua_State *L, const plan_dataset *d, const char *col, const char *path)
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
                   dsl_did_you_mean(col, names, dm, 80));
    }
    return i;
}

/* Names that become file and folder names (scenario -> run folder, dataset -> landing files,
 * challenge -> runs/<stamp>-<name>) must stay one plain path segment: a hostile or careless
 * "../x" would otherwise write outside the run folder. */
void dsl_check_path_name(lua_State *L, const char *what, const char *name)
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
void dsl_check_rel_dir(lua_State *L, const char *what, const char *dir)
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
        dsl_check_path_name(L, what, seg);
        p += k;
        if (*p == '/') p++;
    }
}

int dsl_dataset(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    dsl_check_keys(L, 1, dataset_keys, 0, "dataset");
    dsobj *o = lua_newuserdatauv(L, sizeof *o, 1);
    o->ds = NULL;
    luaL_setmetatable(L, T_DATASET);
    int ud = lua_gettop(L);
    lua_newtable(L); /* uservalue: [col+1] = fk parent, row = function */
    int uv = lua_gettop(L);
    lua_pushvalue(L, uv);
    lua_setiuservalue(L, ud, 1);
    plan_dataset *d = o->ds = dsl_lcalloc(L, 1, sizeof *d);
    d->key_col = d->time_col = -1;
    char where[200];
    dsl_where_here(L, where, sizeof where);
    d->where = dsl_ldup(L, where);

    lua_Integer rows;
    if (!dsl_opt_integer(L, 1, "rows", "dataset", &rows))
        luaL_error(L, "dataset.rows: required (the number of records)");
    if (rows < 0) luaL_error(L, "dataset.rows: must be >= 0");
    d->rows = (uint64_t)rows;

    if (lua_getfield(L, 1, "columns") != LUA_TTABLE)
        luaL_error(L, "dataset.columns: expected a list of columns, got %s", luaL_typename(L, -1));
    int cols = lua_gettop(L);
    size_t n = (size_t)luaL_len(L, cols);
    if (n == 0) luaL_error(L, "dataset.columns: a dataset needs at least one column");
    d->cols = dsl_lcalloc(L, n, sizeof *d->cols);
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

    const char *key = dsl_opt_string(L, 1, "key", "dataset");
    if (key) d->key_col = dsl_col_or_error(L, d, key, "dataset.key");
    const char *time = dsl_opt_string(L, 1, "time", "dataset");
    if (time) {
        d->time_col = dsl_col_or_error(L, d, time, "dataset.time");
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
        dsl_opt_integer(L, 1, "batches", "dataset", &nb);
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

/* ---- row functions ---- */

int dsl_rand(lua_State *L)
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

/* Runs under the host's protected call: builds r, calls the row function, reads the lua columns
 * back. */
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

int dsl_row_hook(void *ud, const plan_dataset *ds, gen_record *rec, char *errbuf, size_t errlen)
{
    row_ctx *rc = ud;
    lua_State *L = rc->host->L;
    int top = lua_gettop(L);
    struct row_call call = {rc, ds, rec};
    rc->cur_id = rec->id;
    lua_pushcfunction(L, row_trampoline); /* light C function and light userdata: no allocation */
    lua_pushlightuserdata(L, &call);
    char hook[200];
    snprintf(hook, sizeof hook, "row function of dataset '%s', row %llu", rc->name,
             (unsigned long long)rec->id);
    hx_err e = {0};
    int rcode = rc->host->pcall(rc->host->ud, hook, 1, 0, &e);
    lua_settop(L, top);
    if (rcode)
        snprintf(errbuf, errlen, "dataset '%s' row %llu: %s", rc->name, (unsigned long long)rec->id,
                 e.msg);
    return rcode;
}
