//! Submitting a city's recommendation to the province: before the
//! province's deadline only (server clock), within the cap, complete; the
//! listed applications become 已推荐, the city's other passed ones 未推荐,
//! in one atomic write, and the recommendation is locked.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};

use crate::clock;
use crate::domain::lifecycle::State as AppStateKind;
use crate::domain::role::Role;
use crate::store::applications::{self, TransitionError};
use crate::store::audit::{self, Action};
use crate::store::recommendations::{self, FileKind};
use crate::store::{Batch, StoreError};
use crate::web::AppState;
use crate::web::city::inbox::{city_batch, city_name, city_of, field, locked, with_batch};
use crate::web::city::recommend::{Posted, render};
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::page::Errors;

pub fn router() -> Router<AppState> {
    Router::new().route("/city/recommendation/submit", post(submit))
}

/// Submits the recommendation: before the province's deadline only, within
/// the cap, complete; then locked.
async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let city = city_of(&ctx)?;
    let batch = city_batch(&state, Some(&field(&pairs, "batch"))).await?;
    let rec = recommendations::get(&state.db, &batch.id, &city).await?;
    let items = recommendations::items(&state.db, &batch.id, &city).await?;
    let now = state.clock.now();
    let mut errors = Errors::default();
    let mut item_errors = Vec::new();
    if rec.submitted {
        errors.add(
            "submit",
            "报送",
            locked(&state, &batch.id, &city).await?.unwrap_or_default(),
        );
    } else if now > batch.recommend_deadline {
        errors.add(
            "submit",
            "报送",
            format!(
                "已过省经信厅规定的推荐截止时间（{}），不能报送。推荐名单、推荐理由、审核意见和已上传的文件均已保留。",
                clock::format_deadline(batch.recommend_deadline)
            ),
        );
    }
    if field(&pairs, "_version") != rec.version.to_string() {
        errors.add(
            "submit",
            "报送",
            "推荐名单在您确认期间又被修改过，请核对后重新报送。",
        );
    }
    if let Some(n) = recommendations::cap(&state.db, &batch.id, &city).await?
        && items.len() as i64 > n
    {
        errors.add(
            "submit",
            "报送",
            format!(
                "推荐名单有{}家，超过本市推荐名额上限（{n}家），请移出多余的企业。",
                items.len()
            ),
        );
    }
    let mut apps = Vec::new();
    for i in &items {
        let app = applications::by_id(&state.db, &i.application_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if i.reason.trim().is_empty() {
            item_errors.push((i.application_id.clone(), "请填写推荐理由".to_string()));
        }
        if i.opinion.trim().is_empty() {
            item_errors.push((i.application_id.clone(), "请填写审核意见".to_string()));
        }
        if app.state != AppStateKind::CityPassed {
            item_errors.push((
                i.application_id.clone(),
                format!("当前状态为“{}”，不能推荐", app.state.label()),
            ));
        }
        apps.push(app);
    }
    for (id, e) in &item_errors {
        let name = apps
            .iter()
            .find(|a| &a.id == id)
            .map_or("", |a| a.enterprise_name.as_str());
        errors.add(
            "submit",
            "报送",
            format!("{name}：{e}（请先保存推荐理由和审核意见）"),
        );
    }
    let files = recommendations::files(&state.db, &batch.id, &city).await?;
    for k in FileKind::ALL {
        if !files.iter().any(|f| f.kind == k) {
            errors.add("submit", "报送", format!("请上传{}（PDF）", k.label()));
        }
    }
    if field(&pairs, "confirm") != "yes" {
        errors.add("submit", "报送", "请勾选确认后再报送");
    }
    let user = ctx.require_role(Role::City)?.clone();
    if !errors.is_empty() {
        if now > batch.recommend_deadline && !rec.submitted {
            let mut b = Batch::new();
            audit::record(
                &mut b,
                &ctx.actor(),
                Action::RecommendationSubmit,
                Some(&format!("{}/{}", batch.id, city)),
                false,
                &format!(
                    "逾期报送被拒绝：推荐截止时间{}",
                    clock::format_deadline(batch.recommend_deadline)
                ),
                now,
            );
            state.db.write(b).await?;
        }
        let body = render(
            &state,
            &ctx,
            &city,
            batch,
            Posted(None),
            &item_errors,
            errors,
            String::new(),
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(body)).into_response());
    }
    let mut b = Batch::new();
    recommendations::submit(&mut b, &batch.id, &city, rec.version, &user.username, now);
    let actor = ctx.actor();
    for (pos, app) in apps.iter().enumerate() {
        let reason = format!("列入{}推荐名单，推荐排序第{}位", city_name(&city), pos + 1);
        push(&mut b, app, AppStateKind::Recommended, &actor, &reason, now)?;
    }
    let others =
        applications::in_city(&state.db, &batch.id, &city, &[AppStateKind::CityPassed]).await?;
    for app in others.iter().filter(|o| !apps.iter().any(|a| a.id == o.id)) {
        push(
            &mut b,
            app,
            AppStateKind::NotRecommended,
            &actor,
            "未列入市州推荐名单",
            now,
        )?;
    }
    crate::services::notify::recommendation_submitted(
        &state.db,
        &mut b,
        &city_name(&city),
        (&batch.id, &batch.name),
        apps.len(),
        now,
    )
    .await?;
    audit::record(
        &mut b,
        &actor,
        Action::RecommendationSubmit,
        Some(&format!("{}/{}", batch.id, city)),
        true,
        &format!(
            "报送推荐{}家：{}",
            apps.len(),
            apps.iter()
                .enumerate()
                .map(|(p, a)| format!("{}. {}", p + 1, a.enterprise_name))
                .collect::<Vec<_>>()
                .join("，")
        ),
        now,
    );
    match state.db.write(b).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "{}&done=submitted",
            with_batch("/city/recommendation", &batch.id)
        ))
        .into_response()),
        Err(StoreError::Conflict(_)) => {
            let mut errors = Errors::default();
            errors.add(
                "submit",
                "报送",
                "推荐名单或申报书状态已变化（可能其他同事刚刚修改或报送），未报送。请核对后重试。",
            );
            let body = render(
                &state,
                &ctx,
                &city,
                batch,
                Posted(None),
                &[],
                errors,
                String::new(),
            )
            .await?;
            Ok((StatusCode::CONFLICT, Html(body)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

fn push(
    b: &mut Batch,
    app: &applications::Application,
    to: AppStateKind,
    actor: &crate::store::audit::Actor,
    reason: &str,
    now: i64,
) -> AppResult<()> {
    applications::push_transition(b, app, to, Role::City, actor, reason, now).map_err(|e| match e {
        TransitionError::Forbidden | TransitionError::Stale => AppError::Forbidden,
        TransitionError::Store(e) => e.into(),
    })
}
