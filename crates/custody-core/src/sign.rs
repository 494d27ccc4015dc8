//! Domain-separated signatures over canonical records.
//!
//! The signed message is `context ‖ 0x00 ‖ canonical-JSON`, where `context` names the
//! purpose (one of the constants below). A signature made for one purpose never verifies
//! for another, and cannot be mistaken for a signature over a signed note or a BagIt tag
//! manifest (neither contains a NUL byte).

use crate::keys::{Identity, PublicKey, Signature, SignatureError};

/// Context for ledger custody events.
pub const CONTEXT_EVENT: &str = "custody/v1/event";
/// Context for the package statement (`custody/package.json`).
pub const CONTEXT_PACKAGE: &str = "custody/v1/package";
/// Context for receipts returned by a receiving authority.
pub const CONTEXT_RECEIPT: &str = "custody/v1/receipt";

/// The exact bytes signed for `canonical` under `context`.
pub fn signed_message(context: &str, canonical: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(context.len() + 1 + canonical.len());
    message.extend_from_slice(context.as_bytes());
    message.push(0x00);
    message.extend_from_slice(canonical);
    message
}

/// Signs canonical bytes under `context`.
pub fn sign_canonical(identity: &Identity, context: &str, canonical: &[u8]) -> Signature {
    identity.sign_raw(&signed_message(context, canonical))
}

/// Verifies a signature over canonical bytes under `context`.
pub fn verify_canonical(
    key: &PublicKey,
    context: &str,
    canonical: &[u8],
    signature: &Signature,
) -> Result<(), SignatureError> {
    key.verify_raw(&signed_message(context, canonical), signature)
}

/// One signature to check with [`verify_canonical_batch`].
#[derive(Clone, Copy, Debug)]
pub struct BatchItem<'a> {
    /// The claimed signer.
    pub key: &'a PublicKey,
    /// The canonical record that was signed.
    pub canonical: &'a [u8],
    /// The signature.
    pub signature: &'a Signature,
}

/// How many signatures one batch equation covers; a failing batch is re-checked one by one.
const BATCH: usize = 64;

/// Verifies many signatures under one `context`, returning one verdict per item, in order.
///
/// Batches of signatures are checked with one multi-scalar equation (about twice as fast as
/// one-by-one checks); a batch that fails is re-checked signature by signature with strict
/// verification, so every verdict names exactly the signatures that are bad. Before a batch
/// is tried, each item must pass the checks strict verification adds to the group equation:
/// a canonical `s`, a key and an `R` that are not of small order, and a key with no torsion
/// component. The verdict equals [`verify_canonical`]'s for every signature whose `R` has
/// no torsion component, which is every signature made by RFC 8032 signing; only the holder
/// of the private key can make one whose `R` has such a component, and a batch may then
/// accept it under the cofactored group equation that RFC 8032 §5.1.7 states first.
pub fn verify_canonical_batch(context: &str, items: &[BatchItem<'_>]) -> Vec<bool> {
    let mut verdicts = Vec::with_capacity(items.len());
    let mut clean_keys: Vec<[u8; 32]> = Vec::new();
    for chunk in items.chunks(BATCH) {
        let messages: Vec<Vec<u8>> = chunk
            .iter()
            .map(|item| signed_message(context, item.canonical))
            .collect();
        let eligible = chunk
            .iter()
            .all(|item| strict_prechecks(item, &mut clean_keys));
        if eligible && batch_equation_holds(chunk, &messages) {
            verdicts.extend(std::iter::repeat_n(true, chunk.len()));
            continue;
        }
        verdicts.extend(
            chunk
                .iter()
                .zip(&messages)
                .map(|(item, message)| item.key.verify_raw(message, item.signature).is_ok()),
        );
    }
    verdicts
}

fn strict_prechecks(item: &BatchItem<'_>, clean_keys: &mut Vec<[u8; 32]>) -> bool {
    let key_bytes = item.key.to_bytes();
    if !clean_keys.contains(&key_bytes) {
        let point = item.key.0.to_edwards();
        if point.is_small_order() || !point.is_torsion_free() {
            return false;
        }
        clean_keys.push(key_bytes);
    }
    !is_small_order_encoding(item.signature.r_bytes())
}

/// Whether `encoding` is one of the encodings of a point of small order (canonical or not,
/// either sign). Comparing bytes spares a point decompression per signature; the batch
/// equation decompresses `R` anyway and fails on an encoding that is not a point.
fn is_small_order_encoding(encoding: &[u8; 32]) -> bool {
    static BLOCKED: std::sync::OnceLock<Vec<[u8; 32]>> = std::sync::OnceLock::new();
    let blocked = BLOCKED.get_or_init(|| {
        let mut ys: Vec<[u8; 32]> = curve25519_dalek::constants::EIGHT_TORSION
            .iter()
            .map(|point| without_sign(point.compress().to_bytes()))
            .collect();
        // y = p and y = p + 1: the non-canonical encodings of y = 0 and y = 1.
        let mut p = [0xff; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        let mut p_plus_one = p;
        p_plus_one[0] = 0xee;
        ys.extend([p, p_plus_one]);
        ys.sort_unstable();
        ys.dedup();
        ys
    });
    blocked.contains(&without_sign(*encoding))
}

fn without_sign(mut encoding: [u8; 32]) -> [u8; 32] {
    encoding[31] &= 0x7f;
    encoding
}

fn batch_equation_holds(chunk: &[BatchItem<'_>], messages: &[Vec<u8>]) -> bool {
    let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let signatures: Vec<Signature> = chunk.iter().map(|item| *item.signature).collect();
    let keys: Vec<ed25519_dalek::VerifyingKey> = chunk.iter().map(|item| item.key.0).collect();
    ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
}

/// Signature bytes as lower-case hex (how records carry them).
pub fn signature_to_hex(signature: &Signature) -> String {
    crate::hex::encode(&signature.to_bytes())
}

/// Parses a hex signature.
pub fn signature_from_hex(text: &str) -> Option<Signature> {
    crate::hex::decode_array::<64>(text).map(|b| Signature::from_bytes(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ActorInfo;

    fn identity() -> Identity {
        Identity::from_seed(ActorInfo::named("officer@example.org"), [7u8; 32]).unwrap()
    }

    #[test]
    fn message_is_context_nul_canonical() {
        assert_eq!(signed_message("ctx", b"{}"), b"ctx\0{}".to_vec());
    }

    #[test]
    fn sign_then_verify() {
        let id = identity();
        let record = br#"{"kind":"acquired"}"#;
        let sig = sign_canonical(&id, CONTEXT_EVENT, record);
        assert_eq!(
            verify_canonical(&id.public_key(), CONTEXT_EVENT, record, &sig),
            Ok(())
        );
    }

    #[test]
    fn fail_cross_context_replay() {
        let id = identity();
        let record = br#"{"kind":"acquired"}"#;
        let sig = sign_canonical(&id, CONTEXT_EVENT, record);
        for other in [CONTEXT_PACKAGE, CONTEXT_RECEIPT] {
            assert_eq!(
                verify_canonical(&id.public_key(), other, record, &sig),
                Err(SignatureError)
            );
        }
    }

    #[test]
    fn fail_tampered_record_byte() {
        let id = identity();
        let record = br#"{"kind":"acquired"}"#.to_vec();
        let sig = sign_canonical(&id, CONTEXT_EVENT, &record);
        for i in 0..record.len() {
            let mut tampered = record.clone();
            tampered[i] ^= 0x01;
            assert!(verify_canonical(&id.public_key(), CONTEXT_EVENT, &tampered, &sig).is_err());
        }
    }

    #[test]
    fn fail_tampered_signature_byte() {
        let id = identity();
        let record = b"{}";
        let sig = sign_canonical(&id, CONTEXT_EVENT, record).to_bytes();
        for i in 0..64 {
            let mut bytes = sig;
            bytes[i] ^= 0x80;
            let tampered = Signature::from_bytes(&bytes);
            assert!(verify_canonical(&id.public_key(), CONTEXT_EVENT, record, &tampered).is_err());
        }
    }

    #[test]
    fn fail_other_key() {
        let id = identity();
        let other = Identity::from_seed(ActorInfo::named("other"), [8u8; 32]).unwrap();
        let sig = sign_canonical(&id, CONTEXT_EVENT, b"{}");
        assert!(verify_canonical(&other.public_key(), CONTEXT_EVENT, b"{}", &sig).is_err());
    }

    #[test]
    fn signature_hex_round_trip() {
        let sig = sign_canonical(&identity(), CONTEXT_EVENT, b"{}");
        let text = signature_to_hex(&sig);
        assert_eq!(text.len(), 128);
        assert_eq!(signature_from_hex(&text), Some(sig));
        assert_eq!(signature_from_hex(&text[2..]), None);
    }

    #[test]
    fn batch_verdicts_match_one_by_one_verification() {
        let alice = identity();
        let bob = Identity::from_seed(ActorInfo::named("bob@example.org"), [9u8; 32]).unwrap();
        let records: Vec<Vec<u8>> = (0..150)
            .map(|i| format!("{{\"n\":{i}}}").into_bytes())
            .collect();
        let signers: Vec<&Identity> = (0..150)
            .map(|i| if i % 3 == 0 { &bob } else { &alice })
            .collect();
        let mut signatures: Vec<Signature> = records
            .iter()
            .zip(&signers)
            .map(|(r, who)| sign_canonical(who, CONTEXT_EVENT, r))
            .collect();
        // Spoil a few: a flipped bit, another record's signature, the wrong signer's key.
        let mut bytes = signatures[7].to_bytes();
        bytes[40] ^= 1;
        signatures[7] = Signature::from_bytes(&bytes);
        signatures[70] = signatures[71];
        let keys: Vec<PublicKey> = signers.iter().map(|who| who.public_key()).collect();
        let mut keys = keys;
        keys[140] = if signers[140].public_key() == alice.public_key() {
            bob.public_key()
        } else {
            alice.public_key()
        };
        let items: Vec<BatchItem<'_>> = (0..150)
            .map(|i| BatchItem {
                key: &keys[i],
                canonical: &records[i],
                signature: &signatures[i],
            })
            .collect();
        let verdicts = verify_canonical_batch(CONTEXT_EVENT, &items);
        let one_by_one: Vec<bool> = items
            .iter()
            .map(|it| verify_canonical(it.key, CONTEXT_EVENT, it.canonical, it.signature).is_ok())
            .collect();
        assert_eq!(verdicts, one_by_one);
        let bad: Vec<usize> = (0..150).filter(|&i| !verdicts[i]).collect();
        assert_eq!(bad, vec![7, 70, 140]);
        // The same signatures under another context all fail.
        assert!(verify_canonical_batch(CONTEXT_RECEIPT, &items)
            .iter()
            .all(|ok| !ok));
    }

    #[test]
    fn small_order_encodings_are_exactly_the_small_order_points() {
        use curve25519_dalek::edwards::CompressedEdwardsY;
        for point in curve25519_dalek::constants::EIGHT_TORSION {
            assert!(is_small_order_encoding(&point.compress().to_bytes()));
        }
        // Every canonical encoding that decompresses agrees with the point's own verdict.
        for seed in 0u8..=255 {
            let mut bytes = crate::merkle::leaf_hash(&[seed]);
            bytes[31] &= 0x7f;
            if let Some(point) = CompressedEdwardsY(bytes).decompress() {
                assert_eq!(is_small_order_encoding(&bytes), point.is_small_order());
            }
        }
        let signer = identity();
        let signature = sign_canonical(&signer, CONTEXT_EVENT, b"{}");
        assert!(!is_small_order_encoding(signature.r_bytes()));
        // A signature whose R is the identity is refused, in a batch as one by one.
        let mut bytes = signature.to_bytes();
        bytes[..32].copy_from_slice(&[0; 32]);
        bytes[0] = 1;
        let forged = Signature::from_bytes(&bytes);
        let key = signer.public_key();
        let item = BatchItem {
            key: &key,
            canonical: b"{}",
            signature: &forged,
        };
        assert_eq!(verify_canonical_batch(CONTEXT_EVENT, &[item]), vec![false]);
    }
}
