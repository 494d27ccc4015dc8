//! `custody init`: create a ledger, its log key, and enrol the first actor.

use std::path::PathBuf;

use anyhow::Context;
use custody_core::keys::{ActorInfo, Identity};
use custody_store::signer::signer_state_path;
use custody_store::Ledger;

use crate::ledger_opts::{load_key, log_key_path, LedgerArg};
use crate::{output, Outcome};

/// Arguments of `custody init`.
#[derive(clap::Args)]
pub struct InitArgs {
    #[command(flatten)]
    ledger: LedgerArg,
    /// The first actor's private key file; its holder is enrolled by the first entry.
    #[arg(long, env = "CUSTODY_KEY")]
    key: PathBuf,
    /// The log's origin: a unique name for this ledger, e.g. ledger.pj.example.fr/lyon
    /// (the first line of every checkpoint; also the log key's name).
    #[arg(long)]
    origin: String,
    /// The log key that signs checkpoints: used if it exists, otherwise created there
    /// (mode 0600); its signer state is kept beside it as FILE.state [default: <log key
    /// directory>/<origin>.key, the directory being $CUSTODY_LOG_KEY_DIR, else
    /// $XDG_CONFIG_HOME/custody/log-keys, else ~/.config/custody/log-keys]
    #[arg(long, env = "CUSTODY_LOG_KEY")]
    log_key: Option<PathBuf>,
    /// The first actor's full name as written (spaces, diacritics, any script), e.g.
    /// "Émilie Durand-Noël"; recorded beside the key name [default: the key file's
    /// Custody-Full-Name, if any]
    #[arg(long)]
    full_name: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `custody init`.
pub fn run(args: InitArgs) -> anyhow::Result<Outcome> {
    let path = &args.ledger.ledger;
    // A PostgreSQL URL is shown without its password.
    let shown = custody_store::ledger::shown_location(path);
    if path.exists() {
        anyhow::bail!(
            "{}: already exists; refusing to initialise over it (choose another --ledger)",
            path.display()
        );
    }
    let mut actor = load_key(&args.key, "first actor key (--key)")?;
    if let Some(full_name) = &args.full_name {
        let info = custody_core::keys::ActorInfo {
            full_name: Some(full_name.clone()),
            ..actor.info().clone()
        };
        actor = actor.with_info(info).context("invalid --full-name")?;
    }
    let log_path = log_key_path(&args.origin, args.log_key.as_deref())?;
    let (log_key, created_log_key) = if log_path.exists() {
        (load_key(&log_path, "log key (--log-key)")?, false)
    } else {
        let info = ActorInfo {
            name: args.origin.clone(),
            role: Some("log".to_owned()),
            organisation: None,
            jurisdiction: None,
            full_name: None,
        };
        let key = Identity::generate(info).with_context(|| {
            format!(
                "cannot create a log key named after origin {:?} (the origin must be a valid key name: no spaces, no '+')",
                args.origin
            )
        })?;
        if let Some(dir) = log_path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        key.save(&log_path)
            .with_context(|| format!("cannot write log key {}", log_path.display()))?;
        (key, true)
    };
    let state = signer_state_path(&log_path);
    let ledger =
        match Ledger::init_with_signer_state(path, &args.origin, &actor, &log_key, Some(&state)) {
            Ok(ledger) => ledger,
            Err(err) => {
                if created_log_key {
                    // The key was made a moment ago for this ledger only; leave nothing behind.
                    let _ = std::fs::remove_file(&log_path);
                }
                return Err(anyhow::Error::new(err)
                    .context(format!("cannot create ledger {}", shown.display())));
            }
        };
    let (_, checkpoint) = ledger
        .latest_checkpoint()
        .context("ledger created, but its first checkpoint cannot be read")?;
    let log_verifier = ledger.log_verifier_key().to_string();
    if args.json {
        output::print_json(&serde_json::json!({
            "ledger": shown,
            "origin": ledger.origin(),
            "log_key_file": log_path,
            "log_key_created": created_log_key,
            "signer_state_file": state,
            "log_verifier_key": log_verifier,
            "first_actor": actor.info().name,
            "first_actor_full_name": actor.info().full_name,
            "checkpoint": checkpoint,
        }))?;
        return Ok(Outcome::Ok);
    }
    let made = if created_log_key {
        "created"
    } else {
        "existing"
    };
    output::print(&format!(
        "ledger:           {}\norigin:           {}\nlog key:          {} ({made})\nsigner state:     {}\nlog verifier key: {log_verifier}\nfirst actor:      {}\n\ncheckpoint:\n{checkpoint}",
        shown.display(),
        ledger.origin(),
        log_path.display(),
        state.display(),
        crate::cmd_actor::shown_actor(&actor.info().name, actor.info().full_name.as_deref()),
    ))?;
    Ok(Outcome::Ok)
}

/// Creates the log key directory (and its parents) readable by its owner only.
fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create log key directory {}", dir.display()))
}
