//! Two-signature hand-overs: an event naming `to_actor` is signed by the releasing actor and
//! cosigned by the receiving one, refused with one signature or a wrong one, and re-checked
//! by verification. Also the custody-form fields and their limits.

mod common;

use common::*;
use custody_core::keys::Identity;
use custody_core::{canonical, merkle, sign};
use custody_store::event::{CONTEXT_EVENT_COSIGNATURE, MAX_FORM_TEXT_BYTES, MAX_SEALS};
use custody_store::{
    CosignatureError, CustodyState, Device, EventDraft, EventFields, EventKind, Ledger,
    LedgerFinding, Shipment, SignedEvent, StoreError,
};

const T1: &str = "2026-03-01T10:00:00+01:00";

fn carol() -> Identity {
    identity("carol", 3)
}

/// A ledger with bob and carol enrolled, case C-1 and item E1 acquired by alice.
fn setup() -> Fixture {
    let mut f = populated(1);
    f.ledger
        .append(enrol(&carol()), &investigator(), &log_key())
        .unwrap();
    f
}

/// alice checks E1 out to `to` in a two-signature hand-over.
fn hand_over(to: &Identity) -> EventDraft {
    on_item(EventKind::CheckedOut, "C-1", "E1", T1).fields(EventFields {
        from_actor: Some(key_hex(&investigator())),
        to_actor: Some(key_hex(to)),
        place: Some("Salle des scellés".into()),
        ..EventFields::default()
    })
}

fn unchanged_after(
    ledger: &mut Ledger,
    refuse: impl FnOnce(&mut Ledger) -> StoreError,
) -> StoreError {
    let size = ledger.size().unwrap();
    let err = refuse(ledger);
    assert_eq!(
        ledger.size().unwrap(),
        size,
        "nothing may be appended: {err}"
    );
    assert!(ledger.verify(&[]).unwrap().is_clean());
    err
}

fn assert_cosignature(err: &StoreError, expected: CosignatureError) {
    match err {
        StoreError::Cosignature { problem, .. } => assert_eq!(*problem, expected, "{err}"),
        other => panic!("expected a {expected:?} cosignature refusal, got {other}"),
    }
}

#[test]
fn both_keys_on_one_workstation_append_and_verify() {
    let mut f = setup();
    let (alice, bob) = (investigator(), officer());
    let seq = f
        .ledger
        .append_cosigned(hand_over(&bob), &alice, &bob, &log_key())
        .unwrap()
        .seq;
    let entry = f.ledger.entry(seq).unwrap();
    assert!(entry.signed.cosignature.is_some());
    // The entry is the canonical JSON of the signed event, cosignature member first.
    assert_eq!(
        canonical::to_canonical_vec(&entry.signed).unwrap(),
        entry.bytes
    );
    assert!(entry.bytes.starts_with(b"{\"cosignature\":\""));
    assert!(f.ledger.verify(&[]).unwrap().is_clean());
    let custody = f.ledger.item_custody("E1").unwrap().unwrap();
    assert_eq!(custody.state, CustodyState::CheckedOut);
    let period = custody.timeline.last().unwrap();
    assert_eq!(period.holder.name, "bob");
    assert_eq!(period.from_seq, seq);
    assert!(period.both_signed);
    assert!(!custody.timeline[0].both_signed);
    // And back: bob hands it to carol, the custodian, who cosigns.
    let back = on_item(EventKind::CheckedIn, "C-1", "E1", T1).fields(EventFields {
        from_actor: Some(key_hex(&bob)),
        to_actor: Some(key_hex(&carol())),
        ..EventFields::default()
    });
    f.ledger
        .append_cosigned(back, &bob, &carol(), &log_key())
        .unwrap();
    let custody = f.ledger.item_custody("E1").unwrap().unwrap();
    assert_eq!(custody.state, CustodyState::InStorage);
    assert_eq!(custody.holder.unwrap().name, "carol");
    // Reopened from the file, the entries replay and verify alike.
    let reopened = open(&f.path);
    assert!(reopened.verify(&[]).unwrap().is_clean());
    assert_eq!(
        reopened.item_custody("E1").unwrap().unwrap().timeline.len(),
        3
    );
}

#[test]
fn two_workstations_prepare_cosign_append() {
    let mut f = setup();
    let (alice, bob) = (investigator(), officer());
    let mut draft = f.ledger.prepare(hand_over(&bob), &alice).unwrap();
    assert_eq!(draft.event.seq, f.ledger.size().unwrap());
    assert_eq!(draft.cosignature, None);
    // The draft travels as JSON to bob's workstation and back.
    let text = serde_json::to_string(&draft).unwrap();
    draft = serde_json::from_str(&text).unwrap();
    draft.cosign(&bob).unwrap();
    let seq = f
        .ledger
        .append_signed(draft.clone(), &log_key())
        .unwrap()
        .seq;
    assert_eq!(seq, draft.event.seq);
    assert_eq!(f.ledger.entry(seq).unwrap().signed, draft);
    assert!(f.ledger.verify(&[]).unwrap().is_clean());
    // Appending the same entry again is refused: its position is taken.
    let err = f.ledger.append_signed(draft, &log_key()).unwrap_err();
    assert!(matches!(err, StoreError::StaleHandOver { .. }), "{err}");
}

#[test]
fn fail_hand_over_with_only_the_releasers_signature() {
    let mut f = setup();
    let alice = investigator();
    let err = unchanged_after(&mut f.ledger, |l| {
        l.append(hand_over(&officer()), &alice, &log_key())
            .unwrap_err()
    });
    assert_cosignature(&err, CosignatureError::Missing);
    let draft = f.ledger.prepare(hand_over(&officer()), &alice).unwrap();
    let err = unchanged_after(&mut f.ledger, |l| {
        l.append_signed(draft, &log_key()).unwrap_err()
    });
    assert_cosignature(&err, CosignatureError::Missing);
}

#[test]
fn fail_cosignature_by_the_releasers_own_key() {
    let mut f = setup();
    let (alice, bob) = (investigator(), officer());
    // Naming oneself as the receiver is refused by the rule…
    let err = unchanged_after(&mut f.ledger, |l| {
        l.append_cosigned(hand_over(&alice), &alice, &alice, &log_key())
            .unwrap_err()
    });
    assert!(
        matches!(
            err,
            StoreError::InvalidField {
                field: "to_action" | "to_actor",
                ..
            }
        ),
        "{err}"
    );
    // …offering one's own key as the cosigner of bob's hand-over is refused…
    let err = unchanged_after(&mut f.ledger, |l| {
        l.append_cosigned(hand_over(&bob), &alice, &alice, &log_key())
            .unwrap_err()
    });
    assert!(matches!(err, StoreError::WrongCosigner { .. }), "{err}");
    let mut draft = f.ledger.prepare(hand_over(&bob), &alice).unwrap();
    assert!(matches!(
        draft.cosign(&alice).unwrap_err(),
        StoreError::WrongCosigner { .. }
    ));
    // …and a cosignature made with the releaser's key under the cosignature context does
    // not verify as bob's.
    let canonical_event = canonical::to_canonical_vec(&draft.event).unwrap();
    draft.cosignature = Some(sign::signature_to_hex(&sign::sign_canonical(
        &alice,
        CONTEXT_EVENT_COSIGNATURE,
        &canonical_event,
    )));
    let err = unchanged_after(&mut f.ledger, |l| {
        l.append_signed(draft, &log_key()).unwrap_err()
    });
    assert_cosignature(&err, CosignatureError::Invalid);
}

#[test]
fn fail_cosignature_by_a_revoked_key() {
    let mut f = setup();
    let (alice, bob) = (investigator(), officer());
    let draft = f.ledger.prepare(hand_over(&bob), &alice).unwrap();
    let revoke = EventDraft::new(EventKind::KeyRevoked, T0).fields(EventFields {
        public_key: Some(key_hex(&bob)),
        ..EventFields::default()
    });
    f.ledger.append(revoke, &alice, &log_key()).unwrap();
    let err = unchanged_after(&mut f.ledger, |l| {
        l.append_cosigned(hand_over(&bob), &alice, &bob, &log_key())
            .unwrap_err()
    });
    assert!(matches!(err, StoreError::InactiveCosigner { .. }), "{err}");
    assert_eq!(err.rule_name(), Some("inactive-cosigner"));
    // A draft bob cosigned before his revocation is refused too (and is stale anyway).
    let mut draft = draft;
    draft.cosign(&bob).unwrap();
    assert!(f.ledger.append_signed(draft, &log_key()).is_err());
    // So is a hand-over to a key never enrolled.
    let stranger = identity("mallory", 7);
    let err = unchanged_after(&mut f.ledger, |l| {
        l.append_cosigned(hand_over(&stranger), &alice, &stranger, &log_key())
            .unwrap_err()
    });
    assert!(matches!(err, StoreError::UnknownCosigner { .. }), "{err}");
}

#[test]
fn fail_cosignature_over_different_bytes() {
    let mut f = setup();
    let (alice, bob) = (investigator(), officer());
    let mut draft = f.ledger.prepare(hand_over(&bob), &alice).unwrap();
    draft.cosign(&bob).unwrap();
    // The releaser changes the place after bob cosigned, and signs again.
    draft.event.fields.place = Some("Parking".into());
    let canonical_event = canonical::to_canonical_vec(&draft.event).unwrap();
    draft.signature = sign::signature_to_hex(&sign::sign_canonical(
        &alice,
        sign::CONTEXT_EVENT,
        &canonical_event,
    ));
    let err = unchanged_after(&mut f.ledger, |l| {
        l.append_signed(draft, &log_key()).unwrap_err()
    });
    assert_cosignature(&err, CosignatureError::Invalid);
}

#[test]
fn fail_cosignature_replayed_from_another_event() {
    let mut f = setup();
    let (alice, bob) = (investigator(), officer());
    let first = f
        .ledger
        .append_cosigned(hand_over(&bob), &alice, &bob, &log_key())
        .unwrap()
        .seq;
    let old = f.ledger.entry(first).unwrap().signed.cosignature;
    let back = on_item(EventKind::CheckedIn, "C-1", "E1", T1);
    f.ledger.append(back, &bob, &log_key()).unwrap();
    // A second, identical hand-over: only seq and recorded time differ.
    let mut draft = f.ledger.prepare(hand_over(&bob), &alice).unwrap();
    draft.cosignature = old;
    let err = unchanged_after(&mut f.ledger, |l| {
        l.append_signed(draft, &log_key()).unwrap_err()
    });
    assert_cosignature(&err, CosignatureError::Invalid);
}

#[test]
fn fail_releasers_signature_must_verify_before_anyone_cosigns() {
    let f = setup();
    let (alice, bob) = (investigator(), officer());
    let mut draft = f.ledger.prepare(hand_over(&bob), &alice).unwrap();
    draft.event.fields.place = Some("elsewhere".into());
    assert!(matches!(
        draft.cosign(&bob).unwrap_err(),
        StoreError::HandOverNotSigned { .. }
    ));
}

#[test]
fn fail_stale_draft_after_another_append() {
    let mut f = setup();
    let (alice, bob) = (investigator(), officer());
    let mut draft = f.ledger.prepare(hand_over(&bob), &alice).unwrap();
    draft.cosign(&bob).unwrap();
    f.ledger
        .append(
            on_item(EventKind::Note, "C-1", "E1", T1),
            &alice,
            &log_key(),
        )
        .unwrap();
    let err = unchanged_after(&mut f.ledger, |l| {
        l.append_signed(draft, &log_key()).unwrap_err()
    });
    assert!(matches!(err, StoreError::StaleHandOver { .. }), "{err}");
}

#[test]
fn fail_hand_over_rule_shapes() {
    let mut f = setup();
    let (alice, bob) = (investigator(), officer());
    let with = |kind, fields: EventFields| on_item(kind, "C-1", "E1", T1).fields(fields);
    let pair = EventFields {
        from_actor: Some(key_hex(&alice)),
        to_actor: Some(key_hex(&bob)),
        ..EventFields::default()
    };
    let cases = [
        // not a hand-over kind
        with(EventKind::Examined, pair.clone()),
        // from_actor is not the signer
        with(
            EventKind::CheckedOut,
            EventFields {
                from_actor: Some(key_hex(&carol())),
                ..pair.clone()
            },
        ),
        // from_actor missing
        with(
            EventKind::CheckedOut,
            EventFields {
                from_actor: None,
                ..pair.clone()
            },
        ),
        // `to` names someone else than to_actor
        with(
            EventKind::CheckedOut,
            EventFields {
                to: Some("Mallory".into()),
                ..pair.clone()
            },
        ),
        // to_actor not in canonical hex
        with(
            EventKind::CheckedOut,
            EventFields {
                to_actor: Some(key_hex(&bob).to_uppercase()),
                ..pair.clone()
            },
        ),
    ];
    for draft in cases {
        let err = unchanged_after(&mut f.ledger, |l| {
            l.append_cosigned(draft, &alice, &bob, &log_key())
                .unwrap_err()
        });
        assert!(
            err.rule_name().is_some() || matches!(err, StoreError::WrongCosigner { .. }),
            "{err}"
        );
    }
}

/// Writes `signed` at seq `size` with raw SQL, as someone who can write the database (and holds
/// the releaser's key, but neither the receiver's nor the log key) would.
fn insert_raw(f: &Fixture, signed: &SignedEvent) {
    let bytes = canonical::to_canonical_vec(signed).unwrap();
    RawDb::open(&f.path).execute(
        "INSERT INTO entries (seq, entry, leaf_hash) VALUES (?1, ?2, ?3)",
        &[
            v(signed.event.seq),
            v(&bytes),
            v(&merkle::leaf_hash(&bytes)),
        ],
    );
}

#[test]
fn fail_forged_entry_without_cosignature_is_found_by_verify_and_refused_by_reads() {
    let f = setup();
    let draft = f
        .ledger
        .prepare(hand_over(&officer()), &investigator())
        .unwrap();
    insert_raw(&f, &draft);
    let ledger = open(&f.path);
    let report = ledger.verify(&[]).unwrap();
    assert!(
        report
            .findings
            .contains(&LedgerFinding::MissingCosignature {
                seq: draft.event.seq
            }),
        "{:?}",
        report.findings
    );
    assert!(ledger.item_custody("E1").is_err());
}

#[test]
fn fail_forged_cosignature_on_an_ordinary_event_is_found_by_verify() {
    let f = setup();
    let alice = investigator();
    let mut draft = f.ledger.prepare(hand_over(&officer()), &alice).unwrap();
    draft.cosign(&officer()).unwrap();
    // Strip the hand-over fields but keep a cosignature: a second signature nobody asked for.
    draft.event.fields.from_actor = None;
    draft.event.fields.to_actor = None;
    let canonical_event = canonical::to_canonical_vec(&draft.event).unwrap();
    draft.signature = sign::signature_to_hex(&sign::sign_canonical(
        &alice,
        sign::CONTEXT_EVENT,
        &canonical_event,
    ));
    insert_raw(&f, &draft);
    let report = open(&f.path).verify(&[]).unwrap();
    assert!(
        report.findings.contains(&LedgerFinding::BadCosignature {
            seq: draft.event.seq
        }),
        "{:?}",
        report.findings
    );
}

fn form(fields: EventFields) -> EventDraft {
    on_item(EventKind::Stored, "C-1", "E1", T1).fields(fields)
}

#[test]
fn custody_form_fields_are_recorded_and_shown_on_the_item() {
    let mut f = setup();
    let fields = EventFields {
        description: Some("Samsung laptop, black".into()),
        item_type: Some("laptop".into()),
        device: Some(Device {
            make: Some("Samsung".into()),
            model: Some("NP900X3C".into()),
            serial_number: Some("HN3K91AC400712".into()),
        }),
        condition_on_receipt: Some("powered off, lid scratched".into()),
        seals: Some(vec!["FR-PJ-0042".into(), "BAG-7781".into()]),
        storage_conditions: Some("Faraday bag, locker 12".into()),
        shipment: Some(Shipment {
            carrier: Some("Chronopost".into()),
            tracking_number: Some("XY123456789FR".into()),
        }),
        ..EventFields::default()
    };
    let seq = f
        .ledger
        .append(form(fields.clone()), &investigator(), &log_key())
        .unwrap()
        .seq;
    let entry = f.ledger.entry(seq).unwrap();
    assert_eq!(entry.signed.event.fields, fields);
    let text = String::from_utf8(entry.bytes).unwrap();
    assert!(
        text.contains(
            r#""device":{"make":"Samsung","model":"NP900X3C","serial_number":"HN3K91AC400712"}"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#""seals":["FR-PJ-0042","BAG-7781"]"#),
        "{text}"
    );
    let custody = f.ledger.item_custody("E1").unwrap().unwrap();
    assert_eq!(custody.form.description, fields.description);
    assert_eq!(custody.form.device, fields.device);
    assert_eq!(custody.form.seals, fields.seals);
    assert_eq!(custody.form.shipment, fields.shipment);
    // A later event replaces only what it carries.
    let reseal = EventFields {
        seals: Some(vec!["FR-PJ-0043".into()]),
        ..EventFields::default()
    };
    f.ledger
        .append(
            on_item(EventKind::Examined, "C-1", "E1", T1).fields(reseal),
            &investigator(),
            &log_key(),
        )
        .unwrap();
    let custody = f.ledger.item_custody("E1").unwrap().unwrap();
    assert_eq!(custody.form.seals, Some(vec!["FR-PJ-0043".to_owned()]));
    assert_eq!(custody.form.description, fields.description);
    assert!(f.ledger.verify(&[]).unwrap().is_clean());
}

#[test]
fn custody_form_limits_hold_at_the_limit_and_refuse_one_past_it() {
    let mut f = setup();
    let alice = investigator();
    let text = |n| Some("x".repeat(n));
    let at_limit = [
        EventFields {
            description: text(MAX_FORM_TEXT_BYTES),
            ..EventFields::default()
        },
        EventFields {
            seals: Some(vec!["S".into(); MAX_SEALS]),
            ..EventFields::default()
        },
        EventFields {
            device: Some(Device {
                serial_number: text(MAX_FORM_TEXT_BYTES),
                ..Device::default()
            }),
            ..EventFields::default()
        },
    ];
    for fields in at_limit {
        f.ledger.append(form(fields), &alice, &log_key()).unwrap();
    }
    let past = [
        (
            "description",
            EventFields {
                description: text(MAX_FORM_TEXT_BYTES + 1),
                ..EventFields::default()
            },
        ),
        (
            "seals",
            EventFields {
                seals: Some(vec!["S".into(); MAX_SEALS + 1]),
                ..EventFields::default()
            },
        ),
        (
            "seals",
            EventFields {
                seals: Some(vec!["x".repeat(MAX_FORM_TEXT_BYTES + 1)]),
                ..EventFields::default()
            },
        ),
        (
            "device.serial_number",
            EventFields {
                device: Some(Device {
                    serial_number: text(MAX_FORM_TEXT_BYTES + 1),
                    ..Device::default()
                }),
                ..EventFields::default()
            },
        ),
        (
            "shipment.tracking_number",
            EventFields {
                shipment: Some(Shipment {
                    tracking_number: text(0),
                    ..Shipment::default()
                }),
                ..EventFields::default()
            },
        ),
        (
            "seals",
            EventFields {
                seals: Some(vec![]),
                ..EventFields::default()
            },
        ),
        (
            "device",
            EventFields {
                device: Some(Device::default()),
                ..EventFields::default()
            },
        ),
        (
            "shipment",
            EventFields {
                shipment: Some(Shipment::default()),
                ..EventFields::default()
            },
        ),
        (
            "storage_conditions",
            EventFields {
                storage_conditions: text(0),
                ..EventFields::default()
            },
        ),
    ];
    for (name, fields) in past {
        let err = unchanged_after(&mut f.ledger, |l| {
            l.append(form(fields), &alice, &log_key()).unwrap_err()
        });
        match err {
            StoreError::InvalidField { field, .. } => assert_eq!(field, name),
            other => panic!("{name}: {other}"),
        }
    }
}

#[test]
fn fail_unknown_member_inside_a_form_field_is_refused_by_the_parser() {
    let text = r#"{"make":"Samsung","colour":"black"}"#;
    assert!(serde_json::from_str::<Device>(text).is_err());
    let text = r#"{"carrier":"DHL","eta":"soon"}"#;
    assert!(serde_json::from_str::<Shipment>(text).is_err());
}
