//! The custody history a package carries: its ledger entries (each canonical, signed by
//! a key enrolled and still active at that seq by an included entry), their inclusion
//! proofs, and the sender ledger's checkpoint they are proven into.
//!
//! Following the keys through the included entries also gives each key's standing at the
//! package's checkpoint (the newest state the package shows), which decides whether a
//! package signature by that key counts ([`History::standing`]). Only validly signed
//! entries by then-active keys change a standing, and a key once rotated out or revoked
//! stays so: nothing unsigned, and no later entry, brings it back.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use custody_core::canonical;
use custody_core::checkpoint::Checkpoint;
use custody_core::hex;
use custody_core::keys::PublicKey;
use custody_core::merkle::{self, Hash, InclusionProof};
use custody_core::sign::{self, CONTEXT_EVENT};
use custody_store::rules::history_items;
use custody_store::{EventKind, SignedEvent};

use super::custody_files::{Bag, Reader};
use super::finding::{Finding, FindingGroup, FindingKind, ItemField, SignerProblem};
use crate::layout;
use crate::package::{PackageItem, PackageStatement};

/// An included entry that parsed.
struct Entry {
    signed: SignedEvent,
    /// Whether its signature verified with the actor key it names.
    signature_ok: bool,
    /// The event's `items`, indexed once so that asking whether it names an item is
    /// `O(1)`: an event may name many items, and each of a statement's items asks about
    /// each event it lists.
    items: HashSet<String>,
}

impl Entry {
    fn new(signed: SignedEvent, signature_ok: bool) -> Entry {
        let items = signed.event.items.iter().cloned().collect();
        Entry {
            signed,
            signature_ok,
            items,
        }
    }

    /// Whether the event names `item` in `items`.
    fn lists(&self, item: &str) -> bool {
        self.items.contains(item)
    }

    /// Whether the event concerns `item`: names it in `items` or as its `parent`.
    fn names(&self, item: &str) -> bool {
        self.lists(item) || self.signed.event.fields.parent.as_deref() == Some(item)
    }
}

/// A key's standing in the sender ledger at the package's checkpoint, as the included,
/// validly signed entries show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum KeyStanding {
    /// No included entry enrols the key (a countersigner from outside the sender ledger,
    /// or a key the package does not account for).
    NotEnrolled,
    /// Enrolled, and neither rotated out nor revoked.
    Active,
    /// Replaced by the included `key-rotated` entry `seq`.
    Rotated {
        /// The rotation entry.
        seq: u64,
    },
    /// Revoked by the included `key-revoked` entry `seq`.
    Revoked {
        /// The revocation entry.
        seq: u64,
    },
}

/// What the history checks learnt, for the signature and statement checks.
pub(super) struct History {
    entries: BTreeMap<u64, Entry>,
    /// The checkpoint note as read from the package, when it is text.
    pub checkpoint_note: Option<String>,
    /// Every key enrolled by a validly signed included entry.
    enrolled: Vec<PublicKey>,
    /// Key (hex) → its standing after the last included entry.
    standing: HashMap<String, KeyStanding>,
    /// Key (hex) → the holder's full name, as the validly signed included entry that
    /// enrolled the key records it (a rotation without `actor_info` keeps the old key's).
    full_names: HashMap<String, String>,
}

impl History {
    /// Keys the package's entries enrol (to recognise signers not in the trust store).
    pub fn enrolled_keys(&self) -> impl Iterator<Item = PublicKey> + '_ {
        self.enrolled.iter().copied()
    }

    /// The holder's full name, if the included entry that enrolled `key` records one.
    pub fn full_name(&self, key: &PublicKey) -> Option<&str> {
        self.full_names
            .get(&hex::encode(&key.to_bytes()))
            .map(String::as_str)
    }

    /// The seq of the included `key-revoked` entry revoking `key`, if any.
    pub fn revocation_of(&self, key: &PublicKey) -> Option<u64> {
        match self.standing(key) {
            KeyStanding::Revoked { seq } => Some(seq),
            _ => None,
        }
    }

    /// `key`'s standing at the package's checkpoint. A package signature counts only by a
    /// key that is [`KeyStanding::Active`] here.
    pub fn standing(&self, key: &PublicKey) -> KeyStanding {
        self.standing
            .get(&hex::encode(&key.to_bytes()))
            .copied()
            .unwrap_or(KeyStanding::NotEnrolled)
    }

    /// Each onward-transfer consent the statement states is an included entry of the
    /// item's history that records exactly it, for this recipient.
    /// Every item whose creating entry is a `received` from an authority other than the
    /// recipient must have one.
    pub fn check_onward_transfers(&self, statement: &PackageStatement, out: &mut Vec<Finding>) {
        for item in &statement.items {
            let Some(entry) = self.entries.get(&item.acquired_seq) else {
                continue;
            };
            let event = &entry.signed.event;
            if event.kind != custody_store::EventKind::Received {
                continue;
            }
            let sender = event.fields.from.clone().unwrap_or_default();
            let consented = statement.onward_transfers.iter().any(|c| c.item == item.id);
            if sender != statement.recipient.authority && !consented {
                out.push(Finding::event(
                    FindingGroup::Statement,
                    layout::PACKAGE_JSON,
                    item.acquired_seq,
                    FindingKind::OnwardTransferWithoutConsent {
                        item: item.id.clone(),
                        sender,
                        seq: item.acquired_seq,
                    },
                ));
            }
        }
        for consent in &statement.onward_transfers {
            let listed = statement
                .items
                .iter()
                .any(|i| i.id == consent.item && i.events.contains(&consent.seq));
            let recorded = self.entries.get(&consent.seq).and_then(|entry| {
                custody_store::conditions::OnwardAuthorisation::from_event(&entry.signed.event)
                    .filter(|_| entry.lists(&consent.item))
            });
            let supported = listed
                && recorded.is_some_and(|r| {
                    r.authorised_by == consent.authorised_by
                        && r.reference == consent.reference
                        && r.to == statement.recipient.authority
                });
            if !supported {
                out.push(Finding::event(
                    FindingGroup::Statement,
                    layout::PACKAGE_JSON,
                    consent.seq,
                    FindingKind::OnwardTransferUnsupported {
                        item: consent.item.clone(),
                        seq: consent.seq,
                    },
                ));
            }
        }
    }

    /// The item's history: every listed entry is included and concerns the item, and its
    /// acquisition entry recorded exactly the statement's size and digests.
    pub fn check_acquisition(&self, item: &PackageItem, out: &mut Vec<Finding>) {
        for &seq in &item.events {
            let file = layout::event_path(seq);
            let Some(entry) = self.entries.get(&seq) else {
                out.push(Finding::event(
                    FindingGroup::Events,
                    file,
                    seq,
                    FindingKind::EventMissing {
                        item: item.id.clone(),
                        seq,
                    },
                ));
                continue;
            };
            if !entry.names(&item.id) {
                out.push(Finding::event(
                    FindingGroup::Events,
                    file,
                    seq,
                    FindingKind::EventNotForItem {
                        item: item.id.clone(),
                    },
                ));
            }
        }
        let seq = item.acquired_seq;
        let file = layout::event_path(seq);
        let Some(entry) = self.entries.get(&seq) else {
            if !item.events.contains(&seq) {
                out.push(Finding::event(
                    FindingGroup::Events,
                    file,
                    seq,
                    FindingKind::EventMissing {
                        item: item.id.clone(),
                        seq,
                    },
                ));
            }
            return;
        };
        let event = &entry.signed.event;
        if !event.kind.creates_items() || !entry.lists(&item.id) {
            out.push(Finding::event(
                FindingGroup::Events,
                file,
                seq,
                FindingKind::NotAcquisition {
                    item: item.id.clone(),
                    seq,
                },
            ));
            return;
        }
        // Seal states the creating entry's evidence for every item it creates, however many
        // that entry names, and refuses an item whose entry records none; so must verify,
        // or an item of a shared acquisition could carry any bytes.
        let Some(evidence) = event.fields.evidence.as_ref() else {
            out.push(Finding::event(
                FindingGroup::Statement,
                layout::PACKAGE_JSON,
                seq,
                FindingKind::AcquisitionWithoutEvidence {
                    item: item.id.clone(),
                    acquired_seq: seq,
                },
            ));
            return;
        };
        let mut differs = |field| {
            out.push(Finding::event(
                FindingGroup::Statement,
                layout::PACKAGE_JSON,
                seq,
                FindingKind::ItemNotAsAcquired {
                    item: item.id.clone(),
                    field,
                    acquired_seq: seq,
                },
            ));
        };
        if evidence.size != item.size {
            differs(ItemField::Size);
        }
        if evidence.sha256 != item.sha256 {
            differs(ItemField::Sha256);
        }
        if evidence.blake3 != item.blake3 {
            differs(ItemField::Blake3);
        }
        let stated_files = item.files.as_ref().map(|files| {
            files
                .iter()
                .map(|f| (f.path.as_str(), f.size, f.sha256, f.blake3))
                .collect::<Vec<_>>()
        });
        let recorded_files = evidence.files.as_ref().map(|files| {
            files
                .iter()
                .map(|f| (f.path.as_str(), f.size, f.sha256, f.blake3))
                .collect::<Vec<_>>()
        });
        if stated_files != recorded_files {
            differs(ItemField::Files);
        }
    }

    /// Every included entry that parsed, in seq order, with whether its signature verified
    /// (the rest of what verification found about it is in the findings).
    pub fn included(&self) -> Vec<super::IncludedEntry> {
        self.entries
            .iter()
            .map(|(seq, e)| super::IncludedEntry {
                seq: *seq,
                signed: e.signed.clone(),
                signature_valid: e.signature_ok,
            })
            .collect()
    }
}

/// Checks every entry, proof and the checkpoint.
pub(super) fn check(
    reader: &mut Reader<'_>,
    bag: &Bag,
    statement: Option<&PackageStatement>,
) -> History {
    let mut history = History {
        entries: BTreeMap::new(),
        checkpoint_note: None,
        enrolled: Vec::new(),
        standing: HashMap::new(),
        full_names: HashMap::new(),
    };
    let mut leaves: BTreeMap<u64, Hash> = BTreeMap::new();
    let event_paths: Vec<(u64, String)> = bag
        .under(layout::EVENTS_DIR)
        .filter_map(|p| Some((layout::event_seq(p)?, p.to_owned())))
        .collect();
    for (seq, path) in event_paths {
        let Some(bytes) = reader.read(bag, &path, FindingGroup::Events) else {
            continue;
        };
        leaves.insert(seq, merkle::leaf_hash(&bytes));
        if let Some(entry) = check_entry(seq, &path, &bytes, statement, reader.findings) {
            history.entries.insert(seq, entry);
        }
    }
    check_signers(&mut history, statement, reader.findings);
    if let Some(statement) = statement {
        check_relevance(&history, statement, reader.findings);
    }
    let root = check_checkpoint(reader, bag, statement, &mut history.checkpoint_note);
    check_proofs(reader, bag, &leaves, root);
    history
}

/// One entry on its own: parse, canonical bytes, seq, origin, signature.
fn check_entry(
    seq: u64,
    path: &str,
    bytes: &[u8],
    statement: Option<&PackageStatement>,
    findings: &mut Vec<Finding>,
) -> Option<Entry> {
    let finding = |kind| Finding::event(FindingGroup::Events, path, seq, kind);
    // Exactly the canonical JSON of an entry, or nothing is believed of it: no duplicate
    // member, no field the entry format does not have, no second spelling of a value.
    let signed: SignedEvent = match canonical::parse_strict(bytes) {
        Ok(s) => s,
        Err(e) => {
            findings.push(finding(FindingKind::Malformed {
                error: format!("not the canonical JSON of a ledger entry: {e}"),
            }));
            return None;
        }
    };
    let event = &signed.event;
    if event.seq != seq {
        findings.push(finding(FindingKind::EventSeqMismatch { found: event.seq }));
    }
    if let Some(statement) = statement {
        if event.origin != statement.sender.ledger_origin {
            findings.push(finding(FindingKind::EventOrigin {
                expected: statement.sender.ledger_origin.clone(),
                found: event.origin.clone(),
            }));
        }
    }
    let signature_ok = event_signature_ok(&signed);
    if !signature_ok {
        findings.push(finding(FindingKind::EventSignatureInvalid {
            actor: event.actor.clone(),
        }));
    }
    Some(Entry::new(signed, signature_ok))
}

fn event_signature_ok(signed: &SignedEvent) -> bool {
    let Some(key) = parse_key(&signed.event.actor) else {
        return false;
    };
    let Some(signature) = sign::signature_from_hex(&signed.signature) else {
        return false;
    };
    let Ok(message) = canonical::to_canonical_vec(&signed.event) else {
        return false;
    };
    // A two-signature hand-over counts only with the receiving actor's cosignature too.
    sign::verify_canonical(&key, CONTEXT_EVENT, &message, &signature).is_ok()
        && signed.check_cosignature(&message).is_ok()
}

fn parse_key(text: &str) -> Option<PublicKey> {
    hex::decode_array::<32>(text).and_then(|b| PublicKey::from_bytes(&b).ok())
}

/// Follows the keys through the included entries in seq order: each entry's signer must
/// have been enrolled by an earlier included entry (entry 0 enrols its own signer) and not
/// revoked or rotated out since. Only validly signed entries by active keys change key
/// states, and a rotated-out or revoked key is never enrolled again.
fn check_signers(
    history: &mut History,
    statement: Option<&PackageStatement>,
    findings: &mut Vec<Finding>,
) {
    let mut states: HashMap<String, KeyStanding> = HashMap::new();
    let enrol = |states: &mut HashMap<String, KeyStanding>, key: &Option<String>| {
        if let Some(key) = key {
            states.entry(key.clone()).or_insert(KeyStanding::Active);
        }
    };
    let mut full_names: HashMap<String, String> = HashMap::new();
    let mut log_key_entry = None;
    for (&seq, entry) in &history.entries {
        let event = &entry.signed.event;
        let initialises = event.kind == EventKind::LedgerInitialised && seq == 0;
        if initialises {
            log_key_entry = Some(event.fields.log_key.clone().unwrap_or_default());
        }
        let problem = match states.get(&event.actor) {
            _ if initialises => None,
            None | Some(KeyStanding::NotEnrolled) => Some(SignerProblem::NotEnrolled),
            Some(KeyStanding::Rotated { .. }) => Some(SignerProblem::Rotated),
            Some(KeyStanding::Revoked { .. }) => Some(SignerProblem::Revoked),
            Some(KeyStanding::Active) => None,
        };
        if let Some(problem) = problem {
            findings.push(Finding::event(
                FindingGroup::Events,
                layout::event_path(seq),
                seq,
                FindingKind::EventSigner {
                    actor: event.actor.clone(),
                    problem,
                },
            ));
        }
        if !entry.signature_ok || problem.is_some() {
            continue;
        }
        let info_full_name = event
            .fields
            .actor_info
            .as_ref()
            .map(|info| info.full_name.clone());
        let name_key = |names: &mut HashMap<String, String>, key: &Option<String>, full| {
            if let (Some(key), Some(full)) = (key, full) {
                names.entry(key.clone()).or_insert(full);
            }
        };
        match event.kind {
            EventKind::LedgerInitialised if initialises => {
                enrol(&mut states, &Some(event.actor.clone()));
                name_key(
                    &mut full_names,
                    &Some(event.actor.clone()),
                    info_full_name.flatten(),
                );
            }
            EventKind::ActorEnrolled => {
                if !states.contains_key(event.fields.public_key.as_deref().unwrap_or("")) {
                    name_key(
                        &mut full_names,
                        &event.fields.public_key,
                        info_full_name.flatten(),
                    );
                }
                enrol(&mut states, &event.fields.public_key);
            }
            EventKind::KeyRotated => {
                states.insert(event.actor.clone(), KeyStanding::Rotated { seq });
                let new_key_is_new =
                    !states.contains_key(event.fields.public_key.as_deref().unwrap_or(""));
                let full = match info_full_name {
                    Some(full) => full,
                    None => full_names.get(&event.actor).cloned(),
                };
                if new_key_is_new {
                    name_key(&mut full_names, &event.fields.public_key, full);
                }
                enrol(&mut states, &event.fields.public_key);
            }
            EventKind::KeyRevoked => {
                if let Some(key) = &event.fields.public_key {
                    // A revocation outranks a rotation the key already had.
                    states.insert(key.clone(), KeyStanding::Revoked { seq });
                }
            }
            _ => {}
        }
    }
    history.enrolled = states.keys().filter_map(|k| parse_key(k)).collect();
    history.standing = states;
    history.full_names = full_names;
    let Some(statement) = statement else {
        return;
    };
    let expected = &statement.sender.log_key;
    if log_key_entry.as_ref() != Some(expected) {
        findings.push(Finding::event(
            FindingGroup::Events,
            layout::event_path(0),
            0,
            FindingKind::LedgerKeyMismatch {
                log_key: log_key_entry.unwrap_or_default(),
            },
        ));
    }
}

/// Entries that are neither about keys nor about a package item have no business here;
/// and an entry in a package item's history (its items, or a derived item's parent:
/// [`history_items`], the sender ledger's own rule) must be listed in that item's
/// `events`, so that the statement cannot leave out of an item's history (and so out of
/// what the receiver records) an entry the package carries and proves. Sets built once
/// keep this linear in entries plus statement.
fn check_relevance(history: &History, statement: &PackageStatement, findings: &mut Vec<Finding>) {
    let items: BTreeSet<&str> = statement.items.iter().map(|i| i.id.as_str()).collect();
    let listed: BTreeSet<(&str, u64)> = statement
        .items
        .iter()
        .flat_map(|i| i.events.iter().map(move |&seq| (i.id.as_str(), seq)))
        .collect();
    for (&seq, entry) in &history.entries {
        let event = &entry.signed.event;
        let about_keys = matches!(
            event.kind,
            EventKind::LedgerInitialised
                | EventKind::ActorEnrolled
                | EventKind::KeyRotated
                | EventKind::KeyRevoked
        );
        let about_item = entry
            .items
            .iter()
            .chain(event.fields.parent.as_ref())
            .any(|i| items.contains(i.as_str()));
        if !about_keys && !about_item {
            findings.push(Finding::event(
                FindingGroup::Events,
                layout::event_path(seq),
                seq,
                FindingKind::EventUnrelated,
            ));
        }
        for item in history_items(event) {
            if items.contains(item) && !listed.contains(&(item, seq)) {
                findings.push(Finding::event(
                    FindingGroup::Events,
                    layout::event_path(seq),
                    seq,
                    FindingKind::EventNotInHistory {
                        item: item.to_owned(),
                    },
                ));
            }
        }
    }
}

/// The checkpoint: signed by the statement's log key, for the sender's origin, with the
/// statement's size and root. Returns the (size, root) proofs must lead to.
fn check_checkpoint(
    reader: &mut Reader<'_>,
    bag: &Bag,
    statement: Option<&PackageStatement>,
    note: &mut Option<String>,
) -> Option<(u64, Hash)> {
    let bytes = reader.read(bag, layout::CHECKPOINT, FindingGroup::Checkpoint);
    *note = bytes
        .as_deref()
        .and_then(|b| std::str::from_utf8(b).ok())
        .map(str::to_owned);
    let statement = statement?;
    let stated = (statement.checkpoint.size, statement.checkpoint.root);
    let bytes = bytes?;
    let finding = |kind| Finding::file(FindingGroup::Checkpoint, layout::CHECKPOINT, kind);
    let log_key = match statement.sender.log_verifier_key() {
        Ok(k) => k,
        Err(e) => {
            reader.findings.push(Finding::file(
                FindingGroup::Statement,
                layout::PACKAGE_JSON,
                FindingKind::Malformed {
                    error: format!("sender.log_key: {e}"),
                },
            ));
            return Some(stated);
        }
    };
    let checkpoint = match Checkpoint::open(&bytes, std::slice::from_ref(&log_key)) {
        Ok((checkpoint, _, _)) => checkpoint,
        Err(e) => {
            reader
                .findings
                .push(finding(FindingKind::CheckpointSignature {
                    error: e.to_string(),
                }));
            return Some(stated);
        }
    };
    let mismatch = |field: &str, expected: String, found: String| {
        finding(FindingKind::StatementMismatch {
            field: field.to_owned(),
            expected,
            found,
        })
    };
    if checkpoint.origin != statement.sender.ledger_origin {
        reader.findings.push(mismatch(
            "origin",
            statement.sender.ledger_origin.clone(),
            checkpoint.origin.clone(),
        ));
    }
    if checkpoint.size != stated.0 {
        reader.findings.push(mismatch(
            "size",
            stated.0.to_string(),
            checkpoint.size.to_string(),
        ));
    }
    if checkpoint.root != stated.1 {
        reader.findings.push(mismatch(
            "root",
            hex::encode(&stated.1),
            hex::encode(&checkpoint.root),
        ));
    }
    Some((checkpoint.size, checkpoint.root))
}

/// Every included entry has a proof into the checkpoint, and every proof an entry.
fn check_proofs(
    reader: &mut Reader<'_>,
    bag: &Bag,
    leaves: &BTreeMap<u64, Hash>,
    root: Option<(u64, Hash)>,
) {
    let proofs: BTreeMap<u64, String> = bag
        .under(layout::PROOFS_DIR)
        .filter_map(|p| Some((layout::proof_seq(p)?, p.to_owned())))
        .collect();
    for (&seq, path) in &proofs {
        if !leaves.contains_key(&seq) {
            reader.findings.push(Finding::event(
                FindingGroup::Proofs,
                path,
                seq,
                FindingKind::ProofOrphan,
            ));
        }
    }
    for (&seq, leaf) in leaves {
        let Some(path) = proofs.get(&seq) else {
            reader.findings.push(Finding::event(
                FindingGroup::Proofs,
                layout::proof_path(seq),
                seq,
                FindingKind::ProofMissing,
            ));
            continue;
        };
        let Some(bytes) = reader.read(bag, path, FindingGroup::Proofs) else {
            continue;
        };
        let finding = |kind| Finding::event(FindingGroup::Proofs, path, seq, kind);
        let proof: InclusionProof = match canonical::parse_strict(&bytes) {
            Ok(p) => p,
            Err(e) => {
                reader.findings.push(finding(FindingKind::Malformed {
                    error: format!("not the canonical JSON of an inclusion proof: {e}"),
                }));
                continue;
            }
        };
        let Some((size, root)) = root else {
            continue;
        };
        if proof.leaf_index != seq || proof.tree_size != size {
            reader.findings.push(finding(FindingKind::ProofShape {
                leaf_index: proof.leaf_index,
                tree_size: proof.tree_size,
                seq,
                expected_size: size,
            }));
            continue;
        }
        if let Err(e) = proof.verify(leaf, &root) {
            reader.findings.push(finding(FindingKind::ProofInvalid {
                error: e.to_string(),
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_store::{Event, EventFields};

    fn key(n: u8) -> String {
        let id = custody_core::keys::Identity::from_seed(
            custody_core::keys::ActorInfo::named("k"),
            [n; 32],
        )
        .unwrap();
        hex::encode(&id.public_key().to_bytes())
    }

    #[test]
    fn fail_hand_over_event_counts_as_signed_only_with_its_cosignature() {
        let identity = |n: u8| {
            custody_core::keys::Identity::from_seed(
                custody_core::keys::ActorInfo::named("k"),
                [n; 32],
            )
            .unwrap()
        };
        let (releaser, receiver) = (identity(1), identity(2));
        let event = Event {
            v: 1,
            origin: "o".into(),
            seq: 4,
            kind: EventKind::CheckedOut,
            actor: key(1),
            claimed_time: "2026-03-01T09:00:00Z".into(),
            recorded_time: "2026-03-01T09:00:00Z".into(),
            case: Some("C-1".into()),
            items: vec!["E1".into()],
            fields: EventFields {
                from_actor: Some(key(1)),
                to_actor: Some(key(2)),
                ..EventFields::default()
            },
        };
        let message = canonical::to_canonical_vec(&event).unwrap();
        let mut signed = SignedEvent {
            event,
            signature: sign::signature_to_hex(&sign::sign_canonical(
                &releaser,
                CONTEXT_EVENT,
                &message,
            )),
            cosignature: None,
        };
        assert!(!event_signature_ok(&signed), "one signature is not enough");
        signed.cosign(&receiver).unwrap();
        assert!(event_signature_ok(&signed));
        // The releaser's own signature offered as the cosignature does not verify.
        signed.cosignature = Some(signed.signature.clone());
        assert!(!event_signature_ok(&signed));
    }

    /// An included entry taken as validly signed: only the key bookkeeping is under test.
    fn entry(seq: u64, kind: EventKind, actor: u8, subject: Option<u8>) -> (u64, Entry) {
        let event = Event {
            v: 1,
            origin: "o".into(),
            seq,
            kind,
            actor: key(actor),
            claimed_time: "2026-03-01T09:00:00Z".into(),
            recorded_time: "2026-03-01T09:00:00Z".into(),
            case: None,
            items: vec![],
            fields: EventFields {
                public_key: subject.map(key),
                ..EventFields::default()
            },
        };
        let signed = SignedEvent {
            event,
            signature: String::new(),
            cosignature: None,
        };
        (seq, Entry::new(signed, true))
    }

    /// `entry` with `actor_info` naming the subject `full_name`, validly signed or not.
    fn named(
        seq: u64,
        kind: EventKind,
        actor: u8,
        subject: u8,
        full_name: Option<&str>,
        signature_ok: bool,
    ) -> (u64, Entry) {
        let (seq, entry) = entry(seq, kind, actor, Some(subject));
        let mut signed = entry.signed;
        signed.event.fields.actor_info = Some(custody_core::keys::ActorInfo {
            full_name: full_name.map(str::to_owned),
            ..custody_core::keys::ActorInfo::named("k")
        });
        (seq, Entry::new(signed, signature_ok))
    }

    #[test]
    fn fail_full_names_come_only_from_the_valid_enrolling_entry() {
        let (history, _) = standing_after(vec![
            named(
                0,
                EventKind::LedgerInitialised,
                1,
                1,
                Some("Émilie Durand"),
                true,
            ),
            // A forged (badly signed) enrolment cannot name a key.
            named(
                1,
                EventKind::ActorEnrolled,
                1,
                2,
                Some("Forged Name"),
                false,
            ),
            named(2, EventKind::ActorEnrolled, 1, 3, Some("Jonas Weber"), true),
            // Enrolling an enrolled key again does not rename it.
            named(
                3,
                EventKind::ActorEnrolled,
                1,
                3,
                Some("Someone Else"),
                true,
            ),
            // A rotation without actor_info keeps the holder's full name.
            entry(4, EventKind::KeyRotated, 3, Some(4)),
            // A revoked key's entries name nobody.
            entry(5, EventKind::KeyRevoked, 1, Some(1)),
            named(
                6,
                EventKind::ActorEnrolled,
                1,
                5,
                Some("After Revocation"),
                true,
            ),
        ]);
        assert_eq!(history.full_name(&public(1)), Some("Émilie Durand"));
        assert_eq!(history.full_name(&public(2)), None);
        assert_eq!(history.full_name(&public(3)), Some("Jonas Weber"));
        assert_eq!(history.full_name(&public(4)), Some("Jonas Weber"));
        assert_eq!(history.full_name(&public(5)), None);
    }

    fn standing_after(entries: Vec<(u64, Entry)>) -> (History, Vec<Finding>) {
        let mut history = History {
            entries: entries.into_iter().collect(),
            checkpoint_note: None,
            enrolled: Vec::new(),
            standing: HashMap::new(),
            full_names: HashMap::new(),
        };
        let mut findings = Vec::new();
        check_signers(&mut history, None, &mut findings);
        (history, findings)
    }

    fn public(n: u8) -> PublicKey {
        parse_key(&key(n)).unwrap()
    }

    #[test]
    fn fail_a_rotated_or_revoked_key_is_never_enrolled_again() {
        let (history, findings) = standing_after(vec![
            entry(0, EventKind::LedgerInitialised, 1, None),
            entry(1, EventKind::ActorEnrolled, 1, Some(2)),
            entry(2, EventKind::KeyRotated, 2, Some(3)),
            // Enrolling the rotated-out key again does not revive it.
            entry(3, EventKind::ActorEnrolled, 1, Some(2)),
            entry(4, EventKind::KeyRevoked, 1, Some(3)),
            entry(5, EventKind::ActorEnrolled, 1, Some(3)),
            // An entry by the revoked key changes nothing and is itself a finding.
            entry(6, EventKind::KeyRotated, 3, Some(4)),
        ]);
        assert_eq!(history.standing(&public(1)), KeyStanding::Active);
        assert_eq!(
            history.standing(&public(2)),
            KeyStanding::Rotated { seq: 2 }
        );
        assert_eq!(
            history.standing(&public(3)),
            KeyStanding::Revoked { seq: 4 }
        );
        assert_eq!(history.standing(&public(4)), KeyStanding::NotEnrolled);
        assert_eq!(history.revocation_of(&public(3)), Some(4));
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert!(matches!(
            findings[0].kind,
            FindingKind::EventSigner {
                problem: SignerProblem::Revoked,
                ..
            }
        ));
    }

    #[test]
    fn revocation_outranks_an_earlier_rotation() {
        let (history, _) = standing_after(vec![
            entry(0, EventKind::LedgerInitialised, 1, None),
            entry(1, EventKind::ActorEnrolled, 1, Some(2)),
            entry(2, EventKind::KeyRotated, 2, Some(3)),
            entry(3, EventKind::KeyRevoked, 1, Some(2)),
        ]);
        assert_eq!(
            history.standing(&public(2)),
            KeyStanding::Revoked { seq: 3 }
        );
        assert_eq!(history.standing(&public(3)), KeyStanding::Active);
    }
}
