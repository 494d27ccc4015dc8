//! A `custody seal` or `custody receive` killed with SIGKILL at any point leaves nothing
//! behind once the command has run again in the same directory: the temporary package file
//! and the staging directory carry the id of the process that made them, and the next run
//! removes those whose process is gone. Each kill point is reached by watching the
//! directory (a partial file of some size, a staging directory holding some bytes), never
//! by timing.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use crate::harness::Sandbox;
use crate::seal::{custody, new_key};

const RECIPIENT: &str = "Staatsanwaltschaft Berlin";
/// Large enough that seal and receive take a while even in a release build.
const EVIDENCE: usize = 64 << 20;

/// A sender ledger holding one 64 MiB item, C-1-1, with `officer.pub` beside it.
fn sender() -> Sandbox {
    let sb = Sandbox::new();
    let officer = new_key(&sb, "officer@parquet.example", "officer.key");
    std::fs::write(sb.path("officer.pub"), officer.public_key().to_pem()).unwrap();
    let origin = "ledger.parquet.example/custody";
    custody(&sb, &["init", "--key", "officer.key", "--origin", origin]).expect(0);
    let open = [
        "case",
        "open",
        "C-1",
        "--key",
        "officer.key",
        "--title",
        "Fraud",
    ];
    custody(&sb, &open).expect(0);
    let evidence: Vec<u8> = (0..EVIDENCE).map(|i| (i % 251) as u8).collect();
    std::fs::write(sb.path("big.img"), evidence).unwrap();
    custody(
        &sb,
        &[
            "acquire",
            "big.img",
            "--case",
            "C-1",
            "--key",
            "officer.key",
        ],
    )
    .expect(0);
    sb
}

fn seal_args(out: &str) -> Vec<&str> {
    vec![
        "seal",
        "C-1-1",
        "--case",
        "C-1",
        "--to",
        RECIPIENT,
        "--out",
        out,
        "--key",
        "officer.key",
    ]
}

fn spawn(sb: &Sandbox, args: &[&str]) -> Child {
    sb.cmd(args)
        .env_remove("CUSTODY_LOG_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn custody")
}

/// Kills `child` with SIGKILL as soon as `reached` holds; panics if it ends first.
fn kill_when(mut child: Child, what: &str, reached: impl Fn() -> bool) {
    loop {
        if reached() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
            return;
        }
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("the command ended ({status}) before {what}");
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Names in `dir` starting with `.custody-`.
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".custody-"))
        })
        .collect()
}

/// Total bytes of the regular files under `path`.
fn bytes_under(path: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![path.to_path_buf()];
    while let Some(p) = pending.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&p) {
                pending.extend(entries.flatten().map(|e| e.path()));
            }
        } else {
            total += meta.len();
        }
    }
    total
}

fn temporary_bytes(dir: &Path) -> Option<u64> {
    let found = temporaries(dir);
    (!found.is_empty()).then(|| found.iter().map(|p| bytes_under(p)).sum())
}

#[test]
fn fail_killed_seal_leaves_nothing_after_the_next_seal() {
    let sb = sender();
    let dir = sb.dir.path().to_path_buf();
    for (n, at_least) in [0u64, 8 << 20, 32 << 20].into_iter().enumerate() {
        let out = format!("killed-{n}.zip");
        let child = spawn(&sb, &seal_args(&out));
        kill_when(
            child,
            &format!("its partial file held {at_least} bytes"),
            || temporary_bytes(&dir).is_some_and(|b| b >= at_least),
        );
        assert!(!sb.path(&out).exists(), "no package from a killed seal");
        assert!(
            !temporaries(&dir).is_empty(),
            "the kill left a partial file"
        );
        custody(&sb, &seal_args(&format!("done-{n}.zip"))).expect(0);
        assert_eq!(temporaries(&dir), Vec::<PathBuf>::new());
    }
}

fn receive_args(into: &str) -> Vec<&str> {
    vec![
        "receive",
        "pkg.zip",
        "--into",
        into,
        "--trust",
        "officer.pub",
        "--ledger",
        "recv.db",
        "--key",
        "clerk.key",
        "--receipt",
        "receipt.json",
    ]
}

#[test]
fn fail_killed_receive_leaves_nothing_after_the_next_receive() {
    let sb = sender();
    custody(&sb, &seal_args("pkg.zip")).expect(0);
    new_key(&sb, "clerk@sta-berlin.example", "clerk.key");
    let origin = "ledger.sta-berlin.example/custody";
    custody(
        &sb,
        &[
            "init",
            "--ledger",
            "recv.db",
            "--key",
            "clerk.key",
            "--origin",
            origin,
        ],
    )
    .expect(0);
    let inbox = sb.path("inbox");
    std::fs::create_dir(&inbox).unwrap();
    for (n, at_least) in [0u64, 8 << 20, 32 << 20].into_iter().enumerate() {
        let into = format!("inbox/killed-{n}");
        let child = spawn(&sb, &receive_args(&into));
        kill_when(child, &format!("its staging held {at_least} bytes"), || {
            temporary_bytes(&inbox).is_some_and(|b| b >= at_least)
        });
        assert!(!sb.path(&into).exists(), "nothing received by a killed run");
        assert!(
            !temporaries(&inbox).is_empty(),
            "the kill left a staging directory"
        );
    }
    // The next receive, into the same directory, sweeps all three.
    custody(&sb, &receive_args("inbox/done")).expect(0);
    assert_eq!(temporaries(&inbox), Vec::<PathBuf>::new());
    assert!(sb.path("inbox/done/data/C-1-1/big.img").is_file());
}
