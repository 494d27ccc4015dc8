//! `tiles::export`: a ledger published as C2SP tlog-tiles, read back and recomputed from the
//! files alone (an independent client's view), and refused whole when the ledger file was
//! changed.

mod common;

use std::path::Path;

use common::*;
use custody_core::checkpoint::Checkpoint;
use custody_core::merkle::{self, Hash};
use custody_store::tiles::{self, TileError, TileId, TileSet};
use custody_store::Ledger;

/// Reads an export back as a client would: every tile the checkpoint's size calls for,
/// every entry bundle, each entry hashed into its level-0 tile, and the root recomputed.
fn read_back(dir: &Path) -> (Checkpoint, Vec<Vec<u8>>, TileSet) {
    let note = std::fs::read(dir.join("checkpoint")).unwrap();
    let (checkpoint, _, _) = Checkpoint::open(&note, &[log_key().verifier_key()]).unwrap();
    let mut set = TileSet::new();
    let mut entries = Vec::new();
    for tile in tiles::tiles_for_size(checkpoint.size) {
        let bytes = std::fs::read(dir.join(tile.path())).unwrap();
        set.insert_bytes(tile, &bytes).unwrap();
        if tile.level == 0 {
            let bundle = std::fs::read(dir.join(tile.entries_path())).unwrap();
            let decoded = tiles::decode_bundle(tile.index, &bundle, tile.width).unwrap();
            let leaves = set.get(0, tile.index).unwrap();
            for (i, entry) in decoded.iter().enumerate() {
                assert_eq!(merkle::leaf_hash(entry), leaves[i]);
                entries.push(entry.to_vec());
            }
        }
    }
    assert_eq!(
        merkle::tree_root(&mut set, checkpoint.size).unwrap(),
        checkpoint.root
    );
    (checkpoint, entries, set)
}

/// Root of a power-of-two run of hashes, computed here independently of the library.
fn perfect(hashes: &[Hash]) -> Hash {
    if hashes.len() == 1 {
        return hashes[0];
    }
    let (l, r) = hashes.split_at(hashes.len() / 2);
    merkle::node_hash(&perfect(l), &perfect(r))
}

#[test]
fn exported_ledger_recomputes_from_its_files_alone() {
    // 3 + 299 = 302 entries: one full level-0 tile, a partial of 46, a level-1 partial of 1.
    let f = populated(299);
    let dest = f.dir.path().join("published");
    let exported = tiles::export(&f.ledger, &dest).unwrap();
    assert_eq!(exported.size, 302);
    assert_eq!(exported.tiles, 3);
    assert_eq!(exported.bundles, 2);
    assert_eq!(
        std::fs::read_to_string(dest.join("checkpoint")).unwrap(),
        latest_note(&f.ledger)
    );
    assert!(dest.join("tile/0/000").is_file());
    assert!(dest.join("tile/0/001.p/46").is_file());
    assert!(dest.join("tile/1/000.p/1").is_file());
    assert!(dest.join("tile/entries/000").is_file());
    assert!(dest.join("tile/entries/001.p/46").is_file());

    let (checkpoint, entries, set) = read_back(&dest);
    assert_eq!(checkpoint.size, 302);
    for (seq, bytes) in entries.iter().enumerate() {
        assert_eq!(bytes, &f.ledger.entry(seq as u64).unwrap().bytes);
    }
    // Tile contents against an independent computation from the entries.
    let leaves: Vec<Hash> = entries.iter().map(|e| merkle::leaf_hash(e)).collect();
    assert_eq!(set.get(0, 0).unwrap(), &leaves[..256]);
    assert_eq!(set.get(0, 1).unwrap(), &leaves[256..]);
    assert_eq!(set.get(1, 0).unwrap(), &[perfect(&leaves[..256])]);
    // Nothing else was left beside the destination.
    let beside: Vec<_> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".custody-tiles-"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
}

#[test]
fn fail_export_over_an_existing_destination_writes_nothing() {
    let f = populated(1);
    let dest = f.dir.path().join("published");
    std::fs::create_dir(&dest).unwrap();
    assert!(matches!(
        tiles::export(&f.ledger, &dest),
        Err(TileError::DestinationExists { .. })
    ));
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0);
}

fn assert_nothing_published(dir: &Path, dest: &Path) {
    assert!(!dest.exists());
    assert!(!std::fs::read_dir(dir).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with(".custody-tiles-")));
}

#[test]
fn fail_edited_tree_node_is_not_published() {
    let f = populated(299);
    RawDb::open(&f.path).execute(
        "UPDATE nodes SET hash = zeroblob(32) WHERE level = 8 AND idx = 0",
        &[],
    );
    let dest = f.dir.path().join("published");
    let result = tiles::export(&open(&f.path), &dest);
    assert!(
        matches!(result, Err(TileError::RootMismatch { size: 302 })),
        "{result:?}"
    );
    assert_nothing_published(f.dir.path(), &dest);
}

#[test]
fn fail_edited_entry_is_not_published() {
    let f = populated(3);
    let conn = RawDb::open(&f.path);
    let mut bytes = conn
        .one("SELECT entry FROM entries WHERE seq = 3", &[])
        .bytes();
    let at = bytes.windows(4).position(|w| w == b"Lyon").unwrap();
    bytes[at] = b'N';
    conn.execute("UPDATE entries SET entry = ?1 WHERE seq = 3", &[v(&bytes)]);
    let dest = f.dir.path().join("published");
    // The open ledger refuses the changed entry (its replay), or the export finds its leaf.
    let result = Ledger::open(&f.path)
        .map_err(TileError::from)
        .and_then(|l| tiles::export(&l, &dest));
    assert!(result.is_err(), "{result:?}");
    assert_nothing_published(f.dir.path(), &dest);
}

#[test]
fn partial_tile_widths_follow_the_size() {
    let f = populated(0);
    let dest = f.dir.path().join("published");
    tiles::export(&f.ledger, &dest).unwrap();
    let expected = TileId {
        level: 0,
        index: 0,
        width: 3,
    };
    assert_eq!(tiles::tiles_for_size(3), [expected]);
    assert_eq!(
        std::fs::read(dest.join("tile/0/000.p/3")).unwrap().len(),
        96
    );
    read_back(&dest);
}

/// Every tile of `publication` equals a publication rebuilt from scratch at the same size.
fn assert_same_as_rebuilt(publication: &tiles::Publication, ledger: &Ledger) {
    let rebuilt = tiles::Publication::build(ledger).unwrap();
    assert_eq!(publication.size(), rebuilt.size());
    assert_eq!(publication.note, rebuilt.note);
    assert_eq!(publication.tiles(), rebuilt.tiles());
    for tile in rebuilt.tiles() {
        assert_eq!(
            publication.tile_bytes(*tile),
            rebuilt.tile_bytes(*tile),
            "{tile:?}"
        );
    }
}

#[test]
fn publication_updated_after_appends_equals_a_rebuild_across_tile_boundaries() {
    let mut f = populated(250);
    let (alice, log) = (investigator(), log_key());
    let mut publication = tiles::Publication::build(&f.ledger).unwrap();
    assert!(!publication.update(&f.ledger).unwrap());
    let mut next = 251;
    // 253 entries, then 255, 256, 257 and 600: partial tiles grow, fill and new ones start.
    assert_eq!(publication.size(), 253);
    for batch in [2usize, 1, 1, 343] {
        let drafts = (0..batch)
            .map(|i| acquire("C-1", &format!("E{}", next + i), T0))
            .collect();
        next += batch;
        f.ledger.append_batch(drafts, &alice, &log).unwrap();
        assert!(publication.update(&f.ledger).unwrap());
        assert_same_as_rebuilt(&publication, &f.ledger);
    }
    assert_eq!(publication.size(), 600);
}

#[test]
fn fail_publication_never_follows_a_ledger_that_shrank_or_forked() {
    let (alice, log) = (investigator(), log_key());
    // Copies of one ledger file: SQLite on every run (the store does not matter here, the
    // publication's comparison does).
    let Fixture {
        dir,
        path,
        mut ledger,
    } = new_ledger_on(&Backend::Sqlite);
    ledger.append(enrol(&officer()), &alice, &log).unwrap();
    ledger.append(open_case("C-1"), &alice, &log).unwrap();
    drop(ledger);
    // Copies of the same three entries, which then grow apart under the same log key.
    let other_path = dir.path().join("other.db");
    let small_path = dir.path().join("small.db");
    std::fs::copy(&path, &other_path).unwrap();
    std::fs::copy(&path, &small_path).unwrap();
    let mut ours = open(&path);
    ours.append(acquire("C-1", "E1", T0), &alice, &log).unwrap();
    let mut other = open(&other_path);
    other
        .append(acquire("C-1", "X1", T0), &alice, &log)
        .unwrap();
    other
        .append(acquire("C-1", "X2", T0), &alice, &log)
        .unwrap();

    let mut publication = tiles::Publication::build(&ours).unwrap();
    let published = publication.clone();
    let forked = publication.update(&other);
    assert!(
        matches!(forked, Err(TileError::Forked { level: 0, index: 0 })),
        "{forked:?}"
    );
    let shrank = publication.update(&open(&small_path));
    assert!(
        matches!(
            shrank,
            Err(TileError::Shrank {
                published: 4,
                size: 3
            })
        ),
        "{shrank:?}"
    );
    // Refused whole: the publication is as it was, and still follows its own ledger.
    assert_eq!(publication.note, published.note);
    assert_eq!(publication.tiles(), published.tiles());
    assert_eq!(
        publication.tile_bytes(published.tiles()[0]),
        published.tile_bytes(published.tiles()[0])
    );
    ours.append(acquire("C-1", "E2", T0), &alice, &log).unwrap();
    assert!(publication.update(&ours).unwrap());
    assert_same_as_rebuilt(&publication, &ours);
}
