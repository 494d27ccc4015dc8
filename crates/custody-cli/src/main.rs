//! `custody`: the command-line front end. Glue only: parse arguments, call the library
//! crates, render results, map them to exit codes.
//!
//! Exit codes: 0 verified / ok, 1 verification failed (tampering, mismatch, untrusted
//! signer), 2 usage or I/O error. A closed stdout (broken pipe) is not an error.

mod cmd_acknowledge;
mod cmd_acquire;
mod cmd_actor;
mod cmd_audit;
mod cmd_case;
mod cmd_countersign;
mod cmd_event;
mod cmd_hash;
mod cmd_init;
mod cmd_item;
mod cmd_key;
mod cmd_ledger;
mod cmd_log;
mod cmd_proof;
mod cmd_receive;
mod cmd_seal;
mod cmd_serve;
mod cmd_show;
mod cmd_trust;
mod cmd_verify;
mod cmd_witness;
mod ledger_opts;
mod output;
mod published;
mod remote;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// The exit codes, shown in the top-level help and in every command that verifies.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  verified / done
  1  verification ran and failed (tampering, mismatch, untrusted or revoked signer)
  2  could not run: usage error, malformed or unreadable input, I/O error";

/// Chain-of-custody ledger and evidence packages for electronic evidence.
#[derive(Parser)]
#[command(
    name = "custody",
    version,
    about,
    propagate_version = true,
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// Print only errors and a verification's verdict line (nothing else on success); no
    /// progress bar.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Print per-step detail on stderr.
    #[arg(short, long, global = true)]
    verbose: bool,
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
    #[command(after_help = EXIT_CODES)]
    VerifyProof(cmd_proof::VerifyProofArgs),
    /// Verify, reindex and export from a ledger.
    #[command(subcommand)]
    Ledger(cmd_ledger::LedgerCommand),
    /// Publish the ledger as C2SP tlog-tiles over HTTP (read-only): /checkpoint,
    /// /tile/<L>/<N>[.p/<W>], /tile/entries/<N>[.p/<W>].
    Serve(cmd_serve::ServeArgs),
    /// Act as a C2SP tlog-witness for foreign ledgers: POST /add-checkpoint cosigns a
    /// checkpoint consistent with the last one cosigned for its log.
    Witness(cmd_witness::WitnessArgs),
    /// Verify a package, or with --bagit a plain BagIt bag (directory or ZIP).
    #[command(after_help = EXIT_CODES)]
    Verify(cmd_verify::VerifyArgs),
    /// Verify a package, extract it, record it as received and write a signed receipt.
    #[command(after_help = EXIT_CODES)]
    Receive(Box<cmd_receive::ReceiveArgs>),
    /// Seal ledger items into a signed evidence package for another authority.
    Seal(Box<cmd_seal::SealArgs>),
    /// Add a signature to a sealed package, leaving everything else unchanged.
    Countersign(cmd_countersign::CountersignArgs),
    /// Record a receiving authority's receipt and keep its cosigned checkpoint.
    #[command(after_help = EXIT_CODES)]
    Acknowledge(cmd_acknowledge::AcknowledgeArgs),
    /// Verify a ledger or a package in full and report each item's custody for a court:
    /// verdict, gaps, timeline; as text, JSON, self-contained HTML and CASE/UCO JSON-LD.
    Audit(Box<cmd_audit::AuditArgs>),
    /// Keep the keys of foreign authorities this authority trusts (the trust store).
    #[command(subcommand)]
    Trust(cmd_trust::TrustCommand),
    /// Print a shell completion script (e.g. `custody completions bash > /etc/bash_completion.d/custody`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// List items and show one item's custody: state, holder, place, hash checks, holders.
    #[command(subcommand)]
    Item(cmd_item::ItemCommand),
    /// Show what a package holds and claims, without verifying or extracting it.
    Show(cmd_show::ShowArgs),
    /// Print the man page (roff), e.g. `custody man > custody.1`, or write one page per
    /// command into a directory.
    Man {
        /// Write custody.1 and a page per subcommand (custody-verify.1, ...) into DIR
        /// instead of printing the top-level page.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<std::path::PathBuf>,
    },
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
        Command::Serve(args) => cmd_serve::run(args),
        Command::Witness(args) => cmd_witness::run(args),
        Command::Verify(args) => cmd_verify::run(args),
        Command::Receive(args) => cmd_receive::run(*args),
        Command::Seal(args) => cmd_seal::run(*args),
        Command::Countersign(args) => cmd_countersign::run(args),
        Command::Acknowledge(args) => cmd_acknowledge::run(args),
        Command::Audit(args) => cmd_audit::run(*args),
        Command::Trust(cmd) => cmd_trust::run(cmd),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "custody", &mut out);
            write_stdout(&out)
        }
        Command::Man { out_dir: None } => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            write_stdout(&out)
        }
        Command::Item(cmd) => cmd_item::run(cmd),
        Command::Show(args) => cmd_show::run(args),
        Command::Man { out_dir: Some(dir) } => write_man_pages(&dir),
    }
}

/// Writes a man page for the command and each subcommand into `dir`, each atomically
/// (temporary file in `dir`, synced, renamed over any older page of the same name).
fn write_man_pages(dir: &std::path::Path) -> anyhow::Result<Outcome> {
    use anyhow::Context;
    use std::io::Write;
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut pending = vec![root];
    let mut written = Vec::new();
    while let Some(cmd) = pending.pop() {
        pending.extend(cmd.get_subcommands().filter(|c| !c.is_hide_set()).cloned());
        let man = clap_mangen::Man::new(cmd);
        let path = dir.join(man.get_filename());
        let mut page = Vec::new();
        man.render(&mut page)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("cannot write man pages into {}", dir.display()))?;
        tmp.write_all(&page)
            .and_then(|()| tmp.as_file().sync_all())
            .with_context(|| format!("cannot write {}", path.display()))?;
        tmp.persist(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    written.sort();
    let list: String = written
        .iter()
        .map(|p| output::line(&p.display().to_string()))
        .collect();
    output::print(&list)?;
    Ok(Outcome::Ok)
}

/// Generated text (a completion script, a man page) exactly as generated.
fn write_stdout(bytes: &[u8]) -> anyhow::Result<Outcome> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(Outcome::Ok)
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
    output::set_verbosity(if cli.quiet {
        output::Verbosity::Quiet
    } else if cli.verbose {
        output::Verbosity::Verbose
    } else {
        output::Verbosity::Normal
    });
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
