//! What a package holds and claims, read without verifying it (`custody show`).
//!
//! [`inspect`] reads a package through the strict ZIP reader ([`crate::zipscan`]) with the
//! same limits as verification, parses its statement (`custody/package.json`) and lists its
//! signature files, and stops there: no hash, signature, proof or checkpoint is checked, so
//! nothing it returns is established. It is for a person deciding what to do with a package
//! before verifying it; a verdict comes only from [`crate::verify`]. A package whose ZIP
//! structure the scan refuses, or whose statement cannot be read, is an [`InspectError`].

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use custody_core::hex;

use crate::layout;
use crate::limits;
use crate::package::{PackageStatement, StatementError};
use crate::zipscan::{ReadEntryError, ScanLimits, ZipEntry, ZipError, ZipScanner};

/// A package signature file, as its name describes it (not verified).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureFile {
    /// The signer's key name, from the file name.
    pub name: String,
    /// The signer's key ID (8 hex digits), from the file name.
    pub key_id: String,
    /// The file's size in bytes as the ZIP declares it (a signature is 64).
    pub size: u64,
}

/// What a package holds and claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageContents {
    /// The bag directory (the package id).
    pub id: String,
    /// The parsed statement: sender, recipient, request, conditions, items.
    pub statement: PackageStatement,
    /// Its signature files, sorted by name.
    pub signatures: Vec<SignatureFile>,
    /// Number of ZIP entries.
    pub entries: usize,
    /// Number of custody event files (`custody/events/*.json`).
    pub events: usize,
}

/// Why a package could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// The file cannot be opened.
    #[error("{path}: {source}")]
    Open {
        /// The package.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The ZIP cannot be read at all.
    #[error("{path}: not a readable ZIP archive: {source}")]
    Zip {
        /// The package.
        path: PathBuf,
        /// What is wrong.
        source: ZipError,
    },
    /// The strict ZIP reader refuses its structure.
    #[error("{path}: malformed ZIP ({count} problem(s); first: {first}); run `custody verify` for all of them")]
    Malformed {
        /// The package.
        path: PathBuf,
        /// Number of structural findings.
        count: usize,
        /// The first of them.
        first: String,
    },
    /// The archive is not a Custody package.
    #[error("{path}: not a Custody package: {reason}")]
    NotAPackage {
        /// The package.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A file of the package cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The package.
        path: PathBuf,
        /// What is wrong.
        source: ReadEntryError,
    },
    /// The statement cannot be parsed.
    #[error("{path}: {source}")]
    Statement {
        /// The package.
        path: PathBuf,
        /// What is wrong.
        source: StatementError,
    },
}

/// A package opened through the strict ZIP reader: structurally clean, and every entry
/// inside one bag directory, `id`.
pub(crate) struct OpenedBag {
    pub(crate) scanner: ZipScanner<BufReader<File>>,
    pub(crate) entries: Vec<ZipEntry>,
    pub(crate) id: String,
}

/// Opens `package` as [`OpenedBag`]: the checks every reader of a package's claims makes
/// before reading any of them (countersigning, inspecting).
pub(crate) fn open_bag(package: &Path) -> Result<OpenedBag, InspectError> {
    let path = package.to_path_buf();
    let file = File::open(package).map_err(|source| InspectError::Open {
        path: path.clone(),
        source,
    })?;
    let scanner =
        ZipScanner::new(BufReader::new(file), &ScanLimits::default()).map_err(|source| {
            InspectError::Zip {
                path: path.clone(),
                source,
            }
        })?;
    let findings = &scanner.scan().findings;
    if let Some(first) = findings.first() {
        return Err(InspectError::Malformed {
            path,
            count: findings.len(),
            first: first.to_string(),
        });
    }
    let not_package = |reason: String| InspectError::NotAPackage {
        path: path.clone(),
        reason,
    };
    let entries = scanner.entries().to_vec();
    let id = entries
        .first()
        .and_then(|e| e.name.split_once('/'))
        .map(|(id, _)| id.to_owned())
        .ok_or_else(|| not_package("the archive is empty".into()))?;
    if let Some(stray) = entries
        .iter()
        .find(|e| layout::bag_path(&id, &e.name).is_none())
    {
        return Err(not_package(format!(
            "{} is outside the bag {id}/",
            stray.name
        )));
    }
    Ok(OpenedBag {
        scanner,
        entries,
        id,
    })
}

impl OpenedBag {
    /// Reads the tag file at `bag_path`, within the limit verification puts on it (judged
    /// before a byte is inflated).
    pub(crate) fn read_tag(
        &mut self,
        path: &Path,
        bag_path: &str,
    ) -> Result<Vec<u8>, InspectError> {
        let not_package = |reason: String| InspectError::NotAPackage {
            path: path.to_owned(),
            reason,
        };
        let name = layout::entry_name(&self.id, bag_path);
        let entry = self
            .entries
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| not_package(format!("no {bag_path}")))?;
        let max = layout::max_read_size(bag_path);
        if let Err(refusal) =
            limits::check_tag_size(entry.compressed_size, entry.uncompressed_size, max)
        {
            return Err(not_package(format!("{bag_path}: {refusal}")));
        }
        self.scanner
            .read_entry(entry.index, max)
            .map_err(|source| InspectError::Read {
                path: path.to_owned(),
                source,
            })
    }
}

/// Reads what `package` holds and claims, verifying nothing (see the module documentation).
pub fn inspect(package: &Path) -> Result<PackageContents, InspectError> {
    let path = package.to_path_buf();
    let mut bag = open_bag(package)?;
    let bytes = bag.read_tag(&path, layout::PACKAGE_JSON)?;
    let statement = PackageStatement::parse(&bytes).map_err(|source| InspectError::Statement {
        path: path.clone(),
        source,
    })?;
    let OpenedBag { entries, id, .. } = bag;
    if statement.id != id {
        return Err(InspectError::NotAPackage {
            path,
            reason: format!(
                "the statement's id {} is not the bag directory {id}",
                statement.id
            ),
        });
    }
    let mut signatures = Vec::new();
    let mut events = 0;
    for e in &entries {
        let Some(bag_path) = layout::bag_path(&id, &e.name) else {
            continue;
        };
        if layout::event_seq(bag_path).is_some() {
            events += 1;
        }
        if let Some((name, key_id)) = layout::signature_key(bag_path) {
            signatures.push(SignatureFile {
                name: name.to_owned(),
                key_id: hex::encode(&key_id),
                size: e.uncompressed_size,
            });
        }
    }
    signatures.sort_by(|a, b| (&a.name, &a.key_id).cmp(&(&b.name, &b.key_id)));
    Ok(PackageContents {
        id,
        statement,
        signatures,
        entries: entries.len(),
        events,
    })
}
