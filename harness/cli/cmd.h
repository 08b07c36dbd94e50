/* cmd.h - the commands of the CLI. Each cmd_<name>(argc, argv) gets argv[0] == "<name>", parses
 * its own options with getopt_long, and returns a process exit code (enum hx_exit). Usage text is
 * defined once per command, in its file, and printed by `harness help <name>`.
 *
 * Checklist for a new command: write cmd_<name>.c with cmd_<name>() and <name>_usage[], declare
 * both here, add a row to the table in main.c (kept sorted), add the file to harness/meson.build,
 * and add a transcript test in tests/. */
#ifndef HX_CMD_H
#define HX_CMD_H

#include "say.h" /* hx_g, hx_error, hx_warn, hx_info */

/* @cmd-decls-begin */
int cmd_run(int argc, char **argv);
extern const char run_usage[];
int cmd_check(int argc, char **argv);
extern const char check_usage[];
int cmd_gen(int argc, char **argv);
extern const char gen_usage[];
int cmd_list(int argc, char **argv);
extern const char list_usage[];
int cmd_report(int argc, char **argv);
extern const char report_usage[];
int cmd_compare(int argc, char **argv);
extern const char compare_usage[];
int cmd_merge(int argc, char **argv);
extern const char merge_usage[];
/* @cmd-decls-end */

#endif
