/* live.h - end-to-end latency while the stream runs (docs/scenarios.md "Streaming: services,
 * pacing and end-to-end latency"): a consumer thread of the harness's own reads a service
 * scenario's output topics during the replay and matches each message, as it arrives, to the
 * input it answers, with the two views wrk2 shows side by side:
 *   corrected   output time - the input's intended send time (harness-ts, on the schedule), free
 *               of coordinated omission: a stall counts for every record that waited behind it;
 *   uncorrected output time - the input's actual send time, what a producer that waited sees.
 * The output time is when this consumer received the message (wall clock, ns), not its Kafka
 * timestamp: the create time is the solution's producer's to set, and a service that back-dated it
 * would look faster than it is. The receive time is an upper bound the solution cannot lower; it
 * adds the harness's own fetch delay (docs/scenarios.md "Streaming"). The replay tells it each
 * record's send times before producing it (live_sent), so no input topic is read back: the table
 * holds 40 bytes per id and per key. A message is matched to (input topic, id) by its harness-topic
 * and harness-id headers, else to (input topic, key) by its key (a 63-bit hash of the bytes; an id
 * or key sent twice on one topic keeps its first times). Without a harness-topic header naming an
 * input, an id or key sent on exactly one input topic matches, one sent on several matches
 * nothing (record ids restart at 1 in every dataset). An input's latency is the time to its last
 * answer: an output of another value than the one counted replaces that sample, the same value
 * again adds none (an id or key sent twice counts every output). It also keeps a
 * per-second timeline from live_opts.t0_ns: records sent, outputs read, and each view's p99.
 *
 * Threads: live_sent, live_matched and live_resume may be called from any one thread while the
 * consumer runs; the results (live_hists, live_timeline, ...) are read after live_finish.
 *
 * Ownership: live_start hands out a live the caller ends with live_free (which also stops it). */
#ifndef HX_RUN_LIVE_H
#define HX_RUN_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "util.h"

typedef struct live live; /* opaque */

typedef struct live_opts {
    const char *bootstrap;     /* the cluster */
    int fetch_wait_ms;         /* fetch.wait.max.ms (kafkasvc_fetch_wait_ms) */
    const char *const *topics; /* full names of the topics to follow */
    size_t ntopics;
    uint64_t expect; /* inputs expected (sizes the table; it grows past it), 0 = unknown */
    int64_t t0_ns;   /* the timeline's second 0, ns since the epoch */
    bool paused;     /* read nothing until live_resume (bench/live_bench.c fills the table first) */
    const bool *timed; /* per topic (NULL: none): keep each message's receive time (live_recv_ns)
                          instead of matching it to an input (summaries answer no one input) */
    bool spool;        /* keep every output message read in a temporary file for live_read_topic */
    /* bootstrap NULL (bench/live_bench.c, tests): no consumer; topic t has partitions[t]
     * partitions (NULL: 1 each) from offset 0, and messages read elsewhere come through
     * live_match. */
    const int32_t *partitions;
} live_opts;

/* One second of the timeline (second i covers [t0 + i s, t0 + (i + 1) s)). */
typedef struct live_second {
    uint64_t in;         /* records produced (actual send time in this second) */
    uint64_t out;        /* output messages received in it */
    uint64_t matched;    /* of them, matched to an input */
    double p99_s;        /* corrected p99 of those matched, s (0 when none) */
    double p99_uncorr_s; /* uncorrected p99, s */
} live_second;

/* The timeline's longest span, seconds; later seconds count in the last one. */
#define LIVE_MAX_SECONDS 3600

/* Start following o->topics from their low watermarks, each partition assigned directly (no
 * group join). Returns 0 and *out, or a negative hx code (HX_EINFRA: the cluster or a topic
 * could not be read) with e filled. */
int live_start(const live_opts *o, live **out, hx_err *e);
/* The most input topics a scenario's records are matched on (live_sent refuses more). */
#define LIVE_MAX_INPUTS 64
/* Before record id is produced into input topic `topic` (its name on the cluster): its key (NULL:
 * none), intended and actual send time (ns since the epoch). Returns false when out of memory (that
 * record cannot be matched). */
bool live_sent(live *l, const char *topic, uint64_t id, const void *key, size_t key_len,
               int64_t intended_ns, int64_t actual_ns);
/* Match n messages of the followed topics, read at recv_ns (ns since the epoch), as the consumer
 * thread does after a poll, and destroy them; for a live without a consumer (live_opts.bootstrap
 * NULL), from the thread that calls live_sent. */
struct rd_kafka_message_s;
void live_match(live *l, struct rd_kafka_message_s **ms, size_t n, int64_t recv_ns);
/* Start reading (after live_opts.paused). */
void live_resume(live *l);
/* Outputs matched to an input so far (for pacing the replay to what was answered). */
uint64_t live_matched(const live *l);
/* Read every partition up to its high watermark as it is now, waiting at most timeout_ms, then
 * stop the consumer. Returns 0, or HX_EINFRA when the end was not reached in time (what was read
 * stays). Idempotent. */
int live_finish(live *l, int timeout_ms, hx_err *e);
/* After live_finish: when message (partition, offset) of timed topic `topic` (its name on the
 * cluster) was received, ns since the epoch; -1 when not read or not a timed topic. */
int64_t live_recv_ns(const live *l, const char *topic, int32_t partition, int64_t offset);
/* The intended send time of record id on input topic `topic` (its first sending), -1 when it was
 * not sent. Any time. */
int64_t live_intended(live *l, const char *topic, uint64_t id);
/* After live_finish: the two views (ns) and the counts. */
const hist *live_corrected(const live *l);
const hist *live_uncorrected(const live *l);
uint64_t live_read(const live *l);      /* output messages read */
uint64_t live_unmatched(const live *l); /* of them, matched to no input */
/* The first error the consumer met reading (a message's error), "" when none. */
const char *live_error(const live *l);
/* The timeline: *n seconds, up to the last second anything happened in. Valid until live_free. */
const live_second *live_timeline(const live *l, size_t *n);
/* After live_finish, with live_opts.spool: call each(ud, partition, offset, value, len) for every
 * message of topic `name` (its full name) the consumer read, in the order read, until each returns
 * false; value is NULL for a tombstone. This is the whole topic as it was when live_finish
 * returned 0, including what the cluster has trimmed from its log since it was read (the mock
 * keeps 5 MiB a partition), so checks need not read it back. Returns 1 when served, 0 when the
 * spool does not cover the topic (not followed, not kept, a write failed, or live_finish did not
 * reach the end): read the cluster instead; HX_EINFRA naming the count when messages of the topic
 * were trimmed before the consumer read them, HX_ENOMEM. */
typedef bool (*live_msg_fn)(void *ud, int32_t partition, int64_t offset, const char *value,
                            size_t len);
int live_read_topic(live *l, const char *name, live_msg_fn each, void *ud, hx_err *e);
void live_free(live *l);

#endif
