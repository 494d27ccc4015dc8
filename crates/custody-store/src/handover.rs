//! Hand-over draft files: a two-signature hand-over prepared on one workstation
//! ([`crate::Ledger::prepare`]), cosigned on another ([`crate::SignedEvent::cosign`]) and
//! appended ([`crate::Ledger::append_signed`]) travels between them as a file holding the
//! canonical JSON of the [`SignedEvent`], exactly as it will stand in the ledger.
//!
//! A draft file is outside input: it is read whole only up to [`MAX_DRAFT_BYTES`], must be
//! strict canonical JSON of an entry, and is written atomically (temporary file, fsync,
//! rename), so a reader never sees half a draft.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use custody_core::canonical::{self, StrictJsonError};

use crate::event::SignedEvent;

/// The largest draft file read: the largest entry a ledger holds
/// ([`crate::ledger::MAX_ENTRY_BYTES`]).
pub const MAX_DRAFT_BYTES: u64 = crate::ledger::MAX_ENTRY_BYTES;

/// Why a draft file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DraftError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The draft file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Longer than [`MAX_DRAFT_BYTES`].
    #[error("{path}: longer than {limit} bytes; not a hand-over draft")]
    TooLarge {
        /// The draft file.
        path: PathBuf,
        /// [`MAX_DRAFT_BYTES`].
        limit: u64,
    },
    /// Not the strict canonical JSON of a ledger entry.
    #[error("{path}: not a hand-over draft (the canonical JSON of a ledger entry): {error}")]
    Malformed {
        /// The draft file.
        path: PathBuf,
        /// What is wrong.
        error: StrictJsonError,
    },
    /// A new draft would overwrite an existing file.
    #[error("{path}: already exists; refusing to overwrite it")]
    Exists {
        /// The draft file.
        path: PathBuf,
    },
}

/// Reads a draft file.
pub fn read_draft(path: &Path) -> Result<SignedEvent, DraftError> {
    let io = |source| DraftError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_DRAFT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_DRAFT_BYTES {
        return Err(DraftError::TooLarge {
            path: path.to_owned(),
            limit: MAX_DRAFT_BYTES,
        });
    }
    canonical::parse_strict(&bytes).map_err(|error| DraftError::Malformed {
        path: path.to_owned(),
        error,
    })
}

/// Writes `draft` to `path` atomically; `replace` allows overwriting an existing file (the
/// cosigner replaces the draft they were given), otherwise an existing file is refused.
pub fn write_draft(path: &Path, draft: &SignedEvent, replace: bool) -> Result<(), DraftError> {
    let io = |source| DraftError::Io {
        path: path.to_owned(),
        source,
    };
    let bytes =
        canonical::to_canonical_vec(draft).map_err(|e| io(std::io::Error::other(e.to_string())))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".custody-draft-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(&bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    let persisted = if replace {
        tmp.persist(path).map(drop)
    } else {
        tmp.persist_noclobber(path).map(drop)
    };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            DraftError::Exists {
                path: path.to_owned(),
            }
        } else {
            io(e.error)
        }
    })?;
    if let Ok(d) = std::fs::File::open(dir) {
        d.sync_all().map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventFields, EventKind};

    fn draft() -> SignedEvent {
        SignedEvent {
            event: Event {
                v: 1,
                origin: "o".into(),
                seq: 5,
                kind: EventKind::CheckedOut,
                actor: "aa".repeat(32),
                claimed_time: "2026-03-01T10:00:00+01:00".into(),
                recorded_time: "2026-03-01T09:00:01Z".into(),
                case: Some("C-1".into()),
                items: vec!["E1".into()],
                fields: EventFields {
                    from_actor: Some("aa".repeat(32)),
                    to_actor: Some("bb".repeat(32)),
                    ..EventFields::default()
                },
            },
            signature: "cd".repeat(64),
            cosignature: None,
        }
    }

    #[test]
    fn draft_round_trips_and_is_not_overwritten_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.json");
        write_draft(&path, &draft(), false).unwrap();
        assert_eq!(read_draft(&path).unwrap(), draft());
        assert!(matches!(
            write_draft(&path, &draft(), false),
            Err(DraftError::Exists { .. })
        ));
        let mut cosigned = draft();
        cosigned.cosignature = Some("ef".repeat(64));
        write_draft(&path, &cosigned, true).unwrap();
        assert_eq!(read_draft(&path).unwrap(), cosigned);
    }

    #[test]
    fn fail_non_canonical_or_oversized_draft() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.json");
        let mut text = String::from_utf8(canonical::to_canonical_vec(&draft()).unwrap()).unwrap();
        text.push('\n');
        std::fs::write(&path, &text).unwrap();
        assert!(matches!(
            read_draft(&path),
            Err(DraftError::Malformed { .. })
        ));
        let big = std::fs::File::create(&path).unwrap();
        big.set_len(MAX_DRAFT_BYTES + 1).unwrap();
        assert!(matches!(
            read_draft(&path),
            Err(DraftError::TooLarge { .. })
        ));
        big.set_len(MAX_DRAFT_BYTES).unwrap();
        // At the limit it is read, and judged by its content (zeros are no JSON).
        assert!(matches!(
            read_draft(&path),
            Err(DraftError::Malformed { .. })
        ));
    }
}
