#!/usr/bin/env bash
# Install the Debian packages the test suite needs when they are missing:
# the PostgreSQL server (a throwaway cluster is started per test run) and
# Chromium (the dashboard's end-to-end test).  Idempotent and quick when
# everything is present.
set -euo pipefail

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "ensure-system-deps: missing ${need[*]} and not root; install them: apt-get install -y ${need[*]}" >&2
    exit 1
  fi
else
  SUDO=
fi
echo "ensure-system-deps: installing ${need[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
