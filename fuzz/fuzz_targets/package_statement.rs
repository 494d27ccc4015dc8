#![no_main]
//! Package statements (custody/package.json) never panic on parse and round-trip.
use custody_pack::package::PackageStatement;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(statement) = PackageStatement::parse(data) {
        if let Ok(bytes) = statement.to_canonical() {
            assert!(PackageStatement::parse(&bytes).is_ok());
        }
    }
});
