//! Auditing a ledger or a package for a court: the full verification, then a report a
//! person can read and an expert can re-check.
//!
//! [`audit_ledger`] runs exactly what `custody ledger verify` runs
//! ([`custody_store::Ledger::verify_with_signer_state`]) and reads each item's custody
//! history from the verified entries only; [`audit_package`] runs exactly what
//! `custody verify` runs ([`crate::verify::verify_package`]). The one narrower check is the
//! audit of one case of a ledger ([`Coverage::Case`], unless [`LedgerAuditOptions::full`]):
//! it verifies every entry of the case but not the rest of a large ledger, and the report
//! says so wherever it states its verdict.
//! The result is an [`AuditReport`]: per item its identity and digests and its custody
//! timeline (who, in which role, organisation and jurisdiction, when in UTC with the
//! original offset, where, why, under which legal authority, from whom to whom, and who
//! held the item afterwards, as the store's custody model
//! [`custody_store::custody::ItemCustody`] says), every signature's status, the checkpoints the history was
//! checked against, an overall [`Verdict`] and every [`AuditFinding`].
//!
//! Custody **gaps** are findings of their own ([`gaps`]): a period with no known holder, a
//! transfer with no matching receipt, an examination not followed by a hash
//! re-verification, a failed hash re-verification, an item past its retention date.
//!
//! The renderers ([`html`], [`case_uco`], and `serde` for JSON) only present the report.
//! `docs/audit.md` says what each check and gap means and how to re-verify the report.

pub mod case_uco;
pub mod gaps;
pub mod html;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use custody_core::checkpoint::Checkpoint;
use custody_core::hex;
use custody_core::keys::VerifierKey;
use custody_store::conditions::{access_record_from_history, ItemConditions};
use custody_store::custody::{CustodyForm, Holder, ItemCustody};
use custody_store::rules::{ActorRecord, State};
use custody_store::{Ledger, LedgerFinding, SignedEvent, StoreError};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use crate::verify::{self, PackageReport, VerifyError, VerifyOptions};

/// The overall outcome: `verified` only when every check passed and no finding fails it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check passed; gaps, if any, are listed but do not fail it.
    Verified,
    /// A check failed: the record cannot be relied on as it stands.
    Failed,
}

impl Verdict {
    /// `verified` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::Failed => "failed",
        }
    }
}

/// What was audited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuditScope {
    /// A ledger file, one case of it or all of it.
    Ledger {
        /// The ledger file.
        path: PathBuf,
        /// The ledger's origin.
        origin: String,
        /// The case audited; `None` for the whole ledger.
        #[serde(skip_serializing_if = "Option::is_none")]
        case: Option<String>,
        /// Entries in the ledger.
        size: u64,
        /// The log's C2SP verifier key.
        log_key: String,
        /// How much of the ledger this audit verified itself.
        coverage: Coverage,
    },
    /// A package file.
    Package {
        /// The package file.
        path: PathBuf,
        /// The package id, when the statement parses.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The case, when the statement parses.
        #[serde(skip_serializing_if = "Option::is_none")]
        case: Option<String>,
    },
}

/// How much of a ledger an audit verified itself. A `verified` verdict means exactly this
/// much.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum Coverage {
    /// The full verification `custody ledger verify` runs: every entry, signature, rule,
    /// tree node, checkpoint, snapshot and index row, against the outside checkpoints.
    Ledger,
    /// One case ([`custody_store::Ledger::verify_case`]): every entry of the case and of its
    /// items' histories one by one (canonical form, signatures, inclusion in the verified
    /// tree), the verified state (from the log key's signed snapshot, when there is one, and
    /// the entries after it, which reproduce the newest checkpoint the log key signed), and
    /// the outside checkpoints by consistency proofs. The other entries are not re-verified.
    Case {
        /// Entries checked one by one.
        entries_checked: u64,
        /// The signed snapshot the verified state started from; `None` when every entry was
        /// replayed against the newest signed checkpoint.
        #[serde(skip_serializing_if = "Option::is_none")]
        snapshot: Option<u64>,
        /// The newest checkpoint signed by the log key that the entries reproduce.
        checkpoint_size: u64,
    },
}

impl Coverage {
    /// What was checked, in one sentence for a person.
    pub fn describe(&self, case: Option<&str>) -> String {
        match self {
            Coverage::Ledger => "every entry, signature, rule, tree node, checkpoint, snapshot and index row of the ledger".to_owned(),
            Coverage::Case {
                entries_checked,
                snapshot,
                checkpoint_size,
            } => format!(
                "case {} only: its {entries_checked} entries one by one (signatures, canonical form, inclusion in the tree the log key signed at size {checkpoint_size}) and the ledger state {}; the other entries were not re-verified (audit with --full, or custody ledger verify, for the whole ledger)",
                case.unwrap_or("-"),
                match snapshot {
                    Some(size) => format!("from the log key's signed snapshot at size {size} and every entry after it"),
                    None => "replayed from every entry".to_owned(),
                }
            ),
        }
    }
}

/// One problem found: a verification finding or a custody gap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditFinding {
    /// Stable machine-readable code (`bad_signature`, `gap_no_known_holder`, ...).
    pub code: String,
    /// What is wrong, for a person.
    pub message: String,
    /// Whether it fails the verdict (every verification finding and a failed hash
    /// re-verification do; the other gaps are shown without failing it).
    pub fails_verdict: bool,
    /// The item concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// The ledger entry concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The file concerned (in a package).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// A person or authority: an enrolled actor, or a free-text authority named by an event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Party {
    /// The actor's key name, or the authority's name as the event gives it.
    pub name: String,
    /// The actor's Ed25519 key (hex), when the party is an enrolled actor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// ISO 3166-1 alpha-2 jurisdiction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    /// The actor's full name as enrolled, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
}

impl Party {
    fn actor(record: &ActorRecord) -> Party {
        Party {
            full_name: record.full_name.clone(),
            name: record.name.clone(),
            key: Some(record.key.clone()),
            role: record.role.clone(),
            organisation: record.organisation.clone(),
            jurisdiction: record.jurisdiction.clone(),
        }
    }

    /// Where the party belongs, for grouping a timeline: organisation and jurisdiction,
    /// or the name for a free-text authority.
    pub fn affiliation(&self) -> String {
        match (&self.organisation, &self.jurisdiction) {
            (Some(o), Some(j)) => format!("{o} ({j})"),
            (Some(o), None) => o.clone(),
            (None, Some(j)) => format!("{} ({j})", self.name),
            (None, None) => self.name.clone(),
        }
    }
}

/// Whether an entry's signature verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureStatus {
    /// The entry verified (signature by a key enrolled and active at that point).
    Verified,
    /// A finding names the entry.
    Failed,
}

/// One event in an item's custody timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    /// The ledger entry.
    pub seq: u64,
    /// What happened (`checked-out`, ...).
    pub kind: String,
    /// When it happened, RFC 3339 UTC with `Z`.
    pub time: String,
    /// The offset the actor gave with the time (`+02:00`).
    pub offset: String,
    /// When the ledger recorded it, RFC 3339 UTC.
    pub recorded_time: String,
    /// Who signed it.
    pub actor: Party,
    /// Where.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Under which legal authority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_authority: Option<String>,
    /// From whom.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Party>,
    /// To whom.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Party>,
    /// Who held the item after this event (`None`: nobody known, or destroyed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<Party>,
    /// Tool and version used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// `pass` or `fail` of a check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Digests a check expected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<DigestRecord>,
    /// Digests a check found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<DigestRecord>,
    /// The package digest (SHA-256 hex) of a seal, transfer, receipt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_digest: Option<String>,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// A two-signature hand-over's receiving actor, who cosigned the entry (the releasing
    /// actor is the signer, `actor`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_actor: Option<Party>,
    /// What the event records of the custody form (description, type, device, condition
    /// on receipt, seals, storage conditions, shipment); omitted when it records none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<CustodyForm>,
    /// The entry's signature status (and, for a hand-over, its cosignature's).
    pub signature: SignatureStatus,
}

/// A size and digests as hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DigestRecord {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, hex.
    pub sha256: String,
    /// BLAKE3, hex.
    pub blake3: String,
}

impl From<&custody_core::hash::Digests> for DigestRecord {
    fn from(d: &custody_core::hash::Digests) -> Self {
        DigestRecord {
            size: d.size,
            sha256: hex::encode(&d.sha256),
            blake3: hex::encode(&d.blake3),
        }
    }
}

/// A record of access to, use or disclosure of an item: its `examined`, `checked-out`,
/// `derived` and `disclosed` entries (`custody_store::conditions::ACCESS_KINDS`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessRecord {
    /// The ledger entry.
    pub seq: u64,
    /// What happened.
    pub kind: String,
    /// When, RFC 3339 UTC.
    pub time: String,
    /// Who.
    pub actor: Party,
    /// To whom: the holder of a check-out, the third party of a disclosure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// On what legal authority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_authority: Option<String>,
}

/// An access record of the store as the report shows it: the actor named, the time in UTC.
fn access_entry(
    record: custody_store::conditions::AccessRecord,
    actors: &BTreeMap<String, ActorRecord>,
) -> AccessRecord {
    AccessRecord {
        seq: record.seq,
        kind: record.kind.to_string(),
        time: utc_and_offset(&record.claimed_time).0,
        actor: actor_party(&record.actor, actors),
        to: record.to,
        purpose: record.purpose,
        legal_authority: record.legal_authority,
    }
}

/// An evidence item and its custody.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditItem {
    /// Item id (the exhibit number).
    pub id: String,
    /// The path it was acquired from, or its path in the package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// SHA-256, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// BLAKE3, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
    /// The case it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// Keep until (`YYYY-MM-DD`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_until: Option<String>,
    /// Who holds it after the last event, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<Party>,
    /// Its custody-form record: each field as the latest event carrying it gave it.
    pub form: CustodyForm,
    /// Every event of its history, in ledger order.
    pub timeline: Vec<TimelineEntry>,
    /// Records of access, use and disclosure.
    pub access: Vec<AccessRecord>,
}

/// A package signature and its status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignerRecord {
    /// Key name.
    pub name: String,
    /// C2SP key ID (hex), when the verifier key is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// The C2SP verifier key, or `name+keyid` when the key is unknown.
    pub key: String,
    /// Whether the key is in the trust store.
    pub trusted: bool,
    /// Whether the signature verifies.
    pub valid: bool,
    /// Whether the key is revoked.
    pub revoked: bool,
    /// Whether it makes the package acceptable.
    pub counts: bool,
}

/// A checkpoint the history was checked against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckpointRecord {
    /// `ledger` (the newest stored checkpoint), `package`, or where an outside
    /// checkpoint came from (`receipt ...`, a file given by the auditor).
    pub source: String,
    /// Whether it is held outside the audited ledger (a receipt's cosignature, a witness,
    /// an auditor's copy).
    pub outside: bool,
    /// Tree size, when the note parses under the log key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Root hash (hex), when the note parses under the log key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// Whether the checkpoint verified and the history matched it.
    pub verified: bool,
    /// The signed note, exactly.
    pub note: String,
}

/// The package statement's terms, for a package audit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackageTerms {
    /// Package id.
    pub id: String,
    /// When it was sealed.
    pub sealed_time: String,
    /// Sending authority.
    pub sender: Party,
    /// Receiving authority.
    pub recipient: Party,
    /// Request reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_reference: Option<String>,
    /// Legal basis of the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    /// Use limitations.
    pub use_limitations: Vec<String>,
    /// Confidential.
    pub confidential: bool,
    /// Personal-data categories.
    pub personal_data: Vec<String>,
    /// Keep until.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_until: Option<String>,
    /// The sender ledger's origin.
    pub ledger_origin: String,
    /// The sender ledger's log key.
    pub log_key: String,
}

/// A case's title and legal authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaseInfo {
    /// Case reference.
    pub case: String,
    /// Title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Legal authority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_authority: Option<String>,
}

/// The audit's result: what a renderer presents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// `verified` or `failed`.
    pub verdict: Verdict,
    /// What was audited.
    pub scope: AuditScope,
    /// When the audit ran, RFC 3339 UTC.
    pub audit_time: String,
    /// Every finding: verification findings first, then gaps.
    pub findings: Vec<AuditFinding>,
    /// The cases concerned.
    pub cases: Vec<CaseInfo>,
    /// The package's terms (package audits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<PackageTerms>,
    /// The items, by id.
    pub items: Vec<AuditItem>,
    /// Every actor named, by key.
    pub actors: Vec<Party>,
    /// Package signatures (package audits).
    pub signers: Vec<SignerRecord>,
    /// Checkpoints the history was checked against.
    pub checkpoints: Vec<CheckpointRecord>,
}

impl AuditReport {
    /// Findings that are custody gaps.
    pub fn gaps(&self) -> impl Iterator<Item = &AuditFinding> {
        self.findings.iter().filter(|f| f.code.starts_with("gap_"))
    }

    /// Findings of one item.
    pub fn item_findings<'a>(&'a self, item: &'a str) -> impl Iterator<Item = &'a AuditFinding> {
        self.findings
            .iter()
            .filter(move |f| f.item.as_deref() == Some(item))
    }
}

/// An audit that could not run (as opposed to one that found problems).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The ledger could not be read.
    #[error("cannot audit the ledger: {0}")]
    Ledger(#[from] StoreError),
    /// The package could not be read.
    #[error(transparent)]
    Package(#[from] VerifyError),
    /// The case named is not in the ledger.
    #[error("case {case:?} is not in the ledger")]
    NoSuchCase {
        /// The case reference.
        case: String,
    },
    /// A report file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// What a ledger audit checks against besides the ledger itself.
#[derive(Clone, Debug, Default)]
pub struct LedgerAuditOptions {
    /// Only this case; `None` for every item.
    pub case: Option<String>,
    /// Checkpoint notes held outside the ledger, with where each came from.
    pub outside: Vec<(String, String)>,
    /// The log signer's state file.
    pub signer_state: Option<PathBuf>,
    /// "Now", for retention dates; the audit time.
    pub now: Option<OffsetDateTime>,
    /// With `case`: verify the whole ledger as `custody ledger verify` does, not only the
    /// case ([`Coverage`]). Without `case` the whole ledger is always verified.
    pub full: bool,
}

/// Audits a ledger: full verification (or, for one case unless `full`, the case check of
/// [`Coverage::Case`]), then the custody of every item (of the case).
pub fn audit_ledger(
    ledger: &Ledger,
    options: &LedgerAuditOptions,
) -> Result<AuditReport, AuditError> {
    let now = options.now.unwrap_or_else(OffsetDateTime::now_utc);
    let notes: Vec<String> = options.outside.iter().map(|(_, n)| n.clone()).collect();
    let signer_state = options.signer_state.as_deref();
    let mut unverifiable = None;
    let (verification, coverage) = match (&options.case, options.full) {
        (Some(case), false) => match ledger.verify_case(case, &notes, signer_state) {
            Ok(check) => (
                check.report,
                Coverage::Case {
                    entries_checked: check.entries_checked,
                    snapshot: check.snapshot,
                    checkpoint_size: check.checkpoint_size,
                },
            ),
            Err(error) => {
                unverifiable = Some(error);
                let report = custody_store::LedgerReport {
                    size: ledger.size()?,
                    findings: Vec::new(),
                };
                let coverage = Coverage::Case {
                    entries_checked: 0,
                    snapshot: None,
                    checkpoint_size: 0,
                };
                (report, coverage)
            }
        },
        _ => (
            ledger.verify_with_signer_state(&notes, signer_state)?,
            Coverage::Ledger,
        ),
    };
    let mut findings: Vec<AuditFinding> =
        verification.findings.iter().map(ledger_finding).collect();
    if let Some(error) = unverifiable {
        findings.push(AuditFinding {
            code: "ledger_unverifiable".into(),
            message: format!("the ledger's entries cannot be verified: {error}"),
            fails_verdict: true,
            item: None,
            seq: None,
            path: None,
        });
    }
    let failed_seqs: BTreeSet<u64> = findings.iter().filter_map(|f| f.seq).collect();
    let log_key = ledger.log_verifier_key().clone();
    let scope = AuditScope::Ledger {
        path: ledger.path().to_path_buf(),
        origin: ledger.origin().to_owned(),
        case: options.case.clone(),
        size: verification.size,
        log_key: log_key.to_string(),
        coverage,
    };
    let mut report = AuditReport {
        verdict: Verdict::Failed,
        scope,
        audit_time: custody_store::ledger::format_utc(now),
        findings: Vec::new(),
        cases: Vec::new(),
        package: None,
        items: Vec::new(),
        actors: Vec::new(),
        signers: Vec::new(),
        checkpoints: Vec::new(),
    };
    // The history is read from the verified entries only; when they cannot be verified
    // (the ledger was tampered with), the report says so and shows no history.
    match ledger_history(ledger, options.case.as_deref(), &failed_seqs) {
        Ok(history) => {
            report.cases = history.cases;
            report.items = history.items;
            report.actors = history.actors;
        }
        Err(AuditError::Ledger(error)) => findings.push(AuditFinding {
            code: "history_unverifiable".into(),
            message: format!(
                "no custody history is shown: it cannot be read from verified entries ({error})"
            ),
            fails_verdict: true,
            item: None,
            seq: None,
            path: None,
        }),
        Err(other) => return Err(other),
    }
    report.checkpoints = ledger_checkpoints(ledger, &log_key, options, &verification.findings)?;
    findings.extend(gaps::find(&report.items, now.date()));
    report.findings = findings;
    report.verdict = verdict_of(&report.findings);
    Ok(report)
}

fn verdict_of(findings: &[AuditFinding]) -> Verdict {
    if findings.iter().any(|f| f.fails_verdict) {
        Verdict::Failed
    } else {
        Verdict::Verified
    }
}

struct History {
    cases: Vec<CaseInfo>,
    items: Vec<AuditItem>,
    actors: Vec<Party>,
}

fn ledger_history(
    ledger: &Ledger,
    case: Option<&str>,
    failed_seqs: &BTreeSet<u64>,
) -> Result<History, AuditError> {
    let actors: BTreeMap<String, ActorRecord> = ledger
        .actors()?
        .into_iter()
        .map(|a| (a.key.clone(), a))
        .collect();
    let cases: Vec<CaseInfo> = ledger
        .cases()?
        .into_iter()
        .filter(|c| case.is_none_or(|wanted| c.case == wanted))
        .map(|c| CaseInfo {
            case: c.case,
            title: c.title,
            legal_authority: c.legal_authority,
        })
        .collect();
    if let Some(case) = case {
        if cases.is_empty() {
            return Err(AuditError::NoSuchCase {
                case: case.to_owned(),
            });
        }
    }
    let mut items = Vec::new();
    for record in ledger.items(case)? {
        let history = ledger.item_history(&record.item)?;
        // Conditions a received item carries (its retention date among them) and its record
        // of access, use and disclosure, both from the same verified entries.
        let conditions = ItemConditions::from_history(&record.item, &history);
        let access = access_record_from_history(&record.item, &history)
            .into_iter()
            .map(|a| access_entry(a, &actors))
            .collect();
        let events: Vec<SignedEvent> = history.into_iter().map(|e| e.signed).collect();
        let source_path = events
            .iter()
            .find(|e| e.event.seq == record.created_seq)
            .and_then(|e| e.event.fields.evidence.as_ref())
            .filter(|_| record.size.is_some())
            .map(|e| e.source_path.clone());
        let mut item = AuditItem {
            id: record.item.clone(),
            path: source_path,
            size: record.size,
            sha256: record.sha256.clone(),
            blake3: record.blake3.clone(),
            case: record.case.clone(),
            retention_until: conditions.and_then(|c| c.conditions.retention_until),
            holder: None,
            form: CustodyForm::default(),
            timeline: Vec::new(),
            access,
        };
        (item.timeline, item.holder, item.form) = timeline(&record.item, &events, &actors, |seq| {
            !failed_seqs.contains(&seq)
        });
        items.push(item);
    }
    Ok(History {
        cases,
        items,
        actors: named_actors(&actors),
    })
}

fn named_actors(actors: &BTreeMap<String, ActorRecord>) -> Vec<Party> {
    actors.values().map(Party::actor).collect()
}

fn ledger_checkpoints(
    ledger: &Ledger,
    log_key: &VerifierKey,
    options: &LedgerAuditOptions,
    verification: &[LedgerFinding],
) -> Result<Vec<CheckpointRecord>, AuditError> {
    let mut out = Vec::new();
    let stored_bad = verification.iter().any(|f| {
        matches!(
            f,
            LedgerFinding::CheckpointSignature { .. }
                | LedgerFinding::CheckpointRootMismatch { .. }
                | LedgerFinding::CheckpointMalformed { .. }
        )
    });
    if let Ok((_, note)) = ledger.latest_checkpoint() {
        out.push(checkpoint_record(
            "ledger",
            false,
            &note,
            log_key,
            !stored_bad,
        ));
    }
    let mut outside: Vec<(String, String)> = Vec::new();
    for (source, note) in ledger.outside_checkpoints()? {
        if let Some(note) = note {
            outside.push((source, note));
        }
    }
    outside.extend(options.outside.iter().cloned());
    for (source, note) in outside {
        let bad = verification.iter().any(|f| match f {
            LedgerFinding::OutsideCheckpointSignature { source_name }
            | LedgerFinding::OutsideCheckpointMismatch { source_name, .. }
            | LedgerFinding::OutsideCheckpointAhead { source_name, .. } => *source_name == source,
            _ => false,
        });
        out.push(checkpoint_record(&source, true, &note, log_key, !bad));
    }
    Ok(out)
}

fn checkpoint_record(
    source: &str,
    outside: bool,
    note: &str,
    log_key: &VerifierKey,
    matched: bool,
) -> CheckpointRecord {
    let opened = Checkpoint::open(note.as_bytes(), std::slice::from_ref(log_key)).ok();
    CheckpointRecord {
        source: source.to_owned(),
        outside,
        size: opened.as_ref().map(|(c, _, _)| c.size),
        root: opened.as_ref().map(|(c, _, _)| hex::encode(&c.root)),
        verified: matched && opened.is_some(),
        note: note.to_owned(),
    }
}

/// A ledger finding as an audit finding: its code and the entry it names.
fn ledger_finding(finding: &LedgerFinding) -> AuditFinding {
    use LedgerFinding as F;
    let (code, seq) = match finding {
        F::MissingEntries { from, .. } => ("missing_entries", Some(*from)),
        F::Unparseable { seq } => ("unparseable_entry", Some(*seq)),
        F::NotCanonical { seq } => ("not_canonical", Some(*seq)),
        F::SeqMismatch { seq, .. } => ("seq_mismatch", Some(*seq)),
        F::WrongOrigin { seq, .. } => ("wrong_origin", Some(*seq)),
        F::UnknownVersion { seq, .. } => ("unknown_version", Some(*seq)),
        F::BadSignature { seq } => ("bad_signature", Some(*seq)),
        F::UnknownSigner { seq, .. } => ("unknown_signer", Some(*seq)),
        F::RevokedSigner { seq, .. } => ("revoked_signer", Some(*seq)),
        F::TimeWentBackwards { seq } => ("time_went_backwards", Some(*seq)),
        F::RuleBroken { seq, .. } => ("rule_broken", Some(*seq)),
        F::LogKeyMismatch { seq } => ("log_key_mismatch", Some(*seq)),
        F::LeafHashMismatch { seq } => ("leaf_hash_mismatch", Some(*seq)),
        F::NodeMismatch { .. } => ("node_mismatch", None),
        F::CheckpointMalformed { .. } => ("checkpoint_malformed", None),
        F::EntryTooLarge { seq, .. } => ("entry_too_large", Some(*seq)),
        F::CheckpointTooLarge { .. } => ("checkpoint_too_large", None),
        F::CheckpointSignature { .. } => ("checkpoint_signature", None),
        F::CheckpointRootMismatch { .. } => ("checkpoint_root_mismatch", None),
        F::CheckpointAhead { .. } => ("checkpoint_ahead", None),
        F::UncheckpointedEntries { from, .. } => ("uncheckpointed_entries", Some(*from)),
        F::OutsideCheckpointSignature { .. } => ("outside_checkpoint_signature", None),
        F::OutsideCheckpointTooLarge { .. } => ("outside_checkpoint_too_large", None),
        F::OutsideCheckpointMismatch { .. } => ("outside_checkpoint_mismatch", None),
        F::OutsideCheckpointAhead { .. } => ("outside_checkpoint_ahead", None),
        F::OutsideCheckpointRowMissing { seq } => ("outside_checkpoint_row_missing", Some(*seq)),
        F::SignerStateUnreadable { .. } => ("signer_state_unreadable", None),
        F::IndexMismatch { .. } => ("index_mismatch", None),
        F::SnapshotSignature { .. } => ("snapshot_signature", None),
        F::SnapshotMalformed { .. } => ("snapshot_malformed", None),
        F::SnapshotTooLarge { .. } => ("snapshot_too_large", None),
        F::SnapshotAhead { .. } => ("snapshot_ahead", None),
        F::SnapshotMismatch { .. } => ("snapshot_mismatch", None),
        F::MissingCosignature { seq } => ("missing_cosignature", Some(*seq)),
        F::BadCosignature { seq } => ("bad_cosignature", Some(*seq)),
        _ => ("ledger_finding", None),
    };
    AuditFinding {
        code: code.to_owned(),
        message: finding.to_string(),
        fails_verdict: true,
        item: None,
        seq,
        path: None,
    }
}

/// Audits a package: full verification (as `custody verify`), then each item's custody
/// history as the package carries it.
pub fn audit_package(
    path: &Path,
    options: &VerifyOptions,
    now: Option<OffsetDateTime>,
) -> Result<AuditReport, AuditError> {
    let now = now.unwrap_or_else(OffsetDateTime::now_utc);
    let verification = verify::verify_package(path, options)?;
    Ok(package_report(path, &verification, now))
}

/// The report for a package already verified.
pub fn package_report(
    path: &Path,
    verification: &PackageReport,
    now: OffsetDateTime,
) -> AuditReport {
    let mut findings: Vec<AuditFinding> = verification
        .findings
        .iter()
        .map(|f| AuditFinding {
            code: serde_json::to_value(&f.kind)
                .ok()
                .and_then(|v| v.get("code")?.as_str().map(str::to_owned))
                .unwrap_or_else(|| "package_finding".to_owned()),
            message: f.to_string(),
            fails_verdict: true,
            item: f.item.clone(),
            seq: f.seq,
            path: f.file.clone(),
        })
        .collect();
    if !verification.verified && findings.is_empty() {
        findings.push(AuditFinding {
            code: "no_trusted_signature".into(),
            message: "no valid signature by a trusted, active key".into(),
            fails_verdict: true,
            item: None,
            seq: None,
            path: None,
        });
    }
    let statement = verification.statement.as_ref();
    let mut state = State::default();
    for entry in verification.included.iter().filter(|e| e.signature_valid) {
        state.apply(&entry.signed.event);
    }
    let failed: BTreeSet<u64> = verification.findings.iter().filter_map(|f| f.seq).collect();
    // Entries by seq: each item lists its entries by seq, and the checks below are
    // lookups, so a package with many items and entries stays linear.
    let by_seq: BTreeMap<u64, &verify::IncludedEntry> =
        verification.included.iter().map(|e| (e.seq, e)).collect();
    let status =
        |seq: u64| !failed.contains(&seq) && by_seq.get(&seq).is_some_and(|e| e.signature_valid);
    let mut items = Vec::new();
    if let Some(statement) = statement {
        for listed in &statement.items {
            let seqs: BTreeSet<u64> = listed.events.iter().copied().collect();
            let events: Vec<SignedEvent> = seqs
                .iter()
                .filter_map(|seq| by_seq.get(seq))
                .map(|e| e.signed.clone())
                .collect();
            let mut item = AuditItem {
                id: listed.id.clone(),
                path: Some(listed.path.clone()),
                size: Some(listed.size),
                sha256: Some(hex::encode(&listed.sha256)),
                blake3: Some(hex::encode(&listed.blake3)),
                case: Some(statement.case.clone()),
                retention_until: statement.retention_until.clone(),
                holder: None,
                form: CustodyForm::default(),
                timeline: Vec::new(),
                access: Vec::new(),
            };
            (item.timeline, item.holder, item.form) =
                timeline(&listed.id, &events, &state.actors, status);
            items.push(item);
        }
    }
    let log_key = statement.and_then(|s| s.sender.log_verifier_key().ok());
    let checkpoints = match (&verification.checkpoint_note, &log_key) {
        (Some(note), Some(key)) => {
            let checkpoint_ok = !verification
                .findings
                .iter()
                .any(|f| f.group == verify::FindingGroup::Checkpoint);
            vec![checkpoint_record(
                "package",
                false,
                note,
                key,
                checkpoint_ok,
            )]
        }
        _ => Vec::new(),
    };
    findings.extend(gaps::find(&items, now.date()));
    let verdict = if verification.verified {
        verdict_of(&findings)
    } else {
        Verdict::Failed
    };
    AuditReport {
        verdict,
        scope: AuditScope::Package {
            path: path.to_path_buf(),
            id: statement.map(|s| s.id.clone()),
            case: statement.map(|s| s.case.clone()),
        },
        audit_time: custody_store::ledger::format_utc(now),
        findings,
        cases: statement
            .map(|s| CaseInfo {
                case: s.case.clone(),
                title: None,
                legal_authority: s.request.legal_basis.clone(),
            })
            .into_iter()
            .collect(),
        package: statement.map(|s| PackageTerms {
            id: s.id.clone(),
            sealed_time: s.sealed_time.clone(),
            sender: Party {
                full_name: None,
                name: s.sender.authority.clone(),
                organisation: s.sender.organisation.clone(),
                jurisdiction: s.sender.jurisdiction.clone(),
                ..Party::default()
            },
            recipient: Party {
                full_name: None,
                name: s.recipient.authority.clone(),
                jurisdiction: s.recipient.jurisdiction.clone(),
                ..Party::default()
            },
            request_reference: s.request.reference.clone(),
            legal_basis: s.request.legal_basis.clone(),
            use_limitations: s.use_limitations.clone(),
            confidential: s.confidential,
            personal_data: s.personal_data.clone(),
            retention_until: s.retention_until.clone(),
            ledger_origin: s.sender.ledger_origin.clone(),
            log_key: s.sender.log_key.clone(),
        }),
        items,
        actors: named_actors(&state.actors),
        signers: verification
            .signers
            .iter()
            .map(|s| SignerRecord {
                name: s.name.clone(),
                key_id: s
                    .key
                    .parse::<VerifierKey>()
                    .ok()
                    .map(|k| hex::encode(&k.key_id())),
                key: s.key.clone(),
                trusted: s.trusted,
                valid: s.valid,
                revoked: s.revoked,
                counts: s.counts(),
            })
            .collect(),
        checkpoints,
    }
}

/// `time` as UTC with `Z` and the offset it was given with; unparseable times are shown
/// as given (verification has already reported them).
fn utc_and_offset(time: &str) -> (String, String) {
    match OffsetDateTime::parse(time, &Rfc3339) {
        Ok(t) => {
            let offset = t.offset();
            let (h, m, _) = offset.as_hms();
            let sign = if offset.is_negative() { '-' } else { '+' };
            let offset = if offset.is_utc() {
                "Z".to_owned()
            } else {
                format!("{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
            };
            (custody_store::ledger::format_utc(t), offset)
        }
        Err(_) => (time.to_owned(), String::new()),
    }
}

/// A `from`/`to` field: an enrolled actor when it is one's key, else a free-text authority.
fn party(text: &str, actors: &BTreeMap<String, ActorRecord>) -> Party {
    actors.get(text).map_or_else(
        || Party {
            full_name: None,
            name: text.to_owned(),
            ..Party::default()
        },
        Party::actor,
    )
}

fn actor_party(key: &str, actors: &BTreeMap<String, ActorRecord>) -> Party {
    actors.get(key).map_or_else(
        || Party {
            full_name: None,
            name: format!("unknown key {key}"),
            key: Some(key.to_owned()),
            ..Party::default()
        },
        Party::actor,
    )
}

/// The item's timeline from its events (in seq order), with the holder after each event
/// as the store's custody model ([`ItemCustody`]) gives it, and the holder now.
fn timeline(
    item: &str,
    events: &[SignedEvent],
    actors: &BTreeMap<String, ActorRecord>,
    signature_ok: impl Fn(u64) -> bool,
) -> (Vec<TimelineEntry>, Option<Party>, CustodyForm) {
    let custody = ItemCustody::from_history(item, events.iter().map(|e| &e.event), actors);
    let holder_at = |seq: u64| -> Option<Party> {
        let custody = custody.as_ref()?;
        custody
            .timeline
            .iter()
            .rev()
            .find(|p| p.from_seq <= seq && p.until_seq.is_none_or(|until| until > seq))
            .map(|p| holder_party(&p.holder, actors))
    };
    let entries = events
        .iter()
        .map(|signed| {
            let event = &signed.event;
            let actor = actor_party(&event.actor, actors);
            let (time, offset) = utc_and_offset(&event.claimed_time);
            let fields = &event.fields;
            TimelineEntry {
                seq: event.seq,
                kind: event.kind.as_str().to_owned(),
                time,
                offset,
                recorded_time: event.recorded_time.clone(),
                actor,
                place: fields.place.clone(),
                purpose: fields.purpose.clone(),
                legal_authority: fields.legal_authority.clone(),
                from: fields.from.as_deref().map(|f| party(f, actors)),
                to: fields.to.as_deref().map(|t| party(t, actors)),
                holder: holder_at(event.seq),
                tool: match (&fields.tool, &fields.tool_version) {
                    (Some(t), Some(v)) => Some(format!("{t} {v}")),
                    (Some(t), None) => Some(t.clone()),
                    _ => None,
                },
                result: fields.result.map(|r| {
                    match r {
                        custody_store::CheckResult::Pass => "pass",
                        custody_store::CheckResult::Fail => "fail",
                    }
                    .to_owned()
                }),
                expected: fields.expected.as_ref().map(DigestRecord::from),
                found: fields.found.as_ref().map(DigestRecord::from),
                package_digest: fields.package_digest.clone(),
                notes: fields.notes.clone(),
                to_actor: fields.to_actor.as_deref().map(|k| actor_party(k, actors)),
                form: event_form(fields),
                signature: if signature_ok(event.seq) {
                    SignatureStatus::Verified
                } else {
                    SignatureStatus::Failed
                },
            }
        })
        .collect();
    let now = custody
        .as_ref()
        .and_then(|c| c.holder.as_ref())
        .map(|h| holder_party(h, actors));
    let form = custody.map(|c| c.form).unwrap_or_default();
    (entries, now, form)
}

/// The custody-form fields one event records, if any.
fn event_form(fields: &custody_store::EventFields) -> Option<CustodyForm> {
    let form = CustodyForm {
        description: fields.description.clone(),
        item_type: fields.item_type.clone(),
        device: fields.device.clone(),
        condition_on_receipt: fields.condition_on_receipt.clone(),
        seals: fields.seals.clone(),
        storage_conditions: fields.storage_conditions.clone(),
        shipment: fields.shipment.clone(),
    };
    (form != CustodyForm::default()).then_some(form)
}

/// A holder of the custody model as a party, with the actor's role when it is one.
fn holder_party(holder: &Holder, actors: &BTreeMap<String, ActorRecord>) -> Party {
    match holder.key.as_deref().and_then(|k| actors.get(k)) {
        Some(actor) => Party::actor(actor),
        None => Party {
            full_name: None,
            name: holder.name.clone(),
            key: holder.key.clone(),
            organisation: holder.organisation.clone(),
            jurisdiction: holder.jurisdiction.clone(),
            ..Party::default()
        },
    }
}

/// Whether `date` (`YYYY-MM-DD`) is before `today`.
pub(crate) fn date_passed(date: &str, today: Date) -> bool {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(date, &format).is_ok_and(|d| d < today)
}

/// Writes a report file atomically: a temporary file in the destination directory,
/// fsynced, renamed over `path` (a report is regenerated, so an older one is replaced).
pub fn write_report_file(path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    let fail = |source| AuditError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(fail)
}
