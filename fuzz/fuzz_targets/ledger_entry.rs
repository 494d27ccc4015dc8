#![no_main]
//! Ledger entries as a package carries them (custody/events/<seq>.json): never a panic; an
//! accepted entry is exactly its canonical bytes.
use custody_core::canonical;
use custody_store::SignedEvent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = canonical::parse_strict::<SignedEvent>(data) {
        assert_eq!(canonical::to_canonical_vec(&entry).unwrap(), data);
    }
});
