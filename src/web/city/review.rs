//! Scoring: each city reviewer scores a passed application on the city's
//! sheet, in a row of their own, so two reviewers never overwrite each other.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use crate::domain::lifecycle::State as AppStateKind;
use crate::domain::role::Role;
use crate::domain::scoring::{Sheet, parse_score, show};
use crate::store::applications::Application;
use crate::store::audit::{self, Action};
use crate::store::scoring::{self as score_store, NewScore};
use crate::store::{Batch, StoreError, recommendations};
use crate::web::AppState;
use crate::web::city::inbox::{field, load_city_app, locked};
use crate::web::shared::context::Ctx;
use crate::web::shared::error::AppResult;
use crate::web::shared::page::{Errors, Page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/city/applications/{id}/score",
            get(score_page).post(score_save),
        )
        .route_layer(axum::middleware::from_fn(crate::web::shared::guard::city))
}

// ───────────────────────────── scoring ─────────────────────────────

pub struct CriterionInput {
    pub key: String,
    pub name: String,
    pub description: String,
    pub max: String,
    pub weight: String,
    pub value: String,
    pub error: String,
}

pub struct OtherScore {
    pub reviewer: String,
    pub total: String,
    pub comment: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "city/score.html")]
struct ScorePage {
    page: Page,
    app: Application,
    criteria: Vec<CriterionInput>,
    max_total: String,
    comment: String,
    version: i64,
    own_total: String,
    others: Vec<OtherScore>,
    lock: String,
    errors: Errors,
    notice: &'static str,
}

#[derive(Deserialize, Default)]
struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn render_score(
    state: &AppState,
    ctx: &Ctx,
    app: Application,
    sheet: &Sheet,
    posted: Option<&[(String, String)]>,
    field_errors: &HashMap<String, String>,
    errors: Errors,
    notice: &'static str,
) -> AppResult<String> {
    let me = ctx.require_role(Role::City)?.id.clone();
    let scores = score_store::for_application(&state.db, &app.id).await?;
    let mine = scores.iter().find(|s| s.reviewer_id == me);
    let criteria = sheet
        .criteria
        .iter()
        .map(|c| CriterionInput {
            value: match posted {
                Some(p) => field(p, &format!("score.{}", c.key)),
                None => mine
                    .and_then(|m| m.scores.get(&c.key))
                    .map(|v| show(*v))
                    .unwrap_or_default(),
            },
            error: field_errors.get(&c.key).cloned().unwrap_or_default(),
            key: c.key.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            max: show(c.max),
            weight: show(c.weight),
        })
        .collect();
    // Others' scores show once the viewer has scored: reviewers judge independently.
    let others = if mine.is_some() {
        scores
            .iter()
            .filter(|s| s.reviewer_id != me)
            .map(|s| OtherScore {
                reviewer: s.reviewer_name.clone(),
                total: show(sheet.total(&s.scores)),
                comment: s.comment.clone(),
                at: s.at_text(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let lock = if app.state != AppStateKind::CityPassed {
        format!("申报书当前状态为“{}”，不能评分。", app.state.label())
    } else {
        locked(state, &app.batch_id, &app.city_code)
            .await?
            .unwrap_or_default()
    };
    let page = ScorePage {
        page: Page::new(state, ctx, format!("评分：{}", app.enterprise_name)),
        criteria,
        max_total: show(sheet.max_total()),
        comment: match posted {
            Some(p) => field(p, "comment"),
            None => mine.map(|m| m.comment.clone()).unwrap_or_default(),
        },
        version: mine.map_or(0, |m| m.version),
        own_total: mine
            .map(|m| show(sheet.total(&m.scores)))
            .unwrap_or_default(),
        others,
        lock,
        errors,
        notice,
        app,
    };
    Ok(page.render()?)
}

async fn score_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<SavedQuery>,
) -> AppResult<Html<String>> {
    let app = load_city_app(&state, &ctx, &id).await?;
    let sheet = score_store::effective(&state.db, &app.batch_id, &app.city_code)
        .await?
        .sheet;
    let notice = if q.saved.is_some() {
        "评分已保存。"
    } else {
        ""
    };
    Ok(Html(
        render_score(
            &state,
            &ctx,
            app,
            &sheet,
            None,
            &HashMap::new(),
            Errors::default(),
            notice,
        )
        .await?,
    ))
}

async fn score_save(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let app = load_city_app(&state, &ctx, &id).await?;
    let user = ctx.require_role(Role::City)?.clone();
    let sheet = score_store::effective(&state.db, &app.batch_id, &app.city_code)
        .await?
        .sheet;
    let mut errors = Errors::default();
    let mut field_errors = HashMap::new();
    let mut scores = crate::domain::scoring::Scores::new();
    for c in &sheet.criteria {
        let raw = field(&pairs, &format!("score.{}", c.key));
        match parse_score(&raw) {
            Some(v) if v <= c.max => {
                scores.insert(c.key.clone(), v);
            }
            _ => {
                let msg = if raw.is_empty() {
                    format!("请给“{}”打分", c.name)
                } else {
                    format!(
                        "“{}”的得分须为0到{}之间的数字（最多一位小数）",
                        c.name,
                        show(c.max)
                    )
                };
                field_errors.insert(c.key.clone(), msg.clone());
                errors.add("scores", "评分", msg);
            }
        }
    }
    let comment: String = field(&pairs, "comment").chars().take(1000).collect();
    if app.state != AppStateKind::CityPassed {
        errors.add(
            "scores",
            "评分",
            format!("申报书当前状态为“{}”，不能评分。", app.state.label()),
        );
    } else if let Some(m) = locked(&state, &app.batch_id, &app.city_code).await? {
        errors.add("scores", "评分", m);
    }
    let expected: i64 = field(&pairs, "_version").parse().unwrap_or(-1);
    if errors.is_empty() && expected >= 0 {
        let now = state.clock.now();
        let mut b = Batch::new();
        recommendations::guard(&mut b, &app.batch_id, &app.city_code, now);
        score_store::pin_sheet(
            &mut b,
            &app.batch_id,
            &app.city_code,
            &sheet,
            &user.username,
            now,
        );
        score_store::save_score(
            &mut b,
            &NewScore {
                application_id: &app.id,
                batch_id: &app.batch_id,
                city_code: &app.city_code,
                reviewer_id: &user.id,
                reviewer_name: &user.display_name,
                scores: &scores,
                comment: &comment,
            },
            expected,
            now,
        );
        let detail = format!(
            "{}：总分{}（{}）{}",
            app.enterprise_name,
            show(sheet.total(&scores)),
            sheet
                .criteria
                .iter()
                .map(|c| format!("{} {}", c.name, show(scores[&c.key])))
                .collect::<Vec<_>>()
                .join("，"),
            if comment.is_empty() {
                String::new()
            } else {
                format!("；评语：{comment}")
            }
        );
        audit::record(
            &mut b,
            &ctx.actor(),
            Action::CityScore,
            Some(&app.id),
            true,
            &detail,
            now,
        );
        match state.db.write(b).await {
            Ok(_) => {
                return Ok(
                    Redirect::to(&format!("/city/applications/{id}/score?saved=1")).into_response(),
                );
            }
            Err(StoreError::Conflict(_)) | Err(StoreError::Unique(_)) => {
                let body = render_score(
                    &state,
                    &ctx,
                    app,
                    &sheet,
                    Some(&pairs),
                    &field_errors,
                    {
                        let mut e = Errors::default();
                        e.add(
                            "scores",
                            "评分",
                            "您的评分已在其他页面保存过，或评审细则已变化、推荐已报送，本次评分未保存。下方保留了您刚才填写的分数，请刷新核对后再保存。",
                        );
                        e
                    },
                    "",
                )
                .await?;
                return Ok((StatusCode::CONFLICT, Html(body)).into_response());
            }
            Err(e) => return Err(e.into()),
        }
    }
    let body = render_score(
        &state,
        &ctx,
        app,
        &sheet,
        Some(&pairs),
        &field_errors,
        errors,
        "",
    )
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(body)).into_response())
}
