//! Property tests over random trees: every proof the generator makes verifies, any single
//! changed bit or number makes it fail, and the incremental builder agrees with the
//! recursive definition.

use custody_core::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, tree_root, ConsistencyProof, Hash,
    InclusionProof, MemoryTree, SubtreeSource, TreeBuilder,
};
use proptest::prelude::*;

fn leaves(size: u64) -> Vec<Hash> {
    (0..size).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

fn flip(hash: &Hash, bit: usize) -> Hash {
    let mut out = *hash;
    out[bit / 8 % 32] ^= 1 << (bit % 8);
    out
}

/// The order in which RFC 9162 §2.1.3.2 combines an inclusion path with the leaf: for each
/// proof hash, whether it goes on the left. `None` where no proof exists. A proof checked
/// against other numbers can only pass if this order is the same (the verifier then does the
/// very same computation), and must fail otherwise.
fn inclusion_shape(index: u64, size: u64) -> Option<Vec<bool>> {
    if index >= size {
        return None;
    }
    let (mut f_n, mut s_n, mut shape) = (index, size - 1, Vec::new());
    while s_n > 0 {
        let left = f_n & 1 == 1 || f_n == s_n;
        shape.push(left);
        if left {
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    Some(shape)
}

/// The same for consistency proofs (RFC 9162 §2.1.4.2): whether the old root is the
/// implicit first element, then for each further hash whether it extends both roots.
fn consistency_shape(old: u64, new: u64) -> Option<(bool, Vec<bool>)> {
    if old == 0 || old >= new {
        return None;
    }
    let (mut f_n, mut s_n, mut shape) = (old - 1, new - 1, Vec::new());
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    while s_n > 0 {
        let both = f_n & 1 == 1 || f_n == s_n;
        shape.push(both);
        if both {
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    Some((old.is_power_of_two(), shape))
}

/// A size and an index inside it.
fn size_and_index() -> impl Strategy<Value = (u64, u64)> {
    (1u64..=300).prop_flat_map(|size| (Just(size), 0..size))
}

/// Two sizes with 0 < old <= new.
fn size_pair() -> impl Strategy<Value = (u64, u64)> {
    (1u64..=300).prop_flat_map(|new| (1..=new, Just(new)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn inclusion_proofs_verify_and_detect_tampering(
        (size, index) in size_and_index(),
        bit in 0usize..256,
        pick in any::<prop::sample::Index>(),
        other in any::<prop::sample::Index>(),
    ) {
        let mut all = leaves(size);
        let root = tree_root(&mut all[..], size).unwrap();
        let leaf = all[index as usize];
        let proof = inclusion_proof(&mut all[..], index, size).unwrap();
        prop_assert_eq!(proof.verify(&leaf, &root), Ok(()));
        let mut memory = MemoryTree::from_leaves(all.iter().copied());
        prop_assert_eq!(&inclusion_proof(&mut memory, index, size).unwrap(), &proof);

        // One bit of the leaf, the root, or any proof hash.
        prop_assert!(proof.verify(&flip(&leaf, bit), &root).is_err());
        prop_assert!(proof.verify(&leaf, &flip(&root, bit)).is_err());
        if !proof.hashes.is_empty() {
            let mut bad = proof.clone();
            let i = pick.index(bad.hashes.len());
            bad.hashes[i] = flip(&bad.hashes[i], bit);
            prop_assert!(bad.verify(&leaf, &root).is_err());
        }
        // Any other index, or another size: refused unless the numbers call for exactly the
        // same computation (RFC 9162 proofs do not bind the size beyond that).
        let wrong_index = other.index(size as usize + 1) as u64;
        if wrong_index != index {
            let bad = InclusionProof { leaf_index: wrong_index, ..proof.clone() };
            prop_assert!(bad.verify(&leaf, &root).is_err(), "index {} accepted", wrong_index);
        }
        let shape = inclusion_shape(index, size);
        for wrong_size in [size - 1, size + 1, size * 2, size / 2] {
            let bad = InclusionProof { tree_size: wrong_size, ..proof.clone() };
            let same = inclusion_shape(index, wrong_size) == shape;
            prop_assert_eq!(bad.verify(&leaf, &root).is_ok(), same, "size {}", wrong_size);
        }
        // A different leaf from the same tree.
        let j = other.index(size as usize);
        if j as u64 != index {
            prop_assert!(proof.verify(&all[j], &root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_and_detect_tampering(
        (old, new) in size_pair(),
        bit in 0usize..256,
        pick in any::<prop::sample::Index>(),
    ) {
        let mut all = leaves(new);
        let old_root = tree_root(&mut all[..], old).unwrap();
        let new_root = tree_root(&mut all[..], new).unwrap();
        let proof = consistency_proof(&mut all[..], old, new).unwrap();
        prop_assert_eq!(proof.verify(&old_root, &new_root), Ok(()));
        let mut memory = MemoryTree::from_leaves(all.iter().copied());
        prop_assert_eq!(&consistency_proof(&mut memory, old, new).unwrap(), &proof);

        prop_assert!(proof.verify(&flip(&old_root, bit), &new_root).is_err());
        prop_assert!(proof.verify(&old_root, &flip(&new_root, bit)).is_err());
        if !proof.hashes.is_empty() {
            let mut bad = proof.clone();
            let i = pick.index(bad.hashes.len());
            bad.hashes[i] = flip(&bad.hashes[i], bit);
            prop_assert!(bad.verify(&old_root, &new_root).is_err());
        }
        let shape = consistency_shape(old, new);
        let changed = [(old - 1, new), (old + 1, new), (old ^ 2, new), (old, new - 1), (old, new + 1), (old, new * 2), (old, new / 2)];
        for (wrong_old, wrong_new) in changed {
            let bad = ConsistencyProof { old_size: wrong_old, new_size: wrong_new, ..proof.clone() };
            let same = old != new && consistency_shape(wrong_old, wrong_new) == shape;
            prop_assert_eq!(
                bad.verify(&old_root, &new_root).is_ok(),
                same,
                "sizes {} -> {}", wrong_old, wrong_new
            );
        }
    }
}

/// Every size from 1 to 300: the builder's root and every node it reports match the
/// recursive definition, and the nodes it reports are exactly the perfect subtrees the
/// size completes.
#[test]
fn builder_agrees_with_definition_for_every_size() {
    let mut all = leaves(300);
    let mut builder = TreeBuilder::new();
    for size in 1..=300u64 {
        let completed = builder.push(all[size as usize - 1]);
        assert_eq!(builder.size(), size);
        assert_eq!(
            builder.root(),
            tree_root(&mut all[..], size).unwrap(),
            "root at {size}"
        );
        let expected_count = (size - 1).trailing_ones() as usize + 1;
        assert_eq!(completed.len(), expected_count, "nodes completed at {size}");
        for (i, (level, index, hash)) in completed.iter().enumerate() {
            assert_eq!(*level as usize, i);
            assert_eq!((index + 1) << level, size, "subtree ends at the new leaf");
            assert_eq!(*hash, all[..].perfect_subtree(*level, *index).unwrap());
        }
        let resumed = TreeBuilder::resume(size, builder.frontier().to_vec()).unwrap();
        assert_eq!(resumed.root(), builder.root());
    }
}

#[test]
fn resumed_builder_continues_like_the_original() {
    let all = leaves(100);
    let mut original = TreeBuilder::new();
    for leaf in &all[..37] {
        original.push(*leaf);
    }
    let mut resumed = TreeBuilder::resume(37, original.frontier().to_vec()).unwrap();
    for leaf in &all[37..] {
        assert_eq!(resumed.push(*leaf), original.push(*leaf));
    }
    assert_eq!(resumed.root(), original.root());
}
