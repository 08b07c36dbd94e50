/* scen.h - the scenario engine: runs a challenge pack's Lua (challenge.lua and the scenario files)
 * in a sandboxed Lua 5.4 state and validates what it returns into a plan_pack (plan.h). The
 * authors' DSL (dataset{}, scenario{}, checks, faults, ledger queries) is documented in
 * docs/scenarios.md and implemented by the DSL's files (scen_dsl.c and the scen_<type>.c it
 * registers; their shared internals are in the private scen_int.h); this file's API is what the
 * commands use.
 *
 * A scen object owns one lua_State and the plan_pack built from it. The state stays alive as long
 * as the scen does, because datasets with a Lua row function keep a hook into it
 * (plan_dataset.row_hook / row_ud): free the scen only when nothing generates from its plan any
 * more. A scen is single-threaded: a dataset with a row function must not be generated from two
 * threads at once.
 *
 * Ownership: scen_free() frees the state, the pack and every string handed out by the getters.
 * Nothing returned by a getter is freed by the caller. */
#ifndef HX_SCEN_H
#define HX_SCEN_H

#include <stdbool.h>
#include <stdint.h>

#include "ledger.h"
#include "plan.h"
#include "util.h"

/* Defaults for scen_opts fields left at 0. */
#define SCEN_DEFAULT_INSTR_BUDGET 200000000ull
#define SCEN_DEFAULT_MEM_LIMIT ((size_t)512 << 20)

/* How to load. Zero-initialise, then set what you need. */
typedef struct scen_opts {
    bool has_seed;         /* --seed given: every scenario seed is XORed with seed */
    uint64_t seed;         /* the --seed value */
    bool unsafe_lua;       /* --unsafe-lua: the full standard libraries (io, os, package, debug) */
    uint64_t instr_budget; /* Lua instructions per call into Lua, 0 = SCEN_DEFAULT_INSTR_BUDGET */
    size_t mem_limit;      /* bytes the Lua state may hold, 0 = SCEN_DEFAULT_MEM_LIMIT */
} scen_opts;

typedef struct scen scen; /* opaque: the Lua state, the pack, the problems found */

/* Create an engine with a fresh sandboxed state. o may be NULL (defaults). Returns 0, HX_ENOMEM. */
int scen_new(const scen_opts *o, scen **out, hx_err *e);
/* Free the engine, its state and its pack. NULL is fine. */
void scen_free(scen *s);

/* Load a pack folder: <dir>/challenge.lua (must return challenge {...}) and every other *.lua in
 * <dir> and in <dir>/scenarios/, sorted by name, each returning scenario {...}. Keeps going after
 * a broken file so every problem is found (see scen_problem). Returns 0, or HX_EUSAGE with the
 * first problem in e (and "(N more)"), or HX_ENOMEM/HX_EIO. Call once per scen. */
int scen_load_pack(scen *s, const char *dir, hx_err *e);
/* Load one scenario file; the pack folder is its folder (or the folder above a "scenarios/"
 * folder). challenge.lua is not read. Returns like scen_load_pack. */
int scen_load_file(scen *s, const char *path, hx_err *e);

/* The pack built so far (scenarios that loaded without a problem). Never NULL after scen_new. */
const plan_pack *scen_pack(const scen *s);
/* Problems found by the last load, each "file:line: message" (first line only; the traceback is
 * in scen_problem_detail). */
size_t scen_problem_count(const scen *s);
const char *scen_problem(const scen *s, size_t i);
/* The problem with its Lua traceback, if there was one. */
const char *scen_problem_detail(const scen *s, size_t i);
/* Number of scenario files attempted by the last load (ok + broken). */
size_t scen_files_tried(const scen *s);

/* Index of the scenario called name in the pack, or -1. */
int scen_find(const scen *s, const char *name);

/* Evaluate a ledger query of scenario `scenario` (index into the pack) on a fresh generator:
 * what `harness gen` and the tests use to see a query's value. out is released by the caller with
 * ledger_result_release. Returns 0 or a negative hx code. */
int scen_query_eval(scen *s, size_t scenario, const plan_query *q, ledger_result *out, hx_err *e);

/* Seeds: the default scenario seed (from its name), and a dataset's seed (from the scenario seed
 * and the dataset name). Exposed so tests and tools can recompute them. */
uint64_t scen_seed_from_name(const char *name);
uint64_t scen_dataset_seed(uint64_t scenario_seed, const char *dataset);

#endif
