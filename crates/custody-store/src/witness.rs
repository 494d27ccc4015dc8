//! A C2SP tlog-witness (c2sp.org/tlog-witness): cosigns checkpoints of the logs it is
//! configured with, each only when it is consistent with the last one it cosigned for that
//! origin, and answers with a tlog-cosignature/v1 line.
//!
//! [`Witness::add_checkpoint`] takes the body of `POST /add-checkpoint` (an `old N` line, up
//! to 63 base64 consistency-proof hashes, an empty line, the signed checkpoint) and returns
//! the cosignature lines, or a [`WitnessError`] whose [`WitnessError::status`] is the HTTP
//! status the spec prescribes. The witness's record per origin (the last checkpoint body it
//! cosigned) is one file in its state directory, replaced atomically, and checking it and
//! replacing it happen under one lock, so two requests can never roll the record back.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;
use custody_core::checkpoint::{cosign, Checkpoint};
use custody_core::keys::{Identity, VerifierKey};
use custody_core::merkle::{ConsistencyProof, Hash};
use custody_core::note::Note;

use crate::published::origin_file_name;

/// The largest `add-checkpoint` body accepted: a checkpoint note of at most 64 KiB, the
/// `old` line and 63 proof lines.
pub const MAX_ADD_CHECKPOINT_BYTES: usize = 64 * 1024 + 64 * 64;
/// The most consistency-proof lines a request may carry (the spec's limit).
pub const MAX_PROOF_LINES: usize = 63;
/// The largest record file read back from the state directory.
const MAX_RECORD_BYTES: u64 = 64 * 1024;

/// Why a checkpoint was not cosigned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The request body breaks the add-checkpoint grammar (400).
    #[error("malformed add-checkpoint request: {0}")]
    Malformed(&'static str),
    /// The checkpoint's origin is not a log this witness is configured with (404).
    #[error("unknown log origin {origin:?}")]
    UnknownOrigin {
        /// The origin.
        origin: String,
    },
    /// No signature by a configured key for the origin verifies (403).
    #[error("no signature by the log's key verifies")]
    Unverified,
    /// The old size is larger than the checkpoint's (400).
    #[error("old size {old_size} is larger than the checkpoint size {size}")]
    OldSizeAhead {
        /// The old size sent.
        old_size: u64,
        /// The checkpoint size.
        size: u64,
    },
    /// The old size is not the size of the last checkpoint cosigned for the origin (409;
    /// the body is `latest_size`).
    #[error("old size {old_size} is not the last cosigned size {latest_size}")]
    SizeConflict {
        /// The old size sent.
        old_size: u64,
        /// The last cosigned size.
        latest_size: u64,
    },
    /// Same size as the last cosigned checkpoint but another root: a fork (409).
    #[error("checkpoint of size {size} has another root than the one cosigned")]
    RootConflict {
        /// The size.
        size: u64,
    },
    /// The consistency proof does not verify (422).
    #[error("the consistency proof from {old_size} to {size} does not verify")]
    BadProof {
        /// Old size.
        old_size: u64,
        /// New size.
        size: u64,
    },
    /// The record could not be read or written (500).
    #[error("witness state {path}: {source}")]
    State {
        /// The record file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl WitnessError {
    /// The HTTP status the spec prescribes.
    pub fn status(&self) -> u16 {
        match self {
            WitnessError::Malformed(_) | WitnessError::OldSizeAhead { .. } => 400,
            WitnessError::UnknownOrigin { .. } => 404,
            WitnessError::Unverified => 403,
            WitnessError::SizeConflict { .. } | WitnessError::RootConflict { .. } => 409,
            WitnessError::BadProof { .. } => 422,
            WitnessError::State { .. } => 500,
        }
    }
}

/// A parsed add-checkpoint body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the previous checkpoint.
    pub old_size: u64,
    /// The consistency proof from it.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub note: Vec<u8>,
}

impl AddCheckpoint {
    /// Parses a body (at most [`MAX_ADD_CHECKPOINT_BYTES`]).
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, WitnessError> {
        use WitnessError::Malformed;
        if body.len() > MAX_ADD_CHECKPOINT_BYTES {
            return Err(Malformed("the body is too large"));
        }
        let mut rest = body;
        let mut line = || -> Result<&[u8], WitnessError> {
            let end = rest
                .iter()
                .position(|b| *b == b'\n')
                .ok_or(Malformed("a line does not end in a newline"))?;
            let (l, tail) = rest.split_at(end);
            rest = &tail[1..];
            Ok(l)
        };
        let old = line()?
            .strip_prefix(b"old ")
            .ok_or(Malformed("the first line is not `old N`"))?;
        let old = std::str::from_utf8(old).map_err(|_| Malformed("the old size is not ASCII"))?;
        if old.is_empty()
            || !old.bytes().all(|b| b.is_ascii_digit())
            || (old.len() > 1 && old.starts_with('0'))
        {
            return Err(Malformed(
                "the old size is not a decimal without leading zeros",
            ));
        }
        let old_size: u64 = old
            .parse()
            .map_err(|_| Malformed("the old size does not fit in 64 bits"))?;
        let mut proof = Vec::new();
        loop {
            let l = line()?;
            if l.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(Malformed("more than 63 consistency proof lines"));
            }
            let hash: Hash = base64::engine::general_purpose::STANDARD
                .decode(l)
                .ok()
                .and_then(|h| h.try_into().ok())
                .ok_or(Malformed("a proof line is not a base64 SHA-256 hash"))?;
            proof.push(hash);
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            note: rest.to_vec(),
        })
    }
}

/// A witness: its cosigning identity, the logs it witnesses and its state directory.
#[derive(Debug)]
pub struct Witness {
    identity: Identity,
    logs: Vec<VerifierKey>,
    state_dir: PathBuf,
    lock: Mutex<()>,
}

impl Witness {
    /// A witness cosigning with `identity` (its cosigner key, type 0x04, is what verifiers
    /// configure) for the logs whose checkpoint keys are `logs` (a log's origin is its
    /// key's name, as for Custody ledgers), keeping its records in `state_dir`.
    pub fn new(identity: Identity, logs: Vec<VerifierKey>, state_dir: PathBuf) -> Witness {
        Witness {
            identity,
            logs,
            state_dir,
            lock: Mutex::new(()),
        }
    }

    /// The witness's cosigner verifier key.
    pub fn cosigner_key(&self) -> VerifierKey {
        self.identity.cosigner_key()
    }

    /// Handles one add-checkpoint body at `now` (seconds since the Unix epoch); returns the
    /// response body: the cosignature line and its newline.
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<String, WitnessError> {
        let request = AddCheckpoint::parse(body)?;
        let note = Note::parse(&request.note)
            .map_err(|_| WitnessError::Malformed("the checkpoint is not a signed note"))?;
        let checkpoint = Checkpoint::parse_body(&note.text)
            .map_err(|_| WitnessError::Malformed("the note is not a checkpoint"))?;
        let keys: Vec<VerifierKey> = self
            .logs
            .iter()
            .filter(|k| k.name == checkpoint.origin)
            .cloned()
            .collect();
        if keys.is_empty() {
            return Err(WitnessError::UnknownOrigin {
                origin: checkpoint.origin,
            });
        }
        note.verify(&keys).map_err(|_| WitnessError::Unverified)?;
        if request.old_size > checkpoint.size {
            return Err(WitnessError::OldSizeAhead {
                old_size: request.old_size,
                size: checkpoint.size,
            });
        }
        // Check and update under one lock: no request can roll the record back.
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let path = self.record_path(&checkpoint.origin);
        let latest = self.read_record(&path)?;
        let latest_size = latest.as_ref().map_or(0, |c| c.size);
        if request.old_size != latest_size {
            return Err(WitnessError::SizeConflict {
                old_size: request.old_size,
                latest_size,
            });
        }
        match &latest {
            Some(latest) if latest.size == checkpoint.size && latest.root != checkpoint.root => {
                return Err(WitnessError::RootConflict {
                    size: checkpoint.size,
                });
            }
            Some(latest) if latest.size == checkpoint.size => {}
            Some(latest) => {
                let proof = ConsistencyProof {
                    old_size: latest.size,
                    new_size: checkpoint.size,
                    hashes: request.proof,
                };
                proof.verify(&latest.root, &checkpoint.root).map_err(|_| {
                    WitnessError::BadProof {
                        old_size: latest.size,
                        size: checkpoint.size,
                    }
                })?;
            }
            None if !request.proof.is_empty() => {
                return Err(WitnessError::BadProof {
                    old_size: 0,
                    size: checkpoint.size,
                })
            }
            None => {}
        }
        self.write_record(&path, &checkpoint)?;
        let line = cosign(&checkpoint, &self.identity, now).to_line();
        Ok(format!("{line}\n"))
    }

    fn record_path(&self, origin: &str) -> PathBuf {
        // The same per-origin naming as seen checkpoints.
        self.state_dir
            .join(format!("{}.checkpoint", origin_file_name(origin)))
    }

    fn read_record(&self, path: &Path) -> Result<Option<Checkpoint>, WitnessError> {
        let state = |source| WitnessError::State {
            path: path.to_path_buf(),
            source,
        };
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(state(e)),
        };
        let bytes = crate::published::read_bounded(file, &path.to_string_lossy(), MAX_RECORD_BYTES)
            .map_err(|e| state(std::io::Error::other(e.to_string())))?;
        let text =
            String::from_utf8(bytes).map_err(|_| state(std::io::Error::other("not UTF-8")))?;
        Checkpoint::parse_body(&text)
            .map(Some)
            .map_err(|e| state(std::io::Error::other(e.to_string())))
    }

    fn write_record(&self, path: &Path, checkpoint: &Checkpoint) -> Result<(), WitnessError> {
        let state = |source| WitnessError::State {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(&self.state_dir).map_err(state)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".witness-")
            .tempfile_in(&self.state_dir)
            .map_err(state)?;
        std::io::Write::write_all(&mut tmp, checkpoint.body().as_bytes()).map_err(state)?;
        tmp.as_file().sync_all().map_err(state)?;
        tmp.persist(path).map_err(|e| state(e.error))?;
        std::fs::File::open(&self.state_dir)
            .and_then(|d| d.sync_all())
            .map_err(state)
    }
}

/// The largest answer read from a witness: a few cosignature lines (a 409's size is far
/// shorter).
pub const MAX_WITNESS_ANSWER_BYTES: u64 = 16 * 1024;

/// Why a witness's answer could not be used by a log submitting to it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmissionError {
    /// No line of the answer is a cosignature by the witness's key over the checkpoint.
    #[error("no cosignature by {key} over the checkpoint of size {size} in the witness's answer")]
    NoCosignature {
        /// The witness's cosigner key, as configured.
        key: String,
        /// The checkpoint's size.
        size: u64,
    },
    /// The 409 body is not a size (`text/x.tlog.size`: one decimal and a newline).
    #[error("the witness's 409 answer is not a tree size")]
    NotASize,
    /// The note submitted is not a checkpoint.
    #[error("the note submitted is not a checkpoint: {0}")]
    Checkpoint(#[from] custody_core::checkpoint::CheckpointError),
}

/// The body of `POST /add-checkpoint`: `old <old_size>`, one base64 line per hash of the
/// consistency proof from `old_size`, an empty line, then the signed checkpoint `note`.
pub fn add_checkpoint_body(old_size: u64, proof: &[Hash], note: &str) -> Vec<u8> {
    let mut body = format!("old {old_size}\n");
    for hash in proof {
        body.push_str(&base64::engine::general_purpose::STANDARD.encode(hash));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(note);
    body.into_bytes()
}

/// The size a witness answered with `409 Conflict` (`text/x.tlog.size`): one decimal
/// without leading zeros, then a newline.
pub fn parse_size_answer(body: &[u8]) -> Result<u64, SubmissionError> {
    let text = std::str::from_utf8(body).map_err(|_| SubmissionError::NotASize)?;
    let digits = text.strip_suffix('\n').ok_or(SubmissionError::NotASize)?;
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return Err(SubmissionError::NotASize);
    }
    digits.parse().map_err(|_| SubmissionError::NotASize)
}

/// The checkpoint `note` with the witness's cosignature added: every line of `answer`
/// that is a valid tlog-cosignature/v1 by `witness` (a cosigner key) over the note's
/// checkpoint is appended to the note's signatures; lines by other keys, or that do not
/// verify, are dropped. None verifying is [`SubmissionError::NoCosignature`]. The result is
/// what the log keeps as an outside checkpoint.
pub fn cosigned_note(
    note: &str,
    answer: &[u8],
    witness: &VerifierKey,
) -> Result<String, SubmissionError> {
    let mut parsed =
        Note::parse(note.as_bytes()).map_err(custody_core::checkpoint::CheckpointError::from)?;
    let checkpoint = Checkpoint::parse_body(&parsed.text)?;
    let mut added = 0;
    for line in String::from_utf8_lossy(answer).lines() {
        // A line parses as a signature when appended to a note's signature block.
        let probe = format!("{}\n{line}\n", parsed.text);
        let Ok(one) = Note::parse(probe.as_bytes()) else {
            continue;
        };
        for signature in one.signatures {
            if custody_core::checkpoint::verify_cosignature(&checkpoint, &signature, witness)
                .is_ok()
            {
                parsed.add_signature(signature);
                added += 1;
            }
        }
    }
    if added == 0 {
        return Err(SubmissionError::NoCosignature {
            key: witness.to_string(),
            size: checkpoint.size,
        });
    }
    Ok(String::from_utf8_lossy(&parsed.to_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_core::checkpoint::verify_cosignature;
    use custody_core::keys::ActorInfo;
    use custody_core::merkle::{self, MemoryTree};

    fn identity(name: &str) -> Identity {
        Identity::generate(ActorInfo {
            name: name.to_owned(),
            role: None,
            organisation: None,
            jurisdiction: None,
            full_name: None,
        })
        .unwrap()
    }

    struct Log {
        key: Identity,
        tree: MemoryTree,
    }

    impl Log {
        fn grow(&mut self, n: u64) {
            for _ in 0..n {
                let i = self.tree.size();
                self.tree.push(merkle::leaf_hash(&i.to_be_bytes()));
            }
        }
        fn checkpoint(&self) -> Checkpoint {
            Checkpoint {
                origin: self.key.verifier_key().name,
                size: self.tree.size(),
                root: self.tree.root(),
                extensions: vec![],
            }
        }
        fn request(&mut self, old: u64) -> Vec<u8> {
            let mut body = format!("old {old}\n");
            let size = self.tree.size();
            if old > 0 && old < size {
                for h in merkle::consistency_proof(&mut self.tree, old, size)
                    .unwrap()
                    .hashes
                {
                    body.push_str(&base64::engine::general_purpose::STANDARD.encode(h));
                    body.push('\n');
                }
            }
            body.push('\n');
            let mut out = body.into_bytes();
            out.extend(self.checkpoint().sign(&[&self.key]).unwrap().to_bytes());
            out
        }
    }

    fn setup() -> (tempfile::TempDir, Witness, Log) {
        let dir = tempfile::tempdir().unwrap();
        let log = Log {
            key: identity("log.example/a"),
            tree: MemoryTree::new(),
        };
        let witness = Witness::new(
            identity("witness.example/w"),
            vec![log.key.verifier_key()],
            dir.path().join("state"),
        );
        (dir, witness, log)
    }

    /// What a submitting log does: the body it builds is the body the witness parses, the
    /// 409 size it reads back, and the cosignature it keeps verifies; a line by anyone else
    /// is not kept.
    #[test]
    fn a_submitting_log_builds_requests_and_keeps_only_the_witness_cosignature() {
        let (_dir, witness, mut log) = setup();
        log.grow(3);
        let note =
            String::from_utf8(log.checkpoint().sign(&[&log.key]).unwrap().to_bytes()).unwrap();
        assert_eq!(add_checkpoint_body(0, &[], &note), log.request(0));
        let answer = witness
            .add_checkpoint(&add_checkpoint_body(0, &[], &note), 7)
            .unwrap();
        let cosigned = cosigned_note(&note, answer.as_bytes(), &witness.cosigner_key()).unwrap();
        let parsed = Note::parse(cosigned.as_bytes()).unwrap();
        assert_eq!(parsed.signatures.len(), 2);
        assert_eq!(
            verify_cosignature(
                &log.checkpoint(),
                &parsed.signatures[1],
                &witness.cosigner_key()
            )
            .unwrap(),
            7
        );
        // Another witness's key: nothing of this answer is kept.
        let other = identity("other.example/w").cosigner_key();
        assert!(matches!(
            cosigned_note(&note, answer.as_bytes(), &other),
            Err(SubmissionError::NoCosignature { size: 3, .. })
        ));
        assert!(cosigned_note(&note, b"garbage\n", &witness.cosigner_key()).is_err());

        // Grown, sent as if the witness held nothing: 409 with the size it holds, then the
        // proof from there.
        log.grow(5);
        let note =
            String::from_utf8(log.checkpoint().sign(&[&log.key]).unwrap().to_bytes()).unwrap();
        let held = match witness.add_checkpoint(&add_checkpoint_body(0, &[], &note), 8) {
            Err(WitnessError::SizeConflict { latest_size, .. }) => latest_size,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            parse_size_answer(format!("{held}\n").as_bytes()).unwrap(),
            3
        );
        let proof = merkle::consistency_proof(&mut log.tree, 3, 8)
            .unwrap()
            .hashes;
        witness
            .add_checkpoint(&add_checkpoint_body(3, &proof, &note), 9)
            .unwrap();
        for bad in [&b"3"[..], b"03\n", b"\n", b"x\n", b"18446744073709551616\n"] {
            assert!(parse_size_answer(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cosigns_a_growing_log_and_refuses_rollbacks_and_forks() {
        let (_dir, witness, mut log) = setup();
        log.grow(5);
        let body = witness
            .add_checkpoint(&log.request(0), 1_700_000_000)
            .unwrap();
        let mut note = log.checkpoint().sign(&[&log.key]).unwrap();
        let line = body.strip_suffix('\n').unwrap();
        let with = format!("{}{line}\n", String::from_utf8(note.to_bytes()).unwrap());
        note = Note::parse(with.as_bytes()).unwrap();
        let sig = note.signatures.last().unwrap();
        assert_eq!(
            verify_cosignature(&log.checkpoint(), sig, &witness.cosigner_key()).unwrap(),
            1_700_000_000
        );
        // Same size again, same root: cosigned again.
        witness.add_checkpoint(&log.request(5), 1).unwrap();
        // Growth with a proof from 5.
        log.grow(300);
        witness.add_checkpoint(&log.request(5), 2).unwrap();
        // A stale client still thinks 5: 409 with the latest size.
        match witness.add_checkpoint(&log.request(5), 3) {
            Err(WitnessError::SizeConflict {
                latest_size: 305, ..
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn origins_that_differ_after_a_dot_keep_separate_records() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (identity("log.a"), identity("log.b"));
        let witness = Witness::new(
            identity("witness.example/w"),
            vec![a.verifier_key(), b.verifier_key()],
            dir.path().to_path_buf(),
        );
        let mut log_a = Log {
            key: a,
            tree: MemoryTree::new(),
        };
        let mut log_b = Log {
            key: b,
            tree: MemoryTree::new(),
        };
        log_a.grow(3);
        log_b.grow(2);
        witness.add_checkpoint(&log_a.request(0), 1).unwrap();
        witness.add_checkpoint(&log_b.request(0), 1).unwrap();
        assert_eq!(
            witness
                .add_checkpoint(&log_a.request(3), 2)
                .map(|_| ())
                .ok(),
            Some(())
        );
    }

    #[test]
    fn fail_inconsistent_checkpoint_is_not_cosigned() {
        let (_dir, witness, mut log) = setup();
        log.grow(5);
        witness.add_checkpoint(&log.request(0), 1).unwrap();
        // A fork: another tree of size 7 whose first 5 leaves differ.
        let mut forked = Log {
            key: log.key.clone(),
            tree: MemoryTree::new(),
        };
        forked.tree.push([9u8; 32]);
        forked.grow(6);
        let e = witness.add_checkpoint(&forked.request(5), 2).unwrap_err();
        assert!(matches!(e, WitnessError::BadProof { .. }), "{e:?}");
        assert_eq!(e.status(), 422);
        // Same size, another root.
        let mut same = Log {
            key: log.key.clone(),
            tree: MemoryTree::new(),
        };
        same.tree.push([9u8; 32]);
        same.grow(4);
        let e = witness.add_checkpoint(&same.request(5), 3).unwrap_err();
        assert_eq!(e.status(), 409);
        // The record did not move: the honest log still extends from 5.
        log.grow(1);
        witness.add_checkpoint(&log.request(5), 4).unwrap();
    }

    #[test]
    fn fail_requests_the_spec_refuses() {
        let (_dir, witness, mut log) = setup();
        log.grow(3);
        let good = log.request(0);
        // Unknown origin: 404; a checkpoint signed by another key: 403.
        let stranger = Log {
            key: identity("other.example/b"),
            tree: log.tree.clone(),
        };
        let mut s = stranger;
        let e = witness.add_checkpoint(&s.request(0), 1).unwrap_err();
        assert_eq!(e.status(), 404);
        let mut impostor = Log {
            key: identity("log.example/a"),
            tree: log.tree.clone(),
        };
        assert_eq!(
            witness
                .add_checkpoint(&impostor.request(0), 1)
                .unwrap_err()
                .status(),
            403
        );
        // Old size above the checkpoint: 400.
        let ahead = [b"old 4\n\n".as_slice(), &good[b"old 0\n\n".len()..]].concat();
        assert_eq!(witness.add_checkpoint(&ahead, 1).unwrap_err().status(), 400);
        // A proof with old size 0: 422.
        let proof = [
            b"old 0\n".as_slice(),
            b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
            &good[b"old 0\n".len()..],
        ]
        .concat();
        assert_eq!(witness.add_checkpoint(&proof, 1).unwrap_err().status(), 422);
        // Grammar: leading zero, missing blank line, 64 proof lines, oversize body.
        for bad in [
            b"old 01\n\n".to_vec(),
            b"old 1\n".to_vec(),
            [
                b"old 1\n".to_vec(),
                b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".repeat(64),
                b"\n".to_vec(),
            ]
            .concat(),
            vec![b'x'; MAX_ADD_CHECKPOINT_BYTES + 1],
        ] {
            assert_eq!(witness.add_checkpoint(&bad, 1).unwrap_err().status(), 400);
        }
        // 63 proof lines parse (the limit).
        let at_limit = [
            b"old 1\n".to_vec(),
            b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".repeat(63),
            b"\n".to_vec(),
        ]
        .concat();
        assert_eq!(AddCheckpoint::parse(&at_limit).unwrap().proof.len(), 63);
        // Nothing was recorded by any refused request.
        witness.add_checkpoint(&good, 1).unwrap();
    }
}
