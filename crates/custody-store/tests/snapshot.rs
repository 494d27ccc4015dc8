//! Signed state snapshots: an open that starts from one decides exactly what a replay from
//! entry 0 decides, and every snapshot that does not verify is ignored by opens and reported
//! by `verify`. Each scenario runs on a SQLite file and on a PostgreSQL database.

mod common;

use std::path::Path;

use common::pg::PgCluster;
use common::*;
use custody_core::sign;
use custody_store::snapshot::{statement_bytes, SNAPSHOTS_KEPT};
use custody_store::{EventFields, EventKind, Ledger, LedgerFinding};
use sha2::Digest;

/// Runs `scenario` on a ledger with an enrolled officer, a case, three items and some
/// handling, on each store in turn.
fn on_both_stores(scenario: impl Fn(&Backend<'_>, Fixture)) {
    let cluster = PgCluster::start();
    for backend in [Backend::Sqlite, Backend::Postgres(&cluster)] {
        let f = handled_ledger_on(&backend);
        scenario(&backend, f);
    }
}

fn handled_ledger_on(backend: &Backend<'_>) -> Fixture {
    let mut f = new_ledger_on(backend);
    let (alice, log) = (investigator(), log_key());
    f.ledger.append(enrol(&officer()), &alice, &log).unwrap();
    f.ledger.append(open_case("C-1"), &alice, &log).unwrap();
    f.ledger.append(open_case("C-2"), &alice, &log).unwrap();
    let drafts = (1..=3)
        .map(|i| acquire(if i == 3 { "C-2" } else { "C-1" }, &format!("E{i}"), T0))
        .collect();
    f.ledger.append_batch(drafts, &alice, &log).unwrap();
    f.ledger
        .append(on_item(EventKind::Examined, "C-1", "E2", T0), &alice, &log)
        .unwrap();
    f
}

/// Raw SQL against the ledger's database, as someone with database access runs it.
fn raw_sql(backend: &Backend<'_>, path: &Path, sql: &str) {
    match backend {
        Backend::Sqlite => raw(path).execute_batch(sql).unwrap(),
        Backend::Postgres(_) => {
            let mut client =
                postgres::Client::connect(path.to_str().unwrap(), postgres::NoTls).unwrap();
            client.batch_execute(sql).unwrap();
        }
    }
}

/// The newest snapshot row as stored: `(size, root, signature, state)`.
type Row = (i64, Vec<u8>, String, Vec<u8>);

fn newest_row(backend: &Backend<'_>, path: &Path) -> Row {
    let sql = "SELECT size, root, signature, state FROM snapshots ORDER BY size DESC LIMIT 1";
    match backend {
        Backend::Sqlite => raw(path)
            .query_row(sql, [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .unwrap(),
        Backend::Postgres(_) => {
            let mut client =
                postgres::Client::connect(path.to_str().unwrap(), postgres::NoTls).unwrap();
            let r = client.query_one(sql, &[]).unwrap();
            (r.get(0), r.get(1), r.get(2), r.get(3))
        }
    }
}

/// Replaces every snapshot row of the ledger at `path` with `row`.
fn put_row(backend: &Backend<'_>, path: &Path, row: &Row) {
    match backend {
        Backend::Sqlite => {
            let conn = raw(path);
            conn.execute("DELETE FROM snapshots", []).unwrap();
            conn.execute(
                "INSERT INTO snapshots (size, root, signature, state) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![row.0, row.1, row.2, row.3],
            )
            .unwrap();
        }
        Backend::Postgres(_) => {
            let mut client =
                postgres::Client::connect(path.to_str().unwrap(), postgres::NoTls).unwrap();
            client.execute("DELETE FROM snapshots", &[]).unwrap();
            client
                .execute(
                    "INSERT INTO snapshots (size, root, signature, state) VALUES ($1, $2, $3, $4)",
                    &[&row.0, &row.1, &row.2, &row.3],
                )
                .unwrap();
        }
    }
}

/// Everything an open decides from, as text: items, cases, actors, every history, the
/// latest checkpoint; or the error that refused it.
fn decisions(path: &Path) -> String {
    let ledger = match Ledger::open(path) {
        Ok(l) => l,
        Err(e) => return format!("open refused: {e:?}"),
    };
    let read = || -> Result<String, custody_store::StoreError> {
        let items = ledger.items(None)?;
        let cases = ledger.cases()?;
        let mut text = format!("{items:?}\n{cases:?}\n{:?}\n", ledger.actors()?);
        for item in &items {
            let seqs: Vec<u64> = ledger
                .item_history(&item.item)?
                .iter()
                .map(|e| e.seq)
                .collect();
            text.push_str(&format!("{} {seqs:?}\n", item.item));
        }
        for case in &cases {
            let seqs: Vec<u64> = ledger
                .case_history(&case.case)?
                .iter()
                .map(|e| e.seq)
                .collect();
            text.push_str(&format!("{} {seqs:?}\n", case.case));
        }
        text.push_str(&ledger.latest_checkpoint()?.1);
        Ok(text)
    };
    read().unwrap_or_else(|e| format!("refused: {e:?}"))
}

fn replayed_from(path: &Path) -> Option<u64> {
    Ledger::open(path)
        .unwrap()
        .replayed_from_snapshot()
        .unwrap()
}

fn drop_snapshots(backend: &Backend<'_>, path: &Path) {
    raw_sql(backend, path, "DELETE FROM snapshots");
}

/// The snapshot signature an attacker holding `key` makes over `state` for `size`, `root`.
fn signed_by(key: &custody_core::keys::Identity, origin: &str, row: &Row) -> String {
    let digest: [u8; 32] = sha2::Sha256::digest(&row.3).into();
    let root: [u8; 32] = row.1.clone().try_into().unwrap();
    let statement = statement_bytes(origin, row.0 as u64, &root, &digest).unwrap();
    sign::signature_to_hex(&sign::sign_canonical(
        key,
        sign::CONTEXT_STATE_SNAPSHOT,
        &statement,
    ))
}

fn findings(path: &Path) -> Vec<LedgerFinding> {
    Ledger::open(path).unwrap().verify(&[]).unwrap().findings
}

#[test]
fn open_from_a_snapshot_decides_what_a_full_replay_decides() {
    on_both_stores(|backend, mut f| {
        let name = backend.name();
        let (alice, log) = (investigator(), log_key());
        let at = f.ledger.write_snapshot(&log).unwrap();
        assert_eq!(at, 8, "{name}");
        // Entries after the snapshot are replayed as before.
        f.ledger
            .append(on_item(EventKind::Sealed, "C-1", "E1", T0), &alice, &log)
            .unwrap();
        f.ledger.append(open_case("C-3"), &alice, &log).unwrap();
        assert_eq!(replayed_from(&f.path), Some(at), "{name}");
        let fast = decisions(&f.path);
        assert!(!fast.contains("refused"), "{name}: {fast}");
        assert!(findings(&f.path).is_empty(), "{name}");
        drop_snapshots(backend, &f.path);
        assert_eq!(replayed_from(&f.path), None, "{name}");
        assert_eq!(decisions(&f.path), fast, "{name}");
        // An append decides from the same state: the snapshot's.
        let mut ledger = Ledger::open(&f.path).unwrap();
        ledger.write_snapshot(&log).unwrap();
        let mut reopened = Ledger::open(&f.path).unwrap();
        reopened
            .append(on_item(EventKind::Examined, "C-2", "E3", T0), &alice, &log)
            .unwrap();
        assert_eq!(
            reopened.replayed_from_snapshot().unwrap(),
            Some(10),
            "{name}"
        );
        assert!(findings(&f.path).is_empty(), "{name}");
    });
}

#[test]
fn appends_write_a_snapshot_every_interval_and_keep_the_newest() {
    on_both_stores(|backend, mut f| {
        let name = backend.name();
        let (alice, log) = (investigator(), log_key());
        f.ledger.set_snapshot_interval(4);
        for _ in 0..9 {
            f.ledger
                .append(on_item(EventKind::Examined, "C-1", "E1", T0), &alice, &log)
                .unwrap();
        }
        // 8 entries before; crossing 12 and 16 wrote snapshots at 12 and 16, and the one
        // at 8 was not written (no crossing), nor kept beyond the newest two.
        let sizes = f.ledger.snapshot_sizes().unwrap();
        assert_eq!(sizes, vec![16, 12], "{name}");
        assert_eq!(sizes.len(), SNAPSHOTS_KEPT);
        assert_eq!(replayed_from(&f.path), Some(16), "{name}");
        assert!(findings(&f.path).is_empty(), "{name}");
    });
}

/// The snapshot at `size` is ignored by opens (which decide as a full replay does) and
/// reported by `verify` as `finding`.
fn assert_ignored_and_reported(
    backend: &Backend<'_>,
    path: &Path,
    expected_decisions: &str,
    finding: LedgerFinding,
) {
    let name = backend.name();
    assert_eq!(replayed_from(path), None, "{name}");
    assert_eq!(decisions(path), expected_decisions, "{name}");
    let found = findings(path);
    assert!(found.contains(&finding), "{name}: {found:?}");
}

#[test]
fn fail_snapshot_row_edited_is_ignored_and_reported() {
    on_both_stores(|backend, mut f| {
        f.ledger.write_snapshot(&log_key()).unwrap();
        let expected = decisions(&f.path);
        let good = newest_row(backend, &f.path);
        let size = good.0 as u64;
        // The state bytes: one character of a case title.
        let mut row = good.clone();
        let at = row.3.windows(6).position(|w| w == b"Fraude").unwrap();
        row.3[at] = b'f';
        put_row(backend, &f.path, &row);
        assert_ignored_and_reported(
            backend,
            &f.path,
            &expected,
            LedgerFinding::SnapshotSignature { size },
        );
        // The size it claims.
        let mut row = good.clone();
        row.0 -= 1;
        put_row(backend, &f.path, &row);
        assert_ignored_and_reported(
            backend,
            &f.path,
            &expected,
            LedgerFinding::SnapshotSignature { size: size - 1 },
        );
        // The root it claims.
        let mut row = good.clone();
        row.1[0] ^= 1;
        put_row(backend, &f.path, &row);
        assert_ignored_and_reported(
            backend,
            &f.path,
            &expected,
            LedgerFinding::SnapshotSignature { size },
        );
        // The signature: another valid-looking one, and one that is not hex.
        for signature in ["0".repeat(128), "zz".to_owned(), "a".repeat(129)] {
            let mut row = good.clone();
            row.2 = signature;
            put_row(backend, &f.path, &row);
            assert_ignored_and_reported(
                backend,
                &f.path,
                &expected,
                LedgerFinding::SnapshotSignature { size },
            );
        }
        put_row(backend, &f.path, &good);
        assert_eq!(replayed_from(&f.path), Some(size));
    });
}

#[test]
fn fail_snapshot_signed_by_another_key_or_for_another_origin_is_ignored_and_reported() {
    on_both_stores(|backend, mut f| {
        let log = log_key();
        f.ledger.write_snapshot(&log).unwrap();
        let expected = decisions(&f.path);
        let mut row = newest_row(backend, &f.path);
        let size = row.0 as u64;
        // Signed by another key, for this ledger's origin and root.
        let stranger = identity("stranger", 77);
        row.2 = signed_by(&stranger, ORIGIN, &row);
        put_row(backend, &f.path, &row);
        assert_ignored_and_reported(
            backend,
            &f.path,
            &expected,
            LedgerFinding::SnapshotSignature { size },
        );
        // Signed by the log key, but for another origin.
        row.2 = signed_by(&log, "other.example/custody", &row);
        put_row(backend, &f.path, &row);
        assert_ignored_and_reported(
            backend,
            &f.path,
            &expected,
            LedgerFinding::SnapshotSignature { size },
        );
    });
}

#[test]
fn fail_snapshot_of_another_ledger_with_the_same_key_is_a_mismatch() {
    on_both_stores(|backend, mut f| {
        let log = log_key();
        f.ledger.write_snapshot(&log).unwrap();
        let expected = decisions(&f.path);
        // A second ledger of the same origin and log key, one entry different.
        let mut twin = handled_ledger_on(backend);
        twin.ledger
            .append(open_case("C-9"), &investigator(), &log)
            .unwrap();
        twin.ledger.write_snapshot(&log).unwrap();
        f.ledger
            .append(open_case("C-8"), &investigator(), &log)
            .unwrap();
        let expected_after = decisions(&f.path);
        assert_ne!(expected, expected_after);
        let row = newest_row(backend, &twin.path);
        put_row(backend, &f.path, &row);
        // Its signature verifies; its tree is not this ledger's.
        assert_eq!(replayed_from(&f.path), None, "{}", backend.name());
        assert_eq!(decisions(&f.path), expected_after);
        let found = findings(&f.path);
        assert!(
            found.contains(&LedgerFinding::SnapshotMismatch { size: row.0 as u64 }),
            "{found:?}"
        );
    });
}

#[test]
fn fail_snapshot_claiming_more_entries_than_the_ledger_holds() {
    on_both_stores(|backend, mut f| {
        f.ledger.write_snapshot(&log_key()).unwrap();
        let expected = decisions(&f.path);
        let mut row = newest_row(backend, &f.path);
        row.0 = 1_000;
        row.2 = signed_by(&log_key(), ORIGIN, &row);
        put_row(backend, &f.path, &row);
        assert_ignored_and_reported(
            backend,
            &f.path,
            &expected,
            LedgerFinding::SnapshotAhead {
                size: 1_000,
                ledger_size: 8,
            },
        );
    });
}

#[test]
fn fail_snapshot_forged_with_the_log_key_is_caught_by_verify() {
    // Whoever holds the log key can sign a false state, as they can sign a checkpoint over
    // entries whose signatures fail: opens take it (they trust the log key), and the full
    // verification, which replays every entry, reports it.
    on_both_stores(|backend, mut f| {
        let log = log_key();
        f.ledger.write_snapshot(&log).unwrap();
        let mut row = newest_row(backend, &f.path);
        let at = row.3.windows(6).position(|w| w == b"Fraude").unwrap();
        row.3[at..at + 6].copy_from_slice(b"Forged");
        row.2 = signed_by(&log, ORIGIN, &row);
        put_row(backend, &f.path, &row);
        assert_eq!(replayed_from(&f.path), Some(row.0 as u64));
        let found = findings(&f.path);
        assert_eq!(
            found,
            vec![LedgerFinding::SnapshotMismatch { size: row.0 as u64 }],
            "{}",
            backend.name()
        );
    });
}

#[test]
fn fail_entry_written_with_sql_after_the_snapshot_is_refused_as_without_one() {
    on_both_stores(|backend, mut f| {
        f.ledger.write_snapshot(&log_key()).unwrap();
        let size = f.ledger.size().unwrap();
        let mut event = f.ledger.entry(size - 1).unwrap().signed.event;
        event.seq = size;
        event.kind = EventKind::Transferred;
        event.fields = EventFields::default();
        insert_signed_entry(&f.path, event, &investigator());
        let with_snapshot = decisions(&f.path);
        assert!(
            with_snapshot.contains("missing-recipient"),
            "{with_snapshot}"
        );
        drop_snapshots(backend, &f.path);
        assert_eq!(decisions(&f.path), with_snapshot, "{}", backend.name());
    });
}

#[test]
fn snapshot_needs_the_ledgers_log_key() {
    let mut f = handled_ledger_on(&Backend::Sqlite);
    let refused = f
        .ledger
        .write_snapshot(&identity("stranger", 77))
        .unwrap_err();
    assert!(matches!(
        refused,
        custody_store::StoreError::WrongLogKey { .. }
    ));
    assert!(f.ledger.snapshot_sizes().unwrap().is_empty());
}

#[test]
fn custody_of_one_case_read_by_proofs_equals_the_one_pass_answer() {
    // A case whose items' histories are a small part of the ledger is read entry by entry
    // with inclusion proofs; all items are read in one pass over the ledger. Both are the
    // verified answer and must agree.
    let mut f = handled_ledger_on(&Backend::Sqlite);
    let (alice, log) = (investigator(), log_key());
    // 400 events of another case's item: the whole ledger's items take the one pass, case
    // C-1's five events (fewer than one in PROOF_READS) the proofs.
    let others = (0..400)
        .map(|_| on_item(EventKind::Examined, "C-2", "E3", T0))
        .collect();
    f.ledger.append_batch(others, &alice, &log).unwrap();
    f.ledger
        .append(on_item(EventKind::Examined, "C-1", "E1", T0), &alice, &log)
        .unwrap();
    let one_case = f.ledger.custody(Some("C-1")).unwrap();
    let everything = f.ledger.custody(None).unwrap();
    assert_eq!(one_case.len(), 2);
    assert_eq!(everything.len(), 3);
    for item in &one_case {
        assert!(everything.contains(item), "{item:?}");
    }
    let e1 = one_case.iter().find(|c| c.item == "E1").unwrap();
    assert_eq!(e1.last_seq, f.ledger.size().unwrap() - 1);
}
