//! The files of a city's recommendation: the stamped 推荐文件 and 推荐表 scan
//! (PDF, streamed, sniffed, bounded like every upload), and the 推荐表
//! generated as .docx / .xlsx from the city's ordered list. The city sees
//! its own; the province sees every city's.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::Value;

use crate::docs::{
    RecommendationRow, RecommendationSheet, recommendation_docx, recommendation_xlsx,
};
use crate::domain::region;
use crate::domain::role::Role;
use crate::files::FileKind as Sniffed;
use crate::store::audit::{self, Action};
use crate::store::recommendations::{self, File, FileKind};
use crate::store::{Batch, StoreError, applications, new_id};
use crate::web::AppState;
use crate::web::city::inbox::{city_batch, city_name, locked, with_batch};
use crate::web::city::recommend::BatchQuery;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult, urlencode};
use crate::web::shared::flash;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/city/recommendation/files",
            post(upload)
                .layer(DefaultBodyLimit::max(
                    crate::web::shared::upload::upload_drain_limit(MAX_SCAN),
                ))
                .route_layer(axum::middleware::from_fn(crate::web::shared::guard::city)),
        )
        // Read by the city and by the province (each checks whose).
        .route("/city/recommendation/files/{id}", get(download))
        .route("/city/recommendation/table.docx", get(table_docx))
        .route("/city/recommendation/table.xlsx", get(table_xlsx))
        .route_layer(axum::middleware::from_fn(
            crate::web::shared::guard::officials,
        ))
}

/// Largest stamped scan accepted.
const MAX_SCAN: u64 = 20 * crate::config::MB;

/// The city whose recommendation the viewer may read: its own for a city
/// account, the one named for the province.
fn readable_city(ctx: &Ctx, named: Option<&str>) -> AppResult<String> {
    let user = ctx.require_user()?;
    match user.role {
        Role::City => user.city_code.clone().ok_or(AppError::Forbidden),
        Role::Province => named
            .filter(|c| region::city(c).is_some())
            .map(str::to_string)
            .ok_or(AppError::NotFound),
        _ => Err(AppError::Forbidden),
    }
}

async fn upload(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<BatchQuery>,
    mut mp: Multipart,
) -> AppResult<Response> {
    let answer = receive(&state, &ctx, q, &mut mp).await;
    // The rest of a refused body is read and dropped (bounded by the
    // route's limit), so the refusal reaches the browser, not a reset.
    crate::web::shared::upload::drain(&mut mp).await;
    answer
}

async fn receive(
    state: &AppState,
    ctx: &Ctx,
    q: BatchQuery,
    mp: &mut Multipart,
) -> AppResult<Response> {
    let user = ctx.require_role(Role::City)?.clone();
    let city = user.city_code.clone().ok_or(AppError::Forbidden)?;
    let batch = city_batch(state, q.batch.as_deref()).await?;
    let to = format!("{}#files", with_batch("/city/recommendation", &batch.id));
    let back = |msg: &str| flash::redirect(state, &to, "files", msg);
    if let Some(m) = locked(state, &batch.id, &city).await? {
        return Ok(back(&m));
    }
    let mut kind = None;
    loop {
        let mut field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return Ok(back("上传中断，请重新选择文件上传。")),
        };
        match field.name() {
            Some("kind") => {
                let text = crate::web::shared::upload::small_text(
                    &mut field,
                    crate::web::shared::upload::MAX_UPLOAD_TEXT,
                )
                .await;
                kind = text.as_deref().and_then(FileKind::parse);
            }
            Some("file") => {
                let Some(kind) = kind else {
                    return Ok(back("请先选择文件类别。"));
                };
                let file_name = crate::web::shared::upload::clean_name(
                    field.file_name().unwrap_or(""),
                    "扫描件.pdf",
                );
                let limit = MAX_SCAN.min(state.config.max_file_bytes);
                let key = new_id();
                let stored =
                    match crate::web::shared::upload::stream_field(state, field, &key, limit).await
                    {
                        Ok(s) => s,
                        Err(crate::web::shared::upload::StreamError::Interrupted) => {
                            return Ok(back("上传中断，请重新上传。"));
                        }
                        Err(crate::web::shared::upload::StreamError::Put(e)) => {
                            return Ok(back(&format!("“{file_name}”上传失败：{e}")));
                        }
                    };
                if stored.kind != Sniffed::Pdf {
                    let _ = state.files.delete(&key).await;
                    return Ok(back(&format!(
                        "{}须为盖章后扫描的 PDF 文件。",
                        kind.label()
                    )));
                }
                let now = state.clock.now();
                let f = File {
                    id: new_id(),
                    batch_id: batch.id.clone(),
                    city_code: city.clone(),
                    kind,
                    file_name: file_name.clone(),
                    size: stored.size as i64,
                    sha256: stored.sha256.clone(),
                    storage_key: key.clone(),
                    created_at: now,
                    created_by: user.username.clone(),
                };
                let mut b = Batch::new();
                recommendations::guard(&mut b, &batch.id, &city, now);
                recommendations::put_file(&mut b, &f, now);
                audit::record(
                    &mut b,
                    &ctx.actor(),
                    Action::RecommendationFileUpload,
                    Some(&format!("{}/{}", batch.id, city)),
                    true,
                    &format!(
                        "{}：{}（{}，SHA-256 {}）",
                        kind.label(),
                        file_name,
                        crate::files::human_size(stored.size),
                        &stored.sha256[..12]
                    ),
                    now,
                );
                return match state.db.write(b).await {
                    Ok(_) => Ok(Redirect::to(&format!(
                        "{}&done=uploaded#files",
                        with_batch("/city/recommendation", &batch.id)
                    ))
                    .into_response()),
                    Err(StoreError::Conflict(_)) => {
                        let _ = state.files.delete(&key).await;
                        Ok(back("推荐已报送，已锁定，不能再修改。"))
                    }
                    Err(e) => Err(e.into()),
                };
            }
            _ => {}
        }
    }
    Ok(back("请选择要上传的文件。"))
}

async fn download(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let f = recommendations::file_by_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    // A city asking for another city's file learns nothing of it.
    if readable_city(&ctx, Some(&f.city_code))? != f.city_code {
        return Err(AppError::NotFound);
    }
    crate::web::shared::upload::stream(
        &state,
        &headers,
        crate::web::shared::upload::Download {
            source: crate::web::shared::upload::Source::File(&f.storage_key),
            name: &f.file_name,
            ascii: "recommendation.pdf",
            mime: Some("application/pdf"),
            sha256: Some(&f.sha256),
            disposition: "inline",
        },
    )
    .await
}

/// The 推荐表 rows in the city's order, from each submitted version.
async fn sheet_rows(
    state: &AppState,
    batch_id: &str,
    city: &str,
) -> AppResult<(Vec<RecommendationRow>, String)> {
    let state = &state.for_batch(batch_id).await?;
    let rec = recommendations::get(&state.db, batch_id, city).await?;
    let items = recommendations::items(&state.db, batch_id, city).await?;
    let mut rows = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(app) = applications::by_id(&state.db, &item.application_id).await? else {
            continue;
        };
        let v = app.submitted_version.unwrap_or(0);
        let answers = applications::version_content(&state.db, &app.id, v)
            .await?
            .and_then(|(_, text)| serde_json::from_str::<Value>(&text).ok())
            .and_then(|snap| snap.get("content").cloned())
            .unwrap_or(Value::Null);
        rows.push(RecommendationRow::from_answers(
            &state.program,
            &answers,
            &item.reason,
            i as u32 + 1,
        ));
    }
    let day = crate::clock::date_of(rec.submitted_at.unwrap_or_else(|| state.clock.now()));
    let date = format!("{}年{}月{}日", day.year(), day.month(), day.day());
    Ok((rows, date))
}

async fn table(state: AppState, ctx: Ctx, q: BatchQuery, xlsx: bool) -> AppResult<Response> {
    let city = readable_city(&ctx, q.city.as_deref())?;
    let batch = city_batch(&state, q.batch.as_deref()).await?;
    let (rows, date) = sheet_rows(&state, &batch.id, &city).await?;
    let name = city_name(&city);
    let recommender = format!("{name}经济和信息化局");
    let def = state.for_batch(&batch.id).await?.program.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        let sheet = RecommendationSheet {
            recommender: &recommender,
            date: &date,
            rows: &rows,
        };
        if xlsx {
            recommendation_xlsx(&def, &sheet)
        } else {
            recommendation_docx(&def, &sheet)
        }
    })
    .await
    .map_err(anyhow::Error::from)?;
    let (mime, ext) = if xlsx {
        (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        )
    } else {
        (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "docx",
        )
    };
    let mut resp = (StatusCode::OK, bytes).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"recommendation.{ext}\"; filename*=UTF-8''{}",
        urlencode(&format!("{name}推荐表.{ext}"))
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

async fn table_docx(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<BatchQuery>,
) -> AppResult<Response> {
    table(state, ctx, q, false).await
}

async fn table_xlsx(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<BatchQuery>,
) -> AppResult<Response> {
    table(state, ctx, q, true).await
}
