/* fuzz_rd_common.h - what the rd fuzz targets share: reading one input three ways (in one chunk,
 * one byte at a time, and through a FILE in 5-byte reads) into transcripts that must be equal,
 * and the invariants every record keeps. Header-only, included once by each target. */
#ifndef HX_FUZZ_RD_COMMON_H
#define HX_FUZZ_RD_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rd.h"

/* Everything rd_next said, as bytes: per record its line, fields (name, NULL or length and
 * bytes) and error; then the final return code and message. with_lines = false leaves the line
 * numbers out (for comparing inputs that differ only in layout). */
static void transcript_add(hx_buf *t, const rd_record *rec, bool with_lines)
{
    if (with_lines) hx_buf_printf(t, "L%llu", (unsigned long long)rec->line);
    hx_buf_printf(t, " n%zu", rec->ncols);
    for (size_t i = 0; i < rec->ncols; i++) {
        const char *nm = rec->names[i];
        hx_buf_printf(t, " [%s]", nm ? nm : "(none)");
        if (!rec->values[i]) {
            if (rec->lengths[i] != 0) abort();
            hx_buf_puts(t, "NULL");
            continue;
        }
        /* values are NUL-terminated at their length */
        if (rec->values[i][rec->lengths[i]] != '\0') abort();
        hx_buf_printf(t, "%zu:", rec->lengths[i]);
        hx_buf_append(t, rec->values[i], rec->lengths[i]);
    }
    if (rec->error) hx_buf_printf(t, " !%s", rec->error);
    hx_buf_putc(t, '\n');
}

/* Read everything from r (closing it) into t. Returns rd_next's last code. */
static int transcript(rd_reader *r, hx_buf *t, bool with_lines, const hx_err *open_err)
{
    if (!r) {
        hx_buf_printf(t, "OPEN %s\n", open_err->msg);
        return -1;
    }
    rd_record rec;
    hx_err e = {0};
    int rc;
    uint64_t last_line = 0;
    const char *const *hdr;
    size_t nhdr = rd_columns(r, &hdr);
    for (size_t i = 0; i < nhdr; i++)
        hx_buf_printf(t, "H[%s]", hdr[i]);
    while ((rc = rd_next(r, &rec, &e)) == 1) {
        if (rec.line < 1 || rec.line < last_line) abort(); /* records come in file order */
        last_line = rec.line;
        transcript_add(t, &rec, with_lines);
    }
    if (rc != 0 && rc != -1) abort();
    if (rc < 0) hx_buf_printf(t, "ERR %s\n", e.msg);
    /* the end, or the failure, stays */
    if (rd_next(r, &rec, &e) != rc) abort();
    rd_close(r);
    return rc;
}

/* Read data three ways with options o and abort unless the transcripts agree. The transcript of
 * the one-chunk read is left in out. */
static int read_three_ways(const uint8_t *data, size_t n, rd_opts o, hx_buf *out)
{
    hx_buf a, b;
    hx_buf_init(&a);
    hx_buf_init(&b);
    hx_err e = {0};
    o.chunk = 0;
    int rc = transcript(rd_open_mem(data, n, "fuzz", &o, &e), out, true, &e);
    o.chunk = 1;
    transcript(rd_open_mem(data, n, "fuzz", &o, &e), &a, true, &e);
    if (a.len != out->len || memcmp(a.data, out->data, a.len) != 0)
        abort(); /* a chunk boundary changed what was read */
    if (n > 0) {
        FILE *f = fmemopen((void *)data, n, "r");
        if (f) {
            o.chunk = 5;
            transcript(rd_open_file(f, "fuzz", &o, &e), &b, true, &e);
            fclose(f);
            if (b.len != out->len || memcmp(b.data, out->data, b.len) != 0) abort();
        }
    }
    hx_buf_release(&a);
    hx_buf_release(&b);
    return rc;
}

#endif
