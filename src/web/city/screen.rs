//! The city's view of one application (every section, attachments, submitted
//! versions with differences, fingerprint, timeline) and 形式审查: the
//! checklist and the decision — pass, return for revision, or reject.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::Value;

use crate::clock;
use crate::domain::lifecycle::State as AppStateKind;
use crate::domain::role::Role;
use crate::store::applications::{self, Application, Event, TransitionError};
use crate::store::batches;
use crate::store::screening::{self, Check, Decision, Screening};
use crate::store::{Batch, new_id, recommendations, scoring};
use crate::web::AppState;
use crate::web::apply::{self, Change};
use crate::web::city::inbox::{county_name, field, load_city_app, locked};
use crate::web::shared::context::Ctx;
use crate::web::shared::dossier::{listed, slot_label, snapshot};
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::page::{Errors, Page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/city/applications/{id}", get(view))
        .route("/city/applications/{id}/screen", post(screen))
        .route_layer(axum::middleware::from_fn(crate::web::shared::guard::city))
}

pub struct CheckView {
    pub key: String,
    pub label: String,
    pub hint: String,
    pub checked: bool,
}

pub struct SubmittedView {
    pub version: i64,
    pub fingerprint: String,
    pub at: String,
    /// The submitted version before it, to compare with (0: none).
    pub previous: i64,
}

#[derive(Template)]
#[template(path = "city/application.html")]
struct ViewPage {
    page: Page,
    app: Application,
    /// The enterprise's approved renames, with their 营业执照 (#20).
    renames: Vec<crate::store::name_changes::NameChange>,
    region: String,
    submitted_at: String,
    fingerprint: String,
    fp_short: String,
    dossier: crate::web::shared::dossier::Dossier,
    submitted: Vec<SubmittedView>,
    returned_version: i64,
    changes: Vec<Change>,
    events: Vec<Event>,
    history: Vec<Screening>,
    can_screen: bool,
    lock: String,
    checks: Vec<CheckView>,
    decision: String,
    reason: String,
    resubmit_deadline: String,
    deadline_hint: String,
    errors: Errors,
    notice: String,
    can_score: bool,
    reviewers: usize,
}

#[derive(Deserialize, Default)]
struct ViewQuery {
    #[serde(default)]
    done: Option<String>,
}

/// What the screening form held when it was posted (or nothing yet).
#[derive(Default)]
struct Posted {
    checked: Vec<String>,
    decision: String,
    reason: String,
    resubmit_deadline: String,
}

/// What changed between two submitted snapshots: answers, then attachments.
fn snapshot_changes(state: &AppState, before: &Value, after: &Value) -> Vec<Change> {
    let empty = Value::Null;
    let mut out = apply::changes(
        state,
        before.get("content").unwrap_or(&empty),
        after.get("content").unwrap_or(&empty),
    );
    let (a, b) = (listed(before), listed(after));
    let mut slots: Vec<&String> = a.iter().chain(b.iter()).map(|x| &x.0).collect();
    slots.sort();
    slots.dedup();
    for slot in slots {
        let files = |l: &[(String, String, String)]| {
            let mut v: Vec<String> = l
                .iter()
                .filter(|x| &x.0 == slot)
                .map(|x| format!("{}（{}）", x.1, x.2.get(..12).unwrap_or(&x.2)))
                .collect();
            v.sort();
            v.join("、")
        };
        let (x, y) = (files(&a), files(&b));
        if x != y {
            out.push(Change {
                label: format!("附件 › {}", slot_label(state, slot)),
                before: x,
                after: y,
            });
        }
    }
    out
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    app: Application,
    posted: Posted,
    errors: Errors,
    notice: String,
) -> AppResult<String> {
    let state = &state.for_batch(&app.batch_id).await?;
    let city = app.city_code.clone();
    let sub_v = app.submitted_version.unwrap_or(0);
    let snap = snapshot(state, &app.id, sub_v).await?;
    let dossier = crate::web::shared::dossier::from_snapshot(state, &app.id, &snap, false).await?;
    let versions = applications::versions(&state.db, &app.id).await?;
    let mut subs: Vec<_> = versions.iter().filter(|v| v.kind == "submitted").collect();
    subs.reverse();
    let submitted = subs
        .iter()
        .enumerate()
        .map(|(i, v)| SubmittedView {
            version: v.version,
            fingerprint: v.fingerprint.clone().unwrap_or_default(),
            at: v.at_text(),
            previous: if i > 0 { subs[i - 1].version } else { 0 },
        })
        .rev()
        .collect();
    let history = screening::history(&state.db, &app.id).await?;
    let returned = history
        .iter()
        .find(|s| s.decision == Decision::Returned && s.version < sub_v);
    let (returned_version, changes) = match returned {
        Some(r) => {
            let before = snapshot(state, &app.id, r.version).await?;
            (r.version, snapshot_changes(state, &before, &snap))
        }
        None => (0, Vec::new()),
    };
    let lock = locked(state, &app.batch_id, &city)
        .await?
        .unwrap_or_default();
    let items = screening::active_items(&state.db).await?;
    let checks = items
        .into_iter()
        .map(|i| CheckView {
            checked: posted.checked.contains(&i.key),
            key: i.key,
            label: i.label,
            hint: i.hint,
        })
        .collect();
    let events = applications::events(&state.db, &app.id).await?;
    let fingerprint = app.fingerprint.clone().unwrap_or_default();
    let reviewers = scoring::for_application(&state.db, &app.id).await?.len();
    let renames = crate::store::name_changes::for_enterprise(&state.db, &app.enterprise_id)
        .await?
        .into_iter()
        .filter(|n| n.status == "approved")
        .collect();
    let page = ViewPage {
        renames,
        page: Page::new(state, ctx, format!("申报书：{}", app.enterprise_name)),
        region: format!(
            "{} {}",
            crate::web::city::inbox::city_name(&city),
            county_name(&city, &app.county_code)
        ),
        submitted_at: app
            .submitted_at
            .map(clock::format_datetime)
            .unwrap_or_default(),
        fp_short: fingerprint.get(..12).unwrap_or("").to_string(),
        fingerprint,
        dossier,
        submitted,
        returned_version,
        changes,
        events,
        history,
        can_screen: app.state == AppStateKind::Submitted && lock.is_empty(),
        can_score: app.state == AppStateKind::CityPassed && lock.is_empty(),
        reviewers,
        lock,
        checks,
        decision: posted.decision,
        reason: posted.reason,
        resubmit_deadline: posted.resubmit_deadline,
        deadline_hint: format!(
            "仅退回修改时使用，可不填；不填则按本市州企业申报截止时间（{}）",
            clock::format_deadline(enterprise_deadline(state, &app).await?)
        ),
        errors,
        notice,
        app,
    };
    Ok(page.render()?)
}

/// The city's deadline for enterprises (the batch's unless the province set the city's own).
async fn enterprise_deadline(state: &AppState, app: &Application) -> AppResult<i64> {
    batches::city_enterprise_deadline(&state.db, &app.batch_id, &app.city_code)
        .await?
        .ok_or(AppError::NotFound)
}

async fn view(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<ViewQuery>,
) -> AppResult<Html<String>> {
    let app = load_city_app(&state, &ctx, &id).await?;
    let notice = match q.done.as_deref() {
        Some("passed") => "形式审查已通过，可进行评分。",
        Some("returned") => "已退回企业修改，企业可立即看到退回原因。",
        Some("rejected") => "已驳回，企业可立即看到驳回原因。",
        _ => "",
    };
    Ok(Html(
        render(
            &state,
            &ctx,
            app,
            Posted::default(),
            Errors::default(),
            notice.into(),
        )
        .await?,
    ))
}

async fn screen(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let app = load_city_app(&state, &ctx, &id).await?;
    let items = screening::active_items(&state.db).await?;
    let posted = Posted {
        checked: pairs
            .iter()
            .filter(|(k, _)| k == "check")
            .map(|(_, v)| v.clone())
            .collect(),
        decision: field(&pairs, "decision"),
        reason: field(&pairs, "reason").chars().take(2000).collect(),
        resubmit_deadline: field(&pairs, "resubmit_deadline"),
    };
    let now = state.clock.now();
    let batch = batches::by_id(&state.db, &app.batch_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut errors = Errors::default();
    if let Some(msg) = locked(&state, &app.batch_id, &app.city_code).await? {
        errors.add("decision", "审查结论", msg);
    } else if app.state != AppStateKind::Submitted {
        errors.add(
            "decision",
            "审查结论",
            format!(
                "申报书当前状态为“{}”，不能进行形式审查。",
                app.state.label()
            ),
        );
    } else if field(&pairs, "_version") != app.submitted_version.unwrap_or(0).to_string() {
        errors.add(
            "decision",
            "审查结论",
            "申报书在您审查期间已重新提交，请核对最新提交版本后再作结论。",
        );
    }
    let decision = Decision::parse(&posted.decision);
    let mut deadline = None;
    match decision {
        None => errors.add("decision", "审查结论", "请选择审查结论"),
        Some(Decision::Passed) => {
            if !items.iter().all(|i| posted.checked.contains(&i.key)) {
                errors.add(
                    "checks",
                    "核查项目",
                    "形式审查通过须全部核查项目均符合；有不符合的，请选择退回修改或不予推荐",
                );
            }
        }
        Some(d) => {
            if posted.reason.chars().count() < 2 {
                let what = if d == Decision::Returned {
                    "请填写退回原因（企业将看到此内容）"
                } else {
                    "请填写不予推荐的原因（企业将看到此内容）"
                };
                errors.add("reason", "原因", what);
            }
        }
    }
    if decision == Some(Decision::Returned) {
        let ent_deadline = enterprise_deadline(&state, &app).await?;
        if posted.resubmit_deadline.is_empty() {
            if now > ent_deadline {
                errors.add(
                    "resubmit_deadline",
                    "重新提交截止时间",
                    format!(
                        "本市州企业申报截止时间（{}）已过，退回修改须设置重新提交截止时间",
                        clock::format_deadline(ent_deadline)
                    ),
                );
            }
        } else {
            match clock::parse_local_datetime(&posted.resubmit_deadline) {
                None => errors.add(
                    "resubmit_deadline",
                    "重新提交截止时间",
                    "请填写日期和时间，如 2021-09-17 17:00",
                ),
                Some(t) if t <= now => errors.add(
                    "resubmit_deadline",
                    "重新提交截止时间",
                    "重新提交截止时间应晚于当前时间",
                ),
                Some(t) if t > batch.recommend_deadline => errors.add(
                    "resubmit_deadline",
                    "重新提交截止时间",
                    format!(
                        "重新提交截止时间不能晚于市州推荐截止时间（{}）",
                        clock::format_deadline(batch.recommend_deadline)
                    ),
                ),
                Some(t) => deadline = Some(t),
            }
        }
    }
    let Some(decision) = decision.filter(|_| errors.is_empty()) else {
        let body = render(&state, &ctx, app, posted, errors, String::new()).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(body)).into_response());
    };
    let checks: Vec<Check> = items
        .iter()
        .map(|i| Check {
            key: i.key.clone(),
            label: i.label.clone(),
            ok: posted.checked.contains(&i.key),
        })
        .collect();
    let user = ctx.require_role(Role::City)?;
    let sub_v = app.submitted_version.unwrap_or(0);
    let record = Screening {
        id: new_id(),
        application_id: app.id.clone(),
        version: sub_v,
        decision,
        checks,
        reason: posted.reason.clone(),
        resubmit_deadline: deadline,
        created_at: now,
        created_by: user.username.clone(),
    };
    let mut extra = Batch::new();
    recommendations::guard(&mut extra, &app.batch_id, &app.city_code, now);
    screening::record(&mut extra, &record);
    let (to, reason) = match decision {
        Decision::Passed => {
            let mut r = format!("形式审查通过（{}）", record.checks_text());
            if !posted.reason.is_empty() {
                r.push_str(&format!("：{}", posted.reason));
            }
            (AppStateKind::CityPassed, r)
        }
        Decision::Returned => {
            let answers = snapshot(&state, &app.id, sub_v)
                .await?
                .get("content")
                .cloned()
                .unwrap_or(Value::Null);
            screening::reopen_draft(&mut extra, &app, &answers.to_string(), &user.username, now);
            let mut r = format!("退回修改：{}", posted.reason);
            if let Some(d) = deadline {
                r.push_str(&format!(
                    "。请于{}前修改后重新提交",
                    clock::format_deadline(d)
                ));
            }
            (AppStateKind::Returned, r)
        }
        Decision::Rejected => (
            AppStateKind::CityRejected,
            format!("不予推荐：{}", posted.reason),
        ),
    };
    match applications::transition(
        &state.db,
        &app,
        to,
        Role::City,
        &ctx.actor(),
        &reason,
        extra,
        now,
    )
    .await
    {
        Ok(()) => Ok(Redirect::to(&format!(
            "/city/applications/{id}?done={}",
            decision.as_str()
        ))
        .into_response()),
        Err(TransitionError::Stale) => {
            let app = load_city_app(&state, &ctx, &id).await?;
            let mut errors = Errors::default();
            errors.add(
                "decision",
                "审查结论",
                "申报书状态已变化（可能其他同事已作出结论，或推荐已报送），请核对后重试",
            );
            let body = render(&state, &ctx, app, posted, errors, String::new()).await?;
            Ok((StatusCode::CONFLICT, Html(body)).into_response())
        }
        Err(TransitionError::Forbidden) => Err(AppError::Forbidden),
        Err(TransitionError::Store(e)) => Err(e.into()),
    }
}
