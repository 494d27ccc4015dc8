#!/usr/bin/env bash
# Measures every Custody step against the tools people use today, on the same data, in one
# run on this machine, at three sizes each, and prints the ratios the design targets are
# stated in (docs/benchmarks.md gives the targets, the figures and what bounds each):
#   - many 10 KiB files (1k / 10k / 100k): custody acquire, seal, verify, receive against
#     hashdeep, sha256sum, b3sum, bagit.py (create and validate, --processes 2), zip -0 and a
#     durable copy of the tree (cp -r, then sync -f)
#   - one large file (100 MiB / 1 GiB / 10 GiB): custody hash, seal, verify, receive against
#     openssl dgst -sha256, sha256sum, b3sum, a durable copy (dd conv=fsync) and zip -0;
#     peak resident memory of seal (/usr/bin/time -v)
#   - ledger (10k / 100k / 1M events): batch append, full verification, inclusion proof and
#     the replay of an opened ledger (criterion, crates/custody-store/benches/ledger.rs), and
#     `custody log --case` on the same ledger through the command line
# Commands of one size are interleaved (each tool once, then each again), and the median of
# the repetitions is reported. Inputs are read from the page cache alike (warmed first).
#
# Usage: scripts/bench.sh                 full run (about an hour; needs ~35 GiB free in TMPDIR)
#        BENCH_QUICK=1 scripts/bench.sh   quick run at small sizes, one repetition (minutes)
# Overrides: BENCH_FILES, BENCH_SIZES_MIB, BENCH_EVENTS (space-separated lists), BENCH_REPS,
#            BENCH_SKIP (any of: files large ledger), CUSTODY_BIN (a built binary to time).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [ "${BENCH_QUICK:-0}" = 1 ]; then
  files=${BENCH_FILES:-"300 1000 3000"}
  sizes=${BENCH_SIZES_MIB:-"16 64 256"}
  events=${BENCH_EVENTS:-"1000 3000 10000"}
  reps=${BENCH_REPS:-1}
else
  files=${BENCH_FILES:-"1000 10000 100000"}
  sizes=${BENCH_SIZES_MIB:-"100 1024 10240"}
  events=${BENCH_EVENTS:-"10000 100000 1000000"}
  reps=${BENCH_REPS:-3}
fi
skip=" ${BENCH_SKIP:-} "

source scripts/validators.sh
for tool in openssl sha256sum b3sum hashdeep zip bc; do
  command -v "$tool" >/dev/null || { echo "bench.sh: $tool is missing" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
if [ -n "${CUSTODY_BIN:-}" ]; then
  custody=$CUSTODY_BIN   # an already built binary (e.g. while another build holds the lock)
else
  cargo build --release --locked -q -p custody-cli
  custody=$root/target/release/custody
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/custody-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "== custody $("$custody" --version | cut -d' ' -f2), $(nproc) cores, $(date -u +%FT%TZ), reps $reps, work in $work"

# --- timing helpers -------------------------------------------------------------------------

declare -A times   # "label" -> space-separated seconds of each repetition
# run LABEL CMD...: times one run of CMD (output discarded); a failure is recorded as "fail"
run() {
  local label=$1 start end
  shift
  start=$EPOCHREALTIME
  if "$@" >/dev/null 2>"$work/last.err"; then
    end=$EPOCHREALTIME
    times[$label]+="$(echo "$end - $start" | bc -l) "
  else
    times[$label]+="fail "
    echo "   ($label failed: $(head -c 300 "$work/last.err" | tr '\n' ' '))" >&2
  fi
}
median() {
  local values
  values=$(printf '%s\n' ${times[$1]:-} | grep -v fail | sort -g)
  [ -n "$values" ] || { echo fail; return; }
  local n
  n=$(echo "$values" | wc -l)
  echo "$values" | sed -n "$(((n + 1) / 2))p"
}
ratio() {
  local a b
  a=$(median "$1") b=$(median "$2")
  if [ "$a" = fail ] || [ "$b" = fail ]; then echo "-"; else echo "scale=2; $a / $b" | bc -l; fi
}
# row LABEL [COMPARE...]: the median time of LABEL and its ratio to each COMPARE label
row() {
  local label=$1 m
  shift
  m=$(median "$label")
  if [ "$m" = fail ]; then printf '  %-34s %9s' "$label" fail; else printf '  %-34s %8.3fs' "$label" "$m"; fi
  for other in "$@"; do printf '   %sx %s' "$(ratio "$label" "$other")" "$other"; done
  echo
}
# slower A B: the label of the slower of two measured steps
slower() {
  local a b
  a=$(median "$1") b=$(median "$2")
  if [ "$a" = fail ]; then echo "$2"; elif [ "$b" = fail ]; then echo "$1"; elif (($(echo "$a > $b" | bc -l))); then echo "$1"; else echo "$2"; fi
}
# free space in MiB where the work directory is
free_mib() { df -Pm "$work" | awk 'NR == 2 { print $4 }'; }

# --- a sender ledger and a receiver key ---------------------------------------------------------

"$custody" key new --name bench@example.org --jurisdiction FR --out bench.key >/dev/null 2>&1
"$custody" key export --key bench.key --out bench.pub.pem >/dev/null 2>&1
"$custody" key new --name receiver@example.org --jurisdiction DE --out receiver.key >/dev/null 2>&1
export CUSTODY_KEY=$work/bench.key CUSTODY_LEDGER=$work/bench.db CUSTODY_LOG_KEY_DIR=$work/log-signer
mkdir -p log-signer
"$custody" init --key bench.key --origin bench.example.org/ledger >/dev/null
"$custody" case open BENCH --title benchmark >/dev/null
n_item=0

# receive PACKAGE: into a fresh receiver ledger (made outside the timing)
receive_setup() {
  rm -rf recv recv.db* recv-log recv.receipt.json
  mkdir -p recv-log
  CUSTODY_LEDGER=$work/recv.db CUSTODY_KEY=$work/receiver.key CUSTODY_LOG_KEY_DIR=$work/recv-log \
    "$custody" init --key receiver.key --origin bench.example.org/receiver >/dev/null
}
receive() {
  CUSTODY_LEDGER=$work/recv.db CUSTODY_KEY=$work/receiver.key CUSTODY_LOG_KEY_DIR=$work/recv-log \
    "$custody" receive "$1" --into "$work/recv" --receipt "$work/recv.receipt.json" --trust bench.pub.pem
}
seal() { "$custody" seal --case BENCH --to "Bench Authority" --out "$1" "$2"; }

# --- many small files --------------------------------------------------------------------------

if [[ $skip != *" files "* ]]; then
  for count in $files; do
    rm -rf small && mkdir small
    python3 - "$count" <<'PY'
import os, sys
n = int(sys.argv[1])
for i in range(n):
    d = os.path.join("small", f"d{i // 500:04d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:06d}.bin"), "wb") as f:
        f.write(os.urandom(10 * 1024))
PY
    tar -cf - small >/dev/null
    n_item=$((n_item + 1))
    item=S$n_item
    "$custody" acquire small --case BENCH --item "$item" >/dev/null
    for _ in $(seq "$reps"); do
      rm -rf bag && cp -r small bag
      run "hashdeep -c sha256 -r" hashdeep -c sha256 -r small
      run "sha256sum (one process)" sh -c 'find small -type f -print0 | xargs -0 sha256sum'
      run "b3sum" sh -c 'find small -type f -print0 | xargs -0 b3sum'
      run "bagit.py create" bagit.py --processes 2 --sha256 bag
      run "bagit.py validate" bagit.py --validate --processes 2 bag
      run "zip -0 -r" zip -0 -q -r small.zip small
      rm -f small.zip
      # the extracted bytes made durable: copied, then the file system synced (syncfs)
      run "durable copy (cp -r, sync -f)" sh -c 'cp -r small copied && sync -f copied'
      rm -rf copied
      n_item=$((n_item + 1))
      run "custody acquire" "$custody" acquire small --case BENCH --item "S$n_item" --force
      rm -f pkg.zip
      run "custody seal" seal pkg.zip "$item"
      run "custody verify" "$custody" verify pkg.zip --trust bench.pub.pem
      receive_setup
      run "custody receive" receive pkg.zip
    done
    echo
    echo "== $count files of 10 KiB"
    row "hashdeep -c sha256 -r"
    row "sha256sum (one process)"
    row "b3sum"
    row "bagit.py create"
    row "bagit.py validate"
    row "zip -0 -r"
    row "durable copy (cp -r, sync -f)"
    row "custody acquire" "hashdeep -c sha256 -r" "bagit.py create"
    row "custody seal" "bagit.py create" "hashdeep -c sha256 -r" "zip -0 -r"
    row "custody verify" "bagit.py validate" "hashdeep -c sha256 -r"
    row "custody receive" "$(slower "custody verify" "durable copy (cp -r, sync -f)")" "custody verify"
    echo "   targets: seal and verify >= 3x faster than bagit.py (ratio <= 0.33), >= 1.5x faster than hashdeep (<= 0.67);"
    echo "            receive <= 1.15x the slower of verify and the durable copy"
    unset times
    declare -A times
    rm -rf small bag recv pkg.zip
  done
fi

# --- one large file ----------------------------------------------------------------------------

if [[ $skip != *" large "* ]]; then
  # A ledger of its own: the small-file acquisitions above (events listing up to 100,000
  # files each) would otherwise be replayed by every seal and counted in its time and memory.
  export CUSTODY_LEDGER=$work/large.db
  "$custody" init --key bench.key --origin bench.example.org/large >/dev/null
  "$custody" case open BENCH --title benchmark >/dev/null
  for mib in $sizes; do
    rm -f big.bin
    # (openssl is cut off by head's early exit: that SIGPIPE is expected, not a failure)
    { openssl enc -aes-128-ctr -pass pass:custody-bench -nosalt -pbkdf2 </dev/zero 2>/dev/null || true; } \
      | head -c "$((mib * 1024 * 1024))" >big.bin
    n_item=$((n_item + 1))
    item=L$n_item
    "$custody" acquire big.bin --case BENCH --item "$item" >/dev/null
    cat big.bin >/dev/null
    for _ in $(seq "$reps"); do
      run "openssl dgst -sha256" openssl dgst -sha256 big.bin
      run "sha256sum" sha256sum big.bin
      run "b3sum" b3sum big.bin
      run "durable copy (dd conv=fsync)" dd if=big.bin of=copy.bin bs=1M conv=fsync
      rm -f copy.bin
      run "zip -0" zip -0 -q big.zip big.bin
      rm -f big.zip
      run "custody hash" "$custody" hash big.bin
      rm -f pkg.zip
      run "custody seal" seal pkg.zip "$item"
      run "custody verify" "$custody" verify pkg.zip --trust bench.pub.pem
      # receive holds the package, its private copy and the extraction at once
      if (($(free_mib) > 3 * mib + 2048)); then
        receive_setup
        run "custody receive" receive pkg.zip
        rm -rf recv
      fi
    done
    rm -f pkg.zip
    /usr/bin/time -v -o rss.txt "$custody" seal --case BENCH --to "Bench Authority" --out pkg.zip "$item" >/dev/null 2>&1
    rss_kib=$(awk -F': ' '/Maximum resident set size/ { print $2 }' rss.txt)
    rm -f pkg.zip
    echo
    echo "== one file of $mib MiB"
    row "openssl dgst -sha256"
    row "sha256sum" "openssl dgst -sha256"
    row "b3sum" "openssl dgst -sha256"
    row "durable copy (dd conv=fsync)" "openssl dgst -sha256"
    row "zip -0" "durable copy (dd conv=fsync)"
    row "custody hash" "openssl dgst -sha256" "sha256sum" "b3sum"
    bound=$(slower "openssl dgst -sha256" "durable copy (dd conv=fsync)")
    row "custody seal" "$bound" "zip -0"
    row "custody verify" "openssl dgst -sha256"
    if [ -n "${times[custody receive]:-}" ]; then
      row "custody receive" "$(slower "custody verify" "durable copy (dd conv=fsync)")"
    else
      echo "  custody receive                    skipped (not enough free disk)"
    fi
    printf '  %-34s %8d MiB\n' "custody seal peak RSS" "$((rss_kib / 1024))"
    echo "   targets: seal <= 1.10x the slower of openssl and the durable copy; verify <= 1.0x openssl;"
    echo "            receive <= 1.15x the slower of verify and the durable copy; seal RSS < 64 MiB"
    unset times
    declare -A times
    rm -f big.bin
  done
fi

# --- ledger ------------------------------------------------------------------------------------

if [[ $skip != *" ledger "* ]]; then
  for n in $events; do
    echo
    echo "== ledger of $n events (criterion, crates/custody-store/benches/ledger.rs)"
    (cd "$root" && CUSTODY_BENCH_EVENTS=$n CUSTODY_BENCH_LEDGER_OUT=$work/ledger.db \
      cargo bench --locked -q -p custody-store --bench ledger -- --noplot 2>/dev/null) |
      awk '/^ledger\// { name = $1 } /time:|thrpt:/ { printf "  %-58s %s\n", name, $0; name = "" }'
    for _ in $(seq "$reps"); do
      run "custody log --case C-1" env CUSTODY_LEDGER="$work/ledger.db" "$custody" log --case C-1
      run "custody log --item E1" env CUSTODY_LEDGER="$work/ledger.db" "$custody" log E1
    done
    row "custody log --case C-1"
    row "custody log --item E1"
    echo "   targets: append >= 20,000 events/s; verification >= 50,000 events/s (or >= 1.9x the"
    echo "            single-thread strict rate above); proof < 10 ms; log of one case < 2 s at 1M"
    unset times
    declare -A times
    rm -f ledger.db ledger.db-wal ledger.db-shm
  done
fi
