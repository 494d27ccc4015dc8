//! `custody`: the command-line front end. Glue only: parse arguments, call the library
//! crates, render results, map them to exit codes.
//!
//! Exit codes: 0 verified / ok, 1 verification failed (tampering, mismatch, untrusted
//! signer), 2 usage or I/O error. A closed stdout (broken pipe) is not an error.

mod cmd_hash;
mod cmd_key;
mod cmd_verify;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Chain-of-custody ledger and evidence packages for electronic evidence.
#[derive(Parser)]
#[command(name = "custody", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create and inspect Ed25519 identities.
    #[command(subcommand)]
    Key(cmd_key::KeyCommand),
    /// Print size, SHA-256 and BLAKE3 of files.
    Hash(cmd_hash::HashArgs),
    /// Verify a package, or with --bagit a plain BagIt bag (directory or ZIP).
    Verify(cmd_verify::VerifyArgs),
}

/// What a command concluded, beyond "it ran".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Everything checked out.
    Ok,
    /// A verification found problems (exit 1).
    Failed,
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Key(cmd) => cmd_key::run(cmd),
        Command::Hash(args) => cmd_hash::run(args),
        Command::Verify(args) => cmd_verify::run(args),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Err(err) if output::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("custody: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
