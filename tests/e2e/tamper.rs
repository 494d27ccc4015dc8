//! The threat model against packages, one case per test: each tampered package makes
//! `custody verify` exit 1 with the specific finding, and `custody receive` of it exit 1
//! writing nothing anywhere (no directory, no ledger entry, no receipt, no stray file).
//!
//! Tampered packages are rebuilt from the entries of a genuine one by a minimal ZIP
//! writer below, which writes exactly the names, attributes and sizes it is told to, lies
//! included.

use std::io::Write;
use std::path::Path;

use custody_core::keys::Identity;
use custody_pack::bagit::write::manifest_text;
use custody_pack::zipscan::{ScanLimits, ZipScanner};

use crate::harness::Sandbox;
use crate::verify::{base, custody, has_finding, sandbox_with, ID, RECIPIENT};

/// One archive entry as the raw writer emits it.
#[derive(Clone)]
struct RawEntry {
    name: String,
    /// The bytes stored in the archive (compressed when `method` is 8).
    stored: Vec<u8>,
    method: u16,
    crc32: u32,
    uncompressed_size: u32,
    /// Unix mode in the high 16 bits, as Info-ZIP writes it.
    external_attributes: u32,
}

impl RawEntry {
    fn file(name: &str, bytes: &[u8]) -> RawEntry {
        RawEntry {
            name: name.to_owned(),
            stored: bytes.to_vec(),
            method: 0,
            crc32: crc32(bytes),
            uncompressed_size: bytes.len() as u32,
            external_attributes: 0o100_644 << 16,
        }
    }
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(bytes);
    h.finalize()
}

/// A classic (non-ZIP64) archive of `entries` in the given order.
fn raw_zip(entries: &[RawEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = out.len() as u32;
        let header = |sig: u32, central_dir: bool| {
            let mut h = Vec::new();
            h.extend_from_slice(&sig.to_le_bytes());
            if central_dir {
                h.extend_from_slice(&(0x0300u16 | 20).to_le_bytes()); // made by: Unix
            }
            h.extend_from_slice(&20u16.to_le_bytes()); // version needed
            h.extend_from_slice(&0x0800u16.to_le_bytes()); // UTF-8 names
            h.extend_from_slice(&e.method.to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // time
            h.extend_from_slice(&0x21u16.to_le_bytes()); // date: 1980-01-01
            h.extend_from_slice(&e.crc32.to_le_bytes());
            h.extend_from_slice(&(e.stored.len() as u32).to_le_bytes());
            h.extend_from_slice(&e.uncompressed_size.to_le_bytes());
            h.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // extra
            if central_dir {
                h.extend_from_slice(&0u16.to_le_bytes()); // comment
                h.extend_from_slice(&0u16.to_le_bytes()); // disk
                h.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
                h.extend_from_slice(&e.external_attributes.to_le_bytes());
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(e.name.as_bytes());
            h
        };
        out.extend(header(0x0403_4b50, false));
        out.extend_from_slice(&e.stored);
        central.extend(header(0x0201_4b50, true));
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]); // disk numbers
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    out
}

/// The entries of a base package, in archive order.
fn base_entries(file: &str) -> Vec<RawEntry> {
    let path = base().join(file);
    let mut scanner =
        ZipScanner::new(std::fs::File::open(path).unwrap(), &ScanLimits::default()).unwrap();
    let names: Vec<String> = scanner.entries().iter().map(|e| e.name.clone()).collect();
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| RawEntry::file(&name, &scanner.read_entry(i, 1 << 30).unwrap()))
        .collect()
}

fn entry_name(bag_path: &str) -> String {
    format!("{ID}/{bag_path}")
}

fn get<'a>(entries: &'a mut [RawEntry], bag_path: &str) -> &'a mut RawEntry {
    let name = entry_name(bag_path);
    entries
        .iter_mut()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no entry {name}"))
}

/// Replaces an entry's bytes, keeping its headers honest.
fn set(entries: &mut [RawEntry], bag_path: &str, bytes: Vec<u8>) {
    let e = get(entries, bag_path);
    *e = RawEntry::file(&e.name.clone(), &bytes);
}

fn edit_text(entries: &mut [RawEntry], bag_path: &str, from: &str, to: &str) {
    let text = String::from_utf8(get(entries, bag_path).stored.clone()).unwrap();
    assert!(text.contains(from), "{bag_path} has no {from:?}:\n{text}");
    set(entries, bag_path, text.replacen(from, to, 1).into_bytes());
}

fn remove(entries: &mut Vec<RawEntry>, bag_path: &str) {
    let name = entry_name(bag_path);
    let before = entries.len();
    entries.retain(|e| e.name != name);
    assert_eq!(entries.len(), before - 1, "no entry {name}");
}

/// Recomputes the tag manifest and replaces every signature by `signer`'s, as someone
/// holding that key (an insider, or a forger with their own key) would.
fn resign(entries: &mut Vec<RawEntry>, signer: &str) {
    let identity = Identity::load(&base().join(format!("{signer}.key"))).unwrap();
    let prefix = format!("{ID}/");
    entries.retain(|e| !e.name.starts_with(&format!("{prefix}custody/signatures/")));
    let digests: Vec<(String, String)> = entries
        .iter()
        .filter_map(|e| {
            let path = e.name.strip_prefix(&prefix)?;
            let tag = !path.starts_with("data/") && path != "tagmanifest-sha256.txt";
            tag.then(|| {
                let d = custody_core::hash::hash_reader(e.stored.as_slice(), &mut |_| {}).unwrap();
                (path.to_owned(), d.sha256_hex())
            })
        })
        .collect();
    let text = manifest_text(digests.iter().map(|(p, d)| (p.as_str(), d.as_str())));
    let signature = identity.sign_raw(text.as_bytes());
    set(entries, "tagmanifest-sha256.txt", text.into_bytes());
    let key = identity.verifier_key();
    entries.push(RawEntry::file(
        &entry_name(&custody_pack::layout::signature_path(&key)),
        &signature.to_bytes(),
    ));
    entries.sort_by(|a, b| a.name.cmp(&b.name));
}

/// A sandbox with `entries` written as `pkg.zip` and a receiving ledger.
fn tampered(entries: &[RawEntry]) -> Sandbox {
    let sb = sandbox_with("pkg.zip");
    std::fs::write(sb.path("pkg.zip"), raw_zip(entries)).unwrap();
    receiver(&sb);
    sb
}

/// A receiving authority's key and ledger in the sandbox.
fn receiver(sb: &Sandbox) {
    crate::verify::new_key(sb.dir.path(), "clerk", "clerk@sta-berlin.example");
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

/// Names in the sandbox, recursively, except the receiving ledger's SQLite files.
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("recv.db") {
            continue;
        }
        out.push(name.clone());
        if entry.file_type().unwrap().is_dir() {
            out.extend(
                listing(&entry.path())
                    .into_iter()
                    .map(|n| format!("{name}/{n}")),
            );
        }
    }
    out.sort();
    out
}

fn ledger_size(sb: &Sandbox) -> usize {
    let log = custody(sb, &["log", "--ledger", "recv.db", "--json"])
        .expect(0)
        .json();
    log.as_array().expect("log array").len()
}

/// `custody verify` exits 1 with a finding of `group`/`kind` (about `file` if given), and
/// `custody receive` refuses the package writing nothing. Returns the JSON report.
#[track_caller]
fn refused(
    sb: &Sandbox,
    extra: &[&str],
    group: &str,
    kind: &str,
    file: Option<&str>,
) -> serde_json::Value {
    let mut args = vec!["verify", "pkg.zip", "--trust", "officer.pub", "--json"];
    args.extend_from_slice(extra);
    let report = custody(sb, &args).expect(1).json();
    assert_eq!(report["verdict"], "failed");
    assert!(
        has_finding(&report, group, kind, file),
        "no {group}/{kind} finding about {file:?} in\n{report:#}"
    );
    let before = listing(sb.dir.path());
    let size = ledger_size(sb);
    let mut args = vec![
        "receive",
        "pkg.zip",
        "--into",
        "received",
        "--trust",
        "officer.pub",
        "--receipt",
        "receipt.json",
        "--ledger",
        "recv.db",
        "--key",
        "clerk.key",
    ];
    // receive checks the recipient through --as.
    args.extend(extra.iter().map(|a| {
        if *a == "--expect-recipient" {
            "--as"
        } else {
            *a
        }
    }));
    let run = custody(sb, &args).expect(1);
    assert!(
        run.stderr.contains("nothing was extracted"),
        "{}",
        run.stderr
    );
    assert_eq!(listing(sb.dir.path()), before, "receive wrote something");
    assert_eq!(ledger_size(sb), size, "receive appended to the ledger");
    report
}

// ---- payload ----

#[test]
fn fail_payload_byte_flipped() {
    let mut e = base_entries("pkg.zip");
    get(&mut e, "data/C-1-1/disk.img").stored[0] ^= 0x01;
    let crc = crc32(&get(&mut e, "data/C-1-1/disk.img").stored.clone());
    get(&mut e, "data/C-1-1/disk.img").crc32 = crc;
    let report = refused(
        &tampered(&e),
        &[],
        "bagit",
        "digest_mismatch",
        Some("data/C-1-1/disk.img"),
    );
    let msgs = report.to_string();
    assert!(msgs.contains("manifest-sha256.txt") && msgs.contains("manifest-blake3.txt"));
}

#[test]
fn fail_payload_truncated() {
    let mut e = base_entries("pkg.zip");
    let bytes = get(&mut e, "data/C-1-1/disk.img").stored.clone();
    set(
        &mut e,
        "data/C-1-1/disk.img",
        bytes[..bytes.len() - 3].to_vec(),
    );
    let sb = tampered(&e);
    let report = refused(
        &sb,
        &[],
        "bagit",
        "digest_mismatch",
        Some("data/C-1-1/disk.img"),
    );
    assert!(has_finding(&report, "bagit", "oxum_mismatch", None));
    assert!(has_finding(
        &report,
        "statement",
        "item_mismatch",
        Some("data/C-1-1/disk.img")
    ));
}

#[test]
fn fail_payload_renamed() {
    let mut e = base_entries("pkg.zip");
    get(&mut e, "data/C-1-1/disk.img").name = entry_name("data/C-1-1/disk2.img");
    let sb = tampered(&e);
    let report = refused(
        &sb,
        &[],
        "bagit",
        "file_not_in_manifest",
        Some("data/C-1-1/disk2.img"),
    );
    assert!(has_finding(
        &report,
        "bagit",
        "missing_file",
        Some("data/C-1-1/disk.img")
    ));
}

#[test]
fn fail_payload_added() {
    let mut e = base_entries("pkg.zip");
    e.push(RawEntry::file(
        &entry_name("data/C-1-1/planted.txt"),
        b"planted",
    ));
    let sb = tampered(&e);
    let report = refused(
        &sb,
        &[],
        "bagit",
        "file_not_in_manifest",
        Some("data/C-1-1/planted.txt"),
    );
    assert!(has_finding(
        &report,
        "statement",
        "payload_not_in_statement",
        Some("data/C-1-1/planted.txt")
    ));
}

#[test]
fn fail_payload_removed() {
    let mut e = base_entries("pkg.zip");
    remove(&mut e, "data/C-1-2/sub/b.txt");
    refused(
        &tampered(&e),
        &[],
        "bagit",
        "missing_file",
        Some("data/C-1-2/sub/b.txt"),
    );
}

// ---- tag files edited (the tag manifest no longer matches) ----

fn tag_edit(bag_path: &str, from: &str, to: &str) -> serde_json::Value {
    let mut e = base_entries("pkg.zip");
    edit_text(&mut e, bag_path, from, to);
    refused(
        &tampered(&e),
        &[],
        "bagit",
        "digest_mismatch",
        Some(bag_path),
    )
}

#[test]
fn fail_bagit_txt_edited() {
    tag_edit("bagit.txt", "BagIt-Version: 1.0", "BagIt-Version: 0.97");
}

#[test]
fn fail_bag_info_edited() {
    let report = tag_edit("bag-info.txt", RECIPIENT, "Procura di Milano");
    assert!(has_finding(
        &report,
        "bagit",
        "bag_info_mismatch",
        Some("bag-info.txt")
    ));
}

#[test]
fn fail_manifest_sha256_edited() {
    let mut e = base_entries("pkg.zip");
    let text = String::from_utf8(get(&mut e, "manifest-sha256.txt").stored.clone()).unwrap();
    let first = text.chars().next().unwrap();
    let swapped = if first == '0' { "1" } else { "0" };
    set(
        &mut e,
        "manifest-sha256.txt",
        format!("{swapped}{}", &text[1..]).into_bytes(),
    );
    let sb = tampered(&e);
    let report = refused(
        &sb,
        &[],
        "bagit",
        "digest_mismatch",
        Some("manifest-sha256.txt"),
    );
    // And the payload file it lists no longer matches it.
    assert!(report["findings"].as_array().unwrap().len() >= 2);
}

#[test]
fn fail_manifest_blake3_edited() {
    let mut e = base_entries("pkg.zip");
    let text = String::from_utf8(get(&mut e, "manifest-blake3.txt").stored.clone()).unwrap();
    let first = text.chars().next().unwrap();
    let swapped = if first == '0' { "1" } else { "0" };
    set(
        &mut e,
        "manifest-blake3.txt",
        format!("{swapped}{}", &text[1..]).into_bytes(),
    );
    refused(
        &tampered(&e),
        &[],
        "bagit",
        "digest_mismatch",
        Some("manifest-blake3.txt"),
    );
}

#[test]
fn fail_tag_manifest_edited() {
    let mut e = base_entries("pkg.zip");
    let text = String::from_utf8(get(&mut e, "tagmanifest-sha256.txt").stored.clone()).unwrap();
    set(
        &mut e,
        "tagmanifest-sha256.txt",
        format!("{text}\n").into_bytes(),
    );
    let sb = tampered(&e);
    refused(&sb, &[], "signature", "signature_invalid", None);
}

#[test]
fn fail_package_json_edited() {
    let report = tag_edit(
        "custody/package.json",
        "\"confidential\":false",
        "\"confidential\":true",
    );
    assert!(
        report["findings"].as_array().unwrap().len() == 1,
        "{report:#}"
    );
}

#[test]
fn fail_event_file_edited() {
    let report = tag_edit("custody/events/2.json", "\"seq\":2", "\"seq\":3");
    assert!(has_finding(
        &report,
        "events",
        "event_seq_mismatch",
        Some("custody/events/2.json")
    ));
}

#[test]
fn fail_proof_file_edited() {
    let report = tag_edit(
        "custody/proofs/2.json",
        "\"leaf_index\":2",
        "\"leaf_index\":1",
    );
    assert!(has_finding(
        &report,
        "proofs",
        "proof_shape",
        Some("custody/proofs/2.json")
    ));
}

#[test]
fn fail_checkpoint_edited() {
    let report = tag_edit(
        "custody/checkpoint",
        "ledger.parquet-paris.example/custody",
        "ledger.parquet-paris.example/other",
    );
    assert!(has_finding(
        &report,
        "checkpoint",
        "checkpoint_signature",
        Some("custody/checkpoint")
    ));
}

// ---- signatures ----

fn signature_name(entries: &[RawEntry]) -> String {
    entries
        .iter()
        .find(|e| e.name.contains("/custody/signatures/"))
        .expect("a signature")
        .name
        .clone()
}

#[test]
fn fail_signature_swapped_from_another_package() {
    let mut e = base_entries("pkg.zip");
    let other = base_entries("other.zip");
    let theirs = other
        .iter()
        .find(|x| x.name.contains("/custody/signatures/"))
        .unwrap()
        .stored
        .clone();
    let name = signature_name(&e);
    let ours = e.iter_mut().find(|x| x.name == name).unwrap();
    *ours = RawEntry::file(&name, &theirs);
    refused(&tampered(&e), &[], "signature", "signature_invalid", None);
}

#[test]
fn fail_signature_truncated() {
    let mut e = base_entries("pkg.zip");
    let name = signature_name(&e);
    let sig = e.iter_mut().find(|x| x.name == name).unwrap();
    *sig = RawEntry::file(&name, &sig.stored[..63]);
    refused(&tampered(&e), &[], "signature", "signature_length", None);
}

#[test]
fn fail_signature_from_an_untrusted_key() {
    let mut e = base_entries("pkg.zip");
    resign(&mut e, "stranger");
    let sb = tampered(&e);
    let report = refused(&sb, &[], "signature", "untrusted_signer", None);
    assert!(has_finding(
        &report,
        "signature",
        "no_trusted_signature",
        None
    ));
}

#[test]
fn fail_signature_from_a_key_revoked_by_option() {
    let sb = tampered(&base_entries("pkg.zip"));
    let officer = Identity::load(&base().join("officer.key")).unwrap();
    let key = officer.verifier_key().to_string();
    refused(
        &sb,
        &["--revoked", &key],
        "signature",
        "revoked_signer",
        None,
    );
}

#[test]
fn fail_signature_from_a_key_revoked_by_an_included_entry() {
    let sb = sandbox_with("revoked.zip");
    receiver(&sb);
    let report = refused(
        &sb,
        &["--trust", "analyst.pub"],
        "signature",
        "revoked_signer",
        None,
    );
    let revoked: Vec<_> = report["signers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["revoked"] == true)
        .collect();
    assert_eq!(revoked.len(), 1, "{report:#}");
    assert_eq!(revoked[0]["name"], "analyst@parquet-paris.example");
}

// ---- history ----

#[test]
fn fail_event_removed() {
    let mut e = base_entries("pkg.zip");
    remove(&mut e, "custody/events/2.json");
    let sb = tampered(&e);
    let report = refused(
        &sb,
        &[],
        "events",
        "event_missing",
        Some("custody/events/2.json"),
    );
    assert!(has_finding(
        &report,
        "bagit",
        "missing_file",
        Some("custody/events/2.json")
    ));
    assert!(has_finding(
        &report,
        "proofs",
        "proof_orphan",
        Some("custody/proofs/2.json")
    ));
}

#[test]
fn fail_event_altered_even_when_resigned_by_a_trusted_key() {
    let mut e = base_entries("pkg.zip");
    edit_text(&mut e, "custody/events/2.json", "\"C-1-1\"", "\"C-1-9\"");
    resign(&mut e, "officer");
    let sb = tampered(&e);
    let report = refused(
        &sb,
        &[],
        "events",
        "event_signature_invalid",
        Some("custody/events/2.json"),
    );
    assert!(has_finding(
        &report,
        "proofs",
        "proof_invalid",
        Some("custody/proofs/2.json")
    ));
    assert_eq!(report["signers"][0]["valid"], true);
}

#[test]
fn fail_proof_altered_even_when_resigned_by_a_trusted_key() {
    let mut e = base_entries("pkg.zip");
    let text = String::from_utf8(get(&mut e, "custody/proofs/2.json").stored.clone()).unwrap();
    let at = text.find("\"hashes\":[\"").unwrap() + 11;
    let c = if &text[at..=at] == "0" { "1" } else { "0" };
    let altered = format!("{}{c}{}", &text[..at], &text[at + 1..]);
    set(&mut e, "custody/proofs/2.json", altered.into_bytes());
    resign(&mut e, "officer");
    refused(
        &tampered(&e),
        &[],
        "proofs",
        "proof_invalid",
        Some("custody/proofs/2.json"),
    );
}

// ---- replay to another recipient ----

#[test]
fn fail_readdressed_and_resigned_by_an_untrusted_key() {
    let mut e = base_entries("pkg.zip");
    edit_text(
        &mut e,
        "custody/package.json",
        RECIPIENT,
        "Procura di Milano",
    );
    edit_text(&mut e, "bag-info.txt", RECIPIENT, "Procura di Milano");
    resign(&mut e, "stranger");
    let sb = tampered(&e);
    let report = refused(&sb, &[], "signature", "no_trusted_signature", None);
    assert!(has_finding(&report, "signature", "untrusted_signer", None));
}

#[test]
fn fail_genuine_package_for_another_recipient() {
    let sb = tampered(&base_entries("pkg.zip"));
    let report = refused(
        &sb,
        &["--expect-recipient", "Procura di Milano"],
        "statement",
        "recipient_mismatch",
        Some("custody/package.json"),
    );
    assert_eq!(report["findings"].as_array().unwrap().len(), 1);
    // receive --as is the same check.
    let run = custody(
        &sb,
        &[
            "receive",
            "pkg.zip",
            "--into",
            "received",
            "--trust",
            "officer.pub",
            "--as",
            "Procura di Milano",
            "--ledger",
            "recv.db",
            "--key",
            "clerk.key",
        ],
    )
    .expect(1);
    assert!(run.stdout.contains("Procura di Milano"), "{}", run.stdout);
    assert!(!sb.path("received").exists());
}

// ---- malicious ZIP structure injected into a real package ----

fn injected(entry: RawEntry) -> Sandbox {
    let mut e = base_entries("pkg.zip");
    e.push(entry);
    tampered(&e)
}

#[test]
fn fail_zip_slip() {
    let sb = injected(RawEntry::file(&format!("{ID}/data/../../evil.txt"), b"x"));
    refused(&sb, &[], "zip", "path_escapes", None);
    assert!(!sb.dir.path().parent().unwrap().join("evil.txt").exists());
}

#[test]
fn fail_absolute_path() {
    let sb = injected(RawEntry::file("/tmp/custody-evil.txt", b"x"));
    refused(
        &sb,
        &[],
        "zip",
        "absolute_path",
        Some("/tmp/custody-evil.txt"),
    );
}

#[test]
fn fail_symlink() {
    let mut link = RawEntry::file(&entry_name("data/C-1-1/link"), b"/etc/passwd");
    link.external_attributes = 0o120_777 << 16;
    let sb = injected(link);
    refused(
        &sb,
        &[],
        "zip",
        "symlink",
        Some(&entry_name("data/C-1-1/link")),
    );
}

#[test]
fn fail_duplicate_name() {
    let dup = RawEntry::file(&entry_name("bagit.txt"), b"BagIt-Version: 1.0\n");
    refused(
        &injected(dup),
        &[],
        "zip",
        "duplicate_name",
        Some(&entry_name("bagit.txt")),
    );
}

#[test]
fn fail_case_colliding_names() {
    let upper = RawEntry::file(&entry_name("data/C-1-1/DISK.IMG"), b"other");
    refused(&injected(upper), &[], "zip", "case_collision", None);
}

#[test]
fn fail_zip_bomb() {
    let zeros = vec![0u8; 4 << 20];
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&zeros).unwrap();
    let bomb = RawEntry {
        name: entry_name("data/C-1-1/bomb.bin"),
        stored: enc.finish().unwrap(),
        method: 8,
        crc32: crc32(&zeros),
        uncompressed_size: zeros.len() as u32,
        external_attributes: 0o100_644 << 16,
    };
    refused(&injected(bomb), &[], "zip", "compression_ratio", None);
}

#[test]
fn fail_lying_sizes() {
    let mut e = base_entries("pkg.zip");
    let entry = get(&mut e, "data/C-1-1/disk.img");
    // Stored, but the headers claim more bytes than are there.
    entry.uncompressed_size += 1000;
    let sb = tampered(&e);
    refused(&sb, &[], "zip", "too_short", None);
}
