#!/usr/bin/env bash
# Installs rotel, a small OpenTelemetry collector written in Rust (PyPI package
# `rotel`, which ships the rotel-agent binary), for genai-trace's tests, and
# prints the path of rotel-agent on stdout. Idempotent, and safe to run from
# several test binaries at once (one flock). The tests call it themselves
# (test-support/src/rotel.rs); run it by hand to install ahead of time.
#
# What it installs, and where:
#   $DIR/venv-rotel   a Python venv holding rotel==$ROTEL_VERSION (~54 MB)
#   libpythonX.Y      the system library rotel-agent links (it embeds CPython for
#                     its processors), only when missing, with
#                       apt-get update && apt-get install -y libpythonX.Y
#                     (as root, or through `sudo -n`; otherwise it stops and
#                     prints that command)
# DIR is $GENAI_TRACE_BACKENDS_DIR, default <repository>/target/backends.
# Needs python3 (3.9+) with the venv module (Debian: apt-get install python3-venv).
set -euo pipefail

ROTEL_VERSION="0.0.1a15"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${GENAI_TRACE_BACKENDS_DIR:-$REPO/target/backends}"
VENV="$DIR/venv-rotel"
MARKER="rotel==$ROTEL_VERSION"

fail() { echo "install-rotel: $*" >&2; exit 1; }
say() { echo "install-rotel: $*" >&2; }
# shellcheck source=venv.sh
. "$(dirname "${BASH_SOURCE[0]}")/venv.sh"

mkdir -p "$DIR"
exec 9>"$DIR/.install-rotel.lock"
flock 9

agent_path() {
  "$VENV/bin/python" -c 'import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))'
}

ensure_venv "$VENV" "$MARKER" "$0"

AGENT="$(agent_path)"
[ -x "$AGENT" ] || fail "rotel-agent is not at $AGENT. Fix: rm -rf $VENV and rerun $0"

# rotel-agent links the system libpython of the version its wheel was built for.
missing="$(ldd "$AGENT" 2>/dev/null | awk '/not found/ {print $1}' || true)"
if [ -n "$missing" ]; then
  lib="$(printf '%s\n' "$missing" | grep -o 'libpython[0-9.]*[0-9]' | head -n1 | sed 's/\.$//')"
  [ -n "$lib" ] || fail "rotel-agent cannot load: $missing"
  cmd="apt-get update -qq && apt-get install -y -qq $lib"
  say "rotel-agent needs $lib; running: $cmd"
  if [ "$(id -u)" = 0 ]; then
    sh -c "$cmd" >&2 || fail "could not install $lib. Fix: $cmd"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n sh -c "$cmd" >&2 || fail "could not install $lib. Fix: sudo sh -c '$cmd'"
  else
    fail "rotel-agent needs the system library $lib. Fix: sudo sh -c '$cmd'"
  fi
  still="$(ldd "$AGENT" 2>/dev/null | awk '/not found/ {print $1}' || true)"
  [ -z "$still" ] || fail "rotel-agent still cannot load: $still"
fi

printf '%s\n' "$AGENT"
