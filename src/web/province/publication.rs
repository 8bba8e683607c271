//! The province's publication: opening the 公示 of the locked shortlist
//! (its end computed in working days), the objections with the objectors'
//! identities (seen here only), asking the city to verify, deciding, and the
//! final 公告.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::clock;
use crate::domain::calendar;
use crate::services::publication::{self as svc, DEFAULT_WORKING_DAYS};
use crate::store::batches::BatchRow;
use crate::store::publication::{self as ps, Objection, Publicity, Status};
use crate::store::review as rs;
use crate::web::AppState;
use crate::web::city::inbox::{city_batch, field};
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult, urlencode};
use crate::web::shared::page::{Errors, Page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/province/publication", get(overview))
        .route("/province/publication/open", post(open))
        .route("/province/publication/final", post(publish_final))
        .route("/province/objections/{id}", get(objection_page))
        .route("/province/objections/{id}/verify", post(verify))
        .route("/province/objections/{id}/decide", post(decide))
        .route("/province/objections/{id}/evidence", get(evidence))
}

#[derive(Deserialize, Default)]
struct BatchQuery {
    #[serde(default)]
    batch: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    done: String,
}

pub struct ObjectionRow {
    pub o: Objection,
    pub enterprise: String,
}

#[derive(Template)]
#[template(path = "province/publication.html")]
struct OverviewPage {
    page: Page,
    batch: BatchRow,
    p: Option<Publicity>,
    locked: bool,
    shortlisted: usize,
    start: String,
    days: String,
    preview: String,
    objections: Vec<ObjectionRow>,
    open_objections: usize,
    ended: bool,
    errors: Errors,
    notice: String,
    doc_number: String,
    date: String,
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    ctx: &Ctx,
    batch: BatchRow,
    start: String,
    days: String,
    errors: Errors,
    notice: String,
    posted_final: (String, String),
) -> AppResult<Response> {
    let now = state.clock.now();
    let p = ps::publicity(&state.db, &batch.id).await?;
    let sl = rs::shortlist(&state.db, &batch.id).await?;
    let items = ps::items(&state.db, &batch.id).await?;
    let objections: Vec<ObjectionRow> = ps::for_batch(&state.db, &batch.id)
        .await?
        .into_iter()
        .map(|o| ObjectionRow {
            enterprise: items
                .iter()
                .find(|i| i.application_id == o.application_id)
                .map(|i| i.enterprise_name.clone())
                .unwrap_or_default(),
            o,
        })
        .collect();
    let start_date = start
        .parse::<jiff::civil::Date>()
        .unwrap_or_else(|_| calendar::next_working_day(clock::date_of(now)));
    let n = days.trim().parse::<u32>().unwrap_or(DEFAULT_WORKING_DAYS);
    let (first, last) = svc::period(start_date, n.clamp(1, 30));
    let preview = format!(
        "公示期：{first} 至 {last}（{} 个工作日，法定节假日和调休按国务院办公厅通知计算{}）",
        n.clamp(1, 30),
        if calendar::covers(last.year()) {
            ""
        } else {
            "；该年度安排尚未收录，按周末计算"
        }
    );
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = OverviewPage {
        page: Page::new(state, ctx, "公示与公告"),
        locked: sl.locked_at.is_some(),
        shortlisted: sl.items.len(),
        start: start_date.to_string(),
        days: n.to_string(),
        preview,
        open_objections: objections
            .iter()
            .filter(|o| o.o.status != Status::Decided)
            .count(),
        ended: p.as_ref().is_some_and(|p| now > p.end_at),
        objections,
        p,
        errors,
        notice,
        doc_number: posted_final.0,
        date: if posted_final.1.is_empty() {
            clock::date_of(now).to_string()
        } else {
            posted_final.1
        },
        batch,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn overview(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<BatchQuery>,
) -> AppResult<Response> {
    let batch = city_batch(&state, Some(&q.batch)).await?;
    let notice = match q.done.as_str() {
        "opened" => "公示已发布，公众可在公示页面查看并提出异议。",
        "final" => "最终名单已公布。",
        _ => "",
    };
    render(
        &state,
        &ctx,
        batch,
        q.start,
        q.days,
        Errors::default(),
        notice.into(),
        Default::default(),
    )
    .await
}

async fn open(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let batch = city_batch(&state, Some(&field(&pairs, "batch"))).await?;
    let (start, days) = (field(&pairs, "start"), field(&pairs, "days"));
    let mut errors = Errors::default();
    match (
        start.parse::<jiff::civil::Date>(),
        days.trim().parse::<u32>(),
    ) {
        (Ok(s), Ok(n)) => {
            match svc::open(
                &state.db,
                &state.for_batch(&batch.id).await?.program,
                &ctx.actor(),
                &batch,
                s,
                n,
                state.clock.now(),
            )
            .await
            {
                Ok(_) => {
                    return Ok(Redirect::to(&format!(
                        "/province/publication?batch={}&done=opened",
                        urlencode(&batch.id)
                    ))
                    .into_response());
                }
                Err(e) => errors.refusal(e, "start", "公示与公告")?,
            }
        }
        _ => errors.add("start", "公示开始日期", "请选择开始日期并填写工作日天数"),
    }
    render(
        &state,
        &ctx,
        batch,
        start,
        days,
        errors,
        String::new(),
        Default::default(),
    )
    .await
}

async fn publish_final(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let batch = city_batch(&state, Some(&field(&pairs, "batch"))).await?;
    let (doc, date) = (field(&pairs, "doc_number"), field(&pairs, "date"));
    let mut errors = Errors::default();
    match svc::publish_final(
        &state.db,
        &ctx.actor(),
        &batch,
        &doc,
        &date,
        state.clock.now(),
    )
    .await
    {
        Ok(_) => {
            return Ok(Redirect::to(&format!(
                "/province/publication?batch={}&done=final",
                urlencode(&batch.id)
            ))
            .into_response());
        }
        Err(e) => errors.refusal(e, "final", "公示与公告")?,
    }
    render(
        &state,
        &ctx,
        batch,
        String::new(),
        String::new(),
        errors,
        String::new(),
        (doc, date),
    )
    .await
}

// ───────────────────────────── one objection ─────────────────────────────

#[derive(Template)]
#[template(path = "province/objection.html")]
struct ObjectionPage {
    page: Page,
    o: Objection,
    enterprise: String,
    deadline: String,
    errors: Errors,
}

async fn load(state: &AppState, id: &str) -> AppResult<(Objection, String)> {
    let o = ps::by_id(&state.db, id).await?.ok_or(AppError::NotFound)?;
    let enterprise = ps::items(&state.db, &o.batch_id)
        .await?
        .into_iter()
        .find(|i| i.application_id == o.application_id)
        .map(|i| format!("{}（{}）", i.enterprise_name, i.city))
        .unwrap_or_default();
    Ok((o, enterprise))
}

async fn render_objection(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    errors: Errors,
) -> AppResult<Response> {
    let (o, enterprise) = load(state, id).await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ObjectionPage {
        page: Page::new(state, ctx, "异议办理"),
        deadline: o
            .verify_deadline
            .map(clock::format_deadline)
            .unwrap_or_default(),
        o,
        enterprise,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn objection_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Response> {
    render_objection(&state, &ctx, &id, Errors::default()).await
}

async fn verify(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (o, _) = load(&state, &id).await?;
    let deadline = clock::parse_local_datetime(&field(&pairs, "deadline"));
    let mut errors = Errors::default();
    let now = state.clock.now();
    match svc::request_verification(
        &state.db,
        &ctx.actor(),
        &o,
        &field(&pairs, "request"),
        deadline,
        now,
    )
    .await
    {
        Ok(()) => {
            return Ok(
                Redirect::to(&format!("/province/objections/{}", urlencode(&id))).into_response(),
            );
        }
        Err(e) => errors.refusal(e, "request", "公示与公告")?,
    }
    render_objection(&state, &ctx, &id, errors).await
}

async fn decide(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (o, _) = load(&state, &id).await?;
    let upheld = match field(&pairs, "decision").as_str() {
        "upheld" => Some(true),
        "rejected" => Some(false),
        _ => None,
    };
    let cancel = field(&pairs, "outcome") == "cancel";
    let mut errors = Errors::default();
    let now = state.clock.now();
    match svc::decide(
        &state.db,
        &ctx.actor(),
        &o,
        upheld,
        cancel,
        &field(&pairs, "reason"),
        now,
    )
    .await
    {
        Ok(()) => {
            return Ok(Redirect::to(&format!(
                "/province/publication?batch={}",
                urlencode(&o.batch_id)
            ))
            .into_response());
        }
        Err(e) => errors.refusal(e, "decision", "公示与公告")?,
    }
    render_objection(&state, &ctx, &id, errors).await
}

/// The evidence an objector uploaded (the province's and the city's view).
pub async fn evidence_response(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    o: &Objection,
) -> AppResult<Response> {
    let e = o.evidence.as_ref().ok_or(AppError::NotFound)?;
    crate::web::shared::upload::file_response(state, headers, &e.key, &e.name, &e.sha256).await
}

async fn evidence(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let (o, _) = load(&state, &id).await?;
    evidence_response(&state, &headers, &o).await
}
