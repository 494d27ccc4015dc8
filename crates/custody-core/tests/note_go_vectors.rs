//! Known-answer tests from Go's golang.org/x/mod/sumdb/note (package documentation and
//! note_test.go) and the C2SP signed-note specification.

use custody_core::keys::{ActorInfo, Identity, KeyError, KeyType, VerifierKey};
use custody_core::note::{Note, NoteError};

const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
/// Go's signer key for the same key: `PRIVATE+KEY+PeterNeumann+c74f20a3+` then base64 of
/// 0x01 ‖ 32-byte seed.
const PETER_SKEY_B64: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn peter() -> Identity {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(PETER_SKEY_B64)
        .unwrap();
    assert_eq!(raw[0], 0x01);
    Identity::from_seed(
        ActorInfo::named("PeterNeumann"),
        raw[1..].try_into().unwrap(),
    )
    .unwrap()
}

fn vkey(s: &str) -> VerifierKey {
    s.parse().unwrap()
}

fn open(msg: &str, known: &[VerifierKey]) -> Result<Vec<VerifierKey>, NoteError> {
    Note::parse(msg.as_bytes())?.verify(known)
}

#[test]
fn verifier_key_parses_and_prints_back() {
    let key = vkey(PETER_VKEY);
    assert_eq!(key.name, "PeterNeumann");
    assert_eq!(key.key_type, KeyType::Ed25519);
    assert_eq!(key.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
    assert_eq!(key.to_string(), PETER_VKEY);
    assert_eq!(vkey(ENOCH_VKEY).to_string(), ENOCH_VKEY);
}

#[test]
fn seed_gives_the_published_verifier_key() {
    assert_eq!(peter().verifier_key().to_string(), PETER_VKEY);
}

#[test]
fn signing_reproduces_gos_note_byte_for_byte() {
    let note = Note::sign(TEXT, &[&peter()]).unwrap();
    assert_eq!(
        String::from_utf8(note.to_bytes()).unwrap(),
        format!("{TEXT}\n{PETER_SIG}")
    );
}

#[test]
fn one_verified_one_unknown() {
    let msg = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    assert_eq!(
        open(&msg, &[vkey(PETER_VKEY)]).unwrap(),
        vec![vkey(PETER_VKEY)]
    );
    let note = Note::parse(msg.as_bytes()).unwrap();
    assert_eq!(note.text, TEXT);
    assert_eq!(note.signatures.len(), 2);
    assert_eq!(note.signatures[1].key_id, [0xaf, 0x0c, 0xfe, 0x78]);
}

#[test]
fn both_verified() {
    let msg = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    let both = [vkey(PETER_VKEY), vkey(ENOCH_VKEY)];
    assert_eq!(open(&msg, &both).unwrap(), both.to_vec());
}

#[test]
fn fail_both_unverified() {
    let msg = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    assert_eq!(open(&msg, &[]), Err(NoteError::UnverifiedNote));
}

#[test]
fn duplicate_lines_by_a_known_key_verify_once() {
    let msg = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}");
    assert_eq!(
        open(&msg, &[vkey(PETER_VKEY)]).unwrap(),
        vec![vkey(PETER_VKEY)]
    );
}

#[test]
fn fail_too_many_signatures() {
    let msg = format!("{TEXT}\n{}", PETER_SIG.repeat(101));
    assert!(matches!(
        open(&msg, &[vkey(PETER_VKEY)]),
        Err(NoteError::Malformed(_))
    ));
    let msg = format!("{TEXT}\n{}", PETER_SIG.repeat(100));
    assert!(open(&msg, &[vkey(PETER_VKEY)]).is_ok());
}

#[test]
fn fail_invalid_signature_from_known_key() {
    // Go's test: four base64 characters inserted into Peter's signature.
    let (head, tail) = PETER_SIG.split_at(60);
    let msg = format!("{TEXT}\n{head}ABCD{tail}");
    assert_eq!(
        open(&msg, &[vkey(PETER_VKEY)]),
        Err(NoteError::InvalidSignature {
            name: "PeterNeumann".into()
        })
    );
}

fn assert_malformed(msg: &[u8]) {
    let err = Note::parse(msg).unwrap_err();
    assert!(
        matches!(
            err,
            NoteError::Malformed(_) | NoteError::MalformedSignature { .. }
        ),
        "{err:?} for {:?}",
        String::from_utf8_lossy(msg)
    );
}

#[test]
fn fail_text_only() {
    assert_malformed(TEXT.as_bytes());
}

#[test]
fn fail_blank_line_without_signatures() {
    assert_malformed(format!("{TEXT}\n").as_bytes());
}

#[test]
fn fail_last_signature_without_newline() {
    assert_malformed(format!("{TEXT}\n{}", PETER_SIG.trim_end_matches('\n')).as_bytes());
}

#[test]
fn fail_control_character() {
    assert_malformed(format!("\x01{TEXT}\n{PETER_SIG}").as_bytes());
}

#[test]
fn fail_carriage_return() {
    assert_malformed(format!("{}\r\n\n{PETER_SIG}", TEXT.trim_end()).as_bytes());
}

#[test]
fn fail_invalid_utf8() {
    let mut msg = vec![0xff];
    msg.extend_from_slice(format!("{TEXT}\n{PETER_SIG}").as_bytes());
    assert_malformed(&msg);
}

#[test]
fn fail_name_with_space() {
    assert_malformed(
        format!("{TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")
            .as_bytes(),
    );
}

#[test]
fn fail_unexpected_line_after_signatures() {
    assert_malformed(format!("{TEXT}\n{PETER_SIG}Unexpected line.\n").as_bytes());
}

#[test]
fn fail_hyphen_instead_of_em_dash() {
    assert_malformed(format!("{TEXT}\n{}", PETER_SIG.replacen('—', "-", 1)).as_bytes());
}

#[test]
fn fail_signature_too_short() {
    // Four bytes: a key ID and no signature.
    assert_malformed(format!("{TEXT}\n— PeterNeumann x08gow==\n").as_bytes());
}

#[test]
fn fail_signature_not_base64() {
    assert_malformed(format!("{TEXT}\n— PeterNeumann x08go*ZJ\n").as_bytes());
}

#[test]
fn fail_signature_missing() {
    assert_malformed(format!("{TEXT}\n— PeterNeumann\n").as_bytes());
}

#[test]
fn fail_verifier_key_manglings() {
    // Every strict substring and every single-byte increment must be refused (Go's test).
    let bytes = PETER_VKEY.as_bytes();
    for i in 0..=bytes.len() {
        for j in i + 1..=bytes.len() {
            if i == 0 && j == bytes.len() {
                continue;
            }
            let s = String::from_utf8_lossy(&bytes[i..j]);
            assert!(s.parse::<VerifierKey>().is_err(), "{s:?} was accepted");
        }
    }
    for i in 0..bytes.len() {
        let mut b = bytes.to_vec();
        b[i] = b[i].wrapping_add(1);
        let s = String::from_utf8_lossy(&b);
        assert!(s.parse::<VerifierKey>().is_err(), "{s:?} was accepted");
    }
}

#[test]
fn fail_verifier_key_wrong_length_with_matching_id() {
    let err = "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        .parse::<VerifierKey>()
        .unwrap_err();
    assert!(matches!(err, KeyError::Malformed { .. }), "{err}");
}

#[test]
fn fail_verifier_key_unknown_algorithm() {
    let err = "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        .parse::<VerifierKey>()
        .unwrap_err();
    assert!(
        matches!(err, KeyError::UnsupportedKeyType { byte: 0x65, .. }),
        "{err}"
    );
}

#[test]
fn fail_verifier_key_id_mismatch() {
    let err = "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        .parse::<VerifierKey>()
        .unwrap_err();
    assert!(matches!(err, KeyError::KeyIdMismatch { .. }), "{err}");
}

#[test]
fn c2sp_spec_example_parses() {
    let msg = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
    let note = Note::parse(msg.as_bytes()).unwrap();
    // The text keeps its inner blank line; the last blank line is the separator.
    assert_eq!(note.text, "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n");
    assert_eq!(note.signatures[0].name, "quasimodo.example/salvatore");
    assert_eq!(note.signatures[0].signature.len(), 64);
    assert_eq!(note.to_bytes(), msg.as_bytes());
}
