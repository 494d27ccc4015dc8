//! `custody ledger info`, `custody checkpoint --json / --size N`, and actors' full names
//! (recorded beside the key name, shown wherever the actor is, escaped for the terminal).

use crate::harness::Sandbox;
use crate::verify::{custody, new_key};

const FULL_NAME: &str = "Émilie Durand-Noël 杜兰";

/// A ledger whose first actor was enrolled with a full name, plus a second actor enrolled
/// without one, and a case (4 entries, one checkpoint after each).
fn ledger() -> Sandbox {
    let sb = Sandbox::new();
    new_key(sb.dir.path(), "officer", "officer@parquet-paris.example");
    let clerk = new_key(sb.dir.path(), "clerk", "clerk@parquet-paris.example");
    custody(
        &sb,
        &[
            "init",
            "--key",
            "officer.key",
            "--origin",
            "ledger.parquet-paris.example/custody",
            "--full-name",
            FULL_NAME,
        ],
    )
    .expect(0);
    let clerk_key = clerk.verifier_key().to_string();
    custody(
        &sb,
        &[
            "actor",
            "enroll",
            "--key",
            "officer.key",
            "--pubkey",
            &clerk_key,
        ],
    )
    .expect(0);
    custody(
        &sb,
        &[
            "case",
            "open",
            "C-1",
            "--key",
            "officer.key",
            "--title",
            "Fraud",
        ],
    )
    .expect(0);
    sb
}

#[test]
fn ledger_info_names_origin_size_key_and_checkpoint() {
    let sb = ledger();
    let info = custody(&sb, &["ledger", "info", "--json"]).expect(0).json();
    assert_eq!(info["origin"], "ledger.parquet-paris.example/custody");
    assert_eq!(info["size"], 3);
    assert!(info["log_verifier_key"]
        .as_str()
        .unwrap()
        .starts_with("ledger.parquet-paris.example/custody+"));
    let latest = &info["latest_checkpoint"];
    assert_eq!(latest["size"], 3);
    assert_eq!(latest["origin"], "ledger.parquet-paris.example/custody");
    let time = latest["time"].as_str().unwrap();
    assert!(
        time.len() >= 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
        "{time}"
    );
    let note = custody(&sb, &["checkpoint"]).expect(0).stdout;
    assert_eq!(latest["note"], note.as_str());

    let text = custody(&sb, &["ledger", "info"]).expect(0).stdout;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "ledger:            custody.db");
    assert_eq!(
        lines[1],
        "origin:            ledger.parquet-paris.example/custody"
    );
    assert_eq!(lines[2], "size:              3 entries");
    assert_eq!(lines[4], "latest checkpoint: size 3");
    // Text shows every time in one format: UTC to the second.
    assert_eq!(lines[5], format!("checkpoint time:   {}Z", &time[..19]));
}

#[test]
fn checkpoint_json_and_older_sizes() {
    let sb = ledger();
    let latest = custody(&sb, &["checkpoint", "--json"]).expect(0).json();
    assert_eq!(latest["size"], 3);
    assert_eq!(latest["root"].as_str().unwrap().len(), 64);
    let older = custody(&sb, &["checkpoint", "--size", "2"])
        .expect(0)
        .stdout;
    assert!(
        older.starts_with("ledger.parquet-paris.example/custody\n2\n"),
        "{older}"
    );
    // The older note checks out as an outside checkpoint of the ledger.
    std::fs::write(sb.path("cp2"), &older).unwrap();
    custody(&sb, &["ledger", "verify", "--checkpoint", "cp2"]).expect(0);
    let json = custody(&sb, &["checkpoint", "--size", "2", "--json"])
        .expect(0)
        .json();
    assert_eq!(json["note"], older.as_str());
    assert_eq!(json["size"], 2);

    let run = custody(&sb, &["checkpoint", "--size", "9"]).expect(2);
    assert!(
        run.stderr
            .contains("no checkpoint at size 9 is stored (the ledger holds 3 entries"),
        "{}",
        run.stderr
    );
    let run = custody(&sb, &["checkpoint", "--size", "0"]).expect(2);
    assert!(
        run.stderr.contains("no checkpoint at size 0"),
        "{}",
        run.stderr
    );
}

#[test]
fn fail_checkpoint_size_with_a_forged_stored_note() {
    let sb = ledger();
    let conn = rusqlite::Connection::open(sb.path("custody.db")).unwrap();
    let note3: String = conn
        .query_row("SELECT note FROM checkpoints WHERE size = 3", [], |r| {
            r.get(0)
        })
        .unwrap();
    conn.execute("UPDATE checkpoints SET note = ?1 WHERE size = 2", [&note3])
        .unwrap();
    drop(conn);
    let run = custody(&sb, &["checkpoint", "--size", "2"]).expect(2);
    assert!(
        run.stderr
            .contains("the checkpoint stored at size 2 does not verify"),
        "{}",
        run.stderr
    );
}

#[test]
fn full_names_are_recorded_and_shown() {
    let sb = ledger();
    let actors = custody(&sb, &["actor", "list", "--json"]).expect(0).json();
    let officer = actors
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "officer@parquet-paris.example")
        .unwrap();
    assert_eq!(officer["full_name"], FULL_NAME);
    let clerk = actors
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "clerk@parquet-paris.example")
        .unwrap();
    assert_eq!(clerk["full_name"], serde_json::Value::Null);
    let list = custody(&sb, &["actor", "list"]).expect(0).stdout;
    assert!(
        list.lines().next().unwrap().ends_with("FULL NAME"),
        "{list}"
    );
    assert!(
        list.contains(&format!("FR            {FULL_NAME}\n")),
        "{list}"
    );

    let log = custody(&sb, &["log"]).expect(0).stdout;
    assert!(
        log.contains(&format!("{FULL_NAME} (officer@parquet-paris.example)")),
        "{log}"
    );
    // One time format: each recorded time in UTC to the second, in its own column.
    for line in log.lines().skip(1).filter(|l| !l.starts_with("       ")) {
        let recorded = &line[7..27];
        assert!(
            recorded.ends_with('Z') && recorded.as_bytes()[10] == b'T' && &line[27..29] == "  ",
            "{line}"
        );
    }
    let json = custody(&sb, &["log", "--json"]).expect(0).json();
    assert_eq!(json[0]["actor_full_name"], FULL_NAME);
    assert_eq!(json[0]["event"]["actor_info"]["full_name"], FULL_NAME);
    assert_eq!(json[1]["actor_full_name"], FULL_NAME);
    // The entries with a full name verify like any other.
    custody(&sb, &["ledger", "verify"]).expect(0);
    custody(&sb, &["ledger", "reindex"]).expect(0);
    custody(&sb, &["ledger", "verify"]).expect(0);
}

#[test]
fn full_name_is_escaped_for_the_terminal() {
    let sb = Sandbox::new();
    let new = new_key(sb.dir.path(), "officer", "officer@parquet-paris.example");
    custody(
        &sb,
        &[
            "init",
            "--key",
            "officer.key",
            "--origin",
            "ledger.parquet-paris.example/custody",
        ],
    )
    .expect(0);
    let analyst = new_key(sb.dir.path(), "analyst", "analyst@parquet-paris.example");
    let _ = new;
    let key = analyst.verifier_key().to_string();
    let run = custody(
        &sb,
        &[
            "actor",
            "enroll",
            "--key",
            "officer.key",
            "--pubkey",
            &key,
            "--full-name",
            "Ann\u{202e}exe.txt",
        ],
    )
    .expect(0);
    assert!(
        run.stdout
            .starts_with("enrolled Ann\\u{202e}exe.txt (analyst@parquet-paris.example)"),
        "{}",
        run.stdout
    );
    let log = custody(&sb, &["log"]).expect(0).stdout;
    assert!(!log.contains('\u{202e}'), "{log}");
    assert!(log.contains("Ann\\u{202e}exe.txt"), "{log}");
    let json = custody(&sb, &["actor", "list", "--json"]).expect(0).json();
    assert!(json
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["full_name"] == "Ann\u{202e}exe.txt"));
}

#[test]
fn fail_full_name_with_a_line_break_or_too_long() {
    let sb = Sandbox::new();
    new_key(sb.dir.path(), "officer", "officer@parquet-paris.example");
    let init = |full: &str| {
        custody(
            &sb,
            &[
                "init",
                "--key",
                "officer.key",
                "--origin",
                "ledger.parquet-paris.example/custody",
                "--full-name",
                full,
            ],
        )
    };
    let run = init("Émilie\nVERIFIED").expect(2);
    assert!(
        run.stderr.contains("invalid --full-name") && run.stderr.contains("line break"),
        "{}",
        run.stderr
    );
    let run = init(&"é".repeat(129)).expect(2);
    assert!(
        run.stderr.contains("longer than 256 bytes"),
        "{}",
        run.stderr
    );
    assert!(!sb.path("custody.db").exists());
    // At the limit: 128 two-byte characters.
    init(&"é".repeat(128)).expect(0);
}

#[test]
fn signer_full_name_is_shown_by_verify() {
    let sb = ledger();
    std::fs::write(sb.path("disk.img"), b"seized disk image bytes").unwrap();
    custody(
        &sb,
        &[
            "acquire",
            "disk.img",
            "--case",
            "C-1",
            "--key",
            "officer.key",
        ],
    )
    .expect(0);
    // The holder is shown by full name beside the key name.
    let shown = custody(&sb, &["item", "show", "C-1-1"]).expect(0);
    assert!(
        shown.stdout.contains(&format!("{FULL_NAME} [officer@")),
        "{}",
        shown.stdout
    );
    let json = custody(&sb, &["item", "show", "C-1-1", "--json"])
        .expect(0)
        .json();
    assert_eq!(json["holder"]["full_name"], FULL_NAME, "{json:#}");
    let sealed = custody(
        &sb,
        &[
            "seal",
            "--key",
            "officer.key",
            "--case",
            "C-1",
            "--to",
            "Staatsanwaltschaft Berlin",
            "--out",
            "pkg.zip",
            "C-1-1",
        ],
    )
    .expect(0);
    let line = sealed
        .stdout
        .lines()
        .find(|l| l.starts_with("  signers: "))
        .unwrap();
    assert!(
        line.starts_with("  signers: officer@parquet-paris.example+")
            && line.ends_with(&format!(" ({FULL_NAME})")),
        "{line}"
    );
    let run = custody(&sb, &["verify", "pkg.zip", "--trust", "officer.pub"]).expect(0);
    let signer_line = run
        .stdout
        .lines()
        .map(str::trim_start)
        .find(|l| l.starts_with("signer "))
        .unwrap();
    assert!(
        signer_line.starts_with("signer officer@parquet-paris.example+")
            && signer_line.ends_with(&format!(" ({FULL_NAME}): valid, trusted")),
        "{signer_line}"
    );
    let json = custody(
        &sb,
        &["verify", "pkg.zip", "--trust", "officer.pub", "--json"],
    )
    .expect(0)
    .json();
    assert_eq!(json["signers"][0]["full_name"], FULL_NAME);
}

#[test]
fn quiet_keeps_what_a_command_was_asked_to_produce() {
    let sb = ledger();
    for args in [
        &["checkpoint"][..],
        &["checkpoint", "--size", "2"],
        &["log"],
        &["actor", "list"],
        &["case", "list"],
        &["ledger", "info"],
        &["hash", "officer.pub"],
    ] {
        let normal = custody(&sb, args).expect(0);
        let mut quiet_args = vec!["-q"];
        quiet_args.extend_from_slice(args);
        let quiet = custody(&sb, &quiet_args).expect(0);
        assert!(!normal.stdout.is_empty(), "{args:?}");
        assert_eq!(quiet.stdout, normal.stdout, "{args:?}");
    }
    // What a command says about its work is silenced; the verdict of a verification is not.
    let run = custody(
        &sb,
        &[
            "-q",
            "case",
            "open",
            "C-2",
            "--key",
            "officer.key",
            "--title",
            "T",
        ],
    )
    .expect(0);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
    let run = custody(&sb, &["-q", "ledger", "verify"]).expect(0);
    assert!(
        run.stdout.starts_with("verified: custody.db (4 entries"),
        "{}",
        run.stdout
    );
}
