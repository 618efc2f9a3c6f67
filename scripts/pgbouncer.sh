#!/usr/bin/env bash
# PgBouncer in transaction pooling in front of the local PostgreSQL, for the tests that
# run row-level security through a transaction pooler (tests/tests/rls.rs).
#
#   scripts/pgbouncer.sh start   installs Debian's pgbouncer if missing, starts it on
#                                127.0.0.1:6433 (or $TENANTRY_PGBOUNCER_PORT)
#   scripts/pgbouncer.sh stop
#
# Two server connections a database (`default_pool_size = 2`), so that the tests' clients
# share them. `options` is among the ignored startup parameters: a connection pinned to a
# tenant by a startup parameter then reaches the server without it, which tenantry must
# notice (RlsRefusal::PinNotHeld) instead of running the call without a tenant.
set -euo pipefail

port="${TENANTRY_PGBOUNCER_PORT:-6433}"
dir=/tmp/tenantry-pgbouncer

case "${1:-}" in
start)
  if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
    echo "pgbouncer.sh: installing pgbouncer"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
  fi
  if pg_isready -h 127.0.0.1 -p "$port" -q 2>/dev/null; then
    exit 0
  fi
  mkdir -p "$dir"
  cat >"$dir/pgbouncer.ini" <<INI
[databases]
test = host=127.0.0.1 port=5432 dbname=test

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 2
# A cancelled RLS call closes its connection (OwnTx): the cancellation tests reconnect
# hundreds of times in bursts, and with 200 PgBouncer 1.18 refused some logins (seen in CI).
max_client_conn = 2000
ignore_startup_parameters = extra_float_digits, options
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
  # Trust still needs each user listed.
  printf '"postgres" ""\n"tenantry_pgbouncer_app" ""\n' >"$dir/userlist.txt"
  chown -R postgres "$dir" 2>/dev/null || true
  # PgBouncer refuses to run as root.
  if [ "$(id -u)" = 0 ]; then
    /usr/sbin/pgbouncer -d -u postgres "$dir/pgbouncer.ini"
  else
    /usr/sbin/pgbouncer -d "$dir/pgbouncer.ini"
  fi
  for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -p "$port" -q 2>/dev/null && exit 0
    sleep 0.5
  done
  echo "pgbouncer.sh: PgBouncer did not come up on 127.0.0.1:$port" >&2
  cat "$dir/pgbouncer.log" >&2 || true
  exit 1
  ;;
stop)
  if [ -f "$dir/pgbouncer.pid" ]; then
    kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
  fi
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
