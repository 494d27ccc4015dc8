//! Options and helpers shared by the ledger commands: where the ledger and the keys are,
//! opening them, and the hints printed when the ledger refuses an event.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Context;
use custody_core::keys::Identity;
use custody_store::signer::signer_state_path;
use custody_store::{Appended, EventDraft, Ledger, StoreError};

/// Which ledger to use.
#[derive(clap::Args, Debug)]
pub struct LedgerArg {
    /// The ledger file.
    #[arg(long, env = "CUSTODY_LEDGER", default_value = "custody.db")]
    pub ledger: PathBuf,
}

impl LedgerArg {
    /// Opens the ledger, naming it in any error.
    pub fn open(&self) -> anyhow::Result<Ledger> {
        Ledger::open(&self.ledger).map_err(|err| {
            let shown = self.shown().display().to_string();
            // Most store errors already start with the ledger's location: say it once.
            let context = if err.to_string().contains(&shown) {
                "cannot open the ledger".to_owned()
            } else {
                format!("cannot open ledger {shown}")
            };
            anyhow::Error::new(err).context(context)
        })
    }

    /// The ledger's location as every message and report shows it: a database URL without
    /// its password (`custody_store::ledger::shown_location`).
    pub fn shown(&self) -> PathBuf {
        custody_store::ledger::shown_location(&self.ledger)
    }
}

/// Who signs: the acting actor's key and the ledger's log key.
#[derive(clap::Args, Debug)]
pub struct SignerArgs {
    /// The acting actor's private key file.
    #[arg(long, env = "CUSTODY_KEY")]
    pub key: PathBuf,
    /// The ledger's log key (signs checkpoints); its signer state is kept beside it as
    /// FILE.state [default: <log key directory>/<origin>.key, see CUSTODY_LOG_KEY_DIR]
    #[arg(long, env = "CUSTODY_LOG_KEY")]
    pub log_key: Option<PathBuf>,
}

/// The environment variable naming the directory of log keys and their signer states.
pub const LOG_KEY_DIR_ENV: &str = "CUSTODY_LOG_KEY_DIR";

/// An open ledger with the keys needed to append to it.
pub struct Session {
    /// The ledger.
    pub ledger: Ledger,
    /// The acting actor.
    pub actor: Identity,
    /// The log key.
    pub log_key: Identity,
}

impl Session {
    /// Opens the ledger and loads both keys.
    pub fn open(ledger: &LedgerArg, signer: &SignerArgs) -> anyhow::Result<Session> {
        let mut opened = ledger.open()?;
        let actor = load_key(&signer.key, "actor key (--key)")?;
        let log_path = log_key_path(opened.origin(), signer.log_key.as_deref())?;
        if !log_path.exists() {
            anyhow::bail!(
                "no log key for ledger {} (origin {}) at {}: appending signs a checkpoint, and the log key lives only where checkpoints are signed, not beside the ledger; give it with --log-key FILE (or CUSTODY_LOG_KEY), or set {LOG_KEY_DIR_ENV} to the directory that holds it",
                ledger.shown().display(),
                opened.origin(),
                log_path.display()
            );
        }
        let log_key = load_key(&log_path, "log key (--log-key)")?;
        // The log key this process holds is the anchor, not the verifier key stored in the
        // ledger file (which SQL can replace): refuse before anything is read or written.
        if log_key.verifier_key() != *opened.log_verifier_key() {
            anyhow::bail!(
                "the log key {} ({}) is not the one ledger {} names ({}): wrong --log-key, or the ledger file was altered; nothing was read or recorded",
                log_path.display(),
                log_key.verifier_key(),
                ledger.shown().display(),
                opened.log_verifier_key()
            );
        }
        opened.set_signer_state(&signer_state_path(&log_path));
        Ok(Session {
            ledger: opened,
            actor,
            log_key,
        })
    }

    /// Appends one event, explaining a refusal.
    pub fn append(&mut self, draft: EventDraft) -> anyhow::Result<Appended> {
        let mut out = self.append_batch(vec![draft])?;
        Ok(out.remove(0))
    }

    /// Appends events as one all-or-nothing batch, explaining a refusal.
    pub fn append_batch(&mut self, drafts: Vec<EventDraft>) -> anyhow::Result<Vec<Appended>> {
        self.append_batch_if(drafts, |_| Ok(()))
    }

    /// [`Session::append_batch`] if `precondition` holds against the verified ledger inside
    /// the append's transaction (see [`Ledger::append_batch_if`]); its error is returned as
    /// it is, and nothing is recorded.
    pub fn append_batch_if(
        &mut self,
        drafts: Vec<EventDraft>,
        precondition: impl FnOnce(&custody_store::LedgerView<'_>) -> anyhow::Result<()>,
    ) -> anyhow::Result<Vec<Appended>> {
        let what = describe_drafts(&drafts);
        match self
            .ledger
            .append_batch_if(drafts, &self.actor, &self.log_key, precondition)
        {
            Ok(Ok(appended)) => Ok(appended),
            Ok(Err(refused)) => Err(refused),
            Err(err) => Err(self.explain(err, &what)),
        }
    }

    /// A refusal as the investigator should read it: what was refused, where, why (with
    /// actor keys shown by name), and what to do next. Other failures keep their chain.
    fn explain(&self, err: StoreError, what: &str) -> anyhow::Error {
        let context = format!(
            "ledger {} refused {what}; nothing was recorded",
            self.ledger.path().display()
        );
        let Some(hint) = hint(&err) else {
            return anyhow::Error::new(err).context(context);
        };
        let mut reason = err.to_string();
        if let Ok(names) = actor_names(&self.ledger) {
            for (key, name) in &names {
                reason = reason.replace(key.as_str(), name);
            }
        }
        // One line: the error is printed escaped, where a line break would show as `\u{a}`.
        anyhow::anyhow!("{context}: {reason}; what to do: {hint}")
    }
}

fn describe_drafts(drafts: &[EventDraft]) -> String {
    let kinds: Vec<&str> = drafts.iter().map(|d| d.kind.as_str()).collect();
    let items: Vec<&str> = drafts
        .iter()
        .flat_map(|d| d.items.iter().map(String::as_str))
        .collect();
    if items.is_empty() {
        kinds.join(", ")
    } else {
        format!("{} for {}", kinds.join(", "), items.join(", "))
    }
}

/// What an investigator can do about a refusal.
fn hint(err: &StoreError) -> Option<String> {
    Some(match err {
        StoreError::AlreadyCheckedOut { item, .. } => {
            format!("check {item} in first: custody event {item} checked-in")
        }
        StoreError::WrongItemState { item, kind, .. } => {
            format!("item {item} cannot take {kind} now; see its history with: custody log {item}")
        }
        StoreError::ItemNotAcquired { item } => {
            format!("no item {item} in this ledger; list items with `custody log --case REF` or acquire it with `custody acquire`")
        }
        StoreError::ItemDestroyed { item, .. } => {
            format!("item {item} was destroyed; only `custody event {item} note` may follow")
        }
        StoreError::DuplicateItem { item, .. } => {
            format!("item ids are unique; choose another --item than {item}, or leave it out for a generated id")
        }
        StoreError::UnknownActor { .. } => {
            "enrol the key first: custody actor enroll --pubkey ... (signed by an enrolled actor)"
                .to_owned()
        }
        StoreError::RevokedActor { .. } | StoreError::RotatedActor { .. } => {
            "sign with the actor's current key (--key)".to_owned()
        }
        StoreError::BackDated { .. } | StoreError::ClaimedInFuture { .. } => {
            "check --claimed-time (RFC 3339 with offset, e.g. 2026-03-01T14:30:00+01:00)".to_owned()
        }
        StoreError::ClockWentBackwards { .. } => {
            "this machine's clock is behind the ledger's last entry; correct the clock and retry"
                .to_owned()
        }
        StoreError::SignerStateAhead { .. }
        | StoreError::SignerStateFork { .. }
        | StoreError::SignedCheckpointMismatch { .. }
        | StoreError::SignedCheckpointAhead { .. }
        | StoreError::UnverifiedEntry { .. } => {
            "the ledger file no longer holds what its log key signed: run `custody ledger verify` and restore the ledger from a trusted copy (keep the signer state as it is)".to_owned()
        }
        StoreError::CaseNotOpened { case } => {
            format!("open the case first: custody case open {case} --title TITLE")
        }
        StoreError::WrongCase { item, item_case, .. } => {
            format!("record it under the item's own case: --case {item_case}, or leave --case out (see: custody log {item})")
        }
        StoreError::MissingRecipient { kind } => {
            format!("say to whom: custody event ITEM {kind} --to AUTHORITY")
        }
        StoreError::MissingAuthority { kind } => format!(
            "name the order, request or provision it rests on: custody event ITEM {kind} --authority TEXT"
        ),
        StoreError::LastActiveActor { .. } => {
            "enrol another actor first (custody actor enroll), or rotate the key instead (custody actor rotate --new-key FILE)".to_owned()
        }
        StoreError::WrongLogKey { .. } => {
            "give this ledger's log key with --log-key (default <log key directory>/<origin>.key)"
                .to_owned()
        }
        _ => return None,
    })
}

/// The log key file: the one given, or `<log key directory>/<origin>.key`, where the
/// directory is `$CUSTODY_LOG_KEY_DIR`, else `$XDG_CONFIG_HOME/custody/log-keys`, else
/// `$HOME/.config/custody/log-keys`. Never beside the ledger: whoever can write the ledger
/// file must not thereby hold the key that signs its checkpoints.
pub fn log_key_path(origin: &str, given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path.to_path_buf());
    }
    Ok(log_key_dir()?.join(log_key_file_name(origin)))
}

fn log_key_dir() -> anyhow::Result<PathBuf> {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = set(LOG_KEY_DIR_ENV) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(config) = set("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(config).join("custody/log-keys"));
    }
    if let Some(home) = set("HOME") {
        return Ok(PathBuf::from(home).join(".config/custody/log-keys"));
    }
    anyhow::bail!(
        "no log key directory: give the log key with --log-key FILE, or set {LOG_KEY_DIR_ENV}"
    )
}

/// `<origin>.key` with every byte outside `[A-Za-z0-9._-]` percent-encoded, so that each
/// origin has its own file and no origin names a path elsewhere.
fn log_key_file_name(origin: &str) -> OsString {
    let mut name = String::with_capacity(origin.len() + 4);
    for byte in origin.bytes() {
        if byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'_')
            || (byte == b'.' && !name.is_empty())
        {
            name.push(char::from(byte));
        } else {
            name.push_str(&format!("%{byte:02X}"));
        }
    }
    name.push_str(".key");
    OsString::from(name)
}

/// Loads a private key, saying which one failed.
pub fn load_key(path: &Path, what: &str) -> anyhow::Result<Identity> {
    // Every key error names the file already.
    Identity::load(path).with_context(|| format!("cannot load {what}"))
}

/// Now, to the second, in UTC: the default claimed time.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    custody_store::ledger::format_utc(now.replace_nanosecond(0).unwrap_or(now))
}

/// Actor names by key hex, for rendering.
pub fn actor_names(ledger: &Ledger) -> anyhow::Result<BTreeMap<String, String>> {
    Ok(ledger
        .actors()
        .context("cannot read the actor index")?
        .into_iter()
        .map(|a| (a.key, a.name))
        .collect())
}

/// A key reference as typed: 64 hex digits, or the name of an enrolled, active actor.
/// Returns the key hex, or `None` when the text names no actor.
pub fn resolve_actor(ledger: &Ledger, reference: &str) -> anyhow::Result<Option<String>> {
    let lower = reference.to_ascii_lowercase();
    let actors = ledger.actors().context("cannot read the actor index")?;
    if actors.iter().any(|a| a.key == lower) {
        return Ok(Some(lower));
    }
    let named: Vec<_> = actors
        .iter()
        .filter(|a| a.name == reference && a.status == custody_store::ActorStatus::Active)
        .collect();
    match named.as_slice() {
        [one] => Ok(Some(one.key.clone())),
        [] => Ok(None),
        _ => anyhow::bail!(
            "{reference:?} names {} active actors; give the key in hex instead (see `custody actor list`)",
            named.len()
        ),
    }
}

/// Shortens a key hex for tables (the full key is in `--json` output).
pub fn short_key(key: &str) -> &str {
    key.get(..16).unwrap_or(key)
}
