/* fmt.h - serialising generated records as a source would carry them: CSV (RFC 4180) and JSONL.
 * This is where format-level faults become bytes: schema drift changes the header and the fields
 * from its batch on; corrupt records are truncated, mistyped, carry invalid UTF-8, or gain or lose
 * a field. Timestamps are ISO 8601 UTC with microseconds ("2026-01-02T03:04:05.123456Z"), decimals
 * are exact ("12.50"), NULL is an empty unquoted CSV field or JSON null.
 *
 * Ownership: output is appended to a caller-owned hx_buf. */
#ifndef HX_FMT_H
#define HX_FMT_H

#include "gen.h"

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
/* Format microseconds since the epoch as ISO 8601 UTC into buf (>= 32 bytes). */
void fmt_timestamp(char *buf, size_t n, int64_t us);
/* Format a scaled decimal: 1250, scale 2 -> "12.50". buf >= 32 bytes. */
void fmt_decimal(char *buf, size_t n, int64_t v, int scale);

#endif
