//! Word documents for download: the blank 申报书 template (public) and an
//! application's 申报书 — its submitted snapshot, or the draft marked 草稿.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::docs::{self, AppDoc};
use crate::store::applications;
use crate::web::AppState;
use crate::web::apply::load_visible;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult, urlencode};

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/forms/blank.docx", get(blank))
        .route("/apply/{id}/document.docx", get(application))
        .route(
            "/apply/{id}/certificate.docx",
            get(certificate).route_layer(axum::middleware::from_fn(
                crate::web::shared::guard::enterprise,
            )),
        )
}

pub fn download(bytes: Vec<u8>, mime: &'static str, file_name: &str) -> Response {
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    let disposition = format!(
        "attachment; filename=\"download\"; filename*=UTF-8''{}",
        urlencode(file_name)
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    resp
}

/// The blank 申报书 of the batch enterprises apply to now.
async fn blank(State(state): State<AppState>) -> AppResult<Response> {
    let state = match crate::store::batches::current(&state.db, state.clock.now()).await? {
        Some(b) => state.for_batch(&b.id).await?,
        None => state,
    };
    let program = state.program.clone();
    let name = format!("{}申报书（空白）.docx", program.program.batch.name);
    let bytes = tokio::task::spawn_blocking(move || docs::blank_docx(&program)).await?;
    Ok(download(bytes, DOCX, &name))
}

async fn application(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let app = load_visible(&state, &ctx, &id).await?;
    let state = state.for_batch(&app.batch_id).await?;
    let doc = match (app.state.editable(), app.submitted_version) {
        (false, Some(v)) => {
            let (_, text) = applications::version_content(&state.db, &id, v)
                .await?
                .ok_or(AppError::NotFound)?;
            let json: serde_json::Value =
                serde_json::from_str(&text).map_err(anyhow::Error::from)?;
            // The city's 审核意见 fills its box once the recommendation is submitted.
            let opinion = crate::store::recommendations::submitted_opinion(&state.db, &id).await?;
            AppDoc::from_snapshot(&json, v)
                .with_number(app.number.clone())
                .with_city_opinion(opinion)
        }
        _ => {
            let mut doc = crate::docs::draft_doc(&state.db, &id)
                .await?
                .ok_or(AppError::NotFound)?;
            // The footer carries the content fingerprint the submission will have
            // if nothing changes after printing (checked against the stamped scan).
            doc.fingerprint = Some(crate::domain::form::fingerprint_with(
                state.config.digest,
                &doc.answers,
            ));
            doc
        }
    };
    let suffix = if doc.draft { "（草稿）" } else { "" };
    let name = format!("申报书-{}{suffix}.docx", app.enterprise_name);
    let program = state.program.clone();
    let bytes = tokio::task::spawn_blocking(move || docs::application_docx(&program, &doc)).await?;
    Ok(download(bytes, DOCX, &name))
}

/// The 入选证书 of a selected application (its enterprise and the province).
async fn certificate(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let app = load_visible(&state, &ctx, &id).await?;
    let state = state.for_batch(&app.batch_id).await?;
    if app.state != crate::domain::lifecycle::State::Selected {
        return Err(AppError::NotFound);
    }
    let batch = crate::store::batches::by_id(&state.db, &app.batch_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let p = crate::store::publication::publicity(&state.db, &app.batch_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let date = p
        .final_date
        .as_deref()
        .and_then(|d| d.parse::<jiff::civil::Date>().ok())
        .map(|d| format!("{}年{}月{}日", d.year(), d.month(), d.day()))
        .unwrap_or_default();
    let (name, issuer) = (
        app.enterprise_name.clone(),
        state.program.program.issuer.clone(),
    );
    let doc_number = p.final_doc_number.unwrap_or_default();
    let bytes = tokio::task::spawn_blocking(move || {
        docs::review::certificate_docx(&name, &batch.name, &doc_number, &date, &issuer)
    })
    .await?;
    Ok(download(
        bytes,
        DOCX,
        &format!("{}入选证书.docx", app.enterprise_name),
    ))
}
