//! Two-factor pages. At login (`/login/2fa`, a session that passed the
//! password and nothing else): the code of an enrolled account, or the
//! enrolment of one that must have a second factor (QR code, the secret in
//! groups, a confirming code, then the recovery codes once). In the account
//! room (`/account/2fa`): any account's optional enrolment, new recovery
//! codes, removal where allowed.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router, middleware};
use serde::Deserialize;

use super::{safe_next, start_session};
use crate::domain::totp;
use crate::services::twofactor::{self, LoginCheck};
use crate::store::twofactor as store;
use crate::store::users::User;
use crate::web::AppState;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::guard;
use crate::web::shared::page::{Errors, Page};

pub fn router() -> Router<AppState> {
    let account = Router::new()
        .route("/account/2fa", get(account_page))
        .route("/account/2fa/enrol", post(account_enrol))
        .route("/account/2fa/recovery-codes", post(renew_codes))
        .route("/account/2fa/remove", post(remove))
        .route_layer(middleware::from_fn(guard::logged_in));
    Router::new()
        .route("/login/2fa", get(login_page).post(login_code))
        .route("/login/2fa/enrol", post(login_enrol))
        .merge(account)
}

/// What the enrolment shows: the QR code, the secret to type instead, and
/// for demo accounts of a demo server the code itself.
struct Enrolment {
    qr_svg: String,
    secret_grouped: String,
}

fn enrolment(secret: &str, user: &User) -> Enrolment {
    let url = totp::otpauth_url(secret, &user.username).unwrap_or_default();
    Enrolment {
        qr_svg: totp::qr_svg(&url).unwrap_or_default(),
        secret_grouped: totp::grouped(secret),
    }
}

#[derive(Template)]
#[template(path = "account/two_factor_login.html")]
struct LoginPage {
    page: Page,
    user: User,
    /// Some: the account must enrol first.
    enrol: Option<Enrolment>,
    errors: Errors,
    next: String,
    /// The current code of a demo account on a demo server (printed help).
    demo_code: String,
}

#[derive(Template)]
#[template(path = "account/recovery_codes.html")]
struct CodesPage {
    page: Page,
    codes: Vec<String>,
    /// Where "continue" goes.
    next: String,
    enrolled_now: bool,
}

#[derive(Deserialize, Default)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

#[derive(Deserialize, Default)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

fn pending(ctx: &Ctx) -> AppResult<&User> {
    ctx.pending_user
        .as_ref()
        .ok_or_else(|| AppError::LoginRequired {
            next: "/dashboard".into(),
            expired: ctx.expired,
        })
}

async fn demo_code(state: &AppState, user: &User) -> AppResult<String> {
    if !(state.demo && user.is_demo) {
        return Ok(String::new());
    }
    let t = store::of_user(&state.db, &user.id).await?;
    Ok(
        t.and_then(|t| totp::next_usable(&t.secret, state.clock.now(), t.last_step))
            .map(|(_, c)| c)
            .unwrap_or_default(),
    )
}

async fn render_login(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    errors: Errors,
    next: String,
) -> AppResult<Response> {
    let now = state.clock.now();
    let enrol = twofactor::pending_secret(&state.db, user, now)
        .await?
        .map(|s| enrolment(&s, user));
    let title = if enrol.is_some() {
        "绑定动态口令"
    } else {
        "动态口令验证"
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = LoginPage {
        page: Page::new(state, ctx, title),
        user: user.clone(),
        demo_code: demo_code(state, user).await?,
        enrol,
        errors,
        next,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn login_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    if ctx.user.is_some() {
        return Ok(Redirect::to("/dashboard").into_response());
    }
    let user = pending(&ctx)?.clone();
    render_login(&state, &ctx, &user, Errors::default(), q.next).await
}

/// Ends the half-open session and starts a full one, then goes on to `next`
/// (or the password page when the password must be changed first).
async fn complete_login(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    next: &str,
) -> AppResult<Response> {
    let cookie = start_session(state, ctx, user, crate::store::Batch::new(), false).await?;
    let to = if state.config.must_change_password(user, state.clock.now()) {
        "/account/password".to_string()
    } else {
        safe_next(next)
    };
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&to)).into_response())
}

async fn login_code(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<CodeForm>,
) -> AppResult<Response> {
    let user = pending(&ctx)?.clone();
    let session = ctx.session.as_ref().map(|s| s.id_hash.as_str());
    let now = state.clock.now();
    let outcome = twofactor::check_login(
        &state.db,
        &state.config,
        &user,
        session,
        &ctx.ip,
        f.code.trim(),
        now,
    )
    .await?;
    let mut errors = Errors::default();
    match outcome {
        LoginCheck::Passed => return complete_login(&state, &ctx, &user, &f.next).await,
        LoginCheck::PassedWithRecoveryCode { .. } => {
            // The account page says how many codes are left and offers new ones.
            return complete_login(&state, &ctx, &user, "/account/2fa?done=recovery").await;
        }
        LoginCheck::Wrong { locked: true } => {
            return Ok(Redirect::to("/login?locked=1").into_response());
        }
        LoginCheck::Wrong { locked: false } => {
            errors.add("code", "动态验证码", twofactor::WRONG_CODE);
        }
        LoginCheck::Reused => errors.add(
            "code",
            "动态验证码",
            "该验证码刚刚已使用过，请等待身份验证器显示下一个验证码后输入。",
        ),
        LoginCheck::Slowed { wait_s } => {
            errors.1 = format!("近期验证失败次数较多，为防止猜测，请{wait_s}秒后再试。");
        }
        LoginCheck::NotEnrolled => {
            // Enrol first (the page shows the QR code).
        }
    }
    render_login(&state, &ctx, &user, errors, f.next).await
}

async fn login_enrol(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<CodeForm>,
) -> AppResult<Response> {
    let user = pending(&ctx)?.clone();
    let now = state.clock.now();
    match twofactor::confirm_enrolment(&state.db, &user, &ctx.ip, f.code.trim(), now).await? {
        Ok(codes) => {
            let cookie =
                start_session(&state, &ctx, &user, crate::store::Batch::new(), false).await?;
            let next = if state.config.must_change_password(&user, now) {
                "/account/password".to_string()
            } else {
                safe_next(&f.next)
            };
            let page = CodesPage {
                page: Page::new(&state, &ctx, "保存恢复码"),
                codes,
                next,
                enrolled_now: true,
            };
            Ok(([(header::SET_COOKIE, cookie)], Html(page.render()?)).into_response())
        }
        Err(m) => {
            let mut errors = Errors::default();
            errors.add("code", "动态验证码", m);
            render_login(&state, &ctx, &user, errors, f.next).await
        }
    }
}

#[derive(Template)]
#[template(path = "account/two_factor.html")]
struct AccountPage {
    page: Page,
    /// Staff who must keep the factor cannot remove it.
    required: bool,
    recovery_left: i64,
    enrol: Option<Enrolment>,
    errors: Errors,
    notice: String,
}

async fn render_account(
    state: &AppState,
    ctx: &Ctx,
    errors: Errors,
    notice: String,
) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let now = state.clock.now();
    let enrol = twofactor::pending_secret(&state.db, &user, now)
        .await?
        .map(|s| enrolment(&s, &user));
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = AccountPage {
        page: Page::new(state, ctx, "动态口令（双因素认证）"),
        required: state.config.require_staff_2fa && user.role.is_staff(),
        recovery_left: store::unused_recovery_codes(&state.db, &user.id).await?,
        enrol,
        errors,
        notice,
    };
    Ok((status, Html(page.render()?)).into_response())
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn account_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let notice = match q.done.as_str() {
        "removed" => "已解除动态口令，今后登录只需密码。",
        "recovery" => {
            "您已使用恢复码登录，每个恢复码只能使用一次。如手机丢失或更换，请重新生成恢复码，或联系管理员重置。"
        }
        _ => "",
    };
    render_account(&state, &ctx, Errors::default(), notice.into()).await
}

fn codes_page(
    state: &AppState,
    ctx: &Ctx,
    codes: Vec<String>,
    enrolled_now: bool,
) -> AppResult<Response> {
    let page = CodesPage {
        page: Page::new(state, ctx, "保存恢复码"),
        codes,
        next: "/account/2fa".into(),
        enrolled_now,
    };
    Ok(Html(page.render()?).into_response())
}

fn code_error(message: &str) -> Errors {
    let mut errors = Errors::default();
    errors.add("code", "动态验证码", message);
    errors
}

async fn account_enrol(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<CodeForm>,
) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let now = state.clock.now();
    match twofactor::confirm_enrolment(&state.db, &user, &ctx.ip, f.code.trim(), now).await? {
        Ok(codes) => codes_page(&state, &ctx, codes, true),
        Err(m) => render_account(&state, &ctx, code_error(m), String::new()).await,
    }
}

async fn renew_codes(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<CodeForm>,
) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let now = state.clock.now();
    match twofactor::renew_recovery_codes(&state.db, &user, &ctx.ip, f.code.trim(), now).await? {
        Ok(codes) => codes_page(&state, &ctx, codes, false),
        Err(m) => render_account(&state, &ctx, code_error(m), String::new()).await,
    }
}

#[derive(Deserialize, Default)]
struct RemoveForm {
    #[serde(default)]
    remove_code: String,
}

async fn remove(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<RemoveForm>,
) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let now = state.clock.now();
    match twofactor::remove(
        &state.db,
        &state.config,
        &user,
        &ctx.ip,
        f.remove_code.trim(),
        now,
    )
    .await?
    {
        Ok(()) => Ok(Redirect::to("/account/2fa?done=removed").into_response()),
        Err(m) => {
            let mut errors = Errors::default();
            errors.add("remove_code", "动态验证码（解除）", m);
            render_account(&state, &ctx, errors, String::new()).await
        }
    }
}
