/* rep_driver.c - test driver for transcript_junit.sh: render junit.xml (and optionally
 * summary.md) from a run.json, as `harness report` will, without needing the CLI.
 *   rep_driver RUN.json JUNIT.xml [SUMMARY.md] */
#include <stdio.h>

#include "rep.h"
#include "runjson.h"

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: rep_driver run.json junit.xml [summary.md]\n");
        return 2;
    }
    results_run *r = NULL;
    hx_err e = {0};
    int rc = runjson_read(argv[1], &r, &e);
    if (!rc) rc = rep_junit_write(r, argv[2], &e);
    if (!rc && argc == 4) rc = rep_markdown_write(r, argv[3], 0, &e);
    results_run_free(r);
    if (rc) {
        fprintf(stderr, "rep_driver: %s\n", e.msg);
        return hx_exit_code(rc);
    }
    return 0;
}
