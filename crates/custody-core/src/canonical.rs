//! RFC 8785 JSON Canonicalization Scheme (JCS): the one byte form of every signed record.
//!
//! Object members sorted by their UTF-16 code units, no insignificant white space, strings
//! escaped minimally, numbers in ECMAScript shortest form.

/// A value that has no canonical JSON form.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalError {
    /// Serialisation failed or produced a non-finite number.
    #[error("cannot canonicalise: {0}")]
    Serialize(String),
    /// The input bytes are not JSON.
    #[error("not valid JSON: {0}")]
    Parse(String),
}

/// Serialises `value` to canonical JSON bytes.
pub fn to_canonical_vec<T: serde::Serialize + ?Sized>(
    value: &T,
) -> Result<Vec<u8>, CanonicalError> {
    let _ = value;
    todo!()
}

/// Re-encodes JSON bytes canonically.
pub fn canonicalize(json: &[u8]) -> Result<Vec<u8>, CanonicalError> {
    let _ = json;
    todo!()
}

/// Whether `json` is already exactly in canonical form (what a verifier checks before
/// trusting a signature over it).
pub fn is_canonical(json: &[u8]) -> bool {
    canonicalize(json).map(|c| c == json).unwrap_or(false)
}
