//! Single sign-on: sign-ins under way at the provider, and which user a
//! provider's subject is.

use super::{Conn, DbError};
use railyard_domain::time::Instant;

/// A sign-in sent to the provider and not back yet.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingSignIn {
    pub nonce: String,
    pub pkce_verifier: String,
    /// Where to go once signed in (a path on this server).
    pub next: String,
    #[sqlx(try_from = "i64")]
    pub expires_at: Instant,
}

/// Records a sign-in under way, keyed by the digest of its `state`.
#[tracing::instrument(skip_all)]
pub async fn begin(conn: &mut Conn, state_digest: &str, pending: &PendingSignIn) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO sso_sign_ins (state_digest, nonce, pkce_verifier, next, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(state_digest)
    .bind(&pending.nonce)
    .bind(&pending.pkce_verifier)
    .bind(&pending.next)
    .bind(pending.expires_at.ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes the sign-in keyed by `state_digest` (it can be taken once), and
/// forgets every one that lapsed before `now`.
#[tracing::instrument(skip_all)]
pub async fn take(conn: &mut Conn, state_digest: &str, now: Instant) -> Result<Option<PendingSignIn>, DbError> {
    // One statement, so two callbacks with the same state cannot both take it.
    let taken: Option<PendingSignIn> = sqlx::query_as(
        "DELETE FROM sso_sign_ins WHERE state_digest = $1 RETURNING nonce, pkce_verifier, next, expires_at",
    )
    .bind(state_digest)
    .fetch_optional(&mut *conn)
    .await?;
    sweep(conn, now).await?;
    Ok(taken.filter(|pending| pending.expires_at >= now))
}

/// Forgets the sign-ins that lapsed before `now`.
#[tracing::instrument(skip_all)]
pub async fn sweep(conn: &mut Conn, now: Instant) -> Result<u64, DbError> {
    let gone = sqlx::query("DELETE FROM sso_sign_ins WHERE expires_at < $1").bind(now.ms()).execute(conn).await?;
    Ok(gone.rows_affected())
}

/// How many sign-ins are under way.
#[tracing::instrument(skip_all)]
pub async fn pending(conn: &mut Conn) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM sso_sign_ins").fetch_one(conn).await?)
}

/// The user a provider's subject signed in as before, if any.
#[tracing::instrument(skip_all)]
pub async fn user_of(conn: &mut Conn, issuer: &str, subject: &str) -> Result<Option<String>, DbError> {
    Ok(sqlx::query_scalar("SELECT user_id FROM sso_identities WHERE issuer = $1 AND subject = $2")
        .bind(issuer)
        .bind(subject)
        .fetch_optional(conn)
        .await?)
}

/// Links a provider's subject to `user_id`, or notes another sign-in of it (with its current e-mail).
#[tracing::instrument(skip_all)]
pub async fn signed_in(
    conn: &mut Conn,
    issuer: &str,
    subject: &str,
    user_id: &str,
    email: &str,
    now: Instant,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO sso_identities (issuer, subject, user_id, email, created_at, last_sign_in_at) \
         VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (issuer, subject) DO UPDATE SET email = $4, last_sign_in_at = $5",
    )
    .bind(issuer)
    .bind(subject)
    .bind(user_id)
    .bind(email)
    .bind(now.ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// A provider's subject linked to a user.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SsoLink {
    pub issuer: String,
    pub subject: String,
    pub email: String,
    #[sqlx(try_from = "i64")]
    pub last_sign_in_at: Instant,
}

/// The provider identities linked to `user_id`.
#[tracing::instrument(skip_all)]
pub async fn links(conn: &mut Conn, user_id: &str) -> Result<Vec<SsoLink>, DbError> {
    Ok(sqlx::query_as(
        "SELECT issuer, subject, email, last_sign_in_at FROM sso_identities WHERE user_id = $1 ORDER BY issuer, subject",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?)
}
