//! `custody receive PKG.zip --into DIR [--trust KEY]... [--as AUTHORITY] [--receipt OUT.json]`
//! with the receiver's `--ledger`, `--key` and `--log-key`.
//!
//! Verifies the package (as `custody verify`, with `--expect-recipient` = `--as`); on any
//! finding prints the report, writes nothing anywhere and exits 1. Otherwise extracts the
//! bag into DIR (which must not exist), records one `received` entry per item in the
//! receiver's ledger and writes the signed receipt (default `<DIR>.receipt.json`).

use std::path::PathBuf;

use anyhow::Context;
use custody_pack::receive::{self, ReceiveError, ReceiveOptions};

use crate::cmd_verify::{conditions_text, print_report, report_json, TrustArgs};
use crate::ledger_opts::{LedgerArg, Session, SignerArgs};
use crate::{output, Outcome};

/// Arguments of `custody receive`.
#[derive(clap::Args)]
pub struct ReceiveArgs {
    /// The package.
    pub package: PathBuf,
    /// The new directory to extract the bag into.
    #[arg(long, value_name = "DIR")]
    pub into: PathBuf,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// The receiving authority: the package must be addressed to it.
    #[arg(long = "as", value_name = "AUTHORITY")]
    pub authority: Option<String>,
    /// Where to write the receipt [default: <DIR>.receipt.json].
    #[arg(long, value_name = "FILE")]
    pub receipt: Option<PathBuf>,
    #[command(flatten)]
    pub ledger: LedgerArg,
    #[command(flatten)]
    pub signer: SignerArgs,
    /// The package is age-encrypted: decrypt it with this age identity file
    /// (AGE-SECRET-KEY-1…, mode 0600) as it is read.
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// Print the verification report and outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `custody receive`.
pub fn run(args: ReceiveArgs) -> anyhow::Result<Outcome> {
    let options = ReceiveOptions {
        verify: args.trust.options()?,
        authority: args.authority.clone(),
        received_time: None,
    };
    let receipt_path = args.receipt.clone().unwrap_or_else(|| {
        // Through components, so that `DIR/` does not put the receipt inside DIR.
        let mut name = args.into.components().as_path().as_os_str().to_owned();
        name.push(".receipt.json");
        PathBuf::from(name)
    });
    let mut session = Session::open(&args.ledger, &args.signer)?;
    if args.authority.is_none() {
        output::warn(
            "no --as given: the package's addressee was not checked against this authority",
        );
    }
    // The package is copied once (its size in bytes), then what verification hashes is
    // hashed once from the copy (uncompressed): the bar counts both.
    let total = std::fs::metadata(&args.package)
        .ok()
        .map(|m| m.len())
        .zip(crate::cmd_verify::hashed_bytes(&args.package))
        .and_then(|(copy, hashed)| copy.checked_add(hashed));
    let bar = output::shared_progress(total, "receiving");
    let result = match &args.identity {
        None => receive::receive(
            &args.package,
            &args.into,
            &options,
            &mut session.ledger,
            &session.actor,
            &session.log_key,
            &receipt_path,
        ),
        Some(identity) => {
            let identities = custody_pack::encrypt::EncryptionIdentity::load_file(identity)?;
            receive::receive_encrypted(
                &args.package,
                &identities,
                &args.into,
                &options,
                &mut session.ledger,
                &session.actor,
                &session.log_key,
                &receipt_path,
            )
        }
    };
    bar.finish_and_clear();
    let outcome = match result {
        Ok(outcome) => {
            output::detail(&format!(
                "verified, extracted into {}, recorded {} received entr(y/ies), receipt written to {}",
                outcome.dir.display(),
                outcome.received_seqs.len(),
                receipt_path.display()
            ));
            outcome
        }
        Err(ReceiveError::Refused { report }) => {
            crate::cmd_verify::detail_steps(&report);
            if args.json {
                output::print_json(&report_json(&report))?;
            } else {
                print_report(&args.package, &report)?;
            }
            output::eprint(
                "custody: package refused; nothing was extracted, recorded or written\n",
            );
            return Ok(Outcome::Failed);
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot receive {}", args.package.display()))
        }
    };
    if args.json {
        output::print_json(&ReceivedJson {
            report: report_json(&outcome.report),
            package_digest: &outcome.package_digest,
            encrypted_digest: outcome.encrypted_digest.as_deref(),
            dir: outcome.dir.display().to_string(),
            received_seqs: &outcome.received_seqs,
            receipt: receipt_path.display().to_string(),
        })?;
    } else {
        let seqs = outcome
            .received_seqs
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let mut text = output::line(&format!(
            "received package {} ({} item(s))",
            outcome.statement.id,
            outcome.statement.items.len(),
        ));
        let mut rows = vec![
            ("into", outcome.dir.display().to_string()),
            ("recorded", format!("received at seq {seqs}")),
            ("receipt", receipt_path.display().to_string()),
        ];
        if let Some(encrypted) = &outcome.encrypted_digest {
            rows.push((
                "package sha256",
                format!("{} (decrypted)", outcome.package_digest),
            ));
            rows.push(("encrypted sha256", encrypted.clone()));
        }
        text.push_str(&output::fields("  ", &rows));
        output::print(&conditions_text(&outcome.statement, true))?;
        output::print(&text)?;
    }
    Ok(Outcome::Ok)
}

/// `custody receive --json` after a successful receipt: the verification report in the
/// common vocabulary, then what was written and recorded.
#[derive(serde::Serialize)]
struct ReceivedJson<'a> {
    #[serde(flatten)]
    report: crate::cmd_verify::ReportJson<'a>,
    package_digest: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    encrypted_digest: Option<&'a str>,
    dir: String,
    received_seqs: &'a [u64],
    receipt: String,
}
