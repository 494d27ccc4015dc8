//! Packages in transit and the conditions that travel with them: `seal --encrypt-to`
//! writes an age file the stock `age` tool decrypts into a package that verifies as
//! before; `verify`/`receive --identity` read it in one pass; a wrong identity or an
//! altered or cut ciphertext writes nothing; `received` carries the sender's conditions; a
//! received item goes on to a third authority only with its sender's recorded consent,
//! which the package then states and `verify` shows; `destroyed` needs method and
//! authority.

use std::path::Path;
use std::process::Command;

use crate::harness::{Run, Sandbox};
use crate::receive::receiver;
use crate::verify::{custody, new_key};

const SENDER: &str = "Parquet de Paris";
const RECEIVER: &str = "Staatsanwaltschaft Berlin";
const THIRD: &str = "Procura di Roma";

/// A sender ledger (`custody.db`, key `officer`) with item C-1-1 acquired under case C-1.
fn sender() -> Sandbox {
    let sb = Sandbox::new();
    new_key(sb.dir.path(), "officer", "officer@parquet-paris.example");
    let run = |args: &[&str]| custody(&sb, args).expect(0);
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
    std::fs::write(sb.path("disk.img"), b"seized disk image bytes").unwrap();
    run(&[
        "acquire",
        "disk.img",
        "--case",
        "C-1",
        "--key",
        "officer.key",
    ]);
    sb
}

/// `custody seal` of C-1-1 from the sender ledger to the receiver, with conditions.
fn seal(sb: &Sandbox, out: &str, extra: &[&str]) -> Run {
    seal_retained_until(sb, out, "2030-12-31", extra)
}

/// As [`seal`], with the retention date given.
fn seal_retained_until(sb: &Sandbox, out: &str, retention: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "seal",
        "C-1-1",
        "--key",
        "officer.key",
        "--case",
        "C-1",
        "--to",
        RECEIVER,
        "--from",
        SENDER,
        "--id",
        "PKG-1",
        "--out",
        out,
        "--use-limitation",
        "only for case C-1",
        "--confidential",
        "--personal-data",
        "communications",
        "--retention-until",
        retention,
    ];
    args.extend_from_slice(extra);
    custody(sb, &args)
}

/// A new age identity `file` made by `custody key new --encryption`; returns its recipient.
fn identity(sb: &Sandbox, file: &str) -> String {
    let run = custody(sb, &["key", "new", "--encryption", "--out", file]).expect(0);
    run.stdout.trim().to_owned()
}

fn sha256_hex(path: &Path) -> String {
    custody_core::hash::hash_file(path, &mut |_| {})
        .unwrap()
        .sha256_hex()
}

fn entries(sb: &Sandbox, ledger: &str) -> Vec<serde_json::Value> {
    custody(sb, &["log", "--ledger", ledger, "--json"])
        .expect(0)
        .json()
        .as_array()
        .unwrap()
        .clone()
}

fn of_kind<'a>(log: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    log.iter()
        .filter(|e| e["event"]["kind"] == kind)
        .map(|e| &e["event"])
        .collect()
}

/// The stock `age` command (installed by `.ci/run`).
fn stock_age(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    Command::new("age")
        .args(args)
        .current_dir(sb.dir.path())
        .output()
        .expect("the stock `age` tool must be installed (Debian package `age`)")
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn sealed_encrypted_package_decrypts_with_stock_age_and_verifies_offline() {
    let sb = sender();
    let recipient = identity(&sb, "berlin.age");
    assert!(recipient.starts_with("age1"), "{recipient}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(sb.path("berlin.age"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let shown = custody(&sb, &["key", "show", "--key", "berlin.age", "--json"]).expect(0);
    assert_eq!(shown.json()["recipients"], serde_json::json!([recipient]));

    let run = seal(&sb, "pkg.age", &["--encrypt-to", &recipient, "--json"]).expect(0);
    let report = run.json();
    let bytes = std::fs::read(sb.path("pkg.age")).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));

    let out = stock_age(&sb, &["-d", "-i", "berlin.age", "-o", "pkg.zip", "pkg.age"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    custody(&sb, &["verify", "pkg.zip", "--trust", "officer.pub"]).expect(0);

    // Both digests are recorded: the package verified, and the file transferred.
    let plain = sha256_hex(&sb.path("pkg.zip"));
    let encrypted = sha256_hex(&sb.path("pkg.age"));
    assert_eq!(report["sha256"], plain);
    assert_eq!(report["encrypted"]["sha256"], encrypted);
    let log = entries(&sb, "custody.db");
    for kind in ["sealed", "transferred"] {
        let event = of_kind(&log, kind)[0];
        assert_eq!(event["package_digest"], plain, "{kind}");
        assert_eq!(event["encrypted_digest"], encrypted, "{kind}");
    }

    // custody verify reads the encrypted file itself with the identity.
    let run = custody(
        &sb,
        &[
            "verify",
            "pkg.age",
            "--identity",
            "berlin.age",
            "--trust",
            "officer.pub",
            "--json",
        ],
    )
    .expect(0);
    assert_eq!(run.json()["verdict"], "verified");
    assert_eq!(run.json()["encrypted_digest"], encrypted);
}

#[test]
fn recipients_file_encrypts_to_every_recipient_as_age_r_reads_it() {
    let sb = sender();
    let a = identity(&sb, "a.age");
    let b = identity(&sb, "b.age");
    std::fs::write(sb.path("recipients.txt"), format!("# Berlin\n{a}\n\n{b}\n")).unwrap();
    seal(&sb, "pkg.age", &["--encrypt-to", "recipients.txt"]).expect(0);
    for id in ["a.age", "b.age"] {
        custody(
            &sb,
            &[
                "verify",
                "pkg.age",
                "--identity",
                id,
                "--trust",
                "officer.pub",
            ],
        )
        .expect(0);
    }
    let out = stock_age(
        &sb,
        &["-e", "-R", "recipients.txt", "-o", "x.age", "disk.img"],
    );
    assert!(out.status.success());
}

#[test]
fn fail_seal_to_a_recipient_that_is_not_age_x25519_writes_nothing() {
    let sb = sender();
    let run = seal(&sb, "pkg.age", &["--encrypt-to", "age1qqqq"]).expect(2);
    assert!(
        run.stderr.contains("not an age X25519 recipient"),
        "{}",
        run.stderr
    );
    assert!(!sb.path("pkg.age").exists());
    assert!(of_kind(&entries(&sb, "custody.db"), "sealed").is_empty());
}

/// A receiver sandbox holding the sender's encrypted package `pkg.age` for `berlin.age`,
/// the officer's public key, and the receiver ledger `recv.db`.
fn receiver_with_encrypted_package() -> Sandbox {
    let sb = sender();
    let recipient = identity(&sb, "berlin.age");
    seal(&sb, "pkg.age", &["--encrypt-to", &recipient]).expect(0);
    receiver(&sb);
    std::fs::create_dir(sb.path("evidence")).unwrap();
    sb
}

fn receive_encrypted(sb: &Sandbox, package: &str, identity: &str) -> Run {
    custody(
        sb,
        &[
            "receive",
            package,
            "--identity",
            identity,
            "--into",
            "evidence/PKG-1",
            "--trust",
            "officer.pub",
            "--as",
            RECEIVER,
            "--ledger",
            "recv.db",
            "--key",
            "clerk.key",
            "--receipt",
            "receipt.json",
        ],
    )
}

#[test]
fn receive_with_identity_records_both_digests_and_the_conditions() {
    let sb = receiver_with_encrypted_package();
    receive_encrypted(&sb, "pkg.age", "berlin.age").expect(0);
    assert_eq!(
        std::fs::read(sb.path("evidence/PKG-1/data/C-1-1/disk.img")).unwrap(),
        b"seized disk image bytes"
    );
    // No plaintext package was left anywhere: only the extracted bag.
    assert_eq!(names_in(&sb.path("evidence")), ["PKG-1"]);

    let sealed = of_kind(&entries(&sb, "custody.db"), "sealed")[0].clone();
    let log = entries(&sb, "recv.db");
    let received = of_kind(&log, "received")[0];
    assert_eq!(received["package_digest"], sealed["package_digest"]);
    assert_eq!(
        received["encrypted_digest"],
        sha256_hex(&sb.path("pkg.age"))
    );
    assert_eq!(
        received["conditions"],
        serde_json::json!({
            "use_limitations": ["only for case C-1"],
            "confidential": true,
            "personal_data": ["communications"],
            "retention_until": "2030-12-31",
        })
    );
    let receipt: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sb.path("receipt.json")).unwrap()).unwrap();
    assert_eq!(
        receipt["receipt"]["package_digest"],
        sealed["package_digest"]
    );
    assert_eq!(
        receipt["receipt"]["encrypted_digest"],
        received["encrypted_digest"]
    );
    // The sender imports the receipt: it matches the sealed package by its plaintext digest.
    custody(
        &sb,
        &[
            "acknowledge",
            "receipt.json",
            "--trust",
            "clerk.pub",
            "--key",
            "officer.key",
        ],
    )
    .expect(0);
}

/// Nothing written: no destination, no receipt, no stray file, no ledger entry.
fn assert_nothing_received(sb: &Sandbox) {
    assert!(names_in(&sb.path("evidence")).is_empty());
    assert!(!sb.path("receipt.json").exists());
    assert_eq!(entries(sb, "recv.db").len(), 1);
}

#[test]
fn fail_wrong_identity_exits_2_and_writes_nothing() {
    let sb = receiver_with_encrypted_package();
    identity(&sb, "other.age");
    let run = receive_encrypted(&sb, "pkg.age", "other.age").expect(2);
    assert!(
        run.stderr.contains("none of the identities"),
        "{}",
        run.stderr
    );
    assert_nothing_received(&sb);
    let run = custody(
        &sb,
        &[
            "verify",
            "pkg.age",
            "--identity",
            "other.age",
            "--trust",
            "officer.pub",
        ],
    )
    .expect(2);
    assert!(
        run.stderr.contains("none of the identities"),
        "{}",
        run.stderr
    );
}

#[test]
fn fail_altered_or_truncated_ciphertext_is_a_clear_error_and_writes_nothing() {
    let sb = receiver_with_encrypted_package();
    let bytes = std::fs::read(sb.path("pkg.age")).unwrap();
    let mut altered = bytes.clone();
    let middle = altered.len() / 2 + 100;
    altered[middle] ^= 0x01;
    std::fs::write(sb.path("altered.age"), &altered).unwrap();
    std::fs::write(sb.path("cut.age"), &bytes[..bytes.len() - 50]).unwrap();
    for file in ["altered.age", "cut.age"] {
        let run = receive_encrypted(&sb, file, "berlin.age").expect(2);
        assert!(
            run.stderr.contains("damaged, truncated or was altered"),
            "{file}: {}",
            run.stderr
        );
        assert_nothing_received(&sb);
        let run = custody(
            &sb,
            &[
                "verify",
                file,
                "--identity",
                "berlin.age",
                "--trust",
                "officer.pub",
            ],
        )
        .expect(2);
        assert!(
            run.stderr.contains("damaged, truncated or was altered"),
            "{file}: {}",
            run.stderr
        );
    }
}

#[test]
fn fail_identity_readable_by_others_is_refused() {
    let sb = receiver_with_encrypted_package();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            sb.path("berlin.age"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let run = receive_encrypted(&sb, "pkg.age", "berlin.age").expect(2);
        assert!(run.stderr.contains("readable by others"), "{}", run.stderr);
        assert_nothing_received(&sb);
    }
}

/// The receiver sandbox after receiving the (plain) package: `recv.db` holds C-1-1,
/// received from the sender.
fn receiver_holding_item() -> Sandbox {
    let sb = sender();
    seal(&sb, "pkg.zip", &[]).expect(0);
    receiver(&sb);
    std::fs::create_dir(sb.path("evidence")).unwrap();
    custody(
        &sb,
        &[
            "receive",
            "pkg.zip",
            "--into",
            "evidence/PKG-1",
            "--trust",
            "officer.pub",
            "--ledger",
            "recv.db",
            "--key",
            "clerk.key",
        ],
    )
    .expect(0);
    sb
}

/// The claimed time of the `received` entry: later events about the item claim it too
/// (`receive` records sub-second times; `custody event` defaults to whole seconds, which
/// can fall before it within the same second).
fn received_time(sb: &Sandbox) -> String {
    of_kind(&entries(sb, "recv.db"), "received")[0]["claimed_time"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `custody seal` of the received C-1-1 from the receiver ledger to `to`.
fn seal_onward(sb: &Sandbox, to: &str, out: &str) -> Run {
    let time = received_time(sb);
    custody(
        sb,
        &[
            "seal",
            "--claimed-time",
            &time,
            "C-1-1",
            "--ledger",
            "recv.db",
            "--key",
            "clerk.key",
            "--case",
            "C-1",
            "--to",
            to,
            "--from",
            RECEIVER,
            "--out",
            out,
            "--file",
            "C-1-1=evidence/PKG-1/data/C-1-1/disk.img",
        ],
    )
}

fn consent(sb: &Sandbox, from: &str) -> Run {
    let time = received_time(sb);
    custody(
        sb,
        &[
            "event",
            "--claimed-time",
            &time,
            "C-1-1",
            "onward-transfer-authorised",
            "--ledger",
            "recv.db",
            "--key",
            "clerk.key",
            "--from",
            from,
            "--to",
            THIRD,
            "--authority",
            "FR-CONSENT-2026-7",
        ],
    )
}

#[test]
fn fail_onward_transfer_without_the_senders_consent_is_refused() {
    let sb = receiver_holding_item();
    let run = seal_onward(&sb, THIRD, "onward.zip").expect(2);
    assert!(
        run.stderr.contains("needs the sender's consent"),
        "{}",
        run.stderr
    );
    assert!(!sb.path("onward.zip").exists());
    // Consent from anyone but the sender does not count.
    let run = consent(&sb, "Somebody Else").expect(2);
    assert!(
        run.stderr.contains("must come from that authority"),
        "{}",
        run.stderr
    );
    seal_onward(&sb, THIRD, "onward.zip").expect(2);
    // Sending it back to its sender needs no consent.
    seal_onward(&sb, SENDER, "back.zip").expect(0);
}

#[test]
fn onward_transfer_with_consent_is_stated_and_shown_by_verify() {
    let sb = receiver_holding_item();
    let seq = consent(&sb, SENDER).expect(0);
    assert!(
        seq.stdout.contains("recorded onward-transfer-authorised"),
        "{}",
        seq.stdout
    );
    seal_onward(&sb, THIRD, "onward.zip").expect(0);
    let run = custody(&sb, &["verify", "onward.zip", "--trust", "clerk.pub"]).expect(0);
    assert!(
        run.stdout.contains(&format!(
            "onward transfer of C-1-1 to {THIRD} authorised by {SENDER} (reference FR-CONSENT-2026-7"
        )),
        "{}",
        run.stdout
    );
    let json = custody(
        &sb,
        &["verify", "onward.zip", "--trust", "clerk.pub", "--json"],
    )
    .expect(0)
    .json();
    assert_eq!(
        json["package"]["onward_transfers"][0]["authorised_by"],
        SENDER
    );
    assert_eq!(
        json["package"]["onward_transfers"][0]["reference"],
        "FR-CONSENT-2026-7"
    );
}

#[test]
fn disclosure_needs_a_named_third_party() {
    let sb = receiver_holding_item();
    let time = received_time(&sb);
    let base = [
        "event",
        "C-1-1",
        "disclosed",
        "--ledger",
        "recv.db",
        "--key",
        "clerk.key",
        "--claimed-time",
        &time,
    ];
    let run = custody(&sb, &base).expect(2);
    assert!(
        run.stderr.contains("disclosed event: field to: required"),
        "{}",
        run.stderr
    );
    let mut args = base.to_vec();
    args.extend_from_slice(&[
        "--to",
        "Defence counsel",
        "--purpose",
        "disclosure to the defence",
    ]);
    custody(&sb, &args).expect(0);
}

#[test]
fn fail_destroyed_without_method_or_authority_is_refused() {
    let sb = receiver_holding_item();
    let time = received_time(&sb);
    let base = [
        "event",
        "C-1-1",
        "destroyed",
        "--ledger",
        "recv.db",
        "--key",
        "clerk.key",
        "--claimed-time",
        &time,
    ];
    let run = custody(&sb, &base).expect(2);
    assert!(
        run.stderr
            .contains("destroyed event: field method: required"),
        "{}",
        run.stderr
    );
    let mut args = base.to_vec();
    args.extend_from_slice(&["--method", "secure erase (NIST 800-88 purge)"]);
    let run = custody(&sb, &args).expect(2);
    assert!(
        run.stderr
            .contains("destroyed event: field legal_authority: required"),
        "{}",
        run.stderr
    );
    args.extend_from_slice(&["--authority", "order 2031/12"]);
    custody(&sb, &args).expect(0);
    let destroyed = of_kind(&entries(&sb, "recv.db"), "destroyed")[0].clone();
    assert_eq!(destroyed["method"], "secure erase (NIST 800-88 purge)");
    assert_eq!(destroyed["legal_authority"], "order 2031/12");
}

#[test]
fn trust_store_holds_recipients_that_seal_encrypts_to_by_name() {
    let sb = sender();
    let recipient = identity(&sb, "berlin.age");
    let run = custody(
        &sb,
        &[
            "trust",
            "add",
            "--trust-dir",
            "trust",
            "sta-berlin",
            &recipient,
        ],
    )
    .expect(0);
    assert!(
        run.stdout.contains("recipient entry sta-berlin"),
        "{}",
        run.stdout
    );
    let list = custody(&sb, &["trust", "list", "--trust-dir", "trust", "--json"]).expect(0);
    assert_eq!(list.json()["entries"][0]["kind"], "recipient");
    assert_eq!(list.json()["entries"][0]["public_key"], recipient);
    seal(
        &sb,
        "pkg.age",
        &["--encrypt-to", "sta-berlin", "--trust-dir", "trust"],
    )
    .expect(0);
    custody(
        &sb,
        &[
            "verify",
            "pkg.age",
            "--identity",
            "berlin.age",
            "--trust",
            "officer.pub",
        ],
    )
    .expect(0);
    let run = seal(
        &sb,
        "other.age",
        &["--encrypt-to", "sta-paris", "--trust-dir", "trust"],
    )
    .expect(2);
    assert!(
        run.stderr.contains("no recipient entry of that name"),
        "{}",
        run.stderr
    );
    assert!(!sb.path("other.age").exists());
}

#[test]
fn item_list_and_show_flag_a_received_item_past_its_retention_date() {
    let sb = sender();
    seal_retained_until(&sb, "pkg.zip", "2020-01-31", &[]).expect(0);
    receiver(&sb);
    std::fs::create_dir(sb.path("evidence")).unwrap();
    custody(
        &sb,
        &[
            "receive",
            "pkg.zip",
            "--into",
            "evidence/PKG-1",
            "--trust",
            "officer.pub",
            "--ledger",
            "recv.db",
            "--key",
            "clerk.key",
        ],
    )
    .expect(0);
    let list = custody(&sb, &["item", "list", "--ledger", "recv.db"]).expect(0);
    assert!(list.stdout.contains("PAST RETENTION"), "{}", list.stdout);
    let show = custody(&sb, &["item", "show", "C-1-1", "--ledger", "recv.db"]).expect(0);
    for expected in [
        "use limitations",
        "only for case C-1",
        "personal data",
        "communications",
        "2020-01-31 (PAST RETENTION)",
    ] {
        assert!(
            show.stdout.contains(expected),
            "{expected}: {}",
            show.stdout
        );
    }
    let json = custody(
        &sb,
        &["item", "show", "C-1-1", "--ledger", "recv.db", "--json"],
    )
    .expect(0)
    .json();
    assert_eq!(json["past_retention"], true);
    assert_eq!(
        json["received"]["conditions"]["retention_until"],
        "2020-01-31"
    );
    // Once destroyed (with method and authority), it is no longer flagged.
    let time = received_time(&sb);
    custody(
        &sb,
        &[
            "event",
            "C-1-1",
            "destroyed",
            "--ledger",
            "recv.db",
            "--key",
            "clerk.key",
            "--claimed-time",
            &time,
            "--method",
            "secure erase",
            "--authority",
            "order 9",
        ],
    )
    .expect(0);
    let json = custody(
        &sb,
        &["item", "show", "C-1-1", "--ledger", "recv.db", "--json"],
    )
    .expect(0)
    .json();
    assert_eq!(json["past_retention"], false);
}
