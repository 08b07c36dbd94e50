/* cost_sheet.c - price sheets: the units and rates a sheet may quote, loading and validating a
 * sheet ("harness.cost-model/1"), and finding one by name. See cost.h and docs/cost-models.md. */
#include "cost.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cost_int.h"
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
    int rc = hx_read_input(path, HX_IN_COST_MODEL, &text, &len, e);
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

double cost_unit_base(cost_unit u)
{
    return (unsigned)u < COST_U__COUNT ? units[u].per_unit : 1.0;
}

const char *cost_rate_component(cost_rate_id r)
{
    return (unsigned)r < COST_R__COUNT ? rates_info[r].component : "?";
}
