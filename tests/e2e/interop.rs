//! Interoperability: sealed packages checked by stock tools. `bagit.py` (bagit-python,
//! pinned in scripts/validators.txt), `openssl`, `unzip` and `python3` must be on PATH;
//! scripts/test.sh installs the Python ones. A missing tool fails the test, never skips it.

use std::path::Path;
use std::process::Command;

use crate::harness::Sandbox;
use crate::seal::{ledger_with_items, new_key, seal, zip_entries};

/// Runs an external tool, failing with instructions when it is not installed.
fn tool(program: &str, args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}); install the validators with scripts/test.sh")
        })
}

#[track_caller]
fn succeeds(out: &std::process::Output, what: &str) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

fn sealed_and_countersigned() -> (Sandbox, Vec<custody_core::keys::Identity>) {
    let (sb, officer) = ledger_with_items();
    seal(&sb, "C-1-1.zip", &[]);
    let judge = new_key(&sb, "judge@tj-paris.example", "judge.key");
    crate::seal::custody(&sb, &["countersign", "C-1-1.zip", "--key", "judge.key"]).expect(0);
    (sb, vec![officer, judge])
}

#[test]
fn unzip_and_python_zipfile_accept_the_package() {
    let (sb, _) = sealed_and_countersigned();
    let out = tool("unzip", &["-t", "C-1-1.zip"], sb.dir.path());
    let text = succeeds(&out, "unzip -t");
    assert!(text.contains("No errors detected"), "{text}");
    let out = tool(
        "python3",
        &[
            "-c",
            "import sys, zipfile; assert zipfile.ZipFile(sys.argv[1]).testzip() is None",
            "C-1-1.zip",
        ],
        sb.dir.path(),
    );
    succeeds(&out, "python3 zipfile testzip");
}

#[test]
fn bagit_py_validates_the_extracted_package() {
    let (sb, _) = sealed_and_countersigned();
    let out = tool(
        "python3",
        &[
            "-c",
            "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])",
            "C-1-1.zip",
            "extracted",
        ],
        sb.dir.path(),
    );
    succeeds(&out, "extracting with python3 zipfile");
    let out = tool(
        "bagit.py",
        &["--validate", "extracted/C-1-1"],
        sb.dir.path(),
    );
    let text = succeeds(&out, "bagit.py --validate");
    assert!(text.contains("is valid"), "{text}");
}

#[test]
fn openssl_verifies_every_package_signature() {
    let (sb, signers) = sealed_and_countersigned();
    let entries = zip_entries(&sb.path("C-1-1.zip"));
    let manifest = &entries
        .iter()
        .find(|(n, _)| n == "C-1-1/tagmanifest-sha256.txt")
        .unwrap()
        .1;
    std::fs::write(sb.path("tagmanifest-sha256.txt"), manifest).unwrap();
    let mut checked = 0;
    for signer in &signers {
        let name = format!(
            "C-1-1/{}",
            custody_pack::layout::signature_path(&signer.verifier_key())
        );
        let sig = &entries.iter().find(|(n, _)| *n == name).unwrap().1;
        std::fs::write(sb.path("x.sig"), sig).unwrap();
        std::fs::write(sb.path("signer.pem"), signer.public_key().to_pem()).unwrap();
        let out = tool(
            "openssl",
            &[
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "signer.pem",
                "-rawin",
                "-in",
                "tagmanifest-sha256.txt",
                "-sigfile",
                "x.sig",
            ],
            sb.dir.path(),
        );
        let text = succeeds(&out, "openssl pkeyutl -verify");
        assert!(text.contains("Signature Verified Successfully"), "{text}");
        checked += 1;
    }
    assert_eq!(checked, 2);
}
