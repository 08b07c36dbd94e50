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

/* The header line for batch `batch` (CSV column names with drift applied; nothing for JSONL). */
bool fmt_header(hx_buf *out, const plan_dataset *ds, plan_format f, uint32_t batch);
/* One record line, ending in '\n', with drift (by r->batch) and r->corrupt applied. */
bool fmt_record(hx_buf *out, const plan_dataset *ds, plan_format f, const gen_record *r);
/* One value as text, clean (no corruption): what a correct sink would hold. NULL appends nothing
 * and returns false in *is_null. */
bool fmt_value(hx_buf *out, const plan_column *col, const gen_value *v);
/* Format microseconds since the epoch as ISO 8601 UTC into buf (>= 32 bytes). */
void fmt_timestamp(char *buf, size_t n, int64_t us);
/* Format a scaled decimal: 1250, scale 2 -> "12.50". buf >= 32 bytes. */
void fmt_decimal(char *buf, size_t n, int64_t v, int scale);

#endif
