/* solenv.c - the solution's environment (docs/solutions.md "What the solution gets"): of ours only
 * the public variables (hx_env_public: PATH, HOME, LANG, ...) and those `--pass-env` names, then
 * each replay target's variables (HARNESS_INPUT_DIR, the PG* of the scenario's database,
 * KAFKA_*), then the harness's own (HARNESS_OUTPUT_DIR, HARNESS_SCENARIO, HARNESS_BATCH), then
 * solution.json's env, which wins. Everything else of ours (a CI job's tokens, cloud credentials)
 * stays out. Never the seed: HARNESS_SEED (where an official run keeps its secret one) and the
 * libpq files that could hold the admin's password are taken out even when --pass-env names
 * them. The build command gets the same minus the scenario's part (run_build_env). Also the
 * runner's environment builder (runner_env_build, runner.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_priv.h"

extern char **environ;

/* KEY, VALUE pairs, copied; NULL-ended for runner_env_build. */
typedef struct env_list {
    char **kv;
    size_t n, cap;
    bool oom;
} env_list;

static bool env_add(void *ud, const char *key, const char *val)
{
    env_list *l = ud;
    if (l->oom) return false;
    if (l->n + 3 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **kv = hx_realloc(l->kv, cap * sizeof *kv);
        if (!kv) return !(l->oom = true);
        l->kv = kv;
        l->cap = cap;
    }
    /* A NULL value removes KEY (runner_env_build). */
    char *k = hx_strdup(key), *v = val ? hx_strdup(val) : NULL;
    if (!k || (val && !v)) {
        hx_free(k);
        hx_free(v);
        return !(l->oom = true);
    }
    l->kv[l->n++] = k;
    l->kv[l->n++] = v;
    l->kv[l->n] = NULL;
    return true;
}

static void env_list_release(env_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        hx_free(l->kv[i]);
    hx_free(l->kv);
    memset(l, 0, sizeof *l);
}

/* The end every environment shares: the seed and libpq's files out, solution.json's env on top,
 * then built on our public entries and --pass-env's (hx_env_public_list). Frees l. */
static int finish_env(run_ctx *c, env_list *l, char ***out, hx_err *e)
{
    static const char *const scrub[] = {"HARNESS_SEED", "HARNESS_SEED_FILE", "PGPASSFILE",
                                        "PGSERVICE",    "PGSERVICEFILE",     NULL};
    for (size_t i = 0; scrub[i]; i++)
        env_add(l, scrub[i], NULL); /* a NULL value removes the variable */
    for (size_t i = 0; i < c->sol.n_env; i++)
        env_add(l, c->sol.env[i].key, c->sol.env[i].val);
    char **base = l->oom ? NULL : hx_env_public_list(c->o->pass_env, c->o->npass_env);
    int rc = base ? runner_env_build(base, (const char *const *)l->kv, out, e)
                  : hx_fail(e, HX_ENOMEM, "out of memory building the solution's environment");
    hx_free(base);
    env_list_release(l);
    return rc;
}

int run_build_env(run_ctx *c, char ***out, hx_err *e)
{
    env_list l = {0};
    return finish_env(c, &l, out, e);
}

int run_sol_env(run_scen *sc, int batch, char ***out, hx_err *e)
{
    run_ctx *c = sc->c;
    const plan_scenario *s = sc->s;
    char out_abs[PATH_MAX];
    if (!realpath(sc->outdir, out_abs))
        return hx_fail(e, HX_EIO, "cannot resolve '%s': %s", sc->outdir, strerror(errno));
    env_list l = {0};
    int rc = 0;
    for (size_t i = 0; c->targets[i] && !rc; i++)
        if (c->targets[i]->env) rc = c->targets[i]->env(&sc->site, env_add, &l, e);
    char batch_s[16];
    snprintf(batch_s, sizeof batch_s, "%d", batch < 0 ? 0 : batch);
    if (rc) {
        env_list_release(&l);
        return rc;
    }
    env_add(&l, "HARNESS_OUTPUT_DIR", out_abs);
    env_add(&l, "HARNESS_SCENARIO", s->name);
    env_add(&l, "HARNESS_BATCH", batch_s);
    return finish_env(c, &l, out, e);
}

int runner_env_build(char *const *base, const char *const *overlay, char ***out, hx_err *e)
{
    *out = NULL;
    if (!base) base = environ;
    size_t nb = 0, no = 0;
    while (base[nb])
        nb++;
    while (overlay && overlay[2 * no])
        no++;
    for (size_t i = 0; i < no; i++)
        if (!overlay[2 * i][0] || strchr(overlay[2 * i], '='))
            return hx_fail(e, HX_EUSAGE, "'%s' is not a valid environment variable name",
                           overlay[2 * i]);
    char **v = hx_calloc(nb + no + 1, sizeof *v);
    if (!v) return hx_fail(e, HX_ENOMEM, "out of memory building the solution's environment");
    size_t k = 0;
    for (size_t i = 0; i < nb; i++) {
        const char *eq = strchr(base[i], '=');
        size_t kl = eq ? (size_t)(eq - base[i]) : strlen(base[i]);
        bool over = false;
        for (size_t j = 0; j < no && !over; j++)
            over = strlen(overlay[2 * j]) == kl && memcmp(overlay[2 * j], base[i], kl) == 0;
        if (over) continue;
        if (!(v[k++] = hx_strdup(base[i]))) goto oom;
    }
    for (size_t j = 0; j < no; j++) {
        if (!overlay[2 * j + 1]) continue;
        bool dup = false; /* a key given twice: the last one wins */
        for (size_t m = j + 1; m < no && !dup; m++)
            dup = strcmp(overlay[2 * j], overlay[2 * m]) == 0;
        if (dup) continue;
        hx_buf b;
        hx_buf_init(&b);
        hx_buf_printf(&b, "%s=%s", overlay[2 * j], overlay[2 * j + 1]);
        if (b.oom) {
            hx_buf_release(&b);
            goto oom;
        }
        v[k++] = hx_buf_steal(&b);
    }
    *out = v;
    return 0;
oom:
    runner_env_free(v);
    return hx_fail(e, HX_ENOMEM, "out of memory building the solution's environment");
}

void runner_env_free(char **env)
{
    if (!env) return;
    for (size_t i = 0; env[i]; i++)
        hx_free(env[i]);
    hx_free(env);
}
