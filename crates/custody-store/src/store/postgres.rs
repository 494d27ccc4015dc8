//! The shared store: one PostgreSQL database per ledger, for many appenders on many
//! machines (`--ledger postgresql://…`).
//!
//! **One appender at a time.** An append transaction runs at `READ COMMITTED` and takes the
//! transaction-scoped advisory lock [`APPEND_LOCK`] as its first statement
//! (`pg_advisory_xact_lock`). Every other appender, on any connection, waits there until
//! this one commits or rolls back, so the verified view the rules and the precondition of
//! `append_batch_if` are checked against is still the ledger's tail when the batch is
//! written; and because each later statement of a `READ COMMITTED` transaction sees every
//! commit made before it started, the appender that gets the lock next sees everything
//! the one before wrote. The lock is released by the server when the transaction ends,
//! including when the client is killed or its connection drops (the transaction is then
//! rolled back), so a dead appender never blocks the ledger.
//!
//! `SERIALIZABLE` was not chosen: it would let two appenders sign and write the same seq
//! and fail one of them only at commit, after the log key signed a checkpoint for a tree
//! that then never existed; with the lock, at most one tree is ever being signed.
//!
//! **The tree never forks, indices never skip**, even if the lock were bypassed: `seq` is
//! the primary key of `entries` (a second entry for a seq fails the transaction), nodes are
//! keyed by `(level, idx)` and checkpoints by `size`, so two appenders cannot both commit
//! a batch for the same position; entries are numbered from the replayed size inside the
//! lock, and the replay refuses a gap.
//!
//! **Nothing acknowledged is lost.** Each session sets `synchronous_commit = on`: `COMMIT`
//! returns only once the transaction's WAL is flushed to disk on the server, and an append
//! reports success only after its commit returned. A client killed before that has its
//! transaction rolled back by the server; a server killed before that loses only
//! transactions no client was told about.
//!
//! Reads run in `REPEATABLE READ READ ONLY` transactions: one snapshot for the whole
//! transaction, as the replay and `verify` need.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use custody_core::merkle::Hash;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, NoTls};

use super::{EntryRow, IndexRows, LedgerStore, SnapshotRow, TxMode};
use crate::error::StoreError;
use crate::index;
use crate::ledger::{
    MAX_CHECKPOINT_NOTE_BYTES, MAX_ENTRY_BYTES, MAX_META_VALUE_BYTES, MAX_OUTSIDE_SOURCE_BYTES,
    SCHEMA_VERSION,
};
use crate::rules::{ActorRecord, ActorStatus, CaseRecord, ItemRecord, State};
use crate::snapshot::MAX_SNAPSHOT_SIGNATURE_BYTES;
use crate::verify::CHUNK_BYTES;

/// The advisory lock every append transaction holds ("CUST" in ASCII). Advisory locks are
/// per database, and a ledger is a database.
pub const APPEND_LOCK: i64 = 0x4355_5354;

/// Entry bytes sent in one multi-row INSERT at most (one entry may exceed it alone).
const BATCH_BYTES: usize = 64 << 20;
/// Tree nodes sent in one multi-row INSERT at most.
const BATCH_ROWS: usize = 10_000;

/// How many of the leading values whose lengths are `lens` fit in `limit` bytes together:
/// at least one (a value longer than `limit` goes alone), none only when there are none.
fn run_within(lens: impl Iterator<Item = usize>, limit: usize) -> usize {
    let mut total = 0usize;
    let mut count = 0usize;
    for len in lens {
        total = total.saturating_add(len);
        if count > 0 && total > limit {
            break;
        }
        count += 1;
    }
    count
}

/// What `meta` row `schema` holds in a database this build writes and reads:
/// `custody-ledger` and the schema version ([`crate::ledger::SCHEMA_VERSION`]).
pub const SCHEMA_MARK: &str = "custody-ledger 1";

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (seq BIGINT PRIMARY KEY CHECK (seq >= 0), entry BYTEA NOT NULL,
    leaf_hash BYTEA NOT NULL);
CREATE FUNCTION custody_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'custody ledger entries are append-only'; END $$;
CREATE TRIGGER entries_no_update BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION custody_entries_append_only();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION custody_entries_append_only();
CREATE TABLE nodes (level INTEGER NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL,
    PRIMARY KEY (level, idx));
CREATE TABLE checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL);
CREATE TABLE outside_checkpoints (id BIGSERIAL PRIMARY KEY, source TEXT NOT NULL,
    note TEXT NOT NULL, added_time TEXT NOT NULL);
CREATE TABLE actors (key TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT, organisation TEXT,
    jurisdiction TEXT, enrolled_seq BIGINT NOT NULL, status TEXT NOT NULL,
    status_seq BIGINT, replaced_by TEXT);
CREATE TABLE cases (case_ref TEXT PRIMARY KEY, title TEXT, legal_authority TEXT,
    opened_seq BIGINT, first_seq BIGINT NOT NULL);
CREATE TABLE items (item TEXT PRIMARY KEY, case_ref TEXT, created_seq BIGINT NOT NULL,
    created_kind TEXT NOT NULL, acquired_time TEXT NOT NULL, size BIGINT, sha256 TEXT,
    blake3 TEXT, state TEXT NOT NULL, holder TEXT, last_seq BIGINT NOT NULL);
CREATE INDEX items_by_case ON items (case_ref, item);
CREATE TABLE item_events (item TEXT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (item, seq));
CREATE TABLE case_events (case_ref TEXT NOT NULL, seq BIGINT NOT NULL,
    PRIMARY KEY (case_ref, seq));
";

/// The `snapshots` table (see [`crate::snapshot`]), made by the first snapshot written: a
/// ledger made before snapshots existed opens as it did, with none.
const SNAPSHOTS_TABLE: &str = "CREATE TABLE IF NOT EXISTS snapshots (size BIGINT PRIMARY KEY, \
    root BYTEA NOT NULL, signature TEXT NOT NULL, state BYTEA NOT NULL)";

/// A value compared with PostgreSQL's signed 64-bit integers.
fn sql_int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A stored integer that must be a seq, size or index.
fn unsigned(value: i64) -> u64 {
    // Negative values cannot be written (CHECK, and every writer converts from u64); one
    // put there with SQL reads as a position no ledger reaches, which the replay refuses.
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// The password for `config` from the password file ([`super::pgpass`]), if one is there.
fn password_for(config: &postgres::Config) -> Result<Option<String>, StoreError> {
    let Some(path) = super::pgpass::passfile_path() else {
        return Ok(None);
    };
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        // libpq matches a Unix-socket connection as `localhost`.
        _ => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or_default();
    let database = config.get_dbname().unwrap_or(user);
    super::pgpass::password_from_file(&path, &host, port, database, user)
}

/// The URL with any password removed, for messages. The user information ends at the
/// last `@` (a password may hold `@`, `/` or `:` however it is written), and a query that
/// mentions a password is left out whole.
pub(crate) fn redacted(url: &str) -> PathBuf {
    let Some((scheme, rest)) = url.split_once("://") else {
        return PathBuf::from(url);
    };
    let (user, rest) = match rest.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split(':').next().unwrap_or_default();
            (format!("{user}@"), host)
        }
        None => (String::new(), rest),
    };
    let rest = match rest.split_once('?') {
        Some((before, query)) if query.to_ascii_lowercase().contains("password") => before,
        _ => rest,
    };
    PathBuf::from(format!("{scheme}://{user}{rest}"))
}

/// Whether `location` names a PostgreSQL ledger (`postgresql://` or `postgres://`).
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgresql://") || location.starts_with("postgres://")
}

/// How long opening a connection may take before it fails (when the URL sets no
/// `connect_timeout`).
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long data sent to the server may stay unacknowledged before the connection is
/// given up (`TCP_USER_TIMEOUT`, when the URL sets no `tcp_user_timeout`): a server or
/// network that vanished mid-statement gives an error, not a wait of many minutes.
pub const TCP_USER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// Idle time before TCP keepalive probes start on the connection.
pub const KEEPALIVES_IDLE: std::time::Duration = std::time::Duration::from_secs(30);

/// A ledger in one PostgreSQL database.
///
/// **A dropped connection.** One connection serves the open ledger. When it was closed
/// between two transactions (server restarted, connection terminated, network cut), the
/// next transaction's `BEGIN` fails on it; the store then connects again once and retries
/// that `BEGIN`, which is safe because nothing of a transaction had happened yet. A
/// connection lost inside a transaction is never retried: the server rolls that
/// transaction back, and the operation fails with [`StoreError::Postgres`]. Connecting is
/// bounded by [`CONNECT_TIMEOUT`] and a dead peer by [`TCP_USER_TIMEOUT`] and keepalives,
/// so nothing waits without end.
pub struct PostgresStore {
    client: RefCell<Client>,
    config: postgres::Config,
    location: PathBuf,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    fn err(&self) -> impl Fn(postgres::Error) -> StoreError + '_ {
        StoreError::postgres(&self.location)
    }

    fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let location = redacted(url);
        let mut config: postgres::Config = url.parse().map_err(StoreError::postgres(&location))?;
        if config.get_password().is_none() {
            if let Some(password) = password_for(&config)? {
                config.password(password);
            }
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(TCP_USER_TIMEOUT);
        }
        config.keepalives(true).keepalives_idle(KEEPALIVES_IDLE);
        let client = Self::session(&config, &location)?;
        Ok(PostgresStore {
            client: RefCell::new(client),
            config,
            location,
        })
    }

    /// A new connection, set up as every session of the ledger is.
    fn session(config: &postgres::Config, location: &Path) -> Result<Client, StoreError> {
        let mut client = config
            .connect(NoTls)
            .map_err(StoreError::postgres(location))?;
        client
            .batch_execute("SET synchronous_commit = on")
            .map_err(StoreError::postgres(location))?;
        Ok(client)
    }

    /// Creates the ledger schema in the database at `url`, which must hold no ledger yet,
    /// with `meta` holding `origin` and `log_key` (a C2SP verifier key).
    pub fn create(url: &str, origin: &str, log_key: &str) -> Result<PostgresStore, StoreError> {
        let store = Self::connect(url)?;
        {
            let mut client = store.client.borrow_mut();
            let exists: bool = client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_name = 'meta')",
                    &[],
                )
                .and_then(|r| r.try_get(0))
                .map_err(store.err())?;
            if exists {
                return Err(StoreError::AlreadyExists {
                    path: store.location.clone(),
                });
            }
            let mut tx = client.transaction().map_err(store.err())?;
            tx.batch_execute(SCHEMA).map_err(store.err())?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('schema', $1), ('origin', $2), \
                 ('log_key', $3)",
                &[&SCHEMA_MARK, &origin, &log_key],
            )
            .map_err(store.err())?;
            tx.commit().map_err(store.err())?;
        }
        Ok(store)
    }

    /// Removes the ledger schema [`PostgresStore::create`] made in the database at `url`,
    /// for an `init` that failed after it: nothing half-made is left behind. Only for a
    /// database this process created the schema in a moment ago.
    pub fn discard_new(url: &str) -> Result<(), StoreError> {
        let store = Self::connect(url)?;
        let mut client = store.client.borrow_mut();
        client
            .batch_execute(
                "BEGIN; DROP TABLE meta, entries, nodes, checkpoints, outside_checkpoints, \
                 actors, cases, items, item_events, case_events; \
                 DROP FUNCTION custody_entries_append_only(); COMMIT;",
            )
            .map_err(store.err())
    }

    /// Opens the ledger in the database at `url`, checking that it is one and that this
    /// build can read it.
    pub fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let store = Self::connect(url)?;
        let mark = {
            let mut client = store.client.borrow_mut();
            let has_meta: bool = client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_name = 'meta')",
                    &[],
                )
                .and_then(|r| r.try_get(0))
                .map_err(store.err())?;
            if !has_meta {
                return Err(StoreError::NoLedger {
                    path: store.location.clone(),
                });
            }
            drop(client);
            store.meta("schema")?
        };
        if mark.as_deref() == Some(SCHEMA_MARK) {
            return Ok(store);
        }
        // A later Custody's mark says so, as a larger `user_version` does for SQLite.
        let newer = mark
            .as_deref()
            .and_then(|m| m.strip_prefix("custody-ledger "))
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|v| *v > SCHEMA_VERSION);
        if let Some(found) = newer {
            return Err(StoreError::NewerSchema {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Err(StoreError::NotALedger {
            path: store.location.clone(),
            found: 0,
        })
    }

    fn query_each(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        each: &mut dyn FnMut(&postgres::Row) -> Result<bool, postgres::Error>,
    ) -> Result<(), StoreError> {
        let mut client = self.client.borrow_mut();
        let mut run = |client: &mut Client| -> Result<(), postgres::Error> {
            let mut rows = client.query_raw(sql, params.iter().map(|p| *p as &dyn ToSql))?;
            while let Some(row) = rows.next()? {
                if each(&row)? {
                    break;
                }
            }
            Ok(())
        };
        run(&mut client).map_err(self.err())
    }

    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        self.client
            .borrow_mut()
            .execute(sql, params)
            .map_err(self.err())
    }

    fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<postgres::Row>, StoreError> {
        self.client
            .borrow_mut()
            .query_opt(sql, params)
            .map_err(self.err())
    }
}

impl PostgresStore {
    fn has_snapshots_table(&self) -> Result<bool, StoreError> {
        let row = self.query_opt(
            "SELECT EXISTS (SELECT 1 FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = 'snapshots')",
            &[],
        )?;
        row.map(|r| r.try_get::<_, bool>(0))
            .transpose()
            .map(|b| b.unwrap_or(false))
            .map_err(self.err())
    }
}

const BOUNDED_ENTRY: &str = "CASE WHEN octet_length(entry) <= 67108864 THEN entry END";
const BOUNDED_LEAF_HASH: &str =
    "CASE WHEN octet_length(leaf_hash) = 32 THEN leaf_hash ELSE '\\x'::bytea END";
const BOUNDED_NOTE: &str = "CASE WHEN octet_length(note) <= 65536 THEN note END";
const _: () = assert!(
    MAX_ENTRY_BYTES == 67_108_864 && MAX_CHECKPOINT_NOTE_BYTES == 65536,
    "the bounded columns spell the limits"
);

impl LedgerStore for PostgresStore {
    fn location(&self) -> &Path {
        &self.location
    }

    fn begin(&self, mode: TxMode) -> Result<(), StoreError> {
        let sql = match mode {
            TxMode::Read => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            TxMode::Append => "BEGIN ISOLATION LEVEL READ COMMITTED",
        };
        let mut client = self.client.borrow_mut();
        if let Err(e) = client.batch_execute(sql) {
            // The session is gone when the connection closed, or the server said so on the
            // first statement (SQLSTATE class 08, connection exception; 57, operator
            // intervention, e.g. 57P01 for a terminated session, which may arrive before the
            // client has noticed the close). Nothing of a transaction has run yet.
            let gone = client.is_closed()
                || e.is_closed()
                || e.code()
                    .is_none_or(|state| matches!(state.code().get(..2), Some("08" | "57")));
            if !gone {
                return Err(self.err()(e));
            }
            // Closed between transactions: one new connection, one more try.
            *client = Self::session(&self.config, &self.location)?;
            client.batch_execute(sql).map_err(self.err())?;
        }
        if mode == TxMode::Append {
            client
                .execute("SELECT pg_advisory_xact_lock($1)", &[&APPEND_LOCK])
                .map_err(self.err())?;
        }
        Ok(())
    }

    fn commit(&self) -> Result<(), StoreError> {
        self.client
            .borrow_mut()
            .batch_execute("COMMIT")
            .map_err(self.err())
    }

    fn rollback(&self) -> Result<(), StoreError> {
        self.client
            .borrow_mut()
            .batch_execute("ROLLBACK")
            .map_err(self.err())
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row = self.query_opt(
            &format!(
                "SELECT CASE WHEN octet_length(value) <= {MAX_META_VALUE_BYTES} THEN value END \
                 FROM meta WHERE key = $1"
            ),
            &[&key],
        )?;
        row.map(|r| r.try_get::<_, Option<String>>(0))
            .transpose()
            .map(Option::flatten)
            .map_err(self.err())
    }

    fn size(&self) -> Result<u64, StoreError> {
        let row = self.query_opt("SELECT COALESCE(MAX(seq) + 1, 0) FROM entries", &[])?;
        let size: i64 = row
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(self.err())?
            .unwrap_or(0);
        Ok(unsigned(size))
    }

    fn entries_after(&self, after: Option<u64>, limit: usize) -> Result<Vec<EntryRow>, StoreError> {
        let after: i64 = after.map_or(-1, sql_int);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut out = Vec::new();
        let mut bytes = 0u64;
        self.query_each(
            &format!(
                "SELECT seq, {BOUNDED_ENTRY}, {BOUNDED_LEAF_HASH} FROM entries WHERE seq > $1 \
                 ORDER BY seq LIMIT $2"
            ),
            &[&after, &limit],
            &mut |row| {
                let entry: Option<Vec<u8>> = row.try_get(1)?;
                bytes = bytes.saturating_add(entry.as_ref().map_or(0, |e| e.len() as u64));
                out.push((unsigned(row.try_get(0)?), entry, row.try_get(2)?));
                Ok(bytes >= CHUNK_BYTES)
            },
        )?;
        Ok(out)
    }

    fn entry(&self, seq: u64) -> Result<Option<Option<Vec<u8>>>, StoreError> {
        let row = self.query_opt(
            &format!("SELECT {BOUNDED_ENTRY} FROM entries WHERE seq = $1"),
            &[&sql_int(seq)],
        )?;
        row.map(|r| r.try_get(0)).transpose().map_err(self.err())
    }

    fn subtree(&self, level: u32, index: u64) -> Result<Hash, StoreError> {
        let row = if level == 0 {
            self.query_opt(
                &format!("SELECT {BOUNDED_LEAF_HASH} FROM entries WHERE seq = $1"),
                &[&sql_int(index)],
            )?
        } else {
            let level = i32::try_from(level).unwrap_or(i32::MAX);
            self.query_opt(
                "SELECT CASE WHEN octet_length(hash) = 32 THEN hash ELSE '\\x'::bytea END \
                 FROM nodes WHERE level = $1 AND idx = $2",
                &[&level, &sql_int(index)],
            )?
        };
        let missing = || StoreError::MissingTreeNode { level, index };
        let blob: Vec<u8> = row.ok_or_else(missing)?.try_get(0).map_err(self.err())?;
        blob.try_into().map_err(|_| missing())
    }

    fn for_each_node(
        &self,
        each: &mut dyn FnMut(u32, u64, Option<Vec<u8>>),
    ) -> Result<(), StoreError> {
        self.query_each(
            "SELECT level, idx, CASE WHEN octet_length(hash) = 32 THEN hash END FROM nodes \
             ORDER BY level, idx",
            &[],
            &mut |row| {
                let level: i32 = row.try_get(0)?;
                each(
                    u32::try_from(level).unwrap_or(u32::MAX),
                    unsigned(row.try_get(1)?),
                    row.try_get(2)?,
                );
                Ok(false)
            },
        )
    }

    fn insert_entry(&self, seq: u64, entry: &[u8], leaf: &Hash) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO entries (seq, entry, leaf_hash) VALUES ($1, $2, $3)",
            &[&sql_int(seq), &entry, &&leaf[..]],
        )
        .map(drop)
    }

    fn insert_node(&self, level: u32, index: u64, hash: &Hash) -> Result<(), StoreError> {
        let level = i32::try_from(level).unwrap_or(i32::MAX);
        self.execute(
            "INSERT INTO nodes (level, idx, hash) VALUES ($1, $2, $3)",
            &[&level, &sql_int(index), &&hash[..]],
        )
        .map(drop)
    }

    fn insert_entries(&self, entries: &[(u64, Vec<u8>, Hash)]) -> Result<(), StoreError> {
        // One statement per run of at most BATCH_BYTES of entry bytes (and at least one
        // entry), so no message comes near PostgreSQL's 1 GB limit.
        let mut rest = entries;
        while !rest.is_empty() {
            let take = run_within(rest.iter().map(|(_, entry, _)| entry.len()), BATCH_BYTES);
            let (now, later) = rest.split_at(take);
            let seqs: Vec<i64> = now.iter().map(|(seq, _, _)| sql_int(*seq)).collect();
            let bodies: Vec<&[u8]> = now.iter().map(|(_, entry, _)| entry.as_slice()).collect();
            let leaves: Vec<&[u8]> = now.iter().map(|(_, _, leaf)| &leaf[..]).collect();
            self.execute(
                "INSERT INTO entries (seq, entry, leaf_hash) \
                 SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])",
                &[&seqs, &bodies, &leaves],
            )?;
            rest = later;
        }
        Ok(())
    }

    fn insert_nodes(&self, nodes: &[(u32, u64, Hash)]) -> Result<(), StoreError> {
        for chunk in nodes.chunks(BATCH_ROWS) {
            let levels: Vec<i32> = chunk
                .iter()
                .map(|(level, _, _)| i32::try_from(*level).unwrap_or(i32::MAX))
                .collect();
            let indices: Vec<i64> = chunk.iter().map(|(_, index, _)| sql_int(*index)).collect();
            let hashes: Vec<&[u8]> = chunk.iter().map(|(_, _, hash)| &hash[..]).collect();
            self.execute(
                "INSERT INTO nodes (level, idx, hash) \
                 SELECT * FROM unnest($1::integer[], $2::bigint[], $3::bytea[])",
                &[&levels, &indices, &hashes],
            )?;
        }
        Ok(())
    }

    fn highest_checkpoint_above(
        &self,
        size: u64,
    ) -> Result<Option<(u64, Option<String>)>, StoreError> {
        let row = self.query_opt(
            &format!(
                "SELECT size, {BOUNDED_NOTE} FROM checkpoints WHERE size > $1 \
                 ORDER BY size DESC LIMIT 1"
            ),
            &[&sql_int(size)],
        )?;
        row.map(|r| Ok((unsigned(r.try_get(0)?), r.try_get(1)?)))
            .transpose()
            .map_err(self.err())
    }

    fn checkpoints_down_from(
        &self,
        size: u64,
        each: &mut dyn FnMut(u64, Option<String>) -> bool,
    ) -> Result<(), StoreError> {
        self.query_each(
            &format!(
                "SELECT size, {BOUNDED_NOTE} FROM checkpoints WHERE size <= $1 ORDER BY size DESC"
            ),
            &[&sql_int(size)],
            &mut |row| Ok(each(unsigned(row.try_get(0)?), row.try_get(1)?)),
        )
    }

    fn for_each_checkpoint(
        &self,
        each: &mut dyn FnMut(u64, Option<String>),
    ) -> Result<(), StoreError> {
        self.query_each(
            &format!("SELECT size, {BOUNDED_NOTE} FROM checkpoints ORDER BY size"),
            &[],
            &mut |row| {
                each(unsigned(row.try_get(0)?), row.try_get(1)?);
                Ok(false)
            },
        )
    }

    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, StoreError> {
        let row = self.query_opt(
            &format!("SELECT {BOUNDED_NOTE} FROM checkpoints WHERE size = $1"),
            &[&sql_int(size)],
        )?;
        row.map(|r| r.try_get::<_, Option<String>>(0))
            .transpose()
            .map(Option::flatten)
            .map_err(self.err())
    }

    fn insert_checkpoint(&self, size: u64, note: &str) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO checkpoints (size, note) VALUES ($1, $2)",
            &[&sql_int(size), &note],
        )
        .map(drop)
    }

    fn snapshot_rows(&self, each: &mut dyn FnMut(SnapshotRow) -> bool) -> Result<(), StoreError> {
        if !self.has_snapshots_table()? {
            return Ok(());
        }
        // A long value is not loaded: its length is read instead.
        self.query_each(
            &format!(
                "SELECT size, CASE WHEN octet_length(root) = 32 THEN root END, \
                 CASE WHEN octet_length(signature) <= {MAX_SNAPSHOT_SIGNATURE_BYTES} \
                 THEN signature END, octet_length(state)::BIGINT \
                 FROM snapshots ORDER BY size DESC"
            ),
            &[],
            &mut |row| {
                let root: Option<Vec<u8>> = row.try_get(1)?;
                let state_bytes: Option<i64> = row.try_get(3)?;
                Ok(each(SnapshotRow {
                    size: unsigned(row.try_get(0)?),
                    root: root.and_then(|r| r.try_into().ok()),
                    signature: row.try_get(2)?,
                    state_bytes: state_bytes.map_or(u64::MAX, unsigned),
                }))
            },
        )
    }

    fn snapshot_state(&self, size: u64, limit: u64) -> Result<Option<Vec<u8>>, StoreError> {
        if !self.has_snapshots_table()? {
            return Ok(None);
        }
        let row = self.query_opt(
            "SELECT CASE WHEN octet_length(state) <= $2::BIGINT THEN state END \
             FROM snapshots WHERE size = $1",
            &[&sql_int(size), &sql_int(limit)],
        )?;
        row.map(|r| r.try_get::<_, Option<Vec<u8>>>(0))
            .transpose()
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
        self.client
            .borrow_mut()
            .batch_execute(SNAPSHOTS_TABLE)
            .map_err(self.err())?;
        self.execute(
            "INSERT INTO snapshots (size, root, signature, state) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (size) DO UPDATE SET root = EXCLUDED.root, \
             signature = EXCLUDED.signature, state = EXCLUDED.state",
            &[&sql_int(size), &&root[..], &signature, &state],
        )
        .map(drop)
    }

    fn delete_snapshots_below(&self, size: u64) -> Result<(), StoreError> {
        if !self.has_snapshots_table()? {
            return Ok(());
        }
        self.execute("DELETE FROM snapshots WHERE size < $1", &[&sql_int(size)])
            .map(drop)
    }

    fn insert_outside_checkpoint(
        &self,
        source: &str,
        note: &str,
        added_time: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO outside_checkpoints (source, note, added_time) VALUES ($1, $2, $3)",
            &[&source, &note, &added_time],
        )
        .map(drop)
    }

    fn for_each_outside_checkpoint(
        &self,
        each: &mut dyn FnMut(Option<String>, Option<String>),
    ) -> Result<(), StoreError> {
        self.query_each(
            &format!(
                "SELECT CASE WHEN octet_length(source) <= {MAX_OUTSIDE_SOURCE_BYTES} \
                 THEN source END, {BOUNDED_NOTE} FROM outside_checkpoints ORDER BY id"
            ),
            &[],
            &mut |row| {
                each(row.try_get(0)?, row.try_get(1)?);
                Ok(false)
            },
        )
    }

    fn has_outside_checkpoint(&self, note: &str) -> Result<bool, StoreError> {
        let row = self.query_opt(
            "SELECT EXISTS (SELECT 1 FROM outside_checkpoints WHERE note = $1)",
            &[&note],
        )?;
        row.map(|r| r.try_get(0))
            .transpose()
            .map(|b| b.unwrap_or(false))
            .map_err(self.err())
    }

    fn outside_checkpoint_count(&self) -> Result<u64, StoreError> {
        let row = self.query_opt("SELECT count(*) FROM outside_checkpoints", &[])?;
        let count: i64 = row
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(self.err())?
            .unwrap_or(0);
        Ok(unsigned(count))
    }

    fn write_index_state(&self, state: &State) -> Result<(), StoreError> {
        for a in state.actors.values() {
            let (status_seq, replaced_by) = match &a.status {
                ActorStatus::Active => (None, None),
                ActorStatus::Revoked { seq } => (Some(sql_int(*seq)), None),
                ActorStatus::Rotated { seq, replaced_by } => {
                    (Some(sql_int(*seq)), Some(replaced_by.as_str()))
                }
            };
            self.execute(
                &format!(
                    "INSERT INTO actors ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (key) DO UPDATE SET name = $2, role = $3, organisation = $4, \
                     jurisdiction = $5, enrolled_seq = $6, status = $7, status_seq = $8, \
                     replaced_by = $9",
                    index::ACTOR_COLUMNS
                ),
                &[
                    &a.key,
                    &a.name,
                    &a.role,
                    &a.organisation,
                    &a.jurisdiction,
                    &sql_int(a.enrolled_seq),
                    &a.status.as_str(),
                    &status_seq,
                    &replaced_by,
                ],
            )?;
        }
        for c in state.cases.values() {
            self.execute(
                &format!(
                    "INSERT INTO cases ({}) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (case_ref) DO UPDATE SET title = $2, legal_authority = $3, \
                     opened_seq = $4, first_seq = $5",
                    index::CASE_COLUMNS
                ),
                &[
                    &c.case,
                    &c.title,
                    &c.legal_authority,
                    &c.opened_seq.map(sql_int),
                    &sql_int(c.first_seq),
                ],
            )?;
        }
        for i in state.items.values() {
            self.execute(
                &format!(
                    "INSERT INTO items ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                     ON CONFLICT (item) DO UPDATE SET case_ref = $2, created_seq = $3, \
                     created_kind = $4, acquired_time = $5, size = $6, sha256 = $7, \
                     blake3 = $8, state = $9, holder = $10, last_seq = $11",
                    index::ITEM_COLUMNS
                ),
                &[
                    &i.item,
                    &i.case,
                    &sql_int(i.created_seq),
                    &i.created_kind.as_str(),
                    &i.acquired_time,
                    &i.size.map(sql_int),
                    &i.sha256,
                    &i.blake3,
                    &i.condition.as_str(),
                    &i.holder,
                    &sql_int(i.last_seq),
                ],
            )?;
        }
        Ok(())
    }

    fn link_event(&self, seq: u64, items: &[&str], case: Option<&str>) -> Result<(), StoreError> {
        for item in items {
            self.execute(
                "INSERT INTO item_events (item, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[item, &sql_int(seq)],
            )?;
        }
        if let Some(case) = case {
            self.execute(
                "INSERT INTO case_events (case_ref, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&case, &sql_int(seq)],
            )?;
        }
        Ok(())
    }

    fn link_events(&self, links: &[(u64, Vec<&str>, Option<&str>)]) -> Result<(), StoreError> {
        let item_links: Vec<(&str, i64)> = links
            .iter()
            .flat_map(|(seq, items, _)| items.iter().map(move |item| (*item, sql_int(*seq))))
            .collect();
        let case_links: Vec<(&str, i64)> = links
            .iter()
            .filter_map(|(seq, _, case)| case.map(|case| (case, sql_int(*seq))))
            .collect();
        for (table, key, rows) in [
            ("item_events", "item", &item_links),
            ("case_events", "case_ref", &case_links),
        ] {
            for chunk in rows.chunks(BATCH_ROWS) {
                let keys: Vec<&str> = chunk.iter().map(|(k, _)| *k).collect();
                let seqs: Vec<i64> = chunk.iter().map(|(_, seq)| *seq).collect();
                self.execute(
                    &format!(
                        "INSERT INTO {table} ({key}, seq) \
                         SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING"
                    ),
                    &[&keys, &seqs],
                )?;
            }
        }
        Ok(())
    }

    fn clear_index(&self) -> Result<(), StoreError> {
        self.client
            .borrow_mut()
            .batch_execute(
                "DELETE FROM actors; DELETE FROM cases; DELETE FROM items; \
                 DELETE FROM item_events; DELETE FROM case_events;",
            )
            .map_err(self.err())
    }

    fn index_actors(&self) -> Result<IndexRows<ActorRecord>, StoreError> {
        let mut out = Vec::new();
        let mut bad = None;
        self.query_each(
            &format!("SELECT {} FROM actors ORDER BY key", index::ACTOR_COLUMNS),
            &[],
            &mut |row| {
                let seq = |i: usize| row.try_get::<_, Option<i64>>(i).map(|v| v.map(unsigned));
                let record = index::actor_from_values(index::ActorValues {
                    key: row.try_get(0)?,
                    name: row.try_get(1)?,
                    role: row.try_get(2)?,
                    organisation: row.try_get(3)?,
                    jurisdiction: row.try_get(4)?,
                    enrolled_seq: unsigned(row.try_get(5)?),
                    status: row.try_get(6)?,
                    status_seq: seq(7)?,
                    replaced_by: row.try_get(8)?,
                });
                match record {
                    Ok(r) => out.push(r),
                    Err(e) => bad = Some(e),
                }
                Ok(bad.is_some())
            },
        )?;
        Ok(bad.map_or(Ok(out), Err))
    }

    fn index_cases(&self) -> Result<IndexRows<CaseRecord>, StoreError> {
        let mut out = Vec::new();
        self.query_each(
            &format!(
                "SELECT {} FROM cases ORDER BY case_ref",
                index::CASE_COLUMNS
            ),
            &[],
            &mut |row| {
                out.push(CaseRecord {
                    case: row.try_get(0)?,
                    title: row.try_get(1)?,
                    legal_authority: row.try_get(2)?,
                    opened_seq: row.try_get::<_, Option<i64>>(3)?.map(unsigned),
                    first_seq: unsigned(row.try_get(4)?),
                });
                Ok(false)
            },
        )?;
        Ok(Ok(out))
    }

    fn index_items(&self) -> Result<IndexRows<ItemRecord>, StoreError> {
        let mut out = Vec::new();
        let mut bad = None;
        self.query_each(
            &format!("SELECT {} FROM items ORDER BY item", index::ITEM_COLUMNS),
            &[],
            &mut |row| {
                let record = index::item_from_values(index::ItemValues {
                    item: row.try_get(0)?,
                    case: row.try_get(1)?,
                    created_seq: unsigned(row.try_get(2)?),
                    created_kind: row.try_get(3)?,
                    acquired_time: row.try_get(4)?,
                    size: row.try_get::<_, Option<i64>>(5)?.map(unsigned),
                    sha256: row.try_get(6)?,
                    blake3: row.try_get(7)?,
                    state: row.try_get(8)?,
                    holder: row.try_get(9)?,
                    last_seq: unsigned(row.try_get(10)?),
                });
                match record {
                    Ok(r) => out.push(r),
                    Err(e) => bad = Some(e),
                }
                Ok(bad.is_some())
            },
        )?;
        Ok(bad.map_or(Ok(out), Err))
    }

    fn index_links(&self, items: bool) -> Result<Vec<(String, u64)>, StoreError> {
        let (table, key) = if items {
            ("item_events", "item")
        } else {
            ("case_events", "case_ref")
        };
        let mut out = Vec::new();
        self.query_each(
            &format!("SELECT {key}, seq FROM {table} ORDER BY {key}, seq"),
            &[],
            &mut |row| {
                out.push((row.try_get(0)?, unsigned(row.try_get(1)?)));
                Ok(false)
            },
        )?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::{redacted, run_within};
    use std::path::PathBuf;

    #[test]
    fn batch_runs_fill_up_to_the_limit_and_never_stall() {
        let limit = 10;
        assert_eq!(run_within([4, 6, 1].into_iter(), limit), 2, "at the limit");
        assert_eq!(run_within([4, 7, 1].into_iter(), limit), 1, "one past it");
        assert_eq!(
            run_within([11, 1].into_iter(), limit),
            1,
            "a long value goes alone"
        );
        assert_eq!(run_within([1, 2, 3].into_iter(), limit), 3);
        assert_eq!(run_within(std::iter::empty(), limit), 0);
    }

    #[test]
    fn fail_password_never_shown_in_a_location() {
        for (url, shown) in [
            (
                "postgresql://custody:s3cret@db.example:5432/ledger",
                "postgresql://custody@db.example:5432/ledger",
            ),
            (
                "postgres://custody@db.example/ledger",
                "postgres://custody@db.example/ledger",
            ),
            (
                "postgresql://db.example/ledger",
                "postgresql://db.example/ledger",
            ),
            (
                "postgresql://u:p%40ss@db.example/ledger?sslmode=disable",
                "postgresql://u@db.example/ledger?sslmode=disable",
            ),
            (
                "postgresql://u:p@s/s:w@db.example/ledger",
                "postgresql://u@db.example/ledger",
            ),
            (
                "postgresql://db.example/ledger?user=u&password=s3cret",
                "postgresql://db.example/ledger",
            ),
        ] {
            assert_eq!(redacted(url), PathBuf::from(shown), "{url}");
        }
    }
}
