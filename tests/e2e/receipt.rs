//! `custody acknowledge` believes a receipt only in its exact canonical form: a receipt the
//! receiving authority signed, edited afterwards into bytes a lenient JSON reader still
//! takes for the signed receipt, is refused (exit 1) and nothing is recorded.

use crate::harness::Sandbox;
use crate::receive::{receive, receiver};
use crate::verify::{base, custody, sandbox_with};

/// A received package's receipt, and the sender's ledger and key beside it.
fn sender_holding_a_receipt() -> Sandbox {
    let sb = sandbox_with("pkg.zip");
    receiver(&sb);
    std::fs::create_dir(sb.path("evidence")).unwrap();
    receive(&sb, &["--receipt", "receipt.json"]).expect(0);
    for file in ["custody.db", "officer.key"] {
        std::fs::copy(base().join(file), sb.path(file)).unwrap();
    }
    // The sender's log key and its state live in the log key directory, not beside the
    // ledger (docs/ledger.md §7).
    let keys = sb.path(crate::harness::LOG_KEY_DIR);
    std::fs::create_dir_all(&keys).unwrap();
    for entry in std::fs::read_dir(base().join(crate::harness::LOG_KEY_DIR)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), keys.join(entry.file_name())).unwrap();
    }
    let clerk = custody_core::keys::Identity::load(&sb.path("clerk.key")).unwrap();
    std::fs::write(sb.path("clerk.pub"), clerk.public_key().to_pem()).unwrap();
    sb
}

fn ledger_size(sb: &Sandbox) -> usize {
    let log = custody(sb, &["log", "--json"]).expect(0).json();
    log.as_array().unwrap().len()
}

/// Rewrites receipt.json with `edit`, then acknowledges it.
fn acknowledge_edited(sb: &Sandbox, edit: impl Fn(&str) -> String) -> crate::harness::Run {
    let text = std::fs::read_to_string(sb.path("receipt.json")).unwrap();
    let edited = edit(&text);
    assert_ne!(edited, text);
    std::fs::write(sb.path("receipt.json"), edited).unwrap();
    custody(
        sb,
        &[
            "acknowledge",
            "receipt.json",
            "--trust",
            "clerk.pub",
            "--key",
            "officer.key",
        ],
    )
}

/// A first `package_digest` naming another package, before the signed one.
fn duplicate_digest(text: &str) -> String {
    text.replacen(
        "\"package_digest\":",
        &format!(
            "\"package_digest\":\"{}\",\"package_digest\":",
            "0".repeat(64)
        ),
        1,
    )
}

#[test]
fn fail_acknowledge_receipt_with_duplicate_package_digest() {
    let sb = sender_holding_a_receipt();
    let before = ledger_size(&sb);
    let run = acknowledge_edited(&sb, duplicate_digest).expect(1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "custody: receipt.json: receipt refused: receipt: not the canonical JSON of a receipt: \
         duplicate member \"package_digest\" in the object at \"/receipt\"; nothing was recorded\n"
    );
    assert_eq!(ledger_size(&sb), before);
    custody(&sb, &["ledger", "verify"]).expect(0);
}

#[test]
fn fail_acknowledge_receipt_with_duplicate_and_white_space() {
    let sb = sender_holding_a_receipt();
    let before = ledger_size(&sb);
    let run = acknowledge_edited(&sb, |t| {
        format!("{}\n", duplicate_digest(t).replacen("\":", "\": ", 1))
    })
    .expect(1);
    assert_eq!(
        run.stderr,
        "custody: receipt.json: receipt refused: receipt: not the canonical JSON of a receipt: \
         white space at byte 11 (not canonical); nothing was recorded\n"
    );
    assert_eq!(ledger_size(&sb), before);
}

#[test]
fn fail_acknowledge_receipt_by_a_trusted_but_revoked_receiver() {
    let sb = sender_holding_a_receipt();
    let before = ledger_size(&sb);
    let run = custody(
        &sb,
        &[
            "acknowledge",
            "receipt.json",
            "--trust",
            "clerk.pub",
            "--revoked",
            "clerk.pub",
            "--key",
            "officer.key",
        ],
    )
    .expect(1);
    assert!(
        run.stderr
            .contains("receipt refused: receipt: receiver key clerk@sta-berlin.example+"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(" is revoked; nothing was recorded\n"),
        "{}",
        run.stderr
    );
    assert_eq!(ledger_size(&sb), before);
}

#[test]
fn fail_acknowledge_receipt_larger_than_the_json_limit_without_reading_it_whole() {
    let sb = sender_holding_a_receipt();
    let before = ledger_size(&sb);
    // 1 GiB, sparse: read only up to one byte past the limit.
    let file = std::fs::File::create(sb.path("huge.json")).unwrap();
    file.set_len(1 << 30).unwrap();
    let run = custody(
        &sb,
        &[
            "acknowledge",
            "huge.json",
            "--trust",
            "clerk.pub",
            "--key",
            "officer.key",
        ],
    )
    .expect(1);
    assert_eq!(
        run.stderr,
        format!(
            "custody: huge.json: receipt refused: receipt: not the canonical JSON of a receipt: \
             larger than the {}-byte limit for a JSON record ({} bytes read); nothing was \
             recorded\n",
            custody_core::canonical::MAX_STRICT_JSON_BYTES,
            custody_core::canonical::MAX_STRICT_JSON_BYTES + 1
        )
    );
    assert_eq!(ledger_size(&sb), before);
}
