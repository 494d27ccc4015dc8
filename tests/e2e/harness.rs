//! A small harness for driving the `custody` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Where the sandbox keeps its log keys and their signer states (never beside a ledger).
pub const LOG_KEY_DIR: &str = "log-keys";
/// The environment variable that names the log key directory.
pub const LOG_KEY_DIR_ENV: &str = "CUSTODY_LOG_KEY_DIR";

/// Where the sandbox keeps its trust store (never the host's).
pub const TRUST_DIR: &str = "trust";
/// The environment variable that names the trust store.
pub const TRUST_DIR_ENV: &str = "CUSTODY_TRUST_DIR";

/// Copies the log key directory of `from` (keys and signer states) into `to`.
pub fn copy_log_keys(from: &Path, to: &Path) {
    let (from, to) = (from.join(LOG_KEY_DIR), to.join(LOG_KEY_DIR));
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// The repository's `fixtures/` directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// A scratch directory in which commands run, with no ledger or key from the environment.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

/// The result of one run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from_output(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "exit code {} (wanted {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A `custody` command running inside the sandbox with a clean environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_custody"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("CUSTODY_LEDGER")
            .env_remove("CUSTODY_KEY")
            .env_remove("CUSTODY_LOG_KEY")
            .env(LOG_KEY_DIR_ENV, self.dir.path().join(LOG_KEY_DIR))
            .env(TRUST_DIR_ENV, self.dir.path().join(TRUST_DIR))
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `custody ARGS...` and collects the result.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from_output(self.cmd(args).output().expect("spawn custody"))
    }
}

/// Cuts a ledger back to its first `keep` entries with raw SQL, consistently (nodes,
/// checkpoints and index rows too), as someone holding the file could; the caller runs
/// `custody ledger reindex` after it.
pub fn truncate_ledger(db: &Path, keep: u64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("DROP TRIGGER IF EXISTS entries_no_delete;")
        .unwrap();
    for sql in [
        "DELETE FROM entries WHERE seq >= ?1",
        "DELETE FROM nodes WHERE ((idx + 1) << level) > ?1",
        "DELETE FROM checkpoints WHERE size > ?1",
        "DELETE FROM item_events WHERE seq >= ?1",
        "DELETE FROM case_events WHERE seq >= ?1",
    ] {
        conn.execute(sql, [keep]).unwrap();
    }
}
