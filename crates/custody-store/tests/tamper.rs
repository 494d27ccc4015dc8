//! Raw-SQL tampering, with the append-only triggers dropped first: every change is found by
//! `verify`, naming the sequence number. Truncation and a full rewrite with the log key are
//! invisible from inside the ledger and found exactly when an outside checkpoint is supplied.

mod common;

use std::path::Path;

use common::*;
use custody_core::merkle;
use custody_store::{LedgerFinding, LedgerReport};

fn entry(db: &RawDb, seq: u64) -> Vec<u8> {
    db.one("SELECT entry FROM entries WHERE seq = ?1", &[v(seq)])
        .bytes()
}

fn verify(path: &Path, outside: &[String]) -> LedgerReport {
    open(path).verify(outside).unwrap()
}

fn has(report: &LedgerReport, finding: &LedgerFinding) {
    assert!(
        report.findings.contains(finding),
        "expected {finding:?} among {:#?}",
        report.findings
    );
}

#[test]
fn triggers_refuse_update_and_delete() {
    let f = populated(2);
    let db = RawDb::with_triggers(&f.path);
    assert!(db
        .try_execute("DELETE FROM entries WHERE seq = 1", &[])
        .is_err());
    assert!(db
        .try_execute("UPDATE entries SET entry = ?1 WHERE seq = 1", &[v(&[0u8])])
        .is_err());
}

#[test]
fn edited_payload_byte_is_found() {
    let f = populated(4);
    assert!(verify(&f.path, &[]).is_clean());
    let db = RawDb::open(&f.path);
    let mut bytes = entry(&db, 5);
    let at = bytes.windows(4).position(|w| w == b"Lyon").unwrap();
    bytes[at + 3] = b'm';
    db.execute("UPDATE entries SET entry = ?1 WHERE seq = 5", &[v(&bytes)]);
    let report = verify(&f.path, &[]);
    has(&report, &LedgerFinding::BadSignature { seq: 5 });
    has(&report, &LedgerFinding::LeafHashMismatch { seq: 5 });
    has(&report, &LedgerFinding::CheckpointRootMismatch { size: 6 });
}

#[test]
fn deleted_row_is_found() {
    let f = populated(4);
    RawDb::open(&f.path).execute("DELETE FROM entries WHERE seq = 4", &[]);
    let report = verify(&f.path, &[]);
    has(&report, &LedgerFinding::MissingEntries { from: 4, to: 5 });
    has(&report, &LedgerFinding::CheckpointRootMismatch { size: 5 });
}

#[test]
fn swapped_rows_are_found() {
    let f = populated(4);
    let db = RawDb::open(&f.path);
    let (a, b) = (entry(&db, 3), entry(&db, 4));
    let swap = "UPDATE entries SET entry = ?1, leaf_hash = ?2 WHERE seq = ?3";
    db.execute(swap, &[v(&b), v(&merkle::leaf_hash(&b)), v(3)]);
    db.execute(swap, &[v(&a), v(&merkle::leaf_hash(&a)), v(4)]);
    let report = verify(&f.path, &[]);
    has(&report, &LedgerFinding::SeqMismatch { seq: 3, found: 4 });
    has(&report, &LedgerFinding::SeqMismatch { seq: 4, found: 3 });
    has(&report, &LedgerFinding::CheckpointRootMismatch { size: 5 });
}

#[test]
fn forged_row_is_found() {
    let f = populated(3);
    let size = f.ledger.size().unwrap();
    let mallory = identity("mallory", 7);
    insert_forged_entry(&f, size, &mallory);
    let report = verify(&f.path, &[]);
    has(
        &report,
        &LedgerFinding::UnknownSigner {
            seq: size,
            key: key_hex(&mallory),
        },
    );
    has(
        &report,
        &LedgerFinding::UncheckpointedEntries {
            from: size,
            to: size + 1,
        },
    );
}

#[test]
fn truncated_tail_is_found_only_against_an_outside_checkpoint() {
    let f = populated(6);
    let held_outside = latest_note(&f.ledger);
    let size = f.ledger.size().unwrap();
    drop(f.ledger);
    truncate(&f.path, size - 3);

    let inside_only = verify(&f.path, &[]);
    assert!(inside_only.is_clean(), "{:#?}", inside_only.findings);
    assert_eq!(inside_only.size, size - 3);

    let with_outside = verify(&f.path, &[held_outside]);
    assert_eq!(
        with_outside.findings,
        vec![LedgerFinding::OutsideCheckpointAhead {
            size,
            ledger_size: size - 3,
            source_name: "supplied checkpoint #1".into(),
        }]
    );
}

#[test]
fn stored_outside_checkpoint_catches_truncation() {
    let mut f = populated(4);
    let note = latest_note(&f.ledger);
    f.ledger
        .add_outside_checkpoint(&note, "receipt from DE")
        .unwrap();
    let size = f.ledger.size().unwrap();
    drop(f.ledger);
    truncate(&f.path, size - 1);
    let report = verify(&f.path, &[]);
    has(
        &report,
        &LedgerFinding::OutsideCheckpointAhead {
            size,
            ledger_size: size - 1,
            source_name: "receipt from DE".into(),
        },
    );
}

#[test]
fn rewritten_ledger_is_found_only_against_an_outside_checkpoint() {
    let f = populated(6);
    let (alice, log) = (investigator(), log_key());
    drop(f.ledger);
    // The auditor took a checkpoint at size 7, after the event to be removed (seq 4).
    let held_outside = open(&f.path)
        .checkpoint_at(7)
        .unwrap()
        .expect("checkpoint at 7");
    let mut ledger = open(&f.path);
    ledger
        .append(
            on_item(custody_store::EventKind::Examined, "C-1", "E1", T0),
            &alice,
            &log,
        )
        .unwrap();
    drop(ledger);
    rewrite_without(&f.path, 4);

    let inside_only = verify(&f.path, &[]);
    assert!(inside_only.is_clean(), "{:#?}", inside_only.findings);
    assert!(open(&f.path).item_history("E2").unwrap().is_empty());

    let with_outside = verify(&f.path, &[held_outside]);
    assert_eq!(
        with_outside.findings,
        vec![LedgerFinding::OutsideCheckpointMismatch {
            size: 7,
            source_name: "supplied checkpoint #1".into(),
        }]
    );
}

#[test]
fn edited_index_row_is_found_and_reindex_repairs_it() {
    let f = populated(2);
    drop(f.ledger);
    RawDb::with_triggers(&f.path).execute(
        "UPDATE items SET state = 'destroyed' WHERE item = 'E2'",
        &[],
    );
    let report = verify(&f.path, &[]);
    assert_eq!(
        report.findings,
        vec![LedgerFinding::IndexMismatch {
            table: "items",
            key: "E2".into()
        }]
    );
    open(&f.path).reindex().unwrap();
    assert!(verify(&f.path, &[]).is_clean());
}
