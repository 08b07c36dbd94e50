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
    DIM_COUNT           /* plain count */
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
};

static const struct rate_info {
    const char *key;       /* JSON key under "rates" */
    const char *component; /* display name */
    enum dim dim;
    int group; /* cost_group, or -1 */
} rates_info[COST_R__COUNT] = {
    [COST_R_COMPUTE_VCPU] = {"compute_vcpu", "compute vCPU", DIM_VCPU_TIME, COST_G_COMPUTE},
    [COST_R_COMPUTE_MEMORY] = {"compute_memory", "compute memory", DIM_MEM_TIME, COST_G_COMPUTE},
    [COST_R_STORAGE] = {"storage", "storage (sink data, 1 month)", DIM_STORAGE, -1},
    [COST_R_EGRESS] = {"egress", "internet egress", DIM_BYTES, -1},
    [COST_R_KAFKA_IN] = {"kafka_in", "streaming data in", DIM_BYTES, -1},
    [COST_R_KAFKA_OUT] = {"kafka_out", "streaming data out", DIM_BYTES, -1},
    [COST_R_KAFKA_PARTITION] = {"kafka_partition", "streaming partitions", DIM_PARTITION_TIME,
                                COST_G_KAFKA},
    [COST_R_DB_INSTANCE] = {"db_instance", "managed PostgreSQL", DIM_INSTANCE_TIME, COST_G_DB},
    [COST_R_REQUESTS] = {"requests", "write requests", DIM_COUNT, -1},
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
    static const char *const keys[] = {"unit",       "price", "source",   "as_of",
                                       "unverified", "note",  "discount", NULL};
    for (int r = 0; r < COST_R__COUNT; r++) {
        char p[128];
        snprintf(p, sizeof p, "$.rates.%s", rates_info[r].key);
        json_t *o = json_object_get(rates, rates_info[r].key);
        cost_rate *rt = &m->rates[r];
        if ((rc = need_object(c, o, p)) || (rc = check_keys(c, o, p, keys))) return rc;
        char up[160];
        snprintf(up, sizeof up, "%s.unit", p);
        if ((rc = parse_unit(c, json_object_get(o, "unit"), up, (cost_rate_id)r, &rt->unit)))
            return rc;
        rt->discount = m->discount;
        if ((rc = get_num(c, o, p, "price", true, 0, 1e12, &rt->price)) ||
            (rc = get_num(c, o, p, "discount", false, 0, 1, &rt->discount)) ||
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
    static const char *const keys[] = {"schema",   "provider",    "region", "currency",
                                       "as_of",    "sources",     "rates",  "billing",
                                       "discount", "description", "notes",  NULL};
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
        (rc = parse_sources(&c, root, m)) || (rc = parse_rates(&c, root, m)) ||
        (rc = parse_billing(&c, root, m)))
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

double cost_runs_per_month(const plan_scale *scale, uint64_t input_records)
{
    if (!scale) return 0;
    if (scale->runs_per_day > 0) return scale->runs_per_day * COST_DAYS_PER_MONTH;
    if (scale->records_per_day > 0 && input_records > 0)
        return scale->records_per_day / (double)input_records * COST_DAYS_PER_MONTH;
    return 0;
}

double cost_scale_factor(const plan_scale *scale, uint64_t input_records)
{
    if (!scale || !(scale->records_per_day > 0) || !(scale->runs_per_day > 0) || !input_records)
        return 1;
    return scale->records_per_day / scale->runs_per_day / (double)input_records;
}

/* u with every volume-driven quantity multiplied by k (peak and mean RSS stay: a bigger run
 * runs longer, it does not need a bigger box in this model). Phases are dropped. */
static cost_usage scaled_usage(const cost_usage *u, double k)
{
    cost_usage s = *u;
    s.cpu_seconds *= k;
    s.wall_seconds *= k;
    s.rss_byte_seconds *= k;
    s.storage_bytes = (uint64_t)llround((double)u->storage_bytes * k);
    s.egress_bytes = (uint64_t)llround((double)u->egress_bytes * k);
    s.kafka_bytes_in = (uint64_t)llround((double)u->kafka_bytes_in * k);
    s.kafka_bytes_out = (uint64_t)llround((double)u->kafka_bytes_out * k);
    s.kafka_partition_seconds *= k;
    s.db_instance_seconds *= k;
    s.requests = (uint64_t)llround((double)u->requests * k);
    s.input_records = (uint64_t)llround((double)u->input_records * k);
    s.correct_output_records = (uint64_t)llround((double)u->correct_output_records * k);
    s.phases = NULL;
    s.nphases = 0;
    return s;
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

static bool usage_ok(const cost_usage *u, hx_err *e)
{
    const struct {
        const char *name;
        double v;
    } f[] = {
        {"cpu_seconds", u->cpu_seconds},
        {"wall_seconds", u->wall_seconds},
        {"provisioned_vcpus", u->provisioned_vcpus},
        {"rss_byte_seconds", u->rss_byte_seconds},
        {"kafka_partition_seconds", u->kafka_partition_seconds},
        {"db_instance_seconds", u->db_instance_seconds},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (!isfinite(f[i].v) || f[i].v < 0) {
            hx_fail(e, HX_EUSAGE, "cost: usage %s is %g; it must be a finite number >= 0",
                    f[i].name, f[i].v);
            return false;
        }
    for (size_t i = 0; i < u->nphases; i++) {
        const cost_phase_usage *p = &u->phases[i];
        if (!isfinite(p->cpu_seconds) || p->cpu_seconds < 0 || !isfinite(p->wall_seconds) ||
            p->wall_seconds < 0) {
            hx_fail(e, HX_EUSAGE, "cost: phase '%s' has negative or non-finite time",
                    p->name ? p->name : "?");
            return false;
        }
    }
    return true;
}

static double eff_price(const cost_rate *r)
{
    return r->price * (1.0 - r->discount);
}

/* Add a line for rate r with `base` base units (seconds, bytes, count) of usage. */
static cost_line *add_line(cost_breakdown *b, cost_rate_id r, cost_view view, bool billed,
                           const char *component, double base)
{
    const cost_rate *rt = &b->model->rates[r];
    cost_line *l = &b->lines[b->nlines++];
    memset(l, 0, sizeof *l);
    l->rate = r;
    l->view = view;
    l->billed = billed;
    l->component = component;
    l->quantity = base / units[rt->unit].per_unit;
    l->unit = units[rt->unit].name;
    l->list_price = rt->price;
    l->unit_price = eff_price(rt);
    l->cost = l->quantity * l->unit_price;
    return l;
}

/* Append to a line's note, keeping it NUL-terminated when it fills up. */
static void note(cost_line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(cost_line *l, const char *fmt, ...)
{
    size_t n = strlen(l->note);
    if (n + 1 >= sizeof l->note) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->note + n, sizeof l->note - n, fmt, ap);
    va_end(ap);
}

static void rate_notes(const cost_breakdown *b, cost_line *l)
{
    const cost_rate *rt = &b->model->rates[l->rate];
    if (rt->discount > 0)
        note(l, "%slist %.6g less %.4g%% discount", l->note[0] ? "; " : "", rt->price,
             rt->discount * 100);
    if (rt->unverified) note(l, "%sunverified price", l->note[0] ? "; " : "");
}

static void rule_note(const cost_billing *bl, cost_line *l)
{
    if (bl->minimum_seconds > 0)
        note(l, "%sminimum %gs", l->note[0] ? "; " : "", bl->minimum_seconds);
    if (bl->increment_seconds > 0)
        note(l, "%sincrement %gs", l->note[0] ? "; " : "", bl->increment_seconds);
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

int cost_price(const cost_model *m, const cost_usage *u, const plan_scale *scale,
               cost_breakdown *out, hx_err *e)
{
    memset(out, 0, sizeof *out);
    out->model = m;
    if (!usage_ok(u, e)) return HX_EUSAGE;
    const cost_billing *cb = &m->billing[COST_G_COMPUTE];
    unsigned launches = u->invocations ? u->invocations : 1;
    double vcpus = u->provisioned_vcpus > 0 ? u->provisioned_vcpus : 1.0;
    double wall_billed = cost_billed_seconds(cb, u->wall_seconds, launches);
    double mem_prov =
        (double)(u->provisioned_memory_bytes ? u->provisioned_memory_bytes : u->peak_rss_bytes);
    double used_bs =
        u->rss_byte_seconds > 0 ? u->rss_byte_seconds : (double)u->mean_rss_bytes * u->wall_seconds;

    out->used_vcpu_seconds = u->cpu_seconds;
    out->provisioned_vcpu_seconds = vcpus * wall_billed;
    /* OpenCost's rule: a workload pays for max(request, usage). */
    out->billed_vcpu_seconds = out->used_vcpu_seconds > out->provisioned_vcpu_seconds
                                   ? out->used_vcpu_seconds
                                   : out->provisioned_vcpu_seconds;
    double prov_bs = mem_prov * wall_billed;
    double billed_bs = used_bs > prov_bs ? used_bs : prov_bs;

    cost_line *l = add_line(out, COST_R_COMPUTE_VCPU, COST_VIEW_BILLED, true, "compute vCPU",
                            out->billed_vcpu_seconds);
    note(l, "max(used %.3f vCPU-s, provisioned %g vCPU x %.3f s)", out->used_vcpu_seconds, vcpus,
         wall_billed);
    rule_note(cb, l);
    rate_notes(out, l);
    l = add_line(out, COST_R_COMPUTE_MEMORY, COST_VIEW_BILLED, true, "compute memory", billed_bs);
    note(l, "max(used %.4g GiB-s, provisioned %.4g GiB x %.3f s)", used_bs / 1073741824.0,
         mem_prov / 1073741824.0, wall_billed);
    rule_note(cb, l);
    rate_notes(out, l);

    l = add_line(out, COST_R_STORAGE, COST_VIEW_NONE, true, rates_info[COST_R_STORAGE].component,
                 (double)u->storage_bytes);
    note(l, "the run's sink data kept one month");
    rate_notes(out, l);
    static const cost_rate_id bytes_rates[] = {COST_R_EGRESS, COST_R_KAFKA_IN, COST_R_KAFKA_OUT};
    const uint64_t bytes[] = {u->egress_bytes, u->kafka_bytes_in, u->kafka_bytes_out};
    for (int i = 0; i < 3; i++) {
        l = add_line(out, bytes_rates[i], COST_VIEW_NONE, true,
                     rates_info[bytes_rates[i]].component, (double)bytes[i]);
        rate_notes(out, l);
    }
    const cost_billing *kb = &m->billing[COST_G_KAFKA];
    double part_s = u->kafka_partitions ? u->kafka_partitions *
                                              cost_billed_seconds(kb, u->kafka_partition_seconds, 1)
                                        : 0;
    l = add_line(out, COST_R_KAFKA_PARTITION, COST_VIEW_NONE, true,
                 rates_info[COST_R_KAFKA_PARTITION].component, part_s);
    if (u->kafka_partitions)
        note(l, "%u partitions x %.3f s", u->kafka_partitions, u->kafka_partition_seconds);
    rule_note(kb, l);
    rate_notes(out, l);
    const cost_billing *db = &m->billing[COST_G_DB];
    double db_s = cost_billed_seconds(db, u->db_instance_seconds, 1);
    cost_line *dbl = add_line(out, COST_R_DB_INSTANCE, COST_VIEW_NONE, true,
                              rates_info[COST_R_DB_INSTANCE].component, db_s);
    if (u->db_instance_seconds > 0) note(dbl, "1 instance x %.3f s", u->db_instance_seconds);
    rule_note(db, dbl);
    rate_notes(out, dbl);
    l = add_line(out, COST_R_REQUESTS, COST_VIEW_NONE, true, rates_info[COST_R_REQUESTS].component,
                 (double)u->requests);
    rate_notes(out, l);

    size_t nbilled = out->nlines;
    /* The two views DESIGN asks to show beside the billed one; they do not add to the total. */
    l = add_line(out, COST_R_COMPUTE_VCPU, COST_VIEW_USED, false, "compute vCPU (used view)",
                 out->used_vcpu_seconds);
    note(l, "CPU user+sys seconds; shown, not billed");
    out->compute_used = l->cost;
    l = add_line(out, COST_R_COMPUTE_MEMORY, COST_VIEW_USED, false, "compute memory (used view)",
                 used_bs);
    note(l, "RSS byte-seconds; shown, not billed");
    out->compute_used += l->cost;
    l = add_line(out, COST_R_COMPUTE_VCPU, COST_VIEW_PROVISIONED, false,
                 "compute vCPU (provisioned view)", out->provisioned_vcpu_seconds);
    note(l, "%g vCPU x billed wall; shown, not billed", vcpus);
    out->compute_provisioned = l->cost;
    l = add_line(out, COST_R_COMPUTE_MEMORY, COST_VIEW_PROVISIONED, false,
                 "compute memory (provisioned view)", prov_bs);
    note(l, "%s x billed wall; shown, not billed",
         u->provisioned_memory_bytes ? "provisioned memory" : "peak RSS");
    out->compute_provisioned += l->cost;

    for (size_t i = 0; i < nbilled; i++)
        out->total += out->lines[i].cost;

    out->runs_per_month = cost_runs_per_month(scale, u->input_records);
    out->scale_factor = cost_scale_factor(scale, u->input_records);
    out->projected = out->runs_per_month > 0;
    if (out->projected) {
        /* A month is runs_per_month production runs, each priced on its own scaled usage
         * (lines come out in the same order for any usage). */
        cost_breakdown prod;
        const cost_breakdown *src = out;
        if (out->scale_factor != 1) {
            cost_usage su = scaled_usage(u, out->scale_factor);
            int rc = cost_price(m, &su, NULL, &prod, e);
            if (rc) {
                cost_breakdown_release(out);
                return rc;
            }
            src = &prod;
        }
        for (size_t i = 0; i < out->nlines && i < src->nlines; i++)
            out->lines[i].monthly = src->lines[i].cost * out->runs_per_month;
        if (src != out) cost_breakdown_release(&prod);
        if (db->always_on && u->db_instance_seconds > 0) {
            double full = COST_HOURS_PER_MONTH * 3600.0 /
                          units[m->rates[COST_R_DB_INSTANCE].unit].per_unit * dbl->unit_price;
            if (full > dbl->monthly) {
                dbl->monthly = full;
                note(dbl, "%salways on: %g h a month", dbl->note[0] ? "; " : "",
                     COST_HOURS_PER_MONTH);
            }
        }
        for (size_t i = 0; i < nbilled; i++)
            out->monthly += out->lines[i].monthly;
    }
    out->per_million_input = u->input_records ? out->total / (double)u->input_records * 1e6 : NAN;
    out->per_correct_record =
        u->correct_output_records ? out->total / (double)u->correct_output_records : NAN;

    if (u->nphases) {
        out->phases = hx_calloc(u->nphases, sizeof *out->phases);
        if (!out->phases) {
            cost_breakdown_release(out);
            return hx_fail(e, HX_ENOMEM, "cost: out of memory attributing phases");
        }
        out->nphases = u->nphases;
        double sum = 0;
        for (size_t i = 0; i < u->nphases; i++) {
            const cost_phase_usage *p = &u->phases[i];
            cost_phase_cost *pc = &out->phases[i];
            pc->name = hx_strdup(p->name ? p->name : "");
            if (!pc->name) {
                cost_breakdown_release(out);
                return hx_fail(e, HX_ENOMEM, "cost: out of memory attributing phases");
            }
            /* Raw usage, no minimum or increment: a minimum is paid once per run, not once
             * per phase, so it must not decide where the money went. */
            double w = p->wall_seconds;
            double pv = vcpus * w;
            pc->vcpu_seconds = p->cpu_seconds > pv ? p->cpu_seconds : pv;
            double bs = (double)p->peak_rss_bytes * w;
            pc->gib_seconds = bs / 1073741824.0;
            pc->cost = phase_compute(m, pc->vcpu_seconds, bs);
            pc->outside_bill = p->outside_bill;
            if (!p->outside_bill) sum += pc->cost;
        }
        /* The billed compute of the run, split by each billed phase's share of the raw usage:
         * those phase costs add up to the compute lines of the bill. */
        double billed = 0;
        for (size_t i = 0; i < out->nlines; i++)
            if (out->lines[i].billed && (out->lines[i].rate == COST_R_COMPUTE_VCPU ||
                                         out->lines[i].rate == COST_R_COMPUTE_MEMORY))
                billed += out->lines[i].cost;
        for (size_t i = 0; i < out->nphases; i++) {
            if (out->phases[i].outside_bill) continue;
            out->phases[i].share = sum > 0 ? out->phases[i].cost / sum : 0;
            out->phases[i].cost = out->phases[i].share * billed;
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

bool cost_breakdown_format(const cost_breakdown *b, hx_buf *out)
{
    const cost_model *m = b->model;
    hx_buf_printf(out, "cost model %s (%s %s, %s, as of %s)\n", m->name, m->provider, m->region,
                  m->currency, m->as_of);
    hx_buf_printf(out, "  %-34s %14s %-15s %12s %12s %12s\n", "component", "quantity", "unit",
                  "unit price", "per run", "per month");
    for (size_t i = 0; i < b->nlines; i++) {
        const cost_line *l = &b->lines[i];
        hx_buf_printf(out, "  %-34s %14.6g %-15s %12.6g %12.6f %12.2f%s%s\n", l->component,
                      l->quantity, l->unit, l->unit_price, l->cost, l->monthly,
                      l->note[0] ? "  # " : "", l->note);
    }
    hx_buf_printf(out, "  total per run %.6f %s", b->total, m->currency);
    if (b->projected)
        hx_buf_printf(out, "; per month %.2f %s (%.4g runs, each %.4gx this one)", b->monthly,
                      m->currency, b->runs_per_month, b->scale_factor);
    else
        hx_buf_puts(out, "; per month: not projected (the pack declares no scale)");
    hx_buf_putc(out, '\n');
    if (isfinite(b->per_million_input))
        hx_buf_printf(out, "  per million input records %.6f; ", b->per_million_input);
    if (isfinite(b->per_correct_record))
        hx_buf_printf(out, "per correct output record %.4g", b->per_correct_record);
    hx_buf_putc(out, '\n');
    for (size_t i = 0; i < b->nphases; i++) {
        if (b->phases[i].outside_bill)
            hx_buf_printf(out, "  phase %-20s %.6f (outside the bill)\n", b->phases[i].name,
                          b->phases[i].cost);
        else
            hx_buf_printf(out, "  phase %-20s %.6f (%.1f%%)\n", b->phases[i].name,
                          b->phases[i].cost, b->phases[i].share * 100);
    }
    return !out->oom;
}

static const char *const metric_quantities[] = {"run",
                                                "monthly",
                                                "per_million_input",
                                                "per_correct_record",
                                                "compute_used",
                                                "compute_provisioned",
                                                NULL};

int cost_metric_value(const cost_breakdown *bs, size_t n, const char *metric, double *out,
                      hx_err *e)
{
    *out = NAN;
    char buf[256];
    if (!metric || strncmp(metric, "cost.", 5) != 0 || strlen(metric) >= sizeof buf)
        return hx_fail(e, HX_EUSAGE, "'%s' is not a cost metric; write e.g. 'cost.monthly.usd'",
                       metric ? metric : "(null)");
    memcpy(buf, metric, strlen(metric) + 1);
    char *part[5];
    size_t np = 0;
    for (char *save = NULL, *t = strtok_r(buf, ".", &save); t; t = strtok_r(NULL, ".", &save)) {
        if (np == 5) break;
        part[np++] = t;
    }
    if (np != 3 && np != 4)
        return hx_fail(e, HX_EUSAGE,
                       "cost metric '%s' should read cost.[<model>.]<quantity>.<currency>, e.g. "
                       "'cost.monthly.usd'",
                       metric);
    if (n == 0)
        return hx_fail(e, HX_EUSAGE, "cost metric '%s' needs a cost model; pass --cost-model",
                       metric);
    const cost_breakdown *b = &bs[0];
    if (np == 4) {
        b = NULL;
        for (size_t i = 0; i < n; i++)
            if (strcmp(bs[i].model->name, part[1]) == 0) b = &bs[i];
        if (!b)
            return hx_fail(e, HX_EUSAGE,
                           "cost metric '%s' names model '%s', which this run did not price",
                           metric, part[1]);
    }
    const char *q = part[np - 2], *cur = part[np - 1];
    if (strcasecmp(cur, b->model->currency) != 0)
        return hx_fail(e, HX_EUSAGE, "cost metric '%s' is in %s but model %s prices in %s", metric,
                       cur, b->model->name, b->model->currency);
    int k = -1;
    for (int i = 0; metric_quantities[i]; i++)
        if (strcmp(q, metric_quantities[i]) == 0) k = i;
    if (k < 0) {
        const char *s = hx_suggest(q, metric_quantities);
        return hx_fail(e, HX_EUSAGE, "cost metric '%s': unknown quantity '%s'%s%s%s", metric, q,
                       s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
    }
    const double v[] = {b->total,
                        b->projected ? b->monthly : NAN,
                        b->per_million_input,
                        b->per_correct_record,
                        b->compute_used,
                        b->compute_provisioned};
    *out = v[k];
    return 0;
}
