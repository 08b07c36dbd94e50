/* scen_changes.c - ds:changes{}: a dataset as a change stream (plan_changes, data/changes.h),
 * replayed by { into = "postgres", dataset = ..., mode = "changes" } steps. */
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "scen_int.h"

static const char *const changes_keys[] = {"updates",  "deletes", "reinserts", "hot_keys",
                                           "txn_size", "columns", "large",     "long_txn",
                                           "burst",    NULL};

static double opt_ratio(lua_State *L, int t, const char *k, double def, double max)
{
    double v = def;
    if (dsl_opt_number(L, t, k, "changes", &v) && (v < 0 || v > max))
        luaL_error(L, "changes.%s: a number of changes per key inserted, 0..%g, got %g", k, max, v);
    return v;
}

/* An integer option of sub-table t (path "changes.<what>.<k>") in lo..hi. */
static uint32_t opt_u32(lua_State *L, int t, const char *k, const char *path, lua_Integer def,
                        lua_Integer lo, lua_Integer hi)
{
    lua_Integer v = def;
    if (dsl_opt_integer(L, t, k, path, &v) && (v < lo || v > hi))
        luaL_error(L, "%s.%s: expected an integer in %I..%I, got %I", path, k, lo, hi, v);
    return (uint32_t)v;
}

static void read_hot(lua_State *L, int t, plan_changes *o)
{
    if (lua_getfield(L, t, "hot_keys") == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    if (lua_isinteger(L, -1)) {
        lua_Integer n = lua_tointeger(L, -1);
        if (n < 0 || n > 1000) luaL_error(L, "changes.hot_keys: 0..1000 keys, got %I", n);
        o->hot_keys = (uint32_t)n;
        o->hot_share = 0.2;
    } else {
        dsl_need_type(L, -1, LUA_TTABLE, "changes", "hot_keys",
                      "a count or { keys = 3, share = 0.3 }");
        int h = lua_gettop(L);
        dsl_check_keys(L, h, (const char *const[]){"keys", "share", NULL}, 0, "changes.hot_keys");
        o->hot_keys = opt_u32(L, h, "keys", "changes.hot_keys", 1, 0, 1000);
        o->hot_share = 0.2;
        dsl_opt_fraction(L, h, "share", "changes.hot_keys", &o->hot_share);
    }
    lua_pop(L, 1);
}

static void read_txn(lua_State *L, int t, plan_changes *o)
{
    o->txn_min = o->txn_max = 1;
    int ty = lua_getfield(L, t, "txn_size");
    if (ty == LUA_TNUMBER) {
        lua_Integer n = lua_tointeger(L, -1);
        if (!lua_isinteger(L, -1) || n < 1 || n > 10000)
            luaL_error(L, "changes.txn_size: 1..10000 changes a transaction");
        o->txn_min = o->txn_max = (uint32_t)n;
    } else if (ty == LUA_TTABLE) {
        lua_Integer lo = 0, hi = 0;
        lua_geti(L, -1, 1);
        lua_geti(L, -2, 2);
        lo = lua_isinteger(L, -2) ? lua_tointeger(L, -2) : 0;
        hi = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
        lua_pop(L, 2);
        if (lo < 1 || hi < lo || hi > 10000)
            luaL_error(L, "changes.txn_size: expected { min, max } with 1 <= min <= max <= 10000");
        o->txn_min = (uint32_t)lo;
        o->txn_max = (uint32_t)hi;
    } else if (ty != LUA_TNIL) {
        luaL_error(L, "changes.txn_size: expected a number or { min, max }, got %s",
                   luaL_typename(L, -1));
    }
    lua_pop(L, 1);
}

static void read_columns(lua_State *L, int t, plan_dataset *d, plan_changes *o)
{
    char **cols = NULL;
    size_t n = 0;
    dsl_opt_strv(L, t, "columns", "changes", &cols, &n);
    for (size_t i = 0; i < n; i++) {
        int c = plan_dataset_column(d, cols[i]);
        const char *why = c < 0             ? "is not a column of the dataset"
                          : c == d->key_col ? "is the key (an update never changes it)"
                          : c >= 63         ? "is past the 63rd column"
                                            : NULL;
        if (why) {
            char msg[200];
            snprintf(msg, sizeof msg, "changes.columns: '%.64s' %s", cols[i], why);
            for (size_t j = 0; j < n; j++)
                hx_free(cols[j]);
            hx_free(cols);
            luaL_error(L, "%s", msg);
        }
        o->cols_mask |= 1ULL << c;
    }
    for (size_t j = 0; j < n; j++)
        hx_free(cols[j]);
    hx_free(cols);
}

static void read_large(lua_State *L, int t, plan_dataset *d, plan_changes *o)
{
    o->large_col = -1;
    if (lua_getfield(L, t, "large") == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    dsl_need_type(L, -1, LUA_TTABLE, "changes", "large",
                  "{ column = \"notes\", share = 0.01, bytes = 8192 }");
    int l = lua_gettop(L);
    dsl_check_keys(L, l, (const char *const[]){"column", "share", "bytes", NULL}, 0,
                   "changes.large");
    const char *col = dsl_req_string(L, l, "column", "changes.large");
    int c = dsl_col_or_error(L, d, col, "changes.large.column");
    if (d->cols[c].type != PLAN_T_STRING || c == d->key_col || c >= 63)
        luaL_error(L, "changes.large.column: '%s' must be a string column, not the key", col);
    o->large_col = c;
    o->large_share = 0.01;
    dsl_opt_fraction(L, l, "share", "changes.large", &o->large_share);
    o->large_bytes = opt_u32(L, l, "bytes", "changes.large", 8192, 1, 1 << 24);
    lua_pop(L, 1);
}

static void read_long(lua_State *L, int t, plan_changes *o)
{
    if (lua_getfield(L, t, "long_txn") == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    dsl_need_type(L, -1, LUA_TTABLE, "changes", "long_txn",
                  "{ every = 500, size = 20, span = 50 }");
    int l = lua_gettop(L);
    dsl_check_keys(L, l, (const char *const[]){"every", "size", "span", NULL}, 0,
                   "changes.long_txn");
    o->long_every = opt_u32(L, l, "every", "changes.long_txn", 500, 2, 1000000000);
    o->long_size = opt_u32(L, l, "size", "changes.long_txn", 20, 1, 100000);
    o->long_span = opt_u32(L, l, "span", "changes.long_txn", 50, 1, 1000000);
    if (o->long_span >= o->long_every)
        luaL_error(L,
                   "changes.long_txn.span: must be below every (%u), so long transactions do "
                   "not overlap",
                   o->long_every);
    lua_pop(L, 1);
}

static void read_burst(lua_State *L, int t, plan_changes *o)
{
    if (lua_getfield(L, t, "burst") == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    dsl_need_type(L, -1, LUA_TTABLE, "changes", "burst", "{ at = 0.5, updates = 500 }");
    int b = lua_gettop(L);
    dsl_check_keys(L, b, (const char *const[]){"at", "updates", NULL}, 0, "changes.burst");
    o->burst_at = 0.5;
    dsl_opt_fraction(L, b, "at", "changes.burst", &o->burst_at);
    o->burst_n = opt_u32(L, b, "updates", "changes.burst", 100, 1, 100000000);
    lua_pop(L, 1);
}

/* ds:changes { updates = 2.0, deletes = 0.05, ... }: the dataset becomes a change stream. */
static int f_changes(lua_State *L)
{
    plan_dataset *d = dsl_check_ds(L, 1);
    if (lua_isnoneornil(L, 2)) lua_newtable(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    dsl_check_keys(L, 2, changes_keys, 0, "changes");
    if (d->key_col < 0)
        luaL_error(L, "changes: a change stream needs a dataset with a key (key = \"id\")");
    if (d->nfaults)
        luaL_error(L,
                   "changes: dataset '%s' has record faults; a change stream takes none (its "
                   "faults are the changes, and the steps' faults)",
                   d->name);
    plan_changes o = {.on = true};
    o.updates = opt_ratio(L, 2, "updates", 1.0, 1000);
    o.deletes = opt_ratio(L, 2, "deletes", 0.05, 1);
    o.reinserts = opt_ratio(L, 2, "reinserts", 0.0, 1);
    if (o.reinserts > o.deletes)
        luaL_error(L, "changes.reinserts: a re-insert follows a delete: at most deletes (%g)",
                   o.deletes);
    read_hot(L, 2, &o);
    read_txn(L, 2, &o);
    read_columns(L, 2, d, &o);
    read_large(L, 2, d, &o);
    read_long(L, 2, &o);
    read_burst(L, 2, &o);
    d->changes = o;
    lua_settop(L, 1);
    return 1;
}

const luaL_Reg dsl_changes_methods[] = {{"changes", f_changes}, {NULL, NULL}};

/* A source table name: lowercase letters, digits and _, not starting with a digit or _ (names
 * starting with _ in the target schema are the solution's own). */
static bool plain_name(const char *s)
{
    if (!*s || *s == '_' || (*s >= '0' && *s <= '9') || strlen(s) > 48) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return false;
    return true;
}

int dsl_changes_step(lua_State *L, int t, const char *path, const plan_dataset *d, plan_step *st)
{
    if (!d->changes.on)
        luaL_error(L,
                   "%s.mode: \"changes\" replays a change stream: declare one with %s:changes "
                   "{ updates = 2.0, deletes = 0.05 }",
                   path, d->name);
    if (st->per_batch) luaL_error(L, "%s.per: a change stream is replayed whole (or upto)", path);
    if (!plain_name(st->table))
        luaL_error(L,
                   "%s.table: '%s' must be a plain lowercase name (letters, digits, _; the "
                   "table is public.<name> and the target target.<name>)",
                   path, st->table);
    st->target = PLAN_TGT_CDC;
    st->upto = 1;
    if (dsl_opt_number(L, t, "upto", path, &st->upto) && (st->upto <= 0 || st->upto > 1))
        luaL_error(L, "%s.upto: the share of the stream to reach, in (0, 1], got %g", path,
                   st->upto);
    return PLAN_TGT_CDC;
}

void dsl_changes_fault(lua_State *L, int t, const char *path, const plan_scenario *sc,
                       plan_step *st, bool has_dataset)
{
    const char *col = dsl_opt_string(L, t, "column", path);
    const char *type = dsl_opt_string(L, t, "type", path);
    if (strcmp(st->fault, "add_column") != 0) {
        if (col || type)
            luaL_error(L, "%s: column and type belong to fault = \"add_column\"", path);
        return;
    }
    if (!has_dataset || !sc->datasets[st->dataset].changes.on)
        luaL_error(L,
                   "%s.dataset: add_column needs the change stream it alters (dataset = "
                   "\"orders\", declared with :changes{})",
                   path);
    if (!col || !plain_name(col))
        luaL_error(L, "%s.column: the new column's name, a plain lowercase name", path);
    if (plan_dataset_column(&sc->datasets[st->dataset], col) >= 0 || !strcmp(col, "row_version") ||
        !strcmp(col, "updated_at"))
        luaL_error(L, "%s.column: the source already has a column '%s'", path, col);
    for (size_t i = 0; i < sc->nsteps; i++)
        if (&sc->steps[i] != st && sc->steps[i].column && sc->steps[i].dataset == st->dataset &&
            !strcmp(sc->steps[i].column, col))
            luaL_error(L, "%s.column: '%s' is added twice", path, col);
    st->column = dsl_ldup(L, col);
    st->col_type = type ? dsl_parse_type(L, type, path) : PLAN_T_STRING;
}
