//! `GET /api/v1/trains/{id}/postmortem`: the draft as a Markdown download,
//! built from the same record as the train page.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::{render, Record};
use crate::api::{ApiError, ApiState};
use crate::auth::Caller;
use crate::pages;
use crate::service::views::train_detail;
use crate::time::to_ms;

/// The postmortem draft of train `id`.
pub async fn draft(state: &ApiState, id: &str) -> Result<String, ApiError> {
    let mut detail = train_detail::detail(state.ctx(), id).await?;
    let extras = pages::train::extras(&state.db, &detail, to_ms(state.clock.now())).await?;
    let services: BTreeMap<String, String> =
        detail.cargo.iter().map(|c| (c.artifact_id.clone(), c.service.clone())).collect();
    let gate_runs = std::mem::take(&mut detail.gate_runs);
    let incidents = std::mem::take(&mut detail.incidents);
    let page = pages::train::page(detail, extras);
    Ok(render(&Record { page, gate_runs, incidents, services }))
}

/// `GET /api/v1/trains/{id}/postmortem`.
#[utoipa::path(
    get,
    path = "/api/v1/trains/{id}/postmortem",
    tag = "trains",
    params(("id" = String, Path, description = "Train id")),
    responses((status = 200, description = "A postmortem draft: timeline, gate and canary evidence, approvals, \
               incidents, error budget spent and the audit excerpt", body = String, content_type = "text/markdown"))
)]
pub async fn postmortem(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut conn = state.db.acquire().await?;
    train_detail::may_read_train(&mut conn, &caller, &id).await?;
    drop(conn);
    let markdown = draft(&state, &id).await?;
    let disposition = format!("attachment; filename=\"postmortem-{id}.md\"");
    Ok((
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        markdown,
    )
        .into_response())
}
