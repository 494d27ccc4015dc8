//! Sealing, countersigning and acknowledging packages with the real binary.

use std::path::Path;

use custody_core::keys::{ActorInfo, Identity};
use custody_pack::receipt::{Receipt, ReceiptDraft};
use custody_pack::zipscan::{ScanLimits, ZipScanner};
use custody_store::{EventDraft, EventFields, EventKind, Ledger};

use crate::harness::{Run, Sandbox};

const ORIGIN: &str = "ledger.parquet.example/custody";
const TIME: &str = "2026-03-02T12:00:00Z";

/// Runs `custody ARGS...` with no ledger, key or log key from the environment.
pub fn custody(sb: &Sandbox, args: &[&str]) -> Run {
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

/// Saves a new private key in the sandbox and returns it.
pub fn new_key(sb: &Sandbox, name: &str, file: &str) -> Identity {
    let info = ActorInfo {
        name: name.to_owned(),
        role: Some("prosecutor".to_owned()),
        organisation: Some("Parquet de Paris".to_owned()),
        jurisdiction: Some("FR".to_owned()),
        full_name: None,
    };
    let identity = Identity::generate(info).expect("generate key");
    identity.save(&sb.path(file)).expect("save key");
    identity
}

/// A ledger with case C-1, a file item C-1-1 (`disk.img`) and a directory item C-1-2
/// (`phone/`), acquired by `officer.key`.
pub fn ledger_with_items() -> (Sandbox, Identity) {
    let sb = Sandbox::new();
    let officer = new_key(&sb, "officer@parquet.example", "officer.key");
    custody(&sb, &["init", "--key", "officer.key", "--origin", ORIGIN]).expect(0);
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
    std::fs::write(sb.path("disk.img"), b"seized disk image bytes").unwrap();
    std::fs::create_dir_all(sb.path("phone/DCIM")).unwrap();
    std::fs::write(sb.path("phone/DCIM/IMG 0001.jpg"), b"jpeg bytes").unwrap();
    std::fs::write(sb.path("phone/contacts.vcf"), b"BEGIN:VCARD").unwrap();
    custody(
        &sb,
        &[
            "acquire",
            "disk.img",
            "phone",
            "--case",
            "C-1",
            "--key",
            "officer.key",
        ],
    )
    .expect(0);
    (sb, officer)
}

/// Seals both items to `out` with a fixed time; returns the JSON report.
pub fn seal(sb: &Sandbox, out: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "seal",
        "C-1-1",
        "C-1-2",
        "--case",
        "C-1",
        "--to",
        "Staatsanwaltschaft Berlin",
        "--out",
        out,
        "--key",
        "officer.key",
        "--time",
        TIME,
        "--request-ref",
        "MLA-2026-7",
        "--use-limitation",
        "criminal proceedings only",
        "--json",
    ];
    args.extend_from_slice(extra);
    custody(sb, &args).expect(0).json()
}

/// Every entry's bytes by name.
pub fn zip_entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut scanner =
        ZipScanner::new(std::fs::File::open(path).unwrap(), &ScanLimits::default()).unwrap();
    assert!(scanner.scan().is_clean(), "{:?}", scanner.scan().findings);
    let names: Vec<String> = scanner.entries().iter().map(|e| e.name.clone()).collect();
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| (n, scanner.read_entry(i, 1 << 24).unwrap()))
        .collect()
}

fn entry<'a>(entries: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &entries.iter().find(|(n, _)| n == name).unwrap().1
}

fn log_kinds(sb: &Sandbox) -> Vec<String> {
    custody(sb, &["log", "--json"])
        .expect(0)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e.pointer("/event/kind")
                .or_else(|| e.get("kind"))
                .and_then(|k| k.as_str())
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[test]
fn seal_writes_the_package_and_records_sealed_and_transferred() {
    let (sb, _) = ledger_with_items();
    let report = seal(&sb, "C-1-1.zip", &[]);
    assert_eq!(report["package_id"], "C-1-1");
    let digest = custody_core::hash::hash_file(&sb.path("C-1-1.zip"), &mut |_| {}).unwrap();
    assert_eq!(report["sha256"], digest.sha256_hex());
    assert_eq!(report["size"], digest.size);
    let kinds = log_kinds(&sb);
    assert_eq!(
        kinds[kinds.len() - 2..],
        ["sealed", "transferred"],
        "{kinds:?}"
    );
    let entries = zip_entries(&sb.path("C-1-1.zip"));
    assert!(entries
        .iter()
        .any(|(n, _)| n == "C-1-1/data/C-1-2/DCIM/IMG 0001.jpg"));
    let statement: serde_json::Value =
        serde_json::from_slice(entry(&entries, "C-1-1/custody/package.json")).unwrap();
    assert_eq!(
        statement["recipient"]["authority"],
        "Staatsanwaltschaft Berlin"
    );
    assert_eq!(statement["sender"]["authority"], "Parquet de Paris");
    assert_eq!(statement["request"]["reference"], "MLA-2026-7");
    assert_eq!(statement["sealed_time"], TIME);
    custody(&sb, &["ledger", "verify"]).expect(0);

    // Text output names the package, its id and digest.
    let text = custody(
        &sb,
        &[
            "seal",
            "C-1-1",
            "--case",
            "C-1",
            "--to",
            "Eurojust",
            "--out",
            "again.zip",
            "--key",
            "officer.key",
            "--id",
            "C-1-PKG2",
        ],
    )
    .expect(0);
    assert!(text.stdout.contains("again.zip"), "{}", text.stdout);
    assert!(text.stdout.contains("C-1-PKG2"), "{}", text.stdout);
}

#[test]
fn sealing_twice_from_identical_ledgers_gives_identical_bytes() {
    let (sb, _) = ledger_with_items();
    std::fs::create_dir(sb.path("copy")).unwrap();
    std::fs::copy(sb.path("custody.db"), sb.path("copy/custody.db")).unwrap();
    // The copy is a ledger of its own: it gets its own copy of the log key and signer state
    // (one signer state cannot vouch for two diverging copies).
    crate::harness::copy_log_keys(sb.dir.path(), &sb.path("copy"));
    let copied_key = std::fs::read_dir(sb.path("copy/log-keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "key"))
        .unwrap();
    let copied_key = copied_key.to_str().unwrap();
    seal(&sb, "a.zip", &["--compress"]);
    seal(
        &sb,
        "b.zip",
        &[
            "--compress",
            "--ledger",
            "copy/custody.db",
            "--log-key",
            copied_key,
        ],
    );
    let (a, b) = (
        std::fs::read(sb.path("a.zip")).unwrap(),
        std::fs::read(sb.path("b.zip")).unwrap(),
    );
    assert!(a == b, "packages differ");
}

#[test]
fn fail_seal_evidence_changed_since_acquisition() {
    let (sb, _) = ledger_with_items();
    std::fs::write(sb.path("phone/contacts.vcf"), b"BEGIN:VCARD edited").unwrap();
    let before = log_kinds(&sb).len();
    let run = custody(
        &sb,
        &[
            "seal",
            "C-1-1",
            "C-1-2",
            "--case",
            "C-1",
            "--to",
            "Eurojust",
            "--out",
            "p.zip",
            "--key",
            "officer.key",
        ],
    )
    .expect(2);
    assert!(run.stderr.contains("item C-1-2"), "{}", run.stderr);
    assert!(run.stderr.contains("contacts.vcf"), "{}", run.stderr);
    assert!(!sb.path("p.zip").exists());
    let leftovers: Vec<_> = std::fs::read_dir(sb.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty());
    assert_eq!(log_kinds(&sb).len(), before, "nothing recorded");
}

#[test]
fn fail_seal_unknown_item() {
    let (sb, _) = ledger_with_items();
    let run = custody(
        &sb,
        &[
            "seal",
            "C-1-7",
            "--case",
            "C-1",
            "--to",
            "Eurojust",
            "--out",
            "p.zip",
            "--key",
            "officer.key",
        ],
    )
    .expect(2);
    assert!(run.stderr.contains("C-1-7"), "{}", run.stderr);
    assert!(!sb.path("p.zip").exists());
}

#[test]
fn seal_reads_moved_evidence_and_a_request_file() {
    let (sb, _) = ledger_with_items();
    std::fs::rename(sb.path("disk.img"), sb.path("moved.img")).unwrap();
    std::fs::write(
        sb.path("request.toml"),
        "reference = \"FILE-REF\"\nlegal_basis = \"2000 EU MLA Convention\"\nconfidential = true\npersonal_data = [\"contacts\"]\n",
    )
    .unwrap();
    custody(
        &sb,
        &[
            "seal",
            "C-1-1",
            "--case",
            "C-1",
            "--to",
            "Eurojust",
            "--out",
            "p.zip",
            "--key",
            "officer.key",
            "--file",
            "C-1-1=moved.img",
            "--request",
            "request.toml",
            "--request-ref",
            "CLI-REF",
        ],
    )
    .expect(0);
    let entries = zip_entries(&sb.path("p.zip"));
    let statement: serde_json::Value =
        serde_json::from_slice(entry(&entries, "C-1-1/custody/package.json")).unwrap();
    assert_eq!(statement["request"]["reference"], "CLI-REF");
    assert_eq!(
        statement["request"]["legal_basis"],
        "2000 EU MLA Convention"
    );
    assert_eq!(statement["confidential"], true);
    assert_eq!(statement["personal_data"][0], "contacts");
    assert_eq!(statement["items"][0]["path"], "data/C-1-1/disk.img");
}

#[test]
fn countersign_adds_a_signature_once() {
    let (sb, _) = ledger_with_items();
    seal(&sb, "p.zip", &[]);
    let before = zip_entries(&sb.path("p.zip"));
    let judge = new_key(&sb, "judge@tj-paris.example", "judge.key");
    let run = custody(
        &sb,
        &["countersign", "p.zip", "--key", "judge.key", "--json"],
    )
    .expect(0);
    let added = format!(
        "C-1-1/{}",
        custody_pack::layout::signature_path(&judge.verifier_key())
    );
    assert_eq!(
        format!("C-1-1/{}", run.json()["signature"].as_str().unwrap()),
        added
    );
    let after = zip_entries(&sb.path("p.zip"));
    let without: Vec<_> = after.iter().filter(|(n, _)| *n != added).cloned().collect();
    assert_eq!(without, before);
    let again = custody(&sb, &["countersign", "p.zip", "--key", "judge.key"]).expect(2);
    assert!(again.stderr.contains("already signed"), "{}", again.stderr);
}

/// A receipt for package `zip` from a receiving authority with its own ledger.
fn receipt_for(sb: &Sandbox, zip: &str, receiver: &Identity) -> Vec<u8> {
    let entries = zip_entries(&sb.path(zip));
    let checkpoint =
        String::from_utf8(entry(&entries, "C-1-1/custody/checkpoint").to_vec()).unwrap();
    let digest = custody_core::hash::hash_file(&sb.path(zip), &mut |_| {}).unwrap();
    let log = Identity::generate(ActorInfo::named("ledger.sta-berlin.example")).unwrap();
    let mut ledger = Ledger::init(
        &sb.path("receiver.db"),
        "ledger.sta-berlin.example/custody",
        receiver,
        &log,
    )
    .unwrap();
    let received = ledger
        .append(
            EventDraft::new(EventKind::Received, TIME)
                .item("C-1-1")
                .item("C-1-2")
                .fields(EventFields {
                    package_digest: Some(digest.sha256_hex()),
                    checkpoint: Some(checkpoint.clone()),
                    ..EventFields::default()
                }),
            receiver,
            &log,
        )
        .unwrap();
    Receipt::create(
        ReceiptDraft {
            package_id: "C-1-1".into(),
            package_digest: digest.sha256_hex(),
            encrypted_digest: None,
            received_time: time::OffsetDateTime::now_utc(),
            authority: "Staatsanwaltschaft Berlin".into(),
            organisation: None,
            jurisdiction: Some("DE".into()),
            signers: vec![],
            sender_checkpoint: checkpoint,
            receiver_checkpoint: received.checkpoint,
            received_seq: received.seq,
        },
        receiver,
    )
    .unwrap()
    .to_canonical()
    .unwrap()
}

#[test]
fn acknowledged_receipt_protects_the_ledger_against_later_cuts() {
    let (sb, _) = ledger_with_items();
    seal(&sb, "p.zip", &[]);
    let receiver = Identity::generate(ActorInfo::named("sta@berlin.example")).unwrap();
    std::fs::write(
        sb.path("receipt.json"),
        receipt_for(&sb, "p.zip", &receiver),
    )
    .unwrap();
    std::fs::write(sb.path("receiver.pem"), receiver.public_key().to_pem()).unwrap();

    // An untrusted receiver key is a verification failure and records nothing.
    let stranger = Identity::generate(ActorInfo::named("x")).unwrap();
    let before = log_kinds(&sb).len();
    let refused = custody(
        &sb,
        &[
            "acknowledge",
            "receipt.json",
            "--trust",
            &stranger.verifier_key().to_string(),
            "--key",
            "officer.key",
        ],
    )
    .expect(1);
    assert!(refused.stderr.contains("not trusted"), "{}", refused.stderr);
    assert_eq!(log_kinds(&sb).len(), before);

    let run = custody(
        &sb,
        &[
            "acknowledge",
            "receipt.json",
            "--trust",
            "receiver.pem",
            "--key",
            "officer.key",
            "--json",
        ],
    )
    .expect(0);
    let checkpoint_size = run.json()["checkpoint_size"].as_u64().unwrap();
    assert_eq!(log_kinds(&sb).last().unwrap(), "acknowledged");
    custody(&sb, &["ledger", "verify"]).expect(0);

    // Cut the ledger back below the witnessed checkpoint, consistently: on its own it would
    // verify; the stored cosigned checkpoint shows what is gone.
    let keep = checkpoint_size - 1;
    crate::harness::truncate_ledger(&sb.path("custody.db"), keep);
    custody(&sb, &["ledger", "reindex"]).expect(0);
    let verify = custody(&sb, &["ledger", "verify"]).expect(1);
    assert!(
        verify.stdout.contains("outside checkpoint"),
        "{}",
        verify.stdout
    );
}
