#!/usr/bin/env bash
# Measures Custody against the standard tools on the same data, in one run on this machine,
# and prints the ratios the design targets are stated in:
#   - seal and verify of one large file vs `openssl dgst -sha256` (target: at most 1.15x)
#   - peak resident memory while sealing the large file (target: under 64 MiB)
#   - 10,000 x 10 KiB files: seal vs `bagit.py --processes 2` (target: at least 3x faster)
# Ledger rates (append, verify, inclusion proofs) are measured by the criterion benches:
#   cargo bench -p custody-store
#
# Usage: scripts/bench.sh [SIZE_MIB]   (default 2048; use 10240 for the 10 GiB memory check)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-2048}
small_count=${SMALL_COUNT:-10000}

source scripts/validators.sh
cargo build --release --locked -q -p custody-cli
custody=$PWD/target/release/custody

work=$(mktemp -d "${TMPDIR:-/tmp}/custody-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

# seconds with millisecond resolution for one command
elapsed() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
ratio() { echo "scale=2; $1 / $2" | bc -l; }

echo "== preparing ${size_mib} MiB file and ${small_count} x 10 KiB files in $work"
# (openssl is cut off by head's early exit: that SIGPIPE is expected, not a failure)
{ openssl enc -aes-128-ctr -pass pass:custody-bench -nosalt -pbkdf2 </dev/zero 2>/dev/null || true; } \
  | head -c "$((size_mib * 1024 * 1024))" >big.bin
mkdir -p small
python3 - "$small_count" <<'PY'
import os, sys
n = int(sys.argv[1])
for i in range(n):
    d = os.path.join("small", f"d{i // 500:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05d}.bin"), "wb") as f:
        f.write(os.urandom(10 * 1024))
PY

"$custody" key new --name bench@example.org --jurisdiction FR --out bench.key >/dev/null 2>&1
"$custody" key export --key bench.key --out bench.pub.pem >/dev/null 2>&1
export CUSTODY_KEY=$PWD/bench.key CUSTODY_LEDGER=$PWD/bench.db
"$custody" init --key bench.key --origin bench.example.org/ledger >/dev/null
"$custody" case open BENCH --title benchmark >/dev/null
"$custody" acquire big.bin --case BENCH --item BIG >/dev/null
"$custody" acquire small --case BENCH --item SMALL >/dev/null

# warm the page cache so every tool reads from memory alike
cat big.bin >/dev/null

t_openssl=$(elapsed openssl dgst -sha256 big.bin)
t_hash=$(elapsed "$custody" hash big.bin)
t_seal=$(elapsed "$custody" seal --case BENCH --to "Bench Authority" --out big.zip BIG)
t_verify=$(elapsed "$custody" verify big.zip --trust bench.pub.pem)
/usr/bin/time -f '%M' -o rss.txt "$custody" seal --case BENCH --to "Bench Authority" --out big2.zip BIG >/dev/null 2>&1
rss_kib=$(tail -1 rss.txt)
# Sealing writes the package: a plain durable copy of the same bytes bounds it from below.
t_copy=$(elapsed dd if=big.bin of=copy.bin bs=1M conv=fsync)
rm -f copy.bin big2.zip

cp -r small small-bagit
t_bagit=$(elapsed bagit.py --processes 2 --sha256 small-bagit)
t_small=$(elapsed "$custody" seal --case BENCH --to "Bench Authority" --out small.zip SMALL)

echo
echo "large file: ${size_mib} MiB"
printf '  openssl dgst -sha256   %8.2f s\n' "$t_openssl"
printf '  custody hash           %8.2f s   %sx openssl\n' "$t_hash" "$(ratio "$t_hash" "$t_openssl")"
printf '  dd conv=fsync (copy)   %8.2f s   %sx openssl (what writing the package alone costs here)\n' "$t_copy" "$(ratio "$t_copy" "$t_openssl")"
printf '  custody seal           %8.2f s   %sx openssl (target <= 1.15), %sx the durable copy\n' "$t_seal" "$(ratio "$t_seal" "$t_openssl")" "$(ratio "$t_seal" "$t_copy")"
printf '  custody verify         %8.2f s   %sx openssl (target <= 1.15)\n' "$t_verify" "$(ratio "$t_verify" "$t_openssl")"
printf '  seal peak RSS          %8d MiB (target < 64)\n' "$((rss_kib / 1024))"
echo "small files: ${small_count} x 10 KiB"
printf '  bagit.py --processes 2 %8.2f s\n' "$t_bagit"
printf '  custody seal           %8.2f s   %sx faster (target >= 3)\n' "$t_small" "$(ratio "$t_bagit" "$t_small")"
