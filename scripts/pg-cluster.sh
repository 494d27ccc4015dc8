#!/usr/bin/env bash
# A throw-away PostgreSQL cluster on a loopback port, for trying or testing a ledger on
# PostgreSQL by hand (the store's tests start their own; see
# crates/custody-store/tests/common/pg.rs).
#
#   scripts/pg-cluster.sh start DIR PORT   initdb into DIR (new or empty), start on
#                                          127.0.0.1:PORT, print the URL of its `postgres`
#                                          database (trust authentication, user custody)
#   scripts/pg-cluster.sh stop DIR         stop it (immediate); DIR is left for the caller
#
# PostgreSQL refuses to run as root: under root the server runs as `nobody`, who is given DIR.
# The binaries come from CUSTODY_PG_BIN (default /usr/lib/postgresql/15/bin).
set -euo pipefail
bin=${CUSTODY_PG_BIN:-/usr/lib/postgresql/15/bin}
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}
case "${1:-}" in
  start)
    dir=${2:?DIR}; port=${3:?PORT}
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" = 0 ] && chown nobody: "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U custody --auth=trust --no-locale -E UTF8 >/dev/null
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir" start >/dev/null
    echo "postgresql://custody@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir=${2:?DIR}
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    ;;
  *)
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
