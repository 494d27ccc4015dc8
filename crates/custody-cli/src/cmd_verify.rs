//! `custody verify PATH [--bagit] [--json]`
//!
//! With `--bagit`, PATH is a plain BagIt bag (a directory, or a ZIP archive holding one)
//! from any tool, checked against RFC 8493 and its drafts. Errors go to stdout (or into
//! the JSON report), warnings to stderr.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use custody_pack::bagit::{self, BagReport, ValidateOptions};

use crate::{output, Outcome};

/// Arguments of `custody verify`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The package or bag to verify.
    pub path: PathBuf,
    /// Treat PATH as a plain BagIt bag (directory or ZIP) rather than a Custody package.
    #[arg(long)]
    pub bagit: bool,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `custody verify`.
pub fn run(args: VerifyArgs) -> anyhow::Result<Outcome> {
    if !args.bagit {
        anyhow::bail!(
            "verifying Custody packages is not available yet; use --bagit for a plain BagIt bag"
        );
    }
    let report = bagit::validate_path(&args.path, &ValidateOptions::default())
        .with_context(|| format!("cannot verify {}", args.path.display()))?;
    render(&args, &report)?;
    Ok(if report.is_valid() {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}

fn render(args: &VerifyArgs, report: &BagReport) -> anyhow::Result<()> {
    for warning in &report.warnings {
        eprintln!("custody: warning: {warning}");
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
        writeln!(text, "error: {error}")?;
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
