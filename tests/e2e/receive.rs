//! `custody receive`: a genuine package is extracted, recorded item by item in the
//! receiver's ledger and answered with a signed receipt; a destination that exists is
//! refused before anything is written. (Refusals of tampered packages: tamper.rs.)

use crate::harness::Sandbox;
use crate::verify::{custody, new_key, sandbox_with, ID, RECIPIENT};

pub(crate) fn receiver(sb: &Sandbox) {
    new_key(sb.dir.path(), "clerk", "clerk@sta-berlin.example");
    custody(
        sb,
        &[
            "init",
            "--ledger",
            "recv.db",
            "--key",
            "clerk.key",
            "--origin",
            "ledger.sta-berlin.example/custody",
        ],
    )
    .expect(0);
}

pub(crate) fn receive(sb: &Sandbox, extra: &[&str]) -> crate::harness::Run {
    let mut args = vec![
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
    ];
    args.extend_from_slice(extra);
    custody(sb, &args)
}

#[test]
fn receive_extracts_records_and_writes_a_receipt() {
    let sb = sandbox_with("pkg.zip");
    receiver(&sb);
    std::fs::create_dir(sb.path("evidence")).unwrap();
    let run = receive(&sb, &["--as", RECIPIENT, "--receipt", "receipt.json"]).expect(0);
    assert!(
        run.stdout.contains("received package PKG-1"),
        "{}",
        run.stdout
    );

    let dir = sb.path("evidence/PKG-1");
    assert_eq!(
        std::fs::read(dir.join("data/C-1-1/disk.img")).unwrap(),
        b"seized disk image bytes"
    );
    assert_eq!(
        std::fs::read(dir.join("data/C-1-2/sub/b.txt")).unwrap(),
        b"beta"
    );
    assert!(dir.join("bagit.txt").is_file());
    // The extracted bag is a valid plain bag.
    custody(&sb, &["verify", "--bagit", "evidence/PKG-1"]).expect(0);
    // Nothing else was left beside it.
    let names: Vec<String> = std::fs::read_dir(sb.path("evidence"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["PKG-1"]);

    let log = custody(&sb, &["log", "--ledger", "recv.db", "--json"])
        .expect(0)
        .json();
    let received: Vec<&serde_json::Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["kind"] == "received")
        .collect();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0]["event"]["items"], serde_json::json!(["C-1-1"]));
    assert_eq!(received[0]["event"]["from"], "Parquet de Paris");
    assert_eq!(received[0]["event"]["evidence"]["size"], 23);
    assert!(received[0]["event"]["checkpoint"]
        .as_str()
        .unwrap()
        .starts_with("ledger.parquet-paris.example/custody\n"));

    let receipt: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sb.path("receipt.json")).unwrap()).unwrap();
    let body = &receipt["receipt"];
    assert_eq!(body["package_id"], ID);
    assert_eq!(body["receiver"]["authority"], RECIPIENT);
    assert_eq!(body["verification"]["verified"], true);
    assert_eq!(body["received_seq"], 1);
    assert_eq!(
        body["package_digest"],
        received[0]["event"]["package_digest"]
    );
    assert!(body["cosignature"].as_str().unwrap().starts_with("— "));
    assert_eq!(receipt["signature"].as_str().unwrap().len(), 128);
}

#[test]
fn receipt_defaults_beside_the_directory() {
    let sb = sandbox_with("pkg.zip");
    receiver(&sb);
    std::fs::create_dir(sb.path("evidence")).unwrap();
    let run = custody(
        &sb,
        &[
            "receive",
            "pkg.zip",
            "--into",
            "evidence/PKG-1/",
            "--trust",
            "officer.pub",
            "--ledger",
            "recv.db",
            "--key",
            "clerk.key",
        ],
    )
    .expect(0);
    assert!(
        sb.path("evidence/PKG-1.receipt.json").is_file(),
        "{}",
        run.stdout
    );
    assert!(!sb.path("evidence/PKG-1/.receipt.json").exists());
}

#[test]
fn fail_receive_into_an_existing_directory_writes_nothing() {
    let sb = sandbox_with("pkg.zip");
    receiver(&sb);
    std::fs::create_dir_all(sb.path("evidence/PKG-1")).unwrap();
    let run = receive(&sb, &["--receipt", "receipt.json"]).expect(2);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    assert!(!sb.path("receipt.json").exists());
    let log = custody(&sb, &["log", "--ledger", "recv.db", "--json"])
        .expect(0)
        .json();
    assert_eq!(log.as_array().unwrap().len(), 1);
}

#[test]
fn fail_receive_of_items_the_ledger_already_holds_writes_nothing() {
    let sb = sandbox_with("pkg.zip");
    receiver(&sb);
    std::fs::create_dir(sb.path("evidence")).unwrap();
    receive(&sb, &["--receipt", "receipt.json"]).expect(0);
    let run = custody(
        &sb,
        &[
            "receive",
            "pkg.zip",
            "--into",
            "evidence/again",
            "--trust",
            "officer.pub",
            "--ledger",
            "recv.db",
            "--key",
            "clerk.key",
            "--receipt",
            "again.json",
        ],
    )
    .expect(2);
    assert!(
        run.stderr
            .contains("item C-1-1 already exists in the receiving ledger"),
        "{}",
        run.stderr
    );
    assert!(!sb.path("evidence/again").exists() && !sb.path("again.json").exists());
    let log = custody(&sb, &["log", "--ledger", "recv.db", "--json"])
        .expect(0)
        .json();
    // Entry 0 and the two `received` entries of the first receipt, nothing more.
    assert_eq!(log.as_array().unwrap().len(), 3);
}

#[test]
fn fail_receive_into_a_missing_parent_directory() {
    let sb = sandbox_with("pkg.zip");
    receiver(&sb);
    let run = receive(&sb, &["--receipt", "receipt.json"]).expect(2);
    assert!(run.stderr.contains("no such directory"), "{}", run.stderr);
    assert!(!sb.path("evidence").exists() && !sb.path("receipt.json").exists());
}

#[test]
fn fail_receive_without_trust_writes_nothing() {
    let sb = sandbox_with("pkg.zip");
    receiver(&sb);
    let run = custody(
        &sb,
        &[
            "receive",
            "pkg.zip",
            "--into",
            "in",
            "--ledger",
            "recv.db",
            "--key",
            "clerk.key",
        ],
    )
    .expect(1);
    assert!(
        run.stdout.contains("no valid signature by a trusted key"),
        "{}",
        run.stdout
    );
    assert!(!sb.path("in").exists() && !sb.path("in.receipt.json").exists());
}

#[test]
fn receipt_is_acknowledged_by_the_sender_and_witnesses_its_ledger() {
    let sb = sandbox_with("pkg.zip");
    receiver(&sb);
    std::fs::create_dir(sb.path("evidence")).unwrap();
    receive(&sb, &["--receipt", "receipt.json"]).expect(0);
    // The sender's side, on a copy of the ledger that sealed the package.
    let base = crate::verify::base();
    for file in ["custody.db", "officer.key"] {
        std::fs::copy(base.join(file), sb.path(file)).unwrap();
    }
    crate::harness::copy_log_keys(base, sb.dir.path());
    let clerk = custody_core::keys::Identity::load(&sb.path("clerk.key")).unwrap();
    std::fs::write(sb.path("clerk.pub"), clerk.public_key().to_pem()).unwrap();
    let acknowledge = || {
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
        .expect(0)
    };
    acknowledge();
    custody(&sb, &["ledger", "verify"]).expect(0);
    let size = |sb: &Sandbox| {
        custody(sb, &["log", "--json"])
            .expect(0)
            .json()
            .as_array()
            .unwrap()
            .len()
    };
    let before = size(&sb);
    // The same receipt again: recorded once, the second run says where.
    let again = acknowledge();
    assert!(
        again
            .stdout
            .starts_with("already acknowledged: package PKG-1")
            && again.stdout.contains(&format!("at seq {}", before - 1))
            && again.stdout.ends_with("nothing was recorded\n"),
        "{}",
        again.stdout
    );
    assert_eq!(size(&sb), before);
}
