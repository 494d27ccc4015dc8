//! docs/package.md §8 gives an example of a receipt's two times: `received_time` to the
//! nanosecond and the cosignature's timestamp, truncated to the second. Rebuilt here from
//! the document's own bytes, so the document cannot drift from the rule.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[test]
fn package_md_cosignature_time_example() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/package.md");
    let text = std::fs::read_to_string(path).unwrap();
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let at = flat.find("the receipt keeps it so").expect("the example");
    let spans: Vec<&str> = flat[at..].split('`').skip(1).step_by(2).take(2).collect();
    let [received, seconds] = spans[..] else {
        panic!("{spans:?}");
    };
    let received_time = OffsetDateTime::parse(received, &Rfc3339).unwrap();
    assert_eq!(custody_store::ledger::format_utc(received_time), received);
    assert!(
        received_time.nanosecond() > 0,
        "the example must have a fraction"
    );
    assert_eq!(received_time.unix_timestamp().to_string(), seconds);
}
