//! `custody acquire PATH...`: hash evidence and record one `acquired` event per path.

use std::path::PathBuf;

use anyhow::Context;
use custody_store::acquisition::{next_item_id, Acquisition};
use custody_store::{EventDraft, EventFields, EventKind, Evidence};

use crate::cmd_event::FormArgs;
use crate::ledger_opts::{now_rfc3339, LedgerArg, Session, SignerArgs};
use crate::{output, Outcome};

/// Arguments of `custody acquire`.
#[derive(clap::Args)]
pub struct AcquireArgs {
    #[command(flatten)]
    ledger: LedgerArg,
    #[command(flatten)]
    signer: SignerArgs,
    /// Files or directories; a directory becomes one item listing every file in it.
    /// Symbolic links are refused, never followed.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The case the evidence belongs to.
    #[arg(long)]
    case: String,
    /// Item id (only with a single PATH) [default: <CASE>-<n>, numbering on from the
    /// largest n already used in the ledger, starting at 1]
    #[arg(long)]
    item: Option<String>,
    /// Where it was acquired.
    #[arg(long)]
    location: Option<String>,
    /// Legal authority for the acquisition (warrant, order).
    #[arg(long)]
    authority: Option<String>,
    /// Free-text note.
    #[arg(long)]
    note: Option<String>,
    /// When it was acquired (RFC 3339 with offset) [default: now]
    #[arg(long)]
    claimed_time: Option<String>,
    #[command(flatten)]
    form: Box<FormArgs>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `custody acquire`.
pub fn run(args: AcquireArgs) -> anyhow::Result<Outcome> {
    if args.item.is_some() && args.paths.len() > 1 {
        anyhow::bail!(
            "--item names one item, but {} paths were given; acquire them one at a time or drop --item",
            args.paths.len()
        );
    }
    let mut session = Session::open(&args.ledger, &args.signer)?;
    let plans = args
        .paths
        .iter()
        .map(|p| Acquisition::plan(p).with_context(|| format!("cannot acquire {}", p.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let ids = item_ids(&args, &session)?;
    let claimed_time = args.claimed_time.clone().unwrap_or_else(now_rfc3339);
    let mut evidence = Vec::with_capacity(plans.len());
    for (plan, path) in plans.iter().zip(&args.paths) {
        let bar = output::byte_progress(plan.total_size(), &path.display().to_string());
        let hashed = plan
            .hash(&mut |n| bar.set_position(n))
            .with_context(|| format!("cannot hash {}", path.display()));
        bar.finish_and_clear();
        evidence.push(hashed?);
    }
    let drafts = ids
        .iter()
        .zip(&evidence)
        .map(|(id, ev)| {
            let mut fields = EventFields {
                place: args.location.clone(),
                legal_authority: args.authority.clone(),
                notes: args.note.clone(),
                evidence: Some(ev.clone()),
                ..EventFields::default()
            };
            args.form.fill(&mut fields);
            EventDraft::new(EventKind::Acquired, claimed_time.clone())
                .case(args.case.clone())
                .item(id.clone())
                .fields(fields)
        })
        .collect();
    let appended = session.append_batch(drafts)?;
    if args.json {
        let rows: Vec<_> = appended
            .iter()
            .zip(ids.iter().zip(&evidence))
            .map(|(a, (id, ev))| serde_json::json!({ "seq": a.seq, "item": id, "evidence": ev }))
            .collect();
        output::print_json(&rows)?;
        return Ok(Outcome::Ok);
    }
    let mut text = String::new();
    for (a, (id, ev)) in appended.iter().zip(ids.iter().zip(&evidence)) {
        text.push_str(&render(a.seq, id, ev));
    }
    output::print(&text)?;
    Ok(Outcome::Ok)
}

fn item_ids(args: &AcquireArgs, session: &Session) -> anyhow::Result<Vec<String>> {
    if let Some(item) = &args.item {
        return Ok(vec![item.clone()]);
    }
    let existing = session
        .ledger
        .items(None)
        .context("cannot read the item index")?;
    let mut used: Vec<String> = existing.into_iter().map(|r| r.item).collect();
    let mut ids = Vec::with_capacity(args.paths.len());
    for _ in &args.paths {
        let id = next_item_id(&args.case, used.iter().map(String::as_str));
        used.push(id.clone());
        ids.push(id);
    }
    Ok(ids)
}

fn render(seq: u64, id: &str, ev: &Evidence) -> String {
    let what = match &ev.files {
        Some(files) => format!("directory, {} files", files.len()),
        None => "file".to_owned(),
    };
    format!(
        "acquired {id} at seq {seq}: {} ({what}, {} bytes)\n  sha256 {}\n  blake3 {}\n",
        ev.source_path,
        ev.size,
        custody_core::hex::encode(&ev.sha256),
        custody_core::hex::encode(&ev.blake3),
    )
}
