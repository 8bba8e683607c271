//! The province's side of the cities' work: the screening checklist, each
//! city's recommendation cap, the recommendations received, and reopening a
//! submitted recommendation with a reason.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::domain::lifecycle::State as AppStateKind;
use crate::domain::region;
use crate::domain::role::Role;
use crate::store::applications::{self, TransitionError};
use crate::store::audit::{self, Action};
use crate::store::batches::{self, BatchRow};
use crate::store::recommendations::{self, File, FileKind};
use crate::store::screening::{self, Item};
use crate::store::{Batch, StoreError};
use crate::web::AppState;
use crate::web::city::inbox::{city_batch, field, with_batch};
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::flash;
use crate::web::shared::page::{Errors, Page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/province/recommendations", get(overview))
        .route("/province/recommendations/caps", post(save_caps))
        .route("/province/recommendations/reopen", post(reopen))
        .route(
            "/province/screening-checklist",
            get(checklist).post(save_checklist),
        )
}

pub struct CityRow {
    pub code: &'static str,
    pub name: &'static str,
    pub status: String,
    pub submitted: bool,
    pub listed: i64,
    pub cap: String,
    pub files: Vec<File>,
    pub reopen_note: String,
}

#[derive(Template)]
#[template(path = "province/recommendations.html")]
struct OverviewPage {
    page: Page,
    batch: BatchRow,
    batches: Vec<(String, String, bool)>,
    deadline: String,
    rows: Vec<CityRow>,
    errors: Errors,
    notice: &'static str,
}

#[derive(Deserialize, Default)]
struct OverviewQuery {
    #[serde(default)]
    batch: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

async fn overview(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<OverviewQuery>,
) -> AppResult<Html<String>> {
    ctx.require_role(Role::Province)?;
    let batch = city_batch(&state, q.batch.as_deref()).await?;
    let recs = recommendations::for_batch(&state.db, &batch.id).await?;
    let caps = recommendations::caps(&state.db, &batch.id).await?;
    let counts = recommendations::listed_by_city(&state.db, &batch.id).await?;
    let mut rows = Vec::new();
    for c in region::cities() {
        let rec = recs.iter().find(|r| r.city_code == c.code);
        let files = match rec {
            Some(_) => recommendations::files(&state.db, &batch.id, c.code).await?,
            None => Vec::new(),
        };
        rows.push(CityRow {
            code: c.code,
            name: c.name,
            status: match rec {
                Some(r) if r.submitted => format!(
                    "已报送（{}，{}）",
                    r.submitted_text(),
                    r.submitted_by.clone().unwrap_or_default()
                ),
                Some(_) => "填报中".into(),
                None => "未开始".into(),
            },
            submitted: rec.is_some_and(|r| r.submitted),
            listed: counts.get(c.code).copied().unwrap_or(0),
            cap: caps.get(c.code).map(|n| n.to_string()).unwrap_or_default(),
            files,
            reopen_note: rec
                .filter(|r| !r.reopen_reason.is_empty())
                .map(|r| {
                    format!(
                        "{} 由{}重新开放：{}",
                        r.reopened_text(),
                        r.reopened_by.clone().unwrap_or_default(),
                        r.reopen_reason
                    )
                })
                .unwrap_or_default(),
        });
    }
    let errors = Errors::from_flash(ctx.flash.as_ref(), &[("caps", "推荐名额")]);
    let page = OverviewPage {
        page: Page::new(&state, &ctx, "市州推荐"),
        batches: batches::all(&state.db)
            .await?
            .into_iter()
            .map(|b| {
                let sel = b.id == batch.id;
                (b.id, b.name, sel)
            })
            .collect(),
        deadline: crate::clock::format_deadline(batch.recommend_deadline),
        batch,
        rows,
        errors,
        notice: match q.done.as_deref() {
            Some("caps") => "推荐名额已保存。",
            Some("reopened") => "已重新开放该市州的推荐，市州可修改后重新报送。",
            _ => "",
        },
    };
    Ok(Html(page.render()?))
}

async fn save_caps(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    ctx.require_role(Role::Province)?;
    let batch = city_batch(&state, Some(&field(&pairs, "batch"))).await?;
    let to = with_batch("/province/recommendations", &batch.id);
    let back = |e: &str| flash::redirect(&state, &to, "caps", e);
    let mut caps = Vec::new();
    for c in region::cities() {
        let v = field(&pairs, &format!("cap.{}", c.code));
        if v.is_empty() {
            caps.push((c, None));
        } else {
            match v.parse::<i64>() {
                Ok(n) if (0..=1000).contains(&n) => caps.push((c, Some(n))),
                _ => {
                    return Ok(back(&format!(
                        "{}的推荐名额须为0到1000之间的整数，留空表示不设上限",
                        c.name
                    )));
                }
            }
        }
    }
    let old = recommendations::caps(&state.db, &batch.id).await?;
    let now = state.clock.now();
    let mut b = Batch::new();
    let mut detail = Vec::new();
    for (c, cap) in caps {
        if old.get(c.code).copied() != cap {
            recommendations::set_cap(&mut b, &batch.id, c.code, cap);
            detail.push(format!(
                "{} {}",
                c.name,
                cap.map_or("不设上限".to_string(), |n| format!("{n}家"))
            ));
        }
    }
    if !detail.is_empty() {
        audit::record(
            &mut b,
            &ctx.actor(),
            Action::CityCapChange,
            Some(&batch.id),
            true,
            &detail.join("；"),
            now,
        );
        state.db.write(b).await?;
    }
    Ok(Redirect::to(&format!(
        "{}&done=caps",
        with_batch("/province/recommendations", &batch.id)
    ))
    .into_response())
}

/// Unlocks a city's submitted recommendation: its applications go back to
/// 形式审查通过, and the city may change and resubmit.
async fn reopen(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let user = ctx.require_role(Role::Province)?.clone();
    let batch = city_batch(&state, Some(&field(&pairs, "batch"))).await?;
    let city = field(&pairs, "city");
    let c = region::city(&city).ok_or(AppError::NotFound)?;
    let to = with_batch("/province/recommendations", &batch.id);
    let back = |e: &str| flash::redirect(&state, &to, "reopen", e);
    let reason: String = field(&pairs, "reason").chars().take(500).collect();
    if reason.chars().count() < 2 {
        return Ok(back(&format!("重新开放{}的推荐须填写原因", c.name)));
    }
    let rec = recommendations::get(&state.db, &batch.id, &city).await?;
    if !rec.submitted {
        return Ok(back(&format!("{}的推荐尚未报送，无需重新开放", c.name)));
    }
    let now = state.clock.now();
    let actor = ctx.actor();
    let mut b = Batch::new();
    recommendations::reopen(&mut b, &batch.id, &city, &user.username, &reason, now);
    let listed = applications::in_city(
        &state.db,
        &batch.id,
        &city,
        &[AppStateKind::Recommended, AppStateKind::NotRecommended],
    )
    .await?;
    let why = format!("省经信厅重新开放{}推荐：{reason}", c.name);
    for app in &listed {
        match applications::push_transition(
            &mut b,
            app,
            AppStateKind::CityPassed,
            Role::Province,
            &actor,
            &why,
            now,
        ) {
            Ok(()) => {}
            Err(TransitionError::Store(e)) => return Err(e.into()),
            Err(_) => {
                return Ok(back(&format!(
                    "“{}”已进入专家评审，不能再重新开放",
                    app.enterprise_name
                )));
            }
        }
    }
    crate::services::notify::recommendation_reopened(
        &state.db,
        &mut b,
        &city,
        c.name,
        (&batch.id, &batch.name),
        &reason,
        now,
    )
    .await?;
    audit::record(
        &mut b,
        &actor,
        Action::RecommendationReopen,
        Some(&format!("{}/{}", batch.id, city)),
        true,
        &why,
        now,
    );
    match state.db.write(b).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "{}&done=reopened",
            with_batch("/province/recommendations", &batch.id)
        ))
        .into_response()),
        Err(StoreError::Conflict(_)) => Ok(back("状态已变化，请刷新后重试")),
        Err(e) => Err(e.into()),
    }
}

// ───────────────────────────── the checklist ─────────────────────────────

#[derive(Template)]
#[template(path = "province/checklist.html")]
struct ChecklistPage {
    page: Page,
    items: Vec<Item>,
    errors: Errors,
    notice: &'static str,
}

#[derive(Deserialize, Default)]
struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

/// Rows offered for new items.
const NEW_ITEMS: usize = 2;

async fn checklist(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SavedQuery>,
) -> AppResult<Html<String>> {
    ctx.require_role(Role::Province)?;
    let mut items = screening::items(&state.db).await?;
    for i in 0..NEW_ITEMS {
        items.push(Item {
            key: format!("new{i}"),
            label: String::new(),
            hint: String::new(),
            position: (items.len() + 1) as i64,
            active: true,
        });
    }
    let page = ChecklistPage {
        page: Page::new(&state, &ctx, "形式审查清单"),
        items,
        errors: Errors::default(),
        notice: if q.saved.is_some() {
            "形式审查清单已保存，市州审查时立即生效。"
        } else {
            ""
        },
    };
    Ok(Html(page.render()?))
}

async fn save_checklist(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    ctx.require_role(Role::Province)?;
    let existing = screening::items(&state.db).await?;
    let mut keys: Vec<String> = existing.iter().map(|i| i.key.clone()).collect();
    keys.extend((0..NEW_ITEMS).map(|i| format!("new{i}")));
    let mut items = Vec::new();
    let mut errors = Errors::default();
    for key in &keys {
        let label: String = field(&pairs, &format!("label.{key}"))
            .chars()
            .take(50)
            .collect();
        let hint: String = field(&pairs, &format!("hint.{key}"))
            .chars()
            .take(300)
            .collect();
        let position = field(&pairs, &format!("position.{key}"))
            .parse()
            .unwrap_or(99);
        let active = field(&pairs, &format!("active.{key}")) == "1";
        let is_new = key.starts_with("new") && !existing.iter().any(|i| &i.key == key);
        if label.is_empty() {
            if !is_new {
                errors.add(
                    "items",
                    "核查项目",
                    "已有核查项目的名称不能为空；不再使用的请取消“启用”",
                );
            }
            continue;
        }
        items.push(Item {
            key: key.clone(),
            label,
            hint,
            position,
            active: active || is_new,
        });
    }
    if !items.iter().any(|i| i.active) {
        errors.add("items", "核查项目", "至少保留一个启用的核查项目");
    }
    if !errors.is_empty() {
        let page = ChecklistPage {
            page: Page::new(&state, &ctx, "形式审查清单"),
            items,
            errors,
            notice: "",
        };
        return Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            Html(page.render()?),
        )
            .into_response());
    }
    let now = state.clock.now();
    let mut b = Batch::new();
    for i in &mut items {
        if !existing.iter().any(|e| e.key == i.key) {
            i.key = format!("item{}", crate::store::new_id());
        }
        screening::upsert_item(&mut b, i);
    }
    audit::record(
        &mut b,
        &ctx.actor(),
        Action::ScreeningChecklistChange,
        None,
        true,
        &items
            .iter()
            .filter(|i| i.active)
            .map(|i| i.label.as_str())
            .collect::<Vec<_>>()
            .join("、"),
        now,
    );
    state.db.write(b).await?;
    Ok(Redirect::to("/province/screening-checklist?saved=1").into_response())
}

/// The file kinds, for the overview's links.
pub fn file_label(f: &File) -> &'static str {
    match f.kind {
        FileKind::Letter => "推荐文件",
        FileKind::TableScan => "推荐表扫描件",
    }
}
