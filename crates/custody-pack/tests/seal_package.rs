//! Sealing packages from a real ledger: layout, determinism, atomic failure, signer history.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::{sender_with_two_items, Sender, NOW};
use custody_core::keys::{ActorInfo, Identity};
use custody_pack::layout;
use custody_pack::package::{PackageStatement, RequestInfo};
use custody_pack::seal::{seal, SealError, SealRequest};
use custody_pack::zipscan::{ScanLimits, ZipScanner};
use custody_pack::zipwrite::Compression;
use custody_store::acquisition::Acquisition;
use custody_store::{EventDraft, EventFields, EventKind, Ledger};

struct Setup {
    dir: tempfile::TempDir,
    ledger: PathBuf,
    officer: Identity,
    log: Identity,
}

/// A ledger with case C-1, a file item C-1-1, a directory item C-1-2 and one examination.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let Sender {
        mut ledger,
        officer,
        log,
    } = sender_with_two_items(dir.path(), "ledger.db");
    ledger
        .append(
            EventDraft::new(EventKind::Examined, NOW)
                .case("C-1")
                .item("C-1-1"),
            &officer,
            &log,
        )
        .unwrap();
    Setup {
        ledger: dir.path().join("ledger.db"),
        dir,
        officer,
        log,
    }
}

fn request(dir: &Path) -> SealRequest {
    SealRequest {
        request: RequestInfo {
            reference: Some("MLA-2026-7".into()),
            ..RequestInfo::default()
        },
        use_limitations: vec!["criminal proceedings in case 12 Js 34/26 only".into()],
        confidential: true,
        personal_data: vec!["communications".into()],
        retention_until: Some("2031-12-31".into()),
        sealed_time: time::macros::datetime!(2026-03-02 12:00:01 UTC),
        ..common::seal_request(dir)
    }
}

fn entries(zip: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut scanner =
        ZipScanner::new(fs::File::open(zip).unwrap(), &ScanLimits::default()).unwrap();
    assert!(scanner.scan().is_clean(), "{:?}", scanner.scan().findings);
    let names: Vec<String> = scanner.entries().iter().map(|e| e.name.clone()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries are sorted by name");
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| (n, scanner.read_entry(i, 1 << 20).unwrap()))
        .collect()
}

#[test]
fn sealed_package_has_the_contract_layout() {
    let s = setup();
    let mut ledger = Ledger::open(&s.ledger).unwrap();
    let out = s.dir.path().join("out.zip");
    let outcome = seal(
        &mut ledger,
        request(s.dir.path()),
        &s.officer,
        std::slice::from_ref(&s.officer),
        &s.log,
        &out,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(outcome.id, "C-1-1");
    let report =
        custody_pack::bagit::validate_path(&out, &custody_pack::bagit::ValidateOptions::default())
            .unwrap();
    assert!(report.is_valid(), "{:?}", report.errors);
    // The generic validator notes that signatures are outside the tag manifest, by design.
    assert!(
        report
            .warnings
            .iter()
            .all(|w| format!("{w:?}").contains("custody/signatures/")),
        "{:?}",
        report.warnings
    );
    let files = entries(&out);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    let sig = layout::signature_path(&s.officer.verifier_key());
    let expected = vec![
        "C-1-1/bag-info.txt".to_owned(),
        "C-1-1/bagit.txt".into(),
        "C-1-1/custody/checkpoint".into(),
        "C-1-1/custody/events/0.json".into(),
        "C-1-1/custody/events/2.json".into(),
        "C-1-1/custody/events/3.json".into(),
        "C-1-1/custody/events/4.json".into(),
        "C-1-1/custody/package.json".into(),
        "C-1-1/custody/proofs/0.json".into(),
        "C-1-1/custody/proofs/2.json".into(),
        "C-1-1/custody/proofs/3.json".into(),
        "C-1-1/custody/proofs/4.json".into(),
        format!("C-1-1/{sig}"),
        "C-1-1/data/C-1-1/disk.img".into(),
        "C-1-1/data/C-1-2/a.txt".into(),
        "C-1-1/data/C-1-2/sub/b.txt".into(),
        "C-1-1/manifest-blake3.txt".into(),
        "C-1-1/manifest-sha256.txt".into(),
        "C-1-1/tagmanifest-sha256.txt".into(),
    ];
    assert_eq!(names, expected);

    let statement = PackageStatement::parse(&files["C-1-1/custody/package.json"]).unwrap();
    assert_eq!(statement.sealed_time, "2026-03-02T12:00:00Z");
    assert_eq!(statement.items[0].events, vec![2, 4]);
    assert_eq!(statement.items[1].path, "data/C-1-2");
    let listed = statement.items[1].listed_digests().unwrap().unwrap();
    assert_eq!(
        (listed.size, listed.sha256, listed.blake3),
        (
            statement.items[1].size,
            statement.items[1].sha256,
            statement.items[1].blake3
        )
    );
    assert_eq!(statement.checkpoint.size, 5);
    assert_eq!(
        statement.sender.log_key,
        ledger.log_verifier_key().to_string()
    );

    // Events are the exact ledger entry bytes; the signature covers the tag manifest.
    assert_eq!(
        files["C-1-1/custody/events/4.json"],
        ledger.entry(4).unwrap().bytes
    );
    let signature = custody_core::keys::Signature::from_bytes(
        files[&format!("C-1-1/{sig}")]
            .as_slice()
            .try_into()
            .unwrap(),
    );
    s.officer
        .public_key()
        .verify_raw(&files["C-1-1/tagmanifest-sha256.txt"], &signature)
        .unwrap();
    let tagmanifest = String::from_utf8(files["C-1-1/tagmanifest-sha256.txt"].clone()).unwrap();
    assert!(tagmanifest.contains("  custody/package.json\n"));
    assert!(!tagmanifest.contains("signatures"));
    let bag_info = String::from_utf8(files["C-1-1/bag-info.txt"].clone()).unwrap();
    assert!(bag_info.contains("Payload-Oxum: 25.3\n"), "{bag_info}");
    assert!(bag_info.contains("Bagging-Date: 2026-03-02\n"));
    assert!(bag_info.contains("Custody-Request-Reference: MLA-2026-7\n"));

    // sealed and transferred were recorded with the package's digest.
    let sealed = ledger.entry(outcome.sealed_seq).unwrap().signed.event;
    assert_eq!(sealed.kind, EventKind::Sealed);
    assert_eq!(
        sealed.fields.package_digest.as_deref(),
        Some(custody_core::hex::encode(&outcome.sha256).as_str())
    );
    let transferred = ledger.entry(outcome.transferred_seq).unwrap().signed.event;
    assert_eq!(transferred.kind, EventKind::Transferred);
    assert_eq!(
        transferred.fields.to.as_deref(),
        Some("Staatsanwaltschaft Berlin")
    );
    assert_eq!(
        custody_core::hash::hash_file(&out, &mut |_| {})
            .unwrap()
            .sha256,
        outcome.sha256
    );
}

#[test]
fn same_inputs_give_identical_bytes() {
    let s = setup();
    let copy = s.dir.path().join("copy.db");
    fs::copy(&s.ledger, &copy).unwrap();
    let mut zips = Vec::new();
    for (db, name) in [(&s.ledger, "a.zip"), (&copy, "b.zip")] {
        let mut ledger = Ledger::open(db).unwrap();
        let out = s.dir.path().join(name);
        seal(
            &mut ledger,
            request(s.dir.path()),
            &s.officer,
            std::slice::from_ref(&s.officer),
            &s.log,
            &out,
            &mut |_| {},
        )
        .unwrap();
        zips.push(fs::read(out).unwrap());
    }
    assert_eq!(zips[0], zips[1]);
}

#[test]
fn fail_seal_item_changed_since_acquisition_leaves_nothing() {
    let s = setup();
    fs::write(s.dir.path().join("phone/sub/b.txt"), b"BETA").unwrap();
    let mut ledger = Ledger::open(&s.ledger).unwrap();
    let size = ledger.size().unwrap();
    let out = s.dir.path().join("out").join("pkg.zip");
    fs::create_dir(s.dir.path().join("out")).unwrap();
    let err = seal(
        &mut ledger,
        request(s.dir.path()),
        &s.officer,
        std::slice::from_ref(&s.officer),
        &s.log,
        &out,
        &mut |_| {},
    )
    .unwrap_err();
    match err {
        SealError::DigestMismatch { item, path, .. } => {
            assert_eq!(item, "C-1-2");
            assert!(path.ends_with("phone/sub/b.txt"));
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(fs::read_dir(s.dir.path().join("out")).unwrap().count(), 0);
    assert_eq!(ledger.size().unwrap(), size, "nothing recorded");
}

#[test]
fn fail_seal_unknown_item() {
    let s = setup();
    let mut ledger = Ledger::open(&s.ledger).unwrap();
    let mut req = request(s.dir.path());
    req.items.push("C-1-9".into());
    let err = seal(
        &mut ledger,
        req,
        &s.officer,
        std::slice::from_ref(&s.officer),
        &s.log,
        &s.dir.path().join("x.zip"),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, SealError::UnknownItem { item } if item == "C-1-9"));
    assert!(!s.dir.path().join("x.zip").exists());
}

#[test]
fn fail_seal_payload_name_with_percent() {
    let s = setup();
    let mut ledger = Ledger::open(&s.ledger).unwrap();
    fs::write(s.dir.path().join("100%.txt"), b"x").unwrap();
    let evidence = Acquisition::plan(&s.dir.path().join("100%.txt"))
        .unwrap()
        .hash(&mut |_| {})
        .unwrap();
    ledger
        .append(
            EventDraft::new(EventKind::Acquired, "2026-03-01T09:00:00Z")
                .case("C-1")
                .item("C-1-3")
                .fields(EventFields {
                    evidence: Some(evidence),
                    ..EventFields::default()
                }),
            &s.officer,
            &s.log,
        )
        .unwrap();
    let mut req = request(s.dir.path());
    req.items = vec!["C-1-3".into()];
    req.files = BTreeMap::from([("C-1-3".into(), s.dir.path().join("100%.txt"))]);
    let err = seal(
        &mut ledger,
        req,
        &s.officer,
        std::slice::from_ref(&s.officer),
        &s.log,
        &s.dir.path().join("x.zip"),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(&err, SealError::UnsafeName { item, name, .. } if item == "C-1-3" && name == "100%.txt"),
        "{err}"
    );
}

#[test]
fn signer_enrolment_and_revocation_entries_are_included() {
    let s = setup();
    let mut ledger = Ledger::open(&s.ledger).unwrap();
    let analyst = Identity::from_seed(ActorInfo::named("analyst@example.fr"), [5; 32]).unwrap();
    let now = "2026-03-01T10:00:00Z";
    let enrolled = ledger
        .append(
            EventDraft::new(EventKind::ActorEnrolled, now).fields(EventFields {
                public_key: Some(custody_core::hex::encode(&analyst.public_key().to_bytes())),
                actor_info: Some(analyst.info().clone()),
                ..EventFields::default()
            }),
            &s.officer,
            &s.log,
        )
        .unwrap();
    let examined = ledger
        .append(
            EventDraft::new(EventKind::Examined, now)
                .case("C-1")
                .item("C-1-2"),
            &analyst,
            &s.log,
        )
        .unwrap();
    let revoked = ledger
        .append(
            EventDraft::new(EventKind::KeyRevoked, now).fields(EventFields {
                public_key: Some(custody_core::hex::encode(&analyst.public_key().to_bytes())),
                ..EventFields::default()
            }),
            &s.officer,
            &s.log,
        )
        .unwrap();
    let out = s.dir.path().join("p.zip");
    seal(
        &mut ledger,
        request(s.dir.path()),
        &s.officer,
        std::slice::from_ref(&s.officer),
        &s.log,
        &out,
        &mut |_| {},
    )
    .unwrap();
    let files = entries(&out);
    for seq in [enrolled.seq, examined.seq, revoked.seq] {
        assert!(
            files.contains_key(&format!("C-1-1/custody/events/{seq}.json")),
            "entry {seq} included"
        );
    }
}

#[test]
fn compressed_packages_are_deterministic_too() {
    let s = setup();
    let copy = s.dir.path().join("copy.db");
    fs::copy(&s.ledger, &copy).unwrap();
    let mut zips = Vec::new();
    for (db, name) in [(&s.ledger, "a.zip"), (&copy, "b.zip")] {
        let mut ledger = Ledger::open(db).unwrap();
        let out = s.dir.path().join(name);
        let mut req = request(s.dir.path());
        req.compression = Compression::Deflate;
        seal(
            &mut ledger,
            req,
            &s.officer,
            std::slice::from_ref(&s.officer),
            &s.log,
            &out,
            &mut |_| {},
        )
        .unwrap();
        entries(&out);
        zips.push(fs::read(out).unwrap());
    }
    assert_eq!(zips[0], zips[1]);
}

#[test]
fn fail_seal_item_grew_since_acquisition() {
    let s = setup();
    let mut grown = fs::read(s.dir.path().join("disk.img")).unwrap();
    grown.extend_from_slice(&[0u8; 4096]);
    fs::write(s.dir.path().join("disk.img"), grown).unwrap();
    let mut ledger = Ledger::open(&s.ledger).unwrap();
    let out = s.dir.path().join("grown.zip");
    let err = seal(
        &mut ledger,
        request(s.dir.path()),
        &s.officer,
        std::slice::from_ref(&s.officer),
        &s.log,
        &out,
        &mut |_| {},
    )
    .unwrap_err();
    match err {
        SealError::DigestMismatch {
            item,
            expected_size,
            found_size,
            ..
        } => {
            assert_eq!(item, "C-1-1");
            assert_eq!(found_size, expected_size + 1, "read stops one byte past");
        }
        other => panic!("unexpected {other}"),
    }
    assert!(!out.exists());
}

#[test]
fn fail_seal_path_beyond_the_depth_limit_writes_nothing() {
    let s = setup();
    let mut ledger = Ledger::open(&s.ledger).unwrap();
    let mut deep = s.dir.path().join("deep");
    for _ in 0..custody_pack::limits::MAX_PATH_DEPTH {
        deep.push("d");
    }
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("f"), b"deep").unwrap();
    let evidence = custody_store::acquisition::Acquisition::plan(&s.dir.path().join("deep"))
        .unwrap()
        .hash(&mut |_| {})
        .unwrap();
    let acquired = EventDraft::new(EventKind::Acquired, NOW)
        .case("C-1")
        .item("C-1-3")
        .fields(custody_store::EventFields {
            evidence: Some(evidence),
            ..custody_store::EventFields::default()
        });
    ledger.append(acquired, &s.officer, &s.log).unwrap();
    let size = ledger.size().unwrap();
    let mut req = request(s.dir.path());
    req.items = vec!["C-1-3".into()];
    req.files = BTreeMap::from([("C-1-3".into(), s.dir.path().join("deep"))]);
    fs::create_dir(s.dir.path().join("out")).unwrap();
    let out = s.dir.path().join("out").join("pkg.zip");
    let err = seal(
        &mut ledger,
        req,
        &s.officer,
        std::slice::from_ref(&s.officer),
        &s.log,
        &out,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            SealError::PathLimit {
                ref item,
                limit: custody_pack::limits::PathLimit::Depth,
                ..
            } if item == "C-1-3"
        ),
        "{err}"
    );
    assert_eq!(fs::read_dir(s.dir.path().join("out")).unwrap().count(), 0);
    assert_eq!(ledger.size().unwrap(), size, "nothing recorded");
}

/// Progress counts the same bytes as its total: an item of several hashing chunks once
/// showed tens of GiB done out of a few MiB, because each running total was added up again.
#[test]
fn seal_progress_counts_each_payload_byte_once() {
    let dir = tempfile::tempdir().unwrap();
    let size = custody_core::hash::CHUNK_SIZE * 3 + 12_345;
    let bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let common::Sender {
        mut ledger,
        officer,
        log,
    } = common::sender_with_one_item(dir.path(), "ledger.db", "C-9", "big.bin", &bytes);
    let mut req = common::seal_request(dir.path());
    req.case = "C-9".into();
    req.items = vec!["C-9-1".into()];
    req.files = BTreeMap::from([("C-9-1".into(), dir.path().join("big.bin"))]);
    let mut seen = Vec::new();
    seal(
        &mut ledger,
        req,
        &officer,
        std::slice::from_ref(&officer),
        &log,
        &dir.path().join("out.zip"),
        &mut |p| seen.push((p.done, p.total)),
    )
    .unwrap();
    assert!(seen.len() > 1, "{seen:?}");
    assert!(seen.iter().all(|&(_, total)| total == size as u64));
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "{seen:?}");
    assert!(seen.iter().all(|&(done, total)| done <= total), "{seen:?}");
    assert_eq!(seen.last().map(|p| p.0), Some(size as u64));
}

/// A ledger whose item C-1-3 is a directory of many small files with one file larger than
/// what is read whole into memory, so that files are read ahead on several cores while
/// the archive is written in order, and one file is streamed in between.
fn setup_many_files() -> (Setup, PathBuf) {
    let s = setup();
    let tree = s.dir.path().join("tree");
    for i in 0..300u32 {
        let sub = tree.join(format!("d{}", i % 7));
        fs::create_dir_all(&sub).unwrap();
        let bytes: Vec<u8> = (0..(i * 37 % 5000)).map(|b| (b ^ i) as u8).collect();
        fs::write(sub.join(format!("f{i:03}.bin")), bytes).unwrap();
    }
    let large: Vec<u8> = (0..(3u32 << 20) / 2 + 5).map(|b| (b % 253) as u8).collect();
    fs::write(tree.join("d3").join("large.bin"), large).unwrap();
    let mut ledger = Ledger::open(&s.ledger).unwrap();
    ledger
        .append(common::acquisition(&tree, &["C-1-3"]), &s.officer, &s.log)
        .unwrap();
    (s, tree)
}

/// Seals C-1-3 alone into `out`.
fn seal_many(
    s: &Setup,
    ledger: &mut Ledger,
    out: &Path,
) -> Result<custody_pack::seal::SealOutcome, Box<SealError>> {
    let request = SealRequest {
        items: vec!["C-1-3".into()],
        files: BTreeMap::new(),
        ..request(s.dir.path())
    };
    let officer = std::slice::from_ref(&s.officer);
    seal(
        ledger,
        request,
        &s.officer,
        officer,
        &s.log,
        out,
        &mut |_| {},
    )
    .map_err(Box::new)
}

#[test]
fn many_files_are_written_in_order_with_the_bytes_read_and_the_archive_digest() {
    let (s, tree) = setup_many_files();
    let mut ledger = Ledger::open(&s.ledger).unwrap();
    let out = s.dir.path().join("many.zip");
    let outcome = seal_many(&s, &mut ledger, &out).unwrap();
    let mut scanner =
        ZipScanner::new(fs::File::open(&out).unwrap(), &ScanLimits::default()).unwrap();
    assert!(scanner.scan().is_clean(), "{:?}", scanner.scan().findings);
    let names: Vec<String> = scanner.entries().iter().map(|e| e.name.clone()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries are sorted by name");
    let prefix = format!("{}/data/C-1-3/", outcome.id);
    let mut payload = 0;
    for (i, name) in names.iter().enumerate() {
        let Some(rel) = name.strip_prefix(&prefix) else {
            continue;
        };
        payload += 1;
        let bytes = scanner.read_entry(i, 4 << 20).unwrap();
        assert_eq!(bytes, fs::read(tree.join(rel)).unwrap(), "{name}");
    }
    assert_eq!(payload, 301);
    let whole = custody_core::hash::hash_file(&out, &mut |_| {}).unwrap();
    assert_eq!(
        outcome.sha256, whole.sha256,
        "digest of the finished archive"
    );
    assert_eq!(outcome.size, whole.size);
    let recorded = ledger.entry(outcome.sealed_seq).unwrap().signed.event;
    assert_eq!(
        recorded.fields.package_digest.as_deref(),
        Some(whole.sha256_hex().as_str())
    );
}

#[test]
fn fail_seal_one_changed_file_among_many_names_it_and_leaves_nothing() {
    let (s, tree) = setup_many_files();
    fs::write(tree.join("d4").join("f200.bin"), b"changed").unwrap();
    let mut ledger = Ledger::open(&s.ledger).unwrap();
    let size = ledger.size().unwrap();
    fs::create_dir(s.dir.path().join("out")).unwrap();
    let out = s.dir.path().join("out").join("pkg.zip");
    let err = seal_many(&s, &mut ledger, &out).unwrap_err();
    match *err {
        SealError::DigestMismatch { item, path, .. } => {
            assert_eq!(item, "C-1-3");
            assert!(path.ends_with("d4/f200.bin"), "{}", path.display());
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(fs::read_dir(s.dir.path().join("out")).unwrap().count(), 0);
    assert_eq!(ledger.size().unwrap(), size, "nothing recorded");
}
