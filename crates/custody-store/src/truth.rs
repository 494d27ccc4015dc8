//! The verified state every decision rests on.
//!
//! Append, seal, receive and acknowledge decide from [`Truth`], never from the index tables:
//! it is derived by replaying the entries themselves, whose integrity is established against
//! the newest checkpoint signed by the log key (every leaf hash and the root are recomputed
//! from the entry bytes and compared with the checkpoint). Entries after that checkpoint, if
//! any, are checked one by one as `verify` checks them: canonical form, signature under the
//! actor's key, and the custody rules. Anything that does not hold is an error naming the
//! entry; nothing is silently skipped.
//!
//! The replay is done once per open [`crate::Ledger`]; each later read or append transaction
//! only replays the entries other processes appended since (usually none). Someone who can
//! run SQL but holds no key cannot change what the replay yields: an edited, deleted or
//! inserted entry changes the root (or fails its signature), and an index row is never read.

use std::collections::HashMap;

use custody_core::checkpoint::Checkpoint;
use custody_core::hash::Digests;
use custody_core::keys::VerifierKey;
use custody_core::merkle::{self, Hash, TreeBuilder};

use crate::error::StoreError;
use crate::event::{Event, EventKind, EVENT_VERSION};
use crate::ledger::parse_entry;
use crate::rules::{history_items, ActorRecord, ItemRecord, State};
use crate::store::LedgerStore;
use crate::verify::{check_entries, par_chunks, rule_finding, LedgerFinding, CHUNK};

/// The ledger as its verified entries say it stands.
#[derive(Debug, Default)]
pub(crate) struct Truth {
    /// Entries replayed (all verified).
    pub(crate) builder: TreeBuilder,
    /// Actors, cases, items after every replayed entry.
    pub(crate) state: State,
    /// Seqs of each item's history (its events, and derivations from it), ascending.
    pub(crate) item_history: HashMap<String, Vec<u64>>,
    /// Seqs of each case's events, ascending.
    pub(crate) case_history: HashMap<String, Vec<u64>>,
    /// First `sealed` entry per package digest.
    pub(crate) sealed: HashMap<String, u64>,
    /// First `acknowledged` entry per package digest.
    pub(crate) acknowledged: HashMap<String, u64>,
    /// The first item created with each evidence (size, SHA-256, BLAKE3).
    pub(crate) by_digests: HashMap<Digests, String>,
    /// The newest stored checkpoint that verifies under the log key and matches the entries.
    pub(crate) checkpoint: Option<(Checkpoint, String)>,
    /// The size of the signed snapshot the replay started from, if it started from one
    /// (see [`crate::snapshot`]); `None` when every entry was replayed.
    pub(crate) snapshot: Option<u64>,
}

/// What a precondition of [`crate::Ledger::append_batch_if`] sees: the verified state inside
/// the append transaction, just before the batch.
#[derive(Debug)]
pub struct LedgerView<'a> {
    pub(crate) truth: &'a Truth,
}

impl LedgerView<'_> {
    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.truth.size()
    }

    /// The item's record, if any entry created it.
    pub fn item(&self, item: &str) -> Option<&ItemRecord> {
        self.truth.state.items.get(item)
    }

    /// The actor whose public key (lower-case hex) is `key`, if any entry enrolled it.
    pub fn actor(&self, key: &str) -> Option<&ActorRecord> {
        self.truth.state.actors.get(key)
    }

    /// The first item whose creating entry recorded evidence with exactly these digests.
    pub fn item_with_digests(&self, digests: &Digests) -> Option<&ItemRecord> {
        let item = self.truth.by_digests.get(digests)?;
        self.truth.state.items.get(item)
    }

    /// Seq of the first `sealed` entry naming `package_digest` (SHA-256 hex).
    pub fn sealed_seq(&self, package_digest: &str) -> Option<u64> {
        self.truth.sealed.get(package_digest).copied()
    }

    /// Seq of the first `acknowledged` entry naming `package_digest` (SHA-256 hex).
    pub fn acknowledged_seq(&self, package_digest: &str) -> Option<u64> {
        self.truth.acknowledged.get(package_digest).copied()
    }
}

/// A checkpoint and the note it was read from.
type SignedNote = (Checkpoint, String);

/// The newest stored checkpoint that is a valid checkpoint of this log (log-key signature,
/// origin, size as stored) and covers at most the `stored` entries the file holds. Rows that
/// are not are skipped here and reported by `verify`; so are notes longer than
/// [`crate::ledger::MAX_CHECKPOINT_NOTE_BYTES`], which are not even read. Of the rows above `stored` only
/// the highest is looked at (returned second when it is valid: a checkpoint ahead of the
/// entries), so the rows an attacker adds under sizes the ledger never reached cost one
/// check, not one each; hiding a valid one behind another row gains nothing deleting it
/// would not. `known` is a checkpoint verified earlier: the same note text is not verified
/// again.
fn newest_checkpoint(
    store: &dyn LedgerStore,
    origin: &str,
    log_key: &VerifierKey,
    stored: u64,
    known: Option<&(Checkpoint, String)>,
) -> Result<(Option<SignedNote>, Option<u64>), StoreError> {
    let valid = |size: u64, note: Option<String>| -> Option<SignedNote> {
        let note = note?;
        if let Some(known) = known.filter(|(c, n)| c.size == size && *n == note) {
            return Some(known.clone());
        }
        let (checkpoint, _, _) =
            Checkpoint::open(note.as_bytes(), std::slice::from_ref(log_key)).ok()?;
        (checkpoint.size == size && checkpoint.origin == origin).then_some((checkpoint, note))
    };
    let ahead = store
        .highest_checkpoint_above(stored)?
        .and_then(|(size, note)| valid(size, note))
        .map(|(c, _)| c.size);
    let mut found = None;
    store.checkpoints_down_from(stored, &mut |size, note| {
        found = valid(size, note);
        found.is_some()
    })?;
    Ok((found, ahead))
}

impl Truth {
    /// Entries replayed.
    pub(crate) fn size(&self) -> u64 {
        self.builder.size()
    }

    /// The root of the replayed entries.
    pub(crate) fn root(&self) -> Hash {
        self.builder.root()
    }

    /// Replays the entries appended since the last call (all of them the first time), as
    /// the module documentation says. On error the state is left as it was before the
    /// entry at fault, and the caller refuses to decide anything.
    ///
    /// `signed` is the last checkpoint the log key signed as the signer's state remembers
    /// it, when this process is the signer: the replayed entries must reach it and match it
    /// too, so a ledger rewritten by someone holding the log key but not the signer's state
    /// is refused here as well, even where its own checkpoints agree with it. Outside the
    /// write transaction (`in_write` false) a state ahead of the ledger may be another
    /// process's append that has signed but not yet committed, so it is not compared then;
    /// inside it, nothing can be in flight and a state ahead is `SignerStateAhead`.
    ///
    /// The first replay starts from the newest signed snapshot that verifies, when there is
    /// one at or below the size up to which entries are taken on a checkpoint's word (see
    /// [`crate::snapshot`]). If the replay from it then fails, it is done again from entry 0
    /// and that outcome stands: a snapshot never changes what the replay decides.
    pub(crate) fn advance(
        &mut self,
        store: &dyn LedgerStore,
        origin: &str,
        log_key: &VerifierKey,
        signed: Option<&Checkpoint>,
        in_write: bool,
    ) -> Result<(), StoreError> {
        if self.size() == 0 {
            let mut fast = Truth::default();
            let outcome = fast.advance_from(store, origin, log_key, signed, in_write, true);
            if outcome.is_ok() || fast.snapshot.is_none() {
                *self = fast;
                return outcome;
            }
        }
        self.advance_from(store, origin, log_key, signed, in_write, false)
    }

    fn advance_from(
        &mut self,
        store: &dyn LedgerStore,
        origin: &str,
        log_key: &VerifierKey,
        signed: Option<&Checkpoint>,
        in_write: bool,
        from_snapshot: bool,
    ) -> Result<(), StoreError> {
        let stored = store.size()?;
        if stored < self.size() {
            return Err(StoreError::LedgerShrank {
                verified: self.size(),
                found: stored,
            });
        }
        let (newest, ahead) =
            newest_checkpoint(store, origin, log_key, stored, self.checkpoint.as_ref())?;
        if let Some(size) = ahead {
            return Err(StoreError::SignedCheckpointAhead {
                size,
                ledger_size: stored,
            });
        }
        // The checkpoint the replayed entries must reach: only one not yet passed can be
        // compared (the roots of smaller trees are not kept).
        let target = newest
            .as_ref()
            .map(|(c, _)| c.size)
            .filter(|size| *size >= self.size());
        if let Some(signed) = signed.filter(|c| c.size > stored && in_write) {
            return Err(StoreError::SignerStateAhead {
                signed_size: signed.size,
                size: stored,
            });
        }
        // Entries a checkpoint covers are taken without checking their signatures and rules
        // because the signer checked them before it signed. Where this process is the
        // signer, that holds only up to what its state says it signed: entries a log-key
        // checkpoint covers beyond that were checkpointed by someone else holding the key,
        // and are checked one by one like entries past every checkpoint.
        let trusted_until = match signed {
            Some(c) if c.size <= stored => target.unwrap_or(0).min(c.size),
            _ => target.unwrap_or(0),
        };
        let signed = signed.filter(|c| c.size >= self.size() && c.size <= stored);
        let expected_root = newest.as_ref().map(|(c, _)| c.root);
        if from_snapshot && self.size() == 0 {
            // A snapshot that cannot even be read is one not to start from.
            if let Ok(Some(loaded)) =
                crate::snapshot::newest_usable(store, origin, log_key, trusted_until)
            {
                *self = loaded;
            }
        }
        self.compare_at_target(target, expected_root)?;
        self.compare_signed(signed)?;
        while self.size() < stored {
            let rows = store.entries_after(self.size().checked_sub(1), CHUNK)?;
            if rows.is_empty() {
                break;
            }
            let split = rows
                .iter()
                .position(|(seq, _, _)| *seq >= trusted_until)
                .unwrap_or(rows.len());
            let (trusted, checked) = rows.split_at(split);
            let parsed = par_chunks(trusted, |part| {
                part.iter()
                    .map(|(seq, bytes, _)| {
                        bytes
                            .as_ref()
                            .map(|b| (merkle::leaf_hash(b), parse_entry(*seq, b)))
                    })
                    .collect()
            });
            for ((seq, _, _), parsed) in trusted.iter().zip(parsed) {
                self.expect_next(*seq)?;
                let Some((leaf, entry)) = parsed else {
                    return Err(unverified(LedgerFinding::EntryTooLarge {
                        seq: *seq,
                        limit: crate::ledger::MAX_ENTRY_BYTES,
                    }));
                };
                let event = entry?.event;
                check_names_log_key(*seq, &event, log_key)?;
                self.push(*seq, leaf, &event);
                self.compare_at_target(target, expected_root)?;
                self.compare_signed(signed)?;
            }
            let checks = par_chunks(checked, check_entries);
            for check in checks {
                self.expect_next(check.seq)?;
                if let Some(finding) = check.findings.into_iter().next() {
                    return Err(unverified(finding));
                }
                let Some(event) = check.event else {
                    return Err(unverified(LedgerFinding::Unparseable { seq: check.seq }));
                };
                self.check_unsigned(check.seq, &event, origin)?;
                check_names_log_key(check.seq, &event, log_key)?;
                self.push(check.seq, check.leaf, &event);
                self.compare_at_target(target, expected_root)?;
                self.compare_signed(signed)?;
            }
        }
        if let Some(newest) = newest.filter(|(c, _)| c.size <= self.size()) {
            self.checkpoint = Some(newest);
        }
        Ok(())
    }

    fn expect_next(&self, seq: u64) -> Result<(), StoreError> {
        if seq == self.size() {
            Ok(())
        } else {
            Err(unverified(LedgerFinding::MissingEntries {
                from: self.size(),
                to: seq,
            }))
        }
    }

    fn compare_at_target(&self, target: Option<u64>, root: Option<Hash>) -> Result<(), StoreError> {
        match (target, root) {
            (Some(size), Some(root)) if size == self.size() && self.root() != root => {
                Err(StoreError::SignedCheckpointMismatch { size })
            }
            _ => Ok(()),
        }
    }

    fn compare_signed(&self, signed: Option<&Checkpoint>) -> Result<(), StoreError> {
        match signed {
            Some(c) if c.size == self.size() && c.root != self.root() => {
                Err(StoreError::SignerStateFork {
                    signed_size: c.size,
                })
            }
            _ => Ok(()),
        }
    }

    /// The checks an entry that no log-key checkpoint covers must pass besides its
    /// signature: its place, its log, its format, and the custody rules.
    fn check_unsigned(&self, seq: u64, event: &Event, origin: &str) -> Result<(), StoreError> {
        if event.seq != seq {
            return Err(unverified(LedgerFinding::SeqMismatch {
                seq,
                found: event.seq,
            }));
        }
        if event.origin != origin {
            return Err(unverified(LedgerFinding::WrongOrigin {
                seq,
                found: event.origin.clone(),
            }));
        }
        if event.v != EVENT_VERSION {
            return Err(unverified(LedgerFinding::UnknownVersion {
                seq,
                found: event.v,
            }));
        }
        self.state
            .check(event)
            .map_err(|e| unverified(rule_finding(seq, e)))
    }

    /// Takes one verified entry into the state.
    pub(crate) fn push(&mut self, seq: u64, leaf: Hash, event: &Event) {
        self.builder.push_with(leaf, &mut |_, _, _| {});
        self.state.apply(event);
        for item in history_items(event) {
            self.item_history
                .entry(item.to_owned())
                .or_default()
                .push(seq);
        }
        if let Some(case) = &event.case {
            self.case_history.entry(case.clone()).or_default().push(seq);
        }
        if let (true, Some(evidence), [item]) = (
            event.kind.creates_items(),
            &event.fields.evidence,
            event.items.as_slice(),
        ) {
            self.by_digests
                .entry(evidence.digests())
                .or_insert_with(|| item.clone());
        }
        if let Some(digest) = &event.fields.package_digest {
            let by_digest = match event.kind {
                EventKind::Sealed => &mut self.sealed,
                EventKind::Acknowledged => &mut self.acknowledged,
                _ => return,
            };
            by_digest.entry(digest.clone()).or_insert(seq);
        }
    }
}

/// Entry 0 names the log key; it must be the one the checkpoints were verified under, so
/// that replacing the key in `meta` (and re-signing checkpoints with another key) does not
/// make the ledger's own entries trusted under a key they never named.
fn check_names_log_key(seq: u64, event: &Event, log_key: &VerifierKey) -> Result<(), StoreError> {
    if seq == 0 && event.fields.log_key.as_deref() != Some(log_key.to_string().as_str()) {
        return Err(unverified(LedgerFinding::LogKeyMismatch { seq }));
    }
    Ok(())
}

pub(crate) fn unverified(finding: LedgerFinding) -> StoreError {
    StoreError::UnverifiedEntry {
        finding: Box::new(finding),
    }
}
