//! Opening a large ledger to read one case: from the newest signed state snapshot (what
//! every command does once appends have written one) against a replay of every entry (a
//! ledger without snapshots).
//!
//! `CUSTODY_BENCH_EVENTS` sets the ledger size (default 100,000): cases of 100 events each
//! (opened, one item acquired, 98 examinations). `CUSTODY_BENCH_DIR`, when set, keeps the
//! two ledgers there (`snapshot.db`, `replay.db`) for timing the `custody` binary on them.

use criterion::{criterion_main, Criterion};
use custody_core::keys::{ActorInfo, Identity};
use custody_store::{EventDraft, EventFields, EventKind, Evidence, Ledger};

const ORIGIN: &str = "bench.example/custody";
const T0: &str = "2026-03-01T09:00:00+01:00";
const EVENTS_PER_CASE: usize = 100;

fn identity(name: &str, seed: u8) -> Identity {
    Identity::from_seed(ActorInfo::named(name), [seed; 32]).expect("seed")
}

fn case_drafts(case: usize) -> Vec<EventDraft> {
    let (case_ref, item) = (format!("C-{case}"), format!("E-{case}"));
    let mut sha256 = [0u8; 32];
    sha256[..8].copy_from_slice(&(case as u64).to_be_bytes());
    let mut drafts = vec![
        EventDraft::new(EventKind::CaseOpened, T0).case(&case_ref),
        EventDraft::new(EventKind::Acquired, T0)
            .case(&case_ref)
            .item(&item)
            .fields(EventFields {
                evidence: Some(Evidence {
                    size: 1,
                    sha256,
                    blake3: sha256,
                    source_path: format!("{item}.img"),
                    files: None,
                }),
                ..EventFields::default()
            }),
    ];
    drafts.extend((2..EVENTS_PER_CASE).map(|i| {
        EventDraft::new(EventKind::Examined, T0)
            .case(&case_ref)
            .item(&item)
            .fields(EventFields {
                tool: Some("sleuthkit".into()),
                tool_version: Some("4.12".into()),
                notes: Some(format!("examination {i}")),
                ..EventFields::default()
            })
    }));
    drafts
}

fn bench(c: &mut Criterion) {
    let events: usize = std::env::var("CUSTODY_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (alice, log) = (identity("alice", 1), identity("bench-log", 9));
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = std::env::var_os("CUSTODY_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| temp.path().to_path_buf());
    let path = dir.join("snapshot.db");
    let _ = std::fs::remove_file(&path);
    let mut ledger = Ledger::init(&path, ORIGIN, &alice, &log).expect("init");
    let cases = events / EVENTS_PER_CASE;
    for chunk in (0..cases).collect::<Vec<_>>().chunks(10) {
        let drafts = chunk.iter().flat_map(|c| case_drafts(*c)).collect();
        ledger.append_batch(drafts, &alice, &log).expect("fill");
    }
    let size = ledger.size().expect("size");
    drop(ledger);
    let replay = dir.join("replay.db");
    let _ = std::fs::remove_file(&replay);
    std::fs::copy(&path, &replay).expect("copy");
    rusqlite::Connection::open(&replay)
        .and_then(|c| c.execute_batch("DELETE FROM snapshots"))
        .expect("no snapshots");
    let case = format!("C-{}", cases / 2);
    {
        let opened = Ledger::open(&path).expect("open");
        assert!(opened.replayed_from_snapshot().expect("open").is_some());
        eprintln!(
            "{size} entries; snapshots at {:?}",
            opened.snapshot_sizes().expect("sizes")
        );
    }

    let mut group = c.benchmark_group("snapshot");
    group.sample_size(10);
    group.bench_function(
        format!("open_and_read_one_case_of_{size}_from_snapshot"),
        |b| {
            b.iter(|| {
                let opened = Ledger::open(&path).expect("open");
                opened.case_history(&case).expect("history").len()
            })
        },
    );
    group.bench_function(
        format!("open_and_read_one_case_of_{size}_replaying_all"),
        |b| {
            b.iter(|| {
                let opened = Ledger::open(&replay).expect("open");
                opened.case_history(&case).expect("history").len()
            })
        },
    );
    let mut writer = Ledger::open(&replay).expect("open");
    group.bench_function(format!("write_snapshot_of_{size}"), |b| {
        b.iter(|| writer.write_snapshot(&log).expect("snapshot"))
    });
    group.finish();
}

// The macro generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
