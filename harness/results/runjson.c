/* runjson.c - see runjson.h. Writer and reader both walk the field tables of results.c, so a
 * field added to the model is written and read back without touching this file. */
#include "runjson.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AT(p, off) ((char *)(p) + (off))

/* ---- writer ---- */

/* A JSON string from untrusted bytes: invalid UTF-8 becomes U+FFFD (jansson refuses it). */
static json_t *jstr(const char *s)
{
    size_t len = strlen(s);
    if (hx_utf8_valid(s, len)) return json_stringn(s, len);
    hx_buf b;
    hx_buf_init(&b);
    json_t *j = hx_buf_put_utf8(&b, s, len) ? json_stringn(b.data, b.len) : NULL;
    hx_buf_release(&b);
    return j;
}

static json_t *write_obj(const results_type *t, const void *p, bool skip_scenarios);

static json_t *write_field(const results_field *f, const void *p)
{
    const char *at = AT(p, f->off);
    switch (f->type) {
    case RESULTS_F_STR: {
        const char *s = *(char *const *)at;
        return s ? jstr(s) : NULL;
    }
    case RESULTS_F_F64: {
        double d = *(const double *)at;
        return isfinite(d) ? json_real(d) : json_null();
    }
    case RESULTS_F_I64:
        return json_integer(*(const int64_t *)at);
    case RESULTS_F_U64STR: {
        char buf[24];
        snprintf(buf, sizeof buf, "%" PRIu64, *(const uint64_t *)at);
        return json_string(buf);
    }
    case RESULTS_F_INT:
        return json_integer(*(const int *)at);
    case RESULTS_F_BOOL:
        return json_boolean(*(const bool *)at);
    case RESULTS_F_ENUM: {
        int v = *(const int *)at;
        int n = 0;
        while (f->enum_names[n])
            n++;
        return json_string(v >= 0 && v < n ? f->enum_names[v] : "?");
    }
    case RESULTS_F_STRV: {
        char *const *v = *(char **const *)at;
        size_t n = *(const size_t *)AT(p, f->count_off);
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++) {
            json_t *s = v[i] ? jstr(v[i]) : json_null();
            if (json_array_append_new(a, s) != 0) {
                json_decref(a);
                a = NULL;
            }
        }
        return a;
    }
    case RESULTS_F_ARRAY: {
        const char *arr = *(char *const *)at;
        size_t n = *(const size_t *)AT(p, f->count_off);
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++) {
            json_t *o = write_obj(f->sub, arr + i * f->sub->size, false);
            if (!o || json_array_append_new(a, o) != 0) {
                json_decref(a);
                a = NULL;
            }
        }
        return a;
    }
    case RESULTS_F_STRUCT:
        return write_obj(f->sub, at, false);
    }
    return NULL;
}

static json_t *write_obj(const results_type *t, const void *p, bool skip_scenarios)
{
    if (t->flat) return write_field(&t->fields[0], p);
    json_t *o = json_object();
    if (!o) return NULL;
    for (size_t i = 0; i < t->nfields; i++) {
        const results_field *f = &t->fields[i];
        if (skip_scenarios && f->sub == &results_type_scenario) continue;
        if (f->type == RESULTS_F_STR && !*(char *const *)AT(p, f->off)) continue;
        json_t *v = write_field(f, p);
        if (!v || json_object_set_new(o, f->name, v) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static int dump_cb(const char *buf, size_t size, void *data)
{
    return hx_buf_append(data, buf, size) ? 0 : -1;
}

/* Serialise j into a fresh hx_malloc'd string ending in a newline when pretty or a journal line;
 * consumes j. */
static char *dump_json(json_t *j, bool pretty, bool newline, hx_err *e)
{
    hx_buf b;
    hx_buf_init(&b);
    size_t flags =
        JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17) | (pretty ? JSON_INDENT(2) : JSON_COMPACT);
    int rc = j ? json_dump_callback(j, dump_cb, &b, flags) : -1;
    json_decref(j);
    if (rc != 0 || b.oom || (newline && !hx_buf_putc(&b, '\n')) || !b.data) {
        hx_buf_release(&b);
        hx_fail(e, HX_ENOMEM, "out of memory serialising the run");
        return NULL;
    }
    return hx_buf_steal(&b);
}

char *runjson_dump(const results_run *r, bool pretty, hx_err *e)
{
    return dump_json(write_obj(&results_type_run, r, false), pretty, pretty, e);
}

int runjson_write(const results_run *r, const char *path, hx_err *e)
{
    char *text = runjson_dump(r, true, e);
    if (!text) return hx_wrap(e, "cannot write '%s'", path);
    int rc = hx_write_atomic(path, text, strlen(text), e);
    hx_free(text);
    return rc;
}

/* ---- reader ---- */

/* Where the reader is, for messages: "scenarios[2].checks[0].status". */
typedef struct rpath {
    const char *name; /* file name */
    char buf[512];    /* current JSON path */
    size_t len;
} rpath;

static size_t rpath_add(rpath *rp, int n)
{
    size_t old = rp->len;
    if (n > 0)
        rp->len = rp->len + (size_t)n < sizeof rp->buf ? rp->len + (size_t)n : sizeof rp->buf - 1;
    return old;
}

/* Descend into key (returns the length to pop back to). */
static size_t rpath_key(rpath *rp, const char *key)
{
    return rpath_add(
        rp, snprintf(rp->buf + rp->len, sizeof rp->buf - rp->len, "%s%s", rp->len ? "." : "", key));
}

/* Descend into element idx. */
static size_t rpath_idx(rpath *rp, size_t idx)
{
    return rpath_add(rp, snprintf(rp->buf + rp->len, sizeof rp->buf - rp->len, "[%zu]", idx));
}

static void rpath_pop(rpath *rp, size_t old)
{
    rp->len = old;
    rp->buf[old] = '\0';
}

static int bad(rpath *rp, hx_err *e, const char *what)
{
    return hx_fail(e, HX_EUSAGE, "%s: %s: %s; is it a run.json written by harness?", rp->name,
                   rp->len ? rp->buf : "(top level)", what);
}

static int oom(rpath *rp, hx_err *e)
{
    return hx_fail(e, HX_ENOMEM, "out of memory reading '%s'", rp->name);
}

static int read_obj(const results_type *t, const json_t *j, void *p, rpath *rp, hx_err *e);

static int read_str(const json_t *v, char **slot, rpath *rp, hx_err *e)
{
    if (json_is_null(v)) return 0;
    if (!json_is_string(v)) return bad(rp, e, "expected a string");
    *slot = hx_strndup(json_string_value(v), json_string_length(v));
    return *slot ? 0 : oom(rp, e);
}

static int read_i64(const json_t *v, int64_t lo, int64_t hi, int64_t *out, rpath *rp, hx_err *e)
{
    int64_t x;
    if (json_is_integer(v)) {
        x = (int64_t)json_integer_value(v);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d == floor(d) && d >= -9.2e18 && d <= 9.2e18))
            return bad(rp, e, "expected an integer");
        x = (int64_t)d;
    } else {
        return bad(rp, e, "expected an integer");
    }
    if (x < lo || x > hi) return bad(rp, e, "integer out of range");
    *out = x;
    return 0;
}

static int read_array(const results_field *f, const json_t *v, void *p, rpath *rp, hx_err *e)
{
    if (json_is_null(v)) return 0;
    if (!json_is_array(v)) return bad(rp, e, "expected an array");
    size_t n = json_array_size(v);
    if (n == 0) return 0;
    bool strv = f->type == RESULTS_F_STRV;
    size_t sz = strv ? sizeof(char *) : f->sub->size;
    char *arr = hx_calloc(results_array_cap(n), sz);
    if (!arr) return oom(rp, e);
    /* Hand the array to the model first, so a failure below is freed with the run. */
    *(char **)AT(p, f->off) = arr;
    size_t *count = (size_t *)AT(p, f->count_off);
    for (size_t i = 0; i < n; i++) {
        size_t old = rpath_idx(rp, i);
        const json_t *el = json_array_get(v, i);
        (*count)++;
        int rc = strv ? read_str(el, (char **)(arr + i * sz), rp, e)
                      : read_obj(f->sub, el, arr + i * sz, rp, e);
        if (rc) return rc;
        rpath_pop(rp, old);
    }
    return 0;
}

static int read_field(const results_field *f, const json_t *v, void *p, rpath *rp, hx_err *e)
{
    char *at = AT(p, f->off);
    int64_t x;
    int rc;
    switch (f->type) {
    case RESULTS_F_STR:
        return read_str(v, (char **)at, rp, e);
    case RESULTS_F_F64:
        if (json_is_null(v)) {
            *(double *)at = NAN;
            return 0;
        }
        if (!json_is_number(v)) return bad(rp, e, "expected a number");
        *(double *)at = json_number_value(v);
        return 0;
    case RESULTS_F_I64:
        return read_i64(v, INT64_MIN, INT64_MAX, (int64_t *)at, rp, e);
    case RESULTS_F_INT:
        if ((rc = read_i64(v, INT_MIN, INT_MAX, &x, rp, e))) return rc;
        *(int *)at = (int)x;
        return 0;
    case RESULTS_F_U64STR: {
        /* A string of decimal digits; an integer is accepted from hand-written files. */
        if (json_is_integer(v) && json_integer_value(v) >= 0) {
            *(uint64_t *)at = (uint64_t)json_integer_value(v);
            return 0;
        }
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        char *end;
        errno = 0;
        unsigned long long u = strtoull(s, &end, 10);
        if (!*s || *end || *s == '-' || *s == '+' || *s == ' ' || errno == ERANGE)
            return bad(rp, e, "expected an unsigned integer as a decimal string");
        *(uint64_t *)at = (uint64_t)u;
        return 0;
    }
    case RESULTS_F_BOOL:
        if (!json_is_boolean(v)) return bad(rp, e, "expected true or false");
        *(bool *)at = json_is_true(v);
        return 0;
    case RESULTS_F_ENUM: {
        if (!json_is_string(v)) return bad(rp, e, "expected a string");
        const char *s = json_string_value(v);
        for (int i = 0; f->enum_names[i]; i++)
            if (strcmp(s, f->enum_names[i]) == 0) {
                *(int *)at = i;
                return 0;
            }
        char msg[160];
        const char *hint = hx_suggest(s, f->enum_names);
        snprintf(msg, sizeof msg, "unknown value '%.40s'%s%s%s", s, hint ? " (did you mean '" : "",
                 hint ? hint : "", hint ? "'?)" : "");
        return bad(rp, e, msg);
    }
    case RESULTS_F_STRV:
    case RESULTS_F_ARRAY:
        return read_array(f, v, p, rp, e);
    case RESULTS_F_STRUCT:
        return json_is_null(v) ? 0 : read_obj(f->sub, v, at, rp, e);
    }
    return 0;
}

/* Numbers that default to "absent" rather than 0 when a key is missing. */
static void set_nan_defaults(const results_type *t, void *p)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (t->fields[i].type == RESULTS_F_F64) *(double *)AT(p, t->fields[i].off) = NAN;
}

static int read_obj(const results_type *t, const json_t *j, void *p, rpath *rp, hx_err *e)
{
    set_nan_defaults(t, p);
    if (t->flat) {
        size_t old = rpath_key(rp, t->fields[0].name);
        int rc = read_field(&t->fields[0], j, p, rp, e);
        if (!rc) rpath_pop(rp, old);
        return rc;
    }
    if (!json_is_object(j)) return bad(rp, e, "expected an object");
    for (size_t i = 0; i < t->nfields; i++) {
        const results_field *f = &t->fields[i];
        const json_t *v = json_object_get(j, f->name);
        if (!v) continue;
        size_t old = rpath_key(rp, f->name);
        int rc = read_field(f, v, p, rp, e);
        if (rc) return rc;
        rpath_pop(rp, old);
    }
    return 0;
}

static json_t *load(const char *text, size_t len, const char *name, long line, hx_err *e)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        if (line > 0)
            hx_fail(e, HX_EUSAGE, "%s:%ld: invalid JSON: %s", name, line, je.text);
        else
            hx_fail(e, HX_EUSAGE, "%s:%d:%d: invalid JSON: %s", name, je.line, je.column, je.text);
    }
    return j;
}

static int check_schema(const json_t *s, const char *name, hx_err *e)
{
    if (!json_is_string(s))
        return hx_fail(e, HX_EUSAGE, "%s: no \"schema\" key; is it a run.json written by harness?",
                       name);
    if (strcmp(json_string_value(s), RESULTS_SCHEMA) != 0)
        return hx_fail(e, HX_EUSAGE,
                       "%s: schema '%.60s' is not one this harness reads (%s); render it with the "
                       "harness version that wrote it",
                       name, json_string_value(s), RESULTS_SCHEMA);
    return 0;
}

static int parse_run(const json_t *j, const char *name, results_run **out, hx_err *e)
{
    *out = NULL;
    if (!json_is_object(j))
        return hx_fail(e, HX_EUSAGE, "%s: expected a JSON object at the top level", name);
    int rc = check_schema(json_object_get(j, "schema"), name, e);
    if (rc) return rc;
    results_run *r = hx_calloc(1, sizeof *r);
    if (!r) return hx_fail(e, HX_ENOMEM, "out of memory reading '%s'", name);
    rpath rp = {.name = name};
    rc = read_obj(&results_type_run, j, r, &rp, e);
    if (rc) {
        results_run_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int runjson_parse(const char *text, size_t len, const char *name, results_run **out, hx_err *e)
{
    *out = NULL;
    json_t *j = load(text, len, name, 0, e);
    if (!j) return e ? e->code : HX_EUSAGE;
    int rc = parse_run(j, name, out, e);
    json_decref(j);
    return rc;
}

int runjson_read(const char *path, results_run **out, hx_err *e)
{
    char *text;
    size_t len;
    *out = NULL;
    int rc = hx_read_input(path, HX_IN_RUN, &text, &len, e);
    if (rc) return rc;
    rc = runjson_parse(text, len, path, out, e);
    hx_free(text);
    return rc;
}

/* ---- journal ---- */

struct runjson_journal {
    int fd;             /* O_APPEND */
    char *path;         /* for messages */
    pthread_mutex_t mu; /* one line at a time, even if a write(2) comes back short */
};

static int write_line(runjson_journal *j, json_t *o, hx_err *e)
{
    char *text = dump_json(o, false, true, e);
    if (!text) return e ? e->code : HX_ENOMEM;
    size_t len = strlen(text);
    int rc = 0;
    pthread_mutex_lock(&j->mu);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(j->fd, text + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            rc = hx_fail(e, HX_EIO, "cannot append to '%s': %s", j->path, strerror(errno));
            break;
        }
        off += (size_t)w;
    }
    if (!rc && fdatasync(j->fd) != 0)
        rc = hx_fail(e, HX_EIO, "cannot sync '%s': %s", j->path, strerror(errno));
    pthread_mutex_unlock(&j->mu);
    hx_free(text);
    return rc;
}

/* Make a new file's directory entry durable, so the journal survives a machine crash too. */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? hx_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : NULL;
    int fd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    hx_free(dir);
}

int runjson_journal_open(const char *path, const results_run *r, runjson_journal **out, hx_err *e)
{
    *out = NULL;
    runjson_journal *j = hx_calloc(1, sizeof *j);
    char *p = hx_strdup(path);
    if (!j || !p) {
        hx_free(j);
        hx_free(p);
        return hx_fail(e, HX_ENOMEM, "out of memory opening '%s'", path);
    }
    j->path = p;
    j->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (j->fd < 0) {
        int rc = hx_fail(e, HX_EIO, "cannot create the journal '%s': %s", path, strerror(errno));
        hx_free(j->path);
        hx_free(j);
        return rc;
    }
    pthread_mutex_init(&j->mu, NULL);
    sync_parent_dir(path);
    json_t *hdr = json_object();
    json_t *body = write_obj(&results_type_run, r, true);
    int rc = 0;
    if (!hdr || !body || json_object_set_new(hdr, "journal", json_string(RESULTS_SCHEMA)) != 0 ||
        json_object_set_new(hdr, "run", body) != 0) {
        if (!hdr || !json_object_get(hdr, "run")) json_decref(body);
        json_decref(hdr);
        rc = hx_fail(e, HX_ENOMEM, "out of memory writing '%s'", path);
    } else {
        rc = write_line(j, hdr, e);
    }
    if (rc) {
        runjson_journal_close(j);
        return rc;
    }
    *out = j;
    return 0;
}

int runjson_journal_append(runjson_journal *j, const results_scenario *sc, hx_err *e)
{
    json_t *body = write_obj(&results_type_scenario, sc, false);
    json_t *o = json_object();
    if (!body || !o || json_object_set_new(o, "scenario", body) != 0) {
        if (!o || !json_object_get(o, "scenario")) json_decref(body);
        json_decref(o);
        return hx_fail(e, HX_ENOMEM, "out of memory writing '%s'", j->path);
    }
    return write_line(j, o, e);
}

void runjson_journal_close(runjson_journal *j)
{
    if (!j) return;
    close(j->fd);
    pthread_mutex_destroy(&j->mu);
    hx_free(j->path);
    hx_free(j);
}

/* Parse one journal line (1-based number lineno) into *r: the header on line 1, scenarios after.
 * A last line that is not even JSON is torn: counted, not an error. */
static int journal_line(const char *s, size_t len, const char *name, long lineno, bool last,
                        results_run **r, size_t *torn, hx_err *e)
{
    if (last && lineno > 1) {
        json_t *j = json_loadb(s, len, JSON_REJECT_DUPLICATES, NULL);
        if (!j) {
            (*torn)++;
            return 0;
        }
        json_decref(j);
    }
    json_t *j = load(s, len, name, lineno, e);
    if (!j) return e ? e->code : HX_EUSAGE;
    int rc = 0;
    if (lineno == 1) {
        if (!json_is_object(j) || !json_is_string(json_object_get(j, "journal")))
            rc = hx_fail(e, HX_EUSAGE, "%s:1: not a harness journal (no \"journal\" key)", name);
        else if ((rc = check_schema(json_object_get(j, "journal"), name, e)) == 0)
            rc = parse_run(json_object_get(j, "run"), name, r, e);
    } else if (!*r) {
        /* line 1 was blank: no header, so nothing to add a scenario to */
        rc =
            hx_fail(e, HX_EUSAGE, "%s:1: not a harness journal (no \"journal\" header line)", name);
    } else {
        const json_t *body = json_is_object(j) ? json_object_get(j, "scenario") : NULL;
        char where[64];
        snprintf(where, sizeof where, "%.40s:%ld", name, lineno);
        rpath rp = {.name = where};
        results_scenario *sc = body ? results_scenario_add(*r, NULL) : NULL;
        if (!body)
            rc = hx_fail(e, HX_EUSAGE, "%s:%ld: expected a {\"scenario\": ...} line", name, lineno);
        else if (!sc)
            rc = hx_fail(e, HX_ENOMEM, "out of memory reading '%s'", name);
        else
            rc = read_obj(&results_type_scenario, body, sc, &rp, e);
    }
    json_decref(j);
    return rc;
}

int runjson_journal_parse(const char *text, size_t len, const char *name, results_run **out,
                          size_t *torn, hx_err *e)
{
    size_t ntorn = 0;
    results_run *r = NULL;
    long lineno = 0;
    int rc = 0;
    *out = NULL;
    for (size_t pos = 0; pos < len && !rc;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        lineno++;
        if (end > pos)
            rc = journal_line(text + pos, end - pos, name, lineno, end + 1 >= len, &r, &ntorn, e);
        pos = end + 1;
    }
    if (!rc && !r)
        rc = hx_fail(e, HX_EUSAGE, "%s: the journal is empty (the run stopped before it began)",
                     name);
    if (rc) {
        results_run_free(r);
        return rc;
    }
    r->partial = true;
    hx_free(r->finished);
    r->finished = NULL;
    results_run_settle(r);
    if (torn) *torn = ntorn;
    *out = r;
    return 0;
}

int runjson_journal_read(const char *path, results_run **out, size_t *torn, hx_err *e)
{
    char *text;
    size_t len;
    *out = NULL;
    int rc = hx_read_input(path, HX_IN_RUN, &text, &len, e);
    if (rc) return rc;
    rc = runjson_journal_parse(text, len, path, out, torn, e);
    hx_free(text);
    return rc;
}
