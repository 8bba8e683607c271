//! The province's 典型案例 desk: every case with its state, editing and
//! approving (or returning) one, and the 典型案例汇编 of the approved ones.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};

use crate::domain::region;
use crate::services::cases::{self as svc, CaseInput};
use crate::store::applications::{self, Application};
use crate::store::cases::{self as cs, Case, Image, Status};
use crate::web::AppState;
use crate::web::city::inbox::field;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult, DOCX, file_response};
use crate::web::shared::page::{Errors, Page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/province/cases", get(list))
        .route("/province/cases/compilation.docx", get(compilation))
        .route("/province/cases/{id}", get(view).post(save))
}

pub struct Row {
    pub case: Case,
    pub enterprise: String,
    pub city: &'static str,
}

#[derive(Template)]
#[template(path = "province/cases.html")]
struct ListPage {
    page: Page,
    rows: Vec<Row>,
}

async fn rows(state: &AppState, cases: Vec<Case>) -> AppResult<Vec<Row>> {
    let mut out = Vec::new();
    for c in cases {
        let app = applications::by_id(&state.db, &c.application_id).await?;
        out.push(Row {
            enterprise: app
                .as_ref()
                .map(|a| a.enterprise_name.clone())
                .unwrap_or_default(),
            city: app
                .as_ref()
                .and_then(|a| region::city(&a.city_code))
                .map_or("", |c| c.name),
            case: c,
        });
    }
    Ok(out)
}

async fn list(State(state): State<AppState>, ctx: Ctx) -> AppResult<Html<String>> {
    let page = ListPage {
        page: Page::new(&state, &ctx, "典型案例"),
        rows: rows(&state, cs::all(&state.db).await?).await?,
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "province/case.html")]
struct ViewPage {
    page: Page,
    app: Application,
    case: Case,
    form: CaseInput,
    images: Vec<Image>,
    note: String,
    errors: Errors,
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    posted: Option<(CaseInput, String)>,
    errors: Errors,
) -> AppResult<Response> {
    let case = cs::get(&state.db, id).await?.ok_or(AppError::NotFound)?;
    let app = applications::by_id(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (form, note) = posted.unwrap_or_else(|| {
        (
            CaseInput {
                title: case.title.clone(),
                summary: case.summary.clone(),
                body: case.body.clone(),
            },
            String::new(),
        )
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ViewPage {
        page: Page::new(state, ctx, format!("典型案例：{}", app.enterprise_name)),
        images: cs::images(&state.db, id).await?,
        app,
        case,
        form,
        note,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn view(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> AppResult<Response> {
    render(&state, &ctx, &id, None, Errors::default()).await
}

async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let app = applications::by_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let input = CaseInput {
        title: field(&pairs, "title"),
        summary: field(&pairs, "summary"),
        body: field(&pairs, "body"),
    };
    let note = field(&pairs, "note");
    let approve = field(&pairs, "action") == "approve";
    let expected = field(&pairs, "_version").parse().unwrap_or(-1);
    let mut errors = Errors::default();
    match svc::review(
        &state.db,
        &ctx.actor(),
        &app,
        &input,
        approve,
        &note,
        expected,
        state.clock.now(),
    )
    .await
    {
        Ok(()) => return Ok(Redirect::to("/province/cases").into_response()),
        Err(e) => errors.refusal(e, "body", "典型案例")?,
    }
    render(&state, &ctx, &id, Some((input, note)), errors).await
}

async fn compilation(State(state): State<AppState>) -> AppResult<Response> {
    let approved = rows(&state, cs::with_status(&state.db, Status::Approved).await?).await?;
    let mut entries = Vec::new();
    for r in approved {
        let industry = applications::by_id(&state.db, &r.case.application_id)
            .await?
            .map(|a| a.industry)
            .unwrap_or_default();
        entries.push(crate::docs::review::CaseEntry {
            title: r.case.title,
            enterprise: r.enterprise,
            city: r.city.into(),
            industry,
            summary: r.case.summary,
            body: r.case.body,
        });
    }
    let title = format!("{}典型案例汇编", state.program.program.name);
    let bytes = tokio::task::spawn_blocking(move || {
        crate::docs::review::case_compilation_docx(&title, &entries)
    })
    .await
    .map_err(anyhow::Error::from)?;
    Ok(file_response(
        bytes,
        DOCX,
        "cases.docx",
        "典型案例汇编.docx",
    ))
}
