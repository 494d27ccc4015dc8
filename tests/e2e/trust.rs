//! `custody trust add|list|remove` and its use by `verify` and `receive` when no `--trust`
//! is given: the store's refusals (private keys, duplicates, malformed entries, a store
//! writable by others) each exit 2 with their own message.

use std::os::unix::fs::PermissionsExt;

use crate::harness::Sandbox;
use crate::verify::{custody, sandbox_with};

fn add(sb: &Sandbox, name: &str, key: &str) -> crate::harness::Run {
    custody(sb, &["trust", "add", name, key])
}

#[test]
fn verify_uses_the_trust_store_when_no_key_is_given() {
    let sb = sandbox_with("pkg.zip");
    let run = custody(&sb, &["verify", "pkg.zip"]).expect(1);
    assert!(run.stderr.contains("holds no signer key"), "{}", run.stderr);
    let run = custody(
        &sb,
        &[
            "trust",
            "add",
            "parquet-paris",
            "officer.pub",
            "--note",
            "fingerprint read out by phone, 2026-03-01",
        ],
    )
    .expect(0);
    assert!(
        run.stdout.starts_with("trusted ") && run.stdout.contains("as signer entry parquet-paris"),
        "{}",
        run.stdout
    );
    let list = custody(&sb, &["trust", "list", "--json"]).expect(0).json();
    let entries = list["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["name"], "parquet-paris");
    assert_eq!(entries[0]["kind"], "signer");
    assert_eq!(
        entries[0]["note"],
        "fingerprint read out by phone, 2026-03-01"
    );
    let text = custody(&sb, &["trust", "list"]).expect(0);
    assert!(text.stdout.starts_with("NAME "), "{}", text.stdout);
    assert!(
        text.stdout.contains("parquet-paris  signer"),
        "{}",
        text.stdout
    );

    let run = custody(&sb, &["verify", "pkg.zip"]).expect(0);
    assert!(run.stdout.contains("valid, trusted"), "{}", run.stdout);
    assert_eq!(run.stderr, "");
    // --trust given: the store is not consulted.
    custody(&sb, &["verify", "pkg.zip", "--trust", "stranger.pub"]).expect(1);

    custody(&sb, &["trust", "remove", "parquet-paris"]).expect(0);
    custody(&sb, &["verify", "pkg.zip"]).expect(1);
    let run = custody(&sb, &["trust", "remove", "parquet-paris"]).expect(2);
    assert!(
        run.stderr.contains("no entry named parquet-paris"),
        "{}",
        run.stderr
    );
}

#[test]
fn trust_dir_flag_names_another_store() {
    let sb = sandbox_with("pkg.zip");
    custody(
        &sb,
        &[
            "trust",
            "add",
            "--trust-dir",
            "elsewhere",
            "p",
            "officer.pub",
        ],
    )
    .expect(0);
    custody(&sb, &["verify", "pkg.zip"]).expect(1);
    custody(&sb, &["verify", "pkg.zip", "--trust-dir", "elsewhere"]).expect(0);
}

#[test]
fn fail_trust_add_private_key() {
    let sb = sandbox_with("pkg.zip");
    let run = add(&sb, "stranger", "stranger.key").expect(2);
    assert!(run.stderr.contains("private key"), "{}", run.stderr);
    assert!(!run.stderr.contains("BEGIN"), "{}", run.stderr);
    assert!(!sb.path("trust/stranger.json").exists());
}

#[test]
fn fail_trust_add_zip_or_directory() {
    let sb = sandbox_with("pkg.zip");
    let run = add(&sb, "pkg", "pkg.zip").expect(2);
    assert!(
        run.stderr.contains("pkg.zip: a ZIP archive"),
        "{}",
        run.stderr
    );
    std::fs::create_dir(sb.path("keys")).unwrap();
    let run = add(&sb, "dir", "keys").expect(2);
    assert!(
        run.stderr
            .contains("keys: a directory, not a public key file"),
        "{}",
        run.stderr
    );
}

#[test]
fn fail_trust_add_duplicate_name_or_key() {
    let sb = sandbox_with("pkg.zip");
    add(&sb, "paris", "officer.pub").expect(0);
    let run = add(&sb, "paris", "stranger.pub").expect(2);
    assert!(
        run.stderr.contains("named paris already exists"),
        "{}",
        run.stderr
    );
    let run = add(&sb, "paris-again", "officer.pub").expect(2);
    assert!(
        run.stderr.contains("already trusted as signer entry paris"),
        "{}",
        run.stderr
    );
    let run = add(&sb, "../escape", "stranger.pub").expect(2);
    assert!(
        run.stderr.contains("invalid trust entry name"),
        "{}",
        run.stderr
    );
    let names: Vec<_> = std::fs::read_dir(sb.path("trust"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["paris.json"]);
}

#[test]
fn fail_trust_store_writable_by_others() {
    let sb = sandbox_with("pkg.zip");
    add(&sb, "paris", "officer.pub").expect(0);
    let dir = sb.path("trust");
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = custody(&sb, &["verify", "pkg.zip"]).expect(2);
    assert!(
        run.stderr.contains("is writable by others (mode 777)"),
        "{}",
        run.stderr
    );
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let entry = dir.join("paris.json");
    std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o666)).unwrap();
    let run = custody(&sb, &["verify", "pkg.zip"]).expect(2);
    assert!(
        run.stderr.contains("paris.json is writable by others"),
        "{}",
        run.stderr
    );
}

#[test]
fn fail_trust_store_with_malformed_or_foreign_files() {
    let sb = sandbox_with("pkg.zip");
    add(&sb, "paris", "officer.pub").expect(0);
    let dir = sb.path("trust");
    let genuine = std::fs::read_to_string(dir.join("paris.json")).unwrap();

    std::fs::write(dir.join("notes.txt"), "hello").unwrap();
    let run = custody(&sb, &["trust", "list"]).expect(2);
    assert!(
        run.stderr.contains("notes.txt is not a trust entry"),
        "{}",
        run.stderr
    );
    std::fs::remove_file(dir.join("notes.txt")).unwrap();

    // Same content under another name: the entry's name must be its file name.
    std::fs::write(dir.join("berlin.json"), &genuine).unwrap();
    let run = custody(&sb, &["verify", "pkg.zip"]).expect(2);
    assert!(
        run.stderr.contains("is not its file name"),
        "{}",
        run.stderr
    );
    std::fs::remove_file(dir.join("berlin.json")).unwrap();

    // The same key under two names.
    std::fs::write(
        dir.join("berlin.json"),
        genuine.replace("\"name\":\"paris\"", "\"name\":\"berlin\""),
    )
    .unwrap();
    let run = custody(&sb, &["trust", "list"]).expect(2);
    assert!(
        run.stderr
            .contains("entries berlin and paris both trust key"),
        "{}",
        run.stderr
    );
    std::fs::remove_file(dir.join("berlin.json")).unwrap();

    // Not canonical (pretty-printed), and an unknown field.
    let pretty: serde_json::Value = serde_json::from_str(&genuine).unwrap();
    std::fs::write(
        dir.join("paris.json"),
        serde_json::to_string_pretty(&pretty).unwrap(),
    )
    .unwrap();
    let run = custody(&sb, &["verify", "pkg.zip"]).expect(2);
    assert!(
        run.stderr.contains("paris.json is not a valid trust entry"),
        "{}",
        run.stderr
    );
    std::fs::write(
        dir.join("paris.json"),
        genuine.replace("{\"added_time\"", "{\"admin\":true,\"added_time\""),
    )
    .unwrap();
    custody(&sb, &["trust", "list"]).expect(2);
    std::fs::write(dir.join("paris.json"), &genuine).unwrap();
    custody(&sb, &["verify", "pkg.zip"]).expect(0);
}

#[test]
fn receive_without_as_warns_and_uses_the_store() {
    let sb = sandbox_with("pkg.zip");
    crate::receive::receiver(&sb);
    add(&sb, "paris", "officer.pub").expect(0);
    std::fs::create_dir(sb.path("evidence")).unwrap();
    let run = custody(
        &sb,
        &[
            "receive",
            "pkg.zip",
            "--into",
            "evidence/PKG-1",
            "--ledger",
            "recv.db",
            "--key",
            "clerk.key",
        ],
    )
    .expect(0);
    assert_eq!(
        run.stderr,
        "custody: warning: no --as given: the package's addressee was not checked against this authority\n"
    );
    assert!(
        run.stdout
            .contains("  recipient:         Staatsanwaltschaft Berlin\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with(
            "received package PKG-1 (2 item(s))\n  into:     evidence/PKG-1\n  recorded: received at seq 1, 2\n  receipt:  evidence/PKG-1.receipt.json\n"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn acknowledge_uses_the_trust_store_when_no_key_is_given() {
    let sb = sandbox_with("pkg.zip");
    crate::receive::receiver(&sb);
    std::fs::create_dir(sb.path("evidence")).unwrap();
    crate::receive::receive(&sb, &["--receipt", "receipt.json"]).expect(0);
    let base = crate::verify::base();
    for file in ["custody.db", "officer.key"] {
        std::fs::copy(base.join(file), sb.path(file)).unwrap();
    }
    crate::harness::copy_log_keys(base, sb.dir.path());
    let clerk = custody_core::keys::Identity::load(&sb.path("clerk.key")).unwrap();
    std::fs::write(sb.path("clerk.pub"), clerk.public_key().to_pem()).unwrap();
    let acknowledge =
        |sb: &Sandbox| custody(sb, &["acknowledge", "receipt.json", "--key", "officer.key"]);
    // Nothing trusted yet: the receipt is refused and nothing recorded.
    let run = acknowledge(&sb).expect(1);
    assert!(run.stderr.contains("receipt refused"), "{}", run.stderr);
    add(&sb, "sta-berlin", "clerk.pub").expect(0);
    let run = acknowledge(&sb).expect(0);
    assert!(
        run.stdout
            .starts_with("acknowledged receipt for package PKG-1"),
        "{}",
        run.stdout
    );
}

#[test]
fn fail_verify_trust_argument_that_is_not_a_public_key() {
    let sb = sandbox_with("pkg.zip");
    let run = custody(&sb, &["verify", "pkg.zip", "--trust", "stranger.key"]).expect(2);
    assert!(
        run.stderr
            .contains("--trust: stranger.key: this is a private key"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("BEGIN"), "{}", run.stderr);
    let run = custody(&sb, &["verify", "pkg.zip", "--trust", "pkg.zip"]).expect(2);
    assert!(
        run.stderr.contains("pkg.zip: a ZIP archive"),
        "{}",
        run.stderr
    );
    let run = custody(&sb, &["verify", "pkg.zip", "--revoked", "nothing-here"]).expect(2);
    assert!(
        run.stderr
            .contains("--revoked: nothing-here: neither a verifier key"),
        "{}",
        run.stderr
    );
    // A verifier key given inline is trusted as it is, under its own name only.
    let officer = custody_core::keys::Identity::load(&crate::verify::base().join("officer.key"))
        .unwrap()
        .verifier_key()
        .to_string();
    add(&sb, "paris", &officer).expect(0);
    let list = custody(&sb, &["trust", "list", "--json"]).expect(0).json();
    assert_eq!(list["entries"][0]["verifier_key"], officer.as_str());
    custody(&sb, &["verify", "pkg.zip"]).expect(0);
}
