/* scen_int.h - inside the scenario engine: what the engine (scen.c) and the DSL's files (one per
 * Lua type, registered by scen_dsl.c) share. Not for other modules: their API is scen.h.
 *
 * The DSL calls nothing in scen.c: the engine hands it a scen_host (its options and the services it
 * needs) when it registers the DSL, so the dependency runs one way, scen.c -> DSL.
 *
 * Memory: every C structure under construction hangs off a userdata with a __gc, and every count
 * is raised right after its array is allocated (zeroed), so a Lua error at any point frees what
 * was built. Strings returned by the helpers are borrowed from the Lua stack unless said. */
#ifndef HX_SCEN_INT_H
#define HX_SCEN_INT_H

#include <lauxlib.h>
#include <lua.h>

#include "check.h"
#include "gen.h"
#include "scen.h"

/* Userdata type names. */
#define T_DATASET "harness.Dataset"
#define T_QUERY "harness.Query"
#define T_CHECK "harness.Check"
#define T_SCENARIO "harness.Scenario"
#define T_CHALLENGE "harness.Challenge"

/* ---- between the engine and the DSL ---- */

/* What the engine gives the DSL (borrowed for the state's life). */
typedef struct scen_host {
    lua_State *L;          /* the engine's (main) state, where row functions run */
    const scen_opts *opts; /* the load options (seed) */
    void *ud;              /* the engine, passed back to the services */
    /* Keep p until the engine is freed (hx_free then). 0, or HX_ENOMEM (p freed). */
    int (*track)(void *ud, void *p);
    /* The engine's one protected call (scen.c: a traceback naming hook, the instruction budget
     * reset); on error e filled and HX_EUSAGE or HX_ENOMEM returned. */
    int (*pcall)(void *ud, const char *hook, int nargs, int nres, hx_err *e);
    const char *const *packdir; /* the pack folder the load is reading (query files) */
} scen_host;

/* Register the DSL's types and globals in state L, for the engine host. Returns 0. */
int luaopen_harness(lua_State *L, const scen_host *host);
/* The host the DSL was registered with. */
const scen_host *dsl_host(lua_State *L);
/* Move the plan out of a harness.Scenario at idx into out: 0, or -1 when already taken. */
int dsl_take_scenario(lua_State *L, int idx, plan_scenario *out);
/* Move the challenge fields of a harness.Challenge at idx into pack. */
void dsl_take_challenge(lua_State *L, int idx, plan_pack *pack);

/* ---- the DSL's shared types ---- */

typedef struct qobj {
    plan_query q;   /* dataset index is resolved by scenario{} */
    bool has_agg;   /* an aggregate was chosen (else: the rows, or the ids) */
    char desc[240]; /* "orders:valid():dedup(order_id)" for messages */
} qobj;

typedef struct chkobj {
    plan_check *c; /* owned until scenario{} copies it */
} chkobj;

typedef struct row_ctx {
    const scen_host *host; /* the engine whose state runs the function */
    int fnref;             /* registry reference to the row function */
    int randref;           /* registry reference to this context's rand() */
    uint64_t key;          /* rng key for rand() */
    uint64_t cur_id;       /* the record being built */
    char name[128];        /* dataset name, for messages */
} row_ctx;

/* ---- helpers (scen_lua.c) ---- */

/* "file:line" of the Lua code calling the current C function, into buf. */
void dsl_where_here(lua_State *L, char *buf, size_t n);
/* Raise a Lua error "where: message" (where: a stored "file:line"). Does not return. */
int dsl_raise_at(lua_State *L, const char *where, const char *fmt, ...);
/* hx_calloc, raising "out of memory" on failure. */
void *dsl_lcalloc(lua_State *L, size_t n, size_t size);
/* hx_strdup (NULL stays NULL), raising "out of memory" on failure. */
char *dsl_ldup(lua_State *L, const char *s);
/* " (did you mean 'x'?)" for the nearest of cands, or "", into buf. */
const char *dsl_did_you_mean(const char *word, const char *const *cands, char *buf, size_t n);
/* Index of word in the NULL-terminated names, or -1. */
int dsl_lookup(const char *word, const char *const *names);
/* Every key of table t must be one of allowed (strings) or a position 1..npos; else raise
 * "path: unknown key 'k' (did you mean ...?)". */
void dsl_check_keys(lua_State *L, int t, const char *const *allowed, int npos, const char *path);
/* Raise "path.key: expected what, got <type>" unless the value at idx has type type. */
int dsl_need_type(lua_State *L, int idx, int type, const char *path, const char *key,
                  const char *what);
/* The string at t[k], or NULL when absent; raise when not a string. */
const char *dsl_opt_string(lua_State *L, int t, const char *k, const char *path);
/* The string at t[k]; raise when absent. */
const char *dsl_req_string(lua_State *L, int t, const char *k, const char *path);
/* A finite number at t[k] into *out; false when absent. */
bool dsl_opt_number(lua_State *L, int t, const char *k, const char *path, double *out);
/* An integer at t[k] into *out; false when absent. */
bool dsl_opt_integer(lua_State *L, int t, const char *k, const char *path, lua_Integer *out);
/* A fraction at t[k] (0..1 or "5%") into *out; false when absent. */
bool dsl_opt_fraction(lua_State *L, int t, const char *k, const char *path, double *out);
/* A duration at t[k] ("30s" or seconds) into *us; false when absent. */
bool dsl_opt_duration(lua_State *L, int t, const char *k, const char *path, int64_t *us);
/* A value type by name ("int", "decimal", ...); raise with a did-you-mean. */
plan_type dsl_parse_type(lua_State *L, const char *s, const char *path);
/* A string or a list of strings at t[k] into a fresh *v (hx_free'd by the plan), *n set. */
void dsl_opt_strv(lua_State *L, int t, const char *k, const char *path, char ***v, size_t *n);
/* The Lua value at idx as JSON into b (objects with sorted keys); raise on what JSON cannot
 * hold. */
void dsl_json_value(lua_State *L, int idx, hx_buf *b, const char *path, int depth);

/* ---- harness.Dataset (scen_dataset.c), its faults (scen_fault.c) ---- */

/* The Lua functions and metamethods the registration (scen_dsl.c) installs. */
int dsl_ds_gc(lua_State *L);
/* The dataset of the harness.Dataset at idx; raise when it is not one. */
plan_dataset *dsl_check_ds(lua_State *L, int idx);
int dsl_ds_tostring(lua_State *L);
/* " (did you mean 'x'?)" for a column name d lacks, or "", into dm. */
const char *dsl_column_hint(const plan_dataset *d, const char *col, char *dm, size_t n);
/* Index of column col of d; raise "path: dataset has no column" with a hint. */
int dsl_col_or_error(lua_State *L, const plan_dataset *d, const char *col, const char *path);
/* Raise unless name is one plain path segment (scenario, dataset and challenge names become
 * file and folder names). */
void dsl_check_path_name(lua_State *L, const char *what, const char *name);
/* Raise unless dir is a relative folder without "..". */
void dsl_check_rel_dir(lua_State *L, const char *what, const char *dir);
/* A file the pack names (a require'd module, a query file): raise "what: ..." unless path, links
 * resolved, is inside the pack folder packdir and a regular file within kind's cap (read by
 * hx_read_input); else push its text as a Lua string and return it (valid while that string stays
 * on the stack), its length in *len (len may be NULL). */
char *dsl_read_pack_file(lua_State *L, const char *packdir, const char *path, hx_input kind,
                         const char *what, size_t *len);
int dsl_dataset(lua_State *L);
int dsl_rand(lua_State *L);
/* The plan_row_hook of a dataset with a Lua row function (ud: its row_ctx). */
int dsl_row_hook(void *ud, const plan_dataset *ds, gen_record *rec, char *errbuf, size_t errlen);
int dsl_f_corrupt(lua_State *L);
/* ds:pattern{} (scen_pattern.c). */
int dsl_f_pattern(lua_State *L);
/* The column holds numbers (INT or DECIMAL). */
bool dsl_numeric_col(const plan_column *c);
extern const luaL_Reg dsl_fault_methods[];
/* ds:changes{} (scen_changes.c), and its parts of a step: a mode = "changes" step of dataset d
 * (returns PLAN_TGT_CDC, sets st->target and st->upto), and the add_column fault's keys. */
extern const luaL_Reg dsl_changes_methods[];
int dsl_changes_step(lua_State *L, int t, const char *path, const plan_dataset *d, plan_step *st);
void dsl_changes_fault(lua_State *L, int t, const char *path, const plan_scenario *sc,
                       plan_step *st, bool has_dataset);

/* ---- harness.Query (scen_query.c) ---- */

/* The harness.Query at idx; raise when it is not one. */
qobj *dsl_check_q(lua_State *L, int idx);
int dsl_q_tostring(lua_State *L);
int dsl_ds_corrupt(lua_State *L);
int dsl_method_index(lua_State *L);
extern const luaL_Reg dsl_query_methods[];

/* ---- harness.Check (scen_check.c) ---- */

int dsl_chk_gc(lua_State *L);
int dsl_chk_tostring(lua_State *L);
int dsl_check(lua_State *L);
int dsl_plugin_index(lua_State *L);
int dsl_plugin(lua_State *L);

/* ---- harness.Scenario (scen_scenario.c), harness.Challenge (scen_challenge.c) ---- */

int dsl_scn_gc(lua_State *L);
/* Thresholds at t[k] ({ ["metric"] = "< 30s" }) into *out, each metric one scenario sc (NULL:
 * any) can produce (metrics.h). */
void dsl_parse_thresholds(lua_State *L, int t, const char *k, const char *path,
                          const plan_scenario *sc, plan_threshold **out, size_t *nout);
int dsl_scenario(lua_State *L);
/* scenario.workload of the scenario table at scn into sc->workload (left NULL when absent);
 * scen_workload.c. */
void dsl_parse_workload(lua_State *L, int scn, plan_scenario *sc);
int dsl_scn_tostring(lua_State *L);
int dsl_chl_gc(lua_State *L);
int dsl_chl_tostring(lua_State *L);
int dsl_challenge(lua_State *L);

#endif
