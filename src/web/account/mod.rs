//! Logging in and out, enterprise registration, password changes, the dashboard.

mod messages;
mod twofactor;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::AppState;
use super::shared::context::{self, Ctx, SESSION_COOKIE};
use super::shared::error::{AppError, AppResult};
use super::shared::page::{Errors, Page};
use crate::auth::{self, LoginOutcome};
use crate::clock;
use crate::domain::contact::{Email, MobilePhone};
use crate::domain::credit_code::CreditCode;
use crate::domain::password;
use crate::domain::region::{self, City};
use crate::domain::role::Role;
use crate::store::audit::{self, Action, Actor};
use crate::store::users::{self, Enterprise, NewUser, User};
use crate::store::{Batch, StoreError, new_id, sessions};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(messages::router())
        .merge(twofactor::router())
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/register", get(register_page).post(register))
        .route("/account", get(account_page))
        .route(
            "/account/password",
            get(password_page).post(change_password),
        )
        .route("/account/logout-all", post(logout_all))
        .route("/dashboard", get(dashboard))
}

#[derive(Template)]
#[template(path = "account/login.html")]
struct LoginPage {
    page: Page,
    notice: String,
    error: String,
    username: String,
    next: String,
}

#[derive(Deserialize, Default)]
struct LoginQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    expired: Option<String>,
    #[serde(default)]
    bye: Option<String>,
    #[serde(default)]
    locked: Option<String>,
}

/// Only local paths are followed after login: one slash, then printable
/// ASCII without a backslash (browsers read `/\\host` and `/\t/host`, tabs
/// dropped, as another host), and a valid path for the Location header.
pub(super) fn safe_next(next: &str) -> String {
    let local = next.len() <= 2000
        && next.starts_with('/')
        && !matches!(next.as_bytes().get(1), Some(b'/'))
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
        && next.parse::<axum::http::uri::PathAndQuery>().is_ok();
    if local {
        next.to_string()
    } else {
        "/dashboard".to_string()
    }
}

async fn login_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<LoginQuery>,
) -> AppResult<Response> {
    if ctx.user.is_some() {
        return Ok(Redirect::to("/dashboard").into_response());
    }
    let notice = if q.locked.is_some() {
        "当前密码连续输错次数过多，已退出登录，本网络地址暂停登录此账号15分钟。"
    } else if q.expired.is_some() || ctx.expired {
        "登录已超时或已在其他设备退出，请重新登录。"
    } else if q.bye.is_some() {
        "您已安全退出。"
    } else {
        ""
    };
    let page = LoginPage {
        page: Page::new(&state, &ctx, "登录"),
        notice: notice.into(),
        error: String::new(),
        username: String::new(),
        next: q.next,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// Starts a fresh session for `user` (a new id at every login), ending the
/// one the request came with. `mfa_pending`: the session has passed the
/// password only and reaches nothing but the two-factor pages.
pub(super) async fn start_session(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    mut b: Batch,
    mfa_pending: bool,
) -> AppResult<axum::http::HeaderValue> {
    let token = context::random_token();
    let id_hash = context::token_hash(&token);
    if let Some(old) = &ctx.session {
        sessions::delete(&mut b, &old.id_hash);
    }
    sessions::insert(
        &mut b,
        &sessions::NewSession {
            id_hash: &id_hash,
            user_id: &user.id,
            csrf: &context::random_token(),
            ip: &ctx.ip,
            user_agent: &ctx.user_agent,
            mfa_pending,
        },
        state.clock.now(),
    );
    sessions::keep_newest(
        &mut b,
        &user.id,
        &id_hash,
        state.config.max_sessions_per_user - 1,
    );
    state.db.write(b).await?;
    Ok(context::set_cookie(state, SESSION_COOKIE, &token, None))
}

async fn login(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<LoginForm>,
) -> AppResult<Response> {
    let username: String = f.username.trim().chars().take(64).collect();
    let outcome = if username.is_empty() || f.password.is_empty() {
        None
    } else {
        Some(
            auth::login(
                &state.db,
                &state.clock,
                &state.config,
                &username,
                &f.password,
                &ctx.ip,
            )
            .await?,
        )
    };
    let error = match outcome {
        Some(LoginOutcome::Success(user)) => {
            let enrolled = crate::store::twofactor::enrolled(&state.db, &user.id).await?;
            if state.config.second_factor_needed(&user, enrolled) {
                let cookie = start_session(&state, &ctx, &user, Batch::new(), true).await?;
                let to = format!(
                    "/login/2fa?next={}",
                    crate::web::shared::error::urlencode(&safe_next(&f.next))
                );
                return Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&to)).into_response());
            }
            let cookie = start_session(&state, &ctx, &user, Batch::new(), false).await?;
            let to = if state.config.must_change_password(&user, state.clock.now()) {
                "/account/password".to_string()
            } else {
                safe_next(&f.next)
            };
            return Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&to)).into_response());
        }
        None => "请输入用户名和密码。".to_string(),
        Some(LoginOutcome::TemporaryExpired) => {
            "临时密码已超过72小时有效期，不能再登录。请联系管理员重新重置密码。".to_string()
        }
        Some(LoginOutcome::Failed { remaining }) => {
            format!(
                "用户名或密码错误。从本网络地址再连续输错{remaining}次，该账号将在本地址暂停登录15分钟。"
            )
        }
        Some(LoginOutcome::Locked { until }) => format!(
            "从您所在网络地址登录此账号的失败次数过多，本地址暂停登录至{}。从其他网络登录不受影响，也可请管理员重置密码。",
            clock::format_datetime(until)
        ),
        Some(LoginOutcome::Slowed { wait_s, by_name }) => {
            let whom = if by_name {
                "该账号近期登录失败次数较多"
            } else {
                "您所在网络地址近期登录失败次数较多"
            };
            format!("{whom}，为防止猜测密码，请{wait_s}秒后再试。")
        }
    };
    let status = if matches!(outcome, Some(LoginOutcome::Slowed { .. })) {
        axum::http::StatusCode::TOO_MANY_REQUESTS
    } else {
        axum::http::StatusCode::OK
    };
    let page = LoginPage {
        page: Page::new(&state, &ctx, "登录"),
        notice: String::new(),
        error,
        username,
        next: f.next,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn logout(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    if let (Some(s), Some(u)) = (
        &ctx.session,
        ctx.user.as_ref().or(ctx.pending_user.as_ref()),
    ) {
        let mut b = Batch::new();
        sessions::delete(&mut b, &s.id_hash);
        end_sessions(&state, &ctx, b, Action::Logout, &u.id).await?;
    }
    Ok(signed_out(&state))
}

async fn logout_all(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let u = ctx.require_user()?;
    let mut b = Batch::new();
    sessions::delete_all_for_user(&mut b, &u.id);
    end_sessions(&state, &ctx, b, Action::LogoutEverywhere, &u.id).await?;
    Ok(signed_out(&state))
}

/// Writes the ending of sessions in `b` with its audit entry.
async fn end_sessions(
    state: &AppState,
    ctx: &Ctx,
    mut b: Batch,
    action: Action,
    user_id: &str,
) -> AppResult<()> {
    audit::record(
        &mut b,
        &ctx.actor(),
        action,
        Some(user_id),
        true,
        "",
        state.clock.now(),
    );
    state.db.write(b).await?;
    Ok(())
}

/// The login page, with the session cookie cleared.
fn signed_out(state: &AppState) -> Response {
    let clear = context::set_cookie(state, SESSION_COOKIE, "", Some(0));
    ([(header::SET_COOKIE, clear)], Redirect::to("/login?bye=1")).into_response()
}

#[derive(Deserialize, Default)]
struct RegisterForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    credit_code: String,
    #[serde(default)]
    county: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
}

#[derive(Template)]
#[template(path = "account/register.html")]
struct RegisterPage {
    page: Page,
    form: RegisterForm,
    errors: Errors,
    cities: &'static [City],
}

async fn register_page(State(state): State<AppState>, ctx: Ctx) -> AppResult<Html<String>> {
    let page = RegisterPage {
        page: Page::new(&state, &ctx, "企业注册"),
        form: RegisterForm::default(),
        errors: Errors::default(),
        cities: region::cities(),
    };
    Ok(Html(page.render()?))
}

fn text_field(
    errors: &mut Errors,
    field: &'static str,
    label: &'static str,
    v: &str,
    max: usize,
) -> String {
    let v = v.trim();
    if v.is_empty() {
        errors.add(field, label, format!("请填写{label}"));
    } else if v.chars().count() > max {
        errors.add(field, label, format!("{label}不能超过{max}个字"));
    }
    v.to_string()
}

async fn register(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<RegisterForm>,
) -> AppResult<Response> {
    let mut errors = Errors::default();
    let hour_ago = state.clock.now() - 60 * crate::config::MINUTE;
    let (recent, _) = audit::from_ip(&state.db, &ctx.ip, Action::Register, hour_ago).await?;
    if recent >= state.config.registrations_per_hour {
        errors.1 = "本网络地址在一小时内注册的账号已达上限，请稍后再试；如需为多家企业集中注册，请联系所在市州经信局。"
            .into();
    }
    let name = text_field(&mut errors, "name", "企业名称", &f.name, 100);
    let code = match CreditCode::parse_hubei(&f.credit_code) {
        Ok(c) => Some(c),
        Err(e) => {
            errors.add("credit_code", "统一社会信用代码", e.to_string());
            None
        }
    };
    let city = region::cities()
        .iter()
        .find(|c| region::county(c.code, f.county.trim()).is_some());
    if city.is_none() {
        errors.add("county", "所属地区", "请选择企业所属的市州和县（市、区）");
    }
    let contact_name = text_field(
        &mut errors,
        "contact_name",
        "联系人姓名",
        &f.contact_name,
        30,
    );
    let mobile = MobilePhone::parse(&f.mobile)
        .map_err(|m| errors.add("mobile", "移动电话", m))
        .ok();
    let email = Email::parse(&f.email)
        .map_err(|m| errors.add("email", "电子邮箱", m))
        .ok();
    let username = code
        .as_ref()
        .map(|c| c.as_str().to_string())
        .unwrap_or_default();
    if let Err(e) = password::check(&f.password, &username) {
        errors.add("password", "密码", e.to_string());
    } else if f.password != f.password2 {
        errors.add("password2", "再次输入密码", "两次输入的密码不一致");
    }
    if let Some(c) = &code
        && users::enterprise_by_code(&state.db, c.as_str())
            .await?
            .is_some()
    {
        errors.add(
            "credit_code",
            "统一社会信用代码",
            "该统一社会信用代码已注册。请直接登录；如忘记密码，请联系所在市州经信局重置。",
        );
    }

    if let (true, Some(code), Some(city), Some(mobile), Some(email)) =
        (errors.is_empty(), &code, city, &mobile, &email)
    {
        let now = state.clock.now();
        let hash = auth::hash_password(f.password.clone()).await;
        let id = new_id();
        let mut b = Batch::new();
        users::insert(
            &mut b,
            &NewUser {
                id: &id,
                username: code.as_str(),
                role: Role::Enterprise,
                display_name: &name,
                city_code: Some(city.code),
                password_hash: &hash,
                must_change_password: false,
                is_demo: false,
            },
            now,
        );
        users::insert_enterprise(
            &mut b,
            &Enterprise {
                user_id: id.clone(),
                credit_code: code.as_str().to_string(),
                name: name.clone(),
                city_code: city.code.to_string(),
                county_code: f.county.trim().to_string(),
                contact_name: contact_name.clone(),
                mobile: mobile.as_str().to_string(),
                email: email.as_str().to_string(),
            },
            now,
        );
        let actor = Actor {
            id: Some(id.clone()),
            name: code.as_str().to_lowercase(),
            role: Some(Role::Enterprise.as_str()),
            ip: ctx.ip.clone(),
        };
        audit::record(
            &mut b,
            &actor,
            Action::Register,
            Some(&id),
            true,
            &name,
            now,
        );
        let user = User {
            id: id.clone(),
            username: code.as_str().to_lowercase(),
            role: Role::Enterprise,
            display_name: name.clone(),
            city_code: Some(city.code.to_string()),
            password_hash: hash,
            must_change_password: false,
            disabled: false,
            is_demo: false,
            created_at: now,
            password_set_at: now,
        };
        match start_session(&state, &ctx, &user, b, false).await {
            Ok(cookie) => {
                return Ok((
                    [(header::SET_COOKIE, cookie)],
                    Redirect::to("/dashboard?welcome=1"),
                )
                    .into_response());
            }
            Err(AppError::Internal(e))
                if matches!(e.downcast_ref::<StoreError>(), Some(StoreError::Unique(_))) =>
            {
                errors.add(
                    "credit_code",
                    "统一社会信用代码",
                    "该统一社会信用代码已注册。请直接登录；如忘记密码，请联系所在市州经信局重置。",
                );
            }
            Err(e) => return Err(e),
        }
    }
    let page = RegisterPage {
        page: Page::new(&state, &ctx, "企业注册"),
        form: RegisterForm {
            password: String::new(),
            password2: String::new(),
            ..f
        },
        errors,
        cities: region::cities(),
    };
    Ok((
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        Html(page.render()?),
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "account/account.html")]
struct AccountPage {
    page: Page,
    user: User,
    sessions: i64,
    notice: &'static str,
}

#[derive(Deserialize, Default)]
struct NoticeQuery {
    #[serde(default)]
    changed: Option<String>,
}

async fn account_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Html<String>> {
    let user = ctx.require_user()?.clone();
    let n = sessions::count_for_user(&state.db, &user.id).await?;
    let page = AccountPage {
        page: Page::new(&state, &ctx, "账号与安全"),
        user,
        sessions: n,
        notice: if q.changed.is_some() {
            "密码已修改，其他设备上的登录已失效。"
        } else {
            ""
        },
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "account/password.html")]
struct PasswordPage {
    page: Page,
    /// Why the password must be changed now ("" when it need not).
    forced: &'static str,
    errors: Errors,
    history: i64,
}

fn forced_reason(state: &AppState, user: &User) -> &'static str {
    if user.must_change_password {
        "您正在使用临时密码，请先设置新密码后再使用本平台。"
    } else if state.config.password_expired(user, state.clock.now()) {
        "您的密码已超过有效期，请设置新密码后再使用本平台。"
    } else {
        ""
    }
}

async fn password_page(State(state): State<AppState>, ctx: Ctx) -> AppResult<Html<String>> {
    let user = ctx.require_user()?;
    let page = PasswordPage {
        page: Page::new(&state, &ctx, "修改密码"),
        forced: forced_reason(&state, user),
        errors: Errors::default(),
        history: state.config.password_history,
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
}

async fn change_password(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<PasswordForm>,
) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let mut errors = Errors::default();
    if !auth::verify_password(f.current.clone(), Some(user.password_hash.clone())).await {
        let locked = auth::count_wrong_current_password(
            &state.db,
            &state.config,
            &user,
            ctx.session.as_ref().map(|s| s.id_hash.as_str()),
            &ctx.ip,
            state.clock.now(),
        )
        .await?;
        if locked {
            return Ok(Redirect::to("/login?locked=1").into_response());
        }
        errors.add("current", "当前密码", "当前密码不正确");
    }
    if let Err(e) = password::check(&f.password, &user.username) {
        errors.add("password", "新密码", e.to_string());
    } else if f.password == f.current {
        errors.add("password", "新密码", "新密码不能与当前密码相同");
    } else if f.password != f.password2 {
        errors.add("password2", "再次输入新密码", "两次输入的密码不一致");
    } else if errors.is_empty()
        && auth::reuses_recent_password(
            &state.db,
            &user.id,
            state.config.password_history,
            &f.password,
        )
        .await?
    {
        errors.add(
            "password",
            "新密码",
            format!(
                "新密码不能与最近{}次使用过的密码相同",
                state.config.password_history
            ),
        );
    }
    if !errors.is_empty() {
        let page = PasswordPage {
            page: Page::new(&state, &ctx, "修改密码"),
            forced: forced_reason(&state, &user),
            errors,
            history: state.config.password_history,
        };
        return Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            Html(page.render()?),
        )
            .into_response());
    }
    let now = state.clock.now();
    let hash = auth::hash_password(f.password).await;
    let mut b = Batch::new();
    users::set_password(&mut b, &user.id, &hash, false, now);
    sessions::delete_all_for_user(&mut b, &user.id);
    audit::record(
        &mut b,
        &ctx.actor(),
        Action::PasswordChange,
        Some(&user.id),
        true,
        "",
        now,
    );
    let mut ctx = ctx;
    ctx.session = None; // all deleted above; the new one replaces them
    let cookie = start_session(&state, &ctx, &user, b, false).await?;
    Ok((
        [(header::SET_COOKIE, cookie)],
        Redirect::to("/account?changed=1"),
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "account/dashboard.html")]
struct DashboardPage {
    page: Page,
    user: User,
    enterprise: Option<Enterprise>,
    region_name: String,
    welcome: bool,
    staff_counts: Vec<(&'static str, i64)>,
    /// The name of the batch enterprises apply to now.
    current_batch: String,
    /// The enterprise's applications: (application, batch name, final 公告 number if selected).
    applications: Vec<(crate::store::applications::Application, String, String)>,
}

#[derive(Deserialize, Default)]
struct DashboardQuery {
    #[serde(default)]
    welcome: Option<String>,
}

async fn dashboard(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<DashboardQuery>,
) -> AppResult<Html<String>> {
    let user = ctx.require_user()?.clone();
    let enterprise = if user.role == Role::Enterprise {
        users::enterprise(&state.db, &user.id).await?
    } else {
        None
    };
    let region_name = match (&enterprise, &user.city_code) {
        (Some(e), _) => region_label(&e.city_code, &e.county_code),
        (None, Some(c)) => region::city(c)
            .map(|c| c.name.to_string())
            .unwrap_or_default(),
        _ => String::new(),
    };
    let staff_counts = if user.role == Role::SysAdmin {
        crate::store::users::count_by_role(&state.db)
            .await?
            .into_iter()
            .map(|(r, n)| (r.label(), n))
            .collect()
    } else {
        Vec::new()
    };
    let mut applications = Vec::new();
    if user.role == Role::Enterprise {
        for a in crate::store::applications::of_enterprise(&state.db, &user.id).await? {
            let batch = crate::store::batches::by_id(&state.db, &a.batch_id)
                .await?
                .map(|b| b.name)
                .unwrap_or_default();
            let doc = crate::store::publication::publicity(&state.db, &a.batch_id)
                .await?
                .and_then(|p| p.final_doc_number)
                .unwrap_or_default();
            applications.push((a, batch, doc));
        }
    }
    let page = DashboardPage {
        page: Page::new(&state, &ctx, "工作台"),
        applications,
        user,
        enterprise,
        region_name,
        welcome: q.welcome.is_some(),
        staff_counts,
        current_batch: crate::store::batches::current(&state.db, state.clock.now())
            .await?
            .map(|b| b.name)
            .unwrap_or_default(),
    };
    Ok(Html(page.render()?))
}

pub fn region_label(city: &str, county: &str) -> String {
    match (region::city(city), region::county(city, county)) {
        (Some(c), Some(k)) if c.code == k.code => c.name.to_string(),
        (Some(c), Some(k)) => format!("{} {}", c.name, k.name),
        (Some(c), None) => c.name.to_string(),
        _ => String::new(),
    }
}
