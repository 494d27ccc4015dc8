//! `published::verify_published`: a ledger verified from its tlog-tiles alone, against every
//! checkpoint of the same log seen before; every tampering with the published files, and a
//! rewrite by the log key's holder, is refused.

mod common;

use std::path::Path;

use common::*;
use custody_store::published::{
    self, DirSource, FetchError, PublishedError, SeenCheckpoints, MAX_BUNDLE_BYTES, MAX_TILE_BYTES,
};
use custody_store::tiles::{self, TileError};
use custody_store::LedgerFinding;

fn export(f: &Fixture, name: &str) -> std::path::PathBuf {
    export_file(f.dir.path(), &f.path, name)
}

fn export_file(dir: &Path, ledger: &Path, name: &str) -> std::path::PathBuf {
    let dest = dir.join(name);
    tiles::export(&open(ledger), &dest).unwrap();
    dest
}

fn verify(dir: &Path, seen: Option<&Path>) -> Result<published::PublishedReport, PublishedError> {
    let work = tempfile::tempdir().unwrap();
    published::verify_published(
        &mut DirSource::new(dir),
        &log_key().verifier_key(),
        seen,
        &[],
        work.path(),
    )
}

#[test]
fn published_ledger_verifies_from_its_tiles_and_remembers_the_checkpoint() {
    let f = populated(299);
    let dir = export(&f, "pub");
    let seen = tempfile::tempdir().unwrap();
    let first = verify(&dir, Some(seen.path())).unwrap();
    assert!(first.report.is_clean(), "{:?}", first.report.findings);
    assert_eq!(first.report.size, 302);
    assert_eq!((first.seen, first.newly_seen), (0, true));
    let again = verify(&dir, Some(seen.path())).unwrap();
    assert_eq!((again.seen, again.newly_seen), (1, false));
    assert!(again.report.is_clean());
    let store = SeenCheckpoints::for_origin(seen.path(), ORIGIN);
    assert_eq!(store.load().unwrap(), [latest_note(&f.ledger)]);
    assert!(!store
        .dir()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .contains('/'));
}

#[test]
fn a_grown_ledger_is_consistent_with_what_was_seen() {
    let mut f = populated(2);
    let seen = tempfile::tempdir().unwrap();
    verify(&export(&f, "v1"), Some(seen.path())).unwrap();
    f.ledger
        .append(acquire("C-1", "E9", T0), &investigator(), &log_key())
        .unwrap();
    let grown = verify(&export(&f, "v2"), Some(seen.path())).unwrap();
    assert!(grown.report.is_clean(), "{:?}", grown.report.findings);
    assert_eq!(grown.seen, 1);
}

/// The log key's holder rewrites history (drops an event, re-signs everything) and
/// publishes again: the files alone are self-consistent, but a client that saw the old
/// checkpoint reports the rewrite.
#[test]
fn fail_rewritten_ledger_is_caught_against_a_seen_checkpoint() {
    let Fixture { dir, path, ledger } = populated(3);
    drop(ledger);
    let seen = tempfile::tempdir().unwrap();
    verify(&export_file(dir.path(), &path, "before"), Some(seen.path())).unwrap();
    rewrite_without(&path, 4);
    let after = export_file(dir.path(), &path, "after");
    assert!(verify(&after, None).unwrap().report.is_clean());
    let report = verify(&after, Some(seen.path())).unwrap().report;
    assert!(
        report
            .findings
            .iter()
            .any(|x| matches!(x, LedgerFinding::OutsideCheckpointAhead { .. })),
        "{:?}",
        report.findings
    );
}

fn tile_file(dir: &Path) -> std::path::PathBuf {
    dir.join("tile/0/000.p/5")
}

#[test]
fn fail_edited_tile_hash_is_refused() {
    let f = populated(2);
    let dir = export(&f, "pub");
    let mut bytes = std::fs::read(tile_file(&dir)).unwrap();
    bytes[40] ^= 1;
    std::fs::write(tile_file(&dir), bytes).unwrap();
    let e = verify(&dir, None).unwrap_err();
    assert!(
        matches!(e, PublishedError::Tile(TileError::LeafMismatch { seq: 1 })),
        "{e:?}"
    );
    assert!(e.is_verification_failure());
}

#[test]
fn fail_edited_entry_in_a_bundle_is_refused() {
    let f = populated(2);
    let dir = export(&f, "pub");
    // The tlog-tiles bundles, as a client reads them when no Custody bundle is published.
    only_tlog_tiles_bundles(&dir);
    let bundle = dir.join("tile/entries/000.p/5");
    let mut bytes = std::fs::read(&bundle).unwrap();
    let at = bytes.windows(4).position(|w| w == b"Lyon").unwrap();
    bytes[at] = b'N';
    std::fs::write(&bundle, bytes).unwrap();
    let e = verify(&dir, None).unwrap_err();
    assert!(
        matches!(e, PublishedError::Tile(TileError::LeafMismatch { seq: 3 })),
        "{e:?}"
    );
}

/// Tiles and entries edited together (the leaf hashes updated to match an edited entry)
/// no longer lead to the signed root.
#[test]
fn fail_edited_entry_with_its_tile_is_refused() {
    let f = populated(2);
    let dir = export(&f, "pub");
    // The tlog-tiles bundles, as a client reads them when no Custody bundle is published.
    only_tlog_tiles_bundles(&dir);
    let bundle_path = dir.join("tile/entries/000.p/5");
    let bundle = std::fs::read(&bundle_path).unwrap();
    let mut entries: Vec<Vec<u8>> = tiles::decode_bundle(0, &bundle, 5)
        .unwrap()
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    let at = entries[3].windows(4).position(|w| w == b"Lyon").unwrap();
    entries[3][at] = b'N';
    let encoded = tiles::encode_bundle(
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| (i as u64, e.as_slice())),
    )
    .unwrap();
    std::fs::write(&bundle_path, encoded).unwrap();
    let leaves: Vec<_> = entries
        .iter()
        .map(|e| custody_core::merkle::leaf_hash(e))
        .collect();
    std::fs::write(tile_file(&dir), tiles::tile_bytes(&leaves)).unwrap();
    let e = verify(&dir, None).unwrap_err();
    assert!(
        matches!(e, PublishedError::Tile(TileError::RootMismatch { size: 5 })),
        "{e:?}"
    );
}

#[test]
fn fail_missing_bundle_is_reported_by_path() {
    let f = populated(2);
    let dir = export(&f, "pub");
    // The tlog-tiles bundles, as a client reads them when no Custody bundle is published.
    only_tlog_tiles_bundles(&dir);
    std::fs::remove_file(dir.join("tile/entries/000.p/5")).unwrap();
    match verify(&dir, None) {
        Err(PublishedError::Missing { path }) => assert_eq!(path, "tile/entries/000.p/5"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn fail_checkpoint_under_another_key_is_refused_and_not_remembered() {
    let f = populated(2);
    let dir = export(&f, "pub");
    let seen = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let e = published::verify_published(
        &mut DirSource::new(&dir),
        &officer().verifier_key(),
        Some(seen.path()),
        &[],
        work.path(),
    )
    .unwrap_err();
    assert!(matches!(e, PublishedError::Checkpoint(_)), "{e:?}");
    assert!(SeenCheckpoints::for_origin(seen.path(), ORIGIN)
        .load()
        .unwrap()
        .is_empty());
}

#[test]
fn downloads_are_bounded_at_their_limits() {
    let dir = tempfile::tempdir().unwrap();
    let mut src = DirSource::new(dir.path());
    std::fs::write(dir.path().join("at"), vec![0u8; MAX_TILE_BYTES as usize]).unwrap();
    std::fs::write(
        dir.path().join("past"),
        vec![0u8; MAX_TILE_BYTES as usize + 1],
    )
    .unwrap();
    use published::Source as _;
    assert_eq!(
        src.fetch("at", MAX_TILE_BYTES).unwrap().unwrap().len(),
        8192
    );
    assert!(matches!(
        src.fetch("past", MAX_TILE_BYTES),
        Err(FetchError::TooLarge { limit: 8192, .. })
    ));
    assert!(src.fetch("absent", MAX_TILE_BYTES).unwrap().is_none());
    assert_eq!(MAX_BUNDLE_BYTES, 256 * 65_537);
}

#[test]
fn fail_oversized_tile_is_refused_unread() {
    let f = populated(2);
    let dir = export(&f, "pub");
    std::fs::write(tile_file(&dir), vec![0u8; MAX_TILE_BYTES as usize + 1]).unwrap();
    let e = verify(&dir, None).unwrap_err();
    assert!(
        matches!(e, PublishedError::Fetch(FetchError::TooLarge { .. })),
        "{e:?}"
    );
}

/// The log key's holder publishes an edited entry under a checkpoint it signs over the new
/// tree: the tiles agree with the checkpoint, and the entry is still reported by the same
/// checks `ledger verify` makes (the actor's signature no longer verifies).
#[test]
fn fail_entry_forged_under_a_checkpoint_the_log_key_signed_is_reported() {
    let f = populated(2);
    let dir = export(&f, "pub");
    // The tlog-tiles bundles, as a client reads them when no Custody bundle is published.
    only_tlog_tiles_bundles(&dir);
    let bundle_path = dir.join("tile/entries/000.p/5");
    let bundle = std::fs::read(&bundle_path).unwrap();
    let mut entries: Vec<Vec<u8>> = tiles::decode_bundle(0, &bundle, 5)
        .unwrap()
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    let at = entries[3].windows(4).position(|w| w == b"Lyon").unwrap();
    entries[3][at] = b'N';
    let encoded = tiles::encode_bundle(
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| (i as u64, e.as_slice())),
    )
    .unwrap();
    std::fs::write(&bundle_path, encoded).unwrap();
    let mut leaves: Vec<_> = entries
        .iter()
        .map(|e| custody_core::merkle::leaf_hash(e))
        .collect();
    std::fs::write(tile_file(&dir), tiles::tile_bytes(&leaves)).unwrap();
    let root = custody_core::merkle::tree_root(leaves.as_mut_slice(), 5).unwrap();
    let note = custody_core::checkpoint::Checkpoint {
        origin: ORIGIN.to_owned(),
        size: 5,
        root,
        extensions: vec![],
    }
    .sign(&[&log_key()])
    .unwrap();
    std::fs::write(dir.join("checkpoint"), note.to_bytes()).unwrap();

    let report = verify(&dir, None).unwrap().report;
    assert!(
        report
            .findings
            .contains(&LedgerFinding::BadSignature { seq: 3 }),
        "{:?}",
        report.findings
    );
}

/// Removes the Custody entry bundles of an export, leaving the tlog-tiles ones.
fn only_tlog_tiles_bundles(dir: &std::path::Path) {
    std::fs::remove_dir_all(dir.join("custody")).unwrap();
}

#[test]
fn fail_edited_entry_in_a_custody_bundle_is_refused() {
    let f = populated(2);
    let dir = export(&f, "pub");
    let bundle = dir.join("custody/entries/000.p/5");
    let mut bytes = std::fs::read(&bundle).unwrap();
    let at = bytes.windows(4).position(|w| w == b"Lyon").unwrap();
    bytes[at] = b'N';
    std::fs::write(&bundle, bytes).unwrap();
    let e = verify(&dir, None).unwrap_err();
    assert!(
        matches!(e, PublishedError::Tile(TileError::LeafMismatch { seq: 3 })),
        "{e:?}"
    );
    // A Custody bundle cut short, or with bytes after its entries.
    let good = tiles::encode_custody_bundle(
        (0..5)
            .map(|seq| (seq, f.ledger.entry(seq).unwrap().bytes))
            .collect::<Vec<_>>()
            .iter()
            .map(|(s, b)| (*s, b.as_slice())),
    )
    .unwrap();
    for bad in [
        good[..good.len() - 1].to_vec(),
        [good.as_slice(), b"x"].concat(),
    ] {
        std::fs::write(&bundle, bad).unwrap();
        let e = verify(&dir, None).unwrap_err();
        assert!(
            matches!(
                e,
                PublishedError::Tile(TileError::BundleMalformed { index: 0, .. })
            ),
            "{e:?}"
        );
    }
    std::fs::write(&bundle, good).unwrap();
    assert!(verify(&dir, None).unwrap().report.is_clean());
}

#[test]
fn fail_custody_bundle_entry_longer_than_a_ledger_entry_is_refused_unread() {
    let mut prefix = ((tiles::MAX_CUSTODY_BUNDLE_ENTRY_BYTES + 1) as u32)
        .to_be_bytes()
        .to_vec();
    prefix.extend_from_slice(b"{}");
    let mut seen = 0;
    let e = tiles::read_custody_bundle(0, &mut prefix.as_slice(), 1, Some(1), &mut |_, _| {
        seen += 1;
        Ok(())
    })
    .unwrap_err();
    assert!(
        matches!(e, TileError::BundleMalformed { index: 0, .. }),
        "{e:?}"
    );
    assert_eq!(seen, 0);
    // At the limit the length is accepted (and the entry read, here found short).
    let at_limit = (tiles::MAX_CUSTODY_BUNDLE_ENTRY_BYTES as u32).to_be_bytes();
    let e = tiles::read_custody_bundle(0, &mut &at_limit[..], 1, Some(1), &mut |_, _| Ok(()))
        .unwrap_err();
    assert!(
        matches!(e, TileError::BundleMalformed { reason, .. } if reason.contains("past the end")),
        "{e:?}"
    );
}
