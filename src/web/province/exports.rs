//! The province package as a job: started from the UI, written to the data
//! directory by a background task, its progress kept in the database (so any
//! server process shows it), downloaded when done.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use crate::clock;
use crate::domain::role::Role;
use crate::params;
use crate::store::audit::{self, Action};
use crate::store::{Batch, Millis, batches, new_id};
use crate::web::AppState;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult, urlencode};

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

fn job_path(state: &AppState, id: &str) -> std::path::PathBuf {
    state.data_dir.join("exports").join(format!("{id}.zip"))
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
    let id = new_id();
    let now = state.clock.now();
    let file_name = format!(
        "{}-申报材料-{}.zip",
        batch.name,
        clock::to_local_input(now).replace(['T', ':'], "")
    );
    let mut b = Batch::new();
    b.push(
        "INSERT INTO export_jobs (id, batch_id, state, done, total, file_name, size, error, created_by, created_at, finished_at) \
         VALUES ($1, $2, 'running', 0, 0, $3, NULL, '', $4, $5, NULL)",
        params![id.as_str(), batch.id.as_str(), file_name.as_str(), ctx.actor().name, now],
    );
    audit::record(
        &mut b,
        &ctx.actor(),
        Action::Export,
        Some(&id),
        true,
        &batch.name,
        now,
    );
    state.db.write(b).await?;
    tokio::spawn(run(state.clone(), id.clone(), batch.id.clone()));
    Ok(Redirect::to(&format!("/province/exports/{id}")).into_response())
}

/// The job itself: progress is written to the database at most twice a second.
async fn run(state: AppState, id: String, batch_id: String) {
    let path = job_path(&state, &id);
    if let Some(dir) = path.parent() {
        let _ = tokio::fs::create_dir_all(dir).await;
    }
    let done = Arc::new(AtomicUsize::new(0));
    let total = Arc::new(AtomicUsize::new(0));
    let (d2, t2) = (done.clone(), total.clone());
    let reporter = {
        let (state, id, done, total) = (state.clone(), id.clone(), done.clone(), total.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                let b = Batch::one(
                    "UPDATE export_jobs SET done = $2, total = $3 WHERE id = $1 AND state = 'running'",
                    params![
                        id.as_str(),
                        done.load(Ordering::Relaxed) as i64,
                        total.load(Ordering::Relaxed) as i64
                    ],
                );
                if state.db.write(b).await.is_err() {
                    break;
                }
            }
        })
    };
    let program = match state.programs.of(&state.db, &batch_id).await {
        Ok(d) => d.def.clone(),
        Err(_) => state.program.clone(),
    };
    let result = crate::docs::export::package_to_file(
        &state.db,
        program,
        &state.files,
        &batch_id,
        &path,
        move |d, t| {
            d2.store(d, Ordering::Relaxed);
            t2.store(t, Ordering::Relaxed);
        },
    )
    .await;
    reporter.abort();
    let now = state.clock.now();
    let b = match result {
        Ok(n) => {
            let size = std::fs::metadata(&path)
                .map(|m| m.len() as i64)
                .unwrap_or(0);
            Batch::one(
                "UPDATE export_jobs SET state = 'done', done = $2, total = $2, size = $3, finished_at = $4 WHERE id = $1",
                params![id.as_str(), n as i64, size, now],
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "export failed");
            Batch::one(
                "UPDATE export_jobs SET state = 'failed', error = $2, finished_at = $3 WHERE id = $1",
                params![
                    id.as_str(),
                    format!("{e:#}").chars().take(500).collect::<String>(),
                    now
                ],
            )
        }
    };
    let _ = state.db.write(b).await;
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
    Path(id): Path<String>,
) -> AppResult<Response> {
    ctx.require_role(Role::Province)?;
    let job = load(&state, &id).await?;
    if job.state != "done" {
        return Err(AppError::BadRequest("导出尚未完成，请稍候。".into()));
    }
    let file = tokio::fs::File::open(job_path(&state, &id))
        .await
        .map_err(|_| AppError::NotFound)?;
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    use axum::http::{HeaderValue, header};
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"package.zip\"; filename*=UTF-8''{}",
        urlencode(&job.file_name)
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
