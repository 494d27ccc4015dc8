//! `custody event ITEM KIND`: record a custody event about an item.

use std::path::PathBuf;

use anyhow::Context;
use custody_core::hash::Digests;
use custody_core::hex;
use custody_store::acquisition::Acquisition;
use custody_store::{CheckResult, EventDraft, EventFields, EventKind, Ledger};

use crate::ledger_opts::{now_rfc3339, resolve_actor, LedgerArg, Session, SignerArgs};
use crate::{output, Outcome};

/// Arguments of `custody event`.
#[derive(clap::Args)]
pub struct EventArgs {
    #[command(flatten)]
    ledger: LedgerArg,
    #[command(flatten)]
    signer: SignerArgs,
    /// The item (for `derived` and `received`: the new item).
    item: String,
    /// What happened: stored, checked-out, checked-in, examined, derived, hash-verified,
    /// sealed, transferred, received, acknowledged, returned, destroyed, note,
    /// preservation-requested, preservation-extended, production-order, mla-request-sent,
    /// mla-request-received, mla-executed, onward-transfer-authorised (--from the
    /// consenting sender, --to the third authority, --authority the consent's reference),
    /// disclosed (--to the third party).
    kind: String,
    /// Case [default: the item's case; for `derived`, the parent's]
    #[arg(long)]
    case: Option<String>,
    /// Where it happened.
    #[arg(long)]
    place: Option<String>,
    /// Why.
    #[arg(long)]
    purpose: Option<String>,
    /// Legal authority (warrant, order, request reference).
    #[arg(long)]
    authority: Option<String>,
    /// From whom: an actor's name or key, or a free-text authority.
    #[arg(long)]
    from: Option<String>,
    /// To whom: an actor's name or key, or a free-text authority; for `checked-out` the
    /// holder [default: the signer].
    #[arg(long)]
    to: Option<String>,
    /// Tool used.
    #[arg(long)]
    tool: Option<String>,
    /// Version of the tool.
    #[arg(long)]
    tool_version: Option<String>,
    /// Expected digests: SIZE:SHA256:BLAKE3 or JSON {"size","sha256","blake3"}
    /// [default for `hash-verified`: the item's acquired digests]
    #[arg(long)]
    expected: Option<String>,
    /// Digests found: SIZE:SHA256:BLAKE3 or JSON {"size","sha256","blake3"}.
    #[arg(long)]
    found: Option<String>,
    /// Re-hash this file or directory: the digests found (`hash-verified`) or the new item's
    /// evidence (`derived`, `received`).
    #[arg(long)]
    file: Option<PathBuf>,
    /// Outcome of a check [default for `hash-verified`: pass when found equals expected].
    #[arg(long, value_parser = ["pass", "fail"])]
    result: Option<String>,
    /// Parent item (`derived`).
    #[arg(long)]
    parent: Option<String>,
    /// SHA-256 (hex) of a package file (`sealed`, `transferred`, `received`).
    #[arg(long)]
    package_digest: Option<String>,
    /// A signed checkpoint note file (`received`, `acknowledged`).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// How items were destroyed (`destroyed`: required, with --authority).
    #[arg(long)]
    method: Option<String>,
    /// Free-text note.
    #[arg(long)]
    note: Option<String>,
    /// When it happened (RFC 3339 with offset) [default: now]
    #[arg(long)]
    claimed_time: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `custody event`.
pub fn run(args: EventArgs) -> anyhow::Result<Outcome> {
    let kind = parse_kind(&args.kind)?;
    let mut session = Session::open(&args.ledger, &args.signer)?;
    let ledger = &session.ledger;
    let case = match &args.case {
        Some(case) => Some(case.clone()),
        None => {
            let owner = if kind == EventKind::Derived {
                args.parent.as_deref()
            } else {
                Some(args.item.as_str())
            };
            match owner {
                Some(item) => item_case(ledger, item)?,
                None => None,
            }
        }
    };
    let mut fields = EventFields {
        place: args.place.clone(),
        purpose: args.purpose.clone(),
        legal_authority: args.authority.clone(),
        from: party(ledger, args.from.as_deref())?,
        to: party(ledger, args.to.as_deref())?,
        tool: args.tool.clone(),
        tool_version: args.tool_version.clone(),
        expected: args
            .expected
            .as_deref()
            .map(|t| parse_digests("--expected", t))
            .transpose()?,
        found: args
            .found
            .as_deref()
            .map(|t| parse_digests("--found", t))
            .transpose()?,
        result: args.result.as_deref().map(|r| match r {
            "pass" => CheckResult::Pass,
            _ => CheckResult::Fail,
        }),
        parent: args.parent.clone(),
        package_digest: args
            .package_digest
            .as_deref()
            .map(parse_sha256_hex)
            .transpose()?,
        checkpoint: args
            .checkpoint
            .as_ref()
            .map(|p| {
                std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read checkpoint file {}", p.display()))
            })
            .transpose()?,
        notes: args.note.clone(),
        method: args.method.clone(),
        ..EventFields::default()
    };
    match kind {
        EventKind::HashVerified => hash_verified_fields(&args, ledger, &mut fields)?,
        EventKind::Derived | EventKind::Received => {
            if let Some(path) = &args.file {
                fields.evidence = Some(hash_path(path)?);
            }
        }
        _ if args.file.is_some() => {
            anyhow::bail!("--file is only used by hash-verified, derived and received, not {kind}")
        }
        _ => {}
    }
    let mut draft = EventDraft::new(kind, args.claimed_time.clone().unwrap_or_else(now_rfc3339))
        .item(args.item.clone())
        .fields(fields);
    draft.case = case;
    let appended = session.append(draft.clone())?;
    let failed = draft.fields.result == Some(CheckResult::Fail);
    if args.json {
        output::print_json(&serde_json::json!({
            "seq": appended.seq,
            "kind": kind,
            "item": args.item,
            "result": draft.fields.result,
            "expected": draft.fields.expected,
            "found": draft.fields.found,
        }))?;
    } else {
        let mut text = output::line(&format!(
            "recorded {kind} for {} at seq {}",
            args.item, appended.seq
        ));
        if kind == EventKind::HashVerified {
            text.push_str(&render_check(&draft.fields));
        }
        output::print(&text)?;
    }
    if failed {
        output::eprint(&output::line(&format!(
            "custody: {} failed its {kind} check (recorded at seq {})",
            args.item, appended.seq
        )));
        return Ok(Outcome::Failed);
    }
    Ok(Outcome::Ok)
}

fn parse_kind(text: &str) -> anyhow::Result<EventKind> {
    let kind = EventKind::from_name(text).with_context(|| {
        format!("unknown event kind {text:?}; see `custody event --help` for the kinds")
    })?;
    let instead = match kind {
        EventKind::LedgerInitialised => "custody init",
        EventKind::ActorEnrolled => "custody actor enroll",
        EventKind::KeyRotated => "custody actor rotate",
        EventKind::KeyRevoked => "custody actor revoke",
        EventKind::CaseOpened => "custody case open",
        EventKind::Acquired => "custody acquire",
        _ => return Ok(kind),
    };
    anyhow::bail!("{kind} events are recorded with `{instead}`, not `custody event`")
}

/// The case an existing item belongs to (`None` if the item is unknown: the ledger will say).
fn item_case(ledger: &Ledger, item: &str) -> anyhow::Result<Option<String>> {
    let history = ledger
        .item_history(item)
        .with_context(|| format!("cannot read the history of item {item}"))?;
    Ok(history.into_iter().find_map(|e| e.signed.event.case))
}

/// An actor's name becomes their key; anything else stays free text.
fn party(ledger: &Ledger, text: Option<&str>) -> anyhow::Result<Option<String>> {
    let Some(text) = text else { return Ok(None) };
    Ok(Some(
        resolve_actor(ledger, text)?.unwrap_or_else(|| text.to_owned()),
    ))
}

/// The acquired digests of an item, from the event that created it.
fn acquired_digests(ledger: &Ledger, item: &str) -> anyhow::Result<Option<Digests>> {
    let history = ledger
        .item_history(item)
        .with_context(|| format!("cannot read the history of item {item}"))?;
    Ok(history.into_iter().find_map(|e| {
        let event = e.signed.event;
        let creates = event.kind.creates_items() && event.items.iter().any(|i| i == item);
        creates
            .then(|| event.fields.evidence.map(|ev| ev.digests()))
            .flatten()
    }))
}

fn hash_verified_fields(
    args: &EventArgs,
    ledger: &Ledger,
    fields: &mut EventFields,
) -> anyhow::Result<()> {
    if fields.expected.is_none() {
        fields.expected = acquired_digests(ledger, &args.item)?;
    }
    if let Some(path) = &args.file {
        if fields.found.is_some() {
            anyhow::bail!("give either --file (to re-hash) or --found, not both");
        }
        fields.found = Some(hash_path(path)?.digests());
    }
    if fields.result.is_none() {
        let (Some(expected), Some(found)) = (fields.expected, fields.found) else {
            anyhow::bail!(
                "hash-verified needs the digests found: --file PATH to re-hash the evidence, or --found (with --expected if the item has no acquired digests)"
            );
        };
        fields.result = Some(if expected == found {
            CheckResult::Pass
        } else {
            CheckResult::Fail
        });
    }
    Ok(())
}

fn hash_path(path: &std::path::Path) -> anyhow::Result<custody_store::Evidence> {
    let plan =
        Acquisition::plan(path).with_context(|| format!("cannot hash {}", path.display()))?;
    let bar = output::byte_progress(plan.total_size(), &path.display().to_string());
    let evidence = plan
        .hash(&mut |n| bar.set_position(n))
        .with_context(|| format!("cannot hash {}", path.display()));
    bar.finish_and_clear();
    evidence
}

fn render_check(fields: &EventFields) -> String {
    let line = |label: &str, d: &Option<Digests>| match d {
        Some(d) => format!(
            "  {label:<8} {} bytes  sha256 {}  blake3 {}\n",
            d.size,
            d.sha256_hex(),
            d.blake3_hex()
        ),
        None => format!("  {label:<8} -\n"),
    };
    let result = match fields.result {
        Some(CheckResult::Pass) => "pass",
        Some(CheckResult::Fail) => "FAIL",
        None => "-",
    };
    format!(
        "{}{}  result   {result}\n",
        line("expected", &fields.expected),
        line("found", &fields.found)
    )
}

/// Digests as `SIZE:SHA256:BLAKE3` or a JSON object with `size`, `sha256`, `blake3`.
fn parse_digests(option: &str, text: &str) -> anyhow::Result<Digests> {
    let text = text.trim();
    if text.starts_with('{') {
        return serde_json::from_str(text).with_context(|| {
            format!("{option}: not a digest object {{\"size\":N,\"sha256\":HEX,\"blake3\":HEX}}")
        });
    }
    let bad = || format!("{option} {text:?}: expected SIZE:SHA256:BLAKE3 (64 hex digits each)");
    let mut parts = text.split(':');
    let (Some(size), Some(sha256), Some(blake3), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        anyhow::bail!(bad());
    };
    Ok(Digests {
        size: size.parse().with_context(bad)?,
        sha256: hex::decode_array(sha256).with_context(bad)?,
        blake3: hex::decode_array(blake3).with_context(bad)?,
    })
}

fn parse_sha256_hex(text: &str) -> anyhow::Result<String> {
    let bytes: [u8; 32] = hex::decode_array(text).with_context(|| {
        format!("--package-digest {text:?}: expected a SHA-256 as 64 hex digits")
    })?;
    Ok(hex::encode(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_parse_in_both_forms() {
        let sha = "ab".repeat(32);
        let b3 = "CD".repeat(32);
        let colon = parse_digests("--found", &format!("12:{sha}:{b3}")).unwrap();
        assert_eq!(colon.size, 12);
        assert_eq!(colon.sha256, [0xab; 32]);
        assert_eq!(colon.blake3, [0xcd; 32]);
        let json = format!(
            r#"{{"size":12,"sha256":"{sha}","blake3":"{}"}}"#,
            b3.to_lowercase()
        );
        assert_eq!(parse_digests("--found", &json).unwrap(), colon);
    }

    #[test]
    fn fail_malformed_digests_name_the_option() {
        let err = parse_digests("--expected", "12:abc").unwrap_err();
        assert!(format!("{err:#}").contains("--expected"), "{err:#}");
        let sha = "ab".repeat(32);
        assert!(parse_digests("--found", &format!("x:{sha}:{sha}")).is_err());
    }

    #[test]
    fn fail_kinds_with_their_own_command_point_to_it() {
        let err = parse_kind("acquired").unwrap_err().to_string();
        assert!(err.contains("custody acquire"), "{err}");
        assert!(parse_kind("checked_out").is_err());
        assert_eq!(parse_kind("checked-out").unwrap(), EventKind::CheckedOut);
    }
}
