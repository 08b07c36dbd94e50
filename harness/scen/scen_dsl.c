/* scen_dsl.c - the Lua bridge's registration: the userdata types and the DSL's globals (dataset,
 * scenario, challenge, plugin, a constructor per check kind). The DSL (docs/scenarios.md) is one
 * file per Lua type: scen_dataset.c, scen_fault.c, scen_query.c, scen_check.c, scen_scenario.c,
 * scen_challenge.c, with the helpers they share in scen_lua.c; each constructor validates into
 * plan structs as it is called, so every misuse names the file:line of the call.
 *
 * Memory: every C structure under construction hangs off a userdata with a __gc, and every count
 * is raised right after its array is allocated (zeroed), so a Lua error at any point frees what
 * was built. Userdata types: harness.Dataset, harness.Query, harness.Check, harness.Scenario,
 * harness.Challenge. */
#include <lauxlib.h>
#include <lua.h>

#include "scen_int.h"

/* The registry field holding the engine's scen_host. */
#define HOST_KEY "harness.host"

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

static const luaL_Reg harness_globals[] = {{"dataset", dsl_dataset},
                                           {"scenario", dsl_scenario},
                                           {"challenge", dsl_challenge},
                                           {"plugin", dsl_plugin},
                                           {NULL, NULL}};

const scen_host *dsl_host(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, HOST_KEY);
    const scen_host *h = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return h;
}

int luaopen_harness(lua_State *L, const scen_host *host)
{
    lua_pushlightuserdata(L, (void *)host);
    lua_setfield(L, LUA_REGISTRYINDEX, HOST_KEY);
    new_type(L, T_DATASET, dsl_ds_gc, dsl_ds_tostring);
    lua_newtable(L); /* methods: faults and queries */
    luaL_setfuncs(L, dsl_query_methods, 0);
    luaL_setfuncs(L, dsl_fault_methods, 0);
    luaL_setfuncs(L, dsl_changes_methods, 0);
    lua_pushnil(L);
    lua_setfield(L, -2, "corrupt_records");
    lua_pushcfunction(L, dsl_ds_corrupt);
    lua_setfield(L, -2, "corrupt");
    lua_pushboolean(L, 1);
    lua_pushcclosure(L, dsl_method_index, 2);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    new_type(L, T_QUERY, NULL, dsl_q_tostring);
    lua_newtable(L);
    luaL_setfuncs(L, dsl_query_methods, 0);
    lua_pushboolean(L, 0);
    lua_pushcclosure(L, dsl_method_index, 2);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    new_type(L, T_CHECK, dsl_chk_gc, dsl_chk_tostring);
    lua_pop(L, 1);
    new_type(L, T_SCENARIO, dsl_scn_gc, dsl_scn_tostring);
    lua_pop(L, 1);
    new_type(L, T_CHALLENGE, dsl_chl_gc, dsl_chl_tostring);
    lua_pop(L, 1);
    luaL_newmetatable(L, "harness.Plugin");
    lua_pushcfunction(L, dsl_plugin_index);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    lua_pushglobaltable(L);
    luaL_setfuncs(L, harness_globals, 0);
    /* a global constructor per check kind of the table (plugin checks come from plugin()) */
    for (size_t i = 0; i < chk_kind_count(); i++) {
        const chk_kind *kd = chk_kind_get((plan_check_kind)i);
        if (kd->flags & CHK_K_PLUGIN) continue;
        lua_pushinteger(L, (lua_Integer)i);
        lua_pushcclosure(L, dsl_check, 1);
        lua_setfield(L, -2, kd->name);
    }
    lua_pop(L, 1);
    return 0;
}
