//! Ed25519 identities: generation, PKCS#8 PEM private keys (created 0600, refused when
//! readable by others), PEM public keys and C2SP signed-note verifier keys.
//!
//! A file given where a key is expected is first told apart by what it holds
//! ([`KeyFileKind`]), so that a public key where a private one is needed, a private key
//! where a verifier key is expected, a directory or a ZIP archive each get their own
//! message. No error ever repeats the content of a key file or of a value that may be key
//! material.

use std::path::{Path, PathBuf};

pub use ed25519_dalek::{Signature, SigningKey, VerifyingKey};

/// Who holds a key: the facts recorded when an actor is enrolled.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ActorInfo {
    /// Key name: non-empty, no whitespace, no `+` (it appears in signed notes and verifier keys).
    pub name: String,
    /// Role, e.g. "investigator", "evidence officer", "central authority".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Organisation, e.g. "Police judiciaire, Lyon".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// ISO 3166-1 alpha-2 country code, upper case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    /// The holder's full name as people write it (spaces, diacritics, any script), e.g.
    /// "Émilie Durand-Noël": one line, no control characters, at most
    /// [`MAX_FULL_NAME_BYTES`] bytes. Absent in entries written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
}

/// The longest full name accepted, in bytes of UTF-8.
pub const MAX_FULL_NAME_BYTES: usize = 256;

impl ActorInfo {
    /// An actor with only a name.
    pub fn named(name: impl Into<String>) -> Self {
        ActorInfo {
            name: name.into(),
            role: None,
            organisation: None,
            jurisdiction: None,
            full_name: None,
        }
    }

    /// The full name when there is one, else the key name: how to show the holder.
    pub fn display_name(&self) -> &str {
        self.full_name.as_deref().unwrap_or(&self.name)
    }

    /// Checks the name (see [`validate_key_name`]) and the jurisdiction (two ASCII capitals).
    /// Role and organisation must be single lines without control characters, because they
    /// travel as header lines in the key file.
    pub fn validate(&self) -> Result<(), KeyError> {
        validate_key_name(&self.name)?;
        if let Some(role) = &self.role {
            validate_header_value("role", role)?;
        }
        if let Some(org) = &self.organisation {
            validate_header_value("organisation", org)?;
        }
        if let Some(code) = &self.jurisdiction {
            validate_jurisdiction(code)?;
        }
        if let Some(full) = &self.full_name {
            validate_header_value("full name", full)?;
            if full.len() > MAX_FULL_NAME_BYTES {
                return Err(KeyError::InvalidField {
                    field: "full name",
                    reason: "it is longer than 256 bytes",
                });
            }
        }
        Ok(())
    }
}

/// The longest key name Custody creates or loads, in UTF-8 bytes: C2SP signed-note sets no
/// bound, but other tooling that stores or prints names (witnesses, log monitors, file
/// names derived from key names) does, and a key that one of them cannot load is no use
/// as evidence of who signed.
pub const MAX_KEY_NAME_BYTES: usize = 255;

/// Checks a key name for creating or loading a key: the C2SP signed-note rules
/// ([`key_name_syntax_ok`]) and at most [`MAX_KEY_NAME_BYTES`] bytes.
pub fn validate_key_name(name: &str) -> Result<(), KeyError> {
    let reason = if name.len() > MAX_KEY_NAME_BYTES {
        "it is longer than 255 bytes (UTF-8), the most other signed-note tooling accepts"
    } else if name.is_empty() {
        "it is empty"
    } else if name.contains('+') {
        "it contains '+'"
    } else if name.chars().any(char::is_whitespace) {
        "it contains white space"
    } else if name.chars().any(char::is_control) {
        "it contains a control character"
    } else {
        return Ok(());
    };
    Err(KeyError::InvalidName {
        name: name.to_owned(),
        reason,
    })
}

/// Whether `name` is a key name by C2SP signed-note syntax alone: non-empty, no Unicode
/// white space, no `+`, no control character. Signature lines of notes are parsed with
/// this rule, so that a signature by a key Custody would not create is ignored as unknown
/// rather than making the note unreadable.
pub fn key_name_syntax_ok(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('+')
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Checks an ISO 3166-1 alpha-2 code: exactly two ASCII capital letters (`FR`, not `fr`).
pub fn validate_jurisdiction(code: &str) -> Result<(), KeyError> {
    let bytes = code.as_bytes();
    if bytes.len() == 2 && bytes.iter().all(u8::is_ascii_uppercase) {
        Ok(())
    } else {
        Err(KeyError::InvalidJurisdiction(code.to_owned()))
    }
}

fn validate_header_value(field: &'static str, value: &str) -> Result<(), KeyError> {
    let reason = if value.trim().is_empty() {
        "it is empty"
    } else if value.chars().any(char::is_control) {
        "it contains a line break or control character"
    } else if value.trim() != value {
        "it starts or ends with white space"
    } else {
        return Ok(());
    };
    Err(KeyError::InvalidField { field, reason })
}

/// The longest file read as a key: an Ed25519 key file is a few hundred bytes, and a file
/// given by mistake (an evidence image, a device) must not be read whole.
pub const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// What a file given as a key holds, as far as telling one mistake from another needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyFileKind {
    /// A PEM private key (`-----BEGIN … PRIVATE KEY-----`), with or without `Custody-*`
    /// header lines.
    PrivateKey,
    /// A PEM public key (`-----BEGIN PUBLIC KEY-----`).
    PublicKey,
    /// One line that parses as a C2SP verifier key.
    VerifierKey,
    /// A directory.
    Directory,
    /// A ZIP archive (such as a package).
    Zip,
    /// Not a regular file (a device, a pipe, a socket).
    Special,
    /// Larger than [`MAX_KEY_FILE_BYTES`].
    TooLarge,
    /// An empty file.
    Empty,
    /// Anything else.
    Other,
}

impl KeyFileKind {
    /// Tells what `bytes` (a file's first bytes) hold.
    pub fn of_bytes(bytes: &[u8]) -> KeyFileKind {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return KeyFileKind::Empty;
        }
        if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
            return KeyFileKind::Zip;
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            return KeyFileKind::Other;
        };
        if text.contains("-----BEGIN PUBLIC KEY-----") {
            KeyFileKind::PublicKey
        } else if text.contains(PEM_BEGIN) && text.contains("PRIVATE KEY-----") {
            KeyFileKind::PrivateKey
        } else if text.trim().parse::<VerifierKey>().is_ok() {
            KeyFileKind::VerifierKey
        } else {
            KeyFileKind::Other
        }
    }

    /// What the file is, in words.
    pub fn describe(self) -> &'static str {
        match self {
            KeyFileKind::PrivateKey => "a private key",
            KeyFileKind::PublicKey => "a public key (PEM)",
            KeyFileKind::VerifierKey => "a verifier key (a public key)",
            KeyFileKind::Directory => "a directory",
            KeyFileKind::Zip => "a ZIP archive (a package?)",
            KeyFileKind::Special => "not a regular file",
            KeyFileKind::TooLarge => "far larger than any key file",
            KeyFileKind::Empty => "empty",
            KeyFileKind::Other => "not a key file",
        }
    }

    fn private_expected(self) -> String {
        let what = self.describe();
        match self {
            KeyFileKind::PublicKey | KeyFileKind::VerifierKey => format!(
                "this is {what}, but a private key is needed here (the file `custody key new --out` wrote)"
            ),
            KeyFileKind::Other => {
                "not a private key file (no -----BEGIN PRIVATE KEY----- block)".to_owned()
            }
            _ => format!("{what}, not a private key file"),
        }
    }

    fn public_expected(self) -> String {
        let what = self.describe();
        match self {
            KeyFileKind::PrivateKey => format!(
                "this is {what}, but a public key is expected here: give the public key (`custody key export` writes it, `custody key show` prints the verifier key) and keep the private key to its holder"
            ),
            KeyFileKind::Other | KeyFileKind::PublicKey | KeyFileKind::VerifierKey => {
                "neither a PEM public key nor a verifier key (name+keyid+base64)".to_owned()
            }
            _ => format!("{what}, not a public key file"),
        }
    }
}

/// A key failure, naming the file where there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A private key file is readable by group or others.
    #[error("{path}: private key is readable by others (mode {mode:o}); run `chmod 600 {path}`")]
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Refusing to overwrite an existing key file.
    #[error("{path}: already exists; refusing to overwrite a key")]
    Exists {
        /// The key file.
        path: PathBuf,
    },
    /// The PEM or PKCS#8 structure is not an Ed25519 key.
    #[error("not a valid Ed25519 {what}: {reason}")]
    Malformed {
        /// "private key", "public key" or "verifier key".
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A key name breaks the signed-note rules.
    #[error("invalid key name {name:?}: {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A jurisdiction that is not an ISO 3166-1 alpha-2 code.
    #[error(
        "invalid jurisdiction {0:?}: expected an ISO 3166-1 alpha-2 code in capitals, such as FR"
    )]
    InvalidJurisdiction(String),
    /// A role or organisation that cannot be stored as a header line.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// "role" or "organisation".
        field: &'static str,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A header line of a private key file is not understood.
    #[error("key file header line {line}: {reason}")]
    Header {
        /// 1-based line number in the key file.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A private key without a `Custody-Name` header, and no name was supplied.
    #[error("the key file has no Custody-Name header line and no name was given")]
    MissingName,
    /// A file (or a named file's content) does not hold the key that was expected.
    #[error("{path}: {source}")]
    InFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with its content.
        source: Box<KeyError>,
    },
    /// A verifier key whose key ID does not match its name and key.
    #[error("verifier key {name}: key ID {stated} does not match the computed {computed}")]
    KeyIdMismatch {
        /// Key name.
        name: String,
        /// Key ID written in the verifier key (hex).
        stated: String,
        /// Key ID computed from name, type and key (hex).
        computed: String,
    },
    /// A file given as a private key holds something else.
    #[error("{path}: {}", found.private_expected())]
    NotAPrivateKey {
        /// The file.
        path: PathBuf,
        /// What it holds.
        found: KeyFileKind,
    },
    /// A file given as a public or verifier key holds something else.
    #[error("{path}: {}", found.public_expected())]
    NotAPublicKey {
        /// The file.
        path: PathBuf,
        /// What it holds.
        found: KeyFileKind,
    },
    /// A value given as a verifier key or a key file is neither. The value itself is not
    /// repeated when it may be key material (pasted PEM text or a long encoded string).
    #[error(
        "{}: neither a verifier key (name+keyid+base64) nor a key file that exists",
        shown_value(given)
    )]
    NoSuchKey {
        /// The value given.
        given: String,
    },
    /// A verifier key with a signature type Custody does not implement.
    #[error("verifier key {name}: unsupported signature type 0x{byte:02x}")]
    UnsupportedKeyType {
        /// Key name.
        name: String,
        /// The type byte.
        byte: u8,
    },
}

/// A private identity: the signing key and who holds it.
#[derive(Clone)]
pub struct Identity {
    info: ActorInfo,
    key: SigningKey,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

const HEADER_NAME: &str = "Custody-Name";
const HEADER_ROLE: &str = "Custody-Role";
const HEADER_ORG: &str = "Custody-Organisation";
const HEADER_JURISDICTION: &str = "Custody-Jurisdiction";
const HEADER_FULL_NAME: &str = "Custody-Full-Name";
const PEM_BEGIN: &str = "-----BEGIN ";

fn malformed(what: &'static str, reason: impl std::fmt::Display) -> KeyError {
    KeyError::Malformed {
        what,
        reason: reason.to_string(),
    }
}

impl Identity {
    /// Generates a new key from the operating system's random source.
    pub fn generate(info: ActorInfo) -> Result<Self, KeyError> {
        info.validate()?;
        let key = SigningKey::generate(&mut rand_core::OsRng);
        Ok(Identity { info, key })
    }

    /// Builds an identity from a 32-byte Ed25519 seed (tests and fixtures).
    pub fn from_seed(info: ActorInfo, seed: [u8; 32]) -> Result<Self, KeyError> {
        info.validate()?;
        Ok(Identity {
            info,
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// The holder.
    pub fn info(&self) -> &ActorInfo {
        &self.info
    }

    /// The same key held by `info` (checked as [`Identity::generate`] checks it), e.g. with
    /// a full name given when the holder is enrolled.
    pub fn with_info(self, info: ActorInfo) -> Result<Identity, KeyError> {
        info.validate()?;
        Ok(Identity { info, ..self })
    }

    /// The Ed25519 signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.key.verifying_key())
    }

    /// The C2SP verifier key (`name+keyid+base64`) for notes signed by this identity.
    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey {
            name: self.info.name.clone(),
            key_type: KeyType::Ed25519,
            key: self.public_key(),
        }
    }

    /// The verifier key under which this identity's tlog-cosignature/v1 cosignatures verify
    /// (same name and key, signature type 0x04).
    pub fn cosigner_key(&self) -> VerifierKey {
        VerifierKey {
            key_type: KeyType::Cosignature,
            ..self.verifier_key()
        }
    }

    /// Signs raw bytes (no context; see [`crate::sign`] for domain-separated records).
    pub fn sign_raw(&self, message: &[u8]) -> Signature {
        use ed25519_dalek::Signer;
        self.key.sign(message)
    }

    /// The private key file: `Custody-*` header lines naming the holder, then the PKCS#8 PEM
    /// block (which OpenSSL reads, ignoring the header lines).
    pub fn to_pem(&self) -> String {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        let mut out = String::new();
        let mut header = |label: &str, value: &str| {
            out.push_str(label);
            out.push_str(": ");
            out.push_str(value);
            out.push('\n');
        };
        header(HEADER_NAME, &self.info.name);
        if let Some(role) = &self.info.role {
            header(HEADER_ROLE, role);
        }
        if let Some(org) = &self.info.organisation {
            header(HEADER_ORG, org);
        }
        if let Some(code) = &self.info.jurisdiction {
            header(HEADER_JURISDICTION, code);
        }
        if let Some(full) = &self.info.full_name {
            header(HEADER_FULL_NAME, full);
        }
        // PKCS#8 v1 (RFC 8410 §7): the seed only, which is what OpenSSL itself writes.
        let bytes = ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: self.key.to_bytes(),
            public_key: None,
        };
        // Encoding 32 fixed bytes into a fixed DER template cannot fail.
        let pem = bytes
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .expect("PKCS#8 encoding of an Ed25519 seed");
        out.push_str(&pem);
        out
    }

    /// Parses [`Identity::to_pem`] output; a bare PKCS#8 PEM needs `fallback_name`.
    pub fn from_pem(text: &str, fallback_name: Option<&str>) -> Result<Self, KeyError> {
        use ed25519_dalek::pkcs8::DecodePrivateKey;
        let begin = text
            .find(PEM_BEGIN)
            .ok_or_else(|| malformed("private key", "no -----BEGIN PRIVATE KEY----- line"))?;
        let mut info = parse_headers(&text[..begin])?;
        if info.name.is_empty() {
            info.name = fallback_name.ok_or(KeyError::MissingName)?.to_owned();
        }
        info.validate()?;
        let key = SigningKey::from_pkcs8_pem(text[begin..].trim_end())
            .map_err(|e| malformed("private key", e))?;
        Ok(Identity { info, key })
    }

    /// Writes the private key atomically with mode 0600, refusing to overwrite.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        write_private_file(path, self.to_pem().as_bytes())
    }

    /// Loads a private key, refusing files readable by group or others, and saying what
    /// the file is when it is not a private key (see [`KeyFileKind`]).
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let (file, bytes) = read_key_file(path).map_err(|e| match e {
            KeyFileError::Io(source) => KeyError::Io {
                path: path.to_owned(),
                source,
            },
            KeyFileError::Kind(found) => KeyError::NotAPrivateKey {
                path: path.to_owned(),
                found,
            },
        })?;
        let found = KeyFileKind::of_bytes(&bytes);
        if found != KeyFileKind::PrivateKey {
            return Err(KeyError::NotAPrivateKey {
                path: path.to_owned(),
                found,
            });
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = file.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::InsecurePermissions {
                    path: path.to_owned(),
                    mode,
                });
            }
        }
        let text = String::from_utf8(bytes).map_err(|_| KeyError::NotAPrivateKey {
            path: path.to_owned(),
            found: KeyFileKind::Other,
        })?;
        Identity::from_pem(&text, None).map_err(|e| KeyError::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        })
    }
}

enum KeyFileError {
    Io(std::io::Error),
    Kind(KeyFileKind),
}

/// A key file's metadata and bytes: only a regular file, and at most
/// [`MAX_KEY_FILE_BYTES`] of it.
fn read_key_file(path: &Path) -> Result<(std::fs::Metadata, Vec<u8>), KeyFileError> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(KeyFileError::Io)?;
    if meta.is_dir() {
        return Err(KeyFileError::Kind(KeyFileKind::Directory));
    }
    if !meta.is_file() {
        return Err(KeyFileError::Kind(KeyFileKind::Special));
    }
    let file = std::fs::File::open(path).map_err(KeyFileError::Io)?;
    // The metadata that counts is the opened file's (the path may have been replaced).
    let meta = file.metadata().map_err(KeyFileError::Io)?;
    if !meta.is_file() {
        return Err(KeyFileError::Kind(KeyFileKind::Special));
    }
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(KeyFileError::Io)?;
    if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(KeyFileError::Kind(KeyFileKind::TooLarge));
    }
    Ok((meta, bytes))
}

/// A public key as a user gives one: a verifier key typed inline, or a file holding a PEM
/// public key or a verifier key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GivenPublicKey {
    /// A C2SP verifier key (inline or from a file).
    Verifier(VerifierKey),
    /// A SubjectPublicKeyInfo PEM public key from a file.
    Public(PublicKey),
}

impl GivenPublicKey {
    /// The Ed25519 key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            GivenPublicKey::Verifier(v) => v.key,
            GivenPublicKey::Public(p) => *p,
        }
    }

    /// Reads `given`: a verifier key, else a file. A private key, a directory, a ZIP
    /// archive or anything else is refused with its own message ([`KeyError::NotAPublicKey`]),
    /// which never repeats the file's content.
    pub fn read(given: &str) -> Result<Self, KeyError> {
        if let Ok(key) = given.trim().parse::<VerifierKey>() {
            return Ok(GivenPublicKey::Verifier(key));
        }
        let path = Path::new(given);
        let not_public = |found| KeyError::NotAPublicKey {
            path: path.to_owned(),
            found,
        };
        let (_, bytes) = match read_key_file(path) {
            Ok(read) => read,
            Err(KeyFileError::Kind(found)) => return Err(not_public(found)),
            Err(KeyFileError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyError::NoSuchKey {
                    given: given.to_owned(),
                })
            }
            Err(KeyFileError::Io(source)) => {
                return Err(KeyError::Io {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        let in_file = |e| KeyError::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        };
        let found = KeyFileKind::of_bytes(&bytes);
        let text = String::from_utf8(bytes).map_err(|_| not_public(found))?;
        match found {
            KeyFileKind::PublicKey => PublicKey::from_pem(&text)
                .map(GivenPublicKey::Public)
                .map_err(in_file),
            KeyFileKind::VerifierKey => text
                .trim()
                .parse()
                .map(GivenPublicKey::Verifier)
                .map_err(in_file),
            found => Err(not_public(found)),
        }
    }
}

/// A value given on a command line, as an error may show it: not at all when it may be
/// key material.
fn shown_value(given: &str) -> String {
    // Pasted PEM text, or a long run of base64 (a private key's body, a seed).
    let base64ish = given.len() >= 40
        && given
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    let pasted =
        given.contains('\n') || given.contains(PEM_BEGIN) || given.len() > 256 || base64ish;
    if pasted {
        "the value given (not repeated: it may be key material)".to_owned()
    } else {
        given.to_owned()
    }
}

/// Writes `bytes` as a new private file at `path`: created with mode 0600 before any byte
/// reaches it, fsynced, renamed into place (refusing to replace a file) and the directory
/// synced. Every secret key file (signing keys, encryption identities) is written so.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    use std::io::Write;
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    if path.exists() {
        return Err(KeyError::Exists {
            path: path.to_owned(),
        });
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".custody-key-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The file is created with these bits, before any key byte reaches it.
        builder.permissions(std::fs::Permissions::from_mode(0o600));
    }
    // `tempfile` names its temporary file in this error; the user never gave that name.
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(|e| match e.raw_os_error() {
            Some(_) => io(e),
            None => io(std::io::Error::from(e.kind())),
        })?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists {
                path: path.to_owned(),
            }
        } else {
            io(e.error)
        }
    })?;
    sync_dir(dir).map_err(io)
}

/// Opens a private file for reading, refusing one readable by group or others (as every
/// secret key file is refused).
pub fn open_private_file(path: &Path) -> Result<std::fs::File, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata().map_err(io)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::InsecurePermissions {
                path: path.to_owned(),
                mode,
            });
        }
    }
    Ok(file)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Parses the `Custody-*: value` lines before the PEM block. An empty name means "absent".
fn parse_headers(text: &str) -> Result<ActorInfo, KeyError> {
    let mut info = ActorInfo::named("");
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let err = |reason| KeyError::Header { line, reason };
        if raw.trim().is_empty() {
            continue;
        }
        let (label, value) = raw
            .split_once(": ")
            .ok_or_else(|| err("expected `Custody-<Field>: <value>`"))?;
        let slot = match label {
            HEADER_NAME => {
                if !info.name.is_empty() {
                    return Err(err("Custody-Name appears twice"));
                }
                info.name = value.to_owned();
                continue;
            }
            HEADER_ROLE => &mut info.role,
            HEADER_ORG => &mut info.organisation,
            HEADER_JURISDICTION => &mut info.jurisdiction,
            HEADER_FULL_NAME => &mut info.full_name,
            _ => return Err(err("unknown header (expected Custody-Name, Custody-Role, Custody-Organisation, Custody-Jurisdiction or Custody-Full-Name)")),
        };
        if slot.is_some() {
            return Err(err("header appears twice"));
        }
        *slot = Some(value.to_owned());
    }
    Ok(info)
}

/// An Ed25519 public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PublicKey(pub VerifyingKey);

impl PublicKey {
    /// The 32 raw key bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// From 32 raw bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        VerifyingKey::from_bytes(bytes)
            .map(PublicKey)
            .map_err(|_| malformed("public key", "the 32 bytes are not a point on Edwards25519"))
    }

    /// SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`), as OpenSSL reads it.
    pub fn to_pem(&self) -> String {
        use ed25519_dalek::pkcs8::EncodePublicKey;
        self.0
            .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .expect("SPKI encoding of an Ed25519 public key")
    }

    /// Parses a SubjectPublicKeyInfo PEM.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        use ed25519_dalek::pkcs8::DecodePublicKey;
        VerifyingKey::from_public_key_pem(text.trim())
            .map(PublicKey)
            .map_err(|e| malformed("public key", e))
    }

    /// Hex of SHA-256 of the raw key: a stable fingerprint for reports and ledgers.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        crate::hex::encode(&sha2::Sha256::digest(self.to_bytes()))
    }

    /// Verifies an Ed25519 signature over raw bytes: **the one signature rule** of Custody.
    ///
    /// Every path that believes a signature (ledger entries, package signatures, package
    /// events, receipts, signed notes, checkpoints and cosignatures) ends here, alone or
    /// through [`crate::sign::verify_raw_many`] / [`crate::sign::verify_canonical_batch`],
    /// which run this same function on every core. The rule is RFC 8032 §5.1.7 verification
    /// made strict, exactly as `ed25519-dalek` 2's `verify_strict` defines it (specified in
    /// `docs/formats.md`, "Signature rule"):
    ///
    /// 1. the signature is `R ‖ S`, 64 bytes; `S` read little-endian must be below the group
    ///    order ℓ (non-canonical `S` is refused);
    /// 2. `R` must decode to a curve point and `A` (the key) did when it was parsed; a point
    ///    of small order (order dividing 8) for either is refused;
    /// 3. `k = SHA-512(R ‖ A ‖ message) mod ℓ`, over the bytes exactly as given;
    /// 4. the signature holds iff the canonical encoding of `[S]B − [k]A` equals the 32 bytes
    ///    of `R` (the cofactorless equation, compared as bytes, so a non-canonical `R` fails).
    ///
    /// One message then has at most one valid signature per key, and no batch or cofactored
    /// shortcut anywhere can accept what this refuses.
    pub fn verify_raw(&self, message: &[u8], signature: &Signature) -> Result<(), SignatureError> {
        self.0
            .verify_strict(message, signature)
            .map_err(|_| SignatureError)
    }
}

/// A signature did not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("signature does not verify")]
pub struct SignatureError;

/// The signature algorithm a verifier key names (C2SP signed-note key types).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// 0x01: Ed25519 over the note text.
    Ed25519,
    /// 0x04: tlog-cosignature/v1 (Ed25519 over a timestamped checkpoint).
    Cosignature,
}

impl KeyType {
    /// The type byte.
    pub fn byte(self) -> u8 {
        match self {
            KeyType::Ed25519 => 0x01,
            KeyType::Cosignature => 0x04,
        }
    }

    /// The key type for a type byte, if Custody implements it.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0x01 => Some(KeyType::Ed25519),
            0x04 => Some(KeyType::Cosignature),
            _ => None,
        }
    }
}

/// A C2SP verifier key: `name+hex(keyid)+base64(type ‖ pubkey)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VerifierKey {
    /// Key name.
    pub name: String,
    /// Key type.
    pub key_type: KeyType,
    /// The Ed25519 public key.
    pub key: PublicKey,
}

impl VerifierKey {
    /// The 4-byte key ID: the first 4 bytes of SHA-256(name ‖ "\n" ‖ type ‖ pubkey).
    pub fn key_id(&self) -> [u8; 4] {
        use sha2::Digest;
        let digest = sha2::Sha256::new()
            .chain_update(self.name.as_bytes())
            .chain_update(b"\n")
            .chain_update([self.key_type.byte()])
            .chain_update(self.key.to_bytes())
            .finalize();
        [digest[0], digest[1], digest[2], digest[3]]
    }

    fn key_material(&self) -> [u8; 33] {
        let mut out = [0u8; 33];
        out[0] = self.key_type.byte();
        out[1..].copy_from_slice(&self.key.to_bytes());
        out
    }
}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use base64::Engine;
        write!(
            f,
            "{}+{}+{}",
            self.name,
            crate::hex::encode(&self.key_id()),
            base64::engine::general_purpose::STANDARD.encode(self.key_material())
        )
    }
}

impl std::str::FromStr for VerifierKey {
    type Err = KeyError;
    /// Parses and checks that the key ID matches the name and key.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use base64::Engine;
        // The text is not repeated: what was given may be key material.
        let bad = |reason: &str| malformed("verifier key", reason);
        let (name, rest) = s
            .split_once('+')
            .ok_or_else(|| bad("expected name+keyid+key"))?;
        let (id_hex, key_b64) = rest
            .split_once('+')
            .ok_or_else(|| bad("expected name+keyid+key"))?;
        validate_key_name(name)?;
        if id_hex.len() != 8 {
            return Err(bad("the key ID must be 8 hex digits"));
        }
        let stated = crate::hex::decode_array::<4>(id_hex)
            .ok_or_else(|| bad("the key ID must be 8 hex digits"))?;
        let material = base64::engine::general_purpose::STANDARD
            .decode(key_b64)
            .map_err(|_| bad("the key is not standard base64"))?;
        let (&type_byte, raw) = material
            .split_first()
            .ok_or_else(|| bad("the key is empty"))?;
        let key_type =
            KeyType::from_byte(type_byte).ok_or_else(|| KeyError::UnsupportedKeyType {
                name: name.to_owned(),
                byte: type_byte,
            })?;
        let raw: &[u8; 32] = raw
            .try_into()
            .map_err(|_| bad("an Ed25519 key is 32 bytes after the type byte"))?;
        let key = VerifierKey {
            name: name.to_owned(),
            key_type,
            key: PublicKey::from_bytes(raw)?,
        };
        let computed = key.key_id();
        if computed != stated {
            return Err(KeyError::KeyIdMismatch {
                name: name.to_owned(),
                stated: crate::hex::encode(&stated),
                computed: crate::hex::encode(&computed),
            });
        }
        Ok(key)
    }
}
