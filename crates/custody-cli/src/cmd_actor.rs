//! `custody actor enroll|rotate|revoke|list`: who may sign custody events.

use std::path::{Path, PathBuf};

use anyhow::Context;
use custody_core::hex;
use custody_core::keys::{ActorInfo, PublicKey, VerifierKey};
use custody_store::{ActorStatus, EventDraft, EventFields, EventKind};

use crate::ledger_opts::{
    load_key, now_rfc3339, resolve_actor, short_key, LedgerArg, Session, SignerArgs,
};
use crate::{output, Outcome};

/// `custody actor` subcommands.
#[derive(clap::Subcommand)]
pub enum ActorCommand {
    /// Enrol a new actor's public key (signed by an enrolled actor).
    Enroll {
        #[command(flatten)]
        ledger: LedgerArg,
        #[command(flatten)]
        signer: SignerArgs,
        /// The new actor's public key: a PEM file, or a C2SP verifier key
        /// (name+keyid+base64), given directly or in a file.
        #[arg(long)]
        pubkey: String,
        /// Key name (no spaces, no '+'); defaults to the verifier key's name.
        #[arg(long)]
        name: Option<String>,
        /// Role, e.g. "evidence officer".
        #[arg(long)]
        role: Option<String>,
        /// Organisation.
        #[arg(long)]
        org: Option<String>,
        /// ISO 3166-1 alpha-2 country code, e.g. FR.
        #[arg(long)]
        jurisdiction: Option<String>,
        /// The holder's full name as written (spaces, diacritics, any script), e.g.
        /// "Émilie Durand-Noël"; recorded beside the key name.
        #[arg(long)]
        full_name: Option<String>,
        /// When it happened (RFC 3339 with offset) [default: now]
        #[arg(long)]
        claimed_time: Option<String>,
    },
    /// Replace the signing actor's key (--key) by a new one; the old key signs nothing after.
    Rotate {
        #[command(flatten)]
        ledger: LedgerArg,
        #[command(flatten)]
        signer: SignerArgs,
        /// The new private key file (its holder details are recorded).
        #[arg(long)]
        new_key: PathBuf,
        /// When it happened (RFC 3339 with offset) [default: now]
        #[arg(long)]
        claimed_time: Option<String>,
    },
    /// Revoke a key: events it signs from now on are refused.
    Revoke {
        #[command(flatten)]
        ledger: LedgerArg,
        #[command(flatten)]
        signer: SignerArgs,
        /// The key to revoke: its hex, or the name of an active actor.
        keyref: String,
        /// Why (recorded as the event's note).
        #[arg(long)]
        reason: Option<String>,
        /// When it happened (RFC 3339 with offset) [default: now]
        #[arg(long)]
        claimed_time: Option<String>,
    },
    /// List every actor ever enrolled.
    List {
        #[command(flatten)]
        ledger: LedgerArg,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `custody actor ...`.
pub fn run(cmd: ActorCommand) -> anyhow::Result<Outcome> {
    match cmd {
        ActorCommand::Enroll {
            ledger,
            signer,
            pubkey,
            name,
            role,
            org,
            jurisdiction,
            full_name,
            claimed_time,
        } => {
            let (key, key_name) = parse_public_key(&pubkey)?;
            let name = name.or(key_name).context(
                "--name is required when --pubkey is a PEM public key (a verifier key carries its own name)",
            )?;
            let info = ActorInfo {
                name,
                role,
                organisation: org,
                jurisdiction,
                full_name,
            };
            info.validate().context("invalid actor details")?;
            let key_hex = hex::encode(&key.to_bytes());
            let draft = EventDraft::new(
                EventKind::ActorEnrolled,
                claimed_time.unwrap_or_else(now_rfc3339),
            )
            .fields(EventFields {
                public_key: Some(key_hex.clone()),
                actor_info: Some(info.clone()),
                ..EventFields::default()
            });
            let mut session = Session::open(&ledger, &signer)?;
            let appended = session.append(draft)?;
            output::print(&output::line(&format!(
                "enrolled {} ({key_hex}) at seq {}",
                shown_actor(&info.name, info.full_name.as_deref()),
                appended.seq
            )))?;
        }
        ActorCommand::Rotate {
            ledger,
            signer,
            new_key,
            claimed_time,
        } => {
            let new = load_key(&new_key, "new key (--new-key)")?;
            let new_hex = hex::encode(&new.public_key().to_bytes());
            let mut session = Session::open(&ledger, &signer)?;
            let mut info = new.info().clone();
            if info.full_name.is_none() {
                // The same person keeps their full name when the new key file does not say.
                let old_hex = hex::encode(&session.actor.public_key().to_bytes());
                info.full_name = session
                    .ledger
                    .actors()
                    .context("cannot read the actors")?
                    .into_iter()
                    .find(|a| a.key == old_hex)
                    .and_then(|a| a.full_name);
            }
            let draft = EventDraft::new(
                EventKind::KeyRotated,
                claimed_time.unwrap_or_else(now_rfc3339),
            )
            .fields(EventFields {
                public_key: Some(new_hex.clone()),
                actor_info: Some(info),
                ..EventFields::default()
            });
            let old_hex = hex::encode(&session.actor.public_key().to_bytes());
            let appended = session.append(draft)?;
            output::print(&format!(
                "rotated {old_hex} -> {new_hex} at seq {}; sign with {} from now on\n",
                appended.seq,
                new_key.display()
            ))?;
        }
        ActorCommand::Revoke {
            ledger,
            signer,
            keyref,
            reason,
            claimed_time,
        } => {
            let mut session = Session::open(&ledger, &signer)?;
            let key = resolve_actor(&session.ledger, &keyref)?.with_context(|| {
                format!("{keyref:?} is neither an enrolled key nor the name of an active actor (see `custody actor list`)")
            })?;
            let draft = EventDraft::new(
                EventKind::KeyRevoked,
                claimed_time.unwrap_or_else(now_rfc3339),
            )
            .fields(EventFields {
                public_key: Some(key.clone()),
                notes: reason,
                ..EventFields::default()
            });
            let appended = session.append(draft)?;
            output::print(&format!("revoked {key} at seq {}\n", appended.seq))?;
        }
        ActorCommand::List { ledger, json } => list(&ledger, json)?,
    }
    Ok(Outcome::Ok)
}

fn list(ledger: &LedgerArg, json: bool) -> anyhow::Result<()> {
    let actors = ledger
        .open()?
        .actors()
        .context("cannot read the actor index")?;
    if json {
        let rows: Vec<_> = actors
            .iter()
            .map(|a| {
                let (status_seq, replaced_by) = match &a.status {
                    ActorStatus::Active => (None, None),
                    ActorStatus::Rotated { seq, replaced_by } => (Some(*seq), Some(replaced_by)),
                    ActorStatus::Revoked { seq } => (Some(*seq), None),
                };
                serde_json::json!({
                    "key": a.key,
                    "name": a.name,
                    "role": a.role,
                    "organisation": a.organisation,
                    "jurisdiction": a.jurisdiction,
                    "full_name": a.full_name,
                    "enrolled_seq": a.enrolled_seq,
                    "status": a.status.as_str(),
                    "status_seq": status_seq,
                    "replaced_by": replaced_by,
                })
            })
            .collect();
        return output::print_json(&rows);
    }
    let mut text = format!(
        "{:<16}  {:<8}  {:>5}  {:<30}  {:<20}  {:<30}  {:<12}  {}\n",
        "KEY", "STATUS", "SEQ", "NAME", "ROLE", "ORGANISATION", "JURISDICTION", "FULL NAME"
    );
    for a in &actors {
        text.push_str(&output::line(&format!(
            "{:<16}  {:<8}  {:>5}  {:<30}  {:<20}  {:<30}  {:<12}  {}",
            short_key(&a.key),
            a.status.as_str(),
            a.enrolled_seq,
            a.name,
            a.role.as_deref().unwrap_or("-"),
            a.organisation.as_deref().unwrap_or("-"),
            a.jurisdiction.as_deref().unwrap_or("-"),
            a.full_name.as_deref().unwrap_or("-"),
        )));
    }
    output::print(&text)?;
    Ok(())
}

/// A public key from a PEM file, a verifier-key file, or a verifier key typed inline;
/// returns the key and, for a verifier key, its name.
fn parse_public_key(arg: &str) -> anyhow::Result<(PublicKey, Option<String>)> {
    let path = Path::new(arg);
    let text = if path.is_file() {
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read public key file {}", path.display()))?
    } else {
        arg.to_owned()
    };
    if text.contains("-----BEGIN PUBLIC KEY-----") {
        let key = PublicKey::from_pem(&text)
            .with_context(|| format!("--pubkey {arg}: not a valid Ed25519 public key PEM"))?;
        return Ok((key, None));
    }
    if text.contains("PRIVATE KEY") {
        anyhow::bail!(
            "--pubkey {arg}: this is a private key; give the public key (`custody key show` prints it)"
        );
    }
    let verifier: VerifierKey = text.trim().parse().with_context(|| {
        format!(
            "--pubkey {arg}: neither a PEM public key file nor a verifier key (name+keyid+base64)"
        )
    })?;
    Ok((verifier.key, Some(verifier.name)))
}

/// How an actor is named in one-line messages: `Full Name (key-name)`, or the key name.
pub fn shown_actor(name: &str, full_name: Option<&str>) -> String {
    match full_name {
        Some(full) => format!("{full} ({name})"),
        None => name.to_owned(),
    }
}
