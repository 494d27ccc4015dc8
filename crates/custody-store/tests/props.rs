//! Properties: `reindex` rebuilds exactly the index that appends maintained, and every proof
//! the store serves verifies with custody-core against the checkpoints it signed.

mod common;

use common::*;
use custody_core::checkpoint::Checkpoint;
use custody_core::merkle;
use custody_store::{EventDraft, EventFields, EventKind, Ledger};
use proptest::prelude::*;

/// One step of a random custody history: an event kind and which item it is about.
fn step() -> impl Strategy<Value = (u8, u8, bool)> {
    (0u8..12, 0u8..6, any::<bool>())
}

fn draft_for(kind: u8, item: u8, by_bob: bool) -> EventDraft {
    let item_id = format!("E{item}");
    let case = if item % 2 == 0 { "C-1" } else { "C-2" };
    match kind {
        0 => acquire(case, &item_id, T0),
        1 => on_item(EventKind::Stored, case, &item_id, T0),
        2 => {
            let mut d = on_item(EventKind::CheckedOut, case, &item_id, T0);
            if by_bob {
                d.fields.to = Some(key_hex(&officer()));
            }
            d
        }
        3 => on_item(EventKind::CheckedIn, case, &item_id, T0),
        4 => on_item(EventKind::Examined, case, &item_id, T0),
        5 | 6 => {
            let kind = if kind == 5 {
                EventKind::Transferred
            } else {
                EventKind::Returned
            };
            let mut d = on_item(kind, case, &item_id, T0);
            d.fields.to = Some("Bundeskriminalamt".to_owned());
            d
        }
        7 => destroy(case, &item_id, T0),
        8 => on_item(EventKind::Note, case, &item_id, T0),
        9 => EventDraft::new(EventKind::Derived, T0)
            .case(case)
            .item(format!("{item_id}.{by_bob}"))
            .fields(EventFields {
                parent: Some(item_id),
                ..EventFields::default()
            }),
        10 => open_case(case),
        _ => EventDraft::new(EventKind::KeyRevoked, T0).fields(EventFields {
            public_key: Some(key_hex(&officer())),
            ..EventFields::default()
        }),
    }
}

type Snapshot = (
    Vec<custody_store::ActorRecord>,
    Vec<custody_store::CaseRecord>,
    Vec<custody_store::ItemRecord>,
    Vec<Vec<u64>>,
    Vec<Vec<u64>>,
);

fn snapshot(ledger: &Ledger) -> Snapshot {
    let items = ledger.items(None).unwrap();
    let cases = ledger.cases().unwrap();
    let item_histories = items
        .iter()
        .map(|i| {
            ledger
                .item_history(&i.item)
                .unwrap()
                .iter()
                .map(|e| e.seq)
                .collect()
        })
        .collect();
    let case_histories = cases
        .iter()
        .map(|c| {
            ledger
                .case_history(&c.case)
                .unwrap()
                .iter()
                .map(|e| e.seq)
                .collect()
        })
        .collect();
    (
        ledger.actors().unwrap(),
        cases,
        items,
        item_histories,
        case_histories,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn reindex_reproduces_the_index(steps in proptest::collection::vec(step(), 1..40)) {
        let mut f = populated(0);
        let (alice, bob, log) = (investigator(), officer(), log_key());
        for (kind, item, by_bob) in steps {
            let signer = if by_bob { &bob } else { &alice };
            // Refusals are part of the property: they must leave no trace in the index.
            let _ = f.ledger.append(draft_for(kind, item, by_bob), signer, &log);
        }
        let before = snapshot(&f.ledger);
        f.ledger.reindex().unwrap();
        prop_assert_eq!(snapshot(&f.ledger), before);
        let report = f.ledger.verify(&[]).unwrap();
        prop_assert!(report.is_clean(), "{:?}", report.findings);
    }

    #[test]
    fn proofs_verify_against_stored_checkpoints(
        batches in proptest::collection::vec(1usize..9, 1..8),
        picks in proptest::collection::vec((any::<u64>(), any::<u64>(), any::<u64>()), 8),
    ) {
        let mut f = populated(1);
        let (alice, log) = (investigator(), log_key());
        for n in batches {
            let drafts = (0..n).map(|_| on_item(EventKind::Examined, "C-1", "E1", T0)).collect();
            f.ledger.append_batch(drafts, &alice, &log).unwrap();
        }
        let size = f.ledger.size().unwrap();
        let known = [f.ledger.log_verifier_key().clone()];
        let checkpoints: Vec<Checkpoint> = (1..=size)
            .filter_map(|s| f.ledger.checkpoint_at(s).unwrap())
            .map(|note| Checkpoint::open(note.as_bytes(), &known).unwrap().0)
            .collect();
        for (a, b, c) in picks {
            let new = &checkpoints[(a % checkpoints.len() as u64) as usize];
            let old = &checkpoints[(b % checkpoints.len() as u64) as usize];
            let (old, new) = if old.size <= new.size { (old, new) } else { (new, old) };
            let seq = c % new.size;
            let leaf = merkle::leaf_hash(&f.ledger.entry(seq).unwrap().bytes);
            let proof = f.ledger.inclusion_proof(seq, new.size).unwrap();
            prop_assert_eq!(proof.verify(&leaf, &new.root), Ok(()));
            prop_assert_eq!(f.ledger.root_at(new.size).unwrap(), new.root);
            let consistency = f.ledger.consistency_proof(old.size, new.size).unwrap();
            prop_assert_eq!(consistency.verify(&old.root, &new.root), Ok(()));
        }
    }
}
