//! Interoperability with stock OpenSSL: a receiving authority must be able to check
//! Custody signatures and keys with it. OpenSSL is required; its absence fails the tests.

use std::path::Path;
use std::process::Command;

use custody_core::keys::{ActorInfo, Identity};

fn openssl(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("the `openssl` command is required for these tests and could not be run: {e}")
        })
}

fn identity() -> Identity {
    Identity::from_seed(ActorInfo::named("officer@example.org"), [42u8; 32]).unwrap()
}

#[test]
fn openssl_verifies_custody_signature() {
    let dir = tempfile::tempdir().unwrap();
    let id = identity();
    let message = b"custody interop check\n";
    std::fs::write(dir.path().join("pub.pem"), id.public_key().to_pem()).unwrap();
    std::fs::write(dir.path().join("msg"), message).unwrap();
    std::fs::write(dir.path().join("sig"), id.sign_raw(message).to_bytes()).unwrap();
    let out = openssl(
        &[
            "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg",
            "-sigfile", "sig",
        ],
        dir.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "openssl refused: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Signature Verified Successfully"),
        "{stdout}"
    );
}

#[test]
fn fail_openssl_rejects_flipped_bit() {
    let dir = tempfile::tempdir().unwrap();
    let id = identity();
    let message = b"custody interop check\n";
    let mut sig = id.sign_raw(message).to_bytes();
    sig[10] ^= 0x04;
    std::fs::write(dir.path().join("pub.pem"), id.public_key().to_pem()).unwrap();
    std::fs::write(dir.path().join("msg"), message).unwrap();
    std::fs::write(dir.path().join("sig"), sig).unwrap();
    let out = openssl(
        &[
            "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg",
            "-sigfile", "sig",
        ],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Verified Successfully"));
}

#[test]
fn openssl_generated_key_loads() {
    let dir = tempfile::tempdir().unwrap();
    let out = openssl(
        &["genpkey", "-algorithm", "ed25519", "-out", "k.pem"],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pub_out = openssl(
        &["pkey", "-in", "k.pem", "-pubout", "-out", "k.pub"],
        dir.path(),
    );
    assert!(pub_out.status.success());
    let text = std::fs::read_to_string(dir.path().join("k.pem")).unwrap();
    let id = Identity::from_pem(&text, Some("openssl-made")).unwrap();
    assert_eq!(id.info().name, "openssl-made");
    let public = std::fs::read_to_string(dir.path().join("k.pub")).unwrap();
    assert_eq!(id.public_key().to_pem(), public);
    // Without a name the bare PEM is refused.
    assert!(Identity::from_pem(&text, None).is_err());
}

#[test]
fn openssl_reads_custody_key_file_despite_header_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut info = ActorInfo::named("officer@example.org");
    info.role = Some("investigator".into());
    info.organisation = Some("Police judiciaire, Lyon".into());
    info.jurisdiction = Some("FR".into());
    let id = Identity::from_seed(info, [42u8; 32]).unwrap();
    let path = dir.path().join("officer.key");
    id.save(&path).unwrap();
    let out = openssl(&["pkey", "-in", "officer.key", "-pubout"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        id.public_key().to_pem()
    );
}
