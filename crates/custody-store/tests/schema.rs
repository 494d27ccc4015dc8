//! Opening checks: only a Custody ledger of a schema this build knows is opened.

use custody_store::{Ledger, StoreError};
use rusqlite::Connection;

fn database(application_id: i64, user_version: i64) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA application_id = {application_id}; PRAGMA user_version = {user_version}; \
         CREATE TABLE t (x);"
    ))
    .unwrap();
    (dir, path)
}

#[test]
fn fail_wrong_application_id_is_not_a_ledger() {
    let (_dir, path) = database(0x1234, 1);
    match Ledger::open(&path) {
        Err(StoreError::NotALedger { found, path: p }) => {
            assert_eq!(found, 0x1234);
            assert_eq!(p, path);
        }
        other => panic!("expected NotALedger, got {other:?}"),
    }
}

#[test]
fn fail_plain_sqlite_file_is_not_a_ledger() {
    let (_dir, path) = database(0, 0);
    assert!(matches!(
        Ledger::open(&path),
        Err(StoreError::NotALedger { found: 0, .. })
    ));
}

#[test]
fn fail_text_file_is_not_a_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(
        &path,
        "this is not a database, just some notes, long enough to matter\n".repeat(20),
    )
    .unwrap();
    assert!(matches!(
        Ledger::open(&path),
        Err(StoreError::NotALedger { .. })
    ));
}

#[test]
fn fail_newer_schema_asks_for_an_upgrade() {
    let (_dir, path) = database(custody_store::ledger::APPLICATION_ID, 2);
    let err = Ledger::open(&path).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NewerSchema {
                found: 2,
                supported: 1
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("newer Custody (schema 2); upgrade"),
        "{err}"
    );
}

#[test]
fn fail_missing_file_is_reported_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.db");
    assert!(matches!(
        Ledger::open(&path),
        Err(StoreError::NoLedger { .. })
    ));
    assert!(!path.exists());
}
