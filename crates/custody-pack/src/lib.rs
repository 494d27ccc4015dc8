//! Custody evidence packages: sealing, verifying and receiving ZIP64 BagIt bags.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
