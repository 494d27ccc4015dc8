//! The worked example of docs/formats.md, recomputed: if an encoding changes, this test and
//! the document must change together.

use custody_core::checkpoint::{cosign, Checkpoint};
use custody_core::hex;
use custody_core::keys::{ActorInfo, Identity};
use custody_core::{canonical, sign};

/// RFC 8032 TEST 1 seed, reused so the public key can be checked against the RFC.
const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
/// RFC 8032 TEST 2 seed, for the witness.
const WITNESS_SEED: &str = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";

fn example() -> Vec<(&'static str, String)> {
    let mut info = ActorInfo::named("example.org/ledger");
    info.role = Some("ledger log key".into());
    info.jurisdiction = Some("FR".into());
    let log = Identity::from_seed(info, hex::decode_array(SEED).unwrap()).unwrap();
    let witness = Identity::from_seed(
        ActorInfo::named("example.de/witness"),
        hex::decode_array(WITNESS_SEED).unwrap(),
    )
    .unwrap();
    let record = canonical::canonicalize(
        br#"{"kind":"acquired","item":"IMG-1","size":1024,"note":"\u00e9"}"#,
    )
    .unwrap();
    let event_sig = sign::sign_canonical(&log, sign::CONTEXT_EVENT, &record);
    let checkpoint = Checkpoint {
        origin: "example.org/ledger".into(),
        size: 1,
        // RFC 6962 leaf hash SHA-256(0x00 ‖ entry): the root of a one-leaf tree.
        root: {
            use sha2::Digest;
            sha2::Sha256::new()
                .chain_update([0u8])
                .chain_update(&record)
                .finalize()
                .into()
        },
        extensions: vec![],
    };
    let mut note = checkpoint.sign(&[&log]).unwrap();
    note.add_signature(cosign(&checkpoint, &witness, 1_700_000_000));
    vec![
        ("key file", log.to_pem()),
        ("public pem", log.public_key().to_pem()),
        ("verifier key", log.verifier_key().to_string()),
        ("cosigner key", witness.cosigner_key().to_string()),
        ("fingerprint", log.public_key().fingerprint()),
        ("canonical", String::from_utf8(record).unwrap()),
        ("event signature", sign::signature_to_hex(&event_sig)),
        (
            "checkpoint note",
            String::from_utf8(note.to_bytes()).unwrap(),
        ),
    ]
}

#[test]
fn worked_example_matches_docs() {
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/formats.md"
    ))
    .expect("docs/formats.md");
    let example = example();
    if std::env::var_os("CUSTODY_PRINT_EXAMPLE").is_some() {
        for (what, value) in &example {
            println!("== {what}\n{value}");
        }
    }
    for (what, value) in example {
        for line in value.lines() {
            assert!(
                docs.contains(line),
                "docs/formats.md lacks the {what} line {line:?}"
            );
        }
    }
}
