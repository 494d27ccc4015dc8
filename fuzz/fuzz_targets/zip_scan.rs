#![no_main]
//! The ZIP structure scanner and its safe entry reader never panic and never read past a
//! declared size.
use std::io::{Cursor, Read};

use custody_pack::zipscan::{ScanLimits, ZipScanner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut scanner) = ZipScanner::new(Cursor::new(data), &ScanLimits::default()) else {
        return;
    };
    for index in 0..scanner.entries().len() {
        if let Ok(mut reader) = scanner.open_entry(index) {
            let mut sink = Vec::new();
            let _ = reader.by_ref().take(1 << 20).read_to_end(&mut sink);
        }
    }
});
