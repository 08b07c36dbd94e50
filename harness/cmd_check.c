/* cmd_check.c - `harness check PACK`: load and validate every file of a challenge pack and list
 * every problem, so an author fixes them all in one round. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "scen.h"

const char check_usage[] =
    "usage: harness check PACK [--unsafe-lua]\n"
    "\n"
    "Load challenge.lua and every scenario of the pack folder PACK in the Lua sandbox and "
    "validate\n"
    "them. Prints one line per problem (file:line: message; -v adds the Lua traceback) and ends\n"
    "with \"N scenarios ok\", or exits 2 when anything is wrong.\n"
    "\n"
    "options:\n"
    "  --unsafe-lua   open Lua's full standard libraries (io, os, package, debug)\n"
    "  -h, --help     this text\n";

int cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {{"unsafe-lua", no_argument, NULL, 'u'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    scen_opts so = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'u':
            so.unsafe_lua = true;
            break;
        case 'h':
            fputs(check_usage, stdout);
            return HX_EXIT_OK;
        default:
            fputs(check_usage, stderr);
            return HX_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        hx_error("check: expected one pack folder; see 'harness help check'");
        return HX_EXIT_USAGE;
    }
    scen *s = NULL;
    hx_err e = {0};
    int rc = scen_new(&so, &s, &e);
    if (rc) {
        hx_error("%s", e.msg);
        return hx_exit_code(rc);
    }
    rc = scen_load_pack(s, argv[optind], &e);
    int ret = HX_EXIT_OK;
    if (scen_problem_count(s) > 0) {
        for (size_t i = 0; i < scen_problem_count(s); i++)
            hx_error("%s", hx_g.verbose ? scen_problem_detail(s, i) : scen_problem(s, i));
        hx_error("%zu problem%s in %s", scen_problem_count(s),
                 scen_problem_count(s) == 1 ? "" : "s", argv[optind]);
        ret = HX_EXIT_USAGE;
    } else if (rc) {
        hx_error("%s", e.msg);
        ret = hx_exit_code(rc);
    } else {
        const plan_pack *p = scen_pack(s);
        printf("%zu scenario%s ok\n", p->nscenarios, p->nscenarios == 1 ? "" : "s");
    }
    scen_free(s);
    return ret;
}
