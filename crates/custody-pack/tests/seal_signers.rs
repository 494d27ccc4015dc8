//! Seal signs only with keys its own verification would count: a key the sender ledger
//! rotated out or revoked is refused, and at least one key must be active in the sender
//! ledger; a foreign countersigner may sign beside it. A refusal writes nothing and records
//! nothing.

mod common;

use std::path::Path;

use common::{identity, seal_request, sender_with_two_items, Sender};
use custody_core::keys::Identity;
use custody_pack::seal::{seal, SealError, SealOutcome};
use custody_pack::verify::{verify_package, TrustedKey, VerifyOptions};
use custody_store::{EventDraft, EventFields, EventKind, Ledger};

const NOW: &str = "2026-03-01T10:00:00Z";

fn hex_key(id: &Identity) -> String {
    custody_core::hex::encode(&id.public_key().to_bytes())
}

fn analyst() -> Identity {
    identity("analyst@example.fr", 5)
}

/// A foreign authority's key, never enrolled in the sender ledger.
fn judge() -> Identity {
    identity("judge@tj-paris.example", 6)
}

/// Appends `kind` about `key`'s public key, signed by `by`; returns its seq.
fn key_event(s: &mut Sender, kind: EventKind, key: &Identity, by: &Identity) -> u64 {
    let draft = EventDraft::new(kind, NOW).fields(EventFields {
        public_key: Some(hex_key(key)),
        actor_info: (kind == EventKind::ActorEnrolled).then(|| key.info().clone()),
        ..EventFields::default()
    });
    s.ledger.append(draft, by, &s.log).unwrap().seq
}

fn enrol_analyst(s: &mut Sender) {
    let officer = s.officer.clone();
    key_event(s, EventKind::ActorEnrolled, &analyst(), &officer);
}

fn try_seal(
    s: &mut Sender,
    dir: &Path,
    signers: &[Identity],
) -> Result<SealOutcome, Box<SealError>> {
    seal(
        &mut s.ledger,
        seal_request(dir),
        &s.officer,
        signers,
        &s.log,
        &dir.join("pkg.zip"),
        &mut |_| {},
    )
    .map_err(Box::new)
}

/// Seals with `signers`, expects a refusal, and checks that nothing was written into `dir`
/// and nothing recorded in the ledger.
fn refused(s: &mut Sender, dir: &Path, signers: &[Identity]) -> SealError {
    let before = s.ledger.size().unwrap();
    let listing = |d: &Path| {
        let mut names: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let files = listing(dir);
    let err = *try_seal(s, dir, signers).unwrap_err();
    assert!(!dir.join("pkg.zip").exists(), "{err}");
    assert_eq!(listing(dir), files, "{err}");
    let reopened = Ledger::open(s.ledger.path()).unwrap();
    assert_eq!(reopened.size().unwrap(), before, "{err}");
    assert_eq!(s.ledger.size().unwrap(), before, "{err}");
    err
}

#[test]
fn fail_seal_with_a_rotated_out_signer() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sender_with_two_items(dir.path(), "sender.db");
    enrol_analyst(&mut s);
    let rotated = key_event(
        &mut s,
        EventKind::KeyRotated,
        &identity("analyst@example.fr", 15),
        &analyst(),
    );
    let officer = s.officer.clone();
    for signers in [vec![analyst()], vec![officer, analyst()]] {
        let err = refused(&mut s, dir.path(), &signers);
        let key = analyst().verifier_key().to_string();
        assert!(
            matches!(&err, SealError::SignerRotated { key: k, seq } if *k == key && *seq == rotated),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "signing key {key} was rotated out by ledger entry {rotated}; it can no longer sign a package"
            )
        );
    }
}

#[test]
fn fail_seal_with_a_revoked_signer() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sender_with_two_items(dir.path(), "sender.db");
    enrol_analyst(&mut s);
    let officer = s.officer.clone();
    let revoked = key_event(&mut s, EventKind::KeyRevoked, &analyst(), &officer);
    for signers in [vec![analyst()], vec![officer, analyst(), judge()]] {
        let err = refused(&mut s, dir.path(), &signers);
        let key = analyst().verifier_key().to_string();
        assert!(
            matches!(&err, SealError::SignerRevoked { key: k, seq } if *k == key && *seq == revoked),
            "{err:?}"
        );
    }
}

#[test]
fn fail_seal_with_only_keys_outside_the_sender_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sender_with_two_items(dir.path(), "sender.db");
    let size = s.ledger.size().unwrap();
    for signers in [vec![judge()], vec![judge(), analyst()]] {
        let err = refused(&mut s, dir.path(), &signers);
        let keys: Vec<String> = signers
            .iter()
            .map(|k| k.verifier_key().to_string())
            .collect();
        assert!(
            matches!(&err, SealError::NoActiveSigner { keys: k, checkpoint_size } if *k == keys && *checkpoint_size == size),
            "{err:?}"
        );
    }
}

#[test]
fn seal_with_an_active_and_a_foreign_key_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sender_with_two_items(dir.path(), "sender.db");
    let officer = s.officer.clone();
    let outcome = try_seal(&mut s, dir.path(), &[officer.clone(), judge()]).unwrap();
    assert_eq!(outcome.signers.len(), 2);
    let options = VerifyOptions {
        trusted: vec![
            TrustedKey::Public(officer.public_key()),
            TrustedKey::Public(judge().public_key()),
        ],
        ..VerifyOptions::default()
    };
    let report = verify_package(&outcome.path, &options).unwrap();
    assert!(report.verified, "{:#?}", report.findings);
}

#[test]
fn seal_with_the_key_that_replaced_a_rotated_one_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sender_with_two_items(dir.path(), "sender.db");
    enrol_analyst(&mut s);
    let new_key = identity("analyst@example.fr", 15);
    key_event(&mut s, EventKind::KeyRotated, &new_key, &analyst());
    let outcome = try_seal(&mut s, dir.path(), std::slice::from_ref(&new_key)).unwrap();
    let options = VerifyOptions {
        trusted: vec![TrustedKey::Public(new_key.public_key())],
        ..VerifyOptions::default()
    };
    let report = verify_package(&outcome.path, &options).unwrap();
    assert!(report.verified, "{:#?}", report.findings);
}

#[test]
fn fail_seal_whose_signer_is_revoked_while_the_package_is_written() {
    // Another process revokes a signing key while the payload streams: the package carries
    // a checkpoint from before, but nothing is recorded after the revocation.
    let dir = tempfile::tempdir().unwrap();
    let mut s = sender_with_two_items(dir.path(), "sender.db");
    enrol_analyst(&mut s);
    let before = s.ledger.size().unwrap();
    let (path, officer, log) = (s.ledger.path().to_owned(), s.officer.clone(), s.log.clone());
    let mut revoked = None;
    let err = seal(
        &mut s.ledger,
        seal_request(dir.path()),
        &officer,
        &[officer.clone(), analyst()],
        &log,
        &dir.path().join("pkg.zip"),
        &mut |_| {
            if revoked.is_none() {
                let mut other = Ledger::open(&path).unwrap();
                let draft = EventDraft::new(EventKind::KeyRevoked, NOW).fields(EventFields {
                    public_key: Some(hex_key(&analyst())),
                    ..EventFields::default()
                });
                revoked = Some(other.append(draft, &officer, &log).unwrap().seq);
            }
        },
    )
    .unwrap_err();
    let seq = revoked.unwrap();
    assert!(
        matches!(&err, SealError::SignerRevoked { seq: s, .. } if *s == seq),
        "{err:?}"
    );
    assert!(!dir.path().join("pkg.zip").exists());
    assert_eq!(s.ledger.size().unwrap(), before + 1);
    assert_eq!(seq, before);
}

#[test]
fn fail_seal_with_a_revoked_signer_the_actor_index_says_is_active() {
    // Someone with SQL access marks the revoked key active again in the actors index: seal
    // decides from the verified entries, which still revoke it.
    let dir = tempfile::tempdir().unwrap();
    let mut s = sender_with_two_items(dir.path(), "sender.db");
    enrol_analyst(&mut s);
    let officer = s.officer.clone();
    let revoked = key_event(&mut s, EventKind::KeyRevoked, &analyst(), &officer);
    let sql = rusqlite::Connection::open(s.ledger.path()).unwrap();
    let changed = sql
        .execute(
            "UPDATE actors SET status = 'active', status_seq = NULL WHERE key = ?1",
            [hex_key(&analyst())],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(sql);
    let mut s = Sender {
        ledger: Ledger::open(s.ledger.path()).unwrap(),
        ..s
    };
    let err = refused(&mut s, dir.path(), &[analyst()]);
    assert!(
        matches!(&err, SealError::SignerRevoked { seq, .. } if *seq == revoked),
        "{err:?}"
    );
}
