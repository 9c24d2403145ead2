//! `GET /api/v1/plan`: real and projected cutovers in a range, for planning a year ahead.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::trains::parse_range;
use super::{ApiError, ApiState};
use crate::auth::{Caller, Permission};
use crate::service::views::plan::{self, CutoverJson};
use crate::service::views::train_list;

/// Query parameters: `from` and `to` as RFC 3339 instants or `YYYY-MM-DD` (UTC midnight).
#[derive(Debug, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PlanQuery {
    from: String,
    to: String,
    domain: Option<String>,
}

/// The response body.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Plan {
    pub from: String,
    pub to: String,
    /// By cutover time: the trains created so far, and the cutovers their cadences will bring.
    pub cutovers: Vec<CutoverJson>,
}

/// Lists every cutover in `[from, to)`: real trains, and beyond them the
/// cutovers each definition's cadence will bring, marked `projected`.
#[utoipa::path(
    operation_id = "plan",
    get,
    path = "/api/v1/plan",
    tag = "trains",
    params(PlanQuery),
    responses((status = 200, description = "Real and projected cutovers in the range", body = Plan))
)]
pub async fn plan(
    State(state): State<ApiState>,
    caller: Caller,
    query: Result<Query<PlanQuery>, QueryRejection>,
) -> Result<Json<Plan>, ApiError> {
    caller.require_somewhere(Permission::Read)?;
    let Query(query) = query.map_err(|rejection| {
        ApiError::bad_request(format!(
            "{}; expected ?from=2027-01-01&to=2027-12-31[&domain=payments] (dates or RFC 3339 instants)",
            rejection.body_text()
        ))
    })?;
    let (from, to) = parse_range(&query.from, &query.to)?;
    let domain = query.domain.as_deref();
    let audience = train_list::audience(&caller, domain)?;
    let cutovers = plan::between(state.ctx(), &audience, from, to, domain).await?;
    Ok(Json(Plan {
        from: from.rfc3339(),
        to: to.rfc3339(),
        cutovers: cutovers.iter().map(CutoverJson::from).collect(),
    }))
}
