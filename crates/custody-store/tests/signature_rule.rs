//! The ledger path applies the one signature rule: an event signature that a cofactored batch
//! equation accepts but strict verification refuses is a `BadSignature` finding, exactly as a
//! package or an independent verifier would judge the same signed event.
//!
//! The signer is an enrolled actor holding her private key (the only one who can make such a
//! signature); she adds a small-order point `T` to the nonce commitment: `R = [r]B + T`,
//! `S = r + k·a`. Then `[8]([S]B − R − [k]A) = −[8]T = 0` (the cofactored equation holds)
//! while `[S]B − [k]A = R − T ≠ R` (the strict, cofactorless equation fails).

mod common;

use common::*;
use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use custody_core::keys::Signature;
use custody_core::{canonical, merkle, sign};
use custody_store::LedgerFinding;
use sha2::{Digest, Sha512};

/// The private scalar RFC 8032 §5.1.5 derives from a 32-byte seed.
fn secret_scalar(seed: [u8; 32]) -> Scalar {
    let hash = Sha512::digest(seed);
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(&hash[..32]);
    bytes[0] &= 248;
    bytes[31] &= 127;
    bytes[31] |= 64;
    Scalar::from_bytes_mod_order(bytes)
}

/// An RFC 8032 signature over `message` whose `R` carries the torsion point `T`.
fn torsioned_signature(seed: [u8; 32], message: &[u8]) -> Signature {
    let a = secret_scalar(seed);
    let public = (ED25519_BASEPOINT_POINT * a).compress();
    let r = Scalar::from_bytes_mod_order_wide(&Sha512::digest(message).into());
    let commitment = (ED25519_BASEPOINT_POINT * r + EIGHT_TORSION[1]).compress();
    let k = Scalar::from_bytes_mod_order_wide(
        &Sha512::new()
            .chain_update(commitment.as_bytes())
            .chain_update(public.as_bytes())
            .chain_update(message)
            .finalize()
            .into(),
    );
    let s = r + k * a;
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(commitment.as_bytes());
    bytes[32..].copy_from_slice(s.as_bytes());
    Signature::from_bytes(&bytes)
}

/// Whether the cofactored group equation `[8][S]B = [8]R + [8][k]A` holds.
fn cofactored_equation_holds(public: &[u8; 32], message: &[u8], signature: &Signature) -> bool {
    let bytes = signature.to_bytes();
    let r_bytes: [u8; 32] = bytes[..32].try_into().unwrap();
    let s_bytes: [u8; 32] = bytes[32..].try_into().unwrap();
    let (Some(big_r), Some(big_a)) = (
        CompressedEdwardsY(r_bytes).decompress(),
        CompressedEdwardsY(*public).decompress(),
    ) else {
        return false;
    };
    let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
        return false;
    };
    let k = Scalar::from_bytes_mod_order_wide(
        &Sha512::new()
            .chain_update(r_bytes)
            .chain_update(public)
            .chain_update(message)
            .finalize()
            .into(),
    );
    (ED25519_BASEPOINT_POINT * s - big_r - big_a * k)
        .mul_by_cofactor()
        .is_identity()
}

#[test]
fn fail_a_signature_only_the_cofactored_equation_accepts_is_bad_in_the_ledger() {
    let f = populated(1);
    let seq = 3;
    let alice_seed = [1u8; 32]; // common::investigator()
    let mut signed = f.ledger.entry(seq).unwrap().signed;
    assert_eq!(signed.event.actor, key_hex(&investigator()));
    let canonical_event = canonical::to_canonical_vec(&signed.event).unwrap();
    let message = sign::signed_message(sign::CONTEXT_EVENT, &canonical_event);
    let signature = torsioned_signature(alice_seed, &message);

    // The attack is real: a cofactored (batch) verifier accepts this signature; the rule
    // refuses it, on the single path and on the many-signatures path the ledger uses.
    let public = investigator().public_key();
    assert!(cofactored_equation_holds(
        &public.to_bytes(),
        &message,
        &signature
    ));
    assert!(
        sign::verify_canonical(&public, sign::CONTEXT_EVENT, &canonical_event, &signature).is_err()
    );
    let item = sign::BatchItem {
        key: &public,
        canonical: &canonical_event,
        signature: &signature,
    };
    assert_eq!(
        sign::verify_canonical_batch(sign::CONTEXT_EVENT, &vec![item; 200]),
        vec![false; 200]
    );

    // Written into the ledger with its leaf hash, the ledger path names the entry.
    signed.signature = sign::signature_to_hex(&signature);
    let bytes = canonical::to_canonical_vec(&signed).unwrap();
    RawDb::open(&f.path).execute(
        "UPDATE entries SET entry = ?1, leaf_hash = ?2 WHERE seq = ?3",
        &[v(&bytes), v(&merkle::leaf_hash(&bytes)), v(seq)],
    );
    let report = open(&f.path).verify(&[]).unwrap();
    assert!(
        report
            .findings
            .contains(&LedgerFinding::BadSignature { seq }),
        "{:#?}",
        report.findings
    );
}
