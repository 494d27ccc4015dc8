//! Countersigning: adding one more signature to a sealed package.
//!
//! Package signatures cover the exact bytes of `tagmanifest-sha256.txt`, and the files in
//! `custody/signatures/` are outside the tag manifest, so a signature can be added without
//! changing anything else. The archive is rewritten with the same entries in the same
//! order, the same timestamp (the statement's `sealed_time`) and compression, each entry
//! streamed through with its size and CRC-32 checked, plus the new `.sig` entry at its
//! sorted place; the result replaces the package atomically. Every other entry's bytes,
//! local header included, are unchanged.

use std::path::{Path, PathBuf};

use custody_core::hash::{hash_file, HashError};
use custody_core::keys::{Identity, VerifierKey};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::layout;
use crate::limits;
use crate::package::{PackageStatement, StatementError};
use crate::seal::zip_timestamp;
use crate::zipscan::{ReadEntryError, ZipError};
use crate::zipwrite::{Compression, PackageWriter, WriteSettings, ZipWriteError};

/// ZIP method numbers (APPNOTE 4.4.5).
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATE: u16 = 8;

/// What countersigning produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountersignOutcome {
    /// The package.
    pub path: PathBuf,
    /// The new signer's verifier key.
    pub key: VerifierKey,
    /// Bag path of the new signature file.
    pub signature_path: String,
    /// SHA-256 of the rewritten package.
    pub sha256: [u8; 32],
}

/// Why a package was not countersigned. The package is unchanged in every case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CountersignError {
    /// The package cannot be opened.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The package.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file cannot be read as a ZIP archive.
    #[error("{path}: {source}")]
    Zip {
        /// The package.
        path: PathBuf,
        /// The underlying error.
        source: ZipError,
    },
    /// The archive has structural problems; run `custody verify` for details.
    #[error("{path}: the archive has {count} structural problem(s), the first: {first}; run custody verify")]
    Malformed {
        /// The package.
        path: PathBuf,
        /// How many.
        count: usize,
        /// The first, described.
        first: String,
    },
    /// The archive is not laid out as a Custody package.
    #[error("{path}: not a Custody package: {reason}")]
    NotAPackage {
        /// The package.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The statement cannot be read.
    #[error(transparent)]
    Statement(#[from] StatementError),
    /// This key already signed the package.
    #[error("{path}: already signed by {key} ({signature_path})")]
    AlreadySigned {
        /// The package.
        path: PathBuf,
        /// The key.
        key: String,
        /// The existing signature file.
        signature_path: String,
    },
    /// The key's name cannot be a signature file name that verification reads back as
    /// this key's ([`layout::signature_file_readable`]); nothing was written.
    #[error(
        "key name {name:?}: a signature file {signature_path:?} would not be read as this key's"
    )]
    SignerName {
        /// The key name.
        name: String,
        /// The signature file it would make.
        signature_path: String,
    },
    /// The package already carries [`crate::limits::MAX_SIGNATURES`] signatures, the most
    /// verification checks; nothing was written.
    #[error("the package already has {limit} signatures, the most verification checks")]
    TooManySignatures {
        /// The limit.
        limit: usize,
    },
    /// An entry cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The package.
        path: PathBuf,
        /// The underlying error.
        source: ReadEntryError,
    },
    /// Writing the new archive failed.
    #[error(transparent)]
    Write(#[from] ZipWriteError),
    /// The rewritten package cannot be hashed.
    #[error("cannot hash {path}: {source}")]
    Hash {
        /// The package.
        path: PathBuf,
        /// The underlying error.
        source: HashError,
    },
}

impl From<crate::inspect::InspectError> for CountersignError {
    fn from(e: crate::inspect::InspectError) -> Self {
        use crate::inspect::InspectError as I;
        match e {
            I::Open { path, source } => CountersignError::Open { path, source },
            I::Zip { path, source } => CountersignError::Zip { path, source },
            I::Malformed { path, count, first } => {
                CountersignError::Malformed { path, count, first }
            }
            I::NotAPackage { path, reason } => CountersignError::NotAPackage { path, reason },
            I::Read { path, source } => CountersignError::Read { path, source },
            I::Statement { source, .. } => CountersignError::Statement(source),
        }
    }
}

/// Adds `signer`'s signature over the tag manifest to `package`; see the module
/// documentation.
pub fn countersign(
    package: &Path,
    signer: &Identity,
) -> Result<CountersignOutcome, CountersignError> {
    let path = package.to_path_buf();
    let mut bag = crate::inspect::open_bag(package)?;
    let not_package = |reason: String| CountersignError::NotAPackage {
        path: path.clone(),
        reason,
    };
    let entries = bag.entries.clone();
    let id = bag.id.clone();
    let mut names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    names.sort_unstable();
    if entries
        .iter()
        .map(|e| e.name.as_str())
        .ne(names.iter().copied())
    {
        return Err(not_package("its entries are not in sorted order".into()));
    }
    let compression = match entries.iter().map(|e| e.method).max() {
        Some(METHOD_DEFLATE) if entries.iter().all(|e| e.method == METHOD_DEFLATE) => {
            Compression::Deflate
        }
        Some(METHOD_STORED) => Compression::Stored,
        _ => {
            return Err(not_package(
                "its entries mix compression methods, which custody seal never does".into(),
            ))
        }
    };
    let statement = PackageStatement::parse(&bag.read_tag(&path, layout::PACKAGE_JSON)?)?;
    if statement.id != id {
        return Err(not_package(format!(
            "the statement's id {} is not the bag directory {id}",
            statement.id
        )));
    }
    let sealed_time = OffsetDateTime::parse(&statement.sealed_time, &Rfc3339).map_err(|_| {
        not_package(format!(
            "sealed_time {:?} is not RFC 3339",
            statement.sealed_time
        ))
    })?;
    let tag_manifest = bag.read_tag(&path, layout::TAG_MANIFEST)?;

    let key = signer.verifier_key();
    let signature_path = layout::signature_path(&key);
    if !layout::signature_file_readable(&key) {
        return Err(CountersignError::SignerName {
            name: key.name,
            signature_path,
        });
    }
    let signature_name = layout::entry_name(&id, &signature_path);
    if entries.iter().any(|e| e.name == signature_name) {
        return Err(CountersignError::AlreadySigned {
            path,
            key: key.to_string(),
            signature_path,
        });
    }
    let signatures = entries
        .iter()
        .filter_map(|e| layout::bag_path(&id, &e.name))
        .filter(|p| layout::is_signature(p))
        .count();
    if signatures >= limits::MAX_SIGNATURES {
        return Err(CountersignError::TooManySignatures {
            limit: limits::MAX_SIGNATURES,
        });
    }
    let signature = signer.sign_raw(&tag_manifest).to_bytes();

    let settings = WriteSettings {
        timestamp: zip_timestamp(sealed_time),
        compression,
    };
    let mut writer = PackageWriter::create(package, settings)?;
    let mut added = false;
    for (index, entry) in entries.iter().enumerate() {
        if !added && signature_name.as_str() < entry.name.as_str() {
            writer.add_bytes(&signature_name, &signature)?;
            added = true;
        }
        let reader = bag
            .scanner
            .open_entry(index)
            .map_err(|source| CountersignError::Read {
                path: path.clone(),
                source: ReadEntryError::Zip(source),
            })?;
        writer.add_entry(
            &entry.name,
            reader,
            Some(entry.uncompressed_size),
            &mut |_| {},
        )?;
    }
    if !added {
        writer.add_bytes(&signature_name, &signature)?;
    }
    writer.finish()?;
    let digests = hash_file(package, &mut |_| {}).map_err(|source| CountersignError::Hash {
        path: path.clone(),
        source,
    })?;
    Ok(CountersignOutcome {
        path,
        key,
        signature_path,
        sha256: digests.sha256,
    })
}
