#!/usr/bin/env bash
# Installs Prometheus (server and promtool) for genai-trace's tests, and prints
# the folder holding both binaries on stdout. Idempotent, and safe to run from
# several test binaries at once (one flock). The tests call it themselves
# (test-support/src/prometheus.rs); run it by hand to install ahead of time.
#
# What it installs, and where: Debian's `prometheus` package, downloaded with
# `apt-get download` (no root needed; `apt-get update` first when the package
# lists are missing, as root or through `sudo -n`) and unpacked with
# `dpkg-deb -x` into $DIR/prometheus-pkg/root (~110 MB). No service is installed
# or started. DIR is $GENAI_TRACE_BACKENDS_DIR, default <repository>/target/backends.
# $PROMETHEUS_BIN_DIR, when set, names a folder that already holds prometheus and
# promtool, and nothing is installed.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${GENAI_TRACE_BACKENDS_DIR:-$REPO/target/backends}"
PKG="$DIR/prometheus-pkg"
BIN="$PKG/root/usr/bin"

fail() { echo "install-prometheus: $*" >&2; exit 1; }
say() { echo "install-prometheus: $*" >&2; }

if [ -n "${PROMETHEUS_BIN_DIR:-}" ]; then
  [ -x "$PROMETHEUS_BIN_DIR/prometheus" ] && [ -x "$PROMETHEUS_BIN_DIR/promtool" ] \
    || fail "PROMETHEUS_BIN_DIR=$PROMETHEUS_BIN_DIR holds no prometheus and promtool"
  printf '%s\n' "$PROMETHEUS_BIN_DIR"
  exit 0
fi

mkdir -p "$DIR"
exec 9>"$DIR/.install-prometheus.lock"
flock 9

as_root() {
  if [ "$(id -u)" = 0 ]; then
    sh -c "$1"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n sh -c "$1"
  else
    return 1
  fi
}

if ! { [ -x "$BIN/prometheus" ] && [ -x "$BIN/promtool" ]; }; then
  command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 \
    || fail "no apt-get/dpkg-deb to fetch Debian's prometheus. Fix: put prometheus and promtool in a folder and set PROMETHEUS_BIN_DIR to it"
  start=$SECONDS
  rm -rf "$PKG"
  mkdir -p "$PKG"
  say "downloading Debian's prometheus package into $PKG"
  if ! (cd "$PKG" && apt-get download prometheus >"$PKG/download.log" 2>&1); then
    say "apt-get download failed; updating the package lists"
    as_root "apt-get update -qq" >&2 \
      || fail "apt-get download prometheus failed and the package lists cannot be updated. Fix: sudo apt-get update, then rerun $0"
    (cd "$PKG" && apt-get download prometheus >"$PKG/download.log" 2>&1) \
      || fail "apt-get download prometheus failed: $(tail -n 3 "$PKG/download.log")"
  fi
  dpkg-deb -x "$PKG"/prometheus_*.deb "$PKG/root" || fail "could not unpack $(ls "$PKG"/prometheus_*.deb)"
  rm -f "$PKG"/prometheus_*.deb
  [ -x "$BIN/prometheus" ] && [ -x "$BIN/promtool" ] || fail "the package holds no usr/bin/prometheus and usr/bin/promtool"
  say "$("$BIN/prometheus" --version 2>&1 | head -n 1) installed in $((SECONDS - start)) s"
fi

printf '%s\n' "$BIN"
