//! Countersigning a sealed package: one entry added, every other entry byte-identical.

mod common;

use std::fs;
use std::path::Path;

use common::{identity, sender_with_one_item, Sender};
use custody_core::keys::{Identity, Signature};
use custody_pack::countersign::{countersign, CountersignError};
use custody_pack::layout;
use custody_pack::package::{Recipient, RequestInfo};
use custody_pack::seal::{seal, SealRequest, SenderInfo};
use custody_pack::zipscan::{ScanLimits, ZipEntry, ZipScanner};
use custody_pack::zipwrite::Compression;

fn sealed(dir: &Path, compression: Compression) -> (std::path::PathBuf, Identity) {
    let Sender {
        mut ledger,
        officer,
        log,
    } = sender_with_one_item(dir, "l.db", "C-9", "disk.img", &[7u8; 100_000]);
    let out = dir.join("C-9-1.zip");
    let request = SealRequest {
        case: "C-9".into(),
        id: None,
        items: vec!["C-9-1".into()],
        files: [("C-9-1".to_owned(), dir.join("disk.img"))].into(),
        sender: SenderInfo {
            authority: "Parquet de Paris".into(),
            ..SenderInfo::default()
        },
        recipient: Recipient {
            authority: "Staatsanwaltschaft Berlin".into(),
            jurisdiction: None,
        },
        request: RequestInfo::default(),
        use_limitations: vec![],
        confidential: false,
        personal_data: vec![],
        retention_until: None,
        sealed_time: time::macros::datetime!(2026-03-02 12:00:00 UTC),
        claimed_time: "2026-03-02T12:00:00Z".into(),
        compression,
    };
    seal(
        &mut ledger,
        request,
        &officer,
        std::slice::from_ref(&officer),
        &log,
        &out,
        &mut |_| {},
    )
    .unwrap();
    (out, officer)
}

/// Each entry's name and its raw bytes in the archive: local header and stored data.
fn raw_entries(zip: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = fs::read(zip).unwrap();
    let scanner = ZipScanner::new(fs::File::open(zip).unwrap(), &ScanLimits::default()).unwrap();
    assert!(scanner.scan().is_clean(), "{:?}", scanner.scan().findings);
    scanner
        .entries()
        .iter()
        .map(|e: &ZipEntry| {
            let start = e.local_header_offset as usize;
            let end = (e.data_offset.unwrap() + e.compressed_size) as usize;
            (e.name.clone(), bytes[start..end].to_vec())
        })
        .collect()
}

fn check_countersign(compression: Compression) {
    let dir = tempfile::tempdir().unwrap();
    let (zip, officer) = sealed(dir.path(), compression);
    let before = raw_entries(&zip);
    let prosecutor = identity("prosecutor@example.fr", 9);
    let outcome = countersign(&zip, &prosecutor).unwrap();
    let after = raw_entries(&zip);
    assert_eq!(after.len(), before.len() + 1);
    let new_name = format!(
        "C-9-1/{}",
        layout::signature_path(&prosecutor.verifier_key())
    );
    assert_eq!(format!("C-9-1/{}", outcome.signature_path), new_name);
    let others: Vec<(String, Vec<u8>)> = after
        .iter()
        .filter(|(n, _)| *n != new_name)
        .cloned()
        .collect();
    assert_eq!(others.len(), before.len());
    for ((a_name, a), (b_name, b)) in others.iter().zip(&before) {
        assert_eq!(a_name, b_name);
        assert!(a == b, "{a_name}: bytes changed");
    }
    // Still sorted, and the new signature verifies over the unchanged tag manifest.
    let names: Vec<&String> = after.iter().map(|(n, _)| n).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    let mut scanner =
        ZipScanner::new(fs::File::open(&zip).unwrap(), &ScanLimits::default()).unwrap();
    let index =
        |s: &ZipScanner<fs::File>, n: &str| s.entries().iter().position(|e| e.name == n).unwrap();
    let tm = index(&scanner, "C-9-1/tagmanifest-sha256.txt");
    let tag_manifest = scanner.read_entry(tm, 1 << 20).unwrap();
    let si = index(&scanner, &new_name);
    let sig = scanner.read_entry(si, 64).unwrap();
    prosecutor
        .public_key()
        .verify_raw(
            &tag_manifest,
            &Signature::from_bytes(sig.as_slice().try_into().unwrap()),
        )
        .unwrap();

    // Signing twice with the same key (or the sealer's) is refused and changes nothing.
    let bytes = fs::read(&zip).unwrap();
    for key in [&prosecutor, &officer] {
        let err = countersign(&zip, key).unwrap_err();
        assert!(
            matches!(err, CountersignError::AlreadySigned { .. }),
            "{err}"
        );
    }
    assert_eq!(fs::read(&zip).unwrap(), bytes);
}

#[test]
fn countersign_adds_one_entry_and_keeps_the_rest_stored() {
    check_countersign(Compression::Stored);
}

#[test]
fn countersign_adds_one_entry_and_keeps_the_rest_deflated() {
    check_countersign(Compression::Deflate);
}

#[test]
fn fail_countersign_not_a_zip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.zip");
    fs::write(&path, b"not a zip at all").unwrap();
    let err = countersign(&path, &identity("p", 3)).unwrap_err();
    assert!(
        matches!(
            err,
            CountersignError::Malformed { .. } | CountersignError::Zip { .. }
        ),
        "{err}"
    );
    assert_eq!(fs::read(&path).unwrap(), b"not a zip at all");
}
