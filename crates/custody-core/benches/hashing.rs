//! Throughput of the single-pass hasher against each hash alone, on 256 MiB held in memory
//! (so that storage speed does not enter the figures). The design target: the combined pass
//! costs little more than SHA-256 alone, because BLAKE3 and the copy run beside it.
// criterion_group! defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use custody_core::hash::{copy_and_hash, hash_reader};
use sha2::Digest as _;

const SIZE: usize = 256 << 20;

fn input() -> Vec<u8> {
    (0..SIZE).map(|i| (i % 251) as u8).collect()
}

fn hashing(c: &mut Criterion) {
    let data = input();
    let mut group = c.benchmark_group("hash_256MiB");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(SIZE as u64));

    group.bench_function("sha256_alone", |b| {
        b.iter(|| sha2::Sha256::digest(black_box(&data[..])))
    });
    group.bench_function("blake3_alone", |b| {
        b.iter(|| blake3::hash(black_box(&data[..])))
    });
    group.bench_function("hash_reader_sha256_and_blake3", |b| {
        b.iter(|| hash_reader(black_box(&data[..]), &mut |_| {}).expect("in-memory read"))
    });
    group.bench_function("copy_and_hash_to_sink", |b| {
        b.iter(|| {
            copy_and_hash(black_box(&data[..]), std::io::sink(), &mut |_| {})
                .expect("in-memory copy")
        })
    });
    group.finish();
}

criterion_group!(benches, hashing);
criterion_main!(benches);
