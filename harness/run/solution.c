/* solution.c - see solution.h. */
#include "solution.h"

#include "units.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define READY_TIMEOUT_DEFAULT_US (60 * 1000000LL)
#define DRAIN_DEFAULT_US (10 * 1000000LL)

static const char *const top_keys[] = {"name", "build",   "batch",  "service",
                                       "env",  "timeout", "limits", NULL};
static const char *const limit_keys[] = {"memory", "processes", "disk", "files", "database", NULL};
static const char *const service_keys[] = {"command", "ready", "drain", NULL};
static const char *const ready_keys[] = {"stdout", "tcp", "delay", "timeout", NULL};

bool solution_parse_duration(const char *text, int64_t *out_us)
{
    if (!text || !*text) return false;
    errno = 0;
    char *end;
    double v = strtod(text, &end);
    if (end == text || errno || !isfinite(v) || v < 0) return false;
    double mul;
    if (!*end || strcmp(end, "s") == 0)
        mul = 1e6;
    else if (strcmp(end, "ms") == 0)
        mul = 1e3;
    else if (strcmp(end, "us") == 0)
        mul = 1;
    else if (strcmp(end, "m") == 0)
        mul = 60e6;
    else if (strcmp(end, "h") == 0)
        mul = 3600e6;
    else
        return false;
    double us = v * mul;
    if (us > 9e18) return false;
    *out_us = (int64_t)llround(us);
    return true;
}

/* Reject keys of obj not in allowed, suggesting the closest one. */
static int check_keys(json_t *obj, const char *const *allowed, const char *origin,
                      const char *where, hx_err *e)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            ok |= strcmp(allowed[i], key) == 0;
        if (ok) continue;
        const char *s = hx_suggest(key, allowed);
        if (s)
            return hx_fail(e, HX_EUSAGE, "%s: %s: unknown key '%s' (did you mean '%s'?)", origin,
                           where, key, s);
        char known[256] = "";
        for (size_t i = 0; allowed[i]; i++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
                     allowed[i]);
        return hx_fail(e, HX_EUSAGE, "%s: %s: unknown key '%s' (known keys: %s)", origin, where,
                       key, known);
    }
    return 0;
}

/* Copy an optional string member; *out stays NULL when absent. */
static int get_str(json_t *obj, const char *key, const char *origin, const char *path,
                   bool required, char **out, hx_err *e)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required) return hx_fail(e, HX_EUSAGE, "%s: %s: missing (add a string)", origin, path);
        return 0;
    }
    if (!json_is_string(v)) return hx_fail(e, HX_EUSAGE, "%s: %s: expected a string", origin, path);
    if (!*json_string_value(v))
        return hx_fail(e, HX_EUSAGE, "%s: %s: must not be empty", origin, path);
    *out = hx_strdup(json_string_value(v));
    if (!*out) return hx_fail(e, HX_ENOMEM, "out of memory reading %s", origin);
    return 0;
}

static int get_duration(json_t *v, const char *origin, const char *path, int64_t *out, hx_err *e)
{
    if (json_is_string(v)) {
        if (solution_parse_duration(json_string_value(v), out)) return 0;
        return hx_fail(e, HX_EUSAGE,
                       "%s: %s: '%s' is not a duration (write it like \"120s\", \"500ms\", \"2m\")",
                       origin, path, json_string_value(v));
    }
    if (json_is_number(v) && json_number_value(v) >= 0) {
        *out = (int64_t)llround(json_number_value(v) * 1e6);
        return 0;
    }
    return hx_fail(e, HX_EUSAGE, "%s: %s: expected a duration string like \"120s\"", origin, path);
}

static int parse_ready(json_t *r, const char *origin, solution_ready *out, hx_err *e)
{
    out->timeout_us = READY_TIMEOUT_DEFAULT_US;
    if (!json_is_object(r))
        return hx_fail(e, HX_EUSAGE, "%s: .service.ready: expected an object", origin);
    int rc = check_keys(r, ready_keys, origin, ".service.ready", e);
    if (rc) return rc;
    json_t *t = json_object_get(r, "timeout");
    if (t && (rc = get_duration(t, origin, ".service.ready.timeout", &out->timeout_us, e)))
        return rc;
    int n = 0;
    json_t *v;
    if ((v = json_object_get(r, "stdout"))) {
        n++;
        out->kind = SOLUTION_READY_STDOUT;
        if ((rc = get_str(r, "stdout", origin, ".service.ready.stdout", true, &out->pattern, e)))
            return rc;
    }
    if ((v = json_object_get(r, "tcp"))) {
        n++;
        out->kind = SOLUTION_READY_TCP;
        if (!json_is_integer(v))
            return hx_fail(e, HX_EUSAGE, "%s: .service.ready.tcp: expected an integer", origin);
        json_int_t port = json_integer_value(v);
        if (port < 1 || port > 65535)
            return hx_fail(e, HX_EUSAGE,
                           "%s: .service.ready.tcp: port %lld is out of range (1-65535)", origin,
                           (long long)port);
        out->port = (int)port;
    }
    if ((v = json_object_get(r, "delay"))) {
        n++;
        out->kind = SOLUTION_READY_DELAY;
        if ((rc = get_duration(v, origin, ".service.ready.delay", &out->delay_us, e))) return rc;
    }
    if (n != 1)
        return hx_fail(e, HX_EUSAGE,
                       "%s: .service.ready: give exactly one of \"stdout\", \"tcp\" or \"delay\"",
                       origin);
    return 0;
}

static int parse_env(json_t *env, const char *origin, solution_spec *out, hx_err *e)
{
    if (!json_is_object(env))
        return hx_fail(e, HX_EUSAGE, "%s: .env: expected an object of strings", origin);
    size_t n = json_object_size(env);
    out->env = hx_calloc(n ? n : 1, sizeof *out->env);
    if (!out->env) return hx_fail(e, HX_ENOMEM, "out of memory reading %s", origin);
    const char *key;
    json_t *v;
    json_object_foreach(env, key, v)
    {
        if (!*key || strchr(key, '='))
            return hx_fail(e, HX_EUSAGE, "%s: .env: '%s' is not a valid variable name", origin,
                           key);
        if (!json_is_string(v))
            return hx_fail(e, HX_EUSAGE, "%s: .env.%s: expected a string", origin, key);
        solution_env *kv = &out->env[out->n_env];
        kv->key = hx_strdup(key);
        kv->val = hx_strdup(json_string_value(v));
        out->n_env++;
        if (!kv->key || !kv->val) return hx_fail(e, HX_ENOMEM, "out of memory reading %s", origin);
    }
    return 0;
}

/* A byte size member of "limits" (a string like "2GiB", or a number of bytes), at most cap. */
static int get_bytes(json_t *obj, const char *key, const char *origin, uint64_t cap, uint64_t *out,
                     hx_err *e)
{
    json_t *v = json_object_get(obj, key);
    if (!v) return 0;
    double b = -1;
    hx_err ue = {0};
    if (json_is_string(v)) {
        if (units_bytes(json_string_value(v), &b, &ue) != 0) b = -1;
    } else if (json_is_number(v)) {
        b = json_number_value(v);
    }
    if (!(b >= 1))
        return hx_fail(e, HX_EUSAGE, "%s: .limits.%s: expected a size like \"2GiB\" or \"512MB\"",
                       origin, key);
    if (b > (double)cap)
        return hx_fail(e, HX_EUSAGE, "%s: .limits.%s: %.0f bytes is over the cap of %llu GiB",
                       origin, key, b, (unsigned long long)(cap >> 30));
    *out = (uint64_t)b;
    return 0;
}

/* A count member of "limits" (a positive integer), at most cap; *out untouched when absent. */
static int get_count(json_t *obj, const char *key, const char *origin, long long cap,
                     long long *out, hx_err *e)
{
    json_t *p = json_object_get(obj, key);
    if (!p) return 0;
    if (!json_is_integer(p) || json_integer_value(p) < 1)
        return hx_fail(e, HX_EUSAGE, "%s: .limits.%s: expected a positive integer", origin, key);
    if (json_integer_value(p) > cap)
        return hx_fail(e, HX_EUSAGE, "%s: .limits.%s: %lld is over the cap of %lld", origin, key,
                       (long long)json_integer_value(p), cap);
    *out = json_integer_value(p);
    return 0;
}

static int parse_limits(json_t *l, const char *origin, solution_limits *out, hx_err *e)
{
    if (!json_is_object(l)) return hx_fail(e, HX_EUSAGE, "%s: .limits: expected an object", origin);
    int rc = check_keys(l, limit_keys, origin, ".limits", e);
    if (!rc) rc = get_bytes(l, "memory", origin, SOLUTION_MEMORY_CAP, &out->memory_bytes, e);
    if (!rc) rc = get_bytes(l, "disk", origin, SOLUTION_DISK_CAP, &out->disk_bytes, e);
    if (!rc) rc = get_bytes(l, "database", origin, SOLUTION_DATABASE_CAP, &out->database_bytes, e);
    long long n = 0;
    if (!rc) rc = get_count(l, "processes", origin, SOLUTION_PROCESSES_CAP, &n, e);
    if (!rc && n) out->processes = n;
    n = 0;
    if (!rc) rc = get_count(l, "files", origin, SOLUTION_FILES_CAP, &n, e);
    if (!rc && n) out->files = (uint64_t)n;
    return rc;
}

static int parse_root(json_t *root, const char *origin, solution_spec *out, hx_err *e)
{
    if (!json_is_object(root))
        return hx_fail(e, HX_EUSAGE, "%s: expected a JSON object at the top", origin);
    int rc = check_keys(root, top_keys, origin, "top level", e);
    if (rc) return rc;
    if ((rc = get_str(root, "name", origin, ".name", true, &out->name, e)) ||
        (rc = get_str(root, "build", origin, ".build", false, &out->build, e)) ||
        (rc = get_str(root, "batch", origin, ".batch", false, &out->batch, e)))
        return rc;
    json_t *svc = json_object_get(root, "service");
    if (svc) {
        if (!json_is_object(svc))
            return hx_fail(e, HX_EUSAGE, "%s: .service: expected an object", origin);
        if ((rc = check_keys(svc, service_keys, origin, ".service", e)) ||
            (rc = get_str(svc, "command", origin, ".service.command", true, &out->service, e)))
            return rc;
        json_t *r = json_object_get(svc, "ready");
        if (r && (rc = parse_ready(r, origin, &out->ready, e))) return rc;
        if (!r) out->ready.timeout_us = READY_TIMEOUT_DEFAULT_US;
        out->drain_us = DRAIN_DEFAULT_US;
        json_t *d = json_object_get(svc, "drain");
        if (d && (rc = get_duration(d, origin, ".service.drain", &out->drain_us, e))) return rc;
    }
    json_t *env = json_object_get(root, "env");
    if (env && (rc = parse_env(env, origin, out, e))) return rc;
    json_t *t = json_object_get(root, "timeout");
    if (t && (rc = get_duration(t, origin, ".timeout", &out->timeout_us, e))) return rc;
    out->limits =
        (solution_limits){SOLUTION_MEMORY_DEFAULT, SOLUTION_PROCESSES_DEFAULT,
                          SOLUTION_DISK_DEFAULT, SOLUTION_DATABASE_DEFAULT, SOLUTION_FILES_DEFAULT};
    json_t *l = json_object_get(root, "limits");
    if (l && (rc = parse_limits(l, origin, &out->limits, e))) return rc;
    if (!out->batch && !out->service)
        return hx_fail(e, HX_EUSAGE, "%s: give a \"batch\" command, a \"service\" object, or both",
                       origin);
    return 0;
}

int solution_parse(const char *text, size_t len, const char *origin, solution_spec *out, hx_err *e)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) return hx_fail(e, HX_EUSAGE, "%s:%d:%d: %s", origin, je.line, je.column, je.text);
    int rc = parse_root(root, origin, out, e);
    json_decref(root);
    if (rc) solution_release(out);
    return rc;
}

int solution_load(const char *dir, solution_spec *out, hx_err *e)
{
    memset(out, 0, sizeof *out);
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/solution.json", dir);
    if (n < 0 || (size_t)n >= sizeof path)
        return hx_fail(e, HX_EUSAGE, "solution folder path is too long: '%.200s...'", dir);
    char *text = NULL;
    size_t len = 0;
    struct stat st;
    int rc = hx_read_input_in(dir, path, HX_IN_SOLUTION, &text, &len, e);
    if (rc) {
        if (rc == HX_EUSAGE && lstat(dir, &st) != 0 && errno == ENOENT)
            return hx_fail(e, HX_EUSAGE,
                           "solution folder '%s' not found (--solution names a folder holding "
                           "a solution.json; see docs/solutions.md)",
                           dir);
        if (rc == HX_EUSAGE && lstat(path, &st) != 0 && errno == ENOENT)
            return hx_fail(e, HX_EUSAGE,
                           "'%s' not found: a solution folder needs a solution.json "
                           "(see docs/solutions.md)",
                           path);
        return rc;
    }
    rc = solution_parse(text, len, path, out, e);
    hx_free(text);
    return rc;
}

void solution_release(solution_spec *spec)
{
    hx_free(spec->name);
    hx_free(spec->build);
    hx_free(spec->batch);
    hx_free(spec->service);
    hx_free(spec->ready.pattern);
    for (size_t i = 0; i < spec->n_env; i++) {
        hx_free(spec->env[i].key);
        hx_free(spec->env[i].val);
    }
    hx_free(spec->env);
    memset(spec, 0, sizeof *spec);
}
