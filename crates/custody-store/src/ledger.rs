//! The ledger: signed entries, their Merkle tree, signed checkpoints and the rebuildable
//! index, kept in a SQLite file or a PostgreSQL database through [`crate::store`].

use std::cell::{Ref, RefCell};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::time::Duration;

use custody_core::checkpoint::Checkpoint;
use custody_core::keys::{Identity, VerifierKey};
use custody_core::merkle::{self, Hash, TreeBuilder, TreeError};
use custody_core::{canonical, hex, sign};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::event::{
    CosignatureError, Event, EventDraft, EventFields, EventKind, SignedEvent,
    CONTEXT_EVENT_COSIGNATURE, EVENT_VERSION,
};
use crate::rules::{history_items, ActorRecord, CaseRecord, ItemRecord, State};
use crate::signer::{
    promote_pending, read_signer_state, settle_pending, write_pending, PendingFate,
};
use crate::store::postgres::{is_postgres_url, PostgresStore};
use crate::store::sqlite::SqliteStore;
use crate::store::{LedgerStore, StoredTree, Transaction, TxMode};
use crate::truth::{unverified, LedgerView, Truth};
use crate::verify::LedgerFinding;

/// `PRAGMA application_id` of a Custody ledger: "CUST".
pub const APPLICATION_ID: i64 = 0x4355_5354;
/// The schema version this build writes and reads (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;
/// How long an append waits for another process's append to finish.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest checkpoint note read back from the `checkpoints` or `outside_checkpoints`
/// table (a checkpoint with its cosignatures is a few hundred bytes to a few KiB). A row
/// longer than this is judged by its length alone, never loaded: `verify` reports it
/// (`CheckpointTooLarge`, `OutsideCheckpointTooLarge`) and decisions skip it.
pub const MAX_CHECKPOINT_NOTE_BYTES: u64 = 64 * 1024;
/// The largest outside-checkpoint `source` label read back; a longer one is shown as
/// [`SOURCE_TOO_LARGE`] instead.
pub const MAX_OUTSIDE_SOURCE_BYTES: u64 = 1024;
/// What a `source` label longer than [`MAX_OUTSIDE_SOURCE_BYTES`] reads as.
pub const SOURCE_TOO_LARGE: &str = "(source label too large)";

/// SQL yielding column `note` when it is at most [`MAX_CHECKPOINT_NOTE_BYTES`] long and NULL
/// otherwise. `octet_length` reads the length from the record header without loading the
/// value, so a hostile row of any size costs no memory.
pub(crate) const BOUNDED_NOTE: &str = "CASE WHEN octet_length(note) <= 65536 THEN note END";
const _: () = assert!(
    MAX_CHECKPOINT_NOTE_BYTES == 65536,
    "BOUNDED_NOTE spells the limit"
);
/// SQL yielding column `leaf_hash` when it is 32 bytes long and an empty blob otherwise (a
/// hash of any other length is wrong; it is not loaded).
pub(crate) const BOUNDED_LEAF_HASH: &str =
    "CASE WHEN octet_length(leaf_hash) = 32 THEN leaf_hash ELSE x'' END";
/// The longest `meta` value read (the origin, the log verifier key); a longer one is
/// `CorruptMeta` and is not loaded. [`Ledger::init`] refuses a longer origin.
pub const MAX_META_VALUE_BYTES: u64 = 4096;

/// The largest entry the ledger writes or reads: the limit of strict JSON read from outside
/// (`custody_core::canonical::MAX_STRICT_JSON_BYTES`, 64 MiB), so every entry can travel in
/// a package. An append whose entry would be longer is `EntryTooLarge`; a stored entry longer
/// than this is judged by its length alone, never loaded (`LedgerFinding::EntryTooLarge`).
pub const MAX_ENTRY_BYTES: u64 = 64 << 20;
/// SQL yielding column `entry` when it is at most [`MAX_ENTRY_BYTES`] long and NULL otherwise
/// (`octet_length` does not load the value).
pub(crate) const BOUNDED_ENTRY: &str = "CASE WHEN octet_length(entry) <= 67108864 THEN entry END";
const _: () = assert!(
    MAX_ENTRY_BYTES == 67_108_864
        && MAX_ENTRY_BYTES as usize == custody_core::canonical::MAX_STRICT_JSON_BYTES,
    "BOUNDED_ENTRY spells the limit"
);

/// One entry as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    /// Its sequence number (leaf index).
    pub seq: u64,
    /// The exact entry bytes (the Merkle leaf).
    pub bytes: Vec<u8>,
    /// The parsed entry.
    pub signed: SignedEvent,
}

/// What an append returns for each event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The event's sequence number.
    pub seq: u64,
    /// Its Merkle leaf hash.
    pub leaf_hash: Hash,
    /// The signed checkpoint note covering it (after the whole batch).
    pub checkpoint: String,
}

/// An open ledger.
pub struct Ledger {
    pub(crate) store: Box<dyn LedgerStore>,
    pub(crate) path: PathBuf,
    pub(crate) origin: String,
    pub(crate) log_key: VerifierKey,
    clock: fn() -> OffsetDateTime,
    /// The verified state, advanced at every read and append (see [`crate::truth`]).
    truth: RefCell<Truth>,
    /// The log signer's state file, when this process signs with the log key.
    signer_state: Option<PathBuf>,
    /// An append that takes the ledger across a multiple of this writes a snapshot.
    snapshot_interval: u64,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.path)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

fn now_utc() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// RFC 3339 in UTC with `Z`, as the ledger records times.
pub fn format_utc(time: OffsetDateTime) -> String {
    // checked: an instant near the ends of the calendar has no UTC form in range.
    time.checked_to_offset(time::UtcOffset::UTC)
        .and_then(|utc| utc.format(&Rfc3339).ok())
        .unwrap_or_else(|| "invalid time".to_owned())
}

pub(crate) fn parse_entry(seq: u64, bytes: &[u8]) -> Result<SignedEvent, StoreError> {
    serde_json::from_slice(bytes).map_err(|_| StoreError::CorruptEntry {
        seq,
        reason: "not a signed event",
    })
}

/// The entry bytes: RFC 8785 puts `event` before `signature`, and neither the canonical event
/// nor the hex signature needs re-encoding, so the canonical entry is this concatenation.
/// With a hand-over's cosignature, that member sorts first (`cosignature` < `event` <
/// `signature`).
pub(crate) fn entry_bytes_with(
    canonical_event: &[u8],
    signature_hex: &str,
    cosignature_hex: Option<&str>,
) -> Vec<u8> {
    let cosignature_len = cosignature_hex.map_or(0, |c| c.len() + 18);
    let mut out =
        Vec::with_capacity(canonical_event.len() + signature_hex.len() + cosignature_len + 24);
    match cosignature_hex {
        Some(cosignature) => {
            out.extend_from_slice(b"{\"cosignature\":\"");
            out.extend_from_slice(cosignature.as_bytes());
            out.extend_from_slice(b"\",\"event\":");
        }
        None => out.extend_from_slice(b"{\"event\":"),
    }
    out.extend_from_slice(canonical_event);
    out.extend_from_slice(b",\"signature\":\"");
    out.extend_from_slice(signature_hex.as_bytes());
    out.extend_from_slice(b"\"}");
    out
}

/// A ledger location as messages and reports show it: a PostgreSQL URL without its
/// password, a file path as given. (An open ledger's [`Ledger::path`] is already this.)
pub fn shown_location(path: &Path) -> PathBuf {
    match postgres_url(path) {
        Some(url) => crate::store::postgres::redacted(url),
        None => path.to_path_buf(),
    }
}

/// The PostgreSQL URL `path` spells, when it names a PostgreSQL ledger. (A SQLite file
/// whose relative path starts like one is reached as `./postgresql:…`.)
fn postgres_url(path: &Path) -> Option<&str> {
    path.to_str().filter(|p| is_postgres_url(p))
}

fn check_origin(origin: &str) -> Result<(), StoreError> {
    if origin.is_empty()
        || origin.len() as u64 > MAX_META_VALUE_BYTES
        || origin.chars().any(char::is_control)
    {
        return Err(StoreError::InvalidOrigin {
            origin: origin.to_owned(),
        });
    }
    Ok(())
}

impl Ledger {
    /// Creates a ledger at `path` (which must not exist) whose first entry, `ledger-initialised`,
    /// enrols `first_actor` and names the log key.
    pub fn init(
        path: &Path,
        origin: &str,
        first_actor: &Identity,
        log_key: &Identity,
    ) -> Result<Ledger, StoreError> {
        Self::init_with_signer_state(path, origin, first_actor, log_key, None)
    }

    /// [`Ledger::init`], with the log signer keeping its state in `signer_state` (see
    /// [`Ledger::set_signer_state`]) from the first checkpoint on.
    pub fn init_with_signer_state(
        path: &Path,
        origin: &str,
        first_actor: &Identity,
        log_key: &Identity,
        signer_state: Option<&Path>,
    ) -> Result<Ledger, StoreError> {
        check_origin(origin)?;
        if let Some(state) = signer_state {
            // A log key that already signed a tree for this origin cannot start a new one.
            if let Some((signed, _)) = read_signer_state(state, &log_key.verifier_key(), origin)? {
                return Err(StoreError::SignerStateAhead {
                    signed_size: signed.size,
                    size: 0,
                });
            }
        }
        if let Some(url) = postgres_url(path) {
            let store = PostgresStore::create(url, origin, &log_key.verifier_key().to_string())?;
            let result =
                Self::create_in(Box::new(store), origin, first_actor, log_key, signer_state);
            if result.is_err() {
                // Leave nothing half-made behind; the schema is ours, created just now.
                let _ = PostgresStore::discard_new(url);
            }
            return result;
        }
        if path.exists() {
            return Err(StoreError::AlreadyExists {
                path: path.to_path_buf(),
            });
        }
        let result = Self::create(path, origin, first_actor, log_key, signer_state);
        if result.is_err() {
            // Leave nothing half-made behind; the file is ours, created just now.
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.as_os_str().to_owned();
                p.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(p));
            }
        }
        result
    }

    fn create(
        path: &Path,
        origin: &str,
        first_actor: &Identity,
        log_key: &Identity,
        signer_state: Option<&Path>,
    ) -> Result<Ledger, StoreError> {
        let store = SqliteStore::create(path, origin, &log_key.verifier_key().to_string())?;
        Self::create_in(Box::new(store), origin, first_actor, log_key, signer_state)
    }

    /// Writes the first entry into a store just created for `origin` and `log_key`.
    fn create_in(
        store: Box<dyn LedgerStore>,
        origin: &str,
        first_actor: &Identity,
        log_key: &Identity,
        signer_state: Option<&Path>,
    ) -> Result<Ledger, StoreError> {
        let verifier = log_key.verifier_key();
        let mut ledger = Ledger {
            path: store.location().to_path_buf(),
            store,
            origin: origin.to_owned(),
            log_key: verifier.clone(),
            clock: now_utc,
            truth: RefCell::default(),
            signer_state: signer_state.map(Path::to_path_buf),
            snapshot_interval: crate::snapshot::SNAPSHOT_INTERVAL,
        };
        let claimed = format_utc((ledger.clock)());
        let draft = EventDraft::new(EventKind::LedgerInitialised, claimed).fields(EventFields {
            public_key: Some(hex::encode(&first_actor.public_key().to_bytes())),
            actor_info: Some(first_actor.info().clone()),
            log_key: Some(verifier.to_string()),
            ..EventFields::default()
        });
        ledger.append(draft, first_actor, log_key)?;
        Ok(ledger)
    }

    /// Creates an empty SQLite ledger file at `path` (which must not exist) holding only
    /// `meta` (`origin`, `log_key`): the start of a local copy of a published ledger, whose
    /// entries, nodes and checkpoint [`crate::published`] writes through the returned store
    /// before [`Ledger::verify`] checks it as it checks any ledger. Nothing is signed here.
    pub(crate) fn create_mirror(
        path: &Path,
        origin: &str,
        log_key: &VerifierKey,
    ) -> Result<Box<dyn LedgerStore>, StoreError> {
        check_origin(origin)?;
        Ok(Box::new(SqliteStore::create(
            path,
            origin,
            &log_key.to_string(),
        )?))
    }

    /// Opens an existing ledger, checking that it is one and that this build can read it.
    /// A `path` spelling a `postgresql://` (or `postgres://`) URL opens the ledger in that
    /// PostgreSQL database (see [`crate::store::postgres`]); any other is a SQLite file.
    pub fn open(path: &Path) -> Result<Ledger, StoreError> {
        let store: Box<dyn LedgerStore> = match postgres_url(path) {
            Some(url) => Box::new(PostgresStore::open(url)?),
            None => Box::new(SqliteStore::open(path)?),
        };
        let meta = |key: &'static str| -> Result<String, StoreError> {
            store.meta(key)?.ok_or(StoreError::CorruptMeta { key })
        };
        let origin = meta("origin")?;
        let log_key: VerifierKey = meta("log_key")?
            .parse()
            .map_err(|_| StoreError::CorruptMeta { key: "log_key" })?;
        Ok(Ledger {
            path: store.location().to_path_buf(),
            store,
            origin,
            log_key,
            clock: now_utc,
            truth: RefCell::default(),
            signer_state: None,
            snapshot_interval: crate::snapshot::SNAPSHOT_INTERVAL,
        })
    }

    /// Makes this process the log signer with its state in `path` (kept beside the log key,
    /// see [`crate::signer`]): from now on every checkpoint this ledger signs must extend
    /// the last one the log key signed, and the state is updated with each one.
    pub fn set_signer_state(&mut self, path: &Path) {
        self.signer_state = Some(path.to_path_buf());
    }

    /// The last checkpoint the log key signed, when this process is the signer.
    fn signed_by_signer(&self) -> Result<Option<Checkpoint>, StoreError> {
        let Some(path) = &self.signer_state else {
            return Ok(None);
        };
        Ok(read_signer_state(path, &self.log_key, &self.origin)?.map(|(c, _)| c))
    }

    /// The verified state, advanced over entries appended since it was last read.
    pub(crate) fn truth(&self) -> Result<Ref<'_, Truth>, StoreError> {
        {
            let signed = self.signed_by_signer()?;
            let mut truth = self.truth.borrow_mut();
            let tx = Transaction::begin(&*self.store, TxMode::Read)?;
            truth.advance(
                &*self.store,
                &self.origin,
                &self.log_key,
                signed.as_ref(),
                false,
            )?;
            tx.commit()?;
        }
        Ok(self.truth.borrow())
    }

    /// Replaces the clock the ledger reads `recorded_time` from (deterministic imports and
    /// tests; the monotonic-time rule still applies).
    pub fn set_clock(&mut self, clock: fn() -> OffsetDateTime) {
        self.clock = clock;
    }

    /// The ledger file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The ledger's origin (its checkpoints' first line).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The C2SP verifier key of the log key that signs checkpoints.
    pub fn log_verifier_key(&self) -> &VerifierKey {
        &self.log_key
    }

    /// Number of entries.
    pub fn size(&self) -> Result<u64, StoreError> {
        self.store.size()
    }

    /// Appends one event signed by `signer`, then a checkpoint signed by `log_key`.
    pub fn append(
        &mut self,
        draft: EventDraft,
        signer: &Identity,
        log_key: &Identity,
    ) -> Result<Appended, StoreError> {
        let mut out = self.append_batch(vec![draft], signer, log_key)?;
        Ok(out.remove(0))
    }

    /// Appends events in order as one transaction with one checkpoint at the end: all or
    /// nothing. Every event is checked against the rules as it would stand after the ones
    /// before it.
    pub fn append_batch(
        &mut self,
        drafts: Vec<EventDraft>,
        signer: &Identity,
        log_key: &Identity,
    ) -> Result<Vec<Appended>, StoreError> {
        match self.append_batch_if(drafts, signer, log_key, |_| Ok::<(), Infallible>(()))? {
            Ok(appended) => Ok(appended),
            Err(never) => match never {},
        }
    }

    /// [`Ledger::append_batch`], if `precondition` holds: it is checked inside the append's
    /// write transaction against the verified state (see [`LedgerView`]), so no other
    /// process can append between the check and the batch. When it fails, nothing is
    /// appended and its error is returned as `Ok(Err(_))`.
    pub fn append_batch_if<E>(
        &mut self,
        drafts: Vec<EventDraft>,
        signer: &Identity,
        log_key: &Identity,
        precondition: impl FnOnce(&LedgerView<'_>) -> Result<(), E>,
    ) -> Result<Result<Vec<Appended>, E>, StoreError> {
        let batch = Batch::Drafts {
            drafts,
            signer,
            cosigner: None,
        };
        self.append_inner(batch, log_key, precondition)
    }

    /// Appends a two-signature hand-over (the draft names `from_actor`, the signer, and
    /// `to_actor`, the cosigner) signed by both actors present at this workstation.
    pub fn append_cosigned(
        &mut self,
        draft: EventDraft,
        signer: &Identity,
        cosigner: &Identity,
        log_key: &Identity,
    ) -> Result<Appended, StoreError> {
        let batch = Batch::Drafts {
            drafts: vec![draft],
            signer,
            cosigner: Some(cosigner),
        };
        match self.append_inner(batch, log_key, |_| Ok::<(), Infallible>(()))? {
            Ok(mut appended) => Ok(appended.remove(0)),
            Err(never) => match never {},
        }
    }

    /// The first step of a hand-over between two workstations: the event `draft` would be
    /// at the next seq, checked against the rules and signed by `signer` (the releasing
    /// actor), but not appended. The receiving actor adds their signature with
    /// [`SignedEvent::cosign`]; [`Ledger::append_signed`] then appends it, if nothing was
    /// appended in between.
    pub fn prepare(&self, draft: EventDraft, signer: &Identity) -> Result<SignedEvent, StoreError> {
        let truth = self.truth()?;
        let actor = hex::encode(&signer.public_key().to_bytes());
        let recorded_time = format_utc((self.clock)());
        let event = event_at(&self.origin, truth.size(), &actor, &recorded_time, draft);
        let mut state = state_for(&truth.state, &actor, std::slice::from_ref(&event));
        drop(truth);
        state.check(&event)?;
        state.apply(&event);
        signed_by(event, signer)
    }

    /// Appends an entry signed elsewhere ([`Ledger::prepare`], then [`SignedEvent::cosign`]):
    /// it must be for this log at the next seq, recorded no earlier than the entry before it
    /// and not in the future, carry valid signatures (and the cosignature its `to_actor`
    /// requires) and keep every rule. A checkpoint follows as after any append.
    pub fn append_signed(
        &mut self,
        entry: SignedEvent,
        log_key: &Identity,
    ) -> Result<Appended, StoreError> {
        self.append_one(Batch::Signed(Box::new(entry)), log_key)
    }

    /// Appends one entry signed elsewhere, unconditionally.
    fn append_one(&mut self, batch: Batch<'_>, log_key: &Identity) -> Result<Appended, StoreError> {
        match self.append_inner(batch, log_key, |_| Ok::<(), Infallible>(()))? {
            Ok(mut appended) => Ok(appended.remove(0)),
            Err(never) => match never {},
        }
    }

    /// Where the next entry will stand: the ledger's origin, its size (the next seq) and
    /// its current time, which an actor appending over HTTP signs their event for
    /// ([`Ledger::sign_at`], then [`Ledger::append_submitted`] on the server).
    pub fn next_position(&self) -> Result<crate::submit::NextPosition, StoreError> {
        let seq = self.truth()?.size();
        Ok(crate::submit::NextPosition {
            origin: self.origin.clone(),
            seq,
            recorded_time: format_utc((self.clock)()),
        })
    }

    /// Signs `draft` by `signer` for `position`, as an actor does on their own workstation
    /// before sending the entry to the ledger's server; no ledger is needed, and the server
    /// checks every rule when it appends ([`Ledger::append_submitted`]).
    pub fn sign_at(
        position: &crate::submit::NextPosition,
        draft: EventDraft,
        signer: &Identity,
    ) -> Result<SignedEvent, StoreError> {
        let actor = hex::encode(&signer.public_key().to_bytes());
        let event = event_at(
            &position.origin,
            position.seq,
            &actor,
            &position.recorded_time,
            draft,
        );
        signed_by(event, signer)
    }

    /// Appends an entry an actor signed for the next position ([`Ledger::sign_at`]) and
    /// sent to this ledger's server: the same transaction, rules and checkpoint as every
    /// append. It must be for this log at the next seq (else
    /// [`StoreError::StalePosition`]: sign again), with a `recorded_time` neither more than
    /// [`crate::rules::CLAIMED_TIME_SKEW`] ahead of the ledger's clock nor (for a
    /// one-signature event) more than [`crate::submit::MAX_SUBMITTED_AGE`] behind it, and
    /// its signature must verify under the actor it names ([`StoreError::EventNotSigned`]).
    /// A two-signature hand-over carries its cosignature, checked as for
    /// [`Ledger::append_signed`].
    pub fn append_submitted(
        &mut self,
        entry: SignedEvent,
        log_key: &Identity,
    ) -> Result<Appended, StoreError> {
        self.append_one(Batch::Submitted(Box::new(entry)), log_key)
    }

    fn append_inner<E>(
        &mut self,
        batch: Batch<'_>,
        log_key: &Identity,
        precondition: impl FnOnce(&LedgerView<'_>) -> Result<(), E>,
    ) -> Result<Result<Vec<Appended>, E>, StoreError> {
        let result = self.append_locked(batch, log_key, precondition)?;
        if let Ok(appended) = &result {
            let interval = self.snapshot_interval.max(1);
            let crossed = match (appended.first(), appended.last()) {
                (Some(first), Some(last)) => first.seq / interval != (last.seq + 1) / interval,
                _ => false,
            };
            if crossed {
                // The append is committed; a snapshot not written costs the next open
                // time, never correctness, so its failure does not undo or fail the append
                // (`custody ledger snapshot` writes one and reports why it cannot).
                let _ = self.write_snapshot(log_key);
            }
        }
        Ok(result)
    }

    /// Writes a snapshot of the verified state as it stands now, signed by `log_key` (which
    /// must be the ledger's), and deletes all but the [`crate::snapshot::SNAPSHOTS_KEPT`]
    /// newest snapshots. Returns the number of entries it covers. See [`crate::snapshot`].
    pub fn write_snapshot(&mut self, log_key: &Identity) -> Result<u64, StoreError> {
        let given = log_key.verifier_key();
        if given != self.log_key {
            return Err(StoreError::WrongLogKey {
                expected: self.log_key.to_string(),
                given: given.to_string(),
            });
        }
        let store = &*self.store;
        let tx = Transaction::begin(store, TxMode::Append)?;
        let signed = match &self.signer_state {
            Some(p) => read_signer_state(p, &self.log_key, &self.origin)?.map(|(c, _)| c),
            None => None,
        };
        let mut truth = self.truth.borrow_mut();
        truth.advance(store, &self.origin, &self.log_key, signed.as_ref(), true)?;
        let size = truth.size();
        let (root, signature, state) =
            crate::snapshot::sign_snapshot(&truth, &self.origin, log_key)?;
        store.put_snapshot(size, &root, &signature, &state)?;
        drop(state);
        let mut kept = Vec::new();
        store.snapshot_rows(&mut |row| {
            kept.push(row.size);
            kept.len() >= crate::snapshot::SNAPSHOTS_KEPT
        })?;
        if kept.len() >= crate::snapshot::SNAPSHOTS_KEPT {
            if let Some(oldest_kept) = kept.last() {
                store.delete_snapshots_below(*oldest_kept)?;
            }
        }
        tx.commit()?;
        Ok(size)
    }

    /// Sets how many entries pass between the snapshots appends write (default
    /// [`crate::snapshot::SNAPSHOT_INTERVAL`]; tests and benchmarks use smaller ones).
    pub fn set_snapshot_interval(&mut self, interval: u64) {
        self.snapshot_interval = interval.max(1);
    }

    /// The sizes of the stored snapshot rows, newest first (as stored, not verified).
    pub fn snapshot_sizes(&self) -> Result<Vec<u64>, StoreError> {
        let mut sizes = Vec::new();
        self.store.snapshot_rows(&mut |row| {
            sizes.push(row.size);
            false
        })?;
        Ok(sizes)
    }

    /// The size of the signed snapshot the verified state was loaded from, when the replay
    /// started from one (`None`: every entry was replayed).
    pub fn replayed_from_snapshot(&self) -> Result<Option<u64>, StoreError> {
        Ok(self.truth()?.snapshot)
    }

    fn append_locked<E>(
        &mut self,
        batch: Batch<'_>,
        log_key: &Identity,
        precondition: impl FnOnce(&LedgerView<'_>) -> Result<(), E>,
    ) -> Result<Result<Vec<Appended>, E>, StoreError> {
        let given = log_key.verifier_key();
        if given != self.log_key {
            return Err(StoreError::WrongLogKey {
                expected: self.log_key.to_string(),
                given: given.to_string(),
            });
        }
        let clock = self.clock;
        let origin = self.origin.clone();
        let store = &*self.store;
        let tx = Transaction::begin(store, TxMode::Append)?;
        let signed = match &self.signer_state {
            Some(p) => read_signer_state(p, &self.log_key, &origin)?.map(|(c, _)| c),
            None => None,
        };
        let mut truth = self.truth.borrow_mut();
        truth.advance(store, &origin, &self.log_key, signed.as_ref(), true)?;
        if let Some(state_path) = &self.signer_state {
            // A note signed by a process killed before its commit (crate::signer).
            settle_pending(state_path, &self.log_key, &origin, |pending| {
                pending_fate(store, &truth.builder, pending)
            })?;
        }
        if let Err(refused) = precondition(&LedgerView { truth: &truth }) {
            return Ok(Err(refused));
        }
        let size = truth.size();
        // Read inside the write transaction: no other append can come after this time.
        let recorded_time = format_utc(clock());
        let (events, signing) = match batch {
            Batch::Drafts { drafts, .. } if drafts.is_empty() => return Ok(Ok(Vec::new())),
            Batch::Drafts {
                drafts,
                signer,
                cosigner,
            } => {
                let actor = hex::encode(&signer.public_key().to_bytes());
                let events = drafts
                    .into_iter()
                    .enumerate()
                    .map(|(offset, draft)| {
                        event_at(&origin, size + offset as u64, &actor, &recorded_time, draft)
                    })
                    .collect::<Vec<_>>();
                (events, Signing::Sign { signer, cosigner })
            }
            Batch::Signed(entry) => {
                // Position, log, clock and signatures first: a stale draft says so.
                let made = presigned_entry(&entry, size, &origin, clock())?;
                (vec![entry.event], Signing::Presigned(made))
            }
            Batch::Submitted(entry) => {
                let made = submitted_entry(&entry, size, &origin, clock())?;
                (vec![entry.event], Signing::Presigned(made))
            }
        };
        let mut state = state_for(&truth.state, &events[0].actor, &events);
        let mut builder = truth.builder.clone();
        for event in &events {
            state.check(event)?;
            state.apply(event);
        }
        // Encoding and signing dominate a batch and do not depend on each other: spread them
        // over the cores, then write in seq order.
        let signed = match signing {
            Signing::Sign { signer, cosigner } => crate::verify::par_chunks(&events, |part| {
                part.iter()
                    .map(|event| sign_entry(event, signer, cosigner))
                    .collect()
            }),
            Signing::Presigned(made) => vec![Ok(made)],
        };
        let mut appended = Vec::with_capacity(events.len());
        let mut entries = Vec::with_capacity(events.len());
        let mut nodes = Vec::new();
        for (event, signed) in events.iter().zip(signed) {
            let (entry, leaf) = signed?;
            let seq = event.seq;
            nodes.extend(
                builder
                    .push(leaf)
                    .into_iter()
                    .filter(|(level, _, _)| *level > 0),
            );
            entries.push((seq, entry, leaf));
            appended.push(Appended {
                seq,
                leaf_hash: leaf,
                checkpoint: String::new(),
            });
        }
        // Written together: a store may send a batch in a few statements, not one per row.
        store.insert_entries(&entries)?;
        store.insert_nodes(&nodes)?;
        drop(entries);
        let links: Vec<_> = events
            .iter()
            .map(|event| (event.seq, history_items(event), event.case.as_deref()))
            .collect();
        store.link_events(&links)?;
        store.write_index_state(&state)?;
        if let Some(state_path) = &self.signer_state {
            check_extends_signed(store, state_path, &self.log_key, &origin, &builder)?;
        }
        let note = sign_checkpoint(&origin, &builder, log_key)?;
        store.insert_checkpoint(builder.size(), &note)?;
        // The signer records what it signed before the checkpoint is published, as pending:
        // a signed checkpoint is never missing from its memory, and a process killed before
        // the commit leaves a note the next append settles (crate::signer).
        if let Some(state_path) = &self.signer_state {
            write_pending(state_path, &note)?;
        }
        tx.commit()?;
        if let Some(state_path) = &self.signer_state {
            // Committed: a failure to record it now is settled by the next append.
            let _ = promote_pending(state_path, &note);
        }
        for (event, appended) in events.iter().zip(&appended) {
            truth.push(event.seq, appended.leaf_hash, event);
        }
        if let Ok((checkpoint, _, _)) =
            Checkpoint::open(note.as_bytes(), std::slice::from_ref(&self.log_key))
        {
            truth.checkpoint = Some((checkpoint, note.clone()));
        }
        for a in &mut appended {
            a.checkpoint.clone_from(&note);
        }
        Ok(Ok(appended))
    }

    /// One entry, verified: its bytes are shown to be the leaf at `seq` of the verified
    /// tree (an inclusion proof from the stored nodes, checked against the root the replay
    /// computed), so an entry or node changed with SQL is an error, never an answer.
    pub fn entry(&self, seq: u64) -> Result<StoredEntry, StoreError> {
        let truth = self.truth()?;
        self.verified_entry(&truth, seq)
    }

    fn verified_entry(&self, truth: &Truth, seq: u64) -> Result<StoredEntry, StoreError> {
        let size = truth.size();
        if seq >= size {
            return Err(StoreError::NoSuchEntry { seq, size });
        }
        let bytes = self.store.entry(seq)?.ok_or_else(|| {
            unverified(LedgerFinding::MissingEntries {
                from: seq,
                to: seq + 1,
            })
        })?;
        let bytes = bytes.ok_or_else(|| {
            unverified(LedgerFinding::EntryTooLarge {
                seq,
                limit: MAX_ENTRY_BYTES,
            })
        })?;
        let leaf = merkle::leaf_hash(&bytes);
        let proof = merkle::inclusion_proof(&mut StoredTree(&*self.store), seq, size).map_err(
            |e| match e {
                TreeError::Proof(p) => StoreError::Proof(p),
                TreeError::Source(_) => unverified(LedgerFinding::LeafHashMismatch { seq }),
            },
        )?;
        if proof.verify(&leaf, &truth.root()).is_err() {
            return Err(unverified(LedgerFinding::LeafHashMismatch { seq }));
        }
        let signed = parse_entry(seq, &bytes)?;
        Ok(StoredEntry { seq, bytes, signed })
    }

    fn entries_at(&self, seqs: Option<&Vec<u64>>) -> Result<Vec<StoredEntry>, StoreError> {
        let truth = self.truth()?;
        // One read transaction for every entry and proof: outside one, SQLite takes and
        // releases its file lock for each of the ~20 queries an entry costs, and the lock
        // calls were most of the time `custody log` of a large case took.
        let tx = Transaction::begin(&*self.store, TxMode::Read)?;
        let entries = seqs
            .into_iter()
            .flatten()
            .map(|seq| self.verified_entry(&truth, *seq))
            .collect();
        tx.commit()?;
        entries
    }

    /// Every event naming `item` (and, for a parent item, the derivations from it), in
    /// order, from the verified entries.
    pub fn item_history(&self, item: &str) -> Result<Vec<StoredEntry>, StoreError> {
        let seqs = self.truth()?.item_history.get(item).cloned();
        self.entries_at(seqs.as_ref())
    }

    /// Every event of a case, in order, from the verified entries.
    pub fn case_history(&self, case: &str) -> Result<Vec<StoredEntry>, StoreError> {
        let seqs = self.truth()?.case_history.get(case).cloned();
        self.entries_at(seqs.as_ref())
    }

    /// Every actor ever enrolled, by key, as the verified entries say.
    pub fn actors(&self) -> Result<Vec<ActorRecord>, StoreError> {
        Ok(self.truth()?.state.actors.values().cloned().collect())
    }

    /// Every case, by reference, as the verified entries say.
    pub fn cases(&self) -> Result<Vec<CaseRecord>, StoreError> {
        Ok(self.truth()?.state.cases.values().cloned().collect())
    }

    /// Items, by id: those created under `case`, or all, as the verified entries say.
    pub fn items(&self, case: Option<&str>) -> Result<Vec<ItemRecord>, StoreError> {
        Ok(self
            .truth()?
            .state
            .items
            .values()
            .filter(|r| case.is_none() || r.case.as_deref() == case)
            .cloned()
            .collect())
    }

    /// Runs `read` on the verified state as it stands now (see [`LedgerView`]). For a
    /// decision that is then recorded, check again inside the append with
    /// [`Ledger::append_batch_if`].
    pub fn read_verified<T>(
        &self,
        read: impl FnOnce(&LedgerView<'_>) -> T,
    ) -> Result<T, StoreError> {
        let truth = self.truth()?;
        Ok(read(&LedgerView { truth: &truth }))
    }

    /// Seq of the `acknowledged` entry for a package digest (SHA-256 hex), if any.
    pub fn acknowledged_seq(&self, package_digest: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.truth()?.acknowledged.get(package_digest).copied())
    }

    /// The newest stored checkpoint that verifies under the log key and matches the
    /// verified entries, with its note text.
    pub fn latest_checkpoint(&self) -> Result<(Checkpoint, String), StoreError> {
        self.truth()?
            .checkpoint
            .clone()
            .ok_or(StoreError::NoCheckpoint)
    }

    /// The stored checkpoint note for exactly `size` entries, if one was signed (as stored,
    /// not verified). A note longer than [`MAX_CHECKPOINT_NOTE_BYTES`] is not read: `None`.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<String>, StoreError> {
        self.store.checkpoint_at(size)
    }

    /// The signed checkpoint stored for exactly `size` entries, verified: signed by the log
    /// key, of this origin and size, and with the root of the verified entries' first
    /// `size` leaves. For handing out an older checkpoint (`custody checkpoint --size`).
    pub fn signed_checkpoint_at(&self, size: u64) -> Result<(Checkpoint, String), StoreError> {
        let ledger_size = self.truth()?.size();
        let note = if size <= ledger_size {
            self.checkpoint_at(size)?
        } else {
            None
        };
        let Some(note) = note else {
            return Err(StoreError::NoCheckpointAt { size, ledger_size });
        };
        let bad = StoreError::BadStoredCheckpoint { size };
        let Ok((checkpoint, _, _)) =
            Checkpoint::open(note.as_bytes(), std::slice::from_ref(&self.log_key))
        else {
            return Err(bad);
        };
        if checkpoint.size != size || checkpoint.origin != self.origin {
            return Err(bad);
        }
        if self.root_at(size)? != checkpoint.root {
            return Err(bad);
        }
        Ok((checkpoint, note))
    }

    /// Merkle tree hash of the first `size` entries: read from the stored nodes and shown
    /// to be a prefix of the verified tree by a consistency proof, so a node changed with
    /// SQL is an error, never an answer.
    pub fn root_at(&self, size: u64) -> Result<Hash, StoreError> {
        let truth = self.truth()?;
        let full = truth.size();
        if size > full {
            return Err(StoreError::NoSuchEntry {
                seq: size - 1,
                size: full,
            });
        }
        if size == full {
            return Ok(truth.root());
        }
        let mut stored = StoredTree(&*self.store);
        let root = merkle::tree_root(&mut stored, size).map_err(|e| self.tree_err(e))?;
        if size > 0 {
            let proof =
                merkle::consistency_proof(&mut stored, size, full).map_err(|e| self.tree_err(e))?;
            if proof.verify(&root, &truth.root()).is_err() {
                return Err(StoreError::SignedCheckpointMismatch { size: full });
            }
        }
        Ok(root)
    }

    /// Inclusion proof of entry `seq` in the tree of the first `tree_size` entries, checked
    /// against the verified entry and the verified root of that tree before it is returned.
    pub fn inclusion_proof(
        &self,
        seq: u64,
        tree_size: u64,
    ) -> Result<merkle::InclusionProof, StoreError> {
        self.check_size(tree_size)?;
        let proof = merkle::inclusion_proof(&mut StoredTree(&*self.store), seq, tree_size)
            .map_err(|e| self.tree_err(e))?;
        // Built from stored nodes: shown against the verified entry and root before it leaves.
        let leaf = merkle::leaf_hash(&self.entry(seq)?.bytes);
        if proof.verify(&leaf, &self.root_at(tree_size)?).is_err() {
            return Err(unverified(LedgerFinding::LeafHashMismatch { seq }));
        }
        Ok(proof)
    }

    /// Consistency proof from the tree of `old` entries to the tree of `new` entries, checked
    /// against the verified roots of both before it is returned.
    pub fn consistency_proof(
        &self,
        old: u64,
        new: u64,
    ) -> Result<merkle::ConsistencyProof, StoreError> {
        self.check_size(new)?;
        let proof = merkle::consistency_proof(&mut StoredTree(&*self.store), old, new)
            .map_err(|e| self.tree_err(e))?;
        if proof
            .verify(&self.root_at(old)?, &self.root_at(new)?)
            .is_err()
        {
            return Err(StoreError::SignedCheckpointMismatch { size: new });
        }
        Ok(proof)
    }

    fn check_size(&self, size: u64) -> Result<(), StoreError> {
        let current = self.size()?;
        if size > current {
            return Err(StoreError::NoSuchEntry {
                seq: size - 1,
                size: current,
            });
        }
        Ok(())
    }

    fn tree_err(&self, e: TreeError<StoreError>) -> StoreError {
        match e {
            TreeError::Proof(p) => StoreError::Proof(p),
            TreeError::Source(s) => s,
        }
    }

    /// Keeps a checkpoint of this ledger held or cosigned elsewhere (a receipt, a witness,
    /// an auditor's copy); `verify` checks the ledger against it from then on. The note must
    /// carry a valid signature by this ledger's log key and name its origin.
    pub fn add_outside_checkpoint(
        &mut self,
        note: &str,
        source: &str,
    ) -> Result<Checkpoint, StoreError> {
        let foreign = |error| StoreError::ForeignCheckpoint {
            source_name: source.to_owned(),
            error,
        };
        let (checkpoint, _, _) =
            Checkpoint::open(note.as_bytes(), std::slice::from_ref(&self.log_key))
                .map_err(foreign)?;
        if checkpoint.origin != self.origin {
            return Err(foreign(
                custody_core::checkpoint::CheckpointError::WrongOrigin {
                    expected: self.origin.clone(),
                    found: checkpoint.origin.clone(),
                },
            ));
        }
        let added = format_utc((self.clock)());
        self.store.insert_outside_checkpoint(source, note, &added)?;
        Ok(checkpoint)
    }

    /// Every stored outside checkpoint as `(source, note)`, in the order added; a note longer
    /// than [`MAX_CHECKPOINT_NOTE_BYTES`] is `None` (not read), a source label longer than
    /// [`MAX_OUTSIDE_SOURCE_BYTES`] reads as [`SOURCE_TOO_LARGE`]. The whole table is
    /// collected: callers that only test for one note or count rows use
    /// [`Ledger::has_outside_checkpoint`] and [`Ledger::outside_checkpoint_count`].
    pub fn outside_checkpoints(&self) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let mut rows = Vec::new();
        self.for_each_outside_checkpoint(|source, note| rows.push((source, note)))?;
        Ok(rows)
    }

    /// Streams the outside checkpoints as [`Ledger::outside_checkpoints`] returns them,
    /// holding one row at a time.
    pub(crate) fn for_each_outside_checkpoint(
        &self,
        mut each: impl FnMut(String, Option<String>),
    ) -> Result<(), StoreError> {
        self.store.for_each_outside_checkpoint(&mut |source, note| {
            each(source.unwrap_or_else(|| SOURCE_TOO_LARGE.to_owned()), note);
        })
    }

    /// Whether `note` is stored, byte for byte, as an outside checkpoint.
    pub fn has_outside_checkpoint(&self, note: &str) -> Result<bool, StoreError> {
        self.store.has_outside_checkpoint(note)
    }

    /// Number of stored outside checkpoints.
    pub fn outside_checkpoint_count(&self) -> Result<u64, StoreError> {
        self.store.outside_checkpoint_count()
    }

    /// Rebuilds every index table from the entries alone. Unreadable entries, and entries
    /// longer than [`MAX_ENTRY_BYTES`], are skipped (`verify` reports them).
    pub fn reindex(&mut self) -> Result<(), StoreError> {
        let store = &*self.store;
        let tx = Transaction::begin(store, TxMode::Append)?;
        store.clear_index()?;
        let mut state = State::default();
        let mut last = None;
        loop {
            let rows = store.entries_after(last, crate::verify::CHUNK)?;
            let Some(&(chunk_last, _, _)) = rows.last() else {
                break;
            };
            last = Some(chunk_last);
            for (seq, bytes, _) in rows {
                let Some(Ok(signed)) = bytes.map(|b| parse_entry(seq, &b)) else {
                    continue;
                };
                let event = &signed.event;
                state.apply(event);
                store.link_event(event.seq, &history_items(event), event.case.as_deref())?;
            }
        }
        store.write_index_state(&state)?;
        tx.commit()
    }
}

/// The part of the verified state a batch touches: the signer, the keys, cases and items
/// its drafts name, and the last recorded time. The rules need nothing else, and copying
/// only this keeps an append independent of the ledger's size.
fn state_for(full: &State, actor: &str, events: &[Event]) -> State {
    let mut part = State {
        last_recorded: full.last_recorded.clone(),
        active_actors: full.active_actors,
        ..State::default()
    };
    let mut take_actor = |key: &str| {
        if let Some(record) = full.actors.get(key) {
            part.actors.insert(key.to_owned(), record.clone());
        }
    };
    take_actor(actor);
    for e in events {
        if let Some(key) = e.fields.public_key.as_deref() {
            take_actor(key);
        }
        // A hand-over's receiving actor: the rules check that key too.
        if let Some(key) = e.fields.to_actor.as_deref() {
            take_actor(key);
        }
    }
    for e in events {
        if let Some(record) = e.case.as_deref().and_then(|c| full.cases.get(c)) {
            part.cases.insert(record.case.clone(), record.clone());
        }
        for item in e.items.iter().chain(e.fields.parent.as_ref()) {
            if let Some(record) = full.items.get(item) {
                part.items.insert(item.clone(), record.clone());
            }
            if let Some(received) = full.received.get(item) {
                part.received.insert(item.clone(), received.clone());
            }
        }
    }
    part
}

/// What an append writes: drafts to sign here, or one entry signed elsewhere.
enum Batch<'a> {
    Drafts {
        drafts: Vec<EventDraft>,
        signer: &'a Identity,
        cosigner: Option<&'a Identity>,
    },
    Signed(Box<SignedEvent>),
    /// An event an actor signed for the next position and sent to `custody serve`.
    Submitted(Box<SignedEvent>),
}

enum Signing<'a> {
    Sign {
        signer: &'a Identity,
        cosigner: Option<&'a Identity>,
    },
    /// Entry bytes and leaf hash, checked by [`presigned_entry`].
    Presigned((Vec<u8>, Hash)),
}

/// The event a draft becomes at `seq`.
fn event_at(origin: &str, seq: u64, actor: &str, recorded_time: &str, draft: EventDraft) -> Event {
    Event {
        v: EVENT_VERSION,
        origin: origin.to_owned(),
        seq,
        kind: draft.kind,
        actor: actor.to_owned(),
        claimed_time: draft.claimed_time,
        recorded_time: recorded_time.to_owned(),
        case: draft.case,
        items: draft.items,
        fields: draft.fields,
    }
}

/// Signs `event` (and, for a hand-over, cosigns it with `cosigner`, who must be its
/// `to_actor`) and makes its entry bytes and leaf hash.
fn sign_entry(
    event: &Event,
    signer: &Identity,
    cosigner: Option<&Identity>,
) -> Result<(Vec<u8>, Hash), StoreError> {
    let seq = event.seq;
    let canonical_event = canonical::to_canonical_vec(event)?;
    let signature = sign::sign_canonical(signer, sign::CONTEXT_EVENT, &canonical_event);
    let to_actor = event.fields.to_actor.as_ref();
    let cosignature = match (to_actor, cosigner) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(StoreError::Cosignature {
                seq,
                problem: CosignatureError::Missing,
            })
        }
        (expected, Some(cosigner)) => {
            let given = hex::encode(&cosigner.public_key().to_bytes());
            if expected != Some(&given) {
                return Err(StoreError::WrongCosigner {
                    seq,
                    expected: expected.cloned(),
                    given,
                });
            }
            let cosignature =
                sign::sign_canonical(cosigner, CONTEXT_EVENT_COSIGNATURE, &canonical_event);
            Some(sign::signature_to_hex(&cosignature))
        }
    };
    finish_entry(
        seq,
        &canonical_event,
        &sign::signature_to_hex(&signature),
        cosignature.as_deref(),
    )
}

/// `event` signed by `signer` (one signature), as an entry signed away from the ledger.
fn signed_by(event: Event, signer: &Identity) -> Result<SignedEvent, StoreError> {
    let canonical_event = canonical::to_canonical_vec(&event)?;
    let signature = sign::sign_canonical(signer, sign::CONTEXT_EVENT, &canonical_event);
    Ok(SignedEvent {
        event,
        signature: sign::signature_to_hex(&signature),
        cosignature: None,
    })
}

/// How an entry signed elsewhere arrived.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SignedElsewhere {
    /// A two-signature hand-over draft ([`Ledger::append_signed`]).
    HandOver,
    /// An event sent to the ledger's server ([`Ledger::append_submitted`]).
    Submitted,
}

/// Checks an entry signed elsewhere before it is appended at `size` (see
/// [`Ledger::append_signed`]) and makes its entry bytes and leaf hash.
fn presigned_entry(
    entry: &SignedEvent,
    size: u64,
    origin: &str,
    now: OffsetDateTime,
) -> Result<(Vec<u8>, Hash), StoreError> {
    signed_elsewhere(entry, size, origin, now, SignedElsewhere::HandOver)
}

/// The entry bytes of an event submitted over HTTP, once its position, log, clock and
/// signatures are checked ([`Ledger::append_submitted`]).
fn submitted_entry(
    entry: &SignedEvent,
    size: u64,
    origin: &str,
    now: OffsetDateTime,
) -> Result<(Vec<u8>, Hash), StoreError> {
    signed_elsewhere(entry, size, origin, now, SignedElsewhere::Submitted)
}

/// One set of checks for entries signed elsewhere; only the error variants, and the
/// lower bound on a submitted one-signature event's `recorded_time`, differ by route.
fn signed_elsewhere(
    entry: &SignedEvent,
    size: u64,
    origin: &str,
    now: OffsetDateTime,
    route: SignedElsewhere,
) -> Result<(Vec<u8>, Hash), StoreError> {
    let event = &entry.event;
    let seq = event.seq;
    let hand_over = route == SignedElsewhere::HandOver;
    let stale = |reason| match route {
        SignedElsewhere::HandOver => StoreError::StaleHandOver { seq, size, reason },
        SignedElsewhere::Submitted => StoreError::StalePosition { seq, size, reason },
    };
    if hand_over && event.fields.to_actor.is_none() {
        return Err(stale("not a two-signature hand-over"));
    }
    if seq != size {
        return Err(stale(if hand_over {
            "prepared for another position"
        } else {
            "signed for another position"
        }));
    }
    if event.origin != origin {
        return Err(stale(if hand_over {
            "prepared for another ledger"
        } else {
            "signed for another ledger"
        }));
    }
    if event.v != EVENT_VERSION {
        return Err(stale("another event format version"));
    }
    let recorded = crate::rules::parse_time("recorded_time", &event.recorded_time)?;
    let future = now
        .checked_add(crate::rules::CLAIMED_TIME_SKEW)
        .is_some_and(|limit| recorded > limit);
    if future {
        return Err(stale("recorded time ahead of the ledger's clock"));
    }
    let behind = !hand_over
        && event.fields.to_actor.is_none()
        && now
            .checked_sub(crate::submit::MAX_SUBMITTED_AGE)
            .is_some_and(|limit| recorded < limit);
    if behind {
        return Err(stale("recorded time too far behind the ledger's clock"));
    }
    let canonical_event = canonical::to_canonical_vec(event)?;
    if !entry.signature_verifies(&canonical_event) {
        return Err(match route {
            SignedElsewhere::HandOver => StoreError::HandOverNotSigned { seq },
            SignedElsewhere::Submitted => StoreError::EventNotSigned { seq },
        });
    }
    entry
        .check_cosignature(&canonical_event)
        .map_err(|problem| StoreError::Cosignature { seq, problem })?;
    finish_entry(
        seq,
        &canonical_event,
        &entry.signature,
        entry.cosignature.as_deref(),
    )
}

fn finish_entry(
    seq: u64,
    canonical_event: &[u8],
    signature_hex: &str,
    cosignature_hex: Option<&str>,
) -> Result<(Vec<u8>, Hash), StoreError> {
    let entry = entry_bytes_with(canonical_event, signature_hex, cosignature_hex);
    if entry.len() as u64 > MAX_ENTRY_BYTES {
        return Err(StoreError::EntryTooLarge {
            seq,
            size: entry.len() as u64,
            limit: MAX_ENTRY_BYTES,
        });
    }
    let leaf = merkle::leaf_hash(&entry);
    Ok((entry, leaf))
}

/// Before the log key signs `builder`'s tree: it must extend the last checkpoint the key
/// signed, as kept in the signer's state.
fn check_extends_signed(
    store: &dyn LedgerStore,
    state_path: &Path,
    log_key: &VerifierKey,
    origin: &str,
    builder: &TreeBuilder,
) -> Result<(), StoreError> {
    let Some((signed, _)) = read_signer_state(state_path, log_key, origin)? else {
        return Ok(());
    };
    let size = builder.size();
    if size < signed.size {
        return Err(StoreError::SignerStateAhead {
            signed_size: signed.size,
            size,
        });
    }
    let fork = StoreError::SignerStateFork {
        signed_size: signed.size,
    };
    if signed.size == 0 {
        return Ok(());
    }
    let proof =
        merkle::consistency_proof(&mut StoredTree(store), signed.size, size).map_err(|_| {
            StoreError::SignerStateFork {
                signed_size: signed.size,
            }
        })?;
    proof
        .verify(&signed.root, &builder.root())
        .map_err(|_| fork)
}

/// Whether the verified tree `builder` holds the pending checkpoint's tree: committed when
/// it is at least as large and consistent with it, never committed when smaller, a fork
/// (`None`) when as large but inconsistent.
fn pending_fate(
    store: &dyn LedgerStore,
    builder: &TreeBuilder,
    pending: &Checkpoint,
) -> Option<PendingFate> {
    let size = builder.size();
    if size < pending.size {
        return Some(PendingFate::NeverCommitted);
    }
    if pending.size == size {
        return (pending.root == builder.root()).then_some(PendingFate::Committed);
    }
    let proof = merkle::consistency_proof(&mut StoredTree(store), pending.size, size).ok()?;
    proof
        .verify(&pending.root, &builder.root())
        .ok()
        .map(|()| PendingFate::Committed)
}

fn sign_checkpoint(
    origin: &str,
    builder: &TreeBuilder,
    log_key: &Identity,
) -> Result<String, StoreError> {
    let checkpoint = Checkpoint {
        origin: origin.to_owned(),
        size: builder.size(),
        root: builder.root(),
        extensions: Vec::new(),
    };
    let note = checkpoint.sign(&[log_key])?;
    Ok(String::from_utf8_lossy(&note.to_bytes()).into_owned())
}
