//! `custody serve` accepting appends over HTTP from actors who sign their own events
//! (`custody event … --server URL`, `GET /custody/next`, `POST /custody/append`), the
//! attacks on that endpoint, many appenders at once with the server killed mid-run, and
//! checkpoints submitted to a `custody witness`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use custody_core::canonical;
use custody_core::keys::Identity;
use custody_store::submit::NextPosition;
use custody_store::{EventDraft, EventFields, EventKind, Ledger, SignedEvent};

use crate::harness::Sandbox;
use crate::ledger::{custody, ledger_with_alice, new_key, with_bob_case_and_item};
use crate::tiles::{log_verifier_key, verify_url, Server};

const ITEM: &str = "C-1-1";

/// A ledger with alice, bob, case C-1 and item C-1-1, and a server on it accepting appends.
fn served(extra: &[&str]) -> (Sandbox, Server) {
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let server = Server::start_with(&sb, &args);
    (sb, server)
}

fn now() -> String {
    custody_store::ledger::format_utc(time::OffsetDateTime::now_utc())
}

fn note_draft(text: &str) -> EventDraft {
    EventDraft::new(EventKind::Note, now())
        .item(ITEM.to_owned())
        .fields(EventFields {
            notes: Some(text.to_owned()),
            ..EventFields::default()
        })
}

fn position(server: &Server) -> NextPosition {
    let (status, _, body) = server.request("GET", "/custody/next");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

fn entry_bytes(entry: &SignedEvent) -> Vec<u8> {
    canonical::to_canonical_vec(entry).unwrap()
}

/// POSTs `body` to /custody/append: the status and the JSON answer.
fn post(server: &Server, body: &[u8]) -> (u16, String, serde_json::Value) {
    let (status, head, body) = server.send("POST", "/custody/append", body);
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, head, json)
}

fn size(sb: &Sandbox) -> u64 {
    let info = custody(sb, &["ledger", "info", "--json"]).expect(0);
    serde_json::from_str::<serde_json::Value>(&info.stdout).unwrap()["size"]
        .as_u64()
        .unwrap()
}

#[test]
fn an_actor_appends_over_http_without_the_log_key_and_the_server_applies_the_same_rules() {
    let (sb, server) = served(&[]);
    let key = log_verifier_key(&sb);
    let before = size(&sb);
    // The actor's workstation holds no log key.
    std::fs::create_dir(sb.path("no-log-keys")).unwrap();
    let remote = |args: &[&str]| {
        let out = sb
            .cmd(args)
            .env(crate::harness::LOG_KEY_DIR_ENV, sb.path("no-log-keys"))
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let url = server.url();
    let (code, stdout, stderr) = remote(&[
        "event", ITEM, "stored", "--place", "Locker 4", "--server", &url, "--key", "bob.key",
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let out: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(out["seq"], before);
    assert_eq!(out["kind"], "stored");
    assert!(std::fs::read_dir(sb.path("no-log-keys"))
        .unwrap()
        .next()
        .is_none());

    // The entry is bob's, signed by bob, and the ledger verifies, locally and as published.
    let ledger = Ledger::open(&sb.path("custody.db")).unwrap();
    let entry = ledger.entry(before).unwrap();
    let bob = Identity::load(&sb.path("bob.key")).unwrap();
    assert_eq!(
        entry.signed.event.actor,
        custody_core::hex::encode(&bob.public_key().to_bytes())
    );
    assert_eq!(entry.signed.event.fields.place.as_deref(), Some("Locker 4"));
    drop(ledger);
    custody(&sb, &["ledger", "verify"]).expect(0);
    let published = verify_url(&sb, &url, &key, 0);
    assert_eq!(published["size"], before + 1);

    // A rule the event breaks: the same refusal as a local append, and nothing appended.
    let (code, _, remote_err) = remote(&[
        "event", "C-9-9", "stored", "--server", &url, "--key", "bob.key",
    ]);
    assert_eq!(code, 2, "{remote_err}");
    assert!(remote_err.contains("nothing was recorded"), "{remote_err}");
    let local = custody(&sb, &["event", "C-9-9", "stored", "--key", "bob.key"]).expect(2);
    let refused = post(
        &server,
        &entry_bytes(
            &Ledger::sign_at(
                &position(&server),
                EventDraft::new(EventKind::Stored, now()).item("C-9-9".to_owned()),
                &bob,
            )
            .unwrap(),
        ),
    );
    assert_eq!(refused.0, 422);
    let message = refused.2["error"]["message"].as_str().unwrap();
    assert!(
        local.stderr.contains(message),
        "{message} / {}",
        local.stderr
    );
    assert!(remote_err.contains(message), "{remote_err}");
    assert_eq!(size(&sb), before + 1);
}

#[test]
fn fail_unsigned_forged_replayed_foreign_and_malformed_events_are_refused() {
    let (sb, server) = served(&[]);
    let before = size(&sb);
    let bob = Identity::load(&sb.path("bob.key")).unwrap();
    new_key(&sb, "mallory@elsewhere.example", "mallory.key");
    let mallory = Identity::load(&sb.path("mallory.key")).unwrap();
    let code = |answer: &serde_json::Value| answer["error"]["code"].as_str().unwrap().to_owned();

    // Unsigned: a signature of zeros.
    let mut unsigned = Ledger::sign_at(&position(&server), note_draft("x"), &bob).unwrap();
    unsigned.signature = "0".repeat(128);
    let (status, head, answer) = post(&server, &entry_bytes(&unsigned));
    assert_eq!((status, code(&answer).as_str()), (403, "event_not_signed"));
    assert!(head.contains("content-type: application/json"), "{head}");

    // Forged: names bob as the actor, signed by mallory.
    let mut forged = Ledger::sign_at(&position(&server), note_draft("x"), &mallory).unwrap();
    forged.event.actor = custody_core::hex::encode(&bob.public_key().to_bytes());
    let (status, _, answer) = post(&server, &entry_bytes(&forged));
    assert_eq!((status, code(&answer).as_str()), (403, "event_not_signed"));

    // Another actor's key: mallory signs as herself but is not enrolled in this ledger.
    let foreign = Ledger::sign_at(&position(&server), note_draft("x"), &mallory).unwrap();
    let (status, _, answer) = post(&server, &entry_bytes(&foreign));
    assert_eq!((status, code(&answer).as_str()), (422, "unknown_actor"));

    // Signed for another ledger, or with a recorded time far from the server's clock.
    let mut elsewhere = position(&server);
    elsewhere.origin = "other.example/log".to_owned();
    let other = Ledger::sign_at(&elsewhere, note_draft("x"), &bob).unwrap();
    let (status, _, answer) = post(&server, &entry_bytes(&other));
    assert_eq!((status, code(&answer).as_str()), (409, "stale_position"));
    let mut old = position(&server);
    old.recorded_time = custody_store::ledger::format_utc(
        time::OffsetDateTime::now_utc() - time::Duration::minutes(10),
    );
    let backdated = Ledger::sign_at(&old, note_draft("x"), &bob).unwrap();
    let (status, _, answer) = post(&server, &entry_bytes(&backdated));
    assert_eq!((status, code(&answer).as_str()), (409, "stale_position"));

    // Accepted once; replayed, its position is taken: 409 with the next position.
    let good = entry_bytes(&Ledger::sign_at(&position(&server), note_draft("once"), &bob).unwrap());
    let (status, _, answer) = post(&server, &good);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["seq"], before);
    assert!(answer["checkpoint"]
        .as_str()
        .unwrap()
        .contains(&format!("\n{}\n", before + 1)));
    let (status, _, answer) = post(&server, &good);
    assert_eq!((status, code(&answer).as_str()), (409, "stale_position"));
    assert_eq!(answer["next"]["seq"], before + 1);

    // Not the canonical JSON of an entry.
    let pretty = serde_json::to_vec_pretty(
        &serde_json::from_slice::<serde_json::Value>(&entry_bytes(
            &Ledger::sign_at(&position(&server), note_draft("x"), &bob).unwrap(),
        ))
        .unwrap(),
    )
    .unwrap();
    for body in [&b"{\"event\":"[..], b"[]", b"", &pretty] {
        let (status, _, answer) = post(&server, body);
        assert_eq!((status, code(&answer).as_str()), (400, "malformed"));
    }
    // Wrong methods.
    assert_eq!(server.request("GET", "/custody/append").0, 405);
    assert_eq!(server.send("POST", "/custody/next", b"").0, 405);

    assert_eq!(size(&sb), before + 1);
    custody(&sb, &["ledger", "verify"]).expect(0);
}

#[test]
fn fail_oversized_and_stalled_bodies_are_cut_off() {
    use std::io::{Read as _, Write as _};
    let (sb, server) = served(&["--body-timeout", "1"]);
    let before = size(&sb);
    let limit = custody_store::submit::MAX_APPEND_BODY_BYTES;

    // Announced one byte past the limit: refused before it is read.
    let (status, _, answer) = server.announce("POST", "/custody/append", limit as u64 + 1);
    assert_eq!(status, 413);
    let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["error"]["code"], "body_too_large");
    // At the limit, the body is read and judged: not an entry.
    let (status, _, answer) = post(&server, &vec![b' '; limit]);
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (400, Some("malformed"))
    );

    // A partial body, then nothing: cut off once the body timeout passes.
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    write!(
        stream,
        "POST /custody/append HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{{\"event\":"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("request_timeout"), "{text}");

    assert_eq!(size(&sb), before);
}

#[test]
fn fail_rate_limits_answer_429_and_forged_requests_spend_nobody_elses_allowance() {
    let (sb, server) = served(&["--actor-rate", "1", "--actor-burst", "1"]);
    let bob = Identity::load(&sb.path("bob.key")).unwrap();
    let alice = Identity::load(&sb.path("alice.key")).unwrap();
    new_key(&sb, "mallory@elsewhere.example", "mallory.key");
    let mallory = Identity::load(&sb.path("mallory.key")).unwrap();

    // Mallory sends many requests naming bob: each refused, none charged to bob.
    for _ in 0..5 {
        let mut forged = Ledger::sign_at(&position(&server), note_draft("x"), &mallory).unwrap();
        forged.event.actor = custody_core::hex::encode(&bob.public_key().to_bytes());
        assert_eq!(post(&server, &entry_bytes(&forged)).0, 403);
    }
    let first = Ledger::sign_at(&position(&server), note_draft("1"), &bob).unwrap();
    assert_eq!(post(&server, &entry_bytes(&first)).0, 200);
    // Bob's allowance (one a minute) is spent; alice's is not.
    let second = Ledger::sign_at(&position(&server), note_draft("2"), &bob).unwrap();
    let (status, head, answer) = post(&server, &entry_bytes(&second));
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
    assert!(head.contains("retry-after: "), "{head}");
    let by_alice = Ledger::sign_at(&position(&server), note_draft("3"), &alice).unwrap();
    assert_eq!(post(&server, &entry_bytes(&by_alice)).0, 200);

    // The global allowance counts every append and position request, valid or not.
    let (sb2, server2) = served(&["--global-rate", "1", "--global-burst", "3"]);
    let bob2 = Identity::load(&sb2.path("bob.key")).unwrap();
    let late = Ledger::sign_at(&position(&server2), note_draft("x"), &bob2).unwrap();
    assert_eq!(post(&server2, b"{}").0, 400);
    assert_eq!(post(&server2, b"{}").0, 400);
    assert_eq!(post(&server2, &entry_bytes(&late)).0, 429);
    assert_eq!(server2.request("GET", "/custody/next").0, 429);
}

/// What one appender was told: the seq of each note it had acknowledged.
type Acks = Vec<(u64, String)>;

/// Eight appenders on loopback, each signing its own events; the server is killed (SIGKILL)
/// once half the events are acknowledged and started again. Every acknowledged event is at
/// its seq, the indices are contiguous and the ledger verifies. On SQLite.
#[test]
fn eight_concurrent_appenders_lose_nothing_acknowledged_when_the_server_is_killed() {
    let sb = Sandbox::new();
    concurrent_appenders_with_a_server_kill(&sb, "custody.db", 250);
}

/// The same on PostgreSQL, in a throw-away cluster (`scripts/pg-cluster.sh`).
#[test]
fn eight_concurrent_appenders_lose_nothing_acknowledged_when_the_server_is_killed_on_postgresql() {
    let sb = Sandbox::new();
    let cluster = PgCluster::start();
    // Fewer per appender than on SQLite: appends through the server on PostgreSQL run at a
    // few per second on a loaded 2-core machine (each append and position request reads
    // more of the database there), and the test must stay within minutes.
    concurrent_appenders_with_a_server_kill(&sb, &cluster.url, 125);
}

/// A PostgreSQL cluster started by `scripts/pg-cluster.sh` in a new directory, stopped when
/// dropped. A missing PostgreSQL fails the test.
struct PgCluster {
    dir: tempfile::TempDir,
    url: String,
}

impl PgCluster {
    fn start() -> PgCluster {
        let dir = tempfile::Builder::new()
            .prefix("custody-pg-")
            .tempdir()
            .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let out = std::process::Command::new("bash")
            .arg(Self::script())
            .arg("start")
            .arg(dir.path())
            .arg(port.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg-cluster.sh start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        PgCluster { dir, url }
    }

    fn script() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-cluster.sh")
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(Self::script())
            .arg("stop")
            .arg(self.dir.path())
            .output();
    }
}

fn concurrent_appenders_with_a_server_kill(sb: &Sandbox, ledger: &str, per_appender: usize) {
    const APPENDERS: usize = 8;
    let on = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--ledger", ledger]);
        custody(sb, &all).expect(0)
    };
    new_key(sb, "alice@pj-lyon.example", "alice.key");
    on(&[
        "init",
        "--key",
        "alice.key",
        "--origin",
        "ledger.pj-lyon.example/load",
    ]);
    on(&[
        "case",
        "open",
        "C-1",
        "--key",
        "alice.key",
        "--title",
        "Load",
    ]);
    std::fs::write(sb.path("disk.img"), b"seized disk image bytes").unwrap();
    on(&["acquire", "disk.img", "--case", "C-1", "--key", "alice.key"]);
    let mut keys = Vec::new();
    for i in 0..APPENDERS {
        let file = format!("appender{i}.key");
        let key = new_key(sb, &format!("appender{i}@pj-lyon.example"), &file);
        on(&["actor", "enroll", "--key", "alice.key", "--pubkey", &key]);
        keys.push(Identity::load(&sb.path(&file)).unwrap());
    }
    // What the test itself opens: the file in the sandbox, or the database.
    let location = if ledger.starts_with("postgres") {
        std::path::PathBuf::from(ledger)
    } else {
        sb.path(ledger)
    };
    let start = Ledger::open(&location).unwrap().size().unwrap();
    let serve_args = [
        "serve",
        "--ledger",
        ledger,
        "--listen",
        "127.0.0.1:0",
        "--actor-rate",
        "1000000",
        "--actor-burst",
        "1000000",
        "--global-rate",
        "1000000",
        "--global-burst",
        "1000000",
    ];
    let server = Server::start_with(sb, &serve_args);
    let url = Arc::new(RwLock::new(server.url()));
    let server = Arc::new(Mutex::new(Some(server)));
    let acknowledged = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let handles: Vec<_> = keys
        .into_iter()
        .enumerate()
        .map(|(i, key)| {
            let url = Arc::clone(&url);
            let acknowledged = Arc::clone(&acknowledged);
            std::thread::spawn(move || appender(i, &key, per_appender, &url, &acknowledged))
        })
        .collect();
    // Kill the server mid-run, then start it again on the same ledger.
    while acknowledged.load(Ordering::SeqCst) < (APPENDERS * per_appender / 2) as u64 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut killed = server.lock().unwrap().take().unwrap();
    killed.kill();
    let restarted = Server::start_with(sb, &serve_args);
    *url.write().unwrap() = restarted.url();
    let acks: Vec<Acks> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let elapsed = started.elapsed();
    drop(restarted);

    let total: usize = acks.iter().map(Vec::len).sum();
    assert_eq!(total, APPENDERS * per_appender);
    eprintln!(
        "{total} appends over HTTP by {APPENDERS} appenders to {} in {:.1} s ({:.0}/s, server killed and restarted once)",
        if ledger.starts_with("postgres") { "PostgreSQL" } else { "SQLite" },
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    let verified = custody(sb, &["ledger", "verify", "--json", "--ledger", ledger]).expect(0);
    let verified: serde_json::Value = serde_json::from_str(&verified.stdout).unwrap();
    let end = verified["size"].as_u64().unwrap();
    // Unacknowledged appends (answers lost in the kill) may have been recorded too.
    assert!(end >= start + total as u64, "{end} < {start} + {total}");
    let opened = Ledger::open(&location).unwrap();
    let mut seqs = std::collections::BTreeSet::new();
    for (seq, note) in acks.iter().flatten() {
        assert!(seqs.insert(*seq), "seq {seq} acknowledged twice");
        let entry = opened.entry(*seq).unwrap();
        assert_eq!(
            entry.signed.event.fields.notes.as_deref(),
            Some(note.as_str())
        );
    }
}

/// Appends `count` notes, each acknowledged once; rides out the server's death.
fn appender(
    i: usize,
    key: &Identity,
    count: usize,
    url: &RwLock<String>,
    acknowledged: &AtomicU64,
) -> Acks {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut acks = Vec::with_capacity(count);
    let mut position: Option<NextPosition> = None;
    while acks.len() < count {
        let base = url.read().unwrap().clone();
        let next = match position.take() {
            Some(p) => p,
            None => match agent.get(&format!("{base}custody/next")).call() {
                Ok(mut r) if r.status() == 200 => {
                    serde_json::from_slice(&r.body_mut().read_to_vec().unwrap()).unwrap()
                }
                // Down, or coming back: try again.
                _ => {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
            },
        };
        let note = format!("appender {i} note {}", acks.len());
        let entry = Ledger::sign_at(&next, note_draft(&note), key).unwrap();
        let sent = agent
            .post(&format!("{base}custody/append"))
            .send(&entry_bytes(&entry)[..]);
        let Ok(mut response) = sent else {
            // The answer was lost: the note may be in the ledger, unacknowledged.
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        let status = response.status().as_u16();
        let Ok(body) = response.body_mut().read_to_vec() else {
            continue;
        };
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        match status {
            200 => {
                let seq = answer["seq"].as_u64().unwrap();
                assert_eq!(seq, next.seq);
                acks.push((seq, note));
                acknowledged.fetch_add(1, Ordering::SeqCst);
            }
            409 => position = serde_json::from_value(answer["next"].clone()).ok(),
            status => panic!("appender {i}: HTTP {status}: {answer}"),
        }
    }
    acks
}

/// The server submits each new checkpoint to another authority's `custody witness`,
/// verifies the cosignature and keeps the cosigned checkpoint as an outside checkpoint; a
/// restarted server learns the witness's size from its 409 and sends the proof from there.
#[test]
fn custody_serve_has_its_checkpoints_cosigned_by_a_custody_witness() {
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    let key = log_verifier_key(&sb);
    new_key(&sb, "witness.example/w", "witness.key");
    let cosigner = Identity::load(&sb.path("witness.key"))
        .unwrap()
        .cosigner_key();
    let witness = Server::start_with(
        &sb,
        &[
            "witness",
            "--key",
            "witness.key",
            "--log",
            &key,
            "--state-dir",
            "wstate",
            "--listen",
            "127.0.0.1:0",
        ],
    );
    let target = format!("{}={cosigner}", witness.url().trim_end_matches('/'));
    let serve = |sb: &Sandbox| {
        Server::start_with(
            sb,
            &["serve", "--listen", "127.0.0.1:0", "--witness", &target],
        )
    };
    // Waits (bounded) until an outside checkpoint of `size` is kept; returns its note.
    let cosigned_at = |size: u64| -> String {
        for _ in 0..600 {
            let ledger = Ledger::open(&sb.path("custody.db")).unwrap();
            let found = ledger
                .outside_checkpoints()
                .unwrap()
                .into_iter()
                .filter_map(|(_, note)| note)
                .find(|note| note.contains(&format!("\n{size}\n")));
            if let Some(note) = found {
                return note;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no cosigned checkpoint of size {size}");
    };
    let check = |note: &str| {
        let parsed = custody_core::note::Note::parse(note.as_bytes()).unwrap();
        let body = custody_core::checkpoint::Checkpoint::parse_body(&parsed.text).unwrap();
        let by_witness = parsed
            .signatures
            .iter()
            .filter(|s| s.is_by(&cosigner))
            .collect::<Vec<_>>();
        assert_eq!(by_witness.len(), 1, "{note}");
        custody_core::checkpoint::verify_cosignature(&body, by_witness[0], &cosigner).unwrap();
    };

    let server = serve(&sb);
    let first = size(&sb);
    check(&cosigned_at(first));
    let out = custody(
        &sb,
        &[
            "event",
            ITEM,
            "stored",
            "--server",
            &server.url(),
            "--key",
            "bob.key",
        ],
    )
    .expect(0);
    assert!(
        out.stdout.contains(&format!("at seq {first}")),
        "{}",
        out.stdout
    );
    check(&cosigned_at(first + 1));

    // Restarted, the server starts from nothing and is told the witness's size.
    drop(server);
    let server = serve(&sb);
    custody(
        &sb,
        &[
            "event",
            ITEM,
            "note",
            "--note",
            "again",
            "--server",
            &server.url(),
            "--key",
            "bob.key",
        ],
    )
    .expect(0);
    check(&cosigned_at(first + 2));
    drop(server);
    custody(&sb, &["ledger", "verify"]).expect(0);
}

/// A directory acquisition whose entry is longer than the 65,535 bytes a tlog-tiles bundle
/// can carry: published whole in the Custody bundle format, the tlog-tiles bundle that would
/// hold it left out (export) or refused naming the entry (serve), and the ledger verified
/// from its publication either way.
#[test]
fn entries_over_65535_bytes_are_published_in_custody_bundles() {
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    let key = log_verifier_key(&sb);
    let dir = sb.path("phone-dump");
    std::fs::create_dir(&dir).unwrap();
    for i in 0..500 {
        std::fs::write(
            dir.join(format!(
                "message-attachment-{i:04}-with-a-long-file-name.bin"
            )),
            format!("attachment {i}"),
        )
        .unwrap();
    }
    custody(
        &sb,
        &[
            "acquire",
            "phone-dump",
            "--case",
            "C-1",
            "--key",
            "alice.key",
        ],
    )
    .expect(0);
    let seq = size(&sb) - 1;
    let entry = Ledger::open(&sb.path("custody.db"))
        .unwrap()
        .entry(seq)
        .unwrap();
    assert!(entry.bytes.len() > 65_535, "{}", entry.bytes.len());
    let width = seq + 1;

    let run = custody(&sb, &["ledger", "export-tiles", "pub", "--json"]).expect(0);
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let bundle = format!("tile/entries/000.p/{width}");
    assert_eq!(
        out["omitted_entry_bundles"],
        serde_json::json!([{ "path": bundle, "seq": seq }])
    );
    assert_eq!(out["custody_entry_bundles"], 1);
    assert!(!sb.path("pub").join(&bundle).exists());
    assert!(sb
        .path("pub")
        .join(format!("custody/entries/000.p/{width}"))
        .is_file());
    let verified = verify_url(&sb, sb.path("pub").to_str().unwrap(), &key, 0);
    assert_eq!(verified["size"], width);

    let server = Server::start(&sb);
    let (status, _, body) = server.request("GET", &format!("/{bundle}"));
    assert_eq!(status, 404);
    let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["error"]["code"], "entry_too_large_for_bundle");
    assert_eq!(error["error"]["seq"], seq);
    let (status, _, body) = server.request("GET", &format!("/custody/entries/000.p/{width}"));
    assert_eq!(status, 200);
    // Each entry behind a big-endian u32 length; the last one is the acquisition.
    let tail = &body[body.len() - entry.bytes.len() - 4..];
    assert_eq!(&tail[..4], &(entry.bytes.len() as u32).to_be_bytes());
    assert_eq!(&tail[4..], &entry.bytes[..]);
    let verified = verify_url(&sb, &server.url(), &key, 0);
    assert_eq!(verified["verdict"], "verified");
}

/// `custody audit --url`: the published ledger is verified from its tiles, then audited
/// from that copy; a publication that does not verify is a failed audit.
#[test]
fn audit_reads_a_published_ledger() {
    let (sb, server) = served(&[]);
    let key = log_verifier_key(&sb);
    let url = server.url();
    let run = custody(
        &sb,
        &[
            "audit",
            "--url",
            &url,
            "--log-verifier-key",
            &key,
            "--seen-dir",
            "seen",
            "--json",
        ],
    )
    .expect(0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["verdict"], "verified");
    assert_eq!(report["scope"]["path"], url);
    assert_eq!(report["items"].as_array().unwrap().len(), 1);

    // An export whose entry was altered: the audit fails on the publication itself.
    custody(&sb, &["ledger", "export-tiles", "pub"]).expect(0);
    let bundle = sb
        .path("pub/custody/entries/000.p")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&bundle).unwrap();
    let at = bytes.windows(5).position(|w| w == b"Fraud").unwrap();
    bytes[at] = b'G';
    std::fs::write(&bundle, bytes).unwrap();
    let run = custody(
        &sb,
        &[
            "audit",
            "--url",
            sb.path("pub").to_str().unwrap(),
            "--log-verifier-key",
            &key,
            "--seen-dir",
            "seen",
            "--json",
        ],
    )
    .expect(1);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["verdict"], "failed");
    assert_eq!(report["findings"][0]["code"], "leaf_hash_mismatch");
}

/// A two-signature hand-over through the server: the releaser prepares it for the position
/// the server names, the receiver cosigns it, and it is sent; a stale one is refused.
#[test]
fn hand_over_between_two_workstations_through_the_server() {
    let (sb, server) = served(&[]);
    let url = server.url();
    let before = size(&sb);
    let bob = Identity::load(&sb.path("bob.key")).unwrap();
    let bob_hex = custody_core::hex::encode(&bob.public_key().to_bytes());
    let prepare = |file: &str| {
        custody(
            &sb,
            &[
                "event",
                ITEM,
                "checked-out",
                "--key",
                "alice.key",
                "--to-actor",
                &bob_hex,
                "--draft",
                file,
                "--server",
                &url,
            ],
        )
        .expect(0)
    };
    prepare("handover.json");
    assert_eq!(size(&sb), before, "a draft appends nothing");
    // Not yet cosigned: refused by the server, nothing appended.
    let early = custody(&sb, &["event", "submit", "handover.json", "--server", &url]).expect(2);
    assert!(early.stderr.contains("cosignature"), "{}", early.stderr);
    custody(
        &sb,
        &["event", "cosign", "handover.json", "--key", "bob.key"],
    )
    .expect(0);
    let done = custody(
        &sb,
        &[
            "event",
            "submit",
            "handover.json",
            "--server",
            &url,
            "--json",
        ],
    )
    .expect(0);
    let done: serde_json::Value = serde_json::from_str(&done.stdout).unwrap();
    assert_eq!(done["seq"], before);
    let entry = Ledger::open(&sb.path("custody.db"))
        .unwrap()
        .entry(before)
        .unwrap();
    assert!(entry.signed.cosignature.is_some());

    // Prepared, then someone else appends first: refused as stale.
    prepare("late.json");
    custody(&sb, &["event", "cosign", "late.json", "--key", "bob.key"]).expect(0);
    custody(
        &sb,
        &[
            "event",
            ITEM,
            "note",
            "--note",
            "meanwhile",
            "--server",
            &url,
            "--key",
            "bob.key",
        ],
    )
    .expect(0);
    let late = custody(&sb, &["event", "submit", "late.json", "--server", &url]).expect(2);
    assert!(late.stderr.contains("prepare it again"), "{}", late.stderr);
    custody(&sb, &["ledger", "verify"]).expect(0);
}

#[test]
fn fail_unreachable_server_says_nothing_was_recorded() {
    let (sb, server) = served(&[]);
    let url = server.url();
    let before = size(&sb);
    drop(server);
    let out = custody(
        &sb,
        &[
            "event", ITEM, "stored", "--server", &url, "--key", "bob.key",
        ],
    )
    .expect(2);
    // Nothing was sent: the position could not even be asked for.
    assert!(
        out.stderr.contains("nothing was recorded"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("cannot reach"), "{}", out.stderr);
    assert!(!out.stderr.contains("may or may not"), "{}", out.stderr);
    assert_eq!(size(&sb), before);
}
