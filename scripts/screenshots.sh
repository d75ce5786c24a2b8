#!/usr/bin/env bash
# Takes the screenshots in docs/backends.md: the quickstart demo (content
# capture and every dialect on) exported into real Arize Phoenix and MLflow
# servers on loopback, each trace opened in headless Chromium.
#
#   scripts/screenshots.sh            # writes docs/img/{phoenix,mlflow}-*.png
#
# Needs: python3 (the servers install into target/backends like the tests'),
# Debian's chromium (apt-get install -y chromium), a built demo
# (this script runs `cargo build --example quickstart`).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
OUT="$REPO/docs/img"
RUN="$REPO/target/screenshots"
mkdir -p "$OUT" "$RUN"
CHROMIUM="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
[ -n "$CHROMIUM" ] || { echo "screenshots: no chromium. Fix: apt-get install -y chromium" >&2; exit 1; }

PHOENIX_VENV="$(bash scripts/backends/install-pyapp.sh phoenix)"
MLFLOW_VENV="$(bash scripts/backends/install-pyapp.sh mlflow)"
cargo build -q --example quickstart
DEMO="$REPO/target/debug/examples/quickstart"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ok() { for _ in $(seq 1 360); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.5; done; echo "screenshots: $1 never answered" >&2; return 1; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

PX_PORT="$(free_port)"; PX_GRPC="$(free_port)"; ML_PORT="$(free_port)"
rm -rf "$RUN/phoenix" "$RUN/mlflow"; mkdir -p "$RUN/phoenix" "$RUN/mlflow"
PHOENIX_HOST=127.0.0.1 PHOENIX_PORT="$PX_PORT" PHOENIX_GRPC_PORT="$PX_GRPC" PHOENIX_WORKING_DIR="$RUN/phoenix" \
  PHOENIX_TELEMETRY_ENABLED=false PHOENIX_ALLOW_EXTERNAL_RESOURCES=false PHOENIX_DISABLE_AGENT_ASSISTANT=true \
  PHOENIX_ENABLE_MCP_SERVER=false setsid "$PHOENIX_VENV/bin/phoenix" serve > "$RUN/phoenix.log" 2>&1 &
PIDS+=($!)
MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false \
  setsid "$MLFLOW_VENV/bin/mlflow" server --host 127.0.0.1 --port "$ML_PORT" --workers 1 \
  --backend-store-uri "sqlite:///$RUN/mlflow/mlflow.db" --default-artifact-root "$RUN/mlflow/artifacts" \
  > "$RUN/mlflow.log" 2>&1 &
PIDS+=($!)
wait_ok "http://127.0.0.1:$PX_PORT/healthz"
wait_ok "http://127.0.0.1:$ML_PORT/health"

demo() { env OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true GENAI_TRACE_DIALECTS=openinference,mlflow,langfuse "$@" "$DEMO" > /dev/null 2>&1; }
demo PHOENIX_COLLECTOR_ENDPOINT="http://127.0.0.1:$PX_PORT" PHOENIX_PROJECT_NAME=genai-trace-demo
demo OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$ML_PORT" OTEL_EXPORTER_OTLP_HEADERS=x-mlflow-experiment-id=0 \
  OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none
sleep 3

shot() { # URL FILE
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d)" --hide-scrollbars --window-size=1600,1000 \
    --virtual-time-budget=20000 --screenshot="$2" "$1" > /dev/null 2>&1
  echo "screenshots: $2 <- $1" >&2
}
PROJECT_ID="$(curl -fsS "http://127.0.0.1:$PX_PORT/v1/projects" | python3 -c 'import json,sys; print([p["id"] for p in json.load(sys.stdin)["data"] if p["name"]=="genai-trace-demo"][0])')"
TRACE_ID="$(curl -fsS "http://127.0.0.1:$PX_PORT/v1/projects/genai-trace-demo/spans?limit=100" | python3 -c 'import json,sys; print([s["context"]["trace_id"] for s in json.load(sys.stdin)["data"] if not s.get("parent_id")][0])')"
shot "http://127.0.0.1:$PX_PORT/projects/$PROJECT_ID" "$OUT/phoenix-traces.png"
shot "http://127.0.0.1:$PX_PORT/projects/$PROJECT_ID/traces/$TRACE_ID" "$OUT/phoenix-trace.png"
ML_TRACE="$("$MLFLOW_VENV/bin/python" "$REPO/scripts/backends/mlflow_traces.py" "http://127.0.0.1:$ML_PORT" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["trace_id"])')"
shot "http://127.0.0.1:$ML_PORT/#/experiments/0/traces" "$OUT/mlflow-traces.png"
shot "http://127.0.0.1:$ML_PORT/#/experiments/0/traces?selectedEvaluationId=$ML_TRACE" "$OUT/mlflow-trace.png"
