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

use crate::clock;
use crate::domain::role::Role;
use crate::params;
use crate::services::exports;
use crate::store::{Millis, batches};
use crate::web::AppState;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/province/exports", get(list).post(start))
        .route("/province/exports/{id}", get(job_page))
        .route("/province/exports/{id}/download", get(download))
}

pub struct Job {
    pub id: String,
    pub batch_id: String,
    pub state: String,
    pub done: i64,
    pub total: i64,
    pub file_name: String,
    pub size: Option<i64>,
    pub error: String,
    pub created_by: String,
    pub created_at: Millis,
}

impl Job {
    pub fn percent(&self) -> i64 {
        if self.total == 0 {
            if self.state == "done" { 100 } else { 0 }
        } else {
            self.done * 100 / self.total
        }
    }
    pub fn created_text(&self) -> String {
        clock::format_datetime(self.created_at)
    }
    pub fn size_text(&self) -> String {
        self.size
            .map(|s| crate::files::human_size(s.max(0) as u64))
            .unwrap_or_default()
    }
}

fn job_from(r: &crate::store::Row) -> Job {
    Job {
        id: r.text(0),
        batch_id: r.text(1),
        state: r.text(2),
        done: r.int(3),
        total: r.int(4),
        file_name: r.text(5),
        size: r.opt_int(6),
        error: r.text(7),
        created_by: r.text(8),
        created_at: r.int(9),
    }
}

async fn load(state: &AppState, id: &str) -> AppResult<Job> {
    let row = state
        .db
        .query_opt(
            "SELECT id, batch_id, state, done, total, file_name, size, error, created_by, created_at \
             FROM export_jobs WHERE id = $1",
            params![id],
        )
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(job_from(&row))
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
    let rows = state
        .db
        .query(
            "SELECT id, batch_id, state, done, total, file_name, size, error, created_by, created_at \
             FROM export_jobs ORDER BY created_at DESC LIMIT 20",
            Vec::new(),
        )
        .await?;
    let page = ListPage {
        page: crate::web::shared::page::Page::new(&state, &ctx, "导出申报材料"),
        batches: batches::all(&state.db).await?,
        jobs: rows.iter().map(job_from).collect(),
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
