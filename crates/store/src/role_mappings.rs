//! The role mappings trains-as-code declares (roles from the identity provider's claims).

use super::{Conn, DbError};
use railyard_domain::role_mapping::RoleMapping;
use railyard_domain::roles::Role;
use railyard_domain::time::Instant;

/// Every mapping, in the file's order (a role this build does not know grants nothing).
#[tracing::instrument(skip_all)]
pub async fn list(conn: &mut Conn) -> Result<Vec<RoleMapping>, DbError> {
    let rows: Vec<(String, String, String, Option<String>)> =
        sqlx::query_as("SELECT claim, value, role, domain FROM role_mappings ORDER BY position")
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(claim, value, role, domain)| {
            Role::parse(&role).ok().map(|role| RoleMapping { claim, value, role, domain })
        })
        .collect())
}

/// Makes the stored mappings `declared`; answers whether anything changed.
#[tracing::instrument(skip_all)]
pub async fn replace(conn: &mut Conn, declared: &[RoleMapping], now: Instant) -> Result<bool, DbError> {
    if list(&mut *conn).await? == declared {
        return Ok(false);
    }
    sqlx::query("DELETE FROM role_mappings").execute(&mut *conn).await?;
    for (position, mapping) in declared.iter().enumerate() {
        sqlx::query(
            "INSERT INTO role_mappings (position, claim, value, role, domain, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .bind(&mapping.claim)
        .bind(&mapping.value)
        .bind(mapping.role.as_str())
        .bind(mapping.domain.as_deref())
        .bind(now.ms())
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}
