//! The city's part in an objection: verifying (核查) what the province asked,
//! about an enterprise of its own region, and recording the findings. The
//! city never sees who objected.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use crate::clock;
use crate::services::publication as svc;
use crate::store::applications;
use crate::store::publication::{self as ps, Objection};
use crate::web::AppState;
use crate::web::city::inbox::{city_of, field};
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult, urlencode};
use crate::web::shared::page::{Errors, Page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/city/objections", get(list))
        .route("/city/objections/{id}", get(view))
        .route("/city/objections/{id}/findings", post(findings))
        .route("/city/objections/{id}/evidence", get(evidence))
}

pub struct Row {
    pub id: String,
    pub enterprise: String,
    pub status: &'static str,
    pub deadline: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "city/objections.html")]
struct ListPage {
    page: Page,
    rows: Vec<Row>,
}

async fn name_of(state: &AppState, app_id: &str) -> AppResult<String> {
    Ok(applications::by_id(&state.db, app_id)
        .await?
        .map(|a| a.enterprise_name)
        .unwrap_or_default())
}

async fn list(State(state): State<AppState>, ctx: Ctx) -> AppResult<Html<String>> {
    let city = city_of(&ctx)?;
    let mut rows = Vec::new();
    for o in ps::for_city(&state.db, &city).await? {
        rows.push(Row {
            enterprise: name_of(&state, &o.application_id).await?,
            status: o.status.label(),
            deadline: o
                .verify_deadline
                .map(clock::format_deadline)
                .unwrap_or_default(),
            at: o.at_text(),
            id: o.id,
        });
    }
    let page = ListPage {
        page: Page::new(&state, &ctx, "异议核查"),
        rows,
    };
    Ok(Html(page.render()?))
}

/// The objection if the province asked this city to verify it.
async fn load(state: &AppState, ctx: &Ctx, id: &str) -> AppResult<(Objection, String)> {
    let city = city_of(ctx)?;
    let o = ps::by_id(&state.db, id).await?.ok_or(AppError::NotFound)?;
    let app = applications::by_id(&state.db, &o.application_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if app.city_code != city || o.verify_request.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok((o, app.enterprise_name))
}

#[derive(Template)]
#[template(path = "city/objection.html")]
struct ViewPage {
    page: Page,
    id: String,
    enterprise: String,
    facts: String,
    has_evidence: bool,
    request: String,
    deadline: String,
    findings: String,
    can_record: bool,
    status: &'static str,
    errors: Errors,
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    posted: Option<String>,
    errors: Errors,
) -> AppResult<Response> {
    let (o, enterprise) = load(state, ctx, id).await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    // Deliberately no name, unit, phone, e-mail or receipt of the objector.
    let page = ViewPage {
        page: Page::new(state, ctx, "异议核查"),
        id: o.id.clone(),
        enterprise,
        facts: o.facts.clone(),
        has_evidence: o.evidence.is_some(),
        request: o.verify_request.clone(),
        deadline: o
            .verify_deadline
            .map(clock::format_deadline)
            .unwrap_or_default(),
        findings: posted.unwrap_or_else(|| o.findings.clone()),
        can_record: o.status == ps::Status::Verifying,
        status: o.status.label(),
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn view(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Response> {
    render(&state, &ctx, &id, None, Errors::default()).await
}

async fn findings(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (o, _) = load(&state, &ctx, &id).await?;
    let city = city_of(&ctx)?;
    let text = field(&pairs, "findings");
    let mut errors = Errors::default();
    match svc::record_findings(&state.db, &ctx.actor(), &city, &o, &text, state.clock.now()).await {
        Ok(()) => {
            return Ok(
                Redirect::to(&format!("/city/objections/{}", urlencode(&id))).into_response(),
            );
        }
        Err(e) => errors.refusal(e, "findings", "核查情况")?,
    }
    render(&state, &ctx, &id, Some(text), errors).await
}

async fn evidence(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let (o, _) = load(&state, &ctx, &id).await?;
    crate::web::province::publication::evidence_response(&state, &headers, &o).await
}
