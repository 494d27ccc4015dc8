#!/usr/bin/env bash
# Runs the ledger test suite once more, on PostgreSQL: a throw-away cluster
# (scripts/pg-cluster.sh) is started on a free loopback port, every ledger the tests make
# is a fresh database on it (CUSTODY_TEST_POSTGRES), and the cluster is stopped and removed
# however the tests end. The tests that tamper with rows do it through common::RawDb, which
# speaks to either store. Not run here: schema.rs (the SQLite file format itself; its
# PostgreSQL counterpart is in backends.rs) and backends.rs / processes.rs, which start
# their own cluster and run every scenario on both stores in the ordinary test run.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d /tmp/custody-pg-ci.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() { scripts/pg-cluster.sh stop "$dir" || true; rm -rf "$dir"; }
trap cleanup EXIT
CUSTODY_TEST_POSTGRES=$(scripts/pg-cluster.sh start "$dir" "$port")
export CUSTODY_TEST_POSTGRES
cargo test -p custody-store --no-fail-fast \
  --test rules --test props --test signer --test hand_over --test custody --test conditions \
  --test tamper --test truth --test hostile_rows --test extreme_values --test signature_rule \
  --test tiles --test published "$@"
