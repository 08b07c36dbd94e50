/* test_rd.c - the CSV and JSONL readers: RFC 4180 quoting, CRLF, embedded newlines, NULL vs "",
 * every chunk boundary, the record cap, line numbers in errors, tolerant mode, JSON value types,
 * out-of-memory paths, and reading back exactly what fmt writes for generated data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "fmt.h"
#include "gen_fixture.h"
#include "rd.h"

/* One line per record: "line|name=value|..." with NULL for SQL NULL, "?" for a name past the
 * header, values in C-ish escapes, and "!problem" for a malformed record; a failure ends the
 * transcript with "ERR message". */
static void dump_value(hx_buf *b, const char *v, size_t n)
{
    if (!v) {
        hx_buf_puts(b, "NULL");
        return;
    }
    hx_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '\n')
            hx_buf_puts(b, "\\n");
        else if (c == '\r')
            hx_buf_puts(b, "\\r");
        else if (c == '"' || c == '\\')
            hx_buf_printf(b, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            hx_buf_printf(b, "\\x%02x", c);
        else
            hx_buf_putc(b, (char)c);
    }
    hx_buf_putc(b, '"');
}

static char *dump(const char *in, size_t n, const rd_opts *o)
{
    hx_buf b;
    hx_buf_init(&b);
    hx_err e = {0};
    rd_reader *r = rd_open_mem(in, n, "t.csv", o, &e);
    if (!r) {
        hx_buf_printf(&b, "OPEN %s\n", e.msg);
        return hx_buf_steal(&b);
    }
    rd_record rec;
    int rc;
    while ((rc = rd_next(r, &rec, &e)) == 1) {
        hx_buf_printf(&b, "%llu", (unsigned long long)rec.line);
        for (size_t i = 0; i < rec.ncols; i++) {
            hx_buf_printf(&b, "|%s=", rec.names[i] ? rec.names[i] : "?");
            assert_true(!rec.values[i] || strlen(rec.values[i]) <= rec.lengths[i]);
            dump_value(&b, rec.values[i], rec.lengths[i]);
        }
        if (rec.error) hx_buf_printf(&b, "|!%s", rec.error);
        hx_buf_putc(&b, '\n');
    }
    if (rc < 0) hx_buf_printf(&b, "ERR %s\n", e.msg);
    /* after the end or a failure, it stays there */
    assert_int_equal(rd_next(r, &rec, &e), rc < 0 ? -1 : 0);
    rd_close(r);
    return hx_buf_steal(&b);
}

/* The transcript of in with every chunk size from 1 to 40 and the default must be the same, and
 * equal to want. */
static void expect_all_chunks(const char *in, rd_opts o, const char *want)
{
    size_t n = strlen(in);
    o.chunk = 0;
    char *ref = dump(in, n, &o);
    if (strcmp(ref, want) != 0) fail_msg("input:\n%s\ngot:\n%s\nwant:\n%s", in, ref, want);
    for (size_t c = 1; c <= 40 && c <= n + 1; c++) {
        o.chunk = c;
        char *got = dump(in, n, &o);
        if (strcmp(got, ref) != 0) fail_msg("chunk %zu differs:\n%s\nvs default:\n%s", c, got, ref);
        hx_free(got);
    }
    hx_free(ref);
}

static void test_rd__csv_quoting(void **state)
{
    (void)state;
    rd_opts o = {0};
    expect_all_chunks("a,b,c\n1,x,\n2,\"\",\"y\"\n", o,
                      "2|a=\"1\"|b=\"x\"|c=NULL\n"
                      "3|a=\"2\"|b=\"\"|c=\"y\"\n");
    expect_all_chunks("a,b\n\"x,y\",\"say \"\"hi\"\"\"\n\"\"\"\",\"\"\"\"\"\"\n", o,
                      "2|a=\"x,y\"|b=\"say \\\"hi\\\"\"\n"
                      "3|a=\"\\\"\"|b=\"\\\"\\\"\"\n");
    /* spaces are data, quoted or not (so a quote after a space is a stray one); no trailing
     * newline at the end is fine */
    expect_all_chunks("a,b\n  x ,\" y \"", o, "2|a=\"  x \"|b=\" y \"\n");
    /* NULLs everywhere */
    expect_all_chunks("a,b,c\n,,\n", o, "2|a=NULL|b=NULL|c=NULL\n");
    /* UTF-8 passes through */
    expect_all_chunks("a\n\xc3\xbcn\xc3\xaf\n", o, "2|a=\"\\xc3\\xbcn\\xc3\\xaf\"\n");
    /* header names are unquoted like fields */
    expect_all_chunks("\"a,1\",\"b\"\"\"\nx,y\n", o, "2|a,1=\"x\"|b\"=\"y\"\n");
    /* empty input, header only */
    expect_all_chunks("", o, "");
    expect_all_chunks("a,b\n", o, "");
}

static void test_rd__csv_crlf_and_newlines(void **state)
{
    (void)state;
    rd_opts o = {0};
    expect_all_chunks("a,b\r\n1,2\r\n3,\r\n", o,
                      "2|a=\"1\"|b=\"2\"\n"
                      "3|a=\"3\"|b=NULL\n");
    /* CRLF and LF inside quotes are data and count as lines */
    expect_all_chunks("a,b\n\"two\nlines\",\"cr\r\nlf\"\n5,\"x\r\"\r\n6,7\n", o,
                      "2|a=\"two\\nlines\"|b=\"cr\\r\\nlf\"\n"
                      "5|a=\"5\"|b=\"x\\r\"\n"
                      "6|a=\"6\"|b=\"7\"\n");
    /* a CR not followed by LF is data; a CR at the very end ends the record */
    expect_all_chunks("a,b\nx\ry,z\r", o, "2|a=\"x\\ry\"|b=\"z\"\n");
    /* empty lines are skipped when there is more than one column */
    expect_all_chunks("\n\na,b\n\n1,2\r\n\r\n\n3,4\n\n", o,
                      "5|a=\"1\"|b=\"2\"\n"
                      "8|a=\"3\"|b=\"4\"\n");
    /* with one column an empty line is a NULL record, as fmt writes it; "" is the empty string */
    expect_all_chunks("a\n1\n\n\"\"\n\n", o,
                      "2|a=\"1\"\n"
                      "3|a=NULL\n"
                      "4|a=\"\"\n"
                      "5|a=NULL\n");
    /* a byte order mark is skipped; three bytes that only look like its start are data */
    expect_all_chunks("\xef\xbb\xbf\"a\",b\n1,2\n", o, "2|a=\"1\"|b=\"2\"\n");
    expect_all_chunks("\xef\xbb"
                      "a,b\n1,2\n",
                      o,
                      "2|\xef\xbb"
                      "a=\"1\"|b=\"2\"\n");
    expect_all_chunks("\xef", o, "");
    rd_opts nh = {.no_header = true};
    expect_all_chunks("\xef\xbb", nh, "1|?=\"\\xef\\xbb\"\n");
}

static void test_rd__csv_options(void **state)
{
    (void)state;
    rd_opts o = {.no_header = true};
    expect_all_chunks("1,2\n\"3\",\n", o,
                      "1|?=\"1\"|?=\"2\"\n"
                      "2|?=\"3\"|?=NULL\n");
    o = (rd_opts){.delim = ';'};
    expect_all_chunks("a;b\n1,5;\"x;y\"\n", o, "2|a=\"1,5\"|b=\"x;y\"\n");
    o = (rd_opts){.delim = '\t'};
    expect_all_chunks("a\tb\n1\t\n", o, "2|a=\"1\"|b=NULL\n");
    o = (rd_opts){.delim = '"'};
    char *d = dump("a", 1, &o);
    assert_non_null(strstr(d, "OPEN "));
    assert_non_null(strstr(d, "delimiter"));
    hx_free(d);
    const char *const *names;
    hx_err e = {0};
    rd_reader *r = rd_open_mem("x,y\n1,2\n", 8, "m.csv", NULL, &e);
    assert_non_null(r);
    assert_int_equal(rd_columns(r, &names), 2);
    assert_string_equal(names[0], "x");
    assert_string_equal(names[1], "y");
    rd_close(r);
}

static void test_rd__csv_malformed_strict(void **state)
{
    (void)state;
    rd_opts o = {0};
    expect_all_chunks("a,b\n1,2\n\"3,4\n5,6\n", o,
                      "2|a=\"1\"|b=\"2\"\n"
                      "ERR t.csv:3: unterminated quoted field (its quote opens on line 3)\n");
    expect_all_chunks("a,b\n1,2\nx,\"ok\"\n3,ab\"c\n", o,
                      "2|a=\"1\"|b=\"2\"\n"
                      "3|a=\"x\"|b=\"ok\"\n"
                      "ERR t.csv:4: stray quote in an unquoted field (quote the whole field and "
                      "double the quote)\n");
    expect_all_chunks("a,b\n\"x\"y,1\n", o, "ERR t.csv:2: text after a closing quote\n");
    expect_all_chunks("a,b\n1, \"x\"\n", o,
                      "ERR t.csv:2: stray quote in an unquoted field (quote the whole field and "
                      "double the quote)\n");
    expect_all_chunks("a,b\n\"x\"\r7,1\n", o, "ERR t.csv:2: text after a closing quote\n");
    expect_all_chunks("a,b\n\"multi\nline\",1\n1,2,3\n", o,
                      "2|a=\"multi\\nline\"|b=\"1\"\n"
                      "ERR t.csv:4: 3 fields, the header has 2\n");
    o.no_header = true;
    expect_all_chunks("1,2\n1\n", o,
                      "1|?=\"1\"|?=\"2\"\nERR t.csv:2: 1 fields, the first record has 2\n");
    o.no_header = false;
    expect_all_chunks("\n\"a,b\n", o,
                      "OPEN t.csv:2: header: unterminated quoted field (its quote "
                      "opens on line 2)\n");
    o.utf8 = true;
    expect_all_chunks("a,b\nok,\"\xc3\xa9\"\n1,\"x\xc3(\"\n", o,
                      "2|a=\"ok\"|b=\"\\xc3\\xa9\"\n"
                      "ERR t.csv:3: invalid UTF-8 in field 2\n");
}

static void test_rd__csv_malformed_tolerant(void **state)
{
    (void)state;
    rd_opts o = {.tolerant = true, .utf8 = true};
    expect_all_chunks("a,b\n"
                      "1,ab\"c\n"
                      "2,\"x\"y\n"
                      "3\n"
                      "4,5,6\n"
                      "\"multi\nline\",ok\n"
                      "5,\"\xff\"\n"
                      "6,\"\xed\xa0\x80\"\n"     /* a surrogate */
                      "7,\"\xe0\x80\xaf\"\n"     /* overlong */
                      "8,\"\xf4\x90\x80\x80\"\n" /* above U+10FFFF */
                      "9,\"unterminated\n"
                      "10,x\n",
                      o,
                      "2|a=\"1\"|b=\"ab\\\"c\"|!stray quote in an unquoted field (quote the whole "
                      "field and double the quote)\n"
                      "3|a=\"2\"|b=\"xy\"|!text after a closing quote\n"
                      "4|a=\"3\"|!1 fields, the header has 2\n"
                      "5|a=\"4\"|b=\"5\"|?=\"6\"|!3 fields, the header has 2\n"
                      "6|a=\"multi\\nline\"|b=\"ok\"\n"
                      "8|a=\"5\"|b=\"\\xff\"|!invalid UTF-8 in field 2\n"
                      "9|a=\"6\"|b=\"\\xed\\xa0\\x80\"|!invalid UTF-8 in field 2\n"
                      "10|a=\"7\"|b=\"\\xe0\\x80\\xaf\"|!invalid UTF-8 in field 2\n"
                      "11|a=\"8\"|b=\"\\xf4\\x90\\x80\\x80\"|!invalid UTF-8 in field 2\n"
                      "12|a=\"9\"|b=\"unterminated\\n10,x\\n\"|!unterminated quoted field (its "
                      "quote opens on line 12)\n");
}

static void test_rd__cap(void **state)
{
    (void)state;
    /* "ab,cd\n" costs 2 + 32 + 2 + 32 = 68 */
    rd_opts o = {.max_record = 68};
    expect_all_chunks("x,y\nab,cd\n", o, "2|x=\"ab\"|y=\"cd\"\n");
    o.max_record = 67;
    expect_all_chunks("x,y\nab,cd\n", o, "ERR t.csv:2: record longer than 67 bytes\n");
    o = (rd_opts){.max_record = 100, .tolerant = true};
    hx_buf in;
    hx_buf_init(&in);
    hx_buf_puts(&in, "x,y\n1,2\n\"");
    for (int i = 0; i < 50; i++)
        hx_buf_puts(&in, "long,\n");
    hx_buf_puts(&in, "\",z\n");
    for (int i = 0; i < 500; i++)
        hx_buf_putc(&in, ',');
    hx_buf_puts(&in, "\n3,4\n");
    expect_all_chunks(in.data, o,
                      "2|x=\"1\"|y=\"2\"\n"
                      "3|!record longer than 100 bytes\n"
                      "54|!record longer than 100 bytes\n"
                      "55|x=\"3\"|y=\"4\"\n");
    o.format = RD_JSONL;
    expect_all_chunks("{\"a\":1}\n{\"b\":\"0123456789012345678901234567890123456789012345678901234"
                      "5678901234567890123456789012345678901234567890123\"}\n{\"c\":null}\n",
                      o,
                      "1|a=\"1\"\n"
                      "2|!record longer than 100 bytes\n"
                      "3|c=NULL\n");
    o.tolerant = false;
    expect_all_chunks("{\"a\":1}\n{\"b\":\"0123456789012345678901234567890123456789012345678901234"
                      "5678901234567890123456789012345678901234567890123\"}\n{\"c\":null}\n",
                      o,
                      "1|a=\"1\"\n"
                      "ERR t.csv:2: record longer than 100 bytes\n");
    hx_buf_release(&in);
}

static void test_rd__jsonl_types(void **state)
{
    (void)state;
    rd_opts o = {.format = RD_JSONL};
    expect_all_chunks("{\"s\":\"a\\\"b\\n\\u00e9\",\"i\":-12,\"d\":12.50,\"e\":1E+3,\"t\":true,"
                      "\"f\":false,\"n\":null,\"empty\":\"\"}\n",
                      o,
                      "1|s=\"a\\\"b\\n\\xc3\\xa9\"|i=\"-12\"|d=\"12.50\"|e=\"1E+3\"|t=\"true\"|"
                      "f=\"false\"|n=NULL|empty=\"\"\n");
    /* nested values as compact JSON, exactly as written otherwise; keys in order */
    expect_all_chunks("  { \"z\" : { \"k\" : [ 1 , 2.0 , \"a b\" , {} ] } , \"a\" : [ ] }  \r\n", o,
                      "1|z=\"{\\\"k\\\":[1,2.0,\\\"a b\\\",{}]}\"|a=\"[]\"\n");
    /* huge integers stay as written */
    expect_all_chunks("{\"big\":123456789012345678901234567890}\n", o,
                      "1|big=\"123456789012345678901234567890\"\n");
    /* blank lines are skipped, CRLF is fine, line numbers are physical; \u0000 is kept */
    expect_all_chunks("\n{\"a\":1}\r\n   \n\t\r\n{\"a\":\"x\\u0000y\"}", o,
                      "2|a=\"1\"\n"
                      "5|a=\"x\\x00y\"\n");
    expect_all_chunks("{}\n", o, "1\n");
    /* jansson refuses a NUL in a key (it could never name a column) */
    expect_all_chunks("{\"a\\u0000b\":1}\n", o,
                      "ERR t.csv:1: invalid JSON at column 11: NUL byte in object key not "
                      "supported near '\"a\\u0000b\"'\n");
    expect_all_chunks("\xef\xbb\xbf{\"a\":1}\n", o, "1|a=\"1\"\n");
}

/* A raw NUL byte is not JSON. jansson skips it, so a line such as {"a":2<NUL>,"b":3} would load,
 * and the field scanner, which stops at the NUL, read past the next key (found by fuzz_jsonl). */
static void test_rd__jsonl_raw_nul(void **state)
{
    (void)state;
    rd_opts o = {.format = RD_JSONL};
    static const char in[] = "{\"a)\":2\0,\")\":2\0,\"a\":2}\n";
    hx_err e = {0};
    rd_reader *r = rd_open_mem(in, sizeof in - 1, "t.jsonl", &o, &e);
    assert_non_null(r);
    rd_record rec;
    assert_int_equal(rd_next(r, &rec, &e), -1);
    assert_string_equal(e.msg, "t.jsonl:1: invalid JSON at column 8: a raw NUL byte (write "
                               "\\u0000 inside a string)");
    rd_close(r);

    /* tolerant: the line is malformed, has no fields, and the next one reads */
    o.tolerant = true;
    static const char in2[] = "{\"a\":2\0,\"b\":3}\n{\"b\":4}\n";
    r = rd_open_mem(in2, sizeof in2 - 1, "t.jsonl", &o, &e);
    assert_int_equal(rd_next(r, &rec, &e), 1);
    assert_non_null(rec.error);
    assert_int_equal(rec.ncols, 0);
    assert_int_equal(rd_next(r, &rec, &e), 1);
    assert_null(rec.error);
    assert_int_equal(rec.ncols, 1);
    assert_string_equal(rec.values[0], "4");
    assert_int_equal(rd_next(r, &rec, &e), 0);
    rd_close(r);
}

static void test_rd__jsonl_malformed(void **state)
{
    (void)state;
    rd_opts o = {.format = RD_JSONL, .tolerant = true};
    char *d = dump("{\"a\":1}\n"
                   "{\"a\":1\n"
                   "[1,2]\n"
                   "\"s\"\n"
                   "{\"a\":\"\xc3\x28\"}\n"
                   "{\"a\":1,\"a\":2}\n"
                   "{\"a\":1} x\n"
                   "{\"a\":\"\xff\"}\n"
                   "{\"b\":2}\n",
                   strlen("{\"a\":1}\n{\"a\":1\n[1,2]\n\"s\"\n{\"a\":\"\xc3\x28\"}\n{\"a\":1,"
                          "\"a\":2}\n{\"a\":1} x\n{\"a\":\"\xff\"}\n{\"b\":2}\n"),
                   &o);
    /* jansson's wording is its own: check the shape, the lines and the parts that are ours */
    const char *lines[] = {"1|a=\"1\"\n",
                           "2|!invalid JSON at column ",
                           "3|!expected a JSON object, got an array\n",
                           "4|!expected a JSON object, got a string\n",
                           "5|!invalid JSON",
                           "6|!invalid JSON",
                           "7|!invalid JSON",
                           "8|!invalid JSON",
                           "9|b=\"2\"\n"};
    const char *p = d;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        if (strncmp(p, lines[i], strlen(lines[i])) != 0) fail_msg("record %zu: got\n%s", i, p);
        p = strchr(p, '\n') + 1;
    }
    assert_int_equal(*p, 0);
    hx_free(d);
    o.tolerant = false;
    d = dump("{\"a\":1}\n\n{\"a\":\"\xc3\x28\"}\n{\"b\":2}\n", 25, &o);
    assert_non_null(strstr(d, "1|a=\"1\"\nERR t.csv:3: invalid JSON at column "));
    hx_free(d);
    /* every chunk size agrees on malformed lines too */
    expect_all_chunks("{\"a\":1\n[]\n{\"b\":[1,{\"c\":\"\\u00\"}]}\n{\"a\":2}\n",
                      (rd_opts){.format = RD_JSONL, .tolerant = true},
                      "1|!invalid JSON at column 6: '}' expected near end of file\n"
                      "2|!expected a JSON object, got an array\n"
                      "3|!invalid JSON at column 19: invalid escape near '\"\\u00\"'\n"
                      "4|a=\"2\"\n");
}

static void test_rd__files(void **state)
{
    (void)state;
    char path[] = "/tmp/test_rd_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "a,b\n1,\"x\ny\"\n2,\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    hx_err e = {0};
    rd_opts o = {.chunk = 3};
    rd_reader *r = rd_open(path, &o, &e);
    assert_non_null(r);
    rd_record rec;
    assert_int_equal(rd_next(r, &rec, &e), 1);
    assert_int_equal(rec.ncols, 2);
    assert_string_equal(rec.values[1], "x\ny");
    assert_int_equal(rd_next(r, &rec, &e), 1);
    assert_int_equal(rec.line, 4);
    assert_null(rec.values[1]);
    assert_int_equal(rd_next(r, &rec, &e), 0);
    rd_close(r);
    FILE *f = fopen(path, "r");
    r = rd_open_file(f, "named.csv", &o, &e);
    assert_non_null(r);
    assert_int_equal(rd_next(r, &rec, &e), 1);
    assert_string_equal(rec.names[0], "a");
    rd_close(r);
    fclose(f);
    unlink(path);
    assert_null(rd_open(path, NULL, &e)); /* missing: the solution's fault, as hx_open_input says */
    assert_int_equal(e.code, HX_EUSAGE);
    assert_non_null(strstr(e.msg, path));
    rd_close(NULL);
}

/* Every allocation of opening and reading fails in turn: an error, never a crash or a leak. */
static void test_rd__out_of_memory(void **state)
{
    (void)state;
    const char *csv = "a,b\n1,\"x\"\"y\"\n2,3\n";
    const char *jl = "{\"a\":1,\"b\":[1, 2]}\n{\"c\":\"d\"}\n";
    for (int fmt = 0; fmt < 2; fmt++) {
        const char *in = fmt ? jl : csv;
        rd_opts o = {.format = fmt ? RD_JSONL : RD_CSV, .chunk = 4};
        bool done = false;
        for (long n = 0; n < 200 && !done; n++) {
            hx_alloc_fail_after(n);
            hx_err e = {0};
            rd_reader *r = rd_open_mem(in, strlen(in), "m", &o, &e);
            int rc = r ? 1 : -1, records = 0;
            rd_record rec;
            while (r && (rc = rd_next(r, &rec, &e)) == 1)
                records++;
            hx_alloc_fail_after(-1);
            if (rc < 0)
                assert_int_equal(e.code, HX_ENOMEM);
            else
                done = records == 2;
            rd_close(r);
        }
        assert_true(done);
    }
}

/* ---- reading back what fmt writes ---- */

/* The orders fixture plus columns whose values stress the quoting: "", quotes, delimiters, CR,
 * LF, leading and trailing spaces, non-ASCII; NULLs in most columns. */
static plan_scenario *roundtrip_scenario(uint64_t rows, unsigned corrupt)
{
    static const char *tricky[] = {
        "",   "a,b", "say \"hi\"", "two\nlines", "cr\r\nlf", " pad ", "\xc3\xbcn\xc3\xaf",
        "\"", ",",   "plain",      NULL};
    static const double w[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    plan_scenario *s = fx_scenario();
    plan_dataset *d = fx_orders(s, rows, 77 + corrupt);
    fx_cat(d, "tricky", PLAN_T_STRING, tricky, w);
    for (size_t c = 1; c < d->ncols; c++)
        d->cols[c].null_frac = 0.15;
    if (corrupt) fx_fault(d, PLAN_F_CORRUPT, 0.2, -1)->corrupt_mask = corrupt;
    return s;
}

/* Read `data` back with rd and compare every record with the generator's: clean records field by
 * field (fmt_value text, NULL as NULL); corrupt ones must be flagged, unless the corruption leaves
 * a well-formed record (BAD_TYPE; in JSONL also an extra or a missing key). */
static void roundtrip(gen *g, plan_format f, const char *data, size_t n, size_t chunk)
{
    const plan_dataset *d = &gen_scenario(g)->datasets[0];
    rd_opts o = {.format = f == PLAN_FMT_CSV ? RD_CSV : RD_JSONL,
                 .tolerant = true,
                 .utf8 = true,
                 .chunk = chunk};
    hx_err e = {0};
    rd_reader *r = rd_open_mem(data, n, "gen", &o, &e);
    assert_non_null(r);
    gen_cursor cur;
    assert_int_equal(gen_cursor_init(&cur, g, 0, -1, &e), 0);
    const gen_record *gr;
    rd_record rec;
    hx_buf want;
    hx_buf_init(&want);
    uint64_t count = 0, flagged = 0;
    while (gen_cursor_next(&cur, &gr, &e) == 1) {
        assert_int_equal(rd_next(r, &rec, &e), 1);
        count++;
        bool detectable = gr->corrupt == PLAN_C_TRUNCATE || gr->corrupt == PLAN_C_BAD_UTF8 ||
                          (f == PLAN_FMT_CSV && (gr->corrupt == PLAN_C_EXTRA_COLUMN ||
                                                 gr->corrupt == PLAN_C_MISSING_COLUMN));
        if (detectable) {
            if (!rec.error)
                fail_msg("record %llu (%s) was not flagged", (unsigned long long)gr->id,
                         gen_corrupt_name(gr->corrupt));
            flagged++;
            continue;
        }
        if (rec.error) fail_msg("line %llu: %s", (unsigned long long)rec.line, rec.error);
        if (gr->corrupt) continue;
        assert_int_equal(rec.ncols, d->ncols);
        for (size_t c = 0; c < d->ncols; c++) {
            assert_string_equal(rec.names[c], d->cols[c].name);
            if (gr->vals[c].null) {
                if (rec.values[c])
                    fail_msg("line %llu column %s: want NULL, got '%s'",
                             (unsigned long long)rec.line, d->cols[c].name, rec.values[c]);
                continue;
            }
            hx_buf_clear(&want);
            assert_true(fmt_value(&want, &d->cols[c], &gr->vals[c]));
            assert_non_null(rec.values[c]);
            assert_int_equal(rec.lengths[c], want.len);
            assert_memory_equal(rec.values[c], want.len ? want.data : "", want.len);
        }
    }
    assert_int_equal(rd_next(r, &rec, &e), 0);
    assert_int_equal(count, cur.emitted);
    if (gen_scenario(g)->datasets[0].nfaults) assert_true(flagged > 0);
    hx_buf_release(&want);
    gen_cursor_release(&cur);
    rd_close(r);
}

static void test_rd__roundtrip_fmt(void **state)
{
    (void)state;
    static const unsigned corrupt[] = {0, PLAN_C_ALL};
    for (size_t k = 0; k < 2; k++) {
        plan_scenario *s = roundtrip_scenario(3000, corrupt[k]);
        gen *g = NULL;
        hx_err e = {0};
        assert_int_equal(gen_new(s, &g, &e), 0);
        for (int f = 0; f < 2; f++) {
            size_t n;
            char sha[65];
            char *data = fx_write(g, 0, f ? PLAN_FMT_JSONL : PLAN_FMT_CSV, -1, &n, sha, NULL);
            assert_non_null(data);
            roundtrip(g, f ? PLAN_FMT_JSONL : PLAN_FMT_CSV, data, n, 0);
            roundtrip(g, f ? PLAN_FMT_JSONL : PLAN_FMT_CSV, data, n, 7);
            roundtrip(g, f ? PLAN_FMT_JSONL : PLAN_FMT_CSV, data, n, 1);
            free(data);
        }
        gen_free(g);
        fx_free(s);
    }
}

/* A one-column dataset with NULLs: fmt writes a NULL as an empty line, rd reads it back. */
static void test_rd__roundtrip_one_column(void **state)
{
    (void)state;
    static const char *v[] = {"", "x", NULL};
    static const double w[] = {1, 1};
    plan_scenario *s = fx_scenario();
    plan_dataset *d = fx_dataset(s, "one", 500, 5);
    fx_cat(d, "v", PLAN_T_STRING, v, w)->null_frac = 0.3;
    gen *g = NULL;
    hx_err e = {0};
    assert_int_equal(gen_new(s, &g, &e), 0);
    size_t n;
    char sha[65];
    char *data = fx_write(g, 0, PLAN_FMT_CSV, -1, &n, sha, NULL);
    assert_non_null(strstr(data, "\n\n"));
    roundtrip(g, PLAN_FMT_CSV, data, n, 0);
    roundtrip(g, PLAN_FMT_CSV, data, n, 1);
    free(data);
    gen_free(g);
    fx_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rd__csv_quoting),
        cmocka_unit_test(test_rd__csv_crlf_and_newlines),
        cmocka_unit_test(test_rd__csv_options),
        cmocka_unit_test(test_rd__csv_malformed_strict),
        cmocka_unit_test(test_rd__csv_malformed_tolerant),
        cmocka_unit_test(test_rd__cap),
        cmocka_unit_test(test_rd__jsonl_types),
        cmocka_unit_test(test_rd__jsonl_raw_nul),
        cmocka_unit_test(test_rd__jsonl_malformed),
        cmocka_unit_test(test_rd__files),
        cmocka_unit_test(test_rd__out_of_memory),
        cmocka_unit_test(test_rd__roundtrip_fmt),
        cmocka_unit_test(test_rd__roundtrip_one_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
