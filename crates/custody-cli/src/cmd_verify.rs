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
use custody_core::keys::PublicKey;
use custody_pack::bagit::{self, BagReport, ValidateOptions};
use custody_pack::encrypt::EncryptionIdentity;
use custody_pack::package::{PackageStatement, Recipient, RequestInfo, Sender};
use custody_pack::verify::{
    self, Finding, PackageReport, PayloadChange, SignerStatus, TrustedKey, VerifyOptions,
};
use custody_pack::zipscan::{ScanLimits, ZipScanner};

use crate::cmd_trust::{read_key_argument, TrustDirArg};
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
    /// The package is age-encrypted: decrypt it with this age identity file
    /// (AGE-SECRET-KEY-1…, mode 0600), in one pass, into an unnamed private copy.
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The keys a verification trusts, shared with `custody receive`: those given with
/// `--trust`, else the signer entries of the trust store.
#[derive(clap::Args, Debug)]
pub struct TrustArgs {
    /// A key trusted to sign (packages; for `acknowledge`, receipts): a PEM public key
    /// file, a file holding a verifier key, or a verifier key (name+keyid+base64).
    /// Repeatable. Without it, the signer keys of the trust store are trusted (see
    /// `custody trust`).
    #[arg(long, value_name = "KEY")]
    pub trust: Vec<String>,
    /// A key to treat as revoked whatever the package says (same forms as --trust).
    /// Repeatable.
    #[arg(long, value_name = "KEY")]
    pub revoked: Vec<String>,
    #[command(flatten)]
    pub store: TrustDirArg,
}

impl TrustArgs {
    /// The trusted keys: `--trust`, else the trust store's signer keys.
    pub fn trusted(&self) -> anyhow::Result<Vec<TrustedKey>> {
        if self.trust.is_empty() {
            return self.store.signer_keys();
        }
        output::detail(&format!(
            "trusting the {} key(s) given with --trust (the trust store is not read)",
            self.trust.len()
        ));
        self.trust
            .iter()
            .map(|k| read_key_argument(k).context("--trust"))
            .collect()
    }

    /// The `--revoked` keys.
    pub fn revoked(&self) -> anyhow::Result<Vec<PublicKey>> {
        self.revoked
            .iter()
            .map(|k| {
                read_key_argument(k)
                    .map(|t| t.public_key())
                    .context("--revoked")
            })
            .collect()
    }

    /// Verification options with these keys.
    pub fn options(&self) -> anyhow::Result<VerifyOptions> {
        Ok(VerifyOptions {
            trusted: self.trusted()?,
            revoked: self.revoked()?,
            bag: ValidateOptions {
                progress: Some(output::advance_shared),
                ..ValidateOptions::default()
            },
            ..VerifyOptions::default()
        })
    }
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
            let bar = output::shared_progress(hashed_bytes(&args.path), "verifying");
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
    detail_steps(&report);
    if args.json {
        let mut value = serde_json::to_value(report_json(&report))?;
        if let (Some(digest), Some(map)) = (&encrypted_digest, value.as_object_mut()) {
            map.insert("encrypted_digest".into(), digest.clone().into());
        }
        output::print_json(&value)?;
    } else {
        if let Some(digest) = &encrypted_digest {
            output::print(&output::line(&format!(
                "decrypted (age); encrypted file sha256 {digest}"
            )))?;
        }
        print_report(&args.path, &report)?;
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
    /// What the package statement says, raw; `verified` inside says whether it may be
    /// relied on. Absent when the statement does not parse.
    package: Option<ConditionsJson<'a>>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    full_name: Option<&'a str>,
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
            full_name: signer.full_name.as_deref(),
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

/// The package statement as a receiving authority reads it before using the evidence.
#[derive(serde::Serialize)]
pub struct ConditionsJson<'a> {
    /// Whether the whole package verified (only then does the statement hold).
    verified: bool,
    id: &'a str,
    case: &'a str,
    sealed_time: &'a str,
    sender: &'a Sender,
    recipient: &'a Recipient,
    request: &'a RequestInfo,
    use_limitations: &'a [String],
    confidential: bool,
    personal_data: &'a [String],
    retention_until: Option<&'a str>,
    items: Vec<output::ItemJson<'a>>,
    /// Consents to onward transfer the statement states (omitted when none).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    onward_transfers: &'a [custody_pack::package::OnwardTransfer],
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
        package: report
            .statement
            .as_ref()
            .map(|s| conditions_json(s, report.verified)),
    }
}

pub fn conditions_json(s: &PackageStatement, verified: bool) -> ConditionsJson<'_> {
    ConditionsJson {
        verified,
        id: &s.id,
        case: &s.case,
        sealed_time: &s.sealed_time,
        sender: &s.sender,
        recipient: &s.recipient,
        request: &s.request,
        use_limitations: &s.use_limitations,
        confidential: s.confidential,
        personal_data: &s.personal_data,
        retention_until: s.retention_until.as_deref(),
        items: s.items.iter().map(output::ItemJson::from_package).collect(),
        onward_transfers: &s.onward_transfers,
    }
}

/// Under `-v`, what was checked, step by step, on stderr.
pub fn detail_steps(report: &PackageReport) {
    if output::verbosity() != output::Verbosity::Verbose {
        return;
    }
    if let Some(s) = &report.statement {
        let bytes: u64 = s.items.iter().map(|i| i.size).sum();
        let events: std::collections::BTreeSet<u64> = s
            .items
            .iter()
            .flat_map(|i| i.events.iter().copied())
            .collect();
        output::detail(&format!(
            "payload: {} item(s), {} hashed with SHA-256 and BLAKE3 against both manifests",
            s.items.len(),
            output::size(bytes)
        ));
        output::detail(&format!(
            "custody history: {} event(s), each signature and inclusion proof checked against the sender checkpoint at size {}",
            events.len(),
            s.checkpoint.size
        ));
    }
    output::detail(&format!(
        "signatures: {} file(s), {} by a trusted, active, unrevoked key",
        report.signers.len(),
        report.signers.iter().filter(|s| s.counts()).count()
    ));
    output::detail(&format!("findings: {}", report.findings.len()));
}

/// Prints a package report: the verdict and the findings first (kept under `-q`; with `-v`
/// each finding's technical account too), then what the statement says (marked NOT
/// VERIFIED unless the package verified), then the signers.
pub fn print_report(path: &Path, report: &PackageReport) -> anyhow::Result<()> {
    let detail = output::verbosity() == output::Verbosity::Verbose;
    output::verdict(&report_text_with(path, report, detail)?)?;
    if let Some(statement) = &report.statement {
        output::print(&conditions_text(statement, report.verified))?;
    }
    output::print(&signers_text(report))?;
    Ok(())
}

/// The verdict first, then every finding in plain words: a refused package never opens with
/// a line that reads as reassurance. With `detail`, each finding is followed by its technical
/// account (the ZIP entry, the CRC-32, the manifest line).
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
            let events = custody_events(statement);
            text.push_str(&output::line(&format!(
                "  {events} custody event{}, each signed by an actor enrolled in the sender's ledger and included in its checkpoint ({}, {} entries)",
                if events == 1 { "" } else { "s" },
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
    Ok(text)
}

/// What a receiving authority must know before using the evidence, aligned; every value
/// from the package escaped.
pub fn conditions_text(s: &PackageStatement, verified: bool) -> String {
    let mut text = if verified {
        format!("package {} (verified statement):\n", output::escape(&s.id))
    } else {
        "package statement, NOT VERIFIED (do not rely on it):\n".to_owned()
    };
    let or_none = |v: Option<&String>, none: &str| v.cloned().unwrap_or_else(|| none.to_owned());
    let list = |v: &[String]| {
        if v.is_empty() {
            "none stated".to_owned()
        } else {
            v.join("; ")
        }
    };
    let sender = &s.sender;
    let mut sender_text = sender.authority.clone();
    for extra in [&sender.organisation, &sender.jurisdiction]
        .into_iter()
        .flatten()
        .filter(|extra| **extra != sender.authority)
    {
        sender_text.push_str(&format!(", {extra}"));
    }
    sender_text.push_str(&format!(" (ledger {})", sender.ledger_origin));
    let recipient = match &s.recipient.jurisdiction {
        Some(j) => format!("{}, {j}", s.recipient.authority),
        None => s.recipient.authority.clone(),
    };
    let mut rows = vec![
        ("case", s.case.clone()),
        ("sealed", output::time(&s.sealed_time)),
        ("sender", sender_text),
        ("recipient", recipient),
        (
            "request reference",
            or_none(s.request.reference.as_ref(), "not stated"),
        ),
        (
            "legal basis",
            or_none(s.request.legal_basis.as_ref(), "not stated"),
        ),
    ];
    if let Some(a) = &s.request.requesting_authority {
        rows.push(("requesting authority", a.clone()));
    }
    if let Some(a) = &s.request.requested_authority {
        rows.push(("requested authority", a.clone()));
    }
    rows.extend([
        ("use limitations", list(&s.use_limitations)),
        (
            "confidential",
            if s.confidential { "yes" } else { "no" }.to_owned(),
        ),
        ("personal data", list(&s.personal_data)),
        (
            "retention until",
            or_none(s.retention_until.as_ref(), "not stated"),
        ),
        ("items", s.items.len().to_string()),
    ]);
    text.push_str(&output::fields("  ", &rows));
    let id_width = s
        .items
        .iter()
        .map(|i| i.id.chars().count())
        .max()
        .unwrap_or(0);
    let path_width = s
        .items
        .iter()
        .map(|i| i.path.chars().count())
        .max()
        .unwrap_or(0);
    for item in &s.items {
        text.push_str(&output::line(&format!(
            "    {:<id_width$}  {:<path_width$}  {:>12}",
            item.id,
            item.path,
            output::size(item.size)
        )));
    }
    for consent in &s.onward_transfers {
        text.push_str(&output::line(&format!(
            "  onward transfer of {} to {} authorised by {} (reference {}, sender ledger entry {})",
            consent.item,
            s.recipient.authority,
            consent.authorised_by,
            consent.reference,
            consent.seq
        )));
    }
    text
}

/// One line per signature file.
fn signers_text(report: &PackageReport) -> String {
    let mut text = String::new();
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
        let who = match &signer.full_name {
            Some(full) => format!("{} ({full})", signer.key),
            None => signer.key.clone(),
        };
        text.push_str(&output::line(&format!("  signer {who}: {state}")));
    }
    text
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
    let bar = output::shared_progress(hashed_bytes(&args.path), "validating");
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
        output::warn(&warning.to_string());
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
    output::verdict(&text)?;
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

/// The bytes verifying the ZIP archive at `path` hashes, for a progress bar's length: the
/// uncompressed sizes of its entries, less the tag manifests and signatures (which no
/// manifest lists). The library reports progress in uncompressed bytes, so a total taken
/// from the file size ran past 100% on a compressed package. `None` (a bar without total)
/// for a directory, an archive that does not scan, or when no bar is shown (the central
/// directory is then not read a second time). Only the bar's length rests on this.
pub fn hashed_bytes(path: &Path) -> Option<u64> {
    if !output::progress_visible() {
        return None;
    }
    package_hashed_bytes(path)
}

fn package_hashed_bytes(path: &Path) -> Option<u64> {
    let file = std::fs::File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let scanner = ZipScanner::new(file, &ScanLimits::default()).ok()?;
    let total = scanner
        .entries()
        .iter()
        .filter(|e| {
            let inner = e.name.split_once('/').map_or("", |(_, rest)| rest);
            !inner.starts_with("tagmanifest-") && !inner.starts_with("custody/signatures/")
        })
        .try_fold(0u64, |sum, e| sum.checked_add(e.uncompressed_size))?;
    Some(total)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicU64, Ordering};

    use custody_core::keys::{ActorInfo, Identity};
    use custody_pack::package::{Recipient, RequestInfo};
    use custody_pack::seal::{seal, SealRequest, SenderInfo};
    use custody_pack::verify::{verify_package, TrustedKey, VerifyOptions};
    use custody_pack::zipwrite::Compression;
    use custody_store::acquisition::Acquisition;
    use custody_store::{EventDraft, EventFields, EventKind, Ledger};

    use super::*;

    static HASHED: AtomicU64 = AtomicU64::new(0);

    fn count(bytes: u64) {
        HASHED.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The bar's total counts exactly the bytes verification reports, stored or deflated
    /// (a total taken from the package size ran past 100% on a compressed package).
    #[test]
    fn progress_total_counts_the_bytes_verification_reports() {
        let dir = tempfile::tempdir().unwrap();
        let officer = Identity::from_seed(ActorInfo::named("officer@example.fr"), [1; 32]).unwrap();
        let log = Identity::from_seed(ActorInfo::named("ledger.example.fr"), [2; 32]).unwrap();
        let mut ledger = Ledger::init(
            &dir.path().join("l.db"),
            "ledger.example.fr/custody",
            &officer,
            &log,
        )
        .unwrap();
        // Compressible bytes, so the deflated package is much smaller than its payload.
        let evidence = dir.path().join("log.txt");
        let text: String = (0..40_000u64)
            .map(|i| format!("2026-03-01 call {:010}\n", i * 7919 % 1_000_003))
            .collect();
        std::fs::write(&evidence, text).unwrap();
        let acquired = Acquisition::plan(&evidence)
            .unwrap()
            .hash(&mut |_| {})
            .unwrap();
        ledger
            .append_batch(
                vec![
                    EventDraft::new(EventKind::CaseOpened, "2026-03-01T09:00:00Z").case("C-1"),
                    EventDraft::new(EventKind::Acquired, "2026-03-01T09:00:00Z")
                        .case("C-1")
                        .item("C-1-1")
                        .fields(EventFields {
                            evidence: Some(acquired),
                            ..EventFields::default()
                        }),
                ],
                &officer,
                &log,
            )
            .unwrap();
        for compression in [Compression::Stored, Compression::Deflate] {
            let out = dir.path().join(format!("{compression:?}.zip"));
            let request = SealRequest {
                case: "C-1".into(),
                id: None,
                items: vec!["C-1-1".into()],
                files: BTreeMap::from([("C-1-1".into(), evidence.clone())]),
                sender: SenderInfo {
                    authority: "Parquet de Paris".into(),
                    organisation: None,
                    jurisdiction: None,
                },
                recipient: Recipient {
                    authority: "Staatsanwaltschaft Berlin".into(),
                    jurisdiction: None,
                },
                request: RequestInfo::default(),
                use_limitations: vec![],
                confidential: false,
                personal_data: vec![],
                retention_until: None,
                sealed_time: time::macros::datetime!(2026-03-02 12:00:00 UTC),
                claimed_time: "2026-03-02T12:00:00Z".into(),
                compression,
            };
            seal(
                &mut ledger,
                request,
                &officer,
                std::slice::from_ref(&officer),
                &log,
                &out,
                &mut |_| {},
            )
            .unwrap();
            HASHED.store(0, Ordering::Relaxed);
            let options = VerifyOptions {
                trusted: vec![TrustedKey::Public(officer.public_key())],
                bag: ValidateOptions {
                    progress: Some(count),
                    ..ValidateOptions::default()
                },
                ..VerifyOptions::default()
            };
            let report = verify_package(&out, &options).unwrap();
            assert!(report.verified, "{:?}", report.findings);
            let reported = HASHED.load(Ordering::Relaxed);
            assert!(reported > 1_000_000, "{reported}");
            if compression == Compression::Deflate {
                assert!(std::fs::metadata(&out).unwrap().len() < reported / 2);
            }
            assert_eq!(
                package_hashed_bytes(&out),
                Some(reported),
                "{compression:?}"
            );
        }
    }
}
