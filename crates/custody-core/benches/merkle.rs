//! Merkle tree costs at ledger scale: appending 1,000,000 leaves with `TreeBuilder`, and
//! making and checking an inclusion proof in a 1,000,000-leaf tree whose perfect subtrees
//! are stored (as the ledger stores them).
// criterion_group! defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use custody_core::merkle::{inclusion_proof, leaf_hash, Hash, MemoryTree, TreeBuilder};

const LEAVES: u64 = 1_000_000;

fn leaves() -> Vec<Hash> {
    (0..LEAVES).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

fn builder(c: &mut Criterion) {
    let leaves = leaves();
    let mut group = c.benchmark_group("tree_builder_1M");
    group.sample_size(10);
    group.throughput(Throughput::Elements(LEAVES));
    group.bench_function("push", |b| {
        b.iter(|| {
            let mut builder = TreeBuilder::new();
            let mut nodes = 0usize;
            for leaf in &leaves {
                nodes += builder.push(*leaf).len();
            }
            black_box((builder.root(), nodes))
        })
    });
    group.bench_function("push_with", |b| {
        b.iter(|| {
            let mut builder = TreeBuilder::new();
            for leaf in &leaves {
                builder.push_with(*leaf, &mut |_, _, hash| {
                    black_box(hash);
                });
            }
            black_box(builder.root())
        })
    });
    group.finish();
}

fn proofs(c: &mut Criterion) {
    let mut tree = MemoryTree::from_leaves(leaves());
    let root = tree.root();
    let mut group = c.benchmark_group("inclusion_1M");
    let mut index = 0u64;
    group.bench_function("make", |b| {
        b.iter(|| {
            index = (index + 7919) % LEAVES;
            inclusion_proof(&mut tree, black_box(index), LEAVES).expect("in range")
        })
    });
    let proof = inclusion_proof(&mut tree, 123_456, LEAVES).expect("in range");
    let leaf = leaf_hash(&123_456u64.to_be_bytes());
    group.bench_function("verify", |b| {
        b.iter_batched(
            || proof.clone(),
            |proof| proof.verify(black_box(&leaf), &root).expect("valid"),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, builder, proofs);
criterion_main!(benches);
