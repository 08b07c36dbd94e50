/* rep.h - report writers: JUnit XML (junit.c), the Markdown summary (markdown.c), report.html
 * (html.c) and the text escaping they share (xmlesc.c). Each renders a settled results_run
 * (results_run_settle) and never changes it. Every string from the model is treated as
 * untrusted: invalid UTF-8 and characters the output format cannot carry become U+FFFD, and
 * lengths are capped.
 *
 * Ownership: renderers append to a caller-owned hx_buf; the run is only borrowed. */
#ifndef HX_REP_H
#define HX_REP_H

#include "results.h"
#include "util.h"

/* ---- XML-safe text (xmlesc.c) ---- */

/* Append s as XML character data: & < > " ' escaped, \r kept as &#13;, and C0 controls other
 * than \t \n \r, U+FFFE, U+FFFF and invalid UTF-8 (lone surrogates included) replaced with U+FFFD.
 * At most max bytes of s are used (0: all); a cut ends in "…". NULL appends nothing. */
bool rep_xml_text(hx_buf *out, const char *s, size_t max);
/* Like rep_xml_text, for an attribute value: \t \n \r are also written as character references
 * so attribute-value normalisation does not eat them. */
bool rep_xml_attr(hx_buf *out, const char *s, size_t max);
/* Append s as one CDATA section ("<![CDATA[...]]>"), every "]]>" split across two sections and
 * characters XML cannot carry replaced as in rep_xml_text. Nothing is escaped otherwise. */
bool rep_xml_cdata(hx_buf *out, const char *s, size_t max);
/* Where to start s so that at most max bytes remain, on a UTF-8 boundary: for log tails, whose
 * end is what matters. */
const char *rep_tail(const char *s, size_t max);
/* The end of the first max bytes of s (len bytes; max 0 = all), backed off to a UTF-8 boundary:
 * how every escaper caps a string. */
size_t rep_utf8_cut(const char *s, size_t len, size_t max);

/* What the escapers write for a character the format cannot carry, and after a cut. */
#define REP_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */
#define REP_ELLIPSIS "\xe2\x80\xa6"    /* U+2026 */

/* ---- numbers in one human style (units.c) ----
 * Each writes plain text into buf (n bytes; 64 is enough) for the caller to escape. NaN and
 * infinities are "n/a", with no unit. */

/* v with `digits` significant digits, no exponent between 1e-9 and 1e15, trailing zeros trimmed:
 * 41.5, 0.357, 1235. */
void rep_sig(char *buf, size_t n, double v, int digits);
/* Seconds as "12 µs", "350 ms", "1.2 s", "4500 s". */
void rep_duration(char *buf, size_t n, double s);
/* Bytes in binary units: "512 MiB", "1.5 GiB", "100 B". */
void rep_bytes(char *buf, size_t n, double b);
/* Money: two decimals from 1 up ("12.35 USD"), three significant digits below ("0.00123 USD"),
 * "0 USD" for zero; currency (capped, may be NULL) appended. */
void rep_money(char *buf, size_t n, double v, const char *currency);
/* A value in its unit: "s", "bytes" and currencies as above; integers as integers; else four
 * significant digits and the unit (capped at 24 bytes). */
void rep_value(char *buf, size_t n, double v, const char *unit);
/* A percentage: "45 %". */
void rep_percent(char *buf, size_t n, double pct);

/* The pack's cost under one price sheet: the mean of its scenarios' figures (NAN when none had
 * one); model and currency borrow the run's strings. */
typedef struct rep_cost_mean {
    const char *model;       /* the sheet's name (borrowed) */
    const char *currency;    /* its currency (borrowed, may be NULL) */
    double per_run;          /* per production run */
    double monthly;          /* a production month */
    double monthly_fixed;    /* its fixed lines */
    double monthly_variable; /* its variable lines */
} rep_cost_mean;
#define REP_COST_MEANS_MAX 32
/* Fill out[0..] with one entry per sheet in r, in first-seen order (at most max, itself at most
 * REP_COST_MEANS_MAX); returns how many (costsum.c). */
size_t rep_cost_means(const results_run *r, rep_cost_mean *out, size_t max);
/* The value of sc's metric name, NAN when it has none. */
double rep_metric(const results_scenario *sc, const char *name);
/* The CPU of the system under test: the solution's own (solution.cpu.total), the database's on
 * its steps (db.cpu.solution) and serving its workload (db.cpu.workload), each NAN when not
 * measured. True when the solution's and at least one database figure are there to show. */
bool rep_cpu_split(const results_scenario *sc, double *own, double *db, double *served);
/* Append how an invocation ended, as plain text (the signal name is model text: escape the
 * result): "exited with 3 after 1.2 s", "killed by SIGSEGV after 40 ms", "timed out after
 * 2 s", with "; left 2 processes running ..." when it left any. */
void rep_invocation_outcome(hx_buf *b, const results_invocation *iv);

/* ---- JUnit (junit.c) ---- */

/* Caps on untrusted text in JUnit, in bytes of input. */
#define REP_JUNIT_MESSAGE_MAX 1024     /* failure/error/skipped message attribute */
#define REP_JUNIT_BODY_MAX (16 * 1024) /* failure/error text: expected, actual, samples */
#define REP_JUNIT_LOG_MAX (64 * 1024)  /* each of system-out / system-err per scenario */

/* Render r as JUnit XML in the dialect of docs/junit.md (schema: docs/junit-harness.xsd, which
 * Jenkins xUnit's junit-10.xsd also accepts): a <testsuites> root with a name and no counts, a
 * <testsuite> per scenario whose counts equal results_counts_of(), a <testcase> per check, per
 * threshold and per scenario error. Returns false when out of memory. */
bool rep_junit_render(hx_buf *out, const results_run *r);
/* Render and write atomically to path. Returns 0 or a negative hx code. */
int rep_junit_write(const results_run *r, const char *path, hx_err *e);

/* ---- Markdown (markdown.c) ---- */

#define REP_MD_CELL_MAX 200  /* bytes of untrusted text per table cell */
#define REP_MD_TOP_METRICS 8 /* metrics shown per scenario */
#define REP_MD_SAMPLE_ROWS 5 /* sample rows shown per failing check */
#define REP_MD_LOG_LINES 20  /* lines of a failed invocation's log tail */
#define REP_MD_LOG_MAX 2048  /* bytes of that tail */

/* Append s escaped for one GitHub-flavoured Markdown table cell: | ` \ * _ [ ] ~ escaped, < > &
 * as entities, newlines and tabs as spaces, @ kept from pinging anyone, invalid UTF-8 and control
 * characters as U+FFFD; at most max bytes (0: all), a cut ends in "…". NULL appends "". */
bool rep_md_cell(hx_buf *out, const char *s, size_t max);
/* Render r as the summary Markdown: verdict line, score, an overview table, then per scenario its
 * checks, thresholds, cost per model and top metrics. max_bytes (0: no limit; 65536 fits a PR
 * comment, 1 MiB a step summary) bounds the output: scenarios that do not fit are listed as
 * omitted, failing scenarios first. Returns false when out of memory. */
bool rep_markdown_render(hx_buf *out, const results_run *r, size_t max_bytes);
/* Render and write atomically to path. */
int rep_markdown_write(const results_run *r, const char *path, size_t max_bytes, hx_err *e);

/* ---- HTML (html.c) ---- */

#define REP_HTML_LOG_MAX (16 * 1024) /* bytes of each solution log tail shown */

/* Append s as HTML text, safe in element content and in a quoted attribute: & < > " ' escaped,
 * CRLF as LF, other C0/C1 controls (but \t \n), noncharacters and invalid UTF-8 as U+FFFD. At
 * most max bytes of s are used (0: all); a cut ends in "…". NULL appends nothing. */
bool rep_html_text(hx_buf *out, const char *s, size_t max);
/* Render r as report.html: one self-contained page (inline CSS, JS and SVG; nothing fetched) with
 * the header, verdict, score, cost per model and a section per scenario (checks, thresholds,
 * invocations and log tails, histogram and resource charts, cost breakdown, score). Model text
 * never lands in the script. Returns false when out of memory. */
bool rep_html_render(hx_buf *out, const results_run *r);
/* Render and write atomically to path. Returns 0 or a negative hx code. */
int rep_html_write(const results_run *r, const char *path, hx_err *e);

/* Building blocks for other pages in the same shell and theme (the compare page). */

/* Writes one part of a page (the <title> text or the <body> content) from ctx. */
typedef void (*rep_html_fill)(hx_buf *out, const void *ctx);
/* Expand the embedded template.html: style.css and app.js inline, title and body from the
 * callbacks. Returns false when out of memory. */
bool rep_html_page(hx_buf *out, rep_html_fill title, rep_html_fill body, const void *ctx);
/* rep_html_page, written atomically to path. Returns 0 or a negative hx code. */
int rep_html_page_write(const char *path, rep_html_fill title, rep_html_fill body, const void *ctx,
                        hx_err *e);
/* A number in its unit: "s" as s/ms/µs, "bytes" as MB/GB, "USD" as money, else "%.4g unit"
 * (the unit escaped); NAN and infinities as "n/a". */
void rep_html_val(hx_buf *out, double v, const char *unit);
/* A status name in its colour: <span class="st-fail">fail</span>. */
void rep_html_status(hx_buf *out, results_status s);
/* A <td> with s escaped (at most max bytes), or a dimmed dash for NULL. */
void rep_html_td(hx_buf *out, const char *s, size_t max);
/* The controls app.js shows when JavaScript runs: a filter checkbox labelled filter (trusted
 * text) that hides rows of class "ok", and expand / collapse all details.scenario. */
void rep_html_controls(hx_buf *out, const char *filter);

#endif
