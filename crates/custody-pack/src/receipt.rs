//! Receipts: what a receiving authority sends back after receiving a package.
//!
//! A receipt names the package (id and SHA-256 of the ZIP), says when and by whom it was
//! received and that it verified, and carries two checkpoints: the sender's, with a
//! tlog-cosignature/v1 by the receiver (the receiver witnesses the sender's log as it was),
//! and the receiver's own after recording `received`. The receiver signs the canonical JSON
//! of the `receipt` object under [`CONTEXT_RECEIPT`]; the file is the canonical JSON of
//! `{"receipt": …, "signature": "<hex>"}`.
//!
//! A receipt file is read only through [`custody_core::canonical::parse_strict`]: it must be
//! byte for byte the canonical JSON of a receipt (no white space, no duplicate or unknown
//! member, canonical numbers and escapes) before its signature is even looked at.

use custody_core::canonical::{self, CanonicalError, StrictJsonError};
use custody_core::checkpoint::{self, Checkpoint, CheckpointError};
use custody_core::keys::{Identity, KeyType, PublicKey, VerifierKey};
use custody_core::note::{Note, NoteSignature};
use custody_core::sign::{self, CONTEXT_RECEIPT};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The receipt format version this crate writes and reads.
pub const RECEIPT_VERSION: u32 = 1;

/// A signed receipt, as stored in a receipt file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// What the receiver states.
    pub receipt: ReceiptBody,
    /// Ed25519 by the receiver over `CONTEXT_RECEIPT ‖ 0x00 ‖ canonical(receipt)`, hex.
    pub signature: String,
}

/// The signed content of a receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBody {
    /// Format version, [`RECEIPT_VERSION`].
    pub v: u32,
    /// The package id.
    pub package_id: String,
    /// SHA-256 (hex) of the package ZIP as received.
    pub package_digest: String,
    /// SHA-256 (hex) of the encrypted file the package arrived as, if it was encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_digest: Option<String>,
    /// When it was received, RFC 3339 UTC.
    pub received_time: String,
    /// Who received it.
    pub receiver: Receiver,
    /// The outcome of verifying the package.
    pub verification: ReceiptVerification,
    /// The sender's checkpoint note from the package, exactly.
    pub sender_checkpoint: String,
    /// A tlog-cosignature/v1 signature line by the receiver over `sender_checkpoint`.
    pub cosignature: String,
    /// The receiver ledger's checkpoint note after its `received` entry.
    pub receiver_checkpoint: String,
    /// Seq of the `received` entry in the receiver's ledger.
    pub received_seq: u64,
}

/// The receiving authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    /// The receiver's C2SP verifier key (Ed25519, type 0x01); the receipt signature and the
    /// cosignature are by this key.
    pub key: String,
    /// The receiving authority's name.
    pub authority: String,
    /// Its organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// Its jurisdiction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
}

/// The verification outcome the receiver attests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptVerification {
    /// Whether the package verified (receipts are only issued when it did).
    pub verified: bool,
    /// The verifier keys of the trusted package signers.
    pub signers: Vec<String>,
}

/// What the receiver knows when it writes a receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptDraft {
    /// The package id.
    pub package_id: String,
    /// SHA-256 (hex) of the package ZIP.
    pub package_digest: String,
    /// SHA-256 (hex) of the encrypted file the package arrived as, if it was encrypted.
    pub encrypted_digest: Option<String>,
    /// When the package was received (also the cosignature's timestamp).
    pub received_time: OffsetDateTime,
    /// The receiving authority's name.
    pub authority: String,
    /// Its organisation.
    pub organisation: Option<String>,
    /// Its jurisdiction.
    pub jurisdiction: Option<String>,
    /// The trusted signers' verifier keys.
    pub signers: Vec<String>,
    /// The sender's checkpoint note (`custody/checkpoint`).
    pub sender_checkpoint: String,
    /// The receiver ledger's checkpoint note after `received`.
    pub receiver_checkpoint: String,
    /// Seq of the `received` entry.
    pub received_seq: u64,
}

/// A receipt that cannot be made, read or trusted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// The receipt cannot be made (a received time before 1970).
    #[error("receipt: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The file is not exactly the canonical JSON of a receipt.
    #[error("receipt: not the canonical JSON of a receipt: {0}")]
    NotCanonical(StrictJsonError),
    /// A receipt version this build does not read.
    #[error("receipt: version {found} is not supported (this build reads {RECEIPT_VERSION})")]
    UnknownVersion {
        /// The version found.
        found: u32,
    },
    /// The receiver key is not a valid Ed25519 verifier key.
    #[error("receipt: receiver key {key:?} is not an Ed25519 verifier key")]
    BadReceiverKey {
        /// The key as written.
        key: String,
    },
    /// The receiver key is not among the trusted keys.
    #[error("receipt: receiver key {key} is not trusted")]
    UntrustedReceiver {
        /// The key.
        key: String,
    },
    /// The receiver key is trusted but also given as revoked: revocation wins.
    #[error("receipt: receiver key {key} is revoked")]
    RevokedReceiver {
        /// The key.
        key: String,
    },
    /// The receipt signature does not verify under the receiver key.
    #[error("receipt: the signature by {key} does not verify")]
    BadSignature {
        /// The receiver key.
        key: String,
    },
    /// The sender checkpoint is not a checkpoint note.
    #[error("receipt: sender checkpoint: {0}")]
    SenderCheckpoint(CheckpointError),
    /// The cosignature is malformed or does not verify over the sender checkpoint.
    #[error("receipt: cosignature over the sender checkpoint: {reason}")]
    BadCosignature {
        /// What is wrong.
        reason: String,
    },
    /// The receipt says the receiver did not verify the package: it acknowledges nothing.
    #[error(
        "receipt: the receiver states the package did not verify (verification.verified is false)"
    )]
    NotVerifiedByReceiver,
    /// `received_time` is not the UTC RFC 3339 time (as the receiver writes it) of the
    /// second the cosignature names.
    #[error(
        "receipt: received_time {received_time:?} is not the cosignature's time \
         ({cosignature_time} seconds since 1970, UTC)"
    )]
    ReceivedTime {
        /// `received_time` as written.
        received_time: String,
        /// The cosignature's timestamp.
        cosignature_time: u64,
    },
    /// The receiver checkpoint is not a checkpoint note.
    #[error("receipt: receiver checkpoint: {0}")]
    ReceiverCheckpoint(CheckpointError),
    /// The receipt has no canonical form.
    #[error("receipt: {0}")]
    Canonical(#[from] CanonicalError),
}

/// A receipt whose signature and cosignature verified under a trusted receiver key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The receipt.
    pub receipt: Receipt,
    /// The receiver's verifier key.
    pub receiver_key: VerifierKey,
    /// The sender checkpoint, parsed (its log signature is not checked here: only the
    /// sender knows its log key for sure).
    pub sender_checkpoint: Checkpoint,
    /// The cosignature line, parsed.
    pub cosignature: NoteSignature,
    /// The cosignature's timestamp (seconds since the Unix epoch).
    pub cosignature_time: u64,
    /// The sender checkpoint note with the cosignature line appended.
    pub cosigned_checkpoint: String,
}

impl Receipt {
    /// Makes and signs a receipt: cosigns the sender checkpoint at `received_time` and
    /// signs the receipt with `receiver`'s key.
    pub fn create(draft: ReceiptDraft, receiver: &Identity) -> Result<Receipt, ReceiptError> {
        let sender_note = Note::parse(draft.sender_checkpoint.as_bytes())
            .map_err(|e| ReceiptError::SenderCheckpoint(CheckpointError::Note(e)))?;
        let sender =
            Checkpoint::parse_body(&sender_note.text).map_err(ReceiptError::SenderCheckpoint)?;
        Checkpoint::parse_body(
            &Note::parse(draft.receiver_checkpoint.as_bytes())
                .map_err(|e| ReceiptError::ReceiverCheckpoint(CheckpointError::Note(e)))?
                .text,
        )
        .map_err(ReceiptError::ReceiverCheckpoint)?;
        let timestamp = u64::try_from(draft.received_time.unix_timestamp()).map_err(|_| {
            ReceiptError::Malformed {
                reason: "the received time is before 1970".into(),
            }
        })?;
        let cosignature = checkpoint::cosign(&sender, receiver, timestamp);
        let body = ReceiptBody {
            v: RECEIPT_VERSION,
            package_id: draft.package_id,
            package_digest: draft.package_digest,
            encrypted_digest: draft.encrypted_digest,
            received_time: custody_store::ledger::format_utc(draft.received_time),
            receiver: Receiver {
                key: receiver.verifier_key().to_string(),
                authority: draft.authority,
                organisation: draft.organisation,
                jurisdiction: draft.jurisdiction,
            },
            verification: ReceiptVerification {
                verified: true,
                signers: draft.signers,
            },
            sender_checkpoint: draft.sender_checkpoint,
            cosignature: cosignature.to_line(),
            receiver_checkpoint: draft.receiver_checkpoint,
            received_seq: draft.received_seq,
        };
        let canonical_body = canonical::to_canonical_vec(&body)?;
        let signature = sign::sign_canonical(receiver, CONTEXT_RECEIPT, &canonical_body);
        Ok(Receipt {
            receipt: body,
            signature: sign::signature_to_hex(&signature),
        })
    }

    /// The receipt file's bytes (canonical JSON).
    pub fn to_canonical(&self) -> Result<Vec<u8>, ReceiptError> {
        Ok(canonical::to_canonical_vec(self)?)
    }

    /// Parses a receipt file and checks it: canonical bytes, version, receiver key among
    /// `trusted` and not among `revoked` (a key in both is revoked), the receipt signature,
    /// and the receiver's cosignature over the sender checkpoint.
    pub fn parse_and_verify(
        bytes: &[u8],
        trusted: &[PublicKey],
        revoked: &[PublicKey],
    ) -> Result<VerifiedReceipt, ReceiptError> {
        canonical::check_strict(bytes).map_err(ReceiptError::NotCanonical)?;
        // The version first, so a newer receipt is reported as such rather than as one of
        // the wrong shape. The bytes are canonical, so no duplicate member can hide here.
        let version = serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|v| v.pointer("/receipt/v").and_then(serde_json::Value::as_u64));
        if let Some(v) = version.filter(|&v| v != u64::from(RECEIPT_VERSION)) {
            return Err(ReceiptError::UnknownVersion {
                found: u32::try_from(v).unwrap_or(u32::MAX),
            });
        }
        let receipt: Receipt =
            canonical::parse_strict(bytes).map_err(ReceiptError::NotCanonical)?;
        let body = &receipt.receipt;
        let key_text = &body.receiver.key;
        let receiver_key: VerifierKey = match key_text.parse::<VerifierKey>() {
            Ok(k) if k.key_type == KeyType::Ed25519 => k,
            _ => {
                return Err(ReceiptError::BadReceiverKey {
                    key: key_text.clone(),
                })
            }
        };
        if revoked.contains(&receiver_key.key) {
            return Err(ReceiptError::RevokedReceiver {
                key: key_text.clone(),
            });
        }
        if !trusted.contains(&receiver_key.key) {
            return Err(ReceiptError::UntrustedReceiver {
                key: key_text.clone(),
            });
        }
        let bad_signature = || ReceiptError::BadSignature {
            key: key_text.clone(),
        };
        let signature = sign::signature_from_hex(&receipt.signature).ok_or_else(bad_signature)?;
        let canonical_body = canonical::to_canonical_vec(body)?;
        sign::verify_canonical(
            &receiver_key.key,
            CONTEXT_RECEIPT,
            &canonical_body,
            &signature,
        )
        .map_err(|_| bad_signature())?;
        let mut note = Note::parse(body.sender_checkpoint.as_bytes())
            .map_err(|e| ReceiptError::SenderCheckpoint(CheckpointError::Note(e)))?;
        let sender_checkpoint =
            Checkpoint::parse_body(&note.text).map_err(ReceiptError::SenderCheckpoint)?;
        let cosignature = parse_cosignature_line(&body.cosignature)?;
        let cosigner = VerifierKey {
            key_type: KeyType::Cosignature,
            ..receiver_key.clone()
        };
        let cosignature_time =
            checkpoint::verify_cosignature(&sender_checkpoint, &cosignature, &cosigner).map_err(
                |e| ReceiptError::BadCosignature {
                    reason: e.to_string(),
                },
            )?;
        if !body.verification.verified {
            return Err(ReceiptError::NotVerifiedByReceiver);
        }
        check_received_time(&body.received_time, cosignature_time)?;
        Note::parse(body.receiver_checkpoint.as_bytes())
            .map_err(|e| ReceiptError::ReceiverCheckpoint(CheckpointError::Note(e)))
            .and_then(|n| {
                Checkpoint::parse_body(&n.text).map_err(ReceiptError::ReceiverCheckpoint)
            })?;
        note.add_signature(cosignature.clone());
        let cosigned_checkpoint =
            String::from_utf8(note.to_bytes()).expect("a parsed note is UTF-8");
        Ok(VerifiedReceipt {
            receiver_key,
            sender_checkpoint,
            cosignature,
            cosignature_time,
            cosigned_checkpoint,
            receipt,
        })
    }
}

/// The receipt states its time twice: `received_time` for readers, and the signed
/// cosignature timestamp. Both must name the same second, and `received_time` must be
/// spelt exactly as [`Receipt::create`] writes it (RFC 3339, UTC, `Z`), so that no reader
/// can be shown another time than the one the cosignature proves.
fn check_received_time(received_time: &str, cosignature_time: u64) -> Result<(), ReceiptError> {
    let parsed = OffsetDateTime::parse(
        received_time,
        &time::format_description::well_known::Rfc3339,
    )
    .ok();
    let agrees = parsed.is_some_and(|t| {
        custody_store::ledger::format_utc(t) == received_time
            && u64::try_from(t.unix_timestamp()).ok() == Some(cosignature_time)
    });
    if agrees {
        Ok(())
    } else {
        Err(ReceiptError::ReceivedTime {
            received_time: received_time.to_owned(),
            cosignature_time,
        })
    }
}

/// Parses one signature line by wrapping it in a minimal note.
fn parse_cosignature_line(line: &str) -> Result<NoteSignature, ReceiptError> {
    let malformed = |reason: String| ReceiptError::BadCosignature { reason };
    if line.contains('\n') {
        return Err(malformed("it spans more than one line".into()));
    }
    let note =
        Note::parse(format!("x\n\n{line}\n").as_bytes()).map_err(|e| malformed(e.to_string()))?;
    note.signatures
        .into_iter()
        .next()
        .ok_or_else(|| malformed("no signature line".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_core::keys::ActorInfo;

    fn identity(name: &str, seed: u8) -> Identity {
        Identity::from_seed(ActorInfo::named(name), [seed; 32]).unwrap()
    }

    fn note(origin: &str, size: u64, log: &Identity) -> String {
        let cp = Checkpoint {
            origin: origin.into(),
            size,
            root: [size as u8; 32],
            extensions: vec![],
        };
        String::from_utf8(cp.sign(&[log]).unwrap().to_bytes()).unwrap()
    }

    fn receipt(receiver: &Identity) -> Receipt {
        receipt_at(receiver, time::macros::datetime!(2026-03-02 10:00:00 UTC))
    }

    fn receipt_at(receiver: &Identity, received_time: OffsetDateTime) -> Receipt {
        let sender_log = identity("sender-log", 1);
        let receiver_log = identity("receiver-log", 2);
        Receipt::create(
            ReceiptDraft {
                package_id: "C-1".into(),
                package_digest: "ab".repeat(32),
                encrypted_digest: None,
                received_time,
                authority: "Staatsanwaltschaft Berlin".into(),
                organisation: None,
                jurisdiction: Some("DE".into()),
                signers: vec!["officer+01020304+AQ==".into()],
                sender_checkpoint: note("sender.example/ledger", 7, &sender_log),
                receiver_checkpoint: note("receiver.example/ledger", 3, &receiver_log),
                received_seq: 2,
            },
            receiver,
        )
        .unwrap()
    }

    /// docs/package.md §8: `received_time` keeps the nanoseconds; the cosignature's
    /// timestamp is the same instant truncated to its second.
    #[test]
    fn cosignature_time_truncates_received_time_to_the_second() {
        let receiver = identity("receiver@example.de", 3);
        let at = time::macros::datetime!(2026-03-02 10:00:00.999999999 UTC);
        let r = receipt_at(&receiver, at);
        assert_eq!(r.receipt.received_time, "2026-03-02T10:00:00.999999999Z");
        let bytes = r.to_canonical().unwrap();
        let verified = Receipt::parse_and_verify(&bytes, &[receiver.public_key()], &[]).unwrap();
        assert_eq!(verified.cosignature_time, 1_772_445_600);
    }

    #[test]
    fn receipt_round_trips_and_verifies() {
        let receiver = identity("receiver@example.de", 3);
        let r = receipt(&receiver);
        let bytes = r.to_canonical().unwrap();
        let verified = Receipt::parse_and_verify(&bytes, &[receiver.public_key()], &[]).unwrap();
        assert_eq!(verified.receipt, r);
        assert_eq!(verified.sender_checkpoint.size, 7);
        assert_eq!(verified.cosignature_time, 1_772_445_600);
        assert!(verified
            .cosigned_checkpoint
            .ends_with(&format!("{}\n", r.receipt.cosignature)));
        // The cosigned note verifies under both the sender log key and the receiver's
        // cosigner key.
        let note = Note::parse(verified.cosigned_checkpoint.as_bytes()).unwrap();
        let keys = note
            .verify(&[
                identity("sender-log", 1).verifier_key(),
                receiver.cosigner_key(),
            ])
            .unwrap();
        assert_eq!(keys.len(), 2);
    }

    #[test]
    fn fail_receipt_untrusted_receiver() {
        let receiver = identity("receiver@example.de", 3);
        let bytes = receipt(&receiver).to_canonical().unwrap();
        let other = identity("other", 4);
        assert!(matches!(
            Receipt::parse_and_verify(&bytes, &[other.public_key()], &[]),
            Err(ReceiptError::UntrustedReceiver { .. })
        ));
    }

    #[test]
    fn fail_receipt_edited_after_signing() {
        let receiver = identity("receiver@example.de", 3);
        let mut r = receipt(&receiver);
        r.receipt.package_digest = "cd".repeat(32);
        let bytes = r.to_canonical().unwrap();
        assert!(matches!(
            Receipt::parse_and_verify(&bytes, &[receiver.public_key()], &[]),
            Err(ReceiptError::BadSignature { .. })
        ));
    }

    #[test]
    fn fail_receipt_cosignature_over_another_checkpoint() {
        // Re-signed by the receiver, but the cosignature is over a different checkpoint.
        let receiver = identity("receiver@example.de", 3);
        let mut r = receipt(&receiver);
        r.receipt.sender_checkpoint = note("sender.example/ledger", 8, &identity("sender-log", 1));
        let body = canonical::to_canonical_vec(&r.receipt).unwrap();
        r.signature =
            sign::signature_to_hex(&sign::sign_canonical(&receiver, CONTEXT_RECEIPT, &body));
        let bytes = r.to_canonical().unwrap();
        assert!(matches!(
            Receipt::parse_and_verify(&bytes, &[receiver.public_key()], &[]),
            Err(ReceiptError::BadCosignature { .. })
        ));
    }

    #[test]
    fn fail_receipt_unknown_version() {
        let receiver = identity("receiver@example.de", 3);
        let mut value = serde_json::to_value(receipt(&receiver)).unwrap();
        value["receipt"]["v"] = 2.into();
        assert!(matches!(
            Receipt::parse_and_verify(
                &canonical::to_canonical_vec(&value).unwrap(),
                &[receiver.public_key()],
                &[]
            ),
            Err(ReceiptError::UnknownVersion { found: 2 })
        ));
    }

    /// The canonical receipt file with `from` replaced by `to` (exactly once).
    fn edited(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
        let text = std::str::from_utf8(bytes).unwrap();
        assert_eq!(text.matches(from).count(), 1, "{from}");
        text.replacen(from, to, 1).into_bytes()
    }

    fn refusal(bytes: &[u8], receiver: &Identity) -> StrictJsonError {
        match Receipt::parse_and_verify(bytes, &[receiver.public_key()], &[]) {
            Err(ReceiptError::NotCanonical(e)) => e,
            other => panic!("expected a canonical-form refusal, got {other:?}"),
        }
    }

    #[test]
    fn fail_receipt_duplicate_package_digest_with_white_space() {
        // The signed digest stays last, where a lenient reader takes its value from; the
        // first names another package.
        let receiver = identity("receiver@example.de", 3);
        let bytes = receipt(&receiver).to_canonical().unwrap();
        let digest = format!("\"package_digest\":\"{}\"", "ab".repeat(32));
        let attack = edited(
            &bytes,
            &digest,
            &format!("\"package_digest\":\"{}\", {digest}", "cd".repeat(32)),
        );
        // The first fault in reading order is named.
        assert!(matches!(
            refusal(&attack, &receiver),
            StrictJsonError::WhiteSpace { .. }
        ));
        let attack = edited(
            &bytes,
            &digest,
            &format!("\"package_digest\":\"{}\",{digest}", "cd".repeat(32)),
        );
        assert!(matches!(
            refusal(&attack, &receiver),
            StrictJsonError::DuplicateKey { ref path, ref key } if path == "/receipt" && key == "package_digest"
        ));
    }

    #[test]
    fn fail_receipt_not_in_canonical_form() {
        let receiver = identity("receiver@example.de", 3);
        let r = receipt(&receiver);
        let bytes = r.to_canonical().unwrap();
        let signature = format!("\"signature\":\"{}\"", r.signature);
        type Expect = fn(&StrictJsonError) -> bool;
        let cases: Vec<(Vec<u8>, Expect)> = vec![
            (edited(&bytes, "{\"receipt\":{", "{ \"receipt\":{"), |e| {
                matches!(e, StrictJsonError::WhiteSpace { offset: 1 })
            }),
            ([bytes.as_slice(), b"\n"].concat(), |e| {
                matches!(e, StrictJsonError::WhiteSpace { .. })
            }),
            // Keys out of order: the signature first.
            (
                {
                    let text = String::from_utf8(bytes.clone()).unwrap();
                    let body = &text[1..text.len() - signature.len() - 2];
                    format!("{{{signature},{body}}}").into_bytes()
                },
                |e| matches!(e, StrictJsonError::KeyOrder { key, .. } if key == "receipt"),
            ),
            (
                edited(&bytes, "\"received_seq\":2,", "\"received_seq\":2.0,"),
                |e| matches!(e, StrictJsonError::NonCanonicalNumber { path, found, .. } if path == "/receipt/received_seq" && found == "2.0"),
            ),
            (
                edited(&bytes, "\"received_seq\":2,", "\"received_seq\":2e0,"),
                |e| matches!(e, StrictJsonError::NonCanonicalNumber { found, .. } if found == "2e0"),
            ),
            (
                edited(&bytes, "\"v\":1,", "\"v\":1E0,"),
                |e| matches!(e, StrictJsonError::NonCanonicalNumber { found, .. } if found == "1E0"),
            ),
            (
                edited(&bytes, "Staatsanwaltschaft", "\\u0053taatsanwaltschaft"),
                |e| matches!(e, StrictJsonError::NonCanonicalEscape { escape, .. } if escape == "\\u0053"),
            ),
            (
                edited(&bytes, "\"package_id\":\"C-1\"", "\"package_id\":\"C\\/1\""),
                |e| matches!(e, StrictJsonError::NonCanonicalEscape { escape, .. } if escape == "\\/"),
            ),
            // An unknown member, in canonical position.
            (
                edited(&bytes, &signature, &format!("{signature},\"zz\":1")),
                |e| matches!(e, StrictJsonError::Shape { message } if message.contains("zz")),
            ),
            // A duplicate inside a nested object.
            (
                edited(
                    &bytes,
                    "\"authority\":\"Staatsanwaltschaft Berlin\"",
                    "\"authority\":\"Someone else\",\"authority\":\"Staatsanwaltschaft Berlin\"",
                ),
                |e| matches!(e, StrictJsonError::DuplicateKey { path, key } if path == "/receipt/receiver" && key == "authority"),
            ),
        ];
        for (i, (attack, expected)) in cases.iter().enumerate() {
            let e = refusal(attack, &receiver);
            assert!(expected(&e), "case {i}: {e}");
        }
        // The unedited file still verifies.
        Receipt::parse_and_verify(&bytes, &[receiver.public_key()], &[]).unwrap();
    }

    #[test]
    fn fail_receipt_by_revoked_receiver() {
        // Trusted and revoked: revocation wins.
        let receiver = identity("receiver@example.de", 3);
        let bytes = receipt(&receiver).to_canonical().unwrap();
        assert!(matches!(
            Receipt::parse_and_verify(&bytes, &[receiver.public_key()], &[receiver.public_key()]),
            Err(ReceiptError::RevokedReceiver { .. })
        ));
    }
}
