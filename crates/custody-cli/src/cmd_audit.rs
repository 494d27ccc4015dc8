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
    /// Audit only this case of the ledger [default: every item].
    #[arg(long, conflicts_with = "package")]
    case: Option<String>,
    /// A signed checkpoint of the ledger kept elsewhere; repeatable (as `ledger verify`).
    #[arg(long = "checkpoint", conflicts_with = "package")]
    checkpoints: Vec<PathBuf>,
    /// The log signer's state [default: as `custody ledger verify`].
    #[arg(long, conflicts_with = "package")]
    signer_state: Option<PathBuf>,
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
    let report = match &args.package {
        Some(package) => {
            let options = args.trust.options()?;
            audit::audit_package(package, &options, None)
                .with_context(|| format!("cannot audit {}", package.display()))?
        }
        None => ledger_report(&args)?,
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
    };
    audit::audit_ledger(&ledger, &options)
        .with_context(|| format!("cannot audit {}", args.ledger.shown().display()))
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
    let word = match report.verdict {
        Verdict::Verified => "verified",
        Verdict::Failed => "FAILED",
    };
    let mut text = format!(
        "{word}: {what}: {} item(s), {events} item event(s); {failing} finding(s) failing the verdict, {gaps} custody gap(s)\n",
        report.items.len()
    );
    for f in &report.findings {
        let label = if f.fails_verdict { "finding" } else { "gap" };
        text.push_str(&output::line(&format!(
            "  - {label} {}: {}",
            f.code, f.message
        )));
    }
    text
}
