//! Submitting the 申报书 to the city: every rule, every required attachment,
//! the deadline, a confirmation, then the immutable fingerprinted snapshot.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde_json::Value;

use crate::clock;
use crate::domain::form::{self, Report};
use crate::domain::lifecycle::State as AppStateKind;
use crate::domain::role::Role;
use crate::store::Batch;
use crate::store::applications::{self, Application};
use crate::store::attachments::{self, Attachment};
use crate::web::AppState;
use crate::web::apply::{
    current_answers, deadline_for, load_own, posted_version, report_with_attachments,
};
use crate::web::form_html;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::page::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/apply/{id}/submit", get(submit_page).post(submit))
        .route_layer(axum::middleware::from_fn(
            crate::web::shared::guard::enterprise,
        ))
}

#[derive(Template)]
#[template(path = "apply/submit.html")]
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
    stale: Option<StaleScan>,
}

/// The stamped scan was uploaded before the last change of the answers: it
/// shows (and its footer fingerprints) an older text than the one submitted.
struct StaleScan {
    /// The version current when the scan was uploaded.
    version: i64,
    uploaded: String,
    /// What changed since, by label (at most `SHOWN`).
    changed: Vec<String>,
    more: usize,
}

const SHOWN: usize = 10;

/// Compares the answers the stamped scan was made from (the version current
/// at its upload) with the answers about to be submitted.
async fn stale_scan(
    state: &AppState,
    app: &Application,
    answers: &Value,
    files: &[Attachment],
) -> AppResult<Option<StaleScan>> {
    let Some(scan) = files
        .iter()
        .filter(|f| f.slot == crate::docs::STAMPED_SCAN)
        .max_by_key(|f| f.created_at)
    else {
        return Ok(None);
    };
    let versions = applications::versions(&state.db, &app.id).await?;
    let Some(v) = versions
        .iter()
        .filter(|v| v.created_at <= scan.created_at)
        .map(|v| v.version)
        .max()
    else {
        return Ok(None);
    };
    let then = crate::web::apply::versions::version_answers(state, &app.id, v).await?;
    let mut changed: Vec<String> = crate::web::apply::versions::changes(state, &then, answers)
        .into_iter()
        .map(|c| c.label)
        .collect();
    if changed.is_empty() {
        return Ok(None);
    }
    let more = changed.len().saturating_sub(SHOWN);
    changed.truncate(SHOWN);
    Ok(Some(StaleScan {
        version: v,
        uploaded: clock::format_datetime(scan.created_at),
        changed,
        more,
    }))
}

/// What a submission is judged on.
struct Check {
    version: i64,
    answers: Value,
    report: Report,
    files: Vec<Attachment>,
    deadline: i64,
    stale: Option<StaleScan>,
}

async fn submit_check(state: &AppState, app: &Application) -> AppResult<Check> {
    let (version, answers) = current_answers(state, app).await?;
    let files = attachments::for_application(&state.db, &app.id).await?;
    let report = report_with_attachments(state, app, &answers, &files);
    let deadline = deadline_for(state, app).await?;
    let stale = stale_scan(state, app, &answers, &files).await?;
    Ok(Check {
        version,
        answers,
        report,
        files,
        deadline,
        stale,
    })
}

async fn render_submit(
    state: &AppState,
    ctx: &Ctx,
    app: Application,
    error: String,
) -> AppResult<String> {
    let c = submit_check(state, &app).await?;
    let base = format!("/apply/{}?check=1", app.id);
    let page = SubmitPage {
        page: Page::new(state, ctx, "提交申报书"),
        version: c.version,
        deadline: clock::format_deadline(c.deadline),
        late: state.clock.now() > c.deadline,
        summary_html: form_html::summary(&c.report, &base),
        ready: c.report.is_ok(),
        warnings: c.report.warnings.len(),
        files: c.files.len(),
        error,
        stale: c.stale,
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
    let state = state.for_batch(&app.batch_id).await?;
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
    let state = state.for_batch(&app.batch_id).await?;
    let Check {
        version,
        answers,
        report,
        files,
        deadline,
        stale,
    } = submit_check(&state, &app).await?;
    let confirmed = |name: &str| pairs.iter().any(|(k, v)| k == name && v == "yes");
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
    } else if stale.is_some() && !confirmed("confirm_stale") {
        Some(
            "盖章扫描件是按较早的内容打印的：请重新下载申报书打印、盖章后上传新的扫描件；或勾选“以当前内容为准提交”。"
                .to_string(),
        )
    } else if !confirmed("confirm") {
        Some("请勾选确认后再提交。".to_string())
    } else {
        None
    };
    if let Some(msg) = refuse {
        let body = render_submit(&state, &ctx, app, msg).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(body)).into_response());
    }
    let mut snapshot = serde_json::json!({
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
    // SM3 (商用密码) when the server is set to it; the snapshot then says so,
    // and its documents recompute the fingerprint the same way.
    let digest = state.config.digest;
    if digest != crate::domain::digest::Algo::Sha256 {
        snapshot["digest"] = digest.code().into();
    }
    let fingerprint = form::fingerprint_with(digest, &snapshot["content"]);
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
    let mut reason = format!("提交第{}版，指纹 {}", version + 1, &fingerprint[..12]);
    if let Some(s) = &stale {
        // Recorded with the submission (timeline and audit log).
        reason.push_str(&format!(
            "；盖章扫描件上传于第{}版，此后内容有{}处修改，申报单位确认以当前内容为准提交",
            s.version,
            s.changed.len() + s.more
        ));
    }
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
