//! The joins the read-only pages are built from (gate board, console,
//! dashboard). The pages shape them into view models.

use super::{runs, trains::not_final, Conn, DbError};
use railyard_domain::engine::TrainRun;
use railyard_domain::time::Instant;
use railyard_domain::train_kind::TrainKind;
use railyard_domain::train_state::TrainState;

/// A train on the gate board: id, definition, domain, state, cutover and engine state (JSON).
pub type BoardTrain = (String, String, String, String, Instant, String);

/// The `limit` newest trains (of `domain`, if given) opened by `now`, newest cutover first.
#[tracing::instrument(skip_all)]
pub async fn gate_board_trains(
    conn: &mut Conn,
    now: Instant,
    domain: Option<&str>,
    limit: i64,
) -> Result<Vec<BoardTrain>, DbError> {
    Ok(sqlx::query_as(
        "SELECT t.id, d.name, m.name, t.state, t.cutover_at, r.state FROM trains t \
         JOIN train_definitions d ON d.id = t.definition_id JOIN domains m ON m.id = d.domain_id \
         JOIN train_runs r ON r.train_id = t.id \
         WHERE t.planning_opens_at <= $1 AND ($2 = '' OR m.name = $2) ORDER BY t.cutover_at DESC LIMIT $3",
    )
    .bind(now.ms())
    .bind(domain.unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(|(id, definition, domain, state, cutover, run): (String, String, String, String, i64, String)| {
        (id, definition, domain, state, Instant::from_ms(cutover), run)
    })
    .collect())
}

/// A train in flight as the console lists it.
#[derive(sqlx::FromRow)]
pub struct ConsoleTrainRow {
    pub id: String,
    pub name: String,
    pub domain: String,
    #[sqlx(try_from = "String")]
    pub phase: TrainState,
    #[sqlx(try_from = "i64")]
    pub cutover_at: Instant,
    /// The engine state (JSON), once the train has opened; read it with [`ConsoleTrainRow::decoded_run`].
    pub run: Option<String>,
    #[sqlx(try_from = "String")]
    pub kind: TrainKind,
    pub definition_id: String,
}

impl ConsoleTrainRow {
    /// Its engine state, once the train has opened (left out, logged, when unreadable).
    pub fn decoded_run(&self) -> Option<TrainRun> {
        self.run.as_deref().and_then(|state| runs::decode_listed(&self.id, state))
    }
}

/// Up to `limit` trains that have opened and not ended, by cutover.
#[tracing::instrument(skip_all)]
pub async fn console_trains(conn: &mut Conn, limit: i64) -> Result<Vec<ConsoleTrainRow>, DbError> {
    let query = format!(
        "SELECT t.id, d.name AS name, m.name AS domain, t.state AS phase, t.cutover_at, r.state AS run, t.kind, \
         t.definition_id \
         FROM trains t \
         JOIN train_definitions d ON d.id = t.definition_id JOIN domains m ON m.id = d.domain_id \
         LEFT JOIN train_runs r ON r.train_id = t.id \
         WHERE t.state <> 'scheduled' AND {} \
         ORDER BY t.cutover_at, d.name LIMIT $1",
        not_final("t.state")
    );
    Ok(sqlx::query_as(&query).bind(limit).fetch_all(conn).await?)
}

/// A candidate an approver might decide: artifact id, service, version, author, domain name and id.
pub type WaitingCandidate = (String, String, String, String, String, String);

/// The newest unrejected build of each service registered after `since` that
/// `approver` has not decided and nobody rejected, by domain and service.
#[tracing::instrument(skip_all)]
pub async fn waiting_candidates(
    conn: &mut Conn,
    since: Instant,
    approver: &str,
) -> Result<Vec<WaitingCandidate>, DbError> {
    Ok(sqlx::query_as(
        "SELECT a.id, s.name, a.version, a.author, m.name, m.id FROM artifacts a \
         JOIN services s ON s.id = a.service_id JOIN domains m ON m.id = s.domain_id \
         WHERE a.rejected_at IS NULL AND a.created_at > $1 \
         AND a.created_at = (SELECT MAX(b.created_at) FROM artifacts b WHERE b.service_id = a.service_id) \
         AND NOT EXISTS (SELECT 1 FROM approvals p WHERE p.artifact_id = a.id AND (p.approver = $2 OR p.decision = 'rejected')) \
         ORDER BY m.name, s.name",
    )
    .bind(since.ms())
    .bind(approver)
    .fetch_all(conn)
    .await?)
}

/// What the dashboard's trend panels count, since a moment and for a domain (or all).
pub struct DashboardHistory {
    /// Finished trains: state, cutover, engine state and kind.
    pub finished: Vec<(String, Instant, Option<TrainRun>, String)>,
    /// Rollbacks: the engine state, when the train reached `rolled_back`, and its kind.
    pub rollbacks: Vec<(TrainRun, Instant, String)>,
    /// Security scans: status and when reported.
    pub scans: Vec<(String, Instant)>,
}

/// Reads the [`DashboardHistory`] since `since` for `domain` (a name) or every domain.
#[tracing::instrument(skip_all)]
pub async fn dashboard_history(
    conn: &mut Conn,
    since: Instant,
    domain: Option<&str>,
) -> Result<DashboardHistory, DbError> {
    let domain_filter = domain.unwrap_or("");
    let finished: Vec<(String, String, i64, Option<String>, String)> = sqlx::query_as(
        "SELECT t.id, t.state, t.cutover_at, r.state, t.kind FROM trains t JOIN train_definitions d ON d.id = t.definition_id \
         JOIN domains m ON m.id = d.domain_id LEFT JOIN train_runs r ON r.train_id = t.id \
         WHERE t.state IN ('completed', 'rolled_back', 'aborted') AND t.cutover_at >= $1 AND ($2 = '' OR m.name = $2)",
    )
    .bind(since.ms())
    .bind(domain_filter)
    .fetch_all(&mut *conn)
    .await?;
    let rollbacks: Vec<(String, String, i64, String)> = sqlx::query_as(
        "SELECT t.id, r.state, e.at, t.kind FROM train_events e JOIN train_runs r ON r.train_id = e.train_id \
         JOIN trains t ON t.id = e.train_id JOIN train_definitions d ON d.id = t.definition_id \
         JOIN domains m ON m.id = d.domain_id \
         WHERE e.to_state = 'rolled_back' AND e.from_state <> 'rolled_back' AND e.at >= $1 AND ($2 = '' OR m.name = $2)",
    )
    .bind(since.ms())
    .bind(domain_filter)
    .fetch_all(&mut *conn)
    .await?;
    let scans: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.status, c.reported_at FROM artifact_checks c JOIN artifacts a ON a.id = c.artifact_id \
         JOIN services s ON s.id = a.service_id JOIN domains m ON m.id = s.domain_id \
         WHERE c.kind = 'security_scan' AND c.reported_at >= $1 AND ($2 = '' OR m.name = $2)",
    )
    .bind(since.ms())
    .bind(domain_filter)
    .fetch_all(&mut *conn)
    .await?;
    let finished = finished
        .into_iter()
        .map(|(id, state, cutover, run, kind)| {
            (state, Instant::from_ms(cutover), run.and_then(|run| runs::decode_listed(&id, &run)), kind)
        })
        .collect();
    let rollbacks = rollbacks
        .into_iter()
        .filter_map(|(id, run, at, kind)| Some((runs::decode_listed(&id, &run)?, Instant::from_ms(at), kind)))
        .collect();
    let scans = scans.into_iter().map(|(status, at)| (status, Instant::from_ms(at))).collect();
    Ok(DashboardHistory { finished, rollbacks, scans })
}
