//! The enterprise's side after the 公示: answering (申辩) an objection about
//! its application once, without learning who objected; and, once selected,
//! writing its 典型案例 with pictures for the province to approve.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use super::load_own;
use crate::services::cases::{self as svc, CaseInput, MAX_IMAGE};
use crate::services::publication;
use crate::store::applications::Application;
use crate::store::cases::{self as cs, Image, Status};
use crate::store::new_id;
use crate::store::publication as ps;
use crate::web::AppState;
use crate::web::city::inbox::field;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult, urlencode};
use crate::web::shared::page::{Errors, Page};
use crate::web::shared::upload::{
    StreamError, clean_name, drain, stream_field, upload_drain_limit,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/apply/{id}/objections", get(objections))
        .route("/apply/{id}/objections/{oid}/answer", post(answer))
        .route("/apply/{id}/case", get(case_page).post(case_save))
        .route(
            "/apply/{id}/case/images",
            post(image_upload)
                .layer(DefaultBodyLimit::max(upload_drain_limit(MAX_IMAGE)))
                .route_layer(axum::middleware::from_fn(
                    crate::web::shared::guard::enterprise,
                )),
        )
        .route("/apply/{id}/case/images/{img}/delete", post(image_delete))
}

// ───────────────────────────── 申辩 ─────────────────────────────

pub struct ObjectionView {
    pub id: String,
    pub at: String,
    pub facts: String,
    pub status: &'static str,
    pub answer: String,
    pub decision: String,
    pub reason: String,
    pub can_answer: bool,
}

#[derive(Template)]
#[template(path = "apply/objections.html")]
struct ObjectionsPage {
    page: Page,
    app: Application,
    rows: Vec<ObjectionView>,
    errors: Errors,
    posted: String,
}

async fn render_objections(
    state: &AppState,
    ctx: &Ctx,
    app: Application,
    errors: Errors,
    posted: String,
) -> AppResult<Response> {
    // The enterprise sees the facts once the province has taken the objection
    // up (asked the city to verify, or decided); never who objected.
    let rows = ps::for_application(&state.db, &app.id)
        .await?
        .into_iter()
        .filter(|o| o.status != ps::Status::Received)
        .map(|o| ObjectionView {
            at: o.at_text(),
            facts: o.facts.clone(),
            status: o.status.label(),
            can_answer: o.answered_at.is_none() && o.status != ps::Status::Decided,
            answer: o.answer.clone(),
            decision: o.decision_text(),
            reason: o.decision_reason.clone(),
            id: o.id,
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ObjectionsPage {
        page: Page::new(state, ctx, "公示异议"),
        app,
        rows,
        errors,
        posted,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn objections(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let app = load_own(&state, &ctx, &id).await?;
    let state = state.for_batch(&app.batch_id).await?;
    render_objections(&state, &ctx, app, Errors::default(), String::new()).await
}

async fn answer(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, oid)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let app = load_own(&state, &ctx, &id).await?;
    let state = state.for_batch(&app.batch_id).await?;
    let o = ps::by_id(&state.db, &oid)
        .await?
        .filter(|o| o.application_id == app.id && o.status != ps::Status::Received)
        .ok_or(AppError::NotFound)?;
    let text = field(&pairs, "answer");
    let mut errors = Errors::default();
    match publication::answer_objection(
        &state.db,
        &ctx.actor(),
        &app.enterprise_id,
        &o,
        &text,
        state.clock.now(),
    )
    .await
    {
        Ok(()) => {
            return Ok(
                Redirect::to(&format!("/apply/{}/objections", urlencode(&id))).into_response(),
            );
        }
        Err(e) => errors.refusal(e, "answer", "申辩")?,
    }
    render_objections(&state, &ctx, app, errors, text).await
}

// ───────────────────────────── 典型案例 ─────────────────────────────

#[derive(Template)]
#[template(path = "apply/case.html")]
struct CasePage {
    page: Page,
    app: Application,
    form: CaseInput,
    status: String,
    note: String,
    version: i64,
    editable: bool,
    consented: bool,
    images: Vec<Image>,
    errors: Errors,
    notice: String,
}

async fn render_case(
    state: &AppState,
    ctx: &Ctx,
    app: Application,
    posted: Option<CaseInput>,
    errors: Errors,
    notice: String,
) -> AppResult<Response> {
    if app.state != crate::domain::lifecycle::State::Selected {
        return Err(AppError::NotFound);
    }
    let current = cs::get(&state.db, &app.id).await?;
    let form = match (posted, &current) {
        (Some(p), _) => p,
        (None, Some(c)) => CaseInput {
            title: c.title.clone(),
            summary: c.summary.clone(),
            body: c.body.clone(),
        },
        (None, None) => svc::prefill(&state.db, &state.program, &app)
            .await
            .map_err(|e| anyhow::anyhow!(e.to_string()))?,
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = CasePage {
        page: Page::new(state, ctx, "典型案例"),
        status: current
            .as_ref()
            .map_or("未保存（已按申报书预填）", |c| c.status.label())
            .to_string(),
        note: current.as_ref().map(|c| c.note.clone()).unwrap_or_default(),
        version: current.as_ref().map_or(0, |c| c.version),
        editable: current
            .as_ref()
            .is_none_or(|c| matches!(c.status, Status::Draft | Status::Returned)),
        consented: svc::consented(&app),
        images: cs::images(&state.db, &app.id).await?,
        form,
        errors,
        notice,
        app,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn case_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let app = load_own(&state, &ctx, &id).await?;
    let state = state.for_batch(&app.batch_id).await?;
    render_case(&state, &ctx, app, None, Errors::default(), String::new()).await
}

async fn case_save(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let app = load_own(&state, &ctx, &id).await?;
    let state = state.for_batch(&app.batch_id).await?;
    let input = CaseInput {
        title: field(&pairs, "title"),
        summary: field(&pairs, "summary"),
        body: field(&pairs, "body"),
    };
    let submit = field(&pairs, "action") == "submit";
    let expected = field(&pairs, "_version").parse().unwrap_or(-1);
    let mut errors = Errors::default();
    match svc::save(
        &state.db,
        &ctx.actor(),
        &app,
        &input,
        submit,
        expected,
        state.clock.now(),
    )
    .await
    {
        Ok(()) => {
            let notice = if submit {
                "案例已提交，待省经信厅审定。"
            } else {
                "案例已保存。"
            };
            return render_case(&state, &ctx, app, None, errors, notice.into()).await;
        }
        Err(e) => errors.refusal(e, "body", "典型案例")?,
    }
    render_case(&state, &ctx, app, Some(input), errors, String::new()).await
}

async fn image_upload(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    mut mp: Multipart,
) -> AppResult<Response> {
    let app = load_own(&state, &ctx, &id).await?;
    let state = state.for_batch(&app.batch_id).await?;
    let mut errors = Errors::default();
    while let Ok(Some(field)) = mp.next_field().await {
        if field.name() != Some("image") {
            continue;
        }
        let name = clean_name(field.file_name().unwrap_or(""), "图片");
        let key = format!("case-{}", new_id());
        match stream_field(&state, field, &key, MAX_IMAGE).await {
            Ok(stored) => {
                let image = Image {
                    id: new_id(),
                    application_id: app.id.clone(),
                    file_name: name,
                    content_type: stored.kind.mime().into(),
                    size: stored.size as i64,
                    sha256: stored.sha256,
                    storage_key: key.clone(),
                };
                if let Err(e) = svc::add_image(&state.db, &app, &image, state.clock.now()).await {
                    let _ = state.files.delete(&key).await;
                    errors.refusal(e, "image", "案例图片")?;
                }
            }
            Err(StreamError::Put(e)) => errors.add("image", "案例图片", e.to_string()),
            Err(StreamError::Interrupted) => errors.add("image", "案例图片", "上传中断，请重试"),
        }
        break;
    }
    // The rest of a refused body is read and dropped, so the answer is not
    // lost in a reset (bounded by the route's limit).
    drain(&mut mp).await;
    if errors.is_empty() {
        return Ok(Redirect::to(&format!("/apply/{}/case", urlencode(&id))).into_response());
    }
    render_case(&state, &ctx, app, None, errors, String::new()).await
}

async fn image_delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, img)): Path<(String, String)>,
) -> AppResult<Response> {
    let app = load_own(&state, &ctx, &id).await?;
    let state = state.for_batch(&app.batch_id).await?;
    let current = cs::get(&state.db, &app.id).await?;
    if current
        .as_ref()
        .is_some_and(|c| matches!(c.status, Status::Submitted | Status::Approved))
    {
        return Err(AppError::BadRequest("案例已提交，不能再删除图片。".into()));
    }
    let image = cs::image(&state.db, &img)
        .await?
        .filter(|i| i.application_id == app.id)
        .ok_or(AppError::NotFound)?;
    let mut b = crate::store::Batch::new();
    cs::remove_image(&mut b, &image.id, &app.id);
    state.db.write(b).await?;
    let _ = state.files.delete(&image.storage_key).await;
    Ok(Redirect::to(&format!("/apply/{}/case", urlencode(&id))).into_response())
}
