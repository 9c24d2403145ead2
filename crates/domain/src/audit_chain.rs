//! Records, their canonical encoding and the chain check.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::time::Instant;

/// The `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit record, as stored and as exported (one JSON object per line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Position in the chain, from 1 without gaps.
    pub seq: i64,
    /// When it happened (epoch milliseconds on the wire).
    pub at: Instant,
    /// Who acted: `user:NAME`, `token:NAME`, `scheduler`, `runtime` …
    pub actor: String,
    /// What was done, e.g. `login.failed`, `train.transition`, `role.granted`.
    pub action: String,
    /// What it was done to, e.g. `train:ID`, `user:NAME`.
    pub object: String,
    /// The relevant state before (JSON text, or empty).
    pub before: String,
    /// The relevant state after (JSON text, or empty).
    pub after: String,
    /// The HTTP request that caused it, if any.
    pub request_id: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Record {
    /// The hash this record must carry given its fields and `prev_hash`.
    pub fn expected_hash(&self) -> String {
        chain_hash(
            &self.prev_hash,
            self.seq,
            self.at,
            [&self.actor, &self.action, &self.object, &self.before, &self.after, &self.request_id],
        )
    }
}

/// SHA-256 over the previous hash and the canonical encoding of a record's
/// fields: a JSON array in a fixed order, so no field can be moved into
/// another without changing the bytes.
pub fn chain_hash(prev_hash: &str, seq: i64, at: Instant, fields: [&str; 6]) -> String {
    let [actor, action, object, before, after, request_id] = fields;
    let canonical = serde_json::json!([seq, at.ms(), actor, action, object, before, after, request_id]).to_string();
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
}

/// What a chain check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum Verification {
    /// Every record fits; `head` is the last record's hash.
    Intact { count: i64, head: String },
    /// `seq` is the first record that does not fit (for a missing tail, the first missing one).
    Broken { seq: i64, problem: String },
}

/// Checks records one at a time, in stored order, so a long log never has to fit in memory.
#[derive(Debug)]
pub struct Verifier {
    prev: String,
    count: i64,
    broken: Option<Verification>,
    /// (count, hash) pairs vouched for from outside the log, by count.
    checkpoints: Vec<(i64, String)>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self { prev: GENESIS.to_owned(), count: 0, broken: None, checkpoints: Vec::new() }
    }
}

impl Verifier {
    /// Also holds the log to a checkpoint kept outside the database: record
    /// `count` must exist and carry `hash`, however many records came after.
    pub fn with_checkpoint(checkpoint: Option<(i64, String)>) -> Self {
        Self::with_checkpoints(checkpoint.into_iter().collect())
    }

    /// [`Self::with_checkpoint`] for several checkpoints (signed ones from the store, say).
    pub fn with_checkpoints(mut checkpoints: Vec<(i64, String)>) -> Self {
        checkpoints.sort();
        Self { checkpoints, ..Self::default() }
    }

    /// Takes the next record; after the first bad one the rest are ignored.
    pub fn push(&mut self, record: &Record) {
        if self.broken.is_some() {
            return;
        }
        let expected_seq = self.count + 1;
        let problem = if record.seq != expected_seq {
            Some((expected_seq, format!("expected record {expected_seq} here, found record {}", record.seq)))
        } else if record.prev_hash != self.prev {
            Some((record.seq, "its previous-hash does not match the record before it".to_owned()))
        } else if record.hash != record.expected_hash() {
            Some((record.seq, "its contents do not match its hash (a field was changed)".to_owned()))
        } else {
            None
        };
        match problem {
            Some((seq, problem)) => self.broken = Some(Verification::Broken { seq, problem }),
            None => {
                self.prev.clone_from(&record.hash);
                self.count = expected_seq;
                if let Some((_, hash)) = self.checkpoints.iter().find(|(count, _)| *count == record.seq) {
                    if *hash != record.hash {
                        self.broken = Some(Verification::Broken {
                            seq: record.seq,
                            problem: "its hash differs from the checkpoint; the log was rewritten up to here".into(),
                        });
                    }
                }
            }
        }
    }

    /// The result. When `head` is given (the count and hash the store or a
    /// checkpoint vouches for), a chain that stops short of it or ends
    /// elsewhere is broken too.
    pub fn finish(self, head: Option<(i64, &str)>) -> Verification {
        if let Some(broken) = self.broken {
            return broken;
        }
        let count = self.count;
        if let Some(checkpoint) = self.checkpoints.iter().map(|(count, _)| *count).max() {
            if checkpoint > count {
                return Verification::Broken {
                    seq: count + 1,
                    problem: format!("the log ends at record {count} but a checkpoint vouches for {checkpoint}"),
                };
            }
        }
        match head {
            Some((head_count, _)) if head_count > count => Verification::Broken {
                seq: count + 1,
                problem: format!("the log ends at record {count} but {head_count} records were written"),
            },
            Some((head_count, _)) if head_count < count => Verification::Broken {
                seq: head_count + 1,
                problem: format!("records after {head_count} were not written through the log"),
            },
            Some((_, head_hash)) if head_hash != self.prev => Verification::Broken {
                seq: count,
                problem: "the last record's hash differs from the recorded head".into(),
            },
            _ => Verification::Intact { count, head: self.prev },
        }
    }
}

/// Recomputes the chain over `records` (in stored order); see [`Verifier::finish`] for `head`.
pub fn verify<'a>(records: impl IntoIterator<Item = &'a Record>, head: Option<(i64, &str)>) -> Verification {
    let mut verifier = Verifier::default();
    for record in records {
        verifier.push(record);
    }
    verifier.finish(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<Record> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let mut record = Record {
                    seq,
                    at: Instant::from_ms(1_000 * seq),
                    actor: "user:ada".into(),
                    action: "train.hold".into(),
                    object: format!("train:{seq}"),
                    before: "{}".into(),
                    after: "{\"held\":true}".into(),
                    request_id: format!("req-{seq}"),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                record.hash = record.expected_hash();
                prev = record.hash.clone();
                record
            })
            .collect()
    }

    fn broken_at(verification: Verification) -> i64 {
        match verification {
            Verification::Broken { seq, .. } => seq,
            Verification::Intact { .. } => panic!("tampering went unnoticed"),
        }
    }

    #[test]
    fn an_untouched_chain_verifies_and_reports_its_head() {
        let records = chain(4);
        let head = records[3].hash.clone();
        assert_eq!(verify(&records, Some((4, &head))), Verification::Intact { count: 4, head });
    }

    #[test]
    fn moving_text_between_fields_changes_the_hash() {
        let mut records = chain(1);
        records[0].actor = "user:ada\",\"train.hold".into();
        records[0].action = String::new();
        assert_eq!(broken_at(verify(&records, None)), 1);
    }

    #[test]
    fn a_removed_record_is_named() {
        let mut records = chain(5);
        records.remove(2);
        assert_eq!(broken_at(verify(&records, None)), 3);
    }

    #[test]
    fn a_rewritten_log_fails_against_an_outside_checkpoint() {
        let original = chain(3);
        let checkpoint = Some((2, original[1].hash.clone()));
        let mut verifier = Verifier::with_checkpoint(checkpoint.clone());
        original.iter().for_each(|record| verifier.push(record));
        assert!(matches!(verifier.finish(None), Verification::Intact { count: 3, .. }));

        // Rewritten consistently from the start: the chain alone cannot tell, the checkpoint can.
        let mut rewritten = chain(3);
        rewritten[0].actor = "user:mallory".into();
        let mut prev = GENESIS.to_owned();
        for record in &mut rewritten {
            record.prev_hash = prev;
            record.hash = record.expected_hash();
            prev = record.hash.clone();
        }
        assert!(matches!(verify(&rewritten, None), Verification::Intact { .. }));
        let mut verifier = Verifier::with_checkpoint(checkpoint);
        rewritten.iter().for_each(|record| verifier.push(record));
        assert_eq!(broken_at(verifier.finish(None)), 2);
    }

    #[test]
    fn a_truncated_tail_is_caught_by_the_head() {
        let records = chain(5);
        let head = records[4].hash.clone();
        assert_eq!(broken_at(verify(&records[..3], Some((5, &head)))), 4);
    }
}
