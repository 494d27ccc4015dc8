//! Receive reads the package file once, and extracts, hashes and records exactly the bytes
//! it verified, whatever happens to the file at the path meanwhile (attacker b: whoever
//! can write the receiver's inbox while `receive` runs).

mod common;

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::{genuine, receiver_ledger, trusting, Setup};
use custody_core::hash::hash_reader;
use custody_pack::receive::{receive_from, Incoming, ReceiveError, ReceiveOptions};
use custody_pack::verify::verify_reader;
use custody_store::Ledger;

/// Byte ranges read so far, `[start, end)`.
type Ranges = Arc<Mutex<Vec<(u64, u64)>>>;

/// A package file that records every byte range read from it and fails the test the
/// moment any byte is read a second time.
struct Recording {
    file: File,
    pos: u64,
    ranges: Ranges,
}

impl Read for Recording {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        let (start, end) = (self.pos, self.pos + n as u64);
        let mut ranges = self.ranges.lock().unwrap();
        for &(s, e) in ranges.iter() {
            assert!(
                end <= s || start >= e,
                "bytes {start}..{end} read again (already read {s}..{e})"
            );
        }
        if n > 0 {
            ranges.push((start, end));
        }
        self.pos = end;
        Ok(n)
    }
}

/// What to do to the file at the path, and when.
#[derive(Clone, Copy)]
enum Swap {
    /// Rewrite it in place (same length, mtime restored) once it has been read to its end.
    RewriteAtEnd,
    /// Replace it by rename once it has been read to its end.
    RenameAtEnd,
    /// Rewrite it in place before the first byte is read.
    RewriteAtStart,
}

/// A package file that is swapped under the receiver at a chosen moment.
struct Swapping {
    file: File,
    path: PathBuf,
    replacement: Vec<u8>,
    swap: Swap,
    done: bool,
}

impl Swapping {
    fn swap_now(&mut self) {
        self.done = true;
        match self.swap {
            Swap::RewriteAtEnd | Swap::RewriteAtStart => {
                let modified = fs::metadata(&self.path).unwrap().modified().unwrap();
                fs::write(&self.path, &self.replacement).unwrap();
                File::options()
                    .write(true)
                    .open(&self.path)
                    .unwrap()
                    .set_modified(modified)
                    .unwrap();
            }
            Swap::RenameAtEnd => {
                let other = self.path.with_extension("new");
                fs::write(&other, &self.replacement).unwrap();
                fs::rename(&other, &self.path).unwrap();
            }
        }
    }
}

impl Read for Swapping {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.done && matches!(self.swap, Swap::RewriteAtStart) {
            self.swap_now();
        }
        let n = self.file.read(buf)?;
        if n == 0 && !self.done {
            self.swap_now();
        }
        Ok(n)
    }
}

/// The package with one payload byte changed: same length, different evidence.
fn tampered(package: &Path) -> Vec<u8> {
    let mut bytes = fs::read(package).unwrap();
    let at = bytes
        .windows(16)
        .position(|w| w == b"disk image bytes")
        .unwrap();
    bytes[at] = b'D';
    bytes
}

fn options(s: &Setup) -> ReceiveOptions {
    ReceiveOptions {
        verify: trusting(&s.officer),
        authority: Some("Staatsanwaltschaft Berlin".into()),
        received_time: None,
    }
}

fn receive_reading<R: Read>(s: &Setup, reader: R) -> Result<PathBuf, ReceiveError> {
    let (path, clerk, log) = receiver_ledger(s.dir.path());
    let mut ledger = Ledger::open(&path).unwrap();
    let into = s.dir.path().join("in");
    let incoming = Incoming {
        name: s.package.clone(),
        reader,
    };
    let outcome = receive_from(
        incoming,
        &into,
        &options(s),
        &mut ledger,
        &clerk,
        &log,
        &s.dir.path().join("receipt.json"),
    )?;
    // What was recorded is the digest of what was extracted and verified.
    let digest = outcome.package_digest.clone();
    assert_eq!(outcome.receipt.receipt.package_digest, digest);
    Ok(into)
}

/// The receive was refused with a finding on the changed payload file.
fn assert_refused_for_disk_img(result: Result<PathBuf, ReceiveError>) {
    let Err(ReceiveError::Refused { report }) = result else {
        panic!("the changed package must be refused: {result:?}");
    };
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.file.as_deref().is_some_and(|f| f.ends_with("disk.img"))),
        "{:#?}",
        report.findings
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    hash_reader(bytes, &mut |_| {}).unwrap().sha256_hex()
}

#[test]
fn receive_reads_each_byte_of_the_package_once() {
    let s = genuine();
    let ranges = Ranges::default();
    let reader = Recording {
        file: File::open(&s.package).unwrap(),
        pos: 0,
        ranges: ranges.clone(),
    };
    let into = receive_reading(&s, reader).unwrap();
    let len = fs::metadata(&s.package).unwrap().len();
    let read: u64 = ranges.lock().unwrap().iter().map(|(a, b)| b - a).sum();
    assert_eq!(read, len, "every byte read exactly once");
    assert_eq!(
        fs::read(into.join("data/C-1-1/disk.img")).unwrap(),
        b"disk image bytes"
    );
}

/// Receives while `swap` happens; returns the result and the original bytes.
fn receive_swapped(swap: Swap) -> (Setup, Result<PathBuf, ReceiveError>, Vec<u8>) {
    let s = genuine();
    let original = fs::read(&s.package).unwrap();
    let reader = Swapping {
        file: File::open(&s.package).unwrap(),
        path: s.package.clone(),
        replacement: tampered(&s.package),
        swap,
        done: false,
    };
    let result = receive_reading(&s, reader);
    (s, result, original)
}

fn assert_received_original(s: &Setup, into: &Path, original: &[u8]) {
    assert_ne!(fs::read(&s.package).unwrap(), original, "the swap happened");
    assert_eq!(
        fs::read(into.join("data/C-1-1/disk.img")).unwrap(),
        b"disk image bytes"
    );
    let receipt = fs::read_to_string(s.dir.path().join("receipt.json")).unwrap();
    assert!(receipt.contains(&sha256_hex(original)), "{receipt}");
}

#[test]
fn fail_package_rewritten_in_place_after_verification_is_not_what_is_extracted() {
    let (s, result, original) = receive_swapped(Swap::RewriteAtEnd);
    let into = result.unwrap();
    assert_received_original(&s, &into, &original);
}

#[test]
fn fail_package_replaced_by_rename_after_verification_is_not_what_is_extracted() {
    let (s, result, original) = receive_swapped(Swap::RenameAtEnd);
    let into = result.unwrap();
    assert_received_original(&s, &into, &original);
}

#[test]
fn fail_package_rewritten_before_reading_is_refused() {
    let (s, result, _) = receive_swapped(Swap::RewriteAtStart);
    assert_refused_for_disk_img(result);
    assert!(!s.dir.path().join("in").exists());
    assert!(!s.dir.path().join("receipt.json").exists());
}

#[test]
fn verify_reader_checks_bytes_the_caller_owns() {
    let s = genuine();
    let bytes = fs::read(&s.package).unwrap();
    let report = verify_reader(io::Cursor::new(&bytes), &trusting(&s.officer)).unwrap();
    assert!(report.verified, "{:#?}", report.findings);
    let report =
        verify_reader(io::Cursor::new(tampered(&s.package)), &trusting(&s.officer)).unwrap();
    assert!(!report.verified);
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Payload files are copied into the staging directory in the pass that verifies them; a
/// package refused by that pass leaves none of those copies, nor the staging directory.
#[test]
fn fail_payload_byte_changed_leaves_no_copy_beside_the_destination() {
    let s = genuine();
    let before = names_in(s.dir.path());
    let result = receive_reading(&s, io::Cursor::new(tampered(&s.package)));
    assert_refused_for_disk_img(result);
    let mut after = names_in(s.dir.path());
    // The receiver's ledger is made by the test itself.
    after.retain(|n| !n.starts_with("receiver.db"));
    assert_eq!(after, before, "nothing left where the package was to go");
}

/// A tee that fails every write: verification must give the same verdict as without it,
/// and tell the tee of the failure, once per payload file.
#[derive(Default)]
struct BrokenTee {
    started: Vec<String>,
    failed: Vec<String>,
}

struct FailingWrite;

impl io::Write for FailingWrite {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::other("no space left"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl custody_pack::bagit::PayloadTee for BrokenTee {
    fn start(&mut self, path: &str) -> Option<Box<dyn io::Write>> {
        self.started.push(path.to_owned());
        Some(Box::new(FailingWrite))
    }
    fn finish(&mut self, path: &str, _copy: Box<dyn io::Write>, outcome: io::Result<()>) {
        if outcome.is_err() {
            self.failed.push(path.to_owned());
        }
    }
}

#[test]
fn a_failing_copy_does_not_change_the_verdict() {
    let s = genuine();
    let options = trusting(&s.officer);
    let scan = || {
        custody_pack::zipscan::ZipScanner::new(
            File::open(&s.package).unwrap(),
            &options.bag.scan_limits,
        )
        .unwrap()
    };
    let plain = custody_pack::verify::verify_scanned(&mut scan(), &options).unwrap();
    let mut tee = BrokenTee::default();
    let teed =
        custody_pack::verify::verify_scanned_teeing(&mut scan(), &options, Some(&mut tee)).unwrap();
    assert!(plain.verified, "{:#?}", plain.findings);
    assert_eq!(teed.verified, plain.verified);
    assert_eq!(teed.findings, plain.findings);
    assert!(
        tee.started.iter().all(|p| p.starts_with("data/")),
        "{:?}",
        tee.started
    );
    assert!(tee.started.iter().any(|p| p == "data/C-1-1/disk.img"));
    // Empty files are read without a write: only the others report the failure.
    assert!(tee.failed.contains(&"data/C-1-1/disk.img".to_owned()));
    assert!(tee.failed.iter().all(|p| tee.started.contains(p)));
}
