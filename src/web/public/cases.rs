//! The public 典型案例 library: approved cases, searchable by industry, city
//! and cloud service, each on its own page with its pictures.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::domain::region;
use crate::domain::role::Role;
use crate::store::applications::{self, Application};
use crate::store::cases::{self as cs, Case, Image, Status};
use crate::store::publication as ps;
use crate::web::AppState;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::page::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/anli", get(gallery))
        .route("/anli/images/{img}", get(image))
        .route("/anli/{id}", get(case_page))
}

pub struct Card {
    pub case: Case,
    pub enterprise: String,
    pub city: &'static str,
    pub industry: String,
    pub services: String,
}

/// The approved cases with what the gallery filters on.
async fn cards(state: &AppState) -> AppResult<Vec<Card>> {
    let mut out = Vec::new();
    for c in cs::with_status(&state.db, Status::Approved).await? {
        let Some(app) = applications::by_id(&state.db, &c.application_id).await? else {
            continue;
        };
        let services = ps::items(&state.db, &app.batch_id)
            .await?
            .into_iter()
            .find(|i| i.application_id == app.id)
            .map(|i| i.services)
            .unwrap_or_default();
        out.push(Card {
            enterprise: app.enterprise_name.clone(),
            city: region::city(&app.city_code).map_or("", |c| c.name),
            industry: app.industry.clone(),
            services,
            case: c,
        });
    }
    Ok(out)
}

#[derive(Deserialize, Default)]
struct Filter {
    #[serde(default)]
    industry: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    q: String,
}

#[derive(Template)]
#[template(path = "public/cases.html")]
struct GalleryPage {
    page: Page,
    f: Filter,
    cards: Vec<Card>,
    industries: Vec<String>,
    cities: Vec<&'static str>,
    total: usize,
}

async fn gallery(
    State(state): State<AppState>,
    Query(f): Query<Filter>,
) -> AppResult<Html<String>> {
    let all = cards(&state).await?;
    let mut industries: Vec<String> = all.iter().map(|c| c.industry.clone()).collect();
    industries.sort();
    industries.dedup();
    let mut cities: Vec<&'static str> = all.iter().map(|c| c.city).collect();
    cities.sort();
    cities.dedup();
    let total = all.len();
    let q = f.q.trim().to_string();
    let cards = all
        .into_iter()
        .filter(|c| f.industry.is_empty() || c.industry == f.industry)
        .filter(|c| f.city.is_empty() || c.city == f.city)
        .filter(|c| f.service.trim().is_empty() || c.services.contains(f.service.trim()))
        .filter(|c| {
            q.is_empty()
                || c.case.title.contains(&q)
                || c.enterprise.contains(&q)
                || c.case.summary.contains(&q)
                || c.case.body.contains(&q)
        })
        .collect();
    let page = GalleryPage {
        page: Page::public(&state, "典型案例"),
        f,
        cards,
        industries,
        cities,
        total,
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "public/case.html")]
struct CasePage {
    page: Page,
    card: Card,
    paragraphs: Vec<String>,
    images: Vec<Image>,
}

async fn case_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Html<String>> {
    let card = cards(&state)
        .await?
        .into_iter()
        .find(|c| c.case.application_id == id)
        .ok_or(AppError::NotFound)?;
    let page = CasePage {
        page: Page::public(&state, card.case.title.clone()),
        paragraphs: card
            .case
            .body
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
        images: cs::images(&state.db, &id).await?,
        card,
    };
    Ok(Html(page.render()?))
}

/// A case picture: public once the case is approved; before that, only to
/// its enterprise and the province.
async fn image(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    Path(img): Path<String>,
) -> AppResult<Response> {
    let i = cs::image(&state.db, &img)
        .await?
        .ok_or(AppError::NotFound)?;
    let approved = cs::get(&state.db, &i.application_id)
        .await?
        .is_some_and(|c| c.status == Status::Approved);
    let app: Option<Application> = applications::by_id(&state.db, &i.application_id).await?;
    let allowed = approved
        || ctx.user.as_ref().is_some_and(|u| {
            u.role == Role::Province || app.as_ref().is_some_and(|a| a.enterprise_id == u.id)
        });
    if !allowed {
        return Err(AppError::NotFound);
    }
    crate::web::shared::upload::stream(
        &state,
        &headers,
        crate::web::shared::upload::Download {
            source: crate::web::shared::upload::Source::File(&i.storage_key),
            name: &i.file_name,
            ascii: "image",
            mime: Some(&i.content_type),
            sha256: Some(&i.sha256),
            disposition: "inline",
        },
    )
    .await
}
