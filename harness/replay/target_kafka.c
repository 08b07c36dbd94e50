/* target_kafka.c - the Kafka target: into = "kafka" produces each emission as a message of topic
 * hx_<scenario>_<topic> (replay_kafka, replay.h). Before the steps it creates the scenario's
 * topics, those it replays into and those its checks read; the solution gets
 * KAFKA_BOOTSTRAP_SERVERS, KAFKA_TOPIC_PREFIX, KAFKA_GROUP_ID and KAFKA_FETCH_WAIT_MAX_MS
 * (kafkasvc.h, replay_kafka_group); faults break the mock cluster's brokers. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "replay_target.h"

void replay_kafka_topic(const plan_scenario *s, const char *t, char *buf, size_t n)
{
    snprintf(buf, n, "hx_%s_%s", s->name, t);
}

void replay_kafka_group(const plan_scenario *s, char *buf, size_t n)
{
    replay_kafka_topic(s, "solution", buf, n);
}

bool replay_check_on_topic(const plan_check *pc)
{
    if (pc->kind == PLAN_CHK_TOPIC) return true;
    for (size_t i = 0; i < pc->nparams; i++)
        if (strcmp(pc->params[i].key, "sink") == 0 && strcmp(pc->params[i].json, "\"topic\"") == 0)
            return true;
    return false;
}

static const char *const kafka_faults[] = {"broker_down", "broker_up", "rtt", "request_errors",
                                           NULL};

static bool kafka_fault_name(const char *f)
{
    for (size_t i = 0; f && kafka_faults[i]; i++)
        if (strcmp(kafka_faults[i], f) == 0) return true;
    return false;
}

static bool kafka_used_by(const plan_scenario *s)
{
    for (size_t i = 0; i < s->nsteps; i++)
        if ((s->steps[i].kind == PLAN_STEP_INTO && s->steps[i].target == PLAN_TGT_KAFKA) ||
            (s->steps[i].kind == PLAN_STEP_FAULT && kafka_fault_name(s->steps[i].fault)))
            return true;
    for (size_t i = 0; i < s->nchecks; i++)
        if (replay_check_on_topic(&s->checks[i])) return true;
    return false;
}

/* Create one topic for the scenario. On a --kafka cluster a topic left from an earlier run with
 * messages in it is refused: the harness does not delete topics, and stale messages would make
 * the checks wrong. */
static int ensure_topic(kafkasvc *k, const char *name, int partitions, hx_err *e)
{
    int rc = kafkasvc_create_topic(k, name, partitions, e);
    if (rc || kafkasvc_is_mock(k)) return rc;
    int parts = kafkasvc_topic_partitions(k, name, e);
    if (parts < 0) return parts;
    for (int p = 0; p < parts; p++) {
        int64_t lo, hi;
        if ((rc = kafkasvc_watermarks(k, name, p, &lo, &hi, e))) return rc;
        if (hi > lo)
            return hx_fail(e, HX_EUSAGE,
                           "kafka at '%s': topic '%s' already holds messages (from an earlier "
                           "run?); harness never deletes topics: delete it yourself "
                           "(kafka-topics.sh --delete --topic %s) or use a fresh cluster",
                           kafkasvc_bootstrap(k), name, name);
    }
    return 0;
}

/* Whether a check of s reads topic t. */
static bool checked(const plan_scenario *s, const char *t)
{
    for (size_t i = 0; i < s->nchecks; i++)
        if (replay_check_on_topic(&s->checks[i]) && s->checks[i].table &&
            strcmp(s->checks[i].table, t) == 0)
            return true;
    return false;
}

/* Whether the harness's live consumer will follow the scenario's outputs while a service reads
 * its inputs (run/live.h): a service scenario with a topic check on a topic no step replays. */
static bool followed_live(const plan_scenario *s)
{
    if (s->mode != PLAN_MODE_SERVICE) return false;
    for (size_t i = 0; i < s->nchecks; i++) {
        if (!replay_check_on_topic(&s->checks[i]) || !s->checks[i].table) continue;
        bool replayed = false;
        for (size_t j = 0; j < s->nsteps && !replayed; j++)
            replayed = s->steps[j].kind == PLAN_STEP_INTO && s->steps[j].target == PLAN_TGT_KAFKA &&
                       strcmp(s->steps[j].topic, s->checks[i].table) == 0;
        if (!replayed) return true;
    }
    return false;
}

/* Create the scenario's topics: those it replays into and those its checks read (as many
 * partitions as the largest input topic). An input topic gets the partitions the step says, else
 * enough that the mock keeps every record; but when a service reads it while the harness follows
 * the outputs live and no check reads it back, on the mock at most KAFKASVC_PACED_PARTITIONS: the
 * replay then sends only what the answers show was read (replay_kafka), and the checks read the
 * outputs from the live consumer's spool, so neither log has to hold the whole stream, and fewer
 * partitions make larger batches, which the mock serves one a partition per fetch. */
static int kafka_setup(replay_site *site, void **slot, hx_err *e)
{
    (void)slot;
    const plan_scenario *s = site->s;
    if (!site->kafka) return 0; /* a step into it says so */
    int most = 1, rc;
    char name[300];
    bool live = followed_live(s);
    for (size_t i = 0; i < s->nsteps; i++) {
        const plan_step *st = &s->steps[i];
        if (st->kind != PLAN_STEP_INTO || st->target != PLAN_TGT_KAFKA) continue;
        /* 256 bytes a record: a JSONL line with its key and harness-id header */
        int parts = st->partitions > 0
                        ? st->partitions
                        : (int)kafkasvc_partitions_for(gen_emissions(site->g, st->dataset), 256);
        if (st->partitions <= 0 && live && kafkasvc_is_mock(site->kafka) &&
            !checked(s, st->topic) && parts > KAFKASVC_PACED_PARTITIONS)
            parts = KAFKASVC_PACED_PARTITIONS;
        most = parts > most ? parts : most;
        replay_kafka_topic(s, st->topic, name, sizeof name);
        if ((rc = ensure_topic(site->kafka, name, parts, e))) return rc;
    }
    for (size_t i = 0; i < s->nchecks; i++) {
        if (!replay_check_on_topic(&s->checks[i]) || !s->checks[i].table) continue;
        bool replayed = false;
        for (size_t j = 0; j < s->nsteps && !replayed; j++)
            replayed = s->steps[j].kind == PLAN_STEP_INTO && s->steps[j].target == PLAN_TGT_KAFKA &&
                       strcmp(s->steps[j].topic, s->checks[i].table) == 0;
        if (replayed) continue; /* made above */
        replay_kafka_topic(s, s->checks[i].table, name, sizeof name);
        if ((rc = ensure_topic(site->kafka, name, most, e))) return rc;
    }
    return 0;
}

static int kafka_replay(replay_site *site, void *state, const plan_step *st, int64_t batch,
                        replay_stats *out, hx_err *e)
{
    (void)state;
    if (!site->kafka)
        return hx_fail(e, HX_EINFRA, "%s: no Kafka cluster was started",
                       st->where ? st->where : site->s->name);
    char topic[300];
    replay_kafka_topic(site->s, st->topic, topic, sizeof topic);
    return replay_kafka(site->g, st->dataset, st, kafkasvc_bootstrap(site->kafka), topic, batch,
                        site->kwatch, out, e);
}

static int kafka_env(const replay_site *site, replay_env_fn add, void *ud, hx_err *e)
{
    char prefix[300], group[300], wait[16] = "";
    replay_kafka_topic(site->s, "", prefix, sizeof prefix);
    replay_kafka_group(site->s, group, sizeof group);
    if (site->kafka) snprintf(wait, sizeof wait, "%d", kafkasvc_fetch_wait_ms(site->kafka));
    if (!add(ud, "KAFKA_BOOTSTRAP_SERVERS", site->kafka ? kafkasvc_bootstrap(site->kafka) : "") ||
        !add(ud, "KAFKA_TOPIC_PREFIX", site->kafka ? prefix : "") ||
        !add(ud, "KAFKA_GROUP_ID", site->kafka ? group : "") ||
        !add(ud, "KAFKA_FETCH_WAIT_MAX_MS", wait))
        return hx_fail(e, HX_ENOMEM, "out of memory");
    return 0;
}

/* A source fault of the replay plan on the mock cluster (kafkasvc refuses them on --kafka):
 * broker_down (every broker; with duration, back up after it), broker_up, rtt (duration = the
 * added round-trip time, 0 removes it), request_errors (the next 5 Produce and 5 Fetch requests
 * fail with NOT_LEADER_FOR_PARTITION, retriable, as during a leader election). */
static int kafka_fault(replay_site *site, void *state, const plan_step *st, hx_err *e)
{
    (void)state;
    kafkasvc *k = site->kafka;
    if (!k) return hx_fail(e, HX_EINFRA, "fault '%s': no Kafka cluster was started", st->fault);
    int rc;
    if (strcmp(st->fault, "broker_down") == 0) {
        if ((rc = kafkasvc_broker_down(k, -1, e)) || !st->sleep_us) return rc;
        struct timespec ts = {.tv_sec = st->sleep_us / 1000000,
                              .tv_nsec = (st->sleep_us % 1000000) * 1000};
        nanosleep(&ts, NULL);
        return kafkasvc_broker_up(k, -1, e);
    }
    if (strcmp(st->fault, "broker_up") == 0) return kafkasvc_broker_up(k, -1, e);
    if (strcmp(st->fault, "rtt") == 0)
        return kafkasvc_set_rtt(k, -1, (int)(st->sleep_us / 1000), e);
    int errs[5] = {6, 6, 6, 6, 6};
    if ((rc = kafkasvc_request_errors(k, KAFKASVC_API_PRODUCE, 5, errs, e))) return rc;
    return kafkasvc_request_errors(k, KAFKASVC_API_FETCH, 5, errs, e);
}

const replay_target replay_target_kafka = {
    .name = "kafka",
    .code = PLAN_TGT_KAFKA,
    .stream = true,
    .format = "kafka",
    .used_by = kafka_used_by,
    .setup = kafka_setup,
    .replay = kafka_replay,
    .env = kafka_env,
    .faults = kafka_faults,
    .fault = kafka_fault,
};
