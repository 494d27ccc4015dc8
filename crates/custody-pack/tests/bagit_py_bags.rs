//! Every bag `bagit.py` writes validates: bags made by the installed `bagit.py` (pinned
//! in scripts/validators.txt; scripts/test.sh installs it and puts it on PATH) with each
//! algorithm it offers, all at once, several processes, awkward file names and its
//! encoding option. A missing `bagit.py` fails the tests, never skips them.

use std::fs;
use std::path::Path;
use std::process::Command;

use custody_pack::bagit::{validate_path, BagReport, ValidateOptions};

/// Every algorithm `bagit.py --help` offers (Python's guaranteed `hashlib` algorithms,
/// less the SHAKE functions, whose digests have no fixed length and which `bagit.py`
/// cannot write).
const BAGIT_PY_ALGORITHMS: &[&str] = &[
    "blake2b", "blake2s", "md5", "sha1", "sha224", "sha256", "sha384", "sha3_224", "sha3_256",
    "sha3_384", "sha3_512", "sha512",
];

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}); install the validators with scripts/test.sh")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} {args:?} failed:\n{text}");
    text
}

/// A payload directory with names `bagit.py` must encode or pass through: spaces,
/// non-ASCII letters, `%` (which RFC 8493 encodes and `bagit.py` does not), a subdirectory.
fn payload(dir: &Path) {
    fs::create_dir_all(dir.join("sub dir")).unwrap();
    fs::write(dir.join("report.txt"), b"Acquisition report\n").unwrap();
    fs::write(dir.join("sub dir/caf\u{e9} \u{8a3c}.txt"), b"accented\n").unwrap();
    fs::write(dir.join("50%25 done.txt"), b"percent\n").unwrap();
    fs::write(dir.join("disk.img"), vec![7u8; 300_000]).unwrap();
}

#[track_caller]
fn assert_valid(bag: &Path) -> BagReport {
    let report = validate_path(bag, &ValidateOptions::default()).unwrap();
    assert!(report.is_valid(), "{}: {:#?}", bag.display(), report.errors);
    report
}

fn make_with_cli(flags: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    payload(dir.path());
    let path = dir.path().to_str().unwrap();
    let mut args = vec!["--quiet"];
    args.extend_from_slice(flags);
    args.push(path);
    run("bagit.py", &args);
    dir
}

#[test]
fn bagit_py_offers_the_algorithms_custody_checks() {
    let help = run("bagit.py", &["--help"]);
    for alg in BAGIT_PY_ALGORITHMS {
        assert!(
            help.contains(&format!("--{alg} ")),
            "bagit.py lacks --{alg}"
        );
        assert!(
            custody_core::hash::Algorithm::from_bagit_name(alg).is_some(),
            "{alg}"
        );
    }
}

#[test]
fn every_algorithm_bagit_py_writes_validates() {
    for alg in BAGIT_PY_ALGORITHMS {
        let bag = make_with_cli(&[&format!("--{alg}")]);
        assert!(bag.path().join(format!("manifest-{alg}.txt")).is_file());
        let report = assert_valid(bag.path());
        assert_eq!(report.version.as_deref(), Some("0.97"));
        assert!(
            !report
                .warnings
                .iter()
                .any(|w| format!("{w}").contains("unsupported algorithm")),
            "{alg}: {:#?}",
            report.warnings
        );
    }
}

#[test]
fn all_algorithms_at_once_with_two_processes_validate() {
    let flags: Vec<String> = BAGIT_PY_ALGORITHMS
        .iter()
        .map(|a| format!("--{a}"))
        .collect();
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.extend([
        "--processes",
        "2",
        "--contact-name",
        "Ren\u{e9}e Dupr\u{e9}",
    ]);
    let bag = make_with_cli(&args);
    assert_valid(bag.path());
}

#[test]
fn percent_in_a_name_is_read_as_bagit_py_writes_it() {
    let bag = make_with_cli(&["--sha256"]);
    let report = assert_valid(bag.path());
    assert!(
        report
            .warnings
            .iter()
            .any(|w| format!("{w}").contains("data/50%25 done.txt")),
        "{:#?}",
        report.warnings
    );
}

#[test]
fn fail_a_file_of_the_other_spelling_is_unlisted() {
    // Each manifest line names one file: with both spellings present, the line takes the
    // RFC reading and the other file is unlisted, so the bag is invalid either way.
    let bag = make_with_cli(&["--sha256"]);
    fs::write(bag.path().join("data/50% done.txt"), b"smuggled\n").unwrap();
    let report = validate_path(bag.path(), &ValidateOptions::default()).unwrap();
    assert!(
        report
            .errors
            .iter()
            .any(|e| format!("{e}").contains("done.txt: payload file not listed")),
        "{:#?}",
        report.errors
    );
}

/// `make_bag(encoding=…)` writes manifests in that encoding and `bagit.txt` saying
/// UTF-8: with ASCII names the bytes agree, so the bag validates in both tools.
#[test]
fn bagit_py_encoding_option_with_ascii_names_validates() {
    for encoding in ["utf-8", "latin-1", "ascii"] {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("report.txt"), b"Acquisition report\n").unwrap();
        let script = format!(
            "import bagit, sys; bagit.make_bag(sys.argv[1], checksums=['sha256', 'sha3_512'], encoding='{encoding}')"
        );
        run("python3", &["-c", &script, dir.path().to_str().unwrap()]);
        assert_valid(dir.path());
    }
}
