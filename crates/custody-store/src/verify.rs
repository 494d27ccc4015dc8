//! Full ledger verification: every entry, signature, rule, Merkle node, checkpoint, outside
//! checkpoint and index row, with every problem reported (not just the first).
//!
//! Per-entry work (parsing, canonical form, Ed25519 signature, leaf hash) runs on all cores;
//! the rules replay and the tree run in sequence order.

use std::collections::{BTreeMap, HashMap};

use custody_core::checkpoint::Checkpoint;
use custody_core::keys::{PublicKey, Signature};
use custody_core::merkle::{self, Hash};
use custody_core::{canonical, hex, sign};

use crate::error::StoreError;
use crate::event::{CosignatureError, Event, EventKind, SignedEvent, EVENT_VERSION};
use crate::ledger::{parse_entry, Ledger, MAX_CHECKPOINT_NOTE_BYTES, MAX_ENTRY_BYTES};
use crate::rules::{history_items, State};
use crate::store::{LedgerStore, StoredTree, Transaction, TxMode};

/// What verification found: the ledger size and every problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerReport {
    /// Number of entries (highest seq + 1).
    pub size: u64,
    /// Every problem found, in the order checked; empty when the ledger verifies.
    pub findings: Vec<LedgerFinding>,
}

impl LedgerReport {
    /// Whether nothing was found.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// One verification problem, naming the entry, tree node, checkpoint or index row. In
/// JSON: `{"code": "<variant in snake_case>", ...its fields}` (docs/json.md).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LedgerFinding {
    /// Sequence numbers `from..to` have no entry.
    #[error("entries {from}..{to} are missing")]
    MissingEntries {
        /// First missing seq.
        from: u64,
        /// First seq present again.
        to: u64,
    },
    /// The entry is not a signed event.
    #[error("entry {seq}: not a signed custody event")]
    Unparseable {
        /// The entry.
        seq: u64,
    },
    /// The entry bytes are not the RFC 8785 form of the event (or carry unknown fields).
    #[error("entry {seq}: not in canonical form")]
    NotCanonical {
        /// The entry.
        seq: u64,
    },
    /// The event's own seq is not its position.
    #[error("entry {seq}: event claims seq {found}")]
    SeqMismatch {
        /// The position.
        seq: u64,
        /// The seq inside the event.
        found: u64,
    },
    /// The event names another log.
    #[error("entry {seq}: origin {found:?} is not this ledger's")]
    WrongOrigin {
        /// The entry.
        seq: u64,
        /// The origin inside the event.
        found: String,
    },
    /// An event format version this build does not know.
    #[error("entry {seq}: unknown event version {found}")]
    UnknownVersion {
        /// The entry.
        seq: u64,
        /// The version found.
        found: u32,
    },
    /// The signature does not verify under the event's actor key.
    #[error("entry {seq}: signature does not verify")]
    BadSignature {
        /// The entry.
        seq: u64,
    },
    /// A two-signature hand-over (the event names `to_actor`) without the receiving
    /// actor's cosignature.
    #[error("entry {seq}: hand-over lacks the receiving actor's cosignature")]
    MissingCosignature {
        /// The entry.
        seq: u64,
    },
    /// A cosignature that does not verify under the event's `to_actor` over this event, is
    /// malformed, or sits on an event that names no receiving actor.
    #[error("entry {seq}: cosignature does not verify under the receiving actor's key")]
    BadCosignature {
        /// The entry.
        seq: u64,
    },
    /// Signed by a key never enrolled before it.
    #[error("entry {seq}: signer {key} is not an enrolled actor")]
    UnknownSigner {
        /// The entry.
        seq: u64,
        /// The key (hex).
        key: String,
    },
    /// Signed by a revoked or rotated-out key.
    #[error("entry {seq}: signer {key} was revoked or replaced before it")]
    RevokedSigner {
        /// The entry.
        seq: u64,
        /// The key (hex).
        key: String,
    },
    /// Recorded earlier than the entry before it.
    #[error("entry {seq}: recorded time goes backwards")]
    TimeWentBackwards {
        /// The entry.
        seq: u64,
    },
    /// Another append rule is broken.
    #[error("entry {seq}: breaks rule {rule}: {detail}")]
    RuleBroken {
        /// The entry.
        seq: u64,
        /// The rule's name (see [`StoreError::rule_name`]).
        rule: &'static str,
        /// The refusal an append would have given.
        detail: String,
    },
    /// The seq-0 event names another log key than the ledger's.
    #[error("entry {seq}: names a log key other than the ledger's")]
    LogKeyMismatch {
        /// The entry.
        seq: u64,
    },
    /// The stored leaf hash is not the hash of the entry.
    #[error("entry {seq}: stored leaf hash is wrong")]
    LeafHashMismatch {
        /// The entry.
        seq: u64,
    },
    /// A stored interior tree node is wrong or missing (proofs would be wrong).
    #[error("tree node level {level} index {index} is wrong or missing")]
    NodeMismatch {
        /// Node level (1 = pairs of leaves).
        level: u32,
        /// Node index within the level.
        index: u64,
    },
    /// A stored checkpoint is not a well-formed checkpoint of this log.
    #[error("checkpoint at size {size} is malformed or names another log")]
    CheckpointMalformed {
        /// The size it is stored under.
        size: u64,
    },
    /// A stored entry is longer than any entry the ledger writes; it was not read.
    #[error("entry {seq} is longer than {limit} bytes and was not read")]
    EntryTooLarge {
        /// The entry.
        seq: u64,
        /// [`crate::ledger::MAX_ENTRY_BYTES`].
        limit: u64,
    },
    /// A stored checkpoint note is longer than any real note; it was not read.
    #[error("checkpoint at size {size}: the note is longer than {limit} bytes and was not read")]
    CheckpointTooLarge {
        /// The size it is stored under.
        size: u64,
        /// [`crate::ledger::MAX_CHECKPOINT_NOTE_BYTES`].
        limit: u64,
    },
    /// A stored checkpoint's signature does not verify under the log key.
    #[error("checkpoint at size {size}: log key signature does not verify")]
    CheckpointSignature {
        /// Its size.
        size: u64,
    },
    /// A stored checkpoint's root is not the tree hash of that many entries.
    #[error("checkpoint at size {size}: root does not match the entries")]
    CheckpointRootMismatch {
        /// Its size.
        size: u64,
    },
    /// A stored checkpoint is for more entries than the ledger holds.
    #[error("checkpoint at size {size} but the ledger holds {ledger_size} entries")]
    CheckpointAhead {
        /// Its size.
        size: u64,
        /// Entries present.
        ledger_size: u64,
    },
    /// Entries beyond the newest checkpoint (appends always checkpoint in the same transaction).
    #[error("entries {from}..{to} are covered by no checkpoint")]
    UncheckpointedEntries {
        /// First uncovered seq.
        from: u64,
        /// Ledger size.
        to: u64,
    },
    /// An outside checkpoint that does not verify as this log's (signature, origin, syntax).
    #[error(
        "outside checkpoint from {source_name}: not a valid checkpoint of this ledger's log key"
    )]
    OutsideCheckpointSignature {
        /// Where it came from.
        source_name: String,
    },
    /// An outside checkpoint row whose note is longer than any real note; it was not read.
    #[error("outside checkpoint from {source_name}: the note is longer than {limit} bytes and was not read")]
    OutsideCheckpointTooLarge {
        /// Where it came from.
        source_name: String,
        /// [`crate::ledger::MAX_CHECKPOINT_NOTE_BYTES`].
        limit: u64,
    },
    /// An outside checkpoint whose root differs from the ledger's first `size` entries: the
    /// ledger was rewritten.
    #[error("outside checkpoint from {source_name} at size {size} does not match the ledger: entries before {size} were changed")]
    OutsideCheckpointMismatch {
        /// Its size.
        size: u64,
        /// Where it came from.
        source_name: String,
    },
    /// An outside checkpoint for more entries than the ledger holds: entries from
    /// `ledger_size` on were removed.
    #[error("outside checkpoint from {source_name} covers {size} entries but the ledger holds {ledger_size}: entries from seq {ledger_size} are missing")]
    OutsideCheckpointAhead {
        /// Its size.
        size: u64,
        /// Entries present.
        ledger_size: u64,
        /// Where it came from.
        source_name: String,
    },
    /// An `acknowledged` entry carries a cosigned checkpoint that the outside-checkpoint
    /// table has lost (the entry still holds it, and it is checked from there).
    #[error("entry {seq}: the cosigned checkpoint of this acknowledged receipt is missing from the outside checkpoints table (deleted, or lost by a crash right after the append; acknowledging the receipt again puts it back); it is still checked from the entry")]
    OutsideCheckpointRowMissing {
        /// The `acknowledged` entry.
        seq: u64,
    },
    /// The log signer's state could not be read or believed.
    #[error("log signer state {path}: {reason}")]
    SignerStateUnreadable {
        /// The state file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A stored state snapshot whose signature does not verify under the log key for this
    /// ledger's origin, size, root and state bytes (edited, from another ledger or signed
    /// by another key). Opens ignore it.
    #[error("state snapshot at size {size}: signature does not verify under the log key")]
    SnapshotSignature {
        /// The size the row claims.
        size: u64,
    },
    /// A signed state snapshot whose state does not parse, or whose tree edge does not give
    /// its signed root. Opens ignore it.
    #[error("state snapshot at size {size}: malformed state")]
    SnapshotMalformed {
        /// The size the row claims.
        size: u64,
    },
    /// A state snapshot longer than [`crate::snapshot::MAX_SNAPSHOT_BYTES`] (not read).
    #[error("state snapshot at size {size}: longer than {limit} bytes")]
    SnapshotTooLarge {
        /// The size the row claims.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A state snapshot for more entries than the ledger holds.
    #[error("state snapshot at size {size}: the ledger holds only {ledger_size} entries")]
    SnapshotAhead {
        /// The size the row claims.
        size: u64,
        /// Entries in the ledger.
        ledger_size: u64,
    },
    /// A state snapshot signed by the log key that differs from the state the entries give
    /// at its size: the log-key holder signed a false state.
    #[error(
        "state snapshot at size {size}: signed by the log key but not the state the entries give"
    )]
    SnapshotMismatch {
        /// The size the row claims.
        size: u64,
    },
    /// An index row differs from what the entries say (run `reindex`).
    #[error("index table {table}: row {key:?} does not match the entries")]
    IndexMismatch {
        /// The table.
        table: &'static str,
        /// The row's key.
        key: String,
    },
}

/// What [`Ledger::verify_case`] checked, and what it found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseCheck {
    /// The findings, named as [`Ledger::verify`] names them (`size`: entries in the ledger).
    pub report: LedgerReport,
    /// Entries checked one by one: the case's events and its items' histories.
    pub entries_checked: u64,
    /// The size of the signed snapshot the verified state started from; `None` when every
    /// entry was replayed.
    pub snapshot: Option<u64>,
    /// The size of the newest checkpoint signed by the log key that the verified entries
    /// reproduce.
    pub checkpoint_size: u64,
}

/// Entries read per round of parallel checks.
pub(crate) const CHUNK: usize = 16_384;

pub(crate) struct EntryCheck {
    pub(crate) seq: u64,
    pub(crate) leaf: Hash,
    pub(crate) event: Option<Event>,
    pub(crate) findings: Vec<LedgerFinding>,
}

/// Runs `f` over contiguous slices of `items` on every core, keeping the order. A panicking
/// worker fails the whole verification (its panic is re-raised here), never reads as a slice
/// with no findings.
pub(crate) fn par_chunks<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&[T]) -> Vec<R> + Sync,
) -> Vec<R> {
    custody_core::parallel::map_chunks(items, f)
}

/// The result of a scoped worker; its panic, if it panicked, continues on this thread.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
}

/// An entry's signature, still to be checked (in a batch with its neighbours).
struct PendingSignature {
    key: PublicKey,
    canonical_event: Vec<u8>,
    signature: Signature,
}

fn check_entry(
    seq: u64,
    bytes: &[u8],
    stored_leaf: &[u8],
    keys: &mut HashMap<String, Option<PublicKey>>,
) -> (EntryCheck, Option<PendingSignature>) {
    let leaf = merkle::leaf_hash(bytes);
    let mut findings = Vec::new();
    if stored_leaf != leaf {
        findings.push(LedgerFinding::LeafHashMismatch { seq });
    }
    let Ok(signed) = parse_entry(seq, bytes) else {
        findings.push(LedgerFinding::Unparseable { seq });
        let check = EntryCheck {
            seq,
            leaf,
            event: None,
            findings,
        };
        return (check, None);
    };
    let canonical_event = match canonical::to_canonical_vec(&signed.event) {
        Ok(c) => c,
        Err(_) => {
            findings.push(LedgerFinding::NotCanonical { seq });
            Vec::new()
        }
    };
    match signed.check_cosignature(&canonical_event) {
        Ok(()) => {}
        Err(CosignatureError::Missing) => findings.push(LedgerFinding::MissingCosignature { seq }),
        Err(_) => findings.push(LedgerFinding::BadCosignature { seq }),
    }
    let SignedEvent {
        event,
        signature,
        cosignature,
    } = signed;
    let parsed_signature =
        sign::signature_from_hex(&signature).filter(|s| sign::signature_to_hex(s) == signature);
    if crate::ledger::entry_bytes_with(&canonical_event, &signature, cosignature.as_deref())
        != bytes
    {
        findings.push(LedgerFinding::NotCanonical { seq });
    }
    let key = keys
        .entry(event.actor.clone())
        .or_insert_with(|| {
            hex::decode_array::<32>(&event.actor)
                .filter(|_| crate::rules::is_key_hex(&event.actor))
                .and_then(|b| PublicKey::from_bytes(&b).ok())
        })
        .as_ref();
    let pending = match (key, parsed_signature) {
        (Some(key), Some(signature)) => Some(PendingSignature {
            key: *key,
            canonical_event,
            signature,
        }),
        _ => {
            findings.push(LedgerFinding::BadSignature { seq });
            None
        }
    };
    let check = EntryCheck {
        seq,
        leaf,
        event: Some(event),
        findings,
    };
    (check, pending)
}

/// The check of an entry too large to read: the stored leaf hash stands in for the one that
/// cannot be computed (the entry is reported either way).
fn too_large(seq: u64, stored_leaf: &[u8]) -> EntryCheck {
    EntryCheck {
        seq,
        leaf: stored_leaf.try_into().unwrap_or([0; 32]),
        event: None,
        findings: vec![LedgerFinding::EntryTooLarge {
            seq,
            limit: MAX_ENTRY_BYTES,
        }],
    }
}

/// Checks a run of entries: everything per entry, then their signatures in batches.
pub(crate) fn check_entries(rows: &[Row]) -> Vec<EntryCheck> {
    let mut keys = HashMap::new();
    let (mut checks, pending): (Vec<EntryCheck>, Vec<Option<PendingSignature>>) = rows
        .iter()
        .map(|(seq, entry, leaf)| match entry {
            Some(entry) => check_entry(*seq, entry, leaf, &mut keys),
            None => (too_large(*seq, leaf), None),
        })
        .unzip();
    let (positions, items): (Vec<usize>, Vec<sign::BatchItem<'_>>) = pending
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            p.as_ref().map(|p| {
                let item = sign::BatchItem {
                    key: &p.key,
                    canonical: &p.canonical_event,
                    signature: &p.signature,
                };
                (i, item)
            })
        })
        .unzip();
    let verdicts = sign::verify_canonical_batch(sign::CONTEXT_EVENT, &items);
    for (position, ok) in positions.into_iter().zip(verdicts) {
        if !ok {
            let seq = checks[position].seq;
            checks[position]
                .findings
                .push(LedgerFinding::BadSignature { seq });
        }
    }
    checks
}

pub(crate) fn rule_finding(seq: u64, error: StoreError) -> LedgerFinding {
    match error {
        StoreError::UnknownActor { key } => LedgerFinding::UnknownSigner { seq, key },
        StoreError::RevokedActor { key, .. } | StoreError::RotatedActor { key, .. } => {
            LedgerFinding::RevokedSigner { seq, key }
        }
        StoreError::ClockWentBackwards { .. } => LedgerFinding::TimeWentBackwards { seq },
        other => LedgerFinding::RuleBroken {
            seq,
            rule: other.rule_name().unwrap_or("other"),
            detail: other.to_string(),
        },
    }
}

/// The Merkle tree of all leaves, level by level (level 0 = leaves).
struct Levels(Vec<Vec<Hash>>);

impl Levels {
    fn build(leaves: Vec<Hash>) -> Levels {
        let mut levels = vec![leaves];
        while let Some(last) = levels.last().filter(|l| l.len() >= 2) {
            let next: Vec<Hash> = last
                .chunks_exact(2)
                .map(|pair| merkle::node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(next);
        }
        Levels(levels)
    }

    fn size(&self) -> u64 {
        self.0[0].len() as u64
    }

    /// Tree hash of the first `size` leaves (size ≤ total).
    fn root(&self, size: u64) -> Hash {
        if size == 0 {
            return merkle::empty_root();
        }
        let mut parts = Vec::new();
        let mut start = 0u64;
        for level in (0..64u32).rev() {
            if size & (1u64 << level) != 0 {
                parts.push(self.0[level as usize][(start >> level) as usize]);
                start += 1u64 << level;
            }
        }
        let mut acc = parts.pop().unwrap_or_else(merkle::empty_root);
        while let Some(left) = parts.pop() {
            acc = merkle::node_hash(&left, &acc);
        }
        acc
    }

    fn node(&self, level: u32, index: u64) -> Option<&Hash> {
        self.0
            .get(level as usize)?
            .get(usize::try_from(index).ok()?)
    }
}

impl Ledger {
    /// Adds the signer's state (when given: unreadable or missing is a finding) and the
    /// supplied notes to the outside checkpoints `sources` to compare the ledger with.
    fn signer_and_supplied(
        &self,
        signer_state: Option<&std::path::Path>,
        outside: &[String],
        sources: &mut Vec<(String, String)>,
        findings: &mut Vec<LedgerFinding>,
    ) -> Result<(), StoreError> {
        if let Some(path) = signer_state {
            match crate::signer::read_signer_state(path, &self.log_key, &self.origin) {
                Ok(Some((_, note))) => {
                    sources.push((format!("log signer state {}", path.display()), note))
                }
                Ok(None) => findings.push(LedgerFinding::SignerStateUnreadable {
                    path: path.display().to_string(),
                    reason: "missing: the log key has no record of what it signed".to_owned(),
                }),
                Err(StoreError::SignerState { reason, .. }) => {
                    findings.push(LedgerFinding::SignerStateUnreadable {
                        path: path.display().to_string(),
                        reason: reason.to_string(),
                    })
                }
                Err(other) => return Err(other),
            }
        }
        sources.extend(
            outside
                .iter()
                .enumerate()
                .map(|(i, note)| (format!("supplied checkpoint #{}", i + 1), note.clone())),
        );
        Ok(())
    }
}

impl Ledger {
    /// Verifies the whole ledger; `outside` are checkpoint notes held elsewhere (an auditor's
    /// copy, a receipt), checked along with those stored by [`Ledger::add_outside_checkpoint`].
    /// Problems are findings in the report; `Err` means the ledger could not be read at all.
    pub fn verify(&self, outside: &[String]) -> Result<LedgerReport, StoreError> {
        self.verify_with_signer_state(outside, None)
    }

    /// [`Ledger::verify`], also against the log signer's state file (see
    /// [`crate::signer`]): a ledger shorter than, or inconsistent with, the last checkpoint
    /// the log key signed is reported, even when every checkpoint stored in the ledger agrees
    /// with it.
    pub fn verify_with_signer_state(
        &self,
        outside: &[String],
        signer_state: Option<&std::path::Path>,
    ) -> Result<LedgerReport, StoreError> {
        self.verify_in_chunks(outside, signer_state, CHUNK)
    }

    /// [`Ledger::verify_with_signer_state`], reading `chunk` entries per round (tests use
    /// small chunks to run the pipeline through many rounds).
    fn verify_in_chunks(
        &self,
        outside: &[String],
        signer_state: Option<&std::path::Path>,
        chunk: usize,
    ) -> Result<LedgerReport, StoreError> {
        let store = &*self.store;
        // One snapshot for the whole verification; read only, so it is rolled back on drop.
        let _snapshot = Transaction::begin(store, TxMode::Read)?;
        let mut findings = Vec::new();
        let mut state = State::default();
        let mut leaves: Vec<Hash> = Vec::new();
        let mut item_links: Vec<(String, u64)> = Vec::new();
        let mut case_links: Vec<(String, u64)> = Vec::new();
        let mut expected_seq = 0u64;
        // Cosigned checkpoints carried by `acknowledged` entries: outside checkpoints that
        // deleting a table row cannot remove.
        let mut acknowledged: Vec<(u64, String)> = Vec::new();
        let mut snapshots =
            crate::snapshot::SnapshotCheck::new(store, &self.origin, &self.log_key)?;
        let mut replay_chunk = |checks: Vec<EntryCheck>| {
            for check in checks {
                if check.seq != expected_seq {
                    findings.push(LedgerFinding::MissingEntries {
                        from: expected_seq,
                        to: check.seq,
                    });
                }
                expected_seq = check.seq + 1;
                leaves.push(check.leaf);
                findings.extend(check.findings);
                if let Some(event) = check.event {
                    snapshots.push(check.seq, check.leaf, &event);
                    self.replay(check.seq, &event, &mut state, &mut findings);
                    if event.kind == EventKind::Acknowledged {
                        if let Some(note) = &event.fields.checkpoint {
                            acknowledged.push((check.seq, note.clone()));
                        }
                    }
                    for item in history_items(&event) {
                        item_links.push((item.to_owned(), event.seq));
                    }
                    if let Some(case) = &event.case {
                        case_links.push((case.clone(), event.seq));
                    }
                }
            }
        };
        // A pipeline of two stages: while this thread reads the next chunk and replays the
        // rules over the last one (work that must stay in order), the chunk before is
        // checked (parsing, signatures, leaf hashes) on every core. A panic in any checker
        // is re-raised here and fails the verification.
        std::thread::scope(|scope| -> Result<(), StoreError> {
            let mut last_seq: Option<u64> = None;
            let mut in_flight = None;
            loop {
                let rows = store.entries_after(last_seq, chunk)?;
                let chunk_last = rows.last().map(|&(seq, _, _)| seq);
                let checking = chunk_last
                    .is_some()
                    .then(|| scope.spawn(move || par_chunks(&rows, check_entries)));
                if let Some(previous) = in_flight.take() {
                    replay_chunk(joined(previous));
                }
                match (chunk_last, checking) {
                    (Some(seq), Some(handle)) => {
                        last_seq = Some(seq);
                        in_flight = Some(handle);
                    }
                    _ => return Ok(()),
                }
            }
        })?;
        let size = expected_seq;
        findings.extend(snapshots.finish(size)?);
        let levels = Levels::build(leaves);
        check_nodes(store, &levels, &mut findings)?;
        self.check_checkpoints(store, &levels, size, &mut findings)?;
        // The table is streamed a row at a time; an `acknowledged` entry's note found in it
        // is crossed off (a set, so many rows and many receipts stay linear).
        let mut missing: HashMap<&str, u64> = HashMap::new();
        for (seq, note) in &acknowledged {
            missing.entry(note.as_str()).or_insert(*seq);
        }
        self.for_each_outside_checkpoint(|source, note| {
            let Some(note) = note else {
                findings.push(LedgerFinding::OutsideCheckpointTooLarge {
                    source_name: source,
                    limit: MAX_CHECKPOINT_NOTE_BYTES,
                });
                return;
            };
            missing.remove(note.as_str());
            if let Some(f) = self.check_outside(&levels, size, &source, &note) {
                findings.push(f);
            }
        })?;
        let mut missing: Vec<u64> = missing.into_values().collect();
        missing.sort_unstable();
        findings.extend(
            missing
                .into_iter()
                .map(|seq| LedgerFinding::OutsideCheckpointRowMissing { seq }),
        );
        let mut sources: Vec<(String, String)> = acknowledged
            .iter()
            .map(|(seq, note)| (format!("acknowledged entry {seq}"), note.clone()))
            .collect();
        self.signer_and_supplied(signer_state, outside, &mut sources, &mut findings)?;
        for (source, note) in sources {
            if let Some(f) = self.check_outside(&levels, size, &source, &note) {
                findings.push(f);
            }
        }
        check_index(store, &state, item_links, case_links, &mut findings)?;
        Ok(LedgerReport { size, findings })
    }

    fn replay(
        &self,
        seq: u64,
        event: &Event,
        state: &mut State,
        findings: &mut Vec<LedgerFinding>,
    ) {
        if event.seq != seq {
            findings.push(LedgerFinding::SeqMismatch {
                seq,
                found: event.seq,
            });
        }
        if event.origin != self.origin {
            findings.push(LedgerFinding::WrongOrigin {
                seq,
                found: event.origin.clone(),
            });
        }
        if event.v != EVENT_VERSION {
            findings.push(LedgerFinding::UnknownVersion {
                seq,
                found: event.v,
            });
        }
        if event.kind == EventKind::LedgerInitialised
            && event.fields.log_key.as_deref() != Some(self.log_key.to_string().as_str())
        {
            findings.push(LedgerFinding::LogKeyMismatch { seq });
        }
        // Judge the event where it stands, whatever seq it claims.
        let mut positioned;
        let event = if event.seq == seq {
            event
        } else {
            positioned = event.clone();
            positioned.seq = seq;
            &positioned
        };
        if let Err(e) = state.check(event) {
            findings.push(rule_finding(seq, e));
        }
        state.apply(event);
    }

    fn check_checkpoints(
        &self,
        store: &dyn LedgerStore,
        levels: &Levels,
        size: u64,
        findings: &mut Vec<LedgerFinding>,
    ) -> Result<(), StoreError> {
        // Notes past the limit are judged by their length alone (never loaded); rows are
        // read and checked a chunk at a time.
        let mut newest = 0;
        let mut stored: Vec<(u64, String)> = Vec::new();
        store.for_each_checkpoint(&mut |cp_size, note| {
            newest = cp_size;
            match note {
                Some(note) => stored.push((cp_size, note)),
                None => findings.push(LedgerFinding::CheckpointTooLarge {
                    size: cp_size,
                    limit: MAX_CHECKPOINT_NOTE_BYTES,
                }),
            }
            if stored.len() >= CHUNK {
                self.check_checkpoint_notes(&stored, levels, size, findings);
                stored.clear();
            }
        })?;
        self.check_checkpoint_notes(&stored, levels, size, findings);
        if newest < size {
            findings.push(LedgerFinding::UncheckpointedEntries {
                from: newest,
                to: size,
            });
        }
        Ok(())
    }

    fn check_checkpoint_notes(
        &self,
        stored: &[(u64, String)],
        levels: &Levels,
        size: u64,
        findings: &mut Vec<LedgerFinding>,
    ) {
        let known = std::slice::from_ref(&self.log_key);
        let origin = self.origin.as_str();
        let results = par_chunks(stored, |part| {
            part.iter()
                .filter_map(|(cp_size, note)| {
                    let cp_size = *cp_size;
                    let checkpoint = match Checkpoint::open(note.as_bytes(), known) {
                        Ok((c, _, _)) => c,
                        Err(custody_core::checkpoint::CheckpointError::Note(_)) => {
                            return Some(LedgerFinding::CheckpointSignature { size: cp_size })
                        }
                        Err(_) => {
                            return Some(LedgerFinding::CheckpointMalformed { size: cp_size })
                        }
                    };
                    if checkpoint.size != cp_size || checkpoint.origin != origin {
                        return Some(LedgerFinding::CheckpointMalformed { size: cp_size });
                    }
                    if cp_size > levels.size() {
                        return Some(LedgerFinding::CheckpointAhead {
                            size: cp_size,
                            ledger_size: size,
                        });
                    }
                    (levels.root(cp_size) != checkpoint.root)
                        .then_some(LedgerFinding::CheckpointRootMismatch { size: cp_size })
                })
                .collect()
        });
        findings.extend(results);
    }

    /// Verifies one case of a large ledger without replaying all of it. Checked: the
    /// verified state (from the newest signed snapshot and the entries after it, whose leaves
    /// and root must reproduce the newest checkpoint the log key signed; every entry when
    /// there is no snapshot); every entry of the case and of its items' histories, one by one,
    /// exactly as [`Ledger::verify`] checks an entry (canonical form, signature under its
    /// actor's key, cosignature) and shown to be in the verified tree by an inclusion proof;
    /// and every outside checkpoint (stored, `outside`, the signer's state) against the
    /// verified tree by a consistency proof. Not checked here: the other entries' signatures
    /// and rules, the stored tree nodes and checkpoints beyond those proofs, the index tables
    /// and the snapshot's state against the entries: that is what the full
    /// [`Ledger::verify`] adds. The verified state itself failing is `Err`.
    pub fn verify_case(
        &self,
        case: &str,
        outside: &[String],
        signer_state: Option<&std::path::Path>,
    ) -> Result<CaseCheck, StoreError> {
        let truth = self.truth()?;
        let size = truth.size();
        let root = truth.root();
        let snapshot = truth.snapshot;
        let checkpoint_size = truth.checkpoint.as_ref().map_or(0, |(c, _)| c.size);
        let mut seqs: std::collections::BTreeSet<u64> = truth
            .case_history
            .get(case)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        for (item, _) in truth
            .state
            .items
            .iter()
            .filter(|(_, r)| r.case.as_deref() == Some(case))
        {
            seqs.extend(truth.item_history.get(item).into_iter().flatten().copied());
        }
        drop(truth);
        let store = &*self.store;
        let mut findings = Vec::new();
        let seqs: Vec<u64> = seqs.into_iter().collect();
        for part in seqs.chunks(CHUNK) {
            let mut rows: Vec<Row> = Vec::with_capacity(part.len());
            for &seq in part {
                let bytes = match store.entry(seq)? {
                    None => {
                        findings.push(LedgerFinding::MissingEntries {
                            from: seq,
                            to: seq + 1,
                        });
                        continue;
                    }
                    Some(None) => {
                        findings.push(LedgerFinding::EntryTooLarge {
                            seq,
                            limit: MAX_ENTRY_BYTES,
                        });
                        continue;
                    }
                    Some(Some(bytes)) => bytes,
                };
                let leaf = merkle::leaf_hash(&bytes);
                let included = merkle::inclusion_proof(&mut StoredTree(store), seq, size)
                    .is_ok_and(|proof| proof.verify(&leaf, &root).is_ok());
                if !included {
                    findings.push(LedgerFinding::LeafHashMismatch { seq });
                }
                rows.push((seq, Some(bytes), leaf.to_vec()));
            }
            for check in par_chunks(&rows, check_entries) {
                findings.extend(check.findings);
            }
        }
        let mut sources: Vec<(String, String)> = Vec::new();
        self.for_each_outside_checkpoint(|source, note| match note {
            Some(note) => sources.push((source, note)),
            None => findings.push(LedgerFinding::OutsideCheckpointTooLarge {
                source_name: source,
                limit: MAX_CHECKPOINT_NOTE_BYTES,
            }),
        })?;
        self.signer_and_supplied(signer_state, outside, &mut sources, &mut findings)?;
        for (source, note) in sources {
            if let Some(f) = self.check_outside_by_proof(size, &source, &note) {
                findings.push(f);
            }
        }
        Ok(CaseCheck {
            report: LedgerReport { size, findings },
            entries_checked: seqs.len() as u64,
            snapshot,
            checkpoint_size,
        })
    }

    /// [`Ledger::check_outside`] without the whole tree in memory: the checkpoint's root
    /// must be the root of the verified tree's first `size` leaves, as stored nodes show by a
    /// consistency proof to the verified root ([`Ledger::root_at`]).
    fn check_outside_by_proof(&self, size: u64, source: &str, note: &str) -> Option<LedgerFinding> {
        let opened = Checkpoint::open(note.as_bytes(), std::slice::from_ref(&self.log_key));
        let checkpoint = match opened {
            Ok((c, _, _)) if c.origin == self.origin => c,
            _ => {
                return Some(LedgerFinding::OutsideCheckpointSignature {
                    source_name: source.to_owned(),
                })
            }
        };
        if checkpoint.size > size {
            return Some(LedgerFinding::OutsideCheckpointAhead {
                size: checkpoint.size,
                ledger_size: size,
                source_name: source.to_owned(),
            });
        }
        let matches = self
            .root_at(checkpoint.size)
            .is_ok_and(|root| root == checkpoint.root);
        (!matches).then(|| LedgerFinding::OutsideCheckpointMismatch {
            size: checkpoint.size,
            source_name: source.to_owned(),
        })
    }

    fn check_outside(
        &self,
        levels: &Levels,
        size: u64,
        source: &str,
        note: &str,
    ) -> Option<LedgerFinding> {
        let opened = Checkpoint::open(note.as_bytes(), std::slice::from_ref(&self.log_key));
        let checkpoint = match opened {
            Ok((c, _, _)) if c.origin == self.origin => c,
            _ => {
                return Some(LedgerFinding::OutsideCheckpointSignature {
                    source_name: source.to_owned(),
                })
            }
        };
        if checkpoint.size > size || checkpoint.size > levels.size() {
            return Some(LedgerFinding::OutsideCheckpointAhead {
                size: checkpoint.size,
                ledger_size: size,
                source_name: source.to_owned(),
            });
        }
        (levels.root(checkpoint.size) != checkpoint.root).then(|| {
            LedgerFinding::OutsideCheckpointMismatch {
                size: checkpoint.size,
                source_name: source.to_owned(),
            }
        })
    }
}

pub(crate) type Row = crate::store::EntryRow;

/// The entry bytes a chunk holds at most before it is cut (one entry may take it past this,
/// by at most [`crate::ledger::MAX_ENTRY_BYTES`]): memory stays bounded however large the
/// entries a hostile file holds.
pub(crate) const CHUNK_BYTES: u64 = 64 << 20;

fn check_nodes(
    store: &dyn LedgerStore,
    levels: &Levels,
    findings: &mut Vec<LedgerFinding>,
) -> Result<(), StoreError> {
    // Next index expected at each level; a gap or a wrong hash is one finding per level.
    let mut next: BTreeMap<u32, u64> = BTreeMap::new();
    let mut reported: BTreeMap<u32, bool> = BTreeMap::new();
    store.for_each_node(&mut |level, index, hash| {
        let expected_index = next.entry(level).or_insert(0);
        let ok = index == *expected_index
            && levels
                .node(level, index)
                .zip(hash)
                .is_some_and(|(h, stored)| h[..] == stored[..]);
        if !ok && !reported.get(&level).copied().unwrap_or(false) {
            let at = if index == *expected_index {
                index
            } else {
                *expected_index
            };
            findings.push(LedgerFinding::NodeMismatch { level, index: at });
            reported.insert(level, true);
        }
        // A hostile row may hold the largest index there is (a negative one read back
        // from a signed column): nothing follows it, and nothing overflows.
        *expected_index = index.saturating_add(1);
    })?;
    for (level, hashes) in levels.0.iter().enumerate().skip(1) {
        let level = level as u32;
        let have = next.get(&level).copied().unwrap_or(0);
        if have < hashes.len() as u64 && !reported.get(&level).copied().unwrap_or(false) {
            findings.push(LedgerFinding::NodeMismatch { level, index: have });
        }
    }
    Ok(())
}

fn compare_rows<T: PartialEq>(
    table: &'static str,
    expected: BTreeMap<String, T>,
    found: Vec<(String, T)>,
    findings: &mut Vec<LedgerFinding>,
) {
    let mut found: BTreeMap<String, T> = found.into_iter().collect();
    for (key, row) in expected {
        if found.remove(&key).as_ref() != Some(&row) {
            findings.push(LedgerFinding::IndexMismatch { table, key });
        }
    }
    for key in found.into_keys() {
        findings.push(LedgerFinding::IndexMismatch { table, key });
    }
}

fn compare_links(
    table: &'static str,
    mut expected: Vec<(String, u64)>,
    found: Vec<(String, u64)>,
    findings: &mut Vec<LedgerFinding>,
) {
    expected.sort();
    expected.dedup();
    if expected == found {
        return;
    }
    let expected: std::collections::BTreeSet<_> = expected.into_iter().collect();
    let found: std::collections::BTreeSet<_> = found.into_iter().collect();
    for (key, seq) in expected.symmetric_difference(&found) {
        findings.push(LedgerFinding::IndexMismatch {
            table,
            key: format!("{key} @ {seq}"),
        });
    }
}

fn check_index(
    store: &dyn LedgerStore,
    state: &State,
    item_links: Vec<(String, u64)>,
    case_links: Vec<(String, u64)>,
    findings: &mut Vec<LedgerFinding>,
) -> Result<(), StoreError> {
    let unreadable = |table| {
        move |e: StoreError| match e {
            StoreError::CorruptIndex { key, .. } => LedgerFinding::IndexMismatch { table, key },
            other => LedgerFinding::IndexMismatch {
                table,
                key: other.to_string(),
            },
        }
    };
    match store.index_actors()? {
        Ok(rows) => compare_rows(
            "actors",
            // The actors table has no full-name column (schema 1): full names are read from
            // the entries alone, so they are left out of the comparison.
            state
                .actors
                .iter()
                .map(|(key, a)| {
                    let mut indexed = a.clone();
                    indexed.full_name = None;
                    (key.clone(), indexed)
                })
                .collect(),
            rows.into_iter().map(|r| (r.key.clone(), r)).collect(),
            findings,
        ),
        Err(e) => findings.push(unreadable("actors")(e)),
    }
    match store.index_cases()? {
        Ok(rows) => compare_rows(
            "cases",
            state.cases.clone(),
            rows.into_iter().map(|r| (r.case.clone(), r)).collect(),
            findings,
        ),
        Err(e) => findings.push(unreadable("cases")(e)),
    }
    match store.index_items()? {
        Ok(rows) => compare_rows(
            "items",
            state.items.clone(),
            rows.into_iter().map(|r| (r.item.clone(), r)).collect(),
            findings,
        ),
        Err(e) => findings.push(unreadable("items")(e)),
    }
    compare_links(
        "item_events",
        item_links,
        store.index_links(true)?,
        findings,
    );
    compare_links(
        "case_events",
        case_links,
        store.index_links(false)?,
        findings,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{par_chunks, LedgerFinding};
    use crate::{EventDraft, EventKind, Ledger};
    use custody_core::keys::{ActorInfo, Identity};

    #[test]
    fn chunked_pipeline_gives_the_same_report_as_one_round() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("custody.db");
        let alice = Identity::from_seed(ActorInfo::named("alice"), [1; 32]).unwrap();
        let log = Identity::from_seed(ActorInfo::named("log"), [9; 32]).unwrap();
        let mut ledger = Ledger::init(&path, "test.example/custody", &alice, &log).unwrap();
        let drafts: Vec<EventDraft> = (0..40)
            .map(|i| {
                EventDraft::new(EventKind::CaseOpened, "2026-03-01T09:00:00Z")
                    .case(format!("C-{i}"))
            })
            .collect();
        ledger.append_batch(drafts, &alice, &log).unwrap();
        let clean = ledger.verify_in_chunks(&[], None, 3).unwrap();
        assert!(clean.is_clean(), "{:#?}", clean.findings);
        // Break entries in several rounds: a gap and an edited row.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS entries_no_update; DROP TRIGGER IF EXISTS entries_no_delete;
             DELETE FROM entries WHERE seq = 7;
             UPDATE entries SET entry = CAST(replace(CAST(entry AS TEXT), 'C-30', 'C-31') AS BLOB) WHERE seq = 31;",
        )
        .unwrap();
        let whole = ledger.verify_in_chunks(&[], None, super::CHUNK).unwrap();
        assert!(whole
            .findings
            .contains(&LedgerFinding::MissingEntries { from: 7, to: 8 }));
        assert!(whole
            .findings
            .contains(&LedgerFinding::BadSignature { seq: 31 }));
        for chunk in [1, 2, 3, 5, 64] {
            assert_eq!(
                ledger.verify_in_chunks(&[], None, chunk).unwrap(),
                whole,
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn fail_a_panicking_verification_worker_fails_the_run() {
        // A check that panics on one entry of a worker's slice must not turn into "that
        // slice had no findings": the panic reaches the caller and verification fails.
        let seqs: Vec<u64> = (0..20_000).collect();
        let outcome = std::panic::catch_unwind(|| {
            par_chunks(&seqs, |part| {
                part.iter()
                    .map(|&seq| {
                        assert_ne!(seq, 19_999, "injected failure checking entry {seq}");
                        seq
                    })
                    .collect::<Vec<u64>>()
            })
        });
        assert!(outcome.is_err());
        let all = par_chunks(&seqs, <[u64]>::to_vec);
        assert_eq!(all, seqs);
    }
}
