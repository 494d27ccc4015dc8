//! `custody serve`: publishes the ledger as C2SP tlog-tiles over HTTP (`/checkpoint`,
//! `/tile/<L>/<N>[.p/<W>]`, `/tile/entries/<N>[.p/<W>]`, answered from
//! `custody_store::tiles::Publication`, every tile bound to the newest verified checkpoint
//! and updated incrementally after each append), and accepts appends from actors who sign
//! their own events (`GET /custody/next`, `POST /custody/append`; the protocol is
//! `custody_store::submit`). Only this process holds the log key. After each new checkpoint
//! it submits it to the witnesses it is configured with (`--witness`) and keeps their
//! cosignatures as outside checkpoints.
//!
//! Ledger work (SQLite or PostgreSQL) runs on blocking threads, one at a time behind one
//! lock; the runtime's own thread only moves bytes. Request headers and bodies must arrive
//! within time limits, bodies are bounded, and appends are rate-limited globally and per
//! actor. Every refusal is a JSON error.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use custody_core::keys::{Identity, VerifierKey};
use custody_store::signer::signer_state_path;
use custody_store::submit::{
    self, AppendAnswer, NextPosition, RateLimit, RateLimiter, Refusal, APPEND_BODY_TIMEOUT,
    DEFAULT_ACTOR_RATE, DEFAULT_GLOBAL_RATE, MAX_APPEND_BODY_BYTES,
};
use custody_store::tiles::{Publication, Resource, TileError, TileId};
use custody_store::{Ledger, SignedEvent, StoreError};

use crate::ledger_opts::{load_key, log_key_path, LedgerArg};
use crate::{output, Outcome};

/// `Cache-Control` of tiles and entry bundles: their content never changes.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of the checkpoint: it changes with every append.
pub const MUTABLE: &str = "no-cache";
/// How long a client may take to send a request's headers; a connection that stalls
/// longer is closed (slow-header clients cannot hold connections open).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one request to a witness may take, connection to last byte.
pub const WITNESS_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts at one checkpoint per witness (a 409 answer with the witness's size costs one).
pub const WITNESS_ATTEMPTS: usize = 3;

/// `custody serve` arguments.
#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    ledger: LedgerArg,
    /// Address and port to listen on (port 0 picks a free one; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8700")]
    listen: SocketAddr,
    /// The ledger's log key; the server signs a checkpoint after each append
    /// [default: <log key directory>/<origin>.key]
    #[arg(long, env = "CUSTODY_LOG_KEY", conflicts_with = "read_only")]
    log_key: Option<PathBuf>,
    /// Publish only: refuse appends and hold no log key.
    #[arg(long)]
    read_only: bool,
    /// Appends a minute allowed to one actor (steady rate).
    #[arg(long, default_value_t = DEFAULT_ACTOR_RATE.per_minute, value_parser = clap::value_parser!(u32).range(1..))]
    actor_rate: u32,
    /// Appends one actor may make at once, above the steady rate.
    #[arg(long, default_value_t = DEFAULT_ACTOR_RATE.burst, value_parser = clap::value_parser!(u32).range(1..))]
    actor_burst: u32,
    /// Append requests a minute, from anyone (steady rate).
    #[arg(long, default_value_t = DEFAULT_GLOBAL_RATE.per_minute, value_parser = clap::value_parser!(u32).range(1..))]
    global_rate: u32,
    /// Append requests at once, from anyone, above the steady rate.
    #[arg(long, default_value_t = DEFAULT_GLOBAL_RATE.burst, value_parser = clap::value_parser!(u32).range(1..))]
    global_burst: u32,
    /// Seconds an append request's body may take to arrive.
    #[arg(long, default_value_t = APPEND_BODY_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    body_timeout: u64,
    /// A witness to submit every new checkpoint to: its submission URL prefix (the request
    /// goes to URL/add-checkpoint; the URL holds no `=`) and its cosigner verifier key.
    /// Repeatable.
    #[arg(long = "witness", value_name = "URL=COSIGNER_KEY")]
    witnesses: Vec<String>,
}

/// What every request handler shares.
struct Served {
    /// The ledger: all database work, on blocking threads, one at a time. Lock order:
    /// `ledger` before `publication`.
    ledger: Mutex<Ledger>,
    publication: RwLock<Publication>,
    /// `None` when read-only.
    log_key: Option<Identity>,
    /// The ledger's origin.
    origin: String,
    limiter: Mutex<RateLimiter>,
    body_timeout: Duration,
    /// One sender per witness thread: "a new checkpoint is published".
    witnesses: Vec<mpsc::Sender<()>>,
}

type Shared = Arc<Served>;

/// A configured witness.
struct WitnessTarget {
    url: String,
    key: VerifierKey,
}

fn parse_witness(text: &str) -> anyhow::Result<WitnessTarget> {
    let (url, key) = text
        .split_once('=')
        .with_context(|| format!("--witness {text:?} is not URL=COSIGNER_KEY"))?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        anyhow::bail!("--witness {text:?}: the URL must start with http:// or https://");
    }
    let key: VerifierKey = key
        .parse()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("--witness {text:?}: not a cosigner verifier key"))?;
    if key.key_type != custody_core::keys::KeyType::Cosignature {
        anyhow::bail!(
            "--witness {text:?}: the key is not a cosigner key (type 0x04; `custody witness` prints it)"
        );
    }
    Ok(WitnessTarget {
        url: url.trim_end_matches('/').to_owned(),
        key,
    })
}

/// Runs `custody serve` until the process is stopped.
pub fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    let targets = args
        .witnesses
        .iter()
        .map(|w| parse_witness(w))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut ledger = args.ledger.open()?;
    let log_key = if args.read_only {
        None
    } else {
        let path = log_key_path(ledger.origin(), args.log_key.as_deref())?;
        let key = load_key(&path, "log key (--log-key; --read-only serves without one)")?;
        ledger.set_signer_state(&signer_state_path(&path));
        Some(key)
    };
    if log_key.is_none() && !targets.is_empty() {
        anyhow::bail!("--witness needs a server that appends (not --read-only)");
    }
    let publication = Publication::build(&ledger).with_context(|| {
        format!(
            "cannot publish {}: it does not verify",
            args.ledger.shown().display()
        )
    })?;
    let origin = ledger.origin().to_owned();
    let rate = |per_minute, burst| RateLimit { per_minute, burst };
    let mut senders = Vec::with_capacity(targets.len());
    let mut receivers = Vec::with_capacity(targets.len());
    for _ in &targets {
        let (tx, rx) = mpsc::channel();
        // The checkpoint held at start is submitted first.
        let _ = tx.send(());
        senders.push(tx);
        receivers.push(rx);
    }
    let served: Shared = Arc::new(Served {
        ledger: Mutex::new(ledger),
        publication: RwLock::new(publication),
        log_key,
        origin: origin.clone(),
        limiter: Mutex::new(RateLimiter::new(
            rate(args.global_rate, args.global_burst),
            rate(args.actor_rate, args.actor_burst),
            Instant::now(),
        )),
        body_timeout: Duration::from_secs(args.body_timeout),
        witnesses: senders,
    });
    for (target, rx) in targets.into_iter().zip(receivers) {
        let served = Arc::clone(&served);
        std::thread::Builder::new()
            .name(format!("witness {}", target.key.name))
            .spawn(move || witness_loop(&served, &target, &rx))
            .context("cannot start a witness thread")?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("cannot start the HTTP runtime")?;
    let appends = if served.log_key.is_some() {
        "accepting appends"
    } else {
        "read-only"
    };
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        output::print(&output::line(&format!(
            "serving {origin} on http://{addr}/ ({appends})"
        )))?;
        let app = axum::Router::new().fallback(handle).with_state(served);
        serve_connections(listener, app).await
    })?;
    Ok(Outcome::Ok)
}

/// Accepts connections and serves each over HTTP/1.1 with a header read timeout
/// ([`HEADER_READ_TIMEOUT`]), which `axum::serve` does not set.
async fn serve_connections(
    listener: tokio::net::TcpListener,
    app: axum::Router,
) -> anyhow::Result<()> {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: wait, then go on accepting.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body.to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        &serde_json::json!({ "error": { "code": code, "message": message } }),
    )
}

fn refusal(refused: &Refusal) -> Response {
    let status = StatusCode::from_u16(refused.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, &refused.to_json());
    if let Some(seconds) = refused.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn bytes(content_type: &'static str, cache: &'static str, body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

/// An entry bundle, gzip-compressed when the request accepts gzip.
fn bundle(body: Vec<u8>, accepts_gzip: bool) -> Response {
    if accepts_gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let compressed =
            std::io::Write::write_all(&mut encoder, &body).and_then(|()| encoder.finish());
        if let Ok(gz) = compressed {
            let mut response = bytes("application/octet-stream", IMMUTABLE, gz);
            let headers = response.headers_mut();
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            return response;
        }
    }
    let mut response = bytes("application/octet-stream", IMMUTABLE, body);
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// Whether `Accept-Encoding` names gzip (with a q-value other than 0).
fn accepts_gzip(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let refused = |p: &str| {
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            };
            parts.next().is_some_and(|c| c.eq_ignore_ascii_case("gzip")) && !parts.any(refused)
        })
}

fn internal(message: &str) -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
}

/// The server cannot go on with a request: a lock was poisoned by a panic earlier, or
/// the blocking task failed.
struct Failed;

/// Runs `work` on a blocking thread with the ledger locked.
async fn with_ledger<T: Send + 'static>(
    served: &Shared,
    work: impl FnOnce(&Served, &mut Ledger) -> T + Send + 'static,
) -> Result<T, Failed> {
    let served = Arc::clone(served);
    tokio::task::spawn_blocking(move || {
        let mut ledger = served.ledger.lock().map_err(|_| Failed)?;
        Ok(work(&served, &mut ledger))
    })
    .await
    .map_err(|_| Failed)?
}

async fn handle(
    axum::extract::State(served): axum::extract::State<Shared>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let method = parts.method.clone();
    match (path.strip_prefix('/'), method) {
        (Some(submit::APPEND_PATH), Method::POST) => append(&served, &parts.headers, body).await,
        (Some(submit::APPEND_PATH), _) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "appends are POST requests",
        ),
        (Some(submit::NEXT_PATH), Method::GET | Method::HEAD) => next(&served).await,
        (_, Method::GET | Method::HEAD) => publish(&served, &path, &parts.headers).await,
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "only GET and HEAD are served here",
        ),
    }
}

async fn publish(served: &Shared, path: &str, headers: &axum::http::HeaderMap) -> Response {
    let Some(resource) = path.strip_prefix('/').and_then(Resource::parse) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "not a tlog-tiles resource",
        );
    };
    match resource {
        Resource::Checkpoint => {
            // Appends by other processes on the same ledger are published here.
            let updated = with_ledger(served, |served, ledger| {
                let mut publication = served.publication.write().map_err(|_| ())?;
                let grew = publication.update(ledger);
                Ok::<_, ()>((grew, publication.note.clone()))
            })
            .await;
            match updated {
                Ok(Ok((Ok(grew), note))) => {
                    if grew {
                        notify_witnesses(served);
                    }
                    bytes("text/plain; charset=utf-8", MUTABLE, note.into_bytes())
                }
                Ok(Ok((Err(e), _))) => {
                    output::eprint(&output::line(&format!(
                        "custody serve: not publishing the ledger's newest checkpoint: {e}"
                    )));
                    error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "ledger_unverified",
                        "the ledger's newest checkpoint cannot be published",
                    )
                }
                Ok(Err(())) => internal("the server failed earlier"),
                Err(Failed) => internal("the server failed earlier"),
            }
        }
        Resource::Tile(tile) => {
            let held = served
                .publication
                .read()
                .map(|p| p.tile_bytes(tile))
                .map_err(|_| ());
            match held {
                Ok(Some(body)) => bytes("application/octet-stream", IMMUTABLE, body),
                Ok(None) => error(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "no such tile in the published tree",
                ),
                Err(_) => internal("the server failed earlier"),
            }
        }
        Resource::Entries(tile) => entries(served, tile, false, accepts_gzip(headers)).await,
        Resource::CustodyEntries(tile) => entries(served, tile, true, accepts_gzip(headers)).await,
    }
}

/// An entry bundle: the tlog-tiles one (`custody` false) or the Custody one. A tlog-tiles
/// bundle holding an entry longer than its `u16` prefix can say is `404
/// entry_too_large_for_bundle` naming the entry; the Custody bundle carries it.
async fn entries(served: &Shared, tile: TileId, custody: bool, gzip: bool) -> Response {
    let read = with_ledger(served, move |served, ledger| {
        let publication = served.publication.read().map_err(|_| ())?;
        Ok::<_, ()>(if custody {
            publication.custody_bundle(ledger, tile)
        } else {
            publication.bundle(ledger, tile)
        })
    })
    .await;
    match read {
        Ok(Ok(Ok(Some(body)))) => bundle(body, gzip),
        Ok(Ok(Ok(None))) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such entry bundle in the published tree",
        ),
        Ok(Ok(Err(TileError::EntryTooLargeForBundle { seq, len, limit }))) => json_response(
            StatusCode::NOT_FOUND,
            &serde_json::json!({ "error": {
                "code": "entry_too_large_for_bundle",
                "message": format!(
                    "entry {seq} is {len} bytes, more than the {limit} a tlog-tiles bundle carries; read {} instead",
                    tile.custody_entries_path()
                ),
                "seq": seq,
            }}),
        ),
        Ok(Ok(Err(e))) => {
            output::eprint(&output::line(&format!("custody serve: {e}")));
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ledger_unverified",
                "the entries cannot be published",
            )
        }
        Ok(Err(())) => internal("the server failed earlier"),
        Err(Failed) => internal("the server failed earlier"),
    }
}

async fn next(served: &Shared) -> Response {
    if served.log_key.is_none() {
        return read_only();
    }
    // Each position request reads the ledger: it counts against the global allowance.
    if let Some(refused) = admit(served, |l| l.admit_request(Instant::now())) {
        return refused;
    }
    // Answered from the publication, which every append through this server updates in the
    // same locked step, without a database round trip: appenders racing for positions would
    // otherwise queue on the ledger for each attempt. When another process appended to the
    // database meanwhile, the position is stale and the append says so with the ledger's
    // own next position (409), which the client signs for.
    let Some(seq) = served.publication.read().ok().map(|p| p.size()) else {
        return internal("the server failed earlier");
    };
    let position = NextPosition {
        origin: served.origin.clone(),
        seq,
        recorded_time: custody_store::ledger::format_utc(time::OffsetDateTime::now_utc()),
    };
    json_response(
        StatusCode::OK,
        &serde_json::to_value(position).unwrap_or_default(),
    )
}

/// `409 stale_position` when `entry` was signed for a seq below the published size (sizes
/// never shrink, so it is stale whatever the ledger holds now), with the published size as
/// the next position. `None` otherwise: the ledger decides.
fn stale_against_publication(served: &Served, entry: &SignedEvent) -> Option<Refusal> {
    let published = served.publication.read().ok()?.size();
    let seq = entry.event.seq;
    if seq >= published {
        return None;
    }
    let mut refused = Refusal::from_store(&StoreError::StalePosition {
        seq,
        size: published,
        reason: "signed for another position",
    });
    refused.next = Some(Box::new(NextPosition {
        origin: served.origin.clone(),
        seq: published,
        recorded_time: custody_store::ledger::format_utc(time::OffsetDateTime::now_utc()),
    }));
    Some(refused)
}

/// Charges the rate limiter; the refusal to send when the allowance is spent.
fn admit(
    served: &Served,
    charge: impl FnOnce(&mut RateLimiter) -> Result<(), Refusal>,
) -> Option<Response> {
    match served.limiter.lock() {
        Ok(mut limiter) => charge(&mut limiter).err().map(|r| refusal(&r)),
        Err(_) => Some(internal("the server failed earlier")),
    }
}

fn read_only() -> Response {
    error(
        StatusCode::FORBIDDEN,
        "read_only",
        "this server publishes the ledger but accepts no appends",
    )
}

async fn append(served: &Shared, headers: &axum::http::HeaderMap, body: Body) -> Response {
    if served.log_key.is_none() {
        return read_only();
    }
    if let Some(refused) = admit(served, |l| l.admit_request(Instant::now())) {
        return refused;
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_APPEND_BODY_BYTES as u64) {
        return refusal(&submit::body_too_large());
    }
    let read = tokio::time::timeout(
        served.body_timeout,
        axum::body::to_bytes(body, MAX_APPEND_BODY_BYTES),
    )
    .await;
    let body = match read {
        Err(_) => {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                &format!(
                    "the request body did not arrive within {} s",
                    served.body_timeout.as_secs()
                ),
            )
        }
        Ok(Err(_)) => return refusal(&submit::body_too_large()),
        Ok(Ok(body)) => body,
    };
    let entry = match submit::parse_submission(&body) {
        Ok(entry) => entry,
        Err(refused) => return refusal(&refused),
    };
    if let Err(refused) = submit::signed_by_its_actor(&entry) {
        return refusal(&refused);
    }
    if let Some(refused) = admit(served, |l| {
        l.admit_actor(&entry.event.actor, Instant::now())
    }) {
        return refused;
    }
    // A position already taken in what is published is stale without asking the ledger:
    // with many appenders racing for one position, the losers cost no database work.
    if let Some(refused) = stale_against_publication(served, &entry) {
        return refusal(&refused);
    }
    let done = with_ledger(served, move |served, ledger| {
        let log_key = served.log_key.as_ref().expect("checked above");
        match ledger.append_submitted(entry, log_key) {
            Ok(appended) => {
                // Only the rightmost tiles change; a failure here leaves the previous
                // publication in place, and the next checkpoint request tries again.
                if let Ok(mut publication) = served.publication.write() {
                    if let Err(e) = publication.update(ledger) {
                        output::eprint(&output::line(&format!(
                            "custody serve: not publishing after seq {}: {e}",
                            appended.seq
                        )));
                    }
                }
                Ok(AppendAnswer {
                    seq: appended.seq,
                    checkpoint: appended.checkpoint,
                })
            }
            Err(e) => {
                let mut refused = Refusal::from_store(&e);
                if refused.status == 500 {
                    output::eprint(&output::line(&format!("custody serve: append failed: {e}")));
                }
                if refused.status == 409 {
                    refused.next = ledger.next_position().ok().map(Box::new);
                }
                Err(refused)
            }
        }
    })
    .await;
    match done {
        Ok(Ok(answer)) => {
            notify_witnesses(served);
            json_response(
                StatusCode::OK,
                &serde_json::to_value(answer).unwrap_or_default(),
            )
        }
        Ok(Err(refused)) => refusal(&refused),
        Err(Failed) => internal("the server failed earlier"),
    }
}

fn notify_witnesses(served: &Served) {
    for witness in &served.witnesses {
        let _ = witness.send(());
    }
}

/// One witness: waits for new checkpoints and submits the newest, one at a time.
fn witness_loop(served: &Served, target: &WitnessTarget, wake: &mpsc::Receiver<()>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(WITNESS_TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let mut witnessed = 0u64;
    while wake.recv().is_ok() {
        // Many appends, one submission: only the newest checkpoint matters.
        while wake.try_recv().is_ok() {}
        let (note, size) = match served.publication.read() {
            Ok(p) => (p.note.clone(), p.size()),
            Err(_) => return,
        };
        if size == 0 || size == witnessed {
            continue;
        }
        match submit_to_witness(served, &agent, target, &note, size) {
            Ok(()) => witnessed = size,
            Err(e) => output::eprint(&output::line(&format!(
                "custody serve: witness {} ({}): checkpoint of size {size} not cosigned: {e:#}",
                target.key.name, target.url
            ))),
        }
    }
}

/// Submits `note` (size `size`) to the witness: first as if the witness held nothing; a
/// `409` names the size it holds, and the consistency proof from there is sent. The
/// cosignature is verified under the configured key before the cosigned note is kept as an
/// outside checkpoint.
fn submit_to_witness(
    served: &Served,
    agent: &ureq::Agent,
    target: &WitnessTarget,
    note: &str,
    size: u64,
) -> anyhow::Result<()> {
    use custody_store::witness::{
        add_checkpoint_body, cosigned_note, parse_size_answer, MAX_WITNESS_ANSWER_BYTES,
    };
    let url = format!("{}/add-checkpoint", target.url);
    let mut old = 0u64;
    for _ in 0..WITNESS_ATTEMPTS {
        let proof = if old == 0 || old == size {
            Vec::new()
        } else {
            let ledger = served
                .ledger
                .lock()
                .map_err(|_| anyhow::anyhow!("the server failed earlier"))?;
            ledger
                .consistency_proof(old, size)
                .with_context(|| format!("no consistency proof from {old} to {size}"))?
                .hashes
        };
        let body = add_checkpoint_body(old, &proof, note);
        let mut response = agent
            .post(&url)
            .content_type("text/plain; charset=utf-8")
            .send(&body[..])
            .with_context(|| format!("cannot reach {url}"))?;
        let status = response.status().as_u16();
        let answer = response
            .body_mut()
            .with_config()
            .limit(MAX_WITNESS_ANSWER_BYTES)
            .read_to_vec()
            .with_context(|| format!("cannot read the answer of {url}"))?;
        match status {
            200 => {
                let cosigned = cosigned_note(note, &answer, &target.key)?;
                let mut ledger = served
                    .ledger
                    .lock()
                    .map_err(|_| anyhow::anyhow!("the server failed earlier"))?;
                ledger
                    .add_outside_checkpoint(&cosigned, &format!("witness {}", target.key.name))
                    .context("cannot keep the cosigned checkpoint")?;
                // Progress goes to stderr: stdout carries only the address line.
                output::eprint(&output::line(&format!(
                    "custody serve: witness {} cosigned the checkpoint of size {size}",
                    target.key.name
                )));
                return Ok(());
            }
            409 => {
                let held = parse_size_answer(&answer)?;
                if held > size {
                    anyhow::bail!(
                        "the witness holds a checkpoint of size {held}, larger than this ledger's {size}: it saw a tree this server does not have"
                    );
                }
                if held == old {
                    anyhow::bail!("the witness refused the checkpoint at the size it holds ({held}): another root (a fork)");
                }
                old = held;
            }
            status => anyhow::bail!(
                "{url} answered HTTP {status}: {}",
                String::from_utf8_lossy(&answer).trim()
            ),
        }
    }
    anyhow::bail!("{url}: no agreement on the old size after {WITNESS_ATTEMPTS} attempts")
}
