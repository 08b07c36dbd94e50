/* chk_topic.c - topic: the messages of a Kafka topic the solution writes, counted or compared by
 * key with the truth (also diff { topic = ... }). Messages come through chk_ctx.topic. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_int.h"

/* Most messages a topic check reads; the reader stops past this with an error. */
#define TOPIC_MAX_MESSAGES 10000000u
/* Messages are parsed as JSONL in chunks of about this many bytes. */
#define TOPIC_CHUNK (1u << 20)

bool chk_on_topic(const plan_check *c)
{
    if (c->kind == PLAN_CHK_TOPIC) return true;
    const char *sink = chk_param_json(c, "sink");
    return sink && strcmp(sink, "\"topic\"") == 0;
}

/* Messages gathered into one JSONL text (a line per message) and parsed with rd, so a message
 * is read exactly as a line of a .jsonl file the solution wrote would be. */
typedef struct topic_scanner {
    const char *topic;
    hx_buf chunk;    /* the gathered values, '\n' after each */
    int32_t *part;   /* per line: partition */
    int64_t *off;    /*           offset */
    size_t n, cap;   /* lines gathered, room */
    topic_rec_fn fn; /* per record */
    void *ud;
    uint64_t messages; /* messages seen */
    hx_err err;        /* the first error of parsing */
    int rc;            /* and its code */
} topic_scanner;

static void scan_where(const topic_scanner *ts, size_t line, char *buf, size_t n)
{
    if (line < ts->n)
        snprintf(buf, n, "%s[%d]@%lld", ts->topic, (int)ts->part[line], (long long)ts->off[line]);
    else
        snprintf(buf, n, "%s", ts->topic);
}

static void scan_flush(topic_scanner *ts)
{
    if (!ts->n || ts->rc) {
        ts->n = 0;
        hx_buf_clear(&ts->chunk);
        return;
    }
    rd_opts ro = {.format = RD_JSONL, .tolerant = true, .utf8 = true};
    rd_reader *r = rd_open_mem(ts->chunk.data, ts->chunk.len, ts->topic, &ro, &ts->err);
    if (!r) {
        ts->rc = ts->err.code ? ts->err.code : HX_ENOMEM;
    } else {
        rd_record rec;
        int rc;
        char where[320];
        while ((rc = rd_next(r, &rec, &ts->err)) == 1) {
            size_t line = rec.line ? (size_t)rec.line - 1 : ts->n;
            scan_where(ts, line, where, sizeof where);
            ts->fn(ts->ud, &rec, where, line < ts->n ? ts->part[line] : -1,
                   line < ts->n ? ts->off[line] : -1);
        }
        if (rc < 0) ts->rc = rc;
        rd_close(r);
    }
    ts->n = 0;
    hx_buf_clear(&ts->chunk);
}

static bool scan_msg(void *ud, int32_t partition, int64_t offset, const char *value, size_t len)
{
    topic_scanner *ts = ud;
    ts->messages++;
    if (ts->messages > TOPIC_MAX_MESSAGES) {
        ts->rc = hx_fail(&ts->err, HX_EINFRA,
                         "topic '%s' holds more than %u messages, the most a "
                         "check reads",
                         ts->topic, TOPIC_MAX_MESSAGES);
        return false;
    }
    if (!len) { /* an empty value or a tombstone is no record; rd would skip the blank line */
        char where[320];
        scan_flush(ts);
        snprintf(where, sizeof where, "%s[%d]@%lld", ts->topic, (int)partition, (long long)offset);
        rd_record rec = {.line = 0, .error = "empty message value"};
        ts->fn(ts->ud, &rec, where, partition, offset);
        return ts->rc == 0;
    }
    if (ts->n == ts->cap) {
        size_t ncap = ts->cap ? ts->cap * 2 : 1024;
        int32_t *p = hx_realloc(ts->part, ncap * sizeof *p);
        if (p) ts->part = p;
        int64_t *o = p ? hx_realloc(ts->off, ncap * sizeof *o) : NULL;
        if (o) ts->off = o;
        if (!p || !o) {
            ts->rc = hx_fail(&ts->err, HX_ENOMEM, "out of memory reading topic '%s'", ts->topic);
            return false;
        }
        ts->cap = ncap;
    }
    ts->part[ts->n] = partition;
    ts->off[ts->n] = offset;
    ts->n++;
    size_t at = ts->chunk.len;
    if (!hx_buf_append(&ts->chunk, value, len) || !hx_buf_append(&ts->chunk, "\n", 1)) {
        ts->rc = hx_fail(&ts->err, HX_ENOMEM, "out of memory reading topic '%s'", ts->topic);
        return false;
    }
    /* A line break inside a message is JSON whitespace (a pretty-printed object): one line. */
    for (size_t i = at; i < ts->chunk.len - 1; i++)
        if (ts->chunk.data[i] == '\n' || ts->chunk.data[i] == '\r') ts->chunk.data[i] = ' ';
    if (ts->chunk.len >= TOPIC_CHUNK) scan_flush(ts);
    return ts->rc == 0;
}

static bool count_msg(void *ud, int32_t partition, int64_t offset, const char *value, size_t len)
{
    (void)partition, (void)offset, (void)value, (void)len;
    uint64_t *n = ud;
    return ++*n <= TOPIC_MAX_MESSAGES;
}

/* Read c->table (a topic) through ctx->topic: fn per message parsed as a JSON object (fn NULL:
 * only count messages into *messages). 0, or -1 after setting an ERROR (or SKIP) outcome. */
int chk_topic_scan(const chk_ctx *ctx, const plan_check *c, chk_outcome *o, topic_rec_fn fn,
                   void *ud, uint64_t *messages)
{
    if (!ctx->topic) {
        chk_set_outcome(o, CHK_SKIP,
                        "%s checks on a topic need a Kafka cluster, and this run has none",
                        chk_kind_name(c->kind));
        return -1;
    }
    hx_err e = {0};
    int rc;
    if (!fn) {
        uint64_t n = 0;
        rc = ctx->topic(ctx->topic_ud, c->table, count_msg, &n, &e);
        if (!rc && n > TOPIC_MAX_MESSAGES)
            rc = hx_fail(&e, HX_EINFRA,
                         "topic '%s' holds more than %u messages, the most a "
                         "check reads",
                         c->table, TOPIC_MAX_MESSAGES);
        if (messages) *messages = n;
    } else {
        topic_scanner ts = {.topic = c->table, .fn = fn, .ud = ud};
        hx_buf_init(&ts.chunk);
        rc = ctx->topic(ctx->topic_ud, c->table, scan_msg, &ts, &e);
        scan_flush(&ts);
        if (ts.rc) {
            rc = ts.rc;
            e = ts.err;
        }
        if (messages) *messages = ts.messages;
        hx_buf_release(&ts.chunk);
        hx_free(ts.part);
        hx_free(ts.off);
    }
    if (rc) {
        chk_set_outcome(o, CHK_ERROR, "%s", e.msg[0] ? e.msg : "cannot read the topic");
        return -1;
    }
    return 0;
}

/* One parsed message of a keyed topic check. */
typedef struct topic_keyed {
    chk_outcome *o;
    diff_state *d;           /* by expectation: the truth by key; NULL = only unique keys */
    exp_map seen;            /* without expectation: keys seen so far */
    const char *key;         /* the key field */
    const plan_column *kcol; /* how to read it (NULL: as text) */
    int *idx;                /* per compared column: where it was last */
    int key_guess;
    uint64_t rows, malformed, dup;
    size_t max;
} topic_keyed;

static void topic_keyed_rec(void *ud, const rd_record *rec, const char *where, int32_t partition,
                            int64_t offset)
{
    (void)partition, (void)offset;
    topic_keyed *tk = ud;
    if (rec->error) {
        tk->malformed++;
        const char *cells[] = {"malformed", where, NULL, NULL, rec->error};
        chk_sample_offer(tk->o, cells, tk->max);
        return;
    }
    tk->rows++;
    char kb[64];
    tk->key_guess = chk_field_index(rec, tk->key, tk->key_guess);
    const char *raw = tk->key_guess < 0 ? NULL : rec->values[tk->key_guess];
    const char *key = tk->kcol ? chk_canon_file(tk->kcol, raw, kb, sizeof kb) : raw;
    if (tk->d) {
        rec_row fr = {tk->d, rec, tk->idx};
        chk_diff_row(tk->d, tk->o, key, chk_rec_val, &fr);
        return;
    }
    exp_row *row = key ? exp_map_find(&tk->seen, key, true) : NULL;
    if (row && row->got++ == 1) {
        tk->dup++;
        if (chk_sample_wants(tk->o, "duplicate", key, tk->max)) {
            const char *cells[] = {"duplicate", key, NULL, NULL, where};
            chk_sample_offer(tk->o, cells, tk->max);
        }
    }
}

/* topic: the solution's (or the replay's) messages in a topic. equals/expect a number or a
 * :count() query: that many messages (not parsed). With key: every message a JSON object; with
 * a row query as expect, compared by key like diff (columns = the compared ones), else every
 * key once. diff { topic = ... } is the keyed form. */
void chk_topic_run(const chk_ctx *ctx, const plan_check *c, chk_outcome *o)
{
    const plan_expect *x = &c->expect;
    if (x->kind == PLAN_EXP_QUERY && x->query.agg == PLAN_AGG_GROUPS) {
        chk_topic_groups(ctx, c, o);
        return;
    }
    bool rows_query = x->kind == PLAN_EXP_QUERY && x->query.agg == PLAN_AGG_ROWS;
    const char *fmt = chk_param_json(c, "format");
    if (fmt && strcmp(fmt, "\"json\"") != 0 && strcmp(fmt, "\"jsonl\"") != 0) {
        chk_set_outcome(o, CHK_ERROR,
                        "%s on a topic reads JSON messages: format must be \"json\", got %s",
                        chk_kind_name(c->kind), fmt);
        return;
    }
    if (x->kind == PLAN_EXP_STRING ||
        (x->kind == PLAN_EXP_QUERY && !rows_query && x->query.agg != PLAN_AGG_COUNT)) {
        chk_set_outcome(o, CHK_ERROR,
                        "%s on a topic: expect a number of messages, a query ending in "
                        ":count(), a query without aggregate with a key, or a grouped query "
                        "(group{...}:agg{...})",
                        chk_kind_name(c->kind));
        return;
    }
    const char *keyname = c->key;
    if (rows_query && !keyname) {
        const plan_dataset *ds = &ctx->s->datasets[x->query.dataset];
        keyname = ds->key_col >= 0 ? ds->cols[ds->key_col].name : NULL;
        if (!keyname) {
            chk_set_outcome(o, CHK_ERROR, "%s on a topic compares by key: add key = \"...\"",
                            chk_kind_name(c->kind));
            return;
        }
    }
    if (!keyname) {
        double want = NAN;
        char text[64];
        if (x->kind == PLAN_EXP_QUERY) {
            if (!chk_expect_scalar(ctx, x, o, &want, text, sizeof text)) return;
        } else if (x->kind == PLAN_EXP_NUMBER) {
            want = x->number;
        }
        uint64_t n = 0;
        if (chk_topic_scan(ctx, c, o, NULL, NULL, &n) != 0) return;
        chk_setf(&o->actual, "%llu messages", (unsigned long long)n);
        if (isnan(want)) {
            chk_set_text(&o->expected, "at least one message");
            chk_set_outcome(o, n ? CHK_PASS : CHK_FAIL, n ? NULL : "topic '%s' is empty", c->table);
        } else {
            chk_setf(&o->expected, "%.17g messages", want);
            if ((double)n == want)
                chk_set_outcome(o, CHK_PASS, NULL);
            else
                chk_set_outcome(o, CHK_FAIL, "%llu messages, expected %.17g", (unsigned long long)n,
                                want);
        }
        return;
    }
    topic_keyed tk = {.o = o, .key = keyname, .key_guess = -1};
    tk.max = ctx->max_samples ? ctx->max_samples : CHK_DEFAULT_SAMPLES;
    diff_state d;
    int *cols = NULL;
    memset(&d, 0, sizeof d);
    if (rows_query) {
        plan_check kc = *c;
        kc.key = (char *)keyname;
        if (!chk_diff_init(ctx, &kc, o, &d, &cols)) return;
        tk.d = &d;
        tk.kcol = &d.ds->cols[d.key_col];
        tk.idx = hx_malloc(d.ncols * sizeof *tk.idx + 1);
        if (!tk.idx) {
            chk_set_outcome(o, CHK_ERROR, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < d.ncols; i++)
            tk.idx[i] = -1;
        chk_diff_sample_titles(&d, o);
    } else {
        const char *titles[] = {"kind", keyname, "column", "expected", "actual"};
        chk_sample_cols(o, 5, titles);
    }
    if (chk_topic_scan(ctx, c, o, topic_keyed_rec, &tk, NULL) != 0) goto done;
    char bad[64] = "";
    if (tk.malformed)
        snprintf(bad, sizeof bad, ", %llu malformed", (unsigned long long)tk.malformed);
    if (rows_query) {
        uint64_t expected_rows = chk_diff_missing(&d, o);
        chk_setf(&o->expected, "%llu messages", (unsigned long long)expected_rows);
        chk_setf(&o->actual, "%llu messages: %llu missing, %llu extra, %llu mismatched%s",
                 (unsigned long long)tk.rows, (unsigned long long)o->missing,
                 (unsigned long long)o->extra, (unsigned long long)o->mismatched, bad);
        if (o->missing + o->extra + o->mismatched + tk.malformed == 0)
            chk_set_outcome(o, CHK_PASS, NULL);
        else
            chk_set_outcome(o, CHK_FAIL, "%llu missing, %llu extra, %llu mismatched messages%s%s",
                            (unsigned long long)o->missing, (unsigned long long)o->extra,
                            (unsigned long long)o->mismatched, tk.malformed ? "; " : "",
                            tk.malformed ? bad + 2 : "");
    } else {
        static const char *const kinds[] = {"duplicate", "malformed", NULL};
        chk_sample_sort(o, kinds);
        double want = x->kind == PLAN_EXP_NUMBER ? x->number : NAN;
        char text[64];
        if (x->kind == PLAN_EXP_QUERY && !chk_expect_scalar(ctx, x, o, &want, text, sizeof text))
            goto done;
        uint64_t n = tk.rows + tk.malformed;
        if (isnan(want))
            chk_setf(&o->expected, "every message a JSON object with a unique %s", keyname);
        else
            chk_setf(&o->expected, "%.17g messages, each a JSON object with a unique %s", want,
                     keyname);
        chk_setf(&o->actual, "%llu messages, %llu repeated keys%s", (unsigned long long)n,
                 (unsigned long long)tk.dup, bad);
        if (!isnan(want) && (double)n != want)
            chk_set_outcome(o, CHK_FAIL, "%llu messages, expected %.17g", (unsigned long long)n,
                            want);
        else if (tk.dup + tk.malformed)
            chk_set_outcome(o, CHK_FAIL, "%llu repeated keys%s", (unsigned long long)tk.dup, bad);
        else
            chk_set_outcome(o, CHK_PASS, NULL);
    }
done:
    hx_free(tk.idx);
    exp_map_release(&tk.seen);
    exp_map_release(&d.m);
    hx_free(cols);
}

const chk_kind chk_kind_topic = {
    .name = "topic",
    .keys = (const char *const[]){"topic", "equals", "expect", "key", "columns", "format", NULL},
    .flags = CHK_K_NEEDS_TABLE | CHK_K_ON_TOPIC | CHK_K_ROWS | CHK_K_NO_DB,
    .run = chk_topic_run,
    .summary = "a topic holds the expected messages (count, or rows by key)",
};
