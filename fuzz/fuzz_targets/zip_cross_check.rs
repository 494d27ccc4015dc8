#![no_main]
//! One archive, one reading: whenever the structural scan finds nothing wrong, the `zip`
//! crate reads exactly the same files with exactly the same bytes as Custody's own entry
//! reader, under both scan profiles. Seed with `cargo +nightly fuzz run zip_cross_check ../fixtures/zip ../fixtures/bagit`.
use custody_pack::zipscan::cross_check::{cross_check, cross_check_profile};
use custody_pack::zipscan::ZipProfile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(disagreement) = cross_check(data) {
        panic!("{disagreement}");
    }
    // The wider subset `verify --bagit` admits for bags from other tools.
    if let Err(disagreement) = cross_check_profile(data, ZipProfile::ForeignBag) {
        panic!("foreign bag profile: {disagreement}");
    }
});
