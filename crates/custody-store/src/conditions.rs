//! The conditions that travel with evidence received from another authority, and the
//! record of what was done with it.
//!
//! A package states the sender's conditions (use limitations, confidentiality, categories
//! of personal data, a retention date). `receive` copies them into the signed `received`
//! entry of each item ([`TransferConditions`]), so they are part of the receiving ledger's
//! verified entries, not a side file. From an item's verified history this module derives:
//! * its conditions, who sent it, and the onward transfers its sender consented to
//!   ([`ItemConditions::from_history`], [`item_conditions`]);
//! * its record of access, use and disclosure: every `examined`, `checked-out`, `derived`
//!   and `disclosed` entry ([`AccessRecord`], [`access_record`]);
//! * whether it is past its retention date ([`ItemConditions::past_retention`]).
//!
//! The onward-transfer rule itself (no `sealed` or `transferred` of a received item to an
//! authority other than its sender without an `onward-transfer-authorised` entry) is a
//! custody rule, enforced on append and on verification in [`crate::rules`].

use serde::{Deserialize, Serialize};
use time::Date;

use crate::error::StoreError;
use crate::event::{Event, EventKind};
use crate::ledger::{Ledger, StoredEntry};

/// The conditions a sending authority attached to a package, as recorded on `received`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferConditions {
    /// Conditions on the use of the evidence, as the sender wrote them.
    pub use_limitations: Vec<String>,
    /// Whether the sender asked for the transfer and its content to be kept confidential.
    pub confidential: bool,
    /// Categories of personal data in the evidence.
    pub personal_data: Vec<String>,
    /// Date (`YYYY-MM-DD`) until which the receiver may keep the evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_until: Option<String>,
}

impl TransferConditions {
    /// Whether the retention date, if any, lies before `today` (the evidence may be kept
    /// up to and including the date named). `None` when there is no date or it is not a
    /// `YYYY-MM-DD` date (the rules refuse such a date on append).
    pub fn past_retention(&self, today: Date) -> Option<bool> {
        let date = parse_date(self.retention_until.as_deref()?)?;
        Some(today > date)
    }
}

/// `YYYY-MM-DD` as a date.
pub fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    if text.len() != 10 {
        return None;
    }
    Date::parse(text, &format).ok()
}

/// A sending authority's consent to a transfer of a received item to a third authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OnwardAuthorisation {
    /// The `onward-transfer-authorised` entry.
    pub seq: u64,
    /// The consenting authority (the item's sender).
    pub authorised_by: String,
    /// The authority the consent names.
    pub to: String,
    /// The consent's reference.
    pub reference: String,
}

impl OnwardAuthorisation {
    /// The consent an `onward-transfer-authorised` event records, if it is one and names
    /// all three parties.
    pub fn from_event(event: &Event) -> Option<Self> {
        if event.kind != EventKind::OnwardTransferAuthorised {
            return None;
        }
        Some(OnwardAuthorisation {
            seq: event.seq,
            authorised_by: event.fields.from.clone()?,
            to: event.fields.to.clone()?,
            reference: event.fields.legal_authority.clone()?,
        })
    }
}

/// How and on whose authority an item was destroyed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Destruction {
    /// The `destroyed` entry.
    pub seq: u64,
    /// The method recorded.
    pub method: Option<String>,
    /// The authority for it.
    pub authority: Option<String>,
}

/// What a received item carries: its sender's conditions and consents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemConditions {
    /// The item.
    pub item: String,
    /// The `received` entry that created it.
    pub received_seq: u64,
    /// The sending authority (`from` of that entry).
    pub sender: Option<String>,
    /// The conditions recorded on it (empty for an entry written before conditions were
    /// recorded).
    pub conditions: TransferConditions,
    /// Onward transfers the sender consented to, in ledger order.
    pub onward_transfers: Vec<OnwardAuthorisation>,
    /// Its destruction, if recorded.
    pub destroyed: Option<Destruction>,
}

impl ItemConditions {
    /// The conditions of `item` from its history (verified entries, in order, as
    /// [`Ledger::item_history`] gives them). `None` when no `received` entry created it:
    /// an item acquired here carries no foreign conditions.
    pub fn from_history(item: &str, history: &[StoredEntry]) -> Option<Self> {
        let created = history
            .iter()
            .map(|e| &e.signed.event)
            .find(|e| e.items.iter().any(|i| i == item) && e.kind.creates_items())?;
        if created.kind != EventKind::Received {
            return None;
        }
        let mut out = ItemConditions {
            item: item.to_owned(),
            received_seq: created.seq,
            sender: created.fields.from.clone(),
            conditions: created.fields.conditions.clone().unwrap_or_default(),
            onward_transfers: Vec::new(),
            destroyed: None,
        };
        for event in history.iter().map(|e| &e.signed.event) {
            if !event.items.iter().any(|i| i == item) {
                continue;
            }
            if let Some(consent) = OnwardAuthorisation::from_event(event) {
                out.onward_transfers.push(consent);
            }
            if event.kind == EventKind::Destroyed && out.destroyed.is_none() {
                out.destroyed = Some(Destruction {
                    seq: event.seq,
                    method: event.fields.method.clone(),
                    authority: event.fields.legal_authority.clone(),
                });
            }
        }
        Some(out)
    }

    /// Whether the item is past its retention date on `today` and not destroyed: the
    /// flag `item list`, `item show` and `audit` raise.
    pub fn past_retention(&self, today: Date) -> bool {
        self.destroyed.is_none() && self.conditions.past_retention(today) == Some(true)
    }

    /// Whether the sender consented to a transfer to `authority` (or `authority` is the
    /// sender itself, to whom evidence may always go back).
    pub fn may_go_to(&self, authority: &str) -> bool {
        self.sender.as_deref() == Some(authority)
            || self.onward_transfers.iter().any(|c| c.to == authority)
    }
}

/// The conditions of `item` from the ledger's verified entries (see
/// [`ItemConditions::from_history`]).
pub fn item_conditions(ledger: &Ledger, item: &str) -> Result<Option<ItemConditions>, StoreError> {
    Ok(ItemConditions::from_history(
        item,
        &ledger.item_history(item)?,
    ))
}

/// One recorded access to, use of, or disclosure of an item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessRecord {
    /// The entry.
    pub seq: u64,
    /// `examined`, `checked-out`, `derived` or `disclosed`.
    pub kind: EventKind,
    /// The signer's key (hex).
    pub actor: String,
    /// When the actor says it happened.
    pub claimed_time: String,
    /// When the ledger recorded it.
    pub recorded_time: String,
    /// To whom: the holder of a check-out, the third party of a disclosure.
    pub to: Option<String>,
    /// Why.
    pub purpose: Option<String>,
    /// On what authority.
    pub legal_authority: Option<String>,
    /// For `derived` from this item: the items made from it.
    pub derived_items: Vec<String>,
}

/// The kinds that are an access to, use of, or disclosure of an item.
pub const ACCESS_KINDS: [EventKind; 4] = [
    EventKind::Examined,
    EventKind::CheckedOut,
    EventKind::Derived,
    EventKind::Disclosed,
];

/// The record of access, use and disclosure of `item` in `history` (its verified entries
/// in order): every entry of [`ACCESS_KINDS`] naming it, and every derivation from it.
pub fn access_record_from_history(item: &str, history: &[StoredEntry]) -> Vec<AccessRecord> {
    history
        .iter()
        .map(|e| &e.signed.event)
        .filter(|e| ACCESS_KINDS.contains(&e.kind))
        .filter(|e| e.items.iter().any(|i| i == item) || e.fields.parent.as_deref() == Some(item))
        .map(|e| AccessRecord {
            seq: e.seq,
            kind: e.kind,
            actor: e.actor.clone(),
            claimed_time: e.claimed_time.clone(),
            recorded_time: e.recorded_time.clone(),
            to: e.fields.to.clone(),
            purpose: e.fields.purpose.clone(),
            legal_authority: e.fields.legal_authority.clone(),
            derived_items: if e.kind == EventKind::Derived
                && e.fields.parent.as_deref() == Some(item)
            {
                e.items.clone()
            } else {
                Vec::new()
            },
        })
        .collect()
}

/// The record of access, use and disclosure of `item` from the ledger's verified entries.
pub fn access_record(ledger: &Ledger, item: &str) -> Result<Vec<AccessRecord>, StoreError> {
    Ok(access_record_from_history(
        item,
        &ledger.item_history(item)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_past_only_after_the_date() {
        let c = TransferConditions {
            retention_until: Some("2026-06-30".into()),
            ..TransferConditions::default()
        };
        let day = |t: &str| parse_date(t).unwrap();
        assert_eq!(c.past_retention(day("2026-06-30")), Some(false));
        assert_eq!(c.past_retention(day("2026-07-01")), Some(true));
        assert_eq!(
            TransferConditions::default().past_retention(day("2999-01-01")),
            None
        );
    }

    #[test]
    fn fail_dates_that_are_not_yyyy_mm_dd() {
        for bad in [
            "2026-6-30",
            "2026-02-30",
            "30-06-2026",
            "+2026-06-30",
            "",
            "2026-06-30Z",
        ] {
            assert_eq!(parse_date(bad), None, "{bad:?}");
        }
    }
}
