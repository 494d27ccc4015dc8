#!/usr/bin/env bash
# Compares Custody's BagIt verdict on every fixture bag in fixtures/bagit/ with
# `bagit.py --validate`'s. Fails on any disagreement that docs/bagit.md does not list in
# its table of deliberate differences (and on any listed difference that no longer
# occurs, so that the table stays true). Archived fixtures are extracted with Python's
# zipfile for bagit.py, which validates directories only.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/validators.sh
cargo build --quiet --locked -p custody-cli
custody=target/debug/custody
table=docs/bagit.md
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# "fixture custody-verdict bagit.py-verdict" for each row of the table of deliberate
# differences: rows look like "| `name` | invalid | valid | why |".
listed=$(sed -n '/<!-- bagit-compare:begin -->/,/<!-- bagit-compare:end -->/p' "$table" |
  awk -F'|' '/^\| `/ { gsub(/[ `]/, "", $2); gsub(/ /, "", $3); gsub(/ /, "", $4); print $2, $3, $4 }')

verdict() { if [ "$1" -eq 0 ]; then echo valid; else echo invalid; fi; }

bagit_py_dir() {
  if bagit.py --quiet --validate "$1" >/dev/null 2>&1; then echo valid; else echo invalid; fi
}

# The bag directory inside an extracted archive: its root, or its one top-level directory.
bag_root() {
  if [ -f "$1/bagit.txt" ]; then echo "$1"; return; fi
  local dirs=("$1"/*/)
  echo "${dirs[0]%/}"
}

failures=0
seen=()
for fixture in fixtures/bagit/valid_* fixtures/bagit/fail_*; do
  name=$(basename "$fixture")
  set +e
  "$custody" verify --bagit "$fixture" >/dev/null 2>&1
  code=$?
  set -e
  if [ "$code" -gt 1 ]; then
    echo "ERROR $name: custody exited $code"
    failures=$((failures + 1))
    continue
  fi
  ours=$(verdict "$code")
  if [ -d "$fixture" ]; then
    theirs=$(bagit_py_dir "$fixture")
  else
    dest="$work/$name"
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
      "$fixture" "$dest"
    theirs=$(bagit_py_dir "$(bag_root "$dest")")
  fi
  row=$(grep -E "^$name " <<<"$listed" || true)
  if [ "$ours" = "$theirs" ]; then
    if [ -n "$row" ]; then
      echo "STALE $name: both say $ours, but $table lists a difference"
      failures=$((failures + 1))
    else
      echo "agree $name: $ours"
    fi
  elif [ "$row" = "$name $ours $theirs" ]; then
    echo "known $name: custody $ours, bagit.py $theirs (documented in $table)"
    seen+=("$name")
  else
    echo "DIFFER $name: custody $ours, bagit.py $theirs, not documented in $table"
    failures=$((failures + 1))
  fi
done
while read -r name _; do
  [ -z "$name" ] && continue
  if [ ! -e "fixtures/bagit/$name" ]; then
    echo "STALE $name: listed in $table but no such fixture"
    failures=$((failures + 1))
  fi
done <<<"$listed"
if [ "$failures" -gt 0 ]; then
  echo "bagit-compare: $failures problem(s)"
  exit 1
fi
echo "bagit-compare: every verdict agrees with bagit.py or is a documented difference (${#seen[@]})"
