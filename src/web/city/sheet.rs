//! 评审细则 of a city: it adopts the province's default scoring sheet or
//! writes its own (criteria with descriptions, maximum scores, weights). A
//! sheet is fixed once a reviewer has scored. (The province edits its
//! default in `province::scoring_sheet`; both use `shared::sheet`.)

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use crate::services::Refusal;
use crate::services::scoring as svc;
use crate::store::scoring::{self, Source, StoredSheet};
use crate::web::AppState;
use crate::web::city::inbox::{city_batch, city_name, city_of, field, locked, with_batch};
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppResult, urlencode};
use crate::web::shared::page::Errors;
use crate::web::shared::sheet::{self, View};

pub fn router() -> Router<AppState> {
    Router::new().route("/city/sheet", get(city_page).post(city_save))
}

#[derive(Deserialize, Default)]
pub struct SheetQuery {
    #[serde(default)]
    batch: Option<String>,
    #[serde(default)]
    pub saved: Option<String>,
}

/// Why `city`'s sheet in `batch_id` can no longer change ("" when it can).
async fn lock_of(state: &AppState, batch_id: &str, city: &str) -> AppResult<String> {
    Ok(match locked(state, batch_id, city).await? {
        Some(m) => m,
        None if scoring::any(&state.db, batch_id, city).await? => {
            "本市已有评审人按此评审细则评分，评审细则已固定，不能再修改。".into()
        }
        None => String::new(),
    })
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
    let view = View {
        title: format!("{}评审细则", city_name(&city)),
        action: with_batch("/city/sheet", &batch.id),
        batch_id: &batch.id,
        city: true,
        own: own.as_ref().is_some_and(|s| s.source == Source::City),
        lock: lock_of(&state, &batch.id, &city).await?,
        errors: Errors::default(),
        notice: if q.saved.is_some() {
            "评审细则已保存。"
        } else {
            ""
        },
    };
    Ok(Html(
        sheet::render(&state, &ctx, &stored, None, view).await?,
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
    let (mut parsed, rows) = sheet::parse_rows(&pairs, &mut errors);
    if !own {
        parsed = scoring::province_default(&state.db).await?.sheet;
    } else if parsed.criteria.is_empty() && errors.is_empty() {
        errors.add("criteria", "评分项", "请至少填写一个评分项");
    }
    let expected: i64 = field(&pairs, "_version").parse().unwrap_or(-1);
    if let Some(m) = locked(&state, &batch.id, &city).await? {
        errors.add("source", "评审细则", m);
    }
    let source = if own { Source::City } else { Source::Province };
    if errors.is_empty() {
        match svc::save_city_sheet(
            &state.db,
            &ctx.actor(),
            &batch.id,
            &city,
            source,
            &parsed,
            expected,
            state.clock.now(),
        )
        .await
        {
            Ok(()) => {
                return Ok(Redirect::to(&format!(
                    "/city/sheet?batch={}&saved=1",
                    urlencode(&batch.id)
                ))
                .into_response());
            }
            Err(Refusal::Rule(m)) => errors.add("source", "评审细则", m),
            Err(e) => return Err(anyhow::anyhow!(e.to_string()).into()),
        }
    }
    let stored = StoredSheet {
        source,
        sheet: parsed,
        version: expected.max(0),
        updated_at: 0,
        updated_by: String::new(),
    };
    let view = View {
        title: format!("{}评审细则", city_name(&city)),
        action: with_batch("/city/sheet", &batch.id),
        batch_id: &batch.id,
        city: true,
        own,
        lock: lock_of(&state, &batch.id, &city).await?,
        errors,
        notice: "",
    };
    let body = sheet::render(&state, &ctx, &stored, own.then_some(rows), view).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(body)).into_response())
}
