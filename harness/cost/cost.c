/* cost.c - the pricer: a scenario's usage projected to a production run (fixed + per-record from
 * two sizes, or linear), the lines it bills a month under one sheet, the database sized by its
 * load, unit economics and per-phase attribution. See cost.h and docs/cost-models.md. */
#include "cost.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cost_int.h"

void cost_basis(const plan_scale *scale, uint64_t input_records, double *records_per_run,
                double *runs_per_month, bool *assumed)
{
    double rpd = scale && scale->records_per_day > 0 ? scale->records_per_day : 0;
    double runs = scale && scale->runs_per_day > 0 ? scale->runs_per_day : 0;
    *assumed = false;
    if (rpd > 0 && runs > 0) {
        *records_per_run = rpd / runs;
    } else if (rpd > 0) {
        /* A service: a production "run" is a day of its traffic. */
        *records_per_run = rpd;
        runs = 1;
    } else {
        *records_per_run = (double)input_records;
        if (runs <= 0) {
            runs = 1;
            *assumed = true;
        }
    }
    *runs_per_month = runs * COST_DAYS_PER_MONTH;
}

double cost_runs_per_month(const plan_scale *scale, uint64_t input_records)
{
    double r, rpm;
    bool a;
    cost_basis(scale, input_records, &r, &rpm, &a);
    return rpm;
}

double cost_scale_factor(const plan_scale *scale, uint64_t input_records)
{
    double r, rpm;
    bool a;
    cost_basis(scale, input_records, &r, &rpm, &a);
    return input_records && r > 0 ? r / (double)input_records : 1;
}

double cost_billed_seconds(const cost_billing *b, double seconds, unsigned launches)
{
    if (!(seconds > 0)) return 0;
    double s = seconds;
    if (b->increment_seconds > 0) {
        /* Tolerate float noise: 1.2 / 0.1 is 12.000000000000002, which is 12 increments. */
        double q = s / b->increment_seconds;
        s = ceil(q - 1e-9 * (q > 1 ? q : 1)) * b->increment_seconds;
    }
    double min = b->minimum_seconds * (launches ? launches : 1);
    return s < min ? min : s;
}

cost_fit cost_fit_project(const char *name, double q, double r, double q2, double r2, double R,
                          bool two_sizes)
{
    cost_fit f = {.name = name, .measured = q, .probe = NAN, .slope = NAN};
    if (two_sizes && r > 0 && r2 > 0 && r != r2 && isfinite(q2) && q2 >= 0) {
        f.two_sizes = true;
        f.probe = q2;
        double b = (q - q2) / (r - r2);
        double a = q - b * r;
        if (b < 0) {
            /* Less work at the larger size: noise around a constant. */
            b = 0;
            a = (q + q2) / 2;
        } else if (a < 0) {
            /* Faster than linear growth: no fixed part, the per-record figure of the larger
             * measurement (the slope says how super-linear). */
            a = 0;
            b = r > r2 ? q / r : q2 / r2;
        }
        f.fixed = a;
        f.per_record = b;
        f.projected = a + b * R;
        if (q > 0 && q2 > 0) f.slope = log(q / q2) / log(r / r2);
    } else {
        f.per_record = r > 0 ? q / r : 0;
        f.projected = r > 0 ? q * R / r : q;
    }
    return f;
}

cost_fit cost_fit_wall(const char *name, double q, double r, double q2, double r2, double R,
                       bool two_sizes, double busy_per_record)
{
    cost_fit f = cost_fit_project(name, q, r, q2, r2, R, two_sizes);
    if (!isfinite(busy_per_record) || busy_per_record < 0 || !(r > 0)) return f;
    /* A shared machine's wall clock also counts the time the run waited for a CPU, which has
     * nothing to do with the records: what grows with them is the work it kept busy. Contention
     * only adds time, so the smaller remainder is the better fixed part. With one size the
     * remainder is the one measured: the busy part grows linearly like every other quantity,
     * the waiting does not. */
    double a = q - busy_per_record * r;
    if (f.two_sizes) a = fmin(a, q2 - busy_per_record * r2);
    f.fixed = a > 0 ? a : 0;
    f.per_record = busy_per_record;
    f.projected = f.fixed + f.per_record * R;
    return f;
}

static double eff_price(const cost_rate *r)
{
    return r->price * (1.0 - r->discount);
}

static double class_price(const cost_db_class *k)
{
    return k->price * (1.0 - k->discount);
}

const cost_db_class *cost_db_pick(const cost_model *m, double load_vcpu)
{
    if (!m->ndb_classes) return NULL;
    double need = load_vcpu > 0 ? load_vcpu / m->db_target : 0;
    const cost_db_class *big = &m->db_classes[0];
    for (size_t i = 0; i < m->ndb_classes; i++) {
        const cost_db_class *k = &m->db_classes[i];
        if (k->capacity_vcpu >= need) return k;
        if (k->capacity_vcpu > big->capacity_vcpu) big = k;
    }
    return big;
}

static bool usage_ok(const cost_usage *u, const char *which, hx_err *e)
{
    const struct {
        const char *name;
        double v;
    } f[] = {
        {"cpu_seconds", u->cpu_seconds},
        {"wall_seconds", u->wall_seconds},
        {"provisioned_vcpus", u->provisioned_vcpus},
        {"rss_byte_seconds", u->rss_byte_seconds},
        {"db_cpu_steps_seconds", u->db_cpu_steps_seconds},
        {"db_cpu_served_seconds", u->db_cpu_served_seconds},
        {"db_cpu_harness_seconds", u->db_cpu_harness_seconds},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (!isfinite(f[i].v) || f[i].v < 0) {
            hx_fail(e, HX_EUSAGE, "cost: %susage %s is %g; it must be a finite number >= 0", which,
                    f[i].name, f[i].v);
            return false;
        }
    for (size_t i = 0; i < u->nphases; i++) {
        const cost_phase_usage *p = &u->phases[i];
        if (!isfinite(p->cpu_seconds) || p->cpu_seconds < 0 || !isfinite(p->wall_seconds) ||
            p->wall_seconds < 0) {
            hx_fail(e, HX_EUSAGE, "cost: %sphase '%s' has negative or non-finite time", which,
                    p->name ? p->name : "?");
            return false;
        }
    }
    return true;
}

/* Append to a line's note, keeping it NUL-terminated when it fills up. */
static void note(cost_line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(cost_line *l, const char *fmt, ...)
{
    size_t n = strlen(l->note);
    if (n + 3 >= sizeof l->note) return;
    if (n) {
        memcpy(l->note + n, "; ", 3);
        n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->note + n, sizeof l->note - n, fmt, ap);
    va_end(ap);
}

static void rate_notes(const cost_rate *rt, cost_line *l)
{
    if (rt->discount > 0) note(l, "list %.6g less %.4g%% discount", rt->price, rt->discount * 100);
    if (rt->unverified) note(l, "unverified price");
}

/* A line of rate r for `base` base units (seconds, bytes, count) of a month's usage; NULL (and
 * no line) when the rate is absent or the month's cost is 0. */
static cost_line *add_line(cost_breakdown *b, cost_rate_id r, cost_kind kind, const char *component,
                           double base)
{
    const cost_rate *rt = &b->model->rates[r];
    if (!rt->present || b->nlines >= COST_MAX_LINES) return NULL;
    double q = base / cost_unit_base(rt->unit);
    double cost = q * eff_price(rt);
    if (!(cost > 0)) return NULL;
    cost_line *l = &b->lines[b->nlines++];
    memset(l, 0, sizeof *l);
    l->rate = r;
    l->kind = kind;
    snprintf(l->component, sizeof l->component, "%s",
             component ? component : cost_rate_component(r));
    l->quantity = q;
    l->unit = cost_unit_name(rt->unit);
    l->list_price = rt->price;
    l->unit_price = eff_price(rt);
    l->monthly = cost;
    rate_notes(rt, l);
    return l;
}

/* A line priced per instance-hour at a database class's price. */
static cost_line *add_class_line(cost_breakdown *b, const cost_db_class *k, cost_kind kind,
                                 const char *component, double hours, double unit_price,
                                 double list_price, const char *unit)
{
    double cost = hours * unit_price;
    if (!(cost > 0) || b->nlines >= COST_MAX_LINES) return NULL;
    cost_line *l = &b->lines[b->nlines++];
    memset(l, 0, sizeof *l);
    l->rate = COST_R_DB_INSTANCE;
    l->kind = kind;
    snprintf(l->component, sizeof l->component, "%s", component);
    l->quantity = hours;
    l->unit = unit;
    l->list_price = list_price;
    l->unit_price = unit_price;
    l->monthly = cost;
    if (k->discount > 0) note(l, "list %.6g less %.4g%% discount", list_price, k->discount * 100);
    if (k->unverified) note(l, "unverified price");
    return l;
}

static const cost_fit *add_fit(cost_breakdown *b, cost_fit f)
{
    if (b->nfits >= COST_MAX_FITS) return NULL;
    b->fits[b->nfits] = f;
    return &b->fits[b->nfits++];
}

/* Compute cost of raw phase usage, before the run's billing rule (the weight of a phase). */
static double phase_compute(const cost_model *m, double vcpu_s, double byte_s)
{
    const cost_rate *v = &m->rates[COST_R_COMPUTE_VCPU], *mem = &m->rates[COST_R_COMPUTE_MEMORY];
    return vcpu_s / cost_unit_base(v->unit) * eff_price(v) +
           byte_s / cost_unit_base(mem->unit) * eff_price(mem);
}

void cost_breakdown_release(cost_breakdown *b)
{
    if (!b) return;
    for (size_t i = 0; i < b->nphases; i++)
        hx_free(b->phases[i].name);
    hx_free(b->phases);
    memset(b, 0, sizeof *b);
}

static int attribute_phases(cost_breakdown *out, const cost_usage *u, double vcpus, double k,
                            double billed_compute, hx_err *e)
{
    out->phases = hx_calloc(u->nphases, sizeof *out->phases);
    if (!out->phases) return hx_fail(e, HX_ENOMEM, "cost: out of memory attributing phases");
    out->nphases = u->nphases;
    double sum = 0;
    for (size_t i = 0; i < u->nphases; i++) {
        const cost_phase_usage *p = &u->phases[i];
        cost_phase_cost *pc = &out->phases[i];
        pc->name = hx_strdup(p->name ? p->name : "");
        if (!pc->name) return hx_fail(e, HX_ENOMEM, "cost: out of memory attributing phases");
        /* Raw usage, no minimum or increment: a minimum is paid once per run, not once per
         * phase, so it must not decide where the money went. */
        double w = p->wall_seconds;
        double pv = vcpus * w;
        pc->vcpu_seconds = p->cpu_seconds > pv ? p->cpu_seconds : pv;
        double bs = (double)p->peak_rss_bytes * w;
        pc->gib_seconds = bs / 1073741824.0;
        pc->cost = phase_compute(out->model, pc->vcpu_seconds, bs);
        pc->outside_bill = p->outside_bill;
        pc->slope = NAN;
        if (p->outside_bill) {
            pc->cost *= k;
            out->harness_monthly += pc->cost * out->runs_per_month;
        } else {
            sum += pc->cost;
        }
        const cost_usage *pr = u->probe;
        if (pr && pr->input_records && pr->input_records != u->input_records && p->name)
            for (size_t j = 0; j < pr->nphases; j++) {
                const cost_phase_usage *q = &pr->phases[j];
                if (!q->name || strcmp(q->name, p->name) != 0) continue;
                double a = p->cpu_seconds + p->wall_seconds, c = q->cpu_seconds + q->wall_seconds;
                if (a > 0 && c > 0)
                    pc->slope =
                        log(a / c) / log((double)u->input_records / (double)pr->input_records);
            }
    }
    /* The production run's billed compute split by each billed phase's share of the raw usage:
     * those phase costs add up to the compute lines. */
    for (size_t i = 0; i < out->nphases; i++) {
        if (out->phases[i].outside_bill) continue;
        out->phases[i].share = sum > 0 ? out->phases[i].cost / sum : 0;
        out->phases[i].cost = out->phases[i].share * billed_compute;
    }
    return 0;
}

int cost_price(const cost_model *m, const cost_usage *u, const plan_scale *scale,
               cost_breakdown *out, hx_err *e)
{
    memset(out, 0, sizeof *out);
    out->model = m;
    out->db_load_vcpu = out->db_utilisation = NAN;
    if (!usage_ok(u, "", e) || (u->probe && !usage_ok(u->probe, "probe ", e))) return HX_EUSAGE;
    const cost_usage *pr = u->probe;
    bool two = pr && pr->input_records > 0 && u->input_records > 0 &&
               pr->input_records != u->input_records;
    double r = (double)u->input_records, r2 = two ? (double)pr->input_records : 0;
    double R, rpm;
    cost_basis(scale, u->input_records, &R, &rpm, &out->scale_assumed);
    out->records_per_run = R;
    out->runs_per_month = rpm;
    out->scale_factor = r > 0 && R > 0 ? R / r : 1;
    out->two_sizes = two;
    double k = out->scale_factor;
#define FIT(name, field)                                                                           \
    cost_fit_project(name, (double)u->field, r, two ? (double)pr->field : NAN, r2, R, two)

    /* ---- the solution's compute, per production run ---- */
    const cost_billing *cb = &m->billing[COST_G_COMPUTE];
    unsigned launches = u->invocations ? u->invocations : 1;
    double vcpus = u->provisioned_vcpus > 0 ? u->provisioned_vcpus : 1.0;
    const cost_fit *fcpu = add_fit(out, FIT("solution CPU s", cpu_seconds));
    /* The database's CPU for the solution's steps (the solution waits for it) and for the
     * workload the product serves (analyst queries, stream consumers: billed, but no part of a
     * step's wall). */
    cost_fit fdb = cost_fit_project("database CPU s", u->db_cpu_steps_seconds, r,
                                    two ? pr->db_cpu_steps_seconds : NAN, r2, R, two);
    cost_fit fserved = cost_fit_project("database CPU s (served)", u->db_cpu_served_seconds, r,
                                        two ? pr->db_cpu_served_seconds : NAN, r2, R, two);
    /* A service's wall is the stream's duration: it grows with the records as measured. */
    double busy = u->wall_paced ? NAN : fcpu->per_record + (u->uses_db ? fdb.per_record : 0);
    const cost_fit *fwall =
        add_fit(out, cost_fit_wall("solution wall s", u->wall_seconds, r,
                                   two ? pr->wall_seconds : NAN, r2, R, two, busy));
    double cpu_p = fcpu->projected > 0 ? fcpu->projected : 0;
    double wall_p = fwall->projected > 0 ? fwall->projected : 0;
    /* Billing minimums apply to the production run's launches, never to the test run's. */
    double wall_billed = cost_billed_seconds(cb, wall_p, launches);
    double mem_prov =
        (double)(u->provisioned_memory_bytes ? u->provisioned_memory_bytes : u->peak_rss_bytes);
    double used_bs =
        u->rss_byte_seconds > 0 ? u->rss_byte_seconds : (double)u->mean_rss_bytes * u->wall_seconds;
    /* Memory stays the size it was; its time grows as the wall time does. */
    double used_bs_p = u->wall_seconds > 0 ? used_bs * wall_p / u->wall_seconds : 0;
    out->used_vcpu_seconds = cpu_p;
    out->provisioned_vcpu_seconds = vcpus * wall_billed;
    /* OpenCost's rule: a workload pays for max(request, usage). */
    out->billed_vcpu_seconds = fmax(out->used_vcpu_seconds, out->provisioned_vcpu_seconds);
    double prov_bs = mem_prov * wall_billed;
    double billed_bs = fmax(used_bs_p, prov_bs);
    cost_line *l = add_line(out, COST_R_COMPUTE_VCPU, COST_VARIABLE, "compute vCPU (solution)",
                            out->billed_vcpu_seconds * rpm);
    if (l) {
        note(l, "a run: max(used %.4g vCPU-s, %g vCPU x billed wall %.4g s)", cpu_p, vcpus,
             wall_billed);
        if (cb->minimum_seconds > 0)
            note(l, "minimum %gs a launch, %u launches a run", cb->minimum_seconds, launches);
    }
    l = add_line(out, COST_R_COMPUTE_MEMORY, COST_VARIABLE, "compute memory (solution)",
                 billed_bs * rpm);
    if (l)
        note(l, "a run: max(used %.4g GiB-s, %.4g GiB x billed wall %.4g s)",
             used_bs_p / 1073741824.0, mem_prov / 1073741824.0, wall_billed);
    double cu = out->used_vcpu_seconds / cost_unit_base(m->rates[COST_R_COMPUTE_VCPU].unit) *
                    eff_price(&m->rates[COST_R_COMPUTE_VCPU]) +
                used_bs_p / cost_unit_base(m->rates[COST_R_COMPUTE_MEMORY].unit) *
                    eff_price(&m->rates[COST_R_COMPUTE_MEMORY]);
    out->compute_used = cu;
    out->compute_provisioned = phase_compute(m, out->provisioned_vcpu_seconds, prov_bs);
    double billed_compute_run = phase_compute(m, out->billed_vcpu_seconds, billed_bs);

    /* ---- the database, sized by what it did ---- */
    if (u->uses_db) {
        add_fit(out, fdb);
        add_fit(out, fserved);
        const cost_fit *fst = add_fit(out, FIT("database storage bytes", db_storage_bytes));
        double steps_p = fmax(fdb.projected, 0), served_p = fmax(fserved.projected, 0);
        double dbcpu_p = steps_p + served_p;
        /* Sustained load: a production run's database CPU spread over the time between runs. */
        double window = 86400.0 * COST_DAYS_PER_MONTH / rpm;
        out->db_load_vcpu = dbcpu_p / window;
        const cost_db_class *kc = cost_db_pick(m, out->db_load_vcpu);
        cost_db_class single = {0};
        if (!kc && m->rates[COST_R_DB_INSTANCE].present) {
            /* An old sheet: one instance price, taken as 1 vCPU. */
            const cost_rate *dr = &m->rates[COST_R_DB_INSTANCE];
            single = (cost_db_class){.name = (char *)"db_instance",
                                     .vcpu = 1,
                                     .capacity_vcpu = 1,
                                     .price = dr->price * cost_unit_base(dr->unit) / 3600.0,
                                     .discount = dr->discount,
                                     .unverified = dr->unverified};
            kc = &single;
        }
        if (kc) {
            out->db_class = kc == &single ? NULL : kc;
            double hourly = class_price(kc);
            double hours = COST_HOURS_PER_MONTH;
            double used_h = dbcpu_p * rpm / 3600.0; /* vCPU-hours a month */
            double per_vcpu_h = hourly / kc->capacity_vcpu;
            out->db_utilisation = out->db_load_vcpu / kc->capacity_vcpu;
            if (kc == &single)
                snprintf(out->db_reason, sizeof out->db_reason,
                         "the sheet prices one instance (no classes listed)");
            else if (kc->capacity_vcpu * m->db_target >= out->db_load_vcpu)
                snprintf(out->db_reason, sizeof out->db_reason,
                         "%s: the smallest class whose %.3g sustained vCPU at a %.0f%% target "
                         "covers the projected load of %.3g vCPU (%.4g CPU-s a run over %.4g h "
                         "between runs)",
                         kc->name, kc->capacity_vcpu, m->db_target * 100, out->db_load_vcpu,
                         dbcpu_p, window / 3600);
            else
                snprintf(out->db_reason, sizeof out->db_reason,
                         "%s: the largest class listed, and still above the %.0f%% target: the "
                         "projected load is %.3g vCPU, the class sustains %.3g",
                         kc->name, m->db_target * 100, out->db_load_vcpu, kc->capacity_vcpu);
            char comp[80];
            snprintf(comp, sizeof comp, "database CPU (%s)", kc->name);
            l = add_class_line(out, kc, COST_VARIABLE, comp, steps_p * rpm / 3600.0, per_vcpu_h,
                               kc->price / kc->capacity_vcpu, "vCPU-hour");
            if (l)
                note(l,
                     "%.4g CPU-s a run of the solution's steps at the class's price per "
                     "sustained vCPU (%.6g / %.3g)",
                     steps_p, hourly, kc->capacity_vcpu);
            snprintf(comp, sizeof comp, "database CPU, served workload (%s)", kc->name);
            l = add_class_line(out, kc, COST_VARIABLE, comp, served_p * rpm / 3600.0, per_vcpu_h,
                               kc->price / kc->capacity_vcpu, "vCPU-hour");
            if (l)
                note(l,
                     "%.4g CPU-s a run serving the product's workload (the queries it answers) "
                     "at the class's price per sustained vCPU",
                     served_p);
            double idle_h = hours - used_h / kc->capacity_vcpu;
            if (idle_h < 0) idle_h = 0;
            snprintf(comp, sizeof comp, "database instance %s (unused capacity)", kc->name);
            l = add_class_line(out, kc, COST_FIXED, comp, idle_h, hourly, kc->price,
                               "instance-hour");
            if (l)
                note(l,
                     "always on %g h a month less the hours the solution's CPU used; sized: "
                     "%s",
                     hours, out->db_reason);
        }
        /* Storage: one production run's data in the solution's own relations, with the
         * service's minimum. */
        const cost_rate *sr = &m->rates[COST_R_DB_STORAGE];
        if (sr->present) {
            double bytes = fst->projected > 0 ? fst->projected : 0;
            double q = bytes / cost_unit_base(sr->unit);
            bool at_min = q < sr->minimum;
            double base = (at_min ? sr->minimum : q) * cost_unit_base(sr->unit);
            l = add_line(out, COST_R_DB_STORAGE, at_min ? COST_FIXED : COST_VARIABLE, NULL, base);
            if (l) {
                if (at_min)
                    note(l,
                         "the service's minimum %g %s (the solution's relations: %.4g of it "
                         "at a production run's size)",
                         sr->minimum, cost_unit_name(sr->unit), q);
                else
                    note(l, "the solution's tables, indexes and views at a production run's "
                            "size");
            }
        }
    }

    /* ---- files, network, requests ---- */
    const cost_fit *f = add_fit(out, FIT("file bytes", landing_bytes));
    l = add_line(out, COST_R_STORAGE, COST_VARIABLE, NULL, fmax(f->projected, 0) * rpm);
    if (l) note(l, "each run's output files kept one month");
    f = add_fit(out, FIT("egress bytes", egress_bytes));
    add_line(out, COST_R_EGRESS, COST_VARIABLE, NULL, fmax(f->projected, 0) * rpm);
    f = add_fit(out, FIT("requests", requests));
    add_line(out, COST_R_REQUESTS, COST_VARIABLE, NULL, fmax(f->projected, 0) * rpm);

    /* ---- streaming, when used ---- */
    if (u->uses_streaming || u->kafka_bytes_in || u->kafka_bytes_out || u->kafka_partitions) {
        const cost_fit *fi = add_fit(out, FIT("streaming bytes in", kafka_bytes_in));
        const cost_fit *fo = add_fit(out, FIT("streaming bytes out", kafka_bytes_out));
        double in_p = fmax(fi->projected, 0), out_p = fmax(fo->projected, 0);
        l = add_line(out, COST_R_KAFKA_IN, COST_VARIABLE, NULL, in_p * rpm);
        if (l) note(l, "%.4g bytes a run: what the replay produced into topics", in_p);
        l = add_line(out, COST_R_KAFKA_OUT, COST_VARIABLE, NULL, out_p * rpm);
        if (l) note(l, "%.4g bytes a run: the solution reads its input once", out_p);
        if (m->rates[COST_R_KAFKA_EVENTS].present) {
            double msgs = fmax(FIT("", kafka_messages_in).projected, 0);
            double ev = fmax(msgs, ceil(in_p / COST_EVENT_BYTES));
            l = add_line(out, COST_R_KAFKA_EVENTS, COST_VARIABLE, NULL, ev * rpm);
            if (l) note(l, "%.4g events a run (an event is billed per 64 KiB)", ev);
        }
        double parts = u->kafka_partitions ? u->kafka_partitions : 1;
        l = add_line(out, COST_R_KAFKA_PARTITION, COST_FIXED, NULL,
                     parts * COST_HOURS_PER_MONTH * 3600.0);
        if (l) note(l, "%g partitions x %g h a month", parts, COST_HOURS_PER_MONTH);
        const cost_rate *cr = &m->rates[COST_R_KAFKA_CLUSTER];
        if (cr->present) {
            double n = 1;
            if (cr->unit == COST_U_TU_HOUR) {
                /* Throughput units: enough for the month's average ingress. */
                double bps = in_p * rpm / (COST_DAYS_PER_MONTH * 86400.0);
                n = fmax(1, ceil(bps / COST_TU_BYTES_PER_SECOND));
            }
            l = add_line(out, COST_R_KAFKA_CLUSTER, COST_FIXED, m->streaming ? NULL : NULL,
                         n * COST_HOURS_PER_MONTH * 3600.0);
            if (l) {
                if (m->streaming)
                    snprintf(l->component, sizeof l->component, "%s fee", m->streaming);
                note(l, "%g %s x %g h a month, paid whatever the volume", n,
                     cr->unit == COST_U_TU_HOUR ? "throughput units" : "cluster",
                     COST_HOURS_PER_MONTH);
            }
        }
    }
#undef FIT

    /* Variable lines first, then fixed, each in the order added. */
    cost_line tmp[COST_MAX_LINES];
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < out->nlines; i++)
            if ((out->lines[i].kind == COST_FIXED) == (pass == 1)) tmp[n++] = out->lines[i];
    memcpy(out->lines, tmp, n * sizeof *tmp);
    for (size_t i = 0; i < out->nlines; i++) {
        cost_line *x = &out->lines[i];
        x->run = x->monthly / rpm;
        if (x->kind == COST_FIXED)
            out->monthly_fixed += x->monthly;
        else
            out->monthly_variable += x->monthly;
    }
    out->monthly = out->monthly_fixed + out->monthly_variable;
    out->total = out->monthly / rpm;
    out->monthly_input_records = R * rpm;
    out->monthly_correct_outputs = (double)u->correct_output_records * k * rpm;
    out->per_million_input =
        out->monthly_input_records > 0 ? out->monthly / out->monthly_input_records * 1e6 : NAN;
    out->per_correct_record =
        out->monthly_correct_outputs > 0 ? out->monthly / out->monthly_correct_outputs : NAN;
    if (u->nphases) {
        int rc = attribute_phases(out, u, vcpus, k, billed_compute_run, e);
        if (rc) {
            cost_breakdown_release(out);
            return rc;
        }
    }
    return 0;
}

int cost_price_all(const cost_model *const *models, size_t n, const cost_usage *u,
                   const plan_scale *scale, cost_breakdown *outs, hx_err *e)
{
    for (size_t i = 0; i < n; i++) {
        int rc = cost_price(models[i], u, scale, &outs[i], e);
        if (rc) {
            for (size_t j = 0; j < i; j++)
                cost_breakdown_release(&outs[j]);
            return hx_wrap(e, "pricing under %s", models[i]->name);
        }
    }
    return 0;
}
