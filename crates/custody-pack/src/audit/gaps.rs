//! Custody gaps: what a verified history can still lack.
//!
//! Each rule reads one item's timeline (its verified events in ledger order) and holds for
//! every item; `docs/audit.md` ("Gaps") states them for a reader:
//!
//! * `gap_no_known_holder`: a transfer names no recipient; or the item is handled here
//!   (examined, hash-verified, checked out or in, stored, sealed, derived from) after it was
//!   transferred away and before a `returned` or `received` brings it back; or it comes back
//!   from someone other than the authority it was transferred to.
//! * `gap_transfer_without_receipt`: a `transferred` event with no later `acknowledged`
//!   event for the same item and package digest (no receipt from the recipient).
//! * `gap_examination_not_reverified`: an `examined` event not followed by a passing
//!   `hash-verified` (one with a `pass` result or with digests found that are the item's)
//!   before the item next moves (checked in, stored, sealed, transferred,
//!   returned, destroyed) or before the history ends.
//! * `gap_hash_verification_failed`: a `hash-verified` event whose result is `fail`, whose
//!   found digests differ from those expected, or whose found digests differ from the
//!   item's recorded ones. This one fails the verdict: the item may have changed.
//! * `gap_retention_expired`: the item's retention date has passed.

use time::Date;

use super::{AuditFinding, AuditItem, Party, TimelineEntry};

/// Every gap in `items`, item by item, in timeline order.
pub fn find(items: &[AuditItem], today: Date) -> Vec<AuditFinding> {
    let mut out = Vec::new();
    for item in items {
        item_gaps(item, today, &mut out);
    }
    out
}

fn gap(code: &str, item: &AuditItem, seq: Option<u64>, message: String) -> AuditFinding {
    AuditFinding {
        code: code.to_owned(),
        message,
        fails_verdict: code == "gap_hash_verification_failed",
        item: Some(item.id.clone()),
        seq,
        path: None,
    }
}

/// Kinds after which an item has moved: an examination must be re-verified before them.
fn moves(kind: &str) -> bool {
    matches!(
        kind,
        "checked-in" | "stored" | "sealed" | "transferred" | "returned" | "destroyed"
    )
}

/// Kinds that handle the item physically here.
fn handles(kind: &str) -> bool {
    matches!(
        kind,
        "examined"
            | "hash-verified"
            | "checked-out"
            | "checked-in"
            | "stored"
            | "sealed"
            | "derived"
    )
}

fn same_party(a: &Party, b: &Party) -> bool {
    match (&a.key, &b.key) {
        (Some(x), Some(y)) => x == y,
        _ => a.name == b.name,
    }
}

fn item_gaps(item: &AuditItem, today: Date, out: &mut Vec<AuditFinding>) {
    let id = &item.id;
    // The transfer the item is away under: its seq and recipient.
    let mut away: Option<(u64, Option<Party>)> = None;
    let mut examined: Option<u64> = None;
    for entry in &item.timeline {
        let kind = entry.kind.as_str();
        if let Some(seq) = examined.filter(|_| moves(kind)) {
            out.push(gap(
                "gap_examination_not_reverified",
                item,
                Some(seq),
                format!(
                    "item {id}: examined at entry {seq}, then {kind} at entry {} with no hash re-verification in between",
                    entry.seq
                ),
            ));
            examined = None;
        }
        match kind {
            "transferred" => {
                if entry.to.is_none() {
                    out.push(gap(
                        "gap_no_known_holder",
                        item,
                        Some(entry.seq),
                        format!("item {id}: transferred at entry {} to no named recipient: nobody is known to hold it afterwards", entry.seq),
                    ));
                }
                receipt_gap(item, entry, out);
                away = Some((entry.seq, entry.to.clone()));
            }
            "returned" | "received" => {
                if let (Some((seq, Some(to))), Some(from)) = (&away, &entry.from) {
                    if !same_party(to, from) {
                        out.push(gap(
                            "gap_no_known_holder",
                            item,
                            Some(entry.seq),
                            format!(
                                "item {id}: transferred to {:?} at entry {seq} but {kind} from {:?} at entry {}: nobody records how it passed between them",
                                to.name, from.name, entry.seq
                            ),
                        ));
                    }
                }
                away = None;
            }
            "examined" => examined = Some(entry.seq),
            "hash-verified" => match reverification(item, entry) {
                Reverification::Failed => out.push(gap(
                    "gap_hash_verification_failed",
                    item,
                    Some(entry.seq),
                    format!("item {id}: the hash re-verification at entry {} failed: the item may have changed", entry.seq),
                )),
                Reverification::Passed => examined = None,
                Reverification::Silent => {}
            },
            "destroyed" => away = None,
            _ => {}
        }
        if let Some((seq, _)) = away.as_ref().filter(|_| handles(kind)) {
            out.push(gap(
                "gap_no_known_holder",
                item,
                Some(entry.seq),
                format!(
                    "item {id}: {kind} at entry {} while transferred away at entry {seq} with no return recorded",
                    entry.seq
                ),
            ));
        }
    }
    if let Some(seq) = examined {
        out.push(gap(
            "gap_examination_not_reverified",
            item,
            Some(seq),
            format!("item {id}: examined at entry {seq} and never hash re-verified afterwards"),
        ));
    }
    let destroyed = item.timeline.iter().any(|e| e.kind == "destroyed");
    if let Some(date) = item.retention_until.as_ref().filter(|_| !destroyed) {
        if super::date_passed(date, today) {
            out.push(gap(
                "gap_retention_expired",
                item,
                None,
                format!("item {id}: its retention period ended on {date}"),
            ));
        }
    }
}

/// A transfer needs a later `acknowledged` event for the same package digest.
fn receipt_gap(item: &AuditItem, transfer: &TimelineEntry, out: &mut Vec<AuditFinding>) {
    let acknowledged = transfer.package_digest.as_ref().is_some_and(|digest| {
        item.timeline.iter().any(|e| {
            e.seq > transfer.seq
                && e.kind == "acknowledged"
                && e.package_digest.as_ref() == Some(digest)
        })
    });
    if !acknowledged {
        out.push(gap(
            "gap_transfer_without_receipt",
            item,
            Some(transfer.seq),
            format!(
                "item {}: transferred at entry {} and no receipt from the recipient is recorded",
                item.id, transfer.seq
            ),
        ));
    }
}

/// What a `hash-verified` entry shows.
#[derive(PartialEq)]
enum Reverification {
    /// It records a failure: its result, its own digests disagree, or the digests found
    /// are not the item's.
    Failed,
    /// It records a pass, or digests found that are the item's.
    Passed,
    /// It records neither a result nor digests.
    Silent,
}

fn reverification(item: &AuditItem, entry: &TimelineEntry) -> Reverification {
    if entry.result.as_deref() == Some("fail") {
        return Reverification::Failed;
    }
    if let (Some(expected), Some(found)) = (&entry.expected, &entry.found) {
        if expected != found {
            return Reverification::Failed;
        }
    }
    if let Some(found) = &entry.found {
        let differs = item.sha256.as_ref().is_some_and(|k| *k != found.sha256)
            || item.blake3.as_ref().is_some_and(|k| *k != found.blake3)
            || item.size.is_some_and(|k| k != found.size);
        if differs {
            return Reverification::Failed;
        }
        return Reverification::Passed;
    }
    if entry.result.as_deref() == Some("pass") {
        Reverification::Passed
    } else {
        Reverification::Silent
    }
}
