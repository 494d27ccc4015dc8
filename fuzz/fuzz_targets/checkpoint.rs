#![no_main]
//! Checkpoint bodies: parsing never panics and round-trips.
use custody_core::checkpoint::Checkpoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(checkpoint) = Checkpoint::parse_body(text) {
            assert_eq!(Checkpoint::parse_body(&checkpoint.body()), Ok(checkpoint));
        }
    }
});
