//! Each ZIP fixture in fixtures/zip/ against the finding it must produce.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use custody_pack::zipscan::{EntryIntegrityError, HeaderField, ScanLimits, ZipFinding, ZipScanner};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/zip")
        .join(name)
}

fn scan(name: &str) -> ZipScanner<File> {
    let file = File::open(fixture(name)).expect("fixture");
    ZipScanner::new(file, &ScanLimits::default()).expect("scan")
}

fn findings(name: &str) -> Vec<ZipFinding> {
    scan(name).scan().findings.clone()
}

#[track_caller]
fn assert_finding(name: &str, wanted: impl Fn(&ZipFinding) -> bool) {
    let found = findings(name);
    assert!(
        found.iter().any(wanted),
        "{name}: unexpected findings {found:#?}"
    );
}

#[test]
fn python_zipfile_archive_is_clean_and_readable() {
    let mut zip = scan("valid_python.zip");
    assert_eq!(zip.scan().findings, vec![]);
    let names: Vec<_> = zip.entries().iter().map(|e| e.name.clone()).collect();
    assert_eq!(names, ["bag/", "bag/hello.txt", "bag/deflated.txt"]);
    assert_eq!(zip.read_entry(1, 1 << 20).unwrap(), b"hello, world\n");
    assert_eq!(
        zip.read_entry(2, 1 << 20).unwrap(),
        b"evidence ".repeat(200)
    );
}

#[test]
fn fail_zip_slip() {
    assert_finding(
        "fail_zip_slip.zip",
        |f| matches!(f, ZipFinding::PathEscapes { name } if name == "../evil"),
    );
}

#[test]
fn fail_absolute() {
    assert_finding(
        "fail_absolute.zip",
        |f| matches!(f, ZipFinding::AbsolutePath { name } if name == "/etc/x"),
    );
}

#[test]
fn fail_backslash() {
    assert_finding(
        "fail_backslash.zip",
        |f| matches!(f, ZipFinding::Backslash { name } if name == "dir\\x.txt"),
    );
}

#[test]
fn fail_symlink() {
    assert_finding(
        "fail_symlink.zip",
        |f| matches!(f, ZipFinding::Symlink { name } if name == "link"),
    );
    let mut zip = scan("fail_symlink.zip");
    assert!(
        zip.open_entry(0).is_err(),
        "a symlink must not be opened as a file"
    );
}

#[test]
fn fail_duplicate() {
    assert_finding(
        "fail_duplicate.zip",
        |f| matches!(f, ZipFinding::DuplicateName { name, first: 0, second: 1 } if name == "a.txt"),
    );
}

#[test]
fn fail_case_collision() {
    assert_finding(
        "fail_case_collision.zip",
        |f| matches!(f, ZipFinding::CaseCollision { name, other } if name == "a.txt" && other == "A.txt"),
    );
}

#[test]
fn fail_nfc_collision() {
    assert_finding("fail_nfc_collision.zip", |f| {
        matches!(f, ZipFinding::NormalizationCollision { name, other }
            if name == "cafe\u{301}.txt" && other == "caf\u{e9}.txt")
    });
}

#[test]
fn fail_encrypted() {
    assert_finding(
        "fail_encrypted.zip",
        |f| matches!(f, ZipFinding::Encrypted { name } if name == "secret.txt"),
    );
    assert!(scan("fail_encrypted.zip").open_entry(0).is_err());
}

#[test]
fn fail_unsupported_method() {
    assert_finding(
        "fail_unsupported_method.zip",
        |f| matches!(f, ZipFinding::UnsupportedCompression { name, method: 12 } if name == "x.txt"),
    );
}

#[test]
fn fail_size_lie() {
    assert_finding("fail_size_lie.zip", |f| {
        matches!(f, ZipFinding::LocalHeaderMismatch {
            name, field: HeaderField::UncompressedSize, central: 13, local: 5
        } if name == "hello.txt")
    });
}

#[test]
fn fail_crc_lie() {
    // Both headers agree, so the structure looks fine…
    let mut zip = scan("fail_crc_lie.zip");
    assert_eq!(zip.scan().findings, vec![]);
    // …until the bytes are read.
    let mut out = Vec::new();
    let err = zip
        .open_entry(0)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap_err();
    let integrity = EntryIntegrityError::from_io(&err).expect("integrity error");
    assert!(
        matches!(integrity, EntryIntegrityError::Crc32 { name, declared: 0xDEAD_BEEF, .. }
        if name == "hello.txt")
    );
}

#[test]
fn fail_overlap() {
    assert_finding(
        "fail_overlap.zip",
        |f| matches!(f, ZipFinding::OverlappingEntries { name, other } if name == "b.txt" && other == "a.txt"),
    );
}

#[test]
fn fail_trailing() {
    assert_finding("fail_trailing.zip", |f| {
        matches!(f, ZipFinding::TrailingData { len: 26 })
    });
}

#[test]
fn fail_prepended() {
    assert_finding("fail_prepended.zip", |f| {
        matches!(f, ZipFinding::PrependedData { len: 32 })
    });
}

#[test]
fn fail_count_mismatch() {
    assert_finding("fail_count_mismatch.zip", |f| {
        matches!(
            f,
            ZipFinding::EntryCountMismatch {
                declared: 3,
                found: 2
            }
        )
    });
}

#[test]
fn fail_bomb() {
    assert_finding("fail_bomb.zip", |f| {
        matches!(f, ZipFinding::CompressionRatio { name, uncompressed, limit: 100, .. }
            if name == "zeros.bin" && *uncompressed == 50 << 20)
    });
}

#[test]
fn fail_bomb_total_size_limit() {
    let limits = ScanLimits {
        max_total_uncompressed: 1 << 20,
        ..ScanLimits::default()
    };
    let zip = ZipScanner::new(File::open(fixture("fail_bomb.zip")).unwrap(), &limits).unwrap();
    assert!(zip.scan().findings.iter().any(|f| matches!(
        f,
        ZipFinding::TotalSizeExceeded { total, limit: 1_048_576 } if *total == 50 << 20
    )));
}

#[test]
fn fail_local_name_mismatch() {
    assert_finding("fail_local_name_mismatch.zip", |f| {
        matches!(f, ZipFinding::LocalNameMismatch { name, local_name }
            if name == "good.txt" && local_name == "evil.txt")
    });
}

#[test]
fn fail_not_a_zip() {
    assert_eq!(
        findings("fail_not_a_zip.zip"),
        vec![ZipFinding::NoEndOfCentralDirectory]
    );
}

#[test]
fn every_fail_fixture_has_a_finding_or_fails_to_stream() {
    for entry in std::fs::read_dir(fixture("")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.starts_with("fail_") {
            continue;
        }
        let mut zip = scan(&name);
        if !zip.scan().findings.is_empty() {
            continue;
        }
        let mut streamed_clean = true;
        for i in 0..zip.entries().len() {
            let mut sink = Vec::new();
            let ok = zip
                .open_entry(i)
                .map(|mut r| r.read_to_end(&mut sink).is_ok());
            streamed_clean &= matches!(ok, Ok(true));
        }
        assert!(!streamed_clean, "{name}: no finding at all");
    }
}
