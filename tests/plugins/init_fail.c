/* init_fail.c - a test plugin whose init refuses to load: the loader must undo the load and
 * report the plugin's reason. */
#include <stdio.h>

#include "harness/plugin.h"

static int run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    h->report(ctx, HX_PLUGIN_PASS, NULL, NULL, "must never run");
    return 0;
}

static int init(const hx_plugin_host *h, char *err, size_t errlen)
{
    h->log(NULL, HX_PLUGIN_LOG_INFO, "init_fail: refusing");
    snprintf(err, errlen, "needs a licence file");
    return 1;
}

static const hx_plugin_check checks[] = {{"never", "never runs", NULL, 0, run}};

static const hx_plugin_descriptor desc = {
    HX_PLUGIN_DESCRIPTOR_HEAD,
    .name = "init_fail",
    .version = "1",
    .description = "test plugin: init fails",
    .checks = checks,
    .n_checks = 1,
    .init = init,
};

HX_PLUGIN_EXPORT const hx_plugin_descriptor *harness_plugin_entry(void)
{
    return &desc;
}
