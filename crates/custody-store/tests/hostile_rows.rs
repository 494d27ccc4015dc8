//! Rows written with raw SQL to exhaust memory or time: checkpoint notes and outside
//! checkpoints larger than any real note, and many of them. Each is judged without being
//! read whole (a finding names it), and decisions go on from the verified entries.

mod common;

use common::*;
use custody_store::ledger::{MAX_CHECKPOINT_NOTE_BYTES, MAX_ENTRY_BYTES, MAX_META_VALUE_BYTES};
use custody_store::LedgerFinding;
use custody_store::{Ledger, StoreError};

fn note_of(len: u64) -> String {
    "x".repeat(usize::try_from(len).unwrap())
}

#[test]
fn fail_stored_checkpoint_note_past_the_limit_is_reported_not_read() {
    let f = populated(1);
    let size = f.ledger.size().unwrap();
    let conn = RawDb::open(&f.path);
    conn.execute(
        "INSERT INTO checkpoints (size, note) VALUES (?1, ?2), (?3, ?4)",
        &[
            v(size + 10),
            v(note_of(MAX_CHECKPOINT_NOTE_BYTES)),
            v(size + 11),
            v(note_of(MAX_CHECKPOINT_NOTE_BYTES + 1)),
        ],
    );
    let report = open(&f.path).verify(&[]).unwrap();
    assert_eq!(
        report.findings,
        vec![
            LedgerFinding::CheckpointTooLarge {
                size: size + 11,
                limit: MAX_CHECKPOINT_NOTE_BYTES
            },
            LedgerFinding::CheckpointSignature { size: size + 10 },
        ]
    );
    let reader = open(&f.path);
    assert!(reader.checkpoint_at(size + 10).unwrap().is_some());
    assert_eq!(reader.checkpoint_at(size + 11).unwrap(), None);
    assert_eq!(reader.checkpoint_at(u64::MAX).unwrap(), None);
    drop(reader);
    // Decisions skip both rows and rest on the newest checkpoint that verifies.
    let mut ledger = open(&f.path);
    ledger
        .append(open_case("CASE-HOSTILE"), &investigator(), &log_key())
        .unwrap();
}

#[test]
fn fail_outside_checkpoint_note_past_the_limit_is_reported_not_read() {
    let f = populated(1);
    let conn = RawDb::open(&f.path);
    conn.execute(
        "INSERT INTO outside_checkpoints (source, note, added_time) VALUES \
         ('at limit', ?1, 'now'), ('past limit', ?2, 'now')",
        &[
            v(note_of(MAX_CHECKPOINT_NOTE_BYTES)),
            v(note_of(MAX_CHECKPOINT_NOTE_BYTES + 1)),
        ],
    );
    let ledger = open(&f.path);
    let report = ledger.verify(&[]).unwrap();
    assert_eq!(
        report.findings,
        vec![
            LedgerFinding::OutsideCheckpointSignature {
                source_name: "at limit".to_owned()
            },
            LedgerFinding::OutsideCheckpointTooLarge {
                source_name: "past limit".to_owned(),
                limit: MAX_CHECKPOINT_NOTE_BYTES
            },
        ]
    );
    assert_eq!(ledger.outside_checkpoint_count().unwrap(), 2);
    assert!(!ledger
        .has_outside_checkpoint(&latest_note(&ledger))
        .unwrap());
}

#[test]
fn fail_many_checkpoint_rows_ahead_of_the_ledger_are_not_each_verified() {
    // Copies of a real note under sizes the ledger never reached: each would verify under
    // the log key, so checking every row ahead costs a signature check per row.
    let f = populated(1);
    let size = f.ledger.size().unwrap();
    let note = latest_note(&f.ledger);
    let conn = RawDb::open(&f.path);
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) \
         INSERT INTO checkpoints (size, note) SELECT ?1 + 10 + i, ?2 FROM n",
        &[v(size), v(note)],
    );
    let mut ledger = open(&f.path);
    ledger
        .append(open_case("CASE-MANY"), &investigator(), &log_key())
        .unwrap();
    let report = ledger.verify(&[]).unwrap();
    assert_eq!(report.findings.len(), 5000);
    assert!(report.findings.iter().all(|finding| matches!(
        finding,
        LedgerFinding::CheckpointMalformed { size: s } if *s > size + 1
    )));
}

/// Replaces entry `seq` by `len` bytes of `x`, leaf hash left as it was.
fn bloat_entry(path: &std::path::Path, seq: u64, len: u64) {
    let conn = RawDb::open(path);
    conn.execute(
        "UPDATE entries SET entry = zeroblob(?1) WHERE seq = ?2",
        &[v(len), v(seq)],
    );
}

#[test]
fn fail_entry_past_the_limit_is_reported_not_read() {
    let f = populated(1);
    bloat_entry(&f.path, 2, MAX_ENTRY_BYTES);
    bloat_entry(&f.path, 3, MAX_ENTRY_BYTES + 1);
    let report = open(&f.path).verify(&[]).unwrap();
    // At the limit the entry is read (and is not a signed event); past it, it is not read.
    assert!(
        report
            .findings
            .contains(&LedgerFinding::Unparseable { seq: 2 }),
        "{:#?}",
        report.findings
    );
    assert!(
        report.findings.contains(&LedgerFinding::EntryTooLarge {
            seq: 3,
            limit: MAX_ENTRY_BYTES
        }),
        "{:#?}",
        report.findings
    );
    assert!(!report
        .findings
        .contains(&LedgerFinding::Unparseable { seq: 3 }));
}

#[test]
fn fail_entry_past_the_limit_stops_every_decision() {
    let f = populated(1);
    let size = f.ledger.size().unwrap();
    // The last entry, so that a reader that skipped it would still reach the checkpoint.
    bloat_entry(&f.path, size - 1, MAX_ENTRY_BYTES + 1);
    let mut ledger = open(&f.path);
    let refused = ledger
        .append(open_case("CASE-BLOAT"), &investigator(), &log_key())
        .unwrap_err();
    assert!(
        matches!(&refused, StoreError::UnverifiedEntry { finding }
            if **finding == LedgerFinding::EntryTooLarge { seq: size - 1, limit: MAX_ENTRY_BYTES }),
        "{refused:?}"
    );
    assert!(matches!(
        ledger.entry(size - 1),
        Err(StoreError::UnverifiedEntry { .. })
    ));
    // reindex skips it (verify reports it) rather than loading it.
    ledger.reindex().unwrap();
}

#[test]
fn fail_event_whose_entry_would_pass_the_limit_is_not_appended() {
    let mut f = populated(1);
    let size = f.ledger.size().unwrap();
    let mut draft = open_case("CASE-HUGE");
    draft.fields.notes = Some("n".repeat(usize::try_from(MAX_ENTRY_BYTES).unwrap()));
    let refused = f
        .ledger
        .append(draft, &investigator(), &log_key())
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::EntryTooLarge { seq, limit, .. }
            if seq == size && limit == MAX_ENTRY_BYTES),
        "{refused:?}"
    );
    assert_eq!(f.ledger.size().unwrap(), size);
}

#[test]
fn fail_hash_columns_of_the_wrong_length_are_findings() {
    let f = populated(2);
    let conn = RawDb::open(&f.path);
    let big = 16u64 << 20;
    conn.execute(
        "UPDATE entries SET leaf_hash = zeroblob(?1) WHERE seq = 1",
        &[v(big)],
    );
    conn.execute(
        "UPDATE nodes SET hash = zeroblob(?1) WHERE level = 1 AND idx = 1",
        &[v(big)],
    );
    conn.execute(
        "INSERT INTO nodes (level, idx, hash) VALUES (40, 0, zeroblob(?1))",
        &[v(big)],
    );
    let report = open(&f.path).verify(&[]).unwrap();
    assert_eq!(
        report.findings,
        vec![
            LedgerFinding::LeafHashMismatch { seq: 1 },
            LedgerFinding::NodeMismatch { level: 1, index: 1 },
            LedgerFinding::NodeMismatch {
                level: 40,
                index: 0
            },
        ]
    );
}

#[test]
fn fail_meta_value_past_the_limit_is_not_a_ledger_that_opens() {
    let f = populated(1);
    let conn = RawDb::open(&f.path);
    let origin = conn
        .one("SELECT value FROM meta WHERE key = 'origin'", &[])
        .text();
    conn.execute(
        "UPDATE meta SET value = ?1 || value WHERE key = 'origin'",
        &[v("o".repeat(
            usize::try_from(MAX_META_VALUE_BYTES).unwrap() - origin.len(),
        ))],
    );
    // At the limit it is read (and names another log than the entries do).
    let at_limit = Ledger::open(&f.path).unwrap();
    assert_eq!(at_limit.origin().len() as u64, MAX_META_VALUE_BYTES);
    drop(at_limit);
    conn.execute(
        "UPDATE meta SET value = 'o' || value WHERE key = 'origin'",
        &[],
    );
    assert!(matches!(
        Ledger::open(&f.path),
        Err(StoreError::CorruptMeta { key: "origin" })
    ));
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Ledger::init(
            &dir.path().join("new.db"),
            &"o".repeat(usize::try_from(MAX_META_VALUE_BYTES).unwrap() + 1),
            &investigator(),
            &log_key()
        ),
        Err(StoreError::InvalidOrigin { .. })
    ));
}
