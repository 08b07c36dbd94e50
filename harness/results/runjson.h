/* runjson.h - run.json and the run journal: the canonical, versioned file form of a results_run
 * ("schema": "harness.run/1"), and the crash-safe journal (run.journal.jsonl) that is appended as
 * each scenario ends so an interrupted run still leaves a report.
 *
 * The reader is defensive: compare and merge read files from other machines, so every field is
 * type-checked, unknown keys are ignored, missing keys take their zero value (NaN for numbers
 * written as null), and an error names the file and the JSON path
 * ("scenarios[2].checks[0].status"). Strings that are not valid UTF-8 in the model are written with
 * U+FFFD in their place.
 *
 * Journal format: line 1 {"journal": "harness.run/1", "run": {<run without scenarios>}}, then one
 * line {"scenario": {...}} per finished scenario. Each line is one write(2) on an O_APPEND file
 * followed by fdatasync, so lines from parallel scenarios do not interleave.
 *
 * Ownership: runs handed out are the caller's (results_run_free); dumped text is the caller's
 * (hx_free); a journal is closed with runjson_journal_close. */
#ifndef HX_RUNJSON_H
#define HX_RUNJSON_H

#include "results.h"

/* Serialise r as JSON text (pretty: 2-space indent and a final newline; else one line without
 * a newline). Returns NULL and fills e when out of memory. Free with hx_free. */
char *runjson_dump(const results_run *r, bool pretty, hx_err *e);
/* Write r to path atomically (temp file, fsync, rename). Returns 0 or a negative hx code. */
int runjson_write(const results_run *r, const char *path, hx_err *e);
/* Parse run.json text (len bytes, need not be NUL-terminated); name is used in messages. On
 * success *out is a new run. Returns 0, HX_EUSAGE for a malformed or foreign file, HX_ENOMEM. */
int runjson_parse(const char *text, size_t len, const char *name, results_run **out, hx_err *e);
/* Read and parse the file at path. */
int runjson_read(const char *path, results_run **out, hx_err *e);

typedef struct runjson_journal runjson_journal; /* an open journal, opaque */

/* Create (truncate) the journal at path and write the run header (r's scenarios are not
 * written). Returns 0 or a negative hx code; *out is closed with runjson_journal_close. */
int runjson_journal_open(const char *path, const results_run *r, runjson_journal **out, hx_err *e);
/* Append one finished scenario and make it durable. Safe to call from several threads. */
int runjson_journal_append(runjson_journal *j, const results_scenario *sc, hx_err *e);
/* Close the journal (the file stays). NULL is fine. */
void runjson_journal_close(runjson_journal *j);
/* Rebuild a run from journal text: the header plus every complete scenario line. A last line that
 * is torn (the writer died mid-line) is dropped and counted in *torn (may be NULL); a bad line
 * anywhere else is an error naming its line number. The run comes back settled, with partial set
 * and finished NULL. */
int runjson_journal_parse(const char *text, size_t len, const char *name, results_run **out,
                          size_t *torn, hx_err *e);
/* Read and parse the journal at path. */
int runjson_journal_read(const char *path, results_run **out, size_t *torn, hx_err *e);

#endif
