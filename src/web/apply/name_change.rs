//! 企业更名 as the enterprise asks for it: the new name, why, and the new
//! 营业执照; its city decides (`city::name_changes`).

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::domain::role::Role;
use crate::services::Refusal;
use crate::services::name_changes::{self as svc, License};
use crate::store::name_changes::{self as nc, NameChange};
use crate::store::new_id;
use crate::store::users::{self, Enterprise};
use crate::web::AppState;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::page::{Errors, Page};
use crate::web::shared::upload::{
    StreamError, clean_name, drain, small_text, stream_field, upload_drain_limit,
};

/// Largest 营业执照 file.
const MAX_LICENSE: u64 = 20 * 1024 * 1024;
/// Largest text field.
const MAX_TEXT: usize = 8 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/apply/name-change",
            get(page).post(submit).layer(DefaultBodyLimit::max(
                upload_drain_limit(MAX_LICENSE) + 4 * MAX_TEXT,
            )),
        )
        // The enterprise's only, before its body is read.
        .route_layer(axum::middleware::from_fn(
            crate::web::shared::guard::enterprise,
        ))
}

#[derive(Template)]
#[template(path = "apply/name_change.html")]
struct NamePage {
    page: Page,
    enterprise: Enterprise,
    requests: Vec<NameChange>,
    open: bool,
    new_name: String,
    reason: String,
    errors: Errors,
    notice: &'static str,
}

async fn own(state: &AppState, ctx: &Ctx) -> AppResult<Enterprise> {
    let user = ctx.require_role(Role::Enterprise)?;
    users::enterprise(&state.db, &user.id)
        .await?
        .ok_or(AppError::Forbidden)
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    e: Enterprise,
    (new_name, reason): (String, String),
    errors: Errors,
    notice: &'static str,
) -> AppResult<String> {
    let requests = nc::for_enterprise(&state.db, &e.user_id).await?;
    let page = NamePage {
        page: Page::new(state, ctx, "变更企业名称"),
        open: requests.iter().any(|r| r.status == "pending"),
        requests,
        enterprise: e,
        new_name,
        reason,
        errors,
        notice,
    };
    Ok(page.render()?)
}

#[derive(serde::Deserialize, Default)]
struct SentQuery {
    #[serde(default)]
    sent: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::extract::Query(q): axum::extract::Query<SentQuery>,
) -> AppResult<Html<String>> {
    let e = own(&state, &ctx).await?;
    let notice = if q.sent.is_some() {
        "更名申请已提交，请等待所在市州经信局审核，审核结果在本页显示。"
    } else {
        ""
    };
    let body = render(
        &state,
        &ctx,
        e,
        Default::default(),
        Errors::default(),
        notice,
    )
    .await?;
    Ok(Html(body))
}

async fn submit(State(state): State<AppState>, ctx: Ctx, mut mp: Multipart) -> AppResult<Response> {
    let e = own(&state, &ctx).await?;
    let (mut new_name, mut reason) = (String::new(), String::new());
    let mut license = None;
    let mut errors = Errors::default();
    while let Ok(Some(mut field)) = mp.next_field().await {
        let name = field.name().unwrap_or("").to_string();
        if name == "license" {
            if field.file_name().is_none_or(|n| n.is_empty()) {
                continue;
            }
            let file_name = clean_name(field.file_name().unwrap_or(""), "营业执照");
            let key = format!("license-{}", new_id());
            match stream_field(&state, field, &key, MAX_LICENSE).await {
                Ok(stored) => {
                    license = Some(License {
                        key,
                        name: file_name,
                        sha256: stored.sha256,
                    })
                }
                Err(StreamError::Put(e)) => errors.add("license", "营业执照", e.to_string()),
                Err(StreamError::Interrupted) => {
                    errors.add("license", "营业执照", "上传中断，请重新选择文件提交")
                }
            }
            continue;
        }
        let Some(v) = small_text(&mut field, MAX_TEXT).await else {
            errors.add("reason", "变更说明", "填写内容过长");
            continue;
        };
        match name.as_str() {
            "new_name" => new_name = v,
            "reason" => reason = v,
            _ => {}
        }
    }
    drain(&mut mp).await;
    if errors.is_empty() {
        let stored_key = license.as_ref().map(|l| l.key.clone());
        match svc::request(
            &state.db,
            &ctx.actor(),
            &e,
            &new_name,
            &reason,
            license,
            state.clock.now(),
        )
        .await
        {
            Ok(_) => return Ok(Redirect::to("/apply/name-change?sent=1").into_response()),
            Err(refusal) => {
                // Nothing refers to a file of a refused request.
                if let Some(k) = stored_key {
                    let _ = state.files.delete(&k).await;
                }
                match refusal {
                    Refusal::Fields(fs) => {
                        for (k, m) in fs {
                            let label = match k {
                                "new_name" => "变更后的企业名称",
                                "reason" => "变更说明",
                                _ => "营业执照",
                            };
                            errors.add(k, label, m);
                        }
                    }
                    Refusal::Rule(m) => errors.1 = m,
                    e => return Err(anyhow::anyhow!(e.to_string()).into()),
                }
            }
        }
    } else if let Some(l) = license {
        let _ = state.files.delete(&l.key).await;
    }
    let body = render(&state, &ctx, e, (new_name, reason), errors, "").await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(body)).into_response())
}
