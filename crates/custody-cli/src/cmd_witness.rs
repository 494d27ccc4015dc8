//! `custody witness`: acts as a C2SP tlog-witness for foreign ledgers over HTTP
//! (`POST /add-checkpoint`), answering with tlog-cosignature/v1 lines. The protocol and its
//! checks are `custody_store::witness`; this is the HTTP glue.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use custody_core::keys::VerifierKey;
use custody_store::witness::{Witness, WitnessError, MAX_ADD_CHECKPOINT_BYTES};

use crate::ledger_opts::load_key;
use crate::{output, Outcome};

/// `custody witness` arguments.
#[derive(clap::Args)]
pub struct WitnessArgs {
    /// The witness's private key; it cosigns with its cosigner key (type 0x04), printed
    /// at start and by `custody key show`.
    #[arg(long)]
    key: PathBuf,
    /// A log to witness: its checkpoint verifier key (`origin+keyid+base64`; the key name
    /// is the log's origin). Repeatable.
    #[arg(long = "log", value_name = "KEY", required = true)]
    logs: Vec<String>,
    /// Where the witness keeps, per origin, the last checkpoint it cosigned.
    #[arg(long, value_name = "DIR")]
    state_dir: PathBuf,
    /// Address and port to listen on (port 0 picks a free one; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8701")]
    listen: SocketAddr,
}

/// Runs the witness until the process is stopped.
pub fn run(args: WitnessArgs) -> anyhow::Result<Outcome> {
    let identity = load_key(&args.key, "the witness key")?;
    let mut logs = Vec::with_capacity(args.logs.len());
    for text in &args.logs {
        let key: VerifierKey = text
            .parse()
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("--log {text:?} is not a verifier key"))?;
        logs.push(key);
    }
    let witness = Arc::new(Witness::new(identity, logs, args.state_dir));
    let cosigner = witness.cosigner_key();
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
            "witness {cosigner} on http://{addr}/add-checkpoint"
        )))?;
        let app = axum::Router::new()
            .route("/add-checkpoint", axum::routing::post(add_checkpoint))
            .layer(DefaultBodyLimit::max(MAX_ADD_CHECKPOINT_BYTES))
            .with_state(witness);
        axum::serve(listener, app)
            .await
            .context("the HTTP server stopped")
    })?;
    Ok(Outcome::Ok)
}

async fn add_checkpoint(
    axum::extract::State(witness): axum::extract::State<Arc<Witness>>,
    body: axum::body::Bytes,
) -> Response {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match witness.add_checkpoint(&body, now) {
        Ok(lines) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            lines,
        )
            .into_response(),
        Err(WitnessError::SizeConflict { latest_size, .. }) => (
            StatusCode::CONFLICT,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/x.tlog.size"),
            )],
            format!("{latest_size}\n"),
        )
            .into_response(),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let code = match &e {
                WitnessError::Malformed(_) => "malformed",
                WitnessError::UnknownOrigin { .. } => "unknown_origin",
                WitnessError::Unverified => "checkpoint_signature",
                WitnessError::OldSizeAhead { .. } => "old_size_ahead",
                WitnessError::RootConflict { .. } => "root_conflict",
                WitnessError::BadProof { .. } => "bad_consistency_proof",
                _ => "internal",
            };
            let body = serde_json::json!({ "error": { "code": code, "message": e.to_string() } });
            (
                status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body.to_string(),
            )
                .into_response()
        }
    }
}
