//! Checking and exporting the stored log, and checking an exported file.

use std::io::{BufRead, Write};

use anyhow::Context;

use super::{Record, Verification, Verifier};
use crate::store::{self, Db};

/// Records read per query while walking the log.
const PAGE: i64 = 5_000;

/// Recomputes the stored chain against the stored head, a checkpoint
/// (`count`, `hash`) kept outside the database if given, and, with the audit
/// key, every signed checkpoint in the store (one the key did not sign breaks the log).
pub async fn verify_store(
    db: &Db,
    checkpoint: Option<(i64, String)>,
    key: Option<&[u8]>,
) -> anyhow::Result<Verification> {
    let mut conn = db.acquire().await?;
    let (count, hash) = store::audit::head(&mut conn).await?;
    let mut vouched: Vec<(i64, String)> = checkpoint.into_iter().collect();
    if let Some(key) = key {
        for signed in store::audit_checkpoints::all(&mut conn).await? {
            if !super::keyed::verify(key, signed.count, &signed.head, &signed.mac) {
                return Ok(Verification::Broken {
                    seq: signed.count,
                    problem: "the signed checkpoint for this record does not carry this server's audit key: \
                              it was forged or altered"
                        .into(),
                });
            }
            vouched.push((signed.count, signed.head));
        }
    }
    let mut verifier = Verifier::with_checkpoints(vouched);
    let mut offset = 0;
    loop {
        let page = store::audit::page(&mut conn, offset, PAGE).await?;
        for record in &page {
            verifier.push(record);
        }
        if page.len() < usize::try_from(PAGE).unwrap_or(usize::MAX) {
            break;
        }
        offset += PAGE;
    }
    Ok(verifier.finish(Some((count, &hash))))
}

/// Writes every record as one JSON object per line; returns how many.
pub async fn export(db: &Db, out: &mut impl Write) -> anyhow::Result<i64> {
    let mut conn = db.acquire().await?;
    let mut offset = 0;
    loop {
        let page = store::audit::page(&mut conn, offset, PAGE).await?;
        for record in &page {
            serde_json::to_writer(&mut *out, record)?;
            out.write_all(b"\n")?;
        }
        offset += i64::try_from(page.len())?;
        if page.len() < usize::try_from(PAGE).unwrap_or(usize::MAX) {
            break;
        }
    }
    out.flush()?;
    Ok(offset)
}

/// Recomputes the chain of an exported JSON Lines file, optionally against
/// a checkpoint. A line that is not a record breaks the chain where it stands.
pub fn verify_export(input: impl BufRead, checkpoint: Option<(i64, String)>) -> anyhow::Result<Verification> {
    let mut verifier = Verifier::with_checkpoint(checkpoint);
    for (index, line) in input.lines().enumerate() {
        let line = line.context("reading the export")?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(&line) {
            Ok(record) => verifier.push(&record),
            Err(error) => {
                return Ok(Verification::Broken {
                    seq: i64::try_from(index)? + 1,
                    problem: format!("line {} is not an audit record: {error}", index + 1),
                })
            }
        }
    }
    Ok(verifier.finish(None))
}
