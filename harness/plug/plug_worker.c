/* plug_worker.c - isolation: each plugin check runs in a contained worker (plug_contain.c) that
 * loads the plugin itself (its constructors and init run there) and reports back over a pipe;
 * the parent enforces a timeout and turns a crash, an exit(), a hang or garbage on the pipe into
 * an `error` result naming what happened, so one bad plugin cannot take the run down. Loading a
 * plugin for the harness (plug_open) reads its descriptor the same way.
 *
 * Pipe protocol (worker -> parent), one frame after another:
 *     'H' 'X' type 0  | uint32 payload length (host byte order: same machine) | payload
 *     type 'L': a log line; payload = level byte, then the text (no NUL)
 *     type 'R': a check's result, last frame; payload = JSON (see result_to_json)
 *     type 'D': a plugin's descriptor, last frame; payload = JSON (plug_descriptor_to_json)
 *     type 'E': loading failed, last frame; payload = hx code byte (negated), then the message
 * Anything else, an oversized frame or a last frame that is not what we write, is a protocol
 * error: the parent stops the worker. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "plug.h"

#define FRAME_HDR 8
#define MAX_LOG_FRAME (64u * 1024)
#define MAX_RESULT_FRAME (256u * 1024 * 1024)

/* ---- worker side ---- */

static bool write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Strings in r are already valid UTF-8 (plug_clean_string), so json_string cannot refuse them. */
static char *result_to_json(const plug_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "status", json_integer(r->status));
    json_object_set_new(o, "expected", str_or_null(r->expected));
    json_object_set_new(o, "actual", str_or_null(r->actual));
    json_object_set_new(o, "message", str_or_null(r->message));
    json_t *s = json_array();
    for (size_t i = 0; i < r->nsamples; i++)
        json_array_append_new(s, json_string(r->samples[i]));
    json_object_set_new(o, "samples", s);
    json_object_set_new(o, "samples_total", json_integer((json_int_t)r->samples_total));
    json_t *m = json_array();
    for (size_t i = 0; i < r->nmetrics; i++)
        json_array_append_new(m, json_pack("{s:s, s:f, s:s}", "name", r->metrics[i].name, "value",
                                           r->metrics[i].value, "unit", r->metrics[i].unit));
    json_object_set_new(o, "metrics", m);
    json_t *h = json_array();
    for (size_t i = 0; i < r->nhists; i++) {
        json_t *v = json_array();
        for (size_t k = 0; k < r->hists[i].n; k++)
            json_array_append_new(v, json_real(r->hists[i].values[k]));
        json_array_append_new(h, json_pack("{s:s, s:o}", "name", r->hists[i].name, "values", v));
    }
    json_object_set_new(o, "hists", h);
    json_object_set_new(o, "wall_ns", json_integer(r->wall_ns));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static void send_frame(int fd, char type, const char *payload, size_t n)
{
    unsigned char hdr[FRAME_HDR] = {'H', 'X', (unsigned char)type, 0};
    uint32_t len = (uint32_t)n;
    memcpy(hdr + 4, &len, 4);
    if (write_all(fd, hdr, sizeof hdr)) write_all(fd, payload, n);
}

/* The worker's own session: sharing the parent's socket would leave it mid-protocol if the
 * worker died in a query. The statement timeout keeps a killed worker's query from running on. */
static PGconn *reconnect(PGconn *parent, int64_t timeout_ms, char *err, size_t errlen)
{
    PQconninfoOption *opts = PQconninfo(parent);
    if (!opts) {
        snprintf(err, errlen, "cannot read the connection parameters");
        return NULL;
    }
    size_t n = 0;
    for (PQconninfoOption *q = opts; q->keyword; q++)
        n++;
    const char **kw = calloc(n + 1, sizeof *kw);
    const char **val = calloc(n + 1, sizeof *val);
    size_t k = 0;
    for (PQconninfoOption *q = opts; kw && val && q->keyword; q++)
        if (q->val && *q->val) {
            kw[k] = q->keyword;
            val[k++] = q->val;
        }
    PGconn *c = kw && val ? PQconnectdbParams(kw, val, 0) : NULL;
    free(kw);
    free(val);
    PQconninfoFree(opts);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "the plugin worker cannot connect to the database: %s",
                 c ? PQerrorMessage(c) : "out of memory");
        PQfinish(c);
        return NULL;
    }
    char sql[64];
    snprintf(sql, sizeof sql, "SET statement_timeout = %lld", (long long)timeout_ms);
    PQclear(PQexec(c, sql));
    return c;
}

/* What a check's worker runs. */
struct check_job {
    const plug_plugin *p;
    const hx_plugin_check *c; /* p's (its name is looked up again in the worker's load) */
    const plan_param *params;
    size_t nparams;
    const plug_run_opts *o;
    int64_t timeout_ms;
};

/* The plugin's process of a check's worker: load the plugin here (unless the harness already
 * did), run the check, send the result. */
static void check_worker(void *arg, int fd)
{
    struct check_job *j = arg;
    /* The allocation seam is the harness's: a test that makes it fail means the harness. */
    hx_alloc_fail_after(-1);
    plug_result r;
    plug_result_init(&r);
    PGconn *conn = NULL;
    plug_plugin *here = NULL;
    const plug_plugin *p = j->p;
    const hx_plugin_check *c = j->c;
    hx_err e = {0};
    char err[1024] = "";
    if (!p->handle) {
        if (plug_open_file(p->path, PLUG_LOAD_HERE, &here, &e) != 0 ||
            !(c = plug_find_check(here, j->c->name, &e)))
            snprintf(err, sizeof err, "%s", e.msg);
        p = here;
    }
    if (err[0]) {
        plug_result_set(&r, PLUG_ERROR, NULL, NULL, err);
    } else if (j->o->conn && !(conn = reconnect(j->o->conn, j->timeout_ms, err, sizeof err))) {
        plug_result_set(&r, PLUG_ERROR, NULL, NULL, err);
    } else if (plug_host_run(p, c, j->params, j->nparams, j->o, conn, fd, &r, &e) != 0) {
        plug_result_set(&r, PLUG_ERROR, NULL, NULL, e.msg);
    }
    char *text = result_to_json(&r);
    int status = text ? 0 : 70;
    if (text) send_frame(fd, 'R', text, strlen(text));
    /* Free what this process made (so valgrind's leak check of workers stays meaningful), then
     * _exit: the parent's atexit handlers and stdio buffers are not ours to run or flush. */
    free(text);
    plug_result_release(&r);
    PQfinish(conn);
    plug_close(here);
    _exit(status);
}

/* The plugin's process of a loading worker: load the plugin here, send its descriptor (or why
 * it did not load). */
static void descriptor_worker(void *arg, int fd)
{
    const char *path = arg;
    hx_alloc_fail_after(-1);
    plug_plugin *p = NULL;
    hx_err e = {0};
    int status = 0;
    if (plug_open_file(path, PLUG_LOAD_HERE, &p, &e) != 0) {
        size_t n = strlen(e.msg);
        char *payload = malloc(n + 1);
        if (payload) {
            payload[0] = (char)(unsigned char)-e.code;
            memcpy(payload + 1, e.msg, n);
            send_frame(fd, 'E', payload, n + 1);
        }
        free(payload);
    } else {
        char *text = plug_descriptor_to_json(p->desc);
        if (text) send_frame(fd, 'D', text, strlen(text));
        status = text ? 0 : 70;
        free(text);
    }
    plug_close(p);
    _exit(status);
}

/* ---- parent side ---- */

static const char *jstr(json_t *o, const char *k, bool *bad)
{
    json_t *v = json_object_get(o, k);
    if (json_is_null(v) || !v) return NULL;
    if (!json_is_string(v)) *bad = true;
    return json_string_value(v);
}

/* Read the worker's result; false when it is not what result_to_json writes. */
static bool result_from_json(const char *text, size_t n, plug_result *r, char *why, size_t whylen)
{
    json_error_t je;
    json_t *o = json_loadb(text, n, 0, &je);
    if (!json_is_object(o)) {
        snprintf(why, whylen, "result is not a JSON object (%s)", o ? "wrong type" : je.text);
        json_decref(o);
        return false;
    }
    bool bad = false;
    json_t *st = json_object_get(o, "status");
    json_int_t s = json_is_integer(st) ? json_integer_value(st) : -1;
    const char *msg = jstr(o, "message", &bad);
    if (s < 0 || s > 2 || !msg) bad = true;
    if (!bad)
        plug_result_set(r, (plug_status)s, jstr(o, "expected", &bad), jstr(o, "actual", &bad), msg);
    json_t *samples = json_object_get(o, "samples");
    for (size_t i = 0; !bad && json_is_array(samples) && i < json_array_size(samples); i++) {
        const char *sv = json_string_value(json_array_get(samples, i));
        if (!sv) {
            bad = true;
            break;
        }
        if (r->nsamples >= PLUG_MAX_SAMPLES) break;
        if (!r->samples && !(r->samples = hx_calloc(PLUG_MAX_SAMPLES, sizeof *r->samples))) break;
        char *cs = plug_clean_string(sv, 512);
        if (cs) r->samples[r->nsamples++] = cs;
    }
    json_t *tot = json_object_get(o, "samples_total");
    r->samples_total = json_is_integer(tot) && json_integer_value(tot) >= 0
                           ? (size_t)json_integer_value(tot)
                           : r->nsamples;
    json_t *m = json_object_get(o, "metrics");
    for (size_t i = 0; !bad && json_is_array(m) && i < json_array_size(m); i++) {
        json_t *mi = json_array_get(m, i);
        const char *name = json_string_value(json_object_get(mi, "name"));
        const char *unit = json_string_value(json_object_get(mi, "unit"));
        json_t *val = json_object_get(mi, "value");
        if (!name || !json_is_number(val)) {
            bad = true;
            break;
        }
        plug_metric *nm = hx_realloc(r->metrics, (r->nmetrics + 1) * sizeof *nm);
        if (!nm) break;
        r->metrics = nm;
        nm[r->nmetrics].name = plug_clean_string(name, 128);
        nm[r->nmetrics].unit = plug_clean_string(unit ? unit : "", 32);
        nm[r->nmetrics].value = json_number_value(val);
        r->nmetrics++;
    }
    json_t *h = json_object_get(o, "hists");
    for (size_t i = 0; !bad && json_is_array(h) && i < json_array_size(h); i++) {
        json_t *hi = json_array_get(h, i);
        const char *name = json_string_value(json_object_get(hi, "name"));
        json_t *vals = json_object_get(hi, "values");
        if (!name || !json_is_array(vals)) {
            bad = true;
            break;
        }
        plug_series *ns = hx_realloc(r->hists, (r->nhists + 1) * sizeof *ns);
        if (!ns) break;
        r->hists = ns;
        plug_series *sr = &ns[r->nhists++];
        memset(sr, 0, sizeof *sr);
        sr->name = plug_clean_string(name, 128);
        size_t nv = json_array_size(vals);
        sr->values = nv ? hx_malloc(nv * sizeof *sr->values) : NULL;
        sr->cap = sr->values ? nv : 0;
        for (size_t k = 0; k < sr->cap; k++) {
            json_t *v = json_array_get(vals, k);
            if (!json_is_number(v)) {
                bad = true;
                break;
            }
            sr->values[sr->n++] = json_number_value(v);
        }
    }
    json_t *w = json_object_get(o, "wall_ns");
    if (json_is_integer(w)) r->wall_ns = json_integer_value(w);
    json_decref(o);
    if (bad) snprintf(why, whylen, "result JSON does not have the expected fields and types");
    return !bad;
}

static void describe_status(hx_buf *b, int status)
{
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        const char *desc = sigdescr_np(sig);
        if (abbrev)
            hx_buf_printf(b, "killed by signal SIG%s (%s)", abbrev, desc ? desc : "?");
        else
            hx_buf_printf(b, "killed by signal %d", sig);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == PLUG_WORKER_UNCONFINED) {
        hx_buf_puts(b, "could not confine itself (Landlock refused)");
    } else if (WIFEXITED(status)) {
        hx_buf_printf(b, "exited with status %d", WEXITSTATUS(status));
    } else {
        hx_buf_printf(b, "ended with wait status %d", status);
    }
}

/* What a worker sent: its log lines go to log(), its last frame is kept. */
struct pump {
    const char *plugin, *check; /* names for on_log */
    const plug_run_opts *o;     /* on_log, may be NULL */
    plug_result *logs;          /* where log lines are kept, may be NULL */
    char last;                  /* type of the last frame, 0 when none came */
    char *payload;              /* its payload (owned) */
    size_t len;
    bool timed_out, eof;
    char proto[512]; /* a protocol error, "" when none */
};

static bool last_frame(char type)
{
    return type == 'R' || type == 'D' || type == 'E';
}

/* Read frames from fd until a last frame, EOF, the deadline or a protocol error. */
static void pump(int fd, int64_t deadline, struct pump *pu)
{
    hx_buf in;
    hx_buf_init(&in);
    char rbuf[65536];
    while (!pu->eof && !pu->last && !pu->proto[0]) {
        int64_t left_ms = (deadline - hx_now_ns()) / 1000000;
        if (left_ms <= 0) {
            pu->timed_out = true;
            break;
        }
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int pr = poll(&pf, 1, left_ms > 1000 ? 1000 : (int)left_ms);
        if (pr < 0 && errno != EINTR) {
            snprintf(pu->proto, sizeof pu->proto, "poll failed: %s", strerror(errno));
            break;
        }
        if (pr <= 0) continue;
        ssize_t nr = read(fd, rbuf, sizeof rbuf);
        if (nr < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (nr <= 0) {
            pu->eof = true;
        } else if (!hx_buf_append(&in, rbuf, (size_t)nr)) {
            snprintf(pu->proto, sizeof pu->proto, "out of memory reading the worker");
            break;
        }
        /* consume whole frames */
        size_t off = 0;
        while (!pu->proto[0] && !pu->last && in.len - off >= FRAME_HDR) {
            const unsigned char *h = (const unsigned char *)in.data + off;
            uint32_t len;
            memcpy(&len, h + 4, 4);
            if (h[0] != 'H' || h[1] != 'X' || h[3] != 0 || (h[2] != 'L' && !last_frame(h[2]))) {
                snprintf(pu->proto, sizeof pu->proto,
                         "bad frame header at byte %zu (0x%02x%02x%02x%02x)", off, h[0], h[1], h[2],
                         h[3]);
                break;
            }
            if ((h[2] == 'L' && (len == 0 || len > MAX_LOG_FRAME)) ||
                (h[2] == 'E' && (len == 0 || len > MAX_LOG_FRAME)) ||
                (last_frame(h[2]) && len > MAX_RESULT_FRAME)) {
                snprintf(pu->proto, sizeof pu->proto, "frame of %u bytes is out of bounds",
                         (unsigned)len);
                break;
            }
            if (in.len - off - FRAME_HDR < len) break; /* wait for the rest */
            const char *payload = in.data + off + FRAME_HDR;
            if (h[2] == 'L') {
                char *text = pu->logs ? hx_strndup(payload + 1, len - 1) : NULL;
                if (text) {
                    int level = (unsigned char)payload[0];
                    plug_result_add_log(pu->logs, level, text);
                    if (pu->o && pu->o->on_log)
                        pu->o->on_log(pu->o->log_ud, pu->plugin, pu->check, level, text);
                    hx_free(text);
                }
            } else if (!(pu->payload = hx_strndup(payload, len))) {
                snprintf(pu->proto, sizeof pu->proto, "out of memory reading the worker");
            } else {
                pu->last = (char)h[2];
                pu->len = len;
            }
            off += FRAME_HDR + len;
        }
        if (off > 0 && !pu->proto[0]) {
            memmove(in.data, in.data + off, in.len - off);
            in.len -= off;
        }
    }
    if (pu->last && in.len > 0 && !pu->proto[0])
        snprintf(pu->proto, sizeof pu->proto, "bytes after the last frame");
    if (pu->eof && !pu->last && in.len > 0 && !pu->proto[0])
        snprintf(pu->proto, sizeof pu->proto, "the pipe closed in the middle of a frame");
    hx_buf_release(&in);
}

int plug_run_isolated(const plug_plugin *p, const hx_plugin_check *c, const plan_param *params,
                      size_t nparams, const plug_run_opts *o, plug_result *out, hx_err *e)
{
    int64_t timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : PLUG_DEFAULT_TIMEOUT_MS;
    struct check_job job = {p, c, params, nparams, o, timeout_ms};
    int64_t t0 = hx_now_ns();
    pid_t pid;
    int fd;
    hx_err se = {0};
    if (plug_spawn(check_worker, &job, false, &pid, &fd, &se) != 0)
        return hx_fail(e, se.code, "plugin check '%s.%s': %s", p->name, c->name, se.msg);

    int64_t deadline = t0 + timeout_ms * 1000000;
    struct pump pu = {.plugin = p->name, .check = c->name, .o = o, .logs = out};
    pump(fd, deadline, &pu);
    close(fd);
    bool got_result = false;
    if (pu.last == 'R') {
        plug_result tmp;
        plug_result_init(&tmp);
        if (result_from_json(pu.payload, pu.len, &tmp, pu.proto, sizeof pu.proto)) {
            /* out holds only the log lines so far */
            tmp.logs = out->logs;
            tmp.nlogs = out->nlogs;
            *out = tmp;
            got_result = true;
        } else {
            plug_result_release(&tmp);
        }
    } else if (pu.last && !pu.proto[0]) {
        snprintf(pu.proto, sizeof pu.proto, "a '%c' frame where a result belongs", pu.last);
    }
    hx_free(pu.payload);
    /* The worker exits right after its result; give it the rest of the deadline. */
    int64_t left_ms = (deadline - hx_now_ns()) / 1000000;
    int status = plug_reap(pid, left_ms > 0 ? left_ms : 0, pu.timed_out || pu.proto[0]);
    int64_t wall = hx_now_ns() - t0;
    hx_buf m;
    hx_buf_init(&m);
    hx_buf_printf(&m, "plugin check '%s.%s' ", p->name, c->name);
    if (pu.timed_out) {
        hx_buf_printf(&m,
                      "timed out after %lld ms; its worker was killed (SIGKILL). Raise the "
                      "timeout, or run with --no-isolate under a debugger to see where it "
                      "hangs",
                      (long long)timeout_ms);
    } else if (pu.proto[0]) {
        hx_buf_printf(&m,
                      "broke the worker pipe (protocol error: %s); its worker was killed. "
                      "Does the plugin write to file descriptors it does not own?",
                      pu.proto);
    } else if (got_result && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        hx_buf_release(&m);
        out->wall_ns = wall;
        return 0;
    } else {
        hx_buf_puts(&m, "crashed: its worker ");
        describe_status(&m, status);
        hx_buf_puts(&m, got_result ? " after reporting a result"
                                   : " before reporting a result; run with --no-isolate under a "
                                     "debugger to investigate");
    }
    if (m.oom) {
        hx_buf_release(&m);
        return hx_fail(e, HX_ENOMEM, "out of memory");
    }
    plug_result_set(out, PLUG_ERROR, NULL, NULL, m.data);
    hx_buf_release(&m);
    out->wall_ns = wall;
    return out->message ? 0 : hx_fail(e, HX_ENOMEM, "out of memory");
}

int plug_read_descriptor(plug_plugin *p, bool confine, hx_err *e)
{
    pid_t pid;
    int fd;
    hx_err se = {0};
    if (plug_spawn(descriptor_worker, p->path, confine, &pid, &fd, &se) != 0)
        return hx_fail(e, se.code, "plugin '%s': %s", p->path, se.msg);
    struct pump pu = {0};
    pump(fd, hx_now_ns() + (int64_t)PLUG_LOAD_TIMEOUT_MS * 1000000, &pu);
    close(fd);
    int status = plug_reap(pid, PLUG_LOAD_TIMEOUT_MS, pu.timed_out || pu.proto[0]);
    bool clean_exit = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    int rc;
    if (pu.last == 'D' && clean_exit && !pu.proto[0]) {
        rc = plug_descriptor_from_json(p, pu.payload, pu.len, e);
    } else if (pu.last == 'E' && !pu.proto[0]) {
        int code = -(int)(unsigned char)pu.payload[0];
        char *msg = plug_clean_string(pu.payload + 1, sizeof e->msg - 1);
        rc = code == HX_EUSAGE || code == HX_ENOMEM ? code : HX_EINFRA;
        hx_fail(e, rc, "%s", msg ? msg : "out of memory");
        hx_free(msg);
    } else {
        hx_buf m;
        hx_buf_init(&m);
        hx_buf_printf(&m, "plugin '%s' ", p->path);
        if (pu.timed_out)
            hx_buf_printf(&m, "did not load within %d ms", PLUG_LOAD_TIMEOUT_MS);
        else if (pu.proto[0] || (pu.last && pu.last != 'D'))
            hx_buf_printf(&m, "broke its loading worker's pipe (%s)",
                          pu.proto[0] ? pu.proto : "an unexpected frame");
        else {
            hx_buf_puts(&m, "crashed while loading: its worker ");
            describe_status(&m, status);
        }
        hx_buf_puts(&m, "; its constructors and init run in that worker, never in the harness. "
                        "Run it with --no-isolate under a debugger to investigate");
        rc = hx_fail(e, m.oom ? HX_ENOMEM : HX_EINFRA, "%s", m.oom ? "out of memory" : m.data);
        hx_buf_release(&m);
    }
    hx_free(pu.payload);
    return rc;
}
