//! `custody log` (the custody timeline) and `custody checkpoint` (the latest signed head).

use std::collections::BTreeMap;

use anyhow::Context;
use custody_store::{CheckResult, Event, Ledger, StoredEntry};

use crate::ledger_opts::{actor_names, short_key, LedgerArg};
use crate::{output, Outcome};

/// Arguments of `custody log`.
#[derive(clap::Args)]
pub struct LogArgs {
    #[command(flatten)]
    ledger: LedgerArg,
    /// Show only this item's history (with derivations from it).
    #[arg(conflicts_with = "case")]
    item: Option<String>,
    /// Show only this case's events.
    #[arg(long)]
    case: Option<String>,
    /// Print JSON (the signed entries, each with its signer's name) instead of text.
    #[arg(long)]
    json: bool,
}

/// Arguments of `custody checkpoint`.
#[derive(clap::Args)]
pub struct CheckpointArgs {
    #[command(flatten)]
    ledger: LedgerArg,
    /// An older signed checkpoint: the one signed when the ledger held N entries (an error
    /// if none was signed at that size) [default: the latest]
    #[arg(long, value_name = "N")]
    size: Option<u64>,
    /// Print JSON (origin, size, root, time, note) instead of the note alone.
    #[arg(long)]
    json: bool,
}

/// Runs `custody log`.
pub fn run(args: LogArgs) -> anyhow::Result<Outcome> {
    let ledger = args.ledger.open()?;
    let entries = match (&args.item, &args.case) {
        (Some(item), _) => {
            let history = ledger
                .item_history(item)
                .with_context(|| format!("cannot read the history of item {item}"))?;
            if history.is_empty() {
                anyhow::bail!("no item {item} in ledger {}", ledger.path().display());
            }
            history
        }
        (None, Some(case)) => {
            let history = ledger
                .case_history(case)
                .with_context(|| format!("cannot read the history of case {case}"))?;
            if history.is_empty() {
                anyhow::bail!("no case {case} in ledger {}", ledger.path().display());
            }
            history
        }
        (None, None) => all_entries(&ledger)?,
    };
    let names = actor_names(&ledger)?;
    let full_names = actor_full_names(&ledger)?;
    if args.json {
        let rows: Vec<_> = entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "seq": e.seq,
                    "actor_name": names.get(&e.signed.event.actor),
                    "actor_full_name": full_names.get(&e.signed.event.actor),
                    "event": e.signed.event,
                    "signature": e.signed.signature,
                    "cosignature": e.signed.cosignature,
                })
            })
            .collect();
        output::print_json(&rows)?;
        return Ok(Outcome::Ok);
    }
    let mut text = format!(
        "{:>5}  {:<30}  {:<30}  {:<22}  {:<20}  {}\n",
        "SEQ", "RECORDED (UTC)", "CLAIMED", "KIND", "ACTOR", "ITEMS"
    );
    // Actors shown as `Full Name (key-name)` where the enrolment recorded a full name.
    let shown: BTreeMap<String, String> = names
        .iter()
        .map(|(key, name)| {
            let full = full_names.get(key).map(String::as_str);
            (key.clone(), crate::cmd_actor::shown_actor(name, full))
        })
        .collect();
    for entry in &entries {
        text.push_str(&render(&entry.signed.event, &shown));
    }
    output::print(&text)?;
    Ok(Outcome::Ok)
}

/// Runs `custody checkpoint`: the note exactly as signed, so it can be saved and later
/// given to `custody ledger verify --checkpoint`.
pub fn run_checkpoint(args: CheckpointArgs) -> anyhow::Result<Outcome> {
    let ledger = args.ledger.open()?;
    let (checkpoint, note) = match args.size {
        Some(size) => ledger.signed_checkpoint_at(size).with_context(|| {
            format!(
                "cannot give the checkpoint at size {size} of {}",
                ledger.path().display()
            )
        })?,
        None => ledger.latest_checkpoint().with_context(|| {
            format!(
                "cannot read the latest checkpoint of {}",
                ledger.path().display()
            )
        })?,
    };
    if args.json {
        output::print_json(&checkpoint_json(&ledger, &checkpoint, &note)?)?;
    } else {
        output::print(&note)?;
    }
    Ok(Outcome::Ok)
}

/// `{origin, size, root, time, note}`: `root` in lower-case hex; `time` is when the ledger
/// recorded the last entry the checkpoint covers (checkpoints carry no time of their own,
/// and each is signed as that entry is appended).
pub fn checkpoint_json(
    ledger: &Ledger,
    checkpoint: &custody_core::checkpoint::Checkpoint,
    note: &str,
) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::json!({
        "origin": checkpoint.origin,
        "size": checkpoint.size,
        "root": custody_core::hex::encode(&checkpoint.root),
        "time": checkpoint_time(ledger, checkpoint.size)?,
        "note": note,
    }))
}

/// When the ledger recorded the last entry a checkpoint of `size` covers (RFC 3339 UTC).
pub fn checkpoint_time(ledger: &Ledger, size: u64) -> anyhow::Result<Option<String>> {
    let Some(last) = size.checked_sub(1) else {
        return Ok(None);
    };
    let entry = ledger
        .entry(last)
        .with_context(|| format!("cannot read entry {last}"))?;
    Ok(Some(entry.signed.event.recorded_time))
}

/// Full names by key hex, for the actors whose enrolment recorded one.
fn actor_full_names(ledger: &Ledger) -> anyhow::Result<BTreeMap<String, String>> {
    Ok(ledger
        .actors()
        .context("cannot read the actors")?
        .into_iter()
        .filter_map(|a| Some((a.key, a.full_name?)))
        .collect())
}

fn all_entries(ledger: &Ledger) -> anyhow::Result<Vec<StoredEntry>> {
    let size = ledger.size().context("cannot read the ledger size")?;
    (0..size)
        .map(|seq| {
            ledger
                .entry(seq)
                .with_context(|| format!("cannot read entry {seq} (run `custody ledger verify`)"))
        })
        .collect()
}

/// An actor's name for a key; a key nobody enrolled shortened; free text (`from`/`to` may
/// name an authority abroad) as it is.
fn name_or_key<'a>(names: &'a BTreeMap<String, String>, key: &'a str) -> &'a str {
    if let Some(name) = names.get(key) {
        return name;
    }
    if custody_store::rules::is_key_hex(key) {
        short_key(key)
    } else {
        key
    }
}

fn render(event: &Event, names: &BTreeMap<String, String>) -> String {
    // Each line escaped whole: an item id, name or note cannot end its line or drive the
    // terminal.
    let mut out = output::line(&format!(
        "{:>5}  {:<30}  {:<30}  {:<22}  {:<20}  {}",
        event.seq,
        event.recorded_time,
        event.claimed_time,
        event.kind.as_str(),
        name_or_key(names, &event.actor),
        event.items.join(", "),
    ));
    for (label, value) in details(event, names) {
        out.push_str(&output::line(&format!("{:7}{label}: {value}", "")));
    }
    out
}

/// The kind-specific fields worth a line each in the timeline.
fn details(event: &Event, names: &BTreeMap<String, String>) -> Vec<(&'static str, String)> {
    let f = &event.fields;
    let mut out = Vec::new();
    let mut push = |label, value: Option<String>| {
        if let Some(v) = value {
            out.push((label, v));
        }
    };
    push("case", event.case.clone());
    push("title", f.title.clone());
    push("place", f.place.clone());
    push("purpose", f.purpose.clone());
    push("authority", f.legal_authority.clone());
    push(
        "from",
        f.from.as_deref().map(|k| name_or_key(names, k).to_owned()),
    );
    push(
        "to",
        f.to.as_deref().map(|k| name_or_key(names, k).to_owned()),
    );
    push(
        "tool",
        f.tool.as_ref().map(|t| {
            format!("{t} {}", f.tool_version.as_deref().unwrap_or(""))
                .trim_end()
                .to_owned()
        }),
    );
    push("parent", f.parent.clone());
    push(
        "evidence",
        f.evidence.as_ref().map(|e| {
            let files = e
                .files
                .as_ref()
                .map_or(String::new(), |l| format!(", {} files", l.len()));
            format!(
                "{} ({} bytes{files}) sha256 {}",
                e.source_path,
                e.size,
                custody_core::hex::encode(&e.sha256)
            )
        }),
    );
    push(
        "expected",
        f.expected
            .map(|d| format!("{} bytes sha256 {}", d.size, d.sha256_hex())),
    );
    push(
        "found",
        f.found
            .map(|d| format!("{} bytes sha256 {}", d.size, d.sha256_hex())),
    );
    push(
        "result",
        f.result.map(|r| match r {
            CheckResult::Pass => "pass".to_owned(),
            CheckResult::Fail => "FAIL".to_owned(),
        }),
    );
    push("package", f.package_digest.clone());
    push(
        "actor",
        f.actor_info.as_ref().map(|i| {
            let key = f.public_key.as_deref().map_or("", short_key);
            format!(
                "{} ({}, {}, {}) key {key}",
                crate::cmd_actor::shown_actor(&i.name, i.full_name.as_deref()),
                i.role.as_deref().unwrap_or("-"),
                i.organisation.as_deref().unwrap_or("-"),
                i.jurisdiction.as_deref().unwrap_or("-")
            )
        }),
    );
    if f.actor_info.is_none() {
        push("key", f.public_key.clone());
    }
    push("log key", f.log_key.clone());
    push(
        "checkpoint",
        f.checkpoint
            .as_ref()
            .map(|c| c.lines().take(2).collect::<Vec<_>>().join(" / ")),
    );
    push("note", f.notes.clone());
    out
}
