#![no_main]
//! Package statements (custody/package.json): never a panic; an accepted statement is
//! exactly its canonical bytes.
use custody_pack::package::PackageStatement;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(statement) = PackageStatement::parse(data) {
        assert_eq!(statement.to_canonical().unwrap(), data);
    }
});
