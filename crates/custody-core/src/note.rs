//! The C2SP signed-note format, byte-compatible with Go's `golang.org/x/mod/sumdb/note`.
//!
//! A note is UTF-8 text ending in a newline, a blank line, then one or more signature
//! lines `— <name> <base64(keyid ‖ signature)>`.

use crate::keys::{Identity, VerifierKey};

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The signer's key name.
    pub name: String,
    /// The 4-byte key ID.
    pub key_id: [u8; 4],
    /// The signature bytes after the key ID (64 bytes for Ed25519, 72 for a cosignature).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The line as it appears in the note, without the trailing newline.
    pub fn to_line(&self) -> String {
        todo!()
    }
}

/// A signed note: text plus signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The signed text, ending in a newline.
    pub text: String,
    /// Every signature line, in order.
    pub signatures: Vec<NoteSignature>,
}

/// A note that cannot be parsed, signed or verified.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The bytes are not a well-formed signed note.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// A signature by a known key did not verify.
    #[error("invalid signature by {name}")]
    InvalidSignature {
        /// The key name.
        name: String,
    },
    /// No signature from any of the given keys.
    #[error("note has no signature from a known key")]
    UnverifiedNote,
    /// Text is not signable (not ending in newline, control characters, …).
    #[error("text cannot be signed: {0}")]
    BadText(&'static str),
}

impl Note {
    /// Parses a signed note (at most 100 signatures, as Go does).
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        let _ = bytes;
        todo!()
    }
    /// Serialises text, blank line, signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        todo!()
    }
    /// Creates a note signed by each identity (Ed25519, key type 0x01).
    pub fn sign(text: &str, signers: &[&Identity]) -> Result<Note, NoteError> {
        let _ = (text, signers);
        todo!()
    }
    /// Adds a signature line (e.g. a cosignature) without touching the text.
    pub fn add_signature(&mut self, signature: NoteSignature) {
        self.signatures.push(signature);
    }
    /// Verifies against `known` keys: signatures whose name and key ID match no known key are
    /// ignored; one that matches a known key but fails is an error; at least one must verify.
    /// Returns the keys that verified. Cosignature keys (type 0x04) are checked with the
    /// cosignature message (see [`crate::checkpoint`]).
    pub fn verify(&self, known: &[VerifierKey]) -> Result<Vec<VerifierKey>, NoteError> {
        let _ = known;
        todo!()
    }
}
