/* kafkasvc.h - the Kafka a run talks to: a real cluster given with --kafka host:port, verified to
 * answer, or else librdkafka's in-process mock cluster, listening on 127.0.0.1 so the solution (a
 * separate process) can reach it. Also topic creation and, on the mock, broker faults (down/up,
 * request errors, added round-trip time) for the replay plan's fault steps.
 *
 * The mock's limit (librdkafka's mock cluster, as measured): each mock partition keeps only its
 * newest 5 MiB of record batches and at most 100000 batches; older batches are dropped silently,
 * which a consumer sees as a log that starts after offset 0. kafkasvc_partitions_for() sizes a
 * topic so a scenario's volume fits, assuming the replayer spreads records evenly over partitions
 * (explicit round-robin, or sticky.partitioning.linger.ms=0); kafkasvc_watermarks() lets a check
 * tell a trimmed log (an infrastructure limit) from data the solution lost.
 *
 * librdkafka 2.0's mock serves no AdminAPI (its metadata names no controller): topics on the mock
 * are made through the mock API, and the AdminAPI path is for real clusters only.
 *
 * On a real cluster, broker faults are not available (HX_EUSAGE saying so): the harness does not
 * administer other people's brokers.
 *
 * Set HARNESS_KAFKA_LOG=1 to see librdkafka's own log lines on stderr; otherwise they are kept
 * quiet and the last error line is quoted in error messages.
 *
 * Ownership: kafkasvc_start hands out a kafkasvc the caller ends with kafkasvc_stop. Strings it
 * returns (bootstrap) belong to the kafkasvc and live until kafkasvc_stop. */
#ifndef HX_KAFKASVC_H
#define HX_KAFKASVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

typedef struct kafkasvc_opts {
    const char *bootstrap; /* --kafka "host:port[,host:port...]"; NULL or "" starts the mock */
    int brokers;           /* mock brokers (ids 1..brokers), 0 means 1 */
    int timeout_ms;        /* how long a cluster gets to answer metadata/admin calls, 0 = 10000 */
} kafkasvc_opts;

typedef struct kafkasvc kafkasvc; /* opaque */

/* Kafka protocol API keys, for kafkasvc_request_errors(). */
enum kafkasvc_api {
    KAFKASVC_API_PRODUCE = 0,
    KAFKASVC_API_FETCH = 1,
    KAFKASVC_API_LIST_OFFSETS = 2,
    KAFKASVC_API_METADATA = 3,
    KAFKASVC_API_OFFSET_COMMIT = 8,
    KAFKASVC_API_OFFSET_FETCH = 9,
    KAFKASVC_API_FIND_COORDINATOR = 10,
    KAFKASVC_API_JOIN_GROUP = 11,
    KAFKASVC_API_HEARTBEAT = 12
};

/* Start the service. With o->bootstrap set, checks that the cluster answers a metadata request
 * within o->timeout_ms: HX_EINFRA naming the address otherwise. Without, creates a mock cluster
 * of o->brokers brokers on 127.0.0.1 (random ports). o may be NULL (mock, defaults). Returns 0 and
 * *out, or a negative hx code with e filled and *out NULL. */
int kafkasvc_start(const kafkasvc_opts *o, kafkasvc **out, hx_err *e);
/* Stop the service: destroys the mock cluster (closing its listeners) or the connection to the
 * real one, and frees svc. NULL is fine. */
void kafkasvc_stop(kafkasvc *svc);

/* The bootstrap servers a client (and the solution, as KAFKA_BOOTSTRAP_SERVERS) connects to. */
const char *kafkasvc_bootstrap(const kafkasvc *svc);
/* Whether this is the embedded mock (fault injection available). */
bool kafkasvc_is_mock(const kafkasvc *svc);
/* Number of brokers the cluster reported (mock: as created). */
int kafkasvc_brokers(const kafkasvc *svc);

/* The fetch.wait.max.ms every consumer of this cluster should use, the solution's (as
 * KAFKA_FETCH_WAIT_MAX_MS) and the harness's own. A real broker answers a waiting Fetch as soon
 * as data arrives, so the wait only bounds an idle poll: librdkafka's default, 500. The mock
 * (librdkafka 2.0's rdkafka_mock_handlers.c) answers a Fetch that found no data only when the
 * wait has run out, so a record produced meanwhile waits for it: up to 500 ms of latency no real
 * broker adds. On the mock the wait is KAFKASVC_MOCK_FETCH_WAIT_MS. */
#define KAFKASVC_MOCK_FETCH_WAIT_MS 5
int kafkasvc_fetch_wait_ms(const kafkasvc *svc);

/* Create topic `name` with `partitions` partitions (1..100000). Mock: directly; real cluster:
 * AdminAPI CreateTopics with the broker's default replication factor. An existing topic with at
 * least that many partitions is accepted (a re-run); with fewer it is HX_EUSAGE. */
int kafkasvc_create_topic(kafkasvc *svc, const char *name, int partitions, hx_err *e);
/* Partition count of an existing topic from cluster metadata, or a negative hx code (HX_EUSAGE
 * when the topic does not exist). */
int kafkasvc_topic_partitions(kafkasvc *svc, const char *name, hx_err *e);
/* Low and high watermark of one partition. On the mock, *low > 0 means the log was trimmed by the
 * 5 MiB limit: an infrastructure limit, not the solution's data loss. */
int kafkasvc_watermarks(kafkasvc *svc, const char *topic, int32_t partition, int64_t *low,
                        int64_t *high, hx_err *e);

/* One message handed to a kafkasvc_consume callback; pointers live until the callback returns. */
typedef struct kafkasvc_msg {
    int32_t partition; /* partition it was read from */
    int64_t offset;    /* its offset there */
    const void *key;   /* key bytes, NULL when the message has no key */
    size_t key_len;    /* key length */
    const void *value; /* value bytes, NULL for a tombstone */
    size_t value_len;  /* value length */
    int64_t ts_ms;     /* the message timestamp (create or log-append time), ms, -1 when none */
    bool has_id;       /* it carries the header harness-id (the replayer's, or forwarded) */
    uint64_t id;       /* that header's record id */
    int64_t sent_ns;   /* header harness-ts (intended send time, ns since the epoch), or -1 */
} kafkasvc_msg;

/* Called per message; return false to stop reading (kafkasvc_consume then returns 0). */
typedef bool (*kafkasvc_msg_fn)(void *ud, const kafkasvc_msg *m);

/* What kafkasvc_consume read. */
typedef struct kafkasvc_consumed {
    uint64_t messages;  /* messages handed to the callback */
    uint64_t bytes;     /* their key + value bytes */
    int64_t trimmed;    /* messages below the partitions' low watermarks (gone from the log before
                           the read: the mock's 5 MiB limit, or a real cluster's retention) */
    int32_t partitions; /* partitions read */
} kafkasvc_consumed;

/* Read the whole topic as it is now: every partition from its low to its high watermark (taken
 * when the call starts; later messages are not waited for), with a fresh consumer of its own
 * (assigned partitions, no group offsets committed). Stops with HX_EINFRA after max_messages (0 =
 * 10M) or timeout_ms (0 = 60000) with a message saying which limit, and HX_EUSAGE when the topic
 * does not exist. out may be NULL. Returns 0 or a negative hx code. */
int kafkasvc_consume(kafkasvc *svc, const char *topic, uint64_t max_messages, int timeout_ms,
                     kafkasvc_msg_fn fn, void *ud, kafkasvc_consumed *out, hx_err *e);

/* Fault injection, mock only (HX_EUSAGE on a real cluster). broker_id is 1..brokers, or -1 for
 * every broker. A broker that is down closes its connections and refuses new ones; it keeps its
 * data and comes back with kafkasvc_broker_up. */
int kafkasvc_broker_down(kafkasvc *svc, int32_t broker_id, hx_err *e);
int kafkasvc_broker_up(kafkasvc *svc, int32_t broker_id, hx_err *e);
/* Add rtt_ms of round-trip time to every response of the broker(s); 0 removes it. */
int kafkasvc_set_rtt(kafkasvc *svc, int32_t broker_id, int rtt_ms, hx_err *e);
/* Make the next n requests of `api` (enum kafkasvc_api) fail, in order, with the Kafka error
 * codes errs[0..n-1] (rd_kafka_resp_err_t values, e.g. 6 NOT_LEADER_FOR_PARTITION, or -195
 * for a dropped connection). Any broker answers with them. */
int kafkasvc_request_errors(kafkasvc *svc, int api, size_t n, const int *errs, hx_err *e);
/* Forget errors pushed for `api` that have not fired yet. */
int kafkasvc_clear_request_errors(kafkasvc *svc, int api, hx_err *e);

/* Bytes of each mock partition's log the harness plans to use: 80% of the mock's 5 MiB, so
 * batching overhead and uneven spreading have room. The mock's other limit, 100000 batches per
 * partition, cannot bind first: a batch takes at least 61 bytes, and 100000 of them exceed 5 MiB.
 */
#define KAFKASVC_PARTITION_BUDGET_BYTES (4u * 1024 * 1024)
/* Per-record overhead assumed on top of avg_bytes (key + value + headers): the record batch
 * header (61 bytes) in the worst case of one record per batch, plus the record's own framing. */
#define KAFKASVC_RECORD_OVERHEAD 80u
#define KAFKASVC_MAX_PARTITIONS 10000
/* Partitions of an input topic too large for the mock when the replay is paced to what a service
 * read (replay_kafka): few, so the replay's batches hold many records. The mock answers a Fetch
 * with one batch a partition and finds it by walking the partition's batches from the oldest
 * (librdkafka 2.0's rdkafka_mock.c), so a log of one-record batches is read slowly. */
#define KAFKASVC_PACED_PARTITIONS 4

/* Partitions needed so `records` records of avg_bytes (key + value + headers) each fit a mock
 * topic without trimming when spread evenly: ceil(records * (avg_bytes + overhead) / budget), at
 * least 1, at most KAFKASVC_MAX_PARTITIONS (check kafkasvc_volume_fits beyond that). Example: 1M
 * records of 190 bytes need 65 partitions (measured: 64 kept all of them, 6 kept 14%). */
int32_t kafkasvc_partitions_for(uint64_t records, size_t avg_bytes);
/* Whether that volume fits `partitions` mock partitions (if not, replay must be paced to what the
 * consumers have read). */
bool kafkasvc_volume_fits(uint64_t records, size_t avg_bytes, int32_t partitions);

#endif
