//! The storage seam: what the ledger asks of the database that holds it.
//!
//! [`crate::Ledger`] keeps its rules, proofs and verification to itself and reads and writes
//! rows only through [`LedgerStore`]: entries, Merkle tree nodes, signed checkpoints,
//! outside checkpoints, the rebuildable index tables and the two `meta` values (origin and
//! log verifier key). Nothing a store returns is trusted: entries are replayed against the
//! log key's checkpoints, nodes are checked with proofs, index rows are compared by
//! `verify`. A store only has to give the ledger two things it cannot check itself:
//!
//! - **Snapshots.** Between [`LedgerStore::begin`] and [`LedgerStore::commit`] every read
//!   sees one consistent state of the database ([`TxMode::Read`]).
//! - **One appender at a time.** A [`TxMode::Append`] transaction excludes every other
//!   append transaction on the same ledger, from any process on any machine, from its
//!   `begin` to its `commit` or rollback, and its reads see everything committed before it
//!   began. This is what makes `append_batch_if` sound: the verified view a precondition is
//!   checked against is still the ledger's tail when the batch is written, so the tree never
//!   forks and indices never skip. A committed transaction is durable before `commit`
//!   returns (nothing acknowledged is lost if the process or the machine dies).
//!
//! [`sqlite::SqliteStore`] is the embedded implementation (`BEGIN IMMEDIATE`, WAL,
//! `synchronous=FULL`); [`postgres::PostgresStore`] the shared one (an advisory lock per
//! append transaction, `synchronous_commit = on`; its module says why).

pub mod pgpass;
pub mod postgres;
pub mod sqlite;

use custody_core::merkle::{Hash, SubtreeSource};

use crate::error::StoreError;
use crate::rules::{ActorRecord, CaseRecord, ItemRecord, State};

/// One stored entry as read: its seq, its bytes (`None` when longer than
/// [`crate::ledger::MAX_ENTRY_BYTES`], not read), and the stored leaf hash (empty when not
/// 32 bytes long, not read).
pub type EntryRow = (u64, Option<Vec<u8>>, Vec<u8>);

/// One stored snapshot row, its state bytes not read (see [`crate::snapshot`]). Nothing in
/// it is trusted before [`crate::snapshot`] has checked it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotRow {
    /// The `size` column: the number of entries the snapshot claims to cover.
    pub size: u64,
    /// The `root` column: `None` when it is not 32 bytes long.
    pub root: Option<Hash>,
    /// The `signature` column: `None` when longer than
    /// [`crate::snapshot::MAX_SNAPSHOT_SIGNATURE_BYTES`] or not UTF-8.
    pub signature: Option<String>,
    /// The length of the `state` column in bytes (read without loading it).
    pub state_bytes: u64,
}

/// What a transaction is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxMode {
    /// A consistent snapshot for reading.
    Read,
    /// An append (or a rebuild of the index): excludes every other `Append` transaction on
    /// the ledger until it ends, and sees everything committed before it began.
    Append,
}

/// An index table read back: its rows, or the first row that does not parse.
pub type IndexRows<T> = Result<Vec<T>, StoreError>;

/// The database holding one ledger. See the module documentation for what an
/// implementation must guarantee. Values longer than the ledger's limits are never loaded:
/// methods that read them say what they return instead.
///
/// `Send`, so that an open ledger can move to the thread that serves it.
pub trait LedgerStore: Send {
    /// Where the ledger is, for messages (a file path; a database URL without credentials).
    fn location(&self) -> &std::path::Path;

    /// Starts a transaction; at most one is open at a time.
    fn begin(&self, mode: TxMode) -> Result<(), StoreError>;
    /// Commits the open transaction; it is durable when this returns.
    fn commit(&self) -> Result<(), StoreError>;
    /// Abandons the open transaction (nothing it wrote remains).
    fn rollback(&self) -> Result<(), StoreError>;

    /// A `meta` value (`origin`, `log_key`): `None` when missing or longer than
    /// [`crate::ledger::MAX_META_VALUE_BYTES`].
    fn meta(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// One more than the highest stored seq (0 when empty). Entries may be missing below
    /// it; the replay finds them.
    fn size(&self) -> Result<u64, StoreError>;
    /// Up to `limit` entries after seq `after` (from seq 0 when `None`) in seq order,
    /// stopping early once they hold 64 MiB of entry bytes (so memory stays bounded however
    /// large the entries a hostile database holds).
    fn entries_after(&self, after: Option<u64>, limit: usize) -> Result<Vec<EntryRow>, StoreError>;
    /// The entry at `seq`: `None` when there is no row, `Some(None)` when it is longer than
    /// [`crate::ledger::MAX_ENTRY_BYTES`].
    fn entry(&self, seq: u64) -> Result<Option<Option<Vec<u8>>>, StoreError>;
    /// The perfect-subtree hash at `(level, index)`: the stored leaf hash at level 0, a
    /// stored node above. A missing row or a hash not 32 bytes long is an error.
    fn subtree(&self, level: u32, index: u64) -> Result<Hash, StoreError>;
    /// Every stored node (level ≥ 1) in `(level, index)` order; a hash not 32 bytes long is
    /// given as `None`.
    fn for_each_node(
        &self,
        each: &mut dyn FnMut(u32, u64, Option<Vec<u8>>),
    ) -> Result<(), StoreError>;

    /// Writes entry `seq` (which must not exist) and its leaf hash.
    fn insert_entry(&self, seq: u64, entry: &[u8], leaf: &Hash) -> Result<(), StoreError>;
    /// Writes the tree node at `(level, index)`, `level` ≥ 1.
    fn insert_node(&self, level: u32, index: u64, hash: &Hash) -> Result<(), StoreError>;
    /// Writes entries `(seq, entry, leaf hash)` in order, as [`LedgerStore::insert_entry`]
    /// does one by one (a store may send them in fewer statements).
    fn insert_entries(&self, entries: &[(u64, Vec<u8>, Hash)]) -> Result<(), StoreError> {
        entries
            .iter()
            .try_for_each(|(seq, entry, leaf)| self.insert_entry(*seq, entry, leaf))
    }
    /// Writes tree nodes `(level, index, hash)`, as [`LedgerStore::insert_node`] does one
    /// by one.
    fn insert_nodes(&self, nodes: &[(u32, u64, Hash)]) -> Result<(), StoreError> {
        nodes
            .iter()
            .try_for_each(|(level, index, hash)| self.insert_node(*level, *index, hash))
    }

    /// The checkpoint row with the highest size above `size`, if any, as `(size, note)`
    /// (`note` `None` when longer than [`crate::ledger::MAX_CHECKPOINT_NOTE_BYTES`]).
    fn highest_checkpoint_above(
        &self,
        size: u64,
    ) -> Result<Option<(u64, Option<String>)>, StoreError>;
    /// Checkpoint rows of at most `size` entries, largest first, until `each` returns true.
    fn checkpoints_down_from(
        &self,
        size: u64,
        each: &mut dyn FnMut(u64, Option<String>) -> bool,
    ) -> Result<(), StoreError>;
    /// Every checkpoint row, smallest first.
    fn for_each_checkpoint(
        &self,
        each: &mut dyn FnMut(u64, Option<String>),
    ) -> Result<(), StoreError>;
    /// The checkpoint row for exactly `size` entries: `None` when there is none or its
    /// note is too long to read.
    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, StoreError>;
    /// Stores the checkpoint note for `size` entries (which must not exist).
    fn insert_checkpoint(&self, size: u64, note: &str) -> Result<(), StoreError>;

    /// Snapshot rows, largest size first, until `each` returns true. A ledger made before
    /// snapshots existed has no `snapshots` table: no rows.
    fn snapshot_rows(&self, each: &mut dyn FnMut(SnapshotRow) -> bool) -> Result<(), StoreError>;
    /// The `state` bytes of the snapshot row for `size`: `None` when there is no such row or
    /// its state is longer than `limit` bytes (not read; the ledger passes
    /// [`crate::snapshot::MAX_SNAPSHOT_BYTES`]).
    fn snapshot_state(&self, size: u64, limit: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores a snapshot for `size` entries, replacing any row for that size (creating the
    /// `snapshots` table if the ledger has none yet).
    fn put_snapshot(
        &self,
        size: u64,
        root: &Hash,
        signature: &str,
        state: &[u8],
    ) -> Result<(), StoreError>;
    /// Deletes the snapshot rows of fewer than `size` entries.
    fn delete_snapshots_below(&self, size: u64) -> Result<(), StoreError>;

    /// Keeps an outside checkpoint.
    fn insert_outside_checkpoint(
        &self,
        source: &str,
        note: &str,
        added_time: &str,
    ) -> Result<(), StoreError>;
    /// Every outside checkpoint in the order added, as `(source, note)`: `source` `None`
    /// when longer than [`crate::ledger::MAX_OUTSIDE_SOURCE_BYTES`], `note` `None` when
    /// longer than [`crate::ledger::MAX_CHECKPOINT_NOTE_BYTES`].
    fn for_each_outside_checkpoint(
        &self,
        each: &mut dyn FnMut(Option<String>, Option<String>),
    ) -> Result<(), StoreError>;
    /// Whether `note` is stored, byte for byte, as an outside checkpoint.
    fn has_outside_checkpoint(&self, note: &str) -> Result<bool, StoreError>;
    /// Number of outside checkpoints.
    fn outside_checkpoint_count(&self) -> Result<u64, StoreError>;

    /// Writes every actor, case and item row of `state` (insert or replace).
    fn write_index_state(&self, state: &State) -> Result<(), StoreError>;
    /// Records which item and case histories the event at `seq` belongs to.
    fn link_event(&self, seq: u64, items: &[&str], case: Option<&str>) -> Result<(), StoreError>;
    /// Records the histories of several events `(seq, items, case)`, as
    /// [`LedgerStore::link_event`] does one by one.
    fn link_events(&self, links: &[(u64, Vec<&str>, Option<&str>)]) -> Result<(), StoreError> {
        links
            .iter()
            .try_for_each(|(seq, items, case)| self.link_event(*seq, items, *case))
    }
    /// Empties every index table.
    fn clear_index(&self) -> Result<(), StoreError>;
    /// The `actors` index table, by key.
    fn index_actors(&self) -> Result<IndexRows<ActorRecord>, StoreError>;
    /// The `cases` index table, by reference.
    fn index_cases(&self) -> Result<IndexRows<CaseRecord>, StoreError>;
    /// The `items` index table, by id.
    fn index_items(&self) -> Result<IndexRows<ItemRecord>, StoreError>;
    /// `(key, seq)` rows of `item_events` (`items` true) or `case_events`, in key order.
    fn index_links(&self, items: bool) -> Result<Vec<(String, u64)>, StoreError>;
}

/// An open transaction, rolled back when dropped without [`Transaction::commit`] (an error
/// on the way out leaves nothing behind).
pub(crate) struct Transaction<'a> {
    store: &'a dyn LedgerStore,
    open: bool,
}

impl<'a> Transaction<'a> {
    pub(crate) fn begin(store: &'a dyn LedgerStore, mode: TxMode) -> Result<Self, StoreError> {
        store.begin(mode)?;
        Ok(Transaction { store, open: true })
    }

    pub(crate) fn commit(mut self) -> Result<(), StoreError> {
        self.open = false;
        self.store.commit()
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing more can be done about a failed rollback here: the store ends the
            // transaction with the connection at worst, and nothing it wrote is committed.
            let _ = self.store.rollback();
        }
    }
}

/// Perfect-subtree hashes read from a store, for the proof functions.
pub(crate) struct StoredTree<'a>(pub(crate) &'a dyn LedgerStore);

impl SubtreeSource for StoredTree<'_> {
    type Error = StoreError;
    fn perfect_subtree(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        self.0.subtree(level, index)
    }
}
