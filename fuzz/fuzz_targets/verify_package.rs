#![no_main]
//! Package verification of arbitrary bytes, through the one shared scan, never panics and
//! agrees with the BagIt validator run on its own: every BagIt error is among the package
//! findings, and a verified package is a valid bag.
use std::io::Cursor;

use custody_pack::bagit::{validate_zip, BagFinding};
use custody_pack::verify::{verify_reader, FindingKind, VerifyOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = VerifyOptions::default();
    let Ok(report) = verify_reader(Cursor::new(data), &options) else {
        return;
    };
    let Ok(bag) = validate_zip(Cursor::new(data), &options.bag) else {
        panic!("BagIt validation failed to run where package verification ran");
    };
    assert!(!report.verified || bag.is_valid());
    for error in &bag.errors {
        let found = report.findings.iter().any(|f| match (&f.kind, error) {
            (FindingKind::Bag(b), e) => b == e,
            (FindingKind::Zip(z), BagFinding::Zip { finding }) => z == finding,
            (FindingKind::Integrity(i), BagFinding::ZipEntryIntegrity { error, .. }) => {
                i == error
            }
            _ => false,
        });
        assert!(found, "BagIt error missing from the package report: {error}");
    }
});
