//! `custody audit` through the real binary: a ledger (a case, or all) and a package, the
//! verdict and its exit code (0 verified, 1 a finding fails it, 2 could not run), gaps that
//! are shown without failing it, the HTML and CASE/UCO files written whole, and a tampered
//! ledger whose report says so first.

use crate::harness::Sandbox;
use crate::ledger::{custody, ledger_with_alice, tamper_entry, with_bob_case_and_item};
use crate::verify::sandbox_with;

fn audited_ledger() -> Sandbox {
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
            "Evidence room 3",
        ],
    )
    .expect(0);
    sb
}

fn codes(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_verified_ledger_case_gives_exit_0_html_and_case_uco() {
    let sb = audited_ledger();
    let run = custody(
        &sb,
        &[
            "audit",
            "--case",
            "C-1",
            "--html",
            "report.html",
            "--case-uco",
            "custody.jsonld",
            "--json",
        ],
    )
    .expect(0);
    let report = run.json();
    assert_eq!(report["verdict"], "verified");
    assert_eq!(codes(&report), Vec::<String>::new());
    assert_eq!(report["scope"]["case"], "C-1");
    let item = &report["items"][0];
    assert_eq!(item["id"], "C-1-1");
    let kinds: Vec<&str> = item["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["acquired", "stored"]);
    assert_eq!(item["timeline"][1]["place"], "Evidence room 3");

    let html = std::fs::read_to_string(sb.path("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // One case was checked, not the whole ledger: the report says so where it gives its
    // verdict.
    assert!(html.contains("<span class=\"word\">VERIFIED FOR THIS CASE</span>"));
    assert_eq!(report["scope"]["coverage"]["check"], "case");
    assert!(html.contains("data-item=\"C-1-1\""));
    assert!(html.contains("Evidence room 3"));
    let jsonld: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sb.path("custody.jsonld")).unwrap()).unwrap();
    assert!(jsonld["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["investigation:exhibitNumber"] == "C-1-1"));
    // Written whole: nothing but the two files and the ledger's own.
    let mut left: Vec<String> = std::fs::read_dir(sb.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    left.sort();
    assert_eq!(left, Vec::<String>::new());

    let text = custody(&sb, &["audit"]).expect(0);
    assert!(
        text.stdout.starts_with("verified: ledger custody.db: 1 item(s), 2 item event(s); 0 finding(s) failing the verdict, 0 custody gap(s)\n"),
        "{}",
        text.stdout
    );
}

#[test]
fn fail_tampered_ledger_exit_1_and_the_report_says_so_first() {
    let sb = audited_ledger();
    tamper_entry(
        &sb.path("custody.db"),
        4,
        "Evidence room 3",
        "Evidence room 4",
    );
    let run = custody(&sb, &["audit", "--html", "report.html"]).expect(1);
    assert!(
        run.stdout.starts_with("FAILED: ledger custody.db"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("entry 4"), "{}", run.stdout);
    let html = std::fs::read_to_string(sb.path("report.html")).unwrap();
    let failed = html.find("<span class=\"word\">FAILED</span>").unwrap();
    assert!(failed < html.find("id=\"findings\"").unwrap());
    assert!(html.contains("data-verdict=\"failed\""));
    assert!(!html.contains("Evidence room 4"));
    let report = custody(&sb, &["audit", "--json"]).expect(1).json();
    assert_eq!(report["verdict"], "failed");
    assert!(codes(&report).contains(&"history_unverifiable".to_owned()));
}

#[test]
fn fail_examination_not_reverified_is_a_gap_and_a_failed_reverification_exit_1() {
    let sb = audited_ledger();
    custody(&sb, &["event", "C-1-1", "examined", "--key", "bob.key"]).expect(0);
    let report = custody(&sb, &["audit", "--json"]).expect(0).json();
    assert_eq!(report["verdict"], "verified");
    assert_eq!(codes(&report), ["gap_examination_not_reverified"]);
    assert_eq!(report["findings"][0]["item"], "C-1-1");
    assert_eq!(report["findings"][0]["fails_verdict"], false);

    std::fs::write(sb.path("disk.img"), b"seized disk image bytes, altered").unwrap();
    custody(
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
    .expect(1);
    let run = custody(&sb, &["audit"]).expect(1);
    assert!(run.stdout.starts_with("FAILED:"), "{}", run.stdout);
    assert!(
        run.stdout.contains("gap gap_examination_not_reverified")
            && run.stdout.contains("finding gap_hash_verification_failed"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_package_audit_verifies_as_verify_does_and_shows_its_gaps() {
    let sb = sandbox_with("pkg.zip");
    let report = custody(
        &sb,
        &[
            "audit",
            "--package",
            "pkg.zip",
            "--trust",
            "officer.pub",
            "--json",
            "--html",
            "pkg.html",
        ],
    )
    .expect(0)
    .json();
    assert_eq!(report["verdict"], "verified");
    assert_eq!(report["scope"]["kind"], "package");
    assert_eq!(report["package"]["id"], "PKG-1");
    assert_eq!(report["signers"][0]["counts"], true);
    // The base ledger examined C-1-1 and never re-verified it before sealing.
    assert_eq!(codes(&report), ["gap_examination_not_reverified"]);
    assert_eq!(report["items"].as_array().unwrap().len(), 2);
    let html = std::fs::read_to_string(sb.path("pkg.html")).unwrap();
    assert!(html.contains("Package terms"));

    let untrusted = custody(
        &sb,
        &["audit", "--package", "pkg.zip", "--trust", "stranger.pub"],
    )
    .expect(1);
    assert!(
        untrusted.stdout.starts_with("FAILED: package pkg.zip"),
        "{}",
        untrusted.stdout
    );
}

#[test]
fn fail_audits_that_cannot_run_exit_2_and_write_nothing() {
    let sb = audited_ledger();
    let run = custody(&sb, &["audit", "--case", "C-9", "--html", "r.html"]).expect(2);
    assert!(
        run.stderr.contains("case \"C-9\" is not in the ledger"),
        "{}",
        run.stderr
    );
    assert!(!sb.path("r.html").exists());
    custody(&sb, &["audit", "--package", "missing.zip"]).expect(2);
    custody(&sb, &["audit", "--package", "x.zip", "--case", "C-1"]).expect(2);
    let run = custody(&sb, &["audit", "--html", "no/such/dir/r.html"]).expect(2);
    assert!(run.stderr.contains("no/such/dir/r.html"), "{}", run.stderr);
    // A report never replaces the ledger it audits (by any name), nor the other report.
    let ledger = std::fs::read(sb.path("custody.db")).unwrap();
    for dest in ["custody.db", "./custody.db"] {
        let run = custody(&sb, &["audit", "--html", dest]).expect(2);
        assert!(
            run.stderr.contains("refusing to write the report over"),
            "{}",
            run.stderr
        );
        let run = custody(&sb, &["audit", "--case-uco", dest]).expect(2);
        assert!(
            run.stderr.contains("refusing to write the report over"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(std::fs::read(sb.path("custody.db")).unwrap(), ledger);
    custody(
        &sb,
        &["audit", "--html", "r.html", "--case-uco", "./r.html"],
    )
    .expect(2);
    assert!(!sb.path("r.html").exists());
    let pkg = sandbox_with("pkg.zip");
    let package = std::fs::read(pkg.path("pkg.zip")).unwrap();
    custody(
        &pkg,
        &[
            "audit",
            "--package",
            "pkg.zip",
            "--trust",
            "officer.pub",
            "--html",
            "pkg.zip",
        ],
    )
    .expect(2);
    assert_eq!(std::fs::read(pkg.path("pkg.zip")).unwrap(), package);
}

/// Validates the CASE/UCO export with `case_validate` when it is on PATH (CI sources
/// scripts/validators.sh, which installs it; `.ci/run` validates the demo's export always).
#[test]
fn case_uco_export_conforms_when_case_validate_is_available() {
    let Ok(found) = std::process::Command::new("case_validate")
        .arg("--help")
        .output()
    else {
        eprintln!("case_validate not on PATH: CASE/UCO conformance is checked by .ci/run");
        return;
    };
    assert!(found.status.success());
    let sb = audited_ledger();
    custody(&sb, &["event", "C-1-1", "examined", "--key", "bob.key"]).expect(0);
    custody(&sb, &["audit", "--case-uco", "custody.jsonld"]).expect(0);
    // BLAKE3 is outside UCO's open hash vocabulary: reported at severity Info only.
    let out = std::process::Command::new("case_validate")
        .args(["--allow-info", "custody.jsonld"])
        .current_dir(sb.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// An item id written to mislead a reader: clear the screen, forge a verdict line, reverse
/// text, close an HTML attribute.
const HOSTILE_ITEM: &str = "X-1\u{1b}[2J\nverified: \u{202e}gpj.exe\" onload=\"x";

#[test]
fn fail_hostile_item_id_reaches_neither_terminal_nor_html_raw() {
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    std::fs::write(sb.path("other.img"), b"other bytes").unwrap();
    custody(
        &sb,
        &[
            "acquire",
            "other.img",
            "--case",
            "C-1",
            "--key",
            "alice.key",
            "--item",
            HOSTILE_ITEM,
        ],
    )
    .expect(0);
    custody(
        &sb,
        &["event", HOSTILE_ITEM, "examined", "--key", "bob.key"],
    )
    .expect(0);
    let run = custody(&sb, &["audit", "--html", "report.html"]).expect(0);
    let raw: Vec<char> = run
        .stdout
        .chars()
        .filter(|&c| {
            c != '\n'
                && (c.is_control()
                    || ('\u{2066}'..='\u{2069}').contains(&c)
                    || ('\u{202a}'..='\u{202e}').contains(&c))
        })
        .collect();
    assert_eq!(raw, Vec::<char>::new(), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("item X-1\\u{1b}[2J\\u{a}verified: \\u{202e}gpj.exe\" onload=\"x: examined"),
        "{}",
        run.stdout
    );
    // The forged verdict never starts a line of its own.
    assert_eq!(
        run.stdout
            .lines()
            .filter(|l| l.starts_with("verified"))
            .count(),
        1
    );
    let html = std::fs::read_to_string(sb.path("report.html")).unwrap();
    assert!(!html.contains('\u{1b}') && !html.contains('\u{202e}'));
    assert!(!html.contains("\" onload"));
    assert!(html
        .contains("data-item=\"X-1[U+001B][2J\nverified: [U+202E]gpj.exe&quot; onload=&quot;x\""));
    // --json keeps the raw value.
    let report = custody(&sb, &["audit", "--json"]).expect(0).json();
    assert!(report["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == HOSTILE_ITEM));
}
