//! The 消息中心 of the account room: every logged-in account's messages
//! (the outbox rows addressed to it), newest first, marked read one by one
//! or all at once; each opens the object it is about. A message is only ever
//! read or changed through its recipient's own id, so nobody reaches
//! another's messages (another's id answers 404).

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::middleware;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::AppState;
use super::shared::context::Ctx;
use super::shared::error::{AppError, AppResult};
use super::shared::guard;
use super::shared::page::Page;
use crate::clock;
use crate::services::notify;
use crate::store::Batch;
use crate::store::outbox;

/// The most messages the list shows.
const SHOWN: i64 = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/messages", get(list))
        .route("/account/messages/read-all", post(read_all))
        .route("/account/messages/{id}/read", post(read))
        .route("/account/messages/{id}/open", post(open))
        .route_layer(middleware::from_fn(guard::logged_in))
}

pub struct Row {
    pub id: String,
    pub kind: &'static str,
    pub subject: String,
    pub body: String,
    pub at: String,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "messages.html")]
struct ListPage {
    page: Page,
    rows: Vec<Row>,
}

async fn list(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let user = ctx.require_user()?;
    let rows = outbox::for_recipient(&state.db, &user.id, SHOWN)
        .await?
        .iter()
        .map(|m| {
            let r = notify::render(&state.program, m);
            Row {
                id: m.id.clone(),
                kind: m.kind.label(),
                subject: r.subject,
                body: r.body,
                at: clock::format_datetime(m.created_at),
                unread: m.read_at.is_none(),
            }
        })
        .collect();
    let page = ListPage {
        page: Page::new(&state, &ctx, "消息中心"),
        rows,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?).into_response())
}

async fn read(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let user = ctx.require_user()?;
    let m = outbox::one_for_recipient(&state.db, &user.id, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut b = Batch::new();
    outbox::mark_read(&mut b, &user.id, &m.id, state.clock.now());
    state.db.write(b).await?;
    Ok(Redirect::to("/account/messages").into_response())
}

/// Marks the message read and goes to its object.
async fn open(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let user = ctx.require_user()?;
    let m = outbox::one_for_recipient(&state.db, &user.id, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut b = Batch::new();
    outbox::mark_read(&mut b, &user.id, &m.id, state.clock.now());
    state.db.write(b).await?;
    // Links are written by the platform as local paths; anything else goes home.
    let to = if m.link.starts_with('/') && !m.link.starts_with("//") {
        m.link.as_str()
    } else {
        "/account/messages"
    };
    Ok(Redirect::to(to).into_response())
}

async fn read_all(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let user = ctx.require_user()?;
    let mut b = Batch::new();
    outbox::mark_all_read(&mut b, &user.id, state.clock.now());
    state.db.write(b).await?;
    Ok(Redirect::to("/account/messages").into_response())
}
