//! Shared fixtures for the ledger tests: fixed identities and a small case.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use custody_core::keys::{ActorInfo, Identity};
use custody_store::{EventDraft, EventFields, EventKind, Evidence, Ledger};

pub const ORIGIN: &str = "ledger.example.fr/custody/test";
pub const T0: &str = "2026-03-01T09:00:00+01:00";

pub fn identity(name: &str, seed: u8) -> Identity {
    Identity::from_seed(
        ActorInfo {
            name: name.to_owned(),
            role: Some("investigator".to_owned()),
            organisation: Some("Police judiciaire".to_owned()),
            jurisdiction: Some("FR".to_owned()),
        },
        [seed; 32],
    )
    .expect("fixed seed")
}

pub fn investigator() -> Identity {
    identity("alice", 1)
}

pub fn officer() -> Identity {
    identity("bob", 2)
}

pub fn log_key() -> Identity {
    identity("ledger.example.fr", 9)
}

pub fn key_hex(id: &Identity) -> String {
    custody_core::hex::encode(&id.public_key().to_bytes())
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub ledger: Ledger,
}

pub fn new_ledger() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("custody.db");
    let ledger = Ledger::init(&path, ORIGIN, &investigator(), &log_key()).expect("init");
    Fixture { dir, path, ledger }
}

pub fn open(path: &Path) -> Ledger {
    Ledger::open(path).expect("open")
}

pub fn enrol(id: &Identity) -> EventDraft {
    EventDraft::new(EventKind::ActorEnrolled, T0).fields(EventFields {
        public_key: Some(key_hex(id)),
        actor_info: Some(id.info().clone()),
        ..EventFields::default()
    })
}

pub fn open_case(case: &str) -> EventDraft {
    EventDraft::new(EventKind::CaseOpened, T0)
        .case(case)
        .fields(EventFields {
            title: Some("Fraude".to_owned()),
            ..EventFields::default()
        })
}

pub fn acquire(case: &str, item: &str, claimed: &str) -> EventDraft {
    EventDraft::new(EventKind::Acquired, claimed)
        .case(case)
        .item(item)
        .fields(EventFields {
            evidence: Some(Evidence {
                size: 3,
                sha256: [0x11; 32],
                blake3: [0x22; 32],
                source_path: format!("{item}.img"),
                files: None,
            }),
            place: Some("Lyon".to_owned()),
            ..EventFields::default()
        })
}

pub fn on_item(kind: EventKind, case: &str, item: &str, claimed: &str) -> EventDraft {
    EventDraft::new(kind, claimed).case(case).item(item)
}

/// A ledger with an enrolled officer, a case and `items` acquired items `E1..`.
pub fn populated(items: usize) -> Fixture {
    let mut f = new_ledger();
    let (alice, log) = (investigator(), log_key());
    f.ledger
        .append(enrol(&officer()), &alice, &log)
        .expect("enrol");
    f.ledger
        .append(open_case("C-1"), &alice, &log)
        .expect("case");
    for i in 1..=items {
        f.ledger
            .append(acquire("C-1", &format!("E{i}"), T0), &alice, &log)
            .expect("acquire");
    }
    f
}

/// Every checkpoint note this ledger has signed so far, newest.
pub fn latest_note(ledger: &Ledger) -> String {
    ledger.latest_checkpoint().expect("checkpoint").1
}
