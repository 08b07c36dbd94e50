/* bad_abi.c - a test plugin built for a future ABI: the loader must refuse it, naming both
 * versions. */
#include "harness/plugin.h"

static int run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    h->report(ctx, HX_PLUGIN_PASS, NULL, NULL, "must never run");
    return 0;
}

static const hx_plugin_check checks[] = {{"never", "never runs", NULL, 0, run}};

static const hx_plugin_descriptor desc = {
    .abi_version = 99, /* what a harness from the future would write */
    .struct_size = sizeof(hx_plugin_descriptor),
    .check_size = sizeof(hx_plugin_check),
    .param_size = sizeof(hx_plugin_param_spec),
    .name = "bad_abi",
    .version = "9.9.9",
    .description = "test plugin: wrong ABI version",
    .checks = checks,
    .n_checks = 1,
};

HX_PLUGIN_EXPORT const hx_plugin_descriptor *harness_plugin_entry(void)
{
    return &desc;
}
