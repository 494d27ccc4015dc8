//! Rendering helpers shared by the commands: stdout writing that tolerates a closed pipe,
//! JSON output and terminal progress bars.

use std::io::{self, IsTerminal, Write};

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

/// Writes `text` to stdout, returning the I/O error (so a broken pipe ends the command quietly).
pub fn print(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Writes `value` as pretty JSON plus a newline.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    print(&text)?;
    Ok(())
}

static SHARED_BAR: std::sync::OnceLock<ProgressBar> = std::sync::OnceLock::new();

/// A byte-count progress bar that [`advance_shared`] moves: for library work that reports
/// progress through a plain function (one such bar per process).
pub fn shared_progress(total: u64, label: &str) -> ProgressBar {
    SHARED_BAR
        .get_or_init(|| byte_progress(total, label))
        .clone()
}

/// Moves the bar made by [`shared_progress`], if any, by `bytes`.
pub fn advance_shared(bytes: u64) {
    if let Some(bar) = SHARED_BAR.get() {
        bar.inc(bytes);
    }
}

/// A byte-count progress bar on stderr when stderr is a terminal; hidden otherwise.
pub fn byte_progress(total: u64, label: &str) -> ProgressBar {
    if !io::stderr().is_terminal() {
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
}
