//! Public pages: the home page, the notice of each batch, health check,
//! static files.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::clock;
use crate::store::batches::{self, BatchRow};
use crate::store::publication;
use crate::web::AppState;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::page::Page;

pub mod cases;
pub mod notice;
pub mod publicity;
pub mod shared;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(publicity::router())
        .merge(cases::router())
        .merge(notice::router())
        .route("/", get(home))
        .route("/healthz", get(healthz))
        .route("/static/{file}", get(static_file))
}

/// The batch enterprises apply to now, with what has been published for it.
struct Current {
    batch: BatchRow,
    enterprise_deadline: String,
    recommend_deadline: String,
    /// Some cities have their own enterprise deadline.
    city_deadlines: bool,
    publicity: bool,
    final_list: bool,
}

#[derive(Template)]
#[template(path = "public/home.html")]
struct Home {
    page: Page,
    /// 鄂经信办函〔2021〕75号 and the quota, of the program this server runs.
    doc_number: String,
    quota: u32,
    current: Option<Current>,
    /// The contacts named in the program's notice.
    notice: Option<crate::domain::form::Notice>,
    office: String,
}

/// What the home page reads of the current batch besides its row.
pub struct HomeReads {
    publicity: Option<publication::Publicity>,
    city_deadlines: bool,
}

async fn home(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    // Kept while nothing is written (`store::derived`): the busiest page of
    // a deadline day reads nothing from the database.
    let all = state.batches().await?;
    let batch = batches::current_of(&all, state.clock.now()).cloned();
    // Every visitor who is not logged in gets the same bytes (no name, no
    // token, no count): kept rendered under the current batch, like the
    // values it is made from. A logged-in page is rendered for its user.
    if ctx.user.is_none() && ctx.pending_user.is_none() {
        let key = batch.as_ref().map_or("", |b| b.id.as_str()).to_string();
        let page = state
            .caches
            .home_page
            .get(&state.db, &key, || async {
                Ok::<_, AppError>(Bytes::from(render_home(&state, &ctx, batch).await?))
            })
            .await?;
        return Ok(Html(Bytes::clone(&page)).into_response());
    }
    Ok(Html(render_home(&state, &ctx, batch).await?).into_response())
}

async fn render_home(state: &AppState, ctx: &Ctx, batch: Option<BatchRow>) -> AppResult<String> {
    // The current batch's own notice, number and quota.
    let state = match &batch {
        Some(b) => state.for_batch(&b.id).await?,
        None => state.clone(),
    };
    let current = match batch {
        Some(batch) => {
            let reads = state
                .caches
                .home
                .get(&state.db, &batch.id, || async {
                    Ok::<_, AppError>(HomeReads {
                        publicity: publication::publicity(&state.db, &batch.id).await?,
                        city_deadlines: !batches::city_deadlines(&state.db, &batch.id)
                            .await?
                            .is_empty(),
                    })
                })
                .await?;
            let p = reads.publicity.as_ref();
            Some(Current {
                enterprise_deadline: clock::format_deadline(batch.enterprise_deadline),
                recommend_deadline: clock::format_deadline(batch.recommend_deadline),
                city_deadlines: reads.city_deadlines,
                publicity: p.is_some(),
                final_list: p.is_some_and(|p| p.final_at.is_some()),
                batch,
            })
        }
        None => None,
    };
    let b = &state.program.program.batch;
    Ok(Home {
        page: Page::new(&state, ctx, "首页"),
        doc_number: b.doc_number.clone(),
        quota: b.quota,
        current,
        notice: state.program.notice.clone(),
        office: state.program.program.office.clone(),
    }
    .render()?)
}

async fn healthz(State(state): State<AppState>) -> Response {
    if state.db.ping().await {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
    }
}

const STATIC: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../static/app.js"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../static/htmx.min.js"),
    ),
];

async fn static_file(Path(file): Path<String>) -> Response {
    match STATIC.iter().find(|(name, _, _)| *name == file) {
        Some((_, mime, bytes)) => (
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => AppError::NotFound.into_response(),
    }
}

pub async fn not_found() -> AppError {
    AppError::NotFound
}
