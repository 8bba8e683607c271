//! The enterprise's side of the program: eligibility, the 申报书 online with
//! drafts and versions, and submission to the city before its deadline.

use std::borrow::Cow;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::context::Ctx;
use super::error::{AppError, AppResult};
use super::form_html;
use super::form_io::{self, Posted};
use super::page::Page;
use crate::clock;
use crate::domain::credit_code::CreditCode;
use crate::domain::form::{self, Report};
use crate::domain::lifecycle::State as AppStateKind;
use crate::domain::role::Role;
use crate::store::applications::{
    self, Application, DraftSummary, Event, NewApplication, SaveOutcome, VersionInfo,
};
use crate::store::attachments::{self, Attachment};
use crate::store::batches::{self, BatchRow};
use crate::store::users::{self, Enterprise};
use crate::store::{Batch, StoreError, new_id};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/apply", get(start_page))
        .route("/apply/start", post(start))
        .route("/apply/{id}", get(form_page).post(save))
        .route("/apply/{id}/autosave", post(autosave))
        .route("/apply/{id}/versions", get(versions_page))
        .route("/apply/{id}/diff", get(diff_page))
        .route("/apply/{id}/submit", get(submit_page).post(submit))
}

/// The application `id` if the viewer may see it; others get "not found",
/// which tells nothing about whether it exists.
pub async fn load_visible(state: &AppState, ctx: &Ctx, id: &str) -> AppResult<Application> {
    let user = ctx.require_user()?;
    let app = applications::by_id(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let visible = match user.role {
        Role::Enterprise => app.enterprise_id == user.id,
        Role::City => {
            app.state != AppStateKind::Draft
                && user.city_code.as_deref() == Some(app.city_code.as_str())
        }
        Role::Province => app.state != AppStateKind::Draft,
        Role::Expert => false,
    };
    if visible {
        Ok(app)
    } else {
        Err(AppError::NotFound)
    }
}

/// The application `id` if it is the viewer's own (enterprise accounts only).
async fn load_own(state: &AppState, ctx: &Ctx, id: &str) -> AppResult<Application> {
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
    let batch = batches::by_id(&state.db, &app.batch_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(batches::enterprise_deadline(&state.db, &batch, &app.city_code).await?)
}

// ───────────────────────────── eligibility ─────────────────────────────

pub struct Declaration {
    pub key: String,
    pub label: String,
    pub text: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "apply_start.html")]
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
    let deadline = batches::enterprise_deadline(&state.db, &batch, &enterprise.city_code).await?;
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

// ───────────────────────────── the form ─────────────────────────────

pub struct SlotView {
    pub key: String,
    pub label: String,
    pub hint: String,
    pub required: bool,
    pub types: String,
    pub max_size: String,
    pub max_count: usize,
    pub files: Vec<Attachment>,
    /// Why this slot blocks submission, when the page shows the check.
    pub error: String,
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
            });
        }
    }
    out
}

#[derive(Template)]
#[template(path = "apply_form.html")]
pub struct FormPage {
    pub page: Page,
    pub app: Application,
    pub editable: bool,
    pub version: i64,
    pub deadline: String,
    pub notice: String,
    pub conflict: String,
    pub summary_html: String,
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
    #[serde(default)]
    uploaded: Option<String>,
    #[serde(default)]
    submitted: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn render_form(
    state: &AppState,
    ctx: &Ctx,
    app: Application,
    answers: &Value,
    version: i64,
    report: Option<&Report>,
    notice: String,
    conflict: String,
) -> AppResult<String> {
    let editable =
        app.state.editable() && ctx.user.as_ref().is_some_and(|u| u.id == app.enterprise_id);
    let files = attachments::for_application(&state.db, &app.id).await?;
    let events = applications::events(&state.db, &app.id).await?;
    let deadline = deadline_for(state, &app).await?;
    // The summary sits on the same page as the fields it links to.
    let base = String::new();
    // A stored version without messages renders the same every time.
    let form_html = if report.is_none() && conflict.is_empty() {
        form_html::render_version(&state.program.form, &app.id, version, answers, editable)
    } else {
        form_html::render(&state.program.form, answers, report, editable).into()
    };
    let page = FormPage {
        page: Page::new(state, ctx, format!("申报书：{}", app.enterprise_name)),
        editable,
        version,
        deadline: clock::format_deadline(deadline),
        notice,
        conflict,
        summary_html: report
            .map(|r| form_html::summary(r, &base))
            .unwrap_or_default(),
        form_html,
        slots: slot_views(state, &files, report),
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
    let (version, content) = applications::content(&state.db, &app.id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((
        version,
        serde_json::from_str(&content).unwrap_or(Value::Object(Default::default())),
    ))
}

fn report_with_attachments(state: &AppState, answers: &Value, files: &[Attachment]) -> Report {
    let mut report = form::validate(&state.program.form, answers, state.today());
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
    let app = load_visible(&state, &ctx, &id).await?;
    let (version, answers) = current_answers(&state, &app).await?;
    let mut notice = String::new();
    if let Some(v) = q.saved {
        notice = format!(
            "草稿已保存（第{v}版，{}）。下方列出了提交前还需完善的内容，草稿可随时继续修改。",
            clock::format_time(state.clock.now())
        );
    }
    if q.uploaded.is_some() {
        notice = "附件已上传。".into();
    }
    if q.submitted.is_some() {
        notice = format!(
            "申报书已提交至所在市州经信局。提交版本指纹：{}（与盖章扫描件页脚所印指纹一致，市州审核时核对）。",
            app.fingerprint.clone().unwrap_or_default()
        );
    }
    if let Some(e) = q.error {
        notice = e.chars().take(300).collect();
    }
    let show_report = q.saved.is_some() || q.check.is_some();
    let report = if show_report && app.state.editable() {
        let files = attachments::for_application(&state.db, &app.id).await?;
        Some(report_with_attachments(&state, &answers, &files))
    } else {
        None
    };
    Ok(Html(
        render_form(
            &state,
            &ctx,
            app,
            &answers,
            version,
            report.as_ref(),
            notice,
            String::new(),
        )
        .await?,
    )
    .into_response())
}

fn posted_version<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> i64 {
    pairs
        .iter()
        .find(|(k, _)| k.as_ref() == "_version")
        .and_then(|(_, v)| v.as_ref().parse().ok())
        .unwrap_or(0)
}

/// Decodes an urlencoded form body, borrowing where nothing was escaped
/// (the hot path of the deadline rush: drafts of several kilobytes).
fn form_pairs(body: &[u8]) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    form_urlencoded::parse(body).collect()
}

/// Saves the posted form as a new draft version. Ownership, state and version
/// are all checked by the conditional UPDATE itself, so the hot path reads
/// nothing before writing.
async fn do_save(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    pairs: &[(Cow<'_, str>, Cow<'_, str>)],
) -> AppResult<(SaveOutcome, Value)> {
    let posted = Posted::new(pairs);
    let answers = form_io::answers_from_form(&state.program.form, &posted);
    let (industry, city, county) = form_io::summary(&answers);
    let user = ctx.require_user()?;
    let outcome = applications::save_draft(
        &state.db,
        id,
        &user.id,
        posted_version(pairs),
        &answers.to_string(),
        &DraftSummary {
            industry: &industry,
            city_code: &city,
            county_code: &county,
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
    let pairs = form_pairs(&body);
    ctx.require_role(Role::Enterprise)?;
    let (outcome, answers) = do_save(&state, &ctx, &id, &pairs).await?;
    match outcome {
        SaveOutcome::Saved { version } => {
            let to = if pairs.iter().any(|(k, _)| k == "_then_submit") {
                format!("/apply/{id}/submit")
            } else {
                format!("/apply/{id}?saved={version}#top")
            };
            Ok(Redirect::to(&to).into_response())
        }
        SaveOutcome::Stale { current } => {
            // Keep what was typed on screen; nothing of it is lost, nothing overwritten.
            let conflict = format!(
                "此申报书已在其他页面或设备上保存过（当前为第{current}版），您这次的修改尚未保存。下方保留了您刚才填写的内容；\
                 如确认以此为准，请再次点击“保存草稿”覆盖；如需查看对方保存的内容，请在新标签页打开“版本记录”。"
            );
            let app = load_own(&state, &ctx, &id).await?;
            let body = render_form(
                &state,
                &ctx,
                app,
                &answers,
                current,
                None,
                String::new(),
                conflict,
            )
            .await?;
            Ok((StatusCode::CONFLICT, Html(body)).into_response())
        }
        SaveOutcome::NotEditable(s) => Err(AppError::BadRequest(format!(
            "申报书当前状态为“{}”，不能修改。",
            s.label()
        ))),
        SaveOutcome::NotFound => Err(AppError::NotFound),
    }
}

/// htmx autosave: a small status fragment, plus the new version number out of band.
async fn autosave(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let pairs = form_pairs(&body);
    ctx.require_role(Role::Enterprise)?;
    let (outcome, _) = do_save(&state, &ctx, &id, &pairs).await?;
    let body = match outcome {
        SaveOutcome::Saved { version } => format!(
            r#"已自动保存（第{version}版，{}）<input type="hidden" id="f-version" name="_version" value="{version}" hx-swap-oob="true">"#,
            clock::format_time(state.clock.now())
        ),
        SaveOutcome::Stale { current } => format!(
            r#"<strong class="bad">自动保存已暂停：此申报书已在其他页面保存为第{current}版。请点击“保存草稿”，确认后以本页内容为准。</strong>"#
        ),
        SaveOutcome::NotEditable(s) => format!(
            r#"<strong class="bad">申报书当前状态为“{}”，不能修改。</strong>"#,
            s.label()
        ),
        SaveOutcome::NotFound => return Err(AppError::NotFound),
    };
    Ok(Html(body).into_response())
}

// ───────────────────────────── versions ─────────────────────────────

#[derive(Template)]
#[template(path = "apply_versions.html")]
struct VersionsPage {
    page: Page,
    app: Application,
    versions: Vec<VersionInfo>,
}

async fn versions_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Html<String>> {
    let app = load_visible(&state, &ctx, &id).await?;
    let versions = applications::versions(&state.db, &id).await?;
    let page = VersionsPage {
        page: Page::new(&state, &ctx, "版本记录"),
        app,
        versions,
    };
    Ok(Html(page.render()?))
}

pub struct Change {
    pub label: String,
    pub before: String,
    pub after: String,
}

#[derive(Template)]
#[template(path = "apply_diff.html")]
struct DiffPage {
    page: Page,
    app: Application,
    a: i64,
    b: i64,
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct DiffQuery {
    a: i64,
    b: i64,
}

/// The answers of a stored version (a submitted snapshot holds them under `content`).
pub async fn version_answers(state: &AppState, id: &str, v: i64) -> AppResult<Value> {
    let (kind, text) = applications::version_content(&state.db, id, v)
        .await?
        .ok_or(AppError::NotFound)?;
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(if kind == "submitted" {
        value.get("content").cloned().unwrap_or(Value::Null)
    } else {
        value
    })
}

fn flatten(v: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(x, &p, out);
            }
        }
        Value::Array(a) if a.iter().all(|x| x.is_string()) => {
            out.push((
                prefix.to_string(),
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("、"),
            ));
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten(x, &format!("{prefix}.{i}"), out);
            }
        }
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        Value::Bool(b) => out.push((prefix.to_string(), if *b { "是" } else { "否" }.into())),
        Value::Number(n) => out.push((prefix.to_string(), n.to_string())),
        Value::Null => {}
    }
}

/// A readable label for an answer path: the field's label and the rest of the path.
fn path_label(state: &AppState, path: &str) -> String {
    let (head, rest) = path.split_once('.').unwrap_or((path, ""));
    let label = state
        .program
        .form
        .field(head)
        .map_or(head.to_string(), |f| f.label.clone());
    if rest.is_empty() {
        label
    } else {
        format!("{label} › {rest}")
    }
}

/// What changed between two answer documents, field by field.
pub fn changes(state: &AppState, before: &Value, after: &Value) -> Vec<Change> {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    flatten(before, "", &mut a);
    flatten(after, "", &mut b);
    let mut keys: Vec<&String> = a
        .iter()
        .map(|x| &x.0)
        .chain(b.iter().map(|x| &x.0))
        .collect();
    keys.sort();
    keys.dedup();
    let get = |v: &[(String, String)], k: &str| {
        v.iter()
            .find(|x| x.0 == k)
            .map(|x| x.1.clone())
            .unwrap_or_default()
    };
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (get(&a, k), get(&b, k));
            (x.trim() != y.trim()).then(|| Change {
                label: path_label(state, k),
                before: x,
                after: y,
            })
        })
        .collect()
}

async fn diff_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<DiffQuery>,
) -> AppResult<Html<String>> {
    let app = load_visible(&state, &ctx, &id).await?;
    let before = version_answers(&state, &id, q.a).await?;
    let after = version_answers(&state, &id, q.b).await?;
    let page = DiffPage {
        page: Page::new(&state, &ctx, "版本比较"),
        changes: changes(&state, &before, &after),
        app,
        a: q.a,
        b: q.b,
    };
    Ok(Html(page.render()?))
}

// ───────────────────────────── submission ─────────────────────────────

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
    let report = report_with_attachments(state, &answers, &files);
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
    } else if posted_version(&pairs) != version {
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
