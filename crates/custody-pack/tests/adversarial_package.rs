//! Packages built by someone who has read the verifier: each test edits a genuine package
//! the way an attacker would (re-signing with the trusted key where the attack needs an
//! insider) and asserts the exact refusal.

mod common;

use std::fs;

use common::{
    acquisition, edit_statement, entries, genuine, resign, resigned, sealed, sealed_items,
    trusting, with_statement, write_zip, ID, NOW,
};
use custody_pack::bagit::BagFinding;
use custody_pack::countersign::{countersign, CountersignError};
use custody_pack::limits::MAX_SIGNATURES;
use custody_pack::seal::{seal, SealError};
use custody_pack::verify::{
    verify_package, Finding, FindingGroup, FindingKind, PackageReport, TrustedKey,
};
use custody_pack::zipscan::{entry_name_findings, ZipFinding};
use custody_store::{EventDraft, EventKind, Ledger};

/// The report is NOT VERIFIED and holds a finding in `group` that `wanted` accepts.
fn refused_with(report: &PackageReport, group: FindingGroup, wanted: impl Fn(&Finding) -> bool) {
    assert!(!report.verified);
    let found: Vec<_> = report.group(group).collect();
    assert!(found.iter().any(|f| wanted(f)), "{found:#?}");
}

#[test]
fn fail_statement_lists_an_item_twice() {
    let s = genuine();
    let report = with_statement(&s, |v| {
        let first = v["items"][0].clone();
        v["items"].as_array_mut().unwrap().insert(1, first);
    });
    refused_with(
        &report,
        FindingGroup::Statement,
        |f| matches!(&f.kind, FindingKind::ItemsNotSortedUnique { item } if item == "C-1-1"),
    );
}

#[test]
fn fail_statement_items_out_of_order() {
    let s = genuine();
    let report = with_statement(&s, |v| {
        v["items"].as_array_mut().unwrap().reverse();
    });
    refused_with(
        &report,
        FindingGroup::Statement,
        |f| matches!(&f.kind, FindingKind::ItemsNotSortedUnique { item } if item == "C-1-1"),
    );
}

/// A package whose item C-1-1 has a second event (seq 4, `hash-verified`) after its
/// acquisition.
fn with_hash_check() -> common::Setup {
    sealed(
        |ledger, officer, log| {
            ledger
                .append(
                    EventDraft::new(EventKind::HashVerified, NOW)
                        .case("C-1")
                        .item("C-1-1"),
                    officer,
                    log,
                )
                .unwrap();
        },
        &["officer"],
    )
}

#[test]
fn fail_item_history_omits_an_included_event_about_it() {
    let s = with_hash_check();
    let report = with_statement(&s, |v| {
        assert_eq!(v["items"][0]["events"], serde_json::json!([2, 4]));
        v["items"][0]["events"] = serde_json::json!([2]);
    });
    refused_with(&report, FindingGroup::Events, |f| {
        f.seq == Some(4)
            && matches!(&f.kind, FindingKind::EventNotInHistory { item } if item == "C-1-1")
    });
}

#[test]
fn fail_item_history_lists_an_event_twice_or_out_of_order() {
    for events in [serde_json::json!([2, 4, 4]), serde_json::json!([4, 2])] {
        let s = with_hash_check();
        let report = with_statement(&s, |v| v["items"][0]["events"] = events.clone());
        refused_with(
            &report,
            FindingGroup::Statement,
            |f| matches!(&f.kind, FindingKind::EventsNotSortedUnique { item } if item == "C-1-1"),
        );
    }
}

#[test]
fn fail_entry_outside_the_bag_directory() {
    for name in ["stray.txt", "other/data/x.bin"] {
        let s = genuine();
        let mut files = entries(&s.package);
        files.insert(name.to_owned(), b"unsigned".to_vec());
        let bad = s.dir.path().join("bad.zip");
        write_zip(&bad, &files);
        let report = verify_package(&bad, &trusting(&s.officer)).unwrap();
        assert!(!report.verified, "{name}");
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.file.as_deref() == Some(name)),
            "{name}: {:#?}",
            report.findings
        );
    }
}

#[test]
fn fail_payload_manifest_lists_a_file_twice() {
    let s = genuine();
    let mut files = entries(&s.package);
    let name = format!("{ID}/manifest-sha256.txt");
    let text = String::from_utf8(files[&name].clone()).unwrap();
    let first = text.lines().next().unwrap();
    let (_, path) = first.split_once("  ").unwrap();
    let forged = format!("{}  {path}\n{text}", "0".repeat(64));
    files.insert(name, forged.into_bytes());
    resign(&mut files, &s.officer);
    let bad = s.dir.path().join("bad.zip");
    write_zip(&bad, &files);
    let report = verify_package(&bad, &trusting(&s.officer)).unwrap();
    assert!(!report.verified);
    assert!(
        report.findings.iter().any(|f| matches!(
            &f.kind,
            FindingKind::Bag(BagFinding::DuplicateManifestEntry { file, manifest })
                if file == path && manifest == "manifest-sha256.txt"
        )),
        "{:#?}",
        report.findings
    );
}

/// Items C-1-3 and C-1-4, created by one `acquired` entry (seq 4) recording the digests of
/// `disk.img`, sealed together.
fn with_one_acquisition_of_two_items() -> common::Setup {
    sealed_items(
        |ledger, officer, log| {
            let dir = tempfile::tempdir().unwrap();
            fs::write(dir.path().join("disk.img"), b"disk image bytes").unwrap();
            let draft = acquisition(&dir.path().join("disk.img"), &["C-1-3", "C-1-4"]);
            ledger.append(draft, officer, log).unwrap();
        },
        &["officer"],
        &[("C-1-3", "disk.img"), ("C-1-4", "disk.img")],
    )
}

#[test]
fn fail_item_of_a_shared_acquisition_with_other_bytes() {
    // An insider replaces C-1-4's payload, and states and lists its new digests, then
    // signs again: only the acquisition entry still says what was acquired.
    let s = with_one_acquisition_of_two_items();
    let report = resigned(&s, |files| {
        let payload = format!("{ID}/data/C-1-4/disk.img");
        let forged = b"DISK IMAGE BYTES".to_vec();
        let d = custody_core::hash::hash_reader(forged.as_slice(), &mut |_| {}).unwrap();
        let old = custody_core::hash::hash_reader(files[&payload].as_slice(), &mut |_| {}).unwrap();
        files.insert(payload, forged);
        for (manifest, from, to) in [
            ("manifest-sha256.txt", old.sha256_hex(), d.sha256_hex()),
            ("manifest-blake3.txt", old.blake3_hex(), d.blake3_hex()),
        ] {
            let name = format!("{ID}/{manifest}");
            let text = String::from_utf8(files[&name].clone()).unwrap();
            let line = format!("{from}  data/C-1-4/disk.img");
            assert!(text.contains(&line), "{text}");
            let edited = text.replace(&line, &format!("{to}  data/C-1-4/disk.img"));
            files.insert(name, edited.into_bytes());
        }
        edit_statement(files, |v| {
            let item = &mut v["items"][1];
            assert_eq!(item["id"], "C-1-4");
            item["size"] = serde_json::json!(d.size);
            item["sha256"] = serde_json::json!(d.sha256_hex());
            item["blake3"] = serde_json::json!(d.blake3_hex());
        });
    });
    refused_with(&report, FindingGroup::Statement, |f| {
        matches!(
            &f.kind,
            FindingKind::ItemNotAsAcquired { item, acquired_seq: 4, .. } if item == "C-1-4"
        )
    });
}

#[test]
fn fail_names_equal_once_windows_drops_trailing_dots_and_spaces() {
    for (first, second) in [
        ("P/data/i/a", "P/data/i/a."),
        ("P/data/i/A", "P/data/i/a ."),
        ("P/data/d./x", "P/data/D /y"),
    ] {
        let findings = entry_name_findings([first, second]);
        assert!(
            findings.iter().any(|f| matches!(
                f,
                ZipFinding::CaseCollision { name, other } if name == second && other == first
            )),
            "{second}: {findings:#?}"
        );
    }
}

#[test]
fn fail_proof_for_another_tree_size_or_leaf() {
    // Genuine proofs from the sender ledger, each valid for what it proves, placed where
    // another leaf or the checkpoint's tree is expected.
    let s = genuine();
    let ledger = Ledger::open(&s.dir.path().join("sender.db")).unwrap();
    let cases = [
        (ledger.inclusion_proof(2, 3).unwrap(), 2, 3),
        (ledger.inclusion_proof(3, 4).unwrap(), 3, 4),
    ];
    for (proof, leaf_index, tree_size) in cases {
        let bytes = custody_core::canonical::to_canonical_vec(&proof).unwrap();
        let report = resigned(&s, |files| {
            files.insert(format!("{ID}/custody/proofs/2.json"), bytes);
        });
        refused_with(&report, FindingGroup::Proofs, |f| {
            f.seq == Some(2)
                && f.kind
                    == FindingKind::ProofShape {
                        leaf_index,
                        tree_size,
                        seq: 2,
                        expected_size: 4,
                    }
        });
    }
}

#[test]
fn fail_one_payload_file_claimed_by_two_items() {
    // The sender ledger also records item `C-1-2/sub` (an id seal refuses), acquired from
    // phone/sub/b.txt. An insider adds it to the package with its genuine entry and proof:
    // its payload path is a file of directory item C-1-2, so two items claim one file.
    let s = sealed(
        |ledger, officer, log| {
            let phone = ledger.path().parent().unwrap().join("phone/sub/b.txt");
            let draft = acquisition(&phone, &["C-1-2/sub"]);
            ledger.append(draft, officer, log).unwrap();
        },
        &["officer"],
    );
    let ledger = Ledger::open(&s.dir.path().join("sender.db")).unwrap();
    let entry = ledger.entry(4).unwrap();
    let evidence = entry.signed.event.fields.evidence.clone().unwrap();
    let proof = ledger.inclusion_proof(4, 5).unwrap();
    let report = resigned(&s, |files| {
        files.insert(format!("{ID}/custody/events/4.json"), entry.bytes.clone());
        files.insert(
            format!("{ID}/custody/proofs/4.json"),
            custody_core::canonical::to_canonical_vec(&proof).unwrap(),
        );
        edit_statement(files, |v| {
            assert_eq!(v["checkpoint"]["size"], 5);
            v["items"].as_array_mut().unwrap().push(serde_json::json!({
                "id": "C-1-2/sub",
                "path": "data/C-1-2/sub/b.txt",
                "size": evidence.size,
                "sha256": custody_core::hex::encode(&evidence.sha256),
                "blake3": custody_core::hex::encode(&evidence.blake3),
                "acquired_seq": 4,
                "events": [4],
            }));
        });
    });
    refused_with(&report, FindingGroup::Statement, |f| {
        matches!(
            &f.kind,
            FindingKind::PayloadInTwoItems { path, item, other }
                if path == "data/C-1-2/sub/b.txt" && item == "C-1-2/sub" && other == "C-1-2"
        )
    });
}

/// Key names the signed-note rules accept but a signature file name cannot carry so that
/// verification recognises it: a `/` makes a subdirectory; a decomposed accent or a name
/// over 255 bytes makes an entry name the scan refuses.
fn unfileable_signer_names() -> Vec<String> {
    vec![
        "sta-berlin.example/clerk".into(),
        "cle\u{301}rk".into(),
        "c".repeat(250),
    ]
}

#[test]
fn fail_countersign_with_a_key_name_no_signature_file_can_carry() {
    for (n, name) in unfileable_signer_names().iter().enumerate() {
        let s = genuine();
        let before = fs::read(&s.package).unwrap();
        let signer = common::identity(name, 20 + n as u8);
        let err = countersign(&s.package, &signer).unwrap_err();
        assert!(
            matches!(&err, CountersignError::SignerName { name: found, .. } if found == name),
            "{name:?}: {err}"
        );
        assert_eq!(fs::read(&s.package).unwrap(), before, "{name:?}");
    }
}

#[test]
fn fail_seal_with_a_key_name_no_signature_file_can_carry() {
    for (n, name) in unfileable_signer_names().iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let mut sender = common::sender_with_two_items(dir.path(), "sender.db");
        let signer = common::identity(name, 20 + n as u8);
        let size = sender.ledger.size().unwrap();
        let out = dir.path().join("pkg.zip");
        let err = seal(
            &mut sender.ledger,
            common::seal_request(dir.path()),
            &sender.officer,
            &[sender.officer.clone(), signer],
            &sender.log,
            &out,
            &mut |_| {},
        )
        .unwrap_err();
        assert!(
            matches!(&err, SealError::SignerName { name: found, .. } if found == name),
            "{name:?}: {err}"
        );
        assert!(!out.exists());
        assert_eq!(sender.ledger.size().unwrap(), size);
    }
}

#[test]
fn countersign_stops_at_the_signature_limit_verify_enforces() {
    let s = genuine();
    let mut options = trusting(&s.officer);
    // The officer's signature plus 63 countersignatures: the limit, still verified.
    for n in 1..MAX_SIGNATURES {
        let signer = common::identity(&format!("witness-{n}"), 100 + n as u8);
        countersign(&s.package, &signer).unwrap();
        options
            .trusted
            .push(TrustedKey::Public(signer.public_key()));
    }
    let report = verify_package(&s.package, &options).unwrap();
    assert!(report.verified, "{:#?}", report.findings);
    assert_eq!(report.signers.len(), MAX_SIGNATURES);
    // One past it is refused, and the package is left as it was.
    let before = fs::read(&s.package).unwrap();
    let err = countersign(&s.package, &common::identity("one-too-many", 250)).unwrap_err();
    assert!(
        matches!(err, CountersignError::TooManySignatures { limit } if limit == MAX_SIGNATURES),
        "{err}"
    );
    assert_eq!(fs::read(&s.package).unwrap(), before);
}

#[test]
fn seal_stops_at_the_signature_limit_verify_enforces() {
    let dir = tempfile::tempdir().unwrap();
    let mut sender = common::sender_with_two_items(dir.path(), "sender.db");
    // The officer, active in the sender ledger, signs beside foreign witnesses: seal needs
    // at least one active signer.
    let witnesses: Vec<_> = std::iter::once(sender.officer.clone())
        .chain(
            (1..MAX_SIGNATURES).map(|n| common::identity(&format!("witness-{n}"), 100 + n as u8)),
        )
        .collect();
    let mut seal_with = |signers: &[custody_core::keys::Identity], out: &str| {
        seal(
            &mut sender.ledger,
            common::seal_request(dir.path()),
            &sender.officer,
            signers,
            &sender.log,
            &dir.path().join(out),
            &mut |_| {},
        )
        .map_err(Box::new)
    };
    // The limit: sealed.
    seal_with(&witnesses[..MAX_SIGNATURES], "at-limit.zip").unwrap();
    // One past it: refused before anything is written or recorded.
    let mut past = witnesses.clone();
    past.push(common::identity("one-too-many", 250));
    let err = seal_with(&past, "past-limit.zip").unwrap_err();
    assert!(
        matches!(*err, SealError::TooManySignatures { count, limit }
            if count == MAX_SIGNATURES + 1 && limit == MAX_SIGNATURES),
        "{err}"
    );
    assert!(!dir.path().join("past-limit.zip").exists());
}
