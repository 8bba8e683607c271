//! Staff accounts (the system administrator's, `/admin/users`), the audit
//! log (the audit administrator's, `/admin/audit`) and the province's list
//! of existing benchmark enterprises. The first two are served in the
//! admin room (`web::admin`) under its guards (三权分立); only the list is
//! the province's.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::auth;
use crate::clock;
use crate::domain::password;
use crate::domain::region::{self, City};
use crate::domain::role::Role;
use crate::store::audit::{self, Action};
use crate::store::users::{self, NewUser, User};
use crate::store::{Batch, StoreError, new_id, sessions};
use crate::web::AppState;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::page::{Errors, Page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/province/benchmarks",
            get(benchmarks_page).post(benchmarks_import),
        )
        .route("/province/benchmarks/remove", post(benchmarks_remove))
}

/// The system administrator's account pages (guarded in `web::admin`).
pub fn users_router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list_users).post(create_user))
        .route("/admin/users/new", get(new_user_page))
        .route("/admin/users/{id}", get(user_page).post(update_user))
        .route("/admin/users/{id}/reset-password", post(reset_password))
        .route("/admin/users/{id}/disable", post(disable))
        .route("/admin/users/{id}/enable", post(enable))
}

/// The audit administrator's pages (guarded in `web::admin`).
pub fn audit_router() -> Router<AppState> {
    Router::new()
        .route("/admin/audit", get(audit_page))
        .route("/admin/audit/export.csv", get(audit_export))
}

#[derive(Template)]
#[template(path = "province/users.html")]
struct UsersPage {
    page: Page,
    users: Vec<User>,
    role: String,
    roles: [Role; 7],
}

#[derive(Deserialize, Default)]
struct RoleQuery {
    #[serde(default)]
    role: String,
}

async fn list_users(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<RoleQuery>,
) -> AppResult<Html<String>> {
    ctx.require_role(Role::SysAdmin)?;
    let users = users::list(&state.db, Role::parse(&q.role)).await?;
    let page = UsersPage {
        page: Page::new(&state, &ctx, "账号管理"),
        users,
        role: q.role,
        roles: Role::ALL,
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize, Default)]
struct StaffForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    city: String,
}

#[derive(Template)]
#[template(path = "province/user_form.html")]
struct UserFormPage {
    page: Page,
    form: StaffForm,
    errors: Errors,
    cities: &'static [City],
    staff_roles: [Role; 3],
    /// Editing an existing account (the user name is then fixed).
    editing: Option<User>,
    temp_password: String,
    notice: String,
}

impl UserFormPage {
    /// Enterprise and administrator accounts are not edited here.
    fn show_form(&self) -> bool {
        self.editing
            .as_ref()
            .is_none_or(|u| u.role != Role::Enterprise && !u.role.is_admin())
    }
}

async fn new_user_page(State(state): State<AppState>, ctx: Ctx) -> AppResult<Html<String>> {
    ctx.require_role(Role::SysAdmin)?;
    let page = UserFormPage {
        page: Page::new(&state, &ctx, "新建工作人员账号"),
        form: StaffForm {
            role: "city".into(),
            ..StaffForm::default()
        },
        errors: Errors::default(),
        cities: region::cities(),
        staff_roles: Role::MANAGED,
        editing: None,
        temp_password: String::new(),
        notice: String::new(),
    };
    Ok(Html(page.render()?))
}

/// Checks a staff form; returns the role and city code when valid.
const ADMIN_BY_COMMAND_LINE: &str = "管理员账号（系统管理员、安全管理员、审计管理员）只能由服务器上的命令行 shenbao user 创建和重置，不能在网页中创建、授予、修改、重置或停用（三权分立：系统管理员不能掌握其他管理员的账号）。";

/// Administrator accounts are not changed in the browser (see `Role::MANAGED`).
fn not_an_admin(user: &User) -> AppResult<()> {
    if user.role.is_admin() {
        return Err(AppError::BadRequest(ADMIN_BY_COMMAND_LINE.into()));
    }
    Ok(())
}

fn check_staff_form(
    f: &StaffForm,
    errors: &mut Errors,
    with_username: bool,
) -> Option<(Role, Option<&'static str>)> {
    let parsed = Role::parse(&f.role);
    let role = parsed.filter(|r| Role::MANAGED.contains(r));
    if parsed.is_some_and(Role::is_admin) {
        errors.add("role", "角色", ADMIN_BY_COMMAND_LINE);
    } else if role.is_none() {
        errors.add(
            "role",
            "角色",
            "请选择角色（市州经信局、省经信厅或评审专家）",
        );
    }
    if with_username {
        let u = f.username.trim();
        if u.len() < 3
            || u.len() > 32
            || !u
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
        {
            errors.add(
                "username",
                "用户名",
                "用户名为3到32位字母、数字、下划线、点或连字符",
            );
        }
    }
    let name = f.display_name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        errors.add(
            "display_name",
            "名称",
            "请填写名称（不超过50个字），如“武汉市经信局”或专家姓名",
        );
    }
    let city = region::city(f.city.trim()).map(|c| c.code);
    if role == Some(Role::City) && city.is_none() {
        errors.add("city", "所属市州", "市州经信局账号须选择所属市州");
    }
    role.map(|r| (r, if r == Role::City { city } else { None }))
}

async fn create_user(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<StaffForm>,
) -> AppResult<Response> {
    ctx.require_role(Role::SysAdmin)?;
    let mut errors = Errors::default();
    let checked = check_staff_form(&f, &mut errors, true);
    if users::by_username(&state.db, &f.username).await?.is_some() {
        errors.add("username", "用户名", "该用户名已被使用");
    }
    let mut temp_password = String::new();
    if let (true, Some((role, city))) = (errors.is_empty(), checked) {
        temp_password = password::generate();
        let hash = auth::hash_password(temp_password.clone()).await;
        let now = state.clock.now();
        let id = new_id();
        let mut b = Batch::new();
        users::insert(
            &mut b,
            &NewUser {
                id: &id,
                username: f.username.trim(),
                role,
                display_name: f.display_name.trim(),
                city_code: city,
                password_hash: &hash,
                must_change_password: true,
                is_demo: false,
            },
            now,
        );
        let detail = format!(
            "角色：{}；名称：{}；市州：{}",
            role.label(),
            f.display_name.trim(),
            city.unwrap_or("-")
        );
        audit::record(
            &mut b,
            &ctx.actor(),
            Action::AccountCreate,
            Some(&id),
            true,
            &detail,
            now,
        );
        match state.db.write(b).await {
            Ok(_) => {}
            Err(StoreError::Unique(_)) => {
                errors.add("username", "用户名", "该用户名已被使用");
                temp_password.clear();
            }
            Err(e) => return Err(e.into()),
        }
    }
    let created = errors.is_empty();
    let page = UserFormPage {
        page: Page::new(
            &state,
            &ctx,
            if created {
                "账号已创建"
            } else {
                "新建工作人员账号"
            },
        ),
        notice: if created {
            format!(
                "账号“{}”已创建。请将以下临时密码告知本人：72小时内有效，首次登录时须绑定动态口令并修改密码。此密码只显示这一次。",
                f.username.trim()
            )
        } else {
            String::new()
        },
        form: if created {
            StaffForm {
                role: "city".into(),
                ..StaffForm::default()
            }
        } else {
            f
        },
        errors,
        cities: region::cities(),
        staff_roles: Role::MANAGED,
        editing: None,
        temp_password,
    };
    let status = if created {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn load_user(state: &AppState, id: &str) -> AppResult<User> {
    users::by_id(&state.db, id).await?.ok_or(AppError::NotFound)
}

#[derive(Deserialize, Default)]
struct UserQuery {
    #[serde(default)]
    done: String,
}

async fn user_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<UserQuery>,
) -> AppResult<Html<String>> {
    ctx.require_role(Role::SysAdmin)?;
    let user = load_user(&state, &id).await?;
    let notice = match q.done.as_str() {
        "saved" => "已保存。",
        "disabled" => "账号已停用，其所有登录已失效。",
        "enabled" => "账号已启用。",
        _ => "",
    };
    let page = UserFormPage {
        page: Page::new(&state, &ctx, format!("账号：{}", user.username)),
        form: StaffForm {
            role: user.role.as_str().into(),
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            city: user.city_code.clone().unwrap_or_default(),
        },
        errors: Errors::default(),
        cities: region::cities(),
        staff_roles: Role::MANAGED,
        editing: Some(user),
        temp_password: String::new(),
        notice: notice.into(),
    };
    Ok(Html(page.render()?))
}

async fn update_user(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<StaffForm>,
) -> AppResult<Response> {
    ctx.require_role(Role::SysAdmin)?;
    let user = load_user(&state, &id).await?;
    // No administrator gives itself or another a duty here (三权分立).
    not_an_admin(&user)?;
    if user.role == Role::Enterprise {
        return Err(AppError::BadRequest(
            "企业账号的信息由企业自行维护，不能在此修改角色。".into(),
        ));
    }
    let mut errors = Errors::default();
    let checked = check_staff_form(&f, &mut errors, false);
    if let (true, Some((role, city))) = (errors.is_empty(), checked) {
        let now = state.clock.now();
        let mut b = Batch::new();
        users::update_staff(&mut b, &id, role, f.display_name.trim(), city, now);
        let detail = format!(
            "角色：{} → {}；名称：{} → {}；市州：{} → {}",
            user.role.label(),
            role.label(),
            user.display_name,
            f.display_name.trim(),
            user.city_code.as_deref().unwrap_or("-"),
            city.unwrap_or("-")
        );
        audit::record(
            &mut b,
            &ctx.actor(),
            Action::AccountUpdate,
            Some(&id),
            true,
            &detail,
            now,
        );
        if role != user.role || city != user.city_code.as_deref() {
            // New permissions take effect at the next login.
            sessions::delete_all_for_user(&mut b, &id);
        }
        state.db.write(b).await?;
        return Ok(Redirect::to(&format!("/admin/users/{id}?done=saved")).into_response());
    }
    let page = UserFormPage {
        page: Page::new(&state, &ctx, format!("账号：{}", user.username)),
        form: StaffForm {
            username: user.username.clone(),
            ..f
        },
        errors,
        cities: region::cities(),
        staff_roles: Role::MANAGED,
        editing: Some(user),
        temp_password: String::new(),
        notice: String::new(),
    };
    Ok((
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        Html(page.render()?),
    )
        .into_response())
}

async fn reset_password(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Response> {
    ctx.require_role(Role::SysAdmin)?;
    let user = load_user(&state, &id).await?;
    not_an_admin(&user)?;
    let temp = password::generate();
    let hash = auth::hash_password(temp.clone()).await;
    let now = state.clock.now();
    let mut b = Batch::new();
    users::set_password(&mut b, &id, &hash, true, now);
    sessions::delete_all_for_user(&mut b, &id);
    users::clear_throttle(&mut b, &user.username);
    // A lost phone is the usual reason: the owner enrols again.
    crate::store::twofactor::remove(&mut b, &id);
    crate::services::notify::account_event(
        &mut b,
        &id,
        crate::domain::notify::Kind::PasswordReset,
        &[
            ("user", user.display_name.clone()),
            ("time", crate::clock::format_datetime(now)),
        ],
        now,
    );
    audit::record(
        &mut b,
        &ctx.actor(),
        Action::PasswordReset,
        Some(&id),
        true,
        &format!("{}；动态口令已解除", user.username),
        now,
    );
    state.db.write(b).await?;
    let page = UserFormPage {
        page: Page::new(&state, &ctx, format!("账号：{}", user.username)),
        form: StaffForm {
            role: user.role.as_str().into(),
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            city: user.city_code.clone().unwrap_or_default(),
        },
        errors: Errors::default(),
        cities: region::cities(),
        staff_roles: Role::MANAGED,
        notice: format!(
            "已为“{}”重置密码并解除其动态口令，原有登录已全部失效，锁定已解除。请将临时密码告知本人：72小时内有效，首次登录须修改密码并重新绑定动态口令。此密码只显示这一次。",
            user.username
        ),
        editing: Some(user),
        temp_password: temp,
    };
    Ok(Html(page.render()?).into_response())
}

async fn set_disabled(
    state: AppState,
    ctx: Ctx,
    id: String,
    disabled: bool,
) -> AppResult<Response> {
    ctx.require_role(Role::SysAdmin)?;
    let user = load_user(&state, &id).await?;
    // Its own account too: every administrator account is (三权分立).
    not_an_admin(&user)?;
    let now = state.clock.now();
    let mut b = Batch::new();
    users::set_disabled(&mut b, &id, disabled, now);
    if disabled {
        sessions::delete_all_for_user(&mut b, &id);
    }
    let action = if disabled {
        Action::AccountDisable
    } else {
        Action::AccountEnable
    };
    audit::record(
        &mut b,
        &ctx.actor(),
        action,
        Some(&id),
        true,
        &user.username,
        now,
    );
    state.db.write(b).await?;
    let done = if disabled { "disabled" } else { "enabled" };
    Ok(Redirect::to(&format!("/admin/users/{id}?done={done}")).into_response())
}

async fn disable(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Response> {
    set_disabled(state, ctx, id, true).await
}

async fn enable(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Response> {
    set_disabled(state, ctx, id, false).await
}

pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub ip: String,
    pub action: String,
    pub target: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub ip: String,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub page: i64,
}

#[derive(Template)]
#[template(path = "province/audit.html")]
struct AuditPage {
    page: Page,
    q: AuditQuery,
    rows: Vec<AuditRow>,
    actions: Vec<(&'static str, &'static str)>,
    prev: Option<String>,
    next: Option<String>,
    /// The CSV export of the same filter.
    export: String,
    /// The integrity chains' heads (`shared::chain_head`).
    chain_head: String,
}

const AUDIT_PAGE: i64 = 50;
/// The most entries one export holds (narrow the filter for older ones).
const AUDIT_EXPORT_MAX: i64 = 100_000;

fn audit_filter(q: &AuditQuery) -> audit::Filter {
    audit::Filter {
        action: q.action.trim().to_string(),
        actor: q.actor.trim().to_lowercase(),
        ip: q.ip.trim().to_string(),
        outcome: q.outcome.trim().to_string(),
        from: clock::parse_date_start(&q.from),
        to: clock::parse_date_start(&q.to).map(|t| t + 24 * 3600 * 1000),
    }
}

/// One CSV field: quoted, quotes doubled, and a leading formula character
/// neutralised (a spreadsheet would run `=…` typed into a login name).
fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    format!("\"{}\"", v.replace('"', "\"\""))
}

/// The filtered audit log as CSV (UTF-8 with a byte-order mark, which
/// Excel needs to read Chinese), newest first. The export is itself audited.
async fn audit_export(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<AuditQuery>,
) -> AppResult<Response> {
    ctx.require_role(Role::Auditor)?;
    let filter = audit_filter(&q);
    let mut entries = audit::search(&state.db, &filter, AUDIT_EXPORT_MAX, 0).await?;
    entries.truncate(AUDIT_EXPORT_MAX as usize);
    let mut out =
        String::from("\u{feff}时间,操作人,角色,来源地址,事件,事件代码,对象,结果,说明\r\n");
    for e in &entries {
        let role = e
            .actor_role
            .as_deref()
            .and_then(Role::parse)
            .map_or("", Role::label);
        let label = audit::Action::from_code(&e.action).map_or("", |a| a.label());
        let cells = [
            clock::format_datetime(e.at),
            e.actor_name.clone(),
            role.to_string(),
            e.ip.clone(),
            label.to_string(),
            e.action.clone(),
            e.target.clone().unwrap_or_default(),
            if e.ok { "成功" } else { "失败" }.to_string(),
            e.detail.clone(),
        ];
        out.push_str(
            &cells
                .iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    let now = state.clock.now();
    let mut b = Batch::new();
    audit::record(
        &mut b,
        &ctx.actor(),
        Action::AuditExport,
        None,
        true,
        &format!("导出审计日志{}条", entries.len()),
        now,
    );
    state.db.write(b).await?;
    let name = format!(
        "attachment; filename=\"audit-{}.csv\"",
        crate::clock::date_of(now)
    );
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, name),
        ],
        out,
    )
        .into_response())
}

async fn audit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<AuditQuery>,
) -> AppResult<Html<String>> {
    ctx.require_role(Role::Auditor)?;
    let filter = audit_filter(&q);
    let page_no = q.page.max(0);
    let mut entries = audit::search(&state.db, &filter, AUDIT_PAGE, page_no * AUDIT_PAGE).await?;
    let more = entries.len() as i64 > AUDIT_PAGE;
    entries.truncate(AUDIT_PAGE as usize);
    let query = |base: &str| {
        format!(
            "{base}?action={}&actor={}&ip={}&outcome={}&from={}&to={}",
            crate::web::shared::error::urlencode(&q.action),
            crate::web::shared::error::urlencode(&q.actor),
            crate::web::shared::error::urlencode(&q.ip),
            crate::web::shared::error::urlencode(&q.outcome),
            crate::web::shared::error::urlencode(&q.from),
            crate::web::shared::error::urlencode(&q.to),
        )
    };
    let link = |p: i64| format!("{}&page={p}", query("/admin/audit"));
    let export = query("/admin/audit/export.csv");
    let rows = entries
        .into_iter()
        .map(|e| AuditRow {
            at: clock::format_datetime(e.at),
            actor: match e.actor_role.as_deref().and_then(Role::parse) {
                Some(r) => format!("{}（{}）", e.actor_name, r.label()),
                None => e.actor_name,
            },
            ip: e.ip,
            action: audit::Action::from_code(&e.action)
                .map_or(e.action.clone(), |a| a.label().to_string()),
            target: e.target.unwrap_or_default(),
            ok: e.ok,
            detail: e.detail,
        })
        .collect();
    let page = AuditPage {
        page: Page::new(&state, &ctx, "审计日志"),
        prev: (page_no > 0).then(|| link(page_no - 1)),
        next: more.then(|| link(page_no + 1)),
        export,
        q,
        rows,
        actions: Action::ALL.iter().map(|a| (a.code(), a.label())).collect(),
        chain_head: crate::web::shared::chain_head::render(&state.db).await?,
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "province/benchmarks.html")]
struct BenchmarksPage {
    page: Page,
    rows: Vec<(String, String, String)>,
    lines: String,
    errors: Vec<String>,
    notice: String,
}

#[derive(Deserialize, Default)]
struct BenchmarksQuery {
    #[serde(default)]
    added: Option<usize>,
    #[serde(default)]
    removed: Option<String>,
}

async fn benchmarks_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<BenchmarksQuery>,
) -> AppResult<Html<String>> {
    ctx.require_role(Role::Province)?;
    let notice = match (q.added, q.removed) {
        (Some(n), _) => format!("已导入{n}家企业。"),
        (_, Some(c)) => format!("已将{c}移出名单。"),
        _ => String::new(),
    };
    let page = BenchmarksPage {
        page: Page::new(&state, &ctx, "已有上云标杆企业名单"),
        rows: crate::store::applications::benchmark_list(&state.db).await?,
        lines: String::new(),
        errors: Vec::new(),
        notice,
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize, Default)]
struct LinesForm {
    #[serde(default)]
    lines: String,
}

/// Imports lines of `统一社会信用代码,企业名称[,批次]` (comma, tab or 、 separated,
/// as pasted from a spreadsheet). All lines must be valid or nothing is imported.
async fn benchmarks_import(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<LinesForm>,
) -> AppResult<Response> {
    ctx.require_role(Role::Province)?;
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    for (n, line) in f.lines.lines().enumerate().take(5000) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split([',', '，', '\t', '、']).map(str::trim).collect();
        match crate::domain::credit_code::CreditCode::parse_any(parts[0]) {
            Ok(code) if parts.len() >= 2 && !parts[1].is_empty() => {
                rows.push((
                    code.as_str().to_string(),
                    parts[1].chars().take(100).collect::<String>(),
                    parts
                        .get(2)
                        .map_or(String::new(), |s| s.chars().take(50).collect()),
                ));
            }
            Ok(_) => errors.push(format!("第{}行：缺少企业名称", n + 1)),
            Err(e) => errors.push(format!("第{}行：{e}", n + 1)),
        }
    }
    if rows.is_empty() && errors.is_empty() {
        errors.push("请粘贴至少一行：统一社会信用代码,企业名称,批次（批次可省略）".into());
    }
    if !errors.is_empty() {
        let page = BenchmarksPage {
            page: Page::new(&state, &ctx, "已有上云标杆企业名单"),
            rows: crate::store::applications::benchmark_list(&state.db).await?,
            lines: f.lines,
            errors,
            notice: String::new(),
        };
        return Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            Html(page.render()?),
        )
            .into_response());
    }
    let now = state.clock.now();
    let mut b = Batch::new();
    let actor = ctx.actor();
    for (code, name, note) in &rows {
        crate::store::applications::benchmark_upsert(&mut b, code, name, note, &actor.name, now);
    }
    audit::record(
        &mut b,
        &actor,
        Action::BenchmarkListChange,
        None,
        true,
        &format!("导入{}家", rows.len()),
        now,
    );
    state.db.write(b).await?;
    Ok(Redirect::to(&format!("/province/benchmarks?added={}", rows.len())).into_response())
}

#[derive(Deserialize, Default)]
struct CodeForm {
    #[serde(default)]
    credit_code: String,
}

async fn benchmarks_remove(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<CodeForm>,
) -> AppResult<Response> {
    ctx.require_role(Role::Province)?;
    let now = state.clock.now();
    let mut b = Batch::new();
    crate::store::applications::benchmark_remove(&mut b, f.credit_code.trim());
    audit::record(
        &mut b,
        &ctx.actor(),
        Action::BenchmarkListChange,
        Some(f.credit_code.trim()),
        true,
        "移出名单",
        now,
    );
    state.db.write(b).await?;
    Ok(Redirect::to(&format!(
        "/province/benchmarks?removed={}",
        crate::web::shared::error::urlencode(f.credit_code.trim())
    ))
    .into_response())
}
