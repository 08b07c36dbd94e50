/* main.c - the command table and the process-wide bits: global flags, messages, exit codes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "hx_config.h"
#include "util.h"

/* The command table, sorted by name. To add a command, follow the checklist in cmd.h. A row whose
 * function is NULL is a command that is designed but not built yet: it says so and exits 2. */
struct cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *usage; /* full usage text, NULL until the command exists */
    const char *summary;
};

static const struct cmd commands[] = {
    /* @cmd-table-begin */
    {"check", cmd_check, check_usage, "load and validate every scenario of a challenge pack"},
    {"compare", cmd_compare, compare_usage,
     "compare two runs: checks, latency, resources, cost, score"},
    {"gen", cmd_gen, gen_usage,
     "write a scenario's generated data (and its ledger) to CSV or JSONL"},
    {"list", cmd_list, list_usage, "list a pack's scenarios with tags, datasets and row counts"},
    {"merge", cmd_merge, merge_usage, "merge shard results into one run and render its reports"},
    {"report", cmd_report, report_usage, "render reports from a run.json or journal"},
    {"run", cmd_run, run_usage, "run a challenge pack against a solution and write the reports"},
    /* @cmd-table-end */
};

static const struct cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

static void main_usage(FILE *f)
{
    fputs("usage: harness <command> [options]\n"
          "       harness help <command>\n"
          "       harness --version\n\ncommands:\n",
          f);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-9s %s%s\n", commands[i].name, commands[i].summary,
                commands[i].fn ? "" : " (not built yet)");
    fputs("\nexit codes: 0 pass, 1 a check failed, 2 usage or scenario error, 3 infrastructure "
          "error,\n            4 only thresholds failed, 130 interrupted\n",
          f);
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        main_usage(stdout);
        return HX_EXIT_OK;
    }
    const struct cmd *c = find_cmd(argv[1]);
    if (!c) {
        const char *names[sizeof commands / sizeof commands[0] + 1];
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
            names[i] = commands[i].name;
        names[sizeof commands / sizeof commands[0]] = NULL;
        const char *s = hx_suggest(argv[1], names);
        hx_error("unknown command '%s'%s%s%s; see 'harness help'", argv[1],
                 s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
        return HX_EXIT_USAGE;
    }
    if (!c->usage) {
        printf("harness %s: %s\n\nthis command is not built yet.\n", c->name, c->summary);
        return HX_EXIT_OK;
    }
    fputs(c->usage, stdout);
    return HX_EXIT_OK;
}

/* Like git: a command's output is only good if it reached its destination. */
static int finish_stdout(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno != EPIPE) hx_error("cannot write to standard output: %s", strerror(errno));
        return rc ? rc : HX_EXIT_INFRA;
    }
    return rc;
}

int main(int argc, char **argv)
{
    const char *ci = getenv("CI");
    hx_g.quiet = ci && *ci && strcmp(ci, "false") != 0 && strcmp(ci, "0") != 0;
    const char *nc = getenv("NO_COLOR");
    hx_g.color = !(nc && *nc) && isatty(STDERR_FILENO);

    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
            printf("harness %s (%s)\n", HX_VERSION, HX_COMMIT);
            return finish_stdout(HX_EXIT_OK);
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            main_usage(stdout);
            return finish_stdout(HX_EXIT_OK);
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            hx_g.quiet = 1;
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            hx_g.verbose++;
        } else if (strcmp(a, "--no-color") == 0) {
            hx_g.color = 0;
        } else {
            hx_error("unknown option '%s'; see 'harness --help'", a);
            return HX_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        main_usage(stderr);
        return HX_EXIT_USAGE;
    }
    if (strcmp(argv[i], "help") == 0) return finish_stdout(cmd_help(argc - i, argv + i));
    const struct cmd *c = find_cmd(argv[i]);
    if (!c) {
        char *h[] = {"help", argv[i], NULL};
        cmd_help(2, h);
        return HX_EXIT_USAGE;
    }
    if (!c->fn) {
        hx_error("'%s' is not built yet in this version", c->name);
        return HX_EXIT_USAGE;
    }
    /* Commands see their own name as argv[0] and parse their own options. */
    return finish_stdout(c->fn(argc - i, argv + i));
}
