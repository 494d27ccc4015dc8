//! Domain-separated signatures over canonical records.
//!
//! The signed message is `context ‖ 0x00 ‖ canonical-JSON`, where `context` names the
//! purpose (one of the constants below). A signature made for one purpose never verifies
//! for another, and cannot be mistaken for a signature over a signed note or a BagIt tag
//! manifest (neither contains a NUL byte).

use crate::keys::{Identity, PublicKey, Signature, SignatureError};

/// Context for ledger custody events.
pub const CONTEXT_EVENT: &str = "custody/v1/event";
/// Context for the receiving actor's signature on a two-signature hand-over: the same
/// custody event, signed a second time, distinct from [`CONTEXT_EVENT`] so that neither
/// signature can stand in for the other.
pub const CONTEXT_EVENT_COSIGNATURE: &str = "custody/v1/event-cosignature";
/// Context for receipts returned by a receiving authority.
pub const CONTEXT_RECEIPT: &str = "custody/v1/receipt";

/// Context for the log key's signature on a state snapshot of its ledger (the verified
/// state at one size, which an open may start its replay from).
pub const CONTEXT_STATE_SNAPSHOT: &str = "custody/v1/state-snapshot";

/// Every context, as `docs/formats.md` §3 lists them. Package signatures use none: they
/// are raw Ed25519 over the bytes of `tagmanifest-sha256.txt`, so that stock OpenSSL can
/// check them (`docs/package.md` §4).
pub const CONTEXTS: [&str; 4] = [
    CONTEXT_EVENT,
    CONTEXT_EVENT_COSIGNATURE,
    CONTEXT_RECEIPT,
    CONTEXT_STATE_SNAPSHOT,
];

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

/// Verifies many signatures under one `context`, returning one verdict per item, in order.
///
/// Each verdict is exactly [`verify_canonical`]'s: every signature is checked on its own by
/// the one signature rule, [`PublicKey::verify_raw`], with the work spread over every core
/// ([`crate::parallel::map_chunks`]). No batch equation is used: a batch (cofactored or
/// not) can accept a signature that single verification refuses, and then the ledger and a
/// package would give different verdicts on the same signed event.
pub fn verify_canonical_batch(context: &str, items: &[BatchItem<'_>]) -> Vec<bool> {
    let messages: Vec<Vec<u8>> = items
        .iter()
        .map(|item| signed_message(context, item.canonical))
        .collect();
    let raw: Vec<RawItem<'_>> = items
        .iter()
        .zip(&messages)
        .map(|(item, message)| RawItem {
            key: item.key,
            message,
            signature: item.signature,
        })
        .collect();
    verify_raw_many(&raw)
}

/// One signature over raw bytes to check with [`verify_raw_many`].
#[derive(Clone, Copy, Debug)]
pub struct RawItem<'a> {
    /// The claimed signer.
    pub key: &'a PublicKey,
    /// The exact signed bytes.
    pub message: &'a [u8],
    /// The signature.
    pub signature: &'a Signature,
}

/// Verifies many signatures over raw bytes on every core, one verdict per item, in order;
/// each verdict is exactly [`PublicKey::verify_raw`]'s.
pub fn verify_raw_many(items: &[RawItem<'_>]) -> Vec<bool> {
    crate::parallel::map_chunks(items, |part| {
        part.iter()
            .map(|item| item.key.verify_raw(item.message, item.signature).is_ok())
            .collect()
    })
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
        for other in [CONTEXT_RECEIPT, "custody/v1/package"] {
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
}
