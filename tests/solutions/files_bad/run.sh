#!/bin/sh
# files_bad: the reference output of files_good, then spoiled the ways the file checks must
# catch. In out/orders.csv: the data rows on lines 11 and 12 dropped (missing), the amount on
# line 20 raised by one (mismatched), a row with an id no order has appended (extra), and a line
# of three fields inserted as line 3 (malformed). out/summary.jsonl becomes a symlink to
# /etc/passwd, which the harness must refuse without reading. out/orders.jsonl and
# out/rejects.csv stay right. What was spoiled goes to stdout, for the transcript.
set -eu
lua5.4 ./good.lua >/dev/null # files_good/run.lua, copied beside this by the transcript
cd "$HARNESS_OUTPUT_DIR/out"
# The first five fields never hold a comma, so $1 and $3 are the id and the amount.
awk -F, -v OFS=, '
    NR == 3 { print "not,an,order" }
    NR == 11 || NR == 12 { print "missing " $1 >"/dev/stderr"; next }
    NR == 20 { print "mismatched " $1 >"/dev/stderr"; $3 = sprintf("%.2f", $3 + 1) }
    { print }
    END {
        print "999999,1,1.00,placed,2026-03-01T00:00:00Z,extra"
        print "extra 999999" >"/dev/stderr"
    }
' orders.csv 2>&1 >orders.csv.tmp
mv orders.csv.tmp orders.csv
rm -f summary.jsonl
ln -s /etc/passwd summary.jsonl
