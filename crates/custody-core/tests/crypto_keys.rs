//! Private key files: header lines, permissions, atomic creation, and the committed fixtures.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use custody_core::keys::{ActorInfo, Identity, KeyError, VerifierKey};

fn info() -> ActorInfo {
    ActorInfo {
        name: "marie.dupont@pj.example".into(),
        role: Some("investigator".into()),
        organisation: Some("Police judiciaire, Lyon".into()),
        jurisdiction: Some("FR".into()),
        full_name: None,
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn save_load_round_trip_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("marie.key");
    let id = Identity::generate(info()).unwrap();
    id.save(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    let loaded = Identity::load(&path).unwrap();
    assert_eq!(loaded.info(), &info());
    assert_eq!(loaded.public_key(), id.public_key());
    // Only the key file is left behind: no temporary file.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn key_file_starts_with_headers_then_pkcs8() {
    let text = Identity::from_seed(info(), [1; 32]).unwrap().to_pem();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("Custody-Name: marie.dupont@pj.example"));
    assert_eq!(lines.next(), Some("Custody-Role: investigator"));
    assert_eq!(
        lines.next(),
        Some("Custody-Organisation: Police judiciaire, Lyon")
    );
    assert_eq!(lines.next(), Some("Custody-Jurisdiction: FR"));
    assert_eq!(lines.next(), Some("-----BEGIN PRIVATE KEY-----"));
    // PKCS#8 v1 for Ed25519 is 48 bytes: 64 base64 characters on one line.
    assert_eq!(lines.next().map(str::len), Some(64));
    assert_eq!(lines.next(), Some("-----END PRIVATE KEY-----"));
    assert_eq!(lines.next(), None);
}

#[test]
fn fail_load_group_readable_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.key");
    Identity::generate(info()).unwrap().save(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = Identity::load(&path).unwrap_err();
    assert!(matches!(
        err,
        KeyError::InsecurePermissions { mode: 0o644, .. }
    ));
    assert!(
        err.to_string()
            .contains(&format!("chmod 600 {}", path.display())),
        "{err}"
    );
}

#[test]
fn fail_save_over_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.key");
    std::fs::write(&path, "precious").unwrap();
    let err = Identity::generate(info()).unwrap().save(&path).unwrap_err();
    assert!(matches!(err, KeyError::Exists { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
}

#[test]
fn fail_invalid_names() {
    for name in ["", "has space", "a+b", "tab\there", "nbsp\u{a0}x"] {
        let err = Identity::generate(ActorInfo::named(name)).unwrap_err();
        assert!(
            matches!(err, KeyError::InvalidName { .. }),
            "{name:?}: {err}"
        );
    }
}

#[test]
fn fail_invalid_jurisdictions() {
    for code in ["fr", "FRA", "F", "F1", "ÉT"] {
        let mut i = info();
        i.jurisdiction = Some(code.into());
        let err = Identity::generate(i).unwrap_err();
        assert!(
            matches!(err, KeyError::InvalidJurisdiction(_)),
            "{code:?}: {err}"
        );
        assert!(err.to_string().contains("such as FR"));
    }
}

#[test]
fn fail_role_with_newline() {
    let mut i = info();
    i.role = Some("investigator\nCustody-Name: evil".into());
    assert!(matches!(
        Identity::generate(i),
        Err(KeyError::InvalidField { field: "role", .. })
    ));
}

#[test]
fn fail_unknown_header_line() {
    let text = Identity::from_seed(info(), [1; 32]).unwrap().to_pem();
    let err = Identity::from_pem(&format!("Custody-Rank: high\n{text}"), None).unwrap_err();
    assert!(matches!(err, KeyError::Header { line: 1, .. }), "{err}");
}

#[test]
fn fail_duplicate_name_header() {
    let text = Identity::from_seed(info(), [1; 32]).unwrap().to_pem();
    let err = Identity::from_pem(&format!("Custody-Name: other\n{text}"), None).unwrap_err();
    assert!(matches!(err, KeyError::Header { .. }), "{err}");
}

#[test]
fn fail_corrupt_pkcs8() {
    let text = Identity::from_seed(info(), [1; 32]).unwrap().to_pem();
    let corrupt = text.replacen("MC4CAQAw", "MC4CAQEw", 1);
    assert_ne!(corrupt, text);
    assert!(matches!(
        Identity::from_pem(&corrupt, None),
        Err(KeyError::Malformed { .. })
    ));
}

#[test]
fn public_pem_round_trip() {
    let id = Identity::from_seed(info(), [1; 32]).unwrap();
    let pem = id.public_key().to_pem();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert_eq!(
        custody_core::keys::PublicKey::from_pem(&pem).unwrap(),
        id.public_key()
    );
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/keys")
}

/// Git does not keep mode 0600, so each fixture is copied and restricted before loading.
fn load_fixture(name: &str) -> Identity {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join(name);
    std::fs::copy(fixtures().join(name), &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o600)).unwrap();
    Identity::load(&copy).unwrap()
}

#[test]
fn fixture_keys_match_their_published_verifier_keys() {
    let mut checked = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = file.strip_suffix(".TEST-ONLY.key") else {
            continue;
        };
        let id = load_fixture(&file);
        let vkey_text = std::fs::read_to_string(fixtures().join(format!("{stem}.vkey"))).unwrap();
        let vkey: VerifierKey = vkey_text.trim().parse().unwrap();
        assert_eq!(vkey, id.verifier_key(), "{file}");
        let pem = std::fs::read_to_string(fixtures().join(format!("{stem}.pub.pem"))).unwrap();
        assert_eq!(pem, id.public_key().to_pem(), "{file}");
        checked += 1;
    }
    assert!(checked >= 3, "expected the fixture keys, found {checked}");
}

#[test]
fn full_name_travels_in_the_key_file() {
    let mut info = info();
    info.full_name = Some("Émilie Durand-Noël 杜兰".into());
    let id = Identity::generate(info.clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.key");
    id.save(&path).unwrap();
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("Custody-Full-Name: Émilie Durand-Noël 杜兰\n"));
    assert_eq!(Identity::load(&path).unwrap().info(), &info);
    assert_eq!(info.display_name(), "Émilie Durand-Noël 杜兰");
    assert_eq!(ActorInfo::named("k").display_name(), "k");
}

#[test]
fn fail_full_name_with_controls_or_over_the_limit() {
    let at_limit = ActorInfo {
        full_name: Some("é".repeat(custody_core::keys::MAX_FULL_NAME_BYTES / 2)),
        ..info()
    };
    at_limit.validate().unwrap();
    for bad in [
        "é".repeat(custody_core::keys::MAX_FULL_NAME_BYTES / 2) + "x",
        "Ann\nVERIFIED".to_owned(),
        "Ann\u{1b}[2J".to_owned(),
        " Ann".to_owned(),
        String::new(),
    ] {
        let info = ActorInfo {
            full_name: Some(bad.clone()),
            ..info()
        };
        assert!(
            matches!(
                info.validate(),
                Err(KeyError::InvalidField {
                    field: "full name",
                    ..
                })
            ),
            "{bad:?}"
        );
    }
    let id = Identity::generate(info()).unwrap();
    let bad = ActorInfo {
        full_name: Some("a\nb".into()),
        ..info()
    };
    assert!(id.with_info(bad).is_err());
}

fn kind_error_private(path: &Path) -> KeyError {
    Identity::load(path).expect_err("not a usable private key")
}

#[test]
fn fail_public_keys_directories_and_zips_where_a_private_key_is_needed() {
    use custody_core::keys::KeyFileKind;
    let dir = tempfile::tempdir().unwrap();
    let id = Identity::from_seed(info(), [3; 32]).unwrap();
    let pem = dir.path().join("pub.pem");
    std::fs::write(&pem, id.public_key().to_pem()).unwrap();
    let vkey = dir.path().join("marie.vkey");
    std::fs::write(&vkey, format!("{}\n", id.verifier_key())).unwrap();
    let zip = dir.path().join("pkg.zip");
    std::fs::write(&zip, b"PK\x03\x04\x14\x00rest of a zip").unwrap();
    let empty = dir.path().join("empty.key");
    std::fs::write(&empty, b"").unwrap();
    let cases: [(&Path, KeyFileKind, &str); 5] = [
        (
            &pem,
            KeyFileKind::PublicKey,
            "this is a public key (PEM), but a private key is needed",
        ),
        (
            &vkey,
            KeyFileKind::VerifierKey,
            "this is a verifier key (a public key), but a private key is needed",
        ),
        (
            dir.path(),
            KeyFileKind::Directory,
            "a directory, not a private key file",
        ),
        (
            &zip,
            KeyFileKind::Zip,
            "a ZIP archive (a package?), not a private key file",
        ),
        (&empty, KeyFileKind::Empty, "empty, not a private key file"),
    ];
    for (path, kind, message) in cases {
        // Public files are usually readable by all: that is not what is wrong with them.
        let err = kind_error_private(path);
        assert!(
            matches!(&err, KeyError::NotAPrivateKey { found, .. } if *found == kind),
            "{path:?}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("{}: {message}", path.display())),
            "{text}"
        );
    }
}

#[test]
fn fail_private_keys_directories_and_zips_where_a_public_key_is_expected() {
    use custody_core::keys::{GivenPublicKey, KeyFileKind};
    let dir = tempfile::tempdir().unwrap();
    let id = Identity::from_seed(info(), [4; 32]).unwrap();
    let private = dir.path().join("marie.key");
    id.save(&private).unwrap();
    let zip = dir.path().join("pkg.zip");
    std::fs::write(&zip, b"PK\x03\x04\x14\x00rest").unwrap();
    let secret_line = id.to_pem().lines().nth(5).unwrap().to_owned();
    for (given, kind) in [
        (&private, KeyFileKind::PrivateKey),
        (&dir.path().to_path_buf(), KeyFileKind::Directory),
        (&zip, KeyFileKind::Zip),
    ] {
        let err = GivenPublicKey::read(given.to_str().unwrap()).unwrap_err();
        assert!(
            matches!(&err, KeyError::NotAPublicKey { found, .. } if *found == kind),
            "{err:?}"
        );
        assert!(!err.to_string().contains(&secret_line));
    }
    let err = GivenPublicKey::read(private.to_str().unwrap()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: this is a private key, but a public key is expected here: give the public key (`custody key export` writes it, `custody key show` prints the verifier key) and keep the private key to its holder", private.display())
    );
    // Both public forms are read; the key is the same.
    let pem = dir.path().join("pub.pem");
    std::fs::write(&pem, id.public_key().to_pem()).unwrap();
    let vkey = id.verifier_key().to_string();
    for given in [pem.to_str().unwrap(), vkey.as_str()] {
        assert_eq!(
            GivenPublicKey::read(given).unwrap().public_key(),
            id.public_key()
        );
    }
}

#[test]
fn fail_pasted_private_key_text_is_never_repeated() {
    use custody_core::keys::GivenPublicKey;
    let pem = Identity::from_seed(info(), [5; 32]).unwrap().to_pem();
    let secret = pem.lines().nth(5).unwrap();
    for given in [pem.as_str(), secret] {
        let err = GivenPublicKey::read(given).unwrap_err();
        let text = err.to_string();
        assert!(!text.contains(secret), "{text}");
        assert!(text.contains("neither a verifier key"), "{text}");
    }
    // A malformed verifier key is not repeated either (it may be anything).
    let err = secret.parse::<VerifierKey>().unwrap_err().to_string();
    assert!(!err.contains(secret), "{err}");
}

#[test]
fn key_files_are_read_up_to_the_limit_and_not_past_it() {
    use custody_core::keys::{KeyFileKind, MAX_KEY_FILE_BYTES};
    let dir = tempfile::tempdir().unwrap();
    let id = Identity::from_seed(info(), [6; 32]).unwrap();
    let mut text = id.to_pem().into_bytes();
    let path = dir.path().join("padded.key");
    // Trailing blank lines pad the file to exactly the limit: still a key.
    text.resize(MAX_KEY_FILE_BYTES as usize, b'\n');
    std::fs::write(&path, &text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(Identity::load(&path).unwrap().public_key(), id.public_key());
    text.push(b'\n');
    std::fs::write(&path, &text).unwrap();
    let err = Identity::load(&path).unwrap_err();
    assert!(
        matches!(
            err,
            KeyError::NotAPrivateKey {
                found: KeyFileKind::TooLarge,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn fail_device_given_as_key() {
    use custody_core::keys::KeyFileKind;
    let err = Identity::load(Path::new("/dev/null")).unwrap_err();
    assert!(
        matches!(
            err,
            KeyError::NotAPrivateKey {
                found: KeyFileKind::Special,
                ..
            }
        ),
        "{err:?}"
    );
}

/// A name of `len` bytes ending in a two-byte character, so that the limit is in bytes.
fn name_of_bytes(len: usize) -> String {
    format!("{}é", "n".repeat(len - 2))
}

#[test]
fn key_name_at_the_limit_is_created_and_loaded() {
    use custody_core::keys::MAX_KEY_NAME_BYTES;
    let name = name_of_bytes(MAX_KEY_NAME_BYTES);
    assert_eq!(name.len(), 255);
    let id = Identity::generate(ActorInfo::named(name.as_str())).unwrap();
    let loaded = Identity::from_pem(&id.to_pem(), None).unwrap();
    assert_eq!(loaded.info().name, name);
    let verifier: VerifierKey = id.verifier_key().to_string().parse().unwrap();
    assert_eq!(verifier.to_string(), id.verifier_key().to_string());
}

#[test]
fn fail_key_name_one_past_the_limit_at_creation() {
    let name = name_of_bytes(256);
    let err = Identity::generate(ActorInfo::named(name.as_str())).unwrap_err();
    assert!(
        matches!(err, KeyError::InvalidName { .. }) && err.to_string().contains("255 bytes"),
        "{err}"
    );
}

#[test]
fn fail_key_name_one_past_the_limit_at_load() {
    // A key file written by another tool (or edited) with a 256-byte name.
    let at_limit = Identity::generate(ActorInfo::named(name_of_bytes(255).as_str())).unwrap();
    let pem = at_limit
        .to_pem()
        .replacen("Custody-Name: n", "Custody-Name: nn", 1);
    let err = Identity::from_pem(&pem, None).unwrap_err();
    assert!(matches!(err, KeyError::InvalidName { .. }), "{err}");
    let key = at_limit.verifier_key().to_string().replacen('n', "nn", 1);
    let err = key.parse::<VerifierKey>().unwrap_err();
    assert!(matches!(err, KeyError::InvalidName { .. }), "{err}");
}

#[test]
fn a_note_signature_by_a_longer_name_is_ignored_not_fatal() {
    use custody_core::note::Note;
    let signer = Identity::generate(ActorInfo::named("log.example/a")).unwrap();
    let mut note = Note::sign("text\n", &[&signer]).unwrap();
    let mut bytes = note.to_bytes();
    let long = format!("— {} AAAAAAAA\n", "x".repeat(300));
    bytes.extend_from_slice(long.as_bytes());
    note = Note::parse(&bytes).unwrap();
    assert_eq!(note.signatures.len(), 2);
    note.verify(&[signer.verifier_key()]).unwrap();
}
