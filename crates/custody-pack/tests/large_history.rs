//! Verification work stays linear in the statement and the events: a statement of many
//! items, each listing one event that names them all, is checked by index lookups, not by
//! scanning the event's items for every statement item (or the statement for every event
//! item), which at this size would take the unoptimised test build many minutes.

mod common;

use common::{entries, genuine, trusting, write_zip, ID};
use custody_core::canonical;
use custody_pack::layout;
use custody_pack::package::{PackageItem, PackageStatement};
use custody_pack::verify::{verify_package, FindingGroup, FindingKind};
use custody_store::SignedEvent;

/// Items in the statement, all named by one event.
const ITEMS: usize = 80_000;

#[test]
fn fail_statement_and_event_of_eighty_thousand_items_are_checked_in_linear_time() {
    let s = genuine();
    let mut files = entries(&s.package);
    let statement_name = format!("{ID}/{}", layout::PACKAGE_JSON);
    let mut statement: PackageStatement = serde_json::from_slice(&files[&statement_name]).unwrap();
    let seq = statement.items[0].acquired_seq;
    let event_name = format!("{ID}/{}", layout::event_path(seq));
    let mut event: SignedEvent = serde_json::from_slice(&files[&event_name]).unwrap();

    let template = statement.items[0].clone();
    let item = |id: String| PackageItem {
        path: format!("data/{id}/disk.img"),
        id,
        events: vec![seq],
        acquired_seq: seq,
        ..template.clone()
    };
    let ids: Vec<String> = (0..ITEMS).map(|n| format!("X-{n:05}")).collect();
    // The event names every generated item; the statement holds them all, plus one item
    // that lists the event as its acquisition although the event does not name it.
    event.event.items = ids.clone();
    statement.items = ids.into_iter().map(item).collect();
    statement.items.push(item("STRAY".to_owned()));
    files.insert(
        statement_name,
        canonical::to_canonical_vec(&statement).unwrap(),
    );
    files.insert(event_name, canonical::to_canonical_vec(&event).unwrap());
    let bad = s.dir.path().join("large.zip");
    write_zip(&bad, &files);

    let report = verify_package(&bad, &trusting(&s.officer)).unwrap();
    assert!(!report.verified);
    let events: Vec<_> = report.group(FindingGroup::Events).collect();
    // The altered event no longer carries a valid signature …
    assert!(
        events
            .iter()
            .any(|f| f.seq == Some(seq)
                && matches!(f.kind, FindingKind::EventSignatureInvalid { .. }))
    );
    // … but it concerns the statement's items, so it is not unrelated (the original
    // items' other events now are); of all the items only the stray one is reported as not
    // named by it.
    assert!(events
        .iter()
        .any(|f| matches!(f.kind, FindingKind::EventUnrelated)));
    assert!(!events
        .iter()
        .any(|f| f.seq == Some(seq) && matches!(f.kind, FindingKind::EventUnrelated)));
    let not_named: Vec<_> = events
        .iter()
        .filter_map(|f| match &f.kind {
            FindingKind::EventNotForItem { item } => Some(item.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(not_named, ["STRAY"]);
    let not_acquired: Vec<_> = events
        .iter()
        .filter_map(|f| match &f.kind {
            FindingKind::NotAcquisition { item, .. } => Some(item.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(not_acquired, ["STRAY"]);
}
