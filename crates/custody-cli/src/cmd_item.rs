//! `custody item list` and `custody item show`: each item's custody state, holder, place,
//! last hash verification and holder timeline, from the verified entries
//! (`custody_store::custody`).

use anyhow::Context;
use custody_store::{CheckResult, HashCheck, Holder, HolderPeriod, ItemCustody};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::ledger_opts::{short_key, LedgerArg};
use crate::{output, Outcome};

/// `custody item …`.
#[derive(clap::Subcommand)]
pub enum ItemCommand {
    /// List items with their state, holder, place and last hash check.
    List(ListArgs),
    /// Show one item: identity, digests, state, custody-form record and holder timeline.
    Show(ShowArgs),
}

/// Arguments of `custody item list`.
#[derive(clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    ledger: LedgerArg,
    /// Only the items of this case.
    #[arg(long)]
    case: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Arguments of `custody item show`.
#[derive(clap::Args)]
pub struct ShowArgs {
    #[command(flatten)]
    ledger: LedgerArg,
    /// The item id.
    item: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `custody item …`.
pub fn run(command: ItemCommand) -> anyhow::Result<Outcome> {
    match command {
        ItemCommand::List(args) => list(args),
        ItemCommand::Show(args) => show(args),
    }
}

fn list(args: ListArgs) -> anyhow::Result<Outcome> {
    let ledger = args.ledger.open()?;
    let items = ledger.custody(args.case.as_deref()).with_context(|| {
        format!(
            "cannot read the items of ledger {}",
            ledger.path().display()
        )
    })?;
    if args.json {
        let rows: Vec<Value> = items.iter().map(item_json).collect();
        output::print_json(&json!({ "items": rows }))?;
        return Ok(Outcome::Ok);
    }
    if items.is_empty() {
        let scope = args
            .case
            .as_deref()
            .map_or_else(String::new, |c| format!(" in case {}", output::escape(c)));
        output::print(&format!("no items{scope}\n"))?;
        return Ok(Outcome::Ok);
    }
    let header = [
        "ITEM",
        "CASE",
        "STATE",
        "HOLDER",
        "PLACE",
        "LAST HASH CHECK",
    ];
    let rows: Vec<[String; 6]> = items
        .iter()
        .map(|c| {
            [
                c.item.clone(),
                c.case.clone().unwrap_or_else(|| "-".into()),
                if past_retention(c) {
                    format!("{} PAST RETENTION", c.state)
                } else {
                    c.state.to_string()
                },
                c.holder.as_ref().map_or_else(|| "-".into(), holder_text),
                c.place.clone().unwrap_or_else(|| "-".into()),
                c.last_hash_check
                    .as_ref()
                    .map_or_else(|| "never".into(), check_text),
            ]
            .map(|cell| output::escape(&cell).into_owned())
        })
        .collect();
    output::print(&table(&header, &rows))?;
    Ok(Outcome::Ok)
}

fn show(args: ShowArgs) -> anyhow::Result<Outcome> {
    let ledger = args.ledger.open()?;
    let custody = ledger
        .item_custody(&args.item)
        .with_context(|| format!("cannot read the history of item {}", args.item))?
        .with_context(|| {
            format!(
                "no item {} in ledger {}",
                args.item,
                ledger.path().display()
            )
        })?;
    if args.json {
        output::print_json(&item_json(&custody))?;
        return Ok(Outcome::Ok);
    }
    output::print(&detail(&custody))?;
    Ok(Outcome::Ok)
}

/// Columns padded to their widest cell (cells are already escaped).
fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: Vec<&str>| {
        let mut line = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(header.to_vec());
    for row in rows {
        push_row(row.iter().map(String::as_str).collect());
    }
    out
}

fn holder_text(holder: &Holder) -> String {
    let mut text = match &holder.full_name {
        Some(full) => format!("{full} [{}]", holder.name),
        None => holder.name.clone(),
    };
    let org: Vec<&str> = [&holder.organisation, &holder.jurisdiction]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    if !org.is_empty() {
        text.push_str(&format!(" ({})", org.join(", ")));
    }
    text
}

fn result_text(result: Option<CheckResult>) -> &'static str {
    match result {
        Some(CheckResult::Pass) => "pass",
        Some(CheckResult::Fail) => "FAIL",
        None => "no result",
    }
}

fn check_text(check: &HashCheck) -> String {
    format!(
        "{} at seq {}, {}",
        result_text(check.result),
        check.seq,
        time_text(&check.time)
    )
}

/// A claimed time as UTC with its original offset: `2026-03-01T08:00:00Z (+01:00)`.
fn time_text(claimed: &str) -> String {
    match utc_and_offset(claimed) {
        Some((utc, offset)) if offset != "Z" => format!("{utc} ({offset})"),
        Some((utc, _)) => utc,
        None => claimed.to_owned(),
    }
}

/// RFC 3339 UTC with `Z`, and the original offset (`+01:00`, or `Z`).
fn utc_and_offset(time: &str) -> Option<(String, String)> {
    let parsed = OffsetDateTime::parse(time, &Rfc3339).ok()?;
    let offset = if time.ends_with('Z') || time.ends_with('z') {
        "Z".to_owned()
    } else {
        time.get(time.len().checked_sub(6)?..)?.to_owned()
    };
    Some((custody_store::ledger::format_utc(parsed), offset))
}

/// `{"time": UTC, "offset": original}` members for a claimed time (the raw value when it
/// does not parse, which verified entries never hold).
fn time_json(prefix: &str, time: &str) -> Vec<(String, Value)> {
    match utc_and_offset(time) {
        Some((utc, offset)) => vec![
            (format!("{prefix}time"), json!(utc)),
            (format!("{prefix}offset"), json!(offset)),
        ],
        None => vec![(format!("{prefix}time"), json!(time))],
    }
}

fn holder_json(holder: &Holder) -> Value {
    json!({
        "name": holder.name,
        "full_name": holder.full_name,
        "key": holder.key,
        "organisation": holder.organisation,
        "jurisdiction": holder.jurisdiction,
    })
}

fn period_json(period: &HolderPeriod) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("holder".into(), holder_json(&period.holder));
    object.insert("from_seq".into(), json!(period.from_seq));
    object.extend(time_json("from_", &period.from_time));
    object.insert("until_seq".into(), json!(period.until_seq));
    match &period.until_time {
        Some(until) => object.extend(time_json("until_", until)),
        None => {
            object.insert("until_time".into(), Value::Null);
        }
    }
    object.insert("both_signed".into(), json!(period.both_signed));
    Value::Object(object)
}

/// An item in the common vocabulary: `id`, `size`, `sha256`, `blake3`, then its custody.
fn item_json(c: &ItemCustody) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("id".into(), json!(c.item));
    object.insert("case".into(), json!(c.case));
    object.insert("size".into(), json!(c.size));
    object.insert("sha256".into(), json!(c.sha256));
    object.insert("blake3".into(), json!(c.blake3));
    object.insert("created_kind".into(), json!(c.created_kind));
    object.insert("created_seq".into(), json!(c.created_seq));
    object.insert("state".into(), json!(c.state));
    object.insert(
        "holder".into(),
        c.holder.as_ref().map_or(Value::Null, holder_json),
    );
    object.insert("place".into(), json!(c.place));
    let check = c.last_hash_check.as_ref().map_or(Value::Null, |check| {
        let mut o = serde_json::Map::new();
        o.insert("seq".into(), json!(check.seq));
        o.extend(time_json("", &check.time));
        o.insert("result".into(), json!(check.result));
        Value::Object(o)
    });
    object.insert("last_hash_check".into(), check);
    object.insert("form".into(), json!(c.form));
    object.insert(
        "timeline".into(),
        Value::Array(c.timeline.iter().map(period_json).collect()),
    );
    object.insert("last_seq".into(), json!(c.last_seq));
    // What the sending authority attached to a received item (its `received` event).
    object.insert("received".into(), json!(c.received));
    object.insert("past_retention".into(), json!(past_retention(c)));
    Value::Object(object)
}

/// Whether a received item is kept past the retention date its sender set (today, UTC),
/// and not destroyed.
fn past_retention(c: &ItemCustody) -> bool {
    c.state != custody_store::CustodyState::Destroyed
        && c.received
            .as_ref()
            .and_then(|r| r.conditions.as_ref())
            .and_then(|k| k.past_retention(OffsetDateTime::now_utc().date()))
            == Some(true)
}

fn detail(c: &ItemCustody) -> String {
    let mut rows: Vec<(&str, String)> = vec![
        ("item", c.item.clone()),
        ("case", c.case.clone().unwrap_or_else(|| "-".into())),
        (
            "created",
            format!("{} at seq {}", c.created_kind, c.created_seq),
        ),
    ];
    if let Some(size) = c.size {
        rows.push(("size", format!("{size} bytes")));
    }
    if let Some(sha256) = &c.sha256 {
        rows.push(("sha256", sha256.clone()));
    }
    if let Some(blake3) = &c.blake3 {
        rows.push(("blake3", blake3.clone()));
    }
    rows.push(("state", c.state.to_string()));
    rows.push((
        "holder",
        c.holder.as_ref().map_or_else(
            || "-".into(),
            |h| {
                let mut text = holder_text(h);
                if let Some(key) = &h.key {
                    text.push_str(&format!(" key {}", short_key(key)));
                }
                text
            },
        ),
    ));
    rows.push(("place", c.place.clone().unwrap_or_else(|| "-".into())));
    rows.push((
        "last hash check",
        c.last_hash_check
            .as_ref()
            .map_or_else(|| "never".into(), check_text),
    ));
    let form = &c.form;
    let mut optional = |label, value: Option<String>| {
        if let Some(value) = value {
            rows.push((label, value));
        }
    };
    optional("description", form.description.clone());
    optional("type", form.item_type.clone());
    if let Some(device) = &form.device {
        optional("make", device.make.clone());
        optional("model", device.model.clone());
        optional("serial number", device.serial_number.clone());
    }
    optional("condition", form.condition_on_receipt.clone());
    optional("seals", form.seals.as_ref().map(|s| s.join(", ")));
    optional("storage", form.storage_conditions.clone());
    if let Some(shipment) = &form.shipment {
        optional("carrier", shipment.carrier.clone());
        optional("tracking number", shipment.tracking_number.clone());
    }
    if let Some(received) = &c.received {
        optional("received from", received.from.clone());
        optional("received notes", received.notes.clone());
        if let Some(conditions) = &received.conditions {
            let list = |v: &[String]| {
                if v.is_empty() {
                    "none stated".to_owned()
                } else {
                    v.join("; ")
                }
            };
            optional("use limitations", Some(list(&conditions.use_limitations)));
            optional(
                "confidential",
                Some(if conditions.confidential { "yes" } else { "no" }.to_owned()),
            );
            optional("personal data", Some(list(&conditions.personal_data)));
            optional(
                "retention until",
                conditions.retention_until.as_ref().map(|date| {
                    if past_retention(c) {
                        format!("{date} (PAST RETENTION)")
                    } else {
                        date.clone()
                    }
                }),
            );
        }
    }
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (label, value) in &rows {
        out.push_str(&output::line(&format!("{label:<width$}  {value}")));
    }
    out.push_str("\nholders\n");
    let header = ["FROM", "UNTIL", "HOLDER", "SIGNED"];
    let periods: Vec<[String; 4]> = c
        .timeline
        .iter()
        .map(|p| {
            [
                format!("{} seq {}", time_text(&p.from_time), p.from_seq),
                match (&p.until_time, p.until_seq) {
                    (Some(t), Some(seq)) => format!("{} seq {seq}", time_text(t)),
                    _ => "(now)".into(),
                },
                holder_text(&p.holder),
                if p.both_signed {
                    "both (hand-over)".into()
                } else {
                    "one".into()
                },
            ]
            .map(|cell| output::escape(&cell).into_owned())
        })
        .collect();
    for line in table(&header, &periods).lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claimed_times_become_utc_with_their_offset() {
        assert_eq!(
            utc_and_offset("2026-03-01T09:00:00+01:00"),
            Some(("2026-03-01T08:00:00Z".into(), "+01:00".into()))
        );
        assert_eq!(
            utc_and_offset("2026-03-01T09:00:00Z"),
            Some(("2026-03-01T09:00:00Z".into(), "Z".into()))
        );
        assert_eq!(
            time_text("2026-03-01T09:00:00-05:00"),
            "2026-03-01T14:00:00Z (-05:00)"
        );
        assert_eq!(utc_and_offset("yesterday"), None);
    }

    #[test]
    fn table_aligns_columns_on_the_widest_cell() {
        let rows = [
            ["a".to_owned(), "bbbb".to_owned()],
            ["ccc".into(), "d".into()],
        ];
        assert_eq!(table(&["X", "Y"], &rows), "X    Y\na    bbbb\nccc  d\n");
    }
}
