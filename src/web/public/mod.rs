//! Public pages: the call, health check, static files.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::web::AppState;
use crate::web::context::Ctx;
use crate::web::error::{AppError, AppResult};
use crate::web::page::Page;

pub mod publicity;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(publicity::router())
        .route("/", get(home))
        .route("/healthz", get(healthz))
        .route("/static/{file}", get(static_file))
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    page: Page,
}

async fn home(State(state): State<AppState>, ctx: Ctx) -> AppResult<Html<String>> {
    Ok(Html(
        Home {
            page: Page::new(&state, &ctx, "首页"),
        }
        .render()?,
    ))
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
