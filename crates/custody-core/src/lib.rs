//! Custody core: the cryptographic building blocks every other Custody crate stands on.
//!
//! * [`hash`]: one streaming read pass computing SHA-256 and BLAKE3 together (plus the
//!   legacy algorithms BagIt bags from other tools may use).
//! * [`keys`]: Ed25519 identities, PKCS#8 PEM private keys, PEM public keys and C2SP
//!   signed-note verifier keys.
//! * [`canonical`]: RFC 8785 (JCS) canonical JSON, the only byte form Custody ever signs.
//! * [`sign`]: domain-separated signatures over canonical records and raw bytes.
//! * [`merkle`]: RFC 6962 / RFC 9162 Merkle tree hashing, inclusion and consistency proofs.
//! * [`note`]: the C2SP signed-note format.
//! * [`parallel`]: order-keeping work across cores; a panicking worker fails the run.
//! * [`checkpoint`]: C2SP tlog-checkpoint bodies and tlog-cosignature/v1 cosignatures.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod canonical;
pub mod checkpoint;
pub mod hash;
pub mod hex;
pub mod keys;
pub mod merkle;
pub mod note;
pub mod parallel;
pub mod sign;
pub mod text;
