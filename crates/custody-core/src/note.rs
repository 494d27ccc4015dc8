//! The C2SP signed-note format, byte-compatible with Go's `golang.org/x/mod/sumdb/note`.
//!
//! A note is UTF-8 text ending in a newline, a blank line, then one or more signature
//! lines `— <name> <base64(keyid ‖ signature)>`.

use base64::Engine;

use crate::keys::{Identity, KeyType, VerifierKey};

/// At most this many signature lines are read (Go's limit; the spec asks for at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// The prefix of every signature line: U+2014 EM DASH, then a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Standard base64 with padding; like Go's `base64.StdEncoding`, unused trailing bits are
/// tolerated when decoding.
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

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
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id);
        raw.extend_from_slice(&self.signature);
        format!("{SIGNATURE_PREFIX}{} {}", self.name, BASE64.encode(raw))
    }

    /// Whether this line claims to be by `key` (same name and key ID).
    pub fn is_by(&self, key: &VerifierKey) -> bool {
        self.name == key.name && self.key_id == key.key_id()
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
    /// A signature line is not well formed.
    #[error("malformed note: signature line {line}: {reason}")]
    MalformedSignature {
        /// 1-based number of the signature line.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
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
    /// Two of the known keys share a name and key ID, so a signature cannot be attributed.
    #[error("ambiguous known keys: more than one is named {name} with key ID {key_id}")]
    AmbiguousKey {
        /// The key name.
        name: String,
        /// The key ID (hex).
        key_id: String,
    },
}

/// Why `text` is not allowed in a note, if it is not: only newline among the ASCII controls.
fn text_problem(text: &str) -> Option<&'static str> {
    if text.chars().any(|c| c < ' ' && c != '\n') {
        Some("contains a control character other than newline")
    } else {
        None
    }
}

impl Note {
    /// Parses a signed note (at most 100 signatures, as Go does).
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        let all =
            std::str::from_utf8(bytes).map_err(|_| NoteError::Malformed("not valid UTF-8"))?;
        if let Some(reason) = text_problem(all) {
            return Err(NoteError::Malformed(reason));
        }
        let split = all
            .rfind("\n\n")
            .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let (text, block) = (&all[..split + 1], &all[split + 2..]);
        if block.is_empty() {
            return Err(NoteError::Malformed("no signature lines"));
        }
        if !block.ends_with('\n') {
            return Err(NoteError::Malformed(
                "the last signature line does not end in a newline",
            ));
        }
        let mut signatures = Vec::new();
        for (index, line) in block[..block.len() - 1].split('\n').enumerate() {
            if index == MAX_SIGNATURES {
                return Err(NoteError::Malformed("more than 100 signature lines"));
            }
            signatures.push(parse_signature_line(index + 1, line)?);
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Serialises text, blank line, signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(self.text.len() + 1 + 100 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for signature in &self.signatures {
            out.push_str(&signature.to_line());
            out.push('\n');
        }
        out.into_bytes()
    }

    /// Creates a note signed by each identity (Ed25519, key type 0x01).
    pub fn sign(text: &str, signers: &[&Identity]) -> Result<Note, NoteError> {
        if !text.ends_with('\n') {
            return Err(NoteError::BadText("it does not end in a newline"));
        }
        if let Some(reason) = text_problem(text) {
            return Err(NoteError::BadText(reason));
        }
        let signatures = signers
            .iter()
            .map(|signer| {
                let key = signer.verifier_key();
                NoteSignature {
                    key_id: key.key_id(),
                    name: key.name,
                    signature: signer.sign_raw(text.as_bytes()).to_bytes().to_vec(),
                }
            })
            .collect();
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Adds a signature line (e.g. a cosignature) without touching the text.
    pub fn add_signature(&mut self, signature: NoteSignature) {
        self.signatures.push(signature);
    }

    /// Verifies against `known` keys: signatures whose name and key ID match no known key are
    /// ignored; one that matches a known key but fails is an error; at least one must verify.
    /// Returns the keys that verified. Cosignature keys (type 0x04) are checked with the
    /// cosignature message (see [`crate::checkpoint`]).
    ///
    /// As in Go's `note.Open`, only the first line per known key is checked; later lines by
    /// the same key are ignored.
    pub fn verify(&self, known: &[VerifierKey]) -> Result<Vec<VerifierKey>, NoteError> {
        let mut verified: Vec<VerifierKey> = Vec::new();
        for signature in &self.signatures {
            let mut matches = known.iter().filter(|k| signature.is_by(k));
            let Some(key) = matches.next() else { continue };
            if matches.any(|other| other != key) {
                return Err(NoteError::AmbiguousKey {
                    name: key.name.clone(),
                    key_id: crate::hex::encode(&key.key_id()),
                });
            }
            if verified.contains(key) {
                continue;
            }
            if !self.signature_verifies(signature, key) {
                return Err(NoteError::InvalidSignature {
                    name: key.name.clone(),
                });
            }
            verified.push(key.clone());
        }
        if verified.is_empty() {
            return Err(NoteError::UnverifiedNote);
        }
        Ok(verified)
    }

    fn signature_verifies(&self, signature: &NoteSignature, key: &VerifierKey) -> bool {
        match key.key_type {
            KeyType::Ed25519 => {
                ed25519_line_verifies(&key.key, self.text.as_bytes(), &signature.signature)
            }
            KeyType::Cosignature => crate::checkpoint::Checkpoint::parse_body(&self.text)
                .and_then(|checkpoint| {
                    crate::checkpoint::verify_cosignature(&checkpoint, signature, key)
                })
                .is_ok(),
        }
    }
}

fn parse_signature_line(line: usize, text: &str) -> Result<NoteSignature, NoteError> {
    let err = |reason| NoteError::MalformedSignature { line, reason };
    let rest = text
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or_else(|| err("does not start with an em dash (U+2014) and a space"))?;
    let (name, encoded) = rest.split_once(' ').unwrap_or((rest, ""));
    if !crate::keys::key_name_syntax_ok(name) {
        return Err(err("the key name is empty or contains white space or '+'"));
    }
    if encoded.is_empty() {
        return Err(err("no signature after the key name"));
    }
    let raw = BASE64
        .decode(encoded)
        .map_err(|_| err("the signature is not standard base64"))?;
    if raw.len() < 5 {
        return Err(err("the signature is shorter than a key ID and one byte"));
    }
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id: [raw[0], raw[1], raw[2], raw[3]],
        signature: raw[4..].to_vec(),
    })
}

/// Whether the signature bytes of an Ed25519 (type 0x01) signature line verify over the note
/// text under `key`: exactly 64 bytes, checked by the one signature rule
/// ([`crate::keys::PublicKey::verify_raw`]).
pub fn ed25519_line_verifies(key: &crate::keys::PublicKey, text: &[u8], signature: &[u8]) -> bool {
    let Ok(bytes) = <[u8; 64]>::try_from(signature) else {
        return false;
    };
    key.verify_raw(text, &crate::keys::Signature::from_bytes(&bytes))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ActorInfo;

    fn signer(name: &str, seed: u8) -> Identity {
        Identity::from_seed(ActorInfo::named(name), [seed; 32]).unwrap()
    }

    #[test]
    fn sign_parse_verify_round_trip() {
        let a = signer("a.example/log", 1);
        let b = signer("b.example/witness", 2);
        let note = Note::sign("hello\n\nworld\n", &[&a, &b]).unwrap();
        let parsed = Note::parse(&note.to_bytes()).unwrap();
        assert_eq!(parsed, note);
        assert_eq!(parsed.text, "hello\n\nworld\n");
        assert_eq!(
            parsed.verify(&[b.verifier_key()]).unwrap(),
            vec![b.verifier_key()]
        );
        assert_eq!(
            parsed
                .verify(&[a.verifier_key(), b.verifier_key()])
                .unwrap(),
            vec![a.verifier_key(), b.verifier_key()]
        );
    }

    #[test]
    fn fail_no_known_key() {
        let a = signer("a", 1);
        let note = Note::sign("x\n", &[&a]).unwrap();
        assert_eq!(
            note.verify(&[signer("b", 2).verifier_key()]),
            Err(NoteError::UnverifiedNote)
        );
        assert_eq!(note.verify(&[]), Err(NoteError::UnverifiedNote));
    }

    #[test]
    fn fail_same_name_other_key_is_ignored_not_trusted() {
        let real = signer("a", 1);
        let forger = signer("a", 9);
        let note = Note::sign("x\n", &[&forger]).unwrap();
        assert_eq!(
            note.verify(&[real.verifier_key()]),
            Err(NoteError::UnverifiedNote)
        );
    }

    #[test]
    fn fail_tampered_text() {
        let a = signer("a", 1);
        let mut note = Note::sign("x\n", &[&a]).unwrap();
        note.text = "y\n".into();
        assert_eq!(
            note.verify(&[a.verifier_key()]),
            Err(NoteError::InvalidSignature { name: "a".into() })
        );
    }

    #[test]
    fn fail_sign_text_without_final_newline() {
        assert!(matches!(
            Note::sign("x", &[&signer("a", 1)]),
            Err(NoteError::BadText(_))
        ));
    }

    #[test]
    fn fail_sign_text_with_carriage_return() {
        assert!(matches!(
            Note::sign("x\r\n", &[&signer("a", 1)]),
            Err(NoteError::BadText(_))
        ));
    }

    #[test]
    fn identical_known_keys_are_not_ambiguous() {
        let a = signer("a", 1);
        let note = Note::sign("x\n", &[&a]).unwrap();
        assert_eq!(
            note.verify(&[a.verifier_key(), a.verifier_key()]).unwrap(),
            vec![a.verifier_key()]
        );
    }
}
