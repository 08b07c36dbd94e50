/* targets.c - the table of built-in replay targets and its look-ups (replay_target.h). A new
 * target is a file with its descriptor and one row here. */
#include <string.h>

#include "replay_target.h"

const replay_target *const replay_targets_builtin[] = {
    &replay_target_files, &replay_target_postgres, &replay_target_kafka, &replay_target_cdc, NULL,
};

const replay_target *replay_target_for(const replay_target *const *table, plan_target code)
{
    for (size_t i = 0; table && table[i]; i++)
        if (table[i]->code == code) return table[i];
    return NULL;
}

const replay_target *replay_target_named(const replay_target *const *table, const char *name)
{
    for (size_t i = 0; table && table[i] && name; i++)
        if (strcmp(table[i]->name, name) == 0) return table[i];
    return NULL;
}

const replay_target *replay_target_for_fault(const replay_target *const *table, const char *fault)
{
    for (size_t i = 0; table && table[i] && fault; i++)
        for (size_t f = 0; table[i]->faults && table[i]->faults[f]; f++)
            if (strcmp(table[i]->faults[f], fault) == 0) return table[i];
    return NULL;
}

bool replay_target_used(const replay_target *t, const plan_scenario *s)
{
    if (t->used_by) return t->used_by(s);
    for (size_t i = 0; i < s->nsteps; i++)
        if (s->steps[i].kind == PLAN_STEP_INTO && s->steps[i].target == t->code) return true;
    return false;
}
