/* html.c - report.html: one self-contained file (inline CSS, JS and SVG, nothing fetched) that a
 * person reads in a browser or prints. The page shell, style and script are files under
 * reports/html/ embedded at build time; this file writes the body. Every model string goes
 * through rep_html_text, and no model text is ever written inside the <script> element or an
 * unquoted attribute: the script only works on the DOM. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "embed.h"
#include "rep.h"

extern const struct hx_embedded hx_html_assets[];

bool rep_html_text(hx_buf *out, const char *s, size_t max)
{
    if (!s) return !out->oom;
    size_t len = strlen(s), end = rep_utf8_cut(s, len, max);
    for (size_t i = 0; i < end;) {
        int32_t cp;
        size_t k = hx_utf8_next(s + i, end - i, &cp);
        if (cp == '\r' && i + 1 < end && s[i + 1] == '\n') {
            /* CRLF logs read as LF; a lone CR is a control character like any other. */
        } else if (cp < 0 || (cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0x7f ||
                   (cp >= 0x80 && cp < 0xa0) || cp == 0xfffe || cp == 0xffff ||
                   (cp >= 0xfdd0 && cp <= 0xfdef)) {
            hx_buf_puts(out, REP_REPLACEMENT);
        } else if (cp == '&') {
            hx_buf_puts(out, "&amp;");
        } else if (cp == '<') {
            hx_buf_puts(out, "&lt;");
        } else if (cp == '>') {
            hx_buf_puts(out, "&gt;");
        } else if (cp == '"') {
            hx_buf_puts(out, "&quot;");
        } else if (cp == '\'') {
            hx_buf_puts(out, "&#39;");
        } else {
            hx_buf_append(out, s + i, k);
        }
        i += k;
    }
    if (end < len) hx_buf_puts(out, REP_ELLIPSIS);
    return !out->oom;
}

/* ---- small formatting helpers (numbers and enum names; text goes through rep_html_text) ---- */

#define TXT(out, s, max) rep_html_text((out), (s), (max))

static const char *status_class(results_status s)
{
    return results_status_name(s);
}

static void put_dur(hx_buf *out, double s)
{
    char tmp[64];
    rep_duration(tmp, sizeof tmp, s);
    TXT(out, tmp, 0);
}

static void put_bytes(hx_buf *out, double b)
{
    char tmp[64];
    rep_bytes(tmp, sizeof tmp, b);
    TXT(out, tmp, 0);
}

static void put_money(hx_buf *out, double v, const char *currency)
{
    char tmp[64];
    rep_money(tmp, sizeof tmp, v, currency);
    TXT(out, tmp, 0);
}

void rep_html_val(hx_buf *out, double v, const char *unit)
{
    char tmp[96];
    rep_value(tmp, sizeof tmp, v, unit);
    TXT(out, tmp, 0);
}

void rep_html_status(hx_buf *out, results_status s)
{
    hx_buf_printf(out, "<span class=\"st-%s\">%s</span>", status_class(s), results_status_name(s));
}

void rep_html_controls(hx_buf *out, const char *filter)
{
    hx_buf_printf(out,
                  "<div id=\"controls\" class=\"controls\" hidden><label><input "
                  "type=\"checkbox\" id=\"only-failed\"> %s</label> \xc2\xb7 "
                  "<button type=\"button\" id=\"expand-all\">expand all</button> "
                  "<button type=\"button\" id=\"collapse-all\">collapse all</button></div>",
                  filter);
}

void rep_html_td(hx_buf *out, const char *s, size_t max)
{
    if (!s) {
        hx_buf_puts(out, "<td class=\"null\">\xe2\x80\x94</td>");
        return;
    }
    hx_buf_puts(out, "<td>");
    TXT(out, s, max);
    hx_buf_puts(out, "</td>");
}

/* ---- SVG charts ---- */

static double lo_decade(double v)
{
    return floor(log10(v));
}

/* Bars of p50/p90/p99/p999/max on a log axis: tails span decades, a linear axis hides them. */
static void chart_hist_bars(hx_buf *out, const results_hist *h)
{
    const char *label[] = {"p50", "p90", "p99", "p99.9", "max"};
    double v[] = {h->p50, h->p90, h->p99, h->p999, h->max};
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < 5; i++)
        if (v[i] > 0 && isfinite(v[i])) {
            lo = fmin(lo, v[i]);
            hi = fmax(hi, v[i]);
        }
    const int W = 380, H = 180, L = 10, R = 10, T = 10, B = 34;
    hx_buf_printf(out,
                  "<svg class=\"chart\" data-chart=\"hist-bars\" role=\"img\" width=\"%d\" "
                  "height=\"%d\" viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\">",
                  W, H, W, H);
    hx_buf_printf(out, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", L, H - B,
                  W - R, H - B);
    if (isfinite(lo)) {
        double d0 = lo_decade(lo) - 0.3, d1 = log10(hi) + 0.15;
        if (d1 - d0 < 1) d0 = d1 - 1;
        double ph = H - B - T, bw = (double)(W - L - R) / 5;
        for (int i = 0; i < 5; i++) {
            double x = L + i * bw + bw * 0.15;
            hx_buf_printf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>",
                          x + bw * 0.35, H - B + 13, label[i]);
            if (!(v[i] > 0) || !isfinite(v[i])) continue;
            double hgt = ph * (log10(v[i]) - d0) / (d1 - d0);
            if (hgt < 1) hgt = 1;
            hx_buf_printf(out,
                          "<rect class=\"bar%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                          "height=\"%.1f\"><title>%s</title></rect>",
                          i == 4 ? " max" : "", x, H - B - hgt, bw * 0.7, hgt, label[i]);
            hx_buf_printf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", x + bw * 0.35,
                          H - B + 26);
            rep_html_val(out, v[i], h->unit);
            hx_buf_puts(out, "</text>");
        }
        hx_buf_puts(out, "<text x=\"12\" y=\"20\">log scale</text>");
    } else {
        hx_buf_printf(out, "<text x=\"%d\" y=\"%d\">no values</text>", L + 10, H / 2);
    }
    hx_buf_puts(out, "</svg>");
}

/* The percentile curve on a "nines" x axis (x = log10(1 / (1 - q))), log y axis. */
static void chart_hist_curve(hx_buf *out, const results_hist *h)
{
    double q[] = {0, 0.5, 0.9, 0.99, 0.999, 0.9999};
    double v[] = {h->min, h->p50, h->p90, h->p99, h->p999, h->max};
    const int W = 380, H = 180, L = 10, R = 10, T = 12, B = 22;
    hx_buf_printf(out,
                  "<svg class=\"chart\" data-chart=\"hist-curve\" role=\"img\" width=\"%d\" "
                  "height=\"%d\" viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\">",
                  W, H, W, H);
    hx_buf_printf(out, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", L, H - B,
                  W - R, H - B);
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < 6; i++)
        if (v[i] > 0 && isfinite(v[i])) {
            lo = fmin(lo, v[i]);
            hi = fmax(hi, v[i]);
        }
    if (isfinite(lo)) {
        double d0 = log10(lo) - 0.1, d1 = log10(hi) + 0.1;
        if (d1 - d0 < 0.5) d0 = d1 - 0.5;
        double pw = W - L - R, ph = H - B - T;
        const char *xl[] = {"0", "50", "90", "99", "99.9", "max"};
        hx_buf_puts(out, "<polyline class=\"curve\" points=\"");
        for (int i = 0; i < 6; i++) {
            if (!(v[i] > 0) || !isfinite(v[i])) continue;
            double x = L + pw * (q[i] > 0 ? log10(1 / (1 - q[i])) : 0) / 4;
            double y = H - B - ph * (log10(v[i]) - d0) / (d1 - d0);
            hx_buf_printf(out, "%.1f,%.1f ", x, y);
        }
        hx_buf_puts(out, "\"/>");
        for (int i = 0; i < 6; i++) {
            double x = L + pw * (q[i] > 0 ? log10(1 / (1 - q[i])) : 0) / 4;
            hx_buf_printf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">%s</text>", x, H - 8,
                          i == 0   ? "start"
                          : i == 5 ? "end"
                                   : "middle",
                          xl[i]);
        }
        hx_buf_puts(out, "<text x=\"14\" y=\"22\">max ");
        rep_html_val(out, hi, h->unit);
        hx_buf_puts(out, "</text>");
    } else {
        hx_buf_printf(out, "<text x=\"%d\" y=\"%d\">no values</text>", L + 10, H / 2);
    }
    hx_buf_puts(out, "</svg>");
}

/* The most CPU a process tree can use on this machine: cores x 100 %. A sample above it is a
 * measuring artefact (a burst of CPU time accounted in one short interval); the chart clamps it
 * rather than let one spike flatten the rest. 0 when the core count is unknown. */
static double cpu_ceiling(int cores)
{
    return cores > 0 ? 100.0 * cores : 0;
}

static double cpu_clamped(double pct, double ceiling)
{
    if (!isfinite(pct) || pct < 0) return pct;
    return ceiling > 0 && pct > ceiling ? ceiling : pct;
}

static void chart_resources(hx_buf *out, const results_resources *res, int cores)
{
    const int W = 780, H = 200, L = 44, R = 64, T = 12, B = 24;
    double tmax = 0, cmax = 100, rmax = 1, ceil_pct = cpu_ceiling(cores);
    for (size_t i = 0; i < res->nseries; i++) {
        const results_res_point *p = &res->series[i];
        double c = cpu_clamped(p->cpu_pct, ceil_pct);
        if (isfinite(p->t_s)) tmax = fmax(tmax, p->t_s);
        if (isfinite(c)) cmax = fmax(cmax, c);
        rmax = fmax(rmax, (double)p->rss_bytes);
    }
    if (tmax <= 0) tmax = 1;
    double pw = W - L - R, ph = H - B - T;
    hx_buf_printf(out,
                  "<svg class=\"chart\" data-chart=\"resources\" role=\"img\" width=\"%d\" "
                  "height=\"%d\" viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\">",
                  W, H, W, H);
    hx_buf_printf(out,
                  "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
                  "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>",
                  L, H - B, W - R, H - B, L, T, L, H - B);
    const char *cls[] = {"cpu", "rss"};
    for (int k = 0; k < 2; k++) {
        hx_buf_printf(out, "<polyline class=\"%s\" points=\"", cls[k]);
        for (size_t i = 0; i < res->nseries; i++) {
            const results_res_point *p = &res->series[i];
            double val =
                k == 0 ? cpu_clamped(p->cpu_pct, ceil_pct) / cmax : (double)p->rss_bytes / rmax;
            if (!isfinite(val) || !isfinite(p->t_s)) continue;
            hx_buf_printf(out, "%.1f,%.1f ", L + pw * p->t_s / tmax, H - B - ph * val);
        }
        hx_buf_puts(out, "\"/>");
    }
    hx_buf_printf(out, "<text x=\"4\" y=\"%d\">%.0f %%</text>", T + 8, cmax);
    hx_buf_printf(out, "<text x=\"4\" y=\"%d\">0</text>", H - B);
    hx_buf_printf(out, "<text x=\"%d\" y=\"%d\">", W - R + 4, T + 8);
    put_bytes(out, rmax);
    hx_buf_puts(out, "</text>");
    hx_buf_printf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", W - R, H - 6);
    put_dur(out, tmax);
    hx_buf_puts(out, "</text>");
    hx_buf_printf(out,
                  "<text x=\"%d\" y=\"%d\" class=\"legend\">\xe2\x94\x80 CPU %% of one core "
                  "(blue",
                  L + 8, T + 8);
    if (cores > 0) hx_buf_printf(out, "; at most %d %% on %d cores", cores * 100, cores);
    hx_buf_puts(out, ")  \xe2\x94\x80 RSS (pink)</text>");
    hx_buf_puts(out, "</svg>");
}

static void chart_cost(hx_buf *out, const results_cost *c)
{
    const int W = 520, ROW = 20, L = 170, R = 110;
    int H = (int)c->nlines * ROW + 10;
    double max = 0;
    for (size_t i = 0; i < c->nlines; i++)
        if (isfinite(c->lines[i].cost)) max = fmax(max, c->lines[i].cost);
    hx_buf_printf(out,
                  "<svg class=\"chart\" data-chart=\"cost\" role=\"img\" width=\"%d\" "
                  "height=\"%d\" viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\">",
                  W, H, W, H);
    for (size_t i = 0; i < c->nlines; i++) {
        const results_cost_line *ln = &c->lines[i];
        int y = 5 + (int)i * ROW;
        hx_buf_printf(out, "<text x=\"4\" y=\"%d\">", y + 13);
        TXT(out, ln->component, 24);
        hx_buf_puts(out, "</text>");
        double w = max > 0 && isfinite(ln->cost) && ln->cost > 0 ? (W - L - R) * ln->cost / max : 0;
        if (w > 0 && w < 1) w = 1;
        hx_buf_printf(out, "<rect class=\"cost\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\"/>",
                      L, y + 3, w, ROW - 6);
        hx_buf_printf(out, "<text x=\"%.1f\" y=\"%d\">", L + w + 4, y + 13);
        put_money(out, ln->cost, c->currency);
        hx_buf_puts(out, "</text>");
    }
    hx_buf_puts(out, "</svg>");
}

/* ---- sections ---- */

static void put_samples(hx_buf *out, const results_table *t)
{
    if (!t->nrows && !t->ncolumns) return;
    hx_buf_puts(out, "<table class=\"samples\"><tr>");
    for (size_t i = 0; i < t->ncolumns; i++) {
        hx_buf_puts(out, "<th>");
        TXT(out, t->columns[i], 80);
        hx_buf_puts(out, "</th>");
    }
    hx_buf_puts(out, "</tr>");
    for (size_t r = 0; r < t->nrows && r < 50; r++) {
        hx_buf_puts(out, "<tr>");
        for (size_t c = 0; c < t->rows[r].ncells; c++)
            rep_html_td(out, t->rows[r].cells[c], 200);
        hx_buf_puts(out, "</tr>");
    }
    hx_buf_puts(out, "</table>");
    if (t->nrows > 50)
        hx_buf_printf(out, "<p class=\"dim\">%zu more rows in run.json</p>", t->nrows - 50);
}

static void put_checks(hx_buf *out, const results_scenario *sc)
{
    hx_buf_printf(out, "<h4>checks (%zu)</h4>", sc->nchecks);
    if (!sc->nchecks) return;
    hx_buf_puts(out, "<table class=\"checks\"><tr><th>check</th><th>kind</th><th>severity</th>"
                     "<th>status</th><th>expected</th><th>actual</th><th>message</th>"
                     "<th>where</th></tr>");
    for (size_t i = 0; i < sc->nchecks; i++) {
        const results_check *c = &sc->checks[i];
        bool warn = c->status == RESULTS_FAIL && c->severity == RESULTS_SEV_WARN;
        hx_buf_printf(out, "<tr class=\"check%s\">",
                      c->status == RESULTS_PASS   ? " ok"
                      : warn                      ? " warn"
                      : c->status == RESULTS_SKIP ? " skip"
                                                  : " bad");
        rep_html_td(out, c->name, 300);
        rep_html_td(out, c->kind, 120);
        hx_buf_printf(out, "<td>%s</td><td class=\"status\">",
                      c->severity == RESULTS_SEV_WARN ? "warn" : "error");
        if (warn)
            hx_buf_puts(out, "<span class=\"st-warn\">warn</span>");
        else
            rep_html_status(out, c->status);
        hx_buf_puts(out, "</td>");
        rep_html_td(out, c->expected, 1000);
        rep_html_td(out, c->actual, 1000);
        hx_buf_puts(out, "<td>");
        TXT(out, c->message, 2000);
        for (size_t k = 0; k < c->ncounts; k++) {
            hx_buf_puts(
                out, k ? ", " : (c->message ? "<br><span class=\"dim\">" : "<span class=\"dim\">"));
            TXT(out, c->counts[k].name, 80);
            hx_buf_printf(out, "=%lld", (long long)c->counts[k].value);
            if (k + 1 == c->ncounts) hx_buf_puts(out, "</span>");
        }
        put_samples(out, &c->samples);
        hx_buf_puts(out, "</td>");
        rep_html_td(out, c->where, 200);
        hx_buf_puts(out, "</tr>");
    }
    hx_buf_puts(out, "</table>");
}

static void put_thresholds(hx_buf *out, const results_scenario *sc)
{
    if (!sc->nthresholds) return;
    hx_buf_printf(out, "<h4>thresholds (%zu)</h4>", sc->nthresholds);
    hx_buf_puts(out, "<table class=\"thresholds\"><tr><th>metric</th><th>op</th><th>limit</th>"
                     "<th>actual</th><th>status</th><th>where</th></tr>");
    for (size_t i = 0; i < sc->nthresholds; i++) {
        const results_threshold *t = &sc->thresholds[i];
        hx_buf_printf(out, "<tr class=\"threshold%s\">",
                      t->status == RESULTS_PASS   ? " ok"
                      : t->status == RESULTS_SKIP ? " skip"
                                                  : " bad");
        rep_html_td(out, t->metric, 200);
        rep_html_td(out, t->op, 8);
        hx_buf_puts(out, "<td class=\"num\">");
        rep_html_val(out, t->limit, t->unit);
        hx_buf_puts(out, "</td><td class=\"num\">");
        if (isnan(t->actual)) {
            /* Why there is no value: it could not be measured (fail) or does not apply. */
            if (t->status != RESULTS_SKIP || !t->note) hx_buf_puts(out, "not measured");
            if (t->note) {
                if (t->status != RESULTS_SKIP) hx_buf_puts(out, ": ");
                rep_html_text(out, t->note, 400);
            }
        } else {
            rep_html_val(out, t->actual, t->unit);
        }
        hx_buf_puts(out, "</td><td class=\"status\">");
        rep_html_status(out, t->status);
        hx_buf_puts(out, "</td>");
        rep_html_td(out, t->where, 200);
        hx_buf_puts(out, "</tr>");
    }
    hx_buf_puts(out, "</table>");
    for (size_t i = 0; i < sc->nthresholds; i++) {
        const results_threshold *t = &sc->thresholds[i];
        if (!t->explain) continue;
        hx_buf_puts(out, "<details class=\"plan\"><summary>plan of ");
        TXT(out, t->metric, 200);
        hx_buf_puts(out, " (EXPLAIN ANALYZE, BUFFERS)</summary><pre>");
        TXT(out, t->explain, 0);
        hx_buf_puts(out, "</pre></details>");
    }
}

static void put_invocations(hx_buf *out, const results_scenario *sc)
{
    if (!sc->ninvocations) return;
    hx_buf_printf(out, "<h4>solution invocations (%zu)</h4>", sc->ninvocations);
    bool left = false;
    for (size_t i = 0; i < sc->ninvocations; i++)
        left |= sc->invocations[i].leftovers > 0;
    hx_buf_puts(out, "<table class=\"invocations\"><tr><th>batch</th><th>exit</th><th>wall</th>"
                     "<th>cpu user</th><th>cpu sys</th><th>peak rss</th>");
    if (left) hx_buf_puts(out, "<th>leftovers</th>");
    hx_buf_puts(out, "</tr>");
    for (size_t i = 0; i < sc->ninvocations; i++) {
        const results_invocation *iv = &sc->invocations[i];
        bool ok = !results_invocation_failed(iv);
        hx_buf_printf(out, "<tr class=\"invocation %s\"><td>", ok ? "ok" : "bad");
        if (iv->batch < 0)
            hx_buf_puts(out, "service");
        else
            hx_buf_printf(out, "%d", iv->batch);
        hx_buf_printf(out, "</td><td class=\"status %s\">", ok ? "st-pass" : "st-fail");
        if (iv->timed_out) hx_buf_puts(out, "timed out ");
        if (iv->signal)
            TXT(out, iv->signal, 16);
        else
            hx_buf_printf(out, "%d", iv->exit_code);
        hx_buf_puts(out, "</td><td class=\"num\">");
        put_dur(out, iv->wall_s);
        hx_buf_puts(out, "</td><td class=\"num\">");
        put_dur(out, iv->cpu_user_s);
        hx_buf_puts(out, "</td><td class=\"num\">");
        put_dur(out, iv->cpu_sys_s);
        hx_buf_puts(out, "</td><td class=\"num\">");
        put_bytes(out, (double)iv->peak_rss_bytes);
        hx_buf_puts(out, "</td>");
        if (left) hx_buf_printf(out, "<td class=\"num\">%d</td>", iv->leftovers);
        hx_buf_puts(out, "</tr>");
    }
    hx_buf_puts(out, "</table>");
    for (size_t i = 0; i < sc->ninvocations; i++) {
        const results_invocation *iv = &sc->invocations[i];
        const char *names[] = {"stdout", "stderr"};
        const char *tails[] = {iv->stdout_tail, iv->stderr_tail};
        for (int k = 0; k < 2; k++) {
            if (!tails[k] || !*tails[k]) continue;
            if (iv->batch < 0)
                hx_buf_printf(out, "<div class=\"dim\">service %s (tail)</div><pre>", names[k]);
            else
                hx_buf_printf(out, "<div class=\"dim\">batch %d %s (tail)</div><pre>", iv->batch,
                              names[k]);
            TXT(out, rep_tail(tails[k], REP_HTML_LOG_MAX), 0);
            hx_buf_puts(out, "</pre>");
        }
    }
}

static void put_histograms(hx_buf *out, const results_scenario *sc)
{
    if (!sc->nhistograms) return;
    hx_buf_puts(out, "<h4>histograms</h4>");
    for (size_t i = 0; i < sc->nhistograms; i++) {
        const results_hist *h = &sc->histograms[i];
        hx_buf_puts(out, "<div class=\"hist\"><div>");
        TXT(out, h->name, 120);
        hx_buf_printf(out, " <span class=\"dim\">n=%lld, mean ", (long long)h->count);
        rep_html_val(out, h->mean, h->unit);
        hx_buf_puts(out, "</span></div><div class=\"charts\"><figure>");
        chart_hist_bars(out, h);
        hx_buf_puts(out, "<figcaption>percentiles, log scale</figcaption></figure><figure>");
        chart_hist_curve(out, h);
        hx_buf_puts(out, "<figcaption>percentile curve</figcaption></figure></div></div>");
    }
}

/* A service scenario's stream second by second (run.json timeline, run/live.h): the p99 of both
 * latency views on the left axis, records in and outputs out per second on the right. */
static void chart_timeline(hx_buf *out, const results_scenario *sc)
{
    const int W = 780, H = 220, L = 52, R = 64, T = 12, B = 24;
    double tmax = 1, lmax = 0, rmax = 1;
    for (size_t i = 0; i < sc->ntimeline; i++) {
        const results_tl_point *p = &sc->timeline[i];
        if (isfinite(p->t_s)) tmax = fmax(tmax, p->t_s + 1);
        if (isfinite(p->p99_s)) lmax = fmax(lmax, p->p99_s);
        if (isfinite(p->p99_uncorr_s)) lmax = fmax(lmax, p->p99_uncorr_s);
        rmax = fmax(rmax, (double)(p->in > p->out ? p->in : p->out));
    }
    if (lmax <= 0) lmax = 1e-3;
    double pw = W - L - R, ph = H - B - T;
    hx_buf_printf(out,
                  "<svg class=\"chart\" data-chart=\"timeline\" "
                  "role=\"img\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                  "xmlns=\"http://www.w3.org/2000/svg\">",
                  W, H, W, H);
    hx_buf_printf(out,
                  "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
                  "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>",
                  L, H - B, W - R, H - B, L, T, L, H - B);
    const char *cls[] = {"tin", "tout", "p99c", "p99u"};
    for (int k = 0; k < 4; k++) {
        hx_buf_printf(out, "<polyline class=\"%s\" points=\"", cls[k]);
        for (size_t i = 0; i < sc->ntimeline; i++) {
            const results_tl_point *p = &sc->timeline[i];
            double v = k == 0   ? (double)p->in / rmax
                       : k == 1 ? (double)p->out / rmax
                       : k == 2 ? p->p99_s / lmax
                                : p->p99_uncorr_s / lmax;
            if (!isfinite(v) || !isfinite(p->t_s)) continue;
            hx_buf_printf(out, "%.1f,%.1f ", L + pw * (p->t_s + 0.5) / tmax, H - B - ph * v);
        }
        hx_buf_puts(out, "\"/>");
    }
    hx_buf_printf(out, "<text x=\"4\" y=\"%d\">", T + 8);
    put_dur(out, lmax);
    hx_buf_printf(out, "</text><text x=\"4\" y=\"%d\">0</text>", H - B);
    hx_buf_printf(out, "<text x=\"%d\" y=\"%d\">%.0f/s</text>", W - R + 4, T + 8, rmax);
    hx_buf_printf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", W - R, H - 6);
    put_dur(out, tmax);
    hx_buf_puts(out, "</text>");
    hx_buf_printf(out,
                  "<text x=\"%d\" y=\"%d\" class=\"legend\">\xe2\x94\x80 p99 corrected (red) "
                  "\xe2\x94\x84 p99 uncorrected (blue) \xe2\x94\x80 in (grey) / out (green) a "
                  "second</text>",
                  L + 8, T + 8);
    hx_buf_puts(out, "</svg>");
}

static void put_timeline(hx_buf *out, const results_scenario *sc)
{
    if (!sc->ntimeline) return;
    hx_buf_puts(out, "<h4>stream timeline</h4><figure>");
    chart_timeline(out, sc);
    hx_buf_puts(out, "<figcaption>each second: the p99 end-to-end latency of the outputs "
                     "timestamped in it, from the intended send time (corrected) and from the "
                     "actual one (uncorrected), and the records sent and outputs read</figcaption>"
                     "</figure>");
}

static void put_resources(hx_buf *out, const results_scenario *sc, int cores)
{
    const results_resources *res = &sc->resources;
    if (!res->source && !res->nseries && !res->peak_rss_bytes) return;
    hx_buf_puts(out, "<h4>resources</h4><p>");
    if (res->source) {
        hx_buf_puts(out, "source ");
        TXT(out, res->source, 16);
        hx_buf_puts(out, " \xc2\xb7 ");
    }
    hx_buf_puts(out, "cpu user ");
    put_dur(out, res->cpu_user_s);
    hx_buf_puts(out, ", sys ");
    put_dur(out, res->cpu_sys_s);
    double own, db, served;
    if (rep_cpu_split(sc, &own, &db, &served)) {
        /* The database's CPU on the solution's behalf, beside its own: work moved into SQL. */
        hx_buf_puts(out, " \xc2\xb7 database cpu ");
        put_dur(out, isfinite(db) ? db : 0);
        if (isfinite(served) && served > 0) {
            hx_buf_puts(out, " + served ");
            put_dur(out, served);
        }
        hx_buf_puts(out, " (solution and database ");
        put_dur(out, own + (isfinite(db) ? db : 0) + (isfinite(served) ? served : 0));
        hx_buf_puts(out, ")");
    }
    hx_buf_puts(out, " \xc2\xb7 peak rss ");
    put_bytes(out, (double)res->peak_rss_bytes);
    hx_buf_puts(out, ", mean ");
    put_bytes(out, (double)res->mean_rss_bytes);
    hx_buf_puts(out, " \xc2\xb7 read ");
    put_bytes(out, (double)res->read_bytes);
    hx_buf_puts(out, ", written ");
    put_bytes(out, (double)res->write_bytes);
    if (res->nseries) {
        double peak = 0, ceil_pct = cpu_ceiling(cores);
        for (size_t i = 0; i < res->nseries; i++) {
            double c = cpu_clamped(res->series[i].cpu_pct, ceil_pct);
            if (isfinite(c)) peak = fmax(peak, c);
        }
        char tmp[64];
        rep_percent(tmp, sizeof tmp, peak);
        hx_buf_puts(out, " \xc2\xb7 peak cpu ");
        TXT(out, tmp, 0);
        if (cores > 0) hx_buf_printf(out, " of %d %%", cores * 100);
    }
    hx_buf_puts(out, "</p>");
    if (res->nseries) chart_resources(out, res, cores);
}

static void put_cost(hx_buf *out, const results_scenario *sc)
{
    if (!sc->ncost) return;
    hx_buf_puts(out, "<h4>cost</h4>");
    for (size_t i = 0; i < sc->ncost; i++) {
        const results_cost *c = &sc->cost[i];
        hx_buf_puts(out, "<div class=\"cost-model\"><strong>");
        TXT(out, c->model, 80);
        hx_buf_puts(out, "</strong>: per run ");
        put_money(out, c->per_run_total, c->currency);
        hx_buf_puts(out, ", per month ");
        put_money(out, c->monthly_total, c->currency);
        hx_buf_puts(out, " (fixed ");
        put_money(out, c->monthly_fixed, c->currency);
        hx_buf_puts(out, ", variable ");
        put_money(out, c->monthly_variable, c->currency);
        hx_buf_puts(out, "), per 1M input ");
        put_money(out, c->per_million_input, c->currency);
        hx_buf_puts(out, ", per correct output ");
        put_money(out, c->per_correct_output, c->currency);
        if (c->nlines) {
            hx_buf_puts(out, "<table class=\"cost-lines\"><tr><th>component</th><th>kind</th>"
                             "<th>quantity</th><th>unit price</th><th>a run</th><th>a month</th>"
                             "<th>note</th></tr>");
            for (size_t k = 0; k < c->nlines; k++) {
                const results_cost_line *ln = &c->lines[k];
                hx_buf_puts(out, "<tr>");
                rep_html_td(out, ln->component, 120);
                rep_html_td(out, ln->kind ? ln->kind : "", 16);
                hx_buf_printf(out, "<td class=\"num\">%.4g ", ln->quantity);
                TXT(out, ln->unit, 40);
                hx_buf_puts(out, "</td><td class=\"num\">");
                put_money(out, ln->unit_price, c->currency);
                hx_buf_puts(out, "</td><td class=\"num\">");
                put_money(out, ln->cost, c->currency);
                hx_buf_puts(out, "</td><td class=\"num\">");
                put_money(out, ln->monthly, c->currency);
                hx_buf_puts(out, "</td>");
                rep_html_td(out, ln->note, 200);
                hx_buf_puts(out, "</tr>");
            }
            hx_buf_puts(out, "</table>");
            chart_cost(out, c);
        }
        if (c->nphases) {
            /* Where the money went: the solution's phases split the billed compute; phases
             * marked "(harness)" are the harness's own work, priced outside the bill. */
            hx_buf_puts(out, "<table class=\"cost-phases\"><tr><th>phase</th><th>cost</th></tr>");
            for (size_t k = 0; k < c->nphases; k++) {
                hx_buf_puts(out, "<tr>");
                rep_html_td(out, c->phases[k].name, 80);
                hx_buf_puts(out, "<td class=\"num\">");
                put_money(out, c->phases[k].cost, c->currency);
                hx_buf_puts(out, "</td></tr>");
            }
            hx_buf_puts(out, "</table>");
        }
        hx_buf_puts(out, "</div>");
    }
}

static void put_score(hx_buf *out, const results_score *s)
{
    if (!s->scored) return;
    hx_buf_printf(out, "<h4>score</h4><p>%.1f / 100</p>", s->value);
    if (!s->ncomponents) return;
    hx_buf_puts(out, "<table class=\"score\"><tr><th>component</th><th>value</th><th>weight</th>"
                     "</tr>");
    for (size_t i = 0; i < s->ncomponents; i++) {
        hx_buf_puts(out, "<tr>");
        rep_html_td(out, s->components[i].name, 80);
        hx_buf_printf(out, "<td class=\"num\">%.1f</td><td class=\"num\">%.2f</td></tr>",
                      s->components[i].value, s->components[i].weight);
    }
    hx_buf_puts(out, "</table>");
}

static void put_metrics(hx_buf *out, const results_scenario *sc)
{
    if (!sc->nmetrics && !sc->nstats) return;
    hx_buf_puts(out, "<h4>metrics</h4><table class=\"metrics\"><tr><th>metric</th><th>value</th>"
                     "</tr>");
    for (size_t i = 0; i < sc->nmetrics; i++) {
        hx_buf_puts(out, "<tr>");
        rep_html_td(out, sc->metrics[i].name, 200);
        hx_buf_puts(out, "<td class=\"num\">");
        rep_html_val(out, sc->metrics[i].value, sc->metrics[i].unit);
        hx_buf_puts(out, "</td></tr>");
    }
    for (size_t i = 0; i < sc->nstats; i++) {
        hx_buf_puts(out, "<tr>");
        rep_html_td(out, sc->stats[i].name, 200);
        hx_buf_printf(out, "<td class=\"num\">%lld</td></tr>", (long long)sc->stats[i].value);
    }
    hx_buf_puts(out, "</table>");
}

static void put_scenario(hx_buf *out, const results_scenario *sc, size_t idx, int cores)
{
    bool ok = sc->status == RESULTS_PASS;
    size_t skipped = 0;
    for (size_t i = 0; i < sc->nthresholds; i++)
        skipped += sc->thresholds[i].status == RESULTS_SKIP;
    /* A failing scenario opens, and so does a passing one with a limit that was not measured:
     * nothing that needs a look stays folded away. */
    hx_buf_printf(out,
                  "<details class=\"scenario\" id=\"scenario-%zu\" data-status=\"%s\"%s><summary>",
                  idx, results_status_name(sc->status), ok && !skipped ? "" : " open");
    hx_buf_printf(out, "<span class=\"st-%s\">[%s]</span> <span class=\"scenario-name\">",
                  status_class(sc->status), results_status_name(sc->status));
    TXT(out, sc->name, 300);
    hx_buf_puts(out, "</span> <span class=\"dim\">");
    put_dur(out, sc->duration_s);
    if (sc->file) {
        hx_buf_puts(out, " \xc2\xb7 ");
        TXT(out, sc->file, 200);
    }
    hx_buf_printf(out, " \xc2\xb7 phase %d", sc->phase);
    for (size_t i = 0; i < sc->ntags; i++) {
        hx_buf_puts(out, i ? ", " : " \xc2\xb7 tags ");
        TXT(out, sc->tags[i], 60);
    }
    hx_buf_puts(out, "</span>");
    if (skipped)
        hx_buf_printf(out, " <span class=\"badge\">%zu limit%s not measured</span>", skipped,
                      skipped == 1 ? "" : "s");
    hx_buf_puts(out, "</summary>");
    if (sc->error) {
        hx_buf_puts(out, "<p class=\"err\">error: ");
        TXT(out, sc->error, 4000);
        hx_buf_puts(out, "</p>");
    }
    put_checks(out, sc);
    put_thresholds(out, sc);
    put_invocations(out, sc);
    put_histograms(out, sc);
    put_timeline(out, sc);
    put_resources(out, sc, cores);
    put_cost(out, sc);
    put_score(out, &sc->score);
    put_metrics(out, sc);
    hx_buf_puts(out, "</details>");
}

static void meta_row(hx_buf *out, const char *k, const char *v, size_t max)
{
    hx_buf_printf(out, "<dt>%s</dt><dd>", k);
    if (v)
        TXT(out, v, max);
    else
        hx_buf_puts(out, "<span class=\"null\">\xe2\x80\x94</span>");
    hx_buf_puts(out, "</dd>");
}

/* Cost per model over the whole run: the mean of a model's scenarios (each scenario is a month of
 * the same pipeline; a sum would pay the fixed lines once a scenario, docs/cost-models.md). */
static void put_cost_summary(hx_buf *out, const results_run *r)
{
    rep_cost_mean cm[REP_COST_MEANS_MAX];
    size_t n = rep_cost_means(r, cm, REP_COST_MEANS_MAX);
    if (!n) return;
    hx_buf_puts(out, "<table class=\"cost-summary\"><tr><th>cost model</th><th>per production "
                     "run (mean of scenarios)</th><th>per month (mean of scenarios)</th>"
                     "<th>fixed a month</th><th>variable a month</th></tr>");
    for (size_t k = 0; k < n; k++) {
        hx_buf_puts(out, "<tr>");
        rep_html_td(out, cm[k].model, 80);
        const double v[4] = {cm[k].per_run, cm[k].monthly, cm[k].monthly_fixed,
                             cm[k].monthly_variable};
        for (int w = 0; w < 4; w++) {
            hx_buf_puts(out, "<td class=\"num\">");
            put_money(out, v[w], cm[k].currency);
            hx_buf_puts(out, "</td>");
        }
        hx_buf_puts(out, "</tr>");
    }
    hx_buf_puts(out, "</table>");
}

static void put_body(hx_buf *out, const void *ctx)
{
    const results_run *r = ctx;
    hx_buf_puts(out, "<header><h1>harness ");
    TXT(out, r->pack_name ? r->pack_name : "run", 200);
    hx_buf_puts(out, "</h1><dl class=\"meta\">");
    meta_row(out, "pack", r->pack_name, 200);
    meta_row(out, "level", r->level, 80);
    meta_row(out, "solution", r->solution_name, 200);
    hx_buf_puts(out, "<dt>harness</dt><dd>");
    TXT(out, r->harness_version, 40);
    hx_buf_puts(out, " (");
    TXT(out, r->harness_commit, 40);
    hx_buf_printf(out, ", plugin abi %d)</dd>", r->plugin_abi);
    meta_row(out, "started", r->started, 40);
    hx_buf_puts(out, "<dt>duration</dt><dd>");
    put_dur(out, r->duration_s);
    hx_buf_puts(out, "</dd><dt>machine</dt><dd>");
    TXT(out, r->machine.hostname ? r->machine.hostname : "?", 120);
    hx_buf_puts(out, " \xc2\xb7 ");
    TXT(out, r->machine.cpu_model ? r->machine.cpu_model : "?", 120);
    hx_buf_printf(out, " \xc2\xb7 %d cores \xc2\xb7 ", r->machine.cores);
    put_bytes(out, (double)r->machine.ram_bytes);
    if (r->machine.kernel) {
        hx_buf_puts(out, " \xc2\xb7 ");
        TXT(out, r->machine.kernel, 80);
    }
    hx_buf_puts(out, "</dd></dl></header>");
    if (r->error) {
        hx_buf_puts(out, "<p class=\"banner err\">error: ");
        TXT(out, r->error, 4000);
        hx_buf_puts(out, "</p>");
    }
    if (r->partial)
        hx_buf_puts(out, "<p class=\"banner\">partial run: the run did not finish (rebuilt from a "
                         "journal, or merged without every shard); scenarios that did not run are "
                         "not listed.</p>");
    if (r->interrupted)
        hx_buf_puts(out, "<p class=\"banner\">interrupted: the run was stopped before every "
                         "scenario ran.</p>");
    const results_totals *t = &r->totals;
    const char *word = results_run_outcome(r);
    hx_buf_printf(out,
                  "<section id=\"verdict\" class=\"verdict st-%s\" data-verdict=\"%s\" "
                  "data-outcome=\"%s\"><span class=\"word\">%s</span>",
                  status_class(results_run_outcome_status(r)), results_status_name(r->verdict),
                  word, word);
    if (strcmp(word, results_status_name(r->verdict)) != 0 && r->nscenarios)
        hx_buf_printf(out, "<span class=\"so-far\">scenarios that ran: %s</span>",
                      results_status_name(r->verdict));
    if (r->score.scored)
        hx_buf_printf(out, "<span class=\"score\">score %.1f / 100</span>", r->score.value);
    hx_buf_printf(out,
                  "<span class=\"totals\">exit %d \xc2\xb7 %lld scenarios \xc2\xb7 checks %lld "
                  "passed, %lld failed, %lld errored, %lld skipped, %lld warnings \xc2\xb7 "
                  "thresholds %lld passed, %lld failed, %lld skipped</span></section>",
                  r->exit_code, (long long)t->scenarios, (long long)t->checks_passed,
                  (long long)t->checks_failed, (long long)t->checks_errored,
                  (long long)t->checks_skipped, (long long)t->checks_warned,
                  (long long)t->thresholds_passed, (long long)t->thresholds_failed,
                  (long long)t->thresholds_skipped);
    if (r->score.scored && r->score.ncomponents) put_score(out, &r->score);
    put_cost_summary(out, r);
    rep_html_controls(out, "only failures");
    hx_buf_puts(out, "<main>");
    for (size_t i = 0; i < r->nscenarios; i++)
        put_scenario(out, &r->scenarios[i], i, r->machine.cores);
    hx_buf_puts(out, "</main>");
    if (r->nprice_sheets || r->nseeds) {
        hx_buf_puts(out, "<footer><h3>reproducibility</h3><table><tr><th>price sheet</th>"
                         "<th>provider</th><th>region</th><th>as of</th></tr>");
        for (size_t i = 0; i < r->nprice_sheets; i++) {
            const results_price_sheet *p = &r->price_sheets[i];
            hx_buf_puts(out, "<tr>");
            rep_html_td(out, p->name, 80);
            rep_html_td(out, p->provider, 40);
            rep_html_td(out, p->region, 40);
            rep_html_td(out, p->as_of, 40);
            hx_buf_puts(out, "</tr>");
        }
        hx_buf_puts(out, "</table><p class=\"dim\">seeds: ");
        for (size_t i = 0; i < r->nseeds; i++) {
            if (i) hx_buf_puts(out, ", ");
            TXT(out, r->seeds[i].scenario, 120);
            hx_buf_printf(out, "=%llu", (unsigned long long)r->seeds[i].seed);
        }
        hx_buf_puts(out, "</p></footer>");
    }
}

bool rep_html_page(hx_buf *out, rep_html_fill title, rep_html_fill body, const void *ctx)
{
    const struct hx_embedded *tpl = hx_embedded_find(hx_html_assets, "template.html");
    const struct hx_embedded *css = hx_embedded_find(hx_html_assets, "style.css");
    const struct hx_embedded *js = hx_embedded_find(hx_html_assets, "app.js");
    if (!tpl || !css || !js) return false;
    const char *p = tpl->data, *end = tpl->data + tpl->len;
    while (p < end) {
        const char *m = strstr(p, "<!--HX:");
        if (!m) {
            hx_buf_append(out, p, (size_t)(end - p));
            break;
        }
        hx_buf_append(out, p, (size_t)(m - p));
        const char *close = strstr(m, "-->");
        if (!close) break;
        size_t nlen = (size_t)(close - (m + 7));
        const char *name = m + 7;
        if (nlen == 5 && !memcmp(name, "STYLE", 5))
            hx_buf_append(out, css->data, css->len);
        else if (nlen == 6 && !memcmp(name, "SCRIPT", 6))
            hx_buf_append(out, js->data, js->len);
        else if (nlen == 4 && !memcmp(name, "BODY", 4))
            body(out, ctx);
        else if (nlen == 5 && !memcmp(name, "TITLE", 5))
            title(out, ctx);
        p = close + 3;
    }
    return !out->oom;
}

static void put_title(hx_buf *out, const void *ctx)
{
    const results_run *r = ctx;
    hx_buf_puts(out, "harness: ");
    TXT(out, r->pack_name ? r->pack_name : "run", 120);
    hx_buf_printf(out, " \xe2\x80\x94 %s", results_run_outcome(r));
}

bool rep_html_render(hx_buf *out, const results_run *r)
{
    return rep_html_page(out, put_title, put_body, r);
}

int rep_html_page_write(const char *path, rep_html_fill title, rep_html_fill body, const void *ctx,
                        hx_err *e)
{
    hx_buf b;
    hx_buf_init(&b);
    int rc;
    if (!rep_html_page(&b, title, body, ctx))
        rc = hx_fail(e, HX_ENOMEM, "out of memory rendering '%s'", path);
    else
        rc = hx_write_atomic(path, b.data, b.len, e);
    hx_buf_release(&b);
    return rc;
}

int rep_html_write(const results_run *r, const char *path, hx_err *e)
{
    return rep_html_page_write(path, put_title, put_body, r, e);
}
