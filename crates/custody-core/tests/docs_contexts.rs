//! docs/formats.md §3 lists the signing contexts; the code has exactly those.

use custody_core::sign::CONTEXTS;

#[test]
fn formats_md_lists_exactly_the_contexts_in_use() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/formats.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with("3. Signatures over records"))
        .expect("formats.md §3");
    let listed: Vec<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    assert_eq!(listed, CONTEXTS);
}
