//! The one JSON vocabulary of docs/json.md, through the real binary: every command's
//! `--json` document has exactly the documented top-level fields, verdicts are
//! `"verified"`/`"failed"`, findings carry `code` and `message`, items and signers have
//! their common shapes, and a command that cannot run prints one JSON error on stderr.

use serde_json::Value;

use crate::harness::Sandbox;
use crate::seal::{custody, ledger_with_items, new_key, seal};

/// The object's field names, sorted.
#[track_caller]
fn fields(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value:#}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[track_caller]
fn assert_fields(value: &Value, expected: &[&str]) {
    let mut expected = expected.to_vec();
    expected.sort_unstable();
    assert_eq!(fields(value), expected, "{value:#}");
}

/// Every finding has a string `code` and `message`.
#[track_caller]
fn assert_findings_shape(report: &Value) {
    for finding in report["findings"].as_array().expect("findings array") {
        assert!(finding["code"].is_string(), "{finding:#}");
        assert!(finding["message"].is_string(), "{finding:#}");
    }
}

const ITEM: &[&str] = &["id", "path", "size", "sha256", "blake3"];
const SIGNER: &[&str] = &["name", "key_id", "key"];
const PACKAGE_REPORT: &[&str] = &[
    "verdict",
    "package_id",
    "items",
    "events",
    "checkpoint",
    "signers",
    "findings",
    "package",
];

/// An item object: the common fields, plus `files` for a directory item.
#[track_caller]
fn assert_item(item: &Value) {
    let mut expected = ITEM.to_vec();
    if item.get("files").is_some() {
        expected.push("files");
    }
    assert_fields(item, &expected);
    assert_eq!(item["sha256"].as_str().map(str::len), Some(64), "{item:#}");
    assert_eq!(item["blake3"].as_str().map(str::len), Some(64), "{item:#}");
}

/// A signer object: `name`, `key_id`, `key`, and the flags `extra` names.
#[track_caller]
fn assert_signer(signer: &Value, extra: &[&str]) {
    let mut expected = SIGNER.to_vec();
    expected.extend_from_slice(extra);
    assert_fields(signer, &expected);
    let key = signer["key"].as_str().unwrap();
    let mut parts = key.split('+');
    assert_eq!(parts.next(), signer["name"].as_str(), "{signer:#}");
    assert_eq!(parts.next(), signer["key_id"].as_str(), "{signer:#}");
}

#[test]
fn every_command_speaks_the_same_json() {
    let (sb, _) = ledger_with_items();

    let key = custody(&sb, &["key", "show", "--key", "officer.key", "--json"])
        .expect(0)
        .json();
    assert_signer(
        &key,
        &[
            "role",
            "organisation",
            "jurisdiction",
            "fingerprint",
            "public_key_pem",
        ],
    );

    let hashed = custody(&sb, &["hash", "disk.img", "--json"])
        .expect(0)
        .json();
    assert_fields(&hashed[0], &["path", "size", "sha256", "blake3"]);

    let cases = custody(&sb, &["case", "list", "--json"]).expect(0).json();
    assert_fields(
        &cases[0],
        &[
            "case",
            "title",
            "legal_basis",
            "opened_seq",
            "first_seq",
            "items",
        ],
    );
    let actors = custody(&sb, &["actor", "list", "--json"]).expect(0).json();
    assert_eq!(actors[0]["key"], key["key"]);
    assert_fields(
        &actors[0],
        &[
            "actor",
            "key",
            "key_id",
            "name",
            "role",
            "organisation",
            "jurisdiction",
            "full_name",
            "enrolled_seq",
            "status",
            "status_seq",
            "replaced_by",
        ],
    );

    std::fs::write(sb.path("memo.txt"), b"a memo").unwrap();
    let acquired = custody(
        &sb,
        &[
            "acquire",
            "memo.txt",
            "--case",
            "C-1",
            "--key",
            "officer.key",
            "--json",
        ],
    )
    .expect(0)
    .json();
    assert_fields(&acquired[0], &["seq", "item", "evidence"]);
    let event = custody(
        &sb,
        &["event", "C-1-1", "stored", "--key", "officer.key", "--json"],
    )
    .expect(0)
    .json();
    assert_fields(
        &event,
        &["seq", "kind", "item", "result", "expected", "found"],
    );
    let log = custody(&sb, &["log", "--json"]).expect(0).json();
    assert_fields(
        &log[0],
        &[
            "seq",
            "actor_name",
            "actor_full_name",
            "event",
            "signature",
            "cosignature",
        ],
    );

    let ledger = custody(&sb, &["ledger", "verify", "--json"])
        .expect(0)
        .json();
    assert_fields(
        &ledger,
        &[
            "ledger",
            "verdict",
            "origin",
            "size",
            "outside_checkpoints_given",
            "outside_checkpoints_stored",
            "signer_state",
            "findings",
        ],
    );
    assert_eq!(ledger["verdict"], "verified");

    // The court's side: an inclusion proof, checked offline.
    let proof = custody(&sb, &["prove", "inclusion", "2", "--json"])
        .expect(0)
        .stdout;
    std::fs::write(sb.path("proof.json"), proof).unwrap();
    let note = custody(&sb, &["checkpoint"]).expect(0).stdout;
    std::fs::write(sb.path("head.cp"), note).unwrap();
    let entry = custody(&sb, &["ledger", "export-entry", "2"])
        .expect(0)
        .stdout;
    std::fs::write(sb.path("entry2.json"), entry).unwrap();
    let log_key = log[0]["event"]["log_key"].as_str().unwrap().to_owned();
    let proved = |entry: &str, code: i32| {
        custody(
            &sb,
            &[
                "verify-proof",
                "proof.json",
                "--checkpoint",
                "head.cp",
                "--log-key",
                &log_key,
                "--entry",
                entry,
                "--json",
            ],
        )
        .expect(code)
        .json()
    };
    let ok = proved("entry2.json", 0);
    assert_fields(&ok, &["verdict", "claim", "findings"]);
    assert_eq!(ok["verdict"], "verified");
    let other = custody(&sb, &["ledger", "export-entry", "1"])
        .expect(0)
        .stdout;
    std::fs::write(sb.path("entry1.json"), other).unwrap();
    let wrong = proved("entry1.json", 1);
    assert_eq!(wrong["verdict"], "failed");
    assert_findings_shape(&wrong);
    assert!(
        wrong["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "entry_seq_mismatch"),
        "{wrong:#}"
    );

    let sealed = seal(&sb, "pkg.zip", &[]);
    assert_fields(
        &sealed,
        &[
            "path",
            "package_id",
            "sha256",
            "size",
            "items",
            "signers",
            "sealed_seq",
            "transferred_seq",
            "encrypted",
        ],
    );
    sealed["items"]
        .as_array()
        .unwrap()
        .iter()
        .for_each(assert_item);
    assert_signer(&sealed["signers"][0], &[]);

    export_officer_key(&sb);
    let verified = custody(
        &sb,
        &["verify", "pkg.zip", "--trust", "officer.pub", "--json"],
    )
    .expect(0)
    .json();
    assert_fields(&verified, PACKAGE_REPORT);
    assert_eq!(verified["verdict"], "verified");
    assert_eq!(verified["package_id"], sealed["package_id"]);
    assert_eq!(verified["items"], sealed["items"]);
    assert_fields(&verified["checkpoint"], &["origin", "size"]);
    assert_signer(
        &verified["signers"][0],
        &["trusted", "valid", "revoked", "active"],
    );
    assert_eq!(verified["signers"][0]["key"], sealed["signers"][0]["key"]);

    let bag_run = custody(&sb, &["verify", "pkg.zip", "--bagit", "--json"]).expect(0);
    // The warnings (signatures outside the tag manifest) are in the document; stderr is
    // kept for a JSON error.
    assert_eq!(bag_run.stderr, "");
    let bag = bag_run.json();
    assert!(!bag["warnings"].as_array().unwrap().is_empty(), "{bag:#}");
    assert_fields(
        &bag,
        &["path", "verdict", "version", "findings", "warnings"],
    );
    assert_eq!(bag["verdict"], "verified");

    let countersigned = {
        std::fs::copy(sb.path("pkg.zip"), sb.path("copy.zip")).unwrap();
        new_key(&sb, "judge@tj-paris.example", "judge.key");
        custody(
            &sb,
            &["countersign", "copy.zip", "--key", "judge.key", "--json"],
        )
        .expect(0)
        .json()
    };
    assert_fields(&countersigned, &["path", "signer", "signature", "sha256"]);
    assert_signer(&countersigned["signer"], &[]);

    // The receiving authority: its own ledger, the package received, the receipt back.
    new_key(&sb, "clerk@sta-berlin.example", "clerk.key");
    let init = custody(
        &sb,
        &[
            "init",
            "--ledger",
            "receiver.db",
            "--key",
            "clerk.key",
            "--origin",
            "ledger.sta-berlin.example/custody",
            "--json",
        ],
    )
    .expect(0)
    .json();
    assert_fields(
        &init,
        &[
            "ledger",
            "origin",
            "log_key_file",
            "log_key_created",
            "signer_state_file",
            "log_verifier_key",
            "first_actor",
            "first_actor_full_name",
            "checkpoint",
        ],
    );
    let received = custody(
        &sb,
        &[
            "receive",
            "pkg.zip",
            "--into",
            "inbox",
            "--trust",
            "officer.pub",
            "--ledger",
            "receiver.db",
            "--key",
            "clerk.key",
            "--receipt",
            "receipt.json",
            "--json",
        ],
    )
    .expect(0)
    .json();
    let mut expected = PACKAGE_REPORT.to_vec();
    expected.extend_from_slice(&["package_digest", "dir", "received_seqs", "receipt"]);
    assert_fields(&received, &expected);
    assert_eq!(received["verdict"], "verified");
    assert_eq!(received["items"], verified["items"]);

    custody(
        &sb,
        &["key", "export", "--key", "clerk.key", "--out", "clerk.pub"],
    )
    .expect(0);
    let acknowledged = custody(
        &sb,
        &[
            "acknowledge",
            "receipt.json",
            "--trust",
            "clerk.pub",
            "--key",
            "officer.key",
            "--json",
        ],
    )
    .expect(0)
    .json();
    assert_fields(
        &acknowledged,
        &[
            "receipt",
            "package_id",
            "package_digest",
            "receiver",
            "signer",
            "sealed_seq",
            "acknowledged_seq",
            "checkpoint_size",
            "recorded",
        ],
    );
    assert_signer(&acknowledged["signer"], &[]);
    assert_eq!(acknowledged["signer"]["name"], "clerk@sta-berlin.example");
}

/// Writes the officer's public key as `officer.pub`, the key a receiver trusts.
fn export_officer_key(sb: &Sandbox) {
    custody(
        sb,
        &[
            "key",
            "export",
            "--key",
            "officer.key",
            "--out",
            "officer.pub",
        ],
    )
    .expect(0);
}

/// The package of `every_command_speaks_the_same_json`, with one byte of `disk.img`
/// flipped inside the archive (its CRC-32 left as sealed).
fn tampered() -> Sandbox {
    let (sb, _) = ledger_with_items();
    seal(&sb, "pkg.zip", &[]);
    export_officer_key(&sb);
    let mut bytes = std::fs::read(sb.path("pkg.zip")).unwrap();
    let content = b"seized disk image bytes";
    let at = bytes
        .windows(content.len())
        .position(|w| w == content)
        .unwrap();
    bytes[at] ^= 0x20;
    std::fs::write(sb.path("tampered.zip"), bytes).unwrap();
    sb
}

#[test]
fn fail_altered_payload_is_named_by_item_in_words_and_json() {
    let sb = tampered();
    let run = custody(&sb, &["verify", "tampered.zip", "--trust", "officer.pub"]).expect(1);
    // The verdict first, then the finding in words; no line of reassurance before them.
    assert_eq!(
        run.stdout.lines().take(2).collect::<Vec<_>>(),
        [
            "NOT VERIFIED: tampered.zip (1 finding)",
            "  `disk.img` of item C-1-1 was altered: its content is not what the sender sealed",
        ],
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("CRC"), "{}", run.stdout);

    let json = custody(
        &sb,
        &["verify", "tampered.zip", "--trust", "officer.pub", "--json"],
    )
    .expect(1)
    .json();
    assert_fields(&json, PACKAGE_REPORT);
    assert_eq!(json["verdict"], "failed");
    assert_findings_shape(&json);
    let finding = &json["findings"][0];
    assert_eq!(finding["item"], "C-1-1");
    assert_eq!(finding["path"], "data/C-1-1/disk.img");
    assert_eq!(finding["change"], "altered");
    assert_eq!(finding["code"], "integrity");
    assert_eq!(finding["detail"]["kind"], "crc32");
    assert!(
        finding["detail_message"]
            .as_str()
            .is_some_and(|d| d.contains("CRC-32")),
        "{finding:#}"
    );

    // `receive` refuses it with the same report.
    let refused = custody(
        &sb,
        &[
            "receive",
            "tampered.zip",
            "--into",
            "inbox",
            "--trust",
            "officer.pub",
            "--key",
            "officer.key",
            "--json",
        ],
    )
    .expect(1)
    .json();
    assert_eq!(refused["findings"], json["findings"]);
    assert_eq!(refused["verdict"], "failed");
}

#[test]
fn fail_errors_with_json_are_one_json_object_on_stderr() {
    let sb = Sandbox::new();
    for (args, code) in [
        (
            &["verify", "absent.zip", "--trust", "x.pub", "--json"][..],
            "not_found",
        ),
        (&["log", "--json"][..], "not_found"),
        (
            &["verify", "--json", "--no-such-flag", "p.zip"][..],
            "usage",
        ),
    ] {
        let run = custody(&sb, args).expect(2);
        assert_eq!(run.stdout, "", "{args:?}");
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {}", run.stderr);
        let error: Value = serde_json::from_str(lines[0]).unwrap();
        assert_fields(&error, &["error"]);
        assert_fields(&error["error"], &["code", "message"]);
        assert_eq!(error["error"]["code"], code, "{args:?}: {error:#}");
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{error:#}"
        );
    }
    // Without --json the same error is a line of text.
    let run = custody(&sb, &["verify", "absent.zip", "--trust", "x.pub"]).expect(2);
    assert!(run.stderr.starts_with("custody: error: "), "{}", run.stderr);
}
