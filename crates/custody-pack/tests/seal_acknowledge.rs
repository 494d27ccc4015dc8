//! Receipts acknowledged in the sender's ledger become outside checkpoints.

mod common;

use common::{identity, sender_with_one_item, Sender};
use custody_core::canonical::StrictJsonError;
use custody_core::keys::Identity;
use custody_pack::acknowledge::{acknowledge, AcknowledgeError};
use custody_pack::package::{Recipient, RequestInfo};
use custody_pack::receipt::{Receipt, ReceiptDraft, ReceiptError};
use custody_pack::seal::{seal, SealRequest, SenderInfo};
use custody_pack::zipwrite::Compression;
use custody_store::{EventDraft, EventFields, EventKind, Ledger, LedgerFinding};

const T: &str = "2026-03-01T09:00:00Z";

struct World {
    dir: tempfile::TempDir,
    sender: Ledger,
    officer: Identity,
    log: Identity,
    receiver: Identity,
    digest: String,
    package_id: String,
}

/// A sender ledger with one sealed package, and the receiver's identity.
fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let Sender {
        ledger: mut sender,
        officer,
        log,
    } = sender_with_one_item(
        dir.path(),
        "sender.db",
        "C-5",
        "mail.mbox",
        b"From: a@example.org\n",
    );
    let out = dir.path().join("p.zip");
    let outcome = seal_as(&mut sender, seal_request(dir.path()), &officer, &log, &out);
    World {
        dir,
        sender,
        officer,
        log,
        receiver: identity("receiver@example.de", 3),
        digest: custody_core::hex::encode(&outcome.sha256),
        package_id: outcome.id,
    }
}

/// Seals `request` into `out`, signed by `officer` alone.
fn seal_as(
    sender: &mut Ledger,
    request: SealRequest,
    officer: &Identity,
    log: &Identity,
    out: &std::path::Path,
) -> custody_pack::seal::SealOutcome {
    seal(
        sender,
        request,
        officer,
        std::slice::from_ref(officer),
        log,
        out,
        &mut |_| {},
    )
    .unwrap()
}

/// A request to seal item C-5-1 for Berlin.
fn seal_request(dir: &std::path::Path) -> SealRequest {
    SealRequest {
        case: "C-5".into(),
        id: None,
        items: vec!["C-5-1".into()],
        files: [("C-5-1".to_owned(), dir.join("mail.mbox"))].into(),
        sender: SenderInfo {
            authority: "Parquet de Paris".into(),
            ..SenderInfo::default()
        },
        recipient: Recipient {
            authority: "Staatsanwaltschaft Berlin".into(),
            jurisdiction: None,
        },
        request: RequestInfo::default(),
        use_limitations: vec![],
        confidential: false,
        personal_data: vec![],
        retention_until: None,
        sealed_time: time::macros::datetime!(2026-03-02 12:00:00 UTC),
        claimed_time: T.into(),
        compression: Compression::Stored,
    }
}

/// The receipt the receiver would write, over the package's checkpoint `sender_checkpoint`.
fn receipt_bytes(w: &World, sender_checkpoint: String, digest: &str) -> Vec<u8> {
    let receiver_log = identity("receiver-log", 4);
    let mut receiver_ledger = Ledger::init(
        &w.dir.path().join("receiver.db"),
        "ledger.example.de/custody",
        &w.receiver,
        &receiver_log,
    )
    .unwrap_or_else(|_| Ledger::open(&w.dir.path().join("receiver.db")).unwrap());
    let received = receiver_ledger
        .append(
            EventDraft::new(EventKind::Received, T)
                .item("C-5-1")
                .fields(EventFields {
                    from: Some("Parquet de Paris".into()),
                    package_digest: Some(digest.to_owned()),
                    checkpoint: Some(sender_checkpoint.clone()),
                    ..EventFields::default()
                }),
            &w.receiver,
            &receiver_log,
        )
        .unwrap();
    Receipt::create(
        ReceiptDraft {
            package_id: w.package_id.clone(),
            package_digest: digest.to_owned(),
            encrypted_digest: None,
            received_time: time::macros::datetime!(2026-03-03 08:00:00 UTC),
            authority: "Staatsanwaltschaft Berlin".into(),
            organisation: None,
            jurisdiction: Some("DE".into()),
            signers: vec![w.officer.verifier_key().to_string()],
            sender_checkpoint,
            receiver_checkpoint: received.checkpoint,
            received_seq: received.seq,
        },
        &w.receiver,
    )
    .unwrap()
    .to_canonical()
    .unwrap()
}

/// The checkpoint note the package carries (the one before `sealed`).
fn package_checkpoint(w: &World) -> String {
    let size = w.sender.size().unwrap() - 2;
    w.sender.checkpoint_at(size).unwrap().unwrap()
}

/// Acknowledges `receipt` in the sender's ledger as the officer, trusting the receiver.
fn acknowledge_as_officer(
    w: &mut World,
    receipt: &[u8],
) -> Result<custody_pack::acknowledge::AcknowledgeOutcome, AcknowledgeError> {
    let (officer, log) = (w.officer.clone(), w.log.clone());
    acknowledge(
        &mut w.sender,
        receipt,
        &[w.receiver.public_key()],
        &[],
        &officer,
        &log,
        T,
    )
}

#[test]
fn acknowledged_receipt_becomes_an_outside_checkpoint_that_catches_a_rewrite() {
    let mut w = world();
    let bytes = receipt_bytes(&w, package_checkpoint(&w), &w.digest.clone());
    let (officer, log) = (w.officer.clone(), w.log.clone());
    let outcome = acknowledge(
        &mut w.sender,
        &bytes,
        &[w.receiver.public_key()],
        &[],
        &officer,
        &log,
        T,
    )
    .unwrap();
    let ack = w
        .sender
        .entry(outcome.acknowledged_seq)
        .unwrap()
        .signed
        .event;
    assert_eq!(ack.kind, EventKind::Acknowledged);
    assert_eq!(ack.items, vec!["C-5-1".to_owned()]);
    assert_eq!(
        ack.fields.from.as_deref(),
        Some("Staatsanwaltschaft Berlin")
    );
    assert_eq!(
        ack.fields.package_digest.as_deref(),
        Some(w.digest.as_str())
    );
    let outside = w.sender.outside_checkpoints().unwrap();
    assert_eq!(outside.len(), 1);
    assert!(outside[0]
        .1
        .as_deref()
        .unwrap()
        .contains("receiver@example.de"));
    assert!(w.sender.verify(&[]).unwrap().is_clean());

    // Someone holding the log and actor keys rebuilds the ledger with another history; the
    // witnessed checkpoint kept in the file no longer matches.
    let mut forged = Ledger::init(
        &w.dir.path().join("forged.db"),
        "ledger.example.fr/custody",
        &officer,
        &log,
    )
    .unwrap();
    for n in 0..6 {
        forged
            .append(
                EventDraft::new(EventKind::Note, T).fields(EventFields {
                    notes: Some(format!("rewritten {n}")),
                    ..EventFields::default()
                }),
                &officer,
                &log,
            )
            .unwrap();
    }
    let (source, note) = &outside[0];
    forged
        .add_outside_checkpoint(note.as_deref().unwrap(), source)
        .unwrap();
    let report = forged.verify(&[]).unwrap();
    assert!(
        report
            .findings
            .iter()
            .any(|f| matches!(f, LedgerFinding::OutsideCheckpointMismatch { .. })),
        "{:?}",
        report.findings
    );
}

#[test]
fn fail_acknowledge_untrusted_receiver() {
    let mut w = world();
    let bytes = receipt_bytes(&w, package_checkpoint(&w), &w.digest.clone());
    let size = w.sender.size().unwrap();
    let (officer, log) = (w.officer.clone(), w.log.clone());
    let err = acknowledge(
        &mut w.sender,
        &bytes,
        &[identity("someone-else", 9).public_key()],
        &[],
        &officer,
        &log,
        T,
    )
    .unwrap_err();
    assert!(matches!(
        err,
        AcknowledgeError::Receipt(ReceiptError::UntrustedReceiver { .. })
    ));
    assert_eq!(w.sender.size().unwrap(), size);
    assert!(w.sender.outside_checkpoints().unwrap().is_empty());
}

#[test]
fn fail_acknowledge_unknown_package() {
    let mut w = world();
    let bytes = receipt_bytes(&w, package_checkpoint(&w), &"00".repeat(32));
    let (officer, log) = (w.officer.clone(), w.log.clone());
    let err = acknowledge(
        &mut w.sender,
        &bytes,
        &[w.receiver.public_key()],
        &[],
        &officer,
        &log,
        T,
    )
    .unwrap_err();
    assert!(
        matches!(err, AcknowledgeError::UnknownPackage { .. }),
        "{err}"
    );
}

#[test]
fn fail_acknowledge_checkpoint_of_another_log() {
    let mut w = world();
    let other_log = identity("ledger.example.fr", 7);
    let foreign = custody_core::checkpoint::Checkpoint {
        origin: "ledger.example.fr/custody".into(),
        size: 3,
        root: [1; 32],
        extensions: vec![],
    }
    .sign(&[&other_log])
    .unwrap();
    let foreign = String::from_utf8(foreign.to_bytes()).unwrap();
    let bytes = receipt_bytes(&w, foreign, &w.digest.clone());
    let (officer, log) = (w.officer.clone(), w.log.clone());
    let err = acknowledge(
        &mut w.sender,
        &bytes,
        &[w.receiver.public_key()],
        &[],
        &officer,
        &log,
        T,
    )
    .unwrap_err();
    assert!(
        matches!(err, AcknowledgeError::ForeignCheckpoint(_)),
        "{err}"
    );
    assert!(w.sender.outside_checkpoints().unwrap().is_empty());
}

#[test]
fn fail_acknowledge_checkpoint_the_ledger_disagrees_with() {
    let mut w = world();
    // Signed with the real log key, but over a root this ledger never had.
    let size = w.sender.size().unwrap() - 2;
    let wrong = custody_core::checkpoint::Checkpoint {
        origin: "ledger.example.fr/custody".into(),
        size,
        root: [9; 32],
        extensions: vec![],
    }
    .sign(&[&w.log])
    .unwrap();
    let wrong = String::from_utf8(wrong.to_bytes()).unwrap();
    let bytes = receipt_bytes(&w, wrong, &w.digest.clone());
    let (officer, log) = (w.officer.clone(), w.log.clone());
    let err = acknowledge(
        &mut w.sender,
        &bytes,
        &[w.receiver.public_key()],
        &[],
        &officer,
        &log,
        T,
    )
    .unwrap_err();
    assert!(
        matches!(err, AcknowledgeError::CheckpointMismatch { size: s } if s == size),
        "{err}"
    );
}

/// A receipt the receiver signed, edited after signing into bytes that a lenient JSON reader
/// still reads as the signed receipt.
fn fail_acknowledge_edited(edit: impl Fn(&str) -> String) -> StrictJsonError {
    let mut w = world();
    let bytes = receipt_bytes(&w, package_checkpoint(&w), &w.digest.clone());
    let attack = edit(std::str::from_utf8(&bytes).unwrap());
    assert_ne!(attack.as_bytes(), bytes.as_slice());
    let size = w.sender.size().unwrap();
    let (officer, log) = (w.officer.clone(), w.log.clone());
    let err = acknowledge(
        &mut w.sender,
        attack.as_bytes(),
        &[w.receiver.public_key()],
        &[],
        &officer,
        &log,
        T,
    )
    .unwrap_err();
    // Nothing recorded, no outside checkpoint kept.
    assert_eq!(w.sender.size().unwrap(), size);
    assert!(w.sender.outside_checkpoints().unwrap().is_empty());
    match err {
        AcknowledgeError::Receipt(ReceiptError::NotCanonical(e)) => e,
        other => panic!("expected a canonical-form refusal, got {other}"),
    }
}

#[test]
fn fail_acknowledge_receipt_with_duplicate_package_digest() {
    // A first `package_digest` names another package; the signed one follows it.
    let e = fail_acknowledge_edited(|text| {
        text.replacen(
            "\"package_digest\":",
            &format!(
                "\"package_digest\":\"{}\",\"package_digest\":",
                "00".repeat(32)
            ),
            1,
        )
    });
    assert!(
        matches!(e, StrictJsonError::DuplicateKey { ref path, ref key } if path == "/receipt" && key == "package_digest"),
        "{e}"
    );
}

#[test]
fn fail_acknowledge_receipt_with_white_space() {
    let e = fail_acknowledge_edited(|text| text.replacen(",", ", ", 1));
    assert!(matches!(e, StrictJsonError::WhiteSpace { .. }), "{e}");
    let e = fail_acknowledge_edited(|text| format!("{text}\n"));
    assert!(matches!(e, StrictJsonError::WhiteSpace { .. }), "{e}");
}

#[test]
fn fail_acknowledge_receipt_with_duplicate_in_nested_object() {
    let e = fail_acknowledge_edited(|text| {
        text.replacen(
            "\"jurisdiction\":\"DE\"",
            "\"jurisdiction\":\"FR\",\"jurisdiction\":\"DE\"",
            1,
        )
    });
    assert!(
        matches!(e, StrictJsonError::DuplicateKey { ref path, ref key } if path == "/receipt/receiver" && key == "jurisdiction"),
        "{e}"
    );
}

#[test]
fn fail_acknowledge_receipt_with_non_canonical_number_or_escape() {
    let e = fail_acknowledge_edited(|text| text.replacen("\"v\":1", "\"v\":1.0", 1));
    assert!(
        matches!(e, StrictJsonError::NonCanonicalNumber { ref path, .. } if path == "/receipt/v"),
        "{e}"
    );
    let e = fail_acknowledge_edited(|text| text.replacen("Berlin", "\\u0042erlin", 1));
    assert!(
        matches!(e, StrictJsonError::NonCanonicalEscape { ref escape, .. } if escape == "\\u0042"),
        "{e}"
    );
}

#[test]
fn fail_acknowledge_receipt_by_revoked_receiver() {
    // The acknowledger trusts the receiver's key and also lists it as revoked: refused.
    let mut w = world();
    let bytes = receipt_bytes(&w, package_checkpoint(&w), &w.digest.clone());
    let size = w.sender.size().unwrap();
    let (officer, log) = (w.officer.clone(), w.log.clone());
    let err = acknowledge(
        &mut w.sender,
        &bytes,
        &[w.receiver.public_key()],
        &[w.receiver.public_key()],
        &officer,
        &log,
        T,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            AcknowledgeError::Receipt(ReceiptError::RevokedReceiver { .. })
        ),
        "{err}"
    );
    assert_eq!(w.sender.size().unwrap(), size);
    assert!(w.sender.outside_checkpoints().unwrap().is_empty());
}

#[test]
fn same_receipt_acknowledged_twice_is_recorded_once() {
    let mut w = world();
    let bytes = receipt_bytes(&w, package_checkpoint(&w), &w.digest.clone());
    let (officer, log) = (w.officer.clone(), w.log.clone());
    let trusted = [w.receiver.public_key()];
    let first = acknowledge_as_officer(&mut w, &bytes).unwrap();
    assert!(first.recorded);
    let size = w.sender.size().unwrap();
    let second = acknowledge_as_officer(&mut w, &bytes).unwrap();
    assert!(!second.recorded);
    assert_eq!(second.acknowledged_seq, first.acknowledged_seq);
    assert_eq!(w.sender.size().unwrap(), size, "nothing appended");
    assert_eq!(w.sender.outside_checkpoints().unwrap().len(), 1);
    // Another handle (another process) sees it from the entries too.
    let mut other = Ledger::open(&w.dir.path().join("sender.db")).unwrap();
    let third = acknowledge(&mut other, &bytes, &trusted, &[], &officer, &log, T).unwrap();
    assert!(!third.recorded);
    assert_eq!(third.acknowledged_seq, first.acknowledged_seq);
}

#[test]
fn fail_deleted_outside_checkpoint_row_is_reported_and_still_checked() {
    let mut w = world();
    let bytes = receipt_bytes(&w, package_checkpoint(&w), &w.digest.clone());
    let outcome = acknowledge_as_officer(&mut w, &bytes).unwrap();
    let path = w.dir.path().join("sender.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("DELETE FROM outside_checkpoints", [])
        .unwrap();
    let report = Ledger::open(&path).unwrap().verify(&[]).unwrap();
    assert_eq!(
        report.findings,
        vec![LedgerFinding::OutsideCheckpointRowMissing {
            seq: outcome.acknowledged_seq
        }]
    );
    // Acknowledging the receipt again records nothing and puts the row back.
    w.sender = Ledger::open(&path).unwrap();
    let again = acknowledge_as_officer(&mut w, &bytes).unwrap();
    assert!(!again.recorded);
    assert!(w.sender.verify(&[]).unwrap().is_clean());
}

#[test]
fn fail_history_link_deleted_before_seal_still_seals_every_event() {
    let mut w = world();
    let (officer, log) = (w.officer.clone(), w.log.clone());
    // A failed hash check, then its link in the index deleted with SQL.
    let failed = w
        .sender
        .append(
            EventDraft::new(EventKind::HashVerified, T)
                .case("C-5")
                .item("C-5-1")
                .fields(EventFields {
                    notes: Some("digest mismatch".into()),
                    ..EventFields::default()
                }),
            &officer,
            &log,
        )
        .unwrap();
    let path = w.dir.path().join("sender.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("DELETE FROM item_events WHERE seq = ?1", [failed.seq])
        .unwrap();
    let mut reopened = Ledger::open(&path).unwrap();
    let out = w.dir.path().join("again.zip");
    let mut request = seal_request(w.dir.path());
    request.id = Some("C-5-AGAIN".into());
    seal_as(&mut reopened, request, &officer, &log, &out);
    let mut scanner = custody_pack::zipscan::ZipScanner::new(
        std::fs::File::open(&out).unwrap(),
        &custody_pack::zipscan::ScanLimits::default(),
    )
    .unwrap();
    let names: Vec<String> = scanner.entries().iter().map(|e| e.name.clone()).collect();
    let mut found = false;
    for (i, name) in names.iter().enumerate() {
        if name.contains("/custody/events/") {
            let bytes = scanner.read_entry(i, 1 << 20).unwrap();
            found |= String::from_utf8_lossy(&bytes).contains("digest mismatch");
        }
    }
    assert!(found, "the failed hash check is missing from the package");
}

/// The receipt of [`receipt_bytes`] with `received_time` replaced and signed again by the
/// receiver: the time a reader shows no longer says when the cosignature was made.
fn receipt_with_received_time(w: &World, received_time: &str) -> Vec<u8> {
    receipt_edited(w, |r| r.receipt.received_time = received_time.to_owned())
}

#[test]
fn fail_acknowledge_receipt_whose_received_time_is_not_its_cosignature_time() {
    for received_time in [
        "2026-03-03T08:00:01Z",
        "1970-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "2026-03-03T09:00:00+01:00",
        "2026-03-03 08:00:00Z",
        "yesterday",
        "",
    ] {
        let mut w = world();
        let bytes = receipt_with_received_time(&w, received_time);
        let size = w.sender.size().unwrap();
        let err = acknowledge_as_officer(&mut w, &bytes).unwrap_err();
        assert!(
            matches!(
                &err,
                AcknowledgeError::Receipt(ReceiptError::ReceivedTime { received_time: t, cosignature_time: 1_772_524_800 })
                    if t == received_time
            ),
            "{received_time}: {err}"
        );
        assert_eq!(w.sender.size().unwrap(), size);
    }
}

#[test]
fn receipt_with_fractional_received_time_matches_its_cosignature() {
    let w = world();
    let bytes = receipt_with_received_time(&w, "2026-03-03T08:00:00.25Z");
    let verified = Receipt::parse_and_verify(&bytes, &[w.receiver.public_key()], &[]).unwrap();
    assert_eq!(verified.cosignature_time, 1_772_524_800);
}

/// The receipt of [`receipt_bytes`] edited by `edit` and signed again by the receiver.
fn receipt_edited(w: &World, edit: impl FnOnce(&mut Receipt)) -> Vec<u8> {
    let bytes = receipt_bytes(w, package_checkpoint(w), &w.digest.clone());
    let mut receipt: Receipt = serde_json::from_slice(&bytes).unwrap();
    edit(&mut receipt);
    let body = custody_core::canonical::to_canonical_vec(&receipt.receipt).unwrap();
    let signature =
        custody_core::sign::sign_canonical(&w.receiver, custody_core::sign::CONTEXT_RECEIPT, &body);
    receipt.signature = custody_core::sign::signature_to_hex(&signature);
    receipt.to_canonical().unwrap()
}

#[test]
fn fail_acknowledge_receipt_saying_not_verified() {
    let mut w = world();
    let bytes = receipt_edited(&w, |r| r.receipt.verification.verified = false);
    let size = w.sender.size().unwrap();
    let err = acknowledge_as_officer(&mut w, &bytes).unwrap_err();
    assert!(
        matches!(
            &err,
            AcknowledgeError::Receipt(ReceiptError::NotVerifiedByReceiver)
        ),
        "{err}"
    );
    assert_eq!(w.sender.size().unwrap(), size);
}

#[test]
fn fail_acknowledge_receipt_naming_another_package_id() {
    let mut w = world();
    let bytes = receipt_edited(&w, |r| r.receipt.package_id = "C-9-9".into());
    let size = w.sender.size().unwrap();
    let err = acknowledge_as_officer(&mut w, &bytes).unwrap_err();
    assert!(
        matches!(
            &err,
            AcknowledgeError::PackageIdMismatch { receipt, sealed, .. }
                if receipt == "C-9-9" && sealed == "package C-5-1"
        ),
        "{err}"
    );
    assert_eq!(w.sender.size().unwrap(), size);
}
