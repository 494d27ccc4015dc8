//! The text encodings a bag's `Tag-File-Character-Encoding` may name (RFC 8493 §2.1.1:
//! an IANA character-set name), and strict decoding of tag files in them.
//!
//! UTF-8, ISO-8859-1, US-ASCII and the UTF-16 and UTF-32 forms are decoded here, exactly
//! as their standards define them (the WHATWG Encoding Standard, which `encoding_rs`
//! implements, reads `ISO-8859-1` and `US-ASCII` as windows-1252, which differs in
//! 0x80–0x9F, and has no UTF-32); every other encoding the Encoding Standard knows is
//! decoded by `encoding_rs`. A byte sequence that is not valid in the encoding is
//! refused, never replaced.

use std::fmt;

/// A text encoding for tag files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TagEncoding {
    /// UTF-8.
    Utf8,
    /// ISO-8859-1 (Latin-1): every byte is the code point of the same value.
    Latin1,
    /// US-ASCII: bytes 0x00–0x7F only.
    Ascii,
    /// UTF-16 with the byte order its byte-order mark states; big-endian without one
    /// (RFC 2781 §4.3). The mark is not part of the text.
    Utf16,
    /// UTF-16, little-endian.
    Utf16Le,
    /// UTF-16, big-endian.
    Utf16Be,
    /// UTF-32 with the byte order its byte-order mark states; big-endian without one
    /// (as for UTF-16). The mark is not part of the text.
    Utf32,
    /// UTF-32, little-endian.
    Utf32Le,
    /// UTF-32, big-endian.
    Utf32Be,
    /// Another encoding of the WHATWG Encoding Standard (e.g. `windows-1252`,
    /// `Shift_JIS`, `ISO-8859-15`), decoded by `encoding_rs`.
    Other(&'static encoding_rs::Encoding),
}

impl TagEncoding {
    /// Parses a `Tag-File-Character-Encoding` value (case-insensitive; IANA names and
    /// their common aliases). `None` for a name no decoder here implements (e.g. UTF-32,
    /// EBCDIC).
    pub fn from_label(label: &str) -> Option<TagEncoding> {
        let label = label.trim();
        let folded: String = label
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ':' | ' '))
            .collect::<String>()
            .to_ascii_lowercase();
        let own = match folded.as_str() {
            "utf8" => Some(TagEncoding::Utf8),
            "iso88591" | "iso885911987" | "latin1" | "l1" | "isoir100" | "cp819" | "ibm819"
            | "csisolatin1" | "iso8859" => Some(TagEncoding::Latin1),
            "usascii" | "ascii" | "ansix3.41968" | "iso646us" | "csascii" | "us" => {
                Some(TagEncoding::Ascii)
            }
            "utf16" => Some(TagEncoding::Utf16),
            "utf16le" => Some(TagEncoding::Utf16Le),
            "utf16be" => Some(TagEncoding::Utf16Be),
            "utf32" => Some(TagEncoding::Utf32),
            "utf32le" => Some(TagEncoding::Utf32Le),
            "utf32be" => Some(TagEncoding::Utf32Be),
            _ => None,
        };
        if own.is_some() {
            return own;
        }
        let encoding = encoding_rs::Encoding::for_label_no_replacement(label.as_bytes())?;
        if encoding == encoding_rs::X_USER_DEFINED {
            // Maps bytes to the Private Use Area: not a character set anyone declares.
            return None;
        }
        Some(if encoding == encoding_rs::UTF_8 {
            TagEncoding::Utf8
        } else if encoding == encoding_rs::UTF_16LE {
            TagEncoding::Utf16Le
        } else if encoding == encoding_rs::UTF_16BE {
            TagEncoding::Utf16Be
        } else {
            TagEncoding::Other(encoding)
        })
    }

    /// The encoding's name, as findings and JSON reports give it.
    pub fn name(self) -> &'static str {
        match self {
            TagEncoding::Utf8 => "UTF-8",
            TagEncoding::Latin1 => "ISO-8859-1",
            TagEncoding::Ascii => "US-ASCII",
            TagEncoding::Utf16 => "UTF-16",
            TagEncoding::Utf16Le => "UTF-16LE",
            TagEncoding::Utf16Be => "UTF-16BE",
            TagEncoding::Utf32 => "UTF-32",
            TagEncoding::Utf32Le => "UTF-32LE",
            TagEncoding::Utf32Be => "UTF-32BE",
            TagEncoding::Other(encoding) => encoding.name(),
        }
    }

    /// Decodes `bytes`, or `None` if they are not valid in this encoding. A UTF-16 or
    /// UTF-32 byte-order mark is consumed; a UTF-8 one is the caller's business.
    pub fn decode(self, bytes: &[u8]) -> Option<String> {
        match self {
            TagEncoding::Utf8 => String::from_utf8(bytes.to_vec()).ok(),
            TagEncoding::Latin1 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
            TagEncoding::Ascii => bytes
                .is_ascii()
                .then(|| bytes.iter().map(|&b| char::from(b)).collect()),
            TagEncoding::Utf16 => match bytes {
                [0xFF, 0xFE, rest @ ..] => decode_utf16(rest, false),
                [0xFE, 0xFF, rest @ ..] => decode_utf16(rest, true),
                _ => decode_utf16(bytes, true),
            },
            TagEncoding::Utf16Le => {
                decode_utf16(bytes.strip_prefix(&[0xFF, 0xFE]).unwrap_or(bytes), false)
            }
            TagEncoding::Utf16Be => {
                decode_utf16(bytes.strip_prefix(&[0xFE, 0xFF]).unwrap_or(bytes), true)
            }
            TagEncoding::Utf32 => match bytes {
                [0xFF, 0xFE, 0, 0, rest @ ..] => decode_utf32(rest, false),
                [0, 0, 0xFE, 0xFF, rest @ ..] => decode_utf32(rest, true),
                _ => decode_utf32(bytes, true),
            },
            TagEncoding::Utf32Le => decode_utf32(
                bytes.strip_prefix(&[0xFF, 0xFE, 0, 0]).unwrap_or(bytes),
                false,
            ),
            TagEncoding::Utf32Be => decode_utf32(
                bytes.strip_prefix(&[0, 0, 0xFE, 0xFF]).unwrap_or(bytes),
                true,
            ),
            TagEncoding::Other(encoding) => encoding
                .decode_without_bom_handling_and_without_replacement(bytes)
                .map(|text| text.into_owned()),
        }
    }
}

/// Strict UTF-16: an odd length or an unpaired surrogate is refused.
fn decode_utf16(bytes: &[u8], big_endian: bool) -> Option<String> {
    if bytes.len() % 2 != 0 {
        return None;
    }
    let units = bytes.chunks_exact(2).map(|pair| {
        let pair = [pair[0], pair[1]];
        if big_endian {
            u16::from_be_bytes(pair)
        } else {
            u16::from_le_bytes(pair)
        }
    });
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .ok()
}

/// Strict UTF-32: a length that is not a multiple of 4, or a unit that is not a Unicode
/// scalar value (a surrogate, or above U+10FFFF), is refused.
fn decode_utf32(bytes: &[u8], big_endian: bool) -> Option<String> {
    if bytes.len() % 4 != 0 {
        return None;
    }
    bytes
        .chunks_exact(4)
        .map(|unit| {
            let unit = [unit[0], unit[1], unit[2], unit[3]];
            char::from_u32(if big_endian {
                u32::from_be_bytes(unit)
            } else {
                u32::from_le_bytes(unit)
            })
        })
        .collect()
}

impl fmt::Display for TagEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for TagEncoding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(TagEncoding::from_label("UTF-8"), Some(TagEncoding::Utf8));
        assert_eq!(TagEncoding::from_label("utf8"), Some(TagEncoding::Utf8));
        assert_eq!(
            TagEncoding::from_label("iso-8859-1"),
            Some(TagEncoding::Latin1)
        );
        assert_eq!(
            TagEncoding::from_label("US-ASCII"),
            Some(TagEncoding::Ascii)
        );
        assert_eq!(TagEncoding::from_label("UTF-16"), Some(TagEncoding::Utf16));
        assert_eq!(
            TagEncoding::from_label("utf-16le"),
            Some(TagEncoding::Utf16Le)
        );
        assert_eq!(
            TagEncoding::from_label("UTF-16BE"),
            Some(TagEncoding::Utf16Be)
        );
        assert_eq!(
            TagEncoding::from_label("windows-1252").map(TagEncoding::name),
            Some("windows-1252")
        );
        assert_eq!(
            TagEncoding::from_label("Shift_JIS").map(TagEncoding::name),
            Some("Shift_JIS")
        );
    }

    #[test]
    fn fail_labels_without_a_decoder() {
        for label in ["EBCDIC", "UTF-7", "x-user-defined", "iso-2022-kr", ""] {
            assert_eq!(TagEncoding::from_label(label), None, "{label}");
        }
    }

    #[test]
    fn latin1_is_iso_8859_1_not_windows_1252() {
        assert_eq!(
            TagEncoding::Latin1.decode(b"caf\xe9 \x80"),
            Some("café \u{80}".into())
        );
    }

    #[test]
    fn utf16_byte_order() {
        assert_eq!(
            TagEncoding::Utf16.decode(b"\xFF\xFEa\0b\0"),
            Some("ab".into())
        );
        assert_eq!(
            TagEncoding::Utf16.decode(b"\xFE\xFF\0a\0b"),
            Some("ab".into())
        );
        assert_eq!(TagEncoding::Utf16.decode(b"\0a\0b"), Some("ab".into()));
        assert_eq!(TagEncoding::Utf16Le.decode(b"a\0b\0"), Some("ab".into()));
    }

    #[test]
    fn utf32_byte_order() {
        assert_eq!(TagEncoding::from_label("UTF-32"), Some(TagEncoding::Utf32));
        assert_eq!(
            TagEncoding::Utf32.decode(b"\xFF\xFE\0\0a\0\0\0"),
            Some("a".into())
        );
        assert_eq!(
            TagEncoding::Utf32.decode(b"\0\0\xFE\xFF\0\0\0a"),
            Some("a".into())
        );
        assert_eq!(TagEncoding::Utf32Le.decode(b"a\0\0\0"), Some("a".into()));
        assert_eq!(TagEncoding::Utf32Be.decode(b"\0\0\0a"), Some("a".into()));
    }

    #[test]
    fn fail_invalid_utf32() {
        assert_eq!(TagEncoding::Utf32Le.decode(b"a\0\0"), None);
        // A surrogate, and a value past U+10FFFF.
        assert_eq!(TagEncoding::Utf32Le.decode(b"\x00\xD8\0\0"), None);
        assert_eq!(TagEncoding::Utf32Le.decode(b"\0\0\x11\0"), None);
    }

    #[test]
    fn fail_invalid_bytes_are_refused() {
        assert_eq!(TagEncoding::Utf8.decode(b"caf\xe9"), None);
        assert_eq!(TagEncoding::Ascii.decode(b"caf\xe9"), None);
        assert_eq!(TagEncoding::Utf16Le.decode(b"a\0b"), None);
        // An unpaired high surrogate.
        assert_eq!(TagEncoding::Utf16Le.decode(b"\x00\xD8a\0"), None);
        let sjis = TagEncoding::from_label("Shift_JIS").unwrap();
        assert_eq!(sjis.decode(b"\x82\xa0"), Some("あ".into()));
        assert_eq!(sjis.decode(b"\x82"), None);
    }
}
