//! Where everything lives inside a Custody package: the path names shared by sealing,
//! countersigning, verifying and receiving.
//!
//! A package `<ID>.zip` holds one bag, `<ID>/`. Paths below are *bag paths*, relative to
//! that bag root (`data/…`, `custody/…`); [`entry_name`] turns one into the ZIP entry name
//! and [`bag_path`] back. `docs/package.md` describes the layout in full.

use custody_core::hex;
use custody_core::keys::VerifierKey;

/// `bagit.txt`.
pub const BAGIT_TXT: &str = "bagit.txt";
/// `bag-info.txt`.
pub const BAG_INFO: &str = "bag-info.txt";
/// The SHA-256 payload manifest.
pub const MANIFEST_SHA256: &str = "manifest-sha256.txt";
/// The BLAKE3 payload manifest.
pub const MANIFEST_BLAKE3: &str = "manifest-blake3.txt";
/// The tag manifest, whose exact bytes the package signatures cover.
pub const TAG_MANIFEST: &str = "tagmanifest-sha256.txt";
/// The payload directory, with its trailing slash.
pub const DATA_DIR: &str = "data/";
/// The Custody tag directory, with its trailing slash.
pub const CUSTODY_DIR: &str = "custody/";
/// The package statement.
pub const PACKAGE_JSON: &str = "custody/package.json";
/// The sender ledger's signed checkpoint note.
pub const CHECKPOINT: &str = "custody/checkpoint";
/// The directory of ledger entries, with its trailing slash.
pub const EVENTS_DIR: &str = "custody/events/";
/// The directory of inclusion proofs, with its trailing slash.
pub const PROOFS_DIR: &str = "custody/proofs/";
/// The directory of package signatures, with its trailing slash. Files in it are not
/// listed in the tag manifest, so signatures can be added without changing it.
pub const SIGNATURES_DIR: &str = "custody/signatures/";
/// The file name extension of a package signature.
pub const SIGNATURE_SUFFIX: &str = ".sig";

/// The ZIP entry name of bag path `path` in the bag `id`: `<id>/<path>`.
pub fn entry_name(id: &str, path: &str) -> String {
    format!("{id}/{path}")
}

/// The bag path of ZIP entry `name` if it lies inside the bag `id`.
pub fn bag_path<'a>(id: &str, name: &'a str) -> Option<&'a str> {
    name.strip_prefix(id)?.strip_prefix('/')
}

/// The bag path of an item's payload: `data/<item>` for a directory item (its files go
/// below it), `data/<item>/<file name>` for a file item.
pub fn item_path(item: &str, file_name: Option<&str>) -> String {
    match file_name {
        Some(name) => format!("{DATA_DIR}{item}/{name}"),
        None => format!("{DATA_DIR}{item}"),
    }
}

/// `custody/events/<seq>.json`.
pub fn event_path(seq: u64) -> String {
    format!("{EVENTS_DIR}{seq}.json")
}

/// `custody/proofs/<seq>.json`.
pub fn proof_path(seq: u64) -> String {
    format!("{PROOFS_DIR}{seq}.json")
}

/// `custody/signatures/<key name>+<key id hex>.sig` for a signer's Ed25519 verifier key.
pub fn signature_path(key: &VerifierKey) -> String {
    format!(
        "{SIGNATURES_DIR}{}+{}{SIGNATURE_SUFFIX}",
        key.name,
        hex::encode(&key.key_id())
    )
}

/// Whether a package signature by `key` can be stored so that verification reads it back
/// as `key`'s: [`signature_path`] must parse back ([`signature_key`]) to the key's name and
/// key ID, and be an entry name the structural scan accepts. Key names may hold `/`,
/// control characters or decomposed letters (the signed-note rules allow them), which
/// would make a subdirectory or an entry the scan refuses; seal and countersign check this
/// before writing anything.
pub fn signature_file_readable(key: &VerifierKey) -> bool {
    let path = signature_path(key);
    signature_key(&path) == Some((key.name.as_str(), key.key_id()))
        && crate::zipscan::name_findings(&crate::zipscan::ZipEntry::written_file(0, &path))
            .is_empty()
}

/// The seq of `custody/events/<seq>.json`, if `path` is one (decimal, no leading zeros).
pub fn event_seq(path: &str) -> Option<u64> {
    seq_in(path, EVENTS_DIR)
}

/// The seq of `custody/proofs/<seq>.json`, if `path` is one (decimal, no leading zeros).
pub fn proof_seq(path: &str) -> Option<u64> {
    seq_in(path, PROOFS_DIR)
}

fn seq_in(path: &str, dir: &str) -> Option<u64> {
    let digits = path.strip_prefix(dir)?.strip_suffix(".json")?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if canonical {
        digits.parse().ok()
    } else {
        None
    }
}

/// The key name and key ID named by `custody/signatures/<name>+<hex id>.sig`, if `path` is
/// such a file.
pub fn signature_key(path: &str) -> Option<(&str, [u8; 4])> {
    let stem = path
        .strip_prefix(SIGNATURES_DIR)?
        .strip_suffix(SIGNATURE_SUFFIX)?;
    let (name, id) = stem.rsplit_once('+')?;
    if name.is_empty() || name.contains('/') || id.len() != 8 {
        return None;
    }
    Some((name, hex::decode_array::<4>(id)?))
}

/// The most bytes verification reads into memory for the tag file at bag path `path`: the
/// named limit of [`crate::limits`] for its kind.
pub fn max_read_size(path: &str) -> u64 {
    use crate::limits;
    if event_seq(path).is_some() {
        limits::MAX_EVENT
    } else if proof_seq(path).is_some() {
        limits::MAX_PROOF
    } else if path == CHECKPOINT {
        limits::MAX_CHECKPOINT
    } else if is_signature(path) {
        limits::MAX_SIGNATURE_FILE
    } else if path == BAGIT_TXT {
        limits::MAX_BAGIT_TXT
    } else {
        limits::MAX_TAG_FILE
    }
}

/// Whether a bag path is payload (under `data/`).
pub fn is_payload(path: &str) -> bool {
    path.starts_with(DATA_DIR)
}

/// Whether a bag path is a package signature (and so outside the tag manifest).
pub fn is_signature(path: &str) -> bool {
    path.starts_with(SIGNATURES_DIR)
}

/// Why a payload name cannot go into a package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnsafeName {
    /// Empty, or a `.`/`..` component.
    Empty,
    /// Contains `%`, which BagIt manifests percent-encode and common validators decode
    /// inconsistently.
    Percent,
    /// Contains a backslash, which Windows tools read as a separator.
    Backslash,
    /// Contains a control character (including CR and LF).
    Control,
}

impl std::fmt::Display for UnsafeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UnsafeName::Empty => "it is empty or a '.' or '..' component",
            UnsafeName::Percent => "it contains '%', which BagIt validators decode inconsistently",
            UnsafeName::Backslash => "it contains a backslash",
            UnsafeName::Control => "it contains a control character",
        })
    }
}

/// Checks one payload path component (an item id) or a `/`-separated relative path (a file
/// name or a path inside a directory item). Packages refuse such names rather than mapping
/// them, so that every payload path is the name the evidence was acquired under.
pub fn check_payload_name(name: &str, allow_slash: bool) -> Result<(), UnsafeName> {
    if name.contains('%') {
        return Err(UnsafeName::Percent);
    }
    if name.contains('\\') {
        return Err(UnsafeName::Backslash);
    }
    if name.chars().any(char::is_control) {
        return Err(UnsafeName::Control);
    }
    let mut components = if allow_slash {
        name.split('/').collect::<Vec<_>>()
    } else {
        vec![name]
    };
    if components.is_empty() {
        components.push("");
    }
    if components
        .iter()
        .any(|c| c.is_empty() || *c == "." || *c == ".." || (!allow_slash && c.contains('/')))
    {
        return Err(UnsafeName::Empty);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_core::keys::{ActorInfo, Identity};

    #[test]
    fn entry_names_round_trip_through_bag_paths() {
        let name = entry_name("CASE-1", &event_path(12));
        assert_eq!(name, "CASE-1/custody/events/12.json");
        assert_eq!(bag_path("CASE-1", &name), Some("custody/events/12.json"));
        assert_eq!(bag_path("CASE-1", "CASE-10/bagit.txt"), None);
    }

    #[test]
    fn seq_file_names_are_parsed_strictly() {
        assert_eq!(event_seq("custody/events/0.json"), Some(0));
        assert_eq!(proof_seq(&proof_path(7)), Some(7));
        assert_eq!(event_seq("custody/events/07.json"), None);
        assert_eq!(event_seq("custody/events/x.json"), None);
        assert_eq!(event_seq("custody/proofs/7.json"), None);
    }

    #[test]
    fn signature_paths_name_the_key() {
        let id = Identity::from_seed(ActorInfo::named("officer@example.org"), [3; 32]).unwrap();
        let key = id.verifier_key();
        let path = signature_path(&key);
        assert!(is_signature(&path));
        assert!(!is_payload(&path));
        assert!(is_payload("data/C-1/x"));
        assert_eq!(
            signature_key(&path),
            Some(("officer@example.org", key.key_id()))
        );
        assert_eq!(signature_key("custody/signatures/nokey.sig"), None);
    }

    #[test]
    fn item_paths() {
        assert_eq!(item_path("C-1", Some("disk.img")), "data/C-1/disk.img");
        assert_eq!(item_path("C-2", None), "data/C-2");
    }

    #[test]
    fn fail_payload_name_with_percent() {
        assert_eq!(
            check_payload_name("a%41.txt", false),
            Err(UnsafeName::Percent)
        );
    }

    #[test]
    fn fail_payload_name_with_dot_dot() {
        assert_eq!(check_payload_name("a/../b", true), Err(UnsafeName::Empty));
        assert_eq!(check_payload_name("a/b", false), Err(UnsafeName::Empty));
    }

    #[test]
    fn fail_payload_name_with_newline() {
        assert_eq!(check_payload_name("a\nb", true), Err(UnsafeName::Control));
    }

    #[test]
    fn payload_names_with_spaces_and_unicode_are_fine() {
        assert_eq!(check_payload_name("Photos 2026/été.jpg", true), Ok(()));
    }
}
