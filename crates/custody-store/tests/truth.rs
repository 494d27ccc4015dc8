//! Decisions rest on verified entries, never on the index tables: an attacker who can run
//! SQL on the ledger file (triggers dropped) but holds no key cannot change what append,
//! the histories and the item and actor lists say, and every change to the entries makes
//! the ledger refuse to decide instead of deciding wrongly.

mod common;

use std::path::Path;

use common::*;
use custody_core::merkle;
use custody_store::{
    ActorStatus, EventDraft, EventFields, EventKind, ItemCondition, LedgerFinding, StoreError,
};

/// Reading the verified state of the ledger at `path` is refused for exactly `expected`.
fn assert_decisions_refused(path: &Path, expected: LedgerFinding) {
    let refused = open(path).items(None).unwrap_err();
    assert!(
        matches!(refused, StoreError::UnverifiedEntry { ref finding } if **finding == expected),
        "{refused:?}"
    );
}

fn revoke(key: &str) -> EventDraft {
    EventDraft::new(EventKind::KeyRevoked, T0).fields(EventFields {
        public_key: Some(key.to_owned()),
        ..EventFields::default()
    })
}

#[test]
fn deleted_history_link_leaves_the_item_history_whole() {
    let mut f = populated(1);
    let (alice, log) = (investigator(), log_key());
    let mut failed = on_item(EventKind::HashVerified, "C-1", "E1", T0);
    failed.fields.notes = Some("digest mismatch".into());
    let failed_seq = f.ledger.append(failed, &alice, &log).unwrap().seq;
    let before: Vec<u64> = f
        .ledger
        .item_history("E1")
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    RawDb::open(&f.path).execute("DELETE FROM item_events WHERE seq = ?1", &[v(failed_seq)]);
    RawDb::open(&f.path).execute("DELETE FROM case_events WHERE seq = ?1", &[v(failed_seq)]);
    let reopened = open(&f.path);
    let after: Vec<u64> = reopened
        .item_history("E1")
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(after, before);
    assert!(after.contains(&failed_seq));
    assert!(reopened
        .case_history("C-1")
        .unwrap()
        .iter()
        .any(|e| e.seq == failed_seq));
}

#[test]
fn fail_reactivated_revoked_actor_cannot_append() {
    let mut f = populated(1);
    let (alice, log, bob) = (investigator(), log_key(), officer());
    f.ledger
        .append(revoke(&key_hex(&bob)), &alice, &log)
        .unwrap();
    RawDb::open(&f.path).execute(
        "UPDATE actors SET status = 'active', status_seq = NULL WHERE key = ?1",
        &[v(key_hex(&bob))],
    );
    let mut reopened = open(&f.path);
    let refused = reopened
        .append(on_item(EventKind::Examined, "C-1", "E1", T0), &bob, &log)
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::RevokedActor { ref key, .. } if *key == key_hex(&bob)),
        "{refused:?}"
    );
    let listed = reopened.actors().unwrap();
    let bob_row = listed.iter().find(|a| a.key == key_hex(&bob)).unwrap();
    assert!(matches!(bob_row.status, ActorStatus::Revoked { .. }));
}

#[test]
fn fail_deleted_actor_row_does_not_unenrol_or_enrol() {
    let f = populated(1);
    let (log, bob) = (log_key(), officer());
    RawDb::open(&f.path).execute("DELETE FROM actors WHERE key = ?1", &[v(key_hex(&bob))]);
    // Bob is still enrolled according to the entries.
    let mut reopened = open(&f.path);
    reopened
        .append(on_item(EventKind::Examined, "C-1", "E1", T0), &bob, &log)
        .unwrap();
    // A row inserted for an unknown key enrols nobody.
    let mallory = identity("mallory", 7);
    RawDb::open(&f.path).execute(
        "INSERT INTO actors (key, name, enrolled_seq, status) VALUES (?1, 'm', 1, 'active')",
        &[v(key_hex(&mallory))],
    );
    let refused = open(&f.path)
        .append(
            on_item(EventKind::Examined, "C-1", "E1", T0),
            &mallory,
            &log,
        )
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::UnknownActor { .. }),
        "{refused:?}"
    );
    drop(f.ledger);
}

#[test]
fn fail_edited_item_state_does_not_change_decisions() {
    let mut f = populated(2);
    let (alice, log) = (investigator(), log_key());
    f.ledger
        .append(
            on_item(EventKind::CheckedOut, "C-1", "E1", T0),
            &alice,
            &log,
        )
        .unwrap();
    let conn = RawDb::open(&f.path);
    conn.execute(
        "UPDATE items SET state = 'in-custody', holder = NULL WHERE item = 'E1'",
        &[],
    );
    conn.execute("DELETE FROM items WHERE item = 'E2'", &[]);
    conn.execute(
        "UPDATE cases SET title = 'forged' WHERE case_ref = 'C-1'",
        &[],
    );
    let mut reopened = open(&f.path);
    let refused = reopened
        .append(
            on_item(EventKind::CheckedOut, "C-1", "E1", T0),
            &alice,
            &log,
        )
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::AlreadyCheckedOut { .. }),
        "{refused:?}"
    );
    let refused = reopened
        .append(acquire("C-1", "E2", T0), &alice, &log)
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::DuplicateItem { .. }),
        "{refused:?}"
    );
    let items = reopened.items(Some("C-1")).unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].condition, ItemCondition::CheckedOut);
    assert_eq!(
        reopened.cases().unwrap()[0].title.as_deref(),
        Some("Fraude")
    );
}

#[test]
fn fail_edited_entry_stops_every_decision() {
    let f = populated(3);
    let (alice, log) = (investigator(), log_key());
    let conn = RawDb::open(&f.path);
    let mut bytes = conn
        .one("SELECT entry FROM entries WHERE seq = 4", &[])
        .bytes();
    let at = bytes.windows(4).position(|w| w == b"Lyon").unwrap();
    bytes[at] = b'N';
    conn.execute(
        "UPDATE entries SET entry = ?1, leaf_hash = ?2 WHERE seq = 4",
        &[v(&bytes), v(&merkle::leaf_hash(&bytes)[..])],
    );
    let mut reopened = open(&f.path);
    let size = reopened.size().unwrap();
    let refused = reopened
        .append(on_item(EventKind::Examined, "C-1", "E1", T0), &alice, &log)
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::SignedCheckpointMismatch { size: s } if s == size),
        "{refused:?}"
    );
    assert!(matches!(
        reopened.item_history("E2").unwrap_err(),
        StoreError::SignedCheckpointMismatch { .. }
    ));
}

#[test]
fn fail_edited_entry_read_by_an_open_ledger_is_refused() {
    let f = populated(3);
    // The ledger verified its entries when first read; an entry edited afterwards is not
    // returned as if it were the verified one.
    let before = f.ledger.entry(4).unwrap();
    let conn = RawDb::open(&f.path);
    let mut bytes = before.bytes.clone();
    let at = bytes.windows(4).position(|w| w == b"Lyon").unwrap();
    bytes[at] = b'N';
    conn.execute("UPDATE entries SET entry = ?1 WHERE seq = 4", &[v(&bytes)]);
    let refused = f.ledger.entry(4).unwrap_err();
    assert!(
        matches!(
            refused,
            StoreError::UnverifiedEntry { ref finding } if **finding == LedgerFinding::LeafHashMismatch { seq: 4 }
        ),
        "{refused:?}"
    );
}

#[test]
fn fail_edited_tree_node_is_refused_not_used() {
    let f = populated(4);
    RawDb::open(&f.path).execute(
        "UPDATE nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 0",
        &[],
    );
    let reopened = open(&f.path);
    assert!(matches!(
        reopened.entry(2).unwrap_err(),
        StoreError::UnverifiedEntry { .. }
    ));
    assert!(reopened.root_at(2).is_err());
    let size = reopened.size().unwrap();
    assert!(matches!(
        reopened.inclusion_proof(3, size).unwrap_err(),
        StoreError::UnverifiedEntry { .. }
    ));
    assert!(reopened.consistency_proof(2, size).is_err());
}

/// Deletes every checkpoint above `keep` entries, so that later entries are covered by none.
fn drop_checkpoints_above(path: &Path, keep: u64) {
    RawDb::open(path).execute("DELETE FROM checkpoints WHERE size > ?1", &[v(keep)]);
}

#[test]
fn entries_after_the_newest_checkpoint_are_checked_one_by_one() {
    let f = populated(3);
    let size = f.ledger.size().unwrap();
    drop_checkpoints_above(&f.path, 2);
    // Genuine entries past the checkpoint are still accepted (each signature checked).
    let mut reopened = open(&f.path);
    assert_eq!(reopened.items(None).unwrap().len(), 3);
    reopened
        .append(
            on_item(EventKind::Examined, "C-1", "E1", T0),
            &investigator(),
            &log_key(),
        )
        .unwrap();
    assert_eq!(reopened.size().unwrap(), size + 1);
}

#[test]
fn fail_forged_entry_after_the_newest_checkpoint_is_refused() {
    let f = populated(2);
    let size = f.ledger.size().unwrap();
    let mallory = identity("mallory", 7);
    insert_forged_entry(&f, size, &mallory);
    let refused = open(&f.path).items(None).unwrap_err();
    assert!(
        matches!(
            refused,
            StoreError::UnverifiedEntry { ref finding }
                if matches!(**finding, LedgerFinding::UnknownSigner { seq, .. } if seq == size)
        ),
        "{refused:?}"
    );
}

#[test]
fn fail_checkpoints_deleted_and_an_entry_edited_is_refused() {
    let f = populated(3);
    drop_checkpoints_above(&f.path, 2);
    let conn = RawDb::open(&f.path);
    let mut bytes = conn
        .one("SELECT entry FROM entries WHERE seq = 4", &[])
        .bytes();
    let at = bytes.windows(4).position(|w| w == b"Lyon").unwrap();
    bytes[at] = b'N';
    conn.execute(
        "UPDATE entries SET entry = ?1, leaf_hash = ?2 WHERE seq = 4",
        &[v(&bytes), v(&merkle::leaf_hash(&bytes)[..])],
    );
    assert_decisions_refused(&f.path, LedgerFinding::BadSignature { seq: 4 });
}

#[test]
fn appends_of_other_processes_are_verified_before_use() {
    let mut f = populated(1);
    let (alice, log) = (investigator(), log_key());
    // Another handle (another process) appends; this one catches up and sees it.
    let mut other = open(&f.path);
    other
        .append(acquire("C-1", "E9", T0), &alice, &log)
        .unwrap();
    assert!(f.ledger.items(None).unwrap().iter().any(|i| i.item == "E9"));
    let refused = f
        .ledger
        .append(acquire("C-1", "E9", T0), &alice, &log)
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::DuplicateItem { .. }),
        "{refused:?}"
    );
}

#[test]
fn fail_replaced_log_key_in_meta_is_refused() {
    let f = populated(2);
    let size = f.ledger.size().unwrap();
    // Someone with SQL alone replaces the log verifier key in `meta` with one of their own
    // and re-signs every stored checkpoint with it, leaving the entries as they are.
    let forged_log = identity("mallory-log", 8);
    let conn = RawDb::open(&f.path);
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'log_key'",
        &[v(forged_log.verifier_key().to_string())],
    );
    for n in 1..=size {
        let note = conn
            .one("SELECT note FROM checkpoints WHERE size = ?1", &[v(n)])
            .text();
        let body = note.split("\n\n").next().unwrap().to_owned() + "\n";
        let checkpoint = custody_core::checkpoint::Checkpoint::parse_body(&body).unwrap();
        let resigned = checkpoint.sign(&[&forged_log]).unwrap().to_bytes();
        conn.execute(
            "UPDATE checkpoints SET note = ?1 WHERE size = ?2",
            &[v(String::from_utf8(resigned).unwrap()), v(n)],
        );
    }
    assert_decisions_refused(&f.path, LedgerFinding::LogKeyMismatch { seq: 0 });
    // Appending with the real log key is refused too.
    let refused = open(&f.path)
        .append(
            on_item(EventKind::Examined, "C-1", "E1", T0),
            &investigator(),
            &log_key(),
        )
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::WrongLogKey { .. }),
        "{refused:?}"
    );
}

#[test]
fn fail_deleted_entry_stops_every_decision() {
    let f = populated(3);
    RawDb::open(&f.path).execute("DELETE FROM entries WHERE seq = 3", &[]);
    assert_decisions_refused(&f.path, LedgerFinding::MissingEntries { from: 3, to: 4 });
}

#[test]
fn fail_reordered_entries_stop_every_decision() {
    let f = populated(3);
    let size = f.ledger.size().unwrap();
    let conn = RawDb::open(&f.path);
    let read = |seq: u64| -> Vec<u8> {
        conn.one("SELECT entry FROM entries WHERE seq = ?1", &[v(seq)])
            .bytes()
    };
    let (a, b) = (read(3), read(4));
    let swap = "UPDATE entries SET entry = ?1, leaf_hash = ?2 WHERE seq = ?3";
    conn.execute(swap, &[v(&b), v(&merkle::leaf_hash(&b)[..]), v(3)]);
    conn.execute(swap, &[v(&a), v(&merkle::leaf_hash(&a)[..]), v(4)]);
    let refused = open(&f.path).items(None).unwrap_err();
    assert!(
        matches!(refused, StoreError::SignedCheckpointMismatch { size: s } if s == size),
        "{refused:?}"
    );
}
