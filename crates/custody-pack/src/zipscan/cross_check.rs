//! Custody's reading of an archive compared with the `zip` crate's, for the differential
//! tests and the `zip_cross_check` fuzz target.
//!
//! The property: whenever the structural scan finds nothing, the `zip` crate yields
//! exactly the same files with exactly the same bytes as [`ZipScanner::open_entry`]. Only
//! archives held in memory are compared, and only up to [`MAX_CROSS_CHECK_BYTES`] of
//! entry bytes, so a hostile input cannot make a comparison unbounded.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use super::{ScanLimits, ZipScanner};

/// The most uncompressed bytes one comparison reads per reader; archives declaring more
/// are not compared ([`CrossCheck::TooLarge`]).
pub const MAX_CROSS_CHECK_BYTES: u64 = 64 << 20;

/// The files one reader yields: entry name → bytes. Directory entries are not files.
pub type Files = BTreeMap<String, Vec<u8>>;

/// What one reader made of an archive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reading {
    /// Every file it read in full.
    pub files: Files,
    /// Whether it read every entry without an error.
    pub complete: bool,
}

/// The outcome of [`cross_check`] when the readers do not contradict each other.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CrossCheck {
    /// The scan reported findings: Custody refuses the archive, nothing to compare.
    NotClean,
    /// The scan was clean but an entry failed Custody's size or CRC-32 check while
    /// streaming, so Custody refuses the archive too.
    RefusedWhileReading,
    /// The scan was clean and both readers yielded these files.
    Agree(Files),
    /// The scan was clean but the declared sizes exceed [`MAX_CROSS_CHECK_BYTES`].
    TooLarge,
}

/// A clean archive that the `zip` crate reads differently from Custody.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("clean archive read differently: Custody {custody:?}, zip crate {zip_crate:?}")]
pub struct Disagreement {
    /// Custody's reading.
    pub custody: Reading,
    /// The `zip` crate's reading.
    pub zip_crate: Reading,
}

/// Reads every file entry with [`ZipScanner::open_entry`]; `None` if the scan is not clean
/// or the declared sizes exceed [`MAX_CROSS_CHECK_BYTES`].
pub fn read_with_custody(archive: &[u8]) -> Option<Reading> {
    let mut scanner = ZipScanner::new(Cursor::new(archive), &ScanLimits::default()).ok()?;
    if !scanner.scan().is_clean() || declared_total(&scanner) > MAX_CROSS_CHECK_BYTES {
        return None;
    }
    let mut reading = Reading {
        complete: true,
        ..Reading::default()
    };
    for index in 0..scanner.entries().len() {
        let entry = &scanner.entries()[index];
        if entry.is_dir() {
            continue;
        }
        let name = entry.name.clone();
        match scanner.read_entry(index, MAX_CROSS_CHECK_BYTES) {
            Ok(bytes) => {
                reading.files.insert(name, bytes);
            }
            Err(_) => reading.complete = false,
        }
    }
    Some(reading)
}

fn declared_total<R: std::io::Read + std::io::Seek>(scanner: &ZipScanner<R>) -> u64 {
    scanner
        .entries()
        .iter()
        .fold(0u64, |sum, e| sum.saturating_add(e.uncompressed_size))
}

/// Reads every file entry with the `zip` crate (central directory, then each entry's
/// local header and data), reading at most [`MAX_CROSS_CHECK_BYTES`] in all.
pub fn read_with_zip_crate(archive: &[u8]) -> Reading {
    let mut reading = Reading::default();
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(archive)) else {
        return reading;
    };
    reading.complete = true;
    let mut budget = MAX_CROSS_CHECK_BYTES;
    for index in 0..zip.len() {
        let Ok(mut file) = zip.by_index(index) else {
            reading.complete = false;
            continue;
        };
        if file.is_dir() {
            continue;
        }
        let Ok(name) = file.name().map(|n| n.into_owned()) else {
            reading.complete = false;
            continue;
        };
        let mut bytes = Vec::new();
        let read = (&mut file).take(budget + 1).read_to_end(&mut bytes);
        budget = budget.saturating_sub(bytes.len() as u64);
        if read.is_err() || budget == 0 {
            reading.complete = false;
            continue;
        }
        reading.files.insert(name, bytes);
    }
    reading
}

/// Scans `archive`; if the scan is clean, reads it with Custody and with the `zip` crate
/// and returns the files both yield, or the [`Disagreement`] if their readings differ in
/// any name or byte, or if the `zip` crate fails on an entry Custody reads.
pub fn cross_check(archive: &[u8]) -> Result<CrossCheck, Disagreement> {
    let clean = ZipScanner::new(Cursor::new(archive), &ScanLimits::default())
        .is_ok_and(|s| s.scan().is_clean());
    if !clean {
        return Ok(CrossCheck::NotClean);
    }
    let Some(custody) = read_with_custody(archive) else {
        return Ok(CrossCheck::TooLarge);
    };
    if !custody.complete {
        return Ok(CrossCheck::RefusedWhileReading);
    }
    let zip_crate = read_with_zip_crate(archive);
    if zip_crate.complete && custody.files == zip_crate.files {
        Ok(CrossCheck::Agree(custody.files))
    } else {
        Err(Disagreement { custody, zip_crate })
    }
}
