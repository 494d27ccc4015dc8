//! Ledger speed: batch append rate, full verification rate, inclusion proof time, and the
//! replay of the entries that every decision rests on (once per open ledger).
//!
//! `CUSTODY_BENCH_EVENTS` sets the size of the ledger verified and proved against
//! (default 100,000; the design target is stated for 1,000,000). With
//! `CUSTODY_BENCH_LEDGER_OUT` set to a path, the ledger built for that size is copied there
//! (once built, before any timing), so that `scripts/bench.sh` can time the command-line
//! reads (`custody log --case C-1`) on the same ledger.
//!
//! `CUSTODY_BENCH_POSTGRES`, the URL of a database on a throw-away PostgreSQL cluster
//! (`scripts/pg-cluster.sh start DIR PORT` prints one), adds the `ledger_postgres` group:
//! the same appends on a ledger in a fresh database of that cluster.

use criterion::{criterion_main, BatchSize, Criterion, Throughput};
use custody_core::keys::{ActorInfo, Identity};
use custody_store::{EventDraft, EventFields, EventKind, Evidence, Ledger};

const ORIGIN: &str = "bench.example/custody";
const T0: &str = "2026-03-01T09:00:00+01:00";
const BATCH: usize = 1_000;

fn identity(name: &str, seed: u8) -> Identity {
    let info = ActorInfo {
        name: name.to_owned(),
        role: None,
        organisation: None,
        jurisdiction: None,
        full_name: None,
    };
    Identity::from_seed(info, [seed; 32]).expect("seed")
}

fn drafts(n: usize) -> Vec<EventDraft> {
    (0..n)
        .map(|i| {
            EventDraft::new(EventKind::Examined, T0)
                .case("C-1")
                .item("E1")
                .fields(EventFields {
                    tool: Some("sleuthkit".into()),
                    tool_version: Some("4.12".into()),
                    notes: Some(format!("examination {i}")),
                    ..EventFields::default()
                })
        })
        .collect()
}

fn fresh(dir: &std::path::Path, events: usize) -> Ledger {
    let (alice, log) = (identity("alice", 1), identity("bench-log", 9));
    let path = dir.join("bench.db");
    let mut ledger = Ledger::init(&path, ORIGIN, &alice, &log).expect("init");
    ledger.append_batch(setup(), &alice, &log).expect("setup");
    let mut left = events;
    while left > 0 {
        let n = left.min(10_000);
        ledger.append_batch(drafts(n), &alice, &log).expect("fill");
        left -= n;
    }
    ledger
}

/// The case and item the benchmark events are about.
fn setup() -> Vec<EventDraft> {
    vec![
        EventDraft::new(EventKind::CaseOpened, T0).case("C-1"),
        EventDraft::new(EventKind::Acquired, T0)
            .case("C-1")
            .item("E1")
            .fields(EventFields {
                evidence: Some(Evidence {
                    size: 1,
                    sha256: [1; 32],
                    blake3: [2; 32],
                    source_path: "disk.img".into(),
                    files: None,
                }),
                ..EventFields::default()
            }),
    ]
}

/// A fresh database beside the one `admin` names (`CREATE DATABASE`), as a URL.
fn fresh_postgres(admin: &str) -> std::path::PathBuf {
    let name = format!("bench_{}", std::process::id());
    let mut client = postgres::Client::connect(admin, postgres::NoTls).expect("bench cluster");
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}; "))
        .expect("drop");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    let (base, _) = admin.rsplit_once('/').expect("URL with a database");
    std::path::PathBuf::from(format!("{base}/{name}"))
}

/// Appends on PostgreSQL: a batch of 1,000 and one event at a time (each its own
/// transaction, lock and commit flushed to the server's WAL).
fn bench_postgres(c: &mut Criterion, admin: &str) {
    let (alice, log) = (identity("alice", 1), identity("bench-log", 9));
    let path = fresh_postgres(admin);
    let mut ledger = Ledger::init(&path, ORIGIN, &alice, &log).expect("init");
    ledger.append_batch(setup(), &alice, &log).expect("setup");
    let mut group = c.benchmark_group("ledger_postgres");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("append_batch_1000_signed_events", |b| {
        b.iter_batched(
            || drafts(BATCH),
            |batch| ledger.append_batch(batch, &alice, &log).expect("append"),
            BatchSize::SmallInput,
        )
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("append_one_signed_event", |b| {
        b.iter_batched(
            || drafts(1),
            |batch| ledger.append_batch(batch, &alice, &log).expect("append"),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    if let Ok(admin) = std::env::var("CUSTODY_BENCH_POSTGRES") {
        bench_postgres(c, &admin);
    }
    let events: usize = std::env::var("CUSTODY_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (alice, log) = (identity("alice", 1), identity("bench-log", 9));

    let mut group = c.benchmark_group("ledger");
    group.sample_size(10);

    let dir = tempfile::tempdir().expect("temp dir");
    let mut small = fresh(dir.path(), 0);
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("append_batch_1000_signed_events", |b| {
        b.iter_batched(
            || drafts(BATCH),
            |batch| small.append_batch(batch, &alice, &log).expect("append"),
            BatchSize::SmallInput,
        )
    });

    let big_dir = tempfile::tempdir().expect("temp dir");
    let big = fresh(big_dir.path(), events);
    let size = big.size().expect("size");
    if let Some(out) = std::env::var_os("CUSTODY_BENCH_LEDGER_OUT") {
        // The WAL too, if any: it may hold committed entries not yet in the main file.
        let mut wal = out.clone();
        wal.push("-wal");
        let _ = std::fs::remove_file(&wal);
        let written_wal = big_dir.path().join("bench.db-wal");
        if written_wal.exists() {
            std::fs::copy(written_wal, &wal).expect("copy the bench ledger's WAL");
        }
        std::fs::copy(big_dir.path().join("bench.db"), out).expect("copy the bench ledger");
    }
    group.throughput(Throughput::Elements(size));
    group.bench_function(format!("verify_{size}_events"), |b| {
        b.iter(|| {
            let report = big.verify(&[]).expect("verify");
            assert!(report.is_clean());
        })
    });

    group.throughput(Throughput::Elements(1));
    let mut i = 0u64;
    group.bench_function(format!("inclusion_proof_in_{size}"), |b| {
        b.iter(|| {
            i = (i + 7_919) % size;
            big.inclusion_proof(i, size).expect("proof")
        })
    });

    // Decisions rest on the entries: the first read of an opened ledger replays them all
    // against the newest signed checkpoint; later appends only replay what others added.
    let big_path = big_dir.path().join("bench.db");
    group.throughput(Throughput::Elements(size));
    group.bench_function(format!("open_and_replay_{size}_events"), |b| {
        b.iter(|| {
            let opened = Ledger::open(&big_path).expect("open");
            opened.items(None).expect("verified items").len()
        })
    });
    let mut reopened = Ledger::open(&big_path).expect("open");
    reopened.items(None).expect("verified items");
    group.throughput(Throughput::Elements(1));
    group.bench_function(format!("append_one_to_{size}_events_after_replay"), |b| {
        b.iter_batched(
            || drafts(1),
            |batch| reopened.append_batch(batch, &alice, &log).expect("append"),
            BatchSize::SmallInput,
        )
    });

    // Reference points on the same machine in the same run: one strict Ed25519 verification
    // (the signature rule, on one thread) and one signature over an event-sized message bound
    // what verify and append can reach. Full verification must reach 50,000 events/s, or on a
    // slower or busier moment at least 1.9x the single-thread strict rate measured here.
    let message = vec![b'x'; 400];
    let signature = alice.sign_raw(&message);
    let key = alice.public_key();
    group.bench_function("reference_ed25519_verify_strict", |b| {
        b.iter(|| key.verify_raw(&message, &signature).expect("verifies"))
    });
    // The signature rule on every core, as ledger verification runs it: how far the
    // signature work alone scales beyond the single-thread rate.
    const SIGNATURES: usize = 4_096;
    let records: Vec<Vec<u8>> = (0..SIGNATURES)
        .map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(380)).into_bytes())
        .collect();
    let signatures: Vec<custody_core::keys::Signature> = records
        .iter()
        .map(|r| custody_core::sign::sign_canonical(&alice, custody_core::sign::CONTEXT_EVENT, r))
        .collect();
    let items: Vec<custody_core::sign::BatchItem<'_>> = records
        .iter()
        .zip(&signatures)
        .map(|(canonical, signature)| custody_core::sign::BatchItem {
            key: &key,
            canonical,
            signature,
        })
        .collect();
    group.throughput(Throughput::Elements(SIGNATURES as u64));
    group.bench_function(
        format!("verify_strict_{SIGNATURES}_signatures_all_cores"),
        |b| {
            b.iter(|| {
                let verdicts = custody_core::sign::verify_canonical_batch(
                    custody_core::sign::CONTEXT_EVENT,
                    &items,
                );
                assert!(verdicts.iter().all(|ok| *ok));
            })
        },
    );
    group.throughput(Throughput::Elements(1));
    group.bench_function("reference_ed25519_sign", |b| {
        b.iter(|| alice.sign_raw(&message))
    });
    group.finish();
}

// The macro generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
