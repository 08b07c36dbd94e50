#!/bin/sh
# Set up everything harness needs on Debian 12, then build it into ./build.
#   tools/setup.sh           runtime + build dependencies, build
#   tools/setup.sh --tests   also what the test suite needs (sanitizer runtime, clang for fuzzing,
#                            valgrind, jq, xmllint, python3-jsonschema, python3-confluent-kafka for
#                            docs/solutions.md's Python example, Chromium and the npm packages of
#                            the browser/JUnit tests)
# Idempotent: a second run only rebuilds. Needs root (or sudo) for apt-get.
set -eu
cd "$(dirname "$0")/.."
tests=0
[ "${1:-}" = "--tests" ] && tests=1

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# The build dependencies have the same names on Ubuntu 24.04 (GitHub's ubuntu-24.04 runners; 22.04's
# meson is older than the 1.0 the build needs). The test dependencies do not: chromium is a snap
# there and clang-rt is versioned differently, so the suite stays on Debian 12 (a container).
os_id=$(. /etc/os-release 2>/dev/null && echo "${ID:-}")
if [ "$tests" -eq 1 ] && [ "$os_id" != debian ]; then
    echo "setup: --tests installs Debian 12's packages (chromium, libclang-rt-14-dev), not ${os_id:-this system}'s;" >&2
    echo "setup: run the suite in a debian:12 container (see .github/workflows/ci.yml)" >&2
    exit 2
fi

pkgs="gcc pkg-config meson ninja-build python3 git lua5.4 liblua5.4-dev libpq-dev postgresql
postgresql-client bubblewrap librdkafka-dev libjansson-dev libcmocka-dev libssl-dev procps ca-certificates"
if [ "$tests" -eq 1 ]; then
    pkgs="$pkgs clang clang-format libclang-rt-14-dev jq libxml2-utils python3-jsonschema python3-confluent-kafka chromium kcat time valgrind strace"
    command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
    command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
fi
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing$missing" >&2
    if [ -n "$SUDO" ] && ! command -v sudo >/dev/null 2>&1; then
        echo "setup: apt-get needs root: run tools/setup.sh as root, or install sudo" >&2
        echo "setup: (a Debian 12 installed with a root password has no sudo)" >&2
        exit 1
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ "$tests" -eq 1 ]; then
    for d in tests/junit_consumers tests/browser; do
        if [ -f "$d/package.json" ] && [ ! -d "$d/node_modules" ]; then
            echo "setup: npm install in $d" >&2
            (cd "$d" && npm ci --no-audit --no-fund --loglevel=error 2>/dev/null ||
                npm install --no-audit --no-fund --loglevel=error)
        fi
    done
fi

[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
echo "setup: built build/harness/harness" >&2
