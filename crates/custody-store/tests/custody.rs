//! The custody state model: state, holder, place, hash checks and holder timeline of each
//! item, from the verified entries only.

mod common;

use common::*;
use custody_core::hash::Digests;
use custody_store::{
    CheckResult, CustodyState, EventDraft, EventFields, EventKind, ItemCustody, Ledger,
};

const T1: &str = "2026-03-01T10:00:00+01:00";
const T2: &str = "2026-03-01T11:30:00+01:00";
const T3: &str = "2026-03-02T08:00:00Z";

fn append(ledger: &mut Ledger, draft: EventDraft, signer: &custody_core::keys::Identity) -> u64 {
    ledger
        .append(draft, signer, &log_key())
        .expect("append")
        .seq
}

fn with(kind: EventKind, item: &str, claimed: &str, fields: EventFields) -> EventDraft {
    on_item(kind, "C-1", item, claimed).fields(fields)
}

fn custody(ledger: &Ledger, item: &str) -> ItemCustody {
    ledger.item_custody(item).unwrap().expect("item exists")
}

#[test]
fn acquired_item_is_held_by_its_acquirer_where_it_was_acquired() {
    let f = populated(1);
    let c = custody(&f.ledger, "E1");
    assert_eq!(c.state, CustodyState::Acquired);
    assert_eq!(c.case.as_deref(), Some("C-1"));
    assert_eq!(c.created_kind, EventKind::Acquired);
    let holder = c.holder.as_ref().unwrap();
    assert_eq!(
        holder.key.as_deref(),
        Some(key_hex(&investigator()).as_str())
    );
    assert_eq!(holder.name, "alice");
    assert_eq!(holder.organisation.as_deref(), Some("Police judiciaire"));
    assert_eq!(holder.jurisdiction.as_deref(), Some("FR"));
    assert_eq!(c.place.as_deref(), Some("Lyon"));
    assert_eq!(c.size, Some(3));
    assert_eq!(c.sha256.as_deref(), Some("11".repeat(32).as_str()));
    assert_eq!(c.blake3.as_deref(), Some("22".repeat(32).as_str()));
    assert_eq!(c.timeline.len(), 1);
    assert_eq!(c.timeline[0].from_seq, c.created_seq);
    assert_eq!(c.timeline[0].from_time, T0);
    assert_eq!(c.timeline[0].until_seq, None);
    assert_eq!(c.last_hash_check, None);
    assert_eq!(c.received, None);
    assert_eq!(f.ledger.item_custody("E9").unwrap(), None);
}

#[test]
fn holder_timeline_follows_storage_check_out_and_check_in() {
    let mut f = populated(1);
    let (alice, bob) = (investigator(), officer());
    let stored = append(
        &mut f.ledger,
        with(
            EventKind::Stored,
            "E1",
            T1,
            EventFields {
                place: Some("Scellés, salle 2".into()),
                ..EventFields::default()
            },
        ),
        &alice,
    );
    let c = custody(&f.ledger, "E1");
    assert_eq!(c.state, CustodyState::InStorage);
    assert_eq!(c.place.as_deref(), Some("Scellés, salle 2"));
    // Same holder before and after: one period, not two.
    assert_eq!(c.timeline.len(), 1);
    let out = append(
        &mut f.ledger,
        with(
            EventKind::CheckedOut,
            "E1",
            T2,
            EventFields {
                to: Some(key_hex(&bob)),
                ..EventFields::default()
            },
        ),
        &alice,
    );
    let c = custody(&f.ledger, "E1");
    assert_eq!(c.state, CustodyState::CheckedOut);
    assert_eq!(c.holder.as_ref().unwrap().name, "bob");
    assert_eq!(c.timeline.len(), 2);
    assert_eq!(c.timeline[0].until_seq, Some(out));
    assert_eq!(c.timeline[0].until_time.as_deref(), Some(T2));
    assert_eq!(c.timeline[1].from_seq, out);
    assert_eq!(c.timeline[1].holder.name, "bob");
    let back = append(
        &mut f.ledger,
        on_item(EventKind::CheckedIn, "C-1", "E1", T3),
        &alice,
    );
    let c = custody(&f.ledger, "E1");
    assert_eq!(c.state, CustodyState::InStorage);
    assert_eq!(c.holder.as_ref().unwrap().name, "alice");
    assert_eq!(c.last_seq, back);
    let spans: Vec<_> = c
        .timeline
        .iter()
        .map(|p| (p.holder.name.as_str(), p.from_seq, p.until_seq))
        .collect();
    assert_eq!(
        spans,
        vec![
            ("alice", c.created_seq, Some(out)),
            ("bob", out, Some(back)),
            ("alice", back, None)
        ]
    );
    assert!(stored > c.created_seq);
}

#[test]
fn transfer_to_another_authority_then_destruction_ends_the_timeline() {
    let mut f = populated(1);
    let alice = investigator();
    append(
        &mut f.ledger,
        on_item(EventKind::Sealed, "C-1", "E1", T1),
        &alice,
    );
    let c = custody(&f.ledger, "E1");
    assert_eq!(c.state, CustodyState::Sealed);
    assert_eq!(c.holder.as_ref().unwrap().name, "alice");
    let sent = append(
        &mut f.ledger,
        with(
            EventKind::Transferred,
            "E1",
            T2,
            EventFields {
                to: Some("Staatsanwaltschaft Köln".into()),
                ..EventFields::default()
            },
        ),
        &alice,
    );
    let c = custody(&f.ledger, "E1");
    assert_eq!(c.state, CustodyState::Transferred);
    let holder = c.holder.as_ref().unwrap();
    assert_eq!(holder.key, None);
    assert_eq!(holder.name, "Staatsanwaltschaft Köln");
    let back = append(
        &mut f.ledger,
        with(
            EventKind::Returned,
            "E1",
            T3,
            EventFields {
                to: Some("Parquet de Paris".into()),
                ..EventFields::default()
            },
        ),
        &alice,
    );
    assert_eq!(custody(&f.ledger, "E1").state, CustodyState::Returned);
    let gone = append(&mut f.ledger, destroy("C-1", "E1", T3), &alice);
    append(
        &mut f.ledger,
        on_item(EventKind::Note, "C-1", "E1", T3),
        &alice,
    );
    let c = custody(&f.ledger, "E1");
    assert_eq!(c.state, CustodyState::Destroyed);
    assert_eq!(c.holder, None);
    assert_eq!(c.timeline.len(), 3);
    assert_eq!(c.timeline[1].from_seq, sent);
    assert_eq!(c.timeline[1].until_seq, Some(back));
    assert_eq!(c.timeline[2].until_seq, Some(gone));
    assert!(c.timeline.iter().all(|p| p.until_seq.is_some()));
    assert_eq!(c.last_seq, gone + 1);
}

fn digests(fill: u8) -> Digests {
    Digests {
        size: 3,
        sha256: [fill; 32],
        blake3: [0x22; 32],
    }
}

#[test]
fn last_hash_verification_and_its_result() {
    let mut f = populated(1);
    let alice = investigator();
    let verify = |result, found| EventFields {
        expected: Some(digests(0x11)),
        found: Some(found),
        result,
        ..EventFields::default()
    };
    let pass = append(
        &mut f.ledger,
        with(
            EventKind::HashVerified,
            "E1",
            T1,
            verify(None, digests(0x11)),
        ),
        &alice,
    );
    let check = custody(&f.ledger, "E1").last_hash_check.unwrap();
    assert_eq!((check.seq, check.result), (pass, Some(CheckResult::Pass)));
    assert_eq!(check.time, T1);
    let fail = append(
        &mut f.ledger,
        with(
            EventKind::HashVerified,
            "E1",
            T2,
            verify(None, digests(0x12)),
        ),
        &alice,
    );
    let check = custody(&f.ledger, "E1").last_hash_check.unwrap();
    assert_eq!((check.seq, check.result), (fail, Some(CheckResult::Fail)));
    // An explicit result is what the event says, whatever the digests.
    let said = append(
        &mut f.ledger,
        with(
            EventKind::HashVerified,
            "E1",
            T3,
            verify(Some(CheckResult::Fail), digests(0x11)),
        ),
        &alice,
    );
    let check = custody(&f.ledger, "E1").last_hash_check.unwrap();
    assert_eq!((check.seq, check.result), (said, Some(CheckResult::Fail)));
    // A hash check does not change the holder or the state.
    let c = custody(&f.ledger, "E1");
    assert_eq!(c.state, CustodyState::Acquired);
    assert_eq!(c.timeline.len(), 1);
}

#[test]
fn derived_item_has_its_own_custody_and_leaves_the_parents_alone() {
    let mut f = populated(1);
    let bob = officer();
    append(
        &mut f.ledger,
        EventDraft::new(EventKind::Derived, T1)
            .case("C-1")
            .item("E1.copy")
            .fields(EventFields {
                parent: Some("E1".into()),
                ..EventFields::default()
            }),
        &bob,
    );
    let copy = custody(&f.ledger, "E1.copy");
    assert_eq!(copy.state, CustodyState::Derived);
    assert_eq!(copy.holder.unwrap().name, "bob");
    let parent = custody(&f.ledger, "E1");
    assert_eq!(parent.state, CustodyState::Acquired);
    assert_eq!(parent.holder.unwrap().name, "alice");
    assert_eq!(parent.last_seq, parent.created_seq);
}

#[test]
fn received_item_carries_the_fields_of_its_received_event() {
    let mut f = populated(0);
    let alice = investigator();
    let fields = EventFields {
        from: Some("Parquet de Lyon".into()),
        notes: Some("use limited to case C-1".into()),
        ..EventFields::default()
    };
    let seq = append(
        &mut f.ledger,
        with(EventKind::Received, "R1", T1, fields.clone()),
        &alice,
    );
    let c = custody(&f.ledger, "R1");
    assert_eq!(c.state, CustodyState::Received);
    assert_eq!(c.created_seq, seq);
    assert_eq!(c.received, Some(fields));
}

#[test]
fn case_listing_holds_every_item_of_the_case_only() {
    let mut f = populated(2);
    let alice = investigator();
    append(&mut f.ledger, open_case("C-2"), &alice);
    append(&mut f.ledger, acquire("C-2", "F1", T0), &alice);
    let ids = |case| {
        f.ledger
            .custody(case)
            .unwrap()
            .into_iter()
            .map(|c| c.item)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(Some("C-1")), vec!["E1", "E2"]);
    assert_eq!(ids(Some("C-2")), vec!["F1"]);
    assert_eq!(ids(None), vec!["E1", "E2", "F1"]);
    assert!(ids(Some("C-9")).is_empty());
}

/// E1 checked out to "Mallory"; returns the ledger and the check-out's seq.
fn checked_out_to_mallory() -> (Fixture, u64) {
    let mut f = populated(1);
    let fields = EventFields {
        to: Some("Mallory".into()),
        ..EventFields::default()
    };
    let out = append(
        &mut f.ledger,
        with(EventKind::CheckedOut, "E1", T1, fields),
        &investigator(),
    );
    (f, out)
}

#[test]
fn fail_state_from_an_edited_entry_is_an_error_not_an_answer() {
    let (f, out) = checked_out_to_mallory();
    // Someone with SQL access rewrites the holder in the entry and the index.
    replace_in_entry(&f.path, out, "Mallory", "Trudy!");
    RawDb::open(&f.path).execute("UPDATE items SET holder = 'Trudy!'", &[]);
    let reopened = open(&f.path);
    assert!(reopened.item_custody("E1").is_err());
    assert!(reopened.custody(None).is_err());
}

#[test]
fn listing_in_one_pass_agrees_with_each_items_own_history() {
    let mut f = populated(3);
    let (alice, bob) = (investigator(), officer());
    append(
        &mut f.ledger,
        on_item(EventKind::Stored, "C-1", "E2", T1),
        &alice,
    );
    append(
        &mut f.ledger,
        EventDraft::new(EventKind::Derived, T1)
            .case("C-1")
            .item("E2.copy")
            .fields(EventFields {
                parent: Some("E2".into()),
                ..EventFields::default()
            }),
        &bob,
    );
    append(
        &mut f.ledger,
        on_item(EventKind::Sealed, "C-1", "E3", T2),
        &alice,
    );
    let listed = f.ledger.custody(None).unwrap();
    let one_by_one: Vec<ItemCustody> = ["E1", "E2", "E2.copy", "E3"]
        .iter()
        .map(|item| custody(&f.ledger, item))
        .collect();
    assert_eq!(listed, one_by_one);
}

#[test]
fn fail_entry_edited_after_the_ledger_was_opened_is_an_error_in_both_paths() {
    let (f, out) = checked_out_to_mallory();
    // The open ledger has replayed and verified everything up to here.
    assert_eq!(f.ledger.custody(None).unwrap().len(), 1);
    replace_in_entry(&f.path, out, "Mallory", "Trudy!");
    let listed = f.ledger.custody(None).unwrap_err();
    assert!(
        matches!(
            listed,
            custody_store::StoreError::SignedCheckpointMismatch { .. }
        ),
        "{listed}"
    );
    assert!(f.ledger.item_custody("E1").is_err());
}
