//! Verifying a ledger published as C2SP tlog-tiles (`custody ledger verify --url`), from
//! its files alone.
//!
//! [`verify_published`] fetches the checkpoint and checks its signature under the log key
//! the caller names; then, bundle by bundle, fetches each level-0 tile and entry bundle,
//! checks that every entry hashes to its tile hash, and writes it into a local copy of the
//! ledger (a temporary SQLite file) while recomputing the tree. The recomputed root must be
//! the checkpoint's, every higher tile must equal the recomputed subtree, and the copy is
//! then verified by [`Ledger::verify`] exactly as a local ledger is (every signature, rule,
//! node and checkpoint), against every checkpoint of the same log seen before
//! ([`SeenCheckpoints`]), so a log that rewrote or cut what it once showed is caught.
//! Every download is bounded by a named limit; memory stays at one entry bundle.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use custody_core::checkpoint::{Checkpoint, CheckpointError};
use custody_core::keys::VerifierKey;
use custody_core::merkle::{self, SubtreeSource as _, TreeBuilder};
use sha2::Digest as _;

use crate::error::StoreError;
use crate::ledger::{Ledger, MAX_CHECKPOINT_NOTE_BYTES};
use crate::store::{StoredTree, Transaction, TxMode};
use crate::tiles::{
    decode_bundle, read_custody_bundle, tiles_at_level, TileError, TileId, MAX_BUNDLE_ENTRY_BYTES,
    MAX_TILE_LEVEL,
};
use crate::verify::LedgerReport;

/// The largest tile fetched: 256 hashes of 32 bytes.
pub const MAX_TILE_BYTES: u64 = 256 * 32;
/// The largest entry bundle fetched: 256 entries, each a 2-byte length and at most
/// [`MAX_BUNDLE_ENTRY_BYTES`] bytes (16,777,472 bytes).
pub const MAX_BUNDLE_BYTES: u64 = 256 * (2 + MAX_BUNDLE_ENTRY_BYTES as u64);
/// Entry bytes written into the local copy at a time while it is built (a Custody bundle
/// may hold 256 entries of up to 64 MiB each; they are written as they arrive).
const MIRROR_FLUSH_BYTES: usize = 64 << 20;
/// The most checkpoints kept for one log in a [`SeenCheckpoints`] directory; more is
/// refused (`SeenTooMany`) rather than read.
pub const MAX_SEEN_CHECKPOINTS: usize = 100_000;

/// A failed fetch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The resource is longer than the limit for its kind.
    #[error("{path}: longer than {limit} bytes")]
    TooLarge {
        /// The resource's path under the published root.
        path: String,
        /// The limit.
        limit: u64,
    },
    /// Reading a local file failed.
    #[error("{path}: {source}")]
    Io {
        /// The resource's path under the published root.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A server answered with an unexpected HTTP status.
    #[error("{path}: HTTP status {status}")]
    Status {
        /// The resource's path under the published root.
        path: String,
        /// The status code.
        status: u16,
    },
    /// The transport failed (connection, TLS, protocol).
    #[error("{path}: {source}")]
    Transport {
        /// The resource's path under the published root.
        path: String,
        /// The underlying error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Where a published ledger is read from: a directory, or a web server (in the CLI).
pub trait Source {
    /// The bytes at `path` under the published root (`checkpoint`, `tile/0/000`, …), or
    /// `None` when there is no such resource. More than `limit` bytes is
    /// [`FetchError::TooLarge`], and no more than `limit + 1` bytes are read.
    fn fetch(&mut self, path: &str, limit: u64) -> Result<Option<Vec<u8>>, FetchError>;

    /// A reader over the bytes at `path`, or `None` when there is no such resource; the
    /// caller bounds what it reads (Custody entry bundles are read one entry at a time).
    fn open(&mut self, path: &str) -> Result<Option<Box<dyn std::io::Read>>, FetchError>;
}

/// A published ledger in a local directory (an export, or a mirror of a web server).
#[derive(Clone, Debug)]
pub struct DirSource {
    root: PathBuf,
}

impl DirSource {
    /// The directory holding `checkpoint` and `tile/`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

impl DirSource {
    /// The regular file at `path` under the root, or `None` when there is none.
    fn file(&self, path: &str) -> Result<Option<std::fs::File>, FetchError> {
        let io = |source| FetchError::Io {
            path: path.to_owned(),
            source,
        };
        // Paths are the ones this module makes: plain components, `/`-separated.
        let full = path.split('/').fold(self.root.clone(), |p, c| p.join(c));
        let file = match std::fs::File::open(&full) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        if !file.metadata().map_err(io)?.is_file() {
            return Err(io(std::io::Error::other("not a regular file")));
        }
        Ok(Some(file))
    }
}

impl Source for DirSource {
    fn fetch(&mut self, path: &str, limit: u64) -> Result<Option<Vec<u8>>, FetchError> {
        match self.file(path)? {
            Some(file) => read_bounded(file, path, limit).map(Some),
            None => Ok(None),
        }
    }

    fn open(&mut self, path: &str) -> Result<Option<Box<dyn std::io::Read>>, FetchError> {
        Ok(self
            .file(path)?
            .map(|f| Box::new(std::io::BufReader::new(f)) as Box<dyn std::io::Read>))
    }
}

/// Reads at most `limit` bytes from `reader`; one more is [`FetchError::TooLarge`].
pub fn read_bounded(
    reader: impl std::io::Read,
    path: &str,
    limit: u64,
) -> Result<Vec<u8>, FetchError> {
    let mut out = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|source| FetchError::Io {
            path: path.to_owned(),
            source,
        })?;
    if out.len() as u64 > limit {
        return Err(FetchError::TooLarge {
            path: path.to_owned(),
            limit,
        });
    }
    Ok(out)
}

/// Why a published ledger could not be verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishedError {
    /// A resource could not be fetched.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A resource the checkpoint's size calls for is not published.
    #[error("{path} is not published")]
    Missing {
        /// Its path under the published root.
        path: String,
    },
    /// The checkpoint does not parse or does not verify under the log key given.
    #[error("the published checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// A tile or entry bundle is malformed, or the entries do not lead to the checkpoint.
    #[error(transparent)]
    Tile(#[from] TileError),
    /// A published tile above level 0 differs from the tree recomputed from the entries.
    #[error("tile {level}/{index} differs from the tree recomputed from the entries")]
    TileMismatch {
        /// Tile level.
        level: u8,
        /// Tile index.
        index: u64,
    },
    /// The local copy of the ledger could not be written or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The directory of seen checkpoints could not be read or written.
    #[error("{path}: {source}")]
    Seen {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// More than [`MAX_SEEN_CHECKPOINTS`] files in the directory of seen checkpoints.
    #[error("{path} holds more than {limit} checkpoints")]
    SeenTooMany {
        /// The directory.
        path: PathBuf,
        /// [`MAX_SEEN_CHECKPOINTS`].
        limit: usize,
    },
}

impl PublishedError {
    /// Whether verification ran and the publication is wrong (exit 1), as opposed to not
    /// being able to read it (exit 2).
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            PublishedError::Missing { .. }
                | PublishedError::Checkpoint(_)
                | PublishedError::TileMismatch { .. }
                | PublishedError::Tile(
                    TileError::LeafMismatch { .. }
                        | TileError::RootMismatch { .. }
                        | TileError::TileLength { .. }
                        | TileError::BundleMalformed { .. }
                )
        )
    }

    /// A snake_case code for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            PublishedError::Fetch(_) => "fetch_failed",
            PublishedError::Missing { .. } => "missing_resource",
            PublishedError::Checkpoint(_) => "checkpoint_signature",
            PublishedError::Tile(TileError::LeafMismatch { .. }) => "leaf_hash_mismatch",
            PublishedError::Tile(TileError::RootMismatch { .. }) => "checkpoint_root_mismatch",
            PublishedError::Tile(TileError::TileLength { .. }) => "tile_length",
            PublishedError::Tile(TileError::BundleMalformed { .. }) => "bundle_malformed",
            PublishedError::Tile(_) => "tile_error",
            PublishedError::TileMismatch { .. } => "tile_mismatch",
            PublishedError::Store(_) => "ledger_error",
            PublishedError::Seen { .. } | PublishedError::SeenTooMany { .. } => {
                "seen_checkpoints_unreadable"
            }
        }
    }
}

/// What [`verify_published`] found.
#[derive(Clone, Debug)]
pub struct PublishedReport {
    /// The published checkpoint, verified under the log key.
    pub checkpoint: Checkpoint,
    /// Its note text.
    pub note: String,
    /// How many checkpoints seen before were checked against it.
    pub seen: usize,
    /// Whether this checkpoint was new to the seen-checkpoints directory.
    pub newly_seen: bool,
    /// Full verification of the entries, as `custody ledger verify` reports it (the seen
    /// checkpoints are its outside checkpoints).
    pub report: LedgerReport,
}

/// Checkpoints of one log seen before, kept in a directory one file each
/// (`<sha256 of the note>.checkpoint`), so that a later checkpoint is checked against all
/// of them. Files are written atomically and never changed.
#[derive(Clone, Debug)]
pub struct SeenCheckpoints {
    dir: PathBuf,
}

impl SeenCheckpoints {
    /// The directory for `origin` under `base`: `base/<origin>` with every byte outside
    /// `[A-Za-z0-9._-]` (and a leading `.`) written `%XX`.
    pub fn for_origin(base: &Path, origin: &str) -> Self {
        Self {
            dir: base.join(origin_file_name(origin)),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every note kept (none when the directory does not exist), each at most
    /// [`MAX_CHECKPOINT_NOTE_BYTES`] (a longer file is an error, not read whole).
    pub fn load(&self) -> Result<Vec<String>, PublishedError> {
        let seen_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PublishedError::Seen { path, source }
        };
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(seen_err(&self.dir)(e)),
        };
        let mut notes = Vec::new();
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(seen_err(&self.dir))?;
            let name = entry.file_name();
            if name.to_string_lossy().ends_with(".checkpoint") {
                if names.len() == MAX_SEEN_CHECKPOINTS {
                    return Err(PublishedError::SeenTooMany {
                        path: self.dir.clone(),
                        limit: MAX_SEEN_CHECKPOINTS,
                    });
                }
                names.push(entry.path());
            }
        }
        names.sort();
        for path in names {
            let file = std::fs::File::open(&path).map_err(seen_err(&path))?;
            let bytes = read_bounded(file, &path.to_string_lossy(), MAX_CHECKPOINT_NOTE_BYTES)
                .map_err(|e| PublishedError::Seen {
                    path: path.clone(),
                    source: std::io::Error::other(e.to_string()),
                })?;
            let text = String::from_utf8(bytes).map_err(|_| PublishedError::Seen {
                path: path.clone(),
                source: std::io::Error::other("not UTF-8"),
            })?;
            notes.push(text);
        }
        Ok(notes)
    }

    /// Keeps `note`; `false` when it was already kept.
    pub fn record(&self, note: &str) -> Result<bool, PublishedError> {
        let seen_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PublishedError::Seen { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(seen_err(&self.dir))?;
        let digest = sha2::Sha256::digest(note.as_bytes());
        let path = self
            .dir
            .join(format!("{}.checkpoint", custody_core::hex::encode(&digest)));
        if path.exists() {
            return Ok(false);
        }
        let mut tmp = tempfile::Builder::new()
            .prefix(".seen-")
            .tempfile_in(&self.dir)
            .map_err(seen_err(&self.dir))?;
        std::io::Write::write_all(&mut tmp, note.as_bytes()).map_err(seen_err(&path))?;
        tmp.as_file().sync_all().map_err(seen_err(&path))?;
        match tmp.persist_noclobber(&path) {
            Ok(_) => {}
            Err(e) if path.exists() => drop(e),
            Err(e) => return Err(seen_err(&path)(e.error)),
        }
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(seen_err(&self.dir))?;
        Ok(true)
    }
}

/// A file name for `origin`: every byte outside `[A-Za-z0-9._-]` (and a leading `.`)
/// written `%XX`, so distinct origins never share a name and none escapes its directory.
pub fn origin_file_name(origin: &str) -> String {
    let mut name = String::new();
    for (i, b) in origin.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b"_-".contains(&b) || (b == b'.' && i > 0) {
            name.push(char::from(b));
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    name
}

fn fetch_required(
    source: &mut dyn Source,
    path: &str,
    limit: u64,
) -> Result<Vec<u8>, PublishedError> {
    source
        .fetch(path, limit)?
        .ok_or_else(|| PublishedError::Missing {
            path: path.to_owned(),
        })
}

/// Fetches a tile, falling back to the full tile when a partial one is no longer served
/// (the spec lets a log delete a partial tile once the full one exists); from a full tile
/// only the first `width` hashes are used.
fn fetch_tile(
    source: &mut dyn Source,
    tile: TileId,
    entries: bool,
) -> Result<Vec<u8>, PublishedError> {
    let path = |t: TileId| if entries { t.entries_path() } else { t.path() };
    let limit = if entries {
        MAX_BUNDLE_BYTES
    } else {
        MAX_TILE_BYTES
    };
    if let Some(bytes) = source.fetch(&path(tile), limit)? {
        return Ok(bytes);
    }
    if tile.is_partial() {
        let full = TileId { width: 256, ..tile };
        if let Some(bytes) = source.fetch(&path(full), limit)? {
            return Ok(bytes);
        }
    }
    Err(PublishedError::Missing { path: path(tile) })
}

/// The first `width` hashes of tile bytes that hold `width` or (a full tile fetched in place
/// of a partial one) 256 hashes.
fn tile_hashes_from(tile: TileId, bytes: &[u8]) -> Result<Vec<merkle::Hash>, TileError> {
    let want = usize::from(tile.width) * 32;
    let usable = if bytes.len() == want || (tile.is_partial() && bytes.len() == 256 * 32) {
        &bytes[..want]
    } else {
        return Err(TileError::TileLength {
            level: tile.level,
            index: tile.index,
            expected: want,
            found: bytes.len(),
        });
    };
    Ok(usable
        .chunks_exact(32)
        .map(|c| c.try_into().expect("chunks of 32"))
        .collect())
}

/// The entries of a bundle that holds `width` entries, or (a full bundle fetched in place
/// of a partial one) 256 of which the first `width` are used.
fn bundle_entries(tile: TileId, bytes: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    match decode_bundle(tile.index, bytes, tile.width) {
        Ok(entries) => Ok(entries),
        Err(e) if tile.is_partial() => decode_bundle(tile.index, bytes, 256)
            .map(|mut all| {
                all.truncate(usize::from(tile.width));
                all
            })
            .map_err(|_| e),
        Err(e) => Err(e),
    }
}

/// Takes the entries of a bundle one by one: (position in the bundle, entry bytes).
type EntrySink<'a> = dyn FnMut(usize, &[u8]) -> Result<(), PublishedError> + 'a;

/// Reads the Custody entry bundle of `tile` (`custody/entries/…`; the full bundle when a
/// partial one is no longer served, of which the first `width` entries are used), passing
/// each entry to `each`; `false` when neither is published.
fn read_custody_entries(
    source: &mut dyn Source,
    tile: TileId,
    each: &mut EntrySink<'_>,
) -> Result<bool, PublishedError> {
    let mut candidates = vec![(tile, Some(tile.width))];
    if tile.is_partial() {
        candidates.push((TileId { width: 256, ..tile }, None));
    }
    for (candidate, whole) in candidates {
        let Some(mut reader) = source.open(&candidate.custody_entries_path())? else {
            continue;
        };
        let mut failed = None;
        let read = read_custody_bundle(
            tile.index,
            &mut reader,
            tile.width,
            whole.or(Some(256)),
            &mut |i, entry| match each(i, &entry) {
                Ok(()) => Ok(()),
                Err(e) => {
                    failed = Some(e);
                    Err(TileError::BundleMalformed {
                        index: tile.index,
                        reason: "an entry was refused",
                    })
                }
            },
        );
        if let Some(e) = failed {
            return Err(e);
        }
        read?;
        return Ok(true);
    }
    Ok(false)
}

/// Verifies the ledger published at `source` under `log_key` (see the module docs).
/// `seen`, when given, is the base directory of [`SeenCheckpoints`]: the published
/// checkpoint, once its signature verifies, is kept there, and every checkpoint kept before
/// is checked against the recomputed tree. `workdir` receives the local copy (a file
/// `published.db`; the directory should be new and private, and is left to the caller to
/// remove). `outside` are further checkpoint notes the caller holds (an auditor's copy),
/// checked like the seen ones.
pub fn verify_published(
    source: &mut dyn Source,
    log_key: &VerifierKey,
    seen: Option<&Path>,
    outside: &[String],
    workdir: &Path,
) -> Result<PublishedReport, PublishedError> {
    let note_bytes = fetch_required(source, "checkpoint", MAX_CHECKPOINT_NOTE_BYTES)?;
    let (checkpoint, _, _) = Checkpoint::open(&note_bytes, std::slice::from_ref(log_key))?;
    // Checkpoint::open parsed the note as UTF-8 text already.
    let note = String::from_utf8_lossy(&note_bytes).into_owned();
    let seen_store = seen.map(|base| SeenCheckpoints::for_origin(base, &checkpoint.origin));
    let (mut earlier, newly_seen) = match &seen_store {
        Some(store) => {
            let earlier = store.load()?;
            (earlier, store.record(&note)?)
        }
        None => (Vec::new(), false),
    };

    let seen_count = earlier.len();
    earlier.extend_from_slice(outside);
    let path = workdir.join("published.db");
    let store = Ledger::create_mirror(&path, &checkpoint.origin, log_key)?;
    let tx = Transaction::begin(&*store, TxMode::Append)?;
    let mut builder = TreeBuilder::new();
    for tile in tiles_at_level(checkpoint.size, 0) {
        let leaves = tile_hashes_from(tile, &fetch_tile(source, tile, false)?)?;
        let start = tile.index * 256;
        // The same store writes as an append: a bundle's rows in a few statements, flushed
        // every `MIRROR_FLUSH_BYTES` so memory holds no more than that and one entry.
        let mut rows = Vec::new();
        let mut nodes = Vec::new();
        let mut held = 0usize;
        {
            let mut insert = |i: usize, entry: &[u8]| -> Result<(), PublishedError> {
                let seq = start + i as u64;
                let leaf = merkle::leaf_hash(entry);
                if leaves[i] != leaf {
                    return Err(TileError::LeafMismatch { seq }.into());
                }
                nodes.extend(
                    builder
                        .push(leaf)
                        .into_iter()
                        .filter(|(level, _, _)| *level > 0),
                );
                rows.push((seq, entry.to_vec(), leaf));
                held += entry.len();
                if held >= MIRROR_FLUSH_BYTES {
                    store.insert_entries(&rows)?;
                    store.insert_nodes(&nodes)?;
                    rows.clear();
                    nodes.clear();
                    held = 0;
                }
                Ok(())
            };
            if !read_custody_entries(source, tile, &mut insert)? {
                // No Custody bundle (a publication made by other software): the tlog-tiles one.
                let bundle = fetch_tile(source, tile, true)?;
                for (i, entry) in bundle_entries(tile, &bundle)?.iter().enumerate() {
                    insert(i, entry)?;
                }
            }
        }
        store.insert_entries(&rows)?;
        store.insert_nodes(&nodes)?;
    }
    if builder.root() != checkpoint.root {
        return Err(TileError::RootMismatch {
            size: checkpoint.size,
        }
        .into());
    }
    store.insert_checkpoint(checkpoint.size, &note)?;
    tx.commit()?;

    // Higher tiles serve other clients' proofs: each must be the recomputed subtree.
    for level in 1..=MAX_TILE_LEVEL {
        for tile in tiles_at_level(checkpoint.size, level) {
            let hashes = tile_hashes_from(tile, &fetch_tile(source, tile, false)?)?;
            let mut stored = StoredTree(&*store);
            for (i, hash) in hashes.iter().enumerate() {
                let index = tile.index * 256 + i as u64;
                let recomputed = stored.perfect_subtree(8 * u32::from(level), index)?;
                if &recomputed != hash {
                    return Err(PublishedError::TileMismatch {
                        level,
                        index: tile.index,
                    });
                }
            }
        }
    }
    drop(store);

    // The index tables are conveniences rebuilt from the entries, as `reindex` does.
    let mut ledger = Ledger::open(&path)?;
    ledger.reindex()?;
    let report = ledger.verify(&earlier)?;
    Ok(PublishedReport {
        checkpoint,
        note,
        seen: seen_count,
        newly_seen,
        report,
    })
}
