/* fuzz_csv.c - libFuzzer target for the CSV reader of rd.h. The first byte picks the options
 * (delimiter, header, tolerant mode, the UTF-8 check, a small record cap); the rest is the file.
 * Each input is read in one chunk, one byte at a time and through a FILE, and the three reads
 * must agree record for record. When a strict read succeeds, the records written back as RFC 4180
 * must read back identically: what the reader accepts, it reads as a writer meant it. */
#include "fuzz_rd_common.h"

static bool needs_quotes(const char *s, size_t n, char delim, bool first)
{
    if (n == 0) return true; /* "" is the empty string; nothing at all is NULL */
    if (first && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
        return true; /* unquoted, it would read as a byte order mark */
    for (size_t i = 0; i < n; i++)
        if (s[i] == delim || s[i] == '"' || s[i] == '\n' || s[i] == '\r') return true;
    return false;
}

static void put_field(hx_buf *b, const char *s, size_t n, char delim, bool first)
{
    if (!s) return;
    if (!needs_quotes(s, n, delim, first)) {
        hx_buf_append(b, s, n);
        return;
    }
    hx_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') hx_buf_putc(b, '"');
        hx_buf_putc(b, s[i]);
    }
    hx_buf_putc(b, '"');
}

/* Write the records of data back as CSV (header first when there is one). */
static void rewrite(const uint8_t *data, size_t n, const rd_opts *o, hx_buf *out)
{
    hx_err e = {0};
    rd_reader *r = rd_open_mem(data, n, "fuzz", o, &e);
    if (!r) abort(); /* it opened a moment ago */
    const char *const *hdr;
    size_t nh = rd_columns(r, &hdr);
    for (size_t i = 0; i < nh; i++) {
        if (i) hx_buf_putc(out, o->delim);
        put_field(out, hdr[i], strlen(hdr[i]), o->delim, out->len == 0);
    }
    if (nh) hx_buf_putc(out, '\n');
    rd_record rec;
    while (rd_next(r, &rec, &e) == 1) {
        for (size_t i = 0; i < rec.ncols; i++) {
            if (i) hx_buf_putc(out, o->delim);
            put_field(out, rec.values[i], rec.lengths[i], o->delim, out->len == 0);
        }
        hx_buf_putc(out, '\n');
    }
    rd_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const char delims[] = {',', ';', '\t', '|'};
    uint8_t b = data[0];
    rd_opts o = {.format = RD_CSV,
                 .delim = delims[b & 3],
                 .no_header = b & 4,
                 .tolerant = b & 8,
                 .utf8 = b & 16,
                 .max_record = b & 32 ? 200 : 0};
    data++, size--;
    hx_buf t;
    hx_buf_init(&t);
    int rc = read_three_ways(data, size, o, &t);
    if (rc == 0 && !o.tolerant && !o.max_record) {
        hx_buf w, t1, t2;
        hx_buf_init(&w);
        hx_buf_init(&t1);
        hx_buf_init(&t2);
        rewrite(data, size, &o, &w);
        hx_err e = {0};
        transcript(rd_open_mem(data, size, "fuzz", &o, &e), &t1, false, &e);
        transcript(rd_open_mem(w.data ? w.data : "", w.len, "fuzz", &o, &e), &t2, false, &e);
        if (t1.len != t2.len || memcmp(t1.data, t2.data, t1.len) != 0) abort();
        hx_buf_release(&w);
        hx_buf_release(&t1);
        hx_buf_release(&t2);
    }
    hx_buf_release(&t);
    return 0;
}
