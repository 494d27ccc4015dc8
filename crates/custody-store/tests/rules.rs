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
    let mut transfer = on_item(EventKind::Transferred, "C-1", "E1", T0);
    transfer.fields.to = Some("Bundeskriminalamt".into());
    append(&mut f.ledger, transfer, &alice);
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

fn revoke(key: &Identity) -> EventDraft {
    EventDraft::new(EventKind::KeyRevoked, T0).fields(EventFields {
        public_key: Some(key_hex(key)),
        ..EventFields::default()
    })
}

#[test]
fn fail_acquire_into_a_case_never_opened() {
    let mut f = populated(0);
    let err = refused(&mut f.ledger, acquire("C-9", "X1", T0), &investigator());
    assert!(matches!(&err, StoreError::CaseNotOpened { case } if case == "C-9"));
    assert_eq!(err.rule_name(), Some("case-not-opened"));
    let mut no_case = acquire("C-1", "X1", T0);
    no_case.case = None;
    let err = refused(&mut f.ledger, no_case, &investigator());
    assert!(matches!(
        err,
        StoreError::InvalidField { field: "case", .. }
    ));
    // A case named by some other event but never opened is still not open.
    let mut note = EventDraft::new(EventKind::Note, T0).case("C-8");
    note.fields.notes = Some("mentioned".into());
    append(&mut f.ledger, note, &investigator());
    let err = refused(&mut f.ledger, acquire("C-8", "X1", T0), &investigator());
    assert!(matches!(err, StoreError::CaseNotOpened { .. }));
    append(&mut f.ledger, open_case("C-8"), &investigator());
    append(&mut f.ledger, acquire("C-8", "X1", T0), &investigator());
}

#[test]
fn fail_event_filed_under_another_case_than_its_item() {
    let mut f = populated(1);
    let alice = investigator();
    append(&mut f.ledger, open_case("C-2"), &alice);
    let err = refused(
        &mut f.ledger,
        on_item(EventKind::Examined, "C-2", "E1", T0),
        &alice,
    );
    assert!(matches!(
        &err,
        StoreError::WrongCase { item, item_case, event_case }
            if item == "E1" && item_case == "C-1" && event_case == "C-2"
    ));
    // A derivation filed under another case than its parent's.
    let derive = EventDraft::new(EventKind::Derived, T0)
        .case("C-2")
        .item("E1.copy")
        .fields(EventFields {
            parent: Some("E1".into()),
            ..EventFields::default()
        });
    let err = refused(&mut f.ledger, derive, &alice);
    assert!(matches!(err, StoreError::WrongCase { item, .. } if item == "E1"));
    // Under its own case, or with no case at all, the same event is recorded.
    append(
        &mut f.ledger,
        on_item(EventKind::Examined, "C-1", "E1", T0),
        &alice,
    );
    append(
        &mut f.ledger,
        EventDraft::new(EventKind::Examined, T0).item("E1"),
        &alice,
    );
}

#[test]
fn fail_hand_over_without_recipient() {
    let mut f = populated(1);
    let alice = investigator();
    for kind in [EventKind::Transferred, EventKind::Returned] {
        let err = refused(&mut f.ledger, on_item(kind, "C-1", "E1", T0), &alice);
        assert!(matches!(err, StoreError::MissingRecipient { kind: k } if k == kind));
        let mut blank = on_item(kind, "C-1", "E1", T0);
        blank.fields.to = Some(" \t".into());
        let err = refused(&mut f.ledger, blank, &alice);
        assert_eq!(err.rule_name(), Some("missing-recipient"));
    }
    let mut given = on_item(EventKind::Transferred, "C-1", "E1", T0);
    given.fields.to = Some("Bundeskriminalamt".into());
    append(&mut f.ledger, given, &alice);
    let mut back = on_item(EventKind::Returned, "C-1", "E1", T0);
    back.fields.to = Some("Police judiciaire, Lyon".into());
    append(&mut f.ledger, back, &alice);
}

#[test]
fn fail_legal_step_without_authority() {
    let mut f = populated(1);
    let alice = investigator();
    let legal = [
        EventKind::PreservationRequested,
        EventKind::PreservationExtended,
        EventKind::ProductionOrder,
        EventKind::MlaRequestSent,
        EventKind::MlaRequestReceived,
        EventKind::MlaExecuted,
    ];
    for kind in EventKind::ALL {
        assert_eq!(
            custody_store::rules::is_legal_step(kind),
            legal.contains(&kind),
            "{kind}"
        );
    }
    for kind in legal {
        let err = refused(&mut f.ledger, on_item(kind, "C-1", "E1", T0), &alice);
        assert!(matches!(err, StoreError::MissingAuthority { kind: k } if k == kind));
        let mut given = on_item(kind, "C-1", "E1", T0);
        given.fields.legal_authority = Some("Staatsanwaltschaft Frankfurt am Main".into());
        append(&mut f.ledger, given, &alice);
    }
}

#[test]
fn fail_revoking_the_last_active_actor() {
    let mut f = populated(1);
    let (alice, bob) = (investigator(), officer());
    // Two active actors: one may go.
    append(&mut f.ledger, revoke(&bob), &alice);
    // Alice is now the only one: neither she nor anyone may revoke her.
    let err = refused(&mut f.ledger, revoke(&alice), &alice);
    assert!(matches!(&err, StoreError::LastActiveActor { key } if *key == key_hex(&alice)));
    assert_eq!(err.rule_name(), Some("last-active-actor"));
    // Rotating the last actor's key leaves its new key active, so it is allowed; the new key
    // is then the last active one.
    let alice2 = identity("alice", 4);
    let rotate = EventDraft::new(EventKind::KeyRotated, T0).fields(EventFields {
        public_key: Some(key_hex(&alice2)),
        ..EventFields::default()
    });
    append(&mut f.ledger, rotate, &alice);
    let err = refused(&mut f.ledger, revoke(&alice2), &alice2);
    assert!(matches!(err, StoreError::LastActiveActor { .. }));
    // Reopening the ledger replays the count from the entries.
    let mut reopened = open(&f.path);
    let err = refused(&mut reopened, revoke(&alice2), &alice2);
    assert!(matches!(err, StoreError::LastActiveActor { .. }));
}

#[test]
fn fail_revoking_every_actor_in_one_batch() {
    let mut f = populated(1);
    let (alice, bob) = (investigator(), officer());
    let size = f.ledger.size().unwrap();
    let err = f
        .ledger
        .append_batch(vec![revoke(&bob), revoke(&alice)], &alice, &log_key())
        .expect_err("the second revocation leaves no active actor");
    assert!(matches!(err, StoreError::LastActiveActor { .. }));
    assert_eq!(f.ledger.size().unwrap(), size);
}

#[test]
fn same_evidence_twice_is_found_in_the_ledger_and_in_the_batch() {
    use custody_store::rules::already_acquired;
    let mut f = populated(1);
    let (alice, log) = (investigator(), log_key());
    let again = acquire("C-1", "E2", T0);
    let found = f
        .ledger
        .append_batch_if(vec![], &alice, &log, |view| {
            Err::<(), _>(already_acquired(view, std::slice::from_ref(&again)))
        })
        .unwrap()
        .unwrap_err();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].item, "E2");
    assert_eq!(found[0].earlier, "E1");
    assert_eq!(found[0].earlier_seq, Some(3));
    let message = found[0].to_string();
    assert!(
        message.contains("item E1") && message.contains("seq 3"),
        "{message}"
    );
    // Different bytes are new; the same new bytes twice in one batch name the first.
    let mut other = acquire("C-1", "E3", T0);
    other.fields.evidence.as_mut().unwrap().sha256 = [0x33; 32];
    let mut other_again = other.clone();
    other_again.items = vec!["E4".into()];
    let drafts = vec![other, other_again];
    let found = f
        .ledger
        .append_batch_if(vec![], &alice, &log, |view| {
            Err::<(), _>(already_acquired(view, &drafts))
        })
        .unwrap()
        .unwrap_err();
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].item.as_str(), found[0].earlier.as_str()),
        ("E4", "E3")
    );
    assert_eq!(found[0].earlier_seq, None);
}

#[test]
fn fail_rule_breaking_entry_written_past_append_is_a_finding() {
    // Someone holding an actor key writes an entry the rules refuse (a transfer to nobody)
    // straight into the file: `verify` replays the same rules and reports it.
    let f = populated(1);
    let size = f.ledger.size().unwrap();
    let mut event = f.ledger.entry(size - 1).unwrap().signed.event;
    event.seq = size;
    event.kind = EventKind::Transferred;
    event.fields = EventFields::default();
    insert_signed_entry(&f.path, event, &investigator());
    let report = open(&f.path).verify(&[]).unwrap();
    assert!(
        report.findings.iter().any(|finding| matches!(
            finding,
            custody_store::LedgerFinding::RuleBroken { seq, rule: "missing-recipient", .. }
                if *seq == size
        )),
        "{:?}",
        report.findings
    );
}
