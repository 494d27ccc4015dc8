//! Extreme values written into ledger rows with raw SQL (times at and past the edges of the
//! calendar, offsets at their limits, integers past every width): `verify` reports a finding
//! naming the seq and `reindex` finishes or fails with an error; neither panics.

mod common;

use common::*;
use custody_store::{LedgerFinding, LedgerReport};

/// Replaces `from` by `to` in the entry at `seq`, as an attacker with database access would
/// (triggers dropped, leaf hash left as it was).
fn edit_entry(path: &std::path::Path, seq: u64, from: &str, to: &str) {
    let db = RawDb::open(path);
    let bytes = db
        .one("SELECT entry FROM entries WHERE seq = ?1", &[v(seq)])
        .bytes();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains(from), "entry {seq} holds no {from:?}: {text}");
    let edited = text.replacen(from, to, 1);
    db.execute(
        "UPDATE entries SET entry = ?1 WHERE seq = ?2",
        &[v(edited.as_bytes()), v(seq)],
    );
}

fn names_seq(report: &LedgerReport, seq: u64) -> bool {
    report.findings.iter().any(|f| match f {
        LedgerFinding::BadSignature { seq: s }
        | LedgerFinding::Unparseable { seq: s }
        | LedgerFinding::LeafHashMismatch { seq: s } => *s == seq,
        _ => false,
    })
}

/// Times an attacker may write: the last instant the calendar holds, years past it (which
/// RFC 3339 cannot even spell with four digits), offsets at ±23:59 that push the UTC instant
/// past either end, a leap second, and the first instant of year 0.
const EXTREME_TIMES: &[&str] = &[
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59.999999999Z",
    "9999-12-31T23:59:60Z",
    "+999999-12-31T23:59:59Z",
    "-999999-01-01T00:00:00Z",
    "9999-12-31T23:59:59-23:59",
    "0000-01-01T00:00:00+23:59",
    "0000-01-01T00:00:00Z",
    "99999-01-01T00:00:00Z",
];

#[test]
fn fail_extreme_recorded_time_is_a_finding_not_a_panic() {
    for &time in EXTREME_TIMES {
        let mut f = populated(2);
        let entry = f.ledger.entry(3).unwrap();
        let recorded = entry.signed.event.recorded_time.clone();
        edit_entry(&f.path, 3, &recorded, time);
        let report = open(&f.path).verify(&[]).unwrap();
        assert!(names_seq(&report, 3), "{time}: {:#?}", report.findings);
        // Reindex describes the entries as they are; it must not panic.
        let _ = f.ledger.reindex();
    }
}

#[test]
fn fail_extreme_claimed_time_is_a_finding_not_a_panic() {
    for &time in EXTREME_TIMES {
        let mut f = populated(2);
        let entry = f.ledger.entry(3).unwrap();
        let claimed = entry.signed.event.claimed_time.clone();
        edit_entry(&f.path, 3, &claimed, time);
        let report = open(&f.path).verify(&[]).unwrap();
        assert!(names_seq(&report, 3), "{time}: {:#?}", report.findings);
        let _ = f.ledger.reindex();
    }
}

#[test]
fn fail_every_time_of_a_later_entry_at_the_limit_is_a_finding_not_a_panic() {
    // Both times of the last entry at the end of the calendar, then the one after it normal:
    // "recorded time went backwards" must be judged without arithmetic that overflows.
    let mut f = populated(3);
    // Read before editing: once edited, the entry no longer matches the signed checkpoint
    // and the ledger refuses to hand it out.
    let event = f.ledger.entry(3).unwrap().signed.event;
    edit_entry(&f.path, 3, &event.recorded_time, "9999-12-31T23:59:59Z");
    edit_entry(&f.path, 3, &event.claimed_time, "9999-12-31T23:59:59-23:59");
    let report = open(&f.path).verify(&[]).unwrap();
    assert!(names_seq(&report, 3), "{:#?}", report.findings);
    assert!(
        report
            .findings
            .contains(&LedgerFinding::TimeWentBackwards { seq: 4 }),
        "{:#?}",
        report.findings
    );
    let _ = f.ledger.reindex();
}

#[test]
fn fail_huge_integers_are_findings_not_panics() {
    let huge = [
        "18446744073709551615",
        "9223372036854775807",
        "9223372036854775808",
        "340282366920938463463374607431768211456",
        "-1",
        "1e400",
    ];
    for value in huge {
        for (field, seq) in [("\"seq\":3", 3u64), ("\"size\":3", 3u64)] {
            let mut f = populated(2);
            let name = field.split(':').next().unwrap();
            edit_entry(&f.path, seq, field, &format!("{name}:{value}"));
            let report = open(&f.path).verify(&[]).unwrap();
            assert!(
                names_seq(&report, seq),
                "{field} = {value}: {:#?}",
                report.findings
            );
            let _ = f.ledger.reindex();
        }
    }
}
