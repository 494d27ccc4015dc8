//! Verifying a Custody package in place, without extracting it, and reporting every
//! finding.
//!
//! [`verify_package`] (a path, opened once), [`verify_reader`] (any `Read + Seek` the caller
//! owns) and [`verify_scanned`] (an archive already scanned) run the checks of
//! `docs/package.md` ("Verification") in order, on one scan of the archive: the ZIP
//! structure and the BagIt bag (through [`crate::bagit::validate_scanned`], which reads
//! every payload file once and hashes it with SHA-256 and BLAKE3 together), the
//! package signatures over the tag manifest against a trust store, the package statement
//! against the verified manifests, each included ledger entry (canonical form, signature,
//! signer enrolment), each inclusion proof, and the sender ledger's checkpoint. Nothing
//! stops at the first problem: the [`PackageReport`] lists them all, grouped.
//!
//! Trust flows from the signatures: a trusted signature covers the tag manifest, which
//! covers `custody/package.json`, which names the sender's log key, which signs the
//! checkpoint, to which every entry is proven. Only the signatures' keys need to be known
//! in advance.

mod custody_files;
mod finding;
mod history;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use custody_core::keys::{PublicKey, VerifierKey};

use crate::bagit::{self, BagFinding, BagReport, ValidateOptions};
use crate::layout;
use crate::package::PackageStatement;
use crate::zipscan::{ZipError, ZipScanner};

pub use finding::{Finding, FindingGroup, FindingKind, ItemField, PayloadChange, SignerProblem};

/// A key the verifier trusts to sign packages: a bare Ed25519 key (as from a PEM file),
/// or a C2SP verifier key whose name must then match the signature's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustedKey {
    /// Any signature file naming a key ID this key has under that name.
    Public(PublicKey),
    /// Exactly this named key.
    Verifier(VerifierKey),
}

impl TrustedKey {
    /// The Ed25519 key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            TrustedKey::Public(k) => *k,
            TrustedKey::Verifier(v) => v.key,
        }
    }
}

/// What the verifier knows and expects beyond the package.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// Keys trusted to sign packages.
    pub trusted: Vec<TrustedKey>,
    /// Keys known to be revoked, whatever the package says.
    pub revoked: Vec<PublicKey>,
    /// The authority the package must be addressed to (`recipient.authority`).
    pub expect_recipient: Option<String>,
    /// ZIP scan limits and the largest tag file read into memory.
    pub bag: ValidateOptions,
}

/// One package signature and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SignerStatus {
    /// The signer: its C2SP verifier key when the key is known (trusted or enrolled in the
    /// package), otherwise `name+keyid` from the file name.
    pub key: String,
    /// The key name from the signature file name.
    pub name: String,
    /// Whether the key is in the trust store.
    pub trusted: bool,
    /// Whether the signature verifies over the tag manifest.
    pub valid: bool,
    /// Whether the key is revoked (by `--revoked` or an included `key-revoked` entry).
    pub revoked: bool,
    /// Whether the key was active in the sender ledger at the package's checkpoint:
    /// enrolled by an included entry, and neither rotated out nor revoked by one.
    pub active: bool,
    /// The holder's full name, as the included entry that enrolled the key records it
    /// (only from a validly signed entry by an enrolled key; absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
}

impl SignerStatus {
    /// Whether this signature makes the package acceptable: valid, by a trusted key that
    /// is not revoked and was active in the sender ledger at the package's checkpoint.
    pub fn counts(&self) -> bool {
        self.trusted && self.valid && !self.revoked && self.active
    }
}

/// The outcome of verifying one package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageReport {
    /// Every included ledger entry that parsed, in seq order (trust them only if
    /// `verified`).
    pub included: Vec<IncludedEntry>,
    /// The sender ledger's checkpoint note as the package carries it, when it is text
    /// (trust it only if `verified`).
    pub checkpoint_note: Option<String>,
    /// No findings and at least one valid signature by a trusted, unrevoked key.
    pub verified: bool,
    /// Every problem found, in group order.
    pub findings: Vec<Finding>,
    /// Every signature file, in name order.
    pub signers: Vec<SignerStatus>,
    /// The package statement, when it parses (trust it only if `verified`).
    pub statement: Option<PackageStatement>,
}

impl PackageReport {
    /// The findings of one group.
    pub fn group(&self, group: FindingGroup) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.group == group)
    }
}

/// A verification that could not run at all (as opposed to one that found problems).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The package file cannot be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The package.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// Whether a package signature (`custody/signatures/*.sig`) verifies: Ed25519 over the exact
/// bytes of `tagmanifest-sha256.txt`, checked by the one signature rule
/// ([`PublicKey::verify_raw`]), the same rule ledger entries, receipts and checkpoints meet.
pub fn package_signature_verifies(
    key: &PublicKey,
    tag_manifest: &[u8],
    signature: &custody_core::keys::Signature,
) -> bool {
    key.verify_raw(tag_manifest, signature).is_ok()
}

/// Verifies the package at `path`: opens it once and verifies what that one handle reads
/// ([`verify_reader`]). A file that is not a ZIP archive, or not a Custody package, is a
/// finding; only a file that cannot be read is an error.
///
/// What is verified is the file as read through this handle; a caller that goes on to use
/// the package (extract, hash, record it) must work from bytes it owns, as
/// [`crate::receive`] does, never reopen the path.
pub fn verify_package(path: &Path, options: &VerifyOptions) -> Result<PackageReport, VerifyError> {
    let read = |source| VerifyError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read)?;
    verify_reader(BufReader::new(file), options).map_err(read)
}

/// Verifies the package read from `reader`, scanning the archive once.
pub fn verify_reader<R: Read + Seek>(
    reader: R,
    options: &VerifyOptions,
) -> io::Result<PackageReport> {
    let mut scanner = ZipScanner::new(reader, &options.bag.scan_limits).map_err(|e| match e {
        ZipError::Io(io) => io,
        other => io::Error::other(other),
    })?;
    verify_scanned(&mut scanner, options)
}

/// Verifies the package in an archive already scanned: one scan serves the ZIP, BagIt and
/// Custody checks, and the caller keeps the scanner to extract exactly what was verified.
/// `options.bag.scan_limits` are the scanner's; the rest apply here.
pub fn verify_scanned<R: Read + Seek>(
    scanner: &mut ZipScanner<R>,
    options: &VerifyOptions,
) -> io::Result<PackageReport> {
    verify_scanned_teeing(scanner, options, None)
}

/// [`verify_scanned`], handing each payload file's bytes to `tee` in the pass that hashes
/// them ([`bagit::validate_scanned_teeing`]): receive extracts while it verifies, and
/// decides only on the report, which a tee does not change.
pub fn verify_scanned_teeing<R: Read + Seek>(
    scanner: &mut ZipScanner<R>,
    options: &VerifyOptions,
    tee: Option<&mut (dyn bagit::PayloadTee + 'static)>,
) -> io::Result<PackageReport> {
    let bag = bagit::validate_scanned_teeing(scanner, &options.bag, tee)?;
    let mut findings = bag_findings(&bag);
    let custody = custody_files::check(scanner, options, &mut findings);
    findings.sort_by_key(|f| f.group);
    if let Some(statement) = &custody.statement {
        attribute_items(&mut findings, statement);
    }
    let verified = findings.is_empty() && custody.signers.iter().any(SignerStatus::counts);
    Ok(PackageReport {
        included: custody.included,
        checkpoint_note: custody.checkpoint_note,
        verified,
        findings,
        signers: custody.signers,
        statement: custody.statement,
    })
}

/// Names, on each finding about a payload file, the item the statement says the file
/// belongs to, so that a reader learns which piece of evidence is affected (the first
/// item claiming it: a file claimed twice is a finding of its own).
fn attribute_items(findings: &mut [Finding], statement: &PackageStatement) {
    if !findings
        .iter()
        .any(|f| f.file.as_deref().is_some_and(layout::is_payload))
    {
        return;
    }
    let mut owner: BTreeMap<String, &str> = BTreeMap::new();
    for item in &statement.items {
        for (path, _) in item.payload_files() {
            owner.entry(path).or_insert(item.id.as_str());
        }
    }
    for finding in findings.iter_mut().filter(|f| f.item.is_none()) {
        let Some(path) = finding.file.as_deref().filter(|p| layout::is_payload(p)) else {
            continue;
        };
        finding.item = owner.get(path).map(|id| (*id).to_owned());
    }
}

/// BagIt's errors, and its warnings that a Custody package must not give either: a
/// package is written by one tool to one layout, so a missing `bag-info.txt`, a
/// byte-order mark or a tag file outside the tag manifest is a deviation, not a style
/// issue. The one exception is the signatures, which are outside the tag manifest by
/// design.
fn bag_findings(report: &BagReport) -> Vec<Finding> {
    let warnings = report.warnings.iter().filter(|w| match w {
        BagFinding::TagFileNotInTagManifest { file } => !crate::layout::is_signature(file),
        _ => true,
    });
    report
        .errors
        .iter()
        .chain(warnings)
        .map(|f| match f {
            BagFinding::Zip { finding } => Finding {
                group: FindingGroup::Zip,
                file: finding.entry_name().map(str::to_owned),
                item: None,
                seq: None,
                kind: FindingKind::Zip(finding.clone()),
            },
            BagFinding::ZipEntryIntegrity { file, error } => Finding::file(
                FindingGroup::Zip,
                file,
                FindingKind::Integrity(error.clone()),
            ),
            other => Finding {
                group: FindingGroup::Bagit,
                file: bag_finding_file(other),
                item: None,
                seq: None,
                kind: FindingKind::Bag(other.clone()),
            },
        })
        .collect()
}

/// The file a BagIt finding names (every variant but the archive-level ones has one).
fn bag_finding_file(finding: &BagFinding) -> Option<String> {
    let value = serde_json::to_value(finding).ok()?;
    value.get("file")?.as_str().map(str::to_owned)
}

/// Digests from a payload manifest, by bag path.
type ManifestDigests = BTreeMap<String, String>;

/// One ledger entry a package includes under `custody/events/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncludedEntry {
    /// Its seq in the sender ledger (from its file name).
    pub seq: u64,
    /// The entry.
    pub signed: custody_store::SignedEvent,
    /// Whether its signature verifies under the actor key it names.
    pub signature_valid: bool,
}
