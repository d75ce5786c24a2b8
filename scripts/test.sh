#!/usr/bin/env bash
# The test command: starts a real OTLP collector (rotel, on free loopback ports),
# runs every test of the workspace with all features, and stops the collector
# afterwards, also when tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
BACKENDS="${GENAI_TRACE_BACKENDS:-$ROOT/../shared/backends}"
export GENAI_TRACE_BACKENDS="$BACKENDS"
export OTEL_BACKENDS_DIR="${OTEL_BACKENDS_DIR:-$ROOT/target/otel-backends}"
export ROTEL_RUN_DIR="$OTEL_BACKENDS_DIR/rotel"

[ -f "$BACKENDS/start-rotel.sh" ] || { echo "missing $BACKENDS/start-rotel.sh (set GENAI_TRACE_BACKENDS)" >&2; exit 1; }

# rotel-agent links the system libpython3.11.
if ! ldconfig -p 2>/dev/null | grep -q 'libpython3\.11\.so'; then
  echo "installing libpython3.11 for rotel" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq libpython3.11 >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq libpython3.11 >/dev/null; fi
fi

# A collector left over from an interrupted run would hold the pid file.
bash "$BACKENDS/stop-rotel.sh" >/dev/null 2>&1 || true
trap 'bash "$BACKENDS/stop-rotel.sh" >&2 || true' EXIT
eval "$(ROTEL_GRPC_PORT=auto ROTEL_HTTP_PORT=auto bash "$BACKENDS/start-rotel.sh")"
export ROTEL_OTLP_HTTP ROTEL_OTLP_GRPC ROTEL_RUN_DIR

cargo test --workspace --all-features "$@"
# The facade with instrumentation compiled out (its own feature set, shared target dir).
cargo test --manifest-path tests/compile-out/Cargo.toml --target-dir target "$@"
