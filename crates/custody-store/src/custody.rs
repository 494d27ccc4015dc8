//! The custody state of each item: where it is, who holds it and who held it before.
//!
//! [`ItemCustody::from_history`] folds an item's events, in ledger order, into its current
//! [`CustodyState`], holder, place, last hash verification and the [`HolderPeriod`]s of its
//! holder timeline. It is a pure function of the events it is given: [`Ledger::item_custody`]
//! and [`Ledger::custody`] feed it the verified entries only (each entry shown to be a leaf of
//! the verified tree), so no index table and no unverified row can change what it says.
//!
//! Who holds an item after each kind of event:
//!
//! | event | state | holder afterwards |
//! |---|---|---|
//! | `acquired` | `acquired` | the signer |
//! | `derived` (the new item) | `derived` | the signer |
//! | `stored` | `in-storage` | the signer (the custodian) |
//! | `checked-out` | `checked-out` | `to_actor`, else `to`, else the signer |
//! | `checked-in` | `in-storage` | `to_actor`, else `to`, else the signer |
//! | `sealed` | `sealed` | unchanged |
//! | `transferred` | `transferred` | `to_actor`, else `to`, else unknown (`None`) |
//! | `received` | `received` | the signer |
//! | `returned` | `returned` | the signer |
//! | `destroyed` | `destroyed` | nobody; the last period ends |
//! | anything else | unchanged | unchanged |
//!
//! A holder named by key (an enrolled actor) carries the actor's name, organisation and
//! jurisdiction; a free-text holder (another authority) carries the text alone. Any event
//! naming the item with a `place` moves it there. A `hash-verified` event's result is its
//! `result` field, else the comparison of `expected` with `found` when both are present.

use std::collections::BTreeMap;

use crate::error::StoreError;
use crate::event::{CheckResult, Device, Event, EventFields, EventKind, Shipment};
use custody_core::merkle::{self, TreeBuilder};

use crate::ledger::{parse_entry, Ledger, MAX_ENTRY_BYTES};
use crate::rules::{history_items, is_key_hex, ActorRecord};
use crate::truth::unverified;
use crate::verify::{LedgerFinding, CHUNK};

/// Where an item stands in its custody.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CustodyState {
    /// Acquired, with the actor who acquired it, not yet stored.
    Acquired,
    /// Derived from a parent item, with the actor who made it, not yet stored.
    Derived,
    /// In the evidence store (stored, or checked back in).
    InStorage,
    /// Checked out to its holder.
    CheckedOut,
    /// Sealed into a package.
    Sealed,
    /// Handed to another authority (or, in a two-signature hand-over, another person).
    Transferred,
    /// Received from another authority.
    Received,
    /// Come back from another authority.
    Returned,
    /// Destroyed.
    Destroyed,
}

impl CustodyState {
    /// The kebab-case name (`in-storage`, `checked-out`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            CustodyState::Acquired => "acquired",
            CustodyState::Derived => "derived",
            CustodyState::InStorage => "in-storage",
            CustodyState::CheckedOut => "checked-out",
            CustodyState::Sealed => "sealed",
            CustodyState::Transferred => "transferred",
            CustodyState::Received => "received",
            CustodyState::Returned => "returned",
            CustodyState::Destroyed => "destroyed",
        }
    }
}

impl std::fmt::Display for CustodyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who holds an item.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Holder {
    /// The holder's key (lower-case hex) when the holder is an actor enrolled in the ledger.
    pub key: Option<String>,
    /// The actor's name, or the free text the event names the holder by.
    pub name: String,
    /// The actor's organisation.
    pub organisation: Option<String>,
    /// The actor's jurisdiction (ISO 3166-1 alpha-2).
    pub jurisdiction: Option<String>,
    /// The actor's full name as enrolled, when recorded.
    pub full_name: Option<String>,
}

/// One stretch of time during which one holder held an item.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HolderPeriod {
    /// Who held it.
    pub holder: Holder,
    /// The event that gave it to them.
    pub from_seq: u64,
    /// That event's claimed time (RFC 3339, with the original offset).
    pub from_time: String,
    /// The event that ended the period, if it has ended.
    pub until_seq: Option<u64>,
    /// That event's claimed time.
    pub until_time: Option<String>,
    /// Whether the event that began the period was signed by both the releasing and the
    /// receiving actor (a two-signature hand-over).
    pub both_signed: bool,
}

/// The last hash re-verification of an item.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HashCheck {
    /// The `hash-verified` event.
    pub seq: u64,
    /// Its claimed time.
    pub time: String,
    /// Its result; `None` when the event gave neither a result nor both digests.
    pub result: Option<CheckResult>,
}

/// An item's custody as its events say it stands.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ItemCustody {
    /// The item id.
    pub item: String,
    /// The case it was created under.
    pub case: Option<String>,
    /// The kind of event that created it (`acquired`, `derived`, `received`).
    pub created_kind: EventKind,
    /// The event that created it.
    pub created_seq: u64,
    /// Size in bytes, from the evidence recorded when it was created.
    pub size: Option<u64>,
    /// SHA-256 (hex), likewise.
    pub sha256: Option<String>,
    /// BLAKE3 (hex), likewise.
    pub blake3: Option<String>,
    /// Where it stands now.
    pub state: CustodyState,
    /// Who holds it now (`None`: destroyed, or handed to an unnamed recipient).
    pub holder: Option<Holder>,
    /// The last place an event named for it.
    pub place: Option<String>,
    /// The last `hash-verified` event naming it.
    pub last_hash_check: Option<HashCheck>,
    /// Who held it from when to when, oldest first.
    pub timeline: Vec<HolderPeriod>,
    /// The last event naming it.
    pub last_seq: u64,
    /// What the custody-form fields of its events say, the latest value of each.
    pub form: CustodyForm,
    /// The fields of the `received` event that created it, for an item received from
    /// another authority: what that authority attached to it travels here.
    pub received: Option<EventFields>,
}

impl ItemCustody {
    /// Folds `history` (the item's events in ledger order, as [`Ledger::item_history`]
    /// returns them) into the item's custody; `actors` names the holders given by key.
    /// `None` when no event in `history` creates `item`.
    pub fn from_history<'a>(
        item: &str,
        history: impl IntoIterator<Item = &'a Event>,
        actors: &BTreeMap<String, ActorRecord>,
    ) -> Option<ItemCustody> {
        let mut custody: Option<ItemCustody> = None;
        for event in history {
            if !event.items.iter().any(|i| i == item) {
                // A derivation from this item (it is the parent): not a change of its custody.
                continue;
            }
            match &mut custody {
                None if event.kind.creates_items() => {
                    custody = Some(ItemCustody::created(item, event, actors));
                }
                None => {}
                Some(custody) => custody.apply(event, actors),
            }
        }
        custody
    }

    fn created(item: &str, event: &Event, actors: &BTreeMap<String, ActorRecord>) -> ItemCustody {
        let evidence = event
            .fields
            .evidence
            .as_ref()
            .filter(|_| event.items.len() == 1);
        let state = match event.kind {
            EventKind::Derived => CustodyState::Derived,
            EventKind::Received => CustodyState::Received,
            _ => CustodyState::Acquired,
        };
        let holder = holder_of(&event.actor, actors);
        ItemCustody {
            item: item.to_owned(),
            case: event.case.clone(),
            created_kind: event.kind,
            created_seq: event.seq,
            size: evidence.map(|e| e.size),
            sha256: evidence.map(|e| custody_core::hex::encode(&e.sha256)),
            blake3: evidence.map(|e| custody_core::hex::encode(&e.blake3)),
            state,
            holder: Some(holder.clone()),
            place: event.fields.place.clone(),
            last_hash_check: None,
            timeline: vec![HolderPeriod {
                holder,
                from_seq: event.seq,
                from_time: event.claimed_time.clone(),
                until_seq: None,
                until_time: None,
                both_signed: false,
            }],
            last_seq: event.seq,
            received: (event.kind == EventKind::Received).then(|| event.fields.clone()),
            form: CustodyForm::default().merged(&event.fields),
        }
    }

    fn apply(&mut self, event: &Event, actors: &BTreeMap<String, ActorRecord>) {
        self.last_seq = event.seq;
        if self.state == CustodyState::Destroyed {
            return;
        }
        if let Some(place) = &event.fields.place {
            self.place = Some(place.clone());
        }
        let fields = &event.fields;
        self.form.merge(fields);
        // A hand-over's receiving actor (who cosigned it), else whom `to` names.
        let recipient = || {
            fields
                .to_actor
                .as_deref()
                .or(fields.to.as_deref())
                .map(|to| holder_of(to, actors))
        };
        let signer = || Some(holder_of(&event.actor, actors));
        let (state, holder) = match event.kind {
            EventKind::Stored => (CustodyState::InStorage, signer()),
            EventKind::CheckedOut => (CustodyState::CheckedOut, recipient().or_else(signer)),
            EventKind::CheckedIn => (CustodyState::InStorage, recipient().or_else(signer)),
            EventKind::Sealed => (CustodyState::Sealed, self.holder.clone()),
            EventKind::Transferred => (CustodyState::Transferred, recipient()),
            EventKind::Received => (CustodyState::Received, signer()),
            EventKind::Returned => (CustodyState::Returned, signer()),
            EventKind::Destroyed => (CustodyState::Destroyed, None),
            EventKind::HashVerified => {
                self.last_hash_check = Some(HashCheck {
                    seq: event.seq,
                    time: event.claimed_time.clone(),
                    result: check_result(fields),
                });
                return;
            }
            _ => return,
        };
        self.state = state;
        self.change_holder(event, holder);
    }

    fn change_holder(&mut self, event: &Event, holder: Option<Holder>) {
        if holder.is_some() && holder == self.holder {
            return;
        }
        if let Some(open) = self.timeline.last_mut().filter(|p| p.until_seq.is_none()) {
            open.until_seq = Some(event.seq);
            open.until_time = Some(event.claimed_time.clone());
        }
        if let Some(holder) = &holder {
            self.timeline.push(HolderPeriod {
                holder: holder.clone(),
                from_seq: event.seq,
                from_time: event.claimed_time.clone(),
                until_seq: None,
                until_time: None,
                // Verified entries only reach here: a `to_actor` means both signatures held.
                both_signed: event.fields.to_actor.is_some(),
            });
        }
        self.holder = holder;
    }
}

/// An item's custody-form record: each field as the latest event naming the item and
/// carrying it recorded it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CustodyForm {
    /// What the item is.
    pub description: Option<String>,
    /// Its type.
    pub item_type: Option<String>,
    /// The device it is or came from.
    pub device: Option<Device>,
    /// Its condition on receipt.
    pub condition_on_receipt: Option<String>,
    /// Seal or tamper-evident bag numbers.
    pub seals: Option<Vec<String>>,
    /// Storage conditions.
    pub storage_conditions: Option<String>,
    /// The last physical shipment.
    pub shipment: Option<Shipment>,
}

impl CustodyForm {
    fn merged(mut self, fields: &EventFields) -> Self {
        self.merge(fields);
        self
    }

    fn merge(&mut self, fields: &EventFields) {
        let take = |slot: &mut Option<String>, value: &Option<String>| {
            if value.is_some() {
                slot.clone_from(value);
            }
        };
        take(&mut self.description, &fields.description);
        take(&mut self.item_type, &fields.item_type);
        take(&mut self.condition_on_receipt, &fields.condition_on_receipt);
        take(&mut self.storage_conditions, &fields.storage_conditions);
        if fields.device.is_some() {
            self.device.clone_from(&fields.device);
        }
        if fields.seals.is_some() {
            self.seals.clone_from(&fields.seals);
        }
        if fields.shipment.is_some() {
            self.shipment.clone_from(&fields.shipment);
        }
    }
}

/// The holder a key or free text names: an enrolled actor's record when it is one.
fn holder_of(party: &str, actors: &BTreeMap<String, ActorRecord>) -> Holder {
    match actors.get(party).filter(|_| is_key_hex(party)) {
        Some(actor) => Holder {
            key: Some(actor.key.clone()),
            name: actor.name.clone(),
            organisation: actor.organisation.clone(),
            jurisdiction: actor.jurisdiction.clone(),
            full_name: actor.full_name.clone(),
        },
        None => Holder {
            key: None,
            name: party.to_owned(),
            organisation: None,
            jurisdiction: None,
            full_name: None,
        },
    }
}

fn check_result(fields: &EventFields) -> Option<CheckResult> {
    fields.result.or(match (&fields.expected, &fields.found) {
        (Some(expected), Some(found)) if expected == found => Some(CheckResult::Pass),
        (Some(_), Some(_)) => Some(CheckResult::Fail),
        _ => None,
    })
}

/// How many entries reading one entry with its inclusion proof costs, roughly, against
/// reading the ledger in one pass (a proof reads about log2(size) stored nodes, each a
/// database lookup): [`Ledger::custody`] reads histories entry by entry when they hold fewer
/// than one entry in this many.
pub const PROOF_READS: u64 = 64;

impl Ledger {
    /// The custody of `item` from the verified entries; `None` when no entry creates it.
    pub fn item_custody(&self, item: &str) -> Result<Option<ItemCustody>, StoreError> {
        let actors = self.actor_map()?;
        let history = self.item_history(item)?;
        Ok(ItemCustody::from_history(
            item,
            history.iter().map(|e| &e.signed.event),
            &actors,
        ))
    }

    /// The custody of every item created under `case` (or of every item), by item id,
    /// from the verified entries. The entries are read once, in seq order, and their tree is
    /// recomputed and compared with the verified root, so an entry changed since the replay
    /// is an error, never an answer (one pass over the ledger, where one inclusion proof
    /// per event of every item would cost a proof per entry).
    ///
    /// When the items' histories are few beside the ledger (fewer than one entry in
    /// [`PROOF_READS`]), each of their entries is read alone and shown to be in the verified
    /// tree by an inclusion proof instead, as [`Ledger::item_history`] does: the same
    /// verified answer, without reading a large ledger whole for one case.
    pub fn custody(&self, case: Option<&str>) -> Result<Vec<ItemCustody>, StoreError> {
        let actors = self.actor_map()?;
        let mut histories: BTreeMap<String, Vec<Event>> = self
            .items(case)?
            .into_iter()
            .map(|record| (record.item, Vec::new()))
            .collect();
        if histories.is_empty() {
            return Ok(Vec::new());
        }
        let (size, root, wanted) = {
            let truth = self.truth()?;
            let wanted = histories
                .keys()
                .map(|item| truth.item_history.get(item).map_or(0, Vec::len) as u64)
                .fold(0u64, u64::saturating_add);
            (truth.size(), truth.root(), wanted)
        };
        if wanted.saturating_mul(PROOF_READS) < size {
            return self.custody_by_proofs(histories.into_keys(), &actors);
        }
        let mut builder = TreeBuilder::default();
        let mut last = None;
        while builder.size() < size {
            let rows = self.store.entries_after(last, CHUNK)?;
            if rows.is_empty() {
                break;
            }
            for (seq, bytes, _) in rows {
                if seq >= size {
                    break;
                }
                if seq != builder.size() {
                    return Err(unverified(LedgerFinding::MissingEntries {
                        from: builder.size(),
                        to: seq,
                    }));
                }
                let bytes = bytes.ok_or_else(|| {
                    unverified(LedgerFinding::EntryTooLarge {
                        seq,
                        limit: MAX_ENTRY_BYTES,
                    })
                })?;
                builder.push_with(merkle::leaf_hash(&bytes), &mut |_, _, _| {});
                let event = parse_entry(seq, &bytes)?.event;
                for item in history_items(&event) {
                    if let Some(history) = histories.get_mut(item) {
                        history.push(event.clone());
                    }
                }
                last = Some(seq);
            }
        }
        if builder.size() != size || builder.root() != root {
            return Err(StoreError::SignedCheckpointMismatch { size });
        }
        Ok(histories
            .iter()
            .filter_map(|(item, history)| ItemCustody::from_history(item, history, &actors))
            .collect())
    }

    /// [`Ledger::custody`] of `items`, each history read entry by entry with inclusion
    /// proofs.
    fn custody_by_proofs(
        &self,
        items: impl Iterator<Item = String>,
        actors: &BTreeMap<String, ActorRecord>,
    ) -> Result<Vec<ItemCustody>, StoreError> {
        let mut out = Vec::new();
        for item in items {
            let history = self.item_history(&item)?;
            let events = history.iter().map(|e| &e.signed.event);
            out.extend(ItemCustody::from_history(&item, events, actors));
        }
        Ok(out)
    }

    fn actor_map(&self) -> Result<BTreeMap<String, ActorRecord>, StoreError> {
        Ok(self
            .actors()?
            .into_iter()
            .map(|a| (a.key.clone(), a))
            .collect())
    }
}
