//! `custody verify --bagit` over the bags in fixtures/bagit/: every valid bag exits 0,
//! every `fail_*` bag exits 1 naming the file at fault, an unreadable path exits 2.

use crate::harness::{fixtures, Sandbox};

fn verify(name: &str, extra: &[&str]) -> crate::harness::Run {
    let path = fixtures().join("bagit").join(name);
    let path = path.to_str().expect("UTF-8 fixture path");
    let mut args = vec!["verify", "--bagit", path];
    args.extend_from_slice(extra);
    Sandbox::new().run(&args)
}

#[track_caller]
fn valid(name: &str) -> crate::harness::Run {
    let run = verify(name, &[]).expect(0);
    assert!(run.stdout.contains("valid BagIt"), "{}", run.stdout);
    run
}

#[track_caller]
fn invalid(name: &str, message: &str) {
    let run = verify(name, &[]).expect(1);
    assert!(
        run.stdout.contains(message),
        "{name}: wanted {message:?} in\n{}",
        run.stdout
    );
}

#[test]
fn valid_v1_0_sha256() {
    let run = valid("valid_v1_0_sha256");
    assert!(run.stdout.contains("BagIt 1.0"));
    assert_eq!(run.stderr, "");
}

#[test]
fn valid_v1_0_sha512_crlf() {
    valid("valid_v1_0_sha512_crlf");
}

#[test]
fn valid_v1_0_percent_encoded() {
    valid("valid_v1_0_percent_encoded");
}

#[test]
fn valid_v0_97_md5_sha1_warns_about_weak_digests() {
    let run = valid("valid_v0_97_md5_sha1");
    assert!(
        run.stderr
            .contains("manifest-sha1.txt: payload is protected only by MD5/SHA-1"),
        "{}",
        run.stderr
    );
}

#[test]
fn valid_v0_96_sha1() {
    valid("valid_v0_96_sha1");
}

#[test]
fn valid_v0_93_md5_warns_about_missing_package_info() {
    let run = valid("valid_v0_93_md5");
    assert!(
        run.stderr.contains("package-info.txt: missing"),
        "{}",
        run.stderr
    );
}

#[test]
fn valid_latin1() {
    valid("valid_latin1");
}

#[test]
fn valid_fetch_complete() {
    valid("valid_fetch_complete");
}

#[test]
fn valid_zip_v1_0() {
    valid("valid_zip_v1_0.zip");
}

#[test]
fn valid_zip_at_root_warns() {
    let run = valid("valid_zip_at_root.zip");
    assert!(run.stderr.contains("archive root"), "{}", run.stderr);
}

#[test]
fn valid_json_report() {
    let run = verify("valid_v1_0_sha256", &["--json"]).expect(0);
    let json = run.json();
    assert_eq!(json["verdict"], "verified");
    assert_eq!(json["version"], "1.0");
    assert_eq!(json["findings"].as_array().map(Vec::len), Some(0));
}

#[test]
fn fail_payload_altered() {
    invalid(
        "fail_payload_altered",
        "data/report.txt: manifest-sha256.txt expects",
    );
}

#[test]
fn fail_payload_altered_json_names_the_file() {
    let run = verify("fail_payload_altered", &["--json"]).expect(1);
    let json = run.json();
    assert_eq!(json["verdict"], "failed");
    let errors = json["findings"].as_array().expect("findings");
    assert!(errors
        .iter()
        .any(|e| e["code"] == "digest_mismatch" && e["path"] == "data/report.txt"));
}

#[test]
fn fail_payload_missing() {
    invalid(
        "fail_payload_missing",
        "data/report.txt: listed in manifest-sha256.txt but missing",
    );
}

#[test]
fn fail_payload_added() {
    invalid(
        "fail_payload_added",
        "data/smuggled.txt: payload file not listed in manifest-sha256.txt",
    );
}

#[test]
fn fail_oxum_mismatch() {
    invalid(
        "fail_oxum_mismatch",
        "bag-info.txt: Payload-Oxum says 1 bytes in 1 files",
    );
}

#[test]
fn fail_fetch_incomplete() {
    invalid(
        "fail_fetch_incomplete",
        "data/missing.bin: listed in fetch.txt but not present",
    );
}

#[test]
fn fail_manifest_path_escapes() {
    invalid(
        "fail_manifest_path_escapes",
        "\"data/../../etc/passwd\" leaves the bag",
    );
}

#[test]
fn fail_no_bagit_txt() {
    invalid("fail_no_bagit_txt", "bagit.txt: missing");
}

#[test]
fn fail_unsupported_version() {
    invalid(
        "fail_unsupported_version",
        "bagit.txt: unsupported BagIt-Version 0.80",
    );
}

#[test]
fn fail_tag_file_altered() {
    invalid(
        "fail_tag_file_altered",
        "bag-info.txt: tagmanifest-sha256.txt expects",
    );
}

#[test]
fn fail_no_payload_manifest() {
    invalid("fail_no_payload_manifest", "no payload manifest");
}

#[test]
fn fail_zip_slip_bag() {
    invalid(
        "fail_zip_slip_bag.zip",
        "CASE-1/data/../../evil.sh: entry name escapes the archive root",
    );
}

#[test]
fn fail_zip_payload_altered() {
    invalid(
        "fail_zip_payload_altered.zip",
        "data/report.txt: manifest-sha256.txt expects",
    );
}

#[test]
fn unreadable_path_exits_2() {
    let run = Sandbox::new()
        .run(&["verify", "--bagit", "does-not-exist"])
        .expect(2);
    assert!(run.stderr.contains("does-not-exist"), "{}", run.stderr);
}
