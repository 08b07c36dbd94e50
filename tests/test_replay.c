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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay__files_per_batch_match_fmt),
        cmocka_unit_test(test_replay__files_reject_paths_outside_landing),
        cmocka_unit_test(test_replay__files_appear_complete),
        cmocka_unit_test(test_replay__pg_copy_rows_drift_corruption),
        cmocka_unit_test(test_replay__pg_copy_all_batches_equals_file_bytes),
        cmocka_unit_test(test_replay__pg_oltp_inserts_and_updates),
        cmocka_unit_test(test_replay__pg_error_names_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
