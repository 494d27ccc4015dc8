//! The package statement (`custody/package.json`) and the request files sealing reads.
//!
//! The statement says what the package is: its id and case, who sends it to whom under
//! which request, the conditions attached, the sender ledger's checkpoint, and every item
//! with its digests and the ledger events that make up its history. It is RFC 8785
//! canonical JSON; the package signatures cover it through the tag manifest.

use std::path::{Path, PathBuf};

use custody_core::canonical::{self, CanonicalError, StrictJsonError};
use custody_core::hash::hex32;
use custody_core::keys::VerifierKey;
use custody_store::EvidenceFile;
use serde::{Deserialize, Serialize};

/// The statement format version this crate writes and reads.
pub const PACKAGE_VERSION: u32 = 1;

/// The package statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageStatement {
    /// Format version, [`PACKAGE_VERSION`].
    pub custody_package: u32,
    /// Package id; also the bag directory name and `External-Identifier`.
    pub id: String,
    /// Case reference.
    pub case: String,
    /// When the package was sealed, RFC 3339 UTC (`Z`), whole seconds.
    pub sealed_time: String,
    /// The sending authority and its ledger.
    pub sender: Sender,
    /// The authority the package is meant for.
    pub recipient: Recipient,
    /// The request the package answers.
    pub request: RequestInfo,
    /// Conditions on the use of the evidence.
    pub use_limitations: Vec<String>,
    /// Whether the package is confidential.
    pub confidential: bool,
    /// Categories of personal data in the payload.
    pub personal_data: Vec<String>,
    /// Date (`YYYY-MM-DD`) until which the recipient may keep the evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_until: Option<String>,
    /// The sender ledger's checkpoint the inclusion proofs lead to.
    pub checkpoint: CheckpointRef,
    /// The evidence items, sorted by id.
    pub items: Vec<PackageItem>,
    /// For items this sender received from another authority and now sends to a third:
    /// the consent of the authority it received them from, one per item, sorted by item.
    /// Absent when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub onward_transfers: Vec<OnwardTransfer>,
}

/// The consent, recorded in the sender ledger by an `onward-transfer-authorised` entry
/// (included in the package with the item's history), to send a received item on to the
/// package's recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnwardTransfer {
    /// The item.
    pub item: String,
    /// The `onward-transfer-authorised` entry.
    pub seq: u64,
    /// The consenting authority (the one the item was received from).
    pub authorised_by: String,
    /// The consent's reference.
    pub reference: String,
}

/// The sending authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sender {
    /// The sending authority's name.
    pub authority: String,
    /// Its organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// Its jurisdiction (ISO 3166-1 alpha-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    /// The sender ledger's origin.
    pub ledger_origin: String,
    /// The C2SP verifier key of the sender ledger's log key.
    pub log_key: String,
}

impl Sender {
    /// The parsed log verifier key.
    pub fn log_verifier_key(&self) -> Result<VerifierKey, custody_core::keys::KeyError> {
        self.log_key.parse()
    }
}

/// The receiving authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// Its name.
    pub authority: String,
    /// Its jurisdiction (ISO 3166-1 alpha-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
}

/// The request a package answers (a mutual legal assistance request, an order).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestInfo {
    /// The request's reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Its legal basis (treaty, statute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    /// The authority that made the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requesting_authority: Option<String>,
    /// The authority the request was addressed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_authority: Option<String>,
}

/// The checkpoint of the sender ledger included in the package.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointRef {
    /// Tree size.
    pub size: u64,
    /// Root hash, lower-case hex.
    #[serde(with = "hex32")]
    pub root: [u8; 32],
}

/// One evidence item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageItem {
    /// The item id in the sender ledger.
    pub id: String,
    /// Bag path of the file (`data/<id>/<name>`) or directory (`data/<id>`).
    pub path: String,
    /// Size in bytes (a directory: the sum of its files).
    pub size: u64,
    /// SHA-256 as acquired (a directory: of the canonical JSON of `files`).
    #[serde(with = "hex32")]
    pub sha256: [u8; 32],
    /// BLAKE3 as acquired (a directory: of the canonical JSON of `files`).
    #[serde(with = "hex32")]
    pub blake3: [u8; 32],
    /// For a directory: every file, relative to `path`, sorted by path bytes, exactly as
    /// the acquisition recorded them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<ItemFile>>,
    /// Seq of the event that created the item.
    pub acquired_seq: u64,
    /// Seqs of every event of the item's history, ascending.
    pub events: Vec<u64>,
}

impl PackageItem {
    /// The bag path and expected digests of every payload file of the item.
    pub fn payload_files(&self) -> Vec<(String, custody_core::hash::Digests)> {
        match &self.files {
            None => vec![(
                self.path.clone(),
                custody_core::hash::Digests {
                    size: self.size,
                    sha256: self.sha256,
                    blake3: self.blake3,
                },
            )],
            Some(files) => files
                .iter()
                .map(|f| (format!("{}/{}", self.path, f.path), f.digests()))
                .collect(),
        }
    }
}

impl PackageItem {
    /// For a directory item, the size and digests its `files` list implies (the sum of the
    /// sizes; SHA-256 and BLAKE3 of the list's canonical JSON), to compare with the item's
    /// own; `None` for a file item.
    pub fn listed_digests(&self) -> Option<Result<custody_core::hash::Digests, String>> {
        let files = self.files.as_ref()?;
        let evidence: Vec<EvidenceFile> = files
            .iter()
            .map(|f| EvidenceFile {
                path: f.path.clone(),
                size: f.size,
                sha256: f.sha256,
                blake3: f.blake3,
            })
            .collect();
        Some(custody_store::acquisition::directory_digests(&evidence).map_err(|e| e.to_string()))
    }
}

/// One file of a directory item (same fields and JSON as the ledger's evidence files, so
/// the item digests can be recomputed from this list).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemFile {
    /// Path relative to the item's directory, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lower-case hex.
    #[serde(with = "hex32")]
    pub sha256: [u8; 32],
    /// BLAKE3, lower-case hex.
    #[serde(with = "hex32")]
    pub blake3: [u8; 32],
}

impl ItemFile {
    /// Size and digests.
    pub fn digests(&self) -> custody_core::hash::Digests {
        custody_core::hash::Digests {
            size: self.size,
            sha256: self.sha256,
            blake3: self.blake3,
        }
    }
}

impl From<&EvidenceFile> for ItemFile {
    fn from(f: &EvidenceFile) -> Self {
        ItemFile {
            path: f.path.clone(),
            size: f.size,
            sha256: f.sha256,
            blake3: f.blake3,
        }
    }
}

/// A package statement that cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    /// Not JSON, or not the statement's shape.
    #[error("custody/package.json: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// Not exactly the canonical JSON of a package statement.
    #[error("custody/package.json: not the canonical JSON of a package statement: {0}")]
    NotCanonical(StrictJsonError),
    /// A statement version this build does not read.
    #[error("custody/package.json: custody_package version {found} is not supported (this build reads {PACKAGE_VERSION})")]
    UnknownVersion {
        /// The version found.
        found: String,
    },
    /// The statement has no canonical form.
    #[error("custody/package.json: {0}")]
    Canonical(#[from] CanonicalError),
}

impl PackageStatement {
    /// The canonical JSON bytes (the exact content of `custody/package.json`).
    pub fn to_canonical(&self) -> Result<Vec<u8>, StatementError> {
        Ok(canonical::to_canonical_vec(self)?)
    }

    /// Parses `custody/package.json`, which must be exactly the canonical JSON of a
    /// statement ([`custody_core::canonical::parse_strict`]). The version is checked first
    /// (once the bytes are known to be canonical), so a statement from a newer format is
    /// reported as such rather than as malformed.
    pub fn parse(bytes: &[u8]) -> Result<PackageStatement, StatementError> {
        canonical::check_strict(bytes).map_err(StatementError::NotCanonical)?;
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| StatementError::Malformed {
                reason: e.to_string(),
            })?;
        match value.get("custody_package") {
            Some(v) if v.as_u64() == Some(u64::from(PACKAGE_VERSION)) => {}
            Some(v) => {
                return Err(StatementError::UnknownVersion {
                    found: v.to_string(),
                })
            }
            None => {
                return Err(StatementError::Malformed {
                    reason: "no custody_package version".into(),
                })
            }
        }
        canonical::parse_strict(bytes).map_err(StatementError::NotCanonical)
    }

    /// The item with id `id`. A linear search: to look up many ids, build
    /// [`PackageStatement::items_by_id`] once.
    pub fn item(&self, id: &str) -> Option<&PackageItem> {
        self.items.iter().find(|i| i.id == id)
    }

    /// Every item by id, built in one pass, so that looking up each of `n` ids costs `O(n)`
    /// in all rather than `O(n × items)`. Of items sharing an id, the first is kept.
    pub fn items_by_id(&self) -> std::collections::HashMap<&str, &PackageItem> {
        let mut index = std::collections::HashMap::with_capacity(self.items.len());
        for item in &self.items {
            index.entry(item.id.as_str()).or_insert(item);
        }
        index
    }
}

/// The request metadata and conditions a `--request` file may give (TOML or JSON, the
/// field names of `package.json`). Command-line options override it field by field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestFile {
    /// The request's reference.
    pub reference: Option<String>,
    /// Its legal basis.
    pub legal_basis: Option<String>,
    /// The requesting authority.
    pub requesting_authority: Option<String>,
    /// The requested authority.
    pub requested_authority: Option<String>,
    /// Conditions on use.
    pub use_limitations: Option<Vec<String>>,
    /// Confidentiality.
    pub confidential: Option<bool>,
    /// Personal-data categories.
    pub personal_data: Option<Vec<String>>,
    /// Retention date, `YYYY-MM-DD`.
    pub retention_until: Option<String>,
}

/// A request file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestFileError {
    /// It cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// It is not valid TOML or JSON of the expected shape.
    #[error("{path}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl RequestFile {
    /// Reads a request file: JSON if its name ends in `.json` or its text starts with `{`,
    /// TOML otherwise.
    pub fn load(path: &Path) -> Result<RequestFile, RequestFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| RequestFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses request-file text; `path` decides the format and names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<RequestFile, RequestFileError> {
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
            || text.trim_start().starts_with('{');
        let parsed = if is_json {
            serde_json::from_str(text).map_err(|e| e.to_string())
        } else {
            toml::from_str(text).map_err(|e| e.to_string())
        };
        parsed.map_err(|reason| RequestFileError::Parse {
            path: path.to_path_buf(),
            reason,
        })
    }
}

/// Whether `text` is a calendar date `YYYY-MM-DD`.
pub fn is_date(text: &str) -> bool {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    text.len() == 10 && time::Date::parse(text, format).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement() -> PackageStatement {
        PackageStatement {
            onward_transfers: Vec::new(),
            custody_package: PACKAGE_VERSION,
            id: "CASE-7-1".into(),
            case: "CASE-7".into(),
            sealed_time: "2026-03-01T10:00:00Z".into(),
            sender: Sender {
                authority: "Parquet de Paris".into(),
                organisation: None,
                jurisdiction: Some("FR".into()),
                ledger_origin: "custody.example.fr/ledger".into(),
                log_key: "log+01020304+AQ==".into(),
            },
            recipient: Recipient {
                authority: "Staatsanwaltschaft Berlin".into(),
                jurisdiction: Some("DE".into()),
            },
            request: RequestInfo {
                reference: Some("MLA-2026-12".into()),
                ..RequestInfo::default()
            },
            use_limitations: vec!["criminal proceedings only".into()],
            confidential: true,
            personal_data: vec![],
            retention_until: None,
            checkpoint: CheckpointRef {
                size: 5,
                root: [9; 32],
            },
            items: vec![PackageItem {
                id: "CASE-7-1".into(),
                path: "data/CASE-7-1/disk.img".into(),
                size: 3,
                sha256: [1; 32],
                blake3: [2; 32],
                files: None,
                acquired_seq: 2,
                events: vec![2, 3],
            }],
        }
    }

    #[test]
    fn statement_round_trips_canonically() {
        let s = statement();
        let bytes = s.to_canonical().unwrap();
        assert!(canonical::is_canonical(&bytes));
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("{\"case\":\"CASE-7\",\"checkpoint\":{\"root\":\"0909"));
        assert!(!text.contains("retention_until"));
        assert!(!text.contains("organisation"));
        assert_eq!(PackageStatement::parse(&bytes).unwrap(), s);
    }

    #[test]
    fn fail_statement_unknown_version() {
        let mut value = serde_json::to_value(statement()).unwrap();
        value["custody_package"] = 2.into();
        let bytes = canonical::to_canonical_vec(&value).unwrap();
        let err = PackageStatement::parse(&bytes).unwrap_err();
        assert!(matches!(err, StatementError::UnknownVersion { found } if found == "2"));
    }

    #[test]
    fn fail_statement_unknown_field() {
        let mut value = serde_json::to_value(statement()).unwrap();
        value["surprise"] = true.into();
        let bytes = canonical::to_canonical_vec(&value).unwrap();
        let err = PackageStatement::parse(&bytes).unwrap_err();
        assert!(
            matches!(err, StatementError::NotCanonical(StrictJsonError::Shape { ref message }) if message.contains("surprise")),
            "{err}"
        );
    }

    #[test]
    fn fail_statement_not_json() {
        assert!(matches!(
            PackageStatement::parse(b"custody"),
            Err(StatementError::NotCanonical(StrictJsonError::Syntax {
                offset: 0,
                ..
            }))
        ));
    }

    #[test]
    fn fail_statement_with_duplicate_member_in_an_item() {
        let bytes = statement().to_canonical().unwrap();
        let text = String::from_utf8(bytes).unwrap().replacen(
            "\"acquired_seq\":2",
            "\"acquired_seq\":9,\"acquired_seq\":2",
            1,
        );
        let err = PackageStatement::parse(text.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "custody/package.json: not the canonical JSON of a package statement: \
             duplicate member \"acquired_seq\" in the object at \"/items/0\""
        );
    }

    #[test]
    fn directory_item_lists_payload_files_under_its_path() {
        let mut item = statement().items.remove(0);
        item.path = "data/CASE-7-1".into();
        item.files = Some(vec![ItemFile {
            path: "a/b.txt".into(),
            size: 1,
            sha256: [3; 32],
            blake3: [4; 32],
        }]);
        let files = item.payload_files();
        let listed = item.listed_digests().unwrap().unwrap();
        assert_eq!(listed.size, 1);
        assert_ne!(
            listed.sha256, item.sha256,
            "the item's digests were made up"
        );
        assert_eq!(files[0].0, "data/CASE-7-1/a/b.txt");
        assert_eq!(files[0].1.sha256, [3; 32]);
    }

    #[test]
    fn item_files_serialise_like_evidence_files() {
        let evidence = EvidenceFile {
            path: "x".into(),
            size: 1,
            sha256: [5; 32],
            blake3: [6; 32],
        };
        assert_eq!(
            canonical::to_canonical_vec(&evidence).unwrap(),
            canonical::to_canonical_vec(&ItemFile::from(&evidence)).unwrap()
        );
    }

    #[test]
    fn request_file_toml_and_json() {
        let toml = "reference = \"MLA-1\"\nlegal_basis = \"Convention 2000, art. 1\"\nconfidential = true\nuse_limitations = [\"trial only\"]\n";
        let r = RequestFile::parse(Path::new("req.toml"), toml).unwrap();
        assert_eq!(r.reference.as_deref(), Some("MLA-1"));
        assert_eq!(r.confidential, Some(true));
        let json = r#"{"reference": "MLA-1", "retention_until": "2030-01-01"}"#;
        let r = RequestFile::parse(Path::new("req"), json).unwrap();
        assert_eq!(r.retention_until.as_deref(), Some("2030-01-01"));
    }

    #[test]
    fn fail_request_file_unknown_field() {
        let err = RequestFile::parse(Path::new("r.toml"), "refrence = \"x\"\n").unwrap_err();
        assert!(matches!(err, RequestFileError::Parse { path, .. } if path == Path::new("r.toml")));
    }

    #[test]
    fn dates() {
        assert!(is_date("2030-12-31"));
        assert!(!is_date("2030-13-01"));
        assert!(!is_date("30-12-31"));
    }
}
