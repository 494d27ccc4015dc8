//! The trust store: the keys of foreign authorities this authority has decided to trust,
//! each entry named and of a kind.
//!
//! A trust store is a directory holding one file per entry, `<name>.json`, whose content
//! is the canonical JSON (RFC 8785) of a [`TrustEntry`] (`docs/formats.md`, "Trust store").
//! A [`EntryKind::Signer`] entry is a key whose signatures over packages (`custody verify`,
//! `custody receive`) and over receipts (`custody acknowledge`) are accepted.
//! A [`EntryKind::Recipient`] entry is an authority's age recipient, which `custody seal
//! --encrypt-to NAME` encrypts packages to.
//!
//! What the store refuses, each with its own error naming the file: a directory or an
//! entry file writable by group or others (whoever can write the store decides what is
//! trusted, so it is refused as a private key readable by others is), a symbolic link, a
//! file that is not an entry, an entry that does not parse strictly or whose name is not
//! its file name, two entries of one kind for the same key, more than
//! [`MAX_TRUST_ENTRIES`] entries or an entry file over [`MAX_TRUST_ENTRY_BYTES`]. Adding
//! refuses a private key, an existing name and a key already trusted; every write is a
//! temporary file in the store, synced, then renamed (an entry is there whole or not at
//! all; a name is never silently replaced).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use custody_core::canonical;
use custody_core::keys::{KeyError, PublicKey, VerifierKey};
use serde::{Deserialize, Serialize};

use crate::verify::TrustedKey;

/// The largest entry file read, in bytes (an entry is well under 1 KiB).
pub const MAX_TRUST_ENTRY_BYTES: u64 = 16 * 1024;
/// The most entries one store may hold (a store is read whole at every verification).
pub const MAX_TRUST_ENTRIES: usize = 1024;
/// The longest entry name, in bytes.
pub const MAX_TRUST_NAME_BYTES: usize = 64;
/// The trust entry format version this crate writes and reads.
pub const TRUST_ENTRY_VERSION: u32 = 1;
/// The file name suffix of an entry.
const ENTRY_SUFFIX: &str = ".json";

/// What an entry's key is trusted for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum EntryKind {
    /// An Ed25519 key whose package and receipt signatures are accepted.
    Signer,
    /// An authority's age X25519 recipient (`age1…`, held in `public_key`) that packages
    /// may be encrypted to (`custody seal --encrypt-to NAME`).
    Recipient,
}

impl EntryKind {
    /// The kind as written in entries and shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Signer => "signer",
            EntryKind::Recipient => "recipient",
        }
    }
}

/// One trusted key, as stored in `<name>.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustEntry {
    /// Format version, [`TRUST_ENTRY_VERSION`].
    pub custody_trust: u32,
    /// The entry's name (also its file name): 1 to [`MAX_TRUST_NAME_BYTES`] bytes of
    /// `[A-Za-z0-9._-]`, not starting with `.`.
    pub name: String,
    /// What the key is trusted for.
    pub kind: EntryKind,
    /// A signer's Ed25519 public key, 64 lower-case hex digits; a recipient's age
    /// recipient, `age1…`.
    pub public_key: String,
    /// The C2SP verifier key (`name+keyid+base64`) when the key was given as one: then only
    /// signatures under that key name count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifier_key: Option<String>,
    /// When it was added, RFC 3339 UTC.
    pub added_time: String,
    /// Free text: whose key it is, how it was obtained and checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl TrustEntry {
    /// The key as verification takes it.
    pub fn trusted_key(&self) -> Result<TrustedKey, KeyError> {
        if let Some(verifier) = &self.verifier_key {
            return Ok(TrustedKey::Verifier(verifier.parse()?));
        }
        Ok(TrustedKey::Public(parse_hex_key(&self.public_key)?))
    }
}

/// A trust store that could not be read or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// Reading or writing failed.
    #[error("trust store: {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The store directory or an entry is writable by group or others.
    #[error("trust store: {path} is writable by others (mode {mode:o}): whoever can write the trust store decides whom you trust; run `chmod go-w {path}`")]
    WritableByOthers {
        /// The directory or file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The store path is not a directory, or an entry is not a regular file.
    #[error("trust store: {path} is not a {expected}")]
    NotA {
        /// The path.
        path: PathBuf,
        /// What it should be ("directory", "regular file").
        expected: &'static str,
    },
    /// A file in the store that is not `<name>.json`.
    #[error("trust store: {path} is not a trust entry (entries are named <name>.json); move it out of the store")]
    UnexpectedFile {
        /// The file.
        path: PathBuf,
    },
    /// An entry file larger than [`MAX_TRUST_ENTRY_BYTES`].
    #[error("trust store: {path} is larger than {limit} bytes, no trust entry is")]
    EntryTooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// More than [`MAX_TRUST_ENTRIES`] entries.
    #[error("trust store: {dir} holds more than {limit} entries")]
    TooManyEntries {
        /// The store.
        dir: PathBuf,
        /// The limit.
        limit: usize,
    },
    /// An entry that is not the canonical JSON of a [`TrustEntry`].
    #[error("trust store: {path} is not a valid trust entry: {reason}")]
    MalformedEntry {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: MalformedReason,
    },
    /// An entry whose key does not parse.
    #[error("trust store: {path}: {source}")]
    EntryKey {
        /// The file.
        path: PathBuf,
        /// The key error.
        source: KeyError,
    },
    /// Two entries of one kind hold the same key.
    #[error("trust store: entries {first} and {second} both trust key {public_key}; remove one")]
    DuplicateKey {
        /// One entry.
        first: String,
        /// The other.
        second: String,
        /// The key, hex.
        public_key: String,
    },
    /// An entry name that cannot be a file name in the store.
    #[error("invalid trust entry name {name:?}: use 1 to {MAX_TRUST_NAME_BYTES} letters, digits, '.', '_' or '-', not starting with '.'")]
    InvalidName {
        /// The name given.
        name: String,
    },
    /// Adding a name that exists.
    #[error("trust store: an entry named {name} already exists (remove it first to replace it)")]
    NameTaken {
        /// The name.
        name: String,
    },
    /// Adding a key that an entry of the same kind already trusts.
    #[error("trust store: this key is already trusted as {kind} entry {existing}")]
    AlreadyTrusted {
        /// The existing entry's name.
        existing: String,
        /// Its kind.
        kind: &'static str,
    },
    /// Removing a name that does not exist.
    #[error("trust store: no entry named {name}")]
    NoSuchEntry {
        /// The name.
        name: String,
    },
    /// A private key where a public key is expected.
    #[error("this is a private key; a trust store holds public keys only (give the .pub file or the verifier key)")]
    PrivateKey,
    /// Key text that is neither a verifier key nor a PEM public key.
    #[error(
        "not a public key: neither a C2SP verifier key (name+keyid+base64) nor a PEM public key"
    )]
    NotAKey,
    /// A PEM public key or verifier key that does not parse.
    #[error("invalid public key: {0}")]
    Key(#[from] KeyError),
    /// An entry that has no canonical JSON form (cannot happen for the fields it holds).
    #[error("trust entry cannot be encoded: {0}")]
    Encode(#[from] canonical::CanonicalError),
    /// A note with characters that cannot be shown on one line.
    #[error("a trust entry note must be a single line without control characters, at most {MAX_NOTE_BYTES} bytes")]
    InvalidNote,
}

/// The longest note, in bytes.
pub const MAX_NOTE_BYTES: usize = 1024;

/// What is wrong with a malformed entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedReason {
    /// Not the canonical JSON (RFC 8785) of the entry's fields.
    #[error("not the canonical JSON of a trust entry: {0}")]
    Json(canonical::StrictJsonError),
    /// A version this build does not know.
    #[error("unknown format version {0}")]
    Version(u32),
    /// The `name` field is not the file name.
    #[error("its name {0:?} is not its file name")]
    NameMismatch(String),
    /// The verifier key's public key is not `public_key`.
    #[error("verifier_key and public_key are different keys")]
    KeyMismatch,
    /// A recipient entry whose `public_key` is not an age X25519 recipient.
    #[error("public_key of a recipient entry is not an age X25519 recipient (age1…)")]
    NotARecipient,
}

/// A key given to [`TrustStore::add`].
#[derive(Clone, Debug)]
pub struct NewEntry {
    /// The entry name.
    pub name: String,
    /// What the key is trusted for.
    pub kind: EntryKind,
    /// The key.
    pub key: TrustedKey,
    /// When it is added, RFC 3339 UTC.
    pub added_time: String,
    /// Free text.
    pub note: Option<String>,
}

/// Parses key text as a user gives it: a C2SP verifier key, or a PEM public key; a private
/// key is refused with its own error.
pub fn parse_public_key(text: &str) -> Result<TrustedKey, TrustError> {
    let trimmed = text.trim();
    if let Ok(key) = trimmed.parse::<VerifierKey>() {
        return Ok(TrustedKey::Verifier(key));
    }
    if trimmed.contains("PRIVATE KEY-----") {
        return Err(TrustError::PrivateKey);
    }
    if trimmed.contains("-----BEGIN PUBLIC KEY-----") {
        return Ok(TrustedKey::Public(PublicKey::from_pem(trimmed)?));
    }
    Err(TrustError::NotAKey)
}

fn parse_hex_key(hex: &str) -> Result<PublicKey, KeyError> {
    let bytes = custody_core::hex::decode_array::<32>(hex)
        .filter(|_| custody_store::rules::is_key_hex(hex))
        .ok_or(KeyError::Malformed {
            what: "public key",
            reason: "not 64 lower-case hex digits".to_owned(),
        })?;
    PublicKey::from_bytes(&bytes)
}

/// Whether `name` may name an entry (and so a file in the store).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TRUST_NAME_BYTES
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A trust store directory.
#[derive(Clone, Debug)]
pub struct TrustStore {
    dir: PathBuf,
}

impl TrustStore {
    /// The store at `dir` (nothing is read yet; a directory that does not exist is an empty
    /// store until something is added).
    pub fn at(dir: impl Into<PathBuf>) -> TrustStore {
        TrustStore { dir: dir.into() }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every entry, sorted by name, after checking the store as the module says.
    pub fn entries(&self) -> Result<Vec<TrustEntry>, TrustError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| TrustError::Io { path, source }
        };
        let meta = match std::fs::symlink_metadata(&self.dir) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&self.dir)(e)),
        };
        if !meta.is_dir() {
            return Err(TrustError::NotA {
                path: self.dir.clone(),
                expected: "directory",
            });
        }
        check_not_writable_by_others(&self.dir, &meta)?;
        // Names first, stopping one past the limit, so that an oversized store is refused
        // before any entry is parsed.
        let mut files = Vec::new();
        for dirent in std::fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let dirent = dirent.map_err(io(&self.dir))?;
            let path = dirent.path();
            let file_name = dirent.file_name();
            let Some(file_name) = file_name.to_str() else {
                return Err(TrustError::UnexpectedFile { path });
            };
            // Temporary files of an interrupted write; never an entry.
            if file_name.starts_with(".tmp") {
                continue;
            }
            let name = file_name
                .strip_suffix(ENTRY_SUFFIX)
                .filter(|n| valid_name(n))
                .ok_or_else(|| TrustError::UnexpectedFile { path: path.clone() })?
                .to_owned();
            if files.len() == MAX_TRUST_ENTRIES {
                return Err(TrustError::TooManyEntries {
                    dir: self.dir.clone(),
                    limit: MAX_TRUST_ENTRIES,
                });
            }
            files.push((path, name));
        }
        let mut entries = files
            .iter()
            .map(|(path, name)| read_entry(path, name))
            .collect::<Result<Vec<_>, _>>()?;
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        for (i, entry) in entries.iter().enumerate() {
            if let Some(first) = entries[..i]
                .iter()
                .find(|e| e.kind == entry.kind && e.public_key == entry.public_key)
            {
                return Err(TrustError::DuplicateKey {
                    first: first.name.clone(),
                    second: entry.name.clone(),
                    public_key: entry.public_key.clone(),
                });
            }
        }
        Ok(entries)
    }

    /// The keys of every entry of `kind`.
    pub fn trusted_keys(&self, kind: EntryKind) -> Result<Vec<TrustedKey>, TrustError> {
        self.entries()?
            .into_iter()
            .filter(|e| e.kind == kind)
            .map(|e| Ok(e.trusted_key()?))
            .collect()
    }

    /// Adds an entry, creating the store (mode 0700) if needed. Refuses an invalid name or
    /// note, an existing name, and a key an entry of the same kind already trusts.
    pub fn add(&self, new: NewEntry) -> Result<TrustEntry, TrustError> {
        if !valid_name(&new.name) {
            return Err(TrustError::InvalidName { name: new.name });
        }
        if let Some(note) = &new.note {
            if note.len() > MAX_NOTE_BYTES || note.chars().any(char::is_control) {
                return Err(TrustError::InvalidNote);
            }
        }
        let public_key = custody_core::hex::encode(&new.key.public_key().to_bytes());
        let entry = TrustEntry {
            custody_trust: TRUST_ENTRY_VERSION,
            name: new.name,
            kind: new.kind,
            public_key,
            verifier_key: match &new.key {
                TrustedKey::Verifier(v) => Some(v.to_string()),
                TrustedKey::Public(_) => None,
            },
            added_time: new.added_time,
            note: new.note,
        };
        self.add_entry(entry)
    }

    /// Adds an authority's age recipient as a [`EntryKind::Recipient`] entry, with the
    /// refusals of [`TrustStore::add`].
    pub fn add_recipient(
        &self,
        name: String,
        recipient: &crate::encrypt::EncryptionRecipient,
        added_time: String,
        note: Option<String>,
    ) -> Result<TrustEntry, TrustError> {
        if !valid_name(&name) {
            return Err(TrustError::InvalidName { name });
        }
        if let Some(note) = &note {
            if note.len() > MAX_NOTE_BYTES || note.chars().any(char::is_control) {
                return Err(TrustError::InvalidNote);
            }
        }
        self.add_entry(TrustEntry {
            custody_trust: TRUST_ENTRY_VERSION,
            name,
            kind: EntryKind::Recipient,
            public_key: recipient.to_string(),
            verifier_key: None,
            added_time,
            note,
        })
    }

    /// The age recipient of the [`EntryKind::Recipient`] entry `name`, if there is one.
    pub fn recipient(
        &self,
        name: &str,
    ) -> Result<Option<crate::encrypt::EncryptionRecipient>, TrustError> {
        Ok(self
            .entries()?
            .into_iter()
            .find(|e| e.name == name && e.kind == EntryKind::Recipient)
            .and_then(|e| e.public_key.parse().ok()))
    }

    /// Writes a checked new entry (the name and note were checked by the caller).
    fn add_entry(&self, entry: TrustEntry) -> Result<TrustEntry, TrustError> {
        create_private_dir(&self.dir)?;
        let existing = self.entries()?;
        let new = &entry;
        let public_key = &entry.public_key;
        if existing.iter().any(|e| e.name == new.name) {
            return Err(TrustError::NameTaken {
                name: new.name.clone(),
            });
        }
        if let Some(same) = existing
            .iter()
            .find(|e| e.kind == new.kind && e.public_key == *public_key)
        {
            return Err(TrustError::AlreadyTrusted {
                existing: same.name.clone(),
                kind: same.kind.as_str(),
            });
        }
        if existing.len() >= MAX_TRUST_ENTRIES {
            return Err(TrustError::TooManyEntries {
                dir: self.dir.clone(),
                limit: MAX_TRUST_ENTRIES,
            });
        }
        let bytes = canonical::to_canonical_vec(&entry)?;
        self.write_new(&entry.name, &bytes)?;
        Ok(entry)
    }

    /// Removes the entry `name` (after checking the store), returning it.
    pub fn remove(&self, name: &str) -> Result<TrustEntry, TrustError> {
        if !valid_name(name) {
            return Err(TrustError::InvalidName {
                name: name.to_owned(),
            });
        }
        let entry = self
            .entries()?
            .into_iter()
            .find(|e| e.name == name)
            .ok_or_else(|| TrustError::NoSuchEntry {
                name: name.to_owned(),
            })?;
        let path = self.entry_path(name);
        std::fs::remove_file(&path).map_err(|source| TrustError::Io {
            path: path.clone(),
            source,
        })?;
        sync_dir(&self.dir)?;
        Ok(entry)
    }

    fn entry_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}{ENTRY_SUFFIX}"))
    }

    /// Writes `bytes` as the new entry `name`: temporary file, sync, rename without
    /// replacing (a concurrent add of the same name fails rather than overwrites).
    fn write_new(&self, name: &str, bytes: &[u8]) -> Result<(), TrustError> {
        let path = self.entry_path(name);
        let io = |source| TrustError::Io {
            path: path.clone(),
            source,
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp")
            .tempfile_in(&self.dir)
            .map_err(io)?;
        tmp.write_all(bytes).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
                .map_err(io)?;
        }
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist_noclobber(&path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                TrustError::NameTaken {
                    name: name.to_owned(),
                }
            } else {
                io(e.error)
            }
        })?;
        sync_dir(&self.dir)
    }
}

fn read_entry(path: &Path, name: &str) -> Result<TrustEntry, TrustError> {
    let io = |source| TrustError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::symlink_metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(TrustError::NotA {
            path: path.to_path_buf(),
            expected: "regular file",
        });
    }
    check_not_writable_by_others(path, &meta)?;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_TRUST_ENTRY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_TRUST_ENTRY_BYTES {
        return Err(TrustError::EntryTooLarge {
            path: path.to_path_buf(),
            limit: MAX_TRUST_ENTRY_BYTES,
        });
    }
    let malformed = |reason| TrustError::MalformedEntry {
        path: path.to_path_buf(),
        reason,
    };
    let entry: TrustEntry =
        canonical::parse_strict(&bytes).map_err(|e| malformed(MalformedReason::Json(e)))?;
    if entry.custody_trust != TRUST_ENTRY_VERSION {
        return Err(malformed(MalformedReason::Version(entry.custody_trust)));
    }
    if entry.name != name {
        return Err(malformed(MalformedReason::NameMismatch(entry.name)));
    }
    let key_err = |source| TrustError::EntryKey {
        path: path.to_path_buf(),
        source,
    };
    if entry.kind == EntryKind::Recipient {
        if entry.verifier_key.is_some() {
            return Err(malformed(MalformedReason::KeyMismatch));
        }
        entry
            .public_key
            .parse::<crate::encrypt::EncryptionRecipient>()
            .map_err(|_| malformed(MalformedReason::NotARecipient))?;
        return Ok(entry);
    }
    let key = parse_hex_key(&entry.public_key).map_err(key_err)?;
    if let Some(verifier) = &entry.verifier_key {
        let verifier: VerifierKey = verifier.parse().map_err(key_err)?;
        if verifier.key != key {
            return Err(malformed(MalformedReason::KeyMismatch));
        }
    }
    Ok(entry)
}

#[cfg(unix)]
fn check_not_writable_by_others(path: &Path, meta: &std::fs::Metadata) -> Result<(), TrustError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(TrustError::WritableByOthers {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_not_writable_by_others(_: &Path, _: &std::fs::Metadata) -> Result<(), TrustError> {
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<(), TrustError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| TrustError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

fn sync_dir(dir: &Path) -> Result<(), TrustError> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| TrustError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    Ok(())
}
