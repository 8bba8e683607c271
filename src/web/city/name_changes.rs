//! 企业更名 as the city decides it: each request of its enterprises with
//! the new 营业执照 beside it; approval renames the enterprise.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use crate::services::Refusal;
use crate::services::name_changes as svc;
use crate::store::name_changes::{self as nc, NameChange};
use crate::web::AppState;
use crate::web::city::inbox::{city_name, city_of, field};
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::page::{Errors, Page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/city/name-changes", get(list))
        .route("/city/name-changes/{id}", post(decide))
        .route("/city/name-changes/{id}/license", get(license))
}

#[derive(Template)]
#[template(path = "city/name_changes.html")]
struct ListPage {
    page: Page,
    city_name: String,
    rows: Vec<NameChange>,
    errors: Errors,
    /// The request the errors are about.
    failed: String,
    notice: &'static str,
}

#[derive(serde::Deserialize, Default)]
struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    city: &str,
    errors: Errors,
    failed: String,
    notice: &'static str,
) -> AppResult<String> {
    let page = ListPage {
        page: Page::new(state, ctx, "企业更名审核"),
        city_name: city_name(city).to_string(),
        rows: nc::for_city(&state.db, city).await?,
        errors,
        failed,
        notice,
    };
    Ok(page.render()?)
}

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<DoneQuery>,
) -> AppResult<Html<String>> {
    let city = city_of(&ctx)?;
    let notice = match q.done.as_deref() {
        Some("approved") => "已同意更名，企业的注册名称已变更。",
        Some(_) => "已不同意更名，企业将看到审核意见。",
        None => "",
    };
    let body = render(
        &state,
        &ctx,
        &city,
        Errors::default(),
        String::new(),
        notice,
    )
    .await?;
    Ok(Html(body))
}

async fn decide(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let city = city_of(&ctx)?;
    let approve = field(&pairs, "action") == "approve";
    let note = field(&pairs, "decision");
    let mut errors = Errors::default();
    match svc::decide(
        &state.db,
        &ctx.actor(),
        &city,
        &id,
        approve,
        &note,
        state.clock.now(),
    )
    .await
    {
        Ok(_) => {
            let done = if approve { "approved" } else { "rejected" };
            return Ok(Redirect::to(&format!("/city/name-changes?done={done}")).into_response());
        }
        // Another city's request is not this city's to see.
        Err(Refusal::Forbidden) => return Err(AppError::NotFound),
        Err(e) => errors.refusal(e, "decision", "审核意见")?,
    }
    let body = render(&state, &ctx, &city, errors, id, "").await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(body)).into_response())
}

async fn license(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let city = city_of(&ctx)?;
    let n = nc::by_id(&state.db, &id)
        .await?
        .filter(|n| n.city_code == city)
        .ok_or(AppError::NotFound)?;
    crate::web::shared::upload::file_response(
        &state,
        &headers,
        &n.license_key,
        &n.license_name,
        &n.license_sha256,
    )
    .await
}
