/* replay.h - the replayers: push a dataset's emissions into a source as a producer would, one
 * step of the replay plan at a time (docs/scenarios.md "Replay steps"): landing files
 * (replay_files.c) and PostgreSQL tables (replay_pg.c), and Kafka topics (replay_kafka.c; the
 * cluster itself is kafkasvc's).
 *
 * Records are serialised by fmt: landing files and Kafka messages by its CSV / JSONL encoders
 * (the landing files by the dataset writer `harness gen` uses), PostgreSQL rows by its COPY
 * encoder from the same fields (fmt_fields, with schema drift and corruption applied; a truncated
 * record cut as its CSV line is), so a table holds exactly what the landing file of the same step
 * would hold.
 *
 * PostgreSQL "raw" tables, decided here because the source is what a producer sends, not what a
 * clean schema would accept:
 *   - columns: _harness_id bigint (the logical record id; a duplicate copy repeats it),
 *     _harness_batch integer (arrival batch), then one TEXT column per field of the CSV header
 *     (drift applied), then _harness_extra text (the surplus of an EXTRA_COLUMN record, else NULL).
 *     Text keeps corrupt values as they were sent ("n/a" in an amount); a solution casts and
 *     quarantines, as it would from a file.
 *   - schema drift: at the drift batch, ADD becomes ALTER TABLE ADD COLUMN (earlier rows NULL),
 *     RENAME becomes ALTER TABLE RENAME COLUMN (earlier rows move with it, as in a real database),
 *     RETYPE changes only the text of the values (the column is text already).
 *   - corruption: TRUNCATE leaves the cut fields NULL and the last one partial; MISSING_COLUMN
 *     leaves the dropped column NULL (a producer writing by column name); EXTRA_COLUMN fills
 *     _harness_extra; BAD_TYPE lands as text; BAD_UTF8 cannot enter a UTF8 database, so each
 *     invalid byte sequence (and any NUL byte) becomes U+FFFD; the row still lands and is still
 *     counted corrupt by the ledger.
 *   - COPY mode (PLAN_PG_COPY): one COPY ... FROM STDIN (text format) per batch, fed in 256 KiB
 *     PQputCopyData chunks. OLTP mode (PLAN_PG_OLTP): each emission is an INSERT, except a
 *     duplicate copy with a changed payload, which is an UPDATE of the original row (WHERE
 *     _harness_id = id; an index on _harness_id is created); an exact duplicate is INSERTed again,
 *     like a retried write. Statements go through libpq pipeline mode, one implicit transaction
 *     per 1000 statements.
 *
 * Landing files: <landing>/<st->dir or dataset name>/<dataset>-<batch, 4 digits, 0-based>.csv or
 * .jsonl with st->per_batch, else <dataset>.csv|jsonl; each written to a temp file in the same
 * folder, fsynced and renamed, so a reader never sees a partial file.
 *
 * Ownership: replayers borrow everything; replay_stats is caller storage. */
#ifndef HX_REPLAY_H
#define HX_REPLAY_H

#include <libpq-fe.h>

#include "gen.h"
#include "plan.h"
#include "util.h"

/* What one replay call wrote. */
typedef struct replay_stats {
    uint64_t rows;    /* emissions replayed (originals plus duplicate copies) */
    uint64_t corrupt; /* emissions among them with a corruption applied */
    uint64_t updates; /* OLTP: changed duplicate copies applied as UPDATE */
    uint64_t bytes;   /* files: bytes written (headers included); postgres: bytes of the
                         records' CSV lines (the landing file's bytes without headers) */
    uint32_t files;   /* files written */
    uint32_t batches; /* batches replayed */
    double seconds;   /* wall time of the call */
    char sha256[65];  /* sha256 of exactly the bytes counted in `bytes`, in order */
} replay_stats;

/* Write dataset ds as step st describes into landing_dir. batch -1 = every batch (one file per
 * batch with st->per_batch, else one file), else only that batch. Creates folders as needed.
 * Returns 0, HX_EUSAGE (st->dir absolute or with "..", dataset name with '/'), HX_EIO (message
 * names the file), HX_ENOMEM or the generator's error. */
int replay_files(gen *g, size_t ds, const plan_step *st, const char *landing_dir, int64_t batch,
                 replay_stats *out, hx_err *e);

/* Replay dataset ds into table st->table (or the dataset's name; "schema.table" creates the
 * schema) over conn, creating the table if absent and applying drift for the batches replayed.
 * batch -1 = every batch, in order. Mode from st->pg_mode. conn must be idle and not in pipeline
 * mode; it is left so. Returns 0, HX_EINFRA (the server's message and the record id or batch),
 * HX_ENOMEM or the generator's error. */
int replay_pg(gen *g, size_t ds, const plan_step *st, PGconn *conn, int64_t batch,
              replay_stats *out, hx_err *e);

/* A change stream's replay (replay_changes.c, data/changes.h). */
struct chg_stream;
/* Called when transaction txn of the stream committed (its Sync or COMMIT read) at commit_ns
 * (hx_now_ns). From the replaying thread. */
typedef void (*replay_commit_fn)(void *ud, uint32_t txn, int64_t commit_ns);
/* What replay_changes sends, in order, for a bench or a debugger: a statement (its SQL and text
 * parameters, NULL for SQL NULL) on session 1 (the pipeline) or 2 (the long transactions' session,
 * whose BEGIN and COMMIT come as statements without parameters), or a Sync of session 1 (sql
 * NULL). Called before the statement is queued; the pointers are valid during the call only. */
typedef void (*replay_send_fn)(void *ud, int session, const char *sql, int nparams,
                               const char *const *params);

typedef struct replay_chg {
    PGconn *conn;  /* admin session on the scenario database (idle, no pipeline) */
    PGconn *conn2; /* a second one, for long transactions (NULL: the stream has none) */
    gen *g;        /* the scenario's generator */
    const struct chg_stream *cs; /* the stream */
    const char *table;           /* the source table, public.<table> */
    double rate;                 /* changes per second, 0 = as fast as the server takes them */
    replay_commit_fn on_commit;  /* may be NULL */
    void *ud;                    /* passed to on_commit */
    replay_send_fn on_send;      /* may be NULL (bench/cdc_replay_bench.c records with it) */
    void *send_ud;               /* passed to on_send */
} replay_chg;

/* Replay transactions from..to-1 of o->cs into public.<o->table> (made by
 * replay_changes_create; columns added before `from` present). Statements are pipelined, each
 * transaction its statements and a Sync, paced at o->rate; at most 512 transactions are in flight.
 * out->rows counts changes, out->updates updates, out->sha256 hashes the values sent. Returns 0,
 * HX_EINFRA (the server's message), HX_EUSAGE, HX_ENOMEM. */
int replay_changes(const replay_chg *o, uint32_t from, uint32_t to, replay_stats *out, hx_err *e);

/* CREATE TABLE public.<table> for the stream (typed columns, the columns added at its start,
 * row_version, updated_at, PRIMARY KEY on the key) and GRANT SELECT on it to role. On an admin
 * session. */
int replay_changes_create(PGconn *conn, const struct chg_stream *cs, const char *table,
                          const char *role, hx_err *e);

/* ALTER TABLE public.<table> ADD COLUMN for the stream's added column a. */
int replay_changes_add_column(PGconn *conn, const struct chg_stream *cs, const char *table,
                              size_t a, hx_err *e);

/* Produce dataset ds into Kafka topic `topic` (created beforehand, e.g. by kafkasvc) on the
 * cluster at `bootstrap`, batch -1 = every batch. One message per emission, as a producer would
 * send it: value = the record's JSONL line without its '\n' (the bytes `harness gen --format
 * jsonl` writes, drift and corruption included; out->sha256 covers the lines with their '\n', so
 * it equals that file's), key = the text of column st->key_col (else the dataset's key; no key
 * when NULL or none), headers harness-id = the record id, harness-topic = `topic` (ids restart in
 * every dataset: the pair names the record) and harness-ts = the intended send time (ns since the
 * epoch, decimal; on the schedule when paced, else the send time). acks=all, no
 * idempotence; st->rate > 0 paces sends at that many records per second, st->window holds them
 * back to what the consumers answered (w). The partition is chosen here (the key's hash as
 * librdkafka's default partitioner, keyless records one partition after the other). A topic too
 * small to keep the dataset's emissions on the mock (kafkasvc_volume_fits, 256 bytes a record) is
 * paced to what was read when w->unanswered is set: each record waits while the records
 * unanswered would not fit one partition's KAFKASVC_PARTITION_BUDGET_BYTES on the log, unless
 * w->group's committed offsets show that every partition's unread records fit it; after
 * w->hold_ms (0 = 30 s) with neither moving the step ends with HX_EINFRA saying to commit
 * offsets in that group or give the step more partitions. Returns when every record is
 * acknowledged: 0, or HX_EINFRA naming the topic when records were not delivered, HX_ENOMEM, or the
 * generator's error. */
typedef struct replay_kafka_watch replay_kafka_watch;
int replay_kafka(gen *g, size_t ds, const plan_step *st, const char *bootstrap, const char *topic,
                 int64_t batch, const replay_kafka_watch *w, replay_stats *out, hx_err *e);

/* What the run engine watches of a Kafka replay (w above; NULL: nothing). sent is told each
 * record's topic, id, key (NULL: none), intended and actual send time (ns since the epoch) before
 * it is produced. The window: when st->window > 0 and unanswered is set, the replay holds a record
 * back while unanswered() (records sent that the consumers have not answered yet) is st->window or
 * more, until they catch up or, after hold_ms (0 = 30 s) without progress, stops holding records
 * back for the rest of the step (a service that died). While held back the schedule runs on: the
 * intended send times stay where they were, the actual ones move (coordinated omission, which the
 * corrected latency counts). */
struct replay_kafka_watch {
    void *ud;
    void (*sent)(void *ud, const char *topic, uint64_t id, const void *key, size_t key_len,
                 int64_t intended_ns, int64_t actual_ns);
    uint64_t (*unanswered)(void *ud);
    /* The solution's consumer group (KAFKA_GROUP_ID, replay_kafka_group), NULL: none. A paced
     * step counts a partition's records up to the group's committed offset as read, so a service
     * that answers few of its inputs (a filter) is paced by what it committed. */
    const char *group;
    int hold_ms;
};

/* The file name replay_files writes for batch b (-1: the single-file name) into buf. */
void replay_file_name(const plan_dataset *d, const plan_step *st, int64_t b, char *buf, size_t n);

#endif
