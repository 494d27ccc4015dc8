//! Where a bag's files come from: a directory on disk, or a ZIP archive read in place.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};

use super::BagFinding;
use crate::zipscan::{name_findings, ScanLimits, ZipScanner};

/// A regular file of the bag: its path relative to the bag root (`/`-separated) and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SourceFile {
    pub path: String,
    pub size: u64,
}

/// The files of a bag and a way to read them.
pub(crate) trait BagSource {
    /// Every regular file, sorted by path.
    fn files(&self) -> &[SourceFile];
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
        source.walk(root, "", findings);
        source.files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(source)
    }

    fn walk(&mut self, dir: &Path, prefix: &str, findings: &mut Vec<BagFinding>) {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                findings.push(BagFinding::FileUnreadable {
                    file: prefix.trim_end_matches('/').to_owned(),
                    error: e.to_string(),
                });
                return;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    findings.push(BagFinding::FileUnreadable {
                        file: prefix.trim_end_matches('/').to_owned(),
                        error: e.to_string(),
                    });
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
                self.walk(&entry.path(), &format!("{rel}/"), findings);
            } else if meta.is_file() {
                self.files.push(SourceFile {
                    path: rel,
                    size: meta.len(),
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

/// A bag inside a ZIP archive, read in place. The archive holds either one top-level
/// directory containing the bag, or the bag's files at its root (accepted with a warning).
pub(crate) struct ZipSource<R> {
    zip: ZipScanner<R>,
    files: Vec<SourceFile>,
    dirs: Vec<String>,
    index: BTreeMap<String, usize>,
    /// Entries the scan found compressed beyond the ratio bound: reported, never inflated.
    bombs: Vec<String>,
}

/// Where the bag sits inside an archive.
pub(crate) enum ZipLayout {
    /// Inside one top-level directory (the prefix, with its trailing `/`).
    Directory(String),
    /// At the archive root.
    Root,
}

impl<R: Read + Seek> ZipSource<R> {
    /// Scans the archive; ZIP findings go to `errors`, layout warnings to `warnings`.
    /// Returns `None` if no bag can be located.
    pub fn open(
        reader: R,
        limits: &ScanLimits,
        errors: &mut Vec<BagFinding>,
        warnings: &mut Vec<BagFinding>,
    ) -> Result<Option<ZipSource<R>>, crate::zipscan::ZipError> {
        let zip = ZipScanner::new(reader, limits)?;
        errors.extend(
            zip.scan()
                .findings
                .iter()
                .cloned()
                .map(|finding| BagFinding::Zip { finding }),
        );
        let Some(layout) = locate_bag(&zip) else {
            errors.push(BagFinding::NoBagInZip);
            return Ok(None);
        };
        let prefix = match &layout {
            ZipLayout::Directory(p) => p.clone(),
            ZipLayout::Root => {
                warnings.push(BagFinding::BagAtZipRoot);
                String::new()
            }
        };
        let bombs = zip
            .scan()
            .findings
            .iter()
            .filter_map(|finding| match finding {
                crate::zipscan::ZipFinding::CompressionRatio { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect();
        let mut source = ZipSource {
            files: Vec::new(),
            dirs: Vec::new(),
            index: BTreeMap::new(),
            bombs,
            zip,
        };
        for entry in source.zip.entries() {
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
                source.dirs.push(dir.to_owned());
                continue;
            }
            // Duplicates are reported by the scan; keep the first, as most readers do.
            if source.index.contains_key(rel) {
                continue;
            }
            source.index.insert(rel.to_owned(), entry.index);
            source.files.push(SourceFile {
                path: rel.to_owned(),
                size: entry.uncompressed_size,
            });
        }
        source.files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Some(source))
    }
}

fn locate_bag<R>(zip: &ZipScanner<R>) -> Option<ZipLayout>
where
    R: Read + Seek,
{
    let names: Vec<&str> = zip.entries().iter().map(|e| e.name.as_str()).collect();
    if names.contains(&"bagit.txt") {
        return Some(ZipLayout::Root);
    }
    // A single top-level directory that holds bagit.txt.
    let mut tops = names
        .iter()
        .filter_map(|n| n.split_once('/').map(|(top, _)| top))
        .collect::<Vec<_>>();
    tops.sort_unstable();
    tops.dedup();
    let candidates: Vec<&str> = tops
        .into_iter()
        .filter(|top| names.contains(&format!("{top}/bagit.txt").as_str()))
        .collect();
    match candidates.as_slice() {
        [one] => Some(ZipLayout::Directory(format!("{one}/"))),
        _ => None,
    }
}

impl<R: Read + Seek> BagSource for ZipSource<R> {
    fn files(&self) -> &[SourceFile] {
        &self.files
    }

    fn has_dir(&self, path: &str) -> bool {
        let prefix = format!("{path}/");
        self.dirs.iter().any(|d| d == path)
            || self.files.iter().any(|f| f.path.starts_with(&prefix))
    }

    fn open(&mut self, path: &str) -> io::Result<Box<dyn Read + '_>> {
        let index = *self
            .index
            .get(path)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such entry"))?;
        let name = &self.zip.entries()[index].name;
        if self.bombs.contains(name) {
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
