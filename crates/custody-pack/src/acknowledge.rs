//! Acknowledging a receipt in the sender's ledger.
//!
//! The receipt file must be exactly the canonical JSON of a receipt
//! ([`custody_core::canonical::parse_strict`]), signed by a trusted receiver key that the
//! acknowledger has not listed as revoked, and its cosignature over the
//! sender checkpoint must verify under that key. The checkpoint must be one this ledger
//! signed and still agrees with (same origin, log-key signature, and the ledger's root at
//! that size), and the receipt must name a package this ledger recorded as `sealed`. Then
//! `acknowledged` is recorded and the cosigned checkpoint is kept as an outside checkpoint:
//! from then on `Ledger::verify` checks the ledger against a checkpoint the receiving
//! authority witnessed, so a later rewrite of the ledger, even with the log key, is caught.
//!
//! A package is acknowledged once: a second receipt for the same package digest records
//! nothing and reports the seq of the `acknowledged` entry already there. Whether it was
//! acknowledged, and which `sealed` entry it answers, is read from the verified entries
//! inside the append transaction, so two acknowledgements racing each other record one.

use custody_core::checkpoint::{Checkpoint, CheckpointError};
use custody_core::keys::{Identity, PublicKey};
use custody_store::{EventDraft, EventFields, EventKind, Ledger, StoreError};

use crate::receipt::{Receipt, ReceiptError, VerifiedReceipt};

/// What acknowledging recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcknowledgeOutcome {
    /// The verified receipt.
    pub receipt: VerifiedReceipt,
    /// Seq of the `sealed` entry of the package.
    pub sealed_seq: u64,
    /// Seq of the `acknowledged` entry (recorded now, or found already there).
    pub acknowledged_seq: u64,
    /// Whether this call recorded it; `false` when the package was already acknowledged
    /// at `acknowledged_seq` and nothing was recorded.
    pub recorded: bool,
    /// Size of the cosigned checkpoint now kept as an outside checkpoint.
    pub checkpoint_size: u64,
}

/// Why a receipt was not acknowledged. Nothing was recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcknowledgeError {
    /// The receipt is malformed, untrusted or its signatures fail.
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    /// The sender checkpoint is not signed by this ledger's log key or names another log.
    #[error("the receipt's sender checkpoint is not one of this ledger's: {0}")]
    ForeignCheckpoint(CheckpointError),
    /// The sender checkpoint is larger than this ledger.
    #[error("the receipt's sender checkpoint covers {size} entries but this ledger has {ledger_size}: entries were removed")]
    CheckpointAhead {
        /// The checkpoint's size.
        size: u64,
        /// The ledger's size.
        ledger_size: u64,
    },
    /// The ledger's root at the checkpoint's size differs: the ledger was changed.
    #[error("the receipt's sender checkpoint at size {size} does not match this ledger's root at that size: the ledger was changed since the package was sealed")]
    CheckpointMismatch {
        /// The checkpoint's size.
        size: u64,
    },
    /// No `sealed` entry of this ledger names the package digest.
    #[error("no sealed entry in this ledger has package digest {digest} (package {package_id})")]
    UnknownPackage {
        /// The package id the receipt names.
        package_id: String,
        /// The digest the receipt names.
        digest: String,
    },
    /// The `sealed` entry with the receipt's digest was recorded for another package id
    /// (its notes are not `package <receipt's package_id>`).
    #[error(
        "sealed entry {seq} has the receipt's digest but records {sealed:?}, not package {receipt}"
    )]
    PackageIdMismatch {
        /// The package id the receipt names.
        receipt: String,
        /// The `sealed` entry's notes (what seal wrote: `package <ID>`).
        sealed: String,
        /// The `sealed` entry's seq.
        seq: u64,
    },
    /// The ledger failed or refused the entry.
    #[error("ledger: {0}")]
    Ledger(#[from] StoreError),
}

/// Verifies `receipt` (see the module documentation) and records it in `ledger`, signed
/// by `actor`. The receiver key must be in `trusted` and not in `revoked`.
pub fn acknowledge(
    ledger: &mut Ledger,
    receipt: &[u8],
    trusted: &[PublicKey],
    revoked: &[PublicKey],
    actor: &Identity,
    log_key: &Identity,
    claimed_time: &str,
) -> Result<AcknowledgeOutcome, AcknowledgeError> {
    let verified = Receipt::parse_and_verify(receipt, trusted, revoked)?;
    let body = &verified.receipt.receipt;
    let (checkpoint, _, _) = Checkpoint::open(
        body.sender_checkpoint.as_bytes(),
        std::slice::from_ref(ledger.log_verifier_key()),
    )
    .map_err(AcknowledgeError::ForeignCheckpoint)?;
    checkpoint
        .expect_origin(ledger.origin())
        .map_err(AcknowledgeError::ForeignCheckpoint)?;
    let ledger_size = ledger.size()?;
    if checkpoint.size > ledger_size {
        return Err(AcknowledgeError::CheckpointAhead {
            size: checkpoint.size,
            ledger_size,
        });
    }
    if ledger.root_at(checkpoint.size)? != checkpoint.root {
        return Err(AcknowledgeError::CheckpointMismatch {
            size: checkpoint.size,
        });
    }
    let digest = body.package_digest.as_str();
    let source = format!(
        "receipt for package {} from {} ({})",
        body.package_id, body.receiver.authority, body.receiver.key
    );
    let unknown = || AcknowledgeError::UnknownPackage {
        package_id: body.package_id.clone(),
        digest: body.package_digest.clone(),
    };
    let (sealed_seq, acknowledged_seq) =
        ledger.read_verified(|v| (v.sealed_seq(digest), v.acknowledged_seq(digest)))?;
    let sealed_seq = sealed_seq
        .filter(|seq| *seq >= checkpoint.size)
        .ok_or_else(unknown)?;
    let sealed = ledger.entry(sealed_seq)?;
    let event = &sealed.signed.event;
    // The digest binds the receipt to the package; the id it names must be the same one,
    // or the `acknowledged` entry and the outside checkpoint's source would name another.
    let sealed_note = event.fields.notes.clone().unwrap_or_default();
    if sealed_note != format!("package {}", body.package_id) {
        return Err(AcknowledgeError::PackageIdMismatch {
            receipt: body.package_id.clone(),
            sealed: sealed_note,
            seq: sealed_seq,
        });
    }
    let outcome = |acknowledged_seq, recorded| AcknowledgeOutcome {
        sealed_seq,
        acknowledged_seq,
        checkpoint_size: checkpoint.size,
        recorded,
        receipt: verified.clone(),
    };
    if let Some(seq) = acknowledged_seq {
        keep_outside_checkpoint(ledger, seq, &source)?;
        return Ok(outcome(seq, false));
    }
    let mut draft = EventDraft::new(EventKind::Acknowledged, claimed_time).fields(EventFields {
        from: Some(body.receiver.authority.clone()),
        package_digest: Some(body.package_digest.clone()),
        checkpoint: Some(verified.cosigned_checkpoint.clone()),
        notes: Some(format!(
            "receipt for package {} by {}",
            body.package_id, body.receiver.key
        )),
        ..EventFields::default()
    });
    draft.case.clone_from(&event.case);
    draft.items.clone_from(&event.items);
    let appended = ledger.append_batch_if(vec![draft], actor, log_key, |view| {
        match view.acknowledged_seq(digest) {
            Some(seq) => Err(seq),
            None => Ok(()),
        }
    })?;
    let acknowledged_seq = match appended {
        Ok(appended) => appended[0].seq,
        Err(already) => {
            keep_outside_checkpoint(ledger, already, &source)?;
            return Ok(outcome(already, false));
        }
    };
    ledger.add_outside_checkpoint(&verified.cosigned_checkpoint, &source)?;
    Ok(outcome(acknowledged_seq, true))
}

/// Puts the cosigned checkpoint the `acknowledged` entry at `seq` carries back into the
/// outside-checkpoint table if it is not there (lost in a crash between the append and the
/// table write, or deleted): acknowledging again repairs what `verify` reports as
/// `OutsideCheckpointRowMissing`.
fn keep_outside_checkpoint(ledger: &mut Ledger, seq: u64, source: &str) -> Result<(), StoreError> {
    let Some(note) = ledger.entry(seq)?.signed.event.fields.checkpoint else {
        return Ok(());
    };
    if ledger.has_outside_checkpoint(&note)? {
        return Ok(());
    }
    ledger.add_outside_checkpoint(&note, source).map(|_| ())
}
