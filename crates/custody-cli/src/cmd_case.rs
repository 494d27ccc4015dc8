//! `custody case open|list`: the cases evidence is acquired under.

use anyhow::Context;
use custody_store::{EventDraft, EventFields, EventKind};

use crate::ledger_opts::{now_rfc3339, LedgerArg, Session, SignerArgs};
use crate::{output, Outcome};

/// `custody case` subcommands.
#[derive(clap::Subcommand)]
pub enum CaseCommand {
    /// Open a case.
    Open {
        #[command(flatten)]
        ledger: LedgerArg,
        #[command(flatten)]
        signer: SignerArgs,
        /// Case reference, e.g. CASE-2026-0042.
        reference: String,
        /// Case title.
        #[arg(long)]
        title: String,
        /// Legal basis, e.g. the order or article the investigation proceeds under.
        #[arg(long)]
        legal_basis: Option<String>,
        /// Free-text note.
        #[arg(long)]
        note: Option<String>,
        /// When it happened (RFC 3339 with offset) [default: now]
        #[arg(long)]
        claimed_time: Option<String>,
    },
    /// List cases with their item counts.
    List {
        #[command(flatten)]
        ledger: LedgerArg,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `custody case ...`.
pub fn run(cmd: CaseCommand) -> anyhow::Result<Outcome> {
    match cmd {
        CaseCommand::Open {
            ledger,
            signer,
            reference,
            title,
            legal_basis,
            note,
            claimed_time,
        } => {
            let draft = EventDraft::new(
                EventKind::CaseOpened,
                claimed_time.unwrap_or_else(now_rfc3339),
            )
            .case(reference.clone())
            .fields(EventFields {
                title: Some(title),
                legal_authority: legal_basis,
                notes: note,
                ..EventFields::default()
            });
            let mut session = Session::open(&ledger, &signer)?;
            let appended = session.append(draft)?;
            output::print(&format!(
                "opened case {reference} at seq {}\n",
                appended.seq
            ))?;
        }
        CaseCommand::List { ledger, json } => {
            let ledger = ledger.open()?;
            let cases = ledger.cases().context("cannot read the case index")?;
            let mut rows = Vec::with_capacity(cases.len());
            for case in &cases {
                let items = ledger
                    .items(Some(&case.case))
                    .with_context(|| format!("cannot read the items of case {}", case.case))?;
                rows.push((case, items.len()));
            }
            if json {
                let value: Vec<_> = rows
                    .iter()
                    .map(|(c, n)| {
                        serde_json::json!({
                            "case": c.case,
                            "title": c.title,
                            "legal_basis": c.legal_authority,
                            "opened_seq": c.opened_seq,
                            "first_seq": c.first_seq,
                            "items": n,
                        })
                    })
                    .collect();
                output::print_json(&value)?;
                return Ok(Outcome::Ok);
            }
            let mut text = format!(
                "{:<24}  {:>6}  {:>5}  {}\n",
                "CASE", "OPENED", "ITEMS", "TITLE"
            );
            for (c, n) in rows {
                let opened = c.opened_seq.map_or("-".to_owned(), |s| s.to_string());
                text.push_str(&output::line(&format!(
                    "{:<24}  {:>6}  {:>5}  {}",
                    c.case,
                    opened,
                    n,
                    c.title.as_deref().unwrap_or("-")
                )));
            }
            output::data(&text)?;
        }
    }
    Ok(Outcome::Ok)
}
