//! The report as one self-contained HTML file: no script, no network, no external asset
//! (a `Content-Security-Policy` forbids them, so a hostile string that escaped would still
//! load nothing), printable on A4.
//!
//! Order: the verdict and the findings first (what a reader must see on the first
//! screen), then per item its identity, a strip of its holders across organisations and
//! countries and its timeline, then an appendix with the raw values and the exact
//! commands to re-verify every claim independently.
//!
//! Every string from the ledger or the package goes through [`escape`], which escapes the
//! five HTML metacharacters and shows control, bidirectional and invisible formatting
//! characters as visible `[U+XXXX]` marks, and is placed in a `<bdi>` element so that
//! right-to-left text cannot reorder what surrounds it.

use std::fmt::Write as _;

use custody_store::custody::CustodyForm;

use super::{AuditItem, AuditReport, AuditScope, Party, SignatureStatus, TimelineEntry, Verdict};

/// Whether `c` is shown as a visible `[U+XXXX]` mark rather than as itself: control
/// characters (except newline and tab), bidirectional controls, and zero-width or other
/// invisible formatting characters (the set the command line escapes for a terminal).
pub fn is_marked(c: char) -> bool {
    c != '\n' && c != '\t' && custody_core::text::needs_escape(c)
}

/// `text` escaped for HTML text and for double- or single-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if is_marked(c) => {
                let _ = write!(out, "[U+{:04X}]", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// A value from the ledger or package, escaped and isolated.
fn v(text: &str) -> String {
    format!("<bdi>{}</bdi>", escape(text))
}

fn opt(text: Option<&String>) -> String {
    text.map_or_else(|| "<span class=\"none\">—</span>".to_owned(), |t| v(t))
}

/// `text` quoted for a POSIX shell (single quotes), then escaped for HTML.
fn shell(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@%+=,".contains(&b));
    if plain {
        escape(text)
    } else {
        escape(&format!("'{}'", text.replace('\'', "'\\''")))
    }
}

const STYLE: &str = r#"
@page { size: A4; margin: 14mm 12mm 16mm 12mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.4 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #111; margin: 0 auto; max-width: 190mm; padding: 8px; }
h1 { font-size: 20pt; margin: 0 0 4px; }
h2 { font-size: 14pt; margin: 18px 0 6px; border-bottom: 1px solid #999; }
h3 { font-size: 11.5pt; margin: 12px 0 4px; }
code, pre, .hash { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 8.5pt; }
.hash { word-break: break-all; }
pre { white-space: pre-wrap; word-break: break-all; background: #f4f4f4; border: 1px solid #ddd; padding: 6px; margin: 4px 0; }
bdi { unicode-bidi: isolate; }
.verdict { border: 3px solid; padding: 10px 14px; margin-bottom: 10px; }
.verdict.verified { border-color: #1b6e20; background: #e8f5e9; }
.verdict.failed { border-color: #b71c1c; background: #ffebee; }
.verdict .word { font-size: 26pt; font-weight: bold; letter-spacing: 1px; }
.verified .word { color: #1b6e20; }
.failed .word { color: #b71c1c; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 6px 0; }
dl.facts dt { font-weight: bold; }
dl.facts dd { margin: 0; }
table { border-collapse: collapse; width: 100%; margin: 4px 0; }
th, td { border: 1px solid #bbb; padding: 3px 5px; text-align: left; vertical-align: top; font-size: 9pt; }
th { background: #eee; }
ol.findings li { margin: 2px 0; }
li.fail { color: #b71c1c; }
li.gap { color: #8a5300; }
.none { color: #888; }
.holders { display: flex; flex-wrap: wrap; gap: 0; margin: 6px 0 8px; border: 1px solid #666; }
.holder { flex: 1 1 0; min-width: 28mm; padding: 4px 6px; border-right: 1px solid #666; font-size: 8.5pt; }
.holder:last-child { border-right: 0; }
.holder .who { font-weight: bold; display: block; }
.holder.unknown { background: repeating-linear-gradient(45deg, #fff, #fff 4px, #ddd 4px, #ddd 8px); }
ol.timeline { list-style: none; padding: 0; margin: 0; }
ol.timeline > li { border-left: 6px solid #999; padding: 3px 8px; margin: 0 0 3px; break-inside: avoid; page-break-inside: avoid; background: #fafafa; }
ol.timeline .when { font-weight: bold; }
ol.timeline .kind { text-transform: uppercase; font-weight: bold; font-size: 9pt; }
.sig-failed { color: #b71c1c; font-weight: bold; }
.c0 { border-color: #1565c0 !important; background-color: #e3f2fd; }
.c1 { border-color: #2e7d32 !important; background-color: #e8f5e9; }
.c2 { border-color: #6a1b9a !important; background-color: #f3e5f5; }
.c3 { border-color: #ef6c00 !important; background-color: #fff3e0; }
.c4 { border-color: #00838f !important; background-color: #e0f7fa; }
.c5 { border-color: #ad1457 !important; background-color: #fce4ec; }
.c6 { border-color: #4e342e !important; background-color: #efebe9; }
.c7 { border-color: #558b2f !important; background-color: #f1f8e9; }
section.item { break-before: page; page-break-before: always; }
section.item:first-of-type { break-before: auto; page-break-before: auto; }
#appendix { break-before: page; page-break-before: always; }
@media print { body { max-width: none; padding: 0; } a { color: inherit; text-decoration: none; } }
"#;

/// The colour class of an affiliation: the same organisation and country always get the
/// same colour within and across reports (FNV-1a of the text).
fn colour(affiliation: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for b in affiliation.bytes() {
        hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("c{}", hash % 8)
}

/// Renders the report.
pub fn render(report: &AuditReport) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let verdict = report.verdict;
    let case_only = matches!(
        report.scope,
        AuditScope::Ledger {
            coverage: super::Coverage::Case { .. },
            ..
        }
    );
    let word = match verdict {
        Verdict::Verified if case_only => "VERIFIED FOR THIS CASE",
        Verdict::Verified => "VERIFIED",
        Verdict::Failed => "FAILED",
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Custody audit: {word}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
    );
    verdict_section(&mut out, report, word);
    findings_section(&mut out, report);
    package_section(&mut out, report);
    items_summary(&mut out, report);
    for (index, item) in report.items.iter().enumerate() {
        item_section(&mut out, report, index, item);
    }
    appendix(&mut out, report);
    out.push_str("</body>\n</html>\n");
    out
}

fn scope_text(scope: &AuditScope) -> String {
    match scope {
        AuditScope::Ledger {
            path,
            origin,
            case,
            size,
            ..
        } => format!(
            "ledger {} (origin {}, {size} entries){}",
            v(&path.display().to_string()),
            v(origin),
            case.as_ref()
                .map(|c| format!(", case {}", v(c)))
                .unwrap_or_default()
        ),
        AuditScope::Package { path, id, case } => format!(
            "package {}{}{}",
            v(&path.display().to_string()),
            id.as_ref()
                .map(|i| format!(", id {}", v(i)))
                .unwrap_or_default(),
            case.as_ref()
                .map(|c| format!(", case {}", v(c)))
                .unwrap_or_default()
        ),
    }
}

fn verdict_section(out: &mut String, report: &AuditReport, word: &str) {
    let failing = report.findings.iter().filter(|f| f.fails_verdict).count();
    let gaps = report.gaps().count();
    let case_check = match &report.scope {
        AuditScope::Ledger {
            coverage: coverage @ super::Coverage::Case { .. },
            case,
            ..
        } => Some(coverage.describe(case.as_deref())),
        _ => None,
    };
    let lead = match report.verdict {
        Verdict::Verified if case_check.is_some() => format!(
            "Verified: {}. {gaps} custody gap(s) are listed below for review.",
            v(case_check.as_deref().unwrap_or_default())
        ),
        Verdict::Verified if gaps == 0 => {
            "Every entry, signature and checkpoint verified, and the custody of every item is unbroken.".to_owned()
        }
        Verdict::Verified => format!(
            "Every entry, signature and checkpoint verified. {gaps} custody gap(s) are listed below for review."
        ),
        Verdict::Failed => format!(
            "Verification failed: {failing} finding(s) below. Do not rely on this custody record as it stands."
        ),
    };
    let _ = write!(
        out,
        "<header class=\"verdict {}\" id=\"verdict\" data-verdict=\"{}\">\n\
         <h1>Custody audit: <span class=\"word\">{word}</span></h1>\n<p class=\"lead\">{lead}</p>\n\
         <dl class=\"facts\"><dt>Audited</dt><dd>{}</dd><dt>Audit time (UTC)</dt><dd>{}</dd>\
         <dt>Items</dt><dd>{}</dd><dt>Findings</dt><dd>{} failing the verdict, {} custody gap(s)</dd></dl>\n</header>\n",
        report.verdict.as_str(),
        report.verdict.as_str(),
        scope_text(&report.scope),
        v(&report.audit_time),
        report.items.len(),
        failing,
        gaps,
    );
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn findings_section(out: &mut String, report: &AuditReport) {
    out.push_str("<section id=\"findings\">\n<h2>Findings</h2>\n");
    if report.findings.is_empty() {
        out.push_str("<p>None.</p>\n</section>\n");
        return;
    }
    out.push_str("<ol class=\"findings\">\n");
    for f in &report.findings {
        let class = if f.fails_verdict { "fail" } else { "gap" };
        let _ = writeln!(
            out,
            "<li class=\"{class}\"><code>{}</code> {}</li>",
            escape(&f.code),
            v(&f.message)
        );
    }
    out.push_str("</ol>\n</section>\n");
}

fn package_section(out: &mut String, report: &AuditReport) {
    let Some(p) = &report.package else {
        return;
    };
    let _ = write!(
        out,
        "<section id=\"package\">\n<h2>Package terms</h2>\n<dl class=\"facts\">\
         <dt>Package</dt><dd>{}</dd><dt>Sealed</dt><dd>{}</dd><dt>From</dt><dd>{}</dd><dt>To</dt><dd>{}</dd>\
         <dt>Request</dt><dd>{}</dd><dt>Legal basis</dt><dd>{}</dd><dt>Use limitations</dt><dd>{}</dd>\
         <dt>Confidential</dt><dd>{}</dd><dt>Personal data</dt><dd>{}</dd><dt>Keep until</dt><dd>{}</dd></dl>\n</section>\n",
        v(&p.id),
        v(&p.sealed_time),
        party_text(&p.sender),
        party_text(&p.recipient),
        opt(p.request_reference.as_ref()),
        opt(p.legal_basis.as_ref()),
        list(&p.use_limitations),
        if p.confidential { "yes" } else { "no" },
        list(&p.personal_data),
        opt(p.retention_until.as_ref()),
    );
}

fn list(values: &[String]) -> String {
    if values.is_empty() {
        return "<span class=\"none\">none</span>".to_owned();
    }
    values.iter().map(|x| v(x)).collect::<Vec<_>>().join("; ")
}

fn party_text(p: &Party) -> String {
    let mut text = match &p.full_name {
        Some(full) => format!("{} [{}]", v(full), v(&p.name)),
        None => v(&p.name),
    };
    let extra: Vec<String> = [&p.role, &p.organisation, &p.jurisdiction]
        .into_iter()
        .flatten()
        .map(|x| v(x))
        .collect();
    if !extra.is_empty() {
        let _ = write!(text, " ({})", extra.join(", "));
    }
    text
}

fn items_summary(out: &mut String, report: &AuditReport) {
    out.push_str("<section id=\"items\">\n<h2>Items</h2>\n");
    if report.items.is_empty() {
        out.push_str("<p class=\"none\">No item history is shown.</p>\n</section>\n");
        return;
    }
    out.push_str("<table><tr><th>Item</th><th>Held now by</th><th>Events</th><th>Gaps</th></tr>\n");
    for (index, item) in report.items.iter().enumerate() {
        let gaps = report
            .item_findings(&item.id)
            .filter(|f| f.code.starts_with("gap_"))
            .count();
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#item-{index}\">{}</a></td><td>{}</td><td>{}</td><td>{gaps}</td></tr>",
            v(&item.id),
            item.holder.as_ref().map_or_else(|| "<span class=\"none\">nobody known</span>".to_owned(), party_text),
            item.timeline.len(),
        );
    }
    out.push_str("</table>\n</section>\n");
}

/// Consecutive timeline entries with the same holder, as (holder, first, last).
fn holder_periods(item: &AuditItem) -> Vec<(Option<&Party>, &TimelineEntry, &TimelineEntry)> {
    let mut periods: Vec<(Option<&Party>, &TimelineEntry, &TimelineEntry)> = Vec::new();
    for entry in &item.timeline {
        let holder = entry.holder.as_ref();
        match periods.last_mut() {
            Some((h, _, last)) if *h == holder => *last = entry,
            _ => periods.push((holder, entry, entry)),
        }
    }
    periods
}

fn item_section(out: &mut String, report: &AuditReport, index: usize, item: &AuditItem) {
    let _ = write!(
        out,
        "<section class=\"item\" id=\"item-{index}\" data-item=\"{}\">\n<h2>Item {}</h2>\n<dl class=\"facts\">\
         <dt>Exhibit</dt><dd>{}</dd><dt>Case</dt><dd>{}</dd><dt>Path</dt><dd>{}</dd><dt>Size</dt><dd>{}</dd>\
         <dt>SHA-256</dt><dd class=\"hash\">{}</dd><dt>BLAKE3</dt><dd class=\"hash\">{}</dd><dt>Keep until</dt><dd>{}</dd></dl>\n",
        escape(&item.id),
        v(&item.id),
        v(&item.id),
        opt(item.case.as_ref()),
        opt(item.path.as_ref()),
        item.size
            .map_or_else(|| "<span class=\"none\">unknown</span>".to_owned(), |s| format!("{s} bytes")),
        opt(item.sha256.as_ref()),
        opt(item.blake3.as_ref()),
        opt(item.retention_until.as_ref()),
    );
    let form = form_facts(&item.form);
    if !form.is_empty() {
        out.push_str("<h3>Custody form</h3>\n<dl class=\"facts\">");
        for (label, value) in form {
            let _ = write!(out, "<dt>{label}</dt><dd>{value}</dd>");
        }
        out.push_str("</dl>\n");
    }
    let findings: Vec<_> = report.item_findings(&item.id).collect();
    if !findings.is_empty() {
        out.push_str("<h3>Gaps and findings for this item</h3>\n<ol class=\"findings\">\n");
        for f in findings {
            let class = if f.fails_verdict { "fail" } else { "gap" };
            let _ = writeln!(
                out,
                "<li class=\"{class}\"><code>{}</code> {}</li>",
                escape(&f.code),
                v(&f.message)
            );
        }
        out.push_str("</ol>\n");
    }
    out.push_str("<h3>Holders</h3>\n<div class=\"holders\">\n");
    for (holder, first, last) in holder_periods(item) {
        let (class, who) = match holder {
            Some(p) => (colour(&p.affiliation()), party_text(p)),
            None => (
                "unknown".to_owned(),
                "<span class=\"none\">no known holder</span>".to_owned(),
            ),
        };
        let _ = writeln!(
            out,
            "<div class=\"holder {class}\"><span class=\"who\">{who}</span>{} → {}<br>entries {}–{}</div>",
            v(&first.time),
            v(&last.time),
            first.seq,
            last.seq
        );
    }
    out.push_str("</div>\n<h3>Timeline</h3>\n<ol class=\"timeline\">\n");
    for entry in &item.timeline {
        timeline_entry(out, entry);
    }
    out.push_str("</ol>\n<h3>Access, use and disclosure</h3>\n");
    if item.access.is_empty() {
        out.push_str("<p class=\"none\">No access, use or disclosure is recorded.</p>\n");
    } else {
        out.push_str("<table><tr><th>Entry</th><th>What</th><th>When (UTC)</th><th>Who</th><th>To whom</th><th>Why</th><th>Authority</th></tr>\n");
        for a in &item.access {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                a.seq,
                v(&a.kind),
                v(&a.time),
                party_text(&a.actor),
                opt(a.to.as_ref()),
                opt(a.purpose.as_ref()),
                opt(a.legal_authority.as_ref())
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</section>\n");
}

/// The custody-form fields present, labelled, each value escaped.
fn form_facts(form: &CustodyForm) -> Vec<(&'static str, String)> {
    let text = |t: &Option<String>| t.as_deref().map(v);
    let joined = |parts: &[(&str, &Option<String>)]| {
        let parts: Vec<String> = parts
            .iter()
            .filter_map(|(label, value)| Some(format!("{label} {}", v(value.as_deref()?))))
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    };
    let device = form.device.as_ref().and_then(|d| {
        joined(&[
            ("make", &d.make),
            ("model", &d.model),
            ("serial number", &d.serial_number),
        ])
    });
    let shipment = form.shipment.as_ref().and_then(|s| {
        joined(&[
            ("carrier", &s.carrier),
            ("tracking number", &s.tracking_number),
        ])
    });
    let seals = form.seals.as_ref().map(|s| list(s));
    [
        ("Description", text(&form.description)),
        ("Type", text(&form.item_type)),
        ("Device", device),
        ("Condition on receipt", text(&form.condition_on_receipt)),
        ("Seals", seals),
        ("Storage conditions", text(&form.storage_conditions)),
        ("Shipment", shipment),
    ]
    .into_iter()
    .filter_map(|(label, value)| Some((label, value?)))
    .collect()
}

fn timeline_entry(out: &mut String, e: &TimelineEntry) {
    let colour = colour(&e.actor.affiliation());
    let text = |t: &Option<String>| t.as_deref().map(v);
    let party = |p: &Option<Party>| p.as_ref().map(party_text);
    let hash = |t: Option<&str>| t.map(|t| format!("<span class=\"hash\">{}</span>", v(t)));
    let found = e
        .found
        .as_ref()
        .map(|d| format!("{} bytes, SHA-256 {}", d.size, d.sha256));
    let optional = [
        ("Where", text(&e.place)),
        ("Why", text(&e.purpose)),
        ("Legal authority", text(&e.legal_authority)),
        ("From", party(&e.from)),
        ("To", party(&e.to)),
        ("Tool", text(&e.tool)),
        ("Result", text(&e.result)),
        ("Found", hash(found.as_deref())),
        ("Package SHA-256", hash(e.package_digest.as_deref())),
        ("Notes", text(&e.notes)),
    ];
    let mut facts: Vec<(&str, String)> = match &e.to_actor {
        Some(to) => vec![
            ("Released by", party_text(&e.actor)),
            ("Received by", party_text(to)),
            (
                "Hand-over",
                "signed by both: the releasing actor's signature and the receiving actor's cosignature".to_owned(),
            ),
        ],
        None => vec![("By", party_text(&e.actor))],
    };
    if let Some(form) = &e.form {
        facts.extend(form_facts(form));
    }
    facts.extend(
        optional
            .into_iter()
            .filter_map(|(label, value)| Some((label, value?))),
    );
    facts.push((
        "Held afterwards by",
        e.holder.as_ref().map_or_else(
            || "<span class=\"none\">nobody known</span>".to_owned(),
            party_text,
        ),
    ));
    let signature = match e.signature {
        SignatureStatus::Verified => "<span>signature verified</span>".to_owned(),
        SignatureStatus::Failed => {
            "<span class=\"sig-failed\">SIGNATURE OR ENTRY FAILED VERIFICATION</span>".to_owned()
        }
    };
    let _ = write!(
        out,
        "<li class=\"{colour}\" data-seq=\"{}\"><span class=\"when\">{}</span> (given as offset {}) · <span class=\"kind\">{}</span> · entry {} · {signature}\n<dl class=\"facts\">",
        e.seq,
        v(&e.time),
        v(&e.offset),
        v(&e.kind),
        e.seq
    );
    for (label, value) in facts {
        let _ = write!(out, "<dt>{label}</dt><dd>{value}</dd>");
    }
    out.push_str("</dl></li>\n");
}

fn appendix(out: &mut String, report: &AuditReport) {
    out.push_str(
        "<section id=\"appendix\">\n<h2>Appendix: values to re-verify independently</h2>\n",
    );
    out.push_str("<h3>Actors</h3>\n<table><tr><th>Name</th><th>Role</th><th>Organisation</th><th>Jurisdiction</th><th>Ed25519 public key (hex)</th></tr>\n");
    for a in &report.actors {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"hash\">{}</td></tr>",
            v(&a.name),
            opt(a.role.as_ref()),
            opt(a.organisation.as_ref()),
            opt(a.jurisdiction.as_ref()),
            opt(a.key.as_ref())
        );
    }
    out.push_str("</table>\n");
    if !report.signers.is_empty() {
        out.push_str("<h3>Package signatures</h3>\n<table><tr><th>Signer</th><th>Verifier key</th><th>Trusted</th><th>Valid</th><th>Revoked</th><th>Counts</th></tr>\n");
        for s in &report.signers {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"hash\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                v(&s.name),
                v(&s.key),
                s.trusted,
                s.valid,
                s.revoked,
                s.counts
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("<h3>Checkpoints checked against</h3>\n");
    if report.checkpoints.is_empty() {
        out.push_str("<p class=\"none\">None could be read.</p>\n");
    }
    for c in &report.checkpoints {
        let _ = writeln!(
            out,
            "<p>{} ({}): size {}, root <span class=\"hash\">{}</span>, {}</p>\n<pre>{}</pre>",
            v(&c.source),
            if c.outside {
                "held outside the ledger"
            } else {
                "held by the ledger or package"
            },
            c.size.map_or_else(|| "?".to_owned(), |s| s.to_string()),
            opt(c.root.as_ref()),
            if c.verified {
                "verified"
            } else {
                "<span class=\"sig-failed\">FAILED</span>"
            },
            escape(&c.note)
        );
    }
    out.push_str("<h3>Entries</h3>\n<table><tr><th>Entry</th><th>Kind</th><th>Recorded (UTC)</th><th>Signer key</th><th>Status</th></tr>\n");
    let mut seen = std::collections::BTreeMap::new();
    for e in report.items.iter().flat_map(|i| &i.timeline) {
        seen.entry(e.seq).or_insert(e);
    }
    for e in seen.values() {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"hash\">{}</td><td>{}</td></tr>",
            e.seq,
            v(&e.kind),
            v(&e.recorded_time),
            opt(e.actor.key.as_ref()),
            match e.signature {
                SignatureStatus::Verified => "verified",
                SignatureStatus::Failed => "<span class=\"sig-failed\">FAILED</span>",
            }
        );
    }
    out.push_str("</table>\n<h3>How to re-verify</h3>\n<pre>");
    out.push_str(&commands(report, seen.keys().copied()));
    out.push_str("</pre>\n</section>\n");
}

/// The exact commands that re-check the report's claims (HTML-escaped, shell-quoted).
fn commands(report: &AuditReport, seqs: impl Iterator<Item = u64>) -> String {
    let mut text = String::new();
    match &report.scope {
        AuditScope::Ledger {
            path,
            log_key,
            case,
            ..
        } => {
            let ledger = shell(&path.display().to_string());
            let _ = writeln!(text, "# every entry, signature, rule, tree node and checkpoint, against outside checkpoints");
            let _ = writeln!(text, "custody ledger verify --ledger {ledger}");
            if let Some(case) = case {
                let _ = writeln!(text, "custody log --ledger {ledger} --case {}", shell(case));
            }
            let _ = writeln!(
                text,
                "# one entry, offline: its bytes, an inclusion proof, the signed checkpoint"
            );
            let _ = writeln!(
                text,
                "custody checkpoint --ledger {ledger} > checkpoint.txt"
            );
            for seq in seqs {
                let _ = writeln!(
                    text,
                    "custody ledger export-entry --ledger {ledger} {seq} > entry-{seq}.json\n\
                     custody prove inclusion --ledger {ledger} {seq} --json > proof-{seq}.json\n\
                     custody verify-proof proof-{seq}.json --checkpoint checkpoint.txt --log-key {} --entry entry-{seq}.json",
                    shell(log_key)
                );
            }
        }
        AuditScope::Package { path, id, .. } => {
            let package = shell(&path.display().to_string());
            let _ = writeln!(text, "# the whole package: ZIP, BagIt, signatures, statement, entries, proofs, checkpoint");
            let _ = writeln!(
                text,
                "custody verify {package} --trust SENDER-PUBLIC-KEY.pem"
            );
            if let Some(id) = id {
                let _ = writeln!(
                    text,
                    "# with stock tools: extract, validate the bag, check a signature"
                );
                let _ = writeln!(
                    text,
                    "unzip -q {package} -d extracted && bagit.py --validate extracted/{}",
                    shell(id)
                );
                let _ = writeln!(
                    text,
                    "openssl pkeyutl -verify -pubin -inkey SENDER-PUBLIC-KEY.pem -rawin -in extracted/{}/tagmanifest-sha256.txt -sigfile extracted/{}/custody/signatures/SIGNER.sig",
                    shell(id),
                    shell(id)
                );
            }
        }
    }
    let _ = writeln!(
        text,
        "# each evidence file: compare with the SHA-256 and BLAKE3 above"
    );
    for item in &report.items {
        if let Some(path) = &item.path {
            let _ = writeln!(text, "sha256sum {p}; b3sum {p}", p = shell(path));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_marks_controls() {
        assert_eq!(
            escape("<script>alert(\"x\")</script>&'"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
        assert_eq!(
            escape("a\u{202E}b\u{2066}c\u{200B}d"),
            "a[U+202E]b[U+2066]c[U+200B]d"
        );
        assert_eq!(escape("x\u{1b}[31my\u{0}"), "x[U+001B][31my[U+0000]");
        assert_eq!(escape("line\nnext\tcol"), "line\nnext\tcol");
        assert_eq!(escape("München, Ελλάδα"), "München, Ελλάδα");
    }

    #[test]
    fn fail_shell_quoting_cannot_be_broken_out_of() {
        assert_eq!(shell("custody.db"), "custody.db");
        assert_eq!(shell("a b"), "&#39;a b&#39;");
        assert_eq!(
            shell("x'; rm -rf /"),
            "&#39;x&#39;\\&#39;&#39;; rm -rf /&#39;"
        );
        assert_eq!(shell(""), "&#39;&#39;");
    }
}
