//! `custody ledger snapshot` through the real binary: reads start from the signed snapshot
//! and decide what a full replay decides, `ledger verify` reports a snapshot edited with SQL,
//! and `audit --case` says exactly what it checked.

use crate::ledger::{custody, ledger_with_alice, with_bob_case_and_item};

fn snapshotted() -> crate::harness::Sandbox {
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    let run = custody(&sb, &["ledger", "snapshot", "--json"]).expect(0);
    let size = run.json()["snapshot_size"].as_u64().unwrap();
    assert!(size > 1);
    custody(
        &sb,
        &[
            "event",
            "C-1-1",
            "stored",
            "--key",
            "alice.key",
            "--place",
            "Evidence room 3",
        ],
    )
    .expect(0);
    sb
}

#[test]
fn reads_after_a_snapshot_give_what_a_full_replay_gives() {
    let sb = snapshotted();
    let log = custody(&sb, &["log", "--case", "C-1"]).expect(0).stdout;
    let items = custody(&sb, &["item", "list", "--json"]).expect(0).stdout;
    custody(&sb, &["ledger", "verify"]).expect(0);
    // The same answers with the snapshot gone (every entry replayed).
    let conn = rusqlite::Connection::open(sb.path("custody.db")).unwrap();
    conn.execute("DELETE FROM snapshots", []).unwrap();
    drop(conn);
    assert_eq!(
        custody(&sb, &["log", "--case", "C-1"]).expect(0).stdout,
        log
    );
    assert_eq!(
        custody(&sb, &["item", "list", "--json"]).expect(0).stdout,
        items
    );
}

#[test]
fn audit_of_one_case_says_what_it_checked_and_full_checks_all() {
    let sb = snapshotted();
    let text = custody(&sb, &["audit", "--case", "C-1"]).expect(0).stdout;
    assert!(
        text.starts_with("verified for this case: ledger custody.db, case C-1: 1 item(s), 2 item event(s); 0 finding(s) failing the verdict, 0 custody gap(s)\n  checked: case C-1 only: its 3 entries one by one"),
        "{text}"
    );
    assert!(
        text.contains("from the log key's signed snapshot at size "),
        "{text}"
    );
    assert!(text.contains("--full"), "{text}");
    let report = custody(&sb, &["audit", "--case", "C-1", "--json"])
        .expect(0)
        .json();
    assert_eq!(report["verdict"], "verified");
    assert_eq!(report["scope"]["coverage"]["check"], "case");
    assert_eq!(report["scope"]["coverage"]["entries_checked"], 3);
    let full = custody(&sb, &["audit", "--case", "C-1", "--full", "--json"])
        .expect(0)
        .json();
    assert_eq!(full["scope"]["coverage"]["check"], "ledger");
    let text = custody(&sb, &["audit", "--case", "C-1", "--full"])
        .expect(0)
        .stdout;
    assert!(
        text.starts_with("verified: ledger custody.db, case C-1:"),
        "{text}"
    );
    custody(&sb, &["audit", "--full"]).expect(2);
}

#[test]
fn fail_snapshot_edited_with_sql_is_ignored_by_reads_and_reported_by_verify() {
    let sb = snapshotted();
    let log = custody(&sb, &["log", "--case", "C-1"]).expect(0).stdout;
    let conn = rusqlite::Connection::open(sb.path("custody.db")).unwrap();
    conn.execute("UPDATE snapshots SET size = size - 1", [])
        .unwrap();
    drop(conn);
    assert_eq!(
        custody(&sb, &["log", "--case", "C-1"]).expect(0).stdout,
        log
    );
    let report = custody(&sb, &["ledger", "verify", "--json"])
        .expect(1)
        .json();
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["snapshot_signature"]);
    let audit = custody(&sb, &["audit", "--case", "C-1", "--full", "--json"])
        .expect(1)
        .json();
    assert_eq!(audit["verdict"], "failed");
}

#[test]
fn fail_snapshot_needs_the_ledgers_log_key() {
    let sb = ledger_with_alice();
    let run = custody(&sb, &["ledger", "snapshot", "--log-key", "alice.key"]).expect(2);
    assert!(
        run.stderr.contains("is not the one ledger"),
        "{}",
        run.stderr
    );
    let conn = rusqlite::Connection::open(sb.path("custody.db")).unwrap();
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'snapshots'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0);
}
