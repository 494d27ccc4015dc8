//! Where a bag's files come from: a directory on disk, or a ZIP archive read in place.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};

use super::BagFinding;
use crate::limits::check_path;
use crate::zipscan::{name_findings, ZipFinding, ZipScanner};

/// A regular file of the bag: its path relative to the bag root (`/`-separated) and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SourceFile {
    pub path: String,
    pub size: u64,
    /// Bytes stored in the source (the compressed size in an archive; `size` on disk).
    pub stored: u64,
}

/// The files of a bag and a way to read them.
pub(crate) trait BagSource {
    /// Every regular file, sorted by path.
    fn files(&self) -> &[SourceFile];
    /// The file at `path` (a binary search of [`BagSource::files`]).
    fn file(&self, path: &str) -> Option<&SourceFile> {
        let files = self.files();
        files
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .ok()
            .and_then(|i| files.get(i))
    }
    /// Whether the directory exists (`data` for the payload directory).
    fn has_dir(&self, path: &str) -> bool;
    /// Opens a file for reading.
    fn open(&mut self, path: &str) -> io::Result<Box<dyn Read + '_>>;
}

/// A bag in a directory. Symbolic links and names that are not UTF-8 are reported and
/// left out; nothing outside the directory is ever read.
pub(crate) struct DirSource {
    root: PathBuf,
    files: Vec<SourceFile>,
    dirs: Vec<String>,
}

impl DirSource {
    pub fn open(root: &Path, findings: &mut Vec<BagFinding>) -> io::Result<DirSource> {
        let mut source = DirSource {
            root: root.to_path_buf(),
            files: Vec::new(),
            dirs: Vec::new(),
        };
        // Fails on the root only; errors below it become findings.
        std::fs::read_dir(root)?;
        source.walk(root, findings);
        source.files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(source)
    }

    /// Walks the tree with an explicit stack (never recursion: a deep tree must not
    /// exhaust the stack), reporting and skipping anything past the path limits.
    fn walk(&mut self, root: &Path, findings: &mut Vec<BagFinding>) {
        let mut pending = vec![(root.to_path_buf(), String::new())];
        while let Some((dir, prefix)) = pending.pop() {
            self.walk_one(&dir, &prefix, findings, &mut pending);
        }
    }

    fn walk_one(
        &mut self,
        dir: &Path,
        prefix: &str,
        findings: &mut Vec<BagFinding>,
        pending: &mut Vec<(PathBuf, String)>,
    ) {
        let unreadable = |e: io::Error| BagFinding::FileUnreadable {
            file: prefix.trim_end_matches('/').to_owned(),
            error: e.to_string(),
        };
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                findings.push(unreadable(e));
                return;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    findings.push(unreadable(e));
                    continue;
                }
            };
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                findings.push(BagFinding::NameNotUtf8 {
                    file: format!("{prefix}{}", name.to_string_lossy()),
                });
                continue;
            };
            let rel = format!("{prefix}{name}");
            if let Some(limit) = check_path(&rel) {
                findings.push(BagFinding::path_limit(&rel, limit));
                continue;
            }
            let meta = match std::fs::symlink_metadata(entry.path()) {
                Ok(m) => m,
                Err(e) => {
                    findings.push(BagFinding::FileUnreadable {
                        file: rel,
                        error: e.to_string(),
                    });
                    continue;
                }
            };
            if meta.file_type().is_symlink() {
                findings.push(BagFinding::Symlink { file: rel });
            } else if meta.is_dir() {
                self.dirs.push(rel.clone());
                pending.push((entry.path(), format!("{rel}/")));
            } else if meta.is_file() {
                self.files.push(SourceFile {
                    path: rel,
                    size: meta.len(),
                    stored: meta.len(),
                });
            } else {
                findings.push(BagFinding::NotARegularFile { file: rel });
            }
        }
    }
}

impl BagSource for DirSource {
    fn files(&self) -> &[SourceFile] {
        &self.files
    }

    fn has_dir(&self, path: &str) -> bool {
        self.dirs.iter().any(|d| d == path)
    }

    fn open(&mut self, path: &str) -> io::Result<Box<dyn Read + '_>> {
        let mut full = self.root.clone();
        full.extend(path.split('/'));
        Ok(Box::new(File::open(full)?))
    }
}

/// A bag inside a ZIP archive, read in place through a scanner the caller owns (so that
/// the same scan serves the BagIt and the Custody checks). The archive holds either one
/// top-level directory containing the bag, or the bag's files at its root (accepted with
/// a warning).
pub(crate) struct ZipSource<'z, R> {
    zip: &'z mut ZipScanner<R>,
    files: Vec<SourceFile>,
    dirs: HashSet<String>,
    index: BTreeMap<String, usize>,
    /// Entries the scan found compressed beyond the ratio bound: reported, never inflated.
    bombs: HashSet<usize>,
}

/// Where the bag sits inside an archive.
pub(crate) enum ZipLayout {
    /// Inside one top-level directory (the prefix, with its trailing `/`).
    Directory(String),
    /// At the archive root.
    Root,
}

impl<'z, R: Read + Seek> ZipSource<'z, R> {
    /// Takes the scanned archive; ZIP findings go to `errors`, layout warnings to
    /// `warnings`. Returns `None` if no bag can be located.
    pub fn open(
        zip: &'z mut ZipScanner<R>,
        errors: &mut Vec<BagFinding>,
        warnings: &mut Vec<BagFinding>,
    ) -> Option<ZipSource<'z, R>> {
        errors.extend(
            zip.scan()
                .findings
                .iter()
                .cloned()
                .map(|finding| BagFinding::Zip { finding }),
        );
        let Some(layout) = locate_bag(zip) else {
            errors.push(BagFinding::NoBagInZip);
            return None;
        };
        let prefix = match &layout {
            ZipLayout::Directory(p) => p.clone(),
            ZipLayout::Root => {
                warnings.push(BagFinding::BagAtZipRoot);
                String::new()
            }
        };
        let bomb_names: HashSet<&str> = zip
            .scan()
            .findings
            .iter()
            .filter_map(|finding| match finding {
                ZipFinding::CompressionRatio { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        let bombs = zip
            .entries()
            .iter()
            .filter(|e| bomb_names.contains(e.name.as_str()))
            .map(|e| e.index)
            .collect();
        let mut files = Vec::new();
        let mut dirs = HashSet::new();
        let mut index = BTreeMap::new();
        for entry in zip.entries() {
            if let Some(limit) = check_path(&entry.name) {
                errors.push(BagFinding::path_limit(&entry.name, limit));
                continue;
            }
            // Unsafe entries are already reported; never treat them as bag files.
            if !name_findings(entry).is_empty() {
                continue;
            }
            let Some(rel) = entry.name.strip_prefix(&prefix) else {
                errors.push(BagFinding::EntryOutsideBag {
                    file: entry.name.clone(),
                });
                continue;
            };
            if rel.is_empty() {
                continue;
            }
            if let Some(dir) = rel.strip_suffix('/') {
                dirs.insert(dir.to_owned());
                continue;
            }
            // Duplicates are reported by the scan; keep the first, as most readers do.
            if index.contains_key(rel) {
                continue;
            }
            index.insert(rel.to_owned(), entry.index);
            files.push(SourceFile {
                path: rel.to_owned(),
                size: entry.uncompressed_size,
                stored: entry.compressed_size,
            });
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Some(ZipSource {
            zip,
            files,
            dirs,
            index,
            bombs,
        })
    }
}

/// The bag's place: `bagit.txt` at the root, or in exactly one top-level directory. One
/// pass over the names with a set: linear in the number of entries.
fn locate_bag<R>(zip: &ZipScanner<R>) -> Option<ZipLayout>
where
    R: Read + Seek,
{
    let mut candidates: BTreeSet<&str> = BTreeSet::new();
    for entry in zip.entries() {
        if entry.name == "bagit.txt" {
            return Some(ZipLayout::Root);
        }
        if let Some((top, "bagit.txt")) = entry.name.split_once('/') {
            candidates.insert(top);
        }
    }
    let mut candidates = candidates.into_iter();
    match (candidates.next(), candidates.next()) {
        (Some(one), None) => Some(ZipLayout::Directory(format!("{one}/"))),
        _ => None,
    }
}

impl<R: Read + Seek> BagSource for ZipSource<'_, R> {
    fn files(&self) -> &[SourceFile] {
        &self.files
    }

    fn has_dir(&self, path: &str) -> bool {
        let prefix = format!("{path}/");
        self.dirs.contains(path) || self.files.iter().any(|f| f.path.starts_with(&prefix))
    }

    fn open(&mut self, path: &str) -> io::Result<Box<dyn Read + '_>> {
        let index = *self
            .index
            .get(path)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such entry"))?;
        if self.bombs.contains(&index) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not inflated: its compression ratio is beyond the bound (see the ZIP finding)",
            ));
        }
        let reader = self.zip.open_entry(index).map_err(|e| match e {
            crate::zipscan::ZipError::Io(io) => io,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        })?;
        Ok(Box::new(reader))
    }
}
