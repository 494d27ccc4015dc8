//! The custody rules: who may sign, what may happen to an item and when.
//!
//! [`State`] is the ledger's index (actors, cases, items) as it stands after some prefix of
//! the entries. Append loads the part of it that a batch touches, [`State::check`]s each
//! event and [`State::apply`]s it; `verify` and `reindex` replay every entry through the
//! same two functions, so the rules and the index can never drift apart.
//!
//! Besides the order of things (an item exists before it is handled, a key is active when it
//! signs), the rules refuse the mistakes that would leave a record a court cannot follow:
//! evidence acquired into a case never opened, an event filed under another case than its
//! item's, a hand-over that does not say to whom, a legal step that does not name its legal
//! authority, and a revocation that would leave no key able to sign. Because `verify`
//! replays the same rules, an entry that breaks one is a finding even when someone holding
//! an actor key wrote it past the append path.
//!
//! Acquiring the same bytes twice as two items is not a broken rule (a second copy may be
//! meant) but a likely mistake: [`already_acquired`] finds it so that the acquiring front
//! end can refuse unless told otherwise.

use std::collections::{BTreeMap, BTreeSet};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::event::{Device, Event, EventKind, Shipment, MAX_FORM_TEXT_BYTES, MAX_SEALS};

/// How far a claimed time may run ahead of the recorded time (clock skew).
pub const CLAIMED_TIME_SKEW: time::Duration = time::Duration::minutes(5);

/// An actor's row in the `actors` index.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ActorRecord {
    /// Public key, lower-case hex.
    pub key: String,
    /// Key name.
    pub name: String,
    /// Role.
    pub role: Option<String>,
    /// Organisation.
    pub organisation: Option<String>,
    /// ISO 3166-1 alpha-2 jurisdiction.
    pub jurisdiction: Option<String>,
    /// The holder's full name, as the enrolling (or rotating) entry records it. Not kept in
    /// the `actors` index table.
    pub full_name: Option<String>,
    /// The event that enrolled the key.
    pub enrolled_seq: u64,
    /// Whether the key may still sign.
    pub status: ActorStatus,
}

/// Whether an actor's key may sign.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ActorStatus {
    /// The key may sign.
    Active,
    /// The key was replaced by `replaced_by` at `seq`.
    Rotated {
        /// The rotation event.
        seq: u64,
        /// The new key (hex).
        replaced_by: String,
    },
    /// The key was revoked at `seq`.
    Revoked {
        /// The revocation event.
        seq: u64,
    },
}

impl ActorStatus {
    /// `active`, `rotated` or `revoked`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ActorStatus::Active => "active",
            ActorStatus::Rotated { .. } => "rotated",
            ActorStatus::Revoked { .. } => "revoked",
        }
    }
}

/// A case's row in the `cases` index.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CaseRecord {
    /// Case reference.
    pub case: String,
    /// Title from `case-opened`.
    pub title: Option<String>,
    /// Legal authority from `case-opened`.
    pub legal_authority: Option<String>,
    /// The `case-opened` event, if there was one.
    pub opened_seq: Option<u64>,
    /// The first event naming the case.
    pub first_seq: u64,
}

/// Where an item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ItemCondition {
    /// In this ledger's custody (acquired, stored, checked in, received, returned).
    InCustody,
    /// Checked out to a holder.
    CheckedOut,
    /// Handed to another authority.
    Transferred,
    /// Destroyed.
    Destroyed,
}

impl ItemCondition {
    /// `in-custody`, `checked-out`, `transferred` or `destroyed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemCondition::InCustody => "in-custody",
            ItemCondition::CheckedOut => "checked-out",
            ItemCondition::Transferred => "transferred",
            ItemCondition::Destroyed => "destroyed",
        }
    }

    /// Parses [`ItemCondition::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        [
            ItemCondition::InCustody,
            ItemCondition::CheckedOut,
            ItemCondition::Transferred,
            ItemCondition::Destroyed,
        ]
        .into_iter()
        .find(|c| c.as_str() == name)
    }
}

/// An item's row in the `items` index.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ItemRecord {
    /// Item id.
    pub item: String,
    /// Case it was created under.
    pub case: Option<String>,
    /// The event that created it.
    pub created_seq: u64,
    /// `acquired`, `derived` or `received`.
    pub created_kind: EventKind,
    /// Claimed time of the creating event (nothing may claim to happen before it).
    pub acquired_time: String,
    /// Size, if the creating event carried evidence.
    pub size: Option<u64>,
    /// SHA-256 hex, if known.
    pub sha256: Option<String>,
    /// BLAKE3 hex, if known.
    pub blake3: Option<String>,
    /// Where it is.
    pub condition: ItemCondition,
    /// Who holds it: the check-out holder, or the recipient of a transfer.
    pub holder: Option<String>,
    /// The last event naming it (for a destroyed item: the destruction).
    pub last_seq: u64,
}

/// The index as it stands after a prefix of the entries (or the part of it a batch needs).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct State {
    /// Actors by key hex.
    pub actors: BTreeMap<String, ActorRecord>,
    /// Cases by reference.
    pub cases: BTreeMap<String, CaseRecord>,
    /// Items by id.
    pub items: BTreeMap<String, ItemRecord>,
    /// The previous entry's recorded time.
    pub last_recorded: Option<String>,
    /// How many actors are [`ActorStatus::Active`] (kept as entries are applied, so the
    /// last-active-actor rule costs nothing per entry).
    pub active_actors: u64,
    /// Items created by `received`, by id: their sender and the onward transfers it
    /// consented to (the onward-transfer rule).
    pub received: BTreeMap<String, ReceivedItem>,
}

/// What the onward-transfer rule needs to know of a received item.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReceivedItem {
    /// The sending authority (`from` of the `received` entry that created it).
    pub sender: Option<String>,
    /// The authorities the sender consented to (`to` of each `onward-transfer-authorised`).
    pub authorised: BTreeSet<String>,
}

/// The legal steps: each must name the legal authority it rests on.
pub fn is_legal_step(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::PreservationRequested
            | EventKind::PreservationExtended
            | EventKind::ProductionOrder
            | EventKind::MlaRequestSent
            | EventKind::MlaRequestReceived
            | EventKind::MlaExecuted
    )
}

/// Hand-overs: each must name its recipient (`to`).
pub fn needs_recipient(kind: EventKind) -> bool {
    matches!(kind, EventKind::Transferred | EventKind::Returned)
}

fn is_blank(value: Option<&str>) -> bool {
    value.is_none_or(|v| v.trim().is_empty())
}

pub(crate) fn parse_time(field: &'static str, value: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::parse(value, &Rfc3339).map_err(|_| StoreError::InvalidTime {
        field,
        value: value.to_owned(),
    })
}

/// Whether `text` is an Ed25519 public key as events carry it: 64 lower-case hex digits.
pub fn is_key_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn field_error(kind: EventKind, field: &'static str, reason: &'static str) -> StoreError {
    StoreError::InvalidField {
        kind,
        field,
        reason,
    }
}

impl State {
    /// Checks `event` (at its own `seq`) against the rules; nothing changes.
    pub fn check(&self, event: &Event) -> Result<(), StoreError> {
        let kind = event.kind;
        if (event.seq == 0) != (kind == EventKind::LedgerInitialised) {
            return Err(StoreError::OutOfPlace {
                kind,
                seq: event.seq,
            });
        }
        self.check_signer(event)?;
        let claimed = self.check_times(event)?;
        self.check_subject(event)?;
        self.check_items(event, claimed)?;
        self.check_conditions(event)?;
        check_form(event)?;
        self.check_hand_over(event)
    }

    /// The two-signature hand-over rule (the cosignature itself is checked with the
    /// signature, [`crate::event::SignedEvent::check_cosignature`]): an event naming
    /// `from_actor` or `to_actor` is a check-out, check-in or transfer of named items from
    /// its signer to another actor whose key is enrolled and active.
    fn check_hand_over(&self, event: &Event) -> Result<(), StoreError> {
        let kind = event.kind;
        let fields = &event.fields;
        if fields.from_actor.is_none() && fields.to_actor.is_none() {
            return Ok(());
        }
        if !matches!(
            kind,
            EventKind::CheckedOut | EventKind::CheckedIn | EventKind::Transferred
        ) {
            return Err(field_error(
                kind,
                "to_actor",
                "only checked-out, checked-in and transferred are two-signature hand-overs",
            ));
        }
        if fields.from_actor.as_deref() != Some(event.actor.as_str()) {
            return Err(field_error(
                kind,
                "from_actor",
                "must be the signer's key (the releasing actor)",
            ));
        }
        let to = fields
            .to_actor
            .as_deref()
            .ok_or_else(|| field_error(kind, "to_actor", "required with from_actor"))?;
        if !is_key_hex(to) {
            return Err(field_error(
                kind,
                "to_actor",
                "must be 64 lower-case hex digits",
            ));
        }
        if to == event.actor {
            return Err(field_error(
                kind,
                "to_actor",
                "must not be the releasing actor: a hand-over is between two people",
            ));
        }
        if fields.to.as_deref().is_some_and(|t| t != to) {
            return Err(field_error(
                kind,
                "to",
                "must be the receiving actor's key when to_actor is given",
            ));
        }
        if event.items.is_empty() {
            return Err(field_error(kind, "items", "a hand-over names its items"));
        }
        let receiver = self
            .actors
            .get(to)
            .ok_or_else(|| StoreError::UnknownCosigner { key: to.to_owned() })?;
        match receiver.status {
            ActorStatus::Active => Ok(()),
            ActorStatus::Revoked { seq } | ActorStatus::Rotated { seq, .. } => {
                Err(StoreError::InactiveCosigner {
                    key: to.to_owned(),
                    seq,
                })
            }
        }
    }

    /// The rules on conditions that travel with received evidence: required fields of
    /// `received` conditions, `onward-transfer-authorised`, `disclosed` and `destroyed`, and
    /// the onward-transfer rule: a received item goes (`sealed`, `transferred`) to its
    /// sender, or to an authority the sender consented to by an earlier entry.
    fn check_conditions(&self, event: &Event) -> Result<(), StoreError> {
        let kind = event.kind;
        let fields = &event.fields;
        let required = |value: &Option<String>, field| match value.as_deref() {
            Some(v) if !v.trim().is_empty() => Ok(()),
            _ => Err(field_error(kind, field, "required")),
        };
        if let Some(conditions) = &fields.conditions {
            if kind != EventKind::Received {
                return Err(field_error(kind, "conditions", "only on received"));
            }
            if let Some(date) = &conditions.retention_until {
                if crate::conditions::parse_date(date).is_none() {
                    return Err(field_error(
                        kind,
                        "conditions",
                        "retention_until must be a date YYYY-MM-DD",
                    ));
                }
            }
        }
        match kind {
            EventKind::OnwardTransferAuthorised => {
                required(&fields.from, "from")?;
                required(&fields.to, "to")?;
                required(&fields.legal_authority, "legal_authority")?;
                if event.items.is_empty() {
                    return Err(field_error(kind, "items", "at least one item required"));
                }
                for item in &event.items {
                    let received = self.received.get(item).ok_or_else(|| {
                        field_error(kind, "items", "only a received item needs consent")
                    })?;
                    // Consent binds only when it comes from the item's known sender: an item
                    // whose receipt named no sender has nobody who could give it.
                    if received.sender.is_none() || received.sender != fields.from {
                        return Err(StoreError::ConsentNotBySender {
                            item: item.clone(),
                            sender: received
                                .sender
                                .clone()
                                .unwrap_or_else(|| "(no sender recorded)".to_owned()),
                            from: fields.from.clone().unwrap_or_default(),
                        });
                    }
                }
            }
            EventKind::Disclosed => required(&fields.to, "to")?,
            EventKind::Destroyed => {
                required(&fields.method, "method")?;
                required(&fields.legal_authority, "legal_authority")?;
            }
            EventKind::Sealed | EventKind::Transferred => {
                for item in &event.items {
                    let Some(received) = self.received.get(item) else {
                        continue;
                    };
                    let to = fields.to.as_deref().unwrap_or_default();
                    let allowed =
                        received.sender.as_deref() == Some(to) || received.authorised.contains(to);
                    if !allowed {
                        return Err(StoreError::OnwardTransferNotAuthorised {
                            item: item.clone(),
                            to: to.to_owned(),
                            sender: received.sender.clone().unwrap_or_default(),
                        });
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn check_signer(&self, event: &Event) -> Result<(), StoreError> {
        let kind = event.kind;
        if kind == EventKind::LedgerInitialised {
            if event.fields.public_key.as_deref() != Some(event.actor.as_str()) {
                return Err(field_error(kind, "public_key", "must be the signer's key"));
            }
            if event.fields.actor_info.is_none() {
                return Err(field_error(kind, "actor_info", "required"));
            }
            return Ok(());
        }
        let actor = self
            .actors
            .get(&event.actor)
            .ok_or_else(|| StoreError::UnknownActor {
                key: event.actor.clone(),
            })?;
        match &actor.status {
            ActorStatus::Active => Ok(()),
            ActorStatus::Revoked { seq } => Err(StoreError::RevokedActor {
                key: event.actor.clone(),
                revoked_seq: *seq,
            }),
            ActorStatus::Rotated { seq, .. } => Err(StoreError::RotatedActor {
                key: event.actor.clone(),
                rotated_seq: *seq,
            }),
        }
    }

    fn check_times(&self, event: &Event) -> Result<OffsetDateTime, StoreError> {
        let recorded = parse_time("recorded_time", &event.recorded_time)?;
        if !event.recorded_time.ends_with('Z') {
            return Err(field_error(
                event.kind,
                "recorded_time",
                "must be UTC with Z",
            ));
        }
        let claimed = parse_time("claimed_time", &event.claimed_time)?;
        if let Some(last) = &self.last_recorded {
            if parse_time("recorded_time", last)? > recorded {
                return Err(StoreError::ClockWentBackwards {
                    last: last.clone(),
                    now: event.recorded_time.clone(),
                });
            }
        }
        // The latest claim allowed; at the end of the calendar nothing lies beyond it
        // (checked arithmetic: a recorded time read from a ledger row may be year 9999).
        let in_future = recorded
            .checked_add(CLAIMED_TIME_SKEW)
            .is_some_and(|limit| claimed > limit);
        if in_future {
            return Err(StoreError::ClaimedInFuture {
                claimed: event.claimed_time.clone(),
                recorded: event.recorded_time.clone(),
            });
        }
        Ok(claimed)
    }

    /// Rules about the actor or case an event is about.
    fn check_subject(&self, event: &Event) -> Result<(), StoreError> {
        let kind = event.kind;
        let subject = event.fields.public_key.as_deref();
        match kind {
            EventKind::ActorEnrolled | EventKind::KeyRotated => {
                let key = subject.ok_or_else(|| field_error(kind, "public_key", "required"))?;
                if !is_key_hex(key) {
                    return Err(field_error(
                        kind,
                        "public_key",
                        "must be 64 lower-case hex digits",
                    ));
                }
                if kind == EventKind::ActorEnrolled && event.fields.actor_info.is_none() {
                    return Err(field_error(kind, "actor_info", "required"));
                }
                if self.actors.contains_key(key) {
                    return Err(StoreError::DuplicateActor {
                        key: key.to_owned(),
                    });
                }
            }
            EventKind::KeyRevoked => {
                let key = subject.ok_or_else(|| field_error(kind, "public_key", "required"))?;
                let target = self
                    .actors
                    .get(key)
                    .ok_or_else(|| StoreError::UnknownActor {
                        key: key.to_owned(),
                    })?;
                if target.status != ActorStatus::Active {
                    return Err(field_error(kind, "public_key", "key is no longer active"));
                }
                if self.active_actors <= 1 {
                    return Err(StoreError::LastActiveActor {
                        key: key.to_owned(),
                    });
                }
            }
            EventKind::CaseOpened => {
                let case = event
                    .case
                    .as_deref()
                    .ok_or_else(|| field_error(kind, "case", "required"))?;
                if self.cases.get(case).is_some_and(|c| c.opened_seq.is_some()) {
                    return Err(StoreError::DuplicateCase {
                        case: case.to_owned(),
                    });
                }
            }
            EventKind::Acquired => {
                let case = event
                    .case
                    .as_deref()
                    .ok_or_else(|| field_error(kind, "case", "required"))?;
                if self.cases.get(case).is_none_or(|c| c.opened_seq.is_none()) {
                    return Err(StoreError::CaseNotOpened {
                        case: case.to_owned(),
                    });
                }
            }
            _ => {}
        }
        if needs_recipient(kind) && is_blank(event.fields.to.as_deref()) {
            return Err(StoreError::MissingRecipient { kind });
        }
        if is_legal_step(kind) && is_blank(event.fields.legal_authority.as_deref()) {
            return Err(StoreError::MissingAuthority { kind });
        }
        if let Some(case) = &event.case {
            if case.is_empty() {
                return Err(field_error(kind, "case", "must not be empty"));
            }
        }
        Ok(())
    }

    fn check_items(&self, event: &Event, claimed: OffsetDateTime) -> Result<(), StoreError> {
        let kind = event.kind;
        if kind.creates_items() && event.items.is_empty() {
            return Err(field_error(kind, "items", "at least one item required"));
        }
        for (i, item) in event.items.iter().enumerate() {
            if item.is_empty() {
                return Err(field_error(kind, "items", "item ids must not be empty"));
            }
            if event.items[..i].contains(item) {
                return Err(field_error(kind, "items", "item listed twice"));
            }
        }
        if kind == EventKind::Derived {
            let parent = event
                .fields
                .parent
                .as_deref()
                .ok_or_else(|| field_error(kind, "parent", "required"))?;
            let record = self.existing_item(parent)?;
            check_same_case(event, record)?;
            self.check_claimed_after(record, &event.claimed_time, claimed)?;
            if record.condition == ItemCondition::Destroyed {
                return Err(StoreError::ItemDestroyed {
                    item: parent.to_owned(),
                    destroyed_seq: record.last_seq,
                });
            }
        }
        for item in &event.items {
            let Some(record) = self.items.get(item) else {
                if kind.creates_items() {
                    continue;
                }
                return Err(StoreError::ItemNotAcquired { item: item.clone() });
            };
            if matches!(kind, EventKind::Acquired | EventKind::Derived) {
                return Err(StoreError::DuplicateItem {
                    item: item.clone(),
                    created_seq: record.created_seq,
                });
            }
            if record.condition == ItemCondition::Destroyed && kind != EventKind::Note {
                return Err(StoreError::ItemDestroyed {
                    item: item.clone(),
                    destroyed_seq: record.last_seq,
                });
            }
            check_same_case(event, record)?;
            self.check_claimed_after(record, &event.claimed_time, claimed)?;
            check_transition(kind, record)?;
        }
        Ok(())
    }

    fn existing_item(&self, item: &str) -> Result<&ItemRecord, StoreError> {
        self.items
            .get(item)
            .ok_or_else(|| StoreError::ItemNotAcquired {
                item: item.to_owned(),
            })
    }

    fn check_claimed_after(
        &self,
        record: &ItemRecord,
        claimed_text: &str,
        claimed: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let acquired = parse_time("claimed_time", &record.acquired_time)?;
        if claimed < acquired {
            return Err(StoreError::BackDated {
                item: record.item.clone(),
                claimed: claimed_text.to_owned(),
                acquired: record.acquired_time.clone(),
            });
        }
        Ok(())
    }

    /// Records `event` in the index. Applies even an event that breaks the rules (`verify`
    /// and `reindex` must describe the entries as they are).
    pub fn apply(&mut self, event: &Event) {
        let seq = event.seq;
        self.last_recorded = Some(event.recorded_time.clone());
        self.apply_actor(event);
        if let Some(case) = &event.case {
            let record = self
                .cases
                .entry(case.clone())
                .or_insert_with(|| CaseRecord {
                    case: case.clone(),
                    title: None,
                    legal_authority: None,
                    opened_seq: None,
                    first_seq: seq,
                });
            if event.kind == EventKind::CaseOpened && record.opened_seq.is_none() {
                record.opened_seq = Some(seq);
                record.title = event.fields.title.clone();
                record.legal_authority = event.fields.legal_authority.clone();
            }
        }
        for item in &event.items {
            self.apply_item(event, item);
            self.apply_received(event, item);
        }
    }

    fn apply_received(&mut self, event: &Event, item: &str) {
        match event.kind {
            EventKind::Received
                if self
                    .items
                    .get(item)
                    .is_some_and(|r| r.created_seq == event.seq) =>
            {
                self.received.insert(
                    item.to_owned(),
                    ReceivedItem {
                        sender: event.fields.from.clone(),
                        authorised: BTreeSet::new(),
                    },
                );
            }
            EventKind::OnwardTransferAuthorised => {
                if let (Some(received), Some(to)) =
                    (self.received.get_mut(item), event.fields.to.as_ref())
                {
                    received.authorised.insert(to.clone());
                }
            }
            _ => {}
        }
    }

    fn apply_actor(&mut self, event: &Event) {
        let seq = event.seq;
        let fields = &event.fields;
        let Some(key) = fields.public_key.clone() else {
            return;
        };
        match event.kind {
            EventKind::LedgerInitialised | EventKind::ActorEnrolled => {
                if let Some(info) = &fields.actor_info {
                    if let std::collections::btree_map::Entry::Vacant(slot) =
                        self.actors.entry(key.clone())
                    {
                        slot.insert(ActorRecord {
                            key,
                            name: info.name.clone(),
                            role: info.role.clone(),
                            organisation: info.organisation.clone(),
                            jurisdiction: info.jurisdiction.clone(),
                            full_name: info.full_name.clone(),
                            enrolled_seq: seq,
                            status: ActorStatus::Active,
                        });
                        self.active_actors = self.active_actors.saturating_add(1);
                    }
                }
            }
            EventKind::KeyRotated => {
                let Some(old) = self.actors.get_mut(&event.actor) else {
                    return;
                };
                if old.status == ActorStatus::Active {
                    self.active_actors = self.active_actors.saturating_sub(1);
                }
                old.status = ActorStatus::Rotated {
                    seq,
                    replaced_by: key.clone(),
                };
                let mut new = old.clone();
                if let Some(info) = &fields.actor_info {
                    new.name = info.name.clone();
                    new.role = info.role.clone();
                    new.organisation = info.organisation.clone();
                    new.jurisdiction = info.jurisdiction.clone();
                    new.full_name = info.full_name.clone();
                }
                new.key = key.clone();
                new.enrolled_seq = seq;
                new.status = ActorStatus::Active;
                if let std::collections::btree_map::Entry::Vacant(slot) = self.actors.entry(key) {
                    slot.insert(new);
                    self.active_actors = self.active_actors.saturating_add(1);
                }
            }
            EventKind::KeyRevoked => {
                if let Some(target) = self.actors.get_mut(&key) {
                    if target.status == ActorStatus::Active {
                        target.status = ActorStatus::Revoked { seq };
                        self.active_actors = self.active_actors.saturating_sub(1);
                    }
                }
            }
            _ => {}
        }
    }

    fn apply_item(&mut self, event: &Event, item: &str) {
        let seq = event.seq;
        let kind = event.kind;
        let record = self
            .items
            .entry(item.to_owned())
            .or_insert_with(|| ItemRecord {
                item: item.to_owned(),
                case: event.case.clone(),
                created_seq: seq,
                created_kind: kind,
                acquired_time: event.claimed_time.clone(),
                size: None,
                sha256: None,
                blake3: None,
                condition: ItemCondition::InCustody,
                holder: None,
                last_seq: seq,
            });
        if record.condition == ItemCondition::Destroyed {
            // A destroyed item keeps pointing at its destruction; later notes are in its history.
            return;
        }
        record.last_seq = seq;
        if record.created_seq == seq && event.items.len() == 1 {
            if let Some(evidence) = &event.fields.evidence {
                record.size = Some(evidence.size);
                record.sha256 = Some(custody_core::hex::encode(&evidence.sha256));
                record.blake3 = Some(custody_core::hex::encode(&evidence.blake3));
            }
        }
        match kind {
            EventKind::CheckedOut => {
                record.condition = ItemCondition::CheckedOut;
                record.holder = Some(
                    event
                        .fields
                        .to
                        .clone()
                        .unwrap_or_else(|| event.actor.clone()),
                );
            }
            EventKind::CheckedIn
            | EventKind::Stored
            | EventKind::Received
            | EventKind::Returned => {
                record.condition = ItemCondition::InCustody;
                record.holder = None;
            }
            EventKind::Transferred => {
                record.condition = ItemCondition::Transferred;
                record.holder = event.fields.to.clone();
            }
            EventKind::Destroyed => {
                record.condition = ItemCondition::Destroyed;
                record.holder = None;
            }
            _ => {}
        }
    }
}

/// The custody-form fields are bounded and say something: no empty text, none longer than
/// [`MAX_FORM_TEXT_BYTES`], at most [`MAX_SEALS`] seals, no empty device or shipment.
fn check_form(event: &Event) -> Result<(), StoreError> {
    let kind = event.kind;
    let fields = &event.fields;
    for (name, text) in fields.form_texts() {
        if text.is_empty() {
            return Err(field_error(kind, name, "must not be empty"));
        }
        if text.len() > MAX_FORM_TEXT_BYTES {
            return Err(field_error(kind, name, "longer than 4096 bytes"));
        }
    }
    match fields.seals.as_ref().map(Vec::len) {
        Some(0) => return Err(field_error(kind, "seals", "must list at least one seal")),
        Some(n) if n > MAX_SEALS => return Err(field_error(kind, "seals", "more than 64 seals")),
        _ => {}
    }
    if fields.device.as_ref() == Some(&Device::default()) {
        return Err(field_error(
            kind,
            "device",
            "must name a make, model or serial number",
        ));
    }
    if fields.shipment.as_ref() == Some(&Shipment::default()) {
        return Err(field_error(
            kind,
            "shipment",
            "must name a carrier or tracking number",
        ));
    }
    Ok(())
}

const _: () = assert!(
    MAX_FORM_TEXT_BYTES == 4096 && MAX_SEALS == 64,
    "check_form's messages spell the limits"
);

/// An event that names a case must name the case of every existing item it is about.
fn check_same_case(event: &Event, record: &ItemRecord) -> Result<(), StoreError> {
    match (&event.case, &record.case) {
        (Some(event_case), Some(item_case)) if event_case != item_case => {
            Err(StoreError::WrongCase {
                item: record.item.clone(),
                item_case: item_case.clone(),
                event_case: event_case.clone(),
            })
        }
        _ => Ok(()),
    }
}

/// Rules on an existing item's condition for a given event kind.
fn check_transition(kind: EventKind, record: &ItemRecord) -> Result<(), StoreError> {
    let refuse = || StoreError::WrongItemState {
        item: record.item.clone(),
        state: record.condition.as_str(),
        kind,
    };
    match kind {
        EventKind::CheckedOut => match record.condition {
            ItemCondition::InCustody => Ok(()),
            ItemCondition::CheckedOut => Err(StoreError::AlreadyCheckedOut {
                item: record.item.clone(),
                holder: record.holder.clone().unwrap_or_default(),
            }),
            _ => Err(refuse()),
        },
        EventKind::CheckedIn if record.condition != ItemCondition::CheckedOut => Err(refuse()),
        EventKind::Stored if record.condition == ItemCondition::CheckedOut => Err(refuse()),
        _ => Ok(()),
    }
}

/// The items an event belongs to the history of: its items, and a derived item's parent.
pub fn history_items(event: &Event) -> Vec<&str> {
    let mut out: Vec<&str> = event.items.iter().map(String::as_str).collect();
    if event.kind == EventKind::Derived {
        if let Some(parent) = event.fields.parent.as_deref() {
            if !out.contains(&parent) {
                out.push(parent);
            }
        }
    }
    out
}

/// Evidence about to be acquired that the ledger (or the same acquisition) already holds as
/// another item: the same size, SHA-256 and BLAKE3.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{source_path} holds the same bytes as item {earlier} (size {size}, SHA-256 {sha256}){}; acquiring it again would record the same evidence as a second item", seq_text(*earlier_seq))]
pub struct AlreadyAcquired {
    /// The item id the new acquisition would get.
    pub item: String,
    /// The path as given for the new acquisition.
    pub source_path: String,
    /// The item that already holds these bytes.
    pub earlier: String,
    /// The entry that created `earlier` (`None` when it is earlier in the same acquisition).
    pub earlier_seq: Option<u64>,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

fn seq_text(seq: Option<u64>) -> String {
    match seq {
        Some(seq) => format!(", created at seq {seq}"),
        None => ", in this same acquisition".to_owned(),
    }
}

/// Every draft among `drafts` that would create an item with evidence the ledger already
/// holds (as seen by `view`, the verified state), or that an earlier draft of the same batch
/// already carries. Empty when every acquisition is new.
pub fn already_acquired(
    view: &crate::LedgerView<'_>,
    drafts: &[crate::EventDraft],
) -> Vec<AlreadyAcquired> {
    let mut found = Vec::new();
    let mut batch: std::collections::HashMap<custody_core::hash::Digests, &str> =
        std::collections::HashMap::new();
    for draft in drafts {
        let (Some(evidence), [item]) = (&draft.fields.evidence, draft.items.as_slice()) else {
            continue;
        };
        if !draft.kind.creates_items() {
            continue;
        }
        let digests = evidence.digests();
        let earlier = match view.item_with_digests(&digests) {
            Some(record) => Some((record.item.clone(), Some(record.created_seq))),
            None => batch.get(&digests).map(|i| ((*i).to_owned(), None)),
        };
        if let Some((earlier, earlier_seq)) = earlier {
            found.push(AlreadyAcquired {
                item: item.clone(),
                source_path: evidence.source_path.clone(),
                earlier,
                earlier_seq,
                size: digests.size,
                sha256: digests.sha256_hex(),
            });
        }
        batch.entry(digests).or_insert(item);
    }
    found
}
