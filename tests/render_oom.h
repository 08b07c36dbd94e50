/* render_oom.h - for the report tests: render with the n-th allocation failing, for n = 0, 1, ...
 * up to max, and expect every failure reported (false and the buffer's oom flag) until a render
 * succeeds with exactly the bytes of an unhindered one. Include after cmocka.h. */
#ifndef HX_TEST_RENDER_OOM_H
#define HX_TEST_RENDER_OOM_H

#include "util.h"

/* Render ctx into out; false when out of memory. */
typedef bool (*render_oom_fn)(hx_buf *out, const void *ctx);

static void expect_render_survives_oom(render_oom_fn render, const void *ctx, long max)
{
    hx_buf whole;
    hx_buf_init(&whole);
    assert_true(render(&whole, ctx));
    hx_buf_putc(&whole, '\0');
    bool ok = false;
    long n = 0;
    for (; !ok && n < max; n++) {
        hx_buf b;
        hx_buf_init(&b);
        hx_alloc_fail_after(n);
        ok = render(&b, ctx);
        hx_alloc_fail_after(-1);
        if (ok) {
            hx_buf_putc(&b, '\0');
            assert_string_equal(b.data, whole.data);
        } else {
            assert_true(b.oom);
        }
        hx_buf_release(&b);
    }
    assert_true(ok);
    assert_true(n > 1);
    hx_buf_release(&whole);
}

#endif
