/* test_replay.c - the replayers against real outputs: landing files compared byte for byte with
 * fmt's output and written atomically; COPY and OLTP replay into a real embedded PostgreSQL,
 * checked row by row against the generator. */
#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgfixture.h"

#include "fmt.h"
#include "gen_fixture.h"
#include "replay.h"

static char landing[256];

static int setup(void **state)
{
    snprintf(landing, sizeof landing, "/tmp/hx-test-replay-XXXXXX");
    if (!mkdtemp(landing)) return -1;
    return pgfx_setup(state);
}

static int teardown(void **state)
{
    hx_rm_rf(landing);
    return pgfx_teardown(state);
}

/* orders, 3 batches, with duplicates, every kind of corruption, and drift: a column added at
 * batch 1 and `status` renamed to `state` at batch 2. */
static plan_scenario *messy_orders(uint64_t rows, double dup_changed)
{
    plan_scenario *s = fx_scenario();
    plan_dataset *d = fx_orders(s, rows, 42);
    d->batching = PLAN_BATCH_COUNT;
    d->nbatches = 3;
    plan_fault *f = fx_fault(d, PLAN_F_DUPLICATE, 0.05, -1);
    f->changed = dup_changed;
    f->gap = 7;
    f = fx_fault(d, PLAN_F_CORRUPT, 0.05, -1);
    f->corrupt_mask = PLAN_C_ALL;
    f = fx_fault(d, PLAN_F_SCHEMA_DRIFT, 0, -1);
    f->drift = PLAN_DRIFT_ADD;
    f->at_batch = 1;
    f->name = hx_strdup("channel");
    f->new_type = PLAN_T_STRING;
    f = fx_fault(d, PLAN_F_SCHEMA_DRIFT, 0, 2);
    f->drift = PLAN_DRIFT_RENAME;
    f->at_batch = 2;
    f->name = hx_strdup("state");
    return s;
}

static gen *new_gen(plan_scenario *s)
{
    gen *g = NULL;
    hx_err e = {0};
    if (gen_new(s, &g, &e) != 0) fail_msg("gen_new: %s", e.msg);
    return g;
}

/* What a file of `batch` must hold: the header of hb, then fmt_record of each emission. */
static void expected_bytes(gen *g, plan_format f, int64_t batch, uint32_t hb, hx_buf *out)
{
    const plan_dataset *d = &gen_scenario(g)->datasets[0];
    hx_err e = {0};
    assert_true(fmt_header(out, d, f, hb));
    gen_cursor c;
    assert_int_equal(gen_cursor_init(&c, g, 0, batch, &e), 0);
    const gen_record *r;
    while (gen_cursor_next(&c, &r, &e) > 0)
        assert_true(fmt_record(out, d, f, r));
    gen_cursor_release(&c);
}

static int count_entries(const char *dir, int *tmp_files)
{
    DIR *dp = opendir(dir);
    int n = 0;
    *tmp_files = 0;
    struct dirent *de;
    while (dp && (de = readdir(dp))) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, ".."))) continue;
        n++;
        *tmp_files += strstr(de->d_name, ".tmp") != NULL;
    }
    if (dp) closedir(dp);
    return n;
}

static void test_replay__files_per_batch_match_fmt(void **state)
{
    (void)state;
    plan_scenario *s = messy_orders(3000, 0.5);
    gen *g = new_gen(s);
    plan_step st = {.kind = PLAN_STEP_INTO,
                    .target = PLAN_TGT_FILES,
                    .dir = "drops/orders",
                    .format = PLAN_FMT_CSV,
                    .per_batch = true};
    replay_stats rs;
    hx_err e = {0};
    assert_int_equal(replay_files(g, 0, &st, landing, -1, &rs, &e), 0);
    assert_int_equal(rs.files, 3);
    assert_int_equal(rs.batches, 3);
    assert_int_equal(rs.rows, gen_emissions(g, 0));
    assert_true(rs.rows > 3000 && rs.corrupt > 0);

    hx_sha256 sha;
    hx_sha256_init(&sha);
    uint64_t total = 0;
    for (uint32_t b = 0; b < 3; b++) {
        hx_buf want;
        hx_buf_init(&want);
        expected_bytes(g, PLAN_FMT_CSV, b, b, &want);
        char path[512], *got = NULL;
        size_t len = 0;
        snprintf(path, sizeof path, "%s/drops/orders/orders-%04u.csv", landing, b);
        assert_int_equal(hx_read_file(path, &got, &len, &e), 0);
        assert_int_equal(len, want.len);
        assert_memory_equal(got, want.data, len);
        hx_sha256_update(&sha, got, len);
        total += len;
        if (b == 2) assert_non_null(strstr(got, ",state,")); /* renamed column in the header */
        hx_free(got);
        hx_buf_release(&want);
    }
    char hex[65];
    hx_sha256_final(&sha, hex);
    assert_string_equal(hex, rs.sha256);
    assert_int_equal(rs.bytes, total);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/drops/orders", landing);
    int tmp = 0;
    assert_int_equal(count_entries(dir, &tmp), 3);
    assert_int_equal(tmp, 0);

    /* One batch again: only its file is rewritten, same bytes. */
    assert_int_equal(replay_files(g, 0, &st, landing, 1, &rs, &e), 0);
    assert_int_equal(rs.files, 1);

    /* Not per batch, JSONL: one file with every emission. */
    plan_step one = {.kind = PLAN_STEP_INTO, .target = PLAN_TGT_FILES, .format = PLAN_FMT_JSONL};
    assert_int_equal(replay_files(g, 0, &one, landing, -1, &rs, &e), 0);
    hx_buf want;
    hx_buf_init(&want);
    expected_bytes(g, PLAN_FMT_JSONL, -1, 0, &want);
    char path[512], *got = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/orders/orders.jsonl", landing);
    assert_int_equal(hx_read_file(path, &got, &len, &e), 0);
    assert_int_equal(len, want.len);
    assert_memory_equal(got, want.data, len);
    hx_free(got);
    hx_buf_release(&want);
    gen_free(g);
    fx_free(s);
}

static void test_replay__files_reject_paths_outside_landing(void **state)
{
    (void)state;
    plan_scenario *s = messy_orders(10, 0);
    gen *g = new_gen(s);
    replay_stats rs;
    hx_err e = {0};
    const char *bad[] = {"../escape", "/abs/dir", "a/../../b"};
    for (size_t i = 0; i < 3; i++) {
        plan_step st = {.kind = PLAN_STEP_INTO,
                        .target = PLAN_TGT_FILES,
                        .dir = (char *)bad[i],
                        .where = "late.lua:12"};
        assert_int_equal(replay_files(g, 0, &st, landing, -1, &rs, &e), HX_EUSAGE);
        assert_non_null(strstr(e.msg, "late.lua:12"));
        assert_non_null(strstr(e.msg, bad[i]));
    }
    gen_free(g);
    fx_free(s);
}

/* Watches a path while the replay writes it: the file must never be seen partial. */
struct watch {
    const char *path;
    volatile int stop;
    off_t sizes[8]; /* distinct sizes observed (the first few) */
    int nsizes;
    long seen;
};

static void *watcher(void *arg)
{
    struct watch *w = arg;
    while (!w->stop) {
        struct stat st;
        if (stat(w->path, &st) == 0) {
            w->seen++;
            bool known = false;
            for (int i = 0; i < w->nsizes; i++)
                known |= w->sizes[i] == st.st_size;
            if (!known && w->nsizes < 8) w->sizes[w->nsizes++] = st.st_size;
        }
    }
    return NULL;
}

static void test_replay__files_appear_complete(void **state)
{
    (void)state;
    plan_scenario *s = messy_orders(60000, 0);
    gen *g = new_gen(s);
    plan_step st = {
        .kind = PLAN_STEP_INTO, .target = PLAN_TGT_FILES, .dir = "atomic", .format = PLAN_FMT_CSV};
    char path[512];
    snprintf(path, sizeof path, "%s/atomic/orders.csv", landing);
    struct watch w = {.path = path};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, watcher, &w), 0);
    replay_stats rs;
    hx_err e = {0};
    /* Twice: the second replace must be atomic over an existing file too. */
    assert_int_equal(replay_files(g, 0, &st, landing, -1, &rs, &e), 0);
    assert_int_equal(replay_files(g, 0, &st, landing, -1, &rs, &e), 0);
    w.stop = 1;
    pthread_join(t, NULL);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal((uint64_t)sb.st_size, rs.bytes);
    for (int i = 0; i < w.nsizes; i++)
        assert_int_equal(w.sizes[i], sb.st_size);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/atomic", landing);
    int tmp = 0;
    assert_int_equal(count_entries(dir, &tmp), 1);
    assert_int_equal(tmp, 0);
    gen_free(g);
    fx_free(s);
}

/* ---- PostgreSQL ---- */

static const char *q1(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *q1(PGconn *c, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return pgfx_scalar(c, sql);
}

/* The clean text of column c of emission (id, copy), as fmt_value renders it, or "<null>". */
static const char *clean(gen *g, uint64_t id, uint32_t copy, size_t c, char *buf, size_t n)
{
    const plan_dataset *d = &gen_scenario(g)->datasets[0];
    gen_record r;
    hx_err e = {0};
    assert_int_equal(gen_record_init(&r, d->ncols), 0);
    assert_int_equal(gen_record_at(g, 0, id, copy, &r, &e), 0);
    hx_buf b;
    hx_buf_init(&b);
    assert_true(fmt_value(&b, &d->cols[c], &r.vals[c]));
    snprintf(buf, n, "%s", r.vals[c].null ? "<null>" : b.data ? b.data : "");
    hx_buf_release(&b);
    gen_record_release(&r);
    return buf;
}

/* The first emission (copy 0, no duplicate) with corruption `kind`, or UINT64_MAX. */
static uint64_t find_corrupt(gen *g, unsigned kind, int *col, uint32_t *batch)
{
    hx_err e = {0};
    gen_cursor c;
    assert_int_equal(gen_cursor_init(&c, g, 0, -1, &e), 0);
    const gen_record *r;
    uint64_t found = UINT64_MAX;
    while (found == UINT64_MAX && gen_cursor_next(&c, &r, &e) > 0)
        if (r->corrupt == kind && r->copy == 0 && !gen_fault_hits(g, 0, r->id, PLAN_F_DUPLICATE)) {
            found = r->id;
            *col = r->corrupt_col;
            *batch = r->batch;
        }
    gen_cursor_release(&c);
    return found;
}

static void test_replay__pg_copy_rows_drift_corruption(void **state)
{
    (void)state;
    plan_scenario *s = messy_orders(5000, 0.5);
    gen *g = new_gen(s);
    PGconn *c = pgfx_fresh_db("replay_copy");
    plan_step st = {.kind = PLAN_STEP_INTO,
                    .target = PLAN_TGT_POSTGRES,
                    .table = "raw.orders",
                    .pg_mode = PLAN_PG_COPY,
                    .per_batch = true};
    hx_err e = {0};
    replay_stats rs;
    uint64_t rows = 0;
    for (int b = 0; b < 3; b++) {
        assert_int_equal(replay_pg(g, 0, &st, c, b, &rs, &e), 0);
        assert_int_equal(rs.batches, 1);
        rows += rs.rows;
        assert_string_equal(q1(c, "select count(*) from raw.orders where _harness_batch = %d", b),
                            q1(c, "select %llu", (unsigned long long)rs.rows));
    }
    assert_int_equal(rows, gen_emissions(g, 0));
    assert_string_equal(q1(c, "select count(*) from raw.orders"),
                        q1(c, "select %llu", (unsigned long long)rows));
    assert_string_equal(
        q1(c,
           "select string_agg(column_name || ':' || data_type, ',' order by ordinal_position) "
           "from information_schema.columns where table_schema = 'raw' and table_name = 'orders'"),
        "_harness_id:bigint,_harness_batch:integer,id:text,amount:text,state:text,ts:text,"
        "name:text,flag:text,uid:text,_harness_extra:text,channel:text");

    /* A clean record of batch 0 holds exactly the clean values, and no added column. */
    char want[256];
    const char *names[] = {"id", "amount", "state", "ts", "name", "flag", "uid"};
    for (uint64_t id = 0; id < 40; id++) {
        if (gen_fault_hits(g, 0, id, PLAN_F_CORRUPT) || gen_fault_hits(g, 0, id, PLAN_F_DUPLICATE))
            continue;
        for (size_t k = 0; k < 7; k++)
            assert_string_equal(q1(c, "select %s from raw.orders where _harness_id = %llu",
                                   names[k], (unsigned long long)id),
                                clean(g, id, 0, k, want, sizeof want));
        assert_string_equal(q1(c, "select channel is null from raw.orders where _harness_id = %llu",
                               (unsigned long long)id),
                            "t");
    }
    /* Batch 2 rows carry the added column; the renamed column kept earlier rows' values. */
    assert_string_equal(q1(c, "select count(channel) > 0 from raw.orders where _harness_batch = 2"),
                        "t");
    assert_string_equal(q1(c, "select count(*) > 0 from raw.orders where _harness_batch = 0 and "
                              "state in ('new', 'paid', 'shipped')"),
                        "t");

    /* Corruption lands as sent. */
    int col;
    uint32_t b;
    uint64_t id = find_corrupt(g, PLAN_C_BAD_TYPE, &col, &b);
    assert_true(id != UINT64_MAX);
    const char *bt = q1(c, "select %s from raw.orders where _harness_id = %llu",
                        col == 2 ? "state" : s->datasets[0].cols[col].name, (unsigned long long)id);
    assert_true(!strcmp(bt, "n/a") || !strcmp(bt, "12,5O"));

    id = find_corrupt(g, PLAN_C_BAD_UTF8, &col, &b);
    assert_true(id != UINT64_MAX);
    assert_string_equal(q1(c,
                           "select position(U&'\\FFFD' in %s) > 0 from raw.orders where "
                           "_harness_id = %llu",
                           col == 2 ? "state" : s->datasets[0].cols[col].name,
                           (unsigned long long)id),
                        "t");

    id = find_corrupt(g, PLAN_C_EXTRA_COLUMN, &col, &b);
    assert_true(id != UINT64_MAX);
    assert_string_equal(q1(c, "select _harness_extra from raw.orders where _harness_id = %llu",
                           (unsigned long long)id),
                        "extra");
    assert_string_equal(
        q1(c, "select id from raw.orders where _harness_id = %llu", (unsigned long long)id),
        clean(g, id, 0, 0, want, sizeof want));

    id = find_corrupt(g, PLAN_C_MISSING_COLUMN, &col, &b);
    assert_true(id != UINT64_MAX && col >= 0);
    const char *mname = col == 2 ? "state" : s->datasets[0].cols[col].name;
    assert_string_equal(q1(c, "select %s is null from raw.orders where _harness_id = %llu", mname,
                           (unsigned long long)id),
                        "t");
    /* ... and the columns after it are not shifted. */
    assert_string_equal(
        q1(c, "select uid from raw.orders where _harness_id = %llu", (unsigned long long)id),
        col == 6 ? "<null>" : clean(g, id, 0, 6, want, sizeof want));

    id = find_corrupt(g, PLAN_C_TRUNCATE, &col, &b);
    assert_true(id != UINT64_MAX);
    assert_string_equal(q1(c, "select uid is null from raw.orders where _harness_id = %llu",
                           (unsigned long long)id),
                        "t");

    /* Replaying a batch again appends (the producer sent it twice) and keeps the schema. */
    assert_int_equal(replay_pg(g, 0, &st, c, 1, &rs, &e), 0);
    assert_string_equal(q1(c, "select count(*) from raw.orders"),
                        q1(c, "select %llu", (unsigned long long)(rows + rs.rows)));
    PQfinish(c);
    gen_free(g);
    fx_free(s);
}

static void test_replay__pg_copy_all_batches_equals_file_bytes(void **state)
{
    (void)state;
    plan_scenario *s = messy_orders(2000, 0.5);
    gen *g = new_gen(s);
    PGconn *c = pgfx_fresh_db("replay_copy_all");
    plan_step st = {.kind = PLAN_STEP_INTO, .target = PLAN_TGT_POSTGRES, .pg_mode = PLAN_PG_COPY};
    hx_err e = {0};
    replay_stats rs;
    assert_int_equal(replay_pg(g, 0, &st, c, -1, &rs, &e), 0);
    assert_int_equal(rs.batches, 3);
    assert_int_equal(rs.rows, gen_emissions(g, 0));
    /* The hash covers the CSV record lines: the file bytes without the headers. */
    hx_sha256 sha;
    hx_sha256_init(&sha);
    const plan_dataset *d = &s->datasets[0];
    gen_cursor cur;
    assert_int_equal(gen_cursor_init(&cur, g, 0, -1, &e), 0);
    const gen_record *r;
    hx_buf line;
    hx_buf_init(&line);
    while (gen_cursor_next(&cur, &r, &e) > 0) {
        hx_buf_clear(&line);
        assert_true(fmt_record(&line, d, PLAN_FMT_CSV, r));
        hx_sha256_update(&sha, line.data, line.len);
    }
    gen_cursor_release(&cur);
    hx_buf_release(&line);
    char hex[65];
    hx_sha256_final(&sha, hex);
    assert_string_equal(hex, rs.sha256);
    assert_string_equal(q1(c, "select count(*) from orders"),
                        q1(c, "select %llu", (unsigned long long)rs.rows));
    PQfinish(c);
    gen_free(g);
    fx_free(s);
}

static void test_replay__pg_oltp_inserts_and_updates(void **state)
{
    (void)state;
    plan_scenario *s = messy_orders(4000, 1.0); /* every duplicate copy changes its payload */
    gen *g = new_gen(s);
    PGconn *c = pgfx_fresh_db("replay_oltp");
    plan_step st = {.kind = PLAN_STEP_INTO,
                    .target = PLAN_TGT_POSTGRES,
                    .table = "orders_src",
                    .pg_mode = PLAN_PG_OLTP};
    hx_err e = {0};
    replay_stats rs;
    assert_int_equal(replay_pg(g, 0, &st, c, -1, &rs, &e), 0);
    assert_int_equal(rs.rows, gen_emissions(g, 0));
    assert_true(rs.updates > 0);
    assert_int_equal(rs.rows - rs.updates, 4000);
    assert_int_equal(PQpipelineStatus(c), PQ_PIPELINE_OFF);
    /* Changed copies were UPDATEs: one row per record id. */
    assert_string_equal(q1(c, "select count(*) from orders_src"), "4000");
    assert_string_equal(q1(c, "select count(distinct _harness_id) from orders_src"), "4000");
    /* An updated row holds the copy's payload. */
    const plan_dataset *d = &s->datasets[0];
    gen_record r;
    assert_int_equal(gen_record_init(&r, d->ncols), 0);
    int checked = 0;
    char want[256];
    for (uint64_t id = 0; id < 4000 && checked < 5; id++) {
        if (!gen_fault_hits(g, 0, id, PLAN_F_DUPLICATE) || gen_fault_hits(g, 0, id, PLAN_F_CORRUPT))
            continue;
        assert_int_equal(gen_record_at(g, 0, id, 1, &r, &e), 0);
        if (!r.changed || r.corrupt || r.batch != 0) continue;
        const char *names[] = {"id", "amount", "state"}; /* status was renamed at batch 2 */
        for (size_t k = 0; k < 3; k++)
            assert_string_equal(q1(c, "select %s from orders_src where _harness_id = %llu",
                                   names[k], (unsigned long long)id),
                                clean(g, id, 1, k, want, sizeof want));
        checked++;
    }
    gen_record_release(&r);
    assert_true(checked > 0);
    assert_string_equal(q1(c, "select count(*) from pg_indexes where tablename = 'orders_src'"),
                        "1");

    /* Exact duplicates are inserted again, like a retried write. */
    plan_scenario *s2 = messy_orders(1000, 0.0);
    gen *g2 = new_gen(s2);
    st.table = "orders_exact";
    assert_int_equal(replay_pg(g2, 0, &st, c, -1, &rs, &e), 0);
    assert_int_equal(rs.updates, 0);
    assert_string_equal(q1(c, "select count(*) from orders_exact"),
                        q1(c, "select %llu", (unsigned long long)gen_emissions(g2, 0)));
    gen_free(g2);
    fx_free(s2);
    PQfinish(c);
    gen_free(g);
    fx_free(s);
}

static void test_replay__pg_error_names_table(void **state)
{
    (void)state;
    plan_scenario *s = messy_orders(100, 0);
    gen *g = new_gen(s);
    PGconn *c = pgfx_fresh_db("replay_err");
    /* A table of that name with an incompatible shape: the COPY fails, with the server's word. */
    PQclear(PQexec(c, "create table orders (_harness_id bigint, _harness_batch int, id int, "
                      "amount text, status text, ts text, name text, flag text, uid text, "
                      "_harness_extra text)"));
    plan_step st = {.kind = PLAN_STEP_INTO, .target = PLAN_TGT_POSTGRES, .pg_mode = PLAN_PG_COPY};
    hx_err e = {0};
    replay_stats rs;
    PQclear(PQexec(c, "alter table orders add constraint neg check (id::int < 0)"));
    assert_int_equal(replay_pg(g, 0, &st, c, 0, &rs, &e), HX_EINFRA);
    assert_non_null(strstr(e.msg, "\"orders\""));
    assert_non_null(strstr(e.msg, "COPY of batch 0"));
    assert_string_equal(q1(c, "select count(*) from orders"), "0");
    /* The connection is still usable. */
    assert_string_equal(q1(c, "select 1"), "1");
    PQfinish(c);
    gen_free(g);
    fx_free(s);
}

/* ---- the replay's former path, kept as the reference for what a table holds: the record's CSV
 * line (fmt_record) split back into fields with invalid UTF-8 and NUL made U+FFFD, then mapped
 * onto the batch's header (MISSING_COLUMN's column NULL, the surplus joined into the extra
 * column). replay_pg now encodes fields straight to COPY text and must land the same rows. ---- */

typedef struct ref_row {
    char **v; /* v[0..n): the header's columns then _harness_extra; NULL for SQL NULL */
    size_t n;
} ref_row;

/* The fields of one CSV line as the old replay split it: a quoted field runs to its closing
 * quote (or the line's end) and keeps any text after it; an empty unquoted field is NULL. */
static size_t ref_split(const char *s, size_t len, char **out, size_t max)
{
    size_t nf = 0, i = 0;
    if (len && s[len - 1] == '\n') len--;
    if (len && s[len - 1] == '\r') len--;
    for (;;) {
        hx_buf raw, f;
        hx_buf_init(&raw);
        hx_buf_init(&f);
        bool null = false;
        if (i < len && s[i] == '"') {
            for (i++; i < len; i++) {
                if (s[i] == '"') {
                    if (i + 1 < len && s[i + 1] == '"') {
                        hx_buf_putc(&raw, '"');
                        i++;
                        continue;
                    }
                    i++;
                    break;
                }
                hx_buf_putc(&raw, s[i]);
            }
            while (i < len && s[i] != ',')
                hx_buf_putc(&raw, s[i++]);
        } else {
            size_t j = i;
            while (i < len && s[i] != ',')
                i++;
            hx_buf_append(&raw, s + j, i - j);
            null = i == j;
        }
        hx_buf_put_utf8(&f, raw.data ? raw.data : "", raw.len);
        hx_buf_append(&f, "", 0);
        assert_true(nf < max);
        out[nf++] = null ? NULL : hx_buf_steal(&f);
        hx_buf_release(&f);
        hx_buf_release(&raw);
        if (i >= len) return nf;
        i++;
    }
}

/* Number of header columns of batch b: the dataset's plus those added by drift so far. */
static size_t ref_nhdr(const plan_dataset *d, uint32_t b)
{
    size_t n = d->ncols;
    for (size_t fi = 0; fi < d->nfaults; fi++)
        n += d->faults[fi].kind == PLAN_F_SCHEMA_DRIFT && d->faults[fi].drift == PLAN_DRIFT_ADD &&
             b >= d->faults[fi].at_batch;
    return n;
}

static void ref_row_of(const plan_dataset *d, const gen_record *r, size_t width, ref_row *out)
{
    hx_buf line;
    hx_buf_init(&line);
    assert_true(fmt_record(&line, d, PLAN_FMT_CSV, r));
    char *f[256];
    size_t nf = ref_split(line.data, line.len, f, 256), k = 0, nh = ref_nhdr(d, r->batch);
    hx_buf_release(&line);
    out->n = width + 1;
    out->v = calloc(out->n, sizeof *out->v);
    for (size_t c = 0; c < nh; c++) {
        if (r->corrupt == PLAN_C_MISSING_COLUMN && r->corrupt_col == (int)c) continue;
        if (k < nf) out->v[c] = f[k++];
    }
    hx_buf extra;
    hx_buf_init(&extra);
    for (size_t j = k; j < nf; j++) {
        if (j > k) hx_buf_putc(&extra, ',');
        hx_buf_puts(&extra, f[j] ? f[j] : "");
        hx_free(f[j]);
    }
    if (k < nf) out->v[width] = hx_buf_steal(&extra);
    hx_buf_release(&extra);
}

static void ref_row_release(ref_row *r)
{
    for (size_t i = 0; i < r->n; i++)
        hx_free(r->v[i]);
    free(r->v);
    memset(r, 0, sizeof *r);
}

/* One table row as text for comparing: id, batch, each column (NULL as "\\N"), tab-separated. */
static char *row_text(uint64_t id, uint32_t batch, char *const *v, size_t n)
{
    hx_buf b;
    hx_buf_init(&b);
    hx_buf_printf(&b, "%llu\t%u", (unsigned long long)id, batch);
    for (size_t i = 0; i < n; i++) {
        hx_buf_putc(&b, '\t');
        hx_buf_puts(&b, v[i] ? v[i] : "\\N");
    }
    return hx_buf_steal(&b);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The rows of `table` as row_text lines, columns: the last batch's header then _harness_extra. */
static char **table_rows(PGconn *c, const char *table, const plan_dataset *d, uint32_t last,
                         size_t *nrows)
{
    hx_buf sql;
    hx_buf_init(&sql);
    hx_buf_puts(&sql, "select _harness_id, _harness_batch");
    for (size_t i = 0; i < d->ncols; i++) {
        const char *name = d->cols[i].name;
        for (size_t fi = 0; fi < d->nfaults; fi++)
            if (d->faults[fi].kind == PLAN_F_SCHEMA_DRIFT &&
                d->faults[fi].drift == PLAN_DRIFT_RENAME && d->faults[fi].column == (int)i &&
                last >= d->faults[fi].at_batch)
                name = d->faults[fi].name;
        hx_buf_printf(&sql, ", \"%s\"", name);
    }
    for (size_t fi = 0; fi < d->nfaults; fi++)
        if (d->faults[fi].kind == PLAN_F_SCHEMA_DRIFT && d->faults[fi].drift == PLAN_DRIFT_ADD)
            hx_buf_printf(&sql, ", \"%s\"", d->faults[fi].name);
    hx_buf_printf(&sql, ", _harness_extra from %s", table);
    PGresult *res = PQexec(c, sql.data);
    hx_buf_release(&sql);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    int n = PQntuples(res), nf = PQnfields(res);
    char **rows = calloc((size_t)n + 1, sizeof *rows);
    char **v = calloc((size_t)nf, sizeof *v);
    for (int i = 0; i < n; i++) {
        for (int j = 2; j < nf; j++)
            v[j - 2] = PQgetisnull(res, i, j) ? NULL : PQgetvalue(res, i, j);
        rows[i] = row_text(strtoull(PQgetvalue(res, i, 0), NULL, 10),
                           (uint32_t)atoi(PQgetvalue(res, i, 1)), v, (size_t)nf - 2);
    }
    free(v);
    PQclear(res);
    *nrows = (size_t)n;
    return rows;
}

static void free_rows(char **rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hx_free(rows[i]);
    free(rows);
}

/* Bytes a Lua row function may hand over: COPY's escapes, CSV's specials, NUL, broken UTF-8. */
static int nasty_hook(void *ud, const plan_dataset *ds, gen_record *rec, char *err, size_t n)
{
    (void)ud, (void)ds, (void)err, (void)n;
    static const char *const texts[] = {
        "tab\there",   "back\\slash", "line\nbreak", "cr\rlf\r\n",
        "quote\"d",    "a,b,,c",      "\"\"",        "",
        "caf\xc3\xa9", "bad\xff",     "\xc3",        "\xed\xa0\x80x",
        "\\N",         "end\\",       " spaced ",    "\xe2\x82\xac\",\"\xe2\x82\xac"};
    size_t k = rec->id % 18;
    if (k == 16) {
        rec->vals[2].null = true;
        return 0;
    }
    if (k == 17) return gen_record_set_string(rec, 2, "nul\0in", 6) ? 0 : HX_ENOMEM;
    return gen_record_set_string(rec, 2, texts[k], strlen(texts[k])) ? 0 : HX_ENOMEM;
}

/* Datasets whose rows exercise every path from a record to a table row. */
static plan_scenario *replay_cases(int which)
{
    if (which == 0) { /* drift of every kind, every corruption, duplicates */
        plan_scenario *s = messy_orders(3000, 0.5);
        plan_fault *f = fx_fault(&s->datasets[0], PLAN_F_SCHEMA_DRIFT, 0, 1);
        f->drift = PLAN_DRIFT_RETYPE;
        f->at_batch = 1;
        f->new_type = PLAN_T_STRING;
        f = fx_fault(&s->datasets[0], PLAN_F_SCHEMA_DRIFT, 0, 3);
        f->drift = PLAN_DRIFT_RETYPE;
        f->at_batch = 2;
        f->new_type = PLAN_T_INT;
        f = fx_fault(&s->datasets[0], PLAN_F_SCHEMA_DRIFT, 0, -1);
        f->drift = PLAN_DRIFT_ADD;
        f->at_batch = 2;
        f->name = hx_strdup("seen_at");
        f->new_type = PLAN_T_TIMESTAMP;
        return s;
    }
    plan_scenario *s = fx_scenario();
    plan_dataset *d = fx_dataset(s, which == 1 ? "nasty" : "one", 2000, 9);
    d->batching = PLAN_BATCH_COUNT;
    d->nbatches = 2;
    if (which == 1) { /* strings a row function returns */
        plan_column *c = fx_col(d, "id", PLAN_COL_SEQUENCE, PLAN_T_INT);
        c->u.seq.start = 1;
        c->u.seq.step = 1;
        c = fx_col(d, "p", PLAN_COL_PATTERN, PLAN_T_STRING);
        c->u.pat.pattern = hx_strdup("{x|\"q\"|a,b|\xc3\xa9\xc3\xa9}");
        fx_col(d, "lua", PLAN_COL_LUA, PLAN_T_STRING);
        d->row_hook = nasty_hook;
    } else { /* one column: a truncated line is cut anywhere, quotes included */
        plan_column *c = fx_col(d, "only", PLAN_COL_PATTERN, PLAN_T_STRING);
        c->u.pat.pattern =
            hx_strdup("{\"\"|\"a\"\"b\"|,|\xc3\xa9\"\xc3\xa9|plain text|x|a\rb\r}{|\"|, |\r\n}");
    }
    plan_fault *f = fx_fault(d, PLAN_F_CORRUPT, 0.4, -1);
    f->corrupt_mask = PLAN_C_ALL;
    f = fx_fault(d, PLAN_F_DUPLICATE, 0.1, -1);
    f->changed = 0.5;
    f->gap = 3;
    return s;
}

/* COPY and OLTP land exactly the rows the old CSV round trip landed (as a multiset; OLTP after
 * its UPDATEs). */
static void test_replay__pg_rows_match_csv_reference(void **state)
{
    (void)state;
    PGconn *c = pgfx_fresh_db("replay_reference");
    for (int which = 0; which < 3; which++) {
        for (int oltp = 0; oltp < 2; oltp++) {
            plan_scenario *s = replay_cases(which);
            const plan_dataset *d = &s->datasets[0];
            gen *g = new_gen(s);
            uint32_t nb = gen_batches(g, 0);
            size_t width = ref_nhdr(d, nb - 1);
            char table[32];
            snprintf(table, sizeof table, "t%d_%d", which, oltp);
            plan_step st = {.kind = PLAN_STEP_INTO,
                            .target = PLAN_TGT_POSTGRES,
                            .table = table,
                            .pg_mode = oltp ? PLAN_PG_OLTP : PLAN_PG_COPY};
            hx_err e = {0};
            replay_stats rs;
            assert_int_equal(replay_pg(g, 0, &st, c, -1, &rs, &e), 0);
            /* the expected rows, in arrival order; OLTP's changed copies replace their id's rows */
            uint64_t ne = gen_emissions(g, 0);
            char **want = calloc(ne + 1, sizeof *want);
            uint64_t *ids = calloc(ne + 1, sizeof *ids);
            size_t nw = 0;
            gen_cursor cur;
            const gen_record *r;
            assert_int_equal(gen_cursor_init(&cur, g, 0, -1, &e), 0);
            while (gen_cursor_next(&cur, &r, &e) > 0) {
                ref_row rr;
                ref_row_of(d, r, width, &rr);
                char *t = row_text(r->id, r->batch, rr.v, rr.n);
                ref_row_release(&rr);
                if (oltp && r->copy && r->changed) {
                    for (size_t i = 0; i < nw; i++)
                        if (ids[i] == r->id) {
                            hx_free(want[i]);
                            want[i] = hx_strdup(t);
                        }
                    hx_free(t);
                    continue;
                }
                ids[nw] = r->id;
                want[nw++] = t;
            }
            gen_cursor_release(&cur);
            size_t ngot;
            char **got = table_rows(c, table, d, nb - 1, &ngot);
            assert_int_equal(ngot, nw);
            qsort(want, nw, sizeof *want, cmp_str);
            qsort(got, ngot, sizeof *got, cmp_str);
            for (size_t i = 0; i < nw; i++)
                if (strcmp(got[i], want[i]))
                    fail_msg("%s row %zu:\n got  %s\n want %s", table, i, got[i], want[i]);
            free_rows(got, ngot);
            free_rows(want, nw);
            free(ids);
            gen_free(g);
            fx_free(s);
        }
    }
    PQfinish(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay__files_per_batch_match_fmt),
        cmocka_unit_test(test_replay__files_reject_paths_outside_landing),
        cmocka_unit_test(test_replay__files_appear_complete),
        cmocka_unit_test(test_replay__pg_copy_rows_drift_corruption),
        cmocka_unit_test(test_replay__pg_copy_all_batches_equals_file_bytes),
        cmocka_unit_test(test_replay__pg_rows_match_csv_reference),
        cmocka_unit_test(test_replay__pg_oltp_inserts_and_updates),
        cmocka_unit_test(test_replay__pg_error_names_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
