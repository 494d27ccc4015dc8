//! The errors a ledger operation can end in.

use std::path::PathBuf;

use crate::event::EventKind;

/// Why a ledger operation failed. Append refusals leave the ledger unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file is a SQLite database but not a Custody ledger.
    #[error("{path}: not a Custody ledger (application_id {found:#010x})")]
    NotALedger {
        /// The ledger file.
        path: PathBuf,
        /// The application_id found.
        found: i64,
    },
    /// The ledger was written by a newer Custody.
    #[error("ledger written by a newer Custody (schema {found}); upgrade (this one supports schema {supported})")]
    NewerSchema {
        /// The schema version found.
        found: i64,
        /// The newest schema this build reads.
        supported: i64,
    },
    /// `init` on a path that already holds a file.
    #[error("{path}: already exists; refusing to initialise over it")]
    AlreadyExists {
        /// The ledger file.
        path: PathBuf,
    },
    /// The ledger file is missing.
    #[error("{path}: no ledger here (run `custody init`)")]
    NoLedger {
        /// The ledger file.
        path: PathBuf,
    },
    /// The entry an event would be stored as is longer than
    /// [`crate::ledger::MAX_ENTRY_BYTES`]; nothing was written.
    #[error("event for seq {seq}: its entry would be {size} bytes, more than the {limit} a ledger entry may hold")]
    EntryTooLarge {
        /// The seq it would have had.
        seq: u64,
        /// Its length in bytes.
        size: u64,
        /// [`crate::ledger::MAX_ENTRY_BYTES`].
        limit: u64,
    },
    /// A SQLite failure.
    #[error("{path}: SQLite: {source}")]
    Sqlite {
        /// The ledger file.
        path: PathBuf,
        /// The underlying error.
        source: rusqlite::Error,
    },
    /// A PostgreSQL failure (connection, query or commit).
    #[error("{location}: PostgreSQL: {source}")]
    Postgres {
        /// The ledger's database URL, without its password.
        location: PathBuf,
        /// The underlying error.
        source: postgres::Error,
    },
    /// The PostgreSQL password file (`PGPASSFILE`, `~/.pgpass`) exists but cannot be used.
    #[error("password file {path}: {problem}")]
    PassFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A Merkle tree hash the proofs need is missing from the store or is not 32 bytes
    /// long (tampering or corruption; `verify` says more).
    #[error("ledger tree node at level {level}, index {index} is missing or malformed")]
    MissingTreeNode {
        /// The tree level (0: a leaf hash).
        level: u32,
        /// The node's index at that level.
        index: u64,
    },
    /// A stored row that cannot be read back (tampering or corruption; `verify` says more).
    #[error("ledger entry {seq} is unreadable: {reason}")]
    CorruptEntry {
        /// The sequence number.
        seq: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// An index row that cannot be read back (run `reindex`).
    #[error("index table {table}: row {key:?} is malformed; run reindex")]
    CorruptIndex {
        /// The table.
        table: &'static str,
        /// The row's key.
        key: String,
    },
    /// A meta value is missing or malformed.
    #[error("ledger meta value {key:?} is missing or malformed")]
    CorruptMeta {
        /// The meta key.
        key: &'static str,
    },
    /// The verified state could not be serialised for a snapshot.
    #[error("the ledger's state could not be serialised for a snapshot")]
    SnapshotEncoding,
    /// The serialised state is longer than a snapshot may be; no snapshot was written.
    #[error("the ledger's state at size {size} is {bytes} bytes, more than a snapshot may hold ({limit}); no snapshot was written")]
    SnapshotTooLarge {
        /// Entries covered.
        size: u64,
        /// Length of the serialised state.
        bytes: u64,
        /// [`crate::snapshot::MAX_SNAPSHOT_BYTES`].
        limit: u64,
    },
    /// The given log key is not the ledger's.
    #[error("the log key given ({given}) is not this ledger's log key ({expected})")]
    WrongLogKey {
        /// The ledger's log verifier key.
        expected: String,
        /// The verifier key of the key given.
        given: String,
    },
    /// An origin line that cannot be used in a checkpoint.
    #[error("invalid origin {origin:?}: must be non-empty printable text without newlines")]
    InvalidOrigin {
        /// The origin given.
        origin: String,
    },
    /// A time field that is not RFC 3339.
    #[error("{field} {value:?} is not an RFC 3339 time")]
    InvalidTime {
        /// Which field.
        field: &'static str,
        /// The text.
        value: String,
    },
    /// A field that is missing, malformed or not allowed for the kind.
    #[error("{kind} event: field {field}: {reason}")]
    InvalidField {
        /// The event kind.
        kind: EventKind,
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// `ledger-initialised` anywhere but seq 0, or something else at seq 0.
    #[error("{kind} cannot be recorded at seq {seq}")]
    OutOfPlace {
        /// The event kind.
        kind: EventKind,
        /// Where it would go.
        seq: u64,
    },
    /// The signer is not an enrolled actor.
    #[error("signer {key} is not an enrolled actor")]
    UnknownActor {
        /// The key (hex).
        key: String,
    },
    /// The signer's key was revoked.
    #[error("signer {key} was revoked at seq {revoked_seq}")]
    RevokedActor {
        /// The key (hex).
        key: String,
        /// The revoking event.
        revoked_seq: u64,
    },
    /// The signer's key was rotated out.
    #[error("signer {key} was replaced by another key at seq {rotated_seq}")]
    RotatedActor {
        /// The key (hex).
        key: String,
        /// The rotation event.
        rotated_seq: u64,
    },
    /// A key enrolled twice.
    #[error("key {key} is already enrolled")]
    DuplicateActor {
        /// The key (hex).
        key: String,
    },
    /// A case opened twice.
    #[error("case {case:?} is already open")]
    DuplicateCase {
        /// The case reference.
        case: String,
    },
    /// An item created twice.
    #[error("item {item:?} already exists (created at seq {created_seq})")]
    DuplicateItem {
        /// The item id.
        item: String,
        /// Where it was created.
        created_seq: u64,
    },
    /// An event names an item nobody acquired.
    #[error("item {item:?} has not been acquired")]
    ItemNotAcquired {
        /// The item id.
        item: String,
    },
    /// After `destroyed`, only notes.
    #[error("item {item:?} was destroyed at seq {destroyed_seq}; only notes may follow")]
    ItemDestroyed {
        /// The item id.
        item: String,
        /// The destruction event.
        destroyed_seq: u64,
    },
    /// A received item sealed or transferred to an authority other than its sender, with
    /// no `onward-transfer-authorised` entry by the sender naming that authority.
    #[error(
        "item {item:?} was received from {sender:?}: sending it to {to:?} needs the sender's \
         consent first (an onward-transfer-authorised entry naming {to:?})"
    )]
    OnwardTransferNotAuthorised {
        /// The item id.
        item: String,
        /// The authority it would go to.
        to: String,
        /// The authority that sent it.
        sender: String,
    },
    /// An `onward-transfer-authorised` entry whose consenting authority is not the item's
    /// sender.
    #[error("item {item:?} was received from {sender:?}; consent to its onward transfer must come from that authority, not {from:?}")]
    ConsentNotBySender {
        /// The item id.
        item: String,
        /// The authority that sent it.
        sender: String,
        /// The authority named as consenting.
        from: String,
    },
    /// A check-out of an item already out.
    #[error("item {item:?} is already checked out to {holder}")]
    AlreadyCheckedOut {
        /// The item id.
        item: String,
        /// Its holder.
        holder: String,
    },
    /// A check-in of an item that is not out, or a check-out of one not in store.
    #[error("item {item:?} is {state}, which does not allow {kind}")]
    WrongItemState {
        /// The item id.
        item: String,
        /// Its state.
        state: &'static str,
        /// The event refused.
        kind: EventKind,
    },
    /// `acquired` into a case that no `case-opened` entry opened.
    #[error("case {case} was never opened in this ledger; evidence is acquired into an open case")]
    CaseNotOpened {
        /// The case reference.
        case: String,
    },
    /// An event about an item names another case than the one the item belongs to.
    #[error("item {item} belongs to case {item_case}, but the event names case {event_case}")]
    WrongCase {
        /// The item id (for `derived`: the parent).
        item: String,
        /// The case the item was created under.
        item_case: String,
        /// The case the event names.
        event_case: String,
    },
    /// A hand-over (`transferred`, `returned`) that does not say to whom.
    #[error("{kind} event without a recipient: the ledger must say to whom the items went")]
    MissingRecipient {
        /// The event kind.
        kind: EventKind,
    },
    /// A legal step (preservation, production order, MLA) without its legal authority.
    #[error("{kind} event without a legal authority: a legal step names the order, request or provision it rests on")]
    MissingAuthority {
        /// The event kind.
        kind: EventKind,
    },
    /// A revocation that would leave no active actor to sign anything, ever again.
    #[error("key {key} is the last active actor; revoking it would leave no key that may sign in this ledger")]
    LastActiveActor {
        /// The key (hex) the event would revoke.
        key: String,
    },
    /// The clock went back since the last entry.
    #[error("clock went backwards: last entry recorded at {last}, now {now}")]
    ClockWentBackwards {
        /// The previous entry's recorded time.
        last: String,
        /// The current time.
        now: String,
    },
    /// Claimed time in the future of the recorded time (beyond the skew allowance).
    #[error("claimed time {claimed} is after the recorded time {recorded} (more than 5 minutes)")]
    ClaimedInFuture {
        /// The claimed time.
        claimed: String,
        /// The recorded time.
        recorded: String,
    },
    /// Claimed time before the item's acquisition.
    #[error("claimed time {claimed} is before item {item:?} was acquired ({acquired})")]
    BackDated {
        /// The item id.
        item: String,
        /// The claimed time.
        claimed: String,
        /// The item's acquisition claimed time.
        acquired: String,
    },
    /// A sequence number beyond the ledger.
    #[error("seq {seq} is not in the ledger (size {size})")]
    NoSuchEntry {
        /// The number asked for.
        seq: u64,
        /// The ledger size.
        size: u64,
    },
    /// A proof could not be made.
    #[error("proof: {0}")]
    Proof(#[from] custody_core::merkle::ProofError),
    /// Canonical JSON failed (only for values that cannot be encoded).
    #[error(transparent)]
    Canonical(#[from] custody_core::canonical::CanonicalError),
    /// A checkpoint could not be signed or read.
    #[error(transparent)]
    Checkpoint(#[from] custody_core::checkpoint::CheckpointError),
    /// An imported outside checkpoint is for another log.
    #[error("outside checkpoint from {source_name:?} is not a checkpoint of this ledger: {error}")]
    ForeignCheckpoint {
        /// Where it came from.
        source_name: String,
        /// Why it was refused.
        #[source]
        error: custody_core::checkpoint::CheckpointError,
    },
    /// No checkpoint has been stored (an empty or damaged ledger).
    #[error("the ledger has no checkpoint")]
    NoCheckpoint,
    /// No signed checkpoint is stored for this tree size.
    #[error("no checkpoint at size {size} is stored (the ledger holds {ledger_size} entries; a checkpoint is signed after each append or batch)")]
    NoCheckpointAt {
        /// The size asked for.
        size: u64,
        /// Entries present.
        ledger_size: u64,
    },
    /// The checkpoint stored for this size is not the log's signed checkpoint of the
    /// verified entries.
    #[error("the checkpoint stored at size {size} does not verify against the log key and the entries: the ledger was altered (run `custody ledger verify`)")]
    BadStoredCheckpoint {
        /// The size.
        size: u64,
    },
    /// An entry the ledger's decisions would rest on does not verify; nothing was decided.
    #[error("{finding}; refusing to decide from this ledger (run `custody ledger verify`)")]
    UnverifiedEntry {
        /// What is wrong with the entry.
        finding: Box<crate::verify::LedgerFinding>,
    },
    /// The entries do not hash to the root of the newest checkpoint the log key signed.
    #[error("the entries do not match the log's signed checkpoint at size {size}: the ledger was altered; refusing to decide from it (run `custody ledger verify`)")]
    SignedCheckpointMismatch {
        /// The checkpoint's size.
        size: u64,
    },
    /// The newest checkpoint the log key signed covers more entries than the ledger holds.
    #[error("the log's signed checkpoint covers {size} entries but the ledger holds {ledger_size}: entries from seq {ledger_size} were removed")]
    SignedCheckpointAhead {
        /// The checkpoint's size.
        size: u64,
        /// Entries present.
        ledger_size: u64,
    },
    /// The ledger holds fewer entries than this open ledger already verified.
    #[error(
        "the ledger shrank from {verified} to {found} entries while open: entries were removed"
    )]
    LedgerShrank {
        /// Entries verified earlier.
        verified: u64,
        /// Entries present now.
        found: u64,
    },
    /// The log key last signed a checkpoint for more entries than the ledger now holds.
    #[error("the log key last signed a checkpoint of {signed_size} entries but the ledger holds {size}: entries were removed; refusing to sign")]
    SignerStateAhead {
        /// Size of the last checkpoint the log key signed.
        signed_size: u64,
        /// The tree it was asked to sign.
        size: u64,
    },
    /// The tree to sign does not extend the last checkpoint the log key signed.
    #[error("the ledger is not an extension of the last checkpoint the log key signed (size {signed_size}): entries before it were changed; refusing to sign")]
    SignerStateFork {
        /// Size of the last checkpoint the log key signed.
        signed_size: u64,
    },
    /// The signer's state file cannot be read, written or believed.
    #[error("log signer state {path}: {reason}")]
    SignerState {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        reason: SignerStateProblem,
    },
    /// A two-signature hand-over's receiving actor is not an enrolled key.
    #[error("receiving actor {key} is not an enrolled actor")]
    UnknownCosigner {
        /// The `to_actor` key (hex).
        key: String,
    },
    /// A two-signature hand-over's receiving actor was revoked or replaced.
    #[error("receiving actor {key} was revoked or replaced at seq {seq}")]
    InactiveCosigner {
        /// The `to_actor` key (hex).
        key: String,
        /// The revocation or rotation.
        seq: u64,
    },
    /// A two-signature hand-over's cosignature does not stand.
    #[error("hand-over for seq {seq}: {problem}")]
    Cosignature {
        /// The event's seq.
        seq: u64,
        /// What is wrong.
        problem: crate::event::CosignatureError,
    },
    /// The key offered to cosign a hand-over is not its receiving actor's (or the event
    /// names no receiving actor).
    #[error("hand-over for seq {seq}: the cosigner {given} is not the receiving actor ({})", expected.as_deref().unwrap_or("none named"))]
    WrongCosigner {
        /// The event's seq.
        seq: u64,
        /// The `to_actor` the event names.
        expected: Option<String>,
        /// The cosigner's key (hex).
        given: String,
    },
    /// A hand-over draft whose releaser's signature does not verify.
    #[error("hand-over for seq {seq}: the releasing actor's signature does not verify")]
    HandOverNotSigned {
        /// The event's seq.
        seq: u64,
    },
    /// An event submitted over HTTP that no longer fits the ledger: signed for another
    /// position, log or format, or with a `recorded_time` too far from the ledger's clock
    /// (fetch the next position and sign again).
    #[error("event signed for seq {seq} ({reason}); the ledger holds {size} entries: sign it again for the next position")]
    StalePosition {
        /// The seq it was signed for.
        seq: u64,
        /// Entries in the ledger now.
        size: u64,
        /// What does not fit.
        reason: &'static str,
    },
    /// An event submitted over HTTP whose signature does not verify under the actor it
    /// names.
    #[error("event for seq {seq}: its signature does not verify under the actor it names")]
    EventNotSigned {
        /// The seq it was signed for.
        seq: u64,
    },
    /// A signed hand-over draft that no longer fits the ledger: it was prepared for another
    /// position, log or format (someone appended since; prepare it again).
    #[error("hand-over draft for seq {seq} ({reason}); the ledger holds {size} entries: prepare it again")]
    StaleHandOver {
        /// The seq it was prepared for.
        seq: u64,
        /// Entries in the ledger now.
        size: u64,
        /// What does not fit.
        reason: &'static str,
    },
}

/// What is wrong with a log signer's state file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignerStateProblem {
    /// Reading or writing it failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Larger than [`crate::signer::MAX_SIGNER_STATE_BYTES`].
    #[error("larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// Not a regular file (a named pipe or a device would block or never end).
    #[error("not a regular file")]
    NotAFile,
    /// Not a checkpoint signed by this log key.
    #[error("not a checkpoint signed by this log key: {0}")]
    NotSigned(custody_core::checkpoint::CheckpointError),
    /// A checkpoint of another log.
    #[error("a checkpoint of log {found:?}, not {expected:?} (one log key, one ledger)")]
    OtherOrigin {
        /// This ledger's origin.
        expected: String,
        /// The origin in the state.
        found: String,
    },
}

impl StoreError {
    pub(crate) fn postgres(
        location: &std::path::Path,
    ) -> impl Fn(postgres::Error) -> StoreError + '_ {
        move |source| StoreError::Postgres {
            location: location.to_path_buf(),
            source,
        }
    }

    pub(crate) fn sqlite(path: &std::path::Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl StoreError {
    /// A short stable name for an append rule this error reports, or `None` when the error
    /// is not a rule refusal (I/O, schema, …). `verify` reports broken rules by this name.
    pub fn rule_name(&self) -> Option<&'static str> {
        Some(match self {
            StoreError::InvalidTime { .. } => "invalid-time",
            StoreError::InvalidField { .. } => "invalid-field",
            StoreError::OutOfPlace { .. } => "out-of-place",
            StoreError::UnknownActor { .. } => "unknown-actor",
            StoreError::RevokedActor { .. } => "revoked-actor",
            StoreError::RotatedActor { .. } => "rotated-actor",
            StoreError::DuplicateActor { .. } => "duplicate-actor",
            StoreError::DuplicateCase { .. } => "duplicate-case",
            StoreError::DuplicateItem { .. } => "duplicate-item",
            StoreError::ItemNotAcquired { .. } => "item-not-acquired",
            StoreError::ItemDestroyed { .. } => "item-destroyed",
            StoreError::AlreadyCheckedOut { .. } => "already-checked-out",
            StoreError::WrongItemState { .. } => "wrong-item-state",
            StoreError::ClockWentBackwards { .. } => "clock-went-backwards",
            StoreError::ClaimedInFuture { .. } => "claimed-in-future",
            StoreError::BackDated { .. } => "back-dated",
            StoreError::OnwardTransferNotAuthorised { .. } => "onward-transfer-not-authorised",
            StoreError::ConsentNotBySender { .. } => "consent-not-by-sender",
            StoreError::UnknownCosigner { .. } => "unknown-cosigner",
            StoreError::InactiveCosigner { .. } => "inactive-cosigner",
            StoreError::Cosignature { .. } => "cosignature",
            StoreError::WrongCosigner { .. } => "wrong-cosigner",
            StoreError::CaseNotOpened { .. } => "case-not-opened",
            StoreError::WrongCase { .. } => "wrong-case",
            StoreError::MissingRecipient { .. } => "missing-recipient",
            StoreError::MissingAuthority { .. } => "missing-authority",
            StoreError::LastActiveActor { .. } => "last-active-actor",
            _ => return None,
        })
    }
}

impl StoreError {
    /// A stable snake_case code naming what went wrong: the variant's name
    /// (`UnknownActor` → `unknown_actor`), as `custody serve` sends it in JSON refusals.
    pub fn code(&self) -> String {
        // The derived `Debug` output starts with the variant's name.
        let debug = format!("{self:?}");
        let name = debug
            .split(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap_or_default();
        let mut code = String::with_capacity(name.len() + 4);
        for (i, c) in name.chars().enumerate() {
            if c.is_ascii_uppercase() {
                if i > 0 {
                    code.push('_');
                }
                code.push(c.to_ascii_lowercase());
            } else {
                code.push(c);
            }
        }
        code
    }

    /// Whether the ledger refused the event by a rule of its own (the event, not the
    /// ledger, is at fault): every [`StoreError::rule_name`] error, an entry past the size
    /// limit, and an event that does not encode canonically.
    pub fn is_refusal(&self) -> bool {
        self.rule_name().is_some()
            || matches!(
                self,
                StoreError::EntryTooLarge { .. } | StoreError::Canonical(_)
            )
    }
}

#[cfg(test)]
mod code_tests {
    use super::*;

    #[test]
    fn codes_are_the_variant_names_in_snake_case() {
        assert_eq!(StoreError::NoCheckpoint.code(), "no_checkpoint");
        assert_eq!(
            StoreError::UnknownActor { key: "ab".into() }.code(),
            "unknown_actor"
        );
        assert_eq!(
            StoreError::EventNotSigned { seq: 1 }.code(),
            "event_not_signed"
        );
        assert_eq!(
            StoreError::Proof(custody_core::merkle::ProofError::IndexOutOfRange {
                index: 1,
                size: 0
            })
            .code(),
            "proof"
        );
    }
}
