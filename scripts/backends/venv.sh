# Sourced by the install scripts: builds a Python venv holding one pinned
# requirement, unless it holds it already. Needs `fail` and `say` defined.
#   ensure_venv VENV REQUIREMENT FIX_HINT
ensure_venv() {
  local venv="$1" req="$2" rerun="$3"
  if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.installed" 2>/dev/null)" = "$req" ]; then
    return 0
  fi
  local py="${PYTHON:-python3}"
  command -v "$py" >/dev/null 2>&1 \
    || fail "no $py on PATH. Fix: install Python 3 (Debian: apt-get install -y python3 python3-venv)"
  "$py" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2>/dev/null \
    || fail "$py is older than 3.9 or cannot create venvs. Fix: apt-get install -y python3-venv (or set PYTHON=/path/to/python3)"
  say "installing $req into $venv"
  local start=$SECONDS
  rm -rf "$venv"
  "$py" -m venv "$venv" || fail "could not create a venv at $venv. Fix: apt-get install -y python3-venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q "$req" \
    || { rm -rf "$venv"; fail "pip install $req failed (output above). Fix: check that PyPI is reachable, then rerun $rerun"; }
  printf '%s' "$req" > "$venv/.installed"
  say "installed in $((SECONDS - start)) s"
}
