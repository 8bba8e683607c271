//! The security administrator's page: running lock-outs (ended here), the
//! sessions in use (an account's ended here) and the security policy in force.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::clock;
use crate::domain::role::Role;
use crate::services::security;
use crate::store::{sessions, users};
use crate::web::AppState;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::page::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/security", get(page))
        .route("/admin/security/unlock", post(unlock))
        .route("/admin/security/revoke", post(revoke))
}

pub struct LockRow {
    pub key: String,
    pub name: String,
    pub address: String,
    pub until: String,
}

pub struct SessionRow {
    pub user_id: String,
    pub username: String,
    pub role: &'static str,
    pub ip: String,
    pub since: String,
    pub last_seen: String,
    pub half_open: bool,
}

#[derive(Template)]
#[template(path = "admin/security.html")]
struct SecurityPage {
    page: Page,
    notice: &'static str,
    locks: Vec<LockRow>,
    sessions: Vec<SessionRow>,
    policy: Vec<(&'static str, String)>,
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<DoneQuery>,
) -> AppResult<Html<String>> {
    ctx.require_role(Role::SecAdmin)?;
    let now = state.clock.now();
    let locks = users::lockouts(&state.db, now)
        .await?
        .into_iter()
        .map(|l| LockRow {
            name: l.name().to_string(),
            address: l.address().to_string(),
            until: clock::format_datetime(l.locked_until),
            key: l.key,
        })
        .collect();
    let sessions = sessions::active(&state.db, 200)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            role: Role::parse(&s.role).map_or("", Role::label),
            since: clock::format_datetime(s.created_at),
            last_seen: clock::format_datetime(s.last_seen),
            user_id: s.user_id,
            username: s.username,
            ip: s.ip,
            half_open: s.mfa_pending,
        })
        .collect();
    let c = &state.config;
    let minutes = |ms: i64| format!("{}分钟", ms / crate::config::MINUTE);
    let policy = vec![
        (
            "工作人员双因素认证（动态口令）",
            if c.require_staff_2fa {
                "强制"
            } else {
                "未强制"
            }
            .to_string(),
        ),
        (
            "登录失败锁定",
            format!(
                "同一账号在同一网络地址连续失败{}次，锁定{}",
                c.lockout_failures,
                minutes(c.lockout_ms)
            ),
        ),
        ("会话空闲超时", minutes(c.idle_timeout_ms)),
        ("会话最长时限", minutes(c.absolute_timeout_ms)),
        ("每个账号同时登录数", c.max_sessions_per_user.to_string()),
        (
            "工作人员密码有效期",
            if c.password_max_age_days > 0 {
                format!("{}天", c.password_max_age_days)
            } else {
                "不限".into()
            },
        ),
        (
            "不得重复使用的历史密码",
            format!("最近{}个", c.password_history),
        ),
        (
            "临时密码有效期",
            format!(
                "{}小时",
                c.temporary_password_ms / (60 * crate::config::MINUTE)
            ),
        ),
    ];
    let page = SecurityPage {
        page: Page::new(&state, &ctx, "安全管理"),
        notice: match q.done.as_str() {
            "unlocked" => "已解除锁定。",
            "revoked" => "该账号的全部登录已结束。",
            _ => "",
        },
        locks,
        sessions,
        policy,
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize, Default)]
struct KeyForm {
    #[serde(default)]
    key: String,
}

async fn unlock(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<KeyForm>,
) -> AppResult<Response> {
    let me = ctx.require_role(Role::SecAdmin)?;
    match security::clear_lockout(&state.db, me, &ctx.ip, &f.key, state.clock.now()).await? {
        Ok(()) => Ok(Redirect::to("/admin/security?done=unlocked").into_response()),
        Err(security::Refusal::NotSecurityAdmin) => Err(AppError::Forbidden),
        Err(r) => Err(AppError::BadRequest(r.to_string())),
    }
}

#[derive(Deserialize, Default)]
struct UserForm {
    #[serde(default)]
    user_id: String,
}

async fn revoke(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<UserForm>,
) -> AppResult<Response> {
    let me = ctx.require_role(Role::SecAdmin)?;
    match security::revoke_sessions(&state.db, me, &ctx.ip, &f.user_id, state.clock.now()).await? {
        Ok(()) => Ok(Redirect::to("/admin/security?done=revoked").into_response()),
        Err(security::Refusal::NotSecurityAdmin) => Err(AppError::Forbidden),
        Err(r) => Err(AppError::BadRequest(r.to_string())),
    }
}
