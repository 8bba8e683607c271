//! The enterprise's side of the program: eligibility, the 申报书 online with
//! drafts and versions, and submission to the city before its deadline.

pub mod case;
pub mod documents;
pub mod name_change;
pub mod submission;
pub mod uploads;
pub mod versions;

use askama::Template;
use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::Value;

use crate::clock;
use crate::domain::credit_code::CreditCode;
use crate::domain::form::{self, Report};
use crate::domain::lifecycle::State as AppStateKind;
use crate::domain::role::Role;
use crate::store::applications::{
    self, Application, DraftSummary, Event, Keep, NewApplication, SaveOutcome,
};
use crate::store::attachments::{self, Attachment};
use crate::store::batches::{self, BatchRow};
use crate::store::users::{self, Enterprise};
use crate::store::{Batch, StoreError, new_id};
use crate::web::AppState;
use crate::web::form_html;
use crate::web::form_io;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::page::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(case::router())
        .merge(name_change::router())
        .route("/apply", get(start_page))
        .route("/apply/start", post(start))
        .route("/apply/{id}", get(form_page).post(save))
        .route("/apply/{id}/autosave", post(autosave))
        .route_layer(axum::middleware::from_fn(
            crate::web::shared::guard::logged_in,
        ))
        // Each with its own guard (files and documents are read by officials too).
        .merge(versions::router())
        .merge(submission::router())
        .merge(uploads::router())
        .merge(documents::router())
}

/// What the form page reads of an application besides its answers, kept
/// while no write has been committed (`store::derived`): on PostgreSQL two
/// round trips a page (the session, the stamp) instead of five.
pub struct FormReads {
    app: Application,
    files: Vec<crate::store::attachments::Attachment>,
    events: Vec<applications::Event>,
    deadline: i64,
}

async fn form_reads(state: &AppState, ctx: &Ctx, id: &str) -> AppResult<std::sync::Arc<FormReads>> {
    ctx.require_user()?;
    let reads = state
        .caches
        .form_reads
        .get(&state.db, id, || async {
            let app = applications::by_id(&state.db, id)
                .await?
                .ok_or(AppError::NotFound)?;
            Ok::<_, AppError>(FormReads {
                files: attachments::for_application(&state.db, id).await?,
                events: applications::events(&state.db, id).await?,
                deadline: deadline_for(state, &app).await?,
                app,
            })
        })
        .await?;
    check_visible(ctx, &reads.app)?;
    Ok(reads)
}

/// The application `id` if the viewer may see it; others get "not found",
/// which tells nothing about whether it exists.
pub async fn load_visible(state: &AppState, ctx: &Ctx, id: &str) -> AppResult<Application> {
    // Who asks first: an anonymous request is sent to log in, whatever the id.
    ctx.require_user()?;
    let app = applications::by_id(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    check_visible(ctx, &app)?;
    Ok(app)
}

fn check_visible(ctx: &Ctx, app: &Application) -> AppResult<()> {
    let user = ctx.require_user()?;
    let visible = match user.role {
        Role::Enterprise => app.enterprise_id == user.id,
        Role::City => {
            app.state != AppStateKind::Draft
                && user.city_code.as_deref() == Some(app.city_code.as_str())
        }
        Role::Province => app.state != AppStateKind::Draft,
        // Experts read applications only in their own room (blind when so set);
        // the administrators never (三权分立).
        Role::Expert | Role::SysAdmin | Role::SecAdmin | Role::Auditor => false,
    };
    if visible {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// The application `id` if it is the viewer's own (enterprise accounts only).
pub(super) async fn load_own(state: &AppState, ctx: &Ctx, id: &str) -> AppResult<Application> {
    ctx.require_role(Role::Enterprise)?;
    load_visible(state, ctx, id).await
}

async fn current_batch(state: &AppState) -> AppResult<BatchRow> {
    batches::current(&state.db, state.clock.now())
        .await?
        .ok_or_else(|| AppError::BadRequest("当前没有开放申报的批次。".into()))
}

/// The enterprise's deadline: for an application returned with a
/// resubmission deadline, that one; else its city's (or the batch's).
pub async fn deadline_for(state: &AppState, app: &Application) -> AppResult<i64> {
    if app.state == AppStateKind::Returned
        && let Some(d) = crate::store::screening::resubmit_deadline(&state.db, &app.id).await?
    {
        return Ok(d);
    }
    batches::city_enterprise_deadline(&state.db, &app.batch_id, &app.city_code)
        .await?
        .ok_or(AppError::NotFound)
}

// ───────────────────────────── eligibility ─────────────────────────────

pub struct Declaration {
    pub key: String,
    pub label: String,
    pub text: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "apply/start.html")]
struct StartPage {
    page: Page,
    batch: BatchRow,
    enterprise: Enterprise,
    deadline: String,
    /// Reasons the enterprise cannot apply, explained before it fills anything.
    blockers: Vec<String>,
    declarations: Vec<Declaration>,
    error: String,
}

async fn eligibility_blockers(
    state: &AppState,
    e: &Enterprise,
    batch: &BatchRow,
    deadline: i64,
) -> AppResult<Vec<String>> {
    let mut out = Vec::new();
    if let Err(err) = CreditCode::parse_hubei(&e.credit_code) {
        out.push(format!("统一社会信用代码不符合申报要求：{err}"));
    }
    if let Some((name, note)) = applications::benchmark_listed(&state.db, &e.credit_code).await? {
        out.push(format!(
            "贵单位（{name}）已是湖北省上云标杆企业{}。根据通知“二、申报要求（五）”，已经成为湖北省上云标杆企业的不再申报。",
            if note.is_empty() { String::new() } else { format!("（{note}）") }
        ));
    }
    if applications::for_credit_code(&state.db, &batch.id, &e.credit_code)
        .await?
        .is_some()
    {
        out.push("该统一社会信用代码在本批次已有申报书，每个企业每批次只能申报一次。".into());
    }
    let now = state.clock.now();
    if now > deadline {
        out.push(format!(
            "本批次所在市州的申报截止时间为{}，已截止。",
            clock::format_deadline(deadline)
        ));
    } else if now < batch.opens_at {
        out.push(format!(
            "本批次将于{}开始申报。",
            clock::format_deadline(batch.opens_at)
        ));
    }
    Ok(out)
}

async fn start_context(state: &AppState, ctx: &Ctx) -> AppResult<(BatchRow, Enterprise, i64)> {
    let user = ctx.require_role(Role::Enterprise)?;
    let enterprise = users::enterprise(&state.db, &user.id)
        .await?
        .ok_or(AppError::Forbidden)?;
    let batch = current_batch(state).await?;
    let deadline = batches::city_enterprise_deadline(&state.db, &batch.id, &enterprise.city_code)
        .await?
        .unwrap_or(batch.enterprise_deadline);
    Ok((batch, enterprise, deadline))
}

fn declarations(state: &AppState, checked: &[String]) -> Vec<Declaration> {
    state
        .program
        .program
        .declarations
        .iter()
        .map(|d| Declaration {
            key: d.key.clone(),
            label: d.label.clone(),
            text: d.text.clone(),
            checked: checked.contains(&d.key),
        })
        .collect()
}

async fn start_page(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let (batch, enterprise, deadline) = start_context(&state, &ctx).await?;
    let state = state.for_batch(&batch.id).await?;
    let user = ctx.require_user()?;
    if let Some(app) = applications::for_enterprise(&state.db, &batch.id, &user.id).await? {
        return Ok(Redirect::to(&format!("/apply/{}", app.id)).into_response());
    }
    let blockers = eligibility_blockers(&state, &enterprise, &batch, deadline).await?;
    let page = StartPage {
        page: Page::new(&state, &ctx, "申报资格确认"),
        deadline: clock::format_deadline(deadline),
        batch,
        enterprise,
        blockers,
        declarations: declarations(&state, &[]),
        error: String::new(),
    };
    Ok(Html(page.render()?).into_response())
}

async fn start(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (batch, enterprise, deadline) = start_context(&state, &ctx).await?;
    let user = ctx.require_user()?.clone();
    let state = state.for_batch(&batch.id).await?;
    if let Some(app) = applications::for_enterprise(&state.db, &batch.id, &user.id).await? {
        return Ok(Redirect::to(&format!("/apply/{}", app.id)).into_response());
    }
    let blockers = eligibility_blockers(&state, &enterprise, &batch, deadline).await?;
    let checked: Vec<String> = pairs
        .iter()
        .filter(|(k, v)| k == "declaration" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect();
    let all = state
        .program
        .program
        .declarations
        .iter()
        .all(|d| checked.contains(&d.key));
    if !blockers.is_empty() || !all {
        let page = StartPage {
            page: Page::new(&state, &ctx, "申报资格确认"),
            deadline: clock::format_deadline(deadline),
            declarations: declarations(&state, &checked),
            batch,
            enterprise,
            blockers,
            error: if all {
                String::new()
            } else {
                "请逐项确认全部申报条件。不符合条件的企业请勿申报。".into()
            },
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
    }
    let id = new_id();
    let content = initial_content(&state, &enterprise, &checked);
    let prefix = batches::number_prefix(&batches::all(&state.db).await?, &batch);
    let now = state.clock.now();
    let mut b = Batch::new();
    applications::insert(
        &mut b,
        &NewApplication {
            id: &id,
            batch_id: &batch.id,
            enterprise_id: &user.id,
            credit_code: &enterprise.credit_code,
            enterprise_name: &enterprise.name,
            city_code: &enterprise.city_code,
            county_code: &enterprise.county_code,
            content: &content.to_string(),
            declarations: &serde_json::to_string(&checked).unwrap_or_default(),
            number_prefix: &prefix,
        },
        &ctx.actor(),
        now,
    );
    match state.db.write(b).await {
        Ok(_) => Ok(Redirect::to(&format!("/apply/{id}")).into_response()),
        // Two tabs starting at once: the other one won.
        Err(StoreError::Unique(_)) => Ok(Redirect::to("/apply").into_response()),
        Err(e) => Err(e.into()),
    }
}

/// A new draft starts with what registration already knows.
fn initial_content(state: &AppState, e: &Enterprise, declared: &[String]) -> Value {
    let mut eligibility = serde_json::Map::new();
    for d in &state.program.program.declarations {
        eligibility.insert(d.key.clone(), Value::Bool(declared.contains(&d.key)));
    }
    serde_json::json!({
        "company_name": e.name,
        "credit_code": e.credit_code,
        "region": { "city": e.city_code, "county": e.county_code },
        "contact_name": e.contact_name,
        "contact_mobile": e.mobile,
        "contact_email": e.email,
        "eligibility": eligibility,
    })
}

/// The name, code and city that [`initial_content`] fills in are the
/// registration's, and stay so: an application goes to the city its
/// enterprise registered in, under its registered name and code. A renamed
/// or moved enterprise has its registration changed first.
fn registration_issues(app: &Application, answers: &Value) -> Vec<form::Issue> {
    let text = |k: &str| answers.get(k).and_then(Value::as_str).unwrap_or("").trim();
    let mut out = Vec::new();
    let name = text("company_name");
    if !name.is_empty() && name != app.enterprise_name {
        out.push(form::Issue {
            field: "company_name".into(),
            label: "企业名称".into(),
            message: format!(
                "应与注册的企业名称“{}”一致。企业已更名的，请在工作台“变更企业名称”提交申请，经所在市州经信局审核同意后再提交。",
                app.enterprise_name
            ),
        });
    }
    let code = text("credit_code").to_uppercase().replace('-', "");
    // A 9-character 组织机构代码 is the registered code's characters 9–17.
    let org_code = app.credit_code.get(8..17).unwrap_or("");
    if !code.is_empty() && code != app.credit_code && code != org_code {
        out.push(form::Issue {
            field: "credit_code".into(),
            label: "组织机构代码".into(),
            message: format!(
                "应为注册的统一社会信用代码 {}（或其中的组织机构代码 {}）。",
                app.credit_code, org_code
            ),
        });
    }
    let region = answers.get("region");
    let city = region
        .and_then(|r| r.get("city"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if !city.is_empty() && city != app.city_code {
        out.push(form::Issue {
            field: "region".into(),
            label: "所属地区".into(),
            message: format!(
                "应在注册所在的{}。企业迁址的，请先由原市州经信局办理迁出、变更注册信息后再申报。",
                crate::domain::region::city(&app.city_code).map_or("市州", |c| c.name)
            ),
        });
    }
    out
}

// ───────────────────────────── the form ─────────────────────────────

pub struct SlotView {
    pub key: String,
    pub label: String,
    pub hint: String,
    pub required: bool,
    pub types: String,
    pub max_size: String,
    pub max_count: usize,
    /// The largest file this slot takes, in bytes (checked in the browser
    /// before sending, and by the server as the file streams in).
    pub max_bytes: u64,
    pub files: Vec<Attachment>,
    /// Why this slot blocks submission, when the page shows the check.
    pub error: String,
    /// The answer to the last upload or delete in this slot, shown in it.
    pub message: String,
    /// Whether [`SlotView::message`] says it went well.
    pub message_ok: bool,
}

/// An upload's or delete's answer, shown in its slot.
pub struct SlotMessage<'a> {
    pub slot: &'a str,
    pub text: String,
    pub ok: bool,
}

pub fn slot_views(
    state: &AppState,
    files: &[Attachment],
    report: Option<&Report>,
) -> Vec<SlotView> {
    let mut out = Vec::new();
    for slot in state.program.form.attachments() {
        let limit = (slot.max_size_mb as u64 * crate::config::MB).min(state.config.max_file_bytes);
        let per_year = !slot.per_year.is_empty();
        for (key, label) in slot.upload_keys() {
            let error = report
                .and_then(|r| r.errors.iter().find(|i| i.field == format!("slot-{key}")))
                .map(|i| i.message.clone())
                .unwrap_or_default();
            out.push(SlotView {
                error,
                files: files.iter().filter(|f| f.slot == key).cloned().collect(),
                key,
                label,
                // A per-year slot's label already names its year.
                hint: if per_year {
                    String::new()
                } else {
                    slot.hint.clone().unwrap_or_default()
                },
                required: slot.required,
                types: slot
                    .types
                    .iter()
                    .map(|t| t.to_uppercase())
                    .collect::<Vec<_>>()
                    .join("、"),
                max_size: crate::files::human_size(limit),
                max_count: slot.max_count,
                max_bytes: limit,
                message: String::new(),
                message_ok: false,
            });
        }
    }
    out
}

#[derive(Template)]
#[template(path = "apply/form.html")]
pub struct FormPage {
    pub page: Page,
    /// The batch's name as its definition gives it (第二批湖北省上云标杆企业).
    pub batch_name: String,
    pub app: Application,
    pub editable: bool,
    pub version: i64,
    pub deadline: String,
    pub notice: String,
    pub conflict: String,
    /// Values both this page and another saved differently (to choose from).
    pub conflicts: Vec<ConflictView>,
    pub summary_html: String,
    /// The table of contents with each section's state (editable forms).
    pub nav_html: std::sync::Arc<str>,
    pub form_html: std::sync::Arc<str>,
    pub slots: Vec<SlotView>,
    pub events: Vec<Event>,
    pub submitted_at: String,
    pub created_at: String,
}

#[derive(Deserialize, Default)]
struct FormQuery {
    #[serde(default)]
    saved: Option<i64>,
    #[serde(default)]
    check: Option<String>,
    /// A save merged with another page's save (`merge_with_current`).
    #[serde(default)]
    merged: Option<String>,
    #[serde(default)]
    uploaded: Option<String>,
    #[serde(default)]
    submitted: Option<String>,
    #[serde(default)]
    deleted: Option<String>,
    /// The attachment slot an upload or delete answered for.
    #[serde(default)]
    slot: Option<String>,
}

/// A value two saves changed differently: what this page holds and what
/// the other saved.
pub struct ConflictView {
    pub path: String,
    pub label: String,
    pub mine: String,
    pub theirs: String,
}

/// A value as one line of text, its parts as the version comparison
/// writes them (a table's cells joined).
fn shown(v: Option<&Value>) -> String {
    let mut parts = Vec::new();
    if let Some(v) = v {
        versions::flatten(v, "", &mut parts);
    }
    let text: Vec<String> = parts
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| !t.trim().is_empty())
        .collect();
    if text.is_empty() {
        "（空）".into()
    } else {
        text.join("；")
    }
}

/// Section navigation HTML kept per application, version, attachments and
/// day (what its states depend on), so a page view that needs no messages
/// does not validate the whole form again.
static NAV: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<str>>>,
> = std::sync::LazyLock::new(Default::default);
const NAV_ENTRIES: usize = 4096;

async fn section_nav(
    state: &AppState,
    app: &Application,
    version: i64,
    report: Option<&Report>,
    answers: Option<&Value>,
    files: &[Attachment],
) -> AppResult<std::sync::Arc<str>> {
    let files_at = files.iter().map(|f| f.created_at).max().unwrap_or(0);
    let key = format!(
        "{}:{version}:{}:{files_at}:{}",
        app.id,
        files.len(),
        state.today()
    );
    if let Some(html) = NAV.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(html);
    }
    let html: std::sync::Arc<str> = match report {
        Some(r) => form_html::section_nav(&state.program.form, r),
        None => {
            // The page's own answers when it has them, else the stored ones.
            let loaded;
            let answers = match answers {
                Some(a) => a,
                None => {
                    loaded = current_answers(state, app).await?.1;
                    &loaded
                }
            };
            let r = report_with_attachments(state, app, answers, files);
            form_html::section_nav(&state.program.form, &r)
        }
    }
    .into();
    if let Ok(mut m) = NAV.lock() {
        if m.len() >= NAV_ENTRIES {
            m.clear();
        }
        m.insert(key, html.clone());
    }
    Ok(html)
}

/// Whether `ctx` sees `app` as an editable form (its owner, in draft or returned).
fn editable_by(app: &Application, ctx: &Ctx) -> bool {
    app.state.editable() && ctx.user.as_ref().is_some_and(|u| u.id == app.enterprise_id)
}

/// The form's HTML: already rendered for this version, or from its answers.
enum FormBody<'a> {
    Rendered(std::sync::Arc<str>),
    Answers(&'a Value),
}

#[allow(clippy::too_many_arguments)]
async fn render_form(
    state: &AppState,
    ctx: &Ctx,
    app: Application,
    body: FormBody<'_>,
    version: i64,
    report: Option<&Report>,
    mut notice: String,
    conflict: (String, Vec<ConflictView>),
    slot_message: Option<SlotMessage<'_>>,
    read: Option<&FormReads>,
) -> AppResult<String> {
    let (conflict, conflicts) = conflict;
    let editable = editable_by(&app, ctx);
    let (files, events, deadline) = match read {
        Some(r) => (r.files.clone(), r.events.clone(), r.deadline),
        None => (
            attachments::for_application(&state.db, &app.id).await?,
            applications::events(&state.db, &app.id).await?,
            deadline_for(state, &app).await?,
        ),
    };
    // The summary sits on the same page as the fields it links to.
    let base = String::new();
    // A stored version without messages renders the same every time.
    // The stored version's answers, when the page shows them as stored.
    let stored = match body {
        FormBody::Answers(a) if conflict.is_empty() => Some(a),
        _ => None,
    };
    let form_html = match body {
        FormBody::Rendered(html) => html,
        FormBody::Answers(answers) if report.is_none() && conflict.is_empty() => {
            form_html::render_version(&state.program.form, &app.id, version, answers, editable)
        }
        FormBody::Answers(answers) => {
            form_html::render(&state.program.form, answers, report, editable).into()
        }
    };
    let nav_html = if editable {
        section_nav(state, &app, version, report, stored, &files).await?
    } else {
        std::sync::Arc::from("")
    };
    let mut slots = slot_views(state, &files, report);
    // An upload's answer goes to its slot, where the user is; the top of
    // the page only when the slot is not known.
    if let Some(m) = slot_message {
        match slots.iter_mut().find(|s| s.key == m.slot) {
            Some(s) => {
                s.message = m.text;
                s.message_ok = m.ok;
            }
            None => notice = m.text,
        }
    }
    let page = FormPage {
        batch_name: state.program.program.batch.name.clone(),
        nav_html,
        page: Page::new(state, ctx, format!("申报书：{}", app.enterprise_name)),
        editable,
        version,
        deadline: clock::format_deadline(deadline),
        notice,
        conflict,
        conflicts,
        summary_html: report
            .map(|r| form_html::summary(r, &base))
            .unwrap_or_default(),
        form_html,
        slots,
        events,
        submitted_at: app
            .submitted_at
            .map(clock::format_datetime)
            .unwrap_or_default(),
        created_at: clock::format_datetime(app.created_at),
        app,
    };
    Ok(page.render()?)
}

/// The answers shown for `app`: the draft, or for a submitted application its snapshot.
pub async fn current_answers(state: &AppState, app: &Application) -> AppResult<(i64, Value)> {
    applications::content(&state.db, &app.id)
        .await?
        .ok_or(AppError::NotFound)
}

pub(super) fn report_with_attachments(
    state: &AppState,
    app: &Application,
    answers: &Value,
    files: &[Attachment],
) -> Report {
    let mut report = form::validate(&state.program.form, answers, state.today());
    report.errors.extend(registration_issues(app, answers));
    let mut counts: Vec<(String, usize)> = Vec::new();
    for f in files {
        match counts.iter_mut().find(|(k, _)| *k == f.slot) {
            Some((_, n)) => *n += 1,
            None => counts.push((f.slot.clone(), 1)),
        }
    }
    for mut issue in form::missing_attachments(&state.program.form, answers, &counts) {
        issue.field = format!("slot-{}", issue.field);
        report.errors.push(issue);
    }
    report
}

async fn form_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<FormQuery>,
) -> AppResult<Response> {
    let read = form_reads(&state, &ctx, &id).await?;
    let app = read.app.clone();
    let state = state.for_batch(&app.batch_id).await?;
    let show_report = q.saved.is_some() || q.check.is_some();
    // A version already rendered needs neither its content read nor parsed.
    let rendered = if show_report {
        None
    } else {
        form_html::rendered(&app.id, app.version, editable_by(&app, &ctx))
    };
    let (version, answers) = match rendered {
        Some(_) => (app.version, Value::Null),
        None => current_answers(&state, &app).await?,
    };
    let mut notice = String::new();
    if let Some(v) = q.saved {
        notice = format!(
            "草稿已保存（第{v}版，{}）。下方列出了提交前还需完善的内容，草稿可随时继续修改。",
            clock::format_time(state.clock.now())
        );
        if q.merged.is_some() {
            notice = format!(
                "草稿已保存（第{v}版，{}）：其他页面或设备在此期间保存的修改已一并合并保留，下方为合并后的内容。",
                clock::format_time(state.clock.now())
            );
        }
    }
    let slot = q.slot.as_deref().unwrap_or("");
    let mut slot_message = None;
    if q.uploaded.is_some() {
        slot_message = Some(SlotMessage {
            slot,
            text: "附件已上传。".into(),
            ok: true,
        });
    }
    if q.deleted.is_some() {
        slot_message = Some(SlotMessage {
            slot,
            text: "附件已删除。".into(),
            ok: true,
        });
    }
    if q.submitted.is_some() {
        notice = format!(
            "申报书已提交至所在市州经信局。提交版本指纹：{}（与盖章扫描件页脚所印指纹一致，市州审核时核对）。",
            app.fingerprint.clone().unwrap_or_default()
        );
    }
    // A refused upload or delete (`attachments::answer`): at its slot, or
    // at the top when it names none.
    if let Some(f) = &ctx.flash {
        if f.field == "attachments" {
            notice = f.message.clone();
        } else if let Some(key) = f.field.strip_prefix("slot:") {
            slot_message = Some(SlotMessage {
                slot: key,
                text: f.message.clone(),
                ok: false,
            });
        }
    }
    let report = if show_report && app.state.editable() {
        let files = attachments::for_application(&state.db, &app.id).await?;
        Some(report_with_attachments(&state, &app, &answers, &files))
    } else {
        None
    };
    Ok(Html(
        render_form(
            &state,
            &ctx,
            app,
            match rendered {
                Some(html) => FormBody::Rendered(html),
                None => FormBody::Answers(&answers),
            },
            version,
            report.as_ref(),
            notice,
            (String::new(), Vec::new()),
            slot_message,
            Some(&read),
        )
        .await?,
    )
    .into_response())
}

pub(super) fn posted_version<'a>(mut pairs: impl Iterator<Item = (&'a str, &'a str)>) -> i64 {
    pairs
        .find(|(k, _)| *k == "_version")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// Saves the posted form as the working copy (`keep`: whether a version is
/// kept). Ownership, state and version are all checked by the conditional
/// UPDATE itself, so the hot path reads nothing before writing.
async fn do_save<'a>(
    state: &'a AppState,
    ctx: &Ctx,
    id: &str,
    form: &'a form_io::Form,
    keep: Keep,
) -> AppResult<(SaveOutcome, form_io::Answer<'a>)> {
    save_pairs(
        state,
        ctx,
        id,
        posted_version(form.pairs()),
        form.pairs(),
        keep,
    )
    .await
}

/// Saves `pairs` (posted names and values) as the version after `expected`.
async fn save_pairs<'a>(
    state: &'a AppState,
    ctx: &Ctx,
    id: &str,
    expected: i64,
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    keep: Keep,
) -> AppResult<(SaveOutcome, form_io::Answer<'a>)> {
    let answers = form_io::answers(&state.form_plan, pairs);
    let (industry, _, county) = answers.summary();
    let user = ctx.require_user()?;
    let draft = answers.to_json();
    if draft.len() > state.config.max_draft_bytes {
        return Err(AppError::BadRequest(format!(
            "申报书内容过大（{}，上限{}），本次未保存：请删减过长的文字后再保存。已保存的版本不受影响。",
            crate::files::human_size(draft.len() as u64),
            crate::files::human_size(state.config.max_draft_bytes as u64)
        )));
    }
    let outcome = applications::save_draft(
        &state.db,
        id,
        &user.id,
        expected,
        draft,
        keep,
        &DraftSummary {
            industry: &industry,
            county_code: county,
        },
        &user.username,
        state.clock.now(),
    )
    .await?;
    Ok((outcome, answers))
}

async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    ctx.require_role(Role::Enterprise)?;
    let state = state.for_application(&id).await?;
    let form = form_io::parse_form(&body);
    if form.has("_take") {
        return save_taking_theirs(&state, &ctx, &id, &form).await;
    }
    let (outcome, answers) = do_save(&state, &ctx, &id, &form, Keep::Always).await?;
    answer_save(&state, &ctx, &id, &form, outcome, || answers.to_value()).await
}

/// The answer to a form save: on to the page (or the submission), or, when
/// another page saved first, the merge of both (`mine` is what was posted).
async fn answer_save(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    form: &form_io::Form,
    outcome: SaveOutcome,
    mine: impl FnOnce() -> Value,
) -> AppResult<Response> {
    match outcome {
        SaveOutcome::Saved { version } => Ok(saved(id, form, version, false)),
        SaveOutcome::Stale { .. } => merge_with_current(state, ctx, id, form, mine()).await,
        SaveOutcome::NotEditable(s) => Err(AppError::BadRequest(format!(
            "申报书当前状态为“{}”，不能修改。",
            s.label()
        ))),
        SaveOutcome::NotFound => Err(AppError::NotFound),
    }
}

/// Where a saved form goes next.
fn saved(id: &str, form: &form_io::Form, version: i64, merged: bool) -> Response {
    let to = if form.has("_then_submit") {
        format!("/apply/{id}/submit")
    } else if merged {
        format!("/apply/{id}?saved={version}&merged=1#top")
    } else {
        format!("/apply/{id}?saved={version}#top")
    };
    Redirect::to(&to).into_response()
}

/// A save made from an older version than the stored one (another tab or
/// device saved meanwhile): the changes of both against their common
/// version are merged and saved. Values both changed differently are shown
/// side by side, this page's value in the form, to choose from; nothing
/// typed is lost and nothing of the other save is reverted.
async fn merge_with_current(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    form: &form_io::Form,
    mine: Value,
) -> AppResult<Response> {
    let app = load_own(state, ctx, id).await?;
    let (current, theirs) = current_answers(state, &app).await?;
    // The version this page was loaded from, or (an autosave not kept) the
    // newest kept before it: an older base only asks about more fields.
    let base = merge_base(state, id, posted_version(form.pairs())).await?;
    let Some(base) = base else {
        // No common version to merge from: keep this page's text on screen.
        let message = format!(
            "此申报书已在其他页面或设备上保存过（当前为第{current}版），您这次的修改尚未保存。下方保留了您刚才填写的内容；\
             如确认以此为准，请再次点击“保存草稿”；如需查看对方保存的内容，请在新标签页打开“版本记录”。"
        );
        let body = render_form(
            state,
            ctx,
            app,
            FormBody::Answers(&mine),
            current,
            None,
            String::new(),
            (message, Vec::new()),
            None,
            None,
        )
        .await?;
        return Ok((StatusCode::CONFLICT, Html(body)).into_response());
    };
    let m = form::merge::merge3(&base, &mine, &theirs);
    if m.conflicts.is_empty() {
        let pairs = form_io::pairs_from_answers(&state.program.form, &m.value);
        let refs = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let (outcome, _) = save_pairs(state, ctx, id, current, refs, Keep::Always).await?;
        if let SaveOutcome::Saved { version } = outcome {
            return Ok(saved(id, form, version, true));
        }
    }
    let conflicts: Vec<ConflictView> = m
        .conflicts
        .iter()
        .map(|p| ConflictView {
            label: state.program.form.path_label(p),
            mine: shown(form::merge::at_path(&mine, p)),
            theirs: shown(form::merge::at_path(&theirs, p)),
            path: p.clone(),
        })
        .collect();
    let message = format!(
        "此申报书已在其他页面或设备上保存为第{current}版，与您这次的修改有{}处冲突，本次尚未保存。\
         双方修改的其他内容已合并到下方表单。请逐项选择保留哪一方的内容，再点击“保存草稿”。",
        conflicts.len()
    );
    let body = render_form(
        state,
        ctx,
        app,
        FormBody::Answers(&m.value),
        current,
        None,
        String::new(),
        (message, conflicts),
        None,
        None,
    )
    .await?;
    Ok((StatusCode::CONFLICT, Html(body)).into_response())
}

/// A save after a conflict, where the user chose the other save's value for
/// some fields (`_take`): those are taken from the other save (`_theirs`,
/// the version the conflict was shown against), the rest as posted.
async fn save_taking_theirs(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    form: &form_io::Form,
) -> AppResult<Response> {
    let expected = posted_version(form.pairs());
    let theirs_version = form
        .pairs()
        .find(|(k, _)| *k == "_theirs")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(expected);
    // That version, or when another autosave has since replaced it (not
    // kept), the other side's newest answers.
    let theirs = match version_answers(state, id, theirs_version).await {
        Err(AppError::NotFound) => {
            let app = load_own(state, ctx, id).await?;
            current_answers(state, &app).await?.1
        }
        other => other?,
    };
    let mut value = form_io::answers(&state.form_plan, form.pairs()).to_value();
    for (_, path) in form.pairs().filter(|(k, _)| *k == "_take") {
        let taken = form::merge::at_path(&theirs, path)
            .cloned()
            .unwrap_or(Value::Null);
        form::merge::set_path(&mut value, path, taken);
    }
    let pairs = form_io::pairs_from_answers(&state.program.form, &value);
    let refs = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let (outcome, _) = save_pairs(state, ctx, id, expected, refs, Keep::Always).await?;
    answer_save(state, ctx, id, form, outcome, || value).await
}

/// Whether the body is declared JSON (read off the headers, not copying them).
struct IsJson(bool);

impl<S: Send + Sync> FromRequestParts<S> for IsJson {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ct = parts.headers.get(header::CONTENT_TYPE);
        Ok(IsJson(ct.is_some_and(|v| {
            v.as_bytes().starts_with(b"application/json")
        })))
    }
}

/// htmx autosave: a small status fragment, plus the new version number out of band.
async fn autosave(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    IsJson(json): IsJson,
    body: Bytes,
) -> AppResult<Response> {
    ctx.require_role(Role::Enterprise)?;
    // app.js sends JSON pairs; a plain urlencoded form body is read too.
    let form = if json {
        form_io::parse_json_pairs(&body).ok_or_else(|| {
            AppError::BadRequest(
                "自动保存的内容格式不正确，本次未保存；请刷新页面后再试，已保存的版本不受影响。"
                    .into(),
            )
        })?
    } else {
        form_io::parse_form(&body)
    };
    let state = state.for_application(&id).await?;
    let (outcome, _) = do_save(&state, &ctx, &id, &form, Keep::IfDue).await?;
    let body = match outcome {
        SaveOutcome::Saved { version } => format!(
            r#"已自动保存（第{version}版，{}）<input type="hidden" id="f-version" name="_version" value="{version}" hx-swap-oob="true">"#,
            clock::format_time(state.clock.now())
        ),
        SaveOutcome::Stale { current } => format!(
            r#"<strong class="bad">自动保存已暂停：此申报书已在其他页面保存为第{current}版。请点击“保存草稿”：双方修改的不同内容将合并保留，同一处的不同修改会请您选择。</strong>"#
        ),
        SaveOutcome::NotEditable(s) => format!(
            r#"<strong class="bad">申报书当前状态为“{}”，不能修改。</strong>"#,
            s.label()
        ),
        SaveOutcome::NotFound => return Err(AppError::NotFound),
    };
    Ok(Html(body).into_response())
}

pub use crate::web::apply::versions::{Change, changes, merge_base, version_answers};
