/* test_check_readme.c - the readme check: the README's sections (headings holding the words, with
 * text under them), the monthly cost it claims against the measured one, the options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "check.h"

typedef struct fx {
    char dir[64];
    chk_ctx ctx;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_readme_XXXXXX");
    if (!mkdtemp(f->dir)) fail_msg("mkdtemp failed");
    f->ctx = (chk_ctx){.solution_dir = f->dir};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    hx_rm_rf(f->dir);
    free(f);
    return 0;
}

static void put_readme(const fx *f, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    FILE *o = fopen(path, "w");
    assert_non_null(o);
    fputs(text, o);
    fclose(o);
}

/* Runs a readme check with options given as key, JSON text pairs (NULL-terminated). */
static chk_status run(fx *f, chk_outcome *o, ...)
{
    static plan_param params[8];
    size_t n = 0;
    va_list ap;
    va_start(ap, o);
    const char *k;
    while (n < 8 && (k = va_arg(ap, const char *))) {
        params[n].key = (char *)k;
        params[n].json = va_arg(ap, char *);
        n++;
    }
    va_end(ap);
    plan_check c = {.kind = PLAN_CHK_README, .name = "readme", .params = params, .nparams = n};
    chk_run(&f->ctx, &c, o);
    return o->status;
}

static const char good[] =
    "# My pipeline\n\n## Design\nCOPY, then set operations.\n\n"
    "## Trade-offs\nSimple over clever.\n\n"
    "## Cost analysis\n\n### AWS\nAbout $14.50 a month at production scale.\n";

static void test_readme__sections_and_claim(void **state)
{
    fx *f = *state;
    chk_outcome o;
    put_readme(f, "README.md", good);
    f->ctx.has_cost = true;
    f->ctx.cost_monthly_usd = 14.0;
    assert_int_equal(run(f, &o, NULL), CHK_PASS);
    assert_non_null(strstr(o.actual, "claims $14.50 a month, the run measured $14"));
    chk_outcome_release(&o);
    /* Not priced: the claim is read but not compared. */
    f->ctx.has_cost = false;
    assert_int_equal(run(f, &o, NULL), CHK_PASS);
    assert_non_null(strstr(o.actual, "no measured cost to compare"));
    chk_outcome_release(&o);
}

static void test_readme__claim_far_from_measured_fails(void **state)
{
    fx *f = *state;
    chk_outcome o;
    put_readme(f, "README.md", good);
    f->ctx.has_cost = true;
    f->ctx.cost_monthly_usd = 40.0; /* $14.50 claimed: -64% */
    assert_int_equal(run(f, &o, NULL), CHK_FAIL);
    assert_non_null(strstr(o.message, "claims $14.50 a month, the run measured $40 (-64%, "
                                      "tolerance 50%)"));
    assert_int_equal(o.sample.nrows, 1);
    assert_string_equal(o.sample.cells[0], "cost");
    chk_outcome_release(&o);
    /* A wider tolerance lets it pass; "70%" and 0.7 are the same. */
    assert_int_equal(run(f, &o, "cost_tolerance", "\"70%\"", NULL), CHK_PASS);
    chk_outcome_release(&o);
    assert_int_equal(run(f, &o, "cost_tolerance", "0.7", NULL), CHK_PASS);
    chk_outcome_release(&o);
    /* Other ways to write a claim. */
    const char *claims[] = {"USD 40/month", "40 USD per month", "monthly: $1,040.00", "$40/mo"};
    double measured[] = {40, 40, 1040, 40};
    for (size_t i = 0; i < 4; i++) {
        char text[512];
        snprintf(text, sizeof text, "## Design\nx\n## Trade-offs\ny\n## Cost\nWe pay %s here.\n",
                 claims[i]);
        put_readme(f, "README.md", text);
        f->ctx.cost_monthly_usd = measured[i];
        assert_int_equal(run(f, &o, NULL), CHK_PASS);
        chk_outcome_release(&o);
        f->ctx.cost_monthly_usd = measured[i] * 3;
        if (run(f, &o, NULL) != CHK_FAIL)
            fail_msg("'%s' against %g: %s", claims[i], measured[i] * 3, o.actual);
        chk_outcome_release(&o);
    }
    /* Numbers that are not a monthly cost are not a claim. */
    put_readme(f, "README.md",
               "## Design\nx\n## Trade-offs\ny\n## Cost\n3 COPY calls; $5 a run.\n");
    assert_int_equal(run(f, &o, NULL), CHK_PASS);
    assert_non_null(strstr(o.actual, "no monthly cost claimed"));
    chk_outcome_release(&o);
}

static void test_readme__missing_or_empty_sections(void **state)
{
    fx *f = *state;
    chk_outcome o;
    /* No cost section: fails naming it. */
    put_readme(f, "README.md", "# x\n## Design\ntext\n## Tradeoffs\ntext\n");
    assert_int_equal(run(f, &o, NULL), CHK_FAIL);
    assert_string_equal(o.message, "README.md lacks sections on cost");
    assert_string_equal(o.sample.cells[0], "cost");
    chk_outcome_release(&o);
    /* The word in the text but not in a heading does not make a section. */
    put_readme(f, "README.md", "# x\nThe cost is low.\n## Design\nt\n## Trade-offs\nt\n");
    assert_int_equal(run(f, &o, NULL), CHK_FAIL);
    chk_outcome_release(&o);
    /* A heading with nothing under it (the next heading is of the same level). */
    put_readme(f, "README.md", "## Design\nt\n## Trade-offs\n\n## Cost\nt\n");
    assert_int_equal(run(f, &o, NULL), CHK_FAIL);
    assert_string_equal(o.message, "README.md lacks text under trade-off");
    chk_outcome_release(&o);
    /* No README at all. */
    unlink(strcat(strcpy((char[128]){0}, f->dir), "/README.md"));
    assert_int_equal(run(f, &o, NULL), CHK_FAIL);
    assert_string_equal(o.message, "the solution has no README.md");
    chk_outcome_release(&o);
    /* Other words and another file. */
    put_readme(f, "NOTES.md", "## Scaling\nt\n");
    assert_int_equal(run(f, &o, "file", "\"NOTES.md\"", "sections", "[\"scaling\"]", NULL),
                     CHK_PASS);
    chk_outcome_release(&o);
}

static void test_readme__bad_options_error(void **state)
{
    fx *f = *state;
    chk_outcome o;
    put_readme(f, "README.md", good);
    assert_int_equal(run(f, &o, "file", "\"../x.md\"", NULL), CHK_ERROR);
    chk_outcome_release(&o);
    assert_int_equal(run(f, &o, "sections", "[]", NULL), CHK_ERROR);
    chk_outcome_release(&o);
    assert_int_equal(run(f, &o, "cost_tolerance", "\"a lot\"", NULL), CHK_ERROR);
    chk_outcome_release(&o);
    assert_int_equal(run(f, &o, "cost_section", "\"budget\"", NULL), CHK_ERROR);
    chk_outcome_release(&o);
    f->ctx.solution_dir = NULL;
    assert_int_equal(run(f, &o, NULL), CHK_ERROR);
    chk_outcome_release(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_readme__sections_and_claim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readme__claim_far_from_measured_fails, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_readme__missing_or_empty_sections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readme__bad_options_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
