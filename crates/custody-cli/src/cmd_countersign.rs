//! `custody countersign PKG.zip --key KEY`: add one signature over the package's tag
//! manifest, leaving every other entry byte-identical.

use std::path::PathBuf;

use anyhow::Context;
use custody_pack::countersign::countersign;

use crate::ledger_opts::load_key;
use crate::{output, Outcome};

/// Arguments of `custody countersign`.
#[derive(clap::Args)]
pub struct CountersignArgs {
    /// The package.
    package: PathBuf,
    /// The countersigner's private key file.
    #[arg(long, env = "CUSTODY_KEY")]
    key: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `custody countersign`.
pub fn run(args: CountersignArgs) -> anyhow::Result<Outcome> {
    let signer = load_key(&args.key, "countersigning key (--key)")?;
    let outcome = countersign(&args.package, &signer)
        .with_context(|| format!("cannot countersign {}", args.package.display()))?;
    let sha256 = custody_core::hex::encode(&outcome.sha256);
    if args.json {
        output::print_json(&serde_json::json!({
            "path": outcome.path.display().to_string(),
            "signer": output::SignerJson::new(&outcome.key),
            "signature": outcome.signature_path,
            "sha256": sha256,
        }))?;
    } else {
        output::print(&format!(
            "countersigned {} by {}\n  added:  {}\n  sha256: {sha256}\n",
            outcome.path.display(),
            outcome.key,
            outcome.signature_path,
        ))?;
    }
    Ok(Outcome::Ok)
}
