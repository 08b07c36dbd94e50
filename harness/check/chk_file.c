/* chk_file.c - file: a file the solution writes into its output folder (CSV or JSONL), counted or
 * compared by key with the truth. */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_int.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

const char *chk_rec_val(void *ud, size_t cc, char *buf, size_t n)
{
    rec_row *fr = ud;
    const plan_column *col = &fr->d->ds->cols[fr->d->cols[cc]];
    fr->idx[cc] = chk_field_index(fr->rec, col->name, fr->idx[cc]);
    if (fr->idx[cc] < 0)
        return NULL; /* a JSON key left out is a NULL; a CSV column left out fails before this
                      */
    return chk_canon_file(col, fr->rec->values[fr->idx[cc]], buf, n);
}

/* What is wrong with rel as a path in the output folder (absolute, or a ".." part), NULL when
 * nothing: `harness check` refuses it at the scenario's line, the run once more. */
static const char *path_rule(const char *rel)
{
    if (rel[0] == '/') return "must be relative to the output folder";
    for (const char *p = rel; *p;) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.') return "may not leave the output folder";
        p += len + (p[len] == '/');
    }
    return NULL;
}

static int validate_file(const plan_check *c, const plan_scenario *s, char *err, size_t n)
{
    (void)s;
    const char *rel = c->table ? c->table : c->column;
    const char *why = rel ? path_rule(rel) : NULL;
    if (!why) return 0;
    snprintf(err, n, "path: '%s' %s (write a path like \"out/orders.csv\")", rel, why);
    return -1;
}

/* Resolve rel under the output folder: no absolute paths, no "..", and (symlinks resolved) the
 * file must still be inside the folder. Fills path; false with the outcome set otherwise. */
static bool file_path(const chk_ctx *ctx, const char *rel, chk_outcome *o, char *path, size_t n)
{
    const char *why = path_rule(rel);
    if (why) {
        chk_set_outcome(o, CHK_ERROR, "file path '%s' %s", rel, why);
        return false;
    }
    snprintf(path, n, "%s/%s", ctx->output_dir, rel);
    char *root = realpath(ctx->output_dir, NULL);
    char *real = realpath(path, NULL);
    bool ok = true;
    if (!real) {
        chk_set_text(&o->actual, "missing");
        chk_set_outcome(o, CHK_FAIL, "the solution did not write %s", rel);
        ok = false;
    } else if (!root) {
        chk_set_outcome(o, CHK_ERROR, "cannot resolve the output folder '%s'", ctx->output_dir);
        ok = false;
    } else {
        size_t rl = strlen(root);
        bool inside =
            strncmp(real, root, rl) == 0 && (real[rl] == '/' || real[rl] == '\0' || rl == 1);
        if (!inside) {
            chk_setf(&o->actual, "a link to %s", real);
            chk_set_outcome(o, CHK_FAIL, "%s leads outside the output folder (to %s)", rel, real);
            ok = false;
        }
    }
    free(root);
    free(real);
    return ok;
}

/* file: the solution wrote path into its output folder. It must exist and not be empty; in CSV
 * or JSONL (format = "csv" | "jsonl", else by the extension) every record must parse, and:
 * equals/expect a number: that many rows; a query without aggregate and a key: the rows of the
 * query, compared by key like diff (columns = the compared ones); any other row query or
 * :count(): that many rows. */
static void check_file(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    const char *rel = c->table ? c->table : c->column;
    if (!rel || !ctx->output_dir) {
        chk_set_outcome(o, CHK_ERROR, "file needs path = \"...\" relative to the output folder");
        return;
    }
    char path[4096];
    chk_setf(&o->expected, "%s in the output folder", rel);
    if (!file_path(ctx, rel, o, path, sizeof path)) return;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        chk_set_text(&o->actual, "not a regular file");
        chk_set_outcome(o, CHK_FAIL, "%s is not a regular file", rel);
        return;
    }
    const char *fmt = chk_param_json(c, "format");
    int format = -1;
    if (fmt && strcmp(fmt, "\"csv\"") == 0)
        format = RD_CSV;
    else if (fmt && strcmp(fmt, "\"jsonl\"") == 0)
        format = RD_JSONL;
    else if (fmt) {
        chk_set_outcome(o, CHK_ERROR, "file.format must be \"csv\" or \"jsonl\", got %s", fmt);
        return;
    } else if (ends_with(rel, ".csv"))
        format = RD_CSV;
    else if (ends_with(rel, ".jsonl") || ends_with(rel, ".ndjson"))
        format = RD_JSONL;

    const plan_expect *x = &c->expect;
    bool by_key = x->kind == PLAN_EXP_QUERY && c->key;
    /* With an expectation an empty file is a file of no rows (JSONL has no other way to say
     * it). */
    if (format < 0 || (x->kind == PLAN_EXP_NONE && st.st_size == 0)) {
        if (x->kind != PLAN_EXP_NONE) {
            chk_set_outcome(o, CHK_ERROR,
                            "cannot tell the format of %s: add format = \"csv\" or \"jsonl\"", rel);
            return;
        }
        chk_setf(&o->expected, "%s exists and is not empty", rel);
        chk_setf(&o->actual, "%lld bytes", (long long)st.st_size);
        chk_set_outcome(o, st.st_size > 0 ? CHK_PASS : CHK_FAIL,
                        st.st_size > 0 ? NULL : "empty file");
        return;
    }
    if (x->kind == PLAN_EXP_STRING) {
        chk_set_outcome(o, CHK_ERROR, "file compares rows: expect a number of rows or a query");
        return;
    }
    if (x->kind == PLAN_EXP_QUERY && x->query.agg != PLAN_AGG_ROWS &&
        (by_key || x->query.agg != PLAN_AGG_COUNT)) {
        chk_set_outcome(o, CHK_ERROR, "file compares rows: expect %s",
                        by_key ? "a query without aggregate (e.g. orders:valid()) to compare by key"
                               : "a query without aggregate or ending in :count()");
        return;
    }

    /* What the rows must be: a count, or the truth by key. */
    double want_rows = NAN;
    diff_state d;
    int *cols = NULL;
    memset(&d, 0, sizeof d);
    if (by_key) {
        if (!chk_diff_init(ctx, c, o, &d, &cols)) return;
    } else if (x->kind == PLAN_EXP_QUERY) {
        plan_expect cx = *x;
        cx.query.agg = PLAN_AGG_COUNT;
        char text[64];
        if (!chk_expect_scalar(ctx, &cx, o, &want_rows, text, sizeof text)) return;
    } else if (x->kind == PLAN_EXP_NUMBER) {
        want_rows = x->number;
    }

    rd_opts ro = {.format = (rd_format)format, .tolerant = true, .utf8 = true};
    hx_err e = {0};
    rd_reader *r = rd_open(path, &ro, &e);
    if (!r) {
        chk_set_text(&o->actual, "unreadable");
        chk_set_outcome(o, e.code == HX_EIO ? CHK_ERROR : CHK_FAIL, "%s", e.msg);
        goto done;
    }
    size_t max = ctx->max_samples ? ctx->max_samples : CHK_DEFAULT_SAMPLES;
    if (by_key) {
        /* A CSV file names its columns once: a missing one fails the check here (an empty file
         * has no header, and no rows to compare either). */
        const char *const *hdr;
        size_t nh = rd_columns(r, &hdr);
        for (size_t i = 0; format == RD_CSV && nh && i <= d.ncols; i++) {
            const char *want = d.ds->cols[i < d.ncols ? cols[i] : d.key_col].name;
            size_t k = 0;
            while (k < nh && strcmp(hdr[k], want) != 0)
                k++;
            if (k == nh) {
                chk_setf(&o->actual, "no column %s", want);
                chk_set_outcome(o, CHK_FAIL, "%s has no column '%s'", rel, want);
                goto done;
            }
        }
        chk_diff_sample_titles(&d, o);
    } else {
        const char *titles[] = {"where", "problem"};
        chk_sample_cols(o, 2, titles);
    }
    int *idx = by_key ? hx_malloc(d.ncols * sizeof *idx + 1) : NULL;
    if (by_key && !idx) {
        chk_set_outcome(o, CHK_ERROR, "out of memory");
        goto done;
    }
    for (size_t i = 0; idx && i < d.ncols; i++)
        idx[i] = -1;
    uint64_t rows = 0, malformed = 0;
    size_t s_bad = 0;
    int key_guess = -1, rc;
    rd_record rec;
    char where[4200], kb[64];
    while ((rc = rd_next(r, &rec, &e)) == 1) {
        if (rec.error) {
            malformed++;
            if (s_bad++ < max) {
                snprintf(where, sizeof where, "%s:%llu", rel, (unsigned long long)rec.line);
                if (by_key) {
                    const char *cells[] = {"malformed", where, NULL, NULL, rec.error};
                    chk_sample_row(o, cells);
                } else {
                    const char *cells[] = {where, rec.error};
                    chk_sample_row(o, cells);
                }
            }
            continue;
        }
        rows++;
        if (!by_key) continue;
        const plan_column *kc = &d.ds->cols[d.key_col];
        key_guess = chk_field_index(&rec, kc->name, key_guess);
        const char *key =
            key_guess < 0 ? NULL : chk_canon_file(kc, rec.values[key_guess], kb, sizeof kb);
        rec_row fr = {&d, &rec, idx};
        chk_diff_row(&d, o, key, chk_rec_val, &fr);
    }
    hx_free(idx);
    if (rc < 0) {
        chk_set_outcome(o, e.code == HX_EIO || e.code == HX_ENOMEM ? CHK_ERROR : CHK_FAIL, "%s",
                        e.msg);
        goto done;
    }
    char bad[64] = "";
    if (malformed) snprintf(bad, sizeof bad, ", %llu malformed", (unsigned long long)malformed);
    if (by_key) {
        uint64_t expected_rows = chk_diff_missing(&d, o);
        chk_setf(&o->expected, "%llu rows", (unsigned long long)expected_rows);
        chk_setf(&o->actual, "%llu rows: %llu missing, %llu extra, %llu mismatched%s",
                 (unsigned long long)rows, (unsigned long long)o->missing,
                 (unsigned long long)o->extra, (unsigned long long)o->mismatched, bad);
        if (o->missing + o->extra + o->mismatched + malformed == 0)
            chk_set_outcome(o, CHK_PASS, NULL);
        else
            chk_set_outcome(o, CHK_FAIL, "%llu missing, %llu extra, %llu mismatched rows%s%s",
                            (unsigned long long)o->missing, (unsigned long long)o->extra,
                            (unsigned long long)o->mismatched, malformed ? "; " : "",
                            malformed ? bad + 2 : "");
    } else if (!isnan(want_rows)) {
        chk_setf(&o->expected, "%.17g rows", want_rows);
        chk_setf(&o->actual, "%llu rows%s", (unsigned long long)rows, bad);
        bool count_ok = (double)rows == want_rows;
        if (count_ok && !malformed)
            chk_set_outcome(o, CHK_PASS, NULL);
        else if (count_ok)
            chk_set_outcome(o, CHK_FAIL, "%llu malformed records", (unsigned long long)malformed);
        else
            chk_set_outcome(o, CHK_FAIL, "%llu rows, expected %.17g%s", (unsigned long long)rows,
                            want_rows, bad);
    } else {
        chk_setf(&o->expected, "%s exists, is not empty and every record parses", rel);
        chk_setf(&o->actual, "%llu rows%s", (unsigned long long)rows, bad);
        chk_set_outcome(o, malformed ? CHK_FAIL : CHK_PASS,
                        malformed ? "%llu malformed records" : NULL, (unsigned long long)malformed);
    }
done:
    rd_close(r);
    exp_map_release(&d.m);
    hx_free(cols);
}

const chk_kind chk_kind_file = {
    .name = "file",
    .keys = (const char *const[]){"path", "format", "expect", "equals", "columns", "key", NULL},
    .flags = CHK_K_NEEDS_TABLE | CHK_K_ROWS | CHK_K_BY_KEY | CHK_K_NO_DB,
    .run = check_file,
    .validate = validate_file,
    .summary = "a file in the output folder parses and holds the expected rows",
};
