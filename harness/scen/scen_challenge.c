/* scen_challenge.c - harness.Challenge: challenge{} (name, sources, scale, budgets, reference
 * figures). */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen_int.h"
#include "metrics.h"
#include "units.h"

typedef struct chlobj {
    plan_pack *p; /* holds the challenge fields only */
} chlobj;

int dsl_chl_gc(lua_State *L)
{
    chlobj *o = luaL_checkudata(L, 1, T_CHALLENGE);
    plan_pack_free(o->p);
    o->p = NULL;
    return 0;
}

int dsl_chl_tostring(lua_State *L)
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
        if (dsl_lookup(v[i], source_names) < 0) {
            char dm[80];
            luaL_error(L, "%s[%d]: unknown '%s'%s (files, postgres, kafka)", path, (int)i + 1, v[i],
                       dsl_did_you_mean(v[i], source_names, dm, 80));
        }
}

int dsl_challenge(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    dsl_check_keys(L, 1, challenge_keys, 0, "challenge");
    chlobj *o = lua_newuserdatauv(L, sizeof *o, 0);
    o->p = NULL;
    luaL_setmetatable(L, T_CHALLENGE);
    int ud = lua_gettop(L);
    plan_pack *p = o->p = dsl_lcalloc(L, 1, sizeof *p);
    p->name = dsl_ldup(L, dsl_req_string(L, 1, "name", "challenge"));
    dsl_check_path_name(L, "challenge.name", p->name);
    p->level = dsl_ldup(L, dsl_opt_string(L, 1, "level", "challenge"));
    p->description = dsl_ldup(L, dsl_opt_string(L, 1, "description", "challenge"));
    dsl_opt_strv(L, 1, "sources", "challenge", &p->sources, &p->nsources);
    check_sources(L, p->sources, p->nsources, "challenge.sources");
    dsl_opt_strv(L, 1, "sinks", "challenge", &p->sinks, &p->nsinks);
    check_sources(L, p->sinks, p->nsinks, "challenge.sinks");
    if (lua_getfield(L, 1, "scale") != LUA_TNIL) {
        dsl_need_type(L, -1, LUA_TTABLE, "challenge", "scale",
                      "{ records_per_day = , runs_per_day = }");
        int t = lua_gettop(L);
        dsl_check_keys(L, t,
                       (const char *const[]){"records_per_day", "runs_per_day", "probe", NULL}, 0,
                       "challenge.scale");
        dsl_opt_number(L, t, "records_per_day", "challenge.scale", &p->scale.records_per_day);
        dsl_opt_number(L, t, "runs_per_day", "challenge.scale", &p->scale.runs_per_day);
        dsl_opt_number(L, t, "probe", "challenge.scale", &p->scale.probe);
        if (p->scale.records_per_day < 0 || p->scale.runs_per_day < 0)
            luaL_error(L, "challenge.scale: values must be >= 0");
        if (p->scale.probe != 0 && !(p->scale.probe >= 1.5 && p->scale.probe <= 100))
            luaL_error(L, "challenge.scale.probe: must be between 1.5 and 100 (times the "
                          "scenario's records), or 0 for no probe");
    }
    lua_pop(L, 1);
    dsl_parse_thresholds(L, 1, "budgets", "challenge", NULL, &p->budgets, &p->nbudgets);
    /* Reference figures for the score: the better direction and the figure, "<= 0.35". */
    dsl_parse_thresholds(L, 1, "reference", "challenge", NULL, &p->references, &p->nreferences);
    for (size_t i = 0; i < p->nreferences; i++)
        if (p->references[i].op == PLAN_OP_EQ || !(p->references[i].value > 0))
            luaL_error(L,
                       "challenge.reference[\"%s\"]: write the better direction and a positive "
                       "figure, e.g. \"<= 0.35\"",
                       p->references[i].metric);
    lua_settop(L, ud);
    return 1;
}

void dsl_take_challenge(lua_State *L, int idx, plan_pack *pack)
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
