#!/usr/bin/env bash
# Runs the ledger tests that need no raw SQLite access once more, on PostgreSQL (rules,
# props, signer, hand_over, custody, conditions): a
# throw-away cluster (scripts/pg-cluster.sh) is started on a free loopback port, every
# ledger the tests make is a fresh database on it (CUSTODY_TEST_POSTGRES), and the cluster
# is stopped and removed however the tests end. The tests that tamper with rows through
# SQLite run on SQLite only, in the ordinary test run; backends.rs and processes.rs run
# their scenarios on both stores there already.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d /tmp/custody-pg-ci.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() { scripts/pg-cluster.sh stop "$dir" || true; rm -rf "$dir"; }
trap cleanup EXIT
CUSTODY_TEST_POSTGRES=$(scripts/pg-cluster.sh start "$dir" "$port")
export CUSTODY_TEST_POSTGRES
# The tests skipped here rewrite rows through SQLite (common::raw); they run on SQLite only.
cargo test -p custody-store --no-fail-fast --test rules --test props --test signer --test hand_over \
  --test custody --test conditions "$@" -- \
  --skip fail_forged_cosignature_on_an_ordinary_event_is_found_by_verify \
  --skip fail_forged_entry_without_cosignature_is_found_by_verify_and_refused_by_reads \
  --skip fail_entry_edited_after_the_ledger_was_opened_is_an_error_in_both_paths \
  --skip fail_state_from_an_edited_entry_is_an_error_not_an_answer
