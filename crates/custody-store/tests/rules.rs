//! Each append rule: the refused event returns its typed error and leaves the ledger as it was.

mod common;

use common::*;
use custody_core::keys::Identity;
use custody_store::{EventDraft, EventFields, EventKind, ItemCondition, Ledger, StoreError};

/// Appends `draft`, expects a refusal, and checks nothing at all was written.
fn refused(ledger: &mut Ledger, draft: EventDraft, signer: &Identity) -> StoreError {
    let size = ledger.size().unwrap();
    let checkpoint = latest_note(ledger);
    let items = ledger.items(None).unwrap();
    let actors = ledger.actors().unwrap();
    let err = ledger
        .append(draft, signer, &log_key())
        .expect_err("the append must be refused");
    assert!(err.rule_name().is_some(), "not a rule refusal: {err:?}");
    assert_eq!(ledger.size().unwrap(), size);
    assert_eq!(latest_note(ledger), checkpoint);
    assert_eq!(ledger.items(None).unwrap(), items);
    assert_eq!(ledger.actors().unwrap(), actors);
    assert!(ledger.verify(&[]).unwrap().is_clean());
    err
}

fn append(ledger: &mut Ledger, draft: EventDraft, signer: &Identity) -> u64 {
    ledger
        .append(draft, signer, &log_key())
        .expect("append")
        .seq
}

#[test]
fn happy_path_records_state_and_verifies() {
    let mut f = populated(1);
    let (alice, bob) = (investigator(), officer());
    append(
        &mut f.ledger,
        on_item(EventKind::Stored, "C-1", "E1", T0),
        &alice,
    );
    let out = append(
        &mut f.ledger,
        on_item(EventKind::CheckedOut, "C-1", "E1", T0),
        &bob,
    );
    let item = &f.ledger.items(Some("C-1")).unwrap()[0];
    assert_eq!(item.condition, ItemCondition::CheckedOut);
    assert_eq!(item.holder.as_deref(), Some(key_hex(&bob).as_str()));
    append(
        &mut f.ledger,
        on_item(EventKind::CheckedIn, "C-1", "E1", T0),
        &bob,
    );
    let history = f.ledger.item_history("E1").unwrap();
    assert_eq!(
        history.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![3, 4, out, out + 1]
    );
    assert_eq!(f.ledger.case_history("C-1").unwrap().len(), 5);
    let report = f.ledger.verify(&[]).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.size, 7);
}

#[test]
fn fail_unknown_signer() {
    let mut f = populated(1);
    let stranger = identity("mallory", 7);
    let err = refused(
        &mut f.ledger,
        on_item(EventKind::Examined, "C-1", "E1", T0),
        &stranger,
    );
    assert!(matches!(err, StoreError::UnknownActor { key } if key == key_hex(&stranger)));
}

#[test]
fn fail_enrolment_by_unknown_signer() {
    let mut f = new_ledger();
    let stranger = identity("mallory", 7);
    let err = refused(&mut f.ledger, enrol(&stranger), &stranger);
    assert!(matches!(err, StoreError::UnknownActor { .. }));
}

#[test]
fn fail_revoked_signer() {
    let mut f = populated(1);
    let (alice, bob) = (investigator(), officer());
    let revoke = EventDraft::new(EventKind::KeyRevoked, T0).fields(EventFields {
        public_key: Some(key_hex(&bob)),
        ..EventFields::default()
    });
    let seq = append(&mut f.ledger, revoke, &alice);
    let err = refused(
        &mut f.ledger,
        on_item(EventKind::Examined, "C-1", "E1", T0),
        &bob,
    );
    assert!(matches!(err, StoreError::RevokedActor { revoked_seq, .. } if revoked_seq == seq));
}

#[test]
fn fail_rotated_out_key() {
    let mut f = populated(1);
    let (bob, bob2) = (officer(), identity("bob", 3));
    let rotate = EventDraft::new(EventKind::KeyRotated, T0).fields(EventFields {
        public_key: Some(key_hex(&bob2)),
        ..EventFields::default()
    });
    let seq = append(&mut f.ledger, rotate, &bob);
    let err = refused(
        &mut f.ledger,
        on_item(EventKind::Examined, "C-1", "E1", T0),
        &bob,
    );
    assert!(matches!(err, StoreError::RotatedActor { rotated_seq, .. } if rotated_seq == seq));
    append(
        &mut f.ledger,
        on_item(EventKind::Examined, "C-1", "E1", T0),
        &bob2,
    );
}

#[test]
fn fail_duplicate_enrolment() {
    let mut f = populated(0);
    let err = refused(&mut f.ledger, enrol(&officer()), &investigator());
    assert!(matches!(err, StoreError::DuplicateActor { .. }));
}

#[test]
fn fail_event_on_item_never_acquired() {
    let mut f = populated(1);
    let err = refused(
        &mut f.ledger,
        on_item(EventKind::Stored, "C-1", "E9", T0),
        &investigator(),
    );
    assert!(matches!(err, StoreError::ItemNotAcquired { item } if item == "E9"));
}

#[test]
fn fail_duplicate_item_id() {
    let mut f = populated(1);
    let err = refused(&mut f.ledger, acquire("C-1", "E1", T0), &investigator());
    assert!(matches!(err, StoreError::DuplicateItem { item, created_seq: 3 } if item == "E1"));
}

#[test]
fn fail_derived_from_unknown_parent() {
    let mut f = populated(1);
    let draft = EventDraft::new(EventKind::Derived, T0)
        .case("C-1")
        .item("E1.1")
        .fields(EventFields {
            parent: Some("E7".into()),
            ..EventFields::default()
        });
    let err = refused(&mut f.ledger, draft, &investigator());
    assert!(matches!(err, StoreError::ItemNotAcquired { item } if item == "E7"));
}

#[test]
fn derived_item_appears_in_parent_history() {
    let mut f = populated(1);
    let draft = EventDraft::new(EventKind::Derived, T0)
        .case("C-1")
        .item("E1.1")
        .fields(EventFields {
            parent: Some("E1".into()),
            ..EventFields::default()
        });
    let seq = append(&mut f.ledger, draft, &investigator());
    assert_eq!(
        f.ledger.item_history("E1").unwrap().last().unwrap().seq,
        seq
    );
    assert_eq!(f.ledger.item_history("E1.1").unwrap()[0].seq, seq);
}

#[test]
fn fail_second_check_out() {
    let mut f = populated(1);
    let (alice, bob) = (investigator(), officer());
    append(
        &mut f.ledger,
        on_item(EventKind::CheckedOut, "C-1", "E1", T0),
        &bob,
    );
    let err = refused(
        &mut f.ledger,
        on_item(EventKind::CheckedOut, "C-1", "E1", T0),
        &alice,
    );
    assert!(
        matches!(err, StoreError::AlreadyCheckedOut { item, holder } if item == "E1" && holder == key_hex(&bob))
    );
}

#[test]
fn fail_check_in_of_item_not_out() {
    let mut f = populated(1);
    let err = refused(
        &mut f.ledger,
        on_item(EventKind::CheckedIn, "C-1", "E1", T0),
        &investigator(),
    );
    assert!(matches!(
        err,
        StoreError::WrongItemState {
            kind: EventKind::CheckedIn,
            ..
        }
    ));
}

#[test]
fn fail_check_out_of_transferred_item() {
    let mut f = populated(1);
    let alice = investigator();
    append(
        &mut f.ledger,
        on_item(EventKind::Transferred, "C-1", "E1", T0),
        &alice,
    );
    let err = refused(
        &mut f.ledger,
        on_item(EventKind::CheckedOut, "C-1", "E1", T0),
        &alice,
    );
    assert!(matches!(
        err,
        StoreError::WrongItemState {
            state: "transferred",
            ..
        }
    ));
}

#[test]
fn fail_anything_but_a_note_after_destruction() {
    let mut f = populated(1);
    let alice = investigator();
    let seq = append(&mut f.ledger, destroy("C-1", "E1", T0), &alice);
    for kind in [
        EventKind::Examined,
        EventKind::CheckedOut,
        EventKind::Stored,
        EventKind::Sealed,
    ] {
        let err = refused(&mut f.ledger, on_item(kind, "C-1", "E1", T0), &alice);
        assert!(
            matches!(err, StoreError::ItemDestroyed { destroyed_seq, .. } if destroyed_seq == seq),
            "{kind}"
        );
    }
    append(
        &mut f.ledger,
        on_item(EventKind::Note, "C-1", "E1", T0),
        &alice,
    );
}

#[test]
fn fail_back_dated_event() {
    let mut f = populated(0);
    let alice = investigator();
    append(
        &mut f.ledger,
        acquire("C-1", "E1", "2026-03-01T10:00:00+02:00"),
        &alice,
    );
    // 07:59 UTC is before the acquisition at 08:00 UTC, whatever the offsets say.
    let err = refused(
        &mut f.ledger,
        on_item(
            EventKind::Examined,
            "C-1",
            "E1",
            "2026-03-01T08:59:00+01:00",
        ),
        &alice,
    );
    assert!(matches!(err, StoreError::BackDated { item, .. } if item == "E1"));
    append(
        &mut f.ledger,
        on_item(EventKind::Examined, "C-1", "E1", "2026-03-01T08:00:00Z"),
        &alice,
    );
}

#[test]
fn fail_claimed_time_in_the_future() {
    let mut f = populated(1);
    let err = refused(
        &mut f.ledger,
        on_item(EventKind::Examined, "C-1", "E1", "2999-01-01T00:00:00Z"),
        &investigator(),
    );
    assert!(matches!(err, StoreError::ClaimedInFuture { .. }));
}

#[test]
fn fail_claimed_time_not_rfc3339() {
    let mut f = populated(1);
    let err = refused(
        &mut f.ledger,
        on_item(EventKind::Examined, "C-1", "E1", "yesterday"),
        &investigator(),
    );
    assert!(matches!(
        err,
        StoreError::InvalidTime {
            field: "claimed_time",
            ..
        }
    ));
}

fn early_clock() -> time::OffsetDateTime {
    time::macros::datetime!(2026-03-01 12:00 UTC)
}

#[test]
fn fail_clock_went_backwards() {
    let mut f = populated(1);
    f.ledger.set_clock(early_clock);
    let err = refused(
        &mut f.ledger,
        on_item(EventKind::Examined, "C-1", "E1", T0),
        &investigator(),
    );
    assert!(matches!(err, StoreError::ClockWentBackwards { .. }));
}

#[test]
fn fail_second_ledger_initialised() {
    let mut f = populated(0);
    let alice = investigator();
    let draft = EventDraft::new(EventKind::LedgerInitialised, T0).fields(EventFields {
        public_key: Some(key_hex(&alice)),
        actor_info: Some(alice.info().clone()),
        ..EventFields::default()
    });
    let err = refused(&mut f.ledger, draft, &alice);
    assert!(matches!(
        err,
        StoreError::OutOfPlace {
            kind: EventKind::LedgerInitialised,
            ..
        }
    ));
}

#[test]
fn fail_case_opened_twice() {
    let mut f = populated(0);
    let err = refused(&mut f.ledger, open_case("C-1"), &investigator());
    assert!(matches!(err, StoreError::DuplicateCase { case } if case == "C-1"));
}

#[test]
fn fail_batch_is_all_or_nothing() {
    let mut f = populated(1);
    let size = f.ledger.size().unwrap();
    let drafts = vec![
        on_item(EventKind::Examined, "C-1", "E1", T0),
        on_item(EventKind::Stored, "C-1", "E404", T0),
    ];
    let err = f
        .ledger
        .append_batch(drafts, &investigator(), &log_key())
        .unwrap_err();
    assert!(matches!(err, StoreError::ItemNotAcquired { .. }));
    assert_eq!(f.ledger.size().unwrap(), size);
}

#[test]
fn fail_wrong_log_key() {
    let mut f = populated(1);
    let err = f
        .ledger
        .append(
            on_item(EventKind::Examined, "C-1", "E1", T0),
            &investigator(),
            &officer(),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::WrongLogKey { .. }));
}

#[test]
fn reopened_ledger_keeps_rules_and_origin() {
    let f = populated(1);
    let path = f.path.clone();
    drop(f.ledger);
    let mut ledger = open(&path);
    assert_eq!(ledger.origin(), ORIGIN);
    assert_eq!(ledger.log_verifier_key(), &log_key().verifier_key());
    let err = ledger
        .append(acquire("C-1", "E1", T0), &investigator(), &log_key())
        .unwrap_err();
    assert!(matches!(err, StoreError::DuplicateItem { .. }));
}
