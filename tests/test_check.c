/* test_check.c - the built-in checks that need no database: file (existence, path guards, row
 * counts, malformed records with file:line samples, a keyed comparison with the truth in CSV and
 * JSONL, canonical values) and adr (dir, min, what an ADR and the README must hold). The checks
 * against PostgreSQL run in the run transcript. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "check.h"
#include "fmt.h"
#include "gen_fixture.h"

typedef struct fx {
    plan_scenario *s;
    gen *g;
    char dir[64];
    chk_ctx ctx;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->s = fx_scenario();
    plan_dataset *d = fx_orders(f->s, 300, 9);
    for (size_t c = 1; c < d->ncols; c++)
        d->cols[c].null_frac = 0.1;
    hx_err e = {0};
    if (gen_new(f->s, &f->g, &e) != 0) fail_msg("gen_new: %s", e.msg);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_check_XXXXXX");
    if (!mkdtemp(f->dir)) fail_msg("mkdtemp failed");
    f->ctx = (chk_ctx){.g = f->g, .s = f->s, .output_dir = f->dir};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    hx_rm_rf(f->dir);
    gen_free(f->g);
    fx_free(f->s);
    free(f);
    return 0;
}

static void put_file(const fx *f, const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->dir, rel);
    FILE *o = fopen(path, "w");
    assert_non_null(o);
    fputs(text, o);
    fclose(o);
}

/* A file check on rel; the strings are borrowed. */
static plan_check file_check(const char *rel)
{
    return (plan_check){.kind = PLAN_CHK_FILE, .name = "file", .table = (char *)rel};
}

static plan_param format_param = {.key = "format", .json = NULL};

static void set_format(plan_check *c, const char *json)
{
    format_param.json = (char *)json;
    c->params = &format_param;
    c->nparams = 1;
}

static plan_expect rows_query(void)
{
    plan_expect x = {.kind = PLAN_EXP_QUERY};
    x.query.dataset = 0;
    x.query.agg = PLAN_AGG_ROWS;
    x.query.col = x.query.group_col = -1;
    x.query.sub.dedup_col = -1;
    x.query.sub.group_day_col = -1;
    return x;
}

static chk_outcome run(const fx *f, const plan_check *c)
{
    chk_outcome o;
    chk_run(&f->ctx, c, &o);
    return o;
}

/* Whether some sample row has cell col equal to text. */
static bool sample_has(const chk_outcome *o, size_t col, const char *text)
{
    for (size_t r = 0; r < o->sample.nrows; r++) {
        const char *v = o->sample.cells[r * o->sample.ncols + col];
        if (v && strcmp(v, text) == 0) return true;
    }
    return false;
}

static void test_check__file_exists(void **state)
{
    fx *f = *state;
    put_file(f, "notes.txt", "hello\n");
    put_file(f, "empty.csv", "");
    plan_check c = file_check("notes.txt");
    chk_outcome o = run(f, &c);
    assert_int_equal(o.status, CHK_PASS);
    chk_outcome_release(&o);
    c = file_check("empty.csv");
    o = run(f, &c);
    assert_int_equal(o.status, CHK_FAIL);
    assert_string_equal(o.message, "empty file");
    chk_outcome_release(&o);
    c = file_check("nope.csv");
    o = run(f, &c);
    assert_int_equal(o.status, CHK_FAIL);
    assert_string_equal(o.message, "the solution did not write nope.csv");
    chk_outcome_release(&o);
    char sub[128];
    snprintf(sub, sizeof sub, "%s/sub", f->dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    c = file_check("sub");
    o = run(f, &c);
    assert_int_equal(o.status, CHK_FAIL);
    assert_string_equal(o.message, "sub is not a regular file");
    chk_outcome_release(&o);
    /* the folder itself is inside it, and no file */
    c = file_check(".");
    o = run(f, &c);
    assert_int_equal(o.status, CHK_FAIL);
    assert_string_equal(o.message, ". is not a regular file");
    chk_outcome_release(&o);
}

static void test_check__file_path_guards(void **state)
{
    fx *f = *state;
    const char *bad[] = {"../x.csv", "a/../../x.csv", "..", "/etc/hostname"};
    for (size_t i = 0; i < 4; i++) {
        plan_check c = file_check(bad[i]);
        chk_outcome o = run(f, &c);
        assert_int_equal(o.status, CHK_ERROR);
        chk_outcome_release(&o);
    }
    /* a name with dots in it is fine */
    put_file(f, "a..b.txt", "x");
    plan_check c = file_check("a..b.txt");
    chk_outcome o = run(f, &c);
    assert_int_equal(o.status, CHK_PASS);
    chk_outcome_release(&o);
    /* a symlink out of the folder fails; one inside it is followed */
    char link[256];
    snprintf(link, sizeof link, "%s/out.csv", f->dir);
    assert_int_equal(symlink("/etc/passwd", link), 0);
    c = file_check("out.csv");
    o = run(f, &c);
    assert_int_equal(o.status, CHK_FAIL);
    assert_non_null(strstr(o.message, "leads outside the output folder"));
    chk_outcome_release(&o);
    snprintf(link, sizeof link, "%s/in.txt", f->dir);
    assert_int_equal(symlink("a..b.txt", link), 0);
    c = file_check("in.txt");
    o = run(f, &c);
    assert_int_equal(o.status, CHK_PASS);
    chk_outcome_release(&o);
}

static void test_check__file_row_count(void **state)
{
    fx *f = *state;
    put_file(f, "n.csv", "a,b\n1,2\n\"x\ny\",3\n,\n");
    plan_check c = file_check("n.csv");
    c.expect = (plan_expect){.kind = PLAN_EXP_NUMBER, .number = 3};
    chk_outcome o = run(f, &c);
    assert_int_equal(o.status, CHK_PASS);
    assert_string_equal(o.actual, "3 rows");
    chk_outcome_release(&o);
    c.expect.number = 4;
    o = run(f, &c);
    assert_int_equal(o.status, CHK_FAIL);
    assert_string_equal(o.message, "3 rows, expected 4");
    chk_outcome_release(&o);
    /* format by option, whatever the extension */
    put_file(f, "n.out", "{\"a\":1}\n\n{\"a\":2}\n");
    c = file_check("n.out");
    c.expect = (plan_expect){.kind = PLAN_EXP_NUMBER, .number = 2};
    o = run(f, &c);
    assert_int_equal(o.status, CHK_ERROR); /* cannot tell the format */
    assert_non_null(strstr(o.message, "format = "));
    chk_outcome_release(&o);
    set_format(&c, "\"jsonl\"");
    o = run(f, &c);
    assert_int_equal(o.status, CHK_PASS);
    chk_outcome_release(&o);
    /* with an expectation an empty file is no rows: the only way JSONL says it */
    put_file(f, "none.jsonl", "");
    plan_check c0 = file_check("none.jsonl");
    c0.expect = (plan_expect){.kind = PLAN_EXP_NUMBER, .number = 0};
    o = run(f, &c0);
    assert_int_equal(o.status, CHK_PASS);
    chk_outcome_release(&o);
    c0.expect.number = 1;
    o = run(f, &c0);
    assert_int_equal(o.status, CHK_FAIL);
    assert_string_equal(o.message, "0 rows, expected 1");
    chk_outcome_release(&o);
    set_format(&c, "\"xml\"");
    o = run(f, &c);
    assert_int_equal(o.status, CHK_ERROR);
    assert_string_equal(o.message, "file.format must be \"csv\" or \"jsonl\", got \"xml\"");
    chk_outcome_release(&o);
    /* a count query, and a row query without key, count the truth */
    char *data;
    size_t n;
    char sha[65];
    data = fx_write(f->g, 0, PLAN_FMT_CSV, -1, &n, sha, NULL);
    put_file(f, "orders.csv", data);
    free(data);
    c = file_check("orders.csv");
    c.expect = rows_query();
    o = run(f, &c);
    assert_int_equal(o.status, CHK_PASS);
    assert_string_equal(o.expected, "300 rows");
    chk_outcome_release(&o);
    c.expect.query.agg = PLAN_AGG_COUNT;
    o = run(f, &c);
    assert_int_equal(o.status, CHK_PASS);
    chk_outcome_release(&o);
    c.expect.query.agg = PLAN_AGG_SUM;
    c.expect.query.col = 1;
    o = run(f, &c);
    assert_int_equal(o.status, CHK_ERROR);
    chk_outcome_release(&o);
}

static void test_check__file_malformed(void **state)
{
    fx *f = *state;
    put_file(f, "bad.csv", "a,b\n1,2\n3\n4,ab\"c\n5,6\n\"7,8\n");
    plan_check c = file_check("bad.csv");
    chk_outcome o = run(f, &c);
    assert_int_equal(o.status, CHK_FAIL);
    assert_string_equal(o.message, "3 malformed records");
    assert_string_equal(o.actual, "2 rows, 3 malformed");
    assert_int_equal(o.sample.nrows, 3);
    assert_string_equal(o.sample.cells[0], "bad.csv:3");
    assert_string_equal(o.sample.cells[1], "1 fields, the header has 2");
    assert_string_equal(o.sample.cells[2], "bad.csv:4");
    assert_string_equal(o.sample.cells[4], "bad.csv:6");
    chk_outcome_release(&o);
    c.expect = (plan_expect){.kind = PLAN_EXP_NUMBER, .number = 2};
    o = run(f, &c);
    assert_int_equal(o.status, CHK_FAIL); /* the count is right, the file is not */
    assert_string_equal(o.message, "3 malformed records");
    chk_outcome_release(&o);
    put_file(f, "bad.jsonl", "{\"a\":1}\n{\"a\":\"\xff\"}\n[]\n");
    c = file_check("bad.jsonl");
    o = run(f, &c);
    assert_int_equal(o.status, CHK_FAIL);
    assert_true(sample_has(&o, 0, "bad.jsonl:2"));
    assert_true(sample_has(&o, 1, "expected a JSON object, got an array"));
    chk_outcome_release(&o);
}

/* Write the dataset as a solution might: every emission, except that record skip is left out,
 * record bump has its amount changed and a record with id 100000 is added. */
static void write_orders(const fx *f, const char *rel, plan_format pf, int64_t skip, int64_t bump,
                         bool extra)
{
    const plan_dataset *d = &f->s->datasets[0];
    hx_buf b;
    hx_buf_init(&b);
    fmt_header(&b, d, pf, 0);
    gen_cursor cur;
    hx_err e = {0};
    assert_int_equal(gen_cursor_init(&cur, f->g, 0, -1, &e), 0);
    const gen_record *r;
    gen_record mine;
    assert_int_equal(gen_record_init(&mine, d->ncols), 0);
    while (gen_cursor_next(&cur, &r, &e) == 1) {
        if ((int64_t)r->id == skip) continue;
        if ((int64_t)r->id == bump) {
            assert_int_equal(gen_record_at(f->g, 0, r->id, r->copy, &mine, &e), 0);
            assert_false(mine.vals[1].null);
            mine.vals[1].i += 1;
            fmt_record(&b, d, pf, &mine);
            continue;
        }
        fmt_record(&b, d, pf, r);
    }
    if (extra) {
        assert_int_equal(gen_record_at(f->g, 0, 0, 0, &mine, &e), 0);
        mine.vals[0].i = 100000;
        fmt_record(&b, d, pf, &mine);
    }
    put_file(f, rel, b.data);
    gen_record_release(&mine);
    gen_cursor_release(&cur);
    hx_buf_release(&b);
}

/* An id whose amount is not NULL. */
static int64_t id_with_amount(const fx *f)
{
    gen_record r;
    hx_err e = {0};
    gen_record_init(&r, f->s->datasets[0].ncols);
    int64_t id = 10;
    for (;; id++) {
        assert_int_equal(gen_record_at(f->g, 0, (uint64_t)id, 0, &r, &e), 0);
        if (!r.vals[1].null) break;
    }
    gen_record_release(&r);
    return id;
}

static void test_check__file_by_key(void **state)
{
    fx *f = *state;
    int64_t bump = id_with_amount(f);
    for (int pf = 0; pf < 2; pf++) {
        const char *rel = pf ? "orders.jsonl" : "orders.csv";
        plan_format fmt = pf ? PLAN_FMT_JSONL : PLAN_FMT_CSV;
        plan_check c = file_check(rel);
        c.expect = rows_query();
        c.key = "id";
        write_orders(f, rel, fmt, -1, -1, false);
        chk_outcome o = run(f, &c);
        if (o.status != CHK_PASS) fail_msg("%s: %s (%s)", rel, o.message, o.actual);
        assert_string_equal(o.expected, "300 rows");
        chk_outcome_release(&o);

        write_orders(f, rel, fmt, 3, bump, true);
        o = run(f, &c);
        assert_int_equal(o.status, CHK_FAIL);
        assert_int_equal(o.missing, 1);
        assert_int_equal(o.extra, 1);
        assert_int_equal(o.mismatched, 1);
        assert_string_equal(o.message, "1 missing, 1 extra, 1 mismatched rows");
        assert_true(sample_has(&o, 0, "missing") && sample_has(&o, 1, "4")); /* id = record 3 + 1 */
        assert_true(sample_has(&o, 0, "extra") && sample_has(&o, 1, "100000"));
        assert_true(sample_has(&o, 0, "mismatch") && sample_has(&o, 2, "amount"));
        /* missing and extra rows are sampled whole: their values, under expected or actual */
        for (size_t r = 0; r < o.sample.nrows; r++) {
            char **row = o.sample.cells + r * o.sample.ncols;
            if (strcmp(row[0], "mismatch") == 0) continue;
            bool extra = strcmp(row[0], "extra") == 0;
            assert_string_equal(row[2], "(row)");
            assert_non_null(strstr(row[extra ? 4 : 3], "amount="));
            assert_null(row[extra ? 3 : 4]);
        }
        chk_outcome_release(&o);

        /* compared columns only: the amount is not one of them */
        char *cols[] = {"id", "status"};
        c.columns = cols;
        c.ncolumns = 2;
        o = run(f, &c);
        assert_int_equal(o.mismatched, 0);
        assert_int_equal(o.missing + o.extra, 2);
        chk_outcome_release(&o);
    }
}

/* Without dedup the truth holds every version of a key: a file with each emission, original and
 * changed copy, in any order, is right; a file with only one of them lacks the other. */
static void test_check__file_by_key_every_version(void **state)
{
    fx *f = *state;
    plan_dataset *d = &f->s->datasets[0];
    plan_fault *dup = fx_fault(d, PLAN_F_DUPLICATE, 0.2, -1);
    dup->changed = 1;
    dup->gap = 5;
    gen_free(f->g);
    hx_err e = {0};
    assert_int_equal(gen_new(f->s, &f->g, &e), 0);
    f->ctx.g = f->g;
    plan_check c = file_check("all.csv");
    c.expect = rows_query();
    c.key = "id";
    /* every emission, copies first: a copy must not be held against its original's values */
    hx_buf b;
    hx_buf_init(&b);
    fmt_header(&b, d, PLAN_FMT_CSV, 0);
    gen_record r;
    assert_int_equal(gen_record_init(&r, d->ncols), 0);
    uint64_t copies = 0;
    for (int pass = 1; pass >= 0; pass--)
        for (uint64_t id = 0; id < d->rows; id++) {
            if (pass && !gen_fault_hits(f->g, 0, id, PLAN_F_DUPLICATE)) continue;
            assert_int_equal(gen_record_at(f->g, 0, id, (uint32_t)pass, &r, &e), 0);
            copies += pass;
            fmt_record(&b, d, PLAN_FMT_CSV, &r);
        }
    assert_true(copies > 10);
    put_file(f, "all.csv", b.data);
    chk_outcome o = run(f, &c);
    if (o.status != CHK_PASS) fail_msg("%s (%s)", o.message, o.actual);
    chk_outcome_release(&o);
    /* the originals alone: each changed copy is a missing row, nothing mismatches */
    hx_buf_clear(&b);
    fmt_header(&b, d, PLAN_FMT_CSV, 0);
    for (uint64_t id = 0; id < d->rows; id++) {
        assert_int_equal(gen_record_at(f->g, 0, id, 0, &r, &e), 0);
        fmt_record(&b, d, PLAN_FMT_CSV, &r);
    }
    put_file(f, "all.csv", b.data);
    o = run(f, &c);
    assert_int_equal(o.status, CHK_FAIL);
    assert_int_equal(o.missing, copies);
    assert_int_equal(o.mismatched, 0);
    assert_int_equal(o.extra, 0);
    chk_outcome_release(&o);
    gen_record_release(&r);
    hx_buf_release(&b);
}

/* Values are compared by meaning: 12.5 is 12.50, "t" is true, a timestamp may be written with a
 * space and +00; a JSON key left out is a NULL; a CSV file without a compared column fails. */
static void test_check__file_canonical_values(void **state)
{
    fx *f = *state;
    plan_scenario *s = fx_scenario();
    plan_dataset *d = fx_dataset(s, "t", 2, 3);
    plan_column *col = fx_col(d, "id", PLAN_COL_SEQUENCE, PLAN_T_INT);
    col->u.seq.start = 1;
    col->u.seq.step = 1;
    fx_col(d, "amount", PLAN_COL_DECIMAL, PLAN_T_DECIMAL)->scale = 2;
    d->cols[1].u.drange.min = d->cols[1].u.drange.max = 12.5;
    fx_col(d, "flag", PLAN_COL_BOOL, PLAN_T_BOOL)->u.boolean.p = 1;
    col = fx_col(d, "ts", PLAN_COL_TIMESTAMP, PLAN_T_TIMESTAMP);
    col->u.ts.start_us = FX_T0;
    col->u.ts.rate = 1;
    fx_col(d, "note", PLAN_COL_BOOL, PLAN_T_BOOL)->null_frac = 1;
    d->key_col = 0;
    gen *g = NULL;
    hx_err e = {0};
    assert_int_equal(gen_new(s, &g, &e), 0);
    chk_ctx ctx = {.g = g, .s = s, .output_dir = f->dir};
    plan_check c = file_check("t.csv");
    c.expect = rows_query();
    c.key = "id";
    put_file(f, "t.csv",
             "note,ts,flag,amount,id\n"
             ",2026-01-01 00:00:00+00,t,12.5,1\n"
             ",2026-01-01T00:00:01.000000Z,TRUE,12.500,2.0\n");
    chk_outcome o;
    chk_run(&ctx, &c, &o);
    if (o.status != CHK_PASS) fail_msg("%s (%s)", o.message, o.actual);
    chk_outcome_release(&o);
    put_file(f, "t.jsonl",
             "{\"id\":1,\"amount\":12.50,\"flag\":true,\"ts\":\"2026-01-01T00:00:00Z\"}\n"
             "{\"id\":2,\"amount\":\"12.5\",\"flag\":\"yes\",\"ts\":\"2026-01-01 "
             "00:00:01\",\"note\":null}\n");
    c.table = "t.jsonl";
    chk_run(&ctx, &c, &o);
    if (o.status != CHK_PASS) fail_msg("%s (%s)", o.message, o.actual);
    chk_outcome_release(&o);
    put_file(f, "t.csv", "id,amount,flag,ts\n1,12.50,true,2026-01-01T00:00:00Z\n");
    c.table = "t.csv";
    chk_run(&ctx, &c, &o);
    assert_int_equal(o.status, CHK_FAIL);
    assert_string_equal(o.message, "t.csv has no column 'note'");
    chk_outcome_release(&o);
    put_file(f, "t.csv",
             "id,amount,flag,ts,note\n1,12.51,true,2026-01-01T00:00:00Z,\n"
             "2,12.50,true,2026-01-01T00:00:01Z,\n");
    chk_run(&ctx, &c, &o);
    assert_int_equal(o.status, CHK_FAIL);
    assert_int_equal(o.mismatched, 1);
    assert_true(sample_has(&o, 3, "12.50") && sample_has(&o, 4, "12.51"));
    chk_outcome_release(&o);
    gen_free(g);
    fx_free(s);
}

/* ---- adr ---- */

static const char adr_ok[] = "# ADR 1\n## Context\nx\n## Decision\ny\n## Trade-offs\nz\n";

static void put_path(const fx *f, const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->dir, rel);
    for (char *p = path + strlen(f->dir) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    put_file(f, rel, text);
}

/* An adr check with options given as JSON texts (NULL = not given). */
static chk_status run_adr(fx *f, const char *dir, const char *min, chk_outcome *o)
{
    static plan_param params[2];
    size_t n = 0;
    if (dir) params[n++] = (plan_param){.key = "dir", .json = (char *)dir};
    if (min) params[n++] = (plan_param){.key = "min", .json = (char *)min};
    plan_check c = {.kind = PLAN_CHK_ADR, .name = "adr", .params = params, .nparams = n};
    f->ctx.solution_dir = f->dir;
    chk_run(&f->ctx, &c, o);
    return o->status;
}

static void test_check__adr_min_counts_complete_records(void **state)
{
    fx *f = *state;
    put_path(f, "README.md", "# Design\n... Cost: 3 USD a month\n");
    put_path(f, "docs/adr/0001-load.md", adr_ok);
    chk_outcome o;
    assert_int_equal(run_adr(f, NULL, "2", &o), CHK_FAIL);
    assert_string_equal(o.message, "1 complete ADR, 2 needed (min = 2)");
    chk_outcome_release(&o);
    assert_int_equal(run_adr(f, NULL, NULL, &o), CHK_PASS); /* min defaults to 1 */
    chk_outcome_release(&o);
    put_path(f, "docs/adr/0002-keys.md", adr_ok);
    assert_int_equal(run_adr(f, NULL, "2", &o), CHK_PASS);
    assert_string_equal(o.actual, "2 complete ADRs, 0 incomplete; README ok");
    chk_outcome_release(&o);
    put_path(f, "docs/adr/0003-wip.md", "# ADR 3\n## Context\nonly\n");
    assert_int_equal(run_adr(f, NULL, "2", &o), CHK_FAIL);
    assert_string_equal(o.message, "the decision records are incomplete");
    assert_int_equal(o.sample.nrows, 1);
    assert_string_equal(o.sample.cells[0], "docs/adr/0003-wip.md");
    assert_string_equal(o.sample.cells[1], "missing sections: decision, trade-off");
    chk_outcome_release(&o);
}

static void test_check__adr_reads_only_dir(void **state)
{
    fx *f = *state;
    put_path(f, "README.md", "design and cost\n");
    put_path(f, "docs/adr/0001.md", adr_ok);
    put_path(f, "docs/adr/0002.md", adr_ok);
    put_path(f, "decisions/0001.md", adr_ok);
    chk_outcome o;
    /* dir = "decisions": its one record counts, not the two in docs/adr */
    assert_int_equal(run_adr(f, "\"decisions\"", "2", &o), CHK_FAIL);
    assert_string_equal(o.message, "1 complete ADR, 2 needed (min = 2)");
    chk_outcome_release(&o);
    assert_int_equal(run_adr(f, "\"decisions\"", "1", &o), CHK_PASS);
    chk_outcome_release(&o);
    /* a folder that is not there */
    assert_int_equal(run_adr(f, "\"docs/none\"", NULL, &o), CHK_FAIL);
    assert_string_equal(o.message, "0 complete ADRs, 1 needed (min = 1); no folder there");
    chk_outcome_release(&o);
    /* a bad option is the check's error, not the solution's failure */
    assert_int_equal(run_adr(f, "\"../elsewhere\"", NULL, &o), CHK_ERROR);
    chk_outcome_release(&o);
    assert_int_equal(run_adr(f, NULL, "\"two\"", &o), CHK_ERROR);
    chk_outcome_release(&o);
}

static void test_check__adr_readme_words(void **state)
{
    fx *f = *state;
    put_path(f, "docs/adr/0001.md", adr_ok);
    chk_outcome o;
    assert_int_equal(run_adr(f, NULL, NULL, &o), CHK_FAIL); /* no README */
    chk_outcome_release(&o);
    put_path(f, "README.md", "# How it works\nThe DESIGN is simple.\n");
    assert_int_equal(run_adr(f, NULL, NULL, &o), CHK_FAIL); /* says nothing of cost */
    assert_string_equal(o.sample.cells[1], "missing, or does not explain design and cost");
    chk_outcome_release(&o);
    put_path(f, "README.md", "# How it works\nThe DESIGN is simple; the cost is low.\n");
    assert_int_equal(run_adr(f, NULL, NULL, &o), CHK_PASS);
    chk_outcome_release(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check__file_exists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check__file_path_guards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check__file_row_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check__file_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check__file_by_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check__file_by_key_every_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check__file_canonical_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check__adr_min_counts_complete_records, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_check__adr_reads_only_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check__adr_readme_words, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
