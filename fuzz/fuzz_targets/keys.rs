#![no_main]
//! Key formats: verifier keys, PEM public keys and private key files never panic on parse.
use custody_core::keys::{Identity, PublicKey, VerifierKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(key) = text.parse::<VerifierKey>() {
            assert_eq!(key.to_string().parse::<VerifierKey>().ok(), Some(key));
        }
        let _ = PublicKey::from_pem(text);
        let _ = Identity::from_pem(text, Some("fuzz"));
    }
});
