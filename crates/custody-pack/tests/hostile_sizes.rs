//! Hostile sizes (attacker a: whoever controls the package bytes): 100,000 entries,
//! 100,000 directories, 30,000-level paths and 1000:1 compressible tag files each get a
//! clear finding in time linear in the archive, without unbounded memory or recursion; and
//! every named limit of `custody_pack::limits` is met at the limit and refused one past it.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::Path;

use common::{entries, genuine, receiver_ledger, trusting, write_zip, Setup, ID};
use custody_pack::bagit::{self, BagFinding, ValidateOptions};
use custody_pack::limits::{self, PathLimit};
use custody_pack::receive::{receive, ReceiveError, ReceiveOptions};
use custody_pack::verify::{verify_package, FindingKind, PackageReport};
use custody_store::Ledger;

/// The genuine package's entries with `change` applied, written to `<dir>/bad.zip`
/// (stored, except the names in `deflated`).
fn altered(
    s: &Setup,
    change: impl FnOnce(&mut BTreeMap<String, Vec<u8>>),
    deflated: &[&str],
) -> std::path::PathBuf {
    let mut files = entries(&s.package);
    change(&mut files);
    let bad = s.dir.path().join("bad.zip");
    if deflated.is_empty() {
        write_zip(&bad, &files);
        return bad;
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in &files {
        let method = if deflated.contains(&name.as_str()) {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    fs::write(&bad, zip.finish().unwrap().into_inner()).unwrap();
    bad
}

/// A finding as JSON text, for comparing in a set.
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap()
}

/// Verifies `path` (for the 100,000-entry archives, where [`verify`]'s second, BagIt-only
/// pass would double the time).
fn verify_once(s: &Setup, path: &Path) -> PackageReport {
    verify_package(path, &trusting(&s.officer)).unwrap()
}

/// Verifies `path`, checking on the way that the one shared scan loses nothing: every
/// error the BagIt validator finds on its own is among the package findings (the same
/// property the `verify_package` fuzz target checks on arbitrary bytes).
fn verify(s: &Setup, path: &Path) -> PackageReport {
    let options = trusting(&s.officer);
    let report = verify_package(path, &options).unwrap();
    let bag = bagit::validate_path(path, &options.bag).unwrap();
    // Compared as JSON text in a set: linear, however many findings there are.
    let reported: HashSet<String> = report
        .findings
        .iter()
        .filter_map(|f| match &f.kind {
            FindingKind::Bag(b) => Some(json(b)),
            FindingKind::Zip(z) => Some(json(&BagFinding::Zip { finding: z.clone() })),
            FindingKind::Integrity(i) => Some(json(i)),
            _ => None,
        })
        .collect();
    for error in &bag.errors {
        let key = match error {
            BagFinding::ZipEntryIntegrity { error, .. } => json(error),
            other => json(other),
        };
        assert!(
            reported.contains(&key),
            "BagIt error missing from the package report: {error}"
        );
    }
    report
}

fn bag_findings(report: &PackageReport) -> impl Iterator<Item = &BagFinding> {
    report.findings.iter().filter_map(|f| match &f.kind {
        FindingKind::Bag(b) => Some(b),
        _ => None,
    })
}

/// The kinds of the findings naming bag path `file`.
fn kinds_for<'a>(report: &'a PackageReport, file: &'a str) -> Vec<&'a FindingKind> {
    report
        .findings
        .iter()
        .filter(|f| f.file.as_deref() == Some(file))
        .map(|f| &f.kind)
        .collect()
}

#[test]
fn fail_100000_unlisted_payload_files_are_each_reported() {
    let s = genuine();
    let bad = altered(
        &s,
        |files| {
            for i in 0..100_000 {
                files.insert(format!("{ID}/data/extra/{i}"), Vec::new());
            }
        },
        &[],
    );
    let report = verify_once(&s, &bad);
    assert!(!report.verified);
    let unlisted = bag_findings(&report)
        .filter(|b| matches!(b, BagFinding::FileNotInManifest { .. }))
        .count();
    // Each file is missing from both payload manifests.
    assert_eq!(unlisted, 200_000);
    assert!(!kinds_for(&report, "data/extra/99999").is_empty());
}

#[test]
fn fail_100000_top_level_directories_are_each_reported() {
    let s = genuine();
    let bad = altered(
        &s,
        |files| {
            for i in 0..100_000 {
                files.insert(format!("d{i}/"), Vec::new());
            }
        },
        &[],
    );
    let report = verify_once(&s, &bad);
    assert!(!report.verified);
    let outside = bag_findings(&report)
        .filter(|b| matches!(b, BagFinding::EntryOutsideBag { .. }))
        .count();
    assert_eq!(outside, 100_000);
}

fn deep_name(levels: usize) -> String {
    format!("{ID}/data/{}f", "a/".repeat(levels))
}

#[test]
fn fail_30000_level_path_is_refused_by_verify_and_receive() {
    let s = genuine();
    let file = deep_name(30_000);
    let dir = format!("{ID}/data/{}", "b/".repeat(30_000));
    let bad = altered(
        &s,
        |files| {
            files.insert(file.clone(), b"deep".to_vec());
            files.insert(dir.clone(), Vec::new());
        },
        &[],
    );
    let report = verify(&s, &bad);
    assert!(!report.verified);
    let limited: Vec<&PathLimit> = bag_findings(&report)
        .filter_map(|b| match b {
            BagFinding::PathLimit { limit, file } => {
                assert!(file.len() <= limits::MAX_PATH_BYTES + '…'.len_utf8());
                Some(limit)
            }
            _ => None,
        })
        .collect();
    assert_eq!(limited, vec![&PathLimit::Length, &PathLimit::Length]);
    // Receiving refuses it the same way: no stack overflow, nothing extracted.
    let (path, clerk, log) = receiver_ledger(s.dir.path());
    let mut ledger = Ledger::open(&path).unwrap();
    let into = s.dir.path().join("in");
    let options = ReceiveOptions {
        verify: trusting(&s.officer),
        ..ReceiveOptions::default()
    };
    let receipt = s.dir.path().join("r.json");
    let err = receive(&bad, &into, &options, &mut ledger, &clerk, &log, &receipt).unwrap_err();
    assert!(matches!(err, ReceiveError::Refused { .. }), "{err}");
    assert!(!into.exists());
}

#[test]
fn path_depth_at_the_limit_passes_and_one_past_is_refused() {
    let s = genuine();
    // `<ID>/data/` takes two components; the rest make the name exactly as deep as allowed.
    let at = format!("{ID}/data/{}f", "a/".repeat(limits::MAX_PATH_DEPTH - 3));
    let past = format!("{ID}/data/{}f", "b/".repeat(limits::MAX_PATH_DEPTH - 2));
    let bad = altered(
        &s,
        |files| {
            files.insert(at.clone(), Vec::new());
            files.insert(past.clone(), Vec::new());
        },
        &[],
    );
    let report = verify(&s, &bad);
    let limited: Vec<&str> = bag_findings(&report)
        .filter_map(|b| match b {
            BagFinding::PathLimit {
                file,
                limit: PathLimit::Depth,
            } => Some(file.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(limited, vec![past.as_str()]);
    // The one at the limit is a bag file like any other: reported as unlisted only.
    let at_path = at.strip_prefix(&format!("{ID}/")).unwrap();
    assert!(bag_findings(&report)
        .any(|b| matches!(b, BagFinding::FileNotInManifest { file, .. } if file == at_path)));
}

#[test]
fn fail_deep_directory_bag_is_walked_without_recursion() {
    let dir = tempfile::tempdir().unwrap();
    let bag = dir.path().join("bag");
    let mut deep = bag.join("data");
    for _ in 0..limits::MAX_PATH_DEPTH {
        deep.push("d");
    }
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("f"), b"x").unwrap();
    fs::write(
        bag.join("bagit.txt"),
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
    )
    .unwrap();
    let report = bagit::validate_path(&bag, &ValidateOptions::default()).unwrap();
    assert!(
        report.errors.iter().any(|e| matches!(
            e,
            BagFinding::PathLimit {
                limit: PathLimit::Depth,
                ..
            }
        )),
        "{:#?}",
        report.errors
    );
}

/// `Label: value` text of `len` bytes that DEFLATE compresses about 1000:1.
fn compressible_bag_info(len: usize) -> Vec<u8> {
    let mut text = b"Source-Organization: x\nCustody-Note: ".to_vec();
    text.resize(len - 1, b'a');
    text.push(b'\n');
    text
}

#[test]
fn fail_1000_to_1_compressible_tag_file_is_refused_before_inflating() {
    let s = genuine();
    let name = format!("{ID}/bag-info.txt");
    let bad = altered(
        &s,
        |files| {
            files.insert(name.clone(), compressible_bag_info(1 << 20));
        },
        &[&name],
    );
    let report = verify(&s, &bad);
    assert!(!report.verified);
    let ratio = bag_findings(&report).find_map(|b| match b {
        BagFinding::TagFileCompressionRatio {
            file,
            compressed,
            uncompressed,
            limit,
        } => Some((file.clone(), *compressed, *uncompressed, *limit)),
        _ => None,
    });
    let (file, compressed, uncompressed, limit) = ratio.expect("ratio finding");
    assert_eq!(file, "bag-info.txt");
    assert_eq!(uncompressed, 1 << 20);
    assert!(uncompressed / compressed >= 500, "{compressed}");
    assert_eq!(limit, limits::MAX_TAG_RATIO);
    // The Custody checks refuse to read it too.
    assert!(kinds_for(&report, "bag-info.txt")
        .iter()
        .any(|k| matches!(k, FindingKind::CompressionRatio { .. })));
}

/// The findings for bag path `path` after replacing its bytes by `len` bytes of `fill`.
fn with_file_of(s: &Setup, path: &str, len: u64, fill: u8) -> Vec<FindingKind> {
    let name = format!("{ID}/{path}");
    let bad = altered(
        s,
        |files| {
            files.insert(name.clone(), vec![fill; usize::try_from(len).unwrap()]);
        },
        &[],
    );
    let report = verify(s, &bad);
    kinds_for(&report, path).into_iter().cloned().collect()
}

fn too_large(kinds: &[FindingKind]) -> Option<(u64, u64)> {
    kinds.iter().find_map(|k| match k {
        FindingKind::TooLarge { size, max } => Some((*size, *max)),
        _ => None,
    })
}

#[test]
fn fail_checkpoint_one_byte_past_its_limit() {
    let s = genuine();
    let at = with_file_of(&s, "custody/checkpoint", limits::MAX_CHECKPOINT, b'x');
    assert_eq!(too_large(&at), None, "{at:?}");
    assert!(!at.is_empty(), "a checkpoint of x's is still malformed");
    let past = with_file_of(&s, "custody/checkpoint", limits::MAX_CHECKPOINT + 1, b'x');
    assert_eq!(
        too_large(&past),
        Some((limits::MAX_CHECKPOINT + 1, limits::MAX_CHECKPOINT))
    );
}

#[test]
fn fail_proof_one_byte_past_its_limit() {
    let s = genuine();
    let proof = entries(&s.package)
        .keys()
        .find_map(|n| {
            n.strip_prefix(&format!("{ID}/"))
                .filter(|p| p.starts_with("custody/proofs/"))
                .map(str::to_owned)
        })
        .unwrap();
    let at = with_file_of(&s, &proof, limits::MAX_PROOF, b' ');
    assert_eq!(too_large(&at), None, "{at:?}");
    let past = with_file_of(&s, &proof, limits::MAX_PROOF + 1, b' ');
    assert_eq!(
        too_large(&past),
        Some((limits::MAX_PROOF + 1, limits::MAX_PROOF))
    );
}

#[test]
fn fail_signature_file_past_its_limit() {
    let s = genuine();
    let signature = entries(&s.package)
        .keys()
        .find_map(|n| {
            n.strip_prefix(&format!("{ID}/"))
                .filter(|p| p.starts_with("custody/signatures/"))
                .map(str::to_owned)
        })
        .unwrap();
    let at = with_file_of(&s, &signature, limits::MAX_SIGNATURE_FILE, 0);
    assert!(
        at.iter()
            .any(|k| matches!(k, FindingKind::SignatureLength { len: 65 })),
        "{at:?}"
    );
    let past = with_file_of(&s, &signature, limits::MAX_SIGNATURE_FILE + 1, 0);
    assert_eq!(
        too_large(&past),
        Some((limits::MAX_SIGNATURE_FILE + 1, limits::MAX_SIGNATURE_FILE))
    );
}

fn signatures(s: &Setup, count: usize) -> PackageReport {
    let bad = altered(
        s,
        |files| {
            for i in 0..count - 1 {
                files.insert(
                    format!("{ID}/custody/signatures/k{i:04}+00000000.sig"),
                    vec![0; 64],
                );
            }
        },
        &[],
    );
    verify(s, &bad)
}

fn too_many_signatures(report: &PackageReport) -> bool {
    report
        .findings
        .iter()
        .any(|f| matches!(f.kind, FindingKind::TooManySignatures { .. }))
}

#[test]
fn fail_signature_count_one_past_its_limit() {
    let s = genuine();
    // The genuine signature plus the added ones.
    assert!(!too_many_signatures(&signatures(
        &s,
        limits::MAX_SIGNATURES
    )));
    let past = signatures(&s, limits::MAX_SIGNATURES + 1);
    assert!(too_many_signatures(&past));
    assert!(!past.verified);
}

#[test]
fn fail_tag_bytes_past_the_total_limit() {
    let s = genuine();
    let mut options = trusting(&s.officer);
    assert!(verify_package(&s.package, &options).unwrap().verified);
    options.bag.max_tag_total = 1000;
    let report = verify_package(&s.package, &options).unwrap();
    assert!(!report.verified);
    assert!(report.findings.iter().any(|f| matches!(
        f.kind,
        FindingKind::TagBytesExceeded { limit: 1000, .. }
            | FindingKind::Bag(BagFinding::TagBytesExceeded { limit: 1000, .. })
    )));
}

#[test]
fn fail_1000_to_1_compressible_event_is_neither_read_nor_hashed() {
    let s = genuine();
    let event = entries(&s.package)
        .keys()
        .find(|n| n.contains("/custody/events/"))
        .unwrap()
        .clone();
    let path = event.strip_prefix(&format!("{ID}/")).unwrap().to_owned();
    let bad = altered(
        &s,
        |files| {
            files.insert(event.clone(), vec![b' '; 1 << 20]);
        },
        &[&event],
    );
    let report = verify(&s, &bad);
    assert!(!report.verified);
    let bag: Vec<&BagFinding> = bag_findings(&report)
        .filter(|b| matches!(b, BagFinding::TagFileCompressionRatio { file, .. } if *file == path))
        .collect();
    assert_eq!(bag.len(), 1, "reported once, not hashed: {bag:?}");
    assert!(kinds_for(&report, &path)
        .iter()
        .any(|k| matches!(k, FindingKind::CompressionRatio { .. })));
}

#[test]
fn fail_100000_directories_inside_the_bag_are_each_reported() {
    let s = genuine();
    let bad = altered(
        &s,
        |files| {
            for i in 0..100_000 {
                files.insert(format!("{ID}/data/d{i}/"), Vec::new());
            }
        },
        &[],
    );
    let report = verify_once(&s, &bad);
    assert!(
        !report.verified,
        "a directory entry is content nothing signed"
    );
    let unexpected = report
        .findings
        .iter()
        .filter(|f| matches!(f.kind, FindingKind::UnexpectedFile))
        .count();
    assert_eq!(unexpected, 100_000);
    assert_eq!(
        kinds_for(&report, "data/d99999/"),
        vec![&FindingKind::UnexpectedFile]
    );
}
