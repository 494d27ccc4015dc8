//! The embedded store: one SQLite file (bundled SQLite, WAL, `synchronous=FULL`,
//! `application_id` and `user_version` set and checked). An append transaction is
//! `BEGIN IMMEDIATE`: SQLite's one write lock excludes every other appender on the file
//! from the first read of the transaction to its commit, and a deferred read transaction
//! sees one WAL snapshot.

use std::path::{Path, PathBuf};

use custody_core::merkle::Hash;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::{EntryRow, IndexRows, LedgerStore, SnapshotRow, TxMode};
use crate::error::StoreError;
use crate::index;
use crate::ledger::{
    APPLICATION_ID, BOUNDED_ENTRY, BOUNDED_LEAF_HASH, BOUNDED_NOTE, BUSY_TIMEOUT,
    MAX_META_VALUE_BYTES, MAX_OUTSIDE_SOURCE_BYTES, SCHEMA_VERSION,
};
use crate::rules::{ActorRecord, CaseRecord, ItemRecord, State};
use crate::snapshot::MAX_SNAPSHOT_SIGNATURE_BYTES;
use crate::verify::CHUNK_BYTES;

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (seq INTEGER PRIMARY KEY, entry BLOB NOT NULL, leaf_hash BLOB NOT NULL);
CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
    BEGIN SELECT RAISE(ABORT, 'custody ledger entries are append-only'); END;
CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
    BEGIN SELECT RAISE(ABORT, 'custody ledger entries are append-only'); END;
CREATE TABLE nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);
CREATE TABLE outside_checkpoints (id INTEGER PRIMARY KEY, source TEXT NOT NULL,
    note TEXT NOT NULL, added_time TEXT NOT NULL);
CREATE TABLE actors (key TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT, organisation TEXT,
    jurisdiction TEXT, enrolled_seq INTEGER NOT NULL, status TEXT NOT NULL,
    status_seq INTEGER, replaced_by TEXT);
CREATE TABLE cases (case_ref TEXT PRIMARY KEY, title TEXT, legal_authority TEXT,
    opened_seq INTEGER, first_seq INTEGER NOT NULL);
CREATE TABLE items (item TEXT PRIMARY KEY, case_ref TEXT, created_seq INTEGER NOT NULL,
    created_kind TEXT NOT NULL, acquired_time TEXT NOT NULL, size INTEGER, sha256 TEXT,
    blake3 TEXT, state TEXT NOT NULL, holder TEXT, last_seq INTEGER NOT NULL);
CREATE INDEX items_by_case ON items (case_ref, item);
CREATE TABLE item_events (item TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (item, seq)) WITHOUT ROWID;
CREATE TABLE case_events (case_ref TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (case_ref, seq)) WITHOUT ROWID;
";

/// The `snapshots` table (see [`crate::snapshot`]), made by the first snapshot written: a
/// ledger made before snapshots existed opens as it did, with none.
const SNAPSHOTS_TABLE: &str = "CREATE TABLE IF NOT EXISTS snapshots (size INTEGER PRIMARY KEY, \
    root BLOB NOT NULL, signature TEXT NOT NULL, state BLOB NOT NULL)";

/// A value compared with SQLite's signed 64-bit integers.
fn sql_int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Column `i`, a stored seq, size or index. SQLite integers are signed: a negative one
/// (only SQL written past the ledger puts one there) reads as a position no ledger reaches,
/// which the replay refuses, as on PostgreSQL; never as an error or a wrap.
fn position(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(u64::try_from(row.get::<_, i64>(i)?).unwrap_or(u64::MAX))
}

/// Column `i`, a stored tree level, read as [`position`] reads a seq.
fn level(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u32> {
    Ok(u32::try_from(row.get::<_, i64>(i)?).unwrap_or(u32::MAX))
}

/// A ledger in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

impl SqliteStore {
    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        StoreError::sqlite(&self.path)
    }

    /// Creates the file at `path` (which must not exist) with an empty ledger schema whose
    /// `meta` holds `origin` and `log_key` (a C2SP verifier key).
    pub fn create(path: &Path, origin: &str, log_key: &str) -> Result<SqliteStore, StoreError> {
        let err = StoreError::sqlite(path);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(&err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(&err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(&err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(&err)?;
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION}; {SCHEMA}"
        ))
        .map_err(&err)?;
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('origin', ?1), ('log_key', ?2)",
            params![origin, log_key],
        )
        .map_err(&err)?;
        conn.execute_batch("COMMIT").map_err(&err)?;
        Ok(SqliteStore {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Opens the ledger file at `path`, checking that it is one and that this build can
    /// read it.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if !path.exists() {
            return Err(StoreError::NoLedger {
                path: path.to_path_buf(),
            });
        }
        let err = StoreError::sqlite(path);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(&err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(&err)?;
        let not_a_ledger = |found| StoreError::NotALedger {
            path: path.to_path_buf(),
            found,
        };
        let application_id: i64 =
            match conn.pragma_query_value(None, "application_id", |r| r.get(0)) {
                Ok(id) => id,
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::NotADatabase =>
                {
                    return Err(not_a_ledger(0))
                }
                Err(e) => return Err(err(e)),
            };
        if application_id != APPLICATION_ID {
            return Err(not_a_ledger(application_id));
        }
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(&err)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version < 1 {
            return Err(not_a_ledger(application_id));
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(&err)?;
        Ok(SqliteStore {
            conn,
            path: path.to_path_buf(),
        })
    }
}

impl SqliteStore {
    fn has_snapshots_table(&self) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' \
                 AND name = 'snapshots')",
                [],
                |r| r.get(0),
            )
            .map_err(self.err())
    }
}

fn hash_from(blob: Vec<u8>) -> Result<Hash, rusqlite::Error> {
    blob.try_into().map_err(|_| {
        rusqlite::Error::InvalidColumnType(0, "hash".into(), rusqlite::types::Type::Blob)
    })
}

impl LedgerStore for SqliteStore {
    fn location(&self) -> &Path {
        &self.path
    }

    fn begin(&self, mode: TxMode) -> Result<(), StoreError> {
        let sql = match mode {
            TxMode::Read => "BEGIN DEFERRED",
            TxMode::Append => "BEGIN IMMEDIATE",
        };
        self.conn.execute_batch(sql).map_err(self.err())
    }

    fn commit(&self) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT").map_err(self.err())
    }

    fn rollback(&self) -> Result<(), StoreError> {
        self.conn.execute_batch("ROLLBACK").map_err(self.err())
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT CASE WHEN octet_length(value) <= {MAX_META_VALUE_BYTES} \
                     THEN value END FROM meta WHERE key = ?1"
                ),
                [key],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(self.err())
    }

    fn size(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT COALESCE(MAX(seq) + 1, 0) FROM entries", [], |r| {
                position(r, 0)
            })
            .map_err(self.err())
    }

    fn entries_after(&self, after: Option<u64>, limit: usize) -> Result<Vec<EntryRow>, StoreError> {
        let read = || -> Result<Vec<EntryRow>, rusqlite::Error> {
            // -1 starts before seq 0.
            let after: i64 = after.map_or(-1, sql_int);
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT seq, {BOUNDED_ENTRY}, {BOUNDED_LEAF_HASH} FROM entries WHERE seq > ?1 \
                 ORDER BY seq LIMIT ?2"
            ))?;
            let mut rows = stmt.query(params![after, i64::try_from(limit).unwrap_or(i64::MAX)])?;
            let mut out = Vec::new();
            let mut bytes = 0u64;
            while bytes < CHUNK_BYTES {
                let Some(row) = rows.next()? else { break };
                let entry: Option<Vec<u8>> = row.get(1)?;
                bytes = bytes.saturating_add(entry.as_ref().map_or(0, |e| e.len() as u64));
                out.push((position(row, 0)?, entry, row.get(2)?));
            }
            Ok(out)
        };
        read().map_err(self.err())
    }

    fn entry(&self, seq: u64) -> Result<Option<Option<Vec<u8>>>, StoreError> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {BOUNDED_ENTRY} FROM entries WHERE seq = ?1"
            ))
            .and_then(|mut s| s.query_row([sql_int(seq)], |r| r.get(0)).optional())
            .map_err(self.err())
    }

    fn subtree(&self, level: u32, index: u64) -> Result<Hash, StoreError> {
        let read = || -> Result<Hash, rusqlite::Error> {
            let blob: Vec<u8> = if level == 0 {
                self.conn
                    .prepare_cached(&format!(
                        "SELECT {BOUNDED_LEAF_HASH} FROM entries WHERE seq = ?1"
                    ))?
                    .query_row([sql_int(index)], |r| r.get(0))?
            } else {
                self.conn
                    .prepare_cached(
                        "SELECT CASE WHEN octet_length(hash) = 32 THEN hash ELSE x'' END \
                         FROM nodes WHERE level = ?1 AND idx = ?2",
                    )?
                    .query_row(params![level, sql_int(index)], |r| r.get(0))?
            };
            hash_from(blob)
        };
        read().map_err(self.err())
    }

    fn for_each_node(
        &self,
        each: &mut dyn FnMut(u32, u64, Option<Vec<u8>>),
    ) -> Result<(), StoreError> {
        let mut read = || -> Result<(), rusqlite::Error> {
            // A hash of any other length than 32 is wrong and is not loaded.
            let mut stmt = self.conn.prepare(
                "SELECT level, idx, CASE WHEN octet_length(hash) = 32 THEN hash END FROM nodes \
                 ORDER BY level, idx",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                each(level(row, 0)?, position(row, 1)?, row.get(2)?);
            }
            Ok(())
        };
        read().map_err(self.err())
    }

    fn insert_entry(&self, seq: u64, entry: &[u8], leaf: &Hash) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("INSERT INTO entries (seq, entry, leaf_hash) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![sql_int(seq), entry, &leaf[..]]))
            .map(drop)
            .map_err(self.err())
    }

    fn insert_node(&self, level: u32, index: u64, hash: &Hash) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("INSERT INTO nodes (level, idx, hash) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![level, sql_int(index), &hash[..]]))
            .map(drop)
            .map_err(self.err())
    }

    fn highest_checkpoint_above(
        &self,
        size: u64,
    ) -> Result<Option<(u64, Option<String>)>, StoreError> {
        self.conn
            .prepare_cached(&format!(
                "SELECT size, {BOUNDED_NOTE} FROM checkpoints WHERE size > ?1 \
                 ORDER BY size DESC LIMIT 1"
            ))
            .and_then(|mut s| {
                s.query_row([sql_int(size)], |r| Ok((position(r, 0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(self.err())
    }

    fn checkpoints_down_from(
        &self,
        size: u64,
        each: &mut dyn FnMut(u64, Option<String>) -> bool,
    ) -> Result<(), StoreError> {
        let mut read = || -> Result<(), rusqlite::Error> {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT size, {BOUNDED_NOTE} FROM checkpoints WHERE size <= ?1 ORDER BY size DESC"
            ))?;
            let mut rows = stmt.query([sql_int(size)])?;
            while let Some(row) = rows.next()? {
                if each(position(row, 0)?, row.get(1)?) {
                    break;
                }
            }
            Ok(())
        };
        read().map_err(self.err())
    }

    fn for_each_checkpoint(
        &self,
        each: &mut dyn FnMut(u64, Option<String>),
    ) -> Result<(), StoreError> {
        let mut read = || -> Result<(), rusqlite::Error> {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT size, {BOUNDED_NOTE} FROM checkpoints ORDER BY size"
            ))?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                each(position(row, 0)?, row.get(1)?);
            }
            Ok(())
        };
        read().map_err(self.err())
    }

    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {BOUNDED_NOTE} FROM checkpoints WHERE size = ?1"),
                [sql_int(size)],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(self.err())
    }

    fn insert_checkpoint(&self, size: u64, note: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO checkpoints (size, note) VALUES (?1, ?2)",
                params![sql_int(size), note],
            )
            .map(drop)
            .map_err(self.err())
    }

    fn snapshot_rows(&self, each: &mut dyn FnMut(SnapshotRow) -> bool) -> Result<(), StoreError> {
        if !self.has_snapshots_table()? {
            return Ok(());
        }
        // Every column is read as a blob, whatever type SQL gave it, and judged in Rust; a
        // long value is not loaded.
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT CAST(size AS INTEGER), CASE WHEN octet_length(root) = 32 THEN CAST(root AS BLOB) END, \
                 CASE WHEN octet_length(signature) <= {MAX_SNAPSHOT_SIGNATURE_BYTES} \
                 THEN CAST(signature AS BLOB) END, octet_length(state) \
                 FROM snapshots ORDER BY size DESC"
            ))
            .map_err(self.err())?;
        let mut rows = stmt.query([]).map_err(self.err())?;
        while let Some(row) = rows.next().map_err(self.err())? {
            let read = |row: &rusqlite::Row<'_>| -> Result<SnapshotRow, rusqlite::Error> {
                let size: i64 = row.get(0)?;
                let root: Option<Vec<u8>> = row.get(1)?;
                let signature: Option<Vec<u8>> = row.get(2)?;
                let state_bytes: Option<i64> = row.get(3)?;
                Ok(SnapshotRow {
                    size: u64::try_from(size).unwrap_or(u64::MAX),
                    root: root.and_then(|r| r.try_into().ok()),
                    signature: signature.and_then(|s| String::from_utf8(s).ok()),
                    state_bytes: state_bytes
                        .and_then(|n| u64::try_from(n).ok())
                        .unwrap_or(u64::MAX),
                })
            };
            if each(read(row).map_err(self.err())?) {
                break;
            }
        }
        Ok(())
    }

    fn snapshot_state(&self, size: u64, limit: u64) -> Result<Option<Vec<u8>>, StoreError> {
        if !self.has_snapshots_table()? {
            return Ok(None);
        }
        self.conn
            .query_row(
                "SELECT CASE WHEN octet_length(state) <= ?2 \
                 THEN CAST(state AS BLOB) END FROM snapshots WHERE size = ?1",
                [sql_int(size), sql_int(limit)],
                |r| r.get::<_, Option<Vec<u8>>>(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(self.err())
    }

    fn put_snapshot(
        &self,
        size: u64,
        root: &Hash,
        signature: &str,
        state: &[u8],
    ) -> Result<(), StoreError> {
        self.conn
            .execute_batch(SNAPSHOTS_TABLE)
            .map_err(self.err())?;
        self.conn
            .execute(
                "INSERT OR REPLACE INTO snapshots (size, root, signature, state) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![sql_int(size), &root[..], signature, state],
            )
            .map(drop)
            .map_err(self.err())
    }

    fn delete_snapshots_below(&self, size: u64) -> Result<(), StoreError> {
        if !self.has_snapshots_table()? {
            return Ok(());
        }
        self.conn
            .execute("DELETE FROM snapshots WHERE size < ?1", [sql_int(size)])
            .map(drop)
            .map_err(self.err())
    }

    fn insert_outside_checkpoint(
        &self,
        source: &str,
        note: &str,
        added_time: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO outside_checkpoints (source, note, added_time) VALUES (?1, ?2, ?3)",
                params![source, note, added_time],
            )
            .map(drop)
            .map_err(self.err())
    }

    fn for_each_outside_checkpoint(
        &self,
        each: &mut dyn FnMut(Option<String>, Option<String>),
    ) -> Result<(), StoreError> {
        let mut read = || -> Result<(), rusqlite::Error> {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT CASE WHEN octet_length(source) <= {MAX_OUTSIDE_SOURCE_BYTES} \
                 THEN source END, {BOUNDED_NOTE} FROM outside_checkpoints ORDER BY id"
            ))?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                each(row.get(0)?, row.get(1)?);
            }
            Ok(())
        };
        read().map_err(self.err())
    }

    fn has_outside_checkpoint(&self, note: &str) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM outside_checkpoints WHERE note = ?1)",
                [note],
                |r| r.get(0),
            )
            .map_err(self.err())
    }

    fn outside_checkpoint_count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM outside_checkpoints", [], |r| r.get(0))
            .map_err(self.err())
    }

    fn write_index_state(&self, state: &State) -> Result<(), StoreError> {
        index::write_state(&self.conn, state).map_err(self.err())
    }

    fn link_event(&self, seq: u64, items: &[&str], case: Option<&str>) -> Result<(), StoreError> {
        index::link_event(&self.conn, seq, items, case).map_err(self.err())
    }

    fn clear_index(&self) -> Result<(), StoreError> {
        index::clear(&self.conn).map_err(self.err())
    }

    fn index_actors(&self) -> Result<IndexRows<ActorRecord>, StoreError> {
        index::all_actors(&self.conn).map_err(self.err())
    }

    fn index_cases(&self) -> Result<IndexRows<CaseRecord>, StoreError> {
        index::all_cases(&self.conn).map_err(self.err())
    }

    fn index_items(&self) -> Result<IndexRows<ItemRecord>, StoreError> {
        index::all_items(&self.conn).map_err(self.err())
    }

    fn index_links(&self, items: bool) -> Result<Vec<(String, u64)>, StoreError> {
        let table = if items { "item_events" } else { "case_events" };
        index::event_links(&self.conn, table).map_err(self.err())
    }
}
