//! Every limit verification and receiving put on a package, as named constants.
//!
//! A package is outside input: whatever sizes, counts, depths or compression ratios it
//! declares, the work done on it stays within these bounds, and going past one is a
//! finding naming the file at fault, never an allocation, a loop or a recursion sized by
//! the package. `docs/package.md` ("Limits") lists them with what exceeding each gives.
//! The ZIP scan's own limits (entries, central directory size, total uncompressed size,
//! payload compression ratio) are [`crate::zipscan::ScanLimits`].

/// Largest tag file (payload and tag manifests, `bag-info.txt`, `fetch.txt`,
/// `custody/package.json`) read into memory.
pub const MAX_TAG_FILE: u64 = 64 << 20;
/// Largest `bagit.txt`: two short declaration lines.
pub const MAX_BAGIT_TXT: u64 = 4 << 10;
/// Largest ledger entry (`custody/events/<seq>.json`): the acquisition of a directory lists
/// every file, about 250 bytes each.
pub const MAX_EVENT: u64 = 64 << 20;
/// Largest inclusion proof (`custody/proofs/<seq>.json`): 64 hashes of a 2⁶⁴-entry tree
/// fit in 9 KiB.
pub const MAX_PROOF: u64 = 64 << 10;
/// Largest checkpoint note (`custody/checkpoint`), signatures and cosignatures included.
pub const MAX_CHECKPOINT: u64 = 64 << 10;
/// Largest package signature file read: an Ed25519 signature is exactly 64 bytes, so one
/// byte more is enough to tell a wrong length.
pub const MAX_SIGNATURE_FILE: u64 = 65;
/// Most signature files checked in one package. Each is matched against every key the
/// package's entries enrol, so this bounds that work to a small multiple of the package's
/// size; a package carries the sender's signature and a few countersignatures.
pub const MAX_SIGNATURES: usize = 64;
/// Largest sum of the declared sizes of all tag files one verification reads into
/// memory (each counted every time it is read).
pub const MAX_TAG_BYTES_TOTAL: u64 = 256 << 20;
/// Largest ratio of a tag file's uncompressed to compressed size…
pub const MAX_TAG_RATIO: u64 = 100;
/// …once its uncompressed size exceeds this many bytes (below it, DEFLATE's fixed
/// overhead makes ratios meaningless and the memory at stake is negligible).
pub const TAG_RATIO_FLOOR: u64 = 4 << 10;
/// Most `/`-separated components in an archive entry name (or bag path).
pub const MAX_PATH_DEPTH: usize = 128;
/// Longest archive entry name (or bag path), in bytes.
pub const MAX_PATH_BYTES: usize = 2048;
/// Longest single component of a path, in bytes (what common file systems accept).
pub const MAX_NAME_BYTES: usize = 255;

/// Which of the path limits `path` exceeds, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PathLimit {
    /// More than [`MAX_PATH_DEPTH`] components.
    Depth,
    /// Longer than [`MAX_PATH_BYTES`] bytes.
    Length,
    /// A component longer than [`MAX_NAME_BYTES`] bytes.
    NameLength,
}

impl PathLimit {
    /// The limit's value.
    pub fn limit(self) -> usize {
        match self {
            PathLimit::Depth => MAX_PATH_DEPTH,
            PathLimit::Length => MAX_PATH_BYTES,
            PathLimit::NameLength => MAX_NAME_BYTES,
        }
    }
}

impl std::fmt::Display for PathLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathLimit::Depth => write!(f, "more than {MAX_PATH_DEPTH} path components"),
            PathLimit::Length => write!(f, "longer than {MAX_PATH_BYTES} bytes"),
            PathLimit::NameLength => {
                write!(f, "a path component longer than {MAX_NAME_BYTES} bytes")
            }
        }
    }
}

/// The first path limit `path` exceeds. Work is bounded by [`MAX_PATH_BYTES`]: a longer
/// path is refused before its components are counted.
pub fn check_path(path: &str) -> Option<PathLimit> {
    if path.len() > MAX_PATH_BYTES {
        return Some(PathLimit::Length);
    }
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let mut depth = 0usize;
    for component in trimmed.split('/') {
        depth += 1;
        if component.len() > MAX_NAME_BYTES {
            return Some(PathLimit::NameLength);
        }
    }
    (depth > MAX_PATH_DEPTH).then_some(PathLimit::Depth)
}

/// Why a tag file is not read into memory, judged from the archive's declared sizes
/// before a byte of it is inflated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagRefusal {
    /// Larger than the file's limit.
    TooLarge {
        /// Declared uncompressed size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// Compressed beyond [`MAX_TAG_RATIO`].
    Ratio {
        /// Declared compressed size.
        compressed: u64,
        /// Declared uncompressed size.
        uncompressed: u64,
    },
}

impl std::fmt::Display for TagRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TagRefusal::TooLarge { size, max } => {
                write!(f, "{size} bytes exceeds the {max}-byte limit")
            }
            TagRefusal::Ratio {
                compressed,
                uncompressed,
            } => write!(
                f,
                "{uncompressed} bytes stored in {compressed} exceeds the {MAX_TAG_RATIO}:1 \
                 compression ratio limit"
            ),
        }
    }
}

/// Whether a tag file declared `uncompressed` bytes from `compressed` stored bytes may be
/// read with limit `max`. The reader enforces the declared size, so at most
/// `max + 1` bytes are ever inflated.
pub fn check_tag_size(compressed: u64, uncompressed: u64, max: u64) -> Result<(), TagRefusal> {
    if uncompressed > max {
        return Err(TagRefusal::TooLarge {
            size: uncompressed,
            max,
        });
    }
    if uncompressed > TAG_RATIO_FLOOR && uncompressed > compressed.saturating_mul(MAX_TAG_RATIO) {
        return Err(TagRefusal::Ratio {
            compressed,
            uncompressed,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_limits_at_and_past_each() {
        let at_depth = vec!["a"; MAX_PATH_DEPTH].join("/");
        assert_eq!(check_path(&at_depth), None);
        assert_eq!(check_path(&format!("{at_depth}/")), None);
        assert_eq!(check_path(&format!("{at_depth}/a")), Some(PathLimit::Depth));
        let long_name = "n".repeat(MAX_NAME_BYTES);
        assert_eq!(check_path(&format!("d/{long_name}")), None);
        assert_eq!(
            check_path(&format!("d/{long_name}n")),
            Some(PathLimit::NameLength)
        );
        // 128 components of 15 bytes, each with its slash: exactly MAX_PATH_BYTES.
        let at_len = format!("{}/", "c".repeat(15)).repeat(MAX_PATH_DEPTH);
        assert_eq!(at_len.len(), MAX_PATH_BYTES);
        assert_eq!(check_path(&at_len), None);
        assert_eq!(check_path(&format!("{at_len}z")), Some(PathLimit::Length));
    }

    #[test]
    fn tag_sizes_at_and_past_each_limit() {
        assert_eq!(check_tag_size(10, 100, 100), Ok(()));
        assert!(matches!(
            check_tag_size(100, 101, 100),
            Err(TagRefusal::TooLarge {
                size: 101,
                max: 100
            })
        ));
        // Below the floor any ratio is allowed.
        assert_eq!(check_tag_size(1, TAG_RATIO_FLOOR, u64::MAX), Ok(()));
        let compressed = 100;
        let at = compressed * MAX_TAG_RATIO;
        assert_eq!(check_tag_size(compressed, at, u64::MAX), Ok(()));
        assert!(matches!(
            check_tag_size(compressed, at + 1, u64::MAX),
            Err(TagRefusal::Ratio { .. })
        ));
        assert!(check_tag_size(0, u64::MAX, u64::MAX).is_err());
    }
}
