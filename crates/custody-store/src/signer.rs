//! The log signer's own memory: the last checkpoint its log key signed.
//!
//! The log key lives only where checkpoints are signed, and beside it (never beside the
//! ledger) the signer keeps a state file: the last checkpoint note it signed, exactly as
//! signed. Before signing a new checkpoint the signer checks that the tree is an extension
//! of that one (same or larger size, and a consistency proof from it verifies), so a ledger
//! whose tail was cut, or whose entries were changed, with SQL gets no new checkpoint; and
//! `Ledger::verify` given the state reports a ledger shorter than, or inconsistent with, the
//! last checkpoint the log key signed. The file is replaced atomically (temporary file,
//! fsync, rename, fsync of the directory).
//!
//! A checkpoint is signed inside the append transaction, before the commit, and the signer
//! must never forget what it signed: it first records the new note as *pending*
//! (`<state>.pending`), commits, then makes it the state and removes the pending file. A
//! process killed between the two leaves a pending note behind, which the next append
//! settles before anything else ([`settle_pending`]): if the ledger holds the pending tree
//! the commit happened and the note becomes the state; if the ledger is still the tree of
//! the state the commit never happened, the note was never answered to anyone, and it is
//! dropped. Anything else is a fork and refused. So a crash at any point leaves a ledger
//! that takes the next append, and the state file itself is never ahead of a ledger that
//! was not cut.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use custody_core::checkpoint::Checkpoint;
use custody_core::keys::VerifierKey;

use crate::error::{SignerStateProblem, StoreError};

/// What is appended to the log key file's name to name its state file.
pub const SIGNER_STATE_SUFFIX: &str = ".state";

/// The largest signer state file read (a checkpoint note is a few hundred bytes).
pub const MAX_SIGNER_STATE_BYTES: u64 = 64 * 1024;

/// The state file kept beside the log key file `log_key`: `<log_key>.state`.
pub fn signer_state_path(log_key: &Path) -> PathBuf {
    let mut name = log_key.as_os_str().to_owned();
    name.push(SIGNER_STATE_SUFFIX);
    PathBuf::from(name)
}

fn problem(path: &Path) -> impl Fn(SignerStateProblem) -> StoreError + '_ {
    move |reason| StoreError::SignerState {
        path: path.to_path_buf(),
        reason,
    }
}

/// Reads the last checkpoint the log key signed for `origin`, as `(checkpoint, note)`;
/// `None` when the state file does not exist yet (the key has signed nothing).
pub fn read_signer_state(
    path: &Path,
    log_key: &VerifierKey,
    origin: &str,
) -> Result<Option<(Checkpoint, String)>, StoreError> {
    let fail = problem(path);
    // A named pipe or device put in its place would block or never end: only a regular
    // file (a symlink is followed) is read.
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => return Err(fail(SignerStateProblem::NotAFile)),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(e.into())),
    }
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(e.into())),
    };
    let mut note = String::new();
    file.take(MAX_SIGNER_STATE_BYTES + 1)
        .read_to_string(&mut note)
        .map_err(|e| fail(e.into()))?;
    if note.len() as u64 > MAX_SIGNER_STATE_BYTES {
        return Err(fail(SignerStateProblem::TooLarge {
            limit: MAX_SIGNER_STATE_BYTES,
        }));
    }
    let (checkpoint, _, _) = Checkpoint::open(note.as_bytes(), std::slice::from_ref(log_key))
        .map_err(|e| fail(SignerStateProblem::NotSigned(e)))?;
    if checkpoint.origin != origin {
        return Err(fail(SignerStateProblem::OtherOrigin {
            expected: origin.to_owned(),
            found: checkpoint.origin,
        }));
    }
    Ok(Some((checkpoint, note)))
}

/// What is appended to the state file's name to name the pending note's file.
pub const PENDING_SUFFIX: &str = ".pending";

/// The pending note's file beside the state file `state`: `<state>.pending`.
pub fn pending_path(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(PENDING_SUFFIX);
    PathBuf::from(name)
}

/// Records `note` as signed but not yet committed (see the module documentation).
pub(crate) fn write_pending(state: &Path, note: &str) -> Result<(), StoreError> {
    write_signer_state(&pending_path(state), note)
}

/// After the commit: `note` becomes the state and the pending file goes. A failure here
/// loses nothing: the pending note is settled by the next append.
pub(crate) fn promote_pending(state: &Path, note: &str) -> Result<(), StoreError> {
    write_signer_state(state, note)?;
    remove_pending(state)
}

fn remove_pending(state: &Path) -> Result<(), StoreError> {
    let pending = pending_path(state);
    match std::fs::remove_file(&pending) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(problem(&pending)(e.into())),
    }
}

/// What the ledger's tree says of a pending note (see [`settle_pending`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PendingFate {
    /// The ledger holds the pending tree (or a tree extending it): it was committed.
    Committed,
    /// The ledger is smaller than the pending tree: the commit never happened.
    NeverCommitted,
}

/// Settles a pending note left by a process killed between signing and committing:
/// `fate` judges the note against the ledger's verified tree (`None`: a fork, refused).
/// Returns whether there was one.
pub(crate) fn settle_pending(
    state: &Path,
    log_key: &VerifierKey,
    origin: &str,
    fate: impl FnOnce(&Checkpoint) -> Option<PendingFate>,
) -> Result<bool, StoreError> {
    let pending = pending_path(state);
    let Some((checkpoint, note)) = read_signer_state(&pending, log_key, origin)? else {
        return Ok(false);
    };
    match fate(&checkpoint) {
        Some(PendingFate::Committed) => promote_pending(state, &note)?,
        Some(PendingFate::NeverCommitted) => remove_pending(state)?,
        None => {
            return Err(StoreError::SignerStateFork {
                signed_size: checkpoint.size,
            })
        }
    }
    Ok(true)
}

/// Replaces the state with `note`, atomically and durably.
pub(crate) fn write_signer_state(path: &Path, note: &str) -> Result<(), StoreError> {
    let fail = problem(path);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // tempfile names its temporary file in its errors (a name the user never gave): keep
    // the cause only, and write through the plain file handle.
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| match e.raw_os_error() {
        Some(_) => fail(e.into()),
        None => fail(std::io::Error::from(e.kind()).into()),
    })?;
    temp.as_file_mut()
        .write_all(note.as_bytes())
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| fail(e.into()))?;
    temp.persist(path).map_err(|e| fail(e.error.into()))?;
    // The rename is durable only once the directory is.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
