//! Seal refuses a received item for a third authority without its sender's consent; a
//! package's stated onward-transfer consent must be an included
//! `onward-transfer-authorised` entry of the item that records exactly it, for this
//! recipient: a sender cannot claim a consent its ledger does not hold.

mod common;

use common::*;
use custody_pack::seal::{seal, SealRequest};
use custody_pack::verify::{FindingGroup, FindingKind};
use custody_store::acquisition::Acquisition;
use custody_store::{EventDraft, EventFields, EventKind, Ledger, StoreError};

const ROME: &str = "Procura di Roma";

/// A ledger that received item C-1-1 (the file `evidence.bin`) from Rome, with Rome's
/// consent to send it on to Berlin when `consent` is set, sealed for Berlin.
fn onward(consent: bool) -> Result<Setup, Box<custody_pack::seal::SealError>> {
    let dir = tempfile::tempdir().unwrap();
    let officer = identity("officer@example.fr", 1);
    let log = identity("ledger.example.fr", 2);
    let path = dir.path().join("sender.db");
    let mut ledger = Ledger::init(&path, "ledger.example.fr/custody", &officer, &log).unwrap();
    std::fs::write(dir.path().join("evidence.bin"), b"received bytes").unwrap();
    let evidence = Acquisition::plan(&dir.path().join("evidence.bin"))
        .unwrap()
        .hash(&mut |_| {})
        .unwrap();
    let mut drafts = vec![
        EventDraft::new(EventKind::CaseOpened, NOW).case("C-1"),
        EventDraft::new(EventKind::Received, NOW)
            .case("C-1")
            .item(ID)
            .fields(EventFields {
                from: Some(ROME.into()),
                evidence: Some(evidence),
                ..EventFields::default()
            }),
    ];
    if consent {
        drafts.push(
            EventDraft::new(EventKind::OnwardTransferAuthorised, NOW)
                .case("C-1")
                .item(ID)
                .fields(EventFields {
                    from: Some(ROME.into()),
                    to: Some("Staatsanwaltschaft Berlin".into()),
                    legal_authority: Some("IT-2026-3".into()),
                    ..EventFields::default()
                }),
        );
    }
    ledger.append_batch(drafts, &officer, &log).unwrap();
    let package = dir.path().join("pkg.zip");
    seal(
        &mut ledger,
        SealRequest {
            items: vec![ID.into()],
            files: [(ID.to_owned(), dir.path().join("evidence.bin"))].into(),
            ..seal_request(dir.path())
        },
        &officer,
        std::slice::from_ref(&officer),
        &log,
        &package,
        &mut |_| {},
    )
    .map_err(Box::new)?;
    Ok(Setup {
        dir,
        officer,
        package,
    })
}

#[test]
fn fail_seal_of_a_received_item_for_a_third_authority_without_consent_writes_nothing() {
    let err = onward(false).err().expect("refused");
    assert!(
        matches!(
            &*err,
            custody_pack::seal::SealError::Ledger(StoreError::OnwardTransferNotAuthorised { sender, .. })
                if sender == ROME
        ),
        "{err:?}"
    );
}

#[test]
fn consent_is_stated_and_removing_it_is_a_finding() {
    let s = onward(true).unwrap();
    let report = custody_pack::verify::verify_package(&s.package, &trusting(&s.officer)).unwrap();
    assert!(report.verified, "{:?}", report.findings);
    let statement = report.statement.unwrap();
    assert_eq!(statement.onward_transfers.len(), 1);
    assert_eq!(statement.onward_transfers[0].authorised_by, ROME);
    assert_eq!(statement.onward_transfers[0].reference, "IT-2026-3");
    let report = with_statement(&s, |statement| {
        statement
            .as_object_mut()
            .unwrap()
            .remove("onward_transfers");
    });
    assert!(!report.verified);
    assert!(
        report.findings.iter().any(|f| matches!(
            &f.kind,
            FindingKind::OnwardTransferWithoutConsent { item, sender, .. } if item == ID && sender == ROME
        )),
        "{:?}",
        report.findings
    );
}

fn claim(seq: u64) -> serde_json::Value {
    serde_json::json!([{
        "item": ID,
        "seq": seq,
        "authorised_by": "Staatsanwaltschaft Berlin",
        "reference": "DE-2026-1",
    }])
}

#[test]
fn fail_consent_claimed_by_an_entry_that_is_not_one() {
    let s = genuine();
    let report = with_statement(&s, |statement| {
        let acquired = statement["items"][0]["acquired_seq"].clone();
        statement["onward_transfers"] = claim(acquired.as_u64().unwrap());
    });
    assert!(!report.verified);
    assert!(
        report.findings.iter().any(|f| f.group == FindingGroup::Statement
            && matches!(&f.kind, FindingKind::OnwardTransferUnsupported { item, .. } if item == ID)),
        "{:?}",
        report.findings
    );
}

#[test]
fn fail_consent_claimed_by_an_entry_not_in_the_package() {
    let s = genuine();
    let report = with_statement(&s, |statement| {
        statement["onward_transfers"] = claim(999);
    });
    assert!(!report.verified);
    assert!(
        report.findings.iter().any(|f| matches!(
            &f.kind,
            FindingKind::OnwardTransferUnsupported { seq: 999, .. }
        )),
        "{:?}",
        report.findings
    );
}

#[test]
fn package_without_received_items_needs_no_consent() {
    let s = genuine();
    let report = custody_pack::verify::verify_package(&s.package, &trusting(&s.officer)).unwrap();
    assert!(report.verified, "{:?}", report.findings);
    assert!(report.statement.unwrap().onward_transfers.is_empty());
}
