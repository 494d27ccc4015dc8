//! `custody verify` on Custody packages made by the real `custody seal`: a genuine package
//! verifies (exit 0) with the trust store given as a PEM file or a verifier key, text and
//! JSON output, and the verdicts without trust, with `--revoked` and with
//! `--expect-recipient`. Also the shared package fixture of tamper.rs and receive.rs.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use custody_core::keys::{ActorInfo, Identity};

use crate::harness::{Run, Sandbox};

/// The package id of the base package.
pub const ID: &str = "PKG-1";
/// The authority the base package is addressed to.
pub const RECIPIENT: &str = "Staatsanwaltschaft Berlin";

/// Runs `custody ARGS...` in `dir` with nothing from the environment.
pub fn custody_in(dir: &Path, args: &[&str]) -> Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_custody"))
        .args(args)
        .current_dir(dir)
        .env_remove("CUSTODY_LEDGER")
        .env_remove("CUSTODY_KEY")
        .env_remove("CUSTODY_LOG_KEY")
        .env(
            crate::harness::LOG_KEY_DIR_ENV,
            dir.join(crate::harness::LOG_KEY_DIR),
        )
        .env(
            crate::harness::TRUST_DIR_ENV,
            dir.join(crate::harness::TRUST_DIR),
        )
        .stdin(std::process::Stdio::null())
        .output()
        .expect("spawn custody");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `custody ARGS...` in the sandbox.
pub fn custody(sb: &Sandbox, args: &[&str]) -> Run {
    custody_in(sb.dir.path(), args)
}

/// Saves a new key as `<name>.key` (private) and `<name>.pub` (PEM public key) in `dir`;
/// returns the identity.
pub fn new_key(dir: &Path, file: &str, name: &str) -> Identity {
    let info = ActorInfo {
        name: name.to_owned(),
        role: Some("investigator".to_owned()),
        organisation: Some("Parquet de Paris".to_owned()),
        jurisdiction: Some("FR".to_owned()),
        full_name: None,
    };
    let identity = Identity::generate(info).expect("generate key");
    identity
        .save(&dir.join(format!("{file}.key")))
        .expect("save key");
    std::fs::write(
        dir.join(format!("{file}.pub")),
        identity.public_key().to_pem(),
    )
    .expect("save public key");
    identity
}

/// The packages every test starts from, sealed once per test run by the real binary:
/// * `pkg.zip` (PKG-1): a file item and a directory item, signed by the officer;
/// * `other.zip` (PKG-2): the file item alone, signed by the officer;
/// * `compressed.zip` (PKG-Z): as PKG-1, payload deflated;
/// * `revoked.zip` (PKG-R): signed by the officer and countersigned by an analyst whose key was revoked
///   by an entry included in the package.
///
/// Keys: `officer`, `analyst`, `stranger` (`.key` private, `.pub` PEM).
pub fn base() -> &'static Path {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("e2e-packages-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("base dir");
        build_base(&dir);
        dir
    })
}

fn build_base(dir: &Path) {
    let run = |args: &[&str]| custody_in(dir, args).expect(0);
    new_key(dir, "officer", "officer@parquet-paris.example");
    let analyst = new_key(dir, "analyst", "analyst@parquet-paris.example");
    new_key(dir, "stranger", "stranger@elsewhere.example");
    run(&[
        "init",
        "--key",
        "officer.key",
        "--origin",
        "ledger.parquet-paris.example/custody",
    ]);
    run(&[
        "case",
        "open",
        "C-1",
        "--key",
        "officer.key",
        "--title",
        "Fraud",
    ]);
    std::fs::write(dir.join("disk.img"), b"seized disk image bytes").unwrap();
    std::fs::create_dir_all(dir.join("phone/sub")).unwrap();
    std::fs::write(dir.join("phone/a.txt"), b"alpha").unwrap();
    std::fs::write(dir.join("phone/sub/b.txt"), b"beta").unwrap();
    run(&[
        "acquire",
        "disk.img",
        "--case",
        "C-1",
        "--key",
        "officer.key",
    ]);
    run(&["acquire", "phone", "--case", "C-1", "--key", "officer.key"]);
    run(&["event", "C-1-1", "examined", "--key", "officer.key"]);
    let seal = |id: &str, out: &str, items: &[&str], extra: &[&str]| {
        let mut args = vec![
            "seal",
            "--key",
            "officer.key",
            "--case",
            "C-1",
            "--to",
            RECIPIENT,
            "--from",
            "Parquet de Paris",
            "--id",
            id,
            "--out",
            out,
            "--time",
            "2026-03-02T12:00:00Z",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(items);
        run(&args);
    };
    seal(ID, "pkg.zip", &["C-1-1", "C-1-2"], &[]);
    seal("PKG-2", "other.zip", &["C-1-1"], &[]);
    seal(
        "PKG-Z",
        "compressed.zip",
        &["C-1-1", "C-1-2"],
        &["--compress"],
    );
    let analyst_key = analyst.verifier_key().to_string();
    run(&[
        "actor",
        "enroll",
        "--key",
        "officer.key",
        "--pubkey",
        &analyst_key,
    ]);
    run(&["event", "C-1-2", "examined", "--key", "analyst.key"]);
    let analyst_hex = custody_core::hex::encode(&analyst.public_key().to_bytes());
    run(&["actor", "revoke", "--key", "officer.key", &analyst_hex]);
    // Seal refuses a revoked signing key: its holder adds the signature afterwards.
    seal(
        "PKG-R",
        "revoked.zip",
        &["C-1-2"],
        &["--sign-with", "officer.key"],
    );
    run(&["countersign", "revoked.zip", "--key", "analyst.key"]);
}

/// A sandbox holding a copy of the base package `file` as `pkg.zip`, and the public keys.
pub fn sandbox_with(file: &str) -> Sandbox {
    let sb = Sandbox::new();
    let base = base();
    std::fs::copy(base.join(file), sb.path("pkg.zip")).unwrap();
    for key in ["officer.pub", "stranger.pub", "analyst.pub", "stranger.key"] {
        std::fs::copy(base.join(key), sb.path(key)).unwrap();
    }
    sb
}

/// Whether the JSON report has a finding of `group` whose kind (or nested ZIP/BagIt kind)
/// is `kind`, about `file` when given.
pub fn has_finding(
    report: &serde_json::Value,
    group: &str,
    kind: &str,
    file: Option<&str>,
) -> bool {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .any(|f| {
            f["group"] == group
                && (f["kind"] == kind || f["detail"]["kind"] == kind)
                && file.is_none_or(|file| f["file"] == file)
        })
}

#[test]
fn genuine_package_verifies_with_a_pem_key() {
    let sb = sandbox_with("pkg.zip");
    let run = custody(&sb, &["verify", "pkg.zip", "--trust", "officer.pub"]).expect(0);
    assert!(
        run.stdout.contains("VERIFIED package PKG-1"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("valid, trusted"), "{}", run.stdout);
}

#[test]
fn genuine_package_verifies_with_a_verifier_key_and_expected_recipient() {
    let sb = sandbox_with("pkg.zip");
    let officer = Identity::load(&base().join("officer.key")).unwrap();
    let key = officer.verifier_key().to_string();
    let json = custody(
        &sb,
        &[
            "verify",
            "pkg.zip",
            "--trust",
            &key,
            "--expect-recipient",
            RECIPIENT,
            "--json",
        ],
    )
    .expect(0)
    .json();
    assert_eq!(json["verified"], true);
    assert_eq!(json["package_id"], ID);
    assert_eq!(json["findings"], serde_json::json!([]));
    assert_eq!(
        json["signers"],
        serde_json::json!([{
            "key": key,
            "name": "officer@parquet-paris.example",
            "trusted": true,
            "valid": true,
            "revoked": false,
            "active": true,
        }])
    );
}

#[test]
fn fail_without_a_trusted_signer_json_shape() {
    let sb = sandbox_with("pkg.zip");
    let json = custody(
        &sb,
        &["verify", "pkg.zip", "--trust", "stranger.pub", "--json"],
    )
    .expect(1)
    .json();
    assert_eq!(json["verified"], false);
    assert!(has_finding(
        &json,
        "signature",
        "no_trusted_signature",
        None
    ));
    assert!(has_finding(&json, "signature", "untrusted_signer", None));
    let finding = &json["findings"][0];
    assert!(finding["message"].is_string(), "{finding}");
    assert_eq!(json["signers"][0]["trusted"], false);
    assert_eq!(json["signers"][0]["valid"], true);
}

#[test]
fn fail_no_trust_store_at_all_text_output() {
    let sb = sandbox_with("pkg.zip");
    let run = custody(&sb, &["verify", "pkg.zip"]).expect(1);
    assert!(run.stdout.contains("[signature]"), "{}", run.stdout);
    assert!(
        run.stdout.contains("no valid signature by a trusted key"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("NOT VERIFIED"), "{}", run.stdout);
}

#[test]
fn fail_unreadable_package_is_exit_2() {
    let sb = sandbox_with("pkg.zip");
    let run = custody(&sb, &["verify", "absent.zip", "--trust", "officer.pub"]).expect(2);
    assert!(run.stderr.contains("absent.zip"), "{}", run.stderr);
}

#[test]
fn fail_bad_trust_key_is_exit_2() {
    let sb = sandbox_with("pkg.zip");
    let run = custody(&sb, &["verify", "pkg.zip", "--trust", "nonsense"]).expect(2);
    assert!(run.stderr.contains("--trust nonsense"), "{}", run.stderr);
}

#[test]
fn fail_not_a_zip_is_a_finding() {
    let sb = sandbox_with("pkg.zip");
    std::fs::write(sb.path("junk.zip"), b"this is not an archive").unwrap();
    let json = custody(
        &sb,
        &["verify", "junk.zip", "--trust", "officer.pub", "--json"],
    )
    .expect(1)
    .json();
    assert!(has_finding(
        &json,
        "zip",
        "no_end_of_central_directory",
        None
    ));
}

#[test]
fn plain_bags_still_verify_with_bagit() {
    let sb = sandbox_with("pkg.zip");
    // A Custody package is also a valid plain bag.
    let run = custody(&sb, &["verify", "pkg.zip", "--bagit"]).expect(0);
    assert!(run.stdout.contains("valid BagIt 1.0 bag"), "{}", run.stdout);
}

#[test]
fn compressed_package_verifies() {
    let sb = sandbox_with("compressed.zip");
    custody(&sb, &["verify", "pkg.zip", "--trust", "officer.pub"]).expect(0);
}

#[test]
fn countersignature_by_a_key_the_verifier_does_not_know_is_not_a_finding() {
    let sb = sandbox_with("pkg.zip");
    custody(&sb, &["countersign", "pkg.zip", "--key", "stranger.key"]).expect(0);
    let json = custody(
        &sb,
        &["verify", "pkg.zip", "--trust", "officer.pub", "--json"],
    )
    .expect(0)
    .json();
    let signers = json["signers"].as_array().unwrap();
    assert_eq!(signers.len(), 2);
    let trusted: Vec<bool> = signers
        .iter()
        .map(|s| s["trusted"].as_bool().unwrap())
        .collect();
    assert_eq!(trusted.iter().filter(|t| **t).count(), 1, "{json:#}");
    // The countersigner's key is not in the package, so its signature cannot be checked.
    let stranger = signers.iter().find(|s| s["trusted"] == false).unwrap();
    assert_eq!(stranger["valid"], false);
    // The countersigner is not enrolled in the sender ledger: trusting it alone is not
    // enough, since only a key active in the sender ledger vouches for the sender's history.
    let run = custody(&sb, &["verify", "pkg.zip", "--trust", "stranger.pub"]).expect(1);
    assert!(
        run.stdout
            .contains("is trusted but not enrolled in the sender ledger; a countersignature alone does not vouch for the package"),
        "{}",
        run.stdout
    );
}
