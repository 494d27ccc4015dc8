//! `custody trust add|list|remove`: the trust store of foreign authorities' keys, and the
//! key arguments (`--trust`, `--revoked`) of the commands that use it.
//!
//! The store is a directory (`--trust-dir`, `CUSTODY_TRUST_DIR`, default
//! `$XDG_CONFIG_HOME/custody/trust`, else `~/.config/custody/trust`) handled by
//! [`custody_pack::trust`]; `verify`, `receive` and `acknowledge` read its signer entries
//! when no `--trust` is given.

use std::path::PathBuf;

use anyhow::Context;
use custody_pack::trust::{EntryKind, NewEntry, TrustEntry, TrustStore};
use custody_pack::verify::TrustedKey;

use crate::ledger_opts::now_rfc3339;
use crate::{output, Outcome};

/// The environment variable naming the trust store directory.
pub const TRUST_DIR_ENV: &str = "CUSTODY_TRUST_DIR";

/// Which trust store to use.
#[derive(clap::Args, Debug, Clone)]
pub struct TrustDirArg {
    /// The trust store directory [default: $XDG_CONFIG_HOME/custody/trust, else
    /// ~/.config/custody/trust]
    #[arg(long, env = TRUST_DIR_ENV, value_name = "DIR")]
    pub trust_dir: Option<PathBuf>,
}

impl TrustDirArg {
    /// The store named, or the default one.
    pub fn store(&self) -> anyhow::Result<TrustStore> {
        if let Some(dir) = &self.trust_dir {
            return Ok(TrustStore::at(dir));
        }
        let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Some(config) = set("XDG_CONFIG_HOME") {
            return Ok(TrustStore::at(PathBuf::from(config).join("custody/trust")));
        }
        if let Some(home) = set("HOME") {
            return Ok(TrustStore::at(
                PathBuf::from(home).join(".config/custody/trust"),
            ));
        }
        anyhow::bail!("no trust store directory: give it with --trust-dir DIR or {TRUST_DIR_ENV}")
    }

    /// The signer keys of the store, saying which store they come from (and warning when it
    /// holds none, since nothing will then be trusted).
    pub fn signer_keys(&self) -> anyhow::Result<Vec<TrustedKey>> {
        let store = self.store()?;
        let keys = store.trusted_keys(EntryKind::Signer)?;
        if keys.is_empty() {
            output::warn(&format!(
                "no key given with --trust and the trust store {} holds no signer key: no signature can be trusted (add the sender's key with `custody trust add NAME KEY`)",
                store.dir().display()
            ));
        } else {
            output::detail(&format!(
                "trusting {} signer key(s) from the trust store {}",
                keys.len(),
                store.dir().display()
            ));
        }
        Ok(keys)
    }
}

/// `custody trust` subcommands.
#[derive(clap::Subcommand)]
pub enum TrustCommand {
    /// Trust a foreign authority's public key (package and receipt signatures).
    Add {
        #[command(flatten)]
        store: TrustDirArg,
        /// The entry's name (letters, digits, '.', '_', '-'), e.g. bka-berlin.
        name: String,
        /// The key: a verifier key (name+keyid+base64), or a file holding one or a PEM
        /// public key; or an age recipient (age1…), trusted as a recipient that
        /// `custody seal --encrypt-to NAME` encrypts to.
        key: String,
        /// Whose key it is, how it was obtained and checked (one line).
        #[arg(long)]
        note: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the trusted keys.
    List {
        #[command(flatten)]
        store: TrustDirArg,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Stop trusting a key.
    Remove {
        #[command(flatten)]
        store: TrustDirArg,
        /// The entry's name.
        name: String,
    },
}

/// Runs `custody trust ...`.
pub fn run(cmd: TrustCommand) -> anyhow::Result<Outcome> {
    match cmd {
        TrustCommand::Add {
            store,
            name,
            key,
            note,
            json,
        } => {
            let store = store.store()?;
            let entry = if key.starts_with("age1") {
                let recipient: custody_pack::encrypt::EncryptionRecipient = key.parse()?;
                store
                    .add_recipient(name, &recipient, now_rfc3339(), note)
                    .context("cannot add the recipient")?
            } else {
                let key = read_key_argument(&key)?;
                store
                    .add(NewEntry {
                        name,
                        kind: EntryKind::Signer,
                        key,
                        added_time: now_rfc3339(),
                        note,
                    })
                    .context("cannot add the key")?
            };
            if json {
                output::print_json(&entry)?;
            } else {
                output::print(&output::line(&format!(
                    "trusted {} as {} entry {} in {}",
                    shown_key(&entry),
                    entry.kind.as_str(),
                    entry.name,
                    store.dir().display()
                )))?;
            }
        }
        TrustCommand::List { store, json } => {
            let store = store.store()?;
            let entries = store.entries()?;
            if json {
                output::print_json(&serde_json::json!({
                    "trust_dir": store.dir().display().to_string(),
                    "entries": entries,
                }))?;
            } else if entries.is_empty() {
                output::print(&output::line(&format!(
                    "no trusted keys in {}",
                    store.dir().display()
                )))?;
            } else {
                output::data(&list_text(&entries))?;
            }
        }
        TrustCommand::Remove { store, name } => {
            let store = store.store()?;
            let entry = store.remove(&name)?;
            output::print(&output::line(&format!(
                "removed {} entry {} ({}) from {}",
                entry.kind.as_str(),
                entry.name,
                shown_key(&entry),
                store.dir().display()
            )))?;
        }
    }
    Ok(Outcome::Ok)
}

fn shown_key(entry: &TrustEntry) -> &str {
    entry.verifier_key.as_deref().unwrap_or(&entry.public_key)
}

fn list_text(entries: &[TrustEntry]) -> String {
    let width = entries
        .iter()
        .map(|e| e.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut text = output::line(&format!(
        "{:<width$}  {:<6}  {:<20}  KEY",
        "NAME", "KIND", "ADDED (UTC)"
    ));
    for e in entries {
        text.push_str(&output::line(&format!(
            "{:<width$}  {:<6}  {:<20}  {}",
            e.name,
            e.kind.as_str(),
            output::time(&e.added_time),
            shown_key(e)
        )));
        if let Some(note) = &e.note {
            text.push_str(&output::line(&format!("{:<width$}  note: {note}", "")));
        }
    }
    text
}

/// A key as given on the command line: a verifier key, or a file holding a verifier key or
/// a PEM public key. A private key, a directory, a ZIP archive or a file too large to be a
/// key each get their own message, and no error quotes the file's content.
pub fn read_key_argument(given: &str) -> anyhow::Result<TrustedKey> {
    Ok(match custody_core::keys::GivenPublicKey::read(given)? {
        custody_core::keys::GivenPublicKey::Verifier(key) => TrustedKey::Verifier(key),
        custody_core::keys::GivenPublicKey::Public(key) => TrustedKey::Public(key),
    })
}
