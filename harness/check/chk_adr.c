/* chk_adr.c - adr: the solution documents its decisions (ADRs) and its README explains design and
 * cost. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "check_int.h"

static bool file_has_all(const char *path, const char *const *words, size_t n, char *missing,
                         size_t mlen)
{
    char *text = NULL;
    if (hx_read_file(path, &text, NULL, NULL) != 0) return false;
    for (char *p = text; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    bool ok = true;
    missing[0] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!strstr(text, words[i])) {
            ok = false;
            size_t l = strlen(missing);
            snprintf(missing + l, mlen - l, "%s%s", l ? ", " : "", words[i]);
        }
    hx_free(text);
    return ok;
}

/* adr: the solution documents its decisions (docs/adr/ or adr/: context, decision, trade-off)
 * and has a README explaining design and cost. */
static void check_adr(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    (void)c;
    if (!ctx->solution_dir) {
        chk_set_outcome(o, CHK_ERROR, "no solution folder");
        return;
    }
    const char *const sections[] = {"context", "decision", "trade-off"};
    const char *dirs[] = {"docs/adr", "adr", "docs/decisions"};
    const char *titles[] = {"file", "problem"};
    chk_sample_cols(o, 2, titles);
    int good = 0, bad = 0;
    char path[4096], miss[256];
    for (size_t d = 0; d < 3; d++) {
        snprintf(path, sizeof path, "%s/%s", ctx->solution_dir, dirs[d]);
        DIR *dir = opendir(path);
        if (!dir) continue;
        struct dirent *de;
        while ((de = readdir(dir))) {
            size_t l = strlen(de->d_name);
            if (l < 4 || strcmp(de->d_name + l - 3, ".md") != 0) continue;
            snprintf(path, sizeof path, "%s/%s/%s", ctx->solution_dir, dirs[d], de->d_name);
            if (file_has_all(path, sections, 3, miss, sizeof miss)) {
                good++;
            } else {
                bad++;
                char prob[300];
                snprintf(prob, sizeof prob, "missing sections: %s", miss);
                const char *cells[] = {de->d_name, prob};
                chk_sample_row(o, cells);
            }
        }
        closedir(dir);
    }
    const char *const readme_words[] = {"design", "cost"};
    snprintf(path, sizeof path, "%s/README.md", ctx->solution_dir);
    bool readme = file_has_all(path, readme_words, 2, miss, sizeof miss);
    if (!readme) {
        const char *cells[] = {"README.md", "missing, or does not explain design and cost"};
        chk_sample_row(o, cells);
    }
    chk_set_text(&o->expected,
                 ">= 1 ADR with context, decision and trade-off; README on design and cost");
    chk_setf(&o->actual, "%d complete ADRs, %d incomplete; README %s", good, bad,
             readme ? "ok" : "missing or incomplete");
    chk_set_outcome(o, good > 0 && bad == 0 && readme ? CHK_PASS : CHK_FAIL,
                    good > 0 && bad == 0 && readme ? NULL : "the decision records are incomplete");
}

const chk_kind chk_kind_adr = {
    .name = "adr",
    .keys = (const char *const[]){"dir", "min", "sections", "readme", NULL},
    .flags = 0,
    .run = check_adr,
    .summary = "the solution has complete decision records and a README on design and cost",
};
