//! `custody key new|show`

use std::path::PathBuf;

use crate::Outcome;

/// `custody key` subcommands.
#[derive(clap::Subcommand)]
pub enum KeyCommand {
    /// Generate a new Ed25519 identity; writes the private key (mode 0600) and prints the
    /// verifier key.
    New {
        /// Key name (no spaces, no '+'), e.g. marie.dupont@pj.interieur.fr
        #[arg(long)]
        name: String,
        /// Role, e.g. investigator.
        #[arg(long)]
        role: Option<String>,
        /// Organisation.
        #[arg(long)]
        org: Option<String>,
        /// ISO 3166-1 alpha-2 country code.
        #[arg(long)]
        jurisdiction: Option<String>,
        /// Where to write the private key.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the verifier key, key ID and PEM public key of a key file.
    Show {
        /// The private key file.
        #[arg(long, env = "CUSTODY_KEY")]
        key: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `custody key ...`.
pub fn run(cmd: KeyCommand) -> anyhow::Result<Outcome> {
    let _ = cmd;
    anyhow::bail!("not yet available")
}
