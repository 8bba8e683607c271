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

use crate::clock;
use crate::domain::notify::Kind;
use crate::services::notify;
use crate::store::Batch;
use crate::store::outbox;
use crate::web::AppState;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::guard;
use crate::web::shared::page::Page;

/// The most messages the list shows.
const SHOWN: i64 = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/messages", get(list))
        .route("/account/messages/read-all", post(read_all))
        .route(
            "/account/messages/settings",
            get(settings_page).post(save_settings),
        )
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
#[template(path = "account/messages.html")]
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

/// The viewer's own message `id`, marked read.
async fn mark_read(state: &AppState, ctx: &Ctx, id: &str) -> AppResult<outbox::Message> {
    let user = ctx.require_user()?;
    let m = outbox::one_for_recipient(&state.db, &user.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut b = Batch::new();
    outbox::mark_read(&mut b, &user.id, &m.id, state.clock.now());
    state.db.write(b).await?;
    Ok(m)
}

async fn read(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Response> {
    mark_read(&state, &ctx, &id).await?;
    Ok(Redirect::to("/account/messages").into_response())
}

/// Marks the message read and goes to its object.
async fn open(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let m = mark_read(&state, &ctx, &id).await?;
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

pub struct PrefRow {
    pub code: &'static str,
    pub label: &'static str,
    pub on: bool,
    /// Sent whatever the preference (returns, deadlines).
    pub must: bool,
}

#[derive(Template)]
#[template(path = "account/message_settings.html")]
struct SettingsPage {
    page: Page,
    rows: Vec<PrefRow>,
    saved: bool,
}

#[derive(serde::Deserialize, Default)]
struct SettingsQuery {
    #[serde(default)]
    saved: Option<String>,
}

/// The kinds an account of this role receives.
fn own_kinds(role: crate::domain::role::Role) -> impl Iterator<Item = Kind> {
    Kind::ALL
        .into_iter()
        .filter(move |k| k.audience().is_none_or(|r| r == role))
}

/// E-mail on or off per kind of message; in-app messages always stay.
async fn settings_page(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::extract::Query(q): axum::extract::Query<SettingsQuery>,
) -> AppResult<Response> {
    let user = ctx.require_user()?;
    let off = outbox::emails_off(&state.db, &user.id).await?;
    let rows = own_kinds(user.role)
        .map(|k| PrefRow {
            code: k.code(),
            label: k.label(),
            on: k.must_send() || !off.contains(&k),
            must: k.must_send(),
        })
        .collect();
    let page = SettingsPage {
        page: Page::new(&state, &ctx, "邮件通知设置"),
        rows,
        saved: q.saved.is_some(),
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?).into_response())
}

async fn save_settings(
    State(state): State<AppState>,
    ctx: Ctx,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    let user = ctx.require_user()?;
    let on: Vec<String> = form_urlencoded_pairs(&body)
        .into_iter()
        .filter(|(k, _)| k == "email")
        .map(|(_, v)| v)
        .collect();
    let now = state.clock.now();
    let mut b = Batch::new();
    for k in own_kinds(user.role).filter(|k| !k.must_send()) {
        outbox::set_email(&mut b, &user.id, k, on.iter().any(|c| c == k.code()), now);
    }
    state.db.write(b).await?;
    Ok(Redirect::to("/account/messages/settings?saved=1").into_response())
}

fn form_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).unwrap_or_default()
}
