//! A deterministic, atomic, streaming ZIP64 writer for packages.
//!
//! [`PackageWriter`] writes entries in exactly the order the caller adds them, each with
//! the same timestamp and permissions and no extra fields beyond the ZIP64 ones large
//! entries need, so the same inputs always give the same bytes. Each entry's bytes are read
//! once: they pass through [`custody_core::hash::copy_and_hash`] (SHA-256 and BLAKE3 on
//! worker threads) into the ZIP entry, whose CRC-32 is computed as they go by, and the
//! digests come back to the caller for the manifests.
//!
//! The archive is written to a temporary file in the destination directory, flushed to
//! disk, and renamed to the destination only by [`PackageWriter::finish`] (or
//! [`PackageWriter::finish_new`], which never replaces a file); dropping the writer or any
//! error leaves no output behind, and prints nothing: once a write fails or the writer is
//! dropped unfinished, the temporary file is let go and whatever the ZIP library still
//! writes (it finalises an archive when dropped) goes nowhere. A failure to write the
//! archive is reported as such ([`ZipWriteError::Write`], naming the package), never as a
//! failure to read the entry's source.
//!
//! The archive's SHA-256 (what the ledger records for a package) is taken as the archive
//! is written, each byte once no later patch can change it (the `window` module), so that
//! [`PackageWriter::finish_with_digest`] needs no second reading of the package.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use custody_core::hash::{copy_and_hash, Digests, Hashed};
use tempfile::NamedTempFile;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::zipscan::{name_findings, EntryNames, ZipEntry, ZipFinding};

mod window;
pub use window::ArchiveDigest;
use window::{HashSwitch, Window};

/// Entries declared larger than this make the archive's digest come from the finished
/// file rather than from the bytes as they are written (their header's patch would reach
/// bytes already hashed; see the `window` module).
const STREAM_HASH_MAX: u64 = (window::KEEP / 2) as u64;

/// Entries declared at least this large are written with ZIP64 sizes. Slightly below the
/// 4 GiB limit so that deflate's worst-case growth still fits.
const ZIP64_THRESHOLD: u64 = 0xFFFF_FFFF - (1 << 20);

/// Permission bits every file entry gets.
pub const FILE_MODE: u32 = 0o644;

/// The fixed compression level used when deflate is asked for, so output is reproducible.
const DEFLATE_LEVEL: i64 = 6;

/// How entries are compressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// No compression (the default for evidence: readers can check it in place).
    #[default]
    Stored,
    /// DEFLATE at a fixed level.
    Deflate,
}

/// A ZIP "DOS" timestamp (local time without zone, 1980–2107, even seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZipTimestamp {
    /// Year, 1980–2107.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day, 1–31.
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–58 (rounded down to even by the format).
    pub second: u8,
}

impl ZipTimestamp {
    /// 1980-01-01 00:00:00, the earliest time a ZIP can hold.
    pub const EPOCH: ZipTimestamp = ZipTimestamp {
        year: 1980,
        month: 1,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
    };
}

impl Default for ZipTimestamp {
    fn default() -> Self {
        ZipTimestamp::EPOCH
    }
}

/// Settings shared by every entry of one archive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteSettings {
    /// Timestamp of every entry.
    pub timestamp: ZipTimestamp,
    /// Compression of every entry.
    pub compression: Compression,
}

/// A failure while writing a package. Nothing is left at the destination.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZipWriteError {
    /// The temporary file could not be created next to the destination.
    #[error("cannot write a package in {dir}: {source}")]
    CreateTemp {
        /// The destination directory.
        dir: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The timestamp cannot be expressed in a ZIP.
    #[error("timestamp {}-{:02}-{:02} {:02}:{:02}:{:02} cannot be stored in a ZIP archive (1980 to 2107)", .0.year, .0.month, .0.day, .0.hour, .0.minute, .0.second)]
    BadTimestamp(ZipTimestamp),
    /// The entry name is unsafe or malformed.
    #[error("{name}: not an acceptable entry name")]
    BadName {
        /// The name.
        name: String,
    },
    /// The entry name was already used.
    #[error("{name}: entry added twice")]
    DuplicateName {
        /// The name.
        name: String,
    },
    /// The entry name collides with one added before (letter case, Unicode normalisation,
    /// or a file where a directory is needed), as the structural scan would report.
    #[error("{finding}")]
    NameCollision {
        /// The scan's finding, naming both entries.
        finding: ZipFinding,
    },
    /// Reading the entry's source or writing it failed.
    #[error("{name}: {source}")]
    Entry {
        /// The entry.
        name: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The ZIP library refused an operation on this entry (e.g. a size hint that lied).
    #[error("{name}: {source}")]
    Zip {
        /// The entry.
        name: String,
        /// The underlying error.
        source: zip::result::ZipError,
    },
    /// Writing the archive failed (a full disk, a quota, an I/O error): the package, not
    /// the entry's source, is at fault. Nothing was left at the destination.
    #[error("cannot write the package {path}: {source}; nothing was written there")]
    Write {
        /// The destination.
        path: PathBuf,
        /// The entry being written when it failed.
        entry: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The destination already exists and [`PackageWriter::finish_new`] does not replace
    /// files. Nothing was changed.
    #[error("{path} already exists; a package is never written over an existing file")]
    Exists {
        /// The destination.
        path: PathBuf,
    },
    /// Finishing the archive (central directory, flush, fsync, rename) failed.
    #[error("cannot finish the package {path}: {source}; nothing was written there")]
    Finish {
        /// The destination.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// One entry as written: its name and the digests of its (uncompressed) bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenEntry {
    /// The entry name.
    pub name: String,
    /// Size, SHA-256 and BLAKE3.
    pub digests: Digests,
}

/// Writes a package archive; see the module documentation.
pub struct PackageWriter {
    /// `None` only once [`PackageWriter::finish`] took it.
    zip: Option<ZipWriter<Window<TempSink>>>,
    /// Stops the window's running hash before an entry too large for it.
    hash_switch: HashSwitch,
    /// Shared with the sink: set to let the temporary file go.
    abandon: Arc<AtomicBool>,
    dest: PathBuf,
    options: SimpleFileOptions,
    names: EntryNames,
    written: Vec<WrittenEntry>,
}

impl PackageWriter {
    /// Starts a package that [`finish`](Self::finish) will place at `dest`.
    pub fn create(dest: &Path, settings: WriteSettings) -> Result<Self, ZipWriteError> {
        let t = settings.timestamp;
        let time = DateTime::from_date_and_time(t.year, t.month, t.day, t.hour, t.minute, t.second)
            .map_err(|_| ZipWriteError::BadTimestamp(t))?;
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // Checked first for the operating system's own words: tempfile's error would
        // carry only the kind of failure once its temporary name is taken out.
        match std::fs::metadata(&dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(ZipWriteError::CreateTemp {
                    dir,
                    source: io::Error::from(io::ErrorKind::NotADirectory),
                })
            }
            Err(source) => return Err(ZipWriteError::CreateTemp { dir, source }),
        }
        // Named for this process, so that the next run removes what a killed one left.
        crate::leftovers::sweep(&dir, crate::leftovers::Kind::Pack);
        let temp = tempfile::Builder::new()
            .prefix(&crate::leftovers::prefix(crate::leftovers::Kind::Pack))
            .suffix(".partial")
            .tempfile_in(&dir)
            .map_err(|source| ZipWriteError::CreateTemp {
                dir: dir.clone(),
                source: without_temp_name(source),
            })?;
        let (method, level) = match settings.compression {
            Compression::Stored => (CompressionMethod::Stored, None),
            Compression::Deflate => (CompressionMethod::Deflated, Some(DEFLATE_LEVEL)),
        };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .compression_level(level)
            .last_modified_time(time)
            .unix_permissions(FILE_MODE);
        let abandon = Arc::new(AtomicBool::new(false));
        // Written through a handle of its own: `NamedTempFile`'s own writes add the
        // temporary file's name to their errors.
        let file = temp
            .as_file()
            .try_clone()
            .map_err(|source| ZipWriteError::CreateTemp { dir, source })?;
        let sink = TempSink {
            temp: Some(temp),
            file: Some(BufWriter::with_capacity(1 << 20, file)),
            failed: false,
            abandon: Arc::clone(&abandon),
            position: 0,
            end: 0,
        };
        let (window, hash_switch) = Window::new(sink);
        Ok(PackageWriter {
            zip: Some(ZipWriter::new(window)),
            hash_switch,
            abandon,
            dest: dest.to_path_buf(),
            options,
            names: Default::default(),
            written: Vec::new(),
        })
    }

    /// Streams `reader` into a new entry `name`, hashing as it goes. `size_hint` is the
    /// expected length; `None` or a large one makes the entry ZIP64. A hint smaller than
    /// 4 GiB for a source that turns out larger fails the entry (and the package).
    /// `progress` is called with the running total of this entry's bytes read so far (as
    /// [`copy_and_hash`] reports it), never with an increment.
    pub fn add_entry<R: Read>(
        &mut self,
        name: &str,
        reader: R,
        size_hint: Option<u64>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Digests, ZipWriteError> {
        let zip = self.start(name, size_hint)?;
        let copied = copy_and_hash(reader, &mut *zip, progress);
        self.written_as(name, copied)
    }

    /// Writes bytes already read and hashed ([`custody_core::hash::read_and_hash`]) as a new
    /// entry `name`; the digests recorded are the ones computed over exactly these bytes.
    pub fn add_hashed(&mut self, name: &str, hashed: &Hashed) -> Result<Digests, ZipWriteError> {
        let zip = self.start(name, Some(hashed.digests().size))?;
        // Flushed as add_entry's copy is, so that a deflated entry gets the same bytes
        // whichever way it was added (a flush ends the deflate block).
        let written = zip
            .write_all(hashed.bytes())
            .and_then(|()| zip.flush())
            .map(|()| hashed.digests());
        self.written_as(name, written)
    }

    /// Checks `name` and starts its entry; returns the archive to write its bytes to.
    fn start(
        &mut self,
        name: &str,
        size_hint: Option<u64>,
    ) -> Result<&mut ZipWriter<Window<TempSink>>, ZipWriteError> {
        check_name(name)?;
        match self.names.add(self.written.len(), name) {
            None => {}
            Some(ZipFinding::DuplicateName { .. }) => {
                return Err(ZipWriteError::DuplicateName {
                    name: name.to_owned(),
                })
            }
            Some(finding) => return Err(ZipWriteError::NameCollision { finding }),
        }
        if size_hint.is_none_or(|n| n > STREAM_HASH_MAX) {
            // Its header's patch would reach bytes already hashed: the archive is hashed
            // from the file at the end instead.
            self.hash_switch.void();
        }
        let large = size_hint.is_none_or(|n| n >= ZIP64_THRESHOLD);
        let dest = &self.dest;
        let zip = self.zip.as_mut().ok_or_else(|| finished(dest))?;
        if let Err(source) = zip.start_file(name, self.options.large_file(large)) {
            return Err(match source {
                zip::result::ZipError::Io(source) => ZipWriteError::Write {
                    path: dest.clone(),
                    entry: name.to_owned(),
                    source,
                },
                source => ZipWriteError::Zip {
                    name: name.to_owned(),
                    source,
                },
            });
        }
        Ok(zip)
    }

    /// Records the entry just written, or names what failed: the package when a write to
    /// it failed (the sink remembers that), else the entry's source.
    fn written_as(
        &mut self,
        name: &str,
        outcome: io::Result<Digests>,
    ) -> Result<Digests, ZipWriteError> {
        let digests = outcome.map_err(|source| {
            let sink_failed = self
                .zip
                .as_ref()
                .and_then(|zip| zip.get_ref())
                .is_some_and(|window| window.get_ref().failed);
            if sink_failed {
                ZipWriteError::Write {
                    path: self.dest.clone(),
                    entry: name.to_owned(),
                    source,
                }
            } else {
                ZipWriteError::Entry {
                    name: name.to_owned(),
                    source,
                }
            }
        })?;
        self.written.push(WrittenEntry {
            name: name.to_owned(),
            digests,
        });
        Ok(digests)
    }

    /// Adds an entry from bytes in memory.
    pub fn add_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<Digests, ZipWriteError> {
        self.add_entry(name, bytes, Some(bytes.len() as u64), &mut |_| {})
    }

    /// The entries written so far, in order.
    pub fn written(&self) -> &[WrittenEntry] {
        &self.written
    }

    /// Writes the central directory, flushes and syncs the file, and renames it to the
    /// destination, replacing any file there. Returns the entries written.
    pub fn finish(self) -> Result<Vec<WrittenEntry>, ZipWriteError> {
        self.complete(true, |file, _| file.sync_all())
            .map(|(written, ())| written)
    }

    /// [`PackageWriter::finish`], but refusing to replace a file at the destination
    /// ([`ZipWriteError::Exists`]): the check and the rename are one step, so a file that
    /// appeared while the package was written is not replaced either.
    pub fn finish_new(self) -> Result<Vec<WrittenEntry>, ZipWriteError> {
        self.complete(false, |file, _| file.sync_all())
            .map(|(written, ())| written)
    }

    /// As [`finish_new`](Self::finish_new) (never replacing a file), and also returns the
    /// archive's size and SHA-256 (what a ledger records for the package). The archive is
    /// hashed as it is written, each byte once it can no longer change (see the `window`
    /// module): no reading at all. Where an entry was too large for its header's patch to
    /// land in memory, the finished file is hashed instead, from the page cache on another
    /// thread *while* it is synced to disk, through a second handle on the open temporary
    /// file (never its path, which others may be able to replace in the destination
    /// directory). Either way the digest is of the bytes renamed into place.
    pub fn finish_with_digest(self) -> Result<(Vec<WrittenEntry>, ArchiveDigest), ZipWriteError> {
        self.complete(false, |file, streamed| {
            if let Some(digest) = streamed {
                file.sync_all()?;
                return Ok(digest);
            }
            let reader = file.try_clone()?;
            std::thread::scope(|scope| {
                let hashing = scope.spawn(move || hash_archive(reader));
                let synced = file.sync_all();
                let hashed = hashing
                    .join()
                    .unwrap_or_else(|payload| std::panic::resume_unwind(payload));
                synced.and(hashed)
            })
        })
    }

    /// Writes the central directory and flushes; returns the temporary file and the
    /// archive's digest if it was hashed as it was written.
    fn close(&mut self) -> Result<(NamedTempFile, Option<ArchiveDigest>), ZipWriteError> {
        let dest = self.dest.clone();
        let fail = |source: io::Error| ZipWriteError::Finish {
            path: dest.clone(),
            source,
        };
        let zip = self.zip.take().ok_or_else(|| finished(&dest))?;
        let window = zip.finish().map_err(|e| match e {
            zip::result::ZipError::Io(e) => fail(e),
            other => fail(io::Error::other(other)),
        })?;
        let (sink, streamed) = window.finish().map_err(fail)?;
        let temp = sink.into_temp().map_err(fail)?;
        Ok((temp, streamed))
    }

    /// Closes the archive, runs `sync` on the temporary file with the digest hashed as it
    /// was written, if any (`sync` must make the file durable), and renames it into place,
    /// replacing a file there only if `replace`.
    fn complete<T>(
        mut self,
        replace: bool,
        sync: impl FnOnce(&File, Option<ArchiveDigest>) -> io::Result<T>,
    ) -> Result<(Vec<WrittenEntry>, T), ZipWriteError> {
        let (temp, streamed) = self.close()?;
        let dest = self.dest.clone();
        let fail = |source: io::Error| ZipWriteError::Finish {
            path: dest.clone(),
            source,
        };
        let synced = sync(temp.as_file(), streamed).map_err(fail)?;
        if replace {
            temp.persist(&dest).map_err(|e| fail(e.error))?;
        } else {
            temp.persist_noclobber(&dest).map_err(|e| {
                if e.error.kind() == io::ErrorKind::AlreadyExists {
                    ZipWriteError::Exists { path: dest.clone() }
                } else {
                    fail(e.error)
                }
            })?;
        }
        sync_parent(&dest).map_err(fail)?;
        Ok((std::mem::take(&mut self.written), synced))
    }
}

/// Hashes the whole archive from its start through a handle of its own.
fn hash_archive(mut file: File) -> io::Result<ArchiveDigest> {
    file.seek(SeekFrom::Start(0))?;
    let digests = custody_core::hash::hash_reader(file, &mut |_| {})?;
    Ok(ArchiveDigest {
        size: digests.size,
        sha256: digests.sha256,
    })
}

impl Drop for PackageWriter {
    fn drop(&mut self) {
        // Unfinished: let the temporary file go before the ZIP library, dropped next,
        // finalises the archive into it (and prints to stderr when that fails).
        self.abandon.store(true, Ordering::Relaxed);
    }
}

/// `tempfile` adds the temporary file's name to its errors, a name the user never gave and
/// that no longer exists: keep only what went wrong.
pub(crate) fn without_temp_name(err: io::Error) -> io::Error {
    match (err.raw_os_error(), err.get_ref()) {
        (None, Some(_)) => io::Error::from(err.kind()),
        _ => err,
    }
}

fn finished(dest: &Path) -> ZipWriteError {
    ZipWriteError::Finish {
        path: dest.to_path_buf(),
        source: io::Error::other("the package was already finished"),
    }
}

/// What the ZIP library writes to: the temporary file, until a write to it fails or the
/// package is abandoned. From then on the file is closed and removed (its buffer dropped
/// unwritten) and every write, flush and seek succeeds without touching anything, keeping
/// only the positions consistent, so that nothing the library does while being dropped
/// can fail, print or write to disk.
struct TempSink {
    /// Removed when dropped.
    temp: Option<NamedTempFile>,
    file: Option<BufWriter<File>>,
    /// A write, flush or seek on the file failed.
    failed: bool,
    abandon: Arc<AtomicBool>,
    /// The stream position, as the file would have it.
    position: u64,
    /// The stream length, as the file would have it.
    end: u64,
}

impl TempSink {
    /// The file, unless it was let go (now or before).
    fn live(&mut self) -> Option<&mut BufWriter<File>> {
        if self.failed || self.abandon.load(Ordering::Relaxed) {
            if let Some(file) = self.file.take() {
                // Not flushed: the buffered bytes go nowhere, and the temporary file is
                // removed as it drops.
                let (handle, _unwritten) = file.into_parts();
                drop(handle);
                self.temp = None;
            }
        }
        self.file.as_mut()
    }

    fn note<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        if result.is_err() {
            self.failed = true;
            let _ = self.live();
        }
        result
    }

    /// The temporary file, flushed; an error if it was let go.
    fn into_temp(mut self) -> io::Result<NamedTempFile> {
        if self.live().is_none() {
            return Err(io::Error::other("an earlier write to the package failed"));
        }
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("no file"))?;
        file.into_inner().map_err(|e| e.into_error())?;
        self.temp
            .take()
            .ok_or_else(|| io::Error::other("no temporary file"))
    }
}

impl Write for TempSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = match self.live() {
            Some(file) => {
                let result = file.write(buf);
                self.note(result)?
            }
            None => buf.len(),
        };
        self.position = self.position.saturating_add(written as u64);
        self.end = self.end.max(self.position);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.live() {
            Some(file) => {
                let result = file.flush();
                self.note(result)
            }
            None => Ok(()),
        }
    }
}

impl Seek for TempSink {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let position = match self.live() {
            Some(file) => {
                let result = file.seek(pos);
                self.note(result)?
            }
            None => {
                let (base, offset) = match pos {
                    SeekFrom::Start(n) => (n, 0),
                    SeekFrom::Current(d) => (self.position, d),
                    SeekFrom::End(d) => (self.end, d),
                };
                base.checked_add_signed(offset)
                    .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?
            }
        };
        self.position = position;
        self.end = self.end.max(position);
        Ok(position)
    }
}

impl PackageWriter {
    /// Writes the central directory and flushes, but places nothing at the destination:
    /// the temporary file's name is removed and its open handle, rewound, is returned with
    /// the entries written (for a package that leaves the machine only encrypted).
    pub fn finish_unnamed(mut self) -> Result<(File, Vec<WrittenEntry>), ZipWriteError> {
        let (temp, _) = self.close()?;
        let mut file = temp.into_file();
        io::Seek::rewind(&mut file).map_err(|source| ZipWriteError::Finish {
            path: self.dest.clone(),
            source,
        })?;
        Ok((file, std::mem::take(&mut self.written)))
    }
}

fn check_name(name: &str) -> Result<(), ZipWriteError> {
    let probe = ZipEntry::written_file(0, name);
    if name.is_empty() || name.ends_with('/') || !name_findings(&probe).is_empty() {
        return Err(ZipWriteError::BadName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Makes the rename durable where the platform allows syncing a directory.
fn sync_parent(dest: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = dest;
    Ok(())
}
