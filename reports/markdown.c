/* markdown.c - summary.md for $GITHUB_STEP_SUMMARY and pull-request comments: what a reviewer
 * needs at a glance, bounded in size, with every untrusted string unable to break a table, run
 * HTML, plant a link or ping a user. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rep.h"

#define ZWSP "\xe2\x80\x8b"

bool rep_md_cell(hx_buf *out, const char *s, size_t max)
{
    if (!s) return !out->oom;
    size_t len = strlen(s), end = rep_utf8_cut(s, len, max);
    for (size_t i = 0; i < end;) {
        int32_t cp;
        size_t k = hx_utf8_next(s + i, end - i, &cp);
        if (cp < 0 || (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7f ||
            (cp >= 0x80 && cp < 0xa0) || cp == 0xfffe || cp == 0xffff) {
            hx_buf_puts(out, REP_REPLACEMENT);
        } else if (cp == '\t' || cp == '\n' || cp == '\r') {
            hx_buf_putc(out, ' ');
        } else if (cp == '<') {
            hx_buf_puts(out, "&lt;");
        } else if (cp == '>') {
            hx_buf_puts(out, "&gt;");
        } else if (cp == '&') {
            hx_buf_puts(out, "&amp;");
        } else if (cp == '@') {
            /* "@user" in a PR comment notifies that user; a zero-width space stops it. */
            hx_buf_puts(out, "@" ZWSP);
        } else if (cp < 0x80 && strchr("|`\\*_[]~!#", (int)cp)) {
            hx_buf_putc(out, '\\');
            hx_buf_putc(out, (char)cp);
        } else {
            hx_buf_append(out, s + i, k);
        }
        i += k;
    }
    if (end < len) hx_buf_puts(out, REP_ELLIPSIS);
    return !out->oom;
}

static const char *emoji(results_status s)
{
    switch (s) {
    case RESULTS_PASS:
        return "\xe2\x9c\x85"; /* ✅ */
    case RESULTS_FAIL:
        return "\xe2\x9d\x8c"; /* ❌ */
    case RESULTS_ERROR:
        return "\xf0\x9f\x92\xa5"; /* 💥 */
    case RESULTS_SKIP:
        return "\xe2\x8f\xad\xef\xb8\x8f"; /* ⏭️ */
    case RESULTS_THRESHOLD:
        return "\xe2\x9a\xa0\xef\xb8\x8f"; /* ⚠️ */
    }
    return "?";
}

static void num(hx_buf *out, double v, const char *unit)
{
    if (isnan(v)) {
        hx_buf_puts(out, "n/a");
        return;
    }
    hx_buf_printf(out, "%.4g", v);
    if (unit && *unit) {
        hx_buf_putc(out, ' ');
        rep_md_cell(out, unit, 20);
    }
}

static void money(hx_buf *out, double v, const char *currency)
{
    if (isnan(v)) {
        hx_buf_puts(out, "n/a");
        return;
    }
    hx_buf_printf(out, fabs(v) >= 100 ? "%.0f" : fabs(v) >= 1 ? "%.2f" : "%.4g", v);
    if (currency) {
        hx_buf_putc(out, ' ');
        rep_md_cell(out, currency, 8);
    }
}

static const char *check_status_word(const results_check *c)
{
    if (c->status == RESULTS_FAIL && c->severity == RESULTS_SEV_WARN)
        return "\xe2\x9a\xa0\xef\xb8\x8f warn";
    return NULL;
}

static void put_checks(hx_buf *out, const results_scenario *sc)
{
    if (!sc->nchecks) return;
    hx_buf_puts(out, "\n| check | status | expected | actual |\n| --- | --- | --- | --- |\n");
    for (size_t i = 0; i < sc->nchecks; i++) {
        const results_check *c = &sc->checks[i];
        hx_buf_puts(out, "| ");
        rep_md_cell(out, c->name, REP_MD_CELL_MAX);
        hx_buf_puts(out, " | ");
        const char *w = check_status_word(c);
        if (w)
            hx_buf_puts(out, w);
        else
            hx_buf_printf(out, "%s %s", emoji(c->status), results_status_name(c->status));
        hx_buf_puts(out, " | ");
        rep_md_cell(out, c->expected, REP_MD_CELL_MAX);
        hx_buf_puts(out, " | ");
        rep_md_cell(out, c->actual, REP_MD_CELL_MAX);
        if (c->status != RESULTS_PASS && c->message && *c->message) {
            hx_buf_puts(out, c->actual ? " \xe2\x80\x94 " : "");
            rep_md_cell(out, c->message, REP_MD_CELL_MAX);
        }
        hx_buf_puts(out, " |\n");
    }
}

static void put_thresholds(hx_buf *out, const results_scenario *sc)
{
    if (!sc->nthresholds) return;
    hx_buf_puts(out, "\n| threshold | limit | actual | status |\n| --- | --- | --- | --- |\n");
    for (size_t i = 0; i < sc->nthresholds; i++) {
        const results_threshold *t = &sc->thresholds[i];
        hx_buf_puts(out, "| ");
        rep_md_cell(out, t->metric, REP_MD_CELL_MAX);
        hx_buf_puts(out, " | ");
        rep_md_cell(out, t->op, 8);
        hx_buf_putc(out, ' ');
        num(out, t->limit, t->unit);
        hx_buf_puts(out, " | ");
        num(out, t->actual, t->unit);
        hx_buf_printf(out, " | %s %s |\n", emoji(t->status), results_status_name(t->status));
    }
}

static void put_cost(hx_buf *out, const results_scenario *sc)
{
    if (!sc->ncost) return;
    hx_buf_puts(out, "\n| cost model | per run | per month | per 1M input | per correct output "
                     "|\n| --- | ---: | ---: | ---: | ---: |\n");
    for (size_t i = 0; i < sc->ncost; i++) {
        const results_cost *c = &sc->cost[i];
        hx_buf_puts(out, "| ");
        rep_md_cell(out, c->model, 80);
        hx_buf_puts(out, " | ");
        money(out, c->per_run_total, c->currency);
        hx_buf_puts(out, " | ");
        money(out, c->monthly_total, c->currency);
        hx_buf_puts(out, " | ");
        money(out, c->per_million_input, c->currency);
        hx_buf_puts(out, " | ");
        money(out, c->per_correct_output, c->currency);
        hx_buf_puts(out, " |\n");
    }
    /* Where the primary model's money went: the costliest phases, in run order. */
    const results_cost *c = &sc->cost[0];
    if (!c->nphases) return;
    enum { TOP = 6 };
    double cut = -1;
    if (c->nphases > TOP) {
        double top[TOP] = {0};
        for (size_t i = 0; i < c->nphases; i++) {
            double v = c->phases[i].cost;
            for (size_t k = 0; k < TOP; k++)
                if (v > top[k]) {
                    double t = top[k];
                    top[k] = v;
                    v = t;
                }
        }
        cut = top[TOP - 1];
    }
    hx_buf_puts(out, "\nBy phase (");
    rep_md_cell(out, c->model, 80);
    hx_buf_puts(out, "):");
    size_t shown = 0;
    for (size_t i = 0; i < c->nphases && shown < TOP; i++) {
        if (c->phases[i].cost < cut) continue;
        hx_buf_puts(out, shown++ ? ", " : " ");
        rep_md_cell(out, c->phases[i].name, 60);
        hx_buf_puts(out, " ");
        money(out, c->phases[i].cost, c->currency);
    }
    if (c->nphases > shown) hx_buf_printf(out, " (and %zu more)", c->nphases - shown);
    hx_buf_puts(out, ".\n");
}

static void put_metrics(hx_buf *out, const results_scenario *sc)
{
    if (!sc->nmetrics && !sc->nhistograms) return;
    hx_buf_puts(out, "\n| metric | value |\n| --- | ---: |\n");
    for (size_t i = 0; i < sc->nhistograms && i < REP_MD_TOP_METRICS; i++) {
        const results_hist *h = &sc->histograms[i];
        hx_buf_puts(out, "| ");
        rep_md_cell(out, h->name, 80);
        hx_buf_puts(out, " p50 / p99 / max | ");
        num(out, h->p50, NULL);
        hx_buf_puts(out, " / ");
        num(out, h->p99, NULL);
        hx_buf_puts(out, " / ");
        num(out, h->max, h->unit);
        hx_buf_puts(out, " |\n");
    }
    for (size_t i = 0; i < sc->nmetrics && i < REP_MD_TOP_METRICS; i++) {
        hx_buf_puts(out, "| ");
        rep_md_cell(out, sc->metrics[i].name, 80);
        hx_buf_puts(out, " | ");
        num(out, sc->metrics[i].value, sc->metrics[i].unit);
        hx_buf_puts(out, " |\n");
    }
    if (sc->nmetrics > REP_MD_TOP_METRICS)
        hx_buf_printf(out, "\n%zu more metrics in run.json.\n", sc->nmetrics - REP_MD_TOP_METRICS);
}

static void put_scenario(hx_buf *out, const results_scenario *sc)
{
    hx_buf_printf(out, "\n### %s ", emoji(sc->status));
    rep_md_cell(out, sc->name, REP_MD_CELL_MAX);
    hx_buf_printf(out, " \xe2\x80\x94 %s (%.1f s)\n", results_status_name(sc->status),
                  isnan(sc->duration_s) ? 0.0 : sc->duration_s);
    if (sc->error) {
        hx_buf_puts(out, "\n> **error:** ");
        rep_md_cell(out, sc->error, 1000);
        hx_buf_putc(out, '\n');
    }
    for (size_t i = 0; i < sc->ninvocations; i++) {
        const results_invocation *iv = &sc->invocations[i];
        if (iv->exit_code == 0 && !iv->signal && !iv->timed_out) continue;
        hx_buf_printf(out, "\n> solution batch %d ", iv->batch);
        if (iv->timed_out)
            hx_buf_puts(out, "timed out");
        else if (iv->signal) {
            hx_buf_puts(out, "killed by ");
            rep_md_cell(out, iv->signal, 16);
        } else
            hx_buf_printf(out, "exited with %d", iv->exit_code);
        hx_buf_printf(out, " after %.1f s\n", isnan(iv->wall_s) ? 0.0 : iv->wall_s);
    }
    put_checks(out, sc);
    put_thresholds(out, sc);
    put_cost(out, sc);
    put_metrics(out, sc);
}

static void put_head(hx_buf *out, const results_run *r)
{
    hx_buf_printf(out, "## %s harness: ", emoji(r->verdict));
    rep_md_cell(out, r->pack_name ? r->pack_name : "run", 120);
    hx_buf_printf(out, " \xe2\x80\x94 %s\n\n", results_status_name(r->verdict));
    if (r->partial)
        hx_buf_puts(out,
                    "> **partial run:** the run did not finish (rebuilt from a journal, or merged "
                    "without every shard); scenarios that did not run are not listed.\n\n");
    if (r->interrupted)
        hx_buf_puts(out, "> **interrupted:** the run was stopped before every scenario ran.\n\n");
    if (r->score.scored) {
        hx_buf_puts(out, "**Score:** ");
        num(out, r->score.value, NULL);
        hx_buf_puts(out, " / 100");
        for (size_t i = 0; i < r->score.ncomponents; i++) {
            hx_buf_puts(out, i ? ", " : " (");
            rep_md_cell(out, r->score.components[i].name, 40);
            hx_buf_putc(out, ' ');
            num(out, r->score.components[i].value, NULL);
        }
        hx_buf_puts(out, r->score.ncomponents ? ")  \n" : "  \n");
    }
    const results_totals *t = &r->totals;
    hx_buf_printf(out,
                  "**Checks:** %lld passed, %lld failed, %lld errored, %lld skipped, %lld "
                  "warnings  \n**Thresholds:** %lld passed, %lld failed, %lld skipped  \n",
                  (long long)t->checks_passed, (long long)t->checks_failed,
                  (long long)t->checks_errored, (long long)t->checks_skipped,
                  (long long)t->checks_warned, (long long)t->thresholds_passed,
                  (long long)t->thresholds_failed, (long long)t->thresholds_skipped);
    if (r->solution_name) {
        hx_buf_puts(out, "**Solution:** ");
        rep_md_cell(out, r->solution_name, 120);
        hx_buf_puts(out, "  \n");
    }
    hx_buf_printf(out, "**Exit code:** %d \xc2\xb7 **duration:** %.1f s\n", r->exit_code,
                  isnan(r->duration_s) ? 0.0 : r->duration_s);

    if (!r->nscenarios) return;
    hx_buf_puts(out, "\n| scenario | status | checks | thresholds | duration |\n"
                     "| --- | --- | ---: | ---: | ---: |\n");
    for (size_t i = 0; i < r->nscenarios; i++) {
        const results_scenario *sc = &r->scenarios[i];
        size_t cp = 0, tp = 0;
        for (size_t k = 0; k < sc->nchecks; k++)
            cp += sc->checks[k].status == RESULTS_PASS;
        for (size_t k = 0; k < sc->nthresholds; k++)
            tp += sc->thresholds[k].status == RESULTS_PASS;
        hx_buf_puts(out, "| ");
        rep_md_cell(out, sc->name, REP_MD_CELL_MAX);
        hx_buf_printf(out, " | %s %s | %zu/%zu | %zu/%zu | %.1f s |\n", emoji(sc->status),
                      results_status_name(sc->status), cp, sc->nchecks, tp, sc->nthresholds,
                      isnan(sc->duration_s) ? 0.0 : sc->duration_s);
    }
}

bool rep_markdown_render(hx_buf *out, const results_run *r, size_t max_bytes)
{
    size_t start = out->len;
    put_head(out, r);
    /* Failing scenarios first: when the size limit bites, what needs attention is kept. */
    size_t omitted = 0;
    hx_buf one;
    hx_buf_init(&one);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < r->nscenarios; i++) {
            const results_scenario *sc = &r->scenarios[i];
            if ((sc->status == RESULTS_PASS) != (pass == 1)) continue;
            hx_buf_clear(&one);
            put_scenario(&one, sc);
            /* Room is kept for the omission note. */
            if (max_bytes && out->len - start + one.len + 200 > max_bytes)
                omitted++;
            else
                hx_buf_append(out, one.data, one.len);
        }
    if (one.oom) out->oom = true;
    hx_buf_release(&one);
    if (omitted)
        hx_buf_printf(out,
                      "\n_%zu scenario%s not shown to fit the size limit; see report.html or "
                      "run.json._\n",
                      omitted, omitted == 1 ? "" : "s");
    return !out->oom;
}

int rep_markdown_write(const results_run *r, const char *path, size_t max_bytes, hx_err *e)
{
    hx_buf b;
    hx_buf_init(&b);
    if (!rep_markdown_render(&b, r, max_bytes)) {
        hx_buf_release(&b);
        return hx_fail(e, HX_ENOMEM, "out of memory rendering '%s'", path);
    }
    int rc = hx_write_atomic(path, b.data, b.len, e);
    hx_buf_release(&b);
    return rc;
}
