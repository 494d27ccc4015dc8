//! Item listing and detail, two-signature hand-overs (one and two workstations), the
//! custody-form flags, and `custody show` on packages, with the real binary.

use crate::ledger::{custody, ledger_with_alice, with_bob_case_and_item};

const NOT_VERIFIED: &str = "NOT VERIFIED: what this package claims, read without checking any hash, signature or proof; run `custody verify` before relying on it";

fn size(sb: &crate::harness::Sandbox) -> usize {
    custody(sb, &["log", "--json"])
        .expect(0)
        .json()
        .as_array()
        .unwrap()
        .len()
}

/// alice checks C-1-1 out to `to` in a two-signature hand-over, with `extra` arguments.
fn check_out(sb: &crate::harness::Sandbox, to: &str, extra: &[&str]) -> crate::harness::Run {
    let mut args = vec![
        "event",
        "C-1-1",
        "checked-out",
        "--key",
        "alice.key",
        "--to-actor",
        to,
    ];
    args.extend_from_slice(extra);
    custody(sb, &args)
}

#[test]
fn hand_over_on_one_workstation_shows_in_the_item_views() {
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    std::fs::write(sb.path("phone.img"), b"phone image").unwrap();
    custody(
        &sb,
        &[
            "acquire",
            "phone.img",
            "--case",
            "C-1",
            "--key",
            "alice.key",
            "--item",
            "C-1-P",
            "--description",
            "Black phone",
            "--item-type",
            "mobile phone",
            "--make",
            "Fairphone",
            "--model",
            "FP4",
            "--serial-number",
            "SN-123",
            "--condition-on-receipt",
            "screen cracked",
            "--seal",
            "FR-0042",
            "--seal",
            "BAG-7781",
            "--storage-conditions",
            "Faraday bag",
            "--carrier",
            "Chronopost",
            "--tracking-number",
            "XY1",
        ],
    )
    .expect(0);
    let out = check_out(
        &sb,
        "bob@pj-lyon.example",
        &["--cosigner-key", "bob.key", "--place", "Lab 3"],
    )
    .expect(0);
    assert!(
        out.stdout
            .starts_with("recorded checked-out for C-1-1 at seq "),
        "{}",
        out.stdout
    );
    custody(&sb, &["ledger", "verify"]).expect(0);
    let list = custody(&sb, &["item", "list", "--case", "C-1"]).expect(0);
    assert_eq!(
        list.stdout,
        "ITEM   CASE  STATE        HOLDER                               PLACE  LAST HASH CHECK\n\
         C-1-1  C-1   checked-out  bob@pj-lyon.example (PJ Lyon, FR)    Lab 3  never\n\
         C-1-P  C-1   acquired     alice@pj-lyon.example (PJ Lyon, FR)  -      never\n"
    );
    let json = custody(&sb, &["item", "list", "--json"]).expect(0).json();
    let items = json["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], "C-1-1");
    assert_eq!(items[0]["state"], "checked-out");
    assert_eq!(items[0]["holder"]["name"], "bob@pj-lyon.example");
    let timeline = items[0]["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 2);
    assert_eq!(timeline[0]["both_signed"], false);
    assert_eq!(timeline[1]["both_signed"], true);
    assert!(timeline[1]["from_time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(timeline[1]["from_offset"], "Z");
    let phone = custody(&sb, &["item", "show", "C-1-P", "--json"])
        .expect(0)
        .json();
    assert_eq!(phone["form"]["device"]["make"], "Fairphone");
    assert_eq!(phone["form"]["device"]["serial_number"], "SN-123");
    assert_eq!(
        phone["form"]["seals"],
        serde_json::json!(["FR-0042", "BAG-7781"])
    );
    assert_eq!(phone["form"]["shipment"]["tracking_number"], "XY1");
    assert_eq!(phone["size"], 11);
    let text = custody(&sb, &["item", "show", "C-1-P"]).expect(0).stdout;
    for line in [
        "item             C-1-P",
        "state            acquired",
        "seals            FR-0042, BAG-7781",
        "serial number    SN-123",
        "condition        screen cracked",
        "holders",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing from:\n{text}"
        );
    }
    let text = custody(&sb, &["item", "show", "C-1-1"]).expect(0).stdout;
    assert!(
        text.lines()
            .any(|l| l.contains("bob@pj-lyon.example (PJ Lyon, FR)")
                && l.ends_with("both (hand-over)")),
        "{text}"
    );
}

#[test]
fn fail_hand_over_with_one_signature_or_the_wrong_cosigner() {
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    let before = size(&sb);
    let one = check_out(&sb, "bob@pj-lyon.example", &[]).expect(2);
    assert!(
        one.stderr.contains("cosignature is missing"),
        "{}",
        one.stderr
    );
    let wrong = check_out(&sb, "bob@pj-lyon.example", &["--cosigner-key", "alice.key"]).expect(2);
    assert!(
        wrong.stderr.contains("is not the receiving actor"),
        "{}",
        wrong.stderr
    );
    let nobody = check_out(&sb, "mallory", &["--cosigner-key", "bob.key"]).expect(2);
    assert!(
        nobody.stderr.contains("not an enrolled actor"),
        "{}",
        nobody.stderr
    );
    assert_eq!(size(&sb), before);
    custody(&sb, &["ledger", "verify"]).expect(0);
}

#[test]
fn hand_over_between_two_workstations() {
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    let before = size(&sb);
    check_out(&sb, "bob@pj-lyon.example", &["--draft", "handover.json"]).expect(0);
    assert_eq!(size(&sb), before, "a draft appends nothing");
    // Not yet cosigned: refused.
    let early = custody(&sb, &["event", "submit", "handover.json"]).expect(2);
    assert!(
        early.stderr.contains("cosignature is missing"),
        "{}",
        early.stderr
    );
    // The releaser cannot cosign for the receiver.
    let own = custody(
        &sb,
        &["event", "cosign", "handover.json", "--key", "alice.key"],
    )
    .expect(2);
    assert!(
        own.stderr.contains("is not the receiving actor"),
        "{}",
        own.stderr
    );
    let cosigned = custody(
        &sb,
        &[
            "event",
            "cosign",
            "handover.json",
            "--key",
            "bob.key",
            "--json",
        ],
    )
    .expect(0)
    .json();
    assert_eq!(cosigned["kind"], "checked-out");
    assert_eq!(cosigned["items"], serde_json::json!(["C-1-1"]));
    let submitted = custody(&sb, &["event", "submit", "handover.json"]).expect(0);
    assert!(
        submitted.stdout.contains("signed by both actors"),
        "{}",
        submitted.stdout
    );
    assert_eq!(size(&sb), before + 1);
    custody(&sb, &["ledger", "verify"]).expect(0);
    let item = custody(&sb, &["item", "show", "C-1-1", "--json"])
        .expect(0)
        .json();
    assert_eq!(item["holder"]["name"], "bob@pj-lyon.example");
    assert_eq!(item["timeline"][1]["both_signed"], true);
    // The same draft twice: its seq is taken.
    let again = custody(&sb, &["event", "submit", "handover.json"]).expect(2);
    assert!(
        again.stderr.contains("prepare it again"),
        "{}",
        again.stderr
    );
    // A draft file that is not one.
    std::fs::write(sb.path("junk.json"), b"{\"event\":1}").unwrap();
    custody(&sb, &["event", "cosign", "junk.json", "--key", "bob.key"]).expect(2);
    custody(&sb, &["event", "submit", "junk.json"]).expect(2);
}

#[test]
fn item_views_escape_ledger_text_for_the_terminal_and_keep_it_raw_in_json() {
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    custody(
        &sb,
        &[
            "event",
            "C-1-1",
            "stored",
            "--key",
            "alice.key",
            "--place",
            "Vault\u{1b}[2J 1",
        ],
    )
    .expect(0);
    let text = custody(&sb, &["item", "list"]).expect(0).stdout;
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(text.contains("Vault\\u{1b}[2J 1"), "{text}");
    let text = custody(&sb, &["item", "show", "C-1-1"]).expect(0).stdout;
    assert!(!text.contains('\u{1b}'), "{text:?}");
    let json = custody(&sb, &["item", "show", "C-1-1", "--json"])
        .expect(0)
        .json();
    assert_eq!(json["place"], "Vault\u{1b}[2J 1");
    let missing = custody(&sb, &["item", "show", "C-9-9"]).expect(2);
    assert!(
        missing.stderr.contains("no item C-9-9"),
        "{}",
        missing.stderr
    );
    let empty = custody(&sb, &["item", "list", "--case", "C-7"]).expect(0);
    assert_eq!(empty.stdout, "no items in case C-7\n");
}

#[test]
fn fail_form_field_past_its_limit_is_refused() {
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    let long = "x".repeat(4097);
    let run = custody(
        &sb,
        &[
            "event",
            "C-1-1",
            "examined",
            "--key",
            "alice.key",
            "--serial-number",
            &long,
        ],
    )
    .expect(2);
    assert!(
        run.stderr.contains("device.serial_number"),
        "{}",
        run.stderr
    );
    let at = "x".repeat(4096);
    custody(
        &sb,
        &[
            "event",
            "C-1-1",
            "examined",
            "--key",
            "alice.key",
            "--serial-number",
            &at,
        ],
    )
    .expect(0);
}

#[test]
fn show_reads_a_package_without_verifying_it() {
    let (sb, _) = crate::seal::ledger_with_items();
    crate::seal::seal(&sb, "p.zip", &[]);
    let run = crate::seal::custody(&sb, &["show", "p.zip"]).expect(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.first(), Some(&NOT_VERIFIED));
    assert_eq!(lines.last(), Some(&NOT_VERIFIED));
    for line in [
        "recipient        Staatsanwaltschaft Berlin",
        "request          MLA-2026-7",
        "use limitations  criminal proceedings only",
        "items (2)",
    ] {
        assert!(
            lines.contains(&line),
            "{line:?} missing from:\n{}",
            run.stdout
        );
    }
    let json = crate::seal::custody(&sb, &["show", "p.zip", "--json"])
        .expect(0)
        .json();
    assert_eq!(json["verified"], false);
    assert_eq!(json["items"][0]["id"], "C-1-1");
    assert_eq!(json["items"][0]["size"], 23);
    assert_eq!(json["items"][1]["files"], 2);
    assert_eq!(json["signers"].as_array().unwrap().len(), 1);
    assert_eq!(json["recipient"]["authority"], "Staatsanwaltschaft Berlin");
    // What it claims is shown even when a payload byte was changed: it verifies nothing.
    let mut bytes = std::fs::read(sb.path("p.zip")).unwrap();
    let at = bytes
        .windows(23)
        .position(|w| w == b"seized disk image bytes")
        .unwrap();
    bytes[at] ^= 1;
    std::fs::write(sb.path("flipped.zip"), &bytes).unwrap();
    crate::seal::custody(&sb, &["show", "flipped.zip"]).expect(0);
    crate::seal::custody(&sb, &["verify", "flipped.zip"]).expect(1);
}

#[test]
fn fail_show_malformed_package_exits_2() {
    let (sb, _) = crate::seal::ledger_with_items();
    crate::seal::seal(&sb, "p.zip", &[]);
    let bytes = std::fs::read(sb.path("p.zip")).unwrap();
    std::fs::write(sb.path("cut.zip"), &bytes[..bytes.len() / 2]).unwrap();
    let cut = crate::seal::custody(&sb, &["show", "cut.zip"]).expect(2);
    assert!(cut.stderr.contains("cut.zip"), "{}", cut.stderr);
    let mut trailing = bytes.clone();
    trailing.extend_from_slice(b"trailing bytes");
    std::fs::write(sb.path("trailing.zip"), &trailing).unwrap();
    crate::seal::custody(&sb, &["show", "trailing.zip"]).expect(2);
    std::fs::write(sb.path("text.zip"), b"not a zip at all").unwrap();
    crate::seal::custody(&sb, &["show", "text.zip"]).expect(2);
    crate::seal::custody(&sb, &["show", "absent.zip"]).expect(2);
}

#[test]
fn sealed_hand_over_verifies_in_the_package_with_both_signatures() {
    let (sb, officer) = crate::seal::ledger_with_items();
    std::fs::write(sb.path("officer.pub"), officer.public_key().to_pem()).unwrap();
    let bob = crate::seal::new_key(&sb, "bob@parquet.example", "bob.key");
    let run = |args: &[&str]| crate::seal::custody(&sb, args);
    run(&[
        "actor",
        "enroll",
        "--key",
        "officer.key",
        "--pubkey",
        &bob.verifier_key().to_string(),
    ])
    .expect(0);
    run(&[
        "event",
        "C-1-1",
        "checked-out",
        "--key",
        "officer.key",
        "--to-actor",
        "bob@parquet.example",
        "--cosigner-key",
        "bob.key",
    ])
    .expect(0);
    run(&["event", "C-1-1", "checked-in", "--key", "bob.key"]).expect(0);
    crate::seal::seal(&sb, "p.zip", &[]);
    // Exit 0: every event signature, the hand-over's cosignature included, verified.
    run(&["verify", "p.zip", "--trust", "officer.pub"]).expect(0);
}

#[test]
fn show_escapes_package_text_for_the_terminal_and_keeps_it_raw_in_json() {
    let (sb, _) = crate::seal::ledger_with_items();
    let evil = "Evil\u{202e} Authority";
    crate::seal::custody(
        &sb,
        &[
            "seal",
            "C-1-1",
            "--case",
            "C-1",
            "--to",
            evil,
            "--out",
            "q.zip",
            "--key",
            "officer.key",
        ],
    )
    .expect(0);
    let text = crate::seal::custody(&sb, &["show", "q.zip"])
        .expect(0)
        .stdout;
    assert!(!text.contains('\u{202e}'), "{text:?}");
    assert!(
        text.lines()
            .any(|l| l == "recipient        Evil\\u{202e} Authority"),
        "{text}"
    );
    let json = crate::seal::custody(&sb, &["show", "q.zip", "--json"])
        .expect(0)
        .json();
    assert_eq!(json["recipient"]["authority"], evil);
}
