//! One archive, one reading: Custody's verdict on crafted archives against what every
//! common ZIP reader extracts from them.
//!
//! Each archive is built byte by byte here, so every malformation is exact. For each one
//! the test records Custody's verdict (a clean scan and every entry readable through
//! `ZipScanner::open_entry`) and what Info-ZIP `unzip`, Python `zipfile`, Java's streaming
//! `ZipInputStream` (`jar x` on stdin), libarchive `bsdtar` (on the file and streaming on
//! stdin) and the `zip` crate extract. The property: whenever Custody says clean, every
//! reader extracts exactly Custody's files with exactly Custody's bytes; and every crafted
//! malformation is refused with the finding that names it.
//!
//! A reader that cannot be run fails the test with the package that provides it.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{Cursor, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use custody_pack::zipscan::cross_check::{self, CrossCheck, Files};
use custody_pack::zipscan::{
    DeflateProblem, HeaderField, HeaderKind, ScanLimits, ZipFinding, ZipScanner,
};
use custody_pack::zipwrite::{Compression, PackageWriter, WriteSettings};

// ---------------------------------------------------------------------------------------
// A small ZIP byte builder.

const UNIX_FILE: u32 = 0o100_644 << 16;
const MADE_BY_UNIX: u16 = (3 << 8) | 20;
const FLAG_UTF8: u16 = 1 << 11;

/// One entry: what the central directory says, and what the local header says where it
/// differs.
#[derive(Clone, Debug)]
struct Entry {
    name: Vec<u8>,
    /// Bytes placed after the local header (the stored or deflated data).
    data: Vec<u8>,
    method: u16,
    flags: u16,
    crc: u32,
    csize: u32,
    usize: u32,
    version_made_by: u16,
    version_needed: u16,
    external: u32,
    time: u16,
    date: u16,
    central_extra: Vec<u8>,
    local_extra: Vec<u8>,
    local: LocalOverride,
    /// Bytes written after the data (a descriptor, or something hidden).
    after: Vec<u8>,
    /// Write no local header or data for this entry; its central header points at
    /// `offset` instead.
    offset_override: Option<u32>,
}

#[derive(Clone, Debug, Default)]
struct LocalOverride {
    name: Option<Vec<u8>>,
    flags: Option<u16>,
    method: Option<u16>,
    crc: Option<u32>,
    csize: Option<u32>,
    usize: Option<u32>,
}

impl Entry {
    fn stored(name: &str, content: &[u8]) -> Entry {
        let flags = if name.is_ascii() { 0 } else { FLAG_UTF8 };
        Entry {
            name: name.as_bytes().to_vec(),
            data: content.to_vec(),
            method: 0,
            flags,
            crc: crc32fast::hash(content),
            csize: content.len() as u32,
            usize: content.len() as u32,
            version_made_by: MADE_BY_UNIX,
            version_needed: 10,
            external: UNIX_FILE,
            time: 0,
            date: 33,
            central_extra: Vec::new(),
            local_extra: Vec::new(),
            local: LocalOverride::default(),
            after: Vec::new(),
            offset_override: None,
        }
    }

    fn deflated(name: &str, content: &[u8]) -> Entry {
        let stream = deflate(content);
        Entry {
            csize: stream.len() as u32,
            data: stream,
            method: 8,
            version_needed: 20,
            ..Entry::stored(name, content)
        }
    }

    fn local_header(&self) -> Vec<u8> {
        let l = &self.local;
        let name = l.name.clone().unwrap_or_else(|| self.name.clone());
        let mut h = Vec::new();
        h.extend(0x0403_4b50u32.to_le_bytes());
        h.extend(self.version_needed.to_le_bytes());
        h.extend(l.flags.unwrap_or(self.flags).to_le_bytes());
        h.extend(l.method.unwrap_or(self.method).to_le_bytes());
        h.extend(self.time.to_le_bytes());
        h.extend(self.date.to_le_bytes());
        h.extend(l.crc.unwrap_or(self.crc).to_le_bytes());
        h.extend(l.csize.unwrap_or(self.csize).to_le_bytes());
        h.extend(l.usize.unwrap_or(self.usize).to_le_bytes());
        h.extend((name.len() as u16).to_le_bytes());
        h.extend((self.local_extra.len() as u16).to_le_bytes());
        h.extend(&name);
        h.extend(&self.local_extra);
        h
    }

    /// Local header, data and whatever follows: the entry's bytes in the archive.
    fn local_record(&self) -> Vec<u8> {
        let mut r = self.local_header();
        r.extend(&self.data);
        r.extend(&self.after);
        r
    }

    fn central_header(&self, offset: u32) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend(0x0201_4b50u32.to_le_bytes());
        h.extend(self.version_made_by.to_le_bytes());
        h.extend(self.version_needed.to_le_bytes());
        h.extend(self.flags.to_le_bytes());
        h.extend(self.method.to_le_bytes());
        h.extend(self.time.to_le_bytes());
        h.extend(self.date.to_le_bytes());
        h.extend(self.crc.to_le_bytes());
        h.extend(self.csize.to_le_bytes());
        h.extend(self.usize.to_le_bytes());
        h.extend((self.name.len() as u16).to_le_bytes());
        h.extend((self.central_extra.len() as u16).to_le_bytes());
        h.extend(0u16.to_le_bytes()); // comment length
        h.extend(0u16.to_le_bytes()); // disk number start
        h.extend(0u16.to_le_bytes()); // internal attributes
        h.extend(self.external.to_le_bytes());
        h.extend(offset.to_le_bytes());
        h.extend(&self.name);
        h.extend(&self.central_extra);
        h
    }
}

/// A whole archive.
#[derive(Clone, Debug, Default)]
struct Archive {
    prefix: Vec<u8>,
    entries: Vec<Entry>,
    comment: Vec<u8>,
    trailing: Vec<u8>,
    /// A ZIP64 end record (with this entry count and extensible data) and its locator.
    zip64_end: Option<(u64, Vec<u8>)>,
}

impl Archive {
    fn of(entries: Vec<Entry>) -> Archive {
        Archive {
            entries,
            ..Archive::default()
        }
    }

    fn build(&self) -> Vec<u8> {
        let mut out = self.prefix.clone();
        let mut offsets = Vec::new();
        for e in &self.entries {
            match e.offset_override {
                Some(offset) => offsets.push(offset),
                None => {
                    offsets.push(out.len() as u32);
                    out.extend(e.local_record());
                }
            }
        }
        let cd_offset = out.len() as u32;
        for (e, &offset) in self.entries.iter().zip(&offsets) {
            out.extend(e.central_header(offset));
        }
        let cd_size = out.len() as u32 - cd_offset;
        let n = self.entries.len() as u16;
        if let Some((entries, extensible)) = &self.zip64_end {
            let record_offset = out.len() as u64;
            out.extend(0x0606_4b50u32.to_le_bytes());
            out.extend((44 + extensible.len() as u64).to_le_bytes());
            out.extend(45u16.to_le_bytes()); // made by
            out.extend(45u16.to_le_bytes()); // needed
            out.extend([0u8; 8]); // this disk, central directory disk
            out.extend(entries.to_le_bytes());
            out.extend(entries.to_le_bytes());
            out.extend(u64::from(cd_size).to_le_bytes());
            out.extend(u64::from(cd_offset).to_le_bytes());
            out.extend(extensible);
            out.extend(0x0706_4b50u32.to_le_bytes());
            out.extend(0u32.to_le_bytes());
            out.extend(record_offset.to_le_bytes());
            out.extend(1u32.to_le_bytes());
        }
        out.extend(eocd(n, cd_size, cd_offset, &self.comment));
        out.extend(&self.trailing);
        out
    }
}

fn eocd(entries: u16, cd_size: u32, cd_offset: u32, comment: &[u8]) -> Vec<u8> {
    let mut r = Vec::new();
    r.extend(0x0605_4b50u32.to_le_bytes());
    r.extend([0u8; 4]); // this disk, central directory disk
    r.extend(entries.to_le_bytes());
    r.extend(entries.to_le_bytes());
    r.extend(cd_size.to_le_bytes());
    r.extend(cd_offset.to_le_bytes());
    r.extend((comment.len() as u16).to_le_bytes());
    r.extend(comment);
    r
}

fn deflate(content: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
    enc.write_all(content).unwrap();
    enc.finish().unwrap()
}

fn extra(id: u16, data: &[u8]) -> Vec<u8> {
    let mut r = id.to_le_bytes().to_vec();
    r.extend((data.len() as u16).to_le_bytes());
    r.extend(data);
    r
}

// ---------------------------------------------------------------------------------------
// The corpus.

const PAYLOAD: &[u8] = b"the evidence as sealed\n";
const HIDDEN: &[u8] = b"bytes only some readers see\n";

/// A crafted archive and the finding Custody must report for it.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    expect: fn(&ZipFinding) -> bool,
}

fn hidden_entry() -> Vec<u8> {
    Entry::stored("hidden.txt", HIDDEN).local_record()
}

fn crafted() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut case = |name, archive: Archive, expect| {
        cases.push(Case {
            name,
            bytes: archive.build(),
            expect,
        })
    };

    let mut e = Entry::stored("a.txt", PAYLOAD);
    e.flags |= 1 << 13;
    case(
        "flag_bit_13",
        Archive::of(vec![e]),
        |f| matches!(f, ZipFinding::UnsupportedFlags { flags, .. } if *flags == 1 << 13),
    );

    // The directory's "data" is a whole local entry, which a reader that skips nothing
    // for a directory meets as the next file.
    let mut d = Entry::stored("d/", &hidden_entry());
    d.external = (0o040_755 << 16) | 0x10;
    case(
        "data_in_directory_entry",
        Archive::of(vec![d, Entry::stored("a.txt", PAYLOAD)]),
        |f| matches!(f, ZipFinding::DirectoryWithData { name, .. } if name == "d/"),
    );

    let mut e = Entry::deflated("a.txt", PAYLOAD);
    e.data.extend(hidden_entry());
    e.csize = e.data.len() as u32;
    case("bytes_after_deflate_stream", Archive::of(vec![e]), |f| {
        matches!(
            f,
            ZipFinding::DeflateStream {
                problem: DeflateProblem::EndsBeforeCompressedSize { .. },
                ..
            }
        )
    });

    let mut e = Entry::deflated("a.txt", PAYLOAD);
    e.data.extend([0u8; 16]);
    e.csize = e.data.len() as u32;
    case(
        "deflate_shorter_than_compressed_size",
        Archive::of(vec![e]),
        |f| {
            matches!(
                f,
                ZipFinding::DeflateStream {
                    problem: DeflateProblem::EndsBeforeCompressedSize { .. },
                    ..
                }
            )
        },
    );

    let mut e = Entry::deflated("a.txt", &PAYLOAD.repeat(50));
    e.csize -= 3;
    e.local.csize = Some(e.csize);
    case(
        "compressed_size_ends_inside_stream",
        Archive::of(vec![e]),
        |f| {
            matches!(
                f,
                ZipFinding::DeflateStream {
                    problem: DeflateProblem::RunsPastCompressedSize { .. },
                    ..
                }
            )
        },
    );

    let mut e = Entry::stored("a.txt", PAYLOAD);
    e.local.name = Some(b"b.txt".to_vec());
    case(
        "local_central_name_mismatch",
        Archive::of(vec![e]),
        |f| matches!(f, ZipFinding::LocalNameMismatch { local_name, .. } if local_name == "b.txt"),
    );

    let mut e = Entry::stored("a.txt", PAYLOAD);
    e.local.csize = Some(3);
    e.local.usize = Some(3);
    case("local_central_size_mismatch", Archive::of(vec![e]), |f| {
        matches!(
            f,
            ZipFinding::LocalHeaderMismatch {
                field: HeaderField::CompressedSize,
                local: 3,
                ..
            }
        )
    });

    let mut e = Entry::stored("a.txt", PAYLOAD);
    e.local.crc = Some(0xDEAD_BEEF);
    case("local_central_crc_mismatch", Archive::of(vec![e]), |f| {
        matches!(
            f,
            ZipFinding::LocalHeaderMismatch {
                field: HeaderField::Crc32,
                ..
            }
        )
    });

    let mut e = Entry::deflated("a.txt", PAYLOAD);
    e.local.method = Some(0);
    case("local_central_method_mismatch", Archive::of(vec![e]), |f| {
        matches!(
            f,
            ZipFinding::LocalHeaderMismatch {
                field: HeaderField::Method,
                ..
            }
        )
    });

    let mut e = Entry::stored("a.txt", PAYLOAD);
    e.local.flags = Some(FLAG_UTF8 | 1 << 3);
    case("local_central_flags_mismatch", Archive::of(vec![e]), |f| {
        matches!(
            f,
            ZipFinding::LocalHeaderMismatch {
                field: HeaderField::Flags,
                ..
            }
        )
    });

    let mut e = Entry::stored("a.txt", PAYLOAD);
    e.after = hidden_entry();
    case(
        "local_header_hidden_in_gap",
        Archive::of(vec![e, Entry::stored("b.txt", PAYLOAD)]),
        |f| matches!(f, ZipFinding::UnaccountedData { .. }),
    );

    let mut a = Archive::of(vec![Entry::stored("a.txt", PAYLOAD)]);
    a.prefix = hidden_entry();
    case("prepended_data", a, |f| {
        matches!(f, ZipFinding::PrependedData { .. })
    });

    let mut a = Archive::of(vec![Entry::stored("a.txt", PAYLOAD)]);
    a.trailing = b"trailing bytes".to_vec();
    case("trailing_data", a, |f| {
        matches!(f, ZipFinding::TrailingData { .. })
    });

    // The comment holds a second end record that describes an empty archive.
    let mut a = Archive::of(vec![Entry::stored("a.txt", PAYLOAD)]);
    a.comment = eocd(0, 0, 0, b"");
    case("comment_holds_fake_end_record", a, |f| {
        matches!(
            f,
            ZipFinding::ArchiveComment { .. } | ZipFinding::UnaccountedData { .. }
        )
    });

    let mut a = Archive::of(vec![Entry::stored("a.txt", PAYLOAD)]);
    a.comment = b"a comment".to_vec();
    case("archive_comment", a, |f| {
        matches!(f, ZipFinding::ArchiveComment { len: 9 })
    });

    // Bit 3 with a descriptor that disagrees with the central directory.
    let mut e = Entry::deflated("a.txt", PAYLOAD);
    e.flags |= 1 << 3;
    e.local.crc = Some(0);
    e.local.csize = Some(0);
    e.local.usize = Some(0);
    let mut descriptor = 0x0807_4b50u32.to_le_bytes().to_vec();
    descriptor.extend(crc32fast::hash(HIDDEN).to_le_bytes());
    descriptor.extend(e.csize.to_le_bytes());
    descriptor.extend((HIDDEN.len() as u32).to_le_bytes());
    e.after = descriptor;
    case("data_descriptor_lies", Archive::of(vec![e]), |f| {
        matches!(f, ZipFinding::DescriptorMismatch { .. })
    });

    // The second central entry points inside the first entry's data, where a local
    // header for it is embedded.
    let inner = Entry::stored("b.txt", HIDDEN);
    let mut outer_data = b"0123".to_vec();
    outer_data.extend(inner.local_record());
    let outer = Entry::stored("a.txt", &outer_data);
    let mut b = inner.clone();
    b.offset_override = Some(30 + 5 + 4);
    case(
        "overlapping_entries",
        Archive::of(vec![outer, b]),
        |f| matches!(f, ZipFinding::OverlappingEntries { name, .. } if name == "b.txt"),
    );

    case(
        "duplicate_names",
        Archive::of(vec![
            Entry::stored("a.txt", PAYLOAD),
            Entry::stored("a.txt", HIDDEN),
        ]),
        |f| matches!(f, ZipFinding::DuplicateName { .. }),
    );

    case(
        "names_equal_after_case_folding",
        Archive::of(vec![
            Entry::stored("A.txt", PAYLOAD),
            Entry::stored("a.txt", HIDDEN),
        ]),
        |f| matches!(f, ZipFinding::CaseCollision { .. }),
    );

    case(
        "names_equal_after_nfc",
        Archive::of(vec![
            Entry::stored("caf\u{e9}.txt", PAYLOAD),
            Entry::stored("cafe\u{301}.txt", HIDDEN),
        ]),
        |f| matches!(f, ZipFinding::NormalizationCollision { .. }),
    );

    case(
        "path_component_too_long",
        Archive::of(vec![Entry::stored(&"x".repeat(256), PAYLOAD)]),
        |f| matches!(f, ZipFinding::ComponentTooLong { len: 256, .. }),
    );

    case(
        "name_not_in_nfc",
        Archive::of(vec![Entry::stored("cafe\u{301}.txt", PAYLOAD)]),
        |f| matches!(f, ZipFinding::NameNotNfc { .. }),
    );

    case(
        "file_and_directory_of_one_name",
        Archive::of(vec![
            Entry::stored("a", PAYLOAD),
            Entry::stored("a/b.txt", HIDDEN),
        ]),
        |f| matches!(f, ZipFinding::PathConflict { .. }),
    );

    // The central header holds real sizes, yet a ZIP64 field with other sizes follows.
    let mut e = Entry::stored("a.txt", PAYLOAD);
    let mut z = 3u64.to_le_bytes().to_vec();
    z.extend(3u64.to_le_bytes());
    e.central_extra = extra(0x0001, &z);
    case(
        "zip64_extra_disagrees_with_header",
        Archive::of(vec![e]),
        |f| {
            matches!(
                f,
                ZipFinding::Zip64ExtraUnexpected {
                    header: HeaderKind::Central,
                    ..
                }
            )
        },
    );

    // The local header defers to a ZIP64 field whose sizes differ from the central ones.
    let mut e = Entry::stored("a.txt", PAYLOAD);
    e.version_needed = 45;
    e.local.csize = Some(u32::MAX);
    e.local.usize = Some(u32::MAX);
    let mut z = 3u64.to_le_bytes().to_vec();
    z.extend(3u64.to_le_bytes());
    e.local_extra = extra(0x0001, &z);
    case("local_zip64_sizes_disagree", Archive::of(vec![e]), |f| {
        matches!(
            f,
            ZipFinding::LocalHeaderMismatch {
                field: HeaderField::UncompressedSize,
                local: 3,
                ..
            }
        )
    });

    // Info-ZIP Unicode Path: unzip extracts the entry as "evil.txt".
    let mut e = Entry::stored("a.txt", PAYLOAD);
    let mut up = vec![1u8];
    up.extend(crc32fast::hash(b"a.txt").to_le_bytes());
    up.extend(b"evil.txt");
    e.central_extra = extra(0x7075, &up);
    e.local_extra = e.central_extra.clone();
    case("unicode_path_extra_disagrees", Archive::of(vec![e]), |f| {
        matches!(f, ZipFinding::UnexpectedExtraField { id: 0x7075, .. })
    });

    let mut e = Entry::stored("link", b"/etc/passwd");
    e.external = 0o120_777 << 16;
    case(
        "symlink_by_external_attributes",
        Archive::of(vec![e]),
        |f| matches!(f, ZipFinding::Symlink { name } if name == "link"),
    );

    let mut e = Entry::stored("fifo", b"");
    e.external = 0o010_644 << 16;
    case("fifo_by_external_attributes", Archive::of(vec![e]), |f| {
        matches!(f, ZipFinding::UnsupportedAttributes { .. })
    });

    let mut e = Entry::stored("a.txt", PAYLOAD);
    e.external |= 0x10;
    case("file_marked_ms_dos_directory", Archive::of(vec![e]), |f| {
        matches!(f, ZipFinding::UnsupportedAttributes { .. })
    });

    let mut e = Entry::stored("caf\u{e9}.txt", PAYLOAD);
    e.flags = 0;
    case("utf8_name_without_flag", Archive::of(vec![e]), |f| {
        matches!(f, ZipFinding::NameEncodingUnflagged { .. })
    });

    let mut e = Entry::stored("a.txt", PAYLOAD);
    e.flags |= 1;
    case("encrypted_flag", Archive::of(vec![e]), |f| {
        matches!(f, ZipFinding::Encrypted { .. })
    });

    let mut e = Entry::stored("a.txt", PAYLOAD);
    e.method = 12;
    e.local.method = Some(12);
    case("unknown_method", Archive::of(vec![e]), |f| {
        matches!(f, ZipFinding::UnsupportedCompression { method: 12, .. })
    });

    let mut e = Entry::stored("a.txt", PAYLOAD);
    e.time = 0x1234;
    let mut local_time = e.clone();
    local_time.time = 0;
    // The local header is written with time 0, the central one with 0x1234.
    let record = local_time.local_record();
    e.offset_override = Some(0);
    let mut a = Archive::of(vec![e]);
    a.prefix = record;
    case("local_central_time_mismatch", a, |f| {
        matches!(
            f,
            ZipFinding::LocalHeaderMismatch {
                field: HeaderField::ModifiedTime,
                ..
            }
        )
    });

    // A ZIP64 end record whose count disagrees with the classic one (readers that follow
    // the locator see two entries' worth of directory, the others one).
    let mut a = Archive::of(vec![Entry::stored("a.txt", PAYLOAD)]);
    a.zip64_end = Some((2, Vec::new()));
    case("zip64_end_record_disagrees", a, |f| {
        matches!(f, ZipFinding::Zip64Inconsistent { .. })
    });

    let mut a = Archive::of(vec![Entry::stored("a.txt", PAYLOAD)]);
    a.zip64_end = Some((1, hidden_entry()));
    case("zip64_end_record_with_extensible_data", a, |f| {
        matches!(f, ZipFinding::Zip64Inconsistent { .. })
    });

    // Local headers in the reverse of central-directory order.
    let first = Entry::stored("a.txt", PAYLOAD);
    let second = Entry::stored("b.txt", HIDDEN);
    let mut prefix = second.local_record();
    let mut a_entry = first.clone();
    a_entry.offset_override = Some(prefix.len() as u32);
    prefix.extend(first.local_record());
    let mut b_entry = second;
    b_entry.offset_override = Some(0);
    let mut a = Archive::of(vec![a_entry, b_entry]);
    a.prefix = prefix;
    case(
        "entries_out_of_order",
        a,
        |f| matches!(f, ZipFinding::EntryOutOfOrder { name, .. } if name == "b.txt"),
    );

    cases
}

/// Archives Custody writes, and plain archives and bags from Python's zipfile.
fn benign() -> Vec<(&'static str, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    for (label, compression) in [
        ("custody_stored", Compression::Stored),
        ("custody_deflate", Compression::Deflate),
    ] {
        let dest = dir.path().join("p.zip");
        let settings = WriteSettings {
            compression,
            ..WriteSettings::default()
        };
        let mut writer = PackageWriter::create(&dest, settings).unwrap();
        writer
            .add_bytes("PKG/bagit.txt", b"BagIt-Version: 1.0\n")
            .unwrap();
        writer.add_bytes("PKG/data/C-1/empty", b"").unwrap();
        writer
            .add_bytes("PKG/data/C-1/\u{e9}t\u{e9} 2026.txt", &PAYLOAD.repeat(40))
            .unwrap();
        writer
            .add_entry("PKG/data/C-2/disk.img", PAYLOAD, None, &mut |_| {})
            .unwrap();
        writer
            .add_bytes(
                "PKG/data/C-2/deep/er/x.bin",
                &(0..=255u8).collect::<Vec<_>>(),
            )
            .unwrap();
        writer.finish().unwrap();
        out.push((label, fs::read(&dest).unwrap()));
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    for (label, path) in [
        ("python_zipfile", "zip/valid_python.zip"),
        ("bag_zip_v1_0", "bagit/valid_zip_v1_0.zip"),
        ("bag_zip_at_root", "bagit/valid_zip_at_root.zip"),
    ] {
        out.push((label, fs::read(fixtures.join(path)).unwrap()));
    }
    out
}

// ---------------------------------------------------------------------------------------
// The readers.

/// What one reader extracted: its files, and whether it reported success.
#[derive(Debug, PartialEq, Eq)]
struct Extraction {
    files: Files,
    ok: bool,
}

const READERS: [&str; 6] = [
    "unzip",
    "python zipfile",
    "jar x (stdin)",
    "bsdtar (file)",
    "bsdtar (stdin)",
    "zip crate",
];

/// Runs every reader on `archive` (written to `work/archive.zip`).
fn extract_everywhere(archive: &[u8], work: &Path) -> Vec<Extraction> {
    let path = work.join("archive.zip");
    fs::write(&path, archive).unwrap();
    let mut results = Vec::new();
    for reader in READERS {
        if reader == "zip crate" {
            let reading = cross_check::read_with_zip_crate(archive);
            results.push(Extraction {
                files: reading.files,
                ok: reading.complete,
            });
            continue;
        }
        // Extract two levels down so that any escape stays inside the temporary directory.
        let out = work.join(reader.replace([' ', '(', ')'], "_")).join("a/b");
        fs::create_dir_all(&out).unwrap();
        let (mut command, stdin, package) = match reader {
            "unzip" => {
                let mut c = Command::new("unzip");
                c.arg("-o").arg("-qq").arg(&path).arg("-d").arg(&out);
                (c, None, "unzip")
            }
            "python zipfile" => {
                let mut c = Command::new("python3");
                c.arg("-c")
                    .arg(
                        "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])",
                    )
                    .arg(&path)
                    .arg(&out);
                (c, None, "python3")
            }
            "jar x (stdin)" => {
                let mut c = Command::new("jar");
                c.arg("x").current_dir(&out);
                (c, Some(&path), "default-jdk-headless")
            }
            "bsdtar (file)" => {
                let mut c = Command::new("bsdtar");
                c.arg("-xf").arg(&path).arg("-C").arg(&out);
                (c, None, "libarchive-tools")
            }
            "bsdtar (stdin)" => {
                let mut c = Command::new("bsdtar");
                c.arg("-xf").arg("-").arg("-C").arg(&out);
                (c, Some(&path), "libarchive-tools")
            }
            _ => unreachable!(),
        };
        command.stdin(match stdin {
            Some(p) => Stdio::from(File::open(p).unwrap()),
            None => Stdio::null(),
        });
        let output = command.output().unwrap_or_else(|e| {
            panic!("cannot run {reader} ({e}): install the `{package}` package")
        });
        results.push(Extraction {
            files: walk(&out),
            ok: output.status.success(),
        });
    }
    results
}

/// Every regular file (and symbolic link, as `symlink → target`) below `root`, by path
/// relative to it with `/` separators. Iterative, so deep trees cannot exhaust the stack.
fn walk(root: &Path) -> Files {
    let mut files = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(listing) = fs::read_dir(&dir) else {
            continue;
        };
        for item in listing {
            let path = item.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if meta.is_dir() {
                pending.push(path);
            } else if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).unwrap();
                let shown = format!("symlink -> {}", target.display());
                files.insert(relative, shown.into_bytes());
            } else if meta.is_file() {
                files.insert(relative, fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// Custody's verdict: `Some(files)` when the scan is clean and every entry reads back
/// through `open_entry`, else `None`.
fn custody_reading(archive: &[u8]) -> (Vec<ZipFinding>, Option<Files>) {
    let scanner = ZipScanner::new(Cursor::new(archive), &ScanLimits::default()).unwrap();
    let findings = scanner.scan().findings.clone();
    let reading = cross_check::read_with_custody(archive).filter(|r| r.complete);
    (findings, reading.map(|r| r.files))
}

fn describe(files: &Files) -> String {
    let names: Vec<String> = files
        .iter()
        .map(|(name, bytes)| format!("{name:?} ({} bytes)", bytes.len()))
        .collect();
    format!("[{}]", names.join(", "))
}

// ---------------------------------------------------------------------------------------
// The tests.

#[test]
fn benign_archives_extract_identically_in_every_reader() {
    let work = tempfile::tempdir().unwrap();
    for (label, bytes) in benign() {
        let (findings, custody) = custody_reading(&bytes);
        let custody =
            custody.unwrap_or_else(|| panic!("{label}: Custody refuses it: {findings:#?}"));
        assert!(!custody.is_empty(), "{label}: no files read");
        let case_dir = work.path().join(label);
        fs::create_dir_all(&case_dir).unwrap();
        for (reader, got) in READERS.iter().zip(extract_everywhere(&bytes, &case_dir)) {
            assert!(got.ok, "{label}: {reader} reported an error");
            assert_eq!(
                got.files,
                custody,
                "{label}: {reader} extracts {} but Custody reads {}",
                describe(&got.files),
                describe(&custody)
            );
        }
    }
}

#[test]
fn crafted_archives_are_refused_and_clean_ones_read_alike() {
    let work = tempfile::tempdir().unwrap();
    let mut table = String::new();
    for case in crafted() {
        let (findings, custody) = custody_reading(&case.bytes);
        let case_dir = work.path().join(case.name);
        fs::create_dir_all(&case_dir).unwrap();
        let extractions = extract_everywhere(&case.bytes, &case_dir);
        table.push_str(&format!("{}: Custody {findings:?}\n", case.name));
        for (reader, got) in READERS.iter().zip(&extractions) {
            table.push_str(&format!(
                "    {reader:15} ok={:5} {}\n",
                got.ok,
                describe(&got.files)
            ));
        }
        // Whenever Custody would accept it, every reader must agree with Custody.
        if let (true, Some(files)) = (findings.is_empty(), &custody) {
            for (reader, got) in READERS.iter().zip(&extractions) {
                assert_eq!(
                    &got.files,
                    files,
                    "{}: clean for Custody, but {reader} extracts {}",
                    case.name,
                    describe(&got.files)
                );
            }
        }
        assert!(
            findings.iter().any(case.expect),
            "{}: expected finding missing, got {findings:#?}\n{table}",
            case.name
        );
    }
    println!("{table}");
}

#[test]
fn crafted_corpus_misleads_some_reader() {
    // The corpus is only worth its name if the malformations it refuses are real: for
    // each of these, at least one reader extracts something other than the files the
    // central directory lists.
    let work = tempfile::tempdir().unwrap();
    let attacks = [
        "local_header_hidden_in_gap",
        "prepended_data",
        "unicode_path_extra_disagrees",
        "local_central_name_mismatch",
        "local_central_size_mismatch",
        "names_equal_after_nfc",
        "name_not_in_nfc",
        "utf8_name_without_flag",
        "overlapping_entries",
    ];
    for case in crafted().into_iter().filter(|c| attacks.contains(&c.name)) {
        let case_dir = work.path().join(case.name);
        fs::create_dir_all(&case_dir).unwrap();
        let extractions = extract_everywhere(&case.bytes, &case_dir);
        let listed = cross_check::read_with_zip_crate(&case.bytes).files;
        let misled = READERS
            .iter()
            .zip(&extractions)
            .filter(|(_, got)| got.files != listed)
            .map(|(reader, _)| *reader)
            .collect::<Vec<_>>();
        assert!(
            !misled.is_empty(),
            "{}: every reader extracted {}",
            case.name,
            describe(&listed)
        );
    }
}

#[test]
fn clean_archives_agree_with_the_zip_crate() {
    for (label, bytes) in benign() {
        match cross_check::cross_check(&bytes) {
            Ok(CrossCheck::Agree(files)) => assert!(!files.is_empty(), "{label}"),
            other => panic!("{label}: {other:?}"),
        }
    }
    for case in crafted() {
        assert_eq!(
            cross_check::cross_check(&case.bytes),
            Ok(CrossCheck::NotClean),
            "{}",
            case.name
        );
    }
}

#[test]
fn zip64_end_records_the_writer_makes_are_clean() {
    // More entries than a classic end record can count: the writer adds the ZIP64 end
    // record and locator, which the scan must accept exactly as written.
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("many.zip");
    let mut writer = PackageWriter::create(&dest, WriteSettings::default()).unwrap();
    let count = 0x1_0000 + 1;
    for i in 0..count {
        writer.add_bytes(&format!("PKG/data/{i:06}"), b"x").unwrap();
    }
    writer.finish().unwrap();
    let bytes = fs::read(&dest).unwrap();
    let tail = &bytes[bytes.len() - 22 - 20 - 56..];
    assert_eq!(
        &tail[..4],
        b"PK\x06\x06",
        "ZIP64 end record right before the locator"
    );
    assert_eq!(
        &tail[56..60],
        b"PK\x06\x07",
        "ZIP64 locator right before the end record"
    );
    let scanner = ZipScanner::new(Cursor::new(&bytes[..]), &ScanLimits::default()).unwrap();
    assert_eq!(scanner.scan().findings, vec![]);
    assert_eq!(scanner.entries().len(), count);
    match cross_check::cross_check(&bytes) {
        Ok(CrossCheck::Agree(files)) => assert_eq!(files.len(), count),
        other => panic!("{other:?}"),
    }
}
