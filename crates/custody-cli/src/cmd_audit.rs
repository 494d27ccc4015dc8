//! `custody audit [--case REF] [--checkpoint FILE]...` (a ledger) or
//! `custody audit --package PKG.zip --trust KEY...` (a package), with `--html FILE`,
//! `--case-uco FILE` and `--json`.
//!
//! Renders only: the checks, the gaps and the report model are
//! [`custody_pack::audit`]'s. Exit codes: 0 verified, 1 a finding fails the verdict, 2 the
//! audit could not run (unreadable ledger or package, unknown case, a file not written).

use std::path::PathBuf;

use anyhow::Context;
use custody_pack::audit::{self, AuditReport, LedgerAuditOptions, Verdict};

use crate::cmd_ledger::{default_signer_state, read_checkpoint_file};
use crate::cmd_verify::TrustArgs;
use crate::ledger_opts::LedgerArg;
use crate::{output, Outcome};

/// Arguments of `custody audit`.
#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(flatten)]
    ledger: LedgerArg,
    /// Audit only this case of the ledger [default: every item]. Verifies every entry of
    /// the case, not the whole ledger (the report says so); add --full for both.
    #[arg(long, conflicts_with = "package")]
    case: Option<String>,
    /// With --case: verify the whole ledger too, as `custody ledger verify` does (every
    /// entry, signature, rule, node, checkpoint, snapshot and index row).
    #[arg(long, requires = "case")]
    full: bool,
    /// A signed checkpoint of the ledger kept elsewhere; repeatable (as `ledger verify`).
    #[arg(long = "checkpoint", conflicts_with = "package")]
    checkpoints: Vec<PathBuf>,
    /// The log signer's state [default: as `custody ledger verify`].
    #[arg(long, conflicts_with = "package")]
    signer_state: Option<PathBuf>,
    /// Audit a ledger published as C2SP tlog-tiles (an `http://` or `https://` URL prefix
    /// served by `custody serve` or any web server, or a directory written by `ledger
    /// export-tiles`): it is first verified from its tiles as `ledger verify --url` does
    /// (consistent with every checkpoint seen before), then audited from that copy.
    #[arg(
        long,
        value_name = "URL|DIR",
        requires = "log_verifier_key",
        conflicts_with_all = ["package", "signer_state"]
    )]
    url: Option<String>,
    /// With --url: the ledger's log verifier key (`name+keyid+base64`).
    #[arg(long, value_name = "KEY", requires = "url")]
    log_verifier_key: Option<String>,
    /// With --url: where checkpoints seen before are kept [default: as `ledger verify
    /// --url`].
    #[arg(long, value_name = "DIR", requires = "url")]
    seen_dir: Option<PathBuf>,
    /// Audit this package instead of a ledger (verified as `custody verify` does).
    #[arg(long, value_name = "PKG.zip")]
    package: Option<PathBuf>,
    #[command(flatten)]
    trust: TrustArgs,
    /// Write the report as one self-contained HTML file (replaced atomically).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write the custody history as CASE/UCO JSON-LD (replaced atomically).
    #[arg(long, value_name = "FILE")]
    case_uco: Option<PathBuf>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Refuses report destinations that would replace what is audited, or each other: a
/// report written over the ledger or the package would destroy the evidence of custody.
fn check_destinations(args: &AuditArgs) -> anyhow::Result<()> {
    let audited = args.package.as_ref().unwrap_or(&args.ledger.ledger);
    // A path as the file system resolves it; for a file not yet there, its directory's.
    let resolve = |p: &std::path::Path| -> PathBuf {
        std::fs::canonicalize(p).unwrap_or_else(|_| {
            let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
            let dir = std::fs::canonicalize(dir.unwrap_or(std::path::Path::new(".")));
            match (dir, p.file_name()) {
                (Ok(dir), Some(name)) => dir.join(name),
                _ => p.to_path_buf(),
            }
        })
    };
    let same = |a: &std::path::Path, b: &std::path::Path| a == b || resolve(a) == resolve(b);
    let outputs: Vec<&PathBuf> = args.html.iter().chain(&args.case_uco).collect();
    for out in &outputs {
        if same(out, audited) {
            anyhow::bail!(
                "refusing to write the report over {}, the file being audited",
                audited.display()
            );
        }
    }
    if let [html, case_uco] = outputs[..] {
        if same(html, case_uco) {
            anyhow::bail!(
                "--html and --case-uco name the same file {}",
                html.display()
            );
        }
    }
    Ok(())
}

/// Runs `custody audit`.
pub fn run(args: AuditArgs) -> anyhow::Result<Outcome> {
    check_destinations(&args)?;
    // Kept until the report is written: a published ledger is audited from this copy.
    let work = tempfile::tempdir().context("cannot create a temporary directory")?;
    let report = match (&args.package, &args.url) {
        (Some(package), _) => {
            let options = args.trust.options()?;
            audit::audit_package(package, &options, None)
                .with_context(|| format!("cannot audit {}", package.display()))?
        }
        (None, Some(url)) => match published_report(&args, url, work.path())? {
            Ok(report) => report,
            Err(outcome) => return Ok(outcome),
        },
        (None, None) => ledger_report(&args)?,
    };
    if let Some(path) = &args.html {
        audit::write_report_file(path, audit::html::render(&report).as_bytes())?;
    }
    if let Some(path) = &args.case_uco {
        let mut bytes = serde_json::to_vec_pretty(&audit::case_uco::export(&report))?;
        bytes.push(b'\n');
        audit::write_report_file(path, &bytes)?;
    }
    if args.json {
        output::print_json(&report)?;
    } else {
        output::print(&summary(&report))?;
    }
    Ok(match report.verdict {
        Verdict::Verified => Outcome::Ok,
        Verdict::Failed => Outcome::Failed,
    })
}

fn ledger_report(args: &AuditArgs) -> anyhow::Result<AuditReport> {
    let mut outside = Vec::with_capacity(args.checkpoints.len());
    for path in &args.checkpoints {
        let note = read_checkpoint_file(path)
            .with_context(|| format!("cannot read checkpoint file {}", path.display()))?;
        outside.push((path.display().to_string(), note));
    }
    let ledger = args.ledger.open()?;
    let signer_state = args
        .signer_state
        .clone()
        .or_else(|| default_signer_state(&ledger));
    let options = LedgerAuditOptions {
        case: args.case.clone(),
        outside,
        signer_state,
        now: None,
        full: args.full,
    };
    audit::audit_ledger(&ledger, &options)
        .with_context(|| format!("cannot audit {}", args.ledger.shown().display()))
}

/// The audit of a published ledger: its tiles verified into a local copy in `work`
/// (`Err` is the verdict when the publication itself does not verify), then the copy
/// audited against the checkpoints given and every checkpoint seen before.
fn published_report(
    args: &AuditArgs,
    url: &str,
    work: &std::path::Path,
) -> anyhow::Result<Result<AuditReport, Outcome>> {
    let key_text = args.log_verifier_key.as_deref().unwrap_or_default();
    let key: custody_core::keys::VerifierKey = key_text
        .parse()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("--log-verifier-key {key_text:?} is not a verifier key"))?;
    let mut outside = Vec::with_capacity(args.checkpoints.len());
    for path in &args.checkpoints {
        let note = read_checkpoint_file(path)
            .with_context(|| format!("cannot read checkpoint file {}", path.display()))?;
        outside.push((path.display().to_string(), note));
    }
    let notes: Vec<String> = outside.iter().map(|(_, n)| n.clone()).collect();
    let (seen_dir, result) =
        crate::published::fetch_and_verify(url, &key, args.seen_dir.clone(), &notes, work);
    let published = match result {
        Ok(published) => published,
        Err(e) if e.is_verification_failure() => {
            return crate::published::report_publication_failure(url, &e, args.json).map(Err);
        }
        Err(e) => {
            return Err(anyhow::Error::new(e))
                .with_context(|| format!("cannot audit the ledger published at {url}"))
        }
    };
    if let Some(base) = &seen_dir {
        let seen = custody_store::published::SeenCheckpoints::for_origin(
            base,
            &published.checkpoint.origin,
        );
        for (i, note) in seen.load()?.into_iter().enumerate() {
            outside.push((format!("seen checkpoint #{}", i + 1), note));
        }
    }
    let ledger = custody_store::Ledger::open(&work.join("published.db"))
        .context("cannot open the copy of the published ledger")?;
    let options = LedgerAuditOptions {
        case: args.case.clone(),
        outside,
        signer_state: None,
        now: None,
        full: args.full,
    };
    let mut report = audit::audit_ledger(&ledger, &options)
        .with_context(|| format!("cannot audit the ledger published at {url}"))?;
    if let audit::AuditScope::Ledger { path, .. } = &mut report.scope {
        *path = PathBuf::from(url);
    }
    Ok(Ok(report))
}

/// The verdict line, then every finding, one per line (escaped by `output::print`).
fn summary(report: &AuditReport) -> String {
    let failing = report.findings.iter().filter(|f| f.fails_verdict).count();
    let gaps = report.gaps().count();
    let events: usize = report.items.iter().map(|i| i.timeline.len()).sum();
    let what = match &report.scope {
        audit::AuditScope::Ledger { path, case, .. } => format!(
            "ledger {}{}",
            path.display(),
            case.as_ref()
                .map(|c| format!(", case {c}"))
                .unwrap_or_default()
        ),
        audit::AuditScope::Package { path, .. } => format!("package {}", path.display()),
    };
    let case_check = match &report.scope {
        audit::AuditScope::Ledger {
            coverage: coverage @ audit::Coverage::Case { .. },
            case,
            ..
        } => Some(coverage.describe(case.as_deref())),
        _ => None,
    };
    let word = match report.verdict {
        Verdict::Verified if case_check.is_some() => "verified for this case",
        Verdict::Verified => "verified",
        Verdict::Failed => "FAILED",
    };
    let mut text = format!(
        "{word}: {what}: {} item(s), {events} item event(s); {failing} finding(s) failing the verdict, {gaps} custody gap(s)\n",
        report.items.len()
    );
    if let Some(checked) = case_check {
        text.push_str(&output::line(&format!("  checked: {checked}")));
    }
    for f in &report.findings {
        let label = if f.fails_verdict { "finding" } else { "gap" };
        text.push_str(&output::line(&format!(
            "  - {label} {}: {}",
            f.code, f.message
        )));
    }
    text
}
