//! `GET /api/v1/trains/{id}/postmortem`: the draft
//! (`service::views::postmortem`) as a Markdown download.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::api::{ApiError, ApiState};
use crate::auth::Caller;
use crate::ids::TrainId;
use crate::service::views::{postmortem, train_detail};

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
    Path(id): Path<TrainId>,
) -> Result<Response, ApiError> {
    let mut conn = state.db.acquire().await?;
    train_detail::may_read_train(&mut conn, &caller, &id).await?;
    drop(conn);
    let markdown = postmortem::draft(state.ctx(), &id).await?;
    let disposition = format!("attachment; filename=\"postmortem-{id}.md\"");
    Ok((
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        markdown,
    )
        .into_response())
}
