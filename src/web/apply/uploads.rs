//! Attachment upload (streamed, bounded, sniffed), delete and download.
//! Only the owner, its city, the province (and later an assigned expert)
//! may download; only the owner may change, and only while editable.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::domain::role::Role;
use crate::store::applications;
use crate::store::attachments::{self, Attachment};
use crate::store::audit::{self, Action};
use crate::store::{Batch, Guard, StoreError, new_id};
use crate::web::AppState;
use crate::web::apply::{SlotView, load_visible, slot_views};
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult, urlencode};
use crate::web::shared::flash;
use crate::web::shared::upload::{
    MAX_UPLOAD_TEXT, Reservation, StreamError, clean_name, drain, small_text, upload_drain_limit,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/apply/{id}/attachments",
            post(upload)
                .layer(DefaultBodyLimit::max(upload_drain_limit(
                    crate::config::Config::default().max_file_bytes,
                )))
                // Before the multipart body is read at all.
                .route_layer(axum::middleware::from_fn(
                    crate::web::shared::guard::enterprise,
                )),
        )
        .route(
            "/apply/{id}/attachments/{att}/delete",
            post(delete).route_layer(axum::middleware::from_fn(
                crate::web::shared::guard::enterprise,
            )),
        )
        .route("/files/{att}", get(download))
        .route_layer(axum::middleware::from_fn(
            crate::web::shared::guard::logged_in,
        ))
}

/// Whether the request was sent by htmx (an upload or delete from the
/// page with JavaScript), which takes the slot's fragment as its answer.
fn from_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

/// One slot of the form page, as htmx swaps it in after an upload or delete.
#[derive(Template)]
#[template(path = "apply/slot_fragment.html")]
struct SlotFragment {
    s: SlotView,
    app_id: String,
    csrf: String,
    editable: bool,
}

/// The answer to an upload or delete in `slot`: `Ok` what was done,
/// `Err` why it was refused. To htmx, the slot re-rendered with the message
/// in it (200 either way, so htmx swaps it); to a plain form post, a
/// redirect to the form page scrolled to that slot, with the message there.
async fn answer(
    state: &AppState,
    ctx: &Ctx,
    app: &crate::store::applications::Application,
    htmx: bool,
    slot: Option<&str>,
    result: Result<Done, String>,
) -> AppResult<Response> {
    let id = &app.id;
    let known = slot.filter(|k| {
        state
            .program
            .form
            .attachments()
            .any(|s| s.upload_keys().iter().any(|(key, _)| key == k))
    });
    let Some(key) = known else {
        // No slot to show it in: the top of the page (the message goes in
        // a one-shot cookie, never as text in the address).
        let to = format!("/apply/{id}#attachments");
        let mut r = if htmx {
            let mut r = StatusCode::OK.into_response();
            if let Ok(v) = HeaderValue::from_str(&to) {
                r.headers_mut().insert("hx-redirect", v);
            }
            r
        } else {
            Redirect::to(&to).into_response()
        };
        if let Err(msg) = &result {
            let [(name, value)] = flash::cookie_header(state, "attachments", msg);
            r.headers_mut().append(name, value);
        }
        return Ok(r);
    };
    if !htmx {
        let to = |what: &str| format!("/apply/{id}?{what}slot={}#f-slot-{key}", urlencode(key));
        return Ok(match &result {
            Ok(Done::Deleted(_)) => Redirect::to(&to("deleted=1&")).into_response(),
            Ok(Done::Uploaded(_)) => Redirect::to(&to("uploaded=1&")).into_response(),
            Err(msg) => flash::redirect(state, &to(""), &format!("slot:{key}"), msg),
        });
    }
    let files = attachments::for_application(&state.db, id).await?;
    let Some(mut s) = slot_views(state, &files, None)
        .into_iter()
        .find(|s| s.key == key)
    else {
        return Err(AppError::NotFound);
    };
    (s.message_ok, s.message) = match result {
        Ok(Done::Uploaded(m) | Done::Deleted(m)) => (true, m),
        Err(m) => (false, m),
    };
    let fragment = SlotFragment {
        s,
        app_id: id.clone(),
        csrf: ctx.csrf.clone(),
        editable: app.state.editable(),
    };
    Ok(Html(fragment.render()?).into_response())
}

/// What an upload or delete did, and the message saying so.
enum Done {
    Uploaded(String),
    Deleted(String),
}

async fn upload(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    headers: HeaderMap,
    mut mp: Multipart,
) -> AppResult<Response> {
    ctx.require_role(Role::Enterprise)?;
    let app = load_visible(&state, &ctx, &id).await?;
    let state = state.for_batch(&app.batch_id).await?;
    let mut slot_key = None;
    let result = receive(&state, &ctx, &app, &mut mp, &mut slot_key).await;
    // The rest of a refused body, still on its way, is read and dropped
    // (bounded by the route's limit), so the answer is not lost in a reset.
    drain(&mut mp).await;
    answer(
        &state,
        &ctx,
        &app,
        from_htmx(&headers),
        slot_key.as_deref(),
        result?,
    )
    .await
}

/// Reads an upload form (`slot`, then `file`) and stores the file if its
/// slot takes it; `slot_key` is what the form named, for the answer.
async fn receive(
    state: &AppState,
    ctx: &Ctx,
    app: &crate::store::applications::Application,
    mp: &mut Multipart,
    slot_key: &mut Option<String>,
) -> AppResult<Result<Done, String>> {
    let id = &app.id;
    let locked = (!app.state.editable())
        .then(|| format!("申报书当前状态为“{}”，不能修改附件。", app.state.label()));
    let existing = attachments::for_application(&state.db, id).await?;
    let used: u64 = existing.iter().map(|a| a.size as u64).sum();
    loop {
        let mut field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return Ok(Err("上传中断，请重新选择文件上传。".into())),
        };
        match field.name() {
            Some("slot") => {
                let Some(v) = small_text(&mut field, MAX_UPLOAD_TEXT).await else {
                    return Ok(Err("附件类别不存在。".into()));
                };
                *slot_key = Some(v.chars().take(64).collect());
            }
            Some("file") => {
                if let Some(msg) = locked {
                    return Ok(Err(msg));
                }
                let Some(key) = slot_key.clone() else {
                    return Ok(Err("请先选择附件类别。".into()));
                };
                let Some(slot) = state
                    .program
                    .form
                    .attachments()
                    .find(|s| s.upload_keys().iter().any(|(k, _)| *k == key))
                else {
                    return Ok(Err("附件类别不存在。".into()));
                };
                let in_slot: Vec<&Attachment> = existing.iter().filter(|a| a.slot == key).collect();
                // A one-file slot is replaced; others fill up to their count.
                let replace = if slot.max_count == 1 {
                    in_slot.first().copied()
                } else {
                    None
                };
                if replace.is_none() && in_slot.len() >= slot.max_count {
                    return Ok(Err(format!(
                        "“{}”最多上传{}个文件，请先删除不需要的文件。",
                        slot.label, slot.max_count
                    )));
                }
                // A browser sends a file input left empty as a nameless, empty part.
                if field.file_name().is_none_or(str::is_empty) {
                    return Ok(Err("请先选择要上传的文件。".into()));
                }
                let file_name = clean_name(field.file_name().unwrap_or(""), "附件");
                let per_file =
                    (slot.max_size_mb as u64 * crate::config::MB).min(state.config.max_file_bytes);
                let total = state.config.max_application_bytes;
                let kept = used - replace.map_or(0, |a| a.size as u64);
                let over_total = || {
                    format!(
                        "本申报书附件总大小不能超过{}，剩余可用{}，请压缩后上传。",
                        crate::files::human_size(total),
                        crate::files::human_size(total.saturating_sub(kept))
                    )
                };
                let storage_key = new_id();
                // Counted against the total chunk by chunk, beside this
                // application's other uploads in flight; held until the row
                // is written, whose insert checks the total once more.
                let mut share = state.caches.uploads_in_flight.reserve(id);
                let stored = match stream_within_total(
                    state,
                    field,
                    &storage_key,
                    per_file,
                    &mut share,
                    kept,
                    total,
                )
                .await
                {
                    Ok(s) => s,
                    Err(None) => return Ok(Err(over_total())),
                    Err(Some(StreamError::Interrupted)) => {
                        return Ok(Err("上传中断，请重新上传。".into()));
                    }
                    Err(Some(StreamError::Put(e))) => {
                        return Ok(Err(format!("“{file_name}”上传失败：{e}")));
                    }
                };
                let ext_ok = slot.types.iter().any(|t| match stored.kind {
                    crate::files::FileKind::Pdf => t == "pdf",
                    crate::files::FileKind::Jpeg => t == "jpg" || t == "jpeg",
                    crate::files::FileKind::Png => t == "png",
                });
                if !ext_ok {
                    let _ = state.files.delete(&storage_key).await;
                    return Ok(Err(format!(
                        "“{}”只接受{}文件。",
                        slot.label,
                        slot.types.join("、").to_uppercase()
                    )));
                }
                let now = state.clock.now();
                let att = Attachment {
                    id: new_id(),
                    application_id: id.clone(),
                    slot: key.clone(),
                    file_name: file_name.clone(),
                    content_type: stored.kind.mime().into(),
                    size: stored.size as i64,
                    sha256: stored.sha256.clone(),
                    storage_key,
                    created_at: now,
                };
                // The streamed bytes are given back before the row is
                // written: the insert checks the total exactly, and a share
                // still held once the row is visible would count this file
                // twice for an upload that starts meanwhile.
                drop(share);
                let mut b = Batch::new();
                if let Some(old) = replace {
                    attachments::delete(&mut b, &old.id, now);
                }
                attachments::insert_within_total(&mut b, &att, &ctx.actor().name, total);
                // The text the stamp covers is kept as a version: the
                // submission compares it with the answers it submits.
                if att.slot == crate::docs::STAMPED_SCAN {
                    applications::checkpoint(&mut b, id, &ctx.actor().name, now);
                }
                let detail = format!(
                    "{}：{}（{}，SHA-256 {}）",
                    slot.label,
                    file_name,
                    crate::files::human_size(stored.size),
                    &stored.sha256[..12]
                );
                audit::record(
                    &mut b,
                    &ctx.actor(),
                    Action::AttachmentUpload,
                    Some(id),
                    true,
                    &detail,
                    now,
                );
                match state.db.write(b).await {
                    Ok(_) => {}
                    // Another upload of this application was written first
                    // and the total has no room left for this one.
                    Err(StoreError::Conflict(guard)) => {
                        let _ = state.files.delete(&att.storage_key).await;
                        return Ok(Err(if guard == Guard::AttachmentTotal {
                            over_total()
                        } else {
                            "该附件刚被另一次上传替换，请刷新页面后重试。".to_string()
                        }));
                    }
                    Err(e) => {
                        let _ = state.files.delete(&att.storage_key).await;
                        return Err(e.into());
                    }
                }
                if let Some(old) = replace {
                    drop_unsubmitted_file(state, app, old).await;
                }
                return Ok(Ok(Done::Uploaded(format!("“{file_name}”已上传。"))));
            }
            _ => {}
        }
    }
    Ok(Err(locked.unwrap_or_else(|| "请选择要上传的文件。".into())))
}

async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, att)): Path<(String, String)>,
    headers: HeaderMap,
) -> AppResult<Response> {
    ctx.require_role(Role::Enterprise)?;
    let app = load_visible(&state, &ctx, &id).await?;
    let state = state.for_batch(&app.batch_id).await?;
    let a = attachments::by_id(&state.db, &att)
        .await?
        .filter(|a| a.application_id == app.id)
        .ok_or(AppError::NotFound)?;
    let htmx = from_htmx(&headers);
    if !app.state.editable() {
        let msg = "申报书已提交，附件不能删除。".to_string();
        return answer(&state, &ctx, &app, htmx, Some(&a.slot), Err(msg)).await;
    }
    let now = state.clock.now();
    let mut b = Batch::new();
    attachments::delete(&mut b, &a.id, now);
    audit::record(
        &mut b,
        &ctx.actor(),
        Action::AttachmentDelete,
        Some(&id),
        true,
        &a.file_name,
        now,
    );
    state.db.write(b).await?;
    drop_unsubmitted_file(&state, &app, &a).await;
    let done = Done::Deleted(format!("已删除“{}”。", a.file_name));
    answer(&state, &ctx, &app, htmx, Some(&a.slot), Ok(done)).await
}

/// Streams one file into the store under `key`, at most `per_file` bytes,
/// each chunk counted in `share` against the application's `total` beside
/// its `kept` bytes and its other uploads in flight. `Err(None)`: the total
/// is reached; the partial file is removed on any failure.
async fn stream_within_total(
    state: &AppState,
    mut field: axum::extract::multipart::Field<'_>,
    key: &str,
    per_file: u64,
    share: &mut Reservation<'_>,
    kept: u64,
    total: u64,
) -> Result<crate::files::Stored, Option<StreamError>> {
    let mut up = state
        .files
        .create(key, per_file)
        .await
        .map_err(|e| Some(StreamError::Put(e)))?;
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                if !share.grow(chunk.len() as u64, kept, total) {
                    return Err(None);
                }
                up.write(&chunk)
                    .await
                    .map_err(|e| Some(StreamError::Put(e)))?;
            }
            Ok(None) => break,
            Err(_) => return Err(Some(StreamError::Interrupted)),
        }
    }
    up.finish().await.map_err(|e| Some(StreamError::Put(e)))
}

/// Removes a deleted or replaced attachment's file from the store when no
/// submitted version can list it (it came after the last submission, or
/// nothing was submitted yet); a file a submitted version lists stays, as
/// that version's record. (Deleted files used to stay on disk: upload and
/// delete filled the disk without limit.)
async fn drop_unsubmitted_file(
    state: &AppState,
    app: &crate::store::applications::Application,
    a: &Attachment,
) {
    if app.submitted_at.is_none_or(|s| a.created_at > s)
        && let Err(e) = state.files.delete(&a.storage_key).await
    {
        tracing::warn!("removing {} failed: {e}", a.storage_key);
    }
}

async fn download(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    Path(att): Path<String>,
) -> AppResult<Response> {
    let user = ctx.require_user()?;
    let a = attachments::by_id(&state.db, &att)
        .await?
        .ok_or(AppError::NotFound)?;
    // Access follows the application's; an expert's, their live assignment's.
    if user.role == Role::Expert {
        if !crate::store::review::assigned(&state.db, &a.application_id, &user.id).await? {
            return Err(AppError::NotFound);
        }
    } else {
        load_visible(&state, &ctx, &a.application_id).await?;
    }
    // Who of the officials looked at an enterprise's papers is on record
    // (the enterprise opening its own files is not).
    if user.role != Role::Enterprise {
        let mut b = Batch::new();
        audit::record(
            &mut b,
            &ctx.actor(),
            Action::AttachmentDownload,
            Some(&a.application_id),
            true,
            &format!(
                "{}（SHA-256 {}）",
                a.file_name,
                &a.sha256[..12.min(a.sha256.len())]
            ),
            state.clock.now(),
        );
        state.db.write(b).await?;
    }
    crate::web::shared::upload::stream(
        &state,
        &headers,
        crate::web::shared::upload::Download {
            source: crate::web::shared::upload::Source::File(&a.storage_key),
            name: &a.file_name,
            ascii: "attachment",
            mime: Some(&a.content_type),
            sha256: Some(&a.sha256),
            disposition: "inline",
        },
    )
    .await
}
