/* jobs.c - `harness run --jobs N`: N scenarios at once, each in a worker process forked from the
 * engine after the services started and the solution was built. A scenario already has its own
 * database, role, landing and output folders and topics, so a worker runs it exactly as the
 * serial loop would (run_scenario), in a copy of the engine of its own: its own Lua state, its own
 * signal watcher, its own CPU and memory accounts. It writes its one-scenario run to
 * <out>/.jobs/<k>.json (run.json's form, read back exactly), and the engine adds the scenarios,
 * their seeds and datasets to the run and the journal in pack order, so run.json is the serial
 * run's apart from timings and resource figures.
 *
 * The console: a worker's stdout and stderr are a pipe to the engine, which prints whole lines
 * only, each prefixed with the scenario's name, so lines of parallel scenarios never mix.
 * Signals: a worker has a process group of its own (a terminal's Ctrl-C reaches the engine only);
 * the engine passes each SIGINT/SIGTERM on to every worker once (signals.c), and each stops its
 * solution, drops its database and exits as a serial run would; a worker dies with the engine
 * (PR_SET_PDEATHSIG). Scenarios that use Kafka run one at a time in the engine's own process
 * after the workers: librdkafka is not fork-safe (the in-process mock's threads stay behind in
 * the engine), and the mock's broker faults act on the whole cluster. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine_priv.h"

/* One worker process. */
typedef struct worker {
    pid_t pid;   /* 0: a free slot */
    size_t k;    /* its scenario: index into sel */
    int fd;      /* read end of its stdout and stderr */
    hx_buf line; /* the start of a line not yet complete */
} worker;

/* The parallel part of a run. */
typedef struct jobs {
    run_ctx *c;
    const size_t *sel; /* the selected scenarios, in pack order */
    size_t nsel;       /* entries in sel */
    char *dir;         /* <out>/.jobs: the workers' results */
    results_run **got; /* per scenario: its one-scenario run once it finished, else NULL */
    bool *done;        /* per scenario: it ended (got NULL: interrupted) */
    bool *added;       /* per scenario: added to c->run */
    worker w[RUN_MAX_JOBS];
    int nw;       /* slots in use at most (--jobs) */
    pid_t engine; /* our pid, for a worker to tell whether we are still there */
} jobs;

static const plan_scenario *scen_of(const jobs *j, size_t k)
{
    return &j->c->pack->scenarios[j->sel[k]];
}

/* Scenarios that touch Kafka (a topic, a topic check, a service whose latency is read from
 * topics, a plugin check that may read one) stay in this process; the rest go to workers. */
static bool in_process(const run_ctx *c, const plan_scenario *s)
{
    if (!c->kafka) return false;
    if (s->mode == PLAN_MODE_SERVICE) return true;
    const replay_target *k = replay_target_named(c->targets, "kafka");
    if (k && replay_target_used(k, s)) return true;
    for (size_t i = 0; i < s->nchecks; i++)
        if (s->checks[i].kind == PLAN_CHK_TOPIC || s->checks[i].kind == PLAN_CHK_PLUGIN)
            return true;
    return false;
}

static char *result_path(const jobs *j, size_t k)
{
    return hx_asprintf("%s/%zu.json", j->dir, k);
}

/* The worker: run scenario k into a run of its own, write it, exit 0 (130 when interrupted,
 * 3 when its result could not be written). Never returns. */
static void worker_main(jobs *j, size_t k, int out_fd, const sigset_t *mask)
{
    run_ctx *c = j->c;
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != j->engine) _exit(HX_EXIT_INTERRUPTED); /* the engine died meanwhile */
    for (int i = 0; i < RUN_MAX_JOBS; i++)
        if (j->w[i].pid && j->w[i].fd >= 0) close(j->w[i].fd); /* the other workers' pipes */
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    close(out_fd);
    run_signals_worker_init();
    pthread_sigmask(SIG_SETMASK, mask, NULL);
    c->journal = NULL; /* the engine's: it appends our scenario */
    size_t nplugins = c->nplugins;
    const plan_scenario *s = scen_of(j, k);
    results_run *part = results_run_new();
    results_scenario *rs = part ? results_scenario_add(part, s->name) : NULL;
    int code = HX_EXIT_INFRA;
    if (rs) {
        c->run = part; /* seeds and datasets land beside the scenario */
        int rc = run_scenario(c, s, rs);
        code = rc == HX_EINTR ? HX_EXIT_INTERRUPTED : 0;
    }
    if (!code) {
        hx_err e = {0};
        char *p = result_path(j, k);
        if (!p || runjson_write(part, p, &e) != 0) {
            hx_error("%s: cannot hand the result to the engine: %s", s->name,
                     p ? e.msg : "out of memory");
            code = HX_EXIT_INFRA;
        }
        hx_free(p);
    }
    for (size_t i = nplugins; i < c->nplugins; i++) /* plugins this scenario loaded */
        plug_close(c->plugins[i]);
    fflush(NULL);
    _exit(code);
}

/* Print one complete line of worker w, prefixed with its scenario, in one write. */
static void print_line(const jobs *j, const worker *w, const char *p, size_t n)
{
    hx_buf b;
    hx_buf_init(&b);
    hx_buf_printf(&b, "[%s] ", scen_of(j, w->k)->name);
    hx_buf_append(&b, p, n);
    hx_buf_putc(&b, '\n');
    for (size_t off = 0; !b.oom && off < b.len;) {
        ssize_t r = write(STDERR_FILENO, b.data + off, b.len - off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        off += (size_t)r;
    }
    hx_buf_release(&b);
}

/* Read what worker w wrote (its pipe does not block) and print its complete lines. Returns true
 * while more may come now; at the end of the pipe, or with last (the worker has exited), prints
 * what is left of a line and closes the pipe. */
static bool relay(const jobs *j, worker *w, bool last)
{
    for (;;) {
        char buf[4096];
        ssize_t r = read(w->fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r > 0) {
            hx_buf_append(&w->line, buf, (size_t)r);
            char *start = w->line.data, *nl;
            while ((nl = memchr(start, '\n', w->line.len - (size_t)(start - w->line.data)))) {
                print_line(j, w, start, (size_t)(nl - start));
                start = nl + 1;
            }
            size_t rest = w->line.len - (size_t)(start - w->line.data);
            memmove(w->line.data, start, rest);
            w->line.len = rest;
            w->line.data[rest] = '\0';
            if (!last) return true;
            continue;
        }
        if (r < 0 && errno == EAGAIN && !last) return false;
        /* the end of the pipe, or the worker is gone and all it wrote was read */
        if (w->line.len) print_line(j, w, w->line.data, w->line.len);
        hx_buf_clear(&w->line);
        close(w->fd);
        w->fd = -1;
        return false;
    }
}

/* A scenario that did not come back from its worker: an error in its place, its database and
 * folders cleaned up as the worker would have. */
static results_run *lost(jobs *j, size_t k, const char *why)
{
    run_ctx *c = j->c;
    const plan_scenario *s = scen_of(j, k);
    hx_error("%s: %s", s->name, why);
    if (!c->o->keep) {
        hx_err de = {0};
        if (c->pg && pgsvc_drop_db(c->pg, s->name, &de) != 0)
            hx_warn("cannot drop the database of %s: %s", s->name, de.msg);
        char *dir = run_path_join(c->out_dir, s->name);
        char *landing = dir ? run_path_join(dir, "landing") : NULL;
        char *output = dir ? run_path_join(dir, "output") : NULL;
        if (landing) hx_rm_rf(landing);
        if (output) hx_rm_rf(output);
        hx_free(dir);
        hx_free(landing);
        hx_free(output);
    }
    results_run *part = results_run_new();
    results_scenario *rs = part ? results_scenario_add(part, s->name) : NULL;
    if (!rs) {
        results_run_free(part);
        return NULL;
    }
    if (!c->o->seed_secret) results_seed_add(part, s->name, s->seed);
    results_scenario_set_error(rs, HX_EXIT_INFRA, why);
    results_scenario_settle(rs);
    return part;
}

/* Worker w ended with wait status st: take its result. */
static void reap(jobs *j, worker *w, int st)
{
    size_t k = w->k;
    char *p = result_path(j, k);
    char why[1200] = "";
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        hx_err e = {0};
        if (!p || runjson_read(p, &j->got[k], &e) != 0)
            snprintf(why, sizeof why, "its worker's result cannot be read: %s",
                     p ? e.msg : "out of memory");
        else if (j->got[k]->nscenarios != 1)
            snprintf(why, sizeof why, "its worker's result holds %zu scenarios, not 1",
                     j->got[k]->nscenarios);
    } else if (WIFEXITED(st) && WEXITSTATUS(st) == HX_EXIT_INTERRUPTED) {
        /* interrupted: not a finished scenario; the report covers the others */
    } else if (st != -1 && WIFSIGNALED(st)) {
        snprintf(why, sizeof why, "its worker process was killed by signal %d (%s)", WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
    } else {
        snprintf(why, sizeof why, "its worker process ended with exit %d before its result",
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
    if (why[0]) {
        results_run_free(j->got[k]);
        j->got[k] = lost(j, k, why);
    }
    if (p) unlink(p);
    hx_free(p);
    j->done[k] = true;
}

/* Add a finished scenario to the run as the serial loop would have: its seed, its datasets,
 * the scenario itself, its journal line and its progress line. */
static void add(jobs *j, size_t k)
{
    run_ctx *c = j->c;
    const plan_scenario *s = scen_of(j, k);
    results_run *part = j->got[k];
    j->added[k] = true;
    if (!part) { /* interrupted: the serial run keeps its seed too */
        if (!c->o->seed_secret) results_seed_add(c->run, s->name, s->seed);
        return;
    }
    for (size_t i = 0; i < part->nseeds; i++)
        results_seed_add(c->run, part->seeds[i].scenario, part->seeds[i].seed);
    for (size_t i = 0; i < part->ndatasets; i++) {
        const results_dataset *d = &part->datasets[i];
        results_dataset *nd = results_dataset_add(c->run, d->scenario, d->dataset, d->format);
        if (!nd) continue;
        results_set_str(&nd->sha256, d->sha256);
        nd->rows = d->rows;
        nd->emissions = d->emissions;
    }
    results_scenario *rs = results_scenario_add(c->run, s->name);
    if (!rs) return;
    /* The scenario changes hands: the run's new slot takes the worker's one. */
    results_release(&results_type_scenario, rs);
    *rs = part->scenarios[0];
    memset(&part->scenarios[0], 0, sizeof part->scenarios[0]);
    part->nscenarios = 0;
    hx_err e = {0};
    if (c->journal && runjson_journal_append(c->journal, rs, &e) != 0)
        hx_warn("journal: %s", e.msg);
    run_progress("[%zu/%zu] %s -> %s", k + 1, j->nsel, s->name, results_status_name(rs->status));
}

/* Add the finished scenarios that follow the ones added, in pack order; all: every finished one,
 * past the gaps of scenarios that never ran. */
static void flush(jobs *j, bool all)
{
    for (size_t k = 0; k < j->nsel; k++) {
        if (j->added[k]) continue;
        if (!j->done[k]) {
            if (all) continue;
            break;
        }
        add(j, k);
    }
}

static int start(jobs *j, worker *w, size_t k)
{
    const plan_scenario *s = scen_of(j, k);
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return -errno;
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    run_progress("[%zu/%zu] %s (phase %d)", k + 1, j->nsel, s->name, s->phase);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        worker_main(j, k, p[1], &old);
    }
    int err = errno;
    close(p[1]);
    if (pid > 0) run_signals_add_worker(pid);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        close(p[0]);
        return -err;
    }
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    *w = (worker){.pid = pid, .k = k, .fd = p[0]};
    hx_buf_init(&w->line);
    return 0;
}

/* Run the workers' scenarios, N at once, relaying their lines, until all ended (or, after an
 * interrupt, the running ones did). */
static void run_workers(jobs *j, const bool *local)
{
    size_t next = 0;
    int active = 0;
    for (;;) {
        while (active < j->nw && !run_interrupted()) {
            while (next < j->nsel && local[next])
                next++;
            if (next == j->nsel) break;
            worker *w = NULL;
            for (int i = 0; i < j->nw && !w; i++)
                if (!j->w[i].pid) w = &j->w[i];
            int rc = start(j, w, next);
            if (rc) {
                char why[160];
                snprintf(why, sizeof why, "cannot fork a worker for it: %s", strerror(-rc));
                j->got[next] = lost(j, next, why);
                j->done[next] = true;
            } else {
                active++;
            }
            next++;
        }
        flush(j, false);
        if (!active) break;
        struct pollfd pf[RUN_MAX_JOBS];
        int n = 0;
        for (int i = 0; i < j->nw; i++)
            if (j->w[i].pid && j->w[i].fd >= 0)
                pf[n++] = (struct pollfd){.fd = j->w[i].fd, .events = POLLIN};
        poll(pf, (nfds_t)n, 200);
        run_signals_forward();
        /* A worker ends when its process has exited, whoever else still holds its pipe. */
        for (int i = 0; i < j->nw; i++) {
            worker *w = &j->w[i];
            if (!w->pid) continue;
            while (w->fd >= 0 && relay(j, w, false))
                ;
            int st = 0;
            pid_t r = waitpid(w->pid, &st, WNOHANG);
            if (r == 0 || (r < 0 && errno == EINTR)) continue;
            if (w->fd >= 0) relay(j, w, true);
            run_signals_remove_worker(w->pid);
            hx_buf_release(&w->line);
            reap(j, w, r < 0 ? -1 : st);
            w->pid = 0;
            active--;
        }
    }
}

/* The Kafka scenarios, one at a time in this process, each into a run of its own. */
static void run_local(jobs *j, const bool *local)
{
    run_ctx *c = j->c;
    results_run *main_run = c->run;
    for (size_t k = 0; k < j->nsel && !run_interrupted(); k++) {
        if (!local[k]) continue;
        const plan_scenario *s = scen_of(j, k);
        run_progress("[%zu/%zu] %s (phase %d, Kafka: in the engine's process)", k + 1, j->nsel,
                     s->name, s->phase);
        results_run *part = results_run_new();
        results_scenario *rs = part ? results_scenario_add(part, s->name) : NULL;
        if (!rs) {
            results_run_free(part);
            j->got[k] = lost(j, k, "out of memory");
        } else {
            c->run = part;
            int rc = run_scenario(c, s, rs);
            c->run = main_run;
            if (rc == HX_EINTR) {
                /* keep its seed (add() does), not the scenario */
                results_run_free(part);
                part = NULL;
            }
            j->got[k] = part;
        }
        j->done[k] = true;
        flush(j, false);
    }
    c->run = main_run;
}

void run_jobs(run_ctx *c, const size_t *sel, size_t nsel, int *exit_code)
{
    jobs j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.sel = sel;
    j.nsel = nsel;
    j.nw = c->o->jobs < RUN_MAX_JOBS ? c->o->jobs : RUN_MAX_JOBS;
    j.engine = getpid();
    j.dir = run_path_join(c->out_dir, ".jobs");
    j.got = hx_calloc(nsel, sizeof *j.got);
    j.done = hx_calloc(nsel, sizeof *j.done);
    j.added = hx_calloc(nsel, sizeof *j.added);
    bool *local = hx_calloc(nsel, sizeof *local);
    hx_err e = {0};
    if (!j.dir || !j.got || !j.done || !j.added || !local) {
        hx_error("out of memory");
        *exit_code = HX_EXIT_INFRA;
    } else if (hx_mkdir_p(j.dir, &e) != 0) {
        hx_error("%s", e.msg);
        *exit_code = HX_EXIT_INFRA;
    } else {
        size_t nlocal = 0;
        for (size_t k = 0; k < nsel; k++)
            nlocal += local[k] = in_process(c, scen_of(&j, k));
        if (nlocal)
            run_progress("%zu of %zu scenarios use Kafka: they run one at a time after the "
                         "others",
                         nlocal, nsel);
        run_workers(&j, local);
        run_local(&j, local);
        flush(&j, true);
        rmdir(j.dir);
    }
    for (size_t k = 0; j.got && k < nsel; k++)
        results_run_free(j.got[k]);
    hx_free(j.got);
    hx_free(j.done);
    hx_free(j.added);
    hx_free(local);
    hx_free(j.dir);
}
