/* chk_kind.c - the table of check kinds (see check.h): the built-in kinds in plan_check_kind
 * order, then any registered with chk_kind_register(). A new built-in kind is a file with its
 * descriptor and a row here. */
#include <string.h>

#include "check_int.h"

static void run_plugin(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    if (ctx->plugin)
        ctx->plugin(ctx->plugin_ud, c, o);
    else
        chk_set_outcome(o, CHK_SKIP, "plugin checks are not enabled in this run");
}

static const chk_kind chk_kind_plugin = {
    .name = "plugin",
    .keys = NULL,
    .flags = CHK_K_PLUGIN | CHK_K_ROWS,
    .run = run_plugin,
    .summary = "a validator plugin's check: plugin \"name\".check { ... }",
};

/* Indexed by plan_check_kind. */
static const chk_kind *const builtin[PLAN_CHK__BUILTIN] = {
    [PLAN_CHK_SQL] = &chk_kind_sql,
    [PLAN_CHK_ROW_COUNT] = &chk_kind_row_count,
    [PLAN_CHK_UNIQUE] = &chk_kind_unique,
    [PLAN_CHK_NOT_NULL] = &chk_kind_not_null,
    [PLAN_CHK_ACCEPTED_VALUES] = &chk_kind_accepted_values,
    [PLAN_CHK_REFERENTIAL] = &chk_kind_referential,
    [PLAN_CHK_SCHEMA] = &chk_kind_schema,
    [PLAN_CHK_FRESHNESS] = &chk_kind_freshness,
    [PLAN_CHK_DIFF] = &chk_kind_diff,
    [PLAN_CHK_QUARANTINE] = &chk_kind_quarantine,
    [PLAN_CHK_FILE] = &chk_kind_file,
    [PLAN_CHK_TOPIC] = &chk_kind_topic,
    [PLAN_CHK_PRECISION_RECALL] = &chk_kind_precision_recall,
    [PLAN_CHK_ADR] = &chk_kind_adr,
    [PLAN_CHK_PLUGIN] = &chk_kind_plugin,
    [PLAN_CHK_README] = &chk_kind_readme,
    [PLAN_CHK_CDC_STATE] = &chk_kind_cdc_state,
    [PLAN_CHK_CDC_ORDER] = &chk_kind_cdc_order,
    [PLAN_CHK_CDC_SCHEMA] = &chk_kind_cdc_schema,
};

/* Registered kinds, ids PLAN_CHK__BUILTIN onwards. */
#define MAX_EXTRA 64
static const chk_kind *extra[MAX_EXTRA];
static size_t nextra;

size_t chk_kind_count(void)
{
    return PLAN_CHK__BUILTIN + nextra;
}

const chk_kind *chk_kind_get(plan_check_kind id)
{
    size_t i = (size_t)id;
    if (i < PLAN_CHK__BUILTIN) return builtin[i];
    return i - PLAN_CHK__BUILTIN < nextra ? extra[i - PLAN_CHK__BUILTIN] : NULL;
}

const char *chk_kind_name(plan_check_kind id)
{
    const chk_kind *k = chk_kind_get(id);
    return k ? k->name : "?";
}

bool chk_needs_db(const plan_check *c)
{
    const chk_kind *k = chk_kind_get(c->kind);
    return !(k && (k->flags & CHK_K_NO_DB)) && !chk_on_topic(c);
}

int chk_kind_find(const char *name)
{
    for (size_t i = 0; i < chk_kind_count(); i++)
        if (strcmp(chk_kind_get((plan_check_kind)i)->name, name) == 0) return (int)i;
    return -1;
}

int chk_kind_register(const chk_kind *k, hx_err *e)
{
    if (!k || !k->name || !*k->name || !k->run)
        return hx_fail(e, HX_EUSAGE, "a check kind needs a name and a run function");
    if (chk_kind_find(k->name) >= 0)
        return hx_fail(e, HX_EUSAGE, "check kind '%s' exists already", k->name);
    if (nextra == MAX_EXTRA) return hx_fail(e, HX_ENOMEM, "too many check kinds");
    extra[nextra++] = k;
    return (int)(PLAN_CHK__BUILTIN + nextra - 1);
}
