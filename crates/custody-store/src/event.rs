//! Custody events: the signed records a ledger holds, one per Merkle leaf.
//!
//! An entry is the RFC 8785 canonical JSON of [`SignedEvent`]. The actor signs the canonical
//! JSON of the [`Event`] under [`custody_core::sign::CONTEXT_EVENT`]; the ledger fills in the
//! fields that bind the event to its place in the log (`v`, `origin`, `seq`, `actor`,
//! `recorded_time`) before the actor signs.

use custody_core::hash::{hex32, Digests};
use custody_core::keys::ActorInfo;
use serde::{Deserialize, Serialize};

/// The event format version this crate writes and reads.
pub const EVENT_VERSION: u32 = 1;

/// What happened. Serialised in kebab-case (`"checked-out"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum EventKind {
    /// Seq 0: the ledger is created and its first actor enrolled.
    LedgerInitialised,
    /// A new actor's key is enrolled.
    ActorEnrolled,
    /// An actor's key is replaced by a new one; the old key is invalid afterwards.
    KeyRotated,
    /// A key is revoked; it signs nothing afterwards.
    KeyRevoked,
    /// A case is opened.
    CaseOpened,
    /// Evidence is acquired: creates items.
    Acquired,
    /// Items are placed in the evidence store.
    Stored,
    /// Items leave the store with a holder.
    CheckedOut,
    /// Items come back to the store.
    CheckedIn,
    /// Items are examined.
    Examined,
    /// New items are derived from a parent item (copies, extractions): creates items.
    Derived,
    /// Items' digests are checked again.
    HashVerified,
    /// Items are sealed into a package.
    Sealed,
    /// Items are handed to another authority.
    Transferred,
    /// Items are received from another authority: creates unknown items.
    Received,
    /// A receipt for a transfer is acknowledged.
    Acknowledged,
    /// Items come back from another authority.
    Returned,
    /// Items are destroyed; only notes may follow.
    Destroyed,
    /// A free-text note.
    Note,
    /// Preservation of data is requested.
    PreservationRequested,
    /// A preservation is extended.
    PreservationExtended,
    /// A production order is issued or served.
    ProductionOrder,
    /// A mutual legal assistance request is sent.
    MlaRequestSent,
    /// A mutual legal assistance request is received.
    MlaRequestReceived,
    /// A mutual legal assistance request is executed.
    MlaExecuted,
    /// The authority that sent received items consents to their transfer to a third
    /// authority (`from`: the consenting authority, `to`: the authority it consents to,
    /// `legal_authority`: the consent's reference).
    OnwardTransferAuthorised,
    /// Items (or information from them) are disclosed to a named third party (`to`).
    Disclosed,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 27] = [
        EventKind::LedgerInitialised,
        EventKind::ActorEnrolled,
        EventKind::KeyRotated,
        EventKind::KeyRevoked,
        EventKind::CaseOpened,
        EventKind::Acquired,
        EventKind::Stored,
        EventKind::CheckedOut,
        EventKind::CheckedIn,
        EventKind::Examined,
        EventKind::Derived,
        EventKind::HashVerified,
        EventKind::Sealed,
        EventKind::Transferred,
        EventKind::Received,
        EventKind::Acknowledged,
        EventKind::Returned,
        EventKind::Destroyed,
        EventKind::Note,
        EventKind::PreservationRequested,
        EventKind::PreservationExtended,
        EventKind::ProductionOrder,
        EventKind::MlaRequestSent,
        EventKind::MlaRequestReceived,
        EventKind::MlaExecuted,
        EventKind::OnwardTransferAuthorised,
        EventKind::Disclosed,
    ];

    /// The kebab-case name used in entries.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::LedgerInitialised => "ledger-initialised",
            EventKind::ActorEnrolled => "actor-enrolled",
            EventKind::KeyRotated => "key-rotated",
            EventKind::KeyRevoked => "key-revoked",
            EventKind::CaseOpened => "case-opened",
            EventKind::Acquired => "acquired",
            EventKind::Stored => "stored",
            EventKind::CheckedOut => "checked-out",
            EventKind::CheckedIn => "checked-in",
            EventKind::Examined => "examined",
            EventKind::Derived => "derived",
            EventKind::HashVerified => "hash-verified",
            EventKind::Sealed => "sealed",
            EventKind::Transferred => "transferred",
            EventKind::Received => "received",
            EventKind::Acknowledged => "acknowledged",
            EventKind::Returned => "returned",
            EventKind::Destroyed => "destroyed",
            EventKind::Note => "note",
            EventKind::PreservationRequested => "preservation-requested",
            EventKind::PreservationExtended => "preservation-extended",
            EventKind::ProductionOrder => "production-order",
            EventKind::MlaRequestSent => "mla-request-sent",
            EventKind::MlaRequestReceived => "mla-request-received",
            EventKind::MlaExecuted => "mla-executed",
            EventKind::OnwardTransferAuthorised => "onward-transfer-authorised",
            EventKind::Disclosed => "disclosed",
        }
    }

    /// Parses a kebab-case name.
    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Kinds that create the items they name.
    pub fn creates_items(self) -> bool {
        matches!(
            self,
            EventKind::Acquired | EventKind::Derived | EventKind::Received
        )
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an examination or hash check passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckResult {
    /// The check passed.
    Pass,
    /// The check failed.
    Fail,
}

/// One file of an acquired directory.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceFile {
    /// Path relative to the acquired directory, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lower-case hex.
    #[serde(with = "hex32")]
    pub sha256: [u8; 32],
    /// BLAKE3, lower-case hex.
    #[serde(with = "hex32")]
    pub blake3: [u8; 32],
}

/// What was acquired: a file, or a directory as one item listing its files.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Size in bytes (for a directory: the sum of the files' sizes).
    pub size: u64,
    /// SHA-256 of the file (for a directory: of the canonical JSON of `files`).
    #[serde(with = "hex32")]
    pub sha256: [u8; 32],
    /// BLAKE3 of the file (for a directory: of the canonical JSON of `files`).
    #[serde(with = "hex32")]
    pub blake3: [u8; 32],
    /// The file or directory name as the investigator gave it.
    pub source_path: String,
    /// For a directory: every file, sorted by path bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<EvidenceFile>>,
}

impl Evidence {
    /// The size and digests alone.
    pub fn digests(&self) -> Digests {
        Digests {
            size: self.size,
            sha256: self.sha256,
            blake3: self.blake3,
        }
    }
}

/// The kind-specific fields of an event; each is optional and omitted when absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventFields {
    /// Where it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The legal authority for it (warrant, order, request reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_authority: Option<String>,
    /// Case title (`case-opened`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// From whom: an actor key (hex) or a free-text authority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// To whom: an actor key (hex) or a free-text authority. For `checked-out`, the holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// SHA-256 (hex) of a package file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_digest: Option<String>,
    /// Tool used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// Version of the tool used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_version: Option<String>,
    /// Digests expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Digests>,
    /// Digests found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found: Option<Digests>,
    /// Outcome of a check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<CheckResult>,
    /// Parent item (`derived`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// What was acquired (`acquired`, and optionally `derived` / `received`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// Who is enrolled (`ledger-initialised`, `actor-enrolled`, optionally `key-rotated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_info: Option<ActorInfo>,
    /// The subject key (hex): enrolled, new key of a rotation, or revoked key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// The log's C2SP verifier key (`ledger-initialised`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_key: Option<String>,
    /// A signed checkpoint note (`received`, `acknowledged`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// SHA-256 (hex) of the encrypted file a package travelled as (`sealed`, `transferred`,
    /// `received`); `package_digest` is then the plaintext package's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_digest: Option<String>,
    /// The conditions a received package attached to its items (`received`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<crate::conditions::TransferConditions>,
    /// How items were destroyed (`destroyed`, required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// A custody event as signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Format version ([`EVENT_VERSION`]).
    pub v: u32,
    /// The ledger's origin: binds the event to one log.
    pub origin: String,
    /// Leaf index: binds the event to its position.
    pub seq: u64,
    /// What happened.
    pub kind: EventKind,
    /// The signer's Ed25519 public key, lower-case hex.
    pub actor: String,
    /// When the actor says it happened (RFC 3339, original offset).
    pub claimed_time: String,
    /// When the ledger recorded it (RFC 3339, UTC, `Z`).
    pub recorded_time: String,
    /// Case reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// Item ids concerned.
    pub items: Vec<String>,
    /// Kind-specific fields.
    #[serde(flatten)]
    pub fields: EventFields,
}

/// An entry: an event and its signature (128 lower-case hex digits).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedEvent {
    /// The event.
    pub event: Event,
    /// Ed25519 signature by `event.actor` over `CONTEXT_EVENT ‖ 0x00 ‖ canonical(event)`.
    pub signature: String,
}

/// What an actor asks the ledger to record; the ledger fills in the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventDraft {
    /// What happened.
    pub kind: EventKind,
    /// Case reference.
    pub case: Option<String>,
    /// Item ids concerned.
    pub items: Vec<String>,
    /// When it happened, RFC 3339 with the actor's offset.
    pub claimed_time: String,
    /// Kind-specific fields.
    pub fields: EventFields,
}

impl EventDraft {
    /// A draft with no case, no items and no fields.
    pub fn new(kind: EventKind, claimed_time: impl Into<String>) -> Self {
        EventDraft {
            kind,
            case: None,
            items: Vec::new(),
            claimed_time: claimed_time.into(),
            fields: EventFields::default(),
        }
    }

    /// Sets the case.
    pub fn case(mut self, case: impl Into<String>) -> Self {
        self.case = Some(case.into());
        self
    }

    /// Adds an item.
    pub fn item(mut self, item: impl Into<String>) -> Self {
        self.items.push(item.into());
        self
    }

    /// Replaces the kind-specific fields.
    pub fn fields(mut self, fields: EventFields) -> Self {
        self.fields = fields;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialise_kebab_case_and_round_trip() {
        for kind in EventKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<EventKind>(&json).unwrap(), kind);
            assert_eq!(EventKind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::from_name("checked_out"), None);
    }

    #[test]
    fn absent_fields_are_omitted() {
        let event = Event {
            v: 1,
            origin: "example.org/ledger".into(),
            seq: 3,
            kind: EventKind::Note,
            actor: "00".repeat(32),
            claimed_time: "2026-01-02T03:04:05+01:00".into(),
            recorded_time: "2026-01-02T02:04:06Z".into(),
            case: None,
            items: vec![],
            fields: EventFields {
                notes: Some("n".into()),
                ..EventFields::default()
            },
        };
        let json = serde_json::to_value(&event).unwrap();
        let object = json.as_object().unwrap();
        assert!(!object.contains_key("case"));
        assert!(!object.contains_key("place"));
        assert_eq!(object["notes"], "n");
        assert_eq!(object["kind"], "note");
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn fail_unknown_field_does_not_survive_re_encoding() {
        // Flattened fields cannot deny unknown keys at parse time; verification re-encodes
        // every entry and requires the exact bytes back, which is where this is rejected.
        let text = r#"{"actor":"aa","claimed_time":"t","items":[],"kind":"note","origin":"o","recorded_time":"t","seq":0,"surprise":1,"v":1}"#;
        let parsed: Event = serde_json::from_str(text).unwrap();
        let again = custody_core::canonical::to_canonical_vec(&parsed).unwrap();
        assert_ne!(again, text.as_bytes());
        assert!(!String::from_utf8(again).unwrap().contains("surprise"));
    }
}
