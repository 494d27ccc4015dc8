//! Set-up shared by the package tests: identities from fixed seeds and a sender ledger
//! holding case C-1 with a file item C-1-1 (`disk.img`) and a directory item C-1-2
//! (`phone/`, two files in two levels).

#![allow(dead_code)]

use std::fs;
use std::path::Path;

use custody_core::keys::{ActorInfo, Identity};
use custody_store::acquisition::Acquisition;
use custody_store::{EventDraft, EventFields, EventKind, Ledger};

/// The claimed time of every set-up event.
pub const NOW: &str = "2026-03-01T09:00:00Z";

/// An identity from a fixed seed.
pub fn identity(name: &str, seed: u8) -> Identity {
    Identity::from_seed(ActorInfo::named(name), [seed; 32]).unwrap()
}

/// The sender ledger and the keys that write it.
pub struct Sender {
    pub ledger: Ledger,
    pub officer: Identity,
    pub log: Identity,
}

/// Creates `dir/<ledger_file>` with case C-1 and the two acquired items, whose evidence it
/// writes into `dir`.
pub fn sender_with_two_items(dir: &Path, ledger_file: &str) -> Sender {
    let officer = identity("officer@example.fr", 1);
    let log = identity("ledger.example.fr", 2);
    let path = dir.join(ledger_file);
    let mut ledger = Ledger::init(&path, "ledger.example.fr/custody", &officer, &log).unwrap();
    ledger
        .append(
            EventDraft::new(EventKind::CaseOpened, NOW).case("C-1"),
            &officer,
            &log,
        )
        .unwrap();
    fs::write(dir.join("disk.img"), b"disk image bytes").unwrap();
    fs::create_dir_all(dir.join("phone/sub")).unwrap();
    fs::write(dir.join("phone/a.txt"), b"alpha").unwrap();
    fs::write(dir.join("phone/sub/b.txt"), b"beta").unwrap();
    for (n, name) in ["disk.img", "phone"].iter().enumerate() {
        let evidence = Acquisition::plan(&dir.join(name))
            .unwrap()
            .hash(&mut |_| {})
            .unwrap();
        ledger
            .append(
                EventDraft::new(EventKind::Acquired, NOW)
                    .case("C-1")
                    .item(format!("C-1-{}", n + 1))
                    .fields(EventFields {
                        evidence: Some(evidence),
                        ..EventFields::default()
                    }),
                &officer,
                &log,
            )
            .unwrap();
    }
    Sender {
        ledger,
        officer,
        log,
    }
}

/// Creates `dir/<ledger_file>` with case `case` and one file item `<case>-1`, the file
/// `dir/<file>` holding `bytes`.
pub fn sender_with_one_item(
    dir: &Path,
    ledger_file: &str,
    case: &str,
    file: &str,
    bytes: &[u8],
) -> Sender {
    let officer = identity("officer@example.fr", 1);
    let log = identity("ledger.example.fr", 2);
    let mut ledger = Ledger::init(
        &dir.join(ledger_file),
        "ledger.example.fr/custody",
        &officer,
        &log,
    )
    .unwrap();
    fs::write(dir.join(file), bytes).unwrap();
    let evidence = Acquisition::plan(&dir.join(file))
        .unwrap()
        .hash(&mut |_| {})
        .unwrap();
    ledger
        .append_batch(
            vec![
                EventDraft::new(EventKind::CaseOpened, NOW).case(case),
                EventDraft::new(EventKind::Acquired, NOW)
                    .case(case)
                    .item(format!("{case}-1"))
                    .fields(EventFields {
                        evidence: Some(evidence),
                        ..EventFields::default()
                    }),
            ],
            &officer,
            &log,
        )
        .unwrap();
    Sender {
        ledger,
        officer,
        log,
    }
}
