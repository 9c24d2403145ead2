//! Appending to and reading the audit log. Appends run inside the caller's
//! transaction, so an action and its record commit or vanish together.

use railyard_domain::time::Instant;
use sqlx::Row;

use super::{Conn, DbError};
use railyard_domain::audit_chain::chain_hash;
use railyard_domain::audit_chain::Record;

/// What an action appends; the store adds position, time and hashes.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub actor: String,
    pub action: String,
    pub object: String,
    pub before: String,
    pub after: String,
    pub request_id: String,
}

impl Entry {
    /// An entry for `actor` doing `action` to `object`, with no state attached.
    pub fn new(actor: impl Into<String>, action: impl Into<String>, object: impl Into<String>) -> Self {
        Self { actor: actor.into(), action: action.into(), object: object.into(), ..Self::default() }
    }

    /// With the state before and after, as JSON.
    pub fn change(mut self, before: &serde_json::Value, after: &serde_json::Value) -> Self {
        self.before = if before.is_null() { String::new() } else { before.to_string() };
        self.after = if after.is_null() { String::new() } else { after.to_string() };
        self
    }

    /// With the id of the request that caused it.
    pub fn request(mut self, request_id: &str) -> Self {
        request_id.clone_into(&mut self.request_id);
        self
    }
}

/// Appends `entry` at `at`; returns its position. Bumping the head row first
/// takes its lock, so concurrent appenders queue up on every backend.
pub async fn append(conn: &mut Conn, entry: &Entry, at: Instant) -> Result<i64, DbError> {
    sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1").execute(&mut *conn).await?;
    let (seq, prev_hash): (i64, String) =
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(&mut *conn).await?;
    let hash = chain_hash(
        &prev_hash,
        seq,
        at,
        [&entry.actor, &entry.action, &entry.object, &entry.before, &entry.after, &entry.request_id],
    );
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, action, object, before_state, after_state, request_id, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(seq)
    .bind(at.ms())
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.object)
    .bind(&entry.before)
    .bind(&entry.after)
    .bind(&entry.request_id)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(&hash).execute(&mut *conn).await?;
    Ok(seq)
}

/// The number of records written and the last one's hash.
pub async fn head(conn: &mut Conn) -> Result<(i64, String), DbError> {
    Ok(sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(&mut *conn).await?)
}

/// Up to `limit` records in stored order, starting after row position `offset`.
/// Ordered by rowid-like insertion is not portable, so the order is by `seq`;
/// a swapped pair of `seq` values then shows up as a hash mismatch.
pub async fn page(conn: &mut Conn, offset: i64, limit: i64) -> Result<Vec<Record>, DbError> {
    let rows = sqlx::query(
        "SELECT seq, at, actor, action, object, before_state, after_state, request_id, prev_hash, hash \
         FROM audit_log ORDER BY seq LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(record).collect::<Result<_, sqlx::Error>>().map_err(DbError::from)
}

fn record(row: &sqlx::any::AnyRow) -> Result<Record, sqlx::Error> {
    Ok(Record {
        seq: row.try_get("seq")?,
        at: Instant::from_ms(row.try_get("at")?),
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        object: row.try_get("object")?,
        before: row.try_get("before_state")?,
        after: row.try_get("after_state")?,
        request_id: row.try_get("request_id")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// The records about any of `objects` (`train:ID`, `artifact:ID`), oldest first, at most `limit`.
pub async fn about(conn: &mut Conn, objects: &[String], limit: i64) -> Result<Vec<Record>, DbError> {
    if objects.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (2..objects.len() + 2).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT seq, at, actor, action, object, before_state, after_state, request_id, prev_hash, hash \
         FROM audit_log WHERE object IN ({}) ORDER BY seq LIMIT $1",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(limit);
    for object in objects {
        query = query.bind(object);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter().map(record).collect::<Result<_, sqlx::Error>>().map_err(DbError::from)
}

/// The newest `limit` records, newest first, for the admin page.
pub async fn latest(conn: &mut Conn, limit: i64) -> Result<Vec<Record>, DbError> {
    let total = head(conn).await?.0;
    let mut records = page(conn, (total - limit).max(0), limit).await?;
    records.reverse();
    Ok(records)
}
