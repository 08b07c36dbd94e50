/* merge.c - shard runs into one run: manifest checks, the pack's order back, verdict, totals, exit
 * code and score recomputed; and exact histogram merges over scenarios. See merge.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"

void merge_notes_release(merge_notes *notes)
{
    if (!notes) return;
    for (size_t i = 0; i < notes->nlines; i++)
        hx_free(notes->lines[i]);
    hx_free(notes->lines);
    notes->lines = NULL;
    notes->nlines = 0;
}

/* Untrusted text (names from files made elsewhere) for a one-line message: controls become '?',
 * at most 80 bytes, NULL reads "(none)". */
static const char *show(char buf[static 96], const char *s)
{
    if (!s) return "(none)";
    size_t i = 0;
    for (; s[i] && i < 80; i++)
        buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (s[i]) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* The value of the last "--opt V" or "--opt=V" in r's command line, as getopt would keep it. */
static const char *argv_opt(const results_run *r, const char *opt)
{
    const char *v = NULL;
    size_t ol = strlen(opt);
    for (size_t k = 0; k < r->nargv; k++) {
        const char *a = r->argv[k];
        if (!a) continue;
        if (strcmp(a, "--") == 0) break;
        if (strcmp(a, opt) == 0 && k + 1 < r->nargv)
            v = r->argv[++k];
        else if (strncmp(a, opt, ol) == 0 && a[ol] == '=')
            v = a + ol + 1;
    }
    return v;
}

bool merge_shard_of(const results_run *r, int *i, int *n)
{
    *i = *n = 0;
    const char *v = argv_opt(r, "--shard");
    int si, sn;
    char tail;
    if (!v || sscanf(v, "%d/%d%c", &si, &sn, &tail) != 2 || sn < 1 || si < 1 || si > sn)
        return false;
    *i = si;
    *n = sn;
    return true;
}

static bool note(merge_notes *notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool note(merge_notes *notes, const char *fmt, ...)
{
    if (!notes) return true;
    va_list ap;
    va_start(ap, fmt);
    char *s = hx_vasprintf(fmt, ap);
    va_end(ap);
    char **v = s ? hx_realloc(notes->lines, (notes->nlines + 1) * sizeof *v) : NULL;
    if (!v) {
        hx_free(s);
        return false;
    }
    notes->lines = v;
    notes->lines[notes->nlines++] = s;
    return true;
}

/* ---- the manifest ---- */

static int differ(hx_err *e, const merge_input *a, const merge_input *b, const char *field,
                  const char *va, const char *vb)
{
    char s1[96], s2[96], s3[96], s4[96];
    return hx_fail(e, HX_EUSAGE,
                   "cannot merge '%s' and '%s': their %s differs ('%s' vs '%s'); merge only the "
                   "shards of one run (same pack, harness, solution, seeds and price sheets)",
                   show(s1, a->name), show(s2, b->name), field, show(s3, va), show(s4, vb));
}

/* "aws-us-east-1@2026-01-15,..." for messages and comparison. NULL when out of memory. */
static char *sheets_text(const results_run *r)
{
    hx_buf b;
    hx_buf_init(&b);
    hx_buf_puts(&b, "");
    for (size_t i = 0; i < r->nprice_sheets; i++)
        hx_buf_printf(&b, "%s%s@%s", i ? "," : "",
                      r->price_sheets[i].name ? r->price_sheets[i].name : "?",
                      r->price_sheets[i].as_of ? r->price_sheets[i].as_of : "?");
    if (b.oom) {
        hx_buf_release(&b);
        return NULL;
    }
    return hx_buf_steal(&b);
}

static int check_manifest(const merge_input *a, const merge_input *b, hx_err *e)
{
    const results_run *x = a->run, *y = b->run;
    if (!str_eq(x->pack_name, y->pack_name))
        return differ(e, a, b, "pack", x->pack_name, y->pack_name);
    if (!str_eq(x->level, y->level)) return differ(e, a, b, "pack level", x->level, y->level);
    if (!str_eq(x->harness_version, y->harness_version))
        return differ(e, a, b, "harness version", x->harness_version, y->harness_version);
    if (!str_eq(x->harness_commit, y->harness_commit))
        return differ(e, a, b, "harness commit", x->harness_commit, y->harness_commit);
    if (x->plugin_abi != y->plugin_abi) {
        char s1[16], s2[16];
        snprintf(s1, sizeof s1, "%d", x->plugin_abi);
        snprintf(s2, sizeof s2, "%d", y->plugin_abi);
        return differ(e, a, b, "plugin ABI", s1, s2);
    }
    if (!str_eq(x->solution_name, y->solution_name))
        return differ(e, a, b, "solution", x->solution_name, y->solution_name);
    const char *sx = argv_opt(x, "--seed"), *sy = argv_opt(y, "--seed");
    if (!str_eq(sx, sy)) return differ(e, a, b, "seed override (--seed)", sx, sy);
    char *px = sheets_text(x), *py = sheets_text(y);
    int rc = 0;
    if (!px || !py)
        rc = hx_fail(e, HX_ENOMEM, "out of memory");
    else if (strcmp(px, py) != 0)
        rc = differ(e, a, b, "price sheets", px, py);
    hx_free(px);
    hx_free(py);
    return rc;
}

/* A name tagged with where it came from, for finding the same scenario in two places. */
typedef struct tagged {
    const char *name;
    size_t input, pos;
    uint64_t seed;
} tagged;

static int cmp_tagged(const void *pa, const void *pb)
{
    const tagged *a = pa, *b = pb;
    int c = strcmp(a->name ? a->name : "", b->name ? b->name : "");
    if (c) return c;
    if (a->input != b->input) return a->input < b->input ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static int check_duplicates(const merge_input *in, tagged *t, size_t nt, hx_err *e)
{
    char s1[96], s2[96], s3[96];
    qsort(t, nt, sizeof *t, cmp_tagged);
    for (size_t k = 1; k < nt; k++) {
        if (strcmp(t[k - 1].name ? t[k - 1].name : "", t[k].name ? t[k].name : "") != 0) continue;
        const char *name = show(s1, t[k].name);
        if (t[k - 1].input == t[k].input)
            return hx_fail(e, HX_EUSAGE, "'%s': scenario '%s' appears twice; the file is damaged",
                           show(s2, in[t[k].input].name), name);
        return hx_fail(e, HX_EUSAGE,
                       "scenario '%s' is in both '%s' and '%s': each scenario must come from one "
                       "shard (were the same shard's results given twice, or different "
                       "--shard splits?)",
                       name, show(s2, in[t[k - 1].input].name), show(s3, in[t[k].input].name));
    }
    return 0;
}

static int check_seeds(const merge_input *in, size_t n, hx_err *e)
{
    size_t nt = 0;
    for (size_t i = 0; i < n; i++)
        nt += in[i].run->nseeds;
    if (nt < 2) return 0;
    tagged *t = hx_malloc(nt * sizeof *t);
    if (!t) return hx_fail(e, HX_ENOMEM, "out of memory");
    nt = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < in[i].run->nseeds; k++)
            t[nt++] = (tagged){in[i].run->seeds[k].scenario, i, k, in[i].run->seeds[k].seed};
    qsort(t, nt, sizeof *t, cmp_tagged);
    int rc = 0;
    for (size_t k = 1; k < nt && !rc; k++) {
        if (strcmp(t[k - 1].name ? t[k - 1].name : "", t[k].name ? t[k].name : "") != 0 ||
            t[k - 1].seed == t[k].seed)
            continue;
        char field[160], s1[96], v1[24], v2[24];
        snprintf(field, sizeof field, "seed of scenario '%s'", show(s1, t[k].name));
        snprintf(v1, sizeof v1, "%llu", (unsigned long long)t[k - 1].seed);
        snprintf(v2, sizeof v2, "%llu", (unsigned long long)t[k].seed);
        rc = differ(e, &in[t[k - 1].input], &in[t[k].input], field, v1, v2);
    }
    hx_free(t);
    return rc;
}

/* Every encoded histogram must decode: a damaged one would fail later, far from its file. */
static int check_histograms(const merge_input *in, hx_err *e)
{
    const results_run *r = in->run;
    for (size_t s = 0; s < r->nscenarios; s++)
        for (size_t h = 0; h < r->scenarios[s].nhistograms; h++) {
            const results_hist *rh = &r->scenarios[s].histograms[h];
            if (!rh->encoded || !*rh->encoded) continue;
            hist *x = NULL;
            hx_err he = {0};
            int rc = hist_decode(rh->encoded, &x, &he);
            hist_free(x);
            if (rc == HX_ENOMEM) return hx_fail(e, rc, "out of memory");
            if (rc) {
                char s1[96], s2[96], s3[96];
                return hx_fail(e, HX_EUSAGE, "'%s': scenario '%s': histogram '%s': %s",
                               show(s1, in->name), show(s2, r->scenarios[s].name),
                               show(s3, rh->name), he.msg);
            }
        }
    return 0;
}

/* ---- order ---- */

typedef enum order_mode { ORDER_SHARD, ORDER_FILE, ORDER_INPUT } order_mode;

typedef struct ent {
    size_t input, pos; /* where the scenario is */
    const results_scenario *sc;
    size_t shard_key; /* ORDER_SHARD: its index in the unsplit selection */
    const char *rel;  /* ORDER_FILE: its file relative to the pack */
} ent;

static int cmp_ent_shard(const void *pa, const void *pb)
{
    const ent *a = pa, *b = pb;
    return a->shard_key < b->shard_key ? -1 : a->shard_key > b->shard_key;
}

static int cmp_ent_input(const void *pa, const void *pb)
{
    const ent *a = pa, *b = pb;
    if (a->input != b->input) return a->input < b->input ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* The pack loader's order (scen_load_pack): files beside challenge.lua, then those in
 * scenarios/, each group by name. */
static int cmp_ent_file(const void *pa, const void *pb)
{
    const ent *a = pa, *b = pb;
    bool da = strchr(a->rel, '/') != NULL, db = strchr(b->rel, '/') != NULL;
    if (da != db) return da ? 1 : -1;
    int c = strcmp(a->rel, b->rel);
    return c ? c : cmp_ent_input(pa, pb);
}

/* sc's file relative to the pack folder, or NULL when it is not under it. */
static const char *rel_file(const results_run *r, const results_scenario *sc)
{
    if (!sc->file || !r->pack_dir) return NULL;
    size_t n = strlen(r->pack_dir);
    while (n > 1 && r->pack_dir[n - 1] == '/')
        n--;
    if (strncmp(sc->file, r->pack_dir, n) != 0 || sc->file[n] != '/' || !sc->file[n + 1])
        return NULL;
    return sc->file + n + 1;
}

/* ORDER_SHARD needs every input to be a different shard of one I/N split. */
static order_mode pick_order(const merge_input *in, size_t n, ent *v, size_t nv)
{
    int n0 = 0, i0;
    bool shards = merge_shard_of(in[0].run, &i0, &n0);
    for (size_t i = 0; shards && i < n; i++) {
        int si, sn;
        shards = merge_shard_of(in[i].run, &si, &sn) && sn == n0;
        for (size_t j = 0; shards && j < i; j++) {
            int sj, snj;
            merge_shard_of(in[j].run, &sj, &snj);
            shards = sj != si;
        }
    }
    if (shards) {
        for (size_t k = 0; k < nv; k++) {
            int si, sn;
            merge_shard_of(in[v[k].input].run, &si, &sn);
            v[k].shard_key = v[k].pos * (size_t)sn + (size_t)(si - 1);
        }
        return ORDER_SHARD;
    }
    for (size_t k = 0; k < nv; k++)
        if (!(v[k].rel = rel_file(in[v[k].input].run, v[k].sc))) return ORDER_INPUT;
    return ORDER_FILE;
}

/* ---- the merged manifest ---- */

static int exit_rank(int code)
{
    switch (code) {
    case HX_EXIT_OK:
        return 0;
    case HX_EXIT_THRESHOLD:
        return 1;
    case HX_EXIT_CHECK:
        return 2;
    case HX_EXIT_USAGE:
        return 3;
    case HX_EXIT_INFRA:
        return 4;
    case HX_EXIT_INTERRUPTED:
        return 5;
    default:
        return 3;
    }
}

/* *slot = the distinct values of one string field over the inputs, joined by ", ". */
static bool join_distinct(char **slot, const merge_input *in, size_t n, size_t off, bool *differ)
{
    hx_buf b;
    hx_buf_init(&b);
    hx_buf_puts(&b, "");
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        const char *s = *(char *const *)((const char *)&in[i].run->machine + off);
        if (!s) continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = str_eq(s, *(char *const *)((const char *)&in[j].run->machine + off));
        if (seen) continue;
        if (any) *differ = true;
        hx_buf_printf(&b, "%s%s", any ? ", " : "", s);
        any = true;
    }
    bool ok = !b.oom && results_set_str(slot, any ? b.data : NULL);
    hx_buf_release(&b);
    return ok;
}

static bool merge_machine(results_run *m, const merge_input *in, size_t n, merge_notes *notes)
{
    bool differ = false, ok = true;
    ok &= join_distinct(&m->machine.hostname, in, n, offsetof(results_machine, hostname), &differ);
    ok &= join_distinct(&m->machine.kernel, in, n, offsetof(results_machine, kernel), &differ);
    ok &=
        join_distinct(&m->machine.cpu_model, in, n, offsetof(results_machine, cpu_model), &differ);
    m->machine.cores = in[0].run->machine.cores;
    m->machine.ram_bytes = in[0].run->machine.ram_bytes;
    for (size_t i = 1; i < n; i++)
        differ |= in[i].run->machine.cores != m->machine.cores ||
                  in[i].run->machine.ram_bytes != m->machine.ram_bytes;
    if (!ok || !differ) return ok;
    hx_buf b;
    hx_buf_init(&b);
    hx_buf_puts(&b, "the inputs ran on different machines (fine; cores and RAM in the report are "
                    "the first input's):");
    for (size_t i = 0; i < n; i++) {
        const results_machine *mc = &in[i].run->machine;
        char s1[96], s2[96], s3[96], s4[96];
        hx_buf_printf(&b, "\n  '%s': %s, %s, %d cores, %.1f GiB RAM, %s", show(s1, in[i].name),
                      show(s2, mc->hostname), show(s3, mc->cpu_model), mc->cores,
                      (double)mc->ram_bytes / (1024.0 * 1024 * 1024), show(s4, mc->kernel));
    }
    ok = !b.oom && note(notes, "%s", b.data);
    hx_buf_release(&b);
    return ok;
}

static bool copy_seeds_of(results_run *m, const results_run *r, const char *scenario)
{
    for (size_t k = 0; k < r->nseeds; k++)
        if (str_eq(r->seeds[k].scenario, scenario) &&
            !results_seed_add(m, r->seeds[k].scenario, r->seeds[k].seed))
            return false;
    return true;
}

static bool copy_datasets_of(results_run *m, const results_run *r, const char *scenario)
{
    for (size_t k = 0; k < r->ndatasets; k++) {
        const results_dataset *d = &r->datasets[k];
        if (!str_eq(d->scenario, scenario)) continue;
        results_dataset *nd = results_dataset_add(m, d->scenario, d->dataset, d->format);
        if (!nd || !results_set_str(&nd->sha256, d->sha256)) return false;
        nd->rows = d->rows;
        nd->emissions = d->emissions;
    }
    return true;
}

static bool in_names(const tagged *names, size_t nn, const char *s)
{
    tagged key = {s ? s : "", 0, 0, 0};
    size_t lo = 0, hi = nn;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(names[mid].name ? names[mid].name : "", key.name);
        if (c == 0) return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Seeds and datasets in the merged scenario order; those of scenarios that never finished (an
 * interrupted run keeps the seed of the scenario it stopped in) after them, once each. */
static bool merge_seeds_datasets(results_run *m, const merge_input *in, size_t n, const ent *v,
                                 size_t nv, const tagged *names)
{
    for (size_t k = 0; k < nv; k++) {
        const results_run *r = in[v[k].input].run;
        if (!copy_seeds_of(m, r, v[k].sc->name) || !copy_datasets_of(m, r, v[k].sc->name))
            return false;
    }
    for (size_t i = 0; i < n; i++) {
        const results_run *r = in[i].run;
        for (size_t k = 0; k < r->nseeds; k++) {
            const results_seed *s = &r->seeds[k];
            bool have = in_names(names, nv, s->scenario);
            for (size_t j = 0; j < m->nseeds && !have; j++)
                have = str_eq(m->seeds[j].scenario, s->scenario);
            if (!have && !results_seed_add(m, s->scenario, s->seed)) return false;
        }
        for (size_t k = 0; k < r->ndatasets; k++) {
            const results_dataset *d = &r->datasets[k];
            if (in_names(names, nv, d->scenario)) continue;
            bool have = false;
            for (size_t j = 0; j < m->ndatasets && !have; j++)
                have = str_eq(m->datasets[j].scenario, d->scenario) &&
                       str_eq(m->datasets[j].dataset, d->dataset);
            if (have) continue;
            results_dataset *nd = results_dataset_add(m, d->scenario, d->dataset, d->format);
            if (!nd || !results_set_str(&nd->sha256, d->sha256)) return false;
            nd->rows = d->rows;
            nd->emissions = d->emissions;
        }
    }
    return true;
}

static bool merge_header(results_run *m, const merge_input *in, size_t n, merge_notes *notes)
{
    const results_run *f = in[0].run;
    bool ok = results_set_str(&m->harness_version, f->harness_version) &&
              results_set_str(&m->harness_commit, f->harness_commit) &&
              results_set_str(&m->pack_name, f->pack_name) &&
              results_set_str(&m->pack_dir, f->pack_dir) && results_set_str(&m->level, f->level) &&
              results_set_str(&m->solution_name, f->solution_name) &&
              results_set_str(&m->solution_dir, f->solution_dir);
    /* The merged run is as isolated as its least isolated shard. */
    const char *iso = f->isolation;
    for (size_t i = 1; i < n; i++)
        if (!in[i].run->isolation || !iso || strcmp(in[i].run->isolation, iso) != 0) {
            iso = (in[i].run->isolation && iso) ? "mixed" : NULL;
            break;
        }
    if (ok && iso) ok = results_set_str(&m->isolation, iso);
    /* Shards of one run share its database; differing ones leave it unsaid. */
    const char *db = f->database;
    for (size_t i = 1; i < n && db; i++)
        if (!in[i].run->database || strcmp(in[i].run->database, db) != 0) db = NULL;
    if (ok && db) ok = results_set_str(&m->database, db);
    m->plugin_abi = f->plugin_abi;
    for (size_t i = 0; ok && i < f->nprice_sheets; i++) {
        const results_price_sheet *p = &f->price_sheets[i];
        ok = results_price_sheet_add(m, p->name, p->provider, p->region, p->as_of) != NULL;
    }
    const char *started = NULL, *finished = NULL;
    bool unfinished = false;
    for (size_t i = 0; i < n; i++) {
        const results_run *r = in[i].run;
        /* ISO 8601 UTC in one format: text order is time order. */
        if (r->started && (!started || strcmp(r->started, started) < 0)) started = r->started;
        if (!r->finished)
            unfinished = true;
        else if (!finished || strcmp(r->finished, finished) > 0)
            finished = r->finished;
        if (r->duration_s > m->duration_s) m->duration_s = r->duration_s;
        if (r->jobs > m->jobs) m->jobs = r->jobs; /* the most any shard ran at once */
        m->partial |= r->partial;
        m->interrupted |= r->interrupted;
        char s1[96], s2[96], s3[96], s4[96];
        if (ok && r->partial)
            ok = note(notes,
                      "'%s' is partial (rebuilt from a journal: that run did not finish); the "
                      "merged run is partial too",
                      show(s1, in[i].name));
        if (ok && r->interrupted)
            ok = note(notes,
                      "'%s' was interrupted: the scenarios it did not reach are not in the merged "
                      "run",
                      show(s1, in[i].name));
        if (ok && i && !str_eq(r->pack_dir, f->pack_dir))
            ok = note(notes,
                      "'%s' names the pack folder '%s', '%s' names it '%s'; keeping the first",
                      show(s1, in[0].name), show(s2, f->pack_dir), show(s3, in[i].name),
                      show(s4, r->pack_dir));
        if (ok && i && !str_eq(r->solution_dir, f->solution_dir))
            ok = note(notes,
                      "'%s' names the solution folder '%s', '%s' names it '%s'; keeping the first",
                      show(s1, in[0].name), show(s2, f->solution_dir), show(s3, in[i].name),
                      show(s4, r->solution_dir));
    }
    ok = ok && results_set_str(&m->started, started) &&
         results_set_str(&m->finished, unfinished ? NULL : finished);
    return ok && merge_machine(m, in, n, notes);
}

/* Shards of one I/N split that are not among the inputs make the merged run partial. */
static bool missing_shards(results_run *m, const merge_input *in, size_t n, merge_notes *notes)
{
    int i0, n0;
    if (!merge_shard_of(in[0].run, &i0, &n0)) return true;
    for (size_t i = 1; i < n; i++) {
        int si, sn;
        if (!merge_shard_of(in[i].run, &si, &sn) || sn != n0) return true;
    }
    hx_buf b;
    hx_buf_init(&b);
    int missing = 0;
    for (int s = 1; s <= n0; s++) {
        bool have = false;
        for (size_t i = 0; i < n && !have; i++) {
            int si, sn;
            merge_shard_of(in[i].run, &si, &sn);
            have = si == s;
        }
        if (!have) hx_buf_printf(&b, "%s%d/%d", missing++ ? ", " : "", s, n0);
    }
    bool ok = !b.oom;
    if (ok && missing) {
        m->partial = true;
        ok = note(notes,
                  "shard%s %s %s not among the inputs: %s scenarios are missing and the merged "
                  "run is partial",
                  missing > 1 ? "s" : "", b.data, missing > 1 ? "are" : "is",
                  missing > 1 ? "their" : "its");
    }
    hx_buf_release(&b);
    return ok;
}

int merge_runs(merge_input *in, size_t n, results_run **out, merge_notes *notes, hx_err *e)
{
    *out = NULL;
    if (n == 0) return hx_fail(e, HX_EUSAGE, "nothing to merge");
    int *recorded = hx_calloc(n, sizeof *recorded);
    if (!recorded) return hx_fail(e, HX_ENOMEM, "out of memory");
    size_t nv = 0;
    for (size_t i = 0; i < n; i++) {
        /* What the input's own exit code says beyond its scenarios survives its settling. */
        int x = in[i].run->exit_code;
        recorded[i] = x == HX_EXIT_OK || x == HX_EXIT_CHECK || x == HX_EXIT_USAGE ||
                              x == HX_EXIT_INFRA || x == HX_EXIT_THRESHOLD ||
                              x == HX_EXIT_INTERRUPTED
                          ? x
                          : HX_EXIT_USAGE;
        results_run_settle(in[i].run);
        nv += in[i].run->nscenarios;
    }
    int rc = 0;
    for (size_t i = 1; i < n && !rc; i++)
        rc = check_manifest(&in[0], &in[i], e);
    if (!rc) rc = check_seeds(in, n, e);
    for (size_t i = 0; i < n && !rc; i++)
        rc = check_histograms(&in[i], e);

    ent *v = hx_calloc(nv ? nv : 1, sizeof *v);
    tagged *names = hx_calloc(nv ? nv : 1, sizeof *names);
    results_run *m = results_run_new();
    results_scenario *arr =
        hx_malloc((results_array_cap(nv) ? results_array_cap(nv) : 1) * sizeof *arr);
    if (!rc && (!v || !names || !m || !arr)) rc = hx_fail(e, HX_ENOMEM, "out of memory");
    if (!rc) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t p = 0; p < in[i].run->nscenarios; p++, k++) {
                v[k] = (ent){.input = i, .pos = p, .sc = &in[i].run->scenarios[p]};
                names[k] = (tagged){in[i].run->scenarios[p].name, i, p, 0};
            }
        rc = check_duplicates(in, names, nv, e);
    }
    if (!rc) {
        switch (pick_order(in, n, v, nv)) {
        case ORDER_SHARD:
            qsort(v, nv, sizeof *v, cmp_ent_shard);
            break;
        case ORDER_FILE:
            qsort(v, nv, sizeof *v, cmp_ent_file);
            break;
        case ORDER_INPUT:
            qsort(v, nv, sizeof *v, cmp_ent_input);
            break;
        }
        if (!merge_header(m, in, n, notes) || !missing_shards(m, in, n, notes) ||
            !merge_seeds_datasets(m, in, n, v, nv, names))
            rc = hx_fail(e, HX_ENOMEM, "out of memory");
    }
    int worst = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        if (exit_rank(recorded[i]) <= exit_rank(in[i].run->exit_code)) continue;
        char s1[96];
        if (!note(notes,
                  "'%s' ended with exit %d, which its scenarios do not explain (a service or "
                  "the solution's build failed before they ran?); the merged exit code keeps it",
                  show(s1, in[i].name), recorded[i]))
            rc = hx_fail(e, HX_ENOMEM, "out of memory");
        if (exit_rank(recorded[i]) > exit_rank(worst)) worst = recorded[i];
    }
    if (rc) {
        hx_free(arr);
        results_run_free(m);
    } else {
        /* Nothing below can fail: the scenarios change hands. */
        for (size_t k = 0; k < nv; k++)
            arr[k] = *v[k].sc;
        for (size_t i = 0; i < n; i++) {
            hx_free(in[i].run->scenarios);
            in[i].run->scenarios = NULL;
            in[i].run->nscenarios = 0;
        }
        m->scenarios = arr;
        m->nscenarios = nv;
        results_run_settle(m);
        results_run_score(m);
        if (exit_rank(worst) > exit_rank(m->exit_code)) {
            m->exit_code = worst;
            if (worst == HX_EXIT_USAGE || worst == HX_EXIT_INFRA) m->verdict = RESULTS_ERROR;
        }
        *out = m;
    }
    hx_free(v);
    hx_free(names);
    hx_free(recorded);
    return rc;
}

/* ---- histograms ---- */

int merge_hist(const results_run *r, const char *name, hist **out, size_t *nmerged, hx_err *e)
{
    *out = NULL;
    size_t used = 0;
    hist *acc = NULL;
    int rc = 0;
    for (size_t s = 0; s < r->nscenarios && !rc; s++) {
        const results_scenario *sc = &r->scenarios[s];
        for (size_t h = 0; h < sc->nhistograms && !rc; h++) {
            const results_hist *rh = &sc->histograms[h];
            if (!str_eq(rh->name, name)) continue;
            char s1[96], s2[96];
            if (!rh->encoded || !*rh->encoded) {
                if (rh->count > 0)
                    rc = hx_fail(e, HX_EUSAGE,
                                 "scenario '%s': histogram '%s' has %lld values but no encoding "
                                 "to merge",
                                 show(s1, sc->name), show(s2, name), (long long)rh->count);
                continue;
            }
            hist *x = NULL;
            hx_err he = {0};
            rc = hist_decode(rh->encoded, &x, &he);
            if (rc == HX_ENOMEM) {
                rc = hx_fail(e, rc, "out of memory");
            } else if (rc) {
                rc = hx_fail(e, HX_EUSAGE, "scenario '%s': histogram '%s': %s", show(s1, sc->name),
                             show(s2, name), he.msg);
            } else if (!acc) {
                acc = x;
                x = NULL;
                used++;
            } else if ((rc = hist_merge(acc, x)) != 0) {
                rc = hx_fail(e, HX_EUSAGE,
                             "scenario '%s': histogram '%s' differs in range or precision from "
                             "the earlier scenarios' (or the total count overflows); it cannot be "
                             "merged exactly",
                             show(s1, sc->name), show(s2, name));
            } else {
                used++;
            }
            hist_free(x);
        }
    }
    if (rc) {
        hist_free(acc);
        return rc;
    }
    *out = acc;
    if (nmerged) *nmerged = used;
    return 0;
}
