//! The log signer's state: the log key lives apart from the ledger and remembers the last
//! checkpoint it signed, so a tail cut with SQL alone, or a rewrite by someone holding the
//! log key but not the signer's state, gets no new checkpoint and is reported by `verify`.
//! Also: appends whose precondition is checked inside the transaction, raced by threads.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use custody_store::signer::{
    pending_path, read_signer_state, signer_state_path, MAX_SIGNER_STATE_BYTES,
};
use custody_store::{EventDraft, EventKind, Ledger, LedgerFinding, StoreError};

struct Signed {
    _dir: tempfile::TempDir,
    path: PathBuf,
    state: PathBuf,
}

/// A ledger of `items` acquired items whose log signer keeps its state in a separate
/// directory.
fn signed_ledger(items: usize) -> Signed {
    let dir = tempfile::tempdir().unwrap();
    let path = test_location(dir.path());
    std::fs::create_dir(dir.path().join("signer")).unwrap();
    let state = signer_state_path(&dir.path().join("signer/log.key"));
    let (alice, log) = (investigator(), log_key());
    let mut ledger =
        Ledger::init_with_signer_state(&path, ORIGIN, &alice, &log, Some(&state)).unwrap();
    ledger.append(open_case("C-1"), &alice, &log).unwrap();
    for i in 1..=items {
        ledger
            .append(acquire("C-1", &format!("E{i}"), T0), &alice, &log)
            .unwrap();
    }
    Signed {
        _dir: dir,
        path,
        state,
    }
}

fn as_signer(path: &Path, state: &Path) -> Ledger {
    let mut ledger = open(path);
    ledger.set_signer_state(state);
    ledger
}

/// `verify` with the signer's state, as an auditor given access to it runs it.
fn verify_as_auditor(s: &Signed) -> custody_store::LedgerReport {
    open(&s.path)
        .verify_with_signer_state(&[], Some(&s.state))
        .unwrap()
}

fn note() -> EventDraft {
    on_item(EventKind::Examined, "C-1", "E1", T0)
}

#[test]
fn signer_state_follows_every_checkpoint() {
    let s = signed_ledger(2);
    let ledger = open(&s.path);
    let (signed, note) = read_signer_state(&s.state, ledger.log_verifier_key(), ORIGIN)
        .unwrap()
        .unwrap();
    assert_eq!(signed.size, ledger.size().unwrap());
    assert_eq!(note, latest_note(&ledger));
    let report = ledger
        .verify_with_signer_state(&[], Some(&s.state))
        .unwrap();
    assert!(report.is_clean(), "{:#?}", report.findings);
}

#[test]
fn fail_cut_tail_gets_no_checkpoint_and_is_reported() {
    let s = signed_ledger(4);
    let size = open(&s.path).size().unwrap();
    truncate(&s.path, size - 2);
    // The ledger alone cannot tell: every checkpoint left agrees with it.
    assert!(open(&s.path).verify(&[]).unwrap().is_clean());
    // The signer's state can.
    let report = verify_as_auditor(&s);
    assert_eq!(
        report.findings,
        vec![LedgerFinding::OutsideCheckpointAhead {
            size,
            ledger_size: size - 2,
            source_name: format!("log signer state {}", s.state.display()),
        }]
    );
    // And the signer refuses to sign anything on top of the cut ledger.
    let refused = as_signer(&s.path, &s.state)
        .append(note(), &investigator(), &log_key())
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::SignerStateAhead { signed_size, size: held } if signed_size == size && held == size - 2),
        "{refused:?}"
    );
    assert_eq!(open(&s.path).size().unwrap(), size - 2, "nothing appended");
}

#[test]
fn fail_rewrite_with_the_log_key_gets_no_checkpoint_from_the_signer() {
    let s = signed_ledger(4);
    let size = open(&s.path).size().unwrap();
    // Someone holding the log key and the actor keys, but not the signer's state, rebuilds
    // the ledger without seq 3 and pads it back to the same size.
    rewrite_without(&s.path, 3);
    open(&s.path)
        .append(note(), &investigator(), &log_key())
        .unwrap();
    assert_eq!(open(&s.path).size().unwrap(), size);
    assert!(open(&s.path).verify(&[]).unwrap().is_clean());
    let report = verify_as_auditor(&s);
    assert_eq!(
        report.findings,
        vec![LedgerFinding::OutsideCheckpointMismatch {
            size,
            source_name: format!("log signer state {}", s.state.display()),
        }]
    );
    let refused = as_signer(&s.path, &s.state)
        .append(note(), &investigator(), &log_key())
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::SignerStateFork { signed_size } if signed_size == size),
        "{refused:?}"
    );
    // Where the signer runs, decisions are not taken from the rewritten entries either.
    let refused = as_signer(&s.path, &s.state).items(None).unwrap_err();
    assert!(
        matches!(refused, StoreError::SignerStateFork { signed_size } if signed_size == size),
        "{refused:?}"
    );
}

#[test]
fn fail_a_used_log_key_cannot_start_a_second_ledger_of_its_origin() {
    let s = signed_ledger(1);
    let other = s.path.with_file_name("second.db");
    let refused =
        Ledger::init_with_signer_state(&other, ORIGIN, &investigator(), &log_key(), Some(&s.state))
            .unwrap_err();
    assert!(
        matches!(refused, StoreError::SignerStateAhead { size: 0, .. }),
        "{refused:?}"
    );
    assert!(!other.exists());
}

#[test]
fn fail_signer_state_of_another_log_is_refused() {
    let s = signed_ledger(1);
    let refused = read_signer_state(
        &s.state,
        open(&s.path).log_verifier_key(),
        "another.example/log",
    )
    .unwrap_err();
    assert!(
        matches!(refused, StoreError::SignerState { .. }),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("one log key, one ledger"));
}

#[test]
fn fail_missing_signer_state_is_reported_by_verify() {
    let s = signed_ledger(1);
    std::fs::remove_file(&s.state).unwrap();
    let report = verify_as_auditor(&s);
    assert!(
        matches!(
            report.findings.as_slice(),
            [LedgerFinding::SignerStateUnreadable { .. }]
        ),
        "{:#?}",
        report.findings
    );
}

#[test]
fn signer_state_size_limit_at_and_one_past() {
    let s = signed_ledger(1);
    let key = open(&s.path).log_verifier_key().clone();
    let at_limit = vec![b'x'; MAX_SIGNER_STATE_BYTES as usize];
    std::fs::write(&s.state, &at_limit).unwrap();
    let err = read_signer_state(&s.state, &key, ORIGIN).unwrap_err();
    assert!(
        matches!(&err, StoreError::SignerState { reason, .. } if reason.to_string().starts_with("not a checkpoint")),
        "{err:?}"
    );
    let past = vec![b'x'; MAX_SIGNER_STATE_BYTES as usize + 1];
    std::fs::write(&s.state, &past).unwrap();
    let err = read_signer_state(&s.state, &key, ORIGIN).unwrap_err();
    assert!(
        matches!(&err, StoreError::SignerState { reason, .. } if reason.to_string().starts_with("larger than")),
        "{err:?}"
    );
}

/// Two handles (as two processes would) append an item under the precondition that it is
/// new, released at the same moment: the check runs inside the write transaction, so
/// exactly one records it.
#[test]
fn fail_racing_conditional_appends_record_once() {
    let f = populated(1);
    let start = std::sync::Barrier::new(2);
    let outcomes: Vec<Result<Result<_, u64>, StoreError>> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..2)
            .map(|_| {
                let (path, start) = (&f.path, &start);
                scope.spawn(move || {
                    let mut ledger = open(path);
                    let draft = EventDraft::new(EventKind::Received, T0)
                        .case("C-1")
                        .item("X1");
                    start.wait();
                    ledger.append_batch_if(vec![draft], &investigator(), &log_key(), |view| {
                        match view.item("X1") {
                            Some(record) => Err(record.created_seq),
                            None => Ok(()),
                        }
                    })
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let recorded: Vec<u64> = outcomes
        .iter()
        .filter_map(|o| match o {
            Ok(Ok(appended)) => Some(appended[0].seq),
            _ => None,
        })
        .collect();
    let refused: Vec<u64> = outcomes
        .iter()
        .filter_map(|o| match o {
            Ok(Err(seq)) => Some(*seq),
            _ => None,
        })
        .collect();
    assert_eq!(recorded.len(), 1, "{outcomes:?}");
    assert_eq!(refused, recorded, "the loser names the winner's entry");
    let ledger = open(&f.path);
    assert_eq!(ledger.item_history("X1").unwrap().len(), 1);
    assert!(ledger.verify(&[]).unwrap().is_clean());
}

/// Two signer handles (as two processes of one signer would) append and read at once:
/// every append succeeds, no read mistakes the other's append in flight for a cut ledger,
/// and the state ends at the ledger's newest checkpoint.
#[test]
fn concurrent_signers_share_one_state() {
    let s = signed_ledger(1);
    let start = std::sync::Barrier::new(2);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let (s, start) = (&s, &start);
            scope.spawn(move || {
                let mut ledger = as_signer(&s.path, &s.state);
                start.wait();
                for _ in 0..15 {
                    ledger.append(note(), &investigator(), &log_key()).unwrap();
                    ledger.items(None).unwrap();
                }
            });
        }
    });
    let ledger = open(&s.path);
    let (signed, _) = read_signer_state(&s.state, ledger.log_verifier_key(), ORIGIN)
        .unwrap()
        .unwrap();
    assert_eq!(signed.size, ledger.size().unwrap());
    assert!(verify_as_auditor(&s).is_clean());
}

/// Someone holding the log key but no actor key, and not the signer's state, appends an
/// entry with raw SQL (an event whose signature is not the actor's) and signs a checkpoint
/// over it: the ledger is still an extension of what the signer signed.
fn append_forged_entry_under_the_log_key(path: &Path) {
    use custody_core::checkpoint::Checkpoint;
    use custody_core::merkle::{leaf_hash, TreeBuilder};
    let db = RawDb::open(path);
    let size = u64::try_from(db.one("SELECT count(*) FROM entries", &[]).int()).unwrap();
    let last = db
        .one("SELECT entry FROM entries WHERE seq = ?1", &[v(size - 1)])
        .text();
    let forged = last.replacen(
        &format!("\"seq\":{}", size - 1),
        &format!("\"seq\":{size}"),
        1,
    );
    assert_ne!(forged, last);
    db.execute(
        "INSERT INTO entries (seq, entry, leaf_hash) VALUES (?1, ?2, ?3)",
        &[
            v(size),
            v(forged.as_bytes()),
            v(&leaf_hash(forged.as_bytes())),
        ],
    );
    let mut tree = TreeBuilder::new();
    for row in db.query("SELECT entry FROM entries ORDER BY seq", &[]) {
        tree.push(leaf_hash(&row[0].clone().bytes()));
    }
    let note = Checkpoint {
        origin: ORIGIN.to_owned(),
        size: size + 1,
        root: tree.root(),
        extensions: Vec::new(),
    }
    .sign(&[&log_key()])
    .unwrap();
    db.execute(
        "INSERT INTO checkpoints (size, note) VALUES (?1, ?2)",
        &[v(size + 1), v(String::from_utf8(note.to_bytes()).unwrap())],
    );
}

#[test]
fn fail_entry_checkpointed_by_the_log_key_past_the_signer_state_is_checked() {
    let s = signed_ledger(1);
    let size = open(&s.path).size().unwrap();
    append_forged_entry_under_the_log_key(&s.path);
    // verify alone sees the bad signature.
    assert!(verify_as_auditor(&s)
        .findings
        .contains(&LedgerFinding::BadSignature { seq: size }));
    // The signer did not sign it: its decisions check the entry and refuse it.
    let mut signer = as_signer(&s.path, &s.state);
    let refused = signer
        .append(note(), &investigator(), &log_key())
        .unwrap_err();
    assert!(
        matches!(&refused, StoreError::UnverifiedEntry { finding }
            if **finding == LedgerFinding::BadSignature { seq: size }),
        "{refused:?}"
    );
}

#[test]
fn fail_signer_state_replaced_by_a_named_pipe_is_refused_not_waited_on() {
    let s = signed_ledger(1);
    std::fs::remove_file(&s.state).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&s.state)
        .status()
        .unwrap();
    assert!(made.success());
    let mut signer = as_signer(&s.path, &s.state);
    let refused = signer
        .append(note(), &investigator(), &log_key())
        .unwrap_err();
    assert!(
        matches!(
            &refused,
            StoreError::SignerState {
                reason: custody_store::error::SignerStateProblem::NotAFile,
                ..
            }
        ),
        "{refused:?}"
    );
}

/// The note the log key signs for a tree this ledger never committed: one entry more than
/// `s` holds, on another ledger of the same origin and log key with a state of its own (as
/// if this ledger's signer had signed it and been killed before the commit).
fn note_for_a_tree_never_committed(s: &Signed) -> String {
    let other = signed_ledger(1);
    let mut ledger = as_signer(&other.path, &other.state);
    ledger
        .append(
            on_item(EventKind::Disclosed, "C-1", "E1", T0).fields(custody_store::EventFields {
                to: Some("Elsewhere".into()),
                ..Default::default()
            }),
            &investigator(),
            &log_key(),
        )
        .unwrap();
    assert_eq!(
        ledger.size().unwrap(),
        open(&s.path).size().unwrap() + 1,
        "one entry more"
    );
    state_note(&other)
}

fn state_note(s: &Signed) -> String {
    std::fs::read_to_string(&s.state).unwrap()
}

#[test]
fn signer_killed_before_its_commit_leaves_a_note_the_next_append_drops() {
    let s = signed_ledger(1);
    let pending = pending_path(&s.state);
    // What a process killed between signing and committing leaves behind.
    std::fs::write(&pending, note_for_a_tree_never_committed(&s)).unwrap();
    assert!(
        verify_as_auditor(&s).is_clean(),
        "the state itself is not ahead"
    );
    let mut ledger = as_signer(&s.path, &s.state);
    let appended = ledger.append(note(), &investigator(), &log_key()).unwrap();
    assert!(!pending.exists(), "the pending note was settled");
    assert_eq!(state_note(&s), appended.checkpoint);
    assert!(verify_as_auditor(&s).is_clean());
}

#[test]
fn signer_killed_after_its_commit_leaves_a_note_the_next_append_keeps() {
    let s = signed_ledger(1);
    let before = state_note(&s);
    let mut ledger = as_signer(&s.path, &s.state);
    let committed = ledger.append(note(), &investigator(), &log_key()).unwrap();
    drop(ledger);
    // Killed after the commit, before the state was replaced: the state is behind.
    std::fs::write(&s.state, &before).unwrap();
    std::fs::write(pending_path(&s.state), &committed.checkpoint).unwrap();
    assert!(verify_as_auditor(&s).is_clean());
    let mut ledger = as_signer(&s.path, &s.state);
    let next = ledger.append(note(), &investigator(), &log_key()).unwrap();
    assert!(!pending_path(&s.state).exists());
    assert_eq!(state_note(&s), next.checkpoint);
    assert!(verify_as_auditor(&s).is_clean());
}

#[test]
fn fail_pending_note_of_another_tree_as_large_as_the_ledger_is_a_fork() {
    let s = signed_ledger(1);
    let other = note_for_a_tree_never_committed(&s);
    let mut ledger = as_signer(&s.path, &s.state);
    ledger.append(note(), &investigator(), &log_key()).unwrap();
    std::fs::write(pending_path(&s.state), &other).unwrap();
    let err = ledger
        .append(note(), &investigator(), &log_key())
        .unwrap_err();
    assert!(matches!(err, StoreError::SignerStateFork { .. }), "{err:?}");
    assert!(
        pending_path(&s.state).exists(),
        "a fork is kept as evidence"
    );
}

#[test]
fn fail_pending_file_that_is_no_signed_note_is_refused_and_kept() {
    let s = signed_ledger(1);
    let before = state_note(&s);
    std::fs::write(pending_path(&s.state), b"not a note\n").unwrap();
    let err = as_signer(&s.path, &s.state)
        .append(note(), &investigator(), &log_key())
        .unwrap_err();
    assert!(matches!(err, StoreError::SignerState { .. }), "{err:?}");
    assert_eq!(state_note(&s), before, "nothing was signed");
    assert!(pending_path(&s.state).exists());
}
