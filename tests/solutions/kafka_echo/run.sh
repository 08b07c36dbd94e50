#!/bin/sh
# kafka_echo: the reference solution of tests/packs/kafka. Reads the whole input topic with kcat,
# keeps the valid orders not yet written (the output topic is read first, so running after every
# batch writes each order once) and produces them, keyed by id, to the output topic.
set -eu
cd "$(dirname "$0")"
: "${KAFKA_BOOTSTRAP_SERVERS:?not set}" "${KAFKA_TOPIC_PREFIX:?not set}"
# The pack uses no PostgreSQL: the harness starts none and passes no PG* (docs/solutions.md).
if env | grep -E '^(PG[A-Z]*|DATABASE_URL)=' >&2; then
  echo "kafka_echo: a database variable is set, but the pack uses no PostgreSQL" >&2
  exit 9
fi
IN="${KAFKA_TOPIC_PREFIX}orders"
OUT="${KAFKA_TOPIC_PREFIX}orders_clean"
B="$KAFKA_BOOTSTRAP_SERVERS"
seen="$(mktemp)"
trap 'rm -f "$seen"' EXIT
kcat -b "$B" -C -t "$OUT" -o beginning -e -q -f '%k\n' > "$seen"
kcat -b "$B" -C -t "$IN" -o beginning -e -q -f '%s\n' |
  lua5.4 ./clean.lua "$seen" "${DROP_EVERY:-0}" |
  kcat -b "$B" -P -t "$OUT" -K '\t' -X acks=all
