//! People who sign in, and the roles they hold.

use super::{Conn, DbError};
use railyard_domain::roles::{Binding, Role};
use railyard_domain::time::Instant;

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: String,
    pub name: String,
    pub password_hash: String,
    pub disabled: i64,
    pub must_change_password: i64,
    #[sqlx(try_from = "i64")]
    pub created_at: Instant,
}

const COLUMNS: &str = "id, name, password_hash, disabled, must_change_password, created_at";

/// The user called `name` (case-insensitively), if any.
#[tracing::instrument(skip_all)]
pub async fn by_name(conn: &mut Conn, name: &str) -> Result<Option<User>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE LOWER(name) = LOWER($1)"))
        .bind(name)
        .fetch_optional(conn)
        .await?)
}

/// The user with `id`, if any.
#[tracing::instrument(skip_all)]
pub async fn by_id(conn: &mut Conn, id: &str) -> Result<Option<User>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1")).bind(id).fetch_optional(conn).await?)
}

/// Every user, by name.
#[tracing::instrument(skip_all)]
pub async fn list(conn: &mut Conn) -> Result<Vec<User>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM users ORDER BY name")).fetch_all(conn).await?)
}

/// How many users exist.
pub async fn count(conn: &mut Conn) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(conn).await?)
}

/// Inserts a user.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &mut Conn, user: &User, now: Instant) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO users (id, name, password_hash, disabled, must_change_password, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&user.id)
    .bind(&user.name)
    .bind(&user.password_hash)
    .bind(user.disabled)
    .bind(user.must_change_password)
    .bind(now.ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces a user's password hash.
#[tracing::instrument(skip_all)]
pub async fn set_password(conn: &mut Conn, user_id: &str, hash: &str, now: Instant) -> Result<(), DbError> {
    sqlx::query("UPDATE users SET password_hash = $1, must_change_password = 0, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now.ms())
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Makes the user choose a new password at their next sign-in.
#[tracing::instrument(skip_all)]
pub async fn require_password_change(conn: &mut Conn, user_id: &str) -> Result<(), DbError> {
    sqlx::query("UPDATE users SET must_change_password = 1 WHERE id = $1").bind(user_id).execute(conn).await?;
    Ok(())
}

/// Disables or re-enables a user.
#[tracing::instrument(skip_all)]
pub async fn set_disabled(conn: &mut Conn, user_id: &str, disabled: bool, now: Instant) -> Result<(), DbError> {
    sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(disabled))
        .bind(now.ms())
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Who granted a role binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingSource {
    /// An admin, by hand; kept until an admin changes it.
    Manual,
    /// The identity provider's claims through `[[role_mapping]]`, recomputed at every single sign-on.
    Sso,
}

impl BindingSource {
    fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Sso => "sso",
        }
    }
}

/// The roles `user_id` holds, however granted, with domain names.
#[tracing::instrument(skip_all)]
pub async fn bindings(conn: &mut Conn, user_id: &str) -> Result<Vec<Binding>, DbError> {
    bindings_where(conn, user_id, None).await
}

/// The roles `user_id` holds from `source`.
#[tracing::instrument(skip_all)]
pub async fn bindings_from(conn: &mut Conn, user_id: &str, source: BindingSource) -> Result<Vec<Binding>, DbError> {
    bindings_where(conn, user_id, Some(source)).await
}

async fn bindings_where(
    conn: &mut Conn,
    user_id: &str,
    source: Option<BindingSource>,
) -> Result<Vec<Binding>, DbError> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT b.role, d.name FROM role_bindings b LEFT JOIN domains d ON d.id = b.domain_id \
         WHERE b.user_id = $1 AND ($2 IS NULL OR b.source = $2) ORDER BY b.role, d.name",
    )
    .bind(user_id)
    .bind(source.map(BindingSource::as_str))
    .fetch_all(conn)
    .await?;
    // A role name this build does not know (written by a newer one) grants nothing.
    Ok(rows
        .into_iter()
        .filter_map(|(role, domain)| Role::parse(&role).ok().map(|role| Binding { role, domain }))
        .collect())
}

/// Replaces the roles an admin gave `user_id` by hand (domain names resolved
/// to ids); one also granted by sign-in becomes a hand-set one.
#[tracing::instrument(skip_all)]
pub async fn replace_bindings(
    conn: &mut Conn,
    user_id: &str,
    bindings: &[(Role, Option<String>)],
    now: Instant,
) -> Result<(), DbError> {
    sqlx::query("DELETE FROM role_bindings WHERE user_id = $1 AND source = 'manual'")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for (role, domain_id) in bindings {
        sqlx::query(
            "DELETE FROM role_bindings WHERE user_id = $1 AND role = $2 AND COALESCE(domain_id, '*') = COALESCE($3, '*')",
        )
        .bind(user_id)
        .bind(role.as_str())
        .bind(domain_id.as_deref())
        .execute(&mut *conn)
        .await?;
        insert_binding(conn, user_id, *role, domain_id.as_deref(), BindingSource::Manual, now).await?;
    }
    Ok(())
}

/// Replaces the roles `user_id` holds from sign-in; ones an admin set by hand stay as they are.
#[tracing::instrument(skip_all)]
pub async fn replace_sso_bindings(
    conn: &mut Conn,
    user_id: &str,
    bindings: &[(Role, Option<String>)],
    now: Instant,
) -> Result<(), DbError> {
    sqlx::query("DELETE FROM role_bindings WHERE user_id = $1 AND source = 'sso'")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for (role, domain_id) in bindings {
        insert_binding(conn, user_id, *role, domain_id.as_deref(), BindingSource::Sso, now).await?;
    }
    Ok(())
}

/// Adds a binding unless the user already holds it.
async fn insert_binding(
    conn: &mut Conn,
    user_id: &str,
    role: Role,
    domain_id: Option<&str>,
    source: BindingSource,
    now: Instant,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO role_bindings (id, user_id, role, domain_id, created_at, source) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT DO NOTHING",
    )
    .bind(super::new_id())
    .bind(user_id)
    .bind(role.as_str())
    .bind(domain_id)
    .bind(now.ms())
    .bind(source.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// An author as separation of duties compares it: trimmed, lower case.
pub fn normal_identity(text: &str) -> String {
    text.trim().to_lowercase()
}

/// The author identities of `user_id`, sorted.
#[tracing::instrument(skip_all)]
pub async fn identities(conn: &mut Conn, user_id: &str) -> Result<Vec<String>, DbError> {
    Ok(sqlx::query_scalar("SELECT identity FROM author_identities WHERE user_id = $1 ORDER BY identity")
        .bind(user_id)
        .fetch_all(conn)
        .await?)
}

/// The user (other than `user_id`) who already holds `identity`, if any.
#[tracing::instrument(skip_all)]
pub async fn identity_holder(conn: &mut Conn, identity: &str, user_id: &str) -> Result<Option<String>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT u.name FROM author_identities i JOIN users u ON u.id = i.user_id \
         WHERE i.identity = $1 AND i.user_id <> $2",
    )
    .bind(identity)
    .bind(user_id)
    .fetch_optional(conn)
    .await?)
}

/// Replaces the author identities of `user_id` (already normalised and unique).
#[tracing::instrument(skip_all)]
pub async fn replace_identities(
    conn: &mut Conn,
    user_id: &str,
    identities: &[String],
    now: Instant,
) -> Result<(), DbError> {
    sqlx::query("DELETE FROM author_identities WHERE user_id = $1").bind(user_id).execute(&mut *conn).await?;
    for identity in identities {
        sqlx::query("INSERT INTO author_identities (identity, user_id, created_at) VALUES ($1, $2, $3)")
            .bind(identity)
            .bind(user_id)
            .bind(now.ms())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Who Railyard knows `author` (a build's author as CI sent it) to be: the
/// user with that name or that author identity, if any.
#[tracing::instrument(skip_all)]
pub async fn author(conn: &mut Conn, author: &str) -> Result<Option<String>, DbError> {
    let author = normal_identity(author);
    Ok(sqlx::query_scalar(
        "SELECT name FROM users WHERE LOWER(name) = $1 \
         UNION SELECT u.name FROM author_identities i JOIN users u ON u.id = i.user_id WHERE i.identity = $1 \
         UNION SELECT u.name FROM sso_identities s JOIN users u ON u.id = s.user_id WHERE LOWER(s.email) = $1",
    )
    .bind(&author)
    .fetch_all(conn)
    .await?
    .into_iter()
    .next())
}

/// Whether `author` (a build's author as CI sent it) is the user `user_id`
/// called `name`: their user name or one of their author identities.
#[tracing::instrument(skip_all)]
pub async fn is_author(conn: &mut Conn, user_id: &str, name: &str, author: &str) -> Result<bool, DbError> {
    let author = normal_identity(author);
    if author == normal_identity(name) {
        return Ok(true);
    }
    // An identity an admin gave them, or the e-mail or subject their identity provider vouches for.
    let held: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM author_identities WHERE identity = $1 AND user_id = $2) \
         + (SELECT COUNT(*) FROM sso_identities WHERE user_id = $2 AND (LOWER(email) = $1 OR LOWER(subject) = $1))",
    )
    .bind(&author)
    .bind(user_id)
    .fetch_one(conn)
    .await?;
    Ok(held > 0)
}
