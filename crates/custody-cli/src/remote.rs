//! Appending to a ledger through its server (`custody event … --server URL`): the event is
//! signed here with the actor's key, for the position the server names, and sent to it;
//! the server holds the log key and applies every rule (`custody_store::submit` is the
//! protocol). This module is the HTTP transport and the retry policy.

use std::time::Duration;

use anyhow::Context;
use custody_core::canonical;
use custody_core::keys::Identity;
use custody_store::submit::{AppendAnswer, NextPosition, APPEND_PATH, NEXT_PATH};
use custody_store::{EventDraft, Ledger, SignedEvent};

/// How long one request to the server may take, connection to last byte.
pub const SUBMIT_TIMEOUT: Duration = Duration::from_secs(120);
/// The most times an event is signed again because others appended first (`409`) or the
/// server asked to slow down (`429`), before giving up.
pub const MAX_SUBMIT_ATTEMPTS: u32 = 100;
/// The longest wait a `429` answer's `Retry-After` is followed for.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// The largest answer read from the server (a checkpoint note is at most 64 KiB).
pub const MAX_ANSWER_BYTES: u64 = 256 * 1024;

/// Marks an error met while an entry was on its way to the server: the server may have
/// appended it without the answer arriving. Every other error of [`Server::append`] comes
/// before anything was sent, or from an answer that recorded nothing.
#[derive(Debug)]
pub struct SentUnconfirmed;

impl std::fmt::Display for SentUnconfirmed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the entry was sent but no answer came")
    }
}

/// A refusal by the server, as it sent it: the HTTP status, the code and the message.
#[derive(Debug)]
pub struct Refused {
    /// HTTP status.
    pub status: u16,
    /// The error code (the ledger's, for rule refusals).
    pub code: String,
    /// The server's message.
    pub message: String,
    /// Seconds the server asked to wait (`429`).
    pub retry_after: Option<u64>,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the server refused the event: {} (HTTP {}): {}",
            self.code, self.status, self.message
        )
    }
}

impl std::error::Error for Refused {}

/// A ledger server at `base` (its URL, without the trailing `/`).
pub struct Server {
    base: String,
    agent: ureq::Agent,
}

impl Server {
    /// The server at `url`.
    pub fn new(url: &str) -> anyhow::Result<Server> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            anyhow::bail!("--server {url:?}: the URL must start with http:// or https://");
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(SUBMIT_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Server {
            base: url.trim_end_matches('/').to_owned(),
            agent,
        })
    }

    /// Where the next entry will stand.
    pub fn next_position(&self) -> anyhow::Result<NextPosition> {
        let url = format!("{}/{NEXT_PATH}", self.base);
        let mut response = self
            .agent
            .get(&url)
            .call()
            .with_context(|| format!("cannot reach {url}"))?;
        let status = response.status().as_u16();
        let wait = retry_after(&response);
        let body = read_answer(&mut response, &url)?;
        if status != 200 {
            return Err(refused(status, &body, wait).into());
        }
        serde_json::from_slice(&body).with_context(|| format!("{url}: not a position"))
    }

    /// [`Server::next_position`], waiting as the server asks when it answers `429`.
    fn patient_next_position(&self) -> anyhow::Result<NextPosition> {
        for _ in 0..MAX_SUBMIT_ATTEMPTS {
            match self.next_position() {
                Err(e) => match e.downcast_ref::<Refused>() {
                    Some(Refused {
                        status: 429,
                        retry_after,
                        ..
                    }) => std::thread::sleep(
                        Duration::from_secs(retry_after.unwrap_or(1)).min(MAX_RETRY_AFTER),
                    ),
                    _ => return Err(e),
                },
                position => return position,
            }
        }
        anyhow::bail!(
            "{}: still asked to slow down after {MAX_SUBMIT_ATTEMPTS} attempts",
            self.base
        )
    }

    /// Sends one signed entry and says what the server answered.
    pub fn send(&self, entry: &SignedEvent) -> anyhow::Result<Answer> {
        let url = format!("{}/{APPEND_PATH}", self.base);
        let bytes = canonical::to_canonical_vec(entry)?;
        let mut response = self
            .agent
            .post(&url)
            .content_type("application/json")
            .send(&bytes[..])
            .with_context(|| format!("cannot reach {url}"))?;
        let status = response.status().as_u16();
        let wait = retry_after(&response);
        let body = read_answer(&mut response, &url)?;
        if status == 200 {
            let answer: AppendAnswer = serde_json::from_slice(&body)
                .with_context(|| format!("{url}: not an append answer"))?;
            return Ok(Answer::Appended(answer));
        }
        let next = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| serde_json::from_value::<NextPosition>(v.get("next")?.clone()).ok());
        Ok(match (status, next) {
            (409, Some(next)) => Answer::Stale(next),
            (429, _) => Answer::SlowDown(Duration::from_secs(wait.unwrap_or(1))),
            _ => Answer::Refused(refused(status, &body, wait)),
        })
    }

    /// Signs `draft` with `signer` for the next position and appends it, signing again
    /// when others appended first; the entry's seq and the checkpoint after it.
    pub fn append(&self, draft: &EventDraft, signer: &Identity) -> anyhow::Result<AppendAnswer> {
        let mut position = self.patient_next_position()?;
        for attempt in 0..MAX_SUBMIT_ATTEMPTS {
            let entry = Ledger::sign_at(&position, draft.clone(), signer)?;
            match self.send(&entry).context(SentUnconfirmed)? {
                Answer::Appended(answer) => {
                    if answer.seq != position.seq {
                        anyhow::bail!(
                            "the server says it appended the event signed for seq {} at seq {}",
                            position.seq,
                            answer.seq
                        );
                    }
                    return Ok(answer);
                }
                Answer::Stale(next) => {
                    // Others appended first; spread the retries a little.
                    std::thread::sleep(Duration::from_millis(u64::from(attempt % 7)));
                    position = next;
                }
                Answer::SlowDown(wait) => {
                    std::thread::sleep(wait.min(MAX_RETRY_AFTER));
                    position = self.patient_next_position()?;
                }
                Answer::Refused(refused) => return Err(refused.into()),
            }
        }
        anyhow::bail!(
            "{}: the event was not appended after {MAX_SUBMIT_ATTEMPTS} attempts (others kept appending first, or the server kept asking to slow down)",
            self.base
        )
    }
}

/// What the server answered to one entry.
pub enum Answer {
    /// Appended.
    Appended(AppendAnswer),
    /// The position was taken: the next one.
    Stale(NextPosition),
    /// Rate-limited: wait this long.
    SlowDown(Duration),
    /// Refused.
    Refused(Refused),
}

fn read_answer(
    response: &mut ureq::http::Response<ureq::Body>,
    url: &str,
) -> anyhow::Result<Vec<u8>> {
    response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_vec()
        .with_context(|| format!("cannot read the answer of {url}"))
}

fn retry_after(response: &ureq::http::Response<ureq::Body>) -> Option<u64> {
    response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

fn refused(status: u16, body: &[u8], retry_after: Option<u64>) -> Refused {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |key: &str| value["error"][key].as_str().map(str::to_owned);
    Refused {
        status,
        code: text("code").unwrap_or_else(|| "http_error".to_owned()),
        message: text("message")
            .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect()),
        retry_after,
    }
}
