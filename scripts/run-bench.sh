#!/usr/bin/env bash
# `make bench`: every benchmark of the project side by side with its peer,
# measured in one run, printed as ONE table (also .bench/report.md).
#
# * Creates the peers' own virtualenvs under .bench/ (heyoka needs numpy>=2,
#   llnl-ssapy builds from source and pulls astropy 8): once, then reused.
#   A peer that cannot be installed is reported in its table row
#   (.bench/<peer>.unavailable holds why); the run goes on.
# * Starts a throwaway PostgreSQL cluster on loopback when PostgreSQL is
#   installed and CISLUNAR_TEST_PG_URL is not set, and stops it at exit.
# * Each benchmark runs as its own process under a time limit, so one that
#   fails costs only its rows (listed under the table).
# Budget on the 2-core reference machine: < 30 min including the peer installs.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/.venv/bin
PY311=$(command -v python3.11 || command -v python3)
START=$(date +%s)
RUN=$ROOT/.bench/run-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RUN"
export CISLUNAR_BENCH_RESULTS=$RUN/results.jsonl
STEPS=$RUN/steps.tsv
: >"$STEPS"
unset CISLUNAR_DASK_ADDRESS CISLUNAR_EXECUTOR  # the Dask rows start their own LocalCluster
# numba's on-disk cache is checked against each function's own source file
# only: a kernel that inlines functions of another module (numerical.py
# inlines forces.py) can load stale machine code after that module changed.
# One cache directory per state of the propagators' sources avoids it.
export NUMBA_CACHE_DIR=$ROOT/.bench/numba-cache/$(cat propagators/*.py propagators/*/*.py bench/*.py | sha1sum | cut -c1-12)

PGTMP=""
cleanup() {
  if [ -n "$PGTMP" ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGTMP/data" -m immediate stop >/dev/null 2>&1 \
      || "$PGBIN/pg_ctl" -D "$PGTMP/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PGTMP"
  fi
}
trap cleanup EXIT

log() { echo "run-bench: $*" >&2; }

# step NAME TIMEOUT_S CMD...: run one benchmark, keep its log, record exit code and time
step() {
  local name=$1 limit=$2
  shift 2
  local t0 rc
  t0=$(date +%s)
  log "[$name] $* (limit ${limit} s)"
  timeout --kill-after=10 "$limit" "$@" >"$RUN/$name.log" 2>&1
  rc=$?
  printf '%s\t%s\t%s\n' "$name" "$rc" "$(($(date +%s) - t0))" >>"$STEPS"
  [ $rc -eq 0 ] || { log "[$name] failed (exit $rc); last lines:"; tail -n 5 "$RUN/$name.log" >&2; }
  return 0
}

# peer_venv NAME IMPORT PIP-ARGS...: .bench/venv-NAME with the peer installed, else .bench/NAME.unavailable
peer_venv() {
  local name=$1 module=$2
  shift 2
  local dir=$ROOT/.bench/venv-$name stamp=$ROOT/.bench/venv-$name/.installed marker=$ROOT/.bench/$name.unavailable
  local spec="$*"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$spec" ] && "$dir/bin/python" -c "import $module" >/dev/null 2>&1; then
    rm -f "$marker"
    return 0
  fi
  local t0 plog=$RUN/install-$name.log
  t0=$(date +%s)
  log "installing peer $name into $dir: pip install $spec"
  {
    rm -rf "$dir" &&
      "$PY311" -m venv "$dir" &&
      "$dir/bin/python" -m pip install --quiet --upgrade pip &&
      { command -v cmake >/dev/null 2>&1 || "$dir/bin/python" -m pip install --quiet cmake; } &&
      PATH=$dir/bin:$PATH timeout 900 "$dir/bin/python" -m pip install --quiet "$@" &&
      "$dir/bin/python" -c "import $module"
  } >"$plog" 2>&1
  local rc=$?
  printf '%s\t%s\t%s\n' "install-$name" "$rc" "$(($(date +%s) - t0))" >>"$STEPS"
  if [ $rc -eq 0 ]; then
    echo "$spec" >"$stamp"
    rm -f "$marker"
  else
    log "peer $name could not be installed (see $plog); its rows will say so"
    { echo "pip install $spec failed (exit $rc): $(grep -v '^\s*$' "$plog" | tail -n 1 | cut -c1-150)"; } >"$marker"
  fi
}

# ---------------------------------------------------------------- set-up
if [ ! -x "$BIN/python" ]; then
  echo "run-bench: $BIN/python missing: run through 'make bench' (it builds the venv first)" >&2
  exit 1
fi
peer_venv heyoka heyoka "heyoka==7.13.*"
# ssapy: astropy 8's IERS settings are made offline inside bench/peers/ssapy_cislunar.py
peer_venv ssapy ssapy "llnl-ssapy==1.1.12"

if [ -z "${CISLUNAR_TEST_PG_URL:-}" ] && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if pgenv=$(bash scripts/pg-throwaway.sh); then
    eval "$pgenv"
    log "throwaway PostgreSQL at ${CISLUNAR_TEST_PG_URL}"
  else
    log "could not start a throwaway PostgreSQL cluster: the PostgreSQL insert row is skipped"
  fi
fi
[ -n "${CISLUNAR_TEST_PG_URL:-}" ] || log "PostgreSQL not available: only the SQLite insert row"

# ---------------------------------------------------------------- benchmarks
# (one at a time: they share 2 cores)
step sgp4-and-inserts 600 "$BIN/python" bench/bench_cycle.py
step numerical-peers 900 "$BIN/python" bench/bench_peers.py numerical --objects 100 --ssapy-objects 6 --days 30 --repeat 3
step screening 900 "$BIN/python" bench/bench_peers.py screening --sizes 1000,5000,20000 --days 1 --repeat 3
step dask-1-vs-2 600 "$BIN/python" bench/bench_dask.py
step full-cycle 600 "$BIN/python" bench/bench_peers.py cycle --repeat 3
step pc 300 "$BIN/python" bench/bench_pc.py

# ---------------------------------------------------------------- the table
WALL=$(($(date +%s) - START))
"$BIN/python" bench/report.py "$CISLUNAR_BENCH_RESULTS" --steps "$STEPS" --out "$ROOT/.bench/report.md" --wall "$WALL"
cp "$ROOT/.bench/report.md" "$RUN/report.md"
log "done in $((WALL / 60)) min $((WALL % 60)) s; table in .bench/report.md, logs in ${RUN#"$ROOT"/}"
