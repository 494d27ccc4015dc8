//! Acquisition: turning a file or a directory into the [`Evidence`] an `acquired` event
//! records, and naming new items.
//!
//! A file is hashed as it is. A directory becomes one item: every regular file under it, with
//! its path relative to the directory (`/`-separated), size, SHA-256 and BLAKE3, sorted by
//! path bytes; the item's SHA-256 and BLAKE3 are computed over the RFC 8785 canonical JSON of
//! that list, and its size is the sum of the files' sizes. Symbolic links are refused, never
//! followed: what a link points to is not what was seized.

use std::io;
use std::path::{Path, PathBuf};

use custody_core::canonical::{self, CanonicalError};
use custody_core::hash::{self, Digests, HashError};

use crate::event::{Evidence, EvidenceFile};

/// Why a file or directory could not be acquired.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcquireError {
    /// A directory or file's metadata could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The path at fault.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A symbolic link, which Custody never follows.
    #[error("{path}: is a symbolic link; links are not followed (acquire the file it points to, or an image of the volume)")]
    SymbolicLink {
        /// The link.
        path: PathBuf,
    },
    /// A device, socket or FIFO.
    #[error("{path}: is neither a regular file nor a directory; acquire an image of it instead")]
    NotAFile {
        /// The path at fault.
        path: PathBuf,
    },
    /// A name that cannot be recorded as UTF-8 text.
    #[error("{path}: name is not valid UTF-8; acquire an image of the containing volume instead")]
    NonUtf8Name {
        /// The path at fault.
        path: PathBuf,
    },
    /// Reading a file while hashing failed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The file list has no canonical form (cannot happen for valid UTF-8 paths).
    #[error(transparent)]
    Canonical(#[from] CanonicalError),
}

/// One file found under an acquired directory, not yet hashed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PlannedFile {
    relative: String,
    path: PathBuf,
    size: u64,
}

/// How many small files of a directory may be hashed ahead of the one being recorded.
const SMALL_FILES_AHEAD: usize = 32;

/// A file or directory inspected and ready to hash: sizes are known (for progress) before
/// any content is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acquisition {
    source_path: String,
    root: PathBuf,
    /// `None` for a single file.
    files: Option<Vec<PlannedFile>>,
    total: u64,
}

impl Acquisition {
    /// Inspects `path`: a regular file, or a directory walked without following links.
    pub fn plan(path: &Path) -> Result<Acquisition, AcquireError> {
        let source_path = utf8(path)?.to_owned();
        let meta = metadata(path)?;
        if meta.is_file() {
            return Ok(Acquisition {
                source_path,
                root: path.to_path_buf(),
                files: None,
                total: meta.len(),
            });
        }
        let mut files = Vec::new();
        walk(path, "", &mut files)?;
        files.sort_by(|a, b| a.relative.as_bytes().cmp(b.relative.as_bytes()));
        let total = files.iter().map(|f| f.size).sum();
        Ok(Acquisition {
            source_path,
            root: path.to_path_buf(),
            files: Some(files),
            total,
        })
    }

    /// Bytes that hashing will read.
    pub fn total_size(&self) -> u64 {
        self.total
    }

    /// Whether this is a directory.
    pub fn is_directory(&self) -> bool {
        self.files.is_some()
    }

    /// Relative paths of the files a directory holds, sorted (empty for a single file).
    pub fn file_paths(&self) -> Vec<&str> {
        self.files
            .iter()
            .flatten()
            .map(|f| f.relative.as_str())
            .collect()
    }

    /// Reads and hashes every byte once; `progress` receives the running total of bytes read.
    pub fn hash(&self, progress: &mut dyn FnMut(u64)) -> Result<Evidence, AcquireError> {
        let Some(planned) = &self.files else {
            let digests = hash::hash_file(&self.root, progress)?;
            return Ok(Evidence {
                size: digests.size,
                sha256: digests.sha256,
                blake3: digests.blake3,
                source_path: self.source_path.clone(),
                files: None,
            });
        };
        // Small files are hashed several at a time on every core, a few ahead of the one
        // taken in order here; a large one is hashed here when its turn comes (its own
        // pipeline already keeps two cores busy), reporting progress as it goes.
        let mut done = 0u64;
        let mut files = Vec::with_capacity(planned.len());
        custody_core::parallel::pipeline(
            planned,
            SMALL_FILES_AHEAD,
            |file| {
                (file.size <= hash::CHUNK_SIZE as u64)
                    .then(|| hash::hash_file(&file.path, &mut |_| {}))
            },
            |file, hashed| {
                let digests = match hashed {
                    Some(hashed) => {
                        let digests = hashed?;
                        progress(done + digests.size);
                        digests
                    }
                    None => hash::hash_file(&file.path, &mut |n| progress(done + n))?,
                };
                done += digests.size;
                files.push(EvidenceFile {
                    path: file.relative.clone(),
                    size: digests.size,
                    sha256: digests.sha256,
                    blake3: digests.blake3,
                });
                Ok::<(), AcquireError>(())
            },
        )?;
        let digests = directory_digests(&files)?;
        Ok(Evidence {
            size: digests.size,
            sha256: digests.sha256,
            blake3: digests.blake3,
            source_path: self.source_path.clone(),
            files: Some(files),
        })
    }
}

/// The size and digests of a directory item: size is the sum of the files' sizes; SHA-256 and
/// BLAKE3 are over the canonical JSON of `files` (which must already be sorted by path bytes).
pub fn directory_digests(files: &[EvidenceFile]) -> Result<Digests, AcquireError> {
    let listing = canonical::to_canonical_vec(files)?;
    let over_listing =
        hash::hash_reader(listing.as_slice(), &mut |_| {}).map_err(|source| AcquireError::Io {
            path: PathBuf::from("<directory listing>"),
            source,
        })?;
    Ok(Digests {
        size: files.iter().map(|f| f.size).sum(),
        ..over_listing
    })
}

/// The next readable item id for a case: `<CASE>-<n>`, where `n` is one more than the largest
/// number already used after `<CASE>-` (starting at 1).
pub fn next_item_id<'a>(case: &str, existing: impl IntoIterator<Item = &'a str>) -> String {
    let prefix = format!("{case}-");
    let last = existing
        .into_iter()
        .filter_map(|id| id.strip_prefix(&prefix)?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    // Widened: an id read from the ledger may already end in u64::MAX.
    format!("{case}-{}", u128::from(last) + 1)
}

fn utf8(path: &Path) -> Result<&str, AcquireError> {
    path.to_str().ok_or_else(|| AcquireError::NonUtf8Name {
        path: path.to_path_buf(),
    })
}

/// Metadata without following a link; refuses links and special files.
fn metadata(path: &Path) -> Result<std::fs::Metadata, AcquireError> {
    let meta = std::fs::symlink_metadata(path).map_err(|source| AcquireError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Err(AcquireError::SymbolicLink {
            path: path.to_path_buf(),
        });
    }
    if !kind.is_file() && !kind.is_dir() {
        return Err(AcquireError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    Ok(meta)
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<PlannedFile>) -> Result<(), AcquireError> {
    let io_err = |source| AcquireError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let path = entry.map_err(io_err)?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| AcquireError::NonUtf8Name { path: path.clone() })?;
        let relative = format!("{prefix}{name}");
        let meta = metadata(&path)?;
        if meta.is_dir() {
            walk(&path, &format!("{relative}/"), out)?;
        } else {
            out.push(PlannedFile {
                relative,
                size: meta.len(),
                path,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_ids_continue_after_the_largest_number() {
        assert_eq!(next_item_id("C-7", []), "C-7-1");
        let existing = ["C-7-1", "C-7-3", "C-7-x", "D-1-9", "C-7-2"];
        assert_eq!(next_item_id("C-7", existing), "C-7-4");
    }

    #[test]
    fn fail_an_item_id_at_the_largest_number_does_not_overflow() {
        // An id received from a package may end in any number the ledger accepted.
        let existing = ["C-7-18446744073709551615"];
        assert_eq!(next_item_id("C-7", existing), "C-7-18446744073709551616");
    }

    #[test]
    fn directory_is_walked_sorted_with_slash_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/inner")).unwrap();
        std::fs::write(dir.path().join("b/inner/z.txt"), b"zz").unwrap();
        std::fs::write(dir.path().join("a.txt"), b"a").unwrap();
        std::fs::write(dir.path().join("B.txt"), b"bbb").unwrap();
        let plan = Acquisition::plan(dir.path()).unwrap();
        assert!(plan.is_directory());
        assert_eq!(plan.file_paths(), ["B.txt", "a.txt", "b/inner/z.txt"]);
        assert_eq!(plan.total_size(), 6);
    }

    #[cfg(unix)]
    #[test]
    fn fail_symbolic_link_inside_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("real"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        match Acquisition::plan(dir.path()) {
            Err(AcquireError::SymbolicLink { path }) => assert!(path.ends_with("link")),
            other => panic!("expected a symbolic-link refusal, got {other:?}"),
        }
    }

    #[test]
    fn fail_missing_path_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.bin");
        match Acquisition::plan(&missing) {
            Err(AcquireError::Io { path, .. }) => assert_eq!(path, missing),
            other => panic!("expected an I/O error naming the path, got {other:?}"),
        }
    }
}
