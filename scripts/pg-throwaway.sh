#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on 127.0.0.1 and print shell lines
# that export CISLUNAR_TEST_PG_URL, PGTMP and PGBIN (for `eval`).
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PGTMP=$(mktemp -d /tmp/cislunar-pg.XXXXXX)
chmod 755 "$PGTMP"
if [ "$(id -u)" -eq 0 ]; then
  chown postgres "$PGTMP"
  RUN=(runuser -u postgres --)
else
  RUN=()
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
"${RUN[@]}" "$PGBIN/initdb" -D "$PGTMP/data" -A trust -U postgres --no-sync >/dev/null
"${RUN[@]}" "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/log" \
  -o "-k $PGTMP -p $PORT -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" -w start >/dev/null
echo "export PGTMP=$PGTMP PGBIN=$PGBIN"
echo "export CISLUNAR_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
