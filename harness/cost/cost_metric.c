/* cost_metric.c - how a priced breakdown is read: money with significant digits, the pack's
 * monthly figure, the breakdown as text, and the cost metrics (names, budgets' checks, values).
 * See cost.h and docs/cost-models.md. */
#include "cost.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cost_int.h"

const char *cost_money(char *buf, size_t n, double v, const char *currency, bool sign)
{
    const char *cur = currency ? currency : "";
    if (!isfinite(v)) {
        snprintf(buf, n, "n/a");
        return buf;
    }
    const char *sg = sign && v > 0 ? "+" : "";
    double a = fabs(v);
    if (a == 0)
        snprintf(buf, n, "%s0 %s", sg, cur);
    else if (a >= 100)
        snprintf(buf, n, "%s%.0f %s", sg, v, cur);
    else if (a >= 1)
        snprintf(buf, n, "%s%.2f %s", sg, v, cur);
    else
        snprintf(buf, n, "%s%.3g %s", sg, v, cur); /* three significant digits */
    return buf;
}

double cost_pack_monthly(const double *monthly, size_t n)
{
    if (!n) return NAN;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(monthly[i])) return NAN;
        s += monthly[i];
    }
    return s / (double)n;
}

bool cost_breakdown_format(const cost_breakdown *b, hx_buf *out)
{
    const cost_model *m = b->model;
    char a[48], c[48];
    hx_buf_printf(out, "cost model %s (%s %s, %s, as of %s)\n", m->name, m->provider, m->region,
                  m->currency, m->as_of);
    hx_buf_printf(out,
                  "  basis: %.4g input records a production run (%.4gx this run), %.4g runs a "
                  "month%s; %s\n",
                  b->records_per_run, b->scale_factor, b->runs_per_month,
                  b->scale_assumed ? " (assumed: the pack declares no scale)" : "",
                  b->two_sizes ? "fixed + per-record fitted from two sizes"
                               : "usage scaled linearly (one size measured)");
    hx_buf_printf(out, "  %-50s %-8s %12s %-20s %12s %14s %14s\n", "component", "kind",
                  "quantity/mo", "unit", "unit price", "per run", "per month");
    for (size_t i = 0; i < b->nlines; i++) {
        const cost_line *l = &b->lines[i];
        hx_buf_printf(out, "  %-50s %-8s %12.6g %-20s %12.6g %14s %14s%s%s\n", l->component,
                      l->kind == COST_FIXED ? "fixed" : "variable", l->quantity, l->unit,
                      l->unit_price, cost_money(a, sizeof a, l->run, m->currency, false),
                      cost_money(c, sizeof c, l->monthly, m->currency, false),
                      l->note[0] ? "  # " : "", l->note);
    }
    hx_buf_printf(out, "  per production run %s; ",
                  cost_money(a, sizeof a, b->total, m->currency, false));
    hx_buf_printf(out, "per month %s", cost_money(a, sizeof a, b->monthly, m->currency, false));
    hx_buf_printf(out, " = fixed %s + variable %s\n",
                  cost_money(a, sizeof a, b->monthly_fixed, m->currency, false),
                  cost_money(c, sizeof c, b->monthly_variable, m->currency, false));
    if (isfinite(b->per_million_input))
        hx_buf_printf(out, "  per million input records %s",
                      cost_money(a, sizeof a, b->per_million_input, m->currency, false));
    if (isfinite(b->per_correct_record))
        hx_buf_printf(out, "; per correct output %s",
                      cost_money(a, sizeof a, b->per_correct_record, m->currency, false));
    hx_buf_putc(out, '\n');
    if (b->db_reason[0]) hx_buf_printf(out, "  database: %s\n", b->db_reason);
    for (size_t i = 0; i < b->nfits; i++) {
        const cost_fit *f = &b->fits[i];
        if (!(f->measured > 0) && !(f->probe > 0)) continue;
        if (f->two_sizes)
            hx_buf_printf(out,
                          "  fit %-24s %.4g fixed + %.4g a record -> %.4g a run (slope %.2f)\n",
                          f->name, f->fixed, f->per_record, f->projected, f->slope);
        else
            hx_buf_printf(out, "  fit %-24s %.4g x %.4g -> %.4g a run (linear)\n", f->name,
                          f->measured, b->scale_factor, f->projected);
    }
    for (size_t i = 0; i < b->nphases; i++) {
        const cost_phase_cost *p = &b->phases[i];
        hx_buf_printf(out, "  phase %-20s %s a run", p->name,
                      cost_money(a, sizeof a, p->cost, m->currency, false));
        if (p->outside_bill)
            hx_buf_puts(out, " (outside the bill)");
        else
            hx_buf_printf(out, " (%.1f%%)", p->share * 100);
        if (isfinite(p->slope)) hx_buf_printf(out, ", growth slope %.2f", p->slope);
        hx_buf_putc(out, '\n');
    }
    return !out->oom;
}

/* ---- metrics ---- */

static const char *const metric_quantities[] = {"run",
                                                "monthly",
                                                "monthly.fixed",
                                                "monthly.variable",
                                                "per_million_input",
                                                "per_correct_record",
                                                "compute_used",
                                                "compute_provisioned",
                                                NULL};

/* Split "cost.[<model>.]<quantity>.<currency>" into its parts. Quantities may hold one dot
 * ("monthly.fixed"), model names none. Returns 0 or HX_EUSAGE. */
static int metric_split(const char *metric, char *model, char *quantity, char *currency, hx_err *e)
{
    char buf[256];
    if (!metric || strncmp(metric, "cost.", 5) != 0 || strlen(metric) >= sizeof buf)
        return hx_fail(e, HX_EUSAGE, "'%s' is not a cost metric; write e.g. 'cost.monthly.usd'",
                       metric ? metric : "(null)");
    memcpy(buf, metric, strlen(metric) + 1);
    char *part[6];
    size_t np = 0;
    for (char *save = NULL, *t = strtok_r(buf, ".", &save); t; t = strtok_r(NULL, ".", &save)) {
        if (np == 6) break;
        part[np++] = t;
    }
    bool sub =
        np >= 4 && (strcmp(part[np - 2], "fixed") == 0 || strcmp(part[np - 2], "variable") == 0);
    size_t nq = sub ? 2 : 1;
    if (np < 2 + nq || np > 3 + nq)
        return hx_fail(e, HX_EUSAGE,
                       "cost metric '%s' should read cost.[<model>.]<quantity>.<currency>, e.g. "
                       "'cost.monthly.usd' or 'cost.monthly.variable.usd'",
                       metric);
    model[0] = '\0';
    if (np == 3 + nq) snprintf(model, 128, "%s", part[1]);
    if (sub)
        snprintf(quantity, 64, "%s.%s", part[np - 3], part[np - 2]);
    else
        snprintf(quantity, 64, "%s", part[np - 2]);
    snprintf(currency, 16, "%s", part[np - 1]);
    for (int i = 0; metric_quantities[i]; i++)
        if (strcmp(quantity, metric_quantities[i]) == 0) return 0;
    const char *s = hx_suggest(quantity, metric_quantities);
    return hx_fail(e, HX_EUSAGE, "cost metric '%s': unknown quantity '%s'%s%s%s", metric, quantity,
                   s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
}

int cost_metric_check(const cost_model *const *models, size_t n, const char *metric, hx_err *e)
{
    char model[128], q[64], cur[16];
    int rc = metric_split(metric, model, q, cur, e);
    if (rc) return rc;
    if (n == 0)
        return hx_fail(e, HX_EUSAGE, "cost metric '%s' needs a cost model; pass --cost-model",
                       metric);
    const cost_model *m = models[0];
    if (model[0]) {
        m = NULL;
        for (size_t i = 0; i < n; i++)
            if (strcmp(models[i]->name, model) == 0) m = models[i];
        if (!m)
            return hx_fail(e, HX_EUSAGE,
                           "cost metric '%s' names model '%s', which this run does not price",
                           metric, model);
    }
    if (strcasecmp(cur, m->currency) != 0)
        return hx_fail(e, HX_EUSAGE,
                       "cost metric '%s' is in %s but model %s prices in %s: a budget is only "
                       "checked in its sheet's currency; write 'cost.%s%s%s.%s'",
                       metric, cur, m->name, m->currency, model[0] ? model : "",
                       model[0] ? "." : "", q, m->currency);
    return 0;
}

int cost_metric_value(const cost_breakdown *bs, size_t n, const char *metric, double *out,
                      hx_err *e)
{
    *out = NAN;
    const cost_model *ms[16];
    size_t nm = n < 16 ? n : 16;
    for (size_t i = 0; i < nm; i++)
        ms[i] = bs[i].model;
    int rc = cost_metric_check(ms, nm, metric, e);
    if (rc) return rc;
    char model[128], q[64], cur[16];
    metric_split(metric, model, q, cur, e);
    const cost_breakdown *b = &bs[0];
    if (model[0])
        for (size_t i = 0; i < nm; i++)
            if (strcmp(bs[i].model->name, model) == 0) b = &bs[i];
    const double v[] = {b->total,
                        b->monthly,
                        b->monthly_fixed,
                        b->monthly_variable,
                        b->per_million_input,
                        b->per_correct_record,
                        b->compute_used,
                        b->compute_provisioned};
    for (int i = 0; metric_quantities[i]; i++)
        if (strcmp(q, metric_quantities[i]) == 0) *out = v[i];
    return 0;
}

size_t cost_metrics(const cost_breakdown *b, bool primary, cost_metric *out, size_t max)
{
    static const char *const q[] = {"run",
                                    "monthly",
                                    "monthly.fixed",
                                    "monthly.variable",
                                    "per_million_input",
                                    "per_correct_record"};
    const double v[] = {b->total,
                        b->monthly,
                        b->monthly_fixed,
                        b->monthly_variable,
                        b->per_million_input,
                        b->per_correct_record};
    char cur[16];
    snprintf(cur, sizeof cur, "%s", b->model->currency);
    for (char *p = cur; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    size_t n = 0;
    for (int pass = 0; pass < (primary ? 2 : 1); pass++)
        for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
            if (n < max) {
                if (pass == 0)
                    snprintf(out[n].name, sizeof out[n].name, "cost.%s.%s.%s", b->model->name, q[i],
                             cur);
                else
                    snprintf(out[n].name, sizeof out[n].name, "cost.%s.%s", q[i], cur);
                out[n].value = v[i];
            }
            n++;
        }
    return n;
}
