//! An application's version history and the differences between two versions.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;

use crate::store::applications::{self, Application, VersionInfo};
use crate::web::AppState;
use crate::web::apply::load_visible;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::page::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/apply/{id}/versions", get(versions_page))
        .route("/apply/{id}/diff", get(diff_page))
        .route_layer(axum::middleware::from_fn(
            crate::web::shared::guard::logged_in,
        ))
}

#[derive(Template)]
#[template(path = "apply/versions.html")]
struct VersionsPage {
    page: Page,
    app: Application,
    versions: Vec<VersionInfo>,
}

async fn versions_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Html<String>> {
    let app = load_visible(&state, &ctx, &id).await?;
    let state = state.for_batch(&app.batch_id).await?;
    let mut versions = applications::versions(&state.db, &id).await?;
    // Drafts are the enterprise's own working copies: officials see what was submitted.
    if !owns(&ctx, &app) {
        versions.retain(|v| v.kind == "submitted");
    }
    let page = VersionsPage {
        page: Page::new(&state, &ctx, "版本记录"),
        app,
        versions,
    };
    Ok(Html(page.render()?))
}

pub struct Change {
    pub label: String,
    pub before: String,
    pub after: String,
}

#[derive(Template)]
#[template(path = "apply/diff.html")]
struct DiffPage {
    page: Page,
    app: Application,
    a: i64,
    b: i64,
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct DiffQuery {
    a: i64,
    b: i64,
}

/// The answers of a stored version (a submitted snapshot holds them under `content`).
fn owns(ctx: &Ctx, app: &Application) -> bool {
    ctx.user.as_ref().is_some_and(|u| u.id == app.enterprise_id)
}

/// A version's answers, refused (as not found) when only submitted versions may be shown.
async fn visible_version(
    state: &AppState,
    id: &str,
    v: i64,
    submitted_only: bool,
) -> AppResult<Value> {
    if submitted_only {
        let (kind, _) = applications::version_content(&state.db, id, v)
            .await?
            .ok_or(AppError::NotFound)?;
        if kind != "submitted" {
            return Err(AppError::NotFound);
        }
    }
    version_answers(state, id, v).await
}

pub async fn version_answers(state: &AppState, id: &str, v: i64) -> AppResult<Value> {
    let (kind, text) = applications::version_content(&state.db, id, v)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(answers_in(&kind, &text))
}

/// The answers of version `v`, or when it was an autosave not kept, of the
/// newest version before it that can be read (None: none can).
pub async fn merge_base(state: &AppState, id: &str, v: i64) -> AppResult<Option<Value>> {
    Ok(applications::version_at_or_before(&state.db, id, v)
        .await?
        .map(|(_, kind, text)| answers_in(&kind, &text)))
}

/// The answers a version row holds (a submitted snapshot under `content`).
fn answers_in(kind: &str, text: &str) -> Value {
    let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    if kind == "submitted" {
        value.get("content").cloned().unwrap_or(Value::Null)
    } else {
        value
    }
}

pub(super) fn flatten(v: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(x, &p, out);
            }
        }
        Value::Array(a) if a.iter().all(|x| x.is_string()) => {
            out.push((
                prefix.to_string(),
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("、"),
            ));
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten(x, &format!("{prefix}.{i}"), out);
            }
        }
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        Value::Bool(b) => out.push((prefix.to_string(), if *b { "是" } else { "否" }.into())),
        Value::Number(n) => out.push((prefix.to_string(), n.to_string())),
        Value::Null => {}
    }
}

/// A text as compared: no surrounding space, line breaks as `\n` (versions
/// saved before the form unified them may hold CRLF).
fn compared(s: &str) -> std::borrow::Cow<'_, str> {
    let s = s.trim();
    if s.contains('\r') {
        s.replace("\r\n", "\n").replace('\r', "\n").into()
    } else {
        s.into()
    }
}

/// What changed between two answer documents, field by field.
pub fn changes(state: &AppState, before: &Value, after: &Value) -> Vec<Change> {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    flatten(before, "", &mut a);
    flatten(after, "", &mut b);
    let mut keys: Vec<&String> = a
        .iter()
        .map(|x| &x.0)
        .chain(b.iter().map(|x| &x.0))
        .collect();
    keys.sort();
    keys.dedup();
    let get = |v: &[(String, String)], k: &str| {
        v.iter()
            .find(|x| x.0 == k)
            .map(|x| x.1.clone())
            .unwrap_or_default()
    };
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (get(&a, k), get(&b, k));
            (compared(&x) != compared(&y)).then(|| Change {
                label: state.program.form.path_label(k),
                before: x,
                after: y,
            })
        })
        .collect()
}

async fn diff_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<DiffQuery>,
) -> AppResult<Html<String>> {
    let app = load_visible(&state, &ctx, &id).await?;
    let state = state.for_batch(&app.batch_id).await?;
    let submitted_only = !owns(&ctx, &app);
    let before = visible_version(&state, &id, q.a, submitted_only).await?;
    let after = visible_version(&state, &id, q.b, submitted_only).await?;
    let page = DiffPage {
        page: Page::new(&state, &ctx, "版本比较"),
        changes: changes(&state, &before, &after),
        app,
        a: q.a,
        b: q.b,
    };
    Ok(Html(page.render()?))
}
