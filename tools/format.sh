#!/bin/sh
# clang-format over the C sources (.clang-format at the top).
#   tools/format.sh          reformat in place
#   tools/format.sh --check  change nothing; list drifting files and fail (what .ci/run does)
set -eu
cd "$(dirname "$0")/.."
files=$(git ls-files 'harness/*.[ch]' 'reports/*.[ch]' 'plugins/*.[ch]' 'tests/*.[ch]' 'bench/*.[ch]' 'examples/*.[ch]')
if [ "${1:-}" = "--check" ]; then
    bad=0
    for f in $files; do
        clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || { echo "format: $f drifts from .clang-format (run tools/format.sh)" >&2; bad=1; }
    done
    exit $bad
fi
for f in $files; do clang-format -i "$f"; done
