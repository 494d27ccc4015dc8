//! Formatting the tag files of a BagIt 1.0 bag: `bagit.txt`, `bag-info.txt`, manifests.
//!
//! The output is what stock validators (`bagit.py --validate`, the Library of Congress
//! tools) accept: UTF-8 without a byte-order mark, LF line endings, manifest paths
//! percent-encoded as RFC 8493 §2.1.3 requires.

use std::borrow::Cow;
use std::fmt::Write as _;

/// The exact bytes of a BagIt 1.0 `bagit.txt`.
pub const BAGIT_TXT: &str = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";

/// A `bag-info.txt` label or value that cannot be written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BagInfoError {
    /// The label is empty, has a colon, a line break, or leading/trailing whitespace.
    #[error("bag-info.txt: label {label:?} is not valid")]
    BadLabel {
        /// The label.
        label: String,
    },
    /// The value contains a line break or other control character.
    #[error("bag-info.txt: value of {label} contains a control character")]
    BadValue {
        /// The label.
        label: String,
    },
}

/// The metadata of `bag-info.txt`: labelled values in the order they will be written.
/// Labels may repeat (RFC 8493 §2.2.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BagInfo {
    entries: Vec<(String, String)>,
}

impl BagInfo {
    /// An empty set of labels.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `label: value`, checking that both can be written faithfully.
    pub fn push(&mut self, label: &str, value: &str) -> Result<(), BagInfoError> {
        let bad_label = label.is_empty()
            || label.contains(':')
            || label.trim() != label
            || label.chars().any(char::is_control);
        if bad_label {
            return Err(BagInfoError::BadLabel {
                label: label.to_owned(),
            });
        }
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(BagInfoError::BadValue {
                label: label.to_owned(),
            });
        }
        self.entries.push((label.to_owned(), value.to_owned()));
        Ok(())
    }

    /// Sorts the entries by label (stable, so repeated labels keep their order).
    pub fn sort(&mut self) {
        self.entries.sort_by(|a, b| a.0.cmp(&b.0));
    }

    /// The entries in order.
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// Formats the file. With `wrap = Some(width)`, values longer than the line allows
    /// are folded at spaces onto continuation lines indented by two spaces (which readers
    /// unfold to a single space); a word longer than the width is never split.
    pub fn to_text(&self, wrap: Option<usize>) -> String {
        let mut out = String::new();
        for (label, value) in &self.entries {
            let mut line = format!("{label}: ");
            let mut first_word = true;
            for word in value.split(' ') {
                let fits = wrap.is_none_or(|w| line.chars().count() + word.chars().count() < w);
                if !first_word && !fits {
                    out.push_str(line.trim_end_matches(' '));
                    out.push('\n');
                    line = String::from("  ");
                } else if !first_word {
                    line.push(' ');
                }
                line.push_str(word);
                first_word = false;
            }
            out.push_str(line.trim_end_matches(' '));
            out.push('\n');
        }
        out
    }
}

/// The `Payload-Oxum` value: `octets.streamcount`.
pub fn payload_oxum(octets: u64, files: u64) -> String {
    format!("{octets}.{files}")
}

/// Percent-encodes a path for a manifest line (RFC 8493 §2.1.3): `%` as `%25`, LF as
/// `%0A`, CR as `%0D`; nothing else changes.
pub fn encode_manifest_path(path: &str) -> Cow<'_, str> {
    if !path.contains(['%', '\n', '\r']) {
        return Cow::Borrowed(path);
    }
    let mut out = String::with_capacity(path.len() + 8);
    for c in path.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\n' => out.push_str("%0A"),
            '\r' => out.push_str("%0D"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Reverses [`encode_manifest_path`] (hex digits in either case). Other `%` sequences are
/// left as they are, as RFC 8493 defines no others.
pub fn decode_manifest_path(path: &str) -> Cow<'_, str> {
    if !path.contains('%') {
        return Cow::Borrowed(path);
    }
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 3).map(str::to_ascii_uppercase);
        let decoded = match code.as_deref() {
            Some("25") => Some('%'),
            Some("0A") => Some('\n'),
            Some("0D") => Some('\r'),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[i + 3..];
            }
            None => {
                out.push('%');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Formats a manifest (`manifest-<alg>.txt` or `tagmanifest-<alg>.txt`): one
/// `<hex digest>  <encoded path>` line per entry, sorted by path so the bytes are
/// reproducible.
pub fn manifest_text<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut lines: Vec<(&str, &str)> = entries.into_iter().collect();
    lines.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    for (path, digest) in lines {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{digest}  {}", encode_manifest_path(path));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn manifest_paths_are_percent_encoded() {
        let text = manifest_text([("data/b%\n\r.txt", "00"), ("data/a.txt", "11")]);
        assert_eq!(text, "11  data/a.txt\n00  data/b%25%0A%0D.txt\n");
    }

    #[test]
    fn decode_accepts_lower_case_and_leaves_unknown_escapes() {
        assert_eq!(decode_manifest_path("a%0a%0d%25%41%"), "a\n\r%%41%");
    }

    #[test]
    fn bag_info_wraps_long_values_at_spaces() {
        let mut info = BagInfo::new();
        info.push("External-Description", "one two three four five")
            .unwrap();
        assert_eq!(
            info.to_text(Some(30)),
            "External-Description: one two\n  three four five\n"
        );
        assert_eq!(
            info.to_text(None),
            "External-Description: one two three four five\n"
        );
    }

    #[test]
    fn fail_bag_info_label_with_colon() {
        assert_eq!(
            BagInfo::new().push("A:B", "x"),
            Err(BagInfoError::BadLabel {
                label: "A:B".into()
            })
        );
    }

    #[test]
    fn fail_bag_info_value_with_newline() {
        assert!(matches!(
            BagInfo::new().push("Label", "a\nb"),
            Err(BagInfoError::BadValue { .. })
        ));
    }

    proptest! {
        #[test]
        fn manifest_path_round_trips(path in "\\PC*|[%\r\na-z]*") {
            let encoded = encode_manifest_path(&path);
            prop_assert!(!encoded.contains(['\n', '\r']));
            prop_assert_eq!(decode_manifest_path(&encoded).into_owned(), path.clone());
        }
    }
}
