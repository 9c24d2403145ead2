//! First start: an `admin` user when there are no users, and the embed key.

use anyhow::Context;
use railyard_domain::time::Instant;
use secrecy::ExposeSecret;

use super::{password, secret, AuthSettings, Role};
use crate::store::{self, audit::Entry, users::User, Db};

/// The name of the first admin.
pub const FIRST_ADMIN: &str = "admin";

/// Creates the first admin if no user exists. Its password is
/// `RAILYARD_ADMIN_PASSWORD` when set; otherwise a one-time password is
/// generated, written to the log this once, and must be changed at first sign-in.
pub async fn ensure_admin(db: &Db, settings: &AuthSettings, now: Instant) -> anyhow::Result<()> {
    {
        let mut conn = db.acquire().await?;
        if store::users::count(&mut conn).await? > 0 {
            return Ok(());
        }
    }
    let (chosen, one_time) = match &settings.admin_password {
        Some(chosen) => {
            let chosen = chosen.expose_secret();
            password::check_strength(chosen).map_err(|rule| anyhow::anyhow!("RAILYARD_ADMIN_PASSWORD: {rule}"))?;
            (chosen.to_owned(), false)
        }
        None => (secret::random_token(18), true),
    };
    let to_hash = chosen.clone();
    let hash = tokio::task::spawn_blocking(move || password::hash(&to_hash)).await??;
    let created = async {
        let mut tx = db.begin().await?;
        // Another replica may have won the race between the count and here.
        if store::users::count(&mut tx).await? > 0 {
            return Ok(false);
        }
        let user = User {
            id: store::new_id(),
            name: FIRST_ADMIN.to_owned(),
            password_hash: hash,
            disabled: 0,
            must_change_password: i64::from(one_time),
            created_at: now,
        };
        store::users::insert(&mut tx, &user, now).await?;
        store::users::replace_bindings(&mut tx, &user.id, &[(Role::Admin, None)], now).await?;
        let after = serde_json::json!({ "roles": ["admin"], "one_time_password": one_time });
        let entry = Entry::new("railyard", "user.bootstrapped", format!("user:{FIRST_ADMIN}"))
            .change(&serde_json::Value::Null, &after);
        store::audit::append(&mut tx, &entry, now).await?;
        tx.commit().await.map_err(store::DbError::from)?;
        Ok::<_, store::DbError>(true)
    };
    match created.await {
        Ok(true) => {}
        // Replicas starting together on an empty store: another one created the admin first.
        Ok(false) => return Ok(()),
        Err(error) if store::is_unique_violation(&error) => return Ok(()),
        Err(error) => return Err(anyhow::Error::from(error).context("creating the first admin")),
    }
    if one_time {
        tracing::warn!(
            user = FIRST_ADMIN,
            password = %chosen,
            "first start: created the admin user with this one-time password (shown only now); sign in and change it"
        );
    } else {
        tracing::info!(user = FIRST_ADMIN, "first start: created the admin user with RAILYARD_ADMIN_PASSWORD");
    }
    Ok(())
}

/// The key embed links are signed with, generated on first start.
pub async fn embed_key(db: &Db, now: Instant) -> anyhow::Result<Vec<u8>> {
    let mut conn = db.acquire().await?;
    let key = store::secrets::key(&mut conn, "embed_signing_key", &secret::random_token(32), now).await?;
    Ok(key.into_bytes())
}

/// The password of every demo user (demo mode only; never use demo mode on real data).
pub const DEMO_PASSWORD: &str = "railyard-demo";

/// Demo users, one per role, created when missing (demo mode only).
pub const DEMO_USERS: [(&str, Role, Option<&str>); 4] = [
    ("viewer", Role::Viewer, None),
    ("release-manager", Role::ReleaseManager, None),
    ("payments-rm", Role::ReleaseManager, Some("payments")),
    ("approver", Role::Approver, None),
];

/// Creates the [`DEMO_USERS`] that do not exist yet, all with [`DEMO_PASSWORD`].
pub async fn demo_users(db: &Db, now: Instant) -> anyhow::Result<()> {
    let hash = tokio::task::spawn_blocking(|| password::hash(DEMO_PASSWORD)).await??;
    let mut tx = db.begin().await?;
    for (name, role, domain) in DEMO_USERS {
        if store::users::by_name(&mut tx, name).await?.is_some() {
            continue;
        }
        let domain_id = match domain {
            Some(domain) => Some(
                store::domains::by_name(&mut tx, domain)
                    .await?
                    .with_context(|| format!("the demo fleet has no domain {domain}"))?
                    .id,
            ),
            None => None,
        };
        let user = User {
            id: store::new_id(),
            name: name.to_owned(),
            password_hash: hash.clone(),
            disabled: 0,
            must_change_password: 0,
            created_at: now,
        };
        store::users::insert(&mut tx, &user, now).await?;
        store::users::replace_bindings(&mut tx, &user.id, &[(role, domain_id)], now).await?;
        let after = serde_json::json!({ "roles": [{ "role": role, "domain": domain }], "demo": true });
        let entry =
            Entry::new("railyard", "user.created", format!("user:{name}")).change(&serde_json::Value::Null, &after);
        store::audit::append(&mut tx, &entry, now).await?;
    }
    tx.commit().await?;
    tracing::info!(
        users = "viewer, release-manager, payments-rm, approver",
        password = DEMO_PASSWORD,
        "demo users ready (demo mode only)"
    );
    Ok(())
}
