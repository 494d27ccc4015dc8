//! `custody prove inclusion|consistency` (make RFC 9162 proofs from the ledger) and
//! `custody verify-proof` (check one offline, with nothing but the proof, a checkpoint and
//! the log's verifier key).
//!
//! Proof file (JSON): `{"type":"inclusion","origin","leaf_index","tree_size","leaf_hash",
//! "hashes":[hex…]}` or `{"type":"consistency","origin","old_size","new_size","hashes":[hex…]}`,
//! specified in docs/ledger.md §5.1.

use std::path::{Path, PathBuf};

use anyhow::Context;
use custody_core::checkpoint::Checkpoint;
use custody_core::hex;
use custody_core::keys::{GivenPublicKey, VerifierKey};
use custody_core::merkle::{leaf_hash, ConsistencyProof, Hash, InclusionProof};
use custody_store::SignedEvent;
use serde::{Deserialize, Serialize};

use crate::ledger_opts::LedgerArg;
use crate::{output, Outcome};

/// `custody prove` subcommands.
#[derive(clap::Subcommand)]
pub enum ProveCommand {
    /// Prove that entry SEQ is in the tree of the first N entries.
    Inclusion {
        #[command(flatten)]
        ledger: LedgerArg,
        /// The entry's sequence number.
        seq: u64,
        /// Tree size [default: the size of the latest checkpoint, as `custody checkpoint` prints].
        #[arg(long)]
        size: Option<u64>,
        /// Print the proof file (JSON) for `custody verify-proof`.
        #[arg(long)]
        json: bool,
    },
    /// Prove that the tree of OLD entries is a prefix of the tree of NEW entries.
    Consistency {
        #[command(flatten)]
        ledger: LedgerArg,
        /// The earlier tree size.
        old: u64,
        /// The later tree size.
        new: u64,
        /// Print the proof file (JSON) for `custody verify-proof`.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `custody verify-proof`.
#[derive(clap::Args)]
pub struct VerifyProofArgs {
    /// The proof file (from `custody prove ... --json`).
    proof: PathBuf,
    /// Signed checkpoint file(s): one of the proof's tree size for an inclusion proof; the
    /// old and the new one for a consistency proof.
    #[arg(long = "checkpoint", required = true)]
    checkpoints: Vec<PathBuf>,
    /// The log's verifier key (name+keyid+base64), or a file holding it.
    #[arg(long)]
    log_key: String,
    /// The entry's exact bytes (from `custody ledger export-entry SEQ`).
    #[arg(long, conflicts_with = "leaf_hash")]
    entry: Option<PathBuf>,
    /// The entry's leaf hash, hex.
    #[arg(long)]
    leaf_hash: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// A proof as saved to a file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum ProofFile {
    Inclusion {
        origin: String,
        leaf_index: u64,
        tree_size: u64,
        leaf_hash: String,
        hashes: Vec<String>,
    },
    Consistency {
        origin: String,
        old_size: u64,
        new_size: u64,
        hashes: Vec<String>,
    },
}

/// Runs `custody prove ...`.
pub fn run_prove(cmd: ProveCommand) -> anyhow::Result<Outcome> {
    let (file, json) = match cmd {
        ProveCommand::Inclusion {
            ledger,
            seq,
            size,
            json,
        } => {
            let ledger = ledger.open()?;
            let size = match size {
                Some(size) => size,
                None => {
                    ledger
                        .latest_checkpoint()
                        .context("cannot read the latest checkpoint")?
                        .0
                        .size
                }
            };
            let proof = ledger.inclusion_proof(seq, size).with_context(|| {
                format!("cannot prove entry {seq} in the tree of {size} entries")
            })?;
            let leaf = ledger
                .entry(seq)
                .with_context(|| format!("cannot read entry {seq}"))?;
            let file = ProofFile::Inclusion {
                origin: ledger.origin().to_owned(),
                leaf_index: proof.leaf_index,
                tree_size: proof.tree_size,
                leaf_hash: hex::encode(&leaf_hash(&leaf.bytes)),
                hashes: proof.hashes.iter().map(|h| hex::encode(h)).collect(),
            };
            (file, json)
        }
        ProveCommand::Consistency {
            ledger,
            old,
            new,
            json,
        } => {
            let ledger = ledger.open()?;
            let proof = ledger.consistency_proof(old, new).with_context(|| {
                format!("cannot prove consistency from size {old} to size {new}")
            })?;
            let file = ProofFile::Consistency {
                origin: ledger.origin().to_owned(),
                old_size: proof.old_size,
                new_size: proof.new_size,
                hashes: proof.hashes.iter().map(|h| hex::encode(h)).collect(),
            };
            (file, json)
        }
    };
    if json {
        output::print_json(&file)?;
        return Ok(Outcome::Ok);
    }
    let (title, hashes) = match &file {
        ProofFile::Inclusion {
            origin,
            leaf_index,
            tree_size,
            leaf_hash,
            hashes,
        } => (
            format!("inclusion proof: entry {leaf_index} in the first {tree_size} entries of {origin}\nleaf hash: {leaf_hash}\n"),
            hashes,
        ),
        ProofFile::Consistency {
            origin,
            old_size,
            new_size,
            hashes,
        } => (
            format!("consistency proof: {origin} at size {old_size} is a prefix of size {new_size}\n"),
            hashes,
        ),
    };
    let mut text = title;
    text.push_str(&format!("hashes ({}):\n", hashes.len()));
    for h in hashes {
        text.push_str(&format!("  {h}\n"));
    }
    text.push_str("(save it with --json for `custody verify-proof`)\n");
    output::data(&text)?;
    Ok(Outcome::Ok)
}

/// Runs `custody verify-proof`.
pub fn run_verify(args: VerifyProofArgs) -> anyhow::Result<Outcome> {
    let text = std::fs::read_to_string(&args.proof)
        .with_context(|| format!("cannot read proof file {}", args.proof.display()))?;
    let file: ProofFile = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a Custody proof file", args.proof.display()))?;
    let key = parse_verifier_key(&args.log_key)?;
    let mut checkpoints = Vec::with_capacity(args.checkpoints.len());
    for path in &args.checkpoints {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read checkpoint file {}", path.display()))?;
        checkpoints.push((path.as_path(), bytes));
    }
    let mut findings = Vec::new();
    let summary = match file {
        ProofFile::Inclusion {
            origin,
            leaf_index,
            tree_size,
            leaf_hash: stated,
            hashes,
        } => {
            let leaf = given_leaf(&args, &origin, leaf_index, &mut findings)?;
            if hex::decode_array::<32>(&stated) != Some(leaf) {
                findings.push(ProofFinding::new(
                    "leaf_hash_mismatch",
                    format!(
                        "the proof file's leaf_hash {stated} is not the leaf hash given ({})",
                        hex::encode(&leaf)
                    ),
                ));
            }
            let proof = InclusionProof {
                leaf_index,
                tree_size,
                hashes: decode_hashes(&hashes, &args.proof)?,
            };
            if let Some(root) = root_for(&checkpoints, &key, &origin, tree_size, &mut findings) {
                if let Err(e) = proof.verify(&leaf, &root) {
                    findings.push(ProofFinding::new(
                        "not_included",
                        format!("entry {leaf_index} is not in the tree of size {tree_size}: {e}"),
                    ));
                }
            }
            format!("entry {leaf_index} is in {origin} at tree size {tree_size}")
        }
        ProofFile::Consistency {
            origin,
            old_size,
            new_size,
            hashes,
        } => {
            let proof = ConsistencyProof {
                old_size,
                new_size,
                hashes: decode_hashes(&hashes, &args.proof)?,
            };
            let old = root_for(&checkpoints, &key, &origin, old_size, &mut findings);
            let new = root_for(&checkpoints, &key, &origin, new_size, &mut findings);
            if let (Some(old), Some(new)) = (old, new) {
                if let Err(e) = proof.verify(&old, &new) {
                    findings.push(ProofFinding::new(
"not_consistent", format!(
                        "the tree of size {old_size} is not a prefix of the tree of size {new_size}: {e}"
                    ),));
                }
            }
            format!("{origin} at size {old_size} is a prefix of size {new_size}")
        }
    };
    let verified = findings.is_empty();
    if args.json {
        output::print_json(&serde_json::json!({
            "verdict": output::Verdict::of(verified),
            "claim": summary,
            "findings": findings,
        }))?;
    } else if verified {
        output::verdict(&output::line(&format!("verified: {summary}")))?;
    } else {
        let mut text = output::line(&format!("FAILED: could not confirm that {summary}"));
        for f in &findings {
            text.push_str(&output::line(&format!("  - {}", f.message)));
        }
        output::verdict(&text)?;
    }
    Ok(if verified {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}

/// The leaf hash the user vouches for: of the entry file's bytes, or given in hex. An entry
/// file is also checked to name the proof's log and position.
fn given_leaf(
    args: &VerifyProofArgs,
    origin: &str,
    leaf_index: u64,
    findings: &mut Vec<ProofFinding>,
) -> anyhow::Result<Hash> {
    if let Some(path) = &args.entry {
        let bytes = std::fs::File::open(path)
            .and_then(custody_core::canonical::read_for_strict)
            .with_context(|| format!("cannot read entry file {}", path.display()))?;
        match custody_core::canonical::parse_strict::<SignedEvent>(&bytes) {
            Ok(signed) => {
                if signed.event.seq != leaf_index {
                    findings.push(ProofFinding::new(
                        "entry_seq_mismatch",
                        format!(
                            "entry file {} is seq {}, but the proof is for seq {leaf_index}",
                            path.display(),
                            signed.event.seq
                        ),
                    ));
                }
                if signed.event.origin != origin {
                    findings.push(ProofFinding::new(
                        "entry_origin_mismatch",
                        format!(
                            "entry file {} belongs to log {:?}, not {origin:?}",
                            path.display(),
                            signed.event.origin
                        ),
                    ));
                }
            }
            Err(e) => findings.push(ProofFinding::new(
                "entry_malformed",
                format!(
                    "entry file {} is not the canonical JSON of a Custody ledger entry: {e}",
                    path.display()
                ),
            )),
        }
        return Ok(leaf_hash(&bytes));
    }
    let Some(text) = &args.leaf_hash else {
        anyhow::bail!(
            "give the entry: --entry FILE (from `custody ledger export-entry SEQ`) or --leaf-hash HEX"
        );
    };
    hex::decode_array(text.trim())
        .with_context(|| format!("--leaf-hash {text:?}: expected 64 hex digits"))
}

/// The root hash of the checkpoint of `size`, verified against the log key; failures become
/// findings.
fn root_for(
    checkpoints: &[(&Path, Vec<u8>)],
    key: &VerifierKey,
    origin: &str,
    size: u64,
    findings: &mut Vec<ProofFinding>,
) -> Option<Hash> {
    let mut sizes = Vec::new();
    for (path, bytes) in checkpoints {
        let checkpoint = match Checkpoint::open(bytes, std::slice::from_ref(key)) {
            Ok((checkpoint, _, _)) => checkpoint,
            Err(e) => {
                findings.push(ProofFinding::new(
                    "checkpoint_invalid",
                    format!("checkpoint {}: {e} (log key {key})", path.display()),
                ));
                continue;
            }
        };
        if checkpoint.size != size {
            sizes.push(checkpoint.size);
            continue;
        }
        if checkpoint.origin != origin {
            findings.push(ProofFinding::new(
                "checkpoint_origin_mismatch",
                format!(
                    "checkpoint {} is for log {:?}, but the proof is for {origin:?}",
                    path.display(),
                    checkpoint.origin
                ),
            ));
            return None;
        }
        return Some(checkpoint.root);
    }
    let sizes: Vec<String> = sizes.iter().map(u64::to_string).collect();
    findings.push(ProofFinding::new(
        "checkpoint_missing",
        format!(
            "no valid checkpoint of tree size {size} was given (sizes given: {})",
            if sizes.is_empty() {
                "none".to_owned()
            } else {
                sizes.join(", ")
            }
        ),
    ));
    None
}

fn decode_hashes(hashes: &[String], path: &Path) -> anyhow::Result<Vec<Hash>> {
    hashes
        .iter()
        .map(|h| {
            hex::decode_array(h).with_context(|| {
                format!("{}: proof hash {h:?} is not 64 hex digits", path.display())
            })
        })
        .collect()
}

fn parse_verifier_key(arg: &str) -> anyhow::Result<VerifierKey> {
    // One reader of public keys: bounded, says what a wrong file is, never repeats key
    // material.
    match GivenPublicKey::read(arg).context("--log-key")? {
        GivenPublicKey::Verifier(key) => Ok(key),
        GivenPublicKey::Public(_) => anyhow::bail!(
            "--log-key {arg}: a PEM public key carries no key name; give the log's verifier key (name+keyid+base64, as `custody init` prints it)"
        ),
    }
}

/// Why a proof could not be confirmed: a `code` (docs/json.md) and the `message`.
#[derive(serde::Serialize)]
pub struct ProofFinding {
    code: &'static str,
    message: String,
}

impl ProofFinding {
    fn new(code: &'static str, message: String) -> ProofFinding {
        ProofFinding { code, message }
    }
}
