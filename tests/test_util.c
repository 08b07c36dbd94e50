/* test_util.c - the small jobs every module shares, kept once in util: UTF-8 decoding and repair,
 * printf into a new string. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- UTF-8 ---- */

/* The shortest encoding of a code point (the test's own, independent of the decoder). */
static size_t encode(uint32_t cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Every sequence of n bytes the decoder takes whole must be the shortest encoding of what it
 * decodes to, and it must take exactly as many as there are such encodings: so it accepts the
 * shortest encodings of scalar values and nothing else. */
static void accepted_are_exactly(size_t n, unsigned lead_lo, unsigned lead_hi, unsigned cont_lo,
                                 unsigned cont_hi, long want)
{
    unsigned char s[4];
    long taken = 0;
    unsigned cont_span = cont_hi - cont_lo + 1;
    unsigned long total = 1;
    for (size_t k = 1; k < n; k++)
        total *= cont_span;
    for (unsigned lead = lead_lo; lead <= lead_hi; lead++)
        for (unsigned long rest = 0; rest < total; rest++) {
            s[0] = (unsigned char)lead;
            unsigned long r = rest;
            for (size_t k = 1; k < n; k++, r /= cont_span)
                s[k] = (unsigned char)(cont_lo + r % cont_span);
            int32_t cp;
            size_t got = hx_utf8_next((const char *)s, n, &cp);
            assert_true(got >= 1 && got <= n);
            if (got != n) continue; /* a shorter sequence, or a refused byte */
            assert_true(cp >= 0);
            unsigned char back[4];
            assert_int_equal(encode((uint32_t)cp, back), n);
            assert_memory_equal(back, s, n);
            taken++;
        }
    assert_int_equal(taken, want);
}

static void test_util__utf8_decoder_takes_shortest_forms_of_scalars_only(void **state)
{
    (void)state;
    /* All two- and three-byte strings; four-byte ones with every lead byte from 0xf0 on. */
    accepted_are_exactly(2, 0, 255, 0, 255, 0x800 - 0x80);
    accepted_are_exactly(3, 0, 255, 0, 255, 0x10000 - 0x800 - 0x800 /* surrogates */);
    accepted_are_exactly(4, 0xf0, 0xff, 0x80, 0xbf, 0x110000 - 0x10000);
    /* Every scalar value round-trips; every surrogate is refused one byte at a time. */
    for (uint32_t cp = 0; cp < 0x110000; cp++) {
        unsigned char s[4];
        size_t n = encode(cp, s);
        int32_t got;
        size_t k = hx_utf8_next((const char *)s, n, &got);
        if (cp >= 0xd800 && cp <= 0xdfff) {
            assert_int_equal(k, 1);
            assert_int_equal(got, -1);
        } else {
            assert_int_equal(k, n);
            assert_int_equal(got, (int32_t)cp);
        }
        /* One byte short is a truncated sequence. */
        if (n > 1) {
            assert_int_equal(hx_utf8_next((const char *)s, n - 1, &got), 1);
            assert_int_equal(got, -1);
        }
    }
}

static void test_util__utf8_valid_and_repair(void **state)
{
    (void)state;
    assert_true(hx_utf8_valid("", 0));
    assert_true(hx_utf8_valid("plain", 5));
    assert_true(hx_utf8_valid("a\0b", 3));
    assert_true(hx_utf8_valid("\xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf", 13));
    assert_false(hx_utf8_valid("\xc3\x28", 2));         /* lead byte, no continuation */
    assert_false(hx_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(hx_utf8_valid("\xed\xa0\x80", 3));     /* a surrogate */
    assert_false(hx_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
    assert_false(hx_utf8_valid("ok\xe2\x82", 4));       /* cut at the end */
    assert_false(hx_utf8_valid("\x80", 1));             /* a stray continuation byte */

    static const struct {
        const char *in;
        size_t n;
        const char *want;
    } fix[] = {
        {"ascii only", 10, "ascii only"},
        {"nul\0inside", 10, "nul\xef\xbf\xbdinside"},
        {"\xc3\xa9t\xc3\xa9", 5, "\xc3\xa9t\xc3\xa9"},
        {"a\xc3\x28z", 4, "a\xef\xbf\xbd(z"},
        {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"end\xe2\x82", 5, "end\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xef\xbf\xbd", 3, "\xef\xbf\xbd"},
    };
    for (size_t i = 0; i < sizeof fix / sizeof fix[0]; i++) {
        hx_buf b;
        hx_buf_init(&b);
        assert_true(hx_buf_put_utf8(&b, fix[i].in, fix[i].n));
        assert_string_equal(b.data ? b.data : "", fix[i].want);
        assert_true(hx_utf8_valid(b.data, b.len));
        hx_buf_release(&b);
    }
    /* Out of memory: false, and the buffer says so. */
    hx_buf b;
    hx_buf_init(&b);
    hx_alloc_fail_after(0);
    assert_false(hx_buf_put_utf8(&b, "x\xff", 2));
    hx_alloc_fail_after(-1);
    assert_true(b.oom);
    hx_buf_release(&b);
}

/* ---- printf into a new string ---- */

static void test_util__asprintf_short_long_and_out_of_memory(void **state)
{
    (void)state;
    char *s = hx_asprintf("%s/%s.%d", "dir", "name", 7);
    assert_string_equal(s, "dir/name.7");
    hx_free(s);
    s = hx_asprintf("%s", "");
    assert_string_equal(s, "");
    hx_free(s);
    /* Longer than the formatter's first try on the stack. */
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    s = hx_asprintf("<%s|%s>", big, big);
    assert_int_equal(strlen(s), 2 * (sizeof big - 1) + 3);
    assert_int_equal(s[0], '<');
    assert_int_equal(s[sizeof big], '|');
    hx_free(s);
    /* Every failing allocation gives NULL, not a partial string. */
    for (long n = 0; n < 4; n++) {
        hx_alloc_fail_after(n);
        s = hx_asprintf("%s-%s", big, "tail");
        hx_alloc_fail_after(-1);
        if (s) {
            assert_int_equal(strlen(s), sizeof big - 1 + 5);
            hx_free(s);
            break;
        }
    }
    hx_alloc_fail_after(0);
    assert_null(hx_asprintf("%d", 1));
    hx_alloc_fail_after(-1);
}

/* Untrusted text on the console: escape sequences and CI workflow commands shown escaped. */
static void expect_term(const char *in, size_t n, const char *want)
{
    hx_buf b;
    hx_buf_init(&b);
    assert_true(hx_buf_put_term(&b, in, n));
    hx_buf_putc(&b, '\0');
    assert_string_equal(b.data, want);
    hx_buf_release(&b);
}

static void test_util__term_text_is_inert(void **state)
{
    (void)state;
    const char *clear = "boom\033[2J\033[H done";
    expect_term(clear, strlen(clear), "boom\\x1b[2J\\x1b[H done");
    /* CR (overwriting the line), BEL, DEL, a C1 CSI and an invalid byte; tabs and newlines
     * stay. */
    expect_term("a\rb\a\x7f\xc2\x9b\xff\tc\nd", 12, "a\\x0db\\x07\\x7f\\xc2\\x9b\\xff\tc\nd");
    /* A GitHub workflow command at a line start, after blanks too; not mid-line. */
    const char *gh = "::error::x\n  ::set-output name=a::b\nok ::warning::y\n##[error]z";
    expect_term(gh, strlen(gh),
                "\\x3a:error::x\n  \\x3a:set-output name=a::b\nok ::warning::y\n\\x23#[error]z");
    /* UTF-8 text and an embedded NUL (length-delimited input). */
    expect_term("caf\xc3\xa9 \xe2\x82\xac\0x", 11, "caf\xc3\xa9 \xe2\x82\xac\\x00x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_util__utf8_decoder_takes_shortest_forms_of_scalars_only),
        cmocka_unit_test(test_util__utf8_valid_and_repair),
        cmocka_unit_test(test_util__asprintf_short_long_and_out_of_memory),
        cmocka_unit_test(test_util__term_text_is_inert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
