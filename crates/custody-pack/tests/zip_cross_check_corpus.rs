//! Replays the ZIP fixtures (the seed corpus of the `zip_cross_check` fuzz target) through
//! the same comparison the fuzz target makes: a clean scan means the `zip` crate reads the
//! same files and bytes as Custody.

use std::fs;
use std::path::PathBuf;

use custody_pack::zipscan::cross_check::{cross_check, cross_check_profile, CrossCheck};
use custody_pack::zipscan::ZipProfile;

fn corpus() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut files = Vec::new();
    for dir in ["zip", "bagit"] {
        for entry in fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "zip") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn seed_corpus_agrees_with_the_zip_crate() {
    let files = corpus();
    assert!(files.len() >= 20, "seed corpus missing: {files:?}");
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = fs::read(&path).unwrap();
        let verdict = cross_check(&bytes).unwrap_or_else(|d| panic!("{name}: {d}"));
        // BagIt fixtures are read as `verify --bagit` reads them, with the wider subset
        // admitted for bags from other tools; the property must hold there too.
        let bag_verdict = cross_check_profile(&bytes, ZipProfile::ForeignBag)
            .unwrap_or_else(|d| panic!("{name} (foreign bag profile): {d}"));
        let in_bagit = path.parent().is_some_and(|p| p.ends_with("bagit"));
        let verdict = if in_bagit { bag_verdict } else { verdict };
        // Known-bad fixtures are refused (some are refused only while streaming, which
        // the comparison also covers); every valid one is clean and read alike.
        if name.starts_with("valid_") {
            assert!(
                matches!(&verdict, CrossCheck::Agree(files) if !files.is_empty()),
                "{name}: {verdict:?}"
            );
        }
    }
}

/// A small archive as the package writer makes it, stored or deflated.
fn written(compression: custody_pack::zipwrite::Compression) -> Vec<u8> {
    use custody_pack::zipwrite::{PackageWriter, WriteSettings};
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("p.zip");
    let settings = WriteSettings {
        compression,
        ..WriteSettings::default()
    };
    let mut writer = PackageWriter::create(&dest, settings).unwrap();
    writer.add_bytes("P/a.txt", b"alpha alpha alpha").unwrap();
    writer.add_bytes("P/d/\u{e9}.bin", &[0, 1, 2, 3]).unwrap();
    writer
        .add_entry("P/z", &b"zip64 sized"[..], None, &mut |_| {})
        .unwrap();
    writer.finish().unwrap();
    fs::read(dest).unwrap()
}

#[test]
fn every_single_byte_mutation_is_refused_or_read_alike() {
    // Exhaustive over positions: no one-byte change to a clean archive yields one that
    // Custody accepts but the zip crate reads differently.
    use custody_pack::zipwrite::Compression;
    let python = fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/zip/valid_python.zip"),
    )
    .unwrap();
    let mut accepted = 0usize;
    for original in [
        written(Compression::Stored),
        written(Compression::Deflate),
        python,
    ] {
        for at in 0..original.len() {
            for mutate in [|_| 0x00, |_| 0xFF, |b| b ^ 0x01, |b| b ^ 0x80] {
                let mut bytes = original.clone();
                bytes[at] = mutate(bytes[at]);
                if bytes == original {
                    continue;
                }
                match cross_check(&bytes) {
                    Ok(CrossCheck::Agree(_)) => accepted += 1,
                    Ok(_) => {}
                    Err(d) => panic!("byte {at} changed to {:#04x}: {d}", bytes[at]),
                }
            }
        }
    }
    // The accepted ones change nothing any reader extracts: the low byte of "version made
    // by", permission bits, padding bits inside a deflate stream.
    println!("{accepted} single-byte mutations accepted and read alike");
}
