#!/usr/bin/env bash
# Installs a Python GenAI backend that genai-trace's tests start themselves —
# Arize Phoenix or the MLflow tracking server — into its own venv, and prints
# the venv's path on stdout. Idempotent, and safe to run from several test
# binaries at once (one flock per backend). The tests call it
# (test-support/src/pyapp.rs); run it by hand to install ahead of time:
#
#   scripts/backends/install-pyapp.sh phoenix     # arize-phoenix==20.26.1, ~850 MB, ~100 s cold
#   scripts/backends/install-pyapp.sh mlflow      # mlflow==3.17.2, ~850 MB, ~70 s cold
#
# DIR is $GENAI_TRACE_BACKENDS_DIR, default <repository>/target/backends; the
# venv is $DIR/venv-<backend>. Needs python3 (3.9+) with the venv module and
# PyPI. Nothing is installed outside DIR.
set -euo pipefail

APP="${1:?usage: install-pyapp.sh phoenix|mlflow}"
case "$APP" in
  phoenix) REQ="arize-phoenix==20.26.1" ;;
  mlflow) REQ="mlflow==3.17.2" ;;
  *) echo "install-pyapp: unknown backend '$APP' (phoenix or mlflow)" >&2; exit 2 ;;
esac
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${GENAI_TRACE_BACKENDS_DIR:-$REPO/target/backends}"
VENV="$DIR/venv-$APP"

fail() { echo "install-pyapp $APP: $*" >&2; exit 1; }
say() { echo "install-pyapp $APP: $*" >&2; }
# shellcheck source=venv.sh
. "$(dirname "${BASH_SOURCE[0]}")/venv.sh"

mkdir -p "$DIR"
exec 9>"$DIR/.install-$APP.lock"
flock 9

ensure_venv "$VENV" "$REQ" "$0 $APP"

printf '%s\n' "$VENV"
