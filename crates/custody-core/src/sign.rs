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
}
