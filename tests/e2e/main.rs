//! End-to-end tests: each runs the real `custody` binary in a fresh temporary directory and
//! checks its exit code, stdout and stderr.

mod audit;
mod bagit;
mod cli;
mod harness;
mod hash;
mod interop;
mod items;
mod json;
mod key;
mod killed;
mod ledger;
mod ledger_info;
mod legal_doc;
mod postgres;
mod receipt;
mod receive;
mod seal;
mod serve;
mod snapshot;
mod tamper;
mod terminal;
mod tiles;
mod transit;
mod trust;
mod verify;
