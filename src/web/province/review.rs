//! The province's review of a batch: settings and 评价标准, the draw,
//! progress per expert and per application, the ranked results with their
//! formula, the shortlist, and the review's documents.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::clock;
use crate::domain::aggregate;
use crate::domain::scoring::{Criterion, Sheet, parse_score, show};
use crate::services::Refusal;
use crate::services::review::{self as svc, DrawRefusal, Ranked, Shortage};
use crate::store::batches::BatchRow;
use crate::store::review::{self as rs, Expert, Settings, Status};
use crate::web::AppState;
use crate::web::city::inbox::{city_batch, city_name, field};
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppResult, DOCX, XLSX, file_response, urlencode};
use crate::web::shared::page::{Errors, Page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/province/review", get(overview))
        .route("/province/review/settings", post(save_settings))
        .route("/province/review/draw", post(draw))
        .route("/province/review/results", get(results))
        .route("/province/review/shortlist", post(shortlist))
        .route("/province/review/summary.xlsx", get(summary_xlsx))
        .route("/province/review/opinions.docx", get(opinions_docx))
        .route("/province/review/score-sheet.docx", get(score_sheet_docx))
}

#[derive(Deserialize, Default)]
struct BatchQuery {
    #[serde(default)]
    batch: String,
    #[serde(default)]
    done: String,
    #[serde(default)]
    expert: String,
}

fn back(batch: &str, done: &str) -> Response {
    Redirect::to(&format!(
        "/province/review?batch={}&done={}",
        urlencode(batch),
        urlencode(done)
    ))
    .into_response()
}

pub struct CriterionRow {
    pub key: String,
    pub name: String,
    pub description: String,
    pub max: String,
    pub weight: String,
}

pub struct ExpertProgress {
    pub expert: Expert,
    pub assigned: usize,
    pub submitted: usize,
    pub declined: usize,
    pub pledged: bool,
}

pub struct AppProgress {
    pub id: String,
    pub name: String,
    pub city: String,
    pub experts: usize,
    pub submitted: usize,
    pub needed: usize,
}

#[derive(Template)]
#[template(path = "province/review.html")]
struct OverviewPage {
    page: Page,
    batch: BatchRow,
    s: Settings,
    criteria: Vec<CriterionRow>,
    criteria_locked: bool,
    deadline: String,
    experts: Vec<ExpertProgress>,
    apps: Vec<AppProgress>,
    draws: Vec<rs::DrawRecord>,
    recommended_waiting: usize,
    shortages: Vec<Shortage>,
    errors: Errors,
    notice: String,
    leader_choices: Vec<(String, String)>,
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    ctx: &Ctx,
    batch: BatchRow,
    s: Settings,
    shortages: Vec<Shortage>,
    errors: Errors,
    notice: String,
) -> AppResult<Html<String>> {
    let assignments = rs::for_batch(&state.db, &batch.id).await?;
    let pool = rs::experts(&state.db).await?;
    let mut experts = Vec::new();
    for e in pool {
        let mine: Vec<_> = assignments.iter().filter(|a| a.expert_id == e.id).collect();
        experts.push(ExpertProgress {
            assigned: mine.iter().filter(|a| a.status != Status::Declined).count(),
            submitted: mine
                .iter()
                .filter(|a| a.status == Status::Submitted)
                .count(),
            declined: mine.iter().filter(|a| a.status == Status::Declined).count(),
            pledged: rs::pledged(&state.db, &batch.id, &e.id).await?.is_some(),
            expert: e,
        });
    }
    let all = crate::store::applications::submitted_in_batch(&state.db, &batch.id).await?;
    let recommended_waiting = all
        .iter()
        .filter(|a| a.state == crate::domain::lifecycle::State::Recommended)
        .count();
    let apps = all
        .iter()
        .filter(|a| {
            assignments.iter().any(|x| x.application_id == a.id)
                || a.state == crate::domain::lifecycle::State::Recommended
        })
        .map(|a| {
            let mine: Vec<_> = assignments
                .iter()
                .filter(|x| x.application_id == a.id && x.status != Status::Declined)
                .collect();
            AppProgress {
                id: a.id.clone(),
                name: a.enterprise_name.clone(),
                city: city_name(&a.city_code),
                experts: mine.len(),
                submitted: mine
                    .iter()
                    .filter(|x| x.status == Status::Submitted)
                    .count(),
                needed: s.per_application as usize,
            }
        })
        .collect();
    let leader_choices = experts
        .iter()
        .filter(|e| e.expert.active)
        .map(|e| {
            (
                e.expert.id.clone(),
                format!("{}（{}）", e.expert.name, e.expert.unit),
            )
        })
        .collect();
    let page = OverviewPage {
        page: Page::new(state, ctx, "专家评审"),
        criteria: s
            .criteria
            .criteria
            .iter()
            .map(|c| CriterionRow {
                key: c.key.clone(),
                name: c.name.clone(),
                description: c.description.clone(),
                max: show(c.max),
                weight: show(c.weight),
            })
            .collect(),
        criteria_locked: rs::any_score(&state.db, &batch.id).await?,
        deadline: s
            .score_deadline
            .map(clock::to_local_input)
            .unwrap_or_default(),
        draws: rs::draws(&state.db, &batch.id).await?,
        experts,
        apps,
        recommended_waiting,
        shortages,
        errors,
        notice,
        leader_choices,
        batch,
        s,
    };
    Ok(Html(page.render()?))
}

fn notice_of(done: &str) -> String {
    match done {
        "settings" => "评审设置已保存。".into(),
        d if d.starts_with("draw:") => format!(
            "已完成随机抽取，随机种子 {}。抽取结果已通知到各位专家的评审任务中。",
            &d[5..]
        ),
        "shortlist" => "入围名单已保存。".into(),
        "locked" => "入围名单已锁定，入选企业进入公示环节。".into(),
        _ => String::new(),
    }
}

async fn overview(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<BatchQuery>,
) -> AppResult<Html<String>> {
    let batch = city_batch(&state, Some(&q.batch)).await?;
    let s = svc::settings(&state.db, &state.program, &batch.id).await?;
    render(
        &state,
        &ctx,
        batch,
        s,
        Vec::new(),
        Errors::default(),
        notice_of(&q.done),
    )
    .await
}

/// Reads the criteria rows `c.N.*` of the settings form: rows with an empty
/// name are dropped; keys are kept for existing rows, new ones get the next.
fn posted_criteria(pairs: &[(String, String)], errors: &mut Errors) -> Sheet {
    let mut rows: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
    for (k, v) in pairs {
        if let Some(rest) = k.strip_prefix("c.")
            && let Some((i, part)) = rest.split_once('.')
            && let Ok(i) = i.parse::<usize>()
            && i < crate::domain::scoring::MAX_CRITERIA
        {
            rows.entry(i)
                .or_default()
                .insert(part.to_string(), v.clone());
        }
    }
    let mut sheet = Sheet::default();
    let mut next = 1;
    for r in rows.values() {
        let get = |k: &str| r.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
        let name = get("name");
        if name.is_empty() {
            continue;
        }
        let key = match get("key") {
            k if !k.is_empty() => k,
            _ => loop {
                let k = format!("c{next}");
                next += 1;
                if !r.values().any(|v| *v == k) && !sheet.criteria.iter().any(|c| c.key == k) {
                    break k;
                }
            },
        };
        let max = parse_score(&get("max")).filter(|m| *m > 0.0);
        let weight = parse_score(&get("weight")).filter(|w| *w > 0.0);
        if max.is_none() || weight.is_none() {
            errors.add(
                "criteria",
                "评价标准",
                format!("“{name}”的满分和权重应为正数，最多一位小数"),
            );
        }
        if name.chars().count() > 50 || get("description").chars().count() > 500 {
            errors.add(
                "criteria",
                "评价标准",
                format!("“{name}”的名称不超过50字、说明不超过500字"),
            );
        }
        sheet.criteria.push(Criterion {
            key,
            name,
            description: get("description"),
            max: max.unwrap_or(0.0),
            weight: weight.unwrap_or(1.0),
        });
    }
    sheet
}

/// Reads the panel rows `p.N.*` of the settings form; rows without a name are dropped.
fn posted_panels(pairs: &[(String, String)]) -> Vec<rs::Panel> {
    let mut rows: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
    for (k, v) in pairs {
        if let Some(rest) = k.strip_prefix("p.")
            && let Some((i, part)) = rest.split_once('.')
            && let Ok(i) = i.parse::<usize>()
            && i < 20
        {
            rows.entry(i)
                .or_default()
                .insert(part.to_string(), v.clone());
        }
    }
    let list = |s: Option<&String>| -> Vec<String> {
        s.map(|s| {
            s.split(['、', '，', ',', ';', '；'])
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
    };
    rows.values()
        .filter_map(|r| {
            let name = r
                .get("name")
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            if name.is_empty() {
                return None;
            }
            Some(rs::Panel {
                name,
                industries: list(r.get("industries")),
                fields: list(r.get("fields")),
                leader: r.get("leader").filter(|l| !l.is_empty()).cloned(),
            })
        })
        .collect()
}

async fn save_settings(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let batch = city_batch(&state, Some(&field(&pairs, "batch"))).await?;
    let old = svc::settings(&state.db, &state.program, &batch.id).await?;
    let mut errors = Errors::default();
    let criteria = posted_criteria(&pairs, &mut errors);
    let int = |k: &str| field(&pairs, k).trim().parse::<i64>().ok();
    let deadline_text = field(&pairs, "score_deadline");
    let score_deadline = if deadline_text.trim().is_empty() {
        None
    } else {
        let d = clock::parse_local_datetime(&deadline_text);
        if d.is_none() {
            errors.add("score_deadline", "评分截止时间", "请选择有效的日期和时间");
        }
        d
    };
    let leader = field(&pairs, "leader");
    let panels = posted_panels(&pairs);
    let new = Settings {
        batch_id: batch.id.clone(),
        criteria,
        per_application: int("per_application").unwrap_or(-1),
        max_per_expert: int("max_per_expert").unwrap_or(-1),
        same_city: field(&pairs, "same_city") == "1",
        blind: field(&pairs, "blind") == "1",
        trimmed: field(&pairs, "trimmed") == "1",
        zscore: field(&pairs, "zscore") == "1",
        spread_threshold: int("spread_threshold").unwrap_or(-1),
        score_deadline,
        leader_expert_id: (!leader.is_empty()).then_some(leader),
        panels,
        version: int("_version").unwrap_or(-1),
    };
    if new.version != old.version {
        errors.add("settings", "评审设置", Refusal::Stale.to_string());
    }
    if errors.is_empty() {
        match svc::save_settings(&state.db, &ctx.actor(), new.clone(), state.clock.now()).await {
            Ok(()) => return Ok(back(&batch.id, "settings")),
            // A rule here is the criteria lock.
            Err(Refusal::Rule(m)) => errors.add("criteria", "评价标准", m),
            Err(e) => errors.refusal(e, "settings", "评审设置")?,
        }
    }
    let shown = Settings {
        version: old.version,
        ..new
    };
    Ok(render(
        &state,
        &ctx,
        batch,
        shown,
        Vec::new(),
        errors,
        String::new(),
    )
    .await?
    .into_response())
}

async fn draw(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let batch = city_batch(&state, Some(&field(&pairs, "batch"))).await?;
    let now = state.clock.now();
    let result = svc::draw(&state.db, &state.program, &ctx.actor(), &batch, now).await;
    let s = svc::settings(&state.db, &state.program, &batch.id).await?;
    let mut errors = Errors::default();
    match result {
        Ok(d) => return Ok(back(&batch.id, &format!("draw:{}", d.seed))),
        Err(DrawRefusal::Uncoverable(short)) => {
            errors.add(
                "draw",
                "随机抽取",
                format!(
                    "有{}项申报无法按回避规则和数量上限配齐专家，本次未抽取。请扩充专家库、提高每位专家的评审数量上限或调整回避设置后重试。",
                    short.len()
                ),
            );
            return Ok(render(&state, &ctx, batch, s, short, errors, String::new())
                .await?
                .into_response());
        }
        Err(DrawRefusal::Refused(e)) => errors.refusal(e, "draw", "随机抽取")?,
    }
    Ok(
        render(&state, &ctx, batch, s, Vec::new(), errors, String::new())
            .await?
            .into_response(),
    )
}

// ───────────────────────────── results and shortlist ─────────────────────────────

pub struct ResultRow {
    pub r: Ranked,
    pub city: String,
    pub raw: String,
    pub dropped: String,
    pub final_text: String,
    pub spread: String,
    pub opinion: String,
    pub conclusion: &'static str,
    pub picked: bool,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "province/results.html")]
struct ResultsPage {
    page: Page,
    batch: BatchRow,
    formula: String,
    rows: Vec<ResultRow>,
    locked: String,
    picked: usize,
    by_city: Vec<(String, usize)>,
    by_industry: Vec<(String, usize)>,
    pending: usize,
    errors: Errors,
    notice: String,
}

async fn results_page(
    state: &AppState,
    ctx: &Ctx,
    batch: BatchRow,
    posted: Option<&[(String, String)]>,
    errors: Errors,
    notice: String,
) -> AppResult<Html<String>> {
    let s = svc::settings(&state.db, &state.program, &batch.id).await?;
    let ranked = svc::ranking(&state.db, &s).await?;
    let sl = rs::shortlist(&state.db, &batch.id).await?;
    let opinions = rs::opinions(&state.db, &batch.id).await?;
    let pending = rs::for_batch(&state.db, &batch.id)
        .await?
        .iter()
        .filter(|a| a.status == Status::Assigned)
        .count();
    let mut rows = Vec::new();
    for r in ranked {
        let id = r.app.id.clone();
        let (picked, reason) = match posted {
            Some(p) => (
                p.iter().any(|(k, v)| k == "pick" && *v == id),
                field(p, &format!("reason.{id}")),
            ),
            None => match sl.items.iter().find(|i| i.application_id == id) {
                Some(i) => (true, i.reason.clone()),
                None => (false, String::new()),
            },
        };
        let o = opinions.get(&id);
        rows.push(ResultRow {
            city: city_name(&r.app.city_code),
            raw: r.result.raw_text(),
            dropped: r.result.dropped_text(),
            final_text: format!("{:.2}", r.result.rounded()),
            spread: show(r.result.spread),
            opinion: o.map(|o| o.opinion.clone()).unwrap_or_default(),
            conclusion: match o {
                Some(o) if o.recommend && o.signed => "推荐（已签署）",
                Some(o) if o.signed => "不推荐（已签署）",
                Some(o) if o.recommend => "推荐（未签署）",
                Some(_) => "不推荐（未签署）",
                None => "",
            },
            picked,
            reason,
            r,
        });
    }
    let mut by_city: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_industry: BTreeMap<String, usize> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.picked) {
        *by_city.entry(r.city.clone()).or_default() += 1;
        *by_industry.entry(r.r.app.industry.clone()).or_default() += 1;
    }
    let page = ResultsPage {
        page: Page::new(state, ctx, "评审结果与入围名单"),
        formula: aggregate::formula(&svc::options(&s)),
        picked: rows.iter().filter(|r| r.picked).count(),
        rows,
        locked: sl
            .locked_at
            .map(|t| {
                format!(
                    "入围名单已于 {} 由 {} 锁定。",
                    clock::format_datetime(t),
                    sl.locked_by.clone().unwrap_or_default()
                )
            })
            .unwrap_or_default(),
        by_city: by_city.into_iter().collect(),
        by_industry: by_industry.into_iter().collect(),
        pending,
        errors,
        notice,
        batch,
    };
    Ok(Html(page.render()?))
}

async fn results(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<BatchQuery>,
) -> AppResult<Html<String>> {
    let batch = city_batch(&state, Some(&q.batch)).await?;
    results_page(
        &state,
        &ctx,
        batch,
        None,
        Errors::default(),
        notice_of(&q.done),
    )
    .await
}

async fn shortlist(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let batch = city_batch(&state, Some(&field(&pairs, "batch"))).await?;
    let s = svc::settings(&state.db, &state.program, &batch.id).await?;
    let picks: Vec<svc::Pick> = pairs
        .iter()
        .filter(|(k, _)| k == "pick")
        .map(|(_, id)| (id.clone(), field(&pairs, &format!("reason.{id}"))))
        .collect();
    let lock = field(&pairs, "action") == "lock";
    let now = state.clock.now();
    let mut errors = Errors::default();
    match svc::save_shortlist(&state.db, &ctx.actor(), &s, &batch, &picks, lock, now).await {
        Ok(()) => {
            return Ok(Redirect::to(&format!(
                "/province/review/results?batch={}&done={}",
                urlencode(&batch.id),
                if lock { "locked" } else { "shortlist" }
            ))
            .into_response());
        }
        Err(e) => errors.refusal(e, "picks", "入围名单")?,
    }
    Ok(
        results_page(&state, &ctx, batch, Some(&pairs), errors, String::new())
            .await?
            .into_response(),
    )
}

// ───────────────────────────── documents ─────────────────────────────

async fn summary_xlsx(
    State(state): State<AppState>,
    Query(q): Query<BatchQuery>,
) -> AppResult<Response> {
    let batch = city_batch(&state, Some(&q.batch)).await?;
    let s = svc::settings(&state.db, &state.program, &batch.id).await?;
    let ranked = svc::ranking(&state.db, &s).await?;
    let opinions = rs::opinions(&state.db, &batch.id).await?;
    let rows: Vec<crate::docs::review::SummaryRow> = ranked
        .iter()
        .map(|r| crate::docs::review::SummaryRow {
            rank: r.result.rank,
            enterprise: r.app.enterprise_name.clone(),
            city: city_name(&r.app.city_code),
            industry: r.app.industry.clone(),
            n: r.result.n,
            raw: r.result.raw_text(),
            dropped: r.result.dropped_text(),
            final_score: r.result.rounded(),
            spread: r.result.spread,
            flagged: r.result.flagged,
            conclusion: opinions
                .get(&r.app.id)
                .map(|o| if o.recommend { "推荐" } else { "不推荐" })
                .unwrap_or("")
                .into(),
            tie_note: r.result.tie_note.clone().unwrap_or_default(),
        })
        .collect();
    let formula = aggregate::formula(&svc::options(&s));
    let title = format!("{}评审汇总表", batch.name);
    let bytes = tokio::task::spawn_blocking(move || {
        crate::docs::review::summary_xlsx(&title, &formula, &rows)
    })
    .await
    .map_err(anyhow::Error::from)??;
    Ok(file_response(
        bytes,
        XLSX,
        "review-summary.xlsx",
        "评审汇总表.xlsx",
    ))
}

async fn opinions_docx(
    State(state): State<AppState>,
    Query(q): Query<BatchQuery>,
) -> AppResult<Response> {
    let batch = city_batch(&state, Some(&q.batch)).await?;
    let s = svc::settings(&state.db, &state.program, &batch.id).await?;
    let ranked = svc::ranking(&state.db, &s).await?;
    let opinions = rs::opinions(&state.db, &batch.id).await?;
    let rows: Vec<(String, String, String)> = ranked
        .iter()
        .filter_map(|r| {
            let o = opinions.get(&r.app.id)?;
            Some((
                r.app.enterprise_name.clone(),
                o.opinion.clone(),
                if o.recommend { "推荐" } else { "不推荐" }.to_string(),
            ))
        })
        .collect();
    let assigned: std::collections::HashSet<String> = rs::for_batch(&state.db, &batch.id)
        .await?
        .into_iter()
        .filter(|a| a.status == Status::Submitted)
        .map(|a| a.expert_id)
        .collect();
    let members: Vec<String> = rs::experts(&state.db)
        .await?
        .into_iter()
        .filter(|e| assigned.contains(&e.id))
        .map(|e| {
            if s.leads(&e.id) {
                format!("{}（组长）", e.name)
            } else {
                e.name
            }
        })
        .collect();
    let title = batch.name.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        crate::docs::review::panel_opinion_docx(&title, &rows, &members)
    })
    .await
    .map_err(anyhow::Error::from)?;
    Ok(file_response(
        bytes,
        DOCX,
        "panel-opinions.docx",
        "专家组意见.docx",
    ))
}

async fn score_sheet_docx(
    State(state): State<AppState>,
    Query(q): Query<BatchQuery>,
) -> AppResult<Response> {
    let batch = city_batch(&state, Some(&q.batch)).await?;
    let expert = rs::expert_by_id(&state.db, &q.expert)
        .await?
        .ok_or(crate::web::shared::error::AppError::NotFound)?;
    let bytes = super::super::expert::score_sheet(&state, &batch, &expert).await?;
    Ok(file_response(
        bytes,
        DOCX,
        "score-sheet.docx",
        &format!("{}评分表.docx", expert.name),
    ))
}
