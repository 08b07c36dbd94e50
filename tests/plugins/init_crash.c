/* init_crash.c - a test plugin whose init segfaults: loading it must end in an error naming the
 * crash, for `harness check` and for each of its checks in `harness run`, never in a dead harness.
 */
#include <signal.h>

#include "harness/plugin.h"

static int run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    h->report(ctx, HX_PLUGIN_PASS, NULL, NULL, "must never run");
    return 0;
}

static int init(const hx_plugin_host *h, char *err, size_t errlen)
{
    (void)h;
    (void)err;
    (void)errlen;
    raise(SIGSEGV);
    return 0;
}

static const hx_plugin_check checks[] = {{"never", "never runs", NULL, 0, run}};

static const hx_plugin_descriptor desc = {
    HX_PLUGIN_DESCRIPTOR_HEAD,
    .name = "init_crash",
    .version = "1",
    .description = "test plugin: init crashes",
    .checks = checks,
    .n_checks = 1,
    .init = init,
};

HX_PLUGIN_EXPORT const hx_plugin_descriptor *harness_plugin_entry(void)
{
    return &desc;
}
