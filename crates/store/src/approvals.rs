//! Approval rules, candidate approvals and break-glass requests.

use super::instant::MaybeInstant;
use super::{Conn, DbError};
use railyard_domain::candidate::Decision;
use railyard_domain::time::Instant;

/// Approvals a candidate needs when its domain has no rule.
pub const DEFAULT_REQUIRED: i64 = 1;

/// One person's decision on a candidate.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Approval {
    pub id: String,
    pub artifact_id: String,
    pub approver: String,
    #[sqlx(try_from = "String")]
    pub decision: Decision,
    pub comment: String,
    #[sqlx(try_from = "i64")]
    pub decided_at: Instant,
}

/// A break-glass request and its two approvals.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BreakGlass {
    pub id: String,
    pub domain_id: String,
    pub domain: String,
    pub requested_by: String,
    pub reason: String,
    #[sqlx(try_from = "i64")]
    pub requested_at: Instant,
    pub duration_ms: i64,
    pub first_approver: Option<String>,
    #[sqlx(try_from = "MaybeInstant")]
    pub first_approved_at: Option<Instant>,
    pub second_approver: Option<String>,
    #[sqlx(try_from = "MaybeInstant")]
    pub second_approved_at: Option<Instant>,
    pub rejected_by: Option<String>,
    #[sqlx(try_from = "MaybeInstant")]
    pub rejected_at: Option<Instant>,
}

impl BreakGlass {
    /// The window in which it lets trains pass freezes, once both approvals are in.
    pub fn active_window(&self) -> Option<(Instant, Instant)> {
        match (self.second_approved_at, self.rejected_at) {
            (Some(granted), None) => Some((granted, granted + self.duration_ms)),
            _ => None,
        }
    }
}

/// How many approvals candidates of `domain_id` need.
#[tracing::instrument(skip_all)]
pub async fn required(conn: &mut Conn, domain_id: &str) -> Result<i64, DbError> {
    let rule: Option<i64> = sqlx::query_scalar("SELECT required_approvals FROM approval_rules WHERE domain_id = $1")
        .bind(domain_id)
        .fetch_optional(conn)
        .await?;
    Ok(rule.unwrap_or(DEFAULT_REQUIRED))
}

/// Every rule, as (domain name, required approvals, updated by, updated at).
#[tracing::instrument(skip_all)]
pub async fn rules(conn: &mut Conn) -> Result<Vec<(String, i64, String, Instant)>, DbError> {
    let rows: Vec<(String, i64, String, i64)> = sqlx::query_as(
        "SELECT d.name, r.required_approvals, r.updated_by, r.updated_at FROM approval_rules r \
         JOIN domains d ON d.id = r.domain_id ORDER BY d.name",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(domain, required, by, at)| (domain, required, by, Instant::from_ms(at))).collect())
}

/// Sets the rule of `domain_id`.
#[tracing::instrument(skip_all)]
pub async fn set_rule(conn: &mut Conn, domain_id: &str, required: i64, by: &str, now: Instant) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO approval_rules (domain_id, required_approvals, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (domain_id) DO UPDATE SET required_approvals = $2, updated_by = $3, updated_at = $4",
    )
    .bind(domain_id)
    .bind(required)
    .bind(by)
    .bind(now.ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a decision; false when this person already decided on this candidate.
#[tracing::instrument(skip_all)]
pub async fn decide(conn: &mut Conn, approval: &Approval) -> Result<bool, DbError> {
    let done = sqlx::query(
        "INSERT INTO approvals (id, artifact_id, approver, decision, comment, decided_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (artifact_id, approver) DO NOTHING",
    )
    .bind(&approval.id)
    .bind(&approval.artifact_id)
    .bind(&approval.approver)
    .bind(approval.decision.stored())
    .bind(&approval.comment)
    .bind(approval.decided_at.ms())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The decisions on a candidate, oldest first.
#[tracing::instrument(skip_all)]
pub async fn of_artifact(conn: &mut Conn, artifact_id: &str) -> Result<Vec<Approval>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, artifact_id, approver, decision, comment, decided_at FROM approvals \
         WHERE artifact_id = $1 ORDER BY decided_at, id",
    )
    .bind(artifact_id)
    .fetch_all(conn)
    .await?)
}

const BREAK_GLASS: &str = "SELECT b.id, b.domain_id, d.name AS domain, b.requested_by, b.reason, b.requested_at, \
     b.duration_ms, b.first_approver, b.first_approved_at, b.second_approver, b.second_approved_at, b.rejected_by, \
     b.rejected_at FROM break_glass b JOIN domains d ON d.id = b.domain_id";

/// Stores a new break-glass request.
#[tracing::instrument(skip_all)]
pub async fn request_break_glass(conn: &mut Conn, request: &BreakGlass) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO break_glass (id, domain_id, requested_by, reason, requested_at, duration_ms) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&request.id)
    .bind(&request.domain_id)
    .bind(&request.requested_by)
    .bind(&request.reason)
    .bind(request.requested_at.ms())
    .bind(request.duration_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// The break-glass request `id`, if any.
#[tracing::instrument(skip_all)]
pub async fn break_glass(conn: &mut Conn, id: &str) -> Result<Option<BreakGlass>, DbError> {
    Ok(sqlx::query_as(&format!("{BREAK_GLASS} WHERE b.id = $1")).bind(id).fetch_optional(conn).await?)
}

/// Every break-glass request, newest first.
#[tracing::instrument(skip_all)]
pub async fn break_glasses(conn: &mut Conn) -> Result<Vec<BreakGlass>, DbError> {
    Ok(sqlx::query_as(&format!("{BREAK_GLASS} ORDER BY b.requested_at DESC, b.id DESC")).fetch_all(conn).await?)
}

/// Adds `approver`'s approval. The conditions make two approvals by one
/// person impossible even when both arrive at the same moment: the second
/// slot only fills when the first is held by someone else.
#[tracing::instrument(skip_all)]
pub async fn approve_break_glass(conn: &mut Conn, id: &str, approver: &str, now: Instant) -> Result<bool, DbError> {
    let first = sqlx::query(
        "UPDATE break_glass SET first_approver = $2, first_approved_at = $3 \
         WHERE id = $1 AND first_approver IS NULL AND rejected_at IS NULL AND requested_by <> $2",
    )
    .bind(id)
    .bind(approver)
    .bind(now.ms())
    .execute(&mut *conn)
    .await?;
    if first.rows_affected() == 1 {
        return Ok(true);
    }
    let second = sqlx::query(
        "UPDATE break_glass SET second_approver = $2, second_approved_at = $3 \
         WHERE id = $1 AND first_approver IS NOT NULL AND first_approver <> $2 AND second_approver IS NULL \
         AND rejected_at IS NULL AND requested_by <> $2",
    )
    .bind(id)
    .bind(approver)
    .bind(now.ms())
    .execute(conn)
    .await?;
    Ok(second.rows_affected() == 1)
}

/// Rejects a request that is not yet granted; false when it no longer can be.
#[tracing::instrument(skip_all)]
pub async fn reject_break_glass(conn: &mut Conn, id: &str, by: &str, now: Instant) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE break_glass SET rejected_by = $2, rejected_at = $3 \
         WHERE id = $1 AND second_approver IS NULL AND rejected_at IS NULL",
    )
    .bind(id)
    .bind(by)
    .bind(now.ms())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The granted break-glass that covers `domain_id` at `now`, if any.
#[tracing::instrument(skip_all)]
pub async fn active_break_glass(conn: &mut Conn, domain_id: &str, now: Instant) -> Result<Option<BreakGlass>, DbError> {
    Ok(sqlx::query_as(&format!(
        "{BREAK_GLASS} WHERE b.domain_id = $1 AND b.rejected_at IS NULL AND b.second_approved_at IS NOT NULL \
         AND b.second_approved_at <= $2 AND b.second_approved_at + b.duration_ms > $2 \
         ORDER BY b.second_approved_at DESC LIMIT 1"
    ))
    .bind(domain_id)
    .bind(now.ms())
    .fetch_optional(conn)
    .await?)
}

/// Where a candidate's approvals stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Enough approvals and no rejection.
    Approved { approvers: Vec<String> },
    /// Someone rejected it: who and why.
    Rejected { by: String, comment: String },
    /// Fewer approvals than the domain's rule asks for.
    Pending { approved: i64, required: i64 },
}

impl From<Standing> for railyard_domain::gates::Approvals {
    fn from(standing: Standing) -> Self {
        match standing {
            Standing::Approved { .. } => Self::Approved,
            Standing::Rejected { by, comment } => Self::Rejected { by, comment },
            Standing::Pending { approved, required } => Self::Pending { approved, required },
        }
    }
}

/// The standing of `artifact_id` under its domain's rule.
#[tracing::instrument(skip_all)]
pub async fn standing(conn: &mut Conn, artifact_id: &str) -> Result<Standing, DbError> {
    let domain_id: String = sqlx::query_scalar(
        "SELECT s.domain_id FROM artifacts a JOIN services s ON s.id = a.service_id WHERE a.id = $1",
    )
    .bind(artifact_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DbError::NotFound)?;
    let required = required(conn, &domain_id).await?;
    let decisions = of_artifact(conn, artifact_id).await?;
    if let Some(rejection) = decisions.iter().find(|d| d.decision == Decision::Reject) {
        return Ok(Standing::Rejected { by: rejection.approver.clone(), comment: rejection.comment.clone() });
    }
    let approvers: Vec<String> =
        decisions.into_iter().filter(|d| d.decision == Decision::Approve).map(|d| d.approver).collect();
    let approved = i64::try_from(approvers.len()).unwrap_or(i64::MAX);
    Ok(if approved >= required { Standing::Approved { approvers } } else { Standing::Pending { approved, required } })
}

/// Trains in flight that carry `artifact_id` as a candidate.
#[tracing::instrument(skip_all)]
pub async fn trains_carrying(conn: &mut Conn, artifact_id: &str) -> Result<Vec<String>, DbError> {
    let query = format!(
        "SELECT c.train_id FROM train_candidates c JOIN trains t ON t.id = c.train_id \
         WHERE c.artifact_id = $1 AND {}",
        super::trains::not_final("t.state")
    );
    Ok(sqlx::query_scalar(&query).bind(artifact_id).fetch_all(conn).await?)
}

/// How many approvals `artifact_id` has.
#[tracing::instrument(skip_all)]
pub async fn approved_count(conn: &mut Conn, artifact_id: &str) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM approvals WHERE artifact_id = $1 AND decision = 'approved'")
        .bind(artifact_id)
        .fetch_one(conn)
        .await?)
}
