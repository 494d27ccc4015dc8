//! Set-up shared by the package tests: identities from fixed seeds and a sender ledger
//! holding case C-1 with a file item C-1-1 (`disk.img`) and a directory item C-1-2
//! (`phone/`, two files in two levels).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use custody_core::keys::{ActorInfo, Identity};
use custody_pack::bagit::write::manifest_text;
use custody_pack::layout;
use custody_pack::package::{Recipient, RequestInfo};
use custody_pack::seal::{seal, SealRequest, SenderInfo};
use custody_pack::verify::{TrustedKey, VerifyOptions};
use custody_pack::zipscan::{ScanLimits, ZipScanner};
use custody_pack::zipwrite::Compression;
use custody_store::acquisition::Acquisition;
use custody_store::{EventDraft, EventFields, EventKind, Ledger};

/// The claimed time of every set-up event.
pub const NOW: &str = "2026-03-01T09:00:00Z";

/// An identity from a fixed seed.
pub fn identity(name: &str, seed: u8) -> Identity {
    Identity::from_seed(ActorInfo::named(name), [seed; 32]).unwrap()
}

/// The sender ledger and the keys that write it.
pub struct Sender {
    pub ledger: Ledger,
    pub officer: Identity,
    pub log: Identity,
}

/// Creates `dir/<ledger_file>` with case C-1 and the two acquired items, whose evidence it
/// writes into `dir`.
pub fn sender_with_two_items(dir: &Path, ledger_file: &str) -> Sender {
    let officer = identity("officer@example.fr", 1);
    let log = identity("ledger.example.fr", 2);
    let path = dir.join(ledger_file);
    let mut ledger = Ledger::init(&path, "ledger.example.fr/custody", &officer, &log).unwrap();
    ledger
        .append(
            EventDraft::new(EventKind::CaseOpened, NOW).case("C-1"),
            &officer,
            &log,
        )
        .unwrap();
    fs::write(dir.join("disk.img"), b"disk image bytes").unwrap();
    fs::create_dir_all(dir.join("phone/sub")).unwrap();
    fs::write(dir.join("phone/a.txt"), b"alpha").unwrap();
    fs::write(dir.join("phone/sub/b.txt"), b"beta").unwrap();
    for (n, name) in ["disk.img", "phone"].iter().enumerate() {
        let item = format!("C-1-{}", n + 1);
        ledger
            .append(acquisition(&dir.join(name), &[&item]), &officer, &log)
            .unwrap();
    }
    Sender {
        ledger,
        officer,
        log,
    }
}

/// An `acquired` entry of case C-1 creating `items`, recording the evidence at `path`.
pub fn acquisition(path: &Path, items: &[&str]) -> EventDraft {
    let evidence = Acquisition::plan(path).unwrap().hash(&mut |_| {}).unwrap();
    items
        .iter()
        .fold(
            EventDraft::new(EventKind::Acquired, NOW).case("C-1"),
            |draft, item| draft.item(*item),
        )
        .fields(EventFields {
            evidence: Some(evidence),
            ..EventFields::default()
        })
}

/// Creates `dir/<ledger_file>` with case `case` and one file item `<case>-1`, the file
/// `dir/<file>` holding `bytes`.
pub fn sender_with_one_item(
    dir: &Path,
    ledger_file: &str,
    case: &str,
    file: &str,
    bytes: &[u8],
) -> Sender {
    let officer = identity("officer@example.fr", 1);
    let log = identity("ledger.example.fr", 2);
    let mut ledger = Ledger::init(
        &dir.join(ledger_file),
        "ledger.example.fr/custody",
        &officer,
        &log,
    )
    .unwrap();
    fs::write(dir.join(file), bytes).unwrap();
    let evidence = Acquisition::plan(&dir.join(file))
        .unwrap()
        .hash(&mut |_| {})
        .unwrap();
    ledger
        .append_batch(
            vec![
                EventDraft::new(EventKind::CaseOpened, NOW).case(case),
                EventDraft::new(EventKind::Acquired, NOW)
                    .case(case)
                    .item(format!("{case}-1"))
                    .fields(EventFields {
                        evidence: Some(evidence),
                        ..EventFields::default()
                    }),
            ],
            &officer,
            &log,
        )
        .unwrap();
    Sender {
        ledger,
        officer,
        log,
    }
}

/// The request [`sealed`] makes: case C-1, items C-1-1 and C-1-2 from `dir`, from Paris to
/// Berlin, at a fixed time.
pub fn seal_request(dir: &Path) -> SealRequest {
    SealRequest {
        case: "C-1".into(),
        id: None,
        items: vec!["C-1-1".into(), "C-1-2".into()],
        files: BTreeMap::from([
            ("C-1-1".into(), dir.join("disk.img")),
            ("C-1-2".into(), dir.join("phone")),
        ]),
        sender: SenderInfo {
            authority: "Parquet de Paris".into(),
            organisation: None,
            jurisdiction: Some("FR".into()),
        },
        recipient: Recipient {
            authority: "Staatsanwaltschaft Berlin".into(),
            jurisdiction: Some("DE".into()),
        },
        request: RequestInfo::default(),
        use_limitations: vec![],
        confidential: false,
        personal_data: vec![],
        retention_until: None,
        sealed_time: time::macros::datetime!(2026-03-02 12:00:00 UTC),
        claimed_time: "2026-03-02T12:00:00Z".into(),
        compression: Compression::Stored,
    }
}

/// The bag (and package) id of the packages [`sealed`] makes.
pub const ID: &str = "C-1-1";

pub struct Setup {
    pub dir: tempfile::TempDir,
    pub officer: Identity,
    pub package: PathBuf,
}

/// A sender ledger with a file item C-1-1 and a directory item C-1-2, sealed into
/// `pkg.zip` signed by the officer, after `extra` has appended what it wants.
pub fn sealed(extra: impl FnOnce(&mut Ledger, &Identity, &Identity), signers: &[&str]) -> Setup {
    sealed_items(extra, signers, &[("C-1-1", "disk.img"), ("C-1-2", "phone")])
}

/// As [`sealed`], sealing `items` (id, file or directory in the set-up directory).
pub fn sealed_items(
    extra: impl FnOnce(&mut Ledger, &Identity, &Identity),
    signers: &[&str],
    items: &[(&str, &str)],
) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let Sender {
        mut ledger,
        officer,
        log,
    } = sender_with_two_items(dir.path(), "sender.db");
    extra(&mut ledger, &officer, &log);
    let analyst = identity("analyst@example.fr", 5);
    let signing: Vec<Identity> = signers
        .iter()
        .map(|s| match *s {
            "analyst" => analyst.clone(),
            "judge" => identity("judge@tj-paris.example", 6),
            _ => officer.clone(),
        })
        .collect();
    let package = dir.path().join("pkg.zip");
    seal(
        &mut ledger,
        SealRequest {
            items: items.iter().map(|(id, _)| (*id).to_owned()).collect(),
            files: items
                .iter()
                .map(|(id, file)| ((*id).to_owned(), dir.path().join(file)))
                .collect(),
            ..seal_request(dir.path())
        },
        &officer,
        &signing,
        &log,
        &package,
        &mut |_| {},
    )
    .unwrap();
    Setup {
        dir,
        officer,
        package,
    }
}

pub fn genuine() -> Setup {
    sealed(|_, _, _| {}, &["officer"])
}

pub fn trusting(id: &Identity) -> VerifyOptions {
    VerifyOptions {
        trusted: vec![TrustedKey::Public(id.public_key())],
        ..VerifyOptions::default()
    }
}

/// Every entry's bytes by name.
pub fn entries(zip: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut scanner =
        ZipScanner::new(fs::File::open(zip).unwrap(), &ScanLimits::default()).unwrap();
    let names: Vec<String> = scanner.entries().iter().map(|e| e.name.clone()).collect();
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| (n, scanner.read_entry(i, 1 << 30).unwrap()))
        .collect()
}

/// Writes `files` as a plain stored ZIP.
pub fn write_zip(path: &Path, files: &BTreeMap<String, Vec<u8>>) {
    // Built in memory: a file written entry by entry is slow for 100,000 entries.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in files {
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    fs::write(path, zip.finish().unwrap().into_inner()).unwrap();
}

/// A receiving ledger and its clerk and log keys.
pub fn receiver_ledger(dir: &Path) -> (PathBuf, Identity, Identity) {
    let clerk = identity("clerk@sta-berlin.example", 7);
    let log = identity("ledger.sta-berlin.example", 8);
    let path = dir.join("receiver.db");
    Ledger::init(&path, "ledger.sta-berlin.example/custody", &clerk, &log).unwrap();
    (path, clerk, log)
}

/// Recomputes the tag manifest and replaces every signature by one from `signer`, as an
/// insider (or forger) holding `signer`'s key would.
pub fn resign(files: &mut BTreeMap<String, Vec<u8>>, signer: &Identity) {
    let prefix = format!("{ID}/");
    files.retain(|name, _| !name.starts_with(&format!("{prefix}{}", layout::SIGNATURES_DIR)));
    let digests: Vec<(String, String)> = files
        .iter()
        .filter_map(|(name, bytes)| {
            let path = name.strip_prefix(&prefix)?;
            let tag = !path.starts_with(layout::DATA_DIR) && path != layout::TAG_MANIFEST;
            tag.then(|| {
                let d = custody_core::hash::hash_reader(bytes.as_slice(), &mut |_| {}).unwrap();
                (path.to_owned(), d.sha256_hex())
            })
        })
        .collect();
    let text = manifest_text(digests.iter().map(|(p, d)| (p.as_str(), d.as_str())));
    let signature = signer.sign_raw(text.as_bytes());
    files.insert(
        format!("{prefix}{}", layout::TAG_MANIFEST),
        text.into_bytes(),
    );
    files.insert(
        format!("{prefix}{}", layout::signature_path(&signer.verifier_key())),
        signature.to_bytes().to_vec(),
    );
}

/// The genuine package's statement, edited by `edit`, re-canonicalised and re-signed by the
/// trusted officer; the verification report of the result.
pub fn with_statement(
    s: &Setup,
    edit: impl FnOnce(&mut serde_json::Value),
) -> custody_pack::verify::PackageReport {
    resigned(s, |files| edit_statement(files, edit))
}

/// The genuine package's entries edited by `edit` and re-signed by the trusted officer;
/// the verification report of the result.
pub fn resigned(
    s: &Setup,
    edit: impl FnOnce(&mut BTreeMap<String, Vec<u8>>),
) -> custody_pack::verify::PackageReport {
    let mut files = entries(&s.package);
    edit(&mut files);
    resign(&mut files, &s.officer);
    let bad = s.dir.path().join("bad.zip");
    write_zip(&bad, &files);
    custody_pack::verify::verify_package(&bad, &trusting(&s.officer)).unwrap()
}

/// Replaces the statement in `files` by its edited canonical form.
pub fn edit_statement(
    files: &mut BTreeMap<String, Vec<u8>>,
    edit: impl FnOnce(&mut serde_json::Value),
) {
    let name = format!("{ID}/custody/package.json");
    let mut statement: serde_json::Value = serde_json::from_slice(&files[&name]).unwrap();
    edit(&mut statement);
    files.insert(
        name,
        custody_core::canonical::to_canonical_vec(&statement).unwrap(),
    );
}
