/* ctor_marker.c - a test plugin whose constructor writes a marker file (its path in
 * $HX_TEST_MARKER) holding the pid of the process it ran in: loading a pack's plugin must not run
 * this in the harness process, and `harness check` must not let it write at all. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness/plugin.h"

__attribute__((constructor)) static void leave_a_mark(void)
{
    const char *path = getenv("HX_TEST_MARKER");
    if (!path || !*path) return;
    FILE *f = fopen(path, "w");
    if (!f) return;
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

static int ok_run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    h->report(ctx, HX_PLUGIN_PASS, NULL, NULL, "constructed");
    return 0;
}

static const hx_plugin_check checks[] = {{"ok", "passes", NULL, 0, ok_run}};

static const hx_plugin_descriptor desc = {
    HX_PLUGIN_DESCRIPTOR_HEAD,
    .name = "ctor_marker",
    .version = "1",
    .description = "test plugin: a constructor that writes a file",
    .checks = checks,
    .n_checks = 1,
};

HX_PLUGIN_EXPORT const hx_plugin_descriptor *harness_plugin_entry(void)
{
    return &desc;
}
