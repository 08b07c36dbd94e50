# tests/lib.sh - what the transcript tests share; sourced (`. "$HX_SOURCE_ROOT/tests/lib.sh"`),
# never run. POSIX sh.
#
# hx_tempdir NAME: T = a fresh folder under $TMPDIR (or /tmp), removed when the script exits. It
# is 0711: as root the solution's box and the embedded server run as an unprivileged user, who
# must reach the run folders made inside it.
# ok / bad / expect_rc: TAP-like lines; bad counts into $fails.
# hx_done: the count line, and the script's exit status (0 when nothing failed).
# hx_valid_runjson NAME FILE...: one ok line when every FILE validates against docs/run.schema.json,
# else a bad line naming each error's file and JSON path. hx_valid_comparejson: the same for
# `harness compare --json` output against docs/compare.schema.json. hx_schema_check SCHEMA FILE...
# is the bare check (errors on stdout, status 1 on any violation) for a test that expects failure.
# hx_valid_all_runjson NAME: hx_valid_runjson on every run.json-form file under $T (the pretty
# form the writer emits: a line `  "schema": "harness.run/1"`) and every run journal (a FILE
# ending in .jsonl is checked line by line), bad when there is none.

fails=0

hx_tempdir() {
    T=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 1
    chmod 711 "$T"
    trap 'rm -rf "$T"' EXIT
}

# hx_doc_files DOC DIR: a page's files and quoted outputs, as its readers copy them. Each fenced
# block after a `<!-- file: PATH -->` line is written to DIR/PATH, each after `<!-- output: NAME -->`
# to DIR/out/NAME (docs/tutorial.md, docs/solutions.md), so a test runs what the page shows.
hx_doc_files() {
    awk -v dir="$2" '
        /^<!-- (file|output): .* -->$/ { what = $2; name = $3; next }
        /^```/ && name != "" && !inblock { inblock = 1; path = dir "/" (what == "file:" ? "" : "out/") name;
                                           sub(/\/[^\/]*$/, "", path); system("mkdir -p \"" path "\"");
                                           target = dir "/" (what == "file:" ? "" : "out/") name; printf "" > target; next }
        /^```/ && inblock { inblock = 0; close(target); name = ""; next }
        inblock { print >> target }
    ' "$1"
}

ok() { echo "ok - $1"; }
bad() { echo "not ok - $1"; fails=$((fails + 1)); }
expect_rc() { # name want got
    if [ "$2" = "$3" ]; then ok "$1 (exit $3)"; else bad "$1: expected exit $2, got $3"; fi
}

# The validator: python3 with jsonschema (Debian 12: python3-jsonschema, tools/setup.sh --tests).
# Debian's own python3 first: it starts in a fraction of a second where a PATH shim may not.
hx_schema_check() { # schema file...
    for hx_py in /usr/bin/python3 python3; do
        command -v "$hx_py" >/dev/null 2>&1 || continue
        "$hx_py" - "$@" <<'PY'
import json, sys
try:
    from jsonschema import Draft202012Validator
except ImportError:
    sys.exit(3)
schema_path, files = sys.argv[1], sys.argv[2:]
with open(schema_path) as f:
    schema = json.load(f)
Draft202012Validator.check_schema(schema)
v = Draft202012Validator(schema)
bad = 0
# NaN and Infinity are not JSON: keep them as strings so the schema's types reject them
load = lambda text: json.loads(text, parse_constant=lambda c: c)
def report(name, validator, doc, prefix="$"):
    global bad
    for e in sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path]):
        where = prefix + "".join("[%d]" % p if isinstance(p, int) else "." + p for p in e.absolute_path)
        print("%s: %s: %s" % (name, where, e.message[:300]))
        bad += 1
def journal(path, text):
    # run.journal.jsonl: {"journal": <schema>, "run": <run without scenarios>}, then one
    # {"scenario": <scenario>} a line; a last line that is not JSON is torn, as the reader allows.
    global bad
    head = dict(schema, required=[k for k in schema["required"] if k != "scenarios"])
    sub = lambda ref: Draft202012Validator({"$ref": ref, "$defs": schema["$defs"]})
    lines = text.split("\n")
    while lines and not lines[-1]:
        lines.pop()
    for n, line in enumerate(lines, 1):
        name = "%s:%d" % (path, n)
        try:
            doc = load(line)
        except ValueError as e:
            if n == len(lines) and n > 1:
                continue
            print("%s: not JSON: %s" % (name, e))
            bad += 1
            continue
        key = "journal" if n == 1 else "scenario"
        if not isinstance(doc, dict) or set(doc) != ({"journal", "run"} if n == 1 else {"scenario"}):
            print("%s: $: expected the keys %s" % (name, "journal and run" if n == 1 else "scenario"))
            bad += 1
        elif n == 1:
            if doc["journal"] != schema["properties"]["schema"]["const"]:
                print("%s: $.journal: %r is not %s" % (name, doc["journal"], schema["properties"]["schema"]["const"]))
                bad += 1
            report(name, Draft202012Validator(head), doc["run"], "$.run")
        else:
            report(name, sub("#/$defs/scenario"), doc["scenario"], "$.scenario")
for path in files:
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
        if path.endswith(".jsonl"):
            journal(path, text)
            continue
        doc = load(text)
    except (OSError, ValueError) as e:
        print("%s: not JSON: %s" % (path, e))
        bad += 1
        continue
    report(path, v, doc)
sys.exit(1 if bad else 0)
PY
        hx_rc=$?
        [ "$hx_rc" = 3 ] || return "$hx_rc"
    done
    echo "no python3 with jsonschema: install python3-jsonschema (tools/setup.sh --tests)"
    return 2
}

hx_valid_schema_() { # schema-name name file...
    hx_s=$1
    hx_n=$2
    shift 2
    if hx_schema_check "${HX_SOURCE_ROOT:?}/docs/$hx_s" "$@" >"${T:-/tmp}/hx_schema.out" 2>&1; then
        ok "$hx_n: valid against docs/$hx_s"
    else
        bad "$hx_n: not valid against docs/$hx_s: $(head -20 "${T:-/tmp}/hx_schema.out")"
    fi
}
hx_valid_runjson() { hx_valid_schema_ run.schema.json "$@"; }
hx_valid_comparejson() { hx_valid_schema_ compare.schema.json "$@"; }
hx_valid_all_runjson() { # name
    hx_files=$({
        find "${T:?}" -name '*.json' -type f -exec grep -l '^  "schema": "harness.run/1",$' {} +
        find "$T" -name '*.jsonl' -type f -exec grep -l '^{"journal":"harness.run/1",' {} +
    } 2>/dev/null | sort)
    if [ -z "$hx_files" ]; then
        bad "$1: no run.json under the test folder to validate"
        return
    fi
    # shellcheck disable=SC2086 # the paths are mktemp's, without blanks
    hx_valid_runjson "$1 ($(echo "$hx_files" | wc -l | tr -d ' ') files)" $hx_files
}

hx_done() {
    if [ "$fails" = 0 ]; then echo "# all passed"; else echo "# $fails failed"; fi
    exit $((fails > 0))
}
