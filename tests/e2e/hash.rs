//! `custody hash`: exact digests, text and JSON layouts, and failures that name the file.

use crate::harness::{fixtures, Sandbox};

/// SHA-256 of the fixture as printed by coreutils `sha256sum`, and its size from `ls -l`.
const CALL_LOG_SHA256: &str = "b2fc784f3cdda92433848031c455c340c9a5618830a974999427a91efed5c442";
const CALL_LOG_SIZE: u64 = 535;
const NOTE_SHA256: &str = "fb7a56624dfc70005b4d150cb52db53103e4a0831214cb5dadb7141c0416e7ef";
const NOTE_SIZE: u64 = 589;

/// The official BLAKE3 test vector for 1025 bytes of the pattern `i % 251`, and SHA-256 of
/// the same bytes from `sha256sum`.
const PATTERN_1025_BLAKE3: &str =
    "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444";
const PATTERN_1025_SHA256: &str =
    "bc0b6b10b89b9487a12fda2a8cc13194e7091c217aabf8b92846274026f4bcd0";

fn fixture(rel: &str) -> String {
    fixtures().join("evidence").join(rel).display().to_string()
}

fn write_pattern(sandbox: &Sandbox, name: &str, len: usize) -> String {
    let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    std::fs::write(sandbox.path(name), bytes).expect("write pattern file");
    name.to_owned()
}

#[test]
fn text_line_per_file_with_exact_digests() {
    let sandbox = Sandbox::new();
    let pattern = write_pattern(&sandbox, "pattern.bin", 1025);
    let call_log = fixture("call-log.csv");
    let run = sandbox.run(&["hash", &call_log, &pattern]).expect(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);

    let fields: Vec<&str> = lines[0].split("  ").collect();
    assert_eq!(fields[0], CALL_LOG_SHA256);
    assert_eq!(fields[1].len(), 64);
    assert_eq!(fields[2], CALL_LOG_SIZE.to_string());
    assert_eq!(fields[3], call_log);

    assert_eq!(
        lines[1],
        format!("{PATTERN_1025_SHA256}  {PATTERN_1025_BLAKE3}  1025  pattern.bin")
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn json_array_of_path_size_and_digests() {
    let sandbox = Sandbox::new();
    let pattern = write_pattern(&sandbox, "pattern.bin", 1025);
    let note = fixture("seizure-note.txt");
    let run = sandbox.run(&["hash", "--json", &note, &pattern]).expect(0);
    let json = run.json();
    let items = json.as_array().expect("an array");
    assert_eq!(items.len(), 2);
    for item in items {
        let mut keys: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["blake3", "path", "sha256", "size"]);
    }
    assert_eq!(items[0]["path"], note.as_str());
    assert_eq!(items[0]["size"], NOTE_SIZE);
    assert_eq!(items[0]["sha256"], NOTE_SHA256);
    assert_eq!(items[1]["path"], "pattern.bin");
    assert_eq!(items[1]["size"], 1025);
    assert_eq!(items[1]["sha256"], PATTERN_1025_SHA256);
    assert_eq!(items[1]["blake3"], PATTERN_1025_BLAKE3);
}

#[test]
fn text_and_json_agree() {
    let sandbox = Sandbox::new();
    let file = fixture("phone-extraction/sms.csv");
    let text = sandbox.run(&["hash", &file]).expect(0);
    let json = sandbox.run(&["hash", "--json", &file]).expect(0).json();
    let item = &json[0];
    assert_eq!(
        text.stdout,
        format!(
            "{}  {}  {}  {}\n",
            item["sha256"].as_str().unwrap(),
            item["blake3"].as_str().unwrap(),
            item["size"],
            file
        )
    );
}

#[test]
fn empty_file() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.path("empty"), b"").unwrap();
    let run = sandbox.run(&["hash", "empty"]).expect(0);
    assert_eq!(
        run.stdout,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  \
         af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262  0  empty\n"
    );
}

#[test]
fn fail_missing_file_is_named_and_others_still_hashed() {
    let sandbox = Sandbox::new();
    let note = fixture("seizure-note.txt");
    let run = sandbox.run(&["hash", "missing.img", &note]).expect(2);
    assert!(
        run.stderr.contains("missing.img"),
        "stderr names the file: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("1 of 2 files could not be hashed"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.starts_with(NOTE_SHA256), "{}", run.stdout);
    assert_eq!(run.stdout.lines().count(), 1);
}

#[test]
fn fail_directory_is_an_error() {
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.path("dir")).unwrap();
    let run = sandbox.run(&["hash", "--json", "dir"]).expect(2);
    assert!(run.stderr.contains("cannot read dir"), "{}", run.stderr);
    assert_eq!(run.json(), serde_json::json!([]));
}

#[test]
fn fail_no_files_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["hash"]).expect(2);
    assert!(run.stderr.contains("FILES"), "{}", run.stderr);
}
