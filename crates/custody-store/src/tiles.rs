//! C2SP tlog-tiles: the ledger's Merkle tree and entries as static, cacheable files.
//!
//! A *tile* at level `l`, index `n` holds up to 256 consecutive Merkle tree hashes at tree
//! height `8·l`: hash `i` is the root of the perfect subtree over entries
//! `[(n·256 + i)·256^l, (n·256 + i + 1)·256^l)`. A full tile holds 256 hashes (8,192 bytes);
//! the rightmost tile of a level is *partial* (1 to 255 hashes) and is published under
//! `.p/<W>`. An *entry bundle* holds the entries of one level-0 tile, each as a big-endian
//! `u16` length followed by the entry bytes, so no entry in a bundle may be longer than
//! [`MAX_BUNDLE_ENTRY_BYTES`]. Paths encode the index in zero-padded 3-digit groups, all
//! but the last prefixed with `x` (`1234067` → `x001/x234/067`). `docs/ledger.md` §10
//! specifies the layout as Custody writes it.
//!
//! [`export`] writes a ledger's verified checkpoint, tiles and entry bundles to a new
//! directory atomically; [`TileSet`] recomputes any perfect subtree (hence any root and
//! proof) from tiles alone, which is what a client of a published ledger does.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use custody_core::merkle::{self, Hash, SubtreeSource, TreeError};

use crate::error::StoreError;
use crate::ledger::{Ledger, MAX_ENTRY_BYTES};
use crate::store::StoredTree;

/// Hashes in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Tree levels one tile level spans (`256 = 2^8`).
pub const TILE_HEIGHT: u32 = 8;
/// The longest entry an entry bundle can carry: its length prefix is a big-endian `u16`.
pub const MAX_BUNDLE_ENTRY_BYTES: usize = u16::MAX as usize;
/// The longest entry a Custody entry bundle (`custody/entries/…`) carries: the ledger's own
/// entry limit, [`MAX_ENTRY_BYTES`] (64 MiB); its length prefix is a big-endian `u32`.
pub const MAX_CUSTODY_BUNDLE_ENTRY_BYTES: u64 = MAX_ENTRY_BYTES;
/// Bytes of one hash in a tile.
const HASH_BYTES: usize = 32;
/// Highest tile level a path may name (the spec's 0 to 63).
pub const MAX_TILE_LEVEL: u8 = 63;
/// Entries read from the ledger file per SQL query while exporting.
const EXPORT_CHUNK: u64 = 4096;

/// Why tiles could not be made, written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TileError {
    /// The ledger could not be read or did not verify.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The destination already exists: an export never writes into or over anything.
    #[error("{path} already exists; export-tiles writes a new directory")]
    DestinationExists {
        /// The destination.
        path: PathBuf,
    },
    /// An entry is longer than an entry bundle's `u16` length prefix can say.
    #[error("entry {seq} is {len} bytes; an entry bundle carries at most {limit}")]
    EntryTooLargeForBundle {
        /// The entry.
        seq: u64,
        /// Its length.
        len: u64,
        /// [`MAX_BUNDLE_ENTRY_BYTES`].
        limit: usize,
    },
    /// An entry's bytes do not hash to the leaf of the tree being published (the ledger
    /// file was changed: `custody ledger verify` says how).
    #[error("entry {seq} does not hash to leaf {seq} of the tree")]
    LeafMismatch {
        /// The entry.
        seq: u64,
    },
    /// The tiles do not lead to the root of the checkpoint being published.
    #[error("the tiles for size {size} do not lead to the checkpoint's root")]
    RootMismatch {
        /// The tree size.
        size: u64,
    },
    /// A published tile would change other than by growing: the ledger's tree is not an
    /// extension of the one published (a fork); nothing more is published.
    #[error("tile {level}/{index} would change: the ledger no longer extends the published tree")]
    Forked {
        /// Tile level.
        level: u8,
        /// Tile index.
        index: u64,
    },
    /// The ledger holds fewer entries than already published.
    #[error("the ledger holds {size} entries, fewer than the {published} published")]
    Shrank {
        /// The size published.
        published: u64,
        /// The ledger's size now.
        size: u64,
    },
    /// A stored entry is missing or longer than the ledger allows.
    #[error("entry {seq} is missing or longer than {limit} bytes")]
    EntryUnreadable {
        /// The entry.
        seq: u64,
        /// [`MAX_ENTRY_BYTES`].
        limit: u64,
    },
    /// A tile needed for a subtree is not held, or is too narrow.
    #[error("tile {level}/{index} (width {width}) does not hold the hashes needed")]
    TileMissing {
        /// Tile level.
        level: u8,
        /// Tile index.
        index: u64,
        /// Width held (0 when none).
        width: u16,
    },
    /// Tile bytes that are not `32 × width` long.
    #[error("tile {level}/{index}: {found} bytes, expected {expected}")]
    TileLength {
        /// Tile level.
        level: u8,
        /// Tile index.
        index: u64,
        /// Bytes expected.
        expected: usize,
        /// Bytes found.
        found: usize,
    },
    /// An entry bundle that does not parse as `width` length-prefixed entries.
    #[error("entry bundle {index}: {reason}")]
    BundleMalformed {
        /// Bundle index.
        index: u64,
        /// What is wrong.
        reason: &'static str,
    },
}

/// One tile (or entry bundle, at level 0): its level, index and width (256 when full).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// Tile level: hashes at tree height `8 · level`.
    pub level: u8,
    /// Index within the level.
    pub index: u64,
    /// Number of hashes, 1 to 256.
    pub width: u16,
}

impl TileId {
    /// Whether the tile holds fewer than 256 hashes.
    pub fn is_partial(&self) -> bool {
        u64::from(self.width) < TILE_WIDTH
    }

    /// `tile/<L>/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        format!("tile/{}/{}", self.level, self.suffix())
    }

    /// `tile/entries/<N>[.p/<W>]` (meaningful for level 0).
    pub fn entries_path(&self) -> String {
        format!("tile/entries/{}", self.suffix())
    }

    /// `custody/entries/<N>[.p/<W>]`: the same entries in the Custody bundle format (a
    /// big-endian `u32` length before each), which carries entries of any size the ledger
    /// holds (meaningful for level 0).
    pub fn custody_entries_path(&self) -> String {
        format!("custody/entries/{}", self.suffix())
    }

    fn suffix(&self) -> String {
        let mut out = encode_index(self.index);
        if self.is_partial() {
            out.push_str(&format!(".p/{}", self.width));
        }
        out
    }
}

/// The tile-path form of an index: zero-padded 3-digit groups, all but the last prefixed
/// with `x` (`1234067` → `x001/x234/067`, `5` → `005`).
pub fn encode_index(index: u64) -> String {
    let mut groups = Vec::new();
    let mut n = index;
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, g)| {
            if i == last {
                format!("{g:03}")
            } else {
                format!("x{g:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every tile a tree of `size` leaves is published as, level by level, in index order: the
/// full tiles and, where `size` is not a multiple, the partial one. Empty tiles are never
/// listed (a tree of size 0 has none).
pub fn tiles_for_size(size: u64) -> Vec<TileId> {
    (0..=MAX_TILE_LEVEL)
        .flat_map(|level| tiles_at_level(size, level))
        .collect()
}

/// The tiles of one level for a tree of `size` leaves: ⌊size / 256^(level+1)⌋ full tiles,
/// then the partial one of width ⌊size / 256^level⌋ mod 256 when that is not 0.
pub fn tiles_at_level(size: u64, level: u8) -> impl Iterator<Item = TileId> {
    let hashes = size
        .checked_shr(TILE_HEIGHT * u32::from(level))
        .unwrap_or(0);
    let full = hashes / TILE_WIDTH;
    let rest = (hashes % TILE_WIDTH) as u16;
    (0..full)
        .map(move |index| TileId {
            level,
            index,
            width: TILE_WIDTH as u16,
        })
        .chain((rest > 0).then_some(TileId {
            level,
            index: full,
            width: rest,
        }))
}

/// The hashes of `tile`, read from `source` (level `8 · tile.level`, indices
/// `tile.index · 256 ..` + width).
pub fn tile_hashes<S: SubtreeSource + ?Sized>(
    source: &mut S,
    tile: TileId,
) -> Result<Vec<Hash>, TreeError<S::Error>> {
    let first = tile.index.checked_mul(TILE_WIDTH).ok_or(TreeError::Proof(
        merkle::ProofError::IndexOutOfRange {
            index: tile.index,
            size: u64::MAX,
        },
    ))?;
    (0..u64::from(tile.width))
        .map(|i| source.perfect_subtree(TILE_HEIGHT * u32::from(tile.level), first + i))
        .map(|r| r.map_err(TreeError::Source))
        .collect()
}

/// Tile bytes: the hashes concatenated.
pub fn tile_bytes(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

/// Encodes entries as an entry bundle: each a big-endian `u16` length, then its bytes.
/// `entries` yields `(seq, bytes)`; an entry longer than [`MAX_BUNDLE_ENTRY_BYTES`] is
/// refused, naming its seq.
pub fn encode_bundle<'a>(
    entries: impl IntoIterator<Item = (u64, &'a [u8])>,
) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::new();
    for (seq, bytes) in entries {
        let len = u16::try_from(bytes.len()).map_err(|_| TileError::EntryTooLargeForBundle {
            seq,
            len: bytes.len() as u64,
            limit: MAX_BUNDLE_ENTRY_BYTES,
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(bytes);
    }
    Ok(out)
}

/// Decodes entry bundle `index`, which must hold exactly `width` entries and nothing after
/// them.
pub fn decode_bundle(index: u64, bytes: &[u8], width: u16) -> Result<Vec<&[u8]>, TileError> {
    let malformed = |reason| TileError::BundleMalformed { index, reason };
    let mut out = Vec::with_capacity(usize::from(width));
    let mut rest = bytes;
    for _ in 0..width {
        let (len, tail) = rest
            .split_first_chunk::<2>()
            .ok_or(malformed("ends inside a length prefix"))?;
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            return Err(malformed("an entry runs past the end of the bundle"));
        }
        let (entry, tail) = tail.split_at(len);
        out.push(entry);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(malformed("bytes after the last entry"));
    }
    Ok(out)
}

/// Encodes entries as a Custody entry bundle: each a big-endian `u32` length, then its
/// bytes. An entry longer than [`MAX_CUSTODY_BUNDLE_ENTRY_BYTES`] is refused, naming its seq
/// (the ledger never holds one).
pub fn encode_custody_bundle<'a>(
    entries: impl IntoIterator<Item = (u64, &'a [u8])>,
) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::new();
    for (seq, bytes) in entries {
        let len = u32::try_from(bytes.len())
            .ok()
            .filter(|l| u64::from(*l) <= MAX_CUSTODY_BUNDLE_ENTRY_BYTES)
            .ok_or(TileError::EntryUnreadable {
                seq,
                limit: MAX_CUSTODY_BUNDLE_ENTRY_BYTES,
            })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(bytes);
    }
    Ok(out)
}

/// Reads Custody entry bundle `index` from `reader`, one entry at a time: exactly `take`
/// entries are passed to `each` (in order, each at most [`MAX_CUSTODY_BUNDLE_ENTRY_BYTES`]
/// and read only once its length is known to be within it); when `whole` is `width`
/// entries, nothing may follow the last of them. Memory holds one entry.
pub fn read_custody_bundle(
    index: u64,
    reader: &mut dyn std::io::Read,
    take: u16,
    whole: Option<u16>,
    each: &mut dyn FnMut(usize, Vec<u8>) -> Result<(), TileError>,
) -> Result<(), TileError> {
    use std::io::Read as _;
    let malformed = |reason| TileError::BundleMalformed { index, reason };
    let count = whole.unwrap_or(take).max(take);
    for i in 0..usize::from(count) {
        let mut prefix = [0u8; 4];
        reader
            .read_exact(&mut prefix)
            .map_err(|_| malformed("ends inside a length prefix"))?;
        let len = u64::from(u32::from_be_bytes(prefix));
        if len > MAX_CUSTODY_BUNDLE_ENTRY_BYTES {
            return Err(malformed("an entry is longer than a ledger entry may be"));
        }
        let mut entry = Vec::new();
        reader
            .take(len)
            .read_to_end(&mut entry)
            .map_err(|_| malformed("an entry cannot be read"))?;
        if entry.len() as u64 != len {
            return Err(malformed("an entry runs past the end of the bundle"));
        }
        if i < usize::from(take) {
            each(i, entry)?;
        }
    }
    if whole.is_some() {
        let mut extra = [0u8; 1];
        if reader
            .read(&mut extra)
            .map_err(|_| malformed("cannot be read"))?
            != 0
        {
            return Err(malformed("bytes after the last entry"));
        }
    }
    Ok(())
}

/// Tiles held in memory, answering any perfect subtree they cover: a subtree at tree
/// height `8·l + r` is the root of `2^r` consecutive hashes of a level-`l` tile. What a
/// client of a published ledger recomputes roots and proofs from.
#[derive(Clone, Debug, Default)]
pub struct TileSet {
    tiles: HashMap<(u8, u64), Vec<Hash>>,
}

impl TileSet {
    /// No tiles.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tile from its bytes, which must be exactly `32 × tile.width` long. A tile
    /// already held is replaced only by a wider one.
    pub fn insert_bytes(&mut self, tile: TileId, bytes: &[u8]) -> Result<(), TileError> {
        let expected = usize::from(tile.width) * HASH_BYTES;
        if bytes.len() != expected || tile.width == 0 || u64::from(tile.width) > TILE_WIDTH {
            return Err(TileError::TileLength {
                level: tile.level,
                index: tile.index,
                expected,
                found: bytes.len(),
            });
        }
        let hashes = bytes
            .chunks_exact(HASH_BYTES)
            .map(|c| c.try_into().expect("chunks of 32"))
            .collect();
        self.insert(tile.level, tile.index, hashes);
        Ok(())
    }

    /// Adds a tile's hashes (at most 256).
    pub fn insert(&mut self, level: u8, index: u64, hashes: Vec<Hash>) {
        let slot = self.tiles.entry((level, index)).or_default();
        if hashes.len() > slot.len() {
            *slot = hashes;
        }
    }

    /// The hashes held for a tile, if any.
    pub fn get(&self, level: u8, index: u64) -> Option<&[Hash]> {
        self.tiles.get(&(level, index)).map(Vec::as_slice)
    }
}

impl SubtreeSource for TileSet {
    type Error = TileError;
    fn perfect_subtree(&mut self, level: u32, index: u64) -> Result<Hash, TileError> {
        let tile_level = level / TILE_HEIGHT;
        let r = level % TILE_HEIGHT;
        let missing = |index, width| TileError::TileMissing {
            level: u8::try_from(tile_level).unwrap_or(u8::MAX),
            index,
            width,
        };
        let Ok(tile_level_u8) = u8::try_from(tile_level) else {
            return Err(missing(0, 0));
        };
        let Some(first) = index.checked_shl(r).filter(|f| f >> r == index) else {
            return Err(missing(u64::MAX, 0));
        };
        let tile_index = first / TILE_WIDTH;
        let offset = (first % TILE_WIDTH) as usize;
        let count = 1usize << r;
        let held = self.get(tile_level_u8, tile_index).unwrap_or(&[]);
        let Some(run) = held.get(offset..offset + count) else {
            return Err(missing(tile_index, held.len() as u16));
        };
        let mut layer = run.to_vec();
        while layer.len() > 1 {
            layer = layer
                .chunks_exact(2)
                .map(|p| merkle::node_hash(&p[0], &p[1]))
                .collect();
        }
        Ok(layer[0])
    }
}

/// What [`export`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exported {
    /// The tree size published (the verified checkpoint's).
    pub size: u64,
    /// The checkpoint note published at `checkpoint`.
    pub checkpoint: String,
    /// Hash tiles written.
    pub tiles: u64,
    /// Entry bundles written (`tile/entries/…`).
    pub bundles: u64,
    /// Custody entry bundles written (`custody/entries/…`), one per level-0 tile.
    pub custody_bundles: u64,
    /// Entry bundles not written because an entry in them is longer than
    /// [`MAX_BUNDLE_ENTRY_BYTES`]: the bundle's path and that entry's seq. Their entries
    /// are in the Custody bundles.
    pub omitted: Vec<(String, u64)>,
}

/// Writes `ledger`'s newest verified checkpoint, its hash tiles and entry bundles to `dest`,
/// a directory that must not exist. Everything is written into a temporary directory beside
/// `dest` (each file fsynced), then renamed into place, so `dest` appears whole or not at
/// all. Tiles are read from the stored tree nodes; every entry's bytes must hash to its
/// level-0 tile hash, and the root recomputed from the tiles must be the checkpoint's, so
/// nothing that the log key did not sign is published.
pub fn export(ledger: &Ledger, dest: &Path) -> Result<Exported, TileError> {
    if dest.symlink_metadata().is_ok() {
        return Err(TileError::DestinationExists {
            path: dest.to_path_buf(),
        });
    }
    let publication = Publication::build(ledger)?;
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TileError::Io { path, source }
    };
    let staging = tempfile::Builder::new()
        .prefix(".custody-tiles-")
        .tempdir_in(&parent)
        .map_err(io(&parent))?;
    let root = staging.path();
    let mut bundles = 0u64;
    let mut custody_bundles = 0u64;
    let mut omitted = Vec::new();
    for tile in publication.tiles() {
        let bytes = publication
            .tile_bytes(*tile)
            .ok_or(TileError::RootMismatch {
                size: publication.size(),
            })?;
        write_file(root, &tile.path(), &bytes)?;
        if tile.level == 0 {
            let missing = || TileError::RootMismatch {
                size: publication.size(),
            };
            let custody = publication
                .custody_bundle(ledger, *tile)?
                .ok_or_else(missing)?;
            write_file(root, &tile.custody_entries_path(), &custody)?;
            custody_bundles += 1;
            match publication.bundle(ledger, *tile) {
                Ok(bundle) => {
                    write_file(root, &tile.entries_path(), &bundle.ok_or_else(missing)?)?;
                    bundles += 1;
                }
                Err(TileError::EntryTooLargeForBundle { seq, .. }) => {
                    omitted.push((tile.entries_path(), seq));
                }
                Err(e) => return Err(e),
            }
        }
    }
    write_file(root, "checkpoint", publication.note.as_bytes())?;
    sync_dirs(root)?;
    std::fs::rename(root, dest).map_err(io(dest))?;
    // The staging directory is now `dest`; keep it.
    let _ = staging.keep();
    sync_dir(&parent)?;
    Ok(Exported {
        size: publication.size(),
        tiles: publication.tiles().len() as u64,
        checkpoint: publication.note,
        bundles,
        custody_bundles,
        omitted,
    })
}

/// A ledger's newest verified checkpoint with every tile of its tree, held in memory
/// (32 bytes per entry and a little more) and bound to the checkpoint: the tiles are read
/// from the stored tree nodes and the root recomputed from them must be the checkpoint's.
/// What [`export`] writes and `custody serve` answers from.
#[derive(Clone, Debug)]
pub struct Publication {
    /// The checkpoint published.
    pub checkpoint: custody_core::checkpoint::Checkpoint,
    /// Its note, exactly as stored.
    pub note: String,
    set: TileSet,
    list: Vec<TileId>,
}

impl Publication {
    /// Reads the newest verified checkpoint and its tiles (see the type's docs).
    pub fn build(ledger: &Ledger) -> Result<Publication, TileError> {
        let (checkpoint, note) = ledger.latest_checkpoint()?;
        let size = checkpoint.size;
        let mut set = TileSet::new();
        let mut stored = StoredTree(&*ledger.store);
        let list = tiles_for_size(size);
        for tile in &list {
            let hashes = tile_hashes(&mut stored, *tile).map_err(|e| match e {
                TreeError::Proof(p) => TileError::Store(StoreError::Proof(p)),
                TreeError::Source(s) => TileError::Store(s),
            })?;
            set.insert(tile.level, tile.index, hashes);
        }
        // The tiles must lead to the signed root before anything is bound to them.
        let recomputed = merkle::tree_root(&mut set, size).map_err(|e| match e {
            TreeError::Proof(p) => TileError::Store(StoreError::Proof(p)),
            TreeError::Source(s) => s,
        })?;
        if recomputed != checkpoint.root {
            return Err(TileError::RootMismatch { size });
        }
        Ok(Publication {
            checkpoint,
            note,
            set,
            list,
        })
    }

    /// Brings the publication up to the ledger's newest verified checkpoint, reading only
    /// the tiles that changed (the rightmost of each level, and the new ones): O(log n)
    /// work per append, not a rebuild. A tile already published may only grow: its hashes
    /// must stay a prefix of the new ones (else [`TileError::Forked`]), and the root
    /// recomputed from the tiles must be the new checkpoint's (else
    /// [`TileError::RootMismatch`]); on any error the publication is left as it was. A
    /// ledger that shrank is [`TileError::Shrank`]. Returns whether anything changed.
    pub fn update(&mut self, ledger: &Ledger) -> Result<bool, TileError> {
        let (checkpoint, note) = ledger.latest_checkpoint()?;
        let size = checkpoint.size;
        if size < self.size() {
            return Err(TileError::Shrank {
                published: self.size(),
                size,
            });
        }
        if size == self.size() {
            if checkpoint.root != self.checkpoint.root {
                return Err(TileError::RootMismatch { size });
            }
            return Ok(false);
        }
        let list = tiles_for_size(size);
        let mut stored = StoredTree(&*ledger.store);
        let mut changed = Vec::new();
        for tile in &list {
            let held = self.set.get(tile.level, tile.index).unwrap_or(&[]);
            if held.len() >= usize::from(tile.width) {
                continue;
            }
            let hashes = tile_hashes(&mut stored, *tile).map_err(|e| match e {
                TreeError::Proof(p) => TileError::Store(StoreError::Proof(p)),
                TreeError::Source(s) => TileError::Store(s),
            })?;
            if hashes.get(..held.len()) != Some(held) {
                return Err(TileError::Forked {
                    level: tile.level,
                    index: tile.index,
                });
            }
            changed.push((*tile, hashes));
        }
        let mut previous = Vec::with_capacity(changed.len());
        for (tile, hashes) in changed {
            let old = self.set.tiles.insert((tile.level, tile.index), hashes);
            previous.push(((tile.level, tile.index), old));
        }
        let recomputed = merkle::tree_root(&mut self.set, size);
        if !matches!(recomputed, Ok(root) if root == checkpoint.root) {
            for (key, old) in previous {
                match old {
                    Some(hashes) => self.set.tiles.insert(key, hashes),
                    None => self.set.tiles.remove(&key),
                };
            }
            return Err(TileError::RootMismatch { size });
        }
        self.checkpoint = checkpoint;
        self.note = note;
        self.list = list;
        Ok(true)
    }

    /// The tree size published.
    pub fn size(&self) -> u64 {
        self.checkpoint.size
    }

    /// Every tile of the tree, as [`tiles_for_size`] lists them.
    pub fn tiles(&self) -> &[TileId] {
        &self.list
    }

    /// The bytes of `tile` when all its hashes are in the published tree: a full tile, the
    /// current partial tile, or a narrower partial tile of an earlier size (its hashes never
    /// change). `None` otherwise.
    pub fn tile_bytes(&self, tile: TileId) -> Option<Vec<u8>> {
        let held = self.set.get(tile.level, tile.index)?;
        held.get(..usize::from(tile.width)).map(tile_bytes)
    }

    /// The entry bundle of level-0 `tile` (any width whose entries are all published),
    /// read from `ledger`; each entry must hash to its published leaf (`LeafMismatch`).
    pub fn bundle(&self, ledger: &Ledger, tile: TileId) -> Result<Option<Vec<u8>>, TileError> {
        let Some((start, entries)) = self.checked_entries(ledger, tile)? else {
            return Ok(None);
        };
        encode_bundle(
            entries
                .iter()
                .enumerate()
                .map(|(i, b)| (start + i as u64, b.as_slice())),
        )
        .map(Some)
    }
}

/// The first seq of a level-0 tile and its entries, each hashed to its published leaf.
type CheckedEntries = (u64, Vec<Vec<u8>>);

impl Publication {
    /// The Custody entry bundle of level-0 `tile` (`custody/entries/…`), on the same
    /// conditions as [`Publication::bundle`]; it carries entries of any size.
    pub fn custody_bundle(
        &self,
        ledger: &Ledger,
        tile: TileId,
    ) -> Result<Option<Vec<u8>>, TileError> {
        let Some((start, entries)) = self.checked_entries(ledger, tile)? else {
            return Ok(None);
        };
        encode_custody_bundle(
            entries
                .iter()
                .enumerate()
                .map(|(i, b)| (start + i as u64, b.as_slice())),
        )
        .map(Some)
    }

    /// The entries of level-0 `tile`, each hashed to its published leaf.
    fn checked_entries(
        &self,
        ledger: &Ledger,
        tile: TileId,
    ) -> Result<Option<CheckedEntries>, TileError> {
        if tile.level != 0 {
            return Ok(None);
        }
        let Some(leaves) = self.set.get(0, tile.index) else {
            return Ok(None);
        };
        let Some(leaves) = leaves.get(..usize::from(tile.width)) else {
            return Ok(None);
        };
        let start = tile.index * TILE_WIDTH;
        let end = start + u64::from(tile.width);
        let entries = read_entries(ledger, start, end)?;
        for (i, bytes) in entries.iter().enumerate() {
            if leaves.get(i) != Some(&merkle::leaf_hash(bytes)) {
                return Err(TileError::LeafMismatch {
                    seq: start + i as u64,
                });
            }
        }
        Ok(Some((start, entries)))
    }
}

/// What a published path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// `checkpoint`.
    Checkpoint,
    /// `tile/<L>/<N>[.p/<W>]`.
    Tile(TileId),
    /// `tile/entries/<N>[.p/<W>]`.
    Entries(TileId),
    /// `custody/entries/<N>[.p/<W>]`: the Custody bundle format.
    CustodyEntries(TileId),
}

impl Resource {
    /// Parses a path under the published root, accepting only the spec's canonical forms
    /// (no leading zeros, `x`-prefixed 3-digit groups with no leading `x000`, level 0 to
    /// 63, width 1 to 255 after `.p/`). Anything else is `None`.
    pub fn parse(path: &str) -> Option<Resource> {
        if path == "checkpoint" {
            return Some(Resource::Checkpoint);
        }
        if let Some(rest) = path.strip_prefix("custody/entries/") {
            return match Resource::parse(&format!("tile/entries/{rest}"))? {
                Resource::Entries(tile) => Some(Resource::CustodyEntries(tile)),
                _ => None,
            };
        }
        let rest = path.strip_prefix("tile/")?;
        let (entries, level, rest) = match rest.strip_prefix("entries/") {
            Some(rest) => (true, 0u8, rest),
            None => {
                let (l, rest) = rest.split_once('/')?;
                let level = canonical_decimal(l)?;
                (
                    false,
                    u8::try_from(level).ok().filter(|l| *l <= MAX_TILE_LEVEL)?,
                    rest,
                )
            }
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((n, w)) => {
                let w = canonical_decimal(w)?;
                (n, u16::try_from(w).ok().filter(|w| (1..256).contains(w))?)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let groups: Vec<&str> = index_part.split('/').collect();
        let (last, prefix) = groups.split_last()?;
        let mut index: u64 = 0;
        for (i, g) in prefix.iter().enumerate() {
            let digits = g.strip_prefix('x')?;
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            if i == 0 && digits == "000" {
                return None;
            }
            index = index.checked_mul(1000)?.checked_add(digits.parse().ok()?)?;
        }
        if last.len() != 3 || !last.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        index = index.checked_mul(1000)?.checked_add(last.parse().ok()?)?;
        let tile = TileId {
            level,
            index,
            width,
        };
        Some(if entries {
            Resource::Entries(tile)
        } else {
            Resource::Tile(tile)
        })
    }
}

/// A decimal without leading zeros (`0` itself allowed), at most 3 digits.
fn canonical_decimal(text: &str) -> Option<u64> {
    if text.is_empty()
        || text.len() > 3
        || !text.bytes().all(|b| b.is_ascii_digit())
        || (text.len() > 1 && text.starts_with('0'))
    {
        return None;
    }
    text.parse().ok()
}

/// Entries `[start, end)`, raw, in order: each present and at most [`MAX_ENTRY_BYTES`].
fn read_entries(ledger: &Ledger, start: u64, end: u64) -> Result<Vec<Vec<u8>>, TileError> {
    let unreadable = |seq| TileError::EntryUnreadable {
        seq,
        limit: MAX_ENTRY_BYTES,
    };
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        let limit = usize::try_from((end - at).min(EXPORT_CHUNK)).unwrap_or(usize::MAX);
        // Each round reads entry `at` or fails, so the loop ends.
        let rows = ledger.store.entries_after(at.checked_sub(1), limit)?;
        if rows.is_empty() {
            return Err(unreadable(at));
        }
        for (seq, bytes, _) in rows {
            match bytes {
                Some(bytes) if seq == at => out.push(bytes),
                _ => return Err(unreadable(at)),
            }
            at += 1;
        }
    }
    Ok(out)
}

/// Writes `rel` (with `/` separators) under `root`, creating directories, and fsyncs it.
fn write_file(root: &Path, rel: &str, bytes: &[u8]) -> Result<(), TileError> {
    let path = rel.split('/').fold(root.to_path_buf(), |p, c| p.join(c));
    let io = |source| TileError::Io {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

fn sync_dir(dir: &Path) -> Result<(), TileError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| TileError::Io {
            path: dir.to_path_buf(),
            source,
        })
}

/// Fsyncs every directory under `root` (iteratively), so the renamed tree is durable.
fn sync_dirs(root: &Path) -> Result<(), TileError> {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| TileError::Io {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| TileError::Io {
                path: dir.clone(),
                source,
            })?;
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(entry.path());
            }
        }
        sync_dir(&dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_core::merkle::MemoryTree;

    #[test]
    fn index_paths_follow_the_spec() {
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(5), "005");
        assert_eq!(encode_index(999), "999");
        assert_eq!(encode_index(1000), "x001/000");
        assert_eq!(encode_index(1_234_067), "x001/x234/067");
        let t = TileId {
            level: 1,
            index: 1_234_067,
            width: 17,
        };
        assert_eq!(t.path(), "tile/1/x001/x234/067.p/17");
        let full = TileId {
            level: 0,
            index: 3,
            width: 256,
        };
        assert_eq!(full.path(), "tile/0/003");
        assert_eq!(full.entries_path(), "tile/entries/003");
    }

    /// The spec's example: size 70,000 is 273 full level-0 tiles, a partial of width 112,
    /// one full level-1 tile, a partial level-1 of width 17 and a partial level-2 of width 1.
    #[test]
    fn tiles_for_the_specs_example_sizes() {
        let tiles = tiles_for_size(70_000);
        let at = |l: u8| tiles.iter().filter(move |t| t.level == l);
        assert_eq!(at(0).filter(|t| !t.is_partial()).count(), 273);
        assert_eq!(
            at(0)
                .filter(|t| t.is_partial())
                .map(|t| t.width)
                .collect::<Vec<_>>(),
            [112]
        );
        assert_eq!(at(1).filter(|t| !t.is_partial()).count(), 1);
        assert_eq!(
            at(1)
                .filter(|t| t.is_partial())
                .map(|t| t.width)
                .collect::<Vec<_>>(),
            [17]
        );
        assert_eq!(at(2).map(|t| t.width).collect::<Vec<_>>(), [1]);
        assert_eq!(tiles.len(), 273 + 1 + 1 + 1 + 1);
        // Size 256: one full level-0 tile and a level-1 partial of width 1.
        let tiles = tiles_for_size(256);
        assert_eq!(
            tiles,
            [
                TileId {
                    level: 0,
                    index: 0,
                    width: 256
                },
                TileId {
                    level: 1,
                    index: 0,
                    width: 1
                }
            ]
        );
        assert!(tiles_for_size(0).is_empty());
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| merkle::leaf_hash(&i.to_be_bytes()))
            .collect()
    }

    /// Roots and proofs recomputed from tiles alone equal those of the whole tree, at sizes
    /// around every tile boundary.
    #[test]
    fn tiles_recompute_every_root_and_proof() {
        let all = leaves(70_000);
        let mut memory = MemoryTree::from_leaves(all.iter().copied());
        for size in [
            1u64, 2, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537, 70_000,
        ] {
            let mut set = TileSet::new();
            for tile in tiles_for_size(size) {
                let hashes = tile_hashes(&mut memory, tile).unwrap();
                set.insert_bytes(tile, &tile_bytes(&hashes)).unwrap();
            }
            assert_eq!(
                merkle::tree_root(&mut set, size).unwrap(),
                merkle::tree_root(all[..size as usize].to_vec().as_mut_slice(), size).unwrap(),
                "size {size}"
            );
            let leaf = size / 2;
            let proof = merkle::inclusion_proof(&mut set, leaf, size).unwrap();
            let root = merkle::tree_root(&mut memory, size).unwrap();
            proof.verify(&all[leaf as usize], &root).unwrap();
            if size > 1 {
                let old = size - 1;
                let c = merkle::consistency_proof(&mut set, old, size).unwrap();
                c.verify(&merkle::tree_root(&mut memory, old).unwrap(), &root)
                    .unwrap();
            }
        }
    }

    #[test]
    fn fail_tile_of_wrong_length_is_refused() {
        let mut set = TileSet::new();
        let tile = TileId {
            level: 0,
            index: 0,
            width: 2,
        };
        assert!(matches!(
            set.insert_bytes(tile, &[0u8; 63]),
            Err(TileError::TileLength {
                expected: 64,
                found: 63,
                ..
            })
        ));
        assert!(matches!(
            set.insert_bytes(tile, &[0u8; 96]),
            Err(TileError::TileLength { .. })
        ));
        // A subtree the tiles do not cover is an error, not a panic.
        set.insert_bytes(tile, &[0u8; 64]).unwrap();
        assert!(matches!(
            set.perfect_subtree(2, 0),
            Err(TileError::TileMissing { .. })
        ));
        assert!(set.perfect_subtree(63, u64::MAX).is_err());
    }

    #[test]
    fn resource_paths_parse_only_in_canonical_form() {
        let t = |level, index, width| TileId {
            level,
            index,
            width,
        };
        assert_eq!(Resource::parse("checkpoint"), Some(Resource::Checkpoint));
        assert_eq!(
            Resource::parse("tile/1/x001/x234/067.p/17"),
            Some(Resource::Tile(t(1, 1_234_067, 17)))
        );
        assert_eq!(
            Resource::parse("tile/entries/000"),
            Some(Resource::Entries(t(0, 0, 256)))
        );
        assert_eq!(
            Resource::parse("custody/entries/x001/000.p/5"),
            Some(Resource::CustodyEntries(t(0, 1000, 5)))
        );
        for bad in [
            "custody/entries/0",
            "custody/entries/tile/entries/000",
            "custody/1/000",
        ] {
            assert_eq!(Resource::parse(bad), None, "{bad}");
        }
        assert_eq!(
            Resource::parse("tile/63/999"),
            Some(Resource::Tile(t(63, 999, 256)))
        );
        for tile in tiles_for_size(70_000) {
            assert_eq!(Resource::parse(&tile.path()), Some(Resource::Tile(tile)));
            if tile.level == 0 {
                assert_eq!(
                    Resource::parse(&tile.entries_path()),
                    Some(Resource::Entries(tile))
                );
            }
        }
        for bad in [
            "tile/64/000",
            "tile/01/000",
            "tile/0/5",
            "tile/0/0005",
            "tile/0/x000/005",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/017",
            "tile/0/000/",
            "tile/0/../000",
            "tile/0/x1/000",
            "tile/0/x999/x999/x999/x999/x999/x999/x999/000",
            "tile/entries/0",
            "checkpoint/",
            "",
        ] {
            assert_eq!(Resource::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn bundles_round_trip_at_the_length_limit() {
        let big = vec![7u8; MAX_BUNDLE_ENTRY_BYTES];
        let small = b"{}".to_vec();
        let bundle =
            encode_bundle([(0, big.as_slice()), (1, small.as_slice()), (2, &[][..])]).unwrap();
        assert_eq!(&bundle[..2], &[0xff, 0xff]);
        let back = decode_bundle(0, &bundle, 3).unwrap();
        assert_eq!(back, [big.as_slice(), small.as_slice(), &[][..]]);
    }

    #[test]
    fn fail_entry_one_past_the_bundle_limit_names_its_seq() {
        let too_big = vec![0u8; MAX_BUNDLE_ENTRY_BYTES + 1];
        match encode_bundle([(0, &b"x"[..]), (41, too_big.as_slice())]) {
            Err(TileError::EntryTooLargeForBundle { seq: 41, len, .. }) => {
                assert_eq!(len, 65_536);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fail_malformed_bundles_are_refused() {
        let bundle = encode_bundle([(0, &b"abc"[..]), (1, &b"de"[..])]).unwrap();
        // Too few entries for the width.
        assert!(decode_bundle(0, &bundle, 3).is_err());
        // Trailing bytes.
        assert!(decode_bundle(0, &bundle, 1).is_err());
        // Truncated inside an entry and inside a prefix.
        assert!(decode_bundle(0, &bundle[..bundle.len() - 1], 2).is_err());
        assert!(decode_bundle(0, &bundle[..6], 2).is_err());
    }
}
