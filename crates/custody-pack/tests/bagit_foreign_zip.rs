//! Plain bags zipped by common tools validate with `verify --bagit`: archives made by
//! `zip -r` (to a file and to a pipe), `bsdtar` and Python's `zipfile` (seekable and
//! streaming) carry data descriptors and `UT`/`ux` extra fields, admitted for bags only
//! ([`ZipProfile::ForeignBag`]) under the one-reading rule. Package scans stay strict.
//! The tools must be installed (`.ci/run` installs them); a missing one fails the test.

use std::fs;
use std::io::{Cursor, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use custody_pack::bagit::{validate_path, validate_zip, ValidateOptions};
use custody_pack::zipscan::{ScanLimits, ZipFinding, ZipProfile, ZipScanner};

fn fixture_bag() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/bagit/valid_v1_0_sha256")
}

/// Copies the fixture bag to `dir/bag` and runs `shell` there, which must write
/// `dir/bag.zip`.
fn archive_with(shell: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .args([
            "-r",
            fixture_bag().to_str().unwrap(),
            dir.path().join("bag").to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let out = Command::new("sh")
        .args(["-c", shell])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run sh: {e}"));
    assert!(
        out.status.success(),
        "{shell}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let zip = dir.path().join("bag.zip");
    (dir, zip)
}

const PY_STREAMING: &str = r#"python3 - <<'PY'
import io, os, zipfile
class Pipe(io.RawIOBase):
    def __init__(self, f): self.f = f
    def writable(self): return True
    def write(self, b): return self.f.write(b)
with open('bag.zip', 'wb') as raw:
    with zipfile.ZipFile(Pipe(raw), 'w', zipfile.ZIP_DEFLATED) as z:
        for root, dirs, files in sorted(os.walk('bag')):
            for name in sorted(files):
                z.write(os.path.join(root, name))
PY"#;

#[track_caller]
fn validates_but_not_as_a_package(zip: &Path, expect_descriptor: bool) {
    let report = validate_path(zip, &ValidateOptions::default()).unwrap();
    assert!(report.is_valid(), "{}: {:#?}", zip.display(), report.errors);
    let foreign = ZipScanner::with_profile(
        fs::File::open(zip).unwrap(),
        &ScanLimits::default(),
        ZipProfile::ForeignBag,
    )
    .unwrap();
    assert!(foreign.scan().is_clean(), "{:#?}", foreign.scan().findings);
    every_reader_extracts_what_custody_reads(zip);
    let has_descriptor = foreign.entries().iter().any(|e| e.flags & 8 != 0);
    assert_eq!(has_descriptor, expect_descriptor, "{}", zip.display());
    // The package path keeps its strict subset: the same archive is refused there.
    let strict = ZipScanner::new(fs::File::open(zip).unwrap(), &ScanLimits::default()).unwrap();
    let tool_features = strict.scan().findings.iter().any(|f| {
        matches!(
            f,
            ZipFinding::UnexpectedExtraField { .. } | ZipFinding::UnsupportedFlags { .. }
        )
    });
    assert_eq!(
        tool_features,
        has_descriptor || extra_fields(zip),
        "{:#?}",
        strict.scan().findings
    );
}

/// One archive, one reading: every file Custody reads from the archive has the same bytes
/// when `unzip`, `bsdtar` reading from a pipe (a streaming reader, which must find each
/// entry's end from the data and its descriptor) and Python's `zipfile` extract it, and
/// none of them extracts a file Custody does not see.
fn every_reader_extracts_what_custody_reads(zip: &Path) {
    let mut scanner = ZipScanner::with_profile(
        fs::File::open(zip).unwrap(),
        &ScanLimits::default(),
        ZipProfile::ForeignBag,
    )
    .unwrap();
    let files: Vec<(usize, String)> = scanner
        .entries()
        .iter()
        .filter(|e| !e.is_dir())
        .map(|e| (e.index, e.name.clone()))
        .collect();
    let mut ours = Vec::new();
    for (index, name) in &files {
        ours.push((name.clone(), scanner.read_entry(*index, 1 << 20).unwrap()));
    }
    let zip_arg = zip.to_str().unwrap();
    let readers: [(&str, String); 3] = [
        ("unzip", format!("unzip -q '{zip_arg}' -d out")),
        (
            "bsdtar from a pipe",
            format!("cat '{zip_arg}' | bsdtar -xf - -C out"),
        ),
        (
            "python zipfile",
            format!(
                "python3 -c 'import zipfile; zipfile.ZipFile(\"{zip_arg}\").extractall(\"out\")'"
            ),
        ),
    ];
    for (reader, command) in readers {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("out")).unwrap();
        let out = Command::new("sh")
            .args(["-c", &command])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{reader}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for (name, bytes) in &ours {
            let theirs = fs::read(dir.path().join("out").join(name))
                .unwrap_or_else(|e| panic!("{reader} did not extract {name}: {e}"));
            assert_eq!(&theirs, bytes, "{reader} extracts other bytes for {name}");
        }
        let extracted = walkdir_files(&dir.path().join("out"));
        assert_eq!(extracted, ours.len(), "{reader} extracted other files");
    }
}

/// The number of regular files under `root`.
fn walkdir_files(root: &Path) -> usize {
    let mut pending = vec![root.to_path_buf()];
    let mut count = 0;
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path());
            } else {
                count += 1;
            }
        }
    }
    count
}

/// Whether any entry of the archive carries an extra field (per Python's zipfile).
fn extra_fields(zip: &Path) -> bool {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile; print(any(i.extra for i in zipfile.ZipFile(sys.argv[1]).infolist()))",
            zip.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "True"
}

#[test]
fn info_zip_to_a_file() {
    let (_dir, zip) = archive_with("zip -qr bag.zip bag");
    validates_but_not_as_a_package(&zip, false);
}

#[test]
fn info_zip_to_a_pipe_writes_descriptors() {
    let (_dir, zip) = archive_with("zip -qr - bag | cat > bag.zip");
    validates_but_not_as_a_package(&zip, true);
}

#[test]
fn bsdtar() {
    let (_dir, zip) = archive_with("bsdtar -a -cf bag.zip bag");
    validates_but_not_as_a_package(&zip, true);
}

#[test]
fn python_zipfile() {
    let (_dir, zip) = archive_with("python3 -m zipfile -c bag.zip bag");
    validates_but_not_as_a_package(&zip, false);
}

#[test]
fn python_zipfile_streaming_writes_descriptors() {
    let (_dir, zip) = archive_with(PY_STREAMING);
    validates_but_not_as_a_package(&zip, true);
}

// Hand-built archives: one DEFLATE entry, every byte chosen, to attack each admitted
// feature.

struct Entry {
    flags: u16,
    method: u16,
    local_crc: u32,
    local_csize: u32,
    local_usize: u32,
    local_extra: Vec<u8>,
    central_extra: Vec<u8>,
    /// Bytes after the data: the data descriptor, if any.
    descriptor: Vec<u8>,
}

const NAME: &[u8] = b"bag/bagit.txt";
const TEXT: &[u8] = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";

fn deflated() -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(TEXT).unwrap();
    enc.finish().unwrap()
}

fn crc() -> u32 {
    crc32fast::hash(TEXT)
}

fn descriptor(signed: bool, crc: u32, csize: u32, usize_: u32) -> Vec<u8> {
    let mut d = Vec::new();
    if signed {
        d.extend(0x0807_4b50u32.to_le_bytes());
    }
    for v in [crc, csize, usize_] {
        d.extend(v.to_le_bytes());
    }
    d
}

/// A well-formed streamed entry, as `bsdtar` writes one.
fn streamed() -> Entry {
    let data = deflated();
    Entry {
        flags: 8,
        method: 8,
        local_crc: 0,
        local_csize: 0,
        local_usize: 0,
        local_extra: ut(&[3, 1, 2, 3, 4, 5, 6, 7, 8]),
        central_extra: ut(&[3, 1, 2, 3, 4]),
        descriptor: descriptor(true, crc(), data.len() as u32, TEXT.len() as u32),
    }
}

fn ut(data: &[u8]) -> Vec<u8> {
    let mut field = vec![0x55, 0x54];
    field.extend((data.len() as u16).to_le_bytes());
    field.extend(data);
    field
}

fn build(e: &Entry) -> Vec<u8> {
    let data = if e.method == 8 {
        deflated()
    } else {
        TEXT.to_vec()
    };
    let mut out = Vec::new();
    let le16 = |v: u16| v.to_le_bytes();
    let le32 = |v: u32| v.to_le_bytes();
    out.extend(le32(0x0403_4b50));
    out.extend(le16(20));
    out.extend(le16(e.flags));
    out.extend(le16(e.method));
    out.extend(le32(0));
    out.extend(le32(e.local_crc));
    out.extend(le32(e.local_csize));
    out.extend(le32(e.local_usize));
    out.extend(le16(NAME.len() as u16));
    out.extend(le16(e.local_extra.len() as u16));
    out.extend(NAME);
    out.extend(&e.local_extra);
    out.extend(&data);
    out.extend(&e.descriptor);
    let cd_offset = out.len() as u32;
    out.extend(le32(0x0201_4b50));
    out.extend(le16(0x031e));
    out.extend(le16(20));
    out.extend(le16(e.flags));
    out.extend(le16(e.method));
    out.extend(le32(0));
    out.extend(le32(crc()));
    out.extend(le32(data.len() as u32));
    out.extend(le32(TEXT.len() as u32));
    out.extend(le16(NAME.len() as u16));
    out.extend(le16(e.central_extra.len() as u16));
    out.extend(le16(0));
    out.extend(le16(0));
    out.extend(le16(0));
    out.extend(le32(0o100644 << 16));
    out.extend(le32(0));
    out.extend(NAME);
    out.extend(&e.central_extra);
    let cd_size = out.len() as u32 - cd_offset;
    out.extend(le32(0x0605_4b50));
    out.extend([0; 4]);
    out.extend(le16(1));
    out.extend(le16(1));
    out.extend(le32(cd_size));
    out.extend(le32(cd_offset));
    out.extend(le16(0));
    out
}

fn foreign_findings(e: &Entry) -> Vec<ZipFinding> {
    let scanner = ZipScanner::with_profile(
        Cursor::new(build(e)),
        &ScanLimits::default(),
        ZipProfile::ForeignBag,
    )
    .unwrap();
    scanner.scan().findings.clone()
}

#[test]
fn streamed_entry_is_admitted_for_bags_only() {
    assert_eq!(foreign_findings(&streamed()), []);
    let strict = ZipScanner::new(Cursor::new(build(&streamed())), &ScanLimits::default()).unwrap();
    assert!(!strict.scan().is_clean());
    // And through the BagIt validator, which reads the bytes the scan accounted for.
    let report =
        validate_zip(Cursor::new(build(&streamed())), &ValidateOptions::default()).unwrap();
    assert!(
        !report
            .errors
            .iter()
            .any(|e| matches!(e, custody_pack::bagit::BagFinding::Zip { .. })),
        "{:#?}",
        report.errors
    );
}

#[test]
fn local_values_may_equal_the_central_ones() {
    let data = deflated();
    let e = Entry {
        local_crc: crc(),
        local_csize: data.len() as u32,
        local_usize: TEXT.len() as u32,
        ..streamed()
    };
    assert_eq!(foreign_findings(&e), []);
}

#[test]
fn fail_descriptor_disagrees_with_central_directory() {
    let data = deflated();
    let e = Entry {
        descriptor: descriptor(true, crc() ^ 1, data.len() as u32, TEXT.len() as u32),
        ..streamed()
    };
    let found = foreign_findings(&e);
    assert!(
        found
            .iter()
            .any(|f| matches!(f, ZipFinding::DescriptorMismatch { .. })),
        "{found:#?}"
    );
}

#[test]
fn fail_descriptor_without_signature() {
    let data = deflated();
    let e = Entry {
        descriptor: descriptor(false, crc(), data.len() as u32, TEXT.len() as u32),
        ..streamed()
    };
    let found = foreign_findings(&e);
    assert!(
        found
            .iter()
            .any(|f| matches!(f, ZipFinding::DescriptorUnsigned { .. })),
        "{found:#?}"
    );
}

#[test]
fn fail_local_value_neither_zero_nor_central() {
    let e = Entry {
        local_crc: crc() ^ 1,
        ..streamed()
    };
    let found = foreign_findings(&e);
    assert!(
        found
            .iter()
            .any(|f| matches!(f, ZipFinding::LocalHeaderMismatch { .. })),
        "{found:#?}"
    );
}

#[test]
fn fail_stored_entry_with_descriptor() {
    let e = Entry {
        method: 0,
        descriptor: descriptor(true, crc(), TEXT.len() as u32, TEXT.len() as u32),
        ..streamed()
    };
    let found = foreign_findings(&e);
    assert!(
        found
            .iter()
            .any(|f| matches!(f, ZipFinding::UnsupportedFlags { .. })),
        "{found:#?}"
    );
}

#[test]
fn fail_missing_descriptor() {
    let e = Entry {
        descriptor: Vec::new(),
        ..streamed()
    };
    let found = foreign_findings(&e);
    assert!(
        found
            .iter()
            .any(|f| matches!(f, ZipFinding::DescriptorMissing { .. })),
        "{found:#?}"
    );
}

#[test]
fn fail_malformed_timestamp_field() {
    let e = Entry {
        local_extra: ut(&[0x80, 1, 2, 3, 4]),
        ..streamed()
    };
    let found = foreign_findings(&e);
    assert!(
        found
            .iter()
            .any(|f| matches!(f, ZipFinding::ExtraFieldMalformed { .. })),
        "{found:#?}"
    );
}

#[test]
fn fail_owner_field_past_its_bound() {
    let mut ux = vec![0x75, 0x78, 16, 0, 1, 9];
    ux.extend([0; 9]);
    ux.extend([1, 0]);
    let e = Entry {
        local_extra: ux,
        ..streamed()
    };
    let found = foreign_findings(&e);
    assert!(
        found
            .iter()
            .any(|f| matches!(f, ZipFinding::ExtraFieldMalformed { .. })),
        "{found:#?}"
    );
}

#[test]
fn fail_other_extra_fields_stay_refused() {
    // NTFS times (0x000a): not admitted even for bags.
    let e = Entry {
        local_extra: vec![0x0a, 0x00, 0, 0],
        ..streamed()
    };
    let found = foreign_findings(&e);
    assert!(
        found
            .iter()
            .any(|f| matches!(f, ZipFinding::UnexpectedExtraField { id: 0x000a, .. })),
        "{found:#?}"
    );
}
