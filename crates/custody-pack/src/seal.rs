//! Sealing: building a package from ledger items and recording it in the ledger.
//!
//! Everything but the payload bytes is known from the ledger before a byte of evidence is
//! read: the acquired digests give the manifests, `Payload-Oxum` and the statement, so the
//! tag manifest and the signatures are made first and every entry is written in sorted
//! order. Each payload file is then streamed once (read, SHA-256 and BLAKE3, CRC-32, into
//! the ZIP) and its digests compared with the acquired ones; a difference aborts the
//! package before [`PackageWriter::finish_with_digest`], so nothing is left at the
//! destination. The package's own SHA-256 is taken as it is written, not by reading it
//! back. Only once the ZIP is in place are `sealed` and `transferred` recorded, naming its
//! SHA-256.
//!
//! A package is never written over an existing file ([`SealError::OutputExists`]): the
//! ledger records each package by its SHA-256, and a file replaced in place would leave
//! that record naming bytes that no longer exist. The check is made before any work and
//! again, atomically, when the finished package is renamed into place. A failure to write
//! the package (a full disk) is [`SealError::Write`] naming the package, never a failure
//! to read the evidence.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use custody_core::canonical;
use custody_core::hash::{read_and_hash, Digests, Hashed};
use custody_core::hex;
use custody_core::keys::{Identity, VerifierKey};
use custody_store::{
    ActorStatus, EventDraft, EventFields, EventKind, Evidence, Ledger, LedgerView, StoreError,
    StoredEntry,
};
use time::OffsetDateTime;

use crate::bagit::write::{manifest_text, payload_oxum, BagInfo, BagInfoError, BAGIT_TXT};
use crate::layout::{self, UnsafeName};
use crate::package::{
    is_date, CheckpointRef, ItemFile, PackageItem, PackageStatement, Recipient, RequestInfo,
    Sender, PACKAGE_VERSION,
};
use crate::zipscan::{entry_name_findings, ZipFinding};
use crate::zipwrite::{
    ArchiveDigest, Compression, PackageWriter, WriteSettings, ZipTimestamp, ZipWriteError,
};

/// The sending authority as the statement names it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SenderInfo {
    /// The authority's name.
    pub authority: String,
    /// Its organisation (also `Source-Organization`; the authority when absent).
    pub organisation: Option<String>,
    /// Its jurisdiction, ISO 3166-1 alpha-2.
    pub jurisdiction: Option<String>,
}

/// What to seal, for whom, and under which conditions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealRequest {
    /// The case the items belong to.
    pub case: String,
    /// The package id; `None` for `<case>-<n>`, `n` one more than the case's `sealed`
    /// events.
    pub id: Option<String>,
    /// The ledger item ids to include.
    pub items: Vec<String>,
    /// Where an item's bytes are now, when not at the path recorded at acquisition.
    pub files: BTreeMap<String, PathBuf>,
    /// The sender.
    pub sender: SenderInfo,
    /// The recipient.
    pub recipient: Recipient,
    /// The request answered.
    pub request: RequestInfo,
    /// Conditions on use.
    pub use_limitations: Vec<String>,
    /// Confidential or not.
    pub confidential: bool,
    /// Personal-data categories.
    pub personal_data: Vec<String>,
    /// Retention date, `YYYY-MM-DD`.
    pub retention_until: Option<String>,
    /// The seal time: `sealed_time`, `Bagging-Date` and every ZIP timestamp. Truncated to
    /// whole even seconds (ZIP resolution).
    pub sealed_time: OffsetDateTime,
    /// Claimed time of the `sealed` and `transferred` events (RFC 3339).
    pub claimed_time: String,
    /// Payload compression.
    pub compression: Compression,
}

/// Progress while streaming payload bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealProgress {
    /// Payload bytes written so far.
    pub done: u64,
    /// Payload bytes in all.
    pub total: u64,
}

/// What sealing produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealOutcome {
    /// The package file.
    pub path: PathBuf,
    /// The package id.
    pub id: String,
    /// SHA-256 of the package file.
    pub sha256: [u8; 32],
    /// Size of the package file in bytes.
    pub size: u64,
    /// The statement as sealed.
    pub statement: PackageStatement,
    /// The verifier keys of the package signers.
    pub signers: Vec<VerifierKey>,
    /// Seq of the `sealed` entry.
    pub sealed_seq: u64,
    /// Seq of the `transferred` entry.
    pub transferred_seq: u64,
    /// The encrypted file written at `path` (size and SHA-256), when sealed with
    /// [`seal_encrypted`]; `sha256` and `size` are then the plaintext package's.
    pub encrypted: Option<crate::encrypt::TransferDigest>,
}

/// Why a package was not sealed. Unless the variant says otherwise, nothing was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// Reading the ledger failed.
    #[error("ledger: {0}")]
    Ledger(#[from] StoreError),
    /// No items were given.
    #[error("no items to seal")]
    NoItems,
    /// No signing keys were given.
    #[error("no signing key: a package needs at least one signature")]
    NoSigners,
    /// A signing key the sender ledger's verified entries rotated out: verification would
    /// refuse its signature. Found while recording (the key was rotated out while the
    /// package was written), the package was removed.
    #[error(
        "signing key {key} was rotated out by ledger entry {seq}; it can no longer sign a package"
    )]
    SignerRotated {
        /// The key, as a verifier key (`name+keyid+base64`).
        key: String,
        /// The `key-rotated` entry.
        seq: u64,
    },
    /// A signing key the sender ledger's verified entries revoked: verification would refuse
    /// its signature. Found while recording (the key was revoked while the package was
    /// written), the package was removed.
    #[error(
        "signing key {key} was revoked by ledger entry {seq}; it can no longer sign a package"
    )]
    SignerRevoked {
        /// The key, as a verifier key (`name+keyid+base64`).
        key: String,
        /// The `key-revoked` entry.
        seq: u64,
    },
    /// None of the signing keys is enrolled and active in the sender ledger at the checkpoint
    /// the package carries: verification counts no signature by a key outside the sender
    /// ledger on its own, so such a package would be refused.
    #[error("no signing key is active in the sender ledger at its checkpoint (size {checkpoint_size}); signing keys given: {}", keys.join(", "))]
    NoActiveSigner {
        /// The signing keys given, as verifier keys.
        keys: Vec<String>,
        /// Size of the checkpoint the package would carry.
        checkpoint_size: u64,
    },
    /// An item was named twice.
    #[error("item {item} is named twice")]
    DuplicateItem {
        /// The item.
        item: String,
    },
    /// The ledger has no such item.
    #[error("item {item}: not in the ledger")]
    UnknownItem {
        /// The item.
        item: String,
    },
    /// The item belongs to another case (or none).
    #[error("item {item}: belongs to {}, not to case {case}", match found { Some(c) => format!("case {c}"), None => "no case".to_owned() })]
    WrongCase {
        /// The item.
        item: String,
        /// The case being sealed.
        case: String,
        /// The item's case.
        found: Option<String>,
    },
    /// The item was destroyed.
    #[error("item {item}: destroyed (seq {seq}); it cannot be sealed")]
    Destroyed {
        /// The item.
        item: String,
        /// The destruction.
        seq: u64,
    },
    /// The event that created the item carries no evidence digests.
    #[error("item {item}: its creating event (seq {seq}) records no evidence digests")]
    NoEvidence {
        /// The item.
        item: String,
        /// The creating event.
        seq: u64,
    },
    /// `--file` names an item that is not being sealed.
    #[error("--file {item}=…: {item} is not one of the items sealed")]
    StrayFile {
        /// The item.
        item: String,
    },
    /// An item id or file name cannot be a payload path.
    #[error("item {item}: name {name:?} cannot go into a package: {reason}")]
    UnsafeName {
        /// The item.
        item: String,
        /// The name.
        name: String,
        /// Why.
        reason: UnsafeName,
    },
    /// Entry names the structural scan of the package would report, such as two files
    /// whose names differ only in letter case or Unicode normalisation; each collision
    /// finding names both entries.
    #[error("package entry names refused: {}", display_findings(findings))]
    EntryName {
        /// Everything the scan would report about the names.
        findings: Vec<ZipFinding>,
    },
    /// More package signers than verification checks ([`crate::limits::MAX_SIGNATURES`]);
    /// nothing was written.
    #[error("{count} signers: a package carries at most {limit} signatures")]
    TooManySignatures {
        /// The number of distinct signers.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A signing key's name cannot be a signature file name that verification reads back
    /// as this key's ([`layout::signature_file_readable`]); nothing was written.
    #[error(
        "key name {name:?}: a signature file {signature_path:?} would not be read as this key's"
    )]
    SignerName {
        /// The key name.
        name: String,
        /// The signature file it would make.
        signature_path: String,
    },
    /// A payload path beyond the path limits verification enforces
    /// ([`crate::limits::check_path`]); nothing was written.
    #[error("item {item}: {path}: path has {limit}; no package was written")]
    PathLimit {
        /// The item.
        item: String,
        /// The archive entry name (its first bytes, if longer than the limit).
        path: String,
        /// Which limit.
        limit: crate::limits::PathLimit,
    },
    /// A tag file beyond the size limits verification enforces (e.g. the acquisition
    /// event of a directory of very many files); nothing was written.
    #[error("{path}: {size} bytes exceeds the {max}-byte limit verification reads; no package was written")]
    TagFileTooLarge {
        /// The bag path.
        path: String,
        /// Its size.
        size: u64,
        /// The limit (for the sum of all tag files, twice their total is compared with
        /// [`crate::limits::MAX_TAG_BYTES_TOTAL`]).
        max: u64,
    },
    /// The package id cannot be a bag directory name.
    #[error("package id {id:?} cannot be used: {reason}")]
    BadId {
        /// The id.
        id: String,
        /// Why.
        reason: UnsafeName,
    },
    /// A metadata field is invalid.
    #[error("{field}: {reason}")]
    BadField {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// An item's bytes cannot be opened.
    #[error("item {item}: cannot read {path}: {source}")]
    Open {
        /// The item.
        item: String,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An item's bytes are not what was acquired.
    #[error("item {item}: {path} does not match its acquisition (expected {expected_size} bytes, SHA-256 {expected_sha256}; {}); no package was written", found_text(*expected_size, *found_size, found_sha256))]
    DigestMismatch {
        /// The item.
        item: String,
        /// The file read.
        path: PathBuf,
        /// Size acquired.
        expected_size: u64,
        /// SHA-256 acquired (hex).
        expected_sha256: String,
        /// Size read: reading stops one byte past the acquired size, so a larger file
        /// shows as `expected_size + 1`.
        found_size: u64,
        /// SHA-256 of the bytes read (hex); for a larger file, of its first
        /// `expected_size + 1` bytes only, and so not shown.
        found_sha256: String,
    },
    /// bag-info.txt cannot hold a value.
    #[error(transparent)]
    BagInfo(#[from] BagInfoError),
    /// Writing the ZIP failed.
    #[error(transparent)]
    Write(#[from] ZipWriteError),
    /// A record has no canonical form.
    #[error(transparent)]
    Canonical(#[from] custody_core::canonical::CanonicalError),
    /// The package was written but could not be hashed; it was removed.
    #[error("cannot hash the finished package {path}: {source}; it was removed")]
    HashPackage {
        /// The package.
        path: PathBuf,
        /// The underlying error.
        source: custody_core::hash::HashError,
    },
    /// The destination already exists; nothing was written or recorded.
    #[error("{path} already exists; refusing to write a package over it (the ledger records each package by its SHA-256, so the file it names must stay as sealed)")]
    OutputExists {
        /// The destination given.
        path: PathBuf,
    },
    /// Encrypting the package failed; nothing was left at the destination.
    #[error(transparent)]
    Encrypt(#[from] crate::encrypt::EncryptError),
    /// The ledger refused `sealed`/`transferred`; the package was removed.
    #[error("the ledger refused to record sealed/transferred: {source}; {path} was removed")]
    Record {
        /// The package.
        path: PathBuf,
        /// The refusal.
        source: StoreError,
    },
}

/// What a mismatching file was found to be: a file read past its acquired size was not
/// read to its end, so neither its size nor its digest is known.
fn found_text(expected_size: u64, found_size: u64, found_sha256: &str) -> String {
    if found_size > expected_size {
        format!("found more than {expected_size} bytes")
    } else {
        format!("found {found_size} bytes, SHA-256 {found_sha256}")
    }
}

/// One payload file to stream.
struct PayloadFile {
    item: String,
    bag_path: String,
    source: PathBuf,
    expected: Digests,
}

/// Seals `request.items` from `ledger` into `out`, signing the tag manifest with each of
/// `signers`, then records `sealed` and `transferred` signed by `actor`. See the module
/// documentation.
pub fn seal(
    ledger: &mut Ledger,
    request: SealRequest,
    actor: &Identity,
    signers: &[Identity],
    log_key: &Identity,
    out: &Path,
    progress: &mut dyn FnMut(SealProgress),
) -> Result<SealOutcome, SealError> {
    seal_to(
        ledger, request, actor, signers, log_key, out, None, progress,
    )
}

#[allow(clippy::too_many_arguments)]
fn seal_to(
    ledger: &mut Ledger,
    request: SealRequest,
    actor: &Identity,
    signers: &[Identity],
    log_key: &Identity,
    out: &Path,
    encrypt_to: Option<&[crate::encrypt::EncryptionRecipient]>,
    progress: &mut dyn FnMut(SealProgress),
) -> Result<SealOutcome, SealError> {
    if out.symlink_metadata().is_ok() {
        return Err(SealError::OutputExists {
            path: out.to_path_buf(),
        });
    }
    let plan = plan(ledger, &request, signers)?;
    let total = plan.payload.iter().map(|p| p.expected.size).sum();
    let settings = WriteSettings {
        timestamp: zip_timestamp(plan.sealed_time),
        compression: request.compression,
    };
    let mut writer = PackageWriter::create(out, settings)?;
    let id = plan.statement.id.clone();
    // Payload files are written in bag-path order, interleaved with the tag files so that
    // the archive is sorted by entry name throughout. Small files are read and hashed on
    // every core a few files ahead of the writer (each read once, into memory, and the
    // bytes hashed are the bytes written); large ones stream through the hashing pipeline
    // when their turn comes.
    let mut tags = plan.tag_files.iter().peekable();
    let mut done = 0u64;
    custody_core::parallel::pipeline(
        &plan.payload,
        SMALL_FILES_AHEAD,
        |file| (file.expected.size <= SMALL_FILE).then(|| read_small(file)),
        |file, read| {
            while let Some((path, bytes)) =
                tags.next_if(|(p, _)| p.as_str() < file.bag_path.as_str())
            {
                writer.add_bytes(&layout::entry_name(&id, path), bytes)?;
            }
            done = match read {
                Some(read) => write_small(&mut writer, &id, file, read, done, total, progress)?,
                None => stream_payload(&mut writer, &id, file, done, total, progress)?,
            };
            Ok::<(), SealError>(())
        },
    )?;
    for (path, bytes) in tags {
        writer.add_bytes(&layout::entry_name(&id, path), bytes)?;
    }
    let digests = match encrypt_to {
        None => {
            let (_, plaintext) = writer.finish_with_digest().map_err(|e| match e {
                ZipWriteError::Exists { path } => SealError::OutputExists { path },
                other => SealError::Write(other),
            })?;
            PackageDigests {
                plaintext,
                encrypted: None,
            }
        }
        Some(recipients) => crate::encrypt::seal_into(writer, recipients, out)?,
    };
    record(ledger, request, actor, signers, log_key, out, plan, digests)
}

/// Payload files up to this size are read whole into memory and hashed several at a time
/// on every core ([`custody_core::parallel::pipeline`]); larger ones are streamed.
const SMALL_FILE: u64 = custody_core::hash::CHUNK_SIZE as u64;

/// How many small files may be read ahead of the one being written: with [`SMALL_FILE`],
/// at most this many MiB (plus one per core) are held at once.
const SMALL_FILES_AHEAD: usize = 16;

/// Opens a payload file, refusing anything but a regular file.
fn open_payload(file: &PayloadFile) -> std::io::Result<File> {
    let source = File::open(&file.source)?;
    if !source.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(source)
}

/// Reads and hashes a small payload file (on a worker thread). A file that grew since
/// acquisition is read one byte past its acquired size, enough to tell it differs.
fn read_small(file: &PayloadFile) -> std::io::Result<Hashed> {
    read_and_hash(open_payload(file)?, file.expected.size.saturating_add(1))
}

/// Writes a small payload file read by [`read_small`] once its turn comes, after checking
/// it is what was acquired.
fn write_small(
    writer: &mut PackageWriter,
    id: &str,
    file: &PayloadFile,
    read: std::io::Result<Hashed>,
    done: u64,
    total: u64,
    progress: &mut dyn FnMut(SealProgress),
) -> Result<u64, SealError> {
    let read = read.map_err(|source| open_error(file, source))?;
    check_acquired(file, read.digests())?;
    writer.add_hashed(&layout::entry_name(id, &file.bag_path), &read)?;
    let done = done + read.digests().size;
    progress(SealProgress { done, total });
    Ok(done)
}

fn open_error(file: &PayloadFile, source: std::io::Error) -> SealError {
    SealError::Open {
        item: file.item.clone(),
        path: file.source.clone(),
        source,
    }
}

/// Refuses bytes that are not what the item's acquisition recorded.
fn check_acquired(file: &PayloadFile, found: Digests) -> Result<(), SealError> {
    if found != file.expected {
        return Err(SealError::DigestMismatch {
            item: file.item.clone(),
            path: file.source.clone(),
            expected_size: file.expected.size,
            expected_sha256: file.expected.sha256_hex(),
            found_size: found.size,
            found_sha256: found.sha256_hex(),
        });
    }
    Ok(())
}

/// Seals as [`seal`] does, but what is written at `out` is the package encrypted to
/// `recipients` as an age v1 file ([`crate::encrypt`]); the plaintext package never gets a
/// name. `sealed` and `transferred` record both digests.
#[allow(clippy::too_many_arguments)]
pub fn seal_encrypted(
    ledger: &mut Ledger,
    request: SealRequest,
    recipients: &[crate::encrypt::EncryptionRecipient],
    actor: &Identity,
    signers: &[Identity],
    log_key: &Identity,
    out: &Path,
    progress: &mut dyn FnMut(SealProgress),
) -> Result<SealOutcome, SealError> {
    crate::encrypt::check_recipients(recipients)?;
    seal_to(
        ledger,
        request,
        actor,
        signers,
        log_key,
        out,
        Some(recipients),
        progress,
    )
}

/// The digests of a sealed package: of the plaintext package, and of the encrypted file
/// when it was encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackageDigests {
    /// The plaintext package (what is verified).
    pub plaintext: ArchiveDigest,
    /// The encrypted file (what is transferred), if encrypted.
    pub encrypted: Option<crate::encrypt::TransferDigest>,
}

fn stream_payload(
    writer: &mut PackageWriter,
    id: &str,
    file: &PayloadFile,
    done: u64,
    total: u64,
    progress: &mut dyn FnMut(SealProgress),
) -> Result<u64, SealError> {
    let source = open_payload(file).map_err(|source| open_error(file, source))?;
    // A file that grew since acquisition is read one byte past its acquired size, enough to
    // tell it differs, and never enough to overrun the entry's declared size class.
    let source = std::io::Read::take(source, file.expected.size.saturating_add(1));
    // `add_entry` reports the entry's running total, not an increment: adding it up again
    // counted a 300 MiB item as tens of GiB.
    let found = writer
        .add_entry(
            &layout::entry_name(id, &file.bag_path),
            source,
            Some(file.expected.size),
            &mut |entry_done| {
                progress(SealProgress {
                    done: done.saturating_add(entry_done),
                    total,
                });
            },
        )
        .map_err(|e| match e {
            ZipWriteError::Entry { source, .. } => open_error(file, source),
            other => SealError::Write(other),
        })?;
    check_acquired(file, found)?;
    Ok(done + found.size)
}

/// Records `sealed` and `transferred`; on refusal removes the package so that the ledger
/// and the file system agree.
#[allow(clippy::too_many_arguments)]
fn record(
    ledger: &mut Ledger,
    request: SealRequest,
    actor: &Identity,
    signers: &[Identity],
    log_key: &Identity,
    out: &Path,
    plan: Plan,
    package: PackageDigests,
) -> Result<SealOutcome, SealError> {
    let digests = package.plaintext;
    let statement = plan.statement;
    let note = format!("package {}", statement.id);
    let fields = EventFields {
        to: Some(statement.recipient.authority.clone()),
        package_digest: Some(hex::encode(&digests.sha256)),
        encrypted_digest: package.encrypted.map(|e| e.sha256_hex()),
        legal_authority: statement.request.legal_basis.clone(),
        notes: Some(note),
        ..EventFields::default()
    };
    let draft = |kind| {
        let mut d = EventDraft::new(kind, request.claimed_time.clone())
            .case(request.case.clone())
            .fields(fields.clone());
        d.items = statement.items.iter().map(|i| i.id.clone()).collect();
        d
    };
    // A signer rotated out or revoked while the package was being written must not have a
    // package recorded after the entry that ended it.
    let checkpoint_size = statement.checkpoint.size;
    let appended = ledger
        .append_batch_if(
            vec![draft(EventKind::Sealed), draft(EventKind::Transferred)],
            actor,
            log_key,
            |view| check_signers(view, signers, checkpoint_size),
        )
        .map_err(|source| SealError::Record {
            path: out.to_path_buf(),
            source,
        })
        .and_then(|refused| refused);
    let appended = appended.inspect_err(|_| {
        let _ = std::fs::remove_file(out);
    })?;
    Ok(SealOutcome {
        path: out.to_path_buf(),
        id: statement.id.clone(),
        sha256: digests.sha256,
        size: digests.size,
        statement,
        signers: plan.signers,
        sealed_seq: appended[0].seq,
        transferred_seq: appended[1].seq,
        encrypted: package.encrypted,
    })
}

/// Everything decided before the first byte is written.
struct Plan {
    sealed_time: OffsetDateTime,
    statement: PackageStatement,
    /// Every tag file and signature by bag path, sorted by bag path.
    tag_files: BTreeMap<String, Vec<u8>>,
    /// Payload files sorted by bag path.
    payload: Vec<PayloadFile>,
    signers: Vec<VerifierKey>,
}

fn plan(ledger: &Ledger, request: &SealRequest, signers: &[Identity]) -> Result<Plan, SealError> {
    if request.items.is_empty() {
        return Err(SealError::NoItems);
    }
    if signers.is_empty() {
        return Err(SealError::NoSigners);
    }
    check_fields(request)?;
    for item in request.files.keys() {
        if !request.items.contains(item) {
            return Err(SealError::StrayFile { item: item.clone() });
        }
    }
    let sealed_time = truncate_to_zip(request.sealed_time);
    let id = match &request.id {
        Some(id) => id.clone(),
        None => default_id(ledger, &request.case)?,
    };
    layout::check_payload_name(&id, false).map_err(|reason| SealError::BadId {
        id: id.clone(),
        reason,
    })?;

    let (checkpoint, checkpoint_note) = ledger.latest_checkpoint()?;
    ledger.read_verified(|view| check_signers(view, signers, checkpoint.size))??;
    let records: BTreeMap<String, custody_store::ItemRecord> = ledger
        .items(None)?
        .into_iter()
        .map(|r| (r.item.clone(), r))
        .collect();
    let mut items = Vec::new();
    let mut payload = Vec::new();
    let mut event_seqs = BTreeSet::from([0u64]);
    let mut seen = BTreeSet::new();
    for item in &request.items {
        if !seen.insert(item.as_str()) {
            return Err(SealError::DuplicateItem { item: item.clone() });
        }
        let record = records
            .get(item)
            .ok_or_else(|| SealError::UnknownItem { item: item.clone() })?;
        if record.case.as_deref() != Some(request.case.as_str()) {
            return Err(SealError::WrongCase {
                item: item.clone(),
                case: request.case.clone(),
                found: record.case.clone(),
            });
        }
        if record.condition == custody_store::ItemCondition::Destroyed {
            return Err(SealError::Destroyed {
                item: item.clone(),
                seq: record.last_seq,
            });
        }
        let history = ledger.item_history(item)?;
        let evidence = creating_evidence(ledger, item, record.created_seq)?;
        let source = request
            .files
            .get(item)
            .cloned()
            .unwrap_or_else(|| PathBuf::from(&evidence.source_path));
        let package_item = package_item(item, record.created_seq, &history, &evidence)?;
        payload.extend(payload_files(item, &package_item, &source));
        event_seqs.extend(history.iter().map(|e| e.seq));
        items.push(package_item);
    }
    items.sort_by(|a, b| a.id.cmp(&b.id));
    let onward_transfers = onward_transfers(ledger, &items, &request.recipient.authority)?;
    payload.sort_by(|a, b| a.bag_path.cmp(&b.bag_path));

    let package_signers: Vec<String> = signers
        .iter()
        .map(|s| hex::encode(&s.public_key().to_bytes()))
        .collect();
    let entries = with_signer_history(ledger, event_seqs, &package_signers)?;
    let statement = PackageStatement {
        custody_package: PACKAGE_VERSION,
        id: id.clone(),
        case: request.case.clone(),
        sealed_time: custody_store::ledger::format_utc(sealed_time),
        sender: Sender {
            authority: request.sender.authority.clone(),
            organisation: request.sender.organisation.clone(),
            jurisdiction: request.sender.jurisdiction.clone(),
            ledger_origin: ledger.origin().to_owned(),
            log_key: ledger.log_verifier_key().to_string(),
        },
        recipient: request.recipient.clone(),
        request: request.request.clone(),
        use_limitations: request.use_limitations.clone(),
        confidential: request.confidential,
        personal_data: request.personal_data.clone(),
        retention_until: request.retention_until.clone(),
        checkpoint: CheckpointRef {
            size: checkpoint.size,
            root: checkpoint.root,
        },
        items,
        onward_transfers,
    };

    let mut tag_files = BTreeMap::new();
    let sha: Vec<(String, String)> = payload
        .iter()
        .map(|p| (p.bag_path.clone(), p.expected.sha256_hex()))
        .collect();
    let blake: Vec<(String, String)> = payload
        .iter()
        .map(|p| (p.bag_path.clone(), p.expected.blake3_hex()))
        .collect();
    let pairs = |v: &[(String, String)]| {
        manifest_text(v.iter().map(|(p, d)| (p.as_str(), d.as_str()))).into_bytes()
    };
    tag_files.insert(layout::BAGIT_TXT.to_owned(), BAGIT_TXT.as_bytes().to_vec());
    tag_files.insert(
        layout::BAG_INFO.to_owned(),
        bag_info(&statement, &payload, sealed_time)?.into_bytes(),
    );
    tag_files.insert(layout::MANIFEST_SHA256.to_owned(), pairs(&sha));
    tag_files.insert(layout::MANIFEST_BLAKE3.to_owned(), pairs(&blake));
    tag_files.insert(
        layout::PACKAGE_JSON.to_owned(),
        canonical::to_canonical_vec(&statement)?,
    );
    tag_files.insert(layout::CHECKPOINT.to_owned(), checkpoint_note.into_bytes());
    for entry in &entries {
        let proof = ledger.inclusion_proof(entry.seq, checkpoint.size)?;
        tag_files.insert(layout::event_path(entry.seq), entry.bytes.clone());
        tag_files.insert(
            layout::proof_path(entry.seq),
            canonical::to_canonical_vec(&proof)?,
        );
    }
    let tag_manifest: Vec<(String, String)> = tag_files
        .iter()
        .map(|(path, bytes)| {
            let digest = custody_core::hash::hash_reader(bytes.as_slice(), &mut |_| {})
                .expect("hashing memory cannot fail");
            (path.clone(), digest.sha256_hex())
        })
        .collect();
    let tag_manifest = pairs(&tag_manifest);
    let mut keys = Vec::new();
    for signer in signers {
        let key = signer.verifier_key();
        let path = layout::signature_path(&key);
        if !layout::signature_file_readable(&key) {
            return Err(SealError::SignerName {
                name: key.name,
                signature_path: path,
            });
        }
        if tag_files.contains_key(&path) {
            continue;
        }
        let signature = signer.sign_raw(&tag_manifest);
        tag_files.insert(path, signature.to_bytes().to_vec());
        keys.push(key);
    }
    if keys.len() > crate::limits::MAX_SIGNATURES {
        return Err(SealError::TooManySignatures {
            count: keys.len(),
            limit: crate::limits::MAX_SIGNATURES,
        });
    }
    tag_files.insert(layout::TAG_MANIFEST.to_owned(), tag_manifest);
    check_entry_names(&id, &tag_files, &payload)?;
    within_limits(&id, &payload, &tag_files)?;
    Ok(Plan {
        sealed_time,
        statement,
        tag_files,
        payload,
        signers: keys,
    })
}

/// For each item received from another authority: refuses a recipient other than its
/// sender unless the verified entries hold the sender's consent to that recipient, and
/// returns the consents the statement carries. (The ledger's rules refuse the `sealed`
/// entry too; this refuses before anything is written.)
fn onward_transfers(
    ledger: &Ledger,
    items: &[PackageItem],
    recipient: &str,
) -> Result<Vec<crate::package::OnwardTransfer>, SealError> {
    let mut out = Vec::new();
    for item in items {
        let Some(conditions) = custody_store::conditions::item_conditions(ledger, &item.id)? else {
            continue;
        };
        if conditions.sender.as_deref() == Some(recipient) {
            continue;
        }
        let consent = conditions
            .onward_transfers
            .iter()
            .find(|c| c.to == recipient)
            .ok_or_else(|| {
                SealError::Ledger(StoreError::OnwardTransferNotAuthorised {
                    item: item.id.clone(),
                    to: recipient.to_owned(),
                    sender: conditions.sender.clone().unwrap_or_default(),
                })
            })?;
        out.push(crate::package::OnwardTransfer {
            item: item.id.clone(),
            seq: consent.seq,
            authorised_by: consent.authorised_by.clone(),
            reference: consent.reference.clone(),
        });
    }
    Ok(out)
}

/// Refuses signing keys whose signatures the package's own verification would not count:
/// any key the sender ledger's verified entries rotated out or revoked (at any seq, so a key
/// ended after the checkpoint is refused too), and a set of keys none of which is enrolled
/// and active within the checkpoint the package carries. Keys outside the sender ledger (a
/// foreign countersigner) may sign beside an active one. Checked before anything is written
/// or signed, and again inside the append that records the package.
fn check_signers(
    view: &LedgerView<'_>,
    signers: &[Identity],
    checkpoint_size: u64,
) -> Result<(), SealError> {
    let mut active = false;
    for signer in signers {
        let Some(actor) = view.actor(&hex::encode(&signer.public_key().to_bytes())) else {
            continue;
        };
        let key = || signer.verifier_key().to_string();
        match actor.status {
            ActorStatus::Rotated { seq, .. } => {
                return Err(SealError::SignerRotated { key: key(), seq })
            }
            ActorStatus::Revoked { seq } => {
                return Err(SealError::SignerRevoked { key: key(), seq })
            }
            ActorStatus::Active => active |= actor.enrolled_seq < checkpoint_size,
        }
    }
    if active {
        Ok(())
    } else {
        Err(SealError::NoActiveSigner {
            keys: signers
                .iter()
                .map(|s| s.verifier_key().to_string())
                .collect(),
            checkpoint_size,
        })
    }
}

/// Refuses, before anything is written, a package whose entry names the structural scan
/// would report (names colliding after case folding or NFC normalisation, a file where a
/// directory is needed, …): the rule is the scan's own, [`entry_name_findings`].
fn check_entry_names(
    id: &str,
    tag_files: &BTreeMap<String, Vec<u8>>,
    payload: &[PayloadFile],
) -> Result<(), SealError> {
    let names: Vec<String> = tag_files
        .keys()
        .chain(payload.iter().map(|p| &p.bag_path))
        .map(|path| layout::entry_name(id, path))
        .collect();
    let findings = entry_name_findings(names.iter().map(String::as_str));
    if findings.is_empty() {
        Ok(())
    } else {
        Err(SealError::EntryName { findings })
    }
}

fn display_findings(findings: &[ZipFinding]) -> String {
    let shown: Vec<String> = findings.iter().map(ToString::to_string).collect();
    shown.join("; ")
}

/// Refuses, before anything is written, a package its own verification would refuse for
/// exceeding a limit of [`crate::limits`].
fn within_limits(
    id: &str,
    payload: &[PayloadFile],
    tag_files: &BTreeMap<String, Vec<u8>>,
) -> Result<(), SealError> {
    for file in payload {
        let name = layout::entry_name(id, &file.bag_path);
        if let Some(limit) = crate::limits::check_path(&name) {
            return Err(SealError::PathLimit {
                item: file.item.clone(),
                path: crate::bagit::shorten(&name),
                limit,
            });
        }
    }
    let mut total = 0u64;
    for (path, bytes) in tag_files {
        let size = bytes.len() as u64;
        let max = layout::max_read_size(path);
        if size > max {
            return Err(SealError::TagFileTooLarge {
                path: path.clone(),
                size,
                max,
            });
        }
        total = total.saturating_add(size);
    }
    // Verification reads some tag files twice (BagIt, then Custody checks).
    if total.saturating_mul(2) > crate::limits::MAX_TAG_BYTES_TOTAL {
        return Err(SealError::TagFileTooLarge {
            path: layout::CUSTODY_DIR.to_owned(),
            size: total,
            max: crate::limits::MAX_TAG_BYTES_TOTAL / 2,
        });
    }
    Ok(())
}

fn check_fields(request: &SealRequest) -> Result<(), SealError> {
    let bad = |field, reason: &str| {
        Err(SealError::BadField {
            field,
            reason: reason.to_owned(),
        })
    };
    if request.case.is_empty() || request.case.chars().any(char::is_control) {
        return bad("case", "empty or contains a control character");
    }
    if request.recipient.authority.trim().is_empty() {
        return bad("recipient", "the recipient authority is empty");
    }
    if request.sender.authority.trim().is_empty() {
        return bad("sender", "the sender authority is empty");
    }
    for (field, code) in [
        ("sender jurisdiction", &request.sender.jurisdiction),
        ("recipient jurisdiction", &request.recipient.jurisdiction),
    ] {
        if let Some(code) = code {
            if custody_core::keys::validate_jurisdiction(code).is_err() {
                return bad(
                    field,
                    "not an ISO 3166-1 alpha-2 code (two capital letters)",
                );
            }
        }
    }
    if let Some(date) = &request.retention_until {
        if !is_date(date) {
            return bad("retention-until", "not a date YYYY-MM-DD");
        }
    }
    if request.sealed_time.year() < 1980 || request.sealed_time.year() > 2107 {
        return bad(
            "time",
            "a ZIP archive can only hold times from 1980 to 2107",
        );
    }
    Ok(())
}

/// `<case>-<n>`: one more than the number of `sealed` events of the case.
fn default_id(ledger: &Ledger, case: &str) -> Result<String, SealError> {
    let sealed = ledger
        .case_history(case)?
        .iter()
        .filter(|e| e.signed.event.kind == EventKind::Sealed)
        .count();
    Ok(format!("{case}-{}", sealed + 1))
}

fn creating_evidence(ledger: &Ledger, item: &str, seq: u64) -> Result<Evidence, SealError> {
    ledger
        .entry(seq)?
        .signed
        .event
        .fields
        .evidence
        .ok_or_else(|| SealError::NoEvidence {
            item: item.to_owned(),
            seq,
        })
}

fn package_item(
    item: &str,
    created_seq: u64,
    history: &[StoredEntry],
    evidence: &Evidence,
) -> Result<PackageItem, SealError> {
    let unsafe_name = |name: &str, reason| SealError::UnsafeName {
        item: item.to_owned(),
        name: name.to_owned(),
        reason,
    };
    layout::check_payload_name(item, false).map_err(|r| unsafe_name(item, r))?;
    let (path, files) = match &evidence.files {
        Some(files) => {
            for f in files {
                layout::check_payload_name(&f.path, true).map_err(|r| unsafe_name(&f.path, r))?;
            }
            (
                layout::item_path(item, None),
                Some(files.iter().map(ItemFile::from).collect()),
            )
        }
        None => {
            let name = file_name(&evidence.source_path);
            layout::check_payload_name(&name, false).map_err(|r| unsafe_name(&name, r))?;
            (layout::item_path(item, Some(&name)), None)
        }
    };
    Ok(PackageItem {
        id: item.to_owned(),
        path,
        size: evidence.size,
        sha256: evidence.sha256,
        blake3: evidence.blake3,
        files,
        acquired_seq: created_seq,
        events: history.iter().map(|e| e.seq).collect(),
    })
}

/// The last component of a recorded source path (either separator).
fn file_name(source_path: &str) -> String {
    source_path
        .trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .to_owned()
}

fn payload_files(item: &str, package_item: &PackageItem, source: &Path) -> Vec<PayloadFile> {
    match &package_item.files {
        None => vec![PayloadFile {
            item: item.to_owned(),
            bag_path: package_item.path.clone(),
            source: source.to_path_buf(),
            expected: Digests {
                size: package_item.size,
                sha256: package_item.sha256,
                blake3: package_item.blake3,
            },
        }],
        Some(files) => files
            .iter()
            .map(|f| PayloadFile {
                item: item.to_owned(),
                bag_path: format!("{}/{}", package_item.path, f.path),
                source: f
                    .path
                    .split('/')
                    .fold(source.to_path_buf(), |p, c| p.join(c)),
                expected: f.digests(),
            })
            .collect(),
    }
}

/// The entries `seqs` plus, for every key that signed one of them and every package signer
/// (`signer_keys`, hex), the entries that enrolled, rotated or revoked it (and so on for the
/// signers of those), so that a verifier can follow every key from entry 0 and sees a
/// package signer's revocation even when that signer signed no included event.
fn with_signer_history(
    ledger: &Ledger,
    mut seqs: BTreeSet<u64>,
    signer_keys: &[String],
) -> Result<Vec<StoredEntry>, SealError> {
    let actors: BTreeMap<String, custody_store::ActorRecord> = ledger
        .actors()?
        .into_iter()
        .map(|a| (a.key.clone(), a))
        .collect();
    let mut entries: BTreeMap<u64, StoredEntry> = BTreeMap::new();
    let mut done_keys = BTreeSet::new();
    for key in signer_keys {
        if let Some(actor) = actors.get(key) {
            seqs.insert(actor.enrolled_seq);
            if let ActorStatus::Rotated { seq, .. } | ActorStatus::Revoked { seq } = &actor.status {
                seqs.insert(*seq);
            }
        }
    }
    let mut pending: Vec<u64> = seqs.iter().copied().collect();
    while let Some(seq) = pending.pop() {
        if entries.contains_key(&seq) {
            continue;
        }
        let entry = ledger.entry(seq)?;
        let mut keys = vec![entry.signed.event.actor.clone()];
        keys.extend(entry.signed.event.fields.public_key.clone());
        for key in keys {
            if !done_keys.insert(key.clone()) {
                continue;
            }
            let Some(actor) = actors.get(&key) else {
                continue;
            };
            let mut more = vec![actor.enrolled_seq];
            match &actor.status {
                ActorStatus::Active => {}
                ActorStatus::Rotated { seq, .. } | ActorStatus::Revoked { seq } => more.push(*seq),
            }
            for s in more {
                if seqs.insert(s) {
                    pending.push(s);
                }
            }
        }
        entries.insert(seq, entry);
    }
    Ok(entries.into_values().collect())
}

fn bag_info(
    statement: &PackageStatement,
    payload: &[PayloadFile],
    sealed_time: OffsetDateTime,
) -> Result<String, SealError> {
    let octets: u64 = payload.iter().map(|p| p.expected.size).sum();
    let mut info = BagInfo::new();
    let sender = &statement.sender;
    info.push(
        "Source-Organization",
        sender.organisation.as_deref().unwrap_or(&sender.authority),
    )?;
    info.push("External-Identifier", &statement.id)?;
    info.push("Bagging-Date", &bagging_date(sealed_time))?;
    info.push("Payload-Oxum", &payload_oxum(octets, payload.len() as u64))?;
    info.push(
        "Bag-Software-Agent",
        &format!("custody {}", env!("CARGO_PKG_VERSION")),
    )?;
    info.push("Custody-Case", &statement.case)?;
    info.push("Custody-Sender", &sender.authority)?;
    info.push("Custody-Recipient", &statement.recipient.authority)?;
    if let Some(reference) = &statement.request.reference {
        info.push("Custody-Request-Reference", reference)?;
    }
    Ok(info.to_text(None))
}

fn bagging_date(time: OffsetDateTime) -> String {
    let d = utc_clamped(time).date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// `time` in UTC, truncated to whole even seconds (what a ZIP timestamp holds).
pub fn truncate_to_zip(time: OffsetDateTime) -> OffsetDateTime {
    let utc = utc_clamped(time);
    let second = utc.second() - utc.second() % 2;
    utc.replace_nanosecond(0)
        .and_then(|t| t.replace_second(second))
        .unwrap_or(utc)
}

/// `time` in UTC; an instant whose UTC form lies past either end of the calendar (a time
/// read from a package, such as `9999-12-31T23:59:59-23:59`) is clamped to that end rather
/// than panicking.
fn utc_clamped(time: OffsetDateTime) -> OffsetDateTime {
    time.checked_to_offset(time::UtcOffset::UTC)
        .unwrap_or_else(|| {
            let end = if time.offset().is_negative() {
                time::PrimitiveDateTime::MAX
            } else {
                time::PrimitiveDateTime::MIN
            };
            end.assume_utc()
        })
}

/// The ZIP timestamp of a UTC instant (ZIP times have no zone; packages use UTC).
pub fn zip_timestamp(time: OffsetDateTime) -> ZipTimestamp {
    let utc = truncate_to_zip(time);
    ZipTimestamp {
        year: u16::try_from(utc.year()).unwrap_or(1980),
        month: u8::from(utc.month()),
        day: utc.day(),
        hour: utc.hour(),
        minute: utc.minute(),
        second: utc.second(),
    }
}

/// The package's SHA-256 as lower-case hex.
pub fn digest_hex(sha256: &[u8; 32]) -> String {
    hex::encode(sha256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_times_are_even_utc_seconds() {
        let t = time::macros::datetime!(2026-03-01 10:00:03.7 +01:00);
        assert_eq!(
            zip_timestamp(t),
            ZipTimestamp {
                year: 2026,
                month: 3,
                day: 1,
                hour: 9,
                minute: 0,
                second: 2
            }
        );
        assert_eq!(
            custody_store::ledger::format_utc(truncate_to_zip(t)),
            "2026-03-01T09:00:02Z"
        );
    }

    #[test]
    fn fail_times_past_the_calendar_in_utc_do_not_panic() {
        let late = time::macros::datetime!(9999-12-31 23:59:59 -23:59);
        let early = time::macros::datetime!(-9999-01-01 00:00:00 +23:59);
        assert_eq!(truncate_to_zip(late).year(), 9999);
        assert_eq!(truncate_to_zip(early).year(), -9999);
        assert_eq!(bagging_date(late), "9999-12-31");
        // ZIP cannot hold these years; the writer refuses them rather than wrapping.
        assert_eq!(zip_timestamp(early).year, 1980);
    }

    #[test]
    fn file_names_from_recorded_paths() {
        assert_eq!(file_name("/mnt/evidence/disk.img"), "disk.img");
        assert_eq!(file_name("C:\\cases\\phone.bin"), "phone.bin");
        assert_eq!(file_name("photos/"), "photos");
    }
}
