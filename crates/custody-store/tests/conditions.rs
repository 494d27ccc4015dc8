//! Conditions that travel with received evidence, from the verified entries: the onward-
//! transfer rule on append and on replay, an item's conditions and consents, its record of
//! access, use and disclosure, and the retention flag.

mod common;

use common::*;
use custody_store::conditions::{self, TransferConditions};
use custody_store::{EventDraft, EventFields, EventKind, StoreError};

const SENDER: &str = "Parquet de Paris";
const THIRD: &str = "Procura di Roma";

fn received(item: &str, retention: &str) -> EventDraft {
    on_item(EventKind::Received, "C-1", item, T0).fields(EventFields {
        from: Some(SENDER.into()),
        conditions: Some(TransferConditions {
            use_limitations: vec!["case C-1 only".into()],
            confidential: true,
            personal_data: vec!["communications".into()],
            retention_until: Some(retention.into()),
        }),
        ..EventFields::default()
    })
}

fn to(kind: EventKind, item: &str, to: &str) -> EventDraft {
    on_item(kind, "C-1", item, T0).fields(EventFields {
        to: Some(to.into()),
        ..EventFields::default()
    })
}

fn consent(item: &str, from: &str) -> EventDraft {
    on_item(EventKind::OnwardTransferAuthorised, "C-1", item, T0).fields(EventFields {
        from: Some(from.into()),
        to: Some(THIRD.into()),
        legal_authority: Some("FR-2026-7".into()),
        ..EventFields::default()
    })
}

#[test]
fn fail_onward_transfer_without_consent_then_allowed_with_it() {
    let mut f = new_ledger();
    let (alice, log) = (investigator(), log_key());
    f.ledger.append(open_case("C-1"), &alice, &log).unwrap();
    f.ledger
        .append(received("R1", "2030-01-01"), &alice, &log)
        .unwrap();
    for kind in [EventKind::Sealed, EventKind::Transferred] {
        let err = f
            .ledger
            .append(to(kind, "R1", THIRD), &alice, &log)
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::OnwardTransferNotAuthorised { item, to, sender }
                if item == "R1" && to == THIRD && sender == SENDER),
            "{err:?}"
        );
    }
    let err = f
        .ledger
        .append(consent("R1", "Someone"), &alice, &log)
        .unwrap_err();
    assert!(
        matches!(err, StoreError::ConsentNotBySender { .. }),
        "{err:?}"
    );
    // Back to its sender needs no consent.
    f.ledger
        .append(to(EventKind::Sealed, "R1", SENDER), &alice, &log)
        .unwrap();
    let seq = f
        .ledger
        .append(consent("R1", SENDER), &alice, &log)
        .unwrap()
        .seq;
    f.ledger
        .append(to(EventKind::Sealed, "R1", THIRD), &alice, &log)
        .unwrap();
    // The replay of verification applies the same rule and finds nothing wrong.
    assert!(f.ledger.verify(&[]).unwrap().is_clean());
    let c = conditions::item_conditions(&f.ledger, "R1")
        .unwrap()
        .unwrap();
    assert_eq!(c.sender.as_deref(), Some(SENDER));
    assert_eq!(c.onward_transfers.len(), 1);
    assert_eq!(c.onward_transfers[0].seq, seq);
    assert_eq!(c.onward_transfers[0].reference, "FR-2026-7");
    assert!(c.may_go_to(THIRD) && c.may_go_to(SENDER) && !c.may_go_to("Elsewhere"));
}

#[test]
fn fail_consent_for_an_item_received_from_nobody_named() {
    let mut f = new_ledger();
    let (alice, log) = (investigator(), log_key());
    f.ledger.append(open_case("C-1"), &alice, &log).unwrap();
    let mut draft = received("R1", "2030-01-01");
    draft.fields.from = None;
    f.ledger.append(draft, &alice, &log).unwrap();
    for from in [SENDER, "Someone"] {
        let err = f
            .ledger
            .append(consent("R1", from), &alice, &log)
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::ConsentNotBySender { item, from: f, .. }
                if item == "R1" && f == from),
            "{err:?}"
        );
    }
    let err = f
        .ledger
        .append(to(EventKind::Sealed, "R1", THIRD), &alice, &log)
        .unwrap_err();
    assert!(
        matches!(err, StoreError::OnwardTransferNotAuthorised { .. }),
        "{err:?}"
    );
}

#[test]
fn fail_consent_for_an_item_acquired_here() {
    let mut f = populated(1);
    let err = f
        .ledger
        .append(consent("E1", SENDER), &investigator(), &log_key())
        .unwrap_err();
    assert!(
        matches!(err, StoreError::InvalidField { field: "items", .. }),
        "{err:?}"
    );
    assert_eq!(conditions::item_conditions(&f.ledger, "E1").unwrap(), None);
}

#[test]
fn fail_conditions_on_anything_but_received_and_a_retention_that_is_not_a_date() {
    let mut f = populated(1);
    let mut note = on_item(EventKind::Note, "C-1", "E1", T0);
    note.fields.conditions = Some(TransferConditions::default());
    let err = f
        .ledger
        .append(note, &investigator(), &log_key())
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidField {
                field: "conditions",
                ..
            }
        ),
        "{err:?}"
    );
    let err = f
        .ledger
        .append(received("R2", "31/12/2030"), &investigator(), &log_key())
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidField {
                field: "conditions",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn record_of_access_use_and_disclosure_and_the_retention_flag() {
    let mut f = new_ledger();
    let (alice, log) = (investigator(), log_key());
    f.ledger.append(open_case("C-1"), &alice, &log).unwrap();
    f.ledger
        .append(received("R1", "2026-06-30"), &alice, &log)
        .unwrap();
    let examined = f
        .ledger
        .append(on_item(EventKind::Examined, "C-1", "R1", T0), &alice, &log)
        .unwrap()
        .seq;
    f.ledger
        .append(on_item(EventKind::Stored, "C-1", "R1", T0), &alice, &log)
        .unwrap();
    let err = f
        .ledger
        .append(on_item(EventKind::Disclosed, "C-1", "R1", T0), &alice, &log)
        .unwrap_err();
    assert!(
        matches!(err, StoreError::InvalidField { field: "to", .. }),
        "{err:?}"
    );
    let disclosed = f
        .ledger
        .append(
            to(EventKind::Disclosed, "R1", "Defence counsel"),
            &alice,
            &log,
        )
        .unwrap()
        .seq;
    let mut derive = EventDraft::new(EventKind::Derived, T0)
        .case("C-1")
        .item("R1-copy");
    derive.fields.parent = Some("R1".into());
    let derived = f.ledger.append(derive, &alice, &log).unwrap().seq;
    let record = conditions::access_record(&f.ledger, "R1").unwrap();
    let seen: Vec<(u64, EventKind)> = record.iter().map(|r| (r.seq, r.kind)).collect();
    assert_eq!(
        seen,
        [
            (examined, EventKind::Examined),
            (disclosed, EventKind::Disclosed),
            (derived, EventKind::Derived)
        ]
    );
    assert_eq!(record[1].to.as_deref(), Some("Defence counsel"));
    assert_eq!(record[2].derived_items, ["R1-copy"]);

    let day = |t| conditions::parse_date(t).unwrap();
    let c = conditions::item_conditions(&f.ledger, "R1")
        .unwrap()
        .unwrap();
    assert!(!c.past_retention(day("2026-06-30")));
    assert!(c.past_retention(day("2026-07-01")));
    f.ledger
        .append(destroy("C-1", "R1", T0), &alice, &log)
        .unwrap();
    let c = conditions::item_conditions(&f.ledger, "R1")
        .unwrap()
        .unwrap();
    assert!(!c.past_retention(day("2026-07-01")));
    let destroyed = c.destroyed.unwrap();
    assert_eq!(destroyed.method.as_deref(), Some("shredded"));
    assert_eq!(destroyed.authority.as_deref(), Some("order 1"));
}
