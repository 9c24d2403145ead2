//! `POST /api/v1/artifacts`, `GET /api/v1/artifacts/{id}` and the check
//! reports CI sends for them (`…/checks`, `…/sarif`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AppJson;
use super::{ApiError, ApiState};
use crate::artifacts::{sarif, Change, CheckKind, CheckStatus, Contracts, Migration, NewArtifactRequest};
use crate::auth::{Caller, Permission};
use crate::ids::ArtifactId;
use crate::service::artifacts::{self, Registered};
use crate::store::artifacts::{Artifact, Check};
use crate::text::Text;

/// An artifact as the API shows it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ArtifactJson {
    pub id: String,
    pub service: String,
    pub version: String,
    pub digest: String,
    pub commit: String,
    pub author: String,
    pub changes: Vec<Change>,
    pub migrations: Vec<Migration>,
    /// The API contracts it provides and requires.
    pub contracts: Contracts,
    pub registered_at: String,
    /// Why a gate rejected this digest for good, if one did.
    pub rejected: Option<String>,
    pub checks: Vec<CheckJson>,
    /// The services this change reaches: those that call its service, directly or through others.
    pub reaches: Vec<String>,
}

/// A check result as the API shows it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckJson {
    pub id: String,
    pub kind: CheckKind,
    pub name: String,
    pub status: CheckStatus,
    pub summary: String,
    pub url: String,
    pub details: Value,
    pub reported_at: String,
    /// Who reported it: `token:<name>` (the CI token).
    pub reported_by: String,
}

/// The body of `POST /api/v1/artifacts/{id}/checks`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    pub kind: CheckKind,
    #[schema(schema_with = check_name_schema)]
    pub name: Text,
    pub status: CheckStatus,
    #[serde(default)]
    pub summary: Text,
    /// Where the full result is, an http(s) URL.
    #[serde(default)]
    #[schema(value_type = String, pattern = "^(https?://.*)?$")]
    pub url: Text,
}

/// Query of `POST /api/v1/artifacts/{id}/sarif`.
#[derive(Debug, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SarifQuery {
    /// Name of the scan, e.g. `trivy`.
    pub name: String,
}

/// Registers an artifact. Registering the same digest again with the same
/// attributes is a harmless retry (200); with different ones it is a conflict.
#[utoipa::path(
    post,
    path = "/api/v1/artifacts",
    tag = "artifacts",
    request_body = NewArtifactRequest,
    responses((status = 201, description = "Registered", body = ArtifactJson), (status = 200, description = "Already registered with the same attributes", body = ArtifactJson))
)]
pub async fn register(
    State(state): State<ApiState>,
    caller: Caller,
    body: Result<AppJson<NewArtifactRequest>, ApiError>,
) -> Result<Response, ApiError> {
    // Anyone who cannot register anywhere is refused before the body is even read.
    caller.require_somewhere(Permission::RegisterArtifacts)?;
    let AppJson(request) = body?;
    let build = request.validate().map_err(ApiError::bad_request)?;
    Ok(match artifacts::register(state.ctx(), &caller, build).await? {
        Registered::New { artifact, reaches } => {
            let location = format!("/api/v1/artifacts/{}", artifact.id);
            let body = artifact_json(artifact, Vec::new(), reaches)?;
            (StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response()
        }
        Registered::Existing { artifact, checks, reaches } => {
            (StatusCode::OK, Json(artifact_json(artifact, checks, reaches)?)).into_response()
        }
    })
}

/// Shows an artifact with its checks.
#[utoipa::path(
    operation_id = "show_artifact",
    get,
    path = "/api/v1/artifacts/{id}",
    tag = "artifacts",
    params(("id" = String, Path, description = "Artifact id")),
    responses((status = 200, description = "The artifact with its checks", body = ArtifactJson))
)]
pub async fn show(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<ArtifactId>,
) -> Result<Json<ArtifactJson>, ApiError> {
    let (artifact, checks, reaches) = artifacts::show(state.ctx(), &caller, &id).await?;
    Ok(Json(artifact_json(artifact, checks, reaches)?))
}

/// Records a test, scan, contract, lint or build result.
#[utoipa::path(
    post,
    path = "/api/v1/artifacts/{id}/checks",
    tag = "artifacts",
    params(("id" = String, Path, description = "Artifact id")),
    request_body = CheckRequest,
    responses((status = 201, description = "Recorded", body = CheckJson))
)]
pub async fn report_check(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<ArtifactId>,
    body: Result<AppJson<CheckRequest>, ApiError>,
) -> Result<(StatusCode, Json<CheckJson>), ApiError> {
    artifacts::may_report_checks(state.ctx(), &caller, &id).await?;
    let AppJson(request) = body?;
    let report = artifacts::CheckReport {
        kind: enum_text(&request.kind)?,
        name: request.name.to_string(),
        status: enum_text(&request.status)?,
        summary: request.summary.into(),
        url: request.url.into(),
        details: "{}".into(),
    };
    let check = artifacts::report_check(state.ctx(), &caller, &id, report).await?;
    Ok((StatusCode::CREATED, Json(check_json(check)?)))
}

/// Records a security scan from its SARIF 2.1 log: critical or high findings fail it.
#[utoipa::path(
    post,
    path = "/api/v1/artifacts/{id}/sarif",
    tag = "artifacts",
    params(("id" = String, Path, description = "Artifact id"), SarifQuery),
    request_body(content = Object, description = "A SARIF 2.1.0 log", content_type = "application/json"),
    responses((status = 201, description = "The scan, judged by its worst finding", body = CheckJson))
)]
pub async fn report_sarif(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<ArtifactId>,
    query: Result<Query<SarifQuery>, QueryRejection>,
    body: Result<AppJson<Value>, ApiError>,
) -> Result<(StatusCode, Json<CheckJson>), ApiError> {
    artifacts::may_report_checks(state.ctx(), &caller, &id).await?;
    let Query(query) = query.map_err(|r| ApiError::bad_request(format!("{}; expected ?name=trivy", r.body_text())))?;
    let AppJson(log) = body?;
    super::json::printable(&log)?;
    let summary = sarif::summarise(&log).map_err(ApiError::bad_request)?;
    let status = if summary.blocks() { CheckStatus::Failed } else { CheckStatus::Passed };
    let report = artifacts::CheckReport {
        kind: enum_text(&CheckKind::SecurityScan)?,
        name: query.name,
        status: enum_text(&status)?,
        summary: summary.describe(),
        url: String::new(),
        details: serde_json::to_string(&summary.counts).map_err(|e| ApiError::Internal(e.into()))?,
    };
    let check = artifacts::report_check(state.ctx(), &caller, &id, report).await?;
    Ok((StatusCode::CREATED, Json(check_json(check)?)))
}

fn enum_text<T: Serialize>(value: &T) -> Result<String, ApiError> {
    match serde_json::to_value(value).map_err(|e| ApiError::Internal(e.into()))? {
        Value::String(text) => Ok(text),
        other => Err(ApiError::Internal(anyhow::anyhow!("{other} is not a unit variant"))),
    }
}

/// Reads JSON this server stored; a failure is ours, not the client's.
fn stored_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    serde_json::from_str(text).map_err(|e| ApiError::Internal(e.into()))
}

fn artifact_json(artifact: Artifact, checks: Vec<Check>, reaches: Vec<String>) -> Result<ArtifactJson, ApiError> {
    Ok(ArtifactJson {
        changes: stored_json(&artifact.changes)?,
        migrations: stored_json(&artifact.migrations)?,
        contracts: Contracts::parse_stored(&artifact.contracts),
        id: artifact.id.into(),
        service: artifact.service,
        version: artifact.version,
        digest: artifact.digest,
        commit: artifact.commit_sha,
        author: artifact.author,
        registered_at: artifact.created_at.rfc3339(),
        rejected: artifact.rejected_reason,
        checks: checks.into_iter().map(check_json).collect::<Result<_, _>>()?,
        reaches,
    })
}

fn check_json(check: Check) -> Result<CheckJson, ApiError> {
    Ok(CheckJson {
        kind: stored_json(&format!("\"{}\"", check.kind))?,
        status: stored_json(&format!("\"{}\"", check.status))?,
        details: stored_json(&check.details)?,
        reported_at: check.reported_at.rfc3339(),
        reported_by: if check.reported_by.is_empty() { "unknown".into() } else { check.reported_by },
        id: check.id,
        name: check.name,
        summary: check.summary,
        url: check.url,
    })
}

/// A check's name: printable, not blank.
fn check_name_schema() -> utoipa::openapi::schema::Object {
    crate::text::schema::not_blank(None, Some("unit"))
}
