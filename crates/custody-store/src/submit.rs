//! Appends over HTTP: the protocol `custody serve` speaks with actors who sign their own
//! events (`custody event … --server URL`), independent of any HTTP library.
//!
//! An actor asks where the next entry will stand ([`NextPosition`]: the ledger's origin, the
//! next seq and the ledger's current time, `GET /custody/next`), signs the event for that
//! position with their own key ([`crate::Ledger::sign_at`]), and sends the entry, the strict
//! canonical JSON of the [`SignedEvent`] exactly as it will be stored, in the body of
//! `POST /custody/append`. The server appends it with
//! [`crate::Ledger::append_submitted`], the same code path and rules as a local append, and
//! answers [`AppendAnswer`] (`{"seq", "checkpoint"}`). The log key never leaves the server.
//!
//! Every refusal is a [`Refusal`]: an HTTP status, the store's error code and a message,
//! sent as `{"error": {"code", "message"}}`. A position taken in the meantime is
//! `409 stale_position` with the new position beside the error, so the actor signs again
//! without another round trip. Request bodies are bounded ([`MAX_APPEND_BODY_BYTES`]) and
//! must arrive within a time limit; requests are rate-limited globally and per actor
//! ([`RateLimiter`]), the per-actor charge made only once the actor's signature verifies,
//! so nobody can spend another actor's allowance with forged requests.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use custody_core::canonical;

use crate::error::StoreError;
use crate::event::SignedEvent;
use crate::ledger::MAX_ENTRY_BYTES;

/// Path of the position request, under the server's root.
pub const NEXT_PATH: &str = "custody/next";
/// Path of the append request, under the server's root.
pub const APPEND_PATH: &str = "custody/append";
/// The largest append request body: one entry, at most the ledger's entry limit
/// ([`MAX_ENTRY_BYTES`], 64 MiB). Longer is `413 body_too_large`, unread.
pub const MAX_APPEND_BODY_BYTES: usize = MAX_ENTRY_BYTES as usize;
/// How long an append request body may take to arrive, by default (a client that sends a
/// partial body and stalls is cut off with `408 request_timeout`).
pub const APPEND_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// How far behind the ledger's clock a submitted event's `recorded_time` may be (a
/// one-signature event; hand-overs keep their own rule). The position is fetched and
/// signed just before the append; an older one is `stale_position`: fetch and sign again.
pub const MAX_SUBMITTED_AGE: time::Duration = time::Duration::seconds(60);
/// The most actors whose allowance the rate limiter tracks at once; actors whose
/// allowance is full again are forgotten first.
pub const MAX_TRACKED_ACTORS: usize = 10_000;
/// Default per-actor rate: 600 appends a minute (10 a second), 60 at once.
pub const DEFAULT_ACTOR_RATE: RateLimit = RateLimit {
    per_minute: 600,
    burst: 60,
};
/// Default global rate: 30,000 append requests a minute (500 a second) of any actor, valid
/// or not, 1,000 at once.
pub const DEFAULT_GLOBAL_RATE: RateLimit = RateLimit {
    per_minute: 30_000,
    burst: 1000,
};

/// Where the next entry will stand: the actor signs the event for this position.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextPosition {
    /// The ledger's origin.
    pub origin: String,
    /// The next seq (the ledger's size).
    pub seq: u64,
    /// The ledger's current time, RFC 3339 UTC with `Z`: the event's `recorded_time`.
    pub recorded_time: String,
}

/// The answer to an accepted append.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AppendAnswer {
    /// The entry's seq.
    pub seq: u64,
    /// The checkpoint the log key signed after it (a signed note).
    pub checkpoint: String,
}

/// An append refused: the HTTP status, a snake_case code and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// The code: a [`StoreError::code`] for refusals by the ledger, or one of this module's
    /// (`rate_limited`, `body_too_large`, `request_timeout`, `malformed`).
    pub code: String,
    /// What is wrong, in words.
    pub message: String,
    /// Seconds to wait before trying again (`429`).
    pub retry_after: Option<u64>,
    /// Where the next entry now stands (`409 stale_position`).
    pub next: Option<Box<NextPosition>>,
}

impl Refusal {
    /// A refusal with no retry hint.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            code: code.to_owned(),
            message: message.into(),
            retry_after: None,
            next: None,
        }
    }

    /// The refusal for a store error: the ledger's rules refuse with `422`, a signature
    /// that does not verify with `403`, a position taken meanwhile with `409`, and a ledger
    /// that cannot be read or written with `500` (its message is not sent: it names the
    /// server's files).
    pub fn from_store(error: &StoreError) -> Refusal {
        let code = error.code();
        let status = match error {
            StoreError::StalePosition { .. } | StoreError::StaleHandOver { .. } => 409,
            StoreError::EventNotSigned { .. }
            | StoreError::HandOverNotSigned { .. }
            | StoreError::Cosignature { .. } => 403,
            e if e.is_refusal() => 422,
            _ => 500,
        };
        let message = if status == 500 {
            "the ledger could not record the event; nothing was appended".to_owned()
        } else {
            error.to_string()
        };
        Refusal {
            status,
            code,
            message,
            retry_after: None,
            next: None,
        }
    }

    /// The JSON body: `{"error": {"code", "message"}}`, with `"next"` beside `"error"`
    /// when the position was taken.
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "error": { "code": self.code, "message": self.message }
        });
        if let Some(next) = &self.next {
            body["next"] = serde_json::to_value(next).unwrap_or_default();
        }
        body
    }
}

/// Parses an append request body: the strict canonical JSON of one entry. Bodies longer
/// than [`MAX_APPEND_BODY_BYTES`] are `413`; anything else that is not an entry is `400
/// malformed`.
pub fn parse_submission(body: &[u8]) -> Result<SignedEvent, Refusal> {
    if body.len() > MAX_APPEND_BODY_BYTES {
        return Err(body_too_large());
    }
    canonical::parse_strict(body).map_err(|e| {
        Refusal::new(
            400,
            "malformed",
            format!("not the canonical JSON of a ledger entry: {e}"),
        )
    })
}

/// `413 body_too_large`.
pub fn body_too_large() -> Refusal {
    Refusal::new(
        413,
        "body_too_large",
        format!("an append request body is at most {MAX_APPEND_BODY_BYTES} bytes"),
    )
}

/// Whether the entry's signature verifies under the actor it names: checked before the
/// actor is charged a request, so forged requests naming someone cannot use up their
/// allowance (the append checks it again, with every rule).
pub fn signed_by_its_actor(entry: &SignedEvent) -> Result<(), Refusal> {
    let seq = entry.event.seq;
    let canonical_event = canonical::to_canonical_vec(&entry.event)
        .map_err(|e| Refusal::from_store(&StoreError::Canonical(e)))?;
    if entry.signature_verifies(&canonical_event) {
        Ok(())
    } else {
        Err(Refusal::from_store(&StoreError::EventNotSigned { seq }))
    }
}

/// A rate: a steady number of requests per minute and a burst allowance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per minute, steadily (at least 1).
    pub per_minute: u32,
    /// Requests allowed at once (at least 1).
    pub burst: u32,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(limit: RateLimit, now: Instant) -> Bucket {
        Bucket {
            tokens: f64::from(limit.burst.max(1)),
            at: now,
        }
    }

    fn refill(&mut self, limit: RateLimit, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        let cap = f64::from(limit.burst.max(1));
        self.tokens =
            (self.tokens + elapsed * (f64::from(limit.per_minute.max(1)) / 60.0)).min(cap);
        self.at = now;
    }

    /// Takes one token, or says how long until one is there.
    fn take(&mut self, limit: RateLimit, now: Instant) -> Result<(), Duration> {
        self.refill(limit, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - self.tokens;
        Err(Duration::from_secs_f64(
            missing / (f64::from(limit.per_minute.max(1)) / 60.0),
        ))
    }

    fn is_full(&self, limit: RateLimit, now: Instant) -> bool {
        let mut b = *self;
        b.refill(limit, now);
        b.tokens >= f64::from(limit.burst.max(1))
    }
}

/// Token buckets: one for every append request, one per actor (by key) for requests whose
/// signature verified. At most [`MAX_TRACKED_ACTORS`] actors are tracked.
#[derive(Debug)]
pub struct RateLimiter {
    global_limit: RateLimit,
    actor_limit: RateLimit,
    global: Bucket,
    actors: HashMap<String, Bucket>,
}

impl RateLimiter {
    /// A limiter with full buckets at `now`.
    pub fn new(global: RateLimit, per_actor: RateLimit, now: Instant) -> RateLimiter {
        RateLimiter {
            global_limit: global,
            actor_limit: per_actor,
            global: Bucket::full(global, now),
            actors: HashMap::new(),
        }
    }

    /// Charges one request to the global allowance; `429 rate_limited` when spent.
    pub fn admit_request(&mut self, now: Instant) -> Result<(), Refusal> {
        self.global
            .take(self.global_limit, now)
            .map_err(|wait| rate_limited("the server", wait))
    }

    /// Charges one request to `actor`'s allowance; `429 rate_limited` when spent, or when
    /// [`MAX_TRACKED_ACTORS`] other actors are mid-allowance.
    pub fn admit_actor(&mut self, actor: &str, now: Instant) -> Result<(), Refusal> {
        if !self.actors.contains_key(actor) && self.actors.len() >= MAX_TRACKED_ACTORS {
            let limit = self.actor_limit;
            self.actors.retain(|_, b| !b.is_full(limit, now));
            if self.actors.len() >= MAX_TRACKED_ACTORS {
                return Err(rate_limited("the server", Duration::from_secs(1)));
            }
        }
        let limit = self.actor_limit;
        self.actors
            .entry(actor.to_owned())
            .or_insert_with(|| Bucket::full(limit, now))
            .take(limit, now)
            .map_err(|wait| rate_limited("this actor", wait))
    }
}

fn rate_limited(whom: &str, wait: Duration) -> Refusal {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Refusal {
        retry_after: Some(seconds.max(1)),
        ..Refusal::new(
            429,
            "rate_limited",
            format!("too many append requests for {whom}; try again in {seconds} s"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_global_allowance_refills_at_its_rate() {
        let t0 = Instant::now();
        let limit = RateLimit {
            per_minute: 120,
            burst: 3,
        };
        let mut limiter = RateLimiter::new(limit, DEFAULT_ACTOR_RATE, t0);
        for _ in 0..3 {
            limiter.admit_request(t0).unwrap();
        }
        let refused = limiter.admit_request(t0).unwrap_err();
        assert_eq!(
            (refused.status, refused.code.as_str()),
            (429, "rate_limited")
        );
        assert_eq!(refused.retry_after, Some(1));
        // Half a second later one request is allowed again, and only one.
        let later = t0 + Duration::from_millis(500);
        limiter.admit_request(later).unwrap();
        assert!(limiter.admit_request(later).is_err());
        // Long idle never holds more than the burst.
        let idle = t0 + Duration::from_secs(3600);
        for _ in 0..3 {
            limiter.admit_request(idle).unwrap();
        }
        assert!(limiter.admit_request(idle).is_err());
    }

    #[test]
    fn fail_one_actor_past_its_allowance_does_not_stop_another() {
        let t0 = Instant::now();
        let per_actor = RateLimit {
            per_minute: 60,
            burst: 2,
        };
        let mut limiter = RateLimiter::new(DEFAULT_GLOBAL_RATE, per_actor, t0);
        limiter.admit_actor("a", t0).unwrap();
        limiter.admit_actor("a", t0).unwrap();
        assert_eq!(limiter.admit_actor("a", t0).unwrap_err().status, 429);
        limiter.admit_actor("b", t0).unwrap();
        limiter
            .admit_actor("a", t0 + Duration::from_secs(1))
            .unwrap();
    }

    #[test]
    fn tracked_actors_are_bounded_and_idle_ones_forgotten() {
        let t0 = Instant::now();
        let per_actor = RateLimit {
            per_minute: 60,
            burst: 1,
        };
        let mut limiter = RateLimiter::new(DEFAULT_GLOBAL_RATE, per_actor, t0);
        for i in 0..MAX_TRACKED_ACTORS {
            limiter.admit_actor(&i.to_string(), t0).unwrap();
        }
        // At the limit, every tracked actor mid-allowance: a new one must wait.
        let refused = limiter.admit_actor("new", t0).unwrap_err();
        assert_eq!(refused.status, 429);
        assert_eq!(limiter.actors.len(), MAX_TRACKED_ACTORS);
        // Once the others' allowances are full again they are forgotten.
        limiter
            .admit_actor("new", t0 + Duration::from_secs(2))
            .unwrap();
        assert_eq!(limiter.actors.len(), 1);
    }

    #[test]
    fn fail_bodies_past_the_limit_or_not_canonical_are_refused() {
        let refused = parse_submission(&vec![b' '; MAX_APPEND_BODY_BYTES + 1]).unwrap_err();
        assert_eq!(
            (refused.status, refused.code.as_str()),
            (413, "body_too_large")
        );
        // At the limit the size is accepted and the content judged: not an entry.
        let refused = parse_submission(&vec![b' '; MAX_APPEND_BODY_BYTES]).unwrap_err();
        assert_eq!((refused.status, refused.code.as_str()), (400, "malformed"));
        for bad in [&b"{"[..], b"null", b"{\"event\":1}", b"\xff"] {
            assert_eq!(parse_submission(bad).unwrap_err().status, 400);
        }
    }

    #[test]
    fn refusals_carry_the_store_code_and_status() {
        let stale = Refusal::from_store(&StoreError::StalePosition {
            seq: 3,
            size: 4,
            reason: "prepared for another position",
        });
        assert_eq!((stale.status, stale.code.as_str()), (409, "stale_position"));
        let forged = Refusal::from_store(&StoreError::EventNotSigned { seq: 3 });
        assert_eq!(
            (forged.status, forged.code.as_str()),
            (403, "event_not_signed")
        );
        let rule = Refusal::from_store(&StoreError::UnknownActor { key: "ab".into() });
        assert_eq!((rule.status, rule.code.as_str()), (422, "unknown_actor"));
        let internal = Refusal::from_store(&StoreError::NoCheckpoint);
        assert_eq!(internal.status, 500);
        assert!(
            !internal.message.contains("checkpoint"),
            "{}",
            internal.message
        );
        let json = stale.to_json();
        assert_eq!(json["error"]["code"], "stale_position");
        assert!(json.get("next").is_none());
    }
}
