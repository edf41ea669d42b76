#!/usr/bin/env bash
# Command 2 of the README: install what is missing, then build and test everything:
#   1. gcc build, -Werror, the unit tests (and the integration tests too when
#      NS_GCC_INTEGRATION=1: they take ~10 minutes, and running them twice kept CI over
#      its 20-minute budget on 2 cores);
#   2. clang build with ASan+UBSan and the libFuzzer targets, all tests (every daemon
#      the integration tests start is the sanitized one), fuzzers for NS_FUZZ_SECONDS
#      each (default 15 here, to keep the suite in its budget; set it higher to fuzz longer);
#   3. clang-format check of our sources.
# The last line printed is CTest's summary of the sanitized run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)

# npm packages the suite needs, pinned by their lock files: the official MCP client that
# drives `nullspace mcp` (tests/mcp), the TypeScript SDK's own dependencies, Redocly
# CLI that lints specs/openapi.yaml (tests/spec), the official e2b SDK run against our
# /e2b API (tests/e2b), and playwright-core that drives Debian's Chromium through the
# desktop viewer (tests/browser)
for dir in tests/mcp sdks/typescript tests/spec tests/e2b tests/browser; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    echo "== npm ci ($dir)" >&2
    npm ci --prefix "$dir" --no-audit --no-fund >&2
  fi
done

echo "== format check" >&2
files=$(git ls-files 'src/*.c' 'src/*.h' 'include/*.h' 'tests/*.c' 'tests/*.h' 2>/dev/null || find src include tests -name '*.[ch]')
clang-format --dry-run --Werror $files

echo "== gcc build + unit tests" >&2
cmake -S . -B build -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
# every test destroys what it created, also when it fails: anything left fails the suite
leftovers=$(mktemp)
trap 'rm -f "$leftovers"' EXIT
scripts/leftovers.sh snapshot "$leftovers"
if [ "${NS_GCC_INTEGRATION:-0}" = 1 ]; then
  (cd build && ctest --output-on-failure -j"$jobs")
else
  (cd build && ctest --output-on-failure -j"$jobs" -E '^integration_')
fi
scripts/leftovers.sh check "$leftovers"

echo "== clang ASan+UBSan build + tests + fuzzers" >&2
cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DNS_SANITIZE=ON \
  -DNS_FUZZ=ON -DNS_FUZZ_SECONDS="${NS_FUZZ_SECONDS:-15}" >/dev/null
cmake --build build-asan -j"$jobs"
cd build-asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
../scripts/leftovers.sh snapshot "$leftovers"
ctest --output-on-failure -j"$jobs"
../scripts/leftovers.sh check "$leftovers"
