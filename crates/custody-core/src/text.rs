//! Which characters from a ledger or a package may not be shown as themselves: the one list
//! the terminal output and the HTML report both escape by.

/// Whether `c` must not be shown as itself: C0 controls (including tab, CR and LF), DEL, C1
/// controls (including NEL and CSI), the line and paragraph separators, bidi embeddings,
/// overrides, isolates and marks, and the other invisible format characters (zero-width
/// spaces and joiners, word joiner and invisible operators, soft hyphen, byte-order mark,
/// Mongolian vowel separator, interlinear annotation, tag characters). Such characters can
/// rewrite a terminal line, forge a verdict, or show `exe.txt` for `txt.exe`.
pub fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{ad}'
        | '\u{61c}'
        | '\u{180e}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{e0000}'..='\u{e007f}')
}

#[cfg(test)]
mod tests {
    use super::needs_escape;

    #[test]
    fn controls_bidi_and_invisible_characters_are_named_and_text_is_not() {
        for c in [
            '\n',
            '\t',
            '\u{1b}',
            '\u{7f}',
            '\u{9b}',
            '\u{202e}',
            '\u{2066}',
            '\u{200b}',
            '\u{feff}',
            '\u{e0041}',
        ] {
            assert!(needs_escape(c), "{c:?}");
        }
        for c in ['a', 'é', 'Ω', '杜', ' ', '<', '\u{1f600}'] {
            assert!(!needs_escape(c), "{c:?}");
        }
    }
}
