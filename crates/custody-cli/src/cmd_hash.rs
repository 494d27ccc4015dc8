//! `custody hash FILE...`

use std::path::PathBuf;

use crate::Outcome;

/// Arguments of `custody hash`.
#[derive(clap::Args)]
pub struct HashArgs {
    /// Files to hash.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `custody hash`.
pub fn run(args: HashArgs) -> anyhow::Result<Outcome> {
    let _ = args;
    anyhow::bail!("not yet available")
}
