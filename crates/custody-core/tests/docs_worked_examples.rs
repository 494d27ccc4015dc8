//! Rebuilds the worked examples of `docs/` from the bytes the documents give, read from
//! the documents themselves (their prose and code blocks), so that a document and the
//! code cannot drift apart: docs/formats.md §6 (keys, canonical JSON, an event
//! signature, a checkpoint with a cosignature) and docs/ledger.md §5.1 (proof files).

use base64::Engine as _;
use custody_core::checkpoint::{cosign, Checkpoint};
use custody_core::keys::{ActorInfo, Identity, Signature};
use custody_core::merkle::{self, MemoryTree};
use custody_core::{canonical, hex, sign};

fn doc(name: &str) -> String {
    let path = format!("{}/../../docs/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The part of `text` from the heading starting with `heading` to the next heading of
/// the same or a higher level.
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let start = text
        .find(&format!("\n{heading}"))
        .unwrap_or_else(|| panic!("no heading {heading:?}"))
        + 1;
    let level = heading.split(' ').next().unwrap();
    let rest = &text[start + heading.len()..];
    let end = rest
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .find(|&i| {
            let line = &rest[i..];
            line.starts_with('#')
                && line
                    .split(' ')
                    .next()
                    .is_some_and(|h| h.len() <= level.len())
        })
        .unwrap_or(rest.len());
    &text[start..start + heading.len() + end]
}

/// The fenced code blocks of `text`, in order, each with its final newline.
fn code_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("```") {
            match current.take() {
                Some(block) => blocks.push(block),
                None => current = Some(String::new()),
            }
        } else if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    blocks
}

/// The `code` span that follows the words `before` in `text` (line breaks in the prose
/// count as spaces).
fn span_after(text: &str, before: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let at = flat
        .find(before)
        .unwrap_or_else(|| panic!("no {before:?} in the document"))
        + before.len();
    let rest = &flat[at..];
    let open = rest.find('`').unwrap() + 1;
    let close = open + rest[open..].find('`').unwrap();
    rest[open..close].to_owned()
}

#[test]
fn formats_md_worked_example() {
    let text = doc("formats.md");
    let example = section(&text, "## 6. Worked example");
    let blocks = code_blocks(example);
    let [key_file, public_pem, keys, canonical_block, signature_block, note_block, cosigned, ..] =
        &blocks[..]
    else {
        panic!("formats.md §6 has fewer code blocks than expected: {blocks:#?}");
    };
    let log_seed: [u8; 32] = hex::decode_array(&span_after(example, "TEST 1 seed")).unwrap();
    let witness_seed: [u8; 32] = hex::decode_array(&span_after(example, "TEST 2 seed")).unwrap();
    let record = span_after(example, "The record");
    let time: u64 = example
        .split("at t = ")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|s| s.parse().ok())
        .expect("cosignature time");

    // The key file is the log key: it loads, and it is the documented seed.
    let log = Identity::from_pem(key_file, None).unwrap();
    let from_seed = Identity::from_seed(log.info().clone(), log_seed).unwrap();
    assert_eq!(&from_seed.to_pem(), key_file);
    assert_eq!(&log.public_key().to_pem(), public_pem);
    assert_eq!(
        log.public_key().fingerprint(),
        span_after(example, "Fingerprint:")
    );
    let witness_name = keys.lines().nth(1).unwrap().split('+').next().unwrap();
    let witness = Identity::from_seed(ActorInfo::named(witness_name), witness_seed).unwrap();
    assert_eq!(
        keys,
        &format!("{}\n{}\n", log.verifier_key(), witness.cosigner_key())
    );

    let canonical = canonical::canonicalize(record.as_bytes()).unwrap();
    assert_eq!(canonical_block.as_bytes(), [&canonical[..], b"\n"].concat());
    let event_sig = sign::sign_canonical(&log, sign::CONTEXT_EVENT, &canonical);
    assert_eq!(
        signature_block.trim_end(),
        sign::signature_to_hex(&event_sig)
    );

    let checkpoint = Checkpoint {
        origin: log.info().name.clone(),
        size: 1,
        root: merkle::leaf_hash(&canonical),
        extensions: vec![],
    };
    let mut note = checkpoint.sign(&[&log]).unwrap();
    note.add_signature(cosign(&checkpoint, &witness, time));
    assert_eq!(String::from_utf8(note.to_bytes()).unwrap(), *note_block);

    // The bytes the document says the witness signed are what its signature covers.
    assert_eq!(
        cosigned,
        &format!("cosignature/v1\ntime {time}\n{}", checkpoint.body())
    );
    let witness_line = note_block.lines().last().unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(witness_line.rsplit(' ').next().unwrap())
        .unwrap();
    assert_eq!(raw[4..12], time.to_be_bytes());
    let signature = Signature::from_slice(&raw[12..]).unwrap();
    witness
        .public_key()
        .verify_raw(cosigned.as_bytes(), &signature)
        .expect("the witness signed the documented bytes");
}

#[test]
fn ledger_md_proof_file_example() {
    let text = doc("ledger.md");
    let example = section(&text, "### 5.1 Proof files");
    let example = &example[example.find("Worked example").expect("worked example")..];
    let blocks = code_blocks(example);
    let [leaves, inclusion, consistency] = &blocks[..] else {
        panic!("ledger.md §5.1 example has {} code blocks", blocks.len());
    };
    let origin = span_after(example, "with origin");
    let entries: Vec<&str> = example
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with("entry "))
        .collect();
    assert_eq!(entries.len(), 3, "{entries:?}");
    let hashes: Vec<_> = entries
        .iter()
        .map(|e| merkle::leaf_hash(e.as_bytes()))
        .collect();
    let listed: Vec<String> = hashes.iter().map(|h| hex::encode(h)).collect();
    assert_eq!(leaves.lines().collect::<Vec<_>>(), listed);

    let mut tree = MemoryTree::from_leaves(hashes.iter().copied());
    let roots: Vec<&str> = example
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.ends_with('='))
        .collect();
    let b64 = |h: &merkle::Hash| base64::engine::general_purpose::STANDARD.encode(h);
    let root3 = tree.root();
    let root2 = MemoryTree::from_leaves(hashes[..2].iter().copied()).root();
    assert_eq!(roots, [b64(&root2), b64(&root3)]);

    let proof = merkle::inclusion_proof(&mut tree, 1, 3).unwrap();
    proof.verify(&hashes[1], &root3).unwrap();
    let expected = serde_json::json!({
        "type": "inclusion",
        "origin": origin,
        "leaf_index": 1,
        "tree_size": 3,
        "leaf_hash": hex::encode(&hashes[1]),
        "hashes": proof.hashes.iter().map(|h| hex::encode(h)).collect::<Vec<_>>(),
    });
    let documented: serde_json::Value = serde_json::from_str(inclusion).unwrap();
    assert_eq!(documented, expected);

    let proof = merkle::consistency_proof(&mut tree, 2, 3).unwrap();
    proof.verify(&root2, &root3).unwrap();
    let expected = serde_json::json!({
        "type": "consistency",
        "origin": origin,
        "old_size": 2,
        "new_size": 3,
        "hashes": proof.hashes.iter().map(|h| hex::encode(h)).collect::<Vec<_>>(),
    });
    let documented: serde_json::Value = serde_json::from_str(consistency).unwrap();
    assert_eq!(documented, expected);
}
