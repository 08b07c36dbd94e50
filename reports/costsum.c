/* costsum.c - cost and CPU figures the reports share: per price sheet, the mean of the scenarios'
 * per-run, monthly, fixed and variable figures (each scenario is a month of the same pipeline
 * under other data, so the fixed lines are paid once: a sum would pay the database once a
 * scenario; docs/cost-models.md "The pack's monthly figure"), and a scenario's CPU beside the
 * database's on its behalf. */
#include <math.h>
#include <string.h>

#include "rep.h"

/* Fold one finite v into a running mean's sum and count. */
static void fold(double *sum, double *n, double v)
{
    if (isfinite(v)) *sum += v, *n += 1;
}

size_t rep_cost_means(const results_run *r, rep_cost_mean *out, size_t max)
{
    size_t n = 0;
    double cnt[REP_COST_MEANS_MAX][4];
    if (max > REP_COST_MEANS_MAX) max = REP_COST_MEANS_MAX;
    for (size_t s = 0; s < r->nscenarios; s++)
        for (size_t i = 0; i < r->scenarios[s].ncost; i++) {
            const results_cost *c = &r->scenarios[s].cost[i];
            const char *m = c->model ? c->model : "";
            size_t k = 0;
            while (k < n && strcmp(out[k].model, m) != 0)
                k++;
            if (k == n) {
                if (n == max) continue;
                memset(&out[n], 0, sizeof out[n]);
                memset(cnt[n], 0, sizeof cnt[n]);
                out[n].model = m;
                out[n].currency = c->currency;
                n++;
            }
            fold(&out[k].per_run, &cnt[k][0], c->per_run_total);
            fold(&out[k].monthly, &cnt[k][1], c->monthly_total);
            fold(&out[k].monthly_fixed, &cnt[k][2], c->monthly_fixed);
            fold(&out[k].monthly_variable, &cnt[k][3], c->monthly_variable);
        }
    for (size_t k = 0; k < n; k++) {
        double *v[4] = {&out[k].per_run, &out[k].monthly, &out[k].monthly_fixed,
                        &out[k].monthly_variable};
        for (int w = 0; w < 4; w++)
            *v[w] = cnt[k][w] > 0 ? *v[w] / cnt[k][w] : NAN;
    }
    return n;
}

double rep_metric(const results_scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->nmetrics; i++)
        if (sc->metrics[i].name && strcmp(sc->metrics[i].name, name) == 0)
            return sc->metrics[i].value;
    return NAN;
}

bool rep_cpu_split(const results_scenario *sc, double *own, double *db, double *served)
{
    *own = rep_metric(sc, "solution.cpu.total");
    *db = rep_metric(sc, "db.cpu.solution");
    *served = rep_metric(sc, "db.cpu.workload");
    return isfinite(*own) && (isfinite(*db) || isfinite(*served));
}
