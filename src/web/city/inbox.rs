//! The city bureau's inbox: its region's applications with counts, filters,
//! sorting and paging; and the helpers every city page shares (which city,
//! which batch, which application, and whether the work is locked).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use serde::Deserialize;

use crate::clock;
use crate::domain::lifecycle::State as AppStateKind;
use crate::domain::region;
use crate::domain::role::Role;
use crate::store::applications::{self, Application, InboxEntry, InboxFilter};
use crate::store::batches::BatchRow;
use crate::store::recommendations;
use crate::web::AppState;
use crate::web::apply::load_visible;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult, urlencode};
use crate::web::shared::page::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/city/applications", get(inbox))
        .route_layer(axum::middleware::from_fn(crate::web::shared::guard::city))
}

// ───────────────────────────── shared helpers ─────────────────────────────

/// The viewer's city code (city bureau accounts only).
pub fn city_of(ctx: &Ctx) -> AppResult<String> {
    let user = ctx.require_role(Role::City)?;
    user.city_code.clone().ok_or(AppError::Forbidden)
}

/// The batch a city page works on: `requested` when given, else the
/// latest-opened batch whose recommendation window is open now, else the
/// latest that has opened.
pub async fn city_batch(state: &AppState, requested: Option<&str>) -> AppResult<BatchRow> {
    pick_batch(&state.batches().await?, requested, state.clock.now())
}

/// [`city_batch`] among `all` (newest opening first, as the store lists them).
fn pick_batch(all: &[BatchRow], requested: Option<&str>, now: i64) -> AppResult<BatchRow> {
    if let Some(id) = requested.filter(|s| !s.is_empty()) {
        return all
            .iter()
            .find(|b| b.id == id)
            .cloned()
            .ok_or(AppError::NotFound);
    }
    all.iter()
        .find(|b| b.opens_at <= now && now <= b.recommend_deadline)
        .or_else(|| all.iter().find(|b| b.opens_at <= now))
        .or_else(|| all.first())
        .cloned()
        .ok_or_else(|| AppError::BadRequest("当前没有申报批次。".into()))
}

/// The application `id` if it belongs to the viewer's city (city accounts
/// only); any other gets "not found", which tells nothing.
pub async fn load_city_app(state: &AppState, ctx: &Ctx, id: &str) -> AppResult<Application> {
    city_of(ctx)?;
    load_visible(state, ctx, id).await
}

/// Why the city cannot change anything in the batch now, if it cannot.
pub async fn locked(state: &AppState, batch_id: &str, city: &str) -> AppResult<Option<String>> {
    let rec = recommendations::get(&state.db, batch_id, city).await?;
    Ok(rec.submitted.then(|| {
        format!(
            "本市推荐已于{}报送省经信厅，已锁定，不能再修改。如需修改，请联系省经信厅重新开放。",
            rec.submitted_text()
        )
    }))
}

/// `/path?batch=…` for links that keep the batch.
pub fn with_batch(path: &str, batch: &str) -> String {
    format!("{path}?batch={}", urlencode(batch))
}

pub fn city_name(code: &str) -> String {
    region::city(code).map_or_else(String::new, |c| c.name.to_string())
}

pub fn county_name(city: &str, county: &str) -> String {
    region::county(city, county).map_or_else(|| county.to_string(), |c| c.name.to_string())
}

/// A form field's trimmed value, or "".
pub fn field(pairs: &[(String, String)], key: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

// ───────────────────────────── the inbox ─────────────────────────────

const PAGE_SIZE: i64 = 50;

#[derive(Deserialize, Default)]
struct InboxQuery {
    #[serde(default)]
    batch: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    industry: Option<String>,
    #[serde(default)]
    county: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    page: Option<i64>,
}

pub struct InboxRow {
    pub id: String,
    pub name: String,
    pub credit_code: String,
    pub county: String,
    pub industry: String,
    pub state: AppStateKind,
    pub submitted_at: String,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "city/inbox.html")]
struct InboxPage {
    page: Page,
    city_name: String,
    batch: BatchRow,
    batches: Vec<Choice>,
    counts: Vec<(AppStateKind, i64)>,
    total_all: i64,
    states: Vec<Choice>,
    industries: Vec<Choice>,
    counties: Vec<Choice>,
    sorts: Vec<Choice>,
    q: String,
    rows: Vec<InboxRow>,
    total: i64,
    page_no: i64,
    pages: i64,
    prev: String,
    next: String,
}

const SORTS: [(&str, &str); 4] = [
    ("new", "提交时间（新→旧）"),
    ("old", "提交时间（旧→新）"),
    ("name", "企业名称"),
    ("updated", "最近办理"),
];

/// `%text%` with LIKE's own characters escaped.
fn like_pattern(q: &str) -> String {
    if q.is_empty() {
        return String::new();
    }
    let mut p = String::from("%");
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

async fn inbox(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<InboxQuery>,
) -> AppResult<Html<String>> {
    let city = city_of(&ctx)?;
    let all_batches = state.batches().await?;
    let batch = pick_batch(&all_batches, q.batch.as_deref(), state.clock.now())?;
    let filter_state = q
        .state
        .as_deref()
        .and_then(AppStateKind::parse)
        .filter(|s| *s != AppStateKind::Draft);
    let industry: String = q
        .industry
        .clone()
        .unwrap_or_default()
        .chars()
        .take(100)
        .collect();
    let county = q
        .county
        .clone()
        .filter(|c| region::county(&city, c).is_some())
        .unwrap_or_default();
    let text: String =
        q.q.clone()
            .unwrap_or_default()
            .trim()
            .chars()
            .take(50)
            .collect();
    let sort = q
        .sort
        .clone()
        .filter(|s| SORTS.iter().any(|(k, _)| k == s))
        .unwrap_or_else(|| "new".into());
    let state_code = filter_state.map_or("", |s| s.as_str());
    let pattern = like_pattern(&text);
    let filter = InboxFilter {
        batch_id: &batch.id,
        city_code: &city,
        state: state_code,
        industry: &industry,
        county_code: &county,
        name_pattern: &pattern,
    };
    // One pass over the city's index entries gives the counts by state, the
    // industries on offer and, unless county or name narrow it, the total.
    let groups = state
        .caches
        .city_counts
        .get(&state.db, &format!("{}|{city}", batch.id), || async {
            Ok::<_, AppError>(applications::inbox_groups(&state.db, &batch.id, &city).await?)
        })
        .await?;
    let total = if county.is_empty() && pattern.is_empty() {
        groups
            .iter()
            .filter(|r| state_code.is_empty() || r.0 == state_code)
            .filter(|r| industry.is_empty() || r.1 == industry)
            .map(|r| r.2)
            .sum()
    } else {
        let key = format!(
            "{}|{city}|{state_code}|{industry}|{county}|{pattern}",
            batch.id
        );
        *state
            .caches
            .inbox_totals
            .get(&state.db, &key, || async {
                Ok::<_, AppError>(applications::inbox_count(&state.db, &filter).await?)
            })
            .await?
    };
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page_no = q.page.unwrap_or(1).clamp(1, pages);
    let key = format!(
        "{}|{city}|{state_code}|{industry}|{county}|{pattern}|{sort}|{page_no}",
        batch.id
    );
    let rows = state
        .caches
        .inbox_pages
        .get(&state.db, &key, || async {
            Ok::<_, AppError>(
                applications::inbox_page(
                    &state.db,
                    &filter,
                    &sort,
                    PAGE_SIZE,
                    (page_no - 1) * PAGE_SIZE,
                )
                .await?,
            )
        })
        .await?
        .iter()
        .cloned()
        .map(|e| inbox_row(&city, e))
        .collect();

    let counts: Vec<(AppStateKind, i64)> = AppStateKind::ALL
        .into_iter()
        .map(|s| {
            let n = groups
                .iter()
                .filter(|r| r.0 == s.as_str())
                .map(|r| r.2)
                .sum();
            (s, n)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    let total_all = counts.iter().map(|c| c.1).sum();
    let mut names: Vec<String> = groups
        .iter()
        .map(|r| r.1.clone())
        .filter(|v| !v.is_empty())
        .collect();
    names.sort();
    names.dedup();
    let industries = names
        .into_iter()
        .map(|v| Choice {
            selected: v == industry,
            label: v.clone(),
            value: v,
        })
        .collect();
    let counties = region::city(&city)
        .map(|c| {
            c.counties
                .iter()
                .map(|k| Choice {
                    value: k.code.to_string(),
                    label: k.name.to_string(),
                    selected: k.code == county,
                })
                .collect()
        })
        .unwrap_or_default();
    let states = counts
        .iter()
        .map(|(s, n)| Choice {
            value: s.as_str().into(),
            label: format!("{}（{n}）", s.label()),
            selected: Some(*s) == filter_state,
        })
        .collect();
    let sorts = SORTS
        .iter()
        .map(|(k, l)| Choice {
            value: k.to_string(),
            label: l.to_string(),
            selected: *k == sort,
        })
        .collect();
    let batches = all_batches
        .iter()
        .map(|b| Choice {
            selected: b.id == batch.id,
            label: b.choice_label(state.clock.now()),
            value: b.id.clone(),
        })
        .collect();
    let link = |p: i64| {
        let mut s = format!(
            "/city/applications?batch={}&state={}&industry={}&county={}&q={}&sort={}&page={p}",
            urlencode(&batch.id),
            state_code,
            urlencode(&industry),
            county,
            urlencode(&text),
            sort
        );
        s.push_str("#list");
        s
    };
    let page = InboxPage {
        page: Page::new(&state, &ctx, "申报受理"),
        city_name: city_name(&city),
        prev: if page_no > 1 {
            link(page_no - 1)
        } else {
            String::new()
        },
        next: if page_no < pages {
            link(page_no + 1)
        } else {
            String::new()
        },
        batch,
        batches,
        counts,
        total_all,
        states,
        industries,
        counties,
        sorts,
        q: text,
        rows,
        total,
        page_no,
        pages,
    };
    Ok(Html(page.render()?))
}

fn inbox_row(city: &str, e: InboxEntry) -> InboxRow {
    InboxRow {
        county: county_name(city, &e.county_code),
        id: e.id,
        name: e.enterprise_name,
        credit_code: e.credit_code,
        industry: e.industry,
        state: e.state,
        submitted_at: e
            .submitted_at
            .map(clock::format_datetime)
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern(""), "");
        assert_eq!(like_pattern("楚云"), "%楚云%");
        assert_eq!(like_pattern("50%_a"), "%50\\%\\_a%");
    }
}
