//! Train definitions: a named cadence for a domain's services.

use railyard_domain::analysis::CanaryMetric;
use railyard_domain::engine::RolloutStep;
use railyard_domain::manifest::AtomicGroup;
use railyard_domain::time::Instant;

use super::json_text::JsonText;
use super::{Conn, DbError};

/// A stored train definition.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Definition {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    /// The RRULE text.
    pub cadence: String,
    /// IANA time zone name.
    pub time_zone: String,
    /// `YYYY-MM-DD`, the day the cadence counts from.
    pub starts_on: String,
    pub planning_window_ms: i64,
    pub cutover_window_ms: i64,
    /// The scheduler creates no trains before this instant.
    #[sqlx(try_from = "i64")]
    pub active_from: Instant,
    /// The rollout steps it declares (none: the default plan).
    #[sqlx(try_from = "String")]
    pub rollout: JsonText<Vec<RolloutStep>>,
    /// Planning closes this long before cutover; assembly and gates run then.
    pub preflight_ms: i64,
    /// How long a train is watched after its last step.
    pub monitoring_ms: i64,
    /// The gates every candidate must clear.
    #[sqlx(try_from = "String")]
    pub gates: JsonText<Vec<String>>,
    /// Which deployer carries out the rollout (`simulated`, `webhook` or `gitops`); read it with [`Definition::deployer_settings`].
    pub deployer: String,
    /// Where the webhook deployer posts (empty for other deployers).
    pub webhook_url: String,
    /// The environment variable holding the webhook's signing secret.
    pub webhook_secret_env: String,
    /// A gitops deployer's repository, layout and edit (none for other deployers).
    #[sqlx(try_from = "String")]
    pub gitops: JsonText<Option<railyard_domain::gitops::GitopsSettings>>,
    /// Where canary metrics come from: `simulated` or `prometheus`.
    pub metrics_provider: String,
    /// The Prometheus base URL (empty unless the provider is `prometheus`).
    pub prometheus_url: String,
    /// The metrics the canary judge compares.
    #[sqlx(try_from = "String")]
    pub metrics: JsonText<Vec<CanaryMetric>>,
    /// The (reduced) gates of this definition's emergency trains.
    #[sqlx(try_from = "String")]
    pub emergency_gates: JsonText<Vec<String>>,
    /// Its atomic groups.
    #[sqlx(try_from = "String")]
    pub groups: JsonText<Vec<AtomicGroup>>,
    /// Where the webhook deployer posts staging steps (empty: `webhook_url`).
    pub staging_webhook_url: String,
    /// 1 when a failed or blocked gate may be overridden by two people, 0 when never.
    pub overrides: i64,
    /// When a held train tickets, and the alerts its cutovers expect.
    #[sqlx(try_from = "String")]
    pub alerting: JsonText<railyard_domain::alerting::AlertingSettings>,
}

/// A stored definition's setting cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingError {
    #[error(transparent)]
    Unknown(#[from] railyard_domain::delivery::UnknownSetting),
    #[error(transparent)]
    Deployer(#[from] railyard_domain::delivery::SettingError),
}

impl Definition {
    /// Its deployer with that deployer's settings.
    pub fn deployer_settings(&self) -> Result<railyard_domain::delivery::DeployerSettings, SettingError> {
        Ok(railyard_domain::delivery::DeployerSettings::from_columns(railyard_domain::delivery::DeployerColumns {
            name: &self.deployer,
            webhook_url: &self.webhook_url,
            staging_webhook_url: &self.staging_webhook_url,
            webhook_secret_env: &self.webhook_secret_env,
            gitops: self.gitops.0.as_ref(),
        })?)
    }

    /// Where its canary metrics come from, with the metrics.
    pub fn metrics_settings(&self) -> Result<railyard_domain::delivery::MetricsSettings, SettingError> {
        Ok(railyard_domain::delivery::MetricsSettings::from_columns(
            &self.metrics_provider,
            &self.prometheus_url,
            self.metrics.0.clone(),
        )?)
    }

    /// Whether its trains let two people override a failed or blocked gate.
    pub fn overrides_allowed(&self) -> bool {
        self.overrides != 0
    }

    /// Its atomic groups.
    pub fn atomic_groups(&self) -> Vec<AtomicGroup> {
        self.groups.0.clone()
    }

    /// Its gate lists: the regular set and the reduced emergency set.
    pub fn gate_lists(&self) -> (Vec<String>, Vec<String>) {
        (self.gates.0.clone(), self.emergency_gates.0.clone())
    }
}

const COLUMNS: &str = "id, name, domain_id, cadence, time_zone, starts_on, planning_window_ms, cutover_window_ms, \
     active_from, rollout, preflight_ms, monitoring_ms, gates, deployer, webhook_url, webhook_secret_env, gitops, \
     metrics_provider, prometheus_url, metrics, emergency_gates, groups, staging_webhook_url, overrides, alerting";

/// The definition called `name`, if any.
#[tracing::instrument(skip_all)]
pub async fn by_name(conn: &mut Conn, name: &str) -> Result<Option<Definition>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM train_definitions WHERE name = $1"))
        .bind(name)
        .fetch_optional(conn)
        .await?)
}

/// The definitions whose next unplanned cutover falls before `through`
/// (new and changed ones included): what a scheduler tick has to plan.
#[tracing::instrument(skip_all)]
pub async fn needing_plans(conn: &mut Conn, through: Instant) -> Result<Vec<Definition>, DbError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM train_definitions WHERE next_unplanned_cutover < $1 ORDER BY name"
    ))
    .bind(through.ms())
    .fetch_all(conn)
    .await?)
}

/// Records the first cutover of `id` not planned yet.
#[tracing::instrument(skip_all)]
pub async fn set_next_unplanned(conn: &mut Conn, id: &str, cutover: Instant) -> Result<(), DbError> {
    sqlx::query("UPDATE train_definitions SET next_unplanned_cutover = $2 WHERE id = $1")
        .bind(id)
        .bind(cutover.ms())
        .execute(conn)
        .await?;
    Ok(())
}

/// Every definition, by name.
#[tracing::instrument(skip_all)]
pub async fn list(conn: &mut Conn) -> Result<Vec<Definition>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM train_definitions ORDER BY name")).fetch_all(conn).await?)
}

/// Inserts a new definition.
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &mut Conn, definition: &Definition, now: Instant) -> Result<(), DbError> {
    sqlx::query(&format!(
        "INSERT INTO train_definitions ({COLUMNS}, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $26)"
    ))
    .bind(&definition.id)
    .bind(&definition.name)
    .bind(&definition.domain_id)
    .bind(&definition.cadence)
    .bind(&definition.time_zone)
    .bind(&definition.starts_on)
    .bind(definition.planning_window_ms)
    .bind(definition.cutover_window_ms)
    .bind(definition.active_from.ms())
    .bind(definition.rollout.text()?)
    .bind(definition.preflight_ms)
    .bind(definition.monitoring_ms)
    .bind(definition.gates.text()?)
    .bind(&definition.deployer)
    .bind(&definition.webhook_url)
    .bind(&definition.webhook_secret_env)
    .bind(definition.gitops.text()?)
    .bind(&definition.metrics_provider)
    .bind(&definition.prometheus_url)
    .bind(definition.metrics.text()?)
    .bind(definition.emergency_gates.text()?)
    .bind(definition.groups.text()?)
    .bind(&definition.staging_webhook_url)
    .bind(definition.overrides)
    .bind(definition.alerting.text()?)
    .bind(now.ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Overwrites a definition's schedule and domain.
#[tracing::instrument(skip_all)]
pub async fn update(conn: &mut Conn, definition: &Definition, now: Instant) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE train_definitions SET domain_id = $2, cadence = $3, time_zone = $4, starts_on = $5, \
         planning_window_ms = $6, cutover_window_ms = $7, rollout = $8, preflight_ms = $9, monitoring_ms = $10, \
         gates = $11, deployer = $12, webhook_url = $13, webhook_secret_env = $14, gitops = $15, \
         metrics_provider = $16, prometheus_url = $17, metrics = $18, emergency_gates = $19, \
         groups = $20, staging_webhook_url = $21, overrides = $22, alerting = $24, updated_at = $23, next_unplanned_cutover = 0 \
         WHERE id = $1",
    )
    .bind(&definition.id)
    .bind(&definition.domain_id)
    .bind(&definition.cadence)
    .bind(&definition.time_zone)
    .bind(&definition.starts_on)
    .bind(definition.planning_window_ms)
    .bind(definition.cutover_window_ms)
    .bind(definition.rollout.text()?)
    .bind(definition.preflight_ms)
    .bind(definition.monitoring_ms)
    .bind(definition.gates.text()?)
    .bind(&definition.deployer)
    .bind(&definition.webhook_url)
    .bind(&definition.webhook_secret_env)
    .bind(definition.gitops.text()?)
    .bind(&definition.metrics_provider)
    .bind(&definition.prometheus_url)
    .bind(definition.metrics.text()?)
    .bind(definition.emergency_gates.text()?)
    .bind(definition.groups.text()?)
    .bind(&definition.staging_webhook_url)
    .bind(definition.overrides)
    .bind(now.ms())
    .bind(definition.alerting.text()?)
    .execute(conn)
    .await?;
    Ok(())
}

/// The definition with `id`, if any.
#[tracing::instrument(skip_all)]
pub async fn by_id(conn: &mut Conn, id: &str) -> Result<Option<Definition>, DbError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM train_definitions WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// The ids of the services a definition carries, sorted.
#[tracing::instrument(skip_all)]
pub async fn service_ids(conn: &mut Conn, definition_id: &str) -> Result<Vec<String>, DbError> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT service_id FROM train_definition_services WHERE definition_id = $1 ORDER BY service_id")
            .bind(definition_id)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Replaces the set of services a definition carries.
#[tracing::instrument(skip_all)]
pub async fn set_service_ids(conn: &mut Conn, definition_id: &str, service_ids: &[String]) -> Result<(), DbError> {
    sqlx::query("DELETE FROM train_definition_services WHERE definition_id = $1")
        .bind(definition_id)
        .execute(&mut *conn)
        .await?;
    for service_id in service_ids {
        sqlx::query("INSERT INTO train_definition_services (definition_id, service_id) VALUES ($1, $2)")
            .bind(definition_id)
            .bind(service_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
