#!/bin/sh
# The untuned reference: the analysts' queries run as the pack wrote them on the raw tables, with
# no index, summary or view. Answers are right; most queries scan the tables every time.
set -eu
psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qAtX -c "select count(*) from orders" >/dev/null
