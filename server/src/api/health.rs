//! Liveness and readiness probes for load balancers and orchestrators.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::ApiState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the process can reach its database, so a load balancer
/// may send it traffic. Leaders and followers are equally ready; the body
/// says which this replica is.
pub async fn readyz(State(state): State<ApiState>) -> (StatusCode, Json<Value>) {
    let role = match state.role.leading() {
        Some(term) => json!({ "role": "leader", "term": term, "replica": state.role.holder }),
        None => json!({ "role": "follower", "replica": state.role.holder }),
    };
    if state.db.ping().await {
        (StatusCode::OK, Json(json!({ "status": "ready", "database": "ok", "leadership": role })))
    } else {
        let body = json!({ "status": "not ready", "database": "unreachable", "leadership": role });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body))
    }
}
