#![no_main]
//! Signed notes: parsing and verification never panic.
use custody_core::keys::VerifierKey;
use custody_core::note::Note;
use libfuzzer_sys::fuzz_target;

const KEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        let key: VerifierKey = KEY.parse().expect("fixed key");
        let _ = note.verify(&[key]);
        let _ = Note::parse(&note.to_bytes());
    }
});
