/* cmd_merge.c - `harness merge SHARD...`: read the run.json (or journal) of each `harness run
 * --shard I/N` job, merge them into one run (merge.c) and write run.json, junit.xml, summary.md
 * and report.html for it. The exit code is the merged run's, so CI can gate on the merge job. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "merge.h"
#include "rep.h"
#include "runjson.h"

const char merge_usage[] =
    "usage: harness merge SHARD... [--out DIR]\n"
    "\n"
    "Merge the results of `harness run --shard I/N` jobs into one run and write its run.json,\n"
    "junit.xml, summary.md and report.html. A SHARD is a run.json, the run.journal.jsonl of a\n"
    "shard that did not finish, or a run folder holding either.\n"
    "\n"
    "The scenarios come back in the pack's order; verdict, totals, exit code and score are\n"
    "recomputed as one run would have them. The shards must be one run split up: same pack,\n"
    "harness version and commit, solution, seeds and price sheets, or merge refuses and names\n"
    "the two files and the field. They may have run on different machines (each is listed). A\n"
    "scenario in two shards is an error. A shard that did not finish (a journal) or is missing\n"
    "from the I/N split makes the merged run partial, an interrupted one makes it interrupted,\n"
    "and merge says so. Histograms stay per scenario (each scenario ran in one shard); merge\n"
    "prints the solution's wall-time histogram merged exactly over all scenarios (not with\n"
    "--quiet or $CI).\n"
    "\n"
    "options:\n"
    "  -o, --out DIR   where the reports go (default: merged/ beside the first SHARD)\n"
    "  -h, --help      this text\n"
    "\n"
    "exit: the merged run's: 0 pass, 1 a check failed, 4 only thresholds failed, 2 or 3 a\n"
    "      scenario or shard had an error, 130 a shard was interrupted; also 2 for bad input\n"
    "      (unreadable, foreign or mismatched files, a duplicate scenario) and 3 when the\n"
    "      reports cannot be written\n";

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The file to read for arg: arg itself, or a run folder's run.json, else its journal. NULL when
 * out of memory. Free with hx_free. */
static char *input_file(const char *arg)
{
    struct stat st;
    if (stat(arg, &st) != 0 || !S_ISDIR(st.st_mode)) return hx_strdup(arg);
    char *p = hx_asprintf("%s/run.json", arg);
    if (!p || is_file(p)) return p;
    char *j = hx_asprintf("%s/run.journal.jsonl", arg);
    if (j && is_file(j)) {
        hx_free(p);
        return j;
    }
    hx_free(j);
    return p; /* the reader names it in its error */
}

static int read_input(const char *path, results_run **r, hx_err *e)
{
    if (!ends_with(path, ".jsonl")) return runjson_read(path, r, e);
    size_t torn = 0;
    int rc = runjson_journal_read(path, r, &torn, e);
    if (!rc && torn) hx_warn("merge: '%s': ignored a torn last line", path);
    return rc;
}

/* The folder of path ("." when it has none), then "/merged". */
static char *default_out(const char *path)
{
    const char *slash = strrchr(path, '/');
    hx_buf b;
    hx_buf_init(&b);
    if (!slash)
        hx_buf_puts(&b, ".");
    else
        hx_buf_append(&b, path, slash == path ? 1 : (size_t)(slash - path));
    hx_buf_puts(&b, "/merged");
    if (b.oom) {
        hx_buf_release(&b);
        return NULL;
    }
    return hx_buf_steal(&b);
}

static int write_reports(const results_run *r, const char *dir, bool *html, hx_err *e)
{
    static const char *const names[] = {"run.json", "junit.xml", "summary.md", "report.html"};
    int rc = hx_mkdir_p(dir, e);
    for (size_t i = 0; !rc && i < 4; i++) {
        char *p = hx_asprintf("%s/%s", dir, names[i]);
        if (!p) return hx_fail(e, HX_ENOMEM, "out of memory");
        switch (i) {
        case 0:
            rc = runjson_write(r, p, e);
            break;
        case 1:
            rc = rep_junit_write(r, p, e);
            break;
        case 2:
            rc = rep_markdown_write(r, p, 0, e);
            break;
        default:
            rc = rep_html_write(r, p, e);
            *html = rc == 0;
            break;
        }
        hx_free(p);
    }
    return rc;
}

/* One line on the solution's wall time over every scenario, from the exact merge. */
static void wall_summary(const results_run *r)
{
    hist *h = NULL;
    size_t n = 0;
    hx_err e = {0};
    if (merge_hist(r, "solution.wall", &h, &n, &e) != 0) {
        hx_warn("merge: %s", e.msg);
        return;
    }
    if (h && hist_count(h) > 0)
        hx_info("merge: solution.wall over %zu scenario%s: %lld invocations, p50 %.3f s, p99 "
                "%.3f s, max %.3f s",
                n, n == 1 ? "" : "s", (long long)hist_count(h),
                (double)hist_percentile(h, 50) / 1e9, (double)hist_percentile(h, 99) / 1e9,
                (double)hist_max(h) / 1e9);
    hist_free(h);
}

int cmd_merge(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'h':
            fputs(merge_usage, stdout);
            return HX_EXIT_OK;
        default:
            fputs(merge_usage, stderr);
            return HX_EXIT_USAGE;
        }
    }
    size_t n = (size_t)(argc - optind);
    if (n == 0) {
        hx_error("merge: no shard results given");
        fputs(merge_usage, stderr);
        return HX_EXIT_USAGE;
    }

    int ret = HX_EXIT_OK;
    hx_err e = {0};
    merge_notes notes = {0};
    results_run *m = NULL;
    char *out_dir = NULL;
    char **files = hx_calloc(n, sizeof *files);
    merge_input *in = hx_calloc(n, sizeof *in);
    if (!files || !in) {
        hx_error("merge: out of memory");
        ret = HX_EXIT_INFRA;
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        files[i] = input_file(argv[optind + (int)i]);
        if (!files[i]) {
            hx_error("merge: out of memory");
            ret = HX_EXIT_INFRA;
            goto cleanup;
        }
        in[i].name = files[i];
        int rc = read_input(files[i], &in[i].run, &e);
        if (rc) {
            hx_error("merge: %s", e.msg);
            ret = rc == HX_ENOMEM ? HX_EXIT_INFRA : HX_EXIT_USAGE;
            goto cleanup;
        }
    }

    int rc = merge_runs(in, n, &m, &notes, &e);
    for (size_t i = 0; i < notes.nlines; i++)
        hx_error("merge: %s", notes.lines[i]);
    if (rc) {
        hx_error("merge: %s", e.msg);
        ret = rc == HX_ENOMEM ? HX_EXIT_INFRA : HX_EXIT_USAGE;
        goto cleanup;
    }
    /* The merged run's command line is this one: it names the inputs. */
    for (int i = 0; i < argc; i++)
        if (!results_strv_add(&m->argv, &m->nargv, argv[i])) {
            hx_error("merge: out of memory");
            ret = HX_EXIT_INFRA;
            goto cleanup;
        }
    wall_summary(m);

    out_dir = out ? hx_strdup(out) : default_out(files[0]);
    bool html = false;
    if (!out_dir) {
        hx_error("merge: out of memory");
        ret = HX_EXIT_INFRA;
        goto cleanup;
    }
    if (write_reports(m, out_dir, &html, &e) != 0) {
        hx_error("merge: cannot write the reports: %s", e.msg);
        ret = HX_EXIT_INFRA;
        goto cleanup;
    }
    ret = m->exit_code;
    fprintf(stderr,
            "%s: %s, %zu scenario%s from %zu input%s%s, score %.0f; reports in %s/ "
            "(run.json, junit.xml, summary.md%s)\n",
            results_status_name(m->verdict), m->pack_name ? m->pack_name : "run", m->nscenarios,
            m->nscenarios == 1 ? "" : "s", n, n == 1 ? "" : "s",
            m->partial       ? " (partial)"
            : m->interrupted ? " (interrupted)"
                             : "",
            m->score.scored ? m->score.value : 0.0, out_dir, html ? ", report.html" : "");

cleanup:
    merge_notes_release(&notes);
    results_run_free(m);
    for (size_t i = 0; in && i < n; i++)
        results_run_free(in[i].run);
    for (size_t i = 0; files && i < n; i++)
        hx_free(files[i]);
    hx_free(files);
    hx_free(in);
    hx_free(out_dir);
    return ret;
}
