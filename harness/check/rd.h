/* rd.h - streaming readers for the files a solution writes: CSV (RFC 4180) and JSONL, one record
 * at a time, from a path, a FILE* or memory, read in chunks with bounded memory.
 *
 * Both formats yield the same thing: a record of text fields, each with a column name, its bytes
 * and its length, NULL for SQL NULL, and the physical line (1-based) where the record starts.
 * CSV reads back exactly what fmt.c writes: an empty unquoted field is NULL, a quoted "" is the
 * empty string, "" inside quotes is one quote, quoted fields may hold the delimiter, CR and LF;
 * records end in LF or CRLF (a CR not followed by LF is data). An empty line is skipped, unless
 * the file has one column: then it is a record whose one field is NULL (that is how fmt writes
 * it). JSONL: one JSON object per line, read with jansson; strings yield their text, numbers
 * their text as written, true/false "true"/"false", null NULL, objects and arrays their JSON text
 * with the whitespace between tokens removed. Lines of whitespace only are skipped. A UTF-8 byte
 * order mark at the start of the input is skipped in both formats.
 *
 * Malformed records (an unterminated or stray quote, text after a closing quote, a field count
 * other than the header's, invalid JSON or UTF-8, a record over the size cap) fail rd_next with
 * "name:line: problem"; in tolerant mode they come back as records with `error` set and reading
 * goes on with the next record.
 *
 * Ownership: an rd_reader is a heap object (rd_open* / rd_close). rd_open_file borrows the FILE,
 * rd_open_mem borrows the bytes: both must outlive the reader. A record filled by rd_next borrows
 * the reader's storage: its arrays and strings stay valid until the next rd_next or rd_close. */
#ifndef HX_RD_H
#define HX_RD_H

#include <stdio.h>

#include "util.h"

#define RD_DEFAULT_CHUNK (64u * 1024)     /* bytes per read unless rd_opts.chunk says */
#define RD_DEFAULT_MAX_RECORD (16u << 20) /* bytes one record may take unless rd_opts says */

typedef enum rd_format { RD_CSV, RD_JSONL } rd_format;

/* Options; all zeros is CSV with a header, ',' separated, strict, 64 KiB reads, 16 MiB records. */
typedef struct rd_opts {
    rd_format format;  /* CSV or JSONL */
    char delim;        /* CSV field separator, 0 = ','; never '"', CR or LF */
    bool no_header;    /* CSV: the first record is data; field counts are held to its count */
    bool tolerant;     /* malformed records come back with rd_record.error set instead of failing */
    bool utf8;         /* CSV: a field that is not valid UTF-8 makes its record malformed (JSONL
                          always requires UTF-8) */
    size_t chunk;      /* bytes per read, 0 = RD_DEFAULT_CHUNK; tests use 1 to cut everywhere */
    size_t max_record; /* bytes one record may take (its text plus 32 per field), 0 = default */
} rd_opts;

/* One record. Every array has ncols entries. */
typedef struct rd_record {
    size_t ncols;              /* fields in this record (0 for a malformed JSONL line) */
    const char *const *names;  /* column name of each field: the CSV header's (NULL past its end
                                  and without a header) or the JSON key */
    const char *const *values; /* NUL-terminated text of each field, NULL = SQL NULL */
    const size_t *lengths;     /* byte length of each value (0 for NULL; may hold NULs in JSON) */
    uint64_t line;             /* physical line (1-based) where the record starts */
    const char *error;         /* tolerant mode: why the record is malformed, without the
                                  "name:line: " prefix (values hold what could be read); else NULL */
} rd_record;

typedef struct rd_reader rd_reader;

/* Open path for reading (o may be NULL for defaults), a regular file only (hx_open_input). For CSV
 * the header is read here. Returns the reader, or NULL with e filled (HX_EIO: cannot open or
 * read, HX_EUSAGE: missing, not a regular file, bad options or a malformed header, HX_ENOMEM).
 * Free with rd_close. */
rd_reader *rd_open(const char *path, const rd_opts *o, hx_err *e);
/* Read from f (borrowed; not closed by rd_close); name is used in messages. As rd_open. */
rd_reader *rd_open_file(FILE *f, const char *name, const rd_opts *o, hx_err *e);
/* Read len bytes at data (borrowed, need not be NUL-terminated), handed out chunk bytes at a time
 * like a file. As rd_open. */
rd_reader *rd_open_mem(const void *data, size_t len, const char *name, const rd_opts *o, hx_err *e);
/* The next record into *rec. Returns 1 (a record; check rec->error in tolerant mode), 0 at the end
 * of the input, or -1 with e filled: a malformed record in strict mode ("name:line: ..."), a read
 * error (HX_EIO), HX_ENOMEM. After -1 every call fails the same way. */
int rd_next(rd_reader *r, rd_record *rec, hx_err *e);
/* The CSV header's column names (borrowed, valid until rd_close) and their number; 0 for JSONL
 * and for CSV without a header. */
size_t rd_columns(const rd_reader *r, const char *const **names);
/* Close the reader (and the file rd_open opened). NULL is fine. */
void rd_close(rd_reader *r);

#endif
