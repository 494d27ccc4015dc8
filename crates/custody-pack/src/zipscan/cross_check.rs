//! Custody's reading of an archive compared with the `zip` crate's, for the differential
//! tests and the `zip_cross_check` fuzz target.
//!
//! The property: whenever the structural scan finds nothing, the `zip` crate yields
//! exactly the same files with exactly the same bytes as [`ZipScanner::open_entry`]. Only
//! archives held in memory are compared, and only up to [`MAX_CROSS_CHECK_BYTES`] of
//! entry bytes, so a hostile input cannot make a comparison unbounded.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use super::{ScanLimits, ZipProfile, ZipScanner};

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
    read_with_custody_within(archive, MAX_CROSS_CHECK_BYTES, ZipProfile::Package)
}

fn read_with_custody_within(archive: &[u8], max: u64, profile: ZipProfile) -> Option<Reading> {
    let mut scanner =
        ZipScanner::with_profile(Cursor::new(archive), &ScanLimits::default(), profile).ok()?;
    if !scanner.scan().is_clean() || declared_total(&scanner) > max {
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
        match scanner.read_entry(index, max) {
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
    read_with_zip_crate_within(archive, MAX_CROSS_CHECK_BYTES)
}

fn read_with_zip_crate_within(archive: &[u8], max: u64) -> Reading {
    let mut reading = Reading::default();
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(archive)) else {
        return reading;
    };
    reading.complete = true;
    let mut budget = max;
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
        let read = (&mut file)
            .take(budget.saturating_add(1))
            .read_to_end(&mut bytes);
        if read.is_err() || bytes.len() as u64 > budget {
            reading.complete = false;
            continue;
        }
        budget -= bytes.len() as u64;
        reading.files.insert(name, bytes);
    }
    reading
}

/// Scans `archive`; if the scan is clean, reads it with Custody and with the `zip` crate
/// and returns the files both yield, or the [`Disagreement`] if their readings differ in
/// any name or byte, or if the `zip` crate fails on an entry Custody reads.
pub fn cross_check(archive: &[u8]) -> Result<CrossCheck, Disagreement> {
    cross_check_within(archive, MAX_CROSS_CHECK_BYTES, ZipProfile::Package)
}

/// [`cross_check`] under `profile`: the same property must hold for the wider subset
/// admitted for bags from other tools ([`ZipProfile::ForeignBag`]).
pub fn cross_check_profile(
    archive: &[u8],
    profile: ZipProfile,
) -> Result<CrossCheck, Disagreement> {
    cross_check_within(archive, MAX_CROSS_CHECK_BYTES, profile)
}

fn cross_check_within(
    archive: &[u8],
    max: u64,
    profile: ZipProfile,
) -> Result<CrossCheck, Disagreement> {
    let clean = ZipScanner::with_profile(Cursor::new(archive), &ScanLimits::default(), profile)
        .is_ok_and(|s| s.scan().is_clean());
    if !clean {
        return Ok(CrossCheck::NotClean);
    }
    let Some(custody) = read_with_custody_within(archive, max, profile) else {
        return Ok(CrossCheck::TooLarge);
    };
    if !custody.complete {
        return Ok(CrossCheck::RefusedWhileReading);
    }
    let zip_crate = read_with_zip_crate_within(archive, max);
    if zip_crate.complete && custody.files == zip_crate.files {
        Ok(CrossCheck::Agree(custody.files))
    } else {
        Err(Disagreement { custody, zip_crate })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zipwrite::{PackageWriter, WriteSettings};

    /// An archive with two files of 60 and 40 bytes: 100 bytes in all.
    fn archive() -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.zip");
        let mut writer = PackageWriter::create(&dest, WriteSettings::default()).unwrap();
        writer.add_bytes("a", &[1u8; 60]).unwrap();
        writer.add_bytes("b", &[2u8; 40]).unwrap();
        writer.finish().unwrap();
        std::fs::read(dest).unwrap()
    }

    #[test]
    fn archives_at_the_byte_limit_are_compared() {
        let verdict = cross_check_within(&archive(), 100, ZipProfile::Package).unwrap();
        assert!(matches!(verdict, CrossCheck::Agree(files) if files.len() == 2));
        assert!(read_with_zip_crate_within(&archive(), 100).complete);
    }

    #[test]
    fn fail_archives_one_byte_past_the_limit_are_not_read() {
        assert_eq!(
            cross_check_within(&archive(), 99, ZipProfile::Package),
            Ok(CrossCheck::TooLarge)
        );
        assert!(!read_with_zip_crate_within(&archive(), 99).complete);
    }

    #[test]
    fn fail_garbage_is_not_clean() {
        assert_eq!(
            cross_check(b"PK\x05\x06 not a zip"),
            Ok(CrossCheck::NotClean)
        );
    }
}
