#!/usr/bin/env bash
# lianxin developer entry point. Two commands set everything up on a fresh machine:
#   ./dev.sh demo   — create .venv, install, create the SQLite database, seed the demo township, serve it
#   ./dev.sh test   — create .venv, install with test extras, run the test suite
# (LIANXIN_TEST_DATABASE_URL=postgresql://user:pw@host/postgres ./dev.sh test  runs it on PostgreSQL)
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}

setup() {
  if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
  fi
  if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[test]'
    touch .venv/.installed
  fi
}

case "${1:-}" in
  demo)
    shift
    setup
    exec .venv/bin/lianxin demo "$@"
    ;;
  test)
    shift
    setup
    set +e
    .venv/bin/python -m pytest "$@"
    rc=$?
    set -e
    # pytest's "no tests collected" (5) is a failure here: a suite that runs nothing proves nothing.
    exit $rc
    ;;
  *)
    echo "usage: ./dev.sh demo | ./dev.sh test [pytest args]" >&2
    exit 2
    ;;
esac
