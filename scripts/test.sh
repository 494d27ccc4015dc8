#!/usr/bin/env bash
# Runs the whole test suite. Installs the external validators the interoperability tests
# drive (from PyPI, into .validators/) first, so a fresh machine needs nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/validators.sh
cargo test --workspace --locked
