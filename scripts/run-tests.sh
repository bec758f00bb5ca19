#!/usr/bin/env bash
# Run the whole suite.  Starts a throwaway PostgreSQL cluster on loopback
# for the run (CISLUNAR_TEST_PG_URL) and stops it afterwards.
# pytest's exit code 5 (no tests collected) is turned into a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

PGTMP=""
cleanup() {
  if [ -n "$PGTMP" ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGTMP/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PGTMP"
  fi
}
trap cleanup EXIT

if [ -z "${CISLUNAR_TEST_PG_URL:-}" ] && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  eval "$(bash scripts/pg-throwaway.sh)"
fi

$BIN/lint-imports || exit 1
$BIN/python -m pytest -q "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "run-tests: pytest collected no tests: failing" >&2
  exit 1
fi
exit $rc
