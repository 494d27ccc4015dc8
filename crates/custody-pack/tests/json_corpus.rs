//! Replays the seed corpus in `fixtures/json/` through the strict readers of signed JSON,
//! with the properties the fuzz targets check (`fuzz/fuzz_targets/strict_json.rs`,
//! `receipt.rs`, `package_statement.rs`, `ledger_entry.rs`, `inclusion_proof.rs`):
//!
//! * the strict check accepts exactly the texts RFC 8785 re-canonicalisation leaves
//!   unchanged (apart from its size and depth limits);
//! * whatever a record reader accepts re-encodes to the identical bytes;
//! * `valid_*` files are accepted and every `fail_*` file is refused.
//!
//! The corpus is made by `fixtures/json/make.py`.

use std::fs;
use std::path::PathBuf;

use custody_core::canonical::{self, StrictJsonError};
use custody_core::keys::{ActorInfo, Identity};
use custody_core::merkle::InclusionProof;
use custody_pack::package::PackageStatement;
use custody_pack::receipt::Receipt;
use custody_store::SignedEvent;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/json");
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// The strict check against re-canonicalisation (the `strict_json` fuzz target).
fn strict_agrees_with_canonicalize(name: &str, data: &[u8]) -> bool {
    let unchanged = canonical::canonicalize(data).ok().as_deref() == Some(data);
    match canonical::check_strict(data) {
        Ok(()) => assert!(unchanged, "{name}: accepted but not canonical"),
        Err(StrictJsonError::TooDeep { .. } | StrictJsonError::TooLarge { .. }) => {}
        Err(e) => assert!(!unchanged, "{name}: canonical but refused: {e}"),
    }
    if let Ok(value) = canonical::parse_strict::<serde_json::Value>(data) {
        assert_eq!(canonical::to_canonical_vec(&value).unwrap(), data, "{name}");
    }
    canonical::check_strict(data).is_ok()
}

/// Parses `data` as the record `kind`; on success it must re-encode to `data`.
fn record_accepted(kind: &str, name: &str, data: &[u8]) -> bool {
    let receiver = Identity::from_seed(ActorInfo::named("receiver@example.de"), [3; 32]).unwrap();
    let again = match kind {
        "receipt" => Receipt::parse_and_verify(data, &[receiver.public_key()], &[])
            .ok()
            .map(|r| r.receipt.to_canonical().unwrap()),
        "statement" => PackageStatement::parse(data)
            .ok()
            .map(|s| s.to_canonical().unwrap()),
        "event" => canonical::parse_strict::<SignedEvent>(data)
            .ok()
            .map(|e| canonical::to_canonical_vec(&e).unwrap()),
        "proof" => canonical::parse_strict::<InclusionProof>(data)
            .ok()
            .map(|p| canonical::to_canonical_vec(&p).unwrap()),
        "json" => return strict_agrees_with_canonicalize(name, data),
        other => panic!("{name}: unknown corpus kind {other}"),
    };
    if let Some(again) = &again {
        assert_eq!(again, data, "{name}: accepted but re-encodes differently");
    }
    again.is_some()
}

#[test]
fn seed_corpus_valid_records_are_accepted_and_every_fail_is_refused() {
    let files = corpus();
    assert!(
        files.len() >= 30,
        "the corpus is missing: run fixtures/json/make.py"
    );
    for (name, data) in &files {
        let (verdict, rest) = name.split_once('_').unwrap();
        let kind = rest.split('_').next().unwrap();
        let strict = strict_agrees_with_canonicalize(name, data);
        let accepted = record_accepted(kind, name, data);
        match verdict {
            "valid" => assert!(strict && accepted, "{name} refused"),
            "fail" => assert!(!accepted, "{name} accepted"),
            other => panic!("{name}: file names start with valid_ or fail_, not {other}"),
        }
    }
}

#[test]
fn fail_receipt_with_duplicate_digest_names_it() {
    let (_, data) = corpus()
        .into_iter()
        .find(|(n, _)| n == "fail_receipt_duplicate_digest")
        .unwrap();
    let receiver = Identity::from_seed(ActorInfo::named("receiver@example.de"), [3; 32]).unwrap();
    let err = Receipt::parse_and_verify(&data, &[receiver.public_key()], &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "receipt: not the canonical JSON of a receipt: duplicate member \"package_digest\" in the object at \"/receipt\""
    );
}
