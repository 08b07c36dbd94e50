/* chk_readme.c - readme: the solution's README.md has the sections the challenge asks for, each
 * with some text, and a monthly cost it claims agrees with the one the run measured. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "check_int.h"

#define MAX_SECTIONS 16

/* The check's options, read from its JSON parameters. */
typedef struct readme_opts {
    const char *file;              /* the README, relative to the solution (borrowed) */
    const char *sec[MAX_SECTIONS]; /* words a heading must hold, one section each (borrowed) */
    size_t nsec;                   /* number of them */
    const char *cost_word;         /* the section that holds the cost claim (borrowed) */
    double tolerance;              /* allowed |claim - measured| / measured */
    json_t *js[4];                 /* the parsed parameters, released by readme_opts_release */
} readme_opts;

static void readme_opts_release(readme_opts *a)
{
    for (size_t i = 0; i < 4; i++)
        json_decref(a->js[i]);
}

/* "25%" or 0.25 into *out (0 .. 100). */
static bool read_ratio(const json_t *j, double *out)
{
    if (json_is_number(j)) {
        *out = json_number_value(j);
    } else if (json_is_string(j)) {
        char *end = NULL;
        const char *s = json_string_value(j);
        *out = strtod(s, &end);
        if (end == s || strcmp(end, "%") != 0) return false;
        *out /= 100;
    } else {
        return false;
    }
    return *out >= 0 && *out <= 100;
}

/* Defaults: README.md; sections design, trade-off, cost; the claim in the section whose word has
 * "cost" in it (else the last); tolerance 50%. Returns 0, or -1 with what is wrong in err. */
static int readme_opts_read(const plan_check *c, readme_opts *a, char *err, size_t n)
{
    static const char *const sections[] = {"design", "trade-off", "cost"};
    memset(a, 0, sizeof *a);
    a->file = "README.md";
    a->nsec = 3;
    memcpy(a->sec, sections, sizeof sections);
    a->tolerance = 0.5;
    static const char *const keys[] = {"file", "sections", "cost_tolerance", "cost_section"};
    if (chk_params_read(c, keys, 4, a->js, err, n) != 0) return -1;
    if (a->js[0] && !(a->file = chk_param_rel_path(a->js[0])))
        return snprintf(err, n, "file: a file inside the solution, like \"README.md\""), -1;
    if (a->js[1] && !chk_param_words(a->js[1], a->sec, MAX_SECTIONS, &a->nsec))
        return snprintf(err, n, "sections: a list of 1 to 16 non-empty words, like { \"design\" }"),
               -1;
    if (a->js[2] && !read_ratio(a->js[2], &a->tolerance))
        return snprintf(err, n, "cost_tolerance: a fraction like 0.25, or \"25%%\""), -1;
    if (a->js[3]) {
        a->cost_word = json_string_value(a->js[3]);
        if (!a->cost_word || !*a->cost_word)
            return snprintf(err, n, "cost_section: one of the section words"), -1;
    }
    bool listed = !a->cost_word;
    for (size_t i = 0; a->cost_word && i < a->nsec; i++)
        listed |= strcmp(a->sec[i], a->cost_word) == 0;
    if (!listed) return snprintf(err, n, "cost_section: one of the section words"), -1;
    if (!a->cost_word) {
        a->cost_word = a->sec[a->nsec - 1];
        for (size_t i = 0; i < a->nsec; i++)
            if (strstr(a->sec[i], "cost")) a->cost_word = a->sec[i];
    }
    return 0;
}

static int validate_readme(const plan_check *c, const plan_scenario *s, char *err, size_t n)
{
    (void)s;
    readme_opts a;
    int rc = readme_opts_read(c, &a, err, n);
    readme_opts_release(&a);
    return rc;
}

/* Lower-case letters and digits of s into out: "Trade-offs" -> "tradeoffs". */
static void fold(const char *s, size_t len, char *out, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < len && k + 1 < n; i++)
        if (isalnum((unsigned char)s[i])) out[k++] = (char)tolower((unsigned char)s[i]);
    out[k] = '\0';
}

/* A Markdown ATX heading: its level (1-6) and text, or 0. */
static int heading(const char *line, size_t len, const char **text, size_t *tlen)
{
    size_t i = 0;
    while (i < len && i < 3 && line[i] == ' ')
        i++;
    int level = 0;
    while (i < len && line[i] == '#' && level < 7) {
        level++;
        i++;
    }
    if (level == 0 || level > 6 || (i < len && line[i] != ' ' && line[i] != '\t')) return 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    *text = line + i;
    *tlen = len - i;
    return level;
}

/* One section of the README: its heading's line range. */
typedef struct section {
    size_t start, end; /* byte offsets: the body, from after the heading to the next heading of the
                          same or a higher level (or the end) */
    bool has_text;     /* the body has a line that is neither blank nor a heading */
} section;

/* Find the section whose heading holds word (folded); false when none. */
static bool find_section(const char *text, const char *word, section *out)
{
    char want[128], got[512];
    fold(word, strlen(word), want, sizeof want);
    if (!want[0]) return false;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *t;
        size_t tl;
        int level = heading(p, len, &t, &tl);
        const char *next = nl ? nl + 1 : p + len;
        if (level) {
            fold(t, tl, got, sizeof got);
            if (strstr(got, want)) {
                out->start = (size_t)(next - text);
                out->has_text = false;
                const char *q = next;
                while (*q) {
                    const char *qn = strchr(q, '\n');
                    size_t ql = qn ? (size_t)(qn - q) : strlen(q);
                    int l2 = heading(q, ql, &t, &tl);
                    if (l2 && l2 <= level) break;
                    for (size_t i = 0; !l2 && i < ql; i++)
                        if (!isspace((unsigned char)q[i])) out->has_text = true;
                    q = qn ? qn + 1 : q + ql;
                }
                out->end = (size_t)(q - text);
                return true;
            }
        }
        p = next;
    }
    return false;
}

/* Whether the same line of text as [at, at + len) says "month" within 40 bytes either side. */
static bool near_month(const char *text, size_t lo, size_t hi, size_t at, size_t len)
{
    size_t a = at > lo + 40 ? at - 40 : lo, b = at + len + 40 < hi ? at + len + 40 : hi;
    for (size_t i = at; i > a; i--)
        if (text[i - 1] == '\n') {
            a = i;
            break;
        }
    for (size_t i = at + len; i < b; i++)
        if (text[i] == '\n') {
            b = i;
            break;
        }
    for (size_t i = a; i + 5 <= b; i++)
        if (strncasecmp(text + i, "month", 5) == 0 ||
            (i + 3 <= b && strncasecmp(text + i, "/mo", 3) == 0))
            return true;
    return false;
}

/* A number at text + i ("1,234.56"), its value and length; false when none. */
static bool number_at(const char *text, size_t i, size_t hi, double *v, size_t *len)
{
    char buf[64];
    size_t k = 0, j = i;
    bool digit = false;
    while (j < hi && k + 1 < sizeof buf &&
           (isdigit((unsigned char)text[j]) || text[j] == ',' ||
            (text[j] == '.' && j + 1 < hi && isdigit((unsigned char)text[j + 1])))) {
        if (text[j] != ',') buf[k++] = text[j];
        digit |= isdigit((unsigned char)text[j]) != 0;
        j++;
    }
    if (!digit || !isdigit((unsigned char)text[i])) return false;
    buf[k] = '\0';
    *v = strtod(buf, NULL);
    *len = j - i;
    return true;
}

/* The first monthly cost claimed in text[lo, hi): "$12.50 a month", "USD 40/month", "12 usd per
 * month", "monthly: $3". Returns false when there is none. */
static bool cost_claim(const char *text, size_t lo, size_t hi, double *usd, char *quote, size_t qn)
{
    for (size_t i = lo; i < hi; i++) {
        double v;
        size_t nl, s = i, e;
        if (text[i] == '$' && number_at(text, i + 1, hi, &v, &nl)) {
            e = i + 1 + nl;
        } else if (i + 3 < hi && strncasecmp(text + i, "usd", 3) == 0 &&
                   (i == lo || !isalpha((unsigned char)text[i - 1]))) {
            size_t j = i + 3;
            while (j < hi && text[j] == ' ')
                j++;
            if (!number_at(text, j, hi, &v, &nl)) continue;
            e = j + nl;
        } else if (isdigit((unsigned char)text[i]) &&
                   (i == lo || !(isalnum((unsigned char)text[i - 1]) || text[i - 1] == '.' ||
                                 text[i - 1] == ',' || text[i - 1] == '$')) &&
                   number_at(text, i, hi, &v, &nl)) {
            size_t j = i + nl;
            while (j < hi && text[j] == ' ')
                j++;
            if (!(j + 3 <= hi && strncasecmp(text + j, "usd", 3) == 0)) {
                i += nl - 1;
                continue;
            }
            e = j + 3;
        } else {
            continue;
        }
        if (near_month(text, lo, hi, s, e - s)) {
            *usd = v;
            size_t l = e - s < qn - 1 ? e - s : qn - 1;
            memcpy(quote, text + s, l);
            quote[l] = '\0';
            return true;
        }
        i = e - 1;
    }
    return false;
}

int chk_read_doc(const chk_ctx *ctx, const char *rel, char **text, char *why, size_t wn)
{
    *text = NULL;
    why[0] = '\0';
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", ctx->solution_dir, rel);
    hx_err e = {0};
    if (hx_read_input_in(ctx->solution_dir, path, HX_IN_DOC, text, NULL, &e) == 0) return 0;
    struct stat st;
    if (lstat(path, &st) != 0) return 1;
    /* The message names the file as the solution's author knows it: rel, not the full path. */
    const char *at = strstr(e.msg, path);
    if (at)
        snprintf(why, wn, "%.*s%s%s", (int)(at - e.msg), e.msg, rel, at + strlen(path));
    else
        snprintf(why, wn, "%s", e.msg);
    return -1;
}

/* readme: file (README.md) has a heading holding each section word (letters and digits compared,
 * case-insensitively: "## Trade-offs" holds "trade-off"), each followed by some text; a monthly
 * cost claimed in the cost section is within cost_tolerance of the measured cost.monthly.usd. */
static void check_readme(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    if (!ctx->solution_dir) {
        chk_set_outcome(o, CHK_ERROR, "no solution folder");
        return;
    }
    readme_opts a;
    char err[200];
    if (readme_opts_read(c, &a, err, sizeof err) != 0) {
        chk_set_outcome(o, CHK_ERROR, "%s", err);
        readme_opts_release(&a);
        return;
    }
    const char *titles[] = {"section", "problem"};
    chk_sample_cols(o, 2, titles);
    char secs[300];
    chk_join_words(secs, sizeof secs, a.sec, a.nsec);
    chk_setf(&o->expected,
             "%s with sections on %s; a monthly cost claimed within %.0f%% of the measured one",
             a.file, secs, a.tolerance * 100);
    char *text = NULL, why[sizeof((hx_err *)0)->msg];
    int got = chk_read_doc(ctx, a.file, &text, why, sizeof why);
    if (got != 0) {
        /* There but unreadable (a FIFO, a device, over the cap): say what it is. */
        const char *cells[] = {a.file, got < 0 ? why : "no such file in the solution"};
        chk_sample_row(o, cells);
        if (got < 0) {
            chk_setf(&o->actual, "%s unreadable", a.file);
            chk_set_outcome(o, CHK_FAIL, "%s", why);
        } else {
            chk_setf(&o->actual, "no %s", a.file);
            chk_set_outcome(o, CHK_FAIL, "the solution has no %s", a.file);
        }
        readme_opts_release(&a);
        return;
    }
    char missing[300] = "", empty[300] = "";
    section cost = {0};
    bool have_cost = false;
    for (size_t i = 0; i < a.nsec; i++) {
        section sec;
        char prob[200];
        if (!find_section(text, a.sec[i], &sec)) {
            snprintf(prob, sizeof prob, "no heading holds '%s'", a.sec[i]);
            size_t l = strlen(missing);
            snprintf(missing + l, sizeof missing - l, "%s%s", l ? ", " : "", a.sec[i]);
        } else if (!sec.has_text) {
            snprintf(prob, sizeof prob, "the section under its heading is empty");
            size_t l = strlen(empty);
            snprintf(empty + l, sizeof empty - l, "%s%s", l ? ", " : "", a.sec[i]);
        } else {
            if (strcmp(a.sec[i], a.cost_word) == 0) cost = sec, have_cost = true;
            continue;
        }
        const char *cells[] = {a.sec[i], prob};
        chk_sample_row(o, cells);
    }
    double claim = NAN;
    char quote[64] = "", claim_note[300] = "no monthly cost claimed";
    bool off = false;
    if (have_cost && cost_claim(text, cost.start, cost.end, &claim, quote, sizeof quote)) {
        if (!ctx->has_cost) {
            snprintf(claim_note, sizeof claim_note,
                     "claims %s a month; no measured cost to compare", quote);
        } else {
            double m = ctx->cost_monthly_usd;
            double rel = fabs(claim - m) / fmax(fabs(m), 0.01);
            off = rel > a.tolerance + 1e-12;
            snprintf(claim_note, sizeof claim_note,
                     "claims %s a month, the run measured $%.4g (%s%.0f%%, tolerance %.0f%%)",
                     quote, m, claim >= m ? "+" : "-", rel * 100, a.tolerance * 100);
            if (off) {
                const char *cells[] = {a.cost_word, claim_note};
                chk_sample_row(o, cells);
            }
        }
    }
    chk_setf(&o->actual, "sections missing: %s; empty: %s; %s", missing[0] ? missing : "none",
             empty[0] ? empty : "none", claim_note);
    if (missing[0] || empty[0])
        chk_set_outcome(o, CHK_FAIL, "%s lacks %s%s%s%s", a.file, missing[0] ? "sections on " : "",
                        missing,
                        missing[0] && empty[0] ? " and text under "
                        : empty[0]             ? "text under "
                                               : "",
                        empty);
    else if (off)
        chk_set_outcome(o, CHK_FAIL, "%s %s", a.file, claim_note);
    else
        chk_set_outcome(o, CHK_PASS, NULL);
    hx_free(text);
    readme_opts_release(&a);
}

const chk_kind chk_kind_readme = {
    .name = "readme",
    .keys = (const char *const[]){"file", "sections", "cost_tolerance", "cost_section", NULL},
    .flags = CHK_K_AFTER_COST | CHK_K_NO_DB,
    .run = check_readme,
    .validate = validate_readme,
    .summary = "the solution's README has the sections asked for, and a monthly cost it claims "
               "is near the measured one",
};
