//! Validation reports the bytes it hashes, so a front end can show progress.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use custody_pack::bagit::{validate_path, ValidateOptions};

static HASHED: AtomicU64 = AtomicU64::new(0);

fn count(bytes: u64) {
    HASHED.fetch_add(bytes, Ordering::Relaxed);
}

#[test]
fn progress_counts_every_payload_byte_hashed() {
    let bag = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/bagit/valid_v1_0_sha256");
    let options = ValidateOptions {
        progress: Some(count),
        ..ValidateOptions::default()
    };
    let report = validate_path(&bag, &options).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // Payload-Oxum is "<octets>.<files>": every payload octet passes through the hashers.
    let info = std::fs::read_to_string(bag.join("bag-info.txt")).unwrap();
    let oxum = info
        .lines()
        .find_map(|l| l.strip_prefix("Payload-Oxum: "))
        .unwrap();
    let payload: u64 = oxum.split('.').next().unwrap().parse().unwrap();
    assert!(payload > 0);
    assert!(HASHED.load(Ordering::Relaxed) >= payload);
}
