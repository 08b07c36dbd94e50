#!/bin/sh
# kafka_stream: the service solution of tests/packs/kafka_stream. A small librdkafka program
# (tests/helpers/kafka_stream.c, path in $HX_KAFKA_STREAM) follows the input topic and produces
# each record, same key, value and harness headers, to the output topic as it comes: the output
# message's create time is when it was produced, which end-to-end latency is measured by.
# Variants (environment): DELAY_MS per message (a slow service), DROP_HEADERS (latency is then
# matched by key), DROP_KEY (with DROP_HEADERS: no output can be matched), CRASH_AFTER seconds after which
# the service kills itself with SIGSEGV.
set -eu
# The helper's path: $HX_KAFKA_STREAM from the solution's env, else the copy beside this script
# (the transcripts put one there; the harness passes only an allowlist of its own environment).
: "${HX_KAFKA_STREAM:=./hx_kafka_stream}"
: "${KAFKA_BOOTSTRAP_SERVERS:?not set}" "${KAFKA_TOPIC_PREFIX:?not set}"
if [ -n "${CRASH_AFTER:-}" ]; then
    "$HX_KAFKA_STREAM" "${KAFKA_TOPIC_PREFIX}orders" "${KAFKA_TOPIC_PREFIX}orders_out" &
    sleep "$CRASH_AFTER"
    kill -SEGV $$
fi
exec "$HX_KAFKA_STREAM" "${KAFKA_TOPIC_PREFIX}orders" "${KAFKA_TOPIC_PREFIX}orders_out"
