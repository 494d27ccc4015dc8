//! `custody_pack::audit`: the report model over a ledger and a package, each custody gap
//! made by a ledger written for it (`fail_*`), the verdict, and the renderers' escaping.

mod common;

use std::path::Path;

use common::{identity, seal_request, sender_with_two_items, Sender, NOW};
use custody_core::hash::Digests;
use custody_pack::audit::{
    self, audit_ledger, audit_package, AuditReport, LedgerAuditOptions, SignatureStatus, Verdict,
};
use custody_pack::seal::{seal, SealRequest};
use custody_store::{CheckResult, EventDraft, EventFields, EventKind, Ledger};

const LATER: &str = "2026-03-01T12:00:00+02:00";

fn ledger() -> (tempfile::TempDir, Sender) {
    let dir = tempfile::tempdir().unwrap();
    let sender = sender_with_two_items(dir.path(), "sender.db");
    (dir, sender)
}

fn append(s: &mut Sender, kind: EventKind, item: &str, fields: EventFields) -> u64 {
    s.ledger
        .append(
            EventDraft::new(kind, LATER)
                .case("C-1")
                .item(item)
                .fields(fields),
            &s.officer,
            &s.log,
        )
        .unwrap()
        .seq
}

fn audit(s: &Sender) -> AuditReport {
    audit_ledger(&s.ledger, &LedgerAuditOptions::default()).unwrap()
}

/// The (code, item, seq) of every finding.
fn codes(report: &AuditReport) -> Vec<(String, Option<String>, Option<u64>)> {
    report
        .findings
        .iter()
        .map(|f| (f.code.clone(), f.item.clone(), f.seq))
        .collect()
}

fn gap(code: &str, item: &str, seq: u64) -> (String, Option<String>, Option<u64>) {
    (code.to_owned(), Some(item.to_owned()), Some(seq))
}

fn to(text: &str) -> EventFields {
    EventFields {
        to: Some(text.into()),
        ..EventFields::default()
    }
}

fn digests_of(s: &Sender, item: &str) -> Digests {
    let record = s
        .ledger
        .items(None)
        .unwrap()
        .into_iter()
        .find(|r| r.item == item)
        .unwrap();
    let mut sha256 = [0u8; 32];
    let mut blake3 = [0u8; 32];
    sha256.copy_from_slice(&custody_core::hex::decode(record.sha256.as_deref().unwrap()).unwrap());
    blake3.copy_from_slice(&custody_core::hex::decode(record.blake3.as_deref().unwrap()).unwrap());
    Digests {
        size: record.size.unwrap(),
        sha256,
        blake3,
    }
}

#[test]
fn a_clean_ledger_verifies_with_each_items_timeline_and_holder() {
    let (_dir, mut s) = ledger();
    let stored = append(
        &mut s,
        EventKind::Stored,
        "C-1-1",
        EventFields {
            place: Some("Evidence room 3".into()),
            ..EventFields::default()
        },
    );
    let report = audit(&s);
    assert_eq!(report.verdict, Verdict::Verified);
    assert_eq!(codes(&report), vec![]);
    assert_eq!(report.items.len(), 2);
    let item = &report.items[0];
    assert_eq!(item.id, "C-1-1");
    assert_eq!(
        item.path.as_deref(),
        Some(
            s.ledger
                .path()
                .parent()
                .unwrap()
                .join("disk.img")
                .to_str()
                .unwrap()
        )
    );
    assert_eq!(item.sha256, Some(digests_of(&s, "C-1-1").sha256_hex()));
    let kinds: Vec<&str> = item.timeline.iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(kinds, ["acquired", "stored"]);
    let last = &item.timeline[1];
    assert_eq!(last.seq, stored);
    // UTC with the offset the actor gave.
    assert_eq!(last.time, "2026-03-01T10:00:00Z");
    assert_eq!(last.offset, "+02:00");
    assert_eq!(last.place.as_deref(), Some("Evidence room 3"));
    assert_eq!(last.actor.name, "officer@example.fr");
    assert_eq!(last.signature, SignatureStatus::Verified);
    assert_eq!(item.holder.as_ref().unwrap().name, "officer@example.fr");
    assert_eq!(report.checkpoints.len(), 1);
    assert!(report.checkpoints[0].verified);
    assert_eq!(report.checkpoints[0].size, Some(s.ledger.size().unwrap()));
}

#[test]
fn fail_transfer_without_receipt_is_a_gap_until_acknowledged() {
    let (_dir, mut s) = ledger();
    let digest = "ab".repeat(32);
    let fields = EventFields {
        to: Some("Staatsanwaltschaft Berlin".into()),
        package_digest: Some(digest.clone()),
        ..EventFields::default()
    };
    let transfer = append(&mut s, EventKind::Transferred, "C-1-1", fields);
    let report = audit(&s);
    assert_eq!(
        codes(&report),
        vec![gap("gap_transfer_without_receipt", "C-1-1", transfer)]
    );
    // A gap is shown, but the record itself verified.
    assert_eq!(report.verdict, Verdict::Verified);
    let holder = report.items[0].holder.as_ref().unwrap();
    assert_eq!(holder.name, "Staatsanwaltschaft Berlin");
    assert_eq!(holder.key, None);

    // A receipt for another package does not match.
    let other = EventFields {
        package_digest: Some("cd".repeat(32)),
        ..EventFields::default()
    };
    append(&mut s, EventKind::Acknowledged, "C-1-1", other);
    assert_eq!(
        codes(&audit(&s)),
        vec![gap("gap_transfer_without_receipt", "C-1-1", transfer)]
    );
    let receipt = EventFields {
        package_digest: Some(digest),
        ..EventFields::default()
    };
    append(&mut s, EventKind::Acknowledged, "C-1-1", receipt);
    assert_eq!(codes(&audit(&s)), vec![]);
}

#[test]
fn fail_transfer_to_nobody_named_is_refused_so_no_holder_is_lost() {
    let (_dir, mut s) = ledger();
    let err = s
        .ledger
        .append(
            EventDraft::new(EventKind::Transferred, LATER)
                .case("C-1")
                .item("C-1-2"),
            &s.officer,
            &s.log,
        )
        .unwrap_err();
    assert!(
        matches!(err, custody_store::StoreError::MissingRecipient { .. }),
        "{err:?}"
    );
    let report = audit(&s);
    assert_eq!(codes(&report), vec![]);
    assert!(report.items[1].holder.is_some());
}

#[test]
fn fail_item_handled_here_while_transferred_away() {
    let (_dir, mut s) = ledger();
    let transfer = append(&mut s, EventKind::Transferred, "C-1-1", to("BKA"));
    let examined = append(&mut s, EventKind::Examined, "C-1-1", EventFields::default());
    let codes = codes(&audit(&s));
    assert!(
        codes.contains(&gap("gap_no_known_holder", "C-1-1", examined)),
        "{codes:?}"
    );
    assert!(codes.contains(&gap("gap_transfer_without_receipt", "C-1-1", transfer)));
}

#[test]
fn fail_item_returned_by_someone_it_was_not_transferred_to() {
    let (_dir, mut s) = ledger();
    append(&mut s, EventKind::Transferred, "C-1-1", to("BKA"));
    let back = append(
        &mut s,
        EventKind::Returned,
        "C-1-1",
        EventFields {
            from: Some("Europol".into()),
            to: Some("Parquet de Paris".into()),
            ..EventFields::default()
        },
    );
    assert!(codes(&audit(&s)).contains(&gap("gap_no_known_holder", "C-1-1", back)));

    // Returned by the recipient itself: no holder gap.
    let (_dir, mut s) = ledger();
    append(&mut s, EventKind::Transferred, "C-1-1", to("BKA"));
    append(
        &mut s,
        EventKind::Returned,
        "C-1-1",
        EventFields {
            from: Some("BKA".into()),
            to: Some("Parquet de Paris".into()),
            ..EventFields::default()
        },
    );
    let codes = codes(&audit(&s));
    assert!(
        !codes.iter().any(|c| c.0 == "gap_no_known_holder"),
        "{codes:?}"
    );
}

#[test]
fn fail_examination_not_followed_by_a_hash_reverification() {
    let (_dir, mut s) = ledger();
    let examined = append(&mut s, EventKind::Examined, "C-1-1", EventFields::default());
    let stored = append(&mut s, EventKind::Stored, "C-1-1", EventFields::default());
    let report = audit(&s);
    assert_eq!(
        codes(&report),
        vec![gap("gap_examination_not_reverified", "C-1-1", examined)]
    );
    assert!(report.findings[0]
        .message
        .contains(&format!("entry {stored}")));
    assert_eq!(report.verdict, Verdict::Verified);

    // Examined last, never re-verified.
    let (_dir, mut s) = ledger();
    let examined = append(&mut s, EventKind::Examined, "C-1-2", EventFields::default());
    assert_eq!(
        codes(&audit(&s)),
        vec![gap("gap_examination_not_reverified", "C-1-2", examined)]
    );
}

#[test]
fn an_examination_followed_by_a_matching_reverification_is_no_gap() {
    let (_dir, mut s) = ledger();
    append(&mut s, EventKind::Examined, "C-1-1", EventFields::default());
    let digests = digests_of(&s, "C-1-1");
    let fields = EventFields {
        expected: Some(digests),
        found: Some(digests),
        result: Some(CheckResult::Pass),
        ..EventFields::default()
    };
    append(&mut s, EventKind::HashVerified, "C-1-1", fields);
    append(&mut s, EventKind::Stored, "C-1-1", EventFields::default());
    let report = audit(&s);
    assert_eq!(codes(&report), vec![]);
    assert_eq!(report.verdict, Verdict::Verified);
}

#[test]
fn fail_hash_reverification_failed_fails_the_verdict() {
    let (_dir, mut s) = ledger();
    let fields = EventFields {
        result: Some(CheckResult::Fail),
        ..EventFields::default()
    };
    let check = append(&mut s, EventKind::HashVerified, "C-1-1", fields);
    let report = audit(&s);
    assert_eq!(
        codes(&report),
        vec![gap("gap_hash_verification_failed", "C-1-1", check)]
    );
    assert_eq!(report.verdict, Verdict::Failed);
}

#[test]
fn fail_hash_reverification_claiming_pass_over_other_digests() {
    // The entry says "pass" but the digests it found are not the item's.
    let (_dir, mut s) = ledger();
    let mut found = digests_of(&s, "C-1-1");
    found.sha256[0] ^= 1;
    let fields = EventFields {
        expected: Some(found),
        found: Some(found),
        result: Some(CheckResult::Pass),
        ..EventFields::default()
    };
    let check = append(&mut s, EventKind::HashVerified, "C-1-1", fields);
    let report = audit(&s);
    assert_eq!(
        codes(&report),
        vec![gap("gap_hash_verification_failed", "C-1-1", check)]
    );
    assert_eq!(report.verdict, Verdict::Failed);
}

#[test]
fn a_case_audit_shows_only_that_case_and_an_unknown_case_is_an_error() {
    let (_dir, mut s) = ledger();
    s.ledger
        .append(
            EventDraft::new(EventKind::CaseOpened, NOW).case("C-2"),
            &s.officer,
            &s.log,
        )
        .unwrap();
    s.ledger
        .append(
            EventDraft::new(EventKind::Acquired, NOW)
                .case("C-2")
                .item("C-2-1"),
            &s.officer,
            &s.log,
        )
        .unwrap();
    let options = LedgerAuditOptions {
        case: Some("C-2".into()),
        ..LedgerAuditOptions::default()
    };
    let report = audit_ledger(&s.ledger, &options).unwrap();
    let ids: Vec<&str> = report.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["C-2-1"]);
    let options = LedgerAuditOptions {
        case: Some("C-9".into()),
        ..LedgerAuditOptions::default()
    };
    assert!(matches!(
        audit_ledger(&s.ledger, &options),
        Err(audit::AuditError::NoSuchCase { case }) if case == "C-9"
    ));
}

/// Changes entry `seq`'s bytes with SQL, as someone who can write the file would.
fn tamper(db: &Path, seq: u64, from: &str, to: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("DROP TRIGGER IF EXISTS entries_no_update;")
        .unwrap();
    let entry: Vec<u8> = conn
        .query_row("SELECT entry FROM entries WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .unwrap();
    let changed = String::from_utf8(entry).unwrap().replace(from, to);
    conn.execute(
        "UPDATE entries SET entry = ?1 WHERE seq = ?2",
        rusqlite::params![changed.as_bytes(), seq],
    )
    .unwrap();
}

#[test]
fn fail_tampered_ledger_fails_and_shows_no_unverified_history() {
    let (dir, mut s) = ledger();
    let stored = append(
        &mut s,
        EventKind::Stored,
        "C-1-1",
        EventFields {
            place: Some("Evidence room 3".into()),
            ..EventFields::default()
        },
    );
    let path = dir.path().join("sender.db");
    drop(s);
    tamper(&path, stored, "Evidence room 3", "Evidence room 4");
    let ledger = Ledger::open(&path).unwrap();
    let report = audit_ledger(&ledger, &LedgerAuditOptions::default()).unwrap();
    assert_eq!(report.verdict, Verdict::Failed);
    let codes = codes(&report);
    assert!(codes.iter().any(|c| c.2 == Some(stored)), "{codes:?}");
    assert!(
        codes.iter().any(|c| c.0 == "history_unverifiable"),
        "{codes:?}"
    );
    assert!(report.items.is_empty());
    let html = audit::html::render(&report);
    assert!(!html.contains("Evidence room 4"));
    let verdict_at = html.find("<span class=\"word\">FAILED</span>").unwrap();
    assert!(verdict_at < html.find("id=\"findings\"").unwrap());
}

fn sealed_with(
    request: impl FnOnce(SealRequest) -> SealRequest,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    custody_core::keys::Identity,
) {
    let dir = tempfile::tempdir().unwrap();
    let Sender {
        mut ledger,
        officer,
        log,
    } = sender_with_two_items(dir.path(), "sender.db");
    let package = dir.path().join("pkg.zip");
    seal(
        &mut ledger,
        request(seal_request(dir.path())),
        &officer,
        std::slice::from_ref(&officer),
        &log,
        &package,
        &mut |_| {},
    )
    .unwrap();
    (dir, package, officer)
}

fn at(date: time::Date) -> Option<time::OffsetDateTime> {
    Some(date.midnight().assume_utc())
}

#[test]
fn fail_package_item_past_its_retention_date() {
    let (_dir, package, officer) = sealed_with(|r| SealRequest {
        retention_until: Some("2031-12-31".into()),
        use_limitations: vec!["only for case 7 Js 1234/26".into()],
        ..r
    });
    let options = common::trusting(&officer);
    let before =
        audit_package(&package, &options, at(time::macros::date!(2031 - 12 - 31))).unwrap();
    assert_eq!(before.verdict, Verdict::Verified);
    assert_eq!(codes(&before), vec![]);
    assert_eq!(before.items.len(), 2);
    assert_eq!(
        before.items[0].retention_until.as_deref(),
        Some("2031-12-31")
    );
    assert_eq!(before.signers.len(), 1);
    assert!(before.signers[0].counts);
    assert_eq!(before.checkpoints.len(), 1);
    assert!(before.checkpoints[0].verified);
    let kinds: Vec<&str> = before.items[0]
        .timeline
        .iter()
        .map(|t| t.kind.as_str())
        .collect();
    assert_eq!(kinds, ["acquired"]);

    let after = audit_package(&package, &options, at(time::macros::date!(2032 - 01 - 01))).unwrap();
    let codes = codes(&after);
    assert_eq!(
        codes,
        vec![
            (
                "gap_retention_expired".to_owned(),
                Some("C-1-1".to_owned()),
                None
            ),
            (
                "gap_retention_expired".to_owned(),
                Some("C-1-2".to_owned()),
                None
            ),
        ]
    );
    assert_eq!(after.verdict, Verdict::Verified);
}

#[test]
fn fail_package_untrusted_or_tampered_fails_the_verdict() {
    let (_dir, package, _officer) = sealed_with(|r| r);
    let stranger = identity("stranger@example.org", 9);
    let report = audit_package(&package, &common::trusting(&stranger), None).unwrap();
    assert_eq!(report.verdict, Verdict::Failed);
    assert!(report
        .findings
        .iter()
        .any(|f| f.fails_verdict && f.code == "no_trusted_signature"));
}

/// Strings an attacker can put in a ledger: markup, quotes that would end an attribute,
/// bidirectional overrides, terminal escapes.
const HOSTILE: &str = "<script>alert(1)</script>\"' onmouseover=\"x\u{202E}gpj.exe\u{1b}[2J";

#[test]
fn fail_hostile_strings_are_escaped_in_html_and_kept_raw_in_json() {
    let (_dir, mut s) = ledger();
    s.ledger
        .append(
            EventDraft::new(EventKind::Acquired, NOW)
                .case("C-1")
                .item(HOSTILE)
                .fields(EventFields {
                    place: Some(HOSTILE.into()),
                    notes: Some(HOSTILE.into()),
                    ..EventFields::default()
                }),
            &s.officer,
            &s.log,
        )
        .unwrap();
    append(&mut s, EventKind::Transferred, HOSTILE, to(HOSTILE));
    let report = audit(&s);
    let html = audit::html::render(&report);
    for raw in [
        "<script",
        "\u{202E}",
        "\u{1b}",
        "\" onmouseover",
        "' onmouseover",
    ] {
        assert!(!html.contains(raw), "{raw:?} reached the HTML");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39; onmouseover=&quot;x[U+202E]gpj.exe[U+001B][2J"));
    assert!(html.contains(&format!("data-item=\"{}\"", audit::html::escape(HOSTILE))));
    // The only script-like content is none at all, and nothing is fetched.
    assert!(!html.to_ascii_lowercase().contains("<script"));
    assert!(!html.contains("src="));
    assert!(html.contains("default-src 'none'"));
    let json = serde_json::to_value(&report).unwrap();
    let item = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == HOSTILE)
        .unwrap();
    assert_eq!(item["timeline"][0]["place"], HOSTILE);
    let jsonld = audit::case_uco::export(&report).to_string();
    let back: serde_json::Value = serde_json::from_str(&jsonld).unwrap();
    assert!(back["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["investigation:exhibitNumber"] == HOSTILE));
}

#[test]
fn json_follows_the_common_vocabulary() {
    let (_dir, mut s) = ledger();
    append(&mut s, EventKind::Examined, "C-1-1", EventFields::default());
    let json = serde_json::to_value(audit(&s)).unwrap();
    assert_eq!(json["verdict"], "verified");
    let finding = &json["findings"][0];
    assert_eq!(finding["code"], "gap_examination_not_reverified");
    assert_eq!(finding["item"], "C-1-1");
    assert!(finding["message"].as_str().unwrap().contains("C-1-1"));
    let item = &json["items"][0];
    for key in ["id", "path", "size", "sha256", "blake3"] {
        assert!(!item[key].is_null(), "{key}");
    }
    let entry = &item["timeline"][1];
    assert_eq!(entry["time"], "2026-03-01T10:00:00Z");
    assert_eq!(entry["offset"], "+02:00");
}

#[test]
fn case_uco_export_carries_hashes_exhibits_authorizations_and_markings() {
    let (_dir, package, officer) = sealed_with(|r| SealRequest {
        use_limitations: vec!["only for case 7 Js 1234/26".into()],
        request: custody_pack::package::RequestInfo {
            legal_basis: Some("MLA treaty art. 3".into()),
            ..Default::default()
        },
        ..r
    });
    let report = audit_package(&package, &common::trusting(&officer), None).unwrap();
    let doc = audit::case_uco::export(&report);
    let graph = doc["@graph"].as_array().unwrap();
    let of_type = |t: &str| graph.iter().filter(move |n| n["@type"] == t).count();
    assert_eq!(of_type("observable:File"), 2);
    assert_eq!(of_type("investigation:ProvenanceRecord"), 2);
    assert_eq!(of_type("investigation:InvestigativeAction"), 2);
    assert_eq!(of_type("investigation:Authorization"), 1);
    assert_eq!(of_type("marking:MarkingDefinition"), 1);
    assert_eq!(of_type("investigation:Investigation"), 1);
    let text = doc.to_string();
    assert!(text.contains("\"uco-types:Hash\""));
    assert!(text.contains(&report.items[0].sha256.clone().unwrap()));
    // Every node IRI is unique and ends in a UUID.
    let ids: std::collections::BTreeSet<&str> =
        graph.iter().map(|n| n["@id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), graph.len());
    assert!(ids
        .iter()
        .all(|i| i.starts_with("urn:uuid:") && i.len() == 45));
    // The same report exports to the same bytes.
    assert_eq!(audit::case_uco::export(&report), doc);
}

#[test]
fn a_two_signature_hand_over_and_its_custody_form_appear_in_every_rendering() {
    let (_dir, mut s) = ledger();
    let analyst = custody_core::keys::Identity::from_seed(
        custody_core::keys::ActorInfo {
            name: "analyst@example.fr".into(),
            role: Some("analyst".into()),
            organisation: Some("Laboratoire <central>".into()),
            jurisdiction: Some("FR".into()),
            full_name: Some("Zoë Ångström-Nguyễn".into()),
        },
        [5; 32],
    )
    .unwrap();
    let hex_of =
        |id: &custody_core::keys::Identity| custody_core::hex::encode(&id.public_key().to_bytes());
    s.ledger
        .append(
            EventDraft::new(EventKind::ActorEnrolled, NOW).fields(EventFields {
                public_key: Some(hex_of(&analyst)),
                actor_info: Some(analyst.info().clone()),
                ..EventFields::default()
            }),
            &s.officer,
            &s.log,
        )
        .unwrap();
    let fields = EventFields {
        from_actor: Some(hex_of(&s.officer)),
        to_actor: Some(hex_of(&analyst)),
        description: Some("laptop, \"grey\"".into()),
        seals: Some(vec!["SEAL-0001".into(), "<b>SEAL-0002</b>".into()]),
        device: Some(custody_store::Device {
            make: Some("Lenovo".into()),
            model: Some("T14".into()),
            serial_number: Some("PF-123".into()),
        }),
        ..EventFields::default()
    };
    let handover = s
        .ledger
        .append_cosigned(
            EventDraft::new(EventKind::CheckedOut, LATER)
                .case("C-1")
                .item("C-1-1")
                .fields(fields),
            &s.officer,
            &analyst,
            &s.log,
        )
        .unwrap()
        .seq;
    let report = audit(&s);
    assert_eq!(report.verdict, Verdict::Verified, "{:?}", report.findings);
    let item = &report.items[0];
    let entry = item.timeline.iter().find(|t| t.seq == handover).unwrap();
    assert_eq!(entry.actor.name, "officer@example.fr");
    assert_eq!(entry.to_actor.as_ref().unwrap().name, "analyst@example.fr");
    assert_eq!(item.holder.as_ref().unwrap().name, "analyst@example.fr");
    assert_eq!(item.form.seals.as_ref().unwrap().len(), 2);
    assert_eq!(
        entry.form.as_ref().unwrap().description.as_deref(),
        Some("laptop, \"grey\"")
    );

    let html = audit::html::render(&report);
    assert!(html.contains("Received by"));
    assert!(html.contains("signed by both"));
    assert!(html.contains("&lt;b&gt;SEAL-0002&lt;/b&gt;"));
    assert!(html.contains("Laboratoire &lt;central&gt;"));
    // The holder's full name as enrolled, beside the key name.
    assert!(html.contains("<bdi>Zoë Ångström-Nguyễn</bdi> [<bdi>analyst@example.fr</bdi>]"));
    assert!(!html.contains("<b>SEAL"));
    let json = serde_json::to_value(&report).unwrap();
    let entry = json["items"][0]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["seq"] == handover)
        .unwrap()
        .clone();
    assert_eq!(entry["to_actor"]["name"], "analyst@example.fr");
    assert_eq!(entry["to_actor"]["full_name"], "Zoë Ångström-Nguyễn");
    assert_eq!(entry["form"]["device"]["serial_number"], "PF-123");
    let doc = audit::case_uco::export(&report).to_string();
    assert!(doc.contains("\"observable:DeviceFacet\""));
    assert!(doc.contains("\"observable:serialNumber\":\"PF-123\""));
    conforms_when_case_validate_is_available(&doc);
}

/// Runs `case_validate` (PyPI case-utils, on PATH after `source scripts/validators.sh`) on
/// `doc` when it is installed; `.ci/run` always validates the demo's export.
fn conforms_when_case_validate_is_available(doc: &str) {
    if std::process::Command::new("case_validate")
        .arg("--help")
        .output()
        .is_err()
    {
        eprintln!("case_validate not on PATH: CASE/UCO conformance is checked by .ci/run");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("custody.jsonld");
    std::fs::write(&path, doc).unwrap();
    // BLAKE3 is outside UCO's open hash vocabulary: reported at severity Info only.
    let out = std::process::Command::new("case_validate")
        .arg("--allow-info")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn fail_received_item_past_retention_with_its_access_record_in_a_ledger_audit() {
    use custody_store::conditions::TransferConditions;
    let (_dir, mut s) = ledger();
    let received = EventFields {
        from: Some("Parquet de Paris".into()),
        conditions: Some(TransferConditions {
            use_limitations: vec!["case C-1 only".into()],
            confidential: true,
            personal_data: vec!["communications".into()],
            retention_until: Some("2031-12-31".into()),
        }),
        ..EventFields::default()
    };
    append(&mut s, EventKind::Received, "R-1", received);
    let examined = append(
        &mut s,
        EventKind::Examined,
        "R-1",
        EventFields {
            purpose: Some("extract call records".into()),
            ..EventFields::default()
        },
    );
    let disclosed = append(&mut s, EventKind::Disclosed, "R-1", to("Defence counsel"));
    let at_date = |date| LedgerAuditOptions {
        now: at(date),
        ..LedgerAuditOptions::default()
    };
    let before = audit_ledger(&s.ledger, &at_date(time::macros::date!(2031 - 12 - 31))).unwrap();
    let item = before.items.iter().find(|i| i.id == "R-1").unwrap();
    assert_eq!(item.retention_until.as_deref(), Some("2031-12-31"));
    let access: Vec<(u64, &str, Option<&str>)> = item
        .access
        .iter()
        .map(|a| (a.seq, a.kind.as_str(), a.to.as_deref()))
        .collect();
    assert_eq!(
        access,
        [
            (examined, "examined", None),
            (disclosed, "disclosed", Some("Defence counsel"))
        ]
    );
    assert!(!codes(&before)
        .iter()
        .any(|(code, _, _)| code == "gap_retention_expired"));
    let html = audit::html::render(&before);
    assert!(
        html.contains("Defence counsel"),
        "access record in the HTML"
    );

    let after = audit_ledger(&s.ledger, &at_date(time::macros::date!(2032 - 01 - 01))).unwrap();
    assert!(codes(&after).contains(&(
        "gap_retention_expired".to_owned(),
        Some("R-1".to_owned()),
        None
    )));
    // Destroyed, it is past nothing.
    let mut destroyed = EventFields {
        method: Some("secure erase".into()),
        legal_authority: Some("order 2032/1".into()),
        ..EventFields::default()
    };
    destroyed.purpose = Some("retention ended".into());
    append(&mut s, EventKind::Destroyed, "R-1", destroyed);
    let gone = audit_ledger(&s.ledger, &at_date(time::macros::date!(2032 - 01 - 01))).unwrap();
    assert!(!codes(&gone)
        .iter()
        .any(|(code, _, _)| code == "gap_retention_expired"));
}
