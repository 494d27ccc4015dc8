#![no_main]
//! The strict reader of signed JSON against RFC 8785 re-canonicalisation: it accepts
//! exactly the texts re-canonicalisation leaves unchanged (apart from its size and depth
//! limits), and whatever it accepts re-serialises to the identical bytes.
use custody_core::canonical::{self, StrictJsonError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let unchanged = canonical::canonicalize(data).ok().as_deref() == Some(data);
    match canonical::check_strict(data) {
        Ok(()) => assert!(unchanged, "accepted but not canonical"),
        Err(StrictJsonError::TooDeep { .. } | StrictJsonError::TooLarge { .. }) => {}
        Err(e) => assert!(!unchanged, "canonical but refused: {e}"),
    }
    if let Ok(value) = canonical::parse_strict::<serde_json::Value>(data) {
        assert_eq!(canonical::to_canonical_vec(&value).unwrap(), data);
    }
});
