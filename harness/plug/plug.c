/* plug.c - finding and loading validator plugins (dlopen, the ABI handshake in the manner of
 * PostgreSQL's module magic; or the descriptor as a worker read it, copied), looking up checks
 * and validating their parameters, and choosing between an isolated and an in-process run. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "plug.h"

#ifndef HX_PLUGIN_BUILD_DIR
#define HX_PLUGIN_BUILD_DIR ""
#endif
#ifndef HX_PLUGIN_INSTALL_DIR
#define HX_PLUGIN_INSTALL_DIR "/usr/local/lib/harness/plugins"
#endif
#ifndef HX_BUILD_ROOT
#define HX_BUILD_ROOT ""
#endif

/* The size of version 1 of each struct: a plugin built against a newer header may be larger, an
 * older one may not be smaller than this. */
#define DESC_V1_SIZE (offsetof(hx_plugin_descriptor, fini) + sizeof(void (*)(void)))
#define CHECK_V1_SIZE (offsetof(hx_plugin_check, run) + sizeof(hx_plugin_run_fn))
#define PARAM_V1_SIZE (offsetof(hx_plugin_param_spec, help) + sizeof(const char *))

void plug_path_init(plug_path *pp)
{
    pp->dirs = NULL;
    pp->n = 0;
}

void plug_path_release(plug_path *pp)
{
    for (size_t i = 0; i < pp->n; i++)
        hx_free(pp->dirs[i]);
    hx_free(pp->dirs);
    plug_path_init(pp);
}

int plug_path_add(plug_path *pp, const char *dir)
{
    char **d = hx_realloc(pp->dirs, (pp->n + 1) * sizeof *d);
    if (!d) return HX_ENOMEM;
    pp->dirs = d;
    d[pp->n] = hx_strdup(dir);
    if (!d[pp->n]) return HX_ENOMEM;
    pp->n++;
    return 0;
}

const char *plug_builtin_dir(void)
{
    /* A binary (or test) inside the build tree uses the plugins built beside it, so a developer
     * never loads a stale installed copy; an installed binary uses the installed ones. */
    static char exe[4096];
    size_t br = strlen(HX_BUILD_ROOT);
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (br > 0 && HX_PLUGIN_BUILD_DIR[0] && n > 0) {
        exe[n] = '\0';
        if ((size_t)n > br && strncmp(exe, HX_BUILD_ROOT, br) == 0 && exe[br] == '/')
            return HX_PLUGIN_BUILD_DIR;
    }
    return HX_PLUGIN_INSTALL_DIR;
}

int plug_path_standard(plug_path *pp, const char *pack_dir, const char *const *extra, size_t nextra)
{
    if (pack_dir) {
        hx_buf b;
        hx_buf_init(&b);
        hx_buf_printf(&b, "%s/plugins", pack_dir);
        int rc = b.oom ? HX_ENOMEM : plug_path_add(pp, b.data);
        hx_buf_release(&b);
        if (rc) return rc;
    }
    for (size_t i = 0; i < nextra; i++)
        if (plug_path_add(pp, extra[i])) return HX_ENOMEM;
    return plug_path_add(pp, plug_builtin_dir());
}

static bool valid_name(const char *s)
{
    if (!s || !*s || strlen(s) > 64) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return false;
    return true;
}

int plug_open(const char *name, const plug_path *pp, plug_load how, plug_plugin **out, hx_err *e)
{
    *out = NULL;
    if (!valid_name(name))
        return hx_fail(e, HX_EUSAGE,
                       "invalid plugin name '%s': use letters, digits, '_' and '-' only",
                       name ? name : "");
    hx_buf b, tried;
    hx_buf_init(&b);
    hx_buf_init(&tried);
    int rc = HX_EUSAGE;
    for (size_t i = 0; pp && i < pp->n; i++) {
        hx_buf_clear(&b);
        hx_buf_printf(&b, "%s/%s.so", pp->dirs[i], name);
        if (b.oom) {
            rc = HX_ENOMEM;
            break;
        }
        struct stat st;
        if (stat(b.data, &st) == 0 && S_ISREG(st.st_mode)) {
            rc = plug_open_file(b.data, how, out, e);
            hx_buf_release(&b);
            hx_buf_release(&tried);
            return rc;
        }
        hx_buf_printf(&tried, "%s'%s'", tried.len ? ", " : "", pp->dirs[i]);
    }
    if (rc == HX_ENOMEM)
        hx_fail(e, rc, "out of memory looking for plugin '%s'", name);
    else
        hx_fail(e, HX_EUSAGE,
                "plugin '%s' not found: no %s.so in %s; build it, or add its folder with "
                "--plugin-path",
                name, name, tried.len ? tried.data : "(no directories)");
    hx_buf_release(&b);
    hx_buf_release(&tried);
    return rc;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Everything the host will later dereference, checked once at load so a malformed plugin fails
 * here with a message, not later with a crash. A worker's copy has no run functions (need_run
 * false). */
static int check_descriptor(const char *path, const hx_plugin_descriptor *d, bool need_run,
                            hx_err *e)
{
    if (d->abi_version != HX_PLUGIN_ABI_VERSION)
        return hx_fail(e, HX_EUSAGE,
                       "plugin '%s' was built for plugin ABI version %u, but this harness speaks "
                       "ABI version %u; rebuild it against this harness's harness/plugin.h",
                       path, (unsigned)d->abi_version, (unsigned)HX_PLUGIN_ABI_VERSION);
    if (d->struct_size < DESC_V1_SIZE || d->check_size < CHECK_V1_SIZE ||
        d->param_size < PARAM_V1_SIZE)
        return hx_fail(e, HX_EUSAGE,
                       "plugin '%s' has a malformed descriptor: struct sizes %u/%u/%u, expected at "
                       "least %zu/%zu/%zu (descriptor/check/param); fill it with "
                       "HX_PLUGIN_DESCRIPTOR_HEAD",
                       path, (unsigned)d->struct_size, (unsigned)d->check_size,
                       (unsigned)d->param_size, DESC_V1_SIZE, CHECK_V1_SIZE, PARAM_V1_SIZE);
    if (!valid_name(d->name))
        return hx_fail(e, HX_EUSAGE, "plugin '%s' declares no valid name in its descriptor", path);
    size_t bl = strlen(base_name(path));
    if (bl < 3 || strcmp(base_name(path) + bl - 3, ".so") != 0 || bl - 3 != strlen(d->name) ||
        strncmp(base_name(path), d->name, bl - 3) != 0)
        return hx_fail(e, HX_EUSAGE,
                       "plugin '%s' calls itself '%s'; rename the file to '%s.so' or fix the "
                       "descriptor's name",
                       path, d->name, d->name);
    if (d->n_checks > 10000 || (d->n_checks > 0 && !d->checks))
        return hx_fail(e, HX_EUSAGE, "plugin '%s' has a malformed check list", path);
    for (size_t i = 0; i < d->n_checks; i++) {
        const hx_plugin_check *c =
            (const hx_plugin_check *)((const char *)d->checks + i * d->check_size);
        if (!valid_name(c->name) || (need_run && !c->run))
            return hx_fail(e, HX_EUSAGE,
                           "plugin '%s': check %zu has no valid name or no run function", path,
                           i + 1);
        if (c->n_params > 1000 || (c->n_params > 0 && !c->params))
            return hx_fail(e, HX_EUSAGE, "plugin '%s': check '%s' has a malformed parameter list",
                           path, c->name);
        for (size_t k = 0; k < c->n_params; k++) {
            const hx_plugin_param_spec *ps =
                (const hx_plugin_param_spec *)((const char *)c->params + k * d->param_size);
            if (!ps->name || !*ps->name || ps->type < HX_PARAM_STRING || ps->type > HX_PARAM_JSON)
                return hx_fail(e, HX_EUSAGE,
                               "plugin '%s': check '%s' parameter %zu has no name or an unknown "
                               "type %d",
                               path, c->name, k + 1, ps->type);
        }
    }
    return 0;
}

static void free_own(hx_plugin_descriptor *d);

/* plug_open_file for a worker's reading: the harness runs none of the plugin's code. */
static int open_in_worker(const char *path, bool confine, plug_plugin **out, hx_err *e)
{
    if (confine && plug_confine_abi() == 0)
        return hx_fail(e, HX_EINFRA,
                       "cannot load plugin '%s' confined: this kernel has no Landlock, so its "
                       "code could write files while its descriptor is read; pass "
                       "--trust-plugins if you trust this pack's plugins",
                       path);
    plug_plugin *p = hx_calloc(1, sizeof *p);
    if (!p || !(p->path = hx_strdup(path))) {
        hx_free(p);
        return hx_fail(e, HX_ENOMEM, "out of memory loading plugin '%s'", path);
    }
    int rc = plug_read_descriptor(p, confine, e);
    if (rc) {
        plug_close(p);
        return rc;
    }
    *out = p;
    return 0;
}

int plug_open_file(const char *path, plug_load how, plug_plugin **out, hx_err *e)
{
    *out = NULL;
    if (how != PLUG_LOAD_HERE) return open_in_worker(path, how == PLUG_LOAD_CONFINED, out, e);
    /* RTLD_NOW: an unresolved symbol fails here, naming itself, not in the middle of a check.
     * RTLD_LOCAL: two plugins may define the same helper names without clashing. */
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        return hx_fail(e, HX_EUSAGE, "cannot load plugin '%s': %s", path,
                       why ? why : "dlopen failed");
    }
    dlerror();
    hx_plugin_entry_fn entry;
    /* POSIX blesses this conversion for dlsym results */
    *(void **)&entry = dlsym(h, HX_PLUGIN_ENTRY_NAME);
    if (!entry) {
        dlclose(h);
        return hx_fail(e, HX_EUSAGE,
                       "'%s' is not a harness plugin: it exports no %s() function; define it with "
                       "HX_PLUGIN_EXPORT as shown in docs/plugins.md",
                       path, HX_PLUGIN_ENTRY_NAME);
    }
    const hx_plugin_descriptor *d = entry();
    if (!d) {
        dlclose(h);
        return hx_fail(e, HX_EUSAGE, "plugin '%s': %s() returned no descriptor", path,
                       HX_PLUGIN_ENTRY_NAME);
    }
    int rc = check_descriptor(path, d, true, e);
    if (rc) {
        dlclose(h);
        return rc;
    }
    plug_plugin *p = hx_calloc(1, sizeof *p);
    if (p) {
        p->name = hx_strdup(d->name);
        p->path = hx_strdup(path);
    }
    if (!p || !p->name || !p->path) {
        if (p) {
            hx_free(p->name);
            hx_free(p->path);
        }
        hx_free(p);
        dlclose(h);
        return hx_fail(e, HX_ENOMEM, "out of memory loading plugin '%s'", path);
    }
    p->handle = h;
    p->desc = d;
    if (d->init) {
        char msg[512] = "";
        int irc = d->init(plug_host_init_table(), msg, sizeof msg);
        if (irc != 0) {
            msg[sizeof msg - 1] = '\0';
            char *clean = plug_clean_string(msg, sizeof msg);
            hx_fail(e, HX_EUSAGE, "plugin '%s' refused to initialise: %s", path,
                    clean && *clean ? clean : "(no reason given)");
            hx_free(clean);
            /* undo everything, as Redis does on a failed OnLoad: no fini, since init failed */
            p->desc = NULL;
            plug_close(p);
            return HX_EUSAGE;
        }
    }
    *out = p;
    return 0;
}

void plug_close(plug_plugin *p)
{
    if (!p) return;
    if (p->handle && p->desc && p->desc->fini) p->desc->fini();
    if (p->handle) dlclose(p->handle);
    free_own(p->own);
    hx_free(p->name);
    hx_free(p->path);
    hx_free(p);
}

/* ---- the descriptor between a worker and the harness ---- */

char *plug_descriptor_to_json(const hx_plugin_descriptor *d)
{
    json_t *o = json_pack("{s:s?, s:s?, s:s?}", "name", d->name, "version", d->version,
                          "description", d->description);
    json_t *checks = json_array();
    for (size_t i = 0; o && checks && i < d->n_checks; i++) {
        const hx_plugin_check *c =
            (const hx_plugin_check *)((const char *)d->checks + i * d->check_size);
        json_t *params = json_array();
        for (size_t k = 0; params && k < c->n_params; k++) {
            const hx_plugin_param_spec *ps =
                (const hx_plugin_param_spec *)((const char *)c->params + k * d->param_size);
            json_array_append_new(params, json_pack("{s:s, s:i, s:b, s:s?}", "name", ps->name,
                                                    "type", ps->type, "required", ps->required != 0,
                                                    "help", ps->help));
        }
        json_array_append_new(checks,
                              json_pack("{s:s, s:s?, s:o}", "name", c->name, "description",
                                        c->description, "params", params ? params : json_null()));
    }
    if (o && checks) json_object_set_new(o, "checks", checks);
    char *text = o && checks ? json_dumps(o, JSON_COMPACT) : NULL;
    if (!o) json_decref(checks);
    json_decref(o);
    return text;
}

static void free_own(hx_plugin_descriptor *d)
{
    if (!d) return;
    hx_plugin_check *checks = (hx_plugin_check *)d->checks;
    for (size_t i = 0; checks && i < d->n_checks; i++) {
        hx_plugin_param_spec *ps = (hx_plugin_param_spec *)checks[i].params;
        for (size_t k = 0; ps && k < checks[i].n_params; k++) {
            hx_free((char *)ps[k].name);
            hx_free((char *)ps[k].help);
        }
        hx_free(ps);
        hx_free((char *)checks[i].name);
        hx_free((char *)checks[i].description);
    }
    hx_free(checks);
    hx_free((char *)d->name);
    hx_free((char *)d->version);
    hx_free((char *)d->description);
    hx_free(d);
}

/* A copy of a string of the worker's JSON (NULL stays NULL), valid UTF-8 and capped; false on
 * allocation failure. */
static bool own_str(json_t *o, const char *key, const char **out)
{
    const char *v = json_string_value(json_object_get(o, key));
    *out = v ? plug_clean_string(v, 4096) : NULL;
    return !v || *out;
}

int plug_descriptor_from_json(plug_plugin *p, const char *text, size_t n, hx_err *e)
{
    json_error_t je;
    json_t *o = json_loadb(text, n, 0, &je);
    json_t *checks = json_object_get(o, "checks");
    if (!json_is_object(o) || !json_is_array(checks)) {
        json_decref(o);
        return hx_fail(e, HX_EINFRA,
                       "plugin '%s': its loading worker sent a descriptor that is not the JSON "
                       "the harness writes",
                       p->path);
    }
    int rc = 0;
    hx_plugin_descriptor *d = hx_calloc(1, sizeof *d);
    size_t nc = json_array_size(checks);
    if (!d) goto oom;
    d->abi_version = HX_PLUGIN_ABI_VERSION;
    d->struct_size = sizeof *d;
    d->check_size = sizeof(hx_plugin_check);
    d->param_size = sizeof(hx_plugin_param_spec);
    if (!own_str(o, "name", &d->name) || !own_str(o, "version", &d->version) ||
        !own_str(o, "description", &d->description))
        goto oom;
    if (nc > 10000) {
        rc = hx_fail(e, HX_EUSAGE, "plugin '%s' has a malformed check list", p->path);
        goto out;
    }
    hx_plugin_check *cs = nc ? hx_calloc(nc, sizeof *cs) : NULL;
    if (nc && !cs) goto oom;
    d->checks = cs;
    d->n_checks = nc;
    for (size_t i = 0; i < nc; i++) {
        json_t *c = json_array_get(checks, i), *params = json_object_get(c, "params");
        if (!own_str(c, "name", &cs[i].name) || !own_str(c, "description", &cs[i].description))
            goto oom;
        size_t np = json_array_size(params);
        if (np > 1000) {
            rc = hx_fail(e, HX_EUSAGE, "plugin '%s': a check has a malformed parameter list",
                         p->path);
            goto out;
        }
        hx_plugin_param_spec *ps = np ? hx_calloc(np, sizeof *ps) : NULL;
        if (np && !ps) goto oom;
        cs[i].params = ps;
        cs[i].n_params = np;
        for (size_t k = 0; k < np; k++) {
            json_t *pj = json_array_get(params, k);
            json_t *type = json_object_get(pj, "type");
            if (!own_str(pj, "name", &ps[k].name) || !own_str(pj, "help", &ps[k].help)) goto oom;
            ps[k].type = json_is_integer(type) ? (int)json_integer_value(type) : -1;
            ps[k].required = json_is_true(json_object_get(pj, "required"));
        }
    }
    rc = check_descriptor(p->path, d, false, e);
    if (!rc && !(p->name = hx_strdup(d->name))) goto oom;
    if (!rc) {
        p->own = d;
        p->desc = d;
        d = NULL;
    }
    goto out;
oom:
    rc = hx_fail(e, HX_ENOMEM, "out of memory loading plugin '%s'", p->path);
out:
    free_own(d);
    json_decref(o);
    return rc;
}

size_t plug_check_count(const plug_plugin *p)
{
    return p->desc->n_checks;
}

const hx_plugin_check *plug_check_at(const plug_plugin *p, size_t i)
{
    if (i >= p->desc->n_checks) return NULL;
    return (const hx_plugin_check *)((const char *)p->desc->checks + i * p->desc->check_size);
}

const hx_plugin_param_spec *plug_param_at(const plug_plugin *p, const hx_plugin_check *c, size_t i)
{
    if (i >= c->n_params) return NULL;
    return (const hx_plugin_param_spec *)((const char *)c->params + i * p->desc->param_size);
}

const hx_plugin_check *plug_find_check(const plug_plugin *p, const char *name, hx_err *e)
{
    size_t n = plug_check_count(p);
    for (size_t i = 0; i < n; i++)
        if (name && strcmp(plug_check_at(p, i)->name, name) == 0) return plug_check_at(p, i);
    const char **names = hx_calloc(n + 1, sizeof *names);
    hx_buf list;
    hx_buf_init(&list);
    for (size_t i = 0; i < n; i++) {
        if (names) names[i] = plug_check_at(p, i)->name;
        hx_buf_printf(&list, "%s%s", i ? ", " : "", plug_check_at(p, i)->name);
    }
    const char *s = names && name ? hx_suggest(name, names) : NULL;
    hx_fail(e, HX_EUSAGE, "plugin '%s' has no check '%s'%s%s%s; it has: %s", p->name,
            name ? name : "", s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "",
            list.len ? list.data : "(none)");
    hx_free(names);
    hx_buf_release(&list);
    return NULL;
}

static const char *type_name(int t)
{
    switch (t) {
    case HX_PARAM_STRING:
        return "a string";
    case HX_PARAM_NUMBER:
        return "a number";
    case HX_PARAM_BOOL:
        return "true or false";
    case HX_PARAM_STRING_LIST:
        return "a list of strings";
    default:
        return "any JSON value";
    }
}

static bool type_ok(int t, const json_t *v)
{
    switch (t) {
    case HX_PARAM_STRING:
        return json_is_string(v);
    case HX_PARAM_NUMBER:
        return json_is_number(v);
    case HX_PARAM_BOOL:
        return json_is_boolean(v);
    case HX_PARAM_STRING_LIST:
        if (json_is_string(v)) return true;
        if (!json_is_array(v)) return false;
        for (size_t i = 0; i < json_array_size(v); i++)
            if (!json_is_string(json_array_get(v, i))) return false;
        return true;
    default:
        return true;
    }
}

int plug_validate_params(const plug_plugin *p, const hx_plugin_check *c, const plan_param *params,
                         size_t nparams, hx_err *e)
{
    for (size_t i = 0; i < nparams; i++) {
        const hx_plugin_param_spec *spec = NULL;
        for (size_t k = 0; k < c->n_params && !spec; k++)
            if (strcmp(plug_param_at(p, c, k)->name, params[i].key) == 0)
                spec = plug_param_at(p, c, k);
        if (!spec) {
            const char **names = hx_calloc(c->n_params + 1, sizeof *names);
            for (size_t k = 0; names && k < c->n_params; k++)
                names[k] = plug_param_at(p, c, k)->name;
            const char *s = names ? hx_suggest(params[i].key, names) : NULL;
            hx_fail(e, HX_EUSAGE, "plugin check '%s.%s' has no parameter '%s'%s%s%s", p->name,
                    c->name, params[i].key, s ? " (did you mean '" : "", s ? s : "",
                    s ? "'?)" : "");
            hx_free(names);
            return HX_EUSAGE;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(params[j].key, params[i].key) == 0)
                return hx_fail(e, HX_EUSAGE, "plugin check '%s.%s': parameter '%s' given twice",
                               p->name, c->name, params[i].key);
        json_error_t je;
        json_t *v = params[i].json ? json_loads(params[i].json, JSON_DECODE_ANY, &je) : NULL;
        if (!v)
            return hx_fail(e, HX_EUSAGE,
                           "plugin check '%s.%s': parameter '%s' is not valid JSON (%s)", p->name,
                           c->name, params[i].key, params[i].json ? je.text : "no value");
        bool ok = type_ok(spec->type, v);
        json_decref(v);
        if (!ok)
            return hx_fail(e, HX_EUSAGE, "plugin check '%s.%s': parameter '%s' must be %s", p->name,
                           c->name, params[i].key, type_name(spec->type));
    }
    for (size_t k = 0; k < c->n_params; k++) {
        const hx_plugin_param_spec *spec = plug_param_at(p, c, k);
        if (!spec->required) continue;
        bool given = false;
        for (size_t i = 0; i < nparams && !given; i++)
            given = strcmp(params[i].key, spec->name) == 0;
        if (!given)
            return hx_fail(e, HX_EUSAGE, "plugin check '%s.%s' needs parameter '%s' (%s)%s%s",
                           p->name, c->name, spec->name, type_name(spec->type),
                           spec->help ? ": " : "", spec->help ? spec->help : "");
    }
    return 0;
}

int plug_run(const plug_plugin *p, const hx_plugin_check *c, const plan_param *params,
             size_t nparams, const plug_run_opts *o, plug_result *out, hx_err *e)
{
    static const plug_run_opts defaults = {0};
    if (!o) o = &defaults;
    hx_err ve = {0};
    if (plug_validate_params(p, c, params, nparams, &ve) != 0) {
        plug_result_set(out, PLUG_ERROR, NULL, NULL, ve.msg);
        return out->message ? 0 : hx_fail(e, HX_ENOMEM, "out of memory");
    }
    if (!o->no_isolate) return plug_run_isolated(p, c, params, nparams, o, out, e);
    if (p->handle) return plug_host_run(p, c, params, nparams, o, o->conn, -1, out, e);
    /* Read from a worker: asked for in process (gdb), so load it here for this run. */
    plug_plugin *here = NULL;
    hx_err le = {0};
    if (plug_open_file(p->path, PLUG_LOAD_HERE, &here, &le) != 0) {
        if (le.code == HX_ENOMEM) return hx_fail(e, HX_ENOMEM, "%s", le.msg);
        plug_result_set(out, PLUG_ERROR, NULL, NULL, le.msg);
        return out->message ? 0 : hx_fail(e, HX_ENOMEM, "out of memory");
    }
    const hx_plugin_check *hc = plug_find_check(here, c->name, &le);
    int rc = 0;
    if (!hc) {
        plug_result_set(out, PLUG_ERROR, NULL, NULL, le.msg);
        if (!out->message) rc = hx_fail(e, HX_ENOMEM, "out of memory");
    } else {
        rc = plug_host_run(here, hc, params, nparams, o, o->conn, -1, out, e);
    }
    plug_close(here);
    return rc;
}
