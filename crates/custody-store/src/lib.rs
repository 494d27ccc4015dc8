//! Custody ledger: the append-only SQLite chain-of-custody log.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
