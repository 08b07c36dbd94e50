/* compare_html.c - the compare page: base and head side by side, in report.html's shell and theme
 * (reports/html/, embedded at build time; rep_html_page). Every string from the runs or the
 * command line goes through rep_html_text; attributes only ever carry trusted words and numbers,
 * and nothing is written into the script. Colour says better or worse, the direction comes from
 * each value's cmp_better; a bold "worse" keeps the meaning in a black-and-white print. */
#include <math.h>
#include <string.h>

#include "compare.h"
#include "rep.h"

#define TXT(out, s, max) rep_html_text((out), (s), (max))
#define DOT " \xc2\xb7 "
#define ARROW " \xe2\x86\x92 "
#define DASH "<span class=\"null\">\xe2\x80\x94</span>"

#define NAME_MAX_BYTES 300  /* scenario and check names */
#define TEXT_MAX_BYTES 1000 /* expected, actual */
#define MSG_MAX_BYTES 2000  /* check messages */

static const char *dir_class(int vd)
{
    return vd > 0 ? "d-better" : vd < 0 ? "d-worse" : "d-same";
}

/* ---- numbers ---- */

static void put_delta(hx_buf *out, const cmp_value *v)
{
    if (!isfinite(v->delta)) {
        hx_buf_puts(out, DASH);
        return;
    }
    if (v->delta != 0) hx_buf_putc(out, v->delta > 0 ? '+' : '-');
    rep_html_val(out, fabs(v->delta), v->unit);
}

static void put_pct(hx_buf *out, const cmp_value *v)
{
    if (isfinite(v->pct))
        hx_buf_printf(out, "%+.1f%%", v->pct);
    else
        hx_buf_puts(out, DASH);
}

/* Two horizontal bars, base above head, on a shared linear scale from zero. */
static void bar_pair(hx_buf *out, const cmp_value *v)
{
    const int W = 140, H = 18, BH = 7;
    double m = 0;
    if (isfinite(v->base)) m = fmax(m, fabs(v->base));
    if (isfinite(v->head)) m = fmax(m, fabs(v->head));
    hx_buf_printf(out,
                  "<svg class=\"bars\" data-chart=\"bar-pair\" role=\"img\" width=\"%d\" "
                  "height=\"%d\" viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\">",
                  W, H, W, H);
    const double x[2] = {v->base, v->head};
    for (int k = 0; k < 2; k++) {
        double w = m > 0 && isfinite(x[k]) ? (W - 2) * fabs(x[k]) / m : 0;
        if (w > 0 && w < 1) w = 1;
        hx_buf_printf(out,
                      "<rect class=\"%s%s\" x=\"1\" y=\"%d\" width=\"%.1f\" height=\"%d\">"
                      "<title>%s ",
                      k ? "b-head " : "b-base", k ? dir_class(cmp_value_verdict(v)) : "",
                      k ? H - BH - 1 : 1, w, BH, k ? "head" : "base");
        rep_html_val(out, x[k], v->unit);
        hx_buf_puts(out, "</title></rect>");
    }
    hx_buf_puts(out, "</svg>");
}

/* Numbers worth a bar pair: the ones a reviewer weighs first. */
static bool key_value(const char *n)
{
    size_t len = strlen(n);
    return strcmp(n, "score") == 0 || strcmp(n, "solution.wall.max") == 0 ||
           strcmp(n, "solution.cpu.total") == 0 || strcmp(n, "solution.rss.peak") == 0 ||
           (len > 4 && strcmp(n + len - 4, ".p99") == 0) ||
           (strncmp(n, "cost.", 5) == 0 && strstr(n, ".monthly.") != NULL);
}

static void table_head(hx_buf *out)
{
    hx_buf_puts(out, "<table class=\"deltas\"><tr><th>metric</th><th>base</th><th>head</th>"
                     "<th>\xce\x94</th><th>\xce\x94%</th><th></th></tr>");
}

/* One row; unchanged rows are "ok" so the "only changes" filter hides them. */
static void value_row(hx_buf *out, const cmp_value *v, bool bars)
{
    int vd = cmp_value_verdict(v);
    hx_buf_printf(out, "<tr class=\"value%s\">", vd ? "" : " ok");
    rep_html_td(out, v->name, NAME_MAX_BYTES);
    hx_buf_puts(out, "<td class=\"num\">");
    rep_html_val(out, v->base, v->unit);
    hx_buf_puts(out, "</td><td class=\"num\">");
    rep_html_val(out, v->head, v->unit);
    hx_buf_printf(out, "</td><td class=\"num %s\">", dir_class(vd));
    put_delta(out, v);
    hx_buf_printf(out, "</td><td class=\"num %s\">", dir_class(vd));
    put_pct(out, v);
    hx_buf_puts(out, "</td><td class=\"bars\">");
    if (bars) bar_pair(out, v);
    hx_buf_puts(out, "</td></tr>");
}

/* ---- the headline ---- */

/* "3 faster, 0 slower, 1 within 10 %" with the words of the figure's kind. */
static void tally_text(hx_buf *out, const cmp_tally *t, const char *good, const char *bad)
{
    hx_buf_printf(out, "%zu %s, %zu %s, %zu within %.0f %%", t->better, good, t->worse, bad,
                  t->same, (CMP_NOISE_RATIO - 1) * 100);
}

static size_t tally_n(const cmp_tally *t)
{
    return t->better + t->worse + t->same;
}

void cmp_headline_text(hx_buf *out, const cmp_diff *d)
{
    const cmp_headline *hl = &d->headline;
    if (hl->checks_worse || hl->checks_fixed)
        hx_buf_printf(out, "checks: %zu newly failing, %zu fixed\n", hl->checks_worse,
                      hl->checks_fixed);
    else
        hx_buf_puts(out, "checks: none flipped\n");
    if (tally_n(&hl->queries)) {
        hx_buf_puts(out, "served queries at p95: ");
        tally_text(out, &hl->queries, "faster", "slower");
        hx_buf_puts(out, "\n");
    }
    if (tally_n(&hl->latency)) {
        hx_buf_puts(out, "end-to-end latency p99 (service scenarios): ");
        tally_text(out, &hl->latency, "faster", "slower");
        hx_buf_puts(out, "\n");
    }
    if (tally_n(&hl->wall)) {
        hx_buf_puts(out, "solution wall time (batch scenarios): ");
        tally_text(out, &hl->wall, "faster", "slower");
        hx_buf_puts(out, "\n");
    }
    if (tally_n(&hl->cost)) {
        hx_buf_puts(out, "variable cost a month, per price sheet: ");
        tally_text(out, &hl->cost, "lower", "higher");
        hx_buf_puts(out, "\n");
        /* each sheet's figure: "cost.<model>.monthly.variable.<currency>" */
        for (size_t i = 0; i < d->totals.nvalues; i++) {
            const cmp_value *v = &d->totals.values[i];
            const char *mid = strstr(v->name, ".monthly.variable.");
            if (strncmp(v->name, "cost.", 5) != 0 || !mid || !isfinite(v->base) ||
                !isfinite(v->head))
                continue;
            char b[64], h[64];
            rep_money(b, sizeof b, v->base, v->unit);
            rep_money(h, sizeof h, v->head, v->unit);
            hx_buf_printf(out, "  %.*s: %s -> %s", (int)(mid - v->name - 5), v->name + 5, b, h);
            if (isfinite(v->pct)) hx_buf_printf(out, " (%+.1f %%)", v->pct);
            hx_buf_puts(out, "\n");
        }
        if (hl->cost_one_size)
            hx_buf_puts(out, "  projected from one size (a run without --probe): start-up costs "
                             "count as per-record, so solutions can rank wrongly; compare runs "
                             "made with --probe 4\n");
    }
    if (isfinite(hl->prep_base) && isfinite(hl->prep_head)) {
        char b[64], h[64];
        rep_duration(b, sizeof b, hl->prep_base);
        rep_duration(h, sizeof h, hl->prep_head);
        hx_buf_printf(out,
                      "the solution's own steps in workload scenarios: %s -> %s (they prepare "
                      "what it serves: priced in the cost, not counted as latency)\n",
                      b, h);
    }
}

/* ---- the header: both runs ---- */

static void run_row(hx_buf *out, const char *label, const char *b, const char *h, size_t max)
{
    hx_buf_printf(out, "<tr><th>%s</th>", label);
    rep_html_td(out, b, max);
    rep_html_td(out, h, max);
    hx_buf_puts(out, "</tr>");
}

static void score_cell(hx_buf *out, const results_run *r)
{
    if (r->score.scored)
        hx_buf_printf(out, "<td>%.1f / 100</td>", r->score.value);
    else
        hx_buf_puts(out, "<td class=\"null\">\xe2\x80\x94</td>");
}

static void put_runs(hx_buf *out, const cmp_html_input *in)
{
    const results_run *b = in->base, *h = in->head;
    hx_buf_puts(out, "<header><h1>harness compare</h1><table class=\"runs\"><tr><th></th>"
                     "<th>base</th><th>head</th></tr>");
    run_row(out, "file", in->base_path, in->head_path, 300);
    run_row(out, "challenge", b->pack_name, h->pack_name, 200);
    run_row(out, "level", b->level, h->level, 80);
    run_row(out, "solution", b->solution_name, h->solution_name, 200);
    run_row(out, "harness", b->harness_version, h->harness_version, 40);
    run_row(out, "commit", b->harness_commit, h->harness_commit, 40);
    run_row(out, "started", b->started, h->started, 40);
    hx_buf_puts(out, "<tr><th>verdict</th>");
    const results_run *side[2] = {b, h};
    for (int k = 0; k < 2; k++) {
        hx_buf_puts(out, "<td>");
        rep_html_status(out, side[k]->verdict);
        hx_buf_printf(out, " <span class=\"dim\">exit %d%s%s</span></td>", side[k]->exit_code,
                      side[k]->partial ? ", partial" : "",
                      side[k]->interrupted ? ", interrupted" : "");
    }
    hx_buf_puts(out, "</tr><tr><th>score</th>");
    score_cell(out, b);
    score_cell(out, h);
    hx_buf_puts(out, "</tr></table></header>");
}

static size_t flips_of(const cmp_diff *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->nscenarios; i++)
        n += d->scenarios[i].nchecks;
    for (size_t i = 0; i < d->nadded; i++)
        n += d->added[i].nchecks;
    return n;
}

static void put_verdict(hx_buf *out, const cmp_html_input *in, size_t tripped)
{
    const cmp_diff *d = in->diff;
    const char *bv = results_status_name(in->base->verdict);
    const char *hv = results_status_name(in->head->verdict);
    hx_buf_printf(out,
                  "<section id=\"verdict\" class=\"verdict st-%s\" data-base=\"%s\" "
                  "data-head=\"%s\"><span class=\"word st-%s\">%s</span><span class=\"arrow\">"
                  "\xe2\x86\x92</span><span class=\"word st-%s\">%s</span>",
                  hv, bv, hv, bv, bv, hv, hv);
    const cmp_value *s = &d->score;
    if (cmp_value_shown(s)) {
        hx_buf_puts(out, "<span class=\"score\">score ");
        rep_html_val(out, s->base, "");
        hx_buf_puts(out, ARROW);
        rep_html_val(out, s->head, "");
        if (isfinite(s->delta)) {
            hx_buf_printf(out, " <span class=\"%s\">(", dir_class(cmp_value_verdict(s)));
            put_delta(out, s);
            hx_buf_puts(out, ")</span>");
        }
        hx_buf_puts(out, "</span>");
    }
    hx_buf_printf(out,
                  "<span class=\"totals\">%zu compared" DOT "%zu only in head" DOT
                  "%zu only in base" DOT "%zu checks flipped",
                  d->nscenarios, d->nadded, d->nremoved, flips_of(d));
    if (in->ngates)
        hx_buf_printf(out, DOT "<span class=\"%s\">%zu of %zu gates tripped</span>",
                      tripped ? "d-worse" : "d-better", tripped, in->ngates);
    hx_buf_puts(out, "</span></section>");
    const cmp_headline *hl = &d->headline;
    int ov = hl->overall == CMP_BETTER ? 1 : hl->overall == CMP_WORSE ? -1 : 0;
    hx_buf_printf(out,
                  "<section id=\"headline\" data-overall=\"%s\"><h2>headline: <span "
                  "class=\"%s\">%s</span></h2><ul>",
                  cmp_overall_names[hl->overall], dir_class(ov), cmp_overall_names[hl->overall]);
    hx_buf t;
    hx_buf_init(&t);
    cmp_headline_text(&t, d);
    for (char *line = t.data; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        hx_buf_puts(out, "<li>");
        TXT(out, line, 400);
        hx_buf_puts(out, "</li>");
        line = nl ? nl + 1 : NULL;
    }
    if (t.oom) out->oom = true;
    hx_buf_release(&t);
    hx_buf_puts(out, "</ul></section>");
}

/* ---- gates ---- */

static size_t put_gates(hx_buf *out, const cmp_html_input *in, bool render)
{
    size_t tripped = 0;
    if (render)
        hx_buf_puts(out, "<section id=\"gates\"><h2>gates</h2><table class=\"gates\"><tr>"
                         "<th>gate</th><th>result</th><th>why</th></tr>");
    for (size_t i = 0; i < in->ngates; i++) {
        hx_buf why;
        hx_buf_init(&why);
        bool t = cmp_gate_eval(&in->gates[i], in->diff, render ? &why : NULL);
        tripped += t;
        if (render) {
            hx_buf_printf(out, "<tr class=\"gate%s\"><td><code>", t ? "" : " ok");
            TXT(out, in->gates[i].text, 200);
            hx_buf_printf(out, "</code></td><td class=\"%s\">%s</td><td>",
                          t ? "d-worse" : "d-better", t ? "tripped" : "passed");
            if (why.oom) out->oom = true;
            for (char *line = why.data; line && *line;) {
                char *nl = strchr(line, '\n');
                if (nl) *nl = 0;
                hx_buf_puts(out, "<div>");
                TXT(out, line, 400);
                hx_buf_puts(out, "</div>");
                line = nl ? nl + 1 : NULL;
            }
            hx_buf_puts(out, "</td></tr>");
        }
        hx_buf_release(&why);
    }
    if (render) hx_buf_puts(out, "</table></section>");
    return tripped;
}

/* ---- scenarios ---- */

/* One side of a flipped check: its status, expected, actual and message. */
static void check_side(hx_buf *out, bool present, results_status st, const char *expected,
                       const char *actual, const char *message)
{
    if (!present) {
        hx_buf_puts(out, "<td class=\"null\">absent</td>");
        return;
    }
    hx_buf_puts(out, "<td>");
    rep_html_status(out, st);
    hx_buf_puts(out, "<dl class=\"ea\"><dt>expected</dt><dd>");
    if (expected)
        TXT(out, expected, TEXT_MAX_BYTES);
    else
        hx_buf_puts(out, DASH);
    hx_buf_puts(out, "</dd><dt>actual</dt><dd>");
    if (actual)
        TXT(out, actual, TEXT_MAX_BYTES);
    else
        hx_buf_puts(out, DASH);
    hx_buf_puts(out, "</dd></dl>");
    if (message) {
        hx_buf_puts(out, "<div class=\"dim\">");
        TXT(out, message, MSG_MAX_BYTES);
        hx_buf_puts(out, "</div>");
    }
    hx_buf_puts(out, "</td>");
}

static void put_flips(hx_buf *out, const cmp_scenario *s)
{
    if (!s->nchecks) return;
    hx_buf_printf(out, "<h4>checks that flipped (%zu)</h4>", s->nchecks);
    hx_buf_puts(out, "<table class=\"flips\"><tr><th>check</th><th>change</th><th>base</th>"
                     "<th>head</th></tr>");
    for (size_t i = 0; i < s->nchecks; i++) {
        const cmp_check *c = &s->checks[i];
        const char *cls = c->change == CMP_FIXED ? "d-better" : "d-worse";
        hx_buf_puts(out, "<tr class=\"flip\">");
        rep_html_td(out, c->name, NAME_MAX_BYTES);
        hx_buf_printf(out, "<td class=\"%s\">%s</td>", cls, cmp_change_names[c->change]);
        check_side(out, c->in_base, c->base, c->base_expected, c->base_actual, c->base_message);
        check_side(out, c->in_head, c->head, c->head_expected, c->head_actual, c->head_message);
        hx_buf_puts(out, "</tr>");
    }
    hx_buf_puts(out, "</table>");
}

enum group { G_LATENCY, G_RESOURCES, G_COST, G_SCORE, G_COUNT };

static enum group group_of(const char *name)
{
    if (strcmp(name, "score") == 0) return G_SCORE;
    if (strncmp(name, "cost.", 5) == 0) return G_COST;
    if (strncmp(name, "solution.", 9) == 0) return G_RESOURCES;
    return G_LATENCY;
}

/* The served queries: each percentile base -> head and the change as a reader says it. */
static bool put_queries(hx_buf *out, const cmp_scenario *s)
{
    if (!s->nqueries) return false;
    hx_buf_printf(out,
                  "<h4>served queries</h4><p class=\"dim\">the workload is the product: lower "
                  "is better, a change within %.0f %% is the same.</p><table class=\"queries\">"
                  "<tr><th>query</th><th></th><th>base</th><th>head</th><th>change</th></tr>",
                  (CMP_NOISE_RATIO - 1) * 100);
    for (size_t i = 0; i < s->nqueries; i++) {
        const cmp_query *q = &s->queries[i];
        const cmp_value *pv[] = {q->p50, q->p95, q->p99, q->errors};
        static const char *const pn[] = {"p50", "p95", "p99", "errors"};
        for (size_t k = 0; k < 4; k++) {
            const cmp_value *v = pv[k];
            if (!v || !cmp_value_shown(v)) continue;
            if (k == 3 && !(v->base > 0 || v->head > 0)) continue;
            int vd = k == 3 ? cmp_value_verdict(v) : cmp_value_change(v, NULL);
            hx_buf_printf(out, "<tr class=\"query%s\" data-query-pct=\"%s\">", vd ? "" : " ok",
                          pn[k]);
            rep_html_td(out, q->name, NAME_MAX_BYTES);
            hx_buf_printf(out, "<td>%s</td><td class=\"num\">", pn[k]);
            rep_html_val(out, v->base, v->unit);
            hx_buf_puts(out, "</td><td class=\"num\">");
            rep_html_val(out, v->head, v->unit);
            hx_buf_printf(out, "</td><td class=\"%s\">", dir_class(vd));
            if (k == 3) {
                put_delta(out, v);
            } else {
                char cs[64];
                cmp_speed_text(cs, sizeof cs, v);
                TXT(out, cs, 64);
            }
            hx_buf_puts(out, "</td></tr>");
        }
    }
    hx_buf_puts(out, "</table>");
    return true;
}

/* The relations the solution added and what their storage costs a month. */
static bool put_storage(hx_buf *out, const cmp_scenario *s)
{
    bool open = false;
    for (size_t k = 0; k < CMP_STORAGE_N; k++) {
        const cmp_value *v = NULL;
        for (size_t i = 0; i < s->nvalues && !v; i++)
            if (strcmp(s->values[i].name, cmp_storage_metrics[k]) == 0) v = &s->values[i];
        if (!v || !cmp_value_shown(v)) continue;
        if (!open) {
            hx_buf_puts(out, "<h4>storage the solution added</h4><table class=\"storage\">"
                             "<tr><th>its own</th><th>base</th><th>head</th><th>\xce\x94</th>"
                             "<th></th></tr>");
            open = true;
        }
        int vd = cmp_value_verdict(v);
        hx_buf_printf(out, "<tr class=\"value%s\"><td>%s</td><td class=\"num\">", vd ? "" : " ok",
                      cmp_storage_labels[k]);
        rep_html_val(out, v->base, v->unit);
        hx_buf_puts(out, "</td><td class=\"num\">");
        rep_html_val(out, v->head, v->unit);
        hx_buf_printf(out, "</td><td class=\"num %s\">", dir_class(vd));
        put_delta(out, v);
        hx_buf_puts(out, "</td><td></td></tr>");
    }
    if (!open) return false;
    for (size_t i = 0; i < s->nlines; i++) {
        const cmp_cost_line *l = &s->lines[i];
        if (!cmp_line_is_storage(l) || !cmp_value_shown(&l->v)) continue;
        int vd = cmp_value_verdict(&l->v);
        hx_buf_printf(out, "<tr class=\"cost-line%s\"><td>", vd ? "" : " ok");
        TXT(out, l->v.name, NAME_MAX_BYTES);
        hx_buf_puts(out, ", ");
        TXT(out, l->model, NAME_MAX_BYTES);
        hx_buf_puts(out, " a month</td><td class=\"num\">");
        rep_html_val(out, l->v.base, l->v.unit);
        hx_buf_puts(out, "</td><td class=\"num\">");
        rep_html_val(out, l->v.head, l->v.unit);
        hx_buf_printf(out, "</td><td class=\"num %s\">", dir_class(vd));
        put_delta(out, &l->v);
        hx_buf_puts(out, "</td><td class=\"dim\">");
        if (l->kind) TXT(out, l->kind, 16);
        if (l->note) {
            hx_buf_puts(out, ": ");
            TXT(out, l->note, MSG_MAX_BYTES);
        }
        hx_buf_puts(out, "</td></tr>");
    }
    hx_buf_puts(out, "</table>");
    return true;
}

/* Returns whether any number was shown. */
static bool put_values(hx_buf *out, const cmp_scenario *s)
{
    bool any = put_queries(out, s);
    any |= put_storage(out, s);
    static const char *const title[G_COUNT] = {"latency", "resources", "cost per model", "score"};
    for (int g = 0; g < G_COUNT; g++) {
        bool open = false;
        for (size_t i = 0; i < s->nvalues; i++) {
            const cmp_value *v = &s->values[i];
            if (!cmp_value_shown(v) || cmp_value_sectioned(v) || group_of(v->name) != (enum group)g)
                continue;
            if (!open) {
                if (g == G_RESOURCES && s->nqueries)
                    hx_buf_puts(out, "<h4>the solution's own steps</h4><p class=\"dim\">they "
                                     "prepare what it serves: their time is priced in the cost, "
                                     "not counted as latency.</p>");
                else
                    hx_buf_printf(out, "<h4>%s</h4>", title[g]);
                table_head(out);
                open = true;
            }
            value_row(out, v, key_value(v->name));
        }
        if (open) hx_buf_puts(out, "</table>");
        any |= open;
    }
    return any;
}

static void put_scenario(hx_buf *out, const cmp_scenario *s, bool added, size_t idx)
{
    hx_buf_printf(out, "<details class=\"scenario%s\" id=\"scenario-%zu\" open><summary>",
                  added ? " only-head" : "", idx);
    if (added)
        hx_buf_puts(out, "<span class=\"null\">[absent]</span>");
    else
        hx_buf_printf(out, "<span class=\"st-%s\">[%s]</span>", results_status_name(s->base_status),
                      results_status_name(s->base_status));
    hx_buf_printf(out, ARROW "<span class=\"st-%s\">[%s]</span> <span class=\"scenario-name\">",
                  results_status_name(s->head_status), results_status_name(s->head_status));
    TXT(out, s->name, NAME_MAX_BYTES);
    hx_buf_puts(out, "</span>");
    if (added) hx_buf_puts(out, " <span class=\"badge\">only in head</span>");
    if (s->nchecks)
        hx_buf_printf(out, " <span class=\"dim\">" DOT "%zu checks flipped</span>", s->nchecks);
    hx_buf_puts(out, "</summary>");
    put_flips(out, s);
    if (!put_values(out, s) && !s->nchecks)
        hx_buf_puts(out, "<p class=\"dim\">no check flipped and no numbers to compare.</p>");
    hx_buf_puts(out, "</details>");
}

static void put_removed(hx_buf *out, const cmp_diff *d, size_t i, size_t idx)
{
    const char *st = results_status_name(d->removed_status[i]);
    hx_buf_printf(out,
                  "<details class=\"scenario only-base\" id=\"scenario-%zu\" open><summary>"
                  "<span class=\"st-%s\">[%s]</span>" ARROW "<span class=\"null\">[absent]</span> "
                  "<span class=\"scenario-name\">",
                  idx, st, st);
    TXT(out, d->removed[i], NAME_MAX_BYTES);
    hx_buf_puts(out, "</span> <span class=\"badge\">only in base</span></summary><p class=\"dim\">"
                     "not in the head run: nothing to compare. The base run's report has its "
                     "numbers.</p></details>");
}

/* ---- the page ---- */

static void put_title(hx_buf *out, const void *ctx)
{
    const cmp_html_input *in = ctx;
    hx_buf_puts(out, "harness compare: ");
    TXT(out, in->head->pack_name ? in->head->pack_name : "runs", 120);
    hx_buf_printf(out, " \xe2\x80\x94 %s" ARROW "%s", results_status_name(in->base->verdict),
                  results_status_name(in->head->verdict));
}

static void put_body(hx_buf *out, const void *ctx)
{
    const cmp_html_input *in = ctx;
    const cmp_diff *d = in->diff;
    put_runs(out, in);
    put_verdict(out, in, put_gates(out, in, false));
    hx_buf_puts(out, "<p class=\"legend\"><span class=\"d-better\">green: better</span>" DOT
                     "<span class=\"d-worse\">red: worse</span>" DOT
                     "lower is better for time, CPU, memory and cost; higher for the score. "
                     "\xce\x94% is left out when base is 0 or missing.</p>");
    hx_buf_puts(out, "<section id=\"overall\"><h2>overall</h2>");
    table_head(out);
    if (cmp_value_shown(&d->score)) value_row(out, &d->score, true);
    for (size_t i = 0; i < d->totals.nvalues; i++)
        if (cmp_value_shown(&d->totals.values[i])) value_row(out, &d->totals.values[i], true);
    hx_buf_puts(out, "</table><p class=\"dim\">every scenario of each run: wall and CPU summed, "
                     "peak memory the largest, cost per model the mean of the scenarios' (each "
                     "is a month of the same pipeline).</p></section>");
    if (in->ngates) put_gates(out, in, true);
    hx_buf_puts(out, "<h2>scenarios</h2>");
    rep_html_controls(out, "only changes");
    hx_buf_puts(out, "<main>");
    size_t idx = 0;
    for (size_t i = 0; i < d->nscenarios; i++)
        put_scenario(out, &d->scenarios[i], false, idx++);
    for (size_t i = 0; i < d->nadded; i++)
        put_scenario(out, &d->added[i], true, idx++);
    for (size_t i = 0; i < d->nremoved; i++)
        put_removed(out, d, i, idx++);
    hx_buf_puts(out, "</main>");
}

bool cmp_html_render(hx_buf *out, const cmp_html_input *in)
{
    return rep_html_page(out, put_title, put_body, in);
}

int cmp_html_write(const cmp_html_input *in, const char *path, hx_err *e)
{
    return rep_html_page_write(path, put_title, put_body, in, e);
}
