//! `GET /metrics`: Railyard's own figures in the Prometheus/OpenMetrics text
//! format, computed from the store at scrape time (seed metrics M1, M3, M6,
//! M10, M11, M12, plus trains by state and the outbox backlog).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::engine::TrainRun;
use crate::store::{Conn, DbError};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// The figures, as a scrape answers them.
#[derive(Debug, Default, PartialEq)]
pub struct Figures {
    pub trains_by_state: Vec<(String, i64)>,
    pub outbox_by_status: Vec<(String, i64)>,
    /// M1: completed ÷ (completed + rolled back + aborted).
    pub release_success_ratio: Option<f64>,
    /// M3: mean seconds from a rollback's start to its end.
    pub mean_rollback_seconds: Option<f64>,
    /// M10: security scans passed ÷ scans reported.
    pub security_gate_pass_ratio: Option<f64>,
    /// M11: services shipped per completed train.
    pub services_per_train: Option<f64>,
    /// M6: incidents attributed to a train that changed the service within 24 h before.
    pub post_deploy_incidents: i64,
    /// M12: reports of the running digest that match what the train shipped, over all reports.
    pub artifact_reproducibility_ratio: Option<f64>,
}

/// Computes the figures from the store.
pub async fn figures(conn: &mut Conn) -> Result<Figures, DbError> {
    let trains_by_state: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM trains GROUP BY state ORDER BY state")
            .fetch_all(&mut *conn)
            .await?;
    let outbox_by_status: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM outbox GROUP BY status ORDER BY status")
            .fetch_all(&mut *conn)
            .await?;
    let count = |state: &str| trains_by_state.iter().find(|(s, _)| s == state).map_or(0, |(_, n)| *n);
    let finished = count("completed") + count("rolled_back") + count("aborted");
    let release_success_ratio = (finished > 0).then(|| count("completed") as f64 / finished as f64);

    let rolled_back: Vec<(String, i64)> = sqlx::query_as(
        "SELECT r.state, e.at FROM train_runs r JOIN train_events e ON e.train_id = r.train_id \
         WHERE e.to_state = 'rolled_back' AND e.from_state <> 'rolled_back'",
    )
    .fetch_all(&mut *conn)
    .await?;
    let durations: Vec<f64> = rolled_back
        .iter()
        .filter_map(|(state, ended)| {
            let run: TrainRun = serde_json::from_str(state).ok()?;
            Some((ended - run.rollback_started_at?) as f64 / 1000.0)
        })
        .collect();
    let mean_rollback_seconds = (!durations.is_empty()).then(|| durations.iter().sum::<f64>() / durations.len() as f64);

    let (scans, passed): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'passed' THEN 1 ELSE 0 END), 0) FROM artifact_checks \
         WHERE kind = 'security_scan'",
    )
    .fetch_one(&mut *conn)
    .await?;
    let security_gate_pass_ratio = (scans > 0).then(|| passed as f64 / scans as f64);

    let (shipped,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM train_candidates WHERE status = 'shipped'").fetch_one(&mut *conn).await?;
    let services_per_train = (count("completed") > 0).then(|| shipped as f64 / count("completed") as f64);
    let (post_deploy_incidents,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM incidents WHERE train_id IS NOT NULL").fetch_one(&mut *conn).await?;
    let (matching, reports) = crate::store::digests::reproducibility(conn).await?;
    Ok(Figures {
        artifact_reproducibility_ratio: (reports > 0).then(|| matching as f64 / reports as f64),
        post_deploy_incidents,
        trains_by_state,
        outbox_by_status,
        release_success_ratio,
        mean_rollback_seconds,
        security_gate_pass_ratio,
        services_per_train,
    })
}

/// Renders `figures` in the OpenMetrics text format.
pub fn render(figures: &Figures) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::with_prefix("railyard");
    let trains = Family::<StateLabel, Gauge>::default();
    for (state, n) in &figures.trains_by_state {
        trains.get_or_create(&StateLabel { state: state.clone() }).set(*n);
    }
    registry.register("trains", "Trains by state", trains);
    let outbox = Family::<StatusLabel, Gauge>::default();
    for (status, n) in &figures.outbox_by_status {
        outbox.get_or_create(&StatusLabel { status: status.clone() }).set(*n);
    }
    registry.register("outbox_effects", "Effects in the runtime's outbox by status", outbox);
    let incidents = Gauge::<i64>::default();
    incidents.set(figures.post_deploy_incidents);
    registry.register(
        "post_deploy_incidents",
        "M6: incidents attributed to a train within 24 h of its cutover",
        incidents,
    );
    let optional = [
        ("release_success_ratio", "M1: completed trains over finished trains", figures.release_success_ratio),
        (
            "rollback_seconds_mean",
            "M3: mean time from rollback start to baseline restored",
            figures.mean_rollback_seconds,
        ),
        (
            "security_gate_pass_ratio",
            "M10: security scans passed over scans reported",
            figures.security_gate_pass_ratio,
        ),
        ("release_throughput_services", "M11: services shipped per completed train", figures.services_per_train),
        (
            "artifact_reproducibility_ratio",
            "M12: running digests matching what the train shipped",
            figures.artifact_reproducibility_ratio,
        ),
    ];
    for (name, help, value) in optional {
        if let Some(value) = value {
            let gauge = FloatGauge::default();
            gauge.set(value);
            registry.register(name, help, gauge);
        }
    }
    let mut text = String::new();
    encode(&mut text, &registry)?;
    Ok(text)
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<ApiState>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Permission::Read, None)?;
    let mut conn = state.db.acquire().await?;
    let figures = figures(&mut conn).await?;
    let text = render(&figures).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_render_as_openmetrics_and_undefined_ones_are_left_out() {
        let figures = Figures {
            trains_by_state: vec![("completed".into(), 3), ("rolled_back".into(), 1)],
            release_success_ratio: Some(0.75),
            ..Figures::default()
        };
        let text = render(&figures).expect("renders");
        assert!(text.contains("railyard_trains{state=\"completed\"} 3"), "{text}");
        assert!(text.contains("railyard_release_success_ratio 0.75"), "{text}");
        assert!(!text.contains("rollback_seconds_mean"), "no rollback yet, no figure: {text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
