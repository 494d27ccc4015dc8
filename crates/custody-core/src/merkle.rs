//! RFC 6962 / RFC 9162 Merkle trees: tree hash, inclusion and consistency proofs.
//!
//! Leaves are hashed as `SHA-256(0x00 ‖ entry)` and interior nodes as
//! `SHA-256(0x01 ‖ left ‖ right)`. Proof generation reads only *perfect* subtrees (aligned
//! blocks of 2^level leaves) through [`SubtreeSource`], so a store that keeps those nodes
//! answers any proof with O(log n) reads. Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2
//! exactly, including every edge case.

use sha2::{Digest as _, Sha256};

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
    Sha256::digest([]).into()
}

/// `SHA-256(0x00 ‖ entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(entry);
    hasher.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut block = [0u8; 65];
    block[0] = 0x01;
    block[1..33].copy_from_slice(left);
    block[33..].copy_from_slice(right);
    Sha256::digest(block).into()
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

/// An in-memory source was asked for a subtree it does not hold (the tree size asked for is
/// larger than the leaves given).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("subtree at level {level}, index {index} is not among the {leaves} leaves held")]
pub struct SubtreeMissing {
    /// Level of the subtree asked for.
    pub level: u32,
    /// Index of the subtree within its level.
    pub index: u64,
    /// Number of leaves the source holds.
    pub leaves: u64,
}

/// The leaf range `[start, end)` of a perfect subtree, if it does not overflow.
fn subtree_span(level: u32, index: u64) -> Option<(u64, u64)> {
    let width = 1u64.checked_shl(level)?;
    let start = index.checked_mul(width)?;
    Some((start, start.checked_add(width)?))
}

/// In-memory leaf hashes as a [`SubtreeSource`] (recomputes perfect subtrees; fine for tests
/// and small trees). Asking for leaves beyond the slice is an error, not a panic.
impl SubtreeSource for [Hash] {
    type Error = SubtreeMissing;
    fn perfect_subtree(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        let missing = SubtreeMissing {
            level,
            index,
            leaves: self.len() as u64,
        };
        let (start, end) = subtree_span(level, index).ok_or(missing)?;
        let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else {
            return Err(missing);
        };
        match self.get(start..end) {
            Some(leaves) => Ok(perfect_root(leaves)),
            None => Err(missing),
        }
    }
}

/// Root of a power-of-two-sized run of leaf hashes.
fn perfect_root(leaves: &[Hash]) -> Hash {
    match leaves {
        [leaf] => *leaf,
        _ => {
            let (left, right) = leaves.split_at(leaves.len() / 2);
            node_hash(&perfect_root(left), &perfect_root(right))
        }
    }
}

/// A whole tree held in memory with every perfect subtree precomputed, so that each
/// [`SubtreeSource`] read is a lookup (2n hashes of memory for n leaves).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryTree {
    /// `levels[l][i]` is the perfect subtree at level `l`, index `i`.
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of the given leaf hashes.
    pub fn from_leaves(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = Self::new();
        let mut builder = TreeBuilder::new();
        for leaf in leaves {
            tree.push_with(&mut builder, leaf);
        }
        tree
    }

    fn push_with(&mut self, builder: &mut TreeBuilder, leaf: Hash) {
        let levels = &mut self.levels;
        builder.push_with(leaf, &mut |level, _index, hash| {
            let level = level as usize;
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            levels[level].push(hash);
        });
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut builder = self.builder();
        self.push_with(&mut builder, leaf);
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// The tree hash of all leaves.
    pub fn root(&self) -> Hash {
        self.builder().root()
    }

    /// A [`TreeBuilder`] positioned at this tree's end.
    fn builder(&self) -> TreeBuilder {
        let size = self.size();
        let frontier = frontier_subtrees(size)
            .map(|(level, index)| self.levels[level as usize][index as usize])
            .collect();
        TreeBuilder { size, frontier }
    }
}

impl SubtreeSource for MemoryTree {
    type Error = SubtreeMissing;
    fn perfect_subtree(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels.get(level as usize)?.get(i).copied())
            .ok_or(SubtreeMissing {
                level,
                index,
                leaves: self.size(),
            })
    }
}

/// The perfect subtrees, largest first, that make up the first `size` leaves: one per set bit.
fn frontier_subtrees(size: u64) -> impl Iterator<Item = (u32, u64)> {
    (0..u64::BITS).rev().filter_map(move |level| {
        if size >> level & 1 == 1 {
            // Index of the subtree: the leaves before it, in units of its width.
            Some((level, size >> level & !1))
        } else {
            None
        }
    })
}

/// The hash of `count` leaves starting at `start`, where `start` is a multiple of the
/// smallest power of two ≥ `count` (true of every subtree the RFC 6962 recursion visits).
/// Reads one perfect subtree per set bit of `count`.
fn range_root<S: SubtreeSource + ?Sized>(
    source: &mut S,
    start: u64,
    count: u64,
) -> Result<Hash, TreeError<S::Error>> {
    let mut parts = [[0u8; 32]; 64];
    let mut n = 0;
    let mut at = start;
    for level in (0..u64::BITS).rev() {
        if count >> level & 1 == 1 {
            parts[n] = source
                .perfect_subtree(level, at >> level)
                .map_err(TreeError::Source)?;
            n += 1;
            at += 1 << level;
        }
    }
    Ok(fold_right(&parts[..n]).unwrap_or_else(empty_root))
}

/// Combines perfect subtree roots (largest first) into the root of their concatenation.
fn fold_right(parts: &[Hash]) -> Option<Hash> {
    let (last, rest) = parts.split_last()?;
    Some(
        rest.iter()
            .rev()
            .fold(*last, |acc, left| node_hash(left, &acc)),
    )
}

/// The largest power of two strictly below `n` (`n` ≥ 2).
fn split_point(n: u64) -> u64 {
    1 << (u64::BITS - 1 - (n - 1).leading_zeros())
}

/// The Merkle tree hash of the first `size` leaves.
pub fn tree_root<S: SubtreeSource + ?Sized>(
    source: &mut S,
    size: u64,
) -> Result<Hash, TreeError<S::Error>> {
    range_root(source, 0, size)
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

/// Number of hashes in the inclusion proof of `index` in a tree of `size` (`index < size`).
fn inclusion_len(index: u64, size: u64) -> usize {
    let (mut m, mut n, mut len) = (index, size, 0);
    while n > 1 {
        let k = split_point(n);
        if m < k {
            n = k;
        } else {
            m -= k;
            n -= k;
        }
        len += 1;
    }
    len
}

impl InclusionProof {
    /// Verifies that `leaf_hash` is at `leaf_index` in the tree of `tree_size` with `root`.
    pub fn verify(&self, leaf_hash: &Hash, root: &Hash) -> Result<(), ProofError> {
        if self.root_from(leaf_hash)? == *root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        }
    }

    /// The root this proof leads to from `leaf_hash` (RFC 9162 §2.1.3.2), after checking
    /// that the index is inside the tree and the path has the right length.
    pub fn root_from(&self, leaf_hash: &Hash) -> Result<Hash, ProofError> {
        if self.leaf_index >= self.tree_size {
            return Err(ProofError::IndexOutOfRange {
                index: self.leaf_index,
                size: self.tree_size,
            });
        }
        let expected = inclusion_len(self.leaf_index, self.tree_size);
        if self.hashes.len() != expected {
            return Err(ProofError::WrongLength {
                expected,
                found: self.hashes.len(),
            });
        }
        let mut f_n = self.leaf_index;
        let mut s_n = self.tree_size - 1;
        let mut r = *leaf_hash;
        for p in &self.hashes {
            if s_n == 0 {
                // Unreachable after the length check; kept so the loop is the RFC's.
                return Err(ProofError::RootMismatch);
            }
            if f_n & 1 == 1 || f_n == s_n {
                r = node_hash(p, &r);
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            } else {
                r = node_hash(&r, p);
            }
            f_n >>= 1;
            s_n >>= 1;
        }
        if s_n != 0 {
            return Err(ProofError::RootMismatch);
        }
        Ok(r)
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

/// Checks that a consistency proof between the sizes is defined: `0 < old_size ≤ new_size`.
fn check_sizes(old_size: u64, new_size: u64) -> Result<(), ProofError> {
    if old_size == 0 || old_size > new_size {
        return Err(ProofError::InvalidSizes { old_size, new_size });
    }
    Ok(())
}

/// Number of hashes in the consistency proof between valid sizes (RFC 9162 SUBPROOF).
fn consistency_len(old_size: u64, new_size: u64) -> usize {
    let (mut m, mut n, mut whole_old_tree, mut len) = (old_size, new_size, true, 0);
    while m != n {
        let k = split_point(n);
        if m <= k {
            n = k;
        } else {
            m -= k;
            n -= k;
            whole_old_tree = false;
        }
        len += 1;
    }
    len + usize::from(!whole_old_tree)
}

impl ConsistencyProof {
    /// Verifies that the tree with `old_root` is a prefix of the tree with `new_root`
    /// (RFC 9162 §2.1.4.2). Equal sizes need an empty proof and equal roots; a proof from
    /// size 0 is not defined and is refused.
    pub fn verify(&self, old_root: &Hash, new_root: &Hash) -> Result<(), ProofError> {
        check_sizes(self.old_size, self.new_size)?;
        let expected = consistency_len(self.old_size, self.new_size);
        if self.hashes.len() != expected {
            return Err(ProofError::WrongLength {
                expected,
                found: self.hashes.len(),
            });
        }
        if self.old_size == self.new_size {
            return if old_root == new_root {
                Ok(())
            } else {
                Err(ProofError::RootMismatch)
            };
        }

        // When the old tree is a perfect subtree of the new one, its root is the proof's
        // implicit first element.
        let mut path = self.hashes.iter();
        let first = if self.old_size.is_power_of_two() {
            old_root
        } else {
            path.next().ok_or(ProofError::RootMismatch)?
        };
        let mut f_n = self.old_size - 1;
        let mut s_n = self.new_size - 1;
        while f_n & 1 == 1 {
            f_n >>= 1;
            s_n >>= 1;
        }
        let mut f_r = *first;
        let mut s_r = *first;
        for c in path {
            if s_n == 0 {
                return Err(ProofError::RootMismatch);
            }
            if f_n & 1 == 1 || f_n == s_n {
                f_r = node_hash(c, &f_r);
                s_r = node_hash(c, &s_r);
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            } else {
                s_r = node_hash(&s_r, c);
            }
            f_n >>= 1;
            s_n >>= 1;
        }
        if f_r == *old_root && s_r == *new_root && s_n == 0 {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        }
    }
}

/// Builds the inclusion proof for `leaf_index` in the tree of `tree_size`
/// (RFC 9162 §2.1.3.1), reading O(log n) perfect subtrees.
pub fn inclusion_proof<S: SubtreeSource + ?Sized>(
    source: &mut S,
    leaf_index: u64,
    tree_size: u64,
) -> Result<InclusionProof, TreeError<S::Error>> {
    if leaf_index >= tree_size {
        return Err(ProofError::IndexOutOfRange {
            index: leaf_index,
            size: tree_size,
        }
        .into());
    }
    // Walk from the root down, collecting the sibling at each split; the proof lists them
    // leaf first.
    let mut hashes = Vec::with_capacity(inclusion_len(leaf_index, tree_size));
    let (mut start, mut m, mut n) = (0u64, leaf_index, tree_size);
    while n > 1 {
        let k = split_point(n);
        if m < k {
            hashes.push(range_root(source, start + k, n - k)?);
            n = k;
        } else {
            hashes.push(range_root(source, start, k)?);
            start += k;
            m -= k;
            n -= k;
        }
    }
    hashes.reverse();
    Ok(InclusionProof {
        leaf_index,
        tree_size,
        hashes,
    })
}

/// Builds the consistency proof from `old_size` to `new_size` (RFC 9162 §2.1.4.1),
/// reading O(log n) perfect subtrees. Requires `0 < old_size ≤ new_size`.
pub fn consistency_proof<S: SubtreeSource + ?Sized>(
    source: &mut S,
    old_size: u64,
    new_size: u64,
) -> Result<ConsistencyProof, TreeError<S::Error>> {
    check_sizes(old_size, new_size)?;
    let mut hashes = Vec::with_capacity(consistency_len(old_size, new_size));
    let (mut start, mut m, mut n, mut whole_old_tree) = (0u64, old_size, new_size, true);
    while m != n {
        let k = split_point(n);
        if m <= k {
            hashes.push(range_root(source, start + k, n - k)?);
            n = k;
        } else {
            hashes.push(range_root(source, start, k)?);
            start += k;
            m -= k;
            n -= k;
            whole_old_tree = false;
        }
    }
    // SUBPROOF(m, D[m], false) = {MTH(D[m])}: the old tree's last piece, needed unless the
    // old tree is itself a node the verifier already knows (its root).
    if !whole_old_tree {
        hashes.push(range_root(source, start, m)?);
    }
    hashes.reverse();
    Ok(ConsistencyProof {
        old_size,
        new_size,
        hashes,
    })
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
        Self {
            size: 0,
            // Enough for any u64 size, so that pushes never reallocate.
            frontier: Vec::with_capacity(u64::BITS as usize),
        }
    }

    /// Resumes from a tree of `size` leaves whose right edge (perfect subtree roots, largest
    /// first, one per set bit of `size`) is `frontier`.
    ///
    /// A frontier of the wrong length is refused with [`ProofError::WrongLength`]. The hashes
    /// themselves cannot be checked here; compare [`TreeBuilder::root`] against a trusted
    /// root to do that.
    pub fn resume(size: u64, mut frontier: Vec<Hash>) -> Result<Self, ProofError> {
        let expected = size.count_ones() as usize;
        if frontier.len() != expected {
            return Err(ProofError::WrongLength {
                expected,
                found: frontier.len(),
            });
        }
        frontier.reserve(u64::BITS as usize - frontier.len());
        Ok(Self { size, frontier })
    }

    /// The right edge: perfect subtree roots, largest first (what [`TreeBuilder::resume`]
    /// takes).
    pub fn frontier(&self) -> &[Hash] {
        &self.frontier
    }

    /// Number of leaves so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash; returns every perfect subtree the append completed as
    /// `(level, index, hash)`, starting with the leaf itself at level 0.
    pub fn push(&mut self, leaf_hash: Hash) -> Vec<(u32, u64, Hash)> {
        let mut completed = Vec::with_capacity(self.size.trailing_ones() as usize + 1);
        self.push_with(leaf_hash, &mut |level, index, hash| {
            completed.push((level, index, hash));
        });
        completed
    }

    /// Appends one leaf hash, calling `completed(level, index, hash)` for every perfect
    /// subtree the append completed, leaf first. Allocates nothing.
    pub fn push_with(&mut self, leaf_hash: Hash, completed: &mut dyn FnMut(u32, u64, Hash)) {
        let mut hash = leaf_hash;
        let mut index = self.size;
        let mut level = 0;
        completed(level, index, hash);
        // Each trailing one bit of the old size is a left sibling waiting for this subtree.
        while index & 1 == 1 {
            let Some(left) = self.frontier.pop() else {
                break;
            };
            hash = node_hash(&left, &hash);
            index >>= 1;
            level += 1;
            completed(level, index, hash);
        }
        self.frontier.push(hash);
        self.size += 1;
    }

    /// The tree hash of all leaves so far.
    pub fn root(&self) -> Hash {
        fold_right(&self.frontier).unwrap_or_else(empty_root)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    #[test]
    fn hashes_are_domain_separated() {
        assert_eq!(
            crate::hex::encode(&leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let h = leaf_hash(b"x");
        assert_ne!(node_hash(&h, &h), leaf_hash(&[h, h].concat()));
    }

    #[test]
    fn empty_tree() {
        assert_eq!(tree_root(&mut [][..], 0), Ok(empty_root()));
        assert_eq!(TreeBuilder::new().root(), empty_root());
        assert_eq!(MemoryTree::new().root(), empty_root());
    }

    #[test]
    fn fail_inclusion_index_out_of_range() {
        let mut l = leaves(5);
        for (index, size) in [(5, 5), (6, 5), (0, 0), (u64::MAX, 5)] {
            let want = ProofError::IndexOutOfRange { index, size };
            assert_eq!(
                inclusion_proof(&mut l[..], index, size),
                Err(want.clone().into())
            );
            let proof = InclusionProof {
                leaf_index: index,
                tree_size: size,
                hashes: vec![],
            };
            assert_eq!(proof.verify(&l[0], &empty_root()), Err(want));
        }
    }

    #[test]
    fn fail_inclusion_wrong_length() {
        let mut l = leaves(5);
        let root = tree_root(&mut l[..], 5).unwrap();
        let mut proof = inclusion_proof(&mut l[..], 1, 5).unwrap();
        assert_eq!(proof.hashes.len(), 3);
        proof.hashes.push(root);
        assert_eq!(
            proof.verify(&l[1], &root),
            Err(ProofError::WrongLength {
                expected: 3,
                found: 4
            })
        );
        proof.hashes.truncate(1);
        assert_eq!(
            proof.verify(&l[1], &root),
            Err(ProofError::WrongLength {
                expected: 3,
                found: 1
            })
        );
    }

    #[test]
    fn fail_inclusion_root_mismatch() {
        let mut l = leaves(7);
        let root = tree_root(&mut l[..], 7).unwrap();
        let proof = inclusion_proof(&mut l[..], 4, 7).unwrap();
        assert_eq!(proof.verify(&l[4], &root), Ok(()));
        assert_eq!(proof.verify(&l[3], &root), Err(ProofError::RootMismatch));
    }

    #[test]
    fn single_leaf_tree_has_empty_proofs() {
        let mut l = leaves(1);
        let proof = inclusion_proof(&mut l[..], 0, 1).unwrap();
        assert!(proof.hashes.is_empty());
        assert_eq!(proof.verify(&l[0], &l[0]), Ok(()));
    }

    #[test]
    fn fail_consistency_from_size_zero() {
        let mut l = leaves(4);
        for new_size in [0, 4] {
            let want = ProofError::InvalidSizes {
                old_size: 0,
                new_size,
            };
            assert_eq!(
                consistency_proof(&mut l[..], 0, new_size),
                Err(want.clone().into())
            );
            let proof = ConsistencyProof {
                old_size: 0,
                new_size,
                hashes: vec![],
            };
            assert_eq!(proof.verify(&empty_root(), &empty_root()), Err(want));
        }
    }

    #[test]
    fn fail_consistency_old_larger_than_new() {
        let mut l = leaves(4);
        let want = ProofError::InvalidSizes {
            old_size: 4,
            new_size: 3,
        };
        assert_eq!(
            consistency_proof(&mut l[..], 4, 3),
            Err(want.clone().into())
        );
        let proof = ConsistencyProof {
            old_size: 4,
            new_size: 3,
            hashes: vec![],
        };
        assert_eq!(proof.verify(&l[0], &l[0]), Err(want));
    }

    #[test]
    fn equal_sizes_need_empty_proof_and_equal_roots() {
        let mut l = leaves(6);
        let root = tree_root(&mut l[..], 6).unwrap();
        let proof = consistency_proof(&mut l[..], 6, 6).unwrap();
        assert!(proof.hashes.is_empty());
        assert_eq!(proof.verify(&root, &root), Ok(()));
        assert_eq!(proof.verify(&root, &l[0]), Err(ProofError::RootMismatch));
        let padded = ConsistencyProof {
            hashes: vec![root],
            ..proof
        };
        assert_eq!(
            padded.verify(&root, &root),
            Err(ProofError::WrongLength {
                expected: 0,
                found: 1
            })
        );
    }

    #[test]
    fn fail_consistency_wrong_length() {
        let mut l = leaves(7);
        let (r6, r7) = (
            tree_root(&mut l[..], 6).unwrap(),
            tree_root(&mut l[..], 7).unwrap(),
        );
        let mut proof = consistency_proof(&mut l[..], 6, 7).unwrap();
        assert_eq!(proof.verify(&r6, &r7), Ok(()));
        proof.hashes.pop();
        assert_eq!(
            proof.verify(&r6, &r7),
            Err(ProofError::WrongLength {
                expected: 3,
                found: 2
            })
        );
    }

    #[test]
    fn fail_slice_source_beyond_its_leaves_is_an_error() {
        let mut l = leaves(3);
        assert_eq!(
            tree_root(&mut l[..], 4),
            Err(TreeError::Source(SubtreeMissing {
                level: 2,
                index: 0,
                leaves: 3
            }))
        );
        assert!(matches!(
            inclusion_proof(&mut l[..], 0, 9),
            Err(TreeError::Source(_))
        ));
        assert!(l[..].perfect_subtree(63, u64::MAX).is_err());
        let mut tree = MemoryTree::from_leaves(l.iter().copied());
        assert!(tree.perfect_subtree(1, 1).is_err());
        assert!(tree.perfect_subtree(70, 0).is_err());
    }

    #[test]
    fn fail_resume_with_wrong_frontier_length() {
        assert_eq!(
            TreeBuilder::resume(5, vec![[0; 32]]).unwrap_err(),
            ProofError::WrongLength {
                expected: 2,
                found: 1
            }
        );
        assert!(TreeBuilder::resume(0, vec![]).is_ok());
    }

    #[test]
    fn memory_tree_matches_builder() {
        let l = leaves(37);
        let mut tree = MemoryTree::new();
        let mut builder = TreeBuilder::new();
        for leaf in &l {
            tree.push(*leaf);
            builder.push(*leaf);
            assert_eq!(tree.root(), builder.root());
            assert_eq!(tree.size(), builder.size());
        }
        assert_eq!(tree, MemoryTree::from_leaves(l));
    }

    #[test]
    fn proofs_serialise_hashes_as_hex() {
        let mut l = leaves(3);
        let proof = inclusion_proof(&mut l[..], 0, 3).unwrap();
        let json = serde_json::to_value(&proof).unwrap();
        assert_eq!(json["hashes"][0], crate::hex::encode(&l[1]));
        let back: InclusionProof = serde_json::from_value(json).unwrap();
        assert_eq!(back, proof);
        let bad = serde_json::json!({"leaf_index": 0, "tree_size": 3, "hashes": ["00"]});
        assert!(serde_json::from_value::<InclusionProof>(bad).is_err());
    }
}
