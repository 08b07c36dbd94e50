/* chk_keys.c - the kinds that compare a set of keys with the truth's: quarantine (the corrupt
 * records, set aside) and precision_recall (the records a solution flags). */
#include <stdio.h>
#include <string.h>

#include "check_int.h"

/* A key set being compared with the truth: keys fed one by one, each distinct key counted once.
 */
typedef struct keyset {
    exp_map m;               /* the truth's keys; sink keys outside it are added with want 0 */
    const plan_column *kcol; /* the dataset's key column */
    const char *col;         /* the sink's key column or field */
    const char *extra_label; /* sample label of a key outside the truth */
    size_t max;              /* samples per category */
    int guess;               /* topic: where the key field was last */
} keyset;

static void keyset_feed(keyset *ks, chk_outcome *o, const char *key)
{
    if (!key) return; /* a row whose key could not be read is not held against the solution */
    exp_row *row = exp_map_find(&ks->m, key, false);
    if (row) {
        row->got = 1;
        return;
    }
    row = exp_map_find(&ks->m, key, true); /* remembered, so a repeated extra key counts once */
    if (row) row->got = 1;
    o->extra++;
    const char *cells[] = {ks->extra_label, key};
    chk_sample_offer(o, cells, ks->max);
}

static void keyset_topic_rec(void *ud, const rd_record *rec, const char *where, int32_t partition,
                             int64_t offset)
{
    (void)where, (void)partition, (void)offset;
    keyset *ks = ((void **)ud)[0];
    chk_outcome *o = ((void **)ud)[1];
    if (rec->error) return; /* not a flag the solution could have meant */
    char kb[64];
    ks->guess = chk_field_index(rec, ks->col, ks->guess);
    keyset_feed(ks, o,
                ks->guess < 0 ? NULL
                              : chk_canon_file(ks->kcol, rec->values[ks->guess], kb, sizeof kb));
}

/* The distinct keys in c->table.col (or, on a topic, field col of its JSON messages) against
 * the key set of query q (by its dataset's key column): o->extra counts sink keys outside the
 * set, o->missing set keys absent from the sink, with samples labelled extra_label /
 * missing_label. Returns the size of the set, or -1 after setting the outcome. `what` names the
 * set in error messages. */
static long long compare_key_sets(const chk_ctx *ctx, const plan_check *c, chk_outcome *o,
                                  const plan_query *q, const char *what, const char *extra_label,
                                  const char *missing_label)
{
    const plan_dataset *ds = &ctx->s->datasets[q->dataset];
    /* One key per value of the query's dedup column when it has one (the cards to flag:
     * payments:with("velocity"):dedup("card_id")), else the dataset's key. */
    int key_col = q->sub.dedup_col >= 0 ? q->sub.dedup_col : ds->key_col;
    if (key_col < 0) {
        chk_set_outcome(o, CHK_ERROR, "dataset '%s' has no key to match %s by", ds->name, what);
        return -1;
    }
    keyset ks = {.kcol = &ds->cols[key_col], .extra_label = extra_label, .guess = -1};
    ks.col = c->key ? c->key : c->column ? c->column : ds->cols[key_col].name;
    ks.max = ctx->max_samples ? ctx->max_samples : CHK_DEFAULT_SAMPLES;
    hx_err e = {0};
    if (chk_load_truth(ctx, q, key_col, NULL, 0, &ks.m, &e) != 0) {
        chk_set_outcome(o, CHK_ERROR, "cannot compute the %s: %s", what, e.msg);
        exp_map_release(&ks.m);
        return -1;
    }
    long long n = (long long)ks.m.n;
    const char *titles[] = {"kind", ks.col};
    if (chk_on_topic(c)) {
        chk_sample_cols(o, 2, titles);
        void *ud[2] = {&ks, o};
        if (chk_topic_scan(ctx, c, o, keyset_topic_rec, ud, NULL) != 0) {
            exp_map_release(&ks.m);
            return -1;
        }
    } else {
        char *qt = chk_quote_ident(ctx->conn, c->table);
        char *qc = chk_quote_ident(ctx->conn, ks.col);
        hx_buf sql;
        hx_buf_init(&sql);
        hx_buf_puts(&sql, "select distinct ");
        chk_canon_sql(&sql, qc ? qc : "?", ds->cols[key_col].type);
        hx_buf_printf(&sql, " from %s", qt ? qt : "?");
        hx_free(qt);
        hx_free(qc);
        PGresult *r = chk_query(ctx, o, sql.data);
        hx_buf_release(&sql);
        if (!r) {
            exp_map_release(&ks.m);
            return -1;
        }
        chk_sample_cols(o, 2, titles);
        char kb[64];
        for (int i = 0; i < PQntuples(r); i++)
            keyset_feed(&ks, o,
                        chk_canon_sink(ks.kcol, PQgetisnull(r, i, 0) ? NULL : PQgetvalue(r, i, 0),
                                       kb, sizeof kb));
        PQclear(r);
    }
    for (size_t i = 0; i < ks.m.cap; i++) {
        if (ks.m.slots[i].key && !ks.m.slots[i].got) {
            o->missing++;
            const char *cells[] = {missing_label, ks.m.slots[i].key};
            chk_sample_offer(o, cells, ks.max);
        }
    }
    exp_map_release(&ks.m);
    const char *const kinds[] = {extra_label, missing_label, NULL};
    chk_sample_sort(o, kinds); /* by key, whatever order the messages came in */
    return n;
}

static void check_quarantine(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    if (c->expect.kind != PLAN_EXP_QUERY) {
        chk_set_outcome(o, CHK_ERROR, "quarantine needs expect = <dataset>:corrupt()");
        return;
    }
    plan_query q = c->expect.query;
    q.sub.corrupt_only = true;
    q.sub.valid = false;
    q.sub.dedup_col = -1;
    long long n =
        compare_key_sets(ctx, c, o, &q, "the corrupt records", "not corrupt", "not quarantined");
    if (n < 0) return;
    chk_setf(&o->expected, "%lld corrupt keys", n);
    if (n == 0) {
        /* Nothing to set aside: any solution, even one with no quarantine, would pass. */
        chk_set_outcome(o, CHK_ERROR,
                        "the ledger holds no corrupt record of dataset '%s' at this scale, so "
                        "the check would pass whatever the solution did (raise the corrupt "
                        "fraction or the dataset's rows)",
                        ctx->s->datasets[q.dataset].name);
        return;
    }
    chk_setf(&o->actual, "%llu quarantined keys of them, %llu others",
             (unsigned long long)(n - (long long)o->missing), (unsigned long long)o->extra);
    if (o->missing + o->extra == 0)
        chk_set_outcome(o, CHK_PASS, NULL);
    else
        chk_set_outcome(o, CHK_FAIL,
                        "%llu corrupt records not quarantined, %llu quarantined that were fine",
                        (unsigned long long)o->missing, (unsigned long long)o->extra);
}

/* A bound in [0, 1] from option key (default 1: every flag right, every record found). */

/* Flags the solution raised (distinct keys in table.column) against the records the ledger says
 * should be flagged: precision = right flags / all flags, recall = right flags / records to
 * flag. No flag at all has precision 1 (nothing wrong was said); nothing to flag has recall 1.
 */
static void check_precision_recall(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    if (c->expect.kind != PLAN_EXP_QUERY) {
        chk_set_outcome(o, CHK_ERROR,
                        "precision_recall needs expect = <dataset>:with(\"<fault>\") or "
                        "another record set");
        return;
    }
    double min_p, min_r;
    if (!chk_ratio_param(c, "min_precision", &min_p, o) ||
        !chk_ratio_param(c, "min_recall", &min_r, o))
        return;
    long long n = compare_key_sets(ctx, c, o, &c->expect.query, "the records to flag",
                                   "false positive", "missed");
    if (n < 0) return;
    if (min_p <= 0 && (min_r <= 0 || n == 0)) {
        /* No bound that a solution could miss: it would pass whatever was flagged. */
        chk_set_outcome(o, CHK_ERROR,
                        n == 0 ? "there are no records to flag and min_precision is 0, so the "
                                 "check would pass whatever the solution flagged (plant the "
                                 "fault it looks for, or set min_precision)"
                               : "min_precision and min_recall are both 0, so the check would "
                                 "pass whatever the solution flagged");
        return;
    }
    double tp = (double)(n - (long long)o->missing), fp = (double)o->extra;
    double precision = tp + fp > 0 ? tp / (tp + fp) : 1;
    double recall = n > 0 ? tp / (double)n : 1;
    chk_setf(&o->expected, "precision >= %.4g, recall >= %.4g", min_p, min_r);
    chk_setf(&o->actual, "precision %.4f (%.0f of %.0f flags), recall %.4f (%.0f of %lld records)",
             precision, tp, tp + fp, recall, tp, n);
    bool ok = precision + 1e-12 >= min_p && recall + 1e-12 >= min_r;
    if (ok)
        chk_set_outcome(o, CHK_PASS, NULL);
    else
        chk_set_outcome(o, CHK_FAIL, "%llu records missed, %llu flagged wrongly",
                        (unsigned long long)o->missing, (unsigned long long)o->extra);
}

const chk_kind chk_kind_quarantine = {
    .name = "quarantine",
    .keys = (const char *const[]){"table", "topic", "column", "key", "expect", NULL},
    .flags = CHK_K_NEEDS_TABLE | CHK_K_KEY_COLUMN | CHK_K_NEEDS_QUERY | CHK_K_ROWS | CHK_K_IDS |
             CHK_K_DATASET_KEY,
    .run = check_quarantine,
    .summary = "exactly the corrupt records were set aside, by key",
};

const chk_kind chk_kind_precision_recall = {
    .name = "precision_recall",
    .keys = (const char *const[]){"table", "topic", "column", "expect", "min_precision",
                                  "min_recall", NULL},
    .flags = CHK_K_NEEDS_TABLE | CHK_K_ROWS | CHK_K_IDS,
    .run = check_precision_recall,
    .summary = "the flagged keys reach min_precision and min_recall against the records to flag",
};
