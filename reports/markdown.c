/* markdown.c - summary.md for $GITHUB_STEP_SUMMARY and pull-request comments: what a reviewer
 * needs at a glance, bounded in size, with every untrusted string unable to break a table, run
 * HTML, plant a link or ping a user. */
#include <ctype.h>
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

/* Numbers in the reports' one unit style; the unit may be foreign text, so the result is escaped.
 */
static void num(hx_buf *out, double v, const char *unit)
{
    char tmp[96];
    rep_value(tmp, sizeof tmp, v, unit);
    rep_md_cell(out, tmp, 0);
}

static void money(hx_buf *out, double v, const char *currency)
{
    char tmp[96];
    rep_money(tmp, sizeof tmp, v, currency);
    rep_md_cell(out, tmp, 0);
}

/* Untrusted text as a fenced code block: the fence is longer than any run of backticks in it, so
 * nothing inside can close it; controls and invalid UTF-8 become U+FFFD, tabs and newlines stay.
 * Inside a code block Markdown renders no links, mentions or HTML. */
static void code_block(hx_buf *out, const char *s)
{
    size_t run = 0, longest = 0;
    for (const char *p = s; *p; p++) {
        run = *p == '`' ? run + 1 : 0;
        if (run > longest) longest = run;
    }
    size_t fence = longest >= 3 ? longest + 1 : 3;
    hx_buf_putc(out, '\n');
    for (size_t i = 0; i < fence; i++)
        hx_buf_putc(out, '`');
    hx_buf_puts(out, "text\n");
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        int32_t cp;
        size_t k = hx_utf8_next(s + i, len - i, &cp);
        if (cp == '\r' && i + 1 < len && s[i + 1] == '\n') {
            /* CRLF as LF */
        } else if (cp < 0 || (cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0x7f ||
                   (cp >= 0x80 && cp < 0xa0) || cp == 0xfffe || cp == 0xffff) {
            hx_buf_puts(out, REP_REPLACEMENT);
        } else {
            hx_buf_append(out, s + i, k);
        }
        i += k;
    }
    if (len && s[len - 1] != '\n') hx_buf_putc(out, '\n');
    for (size_t i = 0; i < fence; i++)
        hx_buf_putc(out, '`');
    hx_buf_putc(out, '\n');
}

/* The last lines of a log, at most REP_MD_LOG_LINES lines and REP_MD_LOG_MAX bytes. */
static const char *log_tail(const char *s)
{
    const char *t = rep_tail(s, REP_MD_LOG_MAX);
    size_t len = strlen(t);
    /* A final newline does not count as a line. */
    size_t end = len && t[len - 1] == '\n' ? len - 1 : len;
    int lines = 0;
    for (size_t i = end; i > 0; i--)
        if (t[i - 1] == '\n' && ++lines == REP_MD_LOG_LINES) return t + i;
    return t;
}

static const char *check_status_word(const results_check *c)
{
    if (c->status == RESULTS_FAIL && c->severity == RESULTS_SEV_WARN)
        return "\xe2\x9a\xa0\xef\xb8\x8f warn";
    return NULL;
}

/* Whether a check's message adds to its actual value: a message that only restates it (or that it
 * restates) is shown once. */
static bool says_more(const results_check *c)
{
    if (!c->message || !*c->message) return false;
    if (!c->actual || !*c->actual) return true;
    size_t m = strlen(c->message), a = strlen(c->actual);
    /* "0 missing, 1 extra, 0 mismatched rows" restates "980 rows: 0 missing, 1 extra, 0
     * mismatched": the message without its last word is in the actual value */
    const char *sp = strrchr(c->message, ' ');
    if (sp && sp - c->message >= 8) {
        size_t k = (size_t)(sp - c->message);
        for (const char *h = c->actual; (size_t)(c->actual + a - h) >= k; h++)
            if (strncmp(h, c->message, k) == 0) return false;
    }
    if (m <= a) return strncmp(c->actual, c->message, m) != 0 && !strstr(c->actual, c->message);
    return strncmp(c->message, c->actual, a) != 0 || m > a + 2;
}

/* The sample rows behind a check that did not pass (missing keys, wrong days, values), so the
 * contestant sees which rows to look at without opening the HTML report. */
static void put_samples(hx_buf *out, const results_check *c)
{
    const results_table *t = &c->samples;
    if (c->status == RESULTS_PASS || !t->nrows || !t->ncolumns) return;
    hx_buf_puts(out, "\n**");
    rep_md_cell(out, c->name, REP_MD_CELL_MAX);
    hx_buf_printf(out, "**: %zu sample row%s\n\n|", t->nrows, t->nrows == 1 ? "" : "s");
    for (size_t k = 0; k < t->ncolumns; k++) {
        hx_buf_putc(out, ' ');
        rep_md_cell(out, t->columns[k], 60);
        hx_buf_puts(out, " |");
    }
    hx_buf_puts(out, "\n|");
    for (size_t k = 0; k < t->ncolumns; k++)
        hx_buf_puts(out, " --- |");
    hx_buf_putc(out, '\n');
    for (size_t i = 0; i < t->nrows && i < REP_MD_SAMPLE_ROWS; i++) {
        hx_buf_putc(out, '|');
        for (size_t k = 0; k < t->ncolumns; k++) {
            const char *cell = k < t->rows[i].ncells ? t->rows[i].cells[k] : NULL;
            hx_buf_putc(out, ' ');
            rep_md_cell(out, cell ? cell : "NULL", 80);
            hx_buf_puts(out, " |");
        }
        hx_buf_putc(out, '\n');
    }
    if (t->nrows > REP_MD_SAMPLE_ROWS)
        hx_buf_printf(out, "\n%zu more in report.html and run.json.\n",
                      t->nrows - REP_MD_SAMPLE_ROWS);
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
        if (c->status != RESULTS_PASS && says_more(c)) {
            hx_buf_puts(out, c->actual ? " \xe2\x80\x94 " : "");
            rep_md_cell(out, c->message, REP_MD_CELL_MAX);
        }
        hx_buf_puts(out, " |\n");
    }
    for (size_t i = 0; i < sc->nchecks; i++)
        put_samples(out, &sc->checks[i]);
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
        if (isnan(t->actual)) {
            /* Why there is no value: it could not be measured (fail) or does not apply. */
            if (t->status != RESULTS_SKIP || !t->note) hx_buf_puts(out, "not measured");
            if (t->note) {
                if (t->status != RESULTS_SKIP) hx_buf_puts(out, ": ");
                rep_md_cell(out, t->note, 400);
            }
        } else {
            num(out, t->actual, t->unit);
        }
        hx_buf_printf(out, " | %s %s |\n", emoji(t->status), results_status_name(t->status));
    }
    /* The plan of each slow query, collapsed (GitHub renders <details>; the plan is a code block,
     * so nothing in it is markup). */
    for (size_t i = 0; i < sc->nthresholds; i++) {
        const results_threshold *t = &sc->thresholds[i];
        if (!t->explain) continue;
        /* inside HTML, not Markdown: the metric's letters, digits, '_' and '.' only */
        hx_buf_puts(out, "\n<details><summary>plan of ");
        for (const char *p = t->metric ? t->metric : ""; *p; p++)
            if (isalnum((unsigned char)*p) || *p == '_' || *p == '.') hx_buf_putc(out, *p);
        hx_buf_puts(out, " (EXPLAIN ANALYZE, BUFFERS)</summary>\n");
        code_block(out, t->explain);
        hx_buf_puts(out, "\n</details>\n");
    }
}

static void put_cost(hx_buf *out, const results_scenario *sc)
{
    if (!sc->ncost) return;
    hx_buf_puts(out, "\n| cost model | per run | per month | fixed | variable | per 1M input | "
                     "per correct output |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (size_t i = 0; i < sc->ncost; i++) {
        const results_cost *c = &sc->cost[i];
        hx_buf_puts(out, "| ");
        rep_md_cell(out, c->model, 80);
        hx_buf_puts(out, " | ");
        money(out, c->per_run_total, c->currency);
        hx_buf_puts(out, " | ");
        money(out, c->monthly_total, c->currency);
        hx_buf_puts(out, " | ");
        money(out, c->monthly_fixed, c->currency);
        hx_buf_puts(out, " | ");
        money(out, c->monthly_variable, c->currency);
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

/* The solution's CPU beside the database's on its behalf: a solution that moves its work into
 * SQL shows where the work went. */
static void put_cpu(hx_buf *out, const results_scenario *sc)
{
    double own, db, served;
    if (!rep_cpu_split(sc, &own, &db, &served)) return;
    char a[64], b[64], c[64], t[64];
    db = isfinite(db) ? db : 0;
    served = isfinite(served) ? served : 0;
    rep_duration(a, sizeof a, own);
    rep_duration(b, sizeof b, db);
    rep_duration(c, sizeof c, served);
    rep_duration(t, sizeof t, own + db + served);
    hx_buf_printf(out, "\n**CPU:** solution %s, database %s on its steps", a, b);
    if (served > 0) hx_buf_printf(out, " and %s serving its workload", c);
    hx_buf_printf(out, ": %s together.\n", t);
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
        num(out, h->p50, h->unit);
        hx_buf_puts(out, " / ");
        num(out, h->p99, h->unit);
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

static void invocation_label(hx_buf *out, const results_invocation *iv)
{
    if (iv->batch < 0)
        hx_buf_puts(out, "the service");
    else
        hx_buf_printf(out, "solution batch %d", iv->batch);
}

/* The failed invocations: the first with its stderr tail (or stdout's when stderr is empty), the
 * rest one line each, so seven crashed batches read as one crash and six more. */
static void put_invocations(hx_buf *out, const results_scenario *sc)
{
    const results_invocation *first = NULL;
    size_t more = 0, left = 0;
    for (size_t i = 0; i < sc->ninvocations; i++) {
        const results_invocation *iv = &sc->invocations[i];
        if (iv->leftovers > 0) left += (size_t)iv->leftovers;
        if (!results_invocation_failed(iv)) continue;
        if (!first)
            first = iv;
        else
            more++;
    }
    if (first) {
        hx_buf tmp;
        hx_buf_init(&tmp);
        rep_invocation_outcome(&tmp, first);
        hx_buf_puts(out, "\n> ");
        invocation_label(out, first);
        hx_buf_putc(out, ' ');
        rep_md_cell(out, tmp.data, 300);
        hx_buf_putc(out, '\n');
        if (tmp.oom) out->oom = true;
        hx_buf_release(&tmp);
        const char *log =
            first->stderr_tail && *first->stderr_tail ? first->stderr_tail : first->stdout_tail;
        if (log && *log) {
            hx_buf_printf(out, "\n%s (last lines):\n",
                          log == first->stderr_tail ? "stderr" : "stdout");
            code_block(out, log_tail(log));
        }
    }
    if (more) {
        hx_buf_printf(out, "\n> %zu more invocation%s failed:", more, more == 1 ? "" : "s");
        size_t shown = 0;
        for (size_t i = 0; i < sc->ninvocations && shown < 10; i++) {
            const results_invocation *iv = &sc->invocations[i];
            if (!results_invocation_failed(iv) || iv == first) continue;
            hx_buf_puts(out, shown++ ? "; " : " ");
            if (iv->batch < 0)
                hx_buf_puts(out, "service");
            else
                hx_buf_printf(out, "batch %d", iv->batch);
            hx_buf_puts(out, " ");
            if (iv->timed_out)
                hx_buf_puts(out, "timed out");
            else if (iv->signal)
                rep_md_cell(out, iv->signal, 16);
            else
                hx_buf_printf(out, "exit %d", iv->exit_code);
        }
        hx_buf_puts(out, more > shown ? "; ...\n" : "\n");
    }
    if (left)
        hx_buf_printf(out,
                      "\n> the solution left %zu process%s running after it exited (stopped by "
                      "the harness; counted as leftovers)\n",
                      left, left == 1 ? "" : "es");
}

static void put_scenario(hx_buf *out, const results_scenario *sc)
{
    hx_buf_printf(out, "\n### %s ", emoji(sc->status));
    rep_md_cell(out, sc->name, REP_MD_CELL_MAX);
    char dur[64];
    rep_duration(dur, sizeof dur, isnan(sc->duration_s) ? 0.0 : sc->duration_s);
    hx_buf_printf(out, " \xe2\x80\x94 %s (%s)\n", results_status_name(sc->status), dur);
    if (sc->error) {
        hx_buf_puts(out, "\n> **error:** ");
        rep_md_cell(out, sc->error, 1000);
        hx_buf_putc(out, '\n');
    }
    put_invocations(out, sc);
    put_checks(out, sc);
    put_thresholds(out, sc);
    put_cost(out, sc);
    put_cpu(out, sc);
    put_metrics(out, sc);
}

static void put_head(hx_buf *out, const results_run *r)
{
    const char *word = results_run_outcome(r);
    hx_buf_printf(out, "## %s harness: ", emoji(results_run_outcome_status(r)));
    rep_md_cell(out, r->pack_name ? r->pack_name : "run", 120);
    hx_buf_printf(out, " \xe2\x80\x94 %s\n\n", word);
    if (r->error) {
        hx_buf_puts(out, "> **error:** ");
        rep_md_cell(out, r->error, 1000);
        hx_buf_puts(out, "\n\n");
    } else if (strcmp(word, "error") == 0 && r->verdict != RESULTS_ERROR) {
        hx_buf_printf(out,
                      "> **error:** the run ended with exit %d before its scenarios could say "
                      "why (see the console output).\n\n",
                      r->exit_code);
    }
    if (r->partial)
        hx_buf_puts(out,
                    "> **partial run:** the run did not finish (rebuilt from a journal, or merged "
                    "without every shard); scenarios that did not run are not listed.\n\n");
    if (r->interrupted)
        hx_buf_puts(out, "> **interrupted:** the run was stopped before every scenario ran.\n\n");
    if (strcmp(word, results_status_name(r->verdict)) != 0 && r->nscenarios)
        hx_buf_printf(out, "**Scenarios that ran:** %s %s  \n", emoji(r->verdict),
                      results_status_name(r->verdict));
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
    if (t->invocations_passed || t->invocations_failed)
        hx_buf_printf(out, "**Solution runs:** %lld passed, %lld failed  \n",
                      (long long)t->invocations_passed, (long long)t->invocations_failed);
    char dur[64];
    rep_duration(dur, sizeof dur, isnan(r->duration_s) ? 0.0 : r->duration_s);
    if (r->partial && !r->finished)
        hx_buf_printf(out, "**Exit code:** none (the run did not finish) \xc2\xb7 **duration:** "
                           "n/a\n");
    else
        hx_buf_printf(out, "**Exit code:** %d \xc2\xb7 **duration:** %s\n", r->exit_code, dur);

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
        rep_duration(dur, sizeof dur, isnan(sc->duration_s) ? 0.0 : sc->duration_s);
        hx_buf_printf(out, " | %s %s | %zu/%zu | %zu/%zu | %s |\n", emoji(sc->status),
                      results_status_name(sc->status), cp, sc->nchecks, tp, sc->nthresholds, dur);
    }
    /* The pack's cost: the mean of its scenarios' (a sum would pay the fixed lines once a
     * scenario). */
    rep_cost_mean cm[REP_COST_MEANS_MAX];
    size_t n = rep_cost_means(r, cm, REP_COST_MEANS_MAX);
    if (!n) return;
    hx_buf_puts(out, "\n| cost model (mean of scenarios) | per run | per month | fixed | variable "
                     "|\n| --- | ---: | ---: | ---: | ---: |\n");
    for (size_t k = 0; k < n; k++) {
        hx_buf_puts(out, "| ");
        rep_md_cell(out, cm[k].model, 80);
        const double v[4] = {cm[k].per_run, cm[k].monthly, cm[k].monthly_fixed,
                             cm[k].monthly_variable};
        for (int w = 0; w < 4; w++) {
            hx_buf_puts(out, " | ");
            money(out, v[w], cm[k].currency);
        }
        hx_buf_puts(out, " |\n");
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
