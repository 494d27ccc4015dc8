//! A package's stated onward-transfer consent must be an included
//! `onward-transfer-authorised` entry of the item that records exactly it, for this
//! recipient: a sender cannot claim a consent its ledger does not hold.

mod common;

use common::*;
use custody_pack::verify::{FindingGroup, FindingKind};

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
