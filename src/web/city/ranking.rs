//! The city's ranking: passed applications by average weighted total, with
//! per-criterion averages and the spread between reviewers; equal totals
//! are ordered by hand with a recorded reason.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::domain::lifecycle::State as AppStateKind;
use crate::domain::role::Role;
use crate::domain::scoring::{self, Entry, Review, Sheet, show};
use crate::store::audit::{self, Action};
use crate::store::batches::BatchRow;
use crate::store::scoring as score_store;
use crate::store::{Batch, StoreError, applications, recommendations};
use crate::web::AppState;
use crate::web::city::inbox::{
    city_batch, city_name, city_of, county_name, field, locked, with_batch,
};
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::flash;
use crate::web::shared::page::{Errors, Page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/city/ranking", get(ranking))
        .route("/city/ranking/ties", post(save_ties))
        .route_layer(axum::middleware::from_fn(crate::web::shared::guard::city))
}

pub struct RankRow {
    pub id: String,
    pub name: String,
    pub county: String,
    pub state: AppStateKind,
    pub place: String,
    pub reviewers: usize,
    pub average: String,
    pub per: Vec<String>,
    pub spread: String,
    pub tied: bool,
    pub tie_reason: String,
    /// Its place in the recommendation list (0: not listed).
    pub listed: i64,
}

pub struct TieMember {
    pub id: String,
    pub name: String,
    pub position: String,
}

pub struct TieGroup {
    pub index: usize,
    pub total: String,
    pub members: Vec<TieMember>,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "city/ranking.html")]
struct RankingPage {
    page: Page,
    city_name: String,
    batch: BatchRow,
    headers: Vec<String>,
    max_total: String,
    source: &'static str,
    rows: Vec<RankRow>,
    /// All passed applications (rows holds one page of them).
    total: usize,
    page_no: usize,
    pages: usize,
    prev: String,
    next: String,
    groups: Vec<TieGroup>,
    lock: String,
    cap: String,
    listed: usize,
    /// The list has reached the city's cap: nothing more can be added.
    full: bool,
    errors: Errors,
    notice: String,
}

#[derive(Deserialize, Default)]
struct RankingQuery {
    #[serde(default)]
    batch: Option<String>,
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    page: Option<usize>,
}

/// Lines of the ranking per page.
const PAGE_SIZE: usize = 100;

/// What the ranking page reads, kept together while nothing is written
/// (`store::derived`): the ranking, the recommendation's lines, the city's
/// cap and whether its recommendation is locked.
pub(crate) struct RankingReads {
    ranking: Ranking,
    items: Vec<recommendations::Item>,
    cap: Option<i64>,
    lock: Option<String>,
}

pub(crate) struct Ranking {
    pub sheet: Sheet,
    pub source: &'static str,
    pub ranked: Vec<scoring::Ranked>,
    /// Name, county and state of each application.
    pub apps: HashMap<String, (String, String, AppStateKind)>,
    pub ties: HashMap<String, score_store::Tie>,
}

/// The city's passed applications in the batch, ranked.
pub(crate) async fn compute(state: &AppState, batch_id: &str, city: &str) -> AppResult<Ranking> {
    let stored = score_store::effective(&state.db, batch_id, city).await?;
    let rows = applications::in_city(
        &state.db,
        batch_id,
        city,
        &[
            AppStateKind::CityPassed,
            AppStateKind::Recommended,
            AppStateKind::NotRecommended,
        ],
    )
    .await?;
    let mut by_app: HashMap<String, Vec<Review>> = HashMap::new();
    for (app, scores) in score_store::scores_for_city(&state.db, batch_id, city).await? {
        by_app.entry(app).or_default().push(Review {
            reviewer: String::new(),
            scores,
            comment: String::new(),
        });
    }
    let ties = score_store::ties(&state.db, batch_id, city).await?;
    let mut apps = HashMap::new();
    let entries = rows
        .into_iter()
        .map(|a| {
            apps.insert(
                a.id.clone(),
                (
                    a.enterprise_name,
                    county_name(city, &a.county_code),
                    a.state,
                ),
            );
            Entry {
                reviews: by_app.remove(&a.id).unwrap_or_default(),
                tie_position: ties.get(&a.id).map(|t| t.position),
                submitted_at: a.submitted_at.unwrap_or(0),
                application_id: a.id,
            }
        })
        .collect();
    Ok(Ranking {
        ranked: scoring::rank(&stored.sheet, entries),
        source: stored.source.label(),
        sheet: stored.sheet,
        apps,
        ties,
    })
}

async fn ranking(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<RankingQuery>,
) -> AppResult<Html<String>> {
    let city = city_of(&ctx)?;
    let batch = city_batch(&state, q.batch.as_deref()).await?;
    let reads = state
        .caches
        .city_rankings
        .get(&state.db, &format!("{}|{city}", batch.id), || async {
            Ok::<_, AppError>(RankingReads {
                ranking: compute(&state, &batch.id, &city).await?,
                items: recommendations::items(&state.db, &batch.id, &city).await?,
                cap: recommendations::cap(&state.db, &batch.id, &city).await?,
                lock: locked(&state, &batch.id, &city).await?,
            })
        })
        .await?;
    let (r, items) = (&reads.ranking, &reads.items);
    let listed_at = |id: &str| {
        items
            .iter()
            .position(|i| i.application_id == id)
            .map_or(0, |p| p as i64 + 1)
    };
    let total = r.ranked.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page_no = q.page.unwrap_or(1).clamp(1, pages);
    let shown = (page_no - 1) * PAGE_SIZE..(page_no * PAGE_SIZE).min(total);
    let name_of = |id: &str| {
        r.apps
            .get(id)
            .cloned()
            .unwrap_or((String::new(), String::new(), AppStateKind::CityPassed))
    };
    // Every group of equal totals with a line on this page, whole.
    let mut groups: Vec<TieGroup> = Vec::new();
    for x in &r.ranked {
        let Some(g) = x.tie_group else { continue };
        let on_page = r.ranked[shown.clone()]
            .iter()
            .any(|y| y.tie_group == Some(g));
        if !on_page {
            continue;
        }
        let tie = r.ties.get(&x.application_id);
        if groups.last().is_none_or(|l| l.index != g) {
            groups.push(TieGroup {
                index: g,
                total: x.average.map(show).unwrap_or_default(),
                members: Vec::new(),
                reason: tie.map(|t| t.reason.clone()).unwrap_or_default(),
            });
        }
        if let Some(last) = groups.last_mut() {
            last.members.push(TieMember {
                id: x.application_id.clone(),
                name: name_of(&x.application_id).0,
                position: tie.map(|t| t.position.to_string()).unwrap_or_default(),
            });
        }
    }
    let rows: Vec<RankRow> = r.ranked[shown.clone()]
        .iter()
        .map(|x| {
            let (name, county, st) = name_of(&x.application_id);
            let tie = r.ties.get(&x.application_id);
            RankRow {
                place: x
                    .place
                    .map_or_else(|| "未评分".to_string(), |p| p.to_string()),
                reviewers: x.reviewers,
                average: x.average.map(show).unwrap_or_default(),
                per: x
                    .per_criterion
                    .iter()
                    .map(|v| v.map(show).unwrap_or_default())
                    .collect(),
                spread: x.spread.map(show).unwrap_or_default(),
                tied: x.tie_group.is_some(),
                tie_reason: if x.tie_group.is_some() {
                    tie.map(|t| t.reason.clone()).unwrap_or_default()
                } else {
                    String::new()
                },
                listed: listed_at(&x.application_id),
                id: x.application_id.clone(),
                name,
                county,
                state: st,
            }
        })
        .collect();
    let link = |p: usize| format!("{}&page={p}", with_batch("/city/ranking", &batch.id));
    let (prev, next) = (
        if page_no > 1 {
            link(page_no - 1)
        } else {
            String::new()
        },
        if page_no < pages {
            link(page_no + 1)
        } else {
            String::new()
        },
    );
    let cap = reads.cap;
    let errors = Errors::from_flash(ctx.flash.as_ref(), &[("ties", "并列排序")]);
    let page = RankingPage {
        page: Page::new(&state, &ctx, "评审排名"),
        city_name: city_name(&city),
        headers: r.sheet.criteria.iter().map(|c| c.name.clone()).collect(),
        max_total: show(r.sheet.max_total()),
        source: r.source,
        lock: reads.lock.clone().unwrap_or_default(),
        cap: cap.map_or_else(
            || "省经信厅未设推荐名额上限".to_string(),
            |n| format!("本市推荐名额上限{n}家"),
        ),
        listed: items.len(),
        full: cap.is_some_and(|n| items.len() >= n as usize),
        notice: if q.saved.is_some() {
            "并列排序已保存。".into()
        } else {
            String::new()
        },
        batch,
        rows,
        total,
        page_no,
        pages,
        prev,
        next,
        groups,
        errors,
    };
    Ok(Html(page.render()?))
}

/// Orders one group of equal totals by hand: positions 1…n and a reason.
async fn save_ties(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let city = city_of(&ctx)?;
    let batch = city_batch(&state, Some(&field(&pairs, "batch"))).await?;
    let to = format!("{}#ties", with_batch("/city/ranking", &batch.id));
    let back = |e: &str| flash::redirect(&state, &to, "ties", e);
    let ids: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "app")
        .map(|(_, v)| v.clone())
        .collect();
    let reason: String = field(&pairs, "reason").chars().take(500).collect();
    let r = compute(&state, &batch.id, &city).await?;
    // Every id must be one of this city's applications, tied in one group.
    let group = ids
        .first()
        .and_then(|id| r.ranked.iter().find(|x| &x.application_id == id))
        .and_then(|x| x.tie_group);
    let members: Vec<&str> = r
        .ranked
        .iter()
        .filter(|x| group.is_some() && x.tie_group == group)
        .map(|x| x.application_id.as_str())
        .collect();
    if ids.iter().any(|id| !r.apps.contains_key(id)) {
        return Err(AppError::NotFound);
    }
    if group.is_none()
        || members.len() != ids.len()
        || ids.iter().any(|id| !members.contains(&id.as_str()))
    {
        return Ok(back(
            "排名已发生变化，这些申报书已不再并列，请刷新后重新排序。",
        ));
    }
    let mut positions = Vec::new();
    for id in &ids {
        match field(&pairs, &format!("pos.{id}")).parse::<i64>() {
            Ok(p) if p >= 1 && p <= ids.len() as i64 => positions.push(p),
            _ => {
                return Ok(back(&format!(
                    "请为并列的每家企业填写1到{}之间的顺序号",
                    ids.len()
                )));
            }
        }
    }
    let mut sorted = positions.clone();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != positions.len() {
        return Ok(back("顺序号不能重复"));
    }
    if reason.chars().count() < 2 {
        return Ok(back("请填写并列排序的理由"));
    }
    if let Some(m) = locked(&state, &batch.id, &city).await? {
        return Ok(back(&m));
    }
    let now = state.clock.now();
    let user = ctx.require_role(Role::City)?;
    let mut b = Batch::new();
    recommendations::guard(&mut b, &batch.id, &city, now);
    let mut order: Vec<(i64, &str)> = positions
        .iter()
        .copied()
        .zip(ids.iter().map(String::as_str))
        .collect();
    order.sort();
    for (p, id) in &order {
        score_store::set_tie(
            &mut b,
            id,
            &batch.id,
            &city,
            *p,
            &reason,
            &user.username,
            now,
        );
    }
    let names: Vec<String> = order
        .iter()
        .map(|(p, id)| {
            format!(
                "{p}. {}",
                r.apps.get(*id).map(|a| a.0.as_str()).unwrap_or(id)
            )
        })
        .collect();
    audit::record(
        &mut b,
        &ctx.actor(),
        Action::TieOrder,
        Some(&format!("{}/{}", batch.id, city)),
        true,
        &format!("并列排序：{}；理由：{reason}", names.join("，")),
        now,
    );
    match state.db.write(b).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "{}&saved=1#ties",
            with_batch("/city/ranking", &batch.id)
        ))
        .into_response()),
        Err(StoreError::Conflict(_)) => Ok(back("推荐已报送，已锁定，不能再修改。")),
        Err(e) => Err(e.into()),
    }
}
