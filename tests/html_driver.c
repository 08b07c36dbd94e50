/* html_driver.c - test driver for transcript_browser.sh: render report.html from a run.json (or a
 * journal *.jsonl), as `harness report --html` does, without needing the CLI.
 *   html_driver RUN.json|JOURNAL.jsonl REPORT.html */
#include <stdio.h>
#include <string.h>

#include "rep.h"
#include "runjson.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: html_driver run.json report.html\n");
        return 2;
    }
    results_run *r = NULL;
    hx_err e = {0};
    size_t n = strlen(argv[1]), torn = 0;
    int rc = n > 6 && strcmp(argv[1] + n - 6, ".jsonl") == 0
                 ? runjson_journal_read(argv[1], &r, &torn, &e)
                 : runjson_read(argv[1], &r, &e);
    if (!rc) rc = rep_html_write(r, argv[2], &e);
    results_run_free(r);
    if (rc) {
        fprintf(stderr, "html_driver: %s\n", e.msg);
        return hx_exit_code(rc);
    }
    return 0;
}
