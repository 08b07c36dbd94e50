/* cost.c - price sheet loader and the pricer. See cost.h and docs/cost-models.md. */
#include "cost.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "hx_config.h"

#ifndef HX_COST_MODELS_DATADIR
#define HX_COST_MODELS_DATADIR "/usr/local/share/harness/cost-models"
#endif

/* What a usage quantity measures, so a rate can only be quoted in a unit of its kind. */
enum dim {
    DIM_VCPU_TIME,      /* vCPU-seconds */
    DIM_MEM_TIME,       /* byte-seconds */
    DIM_STORAGE,        /* bytes kept a month */
    DIM_BYTES,          /* bytes moved */
    DIM_PARTITION_TIME, /* partition-seconds */
    DIM_INSTANCE_TIME,  /* instance-seconds */
    DIM_COUNT,          /* plain count */
    DIM_CLUSTER_TIME,   /* cluster- or throughput-unit-seconds */
    DIM_EVENTS          /* events */
};

static const struct unit_info {
    const char *name;
    enum dim dim;
    double per_unit; /* base quantity (seconds, bytes, count) in one unit */
} units[COST_U__COUNT] = {
    [COST_U_VCPU_HOUR] = {"vCPU-hour", DIM_VCPU_TIME, 3600.0},
    [COST_U_VCPU_SECOND] = {"vCPU-second", DIM_VCPU_TIME, 1.0},
    [COST_U_GB_HOUR] = {"GB-hour", DIM_MEM_TIME, 1e9 * 3600.0},
    [COST_U_GIB_HOUR] = {"GiB-hour", DIM_MEM_TIME, 1073741824.0 * 3600.0},
    [COST_U_GB_SECOND] = {"GB-second", DIM_MEM_TIME, 1e9},
    [COST_U_GIB_SECOND] = {"GiB-second", DIM_MEM_TIME, 1073741824.0},
    [COST_U_GB_MONTH] = {"GB-month", DIM_STORAGE, 1e9},
    [COST_U_GIB_MONTH] = {"GiB-month", DIM_STORAGE, 1073741824.0},
    [COST_U_GB] = {"GB", DIM_BYTES, 1e9},
    [COST_U_GIB] = {"GiB", DIM_BYTES, 1073741824.0},
    [COST_U_TB] = {"TB", DIM_BYTES, 1e12},
    [COST_U_TIB] = {"TiB", DIM_BYTES, 1099511627776.0},
    [COST_U_PARTITION_HOUR] = {"partition-hour", DIM_PARTITION_TIME, 3600.0},
    [COST_U_INSTANCE_HOUR] = {"instance-hour", DIM_INSTANCE_TIME, 3600.0},
    [COST_U_REQ_1K] = {"1K requests", DIM_COUNT, 1e3},
    [COST_U_REQ_10K] = {"10K requests", DIM_COUNT, 1e4},
    [COST_U_REQ_1M] = {"1M requests", DIM_COUNT, 1e6},
    [COST_U_CLUSTER_HOUR] = {"cluster-hour", DIM_CLUSTER_TIME, 3600.0},
    [COST_U_TU_HOUR] = {"throughput-unit-hour", DIM_CLUSTER_TIME, 3600.0},
    [COST_U_EVENTS_1M] = {"1M events", DIM_EVENTS, 1e6},
};

static const struct rate_info {
    const char *key;       /* JSON key under "rates" */
    const char *component; /* display name */
    enum dim dim;
    int group; /* cost_group, or -1 */
} rates_info[COST_R__COUNT] = {
    [COST_R_COMPUTE_VCPU] = {"compute_vcpu", "compute vCPU", DIM_VCPU_TIME, COST_G_COMPUTE},
    [COST_R_COMPUTE_MEMORY] = {"compute_memory", "compute memory", DIM_MEM_TIME, COST_G_COMPUTE},
    [COST_R_STORAGE] = {"storage", "file storage (solution output, 1 month)", DIM_STORAGE, -1},
    [COST_R_EGRESS] = {"egress", "internet egress", DIM_BYTES, -1},
    [COST_R_KAFKA_IN] = {"kafka_in", "streaming data in", DIM_BYTES, -1},
    [COST_R_KAFKA_OUT] = {"kafka_out", "streaming data out", DIM_BYTES, -1},
    [COST_R_KAFKA_PARTITION] = {"kafka_partition", "streaming partitions", DIM_PARTITION_TIME,
                                COST_G_KAFKA},
    [COST_R_DB_INSTANCE] = {"db_instance", "managed PostgreSQL", DIM_INSTANCE_TIME, COST_G_DB},
    [COST_R_REQUESTS] = {"requests", "write requests", DIM_COUNT, -1},
    [COST_R_DB_STORAGE] = {"db_storage", "database storage", DIM_STORAGE, -1},
    [COST_R_KAFKA_CLUSTER] = {"kafka_cluster", "streaming service fee", DIM_CLUSTER_TIME, -1},
    [COST_R_KAFKA_EVENTS] = {"kafka_events", "streaming events", DIM_EVENTS, -1},
};

/* NULL-terminated so it doubles as the allowed-keys list of "billing". */
static const char *const group_names[COST_G__COUNT + 1] = {"compute", "db", "kafka", NULL};

const char *cost_rate_name(cost_rate_id r)
{
    return (unsigned)r < COST_R__COUNT ? rates_info[r].key : "?";
}

const char *cost_unit_name(cost_unit u)
{
    return (unsigned)u < COST_U__COUNT ? units[u].name : "?";
}

const char *cost_group_name(cost_group g)
{
    return (unsigned)g < COST_G__COUNT ? group_names[g] : "?";
}

int cost_rate_group(cost_rate_id r)
{
    return (unsigned)r < COST_R__COUNT ? rates_info[r].group : -1;
}

/* ---- loading ---- */

void cost_model_free(cost_model *m)
{
    if (!m) return;
    hx_free(m->name);
    hx_free(m->path);
    hx_free(m->provider);
    hx_free(m->region);
    hx_free(m->currency);
    hx_free(m->as_of);
    for (size_t i = 0; i < m->nsources; i++) {
        hx_free(m->sources[i].name);
        hx_free(m->sources[i].url);
        hx_free(m->sources[i].citation);
    }
    hx_free(m->sources);
    for (int r = 0; r < COST_R__COUNT; r++) {
        hx_free(m->rates[r].source);
        hx_free(m->rates[r].as_of);
        hx_free(m->rates[r].note);
    }
    for (int g = 0; g < COST_G__COUNT; g++)
        hx_free(m->billing[g].source);
    for (size_t i = 0; i < m->ndb_classes; i++) {
        hx_free(m->db_classes[i].name);
        hx_free(m->db_classes[i].source);
        hx_free(m->db_classes[i].as_of);
        hx_free(m->db_classes[i].note);
    }
    hx_free(m->db_classes);
    hx_free(m->streaming);
    hx_free(m);
}

/* Parsing context: the file name for messages and the error sink. */
struct pctx {
    const char *path;
    hx_err *e;
};

static int bad(struct pctx *c, const char *jpath, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(struct pctx *c, const char *jpath, const char *fmt, ...)
{
    char what[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return hx_fail(c->e, HX_EUSAGE, "%s: %s: %s", c->path, jpath, what);
}

static int nomem(struct pctx *c)
{
    return hx_fail(c->e, HX_ENOMEM, "%s: out of memory while loading the cost model", c->path);
}

/* Reject keys not in allowed (NULL-terminated), suggesting the closest one. */
static int check_keys(struct pctx *c, json_t *obj, const char *jpath, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(k, allowed[i]) == 0) ok = true;
        if (!ok) {
            const char *s = hx_suggest(k, allowed);
            return bad(c, jpath, "unknown field '%s'%s%s%s", k, s ? " (did you mean '" : "",
                       s ? s : "", s ? "'?)" : "");
        }
    }
    return 0;
}

/* A required (or optional, when out may stay NULL) non-empty string field. */
static int get_str(struct pctx *c, json_t *obj, const char *jpath, const char *key, bool required,
                   char **out)
{
    char p[256];
    snprintf(p, sizeof p, "%s.%s", jpath, key);
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required) return bad(c, p, "missing required field");
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0)
        return bad(c, p, "must be a non-empty string");
    if (strlen(json_string_value(v)) != json_string_length(v))
        return bad(c, p, "must not contain NUL characters");
    *out = hx_strdup(json_string_value(v));
    return *out ? 0 : nomem(c);
}

/* An optional number in [lo, hi]; *out keeps its value when absent. */
static int get_num(struct pctx *c, json_t *obj, const char *jpath, const char *key, bool required,
                   double lo, double hi, double *out)
{
    char p[256];
    snprintf(p, sizeof p, "%s.%s", jpath, key);
    json_t *v = json_object_get(obj, key);
    if (!v) return required ? bad(c, p, "missing required field") : 0;
    if (!json_is_number(v)) return bad(c, p, "must be a number");
    double d = json_number_value(v);
    if (!isfinite(d)) return bad(c, p, "must be a finite number");
    if (d < lo) return bad(c, p, "must be >= %g", lo);
    if (d > hi) return bad(c, p, "must be <= %g", hi);
    *out = d;
    return 0;
}

static int get_bool(struct pctx *c, json_t *obj, const char *jpath, const char *key, bool *out)
{
    char p[256];
    snprintf(p, sizeof p, "%s.%s", jpath, key);
    json_t *v = json_object_get(obj, key);
    if (!v) return 0;
    if (!json_is_boolean(v)) return bad(c, p, "must be true or false");
    *out = json_is_true(v);
    return 0;
}

static int need_object(struct pctx *c, json_t *v, const char *jpath)
{
    if (!v) return bad(c, jpath, "missing required field");
    if (!json_is_object(v)) return bad(c, jpath, "must be an object");
    return 0;
}

static int parse_sources(struct pctx *c, json_t *root, cost_model *m)
{
    json_t *arr = json_object_get(root, "sources");
    if (!arr) return bad(c, "$.sources", "missing required field");
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return bad(c, "$.sources", "must be a non-empty array of {name, url or citation}");
    m->sources = hx_calloc(json_array_size(arr), sizeof *m->sources);
    if (!m->sources) return nomem(c);
    static const char *const keys[] = {"name", "url", "citation", "note", NULL};
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s)
    {
        char p[64];
        snprintf(p, sizeof p, "$.sources[%zu]", i);
        int rc = need_object(c, s, p);
        if (rc == 0) rc = check_keys(c, s, p, keys);
        cost_source *src = &m->sources[m->nsources++];
        if (rc == 0) rc = get_str(c, s, p, "name", true, &src->name);
        if (rc == 0) rc = get_str(c, s, p, "url", false, &src->url);
        if (rc == 0) rc = get_str(c, s, p, "citation", false, &src->citation);
        if (rc) return rc;
        if (!src->url && !src->citation) return bad(c, p, "needs a url or a citation");
    }
    return 0;
}

static int parse_unit(struct pctx *c, json_t *v, const char *jpath, cost_rate_id r, cost_unit *out)
{
    if (!v) return bad(c, jpath, "missing required field");
    if (!json_is_string(v)) return bad(c, jpath, "must be a string");
    const char *s = json_string_value(v);
    const char *fit[COST_U__COUNT + 1];
    size_t nfit = 0;
    for (int u = 0; u < COST_U__COUNT; u++)
        if (units[u].dim == rates_info[r].dim) fit[nfit++] = units[u].name;
    fit[nfit] = NULL;
    for (int u = 0; u < COST_U__COUNT; u++) {
        if (strcmp(s, units[u].name) != 0) continue;
        if (units[u].dim != rates_info[r].dim)
            return bad(c, jpath, "unit '%s' does not fit rate '%s' (use %s%s%s)", s,
                       rates_info[r].key, fit[0], nfit > 1 ? " or " : "", nfit > 1 ? fit[1] : "");
        *out = (cost_unit)u;
        return 0;
    }
    const char *sug = hx_suggest(s, fit);
    char list[256] = "";
    for (size_t i = 0; i < nfit; i++) {
        if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, fit[i], sizeof list - strlen(list) - 1);
    }
    return bad(c, jpath, "unknown unit '%s'%s%s%s; rate '%s' takes one of: %s", s,
               sug ? " (did you mean '" : "", sug ? sug : "", sug ? "'?)" : "", rates_info[r].key,
               list);
}

static int parse_rates(struct pctx *c, json_t *root, cost_model *m)
{
    json_t *rates = json_object_get(root, "rates");
    int rc = need_object(c, rates, "$.rates");
    if (rc) return rc;
    const char *names[COST_R__COUNT + 1];
    for (int r = 0; r < COST_R__COUNT; r++)
        names[r] = rates_info[r].key;
    names[COST_R__COUNT] = NULL;
    if ((rc = check_keys(c, rates, "$.rates", names))) return rc;
    static const char *const keys[] = {"unit", "price",    "source",  "as_of", "unverified",
                                       "note", "discount", "minimum", NULL};
    bool classes = json_array_size(json_object_get(root, "db_classes")) > 0;
    for (int r = 0; r < COST_R__COUNT; r++) {
        char p[128];
        snprintf(p, sizeof p, "$.rates.%s", rates_info[r].key);
        json_t *o = json_object_get(rates, rates_info[r].key);
        cost_rate *rt = &m->rates[r];
        /* Optional rates, and db_instance when the sheet lists instance classes instead. */
        if (!o && (r >= COST_R__REQUIRED || (r == COST_R_DB_INSTANCE && classes))) continue;
        if ((rc = need_object(c, o, p)) || (rc = check_keys(c, o, p, keys))) return rc;
        char up[160];
        snprintf(up, sizeof up, "%s.unit", p);
        if ((rc = parse_unit(c, json_object_get(o, "unit"), up, (cost_rate_id)r, &rt->unit)))
            return rc;
        rt->discount = m->discount;
        if ((rc = get_num(c, o, p, "price", true, 0, 1e12, &rt->price)) ||
            (rc = get_num(c, o, p, "discount", false, 0, 1, &rt->discount)) ||
            (rc = get_num(c, o, p, "minimum", false, 0, 1e12, &rt->minimum)) ||
            (rc = get_str(c, o, p, "source", true, &rt->source)) ||
            (rc = get_str(c, o, p, "as_of", true, &rt->as_of)) ||
            (rc = get_bool(c, o, p, "unverified", &rt->unverified)) ||
            (rc = get_str(c, o, p, "note", false, &rt->note)))
            return rc;
        if (rt->unverified && !rt->note) {
            snprintf(up, sizeof up, "%s.note", p);
            return bad(c, up, "required when unverified is true: say why the price is unsure");
        }
        rt->present = true;
    }
    return 0;
}

static int parse_billing(struct pctx *c, json_t *root, cost_model *m)
{
    json_t *b = json_object_get(root, "billing");
    if (!b) return 0;
    int rc = need_object(c, b, "$.billing");
    if (rc || (rc = check_keys(c, b, "$.billing", group_names))) return rc;
    static const char *const keys[] = {
        "minimum_seconds", "increment_seconds", "always_on", "source", "note", "unverified", NULL};
    for (int g = 0; g < COST_G__COUNT; g++) {
        json_t *o = json_object_get(b, group_names[g]);
        if (!o) continue;
        char p[64];
        snprintf(p, sizeof p, "$.billing.%s", group_names[g]);
        cost_billing *bl = &m->billing[g];
        char *note = NULL;
        bool unverified = false;
        if ((rc = need_object(c, o, p)) || (rc = check_keys(c, o, p, keys)) ||
            (rc = get_num(c, o, p, "minimum_seconds", false, 0, 31 * 86400.0,
                          &bl->minimum_seconds)) ||
            (rc = get_num(c, o, p, "increment_seconds", false, 0, 31 * 86400.0,
                          &bl->increment_seconds)) ||
            (rc = get_bool(c, o, p, "always_on", &bl->always_on)) ||
            (rc = get_bool(c, o, p, "unverified", &unverified)) ||
            (rc = get_str(c, o, p, "source", false, &bl->source)) ||
            (rc = get_str(c, o, p, "note", false, &note)))
            return rc;
        hx_free(note);
    }
    return 0;
}

static int by_price(const void *a, const void *b)
{
    const cost_db_class *x = a, *y = b;
    double px = x->price * (1 - x->discount), py = y->price * (1 - y->discount);
    if (px != py) return px < py ? -1 : 1;
    return x->capacity_vcpu < y->capacity_vcpu ? -1 : x->capacity_vcpu > y->capacity_vcpu;
}

/* "db_classes": [{name, vcpu, memory_gib, capacity_vcpu?, price, source, as_of, ...}], kept
 * cheapest first so sizing can take the first that fits. */
static int parse_db_classes(struct pctx *c, json_t *root, cost_model *m)
{
    json_t *arr = json_object_get(root, "db_classes");
    if (!arr) return 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return bad(c, "$.db_classes", "must be a non-empty array of instance classes");
    m->db_classes = hx_calloc(json_array_size(arr), sizeof *m->db_classes);
    if (!m->db_classes) return nomem(c);
    static const char *const keys[] = {"name",     "vcpu",       "memory_gib", "capacity_vcpu",
                                       "price",    "unit",       "source",     "as_of",
                                       "discount", "unverified", "note",       NULL};
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        char p[64];
        snprintf(p, sizeof p, "$.db_classes[%zu]", i);
        cost_db_class *k = &m->db_classes[m->ndb_classes++];
        k->discount = m->discount;
        k->capacity_vcpu = -1;
        int rc = need_object(c, o, p);
        if (rc == 0) rc = check_keys(c, o, p, keys);
        if (rc == 0) rc = get_str(c, o, p, "name", true, &k->name);
        if (rc == 0) rc = get_num(c, o, p, "vcpu", true, 0.01, 1024, &k->vcpu);
        if (rc == 0) rc = get_num(c, o, p, "memory_gib", true, 0.01, 65536, &k->memory_gib);
        if (rc == 0) rc = get_num(c, o, p, "capacity_vcpu", false, 0.01, 1024, &k->capacity_vcpu);
        if (rc == 0) rc = get_num(c, o, p, "price", true, 0, 1e9, &k->price);
        if (rc == 0) rc = get_num(c, o, p, "discount", false, 0, 1, &k->discount);
        if (rc == 0) rc = get_str(c, o, p, "source", true, &k->source);
        if (rc == 0) rc = get_str(c, o, p, "as_of", true, &k->as_of);
        if (rc == 0) rc = get_bool(c, o, p, "unverified", &k->unverified);
        if (rc == 0) rc = get_str(c, o, p, "note", false, &k->note);
        if (rc) return rc;
        json_t *u = json_object_get(o, "unit");
        if (u && (!json_is_string(u) || strcmp(json_string_value(u), "instance-hour") != 0)) {
            char up[80];
            snprintf(up, sizeof up, "%s.unit", p);
            return bad(c, up, "an instance class is priced per 'instance-hour'");
        }
        if (k->capacity_vcpu < 0) k->capacity_vcpu = k->vcpu;
        if (k->capacity_vcpu > k->vcpu) {
            char cp[80];
            snprintf(cp, sizeof cp, "%s.capacity_vcpu", p);
            return bad(c, cp, "must be <= vcpu (%g): a class sustains at most its vCPUs", k->vcpu);
        }
        if (k->unverified && !k->note) {
            char np[80];
            snprintf(np, sizeof np, "%s.note", p);
            return bad(c, np, "required when unverified is true: say why the price is unsure");
        }
        for (size_t j = 0; j + 1 < m->ndb_classes; j++)
            if (strcmp(m->db_classes[j].name, k->name) == 0)
                return bad(c, p, "class '%s' is listed twice", k->name);
    }
    qsort(m->db_classes, m->ndb_classes, sizeof *m->db_classes, by_price);
    return 0;
}

/* "dir/aws-us-east-1.json" -> "aws-us-east-1". */
static char *stem(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n > 5 && strcmp(b + n - 5, ".json") == 0) n -= 5;
    return hx_strndup(b, n);
}

int cost_model_parse(const char *text, size_t len, const char *path, cost_model **out, hx_err *e)
{
    *out = NULL;
    struct pctx c = {path ? path : "<cost model>", e};
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return hx_fail(e, HX_EUSAGE, "%s:%d:%d: invalid JSON: %s", c.path, je.line, je.column,
                       je.text);
    cost_model *m = hx_calloc(1, sizeof *m);
    int rc = 0;
    if (!m) {
        rc = nomem(&c);
        goto done;
    }
    if (!json_is_object(root)) {
        rc = bad(&c, "$", "must be an object with \"schema\": \"%s\"", COST_SCHEMA);
        goto done;
    }
    static const char *const keys[] = {"schema",
                                       "provider",
                                       "region",
                                       "currency",
                                       "as_of",
                                       "sources",
                                       "rates",
                                       "billing",
                                       "discount",
                                       "description",
                                       "notes",
                                       "db_classes",
                                       "db_utilisation_target",
                                       "streaming_service",
                                       NULL};
    json_t *schema = json_object_get(root, "schema");
    if (!schema) {
        rc = bad(&c, "$.schema", "missing required field (expected \"%s\")", COST_SCHEMA);
        goto done;
    }
    if (!json_is_string(schema) || strcmp(json_string_value(schema), COST_SCHEMA) != 0) {
        rc = bad(&c, "$.schema", "unsupported schema %s%s%s; this harness reads \"%s\"",
                 json_is_string(schema) ? "\"" : "",
                 json_is_string(schema) ? json_string_value(schema) : "(not a string)",
                 json_is_string(schema) ? "\"" : "", COST_SCHEMA);
        goto done;
    }
    if ((rc = check_keys(&c, root, "$", keys)) ||
        (rc = get_str(&c, root, "$", "provider", true, &m->provider)) ||
        (rc = get_str(&c, root, "$", "region", true, &m->region)) ||
        (rc = get_str(&c, root, "$", "currency", true, &m->currency)) ||
        (rc = get_str(&c, root, "$", "as_of", true, &m->as_of)) ||
        (rc = get_num(&c, root, "$", "discount", false, 0, 1, &m->discount)) ||
        (rc = get_str(&c, root, "$", "streaming_service", false, &m->streaming)))
        goto done;
    m->db_target = COST_DB_TARGET_DEFAULT;
    if ((rc = get_num(&c, root, "$", "db_utilisation_target", false, 0.05, 1, &m->db_target)) ||
        (rc = parse_sources(&c, root, m)) || (rc = parse_db_classes(&c, root, m)) ||
        (rc = parse_rates(&c, root, m)) || (rc = parse_billing(&c, root, m)))
        goto done;
    m->path = hx_strdup(c.path);
    m->name = stem(c.path);
    if (!m->path || !m->name) {
        rc = nomem(&c);
        goto done;
    }
    hx_sha256 sh;
    hx_sha256_init(&sh);
    hx_sha256_update(&sh, text, len);
    hx_sha256_final(&sh, m->sha256);
done:
    json_decref(root);
    if (rc) {
        cost_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int cost_model_load(const char *path, cost_model **out, hx_err *e)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = hx_read_file(path, &text, &len, e);
    if (rc) return rc;
    rc = cost_model_parse(text, len, path, out, e);
    hx_free(text);
    return rc;
}

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int cost_model_find(const char *name, const char *dir, char **path, hx_err *e)
{
    *path = NULL;
    if (!name || !*name) return hx_fail(e, HX_EUSAGE, "empty cost model name; try 'aws-us-east-1'");
    if (strchr(name, '/')) {
        if (!is_file(name))
            return hx_fail(e, HX_EUSAGE, "cost model '%s' not found: no such file", name);
        *path = hx_strdup(name);
        return *path ? 0 : hx_fail(e, HX_ENOMEM, "out of memory");
    }
    size_t n = strlen(name);
    const char *ext = n > 5 && strcmp(name + n - 5, ".json") == 0 ? "" : ".json";
    const char *env = getenv("HARNESS_COST_MODELS");
    const char *dirs[4] = {dir, env, HX_COST_MODELS_DATADIR, HX_SOURCE_ROOT "/cost-models"};
    hx_buf tried;
    hx_buf_init(&tried);
    for (int i = 0; i < 4; i++) {
        if (!dirs[i] || !*dirs[i]) continue;
        hx_buf p;
        hx_buf_init(&p);
        hx_buf_printf(&p, "%s/%s%s", dirs[i], name, ext);
        if (p.oom) {
            hx_buf_release(&p);
            hx_buf_release(&tried);
            return hx_fail(e, HX_ENOMEM, "out of memory");
        }
        if (is_file(p.data)) {
            hx_buf_release(&tried);
            *path = hx_buf_steal(&p);
            return 0;
        }
        hx_buf_printf(&tried, "%s%s", tried.len ? ", " : "", dirs[i]);
        hx_buf_release(&p);
    }
    hx_fail(e, HX_EUSAGE,
            "cost model '%s' not found in %s; pass --cost-models DIR or set HARNESS_COST_MODELS",
            name, tried.data ? tried.data : "(no directory)");
    hx_buf_release(&tried);
    return HX_EUSAGE;
}

int cost_model_load_named(const char *name, const char *dir, cost_model **out, hx_err *e)
{
    char *path = NULL;
    *out = NULL;
    int rc = cost_model_find(name, dir, &path, e);
    if (rc == 0) rc = cost_model_load(path, out, e);
    hx_free(path);
    return rc;
}

/* ---- pricing ---- */

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
    double q = base / units[rt->unit].per_unit;
    double cost = q * eff_price(rt);
    if (!(cost > 0)) return NULL;
    cost_line *l = &b->lines[b->nlines++];
    memset(l, 0, sizeof *l);
    l->rate = r;
    l->kind = kind;
    snprintf(l->component, sizeof l->component, "%s",
             component ? component : rates_info[r].component);
    l->quantity = q;
    l->unit = units[rt->unit].name;
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
    return vcpu_s / units[v->unit].per_unit * eff_price(v) +
           byte_s / units[mem->unit].per_unit * eff_price(mem);
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
    const cost_fit *fwall = add_fit(out, FIT("solution wall s", wall_seconds));
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
    double cu = out->used_vcpu_seconds / units[m->rates[COST_R_COMPUTE_VCPU].unit].per_unit *
                    eff_price(&m->rates[COST_R_COMPUTE_VCPU]) +
                used_bs_p / units[m->rates[COST_R_COMPUTE_MEMORY].unit].per_unit *
                    eff_price(&m->rates[COST_R_COMPUTE_MEMORY]);
    out->compute_used = cu;
    out->compute_provisioned = phase_compute(m, out->provisioned_vcpu_seconds, prov_bs);
    double billed_compute_run = phase_compute(m, out->billed_vcpu_seconds, billed_bs);

    /* ---- the database, sized by what it did ---- */
    if (u->uses_db) {
        cost_fit fdb = cost_fit_project(
            "database CPU s", u->db_cpu_steps_seconds + u->db_cpu_served_seconds, r,
            two ? pr->db_cpu_steps_seconds + pr->db_cpu_served_seconds : NAN, r2, R, two);
        add_fit(out, fdb);
        const cost_fit *fst = add_fit(out, FIT("database storage bytes", db_storage_bytes));
        double dbcpu_p = fdb.projected > 0 ? fdb.projected : 0;
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
                                     .price = dr->price * units[dr->unit].per_unit / 3600.0,
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
            l = add_class_line(out, kc, COST_VARIABLE, comp, used_h, per_vcpu_h,
                               kc->price / kc->capacity_vcpu, "vCPU-hour");
            if (l)
                note(l,
                     "%.4g CPU-s a run of the solution's steps and served workload at the "
                     "class's price per sustained vCPU (%.6g / %.3g)",
                     dbcpu_p, hourly, kc->capacity_vcpu);
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
            double q = bytes / units[sr->unit].per_unit;
            bool at_min = q < sr->minimum;
            double base = (at_min ? sr->minimum : q) * units[sr->unit].per_unit;
            l = add_line(out, COST_R_DB_STORAGE, at_min ? COST_FIXED : COST_VARIABLE, NULL, base);
            if (l) {
                if (at_min)
                    note(l,
                         "the service's minimum %g %s (the solution's relations: %.4g of it "
                         "at a production run's size)",
                         sr->minimum, units[sr->unit].name, q);
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
        add_line(out, COST_R_KAFKA_IN, COST_VARIABLE, NULL, in_p * rpm);
        add_line(out, COST_R_KAFKA_OUT, COST_VARIABLE, NULL, out_p * rpm);
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
