/* compare.c - base vs head: matching scenarios and checks by name, the numbers worth comparing,
 * and the --fail-on gates. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compare.h"
#include "metrics.h"

const char *const cmp_change_names[] = {"newly failing", "fixed", "new and failing",
                                        "gone (was failing)", NULL};

const char *const cmp_overall_names[] = {"same", "better", "worse", "mixed", NULL};

/* Float noise must not trip a gate written at the exact boundary (+10% on 100 -> 110). */
#define CMP_EPS 1e-9

void cmp_value_compute(cmp_value *v)
{
    v->delta = NAN;
    v->pct = NAN;
    if (isfinite(v->base) && isfinite(v->head)) {
        v->delta = v->head - v->base;
        if (v->base != 0) v->pct = v->delta / fabs(v->base) * 100.0;
    }
}

int cmp_value_verdict(const cmp_value *v)
{
    if (!isfinite(v->delta) || v->delta == 0) return 0;
    bool up = v->delta > 0;
    return (up == (v->better == CMP_HIGHER_BETTER)) ? 1 : -1;
}

bool cmp_value_shown(const cmp_value *v)
{
    return !(isnan(v->base) && isnan(v->head));
}

int cmp_value_change(const cmp_value *v, double *ratio)
{
    double r = NAN;
    int vd = 0;
    if (isfinite(v->base) && isfinite(v->head)) {
        double lo = fmin(v->base, v->head), hi = fmax(v->base, v->head);
        if (lo == hi)
            r = 1;
        else if (lo > 0)
            r = hi / lo;
        else
            r = INFINITY; /* from or to zero: a change with no ratio */
        if (r >= CMP_NOISE_RATIO - CMP_EPS) vd = cmp_value_verdict(v);
    }
    if (ratio) *ratio = r;
    return vd;
}

void cmp_speed_text(char *buf, size_t n, const cmp_value *v)
{
    double r;
    cmp_value_change(v, &r);
    if (isnan(v->base) || isnan(v->head)) {
        snprintf(buf, n, "%s", isnan(v->head) ? (isnan(v->base) ? "-" : "gone") : "new");
        return;
    }
    const char *way = v->head < v->base ? "faster" : "slower";
    char num[32];
    if (!isfinite(r))
        num[0] = 0;
    else if (r >= 1000)
        snprintf(num, sizeof num, "%.0fx ", r);
    else
        snprintf(num, sizeof num, "%.3gx ", r);
    if (isfinite(r) && strcmp(num, "1x ") == 0)
        snprintf(buf, n, "same");
    else
        snprintf(buf, n, "%s%s", num, way);
}

static bool failing(const results_check *c)
{
    return c->status == RESULTS_ERROR ||
           (c->status == RESULTS_FAIL && c->severity == RESULTS_SEV_ERROR);
}

static void scenario_release(cmp_scenario *s)
{
    hx_free(s->name);
    for (size_t i = 0; i < s->nchecks; i++) {
        cmp_check *c = &s->checks[i];
        hx_free(c->name);
        hx_free(c->base_expected);
        hx_free(c->base_actual);
        hx_free(c->base_message);
        hx_free(c->head_expected);
        hx_free(c->head_actual);
        hx_free(c->head_message);
    }
    hx_free(s->checks);
    for (size_t i = 0; i < s->nvalues; i++) {
        hx_free(s->values[i].name);
        hx_free(s->values[i].unit);
    }
    hx_free(s->values);
    for (size_t i = 0; i < s->nqueries; i++)
        hx_free(s->queries[i].name);
    hx_free(s->queries);
    for (size_t i = 0; i < s->nlines; i++) {
        cmp_cost_line *l = &s->lines[i];
        hx_free(l->model);
        hx_free(l->kind);
        hx_free(l->note);
        hx_free(l->v.name);
        hx_free(l->v.unit);
    }
    hx_free(s->lines);
    memset(s, 0, sizeof *s);
}

void cmp_diff_release(cmp_diff *d)
{
    for (size_t i = 0; i < d->nscenarios; i++)
        scenario_release(&d->scenarios[i]);
    hx_free(d->scenarios);
    for (size_t i = 0; i < d->nadded; i++)
        scenario_release(&d->added[i]);
    hx_free(d->added);
    for (size_t i = 0; i < d->nremoved; i++)
        hx_free(d->removed[i]);
    hx_free(d->removed);
    hx_free(d->removed_status);
    hx_free(d->score.name);
    hx_free(d->score.unit);
    scenario_release(&d->totals);
    memset(d, 0, sizeof *d);
}

/* Grow *arr (of n elements of size sz) by one zeroed element; NULL when out of memory. */
static void *grow(void *arr, size_t *n, size_t sz, void **slot)
{
    void *p = hx_realloc(arr, (*n + 1) * sz);
    if (!p) return NULL;
    *slot = (char *)p + *n * sz;
    memset(*slot, 0, sz);
    (*n)++;
    return p;
}

static cmp_value *value_find(const cmp_scenario *s, const char *name)
{
    for (size_t i = 0; i < s->nvalues; i++)
        if (strcmp(s->values[i].name, name) == 0) return &s->values[i];
    return NULL;
}

/* How value_put treats a side that already holds a number. */
typedef enum combine { KEEP_FIRST, SUM, MAX } combine;

/* Set one side of the value called name, creating it (NAN both sides) on first sight. NAN x
 * changes nothing. A side already holding a number keeps it under KEEP_FIRST (cost models also
 * appear as cost.* metrics, and the metric, which budgets read, comes first); SUM and MAX fold x
 * in, for the run totals. */
static bool value_fold(cmp_scenario *s, const char *name, const char *unit, bool head, double x,
                       cmp_better better, combine how)
{
    cmp_value *v = value_find(s, name);
    if (!v) {
        void *slot;
        void *p = grow(s->values, &s->nvalues, sizeof *s->values, &slot);
        if (!p) return false;
        s->values = p;
        v = slot;
        v->base = v->head = v->delta = v->pct = NAN;
        v->better = better;
        v->name = hx_strdup(name);
        v->unit = hx_strdup(unit ? unit : "");
        if (!v->name || !v->unit) return false;
    }
    double *side = head ? &v->head : &v->base;
    if (isnan(*side))
        *side = x;
    else if (how == SUM && !isnan(x))
        *side += x;
    else if (how == MAX && !isnan(x))
        *side = fmax(*side, x);
    return true;
}

static bool value_put(cmp_scenario *s, const char *name, const char *unit, bool head, double x,
                      cmp_better better)
{
    return value_fold(s, name, unit, head, x, better, KEEP_FIRST);
}

/* "cost.<model>.<what>.<currency in lower case>", the name a cost model's total goes by. */
static void cost_name(char *buf, size_t n, const results_cost *c, const char *what)
{
    char cur[16] = "usd";
    if (c->currency && *c->currency) {
        size_t k = 0;
        for (; c->currency[k] && k < sizeof cur - 1; k++)
            cur[k] =
                (char)(c->currency[k] >= 'A' && c->currency[k] <= 'Z' ? c->currency[k] - 'A' + 'a'
                                                                      : c->currency[k]);
        cur[k] = 0;
    }
    snprintf(buf, n, "cost.%s.%s.%s", c->model ? c->model : "", what, cur);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* A served query's numbers: its percentiles, slowest execution, rate and errors (not its count,
 * which the pack declares). */
static bool query_metric(const char *name)
{
    return strncmp(name, "query.", 6) == 0 && !ends_with(name, ".count");
}

static bool compared_metric(const char *name)
{
    return strncmp(name, "solution.wall.", 14) == 0 || strcmp(name, "solution.cpu.total") == 0 ||
           strcmp(name, "db.cpu.solution") == 0 || strcmp(name, "db.cpu.workload") == 0 ||
           strcmp(name, "solution.rss.peak") == 0 || strncmp(name, "cost.", 5) == 0 ||
           strncmp(name, "latency.", 8) == 0 || strncmp(name, "plugin.", 7) == 0 ||
           strncmp(name, "db.solution.", 12) == 0 || query_metric(name) ||
           strcmp(name, "workload.qps") == 0 || strcmp(name, "workload.errors") == 0;
}

const char *const cmp_storage_metrics[CMP_STORAGE_N] = {
    "db.solution.bytes", "db.solution.tables.bytes", "db.solution.indexes.bytes",
    "db.solution.views.bytes"};
const char *const cmp_storage_labels[CMP_STORAGE_N] = {"all its relations", "tables", "indexes",
                                                       "materialised views"};

bool cmp_value_sectioned(const cmp_value *v)
{
    return strncmp(v->name, "query.", 6) == 0 || strncmp(v->name, "db.solution.", 12) == 0;
}

bool cmp_line_is_storage(const cmp_cost_line *l)
{
    return l->v.name && strstr(l->v.name, "storage") != NULL;
}

/* Rates are better higher; every other compared number lower. */
static cmp_better better_of(const char *name)
{
    return ends_with(name, ".qps") ? CMP_HIGHER_BETTER : CMP_LOWER_BETTER;
}

/* The CPU of the system under test: the solution's own and the database's on its behalf (its
 * steps and the workload it serves). A solution that moves its work into SQL drops its own CPU
 * by 98 % while this drops by what it really saved. NAN without the solution's. */
static double system_cpu(const results_scenario *sc)
{
    double own = NAN, db = 0;
    for (size_t i = 0; i < sc->nmetrics; i++) {
        const results_metric *m = &sc->metrics[i];
        if (!m->name || isnan(m->value)) continue;
        if (strcmp(m->name, "solution.cpu.total") == 0)
            own = m->value;
        else if (strcmp(m->name, "db.cpu.solution") == 0 || strcmp(m->name, "db.cpu.workload") == 0)
            db += m->value;
    }
    return own + db;
}

/* Every number of one side of a scenario, in the order the report shows them. */
static bool values_of(cmp_scenario *s, const results_scenario *sc, bool head)
{
    char name[256];
    static const char *const pn[] = {"p50", "p90", "p99", "p999"};
    for (size_t i = 0; i < sc->nhistograms; i++) {
        const results_hist *h = &sc->histograms[i];
        /* A query's percentiles are its metrics (p95 among them, which thresholds read). */
        if (h->name && strncmp(h->name, "query.", 6) == 0) continue;
        const double pv[] = {h->p50, h->p90, h->p99, h->p999};
        for (size_t k = 0; k < 4; k++) {
            snprintf(name, sizeof name, "%s.%s", h->name ? h->name : "", pn[k]);
            if (!value_put(s, name, h->unit, head, pv[k], CMP_LOWER_BETTER)) return false;
        }
    }
    for (size_t i = 0; i < sc->nmetrics; i++) {
        const results_metric *m = &sc->metrics[i];
        if (!m->name || !compared_metric(m->name)) continue;
        if (!value_put(s, m->name, m->unit, head, m->value, better_of(m->name))) return false;
    }
    if (!value_put(s, "system.cpu.total", "s", head, system_cpu(sc), CMP_LOWER_BETTER))
        return false;
    for (size_t i = 0; i < sc->ncost; i++) {
        const results_cost *c = &sc->cost[i];
        const char *unit = c->currency ? c->currency : "USD";
        cost_name(name, sizeof name, c, "run");
        if (!value_put(s, name, unit, head, c->per_run_total, CMP_LOWER_BETTER)) return false;
        cost_name(name, sizeof name, c, "monthly");
        if (!value_put(s, name, unit, head, c->monthly_total, CMP_LOWER_BETTER)) return false;
        cost_name(name, sizeof name, c, "monthly.variable");
        if (!value_put(s, name, unit, head, c->monthly_variable, CMP_LOWER_BETTER)) return false;
        cost_name(name, sizeof name, c, "monthly.fixed");
        if (!value_put(s, name, unit, head, c->monthly_fixed, CMP_LOWER_BETTER)) return false;
    }
    return value_put(s, "score", "", head, sc->score.scored ? sc->score.value : NAN,
                     CMP_HIGHER_BETTER);
}

/* Copy s into *slot (NULL stays NULL). */
static bool dup_opt(char **slot, const char *s)
{
    *slot = s ? hx_strdup(s) : NULL;
    return !s || *slot;
}

static bool check_add(cmp_scenario *s, const char *name, cmp_change ch, const results_check *b,
                      const results_check *h)
{
    void *slot;
    void *p = grow(s->checks, &s->nchecks, sizeof *s->checks, &slot);
    if (!p) return false;
    s->checks = p;
    cmp_check *c = slot;
    c->change = ch;
    c->in_base = b != NULL;
    c->in_head = h != NULL;
    c->base = b ? b->status : RESULTS_SKIP;
    c->head = h ? h->status : RESULTS_SKIP;
    c->name = hx_strdup(name ? name : "");
    if (!c->name) return false;
    if (b && !(dup_opt(&c->base_expected, b->expected) && dup_opt(&c->base_actual, b->actual) &&
               dup_opt(&c->base_message, b->message)))
        return false;
    return !h || (dup_opt(&c->head_expected, h->expected) && dup_opt(&c->head_actual, h->actual) &&
                  dup_opt(&c->head_message, h->message));
}

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Pair base and head checks by name (the k-th of a name with the k-th) and record the flips. */
static bool checks_of(cmp_scenario *s, const results_scenario *b, const results_scenario *h)
{
    size_t nb = b ? b->nchecks : 0;
    bool *used = hx_calloc(nb + 1, sizeof *used);
    if (!used) return false;
    bool ok = true;
    for (size_t i = 0; ok && i < h->nchecks; i++) {
        const results_check *hc = &h->checks[i], *bc = NULL;
        for (size_t j = 0; j < nb; j++)
            if (!used[j] && same(b->checks[j].name, hc->name)) {
                used[j] = true;
                bc = &b->checks[j];
                break;
            }
        if (!bc) {
            if (failing(hc)) ok = check_add(s, hc->name, CMP_NEW_FAILING, NULL, hc);
        } else if (failing(hc) && !failing(bc)) {
            ok = check_add(s, hc->name, CMP_NEWLY_FAILING, bc, hc);
        } else if (!failing(hc) && failing(bc) && hc->status == RESULTS_PASS) {
            ok = check_add(s, hc->name, CMP_FIXED, bc, hc);
        }
    }
    for (size_t j = 0; ok && j < nb; j++)
        if (!used[j] && failing(&b->checks[j]))
            ok = check_add(s, b->checks[j].name, CMP_GONE_FAILING, &b->checks[j], NULL);
    hx_free(used);
    return ok;
}

/* The served queries, from the query.<name>.* values (values are final: the pointers hold). */
static bool queries_of(cmp_scenario *s)
{
    for (size_t i = 0; i < s->nvalues; i++) {
        const cmp_value *v = &s->values[i];
        if (strncmp(v->name, "query.", 6) != 0) continue;
        const char *q = v->name + 6, *dot = strrchr(q, '.');
        if (!dot || dot == q) continue;
        size_t qlen = (size_t)(dot - q);
        cmp_query *cq = NULL;
        for (size_t k = 0; k < s->nqueries && !cq; k++)
            if (strlen(s->queries[k].name) == qlen && strncmp(s->queries[k].name, q, qlen) == 0)
                cq = &s->queries[k];
        if (!cq) {
            void *slot, *p = grow(s->queries, &s->nqueries, sizeof *s->queries, &slot);
            if (!p) return false;
            s->queries = p;
            cq = slot;
            cq->name = hx_strndup(q, qlen);
            if (!cq->name) return false;
        }
        const char *what = dot + 1;
        if (strcmp(what, "p50") == 0)
            cq->p50 = v;
        else if (strcmp(what, "p95") == 0)
            cq->p95 = v;
        else if (strcmp(what, "p99") == 0)
            cq->p99 = v;
        else if (strcmp(what, "errors") == 0)
            cq->errors = v;
    }
    return true;
}

/* One run's cost lines folded into s->lines, matched by model and component. */
static bool lines_of(cmp_scenario *s, const results_scenario *sc, bool head)
{
    for (size_t i = 0; i < sc->ncost; i++) {
        const results_cost *c = &sc->cost[i];
        for (size_t k = 0; k < c->nlines; k++) {
            const results_cost_line *ln = &c->lines[k];
            cmp_cost_line *l = NULL;
            for (size_t j = 0; j < s->nlines && !l; j++)
                if (same(s->lines[j].model, c->model) && same(s->lines[j].v.name, ln->component))
                    l = &s->lines[j];
            if (!l) {
                void *slot, *p = grow(s->lines, &s->nlines, sizeof *s->lines, &slot);
                if (!p) return false;
                s->lines = p;
                l = slot;
                l->v.base = l->v.head = NAN;
                l->v.better = CMP_LOWER_BETTER;
                if (!(l->model = hx_strdup(c->model ? c->model : "")) ||
                    !(l->v.name = hx_strdup(ln->component ? ln->component : "")) ||
                    !(l->v.unit = hx_strdup(c->currency ? c->currency : "USD")) ||
                    !dup_opt(&l->kind, ln->kind) || !dup_opt(&l->note, ln->note))
                    return false;
            }
            if (head) {
                l->v.head = isnan(l->v.head) ? ln->monthly : l->v.head + ln->monthly;
            } else {
                l->v.base = isnan(l->v.base) ? ln->monthly : l->v.base + ln->monthly;
            }
        }
    }
    return true;
}

static bool scenario_fill(cmp_scenario *s, const results_scenario *b, const results_scenario *h)
{
    s->name = hx_strdup(h->name ? h->name : "");
    if (!s->name) return false;
    s->base_status = b ? b->status : RESULTS_SKIP;
    s->head_status = h->status;
    if (b && !values_of(s, b, false)) return false;
    if (!values_of(s, h, true)) return false;
    for (size_t i = 0; i < s->nvalues; i++)
        cmp_value_compute(&s->values[i]);
    if (!queries_of(s) || !lines_of(s, h, true) || (b && !lines_of(s, b, false))) return false;
    for (size_t i = 0; i < s->nlines; i++)
        cmp_value_compute(&s->lines[i].v);
    return checks_of(s, b, h);
}

/* One side of the run totals: every scenario of r folded in. */
static bool totals_of(cmp_scenario *t, const results_run *r, bool head)
{
    char name[256];
    for (size_t i = 0; i < r->nscenarios; i++) {
        const results_scenario *sc = &r->scenarios[i];
        for (size_t k = 0; k < sc->nmetrics; k++) {
            const results_metric *m = &sc->metrics[k];
            if (!m->name) continue;
            combine how = strcmp(m->name, "solution.rss.peak") == 0 ? MAX : SUM;
            if ((how == MAX || strcmp(m->name, "solution.wall.sum") == 0 ||
                 strcmp(m->name, "solution.cpu.total") == 0 ||
                 strcmp(m->name, "db.cpu.solution") == 0 ||
                 strcmp(m->name, "db.cpu.workload") == 0) &&
                !value_fold(t, m->name, m->unit, head, m->value, CMP_LOWER_BETTER, how))
                return false;
        }
        if (!value_fold(t, "system.cpu.total", "s", head, system_cpu(sc), CMP_LOWER_BETTER, SUM))
            return false;
    }
    /* The pack's cost figures are the mean over its scenarios (docs/cost-models.md): each
     * scenario is a month of the same pipeline, so a sum would pay the fixed lines once per
     * scenario. */
    for (size_t i = 0; i < r->nscenarios; i++)
        for (size_t k = 0; k < r->scenarios[i].ncost; k++) {
            const results_cost *c = &r->scenarios[i].cost[k];
            cost_name(name, sizeof name, c, "monthly");
            if (value_find(t, name) &&
                !isnan(head ? value_find(t, name)->head : value_find(t, name)->base))
                continue; /* this model is done */
            const char *unit = c->currency ? c->currency : "USD";
            static const char *const what[] = {"run", "monthly", "monthly.variable",
                                               "monthly.fixed"};
            double sum[4] = {0}, n[4] = {0};
            for (size_t j = 0; j < r->nscenarios; j++)
                for (size_t q = 0; q < r->scenarios[j].ncost; q++) {
                    const results_cost *o = &r->scenarios[j].cost[q];
                    if (!o->model || !c->model || strcmp(o->model, c->model) != 0) continue;
                    const double v[4] = {o->per_run_total, o->monthly_total, o->monthly_variable,
                                         o->monthly_fixed};
                    for (int w = 0; w < 4; w++)
                        if (isfinite(v[w])) sum[w] += v[w], n[w]++;
                }
            for (int w = 0; w < 4; w++) {
                cost_name(name, sizeof name, c, what[w]);
                if (!value_fold(t, name, unit, head, n[w] ? sum[w] / n[w] : NAN, CMP_LOWER_BETTER,
                                KEEP_FIRST))
                    return false;
            }
        }
    return value_fold(t, "run.duration", "s", head, r->duration_s, CMP_LOWER_BETTER, KEEP_FIRST);
}

static void tally(cmp_tally *t, const cmp_value *v)
{
    if (!v || !isfinite(v->base) || !isfinite(v->head)) return;
    int vd = cmp_value_change(v, NULL);
    if (vd > 0)
        t->better++;
    else if (vd < 0)
        t->worse++;
    else
        t->same++;
}

static void tally_checks(cmp_headline *hl, const cmp_scenario *s)
{
    for (size_t i = 0; i < s->nchecks; i++) {
        cmp_change c = s->checks[i].change;
        if (c == CMP_NEWLY_FAILING || c == CMP_NEW_FAILING)
            hl->checks_worse++;
        else if (c == CMP_FIXED)
            hl->checks_fixed++;
    }
}

static double add_nan(double sum, double x)
{
    return isnan(x) ? sum : isnan(sum) ? x : sum + x;
}

/* Whether r projected a cost from its one size: without a probe every cost counts as
 * per-record (docs/cost-models.md), so a solution with dear start-ups ranks too cheap. */
static bool cost_one_size(const results_run *r)
{
    for (size_t i = 0; i < r->nscenarios; i++)
        for (size_t k = 0; k < r->scenarios[i].ncost; k++) {
            const char *fit = r->scenarios[i].cost[k].fit;
            if (fit && strcmp(fit, "linear") == 0) return true;
        }
    return false;
}

/* The headline's rules are in compare.h (cmp_headline). */
static void headline_build(cmp_diff *d)
{
    cmp_headline *hl = &d->headline;
    memset(hl, 0, sizeof *hl);
    hl->prep_base = hl->prep_head = NAN;
    for (size_t i = 0; i < d->nscenarios; i++) {
        const cmp_scenario *s = &d->scenarios[i];
        tally_checks(hl, s);
        if (s->nqueries) {
            for (size_t k = 0; k < s->nqueries; k++)
                tally(&hl->queries, s->queries[k].p95);
            const cmp_value *w = value_find(s, "solution.wall.sum");
            if (w && isfinite(w->base) && isfinite(w->head)) {
                hl->prep_base = add_nan(hl->prep_base, w->base);
                hl->prep_head = add_nan(hl->prep_head, w->head);
            }
        } else if (value_find(s, "latency.e2e.p99") &&
                   cmp_value_shown(value_find(s, "latency.e2e.p99"))) {
            tally(&hl->latency, value_find(s, "latency.e2e.p99"));
        } else {
            tally(&hl->wall, value_find(s, "solution.wall.sum"));
        }
    }
    for (size_t i = 0; i < d->nadded; i++)
        tally_checks(hl, &d->added[i]);
    for (size_t i = 0; i < d->totals.nvalues; i++) {
        const cmp_value *v = &d->totals.values[i];
        if (strncmp(v->name, "cost.", 5) == 0 && strstr(v->name, ".monthly.variable."))
            tally(&hl->cost, v);
    }
    size_t better = hl->checks_fixed + hl->queries.better + hl->latency.better + hl->wall.better +
                    hl->cost.better;
    size_t worse = hl->queries.worse + hl->latency.worse + hl->wall.worse + hl->cost.worse;
    if (hl->checks_worse)
        hl->overall = CMP_WORSE;
    else if (better && worse)
        hl->overall = CMP_MIXED;
    else if (better)
        hl->overall = CMP_BETTER;
    else if (worse)
        hl->overall = CMP_WORSE;
    else
        hl->overall = CMP_SAME;
}

/* The currency model m prices in within run r, or NULL when r did not price under m. */
static const char *model_currency(const results_run *r, const char *m)
{
    for (size_t i = 0; i < r->nscenarios; i++)
        for (size_t k = 0; k < r->scenarios[i].ncost; k++) {
            const results_cost *c = &r->scenarios[i].cost[k];
            if (c->model && m && strcmp(c->model, m) == 0) return c->currency ? c->currency : "";
        }
    return NULL;
}

int cmp_diff_build(cmp_diff *d, const results_run *base, const results_run *head, hx_err *e)
{
    memset(d, 0, sizeof *d);
    /* Money in two currencies is not one comparison: refuse it rather than subtract euros from
     * dollars. */
    for (size_t i = 0; i < head->nscenarios; i++)
        for (size_t k = 0; k < head->scenarios[i].ncost; k++) {
            const results_cost *c = &head->scenarios[i].cost[k];
            const char *bc = model_currency(base, c->model), *hc = c->currency ? c->currency : "";
            if (bc && strcasecmp(bc, hc) != 0)
                return hx_fail(e, HX_EUSAGE,
                               "cannot compare cost model '%s': it prices in %s in the base run "
                               "and in %s in the head run; compare runs priced in one currency",
                               c->model ? c->model : "?", bc, hc);
        }
    bool *used = hx_calloc(base->nscenarios + 1, sizeof *used);
    if (!used) return hx_fail(e, HX_ENOMEM, "out of memory comparing runs");
    for (size_t i = 0; i < head->nscenarios; i++) {
        const results_scenario *h = &head->scenarios[i], *b = NULL;
        for (size_t j = 0; j < base->nscenarios; j++)
            if (!used[j] && same(base->scenarios[j].name, h->name)) {
                used[j] = true;
                b = &base->scenarios[j];
                break;
            }
        void *slot, *p;
        if (b)
            p = grow(d->scenarios, &d->nscenarios, sizeof *d->scenarios, &slot);
        else
            p = grow(d->added, &d->nadded, sizeof *d->added, &slot);
        if (!p) goto oom;
        if (b)
            d->scenarios = p;
        else
            d->added = p;
        if (!scenario_fill(slot, b, h)) goto oom;
    }
    for (size_t j = 0; j < base->nscenarios; j++) {
        if (used[j]) continue;
        results_status *st = hx_realloc(d->removed_status, (d->nremoved + 1) * sizeof *st);
        if (!st) goto oom;
        d->removed_status = st;
        st[d->nremoved] = base->scenarios[j].status;
        char **p = hx_realloc(d->removed, (d->nremoved + 1) * sizeof *p);
        if (!p) goto oom;
        d->removed = p;
        p[d->nremoved] = hx_strdup(base->scenarios[j].name ? base->scenarios[j].name : "");
        if (!p[d->nremoved]) goto oom;
        d->nremoved++;
    }
    hx_free(used);
    d->score.name = hx_strdup("score");
    d->score.unit = hx_strdup("");
    if (!d->score.name || !d->score.unit) {
        used = NULL;
        goto oom;
    }
    d->score.better = CMP_HIGHER_BETTER;
    d->score.base = base->score.scored ? base->score.value : NAN;
    d->score.head = head->score.scored ? head->score.value : NAN;
    cmp_value_compute(&d->score);
    d->totals.base_status = base->verdict;
    d->totals.head_status = head->verdict;
    d->totals.name = hx_strdup("run");
    if (!d->totals.name || !totals_of(&d->totals, base, false) ||
        !totals_of(&d->totals, head, true)) {
        used = NULL;
        goto oom;
    }
    for (size_t i = 0; i < d->totals.nvalues; i++)
        cmp_value_compute(&d->totals.values[i]);
    headline_build(d);
    d->headline.cost_one_size = cost_one_size(base) || cost_one_size(head);
    return 0;
oom:
    hx_free(used);
    cmp_diff_release(d);
    return hx_fail(e, HX_ENOMEM, "out of memory comparing runs");
}

/* ---- gates ---- */

int cmp_gate_parse(const char *s, cmp_gate *g, hx_err *e)
{
    memset(g, 0, sizeof *g);
    snprintf(g->text, sizeof g->text, "%s", s);
    if (strcmp(s, "checks") == 0) {
        g->kind = CMP_GATE_CHECKS;
        return 0;
    }
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return hx_fail(e, HX_EUSAGE,
                       "bad --fail-on '%s': expected 'checks', '<metric>:+N%%' or 'score:-N'", s);
    size_t mlen = (size_t)(colon - s);
    const char *num = colon + 1;
    char *end;
    if (mlen == 5 && strncmp(s, "score", 5) == 0) {
        if (*num != '-')
            return hx_fail(e, HX_EUSAGE, "bad --fail-on '%s': write the allowed drop as 'score:-N'",
                           s);
        errno = 0;
        g->limit = strtod(num + 1, &end);
        if (end == num + 1 || *end || errno || !isfinite(g->limit) || g->limit < 0)
            return hx_fail(e, HX_EUSAGE,
                           "bad --fail-on '%s': N in 'score:-N' must be a number of points >= 0",
                           s);
        g->kind = CMP_GATE_SCORE;
        return 0;
    }
    if (mlen >= sizeof g->metric)
        return hx_fail(e, HX_EUSAGE, "bad --fail-on '%.40s...': metric name too long", s);
    if (*num != '+')
        return hx_fail(e, HX_EUSAGE,
                       "bad --fail-on '%s': write the allowed rise as '<metric>:+N%%'", s);
    errno = 0;
    g->limit = strtod(num + 1, &end);
    if (end == num + 1 || strcmp(end, "%") != 0 || errno || !isfinite(g->limit) || g->limit < 0)
        return hx_fail(e, HX_EUSAGE,
                       "bad --fail-on '%s': N in '<metric>:+N%%' must be a percentage >= 0 "
                       "followed by '%%'",
                       s);
    memcpy(g->metric, s, mlen);
    g->metric[mlen] = 0;
    hx_err me = {0};
    if (plan_metric_check(g->metric, NULL, true, &me) != 0)
        return hx_fail(e, HX_EUSAGE, "bad --fail-on '%s': %s", s, me.msg);
    if (!compared_metric(g->metric))
        return hx_fail(e, HX_EUSAGE,
                       "bad --fail-on '%s': harness compare does not compare '%s' (it compares "
                       "solution.wall.*, solution.cpu.total, solution.rss.peak, db.cpu.*, "
                       "db.solution.*, latency.*, query.*, workload.qps, workload.errors, "
                       "plugin.*, cost.*)",
                       s, g->metric);
    if (better_of(g->metric) == CMP_HIGHER_BETTER)
        return hx_fail(e, HX_EUSAGE,
                       "bad --fail-on '%s': '%s' is better higher, so a rise is no regression; "
                       "gate on the queries' latency instead, e.g. query.<name>.p95:+20%%",
                       s, g->metric);
    g->kind = CMP_GATE_METRIC;
    return 0;
}

/* Does the gate metric cover value name? "cost.X" also covers "cost.<model>.X". */
static bool metric_covers(const char *gate, const char *name)
{
    if (strcmp(gate, name) == 0) return true;
    if (strncmp(gate, "cost.", 5) != 0 || strncmp(name, "cost.", 5) != 0) return false;
    const char *suffix = gate + 5;
    size_t ls = strlen(suffix), ln = strlen(name);
    if (ln <= 5 + ls + 1) return false;
    const char *model_end = name + ln - ls - 1;
    return *model_end == '.' && strcmp(model_end + 1, suffix) == 0 &&
           memchr(name + 5, '.', (size_t)(model_end - (name + 5))) == NULL;
}

static bool check_gate(const cmp_gate *g, const cmp_scenario *s, hx_buf *why)
{
    (void)g;
    bool trip = false;
    for (size_t i = 0; i < s->nchecks; i++) {
        const cmp_check *c = &s->checks[i];
        if (c->change != CMP_NEWLY_FAILING && c->change != CMP_NEW_FAILING) continue;
        trip = true;
        if (why)
            hx_buf_printf(why, "check '%s' in '%s' is %s (%s -> %s)\n", c->name, s->name,
                          cmp_change_names[c->change],
                          c->in_base ? results_status_name(c->base) : "absent",
                          results_status_name(c->head));
    }
    return trip;
}

static bool metric_gate(const cmp_gate *g, const cmp_scenario *s, hx_buf *why)
{
    bool trip = false;
    for (size_t i = 0; i < s->nvalues; i++) {
        const cmp_value *v = &s->values[i];
        if (!metric_covers(g->metric, v->name) || isnan(v->pct)) continue;
        if (v->pct <= g->limit + CMP_EPS * (1 + fabs(g->limit))) continue;
        trip = true;
        if (why)
            hx_buf_printf(why, "%s %+.4g%% in '%s' (%.6g -> %.6g) exceeds +%g%%\n", v->name, v->pct,
                          s->name, v->base, v->head, g->limit);
    }
    return trip;
}

static bool score_trips(const cmp_gate *g, const cmp_value *v)
{
    return isfinite(v->delta) && -v->delta > g->limit + CMP_EPS * (1 + fabs(g->limit));
}

bool cmp_gate_eval(const cmp_gate *g, const cmp_diff *d, hx_buf *why)
{
    bool trip = false;
    if (g->kind == CMP_GATE_SCORE) {
        if (score_trips(g, &d->score)) {
            trip = true;
            if (why)
                hx_buf_printf(why, "run score dropped %.4g points (%.4g -> %.4g), more than %g\n",
                              -d->score.delta, d->score.base, d->score.head, g->limit);
        }
        for (size_t i = 0; i < d->nscenarios; i++) {
            const cmp_value *v = value_find(&d->scenarios[i], "score");
            if (v && score_trips(g, v)) {
                trip = true;
                if (why)
                    hx_buf_printf(
                        why, "score of '%s' dropped %.4g points (%.4g -> %.4g), more than %g\n",
                        d->scenarios[i].name, -v->delta, v->base, v->head, g->limit);
            }
        }
        return trip;
    }
    for (int pass = 0; pass < 2; pass++) {
        const cmp_scenario *arr = pass ? d->added : d->scenarios;
        size_t n = pass ? d->nadded : d->nscenarios;
        for (size_t i = 0; i < n; i++) {
            if (g->kind == CMP_GATE_CHECKS)
                trip |= check_gate(g, &arr[i], why);
            else if (!pass)
                trip |= metric_gate(g, &arr[i], why);
        }
    }
    return trip;
}
