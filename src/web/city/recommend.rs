//! The city's recommendation: the ordered list up to the province's cap, a
//! 推荐理由 and an 审核意见 for each, the 推荐表 generated from it, the
//! stamped files, and submission before the province's deadline. After
//! submission everything is locked; enterprises then see 推荐 or 未推荐.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::clock;
use crate::domain::lifecycle::State as AppStateKind;
use crate::domain::role::Role;
use crate::domain::scoring::show;
use crate::store::audit::{self, Action};
use crate::store::batches::BatchRow;
use crate::store::recommendations::{self, File, FileKind, Recommendation};
use crate::store::{Batch, Guard, StoreError, applications};
use crate::web::AppState;
use crate::web::city::inbox::{
    city_batch, city_name, city_of, field, load_city_app, locked, with_batch,
};
use crate::web::city::ranking::compute;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::flash;
use crate::web::shared::page::{Errors, Page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/city/recommendation", get(page))
        .route("/city/recommendation/add", post(add))
        .route("/city/recommendation/save", post(save))
        .merge(crate::web::city::submit::router())
        .route_layer(axum::middleware::from_fn(crate::web::shared::guard::city))
        // The stamped files and the 推荐表 are the province's to read too.
        .merge(crate::web::city::files::router())
}

/// The best-ranked candidates offered here; the ranking page lists all.
const CANDIDATES: usize = 30;

pub struct ItemView {
    pub id: String,
    pub name: String,
    pub county: String,
    pub rank: String,
    pub reason: String,
    pub opinion: String,
    pub average: String,
    pub place: String,
    pub error: String,
}

pub struct Candidate {
    pub id: String,
    pub name: String,
    pub average: String,
    pub place: String,
}

pub struct FileView {
    pub kind: &'static str,
    pub label: &'static str,
    pub file: Option<File>,
}

#[derive(Template)]
#[template(path = "city/recommend.html")]
struct RecPage {
    page: Page,
    city_name: String,
    batch: BatchRow,
    rec: Recommendation,
    items: Vec<ItemView>,
    candidates: Vec<Candidate>,
    /// The list has reached the city's cap: nothing more can be added.
    full: bool,
    cap_text: String,
    deadline: String,
    late: bool,
    files: Vec<FileView>,
    lock: String,
    pending: i64,
    errors: Errors,
    notice: String,
}

#[derive(Deserialize, Default)]
struct RecQuery {
    #[serde(default)]
    batch: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

/// The text posted for an item, else what is stored.
pub(crate) struct Posted<'a>(pub Option<&'a [(String, String)]>);

impl Posted<'_> {
    fn get(&self, key: &str, id: &str, stored: &str) -> String {
        match self.0 {
            Some(p) => field(p, &format!("{key}.{id}")),
            None => stored.to_string(),
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn render(
    state: &AppState,
    ctx: &Ctx,
    city: &str,
    batch: BatchRow,
    posted: Posted<'_>,
    item_errors: &[(String, String)],
    errors: Errors,
    notice: String,
) -> AppResult<String> {
    let rec = recommendations::get(&state.db, &batch.id, city).await?;
    let stored = recommendations::items(&state.db, &batch.id, city).await?;
    let ranking = compute(state, &batch.id, city).await?;
    let scored = |id: &str| {
        ranking
            .ranked
            .iter()
            .find(|r| r.application_id == id)
            .map(|r| {
                (
                    r.average.map(show).unwrap_or_else(|| "未评分".into()),
                    r.place.map(|p| p.to_string()).unwrap_or_default(),
                )
            })
            .unwrap_or_default()
    };
    let items: Vec<ItemView> = stored
        .iter()
        .map(|i| {
            let (name, county, _) = ranking.apps.get(&i.application_id).cloned().unwrap_or((
                String::new(),
                String::new(),
                AppStateKind::CityPassed,
            ));
            let (average, place) = scored(&i.application_id);
            ItemView {
                rank: posted.get("rank", &i.application_id, &i.rank.to_string()),
                reason: posted.get("reason", &i.application_id, &i.reason),
                opinion: posted.get("opinion", &i.application_id, &i.opinion),
                error: item_errors
                    .iter()
                    .filter(|(id, _)| *id == i.application_id)
                    .map(|(_, e)| e.as_str())
                    .collect::<Vec<_>>()
                    .join("；"),
                id: i.application_id.clone(),
                name,
                county,
                average,
                place,
            }
        })
        .collect();
    let candidates = ranking
        .ranked
        .iter()
        .filter(|r| !stored.iter().any(|i| i.application_id == r.application_id))
        .filter_map(|r| {
            let (name, _, st) = ranking.apps.get(&r.application_id)?;
            (*st == AppStateKind::CityPassed).then(|| Candidate {
                id: r.application_id.clone(),
                name: name.clone(),
                average: r.average.map(show).unwrap_or_else(|| "未评分".into()),
                place: r.place.map(|p| p.to_string()).unwrap_or_default(),
            })
        })
        .take(CANDIDATES)
        .collect();
    let cap = recommendations::cap(&state.db, &batch.id, city).await?;
    let files = recommendations::files(&state.db, &batch.id, city).await?;
    let files = FileKind::ALL
        .into_iter()
        .map(|k| FileView {
            kind: k.as_str(),
            label: k.label(),
            file: files.iter().find(|f| f.kind == k).cloned(),
        })
        .collect();
    let pending =
        applications::count_in_city(&state.db, &batch.id, city, AppStateKind::Submitted).await?;
    let page = RecPage {
        page: Page::new(state, ctx, "推荐报送"),
        city_name: city_name(city),
        cap_text: cap.map_or_else(
            || "省经信厅未设本市推荐名额上限".to_string(),
            |n| format!("本市推荐名额上限{n}家"),
        ),
        deadline: clock::format_deadline(batch.recommend_deadline),
        late: state.clock.now() > batch.recommend_deadline,
        lock: locked(state, &batch.id, city).await?.unwrap_or_default(),
        full: cap.is_some_and(|n| items.len() >= n as usize),
        batch,
        rec,
        items,
        candidates,
        files,
        pending,
        errors,
        notice,
    };
    Ok(page.render()?)
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<RecQuery>,
) -> AppResult<Html<String>> {
    let city = city_of(&ctx)?;
    let batch = city_batch(&state, q.batch.as_deref()).await?;
    let notice = match q.done.as_deref() {
        Some("added") => "已加入推荐名单，请填写推荐理由和审核意见。",
        Some("saved") => "推荐排序、推荐理由和审核意见已保存。",
        Some("uploaded") => "文件已上传。",
        Some("submitted") => "推荐已报送省经信厅，名单已锁定。企业现在可以看到推荐结果。",
        _ => "",
    };
    let errors = Errors::from_flash(ctx.flash.as_ref(), &[("files", "盖章文件")]);
    Ok(Html(
        render(
            &state,
            &ctx,
            &city,
            batch,
            Posted(None),
            &[],
            errors,
            notice.into(),
        )
        .await?,
    ))
}

/// Adds a passed application of the city to the end of the list, within the cap.
async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let city = city_of(&ctx)?;
    let app = load_city_app(&state, &ctx, &field(&pairs, "application")).await?;
    let batch = city_batch(&state, Some(&app.batch_id)).await?;
    let back_to = if field(&pairs, "back") == "ranking" {
        "/city/ranking"
    } else {
        "/city/recommendation"
    };
    let back = |e: &str| flash::redirect(&state, &with_batch(back_to, &batch.id), "action", e);
    if let Some(m) = locked(&state, &batch.id, &city).await? {
        return Ok(back(&m));
    }
    if app.state != AppStateKind::CityPassed {
        return Ok(back(&format!(
            "“{}”当前状态为“{}”，只有形式审查通过的申报书可以推荐。",
            app.enterprise_name,
            app.state.label()
        )));
    }
    let items = recommendations::items(&state.db, &batch.id, &city).await?;
    if items.iter().any(|i| i.application_id == app.id) {
        return Ok(back(&format!("“{}”已在推荐名单中。", app.enterprise_name)));
    }
    let cap = recommendations::cap(&state.db, &batch.id, &city).await?;
    let full = |n: i64| {
        format!("已达到本市推荐名额上限（{n}家），不能再加入。如需调整，请先移出其他企业。")
    };
    if let Some(n) = cap
        && items.len() as i64 >= n
    {
        return Ok(back(&full(n)));
    }
    let now = state.clock.now();
    let user = ctx.require_role(Role::City)?;
    let mut b = Batch::new();
    recommendations::guard_list(&mut b, &batch.id, &city, None, now);
    recommendations::add_item(
        &mut b,
        &app.id,
        &batch.id,
        &city,
        items.len() as i64 + 1,
        cap,
        &user.username,
        now,
    );
    audit::record(
        &mut b,
        &ctx.actor(),
        Action::RecommendationChange,
        Some(&app.id),
        true,
        &format!(
            "加入推荐名单：{}（第{}位）",
            app.enterprise_name,
            items.len() + 1
        ),
        now,
    );
    match state.db.write(b).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "{}&done=added#list",
            with_batch("/city/recommendation", &batch.id)
        ))
        .into_response()),
        Err(StoreError::Conflict(Guard::RecommendationRoom)) => Ok(back(&full(cap.unwrap_or(0)))),
        Err(StoreError::Conflict(_)) => Ok(back("推荐已报送，已锁定，不能再修改。")),
        Err(StoreError::Unique(_)) => {
            Ok(back(&format!("“{}”已在推荐名单中。", app.enterprise_name)))
        }
        Err(e) => Err(e.into()),
    }
}

/// Saves order, reasons and opinions (and removes an item when asked).
async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let city = city_of(&ctx)?;
    let batch = city_batch(&state, Some(&field(&pairs, "batch"))).await?;
    let items = recommendations::items(&state.db, &batch.id, &city).await?;
    let remove = field(&pairs, "remove");
    let mut errors = Errors::default();
    let mut item_errors = Vec::new();
    if !remove.is_empty() && !items.iter().any(|i| i.application_id == remove) {
        // Not on this city's list: says nothing about whether it exists.
        return Err(AppError::NotFound);
    }
    let kept: Vec<_> = items
        .iter()
        .filter(|i| i.application_id != remove)
        .collect();
    let mut ordered = Vec::new();
    for i in &kept {
        let id = &i.application_id;
        let rank = field(&pairs, &format!("rank.{id}"));
        let reason: String = field(&pairs, &format!("reason.{id}"))
            .chars()
            .take(500)
            .collect();
        let opinion: String = field(&pairs, &format!("opinion.{id}"))
            .chars()
            .take(1000)
            .collect();
        match rank.parse::<i64>() {
            Ok(r) if r >= 1 => ordered.push((r, id.clone(), reason, opinion)),
            _ => item_errors.push((id.clone(), "推荐排序须为正整数".to_string())),
        }
    }
    let mut ranks: Vec<i64> = ordered.iter().map(|o| o.0).collect();
    ranks.sort();
    let n = ranks.len();
    ranks.dedup();
    if ranks.len() != n {
        errors.add(
            "list",
            "推荐名单",
            "推荐排序不能重复，请为每家企业填写不同的序号",
        );
    }
    for (id, e) in &item_errors {
        let name = kept
            .iter()
            .find(|i| &i.application_id == id)
            .map(|_| id.as_str())
            .unwrap_or("");
        errors.add("list", "推荐名单", format!("{e}（{name}）"));
    }
    if let Some(m) = locked(&state, &batch.id, &city).await? {
        errors.add("list", "推荐名单", m);
    }
    let expected: i64 = field(&pairs, "_version").parse().unwrap_or(-1);
    // Invalid input is 422; a list changed meanwhile (or locked) is 409.
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if errors.is_empty() {
        ordered.sort_by_key(|o| o.0);
        let now = state.clock.now();
        let user = ctx.require_role(Role::City)?;
        let mut b = Batch::new();
        recommendations::guard_list(&mut b, &batch.id, &city, Some(expected), now);
        let mut detail = Vec::new();
        if !remove.is_empty() {
            recommendations::remove_item(&mut b, &remove);
            detail.push(format!("移出 {remove}"));
        }
        for (pos, (_, id, reason, opinion)) in ordered.iter().enumerate() {
            recommendations::update_item(
                &mut b,
                id,
                pos as i64 + 1,
                reason,
                opinion,
                &user.username,
                now,
            );
        }
        let names = compute(&state, &batch.id, &city).await?.apps;
        detail.push(format!(
            "推荐排序：{}",
            ordered
                .iter()
                .enumerate()
                .map(|(p, o)| format!(
                    "{}. {}",
                    p + 1,
                    names.get(&o.1).map_or(o.1.as_str(), |a| a.0.as_str())
                ))
                .collect::<Vec<_>>()
                .join("，")
        ));
        audit::record(
            &mut b,
            &ctx.actor(),
            Action::RecommendationChange,
            Some(&format!("{}/{}", batch.id, city)),
            true,
            &detail.join("；"),
            now,
        );
        match state.db.write(b).await {
            Ok(_) => {
                return Ok(Redirect::to(&format!(
                    "{}&done=saved#list",
                    with_batch("/city/recommendation", &batch.id)
                ))
                .into_response());
            }
            Err(StoreError::Conflict(_)) => {
                status = StatusCode::CONFLICT;
                errors.add(
                    "list",
                    "推荐名单",
                    "推荐名单已被他人修改或已报送，本次修改未保存。下方保留了您填写的内容，请刷新核对后再保存。",
                );
            }
            Err(e) => return Err(e.into()),
        }
    }
    let body = render(
        &state,
        &ctx,
        &city,
        batch,
        Posted(Some(&pairs)),
        &item_errors,
        errors,
        String::new(),
    )
    .await?;
    Ok((status, Html(body)).into_response())
}

#[derive(Deserialize, Default)]
pub(crate) struct BatchQuery {
    #[serde(default)]
    pub batch: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
}
