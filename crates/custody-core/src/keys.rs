//! Ed25519 identities: generation, PKCS#8 PEM private keys (created 0600, refused when
//! readable by others), PEM public keys and C2SP signed-note verifier keys.

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

/// Checks a key name per C2SP signed-note: non-empty, no Unicode whitespace, no `+`.
pub fn validate_key_name(name: &str) -> Result<(), KeyError> {
    let reason = if name.is_empty() {
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

    /// Loads a private key, refusing files readable by group or others.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        let file = open_private_file(path)?;
        let mut text = String::new();
        std::io::Read::read_to_string(&mut &file, &mut text).map_err(io)?;
        Identity::from_pem(&text, None).map_err(|e| KeyError::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        })
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
    let mut tmp = builder.tempfile_in(dir).map_err(io)?;
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
        let bad = |reason: &str| malformed("verifier key", format!("{s:?}: {reason}"));
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
