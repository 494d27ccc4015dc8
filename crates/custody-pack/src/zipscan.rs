//! Structural inspection of ZIP archives, and a safe reader for their entries.
//!
//! [`ZipScanner::scan`] parses the raw records of an archive itself — end of central
//! directory (with comment search), ZIP64 locator and record, every central directory
//! header, every local header and data descriptor — and reports *every* problem it sees as
//! a [`ZipFinding`], rather than stopping at the first. Parsing is independent of any ZIP
//! library on purpose: a library that repairs or skips odd structures would hide exactly
//! the lies an attacker tells (a local header that disagrees with the central directory,
//! entries sharing bytes, data hidden before or after the archive).
//!
//! The rule is *one archive, one reading*: a clean scan means every common ZIP reader
//! (Info-ZIP `unzip`, Python `zipfile`, Java's streaming `ZipInputStream`, libarchive, the
//! `zip` crate) extracts the same files with the same bytes. So the scan accepts only a
//! narrow subset of ZIP — what [`crate::zipwrite`] produces, plus variations every reader
//! reads alike — and everything else is a finding: every byte belongs to exactly one
//! record, in central-directory order, with nothing before, between or after; local and
//! central headers agree on every field; each deflate stream takes exactly its declared
//! compressed bytes; directory entries hold nothing; flags, extra fields, attributes and
//! comments the writer never produces are refused; names are NFC and, compared component by
//! component after case folding, spelt one way ([`EntryNames`]). `docs/package.md` §1.3.1
//! lists every rule. [`cross_check`] compares this reading with the `zip` crate's.
//!
//! [`ZipScanner::open_entry`] then streams one entry's bytes from the offsets the scan
//! found, decompressing DEFLATE where needed, and refuses to yield more bytes than the
//! central directory declares; a wrong size or CRC-32 surfaces as an
//! [`EntryIntegrityError`] when the stream ends.
//!
//! Nothing here allocates according to a size read from the archive without bounding it
//! by the archive's real length or a fixed cap, and no input makes it panic.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};

use unicode_normalization::UnicodeNormalization;

pub mod cross_check;
mod foreign;

pub use foreign::{ZipProfile, MAX_OWNER_ID_BYTES};

const SIG_LOCAL: u32 = 0x0403_4b50;
const SIG_CENTRAL: u32 = 0x0201_4b50;
const SIG_EOCD: u32 = 0x0605_4b50;
const SIG_ZIP64_EOCD: u32 = 0x0606_4b50;
const SIG_ZIP64_LOCATOR: u32 = 0x0706_4b50;
const SIG_DESCRIPTOR: u32 = 0x0807_4b50;

const EOCD_LEN: u64 = 22;
const ZIP64_LOCATOR_LEN: u64 = 20;
const ZIP64_EOCD_MIN_LEN: u64 = 56;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;
const MAX_COMMENT: u64 = 0xFFFF;
const EXTRA_ZIP64: u16 = 0x0001;

/// General-purpose flag bit 0: the entry is encrypted.
const FLAG_ENCRYPTED: u16 = 1 << 0;
/// Flag bit 3: sizes and CRC follow the data in a data descriptor.
const FLAG_DESCRIPTOR: u16 = 1 << 3;
/// Flag bit 6: strong encryption.
const FLAG_STRONG_ENCRYPTION: u16 = 1 << 6;

/// The longest path component (bytes between `/`) an entry name may have: `NAME_MAX` on
/// Linux and the macOS and Windows limits in UTF-8 bytes or fewer, so every reader can
/// create every file.
pub const MAX_COMPONENT_LEN: usize = 255;

/// Compression method 0: stored.
pub const METHOD_STORED: u16 = 0;
/// Compression method 8: DEFLATE (RFC 1951).
pub const METHOD_DEFLATE: u16 = 8;

const S_IFMT: u32 = 0o170_000;
const S_IFLNK: u32 = 0o120_000;

/// Bounds a scan enforces. The defaults suit evidence packages: large payloads are
/// normal, but they are stored, so a high compression ratio is suspicious.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanLimits {
    /// Largest allowed ratio of uncompressed to compressed size…
    pub max_ratio: u64,
    /// …for entries whose uncompressed size exceeds this many bytes.
    pub ratio_min_size: u64,
    /// Largest allowed sum of declared uncompressed sizes.
    pub max_total_uncompressed: u64,
    /// Most entries an archive may have.
    pub max_entries: u64,
    /// Largest central directory read into memory.
    pub max_central_directory: u64,
}

impl Default for ScanLimits {
    fn default() -> Self {
        ScanLimits {
            max_ratio: 100,
            ratio_min_size: 1 << 20,
            max_total_uncompressed: 1 << 42, // 4 TiB
            max_entries: 1_000_000,
            max_central_directory: 256 << 20,
        }
    }
}

/// One entry as the central directory describes it, plus where its data starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZipEntry {
    /// Position in the central directory, from 0.
    pub index: usize,
    /// The name as text (invalid UTF-8 replaced by U+FFFD).
    pub name: String,
    /// The name's raw bytes.
    pub raw_name: Vec<u8>,
    /// General-purpose bit flags.
    pub flags: u16,
    /// Compression method (0 stored, 8 deflate, others unsupported).
    pub method: u16,
    /// CRC-32 of the uncompressed bytes.
    pub crc32: u32,
    /// Size of the stored (possibly compressed) bytes.
    pub compressed_size: u64,
    /// Size after decompression.
    pub uncompressed_size: u64,
    /// Offset of the local file header.
    pub local_header_offset: u64,
    /// Offset of the first data byte, if the local header could be read.
    pub data_offset: Option<u64>,
    /// "Version made by" (the high byte is the host system; 3 is Unix).
    pub version_made_by: u16,
    /// External file attributes (on Unix hosts, the mode in the high 16 bits).
    pub external_attributes: u32,
}

impl ZipEntry {
    /// Whether the entry names a directory (its name ends in `/`).
    pub fn is_dir(&self) -> bool {
        self.name.ends_with('/')
    }

    /// Whether the entry's attributes mark it as a symbolic link.
    pub fn is_symlink(&self) -> bool {
        (self.external_attributes >> 16) & S_IFMT == S_IFLNK
    }

    /// The entry the package writer makes for a file named `name`: a regular Unix file,
    /// mode 0644, UTF-8 flag when the name is not ASCII (sizes and offsets left at zero).
    pub fn written_file(index: usize, name: &str) -> ZipEntry {
        ZipEntry {
            index,
            name: name.to_owned(),
            raw_name: name.as_bytes().to_vec(),
            flags: if name.is_ascii() { 0 } else { FLAG_UTF8 },
            method: METHOD_STORED,
            crc32: 0,
            compressed_size: 0,
            uncompressed_size: 0,
            local_header_offset: 0,
            data_offset: None,
            version_made_by: (HOST_UNIX << 8) | 20,
            external_attributes: (S_IFREG | 0o644) << 16,
        }
    }

    /// Whether the entry is encrypted (traditional or strong encryption).
    pub fn is_encrypted(&self) -> bool {
        self.flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION) != 0
    }
}

/// A header field compared between the central directory, the local header and the data
/// descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HeaderField {
    /// General-purpose bit flags.
    Flags,
    /// Compression method.
    Method,
    /// CRC-32.
    Crc32,
    /// Compressed size.
    CompressedSize,
    /// Uncompressed size.
    UncompressedSize,
    /// "Version needed to extract".
    VersionNeeded,
    /// Last-modified time and date (MS-DOS format, date in the high 16 bits).
    ModifiedTime,
}

impl fmt::Display for HeaderField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HeaderField::Flags => "flags",
            HeaderField::Method => "compression method",
            HeaderField::Crc32 => "CRC-32",
            HeaderField::CompressedSize => "compressed size",
            HeaderField::UncompressedSize => "uncompressed size",
            HeaderField::VersionNeeded => "version needed to extract",
            HeaderField::ModifiedTime => "modification time",
        })
    }
}

/// Something wrong with a ZIP archive's structure. Entry-level findings name the entry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ZipFinding {
    /// No end-of-central-directory record was found; nothing else could be checked.
    #[error("no end of central directory record (not a ZIP archive, or truncated)")]
    NoEndOfCentralDirectory,
    /// The archive claims to span several disks.
    #[error("archive spans several disks (disk {disk}), which is not supported")]
    MultiDisk {
        /// The disk number found.
        disk: u32,
    },
    /// The archive comment runs past the end of the file.
    #[error("archive comment runs past the end of the file")]
    CommentTruncated,
    /// ZIP64 structures are missing or disagree with the classic end record.
    #[error("ZIP64 structures inconsistent: {detail}")]
    Zip64Inconsistent {
        /// What disagrees.
        detail: Zip64Problem,
    },
    /// The central directory lies outside the file or overlaps the end records.
    #[error("central directory (offset {offset}, {size} bytes) lies outside the archive")]
    CentralDirectoryOutOfBounds {
        /// Declared offset.
        offset: u64,
        /// Declared size.
        size: u64,
    },
    /// A central directory header is malformed or truncated; the rest was not read.
    #[error("central directory header {index} at offset {offset} is malformed")]
    CentralDirectoryMalformed {
        /// Index of the bad header.
        index: usize,
        /// Its offset in the file.
        offset: u64,
    },
    /// The number of entries found differs from the number the end record declares.
    #[error("end record declares {declared} entries, central directory holds {found}")]
    EntryCountMismatch {
        /// Declared count.
        declared: u64,
        /// Count found.
        found: u64,
    },
    /// The central directory's size differs from the size the end record declares.
    #[error("end record declares a {declared}-byte central directory, headers take {found}")]
    CentralDirectorySizeMismatch {
        /// Declared size.
        declared: u64,
        /// Bytes the headers occupy.
        found: u64,
    },
    /// More entries than [`ScanLimits::max_entries`].
    #[error("{declared} entries exceed the limit of {limit}")]
    TooManyEntries {
        /// Declared count.
        declared: u64,
        /// The limit.
        limit: u64,
    },
    /// Bytes before the first local header (e.g. a prepended executable or another file).
    #[error("{len} bytes of data before the first entry")]
    PrependedData {
        /// Number of bytes.
        len: u64,
    },
    /// Bytes after the end of the archive.
    #[error("{len} bytes of data after the end of the archive")]
    TrailingData {
        /// Number of bytes.
        len: u64,
    },
    /// Bytes between entries or records that belong to nothing.
    #[error("{len} unaccounted bytes at offset {offset}")]
    UnaccountedData {
        /// Where they start.
        offset: u64,
        /// Number of bytes.
        len: u64,
    },
    /// An entry name contains a `..` component.
    #[error("{name}: entry name escapes the archive root")]
    PathEscapes {
        /// The entry.
        name: String,
    },
    /// An entry name is absolute (`/x`, `C:\x`, `\\server\x`).
    #[error("{name}: entry name is an absolute path")]
    AbsolutePath {
        /// The entry.
        name: String,
    },
    /// An entry name contains a backslash.
    #[error("{name}: entry name contains a backslash")]
    Backslash {
        /// The entry.
        name: String,
    },
    /// An entry name contains NUL or another control character.
    #[error("{name}: entry name contains a control character")]
    ControlCharacter {
        /// The entry (control characters shown escaped).
        name: String,
    },
    /// An entry name is empty or has empty or `.` components.
    #[error("{name}: entry name has an empty or '.' component")]
    OddPathComponent {
        /// The entry.
        name: String,
    },
    /// An entry name is not valid UTF-8.
    #[error("{name}: entry name is not valid UTF-8")]
    NameNotUtf8 {
        /// The entry (lossy).
        name: String,
    },
    /// An entry is a symbolic link.
    #[error("{name}: entry is a symbolic link")]
    Symlink {
        /// The entry.
        name: String,
    },
    /// Two entries have the same name.
    #[error("{name}: duplicate entry name (entries {first} and {second})")]
    DuplicateName {
        /// The name.
        name: String,
        /// Index of the first entry.
        first: usize,
        /// Index of the later entry.
        second: usize,
    },
    /// Two names differ only in letter case.
    #[error("{name}: collides with {other} when letter case is ignored")]
    CaseCollision {
        /// The later entry.
        name: String,
        /// The earlier entry.
        other: String,
    },
    /// Two names differ only in Unicode normalisation.
    #[error("{name}: collides with {other} after Unicode NFC normalisation")]
    NormalizationCollision {
        /// The later entry.
        name: String,
        /// The earlier entry.
        other: String,
    },
    /// An entry is encrypted.
    #[error("{name}: entry is encrypted")]
    Encrypted {
        /// The entry.
        name: String,
    },
    /// An entry uses a compression method other than stored or deflate.
    #[error("{name}: unsupported compression method {method}")]
    UnsupportedCompression {
        /// The entry.
        name: String,
        /// The method number.
        method: u16,
    },
    /// The local header could not be read at the offset the central directory gives.
    #[error("{name}: no valid local header at offset {offset}")]
    LocalHeaderMissing {
        /// The entry.
        name: String,
        /// The offset.
        offset: u64,
    },
    /// The local header names a different file.
    #[error("{name}: local header names it {local_name:?}")]
    LocalNameMismatch {
        /// The entry's central directory name.
        name: String,
        /// The name in the local header.
        local_name: String,
    },
    /// The local header disagrees with the central directory.
    #[error("{name}: local header {field} is {local}, central directory says {central}")]
    LocalHeaderMismatch {
        /// The entry.
        name: String,
        /// The field.
        field: HeaderField,
        /// Central directory value.
        central: u64,
        /// Local header value.
        local: u64,
    },
    /// A data descriptor without its signature (0x08074b50), which the profile admitting
    /// descriptors requires: without it, readers disagree on where the descriptor ends.
    #[error("{name}: data descriptor has no signature (local header at offset {offset})")]
    DescriptorUnsigned {
        /// The entry.
        name: String,
        /// Offset of its local header.
        offset: u64,
    },
    /// An entry that defers its CRC-32 and sizes to a data descriptor has none: its data
    /// ends where the central directory begins.
    #[error("{name}: data descriptor missing (local header at offset {offset})")]
    DescriptorMissing {
        /// The entry.
        name: String,
        /// Offset of its local header.
        offset: u64,
    },
    /// The data descriptor disagrees with the central directory, or is missing.
    #[error("{name}: data descriptor {field} is {descriptor}, central directory says {central}")]
    DescriptorMismatch {
        /// The entry.
        name: String,
        /// The field.
        field: HeaderField,
        /// Central directory value.
        central: u64,
        /// Data descriptor value.
        descriptor: u64,
    },
    /// An entry's data runs past the start of the central directory or the file.
    #[error("{name}: entry data runs past the central directory")]
    EntryOverlapsCentralDirectory {
        /// The entry.
        name: String,
    },
    /// Two entries share bytes.
    #[error("{name}: entry overlaps entry {other}")]
    OverlappingEntries {
        /// The later entry.
        name: String,
        /// The entry it overlaps.
        other: String,
    },
    /// An entry's ZIP64 extra field is missing or too short for the values it must hold.
    #[error("{name}: ZIP64 extra field missing or too short")]
    Zip64ExtraMissing {
        /// The entry.
        name: String,
    },
    /// An entry's compression ratio is above [`ScanLimits::max_ratio`].
    #[error("{name}: compression ratio {uncompressed}:{compressed} exceeds {limit}:1")]
    CompressionRatio {
        /// The entry.
        name: String,
        /// Compressed size.
        compressed: u64,
        /// Uncompressed size.
        uncompressed: u64,
        /// The limit.
        limit: u64,
    },
    /// The end record carries an archive comment. Custody writes none, and a comment is
    /// where a second, fake end record hides from one reader and not from another.
    #[error("archive comment of {len} bytes (Custody accepts none)")]
    ArchiveComment {
        /// Length of the comment.
        len: u64,
    },
    /// An entry sets general-purpose flag bits outside the accepted set (bit 11, UTF-8
    /// names; bits 1 and 2, deflate level hints): e.g. bit 3 (data descriptor), bit 13
    /// (masked local header), bits 0 and 6 (encryption).
    #[error(
        "{name}: unsupported general-purpose flags {flags:#06x} (local header at offset {offset})"
    )]
    UnsupportedFlags {
        /// The entry.
        name: String,
        /// Its local header offset.
        offset: u64,
        /// The bits outside the accepted set.
        flags: u16,
    },
    /// A path component longer than [`MAX_COMPONENT_LEN`] bytes, which no common file
    /// system stores: every reader fails to extract it while Custody reads it.
    #[error("{name}: a path component of {len} bytes exceeds {MAX_COMPONENT_LEN}")]
    ComponentTooLong {
        /// The entry.
        name: String,
        /// Length of the longest component, in bytes.
        len: usize,
    },
    /// A name that is not in Unicode Normalization Form C: libarchive (`bsdtar`) extracts
    /// it under its NFC form, other readers under its own bytes.
    #[error("{name}: entry name is not in Unicode NFC")]
    NameNotNfc {
        /// The entry (as stored).
        name: String,
    },
    /// A name with bytes outside ASCII lacks flag bit 11, so readers decode it as CP437
    /// (Python `zipfile`) or as raw bytes (Info-ZIP) and extract it under different names.
    #[error(
        "{name}: non-ASCII name without the UTF-8 flag (bit 11) (local header at offset {offset})"
    )]
    NameEncodingUnflagged {
        /// The entry.
        name: String,
        /// Offset of its local header.
        offset: u64,
    },
    /// An entry's header needs a newer "version needed to extract" than ZIP64 (4.5).
    #[error("{name}: needs ZIP version {needed}, above the accepted 45 (local header at offset {offset})")]
    UnsupportedVersion {
        /// The entry.
        name: String,
        /// Offset of its local header.
        offset: u64,
        /// The version needed, as stored (major × 10 + minor).
        needed: u16,
    },
    /// An extra field other than ZIP64 (0x0001), which another reader might interpret:
    /// e.g. Info-ZIP Unicode Path (0x7075) renames the entry for `unzip` only.
    #[error("{name}: unexpected extra field {id:#06x} in the {header} header (local header at offset {offset})")]
    UnexpectedExtraField {
        /// The entry.
        name: String,
        /// Offset of its local header.
        offset: u64,
        /// The extra field's header ID.
        id: u16,
        /// Which header holds it.
        header: HeaderKind,
    },
    /// An extra field area that does not consist of whole `(id, length, data)` records, or
    /// holds the same ID twice.
    #[error("{name}: malformed extra field area in the {header} header (local header at offset {offset})")]
    ExtraFieldMalformed {
        /// The entry.
        name: String,
        /// Offset of its local header.
        offset: u64,
        /// Which header holds it.
        header: HeaderKind,
    },
    /// A ZIP64 extra field holds values that no header field defers to it (header field not
    /// 0xFFFFFFFF), or the local one lacks either size: readers disagree on which to use.
    #[error("{name}: ZIP64 extra field in the {header} header disagrees with the header (local header at offset {offset})")]
    Zip64ExtraUnexpected {
        /// The entry.
        name: String,
        /// Offset of its local header.
        offset: u64,
        /// Which header holds it.
        header: HeaderKind,
    },
    /// An entry has a file comment, which Custody never writes.
    #[error("{name}: entry has a file comment (local header at offset {offset})")]
    EntryComment {
        /// The entry.
        name: String,
        /// Offset of its local header.
        offset: u64,
    },
    /// The host system, file type or permission bits in "version made by" and the external
    /// attributes are outside what Custody accepts: host MS-DOS (0) or Unix (3); a regular
    /// file or directory matching the name (a trailing `/`) that its owner can read (and, for
    /// a directory, write and enter); no set-user-ID, set-group-ID or sticky bit; internal
    /// attributes with no bit but bit 0 (text).
    #[error("{name}: unsupported file attributes (made by {version_made_by:#06x}, external {external_attributes:#010x}; local header at offset {offset})")]
    UnsupportedAttributes {
        /// The entry.
        name: String,
        /// Offset of its local header.
        offset: u64,
        /// "Version made by".
        version_made_by: u16,
        /// External file attributes.
        external_attributes: u32,
    },
    /// A directory entry (name ending in `/`) carries data, a CRC or a compression method:
    /// streaming readers extract such bytes as a file Custody never sees.
    #[error("{name}: directory entry holds data ({compressed} compressed bytes, method {method}; local header at offset {offset})")]
    DirectoryWithData {
        /// The entry.
        name: String,
        /// Offset of its local header.
        offset: u64,
        /// Its compressed size.
        compressed: u64,
        /// Its compression method.
        method: u16,
    },
    /// A stored entry whose compressed and uncompressed sizes differ.
    #[error("{name}: stored entry declares {compressed} compressed and {uncompressed} uncompressed bytes (local header at offset {offset})")]
    StoredSizeMismatch {
        /// The entry.
        name: String,
        /// Offset of its local header.
        offset: u64,
        /// Compressed size.
        compressed: u64,
        /// Uncompressed size.
        uncompressed: u64,
    },
    /// A deflate stream does not occupy exactly the entry's declared compressed bytes, or
    /// does not decompress to the declared size and CRC-32.
    #[error("{name}: deflate data at offset {offset}: {problem}")]
    DeflateStream {
        /// The entry.
        name: String,
        /// Offset of the entry's first data byte.
        offset: u64,
        /// What is wrong.
        problem: DeflateProblem,
    },
    /// Local headers are not in central-directory order (each entry must follow the one
    /// before it in the central directory).
    #[error("{name}: local header at offset {offset} is out of central-directory order")]
    EntryOutOfOrder {
        /// The entry.
        name: String,
        /// Its local header offset.
        offset: u64,
    },
    /// A name uses as a directory what another entry holds as a file, or the reverse
    /// (`a` and `a/b`): readers extract one and fail or overwrite on the other.
    #[error("{name}: conflicts with {other} (a file where a directory is needed)")]
    PathConflict {
        /// The later entry.
        name: String,
        /// The earlier entry.
        other: String,
    },
    /// The declared uncompressed sizes add up to more than the limit.
    #[error("declared uncompressed total {total} bytes exceeds the limit of {limit}")]
    TotalSizeExceeded {
        /// The total (saturating).
        total: u64,
        /// The limit.
        limit: u64,
    },
}

impl ZipFinding {
    /// The entry the finding is about, if it is about one.
    pub fn entry_name(&self) -> Option<&str> {
        use ZipFinding::*;
        match self {
            PathEscapes { name }
            | AbsolutePath { name }
            | Backslash { name }
            | ControlCharacter { name }
            | OddPathComponent { name }
            | NameNotUtf8 { name }
            | Symlink { name }
            | DuplicateName { name, .. }
            | CaseCollision { name, .. }
            | NormalizationCollision { name, .. }
            | Encrypted { name }
            | UnsupportedCompression { name, .. }
            | LocalHeaderMissing { name, .. }
            | LocalNameMismatch { name, .. }
            | LocalHeaderMismatch { name, .. }
            | DescriptorMismatch { name, .. }
            | DescriptorUnsigned { name, .. }
            | DescriptorMissing { name, .. }
            | EntryOverlapsCentralDirectory { name }
            | OverlappingEntries { name, .. }
            | Zip64ExtraMissing { name }
            | CompressionRatio { name, .. }
            | UnsupportedFlags { name, .. }
            | NameEncodingUnflagged { name, .. }
            | NameNotNfc { name }
            | ComponentTooLong { name, .. }
            | UnsupportedVersion { name, .. }
            | UnexpectedExtraField { name, .. }
            | ExtraFieldMalformed { name, .. }
            | Zip64ExtraUnexpected { name, .. }
            | EntryComment { name, .. }
            | UnsupportedAttributes { name, .. }
            | DirectoryWithData { name, .. }
            | StoredSizeMismatch { name, .. }
            | DeflateStream { name, .. }
            | EntryOutOfOrder { name, .. }
            | PathConflict { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// Which of an entry's two headers a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HeaderKind {
    /// The local file header.
    Local,
    /// The central directory header.
    Central,
}

impl fmt::Display for HeaderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HeaderKind::Local => "local",
            HeaderKind::Central => "central directory",
        })
    }
}

/// How a deflate stream disagrees with its entry's declared sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeflateProblem {
    /// The stream ends after `stream_len` of the declared `compressed` bytes: the bytes
    /// after it are exactly where a streaming reader can find hidden data.
    EndsBeforeCompressedSize {
        /// Bytes the deflate stream takes.
        stream_len: u64,
        /// Declared compressed size.
        compressed: u64,
    },
    /// The declared compressed bytes end before the deflate stream does.
    RunsPastCompressedSize {
        /// Declared compressed size.
        compressed: u64,
    },
    /// The stream is not valid DEFLATE.
    Corrupt,
    /// The stream decompresses to a size other than the declared one (at least `found`
    /// bytes when it yields more).
    UncompressedSize {
        /// Declared uncompressed size.
        declared: u64,
        /// Bytes produced.
        found: u64,
    },
    /// The decompressed bytes have a different CRC-32.
    Crc32 {
        /// Declared CRC-32.
        declared: u32,
        /// CRC-32 of the bytes.
        found: u32,
    },
}

impl fmt::Display for DeflateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeflateProblem::EndsBeforeCompressedSize {
                stream_len,
                compressed,
            } => write!(
                f,
                "stream ends after {stream_len} of {compressed} compressed bytes"
            ),
            DeflateProblem::RunsPastCompressedSize { compressed } => {
                write!(f, "stream runs past its {compressed} compressed bytes")
            }
            DeflateProblem::Corrupt => f.write_str("not a valid deflate stream"),
            DeflateProblem::UncompressedSize { declared, found } => {
                write!(f, "decompresses to {found} bytes, {declared} declared")
            }
            DeflateProblem::Crc32 { declared, found } => {
                write!(f, "CRC-32 is {found:08x}, {declared:08x} declared")
            }
        }
    }
}

/// What is wrong with an archive's ZIP64 end structures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Zip64Problem {
    /// The classic end record holds ZIP64 sentinel values but there is no locator.
    LocatorMissing,
    /// The locator points to something that is not a ZIP64 end record.
    RecordMissing,
    /// The ZIP64 record's entry count disagrees with the classic end record.
    EntryCount,
    /// The ZIP64 record's central directory size disagrees with the classic end record.
    CentralDirectorySize,
    /// The ZIP64 record's central directory offset disagrees with the classic end record.
    CentralDirectoryOffset,
    /// The ZIP64 record is not exactly 56 bytes (it carries extensible data).
    RecordLength,
    /// The ZIP64 locator does not say "one disk, record on disk 0".
    LocatorDisks,
}

impl fmt::Display for Zip64Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Zip64Problem::LocatorMissing => "end record needs ZIP64 but there is no locator",
            Zip64Problem::RecordMissing => "locator does not point to a ZIP64 end record",
            Zip64Problem::EntryCount => "entry counts disagree",
            Zip64Problem::CentralDirectorySize => "central directory sizes disagree",
            Zip64Problem::CentralDirectoryOffset => "central directory offsets disagree",
            Zip64Problem::RecordLength => "ZIP64 end record carries extensible data",
            Zip64Problem::LocatorDisks => "locator names more than one disk",
        })
    }
}

/// A failure reading an archive (as opposed to a finding about its contents).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZipError {
    /// The underlying reader failed.
    #[error("cannot read archive: {0}")]
    Io(#[from] io::Error),
    /// No entry has that index.
    #[error("no entry with index {index}")]
    NoSuchEntry {
        /// The index asked for.
        index: usize,
    },
    /// The entry cannot be read safely (encrypted, unsupported method, no local header).
    #[error("{name}: entry cannot be read ({reason})")]
    Unreadable {
        /// The entry.
        name: String,
        /// Why.
        reason: UnreadableReason,
    },
}

/// Why an entry cannot be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnreadableReason {
    /// It is encrypted.
    Encrypted,
    /// Its compression method is not stored or deflate.
    UnsupportedMethod(u16),
    /// Its local header is missing.
    NoLocalHeader,
    /// It is a symbolic link.
    Symlink,
}

impl fmt::Display for UnreadableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnreadableReason::Encrypted => f.write_str("encrypted"),
            UnreadableReason::UnsupportedMethod(m) => write!(f, "compression method {m}"),
            UnreadableReason::NoLocalHeader => f.write_str("no local header"),
            UnreadableReason::Symlink => f.write_str("symbolic link"),
        }
    }
}

/// An entry whose bytes did not match what the central directory declares, detected
/// while streaming it. Returned inside an `io::Error` of kind `InvalidData`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryIntegrityError {
    /// The entry decompressed to more bytes than declared.
    #[error("{name}: entry yields more than its declared {declared} bytes")]
    TooLong {
        /// The entry.
        name: String,
        /// Declared uncompressed size.
        declared: u64,
    },
    /// The entry ended before its declared size.
    #[error("{name}: entry yields {found} bytes, {declared} declared")]
    TooShort {
        /// The entry.
        name: String,
        /// Declared uncompressed size.
        declared: u64,
        /// Bytes actually produced.
        found: u64,
    },
    /// The CRC-32 of the bytes differs from the declared one.
    #[error("{name}: CRC-32 is {found:08x}, {declared:08x} declared")]
    Crc32 {
        /// The entry.
        name: String,
        /// Declared CRC-32.
        declared: u32,
        /// CRC-32 of the bytes read.
        found: u32,
    },
    /// The compressed stream is corrupt.
    #[error("{name}: corrupt compressed data: {detail}")]
    Corrupt {
        /// The entry.
        name: String,
        /// The decompressor's message.
        detail: String,
    },
}

impl EntryIntegrityError {
    /// Finds an integrity error inside an `io::Error` returned by an [`EntryReader`].
    pub fn from_io(err: &io::Error) -> Option<&EntryIntegrityError> {
        err.get_ref()?.downcast_ref::<EntryIntegrityError>()
    }
}

/// The outcome of a scan: the entries in central-directory order and every finding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZipScan {
    /// The entries.
    pub entries: Vec<ZipEntry>,
    /// Every structural problem found.
    pub findings: Vec<ZipFinding>,
    /// Length of the archive in bytes.
    pub archive_len: u64,
}

impl ZipScan {
    /// Whether the scan found nothing wrong.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// The first entry with this exact name.
    pub fn find(&self, name: &str) -> Option<&ZipEntry> {
        self.entries.iter().find(|e| e.name == name)
    }
}

/// A ZIP archive on a seekable reader, scanned once and then readable entry by entry.
pub struct ZipScanner<R> {
    reader: R,
    scan: ZipScan,
}

impl<R: Read + Seek> ZipScanner<R> {
    /// Scans `reader` with the given limits. Only I/O failures are errors; everything wrong
    /// with the archive itself is in [`ZipScanner::scan`]'s findings.
    pub fn new(reader: R, limits: &ScanLimits) -> Result<Self, ZipError> {
        Self::with_profile(reader, limits, ZipProfile::Package)
    }

    /// Scans `reader` accepting the subset of ZIP `profile` names (see [`ZipProfile`]:
    /// packages are always scanned with [`ZipProfile::Package`]).
    pub fn with_profile(
        mut reader: R,
        limits: &ScanLimits,
        profile: ZipProfile,
    ) -> Result<Self, ZipError> {
        let scan = scan_with_profile(&mut reader, limits, profile)?;
        Ok(ZipScanner { reader, scan })
    }

    /// The scan result.
    pub fn scan(&self) -> &ZipScan {
        &self.scan
    }

    /// The entries in central-directory order.
    pub fn entries(&self) -> &[ZipEntry] {
        &self.scan.entries
    }

    /// Gives back the reader.
    pub fn into_inner(self) -> R {
        self.reader
    }

    /// Streams entry `index`'s uncompressed bytes, checking its size and CRC-32 as they
    /// pass: the reader never yields more than the declared size, and reports an
    /// [`EntryIntegrityError`] (as `io::ErrorKind::InvalidData`) on any mismatch.
    pub fn open_entry(&mut self, index: usize) -> Result<EntryReader<'_>, ZipError> {
        let entry = self
            .scan
            .entries
            .get(index)
            .ok_or(ZipError::NoSuchEntry { index })?;
        let unreadable = |reason| ZipError::Unreadable {
            name: entry.name.clone(),
            reason,
        };
        if entry.is_encrypted() {
            return Err(unreadable(UnreadableReason::Encrypted));
        }
        if entry.is_symlink() {
            return Err(unreadable(UnreadableReason::Symlink));
        }
        let data_offset = entry
            .data_offset
            .ok_or_else(|| unreadable(UnreadableReason::NoLocalHeader))?;
        let source = match entry.method {
            METHOD_STORED => Source::Stored,
            METHOD_DEFLATE => Source::Deflate,
            other => return Err(unreadable(UnreadableReason::UnsupportedMethod(other))),
        };
        let name = entry.name.clone();
        let declared = entry.uncompressed_size;
        let crc = entry.crc32;
        let compressed = entry.compressed_size;
        self.reader.seek(SeekFrom::Start(data_offset))?;
        let raw = (&mut self.reader).take(compressed);
        let inner: Box<dyn Read + '_> = match source {
            Source::Stored => Box::new(raw),
            Source::Deflate => Box::new(flate2::read::DeflateDecoder::new(raw)),
        };
        Ok(EntryReader {
            inner,
            name,
            declared,
            declared_crc: crc,
            produced: 0,
            hasher: crc32fast::Hasher::new(),
            finished: false,
        })
    }

    /// Reads a whole entry into memory, refusing entries declared larger than `max`.
    pub fn read_entry(&mut self, index: usize, max: u64) -> Result<Vec<u8>, ReadEntryError> {
        let entry = self
            .scan
            .entries
            .get(index)
            .ok_or(ZipError::NoSuchEntry { index })?;
        if entry.uncompressed_size > max {
            return Err(ReadEntryError::TooLarge {
                name: entry.name.clone(),
                size: entry.uncompressed_size,
                max,
            });
        }
        let mut out = Vec::with_capacity(usize::try_from(entry.uncompressed_size).unwrap_or(0));
        let mut reader = self.open_entry(index)?;
        reader.read_to_end(&mut out).map_err(ZipError::Io)?;
        Ok(out)
    }
}

enum Source {
    Stored,
    Deflate,
}

/// A failure of [`ZipScanner::read_entry`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadEntryError {
    /// The entry could not be opened or read.
    #[error(transparent)]
    Zip(#[from] ZipError),
    /// The entry is larger than the caller allows in memory.
    #[error("{name}: {size} bytes exceeds the {max}-byte limit for this file")]
    TooLarge {
        /// The entry.
        name: String,
        /// Its declared size.
        size: u64,
        /// The limit.
        max: u64,
    },
}

/// Streams one entry's bytes; see [`ZipScanner::open_entry`].
pub struct EntryReader<'a> {
    inner: Box<dyn Read + 'a>,
    name: String,
    declared: u64,
    declared_crc: u32,
    produced: u64,
    hasher: crc32fast::Hasher,
    finished: bool,
}

impl EntryReader<'_> {
    fn integrity(&self, err: EntryIntegrityError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, err)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.finished = true;
        if self.produced != self.declared {
            return Err(self.integrity(EntryIntegrityError::TooShort {
                name: self.name.clone(),
                declared: self.declared,
                found: self.produced,
            }));
        }
        let found = self.hasher.clone().finalize();
        if found != self.declared_crc {
            return Err(self.integrity(EntryIntegrityError::Crc32 {
                name: self.name.clone(),
                declared: self.declared_crc,
                found,
            }));
        }
        Ok(())
    }
}

impl Read for EntryReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.finished || buf.is_empty() {
            return Ok(0);
        }
        let remaining = self.declared - self.produced;
        if remaining == 0 {
            // Ask for one more byte: if the stream has any, the declared size lied.
            let mut probe = [0u8; 1];
            let n = self.read_inner(&mut probe)?;
            if n > 0 {
                self.finished = true;
                return Err(self.integrity(EntryIntegrityError::TooLong {
                    name: self.name.clone(),
                    declared: self.declared,
                }));
            }
            self.finish()?;
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let n = self.read_inner(&mut buf[..want])?;
        if n == 0 {
            self.finish()?;
            return Ok(0);
        }
        self.hasher.update(&buf[..n]);
        self.produced += n as u64;
        Ok(n)
    }
}

impl EntryReader<'_> {
    fn read_inner(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e)
                if e.kind() == io::ErrorKind::InvalidInput
                    || e.kind() == io::ErrorKind::InvalidData =>
            {
                self.finished = true;
                Err(self.integrity(EntryIntegrityError::Corrupt {
                    name: self.name.clone(),
                    detail: e.to_string(),
                }))
            }
            Err(e) => Err(e),
        }
    }
}

/// Scans an archive; see [`ZipScanner::new`].
pub fn scan<R: Read + Seek>(reader: &mut R, limits: &ScanLimits) -> Result<ZipScan, ZipError> {
    scan_with_profile(reader, limits, ZipProfile::Package)
}

/// Scans an archive accepting the subset `profile` names; see [`ZipScanner::with_profile`].
pub fn scan_with_profile<R: Read + Seek>(
    reader: &mut R,
    limits: &ScanLimits,
    profile: ZipProfile,
) -> Result<ZipScan, ZipError> {
    let archive_len = reader.seek(SeekFrom::End(0))?;
    let mut out = ZipScan {
        archive_len,
        ..ZipScan::default()
    };
    let Some(end) = find_end(reader, archive_len, &mut out.findings)? else {
        out.findings.push(ZipFinding::NoEndOfCentralDirectory);
        return Ok(out);
    };
    if end.disk != 0 || end.cd_disk != 0 {
        out.findings.push(ZipFinding::MultiDisk {
            disk: end.disk.max(end.cd_disk),
        });
    }
    let cd_end = end.cd_offset.checked_add(end.cd_size);
    if cd_end.is_none_or(|e| e > end.records_start) {
        out.findings.push(ZipFinding::CentralDirectoryOutOfBounds {
            offset: end.cd_offset,
            size: end.cd_size,
        });
        return Ok(out);
    }
    if end.entries > limits.max_entries {
        out.findings.push(ZipFinding::TooManyEntries {
            declared: end.entries,
            limit: limits.max_entries,
        });
        return Ok(out);
    }
    if end.cd_size > limits.max_central_directory {
        out.findings.push(ZipFinding::CentralDirectoryOutOfBounds {
            offset: end.cd_offset,
            size: end.cd_size,
        });
        return Ok(out);
    }
    // Bounded above by the archive's length and max_central_directory.
    let mut cd = vec![0u8; end.cd_size as usize];
    reader.seek(SeekFrom::Start(end.cd_offset))?;
    reader.read_exact(&mut cd)?;
    let mut details = Vec::new();
    let used = parse_central_directory(&cd, end.cd_offset, limits, profile, &mut out, &mut details);
    if used as u64 != end.cd_size {
        out.findings.push(ZipFinding::CentralDirectorySizeMismatch {
            declared: end.cd_size,
            found: used as u64,
        });
    }
    if out.entries.len() as u64 != end.entries {
        out.findings.push(ZipFinding::EntryCountMismatch {
            declared: end.entries,
            found: out.entries.len() as u64,
        });
    }
    check_names(&mut out);
    for (entry, detail) in out.entries.iter().zip(&details) {
        out.findings
            .extend(central_findings(entry, detail, profile));
    }
    check_order(&mut out);
    let mut spans = Vec::with_capacity(out.entries.len());
    for (i, detail) in details.iter().enumerate() {
        if let Some(span) = check_local(reader, &mut out, i, detail, end.cd_offset, profile)? {
            spans.push(span);
        }
    }
    check_layout(
        &mut out,
        spans,
        end.cd_offset,
        end.cd_offset + used as u64,
        &end,
    );
    check_sizes(&mut out, limits);
    check_deflate_streams(reader, &mut out, limits)?;
    Ok(out)
}

struct EndRecords {
    disk: u32,
    cd_disk: u32,
    entries: u64,
    cd_size: u64,
    cd_offset: u64,
    /// Where the end structures begin (ZIP64 record if any, else the classic record).
    records_start: u64,
    /// The ZIP64 record and locator span, if present: (start, end).
    zip64_span: Option<(u64, u64)>,
    /// Start of the classic end record.
    eocd_offset: u64,
}

fn find_end<R: Read + Seek>(
    reader: &mut R,
    len: u64,
    findings: &mut Vec<ZipFinding>,
) -> Result<Option<EndRecords>, ZipError> {
    if len < EOCD_LEN {
        return Ok(None);
    }
    let window = len.min(EOCD_LEN + MAX_COMMENT);
    let start = len - window;
    let mut tail = vec![0u8; window as usize];
    reader.seek(SeekFrom::Start(start))?;
    reader.read_exact(&mut tail)?;

    // Candidates from the end backwards. Prefer a record whose comment reaches exactly to
    // the end of the file; otherwise take the last plausible one and report what follows.
    let mut exact = None;
    let mut plausible = None;
    for pos in (0..=tail.len() - EOCD_LEN as usize).rev() {
        if le32(&tail, pos) != Some(SIG_EOCD) {
            continue;
        }
        let comment_len = u64::from(le16(&tail, pos + 20).unwrap_or(0));
        let abs = start + pos as u64;
        let record_end = abs + EOCD_LEN + comment_len;
        if record_end == len {
            exact = Some(pos);
            break;
        }
        let cd_size = u64::from(le32(&tail, pos + 12).unwrap_or(u32::MAX));
        let cd_offset = u64::from(le32(&tail, pos + 16).unwrap_or(u32::MAX));
        let fits = cd_offset == 0xFFFF_FFFF || cd_offset.saturating_add(cd_size) <= abs;
        if fits && plausible.is_none() {
            plausible = Some(pos);
        }
    }
    let Some(pos) = exact.or(plausible) else {
        return Ok(None);
    };
    let eocd_offset = start + pos as u64;
    let comment_len = u64::from(le16(&tail, pos + 20).unwrap_or(0));
    let record_end = eocd_offset + EOCD_LEN + comment_len;
    if comment_len != 0 {
        findings.push(ZipFinding::ArchiveComment { len: comment_len });
    }
    if record_end > len {
        findings.push(ZipFinding::CommentTruncated);
    } else if record_end < len {
        findings.push(ZipFinding::TrailingData {
            len: len - record_end,
        });
    }
    let field16 = |o| u64::from(le16(&tail, pos + o).unwrap_or(0));
    let field32 = |o| u64::from(le32(&tail, pos + o).unwrap_or(0));
    let mut end = EndRecords {
        disk: field16(4) as u32,
        cd_disk: field16(6) as u32,
        entries: field16(10),
        cd_size: field32(12),
        cd_offset: field32(16),
        records_start: eocd_offset,
        zip64_span: None,
        eocd_offset,
    };
    let on_disk = field16(8);
    if on_disk != end.entries {
        findings.push(ZipFinding::EntryCountMismatch {
            declared: end.entries,
            found: on_disk,
        });
    }
    let needs_zip64 = on_disk == 0xFFFF
        || end.entries == 0xFFFF
        || end.cd_size == 0xFFFF_FFFF
        || end.cd_offset == 0xFFFF_FFFF;

    let locator = if eocd_offset >= ZIP64_LOCATOR_LEN {
        let mut buf = [0u8; ZIP64_LOCATOR_LEN as usize];
        reader.seek(SeekFrom::Start(eocd_offset - ZIP64_LOCATOR_LEN))?;
        reader.read_exact(&mut buf)?;
        let found = le32(&buf, 0) == Some(SIG_ZIP64_LOCATOR);
        if found && (le32(&buf, 4) != Some(0) || le32(&buf, 16) != Some(1)) {
            findings.push(ZipFinding::Zip64Inconsistent {
                detail: Zip64Problem::LocatorDisks,
            });
        }
        found.then(|| le64(&buf, 8).unwrap_or(u64::MAX))
    } else {
        None
    };
    let Some(record_offset) = locator else {
        if needs_zip64 {
            findings.push(ZipFinding::Zip64Inconsistent {
                detail: Zip64Problem::LocatorMissing,
            });
        }
        return Ok(Some(end));
    };
    let locator_offset = eocd_offset - ZIP64_LOCATOR_LEN;
    let mut rec = [0u8; ZIP64_EOCD_MIN_LEN as usize];
    let readable = record_offset
        .checked_add(ZIP64_EOCD_MIN_LEN)
        .is_some_and(|e| e <= locator_offset);
    if readable {
        reader.seek(SeekFrom::Start(record_offset))?;
        reader.read_exact(&mut rec)?;
    }
    if !readable || le32(&rec, 0) != Some(SIG_ZIP64_EOCD) {
        findings.push(ZipFinding::Zip64Inconsistent {
            detail: Zip64Problem::RecordMissing,
        });
        return Ok(Some(end));
    }
    let g64 = |o| le64(&rec, o).unwrap_or(0);
    let record_len = g64(4).saturating_add(12);
    if record_len != ZIP64_EOCD_MIN_LEN {
        findings.push(ZipFinding::Zip64Inconsistent {
            detail: Zip64Problem::RecordLength,
        });
    }
    let z_disk = le32(&rec, 16).unwrap_or(0);
    let z_cd_disk = le32(&rec, 20).unwrap_or(0);
    let z_entries = g64(32);
    let z_cd_size = g64(40);
    let z_cd_offset = g64(48);
    let mut mismatch = |classic: u64, sentinel: u64, zip64: u64, what: Zip64Problem| {
        if classic != sentinel && classic != zip64 {
            findings.push(ZipFinding::Zip64Inconsistent { detail: what });
        }
    };
    mismatch(end.entries, 0xFFFF, z_entries, Zip64Problem::EntryCount);
    mismatch(
        end.cd_size,
        0xFFFF_FFFF,
        z_cd_size,
        Zip64Problem::CentralDirectorySize,
    );
    mismatch(
        end.cd_offset,
        0xFFFF_FFFF,
        z_cd_offset,
        Zip64Problem::CentralDirectoryOffset,
    );
    end.disk = end.disk.max(z_disk);
    end.cd_disk = end.cd_disk.max(z_cd_disk);
    end.entries = z_entries;
    end.cd_size = z_cd_size;
    end.cd_offset = z_cd_offset;
    end.records_start = record_offset;
    // Anything between the record and the locator is extensible data or junk; both are
    // accounted to the ZIP64 structures here and compared by the layout check.
    let record_end = record_offset.saturating_add(record_len).min(locator_offset);
    if record_end < locator_offset {
        findings.push(ZipFinding::UnaccountedData {
            offset: record_end,
            len: locator_offset - record_end,
        });
    }
    end.zip64_span = Some((record_offset, end.eocd_offset));
    Ok(Some(end))
}

/// Central directory fields that [`ZipEntry`] does not carry but that the scan compares
/// with the local header or checks against the accepted subset.
struct CentralDetail {
    version_needed: u16,
    /// MS-DOS time in the low 16 bits, date in the high 16 bits.
    modified: u32,
    comment_len: u16,
    disk_start: u16,
    internal_attributes: u16,
}

fn parse_central_directory(
    cd: &[u8],
    cd_offset: u64,
    limits: &ScanLimits,
    profile: ZipProfile,
    out: &mut ZipScan,
    details: &mut Vec<CentralDetail>,
) -> usize {
    let mut pos = 0usize;
    while pos + 4 <= cd.len() && le32(cd, pos) == Some(SIG_CENTRAL) {
        let index = out.entries.len();
        if index as u64 >= limits.max_entries {
            break;
        }
        let Some((entry, next, detail)) =
            parse_central_header(cd, pos, index, profile, &mut out.findings)
        else {
            out.findings.push(ZipFinding::CentralDirectoryMalformed {
                index,
                offset: cd_offset + pos as u64,
            });
            return pos;
        };
        pos = next;
        out.entries.push(entry);
        details.push(detail);
    }
    if pos < cd.len()
        && out
            .findings
            .iter()
            .all(|f| !matches!(f, ZipFinding::CentralDirectoryMalformed { .. }))
    {
        // Something that is not a header where one was expected.
        out.findings.push(ZipFinding::CentralDirectoryMalformed {
            index: out.entries.len(),
            offset: cd_offset + pos as u64,
        });
    }
    pos
}

fn parse_central_header(
    cd: &[u8],
    pos: usize,
    index: usize,
    profile: ZipProfile,
    findings: &mut Vec<ZipFinding>,
) -> Option<(ZipEntry, usize, CentralDetail)> {
    let h = cd.get(pos..pos.checked_add(CENTRAL_LEN)?)?;
    let name_len = usize::from(le16(h, 28)?);
    let extra_len = usize::from(le16(h, 30)?);
    let comment_len = le16(h, 32)?;
    let name_start = pos + CENTRAL_LEN;
    let extra_start = name_start + name_len;
    let next = extra_start + extra_len + usize::from(comment_len);
    let raw_name = cd.get(name_start..extra_start)?.to_vec();
    let extra = cd.get(extra_start..extra_start + extra_len)?;
    if next > cd.len() {
        return None;
    }
    let name = String::from_utf8_lossy(&raw_name).into_owned();
    let mut uncompressed_size = u64::from(le32(h, 24)?);
    let mut compressed_size = u64::from(le32(h, 20)?);
    let mut local_header_offset = u64::from(le32(h, 42)?);
    let disk_start = le16(h, 34)?;
    let needs = [
        uncompressed_size == 0xFFFF_FFFF,
        compressed_size == 0xFFFF_FFFF,
        local_header_offset == 0xFFFF_FFFF,
        disk_start == 0xFFFF,
    ];
    match zip64_extra(extra, &needs) {
        Zip64Extra::Values(v) => {
            let mut it = v.into_iter();
            if needs[0] {
                uncompressed_size = it.next().unwrap_or(0);
            }
            if needs[1] {
                compressed_size = it.next().unwrap_or(0);
            }
            if needs[2] {
                local_header_offset = it.next().unwrap_or(0);
            }
        }
        Zip64Extra::Missing => findings.push(ZipFinding::Zip64ExtraMissing { name: name.clone() }),
        Zip64Extra::Unexpected => findings.push(ZipFinding::Zip64ExtraUnexpected {
            name: name.clone(),
            header: HeaderKind::Central,
            offset: local_header_offset,
        }),
    }
    findings.extend(extra_findings(
        &name,
        local_header_offset,
        extra,
        HeaderKind::Central,
        profile,
    ));
    let entry = ZipEntry {
        index,
        name,
        raw_name,
        version_made_by: le16(h, 4)?,
        flags: le16(h, 8)?,
        method: le16(h, 10)?,
        crc32: le32(h, 16)?,
        compressed_size,
        uncompressed_size,
        local_header_offset,
        data_offset: None,
        external_attributes: le32(h, 38)?,
    };
    let detail = CentralDetail {
        version_needed: le16(h, 6)?,
        modified: le32(h, 12)?,
        comment_len,
        disk_start,
        internal_attributes: le16(h, 36)?,
    };
    Some((entry, next, detail))
}

/// What a header's ZIP64 extended-information field gives.
enum Zip64Extra {
    /// The values the header defers to it (possibly none, when it needs none and has none).
    Values(Vec<u64>),
    /// The header defers to it but it is absent or too short.
    Missing,
    /// It is present but its length is not exactly what the header defers to it.
    Unexpected,
}

/// Reads the ZIP64 extended-information values present according to `needs` (in APPNOTE
/// order: uncompressed size, compressed size, local header offset, disk number). The field
/// must hold exactly those values: readers that take a value the header does not defer
/// (or skip one it does) would see other sizes.
fn zip64_extra(extra: &[u8], needs: &[bool; 4]) -> Zip64Extra {
    let widths = [8usize, 8, 8, 4];
    let wanted: usize = needs
        .iter()
        .zip(widths)
        .filter(|(n, _)| **n)
        .map(|(_, w)| w)
        .sum();
    let Some(data) = find_extra(extra, EXTRA_ZIP64) else {
        return if wanted == 0 {
            Zip64Extra::Values(Vec::new())
        } else {
            Zip64Extra::Missing
        };
    };
    if data.len() < wanted {
        return Zip64Extra::Missing;
    }
    if data.len() != wanted {
        return Zip64Extra::Unexpected;
    }
    let mut values = Vec::new();
    let mut pos = 0;
    for (i, &need) in needs.iter().enumerate() {
        if need && i < 3 {
            values.push(le64(data, pos).unwrap_or(0));
        }
        if need {
            pos += widths[i];
        }
    }
    Zip64Extra::Values(values)
}

fn find_extra(extra: &[u8], id: u16) -> Option<&[u8]> {
    extra_records(extra)?
        .into_iter()
        .find(|(field, _)| *field == id)
        .map(|(_, data)| data)
}

/// Splits an extra field area into `(id, data)` records, or `None` if it does not consist
/// of whole records or repeats an ID.
fn extra_records(extra: &[u8]) -> Option<Vec<(u16, &[u8])>> {
    let mut records: Vec<(u16, &[u8])> = Vec::new();
    let mut pos = 0;
    while pos < extra.len() {
        let id = le16(extra, pos)?;
        let len = usize::from(le16(extra, pos + 2)?);
        let data = extra.get(pos + 4..pos + 4 + len)?;
        if records.iter().any(|(seen, _)| *seen == id) {
            return None;
        }
        records.push((id, data));
        pos += 4 + len;
    }
    Some(records)
}

/// Extra fields other than ZIP64 and those `profile` admits, admitted ones that are
/// malformed, and extra areas that are not whole records.
fn extra_findings(
    name: &str,
    offset: u64,
    extra: &[u8],
    header: HeaderKind,
    profile: ZipProfile,
) -> Vec<ZipFinding> {
    let Some(records) = extra_records(extra) else {
        return vec![ZipFinding::ExtraFieldMalformed {
            name: name.to_owned(),
            header,
            offset,
        }];
    };
    records
        .into_iter()
        .filter(|(id, _)| *id != EXTRA_ZIP64)
        .filter_map(|(id, data)| match profile.admitted_extra(id, data) {
            Some(true) => None,
            Some(false) => Some(foreign::malformed(name, offset, header)),
            None => Some(ZipFinding::UnexpectedExtraField {
                name: name.to_owned(),
                id,
                header,
                offset,
            }),
        })
        .collect()
}

/// Name checks on each entry, then collisions across entries (see [`EntryNames`]).
fn check_names(out: &mut ZipScan) {
    let mut names = EntryNames::new();
    let mut findings = Vec::new();
    for entry in &out.entries {
        findings.extend(name_findings(entry));
        findings.extend(names.add(entry.index, &entry.name));
    }
    out.findings.extend(findings);
}

/// The names of one archive's entries, checked against each other as they are added: the
/// one rule that decides which sets of names Custody accepts, used by the scan, by the
/// package writer and by `seal` before it writes anything.
///
/// Names are compared component by component (split at `/`) after Unicode NFC
/// normalisation and case folding, so that every directory and file is spelt one way only
/// and is either a file or a directory, never both. The work is linear in the total length
/// of the names.
#[derive(Debug, Default)]
pub struct EntryNames {
    children: HashMap<(usize, String), usize>,
    nodes: Vec<NameNode>,
    /// Every name added, once; nodes refer to them by position, so a deep name costs its
    /// length and not its length times its depth.
    names: Vec<String>,
}

#[derive(Debug)]
struct NameNode {
    spelling: String,
    /// Position in `names` of the entry that first gave this directory or file.
    first_name: usize,
    first_index: usize,
    kind: NodeKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NodeKind {
    /// A directory only implied by a longer name.
    ImpliedDir,
    /// A directory with its own entry (`name/`).
    Dir,
    File,
}

const NAMES_ROOT: usize = usize::MAX;

impl EntryNames {
    /// No names yet.
    pub fn new() -> Self {
        EntryNames::default()
    }

    /// Adds entry `index` named `name` (a trailing `/` makes it a directory); returns how it
    /// collides with a name added before: [`ZipFinding::DuplicateName`],
    /// [`ZipFinding::CaseCollision`], [`ZipFinding::NormalizationCollision`] or
    /// [`ZipFinding::PathConflict`].
    pub fn add(&mut self, index: usize, name: &str) -> Option<ZipFinding> {
        let (trimmed, is_dir) = match name.strip_suffix('/') {
            Some(t) => (t, true),
            None => (name, false),
        };
        let components: Vec<&str> = trimmed.split('/').collect();
        let last = components.len() - 1;
        let mut parent = NAMES_ROOT;
        let this_name = self.names.len();
        self.names.push(name.to_owned());
        for (i, component) in components.into_iter().enumerate() {
            let want = match (i == last, is_dir) {
                (false, _) => NodeKind::ImpliedDir,
                (true, true) => NodeKind::Dir,
                (true, false) => NodeKind::File,
            };
            let key = fold_case(component);
            let Some(&id) = self.children.get(&(parent, key.clone())) else {
                let id = self.nodes.len();
                self.nodes.push(NameNode {
                    spelling: component.to_owned(),
                    first_name: this_name,
                    first_index: index,
                    kind: want,
                });
                self.children.insert((parent, key), id);
                parent = id;
                continue;
            };
            let node = &mut self.nodes[id];
            let other = self.names[node.first_name].clone();
            if node.spelling != component {
                let same_nfc = node.spelling.nfc().eq(component.nfc());
                return Some(if same_nfc {
                    ZipFinding::NormalizationCollision {
                        name: name.to_owned(),
                        other,
                    }
                } else {
                    ZipFinding::CaseCollision {
                        name: name.to_owned(),
                        other,
                    }
                });
            }
            let conflict = || ZipFinding::PathConflict {
                name: name.to_owned(),
                other: other.clone(),
            };
            match (node.kind, want) {
                (NodeKind::File, NodeKind::File) | (NodeKind::Dir, NodeKind::Dir) => {
                    return Some(ZipFinding::DuplicateName {
                        name: name.to_owned(),
                        first: node.first_index,
                        second: index,
                    })
                }
                (NodeKind::File, _) | (_, NodeKind::File) => return Some(conflict()),
                (NodeKind::ImpliedDir, NodeKind::Dir) => {
                    node.kind = NodeKind::Dir;
                    node.first_name = this_name;
                    node.first_index = index;
                }
                (_, NodeKind::ImpliedDir) => {}
            }
            parent = id;
        }
        None
    }
}

/// Every finding the scan would report about these entry names alone, for files written
/// the way Custody writes them: each name's own problems ([`name_findings`]) and every
/// collision between them ([`EntryNames`]). `seal` calls this before writing anything.
pub fn entry_name_findings<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<ZipFinding> {
    let mut set = EntryNames::new();
    let mut findings = Vec::new();
    for (index, name) in names.into_iter().enumerate() {
        findings.extend(name_findings(&ZipEntry::written_file(index, name)));
        findings.extend(set.add(index, name));
    }
    findings
}

/// Case folding close enough to what case-insensitive file systems do: normalise to NFC,
/// lower-case the upper-case form, so `ß`/`SS` and similar pairs collide too, then
/// renormalise. Trailing dots and spaces are dropped, as Windows (NTFS, FAT, exFAT through
/// the Win32 API) drops them when it creates a file: `a.` and `a ` land on `a` there.
fn fold_case(name: &str) -> String {
    let normal: String = name.trim_end_matches(['.', ' ']).nfc().collect();
    normal.to_uppercase().to_lowercase().nfc().collect()
}

/// Problems with one entry's own name and attributes.
pub fn name_findings(entry: &ZipEntry) -> Vec<ZipFinding> {
    let mut findings = Vec::new();
    let name = &entry.name;
    let shown = || name.escape_debug().to_string();
    if std::str::from_utf8(&entry.raw_name).is_err() {
        findings.push(ZipFinding::NameNotUtf8 { name: name.clone() });
    }
    if name.chars().any(char::is_control) {
        findings.push(ZipFinding::ControlCharacter { name: shown() });
    }
    if !unicode_normalization::is_nfc(name) {
        findings.push(ZipFinding::NameNotNfc { name: name.clone() });
    }
    let longest = name.split('/').map(str::len).max().unwrap_or(0);
    if longest > MAX_COMPONENT_LEN {
        findings.push(ZipFinding::ComponentTooLong {
            name: name.clone(),
            len: longest,
        });
    }
    if name.contains('\\') {
        findings.push(ZipFinding::Backslash { name: name.clone() });
    }
    if is_absolute(name) {
        findings.push(ZipFinding::AbsolutePath { name: name.clone() });
    }
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    let components = trimmed.split(['/', '\\']);
    let mut escapes = false;
    let mut odd = trimmed.is_empty();
    for (i, c) in components.enumerate() {
        match c {
            ".." => escapes = true,
            "." => odd = true,
            "" if i > 0 || !is_absolute(name) => odd = true,
            _ => {}
        }
    }
    if escapes {
        findings.push(ZipFinding::PathEscapes { name: name.clone() });
    }
    if odd {
        findings.push(ZipFinding::OddPathComponent { name: name.clone() });
    }
    if entry.is_symlink() {
        findings.push(ZipFinding::Symlink { name: name.clone() });
    }
    if entry.is_encrypted() {
        findings.push(ZipFinding::Encrypted { name: name.clone() });
    }
    if entry.method != METHOD_STORED && entry.method != METHOD_DEFLATE {
        findings.push(ZipFinding::UnsupportedCompression {
            name: name.clone(),
            method: entry.method,
        });
    }
    findings
}

fn is_absolute(name: &str) -> bool {
    let b = name.as_bytes();
    name.starts_with('/')
        || name.starts_with('\\')
        || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
}

/// General-purpose flag bit 11: the name is UTF-8.
const FLAG_UTF8: u16 = 1 << 11;
/// Flag bits 1 and 2: deflate compression level hints, meaningless to every reader.
const FLAG_DEFLATE_LEVEL: u16 = (1 << 1) | (1 << 2);
/// The highest "version needed to extract" accepted: 4.5, ZIP64.
const MAX_VERSION_NEEDED: u16 = 45;
/// Host systems accepted in "version made by": MS-DOS and Unix.
const HOST_MSDOS: u16 = 0;
const HOST_UNIX: u16 = 3;
/// MS-DOS attribute bits accepted: read-only, directory, archive.
const DOS_ACCEPTED: u32 = 0x01 | 0x10 | 0x20;
const DOS_DIRECTORY: u32 = 0x10;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
/// Owner permission bits a Unix-mode file (read) or directory (read, write, search) needs.
const OWNER_READ: u32 = 0o400;
const OWNER_RWX: u32 = 0o700;
/// Set-user-ID, set-group-ID and sticky bits.
const S_ISUID_GID_VTX: u32 = 0o7_000;

/// The flag bits an entry may set: bit 11 always, bits 1–2 on deflate entries.
fn accepted_flags(method: u16) -> u16 {
    if method == METHOD_DEFLATE {
        FLAG_UTF8 | FLAG_DEFLATE_LEVEL
    } else {
        FLAG_UTF8
    }
}

/// What is outside the accepted subset in one central directory header, apart from its
/// name (see [`name_findings`]) and its local header (see [`check_local`]).
fn central_findings(
    entry: &ZipEntry,
    detail: &CentralDetail,
    profile: ZipProfile,
) -> Vec<ZipFinding> {
    let mut findings = Vec::new();
    let name = || entry.name.clone();
    let offset = entry.local_header_offset;
    let mut accepted = accepted_flags(entry.method);
    if profile.admits_descriptor(entry.method) {
        accepted |= FLAG_DESCRIPTOR;
    }
    let unexpected = entry.flags & !accepted;
    if unexpected != 0 {
        findings.push(ZipFinding::UnsupportedFlags {
            name: name(),
            offset,
            flags: unexpected,
        });
    }
    if !entry.raw_name.is_ascii() && entry.flags & FLAG_UTF8 == 0 {
        findings.push(ZipFinding::NameEncodingUnflagged {
            name: name(),
            offset,
        });
    }
    if detail.version_needed > MAX_VERSION_NEEDED {
        findings.push(ZipFinding::UnsupportedVersion {
            name: name(),
            offset,
            needed: detail.version_needed,
        });
    }
    if detail.comment_len != 0 {
        findings.push(ZipFinding::EntryComment {
            name: name(),
            offset,
        });
    }
    if detail.disk_start != 0 {
        findings.push(ZipFinding::MultiDisk {
            disk: u32::from(detail.disk_start),
        });
    }
    // Only bit 0 ("text") of the internal attributes is defined for extraction, and only
    // `unzip -a` acts on it; other bits (e.g. bit 1, variable-length records) are refused.
    if !attributes_accepted(entry) || detail.internal_attributes & !1 != 0 {
        findings.push(ZipFinding::UnsupportedAttributes {
            name: name(),
            offset,
            version_made_by: entry.version_made_by,
            external_attributes: entry.external_attributes,
        });
    }
    let has_data = entry.compressed_size != 0
        || entry.uncompressed_size != 0
        || entry.crc32 != 0
        || entry.method != METHOD_STORED;
    if entry.is_dir() && has_data {
        findings.push(ZipFinding::DirectoryWithData {
            name: name(),
            offset,
            compressed: entry.compressed_size,
            method: entry.method,
        });
    }
    if entry.method == METHOD_STORED && entry.compressed_size != entry.uncompressed_size {
        findings.push(ZipFinding::StoredSizeMismatch {
            name: name(),
            offset,
            compressed: entry.compressed_size,
            uncompressed: entry.uncompressed_size,
        });
    }
    findings
}

/// Whether host system and external attributes describe what the name says: a regular
/// file, or a directory when the name ends in `/`, with no special permission bits. A
/// symbolic link is reported on its own ([`ZipFinding::Symlink`]).
fn attributes_accepted(entry: &ZipEntry) -> bool {
    let host = entry.version_made_by >> 8;
    let mode = entry.external_attributes >> 16;
    let dos = entry.external_attributes & 0xFFFF;
    let is_dir = entry.is_dir();
    // A file marked as an MS-DOS directory becomes a directory in libarchive.
    if dos & !DOS_ACCEPTED != 0 || (dos & DOS_DIRECTORY != 0 && !is_dir) {
        return false;
    }
    match host {
        HOST_MSDOS => mode == 0,
        HOST_UNIX => {
            let kind = mode & S_IFMT;
            let kind_ok = kind == 0
                || kind == S_IFLNK
                || (is_dir && kind == S_IFDIR)
                || (!is_dir && kind == S_IFREG);
            // Readers that apply the mode (unzip, bsdtar) would otherwise make a file its
            // owner cannot read, or a directory it cannot enter.
            let owner = if is_dir { OWNER_RWX } else { OWNER_READ };
            kind_ok && mode & S_ISUID_GID_VTX == 0 && mode & owner == owner
        }
        _ => false,
    }
}

/// Local headers must come in central-directory order, so that a streaming reader meets
/// the entries in the order the central directory lists them.
fn check_order(out: &mut ZipScan) {
    let mut findings = Vec::new();
    for pair in out.entries.windows(2) {
        if pair[1].local_header_offset <= pair[0].local_header_offset {
            findings.push(ZipFinding::EntryOutOfOrder {
                name: pair[1].name.clone(),
                offset: pair[1].local_header_offset,
            });
        }
    }
    out.findings.extend(findings);
}

/// Reads and compares entry `i`'s local header field by field with its central directory
/// header; returns the byte span the entry occupies.
fn check_local<R: Read + Seek>(
    reader: &mut R,
    out: &mut ZipScan,
    i: usize,
    detail: &CentralDetail,
    cd_offset: u64,
    profile: ZipProfile,
) -> Result<Option<(u64, u64, usize)>, ZipError> {
    let entry = &out.entries[i];
    let offset = entry.local_header_offset;
    let missing = ZipFinding::LocalHeaderMissing {
        name: entry.name.clone(),
        offset,
    };
    if offset.saturating_add(LOCAL_LEN as u64) > cd_offset {
        out.findings.push(missing);
        return Ok(None);
    }
    let mut h = [0u8; LOCAL_LEN];
    reader.seek(SeekFrom::Start(offset))?;
    reader.read_exact(&mut h)?;
    if le32(&h, 0) != Some(SIG_LOCAL) {
        out.findings.push(missing);
        return Ok(None);
    }
    let field16 = |o| le16(&h, o).unwrap_or(0);
    let field32 = |o| le32(&h, o).unwrap_or(0);
    let name_len = u64::from(field16(26));
    let extra_len = u64::from(field16(28));
    let data_offset = offset + LOCAL_LEN as u64 + name_len + extra_len;
    if data_offset > cd_offset {
        out.findings.push(missing);
        return Ok(None);
    }
    // Both bounded by 64 KiB.
    let mut name_extra = vec![0u8; (name_len + extra_len) as usize];
    reader.read_exact(&mut name_extra)?;
    let (local_name, local_extra) = name_extra.split_at(name_len as usize);

    let mut findings = Vec::new();
    let entry = &out.entries[i];
    let name = entry.name.clone();
    if local_name != entry.raw_name.as_slice() {
        findings.push(ZipFinding::LocalNameMismatch {
            name: name.clone(),
            local_name: String::from_utf8_lossy(local_name).into_owned(),
        });
    }
    findings.extend(extra_findings(
        &name,
        offset,
        local_extra,
        HeaderKind::Local,
        profile,
    ));
    let flags = field16(6);
    let mut local_csize = u64::from(field32(18));
    let mut local_usize = u64::from(field32(22));
    // APPNOTE 4.5.3: a local ZIP64 field holds both sizes, and the header then holds
    // 0xFFFFFFFF for both. Any other combination is read differently by different readers.
    let sentinels = [local_usize == 0xFFFF_FFFF, local_csize == 0xFFFF_FFFF];
    let zip64 = find_extra(local_extra, EXTRA_ZIP64);
    match (sentinels, zip64) {
        ([false, false], None) => {}
        ([true, true], Some(data)) if data.len() == 16 => {
            local_usize = le64(data, 0).unwrap_or(0);
            local_csize = le64(data, 8).unwrap_or(0);
        }
        (_, None) => findings.push(ZipFinding::Zip64ExtraMissing { name: name.clone() }),
        (_, Some(_)) => findings.push(ZipFinding::Zip64ExtraUnexpected {
            name: name.clone(),
            header: HeaderKind::Local,
            offset,
        }),
    }
    // An entry that defers to a data descriptor may leave the local CRC-32 and sizes 0;
    // the descriptor must then agree with the central directory (below).
    let deferred = flags & FLAG_DESCRIPTOR != 0 && profile.admits_descriptor(entry.method);
    let mut compare = |field, central: u64, local: u64| {
        let deferred_field = matches!(
            field,
            HeaderField::Crc32 | HeaderField::CompressedSize | HeaderField::UncompressedSize
        );
        if central != local && !(deferred && deferred_field && local == 0) {
            findings.push(ZipFinding::LocalHeaderMismatch {
                name: name.clone(),
                field,
                central,
                local,
            });
        }
    };
    compare(
        HeaderField::VersionNeeded,
        u64::from(detail.version_needed),
        u64::from(field16(4)),
    );
    compare(HeaderField::Flags, u64::from(entry.flags), u64::from(flags));
    compare(
        HeaderField::Method,
        u64::from(entry.method),
        u64::from(field16(8)),
    );
    compare(
        HeaderField::ModifiedTime,
        u64::from(detail.modified),
        u64::from(field32(10)),
    );
    // No masking (bit 13) and no deferral to a data descriptor (bit 3) is accepted, so
    // the local header must carry the real CRC-32 and sizes.
    compare(
        HeaderField::Crc32,
        u64::from(entry.crc32),
        u64::from(field32(14)),
    );
    compare(
        HeaderField::CompressedSize,
        entry.compressed_size,
        local_csize,
    );
    compare(
        HeaderField::UncompressedSize,
        entry.uncompressed_size,
        local_usize,
    );

    let data_end = data_offset.checked_add(entry.compressed_size);
    let mut span_end = data_end.unwrap_or(u64::MAX);
    if deferred && data_end.is_some_and(|e| e >= cd_offset) {
        findings.push(ZipFinding::DescriptorMissing {
            name: name.clone(),
            offset,
        });
    }
    if flags & FLAG_DESCRIPTOR != 0 {
        // Refused (UnsupportedFlags) outside the bag profile, but its bytes are still accounted to the entry so
        // that the layout check reports the lie, not a gap.
        if let Some(end) = data_end.filter(|&e| e < cd_offset) {
            let zip64 =
                entry.compressed_size >= 0xFFFF_FFFF || entry.uncompressed_size >= 0xFFFF_FFFF;
            let (crc, csize, usize_, len, signed) = read_descriptor(reader, end, cd_offset, zip64)?;
            span_end = end + len;
            if deferred && !signed {
                findings.push(ZipFinding::DescriptorUnsigned {
                    name: name.clone(),
                    offset,
                });
            }
            let mut cmp = |field, central: u64, found: u64| {
                if central != found {
                    findings.push(ZipFinding::DescriptorMismatch {
                        name: name.clone(),
                        field,
                        central,
                        descriptor: found,
                    });
                }
            };
            cmp(HeaderField::Crc32, u64::from(entry.crc32), crc);
            cmp(HeaderField::CompressedSize, entry.compressed_size, csize);
            cmp(
                HeaderField::UncompressedSize,
                entry.uncompressed_size,
                usize_,
            );
        }
    }
    out.findings.extend(findings);
    out.entries[i].data_offset = Some(data_offset);
    Ok(Some((offset, span_end, i)))
}

/// Decompresses every deflate entry that lies inside the archive and checks that its
/// stream takes exactly the declared compressed bytes and yields exactly the declared
/// size and CRC-32. Entries already reported for their compression ratio are skipped, so
/// the work is bounded by the declared sizes the limits allow.
fn check_deflate_streams<R: Read + Seek>(
    reader: &mut R,
    out: &mut ZipScan,
    limits: &ScanLimits,
) -> Result<(), ZipError> {
    let mut findings = Vec::new();
    let mut buffers = DeflateBuffers {
        input: vec![0u8; DEFLATE_CHUNK],
        output: vec![0u8; DEFLATE_CHUNK],
    };
    for entry in &out.entries {
        let Some(offset) = entry.data_offset else {
            continue;
        };
        let inside = offset
            .checked_add(entry.compressed_size)
            .is_some_and(|end| end <= out.archive_len);
        let bomb = entry.uncompressed_size > limits.ratio_min_size
            && entry.uncompressed_size > entry.compressed_size.saturating_mul(limits.max_ratio);
        if entry.method != METHOD_DEFLATE || entry.is_encrypted() || !inside || bomb {
            continue;
        }
        reader.seek(SeekFrom::Start(offset))?;
        if let Some(problem) = deflate_problem(&mut *reader, entry, &mut buffers)? {
            findings.push(ZipFinding::DeflateStream {
                name: entry.name.clone(),
                offset,
                problem,
            });
        }
    }
    out.findings.extend(findings);
    Ok(())
}

/// Size of the buffers [`deflate_problem`] streams through.
const DEFLATE_CHUNK: usize = 64 << 10;

/// Scratch space for [`deflate_problem`], allocated once per scan.
struct DeflateBuffers {
    input: Vec<u8>,
    output: Vec<u8>,
}

/// Runs the raw DEFLATE decoder over `entry`'s compressed bytes, read from `reader`'s
/// current position.
fn deflate_problem<R: Read>(
    reader: &mut R,
    entry: &ZipEntry,
    buffers: &mut DeflateBuffers,
) -> Result<Option<DeflateProblem>, ZipError> {
    use flate2::{Decompress, FlushDecompress, Status};
    let compressed = entry.compressed_size;
    let declared = entry.uncompressed_size;
    let mut decoder = Decompress::new(false);
    let DeflateBuffers { input, output } = buffers;
    let (mut start, mut filled) = (0usize, 0usize);
    let mut unread = compressed;
    let mut crc = crc32fast::Hasher::new();
    loop {
        if start == filled && unread > 0 {
            let want = usize::try_from(unread).map_or(DEFLATE_CHUNK, |u| u.min(DEFLATE_CHUNK));
            reader.read_exact(&mut input[..want])?;
            (start, filled) = (0, want);
            unread -= want as u64;
        }
        let (in_before, out_before) = (decoder.total_in(), decoder.total_out());
        let Ok(status) = decoder.decompress(&input[start..filled], output, FlushDecompress::None)
        else {
            return Ok(Some(DeflateProblem::Corrupt));
        };
        let consumed = (decoder.total_in() - in_before) as usize;
        let produced = (decoder.total_out() - out_before) as usize;
        start += consumed;
        crc.update(&output[..produced]);
        if decoder.total_out() > declared {
            return Ok(Some(DeflateProblem::UncompressedSize {
                declared,
                found: decoder.total_out(),
            }));
        }
        if status == Status::StreamEnd {
            break;
        }
        if consumed == 0 && produced == 0 {
            // No progress with all input given: the stream needs bytes beyond the entry.
            return Ok(Some(if start == filled && unread == 0 {
                DeflateProblem::RunsPastCompressedSize { compressed }
            } else {
                DeflateProblem::Corrupt
            }));
        }
    }
    if decoder.total_in() != compressed {
        return Ok(Some(DeflateProblem::EndsBeforeCompressedSize {
            stream_len: decoder.total_in(),
            compressed,
        }));
    }
    if decoder.total_out() != declared {
        return Ok(Some(DeflateProblem::UncompressedSize {
            declared,
            found: decoder.total_out(),
        }));
    }
    let found = crc.finalize();
    if found != entry.crc32 {
        return Ok(Some(DeflateProblem::Crc32 {
            declared: entry.crc32,
            found,
        }));
    }
    Ok(None)
}

/// Reads a data descriptor at `at`: returns (crc, compressed, uncompressed, length,
/// whether it has its signature).
fn read_descriptor<R: Read + Seek>(
    reader: &mut R,
    at: u64,
    limit: u64,
    zip64: bool,
) -> Result<(u64, u64, u64, u64, bool), ZipError> {
    let mut buf = [0u8; 24];
    let avail = (limit - at).min(24) as usize;
    reader.seek(SeekFrom::Start(at))?;
    reader.read_exact(&mut buf[..avail])?;
    let buf = &buf[..avail];
    let (sig_len, rest) = if le32(buf, 0) == Some(SIG_DESCRIPTOR) {
        (4usize, &buf[4..])
    } else {
        (0usize, buf)
    };
    let crc = u64::from(le32(rest, 0).unwrap_or(0));
    if zip64 {
        let c = le64(rest, 4).unwrap_or(0);
        let u = le64(rest, 12).unwrap_or(0);
        Ok((crc, c, u, (sig_len + 20).min(avail) as u64, sig_len > 0))
    } else {
        let c = u64::from(le32(rest, 4).unwrap_or(0));
        let u = u64::from(le32(rest, 8).unwrap_or(0));
        Ok((crc, c, u, (sig_len + 12).min(avail) as u64, sig_len > 0))
    }
}

/// Checks that entries, central directory and end records tile the file exactly.
fn check_layout(
    out: &mut ZipScan,
    mut spans: Vec<(u64, u64, usize)>,
    cd_start: u64,
    cd_end: u64,
    end: &EndRecords,
) {
    spans.sort_unstable();
    let first = spans.first().map_or(cd_start, |s| s.0);
    if first > 0 {
        out.findings.push(ZipFinding::PrependedData { len: first });
    }
    let mut cursor = first;
    let mut last: Option<usize> = None;
    for &(start, stop, i) in &spans {
        if start < cursor {
            if let Some(prev) = last {
                out.findings.push(ZipFinding::OverlappingEntries {
                    name: out.entries[i].name.clone(),
                    other: out.entries[prev].name.clone(),
                });
            }
        } else if start > cursor {
            out.findings.push(ZipFinding::UnaccountedData {
                offset: cursor,
                len: start - cursor,
            });
        }
        if stop > cd_start {
            out.findings
                .push(ZipFinding::EntryOverlapsCentralDirectory {
                    name: out.entries[i].name.clone(),
                });
        }
        if stop > cursor {
            cursor = stop;
            last = Some(i);
        }
    }
    if cursor < cd_start {
        out.findings.push(ZipFinding::UnaccountedData {
            offset: cursor,
            len: cd_start - cursor,
        });
    }
    let records = end.zip64_span.map_or(end.eocd_offset, |z| z.0);
    if cd_end < records {
        out.findings.push(ZipFinding::UnaccountedData {
            offset: cd_end,
            len: records - cd_end,
        });
    }
}

fn check_sizes(out: &mut ZipScan, limits: &ScanLimits) {
    let mut total: u64 = 0;
    let mut findings = Vec::new();
    for e in &out.entries {
        total = total.saturating_add(e.uncompressed_size);
        let bound = e.compressed_size.saturating_mul(limits.max_ratio);
        if e.uncompressed_size > limits.ratio_min_size && e.uncompressed_size > bound {
            findings.push(ZipFinding::CompressionRatio {
                name: e.name.clone(),
                compressed: e.compressed_size,
                uncompressed: e.uncompressed_size,
                limit: limits.max_ratio,
            });
        }
    }
    if total > limits.max_total_uncompressed {
        findings.push(ZipFinding::TotalSizeExceeded {
            total,
            limit: limits.max_total_uncompressed,
        });
    }
    out.findings.extend(findings);
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<ZipFinding> {
        let mut set = EntryNames::new();
        list.iter()
            .enumerate()
            .filter_map(|(i, n)| set.add(i, n))
            .collect()
    }

    #[test]
    fn distinct_names_and_their_directories_are_accepted() {
        assert_eq!(
            names(&["a/", "a/b", "a/c/", "a/c/d", "b", "\u{e9}t\u{e9}"]),
            []
        );
        // An explicit directory entry after the names that imply it.
        assert_eq!(names(&["a/b/c", "a/b/", "a/"]), []);
    }

    #[test]
    fn fail_file_used_as_directory_in_either_order() {
        for list in [["a", "a/b"], ["a/b", "a"]] {
            let found = names(&list);
            assert!(
                matches!(&found[..], [ZipFinding::PathConflict { name, other }] if name == list[1] && other == list[0]),
                "{list:?}: {found:?}"
            );
        }
        assert!(matches!(
            &names(&["a/", "a"])[..],
            [ZipFinding::PathConflict { .. }]
        ));
    }

    #[test]
    fn fail_directory_spelt_two_ways() {
        assert_eq!(
            names(&["Dir/x", "dir/y"]),
            [ZipFinding::CaseCollision {
                name: "dir/y".into(),
                other: "Dir/x".into()
            }]
        );
        assert_eq!(
            names(&["stra\u{df}e/x", "STRASSE/y"]),
            [ZipFinding::CaseCollision {
                name: "STRASSE/y".into(),
                other: "stra\u{df}e/x".into()
            }]
        );
    }

    #[test]
    fn fail_exact_duplicates_of_files_and_directories() {
        assert_eq!(
            names(&["a/", "a/"]),
            [ZipFinding::DuplicateName {
                name: "a/".into(),
                first: 0,
                second: 1
            }]
        );
        assert_eq!(
            names(&["x", "y", "x"]),
            [ZipFinding::DuplicateName {
                name: "x".into(),
                first: 0,
                second: 2
            }]
        );
    }

    #[test]
    fn path_component_at_the_length_limit_is_accepted() {
        let name = format!("d/{}", "x".repeat(MAX_COMPONENT_LEN));
        assert_eq!(name_findings(&ZipEntry::written_file(0, &name)), []);
    }

    #[test]
    fn fail_path_component_one_byte_past_the_limit() {
        let name = format!("{}/f", "x".repeat(MAX_COMPONENT_LEN + 1));
        assert_eq!(
            name_findings(&ZipEntry::written_file(0, &name)),
            [ZipFinding::ComponentTooLong {
                name,
                len: MAX_COMPONENT_LEN + 1
            }]
        );
    }

    #[test]
    fn deep_names_are_checked_in_linear_time() {
        // 30,000 components: a quadratic rule (every prefix hashed) would take seconds.
        let deep = "d/".repeat(30_000) + "f";
        let other = "d/".repeat(30_000) + "F";
        let found = names(&[deep.as_str(), other.as_str()]);
        assert!(matches!(&found[..], [ZipFinding::CaseCollision { .. }]));
    }

    fn written_with_version(needed: u16) -> Vec<ZipFinding> {
        let entry = ZipEntry::written_file(0, "a.txt");
        let detail = CentralDetail {
            version_needed: needed,
            modified: 0,
            comment_len: 0,
            disk_start: 0,
            internal_attributes: 0,
        };
        central_findings(&entry, &detail, ZipProfile::Package)
    }

    #[test]
    fn version_needed_at_the_limit_is_accepted() {
        assert_eq!(written_with_version(MAX_VERSION_NEEDED), []);
    }

    #[test]
    fn fail_version_needed_one_past_the_limit() {
        assert_eq!(
            written_with_version(MAX_VERSION_NEEDED + 1),
            [ZipFinding::UnsupportedVersion {
                name: "a.txt".into(),
                offset: 0,
                needed: 46
            }]
        );
    }

    #[test]
    fn attributes_the_writer_and_python_use_are_accepted() {
        let file = ZipEntry::written_file(0, "a.txt");
        assert!(attributes_accepted(&file));
        let dir = ZipEntry {
            name: "d/".into(),
            external_attributes: ((S_IFDIR | 0o775) << 16) | DOS_DIRECTORY,
            ..file.clone()
        };
        assert!(attributes_accepted(&dir));
        let dos = ZipEntry {
            version_made_by: 20,
            external_attributes: 0x20,
            ..file.clone()
        };
        assert!(attributes_accepted(&dos));
    }

    #[test]
    fn fail_special_files_and_mismatched_kinds() {
        let file = ZipEntry::written_file(0, "a.txt");
        for mode in [
            0o010_644, 0o020_644, 0o060_644, 0o140_644, 0o104_755, 0o040_755,
        ] {
            let entry = ZipEntry {
                external_attributes: mode << 16,
                ..file.clone()
            };
            assert!(!attributes_accepted(&entry), "{mode:o}");
        }
        let ntfs_host = ZipEntry {
            version_made_by: 10 << 8,
            external_attributes: 0,
            ..file.clone()
        };
        assert!(!attributes_accepted(&ntfs_host));
        let volume_label = ZipEntry {
            version_made_by: 20,
            external_attributes: 0x08,
            ..file
        };
        assert!(!attributes_accepted(&volume_label));
    }
}
