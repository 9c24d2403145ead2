//! Trains (dated instances of a definition) and their event timelines.

use super::{new_id, Conn, DbError};
use railyard_domain::ids::TrainId;
use railyard_domain::time::Instant;
use railyard_domain::train_kind::TrainKind;
use railyard_domain::train_state::TrainState;

/// `column NOT IN (…the final states…)`, rendered from [`TrainState::FINAL`]
/// so a new final state is one edit.
pub fn not_final(column: &str) -> String {
    let names: Vec<String> = TrainState::FINAL.iter().map(|state| format!("'{state}'")).collect();
    format!("{column} NOT IN ({})", names.join(", "))
}

/// A train to create if no train of its definition cuts over at the same instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTrain {
    pub definition_id: String,
    pub state: TrainState,
    pub planning_opens_at: Instant,
    pub cutover_at: Instant,
    pub cutover_closes_at: Instant,
}

/// A train with what the calendar and the API show about it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TrainListing {
    #[sqlx(try_from = "String")]
    pub id: TrainId,
    pub definition: String,
    pub domain: String,
    pub domain_colour: String,
    pub time_zone: String,
    #[sqlx(try_from = "String")]
    pub state: TrainState,
    #[sqlx(try_from = "i64")]
    pub planning_opens_at: Instant,
    #[sqlx(try_from = "i64")]
    pub cutover_at: Instant,
    #[sqlx(try_from = "i64")]
    pub cutover_closes_at: Instant,
    #[sqlx(try_from = "String")]
    pub kind: TrainKind,
    /// Why a train was started out of its cadence.
    pub reason: String,
}

/// One entry of a train's timeline.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TrainEvent {
    pub seq: i64,
    #[sqlx(try_from = "i64")]
    pub at: Instant,
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub actor: String,
    pub reason: String,
}

/// A state change to record, with who made it and why.
#[derive(Debug, Clone, Copy)]
pub struct Transition<'a> {
    pub from: TrainState,
    pub to: TrainState,
    pub at: Instant,
    pub actor: &'a str,
    pub reason: &'a str,
}

/// Creates the train unless its (definition, cutover) already exists; true if created.
/// The unique key makes this safe against concurrent schedulers and restarts.
#[tracing::instrument(skip_all)]
pub async fn insert_if_absent(conn: &mut Conn, train: &NewTrain, now: Instant) -> Result<Option<String>, DbError> {
    let id = new_id();
    let inserted = sqlx::query(
        "INSERT INTO trains (id, definition_id, state, planning_opens_at, cutover_at, cutover_closes_at, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (definition_id, cutover_at) DO NOTHING",
    )
    .bind(&id)
    .bind(&train.definition_id)
    .bind(train.state.as_str())
    .bind(train.planning_opens_at.ms())
    .bind(train.cutover_at.ms())
    .bind(train.cutover_closes_at.ms())
    .bind(now.ms())
    .execute(conn)
    .await?
    .rows_affected();
    Ok((inserted == 1).then_some(id))
}

/// A scheduled train whose planning window has started.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DueTrain {
    #[sqlx(try_from = "String")]
    pub id: TrainId,
    pub definition_id: String,
    #[sqlx(try_from = "i64")]
    pub cutover_at: Instant,
    #[sqlx(try_from = "i64")]
    pub cutover_closes_at: Instant,
    #[sqlx(try_from = "String")]
    pub kind: TrainKind,
}

/// Trains still `scheduled` whose planning window has started, oldest first.
#[tracing::instrument(skip_all)]
pub async fn due_to_open(conn: &mut Conn, now: Instant, limit: i64) -> Result<Vec<DueTrain>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, definition_id, cutover_at, cutover_closes_at, kind FROM trains WHERE state = $1 AND planning_opens_at <= $2 \
         ORDER BY planning_opens_at LIMIT $3",
    )
    .bind(TrainState::Scheduled.as_str())
    .bind(now.ms())
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// When the next `scheduled` train's planning window opens after `after`, if any (a simulated clock jumps there).
#[tracing::instrument(skip_all)]
pub async fn next_opening(conn: &mut Conn, after: Instant) -> Result<Option<Instant>, DbError> {
    let (at,): (Option<i64>,) =
        sqlx::query_as("SELECT MIN(planning_opens_at) FROM trains WHERE state = $1 AND planning_opens_at > $2")
            .bind(TrainState::Scheduled.as_str())
            .bind(after.ms())
            .fetch_one(conn)
            .await?;
    Ok(at.map(Instant::from_ms))
}

/// Moves a train from `from` to `to` and appends the event, only if it is
/// still in `from`; true if this call made the change.
#[tracing::instrument(skip_all)]
pub async fn transition(conn: &mut Conn, train_id: &str, change: Transition<'_>) -> Result<bool, DbError> {
    let moved = sqlx::query("UPDATE trains SET state = $3, updated_at = $4 WHERE id = $1 AND state = $2")
        .bind(train_id)
        .bind(change.from.as_str())
        .bind(change.to.as_str())
        .bind(change.at.ms())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if moved == 0 {
        return Ok(false);
    }
    append_event(conn, train_id, "state_changed", change).await?;
    Ok(true)
}

/// Appends an event to a train's timeline with the next sequence number.
#[tracing::instrument(skip_all)]
pub async fn append_event(conn: &mut Conn, train_id: &str, kind: &str, change: Transition<'_>) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO train_events (id, train_id, seq, at, kind, from_state, to_state, actor, reason) \
         SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5, $6, $7, $8 FROM train_events WHERE train_id = $2",
    )
    .bind(new_id())
    .bind(train_id)
    .bind(change.at.ms())
    .bind(kind)
    .bind(change.from.as_str())
    .bind(change.to.as_str())
    .bind(change.actor)
    .bind(change.reason)
    .execute(&mut *conn)
    .await?;
    // Every timeline entry is also an audit record, in the same transaction.
    let entry = super::audit::Entry::new(change.actor, format!("train.{kind}"), format!("train:{train_id}")).change(
        &serde_json::json!({ "state": change.from.as_str() }),
        &serde_json::json!({ "state": change.to.as_str(), "reason": change.reason }),
    );
    super::audit::append(conn, &entry, change.at).await?;
    Ok(())
}

/// A train's timeline, oldest first.
#[tracing::instrument(skip_all)]
pub async fn events(conn: &mut Conn, train_id: &str) -> Result<Vec<TrainEvent>, DbError> {
    Ok(sqlx::query_as(
        "SELECT seq, at, kind, from_state, to_state, actor, reason FROM train_events WHERE train_id = $1 ORDER BY seq",
    )
    .bind(train_id)
    .fetch_all(conn)
    .await?)
}

const LISTING: &str = "SELECT t.id, d.name AS definition, m.name AS domain, m.colour AS domain_colour, \
     d.time_zone, t.state, t.planning_opens_at, t.cutover_at, t.cutover_closes_at, t.kind, t.reason \
     FROM trains t JOIN train_definitions d ON d.id = t.definition_id JOIN domains m ON m.id = d.domain_id";

/// The train with `id`, if any.
#[tracing::instrument(skip_all)]
pub async fn by_id(conn: &mut Conn, id: &str) -> Result<Option<TrainListing>, DbError> {
    Ok(sqlx::query_as(&format!("{LISTING} WHERE t.id = $1")).bind(id).fetch_optional(conn).await?)
}

/// The ids of the trains that ended (completed, rolled back or aborted) at or after `since`.
#[tracing::instrument(skip_all)]
pub async fn ended_since(conn: &mut Conn, since: Instant) -> Result<Vec<String>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM trains WHERE state IN ('completed', 'rolled_back', 'aborted') AND updated_at >= $1 ORDER BY id",
    )
    .bind(since.ms())
    .fetch_all(conn)
    .await?)
}

/// The ids of the trains in `state`, oldest cutover first.
#[tracing::instrument(skip_all)]
pub async fn ids_in_state(conn: &mut Conn, state: TrainState) -> Result<Vec<String>, DbError> {
    Ok(sqlx::query_scalar("SELECT id FROM trains WHERE state = $1 ORDER BY cutover_at, id")
        .bind(state.as_str())
        .fetch_all(conn)
        .await?)
}

/// Trains cutting over in `[from, to)`, optionally of one domain, by cutover time.
#[tracing::instrument(skip_all)]
pub async fn cutting_over_between(
    conn: &mut Conn,
    from: Instant,
    to: Instant,
    domain: Option<&str>,
) -> Result<Vec<TrainListing>, DbError> {
    Ok(sqlx::query_as(&format!(
        "{LISTING} WHERE t.cutover_at >= $1 AND t.cutover_at < $2 AND ($3 = '' OR m.name = $3) \
         ORDER BY t.cutover_at, d.name"
    ))
    .bind(from.ms())
    .bind(to.ms())
    .bind(domain.unwrap_or(""))
    .fetch_all(conn)
    .await?)
}

/// Trains of definitions that carry the service `service_id`, cutting over in `[from, to)`.
#[tracing::instrument(skip_all)]
pub async fn carrying_between(
    conn: &mut Conn,
    service_id: &str,
    from: Instant,
    to: Instant,
) -> Result<Vec<TrainListing>, DbError> {
    Ok(sqlx::query_as(&format!(
        "{LISTING} JOIN train_definition_services s ON s.definition_id = d.id \
         WHERE s.service_id = $1 AND t.cutover_at >= $2 AND t.cutover_at < $3 ORDER BY t.cutover_at"
    ))
    .bind(service_id)
    .bind(from.ms())
    .bind(to.ms())
    .fetch_all(conn)
    .await?)
}

/// Deletes a definition's trains that have not opened yet (after its cadence changed).
#[tracing::instrument(skip_all)]
pub async fn delete_unopened(conn: &mut Conn, definition_id: &str) -> Result<u64, DbError> {
    Ok(sqlx::query("DELETE FROM trains WHERE definition_id = $1 AND state = $2")
        .bind(definition_id)
        .bind(TrainState::Scheduled.as_str())
        .execute(conn)
        .await?
        .rows_affected())
}

/// How many trains exist (all definitions).
#[tracing::instrument(skip_all)]
pub async fn count(conn: &mut Conn) -> Result<i64, DbError> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM trains").fetch_one(conn).await?;
    Ok(n)
}

/// Creates a train of `kind` for `definition_id` out of its cadence, open for
/// planning at once and cutting over at `cutover_at`; an emergency or hotfix
/// carries exactly `artifact_ids`. Returns its id.
#[tracing::instrument(skip_all)]
pub async fn insert_on_demand(
    conn: &mut Conn,
    definition_id: &str,
    kind: TrainKind,
    artifact_ids: &[String],
    reason: &str,
    (cutover_at, cutover_closes_at): (Instant, Instant),
    now: Instant,
) -> Result<String, DbError> {
    let id = new_id();
    // A definition has one train per cutover instant: one started in the same
    // millisecond as another (or as a planned cutover) cuts over a millisecond later.
    for nudge in 0..1_000 {
        let inserted = sqlx::query(
            "INSERT INTO trains (id, definition_id, state, planning_opens_at, cutover_at, cutover_closes_at, \
             created_at, updated_at, kind, reason) VALUES ($1, $2, 'scheduled', $3, $4, $5, $3, $3, $6, $7) \
             ON CONFLICT (definition_id, cutover_at) DO NOTHING",
        )
        .bind(&id)
        .bind(definition_id)
        .bind(now.ms())
        .bind((cutover_at + nudge).ms())
        .bind((cutover_closes_at + nudge).ms())
        .bind(kind.as_str())
        .bind(reason)
        .execute(&mut *conn)
        .await?;
        if inserted.rows_affected() == 1 {
            break;
        }
    }
    for artifact_id in artifact_ids {
        sqlx::query("INSERT INTO emergency_candidates (train_id, artifact_id) VALUES ($1, $2)")
            .bind(&id)
            .bind(artifact_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(id)
}

/// The kind of train `train_id`.
#[tracing::instrument(skip_all)]
pub async fn kind_of(conn: &mut Conn, train_id: &str) -> Result<TrainKind, DbError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT kind FROM trains WHERE id = $1").bind(train_id).fetch_optional(conn).await?;
    let Some((kind,)) = row else { return Err(DbError::NotFound) };
    TrainKind::try_from(kind)
        .map_err(|error| DbError::Corrupt { what: format!("kind of train {train_id}"), why: error.to_string() })
}

/// The artifacts an emergency train was started for (empty for regular trains).
#[tracing::instrument(skip_all)]
pub async fn emergency_candidates(conn: &mut Conn, train_id: &str) -> Result<Vec<String>, DbError> {
    Ok(sqlx::query_scalar("SELECT artifact_id FROM emergency_candidates WHERE train_id = $1 ORDER BY artifact_id")
        .bind(train_id)
        .fetch_all(conn)
        .await?)
}

/// The most recently opened train of the definition named `definition`, if any.
#[tracing::instrument(skip_all)]
pub async fn latest_of(conn: &mut Conn, definition: &str) -> Result<Option<String>, DbError> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT t.id FROM trains t JOIN train_definitions d ON d.id = t.definition_id \
         WHERE d.name = $1 AND t.state <> 'scheduled' ORDER BY t.planning_opens_at DESC LIMIT 1",
    )
    .bind(definition)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id,)| id))
}

/// The id of the domain train `train_id` belongs to.
#[tracing::instrument(skip_all)]
pub async fn domain_id_of(conn: &mut Conn, train_id: &str) -> Result<String, DbError> {
    let (domain_id,): (String,) = sqlx::query_as(
        "SELECT d.domain_id FROM trains t JOIN train_definitions d ON d.id = t.definition_id WHERE t.id = $1",
    )
    .bind(train_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(domain_id)
}

/// Services boarded on trains other than `train_id` whose rollout has
/// started and not finished (held and suspended rollouts count), as
/// `(train id, definition name, service name)`, by train and service.
#[tracing::instrument(skip_all)]
pub async fn deploying_services(conn: &mut Conn, train_id: &str) -> Result<Vec<(String, String, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT t.id, d.name, s.name FROM trains t JOIN train_definitions d ON d.id = t.definition_id \
         JOIN train_candidates c ON c.train_id = t.id AND c.status = 'boarded' \
         JOIN artifacts a ON a.id = c.artifact_id JOIN services s ON s.id = a.service_id \
         WHERE t.id <> $1 AND t.state IN ('staging', 'canary', 'cutover', 'held', 'suspended') \
         AND EXISTS (SELECT 1 FROM train_events e WHERE e.train_id = t.id \
                     AND e.to_state IN ('staging', 'canary', 'cutover')) \
         ORDER BY t.id, s.name",
    )
    .bind(train_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// How many trains of `definition_id` have opened and not ended.
#[tracing::instrument(skip_all)]
pub async fn open_count(conn: &mut Conn, definition_id: &str) -> Result<i64, DbError> {
    let query = format!(
        "SELECT COUNT(*) FROM trains WHERE definition_id = $1 AND state <> 'scheduled' AND {}",
        not_final("state")
    );
    let (count,): (i64,) = sqlx::query_as(&query).bind(definition_id).fetch_one(&mut *conn).await?;
    Ok(count)
}

/// The id of the definition train `train_id` belongs to; `None` when there is no such train.
#[tracing::instrument(skip_all)]
pub async fn definition_id_of(conn: &mut Conn, train_id: &str) -> Result<Option<String>, DbError> {
    Ok(sqlx::query_scalar("SELECT definition_id FROM trains WHERE id = $1").bind(train_id).fetch_optional(conn).await?)
}

/// How many rehearsals of `definition_id` exist, in any state.
#[tracing::instrument(skip_all)]
pub async fn rehearsal_count(conn: &mut Conn, definition_id: &str) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM trains WHERE definition_id = $1 AND kind = 'rehearsal'")
        .bind(definition_id)
        .fetch_one(conn)
        .await?)
}
