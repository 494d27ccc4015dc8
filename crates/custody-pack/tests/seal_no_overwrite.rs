//! `seal` never writes over an existing file: the ledger records each package by its
//! SHA-256, and the file it names must stay as sealed.

mod common;

use std::fs;

use common::*;
use custody_pack::seal::{seal, SealError};
use custody_store::Ledger;

/// Seals the set-up's items again into `out`, expecting a refusal.
fn seal_again(s: &Setup, ledger: &mut Ledger, out: &std::path::Path) -> SealError {
    let log = identity("ledger.example.fr", 2);
    seal(
        ledger,
        seal_request(s.dir.path()),
        &s.officer,
        std::slice::from_ref(&s.officer),
        &log,
        out,
        &mut |_| {},
    )
    .expect_err("refused")
}

#[test]
fn fail_seal_over_an_existing_package() {
    let s = genuine();
    let before = fs::read(&s.package).unwrap();
    let ledger_path = s.dir.path().join("sender.db");
    let mut ledger = Ledger::open(&ledger_path).unwrap();
    let size = ledger.size().unwrap();
    let err = seal_again(&s, &mut ledger, &s.package);
    assert!(
        matches!(&err, SealError::OutputExists { path } if *path == s.package),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("already exists"), "{message}");
    assert_eq!(fs::read(&s.package).unwrap(), before);
    assert_eq!(ledger.size().unwrap(), size);
    // The package already there is the one the ledger recorded, by its digest.
    let digest = custody_core::hash::hash_file(&s.package, &mut |_| {}).unwrap();
    let sealed: Vec<_> = (0..size)
        .map(|seq| ledger.entry(seq).unwrap().signed.event)
        .filter(|e| e.kind == custody_store::EventKind::Sealed)
        .collect();
    assert_eq!(sealed.len(), 1);
    assert_eq!(
        sealed[0].fields.package_digest.as_deref(),
        Some(digest.sha256_hex().as_str())
    );
}

#[test]
fn fail_seal_over_any_file_or_link() {
    let s = genuine();
    let ledger_path = s.dir.path().join("sender.db");
    let mut ledger = Ledger::open(&ledger_path).unwrap();
    let unrelated = s.dir.path().join("notes.txt");
    fs::write(&unrelated, b"not a package").unwrap();
    let dangling = s.dir.path().join("dangling.zip");
    std::os::unix::fs::symlink(s.dir.path().join("nowhere"), &dangling).unwrap();
    for out in [&unrelated, &dangling] {
        let err = seal_again(&s, &mut ledger, out);
        assert!(matches!(err, SealError::OutputExists { .. }), "{err:?}");
    }
    assert_eq!(fs::read(&unrelated).unwrap(), b"not a package");
    assert!(!s.dir.path().join("nowhere").exists());
}
