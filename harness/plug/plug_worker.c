/* plug_worker.c - isolation: each plugin check runs in a forked worker that reports back over a
 * pipe; the parent enforces a timeout and turns a crash, an exit(), a hang or garbage on the pipe
 * into an `error` result naming what happened, so one bad plugin cannot take the run down.
 *
 * Pipe protocol (worker -> parent), one frame after another:
 *     'H' 'X' type 0  | uint32 payload length (host byte order: same machine) | payload
 *     type 'L': a log line; payload = level byte, then the text (no NUL)
 *     type 'R': the result, last frame; payload = JSON (see result_to_json)
 * Anything else, an oversized frame or a result that is not the JSON we write, is a protocol
 * error: the parent kills the worker. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <sys/wait.h>
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

static void worker_main(int fd, const plug_plugin *p, const hx_plugin_check *c,
                        const plan_param *params, size_t nparams, const plug_run_opts *o,
                        int64_t timeout_ms)
{
    /* Leave the parent's signal plumbing behind: Ctrl-C is the parent's to handle, and it kills
     * this process group when it needs to. */
    /* Crash handlers too (a test framework's or a crash reporter's): a crash must end this
     * process with its signal so the parent can name it. */
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* A plugin's printf must not land in the harness's own stdout (reports may be going there). */
    dup2(STDERR_FILENO, STDOUT_FILENO);

    plug_result r;
    plug_result_init(&r);
    PGconn *conn = NULL;
    char err[1024] = "";
    if (o->conn && !(conn = reconnect(o->conn, timeout_ms, err, sizeof err))) {
        plug_result_set(&r, PLUG_ERROR, NULL, NULL, err);
    } else {
        hx_err e = {0};
        if (plug_host_run(p, c, params, nparams, o, conn, fd, &r, &e) != 0)
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

static void kill_worker(pid_t pid)
{
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
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
    } else if (WIFEXITED(status)) {
        hx_buf_printf(b, "exited with status %d", WEXITSTATUS(status));
    } else {
        hx_buf_printf(b, "ended with wait status %d", status);
    }
}

int plug_run_isolated(const plug_plugin *p, const hx_plugin_check *c, const plan_param *params,
                      size_t nparams, const plug_run_opts *o, plug_result *out, hx_err *e)
{
    int64_t timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : PLUG_DEFAULT_TIMEOUT_MS;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return hx_fail(e, HX_EINFRA, "cannot create a pipe for plugin check '%s.%s': %s", p->name,
                       c->name, strerror(errno));
    /* Unflushed stdio would otherwise be written twice if the plugin calls exit(). */
    fflush(NULL);
    int64_t t0 = hx_now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(pfd[0]);
        close(pfd[1]);
        return hx_fail(e, HX_EINFRA, "cannot fork a worker for plugin check '%s.%s': %s", p->name,
                       c->name, strerror(err));
    }
    if (pid == 0) {
        close(pfd[0]);
        setpgid(0, 0);
        worker_main(pfd[1], p, c, params, nparams, o, timeout_ms);
        _exit(70); /* not reached */
    }
    setpgid(pid, pid); /* both sides, so the group exists before either relies on it */
    close(pfd[1]);

    int64_t deadline = t0 + timeout_ms * 1000000;
    hx_buf in;
    hx_buf_init(&in);
    bool got_result = false, timed_out = false, eof = false;
    char proto[512] = "";
    char rbuf[65536];
    while (!eof && !got_result && !proto[0]) {
        int64_t left_ms = (deadline - hx_now_ns()) / 1000000;
        if (left_ms <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
        int pr = poll(&pf, 1, left_ms > 1000 ? 1000 : (int)left_ms);
        if (pr < 0 && errno != EINTR) {
            snprintf(proto, sizeof proto, "poll failed: %s", strerror(errno));
            break;
        }
        if (pr <= 0) continue;
        ssize_t nr = read(pfd[0], rbuf, sizeof rbuf);
        if (nr < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (nr <= 0) {
            eof = true;
        } else if (!hx_buf_append(&in, rbuf, (size_t)nr)) {
            snprintf(proto, sizeof proto, "out of memory reading the worker");
            break;
        }
        /* consume whole frames */
        size_t off = 0;
        while (!proto[0] && in.len - off >= FRAME_HDR) {
            const unsigned char *h = (const unsigned char *)in.data + off;
            uint32_t len;
            memcpy(&len, h + 4, 4);
            if (h[0] != 'H' || h[1] != 'X' || h[3] != 0 || (h[2] != 'L' && h[2] != 'R')) {
                snprintf(proto, sizeof proto, "bad frame header at byte %zu (0x%02x%02x%02x%02x)",
                         off, h[0], h[1], h[2], h[3]);
                break;
            }
            if ((h[2] == 'L' && (len == 0 || len > MAX_LOG_FRAME)) ||
                (h[2] == 'R' && len > MAX_RESULT_FRAME)) {
                snprintf(proto, sizeof proto, "frame of %u bytes is out of bounds", (unsigned)len);
                break;
            }
            if (in.len - off - FRAME_HDR < len) break; /* wait for the rest */
            const char *payload = in.data + off + FRAME_HDR;
            if (h[2] == 'L') {
                char *text = hx_strndup(payload + 1, len - 1);
                if (text) {
                    int level = (unsigned char)payload[0];
                    plug_result_add_log(out, level, text);
                    if (o->on_log) o->on_log(o->log_ud, p->name, c->name, level, text);
                    hx_free(text);
                }
            } else {
                plug_result tmp;
                plug_result_init(&tmp);
                bool ok = result_from_json(payload, len, &tmp, proto, sizeof proto);
                if (ok) {
                    /* out holds only the log lines so far */
                    tmp.logs = out->logs;
                    tmp.nlogs = out->nlogs;
                    *out = tmp;
                    got_result = true;
                } else {
                    plug_result_release(&tmp);
                    break;
                }
            }
            off += FRAME_HDR + len;
        }
        if (off > 0 && !proto[0]) {
            memmove(in.data, in.data + off, in.len - off);
            in.len -= off;
        }
    }
    if (got_result && in.len > 0 && !proto[0])
        snprintf(proto, sizeof proto, "bytes after the result frame");
    if (eof && !got_result && in.len > 0 && !proto[0])
        snprintf(proto, sizeof proto, "the pipe closed in the middle of a frame");
    hx_buf_release(&in);
    close(pfd[0]);

    int status = 0;
    if (timed_out || proto[0]) {
        kill_worker(pid);
    } else if (got_result) {
        /* The worker exits right after its result; give it the rest of the deadline. */
        while (hx_now_ns() < deadline) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid) goto reaped;
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        kill_worker(pid);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
reaped:;
    int64_t wall = hx_now_ns() - t0;
    hx_buf m;
    hx_buf_init(&m);
    hx_buf_printf(&m, "plugin check '%s.%s' ", p->name, c->name);
    if (timed_out) {
        hx_buf_printf(&m,
                      "timed out after %lld ms; its worker was killed (SIGKILL). Raise the "
                      "timeout, or run with --no-isolate under a debugger to see where it "
                      "hangs",
                      (long long)timeout_ms);
    } else if (proto[0]) {
        hx_buf_printf(&m,
                      "broke the worker pipe (protocol error: %s); its worker was killed. "
                      "Does the plugin write to file descriptors it does not own?",
                      proto);
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
