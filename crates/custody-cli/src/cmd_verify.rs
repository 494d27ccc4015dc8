//! `custody verify PKG.zip [--trust KEY]... [--revoked KEY]... [--expect-recipient A] [--json]`
//! and `custody verify PATH --bagit [--json]`.
//!
//! Without `--bagit`, PATH is a Custody package, checked in place against the trust store
//! given with `--trust`; every finding is printed, grouped, each naming the file and entry
//! at fault, then the signers and a one-line verdict. With `--bagit`, PATH is a plain BagIt
//! bag (a directory, or a ZIP archive holding one) from any tool, checked against RFC 8493
//! and its drafts; errors go to stdout (or into the JSON report), warnings to stderr.
//!
//! Exit codes: 0 verified, 1 findings (or no trusted signature), 2 could not run (the
//! file cannot be read, a key cannot be parsed). A file that is not a ZIP archive is a
//! finding ("no end of central directory record"), exit 1.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use custody_core::keys::{PublicKey, VerifierKey};
use custody_pack::bagit::{self, BagReport, ValidateOptions};
use custody_pack::encrypt::EncryptionIdentity;
use custody_pack::verify::{
    self, Finding, FindingGroup, PackageReport, SignerStatus, TrustedKey, VerifyOptions,
};

use crate::{output, Outcome};

/// Arguments of `custody verify`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The package or bag to verify.
    pub path: PathBuf,
    /// Treat PATH as a plain BagIt bag (directory or ZIP) rather than a Custody package.
    #[arg(long)]
    pub bagit: bool,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// The authority the package must be addressed to.
    #[arg(long, value_name = "AUTHORITY")]
    pub expect_recipient: Option<String>,
    /// The package is age-encrypted: decrypt it with this age identity file
    /// (AGE-SECRET-KEY-1…, mode 0600), in one pass, into an unnamed private copy.
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The verifier's trust store, shared with `custody receive`.
#[derive(clap::Args, Debug)]
pub struct TrustArgs {
    /// A key trusted to sign packages: a PEM public key file, a file holding a verifier
    /// key, or a verifier key (name+keyid+base64). Repeatable.
    #[arg(long, value_name = "KEY")]
    pub trust: Vec<String>,
    /// A key to treat as revoked whatever the package says (same forms as --trust).
    /// Repeatable.
    #[arg(long, value_name = "KEY")]
    pub revoked: Vec<String>,
}

impl TrustArgs {
    /// Verification options with these keys.
    pub fn options(&self) -> anyhow::Result<VerifyOptions> {
        let trusted = self
            .trust
            .iter()
            .map(|k| parse_trusted(k).with_context(|| format!("--trust {k}")))
            .collect::<anyhow::Result<_>>()?;
        let revoked = self
            .revoked
            .iter()
            .map(|k| {
                parse_trusted(k)
                    .map(|t| t.public_key())
                    .with_context(|| format!("--revoked {k}"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(VerifyOptions {
            trusted,
            revoked,
            bag: ValidateOptions {
                progress: Some(output::advance_shared),
                ..ValidateOptions::default()
            },
            ..VerifyOptions::default()
        })
    }
}

/// A verifier key string, or a file holding a PEM public key or a verifier key.
fn parse_trusted(text: &str) -> anyhow::Result<TrustedKey> {
    if let Ok(key) = text.parse::<VerifierKey>() {
        return Ok(TrustedKey::Verifier(key));
    }
    let path = Path::new(text);
    let content = std::fs::read_to_string(path).with_context(|| {
        format!(
            "not a verifier key, and cannot read it as a key file ({})",
            path.display()
        )
    })?;
    if content.contains("-----BEGIN PUBLIC KEY-----") {
        return Ok(TrustedKey::Public(PublicKey::from_pem(&content)?));
    }
    if content.contains("PRIVATE KEY") {
        anyhow::bail!("{} is a private key; give the public key", path.display());
    }
    let key: VerifierKey = content.trim().parse().with_context(|| {
        format!(
            "{}: neither a PEM public key nor a verifier key",
            path.display()
        )
    })?;
    Ok(TrustedKey::Verifier(key))
}

/// Runs `custody verify`.
pub fn run(args: VerifyArgs) -> anyhow::Result<Outcome> {
    if args.bagit {
        return run_bagit(&args);
    }
    let mut options = args.trust.options()?;
    options.expect_recipient.clone_from(&args.expect_recipient);
    let mut encrypted_digest = None;
    let report = match &args.identity {
        None => {
            let bar = output::shared_progress(file_size(&args.path), "verifying");
            let report = verify::verify_package(&args.path, &options);
            bar.finish_and_clear();
            report?
        }
        Some(identity) => {
            let identities = EncryptionIdentity::load_file(identity)?;
            let (report, transfer) =
                custody_pack::encrypt::verify_encrypted(&args.path, &identities, &options)?;
            encrypted_digest = Some(transfer.sha256_hex());
            report
        }
    };
    if args.json {
        let mut value = serde_json::to_value(report_json(&report))?;
        if let (Some(digest), Some(map)) = (&encrypted_digest, value.as_object_mut()) {
            map.insert("encrypted_digest".into(), digest.clone().into());
        }
        output::print_json(&value)?;
    } else {
        let mut text = String::new();
        if let Some(digest) = &encrypted_digest {
            text.push_str(&output::line(&format!(
                "decrypted (age); encrypted file sha256 {digest}"
            )));
        }
        text.push_str(&report_text(&args.path, &report)?);
        output::print(&text)?;
    }
    Ok(if report.verified {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}

/// `{verified, package_id, findings: [{group, file?, seq?, kind, detail?, message}], signers: [...]}`,
/// borrowed from the report: a report with many findings is serialised as it is written,
/// never first copied into a JSON tree (which took several times the report's memory).
#[derive(serde::Serialize)]
pub struct ReportJson<'a> {
    verified: bool,
    package_id: Option<&'a str>,
    findings: Vec<FindingJson<'a>>,
    signers: &'a [SignerStatus],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    onward_transfers: &'a [custody_pack::package::OnwardTransfer],
}

/// One finding's structured fields plus the human message.
#[derive(serde::Serialize)]
struct FindingJson<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    message: String,
}

/// The `--json` document of a package report.
pub fn report_json(report: &PackageReport) -> ReportJson<'_> {
    ReportJson {
        verified: report.verified,
        package_id: report.statement.as_ref().map(|s| s.id.as_str()),
        findings: report
            .findings
            .iter()
            .map(|finding| FindingJson {
                finding,
                message: finding.kind.to_string(),
            })
            .collect(),
        signers: &report.signers,
        onward_transfers: report
            .statement
            .as_ref()
            .map_or(&[], |s| s.onward_transfers.as_slice()),
    }
}

/// Findings grouped, one per line, then the signers and the verdict.
pub fn report_text(path: &Path, report: &PackageReport) -> anyhow::Result<String> {
    let mut text = String::new();
    let mut group: Option<FindingGroup> = None;
    for finding in &report.findings {
        if group != Some(finding.group) {
            group = Some(finding.group);
            writeln!(text, "[{}]", finding.group)?;
        }
        let message = finding.to_string();
        let prefix = format!("{}: ", finding.group);
        let shown = message.strip_prefix(&prefix).unwrap_or(&message);
        text.push_str(&output::line(&format!("  {shown}")));
    }
    for signer in &report.signers {
        let state = match (signer.valid, signer.trusted, signer.revoked) {
            (_, _, true) => "REVOKED",
            (true, true, false) if !signer.active => {
                "valid, trusted, NOT ACTIVE in the sender ledger"
            }
            (true, true, false) => "valid, trusted",
            (true, false, false) => "valid, not trusted",
            (false, true, false) => "INVALID",
            (false, false, false) => "not trusted (unchecked)",
        };
        text.push_str(&output::line(&format!("signer {}: {state}", signer.key)));
    }
    if let Some(statement) = &report.statement {
        for consent in &statement.onward_transfers {
            text.push_str(&output::line(&format!(
                "onward transfer of {} to {} authorised by {} (reference {}, sender ledger entry {})",
                consent.item,
                statement.recipient.authority,
                consent.authorised_by,
                consent.reference,
                consent.seq
            )));
        }
    }
    let name = path.display();
    if report.verified {
        let id = report.statement.as_ref().map_or("", |s| s.id.as_str());
        text.push_str(&output::line(&format!("{name}: VERIFIED package {id}")));
    } else {
        writeln!(
            text,
            "{name}: NOT VERIFIED ({} finding(s))",
            report.findings.len()
        )?;
    }
    Ok(text)
}

fn run_bagit(args: &VerifyArgs) -> anyhow::Result<Outcome> {
    let bar = output::shared_progress(file_size(&args.path), "validating");
    let options = ValidateOptions {
        progress: Some(output::advance_shared),
        ..ValidateOptions::default()
    };
    let report = bagit::validate_path(&args.path, &options);
    bar.finish_and_clear();
    let report = report.with_context(|| format!("cannot verify {}", args.path.display()))?;
    render_bagit(args, &report)?;
    Ok(if report.is_valid() {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}

fn render_bagit(args: &VerifyArgs, report: &BagReport) -> anyhow::Result<()> {
    for warning in &report.warnings {
        output::eprint(&output::line(&format!("custody: warning: {warning}")));
    }
    if args.json {
        let value = serde_json::json!({
            "path": args.path.display().to_string(),
            "valid": report.is_valid(),
            "version": report.version,
            "errors": findings_json(&report.errors)?,
            "warnings": findings_json(&report.warnings)?,
        });
        return output::print_json(&value);
    }
    let mut text = String::new();
    let version = report.version.as_deref().unwrap_or("unknown");
    for error in &report.errors {
        text.push_str(&output::line(&format!("error: {error}")));
    }
    if report.is_valid() {
        writeln!(text, "{}: valid BagIt {version} bag", args.path.display())?;
    } else {
        writeln!(
            text,
            "{}: INVALID BagIt {version} bag ({} errors)",
            args.path.display(),
            report.errors.len()
        )?;
    }
    output::print(&text)?;
    Ok(())
}

/// Each finding as its structured fields plus the human message.
fn findings_json(findings: &[bagit::BagFinding]) -> anyhow::Result<Vec<serde_json::Value>> {
    findings
        .iter()
        .map(|f| {
            let mut value = serde_json::to_value(f)?;
            if let Some(map) = value.as_object_mut() {
                map.insert("message".into(), f.to_string().into());
            }
            Ok(value)
        })
        .collect()
}

/// The size of a file, for a progress bar's length (0 for a directory or an unreadable path:
/// the bar then just counts).
pub fn file_size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path)
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map_or(0, |m| m.len())
}
