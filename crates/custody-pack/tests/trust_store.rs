//! The trust store: round trip, and every limit at the limit and one past it.

use std::os::unix::fs::PermissionsExt;

use custody_core::keys::{ActorInfo, Identity};
use custody_pack::trust::{
    self, EntryKind, MalformedReason, NewEntry, TrustError, TrustStore, MAX_NOTE_BYTES,
    MAX_TRUST_ENTRIES, MAX_TRUST_ENTRY_BYTES, MAX_TRUST_NAME_BYTES,
};
use custody_pack::verify::TrustedKey;

fn key(seed: u8) -> Identity {
    Identity::from_seed(ActorInfo::named(format!("k{seed}@example.org")), [seed; 32]).unwrap()
}

fn new_entry(name: &str, seed: u8) -> NewEntry {
    NewEntry {
        name: name.to_owned(),
        kind: EntryKind::Signer,
        key: TrustedKey::Verifier(key(seed).verifier_key()),
        added_time: "2026-03-01T09:00:00Z".to_owned(),
        note: None,
    }
}

fn store() -> (tempfile::TempDir, TrustStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = TrustStore::at(dir.path().join("trust"));
    (dir, store)
}

#[test]
fn added_entries_read_back_and_give_their_keys() {
    let (_dir, store) = store();
    assert_eq!(store.entries().unwrap(), []);
    let mut pem = new_entry("pem-key", 2);
    pem.key = TrustedKey::Public(key(2).public_key());
    pem.note = Some("Émilie Durand-Noël, by phone".to_owned());
    store.add(new_entry("named", 1)).unwrap();
    store.add(pem).unwrap();
    let entries = store.entries().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].name, "named");
    assert_eq!(
        entries[0].verifier_key.as_deref(),
        Some(key(1).verifier_key().to_string().as_str())
    );
    assert_eq!(entries[1].verifier_key, None);
    let keys = store.trusted_keys(EntryKind::Signer).unwrap();
    assert_eq!(keys[0].public_key(), key(1).public_key());
    assert!(matches!(keys[1], TrustedKey::Public(k) if k == key(2).public_key()));
    let mode = std::fs::metadata(store.dir()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert_eq!(store.remove("named").unwrap().name, "named");
    assert_eq!(store.entries().unwrap().len(), 1);
}

#[test]
fn entry_count_at_the_limit_and_one_past() {
    let (_dir, store) = store();
    store.add(new_entry("first", 1)).unwrap();
    let first = std::fs::read(store.dir().join("first.json")).unwrap();
    let text = String::from_utf8(first).unwrap();
    let public_key = custody_core::hex::encode(&key(1).public_key().to_bytes());
    // Fill the store directly with distinct keys up to the limit.
    for i in 1..MAX_TRUST_ENTRIES {
        let seed = Identity::from_seed(ActorInfo::named("x"), {
            let mut s = [0u8; 32];
            s[..8].copy_from_slice(&(i as u64).to_le_bytes());
            s[31] = 0xaa;
            s
        })
        .unwrap();
        let hex = custody_core::hex::encode(&seed.public_key().to_bytes());
        let name = format!("e{i:04}");
        let body = text
            .replace(&public_key, &hex)
            .replace("\"name\":\"first\"", &format!("\"name\":\"{name}\""));
        let body = body.replace(
            &format!(",\"verifier_key\":\"{}\"", key(1).verifier_key()),
            "",
        );
        std::fs::write(store.dir().join(format!("{name}.json")), body).unwrap();
    }
    assert_eq!(store.entries().unwrap().len(), MAX_TRUST_ENTRIES);
    let err = store.add(new_entry("one-more", 7)).unwrap_err();
    assert!(matches!(err, TrustError::TooManyEntries { limit, .. } if limit == MAX_TRUST_ENTRIES));
    std::fs::write(store.dir().join("extra.json"), &text).unwrap();
    let err = store.entries().unwrap_err();
    assert!(matches!(err, TrustError::TooManyEntries { .. }), "{err}");
}

#[test]
fn fail_entry_file_one_past_the_size_limit() {
    let (_dir, store) = store();
    store.add(new_entry("a", 1)).unwrap();
    let path = store.dir().join("a.json");
    let mut at_limit = std::fs::read(&path).unwrap();
    at_limit.resize(MAX_TRUST_ENTRY_BYTES as usize, b' ');
    std::fs::write(&path, &at_limit).unwrap();
    // At the limit the file is read (and refused as not canonical).
    let err = store.entries().unwrap_err();
    assert!(
        matches!(
            err,
            TrustError::MalformedEntry {
                reason: MalformedReason::Json(_),
                ..
            }
        ),
        "{err}"
    );
    at_limit.push(b' ');
    std::fs::write(&path, &at_limit).unwrap();
    let err = store.entries().unwrap_err();
    assert!(
        matches!(err, TrustError::EntryTooLarge { limit, .. } if limit == MAX_TRUST_ENTRY_BYTES),
        "{err}"
    );
}

#[test]
fn names_and_notes_at_the_limit_and_one_past() {
    let (_dir, store) = store();
    let long = "n".repeat(MAX_TRUST_NAME_BYTES);
    store.add(new_entry(&long, 1)).unwrap();
    let err = store
        .add(new_entry(&"n".repeat(MAX_TRUST_NAME_BYTES + 1), 2))
        .unwrap_err();
    assert!(matches!(err, TrustError::InvalidName { .. }), "{err}");
    for bad in ["", ".hidden", "a/b", "..", "a b", "é"] {
        assert!(!trust::valid_name(bad), "{bad:?}");
    }
    let mut noted = new_entry("noted", 3);
    noted.note = Some("é".repeat(MAX_NOTE_BYTES / 2));
    store.add(noted).unwrap();
    let mut too_long = new_entry("too-long", 4);
    too_long.note = Some("x".repeat(MAX_NOTE_BYTES + 1));
    assert!(matches!(
        store.add(too_long).unwrap_err(),
        TrustError::InvalidNote
    ));
    let mut line_break = new_entry("line-break", 5);
    line_break.note = Some("a\nb".to_owned());
    assert!(matches!(
        store.add(line_break).unwrap_err(),
        TrustError::InvalidNote
    ));
}

#[test]
fn fail_private_key_and_non_key_text() {
    let private = key(9).to_pem();
    assert!(matches!(
        trust::parse_public_key(&private),
        Err(TrustError::PrivateKey)
    ));
    assert!(matches!(
        trust::parse_public_key("hello"),
        Err(TrustError::NotAKey)
    ));
    let public = key(9).public_key().to_pem();
    assert!(matches!(
        trust::parse_public_key(&public),
        Ok(TrustedKey::Public(k)) if k == key(9).public_key()
    ));
}

#[test]
fn fail_symlinked_entry_and_store_that_is_a_file() {
    let (dir, store) = store();
    store.add(new_entry("a", 1)).unwrap();
    std::fs::rename(store.dir().join("a.json"), dir.path().join("a.json")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("a.json"), store.dir().join("a.json")).unwrap();
    let err = store.entries().unwrap_err();
    assert!(
        matches!(
            err,
            TrustError::NotA {
                expected: "regular file",
                ..
            }
        ),
        "{err}"
    );
    let file_store = TrustStore::at(dir.path().join("a.json"));
    let err = file_store.entries().unwrap_err();
    assert!(
        matches!(
            err,
            TrustError::NotA {
                expected: "directory",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn recipients_are_entries_of_their_own_kind() {
    let (_dir, store) = store();
    let identity = custody_pack::encrypt::EncryptionIdentity::generate();
    let recipient = identity.recipient();
    let at = "2026-03-01T09:00:00Z".to_owned();
    store
        .add_recipient("berlin".into(), &recipient, at.clone(), None)
        .unwrap();
    store.add(new_entry("berlin-signer", 1)).unwrap();
    assert_eq!(store.recipient("berlin").unwrap(), Some(recipient.clone()));
    assert_eq!(store.recipient("berlin-signer").unwrap(), None);
    assert_eq!(store.trusted_keys(EntryKind::Signer).unwrap().len(), 1);
    let again = store.add_recipient("other".into(), &recipient, at, None);
    assert!(
        matches!(again, Err(TrustError::AlreadyTrusted { .. })),
        "{again:?}"
    );
}

#[test]
fn fail_recipient_entry_whose_key_is_not_an_age_recipient() {
    let (_dir, store) = store();
    let recipient = custody_pack::encrypt::EncryptionIdentity::generate().recipient();
    let at = "2026-03-01T09:00:00Z".to_owned();
    store
        .add_recipient("berlin".into(), &recipient, at, None)
        .unwrap();
    let path = store.dir().join("berlin.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replace(&recipient.to_string(), &"ab".repeat(32));
    std::fs::write(&path, edited).unwrap();
    let err = store.entries().unwrap_err();
    assert!(
        matches!(
            err,
            TrustError::MalformedEntry {
                reason: MalformedReason::NotARecipient,
                ..
            }
        ),
        "{err:?}"
    );
}
