//! The province package as a job: started from the UI, written by a
//! background task held by a lease (`services::exports`), its progress kept
//! in the database and the package in the file store, so any server process
//! shows it and serves it.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use crate::domain::role::Role;
use crate::services::exports::{self, Job};
use crate::store::batches;
use crate::web::AppState;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/province/exports", get(list).post(start))
        .route("/province/exports/{id}", get(job_page))
        .route("/province/exports/{id}/download", get(download))
}

async fn load(state: &AppState, id: &str) -> AppResult<Job> {
    exports::job(&state.db, id).await?.ok_or(AppError::NotFound)
}

#[derive(Template)]
#[template(path = "province/exports.html")]
struct ListPage {
    page: crate::web::shared::page::Page,
    batches: Vec<batches::BatchRow>,
    jobs: Vec<Job>,
}

async fn list(State(state): State<AppState>, ctx: Ctx) -> AppResult<Html<String>> {
    ctx.require_role(Role::Province)?;
    let jobs = exports::recent(&state.db, 20).await?;
    let page = ListPage {
        page: crate::web::shared::page::Page::new(&state, &ctx, "导出申报材料"),
        batches: batches::all(&state.db).await?,
        jobs,
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
struct StartForm {
    #[serde(default)]
    batch: String,
}

async fn start(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<StartForm>,
) -> AppResult<Response> {
    ctx.require_role(Role::Province)?;
    let batch = batches::by_id(&state.db, &f.batch)
        .await?
        .ok_or(AppError::NotFound)?;
    let job = exports::start(
        &state.db,
        &ctx.actor(),
        &batch.id,
        &batch.name,
        state.clock.now(),
    )
    .await?;
    let id = job.id.clone();
    tokio::spawn(run(state.clone(), job));
    Ok(Redirect::to(&format!("/province/exports/{id}")).into_response())
}

/// Runs a job this process holds, with its batch's own definition.
async fn run(state: AppState, job: exports::Claimed) {
    let program = match state.programs.of(&state.db, &job.batch_id).await {
        Ok(d) => d.def.clone(),
        Err(_) => state.program.clone(),
    };
    exports::run(
        state.db.clone(),
        state.files.clone(),
        program,
        state.clock.clone(),
        state.data_dir.join("exports"),
        job,
    )
    .await;
}

/// Every few seconds, takes over a job whose process stopped (see
/// `services::exports`); runs in every `serve` process.
pub fn spawn_worker(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(exports::POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match exports::claim_orphan(&state.db, state.clock.now()).await {
                Ok(Some(job)) => {
                    tokio::spawn(run(state.clone(), job));
                }
                Ok(None) => {}
                Err(e) => tracing::warn!("export jobs: {e}"),
            }
        }
    });
}

#[derive(Template)]
#[template(path = "province/export.html")]
struct JobPage {
    page: crate::web::shared::page::Page,
    job: Job,
}

async fn job_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Html<String>> {
    ctx.require_role(Role::Province)?;
    let job = load(&state, &id).await?;
    let page = JobPage {
        page: crate::web::shared::page::Page::new(&state, &ctx, "导出申报材料"),
        job,
    };
    Ok(Html(page.render()?))
}

async fn download(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    ctx.require_role(Role::Province)?;
    let job = load(&state, &id).await?;
    if job.state != "done" {
        return Err(AppError::BadRequest("导出尚未完成，请稍候。".into()));
    }
    crate::web::shared::upload::stream(
        &state,
        &headers,
        crate::web::shared::upload::Download {
            source: crate::web::shared::upload::Source::Export(&job.id),
            name: &job.file_name,
            ascii: "package.zip",
            mime: Some("application/zip"),
            sha256: None,
            disposition: "attachment",
        },
    )
    .await
}
