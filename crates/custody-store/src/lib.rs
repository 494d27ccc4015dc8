//! Custody ledger: the append-only chain-of-custody log, in a SQLite file or a PostgreSQL
//! database (one storage seam, [`store::LedgerStore`]).
//!
//! Entries are the truth: signed, canonical custody events, one per RFC 6962 Merkle leaf,
//! numbered contiguously from 0. After every append the ledger signs a C2SP checkpoint with
//! its log key. Everything else (actors, cases, items, holders) is an index rebuilt from the
//! entries by [`Ledger::reindex`] for people who query the file with SQL; no decision reads
//! it. Append and every read that seal, receive and acknowledge rely on answer from the
//! entries themselves, replayed and checked against the newest checkpoint the log key
//! signed. [`Ledger::verify`] recomputes all of it — and checks the ledger against
//! checkpoints held outside it, including the log signer's own record of what it signed. `docs/ledger.md` specifies the format.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod acquisition;
pub mod conditions;
pub mod custody;
pub mod error;
pub mod event;
pub mod handover;
mod index;
pub mod ledger;
pub mod published;
pub mod rules;
pub mod signer;
pub mod snapshot;
pub mod store;
pub mod submit;
pub mod tiles;
mod truth;
pub mod verify;
pub mod witness;

pub use custody::{CustodyForm, CustodyState, HashCheck, Holder, HolderPeriod, ItemCustody};
pub use error::StoreError;
pub use event::{
    CheckResult, CosignatureError, Device, Event, EventDraft, EventFields, EventKind, Evidence,
    EvidenceFile, Shipment, SignedEvent,
};
pub use ledger::{Appended, Ledger, StoredEntry};
pub use rules::{ActorRecord, ActorStatus, CaseRecord, ItemCondition, ItemRecord};
pub use truth::LedgerView;
pub use verify::{CaseCheck, LedgerFinding, LedgerReport};
