//! The index tables (`actors`, `cases`, `items`, `item_events`, `case_events`): a
//! convenience for people who query the ledger file with SQL. They are written with every
//! append and rebuilt by `reindex`; `verify` compares them with the entries; no decision
//! reads them (see [`crate::truth`]).

use rusqlite::{params, Connection, Row};

use crate::error::StoreError;
use crate::event::EventKind;
use crate::rules::{ActorRecord, ActorStatus, CaseRecord, ItemCondition, ItemRecord, State};

pub(crate) const ACTOR_COLUMNS: &str =
    "key, name, role, organisation, jurisdiction, enrolled_seq, status, status_seq, replaced_by";
pub(crate) const CASE_COLUMNS: &str = "case_ref, title, legal_authority, opened_seq, first_seq";
pub(crate) const ITEM_COLUMNS: &str =
    "item, case_ref, created_seq, created_kind, acquired_time, size, \
     sha256, blake3, state, holder, last_seq";

/// A row that came back from SQL, not yet checked.
type RowResult<T> = Result<Result<T, StoreError>, rusqlite::Error>;

/// An `actors` row as read, in any database.
pub(crate) struct ActorValues {
    pub(crate) key: String,
    pub(crate) name: String,
    pub(crate) role: Option<String>,
    pub(crate) organisation: Option<String>,
    pub(crate) jurisdiction: Option<String>,
    pub(crate) enrolled_seq: u64,
    pub(crate) status: String,
    pub(crate) status_seq: Option<u64>,
    pub(crate) replaced_by: Option<String>,
}

/// The actor an `actors` row describes, or `CorruptIndex`.
pub(crate) fn actor_from_values(row: ActorValues) -> Result<ActorRecord, StoreError> {
    let status = match (row.status.as_str(), row.status_seq, row.replaced_by) {
        ("active", None, None) => ActorStatus::Active,
        ("revoked", Some(seq), None) => ActorStatus::Revoked { seq },
        ("rotated", Some(seq), Some(replaced_by)) => ActorStatus::Rotated { seq, replaced_by },
        _ => {
            return Err(StoreError::CorruptIndex {
                table: "actors",
                key: row.key,
            })
        }
    };
    Ok(ActorRecord {
        key: row.key,
        name: row.name,
        role: row.role,
        organisation: row.organisation,
        jurisdiction: row.jurisdiction,
        // Not in the index (schema 1); see `crate::truth` for the actors' full names.
        full_name: None,
        enrolled_seq: row.enrolled_seq,
        status,
    })
}

fn actor_from_row(row: &Row<'_>) -> RowResult<ActorRecord> {
    Ok(actor_from_values(ActorValues {
        key: row.get(0)?,
        name: row.get(1)?,
        role: row.get(2)?,
        organisation: row.get(3)?,
        jurisdiction: row.get(4)?,
        enrolled_seq: row.get(5)?,
        status: row.get(6)?,
        status_seq: row.get(7)?,
        replaced_by: row.get(8)?,
    }))
}

fn case_from_row(row: &Row<'_>) -> RowResult<CaseRecord> {
    Ok(Ok(CaseRecord {
        case: row.get(0)?,
        title: row.get(1)?,
        legal_authority: row.get(2)?,
        opened_seq: row.get(3)?,
        first_seq: row.get(4)?,
    }))
}

/// An `items` row as read, in any database.
pub(crate) struct ItemValues {
    pub(crate) item: String,
    pub(crate) case: Option<String>,
    pub(crate) created_seq: u64,
    pub(crate) created_kind: String,
    pub(crate) acquired_time: String,
    pub(crate) size: Option<u64>,
    pub(crate) sha256: Option<String>,
    pub(crate) blake3: Option<String>,
    pub(crate) state: String,
    pub(crate) holder: Option<String>,
    pub(crate) last_seq: u64,
}

/// The item an `items` row describes, or `CorruptIndex`.
pub(crate) fn item_from_values(row: ItemValues) -> Result<ItemRecord, StoreError> {
    let (Some(created_kind), Some(condition)) = (
        EventKind::from_name(&row.created_kind),
        ItemCondition::from_name(&row.state),
    ) else {
        return Err(StoreError::CorruptIndex {
            table: "items",
            key: row.item,
        });
    };
    Ok(ItemRecord {
        item: row.item,
        case: row.case,
        created_seq: row.created_seq,
        created_kind,
        acquired_time: row.acquired_time,
        size: row.size,
        sha256: row.sha256,
        blake3: row.blake3,
        condition,
        holder: row.holder,
        last_seq: row.last_seq,
    })
}

fn item_from_row(row: &Row<'_>) -> RowResult<ItemRecord> {
    Ok(item_from_values(ItemValues {
        item: row.get(0)?,
        case: row.get(1)?,
        created_seq: row.get(2)?,
        created_kind: row.get(3)?,
        acquired_time: row.get(4)?,
        size: row.get(5)?,
        sha256: row.get(6)?,
        blake3: row.get(7)?,
        state: row.get(8)?,
        holder: row.get(9)?,
        last_seq: row.get(10)?,
    }))
}

fn collect<T>(
    conn: &Connection,
    sql: &str,
    map: fn(&Row<'_>) -> RowResult<T>,
) -> Result<Result<Vec<T>, StoreError>, rusqlite::Error> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], map)?;
    let mut out = Vec::new();
    for row in rows {
        match row? {
            Ok(record) => out.push(record),
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(out))
}

/// Every actor, by key.
pub(crate) fn all_actors(
    conn: &Connection,
) -> Result<Result<Vec<ActorRecord>, StoreError>, rusqlite::Error> {
    collect(
        conn,
        &format!("SELECT {ACTOR_COLUMNS} FROM actors ORDER BY key"),
        actor_from_row,
    )
}

/// Every case, by reference.
pub(crate) fn all_cases(
    conn: &Connection,
) -> Result<Result<Vec<CaseRecord>, StoreError>, rusqlite::Error> {
    collect(
        conn,
        &format!("SELECT {CASE_COLUMNS} FROM cases ORDER BY case_ref"),
        case_from_row,
    )
}

/// Every item, by id.
pub(crate) fn all_items(
    conn: &Connection,
) -> Result<Result<Vec<ItemRecord>, StoreError>, rusqlite::Error> {
    collect(
        conn,
        &format!("SELECT {ITEM_COLUMNS} FROM items ORDER BY item"),
        item_from_row,
    )
}

/// `(key, seq)` pairs of an event-list table, in primary-key order.
pub(crate) fn event_links(
    conn: &Connection,
    table: &str,
) -> Result<Vec<(String, u64)>, rusqlite::Error> {
    let key = if table == "item_events" {
        "item"
    } else {
        "case_ref"
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT {key}, seq FROM {table} ORDER BY {key}, seq"
    ))?;
    let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    rows.collect()
}

/// Writes every row of `state` (insert or replace).
pub(crate) fn write_state(conn: &Connection, state: &State) -> Result<(), rusqlite::Error> {
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO actors ({ACTOR_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))?;
    for a in state.actors.values() {
        let (status_seq, replaced_by) = match &a.status {
            ActorStatus::Active => (None, None),
            ActorStatus::Revoked { seq } => (Some(*seq), None),
            ActorStatus::Rotated { seq, replaced_by } => (Some(*seq), Some(replaced_by.as_str())),
        };
        stmt.execute(params![
            a.key,
            a.name,
            a.role,
            a.organisation,
            a.jurisdiction,
            a.enrolled_seq,
            a.status.as_str(),
            status_seq,
            replaced_by
        ])?;
    }
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO cases ({CASE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"
    ))?;
    for c in state.cases.values() {
        stmt.execute(params![
            c.case,
            c.title,
            c.legal_authority,
            c.opened_seq,
            c.first_seq
        ])?;
    }
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO items ({ITEM_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))?;
    for i in state.items.values() {
        stmt.execute(params![
            i.item,
            i.case,
            i.created_seq,
            i.created_kind.as_str(),
            i.acquired_time,
            i.size,
            i.sha256,
            i.blake3,
            i.condition.as_str(),
            i.holder,
            i.last_seq
        ])?;
    }
    Ok(())
}

/// Records which item and case histories an event belongs to.
pub(crate) fn link_event(
    conn: &Connection,
    seq: u64,
    items: &[&str],
    case: Option<&str>,
) -> Result<(), rusqlite::Error> {
    let mut stmt =
        conn.prepare_cached("INSERT OR IGNORE INTO item_events (item, seq) VALUES (?1, ?2)")?;
    for item in items {
        stmt.execute(params![item, seq])?;
    }
    if let Some(case) = case {
        conn.prepare_cached("INSERT OR IGNORE INTO case_events (case_ref, seq) VALUES (?1, ?2)")?
            .execute(params![case, seq])?;
    }
    Ok(())
}

/// Empties every index table (before a rebuild).
pub(crate) fn clear(conn: &Connection) -> Result<(), rusqlite::Error> {
    conn.execute_batch(
        "DELETE FROM actors; DELETE FROM cases; DELETE FROM items; \
         DELETE FROM item_events; DELETE FROM case_events;",
    )
}
