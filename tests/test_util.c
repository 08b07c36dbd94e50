/* test_util.c - the small jobs every module shares, kept once in util: UTF-8 decoding and repair,
 * printf into a new string, files that appear whole or not at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* ---- files written atomically ---- */

/* Entries of dir other than . and .., as "a b c" in directory order (small dirs only). */
static int entries(const char *dir, char *out, size_t n)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | tr '\\n' ' '", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, n - 1, p);
    out[got] = '\0';
    return pclose(p);
}

static void test_util__afile_appears_whole_or_not_at_all(void **state)
{
    (void)state;
    char dir[] = "/tmp/hx-test-util-XXXXXX", path[128], seen[512];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/out.csv", dir);
    hx_err e = {0};

    /* Before commit only a hidden temp file exists; after it, the file with the bytes, 0644. */
    hx_afile a;
    assert_int_equal(hx_afile_open(&a, path, 0, &e), 0);
    fputs("id\n1\n", a.f);
    entries(dir, seen, sizeof seen);
    assert_int_equal(strncmp(seen, ".out.csv.tmp-", 13), 0);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(hx_afile_commit(&a, &e), 0);
    assert_null(a.f);
    entries(dir, seen, sizeof seen);
    assert_string_equal(seen, "out.csv ");
    char *text = NULL;
    assert_int_equal(hx_read_file(path, &text, NULL, &e), 0);
    assert_string_equal(text, "id\n1\n");
    hx_free(text);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    /* An abort leaves the old file as it was and no temp file. */
    assert_int_equal(hx_afile_open(&a, path, 0, &e), 0);
    fputs("half", a.f);
    hx_afile_abort(&a);
    hx_afile_abort(&a); /* twice is harmless */
    entries(dir, seen, sizeof seen);
    assert_string_equal(seen, "out.csv ");
    assert_int_equal(hx_read_file(path, &text, NULL, &e), 0);
    assert_string_equal(text, "id\n1\n");
    hx_free(text);

    /* hx_write_atomic replaces it whole. */
    assert_int_equal(hx_write_atomic(path, "x", 1, &e), 0);
    assert_int_equal(hx_read_file(path, &text, NULL, &e), 0);
    assert_string_equal(text, "x");
    hx_free(text);

    /* A folder that does not exist: an error naming the path, nothing created. */
    char missing[160];
    snprintf(missing, sizeof missing, "%s/no/such/file", dir);
    assert_int_equal(hx_write_atomic(missing, "x", 1, &e), HX_EIO);
    assert_non_null(strstr(e.msg, missing));

    /* Out of memory: an error, no temp file left. */
    for (long n = 0; n < 2; n++) {
        hx_alloc_fail_after(n);
        int rc = hx_write_atomic(path, "y", 1, &e);
        hx_alloc_fail_after(-1);
        assert_int_equal(rc, HX_ENOMEM);
    }
    entries(dir, seen, sizeof seen);
    assert_string_equal(seen, "out.csv ");

    /* A FIFO at the path is replaced, never opened (a reader that never comes cannot block us),
     * unless the caller asks for writing in place. */
    char fifo[160];
    snprintf(fifo, sizeof fifo, "%s/pipe", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(hx_write_atomic(fifo, "z", 1, &e), 0);
    assert_int_equal(stat(fifo, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    /* In place: /dev/null stays the device. */
    assert_int_equal(hx_afile_open(&a, "/dev/null", HX_AFILE_IN_PLACE, &e), 0);
    assert_null(a.tmp);
    fputs("discarded", a.f);
    assert_int_equal(hx_afile_commit(&a, &e), 0);
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    /* "-" is standard output only when asked; otherwise a file named "-". */
    assert_int_equal(hx_afile_open(&a, "-", HX_AFILE_STDOUT, &e), 0);
    assert_ptr_equal(a.f, stdout);
    assert_int_equal(hx_afile_commit(&a, &e), 0);
    assert_int_equal(hx_rm_rf(dir), 0);
}

/* Numbers for people: the shortest decimal that reads back, and no binary noise from sums. */
static void expect_num(double v, const char *want)
{
    char buf[32];
    hx_fmt_num(buf, sizeof buf, v);
    assert_string_equal(buf, want);
}

static void test_util__numbers_print_exactly(void **state)
{
    (void)state;
    expect_num(94379.58, "94379.58");
    expect_num(0.1, "0.1");
    expect_num(14000, "14000");
    expect_num(-2.5, "-2.5");
    expect_num(1e300, "1e+300");
    expect_num(5e-324, "5e-324");
    expect_num(0.000123, "0.000123");
    expect_num(1.5e6, "1500000");
    /* A sum of decimals lands a few ulps off: shown as the decimal it should be. */
    double sum = 0;
    for (int i = 0; i < 10; i++)
        sum += 0.1;
    assert_true(sum != 1.0);
    expect_num(sum, "1");
    expect_num(0.1 + 0.2, "0.3");
    expect_num(nextafter(94379.58, INFINITY), "94379.58");
    /* A value more than a few ulps from every 15-digit decimal keeps the digits it needs. */
    expect_num(1.0 / 3.0, "0.3333333333333333");
    expect_num(NAN, "nan");
    expect_num(-INFINITY, "-inf");
}

/* ---- reading input files ---- */

/* Read path as kind k: the return code, and the message in msg. */
static int read_as(const char *path, hx_input k, char *msg, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    hx_err e = {0};
    int rc = hx_read_input(path, k, &text, &len, &e);
    snprintf(msg, n, "%s", e.msg);
    if (rc == 0) assert_non_null(text);
    if (rc != 0) assert_null(text);
    hx_free(text);
    return rc;
}

/* A FIFO, /dev/zero (also through a link), a folder and a file over its cap are refused at once
 * with a usage error naming the file and what it is; a regular file up to the cap reads whole;
 * HX_OPEN_NOFOLLOW refuses a link; a missing file is a usage error. alarm() turns a hang (the
 * old fopen on a FIFO waited for a writer for ever) into a failure. */
static void test_util__input_files_are_regular_and_capped(void **state)
{
    (void)state;
    alarm(20);
    char dir[] = "/tmp/hx-test-input-XXXXXX", path[160], msg[1024];
    assert_non_null(mkdtemp(dir));

    snprintf(path, sizeof path, "%s/fifo.json", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(read_as(path, HX_IN_SOLUTION, msg, sizeof msg), HX_EUSAGE);
    assert_non_null(strstr(msg, path));
    assert_non_null(strstr(msg, "is a FIFO"));
    unlink(path);

    assert_int_equal(read_as("/dev/zero", HX_IN_ANY, msg, sizeof msg), HX_EUSAGE);
    assert_non_null(strstr(msg, "'/dev/zero' is a character device"));
    snprintf(path, sizeof path, "%s/zero.json", dir);
    assert_int_equal(symlink("/dev/zero", path), 0);
    assert_int_equal(read_as(path, HX_IN_SOLUTION, msg, sizeof msg), HX_EUSAGE);
    assert_non_null(strstr(msg, path));
    assert_non_null(strstr(msg, "a link to '/dev/zero'"));
    assert_non_null(strstr(msg, "is a character device"));
    unlink(path);

    assert_int_equal(read_as(dir, HX_IN_DOC, msg, sizeof msg), HX_EUSAGE);
    assert_non_null(strstr(msg, "is a directory"));

    /* The seed file's cap is 4 KiB: 4096 bytes read, 4097 are refused. */
    assert_int_equal(hx_input_cap(HX_IN_SECRET), 4096);
    char big[4097];
    memset(big, '7', sizeof big);
    snprintf(path, sizeof path, "%s/seed", dir);
    hx_err e = {0};
    assert_int_equal(hx_write_atomic(path, big, 4096, &e), 0);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(hx_read_input(path, HX_IN_SECRET, &text, &len, &e), 0);
    assert_int_equal(len, 4096);
    assert_int_equal(text[4096], '\0');
    hx_free(text);
    assert_int_equal(hx_write_atomic(path, big, 4097, &e), 0);
    assert_int_equal(read_as(path, HX_IN_SECRET, msg, sizeof msg), HX_EUSAGE);
    assert_non_null(strstr(msg, path));
    assert_non_null(strstr(msg, "more than the 4 KiB a seed file may be"));
    /* A stream has no cap; the same file read as one opens. */
    int fd = hx_open_input(path, HX_IN_STREAM, 0, NULL, &e);
    assert_true(fd >= 0);
    close(fd);

    /* A file the kernel sizes as 0 (/proc) still reads whole. */
    assert_int_equal(hx_read_input("/proc/self/status", HX_IN_ANY, &text, &len, &e), 0);
    assert_true(len > 0);
    assert_non_null(strstr(text, "Name:"));
    hx_free(text);

    /* An empty regular file is "" with length 0. */
    snprintf(path, sizeof path, "%s/empty", dir);
    assert_int_equal(hx_write_atomic(path, "", 0, &e), 0);
    assert_int_equal(hx_read_input(path, HX_IN_LUA, &text, &len, &e), 0);
    assert_int_equal(len, 0);
    assert_string_equal(text, "");
    hx_free(text);

    /* A link to a regular file reads through, unless the caller refuses links. */
    char link[200];
    snprintf(link, sizeof link, "%s/link", dir);
    assert_int_equal(symlink(path, link), 0);
    fd = hx_open_input(link, HX_IN_ANY, 0, NULL, &e);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(hx_open_input(link, HX_IN_ANY, HX_OPEN_NOFOLLOW, NULL, &e), HX_EUSAGE);
    assert_non_null(strstr(e.msg, "is a symbolic link"));
    unlink(link);

    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(read_as(path, HX_IN_RUN, msg, sizeof msg), HX_EUSAGE);
    assert_non_null(strstr(msg, path));

    /* Out of memory while reading: an error, nothing leaked (the ASan pass checks). */
    snprintf(path, sizeof path, "%s/seed", dir);
    for (long n = 0; n < 3; n++) {
        hx_alloc_fail_after(n);
        int rc = hx_read_input(path, HX_IN_ANY, &text, &len, &e);
        hx_alloc_fail_after(-1);
        if (rc == 0)
            hx_free(text);
        else
            assert_int_equal(rc, HX_ENOMEM);
    }
    unlink(path);
    snprintf(path, sizeof path, "%s/empty", dir);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
    alarm(0);
}

/* A solution's own file is read only when it lies inside the solution folder, links followed. */
static void test_util__input_in_folder_refuses_links_out(void **state)
{
    (void)state;
    char dir[] = "/tmp/hx-test-within-XXXXXX", sub[100], path[200], out[200];
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/sol", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(out, sizeof out, "%s/secret.txt", dir);
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    fputs("truth", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/own.sql", sub);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("select 1", f);
    fclose(f);

    char *text = NULL;
    size_t len = 0;
    hx_err e = {0};
    assert_int_equal(hx_read_input_in(sub, path, HX_IN_QUERY, &text, &len, &e), 0);
    assert_string_equal(text, "select 1");
    hx_free(text);

    /* a link inside the folder to a file inside it is fine */
    char inl[200];
    snprintf(inl, sizeof inl, "%s/alias.sql", sub);
    assert_int_equal(symlink("own.sql", inl), 0);
    assert_int_equal(hx_read_input_in(sub, inl, HX_IN_QUERY, &text, &len, &e), 0);
    hx_free(text);

    /* links out: to a file beside the folder, to /etc/passwd */
    char link[200];
    snprintf(link, sizeof link, "%s/out.sql", sub);
    assert_int_equal(symlink(out, link), 0);
    text = NULL;
    assert_int_equal(hx_read_input_in(sub, link, HX_IN_QUERY, &text, &len, &e), HX_EUSAGE);
    assert_null(text);
    assert_non_null(strstr(e.msg, "leads outside its folder"));
    assert_null(strstr(e.msg, "truth"));
    unlink(link);
    assert_int_equal(symlink("/etc/passwd", link), 0);
    assert_int_equal(hx_read_input_in(sub, link, HX_IN_QUERY, &text, &len, &e), HX_EUSAGE);
    assert_null(text);
    unlink(link);
    /* a folder named like the root's prefix is not inside it ("sol" vs "solx") */
    char sibling[100], sf[200];
    snprintf(sibling, sizeof sibling, "%s/solx", dir);
    assert_int_equal(mkdir(sibling, 0700), 0);
    snprintf(sf, sizeof sf, "%s/q.sql", sibling);
    f = fopen(sf, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(symlink(sf, link), 0);
    assert_int_equal(hx_read_input_in(sub, link, HX_IN_QUERY, &text, &len, &e), HX_EUSAGE);
    unlink(link);
    unlink(sf);
    rmdir(sibling);
    unlink(inl);
    unlink(path);
    unlink(out);
    rmdir(sub);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_util__utf8_decoder_takes_shortest_forms_of_scalars_only),
        cmocka_unit_test(test_util__utf8_valid_and_repair),
        cmocka_unit_test(test_util__asprintf_short_long_and_out_of_memory),
        cmocka_unit_test(test_util__afile_appears_whole_or_not_at_all),
        cmocka_unit_test(test_util__term_text_is_inert),
        cmocka_unit_test(test_util__numbers_print_exactly),
        cmocka_unit_test(test_util__input_files_are_regular_and_capped),
        cmocka_unit_test(test_util__input_in_folder_refuses_links_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
