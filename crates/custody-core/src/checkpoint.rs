//! C2SP tlog-checkpoint bodies and tlog-cosignature/v1 cosignatures.
//!
//! A checkpoint body is `origin\n`, the tree size in decimal `\n`, the base64 root hash `\n`,
//! then optional extension lines. It travels as a signed note.

use base64::Engine;

use crate::keys::{Identity, KeyType, VerifierKey};
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
    /// A cosignature line that cannot be checked against the given key.
    #[error("cosignature by {name}: {reason}")]
    Cosignature {
        /// The cosigner's key name as given on the line.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
}

impl Checkpoint {
    /// The body text.
    pub fn body(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            base64::engine::general_purpose::STANDARD.encode(self.root)
        );
        for line in &self.extensions {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// Parses a body.
    pub fn parse_body(text: &str) -> Result<Checkpoint, CheckpointError> {
        use CheckpointError::Malformed;
        let lines = text
            .strip_suffix('\n')
            .ok_or(Malformed("the body does not end in a newline"))?;
        if text.chars().any(|c| c < ' ' && c != '\n') {
            return Err(Malformed("the body contains a control character"));
        }
        let mut lines = lines.split('\n');
        let origin = lines.next().unwrap_or("");
        if origin.is_empty() {
            return Err(Malformed("the origin line is empty"));
        }
        let size = parse_size(lines.next().ok_or(Malformed("no tree size line"))?)?;
        let root_b64 = lines.next().ok_or(Malformed("no root hash line"))?;
        let root: Hash = base64::engine::general_purpose::STANDARD
            .decode(root_b64)
            .map_err(|_| Malformed("the root hash is not standard base64"))?
            .try_into()
            .map_err(|_| Malformed("the root hash is not 32 bytes"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(Malformed("an extension line is empty"));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Signs the body as a note.
    pub fn sign(&self, signers: &[&Identity]) -> Result<Note, CheckpointError> {
        // Refuse to sign what a verifier would refuse to parse.
        let body = self.body();
        Checkpoint::parse_body(&body)?;
        Ok(Note::sign(&body, signers)?)
    }

    /// Parses a signed checkpoint note and verifies it against `known`; returns the body,
    /// the note and the keys that verified.
    pub fn open(
        bytes: &[u8],
        known: &[VerifierKey],
    ) -> Result<(Checkpoint, Note, Vec<VerifierKey>), CheckpointError> {
        let note = Note::parse(bytes)?;
        let checkpoint = Checkpoint::parse_body(&note.text)?;
        let verified = note.verify(known)?;
        Ok((checkpoint, note, verified))
    }

    /// Checks the origin against the one expected.
    pub fn expect_origin(&self, expected: &str) -> Result<(), CheckpointError> {
        if self.origin == expected {
            Ok(())
        } else {
            Err(CheckpointError::WrongOrigin {
                expected: expected.to_owned(),
                found: self.origin.clone(),
            })
        }
    }
}

fn parse_size(line: &str) -> Result<u64, CheckpointError> {
    use CheckpointError::Malformed;
    if line.is_empty() || !line.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Malformed("the tree size is not a decimal number"));
    }
    if line.len() > 1 && line.starts_with('0') {
        return Err(Malformed("the tree size has a leading zero"));
    }
    line.parse()
        .map_err(|_| Malformed("the tree size does not fit in 64 bits"))
}

/// The message a tlog-cosignature/v1 signs: `"cosignature/v1\ntime " ‖ timestamp ‖ "\n" ‖ body`.
pub fn cosignature_message(body: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{body}").into_bytes()
}

/// Makes a cosignature line over `checkpoint` at `timestamp` (seconds since the Unix epoch):
/// signature bytes are `timestamp (8 bytes, big-endian) ‖ Ed25519 signature`, key ID from key
/// type 0x04.
pub fn cosign(checkpoint: &Checkpoint, witness: &Identity, timestamp: u64) -> NoteSignature {
    let key = witness.cosigner_key();
    let signature = witness.sign_raw(&cosignature_message(&checkpoint.body(), timestamp));
    let mut bytes = Vec::with_capacity(72);
    bytes.extend_from_slice(&timestamp.to_be_bytes());
    bytes.extend_from_slice(&signature.to_bytes());
    NoteSignature {
        key_id: key.key_id(),
        name: key.name,
        signature: bytes,
    }
}

/// Verifies one cosignature line against a cosigner key (type 0x04); returns its timestamp.
pub fn verify_cosignature(
    checkpoint: &Checkpoint,
    signature: &NoteSignature,
    key: &VerifierKey,
) -> Result<u64, CheckpointError> {
    let err = |reason| CheckpointError::Cosignature {
        name: signature.name.clone(),
        reason,
    };
    if key.key_type != KeyType::Cosignature {
        return Err(err("the key is not a cosigner key (signature type 0x04)"));
    }
    if !signature.is_by(key) {
        return Err(err("the line's name or key ID does not match the key"));
    }
    let bytes: &[u8; 72] = signature
        .signature
        .as_slice()
        .try_into()
        .map_err(|_| err("a cosignature is 8 timestamp bytes and a 64-byte signature"))?;
    let (time, sig) = bytes.split_at(8);
    let timestamp = u64::from_be_bytes(time.try_into().expect("8 bytes"));
    if timestamp > i64::MAX as u64 {
        return Err(err("the timestamp exceeds 2^63 - 1"));
    }
    let sig = crate::keys::Signature::from_bytes(sig.try_into().expect("64 bytes"));
    key.key
        .verify_raw(&cosignature_message(&checkpoint.body(), timestamp), &sig)
        .map_err(|_| {
            CheckpointError::Note(NoteError::InvalidSignature {
                name: signature.name.clone(),
            })
        })?;
    Ok(timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ActorInfo;

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "custody.example/ledger/FR-PJ-LYON".into(),
            size: 12,
            root: [0x5a; 32],
            extensions: vec![],
        }
    }

    fn identity(name: &str, seed: u8) -> Identity {
        Identity::from_seed(ActorInfo::named(name), [seed; 32]).unwrap()
    }

    #[test]
    fn body_round_trip_with_extensions() {
        let mut cp = checkpoint();
        cp.extensions = vec!["ext one".into(), "— two".into()];
        assert_eq!(Checkpoint::parse_body(&cp.body()).unwrap(), cp);
    }

    #[test]
    fn spec_example_body_parses() {
        let cp = Checkpoint::parse_body(
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        )
        .unwrap();
        assert_eq!(cp.origin, "example.com/behind-the-sofa");
        assert_eq!(cp.size, 20852163);
        assert_eq!(&cp.root[..4], &[0x0a, 0xc5, 0x18, 0x6a]);
    }

    #[test]
    fn zero_size_is_allowed() {
        let body = format!(
            "o\n0\n{}\n",
            base64::engine::general_purpose::STANDARD.encode([0u8; 32])
        );
        assert_eq!(Checkpoint::parse_body(&body).unwrap().size, 0);
    }

    fn fails(body: &str) -> CheckpointError {
        Checkpoint::parse_body(body).unwrap_err()
    }

    const ROOT: &str = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";

    #[test]
    fn fail_leading_zero_size() {
        assert!(matches!(
            fails(&format!("o\n012\n{ROOT}\n")),
            CheckpointError::Malformed(_)
        ));
    }

    #[test]
    fn fail_signed_size() {
        assert!(matches!(
            fails(&format!("o\n+12\n{ROOT}\n")),
            CheckpointError::Malformed(_)
        ));
    }

    #[test]
    fn fail_size_overflow() {
        assert!(matches!(
            fails(&format!("o\n18446744073709551616\n{ROOT}\n")),
            CheckpointError::Malformed(_)
        ));
    }

    #[test]
    fn fail_empty_origin() {
        assert!(matches!(
            fails(&format!("\n1\n{ROOT}\n")),
            CheckpointError::Malformed(_)
        ));
    }

    #[test]
    fn fail_missing_final_newline() {
        assert!(matches!(
            fails(&format!("o\n1\n{ROOT}")),
            CheckpointError::Malformed(_)
        ));
    }

    #[test]
    fn fail_short_root() {
        assert!(matches!(
            fails("o\n1\nAAAA\n"),
            CheckpointError::Malformed(_)
        ));
    }

    #[test]
    fn fail_root_not_base64() {
        assert!(matches!(
            fails("o\n1\n!!!!\n"),
            CheckpointError::Malformed(_)
        ));
    }

    #[test]
    fn fail_empty_extension_line() {
        assert!(matches!(
            fails(&format!("o\n1\n{ROOT}\n\nx\n")),
            CheckpointError::Malformed(_)
        ));
    }

    #[test]
    fn fail_missing_root_line() {
        assert!(matches!(fails("o\n1\n"), CheckpointError::Malformed(_)));
    }

    #[test]
    fn sign_open_round_trip() {
        let log = identity("custody.example/ledger/FR-PJ-LYON", 3);
        let note = checkpoint().sign(&[&log]).unwrap();
        let (cp, parsed, keys) = Checkpoint::open(&note.to_bytes(), &[log.verifier_key()]).unwrap();
        assert_eq!(cp, checkpoint());
        assert_eq!(parsed, note);
        assert_eq!(keys, vec![log.verifier_key()]);
        assert!(cp
            .expect_origin("custody.example/ledger/FR-PJ-LYON")
            .is_ok());
        assert!(matches!(
            cp.expect_origin("other"),
            Err(CheckpointError::WrongOrigin { .. })
        ));
    }

    #[test]
    fn cosignature_round_trip_and_note_verify() {
        let log = identity("custody.example/ledger/FR", 3);
        let witness = identity("custody.example/authority/DE", 4);
        let cp = checkpoint();
        let mut note = cp.sign(&[&log]).unwrap();
        let line = cosign(&cp, &witness, 1_679_315_147);
        assert_eq!(line.signature.len(), 72);
        assert_eq!(
            verify_cosignature(&cp, &line, &witness.cosigner_key()),
            Ok(1_679_315_147)
        );
        note.add_signature(line);
        let reparsed = Note::parse(&note.to_bytes()).unwrap();
        assert_eq!(
            reparsed.verify(&[witness.cosigner_key()]).unwrap(),
            vec![witness.cosigner_key()]
        );
        // The cosigner's plain Ed25519 key has another key ID: the cosignature is not its.
        assert_eq!(
            reparsed.verify(&[witness.verifier_key()]),
            Err(NoteError::UnverifiedNote)
        );
    }

    #[test]
    fn fail_cosignature_over_other_checkpoint() {
        let witness = identity("w", 4);
        let line = cosign(&checkpoint(), &witness, 10);
        let mut other = checkpoint();
        other.size = 13;
        assert!(matches!(
            verify_cosignature(&other, &line, &witness.cosigner_key()),
            Err(CheckpointError::Note(NoteError::InvalidSignature { .. }))
        ));
    }

    #[test]
    fn fail_cosignature_timestamp_changed() {
        let witness = identity("w", 4);
        let mut line = cosign(&checkpoint(), &witness, 10);
        line.signature[7] = 11;
        assert!(verify_cosignature(&checkpoint(), &line, &witness.cosigner_key()).is_err());
    }

    #[test]
    fn fail_cosignature_with_plain_key() {
        let witness = identity("w", 4);
        let line = cosign(&checkpoint(), &witness, 10);
        assert!(matches!(
            verify_cosignature(&checkpoint(), &line, &witness.verifier_key()),
            Err(CheckpointError::Cosignature { .. })
        ));
    }

    #[test]
    fn fail_bad_cosignature_in_note_is_an_error() {
        let log = identity("log", 3);
        let witness = identity("w", 4);
        let mut note = checkpoint().sign(&[&log]).unwrap();
        let mut line = cosign(&checkpoint(), &witness, 10);
        line.signature[20] ^= 1;
        note.add_signature(line);
        assert_eq!(
            note.verify(&[log.verifier_key(), witness.cosigner_key()]),
            Err(NoteError::InvalidSignature { name: "w".into() })
        );
    }

    #[test]
    fn spec_cosignature_line_carries_its_timestamp() {
        // From the C2SP tlog-cosignature example: the line's 8 bytes after the key ID are the
        // timestamp of the example signed message, 1679315147.
        let note = Note::parse(
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\
             \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
             \u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
                .as_bytes(),
        )
        .unwrap();
        let cosig = &note.signatures[1];
        assert_eq!(cosig.signature.len(), 72);
        assert_eq!(
            u64::from_be_bytes(cosig.signature[..8].try_into().unwrap()),
            1_679_315_147
        );
        assert_eq!(
            cosignature_message(&note.text, 1_679_315_147),
            b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }
}
