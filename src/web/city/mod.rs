//! The city bureau's pages (more come with the application issues).

pub mod files;
pub mod inbox;
pub mod name_changes;
pub mod objections;
pub mod ranking;
pub mod recommend;
pub mod review;
pub mod screen;
pub mod sheet;
pub mod submit;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;

use crate::domain::role::Role;
use crate::web::AppState;
use crate::web::account::region_label;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::page::Page;

/// The city room: each page's router carries its own guard (the city's
/// stamped files are also the province's to read).
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(objections::router())
        .merge(name_changes::router())
        .route("/city/enterprises", get(enterprises))
        .route_layer(axum::middleware::from_fn(crate::web::shared::guard::city))
        .merge(inbox::router())
        .merge(review::router())
        .merge(ranking::router())
        .merge(recommend::router())
        .merge(screen::router())
        .merge(sheet::router())
}

pub struct EnterpriseRow {
    pub name: String,
    pub credit_code: String,
    pub region: String,
    pub contact: String,
}

#[derive(Template)]
#[template(path = "city/enterprises.html")]
struct EnterprisesPage {
    page: Page,
    city_name: String,
    rows: Vec<EnterpriseRow>,
}

/// Enterprises registered in the viewer's own city, and no other.
async fn enterprises(State(state): State<AppState>, ctx: Ctx) -> AppResult<Html<String>> {
    let user = ctx.require_role(Role::City)?;
    let city = user.city_code.clone().ok_or(AppError::Forbidden)?;
    let rows = crate::store::users::enterprises_in_city(&state.db, &city, 500)
        .await?
        .into_iter()
        .map(|e| EnterpriseRow {
            region: region_label(&e.city_code, &e.county_code),
            contact: format!("{} {}", e.contact_name, e.mobile),
            name: e.name,
            credit_code: e.credit_code,
        })
        .collect();
    let page = EnterprisesPage {
        page: Page::new(&state, &ctx, "本地区企业"),
        city_name: crate::domain::region::city(&city)
            .map(|c| c.name.to_string())
            .unwrap_or_default(),
        rows,
    };
    Ok(Html(page.render()?))
}
