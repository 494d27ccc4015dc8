//! `custody`: the command-line front end. Glue only: parse arguments, call the library
//! crates, render results, map them to exit codes.
//!
//! Exit codes: 0 verified / ok, 1 verification failed (tampering, mismatch, untrusted
//! signer), 2 usage or I/O error. A closed stdout (broken pipe) is not an error.

mod cmd_acknowledge;
mod cmd_acquire;
mod cmd_actor;
mod cmd_case;
mod cmd_countersign;
mod cmd_event;
mod cmd_hash;
mod cmd_init;
mod cmd_key;
mod cmd_ledger;
mod cmd_log;
mod cmd_proof;
mod cmd_receive;
mod cmd_seal;
mod cmd_verify;
mod ledger_opts;
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
    /// Create a ledger and its log key, enrolling the first actor.
    Init(cmd_init::InitArgs),
    /// Enrol, rotate, revoke and list the actors who sign events.
    #[command(subcommand)]
    Actor(cmd_actor::ActorCommand),
    /// Open and list cases.
    #[command(subcommand)]
    Case(cmd_case::CaseCommand),
    /// Hash files or directories and record them as acquired evidence items.
    Acquire(cmd_acquire::AcquireArgs),
    /// Record a custody event about an item.
    Event(Box<cmd_event::EventArgs>),
    /// Show the custody timeline of the ledger, an item or a case.
    Log(cmd_log::LogArgs),
    /// Print the latest signed checkpoint note.
    Checkpoint(cmd_log::CheckpointArgs),
    /// Make inclusion and consistency proofs.
    #[command(subcommand)]
    Prove(cmd_proof::ProveCommand),
    /// Check a proof offline against a signed checkpoint and the log's verifier key.
    VerifyProof(cmd_proof::VerifyProofArgs),
    /// Verify, reindex and export from a ledger.
    #[command(subcommand)]
    Ledger(cmd_ledger::LedgerCommand),
    /// Verify a package, or with --bagit a plain BagIt bag (directory or ZIP).
    Verify(cmd_verify::VerifyArgs),
    /// Verify a package, extract it, record it as received and write a signed receipt.
    Receive(Box<cmd_receive::ReceiveArgs>),
    /// Seal ledger items into a signed evidence package for another authority.
    Seal(Box<cmd_seal::SealArgs>),
    /// Add a signature to a sealed package, leaving everything else unchanged.
    Countersign(cmd_countersign::CountersignArgs),
    /// Record a receiving authority's receipt and keep its cosigned checkpoint.
    Acknowledge(cmd_acknowledge::AcknowledgeArgs),
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
        Command::Init(args) => cmd_init::run(args),
        Command::Actor(cmd) => cmd_actor::run(cmd),
        Command::Case(cmd) => cmd_case::run(cmd),
        Command::Acquire(args) => cmd_acquire::run(args),
        Command::Event(args) => cmd_event::run(*args),
        Command::Log(args) => cmd_log::run(args),
        Command::Checkpoint(args) => cmd_log::run_checkpoint(args),
        Command::Prove(cmd) => cmd_proof::run_prove(cmd),
        Command::VerifyProof(args) => cmd_proof::run_verify(args),
        Command::Ledger(cmd) => cmd_ledger::run(cmd),
        Command::Verify(args) => cmd_verify::run(args),
        Command::Receive(args) => cmd_receive::run(*args),
        Command::Seal(args) => cmd_seal::run(*args),
        Command::Countersign(args) => cmd_countersign::run(args),
        Command::Acknowledge(args) => cmd_acknowledge::run(args),
    }
}

fn main() -> ExitCode {
    let json = wants_json(std::env::args_os().skip(1));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // With --json, a usage error is a JSON error too; help and version print as usual.
        Err(err) if json && err.use_stderr() => {
            output::eprint_json_error("usage", &usage_message(&err));
            return ExitCode::from(2);
        }
        Err(err) => err.exit(),
    };
    match run(cli) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Err(err) if output::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) if json => {
            output::eprint_json_error(output::error_code(&err), &output::error_chain(&err));
            ExitCode::from(2)
        }
        Err(err) => {
            output::eprint(&output::line(&format!(
                "custody: error: {}",
                output::error_chain(&err)
            )));
            ExitCode::from(2)
        }
    }
}

/// Whether `--json` is among the arguments (before a `--` that ends the options): errors
/// are then reported as JSON, even those that stop argument parsing itself.
fn wants_json(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    args.take_while(|a| a != "--").any(|a| a == "--json")
}

/// A usage error's first line without clap's `error: ` prefix or terminal styling.
fn usage_message(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}
