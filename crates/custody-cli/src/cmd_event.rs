//! `custody event ITEM KIND`: record a custody event about an item.

use std::path::{Path, PathBuf};

use anyhow::Context;
use custody_core::hash::Digests;
use custody_core::hex;
use custody_store::acquisition::Acquisition;
use custody_store::handover;
use custody_store::signer::signer_state_path;
use custody_store::{
    CheckResult, Device, EventDraft, EventFields, EventKind, Ledger, Shipment, SignedEvent,
};

use crate::ledger_opts::{
    load_key, log_key_path, now_rfc3339, resolve_actor, LedgerArg, Session, SignerArgs,
};
use crate::{output, Outcome};

/// Arguments of `custody event`.
#[derive(clap::Args)]
#[command(subcommand_negates_reqs = true)]
pub struct EventArgs {
    /// Second step of a hand-over between two workstations.
    #[command(subcommand)]
    action: Option<HandOverStep>,
    #[command(flatten)]
    ledger: LedgerArg,
    /// The signer's private key (PKCS#8 PEM); for a hand-over, the releasing actor's.
    #[arg(long, env = "CUSTODY_KEY", required = true)]
    key: Option<PathBuf>,
    /// The ledger's log key [default: <log key directory>/<origin>.key]
    #[arg(long, env = "CUSTODY_LOG_KEY")]
    log_key: Option<PathBuf>,
    /// The item (for `derived` and `received`: the new item).
    #[arg(required = true)]
    item: Option<String>,
    /// What happened: stored, checked-out, checked-in, examined, derived, hash-verified,
    /// sealed, transferred, received, acknowledged, returned, destroyed, note,
    /// preservation-requested, preservation-extended, production-order, mla-request-sent,
    /// mla-request-received, mla-executed, onward-transfer-authorised (--from the
    /// consenting sender, --to the third authority, --authority the consent's reference),
    /// disclosed (--to the third party).
    #[arg(required = true)]
    kind: Option<String>,
    /// Append through the ledger's server (`custody serve`) instead of a local ledger: the
    /// event is signed here with --key and sent; the server holds the log key and applies
    /// every rule. --from/--to are then recorded as given (an actor's key in hex, or free
    /// text: names are not looked up), the case only when --case names it, and
    /// hash-verified needs --expected. A hand-over is prepared with --to-actor KEY-HEX
    /// --draft FILE, cosigned with `event cosign`, and sent with `event submit --server`.
    #[arg(long, value_name = "URL", conflicts_with_all = ["cosigner_key", "log_key"])]
    server: Option<String>,
    /// Two-signature hand-over (checked-out, checked-in, transferred): the receiving actor,
    /// by name or key, who cosigns the event; the signer (--key) is the releasing actor.
    #[arg(long)]
    to_actor: Option<String>,
    /// The receiving actor's private key, when both actors are at this workstation.
    #[arg(long, requires = "to_actor")]
    cosigner_key: Option<PathBuf>,
    /// Write the hand-over, signed by the releasing actor, to this new file instead of
    /// appending it; the receiving actor cosigns it with `custody event cosign FILE`, then
    /// `custody event submit FILE` appends it.
    #[arg(long, requires = "to_actor", conflicts_with = "cosigner_key")]
    draft: Option<PathBuf>,
    #[command(flatten)]
    form: FormArgs,
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

/// The custody-form fields of an event (RFC 3227 §4.1, ISO/IEC 27037 practice).
#[derive(clap::Args, Debug, Default)]
pub struct FormArgs {
    /// What the item is, in words.
    #[arg(long)]
    description: Option<String>,
    /// The item's type (laptop, mobile phone, disk image, …).
    #[arg(long)]
    item_type: Option<String>,
    /// The device's make.
    #[arg(long)]
    make: Option<String>,
    /// The device's model.
    #[arg(long)]
    model: Option<String>,
    /// The device's serial number.
    #[arg(long)]
    serial_number: Option<String>,
    /// The item's condition on receipt.
    #[arg(long)]
    condition_on_receipt: Option<String>,
    /// A seal or tamper-evident bag number (repeat for several).
    #[arg(long = "seal")]
    seals: Vec<String>,
    /// Storage conditions.
    #[arg(long)]
    storage_conditions: Option<String>,
    /// The carrier of a physical shipment.
    #[arg(long)]
    carrier: Option<String>,
    /// The shipment's tracking number.
    #[arg(long)]
    tracking_number: Option<String>,
}

impl FormArgs {
    /// Sets the fields given on the command line; the ledger checks their limits.
    pub fn fill(&self, fields: &mut EventFields) {
        fields.description.clone_from(&self.description);
        fields.item_type.clone_from(&self.item_type);
        fields
            .condition_on_receipt
            .clone_from(&self.condition_on_receipt);
        fields
            .storage_conditions
            .clone_from(&self.storage_conditions);
        if !self.seals.is_empty() {
            fields.seals = Some(self.seals.clone());
        }
        if self.make.is_some() || self.model.is_some() || self.serial_number.is_some() {
            fields.device = Some(Device {
                make: self.make.clone(),
                model: self.model.clone(),
                serial_number: self.serial_number.clone(),
            });
        }
        if self.carrier.is_some() || self.tracking_number.is_some() {
            fields.shipment = Some(Shipment {
                carrier: self.carrier.clone(),
                tracking_number: self.tracking_number.clone(),
            });
        }
    }
}

/// The second step of a two-signature hand-over prepared with `--draft`.
#[derive(clap::Subcommand)]
enum HandOverStep {
    /// Cosign a hand-over draft as its receiving actor (checks the releaser's signature and
    /// that the key is the one the draft names; needs no ledger).
    Cosign(CosignArgs),
    /// Append a cosigned hand-over draft to the ledger (needs the log key).
    Submit(SubmitArgs),
}

#[derive(clap::Args)]
struct CosignArgs {
    /// The draft file; it is replaced by the cosigned draft.
    file: PathBuf,
    /// The receiving actor's private key.
    #[arg(long, env = "CUSTODY_KEY")]
    key: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct SubmitArgs {
    #[command(flatten)]
    ledger: LedgerArg,
    /// The cosigned draft file.
    file: PathBuf,
    /// The ledger's log key [default: <log key directory>/<origin>.key]
    #[arg(long, env = "CUSTODY_LOG_KEY")]
    log_key: Option<PathBuf>,
    /// Send the cosigned draft to the ledger's server (`custody serve`) instead of
    /// appending it to a local ledger with the log key.
    #[arg(long, value_name = "URL", conflicts_with = "log_key")]
    server: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `custody event`.
pub fn run(args: EventArgs) -> anyhow::Result<Outcome> {
    match &args.action {
        Some(HandOverStep::Cosign(step)) => return cosign(step),
        Some(HandOverStep::Submit(step)) => return submit(step),
        None => {}
    }
    let (Some(item), Some(kind_name), Some(key)) = (&args.item, &args.kind, &args.key) else {
        anyhow::bail!("custody event needs ITEM, KIND and --key (see `custody event --help`)");
    };
    let kind = parse_kind(kind_name)?;
    if let Some(url) = &args.server {
        let server = crate::remote::Server::new(url)?;
        let signer = load_key(key, "signer key (--key)")?;
        let mut draft = event_draft(&args, None, kind, item)?;
        if let Some(to) = &args.to_actor {
            let Some(path) = &args.draft else {
                anyhow::bail!("a hand-over through --server is prepared with --draft FILE, cosigned with `custody event cosign FILE`, then sent with `custody event submit FILE --server URL`");
            };
            draft.fields.from_actor = Some(hex::encode(&signer.public_key().to_bytes()));
            draft.fields.to_actor = Some(to.clone());
            let position = server.next_position()?;
            let prepared = Ledger::sign_at(&position, draft, &signer)?;
            handover::write_draft(path, &prepared, false)?;
            return report_draft(&prepared, path, args.json);
        }
        let answer = server.append(&draft, &signer).map_err(|e| {
            let unconfirmed = e.downcast_ref::<crate::remote::SentUnconfirmed>().is_some();
            let outcome = if unconfirmed {
                "it may or may not have been recorded"
            } else {
                "nothing was recorded"
            };
            e.context(format!(
                "{url}: the {kind} event for {item} was not confirmed; {outcome}"
            ))
        })?;
        return report_recorded(&args, &draft, kind, item, answer.seq);
    }
    let signer = SignerArgs {
        key: key.clone(),
        log_key: args.log_key.clone(),
    };
    let mut session = Session::open(&args.ledger, &signer)?;
    let mut draft = event_draft(&args, Some(&session.ledger), kind, item)?;
    if let Some(to) = &args.to_actor {
        let to_key = resolve_actor(&session.ledger, to)?.with_context(|| {
            format!("--to-actor {to:?} is not an enrolled actor (see `custody actor list`)")
        })?;
        draft.fields.from_actor = Some(hex::encode(&session.actor.public_key().to_bytes()));
        draft.fields.to_actor = Some(to_key);
    }
    let item = item.clone();
    if let Some(path) = &args.draft {
        return write_hand_over(&session, draft, path, args.json);
    }
    let appended = match &args.cosigner_key {
        Some(path) => {
            let cosigner = load_key(path, "receiving actor's key (--cosigner-key)")?;
            session
                .ledger
                .append_cosigned(draft.clone(), &session.actor, &cosigner, &session.log_key)
                .with_context(|| {
                    format!(
                        "ledger {} refused the {kind} hand-over of {item}; nothing was recorded",
                        session.ledger.path().display()
                    )
                })?
        }
        None => session.append(draft.clone())?,
    };
    report_recorded(&args, &draft, kind, &item, appended.seq)
}

/// Prints what was recorded; a failed check is exit 1.
fn report_recorded(
    args: &EventArgs,
    draft: &EventDraft,
    kind: EventKind,
    item: &str,
    seq: u64,
) -> anyhow::Result<Outcome> {
    let failed = draft.fields.result == Some(CheckResult::Fail);
    if args.json {
        output::print_json(&serde_json::json!({
            "seq": seq,
            "kind": kind,
            "item": item,
            "result": draft.fields.result,
            "expected": draft.fields.expected,
            "found": draft.fields.found,
        }))?;
    } else {
        let mut text = output::line(&format!("recorded {kind} for {item} at seq {seq}"));
        if kind == EventKind::HashVerified {
            text.push_str(&render_check(&draft.fields));
        }
        output::print(&text)?;
    }
    if failed {
        output::eprint(&output::line(&format!(
            "custody: {item} failed its {kind} check (recorded at seq {seq})"
        )));
        return Ok(Outcome::Failed);
    }
    Ok(Outcome::Ok)
}

/// The event the command line describes. `ledger` resolves actor names, the item's case and
/// its acquired digests; without one (`--server`) values are taken as given.
fn event_draft(
    args: &EventArgs,
    ledger: Option<&Ledger>,
    kind: EventKind,
    item: &str,
) -> anyhow::Result<EventDraft> {
    let item = item.to_owned();
    let case = match &args.case {
        Some(case) => Some(case.clone()),
        None => {
            let owner = if kind == EventKind::Derived {
                args.parent.as_deref()
            } else {
                Some(item.as_str())
            };
            match owner {
                Some(item) => match ledger {
                    Some(ledger) => item_case(ledger, item)?,
                    None => None,
                },
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
        EventKind::HashVerified => hash_verified_fields(args, &item, ledger, &mut fields)?,
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
    args.form.fill(&mut fields);
    let mut draft = EventDraft::new(kind, args.claimed_time.clone().unwrap_or_else(now_rfc3339))
        .item(item.clone())
        .fields(fields);
    draft.case = case;
    Ok(draft)
}

/// First step on two workstations: the hand-over, signed by the releasing actor, written
/// to a new draft file for the receiving actor to cosign.
fn write_hand_over(
    session: &Session,
    draft: EventDraft,
    path: &Path,
    json: bool,
) -> anyhow::Result<Outcome> {
    let kind = draft.kind;
    let prepared = session
        .ledger
        .prepare(draft, &session.actor)
        .with_context(|| {
            format!(
                "ledger {} refused the {kind} hand-over; no draft was written",
                session.ledger.path().display()
            )
        })?;
    handover::write_draft(path, &prepared, false)?;
    report_draft(&prepared, path, json)
}

/// Says where the hand-over draft was written and what comes next.
fn report_draft(prepared: &SignedEvent, path: &Path, json: bool) -> anyhow::Result<Outcome> {
    let kind = prepared.event.kind;
    if json {
        output::print_json(&serde_json::json!({
            "draft": path.display().to_string(),
            "seq": prepared.event.seq,
            "kind": kind,
            "items": prepared.event.items,
            "to_actor": prepared.event.fields.to_actor,
        }))?;
    } else {
        output::print(&output::line(&format!(
            "wrote {kind} hand-over for seq {} to {}: the receiving actor cosigns it with `custody event cosign {}`, then `custody event submit {}` appends it (if nothing else was appended meanwhile)",
            prepared.event.seq,
            path.display(),
            path.display(),
            path.display()
        )))?;
    }
    Ok(Outcome::Ok)
}

/// Second step: the receiving actor checks and cosigns the draft, in place.
fn cosign(args: &CosignArgs) -> anyhow::Result<Outcome> {
    let mut draft = handover::read_draft(&args.file)?;
    let cosigner = load_key(&args.key, "receiving actor's key (--key)")?;
    draft
        .cosign(&cosigner)
        .with_context(|| format!("refusing to cosign {}", args.file.display()))?;
    handover::write_draft(&args.file, &draft, true)?;
    let event = &draft.event;
    if args.json {
        output::print_json(&serde_json::json!({
            "draft": args.file.display().to_string(),
            "seq": event.seq,
            "kind": event.kind,
            "items": event.items,
            "from_actor": event.fields.from_actor,
            "to_actor": event.fields.to_actor,
            "origin": event.origin,
        }))?;
    } else {
        output::print(&output::line(&format!(
            "cosigned {} of {} for seq {} of ledger {} (from {}, claimed {}); append it with `custody event submit {}`",
            event.kind,
            event.items.join(", "),
            event.seq,
            event.origin,
            event.actor,
            event.claimed_time,
            args.file.display()
        )))?;
    }
    Ok(Outcome::Ok)
}

/// Third step: the cosigned draft is appended, with the log key.
fn submit(args: &SubmitArgs) -> anyhow::Result<Outcome> {
    let draft = handover::read_draft(&args.file)?;
    let kind = draft.event.kind;
    let items = draft.event.items.join(", ");
    if let Some(url) = &args.server {
        let server = crate::remote::Server::new(url)?;
        let seq = match server.send(&draft)? {
            crate::remote::Answer::Appended(answer) => answer.seq,
            crate::remote::Answer::Stale(next) => anyhow::bail!(
                "{url} refused the {kind} hand-over in {}: it was prepared for seq {} and the next is {}; nothing was recorded: prepare it again",
                args.file.display(),
                draft.event.seq,
                next.seq
            ),
            crate::remote::Answer::SlowDown(wait) => anyhow::bail!(
                "{url} asks to wait {} s before the next append; nothing was recorded",
                wait.as_secs()
            ),
            crate::remote::Answer::Refused(refused) => {
                return Err(anyhow::Error::new(refused).context(format!(
                    "{url} refused the {kind} hand-over in {}; nothing was recorded",
                    args.file.display()
                )))
            }
        };
        return report_submitted(kind, &items, seq, args.json);
    }
    let mut ledger = args.ledger.open()?;
    let log_path = log_key_path(ledger.origin(), args.log_key.as_deref())?;
    let log_key = load_key(&log_path, "log key (--log-key)")?;
    ledger.set_signer_state(&signer_state_path(&log_path));
    let appended = ledger.append_signed(draft, &log_key).with_context(|| {
        format!(
            "ledger {} refused the {kind} hand-over in {}; nothing was recorded",
            args.ledger.shown().display(),
            args.file.display()
        )
    })?;
    report_submitted(kind, &items, appended.seq, args.json)
}

/// Says which hand-over was recorded at which seq.
fn report_submitted(kind: EventKind, items: &str, seq: u64, json: bool) -> anyhow::Result<Outcome> {
    if json {
        output::print_json(&serde_json::json!({
            "seq": seq,
            "kind": kind,
            "items": items,
        }))?;
    } else {
        output::print(&output::line(&format!(
            "recorded {kind} hand-over of {items} at seq {}, signed by both actors",
            seq
        )))?;
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
fn party(ledger: Option<&Ledger>, text: Option<&str>) -> anyhow::Result<Option<String>> {
    let Some(text) = text else { return Ok(None) };
    let Some(ledger) = ledger else {
        return Ok(Some(text.to_owned()));
    };
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
    item: &str,
    ledger: Option<&Ledger>,
    fields: &mut EventFields,
) -> anyhow::Result<()> {
    if fields.expected.is_none() {
        let Some(ledger) = ledger else {
            anyhow::bail!("hash-verified through --server needs --expected (the item's acquired digests are not looked up)");
        };
        fields.expected = acquired_digests(ledger, item)?;
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
