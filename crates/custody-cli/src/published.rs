//! `custody ledger verify --url URL|DIR`: a ledger published as C2SP tlog-tiles, verified
//! from its tiles alone (`custody_store::published`), fetched over HTTP(S) or read from a
//! directory. This module is the transport and the rendering; the checks are the library's.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use custody_core::keys::VerifierKey;
use custody_store::published::{self, read_bounded, DirSource, FetchError, Source};

use crate::cmd_ledger::LedgerFindingJson;
use crate::{output, Outcome};

/// How long one HTTP request may take, connection to last byte.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(120);

/// A published ledger served over HTTP(S) under a URL prefix.
struct HttpSource {
    prefix: String,
    agent: ureq::Agent,
}

impl HttpSource {
    fn new(prefix: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(FETCH_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            prefix: prefix.trim_end_matches('/').to_owned(),
            agent,
        }
    }
}

impl Source for HttpSource {
    fn fetch(&mut self, path: &str, limit: u64) -> Result<Option<Vec<u8>>, FetchError> {
        let url = format!("{}/{path}", self.prefix);
        let transport = |e: ureq::Error| FetchError::Transport {
            path: path.to_owned(),
            source: Box::new(e),
        };
        let mut response = self.agent.get(&url).call().map_err(transport)?;
        match response.status().as_u16() {
            200 => read_bounded(response.body_mut().as_reader(), path, limit).map(Some),
            404 | 410 => Ok(None),
            status => Err(FetchError::Status {
                path: path.to_owned(),
                status,
            }),
        }
    }
    fn open(&mut self, path: &str) -> Result<Option<Box<dyn std::io::Read>>, FetchError> {
        let url = format!("{}/{path}", self.prefix);
        let transport = |e: ureq::Error| FetchError::Transport {
            path: path.to_owned(),
            source: Box::new(e),
        };
        let response = self.agent.get(&url).call().map_err(transport)?;
        match response.status().as_u16() {
            // Unlimited here: the caller reads one bounded entry at a time.
            200 => Ok(Some(Box::new(response.into_body().into_reader()))),
            404 | 410 => Ok(None),
            status => Err(FetchError::Status {
                path: path.to_owned(),
                status,
            }),
        }
    }
}

/// Where seen checkpoints are kept by default.
fn default_seen_dir() -> Option<PathBuf> {
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(dir) = non_empty("CUSTODY_SEEN_DIR") {
        return Some(dir.into());
    }
    if let Some(state) = non_empty("XDG_STATE_HOME") {
        return Some(PathBuf::from(state).join("custody/seen-checkpoints"));
    }
    non_empty("HOME").map(|h| PathBuf::from(h).join(".local/state/custody/seen-checkpoints"))
}

/// A published ledger (`http(s)://` URL prefix or directory) copied into `work` and
/// verified there (`custody_store::published::verify_published`); the seen-checkpoint
/// directory defaults as for `ledger verify --url`. Also returns the seen directory used.
pub fn fetch_and_verify(
    location: &str,
    key: &VerifierKey,
    seen_dir: Option<PathBuf>,
    outside: &[String],
    work: &std::path::Path,
) -> (
    Option<PathBuf>,
    Result<published::PublishedReport, published::PublishedError>,
) {
    let seen_dir = seen_dir.or_else(default_seen_dir);
    let mut source: Box<dyn Source> =
        if location.starts_with("http://") || location.starts_with("https://") {
            Box::new(HttpSource::new(location))
        } else {
            Box::new(DirSource::new(location))
        };
    let result =
        published::verify_published(source.as_mut(), key, seen_dir.as_deref(), outside, work);
    (seen_dir, result)
}

/// Prints the verdict on a publication that did not verify (exit 1).
pub fn report_publication_failure(
    location: &str,
    error: &published::PublishedError,
    json: bool,
) -> anyhow::Result<Outcome> {
    let message = error.to_string();
    if json {
        output::print_json(&serde_json::json!({
            "url": location,
            "verdict": output::Verdict::of(false),
            "findings": [{"code": error.code(), "message": message}],
        }))?;
    } else {
        output::verdict(&format!(
            "FAILED: {}\n{}",
            output::escape(location),
            output::line(&format!("  - {message}"))
        ))?;
    }
    Ok(Outcome::Failed)
}

/// Runs the verification and prints the verdict.
pub fn verify_url(
    location: &str,
    log_key: &str,
    seen_dir: Option<PathBuf>,
    files: &[PathBuf],
    json: bool,
) -> anyhow::Result<Outcome> {
    let key: VerifierKey = log_key
        .parse()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("--log-verifier-key {log_key:?} is not a verifier key"))?;
    let mut outside = Vec::with_capacity(files.len());
    for path in files {
        outside.push(
            crate::cmd_ledger::read_checkpoint_file(path)
                .with_context(|| format!("cannot read checkpoint file {}", path.display()))?,
        );
    }
    let work = tempfile::tempdir().context("cannot create a temporary directory")?;
    let (seen_dir, result) = fetch_and_verify(location, &key, seen_dir, &outside, work.path());
    let report = match result {
        Ok(report) => report,
        Err(e) if e.is_verification_failure() => {
            return report_publication_failure(location, &e, json);
        }
        Err(e) => {
            return Err(anyhow::Error::new(e))
                .with_context(|| format!("cannot verify the ledger published at {location}"))
        }
    };
    let verified = report.report.is_clean();
    let messages: Vec<String> = report
        .report
        .findings
        .iter()
        .map(ToString::to_string)
        .collect();
    if json {
        let findings: Vec<LedgerFindingJson<'_>> = report
            .report
            .findings
            .iter()
            .zip(&messages)
            .map(|(finding, message)| LedgerFindingJson { finding, message })
            .collect();
        output::print_json(&serde_json::json!({
            "url": location,
            "verdict": output::Verdict::of(verified),
            "origin": report.checkpoint.origin,
            "size": report.report.size,
            "checkpoint": report.note,
            "seen_checkpoints": report.seen,
            "newly_seen": report.newly_seen,
            "outside_checkpoints_given": files.len(),
            "seen_dir": seen_dir,
            "findings": findings,
        }))?;
    } else if verified {
        output::verdict(&output::line(&format!(
            "verified: {location} ({} entries, origin {}; consistent with {} checkpoint(s) seen before and {} given)",
            report.report.size,
            report.checkpoint.origin,
            report.seen,
            files.len()
        )))?;
    } else {
        let mut text = output::line(&format!(
            "FAILED: {location} ({} entries): {} finding(s)",
            report.report.size,
            messages.len()
        ));
        for m in &messages {
            text.push_str(&output::line(&format!("  - {m}")));
        }
        output::verdict(&text)?;
    }
    Ok(if verified {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}
