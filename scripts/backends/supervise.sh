#!/usr/bin/env bash
# supervise.sh PARENT_PID LOG_FILE -- COMMAND [ARGS...]
#
# Runs COMMAND (output to LOG_FILE) for as long as process PARENT_PID lives, then
# stops it: SIGTERM, and SIGKILL 5 s later. The tests start their backends through
# it, so a backend never outlives the test binary that started it, whether that
# binary exits normally, fails, panics, aborts or is killed.
set -u
parent="$1"; log="$2"; shift 2
[ "${1:-}" = "--" ] && shift

"$@" >>"$log" 2>&1 </dev/null &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT

while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do
  sleep 0.2
done
if kill -0 "$child" 2>/dev/null; then
  kill -TERM "$child" 2>/dev/null
  for _ in $(seq 1 50); do
    kill -0 "$child" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$child" 2>/dev/null
fi
wait "$child" 2>/dev/null
