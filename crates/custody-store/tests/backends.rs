//! The same ledger on both stores: every scenario here runs on a SQLite file and on a
//! PostgreSQL database of a throw-away cluster (see `common::pg`), and must give the same
//! answers: appends, proofs, reopening, reindexing, preconditions, and the attacks on the
//! stored rows that `verify` and the database itself must catch.

mod common;

use common::pg::PgCluster;
use common::*;
use custody_core::merkle;
use custody_store::{EventKind, Ledger, LedgerFinding, StoreError};

/// Runs `scenario` on a fresh ledger with an enrolled officer, a case and three items, on
/// each store in turn.
fn on_both_stores(scenario: impl Fn(&Backend<'_>, Fixture)) {
    let cluster = PgCluster::start();
    for backend in [Backend::Sqlite, Backend::Postgres(&cluster)] {
        let mut f = new_ledger_on(&backend);
        let (alice, log) = (investigator(), log_key());
        f.ledger.append(enrol(&officer()), &alice, &log).unwrap();
        f.ledger.append(open_case("C-1"), &alice, &log).unwrap();
        let drafts = (1..=3)
            .map(|i| acquire("C-1", &format!("E{i}"), T0))
            .collect();
        f.ledger.append_batch(drafts, &alice, &log).unwrap();
        scenario(&backend, f);
    }
}

/// Raw SQL against the ledger's database, as someone with database access runs it, with
/// the append-only triggers out of the way.
fn raw_sql(backend: &Backend<'_>, f: &Fixture, sql: &str) -> Result<(), String> {
    match backend {
        Backend::Sqlite => raw(&f.path).execute_batch(sql).map_err(|e| e.to_string()),
        Backend::Postgres(_) => {
            let url = f.path.to_str().unwrap();
            let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
            client
                .batch_execute(&format!(
                    "ALTER TABLE entries DISABLE TRIGGER USER; {sql}; \
                     ALTER TABLE entries ENABLE TRIGGER USER;"
                ))
                .map_err(|e| e.to_string())
        }
    }
}

#[test]
fn appended_ledger_reopens_verifies_and_proves_on_both_stores() {
    on_both_stores(|backend, mut f| {
        let name = backend.name();
        assert_eq!(f.ledger.size().unwrap(), 6, "{name}");
        f.ledger
            .append(
                on_item(EventKind::Examined, "C-1", "E2", T0),
                &investigator(),
                &log_key(),
            )
            .unwrap();
        let ledger = Ledger::open(&f.path).unwrap();
        assert_eq!(ledger.size().unwrap(), 7, "{name}");
        let report = ledger.verify(&[]).unwrap();
        assert!(report.is_clean(), "{name}: {:#?}", report.findings);
        assert_eq!(report.size, 7);
        let (checkpoint, _) = ledger.latest_checkpoint().unwrap();
        assert_eq!(checkpoint.size, 7, "{name}");
        let entry = ledger.entry(6).unwrap();
        let proof = ledger.inclusion_proof(6, 7).unwrap();
        proof
            .verify(&merkle::leaf_hash(&entry.bytes), &checkpoint.root)
            .unwrap();
        let old_root = ledger.root_at(4).unwrap();
        ledger
            .consistency_proof(4, 7)
            .unwrap()
            .verify(&old_root, &checkpoint.root)
            .unwrap();
        assert_eq!(ledger.item_history("E2").unwrap().len(), 2, "{name}");
        assert_eq!(ledger.items(Some("C-1")).unwrap().len(), 3, "{name}");
        let mut ledger = ledger;
        ledger.reindex().unwrap();
        assert!(ledger.verify(&[]).unwrap().is_clean(), "{name}");
    });
}

#[test]
fn fail_refused_precondition_appends_nothing_on_both_stores() {
    on_both_stores(|backend, mut f| {
        let result = f
            .ledger
            .append_batch_if(
                vec![on_item(EventKind::Examined, "C-1", "E1", T0)],
                &investigator(),
                &log_key(),
                |view| {
                    if view.size() == 6 {
                        Err("refused")
                    } else {
                        Ok(())
                    }
                },
            )
            .unwrap();
        assert_eq!(result, Err("refused"), "{}", backend.name());
        let ledger = Ledger::open(&f.path).unwrap();
        assert_eq!(ledger.size().unwrap(), 6, "{}", backend.name());
        assert!(ledger.verify(&[]).unwrap().is_clean());
    });
}

#[test]
fn fail_entry_edited_with_sql_is_found_on_both_stores() {
    on_both_stores(|backend, f| {
        let name = backend.name();
        let edit = match backend {
            Backend::Sqlite => {
                "UPDATE entries SET entry = CAST(replace(CAST(entry AS TEXT), \
                                'Lyon', 'Lyom') AS BLOB) WHERE seq = 4"
            }
            Backend::Postgres(_) => {
                "UPDATE entries SET entry = convert_to(replace(\
                                     convert_from(entry, 'UTF8'), 'Lyon', 'Lyom'), 'UTF8') \
                                     WHERE seq = 4"
            }
        };
        raw_sql(backend, &f, edit).unwrap();
        let report = Ledger::open(&f.path).unwrap().verify(&[]).unwrap();
        for finding in [
            LedgerFinding::BadSignature { seq: 4 },
            LedgerFinding::LeafHashMismatch { seq: 4 },
        ] {
            assert!(
                report.findings.contains(&finding),
                "{name}: {finding:?} not in {:#?}",
                report.findings
            );
        }
        // Decisions refuse the edited entry too: it is an error, never an answer.
        let ledger = Ledger::open(&f.path).unwrap();
        assert!(
            matches!(
                ledger.entry(4),
                Err(StoreError::SignedCheckpointMismatch { size: 6 })
            ),
            "{name}: {:?}",
            ledger.entry(4)
        );
    });
}

#[test]
fn fail_second_entry_for_a_taken_seq_is_refused_by_the_database() {
    on_both_stores(|backend, f| {
        // Someone bypassing the append path (and its lock) cannot fork the tree: the
        // database holds one entry per seq.
        let result = raw_sql(
            backend,
            &f,
            "INSERT INTO entries (seq, entry, leaf_hash) SELECT seq, entry, leaf_hash \
             FROM entries WHERE seq = 5",
        );
        assert!(result.is_err(), "{}", backend.name());
        assert!(Ledger::open(&f.path)
            .unwrap()
            .verify(&[])
            .unwrap()
            .is_clean());
    });
}

#[test]
fn fail_entries_cannot_be_updated_or_deleted_through_the_triggers() {
    on_both_stores(|backend, f| {
        let url_or_path = f.path.clone();
        let refused = match backend {
            Backend::Sqlite => {
                let conn = rusqlite::Connection::open(&url_or_path).unwrap();
                [
                    conn.execute("DELETE FROM entries WHERE seq = 1", [])
                        .is_err(),
                    conn.execute("UPDATE entries SET entry = x'00' WHERE seq = 1", [])
                        .is_err(),
                ]
            }
            Backend::Postgres(_) => {
                let url = url_or_path.to_str().unwrap();
                let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
                [
                    client
                        .execute("DELETE FROM entries WHERE seq = 1", &[])
                        .is_err(),
                    client
                        .execute("UPDATE entries SET entry = '\\x00' WHERE seq = 1", &[])
                        .is_err(),
                ]
            }
        };
        assert_eq!(refused, [true, true], "{}", backend.name());
    });
}

#[test]
fn fail_init_over_an_existing_ledger_changes_nothing_on_both_stores() {
    on_both_stores(|backend, f| {
        let name = backend.name();
        let again = Ledger::init(&f.path, ORIGIN, &officer(), &log_key());
        assert!(
            matches!(again, Err(StoreError::AlreadyExists { .. })),
            "{name}: {again:?}"
        );
        let ledger = Ledger::open(&f.path).unwrap();
        assert_eq!(ledger.size().unwrap(), 6, "{name}");
        assert!(ledger.verify(&[]).unwrap().is_clean(), "{name}");
    });
}

/// An open ledger can move to the thread that serves it, on either store.
#[test]
fn an_open_ledger_moves_between_threads() {
    on_both_stores(|backend, f| {
        let ledger = f.ledger;
        let size = std::thread::spawn(move || ledger.size().unwrap())
            .join()
            .unwrap();
        assert_eq!(size, 6, "{}", backend.name());
    });
}

#[test]
fn fail_entry_past_the_limit_is_reported_not_read_on_both_stores() {
    use custody_store::ledger::MAX_ENTRY_BYTES;
    on_both_stores(|backend, f| {
        let name = backend.name();
        // On PostgreSQL a value this repetitive is stored compressed: its length must still
        // be judged as the value's, without loading it.
        let bloat = |seq: u64, len: u64| match backend {
            Backend::Sqlite => {
                format!("UPDATE entries SET entry = zeroblob({len}) WHERE seq = {seq}")
            }
            Backend::Postgres(_) => format!(
                "UPDATE entries SET entry = convert_to(repeat('a', {len}), 'UTF8') \
                 WHERE seq = {seq}"
            ),
        };
        raw_sql(backend, &f, &bloat(4, MAX_ENTRY_BYTES)).unwrap();
        raw_sql(backend, &f, &bloat(5, MAX_ENTRY_BYTES + 1)).unwrap();
        let report = Ledger::open(&f.path).unwrap().verify(&[]).unwrap();
        let findings = &report.findings;
        // At the limit the entry is read (and is not a signed event); past it, it is not.
        assert!(
            findings.contains(&LedgerFinding::Unparseable { seq: 4 }),
            "{name}: {findings:#?}"
        );
        assert!(
            findings.contains(&LedgerFinding::EntryTooLarge {
                seq: 5,
                limit: MAX_ENTRY_BYTES
            }),
            "{name}: {findings:#?}"
        );
        assert!(
            !findings.contains(&LedgerFinding::Unparseable { seq: 5 }),
            "{name}"
        );
    });
}

#[test]
fn fail_postgresql_database_without_a_ledger_schema_is_refused() {
    let cluster = PgCluster::start();
    let empty = std::path::PathBuf::from(cluster.fresh_database());
    assert!(
        matches!(Ledger::open(&empty), Err(StoreError::NoLedger { .. })),
        "{:?}",
        Ledger::open(&empty)
    );
    let f = new_ledger_on(&Backend::Postgres(&cluster));
    let url = f.path.to_str().unwrap();
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    client
        .execute(
            "UPDATE meta SET value = 'custody-ledger 2' WHERE key = 'schema'",
            &[],
        )
        .unwrap();
    assert!(matches!(
        Ledger::open(&f.path),
        Err(StoreError::NewerSchema {
            found: 2,
            supported: 1
        })
    ));
    for mark in ["custody-ledger 0", "something else"] {
        client
            .execute("UPDATE meta SET value = $1 WHERE key = 'schema'", &[&mark])
            .unwrap();
        assert!(
            matches!(
                Ledger::open(&f.path),
                Err(StoreError::NotALedger { found: 0, .. })
            ),
            "{mark}"
        );
    }
    client
        .execute("DELETE FROM meta WHERE key = 'schema'", &[])
        .unwrap();
    assert!(matches!(
        Ledger::open(&f.path),
        Err(StoreError::NotALedger { found: 0, .. })
    ));
}

/// The stores' integer columns are signed: someone with SQL access writes negative seqs,
/// node positions and checkpoint sizes (on PostgreSQL after dropping the
/// `CHECK (seq >= 0)`). None of them is ever taken for a position of the ledger: the rows
/// are findings or are never read, nothing panics, and the ledger's own entries decide.
#[test]
fn fail_negative_positions_written_with_sql_are_never_positions_on_both_stores() {
    on_both_stores(|backend, mut f| {
        let name = backend.name();
        let note = latest_note(&f.ledger);
        let db = RawDb::open(&f.path);
        if db.is_postgres() {
            db.execute("ALTER TABLE entries DROP CONSTRAINT entries_seq_check", &[]);
        }
        db.execute(
            "INSERT INTO entries (seq, entry, leaf_hash) \
             SELECT -1, entry, leaf_hash FROM entries WHERE seq = 1",
            &[],
        );
        db.execute(
            "INSERT INTO nodes (level, idx, hash) VALUES (1, -1, zeroblob(32)), (-1, 0, zeroblob(32))",
            &[],
        );
        db.execute(
            "INSERT INTO checkpoints (size, note) VALUES (-3, ?1)",
            &[v(&note)],
        );
        drop(db);
        let ledger = Ledger::open(&f.path).unwrap();
        assert_eq!(ledger.size().unwrap(), 6, "{name}");
        let report = ledger.verify(&[]).unwrap();
        // Read back, a negative level, index or size is the largest there is: the node rows
        // are out of place at their level, the checkpoint is ahead of every ledger (its note
        // is for another size); the entry at seq -1 is outside the ledger and never read.
        assert_eq!(
            report.findings,
            vec![
                LedgerFinding::NodeMismatch {
                    level: u32::MAX,
                    index: 0
                },
                LedgerFinding::NodeMismatch { level: 1, index: 0 },
                LedgerFinding::CheckpointMalformed { size: u64::MAX },
            ],
            "{name}"
        );
        drop(ledger);
        f.ledger
            .append(open_case("C-2"), &investigator(), &log_key())
            .unwrap();
    });
}

/// The open ledger's connection is dropped between two operations (terminated by the
/// server, then the server crashes and restarts): the next operation connects again once
/// and succeeds. With the server gone for good, an operation fails with a PostgreSQL error
/// at once rather than waiting.
#[test]
fn dropped_connection_between_transactions_is_reopened_once_on_postgresql() {
    let cluster = PgCluster::start();
    let mut f = new_ledger_on(&Backend::Postgres(&cluster));
    let (alice, log) = (investigator(), log_key());
    let db = f
        .path
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    cluster.terminate_sessions(&db);
    f.ledger.append(open_case("C-1"), &alice, &log).unwrap();
    cluster.crash_and_restart();
    f.ledger.append(open_case("C-2"), &alice, &log).unwrap();
    assert_eq!(f.ledger.size().unwrap(), 3);
    assert!(f.ledger.verify(&[]).unwrap().is_clean());
    cluster.stop();
    let refused = f.ledger.append(open_case("C-3"), &alice, &log).unwrap_err();
    assert!(
        matches!(refused, StoreError::Postgres { .. }),
        "{refused:?}"
    );
    assert!(matches!(
        f.ledger.verify(&[]),
        Err(StoreError::Postgres { .. })
    ));
}
