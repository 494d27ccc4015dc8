//! BagIt (RFC 8493, and the drafts 0.93–0.97 users still meet): validating bags in a
//! directory or a ZIP archive, and formatting the tag files of new bags ([`write`]).
//!
//! [`validate_path`] checks everything a bag promises and reports every problem, each
//! naming the file at fault, in a [`BagReport`]: errors make the bag invalid, warnings do
//! not. Checked: `bagit.txt` (version, tag-file encoding, BOM), `bag-info.txt` (labels,
//! continuation lines, `Payload-Oxum`), every `manifest-<alg>.txt` and
//! `tagmanifest-<alg>.txt` (MD5, SHA-1, SHA-256, SHA-512, BLAKE3; paths percent-decoded,
//! inside the bag), that every payload file is in every payload manifest and every listed
//! file exists with the right digest, and `fetch.txt` (parsed, never fetched: a bag
//! whose fetched files are missing is incomplete, hence invalid). A ZIP archive is first
//! scanned with [`crate::zipscan`], whose findings are errors too.
//!
//! Every file is read once, hashed with all the algorithms its manifests use together.

mod encoding;
mod source;
pub mod write;

pub use encoding::TagEncoding;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use custody_core::hash::{hash_reader_multi, Algorithm};
use unicode_normalization::UnicodeNormalization;

use crate::limits::{self, PathLimit, TagRefusal};
use crate::zipscan::{ScanLimits, ZipError, ZipFinding, ZipProfile, ZipScanner};
use source::{BagSource, DirSource, ZipSource};

/// BagIt versions this validator understands.
pub const SUPPORTED_VERSIONS: &[&str] = &["0.93", "0.94", "0.95", "0.96", "0.97", "1.0"];

/// Options for validation.
#[derive(Clone, Copy, Debug)]
pub struct ValidateOptions {
    /// Limits for the ZIP scan of archived bags.
    pub scan_limits: ScanLimits,
    /// Largest tag file read into memory ([`limits::MAX_TAG_FILE`] by default;
    /// `bagit.txt` is held to [`limits::MAX_BAGIT_TXT`] whatever this says).
    pub max_tag_file: u64,
    /// Largest sum of the tag files read into memory ([`limits::MAX_TAG_BYTES_TOTAL`] by
    /// default).
    pub max_tag_total: u64,
    /// Called with the number of payload and tag bytes hashed since the previous call, so a
    /// front end can show progress on a large bag (a plain function, so the options stay
    /// `Copy`; it reports to whatever the front end set up).
    pub progress: Option<fn(u64)>,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            scan_limits: ScanLimits::default(),
            max_tag_file: limits::MAX_TAG_FILE,
            max_tag_total: limits::MAX_TAG_BYTES_TOTAL,
            progress: None,
        }
    }
}

/// What is wrong with a line of a tag file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LineProblem {
    /// No `Label: value` colon.
    NoLabel,
    /// A continuation line with nothing to continue.
    StrayContinuation,
    /// A manifest line without both a digest and a path.
    NoPath,
    /// A digest that is not hex of the algorithm's length.
    BadDigest,
    /// A fetch line without URL, length and path.
    FetchFields,
    /// A fetch length that is neither `-` nor a number.
    FetchLength,
    /// A fetch URL without a scheme and host (or a `file:` URL).
    FetchUrl,
    /// White space between a label and its colon (`bagit.txt` in every version;
    /// `bag-info.txt` from BagIt 1.0, RFC 8493 §2.2.2).
    WhitespaceBeforeColon,
    /// No space or tab between the colon and a value (BagIt 1.0, RFC 8493 §2.1.1, §2.2.2).
    NoWhitespaceAfterColon,
    /// A `bagit.txt` line other than its two declarations, blank lines included.
    ExtraLine,
    /// A `bagit.txt` line that is not the declaration due at that position
    /// (`BagIt-Version` first, `Tag-File-Character-Encoding` second, spelt exactly so).
    UnexpectedLabel,
}

impl fmt::Display for LineProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LineProblem::NoLabel => "expected 'Label: value'",
            LineProblem::StrayContinuation => "continuation line without a label",
            LineProblem::NoPath => "expected '<digest> <path>'",
            LineProblem::BadDigest => "digest is not hex of the right length",
            LineProblem::FetchFields => "expected '<url> <length> <path>'",
            LineProblem::FetchLength => "length is neither '-' nor a number",
            LineProblem::FetchUrl => "URL has no scheme and host",
            LineProblem::WhitespaceBeforeColon => "white space before the colon",
            LineProblem::NoWhitespaceAfterColon => "no space or tab after the colon",
            LineProblem::ExtraLine => "line beyond the two declarations",
            LineProblem::UnexpectedLabel => {
                "expected 'BagIt-Version: M.N' then 'Tag-File-Character-Encoding: ENCODING'"
            }
        })
    }
}

/// Why a `fetch.txt` path is unusual.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UnusualPath {
    /// It is not under `data/`: only payload files are fetched (RFC 8493 §2.2.3).
    NotInPayload,
    /// It has an empty or `.` component.
    DotOrEmptyComponent,
    /// It contains a backslash, a separator on Windows only.
    Backslash,
}

impl fmt::Display for UnusualPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnusualPath::NotInPayload => "is not in the payload directory",
            UnusualPath::DotOrEmptyComponent => "has an empty or '.' component",
            UnusualPath::Backslash => "contains a backslash",
        })
    }
}

/// One problem with a bag. Every variant names the file it is about (relative to the bag
/// root, or the archive entry for ZIP findings).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BagFinding {
    /// A structural problem of the ZIP archive holding the bag.
    #[error("{finding}")]
    Zip {
        /// The ZIP finding.
        finding: ZipFinding,
    },
    /// The archive holds no `bagit.txt` at its root or in a single top-level directory.
    #[error("archive: no bag found (no bagit.txt at the root or in one top-level directory)")]
    NoBagInZip,
    /// The bag's files sit at the archive root rather than in a directory.
    #[error("archive: bag files are at the archive root, not in a bag directory")]
    BagAtZipRoot,
    /// An archive entry outside the bag directory.
    #[error("{file}: archive entry outside the bag directory")]
    EntryOutsideBag {
        /// The entry.
        file: String,
    },
    /// A file could not be read.
    #[error("{file}: cannot read: {error}")]
    FileUnreadable {
        /// The file.
        file: String,
        /// The I/O error's message.
        error: String,
    },
    /// A tag file exceeds [`ValidateOptions::max_tag_file`] (or, for `bagit.txt`,
    /// [`limits::MAX_BAGIT_TXT`]); it was not read.
    #[error("{file}: tag file of {size} bytes is too large")]
    TagFileTooLarge {
        /// The file.
        file: String,
        /// Its size.
        size: u64,
    },
    /// A tag file compressed beyond [`limits::MAX_TAG_RATIO`]; it was not inflated.
    #[error("{file}: tag file of {uncompressed} bytes stored in {compressed} exceeds the {limit}:1 compression ratio limit")]
    TagFileCompressionRatio {
        /// The file.
        file: String,
        /// Declared compressed size.
        compressed: u64,
        /// Declared uncompressed size.
        uncompressed: u64,
        /// The ratio limit.
        limit: u64,
    },
    /// Reading this tag file would take the tag bytes read in total past
    /// [`ValidateOptions::max_tag_total`]; it was not read.
    #[error("{file}: reading it would take the tag files read to {total} bytes, past the {limit}-byte limit")]
    TagBytesExceeded {
        /// The file.
        file: String,
        /// The total it would have reached.
        total: u64,
        /// The limit.
        limit: u64,
    },
    /// A path beyond [`limits::MAX_PATH_DEPTH`], [`limits::MAX_PATH_BYTES`] or
    /// [`limits::MAX_NAME_BYTES`]: reported and left out of the bag.
    #[error("{file}: path has {limit}")]
    PathLimit {
        /// The path (its first bytes, if it is longer than the limit).
        file: String,
        /// Which limit.
        limit: PathLimit,
    },
    /// A symbolic link inside a bag directory.
    #[error("{file}: symbolic link inside the bag")]
    Symlink {
        /// The link.
        file: String,
    },
    /// Something other than a file or directory inside a bag directory.
    #[error("{file}: not a regular file")]
    NotARegularFile {
        /// The path.
        file: String,
    },
    /// A file name that is not UTF-8.
    #[error("{file}: file name is not valid UTF-8")]
    NameNotUtf8 {
        /// The name (lossy).
        file: String,
    },
    /// `bagit.txt` is missing.
    #[error("{file}: missing")]
    MissingBagitTxt {
        /// `bagit.txt`.
        file: String,
    },
    /// A required label of `bagit.txt` is missing.
    #[error("{file}: no {label} line")]
    MissingDeclaration {
        /// `bagit.txt`.
        file: String,
        /// The missing label.
        label: String,
    },
    /// A BagIt version this validator does not know.
    #[error("{file}: unsupported BagIt-Version {version}")]
    UnsupportedVersion {
        /// `bagit.txt`.
        file: String,
        /// The version.
        version: String,
    },
    /// A tag-file encoding this validator cannot decode.
    #[error("{file}: unsupported Tag-File-Character-Encoding {encoding}")]
    UnsupportedEncoding {
        /// `bagit.txt`.
        file: String,
        /// The encoding.
        encoding: String,
    },
    /// A tag file is not valid in the declared encoding.
    #[error("{file}: not valid {encoding} text")]
    NotInDeclaredEncoding {
        /// The file.
        file: String,
        /// The declared encoding.
        encoding: TagEncoding,
    },
    /// A tag file starts with a UTF-8 byte-order mark (an error in `bagit.txt`, RFC 8493
    /// §2.1.1; a warning elsewhere).
    #[error("{file}: starts with a byte-order mark")]
    ByteOrderMark {
        /// The file.
        file: String,
    },
    /// A malformed line in a tag file.
    #[error("{file}: line {line}: {problem}")]
    MalformedLine {
        /// The file.
        file: String,
        /// Line number, from 1.
        line: usize,
        /// What is wrong.
        problem: LineProblem,
    },
    /// There is no `data/` payload directory.
    #[error("{file}: payload directory missing")]
    MissingPayloadDirectory {
        /// `data/`.
        file: String,
    },
    /// There is no payload manifest in a supported algorithm.
    #[error("{file}: no payload manifest")]
    NoPayloadManifest {
        /// `manifest-<alg>.txt`.
        file: String,
    },
    /// A manifest in an algorithm this validator cannot compute; it was not checked.
    #[error("{file}: unsupported algorithm, not checked")]
    UnsupportedAlgorithm {
        /// The manifest.
        file: String,
    },
    /// Only MD5 or SHA-1 payload manifests, which do not protect against tampering.
    #[error("{file}: payload is protected only by MD5/SHA-1, which forgers can defeat")]
    WeakAlgorithmsOnly {
        /// The strongest manifest present.
        file: String,
    },
    /// A manifest path leaves the bag (absolute or `..`).
    #[error("{manifest}: line {line}: path {file:?} leaves the bag")]
    PathEscapesBag {
        /// The path as written.
        file: String,
        /// The manifest.
        manifest: String,
        /// Line number.
        line: usize,
    },
    /// A manifest path whose `%25` names a file only when read literally (as `bagit.py`
    /// writes it) rather than percent-decoded (as RFC 8493 §2.1.3 writes it): checked
    /// against the file of the literal name.
    #[error("{manifest}: line {line}: {file} names a file only if '%25' is not decoded (as bagit.py writes it)")]
    PercentNotDecoded {
        /// The path as written (and as the file is named).
        file: String,
        /// The manifest.
        manifest: String,
        /// Line number.
        line: usize,
    },
    /// A payload manifest lists a path outside `data/`.
    #[error("{manifest}: line {line}: {file} is not in the payload directory")]
    PathNotInPayload {
        /// The path.
        file: String,
        /// The manifest.
        manifest: String,
        /// Line number.
        line: usize,
    },
    /// A manifest lists the same path twice.
    #[error("{manifest}: {file} listed more than once")]
    DuplicateManifestEntry {
        /// The path.
        file: String,
        /// The manifest.
        manifest: String,
    },
    /// A payload file that a payload manifest does not list.
    #[error("{file}: payload file not listed in {manifest}")]
    FileNotInManifest {
        /// The payload file.
        file: String,
        /// The manifest.
        manifest: String,
    },
    /// A manifest lists a file that is not in the bag.
    #[error("{file}: listed in {manifest} but missing")]
    MissingFile {
        /// The path.
        file: String,
        /// The manifest.
        manifest: String,
    },
    /// A `fetch.txt` path that stays inside the bag but is unusual (a warning: nothing is
    /// fetched, but a fetcher could place the file where no manifest looks).
    #[error("fetch.txt: line {line}: path {file:?} {reason}")]
    FetchPathUnusual {
        /// The path as decoded.
        file: String,
        /// Line number.
        line: usize,
        /// What is unusual.
        reason: UnusualPath,
    },
    /// A file listed in `fetch.txt` is absent: the bag is incomplete.
    #[error("{file}: listed in fetch.txt but not present (bag is incomplete)")]
    IncompleteBag {
        /// The path.
        file: String,
    },
    /// A file's digest differs from its manifest entry.
    #[error("{file}: {manifest} expects {expected}, file has {found}")]
    DigestMismatch {
        /// The file.
        file: String,
        /// The manifest.
        manifest: String,
        /// Digest in the manifest (lower-case hex).
        expected: String,
        /// Digest of the file (lower-case hex).
        found: String,
    },
    /// An archive entry whose bytes contradict its declared size or CRC-32.
    #[error("{error}")]
    ZipEntryIntegrity {
        /// The file (bag-relative).
        file: String,
        /// What the stream revealed.
        error: crate::zipscan::EntryIntegrityError,
    },
    /// A tag file that no tag manifest covers.
    #[error("{file}: tag file not listed in any tag manifest")]
    TagFileNotInTagManifest {
        /// The file.
        file: String,
    },
    /// `bag-info.txt` is missing.
    #[error("{file}: missing (recommended)")]
    MissingBagInfo {
        /// `bag-info.txt`.
        file: String,
    },
    /// A `Payload-Oxum` value that is not `octets.count`.
    #[error("{file}: Payload-Oxum {value:?} is malformed")]
    OxumMalformed {
        /// `bag-info.txt`.
        file: String,
        /// The value.
        value: String,
    },
    /// `Payload-Oxum` disagrees with the payload.
    #[error("{file}: Payload-Oxum says {declared_octets} bytes in {declared_files} files, payload has {found_octets} in {found_files}")]
    OxumMismatch {
        /// `bag-info.txt`.
        file: String,
        /// Declared octets.
        declared_octets: u64,
        /// Declared file count.
        declared_files: u64,
        /// Octets found.
        found_octets: u64,
        /// Files found.
        found_files: u64,
    },
}

impl BagFinding {
    /// The finding for `path` exceeding `limit`, naming at most the path's first
    /// [`limits::MAX_PATH_BYTES`] bytes.
    pub fn path_limit(path: &str, limit: PathLimit) -> BagFinding {
        BagFinding::PathLimit {
            file: shorten(path),
            limit,
        }
    }
}

/// `path` cut at a character boundary at most [`limits::MAX_PATH_BYTES`] bytes in, with `…`
/// when cut: enough to identify an entry without echoing a 60 KB name.
pub(crate) fn shorten(path: &str) -> String {
    if path.len() <= limits::MAX_PATH_BYTES {
        return path.to_owned();
    }
    let mut end = limits::MAX_PATH_BYTES;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &path[..end])
}

/// The outcome of validating one bag.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BagReport {
    /// The declared `BagIt-Version`, if `bagit.txt` could be read.
    pub version: Option<String>,
    /// Problems that make the bag invalid.
    pub errors: Vec<BagFinding>,
    /// Problems worth knowing that leave the bag valid.
    pub warnings: Vec<BagFinding>,
}

impl BagReport {
    /// Whether the bag is valid (no errors).
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// A failure that stops validation before it starts (the bag itself cannot be opened).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BagError {
    /// The path cannot be opened or read.
    #[error("cannot read {path}: {source}")]
    Open {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// Validates a bag at `path`: a directory, or a ZIP archive holding one.
pub fn validate_path(path: &Path, opts: &ValidateOptions) -> Result<BagReport, BagError> {
    let open = |source| BagError::Open {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(open)?;
    if meta.is_dir() {
        return validate_dir(path, opts);
    }
    let file = File::open(path).map_err(open)?;
    validate_zip(file, opts).map_err(open)
}

/// Validates a bag in a directory.
pub fn validate_dir(path: &Path, opts: &ValidateOptions) -> Result<BagReport, BagError> {
    let mut report = BagReport::default();
    let mut source =
        DirSource::open(path, &mut report.errors).map_err(|source| BagError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    Validator::new(&mut source, opts, report)
        .run()
        .map_err(|source| BagError::Open {
            path: path.to_path_buf(),
            source,
        })
}

/// Validates a bag inside a ZIP archive, read in place. Only I/O failures of the archive
/// itself are errors; everything else is in the report.
///
/// The archive is scanned with [`ZipProfile::ForeignBag`]: bags zipped by `zip -r`,
/// Python's `zipfile` or `bsdtar` carry data descriptors and timestamp and owner extra
/// fields that Custody's own packages never do (package verification scans with
/// [`ZipProfile::Package`]).
pub fn validate_zip<R: Read + Seek>(reader: R, opts: &ValidateOptions) -> io::Result<BagReport> {
    let profile = ZipProfile::ForeignBag;
    let mut zip =
        ZipScanner::with_profile(reader, &opts.scan_limits, profile).map_err(|e| match e {
            ZipError::Io(io) => io,
            other => io::Error::other(other),
        })?;
    validate_scanned(&mut zip, opts)
}

/// Validates the bag inside an archive already scanned (`opts.scan_limits` are then the
/// scanner's business), so that a caller checking more than BagIt scans the archive once.
pub fn validate_scanned<R: Read + Seek>(
    zip: &mut ZipScanner<R>,
    opts: &ValidateOptions,
) -> io::Result<BagReport> {
    validate_scanned_teeing(zip, opts, None)
}

/// [`validate_scanned`], handing each payload file's bytes to `tee` as they are hashed, so
/// that a caller can extract what is verified in the same reading of it. The report is the
/// same with or without a tee: a tee cannot make a reading fail.
pub fn validate_scanned_teeing<R: Read + Seek>(
    zip: &mut ZipScanner<R>,
    opts: &ValidateOptions,
    tee: Option<&mut (dyn PayloadTee + 'static)>,
) -> io::Result<BagReport> {
    let mut report = BagReport::default();
    let Some(mut source) = ZipSource::open(zip, &mut report.errors, &mut report.warnings) else {
        return Ok(report);
    };
    let mut validator = Validator::new(&mut source, opts, report);
    validator.tee = tee;
    validator.run()
}

/// Takes a copy of each payload file (`data/…`) as validation hashes it: every byte the
/// hashes see, in order, once. Whether the copy is any good is for the tee to tell its
/// owner; validation goes on regardless, and a file whose reading failed is reported as a
/// finding as usual.
pub trait PayloadTee {
    /// Where the bytes of the payload file at bag path `path` go, or `None` to take no copy.
    /// An error is kept by the tee for its owner; the file is still validated.
    fn start(&mut self, path: &str) -> Option<Box<dyn Write>>;
    /// The file at `path` was read to its end and passed the entry's own checks (size,
    /// CRC-32); `outcome` is whether every byte reached its copy.
    fn finish(&mut self, path: &str, copy: Box<dyn Write>, outcome: io::Result<()>);
}

/// A reader that writes what it reads into a copy; a write failure is kept, never returned
/// as a failure to read.
struct TeeReader<'a> {
    inner: Box<dyn Read + 'a>,
    copy: Box<dyn Write>,
    failed: Option<io::Error>,
}

impl Read for TeeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.failed.is_none() {
            if let Err(e) = self.copy.write_all(&buf[..n]) {
                self.failed = Some(e);
            }
        }
        Ok(n)
    }
}

const BAGIT_TXT: &str = "bagit.txt";
const BAG_INFO: &str = "bag-info.txt";
const PACKAGE_INFO: &str = "package-info.txt";
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const FETCH_TXT: &str = "fetch.txt";

/// A parsed manifest: file name, algorithm and `path → (hex digest, line)`.
struct Manifest {
    file: String,
    algorithm: Algorithm,
    entries: BTreeMap<String, String>,
    tag: bool,
}

struct Validator<'a, S> {
    source: &'a mut S,
    opts: &'a ValidateOptions,
    report: BagReport,
    encoding: TagEncoding,
    present: BTreeSet<String>,
    /// NFC form of each present path, for bags made on systems that store decomposed names.
    nfc: HashMap<String, String>,
    /// Tag bytes read into memory so far.
    tag_bytes: u64,
    /// Tag files refused for their compression ratio (each reported once).
    ratio_refused: BTreeSet<String>,
    /// Takes a copy of each payload file as it is hashed.
    tee: Option<&'a mut (dyn PayloadTee + 'static)>,
}

impl<'a, S: BagSource> Validator<'a, S> {
    fn new(source: &'a mut S, opts: &'a ValidateOptions, report: BagReport) -> Self {
        let present: BTreeSet<String> = source.files().iter().map(|f| f.path.clone()).collect();
        let nfc = present
            .iter()
            .map(|p| (p.nfc().collect(), p.clone()))
            .collect();
        Validator {
            source,
            opts,
            report,
            encoding: TagEncoding::Utf8,
            present,
            nfc,
            tag_bytes: 0,
            ratio_refused: BTreeSet::new(),
            tee: None,
        }
    }

    fn error(&mut self, f: BagFinding) {
        self.report.errors.push(f);
    }

    fn warn(&mut self, f: BagFinding) {
        self.report.warnings.push(f);
    }

    fn run(mut self) -> io::Result<BagReport> {
        if !self.read_declaration()? {
            return Ok(self.report);
        }
        if !self.source.has_dir("data") {
            self.error(BagFinding::MissingPayloadDirectory {
                file: "data/".into(),
            });
        }
        let fetched = self.read_fetch()?;
        self.read_bag_info()?;
        let manifests = self.read_manifests()?;
        self.check_listings(&manifests, &fetched);
        self.check_digests(&manifests)?;
        Ok(self.report)
    }

    /// Whether a tag file may be inflated to be hashed: within [`limits::MAX_TAG_RATIO`].
    /// Reports it once if not (reading it may have reported it already).
    fn tag_ratio_ok(&mut self, file: &str) -> bool {
        let Some((size, stored)) = self.source.file(file).map(|f| (f.size, f.stored)) else {
            return true;
        };
        if limits::check_tag_size(stored, size, u64::MAX).is_ok() {
            return true;
        }
        if self.ratio_refused.insert(file.to_owned()) {
            self.error(BagFinding::TagFileCompressionRatio {
                file: file.into(),
                compressed: stored,
                uncompressed: size,
                limit: limits::MAX_TAG_RATIO,
            });
        }
        false
    }

    /// Reads a tag file into memory within its limits, judged from its declared sizes
    /// before anything is inflated; `None` if absent, refused or unreadable (refused and
    /// unreadable are reported).
    fn read_tag(&mut self, file: &str) -> Option<Vec<u8>> {
        let (size, stored) = self.source.file(file).map(|f| (f.size, f.stored))?;
        let max = if file == BAGIT_TXT {
            self.opts.max_tag_file.min(limits::MAX_BAGIT_TXT)
        } else {
            self.opts.max_tag_file
        };
        match limits::check_tag_size(stored, size, max) {
            Ok(()) => {}
            Err(TagRefusal::TooLarge { size, .. }) => {
                self.error(BagFinding::TagFileTooLarge {
                    file: file.into(),
                    size,
                });
                return None;
            }
            Err(TagRefusal::Ratio {
                compressed,
                uncompressed,
            }) => {
                self.ratio_refused.insert(file.to_owned());
                self.error(BagFinding::TagFileCompressionRatio {
                    file: file.into(),
                    compressed,
                    uncompressed,
                    limit: limits::MAX_TAG_RATIO,
                });
                return None;
            }
        }
        let total = self.tag_bytes.saturating_add(size);
        if total > self.opts.max_tag_total {
            self.error(BagFinding::TagBytesExceeded {
                file: file.into(),
                total,
                limit: self.opts.max_tag_total,
            });
            return None;
        }
        self.tag_bytes = total;
        // The declared size is at most `max`, and the reader never yields more than the
        // declared size: the take is a second guard, for sources that do not enforce one.
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        let read = self
            .source
            .open(file)
            .and_then(|r| r.take(max.saturating_add(1)).read_to_end(&mut bytes));
        if let Err(e) = read {
            self.error(BagFinding::FileUnreadable {
                file: file.into(),
                error: e.to_string(),
            });
            return None;
        }
        if bytes.len() as u64 > max {
            self.error(BagFinding::TagFileTooLarge {
                file: file.into(),
                size: bytes.len() as u64,
            });
            return None;
        }
        Some(bytes)
    }

    /// Reads a tag file as text in the bag's encoding; `None` if absent or unreadable
    /// (unreadable is reported).
    fn read_text(&mut self, file: &str) -> io::Result<Option<String>> {
        let Some(bytes) = self.read_tag(file) else {
            return Ok(None);
        };
        let body = match bytes.strip_prefix(UTF8_BOM) {
            Some(rest) if self.encoding == TagEncoding::Utf8 => {
                self.warn(BagFinding::ByteOrderMark { file: file.into() });
                rest
            }
            _ => &bytes[..],
        };
        match self.encoding.decode(body) {
            Some(text) => Ok(Some(text)),
            None => {
                self.error(BagFinding::NotInDeclaredEncoding {
                    file: file.into(),
                    encoding: self.encoding,
                });
                Ok(None)
            }
        }
    }

    /// Checks `bagit.txt` as strictly as the specifications write it (RFC 8493 §2.1.1 and
    /// §2.1.1 of each draft): UTF-8 without a byte-order mark, exactly two lines,
    /// `BagIt-Version: M.N` then `Tag-File-Character-Encoding: ENCODING`, no white space
    /// before a colon and, from 1.0, one space or tab after it. Returns whether
    /// validation can go on (a version and an encoding were understood).
    fn read_declaration(&mut self) -> io::Result<bool> {
        if !self.present.contains(BAGIT_TXT) {
            self.error(BagFinding::MissingBagitTxt {
                file: BAGIT_TXT.into(),
            });
            return Ok(false);
        }
        let Some(bytes) = self.read_tag(BAGIT_TXT) else {
            return Ok(false);
        };
        let body = match bytes.strip_prefix(UTF8_BOM) {
            Some(rest) => {
                self.error(BagFinding::ByteOrderMark {
                    file: BAGIT_TXT.into(),
                });
                rest
            }
            None => &bytes[..],
        };
        let Ok(text) = std::str::from_utf8(body) else {
            self.error(BagFinding::NotInDeclaredEncoding {
                file: BAGIT_TXT.into(),
                encoding: TagEncoding::Utf8,
            });
            return Ok(false);
        };
        let declaration = parse_declaration(text);
        for (line, problem) in declaration.problems {
            self.error(BagFinding::MalformedLine {
                file: BAGIT_TXT.into(),
                line,
                problem,
            });
        }
        let mut ok = true;
        match declaration.version {
            Some(v) if SUPPORTED_VERSIONS.contains(&v.as_str()) => self.report.version = Some(v),
            Some(v) => {
                self.report.version = Some(v.clone());
                self.error(BagFinding::UnsupportedVersion {
                    file: BAGIT_TXT.into(),
                    version: v,
                });
                ok = false;
            }
            None => {
                self.error(BagFinding::MissingDeclaration {
                    file: BAGIT_TXT.into(),
                    label: "BagIt-Version".into(),
                });
                ok = false;
            }
        }
        match declaration.encoding {
            Some(e) => match TagEncoding::from_label(&e) {
                Some(enc) => self.encoding = enc,
                None => {
                    self.error(BagFinding::UnsupportedEncoding {
                        file: BAGIT_TXT.into(),
                        encoding: e,
                    });
                    ok = false;
                }
            },
            None => {
                self.error(BagFinding::MissingDeclaration {
                    file: BAGIT_TXT.into(),
                    label: "Tag-File-Character-Encoding".into(),
                });
                ok = false;
            }
        }
        Ok(ok)
    }

    /// The bag's version as numbers (validation only goes on for supported versions).
    fn version(&self) -> (u32, u32) {
        self.report
            .version
            .as_deref()
            .and_then(parse_version)
            .unwrap_or((1, 0))
    }

    /// The bag metadata file: `package-info.txt` in BagIt 0.93–0.95, `bag-info.txt` from
    /// 0.96 on (as `bagit.py` reads them).
    fn bag_info_name(&self) -> &'static str {
        if self.version() < (0, 96) {
            PACKAGE_INFO
        } else {
            BAG_INFO
        }
    }

    fn read_bag_info(&mut self) -> io::Result<()> {
        let name = self.bag_info_name();
        if !self.present.contains(name) {
            self.warn(BagFinding::MissingBagInfo { file: name.into() });
            return Ok(());
        }
        let Some(text) = self.read_text(name)? else {
            return Ok(());
        };
        let rules = LabelRules::for_version(self.version());
        let (labels, problems) = parse_labels(&text, rules);
        for (line, problem) in problems {
            self.error(BagFinding::MalformedLine {
                file: name.into(),
                line,
                problem,
            });
        }
        let oxum = labels
            .iter()
            .find(|(l, _)| l.eq_ignore_ascii_case("Payload-Oxum"))
            .map(|(_, v)| v.clone());
        if let Some(value) = oxum {
            self.check_oxum(&value);
        }
        Ok(())
    }

    fn check_oxum(&mut self, value: &str) {
        let parsed = value
            .split_once('.')
            .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)));
        let Some((declared_octets, declared_files)) = parsed else {
            self.error(BagFinding::OxumMalformed {
                file: self.bag_info_name().into(),
                value: value.into(),
            });
            return;
        };
        let payload = self
            .source
            .files()
            .iter()
            .filter(|f| f.path.starts_with("data/"));
        let (found_octets, found_files) =
            payload.fold((0u64, 0u64), |(o, n), f| (o.saturating_add(f.size), n + 1));
        if (declared_octets, declared_files) != (found_octets, found_files) {
            self.error(BagFinding::OxumMismatch {
                file: self.bag_info_name().into(),
                declared_octets,
                declared_files,
                found_octets,
                found_files,
            });
        }
    }

    /// Parses `fetch.txt` (RFC 8493 §2.2.3): the set of paths it promises. A path that
    /// leaves the bag (absolute, `..`, `~`, a drive letter) makes the bag invalid; one that
    /// stays inside but is unusual is a warning.
    fn read_fetch(&mut self) -> io::Result<BTreeSet<String>> {
        let mut paths = BTreeSet::new();
        let Some(text) = self.read_text(FETCH_TXT)? else {
            return Ok(paths);
        };
        for (n, line) in lines(&text) {
            let mut fields = line.splitn(3, [' ', '\t']).filter(|f| !f.is_empty());
            let (Some(url), Some(len), Some(path)) = (fields.next(), fields.next(), fields.next())
            else {
                self.error(BagFinding::MalformedLine {
                    file: FETCH_TXT.into(),
                    line: n,
                    problem: LineProblem::FetchFields,
                });
                continue;
            };
            if !fetch_url_ok(url) {
                self.error(BagFinding::MalformedLine {
                    file: FETCH_TXT.into(),
                    line: n,
                    problem: LineProblem::FetchUrl,
                });
            }
            if len != "-" && len.parse::<u64>().is_err() {
                self.error(BagFinding::MalformedLine {
                    file: FETCH_TXT.into(),
                    line: n,
                    problem: LineProblem::FetchLength,
                });
            }
            let path = write::decode_manifest_path(path.trim()).into_owned();
            if escapes(&path) || path.starts_with('~') {
                self.error(BagFinding::PathEscapesBag {
                    file: path,
                    manifest: FETCH_TXT.into(),
                    line: n,
                });
                continue;
            }
            if let Some(reason) = unusual_fetch_path(&path) {
                self.warn(BagFinding::FetchPathUnusual {
                    file: path.clone(),
                    line: n,
                    reason,
                });
            }
            paths.insert(path);
        }
        Ok(paths)
    }

    fn read_manifests(&mut self) -> io::Result<Vec<Manifest>> {
        let names: Vec<(String, String, bool)> = self
            .present
            .iter()
            .filter(|p| !p.contains('/'))
            .filter_map(|p| {
                let (stem, tag) = match p.strip_prefix("tagmanifest-") {
                    Some(s) => (s, true),
                    None => (p.strip_prefix("manifest-")?, false),
                };
                Some((p.clone(), stem.strip_suffix(".txt")?.to_owned(), tag))
            })
            .collect();
        let mut manifests = Vec::new();
        for (file, alg_name, tag) in names {
            let Some(algorithm) = Algorithm::from_bagit_name(&alg_name) else {
                self.warn(BagFinding::UnsupportedAlgorithm { file });
                continue;
            };
            let Some(text) = self.read_text(&file)? else {
                continue;
            };
            let entries = self.parse_manifest(&file, &text, algorithm, tag);
            manifests.push(Manifest {
                file,
                algorithm,
                entries,
                tag,
            });
        }
        let payload: Vec<&Manifest> = manifests.iter().filter(|m| !m.tag).collect();
        if payload.is_empty() {
            self.error(BagFinding::NoPayloadManifest {
                file: "manifest-<algorithm>.txt".into(),
            });
        } else if payload.iter().all(|m| m.algorithm.is_broken()) {
            let strongest = payload
                .iter()
                .max_by_key(|m| m.algorithm)
                .map(|m| m.file.clone());
            self.warn(BagFinding::WeakAlgorithmsOnly {
                file: strongest.unwrap_or_default(),
            });
        }
        Ok(manifests)
    }

    fn parse_manifest(
        &mut self,
        file: &str,
        text: &str,
        alg: Algorithm,
        tag: bool,
    ) -> BTreeMap<String, String> {
        let mut entries = BTreeMap::new();
        for (n, line) in lines(text) {
            let Some((digest, rest)) = line.split_once([' ', '\t']) else {
                self.error(BagFinding::MalformedLine {
                    file: file.into(),
                    line: n,
                    problem: LineProblem::NoPath,
                });
                continue;
            };
            let raw_path = rest.trim_start_matches([' ', '\t']);
            // md5sum's binary-mode marker, found in bags written with shell tools.
            let raw_path = raw_path.strip_prefix('*').unwrap_or(raw_path);
            if raw_path.is_empty() {
                self.error(BagFinding::MalformedLine {
                    file: file.into(),
                    line: n,
                    problem: LineProblem::NoPath,
                });
                continue;
            }
            let digest = digest.to_ascii_lowercase();
            if digest.len() != alg.digest_len() * 2
                || !digest.bytes().all(|b| b.is_ascii_hexdigit())
            {
                self.error(BagFinding::MalformedLine {
                    file: file.into(),
                    line: n,
                    problem: LineProblem::BadDigest,
                });
                continue;
            }
            let path = self.manifest_path(raw_path, file, n);
            if escapes(&path) {
                self.error(BagFinding::PathEscapesBag {
                    file: path,
                    manifest: file.into(),
                    line: n,
                });
                continue;
            }
            if !tag && !path.starts_with("data/") {
                self.error(BagFinding::PathNotInPayload {
                    file: path,
                    manifest: file.into(),
                    line: n,
                });
                continue;
            }
            if entries.insert(path.clone(), digest).is_some() {
                self.error(BagFinding::DuplicateManifestEntry {
                    file: path,
                    manifest: file.into(),
                });
            }
        }
        entries
    }

    /// The bag-relative path a manifest line names: percent-decoded (RFC 8493 §2.1.3),
    /// without a leading `./`. One exception, so that every bag `bagit.py` writes
    /// validates: `bagit.py` encodes only CR and LF, so its `data/50%25.txt` names a file
    /// called `50%25.txt`. When the decoded path names no file but the path as written
    /// does, the line refers to that file, with a warning. Each line still refers to
    /// exactly one file, so a file of the other spelling is unlisted and reported.
    fn manifest_path(&mut self, raw: &str, manifest: &str, line: usize) -> String {
        let strip = |p: String| p.strip_prefix("./").map(str::to_owned).unwrap_or(p);
        let decoded = strip(write::decode_manifest_path(raw).into_owned());
        let literal = strip(raw.to_owned());
        if decoded != literal
            && literal.contains("%25")
            && self.resolve(&decoded).is_none()
            && self.resolve(&literal).is_some()
        {
            self.warn(BagFinding::PercentNotDecoded {
                file: literal.clone(),
                manifest: manifest.into(),
                line,
            });
            return literal;
        }
        decoded
    }

    /// The present file a manifest path refers to (exactly, or after NFC normalisation).
    fn resolve(&self, path: &str) -> Option<String> {
        if self.present.contains(path) {
            return Some(path.to_owned());
        }
        let normal: String = path.nfc().collect();
        self.nfc.get(&normal).cloned()
    }

    fn check_listings(&mut self, manifests: &[Manifest], fetched: &BTreeSet<String>) {
        // Each payload path with its NFC form, normalised once for all manifests.
        let payload: Vec<(String, String)> = self
            .present
            .iter()
            .filter(|p| p.starts_with("data/"))
            .map(|p| (p.clone(), p.nfc().collect()))
            .collect();
        let mut incomplete = BTreeSet::new();
        for m in manifests {
            if !m.tag {
                let listed: BTreeSet<String> =
                    m.entries.keys().map(|p| p.nfc().collect()).collect();
                for (file, normal) in &payload {
                    if !listed.contains(normal) {
                        self.error(BagFinding::FileNotInManifest {
                            file: file.clone(),
                            manifest: m.file.clone(),
                        });
                    }
                }
            }
            for path in m.entries.keys() {
                if self.resolve(path).is_some() {
                    continue;
                }
                if fetched.contains(path) {
                    incomplete.insert(path.clone());
                } else {
                    self.error(BagFinding::MissingFile {
                        file: path.clone(),
                        manifest: m.file.clone(),
                    });
                }
            }
        }
        for file in incomplete {
            self.error(BagFinding::IncompleteBag { file });
        }
        let tag_manifests: Vec<&Manifest> = manifests.iter().filter(|m| m.tag).collect();
        if tag_manifests.is_empty() {
            return;
        }
        let tag_files: Vec<String> = self
            .present
            .iter()
            .filter(|p| !p.starts_with("data/") && !is_tag_manifest(p))
            .cloned()
            .collect();
        for file in tag_files {
            if !tag_manifests.iter().any(|m| m.entries.contains_key(&file)) {
                self.warn(BagFinding::TagFileNotInTagManifest { file });
            }
        }
    }

    fn check_digests(&mut self, manifests: &[Manifest]) -> io::Result<()> {
        // path → [(algorithm, manifest index)], so each file is read once.
        let mut wanted: BTreeMap<String, Vec<(Algorithm, usize, &str)>> = BTreeMap::new();
        for (i, m) in manifests.iter().enumerate() {
            for (path, digest) in &m.entries {
                if let Some(actual) = self.resolve(path) {
                    wanted
                        .entry(actual)
                        .or_default()
                        .push((m.algorithm, i, digest));
                }
            }
        }
        for (file, uses) in wanted {
            if !file.starts_with("data/") && !self.tag_ratio_ok(&file) {
                continue;
            }
            let mut algorithms: Vec<Algorithm> = uses.iter().map(|u| u.0).collect();
            algorithms.sort_unstable();
            algorithms.dedup();
            let mut reported = 0u64;
            let report_progress = self.opts.progress;
            let mut progress = |total: u64| {
                if let Some(report) = report_progress {
                    report(total - reported);
                }
                reported = total;
            };
            let copy = match &mut self.tee {
                Some(tee) if file.starts_with("data/") => tee.start(&file),
                _ => None,
            };
            let hashed = match (self.source.open(&file), copy) {
                (Err(e), _) => Err(e),
                (Ok(r), None) => hash_reader_multi(r, &algorithms, &mut progress),
                (Ok(inner), Some(copy)) => {
                    let mut reader = TeeReader {
                        inner,
                        copy,
                        failed: None,
                    };
                    let hashed = hash_reader_multi(&mut reader, &algorithms, &mut progress);
                    if hashed.is_ok() {
                        let TeeReader { copy, failed, .. } = reader;
                        let outcome = failed.map_or(Ok(()), Err);
                        if let Some(tee) = &mut self.tee {
                            tee.finish(&file, copy, outcome);
                        }
                    }
                    hashed
                }
            };
            let digests = match hashed {
                Ok(d) => d,
                Err(e) => {
                    let finding = match crate::zipscan::EntryIntegrityError::from_io(&e) {
                        Some(integrity) => BagFinding::ZipEntryIntegrity {
                            file: file.clone(),
                            error: integrity.clone(),
                        },
                        None => BagFinding::FileUnreadable {
                            file: file.clone(),
                            error: e.to_string(),
                        },
                    };
                    self.error(finding);
                    continue;
                }
            };
            for (alg, mi, expected) in uses {
                let Some(pos) = algorithms.iter().position(|a| *a == alg) else {
                    continue;
                };
                let Some(digest) = digests.get(pos) else {
                    continue;
                };
                let found = custody_core::hex::encode(digest);
                if found != expected {
                    let m = &manifests[mi];
                    let expected = expected.to_owned();
                    self.error(BagFinding::DigestMismatch {
                        file: file.clone(),
                        manifest: m.file.clone(),
                        expected,
                        found,
                    });
                }
            }
        }
        Ok(())
    }
}

fn is_tag_manifest(path: &str) -> bool {
    !path.contains('/') && path.starts_with("tagmanifest-") && path.ends_with(".txt")
}

/// Whether a bag-relative path leaves the bag.
fn escapes(path: &str) -> bool {
    let b = path.as_bytes();
    path.starts_with('/')
        || path.starts_with('\\')
        || (b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic())
        || path.split(['/', '\\']).any(|c| c == "..")
}

/// Splits text into numbered lines, accepting LF, CRLF and CR endings; a final line
/// ending does not start another line.
fn raw_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = text;
    let mut n = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        n += 1;
        let end = rest.find(['\r', '\n']).unwrap_or(rest.len());
        let line = &rest[..end];
        let skip = if rest[end..].starts_with("\r\n") {
            2
        } else {
            usize::from(end < rest.len())
        };
        rest = &rest[end + skip..];
        Some((n, line))
    })
}

/// Numbered non-empty lines (see [`raw_lines`]).
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    raw_lines(text).filter(|(_, l)| !l.trim().is_empty())
}

/// `Label: value` pairs in file order.
type Labels = Vec<(String, String)>;

/// How strictly a version separates a label from its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LabelRules {
    /// RFC 8493 §2.2.2 (BagIt 1.0): "a label, a colon, a single linear whitespace
    /// character, and a value"; the label "MUST NOT ... end with whitespace". The drafts
    /// (0.97 §2.2.2) separate label, colon and value by optional white space.
    strict_separator: bool,
}

impl LabelRules {
    fn for_version(version: (u32, u32)) -> LabelRules {
        LabelRules {
            strict_separator: version >= (1, 0),
        }
    }
}

/// `M.N` as numbers.
fn parse_version(version: &str) -> Option<(u32, u32)> {
    let (major, minor) = version.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(major) || !digits(minor) {
        return None;
    }
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Parses `Label: value` lines with continuation lines (starting with space or tab)
/// unfolded into one space. Returns labels in order, and problems by line number.
fn parse_labels(text: &str, rules: LabelRules) -> (Labels, Vec<(usize, LineProblem)>) {
    let mut labels: Vec<(String, String)> = Vec::new();
    let mut problems = Vec::new();
    for (n, line) in lines(text) {
        if line.starts_with([' ', '\t']) {
            match labels.last_mut() {
                Some((_, value)) => {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                None => problems.push((n, LineProblem::StrayContinuation)),
            }
            continue;
        }
        match line.split_once(':') {
            Some((label, value)) if !label.trim().is_empty() => {
                if let Some(problem) = separator_problem(label, value, rules) {
                    problems.push((n, problem));
                }
                labels.push((label.trim().to_owned(), value.trim().to_owned()));
            }
            _ => problems.push((n, LineProblem::NoLabel)),
        }
    }
    (labels, problems)
}

/// What is wrong, under `rules`, with how `label` and `value` meet at the colon.
fn separator_problem(label: &str, value: &str, rules: LabelRules) -> Option<LineProblem> {
    if !rules.strict_separator {
        return None;
    }
    if label.ends_with([' ', '\t']) {
        return Some(LineProblem::WhitespaceBeforeColon);
    }
    if !value.is_empty() && !value.starts_with([' ', '\t']) {
        return Some(LineProblem::NoWhitespaceAfterColon);
    }
    None
}

/// What `bagit.txt` declares, and what is wrong with how it says so.
struct Declaration {
    version: Option<String>,
    encoding: Option<String>,
    problems: Vec<(usize, LineProblem)>,
}

/// Parses `bagit.txt`: exactly the lines `BagIt-Version: M.N` and
/// `Tag-File-Character-Encoding: ENCODING`, in that order, labels spelt exactly so, no
/// white space before the colon in any version, one space or tab after it from 1.0 on
/// (every version writes the two lines literally so). Blank lines count as extra lines.
fn parse_declaration(text: &str) -> Declaration {
    const LABELS: [&str; 2] = ["BagIt-Version", "Tag-File-Character-Encoding"];
    let mut found: [Option<String>; 2] = [None, None];
    let mut problems = Vec::new();
    let mut separators = Vec::new();
    for (i, (n, line)) in raw_lines(text).enumerate() {
        if i >= LABELS.len() {
            problems.push((n, LineProblem::ExtraLine));
            continue;
        }
        let Some((label, value)) = line.split_once(':') else {
            problems.push((n, LineProblem::NoLabel));
            continue;
        };
        if label.trim() == LABELS[i] {
            found[i] = Some(value.trim().to_owned());
        } else {
            problems.push((n, LineProblem::UnexpectedLabel));
        }
        if label.ends_with([' ', '\t']) {
            problems.push((n, LineProblem::WhitespaceBeforeColon));
        }
        separators.push((n, value));
    }
    let [version, encoding] = found;
    let strict = version
        .as_deref()
        .and_then(parse_version)
        .is_some_and(|v| v >= (1, 0));
    if strict {
        for (n, value) in separators {
            if !value.starts_with([' ', '\t']) {
                problems.push((n, LineProblem::NoWhitespaceAfterColon));
            }
        }
    }
    problems.sort_by_key(|(n, _)| *n);
    Declaration {
        version,
        encoding,
        problems,
    }
}

/// A fetch URL as `bagit.py` accepts one: a scheme and a host, or a `file:` URL.
fn fetch_url_ok(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return false;
    }
    if scheme.eq_ignore_ascii_case("file") {
        return true;
    }
    rest.strip_prefix("//")
        .and_then(|r| r.split(['/', '?', '#']).next())
        .is_some_and(|host| !host.is_empty())
}

/// Why a fetch path that stays inside the bag is still unusual, if it is.
fn unusual_fetch_path(path: &str) -> Option<UnusualPath> {
    if path.contains('\\') {
        return Some(UnusualPath::Backslash);
    }
    if path.split('/').any(|c| c.is_empty() || c == ".") {
        return Some(UnusualPath::DotOrEmptyComponent);
    }
    if !path.starts_with("data/") {
        return Some(UnusualPath::NotInPayload);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_accept_every_ending() {
        let got: Vec<_> = lines("a\r\nb\rc\n\nd").collect();
        assert_eq!(got, vec![(1, "a"), (2, "b"), (3, "c"), (5, "d")]);
    }

    #[test]
    fn labels_unfold_continuations() {
        let (labels, problems) = parse_labels(
            "A: one\n  two\n\tthree\nB:x\n",
            LabelRules::for_version((0, 97)),
        );
        assert_eq!(
            labels,
            vec![
                ("A".into(), "one two three".into()),
                ("B".into(), "x".into())
            ]
        );
        assert!(problems.is_empty());
    }

    #[test]
    fn fail_label_line_without_colon() {
        let (_, problems) = parse_labels("A: one\nnonsense\n", LabelRules::for_version((1, 0)));
        assert_eq!(problems, vec![(2, LineProblem::NoLabel)]);
    }

    #[test]
    fn fail_continuation_first() {
        let (_, problems) = parse_labels("  stray\n", LabelRules::for_version((1, 0)));
        assert_eq!(problems, vec![(1, LineProblem::StrayContinuation)]);
    }

    #[test]
    fn escaping_paths() {
        assert!(escapes("../x"));
        assert!(escapes("data/../../x"));
        assert!(escapes("/etc/passwd"));
        assert!(escapes("C:\\x"));
        assert!(!escapes("data/..x"));
    }

    #[test]
    fn label_separators_by_version() {
        let strict = LabelRules::for_version((1, 0));
        let draft = LabelRules::for_version((0, 97));
        let (_, p) = parse_labels("A : x\nB:y\nC:\tz\nD:\n", strict);
        assert_eq!(
            p,
            vec![
                (1, LineProblem::WhitespaceBeforeColon),
                (2, LineProblem::NoWhitespaceAfterColon)
            ]
        );
        let (labels, p) = parse_labels("A : x\nB:y\n", draft);
        assert!(p.is_empty());
        assert_eq!(labels[0], ("A".into(), "x".into()));
    }

    #[test]
    fn declaration_strictness() {
        let ok = parse_declaration("BagIt-Version: 1.0\r\nTag-File-Character-Encoding: UTF-8\r\n");
        assert!(ok.problems.is_empty());
        assert_eq!(ok.version.as_deref(), Some("1.0"));
        let extra = parse_declaration("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n\n");
        assert_eq!(extra.problems, vec![(3, LineProblem::ExtraLine)]);
        let swapped = parse_declaration("Tag-File-Character-Encoding: UTF-8\nBagIt-Version: 1.0\n");
        assert_eq!(swapped.problems.len(), 2);
        assert_eq!(swapped.version, None);
        let space = parse_declaration("BagIt-Version : 0.97\nTag-File-Character-Encoding: UTF-8\n");
        assert_eq!(
            space.problems,
            vec![(1, LineProblem::WhitespaceBeforeColon)]
        );
        let tight = parse_declaration("BagIt-Version:1.0\nTag-File-Character-Encoding:UTF-8\n");
        assert_eq!(tight.problems.len(), 2);
        let tight_draft =
            parse_declaration("BagIt-Version:0.97\nTag-File-Character-Encoding:UTF-8\n");
        assert!(tight_draft.problems.is_empty());
    }

    #[test]
    fn fetch_urls() {
        assert!(fetch_url_ok("https://example.org/x"));
        assert!(fetch_url_ok("file:///tmp/x"));
        assert!(!fetch_url_ok("example.org/x"));
        assert!(!fetch_url_ok("https:///x"));
        assert!(!fetch_url_ok("1http://x"));
    }

    #[test]
    fn unusual_fetch_paths() {
        assert_eq!(unusual_fetch_path("data/x"), None);
        assert_eq!(
            unusual_fetch_path("other/x"),
            Some(UnusualPath::NotInPayload)
        );
        assert_eq!(
            unusual_fetch_path("data/./x"),
            Some(UnusualPath::DotOrEmptyComponent)
        );
        assert_eq!(unusual_fetch_path("data\\x"), Some(UnusualPath::Backslash));
    }
}
