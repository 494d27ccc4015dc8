//! Shared fixtures for the ledger tests: fixed identities and a small case.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use custody_core::keys::{ActorInfo, Identity};
use custody_store::{EventDraft, EventFields, EventKind, Evidence, Ledger};
use rusqlite::Connection;

pub mod pg;
pub mod raw;

pub use raw::{v, RawDb};

/// Where a test's ledger lives: a SQLite file in a temporary directory, or a fresh
/// database on a throw-away PostgreSQL cluster.
pub enum Backend<'a> {
    Sqlite,
    Postgres(&'a pg::PgCluster),
}

impl Backend<'_> {
    /// A new ledger location (nothing there yet): `dir/custody.db`, or a fresh database's
    /// URL.
    pub fn location(&self, dir: &Path) -> PathBuf {
        match self {
            Backend::Sqlite => dir.join("custody.db"),
            Backend::Postgres(cluster) => PathBuf::from(cluster.fresh_database()),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgresql",
        }
    }
}

/// A ledger with the test's first actor, on `backend`.
pub fn new_ledger_on(backend: &Backend<'_>) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = backend.location(dir.path());
    let ledger = Ledger::init(&path, ORIGIN, &investigator(), &log_key()).expect("init");
    Fixture { dir, path, ledger }
}

pub const ORIGIN: &str = "ledger.example.fr/custody/test";
pub const T0: &str = "2026-03-01T09:00:00+01:00";

pub fn identity(name: &str, seed: u8) -> Identity {
    Identity::from_seed(
        ActorInfo {
            name: name.to_owned(),
            role: Some("investigator".to_owned()),
            organisation: Some("Police judiciaire".to_owned()),
            jurisdiction: Some("FR".to_owned()),
            full_name: None,
        },
        [seed; 32],
    )
    .expect("fixed seed")
}

pub fn investigator() -> Identity {
    identity("alice", 1)
}

pub fn officer() -> Identity {
    identity("bob", 2)
}

pub fn log_key() -> Identity {
    identity("ledger.example.fr", 9)
}

pub fn key_hex(id: &Identity) -> String {
    custody_core::hex::encode(&id.public_key().to_bytes())
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub ledger: Ledger,
}

/// The environment variable naming a PostgreSQL database URL on a throw-away cluster
/// (`scripts/test-postgres.sh` sets it): when set, [`new_ledger`] (and so [`populated`])
/// makes each ledger in a fresh database there instead of a SQLite file.
pub const TEST_POSTGRES_ENV: &str = "CUSTODY_TEST_POSTGRES";

/// Whether this ledger location is a PostgreSQL URL.
pub fn is_postgres(path: &Path) -> bool {
    path.to_str()
        .is_some_and(|p| p.starts_with("postgresql://") || p.starts_with("postgres://"))
}

/// A fresh database on the cluster whose `postgres` database `admin` names.
fn fresh_database(admin: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("ledger_{}_{n}", std::process::id());
    let mut client = postgres::Client::connect(admin, postgres::NoTls).expect("test cluster");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    let (base, _) = admin.rsplit_once('/').expect("URL with a database");
    PathBuf::from(format!("{base}/{name}"))
}

/// Where a test's new ledger goes: a fresh database when [`TEST_POSTGRES_ENV`] is set,
/// else `dir/custody.db`.
pub fn test_location(dir: &Path) -> PathBuf {
    match std::env::var(TEST_POSTGRES_ENV) {
        Ok(admin) => fresh_database(&admin),
        Err(_) => dir.join("custody.db"),
    }
}

pub fn new_ledger() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = test_location(dir.path());
    let ledger = Ledger::init(&path, ORIGIN, &investigator(), &log_key()).expect("init");
    Fixture { dir, path, ledger }
}

pub fn open(path: &Path) -> Ledger {
    Ledger::open(path).expect("open")
}

pub fn enrol(id: &Identity) -> EventDraft {
    EventDraft::new(EventKind::ActorEnrolled, T0).fields(EventFields {
        public_key: Some(key_hex(id)),
        actor_info: Some(id.info().clone()),
        ..EventFields::default()
    })
}

pub fn open_case(case: &str) -> EventDraft {
    EventDraft::new(EventKind::CaseOpened, T0)
        .case(case)
        .fields(EventFields {
            title: Some("Fraude".to_owned()),
            ..EventFields::default()
        })
}

pub fn acquire(case: &str, item: &str, claimed: &str) -> EventDraft {
    EventDraft::new(EventKind::Acquired, claimed)
        .case(case)
        .item(item)
        .fields(EventFields {
            evidence: Some(Evidence {
                size: 3,
                sha256: [0x11; 32],
                blake3: [0x22; 32],
                source_path: format!("{item}.img"),
                files: None,
            }),
            place: Some("Lyon".to_owned()),
            ..EventFields::default()
        })
}

pub fn on_item(kind: EventKind, case: &str, item: &str, claimed: &str) -> EventDraft {
    EventDraft::new(kind, claimed).case(case).item(item)
}

/// `destroyed` of `item`, with the method and authority the rules require.
pub fn destroy(case: &str, item: &str, claimed: &str) -> EventDraft {
    let mut draft = on_item(EventKind::Destroyed, case, item, claimed);
    draft.fields.method = Some("shredded".into());
    draft.fields.legal_authority = Some("order 1".into());
    draft
}

/// A ledger with an enrolled officer, a case and `items` acquired items `E1..`.
pub fn populated(items: usize) -> Fixture {
    let mut f = new_ledger();
    let (alice, log) = (investigator(), log_key());
    f.ledger
        .append(enrol(&officer()), &alice, &log)
        .expect("enrol");
    f.ledger
        .append(open_case("C-1"), &alice, &log)
        .expect("case");
    for i in 1..=items {
        f.ledger
            .append(acquire("C-1", &format!("E{i}"), T0), &alice, &log)
            .expect("acquire");
    }
    f
}

/// Every checkpoint note this ledger has signed so far, newest.
pub fn latest_note(ledger: &Ledger) -> String {
    ledger.latest_checkpoint().expect("checkpoint").1
}

/// Opens the ledger file directly and removes the triggers, as an attacker with file access would.
pub fn raw(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS entries_no_update; DROP TRIGGER IF EXISTS entries_no_delete;",
    )
    .unwrap();
    conn
}

/// Cuts the ledger back to `keep` entries, removing every trace of the rest: entries, tree
/// nodes and checkpoints beyond it (on either store).
pub fn truncate(path: &Path, keep: u64) {
    let db = RawDb::open(path);
    db.execute("DELETE FROM entries WHERE seq >= ?1", &[v(keep)]);
    db.execute("DELETE FROM checkpoints WHERE size > ?1", &[v(keep)]);
    db.execute(
        "DELETE FROM nodes WHERE ((idx + 1) << level) > ?1",
        &[v(keep)],
    );
    db.execute("DELETE FROM item_events WHERE seq >= ?1", &[v(keep)]);
    db.execute("DELETE FROM case_events WHERE seq >= ?1", &[v(keep)]);
    drop(db);
    let mut ledger = open(path);
    ledger.reindex().unwrap();
}

pub fn signer_for(actor: &str) -> Identity {
    [investigator(), officer()]
        .into_iter()
        .find(|id| key_hex(id) == actor)
        .expect("known actor")
}

/// Someone holding the log key and the actors' keys replays the ledger without one event:
/// every entry re-signed, every checkpoint re-made, the file replaced.
pub fn rewrite_without(path: &Path, dropped: u64) {
    let old = open(path);
    let size = old.size().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let forged_path = if is_postgres(path) {
        fresh_database(path.to_str().unwrap())
    } else {
        dir.path().join("forged.db")
    };
    let mut forged = Ledger::init(&forged_path, ORIGIN, &investigator(), &log_key()).unwrap();
    for seq in 1..size {
        if seq == dropped {
            continue;
        }
        let event = old.entry(seq).unwrap().signed.event;
        let draft = EventDraft {
            kind: event.kind,
            case: event.case,
            items: event.items,
            claimed_time: event.claimed_time,
            fields: event.fields,
        };
        forged
            .append(draft, &signer_for(&event.actor), &log_key())
            .unwrap();
    }
    drop((old, forged));
    if is_postgres(path) {
        // The database's rows replaced by the forged ones, the index rebuilt from them.
        let (from, to) = (RawDb::open(&forged_path), RawDb::open(path));
        for table in ["entries", "nodes", "checkpoints"] {
            to.execute(&format!("DELETE FROM {table}"), &[]);
            for row in from.query(&format!("SELECT * FROM {table}"), &[]) {
                let marks: Vec<String> = (1..=row.len()).map(|i| format!("?{i}")).collect();
                to.execute(
                    &format!("INSERT INTO {table} VALUES ({})", marks.join(", ")),
                    &row,
                );
            }
        }
        drop((from, to));
        open(path).reindex().unwrap();
        return;
    }
    for suffix in ["-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    // Fold the forged WAL into the main file before copying it over the original.
    Connection::open(&forged_path)
        .unwrap()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    std::fs::copy(&forged_path, path).unwrap();
}

/// Inserts with raw SQL, at seq `size` (the ledger's size), a copy of entry 3 turned into a
/// `destroyed` of item E1 and signed by `forger`, a key the ledger never enrolled: a
/// well-formed, validly signed entry that no checkpoint covers.
pub fn insert_forged_entry(fixture: &Fixture, size: u64, forger: &Identity) {
    let mut event = fixture.ledger.entry(3).unwrap().signed.event;
    event.seq = size;
    event.items = vec!["E1".into()];
    event.kind = EventKind::Destroyed;
    insert_signed_entry(&fixture.path, event, forger);
}

/// Inserts `event`, signed by `signer` as its actor, with raw SQL at its seq: what someone
/// holding an actor key can write past the append path.
pub fn insert_signed_entry(path: &Path, mut event: custody_store::Event, signer: &Identity) {
    use custody_core::{canonical, merkle, sign};
    event.actor = key_hex(signer);
    let canonical_event = canonical::to_canonical_vec(&event).unwrap();
    let signature = sign::signature_to_hex(&sign::sign_canonical(
        signer,
        sign::CONTEXT_EVENT,
        &canonical_event,
    ));
    let seq = event.seq;
    let signed = custody_store::SignedEvent {
        event,
        signature,
        cosignature: None,
    };
    let bytes = canonical::to_canonical_vec(&signed).unwrap();
    RawDb::open(path).execute(
        "INSERT INTO entries (seq, entry, leaf_hash) VALUES (?1, ?2, ?3)",
        &[v(seq), v(&bytes), v(&merkle::leaf_hash(&bytes))],
    );
}

/// Replaces every `from` by `to` in the entry at `seq` with raw SQL (leaf hash left as it
/// was), on either store: an attacker editing an entry in place.
pub fn replace_in_entry(path: &Path, seq: u64, from: &str, to: &str) {
    let db = RawDb::open(path);
    let text = db
        .one("SELECT entry FROM entries WHERE seq = ?1", &[v(seq)])
        .text();
    assert!(text.contains(from), "entry {seq} holds no {from:?}");
    db.execute(
        "UPDATE entries SET entry = ?1 WHERE seq = ?2",
        &[v(text.replace(from, to).into_bytes()), v(seq)],
    );
}
