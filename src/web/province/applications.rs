//! Receiving: every application of a batch across the 17 cities, filtered,
//! searched, sorted and paged, with a count per state; and one application
//! whole (answers, attachments, versions, the city's screening, 推荐理由 and
//! 审核意见, the experts' scores).

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::routing::get;
use serde::Deserialize;

use crate::domain::lifecycle::State as AppStateKind;
use crate::domain::region;
use crate::domain::scoring::show;
use crate::services::review as svc;
use crate::store::applications::{self, Application, Event, Listed};
use crate::store::recommendations;
use crate::store::review as rs;
use crate::store::screening::{self, Screening};
use crate::web::AppState;
use crate::web::city::inbox::{city_batch, city_name};
use crate::web::shared::context::Ctx;
use crate::web::shared::dossier::{self, Dossier};
use crate::web::shared::error::{AppError, AppResult, urlencode};
use crate::web::shared::page::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/province/applications", get(list))
        .route("/province/applications/{id}", get(view))
}

/// Rows per page.
const PAGE: usize = 50;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    pub batch: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub industry: String,
    /// "yes", "no" or "".
    #[serde(default)]
    pub recommended: String,
    #[serde(default)]
    pub min: String,
    #[serde(default)]
    pub max: String,
    /// Any substring of the name, or of the credit code.
    #[serde(default)]
    pub q: String,
    /// "city", "name", "submitted", "score".
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub page: usize,
}

/// A batch's list as every request filters it: the submitted applications
/// with what the cities recommended and the review's results, read once per
/// database generation (`store::derived`).
pub struct Listing {
    lines: Vec<Line>,
    counts: BTreeMap<&'static str, usize>,
    industries: Vec<String>,
}

struct Line {
    app: Listed,
    /// The name in capitals, for the search.
    name_upper: String,
    recommended: bool,
    city_rank: Option<i64>,
    score: Option<f64>,
}

async fn listing(state: &AppState, batch_id: &str) -> AppResult<Listing> {
    let all = applications::listed_in_batch(&state.db, batch_id).await?;
    let items = recommendations::items_for_batch(&state.db, batch_id).await?;
    let settings = svc::settings(&state.db, &state.program, batch_id).await?;
    let scores: HashMap<String, f64> = svc::results(
        &state.db,
        &settings,
        all.iter().map(|a| (a.id.as_str(), a.state)),
    )
    .await?
    .into_iter()
    .map(|r| (r.application, r.final_score))
    .collect();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut industries: Vec<String> = all.iter().map(|a| a.industry.clone()).collect();
    industries.sort();
    industries.dedup();
    industries.retain(|i| !i.is_empty());
    let lines = all
        .into_iter()
        .map(|app| {
            *counts.entry(app.state.as_str()).or_default() += 1;
            let item = items.get(&app.id);
            let recommended = item.is_some()
                && !matches!(
                    app.state,
                    AppStateKind::CityPassed | AppStateKind::NotRecommended
                );
            Line {
                name_upper: app.enterprise_name.to_uppercase(),
                recommended,
                city_rank: item.filter(|_| recommended).map(|i| i.rank),
                score: scores.get(&app.id).copied(),
                app,
            }
        })
        .collect();
    Ok(Listing {
        lines,
        counts,
        industries,
    })
}

/// One row of the page shown.
pub struct Row {
    pub id: String,
    pub enterprise_name: String,
    pub credit_code: String,
    pub city: &'static str,
    pub industry: String,
    pub state: &'static str,
    pub recommended: bool,
    pub city_rank: String,
    pub score_text: String,
    pub submitted_at: String,
}

#[derive(Template)]
#[template(path = "province/applications.html")]
struct ListPage<'a> {
    page: Page,
    q: ListQuery,
    batch_id: String,
    batch_name: String,
    rows: Vec<Row>,
    total: usize,
    counts: Vec<(&'static str, &'static str, usize)>,
    cities: &'static [region::City],
    states: Vec<(&'static str, &'static str)>,
    industries: &'a [String],
    pages: usize,
    page_no: usize,
    query_base: String,
}

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> AppResult<Html<String>> {
    let batch = city_batch(&state, Some(&q.batch)).await?;
    let listing = state
        .caches
        .province_lists
        .get(&state.db, &batch.id, || listing(&state, &batch.id))
        .await?;
    let min = crate::domain::scoring::parse_score(&q.min);
    let max = crate::domain::scoring::parse_score(&q.max);
    let needle = q.q.trim().to_uppercase();
    let mut rows: Vec<&Line> = listing
        .lines
        .iter()
        .filter(|l| {
            let app = &l.app;
            (q.city.is_empty() || app.city_code == q.city)
                && (q.state.is_empty() || app.state.as_str() == q.state)
                && (q.industry.is_empty() || app.industry == q.industry)
                && match q.recommended.as_str() {
                    "yes" => l.recommended,
                    "no" => !l.recommended,
                    _ => true,
                }
                && min.is_none_or(|m| l.score.is_some_and(|s| s >= m))
                && max.is_none_or(|m| l.score.is_some_and(|s| s <= m))
                && (needle.is_empty()
                    || l.name_upper.contains(&needle)
                    || app.credit_code.contains(&needle))
        })
        .collect();
    match q.sort.as_str() {
        "name" => rows.sort_by(|a, b| a.app.enterprise_name.cmp(&b.app.enterprise_name)),
        "submitted" => rows.sort_by_key(|r| std::cmp::Reverse(r.app.submitted_at)),
        "score" => rows.sort_by(|a, b| b.score.unwrap_or(-1.0).total_cmp(&a.score.unwrap_or(-1.0))),
        _ => {}
    }
    let total = rows.len();
    let pages = total.div_ceil(PAGE).max(1);
    let page_no = q.page.clamp(1, pages);
    let rows: Vec<Row> = rows
        .into_iter()
        .skip((page_no - 1) * PAGE)
        .take(PAGE)
        .map(|l| Row {
            id: l.app.id.clone(),
            enterprise_name: l.app.enterprise_name.clone(),
            credit_code: l.app.credit_code.clone(),
            city: region::city(&l.app.city_code).map_or("", |c| c.name),
            industry: l.app.industry.clone(),
            state: l.app.state.label(),
            recommended: l.recommended,
            city_rank: l.city_rank.map(|r| r.to_string()).unwrap_or_default(),
            score_text: l.score.map(show).unwrap_or_default(),
            submitted_at: l
                .app
                .submitted_at
                .map(crate::clock::format_datetime)
                .unwrap_or_default(),
        })
        .collect();
    let query_base = format!(
        "/province/applications?batch={}&city={}&state={}&industry={}&recommended={}&min={}&max={}&q={}&sort={}",
        urlencode(&batch.id),
        urlencode(&q.city),
        urlencode(&q.state),
        urlencode(&q.industry),
        urlencode(&q.recommended),
        urlencode(&q.min),
        urlencode(&q.max),
        urlencode(&q.q),
        urlencode(&q.sort)
    );
    let page = ListPage {
        page: Page::new(&state, &ctx, "申报汇总"),
        counts: AppStateKind::ALL
            .iter()
            .filter(|s| **s != AppStateKind::Draft)
            .map(|s| {
                (
                    s.as_str(),
                    s.label(),
                    listing.counts.get(s.as_str()).copied().unwrap_or(0),
                )
            })
            .collect(),
        states: AppStateKind::ALL
            .iter()
            .filter(|s| **s != AppStateKind::Draft)
            .map(|s| (s.as_str(), s.label()))
            .collect(),
        batch_id: batch.id.clone(),
        batch_name: batch.name.clone(),
        q,
        rows,
        total,
        cities: region::cities(),
        industries: &listing.industries,
        pages,
        page_no,
        query_base,
    };
    Ok(Html(page.render()?))
}

pub struct ScoreRow {
    pub expert: String,
    pub status: &'static str,
    pub total: String,
    pub comment: String,
    pub decline_reason: String,
}

#[derive(Template)]
#[template(path = "province/application.html")]
struct ViewPage {
    page: Page,
    app: Application,
    city: String,
    dossier: Dossier,
    versions: Vec<(i64, String, String)>,
    screenings: Vec<Screening>,
    reason: String,
    opinion: String,
    city_rank: String,
    scores: Vec<ScoreRow>,
    events: Vec<Event>,
}

async fn view(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Html<String>> {
    let app = applications::by_id(&state.db, &id)
        .await?
        .filter(|a| a.state != AppStateKind::Draft)
        .ok_or(AppError::NotFound)?;
    let dossier = dossier::of(&state, &app, false).await?;
    let versions = applications::versions(&state.db, &app.id)
        .await?
        .into_iter()
        .filter(|v| v.kind == "submitted")
        .map(|v| {
            (
                v.version,
                v.at_text(),
                v.fingerprint.clone().unwrap_or_default(),
            )
        })
        .collect();
    let items = recommendations::items(&state.db, &app.batch_id, &app.city_code).await?;
    let item = items.iter().find(|i| i.application_id == app.id);
    let experts: HashMap<String, String> = rs::experts(&state.db)
        .await?
        .into_iter()
        .map(|e| (e.id, format!("{}（{}）", e.name, e.unit)))
        .collect();
    let scores = rs::for_application(&state.db, &app.id)
        .await?
        .into_iter()
        .map(|a| ScoreRow {
            expert: experts.get(&a.expert_id).cloned().unwrap_or_default(),
            status: a.status.label(),
            total: a.total().map(show).unwrap_or_default(),
            comment: a.comment.clone(),
            decline_reason: a.decline_reason.clone(),
        })
        .collect();
    let page = ViewPage {
        page: Page::new(&state, &ctx, format!("申报书：{}", app.enterprise_name)),
        city: city_name(&app.city_code),
        dossier,
        versions,
        screenings: screening::history(&state.db, &app.id).await?,
        reason: item.map(|i| i.reason.clone()).unwrap_or_default(),
        opinion: item.map(|i| i.opinion.clone()).unwrap_or_default(),
        city_rank: item.map(|i| i.rank.to_string()).unwrap_or_default(),
        scores,
        events: applications::events(&state.db, &app.id).await?,
        app,
    };
    Ok(Html(page.render()?))
}
