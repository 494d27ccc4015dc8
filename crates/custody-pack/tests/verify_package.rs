//! Verifying and receiving sealed packages through the library: the verdict, the signer
//! statuses, a selection of findings from each group, and receive writing all or nothing.
//! (Every tampering case, through the `custody` binary, is in tests/e2e/tamper.rs.)

mod common;

use std::fs;

use common::{
    entries, genuine, identity, receiver_ledger, resign, sealed, trusting, with_statement,
    write_zip, ID,
};
use custody_core::keys::Identity;
use custody_pack::bagit::BagFinding;
use custody_pack::countersign::countersign;
use custody_pack::layout;
use custody_pack::receipt::Receipt;
use custody_pack::receive::{receive, ReceiveError, ReceiveOptions};
use custody_pack::verify::{
    verify_package, FindingGroup, FindingKind, PackageReport, PayloadChange, TrustedKey,
    VerifyOptions,
};
use custody_store::{EventDraft, EventFields, EventKind, Ledger};

fn hex_key(id: &Identity) -> String {
    custody_core::hex::encode(&id.public_key().to_bytes())
}

/// A foreign authority's key, never enrolled in the sender ledger.
fn judge() -> Identity {
    identity("judge@tj-paris.example", 6)
}

fn kinds(report: &PackageReport, group: FindingGroup) -> Vec<&FindingKind> {
    report.group(group).map(|f| &f.kind).collect()
}

#[test]
fn genuine_package_verifies_with_pem_or_verifier_key_trust() {
    let s = genuine();
    let report = verify_package(&s.package, &trusting(&s.officer)).unwrap();
    assert!(report.verified, "{:#?}", report.findings);
    assert!(report.findings.is_empty());
    assert_eq!(report.signers.len(), 1);
    let signer = &report.signers[0];
    assert!(signer.trusted && signer.valid && !signer.revoked);
    assert_eq!(signer.key, s.officer.verifier_key().to_string());
    assert_eq!(report.statement.as_ref().unwrap().id, ID);

    let by_name = VerifyOptions {
        trusted: vec![TrustedKey::Verifier(s.officer.verifier_key())],
        expect_recipient: Some("Staatsanwaltschaft Berlin".into()),
        ..VerifyOptions::default()
    };
    assert!(verify_package(&s.package, &by_name).unwrap().verified);
}

#[test]
fn fail_no_trusted_signer() {
    let s = genuine();
    let stranger = identity("stranger@example.org", 9);
    let report = verify_package(&s.package, &trusting(&stranger)).unwrap();
    assert!(!report.verified);
    let found = kinds(&report, FindingGroup::Signature);
    assert!(
        found.contains(&&FindingKind::NoTrustedSignature),
        "{found:?}"
    );
    assert!(found
        .iter()
        .any(|k| matches!(k, FindingKind::UntrustedSigner { .. })));
    // Nothing else is wrong with the package.
    assert_eq!(report.findings.len(), found.len(), "{:#?}", report.findings);
    // The signer is recognised from the package's own enrolment entries, and valid.
    assert!(report.signers[0].valid && !report.signers[0].trusted);
}

#[test]
fn fail_signer_revoked_by_option() {
    let s = genuine();
    let mut options = trusting(&s.officer);
    options.revoked.push(s.officer.public_key());
    let report = verify_package(&s.package, &options).unwrap();
    assert!(!report.verified);
    assert!(report.signers[0].revoked);
    assert!(kinds(&report, FindingGroup::Signature)
        .iter()
        .any(|k| matches!(k, FindingKind::RevokedSigner { seq: None, .. })));
}

#[test]
fn fail_recipient_not_expected() {
    let s = genuine();
    let mut options = trusting(&s.officer);
    options.expect_recipient = Some("Procura di Milano".into());
    let report = verify_package(&s.package, &options).unwrap();
    assert!(!report.verified);
    assert_eq!(
        kinds(&report, FindingGroup::Statement),
        vec![&FindingKind::RecipientMismatch {
            expected: "Procura di Milano".into(),
            found: "Staatsanwaltschaft Berlin".into(),
        }]
    );
}

#[test]
fn fail_payload_byte_flipped_in_both_manifests() {
    let s = genuine();
    let mut files = entries(&s.package);
    let name = format!("{ID}/data/C-1-1/disk.img");
    files.get_mut(&name).unwrap()[0] ^= 1;
    let bad = s.dir.path().join("bad.zip");
    write_zip(&bad, &files);
    let report = verify_package(&bad, &trusting(&s.officer)).unwrap();
    assert!(!report.verified);
    let manifests: Vec<String> = report
        .group(FindingGroup::Bagit)
        .filter_map(|f| match &f.kind {
            FindingKind::Bag(BagFinding::DigestMismatch { file, manifest, .. }) => {
                assert_eq!(file, "data/C-1-1/disk.img");
                Some(manifest.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(manifests, ["manifest-blake3.txt", "manifest-sha256.txt"]);
    // Each says, in words, which file of which item was altered; the manifest line stays
    // in the detail.
    for finding in report.group(FindingGroup::Bagit) {
        assert_eq!(finding.item.as_deref(), Some("C-1-1"));
        assert_eq!(finding.payload_change(), Some(PayloadChange::Altered));
        assert_eq!(
            finding.to_string(),
            "`disk.img` of item C-1-1 was altered: its content is not what the sender sealed"
        );
        assert!(finding.detail().contains("expects"), "{}", finding.detail());
    }
    // The signature still verifies: the tag manifest was not touched.
    assert!(report.signers[0].valid);
}

#[test]
fn fail_payload_byte_flipped_under_its_crc_names_the_item() {
    let s = genuine();
    let prefix = format!("{ID}/data/C-1-2/");
    let (entry, content) = entries(&s.package)
        .into_iter()
        .find(|(name, _)| name.starts_with(&prefix) && name.ends_with("/b.txt"))
        .unwrap();
    let name = entry.strip_prefix(&prefix).unwrap().to_owned();
    // One byte flipped in place inside the stored file: the archive still declares the
    // CRC-32 of the sealed bytes, as after a bit error or a careless edit in transit.
    let mut bytes = fs::read(&s.package).unwrap();
    let mut found = bytes
        .windows(content.len())
        .enumerate()
        .filter(|(_, w)| *w == content.as_slice())
        .map(|(at, _)| at);
    let at = found.next().unwrap();
    assert_eq!(
        found.next(),
        None,
        "the file's bytes occur once in the archive"
    );
    bytes[at] ^= 0x20;
    let bad = s.dir.path().join("bad.zip");
    fs::write(&bad, &bytes).unwrap();
    let report = verify_package(&bad, &trusting(&s.officer)).unwrap();
    assert!(!report.verified);
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    let finding = &report.findings[0];
    assert!(
        matches!(finding.kind, FindingKind::Integrity(_)),
        "{finding:?}"
    );
    assert_eq!(
        finding.file.as_deref(),
        Some(format!("data/C-1-2/{name}").as_str())
    );
    assert_eq!(finding.item.as_deref(), Some("C-1-2"));
    assert_eq!(
        finding.to_string(),
        format!("`{name}` of item C-1-2 was altered: its content is not what the sender sealed")
    );
    assert!(finding.detail().contains("CRC-32"), "{}", finding.detail());
}

#[test]
fn fail_payload_file_added_or_removed_says_so_in_words() {
    let s = genuine();
    let mut files = entries(&s.package);
    files.remove(&format!("{ID}/data/C-1-1/disk.img"));
    files.insert(format!("{ID}/data/C-1-1/extra.bin"), b"planted".to_vec());
    let bad = s.dir.path().join("bad.zip");
    write_zip(&bad, &files);
    let report = verify_package(&bad, &trusting(&s.officer)).unwrap();
    let shown: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert!(
        shown.contains(&"`disk.img` of item C-1-1 is missing from the package".to_owned()),
        "{shown:#?}"
    );
    assert!(
        shown.contains(
            &"`data/C-1-1/extra.bin` was added to the package: it belongs to no item the sender sealed"
                .to_owned()
        ),
        "{shown:#?}"
    );
}

#[test]
fn fail_event_altered_and_resigned_by_a_trusted_key() {
    let s = genuine();
    let mut files = entries(&s.package);
    let name = format!("{ID}/custody/events/2.json");
    let text = String::from_utf8(files[&name].clone()).unwrap();
    let altered = text.replace("2026-03-01T09:00:00Z", "2026-02-01T09:00:00Z");
    assert_ne!(text, altered);
    files.insert(name, altered.into_bytes());
    resign(&mut files, &s.officer);
    let bad = s.dir.path().join("bad.zip");
    write_zip(&bad, &files);
    let report = verify_package(&bad, &trusting(&s.officer)).unwrap();
    assert!(!report.verified);
    assert!(report.signers[0].valid && report.signers[0].trusted);
    let events: Vec<_> = report.group(FindingGroup::Events).collect();
    assert!(
        events.iter().any(
            |f| f.seq == Some(2) && matches!(f.kind, FindingKind::EventSignatureInvalid { .. })
        ),
        "{events:#?}"
    );
    let proofs: Vec<_> = report.group(FindingGroup::Proofs).collect();
    assert!(proofs
        .iter()
        .any(|f| f.seq == Some(2) && matches!(f.kind, FindingKind::ProofInvalid { .. })));
}

#[test]
fn fail_signer_revoked_by_included_entry() {
    let analyst = identity("analyst@example.fr", 5);
    let s = sealed(
        |ledger, officer, log| {
            let now = "2026-03-01T10:00:00Z";
            let key_event = |kind| {
                EventDraft::new(kind, now).fields(EventFields {
                    public_key: Some(hex_key(&analyst)),
                    actor_info: (kind == EventKind::ActorEnrolled).then(|| analyst.info().clone()),
                    ..EventFields::default()
                })
            };
            ledger
                .append(key_event(EventKind::ActorEnrolled), officer, log)
                .unwrap();
            // The analyst's own event puts the analyst's key history into the package.
            let examined = EventDraft::new(EventKind::Examined, now)
                .case("C-1")
                .item("C-1-2");
            ledger.append(examined, &analyst, log).unwrap();
            ledger
                .append(key_event(EventKind::KeyRevoked), officer, log)
                .unwrap();
        },
        &["officer"],
    );
    // Seal refuses a revoked signing key; whoever still holds it adds its signature
    // afterwards, as a countersignature.
    countersign(&s.package, &analyst).unwrap();
    let options = VerifyOptions {
        trusted: vec![
            TrustedKey::Public(s.officer.public_key()),
            TrustedKey::Public(analyst.public_key()),
        ],
        ..VerifyOptions::default()
    };
    let report = verify_package(&s.package, &options).unwrap();
    assert!(!report.verified);
    let revoked: Vec<_> = report
        .group(FindingGroup::Signature)
        .filter(|f| matches!(f.kind, FindingKind::RevokedSigner { seq: Some(6), .. }))
        .collect();
    assert_eq!(revoked.len(), 1, "{:#?}", report.findings);
}

#[test]
fn receive_extracts_records_and_writes_a_verifiable_receipt() {
    let s = genuine();
    let (path, clerk, log) = receiver_ledger(s.dir.path());
    let mut ledger = Ledger::open(&path).unwrap();
    let into = s.dir.path().join("in");
    let receipt_path = s.dir.path().join("receipt.json");
    let options = ReceiveOptions {
        verify: trusting(&s.officer),
        authority: Some("Staatsanwaltschaft Berlin".into()),
        received_time: None,
    };
    let outcome = receive(
        &s.package,
        &into,
        &options,
        &mut ledger,
        &clerk,
        &log,
        &receipt_path,
    )
    .unwrap();
    assert_eq!(
        fs::read(into.join("data/C-1-1/disk.img")).unwrap(),
        b"disk image bytes"
    );
    assert_eq!(
        fs::read(into.join("data/C-1-2/sub/b.txt")).unwrap(),
        b"beta"
    );
    assert!(into.join("custody/package.json").is_file());
    assert_eq!(outcome.received_seqs, vec![1, 2]);
    let items = ledger.items(None).unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].size, Some(16));
    let verified = Receipt::parse_and_verify(
        &fs::read(&receipt_path).unwrap(),
        &[clerk.public_key()],
        &[],
    )
    .unwrap();
    assert_eq!(verified.receipt.receipt.package_id, ID);
    assert_eq!(verified.receipt.receipt.received_seq, 1);
    let leftovers: Vec<_> = fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn fail_receive_refused_writes_nothing() {
    let s = genuine();
    let (path, clerk, log) = receiver_ledger(s.dir.path());
    let mut ledger = Ledger::open(&path).unwrap();
    let into = s.dir.path().join("in");
    let receipt_path = s.dir.path().join("receipt.json");
    let before = fs::read_dir(s.dir.path()).unwrap().count();
    let options = ReceiveOptions {
        verify: trusting(&s.officer),
        authority: Some("Procura di Milano".into()),
        received_time: None,
    };
    let err = receive(
        &s.package,
        &into,
        &options,
        &mut ledger,
        &clerk,
        &log,
        &receipt_path,
    )
    .unwrap_err();
    assert!(matches!(err, ReceiveError::Refused { .. }), "{err}");
    assert!(!into.exists() && !receipt_path.exists());
    assert_eq!(ledger.size().unwrap(), 1);
    let after = fs::read_dir(s.dir.path()).unwrap().count();
    assert_eq!(before, after);
}

#[test]
fn fail_receive_into_existing_directory() {
    let s = genuine();
    let (path, clerk, log) = receiver_ledger(s.dir.path());
    let mut ledger = Ledger::open(&path).unwrap();
    let into = s.dir.path().join("in");
    fs::create_dir(&into).unwrap();
    let options = ReceiveOptions {
        verify: trusting(&s.officer),
        ..ReceiveOptions::default()
    };
    let err = receive(
        &s.package,
        &into,
        &options,
        &mut ledger,
        &clerk,
        &log,
        &s.dir.path().join("r.json"),
    )
    .unwrap_err();
    assert!(
        matches!(err, ReceiveError::DestinationExists { .. }),
        "{err}"
    );
    assert_eq!(ledger.size().unwrap(), 1);
}

#[test]
fn fail_receive_undoes_extraction_when_the_ledger_refuses() {
    let s = genuine();
    let (path, _clerk, log) = receiver_ledger(s.dir.path());
    let mut ledger = Ledger::open(&path).unwrap();
    // A key the receiver's ledger never enrolled: the append is refused.
    let intruder = identity("intruder@example.org", 11);
    let into = s.dir.path().join("in");
    let receipt_path = s.dir.path().join("receipt.json");
    let options = ReceiveOptions {
        verify: trusting(&s.officer),
        ..ReceiveOptions::default()
    };
    let err = receive(
        &s.package,
        &into,
        &options,
        &mut ledger,
        &intruder,
        &log,
        &receipt_path,
    )
    .unwrap_err();
    assert!(matches!(err, ReceiveError::Ledger(_)), "{err}");
    assert!(!into.exists() && !receipt_path.exists());
    assert_eq!(ledger.size().unwrap(), 1);
    let leftovers: Vec<_> = fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn fail_directory_item_digests_not_matching_its_file_list() {
    let s = genuine();
    let report = with_statement(&s, |v| v["items"][1]["size"] = serde_json::json!(1));
    assert!(!report.verified);
    let statement: Vec<_> = kinds(&report, FindingGroup::Statement);
    assert!(
        statement.iter().any(|k| matches!(
            k,
            FindingKind::ItemMismatch { item, field: custody_pack::verify::ItemField::Size, .. } if item == "C-1-2"
        )),
        "{statement:#?}"
    );
    assert!(
        statement.iter().any(|k| matches!(
            k,
            FindingKind::ItemNotAsAcquired { item, .. } if item == "C-1-2"
        )),
        "{statement:#?}"
    );
}

/// An edit of a file's text.
type Edit = fn(&str) -> String;

/// The genuine package with one Custody JSON file edited by `edit` and the package signed
/// again by the (trusted) officer, as an insider would: only the canonical-form rule stands
/// between the edit and a verdict.
fn resigned_with_edit(file: &str, edit: impl Fn(&str) -> String) -> PackageReport {
    let s = genuine();
    let mut files = entries(&s.package);
    let name = format!("{ID}/{file}");
    let text = String::from_utf8(files[&name].clone()).unwrap();
    let edited = edit(&text);
    assert_ne!(text, edited, "the edit changed nothing");
    files.insert(name, edited.into_bytes());
    resign(&mut files, &s.officer);
    let bad = s.dir.path().join("bad.zip");
    write_zip(&bad, &files);
    let report = verify_package(&bad, &trusting(&s.officer)).unwrap();
    assert!(!report.verified);
    report
}

/// For each (edit, message) case: the edited, re-signed package is refused with a
/// `Malformed` finding for `file` in `group` whose message contains `message`.
fn expect_malformed(file: &str, group: FindingGroup, cases: &[(Edit, &str)]) {
    for &(edit, expected) in cases {
        let report = resigned_with_edit(file, edit);
        let found = report.group(group).any(|f| {
            f.file.as_deref() == Some(file)
                && matches!(&f.kind, FindingKind::Malformed { error } if error.contains(expected))
        });
        assert!(found, "{expected}: {:#?}", report.findings);
    }
}

#[test]
fn fail_statement_with_duplicate_white_space_or_escape() {
    let cases: [(Edit, &str); 4] = [
        // A second `id` for the second item, in front of the genuine one.
        (
            |t| t.replacen("\"id\":\"C-1-2\"", "\"id\":\"C-1-9\",\"id\":\"C-1-2\"", 1),
            "duplicate member \"id\" in the object at \"/items/1\"",
        ),
        (|t| t.replacen(',', ", ", 1), "white space at byte"),
        (
            |t| t.replacen("Parquet", "\\u0050arquet", 1),
            "string escape \\u0050",
        ),
        (
            |t| t.replacen("\"custody_package\":1", "\"custody_package\":1.0", 1),
            "number 1.0 at \"/custody_package\" is not canonical",
        ),
    ];
    expect_malformed(layout::PACKAGE_JSON, FindingGroup::Statement, &cases);
}

#[test]
fn fail_event_with_duplicate_white_space_or_number() {
    let file = layout::event_path(2);
    let cases: [(Edit, &str); 4] = [
        // A second claimed time inside the signed event: a lenient reader could show either.
        (
            |t| {
                t.replacen(
                    "\"claimed_time\":",
                    "\"claimed_time\":\"2020-01-01T00:00:00Z\",\"claimed_time\":",
                    1,
                )
            },
            "duplicate member \"claimed_time\" in the object at \"/event\"",
        ),
        (|t| format!("{t}\n"), "white space at byte"),
        (
            |t| t.replacen("\"seq\":2", "\"seq\":2.0", 1),
            "number 2.0 at \"/event/seq\" is not canonical",
        ),
        (
            |t| t.replacen("\"v\":1", "\"v\":1e0", 1),
            "number 1e0 at \"/event/v\" is not canonical",
        ),
    ];
    expect_malformed(&file, FindingGroup::Events, &cases);
}

#[test]
fn fail_proof_not_canonical() {
    let file = layout::proof_path(2);
    let cases: [(Edit, &str); 4] = [
        (|t| t.replacen(':', ": ", 1), "white space at byte"),
        (
            |t| t.replacen("\"leaf_index\":2", "\"leaf_index\":2,\"leaf_index\":2", 1),
            "duplicate member \"leaf_index\"",
        ),
        (
            |t| t.replacen("\"leaf_index\":2", "\"leaf_index\":20e-1", 1),
            "number 20e-1 at \"/leaf_index\" is not canonical",
        ),
        (
            |t| t.replacen("{", "{\"extra\":true,", 1),
            "re-encodes differently",
        ),
    ];
    expect_malformed(&file, FindingGroup::Proofs, &cases);
}

/// Enrols the analyst (signed by the officer); with `rotate`, the analyst then rotates to
/// a new key, and `rotated_at` receives the rotation's seq.
fn enrol_analyst(
    rotate: bool,
    rotated_at: &std::cell::Cell<u64>,
) -> impl FnOnce(&mut Ledger, &Identity, &Identity) + '_ {
    move |ledger, officer, log| {
        let analyst = identity("analyst@example.fr", 5);
        let now = "2026-03-01T10:00:00Z";
        ledger
            .append(
                EventDraft::new(EventKind::ActorEnrolled, now).fields(EventFields {
                    public_key: Some(hex_key(&analyst)),
                    actor_info: Some(analyst.info().clone()),
                    ..EventFields::default()
                }),
                officer,
                log,
            )
            .unwrap();
        if rotate {
            // The analyst's own event puts the analyst's key history, the rotation
            // included, into the package.
            let examined = EventDraft::new(EventKind::Examined, now)
                .case("C-1")
                .item("C-1-2");
            ledger.append(examined, &analyst, log).unwrap();
            let new_key = identity("analyst@example.fr", 15);
            let rotation = ledger
                .append(
                    EventDraft::new(EventKind::KeyRotated, now).fields(EventFields {
                        public_key: Some(hex_key(&new_key)),
                        ..EventFields::default()
                    }),
                    &analyst,
                    log,
                )
                .unwrap();
            rotated_at.set(rotation.seq);
        }
    }
}

fn trusting_all(keys: &[Identity]) -> VerifyOptions {
    VerifyOptions {
        trusted: keys
            .iter()
            .map(|k| TrustedKey::Public(k.public_key()))
            .collect(),
        ..VerifyOptions::default()
    }
}

#[test]
fn package_signed_by_an_enrolled_active_key_verifies() {
    let unused = std::cell::Cell::new(0);
    let s = sealed(enrol_analyst(false, &unused), &["analyst"]);
    let analyst = identity("analyst@example.fr", 5);
    let report = verify_package(&s.package, &trusting(&analyst)).unwrap();
    assert!(report.verified, "{:#?}", report.findings);
    assert!(report.signers[0].active && report.signers[0].counts());
}

#[test]
fn fail_package_signed_with_a_rotated_out_key() {
    // The analyst's old key was replaced before the package's checkpoint; a package signed
    // with it afterwards is refused, naming the rotation entry the package itself carries.
    // Seal refuses the rotated-out key, so its holder adds the signature afterwards.
    let rotated_at = std::cell::Cell::new(0);
    let s = sealed(enrol_analyst(true, &rotated_at), &["officer"]);
    let seq = rotated_at.get();
    assert!(seq > 0);
    let analyst = identity("analyst@example.fr", 5);
    countersign(&s.package, &analyst).unwrap();
    let report = verify_package(&s.package, &trusting(&analyst)).unwrap();
    assert!(!report.verified);
    let signer = report
        .signers
        .iter()
        .find(|s| s.name.starts_with("analyst"))
        .unwrap();
    assert!(signer.trusted && signer.valid && !signer.revoked && !signer.active);
    let signature: Vec<_> = kinds(&report, FindingGroup::Signature);
    assert!(
        signature
            .iter()
            .any(|k| matches!(k, FindingKind::RotatedSigner { seq: s, .. } if *s == seq)),
        "{signature:#?}"
    );
    assert_eq!(
        report
            .group(FindingGroup::Signature)
            .find(|f| matches!(f.kind, FindingKind::RotatedSigner { .. }))
            .unwrap()
            .to_string(),
        format!(
            "signature: {}: signer {} was rotated out (key-rotated entry {seq})",
            layout::signature_path(&analyst.verifier_key()),
            analyst.verifier_key()
        )
    );
    // Beside a signature that counts, the rotated-out one still refuses the package.
    let s = sealed(enrol_analyst(true, &rotated_at), &["officer"]);
    countersign(&s.package, &analyst).unwrap();
    let report = verify_package(&s.package, &trusting_all(&[s.officer.clone(), analyst])).unwrap();
    assert!(!report.verified);
    assert!(kinds(&report, FindingGroup::Signature)
        .iter()
        .any(|k| matches!(k, FindingKind::RotatedSigner { .. })));
}

#[test]
fn signer_revoked_after_sealing_is_refused_through_the_verifiers_revocation_list() {
    // Revoked after the package was sealed: the package cannot show it, so it verifies on
    // its own; the verifier's --revoked wins.
    let unused = std::cell::Cell::new(0);
    let s = sealed(enrol_analyst(false, &unused), &["analyst"]);
    let analyst = identity("analyst@example.fr", 5);
    let mut ledger = Ledger::open(&s.dir.path().join("sender.db")).unwrap();
    let log = identity("ledger.example.fr", 2);
    let revoked = ledger.append(
        EventDraft::new(EventKind::KeyRevoked, "2026-03-03T10:00:00Z").fields(EventFields {
            public_key: Some(hex_key(&analyst)),
            ..EventFields::default()
        }),
        &s.officer,
        &log,
    );
    assert!(revoked.is_ok(), "{revoked:?}");
    assert!(
        verify_package(&s.package, &trusting(&analyst))
            .unwrap()
            .verified
    );
    let mut options = trusting(&analyst);
    options.revoked.push(analyst.public_key());
    let report = verify_package(&s.package, &options).unwrap();
    assert!(!report.verified);
    assert!(kinds(&report, FindingGroup::Signature)
        .iter()
        .any(|k| matches!(k, FindingKind::RevokedSigner { seq: None, .. })));
}

#[test]
fn fail_package_signed_only_by_a_trusted_key_outside_the_sender_ledger() {
    // A foreign authority's signature is a countersignature: it never vouches alone for a
    // package whose history is the sender's.
    let s = sealed(|_, _, _| {}, &["officer", "judge"]);
    let report = verify_package(&s.package, &trusting(&judge())).unwrap();
    assert!(!report.verified);
    let judge_status = report
        .signers
        .iter()
        .find(|s| s.name.starts_with("judge"))
        .unwrap();
    assert!(judge_status.trusted && judge_status.valid && !judge_status.active);
    assert!(
        kinds(&report, FindingGroup::Signature)
            .iter()
            .any(|k| matches!(k, FindingKind::SignerNotInSenderLedger { .. })),
        "{:#?}",
        report.findings
    );
    // Beside the sender's own trusted signature it is harmless.
    let report = verify_package(&s.package, &trusting_all(&[s.officer.clone(), judge()])).unwrap();
    assert!(report.verified, "{:#?}", report.findings);
}

/// Two receives of the same package (the same item ids) into one ledger, started at the
/// same moment from two threads with their own ledger handles: exactly one is recorded, the
/// other is refused as holding items the ledger already has, and undoes its extraction.
#[test]
fn fail_concurrent_receives_of_the_same_items_record_one() {
    let s = genuine();
    let (path, clerk, log) = receiver_ledger(s.dir.path());
    let options = ReceiveOptions {
        verify: trusting(&s.officer),
        ..ReceiveOptions::default()
    };
    let start = std::sync::Barrier::new(2);
    let results: Vec<Result<_, ReceiveError>> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..2)
            .map(|n| {
                let (path, clerk, log, options, start) = (&path, &clerk, &log, &options, &start);
                let dir = s.dir.path();
                let package = &s.package;
                scope.spawn(move || {
                    let mut ledger = Ledger::open(path).unwrap();
                    start.wait();
                    receive(
                        package,
                        &dir.join(format!("in-{n}")),
                        options,
                        &mut ledger,
                        clerk,
                        log,
                        &dir.join(format!("receipt-{n}.json")),
                    )
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let succeeded: Vec<usize> = (0..2).filter(|n| results[*n].is_ok()).collect();
    assert_eq!(succeeded.len(), 1, "{results:?}");
    let loser = 1 - succeeded[0];
    assert!(
        matches!(results[loser], Err(ReceiveError::ItemExists { .. })),
        "{:?}",
        results[loser]
    );
    assert!(!s.dir.path().join(format!("in-{loser}")).exists());
    let ledger = Ledger::open(&path).unwrap();
    assert_eq!(ledger.size().unwrap(), 3, "one entry per item, once");
    assert!(ledger.verify(&[]).unwrap().is_clean());
}
