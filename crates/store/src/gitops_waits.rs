//! Pushed GitOps releases waiting for their controller: one row per
//! controller object of a release effect, until every object reports the
//! pushed revision applied (or one fails) and the wait is settled.

use super::json_text::JsonText;
use super::{Conn, DbError};
use railyard_domain::time::Instant;

/// Where one object stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectState {
    Waiting,
    Applied,
    Failed,
}

impl ObjectState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Applied => "applied",
            Self::Failed => "failed",
        }
    }
}

impl TryFrom<String> for ObjectState {
    type Error = String;

    fn try_from(stored: String) -> Result<Self, String> {
        match stored.as_str() {
            "waiting" => Ok(Self::Waiting),
            "applied" => Ok(Self::Applied),
            "failed" => Ok(Self::Failed),
            other => Err(format!("unknown gitops wait state {other:?}")),
        }
    }
}

/// One object of one waiting release.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Wait {
    pub effect_key: String,
    pub object: String,
    pub train_id: String,
    /// The pushed commit.
    pub revision: String,
    #[sqlx(try_from = "String")]
    pub state: ObjectState,
    pub detail: String,
    #[sqlx(try_from = "String")]
    pub images: JsonText<Vec<String>>,
    #[sqlx(try_from = "i64")]
    pub started_at: Instant,
    #[sqlx(try_from = "i64")]
    pub deadline_at: Instant,
    /// 1 once the train was held for the deadline (see [`Wait::overdue`]).
    pub overdue_marked: i64,
}

impl Wait {
    /// Whether the train was held for the deadline already.
    pub fn overdue(&self) -> bool {
        self.overdue_marked != 0
    }
}

const COLUMNS: &str =
    "effect_key, object, train_id, revision, state, detail, images, started_at, deadline_at, overdue AS overdue_marked";

/// Starts waiting for `objects` to apply `revision` (a retried release keeps the first wait).
#[tracing::instrument(skip_all)]
pub async fn start(
    conn: &mut Conn,
    effect_key: &str,
    train_id: &str,
    revision: &str,
    objects: &[String],
    now: Instant,
    deadline: Instant,
) -> Result<(), DbError> {
    for object in objects {
        sqlx::query(
            "INSERT INTO gitops_waits (effect_key, object, train_id, revision, started_at, deadline_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (effect_key, object) DO NOTHING",
        )
        .bind(effect_key)
        .bind(object)
        .bind(train_id)
        .bind(revision)
        .bind(now.ms())
        .bind(deadline.ms())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Every object of every unsettled wait, oldest first.
#[tracing::instrument(skip_all)]
pub async fn open(conn: &mut Conn) -> Result<Vec<Wait>, DbError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM gitops_waits WHERE settled_at IS NULL ORDER BY started_at, effect_key, object"
    ))
    .fetch_all(conn)
    .await?)
}

/// The unsettled waits for `object` of the trains of definition `definition_id`.
#[tracing::instrument(skip_all)]
pub async fn open_for_object(conn: &mut Conn, definition_id: &str, object: &str) -> Result<Vec<Wait>, DbError> {
    let columns: Vec<String> = COLUMNS.split(", ").map(|c| format!("w.{c}")).collect();
    Ok(sqlx::query_as(&format!(
        "SELECT {} FROM gitops_waits w JOIN trains t ON t.id = w.train_id \
         WHERE t.definition_id = $1 AND w.object = $2 AND w.settled_at IS NULL ORDER BY w.started_at, w.effect_key",
        columns.join(", ")
    ))
    .bind(definition_id)
    .bind(object)
    .fetch_all(conn)
    .await?)
}

/// The newest deploy of `train_id` that `object` applied (its wait settled), if any.
#[tracing::instrument(skip_all)]
pub async fn last_applied(conn: &mut Conn, train_id: &str, object: &str) -> Result<Option<Wait>, DbError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM gitops_waits WHERE train_id = $1 AND object = $2 AND state = 'applied' \
         AND settled_at IS NOT NULL AND effect_key LIKE '%:deploy:%' ORDER BY started_at DESC LIMIT 1"
    ))
    .bind(train_id)
    .bind(object)
    .fetch_optional(conn)
    .await?)
}

/// The unsettled waits of one train.
#[tracing::instrument(skip_all)]
pub async fn open_of_train(conn: &mut Conn, train_id: &str) -> Result<Vec<Wait>, DbError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM gitops_waits WHERE settled_at IS NULL AND train_id = $1 ORDER BY effect_key, object"
    ))
    .bind(train_id)
    .fetch_all(conn)
    .await?)
}

/// Every object of the release `effect_key`, while its wait is open.
#[tracing::instrument(skip_all)]
pub async fn open_release(conn: &mut Conn, effect_key: &str) -> Result<Vec<Wait>, DbError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM gitops_waits WHERE effect_key = $1 AND settled_at IS NULL ORDER BY object"
    ))
    .bind(effect_key)
    .fetch_all(conn)
    .await?)
}

/// Records what the controller says about one object (only while the wait is open).
#[tracing::instrument(skip_all)]
pub async fn report(
    conn: &mut Conn,
    effect_key: &str,
    object: &str,
    state: ObjectState,
    detail: &str,
    images: &[String],
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE gitops_waits SET state = $3, detail = $4, images = $5 \
         WHERE effect_key = $1 AND object = $2 AND settled_at IS NULL",
    )
    .bind(effect_key)
    .bind(object)
    .bind(state.as_str())
    .bind(detail)
    .bind(JsonText(images.to_vec()).text()?)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks the release's deadline as reported (the train was held once for it).
#[tracing::instrument(skip_all)]
pub async fn mark_overdue(conn: &mut Conn, effect_key: &str) -> Result<(), DbError> {
    sqlx::query("UPDATE gitops_waits SET overdue = 1 WHERE effect_key = $1").bind(effect_key).execute(conn).await?;
    Ok(())
}

/// Ends the wait for the release `effect_key`.
#[tracing::instrument(skip_all)]
pub async fn settle(conn: &mut Conn, effect_key: &str, now: Instant) -> Result<(), DbError> {
    sqlx::query("UPDATE gitops_waits SET settled_at = $2 WHERE effect_key = $1 AND settled_at IS NULL")
        .bind(effect_key)
        .bind(now.ms())
        .execute(conn)
        .await?;
    Ok(())
}
