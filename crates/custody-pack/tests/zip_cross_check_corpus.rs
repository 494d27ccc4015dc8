//! Replays the ZIP fixtures (the seed corpus of the `zip_cross_check` fuzz target) through
//! the same comparison the fuzz target makes: a clean scan means the `zip` crate reads the
//! same files and bytes as Custody.

use std::fs;
use std::path::PathBuf;

use custody_pack::zipscan::cross_check::{cross_check, CrossCheck};

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
        let verdict =
            cross_check(&fs::read(&path).unwrap()).unwrap_or_else(|d| panic!("{name}: {d}"));
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
