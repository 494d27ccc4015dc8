//! `custody seal --case REF --to AUTHORITY --out PKG.zip ITEM...`: seal ledger items into a
//! signed package and record `sealed` and `transferred`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use custody_core::keys::Identity;
use custody_pack::package::{Recipient, RequestFile, RequestInfo};
use custody_pack::seal::{seal, SealError, SealRequest, SenderInfo};
use custody_pack::zipwrite::Compression;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::ledger_opts::{load_key, now_rfc3339, LedgerArg, Session, SignerArgs};
use crate::{output, Outcome};

/// Arguments of `custody seal`.
#[derive(clap::Args)]
pub struct SealArgs {
    #[command(flatten)]
    ledger: LedgerArg,
    #[command(flatten)]
    signer: SignerArgs,
    /// The ledger items to seal.
    #[arg(required = true)]
    items: Vec<String>,
    /// The case the items belong to.
    #[arg(long)]
    case: String,
    /// The receiving authority.
    #[arg(long)]
    to: String,
    /// The receiving authority's jurisdiction (ISO 3166-1 alpha-2).
    #[arg(long)]
    to_jurisdiction: Option<String>,
    /// The sending authority [default: the actor's organisation, else its name]
    #[arg(long)]
    from: Option<String>,
    /// Where to write the package.
    #[arg(long)]
    out: PathBuf,
    /// A key that signs the package (repeatable) [default: --key]
    #[arg(long)]
    sign_with: Vec<PathBuf>,
    /// Request metadata: a TOML or JSON file with the field names of package.json
    /// (reference, legal_basis, requesting_authority, requested_authority,
    /// use_limitations, confidential, personal_data, retention_until). Options override it.
    #[arg(long)]
    request: Option<PathBuf>,
    /// The request's reference.
    #[arg(long)]
    request_ref: Option<String>,
    /// The request's legal basis.
    #[arg(long)]
    legal_basis: Option<String>,
    /// The requesting authority.
    #[arg(long)]
    requesting_authority: Option<String>,
    /// The requested authority.
    #[arg(long)]
    requested_authority: Option<String>,
    /// A condition on the use of the evidence (repeatable).
    #[arg(long)]
    use_limitation: Vec<String>,
    /// Mark the package confidential.
    #[arg(long)]
    confidential: bool,
    /// A category of personal data in the payload (repeatable).
    #[arg(long)]
    personal_data: Vec<String>,
    /// Date until which the recipient may keep the evidence (YYYY-MM-DD).
    #[arg(long)]
    retention_until: Option<String>,
    /// Compress the payload (DEFLATE) instead of storing it.
    #[arg(long)]
    compress: bool,
    /// Seal time, RFC 3339 (fix it to reproduce a package byte for byte) [default: now]
    #[arg(long)]
    time: Option<String>,
    /// Package id [default: <CASE>-<n>, n one more than the case's sealed packages]
    #[arg(long)]
    id: Option<String>,
    /// Where an item's bytes are now, if not at the path recorded at acquisition
    /// (repeatable).
    #[arg(long, value_name = "ITEM=PATH")]
    file: Vec<String>,
    /// Claimed time of the sealed and transferred events (RFC 3339) [default: now]
    #[arg(long)]
    claimed_time: Option<String>,
    /// Encrypt the package to this age recipient (age1…), to every recipient in this
    /// file (one per line, as `age -R` reads it), or to the recipient entry of this name
    /// in the trust store. Repeatable. The file written at --out is then an age file; the
    /// stock `age -d -i IDENTITY` decrypts it.
    #[arg(long, value_name = "RECIPIENT")]
    encrypt_to: Vec<String>,
    #[command(flatten)]
    trust_dir: crate::cmd_trust::TrustDirArg,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `custody seal`.
pub fn run(args: SealArgs) -> anyhow::Result<Outcome> {
    let mut session = Session::open(&args.ledger, &args.signer)?;
    let signers: Vec<Identity> = if args.sign_with.is_empty() {
        vec![session.actor.clone()]
    } else {
        args.sign_with
            .iter()
            .map(|p| load_key(p, "signing key (--sign-with)"))
            .collect::<anyhow::Result<_>>()?
    };
    let request = build_request(&args, &session.actor)?;
    let mut recipients = Vec::new();
    for arg in &args.encrypt_to {
        recipients.extend(encrypt_to(arg, &args.trust_dir)?);
    }
    let bar = output::byte_progress(0, "sealing");
    let mut progress = |p: custody_pack::seal::SealProgress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
    };
    let outcome = if recipients.is_empty() {
        seal(
            &mut session.ledger,
            request,
            &session.actor,
            &signers,
            &session.log_key,
            &args.out,
            &mut progress,
        )
    } else {
        custody_pack::seal::seal_encrypted(
            &mut session.ledger,
            request,
            &recipients,
            &session.actor,
            &signers,
            &session.log_key,
            &args.out,
            &mut progress,
        )
    };
    bar.finish_and_clear();
    let out = args.out.display();
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e @ SealError::OutputExists { .. }) => anyhow::bail!(
            "cannot seal {out}: {e}; what to do: choose another --out (and keep the existing package as it is)"
        ),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("cannot seal {out}"))),
    };
    let sha256 = custody_core::hex::encode(&outcome.sha256);
    // Text output names each signer's holder as the ledger's enrolment records them. The
    // package is sealed and recorded by now: failing to read the actors only leaves the
    // full names out.
    let actors = session.ledger.actors().unwrap_or_default();
    let shown_signers: Vec<String> = outcome
        .signers
        .iter()
        .map(|v| {
            let hex = custody_core::hex::encode(&v.key.to_bytes());
            let full = actors
                .iter()
                .find(|a| a.key == hex)
                .and_then(|a| a.full_name.as_deref());
            match full {
                Some(full) => format!("{v} ({full})"),
                None => v.to_string(),
            }
        })
        .collect();
    if args.json {
        let items: Vec<_> = outcome
            .statement
            .items
            .iter()
            .map(output::ItemJson::from_package)
            .collect();
        let signers: Vec<_> = outcome
            .signers
            .iter()
            .map(output::SignerJson::new)
            .collect();
        output::print_json(&serde_json::json!({
            "path": outcome.path.display().to_string(),
            "package_id": outcome.id,
            "sha256": sha256,
            "size": outcome.size,
            "items": items,
            "signers": signers,
            "sealed_seq": outcome.sealed_seq,
            "transferred_seq": outcome.transferred_seq,
            "encrypted": outcome.encrypted.map(|e| serde_json::json!({
                "sha256": e.sha256_hex(),
                "size": e.size,
                "recipients": recipients.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })),
        }))?;
    } else {
        output::print(&format!(
            "sealed {}\n  id:      {}\n  sha256:  {sha256}\n  size:    {} bytes\n  signers: {}\n  recorded sealed (seq {}) and transferred (seq {}) to {}\n",
            outcome.path.display(),
            outcome.id,
            outcome.size,
            shown_signers.join(", "),
            outcome.sealed_seq,
            outcome.transferred_seq,
            outcome.statement.recipient.authority,
        ))?;
        if let Some(e) = &outcome.encrypted {
            output::print(&output::line(&format!(
                "  encrypted (age) to {} recipient(s): {} bytes, sha256 {}; the sha256 above is the package inside",
                recipients.len(),
                e.size,
                e.sha256_hex()
            )))?;
        }
    }
    Ok(Outcome::Ok)
}

fn build_request(args: &SealArgs, actor: &Identity) -> anyhow::Result<SealRequest> {
    let file = match &args.request {
        Some(path) => RequestFile::load(path)?,
        None => RequestFile::default(),
    };
    let sealed_time = match &args.time {
        Some(text) => OffsetDateTime::parse(text, &Rfc3339)
            .with_context(|| format!("--time {text:?} is not an RFC 3339 time"))?,
        None => OffsetDateTime::now_utc(),
    };
    let mut files = BTreeMap::new();
    for spec in &args.file {
        let (item, path) = spec
            .split_once('=')
            .with_context(|| format!("--file {spec:?}: expected ITEM=PATH"))?;
        if files.insert(item.to_owned(), PathBuf::from(path)).is_some() {
            anyhow::bail!("--file names item {item} twice");
        }
    }
    let info = actor.info();
    let either = |option: &Option<String>, from_file: &Option<String>| {
        option.clone().or_else(|| from_file.clone())
    };
    let list = |option: &Vec<String>, from_file: &Option<Vec<String>>| {
        if option.is_empty() {
            from_file.clone().unwrap_or_default()
        } else {
            option.clone()
        }
    };
    Ok(SealRequest {
        case: args.case.clone(),
        id: args.id.clone(),
        items: args.items.clone(),
        files,
        sender: SenderInfo {
            authority: args
                .from
                .clone()
                .or_else(|| info.organisation.clone())
                .unwrap_or_else(|| info.name.clone()),
            organisation: info.organisation.clone(),
            jurisdiction: info.jurisdiction.clone(),
        },
        recipient: Recipient {
            authority: args.to.clone(),
            jurisdiction: args.to_jurisdiction.clone(),
        },
        request: RequestInfo {
            reference: either(&args.request_ref, &file.reference),
            legal_basis: either(&args.legal_basis, &file.legal_basis),
            requesting_authority: either(&args.requesting_authority, &file.requesting_authority),
            requested_authority: either(&args.requested_authority, &file.requested_authority),
        },
        use_limitations: list(&args.use_limitation, &file.use_limitations),
        confidential: args.confidential || file.confidential.unwrap_or(false),
        personal_data: list(&args.personal_data, &file.personal_data),
        retention_until: either(&args.retention_until, &file.retention_until),
        sealed_time,
        claimed_time: args.claimed_time.clone().unwrap_or_else(now_rfc3339),
        compression: if args.compress {
            Compression::Deflate
        } else {
            Compression::Stored
        },
    })
}

/// One `--encrypt-to`: `age1…`; else a recipients file, if one exists at that path; else
/// the trust store's recipient entry of that name.
fn encrypt_to(
    arg: &str,
    trust_dir: &crate::cmd_trust::TrustDirArg,
) -> anyhow::Result<Vec<custody_pack::encrypt::EncryptionRecipient>> {
    let context = || format!("--encrypt-to {arg}");
    if arg.starts_with("age1") || std::path::Path::new(arg).exists() {
        return custody_pack::encrypt::recipients_from_arg(arg).with_context(context);
    }
    let store = trust_dir.store()?;
    match store.recipient(arg).with_context(context)? {
        Some(recipient) => Ok(vec![recipient]),
        None => anyhow::bail!(
            "--encrypt-to {arg}: not an age recipient (age1…), no such file, and no recipient entry of that name in the trust store {}",
            store.dir().display()
        ),
    }
}
