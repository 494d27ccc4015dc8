//! The package writer: reproducible bytes, clean scans, exact read-back, atomic output,
//! and bags it writes that the validator accepts.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use custody_core::hash::hash_reader;
use custody_pack::bagit::{self, write as bagwrite, ValidateOptions};
use custody_pack::zipscan::{entry_name_findings, ScanLimits, ZipScanner};
use custody_pack::zipwrite::{Compression, PackageWriter, WriteSettings, ZipWriteError};
use proptest::prelude::*;

fn write_package(dest: &Path, entries: &[(String, Vec<u8>)], settings: WriteSettings) {
    let mut writer = PackageWriter::create(dest, settings).unwrap();
    for (name, bytes) in entries {
        let digests = writer.add_bytes(name, bytes).unwrap();
        assert_eq!(digests, hash_reader(&bytes[..], &mut |_| {}).unwrap());
    }
    writer.finish().unwrap();
}

fn read_back(path: &Path) -> (Vec<String>, Vec<Vec<u8>>, usize) {
    let mut zip = ZipScanner::new(File::open(path).unwrap(), &ScanLimits::default()).unwrap();
    let findings = zip.scan().findings.len();
    let names = zip.entries().iter().map(|e| e.name.clone()).collect();
    let contents = (0..zip.entries().len())
        .map(|i| zip.read_entry(i, u64::MAX).unwrap())
        .collect();
    (names, contents, findings)
}

/// Safe, case-distinct names (unsafe ones are rejected, see `fail_unsafe_entry_names`).
fn entries_strategy() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    proptest::collection::btree_map(
        "[a-z]{1,8}(/[a-z0-9_-]{1,6}(\\.[a-z]{1,3})?){0,2}",
        proptest::collection::vec(any::<u8>(), 0..2048),
        0..6,
    )
    .prop_filter(
        "names the scan accepts together (no file also used as a directory)",
        |m| entry_name_findings(m.keys().map(String::as_str)).is_empty(),
    )
    .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn written_archives_scan_clean_and_read_back(entries in entries_strategy(), deflate in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("p.zip");
        let settings = WriteSettings {
            compression: if deflate { Compression::Deflate } else { Compression::Stored },
            ..WriteSettings::default()
        };
        write_package(&dest, &entries, settings);
        let (names, contents, findings) = read_back(&dest);
        prop_assert_eq!(findings, 0);
        prop_assert_eq!(names, entries.iter().map(|e| e.0.clone()).collect::<Vec<_>>());
        prop_assert_eq!(contents, entries.iter().map(|e| e.1.clone()).collect::<Vec<_>>());
    }
}

#[test]
fn same_inputs_give_identical_bytes() {
    let entries = vec![
        ("b/one.txt".to_owned(), b"first".to_vec()),
        ("a/two.bin".to_owned(), vec![7u8; 100_000]),
    ];
    let dir = tempfile::tempdir().unwrap();
    for compression in [Compression::Stored, Compression::Deflate] {
        let settings = WriteSettings {
            compression,
            ..WriteSettings::default()
        };
        let (x, y) = (dir.path().join("x.zip"), dir.path().join("y.zip"));
        write_package(&x, &entries, settings);
        write_package(&y, &entries, settings);
        assert_eq!(std::fs::read(&x).unwrap(), std::fs::read(&y).unwrap());
    }
}

/// A source that fails halfway, as a disk error would.
struct Failing(usize);

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0 == 0 {
            return Err(io::Error::other("device error"));
        }
        let n = buf.len().min(self.0);
        buf[..n].fill(1);
        self.0 -= n;
        Ok(n)
    }
}

#[test]
fn fail_source_error_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("p.zip");
    let mut writer = PackageWriter::create(&dest, WriteSettings::default()).unwrap();
    writer.add_bytes("a.txt", b"fine").unwrap();
    let err = writer
        .add_entry("b.bin", Failing(10_000), Some(20_000), &mut |_| {})
        .unwrap_err();
    assert!(
        matches!(&err, ZipWriteError::Entry { name, .. } if name == "b.bin"),
        "{err}"
    );
    drop(writer);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "partial output left behind"
    );
}

#[test]
fn fail_duplicate_entry_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        PackageWriter::create(&dir.path().join("p.zip"), WriteSettings::default()).unwrap();
    writer.add_bytes("a.txt", b"1").unwrap();
    assert!(matches!(
        writer.add_bytes("a.txt", b"2"),
        Err(ZipWriteError::DuplicateName { name }) if name == "a.txt"
    ));
}

#[test]
fn fail_unsafe_entry_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        PackageWriter::create(&dir.path().join("p.zip"), WriteSettings::default()).unwrap();
    for name in [
        "../x",
        "/abs",
        "a\\b",
        "a//b",
        "dir/",
        "",
        "a\nb",
        "cafe\u{301}",
        &"x".repeat(256),
    ] {
        assert!(
            matches!(
                writer.add_bytes(name, b"x"),
                Err(ZipWriteError::BadName { .. })
            ),
            "{name:?} accepted"
        );
    }
}

#[test]
fn fail_entry_names_colliding_with_earlier_ones() {
    use custody_pack::zipscan::ZipFinding;
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        PackageWriter::create(&dir.path().join("p.zip"), WriteSettings::default()).unwrap();
    writer.add_bytes("P/Report.txt", b"x").unwrap();
    writer.add_bytes("P/d/x", b"x").unwrap();
    let err = writer.add_bytes("P/report.txt", b"y").unwrap_err();
    assert!(
        matches!(&err, ZipWriteError::NameCollision { finding: ZipFinding::CaseCollision { name, other } }
            if name == "P/report.txt" && other == "P/Report.txt"),
        "{err}"
    );
    let err = writer.add_bytes("P/d", b"y").unwrap_err();
    assert!(
        matches!(
            &err,
            ZipWriteError::NameCollision {
                finding: ZipFinding::PathConflict { .. }
            }
        ),
        "{err}"
    );
    assert!(matches!(
        writer.add_bytes("P/d/x", b"y"),
        Err(ZipWriteError::DuplicateName { .. })
    ));
}

#[test]
fn written_bag_validates_without_findings() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("CASE-1.zip");
    let mut writer = PackageWriter::create(&dest, WriteSettings::default()).unwrap();
    let payload: [(&str, &[u8]); 2] = [
        ("data/a.txt", b"alpha\n"),
        ("data/100% sure.txt", b"beta\n"),
    ];
    let mut sha = Vec::new();
    let mut b3 = Vec::new();
    let mut octets = 0;
    for (path, bytes) in payload {
        let d = writer.add_bytes(&format!("CASE-1/{path}"), bytes).unwrap();
        octets += d.size;
        sha.push((path, d.sha256_hex()));
        b3.push((path, d.blake3_hex()));
    }
    let mut info = bagwrite::BagInfo::new();
    info.push("Source-Organization", "Example Unit").unwrap();
    info.push("Payload-Oxum", &bagwrite::payload_oxum(octets, 2))
        .unwrap();
    let tags = [
        ("bagit.txt", bagwrite::BAGIT_TXT.to_owned()),
        ("bag-info.txt", info.to_text(Some(79))),
        (
            "manifest-sha256.txt",
            bagwrite::manifest_text(sha.iter().map(|(p, d)| (*p, d.as_str()))),
        ),
        (
            "manifest-blake3.txt",
            bagwrite::manifest_text(b3.iter().map(|(p, d)| (*p, d.as_str()))),
        ),
    ];
    let mut tag_sha = Vec::new();
    for (name, text) in &tags {
        let d = writer
            .add_bytes(&format!("CASE-1/{name}"), text.as_bytes())
            .unwrap();
        tag_sha.push((*name, d.sha256_hex()));
    }
    let tagmanifest = bagwrite::manifest_text(tag_sha.iter().map(|(p, d)| (*p, d.as_str())));
    writer
        .add_bytes("CASE-1/tagmanifest-sha256.txt", tagmanifest.as_bytes())
        .unwrap();
    writer.finish().unwrap();

    let report = bagit::validate_path(&dest, &ValidateOptions::default()).unwrap();
    assert_eq!(report.version.as_deref(), Some("1.0"));
    assert_eq!(report.errors, vec![]);
    assert_eq!(report.warnings, vec![]);
}
