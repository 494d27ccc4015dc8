//! `custody show PKG.zip`: what a package holds and claims, read through the strict ZIP
//! reader without verifying or extracting anything (`custody_pack::inspect`). It says so at
//! the top and at the bottom: nothing it prints is established until `custody verify`.

use std::path::PathBuf;

use custody_core::hex;
use custody_pack::inspect::{inspect, PackageContents};
use serde_json::json;

use crate::{output, Outcome};

/// What every `custody show` says first and last.
const NOT_VERIFIED: &str =
    "NOT VERIFIED: what this package claims, read without checking any hash, signature or proof; run `custody verify` before relying on it";

/// Arguments of `custody show`.
#[derive(clap::Args)]
pub struct ShowArgs {
    /// The package (ZIP).
    package: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `custody show`: exit 0 when the package could be read, 2 when it could not.
pub fn run(args: ShowArgs) -> anyhow::Result<Outcome> {
    let contents = inspect(&args.package)?;
    if args.json {
        output::print_json(&contents_json(&contents))?;
    } else {
        output::print(&render(&contents))?;
    }
    Ok(Outcome::Ok)
}

fn contents_json(c: &PackageContents) -> serde_json::Value {
    let s = &c.statement;
    json!({
        "verified": false,
        "package": c.id,
        "case": s.case,
        "sealed_time": s.sealed_time,
        "sender": s.sender,
        "recipient": s.recipient,
        "request": s.request,
        "use_limitations": s.use_limitations,
        "confidential": s.confidential,
        "personal_data": s.personal_data,
        "retention_until": s.retention_until,
        "checkpoint": {"size": s.checkpoint.size, "root": hex::encode(&s.checkpoint.root)},
        "items": s.items.iter().map(|i| json!({
            "id": i.id,
            "path": i.path,
            "size": i.size,
            "sha256": hex::encode(&i.sha256),
            "blake3": hex::encode(&i.blake3),
            "files": i.files.as_ref().map(Vec::len),
            "events": i.events.len(),
        })).collect::<Vec<_>>(),
        "signers": c.signatures.iter().map(|sig| json!({
            "name": sig.name,
            "key_id": sig.key_id,
        })).collect::<Vec<_>>(),
        "entries": c.entries,
        "events": c.events,
    })
}

fn render(c: &PackageContents) -> String {
    let s = &c.statement;
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let list = |v: &[String]| {
        if v.is_empty() {
            "none stated".to_owned()
        } else {
            v.join("; ")
        }
    };
    let party = |name: &str, org: &Option<String>, country: &Option<String>| {
        let extra: Vec<&str> = [org, country]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if extra.is_empty() {
            name.to_owned()
        } else {
            format!("{name} ({})", extra.join(", "))
        }
    };
    let rows: Vec<(&str, String)> = vec![
        ("package", c.id.clone()),
        ("case", s.case.clone()),
        ("sealed", s.sealed_time.clone()),
        (
            "sender",
            party(
                &s.sender.authority,
                &s.sender.organisation,
                &s.sender.jurisdiction,
            ),
        ),
        ("sender ledger", s.sender.ledger_origin.clone()),
        ("log key", s.sender.log_key.clone()),
        (
            "recipient",
            party(&s.recipient.authority, &None, &s.recipient.jurisdiction),
        ),
        ("request", opt(&s.request.reference)),
        ("legal basis", opt(&s.request.legal_basis)),
        ("requested by", opt(&s.request.requesting_authority)),
        ("requested of", opt(&s.request.requested_authority)),
        ("use limitations", list(&s.use_limitations)),
        (
            "confidential",
            if s.confidential { "yes" } else { "no" }.to_owned(),
        ),
        ("personal data", list(&s.personal_data)),
        ("retain until", opt(&s.retention_until)),
        (
            "checkpoint",
            format!(
                "size {} root {}",
                s.checkpoint.size,
                hex::encode(&s.checkpoint.root)
            ),
        ),
    ];
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let mut out = output::line(NOT_VERIFIED);
    out.push('\n');
    for (label, value) in &rows {
        out.push_str(&output::line(&format!("{label:<width$}  {value}")));
    }
    out.push('\n');
    out.push_str(&output::line(&format!("items ({})", s.items.len())));
    for item in &s.items {
        let what = match &item.files {
            Some(files) => format!("directory, {} files", files.len()),
            None => "file".into(),
        };
        out.push_str(&output::line(&format!(
            "  {}  {}  {} bytes ({what}), {} events",
            item.id,
            item.path,
            item.size,
            item.events.len()
        )));
        out.push_str(&output::line(&format!(
            "    sha256 {}",
            hex::encode(&item.sha256)
        )));
        out.push_str(&output::line(&format!(
            "    blake3 {}",
            hex::encode(&item.blake3)
        )));
    }
    out.push('\n');
    out.push_str(&output::line(&format!(
        "signature files ({}), not checked",
        c.signatures.len()
    )));
    for sig in &c.signatures {
        out.push_str(&output::line(&format!("  {}+{}", sig.name, sig.key_id)));
    }
    out.push('\n');
    out.push_str(&output::line(NOT_VERIFIED));
    out
}
