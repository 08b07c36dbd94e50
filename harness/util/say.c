/* say.c - messages to the user (say.h). */
#include <stdarg.h>
#include <stdio.h>

#include "say.h"
#include "util.h"

struct hx_global hx_g;

/* Messages carry untrusted text (solution stderr, plugin and query output): formatted first, then
 * written with control characters and CI workflow commands escaped (hx_buf_put_term). */
static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
    hx_buf m, safe;
    hx_buf_init(&m);
    hx_buf_init(&safe);
    hx_buf_vprintf(&m, fmt, ap);
    hx_buf_put_term(&safe, m.data ? m.data : "", m.len);
    fprintf(stderr, "%s%s%s\n", prefix ? "harness: " : "", prefix ? prefix : "",
            safe.oom    ? "(out of memory)"
            : safe.data ? safe.data
                        : "");
    hx_buf_release(&m);
    hx_buf_release(&safe);
}

void hx_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

void hx_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("warning: ", fmt, ap);
    va_end(ap);
}

void hx_info(const char *fmt, ...)
{
    if (hx_g.quiet) return;
    va_list ap;
    va_start(ap, fmt);
    vmsg(NULL, fmt, ap);
    va_end(ap);
}
