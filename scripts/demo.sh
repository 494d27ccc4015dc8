#!/usr/bin/env bash
# The main job end to end on the bundled fixtures: an investigator in France acquires
# evidence, records its custody and seals a package for an authority in Germany, which
# verifies it offline, receives it into its own ledger and returns a signed receipt; the
# French ledger imports the receipt; a court checks one custody event offline with an
# inclusion proof; an auditor checks both ledgers; a package with one altered byte is
# refused.
#
# Usage: scripts/demo.sh [OUT_DIR]   (default: demo-out/, recreated on every run)
# Needs: a Rust toolchain (cargo), Python 3 (to alter a byte of the package copy).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-demo-out}

# The first build compiles every dependency: a few minutes on a small machine. Cargo's
# own progress stays visible so that a long build never looks hung.
if [ ! -x target/debug/custody ]; then
  echo "building custody (the first build takes about 4 minutes on a 2-core machine; later runs take seconds)"
fi
cargo build --locked -p custody-cli
custody() { "$PWD/target/debug/custody" "$@"; }
step() { printf '\n== %s\n' "$*"; }
say() { printf '%s\n' "$*" | fold -s -w 100; }
# Commands whose output only sets the scene (new keys, new ledgers, signed checkpoints)
# write it to $out/logs/, where it stays for whoever wants the details.
quiet() { local name=$1; shift; custody "$@" >"$logs/$name.txt" 2>&1; }

rm -rf "$out"
# Each authority's log key (and the signer state beside it) lives apart from its ledger,
# where checkpoints are signed: here one directory per authority outside the ledger's.
mkdir -p "$out/fr" "$out/de" "$out/fr-log-signer" "$out/de-log-signer" "$out/court" "$out/logs"
fr=$out/fr de=$out/de court=$out/court logs=$out/logs
pkg=$out/CASE-2026-0042.zip
case_ref=CASE-2026-0042
to="Bundeskriminalamt, Wiesbaden"

step "1. Identities: an investigator in Lyon, a receiving authority in Wiesbaden"
quiet 1-investigator-key key new --name marie.dupont@pj.interieur.fr --role investigator \
  --org "Police judiciaire, Lyon" --jurisdiction FR --out "$fr/investigator.key"
quiet 1-investigator-pub key export --key "$fr/investigator.key" --out "$fr/investigator.pub.pem"
quiet 1-receiver-key key new --name evidence-office@bka.bund.de --role "receiving authority" \
  --org "Bundeskriminalamt" --jurisdiction DE --out "$de/receiver.key"
quiet 1-receiver-pub key export --key "$de/receiver.key" --out "$de/receiver.pub.pem"
say "Each has an Ed25519 key pair: the private key stays with its owner (file mode 0600), the public key is what the other side trusts."

step "2. France: a ledger, a case, the evidence acquired and its custody recorded"
export CUSTODY_LEDGER=$fr/custody.db CUSTODY_KEY=$fr/investigator.key
export CUSTODY_LOG_KEY_DIR=$out/fr-log-signer
custody init --key "$fr/investigator.key" --origin custody.pj.interieur.fr/lyon --json \
  >"$logs/2-init.json"
quiet 2-case-open case open "$case_ref" --title "Ransomware attack on a hospital in Lyon" \
  --legal-basis "Code de procédure pénale, art. 60-1"
custody acquire fixtures/evidence/call-log.csv --case "$case_ref" --item "$case_ref-1" \
  --location "Hospital server room, Lyon" --note "call log exported from the hospital PBX"
custody acquire fixtures/evidence/phone-extraction --case "$case_ref" --item "$case_ref-2" \
  --location "Police judiciaire, Lyon" --note "logical extraction of the suspect's phone"
custody event "$case_ref-1" stored --place "Evidence room 3, PJ Lyon"
quiet 2-hash-verified event "$case_ref-1" hash-verified --file fixtures/evidence/call-log.csv \
  --tool custody --tool-version "$(custody --version | cut -d' ' -f2)"
custody event "$case_ref-2" mla-request-received --authority "Staatsanwaltschaft Frankfurt am Main" \
  --note "request for the phone extraction"
say "Every handling is an event signed by the investigator's key and appended to the French ledger; after each append the ledger's own log key signs a checkpoint (the Merkle root of all entries so far). The call log was hashed again and matched its acquisition hashes (details in $logs/2-hash-verified.txt)."

step "3. France: seal a package for Germany"
custody seal --case "$case_ref" --to "$to" --out "$pkg" --id "$case_ref-MLA-117" \
  --request-ref MLA-DE-FR-2026-117 \
  --legal-basis "UN Convention against Cybercrime: mutual legal assistance" \
  --requesting-authority "Staatsanwaltschaft Frankfurt am Main" \
  --requested-authority "Parquet de Lyon" \
  --use-limitation "only for criminal proceedings in case 7 Js 1234/26" \
  --personal-data "communications metadata" --retention-until 2031-12-31 \
  "$case_ref-1" "$case_ref-2"
say "The package holds the evidence, each item's signed custody history with an inclusion proof per event, the French ledger's signed checkpoint, and the investigator's signature over it all."

step "4. Germany: verify the package offline, with nothing but it and the investigator's public key"
custody verify "$pkg" --trust "$fr/investigator.pub.pem"

step "5. Germany: receive it into the German ledger and write a signed receipt"
export CUSTODY_LEDGER=$de/custody.db CUSTODY_KEY=$de/receiver.key
export CUSTODY_LOG_KEY_DIR=$out/de-log-signer
quiet 5-init init --key "$de/receiver.key" --origin custody.bka.bund.de/wiesbaden
custody receive "$pkg" --into "$de/evidence" --trust "$fr/investigator.pub.pem" \
  --as "$to" --receipt "$de/receipt.json"
say "The package was verified again as it was read, extracted, and recorded as received in the German ledger. The receipt carries Germany's cosignature of the French checkpoint: Germany now witnesses what the French ledger held."

step "6. France: import the receipt"
export CUSTODY_LEDGER=$fr/custody.db CUSTODY_KEY=$fr/investigator.key
export CUSTODY_LOG_KEY_DIR=$out/fr-log-signer
custody acknowledge "$de/receipt.json" --trust "$de/receiver.pub.pem"
say "The German cosignature is kept as an outside checkpoint: from now on, rewriting or cutting the French ledger before that point is caught, even by someone holding the French log key."

step "7. The court: one custody event checked offline with an inclusion proof"
# The court receives four small files and trusts one public key, the French log's; it
# needs no access to the ledger. The event checked is the sealing of the package.
sealed_seq=$(custody log "$case_ref-1" --json |
  python3 -c 'import json,sys; print([e["seq"] for e in json.load(sys.stdin) if e["event"]["kind"] == "sealed"][0])')
custody ledger export-entry "$sealed_seq" >"$court/entry.json"
custody checkpoint >"$court/checkpoint"
custody prove inclusion "$sealed_seq" --json >"$court/proof.json"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["log_verifier_key"])' \
  "$logs/2-init.json" >"$court/log-key.txt"
custody verify-proof "$court/proof.json" --entry "$court/entry.json" \
  --checkpoint "$court/checkpoint" --log-key "$court/log-key.txt"
say "Proven: the sealing event (entry $sealed_seq, signed by the investigator) is in the French ledger exactly as the checkpoint signed by the French log key commits to it. Removing or changing it would break this proof."

step "8. Audit: both ledgers end to end, and the custody timeline"
custody audit --ledger "$fr/custody.db" --case "$case_ref" --full \
  --signer-state "$out/fr-log-signer/custody.pj.interieur.fr%2Flyon.key.state" \
  --html "$out/report.html" --case-uco "$out/custody.jsonld" >"$logs/8-audit.txt"
say "The court's report of the French case: $out/report.html (one self-contained page to read or print) and $out/custody.jsonld (the same custody history as CASE/UCO JSON-LD); its verdict and findings are in $logs/8-audit.txt."
custody ledger verify --ledger "$fr/custody.db" \
  --signer-state "$out/fr-log-signer/custody.pj.interieur.fr%2Flyon.key.state"
custody ledger verify --ledger "$de/custody.db" \
  --signer-state "$out/de-log-signer/custody.bka.bund.de%2Fwiesbaden.key.state"
custody log --case "$case_ref" --ledger "$fr/custody.db" >"$out/timeline-fr.txt"
custody log --ledger "$de/custody.db" >"$out/timeline-de.txt"
say "Proven: every entry of each ledger is signed by an actor entitled to sign it, in order, and matches every signed checkpoint, the German cosignature and the log signer's record. The custody timelines are in $out/timeline-fr.txt and $out/timeline-de.txt."

step "9. A copy of the package with one byte of evidence changed is refused"
cp "$pkg" "$out/tampered.zip"
python3 - "$out/tampered.zip" <<'PY'
import sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
at = data.index(b"outgoing")  # inside the stored call log
data[at] ^= 0x20
open(path, "wb").write(bytes(data))
PY
if custody verify "$out/tampered.zip" --trust "$fr/investigator.pub.pem"; then
  echo "the tampered package was not caught" >&2
  exit 1
fi
say "(exit status 1: refused, as it must be; receive would refuse it too, writing nothing)"

step "Done: everything is in $out/ (the commands' full output in $logs/)"
