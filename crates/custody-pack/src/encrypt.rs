//! Packages in transit: a sealed package encrypted to the receiving authority as a standard
//! age v1 file (age-encryption.org/v1, X25519 recipients), which the stock `age` tool
//! decrypts with the recipient's identity.
//!
//! Encryption wraps the package; it changes nothing inside it. The signatures stay over the
//! plaintext bag, so a package decrypted by any means verifies offline exactly as one that
//! travelled in clear. Two digests describe a transfer: the plaintext package's (what was
//! verified, `package_digest`) and the encrypted file's (what was transferred,
//! `encrypted_digest`).
//!
//! Reading an encrypted package is one pass over the encrypted file: its header is read
//! within [`MAX_AGE_HEADER`], the identities are tried, and the payload is decrypted as it
//! streams, SHA-256 of the encrypted bytes computed on the way ([`Decrypting`]). Nothing
//! is written before an identity matched; the plaintext goes only where the caller sends
//! it (for `verify` and `receive`, an unnamed private copy that disappears with the
//! process). A payload chunk that does not authenticate (altered or truncated in transit)
//! is an error as it is read, never plaintext passed on.
//!
//! Only X25519 recipients and identities are accepted (`age1…`, `AGE-SECRET-KEY-1…`):
//! no passphrases, SSH keys or plugins, whose work or trust is unbounded or not ours.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use custody_core::hash::{copy_and_hash, Digests};
use custody_core::keys::{open_private_file, write_private_file, KeyError};
use sha2::{Digest, Sha256};

/// Longest age header read (the version line, the recipient stanzas and the MAC line): an
/// X25519 stanza is about 100 bytes, so this admits several hundred recipients. A header
/// that has not ended by then is refused before anything is decrypted.
pub const MAX_AGE_HEADER: usize = 64 << 10;
/// Largest identity file read (`--identity`).
pub const MAX_IDENTITY_FILE: u64 = 64 << 10;
/// Largest recipients file read (`--encrypt-to FILE`).
pub const MAX_RECIPIENTS_FILE: u64 = 64 << 10;
/// Most recipients one package is encrypted to.
pub const MAX_RECIPIENTS: usize = 64;

/// The first line of every age v1 file.
const AGE_V1: &[u8] = b"age-encryption.org/v1\n";

/// Why encryption or decryption could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptError {
    /// A recipient is not an age X25519 recipient (`age1…`).
    #[error("{source_name}: {recipient:?} is not an age X25519 recipient (age1…): {reason}")]
    BadRecipient {
        /// Where it was read (`--encrypt-to`, or a file and line).
        source_name: String,
        /// The text, shortened.
        recipient: String,
        /// Why.
        reason: &'static str,
    },
    /// No recipient was given.
    #[error("no recipient to encrypt to")]
    NoRecipients,
    /// More recipients than [`MAX_RECIPIENTS`].
    #[error("{count} recipients: a package is encrypted to at most {limit}")]
    TooManyRecipients {
        /// How many.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A recipients or identity file is larger than its limit.
    #[error("{path}: larger than the {limit}-byte limit for this kind of file")]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// A line of an identity file is not an age X25519 identity.
    #[error("{path}, line {line}: not an age X25519 identity (AGE-SECRET-KEY-1…): {reason}")]
    BadIdentity {
        /// The file.
        path: PathBuf,
        /// The line (1-based).
        line: usize,
        /// Why.
        reason: &'static str,
    },
    /// An identity file holds no identity.
    #[error("{path}: no age identity in the file")]
    NoIdentity {
        /// The file.
        path: PathBuf,
    },
    /// A secret file could not be read or written (or is readable by others).
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file is not an age v1 file.
    #[error("{path}: not an age-encrypted file (no age-encryption.org/v1 header; ASCII armour is not accepted)")]
    NotAge {
        /// The file.
        path: PathBuf,
    },
    /// The age header did not end within [`MAX_AGE_HEADER`] bytes.
    #[error("{path}: age header longer than {limit} bytes; refused before decrypting")]
    HeaderTooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: usize,
    },
    /// None of the identities opens the file.
    #[error("{path}: none of the identities given can decrypt this file (it was encrypted to other recipients); nothing was written")]
    NoMatchingIdentity {
        /// The file.
        path: PathBuf,
    },
    /// The header is malformed or its MAC does not verify, or the file ends inside it.
    #[error("{path}: damaged or altered age header: {source}")]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// The age library's reason.
        source: age::DecryptError,
    },
    /// The age library refused to encrypt.
    #[error("cannot encrypt: {0}")]
    Encrypt(#[from] age::EncryptError),
}

/// An age X25519 recipient (`age1…`): an authority a package can be encrypted to.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionRecipient(age::x25519::Recipient);

impl FromStr for EncryptionRecipient {
    type Err = EncryptError;

    fn from_str(text: &str) -> Result<Self, EncryptError> {
        parse_recipient(text, "recipient")
    }
}

impl std::fmt::Display for EncryptionRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for EncryptionRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptionRecipient({})", self.0)
    }
}

fn parse_recipient(text: &str, source_name: &str) -> Result<EncryptionRecipient, EncryptError> {
    let bad = |reason| EncryptError::BadRecipient {
        source_name: source_name.to_owned(),
        recipient: text.chars().take(100).collect(),
        reason,
    };
    if !text.starts_with("age1") {
        return Err(bad("only X25519 recipients (age1…) are accepted"));
    }
    age::x25519::Recipient::from_str(text)
        .map(EncryptionRecipient)
        .map_err(bad)
}

/// Recipients as `age -R` reads a recipients file: one per line, blank lines and lines
/// starting with `#` ignored. `source_name` names the file in errors.
pub fn parse_recipients(
    text: &str,
    source_name: &str,
) -> Result<Vec<EncryptionRecipient>, EncryptError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(parse_recipient(
            line,
            &format!("{source_name}, line {}", n + 1),
        )?);
    }
    Ok(out)
}

/// An `--encrypt-to` argument: an `age1…` recipient, or else the path of a recipients file.
pub fn recipients_from_arg(arg: &str) -> Result<Vec<EncryptionRecipient>, EncryptError> {
    if arg.starts_with("age1") {
        return Ok(vec![parse_recipient(arg, "--encrypt-to")?]);
    }
    let path = Path::new(arg);
    let text = read_bounded(File::open(path), path, MAX_RECIPIENTS_FILE)?;
    let text = String::from_utf8(text).map_err(|_| EncryptError::BadRecipient {
        source_name: path.display().to_string(),
        recipient: String::new(),
        reason: "the file is not UTF-8 text",
    })?;
    let recipients = parse_recipients(&text, &path.display().to_string())?;
    if recipients.is_empty() {
        return Err(EncryptError::NoRecipients);
    }
    Ok(recipients)
}

fn read_bounded(file: io::Result<File>, path: &Path, limit: u64) -> Result<Vec<u8>, EncryptError> {
    let io = |source| EncryptError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = file.map_err(io)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(EncryptError::FileTooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(bytes)
}

/// An age X25519 identity: what decrypts packages sent to its recipient.
#[derive(Clone)]
pub struct EncryptionIdentity(age::x25519::Identity);

impl std::fmt::Debug for EncryptionIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptionIdentity({})", self.recipient())
    }
}

impl EncryptionIdentity {
    /// A new identity from the operating system's randomness.
    pub fn generate() -> Self {
        EncryptionIdentity(age::x25519::Identity::generate())
    }

    /// Its recipient (`age1…`), the public half others encrypt to.
    pub fn recipient(&self) -> EncryptionRecipient {
        EncryptionRecipient(self.0.to_public())
    }

    /// The identity file text, as `age-keygen` writes it: a comment naming the recipient
    /// and the secret key line.
    fn file_text(&self) -> String {
        format!(
            "# custody encryption identity (age X25519)\n# public key: {}\n{}\n",
            self.recipient(),
            self.0.to_string().expose_secret()
        )
    }

    /// Writes the identity to a new file, mode 0600, refusing to overwrite (as private
    /// keys are written).
    pub fn save(&self, path: &Path) -> Result<(), EncryptError> {
        Ok(write_private_file(path, self.file_text().as_bytes())?)
    }

    /// Reads every identity of an age identity file (`AGE-SECRET-KEY-1…` lines; blank
    /// lines and `#` comments ignored), refusing a file readable by group or others and
    /// one larger than [`MAX_IDENTITY_FILE`].
    pub fn load_file(path: &Path) -> Result<Vec<EncryptionIdentity>, EncryptError> {
        let file = open_private_file(path)?;
        let bytes = read_bounded(Ok(file), path, MAX_IDENTITY_FILE)?;
        let bad = |line, reason| EncryptError::BadIdentity {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let text = String::from_utf8(bytes).map_err(|_| bad(0, "the file is not UTF-8 text"))?;
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if !line.starts_with("AGE-SECRET-KEY-1") {
                return Err(bad(n + 1, "only X25519 identities are accepted"));
            }
            let identity =
                age::x25519::Identity::from_str(line).map_err(|reason| bad(n + 1, reason))?;
            out.push(EncryptionIdentity(identity));
        }
        if out.is_empty() {
            return Err(EncryptError::NoIdentity {
                path: path.to_path_buf(),
            });
        }
        Ok(out)
    }

    /// Whether `text` looks like an age identity file rather than a signing key.
    pub fn is_identity_text(text: &str) -> bool {
        text.lines()
            .map(str::trim)
            .any(|l| l.starts_with("AGE-SECRET-KEY-1"))
    }
}

/// Size and SHA-256 of a file as transferred.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferDigest {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256.
    pub sha256: [u8; 32],
}

impl TransferDigest {
    /// SHA-256 as lower-case hex.
    pub fn sha256_hex(&self) -> String {
        custody_core::hex::encode(&self.sha256)
    }
}

/// What [`encrypt_to_file`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encrypted {
    /// The plaintext package's size and digests.
    pub plaintext: Digests,
    /// The encrypted file's size and SHA-256.
    pub encrypted: TransferDigest,
}

/// A writer that passes bytes on and hashes them with SHA-256.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Encrypts `plaintext` (read to its end) to `recipients` as an age v1 file at `dest`:
/// written to a temporary file beside it, fsynced, renamed into place. On error nothing is
/// left at `dest`. Returns the digests of both sides.
pub fn encrypt_to_file<R: Read>(
    plaintext: R,
    recipients: &[EncryptionRecipient],
    dest: &Path,
) -> Result<Encrypted, EncryptError> {
    check_recipients(recipients)?;
    let io = |source| EncryptError::Io {
        path: dest.to_path_buf(),
        source,
    };
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let temp = tempfile::Builder::new()
        .prefix(".custody-age-")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(io)?;
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| &r.0 as &dyn age::Recipient))?;
    let hashing = HashingWriter {
        inner: io::BufWriter::with_capacity(1 << 20, temp),
        hasher: Sha256::new(),
        size: 0,
    };
    let mut writer = encryptor.wrap_output(hashing).map_err(io)?;
    let plaintext = copy_and_hash(plaintext, &mut writer, &mut |_| {}).map_err(io)?;
    let hashing = writer.finish().map_err(io)?;
    let encrypted = TransferDigest {
        size: hashing.size,
        sha256: hashing.hasher.finalize().into(),
    };
    let temp = hashing.inner.into_inner().map_err(|e| io(e.into_error()))?;
    temp.as_file().sync_all().map_err(io)?;
    // Never over an existing file: the ledger records the package by its digest.
    temp.persist_noclobber(dest).map_err(|e| io(e.error))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    Ok(Encrypted {
        plaintext,
        encrypted,
    })
}

/// Finishes a package being sealed without naming it, and writes it encrypted to
/// `recipients` at `out` (see [`crate::seal::seal_encrypted`]).
pub(crate) fn seal_into(
    writer: crate::zipwrite::PackageWriter,
    recipients: &[EncryptionRecipient],
    out: &Path,
) -> Result<crate::seal::PackageDigests, crate::seal::SealError> {
    let (plaintext, _) = writer.finish_unnamed()?;
    let encrypted = encrypt_to_file(BufReader::new(plaintext), recipients, out)?;
    Ok(crate::seal::PackageDigests {
        plaintext: crate::zipwrite::ArchiveDigest {
            size: encrypted.plaintext.size,
            sha256: encrypted.plaintext.sha256,
        },
        encrypted: Some(encrypted.encrypted),
    })
}

/// Refuses an empty or oversized recipient list.
pub fn check_recipients(recipients: &[EncryptionRecipient]) -> Result<(), EncryptError> {
    if recipients.is_empty() {
        return Err(EncryptError::NoRecipients);
    }
    if recipients.len() > MAX_RECIPIENTS {
        return Err(EncryptError::TooManyRecipients {
            count: recipients.len(),
            limit: MAX_RECIPIENTS,
        });
    }
    Ok(())
}

/// SHA-256 and size of the bytes read so far, shared between the reader at the bottom of
/// the decryption stack and [`Decrypting::finish`].
#[derive(Default)]
struct HashState {
    hasher: Sha256,
    size: u64,
}

/// A reader that hashes what passes through it with SHA-256.
struct HashingReader<R> {
    inner: R,
    state: std::sync::Arc<std::sync::Mutex<HashState>>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut state = self
            .state
            .lock()
            .map_err(|_| io::Error::other("hash state poisoned"))?;
        state.hasher.update(&buf[..n]);
        state.size += n as u64;
        Ok(n)
    }
}

type Source<R> = io::Chain<Cursor<Vec<u8>>, BufReader<HashingReader<R>>>;

/// An encrypted package being read: [`Read`] gives the plaintext, authenticated chunk by
/// chunk; [`Decrypting::finish`] then gives the encrypted file's digest.
pub struct Decrypting<R: Read> {
    stream: age::stream::StreamReader<Source<R>>,
    state: std::sync::Arc<std::sync::Mutex<HashState>>,
    path: PathBuf,
}

impl<R: Read> std::fmt::Debug for Decrypting<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Decrypting({})", self.path.display())
    }
}

/// Opens the age file read from `reader` (named `path` in errors) with the first of
/// `identities` that matches. The header is read within [`MAX_AGE_HEADER`]; no payload
/// byte is decrypted before an identity matched.
pub fn open_encrypted<R: Read>(
    reader: R,
    path: &Path,
    identities: &[EncryptionIdentity],
) -> Result<Decrypting<R>, EncryptError> {
    let state = std::sync::Arc::new(std::sync::Mutex::new(HashState::default()));
    let mut buffered = BufReader::with_capacity(
        1 << 20,
        HashingReader {
            inner: reader,
            state: state.clone(),
        },
    );
    let header = read_header(&mut buffered, path)?;
    let source = Cursor::new(header).chain(buffered);
    let bad_header = |source| EncryptError::BadHeader {
        path: path.to_path_buf(),
        source,
    };
    let decryptor = age::Decryptor::new_buffered(source).map_err(bad_header)?;
    if decryptor.is_scrypt() {
        return Err(EncryptError::NoMatchingIdentity {
            path: path.to_path_buf(),
        });
    }
    let stream = decryptor
        .decrypt(identities.iter().map(|i| &i.0 as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => EncryptError::NoMatchingIdentity {
                path: path.to_path_buf(),
            },
            other => bad_header(other),
        })?;
    Ok(Decrypting {
        stream,
        state,
        path: path.to_path_buf(),
    })
}

/// The header lines up to and including the MAC line (`--- …`), within
/// [`MAX_AGE_HEADER`] bytes.
fn read_header<B: BufRead>(input: &mut B, path: &Path) -> Result<Vec<u8>, EncryptError> {
    let io = |source| EncryptError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut header = Vec::new();
    loop {
        let start = header.len();
        let room = (MAX_AGE_HEADER - start) as u64;
        let n = input
            .by_ref()
            .take(room)
            .read_until(b'\n', &mut header)
            .map_err(io)?;
        let line = &header[start..];
        if start == 0 && line != AGE_V1 {
            return Err(EncryptError::NotAge {
                path: path.to_path_buf(),
            });
        }
        if n == 0 || !line.ends_with(b"\n") {
            if header.len() >= MAX_AGE_HEADER {
                return Err(EncryptError::HeaderTooLarge {
                    path: path.to_path_buf(),
                    limit: MAX_AGE_HEADER,
                });
            }
            return Err(EncryptError::BadHeader {
                path: path.to_path_buf(),
                source: age::DecryptError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file ends inside the age header",
                )),
            });
        }
        if line.starts_with(b"---") {
            return Ok(header);
        }
    }
}

impl<R: Read> Read for Decrypting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf).map_err(|e| match e.kind() {
            io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the encrypted package is damaged, truncated or was altered in transit \
                     (a chunk does not authenticate: {e}); no plaintext from it is used"
                ),
            ),
            _ => e,
        })
    }
}

impl<R: Read> Decrypting<R> {
    /// After the plaintext was read to its end: the encrypted file's size and SHA-256.
    /// (Bytes after the payload's last chunk never get this far: age reads them as part of
    /// a chunk, which then does not authenticate.)
    pub fn finish(self) -> io::Result<TransferDigest> {
        drop(self.stream);
        let state = std::mem::take(
            &mut *self
                .state
                .lock()
                .map_err(|_| io::Error::other("hash state poisoned"))?,
        );
        Ok(TransferDigest {
            size: state.size,
            sha256: state.hasher.finalize().into(),
        })
    }
}

/// Verifies the encrypted package at `path` with `identities`: one pass decrypts it into
/// an unnamed private temporary file (the verifier needs to seek), which is then verified
/// and disappears with the handle. Returns the report and the encrypted file's digest.
pub fn verify_encrypted(
    path: &Path,
    identities: &[EncryptionIdentity],
    options: &crate::verify::VerifyOptions,
) -> Result<(crate::verify::PackageReport, TransferDigest), EncryptError> {
    let io = |source| EncryptError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let mut decrypting = open_encrypted(file, path, identities)?;
    let mut copy = tempfile::tempfile().map_err(io)?;
    io::copy(&mut decrypting, &mut copy).map_err(io)?;
    let transfer = decrypting.finish().map_err(io)?;
    io::Seek::rewind(&mut copy).map_err(io)?;
    let report = crate::verify::verify_reader(BufReader::new(copy), options).map_err(io)?;
    Ok((report, transfer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encrypt(plain: &[u8], to: &[EncryptionRecipient]) -> Vec<u8> {
        let encryptor =
            age::Encryptor::with_recipients(to.iter().map(|r| &r.0 as &dyn age::Recipient))
                .unwrap();
        let mut out = Vec::new();
        let mut w = encryptor.wrap_output(&mut out).unwrap();
        w.write_all(plain).unwrap();
        w.finish().unwrap();
        out
    }

    fn decrypt(bytes: &[u8], ids: &[EncryptionIdentity]) -> Result<Vec<u8>, String> {
        let mut d = open_encrypted(bytes, Path::new("p.age"), ids).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        d.read_to_end(&mut out).map_err(|e| e.to_string())?;
        let digest = d.finish().map_err(|e| e.to_string())?;
        assert_eq!(digest.size, bytes.len() as u64);
        assert_eq!(digest.sha256, <[u8; 32]>::from(Sha256::digest(bytes)));
        Ok(out)
    }

    #[test]
    fn round_trip_and_digest_of_what_was_transferred() {
        let id = EncryptionIdentity::generate();
        let plain = vec![7u8; 200_000];
        let bytes = encrypt(&plain, &[id.recipient()]);
        assert_eq!(decrypt(&bytes, &[id]).unwrap(), plain);
    }

    #[test]
    fn fail_wrong_identity() {
        let bytes = encrypt(b"x", &[EncryptionIdentity::generate().recipient()]);
        let err = decrypt(&bytes, &[EncryptionIdentity::generate()]).unwrap_err();
        assert!(err.contains("none of the identities"), "{err}");
    }

    #[test]
    fn fail_altered_or_truncated_payload() {
        let id = EncryptionIdentity::generate();
        let bytes = encrypt(&vec![1u8; 100_000], &[id.recipient()]);
        let mut altered = bytes.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        let err = decrypt(&altered, std::slice::from_ref(&id)).unwrap_err();
        assert!(err.contains("damaged, truncated or was altered"), "{err}");
        let err = decrypt(&bytes[..bytes.len() - 100], std::slice::from_ref(&id)).unwrap_err();
        assert!(err.contains("damaged, truncated or was altered"), "{err}");
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decrypt(&longer, &[id]).is_err());
    }

    #[test]
    fn fail_header_at_and_past_the_limit() {
        let id = EncryptionIdentity::generate();
        let mut at = AGE_V1.to_vec();
        at.extend_from_slice(b"--- ");
        at.extend(std::iter::repeat_n(b'a', MAX_AGE_HEADER - at.len() - 1));
        at.push(b'\n');
        assert_eq!(at.len(), MAX_AGE_HEADER);
        // A header ending exactly at the limit is read, and handed to age, which refuses it.
        let err = decrypt(&at, std::slice::from_ref(&id)).unwrap_err();
        assert!(err.contains("damaged or altered age header"), "{err}");
        let mut past = AGE_V1.to_vec();
        past.extend(std::iter::repeat_n(b'a', MAX_AGE_HEADER));
        let err = decrypt(&past, &[id]).unwrap_err();
        assert!(err.contains("age header longer than"), "{err}");
    }

    #[test]
    fn fail_not_age() {
        let err = decrypt(b"PK\x03\x04 a zip", &[EncryptionIdentity::generate()]).unwrap_err();
        assert!(err.contains("not an age-encrypted file"), "{err}");
    }

    #[test]
    fn recipients_file_as_age_reads_it() {
        let a = EncryptionIdentity::generate().recipient();
        let b = EncryptionIdentity::generate().recipient();
        let text = format!("# authority B\n\n{a}\n  {b}  \n");
        assert_eq!(parse_recipients(&text, "f").unwrap(), vec![a, b]);
        assert!(parse_recipients("ssh-ed25519 AAAA", "f").is_err());
        assert!(parse_recipients("age1notvalid", "f").is_err());
    }
}
