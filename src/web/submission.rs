//! Submitting the 申报书 to the city: every rule, every required attachment,
//! the deadline, a confirmation, then the immutable fingerprinted snapshot.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde_json::Value;

use super::AppState;
use super::apply::{
    current_answers, deadline_for, load_own, posted_version, report_with_attachments,
};
use super::form_html;
use super::shared::context::Ctx;
use super::shared::error::{AppError, AppResult};
use super::shared::page::Page;
use crate::clock;
use crate::domain::form::{self, Report};
use crate::domain::lifecycle::State as AppStateKind;
use crate::domain::role::Role;
use crate::store::Batch;
use crate::store::applications::{self, Application};
use crate::store::attachments::{self, Attachment};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/apply/{id}/submit", get(submit_page).post(submit))
        .route_layer(axum::middleware::from_fn(
            crate::web::shared::guard::enterprise,
        ))
}

#[derive(Template)]
#[template(path = "apply_submit.html")]
struct SubmitPage {
    page: Page,
    app: Application,
    version: i64,
    deadline: String,
    late: bool,
    summary_html: String,
    ready: bool,
    warnings: usize,
    files: usize,
    error: String,
}

async fn submit_check(
    state: &AppState,
    app: &Application,
) -> AppResult<(i64, Value, Report, Vec<Attachment>, i64)> {
    let (version, answers) = current_answers(state, app).await?;
    let files = attachments::for_application(&state.db, &app.id).await?;
    let report = report_with_attachments(state, app, &answers, &files);
    let deadline = deadline_for(state, app).await?;
    Ok((version, answers, report, files, deadline))
}

async fn render_submit(
    state: &AppState,
    ctx: &Ctx,
    app: Application,
    error: String,
) -> AppResult<String> {
    let (version, _, report, files, deadline) = submit_check(state, &app).await?;
    let base = format!("/apply/{}?check=1", app.id);
    let page = SubmitPage {
        page: Page::new(state, ctx, "提交申报书"),
        version,
        deadline: clock::format_deadline(deadline),
        late: state.clock.now() > deadline,
        summary_html: form_html::summary(&report, &base),
        ready: report.is_ok(),
        warnings: report.warnings.len(),
        files: files.len(),
        error,
        app,
    };
    Ok(page.render()?)
}

async fn submit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let app = load_own(&state, &ctx, &id).await?;
    if !app.state.editable() {
        return Ok(Redirect::to(&format!("/apply/{id}")).into_response());
    }
    Ok(Html(render_submit(&state, &ctx, app, String::new()).await?).into_response())
}

async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let app = load_own(&state, &ctx, &id).await?;
    let (version, answers, report, files, deadline) = submit_check(&state, &app).await?;
    let now = state.clock.now();
    let refuse = if now > deadline {
        Some(format!(
            "提交失败：本市州申报截止时间为{}，已过截止时间，不能提交。您的草稿已保留。",
            clock::format_deadline(deadline)
        ))
    } else if !app.state.editable() {
        Some(format!(
            "申报书当前状态为“{}”，不能再次提交。",
            app.state.label()
        ))
    } else if !report.is_ok() {
        Some("申报书还有未完成的内容，请按提示修改后再提交。".to_string())
    } else if posted_version(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) != version {
        Some("申报书在确认期间又被修改过，请核对后重新提交。".to_string())
    } else if !pairs.iter().any(|(k, v)| k == "confirm" && v == "yes") {
        Some("请勾选确认后再提交。".to_string())
    } else {
        None
    };
    if let Some(msg) = refuse {
        let body = render_submit(&state, &ctx, app, msg).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(body)).into_response());
    }
    let snapshot = serde_json::json!({
        "application": app.id,
        "enterprise": { "name": app.enterprise_name, "credit_code": app.credit_code },
        "content": answers,
        "attachments": files.iter().map(|f| serde_json::json!({
            "slot": f.slot, "file_name": f.file_name, "sha256": f.sha256, "size": f.size,
        })).collect::<Vec<_>>(),
    });
    // The fingerprint covers the content, not the uploads: the stamped scan
    // (itself an upload) carries the fingerprint printed in the draft's footer,
    // which equals this one when nothing changed after printing.
    let fingerprint = form::fingerprint(&snapshot["content"]);
    let user = ctx.require_user()?;
    let mut extra = Batch::new();
    applications::snapshot(
        &mut extra,
        &id,
        version,
        &form::canonical_json(&snapshot),
        &fingerprint,
        &user.username,
        now,
    );
    let reason = format!("提交第{}版，指纹 {}", version + 1, &fingerprint[..12]);
    match applications::transition(
        &state.db,
        &app,
        AppStateKind::Submitted,
        Role::Enterprise,
        &ctx.actor(),
        &reason,
        extra,
        now,
    )
    .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/apply/{id}?submitted=1")).into_response()),
        Err(applications::TransitionError::Stale) => {
            let app = load_own(&state, &ctx, &id).await?;
            let body =
                render_submit(&state, &ctx, app, "申报书状态已变化，请核对后重试。".into()).await?;
            Ok((StatusCode::CONFLICT, Html(body)).into_response())
        }
        Err(applications::TransitionError::Forbidden) => Err(AppError::Forbidden),
        Err(applications::TransitionError::Store(e)) => Err(e.into()),
    }
}
