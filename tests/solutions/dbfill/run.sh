#!/bin/sh
# dbfill: a hostile solution (docs/solutions.md "Limits") that fills the PostgreSQL server's disk
# through its own database: 100 MB of rows in one statement, against a "database" limit of
# 40 MiB. tests/transcript_contain.sh 8 runs it.
set -eu
psql -X -q -v ON_ERROR_STOP=1 -c "create table junk as select repeat('x', 1000) || g as v from generate_series(1, 100000) g"
echo "dbfill: wrote 100 MB"
