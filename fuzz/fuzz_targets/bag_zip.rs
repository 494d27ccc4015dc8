#![no_main]
//! BagIt validation of a ZIP (tag files, manifests, fetch.txt) never panics.
use std::io::Cursor;

use custody_pack::bagit::{validate_zip, ValidateOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = validate_zip(Cursor::new(data), &ValidateOptions::default());
});
