//! BagIt conformance: each bag under `fixtures/bagit/` checks one rule of RFC 8493 or of
//! the drafts 0.93–0.97 (named `<verdict>_<rule>_<spec section>`; `make.py` there writes
//! them). Each is its own test, asserting the verdict and the finding that decides it;
//! a last test makes sure no fixture is left without one.

use std::path::PathBuf;

use custody_pack::bagit::{validate_path, ValidateOptions};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/bagit")
}

/// Validates a fixture and returns its report as JSON (the vocabulary `--json` prints).
fn report(name: &str) -> serde_json::Value {
    let report = validate_path(&fixtures().join(name), &ValidateOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::to_value(&report).expect("report serialises")
}

/// Whether `list` holds a finding of `kind` whose `field` (if given) equals `value`.
fn has(report: &serde_json::Value, list: &str, kind: &str, field: Option<(&str, &str)>) -> bool {
    report[list]
        .as_array()
        .expect(list)
        .iter()
        .any(|f| f["kind"] == kind && field.is_none_or(|(k, v)| f[k] == v))
}

/// A fixture's name, whether it is valid, and the finding that decides it: the list
/// (`errors` or `warnings`) holding it, its `kind` (empty: none required) and a field
/// value it must carry.
type Expectation = (
    &'static str,
    bool,
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
);

const EXPECTED: &[Expectation] = &[
    // Custody's original corpus (also driven through the CLI in tests/e2e/bagit.rs).
    ("valid_v1_0_sha256", true, "errors", "", None),
    ("valid_v1_0_sha512_crlf", true, "errors", "", None),
    (
        "valid_v0_97_md5_sha1",
        true,
        "warnings",
        "weak_algorithms_only",
        None,
    ),
    (
        "valid_v0_96_sha1",
        true,
        "warnings",
        "weak_algorithms_only",
        None,
    ),
    (
        "valid_v0_93_md5",
        true,
        "warnings",
        "missing_bag_info",
        Some(("file", "package-info.txt")),
    ),
    ("valid_latin1", true, "errors", "", None),
    ("valid_fetch_complete", true, "errors", "", None),
    ("valid_v1_0_percent_encoded", true, "errors", "", None),
    ("valid_zip_v1_0.zip", true, "errors", "", None),
    (
        "valid_zip_at_root.zip",
        true,
        "warnings",
        "bag_at_zip_root",
        None,
    ),
    (
        "fail_payload_altered",
        false,
        "errors",
        "digest_mismatch",
        Some(("file", "data/report.txt")),
    ),
    (
        "fail_payload_missing",
        false,
        "errors",
        "missing_file",
        Some(("file", "data/report.txt")),
    ),
    (
        "fail_payload_added",
        false,
        "errors",
        "file_not_in_manifest",
        Some(("file", "data/smuggled.txt")),
    ),
    ("fail_oxum_mismatch", false, "errors", "oxum_mismatch", None),
    (
        "fail_fetch_incomplete",
        false,
        "errors",
        "incomplete_bag",
        Some(("file", "data/missing.bin")),
    ),
    (
        "fail_manifest_path_escapes",
        false,
        "errors",
        "path_escapes_bag",
        None,
    ),
    (
        "fail_no_bagit_txt",
        false,
        "errors",
        "missing_bagit_txt",
        None,
    ),
    (
        "fail_unsupported_version",
        false,
        "errors",
        "unsupported_version",
        None,
    ),
    (
        "fail_tag_file_altered",
        false,
        "errors",
        "digest_mismatch",
        Some(("file", "bag-info.txt")),
    ),
    (
        "fail_no_payload_manifest",
        false,
        "errors",
        "no_payload_manifest",
        None,
    ),
    ("fail_zip_slip_bag.zip", false, "errors", "zip", None),
    (
        "fail_zip_payload_altered.zip",
        false,
        "errors",
        "digest_mismatch",
        None,
    ),
    // docs/bagit.md, "Bags in ZIP archives": what common tools write.
    (
        "valid_zip_descriptors_extra_fields_bagit_md.zip",
        true,
        "errors",
        "",
        None,
    ),
    (
        "fail_zip_descriptor_mismatch_bagit_md.zip",
        false,
        "errors",
        "zip",
        None,
    ),
    // RFC 8493 §2.1.3: every algorithm bagit.py writes.
    (
        "valid_manifest_sha224_rfc8493_s2_1_3",
        true,
        "errors",
        "",
        None,
    ),
    (
        "valid_manifest_sha384_rfc8493_s2_1_3",
        true,
        "errors",
        "",
        None,
    ),
    (
        "valid_manifest_blake2b_rfc8493_s2_1_3",
        true,
        "errors",
        "",
        None,
    ),
    (
        "valid_manifest_blake2s_rfc8493_s2_1_3",
        true,
        "errors",
        "",
        None,
    ),
    (
        "valid_manifest_sha3_224_rfc8493_s2_1_3",
        true,
        "errors",
        "",
        None,
    ),
    (
        "valid_manifest_sha3_256_rfc8493_s2_1_3",
        true,
        "errors",
        "",
        None,
    ),
    (
        "valid_manifest_sha3_384_rfc8493_s2_1_3",
        true,
        "errors",
        "",
        None,
    ),
    (
        "valid_manifest_sha3_512_rfc8493_s2_1_3",
        true,
        "errors",
        "",
        None,
    ),
    (
        "fail_manifest_sha3_256_altered_rfc8493_s2_1_3",
        false,
        "errors",
        "digest_mismatch",
        Some(("manifest", "manifest-sha3_256.txt")),
    ),
    // RFC 8493 §2.1.1: tag files in the declared encoding.
    (
        "valid_encoding_utf16_rfc8493_s2_1_1",
        true,
        "errors",
        "",
        None,
    ),
    (
        "valid_encoding_utf16be_rfc8493_s2_1_1",
        true,
        "errors",
        "",
        None,
    ),
    (
        "valid_encoding_utf32_rfc8493_s2_1_1",
        true,
        "errors",
        "",
        None,
    ),
    (
        "valid_encoding_windows1252_rfc8493_s2_1_1",
        true,
        "errors",
        "",
        None,
    ),
    (
        "valid_encoding_shift_jis_rfc8493_s2_1_1",
        true,
        "errors",
        "",
        None,
    ),
    (
        "fail_encoding_invalid_utf16_rfc8493_s2_1_1",
        false,
        "errors",
        "not_in_declared_encoding",
        Some(("encoding", "UTF-16")),
    ),
    (
        "fail_encoding_unknown_rfc8493_s2_1_1",
        false,
        "errors",
        "unsupported_encoding",
        None,
    ),
    // RFC 8493 §2.1.1 and the drafts' §2.1.1: bagit.txt as written.
    (
        "fail_bagit_txt_bom_rfc8493_s2_1_1",
        false,
        "errors",
        "byte_order_mark",
        Some(("file", "bagit.txt")),
    ),
    (
        "fail_bagit_txt_space_before_colon_rfc8493_s2_1_1",
        false,
        "errors",
        "malformed_line",
        Some(("problem", "whitespace_before_colon")),
    ),
    (
        "fail_bagit_txt_space_before_colon_v0_97_draft_s2_1_1",
        false,
        "errors",
        "malformed_line",
        Some(("problem", "whitespace_before_colon")),
    ),
    (
        "fail_bagit_txt_no_space_after_colon_rfc8493_s2_1_1",
        false,
        "errors",
        "malformed_line",
        Some(("problem", "no_whitespace_after_colon")),
    ),
    (
        "valid_bagit_txt_no_space_after_colon_v0_97_draft_s2_1_1",
        true,
        "errors",
        "",
        None,
    ),
    (
        "fail_bagit_txt_missing_line_rfc8493_s2_1_1",
        false,
        "errors",
        "missing_declaration",
        Some(("label", "Tag-File-Character-Encoding")),
    ),
    (
        "fail_bagit_txt_extra_line_rfc8493_s2_1_1",
        false,
        "errors",
        "malformed_line",
        Some(("problem", "extra_line")),
    ),
    (
        "fail_bagit_txt_blank_line_rfc8493_s2_1_1",
        false,
        "errors",
        "malformed_line",
        Some(("problem", "extra_line")),
    ),
    (
        "fail_bagit_txt_order_rfc8493_s2_1_1",
        false,
        "errors",
        "malformed_line",
        Some(("problem", "unexpected_label")),
    ),
    // RFC 8493 §2.2.2 and draft 0.97 §2.2.2: bag-info separators and continuation.
    (
        "fail_bag_info_space_before_colon_rfc8493_s2_2_2",
        false,
        "errors",
        "malformed_line",
        Some(("problem", "whitespace_before_colon")),
    ),
    (
        "valid_bag_info_space_before_colon_v0_97_draft_s2_2_2",
        true,
        "errors",
        "",
        None,
    ),
    (
        "fail_bag_info_no_space_after_colon_rfc8493_s2_2_2",
        false,
        "errors",
        "malformed_line",
        Some(("problem", "no_whitespace_after_colon")),
    ),
    (
        "valid_bag_info_no_space_after_colon_v0_96_draft_s2_2_2",
        true,
        "errors",
        "",
        None,
    ),
    (
        "valid_bag_info_continuation_rfc8493_s2_2_2",
        true,
        "errors",
        "",
        None,
    ),
    (
        "fail_bag_info_stray_continuation_rfc8493_s2_2_2",
        false,
        "errors",
        "malformed_line",
        Some(("problem", "stray_continuation")),
    ),
    (
        "valid_v0_95_package_info_draft_s2_2_2",
        true,
        "errors",
        "",
        None,
    ),
    (
        "fail_v0_95_package_info_oxum_mismatch_draft_s2_2_2",
        false,
        "errors",
        "oxum_mismatch",
        Some(("file", "package-info.txt")),
    ),
    // RFC 8493 §2.2.3: fetch.txt.
    (
        "fail_fetch_path_dotdot_rfc8493_s2_2_3",
        false,
        "errors",
        "path_escapes_bag",
        Some(("manifest", "fetch.txt")),
    ),
    (
        "fail_fetch_path_absolute_rfc8493_s2_2_3",
        false,
        "errors",
        "path_escapes_bag",
        Some(("manifest", "fetch.txt")),
    ),
    (
        "fail_fetch_path_tilde_rfc8493_s2_2_3",
        false,
        "errors",
        "path_escapes_bag",
        Some(("file", "~/evil.img")),
    ),
    (
        "valid_fetch_path_outside_payload_warns_rfc8493_s2_2_3",
        true,
        "warnings",
        "fetch_path_unusual",
        Some(("reason", "not_in_payload")),
    ),
    (
        "valid_fetch_path_dot_component_warns_rfc8493_s2_2_3",
        true,
        "warnings",
        "fetch_path_unusual",
        Some(("reason", "dot_or_empty_component")),
    ),
    (
        "fail_fetch_url_malformed_rfc8493_s2_2_3",
        false,
        "errors",
        "malformed_line",
        Some(("problem", "fetch_url")),
    ),
];

#[track_caller]
fn check(name: &str) {
    let (_, valid, list, kind, field) = EXPECTED
        .iter()
        .find(|e| e.0 == name)
        .unwrap_or_else(|| panic!("{name} is not in EXPECTED"));
    let report = report(name);
    assert_eq!(
        report["errors"].as_array().map(Vec::is_empty),
        Some(*valid),
        "{name}: {report:#}"
    );
    if !kind.is_empty() {
        assert!(
            has(&report, list, kind, *field),
            "{name}: no {kind} {field:?} in {list}: {report:#}"
        );
    }
}

macro_rules! fixture_tests {
    ($($test:ident => $name:literal),* $(,)?) => {
        $(#[test] fn $test() { check($name); })*
        /// Every fixture bag has its own test above.
        #[test]
        fn every_fixture_has_a_test() {
            let tested: &[&str] = &[$($name),*];
            let mut missing = Vec::new();
            for entry in std::fs::read_dir(fixtures()).unwrap() {
                let name = entry.unwrap().file_name().into_string().unwrap();
                if (name.starts_with("valid_") || name.starts_with("fail_")) && !tested.contains(&name.as_str()) {
                    missing.push(name);
                }
            }
            assert!(missing.is_empty(), "fixtures without a test: {missing:?}");
            assert_eq!(tested.len(), EXPECTED.len());
        }
    };
}

fixture_tests! {
    valid_v1_0_sha256 => "valid_v1_0_sha256",
    valid_v1_0_sha512_crlf => "valid_v1_0_sha512_crlf",
    valid_v0_97_md5_sha1 => "valid_v0_97_md5_sha1",
    valid_v0_96_sha1 => "valid_v0_96_sha1",
    valid_v0_93_md5 => "valid_v0_93_md5",
    valid_latin1 => "valid_latin1",
    valid_fetch_complete => "valid_fetch_complete",
    valid_v1_0_percent_encoded => "valid_v1_0_percent_encoded",
    valid_zip_v1_0 => "valid_zip_v1_0.zip",
    valid_zip_at_root => "valid_zip_at_root.zip",
    fail_payload_altered => "fail_payload_altered",
    fail_payload_missing => "fail_payload_missing",
    fail_payload_added => "fail_payload_added",
    fail_oxum_mismatch => "fail_oxum_mismatch",
    fail_fetch_incomplete => "fail_fetch_incomplete",
    fail_manifest_path_escapes => "fail_manifest_path_escapes",
    fail_no_bagit_txt => "fail_no_bagit_txt",
    fail_unsupported_version => "fail_unsupported_version",
    fail_tag_file_altered => "fail_tag_file_altered",
    fail_no_payload_manifest => "fail_no_payload_manifest",
    fail_zip_slip_bag => "fail_zip_slip_bag.zip",
    fail_zip_payload_altered => "fail_zip_payload_altered.zip",
    valid_manifest_sha224_rfc8493_s2_1_3 => "valid_manifest_sha224_rfc8493_s2_1_3",
    valid_manifest_sha384_rfc8493_s2_1_3 => "valid_manifest_sha384_rfc8493_s2_1_3",
    valid_manifest_blake2b_rfc8493_s2_1_3 => "valid_manifest_blake2b_rfc8493_s2_1_3",
    valid_manifest_blake2s_rfc8493_s2_1_3 => "valid_manifest_blake2s_rfc8493_s2_1_3",
    valid_manifest_sha3_224_rfc8493_s2_1_3 => "valid_manifest_sha3_224_rfc8493_s2_1_3",
    valid_manifest_sha3_256_rfc8493_s2_1_3 => "valid_manifest_sha3_256_rfc8493_s2_1_3",
    valid_manifest_sha3_384_rfc8493_s2_1_3 => "valid_manifest_sha3_384_rfc8493_s2_1_3",
    valid_manifest_sha3_512_rfc8493_s2_1_3 => "valid_manifest_sha3_512_rfc8493_s2_1_3",
    fail_manifest_sha3_256_altered_rfc8493_s2_1_3 => "fail_manifest_sha3_256_altered_rfc8493_s2_1_3",
    valid_encoding_utf16_rfc8493_s2_1_1 => "valid_encoding_utf16_rfc8493_s2_1_1",
    valid_encoding_utf16be_rfc8493_s2_1_1 => "valid_encoding_utf16be_rfc8493_s2_1_1",
    valid_encoding_utf32_rfc8493_s2_1_1 => "valid_encoding_utf32_rfc8493_s2_1_1",
    valid_zip_descriptors_extra_fields_bagit_md => "valid_zip_descriptors_extra_fields_bagit_md.zip",
    fail_zip_descriptor_mismatch_bagit_md => "fail_zip_descriptor_mismatch_bagit_md.zip",
    valid_encoding_windows1252_rfc8493_s2_1_1 => "valid_encoding_windows1252_rfc8493_s2_1_1",
    valid_encoding_shift_jis_rfc8493_s2_1_1 => "valid_encoding_shift_jis_rfc8493_s2_1_1",
    fail_encoding_invalid_utf16_rfc8493_s2_1_1 => "fail_encoding_invalid_utf16_rfc8493_s2_1_1",
    fail_encoding_unknown_rfc8493_s2_1_1 => "fail_encoding_unknown_rfc8493_s2_1_1",
    fail_bagit_txt_bom_rfc8493_s2_1_1 => "fail_bagit_txt_bom_rfc8493_s2_1_1",
    fail_bagit_txt_space_before_colon_rfc8493_s2_1_1 => "fail_bagit_txt_space_before_colon_rfc8493_s2_1_1",
    fail_bagit_txt_space_before_colon_v0_97_draft_s2_1_1 => "fail_bagit_txt_space_before_colon_v0_97_draft_s2_1_1",
    fail_bagit_txt_no_space_after_colon_rfc8493_s2_1_1 => "fail_bagit_txt_no_space_after_colon_rfc8493_s2_1_1",
    valid_bagit_txt_no_space_after_colon_v0_97_draft_s2_1_1 => "valid_bagit_txt_no_space_after_colon_v0_97_draft_s2_1_1",
    fail_bagit_txt_missing_line_rfc8493_s2_1_1 => "fail_bagit_txt_missing_line_rfc8493_s2_1_1",
    fail_bagit_txt_extra_line_rfc8493_s2_1_1 => "fail_bagit_txt_extra_line_rfc8493_s2_1_1",
    fail_bagit_txt_blank_line_rfc8493_s2_1_1 => "fail_bagit_txt_blank_line_rfc8493_s2_1_1",
    fail_bagit_txt_order_rfc8493_s2_1_1 => "fail_bagit_txt_order_rfc8493_s2_1_1",
    fail_bag_info_space_before_colon_rfc8493_s2_2_2 => "fail_bag_info_space_before_colon_rfc8493_s2_2_2",
    valid_bag_info_space_before_colon_v0_97_draft_s2_2_2 => "valid_bag_info_space_before_colon_v0_97_draft_s2_2_2",
    fail_bag_info_no_space_after_colon_rfc8493_s2_2_2 => "fail_bag_info_no_space_after_colon_rfc8493_s2_2_2",
    valid_bag_info_no_space_after_colon_v0_96_draft_s2_2_2 => "valid_bag_info_no_space_after_colon_v0_96_draft_s2_2_2",
    valid_bag_info_continuation_rfc8493_s2_2_2 => "valid_bag_info_continuation_rfc8493_s2_2_2",
    fail_bag_info_stray_continuation_rfc8493_s2_2_2 => "fail_bag_info_stray_continuation_rfc8493_s2_2_2",
    valid_v0_95_package_info_draft_s2_2_2 => "valid_v0_95_package_info_draft_s2_2_2",
    fail_v0_95_package_info_oxum_mismatch_draft_s2_2_2 => "fail_v0_95_package_info_oxum_mismatch_draft_s2_2_2",
    fail_fetch_path_dotdot_rfc8493_s2_2_3 => "fail_fetch_path_dotdot_rfc8493_s2_2_3",
    fail_fetch_path_absolute_rfc8493_s2_2_3 => "fail_fetch_path_absolute_rfc8493_s2_2_3",
    fail_fetch_path_tilde_rfc8493_s2_2_3 => "fail_fetch_path_tilde_rfc8493_s2_2_3",
    valid_fetch_path_outside_payload_warns_rfc8493_s2_2_3 => "valid_fetch_path_outside_payload_warns_rfc8493_s2_2_3",
    valid_fetch_path_dot_component_warns_rfc8493_s2_2_3 => "valid_fetch_path_dot_component_warns_rfc8493_s2_2_3",
    fail_fetch_url_malformed_rfc8493_s2_2_3 => "fail_fetch_url_malformed_rfc8493_s2_2_3",
}
