/* scen.c - the engine half of scen.h: the Lua state with its memory cap and instruction budget,
 * the sandbox, require, the one protected-call helper, and loading a pack's files. The DSL the
 * files call lives in the DSL's files (scen_dsl.c registers them), which reach the engine only
 * through the scen_host it hands them. */
#include "scen.h"

#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "embed.h"
#include "gen.h"
#include "scen_int.h"

/* The files of scenarios/lib, compiled in by tools/embed.py (see harness/meson.build). */
extern const struct hx_embedded hx_lua_libs[];

/* How often the count hook runs: cheap enough, and a loop is caught within 10k instructions. */
#define HOOK_EVERY 10000

struct scen {
    lua_State *L;        /* the state, owned */
    scen_opts o;         /* options with defaults filled in */
    size_t mem_used;     /* bytes the state holds now */
    bool mem_refused;    /* the allocator refused a block for the cap since the last pcall */
    uint64_t instr_left; /* instructions left for the current call into Lua */
    bool budget_blown;   /* the budget ran out: every further hook raises, pcall or not */
    plan_pack *pack;     /* what loaded, owned */
    char *packdir;       /* folder require() resolves in, owned */
    char **problems;     /* first lines of problems, owned */
    char **details;      /* full messages with traceback, owned */
    size_t nproblems;
    size_t files_tried;
    void **tracked; /* blocks freed at scen_free (row function contexts) */
    size_t ntracked;
    bool loaded;    /* a load ran: a scen loads once */
    scen_host host; /* what the DSL may use of the engine */
};

static int scen_pcall(scen *s, const char *hook, int nargs, int nres, hx_err *e);
static int scen_track(scen *s, void *p);

static void *lua_alloc_capped(void *ud, void *ptr, size_t osize, size_t nsize)
{
    scen *s = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        hx_free(ptr);
        s->mem_used -= old;
        return NULL;
    }
    if (nsize > old && s->mem_used - old + nsize > s->o.mem_limit) {
        s->mem_refused = true;
        return NULL;
    }
    void *p = hx_realloc(ptr, nsize);
    if (p) s->mem_used = s->mem_used - old + nsize;
    return p;
}

/* The engine that owns state L. */
static scen *scen_of(lua_State *L)
{
    return *(scen **)lua_getextraspace(L);
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    scen *s = scen_of(L);
    if (!s->budget_blown && s->instr_left > HOOK_EVERY) {
        s->instr_left -= HOOK_EVERY;
        return;
    }
    if (!s->budget_blown) /* from now on every instruction raises: a pcall cannot catch them all */
        lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    s->budget_blown = true;
    lua_getinfo(L, "Sl", ar);
    lua_pushfstring(L, "%s:%d: scenario exceeded its instruction budget (endless loop?)",
                    ar->short_src, ar->currentline);
    lua_error(L);
}

/* ---- sandbox ---- */

static int l_print(lua_State *L)
{
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *t = luaL_tolstring(L, i, &len);
        if (i > 1) fputc('\t', stderr);
        fwrite(t, 1, len, stderr);
        lua_pop(L, 1);
    }
    fputc('\n', stderr);
    return 0;
}

/* load() that only takes text: binary chunks bypass the verifier-less VM's safety. */
static int l_load(lua_State *L)
{
    const char *mode = luaL_optstring(L, 3, "t");
    if (strcmp(mode, "t") != 0)
        return luaL_error(L, "load: only text chunks are allowed in scenarios (mode '%s' refused)",
                          mode);
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    if (n >= 2)
        lua_pushvalue(L, 2);
    else
        lua_pushnil(L);
    lua_pushliteral(L, "t");
    if (n >= 4) lua_pushvalue(L, 4);
    lua_call(L, n >= 4 ? 4 : 3, LUA_MULTRET);
    return lua_gettop(L) - n;
}

static int l_collectgarbage(lua_State *L)
{
    const char *opt = luaL_optstring(L, 1, "collect");
    if (strcmp(opt, "count") != 0)
        return luaL_error(L, "collectgarbage: only \"count\" is allowed in scenarios");
    lua_pushnumber(L, (lua_Number)lua_gc(L, LUA_GCCOUNT, 0) +
                          (lua_Number)lua_gc(L, LUA_GCCOUNTB, 0) / 1024);
    return 1;
}

static bool module_name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 200 || n[0] == '.' || n[len - 1] == '.') return false;
    for (const char *p = n; *p; p++) {
        bool word = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-';
        if (!word && !(*p == '.' && p[1] != '.')) return false;
    }
    return true;
}

/* require "a.b": <pack>/a/b.lua, else the embedded scenarios/lib file a/b.lua; nothing else. */
static int l_require(lua_State *L)
{
    scen *s = scen_of(L);
    const char *name = luaL_checkstring(L, 1);
    if (!module_name_ok(name))
        return luaL_error(L,
                          "require: bad module name '%s' (use dotted names inside the pack or "
                          "scenarios/lib, like \"lib.ecommerce\")",
                          name);
    lua_getfield(L, LUA_REGISTRYINDEX, "harness.loaded");
    int loaded = lua_gettop(L);
    if (lua_getfield(L, loaded, name) != LUA_TNIL) {
        if (lua_toboolean(L, -1)) return 1;
        return luaL_error(L, "require: '%s' requires itself (a loop of requires)", name);
    }
    lua_pop(L, 1);

    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (const char *p = name; *p; p++)
        luaL_addchar(&b, *p == '.' ? '/' : *p);
    luaL_addstring(&b, ".lua");
    luaL_pushresult(&b);
    const char *rel = lua_tostring(L, -1);
    const char *path = lua_pushfstring(L, "%s/%s", s->packdir ? s->packdir : ".", rel);

    struct stat st;
    int status;
    if (lstat(path, &st) == 0) {
        /* A module of the pack stays in the pack, links resolved: a link out of it is refused. */
        const char *what = lua_pushfstring(L, "require '%s'", name);
        size_t len;
        const char *buf = dsl_read_pack_file(L, s->packdir, path, HX_IN_LUA, what, &len);
        lua_pushfstring(L, "@%s", path);
        status = luaL_loadbufferx(L, buf, len, lua_tostring(L, -1), "t");
    } else {
        const struct hx_embedded *em = hx_embedded_find(hx_lua_libs, rel);
        if (!em)
            return luaL_error(L,
                              "module '%s' not found: no '%s' in the pack and no embedded "
                              "scenarios/%s",
                              name, path, rel);
        lua_pushfstring(L, "@harness:%s", rel);
        status = luaL_loadbufferx(L, em->data, em->len, lua_tostring(L, -1), "t");
    }
    if (status != LUA_OK) return lua_error(L);
    lua_pushboolean(L, 0); /* in progress: catches loops */
    lua_setfield(L, loaded, name);
    lua_call(L, 0, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, loaded, name);
    return 1;
}

static void copy_field(lua_State *L, int from, int to, const char *k)
{
    lua_getfield(L, from, k);
    lua_setfield(L, to, k);
}

/* Runs protected: any allocation here may hit the cap. */
static int setup_state(lua_State *L)
{
    scen *s = scen_of(L);
    if (s->o.unsafe_lua) {
        luaL_openlibs(L);
    } else {
        luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
        luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
        luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
        luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
        luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
        lua_settop(L, 0);
        lua_pushglobaltable(L);
        int g = lua_gettop(L);
        lua_pushnil(L);
        lua_setfield(L, g, "dofile");
        lua_pushnil(L);
        lua_setfield(L, g, "loadfile");
        lua_getfield(L, g, "load");
        lua_pushcclosure(L, l_load, 1);
        lua_setfield(L, g, "load");
        lua_pushcfunction(L, l_collectgarbage);
        lua_setfield(L, g, "collectgarbage");
        /* A clock and calendar are harmless; the rest of os is not. */
        luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
        int full = lua_gettop(L);
        lua_createtable(L, 0, 3);
        copy_field(L, full, full + 1, "time");
        copy_field(L, full, full + 1, "clock");
        copy_field(L, full, full + 1, "date");
        lua_setfield(L, g, "os");
        lua_settop(L, 0);
    }
    lua_pushcfunction(L, l_print);
    lua_setglobal(L, "print");
    lua_pushcfunction(L, l_require);
    lua_setglobal(L, "require");
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "harness.loaded");
    /* math.random is seeded randomly by Lua; scenarios must be reproducible. */
    lua_getglobal(L, "math");
    lua_getfield(L, -1, "randomseed");
    lua_pushinteger(L, 0);
    lua_call(L, 1, 0);
    lua_settop(L, 0);
    luaopen_harness(L, &scen_of(L)->host);
    return 0;
}

static int host_track(void *ud, void *p)
{
    return scen_track(ud, p);
}

static int host_pcall(void *ud, const char *hook, int nargs, int nres, hx_err *e)
{
    return scen_pcall(ud, hook, nargs, nres, e);
}

int scen_new(const scen_opts *o, scen **out, hx_err *e)
{
    *out = NULL;
    scen *s = hx_calloc(1, sizeof *s);
    if (!s) return hx_fail(e, HX_ENOMEM, "out of memory creating the scenario engine");
    if (o) s->o = *o;
    if (!s->o.instr_budget) s->o.instr_budget = SCEN_DEFAULT_INSTR_BUDGET;
    if (!s->o.mem_limit) s->o.mem_limit = SCEN_DEFAULT_MEM_LIMIT;
    s->pack = hx_calloc(1, sizeof *s->pack);
    s->L = s->pack ? lua_newstate(lua_alloc_capped, s) : NULL;
    if (!s->L) {
        scen_free(s);
        return hx_fail(e, HX_ENOMEM, "out of memory creating the Lua state");
    }
    *(scen **)lua_getextraspace(s->L) = s;
    s->host = (scen_host){.L = s->L,
                          .opts = &s->o,
                          .ud = s,
                          .track = host_track,
                          .pcall = host_pcall,
                          .packdir = (const char *const *)&s->packdir};
    lua_sethook(s->L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
    lua_pushcfunction(s->L, setup_state);
    int rc = scen_pcall(s, "setting up the sandbox", 0, 0, e);
    if (rc) {
        scen_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void scen_free(scen *s)
{
    if (!s) return;
    if (s->L) lua_close(s->L);
    plan_pack_free(s->pack);
    hx_free(s->packdir);
    for (size_t i = 0; i < s->nproblems; i++) {
        hx_free(s->problems[i]);
        hx_free(s->details[i]);
    }
    hx_free(s->problems);
    hx_free(s->details);
    for (size_t i = 0; i < s->ntracked; i++)
        hx_free(s->tracked[i]);
    hx_free(s->tracked);
    hx_free(s);
}

/* Hand p to the engine, freed (hx_free) by scen_free. Returns 0 or HX_ENOMEM (p is then freed). */
static int scen_track(scen *s, void *p)
{
    void **t = hx_realloc(s->tracked, (s->ntracked + 1) * sizeof *t);
    if (!t) {
        hx_free(p);
        return HX_ENOMEM;
    }
    s->tracked = t;
    s->tracked[s->ntracked++] = p;
    return 0;
}

/* ---- the protected call ---- */

struct hint {
    const char *needle; /* in the error message */
    const char *text;   /* appended */
};

static const struct hint sandbox_hints[] = {{"(global 'io')", "io"},
                                            {"(field 'execute')", "os.execute"},
                                            {"(field 'remove')", "os.remove"},
                                            {"(field 'rename')", "os.rename"},
                                            {"(field 'exit')", "os.exit"},
                                            {"(field 'getenv')", "os.getenv"},
                                            {"(field 'tmpname')", "os.tmpname"},
                                            {"(global 'dofile')", "dofile"},
                                            {"(global 'loadfile')", "loadfile"},
                                            {"(global 'package')", "package"},
                                            {"(global 'debug')", "debug"},
                                            {NULL, NULL}};

/* For "attempt to call a nil value (global 'dif')" (a misspelt check kind, function or local):
 * " (did you mean 'diff'?)" into buf, from the names the failing code could have meant: the
 * globals (the DSL) and the locals of the calling functions. False when the message is another
 * or no name is close. Runs in the message handler, so it must not raise. */
static bool nil_global_hint(lua_State *L, const char *msg, char *buf, size_t n)
{
    const char *tag = strstr(msg, "a nil value (global '");
    if (!tag) return false;
    tag += strlen("a nil value (global '");
    const char *end = strchr(tag, '\'');
    if (!end || end == tag || end - tag >= 64) return false;
    char word[64];
    memcpy(word, tag, (size_t)(end - tag));
    word[end - tag] = '\0';
    enum { MAXN = 256 };
    char names[MAXN][40];
    const char *cands[MAXN + 1];
    size_t nc = 0;
    lua_Debug ar;
    for (int level = 1; level <= 4 && lua_getstack(L, level, &ar); level++)
        for (int i = 1; nc < MAXN; i++) {
            const char *name = lua_getlocal(L, &ar, i);
            if (!name) break;
            lua_pop(L, 1);
            if (name[0] != '(' && strlen(name) < sizeof names[0]) {
                snprintf(names[nc], sizeof names[0], "%s", name);
                cands[nc] = names[nc];
                nc++;
            }
        }
    lua_pushglobaltable(L);
    lua_pushnil(L);
    while (nc < MAXN && lua_next(L, -2)) {
        lua_pop(L, 1); /* the value; the key stays for lua_next */
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char *name = lua_tostring(L, -1);
            if (strlen(name) < sizeof names[0]) {
                snprintf(names[nc], sizeof names[0], "%s", name);
                cands[nc] = names[nc];
                nc++;
            }
        }
    }
    if (nc == MAXN) lua_pop(L, 1); /* the key lua_next left when the loop stopped early */
    lua_pop(L, 1);                 /* the global table */
    cands[nc] = NULL;
    const char *best = hx_suggest(word, cands);
    if (!best || strcmp(best, word) == 0) return false;
    snprintf(buf, n, " (did you mean '%s'?)", best);
    return true;
}

static int message_handler(lua_State *L)
{
    scen *s = scen_of(L);
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    if (!s->o.unsafe_lua) {
        for (const struct hint *h = sandbox_hints; h->needle; h++) {
            if (strstr(msg, h->needle)) {
                msg = lua_pushfstring(L,
                                      "%s (%s is not available in the scenario sandbox; "
                                      "--unsafe-lua enables the full standard libraries)",
                                      msg, h->text);
                break;
            }
        }
    }
    char sugg[160];
    if (nil_global_hint(L, msg, sugg, sizeof sugg)) msg = lua_pushfstring(L, "%s%s", msg, sugg);
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* The one protected call into Lua: calls the function below nargs arguments on the stack with a
 * message handler that appends a traceback naming `hook` ("loading x.lua", "row function of
 * dataset 'orders'"). Resets the instruction budget. On error fills e ("file:line: message\n
 * traceback") and returns HX_EUSAGE (or HX_ENOMEM when the state's memory limit was hit, also
 * reported as a scenario error); the stack is left as before the function was pushed. */
static int scen_pcall(scen *s, const char *hook, int nargs, int nres, hx_err *e)
{
    lua_State *L = s->L;
    int base = lua_gettop(L) - nargs; /* the function's slot */
    lua_pushcfunction(L, message_handler);
    lua_insert(L, base);
    s->instr_left = s->o.instr_budget;
    if (s->budget_blown) lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
    s->budget_blown = false;
    s->mem_refused = false;
    int status = lua_pcall(L, nargs, nres, base);
    lua_remove(L, base);
    if (status == LUA_OK) return 0;
    int rc;
    /* Lua's own buffers turn a refused block into a plain "not enough memory" error. */
    if (status == LUA_ERRMEM || (s->mem_refused && status == LUA_ERRRUN)) {
        rc = hx_fail(e, HX_EUSAGE,
                     "%s: scenario exceeded its memory limit of %zu MiB (a runaway table or "
                     "string?)",
                     hook, s->o.mem_limit >> 20);
        if (!s->mem_refused) rc = hx_fail(e, HX_ENOMEM, "%s: out of memory", hook);
    } else {
        const char *m = lua_tostring(L, -1);
        /* "file:line: message\nstack traceback:..." -> name the hook after the first line. */
        const char *nl = m ? strchr(m, '\n') : NULL;
        if (nl)
            rc = hx_fail(e, HX_EUSAGE, "%.*s\n(in %s) %s", (int)(nl - m), m, hook, nl + 1);
        else
            rc = hx_fail(e, HX_EUSAGE, "%s\n(in %s)", m ? m : "(error)", hook);
    }
    lua_settop(L, base - 1);
    if (s->budget_blown) lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
    s->budget_blown = false;
    s->mem_refused = false;
    lua_gc(L, LUA_GCCOLLECT);
    return rc;
}

/* ---- problems ---- */

static int add_problem(scen *s, const char *msg)
{
    char **p = hx_realloc(s->problems, (s->nproblems + 1) * sizeof *p);
    if (!p) return HX_ENOMEM;
    s->problems = p;
    char **d = hx_realloc(s->details, (s->nproblems + 1) * sizeof *d);
    if (!d) return HX_ENOMEM;
    s->details = d;
    const char *nl = strchr(msg, '\n');
    char *first = nl ? hx_strndup(msg, (size_t)(nl - msg)) : hx_strdup(msg);
    char *full = hx_strdup(msg);
    if (!first || !full) {
        hx_free(first);
        hx_free(full);
        return HX_ENOMEM;
    }
    s->problems[s->nproblems] = first;
    s->details[s->nproblems] = full;
    s->nproblems++;
    return 0;
}

size_t scen_problem_count(const scen *s)
{
    return s->nproblems;
}

const char *scen_problem(const scen *s, size_t i)
{
    return i < s->nproblems ? s->problems[i] : NULL;
}

const char *scen_problem_detail(const scen *s, size_t i)
{
    return i < s->nproblems ? s->details[i] : NULL;
}

size_t scen_files_tried(const scen *s)
{
    return s->files_tried;
}

const plan_pack *scen_pack(const scen *s)
{
    return s->pack;
}

int scen_find(const scen *s, const char *name)
{
    for (size_t i = 0; i < s->pack->nscenarios; i++)
        if (strcmp(s->pack->scenarios[i].name, name) == 0) return (int)i;
    return -1;
}

/* ---- loading ---- */

enum want { WANT_SCENARIO, WANT_CHALLENGE };

/* Does challenge.lua list kind ("files", "postgres", "kafka") in its sources or sinks? */
static bool pack_declares(const plan_pack *p, const char *kind)
{
    for (size_t i = 0; i < p->nsources; i++)
        if (strcmp(p->sources[i], kind) == 0) return true;
    for (size_t i = 0; i < p->nsinks; i++)
        if (strcmp(p->sinks[i], kind) == 0) return true;
    return false;
}

/* A scenario that replays into, or checks a topic of, a system challenge.lua does not declare:
 * the run would start it anyway, but price and measure the pack without it (no streaming cost
 * lines, no replay.stream.* metrics), so it is a problem of the pack, named at the step. */
static int undeclared_io(scen *s, const plan_scenario *sc)
{
    const plan_pack *p = s->pack;
    if (!p->name) return 0; /* no challenge loaded: that is the problem already */
    static const char *const kinds[] = {"files", "postgres", "kafka", "postgres"};
    for (size_t i = 0; i < sc->nsteps; i++) {
        const plan_step *st = &sc->steps[i];
        if (st->kind != PLAN_STEP_INTO || (unsigned)st->target > PLAN_TGT_CDC) continue;
        const char *k = kinds[st->target];
        if (pack_declares(p, k)) continue;
        char msg[600];
        snprintf(msg, sizeof msg,
                 "%s: scenario.replay[%zu]: replays into %s, but challenge.lua's sources and "
                 "sinks do not list \"%s\" (add it: sources = { ..., \"%s\" }; the pack is "
                 "priced and measured by what it declares)",
                 st->where ? st->where : sc->file, i + 1, k, k, k);
        return add_problem(s, msg);
    }
    /* A fault on a system the pack does not use would be a step that does nothing: PostgreSQL
     * is not even started for a pack that does not declare it. */
    for (size_t i = 0; i < sc->nsteps; i++) {
        const plan_step *st = &sc->steps[i];
        const char *sys = st->kind == PLAN_STEP_FAULT ? plan_step_fault_system(st->fault) : NULL;
        if (!sys || pack_declares(p, sys)) continue;
        char msg[600];
        snprintf(msg, sizeof msg,
                 "%s: scenario.replay[%zu]: fault %s acts on %s, but challenge.lua's sources "
                 "and sinks do not list \"%s\" (add it, or drop the fault: it would do nothing)",
                 st->where ? st->where : sc->file, i + 1, st->fault, sys, sys);
        return add_problem(s, msg);
    }
    for (size_t i = 0; i < sc->nchecks; i++) {
        const plan_check *c = &sc->checks[i];
        if (c->kind != PLAN_CHK_TOPIC || pack_declares(p, "kafka")) continue;
        char msg[600];
        snprintf(msg, sizeof msg,
                 "%s: %s reads a Kafka topic, but challenge.lua's sources and sinks do not list "
                 "\"kafka\" (add it: sinks = { ..., \"kafka\" }; the pack is priced and "
                 "measured by what it declares)",
                 c->where ? c->where : sc->file, c->name ? c->name : "a topic check");
        return add_problem(s, msg);
    }
    return 0;
}

/* Run one file; a problem goes to the list and is not an error of this function (only running
 * out of memory is). */
static int load_one(scen *s, const char *path, enum want want)
{
    lua_State *L = s->L;
    hx_err e = {0};
    char *buf = NULL;
    size_t len;
    s->files_tried++;
    int rc = hx_read_input(path, HX_IN_LUA, &buf, &len, &e);
    if (rc) return rc == HX_ENOMEM ? rc : add_problem(s, e.msg);
    lua_settop(L, 0);
    /* Outside a protected call nothing may allocate from Lua but the (protected) loader. */
    char *chunkname = hx_malloc(strlen(path) + 2);
    if (!chunkname) {
        hx_free(buf);
        return HX_ENOMEM;
    }
    chunkname[0] = '@';
    strcpy(chunkname + 1, path);
    int status = luaL_loadbufferx(L, buf, len, chunkname, "t");
    hx_free(chunkname);
    hx_free(buf);
    if (status == LUA_ERRMEM && !s->mem_refused) {
        lua_settop(L, 0);
        return HX_ENOMEM;
    }
    if (status != LUA_OK) {
        rc = add_problem(s, lua_tostring(L, -1) ? lua_tostring(L, -1) : "cannot load");
        lua_settop(L, 0);
        return rc;
    }
    char hook[300];
    snprintf(hook, sizeof hook, "loading %s", path);
    rc = scen_pcall(s, hook, 0, 1, &e);
    if (rc == HX_ENOMEM) return rc;
    if (rc) return add_problem(s, e.msg);

    const char *tname = want == WANT_SCENARIO ? "harness.Scenario" : "harness.Challenge";
    if (!luaL_testudata(L, -1, tname)) {
        snprintf(e.msg, sizeof e.msg, "%s: must return %s { ... } (it returned %s)", path,
                 want == WANT_SCENARIO ? "scenario" : "challenge",
                 luaL_testudata(L, -1, "harness.Scenario")    ? "a scenario"
                 : luaL_testudata(L, -1, "harness.Challenge") ? "a challenge"
                                                              : luaL_typename(L, -1));
        lua_settop(L, 0);
        return add_problem(s, e.msg);
    }
    if (want == WANT_CHALLENGE) {
        dsl_take_challenge(L, -1, s->pack);
        lua_settop(L, 0);
        return 0;
    }
    plan_pack *p = s->pack;
    plan_scenario *v = hx_realloc(p->scenarios, (p->nscenarios + 1) * sizeof *v);
    if (!v) return HX_ENOMEM;
    p->scenarios = v;
    plan_scenario *sc = &p->scenarios[p->nscenarios];
    memset(sc, 0, sizeof *sc);
    if (dsl_take_scenario(L, -1, sc) != 0) {
        lua_settop(L, 0);
        return add_problem(s, "a scenario object was returned twice");
    }
    lua_settop(L, 0);
    sc->file = hx_strdup(path);
    if (!sc->file) {
        plan_scenario_release(sc);
        return HX_ENOMEM;
    }
    for (size_t i = 0; i < p->nscenarios; i++) {
        if (strcmp(p->scenarios[i].name, sc->name) == 0) {
            snprintf(e.msg, sizeof e.msg,
                     "%s: scenario name '%s' is already used by %s (names must be unique in a "
                     "pack)",
                     path, sc->name, p->scenarios[i].file);
            plan_scenario_release(sc);
            return add_problem(s, e.msg);
        }
    }
    p->nscenarios++;
    return undeclared_io(s, sc);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.lua files of dir (full paths), sorted, without challenge.lua. */
static int list_lua(const char *dir, char ***out, size_t *n, hx_err *e)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return 0;
        return hx_fail(e, HX_EIO, "cannot read folder '%s': %s", dir, strerror(errno));
    }
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".lua") != 0 || de->d_name[0] == '.' ||
            strcmp(de->d_name, "challenge.lua") == 0)
            continue;
        char **v = hx_realloc(*out, (*n + 1) * sizeof *v);
        if (!v) {
            rc = hx_fail(e, HX_ENOMEM, "out of memory listing '%s'", dir);
            break;
        }
        *out = v;
        size_t pl = strlen(dir) + len + 2;
        (*out)[*n] = hx_malloc(pl);
        if (!(*out)[*n]) {
            rc = hx_fail(e, HX_ENOMEM, "out of memory listing '%s'", dir);
            break;
        }
        snprintf((*out)[*n], pl, "%s/%s", dir, de->d_name);
        (*n)++;
    }
    closedir(d);
    if (*n) qsort(*out, *n, sizeof **out, cmp_str);
    return rc;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hx_free(v[i]);
    hx_free(v);
}

static int finish_load(scen *s, int rc, hx_err *e)
{
    if (rc == HX_ENOMEM) return hx_fail(e, HX_ENOMEM, "out of memory loading scenarios");
    if (rc) return rc;
    if (s->nproblems == 0) return 0;
    if (s->nproblems == 1) return hx_fail(e, HX_EUSAGE, "%s", s->details[0]);
    return hx_fail(e, HX_EUSAGE, "%s\n(and %zu more problems)", s->details[0], s->nproblems - 1);
}

static char *strip_slashes(const char *dir)
{
    char *d = hx_strdup(dir);
    if (!d) return NULL;
    size_t n = strlen(d);
    while (n > 1 && d[n - 1] == '/')
        d[--n] = '\0';
    return d;
}

int scen_load_pack(scen *s, const char *dir, hx_err *e)
{
    if (s->loaded) return hx_fail(e, HX_EUSAGE, "internal: a scen loads one pack; make a new one");
    s->loaded = true;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return hx_fail(e, HX_EUSAGE, "'%s' is not a challenge pack folder (%s)", dir,
                       stat(dir, &st) != 0 ? strerror(errno) : "not a folder");
    s->packdir = strip_slashes(dir);
    s->pack->dir = hx_strdup(s->packdir ? s->packdir : "");
    if (!s->packdir || !s->pack->dir) return hx_fail(e, HX_ENOMEM, "out of memory");

    size_t pl = strlen(s->packdir) + 32;
    char *path = hx_malloc(pl);
    if (!path) return hx_fail(e, HX_ENOMEM, "out of memory");
    int rc = 0;
    snprintf(path, pl, "%s/challenge.lua", s->packdir);
    if (stat(path, &st) != 0) {
        char msg[600];
        snprintf(msg, sizeof msg,
                 "%s: missing (a pack needs a challenge.lua that returns challenge { name = "
                 "... })",
                 path);
        rc = add_problem(s, msg);
    } else {
        rc = load_one(s, path, WANT_CHALLENGE);
    }
    char **files = NULL, **sub = NULL;
    size_t nfiles = 0, nsub = 0;
    if (!rc) rc = list_lua(s->packdir, &files, &nfiles, e);
    snprintf(path, pl, "%s/scenarios", s->packdir);
    if (!rc) rc = list_lua(path, &sub, &nsub, e);
    hx_free(path);
    for (size_t i = 0; !rc && i < nfiles; i++)
        rc = load_one(s, files[i], WANT_SCENARIO);
    for (size_t i = 0; !rc && i < nsub; i++)
        rc = load_one(s, sub[i], WANT_SCENARIO);
    free_list(files, nfiles);
    free_list(sub, nsub);
    if (!rc && nfiles + nsub == 0 && s->nproblems == 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s: no scenario files (*.lua beside challenge.lua)", s->packdir);
        rc = add_problem(s, msg);
    }
    return finish_load(s, rc, e);
}

int scen_load_file(scen *s, const char *path, hx_err *e)
{
    if (s->loaded) return hx_fail(e, HX_EUSAGE, "internal: a scen loads one pack; make a new one");
    s->loaded = true;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return hx_fail(e, HX_EUSAGE, "cannot read scenario file '%s': %s", path,
                       stat(path, &st) != 0 ? strerror(errno) : "not a file");
    const char *slash = strrchr(path, '/');
    char *dir = slash ? hx_strndup(path, (size_t)(slash - path)) : hx_strdup(".");
    if (!dir) return hx_fail(e, HX_ENOMEM, "out of memory");
    if (slash == path) { /* "/x.lua" */
        hx_free(dir);
        dir = hx_strdup("/");
        if (!dir) return hx_fail(e, HX_ENOMEM, "out of memory");
    }
    size_t dl = strlen(dir);
    if (dl >= 10 && strcmp(dir + dl - 10, "/scenarios") == 0) {
        char *parent = hx_strndup(dir, dl - 10);
        if (!parent) {
            hx_free(dir);
            return hx_fail(e, HX_ENOMEM, "out of memory");
        }
        hx_free(dir);
        dir = parent;
    } else if (strcmp(dir, "scenarios") == 0) {
        hx_free(dir);
        dir = hx_strdup(".");
        if (!dir) return hx_fail(e, HX_ENOMEM, "out of memory");
    }
    s->packdir = dir;
    s->pack->dir = hx_strdup(dir);
    if (!s->pack->dir) return hx_fail(e, HX_ENOMEM, "out of memory");
    return finish_load(s, load_one(s, path, WANT_SCENARIO), e);
}

/* ---- queries ---- */

int scen_query_eval(scen *s, size_t scenario, const plan_query *q, ledger_result *out, hx_err *e)
{
    if (scenario >= s->pack->nscenarios)
        return hx_fail(e, HX_EUSAGE, "internal: no scenario %zu", scenario);
    gen *g;
    int rc = gen_new(&s->pack->scenarios[scenario], &g, e);
    if (rc) return rc;
    rc = ledger_eval(g, q, out, e);
    gen_free(g);
    return rc;
}
