//! Rendering helpers shared by the commands: terminal escaping, stdout writing that
//! tolerates a closed pipe, JSON output and terminal progress bars.
//!
//! Strings from a package or a ledger (item ids, file names, authorities, notes, key names,
//! findings that quote them) may hold bytes meant for the terminal rather than the reader:
//! ESC sequences that move the cursor or rewrite a line, carriage returns, bidi overrides
//! that show `exe.txt` for `txt.exe`, newlines that forge a `VERIFIED` line. Every text a
//! command shows passes through [`escape`] on its way out: lines built from outside values
//! are escaped whole by [`line`] (so a newline inside a value cannot end the line), and
//! [`print`] / [`eprint`] escape whatever reaches them line by line. `--json` output is
//! written by [`print_json`] with the raw values (JSON string escaping applies there).
//!
//! How much a command says is one process-wide [`Verbosity`], set once from `-q` / `-v`:
//! [`print`] is what a command says about its work (silent under `-q`), [`data`] what it
//! was asked to produce (a listing, a note, a proof; always written), [`verdict`] the one
//! line a verifying command always prints, [`warn`] a warning on stderr (silent under `-q`),
//! [`detail`] per-step detail on stderr (only under `-v`); errors ([`eprint`]) and `--json`
//! documents are always written. Progress bars appear only on a terminal and never under
//! `-q`.

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

/// Whether the error chain is a broken pipe on stdout (e.g. `custody log | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// The whole error chain on one line, `outer: cause: cause`, leaving out a cause whose text
/// an outer message already quotes (library errors often name their source in their message).
pub fn error_chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

pub use custody_core::text::needs_escape;

/// `text` with every character [`needs_escape`] names shown as a visible Rust-style escape
/// (`\u{1b}`, `\u{202e}`, `\u{a}`); every other character is kept. The one escaping
/// function of the command-line interface.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One line of terminal output: `text` escaped whole, then the line's own newline. Build
/// every line that shows an outside value with this, so nothing inside the value can end it.
pub fn line(text: &str) -> String {
    let mut out = escape(text).into_owned();
    out.push('\n');
    out
}

/// [`escape`] applied to each line of `text`, keeping the line breaks themselves.
fn escape_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && needs_escape(c)) {
        return Cow::Borrowed(text);
    }
    let escaped: Vec<Cow<'_, str>> = text.split('\n').map(escape).collect();
    Cow::Owned(escaped.join("\n"))
}

/// How much a command prints, from the global `-q` / `-v` flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: errors and a verifying command's verdict line only; nothing else on success.
    Quiet,
    /// The default.
    Normal,
    /// `-v`: also per-step detail on stderr.
    Verbose,
}

static VERBOSITY: AtomicU8 = AtomicU8::new(Verbosity::Normal as u8);

/// Sets the process-wide verbosity (once, from the command line).
pub fn set_verbosity(verbosity: Verbosity) {
    VERBOSITY.store(verbosity as u8, Ordering::Relaxed);
}

/// The process-wide verbosity.
pub fn verbosity() -> Verbosity {
    match VERBOSITY.load(Ordering::Relaxed) {
        0 => Verbosity::Quiet,
        2 => Verbosity::Verbose,
        _ => Verbosity::Normal,
    }
}

/// Writes `text` to stdout, each line escaped for the terminal, returning the I/O error (so a
/// broken pipe ends the command quietly). Nothing under `-q`.
pub fn print(text: &str) -> io::Result<()> {
    if verbosity() == Verbosity::Quiet {
        return Ok(());
    }
    print_raw(&escape_lines(text))
}

/// Writes a verifying command's verdict to stdout, escaped as [`print`] does: the one line
/// that `-q` keeps.
pub fn verdict(text: &str) -> io::Result<()> {
    print_raw(&escape_lines(text))
}

/// Writes what the command was asked to produce (a listing, a checkpoint note, a proof, a
/// digest) to stdout, escaped as [`print`] does. Kept under `-q`: quiet silences what a
/// command says about its work, never its product (`custody -q checkpoint > note` must
/// not save an empty note).
pub fn data(text: &str) -> io::Result<()> {
    print_raw(&escape_lines(text))
}

/// `custody: warning: <text>` on stderr, escaped; nothing under `-q`.
pub fn warn(text: &str) {
    if verbosity() != Verbosity::Quiet {
        eprint(&line(&format!("custody: warning: {text}")));
    }
}

/// Per-step detail on stderr, escaped; only under `-v`.
pub fn detail(text: &str) {
    if verbosity() == Verbosity::Verbose {
        eprint(&line(text));
    }
}

/// A byte count for people: `512 B`, or `1.5 MiB (1572864 bytes)` (the exact count kept).
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    // Display only: the exact count follows in parentheses.
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {} ({bytes} bytes)", UNITS[unit])
}

/// A time from a ledger or a package as people read it everywhere in text output: RFC 3339
/// in UTC to the second (`2026-03-01T08:30:00Z`), then the original offset in parentheses
/// when the value carried another one (`2026-03-01T08:30:00Z (+01:00)`). Fractional
/// seconds are left out here; `--json` keeps the value as signed. Text that is not an
/// RFC 3339 time is returned as it is.
pub fn time(value: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    let Ok(parsed) = time::OffsetDateTime::parse(value, &Rfc3339) else {
        return value.to_owned();
    };
    let Some(utc) = parsed.checked_to_offset(time::UtcOffset::UTC) else {
        return value.to_owned();
    };
    let mut text = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    );
    let offset = parsed.offset();
    if !offset.is_utc() {
        let (h, m, _) = offset.as_hms();
        let sign = if offset.is_negative() { '-' } else { '+' };
        text.push_str(&format!(
            " ({sign}{:02}:{:02})",
            h.unsigned_abs(),
            m.unsigned_abs()
        ));
    }
    text
}

/// `label: value` lines with the values aligned in one column, each line escaped whole
/// (values come from ledgers and packages). Labels are the command's own words.
pub fn fields(indent: &str, rows: &[(&str, String)]) -> String {
    let width = rows
        .iter()
        .map(|(label, _)| label.chars().count() + 1)
        .max()
        .unwrap_or(0);
    rows.iter()
        .map(|(label, value)| line(&format!("{indent}{:<width$} {value}", format!("{label}:"))))
        .collect()
}

/// Writes a message to stderr, escaped for the terminal as [`print`] does.
pub fn eprint(text: &str) {
    let mut err = io::stderr().lock();
    // Nothing sensible is left to do when stderr itself cannot be written.
    let _ = err.write_all(escape_lines(text).as_bytes());
    let _ = err.flush();
}

fn print_raw(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Writes `value` as pretty JSON plus a newline, with the raw values (a JSON reader sees what
/// the package or ledger holds; JSON escapes control characters in strings itself).
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    print_raw(&text)?;
    Ok(())
}

/// `"verified"` or `"failed"`: the verdict of every verifying command's JSON
/// (docs/json.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Everything checked out (exit 0).
    Verified,
    /// The verification ran and found problems (exit 1).
    Failed,
}

impl Verdict {
    /// The verdict of a check that passed when `ok`.
    pub fn of(ok: bool) -> Verdict {
        if ok {
            Verdict::Verified
        } else {
            Verdict::Failed
        }
    }
}

/// An evidence item in the JSON vocabulary: `{id, path, size, sha256, blake3}`, and
/// `files` (how many) for a directory item.
#[derive(serde::Serialize)]
pub struct ItemJson<'a> {
    /// The item id.
    pub id: &'a str,
    /// Where its bytes are (a bag path in a package, a file path in a ledger event).
    pub path: &'a str,
    /// Size in bytes (a directory item: the sum of its files).
    pub size: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
    /// BLAKE3, lower-case hex.
    pub blake3: String,
    /// How many files a directory item holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<usize>,
}

impl<'a> ItemJson<'a> {
    /// A package statement's item.
    pub fn from_package(item: &'a custody_pack::package::PackageItem) -> ItemJson<'a> {
        ItemJson {
            id: &item.id,
            path: &item.path,
            size: item.size,
            sha256: custody_core::hex::encode(&item.sha256),
            blake3: custody_core::hex::encode(&item.blake3),
            files: item.files.as_ref().map(Vec::len),
        }
    }
}

/// A signer in the JSON vocabulary: `{name, key_id, key}` (and `trusted` where a trust
/// decision was made), from a C2SP verifier key.
#[derive(serde::Serialize)]
pub struct SignerJson {
    /// The key's name.
    pub name: String,
    /// The 4-byte key ID, 8 hex digits.
    pub key_id: String,
    /// The verifier key, `name+keyid+base64`.
    pub key: String,
}

impl SignerJson {
    /// The signer shape of `key`.
    pub fn new(key: &custody_core::keys::VerifierKey) -> SignerJson {
        SignerJson {
            name: key.name.clone(),
            key_id: custody_core::hex::encode(&key.key_id()),
            key: key.to_string(),
        }
    }
}

/// A short, stable name for what kind of error ended a command, for `--json` error
/// objects: `usage`, `not_found`, `permission_denied`, `io`, or `failed` (the input was
/// malformed or the request was refused).
pub fn error_code(err: &anyhow::Error) -> &'static str {
    let missing_ledger = err.chain().any(|c| {
        matches!(
            c.downcast_ref::<custody_store::StoreError>(),
            Some(custody_store::StoreError::NoLedger { .. })
        )
    });
    let missing_key = err.chain().any(|c| {
        matches!(
            c.downcast_ref::<custody_core::keys::KeyError>(),
            Some(custody_core::keys::KeyError::NoSuchKey { .. })
        )
    });
    if missing_ledger || missing_key {
        return "not_found";
    }
    let io = err.chain().find_map(|c| c.downcast_ref::<io::Error>());
    match io.map(io::Error::kind) {
        Some(io::ErrorKind::NotFound) => "not_found",
        Some(io::ErrorKind::PermissionDenied) => "permission_denied",
        Some(io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput) | None => "failed",
        Some(_) => "io",
    }
}

/// Writes `{"error": {"code", "message"}}` on one line to stderr: how a command run with
/// `--json` reports that it could not run.
pub fn eprint_json_error(code: &str, message: &str) {
    let value = serde_json::json!({ "error": { "code": code, "message": message } });
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{value}");
    let _ = err.flush();
}

static SHARED_BAR: std::sync::OnceLock<ProgressBar> = std::sync::OnceLock::new();

/// A byte-count progress bar that [`advance_shared`] moves: for library work that reports
/// progress through a plain function (one such bar per process). `total` must count the
/// same bytes the library reports; `None` when that is not known beforehand (the bar then
/// counts without a total).
pub fn shared_progress(total: Option<u64>, label: &str) -> ProgressBar {
    SHARED_BAR
        .get_or_init(|| match total {
            Some(total) => byte_progress(total, label),
            None => byte_counter(label),
        })
        .clone()
}

/// Whether a progress bar would be shown (stderr is a terminal and `-q` is not given):
/// work done only to size a bar is skipped otherwise.
pub fn progress_visible() -> bool {
    verbosity() != Verbosity::Quiet && io::stderr().is_terminal()
}

/// A byte counter without a total, for work whose size is not known beforehand; hidden
/// as [`byte_progress`] is.
pub fn byte_counter(label: &str) -> ProgressBar {
    if !progress_visible() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::no_length();
    bar.set_style(
        ProgressStyle::with_template("{msg:30!} {bytes} {binary_bytes_per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(label.to_owned());
    bar
}

/// Moves the bar made by [`shared_progress`], if any, by `bytes`.
pub fn advance_shared(bytes: u64) {
    if let Some(bar) = SHARED_BAR.get() {
        bar.inc(bytes);
    }
}

/// A byte-count progress bar on stderr when stderr is a terminal and `-q` is not given;
/// hidden otherwise. Its total and its position must count the same bytes.
pub fn byte_progress(total: u64, label: &str) -> ProgressBar {
    if !progress_visible() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:30!} {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(label.to_owned());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read pkg.zip: {source}")]
    struct ReadError {
        source: io::Error,
    }

    #[test]
    fn error_chain_names_each_cause_once() {
        let inner = io::Error::new(io::ErrorKind::NotFound, "no such file");
        let err = anyhow::Error::new(ReadError { source: inner }).context("cannot verify");
        assert_eq!(
            error_chain(&err),
            "cannot verify: cannot read pkg.zip: no such file"
        );
        let plain = anyhow::anyhow!("first").context("second");
        assert_eq!(error_chain(&plain), "second: first");
    }

    #[test]
    fn fail_terminal_controls_are_shown_escaped() {
        assert_eq!(escape("E1"), "E1");
        assert_eq!(escape("C:\\cases\\disk.img"), "C:\\cases\\disk.img");
        assert_eq!(escape("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(escape("x\ny\rz\t"), "x\\u{a}y\\u{d}z\\u{9}");
        assert_eq!(escape("\u{9b}31m\u{7f}\u{85}"), "\\u{9b}31m\\u{7f}\\u{85}");
        assert_eq!(escape("invoice\u{202e}fdp.exe"), "invoice\\u{202e}fdp.exe");
        for c in [
            '\u{202a}',
            '\u{202b}',
            '\u{202c}',
            '\u{202d}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{200b}',
            '\u{200e}',
            '\u{feff}',
            '\u{2028}',
            '\u{e0041}',
            '\u{0}',
        ] {
            let text = c.to_string();
            assert_eq!(escape(&text), format!("\\u{{{:x}}}", u32::from(c)));
        }
        // Visible text in any script is kept as it is.
        assert_eq!(escape("Préfecture — 東京 ✓"), "Préfecture — 東京 ✓");
    }

    #[test]
    fn times_are_shown_in_one_format() {
        assert_eq!(time("2026-03-01T08:30:00Z"), "2026-03-01T08:30:00Z");
        assert_eq!(
            time("2026-12-02T01:48:11.328358286Z"),
            "2026-12-02T01:48:11Z"
        );
        assert_eq!(
            time("2026-03-01T09:30:00+01:00"),
            "2026-03-01T08:30:00Z (+01:00)"
        );
        assert_eq!(
            time("2026-03-01T00:15:00-03:30"),
            "2026-03-01T03:45:00Z (-03:30)"
        );
        assert_eq!(time("2026-03-01"), "2026-03-01");
        assert_eq!(time("not a time\n"), "not a time\n");
    }

    #[test]
    fn sizes_keep_the_exact_count() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1024), "1.0 KiB (1024 bytes)");
        assert_eq!(size(314_572_800), "300.0 MiB (314572800 bytes)");
        assert_eq!(size(u64::MAX), "16.0 EiB (18446744073709551615 bytes)");
    }

    #[test]
    fn fields_are_aligned_and_escaped() {
        let text = fields(
            "  ",
            &[
                ("sender", "Parquet de Paris".to_owned()),
                ("use limitations", "a\nb".to_owned()),
            ],
        );
        assert_eq!(
            text,
            "  sender:          Parquet de Paris\n  use limitations: a\\u{a}b\n"
        );
    }

    #[test]
    fn fail_a_value_cannot_end_its_line() {
        assert_eq!(line("item E1\nVERIFIED"), "item E1\\u{a}VERIFIED\n");
        assert_eq!(escape_lines("a\u{1b}\nb\n"), "a\\u{1b}\nb\n");
    }
}
