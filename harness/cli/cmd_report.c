/* cmd_report.c - `harness report RUN.json|JOURNAL.jsonl`: render report.html, junit.xml and
 * summary.md again from a finished run, or from the journal a crashed or interrupted run left. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "rep.h"
#include "runjson.h"

const char report_usage[] =
    "usage: harness report RUN.json|JOURNAL.jsonl [--html OUT] [--junit OUT] [--md OUT]\n"
    "\n"
    "Render reports from a run.json, or from a run journal (*.jsonl) when the run did not finish\n"
    "(the report is then marked partial). With no output option, report.html, junit.xml and\n"
    "summary.md are written beside the input file.\n"
    "\n"
    "options:\n"
    "  --html OUT       write the self-contained HTML report to OUT\n"
    "  --junit OUT      write JUnit XML to OUT\n"
    "  --md OUT         write the Markdown summary to OUT\n"
    "  --md-max BYTES   cap the Markdown size (65536 fits a PR comment; default: no cap)\n"
    "  -h, --help       this text\n";

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* dir/name where dir is the folder of path ("." when it has none). Free with hx_free. */
static char *beside(const char *path, const char *name)
{
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) : 1;
    hx_buf b;
    hx_buf_init(&b);
    if (slash)
        hx_buf_append(&b, path, dlen ? dlen : 1);
    else
        hx_buf_putc(&b, '.');
    hx_buf_printf(&b, "/%s", name);
    if (b.oom) {
        hx_buf_release(&b);
        return NULL;
    }
    return hx_buf_steal(&b);
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"html", required_argument, NULL, 'H'}, {"junit", required_argument, NULL, 'j'},
        {"md", required_argument, NULL, 'm'},   {"md-max", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    const char *html = NULL, *junit = NULL, *md = NULL;
    size_t md_max = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'H':
            html = optarg;
            break;
        case 'j':
            junit = optarg;
            break;
        case 'm':
            md = optarg;
            break;
        case 'M': {
            char *end;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (!*optarg || *end) {
                hx_error("report: --md-max wants a number of bytes, not '%s'", optarg);
                return HX_EXIT_USAGE;
            }
            md_max = (size_t)v;
            break;
        }
        case 'h':
            fputs(report_usage, stdout);
            return HX_EXIT_OK;
        default:
            fputs(report_usage, stderr);
            return HX_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fputs(report_usage, stderr);
        return HX_EXIT_USAGE;
    }
    const char *in = argv[optind];
    char *paths[3] = {NULL, NULL, NULL};
    if (!html && !junit && !md) {
        paths[0] = beside(in, "report.html");
        paths[1] = beside(in, "junit.xml");
        paths[2] = beside(in, "summary.md");
        if (!paths[0] || !paths[1] || !paths[2]) {
            hx_error("report: out of memory");
            hx_free(paths[0]), hx_free(paths[1]), hx_free(paths[2]);
            return HX_EXIT_INFRA;
        }
        html = paths[0], junit = paths[1], md = paths[2];
    }

    results_run *r = NULL;
    hx_err e = {0};
    int rc;
    if (ends_with(in, ".jsonl")) {
        size_t torn = 0;
        rc = runjson_journal_read(in, &r, &torn, &e);
        /* The journal comes back settled and marked partial. */
        if (!rc && torn) hx_warn("report: '%s': ignored a torn last line", in);
    } else {
        rc = runjson_read(in, &r, &e);
    }
    if (!rc && html) rc = rep_html_write(r, html, &e);
    if (!rc && junit) rc = rep_junit_write(r, junit, &e);
    if (!rc && md) rc = rep_markdown_write(r, md, md_max, &e);
    if (!rc)
        hx_info("report: wrote%s%s%s%s%s%s", html ? " " : "", html ? html : "", junit ? " " : "",
                junit ? junit : "", md ? " " : "", md ? md : "");
    results_run_free(r);
    for (int i = 0; i < 3; i++)
        hx_free(paths[i]);
    if (rc) {
        hx_error("report: %s", e.msg);
        return hx_exit_code(rc);
    }
    return HX_EXIT_OK;
}
