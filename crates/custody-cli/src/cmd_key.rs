//! `custody key new|show|export`

use std::path::PathBuf;

use anyhow::Context;
use custody_core::keys::{ActorInfo, Identity};
use custody_pack::encrypt::EncryptionIdentity;

use crate::{output, Outcome};

/// `custody key` subcommands.
#[derive(clap::Subcommand)]
pub enum KeyCommand {
    /// Generate a new Ed25519 identity; writes the private key (mode 0600) and prints the
    /// verifier key.
    New {
        /// Key name (no spaces, no '+'), e.g. marie.dupont@pj.interieur.fr
        #[arg(long, required_unless_present = "encryption")]
        name: Option<String>,
        /// Make an age X25519 encryption identity instead (AGE-SECRET-KEY-1…, mode 0600),
        /// to keep beside the signing key; prints its recipient (age1…), which senders give
        /// to `custody seal --encrypt-to`.
        #[arg(long, conflicts_with_all = ["name", "role", "org", "jurisdiction"])]
        encryption: bool,
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
    /// Write the public key as SubjectPublicKeyInfo PEM, for checking signatures with OpenSSL.
    Export {
        /// The private key file.
        #[arg(long, env = "CUSTODY_KEY")]
        key: PathBuf,
        /// Where to write the public key PEM (refuses to overwrite).
        #[arg(long)]
        out: PathBuf,
    },
}

/// What `custody key show --json` prints.
#[derive(serde::Serialize)]
struct KeyReport<'a> {
    name: &'a str,
    role: Option<&'a str>,
    organisation: Option<&'a str>,
    jurisdiction: Option<&'a str>,
    /// The verifier key, `name+keyid+base64` (the signer vocabulary's `key`).
    key: String,
    key_id: String,
    fingerprint: String,
    public_key_pem: String,
}

/// Runs `custody key ...`.
pub fn run(cmd: KeyCommand) -> anyhow::Result<Outcome> {
    match cmd {
        KeyCommand::New {
            encryption: true,
            out,
            ..
        } => {
            let identity = EncryptionIdentity::generate();
            identity.save(&out)?;
            output::eprint(&output::line(&format!(
                "custody: encryption identity written to {} (mode 0600)",
                out.display()
            )));
            output::print(&format!("{}\n", identity.recipient()))?;
        }
        KeyCommand::New {
            name,
            role,
            org,
            jurisdiction,
            out,
            ..
        } => {
            let info = ActorInfo {
                name: name.unwrap_or_default(),
                role,
                organisation: org,
                jurisdiction,
                full_name: None,
            };
            let identity = Identity::generate(info)?;
            identity.save(&out)?;
            output::eprint(&output::line(&format!(
                "custody: private key written to {} (mode 0600)",
                out.display()
            )));
            output::data(&format!("{}\n", identity.verifier_key()))?;
        }
        KeyCommand::Show { key, json } if is_encryption_identity(&key) => {
            let recipients: Vec<String> = EncryptionIdentity::load_file(&key)?
                .iter()
                .map(|i| i.recipient().to_string())
                .collect();
            if json {
                output::print_json(&serde_json::json!({
                    "kind": "age-x25519",
                    "recipients": recipients,
                }))?;
            } else {
                let text: String = recipients
                    .iter()
                    .map(|r| format!("recipient:     {r}\n"))
                    .collect();
                output::print(&text)?;
            }
        }
        KeyCommand::Show { key, json } => {
            let identity = Identity::load(&key)?;
            let info = identity.info();
            let vkey = identity.verifier_key();
            let report = KeyReport {
                name: &info.name,
                role: info.role.as_deref(),
                organisation: info.organisation.as_deref(),
                jurisdiction: info.jurisdiction.as_deref(),
                key: vkey.to_string(),
                key_id: custody_core::hex::encode(&vkey.key_id()),
                fingerprint: identity.public_key().fingerprint(),
                public_key_pem: identity.public_key().to_pem(),
            };
            if json {
                output::print_json(&report)?;
            } else {
                output::data(&render(&report))?;
            }
        }
        KeyCommand::Export { key, out } => {
            let identity = Identity::load(&key)?;
            write_new(&out, identity.public_key().to_pem().as_bytes())?;
            output::eprint(&output::line(&format!(
                "custody: public key written to {}",
                out.display()
            )));
        }
    }
    Ok(Outcome::Ok)
}

/// Whether the key file holds an age identity rather than a signing key (read only as far
/// as its first bytes; the full load checks permissions and size).
fn is_encryption_identity(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(4096).read_to_end(&mut head));
    read.is_ok() && EncryptionIdentity::is_identity_text(&String::from_utf8_lossy(&head))
}

fn render(r: &KeyReport<'_>) -> String {
    let none = "-";
    format!(
        "name:          {}\nrole:          {}\norganisation:  {}\njurisdiction:  {}\n\
         verifier key:  {}\nkey ID:        {}\nfingerprint:   {}\n{}",
        r.name,
        r.role.unwrap_or(none),
        r.organisation.unwrap_or(none),
        r.jurisdiction.unwrap_or(none),
        r.key,
        r.key_id,
        r.fingerprint,
        r.public_key_pem
    )
}

/// Creates `path` with `bytes`, refusing to replace an existing file.
fn write_new(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| {
            format!(
                "{}: cannot create (refusing to overwrite an existing file)",
                path.display()
            )
        })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("{}: cannot write", path.display()))
}
