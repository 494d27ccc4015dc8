//! The wider ZIP subset admitted for plain BagIt bags zipped by common tools (`zip -r`,
//! Python's `zipfile`, `bsdtar`), used by `verify --bagit` only; packages are always
//! scanned with [`ZipProfile::Package`].
//!
//! The one-reading rule still holds: every byte is accounted for, and what is admitted
//! changes no reader's idea of which bytes an entry holds:
//! - **Data descriptors** (flag bit 3) on DEFLATE entries. The descriptor must follow the
//!   compressed data, carry its signature, and agree with the central directory on CRC-32
//!   and both sizes; each local-header CRC-32 and size must be 0 or equal to the central
//!   value. The DEFLATE stream must end exactly at the declared compressed size (checked
//!   for every entry), so a streaming reader that finds the end of the data by decoding
//!   finds the same end. STORED entries with a descriptor stay refused: a streaming
//!   reader cannot find where their data ends (Java's `ZipInputStream` refuses them).
//! - **Extra fields `UT` (0x5455, extended timestamp) and `ux` (0x7875, Unix UID/GID)**:
//!   they carry times and owners, never names, sizes or offsets. Each must be well formed
//!   and bounded (below), or the entry gets [`ZipFinding::ExtraFieldMalformed`].

use super::{HeaderKind, ZipFinding};

/// Extended timestamp (Info-ZIP "UT"): a flags byte, then up to three 32-bit times.
pub const EXTRA_EXTENDED_TIMESTAMP: u16 = 0x5455;
/// Info-ZIP new Unix extra field ("ux"): version 1, then UID and GID sizes and values.
pub const EXTRA_UNIX_OWNER: u16 = 0x7875;
/// Largest UID or GID accepted in a `ux` field, in bytes (Info-ZIP writes 4).
pub const MAX_OWNER_ID_BYTES: usize = 8;

/// Which subset of ZIP a scan accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ZipProfile {
    /// What [`crate::zipwrite`] writes, plus variations every reader reads alike: the
    /// profile of Custody packages, and the default.
    #[default]
    Package,
    /// [`ZipProfile::Package`] plus data descriptors on DEFLATE entries and the `UT` and
    /// `ux` extra fields (see the module documentation): plain bags from other tools.
    ForeignBag,
}

impl ZipProfile {
    /// Whether an entry with `method` may defer its CRC-32 and sizes to a data descriptor.
    pub(super) fn admits_descriptor(self, method: u16) -> bool {
        self == ZipProfile::ForeignBag && method == super::METHOD_DEFLATE
    }

    /// For an extra field this profile admits besides ZIP64: whether `data` is well
    /// formed. `None` if the profile does not admit `id`.
    pub(super) fn admitted_extra(self, id: u16, data: &[u8]) -> Option<bool> {
        if self != ZipProfile::ForeignBag {
            return None;
        }
        match id {
            EXTRA_EXTENDED_TIMESTAMP => Some(timestamp_ok(data)),
            EXTRA_UNIX_OWNER => Some(owner_ok(data)),
            _ => None,
        }
    }
}

/// `UT`: a flags byte with only bits 0–2 (modification, access, creation time) set,
/// followed by at most one 32-bit time per set bit (central headers usually hold the
/// modification time only).
fn timestamp_ok(data: &[u8]) -> bool {
    let Some((&flags, times)) = data.split_first() else {
        return false;
    };
    flags & !0b111 == 0 && times.len() % 4 == 0 && times.len() / 4 <= flags.count_ones() as usize
}

/// `ux`: empty (as some central headers have it), or version 1, a UID of 1 to
/// [`MAX_OWNER_ID_BYTES`] bytes, a GID likewise, and nothing after.
fn owner_ok(data: &[u8]) -> bool {
    if data.is_empty() {
        return true;
    }
    let [1, uid_len, rest @ ..] = data else {
        return false;
    };
    let uid_len = usize::from(*uid_len);
    if uid_len == 0 || uid_len > MAX_OWNER_ID_BYTES || rest.len() <= uid_len {
        return false;
    }
    let gid_len = usize::from(rest[uid_len]);
    gid_len > 0 && gid_len <= MAX_OWNER_ID_BYTES && rest.len() == uid_len + 1 + gid_len
}

/// The finding for a malformed admitted extra field.
pub(super) fn malformed(name: &str, offset: u64, header: HeaderKind) -> ZipFinding {
    ZipFinding::ExtraFieldMalformed {
        name: name.to_owned(),
        offset,
        header,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert!(timestamp_ok(&[3, 1, 2, 3, 4]));
        assert!(timestamp_ok(&[7, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]));
        assert!(timestamp_ok(&[1]));
    }

    #[test]
    fn fail_malformed_timestamps() {
        assert!(!timestamp_ok(&[]));
        assert!(!timestamp_ok(&[8, 1, 2, 3, 4]));
        assert!(!timestamp_ok(&[1, 1, 2, 3]));
        assert!(!timestamp_ok(&[1, 1, 2, 3, 4, 1, 2, 3, 4]));
    }

    #[test]
    fn owners() {
        assert!(owner_ok(&[]));
        assert!(owner_ok(&[1, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0]));
        assert!(owner_ok(&[
            1, 8, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0
        ]));
    }

    #[test]
    fn fail_malformed_owners() {
        assert!(!owner_ok(&[2, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0]));
        assert!(!owner_ok(&[1, 4, 0, 0, 0, 0, 4, 0, 0, 0]));
        assert!(!owner_ok(&[1, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0, 9]));
        // One past the bound.
        assert!(!owner_ok(&[1, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0]));
        assert!(!owner_ok(&[1, 0, 4, 0, 0, 0, 0]));
    }

    #[test]
    fn only_the_foreign_profile_admits() {
        assert_eq!(
            ZipProfile::Package.admitted_extra(EXTRA_EXTENDED_TIMESTAMP, &[1]),
            None
        );
        assert_eq!(
            ZipProfile::ForeignBag.admitted_extra(EXTRA_EXTENDED_TIMESTAMP, &[1]),
            Some(true)
        );
        assert_eq!(ZipProfile::ForeignBag.admitted_extra(0x000a, &[]), None);
        assert!(!ZipProfile::Package.admits_descriptor(super::super::METHOD_DEFLATE));
        assert!(ZipProfile::ForeignBag.admits_descriptor(super::super::METHOD_DEFLATE));
        assert!(!ZipProfile::ForeignBag.admits_descriptor(super::super::METHOD_STORED));
    }
}
