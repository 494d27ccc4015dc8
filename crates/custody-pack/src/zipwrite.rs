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
//! disk, and renamed over the destination only by [`PackageWriter::finish`]; dropping the
//! writer or any error leaves no output behind.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

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
    #[error("cannot create a temporary file in {dir}: {source}")]
    CreateTemp {
        /// The destination directory.
        dir: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The timestamp cannot be expressed in a ZIP.
    #[error("timestamp {0:?} cannot be stored in a ZIP archive")]
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
    /// Finishing the archive (central directory, flush, fsync, rename) failed.
    #[error("cannot finish {path}: {source}")]
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
    zip: ZipWriter<Window<NamedTempFile>>,
    hash_switch: HashSwitch,
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
        // Named for this process, so that the next run removes what a killed one left.
        crate::leftovers::sweep(&dir, crate::leftovers::Kind::Pack);
        let temp = tempfile::Builder::new()
            .prefix(&crate::leftovers::prefix(crate::leftovers::Kind::Pack))
            .suffix(".partial")
            .tempfile_in(&dir)
            .map_err(|source| ZipWriteError::CreateTemp { dir, source })?;
        let (method, level) = match settings.compression {
            Compression::Stored => (CompressionMethod::Stored, None),
            Compression::Deflate => (CompressionMethod::Deflated, Some(DEFLATE_LEVEL)),
        };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .compression_level(level)
            .last_modified_time(time)
            .unix_permissions(FILE_MODE);
        let (window, hash_switch) = Window::new(temp);
        Ok(PackageWriter {
            zip: ZipWriter::new(window),
            hash_switch,
            dest: dest.to_path_buf(),
            options,
            names: Default::default(),
            written: Vec::new(),
        })
    }

    /// Streams `reader` into a new entry `name`, hashing as it goes. `size_hint` is the
    /// expected length; `None` or a large one makes the entry ZIP64. A hint smaller than
    /// 4 GiB for a source that turns out larger fails the entry (and the package).
    pub fn add_entry<R: Read>(
        &mut self,
        name: &str,
        reader: R,
        size_hint: Option<u64>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Digests, ZipWriteError> {
        self.start(name, size_hint)?;
        let copied = copy_and_hash(reader, &mut self.zip, progress);
        self.written_as(name, copied)
    }

    /// Records the entry just written, or names it in the error.
    fn written_as(
        &mut self,
        name: &str,
        outcome: io::Result<Digests>,
    ) -> Result<Digests, ZipWriteError> {
        let digests = outcome.map_err(|source| ZipWriteError::Entry {
            name: name.to_owned(),
            source,
        })?;
        self.written.push(WrittenEntry {
            name: name.to_owned(),
            digests,
        });
        Ok(digests)
    }

    /// Checks `name` and starts its entry.
    fn start(&mut self, name: &str, size_hint: Option<u64>) -> Result<(), ZipWriteError> {
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
        let zip_err = |source| ZipWriteError::Zip {
            name: name.to_owned(),
            source,
        };
        self.zip
            .start_file(name, self.options.large_file(large))
            .map_err(zip_err)?;
        Ok(())
    }

    /// Writes bytes already read and hashed ([`custody_core::hash::read_and_hash`]) as a new
    /// entry `name`; the digests recorded are the ones computed over exactly these bytes.
    pub fn add_hashed(&mut self, name: &str, hashed: &Hashed) -> Result<Digests, ZipWriteError> {
        self.start(name, Some(hashed.digests().size))?;
        // Flushed as add_entry's copy is, so that a deflated entry gets the same bytes
        // whichever way it was added (a flush ends the deflate block).
        let written = self
            .zip
            .write_all(hashed.bytes())
            .and_then(|()| self.zip.flush())
            .map(|()| hashed.digests());
        self.written_as(name, written)
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
        self.finish_inner(|file, _| file.sync_all())
            .map(|(written, ())| written)
    }

    /// As [`finish`](Self::finish), and also returns the archive's size and SHA-256 (what a
    /// ledger records for the package). The archive is hashed as it is written, each byte
    /// once it can no longer change (see the `window` module): no reading at all. Where an
    /// entry was too large for its header's patch to land in memory, the finished file is
    /// hashed instead, from the page cache on another thread *while* it is synced to disk,
    /// through a second handle on the open temporary file (never its path, which others
    /// may be able to replace in the destination directory). Either way the digest is of
    /// the bytes renamed into place.
    pub fn finish_with_digest(self) -> Result<(Vec<WrittenEntry>, ArchiveDigest), ZipWriteError> {
        self.finish_inner(|file, streamed| {
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

    /// Finishes the archive, runs `sync` on the temporary file with the digest hashed as
    /// it was written, if any (`sync` must make the file durable), and renames it into
    /// place.
    fn finish_inner<T>(
        self,
        sync: impl FnOnce(&File, Option<ArchiveDigest>) -> io::Result<T>,
    ) -> Result<(Vec<WrittenEntry>, T), ZipWriteError> {
        let dest = self.dest;
        let fail = |source: io::Error| ZipWriteError::Finish {
            path: dest.clone(),
            source,
        };
        let window = self.zip.finish().map_err(|e| fail(io::Error::other(e)))?;
        let (temp, streamed) = window.finish().map_err(fail)?;
        let synced = sync(temp.as_file(), streamed).map_err(fail)?;
        temp.persist(&dest).map_err(|e| fail(e.error))?;
        sync_parent(&dest).map_err(fail)?;
        Ok((self.written, synced))
    }
}

/// Hashes the whole archive from its start through a handle of its own.
fn hash_archive(mut file: File) -> io::Result<ArchiveDigest> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(0))?;
    let digests = custody_core::hash::hash_reader(file, &mut |_| {})?;
    Ok(ArchiveDigest {
        size: digests.size,
        sha256: digests.sha256,
    })
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
