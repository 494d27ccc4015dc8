//! One signature rule on every path: the twelve Ed25519 edge-case vectors of "Taming the many
//! EdDSAs" (Chalkias, Garillot, Nikolaenko, 2020) get the same verdict from the single check,
//! the ledger's parallel path, the package signature path and the signed-note path, and that
//! verdict is the documented rule's (docs/formats.md, "Signature rule"): only vector 3 holds.

use custody_core::keys::{ActorInfo, Identity, PublicKey, Signature};
use custody_core::{hex, note, sign};
use custody_pack::verify::package_signature_verifies;

struct Case {
    number: u64,
    message: Vec<u8>,
    key: Option<PublicKey>,
    signature: [u8; 64],
}

fn cases() -> Vec<Case> {
    let text = include_str!("../../custody-core/tests/testdata/ed25519_speccheck.json");
    let doc: serde_json::Value = serde_json::from_str(text).expect("vector file");
    doc["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            let field = |name: &str| c[name].as_str().expect(name).to_owned();
            let key_bytes: [u8; 32] = hex::decode_array(&field("pub_key")).expect("key hex");
            Case {
                number: c["number"].as_u64().expect("number"),
                message: hex::decode(&field("message")).expect("message hex"),
                // A key that does not decode is refused on every path before any check.
                key: PublicKey::from_bytes(&key_bytes).ok(),
                signature: hex::decode_array(&field("signature")).expect("signature hex"),
            }
        })
        .collect()
}

/// What the rule says: only vector 3 (mixed-order A and R, canonical S, cofactorless
/// equation holds) verifies; this is the "Dalek strict" row the vectors' authors published.
const ACCEPTED: [u64; 1] = [3];

#[test]
fn all_twelve_vectors_are_present() {
    let numbers: Vec<u64> = cases().iter().map(|c| c.number).collect();
    assert_eq!(numbers, (0..12).collect::<Vec<u64>>());
}

#[test]
fn every_path_gives_the_documented_verdict_on_every_vector() {
    let cases = cases();
    // The ledger path runs on every core; surround the vectors with valid signatures so each
    // vector lands in a worker's slice, not only on the calling thread.
    let signer = Identity::from_seed(ActorInfo::named("officer@example.org"), [5; 32]).unwrap();
    let filler_key = signer.public_key();
    let filler_messages: Vec<Vec<u8>> = (0..300).map(|i| format!("{i}").into_bytes()).collect();
    let filler_signatures: Vec<Signature> =
        filler_messages.iter().map(|m| signer.sign_raw(m)).collect();
    let decodable: Vec<(&Case, PublicKey, Signature)> = cases
        .iter()
        .filter_map(|c| Some((c, c.key?, Signature::from_bytes(&c.signature))))
        .collect();
    let mut ledger_items = Vec::new();
    let mut positions = Vec::new();
    for (i, (message, signature)) in filler_messages.iter().zip(&filler_signatures).enumerate() {
        ledger_items.push(sign::RawItem {
            key: &filler_key,
            message,
            signature,
        });
        if let Some((case, key, signature)) = decodable.get(i / 25).filter(|_| i % 25 == 0) {
            positions.push((case.number, ledger_items.len()));
            ledger_items.push(sign::RawItem {
                key,
                message: &case.message,
                signature,
            });
        }
    }
    let ledger_verdicts = sign::verify_raw_many(&ledger_items);
    let ledger_verdict = |number: u64| {
        positions
            .iter()
            .find(|(n, _)| *n == number)
            .map(|(_, at)| ledger_verdicts[*at])
    };

    for case in &cases {
        let expected = ACCEPTED.contains(&case.number);
        let signature = Signature::from_bytes(&case.signature);
        let single = case
            .key
            .is_some_and(|k| k.verify_raw(&case.message, &signature).is_ok());
        let ledger = ledger_verdict(case.number).unwrap_or(false);
        let package = case
            .key
            .is_some_and(|k| package_signature_verifies(&k, &case.message, &signature));
        let signed_note = case
            .key
            .is_some_and(|k| note::ed25519_line_verifies(&k, &case.message, &case.signature));
        assert_eq!(
            [single, ledger, package, signed_note],
            [expected; 4],
            "vector {}: [single, ledger, package, note]",
            case.number
        );
    }
    // The valid signatures around the vectors all held: the verdicts are the vectors' own.
    let filler_ok = ledger_verdicts
        .iter()
        .enumerate()
        .filter(|(at, _)| !positions.iter().any(|(_, p)| p == at))
        .all(|(_, ok)| *ok);
    assert!(filler_ok);
}

#[test]
fn the_canonical_batch_path_is_the_single_rule() {
    // verify_canonical_batch (what ledger verification calls) agrees with verify_canonical on
    // every vector key and signature, under the event context.
    for case in cases() {
        let Some(key) = case.key else { continue };
        let signature = Signature::from_bytes(&case.signature);
        let item = sign::BatchItem {
            key: &key,
            canonical: &case.message,
            signature: &signature,
        };
        let single =
            sign::verify_canonical(&key, sign::CONTEXT_EVENT, &case.message, &signature).is_ok();
        assert_eq!(
            sign::verify_canonical_batch(sign::CONTEXT_EVENT, &[item]),
            vec![single],
            "vector {}",
            case.number
        );
    }
}
