//! The public side of publication, for people who are not logged in: the
//! 公示 page (stable URL, printable, no JavaScript needed), the 实名
//! objection form with evidence, the status lookup by 查询码, and the final
//! 公告. Nothing private is shown: no contacts, scores, drafts or
//! attachments, and never an objector's identity.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::shared::{HTML, etag_of, respond, shared};
use crate::clock;
use crate::domain::calendar;
use crate::services::Refusal;
use crate::services::publication::{self as svc, ObjectionInput};
use crate::store::batches::{self, BatchRow};
use crate::store::new_id;
use crate::store::publication::{self as ps, Evidence, Item, Publicity};
use crate::web::AppState;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::page::{Errors, Page};
use crate::web::shared::upload::{StreamError, clean_name, stream_field};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/gongshi/{batch}", get(publicity_page))
        .route(
            "/gongshi/{batch}/objection",
            get(objection_page)
                .post(objection)
                .layer(DefaultBodyLimit::max(
                    crate::web::shared::upload::upload_drain_limit(MAX_EVIDENCE)
                        + 8 * MAX_TEXT_FIELD,
                )),
        )
        .route("/gongshi/query", get(query))
        .route("/gonggao/{batch}", get(final_page))
}

/// Largest evidence file.
const MAX_EVIDENCE: u64 = 10 * 1024 * 1024;
/// Largest text field of the objection form.
const MAX_TEXT_FIELD: usize = 32 * 1024;

async fn batch_of(state: &AppState, id: &str) -> AppResult<(BatchRow, Publicity)> {
    let batch = batches::by_id(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let p = ps::publicity(&state.db, &batch.id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((batch, p))
}

#[derive(Template)]
#[template(path = "public/publicity.html")]
struct PublicityPage {
    page: Page,
    batch: BatchRow,
    p: Publicity,
    items: Vec<Item>,
    phase: &'static str,
    end_text: String,
    uncovered: bool,
    office: String,
    /// 《notice title》（doc number） the 公示 follows from.
    basis: String,
}

fn phase(p: &Publicity, now: i64) -> &'static str {
    if p.final_at.is_some() {
        "final"
    } else if now < p.start_at {
        "before"
    } else if now <= p.end_at {
        "open"
    } else {
        "ended"
    }
}

async fn publicity_page(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let now = state.clock.now();
    // One read tells whether the cached page is still the page.
    let stamp = state.pages.stamp(&state.db, &id).await?;
    let key = format!("gongshi|{id}|{}|{}", stamp.0, stamp.phase(now));
    if let Some((etag, body)) = state.pages.get(&key) {
        return Ok(respond(&headers, HTML, etag, body));
    }
    let (batch, p) = batch_of(&state, &id).await?;
    let state = state.for_batch(&batch.id).await?;
    let end: jiff::civil::Date = p.ends_on.parse().unwrap_or_default();
    let body = PublicityPage {
        // The page is the same for everyone: no per-user banner or token in it.
        page: Page::public(&state, format!("{}公示", batch.name)),
        phase: phase(&p, now),
        end_text: clock::format_datetime(p.end_at),
        uncovered: !calendar::covers(end.year()),
        items: ps::items(&state.db, &batch.id).await?,
        office: state.program.program.office.clone(),
        basis: format!(
            "《{}》（{}）",
            state.program.program.batch.notice_title, state.program.program.batch.doc_number
        ),
        batch,
        p,
    }
    .render()?;
    let _ = ctx;
    let etag = etag_of(body.as_bytes());
    let body = Bytes::from(body);
    state.pages.put(key, etag.clone(), body.clone());
    Ok(respond(&headers, HTML, etag, body))
}

#[derive(Template)]
#[template(path = "public/objection.html")]
struct ObjectionPage {
    page: Page,
    batch: BatchRow,
    p: Publicity,
    items: Vec<Item>,
    form: ObjectionInput,
    errors: Errors,
    refusal: String,
    receipt: String,
    open: bool,
}

#[allow(clippy::too_many_arguments)]
async fn render_objection(
    state: &AppState,
    ctx: &Ctx,
    batch: BatchRow,
    p: Publicity,
    form: ObjectionInput,
    errors: Errors,
    refusal: String,
    receipt: String,
) -> AppResult<Response> {
    let now = state.clock.now();
    let status = if errors.is_empty() && refusal.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ObjectionPage {
        page: Page::new(state, ctx, "提出异议"),
        items: ps::items(&state.db, &batch.id).await?,
        open: p.open_at(now),
        batch,
        p,
        form,
        errors,
        refusal,
        receipt,
    };
    Ok((status, Html(page.render()?)).into_response())
}

#[derive(Deserialize, Default)]
struct Preselect {
    #[serde(default)]
    app: String,
}

async fn objection_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<Preselect>,
) -> AppResult<Response> {
    let (batch, p) = batch_of(&state, &id).await?;
    let form = ObjectionInput {
        application_id: q.app,
        ..ObjectionInput::default()
    };
    render_objection(
        &state,
        &ctx,
        batch,
        p,
        form,
        Errors::default(),
        String::new(),
        String::new(),
    )
    .await
}

fn label(field: &str) -> &'static str {
    match field {
        "application" => "被异议企业",
        "name" => "姓名",
        "unit" => "工作单位",
        "phone" => "联系电话",
        "email" => "电子邮箱",
        "facts" => "事实和理由",
        _ => "证明材料",
    }
}

async fn objection(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    mut mp: Multipart,
) -> AppResult<Response> {
    let answer = receive_objection(&state, &ctx, &id, &mut mp).await;
    // The rest of a refused body is read and dropped (bounded by the
    // route's limit), so the refusal reaches the browser, not a reset.
    crate::web::shared::upload::drain(&mut mp).await;
    answer
}

async fn receive_objection(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    mp: &mut Multipart,
) -> AppResult<Response> {
    let (batch, p) = batch_of(state, id).await?;
    let now = state.clock.now();
    let mut form = ObjectionInput::default();
    let mut errors = Errors::default();
    // Refused before anything is stored when the period is not running.
    if !p.open_at(now) {
        let refusal = if now < p.start_at {
            format!("公示期自 {} 开始，开始前不受理异议。", p.starts_on)
        } else {
            format!(
                "公示期已于 {} 结束，不再受理异议。",
                clock::format_datetime(p.end_at)
            )
        };
        return render_objection(state, ctx, batch, p, form, errors, refusal, String::new()).await;
    }
    let mut evidence: Option<Evidence> = None;
    while let Ok(Some(mut field)) = mp.next_field().await {
        let name = field.name().unwrap_or("").to_string();
        if name == "evidence" {
            let file_name = clean_name(field.file_name().unwrap_or(""), "证明材料");
            if field.file_name().is_none_or(|n| n.is_empty()) {
                continue;
            }
            let key = format!("objection-{}", new_id());
            match stream_field(state, field, &key, MAX_EVIDENCE).await {
                Ok(stored) => {
                    evidence = Some(Evidence {
                        name: file_name,
                        key,
                        sha256: stored.sha256,
                        size: stored.size as i64,
                    })
                }
                Err(StreamError::Put(e)) => errors.add("evidence", "证明材料", e.to_string()),
                Err(StreamError::Interrupted) => {
                    errors.add("evidence", "证明材料", "上传中断，请重新选择文件提交")
                }
            }
            continue;
        }
        let Some(v) = crate::web::shared::upload::small_text(&mut field, MAX_TEXT_FIELD).await
        else {
            errors.add("facts", "事实和理由", "填写内容过长");
            continue;
        };
        match name.as_str() {
            "application" => form.application_id = v,
            "name" => form.name = v,
            "unit" => form.unit = v,
            "phone" => form.phone = v,
            "email" => form.email = v,
            "facts" => form.facts = v,
            _ => {}
        }
    }
    let mut refusal = String::new();
    let mut receipt = String::new();
    if errors.is_empty() {
        match svc::file_objection(&state.db, &batch.id, &form, evidence.clone(), &ctx.ip, now).await
        {
            Ok(r) => receipt = r,
            Err(Refusal::Fields(fs)) => {
                for (k, m) in fs {
                    errors.add(k, label(k), m);
                }
            }
            Err(Refusal::Rule(m)) => refusal = m,
            Err(e) => return Err(anyhow::anyhow!(e.to_string()).into()),
        }
    }
    if receipt.is_empty() {
        // Nothing saved: the evidence goes too (the form keeps what was typed).
        if let Some(e) = &evidence {
            let _ = state.files.delete(&e.key).await;
        }
        return render_objection(state, ctx, batch, p, form, errors, refusal, String::new()).await;
    }
    render_objection(
        state,
        ctx,
        batch,
        p,
        ObjectionInput::default(),
        Errors::default(),
        String::new(),
        receipt,
    )
    .await
}

#[derive(Deserialize, Default)]
struct ReceiptQuery {
    #[serde(default)]
    receipt: String,
}

#[derive(Template)]
#[template(path = "public/query.html")]
struct QueryPage {
    page: Page,
    receipt: String,
    found: Option<(String, &'static str, String, String)>,
    asked: bool,
}

async fn query(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ReceiptQuery>,
) -> AppResult<Html<String>> {
    let receipt: String = q
        .receipt
        .trim()
        .to_uppercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(20)
        .collect();
    let found = if receipt.is_empty() {
        None
    } else {
        match ps::by_receipt(&state.db, &receipt).await? {
            Some(o) => {
                let name = ps::items(&state.db, &o.batch_id)
                    .await?
                    .into_iter()
                    .find(|i| i.application_id == o.application_id)
                    .map(|i| i.enterprise_name)
                    .unwrap_or_default();
                Some((
                    name,
                    o.status.label(),
                    o.decision_text(),
                    o.decision_reason.clone(),
                ))
            }
            None => None,
        }
    };
    let page = QueryPage {
        page: Page::new(&state, &ctx, "异议办理查询"),
        asked: !receipt.is_empty(),
        receipt,
        found,
    };
    Ok(Html(page.render()?))
}

pub struct FinalRow {
    pub seq: i64,
    pub name: String,
    pub city: String,
    pub industry: String,
}

#[derive(Template)]
#[template(path = "public/final.html")]
struct FinalPage {
    page: Page,
    batch: BatchRow,
    doc_number: String,
    date: String,
    fingerprint: String,
    rows: Vec<FinalRow>,
    office: String,
}

async fn final_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let (batch, p) = batch_of(&state, &id).await?;
    let list: serde_json::Value = p
        .final_list
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or(AppError::NotFound)?;
    let s = |v: &serde_json::Value, k: &str| {
        v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string()
    };
    let rows = list
        .get("enterprises")
        .and_then(|e| e.as_array())
        .map(|a| {
            a.iter()
                .map(|e| FinalRow {
                    seq: e.get("seq").and_then(|x| x.as_i64()).unwrap_or(0),
                    name: s(e, "name"),
                    city: s(e, "city"),
                    industry: s(e, "industry"),
                })
                .collect()
        })
        .unwrap_or_default();
    let body = FinalPage {
        page: Page::public(&state, format!("{}名单公告", batch.name)),
        doc_number: p.final_doc_number.clone().unwrap_or_default(),
        date: p.final_date.clone().unwrap_or_default(),
        fingerprint: p.final_fingerprint.clone().unwrap_or_default(),
        rows,
        office: state.program.program.office.clone(),
        batch,
    }
    .render()?;
    Ok(shared(&headers, HTML, body))
}
