/* cmd_compare.c - `harness compare BASE.json HEAD.json`: what changed between two runs, as a
 * terminal table, a Markdown PR comment or JSON, and optionally an HTML page, with --fail-on
 * gates for CI. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "compare.h"
#include "rep.h"
#include "runjson.h"

const char compare_usage[] =
    "usage: harness compare BASE.json HEAD.json [--md | --json] [--html OUT] [--fail-on GATE]...\n"
    "\n"
    "Compare two run.json files scenario by scenario: a headline (better, worse, mixed, same),\n"
    "scenarios added and removed, checks that flipped, each served query's p50/p95/p99 with its\n"
    "change as a ratio (\"35.2x faster\"), the storage the solution added, latency percentiles,\n"
    "wall time, CPU, memory, cost per model and score, each with base, head, delta and delta\n"
    "percent (no percent when base is 0 or missing). The headline weighs checks first, then\n"
    "the served queries at p95 (a workload is the product: the solution's own wall time\n"
    "prepares it and counts through its cost), service latency or batch wall time, then each\n"
    "price sheet's variable month; changes within 10% count as the same.\n"
    "\n"
    "options:\n"
    "  --md               GitHub-flavoured Markdown, for a pull-request comment\n"
    "  --json             one JSON document\n"
    "  --html OUT         also write the comparison to OUT as one self-contained HTML page\n"
    "                     (both runs side by side, deltas coloured); stdout is unchanged\n"
    "  --fail-on GATE     exit 1 when GATE trips (repeatable):\n"
    "                       checks               a check newly fails in HEAD\n"
    "                       <metric>:+N%         HEAD exceeds BASE by more than N percent in any\n"
    "                                            scenario, e.g. cost.monthly.usd:+10%,\n"
    "                                            latency.e2e.p99:+20%, solution.wall.max:+20%,\n"
    "                                            query.top_products.p95:+20%;\n"
    "                                            cost.X also covers every model's cost.<model>.X\n"
    "                       score:-N             the score dropped by more than N points\n"
    "  -h, --help         this text\n"
    "\n"
    "exit codes: 0 no gate tripped, 1 a gate tripped, 2 usage error or unreadable file,\n"
    "            3 the HTML page could not be written\n";

#define GREEN "\x1b[32m"
#define RED "\x1b[31m"
#define BOLD "\x1b[1m"
#define RESET "\x1b[0m"

/* Untrusted text for a terminal: controls (escape sequences included) and invalid UTF-8 become
 * '?', at most max bytes. */
static void term_text(hx_buf *b, const char *s, size_t max)
{
    if (!s) return;
    size_t len = strlen(s), used = 0;
    for (size_t i = 0; i < len;) {
        int32_t cp;
        size_t k = hx_utf8_next(s + i, len - i, &cp);
        if (used + k > max) {
            hx_buf_puts(b, "\xe2\x80\xa6");
            return;
        }
        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
            hx_buf_putc(b, '?');
        else
            hx_buf_append(b, s + i, k);
        used += k;
        i += k;
    }
}

/* Valid UTF-8 for jansson (which refuses anything else): invalid sequences become U+FFFD. */
static json_t *jstr(const char *s)
{
    hx_buf b;
    hx_buf_init(&b);
    if (s) hx_buf_put_utf8(&b, s, strlen(s));
    json_t *j = json_stringn(b.data ? b.data : "", b.len);
    hx_buf_release(&b);
    return j;
}

static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* A number with its unit in the reports' one style (rep_value): bytes in binary units, money with
 * significant digits (never "$0.0000"), durations in s / ms / µs. */
static void fmt_num(char *out, size_t n, double v, const char *unit)
{
    if (!isfinite(v)) {
        snprintf(out, n, "-");
    } else if (unit &&
               (strcmp(unit, "bytes") == 0 || strcmp(unit, "USD") == 0 ||
                strcmp(unit, "EUR") == 0 || strcmp(unit, "GBP") == 0 || strcmp(unit, "s") == 0)) {
        rep_value(out, n, v, unit);
    } else if (unit && *unit && strlen(unit) <= 8) {
        char u[9];
        size_t k = 0;
        for (; unit[k]; k++)
            u[k] = unit[k] >= 0x21 && unit[k] < 0x7f && unit[k] != '|' && unit[k] != '`' &&
                           unit[k] != '<' && unit[k] != '&'
                       ? unit[k]
                       : '?';
        u[k] = 0;
        snprintf(out, n, "%.4g %s", v, u);
    } else {
        snprintf(out, n, "%.4g", v);
    }
}

static void fmt_delta(char *out, size_t n, double v, const char *unit)
{
    if (!isfinite(v)) {
        snprintf(out, n, "-");
        return;
    }
    char tmp[48];
    fmt_num(tmp, sizeof tmp, fabs(v), unit);
    snprintf(out, n, "%s%s", v < 0 ? "-" : v > 0 ? "+" : "", tmp);
}

static void fmt_pct(char *out, size_t n, double pct)
{
    if (isfinite(pct))
        snprintf(out, n, "%+.1f%%", pct);
    else
        snprintf(out, n, "-");
}

/* ---- terminal ---- */

/* Shown in the table of other numbers: on either side, and not in a section of its own. */
static bool in_table(const cmp_value *v)
{
    return cmp_value_shown(v) && !cmp_value_sectioned(v);
}

static const char *change_colour(int vd)
{
    return vd > 0 ? GREEN : vd < 0 ? RED : "";
}

/* The served queries: each percentile base -> head and the change as a reader says it. */
static void term_queries(hx_buf *b, const cmp_scenario *s, bool color)
{
    if (!s->nqueries) return;
    hx_buf_printf(b, "  served queries (the workload is the product; within %.0f %% is the same)\n",
                  (CMP_NOISE_RATIO - 1) * 100);
    hx_buf_printf(b, "    %-28s %-6s %12s    %-12s %s\n", "query", "", "base", "head", "change");
    for (size_t i = 0; i < s->nqueries; i++) {
        const cmp_query *q = &s->queries[i];
        const cmp_value *pv[] = {q->p50, q->p95, q->p99, q->errors};
        static const char *const pn[] = {"p50", "p95", "p99", "errors"};
        bool first = true;
        for (size_t k = 0; k < 4; k++) {
            const cmp_value *v = pv[k];
            if (!v || !cmp_value_shown(v)) continue;
            if (k == 3 && !(v->base > 0 || v->head > 0)) continue; /* no errors either side */
            char bs[64], hs[64], cs[64];
            fmt_num(bs, sizeof bs, v->base, v->unit);
            fmt_num(hs, sizeof hs, v->head, v->unit);
            int vd;
            if (k == 3) {
                vd = cmp_value_verdict(v);
                fmt_delta(cs, sizeof cs, v->delta, "");
            } else {
                vd = cmp_value_change(v, NULL);
                cmp_speed_text(cs, sizeof cs, v);
            }
            hx_buf t;
            hx_buf_init(&t);
            if (first) term_text(&t, q->name, 28);
            first = false;
            hx_buf_printf(b, "    %-28s %-6s %12s -> %-12s %s%s%s\n", t.data ? t.data : "", pn[k],
                          bs, hs, color ? change_colour(vd) : "", cs, color && vd ? RESET : "");
            hx_buf_release(&t);
        }
    }
}

/* The relations the solution added and what their storage costs a month. */
static void term_storage(hx_buf *b, const cmp_scenario *s, bool color)
{
    bool any = false;
    for (size_t i = 0; i < s->nvalues; i++)
        any |=
            strncmp(s->values[i].name, "db.solution.", 12) == 0 && cmp_value_shown(&s->values[i]);
    if (!any) return;
    hx_buf_puts(b, "  storage the solution added (its own tables, indexes, materialised views)\n");
    for (size_t k = 0; k < CMP_STORAGE_N; k++) {
        const cmp_value *v = NULL;
        for (size_t i = 0; i < s->nvalues && !v; i++)
            if (strcmp(s->values[i].name, cmp_storage_metrics[k]) == 0) v = &s->values[i];
        if (!v || !cmp_value_shown(v)) continue;
        char bs[64], hs[64], ds[64];
        fmt_num(bs, sizeof bs, v->base, v->unit);
        fmt_num(hs, sizeof hs, v->head, v->unit);
        fmt_delta(ds, sizeof ds, v->delta, v->unit);
        int vd = cmp_value_verdict(v);
        hx_buf_printf(b, "    %-35s %12s -> %-12s %s%s%s\n", cmp_storage_labels[k], bs, hs,
                      color ? change_colour(vd) : "", ds, color && vd ? RESET : "");
    }
    for (size_t i = 0; i < s->nlines; i++) {
        const cmp_cost_line *l = &s->lines[i];
        if (!cmp_line_is_storage(l) || !cmp_value_shown(&l->v)) continue;
        char bs[64], hs[64], ds[64];
        fmt_num(bs, sizeof bs, l->v.base, l->v.unit);
        fmt_num(hs, sizeof hs, l->v.head, l->v.unit);
        fmt_delta(ds, sizeof ds, l->v.delta, l->v.unit);
        hx_buf t;
        hx_buf_init(&t);
        term_text(&t, l->v.name, 24);
        hx_buf_puts(&t, ", ");
        term_text(&t, l->model, 24);
        hx_buf_printf(b, "    %-35s %12s -> %-12s %s a month", t.data ? t.data : "", bs, hs, ds);
        hx_buf_release(&t);
        if (l->kind) {
            hx_buf_puts(b, " (");
            term_text(b, l->kind, 16);
            hx_buf_puts(b, ")");
        }
        if (l->note) {
            hx_buf_puts(b, ": ");
            term_text(b, l->note, 200);
        }
        hx_buf_puts(b, "\n");
    }
}

static void term_values(hx_buf *b, const cmp_scenario *s, bool color)
{
    bool any = false;
    for (size_t i = 0; i < s->nvalues; i++)
        any |= in_table(&s->values[i]);
    if (!any) return;
    if (s->nqueries)
        hx_buf_puts(b, "  the solution's own steps and the rest (its wall time prepares what it "
                       "serves: priced in the cost, not a latency)\n");
    hx_buf_printf(b, "  %-36s %14s %14s %14s %9s\n", "metric", "base", "head", "delta", "%");
    for (size_t i = 0; i < s->nvalues; i++) {
        const cmp_value *v = &s->values[i];
        if (!in_table(v)) continue;
        char bs[64], hs[64], ds[64], ps[32];
        fmt_num(bs, sizeof bs, v->base, v->unit);
        fmt_num(hs, sizeof hs, v->head, v->unit);
        fmt_delta(ds, sizeof ds, v->delta, v->unit);
        fmt_pct(ps, sizeof ps, v->pct);
        hx_buf t;
        hx_buf_init(&t);
        term_text(&t, v->name, 36);
        int vd = cmp_value_verdict(v);
        const char *on = color && vd ? (vd > 0 ? GREEN : RED) : "", *off = color && vd ? RESET : "";
        hx_buf_printf(b, "  %-36s %14s %14s %s%14s %9s%s\n", t.data ? t.data : "", bs, hs, on, ds,
                      ps, off);
        hx_buf_release(&t);
    }
}

static void term_checks(hx_buf *b, const cmp_scenario *s, bool color)
{
    for (size_t i = 0; i < s->nchecks; i++) {
        const cmp_check *c = &s->checks[i];
        bool good = c->change == CMP_FIXED;
        hx_buf_puts(b, "  check '");
        term_text(b, c->name, 120);
        hx_buf_printf(
            b, "': %s -> %s  %s%s%s\n", c->in_base ? results_status_name(c->base) : "absent",
            c->in_head ? results_status_name(c->head) : "absent", color ? (good ? GREEN : RED) : "",
            cmp_change_names[c->change], color ? RESET : "");
    }
}

static void term_scenario(hx_buf *b, const cmp_scenario *s, bool added, bool color)
{
    hx_buf_puts(b, "\n");
    if (color) hx_buf_puts(b, BOLD);
    hx_buf_puts(b, added ? "added scenario " : "scenario ");
    term_text(b, s->name, 120);
    if (color) hx_buf_puts(b, RESET);
    if (added)
        hx_buf_printf(b, ": %s\n", results_status_name(s->head_status));
    else
        hx_buf_printf(b, ": %s -> %s\n", results_status_name(s->base_status),
                      results_status_name(s->head_status));
    term_checks(b, s, color);
    term_queries(b, s, color);
    term_storage(b, s, color);
    term_values(b, s, color);
}

static void render_term(hx_buf *b, const cmp_diff *d, const char *bp, const char *hp, bool color)
{
    hx_buf_puts(b, "base: ");
    term_text(b, bp, 200);
    hx_buf_puts(b, "\nhead: ");
    term_text(b, hp, 200);
    const cmp_headline *hl = &d->headline;
    int hv = hl->overall == CMP_BETTER ? 1 : hl->overall == CMP_WORSE ? -1 : 0;
    hx_buf_printf(b, "\nheadline: %s%s%s\n", color ? change_colour(hv) : "",
                  cmp_overall_names[hl->overall], color && hv ? RESET : "");
    hx_buf t;
    hx_buf_init(&t);
    cmp_headline_text(&t, d);
    for (char *line = t.data; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        hx_buf_puts(b, "  ");
        term_text(b, line, 400);
        hx_buf_puts(b, "\n");
        line = nl ? nl + 1 : NULL;
    }
    if (t.oom) b->oom = true;
    hx_buf_release(&t);
    char bs[64], hs[64], ds[64], ps[32];
    fmt_num(bs, sizeof bs, d->score.base, "");
    fmt_num(hs, sizeof hs, d->score.head, "");
    fmt_delta(ds, sizeof ds, d->score.delta, "");
    fmt_pct(ps, sizeof ps, d->score.pct);
    hx_buf_printf(b, "score: %s -> %s (%s, %s)\n", bs, hs, ds, ps);
    hx_buf_printf(b, "scenarios: %zu compared, %zu added, %zu removed\n", d->nscenarios, d->nadded,
                  d->nremoved);
    for (size_t i = 0; i < d->nremoved; i++) {
        hx_buf_puts(b, "removed scenario ");
        term_text(b, d->removed[i], 120);
        hx_buf_puts(b, "\n");
    }
    for (size_t i = 0; i < d->nscenarios; i++)
        term_scenario(b, &d->scenarios[i], false, color);
    for (size_t i = 0; i < d->nadded; i++)
        term_scenario(b, &d->added[i], true, color);
}

/* ---- Markdown ---- */

static const char *md_mark(int vd)
{
    return vd > 0 ? "🟢 " : vd < 0 ? "🔴 " : "";
}

static void md_queries(hx_buf *b, const cmp_scenario *s)
{
    if (!s->nqueries) return;
    hx_buf_printf(b,
                  "\n**Served queries** (the workload is the product; lower is better, within "
                  "%.0f %% is the same)\n\n| query | | base | head | change |\n"
                  "|---|---|---:|---:|---|\n",
                  (CMP_NOISE_RATIO - 1) * 100);
    for (size_t i = 0; i < s->nqueries; i++) {
        const cmp_query *q = &s->queries[i];
        const cmp_value *pv[] = {q->p50, q->p95, q->p99, q->errors};
        static const char *const pn[] = {"p50", "p95", "p99", "errors"};
        for (size_t k = 0; k < 4; k++) {
            const cmp_value *v = pv[k];
            if (!v || !cmp_value_shown(v)) continue;
            if (k == 3 && !(v->base > 0 || v->head > 0)) continue;
            char bs[64], hs[64], cs[64];
            fmt_num(bs, sizeof bs, v->base, v->unit);
            fmt_num(hs, sizeof hs, v->head, v->unit);
            int vd;
            if (k == 3) {
                vd = cmp_value_verdict(v);
                fmt_delta(cs, sizeof cs, v->delta, "");
            } else {
                vd = cmp_value_change(v, NULL);
                cmp_speed_text(cs, sizeof cs, v);
            }
            hx_buf_puts(b, "| ");
            rep_md_cell(b, q->name, 80);
            hx_buf_printf(b, " | %s | ", pn[k]);
            rep_md_cell(b, bs, 0);
            hx_buf_puts(b, " | ");
            rep_md_cell(b, hs, 0);
            hx_buf_printf(b, " | %s", md_mark(vd));
            rep_md_cell(b, cs, 0);
            hx_buf_puts(b, " |\n");
        }
    }
}

static void md_storage(hx_buf *b, const cmp_scenario *s)
{
    bool open = false;
    for (size_t k = 0; k < CMP_STORAGE_N; k++) {
        const cmp_value *v = NULL;
        for (size_t i = 0; i < s->nvalues && !v; i++)
            if (strcmp(s->values[i].name, cmp_storage_metrics[k]) == 0) v = &s->values[i];
        if (!v || !cmp_value_shown(v)) continue;
        if (!open)
            hx_buf_puts(b, "\n**Storage the solution added** (its own tables, indexes and "
                           "materialised views; the storage lines of each price sheet, a month)"
                           "\n\n| its own | base | head | Δ | |\n|---|---:|---:|---:|---|\n");
        open = true;
        char bs[64], hs[64], ds[64];
        fmt_num(bs, sizeof bs, v->base, v->unit);
        fmt_num(hs, sizeof hs, v->head, v->unit);
        fmt_delta(ds, sizeof ds, v->delta, v->unit);
        hx_buf_printf(b, "| %s | %s | %s | %s | |\n", cmp_storage_labels[k], bs, hs, ds);
    }
    if (!open) return;
    for (size_t i = 0; i < s->nlines; i++) {
        const cmp_cost_line *l = &s->lines[i];
        if (!cmp_line_is_storage(l) || !cmp_value_shown(&l->v)) continue;
        char bs[64], hs[64], ds[64];
        fmt_num(bs, sizeof bs, l->v.base, l->v.unit);
        fmt_num(hs, sizeof hs, l->v.head, l->v.unit);
        fmt_delta(ds, sizeof ds, l->v.delta, l->v.unit);
        hx_buf_puts(b, "| ");
        rep_md_cell(b, l->v.name, 80);
        hx_buf_puts(b, ", ");
        rep_md_cell(b, l->model, 80);
        hx_buf_puts(b, " | ");
        rep_md_cell(b, bs, 0);
        hx_buf_puts(b, " | ");
        rep_md_cell(b, hs, 0);
        hx_buf_puts(b, " | ");
        rep_md_cell(b, ds, 0);
        hx_buf_puts(b, " | ");
        if (l->kind) rep_md_cell(b, l->kind, 16);
        if (l->note) {
            hx_buf_puts(b, ": ");
            rep_md_cell(b, l->note, REP_MD_CELL_MAX);
        }
        hx_buf_puts(b, " |\n");
    }
}

static void md_values(hx_buf *b, const cmp_scenario *s)
{
    bool any = false;
    for (size_t i = 0; i < s->nvalues; i++)
        any |= in_table(&s->values[i]);
    if (!any) return;
    if (s->nqueries)
        hx_buf_puts(b, "\n**The solution's own steps and the rest** (its wall time prepares "
                       "what it serves: priced in the cost, not a latency)\n");
    hx_buf_puts(b, "\n| metric | base | head | Δ | Δ% | |\n|---|---:|---:|---:|---:|---|\n");
    for (size_t i = 0; i < s->nvalues; i++) {
        const cmp_value *v = &s->values[i];
        if (!in_table(v)) continue;
        char bs[64], hs[64], ds[64], ps[32];
        fmt_num(bs, sizeof bs, v->base, v->unit);
        fmt_num(hs, sizeof hs, v->head, v->unit);
        fmt_delta(ds, sizeof ds, v->delta, v->unit);
        fmt_pct(ps, sizeof ps, v->pct);
        int vd = cmp_value_verdict(v);
        hx_buf_puts(b, "| ");
        rep_md_cell(b, v->name, 80);
        hx_buf_puts(b, " | ");
        rep_md_cell(b, bs, 0);
        hx_buf_puts(b, " | ");
        rep_md_cell(b, hs, 0);
        hx_buf_puts(b, " | ");
        rep_md_cell(b, ds, 0);
        hx_buf_printf(b, " | %s | %s |\n", ps, vd > 0 ? "🟢" : vd < 0 ? "🔴" : "");
    }
}

static void md_scenario(hx_buf *b, const cmp_scenario *s, bool added)
{
    hx_buf_puts(b, added ? "\n### Added scenario " : "\n### Scenario ");
    rep_md_cell(b, s->name, REP_MD_CELL_MAX);
    if (added)
        hx_buf_printf(b, " (%s)\n", results_status_name(s->head_status));
    else
        hx_buf_printf(b, " (%s → %s)\n", results_status_name(s->base_status),
                      results_status_name(s->head_status));
    if (s->nchecks) {
        hx_buf_puts(b, "\n| check | base | head | change |\n|---|---|---|---|\n");
        for (size_t i = 0; i < s->nchecks; i++) {
            const cmp_check *c = &s->checks[i];
            hx_buf_puts(b, "| ");
            rep_md_cell(b, c->name, REP_MD_CELL_MAX);
            hx_buf_printf(b, " | %s | %s | %s %s |\n",
                          c->in_base ? results_status_name(c->base) : "absent",
                          c->in_head ? results_status_name(c->head) : "absent",
                          c->change == CMP_FIXED ? "✅" : "❌", cmp_change_names[c->change]);
        }
    }
    md_queries(b, s);
    md_storage(b, s);
    md_values(b, s);
}

static void render_md(hx_buf *b, const cmp_diff *d, const hx_buf *gates)
{
    char bs[64], hs[64], ds[64], ps[32];
    fmt_num(bs, sizeof bs, d->score.base, "");
    fmt_num(hs, sizeof hs, d->score.head, "");
    fmt_delta(ds, sizeof ds, d->score.delta, "");
    fmt_pct(ps, sizeof ps, d->score.pct);
    hx_buf_printf(b, "## harness compare\n\n**Score:** %s → %s (%s, %s)  \n", bs, hs, ds, ps);
    hx_buf_printf(b, "**Scenarios:** %zu compared, %zu added, %zu removed\n", d->nscenarios,
                  d->nadded, d->nremoved);
    const cmp_headline *hl = &d->headline;
    int hv = hl->overall == CMP_BETTER ? 1 : hl->overall == CMP_WORSE ? -1 : 0;
    hx_buf_printf(b, "\n**Headline: %s%s**\n\n", md_mark(hv), cmp_overall_names[hl->overall]);
    hx_buf t;
    hx_buf_init(&t);
    cmp_headline_text(&t, d);
    for (char *line = t.data; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        /* a sheet's own figure is a nested item */
        hx_buf_puts(b, strncmp(line, "  ", 2) == 0 ? "  - " : "- ");
        rep_md_cell(b, line + (strncmp(line, "  ", 2) == 0 ? 2 : 0), 400);
        hx_buf_puts(b, "\n");
        line = nl ? nl + 1 : NULL;
    }
    if (t.oom) b->oom = true;
    hx_buf_release(&t);
    if (gates->len) {
        hx_buf_puts(b, "\n### Gates\n\n");
        hx_buf_append(b, gates->data, gates->len);
    }
    for (size_t i = 0; i < d->nremoved; i++) {
        hx_buf_puts(b, i ? ", " : "\n**Removed:** ");
        rep_md_cell(b, d->removed[i], REP_MD_CELL_MAX);
        if (i + 1 == d->nremoved) hx_buf_puts(b, "\n");
    }
    for (size_t i = 0; i < d->nscenarios; i++)
        md_scenario(b, &d->scenarios[i], false);
    for (size_t i = 0; i < d->nadded; i++)
        md_scenario(b, &d->added[i], true);
}

/* ---- JSON ---- */

static json_t *json_value(const cmp_value *v)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", jstr(v->name));
    json_object_set_new(o, "unit", jstr(v->unit));
    json_object_set_new(o, "base", jnum(v->base));
    json_object_set_new(o, "head", jnum(v->head));
    json_object_set_new(o, "delta", jnum(v->delta));
    json_object_set_new(o, "delta_pct", jnum(v->pct));
    json_object_set_new(o, "better",
                        json_string(v->better == CMP_HIGHER_BETTER ? "higher" : "lower"));
    return o;
}

static json_t *json_scenario(const cmp_scenario *s, bool added)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", jstr(s->name));
    json_object_set_new(o, "base_status",
                        added ? json_null() : json_string(results_status_name(s->base_status)));
    json_object_set_new(o, "head_status", json_string(results_status_name(s->head_status)));
    json_t *cs = json_array();
    for (size_t i = 0; i < s->nchecks; i++) {
        const cmp_check *c = &s->checks[i];
        json_t *co = json_object();
        json_object_set_new(co, "name", jstr(c->name));
        json_object_set_new(co, "base",
                            c->in_base ? json_string(results_status_name(c->base)) : json_null());
        json_object_set_new(co, "head",
                            c->in_head ? json_string(results_status_name(c->head)) : json_null());
        json_object_set_new(co, "change", json_string(cmp_change_names[c->change]));
        json_array_append_new(cs, co);
    }
    json_object_set_new(o, "checks", cs);
    json_t *vs = json_array();
    for (size_t i = 0; i < s->nvalues; i++)
        if (cmp_value_shown(&s->values[i])) json_array_append_new(vs, json_value(&s->values[i]));
    json_object_set_new(o, "values", vs);
    json_t *qs = json_array();
    for (size_t i = 0; i < s->nqueries; i++) {
        const cmp_query *q = &s->queries[i];
        json_t *qo = json_object();
        json_object_set_new(qo, "name", jstr(q->name));
        const cmp_value *pv[] = {q->p50, q->p95, q->p99};
        static const char *const pn[] = {"p50", "p95", "p99"};
        for (size_t k = 0; k < 3; k++) {
            if (!pv[k]) continue;
            double ratio;
            int vd = cmp_value_change(pv[k], &ratio);
            char cs[64];
            cmp_speed_text(cs, sizeof cs, pv[k]);
            json_t *po = json_object();
            json_object_set_new(po, "base", jnum(pv[k]->base));
            json_object_set_new(po, "head", jnum(pv[k]->head));
            json_object_set_new(po, "ratio", jnum(ratio));
            json_object_set_new(po, "change", json_string(cs));
            json_object_set_new(po, "verdict",
                                json_string(vd > 0   ? "better"
                                            : vd < 0 ? "worse"
                                                     : "same"));
            json_object_set_new(qo, pn[k], po);
        }
        if (q->errors) {
            json_object_set_new(qo, "errors_base", jnum(q->errors->base));
            json_object_set_new(qo, "errors_head", jnum(q->errors->head));
        }
        json_array_append_new(qs, qo);
    }
    json_object_set_new(o, "queries", qs);
    json_t *ls = json_array();
    for (size_t i = 0; i < s->nlines; i++) {
        const cmp_cost_line *l = &s->lines[i];
        json_t *lo = json_value(&l->v);
        json_object_set_new(lo, "model", jstr(l->model));
        json_object_set_new(lo, "kind", l->kind ? jstr(l->kind) : json_null());
        json_object_set_new(lo, "storage", json_boolean(cmp_line_is_storage(l)));
        json_array_append_new(ls, lo);
    }
    json_object_set_new(o, "cost_lines", ls);
    return o;
}

static json_t *json_tally(const cmp_tally *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "better", json_integer((json_int_t)t->better));
    json_object_set_new(o, "worse", json_integer((json_int_t)t->worse));
    json_object_set_new(o, "same", json_integer((json_int_t)t->same));
    return o;
}

static json_t *json_headline(const cmp_headline *hl)
{
    json_t *o = json_object();
    json_object_set_new(o, "overall", json_string(cmp_overall_names[hl->overall]));
    json_object_set_new(o, "checks_newly_failing", json_integer((json_int_t)hl->checks_worse));
    json_object_set_new(o, "checks_fixed", json_integer((json_int_t)hl->checks_fixed));
    json_object_set_new(o, "queries_p95", json_tally(&hl->queries));
    json_object_set_new(o, "latency_e2e_p99", json_tally(&hl->latency));
    json_object_set_new(o, "batch_wall", json_tally(&hl->wall));
    json_object_set_new(o, "variable_monthly_cost", json_tally(&hl->cost));
    json_object_set_new(o, "solution_steps_wall_base", jnum(hl->prep_base));
    json_object_set_new(o, "solution_steps_wall_head", jnum(hl->prep_head));
    return o;
}

static char *render_json(const cmp_diff *d, const char *bp, const char *hp, json_t *gates)
{
    json_t *o = json_object();
    json_object_set_new(o, "schema", json_string("harness.compare/1"));
    json_object_set_new(o, "base", jstr(bp));
    json_object_set_new(o, "head", jstr(hp));
    json_object_set_new(o, "headline", json_headline(&d->headline));
    json_object_set_new(o, "score", json_value(&d->score));
    json_t *a = json_array();
    for (size_t i = 0; i < d->nscenarios; i++)
        json_array_append_new(a, json_scenario(&d->scenarios[i], false));
    json_object_set_new(o, "scenarios", a);
    a = json_array();
    for (size_t i = 0; i < d->nadded; i++)
        json_array_append_new(a, json_scenario(&d->added[i], true));
    json_object_set_new(o, "added", a);
    a = json_array();
    for (size_t i = 0; i < d->nremoved; i++)
        json_array_append_new(a, jstr(d->removed[i]));
    json_object_set_new(o, "removed", a);
    json_object_set(o, "gates", gates);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    json_decref(o);
    return s;
}

/* ---- the command ---- */

enum { FMT_TERM, FMT_MD, FMT_JSON };

static int load(const char *path, results_run **out)
{
    hx_err e = {0};
    if (runjson_read(path, out, &e) != 0) {
        hx_error("%s", e.msg);
        return HX_EXIT_USAGE;
    }
    return 0;
}

int cmd_compare(int argc, char **argv)
{
    static const struct option opts[] = {
        {"md", no_argument, NULL, 'm'},         {"json", no_argument, NULL, 'j'},
        {"html", required_argument, NULL, 'H'}, {"fail-on", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    int fmt = FMT_TERM, rc = HX_EXIT_OK, c;
    cmp_gate *gates = NULL;
    size_t ngates = 0;
    const char *html = NULL;
    results_run *base = NULL, *head = NULL;
    cmp_diff d = {0};
    bool built = false;
    hx_buf out, md_gates;
    hx_buf_init(&out);
    hx_buf_init(&md_gates);
    json_t *jgates = json_array();

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
        case 'j':
            if (fmt != FMT_TERM) {
                hx_error("--md and --json are exclusive");
                rc = HX_EXIT_USAGE;
                goto done;
            }
            fmt = c == 'm' ? FMT_MD : FMT_JSON;
            break;
        case 'H':
            html = optarg;
            break;
        case 'f': {
            cmp_gate *p = hx_realloc(gates, (ngates + 1) * sizeof *p);
            if (!p) {
                hx_error("out of memory");
                rc = HX_EXIT_INFRA;
                goto done;
            }
            gates = p;
            hx_err e = {0};
            if (cmp_gate_parse(optarg, &gates[ngates], &e) != 0) {
                hx_error("%s", e.msg);
                rc = HX_EXIT_USAGE;
                goto done;
            }
            ngates++;
            break;
        }
        case 'h':
            fputs(compare_usage, stdout);
            goto done;
        default:
            hx_error("compare: unknown or incomplete option '%s'; see 'harness help compare'",
                     argv[optind - 1]);
            rc = HX_EXIT_USAGE;
            goto done;
        }
    }
    if (argc - optind != 2) {
        hx_error("compare: expected BASE.json and HEAD.json; see 'harness help compare'");
        rc = HX_EXIT_USAGE;
        goto done;
    }
    const char *bp = argv[optind], *hp = argv[optind + 1];
    if ((rc = load(bp, &base)) != 0 || (rc = load(hp, &head)) != 0) goto done;
    hx_err e = {0};
    if (cmp_diff_build(&d, base, head, &e) != 0) {
        hx_error("%s", e.msg);
        rc = HX_EXIT_INFRA;
        goto done;
    }
    built = true;

    int tripped = 0;
    for (size_t i = 0; i < ngates; i++) {
        hx_buf why;
        hx_buf_init(&why);
        bool t = cmp_gate_eval(&gates[i], &d, &why);
        tripped += t;
        json_t *go = json_object();
        json_object_set_new(go, "gate", jstr(gates[i].text));
        json_object_set_new(go, "tripped", json_boolean(t));
        json_t *reasons = json_array();
        hx_buf_printf(&md_gates, "- %s `", t ? "❌" : "✅");
        for (const char *g = gates[i].text; *g; g++)
            hx_buf_putc(&md_gates, *g == '`' || (unsigned char)*g < 0x20 ? '?' : *g);
        hx_buf_printf(&md_gates, "` %s\n", t ? "tripped" : "passed");
        for (char *line = why.data; line && *line;) {
            char *nl = strchr(line, '\n');
            if (nl) *nl = 0;
            json_array_append_new(reasons, jstr(line));
            hx_buf_puts(&md_gates, "  - ");
            rep_md_cell(&md_gates, line, 400);
            hx_buf_puts(&md_gates, "\n");
            hx_buf t2;
            hx_buf_init(&t2);
            term_text(&t2, line, 400);
            hx_error("gate '%s' tripped: %s", gates[i].text, t2.data ? t2.data : "");
            hx_buf_release(&t2);
            line = nl ? nl + 1 : NULL;
        }
        json_object_set_new(go, "reasons", reasons);
        json_array_append_new(jgates, go);
        hx_buf_release(&why);
    }

    if (fmt == FMT_JSON) {
        char *s = render_json(&d, bp, hp, jgates);
        if (!s) {
            hx_error("out of memory");
            rc = HX_EXIT_INFRA;
            goto done;
        }
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    } else {
        if (fmt == FMT_MD) {
            render_md(&out, &d, &md_gates);
        } else {
            const char *nc = getenv("NO_COLOR");
            render_term(&out, &d, bp, hp, !(nc && *nc) && isatty(STDOUT_FILENO));
        }
        if (out.oom) {
            hx_error("out of memory");
            rc = HX_EXIT_INFRA;
            goto done;
        }
        fwrite(out.data ? out.data : "", 1, out.len, stdout);
    }
    rc = tripped ? HX_EXIT_CHECK : HX_EXIT_OK;
    if (html) {
        cmp_html_input in = {.base = base,
                             .head = head,
                             .base_path = bp,
                             .head_path = hp,
                             .diff = &d,
                             .gates = gates,
                             .ngates = ngates};
        int wrc = cmp_html_write(&in, html, &e);
        if (wrc) {
            hx_error("compare: %s", e.msg);
            rc = hx_exit_code(wrc);
        }
    }
done:
    json_decref(jgates);
    hx_buf_release(&out);
    hx_buf_release(&md_gates);
    if (built) cmp_diff_release(&d);
    results_run_free(base);
    results_run_free(head);
    hx_free(gates);
    return rc;
}
