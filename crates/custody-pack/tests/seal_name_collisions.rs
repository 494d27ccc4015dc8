//! Seal never writes a package its own verify refuses: entry names that the structural
//! scan would report (collisions after case folding or NFC normalisation, names not in
//! NFC) are refused before anything is written or recorded, naming both files.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::{sender_with_two_items, Sender, NOW};
use custody_pack::seal::{seal, SealError, SealRequest};
use custody_pack::zipscan::ZipFinding;
use custody_store::acquisition::Acquisition;
use custody_store::{EventDraft, EventFields, EventKind};

/// Records `path` (a file or a directory) as item `item` of case C-1.
fn acquire(sender: &mut Sender, item: &str, path: &Path) {
    let evidence = Acquisition::plan(path).unwrap().hash(&mut |_| {}).unwrap();
    sender
        .ledger
        .append(
            EventDraft::new(EventKind::Acquired, NOW)
                .case("C-1")
                .item(item)
                .fields(EventFields {
                    evidence: Some(evidence),
                    ..EventFields::default()
                }),
            &sender.officer,
            &sender.log,
        )
        .unwrap();
}

fn request(items: &[(&str, &Path)]) -> SealRequest {
    SealRequest {
        id: Some("PKG".into()),
        items: items.iter().map(|(i, _)| i.to_string()).collect(),
        files: items
            .iter()
            .map(|(i, p)| (i.to_string(), p.to_path_buf()))
            .collect::<BTreeMap<_, _>>(),
        ..common::seal_request(Path::new(""))
    }
}

/// Seals `items` into `dir/out/PKG.zip`; asserts that it is refused with nothing written
/// and nothing recorded, and returns the scan findings the refusal carries.
fn refused(dir: &Path, sender: &mut Sender, items: &[(&str, &Path)]) -> Vec<ZipFinding> {
    let out_dir = dir.join("out");
    fs::create_dir_all(&out_dir).unwrap();
    let size = sender.ledger.size().unwrap();
    let err = seal(
        &mut sender.ledger,
        request(items),
        &sender.officer,
        std::slice::from_ref(&sender.officer),
        &sender.log,
        &out_dir.join("PKG.zip"),
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(
        fs::read_dir(&out_dir).unwrap().count(),
        0,
        "nothing may be written: {err}"
    );
    assert_eq!(sender.ledger.size().unwrap(), size, "nothing recorded");
    match err {
        SealError::EntryName { findings } => findings,
        other => panic!("unexpected refusal: {other}"),
    }
}

#[test]
fn fail_seal_directory_item_with_names_differing_only_in_case() {
    let dir = tempfile::tempdir().unwrap();
    let mut sender = sender_with_two_items(dir.path(), "ledger.db");
    let evidence = dir.path().join("case");
    fs::create_dir(&evidence).unwrap();
    fs::write(evidence.join("Report.txt"), b"one").unwrap();
    fs::write(evidence.join("report.txt"), b"two").unwrap();
    acquire(&mut sender, "C-1-3", &evidence);
    let findings = refused(dir.path(), &mut sender, &[("C-1-3", &evidence)]);
    assert_eq!(
        findings,
        [ZipFinding::CaseCollision {
            name: "PKG/data/C-1-3/report.txt".into(),
            other: "PKG/data/C-1-3/Report.txt".into(),
        }]
    );
    let shown = findings[0].to_string();
    assert!(
        shown.contains("/Report.txt") && shown.contains("/report.txt"),
        "{shown}"
    );
}

#[test]
fn fail_seal_directory_item_with_names_differing_only_in_normalisation() {
    let dir = tempfile::tempdir().unwrap();
    let mut sender = sender_with_two_items(dir.path(), "ledger.db");
    let evidence = dir.path().join("photos");
    fs::create_dir(&evidence).unwrap();
    fs::write(evidence.join("caf\u{e9}.jpg"), b"composed").unwrap();
    fs::write(evidence.join("cafe\u{301}.jpg"), b"decomposed").unwrap();
    acquire(&mut sender, "C-1-3", &evidence);
    let findings = refused(dir.path(), &mut sender, &[("C-1-3", &evidence)]);
    // The decomposed name is refused on its own (bsdtar would extract it under its NFC
    // form), and the pair collides.
    assert_eq!(
        findings,
        [
            ZipFinding::NameNotNfc {
                name: "PKG/data/C-1-3/cafe\u{301}.jpg".into(),
            },
            ZipFinding::NormalizationCollision {
                name: "PKG/data/C-1-3/caf\u{e9}.jpg".into(),
                other: "PKG/data/C-1-3/cafe\u{301}.jpg".into(),
            }
        ]
    );
}

#[test]
fn fail_seal_two_items_whose_ids_differ_only_in_case() {
    let dir = tempfile::tempdir().unwrap();
    let mut sender = sender_with_two_items(dir.path(), "ledger.db");
    let first = dir.path().join("first.bin");
    let second = dir.path().join("second.bin");
    fs::write(&first, b"first").unwrap();
    fs::write(&second, b"second").unwrap();
    acquire(&mut sender, "C-1-X", &first);
    acquire(&mut sender, "C-1-x", &second);
    let findings = refused(
        dir.path(),
        &mut sender,
        &[("C-1-X", &first), ("C-1-x", &second)],
    );
    assert_eq!(
        findings,
        [ZipFinding::CaseCollision {
            name: "PKG/data/C-1-x/second.bin".into(),
            other: "PKG/data/C-1-X/first.bin".into(),
        }]
    );
}

#[test]
fn fail_seal_file_item_with_a_decomposed_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut sender = sender_with_two_items(dir.path(), "ledger.db");
    let file = dir.path().join("cafe\u{301}.jpg");
    fs::write(&file, b"decomposed").unwrap();
    acquire(&mut sender, "C-1-3", &file);
    let findings = refused(dir.path(), &mut sender, &[("C-1-3", &file)]);
    assert_eq!(
        findings,
        [ZipFinding::NameNotNfc {
            name: "PKG/data/C-1-3/cafe\u{301}.jpg".into(),
        }]
    );
}

#[test]
fn distinct_names_in_one_directory_item_seal_and_scan_clean() {
    let dir = tempfile::tempdir().unwrap();
    let mut sender = sender_with_two_items(dir.path(), "ledger.db");
    let evidence = dir.path().join("case");
    fs::create_dir(&evidence).unwrap();
    fs::write(evidence.join("Report.txt"), b"one").unwrap();
    fs::write(evidence.join("report-2.txt"), b"two").unwrap();
    acquire(&mut sender, "C-1-3", &evidence);
    let out = dir.path().join("PKG.zip");
    seal(
        &mut sender.ledger,
        request(&[("C-1-3", &evidence)]),
        &sender.officer,
        std::slice::from_ref(&sender.officer),
        &sender.log,
        &out,
        &mut |_| {},
    )
    .unwrap();
    let bytes = fs::read(&out).unwrap();
    let scanner = custody_pack::zipscan::ZipScanner::new(
        std::io::Cursor::new(bytes),
        &custody_pack::zipscan::ScanLimits::default(),
    )
    .unwrap();
    assert_eq!(scanner.scan().findings, vec![]);
}
