#!/usr/bin/env bash
# logstream's one entry point.
#   ./run.sh                  the demo: a temporary log directory with a live writer
#   ./run.sh DIR [flags]      serve DIR on http://127.0.0.1:8080/ (flags: python -m logstream --help)
#   ./run.sh test [pytest args]   install what the tests need, then run them
# Creates .venv and installs the pinned requirements on first use (and again when they change),
# and the project itself in editable mode (the `logstream` command in .venv/bin; the
# checkout's files are what runs, so `python -m logstream` here is unchanged).
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3}
VENV=.venv

say() { echo "run.sh: $*" >&2; }

ensure_venv() {
    local reqs=$1 stamp="$VENV/.installed-$1"
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating $VENV"
        "$PY" -m venv "$VENV"
    fi
    local want
    want=$(cat requirements*.txt pyproject.toml | sha256sum | cut -c1-16)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        say "installing $reqs"
        "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$reqs"
        "$VENV/bin/python" -m pip install --disable-pip-version-check -q --no-deps -e .
        echo "$want" > "$stamp"
    fi
}

ensure_system_packages() {
    # The viewer tests drive Debian's Chromium, the scale-out tests a real redis-server,
    # the deployment test the documented nginx block.
    local missing=()
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
    [ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        say "please install: sudo apt-get install -y ${missing[*]}"
        exit 1
    fi
    say "installing ${missing[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

case "${1:-}" in
    test)
        shift
        ensure_venv requirements-dev.txt
        ensure_system_packages
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    "" | -*)
        ensure_venv requirements.txt
        exec "$VENV/bin/python" -m logstream demo "$@"
        ;;
    *)
        ensure_venv requirements.txt
        exec "$VENV/bin/python" -m logstream "$@"
        ;;
esac
