//! `custody ledger verify|info|reindex|snapshot|export-entry`: audit and maintain a ledger file.

use std::path::PathBuf;

use anyhow::Context;

use crate::ledger_opts::{log_key_path, LedgerArg};
use crate::{output, Outcome};
use custody_store::ledger::MAX_CHECKPOINT_NOTE_BYTES;
use custody_store::signer::signer_state_path;

/// `custody ledger` subcommands.
#[derive(clap::Subcommand)]
pub enum LedgerCommand {
    /// Recompute every leaf, signature, rule, root and checkpoint, and check the ledger
    /// against checkpoints held outside it. Exit 0 verified, 1 findings, 2 could not run.
    #[command(after_help = crate::EXIT_CODES)]
    Verify {
        #[command(flatten)]
        ledger: LedgerArg,
        /// A signed checkpoint of this ledger kept elsewhere (e.g. saved from
        /// `custody checkpoint` earlier); repeatable. Receipts imported into the ledger are
        /// checked too.
        #[arg(long = "checkpoint")]
        checkpoints: Vec<PathBuf>,
        /// The log signer's state (the last checkpoint the log key signed): a ledger shorter
        /// than it or inconsistent with it is reported [default: $CUSTODY_LOG_KEY.state, else
        /// <log key directory>/<origin>.key.state, when it exists]
        #[arg(long)]
        signer_state: Option<PathBuf>,
        /// Verify a ledger published as C2SP tlog-tiles instead of a ledger file, from its
        /// tiles alone: an `http://` or `https://` URL prefix (where `checkpoint` and `tile/`
        /// are served), or a directory written by `ledger export-tiles`.
        #[arg(
            long,
            value_name = "URL|DIR",
            requires = "log_verifier_key",
            conflicts_with = "signer_state"
        )]
        url: Option<String>,
        /// With --url: the ledger's log verifier key (`name+keyid+base64`, as `ledger info`
        /// shows it); the published checkpoint must be signed by it.
        #[arg(long, value_name = "KEY", requires = "url")]
        log_verifier_key: Option<String>,
        /// With --url: where checkpoints seen before are kept, one directory per origin; the
        /// published ledger must be consistent with every one of them [default:
        /// $CUSTODY_SEEN_DIR, else $XDG_STATE_HOME/custody/seen-checkpoints, else
        /// ~/.local/state/custody/seen-checkpoints]
        #[arg(long, value_name = "DIR", requires = "url")]
        seen_dir: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show the ledger's origin, size, log verifier key and latest checkpoint.
    Info {
        #[command(flatten)]
        ledger: LedgerArg,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the actor, case and item index from the entries alone.
    Reindex {
        #[command(flatten)]
        ledger: LedgerArg,
    },
    /// Write a snapshot of the verified state, signed by the log key, so that later opens
    /// replay only the entries after it (appends write one every
    /// `custody_store::snapshot::SNAPSHOT_INTERVAL` entries on their own). Needs the log key.
    Snapshot {
        #[command(flatten)]
        ledger: LedgerArg,
        /// The ledger's log key; its signer state is kept beside it as FILE.state [default:
        /// <log key directory>/<origin>.key, see CUSTODY_LOG_KEY_DIR]
        #[arg(long, env = "CUSTODY_LOG_KEY")]
        log_key: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write one entry's exact bytes (its Merkle leaf) to stdout, for `custody verify-proof --entry`.
    ExportEntry {
        #[command(flatten)]
        ledger: LedgerArg,
        /// The entry's sequence number.
        seq: u64,
    },
    /// Publish the ledger as C2SP tlog-tiles: its newest verified checkpoint, hash tiles
    /// (`tile/<L>/<N>[.p/<W>]`) and entry bundles (`tile/entries/<N>[.p/<W>]`), written to a
    /// new directory that appears whole or not at all. Serve it with any static web server.
    #[command(after_help = crate::EXIT_CODES)]
    ExportTiles {
        #[command(flatten)]
        ledger: LedgerArg,
        /// The directory to create (must not exist).
        dir: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `custody ledger ...`.
pub fn run(cmd: LedgerCommand) -> anyhow::Result<Outcome> {
    match cmd {
        LedgerCommand::Verify {
            url: Some(url),
            log_verifier_key,
            seen_dir,
            checkpoints,
            json,
            ..
        } => crate::published::verify_url(
            &url,
            log_verifier_key.as_deref().unwrap_or_default(),
            seen_dir,
            &checkpoints,
            json,
        ),
        LedgerCommand::Verify {
            ledger,
            checkpoints,
            signer_state,
            json,
            ..
        } => verify(&ledger, &checkpoints, signer_state, json),
        LedgerCommand::Info { ledger, json } => info(&ledger, json),
        LedgerCommand::Reindex { ledger } => {
            let mut opened = ledger.open()?;
            opened.reindex().with_context(|| {
                format!("cannot rebuild the index of {}", ledger.shown().display())
            })?;
            let size = opened.size().context("cannot read the ledger size")?;
            output::print(&format!(
                "reindexed {}: {size} entries replayed\n",
                ledger.shown().display()
            ))?;
            Ok(Outcome::Ok)
        }
        LedgerCommand::Snapshot {
            ledger,
            log_key,
            json,
        } => snapshot(&ledger, log_key.as_deref(), json),
        LedgerCommand::ExportEntry { ledger, seq } => {
            let entry = ledger
                .open()?
                .entry(seq)
                .with_context(|| format!("cannot read entry {seq}"))?;
            let mut out = std::io::stdout().lock();
            std::io::Write::write_all(&mut out, &entry.bytes)?;
            std::io::Write::flush(&mut out)?;
            Ok(Outcome::Ok)
        }
        LedgerCommand::ExportTiles { ledger, dir, json } => export_tiles(&ledger, &dir, json),
    }
}

/// `custody ledger export-tiles DIR`.
fn export_tiles(ledger: &LedgerArg, dir: &std::path::Path, json: bool) -> anyhow::Result<Outcome> {
    let opened = ledger.open()?;
    let exported = custody_store::tiles::export(&opened, dir)
        .with_context(|| format!("cannot export tiles to {}", dir.display()))?;
    if json {
        output::print_json(&serde_json::json!({
            "dir": dir.display().to_string(),
            "origin": opened.origin(),
            "size": exported.size,
            "tiles": exported.tiles,
            "entry_bundles": exported.bundles,
            "custody_entry_bundles": exported.custody_bundles,
            "omitted_entry_bundles": exported
                .omitted
                .iter()
                .map(|(path, seq)| serde_json::json!({"path": path, "seq": seq}))
                .collect::<Vec<_>>(),
            "checkpoint": exported.checkpoint,
        }))?;
    } else {
        let mut text = output::line(&format!(
            "exported {} entries of {} to {}: {} tiles, {} entry bundles, {} Custody entry bundles",
            exported.size,
            opened.origin(),
            dir.display(),
            exported.tiles,
            exported.bundles,
            exported.custody_bundles
        ));
        for (path, seq) in &exported.omitted {
            text.push_str(&output::line(&format!(
                "  not written: {path} (entry {seq} is longer than a tlog-tiles bundle carries; it is in custody/entries/)"
            )));
        }
        output::print(&text)?;
    }
    Ok(Outcome::Ok)
}

/// `custody ledger snapshot`: a signed snapshot of the verified state, written with the log
/// key (checked against the ledger before anything is read or written).
fn snapshot(
    ledger: &LedgerArg,
    log_key: Option<&std::path::Path>,
    json: bool,
) -> anyhow::Result<Outcome> {
    let mut opened = ledger.open()?;
    let path = log_key_path(opened.origin(), log_key)?;
    let key = crate::ledger_opts::load_key(&path, "log key (--log-key)")?;
    if key.verifier_key() != *opened.log_verifier_key() {
        anyhow::bail!(
            "the log key {} ({}) is not the one ledger {} names ({}): wrong --log-key, or the ledger file was altered; no snapshot was written",
            path.display(),
            key.verifier_key(),
            opened.path().display(),
            opened.log_verifier_key()
        );
    }
    opened.set_signer_state(&signer_state_path(&path));
    let size = opened
        .write_snapshot(&key)
        .with_context(|| format!("cannot write a snapshot of {}", opened.path().display()))?;
    if json {
        output::print_json(&serde_json::json!({
            "ledger": opened.path().display().to_string(),
            "snapshot_size": size,
        }))?;
    } else {
        output::print(&format!(
            "snapshot of {} written at size {size}, signed by the log key\n",
            opened.path().display()
        ))?;
    }
    Ok(Outcome::Ok)
}

/// `custody ledger info`: what identifies the ledger and how far it is signed, from the
/// verified entries (an altered ledger is an error, not an answer).
fn info(ledger: &LedgerArg, json: bool) -> anyhow::Result<Outcome> {
    let opened = ledger.open()?;
    let (checkpoint, note) = opened.latest_checkpoint().with_context(|| {
        format!(
            "cannot read the latest checkpoint of {}",
            ledger.shown().display()
        )
    })?;
    let size = opened.size().context("cannot read the ledger size")?;
    let checkpoint_time = crate::cmd_log::checkpoint_time(&opened, checkpoint.size)?;
    if json {
        output::print_json(&serde_json::json!({
            "ledger": ledger.shown().display().to_string(),
            "origin": opened.origin(),
            "size": size,
            "log_verifier_key": opened.log_verifier_key().to_string(),
            "latest_checkpoint": crate::cmd_log::checkpoint_json(&opened, &checkpoint, &note)?,
        }))?;
        return Ok(Outcome::Ok);
    }
    let rows = [
        ("ledger", ledger.shown().display().to_string()),
        ("origin", opened.origin().to_owned()),
        ("size", format!("{size} entries")),
        ("log verifier key", opened.log_verifier_key().to_string()),
        ("latest checkpoint", format!("size {}", checkpoint.size)),
        (
            "checkpoint time",
            checkpoint_time.map_or_else(|| "-".to_owned(), |t| output::time(&t)),
        ),
        (
            "checkpoint root",
            custody_core::hex::encode(&checkpoint.root),
        ),
    ];
    output::data(&output::fields("", &rows))?;
    Ok(Outcome::Ok)
}

/// Reads a checkpoint note an auditor brings: a regular file of at most
/// `MAX_CHECKPOINT_NOTE_BYTES` (a named pipe or device would block or never end).
pub(crate) fn read_checkpoint_file(path: &std::path::Path) -> anyhow::Result<String> {
    use std::io::Read;
    if !std::fs::metadata(path)?.is_file() {
        anyhow::bail!("not a regular file");
    }
    let mut note = String::new();
    std::fs::File::open(path)?
        .take(MAX_CHECKPOINT_NOTE_BYTES + 1)
        .read_to_string(&mut note)?;
    if note.len() as u64 > MAX_CHECKPOINT_NOTE_BYTES {
        anyhow::bail!("longer than {MAX_CHECKPOINT_NOTE_BYTES} bytes, no checkpoint note is");
    }
    Ok(note)
}

/// The log signer's state a verification checks against when none is given:
/// `$CUSTODY_LOG_KEY.state`, else `<log key directory>/<origin>.key.state`, when it exists.
pub(crate) fn default_signer_state(ledger: &custody_store::Ledger) -> Option<PathBuf> {
    log_key_path(
        ledger.origin(),
        std::env::var_os("CUSTODY_LOG_KEY")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .as_deref(),
    )
    .ok()
    .map(|key| signer_state_path(&key))
    .filter(|state| state.exists())
}

fn verify(
    ledger: &LedgerArg,
    files: &[PathBuf],
    signer_state: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<Outcome> {
    let mut notes = Vec::with_capacity(files.len());
    for path in files {
        let note = read_checkpoint_file(path)
            .with_context(|| format!("cannot read checkpoint file {}", path.display()))?;
        notes.push(note);
    }
    let opened = ledger.open()?;
    let signer_state = signer_state.or_else(|| default_signer_state(&opened));
    let report = opened
        .verify_with_signer_state(&notes, signer_state.as_deref())
        .with_context(|| format!("cannot verify {}", ledger.shown().display()))?;
    let stored = opened
        .outside_checkpoint_count()
        .with_context(|| format!("cannot read {}", ledger.shown().display()))?;
    let verified = report.findings.is_empty();
    let messages: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    if json {
        let findings: Vec<LedgerFindingJson<'_>> = report
            .findings
            .iter()
            .zip(&messages)
            .map(|(finding, message)| LedgerFindingJson { finding, message })
            .collect();
        output::print_json(&serde_json::json!({
            "ledger": ledger.shown(),
            "verdict": output::Verdict::of(verified),
            "origin": opened.origin(),
            "size": report.size,
            "outside_checkpoints_given": files.len(),
            "outside_checkpoints_stored": stored,
            "signer_state": signer_state,
            "findings": findings,
        }))?;
    } else if verified {
        output::verdict(&format!(
            "verified: {} ({} entries, origin {}; checked against {} stored and {} given outside checkpoint(s){})\n",
            ledger.shown().display(),
            report.size,
            opened.origin(),
            stored,
            files.len(),
            signer_state
                .as_ref()
                .map(|p| format!(" and the log signer state {}", p.display()))
                .unwrap_or_default()
        ))?;
    } else {
        let mut text = format!(
            "FAILED: {} ({} entries): {} finding(s)\n",
            ledger.shown().display(),
            report.size,
            messages.len()
        );
        for m in &messages {
            text.push_str(&output::line(&format!("  - {m}")));
        }
        output::verdict(&text)?;
    }
    Ok(if verified {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}

/// A ledger finding in the common shape: `code` and its context fields (`seq`, `size`, …)
/// from the library, and the `message` a person reads.
#[derive(serde::Serialize)]
pub(crate) struct LedgerFindingJson<'a> {
    #[serde(flatten)]
    pub(crate) finding: &'a custody_store::verify::LedgerFinding,
    pub(crate) message: &'a str,
}
