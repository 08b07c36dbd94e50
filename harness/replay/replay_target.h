/* replay_target.h - the replay targets as one descriptor table: where an `into = "..."` step of
 * the replay plan sends a dataset. Each target is a descriptor (its name, the plan's code for it,
 * and hooks for one scenario: setup, replay, the solution's environment, faults, teardown) in a
 * file of its own (target_files.c, target_postgres.c, target_kafka.c); replay_targets_builtin[]
 * in targets.c lists them. The run engine reads only this table: it sets each used target up
 * before a scenario's steps, sends every INTO step to the target of the step's plan code, asks
 * every target for its part of the solution's environment, and tears each down after the checks.
 *
 * Adding a target (a change-stream, a query workload): one file with a `const replay_target`
 * filled with designated initializers, and one row in targets.c (the DSL's `into` list names it
 * too). The engine takes the table as a pointer (run_engine_opts.targets), so a test can plug in
 * a target of its own.
 *
 * Ownership: descriptors are static; a replay_site is the engine's, borrowed by every hook. */
#ifndef HX_REPLAY_TARGET_H
#define HX_REPLAY_TARGET_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "changes.h"
#include "gen.h"
#include "hist.h"
#include "kafkasvc.h"
#include "pgsvc.h"
#include "plan.h"
#include "replay.h"
#include "util.h"

/* What a target sees of the scenario being run; the engine fills it before setup. */
typedef struct replay_site {
    const plan_scenario *s;           /* the scenario */
    gen *g;                           /* its generator */
    pgsvc *pg;                        /* the PostgreSQL service */
    PGconn *conn;                     /* the scenario's database, NULL before it exists */
    const char *dbname;               /* that database's name */
    const char *landing;              /* the landing folder (absolute or relative to the cwd) */
    kafkasvc *kafka;                  /* the Kafka cluster, NULL when none was started */
    const replay_kafka_watch *kwatch; /* what the engine watches of Kafka replays, NULL none */
    void *state[8];                   /* one slot per row of the table, for a target's own state */
} replay_site;

/* Adds KEY=VAL to the solution's environment (both are copied). Returns false on no memory. */
typedef bool (*replay_env_fn)(void *ud, const char *key, const char *val);
/* Adds histogram h (values in ns; copied, shown in seconds) or metric `name` to run.json. */
typedef void (*replay_hist_fn)(void *ud, const char *name, const hist *h);
typedef void (*replay_metric_fn)(void *ud, const char *name, double value, const char *unit);

typedef struct replay_target {
    const char *name;   /* the DSL's into = "<name>", the pack's sources/sinks entry */
    plan_target code;   /* the plan's code of steps into this target */
    bool stream;        /* records become messages a service consumes: a service's drain waits
                           until its outputs count as many */
    const char *format; /* run.json's dataset format; NULL = the step's (csv or jsonl) */
    /* Whether scenario s needs this target's service (its steps, faults or checks use it). NULL:
     * only steps into it. */
    bool (*used_by)(const plan_scenario *s);
    /* Once per scenario that uses the target, before the first step (make tables, topics).
     * slot is the target's site->state entry. NULL = nothing to do. Returns 0 or an hx code. */
    int (*setup)(replay_site *site, void **slot, hx_err *e);
    /* Replay dataset st->dataset for step st, batch b (-1 = every batch). Required. */
    int (*replay)(replay_site *site, void *state, const plan_step *st, int64_t batch,
                  replay_stats *out, hx_err *e);
    /* Add the target's variables to the solution's environment, for every invocation of every
     * scenario (a target not used by the scenario still names its variables, empty). NULL = none.
     */
    int (*env)(const replay_site *site, replay_env_fn add, void *ud, hx_err *e);
    /* The faults it injects, a NULL-ended list of names, and the hook that does one. */
    const char *const *faults;
    int (*fault)(replay_site *site, void *state, const plan_step *st, hx_err *e);
    /* Before the checks: stop what it runs in the background and hand the checks what it saw
     * (chk_ctx.cdc; borrowed until teardown). NULL = nothing. */
    const chg_observed *(*observed)(replay_site *site, void *state);
    /* After the checks: its histograms and metrics for run.json. NULL = none. */
    void (*metrics)(replay_site *site, void *state, replay_hist_fn add_hist,
                    replay_metric_fn add_metric, void *ud);
    /* After the scenario's checks; frees what setup made. NULL = nothing. */
    void (*teardown)(replay_site *site, void *state);
} replay_target;

/* The built-in targets, NULL-ended: files, postgres, kafka, cdc. */
extern const replay_target *const replay_targets_builtin[];

extern const replay_target replay_target_files;
extern const replay_target replay_target_postgres;
extern const replay_target replay_target_kafka;
extern const replay_target replay_target_cdc;

/* The row of `table` (NULL-ended) for plan code `code`, or NULL. */
const replay_target *replay_target_for(const replay_target *const *table, plan_target code);

/* The row named `name`, or NULL. */
const replay_target *replay_target_named(const replay_target *const *table, const char *name);

/* The row whose faults include `fault`, or NULL. */
const replay_target *replay_target_for_fault(const replay_target *const *table, const char *fault);

/* Whether scenario s needs target t (t->used_by, else a step into it). */
bool replay_target_used(const replay_target *t, const plan_scenario *s);

/* The Kafka topic of scenario topic t: hx_<scenario>_<t>. The prefix keeps scenarios sharing one
 * cluster apart and marks the harness's topics on a --kafka cluster; solutions get it as
 * KAFKA_TOPIC_PREFIX. */
void replay_kafka_topic(const plan_scenario *s, const char *t, char *buf, size_t n);
/* The consumer group a scenario's solution is given as KAFKA_GROUP_ID: hx_<scenario>_solution
 * (the topic prefix's scheme). The replay paces a topic too small for the stream to the offsets
 * this group committed (replay_kafka_watch.group). */
void replay_kafka_group(const plan_scenario *s, char *buf, size_t n);

/* Whether check pc reads a Kafka topic (a topic check, or a check with sink = "topic"). */
bool replay_check_on_topic(const plan_check *pc);

#endif
