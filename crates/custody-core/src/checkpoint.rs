//! C2SP tlog-checkpoint bodies and tlog-cosignature/v1 cosignatures.
//!
//! A checkpoint body is `origin\n`, the tree size in decimal `\n`, the base64 root hash `\n`,
//! then optional extension lines. It travels as a signed note.

use crate::keys::{Identity, VerifierKey};
use crate::merkle::Hash;
use crate::note::{Note, NoteError, NoteSignature};

/// A checkpoint body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line (unique name of the log).
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// Merkle tree hash of those leaves.
    pub root: Hash,
    /// Extension lines, without their newlines.
    pub extensions: Vec<String>,
}

/// A checkpoint that cannot be parsed or verified.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The body breaks the tlog-checkpoint grammar.
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    /// The note around it failed.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The checkpoint's origin is not the one expected.
    #[error("checkpoint origin {found:?} is not the expected {expected:?}")]
    WrongOrigin {
        /// Expected origin.
        expected: String,
        /// Origin found.
        found: String,
    },
}

impl Checkpoint {
    /// The body text.
    pub fn body(&self) -> String {
        todo!()
    }
    /// Parses a body.
    pub fn parse_body(text: &str) -> Result<Checkpoint, CheckpointError> {
        let _ = text;
        todo!()
    }
    /// Signs the body as a note.
    pub fn sign(&self, signers: &[&Identity]) -> Result<Note, CheckpointError> {
        let _ = signers;
        todo!()
    }
    /// Parses a signed checkpoint note and verifies it against `known`; returns the body,
    /// the note and the keys that verified.
    pub fn open(
        bytes: &[u8],
        known: &[VerifierKey],
    ) -> Result<(Checkpoint, Note, Vec<VerifierKey>), CheckpointError> {
        let _ = (bytes, known);
        todo!()
    }
}

/// The message a tlog-cosignature/v1 signs: `"cosignature/v1\ntime " ‖ timestamp ‖ "\n" ‖ body`.
pub fn cosignature_message(body: &str, timestamp: u64) -> Vec<u8> {
    let _ = (body, timestamp);
    todo!()
}

/// Makes a cosignature line over `checkpoint` at `timestamp` (seconds since the Unix epoch):
/// signature bytes are `timestamp (8 bytes, big-endian) ‖ Ed25519 signature`, key ID from key
/// type 0x04.
pub fn cosign(checkpoint: &Checkpoint, witness: &Identity, timestamp: u64) -> NoteSignature {
    let _ = (checkpoint, witness, timestamp);
    todo!()
}

/// Verifies one cosignature line against a cosigner key (type 0x04); returns its timestamp.
pub fn verify_cosignature(
    checkpoint: &Checkpoint,
    signature: &NoteSignature,
    key: &VerifierKey,
) -> Result<u64, CheckpointError> {
    let _ = (checkpoint, signature, key);
    todo!()
}
