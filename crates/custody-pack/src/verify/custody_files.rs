//! The Custody layer of verification: reading the package's own files from the archive in
//! place, the signatures, the statement against the payload, then the history
//! ([`super::history`]).

use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::ops::Bound;

use custody_core::canonical;
use custody_core::hex;
use custody_core::keys::{KeyType, PublicKey, Signature, VerifierKey};

use super::finding::{Finding, FindingGroup, FindingKind, ItemField};
use super::history;
use super::{ManifestDigests, SignerStatus, TrustedKey, VerifyOptions};
use crate::bagit::write::decode_manifest_path;
use crate::layout;
use crate::limits::{self, TagRefusal};
use crate::package::{PackageItem, PackageStatement};
use crate::zipscan::{EntryIntegrityError, ReadEntryError, ZipError, ZipFinding, ZipScanner};

/// What the Custody checks hand back besides their findings.
pub(super) struct CustodyOutcome {
    pub included: Vec<super::IncludedEntry>,
    pub checkpoint_note: Option<String>,
    pub signers: Vec<SignerStatus>,
    pub statement: Option<PackageStatement>,
}

/// The bag inside the archive: its directory name and each file's entry index, size and
/// stored (compressed) size.
pub(super) struct Bag {
    pub id: String,
    files: BTreeMap<String, BagFile>,
    /// Directory entries inside the bag (seal writes none).
    dirs: Vec<String>,
}

#[derive(Clone, Copy)]
struct BagFile {
    index: usize,
    size: u64,
    stored: u64,
}

impl Bag {
    /// Bag paths under `dir` (which ends in `/`).
    pub fn under<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.files
            .range::<str, _>((Bound::Included(dir), Bound::Unbounded))
            .map(|(p, _)| p.as_str())
            .take_while(move |p| p.starts_with(dir))
    }

    fn size(&self, path: &str) -> Option<u64> {
        self.files.get(path).map(|f| f.size)
    }
}

/// Whole entries read into memory: what [`Reader`] needs of the archive, so that it
/// works on any scanner without a type parameter.
pub(super) trait EntrySource {
    /// Reads entry `index`, refusing one declared larger than `max`.
    fn read_entry(&mut self, index: usize, max: u64) -> Result<Vec<u8>, ReadEntryError>;
}

impl<R: Read + Seek> EntrySource for ZipScanner<R> {
    fn read_entry(&mut self, index: usize, max: u64) -> Result<Vec<u8>, ReadEntryError> {
        ZipScanner::read_entry(self, index, max)
    }
}

/// Reads the package's Custody files from the archive, each within its named limit
/// ([`layout::max_read_size`]) and all within [`crate::bagit::ValidateOptions::max_tag_total`].
pub(super) struct Reader<'a> {
    scanner: &'a mut dyn EntrySource,
    max: u64,
    max_total: u64,
    total: u64,
    pub findings: &'a mut Vec<Finding>,
}

impl Reader<'_> {
    /// Reads a whole file, reporting (under `group`) why it could not be. Its declared
    /// sizes are judged before a byte is inflated.
    pub fn read(&mut self, bag: &Bag, path: &str, group: FindingGroup) -> Option<Vec<u8>> {
        let Some(&file) = bag.files.get(path) else {
            self.findings
                .push(Finding::file(group, path, FindingKind::MissingFile));
            return None;
        };
        let max = layout::max_read_size(path).min(self.max);
        let refusal = match limits::check_tag_size(file.stored, file.size, max) {
            Err(TagRefusal::TooLarge { size, max }) => Some(FindingKind::TooLarge { size, max }),
            Err(TagRefusal::Ratio {
                compressed,
                uncompressed,
            }) => Some(FindingKind::CompressionRatio {
                compressed,
                uncompressed,
                limit: limits::MAX_TAG_RATIO,
            }),
            Ok(()) => {
                let total = self.total.saturating_add(file.size);
                (total > self.max_total).then_some(FindingKind::TagBytesExceeded {
                    total,
                    limit: self.max_total,
                })
            }
        };
        if let Some(kind) = refusal {
            self.findings.push(Finding::file(group, path, kind));
            return None;
        }
        self.total = self.total.saturating_add(file.size);
        match self.scanner.read_entry(file.index, max) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                let kind = match e {
                    ReadEntryError::TooLarge { size, max, .. } => {
                        FindingKind::TooLarge { size, max }
                    }
                    ReadEntryError::Zip(ZipError::Io(io)) => {
                        match EntryIntegrityError::from_io(&io) {
                            Some(i) => FindingKind::Integrity(i.clone()),
                            None => FindingKind::Unreadable {
                                error: io.to_string(),
                            },
                        }
                    }
                    other => FindingKind::Unreadable {
                        error: other.to_string(),
                    },
                };
                self.findings.push(Finding::file(group, path, kind));
                None
            }
        }
    }
}

/// Runs the Custody checks on the scanned archive.
pub(super) fn check<R: Read + Seek>(
    scanner: &mut ZipScanner<R>,
    options: &VerifyOptions,
    findings: &mut Vec<Finding>,
) -> CustodyOutcome {
    let no_trust = |findings: &mut Vec<Finding>| {
        findings.push(Finding::package(
            FindingGroup::Signature,
            FindingKind::NoTrustedSignature,
        ));
        CustodyOutcome {
            included: Vec::new(),
            checkpoint_note: None,
            signers: Vec::new(),
            statement: None,
        }
    };
    let Some(bag) = find_bag(scanner) else {
        // The ZIP and BagIt findings already say why (not a ZIP, no bag); a package
        // without a bag cannot carry a trusted signature either.
        let structural = scanner
            .scan()
            .findings
            .iter()
            .any(|f| matches!(f, ZipFinding::NoEndOfCentralDirectory));
        if !structural {
            findings.push(Finding::package(FindingGroup::Bagit, FindingKind::NoBag));
        }
        return no_trust(findings);
    };
    let mut reader = Reader {
        scanner,
        max: options.bag.max_tag_file,
        max_total: options.bag.max_tag_total,
        total: 0,
        findings,
    };
    unexpected_files(&bag, reader.findings);
    for required in [layout::MANIFEST_SHA256, layout::MANIFEST_BLAKE3] {
        if bag.size(required).is_none() {
            reader.findings.push(Finding::file(
                FindingGroup::Bagit,
                required,
                FindingKind::MissingFile,
            ));
        }
    }
    let tag_manifest = reader.read(&bag, layout::TAG_MANIFEST, FindingGroup::Signature);
    let statement = read_statement(&mut reader, &bag);
    let history = history::check(&mut reader, &bag, statement.as_ref());
    let signers = check_signatures(
        &mut reader,
        &bag,
        tag_manifest.as_deref(),
        options,
        &history,
    );
    if let Some(statement) = &statement {
        check_statement(&mut reader, &bag, statement, options, &history);
    }
    if !signers.iter().any(SignerStatus::counts) {
        reader.findings.push(Finding::package(
            FindingGroup::Signature,
            FindingKind::NoTrustedSignature,
        ));
    }
    CustodyOutcome {
        signers,
        statement,
        included: history.included(),
        checkpoint_note: history.checkpoint_note,
    }
}

/// The single top-level directory holding `bagit.txt`, and the files under it.
fn find_bag<R: Read + Seek>(scanner: &ZipScanner<R>) -> Option<Bag> {
    let mut roots = scanner.entries().iter().filter_map(|e| {
        let (dir, file) = e.name.split_once('/')?;
        (file == layout::BAGIT_TXT && !dir.is_empty()).then(|| dir.to_owned())
    });
    let id = roots.next()?;
    if roots.next().is_some() {
        return None;
    }
    let mut files = BTreeMap::new();
    let mut dirs = Vec::new();
    for entry in scanner.entries() {
        if entry.is_dir() {
            // The bag directory's own entry has no bag path: name it by its entry name.
            match layout::bag_path(&id, &entry.name) {
                Some("") => dirs.push(entry.name.clone()),
                Some(path) => dirs.push(path.to_owned()),
                None => {}
            }
            continue;
        }
        if let Some(path) = layout::bag_path(&id, &entry.name) {
            // The first of duplicate names; the ZIP findings report the duplicate.
            files.entry(path.to_owned()).or_insert(BagFile {
                index: entry.index,
                size: entry.uncompressed_size,
                stored: entry.compressed_size,
            });
        }
    }
    Some(Bag { id, files, dirs })
}

/// Files outside the layout, and directory entries (a package has none: every directory
/// is implied by the files in it, so an added one is content nothing signed). Payload
/// files are the manifests' business.
fn unexpected_files(bag: &Bag, findings: &mut Vec<Finding>) {
    for dir in &bag.dirs {
        findings.push(Finding::file(
            FindingGroup::Bagit,
            crate::bagit::shorten(dir),
            FindingKind::UnexpectedFile,
        ));
    }
    const TAG_FILES: [&str; 7] = [
        layout::BAGIT_TXT,
        layout::BAG_INFO,
        layout::MANIFEST_SHA256,
        layout::MANIFEST_BLAKE3,
        layout::TAG_MANIFEST,
        layout::PACKAGE_JSON,
        layout::CHECKPOINT,
    ];
    for path in bag.files.keys() {
        let known = layout::is_payload(path)
            || TAG_FILES.contains(&path.as_str())
            || layout::event_seq(path).is_some()
            || layout::proof_seq(path).is_some()
            || layout::signature_key(path).is_some();
        if known {
            continue;
        }
        let group = if path.starts_with(layout::EVENTS_DIR) {
            FindingGroup::Events
        } else if path.starts_with(layout::PROOFS_DIR) {
            FindingGroup::Proofs
        } else if layout::is_signature(path) {
            FindingGroup::Signature
        } else {
            FindingGroup::Bagit
        };
        let kind = if group == FindingGroup::Signature {
            FindingKind::SignatureName
        } else {
            FindingKind::UnexpectedFile
        };
        findings.push(Finding::file(group, path.clone(), kind));
    }
}

fn read_statement(reader: &mut Reader<'_>, bag: &Bag) -> Option<PackageStatement> {
    let bytes = reader.read(bag, layout::PACKAGE_JSON, FindingGroup::Statement)?;
    let statement = match PackageStatement::parse(&bytes) {
        Ok(s) => s,
        Err(e) => {
            reader.findings.push(Finding::file(
                FindingGroup::Statement,
                layout::PACKAGE_JSON,
                FindingKind::Malformed {
                    error: e.to_string(),
                },
            ));
            return None;
        }
    };
    if !canonical::is_canonical(&bytes) || statement.to_canonical().ok().as_deref() != Some(&bytes)
    {
        reader.findings.push(Finding::file(
            FindingGroup::Statement,
            layout::PACKAGE_JSON,
            FindingKind::NotCanonical,
        ));
    }
    Some(statement)
}

/// Checks every signature file; returns their statuses.
fn check_signatures(
    reader: &mut Reader<'_>,
    bag: &Bag,
    tag_manifest: Option<&[u8]>,
    options: &VerifyOptions,
    history: &history::History,
) -> Vec<SignerStatus> {
    let mut paths: Vec<String> = bag
        .under(layout::SIGNATURES_DIR)
        .filter(|p| layout::signature_key(p).is_some())
        .map(str::to_owned)
        .collect();
    let mut statuses = Vec::new();
    let mut problems = Vec::new();
    // Trusted signers outside the sender ledger: a finding only if nothing else counts.
    let mut countersigners = Vec::new();
    // Each signature is matched against every enrolled key: the count is bounded so that
    // this stays linear in the package's size.
    if paths.len() > limits::MAX_SIGNATURES {
        problems.push(Finding::file(
            FindingGroup::Signature,
            layout::SIGNATURES_DIR,
            FindingKind::TooManySignatures {
                count: paths.len() as u64,
                limit: limits::MAX_SIGNATURES as u64,
            },
        ));
        paths.truncate(limits::MAX_SIGNATURES);
    }
    for path in paths {
        let Some((name, key_id)) = layout::signature_key(&path) else {
            continue;
        };
        let label = format!("{name}+{}", hex::encode(&key_id));
        let trusted = options.trusted.iter().find_map(|t| match t {
            TrustedKey::Verifier(v) => (v.name == name && v.key_id() == key_id).then_some(v.key),
            TrustedKey::Public(k) => (named(name, *k).key_id() == key_id).then_some(*k),
        });
        let key = trusted.or_else(|| {
            history
                .enrolled_keys()
                .find(|k| named(name, *k).key_id() == key_id)
        });
        let mut status = SignerStatus {
            key: key.map_or(label.clone(), |k| named(name, k).to_string()),
            name: name.to_owned(),
            trusted: trusted.is_some(),
            valid: false,
            revoked: false,
            active: false,
            full_name: key.and_then(|k| history.full_name(&k)).map(str::to_owned),
        };
        let Some(bytes) = reader.read(bag, &path, FindingGroup::Signature) else {
            statuses.push(status);
            continue;
        };
        let signature = <[u8; 64]>::try_from(bytes.as_slice()).map(|b| Signature::from_bytes(&b));
        let Ok(signature) = signature else {
            problems.push(Finding::file(
                FindingGroup::Signature,
                &path,
                FindingKind::SignatureLength {
                    len: bytes.len() as u64,
                },
            ));
            statuses.push(status);
            continue;
        };
        if let (Some(key), Some(message)) = (key, tag_manifest) {
            status.valid = super::package_signature_verifies(&key, message, &signature);
            if !status.valid {
                problems.push(Finding::file(
                    FindingGroup::Signature,
                    &path,
                    FindingKind::SignatureInvalid {
                        key: status.key.clone(),
                    },
                ));
            }
        }
        if let Some(key) = key {
            let standing = history.standing(&key);
            status.active = standing == history::KeyStanding::Active;
            let finding = |kind| Finding::file(FindingGroup::Signature, &path, kind);
            match standing {
                history::KeyStanding::Rotated { seq } => {
                    problems.push(finding(FindingKind::RotatedSigner {
                        key: status.key.clone(),
                        seq,
                    }));
                }
                history::KeyStanding::NotEnrolled if status.trusted && status.valid => {
                    countersigners.push(finding(FindingKind::SignerNotInSenderLedger {
                        key: status.key.clone(),
                    }));
                }
                _ => {}
            }
            let revoked_by_entry = history.revocation_of(&key);
            if options.revoked.contains(&key) || revoked_by_entry.is_some() {
                status.revoked = true;
                problems.push(Finding::file(
                    FindingGroup::Signature,
                    &path,
                    FindingKind::RevokedSigner {
                        key: status.key.clone(),
                        seq: revoked_by_entry,
                    },
                ));
            }
        }
        statuses.push(status);
    }
    // A signature by a key the verifier does not know is harmless beside a trusted one
    // (a countersignature by someone else); without one, each is a reason for refusal.
    if !statuses.iter().any(SignerStatus::counts) {
        problems.append(&mut countersigners);
        for status in statuses.iter().filter(|s| !s.trusted) {
            problems.push(Finding::file(
                FindingGroup::Signature,
                format!(
                    "{}{}{}",
                    layout::SIGNATURES_DIR,
                    label_of(status),
                    layout::SIGNATURE_SUFFIX
                ),
                FindingKind::UntrustedSigner {
                    key: status.key.clone(),
                },
            ));
        }
    }
    reader.findings.extend(problems);
    statuses
}

/// `name+keyid` of a status (its key string up to the second `+`).
fn label_of(status: &SignerStatus) -> String {
    let mut parts = status.key.splitn(3, '+');
    let name = parts.next().unwrap_or_default();
    let id = parts.next().unwrap_or_default();
    format!("{name}+{id}")
}

/// The Ed25519 verifier key `name` would have with `key`.
fn named(name: &str, key: PublicKey) -> VerifierKey {
    VerifierKey {
        name: name.to_owned(),
        key_type: KeyType::Ed25519,
        key,
    }
}

/// The statement against the bag, the payload and the verifier's expectations.
fn check_statement(
    reader: &mut Reader<'_>,
    bag: &Bag,
    statement: &PackageStatement,
    options: &VerifyOptions,
    history: &history::History,
) {
    let mut out = Vec::new();
    let mismatch = |field: &str, expected: &str, found: &str| {
        Finding::file(
            FindingGroup::Statement,
            layout::PACKAGE_JSON,
            FindingKind::StatementMismatch {
                field: field.to_owned(),
                expected: expected.to_owned(),
                found: found.to_owned(),
            },
        )
    };
    if statement.id != bag.id {
        out.push(mismatch("id", &bag.id, &statement.id));
    }
    if let Some(expected) = &options.expect_recipient {
        if *expected != statement.recipient.authority {
            out.push(Finding::file(
                FindingGroup::Statement,
                layout::PACKAGE_JSON,
                FindingKind::RecipientMismatch {
                    expected: expected.clone(),
                    found: statement.recipient.authority.clone(),
                },
            ));
        }
    }
    if let Some(text) = reader.read(bag, layout::BAG_INFO, FindingGroup::Bagit) {
        check_bag_info(&String::from_utf8_lossy(&text), statement, &mut out);
    }
    let sha = read_manifest(reader, bag, layout::MANIFEST_SHA256);
    let b3 = read_manifest(reader, bag, layout::MANIFEST_BLAKE3);
    check_order(statement, &mut out);
    let mut covered = BTreeMap::new();
    for item in &statement.items {
        check_item(bag, item, &sha, &b3, &mut covered, &mut out);
        history.check_acquisition(item, &mut out);
    }
    history.check_onward_transfers(statement, &mut out);
    for path in bag.under(layout::DATA_DIR) {
        if !covered.contains_key(path) {
            out.push(Finding::file(
                FindingGroup::Statement,
                path,
                FindingKind::PayloadNotInStatement {
                    path: path.to_owned(),
                    in_payload: true,
                },
            ));
        }
    }
    reader.findings.extend(out);
}

/// Items strictly ascending by id, and each item's events strictly ascending by seq: the
/// statement lists each item and each entry of its history once (a repeated item would be
/// recorded twice by the receiver).
fn check_order(statement: &PackageStatement, out: &mut Vec<Finding>) {
    let finding = |kind| Finding::file(FindingGroup::Statement, layout::PACKAGE_JSON, kind);
    for pair in statement.items.windows(2) {
        if pair[0].id >= pair[1].id {
            out.push(finding(FindingKind::ItemsNotSortedUnique {
                item: pair[1].id.clone(),
            }));
        }
    }
    for item in &statement.items {
        if item.events.windows(2).any(|pair| pair[0] >= pair[1]) {
            out.push(finding(FindingKind::EventsNotSortedUnique {
                item: item.id.clone(),
            }));
        }
    }
}

/// `bag-info.txt` must say what the statement says.
fn check_bag_info(text: &str, statement: &PackageStatement, out: &mut Vec<Finding>) {
    let labels = parse_labels(text);
    let wanted = [
        ("External-Identifier", statement.id.as_str()),
        ("Custody-Case", statement.case.as_str()),
        ("Custody-Sender", statement.sender.authority.as_str()),
        ("Custody-Recipient", statement.recipient.authority.as_str()),
    ];
    for (label, expected) in wanted {
        let found = labels
            .iter()
            .find(|(l, _)| l.eq_ignore_ascii_case(label))
            .map(|(_, v)| v.as_str());
        if found != Some(expected) {
            out.push(Finding::file(
                FindingGroup::Bagit,
                layout::BAG_INFO,
                FindingKind::BagInfoMismatch {
                    label: label.to_owned(),
                    expected: expected.to_owned(),
                    found: found.unwrap_or_default().to_owned(),
                },
            ));
        }
    }
}

/// `Label: value` pairs, continuation lines unfolded into one space.
fn parse_labels(text: &str) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = labels.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((label, value)) = line.split_once(':') {
            labels.push((label.trim().to_owned(), value.trim().to_owned()));
        }
    }
    labels
}

/// A payload manifest's digests by bag path (malformed lines are BagIt findings already).
fn read_manifest(reader: &mut Reader<'_>, bag: &Bag, file: &str) -> ManifestDigests {
    if bag.size(file).is_none() {
        return ManifestDigests::new();
    }
    let Some(bytes) = reader.read(bag, file, FindingGroup::Bagit) else {
        return ManifestDigests::new();
    };
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|line| {
            let (digest, path) = line.split_once([' ', '\t'])?;
            let path = decode_manifest_path(path.trim_start()).into_owned();
            Some((path, digest.to_ascii_lowercase()))
        })
        .collect()
}

/// One item: its path, and each of its files against the verified manifests and archive.
fn check_item(
    bag: &Bag,
    item: &PackageItem,
    sha: &ManifestDigests,
    b3: &ManifestDigests,
    covered: &mut BTreeMap<String, String>,
    out: &mut Vec<Finding>,
) {
    let prefix = format!("{}{}", layout::DATA_DIR, item.id);
    let path_ok = match item.files {
        Some(_) => item.path == prefix,
        None => item
            .path
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|name| !name.is_empty() && !name.contains('/')),
    };
    if !path_ok {
        out.push(Finding::file(
            FindingGroup::Statement,
            layout::PACKAGE_JSON,
            FindingKind::StatementMismatch {
                field: format!("items[{}].path", item.id),
                expected: format!("{prefix}/…"),
                found: item.path.clone(),
            },
        ));
    }
    check_directory_digests(item, out);
    for (path, digests) in item.payload_files() {
        // Each payload file is one item's: an item whose path lies inside another's (an
        // id containing `/`) would make the receiver record the same bytes twice.
        if let Some(other) = covered.insert(path.clone(), item.id.clone()) {
            out.push(Finding::file(
                FindingGroup::Statement,
                &path,
                FindingKind::PayloadInTwoItems {
                    path: path.clone(),
                    item: item.id.clone(),
                    other,
                },
            ));
        }
        let Some(size) = bag.size(&path) else {
            out.push(Finding::file(
                FindingGroup::Statement,
                &path,
                FindingKind::PayloadNotInStatement {
                    path: path.clone(),
                    in_payload: false,
                },
            ));
            continue;
        };
        let mut compare = |field, stated: String, found: Option<String>| {
            let found = found.unwrap_or_else(|| "nothing (not in the manifest)".to_owned());
            if stated != found {
                out.push(Finding::file(
                    FindingGroup::Statement,
                    &path,
                    FindingKind::ItemMismatch {
                        item: item.id.clone(),
                        path: path.clone(),
                        field,
                        stated,
                        found,
                    },
                ));
            }
        };
        compare(
            ItemField::Size,
            digests.size.to_string(),
            Some(size.to_string()),
        );
        compare(
            ItemField::Sha256,
            digests.sha256_hex(),
            sha.get(&path).cloned(),
        );
        compare(
            ItemField::Blake3,
            digests.blake3_hex(),
            b3.get(&path).cloned(),
        );
    }
}

/// A directory item's size and digests are a function of its file list.
fn check_directory_digests(item: &PackageItem, out: &mut Vec<Finding>) {
    let Some(Ok(d)) = item.listed_digests() else {
        return;
    };
    for (field, stated, computed) in [
        (ItemField::Size, item.size.to_string(), d.size.to_string()),
        (ItemField::Sha256, hex::encode(&item.sha256), d.sha256_hex()),
        (ItemField::Blake3, hex::encode(&item.blake3), d.blake3_hex()),
    ] {
        if stated != computed {
            out.push(Finding::file(
                FindingGroup::Statement,
                layout::PACKAGE_JSON,
                FindingKind::ItemMismatch {
                    item: item.id.clone(),
                    path: item.path.clone(),
                    field,
                    stated,
                    found: computed,
                },
            ));
        }
    }
}
