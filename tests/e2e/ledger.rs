//! The ledger commands end to end: init, actors, cases, acquisition, events and their rules,
//! the timeline, checkpoints, proofs checked offline, and ledger verification catching raw
//! SQL tampering.

use std::path::Path;

use custody_core::keys::{ActorInfo, Identity};

use crate::harness::{Run, Sandbox};

const ORIGIN: &str = "ledger.pj-lyon.example/custody";

/// Runs `custody ARGS...` in the sandbox with no log key from the environment either.
pub(crate) fn custody(sb: &Sandbox, args: &[&str]) -> Run {
    let out = sb
        .cmd(args)
        .env_remove("CUSTODY_LOG_KEY")
        .output()
        .expect("spawn custody");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `custody ARGS...` and writes its raw stdout to `file` in the sandbox.
fn custody_to_file(sb: &Sandbox, args: &[&str], file: &str) {
    let out = sb
        .cmd(args)
        .env_remove("CUSTODY_LOG_KEY")
        .output()
        .expect("spawn custody");
    assert_eq!(
        out.status.code(),
        Some(0),
        "custody {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(sb.path(file), out.stdout).expect("write output file");
}

/// Creates a private key file (mode 0600) and returns its verifier key (`name+keyid+base64`).
/// Keys are made with the library rather than `custody key new` so that these tests
/// exercise the ledger commands alone.
pub(crate) fn new_key(sb: &Sandbox, name: &str, file: &str) -> String {
    let info = ActorInfo {
        name: name.to_owned(),
        role: Some("investigator".to_owned()),
        organisation: Some("PJ Lyon".to_owned()),
        jurisdiction: Some("FR".to_owned()),
        full_name: None,
    };
    let identity = Identity::generate(info).expect("generate key");
    identity.save(&sb.path(file)).expect("save key");
    identity.verifier_key().to_string()
}

/// A sandbox with alice's key and a ledger she initialised.
pub(crate) fn ledger_with_alice() -> Sandbox {
    let sb = Sandbox::new();
    new_key(&sb, "alice@pj-lyon.example", "alice.key");
    custody(&sb, &["init", "--key", "alice.key", "--origin", ORIGIN]).expect(0);
    sb
}

/// Adds bob (enrolled by alice), case C-1, and item C-1-1 acquired from `disk.img`.
pub(crate) fn with_bob_case_and_item(sb: &Sandbox) {
    let bob = new_key(sb, "bob@pj-lyon.example", "bob.key");
    custody(
        sb,
        &[
            "actor",
            "enroll",
            "--key",
            "alice.key",
            "--pubkey",
            &bob,
            "--role",
            "evidence officer",
            "--org",
            "PJ Lyon",
            "--jurisdiction",
            "FR",
        ],
    )
    .expect(0);
    custody(
        sb,
        &[
            "case",
            "open",
            "C-1",
            "--key",
            "alice.key",
            "--title",
            "Fraud inquiry",
        ],
    )
    .expect(0);
    std::fs::write(sb.path("disk.img"), b"seized disk image bytes").unwrap();
    custody(
        sb,
        &[
            "acquire",
            "disk.img",
            "--case",
            "C-1",
            "--key",
            "alice.key",
            "--location",
            "Lyon",
        ],
    )
    .expect(0);
}

fn kinds(log: &serde_json::Value) -> Vec<String> {
    log.as_array()
        .expect("log --json is an array")
        .iter()
        .map(|e| e["event"]["kind"].as_str().expect("kind").to_owned())
        .collect()
}

#[test]
fn init_creates_the_ledger_and_a_private_log_key_and_refuses_to_overwrite() {
    let sb = Sandbox::new();
    new_key(&sb, "alice@pj-lyon.example", "alice.key");
    let run = custody(
        &sb,
        &["init", "--key", "alice.key", "--origin", ORIGIN, "--json"],
    )
    .expect(0);
    let json = run.json();
    assert_eq!(json["origin"], ORIGIN);
    assert_eq!(json["log_key_created"], true);
    let verifier = json["log_verifier_key"].as_str().unwrap();
    assert!(verifier.starts_with(&format!("{ORIGIN}+")), "{verifier}");
    assert!(json["checkpoint"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{ORIGIN}\n1\n")));
    assert!(sb.path("custody.db").is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let log_key_file = json["log_key_file"].as_str().unwrap();
        assert!(
            !log_key_file.starts_with(sb.path("custody.db").to_str().unwrap()),
            "the log key must not sit beside the ledger: {log_key_file}"
        );
        let mode = std::fs::metadata(log_key_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "log key must not be readable by others (mode {mode:o})"
        );
    }

    let again = custody(&sb, &["init", "--key", "alice.key", "--origin", ORIGIN]).expect(2);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);

    let list = custody(&sb, &["actor", "list", "--json"]).expect(0).json();
    assert_eq!(list[0]["name"], "alice@pj-lyon.example");
    assert_eq!(list[0]["status"], "active");
}

#[test]
fn commands_without_a_ledger_say_where_they_looked() {
    let sb = Sandbox::new();
    let run = custody(&sb, &["log", "--ledger", "absent.db"]).expect(2);
    assert!(run.stderr.contains("absent.db"), "{}", run.stderr);
    assert!(run.stderr.contains("custody init"), "{}", run.stderr);
}

#[test]
fn custody_flow_records_events_and_enforces_the_check_out_rules() {
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    std::fs::create_dir_all(sb.path("phone/DCIM")).unwrap();
    std::fs::write(sb.path("phone/DCIM/img1.jpg"), b"jpeg one").unwrap();
    std::fs::write(sb.path("phone/notes.txt"), b"notes").unwrap();
    let acquired = custody(
        &sb,
        &[
            "acquire",
            "phone",
            "--case",
            "C-1",
            "--key",
            "alice.key",
            "--json",
        ],
    )
    .expect(0)
    .json();
    assert_eq!(
        acquired[0]["item"], "C-1-2",
        "item ids number on within the case"
    );
    let files = acquired[0]["evidence"]["files"].as_array().unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["DCIM/img1.jpg", "notes.txt"]);
    assert_eq!(acquired[0]["evidence"]["size"], 13);

    // Check out to bob; a second check-out is refused until the item is checked in.
    custody(
        &sb,
        &[
            "event",
            "C-1-1",
            "checked-out",
            "--key",
            "alice.key",
            "--to",
            "bob@pj-lyon.example",
            "--purpose",
            "imaging",
        ],
    )
    .expect(0);
    let twice = custody(
        &sb,
        &["event", "C-1-1", "checked-out", "--key", "alice.key"],
    )
    .expect(2);
    assert!(
        twice.stderr.contains("already checked out"),
        "{}",
        twice.stderr
    );
    assert!(
        twice.stderr.contains("custody event C-1-1 checked-in"),
        "{}",
        twice.stderr
    );
    assert!(
        twice.stderr.contains("nothing was recorded"),
        "{}",
        twice.stderr
    );
    custody(
        &sb,
        &[
            "event",
            "C-1-1",
            "checked-in",
            "--key",
            "bob.key",
            "--place",
            "evidence room 2",
        ],
    )
    .expect(0);
    let in_again = custody(&sb, &["event", "C-1-1", "checked-in", "--key", "bob.key"]).expect(2);
    assert!(in_again.stderr.contains("C-1-1"), "{}", in_again.stderr);

    // Unknown items and back-dated events are refused.
    let unknown = custody(&sb, &["event", "C-9-9", "examined", "--key", "bob.key"]).expect(2);
    assert!(unknown.stderr.contains("C-9-9"), "{}", unknown.stderr);
    let backdated = custody(
        &sb,
        &[
            "event",
            "C-1-1",
            "examined",
            "--key",
            "bob.key",
            "--claimed-time",
            "2000-01-01T00:00:00+01:00",
        ],
    )
    .expect(2);
    assert!(
        backdated.stderr.contains("before item"),
        "{}",
        backdated.stderr
    );

    // Hash verification: the original passes, an altered copy fails (recorded, exit 1).
    let pass = custody(
        &sb,
        &[
            "event",
            "C-1-1",
            "hash-verified",
            "--key",
            "bob.key",
            "--file",
            "disk.img",
        ],
    )
    .expect(0);
    assert!(pass.stdout.contains("result   pass"), "{}", pass.stdout);
    std::fs::write(sb.path("altered.img"), b"seized disk image bytez").unwrap();
    let fail = custody(
        &sb,
        &[
            "event",
            "C-1-1",
            "hash-verified",
            "--key",
            "bob.key",
            "--file",
            "altered.img",
        ],
    )
    .expect(1);
    assert!(fail.stdout.contains("FAIL"), "{}", fail.stdout);
    assert!(
        fail.stderr.contains("C-1-1 failed its hash-verified check"),
        "{}",
        fail.stderr
    );
    custody(
        &sb,
        &[
            "event",
            "C-1-2",
            "hash-verified",
            "--key",
            "bob.key",
            "--file",
            "phone",
        ],
    )
    .expect(0);

    // The timeline, as text and JSON.
    let log = custody(&sb, &["log", "C-1-1"]).expect(0);
    for needle in [
        "acquired",
        "checked-out",
        "checked-in",
        "hash-verified",
        "bob@pj-lyon.example",
        "to: bob@pj-lyon.example",
        "place: evidence room 2",
        "result: FAIL",
    ] {
        assert!(
            log.stdout.contains(needle),
            "log lacks {needle:?}:\n{}",
            log.stdout
        );
    }
    let json = custody(&sb, &["log", "C-1-1", "--json"]).expect(0).json();
    assert_eq!(
        kinds(&json),
        [
            "acquired",
            "checked-out",
            "checked-in",
            "hash-verified",
            "hash-verified"
        ]
    );
    assert_eq!(json[1]["actor_name"], "alice@pj-lyon.example");
    assert_eq!(json[3]["event"]["result"], "pass");
    assert_eq!(json[4]["event"]["result"], "fail");
    let whole = custody(&sb, &["log", "--json"]).expect(0).json();
    assert_eq!(
        kinds(&whole)[..3],
        ["ledger-initialised", "actor-enrolled", "case-opened"]
    );
    let seqs: Vec<u64> = whole
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());

    let cases = custody(&sb, &["case", "list", "--json"]).expect(0).json();
    assert_eq!(cases[0]["case"], "C-1");
    assert_eq!(cases[0]["items"], 2);
}

#[test]
fn acquisition_refuses_links_and_an_item_id_for_several_paths() {
    let sb = ledger_with_alice();
    custody(
        &sb,
        &["case", "open", "C-2", "--title", "t", "--key", "alice.key"],
    )
    .expect(0);
    std::fs::write(sb.path("a.bin"), b"a").unwrap();
    std::fs::write(sb.path("b.bin"), b"b").unwrap();
    let two = custody(
        &sb,
        &[
            "acquire",
            "a.bin",
            "b.bin",
            "--case",
            "C-2",
            "--item",
            "X",
            "--key",
            "alice.key",
        ],
    )
    .expect(2);
    assert!(two.stderr.contains("--item"), "{}", two.stderr);
    #[cfg(unix)]
    {
        std::fs::create_dir(sb.path("dir")).unwrap();
        std::os::unix::fs::symlink(sb.path("a.bin"), sb.path("dir/link")).unwrap();
        let link = custody(
            &sb,
            &["acquire", "dir", "--case", "C-2", "--key", "alice.key"],
        )
        .expect(2);
        assert!(link.stderr.contains("symbolic link"), "{}", link.stderr);
        assert!(link.stderr.contains("link"), "{}", link.stderr);
    }
    // Nothing was recorded by the refusals; both files go in as one batch.
    let ok = custody(
        &sb,
        &[
            "acquire",
            "a.bin",
            "b.bin",
            "--case",
            "C-2",
            "--key",
            "alice.key",
            "--json",
        ],
    )
    .expect(0)
    .json();
    assert_eq!(ok[0]["item"], "C-2-1");
    assert_eq!(ok[1]["item"], "C-2-2");
    // Seq 1 opened the case.
    assert_eq!(ok[0]["seq"], 2);
}

#[test]
fn rotated_and_revoked_keys_can_no_longer_sign() {
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    new_key(&sb, "alice@pj-lyon.example", "alice2.key");
    custody(
        &sb,
        &[
            "actor",
            "rotate",
            "--key",
            "alice.key",
            "--new-key",
            "alice2.key",
        ],
    )
    .expect(0);
    let old = custody(&sb, &["event", "C-1-1", "examined", "--key", "alice.key"]).expect(2);
    assert!(
        old.stderr.contains("replaced by another key"),
        "{}",
        old.stderr
    );
    custody(&sb, &["event", "C-1-1", "examined", "--key", "alice2.key"]).expect(0);

    custody(
        &sb,
        &[
            "actor",
            "revoke",
            "bob@pj-lyon.example",
            "--key",
            "alice2.key",
            "--reason",
            "left the unit",
        ],
    )
    .expect(0);
    let revoked = custody(
        &sb,
        &["event", "C-1-1", "note", "--key", "bob.key", "--note", "x"],
    )
    .expect(2);
    assert!(revoked.stderr.contains("revoked"), "{}", revoked.stderr);

    let actors = custody(&sb, &["actor", "list", "--json"]).expect(0).json();
    let status = |name: &str| -> Vec<String> {
        actors
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["name"] == name)
            .map(|a| a["status"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut alice = status("alice@pj-lyon.example");
    alice.sort();
    assert_eq!(alice, ["active", "rotated"]);
    assert_eq!(status("bob@pj-lyon.example"), ["revoked"]);
}

/// The log verifier key, as `custody init --json` would have printed it.
fn log_verifier_key(sb: &Sandbox) -> String {
    let note = custody(sb, &["checkpoint"]).expect(0).stdout;
    assert!(note.starts_with(&format!("{ORIGIN}\n")), "{note}");
    // The note's signature line names the key; the full verifier key is in the first entry.
    let log = custody(sb, &["log", "--json"]).expect(0).json();
    log[0]["event"]["log_key"]
        .as_str()
        .expect("log_key in ledger-initialised")
        .to_owned()
}

#[test]
fn proofs_verify_offline_and_a_tampered_proof_fails() {
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    custody(&sb, &["event", "C-1-1", "stored", "--key", "bob.key"]).expect(0);
    let key = log_verifier_key(&sb);
    custody_to_file(&sb, &["checkpoint"], "head.cp");
    custody_to_file(&sb, &["prove", "inclusion", "3", "--json"], "proof.json");
    custody_to_file(&sb, &["ledger", "export-entry", "3"], "entry3.json");
    custody_to_file(&sb, &["ledger", "export-entry", "2"], "entry2.json");

    let ok = custody(
        &sb,
        &[
            "verify-proof",
            "proof.json",
            "--checkpoint",
            "head.cp",
            "--log-key",
            &key,
            "--entry",
            "entry3.json",
        ],
    )
    .expect(0);
    assert!(
        ok.stdout.starts_with("verified: entry 3 is in"),
        "{}",
        ok.stdout
    );

    // Another entry is not at position 3.
    let wrong = custody(
        &sb,
        &[
            "verify-proof",
            "proof.json",
            "--checkpoint",
            "head.cp",
            "--log-key",
            &key,
            "--entry",
            "entry2.json",
        ],
    )
    .expect(1);
    assert!(
        wrong.stdout.contains("seq 2, but the proof is for seq 3"),
        "{}",
        wrong.stdout
    );

    // One flipped hex digit in the audit path breaks it.
    let mut proof: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sb.path("proof.json")).unwrap()).unwrap();
    let first = proof["hashes"][0].as_str().unwrap().to_owned();
    let flipped = format!(
        "{}{}",
        if first.starts_with('0') { '1' } else { '0' },
        &first[1..]
    );
    proof["hashes"][0] = serde_json::Value::String(flipped);
    std::fs::write(sb.path("bad.json"), proof.to_string()).unwrap();
    let bad = custody(
        &sb,
        &[
            "verify-proof",
            "bad.json",
            "--checkpoint",
            "head.cp",
            "--log-key",
            &key,
            "--entry",
            "entry3.json",
        ],
    )
    .expect(1);
    assert!(bad.stdout.contains("FAILED"), "{}", bad.stdout);
    assert!(
        bad.stdout.contains("not in the tree of size"),
        "{}",
        bad.stdout
    );

    // A checkpoint edited after signing is refused.
    let note = std::fs::read_to_string(sb.path("head.cp")).unwrap();
    let size_line = note.lines().nth(1).unwrap();
    std::fs::write(
        sb.path("forged.cp"),
        note.replacen(&format!("\n{size_line}\n"), "\n99\n", 1),
    )
    .unwrap();
    let forged = custody(
        &sb,
        &[
            "verify-proof",
            "proof.json",
            "--checkpoint",
            "forged.cp",
            "--log-key",
            &key,
            "--entry",
            "entry3.json",
        ],
    )
    .expect(1);
    assert!(forged.stdout.contains("forged.cp"), "{}", forged.stdout);

    // Consistency: the head after one more event extends the saved head.
    custody(
        &sb,
        &[
            "event",
            "C-1-1",
            "note",
            "--key",
            "bob.key",
            "--note",
            "label checked",
        ],
    )
    .expect(0);
    custody_to_file(&sb, &["checkpoint"], "later.cp");
    let old_size: u64 = size_line.parse().unwrap();
    let new_size = (old_size + 1).to_string();
    custody_to_file(
        &sb,
        &["prove", "consistency", size_line, &new_size, "--json"],
        "cons.json",
    );
    custody(
        &sb,
        &[
            "verify-proof",
            "cons.json",
            "--checkpoint",
            "head.cp",
            "--checkpoint",
            "later.cp",
            "--log-key",
            &key,
        ],
    )
    .expect(0);
    let missing = custody(
        &sb,
        &[
            "verify-proof",
            "cons.json",
            "--checkpoint",
            "later.cp",
            "--log-key",
            &key,
        ],
    )
    .expect(1);
    assert!(
        missing
            .stdout
            .contains(&format!("no valid checkpoint of tree size {old_size}")),
        "{}",
        missing.stdout
    );

    // Neither --entry nor --leaf-hash: a usage error, not a verdict.
    let usage = custody(
        &sb,
        &[
            "verify-proof",
            "proof.json",
            "--checkpoint",
            "head.cp",
            "--log-key",
            &key,
        ],
    )
    .expect(2);
    assert!(usage.stderr.contains("--entry"), "{}", usage.stderr);
}

/// Edits entry `seq` with raw SQL, as someone holding the file (not the keys) could.
pub(crate) fn tamper_entry(db: &Path, seq: u64, from: &str, to: &str) {
    let conn = rusqlite::Connection::open(db).expect("open ledger with SQLite");
    conn.execute_batch("DROP TRIGGER IF EXISTS entries_no_update;")
        .unwrap();
    let entry: Vec<u8> = conn
        .query_row("SELECT entry FROM entries WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .unwrap();
    let text = String::from_utf8(entry).unwrap();
    assert!(text.contains(from), "entry {seq} lacks {from:?}: {text}");
    let changed = text.replacen(from, to, 1);
    conn.execute(
        "UPDATE entries SET entry = ?1 WHERE seq = ?2",
        rusqlite::params![changed.as_bytes(), seq],
    )
    .unwrap();
}

#[test]
fn ledger_verify_passes_then_names_the_entry_edited_with_raw_sql() {
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    custody(
        &sb,
        &[
            "event",
            "C-1-1",
            "examined",
            "--key",
            "bob.key",
            "--tool",
            "X-Ways",
            "--tool-version",
            "21.0",
        ],
    )
    .expect(0);
    custody(
        &sb,
        &[
            "event", "C-1-1", "stored", "--key", "bob.key", "--place", "locker 7",
        ],
    )
    .expect(0);
    let ok = custody(&sb, &["ledger", "verify"]).expect(0);
    assert!(ok.stdout.starts_with("verified:"), "{}", ok.stdout);
    custody_to_file(&sb, &["checkpoint"], "audit.cp");
    custody(&sb, &["ledger", "verify", "--checkpoint", "audit.cp"]).expect(0);

    let log = custody(&sb, &["log", "--json"]).expect(0).json();
    let seq = log
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"]["kind"] == "stored")
        .unwrap()["seq"]
        .as_u64()
        .unwrap();
    tamper_entry(&sb.path("custody.db"), seq, "locker 7", "locker 9");

    let failed = custody(&sb, &["ledger", "verify", "--json"])
        .expect(1)
        .json();
    assert_eq!(failed["verdict"], "failed");
    let findings: Vec<String> = failed["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert!(f["code"].is_string(), "{f}");
            f["message"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(
        findings
            .iter()
            .any(|f| f.starts_with(&format!("entry {seq}:"))),
        "no finding names seq {seq}: {findings:?}"
    );
    let text = custody(&sb, &["ledger", "verify", "--checkpoint", "audit.cp"]).expect(1);
    assert!(text.stdout.starts_with("FAILED:"), "{}", text.stdout);
}

#[test]
fn reindex_rebuilds_the_same_index() {
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    custody(&sb, &["event", "C-1-1", "checked-out", "--key", "bob.key"]).expect(0);
    let before = (
        custody(&sb, &["actor", "list", "--json"]).expect(0).stdout,
        custody(&sb, &["case", "list", "--json"]).expect(0).stdout,
    );
    let run = custody(&sb, &["ledger", "reindex"]).expect(0);
    assert!(run.stdout.contains("entries replayed"), "{}", run.stdout);
    let after = (
        custody(&sb, &["actor", "list", "--json"]).expect(0).stdout,
        custody(&sb, &["case", "list", "--json"]).expect(0).stdout,
    );
    assert_eq!(before, after);
    // The rebuilt index still knows the item is out.
    let twice = custody(&sb, &["event", "C-1-1", "checked-out", "--key", "bob.key"]).expect(2);
    assert!(
        twice.stderr.contains("already checked out"),
        "{}",
        twice.stderr
    );
}

#[test]
fn an_outside_checkpoint_catches_entries_cut_from_the_end() {
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    custody(
        &sb,
        &[
            "event",
            "C-1-1",
            "destroyed",
            "--key",
            "bob.key",
            "--method",
            "wiped",
            "--authority",
            "order 7",
        ],
    )
    .expect(0);
    custody_to_file(&sb, &["checkpoint"], "audit.cp");
    let size = custody(&sb, &["log", "--json"])
        .expect(0)
        .json()
        .as_array()
        .unwrap()
        .len() as u64;

    // Someone with the file removes the last entry with everything that mentions it, so that
    // the ledger is a shorter, internally consistent log.
    let last = size - 1;
    crate::harness::truncate_ledger(&sb.path("custody.db"), last);
    custody(&sb, &["ledger", "reindex"]).expect(0);

    // Every checkpoint left in the file agrees with the shortened ledger; the log signer's
    // state (found at its default place) and the checkpoint held outside show what is gone.
    let by_signer = custody(&sb, &["ledger", "verify"]).expect(1);
    assert!(
        by_signer.stdout.contains(&format!(
            "log signer state {}",
            sb.path("log-keys").display()
        )),
        "{}",
        by_signer.stdout
    );
    assert!(
        by_signer
            .stdout
            .contains(&format!("from seq {last} are missing")),
        "{}",
        by_signer.stdout
    );
    // Nothing more is signed on top of the cut ledger.
    let refused = custody(&sb, &["event", "C-1-1", "note", "--key", "bob.key"]).expect(2);
    assert!(
        refused.stderr.contains(&format!(
            "the log key last signed a checkpoint of {size} entries but the ledger holds {last}"
        )),
        "{}",
        refused.stderr
    );
    let audited = custody(&sb, &["ledger", "verify", "--checkpoint", "audit.cp"]).expect(1);
    assert!(
        audited.stdout.contains("outside checkpoint"),
        "{}",
        audited.stdout
    );
    assert!(
        audited
            .stdout
            .contains(&format!("from seq {last} are missing")),
        "{}",
        audited.stdout
    );
}

#[test]
fn fail_append_without_the_log_key_says_where_it_looked() {
    let sb = ledger_with_alice();
    std::fs::create_dir(sb.path("elsewhere")).unwrap();
    let run = sb
        .cmd(&["case", "open", "C-9", "--title", "T", "--key", "alice.key"])
        .env(crate::harness::LOG_KEY_DIR_ENV, sb.path("elsewhere"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(&format!(
            "no log key for ledger custody.db (origin {ORIGIN}) at {}",
            sb.path("elsewhere").display()
        )) && stderr.contains("not beside the ledger"),
        "{stderr}"
    );
    assert!(!sb.path("custody.db.log.key").exists());
}

#[test]
fn ledger_verify_checks_the_signer_state_it_is_given() {
    let sb = ledger_with_alice();
    let state = std::fs::read_dir(sb.path("log-keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".key.state"))
        .expect("the signer state beside the log key");
    let state = state.to_str().unwrap();
    let ok = custody(&sb, &["ledger", "verify", "--signer-state", state]).expect(0);
    assert!(
        ok.stdout
            .contains(&format!("and the log signer state {state})")),
        "{}",
        ok.stdout
    );
    let missing = custody(
        &sb,
        &["ledger", "verify", "--signer-state", "nowhere.state"],
    )
    .expect(1);
    assert!(
        missing.stdout.contains(
            "log signer state nowhere.state: missing: the log key has no record of what it signed"
        ),
        "{}",
        missing.stdout
    );
}

#[test]
fn fail_checkpoint_file_past_the_note_limit_or_not_a_file_is_refused() {
    let sb = ledger_with_alice();
    custody_to_file(&sb, &["checkpoint"], "head.cp");
    let limit = custody_store::ledger::MAX_CHECKPOINT_NOTE_BYTES as usize;
    // At the limit the file is read (and is a valid note padded with a line no log signed).
    let mut at_limit = std::fs::read_to_string(sb.path("head.cp")).unwrap();
    at_limit.push_str(&"x".repeat(limit - at_limit.len()));
    std::fs::write(sb.path("at.cp"), &at_limit).unwrap();
    let read = custody(&sb, &["ledger", "verify", "--checkpoint", "at.cp"]).expect(1);
    assert!(
        read.stdout.contains("supplied checkpoint #1"),
        "{}",
        read.stdout
    );
    std::fs::write(sb.path("past.cp"), "x".repeat(limit + 1)).unwrap();
    let past = custody(&sb, &["ledger", "verify", "--checkpoint", "past.cp"]).expect(2);
    assert!(
        past.stderr.contains(&format!("longer than {limit} bytes")),
        "{}",
        past.stderr
    );
    let dir = custody(&sb, &["ledger", "verify", "--checkpoint", "."]).expect(2);
    assert!(dir.stderr.contains("not a regular file"), "{}", dir.stderr);
}
