//! RFC 6962 reference vectors: tree hashes of the eight Certificate Transparency test
//! leaves, and the published inclusion and consistency paths, checked against both proof
//! generation and proof verification.

use custody_core::hex;
use custody_core::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, tree_root, ConsistencyProof, Hash,
    InclusionProof, MemoryTree, ProofError, TreeBuilder,
};

const VECTORS: &str = include_str!("testdata/rfc6962_merkle_vectors.json");

struct Vectors {
    leaves: Vec<Hash>,
    roots: Vec<Hash>,
    inclusion: Vec<(u64, u64, Vec<Hash>)>,
    consistency: Vec<(u64, u64, Vec<Hash>)>,
}

fn hash(value: &serde_json::Value) -> Hash {
    hex::decode_array(value.as_str().expect("hex string")).expect("32-byte hex")
}

fn path(value: &serde_json::Value) -> Vec<Hash> {
    value["path"]
        .as_array()
        .expect("path")
        .iter()
        .map(hash)
        .collect()
}

fn vectors() -> Vectors {
    let json: serde_json::Value = serde_json::from_str(VECTORS).expect("vector file is JSON");
    let leaves = json["leaves"]
        .as_array()
        .expect("leaves")
        .iter()
        .map(|l| leaf_hash(&hex::decode(l.as_str().expect("hex")).expect("hex")))
        .collect();
    let roots = json["roots"]
        .as_array()
        .expect("roots")
        .iter()
        .map(hash)
        .collect();
    let inclusion = json["inclusion"]
        .as_array()
        .expect("inclusion")
        .iter()
        .map(|c| {
            let index = c["leaf_index"].as_u64().expect("index");
            (index, c["tree_size"].as_u64().expect("size"), path(c))
        })
        .collect();
    let consistency = json["consistency"]
        .as_array()
        .expect("consistency")
        .iter()
        .map(|c| {
            let old = c["old_size"].as_u64().expect("old");
            (old, c["new_size"].as_u64().expect("new"), path(c))
        })
        .collect();
    Vectors {
        leaves,
        roots,
        inclusion,
        consistency,
    }
}

#[test]
fn roots_of_every_prefix() {
    let mut v = vectors();
    let mut builder = TreeBuilder::new();
    for (i, expected) in v.roots.iter().enumerate() {
        let size = i as u64 + 1;
        assert_eq!(
            &tree_root(&mut v.leaves[..], size).unwrap(),
            expected,
            "size {size}"
        );
        builder.push(v.leaves[i]);
        assert_eq!(&builder.root(), expected, "builder at size {size}");
        let memory = MemoryTree::from_leaves(v.leaves[..=i].iter().copied());
        assert_eq!(&memory.root(), expected, "memory tree at size {size}");
    }
}

#[test]
fn empty_tree_root_is_sha256_of_nothing() {
    let v = vectors();
    assert_eq!(
        hex::encode(&tree_root(&mut v.leaves[..0].to_vec()[..], 0).unwrap()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn inclusion_paths_are_generated_and_verify() {
    let mut v = vectors();
    for (index, size, expected) in v.inclusion.clone() {
        let proof = inclusion_proof(&mut v.leaves[..], index, size).unwrap();
        assert_eq!(proof.hashes, expected, "inclusion of {index} in {size}");
        let root = v.roots[size as usize - 1];
        proof.verify(&v.leaves[index as usize], &root).unwrap();
        let mut memory = MemoryTree::from_leaves(v.leaves.iter().copied());
        assert_eq!(inclusion_proof(&mut memory, index, size).unwrap(), proof);
    }
}

#[test]
fn consistency_paths_are_generated_and_verify() {
    let mut v = vectors();
    for (old, new, expected) in v.consistency.clone() {
        let proof = consistency_proof(&mut v.leaves[..], old, new).unwrap();
        assert_eq!(proof.hashes, expected, "consistency {old} -> {new}");
        let (old_root, new_root) = (v.roots[old as usize - 1], v.roots[new as usize - 1]);
        proof.verify(&old_root, &new_root).unwrap();
        // Swapped roots never verify a non-trivial proof.
        if old != new {
            assert_eq!(
                proof.verify(&new_root, &old_root),
                Err(ProofError::RootMismatch)
            );
        }
    }
}

/// The mutations Certificate Transparency's own tests apply to every known-good inclusion
/// proof; each must be refused.
#[test]
fn fail_corrupted_reference_inclusion_proofs() {
    let v = vectors();
    let other: Hash =
        hex::decode_array("abacaba000000000000000000000000000000000000000000060061e00123456")
            .unwrap();
    for (index, size, hashes) in v.inclusion {
        let root = v.roots[size as usize - 1];
        let leaf = v.leaves[index as usize];
        let good = InclusionProof {
            leaf_index: index,
            tree_size: size,
            hashes: hashes.clone(),
        };
        good.verify(&leaf, &root).unwrap();

        let mut probes: Vec<(String, InclusionProof, Hash, Hash)> = vec![
            (
                "index + 1".into(),
                InclusionProof {
                    leaf_index: index + 1,
                    ..good.clone()
                },
                leaf,
                root,
            ),
            (
                "index ^ 2".into(),
                InclusionProof {
                    leaf_index: index ^ 2,
                    ..good.clone()
                },
                leaf,
                root,
            ),
            (
                "size * 2".into(),
                InclusionProof {
                    tree_size: size * 2,
                    ..good.clone()
                },
                leaf,
                root,
            ),
            (
                "size / 2".into(),
                InclusionProof {
                    tree_size: size / 2,
                    ..good.clone()
                },
                leaf,
                root,
            ),
            (
                "wrong leaf".into(),
                good.clone(),
                leaf_hash(b"WrongLeaf"),
                root,
            ),
            (
                "empty root".into(),
                good.clone(),
                leaf,
                custody_core::merkle::empty_root(),
            ),
            ("random root".into(), good.clone(), leaf, other),
        ];
        if index > 0 {
            probes.push((
                "index - 1".into(),
                InclusionProof {
                    leaf_index: index - 1,
                    ..good.clone()
                },
                leaf,
                root,
            ));
        }
        let mut trailing = good.clone();
        trailing.hashes.push(root);
        probes.push(("trailing root".into(), trailing, leaf, root));
        let mut preceding = good.clone();
        preceding.hashes.insert(0, root);
        probes.push(("preceding root".into(), preceding, leaf, root));
        for i in 0..hashes.len() {
            let mut flipped = good.clone();
            flipped.hashes[i][0] ^= 8;
            probes.push((format!("proof[{i}] bit 3"), flipped, leaf, root));
        }
        if !hashes.is_empty() {
            let mut removed = good.clone();
            removed.hashes.pop();
            probes.push(("removed component".into(), removed, leaf, root));
        }
        for (what, proof, leaf, root) in probes {
            assert!(
                proof.verify(&leaf, &root).is_err(),
                "{what}: corrupted proof of {index} in {size} verified"
            );
        }
    }
}

#[test]
fn fail_corrupted_reference_consistency_proofs() {
    let v = vectors();
    for (old, new, hashes) in v.consistency {
        if old == new {
            continue;
        }
        let (r1, r2) = (v.roots[old as usize - 1], v.roots[new as usize - 1]);
        let good = ConsistencyProof {
            old_size: old,
            new_size: new,
            hashes: hashes.clone(),
        };
        good.verify(&r1, &r2).unwrap();
        let mut probes: Vec<(String, ConsistencyProof, Hash, Hash)> = vec![
            (
                "old - 1".into(),
                ConsistencyProof {
                    old_size: old - 1,
                    ..good.clone()
                },
                r1,
                r2,
            ),
            (
                "old + 1".into(),
                ConsistencyProof {
                    old_size: old + 1,
                    ..good.clone()
                },
                r1,
                r2,
            ),
            (
                "old ^ 2".into(),
                ConsistencyProof {
                    old_size: old ^ 2,
                    ..good.clone()
                },
                r1,
                r2,
            ),
            (
                "new * 2".into(),
                ConsistencyProof {
                    new_size: new * 2,
                    ..good.clone()
                },
                r1,
                r2,
            ),
            (
                "new / 2".into(),
                ConsistencyProof {
                    new_size: new / 2,
                    ..good.clone()
                },
                r1,
                r2,
            ),
            (
                "wrong old root".into(),
                good.clone(),
                leaf_hash(b"WrongRoot"),
                r2,
            ),
            (
                "wrong new root".into(),
                good.clone(),
                r1,
                leaf_hash(b"WrongRoot"),
            ),
            ("swapped roots".into(), good.clone(), r2, r1),
            (
                "empty proof".into(),
                ConsistencyProof {
                    hashes: vec![],
                    ..good.clone()
                },
                r1,
                r2,
            ),
        ];
        for extra in [r1, r2] {
            let mut trailing = good.clone();
            trailing.hashes.push(extra);
            probes.push(("trailing root".into(), trailing, r1, r2));
            let mut preceding = good.clone();
            preceding.hashes.insert(0, extra);
            probes.push(("preceding root".into(), preceding, r1, r2));
        }
        let mut truncated = good.clone();
        truncated.hashes.pop();
        probes.push(("truncated".into(), truncated, r1, r2));
        for i in 0..hashes.len() {
            let mut flipped = good.clone();
            flipped.hashes[i][0] ^= 16;
            probes.push((format!("proof[{i}] bit 4"), flipped, r1, r2));
        }
        for (what, proof, a, b) in probes {
            assert!(
                proof.verify(&a, &b).is_err(),
                "{what}: corrupted proof {old} -> {new} verified"
            );
        }
    }
}
