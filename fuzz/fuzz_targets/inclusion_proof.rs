#![no_main]
//! Inclusion proof files (custody/proofs/<seq>.json): never a panic; an accepted proof is
//! exactly its canonical bytes, and checking it against any leaf and root never panics.
use custody_core::canonical;
use custody_core::merkle::InclusionProof;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(proof) = canonical::parse_strict::<InclusionProof>(data) {
        assert_eq!(canonical::to_canonical_vec(&proof).unwrap(), data);
        let _ = proof.verify(&[0; 32], &[0; 32]);
    }
});
