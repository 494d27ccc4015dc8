//! Receiving a package: verify it, extract it safely and atomically, record `received` in
//! the receiver's ledger, and answer with a signed receipt.
//!
//! **One reading.** The package is read from its path exactly once, front to back, into a
//! private copy: an unnamed temporary file beside the destination (`O_TMPFILE` where the
//! file system has it; elsewhere a file unlinked the moment it is created), hashed with
//! SHA-256 as it is copied. Verification, extraction and the recorded `package_digest` all
//! come from that copy and its one scan ([`crate::verify::verify_scanned`]), so what is
//! extracted and recorded is exactly what was verified, however the file at the path is
//! replaced or rewritten meanwhile. The copy takes the package's size again on disk while
//! the receive runs.
//!
//! Nothing is placed at the destination unless verification finds nothing wrong and at
//! least one trusted signature. Payload files are copied into a new staging directory
//! beside the destination in the pass that verifies them (each byte hashed and written
//! once, [`crate::bagit::PayloadTee`]); the rest is extracted entry by entry through
//! [`crate::zipscan`]'s reader (sizes and CRC-32 enforced) once the verdict is in. Every
//! path is built from checked components and within [`crate::limits`]' path limits
//! (without recursion), every file and directory fsynced, then the staging directory is
//! renamed into place; a refused package removes it with everything in it. A failure after
//! that removes what was extracted; the ledger entries, once appended, stay (the ledger is
//! append-only), and the error says so. A receive killed outright leaves its staging
//! directory, named for its process; the next receive into the same directory removes it
//! (see `docs/package.md`, "Limits").

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};

use custody_core::hash;
use custody_core::keys::Identity;
use custody_store::{
    EventDraft, EventFields, EventKind, Evidence, EvidenceFile, Ledger, LedgerView, StoreError,
};
use time::OffsetDateTime;

use crate::bagit::PayloadTee;
use crate::layout;
use crate::leftovers::{self, Kind};
use crate::limits;
use crate::package::PackageStatement;
use crate::receipt::{Receipt, ReceiptDraft, ReceiptError};
use crate::verify::{self, PackageReport, VerifyError, VerifyOptions};
use crate::zipscan::{ReadEntryError, ZipError, ZipScanner};

/// What the receiver says about itself and expects.
#[derive(Clone, Debug, Default)]
pub struct ReceiveOptions {
    /// Verification: trusted keys, revoked keys, limits. `expect_recipient` is set from
    /// `authority` when that is given.
    pub verify: VerifyOptions,
    /// The receiving authority (`--as`): the package must be addressed to it, and the
    /// receipt names it. Without it, the receipt names the receiver key's organisation (or
    /// name) and the recipient is not checked.
    pub authority: Option<String>,
    /// When the package was received; now if `None`.
    pub received_time: Option<OffsetDateTime>,
}

/// What a successful receive did.
#[derive(Debug)]
pub struct ReceiveOutcome {
    /// The verification report (verified, no findings).
    pub report: PackageReport,
    /// The package statement.
    pub statement: PackageStatement,
    /// SHA-256 (hex) of the package file.
    pub package_digest: String,
    /// Seq of each `received` entry, one per item, in statement order.
    pub received_seqs: Vec<u64>,
    /// The receipt written.
    pub receipt: Receipt,
    /// Where the bag was extracted.
    pub dir: PathBuf,
    /// SHA-256 (hex) of the encrypted file, when the package arrived encrypted.
    pub encrypted_digest: Option<String>,
}

/// Why a package was not received.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiveError {
    /// Verification could not run.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The encrypted package could not be opened (no matching identity, not an age file,
    /// a damaged header); nothing was written.
    #[error(transparent)]
    Decrypt(#[from] crate::encrypt::EncryptError),
    /// Verification found problems (or no trusted signature); nothing was written.
    #[error("package refused: verification found {} problem(s)", .report.findings.len())]
    Refused {
        /// The report.
        report: Box<PackageReport>,
    },
    /// The destination directory already exists.
    #[error("{path}: already exists; receive into a new directory")]
    DestinationExists {
        /// The destination.
        path: PathBuf,
    },
    /// The directory that would hold the destination does not exist.
    #[error("{path}: no such directory to receive into")]
    NoParent {
        /// The missing parent directory.
        path: PathBuf,
    },
    /// The receipt file already exists.
    #[error("{path}: receipt file already exists")]
    ReceiptExists {
        /// The receipt path.
        path: PathBuf,
    },
    /// An archive entry cannot be placed safely (verification refuses every such entry, so
    /// this cannot happen to a verified package; checked regardless).
    #[error("{entry}: archive entry cannot be extracted safely")]
    UnsafeEntry {
        /// The entry name.
        entry: String,
    },
    /// Reading the package or writing the extracted files failed.
    #[error("{path}: {source}")]
    Io {
        /// The file at fault.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// An item of the package already exists in the receiver's ledger (its history there
    /// would be merged with the package's); nothing was written.
    #[error(
        "item {item} already exists in the receiving ledger (case {case}); nothing was written: \
         receive the package into a ledger that does not hold that item id"
    )]
    ItemExists {
        /// The item id.
        item: String,
        /// The case it belongs to in the receiving ledger.
        case: String,
    },
    /// Reading the receiving ledger failed before anything was written.
    #[error("cannot read the receiving ledger: {0}")]
    LedgerRead(#[source] StoreError),
    /// The ledger refused the `received` entries; what was extracted has been removed.
    #[error("ledger refused the received entries (extraction undone): {0}")]
    Ledger(#[source] StoreError),
    /// The receipt could not be made or written after the ledger recorded `received`.
    #[error(
        "ledger recorded received at seq {seq}, but the receipt could not be written: {error}"
    )]
    Receipt {
        /// The first `received` entry.
        seq: u64,
        /// Why.
        error: ReceiptFailure,
    },
}

/// Why the receipt could not be produced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptFailure {
    /// Making or signing it failed.
    #[error(transparent)]
    Create(#[from] ReceiptError),
    /// Writing it failed.
    #[error("{path}: {source}")]
    Write {
        /// The receipt path.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl Fn(io::Error) -> ReceiveError + '_ {
    move |source| ReceiveError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Refuses a package whose item ids the receiving ledger already holds: `received` would
/// otherwise append the foreign history to a local item. Checked once before anything is
/// written (to fail early) and again inside the append transaction (see
/// `Ledger::append_batch_if`), so two receives of the same item id at the same moment
/// cannot both succeed.
fn refuse_existing_items(
    held: &LedgerView<'_>,
    statement: &PackageStatement,
) -> Result<(), ReceiveError> {
    for item in &statement.items {
        if let Some(record) = held.item(&item.id) {
            return Err(ReceiveError::ItemExists {
                item: item.id.clone(),
                case: record.case.clone().unwrap_or_default(),
            });
        }
    }
    Ok(())
}

/// A package as it arrives: where it comes from (for messages) and the reader its bytes
/// are read from, once, front to back.
#[derive(Debug)]
pub struct Incoming<R> {
    /// The package's name (its path), used in errors.
    pub name: PathBuf,
    /// Its bytes.
    pub reader: R,
}

/// Receives the package at `package` into the new directory `into`, recording it in
/// `ledger` as `receiver` (appending with `log_key`) and writing the receipt to
/// `receipt_out`. The path is opened once and read once ([`receive_from`]).
pub fn receive(
    package: &Path,
    into: &Path,
    options: &ReceiveOptions,
    ledger: &mut Ledger,
    receiver: &Identity,
    log_key: &Identity,
    receipt_out: &Path,
) -> Result<ReceiveOutcome, ReceiveError> {
    let file = File::open(package).map_err(io_err(package))?;
    let incoming = Incoming {
        name: package.to_path_buf(),
        reader: file,
    };
    receive_from(
        incoming,
        into,
        options,
        ledger,
        receiver,
        log_key,
        receipt_out,
    )
}

/// Receives the package read from `incoming` (see [`receive`]): its reader is read exactly
/// once, sequentially, into a private copy from which everything else is done.
pub fn receive_from<R: Read>(
    incoming: Incoming<R>,
    into: &Path,
    options: &ReceiveOptions,
    ledger: &mut Ledger,
    receiver: &Identity,
    log_key: &Identity,
    receipt_out: &Path,
) -> Result<ReceiveOutcome, ReceiveError> {
    let package = incoming.name.as_path();
    let parent = prepare(into, receipt_out)?;
    let progress = options.verify.bag.progress;
    let (copy, digest) = private_copy(incoming.reader, package, parent, progress)?;
    receive_copy(
        copy,
        digest,
        None,
        package,
        into,
        options,
        ledger,
        receiver,
        log_key,
        receipt_out,
    )
}

/// Receives the age-encrypted package at `package` (see [`crate::encrypt`]) with the first
/// of `identities` that opens it: the encrypted file is read once, decrypted as it streams
/// into the private copy [`receive_from`] uses, and its SHA-256 recorded beside the
/// plaintext package's (`encrypted_digest`). Without a matching identity nothing is
/// written; a chunk that does not authenticate fails the receive before anything is
/// extracted or recorded.
#[allow(clippy::too_many_arguments)]
pub fn receive_encrypted(
    package: &Path,
    identities: &[crate::encrypt::EncryptionIdentity],
    into: &Path,
    options: &ReceiveOptions,
    ledger: &mut Ledger,
    receiver: &Identity,
    log_key: &Identity,
    receipt_out: &Path,
) -> Result<ReceiveOutcome, ReceiveError> {
    let file = File::open(package).map_err(io_err(package))?;
    let parent = prepare(into, receipt_out)?;
    let mut decrypting = crate::encrypt::open_encrypted(file, package, identities)?;
    let progress = options.verify.bag.progress;
    let (copy, digest) = private_copy(&mut decrypting, package, parent, progress)?;
    let transfer = decrypting.finish().map_err(io_err(package))?;
    receive_copy(
        copy,
        digest,
        Some(transfer.sha256_hex()),
        package,
        into,
        options,
        ledger,
        receiver,
        log_key,
        receipt_out,
    )
}

/// Refuses an existing destination or receipt and a missing parent directory; sweeps what
/// a killed receive left. Returns the parent directory.
fn prepare<'a>(into: &'a Path, receipt_out: &Path) -> Result<&'a Path, ReceiveError> {
    if into.symlink_metadata().is_ok() {
        return Err(ReceiveError::DestinationExists {
            path: into.to_path_buf(),
        });
    }
    if receipt_out.symlink_metadata().is_ok() {
        return Err(ReceiveError::ReceiptExists {
            path: receipt_out.to_path_buf(),
        });
    }
    let parent = parent_dir(into);
    if !parent.is_dir() {
        return Err(ReceiveError::NoParent {
            path: parent.to_path_buf(),
        });
    }
    leftovers::sweep(parent, Kind::Receive);
    Ok(parent)
}

/// Everything after the one reading: verify the private copy, extract, record, answer.
#[allow(clippy::too_many_arguments)]
fn receive_copy(
    copy: File,
    digest: hash::Digests,
    encrypted_digest: Option<String>,
    package: &Path,
    into: &Path,
    options: &ReceiveOptions,
    ledger: &mut Ledger,
    receiver: &Identity,
    log_key: &Identity,
    receipt_out: &Path,
) -> Result<ReceiveOutcome, ReceiveError> {
    let package_digest = digest.sha256_hex();
    let mut scanner = ZipScanner::new(BufReader::new(copy), &options.verify.bag.scan_limits)
        .map_err(|e| zip_err(package, e))?;
    let mut verify_options = options.verify.clone();
    if options.authority.is_some() {
        verify_options
            .expect_recipient
            .clone_from(&options.authority);
    }
    // Payload files are extracted into the staging directory in the pass that
    // verifies them; nothing is decided on that copy, and it is dropped with everything
    // in it unless the verdict below lets the receive go on.
    let mut staging = Staging::new(parent_dir(into))?;
    let report = verify::verify_scanned_teeing(&mut scanner, &verify_options, Some(&mut staging))
        .map_err(|source| VerifyError::Read {
        path: package.to_path_buf(),
        source,
    })?;
    let statement = match (&report.statement, report.verified) {
        (Some(statement), true) => statement.clone(),
        _ => {
            return Err(ReceiveError::Refused {
                report: Box::new(report),
            })
        }
    };
    if let Some(failed) = staging.failed.take() {
        return Err(failed);
    }
    ledger
        .read_verified(|view| refuse_existing_items(view, &statement))
        .map_err(ReceiveError::LedgerRead)??;
    let sender_checkpoint = extract(&mut scanner, package, &statement.id, into, staging)?;
    // One instant for the entries' claimed time and the receipt (and its cosignature).
    let received_time = options
        .received_time
        .unwrap_or_else(OffsetDateTime::now_utc);
    let mut drafts = received_drafts(
        &statement,
        &package_digest,
        &sender_checkpoint,
        received_time,
    );
    for draft in &mut drafts {
        draft.fields.encrypted_digest.clone_from(&encrypted_digest);
        draft.fields.conditions = Some(conditions_of(&statement));
    }
    let appended = match ledger.append_batch_if(drafts, receiver, log_key, |view| {
        refuse_existing_items(view, &statement)
    }) {
        Ok(Ok(a)) => a,
        Ok(Err(refused)) => {
            let _ = fs::remove_dir_all(into);
            return Err(refused);
        }
        Err(e) => {
            // Best effort: the error reported is the ledger's.
            let _ = fs::remove_dir_all(into);
            return Err(ReceiveError::Ledger(e));
        }
    };
    let received_seqs: Vec<u64> = appended.iter().map(|a| a.seq).collect();
    let first = received_seqs.first().copied().unwrap_or_default();
    let receiver_checkpoint = appended
        .last()
        .map(|a| a.checkpoint.clone())
        .unwrap_or_default();
    let info = receiver.info();
    let draft = ReceiptDraft {
        package_id: statement.id.clone(),
        package_digest: package_digest.clone(),
        encrypted_digest: encrypted_digest.clone(),
        received_time,
        authority: options
            .authority
            .clone()
            .or_else(|| info.organisation.clone())
            .unwrap_or_else(|| info.name.clone()),
        organisation: info.organisation.clone(),
        jurisdiction: info.jurisdiction.clone(),
        signers: report
            .signers
            .iter()
            .filter(|s| s.counts())
            .map(|s| s.key.clone())
            .collect(),
        sender_checkpoint,
        receiver_checkpoint,
        received_seq: first,
    };
    let receipt_failure = |error| ReceiveError::Receipt { seq: first, error };
    let receipt =
        Receipt::create(draft, receiver).map_err(|e| receipt_failure(ReceiptFailure::Create(e)))?;
    let bytes = receipt
        .to_canonical()
        .map_err(|e| receipt_failure(ReceiptFailure::Create(e)))?;
    write_atomically(receipt_out, &bytes).map_err(|source| {
        receipt_failure(ReceiptFailure::Write {
            path: receipt_out.to_path_buf(),
            source,
        })
    })?;
    Ok(ReceiveOutcome {
        report,
        statement,
        package_digest,
        received_seqs,
        receipt,
        dir: into.to_path_buf(),
        encrypted_digest,
    })
}

/// The conditions the package statement attaches to its items, as `received` records them.
fn conditions_of(statement: &PackageStatement) -> custody_store::conditions::TransferConditions {
    custody_store::conditions::TransferConditions {
        use_limitations: statement.use_limitations.clone(),
        confidential: statement.confidential,
        personal_data: statement.personal_data.clone(),
        retention_until: statement.retention_until.clone(),
    }
}

/// Copies `reader` to its end into an unnamed temporary file in `dir`, hashing it on the
/// way: the one reading of the package. Returns the copy, rewound, and its digests.
/// `progress`, when set, is told the bytes copied as they go (as verification then tells it
/// the bytes it hashes).
fn private_copy<R: Read>(
    reader: R,
    package: &Path,
    dir: &Path,
    progress: Option<fn(u64)>,
) -> Result<(File, hash::Digests), ReceiveError> {
    let mut copy = tempfile::tempfile_in(dir).map_err(io_err(dir))?;
    let mut reported = 0u64;
    let mut report = |total: u64| {
        if let Some(report) = progress {
            report(total - reported);
        }
        reported = total;
    };
    // Reader and writer errors arrive together; both are reported against the package.
    let digest = hash::copy_and_hash(reader, &mut copy, &mut report).map_err(io_err(package))?;
    copy.seek(SeekFrom::Start(0)).map_err(io_err(package))?;
    Ok((copy, digest))
}

/// One `received` entry per item (so each carries its own evidence and the receiver's
/// ledger knows every item's size and digests), all in one batch.
fn received_drafts(
    statement: &PackageStatement,
    package_digest: &str,
    sender_checkpoint: &str,
    received_time: OffsetDateTime,
) -> Vec<EventDraft> {
    let claimed = custody_store::ledger::format_utc(received_time);
    statement
        .items
        .iter()
        .map(|item| {
            let evidence = Evidence {
                size: item.size,
                sha256: item.sha256,
                blake3: item.blake3,
                source_path: format!("{}/{}", statement.id, item.path),
                files: item.files.as_ref().map(|files| {
                    files
                        .iter()
                        .map(|f| EvidenceFile {
                            path: f.path.clone(),
                            size: f.size,
                            sha256: f.sha256,
                            blake3: f.blake3,
                        })
                        .collect()
                }),
            };
            EventDraft::new(EventKind::Received, claimed.clone())
                .case(statement.case.clone())
                .item(item.id.clone())
                .fields(EventFields {
                    from: Some(statement.sender.authority.clone()),
                    package_digest: Some(package_digest.to_owned()),
                    checkpoint: Some(sender_checkpoint.to_owned()),
                    evidence: Some(evidence),
                    notes: Some(format!("package {}", statement.id)),
                    ..EventFields::default()
                })
        })
        .collect()
}

/// The private directory a package is extracted into before it is renamed into place,
/// and the payload files verification already copied there ([`PayloadTee`]).
struct Staging {
    dir: tempfile::TempDir,
    dirs: Dirs,
    /// Files written but not yet fsynced (at most [`SYNC_BATCH`], so open handles stay
    /// bounded).
    unsynced: Vec<(PathBuf, File)>,
    /// Copies being written, by bag path: a handle of its own to fsync it.
    open: HashMap<String, (PathBuf, File)>,
    /// Payload files copied whole, by bag path.
    copied: HashSet<String>,
    /// The first failure to write a copy; reported once verification has spoken.
    failed: Option<ReceiveError>,
}

impl Staging {
    /// A new staging directory in `parent`, named so that a later receive sweeps it if
    /// this one is killed.
    fn new(parent: &Path) -> Result<Self, ReceiveError> {
        let dir = tempfile::Builder::new()
            .prefix(&leftovers::prefix(Kind::Receive))
            .tempdir_in(parent)
            .map_err(|e| io_err(parent)(crate::zipwrite::without_temp_name(e)))?;
        Ok(Staging {
            dir,
            dirs: Dirs::default(),
            unsynced: Vec::new(),
            open: HashMap::new(),
            copied: HashSet::new(),
            failed: None,
        })
    }

    /// Creates the file for bag path `rel` (its directories first).
    fn create(&mut self, rel: &str) -> Result<Option<(PathBuf, File)>, ReceiveError> {
        let Some(parts) = safe_components(rel) else {
            return Ok(None);
        };
        let Some((file, dir_parts)) = parts.split_last() else {
            return Ok(None);
        };
        let dir = self.dirs.create(self.dir.path(), dir_parts)?;
        let target = dir.join(file);
        let out = File::create_new(&target).map_err(io_err(&target))?;
        Ok(Some((target, out)))
    }

    /// Queues a written file for fsync, syncing a full batch.
    fn written(&mut self, target: PathBuf, file: File) -> Result<(), ReceiveError> {
        self.unsynced.push((target, file));
        if self.unsynced.len() >= SYNC_BATCH {
            sync_files(&mut self.unsynced)?;
        }
        Ok(())
    }
}

impl PayloadTee for Staging {
    fn start(&mut self, path: &str) -> Option<Box<dyn Write>> {
        if self.failed.is_some() || limits::check_path(path).is_some() {
            return None;
        }
        let created = self.create(path).and_then(|made| {
            let Some((target, file)) = made else {
                return Ok(None);
            };
            let copy = file.try_clone().map_err(io_err(&target))?;
            self.open.insert(path.to_owned(), (target, file));
            Ok(Some(copy))
        });
        match created {
            Ok(copy) => copy.map(|c| Box::new(c) as Box<dyn Write>),
            Err(e) => {
                self.failed = Some(e);
                None
            }
        }
    }

    fn finish(&mut self, path: &str, copy: Box<dyn Write>, outcome: io::Result<()>) {
        drop(copy);
        let Some((target, file)) = self.open.remove(path) else {
            return;
        };
        let done = match outcome {
            Ok(()) => self.written(target, file),
            Err(source) => Err(ReceiveError::Io {
                path: target,
                source,
            }),
        };
        match done {
            Ok(()) => {
                self.copied.insert(path.to_owned());
            }
            Err(e) => {
                self.failed.get_or_insert(e);
            }
        }
    }
}

/// Extracts the bag `<id>/` of the verified archive into `into` (which receives the bag's
/// contents), atomically, completing what verification already copied into `staging`.
/// Returns the sender checkpoint note.
fn extract<R: Read + Seek>(
    scanner: &mut ZipScanner<R>,
    package: &Path,
    id: &str,
    into: &Path,
    mut staging: Staging,
) -> Result<String, ReceiveError> {
    let parent = parent_dir(into);
    let entries: Vec<(usize, String, bool)> = scanner
        .entries()
        .iter()
        .map(|e| (e.index, e.name.clone(), e.is_dir()))
        .collect();
    for (index, name, is_dir) in entries {
        let unsafe_entry = || ReceiveError::UnsafeEntry {
            entry: crate::bagit::shorten(&name),
        };
        if limits::check_path(&name).is_some() {
            return Err(unsafe_entry());
        }
        let trimmed = name.trim_end_matches('/');
        if is_dir && trimmed == id {
            continue;
        }
        let rel = layout::bag_path(id, trimmed).ok_or_else(unsafe_entry)?;
        if is_dir {
            let parts = safe_components(rel).ok_or_else(unsafe_entry)?;
            staging.dirs.create(staging.dir.path(), &parts)?;
            continue;
        }
        if staging.copied.remove(rel) {
            // Copied, whole, in the pass that verified it.
            continue;
        }
        let (target, mut out) = staging.create(rel)?.ok_or_else(unsafe_entry)?;
        let mut reader = scanner.open_entry(index).map_err(|e| zip_err(package, e))?;
        io::copy(&mut reader, &mut out).map_err(io_err(&target))?;
        staging.written(target, out)?;
    }
    // A copy that is no entry of the bag `<id>/` (verification would not pass such a
    // package; refused all the same rather than renamed into place).
    if let Some(stray) = staging.copied.iter().next() {
        return Err(ReceiveError::UnsafeEntry {
            entry: crate::bagit::shorten(stray),
        });
    }
    sync_files(&mut staging.unsynced)?;
    staging.dirs.sync_all()?;
    let checkpoint = verified_checkpoint(scanner, package, id)?;
    if into.symlink_metadata().is_ok() {
        return Err(ReceiveError::DestinationExists {
            path: into.to_path_buf(),
        });
    }
    let staged = staging.dir.keep();
    if let Err(e) = fs::rename(&staged, into) {
        let _ = fs::remove_dir_all(&staged);
        return Err(io_err(into)(e));
    }
    File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(io_err(parent))?;
    Ok(checkpoint)
}

/// The sender checkpoint note, from the verified archive itself (not from the extracted
/// copy, which sits in a directory others may write).
fn verified_checkpoint<R: Read + Seek>(
    scanner: &mut ZipScanner<R>,
    package: &Path,
    id: &str,
) -> Result<String, ReceiveError> {
    let name = layout::entry_name(id, layout::CHECKPOINT);
    let unsafe_entry = || ReceiveError::UnsafeEntry {
        entry: name.clone(),
    };
    let index = scanner
        .entries()
        .iter()
        .find(|e| e.name == name)
        .map(|e| e.index)
        .ok_or_else(unsafe_entry)?;
    let bytes = scanner
        .read_entry(index, limits::MAX_CHECKPOINT)
        .map_err(|e| match e {
            ReadEntryError::Zip(e) => zip_err(package, e),
            _ => unsafe_entry(),
        })?;
    String::from_utf8(bytes).map_err(|_| unsafe_entry())
}

/// Extracted files are fsynced in batches of this many, all of a batch at once.
const SYNC_BATCH: usize = 256;

/// Threads fsyncing one batch. Waiting on the disk takes no CPU, and the file system commits
/// concurrent fsyncs together, so many small files cost a few journal commits, not one
/// each: one fsync after each file made extracting many small files several times slower
/// than verifying them.
const SYNC_THREADS: usize = 16;

/// Fsyncs every file of `files` (on [`SYNC_THREADS`] threads) and empties it; the first
/// failure is returned naming its file. Every file is durable before the staging directory
/// is renamed into place, as before; only the order of the waits changes.
fn sync_files(files: &mut Vec<(PathBuf, File)>) -> Result<(), ReceiveError> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let batch = std::mem::take(files);
    let failures: Vec<(usize, io::Error)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..SYNC_THREADS.min(batch.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut failed = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((_, file)) = batch.get(i) else {
                            return failed;
                        };
                        if let Err(e) = file.sync_all() {
                            failed.push((i, e));
                        }
                    }
                })
            })
            .collect();
        let joined: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
        let mut failures = Vec::new();
        for outcome in joined {
            match outcome {
                Ok(failed) => failures.extend(failed),
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        failures
    });
    match failures.into_iter().min_by_key(|(i, _)| *i) {
        Some((i, source)) => Err(ReceiveError::Io {
            path: batch[i].0.clone(),
            source,
        }),
        None => Ok(()),
    }
}

/// The directories extraction made, so that each is made once (without recursion, and
/// without a file system lookup per ancestor) and fsynced at the end.
#[derive(Default)]
struct Dirs {
    made: HashSet<PathBuf>,
}

impl Dirs {
    /// Creates `root/<parts…>` and each missing ancestor below `root`; returns it.
    fn create(&mut self, root: &Path, parts: &[&str]) -> Result<PathBuf, ReceiveError> {
        let mut path = root.to_path_buf();
        for part in parts {
            path.push(part);
            if self.made.contains(&path) {
                continue;
            }
            fs::create_dir(&path).map_err(io_err(&path))?;
            self.made.insert(path.clone());
        }
        Ok(path)
    }

    /// Fsyncs every directory made, deepest first, so each one's entry is durable in its
    /// parent.
    fn sync_all(&self) -> Result<(), ReceiveError> {
        let mut dirs: Vec<&PathBuf> = self.made.iter().collect();
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for dir in dirs {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io_err(dir))?;
        }
        Ok(())
    }
}

/// The directory `path` is in (`.` for a bare name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn zip_err(package: &Path, e: ZipError) -> ReceiveError {
    match e {
        ZipError::Io(source) => ReceiveError::Io {
            path: package.to_path_buf(),
            source,
        },
        other => ReceiveError::Io {
            path: package.to_path_buf(),
            source: io::Error::other(other),
        },
    }
}

/// The components of the `/`-separated `rel`, if every one is a plain name.
fn safe_components(rel: &str) -> Option<Vec<&str>> {
    rel.split('/')
        .map(|part| {
            let mut components = Path::new(part).components();
            let plain = matches!(components.next(), Some(Component::Normal(_)))
                && components.next().is_none()
                && !part.contains(['\\', ':', '\0']);
            plain.then_some(part)
        })
        .collect()
}

/// Writes `bytes` to `path` via a temporary file in the same directory, fsynced and
/// renamed, so the file is either absent or complete.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent_dir(path);
    // Errors name the file the user asked for, not tempfile's temporary name: created
    // without it, written through the plain file handle.
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(crate::zipwrite::without_temp_name)?;
    tmp.as_file_mut().write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist_noclobber(path).map_err(|e| e.error)?;
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_components_accept_plain_names_only() {
        assert_eq!(
            safe_components("data/a b/c.txt"),
            Some(vec!["data", "a b", "c.txt"])
        );
        for bad in [
            "", "a//b", "./a", "a/../b", "..", "/etc/x", "a\\b", "C:x", "a\0b",
        ] {
            assert_eq!(safe_components(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn deep_directories_are_made_without_recursion() {
        let root = tempfile::tempdir().unwrap();
        let parts = vec!["d"; 1000];
        let mut dirs = Dirs::default();
        let made = dirs.create(root.path(), &parts).unwrap();
        assert!(made.is_dir());
        assert_eq!(dirs.made.len(), 1000);
        // A second file in the same directory makes nothing new.
        dirs.create(root.path(), &parts).unwrap();
        assert_eq!(dirs.made.len(), 1000);
    }
}
