/* replay_kafka.c - a dataset into a Kafka topic through a real librdkafka producer. See replay.h.
 */
#include "replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "fmt.h"
#include "kafkasvc.h"

/* Delivery outcomes, written by librdkafka's callback (on our thread, inside poll/flush). */
typedef struct delivery {
    uint64_t ok, failed;
    rd_kafka_resp_err_t first_err;
} delivery;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    delivery *d = opaque;
    if (m->err) {
        if (!d->failed++) d->first_err = m->err;
    } else {
        d->ok++;
    }
}

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    const char *env = getenv("HARNESS_KAFKA_LOG"); /* as kafkasvc.h describes */
    if (env && *env && strcmp(env, "0") != 0)
        fprintf(stderr, "harness: kafka: %d %s: %s\n", level, fac, buf);
}

static rd_kafka_t *producer(const char *bootstrap, const plan_step *st, delivery *d, char *errstr,
                            size_t n)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* acks=all and no idempotence: what a plain, careful producer sends. Without a key, spread
     * records one by one over the partitions, so a mock topic sized for the volume is not
     * trimmed (kafkasvc.h). Paced, a record lingers at most 1 ms before it is sent: latency
     * counts from its intended send time, and the harness's own batching is not the
     * solution's. */
    const char *kv[][2] = {
        {"bootstrap.servers", bootstrap},
        {"client.id", "harness-replay"},
        {"acks", "all"},
        {"enable.idempotence", "false"},
        {"linger.ms", st->rate > 0 ? "1" : "5"},
        {"sticky.partitioning.linger.ms", "0"},
        {"queue.buffering.max.messages", "100000"},
        {"message.timeout.ms", "60000"},
        {"log.connection.close", "false"},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, n) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    rd_kafka_conf_set_opaque(conf, d);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, n);
    if (!rk) rd_kafka_conf_destroy(conf);
    return rk;
}

/* Sleep until the monotonic time t_ns. */
static void sleep_until(int64_t t_ns)
{
    int64_t d = t_ns - hx_now_ns();
    if (d <= 0) return;
    struct timespec ts = {.tv_sec = d / 1000000000, .tv_nsec = d % 1000000000};
    nanosleep(&ts, NULL);
}

/* The window (replay.h): hold the next record back while unanswered() >= st->window, polling the
 * producer (deliveries) meanwhile, until the consumers catch up (true) or hold_ms pass without
 * progress (false: the step holds nothing back any more). */
static bool hold_back(rd_kafka_t *rk, const plan_step *st, const replay_kafka_watch *w)
{
    if (!w || !w->unanswered || st->window <= 0) return true;
    int64_t hold_ns = (int64_t)(w->hold_ms > 0 ? w->hold_ms : 30000) * 1000000;
    uint64_t last = w->unanswered(w->ud);
    int64_t since = hx_now_ns();
    for (;;) {
        uint64_t u = w->unanswered(w->ud);
        if (u < (uint64_t)st->window) return true;
        if (u < last) since = hx_now_ns();
        last = u;
        if (hx_now_ns() - since > hold_ns) return false;
        rd_kafka_poll(rk, 1);
    }
}

/* What the solution's consumer group read of the topic (replay.h, w->group): its committed offsets
 * against the records each partition holds. A consumer handle with that group.id asks with
 * OffsetFetch (which the mock serves) and joins nothing. */
typedef struct group_reads {
    rd_kafka_t *rk;                      /* NULL: no group, or it could not be made */
    rd_kafka_topic_partition_list_t *tp; /* the topic's partitions; offsets: the last answer */
    int64_t *held; /* records each partition holds or will: its end when the step began + sent */
    uint64_t read; /* the committed offsets' sum, what the group read of the topic */
    int64_t asked_ns;
} group_reads;

static void group_close(group_reads *gr)
{
    if (gr->tp) rd_kafka_topic_partition_list_destroy(gr->tp);
    if (gr->rk) rd_kafka_destroy_flags(gr->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    free(gr->held);
    memset(gr, 0, sizeof *gr);
}

/* Ready gr for group `group` on topic's parts partitions, whose ends are asked through rk (the
 * replay's producer). Without a group, or when the client cannot be made, gr stays empty: the
 * pacing counts only the answers. */
static void group_open(group_reads *gr, rd_kafka_t *rk, const char *bootstrap, const char *group,
                       const char *topic, int32_t parts)
{
    memset(gr, 0, sizeof *gr);
    if (!group || !*group) return;
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[][2] = {
        {"bootstrap.servers", bootstrap}, {"client.id", "harness-pace"},     {"group.id", group},
        {"enable.auto.commit", "false"},  {"log.connection.close", "false"},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            return;
        }
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    gr->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!gr->rk) {
        rd_kafka_conf_destroy(conf);
        return;
    }
    gr->tp = rd_kafka_topic_partition_list_new(parts);
    gr->held = calloc((size_t)parts, sizeof *gr->held);
    if (!gr->tp || !gr->held) {
        group_close(gr);
        return;
    }
    for (int32_t p = 0; p < parts; p++) {
        rd_kafka_topic_partition_list_add(gr->tp, topic, p);
        int64_t lo = 0, hi = 0; /* records an earlier step left there count as held */
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 5000) == 0) gr->held[p] = hi;
    }
}

/* Whether every partition's records that the group has not read fit one partition's budget on
 * the log (most records). The group's offsets are asked again at most every 20 ms; between
 * answers the last ones stand (offsets only grow, and what was sent since counts as unread). */
static bool group_fits(group_reads *gr, uint64_t most)
{
    if (!gr->rk) return false;
    bool fits = true;
    for (int i = 0; i < gr->tp->cnt && fits; i++) {
        int64_t c = gr->tp->elems[i].offset > 0 ? gr->tp->elems[i].offset : 0;
        fits = gr->held[i] - c < (int64_t)most;
    }
    if (fits || hx_now_ns() - gr->asked_ns < 20000000) return fits;
    gr->asked_ns = hx_now_ns();
    for (int i = 0; i < gr->tp->cnt; i++)
        gr->tp->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    if (rd_kafka_committed(gr->rk, gr->tp, 1000) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
    gr->read = 0;
    fits = true;
    for (int i = 0; i < gr->tp->cnt; i++) {
        int64_t c =
            gr->tp->elems[i].err || gr->tp->elems[i].offset < 0 ? 0 : gr->tp->elems[i].offset;
        gr->tp->elems[i].offset = c;
        gr->read += (uint64_t)c;
        fits &= gr->held[i] - c < (int64_t)most;
    }
    return fits;
}

/* Pacing to what was read (replay.h): the topic is too small to keep the whole step, so before
 * the next record the records sent and not yet read must fit one partition's budget on the log:
 * every unanswered record may sit in the one partition the next record goes to, and the mock
 * drops a partition's oldest batches beyond 5 MiB. Read is what the outputs answered or, per
 * partition, what the solution's consumer group committed (gr), whichever lets the record go.
 * Polls the producer while it waits. Returns 0, or HX_EINFRA when neither moves for hold_ms
 * (what was sent would be trimmed unread). */
static int hold_reads(rd_kafka_t *rk, const replay_kafka_watch *w, group_reads *gr,
                      const char *topic, uint64_t volume, int32_t parts, double rec_bytes,
                      hx_err *e)
{
    int hold_ms = w->hold_ms > 0 ? w->hold_ms : 30000;
    uint64_t most = (uint64_t)((double)KAFKASVC_PARTITION_BUDGET_BYTES / rec_bytes);
    if (most < 1) most = 1;
    uint64_t u = w->unanswered(w->ud), last = u, read = gr->read;
    int64_t since = hx_now_ns();
    for (;;) {
        if (u < most || group_fits(gr, most)) return 0;
        if (u < last || gr->read > read) since = hx_now_ns();
        last = u;
        read = gr->read;
        if (hx_now_ns() - since > (int64_t)hold_ms * 1000000) {
            int32_t need = kafkasvc_partitions_for(volume, (size_t)rec_bytes);
            return hx_fail(e, HX_EINFRA,
                           "kafka replay into '%s': %llu records sent and not answered for %d s, "
                           "and the consumer group '%s' (KAFKA_GROUP_ID) committed %llu of them; "
                           "the topic's %d partitions cannot keep the step's %llu records (the "
                           "mock cluster keeps 5 MiB a partition), so the replay sends only what "
                           "the service read (its answers, or its group's committed offsets), "
                           "and going on would drop records unread: commit the consumer's "
                           "offsets in group $KAFKA_GROUP_ID as it reads, give the step "
                           "`partitions = %d` so the topic holds the whole stream, or use a real "
                           "cluster (--kafka)",
                           topic, (unsigned long long)u, hold_ms / 1000,
                           w->group && *w->group ? w->group : "(none)",
                           (unsigned long long)gr->read, (int)parts, (unsigned long long)volume,
                           (int)need);
        }
        rd_kafka_poll(rk, 1);
        u = w->unanswered(w->ud);
    }
}

int replay_kafka(gen *g, size_t ds, const plan_step *st, const char *bootstrap, const char *topic,
                 int64_t batch, const replay_kafka_watch *w, replay_stats *out, hx_err *e)
{
    memset(out, 0, sizeof *out);
    const plan_dataset *d = &gen_scenario(g)->datasets[ds];
    int key_col = st->key_col >= 0 ? st->key_col : d->key_col;
    delivery dv = {0};
    char errstr[512];
    rd_kafka_t *rk = producer(bootstrap, st, &dv, errstr, sizeof errstr);
    if (!rk) return hx_fail(e, HX_EINFRA, "kafka replay: cannot create a producer: %s", errstr);
    hx_buf val, key;
    hx_buf_init(&val);
    hx_buf_init(&key);
    hx_sha256 sha;
    hx_sha256_init(&sha);
    gen_cursor c;
    int rc = gen_cursor_init(&c, g, ds, batch, e);
    if (rc) {
        rd_kafka_destroy(rk);
        return rc;
    }
    /* Connected before the clock starts: the first records' intended send times must not
     * include the producer's own start (bootstrap, metadata, the leaders' connections). */
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int32_t parts = 0;
    if (rkt && rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1 && !md->topics[0].err) parts = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
    }
    /* A topic too small for the whole step is paced to what the consumers answered. */
    uint64_t volume = gen_emissions(g, ds);
    bool paced = parts > 0 && w && w->unanswered && !kafkasvc_volume_fits(volume, 256, parts);
    size_t topic_len = strlen(topic);
    group_reads gr = {0};
    if (paced) group_open(&gr, rk, bootstrap, w->group, topic, parts);
    double log_bytes = 0; /* bytes the records sent so far take on the log, with framing */
    int64_t t0 = hx_now_ns(), wall0 = hx_wall_ns();
    int64_t last_batch = -1;
    bool holding = true;
    const gen_record *r;
    while ((rc = gen_cursor_next(&c, &r, e)) == 1) {
        /* The intended send time: on the schedule when paced (a stalled send keeps its slot, so
         * latency measured from it is free of coordinated omission), else now. */
        int64_t due = st->rate > 0 ? (int64_t)((double)out->rows * 1e9 / st->rate) : -1;
        if (due >= 0) sleep_until(t0 + due);
        if (holding) holding = hold_back(rk, st, w);
        if (paced && out->rows &&
            (rc = hold_reads(rk, w, &gr, topic, volume, parts, log_bytes / (double)out->rows, e)))
            break;
        hx_buf_clear(&val);
        hx_buf_clear(&key);
        bool has_key = key_col >= 0 && !r->vals[key_col].null;
        if (!fmt_record(&val, d, PLAN_FMT_JSONL, r) ||
            (has_key && !fmt_value(&key, &d->cols[key_col], &r->vals[key_col]))) {
            rc = hx_fail(e, HX_ENOMEM, "out of memory");
            break;
        }
        /* The message is the JSONL line without its line break (a truncated record stays cut). */
        size_t vlen = val.len && val.data[val.len - 1] == '\n' ? val.len - 1 : val.len;
        hx_sha256_update(&sha, val.data, val.len);
        char id[24];
        int idlen = snprintf(id, sizeof id, "%llu", (unsigned long long)r->id);
        char ts[24];
        int64_t now = hx_wall_ns(), intended = due >= 0 ? wall0 + due : now;
        int tslen = snprintf(ts, sizeof ts, "%lld", (long long)intended);
        if (w && w->sent)
            w->sent(w->ud, topic, r->id, has_key ? key.data : NULL, key.len, intended, now);
        /* The partition is chosen here as librdkafka's default would (a key's hash, else one
         * after the other), so the records spread evenly whatever the batching. */
        int32_t part = RD_KAFKA_PARTITION_UA;
        if (parts > 0)
            part = has_key ? rd_kafka_msg_partitioner_consistent_random(rkt, key.data, key.len,
                                                                        parts, NULL, NULL)
                           : (int32_t)(out->rows % (uint64_t)parts);
        /* The three headers in a list sized for them (producev's own starts at 8), handed to
         * the message, which frees them once delivered; a refused produce leaves them ours. The
         * topic goes by its handle, not by name: no lookup a record. */
        rd_kafka_headers_t *hdrs = rd_kafka_headers_new(3);
        rd_kafka_header_add(hdrs, "harness-id", 10, id, idlen);
        rd_kafka_header_add(hdrs, "harness-topic", 13, topic, (ssize_t)topic_len);
        rd_kafka_header_add(hdrs, "harness-ts", 10, ts, tslen);
        for (;;) {
            rd_kafka_resp_err_t err =
                rkt ? rd_kafka_producev(
                          rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(part),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_VALUE(val.data, vlen),
                          RD_KAFKA_V_KEY(has_key ? key.data : NULL, has_key ? key.len : 0),
                          RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END)
                    : rd_kafka_producev(
                          rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_VALUE(val.data, vlen),
                          RD_KAFKA_V_KEY(has_key ? key.data : NULL, has_key ? key.len : 0),
                          RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 50);
                continue;
            }
            if (err) {
                rd_kafka_headers_destroy(hdrs);
                rc = hx_fail(e, HX_EINFRA, "kafka replay into '%s': record %llu: %s", topic,
                             (unsigned long long)r->id, rd_kafka_err2str(err));
            }
            break;
        }
        if (rc < 0) break;
        rd_kafka_poll(rk, 0);
        if (gr.held && part >= 0 && part < parts) gr.held[part]++;
        out->rows++;
        out->bytes += vlen + (has_key ? key.len : 0);
        log_bytes += (double)(vlen + (has_key ? key.len : 0) + (size_t)idlen + (size_t)tslen +
                              topic_len + 34 + KAFKASVC_RECORD_OVERHEAD);
        out->corrupt += r->corrupt != 0;
        if ((int64_t)r->batch != last_batch) {
            out->batches++;
            last_batch = r->batch;
        }
    }
    gen_cursor_release(&c);
    group_close(&gr);
    if (rkt) rd_kafka_topic_destroy(rkt);
    /* acks=all: the step ends when every record is acknowledged, so the solution that runs next
     * finds them all. */
    if (rc >= 0) {
        rd_kafka_resp_err_t ferr = rd_kafka_flush(rk, 120000);
        if (ferr)
            rc = hx_fail(e, HX_EINFRA,
                         "kafka replay into '%s': %d records still unacknowledged after 120 s",
                         topic, rd_kafka_outq_len(rk));
        else if (dv.failed)
            rc = hx_fail(e, HX_EINFRA,
                         "kafka replay into '%s': %llu of %llu records were not delivered (first "
                         "error: %s); the broker refused or was down longer than the producer "
                         "retries (60 s)",
                         topic, (unsigned long long)dv.failed, (unsigned long long)out->rows,
                         rd_kafka_err2str(dv.first_err));
        else
            rc = 0;
    }
    rd_kafka_destroy(rk);
    hx_sha256_final(&sha, out->sha256);
    out->seconds = (double)(hx_now_ns() - t0) / 1e9;
    hx_buf_release(&val);
    hx_buf_release(&key);
    return rc;
}
