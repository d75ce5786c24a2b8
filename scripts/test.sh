#!/usr/bin/env bash
# The test command: every test of the workspace with all features, then the facade
# with instrumentation compiled out (its own feature set, shared target dir).
#
# Nothing to prepare: the tests that need a real OTLP collector start one
# themselves (rotel on free loopback ports, installed on first use into
# target/backends by scripts/backends/install-rotel.sh; see docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
skipped="${GENAI_TRACE_BACKENDS_DIR:-target/backends}/skipped.txt"
rm -f "$skipped"

status=0
cargo test --workspace --all-features "$@" || status=$?
if [ "$status" -eq 0 ]; then
  cargo test --manifest-path tests/compile-out/Cargo.toml --target-dir target "$@" || status=$?
fi

if [ -s "$skipped" ]; then
  {
    echo
    echo "!!!!! These tests did NOT run: GENAI_TRACE_SKIP_BACKENDS=1 skipped them !!!!!"
    sed 's/^/  /' "$skipped"
  } >&2
fi
exit "$status"
