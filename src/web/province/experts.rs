//! The 专家库: the list, adding one expert, importing many from an .xlsx
//! (its template offered here; all rows or none), and editing one. Each
//! member gets an expert account whose temporary password is shown once.

use std::io::Cursor;

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use calamine::{Reader, Xlsx};
use serde::Deserialize;

use crate::domain::region;
use crate::services::Refusal;
use crate::services::review::{self as svc, ExpertInput, IMPORT_COLUMNS, NewAccount};
use crate::store::review::{self as rs, Expert};
use crate::web::AppState;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult, XLSX, file_response};
use crate::web::shared::page::{Errors, Page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/province/experts", get(list).post(add))
        .route("/province/experts/import", axum::routing::post(import))
        .route("/province/experts/template.xlsx", get(template))
        .route("/province/experts/{id}", get(edit_page).post(edit))
}

/// Largest import sheet.
const MAX_SHEET: usize = 2 * 1024 * 1024;

#[derive(Template)]
#[template(path = "province/experts.html")]
struct ListPage {
    page: Page,
    experts: Vec<Expert>,
    form: ExpertInput,
    errors: Errors,
    /// Problems of an import, one line each (row and column named).
    import_errors: Vec<String>,
    accounts: Vec<NewAccount>,
    cities: &'static [region::City],
}

fn label(field: &str) -> &'static str {
    IMPORT_COLUMNS
        .iter()
        .find(|(k, _)| *k == field)
        .map_or("导入文件", |(_, l)| l)
}

fn field_name(field: &str) -> &'static str {
    IMPORT_COLUMNS
        .iter()
        .find(|(k, _)| *k == field)
        .map_or("file", |(k, _)| k)
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    form: ExpertInput,
    errors: Errors,
    import_errors: Vec<String>,
    accounts: Vec<NewAccount>,
) -> AppResult<Html<String>> {
    let page = ListPage {
        page: Page::new(state, ctx, "专家库"),
        experts: rs::experts(&state.db).await?,
        form,
        errors,
        import_errors,
        accounts,
        cities: region::cities(),
    };
    Ok(Html(page.render()?))
}

async fn list(State(state): State<AppState>, ctx: Ctx) -> AppResult<Html<String>> {
    render(
        &state,
        &ctx,
        ExpertInput::default(),
        Errors::default(),
        Vec::new(),
        Vec::new(),
    )
    .await
}

async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(input): Form<ExpertInput>,
) -> AppResult<Html<String>> {
    let now = state.clock.now();
    match svc::add_experts(&state.db, &ctx.actor(), std::slice::from_ref(&input), now).await {
        Ok(accounts) => {
            render(
                &state,
                &ctx,
                ExpertInput::default(),
                Errors::default(),
                Vec::new(),
                accounts,
            )
            .await
        }
        Err(problems) => {
            let mut errors = Errors::default();
            for (_, f, m) in problems {
                errors.add(field_name(f), label(f), m);
            }
            render(&state, &ctx, input, errors, Vec::new(), Vec::new()).await
        }
    }
}

/// The sheet's rows (after the header) as inputs, each cell read as text.
fn read_sheet(bytes: Vec<u8>) -> Result<Vec<ExpertInput>, String> {
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes))
        .map_err(|_| "无法读取该文件，请使用本页提供的模板（.xlsx）".to_string())?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or("文件中没有工作表")?
        .map_err(|_| "无法读取第一个工作表".to_string())?;
    let mut rows = range.rows();
    let header: Vec<String> = rows
        .next()
        .ok_or("工作表为空")?
        .iter()
        .map(|c| c.to_string().trim().to_string())
        .collect();
    for (i, (_, l)) in IMPORT_COLUMNS.iter().enumerate() {
        if header.get(i).map(String::as_str) != Some(*l) {
            return Err(format!("第1行第{}列应为“{l}”，请使用本页提供的模板", i + 1));
        }
    }
    let mut out = Vec::new();
    for r in rows {
        let cell = |i: usize| {
            r.get(i)
                .map(|c| c.to_string().trim().to_string())
                .unwrap_or_default()
        };
        if (0..IMPORT_COLUMNS.len()).all(|i| cell(i).is_empty()) {
            continue;
        }
        out.push(ExpertInput {
            name: cell(0),
            unit: cell(1),
            title: cell(2),
            fields: cell(3),
            city: cell(4),
            phone: cell(5),
            email: cell(6),
            avoid_units: cell(7),
        });
    }
    if out.is_empty() {
        return Err("模板中没有专家数据（从第2行起每行一名专家）".into());
    }
    Ok(out)
}

async fn import(
    State(state): State<AppState>,
    ctx: Ctx,
    mut mp: Multipart,
) -> AppResult<Html<String>> {
    let mut bytes = Vec::new();
    let mut problem = None;
    while let Ok(Some(mut field)) = mp.next_field().await {
        if field.name() != Some("file") {
            continue;
        }
        while let Ok(Some(chunk)) = field.chunk().await {
            if bytes.len() + chunk.len() > MAX_SHEET {
                problem = Some("文件超过2MB，请分批导入".to_string());
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        break;
    }
    if bytes.is_empty() && problem.is_none() {
        problem = Some("请选择要导入的 .xlsx 文件".into());
    }
    let inputs = match problem {
        Some(p) => Err(p),
        None => tokio::task::spawn_blocking(move || read_sheet(bytes))
            .await
            .map_err(anyhow::Error::from)?,
    };
    let now = state.clock.now();
    let (import_errors, accounts) = match inputs {
        Err(p) => (vec![p], Vec::new()),
        Ok(inputs) => match svc::add_experts(&state.db, &ctx.actor(), &inputs, now).await {
            Ok(accounts) => (Vec::new(), accounts),
            Err(problems) => (
                problems
                    .into_iter()
                    .map(|(row, f, m)| {
                        if f == "file" {
                            m
                        } else {
                            // Row 1 is the header: the first expert is on row 2.
                            format!("第{}行“{}”列：{m}", row + 2, label(f))
                        }
                    })
                    .collect(),
                Vec::new(),
            ),
        },
    };
    render(
        &state,
        &ctx,
        ExpertInput::default(),
        Errors::default(),
        import_errors,
        accounts,
    )
    .await
}

async fn template() -> AppResult<Response> {
    let bytes = crate::docs::review::expert_template()?;
    Ok(file_response(
        bytes,
        XLSX,
        "experts.xlsx",
        "专家库导入模板.xlsx",
    ))
}

#[derive(Template)]
#[template(path = "province/expert.html")]
struct EditPage {
    page: Page,
    expert: Expert,
    form: ExpertInput,
    active: bool,
    errors: Errors,
    cities: &'static [region::City],
}

async fn edit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Html<String>> {
    let expert = rs::expert_by_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let page = EditPage {
        page: Page::new(&state, &ctx, format!("专家：{}", expert.name)),
        form: ExpertInput::of(&expert),
        active: expert.active,
        expert,
        errors: Errors::default(),
        cities: region::cities(),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
struct EditForm {
    #[serde(flatten)]
    input: ExpertInput,
    #[serde(default)]
    active: Option<String>,
}

async fn edit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<EditForm>,
) -> AppResult<Response> {
    let expert = rs::expert_by_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let active = f.active.is_some();
    let now = state.clock.now();
    match svc::update_expert(&state.db, &ctx.actor(), &id, &f.input, active, now).await {
        Ok(_) => Ok(Redirect::to("/province/experts").into_response()),
        Err(Refusal::Fields(problems)) => {
            let mut errors = Errors::default();
            for (k, m) in problems {
                errors.add(field_name(k), label(k), m);
            }
            let page = EditPage {
                page: Page::new(&state, &ctx, format!("专家：{}", expert.name)),
                form: f.input,
                active,
                expert,
                errors,
                cities: region::cities(),
            };
            Ok(Html(page.render()?).into_response())
        }
        Err(e) => Err(AppError::BadRequest(e.to_string())),
    }
}
