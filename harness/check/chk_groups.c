/* chk_groups.c - topic { topic = "compliance", expect = ds:group{...}:agg{...} }: the topic holds
 * one summary message per group of the truth (docs/scenarios.md "Summaries per group"). A message
 * is a JSON object whose fields are named by the query's columns; its key columns find the group,
 * its aggregate columns must equal the truth's exactly. Missing, extra, doubled and wrong groups
 * are counted and sampled with their key and both values. With the live consumer's times
 * (chk_ctx.recv_ns / sent_ns) and one bucket key, each summarised group's lag is measured:
 * when the harness received its first summary minus when its bucket closed on the send schedule
 * (the intended send time of the first record whose bucket is later; the stream's last record
 * for the buckets nothing follows), as <topic>.lag.p50/p90/p99/max (s) and .count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_int.h"
#include "fmt.h"
#include "hist.h"
#include "ledger.h"
#include "units.h"

/* The display of a key: its parts joined by ", " ("380, 2026-03-02T00:05:00Z"). Internally the
 * parts are joined by 0x1f, a NULL part is 0x1e. */
#define KSEP '\x1f'
#define KNULL "\x1e"

/* The most buckets whose close a lag measurement tracks (a minute's over 19 years). */
#define GROUPS_MAX_BUCKETS 10000000

typedef struct grp_state {
    const chk_ctx *ctx;
    const plan_check *c;
    chk_outcome *o;
    const plan_dataset *ds;
    const plan_grouping *g;
    exp_map m;     /* by canonical key: the aggregates' canonical values (ncols = naggs) */
    int64_t *recv; /* per map slot: the first summary's receive time, -1 = none known */
    int kidx[PLAN_GROUP_MAX * 2];
    uint64_t rows, malformed, extra, doubled, wrong;
    size_t max;
} grp_state;

/* A sample row, kept when among the st->max smallest keys of its kind (the message's place for a
 * malformed one), whatever order the messages came in. */
static void sample(grp_state *st, const char *kind, const char *key, const char *column,
                   const char *expected, const char *actual, const char *where)
{
    char shown[512];
    size_t j = 0;
    for (size_t i = 0; key && key[i] && j + 3 < sizeof shown; i++) {
        if (key[i] == KSEP) {
            shown[j++] = ',';
            shown[j++] = ' ';
        } else if (key[i] == KNULL[0]) {
            j += (size_t)snprintf(shown + j, sizeof shown - j, "NULL");
        } else {
            shown[j++] = key[i];
        }
    }
    shown[j < sizeof shown ? j : sizeof shown - 1] = '\0';
    if (!chk_sample_wants(st->o, kind, key ? shown : where, st->max)) return;
    const char *cells[] = {kind, key ? shown : NULL, column, expected, actual, where};
    chk_sample_offer(st->o, cells, st->max);
}

/* The canonical text of key part k of a message value (NULL = SQL NULL) into buf. */
static const char *canon_key(const grp_state *st, size_t k, const char *raw, char *buf, size_t n)
{
    if (!raw) return KNULL;
    const plan_group_key *gk = &st->g->keys[k];
    const plan_column *col = &st->ds->cols[gk->col];
    if (col->type ==
        PLAN_T_TIMESTAMP) { /* a bucket's start, or an instant: as the ledger writes it */
        char us[32];
        const char *t = chk_canon_file(col, raw, us, sizeof us);
        if (t != us) return raw; /* not an instant: kept as written, matches nothing */
        fmt_timestamp(buf, n, strtoll(us, NULL, 10));
        char *dot = strstr(buf, ".000000Z");
        if (dot) memcpy(dot, "Z", 2);
        return buf;
    }
    return chk_canon_file(col, raw, buf, n);
}

/* The canonical text of aggregate j's message value. */
static const char *canon_agg(const grp_state *st, size_t j, const char *raw, char *buf, size_t n)
{
    if (!raw) return NULL;
    const plan_group_agg *ga = &st->g->aggs[j];
    int scale = 0;
    if (ga->agg == PLAN_AGG_SUM && st->ds->cols[ga->col].type == PLAN_T_DECIMAL)
        scale = st->ds->cols[ga->col].scale;
    return chk_canon_decimal(raw, scale, buf, n) ? buf : raw;
}

/* The aggregates of one version as "amount=12.50 payments=3" (NULL: "null"). */
static void values_text(const grp_state *st, const char *const *vals, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t j = 0; j < st->g->naggs && len < n; j++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s=%s", j ? " " : "", st->g->aggs[j].name,
                                vals[j] ? vals[j] : "null");
}

static void grp_rec(void *ud, const rd_record *rec, const char *where, int32_t partition,
                    int64_t offset)
{
    grp_state *st = ud;
    if (rec->error) {
        st->malformed++;
        sample(st, "malformed", NULL, NULL, NULL, rec->error, where);
        return;
    }
    st->rows++;
    const plan_grouping *g = st->g;
    hx_buf key;
    hx_buf_init(&key);
    for (size_t k = 0; k < g->nkeys; k++) {
        st->kidx[k] = chk_field_index(rec, g->keys[k].name, st->kidx[k]);
        const char *raw = st->kidx[k] < 0 ? NULL : rec->values[st->kidx[k]];
        char buf[64];
        if (k) hx_buf_putc(&key, KSEP);
        hx_buf_puts(&key, canon_key(st, k, raw, buf, sizeof buf));
    }
    const char *vals[PLAN_GROUP_MAX];
    char vb[PLAN_GROUP_MAX][64];
    for (size_t j = 0; j < g->naggs; j++) {
        int *ix = &st->kidx[PLAN_GROUP_MAX + j];
        *ix = chk_field_index(rec, g->aggs[j].name, *ix);
        vals[j] = canon_agg(st, j, *ix < 0 ? NULL : rec->values[*ix], vb[j], sizeof vb[j]);
    }
    if (key.oom || !key.data) {
        hx_buf_release(&key);
        chk_set_outcome(st->o, CHK_ERROR, "out of memory");
        return;
    }
    exp_row *row = exp_map_find(&st->m, key.data, false);
    char got[256], want[256];
    values_text(st, vals, got, sizeof got);
    if (!row) {
        st->extra++;
        sample(st, "extra", key.data, NULL, NULL, got, where);
    } else if (row->got++) {
        st->doubled++;
        values_text(st, (const char *const *)row->vals, want, sizeof want);
        sample(st, "doubled", key.data, NULL, want, got, where);
    } else {
        bool same = true;
        for (size_t j = 0; j < g->naggs; j++)
            if (!chk_same(row->vals[j], vals[j])) {
                same = false;
                sample(st, "wrong", key.data, g->aggs[j].name, row->vals[j],
                       vals[j] ? vals[j] : "null", where);
            }
        st->wrong += !same;
        if (st->recv && st->ctx->recv_ns)
            st->recv[row - st->m.slots] =
                st->ctx->recv_ns(st->ctx->times_ud, st->c->table, partition, offset);
    }
    hx_buf_release(&key);
}

/* The bucket key's index, when the grouping has exactly one (the lag needs it), else -1. */
static int bucket_key(const plan_grouping *g)
{
    int b = -1;
    for (size_t k = 0; k < g->nkeys; k++)
        if (g->keys[k].bucket_us > 0) {
            if (b >= 0) return -1;
            b = (int)k;
        }
    return b;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The lag of every summarised group into h: its first summary's receive time minus its bucket's
 * close. Returns false (no metric) when the send times are unknown. */
static bool measure_lag(grp_state *st, const plan_query *q, const ledger_result *res, hist *h)
{
    int bk = bucket_key(st->g);
    if (bk < 0 || !st->ctx->sent_ns || !st->recv) return false;
    int64_t width = st->g->keys[bk].bucket_us;
    int col = st->g->keys[bk].col;
    /* The closes: walking the subset in arrival order (the send order), bucket b closes at the
     * first record of a later bucket; every bucket below the first record's closes at it. */
    int64_t *close = NULL, b0 = 0, hi = 0, first = -1, last = -1;
    size_t nclose = 0, cap = 0;
    ledger_iter *it;
    hx_err e = {0};
    if (ledger_iter_new(st->ctx->g, q, &it, &e)) return false;
    const gen_record *r;
    bool ok = true;
    int rc;
    while ((rc = ledger_iter_next(it, &r, &e)) == 1 && ok) {
        if (r->vals[col].null) continue;
        int64_t sent = st->ctx->sent_ns(st->ctx->times_ud, q->dataset, r->id);
        if (sent < 0) continue; /* not sent (yet): nothing closes by it */
        int64_t b = floor_div(r->vals[col].i, width);
        if (first < 0) {
            first = sent;
            b0 = hi = b;
        }
        if (sent > last) last = sent;
        if (b <= hi) continue;
        if (b - b0 >= GROUPS_MAX_BUCKETS) {
            ok = false;
            break;
        }
        size_t need = (size_t)(b - b0);
        if (need > cap) {
            size_t ncap = cap ? cap : 1024;
            while (ncap < need)
                ncap *= 2;
            int64_t *n = hx_realloc(close, ncap * sizeof *n);
            if (!n) {
                ok = false;
                break;
            }
            close = n;
            cap = ncap;
        }
        for (int64_t m = hi; m < b; m++)
            close[m - b0] = sent;
        nclose = need;
        hi = b;
    }
    ledger_iter_free(it);
    if (rc < 0 || !ok || first < 0) {
        hx_free(close);
        return false;
    }
    for (size_t i = 0; i < res->nrows; i++) {
        const ledger_row *row = &res->rows[i];
        hx_buf key;
        hx_buf_init(&key);
        for (size_t k = 0; k < row->ncells && k < st->g->nkeys; k++) {
            if (k) hx_buf_putc(&key, KSEP);
            hx_buf_puts(&key, row->cells[k] ? row->cells[k] : KNULL);
        }
        exp_row *er = key.data ? exp_map_find(&st->m, key.data, false) : NULL;
        hx_buf_release(&key);
        int64_t got = er ? st->recv[er - st->m.slots] : -1, us;
        if (got < 0 || !row->cells[bk] || units_timestamp(row->cells[bk], &us, NULL)) continue;
        int64_t b = floor_div(us, width);
        int64_t at = b < b0 ? first : (size_t)(b - b0) < nclose ? close[b - b0] : last;
        int64_t lag = got - at;
        hist_record(h, lag < 1000 ? 1000 : lag); /* a summary before its close: the lowest */
    }
    hx_free(close);
    return true;
}

static void add_metric(chk_outcome *o, const char *topic, const char *what, double v,
                       const char *unit)
{
    if (o->nmetrics == CHK_MAX_METRICS) return;
    snprintf(o->metrics[o->nmetrics].name, sizeof o->metrics[o->nmetrics].name, "%s.lag.%s", topic,
             what);
    o->metrics[o->nmetrics].value = v;
    o->metrics[o->nmetrics].unit = unit;
    o->nmetrics++;
}

void chk_topic_groups(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    const plan_query *q = &c->expect.query;
    grp_state st = {.ctx = ctx, .c = c, .o = o, .g = &q->grp};
    st.max = ctx->max_samples ? ctx->max_samples : CHK_DEFAULT_SAMPLES;
    for (size_t i = 0; i < PLAN_GROUP_MAX * 2; i++)
        st.kidx[i] = -1;
    st.ds = &ctx->s->datasets[q->dataset];
    ledger_result res;
    hx_err e = {0};
    if (ledger_eval(ctx->g, q, &res, &e)) {
        chk_set_outcome(o, CHK_ERROR, "%s", e.msg);
        return;
    }
    hist lag;
    bool lag_ok = false, lag_init = false;
    memset(&lag, 0, sizeof lag);
    /* the truth by key */
    st.m.ncols = q->grp.naggs;
    for (size_t i = 0; i < res.nrows; i++) {
        const ledger_row *row = &res.rows[i];
        hx_buf key;
        hx_buf_init(&key);
        for (size_t k = 0; k < q->grp.nkeys; k++) {
            if (k) hx_buf_putc(&key, KSEP);
            hx_buf_puts(&key, row->cells[k] ? row->cells[k] : KNULL);
        }
        exp_row *er = key.oom || !key.data ? NULL : exp_map_find(&st.m, key.data, true);
        hx_buf_release(&key);
        if (!er) {
            chk_set_outcome(o, CHK_ERROR, "out of memory building the expected summaries");
            goto done;
        }
        if (er->want++) continue; /* two rows of one key: a NUL-free key cannot; keep the first */
        for (size_t j = 0; j < q->grp.naggs; j++) {
            const char *v = row->cells[q->grp.nkeys + j];
            er->vals[j] = v ? hx_strdup(v) : NULL;
        }
    }
    if (ctx->recv_ns) {
        st.recv = hx_malloc((st.m.cap ? st.m.cap : 1) * sizeof *st.recv);
        for (size_t i = 0; st.recv && i < st.m.cap; i++)
            st.recv[i] = -1;
    }
    char keyname[300] = "";
    for (size_t k = 0; k < q->grp.nkeys; k++)
        snprintf(keyname + strlen(keyname), sizeof keyname - strlen(keyname), "%s%s", k ? ", " : "",
                 q->grp.keys[k].name);
    const char *titles[] = {"kind", keyname, "column", "expected", "actual", "message"};
    chk_sample_cols(o, 6, titles);
    if (chk_topic_scan(ctx, c, o, grp_rec, &st, NULL) != 0) goto done;
    if (o->status == CHK_ERROR) goto done;
    uint64_t missing = 0;
    for (size_t i = 0; i < res.nrows; i++) {
        const ledger_row *row = &res.rows[i];
        hx_buf key;
        hx_buf_init(&key);
        for (size_t k = 0; k < q->grp.nkeys; k++) {
            if (k) hx_buf_putc(&key, KSEP);
            hx_buf_puts(&key, row->cells[k] ? row->cells[k] : KNULL);
        }
        exp_row *er = key.data ? exp_map_find(&st.m, key.data, false) : NULL;
        if (er && !er->got) {
            er->got = 1; /* counted once */
            missing++;
            char want[256];
            values_text(&st, (const char *const *)er->vals, want, sizeof want);
            sample(&st, "missing", key.data, NULL, want, NULL, NULL);
        }
        hx_buf_release(&key);
    }
    static const char *const kinds[] = {"extra", "missing", "doubled", "wrong", "malformed", NULL};
    chk_sample_sort(o, kinds);
    o->missing = missing;
    o->extra = st.extra;
    o->mismatched = st.wrong;
    o->doubled = st.doubled;
    lag_init = hist_init(&lag, 1000, (int64_t)24 * 3600 * 1000000000, 3) == 0;
    if (lag_init && measure_lag(&st, q, &res, &lag) && hist_count(&lag)) {
        lag_ok = true;
        const char *sfx[] = {"p50", "p90", "p99", "max"};
        double pct[] = {50, 90, 99, 100};
        for (size_t i = 0; i < 4; i++) {
            int64_t v = pct[i] < 100 ? hist_percentile(&lag, pct[i]) : hist_max(&lag);
            add_metric(o, c->table, sfx[i], (double)v / 1e9, "s");
        }
        add_metric(o, c->table, "count", (double)hist_count(&lag), "");
    }
    chk_setf(&o->expected, "%zu summaries, one per %s", res.nrows, keyname);
    char lagtext[96] = "";
    if (lag_ok)
        snprintf(lagtext, sizeof lagtext, "; lag p99 %.3f s, max %.3f s",
                 (double)hist_percentile(&lag, 99) / 1e9, (double)hist_max(&lag) / 1e9);
    chk_setf(&o->actual,
             "%llu messages: %llu missing, %llu extra, %llu doubled, %llu wrong, %llu "
             "malformed%s",
             (unsigned long long)(st.rows + st.malformed), (unsigned long long)missing,
             (unsigned long long)st.extra, (unsigned long long)st.doubled,
             (unsigned long long)st.wrong, (unsigned long long)st.malformed, lagtext);
    if (missing + st.extra + st.doubled + st.wrong + st.malformed == 0)
        chk_set_outcome(o, CHK_PASS, NULL);
    else
        chk_set_outcome(o, CHK_FAIL,
                        "%llu missing, %llu extra, %llu doubled, %llu wrong summaries, %llu "
                        "malformed messages",
                        (unsigned long long)missing, (unsigned long long)st.extra,
                        (unsigned long long)st.doubled, (unsigned long long)st.wrong,
                        (unsigned long long)st.malformed);
done:
    if (lag_init) hist_release(&lag);
    hx_free(st.recv);
    exp_map_release(&st.m);
    ledger_result_release(&res);
}
