//! `custody ledger export-tiles`: a ledger published as C2SP tlog-tiles, read by an
//! independent tlog-tiles client (`tlog-scales`, pinned in scripts/validators.txt; its
//! `python3` must be on PATH: source scripts/validators.sh). A missing client fails the
//! test, never skips it.

use std::process::Command;

use crate::ledger::{custody, ledger_with_alice, with_bob_case_and_item};

/// Checks an exported directory with tlog-scales alone: the checkpoint's signature under
/// the log verifier key, the root recomputed from the tiles, and every entry's inclusion.
/// Prints the entries, one hex line each.
const CLIENT: &str = r#"
import sys
from tlog_scales import backend, signing, tiles
from tlog_scales.reader import TilesReader
reader = TilesReader(backend.make_backend(sys.argv[1]))
cp = reader.get_checkpoint()
cp.verify(signing.Vkey.from_string(sys.argv[2]))
assert reader.calculate_root_hash() == cp.root_hash, "root"
for i in range(cp.size):
    leaf = reader.get_entry(i)
    reader.get_inclusion_proof(i, cp.size).check(tiles.leaf_hash(leaf), cp.root_hash)
    print(leaf.hex())
"#;

#[test]
fn an_independent_tlog_tiles_client_reads_the_exported_ledger() {
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    let info = custody(&sb, &["ledger", "info", "--json"]).expect(0);
    let info: serde_json::Value = serde_json::from_str(&info.stdout).unwrap();
    let log_key = info["log_verifier_key"].as_str().unwrap().to_owned();
    let size = info["size"].as_u64().unwrap();

    let run = custody(&sb, &["ledger", "export-tiles", "published", "--json"]).expect(0);
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["size"], size);
    assert_eq!(out["entry_bundles"], 1);

    let dir = sb.path("published");
    let client = Command::new("python3")
        .args(["-c", CLIENT, &format!("{}/", dir.display()), &log_key])
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); source scripts/validators.sh"));
    assert!(
        client.status.success(),
        "tlog-scales refused the export:\n{}",
        String::from_utf8_lossy(&client.stderr)
    );
    let leaves: Vec<String> = String::from_utf8(client.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(leaves.len() as u64, size);
    for (seq, hex) in leaves.iter().enumerate() {
        let entry = sb
            .cmd(&["ledger", "export-entry", &seq.to_string()])
            .env_remove("CUSTODY_LOG_KEY")
            .output()
            .unwrap();
        assert_eq!(
            hex,
            &custody_core::hex::encode(&entry.stdout),
            "entry {seq}"
        );
    }
}

#[test]
fn fail_export_tiles_over_an_existing_directory() {
    let sb = ledger_with_alice();
    std::fs::create_dir(sb.path("published")).unwrap();
    let run = custody(&sb, &["ledger", "export-tiles", "published"]).expect(2);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    assert_eq!(std::fs::read_dir(sb.path("published")).unwrap().count(), 0);
}
