//! Several processes on one ledger (a SQLite file, and a PostgreSQL database on a
//! throw-away cluster): appends SIGKILLed at random moments lose nothing
//! that was acknowledged, and concurrent appenders never fork the tree or skip an index.
//!
//! This binary re-executes itself: with `CUSTODY_STORE_CHILD` set it is an appender child,
//! otherwise it runs the parent scenarios.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use common::*;
use custody_store::{EventKind, Ledger};

const CHILD_ENV: &str = "CUSTODY_STORE_CHILD";

fn main() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        child(&spec);
        return;
    }
    let mut failed = 0;
    let scenarios = [
        (
            "killed_appenders_lose_nothing_acknowledged",
            killed_appenders_lose_nothing_acknowledged as fn(&Path),
        ),
        (
            "concurrent_appenders_share_one_tree",
            concurrent_appenders_share_one_tree,
        ),
    ];
    let cluster = pg::PgCluster::start();
    for backend in &[Backend::Sqlite, Backend::Postgres(&cluster)] {
        for (name, test) in scenarios {
            print!("test {name}::{} ... ", backend.name());
            std::io::stdout().flush().ok();
            let dir = tempfile::tempdir().unwrap();
            let location = backend.location(dir.path());
            match std::panic::catch_unwind(|| test(&location)) {
                Ok(()) => println!("ok"),
                Err(_) => {
                    println!("FAILED");
                    failed += 1;
                }
            }
        }
    }
    print!("test server_killed_mid_run_loses_nothing_acknowledged::postgresql ... ");
    std::io::stdout().flush().ok();
    let crash =
        std::panic::AssertUnwindSafe(|| server_killed_mid_run_loses_nothing_acknowledged(&cluster));
    match std::panic::catch_unwind(crash) {
        Ok(()) => println!("ok"),
        Err(_) => {
            println!("FAILED");
            failed += 1;
        }
    }
    // Stopped here: `process::exit` below would skip its destructor.
    drop(cluster);
    // The same closing line as libtest, so runners that read it count these scenarios.
    let passed = scenarios.len() * 2 + 1 - failed;
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!("\ntest result: {verdict}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out");
    if failed > 0 {
        std::process::exit(101);
    }
}

/// Child: `path|tag|count` — append `count` events (0 = until killed), printing each seq
/// as soon as its append returned.
fn child(spec: &str) {
    let mut parts = spec.splitn(3, '|');
    let (Some(path), Some(tag), Some(count)) = (parts.next(), parts.next(), parts.next()) else {
        panic!("bad child spec {spec:?}");
    };
    let count: u64 = count.parse().expect("count");
    let mut ledger = Ledger::open(Path::new(path)).expect("child opens ledger");
    let (alice, log) = (investigator(), log_key());
    let stdout = std::io::stdout();
    let mut n = 0u64;
    while count == 0 || n < count {
        let mut draft = on_item(EventKind::Examined, "C-1", "E1", T0);
        draft.fields.notes = Some(format!("{tag} {n}"));
        let appended = ledger.append(draft, &alice, &log).expect("child append");
        let mut out = stdout.lock();
        writeln!(out, "{}", appended.seq).expect("report seq");
        out.flush().expect("flush");
        n += 1;
    }
}

fn spawn(path: &Path, tag: &str, count: u64) -> Child {
    Command::new(std::env::current_exe().expect("own binary"))
        .env(CHILD_ENV, format!("{}|{tag}|{count}", path.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child")
}

fn ledger_with_item(path: &Path) -> PathBuf {
    let path = path.to_path_buf();
    let mut ledger = Ledger::init(&path, ORIGIN, &investigator(), &log_key()).unwrap();
    let (alice, log) = (investigator(), log_key());
    ledger.append(open_case("C-1"), &alice, &log).unwrap();
    ledger
        .append(acquire("C-1", "E1", T0), &alice, &log)
        .unwrap();
    path
}

/// A small xorshift generator seeded from the clock: kill moments differ from run to run.
struct Jitter(u64);

impl Jitter {
    fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Jitter(nanos | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn killed_appenders_lose_nothing_acknowledged(location: &Path) {
    let path = ledger_with_item(location);
    let mut jitter = Jitter::new();
    let mut acknowledged = Vec::new();
    for round in 0..30 {
        let mut child = spawn(&path, &format!("round{round}"), 0);
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| l.trim().parse::<u64>().ok())
                .collect::<Vec<u64>>()
        });
        std::thread::sleep(Duration::from_millis(20 + jitter.below(180)));
        child.kill().expect("SIGKILL child");
        child.wait().expect("reap child");
        acknowledged.extend(reader.join().expect("reader"));

        let ledger = Ledger::open(&path).expect("ledger opens after a kill");
        let report = ledger.verify(&[]).expect("verify runs");
        assert!(report.is_clean(), "round {round}: {:#?}", report.findings);
        for &seq in &acknowledged {
            assert!(
                seq < report.size,
                "round {round}: acknowledged seq {seq} lost"
            );
            assert_eq!(ledger.entry(seq).unwrap().signed.event.seq, seq);
        }
    }
    assert!(
        !acknowledged.is_empty(),
        "no child ever completed an append"
    );
}

fn concurrent_appenders_share_one_tree(location: &Path) {
    let path = ledger_with_item(location);
    let start = Ledger::open(&path).unwrap().size().unwrap();
    let children: Vec<Child> = (0..4)
        .map(|i| spawn(&path, &format!("p{i}"), 500))
        .collect();
    let mut seqs = Vec::new();
    for mut child in children {
        let stdout = child.stdout.take().unwrap();
        let lines: Vec<u64> = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        assert!(child.wait().unwrap().success(), "an appender failed");
        assert_eq!(lines.len(), 500);
        seqs.extend(lines);
    }
    seqs.sort_unstable();
    let expected: Vec<u64> = (start..start + 2000).collect();
    assert_eq!(
        seqs, expected,
        "every seq handed out exactly once, none skipped"
    );
    let ledger = Ledger::open(&path).unwrap();
    let report = ledger.verify(&[]).unwrap();
    assert_eq!(report.size, start + 2000);
    assert!(report.is_clean(), "{:#?}", report.findings);
    assert_eq!(ledger.item_history("E1").unwrap().len(), 2001);
}

/// The database server itself is killed (as a crash: `pg_ctl stop -m immediate`) while
/// two appenders run, and restarted: every append a child was told had succeeded is
/// still there, in a ledger that verifies. The children's in-flight appends fail with a
/// connection error (they exit; their unacknowledged appends may or may not be there).
fn server_killed_mid_run_loses_nothing_acknowledged(cluster: &pg::PgCluster) {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_with_item(&Backend::Postgres(cluster).location(dir.path()));
    let mut jitter = Jitter::new();
    let mut acknowledged = Vec::new();
    for round in 0..3 {
        let mut children: Vec<Child> = (0..2)
            .map(|i| spawn_quiet(&path, &format!("crash{round}-{i}")))
            .collect();
        let readers: Vec<_> = children
            .iter_mut()
            .map(|child| {
                let stdout = child.stdout.take().unwrap();
                std::thread::spawn(move || {
                    BufReader::new(stdout)
                        .lines()
                        .map_while(Result::ok)
                        .filter_map(|l| l.trim().parse::<u64>().ok())
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300 + jitter.below(300)));
        cluster.crash_and_restart();
        for mut child in children {
            // A child whose connection broke has exited; one that has not is stopped.
            child.kill().ok();
            child.wait().expect("reap child");
        }
        for reader in readers {
            acknowledged.extend(reader.join().expect("reader"));
        }
        let ledger = Ledger::open(&path).expect("ledger opens after the server's crash");
        let report = ledger.verify(&[]).expect("verify runs");
        assert!(report.is_clean(), "round {round}: {:#?}", report.findings);
        for &seq in &acknowledged {
            assert!(
                seq < report.size,
                "round {round}: acknowledged seq {seq} lost"
            );
            assert_eq!(ledger.entry(seq).unwrap().signed.event.seq, seq);
        }
    }
    assert!(
        !acknowledged.is_empty(),
        "no child ever completed an append"
    );
}

/// [`spawn`] appending until stopped, with the child's stderr discarded (its expected
/// connection-error panic is not a failure of the test).
fn spawn_quiet(path: &Path, tag: &str) -> Child {
    Command::new(std::env::current_exe().expect("own binary"))
        .env(CHILD_ENV, format!("{}|{tag}|0", path.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child")
}
