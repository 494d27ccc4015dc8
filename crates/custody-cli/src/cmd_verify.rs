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
use custody_pack::verify::{
    self, Finding, PackageReport, PayloadChange, SignerStatus, TrustedKey, VerifyOptions,
};

use crate::output::{self, Verdict};
use crate::Outcome;

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
    let bar = output::shared_progress(file_size(&args.path), "verifying");
    let report = verify::verify_package(&args.path, &options);
    bar.finish_and_clear();
    let report = report?;
    if args.json {
        output::print_json(&report_json(&report))?;
    } else {
        output::print(&report_text(&args.path, &report)?)?;
    }
    Ok(if report.verified {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}

/// The `--json` document of a package report (docs/json.md, `custody verify`): the verdict,
/// the package, its items, its signers and every finding, borrowed from the report (a
/// report with many findings is serialised as it is written, never first copied into a
/// JSON tree, which took several times the report's memory).
#[derive(serde::Serialize)]
pub struct ReportJson<'a> {
    verdict: Verdict,
    package_id: Option<&'a str>,
    items: Vec<output::ItemJson<'a>>,
    events: usize,
    checkpoint: Option<CheckpointJson<'a>>,
    signers: Vec<SignerJson<'a>>,
    findings: Vec<FindingJson<'a>>,
}

/// The sender ledger's checkpoint the package's entries are proven into.
#[derive(serde::Serialize)]
struct CheckpointJson<'a> {
    origin: &'a str,
    size: u64,
}

/// One package signature in the common signer shape, with what became of it.
#[derive(serde::Serialize)]
struct SignerJson<'a> {
    name: &'a str,
    key_id: &'a str,
    key: &'a str,
    trusted: bool,
    valid: bool,
    revoked: bool,
    active: bool,
}

impl<'a> SignerJson<'a> {
    fn new(signer: &'a SignerStatus) -> SignerJson<'a> {
        SignerJson {
            name: &signer.name,
            key_id: signer.key.split('+').nth(1).unwrap_or_default(),
            key: &signer.key,
            trusted: signer.trusted,
            valid: signer.valid,
            revoked: signer.revoked,
            active: signer.active,
        }
    }
}

/// One finding: `code`, the plain `message`, its context (`group`, `path`, `item`,
/// `seq`), what it means for the evidence (`change`) and the technical `detail`.
#[derive(serde::Serialize)]
struct FindingJson<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    change: Option<PayloadChange>,
    detail_message: String,
}

/// The `--json` document of a package report.
pub fn report_json(report: &PackageReport) -> ReportJson<'_> {
    let statement = report.statement.as_ref();
    ReportJson {
        verdict: Verdict::of(report.verified),
        package_id: statement.map(|s| s.id.as_str()),
        items: statement.map_or_else(Vec::new, |s| {
            s.items.iter().map(output::ItemJson::from_package).collect()
        }),
        events: statement.map_or(0, custody_events),
        checkpoint: statement.map(|s| CheckpointJson {
            origin: &s.sender.ledger_origin,
            size: s.checkpoint.size,
        }),
        signers: report.signers.iter().map(SignerJson::new).collect(),
        findings: report
            .findings
            .iter()
            .map(|finding| FindingJson {
                finding,
                message: finding.to_string(),
                change: finding.payload_change(),
                detail_message: finding.detail(),
            })
            .collect(),
    }
}

/// The verdict first, then every finding in plain words, then the signers: a refused
/// package never opens with a line that reads as reassurance.
pub fn report_text(path: &Path, report: &PackageReport) -> anyhow::Result<String> {
    report_text_with(path, report, false)
}

/// As [`report_text`]; with `detail`, each finding is followed by its technical account
/// (the ZIP entry, the CRC-32, the manifest line).
pub fn report_text_with(
    path: &Path,
    report: &PackageReport,
    detail: bool,
) -> anyhow::Result<String> {
    let mut text = String::new();
    let name = path.display();
    match (&report.statement, report.verified) {
        (Some(statement), true) => {
            text.push_str(&output::line(&format!(
                "VERIFIED: package {} ({name})",
                statement.id
            )));
            text.push_str(&output::line(&format!("  {}", proven_payload(statement))));
            text.push_str(&output::line(&format!(
                "  {} custody events, each signed by an actor enrolled in the sender's ledger and included in its checkpoint ({}, {} entries)",
                custody_events(statement),
                statement.sender.ledger_origin,
                statement.checkpoint.size
            )));
        }
        _ => {
            let count = report.findings.len();
            let plural = if count == 1 { "" } else { "s" };
            text.push_str(&output::line(&format!(
                "NOT VERIFIED: {name} ({count} finding{plural})"
            )));
        }
    }
    let mut last = String::new();
    for finding in &report.findings {
        let message = finding.to_string();
        // Both manifests report one altered file: in plain words that is said once.
        if detail || message != last {
            text.push_str(&output::line(&format!("  {message}")));
        }
        if detail && message != finding.detail() {
            text.push_str(&output::line(&format!("    ({})", finding.detail())));
        }
        last = message;
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
        text.push_str(&output::line(&format!("  signer {}: {state}", signer.key)));
    }
    Ok(text)
}

/// How many distinct ledger entries the statement lists as the items' custody histories
/// (each acquisition and every later event): in a verified package each is included,
/// signed by an actor entitled to sign it and proven into the checkpoint.
fn custody_events(statement: &custody_pack::package::PackageStatement) -> usize {
    statement
        .items
        .iter()
        .flat_map(|i| i.events.iter().copied().chain([i.acquired_seq]))
        .collect::<std::collections::BTreeSet<u64>>()
        .len()
}

/// What the payload checks proved, in words.
fn proven_payload(statement: &custody_pack::package::PackageStatement) -> String {
    let items = statement.items.len();
    let files: usize = statement
        .items
        .iter()
        .map(|i| i.files.as_ref().map_or(1, Vec::len))
        .sum();
    let bytes: u64 = statement.items.iter().map(|i| i.size).sum();
    let whose = match items {
        1 => "its item".to_owned(),
        2 => "both items".to_owned(),
        n => format!("all {n} items"),
    };
    let files = if files == 1 {
        "1 file".to_owned()
    } else {
        format!("{files} files")
    };
    format!(
        "every byte of {whose} ({files}, {bytes} bytes) matches the sender's SHA-256 and BLAKE3 hashes"
    )
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
    if args.json {
        let value = serde_json::json!({
            "path": args.path.display().to_string(),
            "verdict": Verdict::of(report.is_valid()),
            "version": report.version,
            "findings": findings_json(&report.errors)?,
            "warnings": findings_json(&report.warnings)?,
        });
        return output::print_json(&value);
    }
    // With --json the warnings are in the document: stderr stays free for a JSON error.
    for warning in &report.warnings {
        output::eprint(&output::line(&format!("custody: warning: {warning}")));
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

/// Each BagIt finding in the common shape: `code` (its kind), `message`, `path` (the file
/// it names), then its own fields.
fn findings_json(findings: &[bagit::BagFinding]) -> anyhow::Result<Vec<serde_json::Value>> {
    findings
        .iter()
        .map(|f| {
            let mut value = serde_json::to_value(f)?;
            if let Some(map) = value.as_object_mut() {
                if let Some(code) = map.remove("kind") {
                    map.insert("code".into(), code);
                }
                if let Some(path) = map.remove("file") {
                    map.insert("path".into(), path);
                }
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
