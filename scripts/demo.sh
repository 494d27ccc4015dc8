#!/usr/bin/env bash
# The main job end to end on the bundled fixtures: an investigator in France acquires
# evidence, records its custody and seals a package for an authority in Germany, which
# verifies it offline, receives it into its own ledger and returns a signed receipt; the
# French ledger imports the receipt; an auditor checks both ledgers and the package.
#
# Usage: scripts/demo.sh [OUT_DIR]   (default: demo-out/, recreated on every run)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-demo-out}

cargo build --locked --quiet -p custody-cli
custody() { "$PWD/target/debug/custody" "$@"; }
step() { printf '\n== %s\n' "$*"; }

rm -rf "$out"
# Each authority's log key (and the signer state beside it) lives apart from its ledger,
# where checkpoints are signed: here one directory per authority outside the ledger's.
mkdir -p "$out/fr" "$out/de" "$out/fr-log-signer" "$out/de-log-signer"
fr=$out/fr de=$out/de
pkg=$out/CASE-2026-0042.zip
case_ref=CASE-2026-0042
to="Bundeskriminalamt, Wiesbaden"

step "Identities: an investigator in Lyon, a receiving authority in Wiesbaden"
custody key new --name marie.dupont@pj.interieur.fr --role investigator \
  --org "Police judiciaire, Lyon" --jurisdiction FR --out "$fr/investigator.key"
custody key export --key "$fr/investigator.key" --out "$fr/investigator.pub.pem"
custody key new --name evidence-office@bka.bund.de --role "receiving authority" \
  --org "Bundeskriminalamt" --jurisdiction DE --out "$de/receiver.key"
custody key export --key "$de/receiver.key" --out "$de/receiver.pub.pem"

step "France: a ledger, a case, the evidence acquired and its custody recorded"
export CUSTODY_LEDGER=$fr/custody.db CUSTODY_KEY=$fr/investigator.key
export CUSTODY_LOG_KEY_DIR=$out/fr-log-signer
custody init --key "$fr/investigator.key" --origin custody.pj.interieur.fr/lyon
custody case open "$case_ref" --title "Ransomware attack on a hospital in Lyon" \
  --legal-basis "Code de procédure pénale, art. 60-1"
custody acquire fixtures/evidence/call-log.csv --case "$case_ref" --item "$case_ref-1" \
  --location "Hospital server room, Lyon" --note "call log exported from the hospital PBX"
custody acquire fixtures/evidence/phone-extraction --case "$case_ref" --item "$case_ref-2" \
  --location "Police judiciaire, Lyon" --note "logical extraction of the suspect's phone"
custody event "$case_ref-1" stored --place "Evidence room 3, PJ Lyon"
custody event "$case_ref-1" hash-verified --file fixtures/evidence/call-log.csv \
  --tool custody --tool-version "$(custody --version | cut -d' ' -f2)"
custody event "$case_ref-2" mla-request-received --authority "Staatsanwaltschaft Frankfurt am Main" \
  --note "request for the phone extraction"

step "France: seal a package for Germany"
custody seal --case "$case_ref" --to "$to" --out "$pkg" --id "$case_ref-MLA-117" \
  --request-ref MLA-DE-FR-2026-117 \
  --legal-basis "UN Convention against Cybercrime: mutual legal assistance" \
  --requesting-authority "Staatsanwaltschaft Frankfurt am Main" \
  --requested-authority "Parquet de Lyon" \
  --use-limitation "only for criminal proceedings in case 7 Js 1234/26" \
  --personal-data "communications metadata" --retention-until 2031-12-31 \
  "$case_ref-1" "$case_ref-2"

step "Germany: verify the package offline with nothing but it and the sender's public key"
custody verify "$pkg" --trust "$fr/investigator.pub.pem"

step "Germany: receive it into the German ledger and write a signed receipt"
export CUSTODY_LEDGER=$de/custody.db CUSTODY_KEY=$de/receiver.key
export CUSTODY_LOG_KEY_DIR=$out/de-log-signer
custody init --key "$de/receiver.key" --origin custody.bka.bund.de/wiesbaden
custody receive "$pkg" --into "$de/evidence" --trust "$fr/investigator.pub.pem" \
  --as "$to" --receipt "$de/receipt.json"

step "France: import the receipt; the German cosignature now guards the French ledger"
export CUSTODY_LEDGER=$fr/custody.db CUSTODY_KEY=$fr/investigator.key
export CUSTODY_LOG_KEY_DIR=$out/fr-log-signer
custody acknowledge "$de/receipt.json" --trust "$de/receiver.pub.pem"

step "Audit: both ledgers end to end, and the custody timeline"
custody ledger verify --ledger "$fr/custody.db" \
  --signer-state "$out/fr-log-signer/custody.pj.interieur.fr%2Flyon.key.state"
custody ledger verify --ledger "$de/custody.db" \
  --signer-state "$out/de-log-signer/custody.bka.bund.de%2Fwiesbaden.key.state"
custody log --case "$case_ref" --ledger "$fr/custody.db"
custody log --ledger "$de/custody.db"

step "Audit: a copy of the package with one evidence byte changed is refused"
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
echo "(exit status 1: refused, as it must be)"

step "Audit for a court: the French case as a self-contained HTML report and CASE/UCO JSON-LD"
custody audit --ledger "$fr/custody.db" --case "$case_ref" \
  --signer-state "$out/fr-log-signer/custody.pj.interieur.fr%2Flyon.key.state" \
  --html "$out/report.html" --case-uco "$out/custody.jsonld"

step "Done: everything is in $out/"
