/* misbehave.c - a test plugin whose checks do every bad thing a plugin can do (crash, abort, hang,
 * exit, write garbage to the worker pipe, forget to report), plus well-behaved checks that
 * exercise every host service, so tests can show that isolation contains the bad ones and the
 * good ones still run. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/plugin.h"

static int ok_run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    const char *who = h->param_string(ctx, "who", "nobody");
    double n = h->param_number(ctx, "n", 1);
    int loud = h->param_bool(ctx, "loud", 0);
    size_t nk = h->param_list_len(ctx, "keys");
    h->log(ctx, HX_PLUGIN_LOG_INFO, "hello %s", who);
    for (size_t i = 0; i < nk; i++)
        h->sample(ctx, "key %s", h->param_list_item(ctx, "keys", i));
    h->metric(ctx, "answer", n * 2, "");
    double count = -1;
    if (h->ledger_scalar && h->ledger_scalar(ctx, "orders", "count", NULL, &count) == 0)
        h->metric(ctx, "ledger_count", count, "");
    for (int i = 0; i < 5; i++)
        h->hist_record(ctx, "lat", i * 0.5);
    char actual[64];
    snprintf(actual, sizeof actual, "%g", n * 2);
    h->report(ctx, HX_PLUGIN_PASS, "even", actual, "%s said %s (sql %s, ledger %s, topic %s)", who,
              loud ? "HELLO" : "hello", h->sql_query ? "yes" : "no",
              h->ledger_scalar ? "yes" : "no", h->topic_read ? "yes" : "no");
    return 0;
}

static int fail_run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    h->report(ctx, HX_PLUGIN_FAIL, "0", "2", "two bad rows <script>");
    h->sample(ctx, "bad \xff\xfe utf8");
    return 0;
}

static int segv_run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    h->log(ctx, HX_PLUGIN_LOG_INFO, "about to crash");
    raise(SIGSEGV);
    return 0;
}

static int abort_run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    (void)h;
    (void)ctx;
    abort();
}

static int hang_run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    h->log(ctx, HX_PLUGIN_LOG_INFO, "hanging");
    for (;;)
        pause();
    return 0;
}

static int exit3_run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    (void)h;
    (void)ctx;
    exit(3);
}

static int garbage_run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    (void)h;
    (void)ctx;
    /* find the worker pipe the way a confused plugin might stumble on it */
    static const char junk[] = "this is not a frame\n\x01\x02\x03\x04\x05\x06\x07\x08";
    for (int fd = 3; fd < 1024; fd++) {
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
            if (write(fd, junk, sizeof junk) < 0) continue;
    }
    return 0;
}

static int noreport_run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    (void)h;
    (void)ctx;
    return 0;
}

static int error_run(const hx_plugin_host *h, hx_plugin_ctx *ctx)
{
    h->report(ctx, HX_PLUGIN_ERROR, NULL, NULL, "table is missing");
    return 7;
}

static const hx_plugin_param_spec ok_params[] = {
    {"who", HX_PARAM_STRING, 1, "who says hello"}, {"n", HX_PARAM_NUMBER, 0, "a number"},
    {"loud", HX_PARAM_BOOL, 0, "shout"},           {"keys", HX_PARAM_STRING_LIST, 0, "sample keys"},
    {"extra", HX_PARAM_JSON, 0, "anything"},
};

static const hx_plugin_check checks[] = {
    {"ok", "passes and uses every service", ok_params, 5, ok_run},
    {"fail", "fails with samples", NULL, 0, fail_run},
    {"segv", "segfaults", NULL, 0, segv_run},
    {"abort", "aborts", NULL, 0, abort_run},
    {"hang", "never returns", NULL, 0, hang_run},
    {"exit3", "calls exit(3)", NULL, 0, exit3_run},
    {"garbage", "writes garbage to the worker pipe", NULL, 0, garbage_run},
    {"noreport", "returns without a verdict", NULL, 0, noreport_run},
    {"error", "returns nonzero", NULL, 0, error_run},
};

static const hx_plugin_descriptor desc = {
    HX_PLUGIN_DESCRIPTOR_HEAD, .name = "misbehave",
    .version = "1.0.0",        .description = "test plugin: every way a plugin can go wrong",
    .checks = checks,          .n_checks = sizeof checks / sizeof checks[0],
};

HX_PLUGIN_EXPORT const hx_plugin_descriptor *harness_plugin_entry(void)
{
    return &desc;
}
