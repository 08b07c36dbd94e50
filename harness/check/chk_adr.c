/* chk_adr.c - adr: the solution documents its decisions (ADRs) and its README explains design and
 * cost. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check_int.h"

/* Whether rel in the solution's folder holds every word; the missing ones go to missing. A file
 * that is there but cannot be read (a FIFO, a device, over the cap) is false with why filled; a
 * missing one leaves why empty. */
static bool file_has_all(const chk_ctx *ctx, const char *rel, const char *const *words, size_t n,
                         char *missing, size_t mlen, char *why, size_t wlen)
{
    char *text = NULL;
    missing[0] = '\0';
    if (chk_read_doc(ctx, rel, &text, why, wlen) != 0) return false;
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

/* The adr check's options, read from its JSON parameters. */
typedef struct adr_opts {
    const char *dir;       /* the one folder to read (borrowed from js), NULL = the usual three */
    long long min;         /* complete ADRs required */
    const char *sec[16];   /* words every ADR must contain (borrowed) */
    size_t nsec;           /* number of them */
    const char *words[16]; /* words the README must contain (borrowed) */
    size_t nwords;         /* number of them; 0 with readme = false: no README needed */
    json_t *js[4];         /* the parsed parameters, released by adr_opts_release */
} adr_opts;

static void adr_opts_release(adr_opts *a)
{
    for (size_t i = 0; i < 4; i++)
        json_decref(a->js[i]);
}

/* Read c's options (defaults: docs/adr, adr and docs/decisions; min 1; context, decision,
 * trade-off; a README on design and cost). Returns 0, or -1 with what is wrong in err. */
static int adr_opts_read(const plan_check *c, adr_opts *a, char *err, size_t n)
{
    static const char *const sections[] = {"context", "decision", "trade-off"};
    static const char *const readme[] = {"design", "cost"};
    memset(a, 0, sizeof *a);
    a->min = 1;
    a->nsec = 3;
    memcpy(a->sec, sections, sizeof sections);
    a->nwords = 2;
    memcpy(a->words, readme, sizeof readme);
    static const char *const keys[] = {"dir", "min", "sections", "readme"};
    if (chk_params_read(c, keys, 4, a->js, err, n) != 0) return -1;
    if (a->js[0] && !(a->dir = chk_param_rel_path(a->js[0])))
        return snprintf(err, n, "dir: a folder inside the solution, like \"docs/adr\""), -1;
    if (a->js[1]) {
        if (!json_is_integer(a->js[1]) || json_integer_value(a->js[1]) < 0 ||
            json_integer_value(a->js[1]) > 1000)
            return snprintf(err, n, "min: a number of ADRs from 0 to 1000"), -1;
        a->min = json_integer_value(a->js[1]);
    }
    if (a->js[2] && !chk_param_words(a->js[2], a->sec, 16, &a->nsec))
        return snprintf(err, n, "sections: a list of 1 to 16 words, like { \"context\" }"), -1;
    if (a->js[3]) {
        if (json_is_false(a->js[3]))
            a->nwords = 0;
        else if (!chk_param_words(a->js[3], a->words, 16, &a->nwords))
            return snprintf(err, n, "readme: a list of 1 to 16 words, or false"), -1;
    }
    return 0;
}

static int validate_adr(const plan_check *c, const plan_scenario *s, char *err, size_t n)
{
    (void)s;
    adr_opts a;
    int rc = adr_opts_read(c, &a, err, n);
    adr_opts_release(&a);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.md files of folder path, sorted; *n set. NULL when the folder cannot be read. */
static char **md_files(const char *path, size_t *n)
{
    *n = 0;
    DIR *dir = opendir(path);
    if (!dir) return NULL;
    char **v = NULL;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        size_t l = strlen(de->d_name);
        if (l < 4 || strcmp(de->d_name + l - 3, ".md") != 0) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = hx_realloc(v, cap * sizeof *v);
            if (!nv) break;
            v = nv;
        }
        if (!(v[*n] = hx_strdup(de->d_name))) break;
        (*n)++;
    }
    closedir(dir);
    if (!v) v = hx_calloc(1, sizeof *v);
    if (v) qsort(v, *n, sizeof *v, cmp_str);
    return v;
}

/* adr: the solution documents its decisions (dir, or docs/adr/, adr/ and docs/decisions/: at
 * least min *.md files, each holding every section word; none incomplete) and has a README.md
 * holding every readme word (words match case-insensitively, anywhere in the text). */
static void check_adr(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    if (!ctx->solution_dir) {
        chk_set_outcome(o, CHK_ERROR, "no solution folder");
        return;
    }
    adr_opts a;
    char err[200];
    if (adr_opts_read(c, &a, err, sizeof err) != 0) {
        chk_set_outcome(o, CHK_ERROR, "%s", err);
        adr_opts_release(&a);
        return;
    }
    const char *dirs[] = {"docs/adr", "adr", "docs/decisions"};
    size_t ndirs = 3;
    if (a.dir) dirs[0] = a.dir, ndirs = 1;
    const char *titles[] = {"file", "problem"};
    chk_sample_cols(o, 2, titles);
    long long good = 0, bad = 0;
    bool found = false;
    char path[4096], miss[256], why[sizeof((hx_err *)0)->msg], unreadable[sizeof why] = "";
    for (size_t d = 0; d < ndirs; d++) {
        snprintf(path, sizeof path, "%s/%s", ctx->solution_dir, dirs[d]);
        size_t nf;
        char **files = md_files(path, &nf);
        if (!files) continue;
        found = true;
        for (size_t i = 0; i < nf; i++) {
            char rel[600];
            snprintf(rel, sizeof rel, "%s/%s", dirs[d], files[i]);
            if (file_has_all(ctx, rel, a.sec, a.nsec, miss, sizeof miss, why, sizeof why)) {
                good++;
            } else {
                bad++;
                char prob[sizeof why];
                if (*why) {
                    snprintf(prob, sizeof prob, "%s", why);
                    if (!*unreadable) snprintf(unreadable, sizeof unreadable, "%s", why);
                } else {
                    snprintf(prob, sizeof prob, "missing sections: %s", miss);
                }
                const char *cells[] = {rel, prob};
                chk_sample_row(o, cells);
            }
            hx_free(files[i]);
        }
        hx_free(files);
    }
    if (a.dir && !found) {
        const char *cells[] = {a.dir, "no such folder in the solution"};
        chk_sample_row(o, cells);
    }
    bool readme = true;
    char words[200], secs[200];
    chk_join_words(words, sizeof words, a.words, a.nwords);
    chk_join_words(secs, sizeof secs, a.sec, a.nsec);
    if (a.nwords) {
        readme =
            file_has_all(ctx, "README.md", a.words, a.nwords, miss, sizeof miss, why, sizeof why);
        if (!readme) {
            char prob[sizeof why];
            if (*why && !*unreadable) snprintf(unreadable, sizeof unreadable, "%s", why);
            if (*why)
                snprintf(prob, sizeof prob, "%s", why);
            else
                snprintf(prob, sizeof prob, "missing, or does not explain %s", words);
            const char *cells[] = {"README.md", prob};
            chk_sample_row(o, cells);
        }
    }
    chk_setf(&o->expected, ">= %lld ADR%s with %s in %s%s%s", a.min, a.min == 1 ? "" : "s", secs,
             a.dir ? a.dir : "docs/adr, adr or docs/decisions", a.nwords ? "; README on " : "",
             a.nwords ? words : "");
    chk_setf(&o->actual, "%lld complete ADR%s, %lld incomplete%s%s", good, good == 1 ? "" : "s",
             bad, a.nwords ? "; README " : "",
             a.nwords ? (readme ? "ok" : "missing or incomplete") : "");
    if (*unreadable)
        chk_set_outcome(o, CHK_FAIL, "%s", unreadable);
    else if (bad > 0 || !readme)
        chk_set_outcome(o, CHK_FAIL, "the decision records are incomplete");
    else if (good < a.min)
        chk_set_outcome(o, CHK_FAIL, "%lld complete ADR%s, %lld needed (min = %lld)%s", good,
                        good == 1 ? "" : "s", a.min, a.min,
                        a.dir && !found ? "; no folder there" : "");
    else
        chk_set_outcome(o, CHK_PASS, NULL);
    adr_opts_release(&a);
}

const chk_kind chk_kind_adr = {
    .name = "adr",
    .keys = (const char *const[]){"dir", "min", "sections", "readme", NULL},
    .flags = CHK_K_NO_DB,
    .run = check_adr,
    .validate = validate_adr,
    .summary = "the solution has at least min complete decision records and a README on design "
               "and cost",
};
