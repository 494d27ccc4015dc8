//! Lower-case hexadecimal encoding, as used in manifests, events and reports.

/// Encodes bytes as lower-case hex.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// Decodes hex (either case). Returns `None` on odd length or a non-hex character.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    // Sized once: collecting through `Option` would grow the vector step by step, and
    // every digest of every ledger entry passes through here when a ledger is read.
    let mut out = vec![0u8; bytes.len() / 2];
    decode_into(bytes, &mut out)?;
    Some(out)
}

/// Decodes exactly `N` bytes of hex, without an allocation.
pub fn decode_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let bytes = text.as_bytes();
    if bytes.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    decode_into(bytes, &mut out)?;
    Some(out)
}

/// Decodes `hex` (twice as long as `out`) into `out`.
fn decode_into(hex: &[u8], out: &mut [u8]) -> Option<()> {
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(())
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let bytes = [0x00, 0x01, 0xab, 0xff];
        assert_eq!(encode(&bytes), "0001abff");
        assert_eq!(decode("0001ABff").unwrap(), bytes);
        assert_eq!(decode_array::<4>("0001abff"), Some(bytes));
    }

    #[test]
    fn rejects_bad_hex() {
        assert_eq!(decode("abc"), None);
        assert_eq!(decode("zz"), None);
        assert_eq!(decode("00zz"), None, "a bad last pair");
        assert_eq!(decode_array::<2>("00"), None);
        assert_eq!(decode_array::<2>("000000"), None, "too long");
        assert_eq!(decode_array::<2>("000"), None);
        assert_eq!(decode_array::<2>("00g0"), None);
        assert_eq!(decode_array::<2>("0-00"), None);
        assert_eq!(decode_array::<0>(""), Some([]));
    }
}
