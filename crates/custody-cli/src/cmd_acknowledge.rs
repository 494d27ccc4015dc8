//! `custody acknowledge RECEIPT [--trust RECEIVER-KEY]... [--revoked KEY]...`: check a receiving authority's
//! receipt against this (the sender's) ledger, record `acknowledged`, and keep the cosigned
//! checkpoint as an outside checkpoint for every later `custody ledger verify`.

use std::path::PathBuf;

use anyhow::Context;
use custody_core::keys::PublicKey;
use custody_pack::acknowledge::{acknowledge, AcknowledgeError};
use custody_pack::verify::TrustedKey;

use crate::cmd_verify::TrustArgs;

use crate::ledger_opts::{now_rfc3339, LedgerArg, Session, SignerArgs};
use crate::{output, Outcome};

/// Arguments of `custody acknowledge`.
#[derive(clap::Args)]
pub struct AcknowledgeArgs {
    #[command(flatten)]
    ledger: LedgerArg,
    #[command(flatten)]
    signer: SignerArgs,
    /// The receipt file.
    receipt: PathBuf,
    #[command(flatten)]
    trust: TrustArgs,
    /// Claimed time of the acknowledged event (RFC 3339) [default: now]
    #[arg(long)]
    claimed_time: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `custody acknowledge`. A receipt that does not check out is a verification
/// failure (exit 1); nothing is recorded.
pub fn run(args: AcknowledgeArgs) -> anyhow::Result<Outcome> {
    let trusted: Vec<PublicKey> = args
        .trust
        .trusted()?
        .iter()
        .map(TrustedKey::public_key)
        .collect();
    let revoked = args.trust.revoked()?;
    let bytes = std::fs::File::open(&args.receipt)
        .and_then(custody_core::canonical::read_for_strict)
        .with_context(|| format!("cannot read receipt {}", args.receipt.display()))?;
    let mut session = Session::open(&args.ledger, &args.signer)?;
    let claimed = args.claimed_time.clone().unwrap_or_else(now_rfc3339);
    let outcome = match acknowledge(
        &mut session.ledger,
        &bytes,
        &trusted,
        &revoked,
        &session.actor,
        &session.log_key,
        &claimed,
    ) {
        Ok(outcome) => outcome,
        Err(AcknowledgeError::Ledger(e)) => {
            return Err(anyhow::Error::new(e).context(format!(
                "cannot acknowledge {}; nothing was recorded",
                args.receipt.display()
            )))
        }
        Err(refusal) => {
            output::eprint(&output::line(&format!(
                "custody: {}: receipt refused: {refusal}; nothing was recorded",
                args.receipt.display()
            )));
            return Ok(Outcome::Failed);
        }
    };
    let body = &outcome.receipt.receipt.receipt;
    if args.json {
        output::print_json(&serde_json::json!({
            "receipt": args.receipt.display().to_string(),
            "package_id": body.package_id,
            "package_digest": body.package_digest,
            "receiver": body.receiver.authority,
            "receiver_key": body.receiver.key,
            "sealed_seq": outcome.sealed_seq,
            "acknowledged_seq": outcome.acknowledged_seq,
            "checkpoint_size": outcome.checkpoint_size,
            "recorded": outcome.recorded,
        }))?;
    } else if !outcome.recorded {
        output::print(&format!(
            "already acknowledged: package {} (sha256 {}) was acknowledged at seq {}; nothing was recorded\n",
            body.package_id, body.package_digest, outcome.acknowledged_seq,
        ))?;
    } else {
        let text = [
            format!(
                "acknowledged receipt for package {} from {}",
                body.package_id, body.receiver.authority
            ),
            format!("  package sha256: {}", body.package_digest),
            format!(
                "  recorded acknowledged (seq {}); checkpoint at size {} cosigned by {} is kept as an outside checkpoint",
                outcome.acknowledged_seq, outcome.checkpoint_size, body.receiver.key
            ),
        ]
        .iter()
        .map(|l| output::line(l))
        .collect::<String>();
        output::print(&text)?;
    }
    Ok(Outcome::Ok)
}
