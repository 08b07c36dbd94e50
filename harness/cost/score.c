/* score.c - the score formula. See score.h and docs/scoring.md. */
#include "score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool score_metric_is_cost(const char *metric)
{
    return metric && strncmp(metric, "cost.", 5) == 0;
}

bool score_threshold_passes(plan_op op, double limit, double actual)
{
    if (isnan(actual) || isnan(limit)) return false;
    switch (op) {
    case PLAN_OP_LT:
        return actual < limit;
    case PLAN_OP_LE:
        return actual <= limit;
    case PLAN_OP_GT:
        return actual > limit;
    case PLAN_OP_GE:
        return actual >= limit;
    case PLAN_OP_EQ:
        return actual == limit;
    }
    return false;
}

static double clamp01(double x)
{
    return x < 0 ? 0 : x > 1 ? 1 : x;
}

double score_threshold_credit(plan_op op, double limit, double actual, bool is_cost, double *ratio)
{
    double r = NAN;
    double credit = 0;
    if (score_threshold_passes(op, limit, actual)) {
        credit = 1;
    } else if (isfinite(actual) && isfinite(limit) && limit > 0 && actual > 0 && op != PLAN_OP_EQ) {
        /* How far off, as a factor >= 1, whichever way the threshold points. */
        r = (op == PLAN_OP_LT || op == PLAN_OP_LE) ? actual / limit : limit / actual;
        if (r < 1) r = 1;
        credit = is_cost ? clamp01(2.0 - r) : 0.5 * clamp01(1.0 - log10(r));
    }
    if (ratio) *ratio = credit == 1 && isnan(r) ? 1.0 : r;
    return credit;
}

double score_reference_credit(plan_op op, double reference, double actual)
{
    if (!(isfinite(reference) && isfinite(actual) && reference > 0 && actual > 0)) return 0;
    double c = (op == PLAN_OP_LT || op == PLAN_OP_LE) ? reference / actual : actual / reference;
    return clamp01(c);
}

void score_result_release(score_result *r)
{
    if (!r) return;
    hx_free(r->items);
    memset(r, 0, sizeof *r);
}

int score_compute(const score_input *in, score_result *out, hx_err *e)
{
    memset(out, 0, sizeof *out);
    score_weights w = in->weights;
    if (!(w.correctness >= 0 && w.performance >= 0 && w.cost >= 0) || !isfinite(w.correctness) ||
        !isfinite(w.performance) || !isfinite(w.cost))
        return hx_fail(e, HX_EUSAGE, "score: weights must be finite numbers >= 0");
    if (w.correctness == 0 && w.performance == 0 && w.cost == 0)
        w = (score_weights){SCORE_W_CORRECTNESS, SCORE_W_PERFORMANCE, SCORE_W_COST};
    for (size_t i = 0; i < in->nthresholds; i++)
        if (!in->thresholds[i].metric)
            return hx_fail(e, HX_EUSAGE, "score: threshold %zu has no metric name", i);
    for (size_t i = 0; i < in->nreferences; i++)
        if (!in->references[i].metric)
            return hx_fail(e, HX_EUSAGE, "score: reference %zu has no metric name", i);

    size_t nall = in->nthresholds + in->nreferences;
    if (nall) {
        out->items = hx_calloc(nall, sizeof *out->items);
        if (!out->items) return hx_fail(e, HX_ENOMEM, "score: out of memory");
        out->nitems = nall;
    }
    size_t nperf = 0, ncost = 0;
    double perf_sum = 0, cost_sum = 0;
    for (size_t i = 0; i < nall; i++) {
        bool ref = i >= in->nthresholds;
        const score_threshold *t = ref ? &in->references[i - in->nthresholds] : &in->thresholds[i];
        score_item *it = &out->items[i];
        it->metric = t->metric;
        it->is_cost = score_metric_is_cost(t->metric);
        it->is_reference = ref;
        if (ref) {
            it->credit = score_reference_credit(t->op, t->limit, t->actual);
            it->passed = it->credit >= 1;
            it->ratio = it->credit > 0 ? 1 / it->credit : NAN;
        } else {
            it->passed = score_threshold_passes(t->op, t->limit, t->actual);
            it->credit =
                score_threshold_credit(t->op, t->limit, t->actual, it->is_cost, &it->ratio);
        }
        if (it->is_cost) {
            ncost++;
            cost_sum += it->credit;
        } else {
            nperf++;
            perf_sum += it->credit;
        }
    }

    double wc = SCORE_WARN_WEIGHT;
    /* A crashed or timed-out invocation is a broken solution even when its output checks out. */
    unsigned error_fail = in->error_fail + in->runs_failed;
    double checks = in->error_pass + error_fail + wc * (in->warn_pass + in->warn_fail);
    out->correctness.measured = true; /* no checks: nothing failed, full credit */
    out->correctness.credit = checks > 0 ? (in->error_pass + wc * in->warn_pass) / checks : 1.0;
    /* Speed and cost earn credit only for correct output: a run that is fast and cheap because
     * it got nothing right earns nothing for it. */
    double cc = out->correctness.credit;
    out->performance.measured = nperf > 0;
    out->performance.credit = nperf ? perf_sum / nperf * cc : 0;
    out->cost.measured = ncost > 0;
    out->cost.credit = ncost ? cost_sum / ncost * cc : 0;

    /* Unmeasured components hand their weight to the measured ones, proportionally. */
    double wsum = w.correctness + (nperf ? w.performance : 0) + (ncost ? w.cost : 0);
    if (wsum <= 0) {
        /* Only performance/cost had weight and none was measured: correctness carries it all. */
        w.correctness = 1;
        wsum = 1;
    }
    out->correctness.weight = 100.0 * w.correctness / wsum;
    out->performance.weight = nperf ? 100.0 * w.performance / wsum : 0;
    out->cost.weight = ncost ? 100.0 * w.cost / wsum : 0;
    score_component *c[3] = {&out->correctness, &out->performance, &out->cost};
    for (int i = 0; i < 3; i++) {
        c[i]->points = c[i]->weight * c[i]->credit;
        out->uncapped += c[i]->points;
    }
    for (size_t i = 0; i < out->nitems; i++) {
        score_item *it = &out->items[i];
        double wt = it->is_cost ? out->cost.weight / ncost : out->performance.weight / nperf;
        it->gain = wt * cc * (1.0 - it->credit);
    }
    if (out->uncapped > 100) out->uncapped = 100; /* float noise only */
    double cap = SCORE_ERROR_CAP * cc;
    out->capped = error_fail > 0 && out->uncapped > cap;
    out->total = out->capped ? cap : out->uncapped;
    return 0;
}

static int by_gain(const void *a, const void *b)
{
    const score_item *x = *(const score_item *const *)a, *y = *(const score_item *const *)b;
    return x->gain < y->gain ? 1 : x->gain > y->gain ? -1 : 0;
}

bool score_explain(const score_result *r, hx_buf *out)
{
    hx_buf_printf(out, "score %.1f/100: correctness %.1f/%.1f", r->total, r->correctness.points,
                  r->correctness.weight);
    if (r->performance.measured)
        hx_buf_printf(out, ", performance %.1f/%.1f", r->performance.points, r->performance.weight);
    if (r->cost.measured) hx_buf_printf(out, ", cost %.1f/%.1f", r->cost.points, r->cost.weight);
    hx_buf_putc(out, '\n');
    double lost = r->correctness.weight - r->correctness.points;
    if (r->capped)
        hx_buf_printf(out,
                      "- fix the failing error-severity checks: while any fails the score is "
                      "capped at %.0f x the correctness share, here %.1f (uncapped %.1f; up to "
                      "+%.1f more with every check passing)\n",
                      SCORE_ERROR_CAP, r->total, r->uncapped, lost);
    else if (lost > 0.05)
        hx_buf_printf(out, "- fix the failing checks: up to +%.1f\n", lost);
    if (r->nitems) {
        const score_item **v = hx_malloc(r->nitems * sizeof *v);
        if (!v) {
            out->oom = true;
            return false;
        }
        for (size_t i = 0; i < r->nitems; i++)
            v[i] = &r->items[i];
        qsort(v, r->nitems, sizeof *v, by_gain);
        for (size_t i = 0; i < r->nitems; i++) {
            if (v[i]->passed || v[i]->gain < 0.05) continue;
            const char *what = v[i]->is_reference ? "the reference for"
                               : v[i]->is_cost    ? "budget"
                                                  : "threshold";
            if (isnan(v[i]->ratio))
                hx_buf_printf(out,
                              "- meet %s '%s' (not measured, or no partial credit): up to "
                              "+%.1f\n",
                              what, v[i]->metric, v[i]->gain);
            else
                hx_buf_printf(out, "- meet %s '%s' (off by a factor %.3g): up to +%.1f\n", what,
                              v[i]->metric, v[i]->ratio, v[i]->gain);
        }
        hx_free(v);
    }
    return !out->oom;
}
