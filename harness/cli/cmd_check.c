/* cmd_check.c - `harness check PACK`: load and validate every file of a challenge pack and list
 * every problem, so an author fixes them all in one round. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cmd.h"
#include "plug.h"
#include "scen.h"

const char check_usage[] =
    "usage: harness check PACK [--unsafe-lua] [--plugin-path DIR] [--trust-plugins]\n"
    "\n"
    "Load challenge.lua and every scenario of the pack folder PACK in the Lua sandbox and "
    "validate\n"
    "them. Prints one line per problem (file:line: message; -v adds the Lua traceback) and ends\n"
    "with \"N scenarios ok\", or exits 2 when anything is wrong (3 when a plugin crashed).\n"
    "\n"
    "options:\n"
    "  --unsafe-lua   open Lua's full standard libraries (io, os, package, debug)\n"
    "  --plugin-path DIR  another folder of validator plugins (plugin checks are validated\n"
    "                 against the parameters each plugin declares)\n"
    "  --trust-plugins  read the plugins' descriptors in a worker that may write files: needed\n"
    "                 where the kernel has no Landlock to confine it (by default no code of a\n"
    "                 pack's plugin runs in the harness, and the worker that loads it can write,\n"
    "                 create or execute no file)\n"
    "  -h, --help     this text\n";

/* A plugin as check_plugins loaded it, once a name: the plugin, or the error it gave. */
struct loaded {
    const char *name; /* borrowed from the plan */
    plug_plugin *pl;  /* NULL when it did not load */
    hx_err err;       /* why not */
};

/* Every plugin check of the pack: the plugin loads (in a confined worker: see plug.h), has the
 * check, and the scenario's parameters match what the check declares. Returns the number of
 * problems printed; *infra is set when a plugin crashed or could not be confined. */
static size_t check_plugins(const plan_pack *p, const char *pack_dir, const char *extra_dir,
                            bool trust, bool *infra)
{
    plug_path pp;
    plug_path_init(&pp);
    const char *extra[1] = {extra_dir};
    size_t problems = 0, nloaded = 0;
    struct loaded *loaded = NULL;
    char last[1400] = "";
    if (plug_path_standard(&pp, pack_dir, extra, extra_dir ? 1 : 0) != 0) {
        hx_error("out of memory");
        return 1;
    }
    for (size_t i = 0; i < p->nscenarios; i++) {
        const plan_scenario *sc = &p->scenarios[i];
        for (size_t k = 0; k < sc->nchecks; k++) {
            const plan_check *c = &sc->checks[k];
            if (!(chk_kind_get(c->kind)->flags & CHK_K_PLUGIN)) continue;
            struct loaded *l = NULL;
            for (size_t j = 0; j < nloaded && !l; j++)
                if (strcmp(loaded[j].name, c->plugin) == 0) l = &loaded[j];
            if (!l) {
                struct loaded *nl = hx_realloc(loaded, (nloaded + 1) * sizeof *nl);
                if (!nl) {
                    hx_error("out of memory");
                    problems++;
                    break;
                }
                loaded = nl;
                l = &loaded[nloaded++];
                memset(l, 0, sizeof *l);
                l->name = c->plugin;
                plug_open(c->plugin, &pp, trust ? PLUG_LOAD_WORKER : PLUG_LOAD_CONFINED, &l->pl,
                          &l->err);
            }
            hx_err e = l->err;
            const hx_plugin_check *hc = NULL;
            if (l->pl && (hc = plug_find_check(l->pl, c->plugin_check, &e)) != NULL)
                plug_validate_params(l->pl, hc, c->params, c->nparams, &e);
            char line[1400];
            snprintf(line, sizeof line, "%s: %s", c->where ? c->where : sc->name, e.msg);
            /* a check defined once in a shared helper module is reported once */
            if (e.code && strcmp(line, last) != 0) {
                hx_error("%s", line);
                snprintf(last, sizeof last, "%s", line);
                problems++;
            }
            if (e.code == HX_EINFRA) *infra = true;
        }
    }
    for (size_t j = 0; j < nloaded; j++)
        plug_close(loaded[j].pl);
    hx_free(loaded);
    plug_path_release(&pp);
    return problems;
}

int cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {{"unsafe-lua", no_argument, NULL, 'u'},
                                         {"plugin-path", required_argument, NULL, 'p'},
                                         {"trust-plugins", no_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    scen_opts so = {0};
    const char *plugin_dir = NULL;
    bool trust = false, infra = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'u':
            so.unsafe_lua = true;
            break;
        case 'p':
            plugin_dir = optarg;
            break;
        case 't':
            trust = true;
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
    } else if (check_plugins(scen_pack(s), argv[optind], plugin_dir, trust, &infra) > 0) {
        ret = infra ? HX_EXIT_INFRA : HX_EXIT_USAGE;
    } else {
        const plan_pack *p = scen_pack(s);
        printf("%zu scenario%s ok\n", p->nscenarios, p->nscenarios == 1 ? "" : "s");
    }
    scen_free(s);
    return ret;
}
