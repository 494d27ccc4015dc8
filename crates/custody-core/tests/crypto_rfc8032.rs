//! RFC 8032 §7.1 Ed25519 known-answer tests through the custody-core key API.

use custody_core::hex;
use custody_core::keys::{ActorInfo, Identity, PublicKey, Signature};

struct Vector {
    name: String,
    secret: [u8; 32],
    public: [u8; 32],
    message: Vec<u8>,
    signature: [u8; 64],
}

fn vectors() -> Vec<Vector> {
    let text = include_str!("testdata/crypto_rfc8032.txt");
    let mut out = Vec::new();
    for block in text.split("\n\n").filter(|b| b.contains("name ")) {
        let mut fields: std::collections::BTreeMap<&str, String> = Default::default();
        for line in block.lines().filter(|l| !l.starts_with('#')) {
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            fields.entry(key).or_default().push_str(value);
        }
        let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
        out.push(Vector {
            name: get("name"),
            secret: hex::decode_array(&get("secret")).expect("secret"),
            public: hex::decode_array(&get("public")).expect("public"),
            message: hex::decode(&get("message")).expect("message"),
            signature: hex::decode_array(&get("signature")).expect("signature"),
        });
    }
    out
}

#[test]
fn all_five_vectors_are_present() {
    let names: Vec<String> = vectors().into_iter().map(|v| v.name).collect();
    assert_eq!(
        names,
        ["TEST 1", "TEST 2", "TEST 3", "TEST 1024", "TEST SHA(abc)"]
    );
    assert_eq!(vectors()[3].message.len(), 1023);
}

#[test]
fn signing_reproduces_rfc8032_signatures() {
    for v in vectors() {
        let id = Identity::from_seed(ActorInfo::named("rfc8032"), v.secret).unwrap();
        assert_eq!(
            id.public_key().to_bytes(),
            v.public,
            "{}: public key",
            v.name
        );
        assert_eq!(
            id.sign_raw(&v.message).to_bytes(),
            v.signature,
            "{}: signature",
            v.name
        );
    }
}

#[test]
fn rfc8032_signatures_verify() {
    for v in vectors() {
        let key = PublicKey::from_bytes(&v.public).unwrap();
        let sig = Signature::from_bytes(&v.signature);
        assert_eq!(key.verify_raw(&v.message, &sig), Ok(()), "{}", v.name);
    }
}

#[test]
fn fail_rfc8032_signature_with_flipped_bit() {
    for v in vectors() {
        let key = PublicKey::from_bytes(&v.public).unwrap();
        let mut bytes = v.signature;
        bytes[63] ^= 0x01;
        assert!(
            key.verify_raw(&v.message, &Signature::from_bytes(&bytes))
                .is_err(),
            "{}",
            v.name
        );
        let mut message = v.message.clone();
        message.push(0);
        let sig = Signature::from_bytes(&v.signature);
        assert!(key.verify_raw(&message, &sig).is_err(), "{}", v.name);
    }
}
