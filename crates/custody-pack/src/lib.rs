//! Custody evidence packages: sealing, verifying and receiving ZIP64 BagIt bags.
//!
//! The building blocks:
//! * [`zipscan`]: a structural ZIP inspector that reports every malformation, and a reader
//!   that streams entries with size and CRC-32 enforcement;
//! * [`bagit`]: an RFC 8493 BagIt model and validator (directories and ZIP archives,
//!   versions 0.93 to 1.0), and the formatting helpers for writing bags;
//! * [`zipwrite`]: a deterministic, atomic, streaming ZIP64 writer;
//! * [`layout`] and [`package`]: where things live in a package, and its statement;
//! * [`seal`], [`countersign`]: writing a package and adding signatures to it;
//! * [`encrypt`]: packages in transit as age files, encrypted to the receiving authority;
//! * [`verify`]: checking a package in place and reporting every finding;
//! * [`receive`]: verifying, extracting and recording a package, and answering with a
//!   receipt;
//! * [`receipt`], [`acknowledge`]: the receiving authority's receipt and its import into
//!   the sender's ledger;
//! * [`trust`]: the trust store of foreign authorities' keys.
//!
//! `docs/package.md` specifies the package format.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod acknowledge;
pub mod audit;
pub mod bagit;
pub mod countersign;
pub mod encrypt;
pub mod inspect;
pub mod layout;
pub mod limits;
pub mod package;
pub mod receipt;
pub mod receive;
pub mod seal;
pub mod trust;
pub mod verify;
pub mod zipscan;
pub mod zipwrite;

mod leftovers;
