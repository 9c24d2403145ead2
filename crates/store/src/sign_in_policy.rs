//! Whether local passwords sign in everyone, or only hand-set admins (the
//! first admin and break-glass accounts) once single sign-on is the way in.

use super::{Conn, DbError};
use railyard_domain::time::Instant;

/// Whether everyone may sign in with a password (true until an admin turns it off).
#[tracing::instrument(skip_all)]
pub async fn local_allowed(conn: &mut Conn) -> Result<bool, DbError> {
    let stored: Option<i64> =
        sqlx::query_scalar("SELECT local_allowed FROM sign_in_policy WHERE id = 1").fetch_optional(conn).await?;
    Ok(stored.is_none_or(|allowed| allowed != 0))
}

/// Turns password sign-in on or off for everyone but hand-set admins.
#[tracing::instrument(skip_all)]
pub async fn set_local_allowed(conn: &mut Conn, allowed: bool, now: Instant) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO sign_in_policy (id, local_allowed, updated_at) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET local_allowed = $1, updated_at = $2",
    )
    .bind(i64::from(allowed))
    .bind(now.ms())
    .execute(conn)
    .await?;
    Ok(())
}
