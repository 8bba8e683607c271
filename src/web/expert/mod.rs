//! The expert's room (评审专家): their own assignments only. Before any
//! material, the 保密与回避承诺 for the batch; then per application the
//! dossier as the city saw it (blind when the province chose so), scores
//! per criterion with a comment (save, then submit and lock), or a declared
//! conflict. The panel leader also records the 专家组意见. Every route is for
//! the expert role only, by the guard on the whole router.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::middleware;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::AppState;
use super::city::inbox::{city_batch, city_name, field};
use super::shared::context::Ctx;
use super::shared::dossier::{self, Dossier};
use super::shared::error::{AppError, AppResult, DOCX, file_response, urlencode};
use super::shared::guard;
use super::shared::page::{Errors, Page};
use crate::clock;
use crate::domain::scoring::show;
use crate::services::Refusal;
use crate::services::review as svc;
use crate::store::applications::{self, Application};
use crate::store::batches::{self, BatchRow};
use crate::store::review::{self as rs, Assignment, Expert, Settings, Status};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/expert", get(tasks))
        .route("/expert/pledge", post(pledge))
        .route("/expert/review/{id}", get(review_page))
        .route("/expert/review/{id}/score", post(score))
        .route("/expert/review/{id}/decline", post(decline))
        .route("/expert/score-sheet.docx", get(own_score_sheet))
        .route("/expert/panel", get(panel))
        .route("/expert/panel/{id}", post(panel_save))
        .route_layer(middleware::from_fn(guard::expert))
}

/// The pool member behind the logged-in expert account.
async fn me(state: &AppState, ctx: &Ctx) -> AppResult<Expert> {
    let user = ctx.user.as_ref().ok_or(AppError::Forbidden)?;
    rs::expert_by_user(&state.db, &user.id)
        .await?
        .ok_or(AppError::Forbidden)
}

pub struct TaskRow {
    pub app_id: String,
    pub name: String,
    pub status: &'static str,
    pub total: String,
}

pub struct BatchTasks {
    pub batch: BatchRow,
    pub pledged: bool,
    pub deadline: String,
    pub leader: bool,
    pub tasks: Vec<TaskRow>,
}

#[derive(Template)]
#[template(path = "expert/tasks.html")]
struct TasksPage {
    page: Page,
    expert: Expert,
    batches: Vec<BatchTasks>,
    notice: String,
}

#[derive(Deserialize, Default)]
struct Done {
    #[serde(default)]
    done: String,
}

async fn tasks(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<Done>,
) -> AppResult<Html<String>> {
    let expert = me(&state, &ctx).await?;
    let mine = rs::for_expert(&state.db, &expert.id).await?;
    let mut by_batch: BTreeMap<String, Vec<Assignment>> = BTreeMap::new();
    for a in mine {
        by_batch.entry(a.batch_id.clone()).or_default().push(a);
    }
    let mut out = Vec::new();
    for (batch_id, list) in by_batch {
        let Some(batch) = batches::by_id(&state.db, &batch_id).await? else {
            continue;
        };
        let s = svc::settings(&state.db, &state.program, &batch_id).await?;
        let pledged = rs::pledged(&state.db, &batch_id, &expert.id)
            .await?
            .is_some();
        let mut tasks = Vec::new();
        for a in list {
            let app = applications::by_id(&state.db, &a.application_id).await?;
            tasks.push(TaskRow {
                name: match (&app, pledged && !s.blind) {
                    (Some(app), true) => app.enterprise_name.clone(),
                    _ => format!("申报项目 {}", short(&a.application_id)),
                },
                app_id: a.application_id.clone(),
                status: a.status.label(),
                total: a.total().map(show).unwrap_or_default(),
            });
        }
        out.push(BatchTasks {
            deadline: s
                .score_deadline
                .map(clock::format_deadline)
                .unwrap_or_default(),
            leader: s.leads(&expert.id),
            batch,
            pledged,
            tasks,
        });
    }
    // A panel leader with no assignment of their own still reaches the panel page.
    let page = TasksPage {
        page: Page::new(&state, &ctx, "评审任务"),
        expert,
        batches: out,
        notice: match q.done.as_str() {
            "pledge" => "已签署保密与回避承诺，可以查看评审材料。".into(),
            "submitted" => "评分已提交。".into(),
            "declined" => "已申请回避，该项申报将另行抽取专家。".into(),
            _ => String::new(),
        },
    };
    Ok(Html(page.render()?))
}

/// A stable short label for an application in a blind review.
fn short(id: &str) -> String {
    id.get(id.len().saturating_sub(6)..)
        .unwrap_or(id)
        .to_uppercase()
}

async fn pledge(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let expert = me(&state, &ctx).await?;
    let batch = batches::by_id(&state.db, &field(&pairs, "batch"))
        .await?
        .ok_or(AppError::NotFound)?;
    if field(&pairs, "agree") != "1" {
        return Err(AppError::BadRequest(
            "请勾选“本人已阅读并承诺遵守”后再签署。".into(),
        ));
    }
    svc::accept_pledge(
        &state.db,
        &ctx.actor(),
        &expert,
        &batch.id,
        state.clock.now(),
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    Ok(Redirect::to("/expert?done=pledge").into_response())
}

/// The expert's own live assignment to `id`, with the batch's settings;
/// anything else is "not found". Material needs the pledge first.
async fn load(
    state: &AppState,
    expert: &Expert,
    id: &str,
) -> AppResult<(Assignment, Application, Settings, BatchRow)> {
    let a = rs::assignment(&state.db, id, &expert.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let app = applications::by_id(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let batch = batches::by_id(&state.db, &a.batch_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if rs::pledged(&state.db, &batch.id, &expert.id)
        .await?
        .is_none()
    {
        return Err(AppError::BadRequest(svc::PLEDGE_FIRST.into()));
    }
    let s = svc::settings(&state.db, &state.program, &batch.id).await?;
    Ok((a, app, s, batch))
}

pub struct CriterionInput {
    pub key: String,
    pub name: String,
    pub description: String,
    pub max: String,
    pub weight: String,
    pub value: String,
}

#[derive(Template)]
#[template(path = "expert/review.html")]
struct ReviewPage {
    page: Page,
    a: Assignment,
    title: String,
    blind: bool,
    city: String,
    industry: String,
    dossier: Dossier,
    criteria: Vec<CriterionInput>,
    max_total: String,
    comment: String,
    lock: String,
    deadline: String,
    errors: Errors,
    notice: String,
    decline_reason: String,
}

#[allow(clippy::too_many_arguments)]
async fn render_review(
    state: &AppState,
    ctx: &Ctx,
    a: Assignment,
    app: Application,
    s: Settings,
    posted: Option<&[(String, String)]>,
    errors: Errors,
    notice: String,
) -> AppResult<Html<String>> {
    let now = state.clock.now();
    let lock = match a.status {
        Status::Submitted => format!(
            "您已于 {} 提交评分，评分已锁定。",
            a.submitted_at
                .map(clock::format_datetime)
                .unwrap_or_default()
        ),
        Status::Declined => format!("您已申请回避此项申报（{}）。", a.decline_reason),
        Status::Assigned => svc::past_deadline(&s, now).unwrap_or_default(),
    };
    let criteria = s
        .criteria
        .criteria
        .iter()
        .map(|c| CriterionInput {
            value: match posted {
                Some(p) => field(p, &format!("score.{}", c.key)),
                None => a.scores.get(&c.key).map(|v| show(*v)).unwrap_or_default(),
            },
            key: c.key.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            max: show(c.max),
            weight: show(c.weight),
        })
        .collect();
    let page = ReviewPage {
        page: Page::new(state, ctx, "评审"),
        title: if s.blind {
            format!("申报项目 {}", short(&app.id))
        } else {
            app.enterprise_name.clone()
        },
        blind: s.blind,
        city: if s.blind {
            String::new()
        } else {
            city_name(&app.city_code)
        },
        industry: app.industry.clone(),
        dossier: dossier::of(state, &app, s.blind).await?,
        criteria,
        max_total: show(s.criteria.max_total()),
        comment: match posted {
            Some(p) => field(p, "comment"),
            None => a.comment.clone(),
        },
        lock,
        deadline: s
            .score_deadline
            .map(clock::format_deadline)
            .unwrap_or_default(),
        errors,
        notice,
        decline_reason: posted.map(|p| field(p, "reason")).unwrap_or_default(),
        a,
    };
    Ok(Html(page.render()?))
}

async fn review_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> AppResult<Html<String>> {
    let expert = me(&state, &ctx).await?;
    let (a, app, s, _) = load(&state, &expert, &id).await?;
    let notice = if q.done == "saved" {
        "评分已保存（尚未提交，可继续修改）。".to_string()
    } else {
        String::new()
    };
    render_review(&state, &ctx, a, app, s, None, Errors::default(), notice).await
}

async fn score(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let user = ctx.user.as_ref().ok_or(AppError::Forbidden)?;
    let submit = field(&pairs, "action") == "submit";
    let posted: BTreeMap<String, String> = pairs.iter().cloned().collect();
    let comment = field(&pairs, "comment");
    let input = svc::ScoreInput {
        posted: &posted,
        comment: &comment,
        submit,
        version: field(&pairs, "_version").parse().unwrap_or(-1),
    };
    let result = svc::save_own_score(
        &state.db,
        &state.program,
        &state.caches.score_hints,
        &ctx.actor(),
        &user.id,
        &id,
        &input,
        state.clock.now(),
    )
    .await;
    let mut errors = Errors::default();
    match result {
        Ok(_) if submit => return Ok(Redirect::to("/expert?done=submitted").into_response()),
        Ok(_) => {
            return Ok(
                Redirect::to(&format!("/expert/review/{}?done=saved", urlencode(&id)))
                    .into_response(),
            );
        }
        Err(Refusal::Forbidden) => return Err(AppError::NotFound),
        Err(Refusal::Rule(m)) if m == svc::PLEDGE_FIRST => return Err(AppError::BadRequest(m)),
        Err(e) => errors.refusal(e, "scores", "评分")?,
    }
    // Redraw the form with what was posted, over the assignment as it is now.
    let (a, s) = match svc::own_assignment(&state.db, &state.program, &user.id, &id).await {
        Ok(found) => found,
        Err(Refusal::Forbidden) => return Err(AppError::NotFound),
        Err(e) => return Err(AppError::BadRequest(e.to_string())),
    };
    let app = applications::by_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(
        render_review(&state, &ctx, a, app, s, Some(&pairs), errors, String::new())
            .await?
            .into_response(),
    )
}

async fn decline(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let expert = me(&state, &ctx).await?;
    let (a, app, s, batch) = load(&state, &expert, &id).await?;
    let now = state.clock.now();
    let mut errors = Errors::default();
    match svc::decline(
        &state.db,
        &state.program,
        &ctx.actor(),
        &batch,
        &a,
        &field(&pairs, "reason"),
        now,
    )
    .await
    {
        Ok(_) => return Ok(Redirect::to("/expert?done=declined").into_response()),
        Err(e) => errors.refusal(e, "reason", "回避理由")?,
    }
    Ok(
        render_review(&state, &ctx, a, app, s, Some(&pairs), errors, String::new())
            .await?
            .into_response(),
    )
}

/// An expert's 评分表 of a batch as .docx (for the province too).
pub async fn score_sheet(
    state: &AppState,
    batch: &BatchRow,
    expert: &Expert,
) -> AppResult<Vec<u8>> {
    let s = svc::settings(&state.db, &state.program, &batch.id).await?;
    let mut rows = Vec::new();
    for a in rs::for_expert(&state.db, &expert.id).await? {
        if a.batch_id != batch.id || a.status == Status::Declined {
            continue;
        }
        let name = applications::by_id(&state.db, &a.application_id)
            .await?
            .map(|x| x.enterprise_name)
            .unwrap_or_default();
        rows.push(crate::docs::review::ScoreSheetRow {
            enterprise: name,
            scores: s
                .criteria
                .criteria
                .iter()
                .map(|c| {
                    (
                        c.name.clone(),
                        a.scores.get(&c.key).map(|v| show(*v)).unwrap_or_default(),
                    )
                })
                .collect(),
            total: a.total().map(show).unwrap_or_default(),
            comment: a.comment.clone(),
        });
    }
    let criteria: Vec<String> = s
        .criteria
        .criteria
        .iter()
        .map(|c| format!("{}（{}分）", c.name, show(c.max)))
        .collect();
    let title = batch.name.clone();
    let who = format!("{}（{}）", expert.name, expert.unit);
    Ok(tokio::task::spawn_blocking(move || {
        crate::docs::review::score_sheet_docx(&title, &who, &criteria, &rows)
    })
    .await
    .map_err(anyhow::Error::from)?)
}

#[derive(Deserialize, Default)]
struct BatchQuery {
    #[serde(default)]
    batch: String,
    #[serde(default)]
    done: String,
    #[serde(default)]
    app: String,
}

async fn own_score_sheet(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<BatchQuery>,
) -> AppResult<Response> {
    let expert = me(&state, &ctx).await?;
    let batch = city_batch(&state, Some(&q.batch)).await?;
    let bytes = score_sheet(&state, &batch, &expert).await?;
    Ok(file_response(
        bytes,
        DOCX,
        "score-sheet.docx",
        "评分表.docx",
    ))
}

// ───────────────────────────── 专家组意见 ─────────────────────────────

pub struct PanelRow {
    pub app: Application,
    pub city: String,
    pub n: usize,
    pub final_text: String,
    pub ready: bool,
    pub opinion: String,
    pub recommend: Option<bool>,
    pub signed: bool,
}

#[derive(Template)]
#[template(path = "expert/panel.html")]
struct PanelPage {
    page: Page,
    batch: BatchRow,
    formula: String,
    rows: Vec<PanelRow>,
    /// The application whose opinion form is open.
    focus: String,
    errors: Errors,
    notice: String,
}

/// The leader's batch: the batch whose settings name this expert leader.
async fn led_batch(
    state: &AppState,
    expert: &Expert,
    requested: &str,
) -> AppResult<(BatchRow, Settings)> {
    let batch = city_batch(state, Some(requested)).await?;
    let s = svc::settings(&state.db, &state.program, &batch.id).await?;
    if !s.leads(&expert.id) {
        return Err(AppError::Forbidden);
    }
    Ok((batch, s))
}

async fn render_panel(
    state: &AppState,
    ctx: &Ctx,
    batch: BatchRow,
    s: Settings,
    focus: String,
    errors: Errors,
    notice: String,
) -> AppResult<Html<String>> {
    let ranked = svc::ranking(&state.db, &s).await?;
    let finals: HashMap<String, (usize, String)> = ranked
        .iter()
        .map(|r| {
            (
                r.app.id.clone(),
                (r.result.n, format!("{:.2}", r.result.rounded())),
            )
        })
        .collect();
    let opinions = rs::opinions(&state.db, &batch.id).await?;
    let assignments = rs::for_batch(&state.db, &batch.id).await?;
    let mut rows = Vec::new();
    let me = ctx.user.as_ref().map(|u| u.id.clone()).unwrap_or_default();
    let me = rs::expert_by_user(&state.db, &me).await?.map(|e| e.id);
    for app in applications::submitted_in_batch(&state.db, &batch.id).await? {
        // A 组长 sees the applications of their own panel.
        if s.leader_for(&app.industry) != me.as_deref() {
            continue;
        }
        let live: Vec<_> = assignments
            .iter()
            .filter(|a| a.application_id == app.id && a.status != Status::Declined)
            .collect();
        if live.is_empty() {
            continue;
        }
        let o = opinions.get(&app.id);
        let (n, final_text) = finals.get(&app.id).cloned().unwrap_or_default();
        rows.push(PanelRow {
            city: city_name(&app.city_code),
            n,
            final_text,
            ready: live.iter().all(|a| a.status == Status::Submitted),
            opinion: o.map(|o| o.opinion.clone()).unwrap_or_default(),
            recommend: o.map(|o| o.recommend),
            signed: o.is_some_and(|o| o.signed),
            app,
        });
    }
    let page = PanelPage {
        page: Page::new(state, ctx, "专家组意见"),
        formula: crate::domain::aggregate::formula(&svc::options(&s)),
        batch,
        rows,
        focus,
        errors,
        notice,
    };
    Ok(Html(page.render()?))
}

async fn panel(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<BatchQuery>,
) -> AppResult<Html<String>> {
    let expert = me(&state, &ctx).await?;
    let (batch, s) = led_batch(&state, &expert, &q.batch).await?;
    let notice = match q.done.as_str() {
        "saved" => "专家组意见已保存。".into(),
        "signed" => "专家组意见已签署确认并锁定。".into(),
        _ => String::new(),
    };
    render_panel(&state, &ctx, batch, s, q.app, Errors::default(), notice).await
}

async fn panel_save(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let expert = me(&state, &ctx).await?;
    let (batch, s) = led_batch(&state, &expert, &field(&pairs, "batch")).await?;
    let app = applications::by_id(&state.db, &id)
        .await?
        .filter(|a| a.batch_id == batch.id)
        .ok_or(AppError::NotFound)?;
    let sign = field(&pairs, "action") == "sign";
    let recommend = match field(&pairs, "conclusion").as_str() {
        "recommend" => Some(true),
        "not_recommend" => Some(false),
        _ => None,
    };
    let now = state.clock.now();
    let mut errors = Errors::default();
    match svc::save_opinion(
        &state.db,
        &ctx.actor(),
        &s,
        &expert,
        &app,
        &field(&pairs, "opinion"),
        recommend,
        sign,
        now,
    )
    .await
    {
        Ok(()) => {
            return Ok(Redirect::to(&format!(
                "/expert/panel?batch={}&done={}",
                urlencode(&batch.id),
                if sign { "signed" } else { "saved" }
            ))
            .into_response());
        }
        Err(e) => errors.refusal(e, "opinion", "专家组意见")?,
    }
    Ok(
        render_panel(&state, &ctx, batch, s, id, errors, String::new())
            .await?
            .into_response(),
    )
}
