//! The archive's output buffer: it hashes the archive as it is written.
//!
//! The ZIP library writes each local header before the entry's data and, once the data is
//! written, seeks back to fill in the CRC-32 and sizes it could not know before. A plain
//! buffered file would hand every byte to the disk (and to a hash) before that patch. This
//! buffer keeps the last [`KEEP`] bytes written in memory, so the patch of any entry up to
//! about that size lands in memory; bytes leave the buffer — to the file and to SHA-256 —
//! only once no patch can reach them any more, so the archive is hashed exactly as it ends
//! up on disk, in the same pass that writes it. When a patch does reach bytes already
//! handed on (an entry larger than [`KEEP`]), it is written to the file in place and the
//! running hash is marked void: [`Window::finish`] then reports no digest, and the caller
//! hashes the finished file instead. A writer that knows such an entry is coming voids the
//! hash beforehand ([`HashSwitch::void`]), so that no CPU is spent on a hash that cannot
//! be used; from then on the buffer hands every byte on as soon as it is full.

use std::io::{self, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sha2::Digest as _;

/// Bytes kept in memory behind the write position.
pub(crate) const KEEP: usize = 2 << 20;

/// The buffer is handed on (all but its last [`KEEP`] bytes) once it holds this many.
const HIGH: usize = 2 * KEEP;

/// See the module documentation.
pub(crate) struct Window<W> {
    inner: W,
    /// Bytes `[start, start + buf.len())` of the archive, not yet handed on.
    buf: Vec<u8>,
    start: u64,
    /// Where the next write goes.
    pos: u64,
    /// The archive's length so far.
    end: u64,
    /// Where `inner`'s own position is.
    inner_at: u64,
    /// SHA-256 of bytes `[0, start)`, or `None` once one of them was changed after being
    /// hashed.
    hasher: Option<sha2::Sha256>,
    /// Set by the owner of the [`HashSwitch`]: hash no more.
    void: Arc<AtomicBool>,
}

/// Lets the writer of the entries (which holds the [`Window`] only through the ZIP library)
/// stop its hashing before an entry too large for it.
#[derive(Clone, Debug, Default)]
pub(crate) struct HashSwitch(Arc<AtomicBool>);

impl HashSwitch {
    /// Stops the window's hashing for good: the caller will hash the finished file instead.
    pub(crate) fn void(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The size and SHA-256 of a finished archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArchiveDigest {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 (FIPS 180-4).
    pub sha256: [u8; 32],
}

impl<W: Write + Seek> Window<W> {
    /// A buffer in front of `inner`, which must be empty and at its start, and the switch
    /// that stops its hashing.
    pub(crate) fn new(inner: W) -> (Self, HashSwitch) {
        let switch = HashSwitch::default();
        let window = Window {
            inner,
            buf: Vec::with_capacity(HIGH + (1 << 16)),
            start: 0,
            pos: 0,
            end: 0,
            inner_at: 0,
            hasher: Some(sha2::Sha256::new()),
            void: Arc::clone(&switch.0),
        };
        (window, switch)
    }

    /// Hands the first `n` buffered bytes on to the file and the hash.
    fn hand_on(&mut self, n: usize) -> io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        if self.inner_at != self.start {
            self.inner.seek(SeekFrom::Start(self.start))?;
        }
        self.inner.write_all(&self.buf[..n])?;
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&self.buf[..n]);
        }
        self.buf.drain(..n);
        self.start += n as u64;
        self.inner_at = self.start;
        Ok(())
    }

    fn buffered_end(&self) -> u64 {
        self.start + self.buf.len() as u64
    }

    /// Hands everything on, and returns the file with the archive's digest when every byte
    /// was hashed once and never changed afterwards.
    pub(crate) fn finish(mut self) -> io::Result<(W, Option<ArchiveDigest>)> {
        self.hand_on(self.buf.len())?;
        self.inner.flush()?;
        let digest = self
            .hasher
            .filter(|_| self.start == self.end)
            .map(|hasher| ArchiveDigest {
                size: self.end,
                sha256: hasher.finalize().into(),
            });
        Ok((self.inner, digest))
    }
}

impl<W: Write + Seek> Write for Window<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        if self.hasher.is_some() && self.void.load(Ordering::Relaxed) {
            self.hasher = None;
        }
        let len = data.len() as u64;
        let after = self
            .pos
            .checked_add(len)
            .ok_or_else(|| io::Error::other("archive offset overflow"))?;
        if self.pos < self.start {
            // A patch of bytes already handed on: written in place, and the hash of those
            // bytes is no longer the archive's.
            self.hand_on(self.buf.len())?;
            self.hasher = None;
            self.inner.seek(SeekFrom::Start(self.pos))?;
            self.inner.write_all(data)?;
            self.inner_at = after;
            self.start = self.start.max(after);
        } else {
            if self.pos > self.buffered_end() {
                // Past the buffered bytes (no gap is ever left in an archive, but stay
                // correct if one were): hand everything on and start the buffer here.
                self.hand_on(self.buf.len())?;
                self.hasher = None;
                self.start = self.pos;
            }
            let offset = usize::try_from(self.pos - self.start)
                .map_err(|_| io::Error::other("archive buffer offset"))?;
            let overlap = (self.buf.len() - offset).min(data.len());
            self.buf[offset..offset + overlap].copy_from_slice(&data[..overlap]);
            self.buf.extend_from_slice(&data[overlap..]);
            if self.buf.len() >= HIGH {
                // Without a hash to keep whole, nothing needs to stay behind for patches.
                let keep = if self.hasher.is_some() { KEEP } else { 0 };
                self.hand_on(self.buf.len() - keep)?;
            }
        }
        self.pos = after;
        self.end = self.end.max(after);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Buffered bytes stay buffered (a patch may still reach them); `finish` hands them on.
        Ok(())
    }
}

impl<W: Write + Seek> Seek for Window<W> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let base = match to {
            SeekFrom::Start(n) => return Ok(self.set_pos(Some(n))),
            SeekFrom::Current(d) => (self.pos, d),
            SeekFrom::End(d) => (self.end, d),
        };
        let pos = base.0.checked_add_signed(base.1);
        if pos.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the archive",
            ));
        }
        Ok(self.set_pos(pos))
    }
}

impl<W> Window<W> {
    /// The file the window hands bytes on to (to ask it whether a write failed).
    pub(crate) fn get_ref(&self) -> &W {
        &self.inner
    }

    fn set_pos(&mut self, pos: Option<u64>) -> u64 {
        if let Some(pos) = pos {
            self.pos = pos;
        }
        self.pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn sha256(bytes: &[u8]) -> [u8; 32] {
        sha2::Sha256::digest(bytes).into()
    }

    /// Writes `n` bytes, seeks back to patch 4 bytes of the entry's 30-byte header, and
    /// returns to the end, as the ZIP library does for each entry.
    fn entry<W: Write + Seek>(w: &mut W, n: usize, seed: u8) {
        let header_at = w.seek(SeekFrom::End(0)).unwrap();
        let bytes: Vec<u8> = (0..n).map(|i| (i as u8).wrapping_mul(seed)).collect();
        w.write_all(&[0; 30]).unwrap();
        w.write_all(&bytes).unwrap();
        w.seek(SeekFrom::Start(header_at + 14)).unwrap();
        w.write_all(&[seed; 4]).unwrap();
        w.seek(SeekFrom::End(0)).unwrap();
    }

    /// The archive `sizes` make through a window, its digest, and the same writes made
    /// directly.
    fn archive(sizes: &[usize]) -> (Vec<u8>, Option<ArchiveDigest>, Vec<u8>) {
        let (mut w, _) = Window::new(Cursor::new(Vec::new()));
        let mut plain = Cursor::new(Vec::new());
        for (i, n) in sizes.iter().enumerate() {
            entry(&mut w, *n, i as u8 | 1);
            entry(&mut plain, *n, i as u8 | 1);
        }
        let (file, digest) = w.finish().unwrap();
        (file.into_inner(), digest, plain.into_inner())
    }

    #[test]
    fn patches_within_the_window_keep_the_running_hash() {
        let sizes: Vec<usize> = (0..200).map(|i| (i * 7919) % 300_000).collect();
        let (bytes, digest, plain) = archive(&sizes);
        assert_eq!(bytes, plain);
        let digest = digest.expect("every patch landed in memory");
        assert_eq!(digest.size, bytes.len() as u64);
        assert_eq!(digest.sha256, sha256(&bytes));
    }

    #[test]
    fn fail_a_patch_behind_the_window_voids_the_hash_but_not_the_bytes() {
        let (bytes, digest, plain) = archive(&[1000, 3 * KEEP, 50]);
        assert_eq!(bytes, plain, "the bytes are right either way");
        assert_eq!(digest, None, "a large entry's patch voids the running hash");
    }

    #[test]
    fn fail_a_voided_hash_reports_no_digest_and_writes_the_same_bytes() {
        let (mut w, switch) = Window::new(Cursor::new(Vec::new()));
        let mut plain = Cursor::new(Vec::new());
        for (i, n) in [10usize, 5 * KEEP, 10].into_iter().enumerate() {
            if i == 1 {
                switch.void();
            }
            entry(&mut w, n, 5);
            entry(&mut plain, n, 5);
        }
        let (file, digest) = w.finish().unwrap();
        assert_eq!(file.into_inner(), plain.into_inner());
        assert_eq!(digest, None);
    }

    #[test]
    fn fail_a_seek_before_the_start_is_refused() {
        let (mut w, _) = Window::new(Cursor::new(Vec::new()));
        w.write_all(b"abc").unwrap();
        assert!(w.seek(SeekFrom::Current(-4)).is_err());
        assert_eq!(w.stream_position().unwrap(), 3);
    }
}
