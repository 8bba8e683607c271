//! The province's default 评审细则, which cities adopt or replace with
//! their own (see `city::sheet`; both use `shared::sheet`).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use crate::domain::role::Role;
use crate::services::Refusal;
use crate::services::scoring as svc;
use crate::store::scoring::{self, Source, StoredSheet};
use crate::web::AppState;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::AppResult;
use crate::web::shared::page::Errors;
use crate::web::shared::sheet::{self, View};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/province/scoring-sheet",
        get(province_page).post(province_save),
    )
}

#[derive(Deserialize, Default)]
struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

fn view(errors: Errors, notice: &'static str) -> View<'static> {
    View {
        title: "省经信厅默认评审细则".into(),
        action: "/province/scoring-sheet".into(),
        batch_id: "",
        city: false,
        own: true,
        lock: String::new(),
        errors,
        notice,
    }
}

async fn province_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SavedQuery>,
) -> AppResult<Html<String>> {
    ctx.require_role(Role::Province)?;
    let stored = scoring::province_default(&state.db).await?;
    let notice = if q.saved.is_some() {
        "默认评审细则已保存。已采用旧版默认细则并开始评分的市州不受影响。"
    } else {
        ""
    };
    let v = view(Errors::default(), notice);
    Ok(Html(sheet::render(&state, &ctx, &stored, None, v).await?))
}

async fn province_save(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    ctx.require_role(Role::Province)?;
    let mut errors = Errors::default();
    let (parsed, rows) = sheet::parse_rows(&pairs, &mut errors);
    if parsed.criteria.is_empty() && errors.is_empty() {
        errors.add("criteria", "评分项", "请至少填写一个评分项");
    }
    let expected: i64 = pairs
        .iter()
        .find(|(k, _)| k == "_version")
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(-1);
    if errors.is_empty() {
        match svc::save_default_sheet(
            &state.db,
            &ctx.actor(),
            &parsed,
            expected,
            state.clock.now(),
        )
        .await
        {
            Ok(()) => return Ok(Redirect::to("/province/scoring-sheet?saved=1").into_response()),
            Err(Refusal::Rule(m)) => errors.add("criteria", "评分项", m),
            Err(e) => return Err(anyhow::anyhow!(e.to_string()).into()),
        }
    }
    let stored = StoredSheet {
        source: Source::Province,
        sheet: parsed,
        version: expected.max(0),
        updated_at: 0,
        updated_by: String::new(),
    };
    let body = sheet::render(&state, &ctx, &stored, Some(rows), view(errors, "")).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(body)).into_response())
}
