/* fmt.h - serialising generated records as a source would carry them. A record first becomes its
 * fields (fmt_fields: what the producer sends, one text per field of its batch's header), then an
 * encoder at the edge writes them: CSV (RFC 4180), JSONL, or PostgreSQL COPY text (what a raw
 * table holds of the CSV line). This is where format-level faults become bytes: schema drift
 * changes the header and the fields from its batch on; corrupt records are truncated, mistyped,
 * carry invalid UTF-8, or gain or lose a field. Timestamps are ISO 8601 UTC with microseconds
 * ("2026-01-02T03:04:05.123456Z"), decimals are exact ("12.50"), NULL is an empty unquoted CSV
 * field, JSON null or COPY's \N.
 *
 * Ownership: output is appended to a caller-owned hx_buf; an fmt_fields owns what its fields do
 * not borrow from the record or the plan, so it is valid while both are. */
#ifndef HX_FMT_H
#define HX_FMT_H

#include "gen.h"

/* How a field is written: never quoted (numbers, bools), or as a string (timestamps too). */
typedef enum fmt_kind {
    FMT_NULL, /* SQL NULL: empty unquoted in CSV, null in JSON, \N in COPY */
    FMT_RAW,  /* a literal: unquoted in CSV and JSON */
    FMT_TEXT  /* a string: a JSON string; quoted in CSV when it holds , " CR LF or is empty */
} fmt_kind;

/* One field of a record as sent. */
typedef struct fmt_field {
    const char *s;    /* its bytes (len of them, not NUL-terminated; may hold any byte) */
    size_t len;       /* byte length */
    fmt_kind kind;    /* how encoders write it */
    int col;          /* its column in the batch's header: 0..ncols-1 the dataset's columns,
                         ncols + i the i-th column added by drift; -1 the surplus of EXTRA_COLUMN */
    const char *name; /* the JSON key (the header's name, "_extra" for the surplus) */
    unsigned own;     /* internal: 0 s is borrowed, 1 s is num, 2 s is in the text buffer */
    size_t off;       /* internal: offset in the text buffer */
    char num[64];     /* internal: the text of a number, time or short rendering */
} fmt_field;

/* A record's fields. Storage is reused from call to call; the first 16 fields need no heap. */
typedef struct fmt_fields {
    fmt_field *v;        /* the fields, in the order they are sent */
    size_t n;            /* fields in v */
    size_t cap;          /* room in v */
    bool truncate;       /* a TRUNCATE record: the encoders cut the line (fmt_fields_csv_read
                            for what a CSV reader of the cut line gets) */
    size_t nhdr;         /* columns of the record's batch header (dataset's + added) */
    hx_buf text;         /* bytes the fields own beyond num (a BAD_UTF8 value) */
    fmt_field local[16]; /* v's storage while it fits */
} fmt_fields;

void fmt_fields_init(fmt_fields *f);
void fmt_fields_release(fmt_fields *f);
/* Record r's fields in batch r->batch: drift applied (RENAME names, RETYPE renderings, ADD
 * values), then corruption (BAD_TYPE text, BAD_UTF8 bytes, MISSING_COLUMN's field left out,
 * EXTRA_COLUMN's surplus field appended; TRUNCATE only sets f->truncate). Borrows r's strings and
 * ds's names. Returns false when out of memory. */
bool fmt_fields_of(fmt_fields *f, const plan_dataset *ds, const gen_record *r);
/* The header of batch `batch` as TEXT fields (col = position, name = s). */
bool fmt_fields_header(fmt_fields *f, const plan_dataset *ds, uint32_t batch);
/* Replace the fields by those a CSV reader splits from the record's CSV line, so a table loaded
 * from fields holds what one loaded from the landing file would: for a TRUNCATE record the fields
 * before the cut, the cut one partial or NULL, none after; an empty line (a one-column record
 * missing its column) as one empty surplus field. Clears f->truncate. */
void fmt_fields_csv_read(fmt_fields *f);
/* Encoders: one line ending in '\n' (CSV / JSONL; TRUNCATE cuts it as fmt_record describes). */
bool fmt_fields_csv(hx_buf *out, const fmt_fields *f);
bool fmt_fields_jsonl(hx_buf *out, const fmt_fields *f);
/* The fields as the columns of a raw table row in COPY text format: for each of the header's
 * f->nhdr columns then the surplus column, a '\t' and the value (\N for NULL or a column the
 * record lacks; invalid UTF-8 and NUL as U+FFFD; backslash, tab, CR and LF escaped). No newline. */
bool fmt_fields_copy(hx_buf *out, const fmt_fields *f);
/* The same values as NUL-terminated text (UTF-8 fixed, unescaped) into store (cleared first):
 * vals[0..f->nhdr] get pointers into store, NULL for SQL NULL. vals has f->nhdr + 1 entries. */
bool fmt_fields_values(const fmt_fields *f, hx_buf *store, const char **vals);

/* The header line for batch `batch` (CSV column names with drift applied: RENAME changes a name,
 * ADD appends one; nothing for JSONL, whose keys carry the same names). */
bool fmt_header(hx_buf *out, const plan_dataset *ds, plan_format f, uint32_t batch);
/* One record line, ending in '\n', with drift (by r->batch) and r->corrupt applied. Corruptions:
 * TRUNCATE cuts the line (CSV: fewer fields, never inside quotes; JSONL: a proper prefix of the
 * object); BAD_TYPE writes "n/a" or "12,5O" (as text) into r->corrupt_col; BAD_UTF8 inserts
 * 0xC3 0x28 or 0xFF into the middle of string field r->corrupt_col; EXTRA_COLUMN appends a field
 * (JSONL: key "_extra"); MISSING_COLUMN drops field r->corrupt_col. RETYPE drift renderings are
 * listed at put_retyped() in fmt.c ("$12.50" for a decimal as string, "12.0" for an int as
 * decimal, ...). Returns false when out of memory. */
bool fmt_record(hx_buf *out, const plan_dataset *ds, plan_format f, const gen_record *r);
/* fmt_fields_copy of record r as a table loads it (fmt_fields_csv_read applied); scratch is
 * caller storage reused across calls. The common record (no drift, no corruption) is written
 * straight from its values. Returns false when out of memory. */
bool fmt_record_copy(hx_buf *out, fmt_fields *scratch, const plan_dataset *ds, const gen_record *r);
/* One value as text, clean (no corruption, no quoting): what a correct sink would hold. A NULL
 * value appends nothing (check v->null to tell it from ""). Returns false when out of memory. */
bool fmt_value(hx_buf *out, const plan_column *col, const gen_value *v);
/* The UTC date "YYYY-MM-DD" of a timestamp into buf (>= 32 bytes); returns its length. */
size_t fmt_date(char *buf, int64_t us);
/* s as a JSON string literal with quotes; control characters as \u00XX, bytes >= 0x80 raw. */
bool fmt_json_string(hx_buf *out, const char *s, size_t n);
/* s as one CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF, or is empty (an
 * empty unquoted field means NULL); quotes doubled. */
bool fmt_csv_string(hx_buf *out, const char *s, size_t n);
/* What fmt_write_dataset wrote. */
typedef struct fmt_write_stats {
    uint64_t rows;    /* emissions written */
    uint64_t corrupt; /* emissions among them with a corruption applied */
    uint64_t bytes;   /* bytes written, the header included */
} fmt_write_stats;

/* The dataset writer, shared by `harness gen` and the run's landing files: write the emissions of
 * dataset ds (batch -1 = all, else that batch) to out in format f: for CSV one header line first
 * (the schema of `batch`, or of batch 0 when writing all batches; drifted records of a later
 * batch then carry their own shape), then one line per emission, then fflush. sha (may be NULL)
 * is updated with exactly the bytes written, so several files can share one hash; *st (may be
 * NULL) receives the counts. A whole dataset of a few 10^5 rows or more (without a Lua row
 * function) is made by worker threads, the same bytes. Returns 0, HX_EIO when out fails,
 * HX_ENOMEM, HX_EINFRA (no thread), or the generator's error. Implemented in fmt_write.c. */
int fmt_write_dataset(gen *g, size_t ds, plan_format f, int64_t batch, FILE *out, hx_sha256 *sha,
                      fmt_write_stats *st, hx_err *e);

/* Format microseconds since the epoch as ISO 8601 UTC into buf (>= 32 bytes). */
void fmt_timestamp(char *buf, size_t n, int64_t us);
/* Format a scaled decimal: 1250, scale 2 -> "12.50". buf >= 32 bytes. */
void fmt_decimal(char *buf, size_t n, int64_t v, int scale);

#endif
