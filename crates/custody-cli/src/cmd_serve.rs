//! `custody serve`: publishes the ledger as C2SP tlog-tiles over HTTP, read-only:
//! `/checkpoint`, `/tile/<L>/<N>[.p/<W>]` and `/tile/entries/<N>[.p/<W>]`, answered from
//! `custody_store::tiles::Publication` (every tile bound to the newest verified checkpoint).
//! Tiles and bundles are immutable and cached as such; the checkpoint is not cached. Entry
//! bundles are gzip-compressed for clients that accept it, as the spec recommends.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use custody_store::tiles::{Publication, Resource};
use custody_store::Ledger;

use crate::ledger_opts::LedgerArg;
use crate::{output, Outcome};

/// `Cache-Control` of tiles and entry bundles: their content never changes.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of the checkpoint: it changes with every append.
pub const MUTABLE: &str = "no-cache";

/// `custody serve` arguments.
#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    ledger: LedgerArg,
    /// Address and port to listen on (port 0 picks a free one; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8700")]
    listen: SocketAddr,
}

struct Served {
    ledger: Ledger,
    publication: Publication,
}

type Shared = Arc<Mutex<Served>>;

/// Runs `custody serve` until the process is stopped.
pub fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    let ledger = args.ledger.open()?;
    let publication = Publication::build(&ledger).with_context(|| {
        format!(
            "cannot publish {}: it does not verify",
            args.ledger.shown().display()
        )
    })?;
    let origin = ledger.origin().to_owned();
    let shared: Shared = Arc::new(Mutex::new(Served {
        ledger,
        publication,
    }));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("cannot start the HTTP runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        output::print(&output::line(&format!(
            "serving {origin} on http://{addr}/"
        )))?;
        let app = axum::Router::new().fallback(handle).with_state(shared);
        axum::serve(listener, app)
            .await
            .context("the HTTP server stopped")
    })?;
    Ok(Outcome::Ok)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message } }).to_string();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
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
    let mut response = bytes("application/octet-stream", IMMUTABLE, body.clone());
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if !accepts_gzip {
        return response;
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let compressed = std::io::Write::write_all(&mut encoder, &body).and_then(|()| encoder.finish());
    match compressed {
        Ok(gz) => {
            let mut response = bytes("application/octet-stream", IMMUTABLE, gz);
            let headers = response.headers_mut();
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            response
        }
        Err(_) => response,
    }
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

async fn handle(
    axum::extract::State(shared): axum::extract::State<Shared>,
    method: Method,
    uri: Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "only GET and HEAD are served",
        );
    }
    let Some(resource) = uri.path().strip_prefix('/').and_then(Resource::parse) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "not a tlog-tiles resource",
        );
    };
    let Ok(mut served) = shared.lock() else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed earlier",
        );
    };
    let served = &mut *served;
    match resource {
        Resource::Checkpoint => match served.ledger.latest_checkpoint() {
            Ok((checkpoint, _)) if checkpoint.size == served.publication.size() => bytes(
                "text/plain; charset=utf-8",
                MUTABLE,
                served.publication.note.clone().into_bytes(),
            ),
            Ok(_) => match Publication::build(&served.ledger) {
                Ok(publication) => {
                    served.publication = publication;
                    bytes(
                        "text/plain; charset=utf-8",
                        MUTABLE,
                        served.publication.note.clone().into_bytes(),
                    )
                }
                Err(e) => error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ledger_unverified",
                    &e.to_string(),
                ),
            },
            Err(e) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ledger_unverified",
                &e.to_string(),
            ),
        },
        Resource::Tile(tile) => match served.publication.tile_bytes(tile) {
            Some(body) => bytes("application/octet-stream", IMMUTABLE, body),
            None => error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such tile in the published tree",
            ),
        },
        Resource::Entries(tile) => match served.publication.bundle(&served.ledger, tile) {
            Ok(Some(body)) => bundle(body, accepts_gzip(&headers)),
            Ok(None) => error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such entry bundle in the published tree",
            ),
            Err(e) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ledger_unverified",
                &e.to_string(),
            ),
        },
    }
}
