//! RFC 6962 / RFC 9162 Merkle trees: tree hash, inclusion and consistency proofs.
//!
//! Leaves are hashed as `SHA-256(0x00 ‖ entry)` and interior nodes as
//! `SHA-256(0x01 ‖ left ‖ right)`. Proof generation reads only *perfect* subtrees (aligned
//! blocks of 2^level leaves) through [`SubtreeSource`], so a store that keeps those nodes
//! answers any proof with O(log n) reads. Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2
//! exactly, including every edge case.

/// A SHA-256 output.
pub type Hash = [u8; 32];

/// Why a proof could not be made or did not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof was asked for with sizes that do not allow one.
    #[error("no consistency proof from size {old_size} to size {new_size}")]
    InvalidSizes {
        /// The earlier size.
        old_size: u64,
        /// The later size.
        new_size: u64,
    },
    /// The proof has the wrong number of hashes for its sizes.
    #[error("proof has {found} hashes, expected {expected}")]
    WrongLength {
        /// How many the sizes call for.
        expected: usize,
        /// How many the proof holds.
        found: usize,
    },
    /// The proof does not lead to the given root.
    #[error("proof does not match the root hash")]
    RootMismatch,
}

/// The empty tree's hash: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    todo!()
}

/// `SHA-256(0x00 ‖ entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let _ = entry;
    todo!()
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let _ = (left, right);
    todo!()
}

/// Where proof generation gets perfect-subtree hashes from.
pub trait SubtreeSource {
    /// The source's own failure (e.g. a database error).
    type Error;
    /// The root of the perfect subtree covering leaves `[index << level, (index + 1) << level)`;
    /// level 0 is a leaf hash. Only called for subtrees that lie entirely inside the tree.
    fn perfect_subtree(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// Failure of a proof built from a [`SubtreeSource`].
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TreeError<E> {
    /// The request itself was impossible.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// The source failed.
    #[error("reading the tree failed: {0}")]
    Source(E),
}

/// In-memory leaf hashes as a [`SubtreeSource`] (recomputes perfect subtrees; fine for tests
/// and small trees).
impl SubtreeSource for [Hash] {
    type Error = std::convert::Infallible;
    fn perfect_subtree(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        let _ = (level, index);
        todo!()
    }
}

/// The Merkle tree hash of the first `size` leaves.
pub fn tree_root<S: SubtreeSource + ?Sized>(
    source: &mut S,
    size: u64,
) -> Result<Hash, TreeError<S::Error>> {
    let _ = (source, size);
    todo!()
}

/// An RFC 9162 inclusion proof.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InclusionProof {
    /// Index of the leaf.
    pub leaf_index: u64,
    /// Size of the tree the proof is for.
    pub tree_size: u64,
    /// The audit path, hex-encoded in JSON.
    #[serde(with = "hex_hashes")]
    pub hashes: Vec<Hash>,
}

impl InclusionProof {
    /// Verifies that `leaf_hash` is at `leaf_index` in the tree of `tree_size` with `root`.
    pub fn verify(&self, leaf_hash: &Hash, root: &Hash) -> Result<(), ProofError> {
        let _ = (leaf_hash, root);
        todo!()
    }
}

/// An RFC 9162 consistency proof.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConsistencyProof {
    /// The earlier tree size.
    pub old_size: u64,
    /// The later tree size.
    pub new_size: u64,
    /// The proof hashes, hex-encoded in JSON.
    #[serde(with = "hex_hashes")]
    pub hashes: Vec<Hash>,
}

impl ConsistencyProof {
    /// Verifies that the tree with `old_root` is a prefix of the tree with `new_root`.
    pub fn verify(&self, old_root: &Hash, new_root: &Hash) -> Result<(), ProofError> {
        let _ = (old_root, new_root);
        todo!()
    }
}

/// Builds the inclusion proof for `leaf_index` in the tree of `tree_size`.
pub fn inclusion_proof<S: SubtreeSource + ?Sized>(
    source: &mut S,
    leaf_index: u64,
    tree_size: u64,
) -> Result<InclusionProof, TreeError<S::Error>> {
    let _ = (source, leaf_index, tree_size);
    todo!()
}

/// Builds the consistency proof from `old_size` to `new_size`.
pub fn consistency_proof<S: SubtreeSource + ?Sized>(
    source: &mut S,
    old_size: u64,
    new_size: u64,
) -> Result<ConsistencyProof, TreeError<S::Error>> {
    let _ = (source, old_size, new_size);
    todo!()
}

/// Appends leaves one at a time, keeping only the O(log n) right-edge of the tree, and
/// reports the perfect subtrees each append completes (what a store persists).
#[derive(Clone, Debug, Default)]
pub struct TreeBuilder {
    size: u64,
    /// Roots of the perfect subtrees along the right edge, largest first.
    frontier: Vec<Hash>,
}

impl TreeBuilder {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes from a tree of `size` leaves whose right edge (perfect subtree roots, largest
    /// first, one per set bit of `size`) is `frontier`.
    pub fn resume(size: u64, frontier: Vec<Hash>) -> Result<Self, ProofError> {
        let _ = (size, frontier);
        todo!()
    }

    /// Number of leaves so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash; returns every perfect subtree the append completed as
    /// `(level, index, hash)`, starting with the leaf itself at level 0.
    pub fn push(&mut self, leaf_hash: Hash) -> Vec<(u32, u64, Hash)> {
        let _ = leaf_hash;
        todo!()
    }

    /// The tree hash of all leaves so far.
    pub fn root(&self) -> Hash {
        todo!()
    }
}

mod hex_hashes {
    use super::Hash;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(hashes: &[Hash], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(hashes.iter().map(|h| crate::hex::encode(h)))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|t| {
                crate::hex::decode_array(t)
                    .ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
            })
            .collect()
    }
}
