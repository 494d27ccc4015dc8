#![no_main]
//! Receipt files: never a panic; a receipt that verifies under the test receiver key
//! (seed 3, as in fixtures/json/valid_receipt.json) is exactly its canonical bytes.
use custody_core::keys::{ActorInfo, Identity};
use custody_pack::receipt::Receipt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let receiver = Identity::from_seed(ActorInfo::named("receiver@example.de"), [3; 32]).unwrap();
    if let Ok(verified) = Receipt::parse_and_verify(data, &[receiver.public_key()], &[]) {
        assert_eq!(verified.receipt.to_canonical().unwrap(), data);
    }
});
