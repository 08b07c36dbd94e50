/* kafkasvc.c - a real Kafka cluster checked for life, or librdkafka's mock cluster; see
 * kafkasvc.h. */
#include "kafkasvc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

struct kafkasvc {
    rd_kafka_t *mock_rk;               /* handle that owns the mock cluster, NULL on a real one */
    rd_kafka_mock_cluster_t *mcluster; /* the mock, NULL on a real cluster */
    rd_kafka_t *admin;                 /* client on the bootstrap, for metadata and admin calls */
    char *bootstrap;                   /* bootstrap servers, owned */
    int brokers;                       /* brokers in the last metadata answer (mock: created) */
    int timeout_ms;                    /* budget for each metadata or admin call */
    bool echo_log;                     /* HARNESS_KAFKA_LOG set: pass librdkafka logs to stderr */
    pthread_mutex_t log_mu;            /* guards last_log: librdkafka logs from its threads */
    char last_log[512];                /* the newest warning-or-worse log line, for messages */
};

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    kafkasvc *svc = rd_kafka_opaque(rk);
    if (!svc) return;
    if (svc->echo_log) fprintf(stderr, "harness: kafka: %s: %s\n", fac, buf);
    if (level > 4) /* LOG_WARNING */
        return;
    pthread_mutex_lock(&svc->log_mu);
    snprintf(svc->last_log, sizeof svc->last_log, "%s", buf);
    pthread_mutex_unlock(&svc->log_mu);
}

static void last_log(kafkasvc *svc, char *out, size_t n)
{
    pthread_mutex_lock(&svc->log_mu);
    snprintf(out, n, "%s", svc->last_log);
    pthread_mutex_unlock(&svc->log_mu);
}

/* A producer handle (producers need no group) with our log sink and the given settings. */
static rd_kafka_t *new_handle(kafkasvc *svc, const char *bootstrap, char *errstr, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[][2] = {
        {"client.id", "harness"},         {"log.connection.close", "false"},
        {"reconnect.backoff.ms", "50"},   {"reconnect.backoff.max.ms", "1000"},
        {"bootstrap.servers", bootstrap},
    };
    size_t n = sizeof kv / sizeof kv[0] - (bootstrap ? 0 : 1);
    for (size_t i = 0; i < n; i++) {
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, errlen) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_opaque(conf, svc);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errlen);
    if (!rk) rd_kafka_conf_destroy(conf);
    return rk;
}

void kafkasvc_stop(kafkasvc *svc)
{
    if (!svc) return;
    if (svc->admin) rd_kafka_destroy(svc->admin);
    if (svc->mcluster) rd_kafka_mock_cluster_destroy(svc->mcluster);
    if (svc->mock_rk) rd_kafka_destroy(svc->mock_rk);
    pthread_mutex_destroy(&svc->log_mu);
    hx_free(svc->bootstrap);
    hx_free(svc);
}

/* Ask for cluster metadata; fills svc->brokers. */
static int check_alive(kafkasvc *svc, hx_err *e)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(svc->admin, 0, NULL, &md, svc->timeout_ms);
    if (err) {
        char last[512];
        last_log(svc, last, sizeof last);
        return hx_fail(e, HX_EINFRA,
                       "kafka at '%s' did not answer a metadata request within %d ms (%s%s%s); "
                       "check the --kafka address and that the cluster is up",
                       svc->bootstrap, svc->timeout_ms, rd_kafka_err2str(err), *last ? ": " : "",
                       last);
    }
    svc->brokers = md->broker_cnt;
    rd_kafka_metadata_destroy(md);
    return 0;
}

int kafkasvc_start(const kafkasvc_opts *o, kafkasvc **out, hx_err *e)
{
    static const kafkasvc_opts defaults = {0};
    if (!o) o = &defaults;
    *out = NULL;
    bool mock = !o->bootstrap || !*o->bootstrap;
    int brokers = o->brokers ? o->brokers : 1;
    if (mock && (brokers < 1 || brokers > 64))
        return hx_fail(e, HX_EUSAGE, "kafka: %d mock brokers asked for; use 1..64", brokers);
    kafkasvc *svc = hx_calloc(1, sizeof *svc);
    if (!svc) return hx_fail(e, HX_ENOMEM, "kafka: out of memory");
    pthread_mutex_init(&svc->log_mu, NULL);
    const char *env = getenv("HARNESS_KAFKA_LOG");
    svc->echo_log = env && *env && strcmp(env, "0") != 0;
    svc->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
    char errstr[512];
    int rc;
    if (mock) {
        svc->mock_rk = new_handle(svc, NULL, errstr, sizeof errstr);
        if (!svc->mock_rk) {
            rc =
                hx_fail(e, HX_EINFRA, "kafka: cannot create the mock cluster's client: %s", errstr);
            goto fail;
        }
        svc->mcluster = rd_kafka_mock_cluster_new(svc->mock_rk, brokers);
        if (!svc->mcluster) {
            char last[512];
            last_log(svc, last, sizeof last);
            rc = hx_fail(e, HX_EINFRA, "kafka: cannot start the mock cluster on 127.0.0.1%s%s",
                         *last ? ": " : "", last);
            goto fail;
        }
        svc->bootstrap = hx_strdup(rd_kafka_mock_cluster_bootstraps(svc->mcluster));
    } else {
        svc->bootstrap = hx_strdup(o->bootstrap);
    }
    if (!svc->bootstrap) {
        rc = hx_fail(e, HX_ENOMEM, "kafka: out of memory");
        goto fail;
    }
    svc->admin = new_handle(svc, svc->bootstrap, errstr, sizeof errstr);
    if (!svc->admin) {
        rc = hx_fail(e, mock ? HX_EINFRA : HX_EUSAGE, "kafka: bad bootstrap '%s': %s",
                     svc->bootstrap, errstr);
        goto fail;
    }
    rc = check_alive(svc, e);
    if (rc) goto fail;
    *out = svc;
    return 0;
fail:
    kafkasvc_stop(svc);
    return rc;
}

const char *kafkasvc_bootstrap(const kafkasvc *svc)
{
    return svc->bootstrap;
}

bool kafkasvc_is_mock(const kafkasvc *svc)
{
    return svc->mcluster != NULL;
}

int kafkasvc_brokers(const kafkasvc *svc)
{
    return svc->brokers;
}

int kafkasvc_fetch_wait_ms(const kafkasvc *svc)
{
    return svc->mcluster ? KAFKASVC_MOCK_FETCH_WAIT_MS : 500;
}

/* Kafka's rule for topic names: 1..249 of [a-zA-Z0-9._-]. */
static int check_topic_name(const char *name, hx_err *e)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 249)
        return hx_fail(e, HX_EUSAGE, "kafka: topic name must have 1..249 characters");
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return hx_fail(e, HX_EUSAGE,
                           "kafka: topic name '%.249s' has a character Kafka does not allow at "
                           "offset %zu; use letters, digits, '.', '_' and '-'",
                           name, i);
    }
    return 0;
}

int kafkasvc_topic_partitions(kafkasvc *svc, const char *name, hx_err *e)
{
    int rc = check_topic_name(name, e);
    if (rc) return rc;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(svc->admin, 1, NULL, &md, svc->timeout_ms);
    if (err)
        return hx_fail(e, HX_EINFRA, "kafka at '%s': metadata request failed: %s", svc->bootstrap,
                       rd_kafka_err2str(err));
    int found = -1;
    for (int i = 0; i < md->topic_cnt && found < 0; i++)
        if (strcmp(md->topics[i].topic, name) == 0) found = i;
    if (found < 0)
        rc =
            hx_fail(e, HX_EUSAGE, "kafka at '%s': topic '%s' does not exist", svc->bootstrap, name);
    else if (md->topics[found].err)
        rc = hx_fail(e, HX_EINFRA, "kafka at '%s': topic '%s': %s", svc->bootstrap, name,
                     rd_kafka_err2str(md->topics[found].err));
    else
        rc = md->topics[found].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return rc;
}

/* An existing topic is fine when it has enough partitions. */
static int topic_exists(kafkasvc *svc, const char *name, int partitions, hx_err *e)
{
    int have = kafkasvc_topic_partitions(svc, name, e);
    if (have < 0) return have;
    if (have < partitions)
        return hx_fail(e, HX_EUSAGE,
                       "kafka at '%s': topic '%s' already exists with %d partitions, %d needed; "
                       "delete it or use a fresh cluster",
                       svc->bootstrap, name, have, partitions);
    return 0;
}

static int create_real(kafkasvc *svc, const char *name, int partitions, int rf, hx_err *e)
{
    char errstr[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(name, partitions, rf, errstr, sizeof errstr);
    if (!nt) return hx_fail(e, HX_EUSAGE, "kafka: topic '%s': %s", name, errstr);
    rd_kafka_AdminOptions_t *ao =
        rd_kafka_AdminOptions_new(svc->admin, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(ao, svc->timeout_ms, errstr, sizeof errstr);
    rd_kafka_AdminOptions_set_operation_timeout(ao, svc->timeout_ms, errstr, sizeof errstr);
    rd_kafka_queue_t *q = rd_kafka_queue_new(svc->admin);
    rd_kafka_CreateTopics(svc->admin, &nt, 1, ao, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, svc->timeout_ms + 2000);
    int rc = 0;
    if (!ev) {
        rc = hx_fail(e, HX_EINFRA, "kafka at '%s': creating topic '%s' timed out after %d ms",
                     svc->bootstrap, name, svc->timeout_ms);
    } else if (rd_kafka_event_error(ev)) {
        rc = hx_fail(e, HX_EINFRA, "kafka at '%s': creating topic '%s' failed: %s", svc->bootstrap,
                     name, rd_kafka_event_error_string(ev));
    } else {
        size_t cnt = 0;
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
        rd_kafka_resp_err_t err = cnt ? rd_kafka_topic_result_error(tr[0]) : 0;
        if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            rc = 1;
        else if (err == RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR && rf == -1)
            rc = 2;
        else if (err)
            rc = hx_fail(e, err == RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION ? HX_EUSAGE : HX_EINFRA,
                         "kafka at '%s': creating topic '%s' failed: %s", svc->bootstrap, name,
                         rd_kafka_topic_result_error_string(tr[0]));
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_NewTopic_destroy(nt);
    if (rc == 1) return topic_exists(svc, name, partitions, e);
    if (rc == 2) /* a broker without KIP-464 defaults: ask for what it can hold */
        return create_real(svc, name, partitions, svc->brokers < 3 ? svc->brokers : 3, e);
    return rc;
}

int kafkasvc_create_topic(kafkasvc *svc, const char *name, int partitions, hx_err *e)
{
    int rc = check_topic_name(name, e);
    if (rc) return rc;
    if (partitions < 1 || partitions > 100000)
        return hx_fail(e, HX_EUSAGE, "kafka: topic '%s': %d partitions asked for; use 1..100000",
                       name, partitions);
    if (!svc->mcluster) {
        /* A re-run against a kept cluster needs no admin rights: look before creating. */
        hx_err probe = {0};
        if (kafkasvc_topic_partitions(svc, name, &probe) >= 0)
            return topic_exists(svc, name, partitions, e);
        return create_real(svc, name, partitions, -1, e);
    }
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(svc->mcluster, name, partitions, 1);
    if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        return topic_exists(svc, name, partitions, e);
    if (err)
        return hx_fail(e, HX_EINFRA, "kafka mock: creating topic '%s' failed: %s", name,
                       rd_kafka_err2str(err));
    return 0;
}

int kafkasvc_watermarks(kafkasvc *svc, const char *topic, int32_t partition, int64_t *low,
                        int64_t *high, hx_err *e)
{
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(svc->admin, topic, partition, low, high, svc->timeout_ms);
    if (err)
        return hx_fail(e, err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ? HX_EUSAGE : HX_EINFRA,
                       "kafka at '%s': watermarks of '%s' [%d]: %s", svc->bootstrap, topic,
                       (int)partition, rd_kafka_err2str(err));
    return 0;
}

/* The harness's own headers (replay.h): harness-id and harness-ts, decimal. */
static void read_harness_headers(rd_kafka_message_t *m, kafkasvc_msg *km)
{
    rd_kafka_headers_t *h = NULL;
    if (rd_kafka_message_headers(m, &h) || !h) return;
    const void *v;
    size_t n;
    char buf[32];
    if (rd_kafka_header_get_last(h, "harness-id", &v, &n) == 0 && v && n && n < sizeof buf) {
        memcpy(buf, v, n);
        buf[n] = 0;
        char *end;
        unsigned long long id = strtoull(buf, &end, 10);
        if (!*end) km->has_id = true, km->id = id;
    }
    if (rd_kafka_header_get_last(h, "harness-ts", &v, &n) == 0 && v && n && n < sizeof buf) {
        memcpy(buf, v, n);
        buf[n] = 0;
        char *end;
        long long ts = strtoll(buf, &end, 10);
        if (!*end && ts > 0) km->sent_ns = ts;
    }
}

int kafkasvc_consume(kafkasvc *svc, const char *topic, uint64_t max_messages, int timeout_ms,
                     kafkasvc_msg_fn fn, void *ud, kafkasvc_consumed *out, hx_err *e)
{
    kafkasvc_consumed got = {0};
    if (out) *out = got;
    if (!max_messages) max_messages = 10000000;
    if (timeout_ms <= 0) timeout_ms = 60000;
    int parts = kafkasvc_topic_partitions(svc, topic, e);
    if (parts < 0) return parts;
    int64_t *low = hx_calloc((size_t)parts, sizeof *low),
            *high = hx_calloc((size_t)parts, sizeof *high);
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(parts);
    rd_kafka_t *rk = NULL;
    int rc = 0, open = 0;
    if (!low || !high || !tp) {
        rc = hx_fail(e, HX_ENOMEM, "kafka: out of memory");
        goto done;
    }
    for (int p = 0; p < parts; p++) {
        if ((rc = kafkasvc_watermarks(svc, topic, p, &low[p], &high[p], e))) goto done;
        got.trimmed += low[p];
        if (high[p] > low[p]) {
            rd_kafka_topic_partition_list_add(tp, topic, p)->offset = low[p];
            open++;
        }
    }
    got.partitions = parts;
    if (!open) goto done;
    char errstr[512], group[96], wait[16];
    snprintf(wait, sizeof wait, "%d", kafkasvc_fetch_wait_ms(svc));
    /* A group of its own: nothing the solution's consumers commit is touched or reused. */
    snprintf(group, sizeof group, "hx-check-%ld-%lld", (long)getpid(), (long long)hx_now_ns());
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[][2] = {
        {"bootstrap.servers", svc->bootstrap}, {"group.id", group},
        {"client.id", "harness-check"},        {"enable.auto.commit", "false"},
        {"enable.partition.eof", "true"},      {"log.connection.close", "false"},
        {"fetch.wait.max.ms", wait},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            rc = hx_fail(e, HX_EINFRA, "kafka: consumer setting %s: %s", kv[i][0], errstr);
            goto done;
        }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_opaque(conf, svc);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        rc = hx_fail(e, HX_EINFRA, "kafka: cannot create a consumer: %s", errstr);
        goto done;
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(rk, tp);
    if (err) {
        rc = hx_fail(e, HX_EINFRA, "kafka at '%s': cannot read '%s': %s", svc->bootstrap, topic,
                     rd_kafka_err2str(err));
        goto done;
    }
    int64_t deadline = hx_now_ns() + (int64_t)timeout_ms * 1000000;
    while (open > 0) {
        if (hx_now_ns() > deadline) {
            rc = hx_fail(e, HX_EINFRA,
                         "kafka at '%s': reading '%s' took longer than %d ms (%llu messages read, "
                         "%d partitions unfinished)",
                         svc->bootstrap, topic, timeout_ms, (unsigned long long)got.messages, open);
            goto done;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) continue;
        int32_t p = m->partition;
        bool in = m->rkt && p >= 0 && p < parts;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (in && high[p] >= 0 && m->offset >= high[p]) high[p] = -1, open--;
        } else if (m->err) {
            rc = hx_fail(e, HX_EINFRA, "kafka at '%s': reading '%s': %s", svc->bootstrap, topic,
                         rd_kafka_message_errstr(m));
        } else if (in && high[p] >= 0 && m->offset < high[p]) {
            if (got.messages >= max_messages) {
                rc = hx_fail(e, HX_EINFRA,
                             "kafka: topic '%s' holds more than %llu messages, the most a check "
                             "reads",
                             topic, (unsigned long long)max_messages);
            } else {
                kafkasvc_msg km = {p,
                                   m->offset,
                                   m->key,
                                   m->key_len,
                                   m->payload,
                                   m->len,
                                   rd_kafka_message_timestamp(m, NULL),
                                   false,
                                   0,
                                   -1};
                read_harness_headers(m, &km);
                got.messages++;
                got.bytes += m->key_len + m->len;
                if (!fn(ud, &km)) open = 0;
                if (m->offset + 1 >= high[p]) high[p] = -1, open--;
            }
        }
        rd_kafka_message_destroy(m);
        if (rc) goto done;
    }
done:
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    if (tp) rd_kafka_topic_partition_list_destroy(tp);
    hx_free(low);
    hx_free(high);
    if (out) *out = got;
    return rc;
}

static int need_mock(kafkasvc *svc, const char *what, hx_err *e)
{
    if (svc->mcluster) return 0;
    return hx_fail(e, HX_EUSAGE,
                   "kafka: %s needs the embedded mock cluster; against a real cluster (--kafka %s) "
                   "broker faults are not injected: drop the fault step or run without --kafka",
                   what, svc->bootstrap);
}

/* Apply fn to one broker or (broker_id -1) to all of them. */
static int each_broker(kafkasvc *svc, int32_t broker_id, const char *what,
                       rd_kafka_resp_err_t (*fn)(rd_kafka_mock_cluster_t *, int32_t, int), int arg,
                       hx_err *e)
{
    int rc = need_mock(svc, what, e);
    if (rc) return rc;
    if (broker_id != -1 && (broker_id < 1 || broker_id > svc->brokers))
        return hx_fail(e, HX_EUSAGE,
                       "kafka mock: %s: no broker %d (brokers are 1..%d, or -1 for all)", what,
                       (int)broker_id, svc->brokers);
    int32_t lo = broker_id == -1 ? 1 : broker_id, hi = broker_id == -1 ? svc->brokers : broker_id;
    for (int32_t b = lo; b <= hi; b++) {
        rd_kafka_resp_err_t err = fn(svc->mcluster, b, arg);
        if (err)
            return hx_fail(e, HX_EINFRA, "kafka mock: %s on broker %d failed: %s", what, (int)b,
                           rd_kafka_err2str(err));
    }
    return 0;
}

static rd_kafka_resp_err_t set_down(rd_kafka_mock_cluster_t *mc, int32_t b, int arg)
{
    (void)arg;
    return rd_kafka_mock_broker_set_down(mc, b);
}

static rd_kafka_resp_err_t set_up(rd_kafka_mock_cluster_t *mc, int32_t b, int arg)
{
    (void)arg;
    return rd_kafka_mock_broker_set_up(mc, b);
}

static rd_kafka_resp_err_t set_rtt(rd_kafka_mock_cluster_t *mc, int32_t b, int rtt_ms)
{
    return rd_kafka_mock_broker_set_rtt(mc, b, rtt_ms);
}

int kafkasvc_broker_down(kafkasvc *svc, int32_t broker_id, hx_err *e)
{
    return each_broker(svc, broker_id, "broker down", set_down, 0, e);
}

int kafkasvc_broker_up(kafkasvc *svc, int32_t broker_id, hx_err *e)
{
    return each_broker(svc, broker_id, "broker up", set_up, 0, e);
}

int kafkasvc_set_rtt(kafkasvc *svc, int32_t broker_id, int rtt_ms, hx_err *e)
{
    if (rtt_ms < 0 || rtt_ms > 600000)
        return hx_fail(e, HX_EUSAGE, "kafka mock: round-trip time %d ms; use 0..600000", rtt_ms);
    return each_broker(svc, broker_id, "added round-trip time", set_rtt, rtt_ms, e);
}

int kafkasvc_request_errors(kafkasvc *svc, int api, size_t n, const int *errs, hx_err *e)
{
    int rc = need_mock(svc, "request errors", e);
    if (rc) return rc;
    if (api < 0 || api > INT16_MAX)
        return hx_fail(e, HX_EUSAGE, "kafka mock: request errors: bad API key %d", api);
    if (n == 0) return 0;
    rd_kafka_resp_err_t *v = hx_malloc(n * sizeof *v);
    if (!v) return hx_fail(e, HX_ENOMEM, "kafka mock: out of memory");
    for (size_t i = 0; i < n; i++)
        v[i] = (rd_kafka_resp_err_t)errs[i];
    rd_kafka_mock_push_request_errors_array(svc->mcluster, (int16_t)api, n, v);
    hx_free(v);
    return 0;
}

int kafkasvc_clear_request_errors(kafkasvc *svc, int api, hx_err *e)
{
    int rc = need_mock(svc, "request errors", e);
    if (rc) return rc;
    if (api < 0 || api > INT16_MAX)
        return hx_fail(e, HX_EUSAGE, "kafka mock: request errors: bad API key %d", api);
    rd_kafka_mock_clear_request_errors(svc->mcluster, (int16_t)api);
    return 0;
}

/* Partitions for the volume, not clamped; UINT64_MAX when it does not even compute. */
static uint64_t partitions_needed(uint64_t records, size_t avg_bytes)
{
    uint64_t per = (uint64_t)avg_bytes + KAFKASVC_RECORD_OVERHEAD;
    if (per < avg_bytes || (records && per > UINT64_MAX / records)) return UINT64_MAX;
    uint64_t bytes = records * per;
    uint64_t p =
        bytes / KAFKASVC_PARTITION_BUDGET_BYTES + (bytes % KAFKASVC_PARTITION_BUDGET_BYTES != 0);
    return p ? p : 1;
}

int32_t kafkasvc_partitions_for(uint64_t records, size_t avg_bytes)
{
    uint64_t p = partitions_needed(records, avg_bytes);
    return p > KAFKASVC_MAX_PARTITIONS ? KAFKASVC_MAX_PARTITIONS : (int32_t)p;
}

bool kafkasvc_volume_fits(uint64_t records, size_t avg_bytes, int32_t partitions)
{
    return partitions > 0 && partitions_needed(records, avg_bytes) <= (uint64_t)partitions;
}
