//! What package verification can find wrong, grouped as `docs/package.md` describes.
//!
//! A [`Finding`] displays in plain words when it is about the evidence itself (a payload
//! file altered, missing or added, naming the item it belongs to); [`Finding::detail`]
//! keeps the technical account (the ZIP entry, the CRC-32, the manifest line) for `-v`
//! and JSON.

use std::fmt;

use crate::bagit::BagFinding;
use crate::zipscan::{EntryIntegrityError, ZipFinding};

/// The part of a package a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingGroup {
    /// The ZIP archive's structure.
    Zip,
    /// The BagIt bag: declaration, bag-info, manifests, payload digests.
    Bagit,
    /// The package signatures and whether their signers are trusted.
    Signature,
    /// The package statement (`custody/package.json`) and how it matches the payload.
    Statement,
    /// The ledger entries under `custody/events/`.
    Events,
    /// The inclusion proofs under `custody/proofs/`.
    Proofs,
    /// The sender ledger's checkpoint (`custody/checkpoint`).
    Checkpoint,
}

impl FindingGroup {
    /// The group's name as printed and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingGroup::Zip => "zip",
            FindingGroup::Bagit => "bagit",
            FindingGroup::Signature => "signature",
            FindingGroup::Statement => "statement",
            FindingGroup::Events => "events",
            FindingGroup::Proofs => "proofs",
            FindingGroup::Checkpoint => "checkpoint",
        }
    }
}

impl fmt::Display for FindingGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A digest or size field of an item or file compared between the statement, the
/// manifests, the archive and the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ItemField {
    /// Size in bytes.
    Size,
    /// SHA-256.
    Sha256,
    /// BLAKE3.
    Blake3,
    /// The list of files of a directory item.
    Files,
}

impl fmt::Display for ItemField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ItemField::Size => "size",
            ItemField::Sha256 => "SHA-256",
            ItemField::Blake3 => "BLAKE3",
            ItemField::Files => "file list",
        })
    }
}

/// Why an event's signer was not entitled to sign it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SignerProblem {
    /// No included `ledger-initialised`, `actor-enrolled` or `key-rotated` entry enrols the
    /// key before the event.
    NotEnrolled,
    /// An included `key-revoked` entry revoked the key before the event.
    Revoked,
    /// An included `key-rotated` entry replaced the key before the event.
    Rotated,
}

impl fmt::Display for SignerProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignerProblem::NotEnrolled => "is not enrolled by any included entry before it",
            SignerProblem::Revoked => "was revoked before it",
            SignerProblem::Rotated => "was rotated out before it",
        })
    }
}

/// What a finding means for the evidence itself, when it is about a payload file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PayloadChange {
    /// The file's bytes are not the ones the sender sealed (a CRC-32, size or digest that
    /// does not match).
    Altered,
    /// A file of an item is not in the package.
    Missing,
    /// A payload file that belongs to no item the sender sealed.
    Added,
}

/// What is wrong. The [`Finding`] around it names the file and the event seq.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(tag = "code", content = "detail", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingKind {
    /// A structural problem of the ZIP archive.
    #[error("{0}")]
    Zip(ZipFinding),
    /// A BagIt problem.
    #[error("{0}")]
    Bag(BagFinding),
    /// No `bagit.txt` in a single top-level directory, so no Custody checks could run.
    #[error("no bag directory found in the archive")]
    NoBag,
    /// A file every Custody package has is absent.
    #[error("required file missing")]
    MissingFile,
    /// A file the package layout has no place for.
    #[error("file has no place in a Custody package")]
    UnexpectedFile,
    /// A Custody file is larger than verification reads into memory.
    #[error("{size} bytes exceeds the {max}-byte limit for this file")]
    TooLarge {
        /// Declared size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// A Custody file compressed beyond [`crate::limits::MAX_TAG_RATIO`]: not inflated.
    #[error(
        "{uncompressed} bytes stored in {compressed} exceeds the {limit}:1 compression ratio limit"
    )]
    CompressionRatio {
        /// Declared compressed size.
        compressed: u64,
        /// Declared uncompressed size.
        uncompressed: u64,
        /// The ratio limit.
        limit: u64,
    },
    /// Reading this file would take the tag bytes read in total past the limit
    /// ([`crate::limits::MAX_TAG_BYTES_TOTAL`] by default): not read.
    #[error(
        "reading it would take the tag files read to {total} bytes, past the {limit}-byte limit"
    )]
    TagBytesExceeded {
        /// The total it would have reached.
        total: u64,
        /// The limit.
        limit: u64,
    },
    /// More signature files than [`crate::limits::MAX_SIGNATURES`]: only the first ones,
    /// in name order, were checked.
    #[error("{count} signature files, more than the {limit} checked")]
    TooManySignatures {
        /// How many there are.
        count: u64,
        /// The limit.
        limit: u64,
    },
    /// A Custody file could not be read from the archive.
    #[error("cannot read: {error}")]
    Unreadable {
        /// The reason.
        error: String,
    },
    /// A Custody file's bytes contradict the archive's declared size or CRC-32.
    #[error("{0}")]
    Integrity(EntryIntegrityError),
    /// A `bag-info.txt` label disagrees with the statement or the bag.
    #[error("{label} is {found:?}, expected {expected:?}")]
    BagInfoMismatch {
        /// The label.
        label: String,
        /// What the statement or bag says it must be.
        expected: String,
        /// What `bag-info.txt` says (empty if absent).
        found: String,
    },
    /// A signature file name is not `<key name>+<8 hex digits>.sig`.
    #[error("signature file name is not <key name>+<key id>.sig")]
    SignatureName,
    /// A signature file is not 64 bytes.
    #[error("signature is {len} bytes, an Ed25519 signature is 64")]
    SignatureLength {
        /// Its length.
        len: u64,
    },
    /// A signature does not verify over the tag manifest with the key its name designates.
    #[error("signature by {key} does not verify over tagmanifest-sha256.txt")]
    SignatureInvalid {
        /// The signer (`name+keyid`, or the verifier key when known).
        key: String,
    },
    /// A signature by a key that is not in the trust store.
    #[error("signer {key} is not trusted")]
    UntrustedSigner {
        /// The signer (`name+keyid`, or the verifier key when known).
        key: String,
    },
    /// A signature by a revoked key.
    #[error("signer {key} is revoked{}", match .seq { Some(s) => format!(" (key-revoked entry {s})"), None => " (--revoked)".to_owned() })]
    RevokedSigner {
        /// The signer.
        key: String,
        /// The included `key-revoked` entry, if that is how it is known.
        seq: Option<u64>,
    },
    /// A signature by a key an included `key-rotated` entry replaced: it was no longer the
    /// signer's key at the package's checkpoint.
    #[error("signer {key} was rotated out (key-rotated entry {seq})")]
    RotatedSigner {
        /// The signer.
        key: String,
        /// The included `key-rotated` entry.
        seq: u64,
    },
    /// A valid signature by a trusted key that no included entry enrols in the sender
    /// ledger (a countersignature): reported when no signature by a key active in the
    /// sender ledger counts, since a countersignature alone does not vouch for the package.
    #[error("signer {key} is trusted but not enrolled in the sender ledger; a countersignature alone does not vouch for the package")]
    SignerNotInSenderLedger {
        /// The signer.
        key: String,
    },
    /// No signature both verifies and comes from a trusted, unrevoked key.
    #[error("no valid signature by a trusted key")]
    NoTrustedSignature,
    /// A Custody JSON or text file does not parse.
    #[error("malformed: {error}")]
    Malformed {
        /// The parser's message.
        error: String,
    },
    /// A JSON file is not in RFC 8785 canonical form (or carries unknown fields).
    #[error("not canonical JSON (RFC 8785) of a known record")]
    NotCanonical,
    /// A statement field disagrees with another part of the package.
    #[error("{field} is {found:?}, expected {expected:?}")]
    StatementMismatch {
        /// The field (`id`, `checkpoint.size`, …).
        field: String,
        /// What it should be.
        expected: String,
        /// What it is.
        found: String,
    },
    /// An item's or file's size or digest in the statement differs from the payload.
    #[error("item {item}: {path}: statement {field} is {stated}, payload has {found}")]
    ItemMismatch {
        /// The item id.
        item: String,
        /// The bag path of the file.
        path: String,
        /// The field.
        field: ItemField,
        /// The statement's value.
        stated: String,
        /// The payload's value (from the verified manifests and archive).
        found: String,
    },
    /// An item's statement entry differs from the evidence its `acquired` event recorded.
    #[error("item {item}: statement {field} differs from what entry {acquired_seq} recorded at acquisition")]
    ItemNotAsAcquired {
        /// The item id.
        item: String,
        /// The field.
        field: ItemField,
        /// The acquisition entry.
        acquired_seq: u64,
    },
    /// A payload file the statement's items do not account for, or an item file absent
    /// from the payload.
    #[error("{path}: {}", if *.in_payload { "payload file belongs to no item of the statement" } else { "statement lists it but the payload does not have it" })]
    PayloadNotInStatement {
        /// The bag path.
        path: String,
        /// Whether it is in the payload (and missing from the statement) or the reverse.
        in_payload: bool,
    },
    /// The statement names a different recipient than the verifier expects.
    #[error("package is addressed to {found:?}, not {expected:?}")]
    RecipientMismatch {
        /// `--expect-recipient`.
        expected: String,
        /// `recipient.authority`.
        found: String,
    },
    /// An entry's `seq` differs from its file name.
    #[error("entry says seq {found}")]
    EventSeqMismatch {
        /// The seq inside.
        found: u64,
    },
    /// An entry's signature does not verify with the actor key it names.
    #[error("event signature does not verify with actor key {actor}")]
    EventSignatureInvalid {
        /// The actor key (hex).
        actor: String,
    },
    /// An entry's signer was not entitled to sign at that seq.
    #[error("actor key {actor} {problem}")]
    EventSigner {
        /// The actor key (hex).
        actor: String,
        /// Why.
        problem: SignerProblem,
    },
    /// An entry belongs to another ledger.
    #[error("entry origin {found:?} is not the sender ledger {expected:?}")]
    EventOrigin {
        /// `sender.ledger_origin`.
        expected: String,
        /// The entry's origin.
        found: String,
    },
    /// An entry names no item of the package and is not an actor or ledger entry.
    #[error("entry names no item of the package")]
    EventUnrelated,
    /// An item's history lists an entry the package does not include.
    #[error("item {item} lists entry {seq}, which the package does not include")]
    EventMissing {
        /// The item.
        item: String,
        /// The missing entry.
        seq: u64,
    },
    /// An item's history lists an entry that does not concern that item.
    #[error("item {item} lists this entry, which does not name it")]
    EventNotForItem {
        /// The item.
        item: String,
    },
    /// A payload file is claimed by two items of the statement.
    #[error("{path}: claimed by item {item} and by item {other}")]
    PayloadInTwoItems {
        /// The payload path.
        path: String,
        /// The later item claiming it.
        item: String,
        /// The earlier item claiming it.
        other: String,
    },
    /// The item's acquisition entry records no evidence digests, so nothing signed says
    /// what was acquired (seal refuses such an item).
    #[error("item {item}: acquisition entry {acquired_seq} records no evidence digests")]
    AcquisitionWithoutEvidence {
        /// The item.
        item: String,
        /// The acquisition entry.
        acquired_seq: u64,
    },
    /// An included entry belongs to an item's history (names it, or is a `derived` entry
    /// naming it as parent) but the statement's `events` for that item leave it out.
    #[error("item {item}: this entry is in its history but not in its events list")]
    EventNotInHistory {
        /// The item.
        item: String,
    },
    /// The statement's `items` are not in strictly ascending order of id: `item` is out of
    /// place or listed again.
    #[error("items are not sorted by id without repetition: {item} is out of place or repeated")]
    ItemsNotSortedUnique {
        /// The first item out of place.
        item: String,
    },
    /// An item's `events` are not in strictly ascending order of seq.
    #[error("item {item}: events are not sorted by seq without repetition")]
    EventsNotSortedUnique {
        /// The item.
        item: String,
    },
    /// An entry is missing from the sequence the statement's item needs (its acquisition).
    #[error(
        "item {item}: acquisition entry {seq} is not an acquired/derived/received entry naming it"
    )]
    NotAcquisition {
        /// The item.
        item: String,
        /// The seq given as `acquired_seq`.
        seq: u64,
    },
    /// A stated onward-transfer consent that no included `onward-transfer-authorised`
    /// entry of the item's history records for this recipient.
    #[error("item {item}: onward-transfer consent (entry {seq}) is not an included onward-transfer-authorised entry of the item naming this authority, recipient and reference")]
    OnwardTransferUnsupported {
        /// The item.
        item: String,
        /// The entry the statement names.
        seq: u64,
    },
    /// An item the sender received from another authority (its creating entry is
    /// `received` from that authority), sent to a third authority without a stated
    /// consent.
    #[error("item {item}: received by the sender from {sender:?} (entry {seq}) and sent on to another authority without that authority's consent")]
    OnwardTransferWithoutConsent {
        /// The item.
        item: String,
        /// The authority the sender received it from.
        sender: String,
        /// The `received` entry.
        seq: u64,
    },
    /// Entry 0 (`ledger-initialised`) is missing or names another log key.
    #[error("ledger-initialised entry {}", if .log_key.is_empty() { "is not included".to_owned() } else { format!("names log key {}, not the statement's", .log_key) })]
    LedgerKeyMismatch {
        /// The log key entry 0 names (empty when entry 0 is absent).
        log_key: String,
    },
    /// An entry has no inclusion proof.
    #[error("no inclusion proof for this entry")]
    ProofMissing,
    /// A proof file for an entry the package does not include.
    #[error("proof for an entry the package does not include")]
    ProofOrphan,
    /// A proof is for another leaf index or tree size than expected.
    #[error("proof is for leaf {leaf_index} of a {tree_size}-entry tree, expected leaf {seq} of {expected_size}")]
    ProofShape {
        /// The proof's leaf index.
        leaf_index: u64,
        /// The proof's tree size.
        tree_size: u64,
        /// The entry's seq.
        seq: u64,
        /// The checkpoint's size.
        expected_size: u64,
    },
    /// A proof does not lead from the entry's leaf hash to the checkpoint root.
    #[error("inclusion proof does not verify: {error}")]
    ProofInvalid {
        /// Why.
        error: String,
    },
    /// The checkpoint note is not signed by the sender's log key.
    #[error("checkpoint is not validly signed by the sender log key: {error}")]
    CheckpointSignature {
        /// Why.
        error: String,
    },
}

/// One problem with a package, naming the file (bag path, or archive entry name for ZIP
/// structure findings), the item a payload file belongs to, and the ledger seq it
/// concerns.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The part of the package.
    pub group: FindingGroup,
    /// The file at fault (`path` in JSON).
    #[serde(rename = "path", skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The item the package statement says the payload file belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// The ledger entry at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// What is wrong.
    #[serde(flatten)]
    pub kind: FindingKind,
}

impl Finding {
    /// A finding about `file`.
    pub fn file(group: FindingGroup, file: impl Into<String>, kind: FindingKind) -> Finding {
        Finding {
            group,
            file: Some(file.into()),
            item: None,
            seq: None,
            kind,
        }
    }

    /// A finding about the entry `seq` in `file`.
    pub fn event(
        group: FindingGroup,
        file: impl Into<String>,
        seq: u64,
        kind: FindingKind,
    ) -> Finding {
        Finding {
            group,
            file: Some(file.into()),
            item: None,
            seq: Some(seq),
            kind,
        }
    }

    /// A finding about the package as a whole.
    pub fn package(group: FindingGroup, kind: FindingKind) -> Finding {
        Finding {
            group,
            file: None,
            item: None,
            seq: None,
            kind,
        }
    }
}

impl Finding {
    /// What the finding means for the evidence, when it is about a payload file: its
    /// bytes altered (a CRC-32, size or digest that does not match what was sealed), the
    /// file missing, or a file added that no item accounts for.
    pub fn payload_change(&self) -> Option<PayloadChange> {
        let path = self.file.as_deref()?;
        if !crate::layout::is_payload(path) {
            return None;
        }
        match &self.kind {
            FindingKind::Integrity(_)
            | FindingKind::ItemMismatch { .. }
            | FindingKind::Bag(
                BagFinding::DigestMismatch { .. } | BagFinding::ZipEntryIntegrity { .. },
            ) => Some(PayloadChange::Altered),
            FindingKind::Bag(BagFinding::MissingFile { .. })
            | FindingKind::PayloadNotInStatement {
                in_payload: false, ..
            } => Some(PayloadChange::Missing),
            FindingKind::Bag(BagFinding::FileNotInManifest { .. })
            | FindingKind::PayloadNotInStatement {
                in_payload: true, ..
            } => Some(PayloadChange::Added),
            _ => None,
        }
    }

    /// The technical account: the group, the file (for ZIP findings the archive entry),
    /// the entry and what the check found (`zip: …/call-log.csv: CRC-32 is …`).
    pub fn detail(&self) -> String {
        Detail(self).to_string()
    }

    /// The payload file's path inside its item (`call-log.csv` for
    /// `data/CASE-1/call-log.csv`), or the bag path when no item is known.
    fn name_in_item<'a>(&self, path: &'a str) -> &'a str {
        self.item
            .as_deref()
            .and_then(|item| {
                path.strip_prefix(crate::layout::DATA_DIR)?
                    .strip_prefix(item)?
                    .strip_prefix('/')
            })
            .filter(|name| !name.is_empty())
            .unwrap_or(path)
    }
}

/// A finding in plain words when it is about the evidence itself, naming the file and its
/// item; otherwise as [`Finding::detail`].
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (Some(change), Some(path)) = (self.payload_change(), self.file.as_deref()) else {
            return Detail(self).fmt(f);
        };
        let name = self.name_in_item(path);
        if let (FindingKind::ItemMismatch { item, field, .. }, PayloadChange::Altered) =
            (&self.kind, change)
        {
            return write!(
                f,
                "`{name}` of item {item} was altered: its {field} is not the one the sender's statement records"
            );
        }
        match (change, self.item.as_deref()) {
            (PayloadChange::Altered, Some(item)) => write!(
                f,
                "`{name}` of item {item} was altered: its content is not what the sender sealed"
            ),
            (PayloadChange::Altered, None) => write!(
                f,
                "`{name}` was altered: its content is not what the sender sealed"
            ),
            (PayloadChange::Missing, Some(item)) => {
                write!(f, "`{name}` of item {item} is missing from the package")
            }
            (PayloadChange::Missing, None) => write!(f, "`{name}` is missing from the package"),
            (PayloadChange::Added, _) => write!(
                f,
                "`{path}` was added to the package: it belongs to no item the sender sealed"
            ),
        }
    }
}

/// The technical form of a finding: group, file, entry, what the check found.
struct Detail<'a>(&'a Finding);

impl fmt::Display for Detail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let finding = self.0;
        write!(f, "{}: ", finding.group)?;
        // ZIP and BagIt messages name their file already.
        let named = matches!(
            finding.kind,
            FindingKind::Zip(_) | FindingKind::Bag(_) | FindingKind::Integrity(_)
        );
        let file = if named { None } else { finding.file.as_ref() };
        match (file, finding.seq) {
            (Some(file), Some(seq)) => write!(f, "{file} (entry {seq}): ")?,
            (Some(file), None) => write!(f, "{file}: ")?,
            (None, Some(seq)) => write!(f, "entry {seq}: ")?,
            (None, None) => {}
        }
        write!(f, "{}", finding.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_group_file_and_entry() {
        let f = Finding::event(
            FindingGroup::Proofs,
            "custody/proofs/4.json",
            4,
            FindingKind::ProofMissing,
        );
        assert_eq!(
            f.to_string(),
            "proofs: custody/proofs/4.json (entry 4): no inclusion proof for this entry"
        );
        let f = Finding::package(FindingGroup::Signature, FindingKind::NoTrustedSignature);
        assert_eq!(
            f.to_string(),
            "signature: no valid signature by a trusted key"
        );
    }

    #[test]
    fn fail_payload_findings_say_what_happened_to_which_item() {
        let mut f = Finding::file(
            FindingGroup::Statement,
            "data/E-1/sub/a.txt",
            FindingKind::ItemMismatch {
                item: "E-1".into(),
                path: "data/E-1/sub/a.txt".into(),
                field: ItemField::Sha256,
                stated: "aa".into(),
                found: "bb".into(),
            },
        );
        f.item = Some("E-1".into());
        assert_eq!(f.payload_change(), Some(PayloadChange::Altered));
        assert_eq!(
            f.to_string(),
            "`sub/a.txt` of item E-1 was altered: its SHA-256 is not the one the sender's statement records"
        );
        assert!(f
            .detail()
            .starts_with("statement: data/E-1/sub/a.txt: item E-1"));

        // Without an item (no statement to say whose it is), the bag path is named.
        let missing = Finding::file(
            FindingGroup::Statement,
            "data/E-2/b.txt",
            FindingKind::PayloadNotInStatement {
                path: "data/E-2/b.txt".into(),
                in_payload: false,
            },
        );
        assert_eq!(
            missing.to_string(),
            "`data/E-2/b.txt` is missing from the package"
        );

        // A tag file is never evidence: its finding keeps the technical form.
        let tag = Finding::file(
            FindingGroup::Statement,
            "custody/package.json",
            FindingKind::NotCanonical,
        );
        assert_eq!(tag.payload_change(), None);
        assert_eq!(tag.to_string(), tag.detail());
    }

    #[test]
    fn json_shape_is_group_path_seq_code_detail() {
        let f = Finding::event(
            FindingGroup::Events,
            "custody/events/2.json",
            2,
            FindingKind::EventSeqMismatch { found: 3 },
        );
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            serde_json::json!({
                "group": "events",
                "path": "custody/events/2.json",
                "seq": 2,
                "code": "event_seq_mismatch",
                "detail": {"found": 3},
            })
        );
    }
}
