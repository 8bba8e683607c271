//! 评审细则: a city adopts the province's default scoring sheet or writes
//! its own (criteria with descriptions, maximum scores, weights); the
//! province edits its default. A sheet is fixed once a reviewer has scored.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use crate::domain::role::Role;
use crate::domain::scoring::{Criterion, MAX_CRITERIA, Sheet, parse_score, show};
use crate::store::audit::{self, Action};
use crate::store::scoring::{self, Source, StoredSheet};
use crate::store::{Batch, StoreError, recommendations};
use crate::web::AppState;
use crate::web::city::inbox::{city_batch, city_name, city_of, field, locked, with_batch};
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppResult, urlencode};
use crate::web::shared::page::{Errors, Page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/city/sheet", get(city_page).post(city_save))
        .route(
            "/province/scoring-sheet",
            get(province_page).post(province_save),
        )
}

/// Blank rows offered below the criteria for new ones.
const BLANK_ROWS: usize = 3;

pub struct SheetRow {
    pub index: usize,
    pub name: String,
    pub description: String,
    pub max: String,
    pub weight: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "city/sheet.html")]
struct SheetPage {
    page: Page,
    title: String,
    /// Where the form posts.
    action: String,
    batch_id: String,
    /// The city page offers adopting the province's default.
    city: bool,
    own: bool,
    version: i64,
    rows: Vec<SheetRow>,
    default_rows: Vec<SheetRow>,
    max_total: String,
    lock: String,
    errors: Errors,
    notice: &'static str,
    updated: String,
}

#[derive(Deserialize, Default)]
struct SheetQuery {
    #[serde(default)]
    batch: Option<String>,
    #[serde(default)]
    saved: Option<String>,
}

fn rows_of(sheet: &Sheet) -> Vec<SheetRow> {
    let mut rows: Vec<SheetRow> = sheet
        .criteria
        .iter()
        .enumerate()
        .map(|(i, c)| SheetRow {
            index: i,
            name: c.name.clone(),
            description: c.description.clone(),
            max: show(c.max),
            weight: show(c.weight),
            error: String::new(),
        })
        .collect();
    let n = rows.len();
    for i in n..(n + BLANK_ROWS).min(MAX_CRITERIA) {
        rows.push(SheetRow {
            index: i,
            name: String::new(),
            description: String::new(),
            max: String::new(),
            weight: "1".into(),
            error: String::new(),
        });
    }
    rows
}

/// Reads the posted rows into a sheet; rows without a name are dropped.
fn parse_rows(pairs: &[(String, String)], errors: &mut Errors) -> (Sheet, Vec<SheetRow>) {
    let mut sheet = Sheet::default();
    let mut rows = Vec::new();
    for i in 0..MAX_CRITERIA + BLANK_ROWS {
        let get = |k: &str| field(pairs, &format!("{k}.{i}"));
        if !pairs.iter().any(|(k, _)| k == &format!("name.{i}")) {
            continue;
        }
        let mut row = SheetRow {
            index: rows.len(),
            name: get("name").chars().take(50).collect(),
            description: get("description").chars().take(300).collect(),
            max: get("max"),
            weight: get("weight"),
            error: String::new(),
        };
        if row.name.is_empty() {
            if !row.description.is_empty() || !row.max.is_empty() {
                row.error = "请填写评分项名称，或清空本行".into();
            }
        } else {
            let max = parse_score(&row.max).filter(|v| *v > 0.0 && *v <= 1000.0);
            let weight = if row.weight.is_empty() {
                Some(1.0)
            } else {
                parse_score(&row.weight).filter(|v| *v > 0.0 && *v <= 10.0)
            };
            match (max, weight) {
                (None, _) => row.error = "最高分须为大于0、不超过1000的数字（最多一位小数）".into(),
                (_, None) => row.error = "权重须为大于0、不超过10的数字（最多一位小数）".into(),
                (Some(max), Some(weight)) => sheet.criteria.push(Criterion {
                    key: format!("c{}", sheet.criteria.len() + 1),
                    name: row.name.clone(),
                    description: row.description.clone(),
                    max,
                    weight,
                }),
            }
        }
        if !row.error.is_empty() {
            errors.add(
                "criteria",
                "评分项",
                format!("第{}行：{}", row.index + 1, row.error),
            );
        }
        rows.push(row);
    }
    if sheet.criteria.len() > MAX_CRITERIA {
        errors.add("criteria", "评分项", format!("评分项最多{MAX_CRITERIA}项"));
    }
    (sheet, rows)
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    ctx: &Ctx,
    city: Option<&str>,
    batch_id: &str,
    stored: &StoredSheet,
    rows: Option<Vec<SheetRow>>,
    own: bool,
    errors: Errors,
    notice: &'static str,
) -> AppResult<String> {
    let default = scoring::province_default(&state.db).await?;
    let lock = match city {
        Some(c) => match locked(state, batch_id, c).await? {
            Some(m) => m,
            None if scoring::any(&state.db, batch_id, c).await? => {
                "本市已有评审人按此评审细则评分，评审细则已固定，不能再修改。".into()
            }
            None => String::new(),
        },
        None => String::new(),
    };
    let page = SheetPage {
        page: Page::new(state, ctx, "评审细则"),
        title: match city {
            Some(c) => format!("{}评审细则", city_name(c)),
            None => "省经信厅默认评审细则".into(),
        },
        action: match city {
            Some(_) => with_batch("/city/sheet", batch_id),
            None => "/province/scoring-sheet".into(),
        },
        batch_id: batch_id.to_string(),
        city: city.is_some(),
        own,
        version: stored.version,
        rows: rows.unwrap_or_else(|| rows_of(&stored.sheet)),
        max_total: show(stored.sheet.max_total()),
        default_rows: rows_of(&default.sheet)
            .into_iter()
            .filter(|r| !r.name.is_empty())
            .collect(),
        lock,
        errors,
        notice,
        updated: if stored.version > 0 {
            format!(
                "{}（{}）",
                crate::clock::format_datetime(stored.updated_at),
                stored.updated_by
            )
        } else {
            String::new()
        },
    };
    Ok(page.render()?)
}

async fn city_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SheetQuery>,
) -> AppResult<Html<String>> {
    let city = city_of(&ctx)?;
    let batch = city_batch(&state, q.batch.as_deref()).await?;
    let own = scoring::city_sheet(&state.db, &batch.id, &city).await?;
    let stored = match &own {
        Some(s) => s.clone(),
        None => scoring::province_default(&state.db).await?,
    };
    let version = own.as_ref().map_or(0, |s| s.version);
    let stored = StoredSheet { version, ..stored };
    let is_own = own.as_ref().is_some_and(|s| s.source == Source::City);
    let notice = if q.saved.is_some() {
        "评审细则已保存。"
    } else {
        ""
    };
    Ok(Html(
        render(
            &state,
            &ctx,
            Some(&city),
            &batch.id,
            &stored,
            None,
            is_own,
            Errors::default(),
            notice,
        )
        .await?,
    ))
}

async fn city_save(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SheetQuery>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let city = city_of(&ctx)?;
    let batch = city_batch(&state, q.batch.as_deref()).await?;
    let mut errors = Errors::default();
    let own = field(&pairs, "source") == "city";
    let (mut sheet, rows) = parse_rows(&pairs, &mut errors);
    if !own {
        sheet = scoring::province_default(&state.db).await?.sheet;
    } else if sheet.criteria.is_empty() && errors.is_empty() {
        errors.add("criteria", "评分项", "请至少填写一个评分项");
    }
    let expected: i64 = field(&pairs, "_version").parse().unwrap_or(-1);
    if let Some(m) = locked(&state, &batch.id, &city).await? {
        errors.add("source", "评审细则", m);
    }
    let stored = StoredSheet {
        source: if own { Source::City } else { Source::Province },
        sheet: sheet.clone(),
        version: expected.max(0),
        updated_at: 0,
        updated_by: String::new(),
    };
    if errors.is_empty() {
        let now = state.clock.now();
        let user = ctx.require_role(Role::City)?;
        let mut b = Batch::new();
        recommendations::guard(&mut b, &batch.id, &city, now);
        let source = stored.source;
        scoring::save_sheet(
            &mut b,
            &batch.id,
            &city,
            source,
            &sheet,
            expected,
            &user.username,
            now,
        );
        let detail = format!(
            "{}：{}（满分{}）",
            source.label(),
            sheet
                .criteria
                .iter()
                .map(|c| format!("{} {}分×{}", c.name, show(c.max), show(c.weight)))
                .collect::<Vec<_>>()
                .join("；"),
            show(sheet.max_total())
        );
        audit::record(
            &mut b,
            &ctx.actor(),
            Action::ScoringSheetChange,
            Some(&format!("{}/{}", batch.id, city)),
            true,
            &detail,
            now,
        );
        match state.db.write(b).await {
            Ok(_) => {
                return Ok(Redirect::to(&format!(
                    "/city/sheet?batch={}&saved=1",
                    urlencode(&batch.id)
                ))
                .into_response());
            }
            Err(StoreError::Conflict(_)) | Err(StoreError::Unique(_)) => errors.add(
                "source",
                "评审细则",
                "评审细则已被修改、已有评审人开始评分或推荐已报送，本次修改未保存，请刷新后核对",
            ),
            Err(e) => return Err(e.into()),
        }
    }
    let body = render(
        &state,
        &ctx,
        Some(&city),
        &batch.id,
        &stored,
        own.then_some(rows),
        own,
        errors,
        "",
    )
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(body)).into_response())
}

async fn province_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SheetQuery>,
) -> AppResult<Html<String>> {
    ctx.require_role(Role::Province)?;
    let stored = scoring::province_default(&state.db).await?;
    let notice = if q.saved.is_some() {
        "默认评审细则已保存。已采用旧版默认细则并开始评分的市州不受影响。"
    } else {
        ""
    };
    Ok(Html(
        render(
            &state,
            &ctx,
            None,
            "",
            &stored,
            None,
            true,
            Errors::default(),
            notice,
        )
        .await?,
    ))
}

async fn province_save(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let user = ctx.require_role(Role::Province)?;
    let mut errors = Errors::default();
    let (sheet, rows) = parse_rows(&pairs, &mut errors);
    if sheet.criteria.is_empty() && errors.is_empty() {
        errors.add("criteria", "评分项", "请至少填写一个评分项");
    }
    let expected: i64 = field(&pairs, "_version").parse().unwrap_or(-1);
    if errors.is_empty() {
        let now = state.clock.now();
        let mut b = Batch::new();
        scoring::save_sheet(
            &mut b,
            "",
            "",
            Source::Province,
            &sheet,
            expected,
            &user.username,
            now,
        );
        audit::record(
            &mut b,
            &ctx.actor(),
            Action::ScoringSheetChange,
            Some("province-default"),
            true,
            &format!(
                "默认评审细则：{}",
                sheet
                    .criteria
                    .iter()
                    .map(|c| format!("{} {}分×{}", c.name, show(c.max), show(c.weight)))
                    .collect::<Vec<_>>()
                    .join("；")
            ),
            now,
        );
        match state.db.write(b).await {
            Ok(_) => return Ok(Redirect::to("/province/scoring-sheet?saved=1").into_response()),
            Err(StoreError::Conflict(_)) | Err(StoreError::Unique(_)) => errors.add(
                "criteria",
                "评分项",
                "默认评审细则已被他人修改，本次修改未保存，请刷新后核对",
            ),
            Err(e) => return Err(e.into()),
        }
    }
    let stored = StoredSheet {
        source: Source::Province,
        sheet,
        version: expected.max(0),
        updated_at: 0,
        updated_by: String::new(),
    };
    let body = render(
        &state,
        &ctx,
        None,
        "",
        &stored,
        Some(rows),
        true,
        errors,
        "",
    )
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(body)).into_response())
}
