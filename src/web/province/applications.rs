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
use crate::store::applications::{self, Application, Event};
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
/// database generation (`store::derived`). Its lines are compact (a city and
/// an industry by number, no copy of a name in capitals that is the same):
/// at 100,000 applications the whole list is held in about 20 MB.
pub struct Listing {
    /// By city (in code order), name and id.
    lines: Vec<Line>,
    counts: BTreeMap<&'static str, usize>,
    /// The industries named, in the order of their numbers in [`Line`].
    industry_names: Vec<Box<str>>,
    /// The same, sorted, for the filter.
    industries: Vec<String>,
    /// The lines by name, by submission (latest first) and by score (best
    /// first), as indexes into `lines`: sorted once, when first asked for.
    orders: [std::sync::OnceLock<Vec<u32>>; 3],
}

impl Listing {
    /// The lines in the order `sort` names (the list's own order else).
    fn walk<'a>(&'a self, sort: &str) -> Box<dyn Iterator<Item = &'a Line> + 'a> {
        let (slot, key): (usize, fn(&Line, &Line) -> std::cmp::Ordering) = match sort {
            "name" => (0, |a, b| a.enterprise_name.cmp(&b.enterprise_name)),
            "submitted" => (1, |a, b| b.submitted_at.cmp(&a.submitted_at)),
            "score" => (2, |a, b| {
                b.score.unwrap_or(-1.0).total_cmp(&a.score.unwrap_or(-1.0))
            }),
            _ => return Box::new(self.lines.iter()),
        };
        let order = self.orders[slot].get_or_init(|| {
            let mut order: Vec<u32> = (0..self.lines.len() as u32).collect();
            // Stable: equal lines keep the list's own order.
            order.sort_by(|a, b| key(&self.lines[*a as usize], &self.lines[*b as usize]));
            order
        });
        Box::new(order.iter().map(|i| &self.lines[*i as usize]))
    }
}

struct Line {
    id: Box<str>,
    enterprise_name: Box<str>,
    /// The name in capitals, for the search, where it differs.
    name_upper: Option<Box<str>>,
    credit_code: Box<str>,
    /// Index into `region::cities()`.
    city: u8,
    /// Index into [`Listing::industry_names`].
    industry: u16,
    state: AppStateKind,
    recommended: bool,
    city_rank: Option<u32>,
    score: Option<f64>,
    submitted_at: Option<i64>,
}

impl Line {
    fn city_name(&self) -> &'static str {
        region::cities()
            .get(usize::from(self.city))
            .map_or("", |c| c.name)
    }
}

async fn listing(state: &AppState, batch_id: &str) -> AppResult<Listing> {
    let mut cities: Vec<(usize, &region::City)> = region::cities().iter().enumerate().collect();
    cities.sort_by_key(|(_, c)| c.code);
    let mut lines: Vec<Line> = Vec::new();
    let mut industry_names: Vec<Box<str>> = Vec::new();
    let mut industry_of: HashMap<String, u16> = HashMap::new();
    // City by city: only one city's rows are held as read.
    for (n, city) in cities {
        for app in applications::listed_in_city(&state.db, batch_id, city.code).await? {
            let industry = match industry_of.get(&app.industry) {
                Some(i) => *i,
                None => {
                    let i = u16::try_from(industry_names.len()).unwrap_or(u16::MAX);
                    industry_names.push(app.industry.as_str().into());
                    industry_of.insert(app.industry, i);
                    i
                }
            };
            let upper = app.enterprise_name.to_uppercase();
            lines.push(Line {
                name_upper: (upper != app.enterprise_name).then(|| upper.into()),
                id: app.id.into(),
                enterprise_name: app.enterprise_name.into(),
                credit_code: app.credit_code.into(),
                city: u8::try_from(n).unwrap_or(u8::MAX),
                industry,
                state: app.state,
                recommended: false,
                city_rank: None,
                score: None,
                submitted_at: app.submitted_at,
            });
        }
    }
    lines.shrink_to_fit();
    let items = recommendations::items_for_batch(&state.db, batch_id).await?;
    let settings = svc::settings(&state.db, &state.program, batch_id).await?;
    let scores: HashMap<String, f64> = svc::results(
        &state.db,
        &settings,
        lines.iter().map(|l| (&*l.id, l.state)),
    )
    .await?
    .into_iter()
    .map(|r| (r.application, r.final_score))
    .collect();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for line in &mut lines {
        *counts.entry(line.state.as_str()).or_default() += 1;
        let item = items.get(&*line.id);
        line.recommended = item.is_some()
            && !matches!(
                line.state,
                AppStateKind::CityPassed | AppStateKind::NotRecommended
            );
        line.city_rank = item
            .filter(|_| line.recommended)
            .and_then(|i| u32::try_from(i.rank).ok());
        line.score = scores.get(&*line.id).copied();
    }
    let mut industries: Vec<String> = industry_names
        .iter()
        .filter(|i| !i.is_empty())
        .map(|i| i.to_string())
        .collect();
    industries.sort();
    Ok(Listing {
        lines,
        counts,
        industry_names,
        industries,
        orders: Default::default(),
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
    let listing = state
        .caches
        .province_lists
        .get(&state.db, &batch.id, || listing(&state, &batch.id))
        .await?;
    let (total, rows) = page_of(&listing, &q);
    let pages = total.div_ceil(PAGE).max(1);
    let page_no = q.page.clamp(1, pages);
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

/// The lines `q` asks for: how many there are, and its page of them.
fn page_of(listing: &Listing, q: &ListQuery) -> (usize, Vec<Row>) {
    let min = crate::domain::scoring::parse_score(&q.min);
    let max = crate::domain::scoring::parse_score(&q.max);
    let needle = q.q.trim().to_uppercase();
    // A filter on a city or industry the list does not hold matches nothing.
    let city = (!q.city.is_empty()).then(|| region::cities().iter().position(|c| c.code == q.city));
    let industry = (!q.industry.is_empty()).then(|| {
        listing
            .industry_names
            .iter()
            .position(|i| **i == *q.industry)
    });
    let shown = |l: &&Line| {
        city.is_none_or(|c| c == Some(usize::from(l.city)))
            && (q.state.is_empty() || l.state.as_str() == q.state)
            && industry.is_none_or(|i| i == Some(usize::from(l.industry)))
            && match q.recommended.as_str() {
                "yes" => l.recommended,
                "no" => !l.recommended,
                _ => true,
            }
            && min.is_none_or(|m| l.score.is_some_and(|s| s >= m))
            && max.is_none_or(|m| l.score.is_some_and(|s| s <= m))
            && (needle.is_empty()
                || l.name_upper
                    .as_deref()
                    .unwrap_or(&l.enterprise_name)
                    .contains(&needle)
                || l.credit_code.contains(&needle))
    };
    // Counted, then the page taken, as the lines are walked: no request
    // collects or sorts the list.
    let total = listing.walk(&q.sort).filter(&shown).count();
    let from = (q.page.clamp(1, total.div_ceil(PAGE).max(1)) - 1) * PAGE;
    let page_lines: Vec<&Line> = listing
        .walk(&q.sort)
        .filter(&shown)
        .skip(from)
        .take(PAGE)
        .collect();
    let rows: Vec<Row> = page_lines
        .into_iter()
        .map(|l| Row {
            id: l.id.to_string(),
            enterprise_name: l.enterprise_name.to_string(),
            credit_code: l.credit_code.to_string(),
            city: l.city_name(),
            industry: listing
                .industry_names
                .get(usize::from(l.industry))
                .map_or_else(String::new, |i| i.to_string()),
            state: l.state.label(),
            recommended: l.recommended,
            city_rank: l.city_rank.map(|r| r.to_string()).unwrap_or_default(),
            score_text: l.score.map(show).unwrap_or_default(),
            submitted_at: l
                .submitted_at
                .map(crate::clock::format_datetime)
                .unwrap_or_default(),
        })
        .collect();
    (total, rows)
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
