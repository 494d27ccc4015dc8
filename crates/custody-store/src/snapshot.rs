//! Signed state snapshots: the verified state at one size, kept in the ledger so that an
//! open does not replay every entry.
//!
//! Every decision rests on [`crate::truth::Truth`], the state the entries say the ledger is
//! in. Deriving it replays every entry, which grows with the ledger. A snapshot is that
//! state at size `N` (actors, cases, items, each item's and case's history seqs, the
//! `sealed` / `acknowledged` maps, the first item per evidence digests, and the right edge
//! of the Merkle tree), serialised, and signed by the **log key** under
//! [`custody_core::sign::CONTEXT_STATE_SNAPSHOT`] over
//! `{"origin", "root", "size", "state_sha256", "v"}` (RFC 8785). An open takes the newest
//! snapshot that verifies, at most the size up to which the replay would take entries on
//! the newest signed checkpoint's word anyway, and replays only the entries after it: the
//! snapshot's tree edge plus those entries must reproduce that checkpoint's root, exactly
//! as a replay from entry 0 must. A snapshot that does not verify (signature, origin, size,
//! root, digest, length, format), or whose state does not lead to the signed tree, is
//! ignored and the entries are replayed from 0: a snapshot can make an open faster, never
//! change what it decides.
//!
//! What a snapshot does **not** cover: a log-key holder can sign a false one, as it can sign
//! a checkpoint over entries whose signatures do not verify. `Ledger::verify` replays every
//! entry and compares every stored snapshot with the state it computes at that size
//! (`SnapshotMismatch`), so a forged snapshot is caught by the same full verification that
//! catches a forged checkpoint. `docs/ledger.md` §4.2 specifies the format.

use std::collections::{BTreeMap, HashMap};

use custody_core::hash::Digests;
use custody_core::hex;
use custody_core::keys::{Identity, VerifierKey};
use custody_core::merkle::{self, Hash, TreeBuilder};
use custody_core::{canonical, sign};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::StoreError;
use crate::ledger::parse_entry;
use crate::rules::State;
use crate::store::{LedgerStore, SnapshotRow, StoredTree};
use crate::truth::Truth;
use crate::verify::LedgerFinding;

/// The snapshot format version (`v` in the signed statement and in the state).
pub const SNAPSHOT_VERSION: u64 = 1;
/// After an append takes the ledger across a multiple of this many entries, the appender
/// (who holds the log key) writes a snapshot: an open then replays fewer than this many
/// entries after the newest snapshot.
pub const SNAPSHOT_INTERVAL: u64 = 50_000;
/// The largest serialised state written or read. A stored state longer than this is judged
/// by its length alone, never loaded (`SnapshotTooLarge`); a ledger whose state outgrows it
/// gets no new snapshot and is replayed from entry 0.
pub const MAX_SNAPSHOT_BYTES: u64 = 512 << 20;
/// The longest `signature` column read (an Ed25519 signature is 128 hex digits).
pub const MAX_SNAPSHOT_SIGNATURE_BYTES: u64 = 128;
/// How many snapshots are kept (older rows are deleted when a new one is written), and how
/// many an open tries, newest first, before it replays from entry 0: rows an attacker adds
/// cost a bounded amount of reading, not one read each.
pub const SNAPSHOTS_KEPT: usize = 2;

/// What the log key signs: the statement's canonical JSON (RFC 8785).
#[derive(Serialize)]
struct Statement<'a> {
    origin: &'a str,
    root: String,
    size: u64,
    state_sha256: String,
    v: u64,
}

/// The bytes signed for a snapshot (before the context prefix): the canonical statement.
pub fn statement_bytes(
    origin: &str,
    size: u64,
    root: &Hash,
    state_sha256: &[u8; 32],
) -> Result<Vec<u8>, StoreError> {
    let statement = Statement {
        origin,
        root: hex::encode(root),
        size,
        state_sha256: hex::encode(state_sha256),
        v: SNAPSHOT_VERSION,
    };
    Ok(canonical::to_canonical_vec(&statement)?)
}

/// The state as written (borrowed from the verified state; maps sorted so that the same
/// state gives the same bytes).
#[derive(Serialize)]
struct StateOut<'a> {
    v: u64,
    size: u64,
    frontier: Vec<String>,
    state: &'a State,
    item_history: BTreeMap<&'a str, &'a [u64]>,
    case_history: BTreeMap<&'a str, &'a [u64]>,
    sealed: BTreeMap<&'a str, u64>,
    acknowledged: BTreeMap<&'a str, u64>,
    by_digests: Vec<(&'a str, &'a Digests)>,
}

/// The state as read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateIn {
    v: u64,
    size: u64,
    frontier: Vec<String>,
    state: State,
    item_history: HashMap<String, Vec<u64>>,
    case_history: HashMap<String, Vec<u64>>,
    sealed: HashMap<String, u64>,
    acknowledged: HashMap<String, u64>,
    by_digests: Vec<(String, Digests)>,
}

fn sorted(m: &HashMap<String, Vec<u64>>) -> BTreeMap<&str, &[u64]> {
    m.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect()
}

/// Serialises the verified state (`docs/ledger.md` §4.2).
pub(crate) fn encode(truth: &Truth) -> Result<Vec<u8>, StoreError> {
    let mut by_digests: Vec<(&str, &Digests)> = truth
        .by_digests
        .iter()
        .map(|(d, item)| (item.as_str(), d))
        .collect();
    by_digests.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let out = StateOut {
        v: SNAPSHOT_VERSION,
        size: truth.size(),
        frontier: truth
            .builder
            .frontier()
            .iter()
            .map(|h| hex::encode(h))
            .collect(),
        state: &truth.state,
        item_history: sorted(&truth.item_history),
        case_history: sorted(&truth.case_history),
        sealed: truth.sealed.iter().map(|(k, v)| (k.as_str(), *v)).collect(),
        acknowledged: truth
            .acknowledged
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect(),
        by_digests,
    };
    serde_json::to_vec(&out).map_err(|_| StoreError::SnapshotEncoding)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A snapshot of `truth`, signed by `log_key`: `(root, signature hex, state bytes)`.
pub(crate) fn sign_snapshot(
    truth: &Truth,
    origin: &str,
    log_key: &Identity,
) -> Result<(Hash, String, Vec<u8>), StoreError> {
    let state = encode(truth)?;
    let size = truth.size();
    if state.len() as u64 > MAX_SNAPSHOT_BYTES {
        return Err(StoreError::SnapshotTooLarge {
            size,
            bytes: state.len() as u64,
            limit: MAX_SNAPSHOT_BYTES,
        });
    }
    let root = truth.root();
    let statement = statement_bytes(origin, size, &root, &sha256(&state))?;
    let signature = sign::sign_canonical(log_key, sign::CONTEXT_STATE_SNAPSHOT, &statement);
    Ok((root, sign::signature_to_hex(&signature), state))
}

/// Reads the snapshot `row` describes and checks it, in this order: its signature column
/// and length (before anything is read), the SHA-256 of its state bytes and the log key's
/// signature over the statement for this ledger's origin, the row's size and root (before
/// the state is parsed), then the state: its format, version and size, and a tree edge that
/// gives the signed root. `Ok(Err(finding))` names what does not hold; `Err` is a store
/// failure.
pub(crate) fn open(
    store: &dyn LedgerStore,
    origin: &str,
    log_key: &VerifierKey,
    row: &SnapshotRow,
) -> Result<Result<Truth, LedgerFinding>, StoreError> {
    open_within(store, origin, log_key, row, MAX_SNAPSHOT_BYTES)
}

/// [`open`], with state bytes limited to `limit` (tests show the limit at and past it).
fn open_within(
    store: &dyn LedgerStore,
    origin: &str,
    log_key: &VerifierKey,
    row: &SnapshotRow,
    limit: u64,
) -> Result<Result<Truth, LedgerFinding>, StoreError> {
    let size = row.size;
    let bad_signature = Ok(Err(LedgerFinding::SnapshotSignature { size }));
    let malformed = Ok(Err(LedgerFinding::SnapshotMalformed { size }));
    let too_large = Ok(Err(LedgerFinding::SnapshotTooLarge { size, limit }));
    if row.state_bytes > limit {
        return too_large;
    }
    let (Some(root), Some(signature)) = (row.root, row.signature.as_deref()) else {
        return bad_signature;
    };
    let Some(signature) = sign::signature_from_hex(signature) else {
        return bad_signature;
    };
    let Some(state) = store.snapshot_state(size, limit)? else {
        return too_large;
    };
    let statement = statement_bytes(origin, size, &root, &sha256(&state))?;
    if sign::verify_canonical(
        &log_key.key,
        sign::CONTEXT_STATE_SNAPSHOT,
        &statement,
        &signature,
    )
    .is_err()
    {
        return bad_signature;
    }
    let Ok(parsed) = serde_json::from_slice::<StateIn>(&state) else {
        return malformed;
    };
    drop(state);
    if parsed.v != SNAPSHOT_VERSION || parsed.size != size {
        return malformed;
    }
    let frontier: Option<Vec<Hash>> = parsed
        .frontier
        .iter()
        .map(|h| hex::decode_array::<32>(h))
        .collect();
    let Some(builder) = frontier.and_then(|f| TreeBuilder::resume(size, f).ok()) else {
        return malformed;
    };
    if builder.root() != root {
        return malformed;
    }
    Ok(Ok(Truth {
        builder,
        state: parsed.state,
        item_history: parsed.item_history,
        case_history: parsed.case_history,
        sealed: parsed.sealed,
        acknowledged: parsed.acknowledged,
        by_digests: parsed
            .by_digests
            .into_iter()
            .map(|(item, d)| (d, item))
            .collect(),
        checkpoint: None,
        snapshot: Some(size),
    }))
}

/// Whether two states are the same, as a snapshot must be to the replay (the newest
/// checkpoint is not part of a snapshot).
pub(crate) fn same_state(a: &Truth, b: &Truth) -> bool {
    a.builder.size() == b.builder.size()
        && a.builder.frontier() == b.builder.frontier()
        && a.state == b.state
        && a.item_history == b.item_history
        && a.case_history == b.case_history
        && a.sealed == b.sealed
        && a.acknowledged == b.acknowledged
        && a.by_digests == b.by_digests
}

/// The newest stored snapshot an open may start from: of the [`SNAPSHOTS_KEPT`] newest rows
/// of at most `usable_until` entries, the first that verifies ([`open`]) and whose entry 0,
/// shown to be its tree's first leaf by an inclusion proof, names `log_key` (as the replay
/// requires of entry 0). `None` when there is none: the caller replays from entry 0.
pub(crate) fn newest_usable(
    store: &dyn LedgerStore,
    origin: &str,
    log_key: &VerifierKey,
    usable_until: u64,
) -> Result<Option<Truth>, StoreError> {
    let mut rows = Vec::new();
    store.snapshot_rows(&mut |row| {
        if row.size > 0 && row.size <= usable_until {
            rows.push(row);
        }
        rows.len() >= SNAPSHOTS_KEPT
    })?;
    for row in rows {
        let Ok(truth) = open(store, origin, log_key, &row)? else {
            continue;
        };
        if entry_zero_names(store, log_key, &truth) {
            return Ok(Some(truth));
        }
    }
    Ok(None)
}

fn entry_zero_names(store: &dyn LedgerStore, log_key: &VerifierKey, truth: &Truth) -> bool {
    let Ok(Some(Some(bytes))) = store.entry(0) else {
        return false;
    };
    let Ok(proof) = merkle::inclusion_proof(&mut StoredTree(store), 0, truth.size()) else {
        return false;
    };
    if proof
        .verify(&merkle::leaf_hash(&bytes), &truth.root())
        .is_err()
    {
        return false;
    }
    parse_entry(0, &bytes).is_ok_and(|signed| {
        signed.event.fields.log_key.as_deref() == Some(log_key.to_string().as_str())
    })
}

/// `Ledger::verify`'s part: every stored snapshot checked ([`open`]) and compared with the
/// state the full replay reaches at its size.
pub(crate) struct SnapshotCheck<'a> {
    store: &'a dyn LedgerStore,
    origin: &'a str,
    log_key: &'a VerifierKey,
    /// Rows not compared yet, largest size first (the next one is last).
    pending: Vec<SnapshotRow>,
    /// The state after the entries replayed so far, while they are contiguous.
    truth: Truth,
    /// An entry was missing or unparseable: later states cannot be computed (the entry
    /// findings already fail the verification).
    broken: bool,
    findings: Vec<LedgerFinding>,
    error: Option<StoreError>,
}

impl<'a> SnapshotCheck<'a> {
    pub(crate) fn new(
        store: &'a dyn LedgerStore,
        origin: &'a str,
        log_key: &'a VerifierKey,
    ) -> Result<Self, StoreError> {
        let mut pending = Vec::new();
        store.snapshot_rows(&mut |row| {
            pending.push(row);
            false
        })?;
        let mut check = SnapshotCheck {
            store,
            origin,
            log_key,
            pending,
            truth: Truth::default(),
            broken: false,
            findings: Vec::new(),
            error: None,
        };
        check.compare_due();
        Ok(check)
    }

    /// Takes the replay's next entry (`seq`, its leaf hash and event).
    pub(crate) fn push(&mut self, seq: u64, leaf: Hash, event: &crate::event::Event) {
        if self.pending.is_empty() || self.broken {
            return;
        }
        if seq != self.truth.size() {
            self.broken = true;
            return;
        }
        self.truth.push(seq, leaf, event);
        self.compare_due();
    }

    fn compare_due(&mut self) {
        while self
            .pending
            .last()
            .is_some_and(|row| row.size <= self.truth.size())
        {
            let Some(row) = self.pending.pop() else {
                break;
            };
            match open(self.store, self.origin, self.log_key, &row) {
                Err(e) => {
                    self.error.get_or_insert(e);
                }
                Ok(Err(finding)) => self.findings.push(finding),
                Ok(Ok(snapshot)) => {
                    if !same_state(&snapshot, &self.truth) {
                        self.findings
                            .push(LedgerFinding::SnapshotMismatch { size: row.size });
                    }
                }
            }
        }
    }

    /// The findings, once the replay has seen all `size` entries.
    pub(crate) fn finish(mut self, size: u64) -> Result<Vec<LedgerFinding>, StoreError> {
        for row in std::mem::take(&mut self.pending).into_iter().rev() {
            if row.size > size {
                self.findings.push(LedgerFinding::SnapshotAhead {
                    size: row.size,
                    ledger_size: size,
                });
                continue;
            }
            // Not compared (the replay stopped at a missing or unreadable entry, which is a
            // finding of its own); its own checks still run.
            match open(self.store, self.origin, self.log_key, &row) {
                Err(e) => return Err(e),
                Ok(Err(finding)) => self.findings.push(finding),
                Ok(Ok(_)) => {}
            }
        }
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.findings),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Ledger;
    use custody_core::keys::{ActorInfo, Identity};

    #[test]
    fn fail_state_one_byte_past_the_limit_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let alice = Identity::from_seed(ActorInfo::named("alice"), [1; 32]).unwrap();
        let log = Identity::from_seed(ActorInfo::named("log"), [9; 32]).unwrap();
        let origin = "test.example/custody";
        let mut ledger = Ledger::init(&dir.path().join("l.db"), origin, &alice, &log).unwrap();
        ledger.write_snapshot(&log).unwrap();
        let store = &*ledger.store;
        let mut rows = Vec::new();
        store
            .snapshot_rows(&mut |row| {
                rows.push(row);
                false
            })
            .unwrap();
        let row = rows.pop().unwrap();
        let length = row.state_bytes;
        let key = log.verifier_key();
        // At the limit: read and taken.
        assert!(store.snapshot_state(row.size, length).unwrap().is_some());
        let taken = open_within(store, origin, &key, &row, length).unwrap();
        assert_eq!(taken.unwrap().size(), 1);
        // One byte past it: judged by the length the row states, and by the store's own
        // bound on the column, never loaded.
        assert_eq!(store.snapshot_state(row.size, length - 1).unwrap(), None);
        let refused = open_within(store, origin, &key, &row, length - 1).unwrap();
        assert_eq!(
            refused.err(),
            Some(LedgerFinding::SnapshotTooLarge {
                size: 1,
                limit: length - 1
            })
        );
        let lying = SnapshotRow {
            state_bytes: length - 1,
            ..row
        };
        let refused = open_within(store, origin, &key, &lying, length - 1).unwrap();
        assert!(matches!(
            refused,
            Err(LedgerFinding::SnapshotTooLarge { .. })
        ));
    }
}
