//! Streaming content hashing: SHA-256 and BLAKE3 computed together in one read pass.
//!
//! Every byte of evidence is read exactly once. The reading thread hands each buffer to a
//! SHA-256 worker and a BLAKE3 worker and, while they hash, passes it on to a caller-supplied
//! writer (a ZIP entry, a copy, or nothing), so hashing a file costs the time of the slowest
//! of the three, not their sum. Memory stays bounded by a small pool of buffers.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::thread;

use sha2::Digest as _;

/// Size of each read buffer.
pub const CHUNK_SIZE: usize = 1 << 20;

/// The size and digests of one stream of bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Digests {
    /// Number of bytes read.
    pub size: u64,
    /// SHA-256 (FIPS 180-4).
    #[serde(with = "hex32")]
    pub sha256: [u8; 32],
    /// BLAKE3 (256-bit output).
    #[serde(with = "hex32")]
    pub blake3: [u8; 32],
}

impl Digests {
    /// SHA-256 as lower-case hex.
    pub fn sha256_hex(&self) -> String {
        crate::hex::encode(&self.sha256)
    }
    /// BLAKE3 as lower-case hex.
    pub fn blake3_hex(&self) -> String {
        crate::hex::encode(&self.blake3)
    }
}

/// Serde helper: a 32-byte array as lower-case hex.
pub mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialises as hex.
    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::hex::encode(bytes))
    }
    /// Deserialises from hex, requiring exactly 32 bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        crate::hex::decode_array(&text)
            .ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

/// A failure while hashing a file, naming the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file at fault.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Writing the copied bytes failed.
    #[error("cannot write copy of {path}: {source}")]
    Write {
        /// The file being copied.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// Number of chunk buffers in flight at once. With one being filled, one being written and
/// one being hashed by each worker, four keep every thread busy; memory stays at
/// `POOL_SIZE * CHUNK_SIZE` whatever the input size.
const POOL_SIZE: usize = 4;

/// Reads `reader` to the end once, writing every byte to `writer` and hashing it with
/// SHA-256 and BLAKE3 on two worker threads. `progress` is called with the running total
/// of bytes read after each chunk.
///
/// Errors from the reader and from the writer are both returned as `io::Error`; use
/// [`copy_and_hash_file`] to get errors that name the file.
///
/// ```
/// use custody_core::hash::hash_reader;
///
/// let digests = hash_reader(&b"abc"[..], &mut |_| {}).unwrap();
/// assert_eq!(digests.size, 3);
/// assert_eq!(
///     digests.sha256_hex(),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn copy_and_hash<R: Read, W: Write>(
    reader: R,
    writer: W,
    progress: &mut dyn FnMut(u64),
) -> io::Result<Digests> {
    stream(reader, writer, progress).map_err(StreamError::into_io)
}

/// Hashes everything `reader` yields (see [`copy_and_hash`]).
pub fn hash_reader<R: Read>(reader: R, progress: &mut dyn FnMut(u64)) -> io::Result<Digests> {
    copy_and_hash(reader, io::sink(), progress)
}

/// Hashes one file.
pub fn hash_file(path: &Path, progress: &mut dyn FnMut(u64)) -> Result<Digests, HashError> {
    copy_and_hash_file(path, io::sink(), progress)
}

/// Hashes one file while copying it into `writer`; errors name the file.
pub fn copy_and_hash_file<W: Write>(
    path: &Path,
    writer: W,
    progress: &mut dyn FnMut(u64),
) -> Result<Digests, HashError> {
    let file = std::fs::File::open(path).map_err(|source| HashError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    stream(file, writer, progress).map_err(|err| match err {
        StreamError::Read(source) => HashError::Read {
            path: path.to_path_buf(),
            source,
        },
        StreamError::Write(source) => HashError::Write {
            path: path.to_path_buf(),
            source,
        },
    })
}

/// Bytes read into memory together with their digests, made only by [`read_and_hash`]: the
/// digests always describe exactly these bytes, so whoever writes them out (a ZIP entry) writes
/// what was hashed, with no second reading of the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hashed {
    bytes: Vec<u8>,
    digests: Digests,
}

impl Hashed {
    /// The bytes read.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Their size and digests.
    pub fn digests(&self) -> Digests {
        self.digests
    }
}

/// Reads at most `limit` bytes of `reader` into memory and hashes them with SHA-256 and
/// BLAKE3 on the calling thread. Meant for small inputs hashed many at a time on several
/// cores ([`crate::parallel::pipeline`]); memory is bounded by `limit`. A reader with more
/// than `limit` bytes is cut off there (the caller compares the size it expected).
pub fn read_and_hash<R: Read>(reader: R, limit: u64) -> io::Result<Hashed> {
    let mut bytes = Vec::with_capacity(usize::try_from(limit.min(CHUNK_SIZE as u64)).unwrap_or(0));
    reader.take(limit).read_to_end(&mut bytes)?;
    let digests = Digests {
        size: bytes.len() as u64,
        sha256: sha2::Sha256::digest(&bytes).into(),
        blake3: *blake3::hash(&bytes).as_bytes(),
    };
    Ok(Hashed { bytes, digests })
}

/// Which side of the copy failed, so that file-level errors can say so.
enum StreamError {
    Read(io::Error),
    Write(io::Error),
}

impl StreamError {
    fn into_io(self) -> io::Error {
        match self {
            StreamError::Read(err) | StreamError::Write(err) => err,
        }
    }
}

/// One chunk of input: a fixed-size buffer of which the first `len` bytes are valid.
struct Chunk {
    buf: Box<[u8]>,
    len: usize,
}

thread_local! {
    /// One spare buffer per thread for the first chunk of each stream: hashing thousands of
    /// small files must not allocate (and zero) a fresh 1 MiB buffer for each.
    static SPARE: std::cell::RefCell<Option<Chunk>> = const { std::cell::RefCell::new(None) };
}

impl Chunk {
    /// This thread's spare buffer, or a new one.
    fn take_spare() -> Chunk {
        SPARE
            .with(|spare| spare.borrow_mut().take())
            .unwrap_or_else(Chunk::new)
    }

    /// Keeps the buffer as this thread's spare.
    fn into_spare(self) {
        SPARE.with(|spare| *spare.borrow_mut() = Some(self));
    }

    fn new() -> Chunk {
        Chunk {
            buf: vec![0; CHUNK_SIZE].into_boxed_slice(),
            len: 0,
        }
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Fills the buffer from `reader` until it is full or the reader is exhausted; returns
    /// whether the reader is exhausted.
    fn fill<R: Read>(&mut self, reader: &mut R) -> io::Result<bool> {
        self.len = 0;
        while self.len < self.buf.len() {
            match reader.read(&mut self.buf[self.len..]) {
                Ok(0) => return Ok(true),
                Ok(n) => self.len += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        Ok(false)
    }
}

/// The whole single-pass pipeline. Inputs that fit in one chunk are hashed on the calling
/// thread, so the many small files of a typical extraction do not pay for two thread spawns
/// each.
fn stream<R: Read, W: Write>(
    mut reader: R,
    mut writer: W,
    progress: &mut dyn FnMut(u64),
) -> Result<Digests, StreamError> {
    let mut first = Chunk::take_spare();
    let at_end = first.fill(&mut reader).map_err(StreamError::Read)?;
    let size = first.len as u64;
    progress(size);
    if at_end {
        let bytes = first.bytes();
        let sha256 = sha2::Sha256::digest(bytes).into();
        let blake3 = *blake3::hash(bytes).as_bytes();
        let written = writer
            .write_all(bytes)
            .and_then(|()| writer.flush())
            .map_err(StreamError::Write);
        first.into_spare();
        written?;
        return Ok(Digests {
            size,
            sha256,
            blake3,
        });
    }
    stream_parallel(first, reader, writer, progress)
}

/// A worker's half of the pipeline: hash every chunk it is handed, then hand the chunk back
/// so that the reading thread can reuse its buffer.
fn hash_worker(
    chunks: mpsc::Receiver<Arc<Chunk>>,
    used: mpsc::Sender<Arc<Chunk>>,
    mut update: impl FnMut(&[u8]),
) {
    for chunk in chunks {
        #[cfg(test)]
        tests::inject_worker_panic(chunk.bytes());
        update(chunk.bytes());
        // The reading thread may already have given up after an error; the buffer is then
        // simply freed.
        let _ = used.send(chunk);
    }
}

fn stream_parallel<R: Read, W: Write>(
    first: Chunk,
    mut reader: R,
    mut writer: W,
    progress: &mut dyn FnMut(u64),
) -> Result<Digests, StreamError> {
    let (sha_tx, sha_rx) = mpsc::sync_channel::<Arc<Chunk>>(POOL_SIZE);
    let (blake_tx, blake_rx) = mpsc::sync_channel::<Arc<Chunk>>(POOL_SIZE);
    let (used_tx, used_rx) = mpsc::channel::<Arc<Chunk>>();
    let blake_used_tx = used_tx.clone();

    thread::scope(|scope| {
        let sha_worker = scope.spawn(move || {
            let mut hasher = sha2::Sha256::new();
            hash_worker(sha_rx, used_tx, |bytes| hasher.update(bytes));
            <[u8; 32]>::from(hasher.finalize())
        });
        let blake_worker = scope.spawn(move || {
            let mut hasher = blake3::Hasher::new();
            hash_worker(blake_rx, blake_used_tx, |bytes| {
                hasher.update(bytes);
            });
            *hasher.finalize().as_bytes()
        });

        // Runs on this thread while the workers hash. Returning early drops both senders,
        // which ends the workers; the joins below then always happen.
        let outcome = (|| {
            let mut free: Vec<Chunk> = Vec::with_capacity(POOL_SIZE);
            let mut allocated = 1;
            let mut chunk = first;
            let mut total = chunk.len as u64;
            loop {
                let shared = Arc::new(chunk);
                let handed_over = sha_tx.send(Arc::clone(&shared)).is_ok()
                    && blake_tx.send(Arc::clone(&shared)).is_ok();
                if !handed_over {
                    return Err(StreamError::Read(worker_stopped()));
                }
                writer
                    .write_all(shared.bytes())
                    .map_err(StreamError::Write)?;
                let last = shared.len < CHUNK_SIZE;
                recycle(shared, &mut free);
                if last {
                    break;
                }

                chunk = match free.pop() {
                    Some(chunk) => chunk,
                    None if allocated < POOL_SIZE => {
                        allocated += 1;
                        Chunk::new()
                    }
                    None => wait_for_free(&used_rx, &mut free)?,
                };
                let at_end = chunk.fill(&mut reader).map_err(StreamError::Read)?;
                total += chunk.len as u64;
                progress(total);
                // A final short chunk goes round the loop once more; its length below
                // CHUNK_SIZE ends it there.
                if at_end && chunk.len == 0 {
                    break;
                }
            }
            writer.flush().map_err(StreamError::Write)?;
            Ok(total)
        })();

        drop(sha_tx);
        drop(blake_tx);
        // A worker that panicked fails the run with its own panic, before anything the
        // stopped pipeline made of it (a send error) could read as an ordinary I/O error.
        let sha256 = sha_worker
            .join()
            .unwrap_or_else(|payload| std::panic::resume_unwind(payload));
        let blake3 = blake_worker
            .join()
            .unwrap_or_else(|payload| std::panic::resume_unwind(payload));
        let size = outcome?;
        Ok(Digests {
            size,
            sha256,
            blake3,
        })
    })
}

/// Takes back one reference to a chunk; the last of the three holders (writer and two
/// workers) returns the buffer to the free list.
fn recycle(chunk: Arc<Chunk>, free: &mut Vec<Chunk>) {
    if let Some(chunk) = Arc::into_inner(chunk) {
        free.push(chunk);
    }
}

/// Blocks until the workers have released a whole buffer.
fn wait_for_free(
    used: &mpsc::Receiver<Arc<Chunk>>,
    free: &mut Vec<Chunk>,
) -> Result<Chunk, StreamError> {
    loop {
        let chunk = used
            .recv()
            .map_err(|_| StreamError::Read(worker_stopped()))?;
        recycle(chunk, free);
        if let Some(chunk) = free.pop() {
            return Ok(chunk);
        }
    }
}

fn worker_stopped() -> io::Error {
    io::Error::other("a hashing thread stopped unexpectedly")
}

/// Digest algorithms that appear in BagIt manifests: every one `bagit.py` can write, and
/// BLAKE3. MD5 and SHA-1 exist only so that bags made by other tools can be verified;
/// Custody never relies on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// MD5 (RFC 1321), legacy input only.
    Md5,
    /// SHA-1 (FIPS 180-4), legacy input only.
    Sha1,
    /// SHA-256 (FIPS 180-4).
    Sha256,
    /// SHA-512 (FIPS 180-4).
    Sha512,
    /// BLAKE3, 256-bit output.
    Blake3,
    /// SHA-224 (FIPS 180-4).
    Sha224,
    /// SHA-384 (FIPS 180-4).
    Sha384,
    /// BLAKE2b with a 512-bit output (RFC 7693), Python's `blake2b`.
    Blake2b,
    /// BLAKE2s with a 256-bit output (RFC 7693), Python's `blake2s`.
    Blake2s,
    /// SHA3-224 (FIPS 202).
    Sha3_224,
    /// SHA3-256 (FIPS 202).
    Sha3_256,
    /// SHA3-384 (FIPS 202).
    Sha3_384,
    /// SHA3-512 (FIPS 202).
    Sha3_512,
}

impl Algorithm {
    /// The lower-case name used in BagIt manifest file names (`manifest-<name>.txt`), as
    /// `bagit.py` spells it (Python's `hashlib` names: `sha3_256`, `blake2b`).
    pub fn bagit_name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "md5",
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
            Algorithm::Blake3 => "blake3",
            Algorithm::Sha224 => "sha224",
            Algorithm::Sha384 => "sha384",
            Algorithm::Blake2b => "blake2b",
            Algorithm::Blake2s => "blake2s",
            Algorithm::Sha3_224 => "sha3_224",
            Algorithm::Sha3_256 => "sha3_256",
            Algorithm::Sha3_384 => "sha3_384",
            Algorithm::Sha3_512 => "sha3_512",
        }
    }

    /// Parses a BagIt algorithm name, case-insensitively, ignoring `-` and `_` (so
    /// `SHA-256`, `sha3_256` and `sha3-256` are all accepted).
    pub fn from_bagit_name(name: &str) -> Option<Algorithm> {
        let folded: String = name
            .trim()
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        Algorithm::ALL.into_iter().find(|a| {
            let own: String = a.bagit_name().chars().filter(|c| *c != '_').collect();
            own == folded
        })
    }

    /// Every supported algorithm, in declaration order.
    pub const ALL: [Algorithm; 13] = [
        Algorithm::Md5,
        Algorithm::Sha1,
        Algorithm::Sha256,
        Algorithm::Sha512,
        Algorithm::Blake3,
        Algorithm::Sha224,
        Algorithm::Sha384,
        Algorithm::Blake2b,
        Algorithm::Blake2s,
        Algorithm::Sha3_224,
        Algorithm::Sha3_256,
        Algorithm::Sha3_384,
        Algorithm::Sha3_512,
    ];

    /// Length of the digest in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Algorithm::Md5 => 16,
            Algorithm::Sha1 => 20,
            Algorithm::Sha224 | Algorithm::Sha3_224 => 28,
            Algorithm::Sha256 | Algorithm::Blake3 | Algorithm::Blake2s | Algorithm::Sha3_256 => 32,
            Algorithm::Sha384 | Algorithm::Sha3_384 => 48,
            Algorithm::Sha512 | Algorithm::Blake2b | Algorithm::Sha3_512 => 64,
        }
    }

    /// Whether forgers can make two inputs with the same digest (MD5, SHA-1): such a
    /// manifest alone does not protect a payload against tampering.
    pub fn is_broken(self) -> bool {
        matches!(self, Algorithm::Md5 | Algorithm::Sha1)
    }
}

/// Hashes `reader` once with every algorithm in `algorithms`, returning the digests in the
/// same order.
pub fn hash_reader_multi<R: Read>(
    mut reader: R,
    algorithms: &[Algorithm],
    progress: &mut dyn FnMut(u64),
) -> io::Result<Vec<Vec<u8>>> {
    let pipelined = |a: &Algorithm| matches!(a, Algorithm::Sha256 | Algorithm::Blake3);
    let mut others = MultiWriter(
        algorithms
            .iter()
            .filter(|a| !pipelined(a))
            .map(|a| MultiState::new(*a))
            .collect(),
    );
    if algorithms.iter().any(pipelined) {
        // SHA-256 and BLAKE3 run on the pipeline's worker threads; any legacy algorithm
        // hashes on this thread as the pipeline's writer, beside them.
        let digests = copy_and_hash(reader, &mut others, progress)?;
        let mut legacy = others.0.into_iter();
        return Ok(algorithms
            .iter()
            .map(|a| match a {
                Algorithm::Sha256 => digests.sha256.to_vec(),
                Algorithm::Blake3 => digests.blake3.to_vec(),
                _ => legacy.next().map(MultiState::finish).unwrap_or_default(),
            })
            .collect());
    }
    let mut chunk = Chunk::take_spare();
    let mut total = 0u64;
    let outcome = loop {
        let at_end = match chunk.fill(&mut reader) {
            Ok(at_end) => at_end,
            Err(err) => break Err(err),
        };
        total += chunk.len as u64;
        if chunk.len > 0 {
            for state in &mut others.0 {
                state.update(chunk.bytes());
            }
            progress(total);
        }
        if at_end {
            break Ok(());
        }
    };
    chunk.into_spare();
    outcome?;
    Ok(others.0.into_iter().map(MultiState::finish).collect())
}

/// Feeds every byte written to it into several hash states.
struct MultiWriter(Vec<MultiState>);

impl Write for MultiWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        for state in &mut self.0 {
            state.update(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The running state of one algorithm in [`hash_reader_multi`].
enum MultiState {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha224(sha2::Sha224),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
    Blake3(Box<blake3::Hasher>),
    Blake2b(Box<blake2::Blake2b512>),
    Blake2s(blake2::Blake2s256),
    Sha3_224(sha3::Sha3_224),
    Sha3_256(sha3::Sha3_256),
    Sha3_384(sha3::Sha3_384),
    Sha3_512(sha3::Sha3_512),
}

impl MultiState {
    fn new(algorithm: Algorithm) -> MultiState {
        match algorithm {
            Algorithm::Md5 => MultiState::Md5(md5::Md5::new()),
            Algorithm::Sha1 => MultiState::Sha1(sha1::Sha1::new()),
            Algorithm::Sha224 => MultiState::Sha224(sha2::Sha224::new()),
            Algorithm::Sha256 => MultiState::Sha256(sha2::Sha256::new()),
            Algorithm::Sha384 => MultiState::Sha384(sha2::Sha384::new()),
            Algorithm::Sha512 => MultiState::Sha512(sha2::Sha512::new()),
            Algorithm::Blake3 => MultiState::Blake3(Box::new(blake3::Hasher::new())),
            Algorithm::Blake2b => MultiState::Blake2b(Box::new(blake2::Blake2b512::new())),
            Algorithm::Blake2s => MultiState::Blake2s(blake2::Blake2s256::new()),
            Algorithm::Sha3_224 => MultiState::Sha3_224(sha3::Sha3_224::new()),
            Algorithm::Sha3_256 => MultiState::Sha3_256(sha3::Sha3_256::new()),
            Algorithm::Sha3_384 => MultiState::Sha3_384(sha3::Sha3_384::new()),
            Algorithm::Sha3_512 => MultiState::Sha3_512(sha3::Sha3_512::new()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            MultiState::Md5(h) => h.update(bytes),
            MultiState::Sha1(h) => h.update(bytes),
            MultiState::Sha224(h) => h.update(bytes),
            MultiState::Sha256(h) => h.update(bytes),
            MultiState::Sha384(h) => h.update(bytes),
            MultiState::Sha512(h) => h.update(bytes),
            MultiState::Blake3(h) => {
                h.update(bytes);
            }
            MultiState::Blake2b(h) => h.update(bytes),
            MultiState::Blake2s(h) => h.update(bytes),
            MultiState::Sha3_224(h) => h.update(bytes),
            MultiState::Sha3_256(h) => h.update(bytes),
            MultiState::Sha3_384(h) => h.update(bytes),
            MultiState::Sha3_512(h) => h.update(bytes),
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            MultiState::Md5(h) => h.finalize().to_vec(),
            MultiState::Sha1(h) => h.finalize().to_vec(),
            MultiState::Sha224(h) => h.finalize().to_vec(),
            MultiState::Sha256(h) => h.finalize().to_vec(),
            MultiState::Sha384(h) => h.finalize().to_vec(),
            MultiState::Sha512(h) => h.finalize().to_vec(),
            MultiState::Blake3(h) => h.finalize().as_bytes().to_vec(),
            MultiState::Blake2b(h) => h.finalize().to_vec(),
            MultiState::Blake2s(h) => h.finalize().to_vec(),
            MultiState::Sha3_224(h) => h.finalize().to_vec(),
            MultiState::Sha3_256(h) => h.finalize().to_vec(),
            MultiState::Sha3_384(h) => h.finalize().to_vec(),
            MultiState::Sha3_512(h) => h.finalize().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test-only: a chunk starting with this marker makes the hashing worker that receives
    /// it panic, as a bug in a hasher would.
    const PANIC_MARKER: &[u8] = b"\0custody test: the hashing worker panics here\0";

    pub(super) fn inject_worker_panic(bytes: &[u8]) {
        if bytes.starts_with(PANIC_MARKER) {
            panic!("injected hashing worker failure");
        }
    }

    #[test]
    fn fail_a_panicking_hashing_worker_fails_the_run() {
        // Three chunks, so the parallel pipeline runs; the second one trips a worker.
        let mut input = vec![7u8; CHUNK_SIZE * 3];
        input[CHUNK_SIZE..CHUNK_SIZE + PANIC_MARKER.len()].copy_from_slice(PANIC_MARKER);
        let outcome = std::panic::catch_unwind(|| hash_reader(&input[..], &mut |_| {}));
        let payload = outcome.expect_err("a worker panic must fail the run");
        assert_eq!(
            payload.downcast_ref::<&str>(),
            Some(&"injected hashing worker failure")
        );
        // The same bytes without the marker hash normally.
        input[CHUNK_SIZE] = 1;
        assert_eq!(
            hash_reader(&input[..], &mut |_| {}).unwrap().size,
            input.len() as u64
        );
    }

    /// Yields `good` bytes, then fails.
    struct FailingReader {
        good: usize,
    }

    impl Read for FailingReader {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.good == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "disk sector unreadable",
                ));
            }
            let n = buf.len().min(self.good);
            buf[..n].fill(0x5a);
            self.good -= n;
            Ok(n)
        }
    }

    /// Accepts `room` bytes, then fails.
    struct FailingWriter {
        room: usize,
    }

    impl Write for FailingWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "target full"));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Counts interruptions so the retry path is exercised.
    struct Interrupting<'a> {
        data: &'a [u8],
        interrupt_next: bool,
    }

    impl Read for Interrupting<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.interrupt_next = !self.interrupt_next;
            if self.interrupt_next {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(self.data.len()).min(1000);
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn fail_reader_error_mid_stream_is_returned() {
        for good in [10, CHUNK_SIZE, 3 * CHUNK_SIZE + 7] {
            let err = hash_reader(FailingReader { good }, &mut |_| {}).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "after {good} bytes");
            assert_eq!(err.to_string(), "disk sector unreadable");
        }
    }

    #[test]
    fn fail_writer_error_is_returned() {
        let input = vec![1u8; 4 * CHUNK_SIZE];
        for room in [0, 100, CHUNK_SIZE, 2 * CHUNK_SIZE + 1] {
            let err = copy_and_hash(&input[..], FailingWriter { room }, &mut |_| {}).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::StorageFull, "after {room} bytes");
        }
        // Also on the single-chunk path.
        let err = copy_and_hash(&b"short"[..], FailingWriter { room: 2 }, &mut |_| {}).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    }

    #[test]
    fn interrupted_reads_are_retried() {
        let input: Vec<u8> = (0..CHUNK_SIZE * 2 + 3).map(|i| i as u8).collect();
        let reader = Interrupting {
            data: &input,
            interrupt_next: false,
        };
        let d = hash_reader(reader, &mut |_| {}).unwrap();
        assert_eq!(d, hash_reader(&input[..], &mut |_| {}).unwrap());
    }

    #[test]
    fn progress_reports_each_chunk_running_total() {
        let input = vec![0u8; 2 * CHUNK_SIZE + 10];
        let mut seen = Vec::new();
        hash_reader(&input[..], &mut |n| seen.push(n)).unwrap();
        let chunk = CHUNK_SIZE as u64;
        assert_eq!(seen, vec![chunk, 2 * chunk, 2 * chunk + 10]);
    }

    #[test]
    fn fail_missing_file_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-evidence.bin");
        let err = hash_file(&path, &mut |_| {}).unwrap_err();
        match &err {
            HashError::Read { path: p, source } => {
                assert_eq!(p, &path);
                assert_eq!(source.kind(), io::ErrorKind::NotFound);
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(err.to_string().contains("no-such-evidence.bin"), "{err}");
    }

    #[test]
    fn fail_directory_is_a_read_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = hash_file(dir.path(), &mut |_| {}).unwrap_err();
        assert!(
            matches!(&err, HashError::Read { path, .. } if path == dir.path()),
            "{err:?}"
        );
    }

    #[test]
    fn fail_copy_writer_error_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.dd");
        std::fs::write(&path, vec![9u8; CHUNK_SIZE + 1]).unwrap();
        let err = copy_and_hash_file(&path, FailingWriter { room: 10 }, &mut |_| {}).unwrap_err();
        assert!(
            matches!(&err, HashError::Write { path: p, .. } if *p == path),
            "{err:?}"
        );
        assert!(err.to_string().contains("image.dd"));
    }

    #[test]
    fn file_digests_match_reader_digests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("note.txt");
        std::fs::write(&path, b"abc").unwrap();
        let d = hash_file(&path, &mut |_| {}).unwrap();
        assert_eq!(d, hash_reader(&b"abc"[..], &mut |_| {}).unwrap());
        let mut copy = Vec::new();
        assert_eq!(
            copy_and_hash_file(&path, &mut copy, &mut |_| {}).unwrap(),
            d
        );
        assert_eq!(copy, b"abc");
    }

    #[test]
    fn read_and_hash_matches_the_streaming_digests_and_stops_at_the_limit() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let whole = read_and_hash(data.as_slice(), 1 << 20).unwrap();
        assert_eq!(whole.bytes(), data.as_slice());
        assert_eq!(
            whole.digests(),
            hash_reader(data.as_slice(), &mut |_| {}).unwrap()
        );
        let cut = read_and_hash(data.as_slice(), 1000).unwrap();
        assert_eq!(cut.bytes(), &data[..1000]);
        assert_eq!(cut.digests().size, 1000);
        assert_eq!(
            cut.digests(),
            hash_reader(&data[..1000], &mut |_| {}).unwrap()
        );
    }

    #[test]
    fn algorithm_names() {
        for (name, algorithm) in [
            ("md5", Algorithm::Md5),
            ("MD5", Algorithm::Md5),
            ("sha1", Algorithm::Sha1),
            ("SHA-1", Algorithm::Sha1),
            ("sha256", Algorithm::Sha256),
            ("Sha-256", Algorithm::Sha256),
            ("sha512", Algorithm::Sha512),
            ("SHA-512", Algorithm::Sha512),
            ("blake3", Algorithm::Blake3),
            ("BLAKE3", Algorithm::Blake3),
        ] {
            assert_eq!(Algorithm::from_bagit_name(name), Some(algorithm), "{name}");
        }
        for algorithm in Algorithm::ALL {
            assert_eq!(
                Algorithm::from_bagit_name(algorithm.bagit_name()),
                Some(algorithm)
            );
        }
    }

    #[test]
    fn fail_unknown_algorithm_names() {
        for name in [
            "",
            "sha",
            "sha-3",
            "sha385",
            "md4",
            "blake2",
            "sha256x",
            "ṡha256",
            "shake_128",
        ] {
            assert_eq!(Algorithm::from_bagit_name(name), None, "{name}");
        }
    }

    #[test]
    fn digests_serialise_as_hex() {
        let d = hash_reader(&b"abc"[..], &mut |_| {}).unwrap();
        let json = serde_json::to_value(d).unwrap();
        assert_eq!(json["size"], 3);
        assert_eq!(json["sha256"], d.sha256_hex());
        assert_eq!(json["blake3"], d.blake3_hex());
        let back: Digests = serde_json::from_value(json).unwrap();
        assert_eq!(back, d);
    }
}
