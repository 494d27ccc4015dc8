//! Temporary files and directories that sealing, countersigning and receiving create beside
//! their destination, named so that a later run recognises and removes what a killed run
//! left behind.
//!
//! A name is `.custody-<kind>-<pid>.<random>`: the kind of operation and the id of the
//! process that made it. [`sweep`] removes the entries of a directory of one kind whose
//! process no longer exists (no `/proc/<pid>`); an entry of a live process, this one's
//! included, is never touched. Where `/proc` is not mounted nothing is swept. Processes
//! that share a destination directory must share a PID namespace: a process of another
//! namespace looks dead, and its temporary file would be removed under it (its run then
//! fails; nothing half-written is ever taken for a result).

use std::fs;
use std::path::Path;

/// Which operation a temporary entry belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A package being written (seal, countersign): a file.
    Pack,
    /// A package being received: the private copy's fallback name and the staging
    /// directory.
    Receive,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Pack => "pack",
            Kind::Receive => "receive",
        }
    }
}

/// The name prefix for this process's temporary entries of `kind` (the random part follows).
pub(crate) fn prefix(kind: Kind) -> String {
    format!(".custody-{}-{}.", kind.tag(), std::process::id())
}

/// Removes, best effort, the entries of `kind` in `dir` left by processes that no longer
/// exist. Linear in the number of entries in `dir`.
pub(crate) fn sweep(dir: &Path, kind: Kind) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let head = format!(".custody-{}-", kind.tag());
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&head))
            .and_then(|rest| rest.split_once('.'))
            .and_then(|(pid, _)| owner(pid))
        else {
            continue;
        };
        if pid == std::process::id() || proc.join(pid.to_string()).exists() {
            continue;
        }
        // `file_type` does not follow symbolic links, and `remove_dir_all` does not
        // either: nothing outside `dir` is removed.
        let _ = match entry.file_type() {
            Ok(t) if t.is_dir() => fs::remove_dir_all(entry.path()),
            Ok(_) => fs::remove_file(entry.path()),
            Err(_) => continue,
        };
    }
}

/// The process id in a temporary name: plain decimal digits only.
fn owner(pid: &str) -> Option<u32> {
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_removes_only_entries_of_dead_processes() {
        let dir = tempfile::tempdir().unwrap();
        // Process ids above the kernel's maximum (2^22) never exist.
        let dead = dir.path().join(".custody-pack-4294967295.abc.partial");
        let dead_dir = dir.path().join(".custody-receive-4294967294.xyz");
        let live = dir.path().join(format!("{}x", prefix(Kind::Pack)));
        let other_kind = dir.path().join(".custody-receive-4294967295.keep");
        let unrelated = dir.path().join(".custody-pack-12ab.keep");
        fs::write(&dead, b"x").unwrap();
        fs::create_dir_all(dead_dir.join("a/b")).unwrap();
        fs::write(&live, b"x").unwrap();
        fs::write(&other_kind, b"x").unwrap();
        fs::write(&unrelated, b"x").unwrap();
        sweep(dir.path(), Kind::Pack);
        assert!(!dead.exists());
        assert!(live.exists() && other_kind.exists() && unrelated.exists());
        assert!(dead_dir.exists());
        sweep(dir.path(), Kind::Receive);
        assert!(!dead_dir.exists() && !other_kind.exists());
        assert!(live.exists() && unrelated.exists());
    }
}
