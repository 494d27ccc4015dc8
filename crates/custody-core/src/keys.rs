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
}

impl ActorInfo {
    /// Checks the name (see [`validate_key_name`]) and the jurisdiction (two ASCII capitals).
    pub fn validate(&self) -> Result<(), KeyError> {
        let _ = self;
        todo!()
    }
}

/// Checks a key name per C2SP signed-note: non-empty, no Unicode whitespace, no `+`.
pub fn validate_key_name(name: &str) -> Result<(), KeyError> {
    let _ = name;
    todo!()
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
    #[error("invalid jurisdiction {0:?}: expected an ISO 3166-1 alpha-2 code such as FR")]
    InvalidJurisdiction(String),
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

impl Identity {
    /// Generates a new key from the operating system's random source.
    pub fn generate(info: ActorInfo) -> Result<Self, KeyError> {
        let _ = info;
        todo!()
    }
    /// Builds an identity from a 32-byte Ed25519 seed (tests and fixtures).
    pub fn from_seed(info: ActorInfo, seed: [u8; 32]) -> Result<Self, KeyError> {
        let _ = (info, seed);
        todo!()
    }
    /// The holder.
    pub fn info(&self) -> &ActorInfo {
        &self.info
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
        todo!()
    }
    /// Signs raw bytes (no context; see [`crate::sign`] for domain-separated records).
    pub fn sign_raw(&self, message: &[u8]) -> Signature {
        let _ = message;
        todo!()
    }
    /// The private key file: `Custody-*` header lines naming the holder, then the PKCS#8 PEM
    /// block (which OpenSSL reads, ignoring the header lines).
    pub fn to_pem(&self) -> String {
        todo!()
    }
    /// Parses [`Identity::to_pem`] output; a bare PKCS#8 PEM needs `fallback_name`.
    pub fn from_pem(text: &str, fallback_name: Option<&str>) -> Result<Self, KeyError> {
        let _ = (text, fallback_name);
        todo!()
    }
    /// Writes the private key atomically with mode 0600, refusing to overwrite.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        let _ = path;
        todo!()
    }
    /// Loads a private key, refusing files readable by group or others.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let _ = path;
        todo!()
    }
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
        let _ = bytes;
        todo!()
    }
    /// SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`), as OpenSSL reads it.
    pub fn to_pem(&self) -> String {
        todo!()
    }
    /// Parses a SubjectPublicKeyInfo PEM.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let _ = text;
        todo!()
    }
    /// Hex of SHA-256 of the raw key: a stable fingerprint for reports and ledgers.
    pub fn fingerprint(&self) -> String {
        todo!()
    }
    /// Verifies an Ed25519 signature over raw bytes (strict verification).
    pub fn verify_raw(&self, message: &[u8], signature: &Signature) -> Result<(), SignatureError> {
        let _ = (message, signature);
        todo!()
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
        todo!()
    }
}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let _ = f;
        todo!()
    }
}

impl std::str::FromStr for VerifierKey {
    type Err = KeyError;
    /// Parses and checks that the key ID matches the name and key.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let _ = s;
        todo!()
    }
}
