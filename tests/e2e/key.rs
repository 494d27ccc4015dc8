//! `custody key new|show|export`.

use std::os::unix::fs::PermissionsExt;

use crate::harness::Sandbox;

fn new_key(sb: &Sandbox, out: &str) -> String {
    let run = sb
        .run(&[
            "key",
            "new",
            "--name",
            "marie.dupont@pj.example",
            "--role",
            "investigator",
            "--org",
            "Police judiciaire, Lyon",
            "--jurisdiction",
            "FR",
            "--out",
            out,
        ])
        .expect(0);
    assert!(
        run.stderr.contains(out),
        "stderr names the key file: {}",
        run.stderr
    );
    run.stdout
}

#[test]
fn new_then_show_round_trip() {
    let sb = Sandbox::new();
    let stdout = new_key(&sb, "marie.key");
    let vkey = stdout.lines().next().unwrap();
    assert!(vkey.starts_with("marie.dupont@pj.example+"), "{stdout}");
    assert_eq!(vkey.split('+').nth(1).unwrap().len(), 8);

    let json = sb
        .run(&["key", "show", "--key", "marie.key", "--json"])
        .expect(0)
        .json();
    assert_eq!(json["name"], "marie.dupont@pj.example");
    assert_eq!(json["role"], "investigator");
    assert_eq!(json["organisation"], "Police judiciaire, Lyon");
    assert_eq!(json["jurisdiction"], "FR");
    assert_eq!(json["key"], vkey);
    assert_eq!(json["key_id"], vkey.split('+').nth(1).unwrap());
    assert_eq!(json["fingerprint"].as_str().unwrap().len(), 64);
    assert!(json["public_key_pem"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN PUBLIC KEY-----"));

    let text = sb
        .run(&["key", "show", "--key", "marie.key"])
        .expect(0)
        .stdout;
    assert!(text.contains(&format!("verifier key:  {vkey}")), "{text}");
    assert!(text.contains("jurisdiction:  FR"), "{text}");
}

#[test]
fn created_key_has_mode_0600() {
    let sb = Sandbox::new();
    new_key(&sb, "k.key");
    let mode = std::fs::metadata(sb.path("k.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn fail_show_insecure_key() {
    let sb = Sandbox::new();
    new_key(&sb, "k.key");
    std::fs::set_permissions(sb.path("k.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = sb.run(&["key", "show", "--key", "k.key"]).expect(2);
    assert!(run.stderr.contains("chmod 600 k.key"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn fail_invalid_name() {
    let sb = Sandbox::new();
    let run = sb
        .run(&["key", "new", "--name", "marie dupont", "--out", "k.key"])
        .expect(2);
    assert!(run.stderr.contains("invalid key name"), "{}", run.stderr);
    assert!(!sb.path("k.key").exists());
    let run = sb
        .run(&["key", "new", "--name", "a+b", "--out", "k.key"])
        .expect(2);
    assert!(run.stderr.contains("'+'"), "{}", run.stderr);
}

#[test]
fn fail_invalid_jurisdiction() {
    let sb = Sandbox::new();
    let run = sb
        .run(&[
            "key",
            "new",
            "--name",
            "m",
            "--jurisdiction",
            "fr",
            "--out",
            "k.key",
        ])
        .expect(2);
    assert!(
        run.stderr.contains("invalid jurisdiction \"fr\""),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("such as FR"), "{}", run.stderr);
    assert!(!sb.path("k.key").exists());
}

#[test]
fn fail_overwrite_refused() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("k.key"), "existing").unwrap();
    let run = sb
        .run(&["key", "new", "--name", "m", "--out", "k.key"])
        .expect(2);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(sb.path("k.key")).unwrap(),
        "existing"
    );
}

#[test]
fn export_writes_openssl_public_key() {
    let sb = Sandbox::new();
    new_key(&sb, "k.key");
    let run = sb
        .run(&["key", "export", "--key", "k.key", "--out", "k.pub.pem"])
        .expect(0);
    assert!(run.stdout.is_empty());
    let pem = std::fs::read_to_string(sb.path("k.pub.pem")).unwrap();
    let json = sb
        .run(&["key", "show", "--key", "k.key", "--json"])
        .expect(0)
        .json();
    assert_eq!(json["public_key_pem"], pem.as_str());
    sb.run(&["key", "export", "--key", "k.key", "--out", "k.pub.pem"])
        .expect(2);
}

#[test]
fn fail_show_missing_key() {
    let sb = Sandbox::new();
    let run = sb.run(&["key", "show", "--key", "absent.key"]).expect(2);
    assert!(run.stderr.contains("absent.key"), "{}", run.stderr);
}

#[test]
fn key_name_at_the_limit_and_fail_one_past_it() {
    let sb = Sandbox::new();
    let at_limit = "n".repeat(255);
    sb.run(&["key", "new", "--name", &at_limit, "--out", "k.key"])
        .expect(0);
    let run = sb.run(&["key", "show", "--key", "k.key"]).expect(0);
    assert!(run.stdout.contains(&at_limit), "{}", run.stdout);

    let past = "n".repeat(256);
    let run = sb
        .run(&["key", "new", "--name", &past, "--out", "long.key"])
        .expect(2);
    assert!(
        run.stderr.contains("longer than 255 bytes"),
        "{}",
        run.stderr
    );
    assert!(!sb.path("long.key").exists());

    // A key file whose name was lengthened by hand is refused at load.
    let text = std::fs::read_to_string(sb.path("k.key")).unwrap();
    let edited = text.replacen(&at_limit, &past, 1);
    std::fs::write(sb.path("k.key"), edited).unwrap();
    let run = sb.run(&["key", "show", "--key", "k.key"]).expect(2);
    assert!(
        run.stderr.contains("longer than 255 bytes"),
        "{}",
        run.stderr
    );
}
