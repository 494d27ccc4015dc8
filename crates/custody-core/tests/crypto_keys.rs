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
